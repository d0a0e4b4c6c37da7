-- lamina.readout: trainable linear readouts for reservoirs (docs/reservoir.md).
--
--   local lam = require "lamina"
--   local r = lam.readout.ridge { ridge = 1e-6 }        -- bias on, not regularised
--   r:accumulate(X1, Y1); r:accumulate(X2, Y2)           -- streaming, f64 statistics
--   r:solve()                                            -- LAPACK Cholesky
--   local Yhat = r:predict(Xtest)                        -- [T, outputs]
--   esn:call("set_readout", r.W, r.b)                    -- closed loop / generation
--
-- X is [T, d] (f64 or f32), Y is [T, o] or [T] (one output).  Online
-- readouts (rls, lms, three_factor) update one row at a time; logistic
-- is multinomial (softmax) regression for classification.  Reducers turn
-- a sequence of states into one feature vector (last, mean) and vote
-- combines per-step class predictions.
local core = require "lamina.core"
local bufm = require "lamina.buf"
local ffi, C = core.ffi, core.C
local exp, sqrt, huge = math.exp, math.sqrt, math.huge

local M = {}

local function opts_check(fname, opts, valid)
  opts = opts or {}
  if type(opts) ~= "table" then core.fail(fname .. ": expected a table of options") end
  local ok = {}
  for _, k in ipairs(valid) do ok[k] = true end
  for k in pairs(opts) do
    if not ok[k] then core.fail(fname .. ": unknown option '" .. tostring(k) .. "' (valid: " .. table.concat(valid, ", ") .. ")") end
  end
  return opts
end

local function num(fname, o, key, default, lo, strict)
  local v = o[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or (strict and not (v > lo)) or (not strict and lo and v < lo) then
    core.fail(string.format("%s: %s = %s, expected a number %s %s", fname, key, tostring(v), strict and ">" or ">=", tostring(lo)))
  end
  return v
end

-- A [T, k] f64/f32 matrix from a buffer or a 1-d buffer ([T] -> [T, 1]).
local function as_matrix(x, what)
  if not bufm.is(x) then core.fail(what .. ": expected a buffer, got " .. type(x)) end
  local dt = x:dtype()
  if dt ~= "f64" and dt ~= "f32" then x = x:copy("f64") end
  if x:ndim() == 1 then return x:reshape_view({ x:size(), 1 }) end
  if x:ndim() ~= 2 then core.fail(what .. ": expected [T, features] or [T], got " .. x:ndim() .. " dimensions") end
  if not x:is_contiguous() then x = x:copy() end
  return x
end
M.as_matrix = as_matrix

-- Rows from+1 .. T of X (warm-up dropped).
local function drop(x, k)
  if not k or k == 0 then return x end
  local T = x:shape()[1]
  if k >= T then core.fail("warmup = " .. k .. " drops all " .. T .. " rows") end
  return x:rows(k + 1, T)
end

-- ---------------------------------------------------------------- Ridge

local Ridge = {}
Ridge.__index = Ridge

-- lam.readout.ridge{ ridge = 0, bias = true }
function M.ridge(opts)
  local o = opts_check("ridge", opts, { "ridge", "bias" })
  local self = setmetatable({ lambda = num("ridge", o, "ridge", 0, 0), bias = o.bias ~= false, count = 0 }, Ridge)
  return self
end

function Ridge:reset()
  self.xtx, self.xty, self.xs, self.ys, self.count = nil, nil, nil, nil, 0
  return self
end

-- r:accumulate(X, Y [, { warmup = k }]): adds the rows of one sequence.
function Ridge:accumulate(X, Y, opt)
  X, Y = as_matrix(X, "ridge: X"), as_matrix(Y, "ridge: Y")
  local w = opt and opt.warmup or 0
  X, Y = drop(X, w), drop(Y, w)
  local T, d = X:shape()[1], X:shape()[2]
  local o = Y:shape()[2]
  if Y:shape()[1] ~= T then
    core.fail(string.format("ridge: X has %d rows but Y has %d", T, Y:shape()[1]))
  end
  if not self.xtx then
    self.d, self.o = d, o
    self.xtx, self.xty = bufm.new({ d, d }), bufm.new({ d, o })
    if self.bias then self.xs, self.ys = bufm.new(d), bufm.new(o) end
  elseif d ~= self.d or o ~= self.o then
    core.fail(string.format("ridge: X is [%d, %d] and Y [%d, %d], but earlier blocks had %d features and %d outputs",
      T, d, T, o, self.d, self.o))
  end
  core.check(C.lam_la_accumulate(self.xtx._b, self.xty._b, self.xs and self.xs._b or nil,
    self.ys and self.ys._b or nil, X._b, Y._b), "ridge")
  self.count = self.count + T
  return self
end

-- r:solve([ridge]): W [d, o] and b [o] from the statistics so far.
function Ridge:solve(lambda)
  if not self.xtx then core.fail("ridge: solve before any accumulate") end
  lambda = lambda or self.lambda
  if type(lambda) ~= "number" or not (lambda >= 0) then core.fail("ridge: ridge = " .. tostring(lambda) .. ", expected a number >= 0") end
  self.W = bufm.new({ self.d, self.o })
  self.b = self.bias and bufm.new(self.o) or nil
  core.check(C.lam_la_ridge(self.xtx._b, self.xty._b, self.xs and self.xs._b or nil, self.ys and self.ys._b or nil,
    self.count, lambda, self.W._b, self.b and self.b._b or nil), "ridge")
  return self
end

-- r:fit(X, Y [, opt]): reset, accumulate, solve.  X/Y may also be lists of
-- sequences ({X1, X2, ...}, {Y1, Y2, ...}), each with its warm-up dropped.
function Ridge:fit(X, Y, opt)
  self:reset()
  if type(X) == "table" and not bufm.is(X) then
    if type(Y) ~= "table" or #X ~= #Y then core.fail("ridge: fit needs as many target sequences as state sequences") end
    for i = 1, #X do self:accumulate(X[i], Y[i], opt) end
  else
    self:accumulate(X, Y, opt)
  end
  return self:solve()
end

local function predict(W, b, X, what)
  X = as_matrix(X, what)
  local d = W:shape()[1]
  if X:shape()[2] ~= d then
    core.fail(string.format("%s: X has %d features, the readout was trained on %d", what, X:shape()[2], d))
  end
  local out = bufm.new({ X:shape()[1], W:shape()[2] })
  core.check(C.lam_la_affine(out._b, X._b, W._b, b and b._b or nil), what)
  return out
end

function Ridge:predict(X)
  if not self.W then core.fail("ridge: predict before solve") end
  return predict(self.W, self.b, X, "ridge: predict")
end

-- ---------------------------------------------------------- online helpers

-- Common state of the online readouts: W [d, o] and b [o] as Lua-visible
-- f64 buffers, y = W^T x + b.
local function online_new(cls, fname, o, extra)
  local d = o.inputs
  local k = o.outputs or 1
  if type(d) ~= "number" or d < 1 or d ~= math.floor(d) then core.fail(fname .. ": inputs = " .. tostring(d) .. ", expected an integer >= 1") end
  if type(k) ~= "number" or k < 1 or k ~= math.floor(k) then core.fail(fname .. ": outputs = " .. tostring(k) .. ", expected an integer >= 1") end
  local self = setmetatable({ d = d, o = k, bias = o.bias ~= false }, cls)
  self.W, self.b = bufm.new({ d, k }), bufm.new(k)
  self.yh = ffi.new("double[?]", k)
  self.e = ffi.new("double[?]", k)
  for key, v in pairs(extra or {}) do self[key] = v end
  return self
end

-- x (a row pointer) -> prediction into self.yh
local function online_out(self, xp)
  local W, b, d, k, yh = self.W:ptr(), self.b:ptr(), self.d, self.o, self.yh
  for j = 0, k - 1 do yh[j] = b[j] end
  for i = 0, d - 1 do
    local xi = xp[i]
    if xi ~= 0 then
      local row = i * k
      for j = 0, k - 1 do yh[j] = yh[j] + W[row + j] * xi end
    end
  end
end

-- Row pointers of X [T, d] and Y [T, o] (f64), checked against the readout.
local function online_rows(self, X, Y, what)
  X = as_matrix(X, what .. ": X"):copy("f64")
  if X:shape()[2] ~= self.d then
    core.fail(string.format("%s: X has %d features, the readout has inputs = %d", what, X:shape()[2], self.d))
  end
  if Y then
    Y = as_matrix(Y, what .. ": Y"):copy("f64")
    if Y:shape()[2] ~= self.o or Y:shape()[1] ~= X:shape()[1] then
      core.fail(string.format("%s: Y is [%d, %d], expected [%d, %d]", what, Y:shape()[1], Y:shape()[2], X:shape()[1], self.o))
    end
  end
  return X, Y
end

-- readout:fit(X, Y): one update per row, in order; returns the
-- predictions made before each update, [T, o] (the "a priori" outputs).
local function online_fit(self, X, Y, gate)
  X, Y = online_rows(self, X, Y, self.kind .. ": fit")
  local T = X:shape()[1]
  local out = bufm.new({ T, self.o })
  local xp, yp, op = X:ptr(), Y:ptr(), out:ptr()
  for t = 0, T - 1 do
    self:update(xp + t * self.d, yp + t * self.o, gate and gate[t + 1])
    for j = 0, self.o - 1 do op[t * self.o + j] = self.yh[j] end
  end
  return out
end

local function online_predict(self, X)
  local Xc = online_rows(self, X, nil, self.kind .. ": predict")
  return predict(self.W, self.b, Xc, self.kind .. ": predict")
end

-- ------------------------------------------------------------- RLS / FORCE

local RLS = { kind = "rls" }
RLS.__index = RLS
RLS.fit, RLS.predict = online_fit, online_predict

-- lam.readout.rls{ inputs = d, outputs = o, alpha = 1, forget = 1, bias = true }
-- P0 = I/alpha over [x; 1]; P <- (P - k k^T / (lambda + x^T P x)) / lambda
-- with k = P x; W <- W - k e^T/(lambda + x^T P x), e = prediction - target.
function M.rls(opts)
  local o = opts_check("rls", opts, { "inputs", "outputs", "alpha", "forget", "bias" })
  local alpha = num("rls", o, "alpha", 1, 0, true)
  local lam = num("rls", o, "forget", 1, 0, true)
  if lam > 1 then core.fail("rls: forget = " .. lam .. ", expected a number in (0, 1]") end
  local self = online_new(RLS, "rls", o, { forget = lam })
  local n = self.d + (self.bias and 1 or 0)
  self.n = n
  self.P = ffi.new("double[?]", n * n)
  for i = 0, n - 1 do self.P[i * n + i] = 1 / alpha end
  self.z = ffi.new("double[?]", n)
  self.k = ffi.new("double[?]", n)
  return self
end

-- f:update(x, y): x, y are row pointers (or buffers); returns the error
-- pointer e = prediction - target (before the update).
function RLS:update(x, y)
  if bufm.is(x) then x = x:copy("f64"):ptr() end
  if bufm.is(y) then y = y:copy("f64"):ptr() end
  local n, d, k, P, z, kv = self.n, self.d, self.o, self.P, self.z, self.k
  for i = 0, d - 1 do z[i] = x[i] end
  if self.bias then z[d] = 1 end
  online_out(self, z)
  local den = self.forget
  for i = 0, n - 1 do
    local s = 0
    for j = 0, n - 1 do s = s + P[i * n + j] * z[j] end
    kv[i] = s
    den = den + z[i] * s
  end
  local W, b, e = self.W:ptr(), self.b:ptr(), self.e
  for j = 0, k - 1 do e[j] = self.yh[j] - y[j] end
  for i = 0, d - 1 do
    local g = kv[i] / den
    for j = 0, k - 1 do W[i * k + j] = W[i * k + j] - g * e[j] end
  end
  if self.bias then
    local g = kv[d] / den
    for j = 0, k - 1 do b[j] = b[j] - g * e[j] end
  end
  local il = 1 / self.forget
  for i = 0, n - 1 do
    local ki = kv[i] / den
    for j = 0, n - 1 do P[i * n + j] = (P[i * n + j] - ki * kv[j]) * il end
  end
  return e
end

-- ---------------------------------------------------------------------- LMS

local LMS = { kind = "lms" }
LMS.__index = LMS
LMS.fit, LMS.predict = online_fit, online_predict

-- lam.readout.lms{ inputs, outputs, rate = 1e-3, bias = true }:
-- W <- W - rate x e^T, b <- b - rate e, e = prediction - target.
function M.lms(opts)
  local o = opts_check("lms", opts, { "inputs", "outputs", "rate", "bias" })
  return online_new(LMS, "lms", o, { rate = num("lms", o, "rate", 1e-3, 0, true) })
end

function LMS:update(x, y)
  if bufm.is(x) then x = x:copy("f64"):ptr() end
  if bufm.is(y) then y = y:copy("f64"):ptr() end
  online_out(self, x)
  local W, b, e, k, a = self.W:ptr(), self.b:ptr(), self.e, self.o, self.rate
  for j = 0, k - 1 do e[j] = self.yh[j] - y[j] end
  for i = 0, self.d - 1 do
    local ax = a * x[i]
    for j = 0, k - 1 do W[i * k + j] = W[i * k + j] - ax * e[j] end
  end
  if self.bias then for j = 0, k - 1 do b[j] = b[j] - a * e[j] end end
  return e
end

-- ------------------------------------------------------- three-factor rule

local TF = { kind = "three_factor" }
TF.__index = TF
TF.predict = online_predict
function TF:fit(X, Y, gate)
  if gate ~= nil and type(gate) ~= "table" then core.fail("three_factor: fit's gate must be a table of numbers, one per row") end
  return online_fit(self, X, Y, gate)
end

-- lam.readout.three_factor{ inputs, outputs, rate = 1e-3, output = "linear"|"tanh", bias = true }
-- Online, local and gated: dW_ij = rate * m * (target_j - y_j) * x_i * f'(y_j),
-- the product of a third factor m (a gate or neuromodulator, default 1),
-- the postsynaptic error term and the presynaptic activity.
function M.three_factor(opts)
  local o = opts_check("three_factor", opts, { "inputs", "outputs", "rate", "output", "bias" })
  local out = o.output or "linear"
  if out ~= "linear" and out ~= "tanh" then core.fail("three_factor: output = " .. tostring(out) .. ", expected \"linear\" or \"tanh\"") end
  return online_new(TF, "three_factor", o, { rate = num("three_factor", o, "rate", 1e-3, 0, true), squash = out == "tanh" })
end

function TF:update(x, y, m)
  if bufm.is(x) then x = x:copy("f64"):ptr() end
  if bufm.is(y) then y = y:copy("f64"):ptr() end
  m = m or 1
  online_out(self, x)
  local W, b, e, k, yh = self.W:ptr(), self.b:ptr(), self.e, self.o, self.yh
  for j = 0, k - 1 do
    local post = 1
    if self.squash then
      yh[j] = math.tanh(yh[j])
      post = 1 - yh[j] * yh[j]
    end
    e[j] = (y[j] - yh[j]) * post * m * self.rate
  end
  if m ~= 0 then
    for i = 0, self.d - 1 do
      local xi = x[i]
      for j = 0, k - 1 do W[i * k + j] = W[i * k + j] + e[j] * xi end
    end
    if self.bias then for j = 0, k - 1 do b[j] = b[j] + e[j] end end
  end
  return e
end

function TF:predict_online(X)
  local out = online_predict(self, X)
  if self.squash then
    local p = out:ptr()
    for i = 0, out:size() - 1 do p[i] = math.tanh(p[i]) end
  end
  return out
end

-- ------------------------------------------- logistic / softmax regression

local Logit = {}
Logit.__index = Logit

-- lam.readout.logistic{ classes = k, ridge = 1e-4, rate = 0.5, epochs = 200, bias = true }
-- Multinomial logistic regression, p = softmax(W^T x + b), trained by
-- full-batch gradient descent on the mean cross-entropy + ridge/2 |W|^2
-- (bias not regularised).  Labels are integers 1..classes.
function M.logistic(opts)
  local o = opts_check("logistic", opts, { "classes", "ridge", "rate", "epochs", "bias" })
  local k = o.classes
  if type(k) ~= "number" or k < 2 or k ~= math.floor(k) then core.fail("logistic: classes = " .. tostring(k) .. ", expected an integer >= 2") end
  local ep = o.epochs or 200
  if type(ep) ~= "number" or ep < 1 or ep ~= math.floor(ep) then core.fail("logistic: epochs = " .. tostring(ep) .. ", expected an integer >= 1") end
  return setmetatable({ k = k, lambda = num("logistic", o, "ridge", 1e-4, 0), rate = num("logistic", o, "rate", 0.5, 0, true),
    epochs = ep, bias = o.bias ~= false }, Logit)
end

local function labels_of(labels, T, k, what)
  local t = {}
  if bufm.is(labels) then
    if labels:size() ~= T then core.fail(string.format("%s: %d labels for %d rows", what, labels:size(), T)) end
    local p = labels:copy("f64"):ptr()
    for i = 1, T do t[i] = p[i - 1] end
  elseif type(labels) == "table" then
    if #labels ~= T then core.fail(string.format("%s: %d labels for %d rows", what, #labels, T)) end
    for i = 1, T do t[i] = labels[i] end
  else
    core.fail(what .. ": labels must be a buffer or a table")
  end
  for i = 1, T do
    local c = t[i]
    if type(c) ~= "number" or c < 1 or c > k or c ~= math.floor(c) then
      core.fail(string.format("%s: label %s at row %d, expected an integer in 1..%d", what, tostring(c), i, k))
    end
  end
  return t
end

-- Softmax probabilities [T, k] of X.
function Logit:proba(X)
  if not self.W then core.fail("logistic: predict before fit") end
  local Z = predict(self.W, self.b, X, "logistic: predict")
  local p, T, k = Z:ptr(), Z:shape()[1], self.k
  for t = 0, T - 1 do
    local m = -huge
    for j = 0, k - 1 do if p[t * k + j] > m then m = p[t * k + j] end end
    local s = 0
    for j = 0, k - 1 do
      local e = exp(p[t * k + j] - m)
      p[t * k + j] = e
      s = s + e
    end
    for j = 0, k - 1 do p[t * k + j] = p[t * k + j] / s end
  end
  return Z
end

function Logit:fit(X, labels)
  X = as_matrix(X, "logistic: X"):copy("f64")
  local T, d, k = X:shape()[1], X:shape()[2], self.k
  local lab = labels_of(labels, T, k, "logistic: fit")
  self.d = d
  self.W, self.b = bufm.new({ d, k }), bufm.new(k)
  -- Features are standardised internally (then folded back into W, b) so
  -- that one learning rate suits any state scale.
  local xp = X:ptr()
  local mu, sd = ffi.new("double[?]", d), ffi.new("double[?]", d)
  for i = 0, d - 1 do
    local s, s2 = 0, 0
    for t = 0, T - 1 do local v = xp[t * d + i]; s = s + v; s2 = s2 + v * v end
    mu[i] = s / T
    local var = s2 / T - mu[i] * mu[i]
    sd[i] = var > 1e-24 and sqrt(var) or 1
  end
  local Z = bufm.new({ T, d })
  local zp = Z:ptr()
  for t = 0, T - 1 do for i = 0, d - 1 do zp[t * d + i] = (xp[t * d + i] - mu[i]) / sd[i] end end
  local Wz, bz = bufm.new({ d, k }), bufm.new(k)
  local G = bufm.new({ d, k })
  local R = bufm.new({ T, k })
  local wp, bp, gp, rp = Wz:ptr(), bz:ptr(), G:ptr(), R:ptr()
  local saveW, saveb = self.W, self.b
  for _ = 1, self.epochs do
    self.W, self.b = Wz, bz
    local P = self:proba(Z)
    local pp = P:ptr()
    for t = 0, T - 1 do
      for j = 0, k - 1 do rp[t * k + j] = (pp[t * k + j] - ((lab[t + 1] == j + 1) and 1 or 0)) / T end
    end
    -- G = Z^T R through the same BLAS path (affine of Z^T is not exposed,
    -- so accumulate it as XtY).
    G:fill(0)
    local dummy = bufm.new({ d, d })
    core.check(C.lam_la_accumulate(dummy._b, G._b, nil, nil, Z._b, R._b), "logistic")
    for i = 0, d * k - 1 do wp[i] = wp[i] - self.rate * (gp[i] + self.lambda * wp[i]) end
    if self.bias then
      for j = 0, k - 1 do
        local s = 0
        for t = 0, T - 1 do s = s + rp[t * k + j] end
        bp[j] = bp[j] - self.rate * s
      end
    end
  end
  -- Fold the standardisation back: W = Wz / sd, b = bz - mu^T W.
  self.W, self.b = saveW, saveb
  local W, b = self.W:ptr(), self.b:ptr()
  for j = 0, k - 1 do b[j] = bp[j] end
  for i = 0, d - 1 do
    for j = 0, k - 1 do
      W[i * k + j] = wp[i * k + j] / sd[i]
      b[j] = b[j] - mu[i] * W[i * k + j]
    end
  end
  return self
end

-- Labels (1..k) of the rows of X, as a table.
function Logit:predict(X)
  local P = self:proba(X)
  local p, T, k = P:ptr(), P:shape()[1], self.k
  local out = {}
  for t = 0, T - 1 do
    local best = 0
    for j = 1, k - 1 do if p[t * k + j] > p[t * k + best] then best = j end end
    out[t + 1] = best + 1
  end
  return out
end

-- -------------------------------------------------------------- reducers

-- lam.readout.reduce(states, "last" | "mean" [, warmup]): one feature
-- vector [d] from a sequence of states [T, d].  With a list of sequences
-- returns [S, d], one row per sequence (lengths may differ).
function M.reduce(states, how, warmup)
  how = how or "last"
  if how ~= "last" and how ~= "mean" then core.fail("reduce: how = " .. tostring(how) .. ", expected \"last\" or \"mean\"") end
  local list = type(states) == "table" and not bufm.is(states)
  local seqs = list and states or { states }
  local d
  for i, s in ipairs(seqs) do
    local X = as_matrix(s, "reduce: sequence " .. i)
    if d and X:shape()[2] ~= d then core.fail(string.format("reduce: sequence %d has %d features, sequence 1 has %d", i, X:shape()[2], d)) end
    d = X:shape()[2]
    seqs[i] = drop(X, warmup):copy("f64")
  end
  if not d then core.fail("reduce: no sequences") end
  local out = bufm.new({ #seqs, d })
  local op = out:ptr()
  for i, X in ipairs(seqs) do
    local T, p = X:shape()[1], X:ptr()
    for j = 0, d - 1 do
      if how == "last" then
        op[(i - 1) * d + j] = p[(T - 1) * d + j]
      else
        local s = 0
        for t = 0, T - 1 do s = s + p[t * d + j] end
        op[(i - 1) * d + j] = s / T
      end
    end
  end
  if list then return out end
  return out:reshape_view({ d })
end

-- lam.readout.vote(labels): the most frequent label of a sequence of
-- per-step predictions (ties go to the smallest label).
function M.vote(labels)
  local t = labels
  if bufm.is(labels) then t = labels:totable() end
  if type(t) ~= "table" or #t == 0 then core.fail("vote: expected a non-empty table or buffer of labels") end
  local count, best, bestc = {}, nil, -1
  for _, c in ipairs(t) do count[c] = (count[c] or 0) + 1 end
  for c, n in pairs(count) do
    if n > bestc or (n == bestc and c < best) then best, bestc = c, n end
  end
  return best
end

return M
