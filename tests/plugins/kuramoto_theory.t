#!/usr/bin/env luajit
-- tests/plugins/kuramoto_theory.t - kuramoto.phase against the analytic
-- large-N results of the reference (section 1.13): T1-T8, T10, T11.
-- Setup as in the reference unless stated: all-to-all K/N (mean field),
-- Euler, dt = 0.01, N = 10^4 quantile-sampled omega, r averaged over the
-- second half of the run.  Starts are wrapped-Cauchy quantiles (r0), which
-- the OA theory describes exactly, so short runs suffice.  Tolerances are
-- the reference's suggested ones, stated in each check.
local tap = require "tap"
local lam = require "lamina"
tap.plan(18)

local PI = math.pi
local N = 10000

local function run(params, T, dt, seed)
  params.n = params.n or N
  params.integrator = params.integrator or "euler"
  local sim = lam.sim { dt = dt or 0.01, seed = seed or 1 }
  sim:add("osc", "kuramoto.phase", params)
  local rec = sim:record("osc.z")
  sim:run(T)
  return sim, rec
end

-- r(t) (sample s is the state at time s dt) and the unwrapped psi(t).
local function series(rec)
  local d, n = rec:data(), rec:count()
  local r, psi, off = {}, {}, 0
  for s = 1, n do
    local x, y = d:get(s, 1), d:get(s, 2)
    r[s] = math.sqrt(x * x + y * y)
    local p = math.atan2(y, x)
    if s > 1 then
      local dd = p + off - psi[s - 1]
      if dd < -PI then off = off + 2 * PI elseif dd > PI then off = off - 2 * PI end
    end
    psi[s] = p + off
  end
  return r, psi
end

local function mean_half(x)
  local s, c = 0, 0
  for i = math.floor(#x / 2) + 1, #x do s, c = s + x[i], c + 1 end
  return s / c
end

local function slope_half(psi, dt)
  local a = math.floor(#psi / 2)
  return (psi[#psi] - psi[a]) / ((#psi - a) * dt)
end

-- ---------------------------------------------------------------------
-- T1, T2, T5, T6 from one run: Lorentzian D = 1, K = 4, r0 = 0.1.
-- ---------------------------------------------------------------------
do
  local sim = lam.sim { dt = 0.01, seed = 1 }
  local osc = sim:add("osc", "kuramoto.phase", { n = N, k = 4, omega_dist = "lorentzian", omega_width = 1,
    integrator = "euler", theta_init = "wrapped_cauchy", r0 = 0.1 })
  local rec = sim:record("osc.z")
  sim:run(10)
  -- T6: follow the unlocked oscillator with omega nearest 5.003 over [10, 20]
  local om = osc:call("omega")
  local j, best = 0, 1e9
  for i = 1, N do
    if math.abs(om:get(i) - 5.003) < best then j, best = i, math.abs(om:get(i) - 5.003) end
  end
  local th10 = sim:port("osc.phases"):copy()
  local rel, t = {}, {}
  local phases, z = sim:port("osc.phases"), sim:port("osc.z")
  for s = 1, 1000 do
    sim:run(0.01)
    rel[s] = phases:get(j) - math.atan2(z:get(2), z:get(1))
    t[s] = 10 + s * 0.01
  end
  local r, psi = series(rec)
  local K = 4
  tap.near(mean_half(r), math.sqrt(1 - 2 / K), 0.01, "T1 Lorentzian D = 1, K = 4: r = sqrt(1 - 2D/K) = 0.70711 (0.01)")
  local rinf2 = 1 - 2 / K
  for _, tt in ipairs { 1, 3, 5 } do
    local want = math.sqrt(rinf2 / (1 + (rinf2 / 0.01 - 1) * math.exp(-(K - 2) * tt)))
    tap.near(r[math.floor(tt / 0.01 + 0.5)], want, 0.02, string.format("T2 OA transient r(%g) = %.4f (0.02)", tt, want))
  end
  -- T5: locked fraction from effective frequencies over [10, 20]
  local th20, Om = sim:port("osc.phases"), slope_half(psi, 0.01)
  local locked = 0
  for i = 1, N do
    if math.abs((th20:get(i) - th10:get(i)) / 10 - Om) < 0.05 then locked = locked + 1 end
  end
  tap.near(locked / N, 2 / PI * math.atan(K * math.sqrt(rinf2) / 1), 0.005,
    "T5 locked fraction (2/pi) atan(K r/D) = 0.78365 (0.005)")
  -- T6: drift frequency from whole cycles of theta_j - psi (unwrapped)
  local off = 0
  for s = 2, #rel do
    local dd = rel[s] + off - rel[s - 1]
    if dd < -PI then off = off + 2 * PI elseif dd > PI then off = off - 2 * PI end
    rel[s] = rel[s] + off
  end
  local cr = {}
  for s = 2, #rel do
    local a, b = rel[s - 1] / (2 * PI), rel[s] / (2 * PI)
    if math.floor(a) ~= math.floor(b) then
      cr[#cr + 1] = t[s - 1] + (math.floor(math.max(a, b)) - a) / (b - a) * 0.01
    end
  end
  local drift = 2 * PI * (#cr - 1) / (cr[#cr] - cr[1])
  local rm = mean_half(r)
  tap.near(drift, math.sqrt(om:get(j) ^ 2 - (K * rm) ^ 2), 0.01,
    string.format("T6 drift of omega = %.4f: sqrt(w^2 - (K r)^2) with the measured r (0.01)", om:get(j)))
end

do
  local _, rec = run({ k = 3, omega_dist = "lorentzian", omega_width = 1, theta_init = "wrapped_cauchy", r0 = 0.5 }, 30)
  local r = series(rec)
  tap.near(mean_half(r), math.sqrt(1 / 3), 0.01, "T1 Lorentzian K = 3: r = 0.57735 (0.01)")
end

-- T3: Gaussian sigma = 1, K = 3: r from 1 = K int cos^2 u g(K r sin u) du.
do
  local function F(r, K)
    local s, m = 0, 2000
    for i = 0, m do
      local u = -PI / 2 + PI * i / m
      local w = (i == 0 or i == m) and 0.5 or 1
      local x = K * r * math.sin(u)
      s = s + w * math.cos(u) ^ 2 * math.exp(-x * x / 2) / math.sqrt(2 * PI)
    end
    return K * s * PI / m - 1
  end
  local lo, hi = 0.5, 1
  for _ = 1, 60 do
    local mid = (lo + hi) / 2
    if F(mid, 3) > 0 then lo = mid else hi = mid end
  end
  tap.near(lo, 0.92518, 1e-4, "T3 self-consistency solved here gives the reference's 0.92518")
  local _, rec = run({ k = 3, omega_dist = "gaussian", omega_width = 1, theta_init = "wrapped_cauchy", r0 = 0.9 }, 20)
  tap.near(mean_half(series(rec)), lo, 0.01, "T3 Gaussian sigma = 1, K = 3: r = 0.92518 (0.01)")
end

-- T4: uniform on [-1, 1], K = 1.5: r = 0.89861.
do
  local _, rec = run({ k = 1.5, omega_dist = "uniform", omega_width = 1, theta_init = "wrapped_cauchy", r0 = 0.9 }, 30)
  tap.near(mean_half(series(rec)), 0.89861, 0.02, "T4 uniform g = 1, K = 1.5: r = 0.89861 (0.02)")
end

-- T7: Sakaguchi alpha = 0.3, K = 4, D = 1.
do
  local _, rec = run({ k = 4, alpha = 0.3, omega_dist = "lorentzian", omega_width = 1, omega0 = 0.5,
    theta_init = "wrapped_cauchy", r0 = 0.6 }, 20)
  local r, psi = series(rec)
  tap.near(mean_half(r), math.sqrt(1 - 2 / (4 * math.cos(0.3))), 0.01, "T7 Sakaguchi: r^2 = 1 - 2D/(K cos a) = 0.69038 (0.01)")
  tap.near(slope_half(psi, 0.01) - 0.5, -4 * math.sin(0.3) + math.tan(0.3), 0.01,
    "T7 Sakaguchi: Omega - w0 = -K sin a + D tan a = -0.87275 (0.01)")
end

-- T8: identical oscillators with noise D = 1, K = 4: r = I1(Kr/D)/I0(Kr/D).
do
  local function I(nu, x) -- modified Bessel function by its series
    local s, term = 0, (x / 2) ^ nu / (nu == 0 and 1 or 1)
    for k = 0, 200 do
      if k > 0 then term = term * (x / 2) ^ 2 / (k * (k + nu)) end
      s = s + term
    end
    return s
  end
  local r = 0.9
  for _ = 1, 200 do r = I(1, 4 * r) / I(0, 4 * r) end
  tap.near(r, 0.83146, 1e-4, "T8 self-consistency solved here gives the reference's 0.83146")
  local _, rec = run({ n = 5000, k = 4, noise = 1, theta_init = "zero" }, 20)
  tap.near(mean_half(series(rec)), r, 0.01, "T8 K/D = 4: r = I1/I0 = 0.83146 (0.01, N = 5000)")
end

-- T10: uniform delay tau = 0.3 + Lorentzian: r^2 = 1 - 2D/(K cos W tau),
-- W = w0 - (K/2)(1 + r^2) sin(W tau), solved here by iteration.
do
  local w0, D, K, tau = 1, 0.5, 3, 0.3
  local W, r2 = w0, 0.5
  for _ = 1, 500 do
    r2 = 1 - 2 * D / (K * math.cos(W * tau))
    W = 0.5 * W + 0.5 * (w0 - K / 2 * (1 + r2) * math.sin(W * tau))
  end
  local dt = 0.002 -- the delayed coupling is read once per step (O(dt)); N = 4000
  local _, rec = run({ n = 4000, k = K, omega_dist = "lorentzian", omega_width = D, omega0 = w0, delay = math.floor(tau / dt + 0.5),
    theta_init = "wrapped_cauchy", r0 = 0.7 }, 16, dt)
  local r, psi = series(rec)
  tap.near(mean_half(r), math.sqrt(r2), 0.005, string.format("T10 delay + Lorentzian: r = %.5f (0.005)", math.sqrt(r2)))
  tap.near(slope_half(psi, dt), W, 0.005, string.format("T10 delay + Lorentzian: Omega = %.5f (0.005)", W))
end

-- T11: higher order, D = 1, K1 = 1.5, K2 = K3 = 4: bistable.  Upper root
-- of 0 = -D + (K1/2)(1 - x) + ((K2 + K3)/2) x (1 - x), x = r^2.
do
  local a, b, c = -4, 3.25, -0.25 -- -4x^2 + 3.25x - 0.25 = 0
  local x = (-b - math.sqrt(b * b - 4 * a * c)) / (2 * a)
  local _, rec = run({ k = 1.5, k2 = 4, k3 = 4, omega_dist = "lorentzian", omega_width = 1,
    theta_init = "wrapped_cauchy", r0 = 0.6 }, 20)
  tap.near(mean_half(series(rec)), math.sqrt(x), 0.01, string.format("T11 from r0 = 0.6: upper branch r = %.4f (0.01)", math.sqrt(x)))
  local _, rec2 = run({ k = 1.5, k2 = 4, k3 = 4, omega_dist = "lorentzian", omega_width = 1,
    theta_init = "wrapped_cauchy", r0 = 0.2 }, 20)
  tap.ok(mean_half(series(rec2)) < 0.05, "T11 from r0 = 0.2 (below the unstable root 0.293): decays to incoherence (r < 0.05)")
end
tap.done()
