#!/usr/bin/env luajit
-- tests/plugins/kuramoto.t - kuramoto.phase through the Lua library and the
-- real kuramoto.so: agreement of the couplings, delays, bad inputs, the
-- small-N analytic cases T9, T12-T16 of the reference, forcing, noise
-- statistics, frequency generators and reproducibility.  The large-N
-- theory cases (T1-T8, T10, T11) are in kuramoto_theory.t, AKOrN in
-- kuramoto_akorn.t.  Every tolerance is stated next to its check.
local tap = require "tap"
local lam = require "lamina"
local buf = lam.buf
tap.plan(64)

local PI = math.pi

local function model(params, dt, seed)
  local sim = lam.sim { dt = dt or 0.01, seed = seed or 1 }
  local osc = sim:add("osc", "kuramoto.phase", params)
  return sim, osc
end

local kt = require "kurtest"
local values, matrix, maxdiff, lcg = kt.values, kt.matrix, kt.maxdiff, kt.lcg

-- The phases after `T` ms of a model made with `params` (dt, seed), set
-- up by setup(osc) and started from th0 when given.
local function phases_after(params, dt, seed, setup, T, th0)
  local sim, osc = model(params, dt, seed)
  setup(osc)
  if th0 then sim:set("osc.phases", th0) end
  sim:run(T)
  return values(sim:port("osc.phases"))
end

-- ---------------------------------------------------------------------
-- Dense, sparse and mean field agree on the complete graph: 1e-12 over
-- 100 steps (only summation rounding may differ), with lag and forcing.
-- ---------------------------------------------------------------------
do
  local n = 60
  local rnd = lcg(7)
  local om = {}
  for i = 1, n do om[i] = rnd() - 0.5 end
  local base = { n = n, k = 1.7, alpha = 0.4, forcing = 0.3, forcing_freq = 0.2, integrator = "rk4" }
  local function run(coupling, norm, setup)
    local p = {}
    for k, v in pairs(base) do p[k] = v end
    p.coupling, p.norm = coupling, norm
    local sim, osc = model(p)
    osc:call("set_omega", om)
    if setup then setup(osc) end
    sim:run(1.0)
    return values(sim:port("osc.phases"))
  end
  local mf = run("mean_field", "N")
  local ones = matrix(n, function() return 1 end)
  local dense = run("dense", "N", function(o) o:call("set_weights", ones) end)
  local indptr, idx = {}, {}
  for i = 0, n do indptr[i + 1] = i * n end
  for i = 0, n - 1 do for j = 0, n - 1 do idx[#idx + 1] = j end end
  local sparse = run("sparse", "N", function(o) o:call("set_csr", indptr, idx) end)
  tap.ok(maxdiff(mf, dense) <= 1e-12, "dense W = 1 equals the mean field over 100 RK4 steps (1e-12)")
  tap.ok(maxdiff(mf, sparse) <= 1e-12, "CSR complete graph equals the mean field (1e-12)")
  local deg = run("dense", "in_degree", function(o) o:call("set_weights", ones) end)
  local str = run("sparse", "in_strength", function(o) o:call("set_csr", indptr, idx) end)
  tap.ok(maxdiff(mf, deg) <= 1e-12 and maxdiff(mf, str) <= 1e-12,
    "norm in_degree and in_strength equal 1/N on the complete graph (1e-12)")
  local implicit = run("dense", "N")
  tap.ok(maxdiff(mf, implicit) <= 1e-12, "dense without set_weights is the complete graph (1e-12)")
  base.k = 1.7 / n
  local none = run("mean_field", "none")
  local none_dense = run("dense", "none", function(o) o:call("set_weights", ones) end)
  tap.ok(maxdiff(none, none_dense) <= 1e-12, "norm none: mean field and dense agree (1e-12)")
end

-- ---------------------------------------------------------------------
-- Delays: zero per-edge delays = the undelayed model (bitwise); per-edge
-- delays all d = uniform delay d (bitwise); history is constant.
-- ---------------------------------------------------------------------
do
  local n = 30
  local rnd = lcg(11)
  local W = matrix(n, function(i, j) return i == j and 0 or rnd() end)
  local om = {}
  for i = 1, n do om[i] = 0.5 + 0.2 * rnd() end
  local function run(params, setup)
    params.n, params.coupling, params.k = n, "dense", 2
    local sim, osc = model(params)
    osc:call("set_omega", om)
    osc:call("set_weights", W)
    if setup then setup(osc) end
    sim:run(2.0)
    return values(sim:port("osc.phases"))
  end
  local plain = run({ integrator = "heun" })
  local zero = run({ integrator = "heun" }, function(o) o:call("set_delays", matrix(n, function() return 0 end)) end)
  tap.is(maxdiff(plain, zero), 0, "all-zero per-edge delays give exactly the undelayed run (Heun)")
  local uni = run({ integrator = "euler", delay = 7 })
  local edge = run({ integrator = "euler" }, function(o) o:call("set_delays", matrix(n, function() return 7 end)) end)
  tap.is(maxdiff(uni, edge), 0, "per-edge delays all 7 equal the uniform delay 7 (bitwise)")
  local undelayed = run({ integrator = "euler" })
  tap.ok(maxdiff(uni, undelayed) > 1e-3, "a delay of 7 steps changes the trajectory")
  -- Mixed delays, sparse: the same graph as CSR gives the same result as dense.
  local D = matrix(n, function(i, j) return (i * 7 + j * 3) % 13 end)
  local dd = run({ integrator = "euler" }, function(o) o:call("set_delays", D) end)
  local indptr, idx, w, dl = { 0 }, {}, {}, {}
  local wp, dp = W:ptr(), D:ptr()
  for i = 0, n - 1 do
    for j = 0, n - 1 do
      if wp[i * n + j] ~= 0 then idx[#idx + 1], w[#w + 1], dl[#dl + 1] = j, wp[i * n + j], dp[i * n + j] end
    end
    indptr[#indptr + 1] = #idx
  end
  local sim, osc = model({ n = n, coupling = "sparse", k = 2, integrator = "euler" })
  osc:call("set_omega", om)
  osc:call("set_csr", indptr, idx, w)
  osc:call("set_delays", dl)
  sim:run(2.0)
  tap.ok(maxdiff(dd, values(sim:port("osc.phases"))) <= 1e-12, "per-edge delays: CSR equals dense (1e-12)")
end

-- ---------------------------------------------------------------------
-- Bad inputs: clear errors naming the parameter.
-- ---------------------------------------------------------------------
do
  local _, dense = model({ n = 4, coupling = "dense" })
  tap.raises(function() dense:call("set_weights", buf.new({ 4, 3 })) end, { "set_weights", "weights", "square", "[4, 3]" },
    "non-square weight matrix refused, naming 'weights' and the shape")
  tap.raises(function() dense:call("set_delays", matrix(4, function(i, j) return (i == 1 and j == 2) and -1 or 0 end)) end,
    { "delays[1, 2] = -1", "negative" }, "negative delay refused with its index")
  tap.raises(function() dense:call("set_delays", matrix(4, function() return 1.5 end)) end,
    { "delays[0, 0] = 1.5", "integer" }, "fractional delay refused")
  tap.raises(function() dense:call("set_omega", { 1, 2, 3 }) end, { "set_omega", "omega", "[4]", "[3]" },
    "omega of the wrong length (mismatched N) refused")
  tap.raises(function() dense:call("set_omega", { 1, 2, 0 / 0, 4 }) end, { "omega[2] = nan" },
    "NaN omega refused with its index")
  tap.raises(function() dense:call("set_weights", matrix(4, function(i, j) return (i == 3 and j == 0) and 1 / 0 or 1 end)) end,
    { "weights[3, 0] = inf" }, "infinite weight refused")
  local _, sp = model({ n = 3, coupling = "sparse" })
  tap.raises(function() sp:call("set_csr", { 0, 1, 2, 3 }, { 0, 5, 1 }) end, { "indices[1] = 5" },
    "CSR column out of range refused")
  tap.raises(function() sp:call("set_csr", { 0, 2, 1, 3 }, { 0, 1, 2 }) end, { "indptr[2]" },
    "decreasing indptr refused")
  tap.raises(function() model({ n = 3, noise = 0.1, integrator = "rk4" }) end, { "noise", "rk4" },
    "noise with rk4 refused")
  tap.raises(function() model({ n = 3, coupling = "dense", k2 = 1 }) end, { "k2", "mean_field" },
    "triadic coupling on a network refused")
  local _, mf = model({ n = 3 })
  tap.raises(function() mf:call("set_delays", { 1, 2, 3 }) end, { "set_delays", "dense or sparse" },
    "per-edge delays on the mean field refused")
  local _, st = model({ n = 2, coupling = "dense", norm = "in_strength" })
  tap.raises(function() st:call("set_weights", { { 0, -1 }, { 1, 0 } }) end, { "in_strength", "row 0" },
    "negative in-strength refused")
end

-- ---------------------------------------------------------------------
-- T12: two oscillators (K/N): phi' = dw - K sin phi.
-- ---------------------------------------------------------------------
local function crossings(times, x, level)
  -- times at which x rises through level + 2 pi m (linear interpolation)
  local out = {}
  for i = 2, #x do
    local a, b = (x[i - 1] - level) / (2 * PI), (x[i] - level) / (2 * PI)
    if math.floor(a) ~= math.floor(b) and b > a then
      local m = math.floor(b)
      local f = (m - a) / (b - a)
      out[#out + 1] = times[i - 1] + f * (times[i] - times[i - 1])
    end
  end
  return out
end

local function relative(rec, i, j)
  local d = rec:data()
  local t, x = {}, {}
  local tt = rec:times()
  for s = 1, rec:count() do
    t[s] = tt:get(s)
    x[s] = d:get(s, j) - d:get(s, i)
  end
  return t, x
end

do
  local sim, osc = model({ n = 2, k = 1, integrator = "rk4", theta_init = "zero" })
  osc:call("set_omega", { 0, 0.5 })
  sim:run(60)
  local th = values(sim:port("osc.phases"))
  tap.near(th[2] - th[1], math.asin(0.5), 1e-6, "T12 locked: phi* = asin(dw/K) (1e-6, RK4 dt 0.01)")
  local sim2, osc2 = model({ n = 2, k = 1, integrator = "rk4", theta_init = "zero" })
  osc2:call("set_omega", { 0, 1.5 })
  local rec = sim2:record("osc.phases")
  sim2:run(40)
  local t, x = relative(rec, 1, 2)
  local c = crossings(t, x, 0)
  local period = (c[#c] - c[2]) / (#c - 2)
  tap.near(period, 2 * PI / math.sqrt(1.5 ^ 2 - 1), 1e-4, "T12 beat period 2 pi / sqrt(dw^2 - K^2) (1e-4)")
end

-- ---------------------------------------------------------------------
-- T16: second order.  Same locked phi*, and the linearised relaxation
-- lambda = (-g +- sqrt(g^2 - 4 m K)) / (2m) (underdamped here).
-- ---------------------------------------------------------------------
do
  local sim, osc = model({ n = 2, k = 1, mass = 1, damping = 1, integrator = "rk4", theta_init = "zero" })
  osc:call("set_omega", { 0, 0.5 })
  sim:run(60)
  local th = values(sim:port("osc.phases"))
  tap.near(th[2] - th[1], math.asin(0.5), 1e-6, "T16 second order locks at the same phi* (1e-6)")
  local m, g, K = 1, 0.2, 1
  local s2, o2 = model({ n = 2, k = K, mass = m, damping = g, integrator = "rk4", theta_init = "zero" })
  s2:set("osc.phases", { 0, 0.01 })
  local rec = s2:record("osc.phases")
  s2:run(40)
  local t, x = relative(rec, 1, 2)
  -- zero crossings downward/upward of phi: half periods
  local zc = {}
  for i = 2, #x do
    if (x[i - 1] > 0) ~= (x[i] > 0) then
      zc[#zc + 1] = t[i - 1] + x[i - 1] / (x[i - 1] - x[i]) * (t[i] - t[i - 1])
    end
  end
  local half = (zc[#zc] - zc[1]) / (#zc - 1)
  local freq = math.sqrt(4 * m * K - g * g) / (2 * m)
  tap.near(PI / half, freq, 1e-3, "T16 oscillation frequency sqrt(4mK - g^2)/(2m) (1e-3)")
  -- amplitude decay over whole periods: exp(-g/(2m) t)
  local d = rec:data()
  local function amp(t0)
    local a = 0
    for s = 1, rec:count() do
      local tt = t[s]
      if tt >= t0 and tt < t0 + 2 * PI / freq then a = math.max(a, math.abs(x[s])) end
    end
    return a
  end
  local T0, T1 = 5, 5 + 3 * 2 * PI / freq
  local rate = -math.log(amp(T1) / amp(T0)) / (T1 - T0)
  tap.near(rate, g / (2 * m), 1e-3, "T16 decay rate g/(2m) (1e-3)")
  o2 = nil
end

-- ---------------------------------------------------------------------
-- T9: uniform delay tau, identical oscillators: Omega = w - K sin(Omega tau)
-- (the self-term is included: all j, K/N).
-- ---------------------------------------------------------------------
do
  local function solve(w, K, tau)
    local O = w
    for _ = 1, 200 do O = O - (O - w + K * math.sin(O * tau)) / (1 + K * tau * math.cos(O * tau)) end
    return O
  end
  for _, K in ipairs { 1, 0.5 } do
    -- The delayed coupling is read once per step (first order in dt), so
    -- dt = 0.001 (delay 1000 steps) keeps that error near 1e-4.
    local sim = model({ n = 8, k = K, omega0 = 1, delay = 1000, integrator = "rk4", theta_init = "zero" }, 0.001)
    local rec = sim:record("osc.z")
    sim:run(80)
    local d = rec:data()
    local n = rec:count()
    local psi = {}
    for s = 1, n do psi[s] = math.atan2(d:get(s, 2), d:get(s, 1)) end
    -- unwrap and take the slope over the second half
    local u, off = { psi[1] }, 0
    for s = 2, n do
      local dd = psi[s] - psi[s - 1]
      if dd < -PI then off = off + 2 * PI elseif dd > PI then off = off - 2 * PI end
      u[s] = psi[s] + off
    end
    local Om = (u[n] - u[math.floor(n / 2)]) / ((n - math.floor(n / 2)) * 0.001)
    tap.near(Om, solve(1, K, 1), 1e-3, string.format("T9 delay tau = 1, K = %g: Omega = w - K sin(Omega tau) (1e-3)", K))
  end
end

-- ---------------------------------------------------------------------
-- T13: incoherent finite N: E[r] = sqrt(pi/(4N)) for independent uniform
-- phases; 200 seeds at N = 100, sd of r ~ 0.046, so 3 SE = 0.01.
-- ---------------------------------------------------------------------
do
  local s = 0
  for seed = 1, 200 do
    local sim = model({ n = 100, k = 0 }, 0.01, seed)
    s = s + sim:port("osc.order"):get(1)
  end
  tap.near(s / 200, math.sqrt(PI / 400), 0.01, "T13 E[r] = sqrt(pi/4N) at N = 100 (3 SE = 0.01)")
end

-- ---------------------------------------------------------------------
-- T14: symmetric W, no lag/delay/noise: sum theta advances by t sum omega
-- exactly (Euler; rounding only): 1e-9 N.
-- ---------------------------------------------------------------------
do
  local n = 40
  local rnd = lcg(3)
  local A = {}
  for i = 0, n - 1 do A[i] = {} end
  for i = 0, n - 1 do for j = i, n - 1 do local v = rnd() A[i][j], A[j][i] = v, v end end
  local W = matrix(n, function(i, j) return A[i][j] end)
  local sim, osc = model({ n = n, coupling = "dense", k = 3, norm = "none", integrator = "euler" })
  local om = {}
  for i = 1, n do om[i] = rnd() end
  osc:call("set_omega", om)
  osc:call("set_weights", W)
  local s0 = 0
  for _, v in ipairs(values(sim:port("osc.phases"))) do s0 = s0 + v end
  sim:run(2)
  local s1, so = 0, 0
  for _, v in ipairs(values(sim:port("osc.phases"))) do s1 = s1 + v end
  for _, v in ipairs(om) do so = so + v end
  tap.near(s1 - s0, 2 * so, 1e-9 * n, "T14 symmetric W conserves sum(theta) - t sum(omega) (1e-9 N)")
end

-- ---------------------------------------------------------------------
-- T15: identical omega, symmetric W >= 0: V = -1/2 sum W cos(dtheta) is
-- non-increasing (dt K deg << 1); all-to-all identical -> r -> 1.
-- ---------------------------------------------------------------------
do
  local n = 20
  local rnd = lcg(5)
  local A = {}
  for i = 0, n - 1 do A[i] = {} end
  for i = 0, n - 1 do for j = i, n - 1 do local v = rnd() A[i][j], A[j][i] = v, v end end
  local sim, osc = model({ n = n, coupling = "dense", k = 1, norm = "N", integrator = "euler" })
  osc:call("set_weights", matrix(n, function(i, j) return A[i][j] end))
  local function V()
    local th, v = values(sim:port("osc.phases")), 0
    for i = 0, n - 1 do for j = 0, n - 1 do v = v - 0.5 * A[i][j] * math.cos(th[j + 1] - th[i + 1]) end end
    return v
  end
  local prev, mono = V(), true
  for _ = 1, 300 do
    sim:run(0.01)
    local v = V()
    if v > prev + 1e-12 then mono = false end
    prev = v
  end
  tap.ok(mono, "T15 V is non-increasing along 300 Euler steps (1e-12 rounding allowance)")
  local s2 = model({ n = 50, k = 2, integrator = "heun" })
  s2:run(20)
  tap.near(s2:port("osc.order"):get(1), 1, 1e-9, "T15 identical oscillators, K > 0: r -> 1 (1e-9 at t = 20)")
end

-- ---------------------------------------------------------------------
-- Forcing (Adler): K = 0, one oscillator locks iff |w - Wf| <= F;
-- otherwise the beat frequency is sqrt((w - Wf)^2 - F^2).  The input port
-- adds a constant drive I: effective frequency w + I.
-- ---------------------------------------------------------------------
do
  local sim = model({ n = 1, k = 0, omega0 = 1.3, forcing = 0.5, forcing_freq = 1, integrator = "rk4", theta_init = "zero" })
  sim:run(100)
  local a = sim:port("osc.phases"):get(1)
  sim:run(50)
  local b = sim:port("osc.phases"):get(1)
  tap.near((b - a) / 50, 1, 1e-9, "forcing F = 0.5, |w - Wf| = 0.3: locked to Wf (1e-9)")
  local s2 = model({ n = 1, k = 0, omega0 = 2, forcing = 0.6, forcing_freq = 1, integrator = "rk4", theta_init = "zero" })
  local rec = s2:record("osc.phases")
  s2:run(100)
  local d, tt = rec:data(), rec:times()
  local t, x = {}, {}
  for s = 1, rec:count() do t[s], x[s] = tt:get(s), d:get(s, 1) - 1 * (tt:get(s) + 0.01) end
  local c = crossings(t, x, 0)
  tap.near(2 * PI / ((c[#c] - c[1]) / (#c - 1)), math.sqrt(1 - 0.36), 1e-4,
    "forcing, |w - Wf| = 1 > F = 0.6: beat frequency sqrt(dw^2 - F^2) (1e-4)")
  local s3 = model({ n = 3, k = 0, omega0 = 0.2, integrator = "euler", theta_init = "zero" })
  s3:set("osc.input", { 0.1, 0.2, 0.3 })
  s3:run(10)
  local th = values(s3:port("osc.phases"))
  tap.ok(math.abs(th[1] - 3) < 1e-9 and math.abs(th[3] - 5) < 1e-9, "input port adds to omega (1e-9)")
end

-- ---------------------------------------------------------------------
-- Noise: free diffusion, var(theta(t) - theta(0)) = 2 D t, for
-- Euler-Maruyama and stochastic Heun (N = 4000: SE of the variance is
-- 2Dt sqrt(2/N) = 2.2%; tolerance 4 SE).  Same seed -> identical.
-- ---------------------------------------------------------------------
do
  for _, integ in ipairs { "euler", "heun" } do
    local sim = model({ n = 4000, k = 0, noise = 0.5, integrator = integ, theta_init = "zero" }, 0.01, 9)
    sim:run(2)
    local th = values(sim:port("osc.phases"))
    local m, v = 0, 0
    for _, x in ipairs(th) do m = m + x end
    m = m / #th
    for _, x in ipairs(th) do v = v + (x - m) ^ 2 end
    v = v / (#th - 1)
    tap.near(v, 2 * 0.5 * 2, 4 * 0.022 * 2, integ .. ": var = 2 D t for free diffusion (4 SE)")
  end
  local function once(seed)
    local sim = model({ n = 50, k = 1, noise = 0.3, integrator = "heun" }, 0.01, seed)
    sim:run(1)
    return values(sim:port("osc.phases"))
  end
  tap.is(maxdiff(once(4), once(4)), 0, "same seed, same noise: bitwise identical")
  tap.ok(maxdiff(once(4), once(5)) > 0, "another seed: different")
end

-- ---------------------------------------------------------------------
-- Frequency generators: quantile formulas (reference section 1.7).
-- ---------------------------------------------------------------------
do
  local N = 39 -- j = 39 sits at level 0.975
  local function om(dist, w)
    local _, o = model({ n = N, omega_dist = dist, omega0 = 1, omega_width = w })
    return values(o:call("omega"))
  end
  local g = om("gaussian", 2)
  tap.near(g[N], 1 + 2 * 1.959963984540054, 1e-12, "Gaussian quantile at 0.975 = w0 + 1.95996 sigma (1e-12)")
  tap.near(g[20], 1, 1e-15, "Gaussian median = w0")
  local l = om("lorentzian", 0.5)
  tap.near(l[1], 1 + 0.5 * math.tan(PI * (2 - N - 1) / (2 * (N + 1))), 1e-12, "Lorentzian quantile formula (1e-12)")
  local u = om("uniform", 1)
  tap.near(u[N] - u[1], 2 * (N - 1) / (N + 1), 1e-12, "uniform quantiles span 2 g (N-1)/(N+1) (1e-12)")
end
-- ---------------------------------------------------------------------
-- Checkpoint with per-edge delays and noise: save mid-run, continue; a
-- fresh instance (same network) that loads the state continues bitwise.
-- ---------------------------------------------------------------------
do
  local n = 12
  local D = matrix(n, function(i, j) return (i + 2 * j) % 9 end)
  local function make()
    local sim, osc = model({ n = n, coupling = "dense", k = 1.5, noise = 0.2, integrator = "heun",
                             omega_dist = "gaussian", omega_width = 0.3 }, 0.01, 3)
    osc:call("set_delays", D)
    return sim
  end
  local a = make()
  a:run(0.5)
  local st = a:save_state("osc")
  a:run(0.5)
  local b = make()
  b:run(0.2) -- a different history, replaced by the load
  b:load_state("osc", st)
  b:run(0.5)
  tap.is(maxdiff(values(a:port("osc.phases")), values(b:port("osc.phases"))), 0,
    "checkpoint with delay history and noise streams continues bitwise")
end

-- ---------------------------------------------------------------------
-- The fused Euler pass (update + next step's sin/cos + 16-lane order
-- parameter, in chunks of 512) against a plain Lua Euler loop with libm
-- sin/cos: mean field with input-free forcing at n = 37 (a lane tail) and
-- n = 1100 (three chunks, the last partial), and a weighted CSR graph.
-- Tolerances: 1e-12 on the phases after 40 steps (the kernel's sin/cos
-- and sums differ from libm's and Lua's order by rounding only), 1e-14 on
-- the z port (the same sums).
-- ---------------------------------------------------------------------
do
  local function ref_run(n, om, th, field, steps, dt)
    local copy = {}
    for i = 1, n do copy[i] = th[i] end
    th = copy
    for _ = 1, steps do
      local fre, fim = field(th)
      local nt = {}
      for i = 1, n do
        nt[i] = th[i] + dt * (om[i] + fim[i] * math.cos(th[i]) - fre[i] * math.sin(th[i]))
      end
      th = nt
    end
    return th
  end
  local function z_of(th)
    local a, b = 0, 0
    for i = 1, #th do a, b = a + math.cos(th[i]), b + math.sin(th[i]) end
    return a / #th, b / #th
  end
  -- Euler steps of a weighted CSR graph (k = 1.3, norm = none) against
  -- ref_run with the row sums taken edge by edge: the largest difference.
  local function csr_vs_ref(n, indptr, idx, w, om, th0, steps)
    local rows = {}
    for i = 1, n do
      rows[i] = {}
      for e = indptr[i] + 1, indptr[i + 1] do rows[i][#rows[i] + 1] = { idx[e] + 1, w[e] } end
    end
    local sim, osc = model({ n = n, k = 1.3, coupling = "sparse", norm = "none", integrator = "euler" })
    osc:call("set_omega", om)
    osc:call("set_csr", indptr, idx, w)
    sim:set("osc.phases", th0)
    sim:run_ticks(steps)
    local want = ref_run(n, om, th0, function(th)
      local re, im = {}, {}
      for i = 1, n do
        local a, b = 0, 0
        for _, e in ipairs(rows[i]) do
          a, b = a + 1.3 * e[2] * math.cos(th[e[1]]), b + 1.3 * e[2] * math.sin(th[e[1]])
        end
        re[i], im[i] = a, b
      end
      return re, im
    end, steps, 0.01)
    return maxdiff(values(sim:port("osc.phases")), want)
  end
  for _, n in ipairs { 37, 1100 } do
    local rnd = lcg(n)
    local om, th0 = {}, {}
    for i = 1, n do om[i], th0[i] = rnd() - 0.5, 2 * PI * rnd() end
    local K = 2.5
    local sim, osc = model({ n = n, k = K, integrator = "euler" })
    osc:call("set_omega", om)
    sim:set("osc.phases", th0)
    sim:run(0.4)
    local got = values(sim:port("osc.phases"))
    local want = ref_run(n, om, th0, function(th)
      local a, b = z_of(th)
      local re, im = {}, {}
      for i = 1, n do re[i], im[i] = K * a, K * b end
      return re, im
    end, 40, 0.01)
    tap.ok(maxdiff(got, want) <= 1e-12, string.format("fused Euler, mean field, n = %d: Lua reference (1e-12)", n))
    local a, b = z_of(got)
    local z = values(sim:port("osc.z"))
    tap.ok(math.abs(z[1] - a) <= 1e-14 and math.abs(z[2] - b) <= 1e-14,
      string.format("n = %d: the z port is the mean of e^(i theta) of the phases (1e-14)", n))
  end
  -- weighted CSR, rows of 0..9 edges (every tail length of the 4 accumulators)
  local n, rnd = 40, lcg(5)
  local indptr, idx, w, W = { 0 }, {}, {}, {}
  for i = 0, n - 1 do
    W[i] = {}
    for j = 0, n - 1 do
      if j ~= i and rnd() < 0.2 then
        idx[#idx + 1], w[#w + 1] = j, 0.5 + rnd()
        W[i][j] = w[#w]
      end
    end
    indptr[#indptr + 1] = #idx
  end
  local om, th0 = {}, {}
  for i = 1, n do om[i], th0[i] = rnd() - 0.5, 2 * PI * rnd() end
  tap.ok(csr_vs_ref(n, indptr, idx, w, om, th0, 40) <= 1e-12,
    "fused Euler, weighted CSR (four accumulators per row): Lua reference (1e-12)")
  -- unweighted: every weight 0.7 (the weight stream is skipped) = dense 0.7 W
  local same = {}
  for e = 1, #w do same[e] = 0.7 end
  local dense = matrix(n, function(i, j) return W[i][j] and 0.7 or 0 end)
  local function run(coupling, setup)
    return phases_after({ n = n, k = 1.3, coupling = coupling, norm = "in_degree", integrator = "heun" }, 0.01, 1,
      function(o) o:call("set_omega", om); setup(o) end, 1.0, th0)
  end
  tap.ok(maxdiff(run("sparse", function(o) o:call("set_csr", indptr, idx, same) end),
    run("dense", function(o) o:call("set_weights", dense) end)) <= 1e-12,
    "unweighted CSR (one weight factored out) equals dense (1e-12, 100 Heun steps)")
  -- Column indices are read as 16 bits up to n = 65536 and as 32 bits
  -- above: at both sizes, edges to the last oscillator n - 1 (65535 fits
  -- 16 bits, 65536 does not) against the Lua reference, 5 steps, 1e-12.
  for _, big in ipairs { 65536, 65537 } do
    local r = lcg(big)
    local bp, bi, bw = { 0 }, {}, {}
    for i = 0, big - 1 do
      local set = {}
      for _, j in ipairs { (i + 1) % big, (i + math.floor(big / 2)) % big, big - 1 } do
        if j ~= i then set[j] = true end
      end
      local cols = {}
      for j in pairs(set) do cols[#cols + 1] = j end
      table.sort(cols)
      for _, j in ipairs(cols) do bi[#bi + 1], bw[#bw + 1] = j, 0.5 + r() end
      bp[#bp + 1] = #bi
    end
    local bom, bth = {}, {}
    for i = 1, big do bom[i], bth[i] = r() - 0.5, 2 * PI * r() end
    tap.ok(csr_vs_ref(big, bp, bi, bw, bom, bth, 5) <= 1e-12,
      string.format("weighted CSR, n = %d (%s-bit column indices), edges to oscillator n - 1: Lua reference (1e-12)",
        big, big <= 65536 and "16" or "32"))
  end
end

-- ---------------------------------------------------------------------
-- Source-major delayed coupling (dense, per-edge delays, no lags) against
-- the row-major path (taken when lags are set; zero lags change no bit):
-- bitwise, with delay-0 edges reading the current Heun stage and noise.
-- Switching paths mid-run (set_lags after 50 steps) keeps the history
-- (the ring is transposed): bitwise as well.
-- ---------------------------------------------------------------------
do
  local n, rnd = 23, lcg(3)
  local W = matrix(n, function(i, j) return i == j and 0 or rnd() end)
  local D = matrix(n, function(i, j) return (i * 5 + j * 3) % 11 end) -- 0..10, zeros included
  local zero = matrix(n, function() return 0 end)
  local function run(lags_at)
    local sim, osc = model({ n = n, coupling = "dense", k = 1.7, noise = 0.05, integrator = "heun",
                             omega_dist = "gaussian", omega_width = 0.5 }, 0.01, 4)
    osc:call("set_weights", W)
    osc:call("set_delays", D)
    if lags_at == 0 then osc:call("set_lags", zero) end
    sim:run(0.5)
    if lags_at == 50 then osc:call("set_lags", zero) end
    sim:run(0.5)
    return values(sim:port("osc.phases"))
  end
  local smaj, rowmajor, switched = run(nil), run(0), run(50)
  -- a uniform delay on a CSR graph gathers straight from the ring slot:
  -- equal to the dense graph with the same delay (1e-12, summation order)
  local indptr, idx, w = { 0 }, {}, {}
  local wp = W:ptr()
  for i = 0, n - 1 do
    for j = 0, n - 1 do
      if wp[i * n + j] ~= 0 then idx[#idx + 1], w[#w + 1] = j, wp[i * n + j] end
    end
    indptr[#indptr + 1] = #idx
  end
  local function uniform(coupling, setup)
    return phases_after({ n = n, coupling = coupling, k = 1.7, delay = 6, integrator = "euler",
                          omega_dist = "gaussian", omega_width = 0.5 }, 0.01, 4, setup, 1.0)
  end
  tap.ok(maxdiff(uniform("sparse", function(o) o:call("set_csr", indptr, idx, w) end),
    uniform("dense", function(o) o:call("set_weights", W) end)) <= 1e-12,
    "uniform delay 6: CSR (gathering from the ring slot) equals dense (1e-12)")
  tap.is(maxdiff(smaj, rowmajor), 0, "source-major delayed sums equal the row-major ones (bitwise)")
  tap.is(maxdiff(smaj, switched), 0, "switching to the row-major path mid-run keeps the history (bitwise)")
end

-- ---------------------------------------------------------------------
-- The vectorised sin/cos kernel (trig.c) against libm: one oscillator at
-- phases across quadrants and magnitudes up to 1e5 rad; the z port holds
-- (cos, sin).  Tolerance 4e-16 (about 2 ulp near 1).
-- ---------------------------------------------------------------------
do
  local sim = model({ n = 1, k = 0, integrator = "euler" })
  local worst = 0
  for i = -200, 200 do
    local th = i * 499.7331 + (i % 7) * 0.785398163397448
    sim:set("osc.phases", { th })
    sim:run(0.01)
    local z = sim:port("osc.z")
    worst = math.max(worst, math.abs(z:get(1) - math.cos(th)), math.abs(z:get(2) - math.sin(th)))
  end
  tap.ok(worst <= 4e-16, string.format("sin/cos kernel matches libm (max error %.2g <= 4e-16)", worst))
end
-- ---------------------------------------------------------------------
-- The cos/sin cache (phase_int.h) lives across steps only while the host
-- reports the phases port unchanged (lam_plugin_port_kept).  Splitting a
-- run must not change a bit, and every outside write must be seen: a set
-- scheduled mid-run, a write through a port view from an event, a set
-- between runs.  The model is autonomous (no forcing, no noise), so after
-- the phases are set to `kick` at t = 1 each must equal, bit for bit, a
-- fresh model started from `kick` and run for the remaining 1 ms; a model
-- that reused cos/sin of the overwritten phases would not.
do
  local P = { n = 40, k = 2, omega_dist = "gaussian", omega_width = 0.5, integrator = "euler" }
  local function mk() return (model(P, 0.01, 5)) end
  local whole, split = mk(), mk()
  whole:run(2)
  for _ = 1, 200 do split:run(0.01) end
  tap.is(maxdiff(values(whole:port("osc.phases")), values(split:port("osc.phases"))), 0,
    "cache: 200 runs of one step equal one run of 200 steps, bit for bit")
  local kick = {}
  for i = 1, 40 do kick[i] = 0.1 * i end
  local fresh, sched, between, event = mk(), mk(), mk(), mk()
  fresh:set("osc.phases", kick)
  fresh:run(1)
  sched:at_set(1, "osc.phases", kick)
  sched:run(2)
  between:run(1)
  between:set("osc.phases", kick)
  between:run(1)
  event:at(1, function(s)
    local v = s:port("osc.phases")
    for i = 1, 40 do v:set(kick[i], i) end
  end)
  event:run(2)
  local f = values(fresh:port("osc.phases"))
  tap.is(maxdiff(values(sched:port("osc.phases")), f), 0,
    "cache: a set scheduled mid-run (at_set) is seen: equals a fresh start from those phases")
  tap.is(maxdiff(values(event:port("osc.phases")), f), 0,
    "cache: writes through a port view from an event are seen")
  tap.is(maxdiff(values(between:port("osc.phases")), f), 0, "cache: a set between runs is seen")
  tap.is(sched:port("osc.order"):get(1), fresh:port("osc.order"):get(1), "cache: the order port agrees too")
end

-- An input port nobody drives and that holds zeros is not read (phase.c);
-- a constant input u set at t = 1 must act exactly like omega + u from then
-- on (the step adds omega_i + input_i first, so the bits agree).  The
-- reference changes omega through the model's own method, which does not
-- depend on the host's write counters.
do
  local P = { n = 40, k = 2, omega_dist = "gaussian", omega_width = 0.5, integrator = "euler" }
  local u = {}
  for i = 1, 40 do u[i] = 0.05 * ((i % 5) - 2) end
  local ref, osc = model(P, 0.01, 5)
  ref:run(1)
  local w = values(osc:call("omega"))
  for i = 1, 40 do w[i] = w[i] + u[i] end
  osc:call("set_omega", w)
  ref:run(1)
  local want = values(ref:port("osc.phases"))
  local sched, between = model(P, 0.01, 5), model(P, 0.01, 5)
  sched:at_set(1, "osc.input", u)
  sched:run(2)
  between:run(1)
  between:set("osc.input", u)
  between:run(1)
  tap.is(maxdiff(values(sched:port("osc.phases")), want), 0,
    "input set mid-run (at_set) acts as omega + input from that step, bit for bit")
  tap.is(maxdiff(values(between:port("osc.phases")), want), 0, "... and set between runs")
  local zero = {}
  for i = 1, 40 do zero[i] = 0 end
  local back = model(P, 0.01, 5)
  back:set("osc.input", u)
  back:at_set(1, "osc.input", zero)
  back:run(2)
  local ref2, osc2 = model(P, 0.01, 5)
  local w0, w2 = values(osc2:call("omega")), {}
  for i = 1, 40 do w2[i] = w0[i] + u[i] end
  osc2:call("set_omega", w2)
  ref2:run(1)
  osc2:call("set_omega", w0)
  ref2:run(1)
  tap.is(maxdiff(values(back:port("osc.phases")), values(ref2:port("osc.phases"))), 0,
    "input switched back to zeros mid-run stops acting, bit for bit")
end
tap.done()
