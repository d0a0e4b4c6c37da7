-- scripts/bench/reservoir/cuba.lua - reservoir.lif on the Brette et al.
-- 2007 CUBA / COBA networks (4000 neurons, p = 0.02, dt = 0.1 ms), timed
-- like the Brian2 peer: network construction timed separately from the
-- simulation loop, one thread, wall-clock time of sim:run only.
--
--   luajit scripts/bench/reservoir/cuba.lua cuba|coba DURATION_MS REPS SEED CHECK_EVERY [RECORD]
--
-- RECORD = 1 (default) records the spikes with sim:record (the core's
-- spike recorder, like Brian's SpikeMonitor); 0 counts them in the model
-- only (spike_counts(); no CV then).
-- One JSON line: per-repetition loop seconds (wall clock) and CPU
-- seconds of the loop, build seconds, rate, median
-- ISI CV (neurons with > 5 spikes), spikes and synapses (for events/s).
local ffi = require "ffi"
local lam = require "lamina"
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local model, dur, reps, seed, ce = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5] or 1)
local record = (arg[6] or "1") == "1"
local loop, build, cpu = {}, {}, {}
local last
for r = 1, reps do
  local sim = lam.sim { dt = 0.1, seed = seed, check_every = ce }
  local t0 = now()
  local net = sim:add("net", "reservoir.lif", lam.spikes.preset(model))
  build[r] = now() - t0
  local rec = record and sim:record("net.spikes") or nil
  t0 = now()
  local c0 = os.clock()
  sim:run(dur)
  loop[r] = now() - t0
  cpu[r] = os.clock() - c0
  last = { rec = rec, net = net }
end
local n = 4000
local spikes = last.net:call("spike_counts"):sum()
local cv = 0 / 0
if record then _, cv = lam.spikes.isi_cv(last.rec, { n = n }) end
local nsyn = last.net:call("connections"):shape()[1]
local function list(t)
  local s = {}
  for k, v in ipairs(t) do s[k] = string.format("%.6f", v) end
  return "[" .. table.concat(s, ", ") .. "]"
end
print(string.format('{"peer": "lamina reservoir.lif, check_every=%d, %s", "model": "%s", "duration_ms": %g, ' ..
  '"build_s": %s, "loop_s": %s, "cpu_s": %s, "spikes": %d, "synapses": %d, "rate_hz": %.4f, "cv_median": %s}',
  ce, record and "sim:record" or "no recorder", model, dur, list(build), list(loop), list(cpu), spikes, nsyn,
  spikes / n / (dur / 1000), cv == cv and string.format("%.4f", cv) or "null"))
