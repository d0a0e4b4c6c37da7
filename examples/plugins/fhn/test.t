#!/bin/sh
# test.t - TAP 13 tests of the fhn plugin (run by `make test`):
#   1. lamina's conformance suite on fhn.so (`lamina plugin check`);
#   2. test_fhn.lua, the model against theory (fixed point, limit cycle,
#      order of the integration), run by
#      `lamina run` (its "ok"/"not ok" lines are numbered here).
# LAMINA names the lamina command (default: lamina on PATH).
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
lamina=${LAMINA:-lamina}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fhn-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out.txt
echo "TAP version 13"
failed=0
if "$lamina" plugin check "$here/fhn.so" >"$out" 2>&1; then
  echo "ok 1 - lamina plugin check fhn.so"
else
  echo "not ok 1 - lamina plugin check fhn.so"
  sed 's/^/# /' "$out"
  failed=1
fi
"$lamina" run "$here/test_fhn.lua" --plugin-path "$here" --out "$tmp/run" --quiet >"$out" 2>&1
rc=$?
awk 'BEGIN { n = 1 } /^(not )?ok / { n++; sub(/ok /, "ok " n " "); print; next } { print "# " $0 }' \
  "$out" >"$out.tap"
cat "$out.tap"
grep -q '^not ok ' "$out.tap" && failed=1
n=$(($(grep -c '^\(not \)\{0,1\}ok ' "$out.tap") + 1))
if [ "$rc" -ne 0 ]; then
  n=$((n + 1))
  echo "not ok $n - test_fhn.lua ran to the end (exit status $rc)"
  failed=1
fi
echo "1..$n"
exit "$failed"
