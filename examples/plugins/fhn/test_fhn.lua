-- test_fhn.lua - the fhn.pop model against theory, run by test.t through
-- `lamina run`.  Prints one "ok - ..." / "not ok - ..." line per check.
-- Classic parameters a = 0.7, b = 0.8, tau = 12.5 (FitzHugh 1961).
local lam = require "lamina"

local function check(good, what, detail)
  print((good and "ok - " or "not ok - ") .. what)
  if detail then print(detail) end
end
local a, b, tau = 0.7, 0.8, 12.5

local function make(dt, opts)
  local sim = lam.sim { dt = dt, seed = 1 }
  opts.n = opts.n or 1
  sim:add("m", "fhn.pop", opts)
  return sim
end

-- An independent reference: classical RK4 on the full system, in Lua.
local function reference(v, w, I, T, h)
  local function f(x, y) return x - x * x * x / 3 - y + I, (x + a - b * y) / tau end
  for _ = 1, math.floor(T / h + 0.5) do
    local k1v, k1w = f(v, w)
    local k2v, k2w = f(v + 0.5 * h * k1v, w + 0.5 * h * k1w)
    local k3v, k3w = f(v + 0.5 * h * k2v, w + 0.5 * h * k2w)
    local k4v, k4w = f(v + h * k3v, w + h * k3w)
    v = v + h / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
    w = w + h / 6 * (k1w + 2 * k2w + 2 * k3w + k4w)
  end
  return v, w
end

-- 1. The fixed point for I = 0: the method's (v*, w*) solves the cubic,
-- it is stable (Jacobian trace 1 - v*^2 - b/tau < 0, determinant
-- b/tau (1 - v*^2) + 1/tau > 0), and the simulation converges to it.
local sim = make(0.05, { v0 = 0, w0 = 0 })
local fp = sim:call("m", "fixed_point", lam.buf.from({ 0, 0.5 }, "f64")):ptr()
local vs, ws = fp[0], fp[1]
local resid = vs - vs ^ 3 / 3 - (vs + a) / b
check(math.abs(resid) < 1e-12 and math.abs(ws - (vs + a) / b) < 1e-15,
  "fixed_point(0) solves v - v^3/3 - (v + a)/b = 0", string.format("v* = %.15f, w* = %.15f", vs, ws))
local tr, det = 1 - vs * vs - b / tau, b / tau * (1 - vs * vs) + 1 / tau
check(tr < 0 and det > 0, "... and is stable (trace < 0, det > 0)", string.format("trace %.4f det %.4f", tr, det))
sim:run(1000) -- ms; the slowest mode decays like exp(trace/2 t): far below 1e-9 by then
local v, w = sim:port("m.v"):ptr()[0], sim:port("m.w"):ptr()[0]
-- Tolerance 1e-9: the decay alone leaves exp(-0.25 * 1000) of the start.
check(math.abs(v - vs) < 1e-9 and math.abs(w - ws) < 1e-9, "from (0, 0) the population settles on it",
  string.format("v %.12f vs %.12f, w %.12f vs %.12f", v, vs, w, ws))

-- 2. I = 0.5: the fixed point is unstable (trace > 0) and the orbit is a
-- limit cycle (Poincare-Bendixson: bounded, no stable rest point).
local v5 = fp[2]
local tr5 = 1 - v5 * v5 - b / tau
check(tr5 > 0, "for I = 0.5 the fixed point is unstable (trace > 0)", string.format("v* = %.6f, trace %.4f", v5, tr5))
local dt = 0.01
sim = make(dt, { I0 = 0.5 })
local rec = sim:record("m.v")
sim:run(1000)
local x = rec:data():ptr()
local ns = rec:count()
local ups, vmin, vmax = {}, math.huge, -math.huge
for i = 1, ns - 1 do
  if x[i - 1] < 0 and x[i] >= 0 then ups[#ups + 1] = (i - 1 + x[i - 1] / (x[i - 1] - x[i])) * dt end
  if i > ns / 2 then vmin, vmax = math.min(vmin, x[i]), math.max(vmax, x[i]) end
end
local periods = {}
for i = #ups - 5, #ups - 1 do periods[#periods + 1] = ups[i + 1] - ups[i] end
local spread = 0
for _, p in ipairs(periods) do spread = math.max(spread, math.abs(p - periods[1]) / periods[1]) end
-- 1e-6: a limit cycle repeats; a decaying or growing spiral would not.
check(#ups >= 10 and spread < 1e-6, "the last five periods agree to 1e-6 (a limit cycle)",
  string.format("%d cycles, period %.6f ms, spread %.2e", #ups, periods[#periods] or 0, spread))
check(vmax > 1.5 and vmin < -1.5, "relaxation oscillation: v swings beyond +-1.5",
  string.format("v in [%.3f, %.3f]", vmin, vmax))
-- The reference RK4 at h = 1e-3 gives the period too.
local function period_ref()
  local vv, ww, h, t, last, prev = -1.2, -0.625, 1e-3, 0, nil, nil
  local pv = vv
  while t < 1000 do
    vv, ww = reference(vv, ww, 0.5, h, h)
    t = t + h
    if pv < 0 and vv >= 0 then prev, last = last, t - h + h * (-pv) / (vv - pv) end
    pv = vv
  end
  return last - prev
end
local pref = period_ref()
-- Both integrators are accurate to ~1e-6 in the period at these steps.
check(math.abs(periods[#periods] - pref) < 1e-4 * pref, "the period matches a reference RK4 (h = 1e-3) to 1e-4",
  string.format("plugin %.6f ms, reference %.6f ms", periods[#periods], pref))

-- 3. Second order: halving dt divides the error at T = 20 by about 4.
local want = reference(-1, 1, 0.5, 20, 1e-4)
local function err_at(h)
  local s = make(h, { I0 = 0.5, v0 = -1, w0 = 1 })
  s:run(20)
  return math.abs(s:port("m.v"):ptr()[0] - want)
end
local e1, e2 = err_at(0.1), err_at(0.05)
check(e1 / e2 > 3.5 and e1 / e2 < 4.5, "second order: error(dt = 0.1) / error(dt = 0.05) is about 4",
  string.format("errors %.3e, %.3e, ratio %.3f", e1, e2, e1 / e2))
