-- scripts/bench/kuramoto/kb.lua - the lamina side of KB-1..KB-5 (reference
-- section 3.6), run by scripts/bench/kuramoto/run after peers.py wrote the
-- shared inputs into DIR.
--
--   luajit kb.lua DIR [--quick] [--reps R] [--only KB-n]
--
-- Prints the same TSV lines as peers.py (case impl size median min max
-- units metric).  One warm-up run, then the median of R runs of sim:run
-- only (model creation, inputs and the recorder set-up are outside the
-- timing), in process CPU time; r(t) is recorded at every step, as the
-- peers do.
local lam = require "lamina"
local sync = require "lamina.analysis.sync"
local ffi = require "ffi"

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } kb_timespec;
int clock_gettime(int clk, kb_timespec *ts);
]]
local ts = ffi.new("kb_timespec")
local function now()
  ffi.C.clock_gettime(2, ts) -- CLOCK_PROCESS_CPUTIME_ID, as peers.py
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local DIR = assert(arg[1], "usage: kb.lua DIR [--quick] [--reps R]")
local QUICK, REPS, ONLY = false, 5, nil
for i = 2, #arg do
  if arg[i] == "--quick" then QUICK = true end
  if arg[i] == "--reps" then REPS = tonumber(arg[i + 1]) end
  if arg[i] == "--only" then ONLY = arg[i + 1] end
end
-- --only CASE (e.g. KB-1): run that case alone (quicker iterations).
local function want(case) return ONLY == nil or ONLY == case end

local function load(name) return lam.load(DIR .. "/" .. name .. ".npy") end

-- setup() builds everything and returns (sim, after); sim:run(T) is timed;
-- after(sim) returns the metric string.  Median of REPS after one warm-up.
local function bench(case, impl, size, units, T, dt, setup)
  if not want(case) then return end
  local times, metric = {}, ""
  for rep = 0, REPS do
    local sim, after = setup()
    local t0 = now()
    sim:run(T)
    local t1 = now()
    if rep > 0 then times[#times + 1] = t1 - t0 end
    metric = after and after(sim) or ""
    sim = nil
    collectgarbage()
  end
  table.sort(times)
  print(string.format("%s\t%s\t%s\t%.6g\t%.6g\t%.6g\t%d\t%s", case, impl, size,
    times[math.floor(#times / 2) + 1], times[1], times[#times], units, metric))
  io.stdout:flush()
end

local function mean_second_half(rec)
  local d, n = rec:data(), rec:count()
  local s, c = 0, 0
  for i = math.floor(n / 2) + 1, n do s, c = s + d:get(i, 1), c + 1 end
  return s / c
end

-- |r_lamina(after step k) - r_peer(start of step k + 1)| over the first 10 steps
local function r_gate(rec, peer)
  local d, p, worst = rec:data(), load(peer), 0
  for k = 1, 10 do worst = math.max(worst, math.abs(d:get(k, 1) - p:get(k + 1))) end
  return worst
end

-- KB-1: mean field, Lorentzian quantiles, K = 4, dt = 0.01.
local sizes = QUICK and { 1000, 10000 } or { 1000, 10000, 100000, 1000000 }
for _, n in ipairs(want("KB-1") and sizes or {}) do
  local steps = n <= 100000 and 2000 or 200
  if QUICK then steps = 200 end
  local th = load("theta_" .. n)
  bench("KB-1", "lamina", n, n * steps, steps * 0.01, 0.01, function()
    local sim = lam.sim { dt = 0.01, seed = 1 }
    sim:add("osc", "kuramoto.phase", { n = n, k = 4, omega_dist = "lorentzian", omega_width = 1, integrator = "euler" })
    sim:set("osc.phases", th)
    local rec = sim:record("osc.order")
    return sim, function()
      if steps == 2000 then return string.format("rmean=%.5f", mean_second_half(rec)) end
      return string.format("r10gate=%.3g", r_gate(rec, "kb1_r_numpy-careful_" .. n))
    end
  end)
end

-- KB-1n: identical oscillators, noise D = 1, Euler-Maruyama.
do
  local n, steps = 10000, QUICK and 200 or 2000
  bench("KB-1n", "lamina", n, n * steps, steps * 0.01, 0.01, function()
    local sim = lam.sim { dt = 0.01, seed = 1 }
    sim:add("osc", "kuramoto.phase", { n = n, k = 4, noise = 1, integrator = "euler", theta_init = "zero" })
    local rec = sim:record("osc.order")
    return sim, function() return string.format("rmean=%.5f", mean_second_half(rec)) end
  end)
end

-- KB-2: CSR graphs from peers.py, omega ~ N(0, 0.1) quantiles, K = 2.
for _, g in ipairs(not want("KB-2") and {} or QUICK and { { "ring", 10000 } } or { { "ring", 100000 }, { "er", 10000 }, { "erw", 10000 } }) do
  local name, n = g[1], g[2]
  local ip, idx, w = load("kb2_" .. name .. "_indptr"), load("kb2_" .. name .. "_indices"), load("kb2_" .. name .. "_data")
  local nnz, steps = w:size(), QUICK and 50 or 200
  local th = load("theta_" .. n)
  bench("KB-2", "lamina", string.format("%s-%d-%d", name, n, nnz), nnz * steps, steps * 0.01, 0.01, function()
    local sim = lam.sim { dt = 0.01, seed = 1 }
    local osc = sim:add("osc", "kuramoto.phase", { n = n, k = 2, coupling = "sparse", norm = "none",
      omega_dist = "gaussian", omega_width = 0.1, integrator = "euler" })
    osc:call("set_csr", ip, idx, w)
    sim:set("osc.phases", th)
    local rec = sim:record("osc.order")
    return sim, function(s)
      local om, p = osc:call("omega"), s:port("osc.phases")
      local d, so = 0, 0
      for i = 1, n do d, so = d + (p:get(i) - th:get(i)), so + om:get(i) end
      return string.format("r10gate=%.3g T14=%.3g", r_gate(rec, "kb2_r_" .. name .. "_scipy-careful"), math.abs(d - steps * 0.01 * so))
    end
  end)
end

-- KB-3: dense log-normal connectome, per-edge delays 1..200 steps, noise.
for _, c in ipairs(not want("KB-3") and {} or QUICK and { { 90, 1000 } } or { { 90, 10000 }, { 1000, 300 } }) do
  local n, steps = c[1], c[2]
  local W, D, th = load("kb3_W_" .. n), load("kb3_D_" .. n), load("theta_" .. n)
  local function make(noise)
    local sim = lam.sim { dt = 0.1, seed = 1 }
    local osc = sim:add("osc", "kuramoto.phase", { n = n, k = 1, coupling = "dense", norm = "none",
      omega0 = 2 * math.pi * 40 / 1000, noise = noise, integrator = "euler" })
    osc:call("set_weights", W)
    osc:call("set_delays", D)
    sim:set("osc.phases", th)
    return sim
  end
  bench("KB-3", "lamina", n, n * n * steps, steps * 0.1, 0.1, function()
    local sim = make(0.01) -- its own noise streams, as each peer has its own
    sim:record("osc.order")
    return sim, nil
  end)
  if want("KB-3") then
    -- Gate on identical noise: peers.py's increments, played into the
    -- input port (lamina's own noise off), against the careful peer's
    -- phases (first 10 steps, and the PLV matrix over all steps) and the
    -- usual peer's first 10 steps.
    local inp = load("kb3_in_" .. n)
    local sim = make(0)
    sim:play(inp, "osc.input")
    local rec = sim:record("osc.phases")
    sim:run(inp:shape()[1] * 0.1)
    local ph = rec:data()
    local function traj(impl)
      local ref, worst = load("kb3_phases_" .. impl .. "_" .. n), 0
      for k = 1, 10 do
        for i = 1, n do worst = math.max(worst, math.abs(ph:get(k, i) - ref:get(k, i))) end
      end
      return worst
    end
    local plv, ref, worst, mean = sync.plv(ph), load("kb3_plv_numpy_" .. n), 0, 0
    for i = 1, n do
      for j = 1, n do
        local d = math.abs(plv:get(i, j) - ref:get(i, j))
        worst, mean = math.max(worst, d), mean + d / (n * n)
      end
    end
    print(string.format("KB-3\tgate\t%d\t0\t0\t0\t0\tsteps=%d plv_maxdiff=%.3g plv_meandiff=%.3g th10_careful=%.3g th10_usual=%.3g",
      n, inp:shape()[1], worst, mean, traj("numpy-careful"), traj("numpy-usual")))
  end
end

-- KB-4: the O(N^2) meshgrid users write vs lamina's dense (complete graph,
-- N^2 work) and mean field (O(N)).
for _, n in ipairs(QUICK and { 100, 1000 } or { 100, 1000, 3000 }) do
  local steps = math.max(5, math.floor(2e8 / (n * n) / 10))
  for _, cpl in ipairs { "dense", "mean_field" } do
    bench("KB-4", "lamina-" .. cpl, n, steps, steps * 0.01, 0.01, function()
      local sim = lam.sim { dt = 0.01, seed = 1 }
      sim:add("osc", "kuramoto.phase", { n = n, k = 1, coupling = cpl, omega_dist = "gaussian", omega_width = 0.1, integrator = "euler" })
      return sim, nil
    end)
  end
end

-- KB-4's gate: the Kc sweep of peers.py's kb4_gate (whose comment gives the
-- reasons for the grid, the times and the estimator), on lamina's own
-- Gaussian quantiles (checked against the peer's) and the shared theta0:
-- N = 1000, sigma = 0.1, mean field, Euler, K = Kc_theory * (0.90, 0.91,
-- ..., 1.10), dt = 0.05, T = 2000, r averaged over t in (1000, 2000]; Kc =
-- where r first exceeds 3/sqrt(N), interpolated in r^2; PASS within 5 % of
-- sqrt(8/pi) sigma.  About 2 s CPU (--quick: 11 K, dt = 0.1, T = 1000).
if want("KB-4") then
  local n, sigma = 1000, 0.1
  local kc_theory = math.sqrt(8 / math.pi) * sigma
  local nk, step, dt, T = 21, 0.01, 0.05, 2000
  if QUICK then nk, step, dt, T = 11, 0.02, 0.1, 1000 end
  local th, wpeer = load("theta_" .. n), load("kb4_omega_" .. n)
  local ks, rs, dw = {}, {}, 0
  local t0 = now()
  for j = 0, nk - 1 do
    local sim = lam.sim { dt = dt, seed = 1 }
    local osc = sim:add("osc", "kuramoto.phase", { n = n, k = (0.90 + step * j) * kc_theory, coupling = "mean_field",
      omega_dist = "gaussian", omega_width = sigma, omega_sampling = "quantile", integrator = "euler" })
    sim:set("osc.phases", th)
    local rec = sim:record("osc.order")
    sim:run(T)
    if j == 0 then
      local om = osc:call("omega")
      for i = 1, n do dw = math.max(dw, math.abs(om:get(i) - wpeer:get(i))) end
    end
    ks[#ks + 1], rs[#rs + 1] = (0.90 + step * j) * kc_theory, mean_second_half(rec)
    sim = nil
    collectgarbage()
  end
  local cpu = now() - t0
  -- the peer's r(K) on the same grid, a check that both sides ran the same
  -- sweep (rounding differs, so this is reported, not required to be 0)
  local peer, dr = load("kb4_sweep_numpy"), 0
  for j = 1, nk do dr = math.max(dr, math.abs(rs[j] - peer:get(2, j))) end
  -- onset: first r above 3/sqrt(N), interpolated linearly in r^2 from the
  -- grid point before it (nil when r is above it already at 0.90 Kc or never)
  local kc, thr2 = nil, 9 / n
  for j = 1, #rs do
    if rs[j] ^ 2 > thr2 then
      if j > 1 then
        local a, b = rs[j - 1] ^ 2, rs[j] ^ 2
        kc = ks[j - 1] + (ks[j] - ks[j - 1]) * (thr2 - a) / (b - a)
      end
      break
    end
  end
  local extra = string.format("%d K x %d steps, dt=%g, %.1f s CPU; vs peer: omega %.1g, r(K) %.2g", nk,
    math.floor(T / dt + 0.5), dt, cpu, dw, dr)
  local verdict
  if kc == nil then
    verdict = string.format("Kc outside the grid (theory %.4f) FAIL; %s", kc_theory, extra)
  else
    local err = kc / kc_theory - 1
    verdict = string.format("Kc=%.4f (theory %.4f, %+.2f%%) %s; %s", kc, kc_theory, 100 * err,
      math.abs(err) <= 0.05 and "PASS" or "FAIL", extra)
  end
  print(string.format("KB-4\tgate-lamina\t%d\t0\t0\t0\t0\t%s", n, verdict))
  io.stdout:flush()
end
