#!/usr/bin/env luajit
-- The plugins pick vector code by CPU at load time (target_clones and
-- __builtin_cpu_supports: AVX-512, AVX2/FMA or baseline) and promise the
-- same bits from each (docs/reservoir.md, docs/kuramoto.md: fixed lanes,
-- no fused multiply-add where the order matters).  valgrind's CPU has no
-- AVX-512, so the same script run natively and under `valgrind
-- --tool=none` takes different clones on a machine with AVX-512 and must
-- print the same text: ESN spectral radius and states (8-lane rows,
-- sliced short rows, float32 rows), kuramoto.phase's fused sin/cos step,
-- reservoir.lif's integration pass.  Tolerance: none (bitwise).  (A
-- perturbation of one ulp in the AVX-512 row sums makes it fail.)
local tap = require "tap"
local shell = require "shell"

local _, vg = tap.sh("command -v valgrind")
if vg ~= 0 then
  io.write("TAP version 13\n1..0 # SKIP valgrind not installed\n")
  os.exit(0)
end
tap.plan(3)
local build = shell.build()
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local child = here .. "/isa/child.lua"
local lamina = build .. "/bin/lamina"
local cpu = shell.slurp("/proc/cpuinfo") or ""
tap.diag("this CPU: " .. (cpu:find(" avx512f ") and "AVX-512" or cpu:find(" avx2 ") and "AVX2, no AVX-512" or "no AVX2")
  .. "; under valgrind: at most AVX2")

local native, rc1 = tap.sh(lamina .. " run --quiet " .. child .. " 2>/dev/null")
local emulated, rc2 = tap.sh("valgrind -q --tool=none " .. lamina .. " run --quiet " .. child .. " 2>/dev/null")
local lines = select(2, native:gsub("\n", ""))
tap.ok(rc1 == 0 and lines == 8 and #native > 100000,
  string.format("native run printed 8 results (%d lines, %d bytes)", lines, #native))
tap.ok(rc2 == 0, "the same script ran under valgrind --tool=none")
local first
for k = 1, math.min(#native, #emulated) do
  if native:byte(k) ~= emulated:byte(k) then first = k break end
end
if not first and #native ~= #emulated then first = math.min(#native, #emulated) + 1 end
tap.ok(not first, first and string.format("outputs differ from byte %d on (line %d)", first,
  select(2, native:sub(1, first):gsub("\n", "")) + 1) or "native and valgrind clones: identical bits in every result")
tap.done()
