-- host_overhead.lua - the host-overhead benchmarks driven from Lua, through
-- the lamina library (lua/lamina) and the FFI.  Run by scripts/bench/run,
-- either with a plain LuaJIT:
--
--   LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;" \
--   LAMINA_PLUGIN_PATH=$PWD/build/bench luajit scripts/bench/host_overhead.lua
--
-- or with `lamina run scripts/bench/host_overhead.lua`.  Settings come from
-- the environment: LAMINA_BENCH_REPS (default 5), LAMINA_BENCH_SCALE
-- (multiplies every count, default 1), LAMINA_BENCH_ONLY (comma-separated
-- keys; "l.event*" matches a prefix), LAMINA_BENCH_TAG (a key prefix, "l").
--
-- Every case builds a fresh simulation per repetition, warms it up, and
-- times the measured call with CLOCK_MONOTONIC; the figure is the median
-- over the repetitions.  Output lines are tab-separated:
--   RESULT <key> <median> <min> <max> <unit> <reps> <description>
local lam = require "lamina"
local ffi = require "ffi"

ffi.cdef [[
struct lam_bench_timespec { int64_t tv_sec; int64_t tv_nsec; };
int clock_gettime(int clk, struct lam_bench_timespec *ts);
]]
local ts = ffi.new("struct lam_bench_timespec")
local CLOCK_MONOTONIC = 1
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + 1e-9 * tonumber(ts.tv_nsec)
end

local reps = tonumber(os.getenv("LAMINA_BENCH_REPS") or "") or 5
local scale = tonumber(os.getenv("LAMINA_BENCH_SCALE") or "") or 1
local only = os.getenv("LAMINA_BENCH_ONLY") or ""
local tag = os.getenv("LAMINA_BENCH_TAG") or "l"

local function want(key)
  if only == "" then return true end
  for item in only:gmatch("[^,]+") do
    if item:sub(-1) == "*" then
      if key:sub(1, #item - 1) == item:sub(1, -2) then return true end
    elseif key == item then
      return true
    end
  end
  return false
end

local function scaled(n)
  local k = math.floor(n * scale)
  return k < 10 and 10 or k
end

local function report(key, v, unit, desc)
  table.sort(v)
  local n = #v
  local med = n % 2 == 1 and v[(n + 1) / 2] or 0.5 * (v[n / 2] + v[n / 2 + 1])
  io.write(string.format("RESULT\t%s.%s\t%.4g\t%.4g\t%.4g\t%s\t%d\t%s\n", tag, key, med, v[1], v[n],
                         unit, n, desc))
  io.flush()
  return med
end

local function null_sim(opts)
  local sim = lam.sim { dt = 0.1, seed = 1, check_every = opts and opts.check_every }
  sim:add("a", "benchnull.null")
  return sim
end

local function chain_sim()
  local sim = lam.sim { dt = 0.1, seed = 1 }
  sim:add("a", "benchnull.null")
  sim:add("b", "benchnull.pass")
  sim:add("c", "benchnull.pass")
  sim:add("d", "benchnull.pass")
  sim:link("a.x", "b.in"):link("b.out", "c.in"):link("c.out", "d.in")
  return sim
end

-- Times sim:run_ticks(n) on fresh simulations; returns ns per tick.
local function time_ticks(make, n)
  local v = {}
  for r = 1, reps do
    local sim = make()
    sim:run_ticks(1000)
    local t0 = now()
    sim:run_ticks(n)
    v[r] = (now() - t0) * 1e9 / n
    local x = sim:port("a.x"):get(1)
    assert(x == n + 1000, "a.x = " .. tostring(x) .. " after " .. (n + 1000) .. " steps")
    sim = nil
    collectgarbage()
  end
  return v
end

-- 1. One null model stepped from Lua: the loop is C's, so this should
-- match the C driver's figure.
if want("null1") then
  local n = scaled(1e8)
  report("null1", time_ticks(null_sim, n), "ns/step",
         string.format("1 null model, NaN check every step (default); sim:run_ticks(%d)", n))
end

-- 2. Four models, three aliasing links.
if want("chain_alias") then
  local n = scaled(2.5e7)
  local v = time_ticks(chain_sim, n)
  for i = 1, #v do v[i] = v[i] / 4 end
  report("chain_alias", v, "ns/step",
         string.format("4 models, 3 aliasing links; sim:run_ticks(%d)", n))
end

-- 3. Lua event dispatch: sim:every(dt, fn) with an empty handler fires at
-- every tick, so run_ticks(n) makes n C runs of one tick and n handler
-- calls.  The cost of one event is (time with events - time without) / n,
-- both measured here, in the same process.
local function event_cost(nhandlers, quiet)
  local n = scaled(1e6)
  local ev, bare = {}, {}
  local C = require("lamina.core").C
  C.lam_set_quiet(quiet and 1 or 0)
  for r = 1, reps do
    local sim = null_sim()
    sim:run_ticks(1000)
    local t0 = now()
    sim:run_ticks(n)
    bare[r] = now() - t0
    sim = nil
    sim = null_sim()
    local fn = function() end
    -- nhandlers handlers of period nhandlers ticks at staggered phases:
    -- still one event per tick, with nhandlers events in the queue.
    for h = 1, nhandlers do sim:every(nhandlers * sim.dt, fn, (1000 + h) * sim.dt) end
    sim:run_ticks(1000)
    t0 = now()
    sim:run_ticks(n)
    ev[r] = now() - t0
    sim = nil
    collectgarbage()
  end
  C.lam_set_quiet(0)
  local per = {}
  for r = 1, reps do per[r] = (ev[r] - bare[r]) * 1e9 / n end
  table.sort(bare)
  return per, n, bare[math.floor((reps + 1) / 2)] * 1e9 / n
end

if want("event") then
  local per, n = event_cost(1, false)
  report("event", per, "ns/event",
         string.format("sim:every(dt, empty fn), %d events, minus the same run without events", n))
end
if want("event_quiet") then
  local per, n = event_cost(1, true)
  report("event_quiet", per, "ns/event",
         string.format("the same with lam_set_quiet(1) (no isatty per lam_sim_run), %d events", n))
end
if want("event16") then
  local per, n = event_cost(16, false)
  report("event16", per, "ns/event",
         string.format("16 sim:every handlers (16 events queued, one due per tick), %d events", n))
end

-- 4. Scheduling many one-shot events with sim:at (each push re-sorts the
-- whole queue) and dispatching them.
local function at_cost(k)
  local sched, run = {}, {}
  for r = 1, reps do
    local sim = null_sim()
    local fn = function() end
    local t0 = now()
    for i = 1, k do sim:at(i * sim.dt, fn) end
    sched[r] = (now() - t0) * 1e9 / k
    t0 = now()
    sim:run_ticks(k)
    run[r] = (now() - t0) * 1e9 / k
    sim = nil
    collectgarbage()
  end
  return sched, run
end
for _, k in ipairs { 500, 2000 } do
  if want("at_schedule" .. k) or want("at_dispatch" .. k) then
    local kk = k  -- not scaled: the figure depends on the queue length
    local sched, run = at_cost(kk)
    report("at_schedule" .. k, sched, "ns/event",
           string.format("sim:at(t, fn) for %d one-shot events at distinct ticks: cost of one call", kk))
    report("at_dispatch" .. k, run, "ns/event",
           string.format("running through those %d events (one per tick, queue shrinking)", kk))
  end
end
