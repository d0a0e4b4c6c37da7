-- scripts/bench/reservoir/esn_bench.lua - the lamina side of the ESN and
-- ridge benchmarks (driven by esn_bench.py, which also runs the NumPy
-- peer).  Usage: lamina run esn_bench.lua case=<name> reps=<k> [steps=<T>]
-- (steps: the sequence length of an ESN case, or the number of 1e4-row
-- blocks of the ridge case; 0 = the case's default).
-- Prints one line per repetition: "<case>\t<seconds>\t<steps or fits>".
-- Timing: process CPU time around one m:call("run", U) (the whole sequence
-- in one call, as ReservoirPy's run), after a warm-up call.
local lam = require "lamina"
local ffi = require "ffi"
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int, bench_timespec *);
]]
local ts = ffi.new("bench_timespec")
-- CLOCK_PROCESS_CPUTIME_ID (2): CPU time of this process, which on a shared,
-- loaded machine is what the code costs (wall time includes waiting for a
-- core); OpenBLAS runs one thread here, so it is the time of that thread.
local function now() ffi.C.clock_gettime(2, ts); return tonumber(ts.tv_sec) + 1e-9 * tonumber(ts.tv_nsec) end

local p = lam.params { case = "esn100", reps = 5, seed = 1, steps = 0 }

-- ESN cases: name -> units, density, storage, batch, precision, steps
local cases = {
  esn100 = { 100, 0.1, "sparse", 1, "f64", 20000 },
  esn100_dense = { 100, 0.1, "dense", 1, "f64", 20000 },
  esn1000 = { 1000, 0.1, "sparse", 1, "f64", 5000 },
  esn1000_f32 = { 1000, 0.1, "sparse", 1, "f32", 5000 },
  esn1000_b16 = { 1000, 0.1, "sparse", 16, "f64", 1000 },
  esn1000_dense_b16 = { 1000, 0.1, "dense", 16, "f64", 1000 },
}

if p.case == "ridge" then
  -- N = 1000 states over 1e5 steps, streamed in 10 blocks of 1e4 rows
  -- (8e8 bytes in all; the states are random, the cost does not depend
  -- on their values), one output, ridge 1e-6, bias on.
  local N, B, K = 1000, 10000, p.steps > 0 and p.steps or 10
  local blocks, ys = {}, {}
  local r = lam.rng(7, 0, p.seed)
  for k = 1, K do
    blocks[k] = lam.buf.new({ B, N })
    r:fill(blocks[k], "normal", 0, 1)
    ys[k] = lam.buf.new({ B, 1 })
    r:fill(ys[k], "normal", 0, 1)
  end
  for rep = 0, p.reps do
    local t0 = now()
    local rd = lam.readout.ridge { ridge = 1e-6 }
    for k = 1, K do rd:accumulate(blocks[k], ys[k]) end
    rd:solve()
    local t = now() - t0
    if rep > 0 then print(string.format("ridge\t%.6f\t1", t)) end
  end
  return
end

local c = cases[p.case]
if not c then error("unknown case " .. p.case) end
local N, dens, storage, nb, prec, T = c[1], c[2], c[3], c[4], c[5], p.steps > 0 and p.steps or c[6]
local sim = lam.sim { dt = 1, seed = p.seed }
local m = sim:add("e", "reservoir.esn", { units = N, density = dens, storage = storage, batch = nb,
  precision = prec, spectral_radius = 0.9, leak = 0.5, bias_scaling = 0.1 })
local U = lam.buf.new(nb == 1 and { T, 1 } or { T, nb, 1 })
lam.rng(5, 0, p.seed):fill(U, "uniform", -1, 1)
m:call("run", U:rows(1, math.min(T, 500)):copy()) -- warm-up
for _ = 1, p.reps do
  local t0 = now()
  m:call("run", U)
  local t = now() - t0
  print(string.format("%s\t%.6f\t%d", p.case, t, T * nb))
end
