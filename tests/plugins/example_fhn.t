#!/bin/sh
# tests/plugins/example_fhn.t - the example out-of-tree plugin
# examples/plugins/fhn, built the way another lab would build it: lamina is
# installed into a temporary prefix (`make install PREFIX=$tmp`), the
# plugin's folder is copied out of the tree, and its own Makefile builds it
# with nothing but `pkg-config lamina` of that prefix; then `lamina plugin
# check` (the installed one) and the plugin's own `make test` must pass.
# TAP 13; everything is removed at exit.  Installs from $LAMINA_TEST_BUILD
# (the build `make test` uses), or build/ when run by hand.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lamina-fhn.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

plan=9
echo "TAP version 13"
echo "1..$plan"
n=0
failed=0
ok() {
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
diag() { sed 's/^/# /' "$1"; }
skip_rest() {
  while [ "$n" -lt "$plan" ]; do n=$((n + 1)); echo "ok $n # SKIP $1"; done
  exit "$failed"
}
for tool in make cc pkg-config prove nm; do
  command -v "$tool" >/dev/null 2>&1 || skip_rest "$tool is not installed"
done

prefix=$tmp/prefix
out=$tmp/out.txt
if [ -n "${LAMINA_TEST_BUILD:-}" ]; then set -- BUILD="$LAMINA_TEST_BUILD"; else set --; fi
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$root" install PREFIX="$prefix" "$@" >"$out" 2>&1
rc=$?
ok $rc "make install PREFIX=\$tmp"
[ $rc -eq 0 ] || { diag "$out"; skip_rest "make install failed"; }

cp -R "$root/examples/plugins/fhn" "$tmp/fhn"
rm -f "$tmp/fhn/fhn.so"
# Only the installed lamina: its pkg-config file, its command on PATH, no
# build-tree variables.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export PATH="$prefix/bin:$PATH"
unset LAMINA_LIB LAMINA_PLUGIN_PATH LUA_PATH
(cd "$tmp/fhn" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make) >"$out" 2>&1
rc=$?
ok $rc "the example's own Makefile builds fhn.so against the installed SDK"
[ $rc -eq 0 ] || { diag "$out"; skip_rest "fhn.so did not build"; }
grep -q -- "-I$prefix/include" "$out"
ok $? "... compiling with the prefix's include directory (pkg-config lamina)"
exported=$(nm -D --defined-only "$tmp/fhn/fhn.so" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | tr '\n' ' ')
[ "$exported" = "lamina_plugin_init " ]
ok $? "... exporting only lamina_plugin_init (got: $exported)"

"$prefix/bin/lamina" plugin check "$tmp/fhn/fhn.so" >"$out" 2>&1
rc=$?
ok $rc "the installed lamina plugin check passes fhn.so"
[ $rc -eq 0 ] || diag "$out"
! grep -q "SKIP" "$out"
ok $? "... with every check run (method and checkpoints included)"

(cd "$tmp/fhn" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make test) >"$out" 2>&1
rc=$?
ok $rc "the example's own make test passes"
[ $rc -eq 0 ] || diag "$out"
grep -q "ok 6 - the last five periods agree" "$out"
ok $? "... including the limit-cycle test"
grep -q "second order" "$out"
ok $? "... and the order of the integration"
exit "$failed"
