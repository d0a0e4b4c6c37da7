-- lamina.data: generators for benchmark time series and task inputs.
--
--   local lam = require "lamina"
--   local mg     = lam.data.mackey_glass { n = 6000, tau = 17 }
--   local u, y   = lam.data.narma10 { n = 3000, seed = 3 }
--   local xyz    = lam.data.lorenz63 { n = 10000, dt = 0.01 }     -- [n, 3]
--   local t, names = lam.data.csv("trace.csv.gz")                 -- [rows, cols]
--   local img, lab = lam.data.digits()                   -- [1797, 64], [1797]
--
-- Every generator takes one table of options, checks each option (an
-- unknown key, a wrong type or a value out of range is a one-line error
-- naming the option, its value and the expected range) and returns f64
-- lamina buffers.  Row k (1-based) of a sampled series is the state at time
-- discard + (k - 1) * (sampling step); the first row is the state after the
-- transient, not a separate "initial" row.
--
-- Randomness (NARMA input, MC input, noisy Mackey–Glass history, label
-- permutations) comes from lam.rng(purpose, index, seed): deterministic
-- Philox streams, so the same seed gives the same series on every machine.
-- `seed` defaults to the run's root seed (lam.seed(), --seed).  The flows
-- (Lorenz, Rössler) and maps (Hénon, logistic) are deterministic given x0.
--
-- Equations, defaults and the reference statistics the tests check are in
-- docs/data.md.

local core = require "lamina.core"
local bufm = require "lamina.buf"
local floor, abs, sqrt = math.floor, math.abs, math.sqrt

local M = {}

-- Purposes of the random streams (distinct, so that e.g. a NARMA input and
-- an MC input drawn with the same seed are independent).
local PURPOSE = {
  mackey_glass = 0x6d670001, narma10 = 0x6e610001, memory_capacity = 0x6d630001,
  label_permutation = 0x6c700001,
}

local function rng(purpose, index, seed)
  -- Required lazily: "lamina" requires this module.
  return require("lamina").rng(purpose, index, seed)
end

local function fmt(v)
  if type(v) == "number" then
    local s = string.format("%.15g", v)
    if tonumber(s) ~= v then s = string.format("%.17g", v) end
    return s
  end
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

-- Option checking -----------------------------------------------------------

local Opts = {}
Opts.__index = Opts

local function options(fname, opts, valid)
  if type(opts) ~= "table" then
    core.fail("lam.data." .. fname .. ": expected a table of options, got " .. type(opts))
  end
  local ok = {}
  for _, k in ipairs(valid) do ok[k] = true end
  for k in pairs(opts) do
    if not ok[k] then
      table.sort(valid)
      core.fail("lam.data." .. fname .. ": unknown option '" .. tostring(k) .. "' (valid: " ..
        table.concat(valid, ", ") .. ")")
    end
  end
  return setmetatable({ f = fname, o = opts }, Opts)
end

function Opts:bad(key, v, expected)
  core.fail("lam.data." .. self.f .. ": " .. key .. "=" .. fmt(v) .. ": expected " .. expected)
end

-- A number option: spec.min/max (inclusive), spec.gt/lt (exclusive),
-- spec.int (integer), spec.desc overrides the range text.
function Opts:num(key, default, spec)
  local v = self.o[key]
  if v == nil then v = default end
  spec = spec or {}
  local parts = {}
  if spec.int then parts[#parts + 1] = "an integer" else parts[#parts + 1] = "a number" end
  if spec.gt then parts[#parts + 1] = "> " .. fmt(spec.gt) end
  if spec.min then parts[#parts + 1] = ">= " .. fmt(spec.min) end
  if spec.lt then parts[#parts + 1] = "< " .. fmt(spec.lt) end
  if spec.max then parts[#parts + 1] = "<= " .. fmt(spec.max) end
  local expected = spec.desc or table.concat(parts, " "):gsub("(%d) ([<>])", "%1 and %2")
  if v == nil then self:bad(key, v, expected .. " (required)") end
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then self:bad(key, v, expected) end
  if spec.int and v ~= floor(v) then self:bad(key, v, expected) end
  if (spec.gt and not (v > spec.gt)) or (spec.min and not (v >= spec.min))
    or (spec.lt and not (v < spec.lt)) or (spec.max and not (v <= spec.max)) then
    self:bad(key, v, expected)
  end
  return v
end

function Opts:seed()
  local v = self.o.seed
  if v == nil then return nil end
  if type(v) ~= "number" or v < 0 or v ~= floor(v) or v >= 2 ^ 53 then
    self:bad("seed", v, "a non-negative integer below 2^53")
  end
  return v
end

-- A state vector option: a table of `dim` finite numbers.
function Opts:vec(key, default, dim)
  local v = self.o[key]
  if v == nil then v = default end
  local expected = "a table of " .. dim .. " numbers"
  if type(v) ~= "table" or #v ~= dim then
    if type(v) == "table" then
      core.fail("lam.data." .. self.f .. ": " .. key .. " has " .. #v .. " entries: expected " .. expected)
    end
    self:bad(key, v, expected)
  end
  local out = {}
  for i = 1, dim do
    local x = v[i]
    if type(x) ~= "number" or x ~= x or abs(x) == math.huge then
      self:bad(key .. "[" .. i .. "]", x, "a finite number")
    end
    out[i] = x
  end
  return out
end

-- Number of integration steps per sample: `dt` split into `substeps` RK4 steps.
local function flow_common(o, dt_default)
  local n = o:num("n", nil, { int = true, min = 1 })
  local dt = o:num("dt", dt_default or 0.01, { gt = 0 })
  local sub = o:num("substeps", 1, { int = true, min = 1 })
  local discard = o:num("discard", 0, { int = true, min = 0, desc = "a non-negative integer (samples)" })
  return n, dt, sub, discard
end

-- Generic RK4 for an autonomous flow of dimension `dim`, rhs(s, ds) writing
-- ds from s (0-based double arrays).  Returns a [n, dim] buffer.
local ffi = core.ffi
local dvec = ffi.typeof("double[?]")
local function integrate(rhs, dim, x0, n, dt, sub, discard, fname)
  local out = bufm.new({ n, dim }, "f64")
  local p = out:ptr()
  local s, t, k1, k2, k3, k4 = dvec(dim), dvec(dim), dvec(dim), dvec(dim), dvec(dim), dvec(dim)
  for i = 0, dim - 1 do s[i] = x0[i + 1] end
  local h = dt / sub
  local h2, h6 = h / 2, h / 6
  local row = 0
  local total = discard + n
  for k = 0, total - 1 do
    if k >= discard then
      local base = row * dim
      for i = 0, dim - 1 do p[base + i] = s[i] end
      row = row + 1
      if row == n then break end
    end
    for _ = 1, sub do
      rhs(s, k1)
      for i = 0, dim - 1 do t[i] = s[i] + h2 * k1[i] end
      rhs(t, k2)
      for i = 0, dim - 1 do t[i] = s[i] + h2 * k2[i] end
      rhs(t, k3)
      for i = 0, dim - 1 do t[i] = s[i] + h * k3[i] end
      rhs(t, k4)
      for i = 0, dim - 1 do s[i] = s[i] + h6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) end
    end
    if s[0] ~= s[0] or abs(s[0]) == math.huge then
      core.fail("lam.data." .. fname .. ": the integration diverged at step " .. (k + 1) ..
        " (dt=" .. fmt(dt) .. ", substeps=" .. sub .. "); use a smaller step")
    end
  end
  return out
end

-- Mackey–Glass ----------------------------------------------------------------
--
--   dx/dt = beta * x(t - tau) / (1 + x(t - tau)^p) - gamma * x(t)
--
-- Defaults beta = 0.2, gamma = 0.1, p = 10, tau = 17 (chaotic; tau = 30 is
-- the harder variant).  History x(t) = x0 for t <= 0 (default 1.2), or
-- x0 + noise * U[-1, 1] on each grid point of [-tau, 0] (linear in between)
-- when noise > 0, drawn from lam.rng(PURPOSE, 0, seed).
--
-- Integration: classical RK4 with step dt_int (default 0.1) on the grid
-- t_k = k * dt_int.  The delayed values x(t_k - tau), x(t_k + dt_int/2 - tau)
-- and x(t_k + dt_int - tau) are interpolated from the stored grid values:
--   interp = "linear"  (default; the reference procedure of reservoir.md §2.3)
--   interp = "hermite" (cubic Hermite with the stored slopes f(x_k, x(t_k - tau))
--                       for t > 0; linear within the history t <= 0, which is
--                       piecewise linear by definition)
-- tau need not be a multiple of dt_int; it must be >= dt_int so that the
-- delayed values lie in the known past.  Only the last tau/dt_int + 2 grid
-- values are kept (a ring buffer), so long series cost O(tau/dt_int) memory.
--
-- Sampling: sample k (1-based) is x at t = discard + (k - 1) * sample.
-- `sample` (default 1.0) must be an integer multiple of dt_int (checked to
-- 1e-9 relative); `discard` (default 1000) is a transient in *time units*,
-- rounded to the integration grid, so that changing `sample` keeps the time
-- origin (sample = 0.5 gives the sample = 1.0 series at every other point,
-- bit for bit, when dt_int and discard agree).  The reference series
-- (dt_int 0.1, linear, sample 1.0, discard 1000, x0 1.2) has mean 0.929,
-- std 0.226, range [0.418, 1.318].
--
-- Returns a 1-d buffer of n samples.
function M.mackey_glass(opts)
  local o = options("mackey_glass", opts,
    { "n", "tau", "beta", "gamma", "p", "dt_int", "sample", "discard", "x0", "noise", "seed", "interp" })
  local n = o:num("n", nil, { int = true, min = 1 })
  local beta = o:num("beta", 0.2, { gt = 0 })
  local gamma = o:num("gamma", 0.1, { gt = 0 })
  local pw = o:num("p", 10, { gt = 0 })
  local h = o:num("dt_int", 0.1, { gt = 0, max = 1 })
  local tau = o:num("tau", 17, { min = h, desc = "a number >= dt_int (" .. fmt(h) .. ")" })
  local sample = o:num("sample", 1.0, { gt = 0 })
  local discard = o:num("discard", 1000, { min = 0 })
  local x0 = o:num("x0", 1.2, { gt = 0 })
  local noise = o:num("noise", 0, { min = 0, lt = x0, desc = "a number >= 0 and < x0 (" .. fmt(x0) .. ")" })
  local seed = o:seed()
  local interp = o.o.interp or "linear"
  if interp ~= "linear" and interp ~= "hermite" then o:bad("interp", interp, '"linear" or "hermite"') end
  local hermite = interp == "hermite"

  local m = floor(sample / h + 0.5)
  if m < 1 or abs(m * h - sample) > 1e-9 * sample then
    o:bad("sample", sample, "a positive integer multiple of dt_int=" .. fmt(h))
  end
  local d_steps = floor(discard / h + 0.5)

  -- Delay in grid units D = Di + Df; snap to an integer when within 1e-9.
  local D = tau / h
  if abs(D - floor(D + 0.5)) < 1e-9 then D = floor(D + 0.5) end
  local Di = floor(D)
  local Df = D - Di
  -- For c in {0, 1/2, 1}: the delayed point t_k + c*h - tau lies at grid
  -- index k - Di + off_c, fraction th_c.
  local function split(c)
    local a = c - Df
    local off = floor(a)
    return off, a - off
  end
  local off0, th0 = split(0)
  local offm, thm = split(0.5)
  local off1, th1 = split(1)

  -- Ring buffer of grid values x and slopes dx, indexed by k + base >= 0.
  local need = Di + 4
  local size = 1
  while size < need do size = size * 2 end
  local mask = size - 1
  local xs, ds = dvec(size), dvec(size)
  local base = Di + 2                      -- grid index -Di-2 maps to 0
  local band = bit.band
  if noise > 0 then
    local r = rng(PURPOSE.mackey_glass, 0, seed)
    for k = -Di - 2, 0 do xs[band(k + base, mask)] = x0 + noise * (2 * r:uniform() - 1) end
  else
    for k = -Di - 2, 0 do xs[band(k + base, mask)] = x0 end
  end
  for k = -Di - 2, 0 do ds[band(k + base, mask)] = 0 end

  local function delayed(k, off, th)
    local i0 = band(k - Di + off + base, mask)
    local i1 = band(k - Di + off + 1 + base, mask)
    local a, b = xs[i0], xs[i1]
    if th == 0 then return a end
    if hermite and k - Di + off >= 0 then   -- the history itself is piecewise linear
      local da, db = ds[i0], ds[i1]
      local t2, t3 = th * th, th * th * th
      return (2 * t3 - 3 * t2 + 1) * a + (t3 - 2 * t2 + th) * h * da
        + (-2 * t3 + 3 * t2) * b + (t3 - t2) * h * db
    end
    return a + th * (b - a)
  end

  local out = bufm.new(n, "f64")
  local p = out:ptr()
  local total = d_steps + (n - 1) * m
  local x = xs[band(base, mask)]
  local h2, h6 = h / 2, h / 6
  local row = 0
  local nextrec = d_steps
  for k = 0, total do
    if k == nextrec then
      p[row] = x
      row = row + 1
      nextrec = nextrec + m
      if row == n then break end
    end
    local z0 = delayed(k, off0, th0)
    local zm = delayed(k, offm, thm)
    local z1 = delayed(k, off1, th1)
    local fm = beta * zm / (1 + zm ^ pw)
    local k1 = beta * z0 / (1 + z0 ^ pw) - gamma * x
    local k2 = fm - gamma * (x + h2 * k1)
    local k3 = fm - gamma * (x + h2 * k2)
    local k4 = beta * z1 / (1 + z1 ^ pw) - gamma * (x + h * k3)
    ds[band(k + base, mask)] = k1
    x = x + h6 * (k1 + 2 * k2 + 2 * k3 + k4)
    xs[band(k + 1 + base, mask)] = x
  end
  return out
end

-- NARMA-10 (Atiya & Parlos 2000, as in Jaeger 2003) ------------------------------
--
--   u(t) ~ U[0, 0.5] i.i.d.
--   y(t+1) = 0.3 y(t) + 0.05 y(t) * sum_{i=0..9} y(t-i) + 1.5 u(t-9) u(t) + 0.1
--
-- with y(t) = 0 and u(t) = 0 for t < 0 (y = 0 initially).  The first
-- `discard` steps (default 200, the usual burn-in) are generated and thrown
-- away.  Returns u, y: two 1-d buffers of length n on the same time index,
-- u[j] = u(t), y[j] = y(t) for t = discard + j - 1, so the recursion holds
-- within the returned buffers for j >= 10 (1-based):
--   y[j+1] = 0.3 y[j] + 0.05 y[j] (y[j] + ... + y[j-9]) + 1.5 u[j-9] u[j] + 0.1
-- Task: feed u(t), predict y(t+1).  (ReservoirPy's narma(order=10) differs:
-- the sum runs over i = 1..10 and the input lag is 10; see reservoir.md §2.2.)
-- u is drawn from lam.rng(PURPOSE, 0, seed).
function M.narma10(opts)
  local o = options("narma10", opts, { "n", "seed", "discard" })
  local n = o:num("n", nil, { int = true, min = 1 })
  local discard = o:num("discard", 200, { int = true, min = 0 })
  local seed = o:seed()
  local total = discard + n
  local u, y = dvec(total + 1), dvec(total + 1)
  local r = rng(PURPOSE.narma10, 0, seed)
  for t = 0, total - 1 do u[t] = 0.5 * r:uniform() end
  y[0] = 0
  for t = 0, total - 2 do
    local s = 0
    for i = 0, 9 do
      if t - i >= 0 then s = s + y[t - i] end
    end
    local ulag = t >= 9 and u[t - 9] or 0
    y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * s + 1.5 * ulag * u[t] + 0.1
  end
  local ub, yb = bufm.new(n, "f64"), bufm.new(n, "f64")
  local pu, py = ub:ptr(), yb:ptr()
  for j = 0, n - 1 do
    pu[j] = u[discard + j]
    py[j] = y[discard + j]
  end
  return ub, yb
end

-- Lorenz-63 -------------------------------------------------------------------
--
--   dx/dt = sigma (y - x),  dy/dt = x (rho - z) - y,  dz/dt = x y - beta z
--
-- sigma = 10, rho = 28, beta = 8/3; x0 = {1, 1, 1}.  RK4 with step
-- dt / substeps, sampled every dt (default 0.01); the first `discard`
-- samples are dropped.  Returns [n, 3] (columns x, y, z).
function M.lorenz63(opts)
  local o = options("lorenz63", opts, { "n", "dt", "substeps", "discard", "sigma", "rho", "beta", "x0" })
  local n, dt, sub, discard = flow_common(o)
  local sigma = o:num("sigma", 10)
  local rho = o:num("rho", 28)
  local beta = o:num("beta", 8 / 3)
  local x0 = o:vec("x0", { 1, 1, 1 }, 3)
  local function rhs(s, d)
    local x, y, z = s[0], s[1], s[2]
    d[0] = sigma * (y - x)
    d[1] = x * (rho - z) - y
    d[2] = x * y - beta * z
  end
  return integrate(rhs, 3, x0, n, dt, sub, discard, "lorenz63")
end

-- Lorenz-96 -------------------------------------------------------------------
--
--   dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F,   i = 1..N, indices mod N
--
-- N = 36 (reservoir.md §2.4; 40 in Lorenz 1996), F = 8, N >= 4.  Default
-- x0: x_i = F with x_1 = F + 0.01.  RK4, sampling as for lorenz63.
-- Returns [n, N].
function M.lorenz96(opts)
  local o = options("lorenz96", opts, { "n", "dt", "substeps", "discard", "N", "F", "x0" })
  local n, dt, sub, discard = flow_common(o)
  local N = o:num("N", 36, { int = true, min = 4 })
  local F = o:num("F", 8)
  local def = {}
  for i = 1, N do def[i] = F end
  def[1] = F + 0.01
  local x0 = o:vec("x0", def, N)
  local function rhs(s, d)
    for i = 0, N - 1 do
      local ip1 = i + 1 == N and 0 or i + 1
      local im1 = i == 0 and N - 1 or i - 1
      local im2 = i < 2 and i + N - 2 or i - 2
      d[i] = (s[ip1] - s[im2]) * s[im1] - s[i] + F
    end
  end
  return integrate(rhs, N, x0, n, dt, sub, discard, "lorenz96")
end

-- Rössler ----------------------------------------------------------------------
--
--   dx/dt = -y - z,  dy/dt = x + a y,  dz/dt = b + z (x - c)
--
-- a = b = 0.2, c = 5.7; x0 = {1, 1, 1}; dt default 0.05.  RK4, sampling as
-- for lorenz63.  Returns [n, 3].
function M.rossler(opts)
  local o = options("rossler", opts, { "n", "dt", "substeps", "discard", "a", "b", "c", "x0" })
  local n, dt, sub, discard = flow_common(o, 0.05)
  local a = o:num("a", 0.2)
  local b = o:num("b", 0.2)
  local c = o:num("c", 5.7)
  local x0 = o:vec("x0", { 1, 1, 1 }, 3)
  local function rhs(s, d)
    local x, y, z = s[0], s[1], s[2]
    d[0] = -y - z
    d[1] = x + a * y
    d[2] = b + z * (x - c)
  end
  return integrate(rhs, 3, x0, n, dt, sub, discard, "rossler")
end

-- Hénon map ---------------------------------------------------------------------
--
--   x' = 1 - a x^2 + y,   y' = b x          a = 1.4, b = 0.3, x0 = {0, 0}
--
-- The first `discard` iterates (default 100) are dropped.  Returns [n, 2].
function M.henon(opts)
  local o = options("henon", opts, { "n", "a", "b", "x0", "discard" })
  local n = o:num("n", nil, { int = true, min = 1 })
  local a = o:num("a", 1.4)
  local b = o:num("b", 0.3)
  local x0 = o:vec("x0", { 0, 0 }, 2)
  local discard = o:num("discard", 100, { int = true, min = 0 })
  local out = bufm.new({ n, 2 }, "f64")
  local p = out:ptr()
  local x, y = x0[1], x0[2]
  for k = 0, discard + n - 1 do
    if k >= discard then
      local j = 2 * (k - discard)
      p[j], p[j + 1] = x, y
    end
    x, y = 1 - a * x * x + y, b * x
    if abs(x) > 1e100 then
      core.fail("lam.data.henon: the orbit escaped to infinity at iterate " .. (k + 1) ..
        " (a=" .. fmt(a) .. ", b=" .. fmt(b) .. ", x0={" .. fmt(x0[1]) .. ", " .. fmt(x0[2]) .. "})")
    end
  end
  return out
end

-- Logistic map ------------------------------------------------------------------
--
--   x' = r x (1 - x)          r in (0, 4] (default 3.9), x0 in [0, 1] (default 0.2)
--
-- The first `discard` iterates (default 0) are dropped.  Returns a 1-d
-- buffer.  At r = 4 the invariant density is 1/(pi sqrt(x (1 - x))), mean
-- 1/2, variance 1/8 (avoid x0 in {0, 1/2, 1}, which reach the fixed point 0).
function M.logistic(opts)
  local o = options("logistic", opts, { "n", "r", "x0", "discard" })
  local n = o:num("n", nil, { int = true, min = 1 })
  local r = o:num("r", 3.9, { gt = 0, max = 4 })
  local x = o:num("x0", 0.2, { min = 0, max = 1 })
  local discard = o:num("discard", 0, { int = true, min = 0 })
  local out = bufm.new(n, "f64")
  local p = out:ptr()
  for _ = 1, discard do x = r * x * (1 - x) end
  for k = 0, n - 1 do
    p[k] = x
    x = r * x * (1 - x)
  end
  return out
end

-- Memory capacity input (Jaeger 2001) ----------------------------------------------
--
--   u(t) ~ U[low, high] i.i.d.     (default U[-0.8, 0.8], as ReservoirPy)
--
-- With k_max given, also returns the targets [n, k_max]: column k holds
-- u(t - k), i.e. row j, column k = u[j - k] (1-based), 0 where j <= k; drop
-- at least k_max warm-up rows before fitting.  MC_k = squared correlation
-- between u(t - k) and the readout k on held-out data; MC = sum_k MC_k.
-- u is drawn from lam.rng(PURPOSE, 0, seed).
function M.memory_capacity_input(opts)
  local o = options("memory_capacity_input", opts, { "n", "seed", "low", "high", "k_max" })
  local n = o:num("n", nil, { int = true, min = 1 })
  local low = o:num("low", -0.8)
  local high = o:num("high", 0.8, { gt = low, desc = "a number > low (" .. fmt(low) .. ")" })
  local seed = o:seed()
  local kmax = opts.k_max and o:num("k_max", nil, { int = true, min = 1, lt = n,
    desc = "an integer >= 1 and < n (" .. n .. ")" })
  local u = bufm.new(n, "f64")
  local p = u:ptr()
  local r = rng(PURPOSE.memory_capacity, 0, seed)
  for i = 0, n - 1 do p[i] = low + (high - low) * r:uniform() end
  if not kmax then return u end
  local tg = bufm.new({ n, kmax }, "f64")
  local q = tg:ptr()
  for j = 0, n - 1 do
    for k = 1, kmax do
      if j - k >= 0 then q[j * kmax + k - 1] = p[j - k] end
    end
  end
  return u, tg
end

-- Label permutations for concept-shift experiments ----------------------------------
--
-- A schedule of n_phases permutations of n_classes labels: row p, column c
-- (1-based) is the label that class c carries during phase p (values
-- 1..n_classes, or 0..n_classes-1 with base = 0).  Phase 1 is the identity
-- unless identity_first = false.  Each later phase is a uniform random
-- permutation (Fisher–Yates on lam.rng(PURPOSE, phase, seed)), redrawn until
-- it differs from the previous phase; with derange = true it is redrawn
-- until every class changes label relative to the previous phase.
-- Returns an i32 buffer [n_phases, n_classes].
function M.label_permutation(opts)
  local o = options("label_permutation", opts,
    { "n_classes", "n_phases", "seed", "identity_first", "derange", "base" })
  local nc = o:num("n_classes", nil, { int = true, min = 2 })
  local np = o:num("n_phases", nil, { int = true, min = 1 })
  local seed = o:seed()
  local base = o:num("base", 1, { int = true, min = 0, max = 1 })
  local idf = opts.identity_first
  if idf == nil then idf = true end
  if type(idf) ~= "boolean" then o:bad("identity_first", idf, "true or false") end
  local der = opts.derange or false
  if type(der) ~= "boolean" then o:bad("derange", der, "true or false") end
  local out = bufm.new({ np, nc }, "i32")
  local q = out:ptr()
  local prev, cur = {}, {}
  for ph = 0, np - 1 do
    local r = rng(PURPOSE.label_permutation, ph, seed)
    local tries = 0
    repeat
      for i = 1, nc do cur[i] = i end
      if not (ph == 0 and idf) then
        for i = nc, 2, -1 do
          local j = 1 + floor(r:uniform() * i)
          if j > i then j = i end
          cur[i], cur[j] = cur[j], cur[i]
        end
      end
      local good = true
      if ph > 0 then
        local same, any = true, false
        for i = 1, nc do
          if cur[i] ~= prev[i] then same = false else any = true end
        end
        good = not same and not (der and any)
      end
      tries = tries + 1
      if tries > 100000 then core.fail("lam.data.label_permutation: no permutation found") end
    until good
    for i = 1, nc do
      q[ph * nc + i - 1] = cur[i] - 1 + base
      prev[i] = cur[i]
    end
  end
  return out
end

-- Files and datasets --------------------------------------------------------
-- Readers over core/idx.c and core/csv.c (plain or gzip'd files; every
-- malformed file is a one-line error naming file, line and column), and
-- the two datasets Debian ships as packages.

local C, ffi = core.C, core.ffi

local function path_arg(fname, path)
  if type(path) ~= "string" or path == "" then
    core.fail("lam.data." .. fname .. ": expected a file path, got " .. fmt(path))
  end
  return path
end

-- lam.data.idx(path): an IDX file (MNIST format), plain or .gz, as a buffer
-- of the header's shape: u8 stays u8, i8/i16/i32 become i32, f32 and f64 stay.
function M.idx(path)
  return bufm.wrap(C.lam_idx_load(path_arg("idx", path)))
end

local CSV_DELIMS = { [","] = 44, ["\t"] = 9, ["tab"] = 9, [";"] = 59, ["|"] = 124,
                     [":"] = 58, [" "] = 32 }

-- lam.data.csv(path, {header = nil|true|false, delimiter = nil|","|"\t"|";"|"|"|":"|" ",
-- dtype = "f64"|"f32"}): the numbers of a CSV/TSV file (plain or .gz) as a
-- [rows, columns] buffer, and the header's column names as a Lua table (nil
-- when the file has none).  header = nil detects a header (a first row with
-- a cell that is not a number); delimiter = nil detects it from the first row
-- (" " means runs of blanks, as np.savetxt writes).
function M.csv(path, opts)
  path_arg("csv", path)
  opts = opts or {}
  options("csv", opts, { "header", "delimiter", "dtype" })
  local o = ffi.new("lam_csv_opts")
  local h = opts.header
  if h == nil then o.header = C.LAM_CSV_HEADER_AUTO
  elseif h == true then o.header = C.LAM_CSV_HEADER_YES
  elseif h == false then o.header = C.LAM_CSV_HEADER_NO
  else core.fail("lam.data.csv: header=" .. fmt(h) .. ": expected true, false or nil (detect)") end
  local d = opts.delimiter
  if d ~= nil then
    o.delimiter = CSV_DELIMS[d] or core.fail("lam.data.csv: delimiter=" .. fmt(d) ..
      ": expected one of \",\" \"\\t\" \";\" \"|\" \":\" \" \" (or nil to detect)")
  end
  local dt = opts.dtype
  if dt == nil or dt == "f64" then o.dtype = C.LAM_F64
  elseif dt == "f32" then o.dtype = C.LAM_F32
  else core.fail("lam.data.csv: dtype=" .. fmt(dt) .. ": expected \"f64\" or \"f32\"") end
  local names = ffi.new("char *[1]")
  local b = bufm.wrap(C.lam_csv_load(path, o, names))
  local cols
  if names[0] ~= nil then
    local s = ffi.string(names[0])
    C.lam_csv_free_names(names[0])
    cols = {}
    for name in (s .. "\n"):gmatch("(.-)\n") do cols[#cols + 1] = name end
  end
  return b, cols
end

local function first_file(paths)
  for _, p in ipairs(paths) do
    local f = io.open(p, "rb")
    if f then f:close() return p end
  end
end

-- Where Debian's python3-sklearn keeps the 8x8 digits (one row per image:
-- 64 pixel values 0..16, then the label).
local DIGITS = { "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz" }

-- lam.data.digits{path = nil}: the 1797 8x8 handwritten digits of
-- scikit-learn (UCI optdigits test set) -> images f64 [1797, 64] (row-major
-- 8x8, values 0..16) and labels i32 [1797] (0..9).
function M.digits(opts)
  opts = opts or {}
  options("digits", opts, { "path" })
  local path = opts.path and path_arg("digits", opts.path) or first_file(DIGITS)
  if not path then
    core.fail("lam.data.digits: scikit-learn's digits.csv.gz not found (looked in " ..
      table.concat(DIGITS, ", ") .. "); install Debian's python3-sklearn " ..
      "(apt-get install python3-sklearn) or pass {path = ...}")
  end
  local t = M.csv(path, { header = false, delimiter = "," })
  local shape = t:shape()
  if shape[2] ~= 65 then
    core.fail("lam.data.digits: " .. path .. ": " .. shape[2] ..
      " columns, expected 65 (64 pixels and the label)")
  end
  return t:slice(1, 64, 1, 2):copy("f64"), t:col(65):copy("i32")
end

local FASHION_DIR = "/usr/share/datasets/fashion-mnist"

-- lam.data.fashion_mnist{split = "train"|"test", dir = nil}: Zalando's
-- Fashion-MNIST from Debian's dataset-fashion-mnist -> images u8 [n, 28, 28]
-- (0..255) and labels i32 [n] (0..9); n = 60000 (train) or 10000 (test).
function M.fashion_mnist(opts)
  opts = opts or {}
  local o = options("fashion_mnist", opts, { "split", "dir" })
  local split = opts.split or "train"
  if split ~= "train" and split ~= "test" then o:bad("split", split, "\"train\" or \"test\"") end
  local dir = opts.dir and path_arg("fashion_mnist", opts.dir) or FASHION_DIR
  local stem = dir .. "/" .. (split == "train" and "train" or "t10k")
  local img, lab = stem .. "-images-idx3-ubyte.gz", stem .. "-labels-idx1-ubyte.gz"
  for _, p in ipairs { img, lab } do
    if not first_file { p } then
      core.fail("lam.data.fashion_mnist: " .. p .. " not found; install Debian's " ..
        "dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass {dir = ...}")
    end
  end
  local images, labels = M.idx(img), M.idx(lab)
  local n = images:shape()[1]
  if images:ndim() ~= 3 or labels:ndim() ~= 1 or labels:shape()[1] ~= n then
    core.fail("lam.data.fashion_mnist: " .. img .. " and " .. lab ..
      " do not match (expected [n, 28, 28] images and [n] labels)")
  end
  return images, labels:copy("i32")
end

return M
