#!/bin/sh
# tests/plugins/outoftree.t - a plugin built OUT OF TREE against an
# installed lamina, the way a lab shares one: `make install PREFIX=$tmp`,
# then compile tests/plugins/abi/good.c (copied to $tmp) with nothing but
# the flags of the installed lamina.pc, and load it with the installed
# `lamina` command.  Also checks that the installed Lua library loads with a
# plain luajit.  TAP 13 on stdout; everything is removed at exit.
#
# Installs from the build directory `make test` used ($LAMINA_TEST_BUILD);
# run by hand without it, the default build/ is used.
set -u

here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lamina-outoftree.XXXXXX") || exit 1
tmp=$(cd "$tmp" && pwd -P)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

plan=27
echo "TAP version 13"
echo "1..$plan"
n=0
failed=0

# ok STATUS NAME: STATUS 0 passes.
ok() {
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $n - $2"
  else
    echo "not ok $n - $2"
    failed=$((failed + 1))
  fi
}
# diag FILE: the file's lines as TAP comments.
diag() { sed 's/^/# /' "$1"; }
# contains FILE STRING: the file holds STRING (fixed string).
contains() { grep -qF -- "$2" "$1"; }
# skip_rest WHY: the remaining checks cannot run.
skip_rest() {
  while [ "$n" -lt "$plan" ]; do
    n=$((n + 1))
    echo "ok $n # SKIP $1"
  done
  exit "$failed"
}

for tool in make cc pkg-config luajit sha256sum nm readelf; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    n=0
    failed=0
    skip_rest "$tool is not installed"
  fi
done

prefix=$tmp/prefix
out=$tmp/out.txt
err=$tmp/err.txt

# ---- 1. install ----------------------------------------------------------
# A clean environment for the sub-make: no jobserver or variables inherited
# from a `make test` that runs this script.
if [ -n "${LAMINA_TEST_BUILD:-}" ]; then
  set -- BUILD="$LAMINA_TEST_BUILD"
else
  set --
fi
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
  make -s -C "$root" install PREFIX="$prefix" "$@" >"$out" 2>&1
rc=$?
ok $rc "make install PREFIX=\$tmp succeeds"
[ $rc -eq 0 ] || { diag "$out"; skip_rest "make install failed"; }
missing=
for f in bin/lamina lib/liblamina.so include/lamina.h include/lamina_plugin.h \
  lib/pkgconfig/lamina.pc share/lua/5.1/lamina/init.lua lib/lamina/plugins/stim.so; do
  [ -f "$prefix/$f" ] || missing="$missing $f"
done
[ -z "$missing" ]
ok $? "the install tree holds bin/lamina, the library, both headers, lamina.pc, the Lua library and stim.so"
[ -z "$missing" ] || echo "# missing:$missing"

# ---- 2. lamina.pc ------------------------------------------------------------
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cflags=$(pkg-config --cflags lamina 2>"$err")
rc=$?
ok $rc "pkg-config --cflags lamina"
[ $rc -eq 0 ] || diag "$err"
case " $cflags " in *" -I$prefix/include "*) rc=0 ;; *) rc=1 ;; esac
ok $rc "... gives -I\$prefix/include (got: $cflags)"
ver=$(pkg-config --modversion lamina 2>/dev/null)
plugindir=$(pkg-config --variable=plugindir lamina 2>/dev/null)
[ "$plugindir" = "$prefix/lib/lamina/plugins" ]
ok $? "... plugindir is \$prefix/lib/lamina/plugins (got: $plugindir)"

# ---- 3. build the plugin out of tree ------------------------------------------
mkdir -p "$tmp/src" "$tmp/plugins"
cp "$root/tests/plugins/abi/good.c" "$tmp/src/good.c"
(cd "$tmp/src" && cc $cflags -fPIC -shared -fvisibility=hidden -o "$tmp/plugins/good.so" good.c -lm) \
  >"$out" 2>&1
rc=$?
ok $rc "cc \$(pkg-config --cflags lamina) -fPIC -shared -fvisibility=hidden builds good.so in \$tmp"
[ $rc -eq 0 ] || { diag "$out"; skip_rest "the plugin did not build"; }
exported=$(nm -D --defined-only "$tmp/plugins/good.so" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | sort | tr '\n' ' ')
[ "$exported" = "lamina_plugin_init " ]
ok $? "the plugin exports exactly lamina_plugin_init (got: $exported)"
nm -D --undefined-only "$tmp/plugins/good.so" | grep -q ' lam_'
[ $? -ne 0 ]
ok $? "... and uses no host symbol (no undefined lam_*)"
readelf -d "$tmp/plugins/good.so" | grep NEEDED | grep -q liblamina
[ $? -ne 0 ]
ok $? "... and does not link liblamina"

# ---- 4. the installed command loads it ------------------------------------------
lamina=$prefix/bin/lamina
so=$tmp/plugins/good.so
sum=$(sha256sum "$so" | cut -c1-64)
"$lamina" plugin info good.counter --plugin-path "$tmp/plugins" >"$out" 2>"$err"
rc=$?
ok $rc "lamina plugin info good.counter --plugin-path \$tmp/plugins"
[ $rc -eq 0 ] || diag "$err"
contains "$out" "plugin good 1.2.3"
ok $? "... shows plugin good 1.2.3"
contains "$out" "model good.counter"
ok $? "... and the model good.counter"
contains "$out" "$so"
ok $? "... loaded from the out-of-tree file"
contains "$out" "$sum"
ok $? "... with its sha256 (as sha256sum computes it)"
contains "$out" "gain"
ok $? "... and lists its parameters"
[ $rc -eq 0 ] || diag "$out"

LAMINA_PLUGIN_PATH="$tmp/plugins" "$lamina" plugin info good >"$out" 2>"$err"
rc=$?
ok $rc "LAMINA_PLUGIN_PATH=\$tmp/plugins lamina plugin info good"
[ $rc -eq 0 ] || diag "$err"
contains "$out" "$so"
ok $? "... finds the out-of-tree file"

"$lamina" plugin check "$so" >"$out" 2>&1
rc=$?
ok $rc "lamina plugin check accepts the out-of-tree plugin"
[ $rc -eq 0 ] || diag "$out"

LAMINA_PLUGIN_PATH= "$lamina" plugin info good.counter >"$out" 2>"$err"
[ $? -ne 0 ]
ok $? "without a path good.counter is not found"
contains "$err" "good.counter"
ok $? "... and the error names it"

cp "$so" "$plugindir/good.so"
LAMINA_PLUGIN_PATH= "$lamina" plugin info good.counter >"$out" 2>"$err"
rc=$?
ok $rc "copied into plugindir, good.counter is found with no path"
[ $rc -eq 0 ] || diag "$err"
contains "$out" "$plugindir/good.so"
ok $? "... from plugindir"

LAMINA_PLUGIN_PATH= "$lamina" plugin info stim >"$out" 2>"$err"
rc=$?
ok $rc "the installed command finds the installed stim plugin"
[ $rc -eq 0 ] || diag "$err"

# ---- 5. the installed Lua library -------------------------------------------------
# No LAMINA_LIB: the library must find the installed liblamina by itself.
lua_path="$prefix/share/lua/5.1/?.lua;$prefix/share/lua/5.1/?/init.lua;;"
(cd "$tmp" && env -u LAMINA_LIB LUA_PATH="$lua_path" luajit -e 'require "lamina"') >"$out" 2>&1
rc=$?
ok $rc "luajit -e 'require \"lamina\"' with LUA_PATH on the install tree"
[ $rc -eq 0 ] || diag "$out"
got=$(cd "$tmp" && env -u LAMINA_LIB LUA_PATH="$lua_path" \
  luajit -e 'io.write(require("lamina").version())' 2>"$err")
[ -n "$ver" ] && [ "$got" = "$ver" ]
ok $? "lam.version() prints lamina's version ($got; lamina.pc says $ver)"
[ -n "$got" ] || diag "$err"
cmdver=$("$lamina" version 2>/dev/null | head -n 1)
[ "$cmdver" = "lamina $ver" ]
ok $? "lamina version agrees ($cmdver)"
libpath=$(cd "$tmp" && env -u LAMINA_LIB LUA_PATH="$lua_path" luajit -e '
  require "lamina"
  for line in io.open("/proc/self/maps"):lines() do
    local p = line:match("(/%S*liblamina%.so)$")
    if p then io.write(p) break end
  end' 2>/dev/null)
[ "$libpath" = "$prefix/lib/liblamina.so" ]
ok $? "... from the installed liblamina.so (got: ${libpath:-none})"

exit "$failed"
