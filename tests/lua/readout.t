#!/usr/bin/env luajit
-- lamina.readout and lamina.metrics: ridge against an independent
-- closed-form solve (and NumPy when Debian's python3-numpy is present),
-- streaming = one-shot, singular systems, online readouts (RLS equals
-- ridge, LMS/three-factor converge, gate 0 freezes), softmax regression,
-- reducers and metrics with hand-computed values.  Fixed seeds; each
-- tolerance is in the test name.
local tap = require "tap"
local lam = require "lamina"
local R, Mx = lam.readout, lam.metrics
tap.plan(28)

local rng = lam.rng(4242, 0, 1)
local function randn(T, d)
  local b = lam.buf.new({ T, d })
  local p = b:ptr()
  for i = 0, T * d - 1 do p[i] = rng:normal() end
  return b
end
local function maxdiff(a, b)
  local pa, pb, m = a:ptr(), b:ptr(), 0
  for i = 0, a:size() - 1 do m = math.max(m, math.abs(pa[i] - pb[i])) end
  return m
end

-- Data: Y = X W* + b* + noise, d = 5, o = 2.
local T, d, o = 400, 5, 2
local X = randn(T, d)
local Wt = lam.buf.from({ { 1, -2 }, { 0.5, 0 }, { -1, 3 }, { 2, 1 }, { 0, -0.5 } })
local bt = { 0.7, -1.3 }
local Y = lam.buf.new({ T, o })
do
  local xp, yp, wp = X:ptr(), Y:ptr(), Wt:ptr()
  for t = 0, T - 1 do
    for j = 0, o - 1 do
      local s = bt[j + 1]
      for i = 0, d - 1 do s = s + xp[t * d + i] * wp[i * o + j] end
      yp[t * o + j] = s + 0.1 * rng:normal()
    end
  end
end

-- Independent closed form: centred normal equations by Gauss-Jordan in Lua.
local function closed_form(lambda)
  local xp, yp = X:ptr(), Y:ptr()
  local mx, my = {}, {}
  for i = 0, d - 1 do local s = 0; for t = 0, T - 1 do s = s + xp[t * d + i] end; mx[i] = s / T end
  for j = 0, o - 1 do local s = 0; for t = 0, T - 1 do s = s + yp[t * o + j] end; my[j] = s / T end
  local A = {}
  for i = 0, d - 1 do
    A[i] = {}
    for k = 0, d - 1 do
      local s = 0
      for t = 0, T - 1 do s = s + (xp[t * d + i] - mx[i]) * (xp[t * d + k] - mx[k]) end
      A[i][k] = s + (i == k and lambda or 0)
    end
    for j = 0, o - 1 do
      local s = 0
      for t = 0, T - 1 do s = s + (xp[t * d + i] - mx[i]) * (yp[t * o + j] - my[j]) end
      A[i][d + j] = s
    end
  end
  for c = 0, d - 1 do
    local p = c
    for r = c + 1, d - 1 do if math.abs(A[r][c]) > math.abs(A[p][c]) then p = r end end
    A[c], A[p] = A[p], A[c]
    for r = 0, d - 1 do
      if r ~= c then
        local f = A[r][c] / A[c][c]
        for k = c, d + o - 1 do A[r][k] = A[r][k] - f * A[c][k] end
      end
    end
  end
  local W = lam.buf.new({ d, o })
  local b = lam.buf.new(o)
  for i = 0, d - 1 do for j = 0, o - 1 do W:ptr()[i * o + j] = A[i][d + j] / A[i][i] end end
  for j = 0, o - 1 do
    local s = my[j]
    for i = 0, d - 1 do s = s - W:ptr()[i * o + j] * mx[i] end
    b:ptr()[j] = s
  end
  return W, b
end

do
  local r = R.ridge { ridge = 3.0 }:fit(X, Y)
  local W, b = closed_form(3.0)
  tap.ok(maxdiff(r.W, W) < 1e-10, "ridge W equals the centred closed form (ridge 3) to 1e-10")
  tap.ok(maxdiff(r.b, b) < 1e-10, "ridge bias is un-regularised: equals the closed form to 1e-10")
  local r0 = R.ridge {}:fit(X, Y)
  tap.ok(maxdiff(r0.W, Wt) < 0.02, "ridge 0 recovers the true W to 0.02 (noise 0.1, T 400)")
  -- streaming over 4 sequences equals one fit
  local rs = R.ridge { ridge = 3.0 }
  for k = 0, 3 do rs:accumulate(X:rows(k * 100 + 1, k * 100 + 100), Y:rows(k * 100 + 1, k * 100 + 100)) end
  rs:solve()
  tap.ok(maxdiff(rs.W, r.W) < 1e-12, "streaming accumulate over 4 blocks equals the one-shot fit to 1e-12")
  -- f32 states accumulate in f64
  local rf = R.ridge { ridge = 3.0 }:fit(X:copy("f32"), Y)
  local Wf = R.ridge { ridge = 3.0 }:fit(X:copy("f32"):copy("f64"), Y).W
  tap.ok(maxdiff(rf.W, Wf) < 1e-12, "f32 states give the f64 fit of the rounded states (f64 accumulation)")
  -- predict
  local P = r:predict(X)
  local yh = 0
  for j = 0, o - 1 do
    local s = r.b:ptr()[j]
    for i = 0, d - 1 do s = s + X:ptr()[i] * r.W:ptr()[i * o + j] end
    yh = math.max(yh, math.abs(s - P:ptr()[j]))
  end
  tap.ok(yh < 1e-12, "predict = X W + b")
  -- NumPy oracle when available
  local py = io.popen("/usr/bin/python3 -c 'import numpy' 2>/dev/null && echo yes")
  local has = py and py:read("*a"):find("yes")
  if py then py:close() end
  if has then
    local f = os.tmpname()
    local h = io.open(f, "w")
    for t = 0, T - 1 do
      local row = {}
      for i = 0, d - 1 do row[#row + 1] = string.format("%.17g", X:ptr()[t * d + i]) end
      for j = 0, o - 1 do row[#row + 1] = string.format("%.17g", Y:ptr()[t * o + j]) end
      h:write(table.concat(row, " "), "\n")
    end
    h:close()
    local cmd = "/usr/bin/python3 -c \"import numpy as np; a=np.loadtxt('" .. f .. "'); X=a[:,:5]; Y=a[:,5:]; " ..
      "Xc=X-X.mean(0); Yc=Y-Y.mean(0); W=np.linalg.solve(Xc.T@Xc+3.0*np.eye(5), Xc.T@Yc); " ..
      "print(' '.join('%.17g'%v for v in W.ravel()))\""
    local q = io.popen(cmd)
    local out = q:read("*a")
    q:close()
    os.remove(f)
    local i, worst = 0, 0
    for v in out:gmatch("%S+") do worst = math.max(worst, math.abs(tonumber(v) - r.W:ptr()[i])); i = i + 1 end
    tap.ok(i == d * o and worst < 1e-10, "ridge W equals numpy.linalg.solve on centred X^T X to 1e-10")
  else
    tap.ok(true, "ridge vs numpy # SKIP python3-numpy not installed")
  end
end

-- Singular systems and shape errors.
do
  local Xs = lam.buf.new({ 50, 3 })
  local p = Xs:ptr()
  for t = 0, 49 do p[t * 3] = rng:normal(); p[t * 3 + 1] = 2 * p[t * 3]; p[t * 3 + 2] = rng:normal() end
  local Ys = Xs:col(1):copy()
  tap.raises(function() R.ridge {}:fit(Xs, Ys) end, { "singular", "ridge > 0" }, "collinear features without ridge: clear error")
  tap.ok(pcall(function() R.ridge { ridge = 1e-6 }:fit(Xs, Ys) end), "the same system with ridge 1e-6 solves")
  tap.raises(function() R.ridge {}:fit(X, Y:rows(1, 100)) end, { "X has 400 rows but Y has 100" }, "row mismatch refused")
  local r = R.ridge {}:fit(X, Y)
  tap.raises(function() r:predict(randn(3, 4)) end, { "4 features", "trained on 5" }, "predict with the wrong width refused")
  tap.raises(function() R.ridge { ridge = -1 } end, "ridge", "negative ridge refused")
  tap.raises(function() R.ridge { lambda = 1 } end, "unknown option 'lambda'", "unknown option refused")
end

-- Online readouts.
do
  -- RLS with P0 = I/alpha and no forgetting solves ridge with penalty alpha
  -- on [W; b] exactly (after all rows): compare with ridge without bias on [X, 1].
  local f = R.rls { inputs = d, outputs = o, alpha = 2.0 }
  f:fit(X, Y)
  local Xa = lam.buf.new({ T, d + 1 })
  for t = 0, T - 1 do
    for i = 0, d - 1 do Xa:ptr()[t * (d + 1) + i] = X:ptr()[t * d + i] end
    Xa:ptr()[t * (d + 1) + d] = 1
  end
  local ra = R.ridge { ridge = 2.0, bias = false }:fit(Xa, Y)
  local worst = 0
  for i = 0, d - 1 do for j = 0, o - 1 do worst = math.max(worst, math.abs(ra.W:ptr()[i * o + j] - f.W:ptr()[i * o + j])) end end
  for j = 0, o - 1 do worst = math.max(worst, math.abs(ra.W:ptr()[d * o + j] - f.b:ptr()[j])) end
  tap.ok(worst < 1e-8, "RLS (forget 1, P0 = I/2) equals ridge 2 on [X, 1] to 1e-8")
  local ff = R.rls { inputs = d, outputs = o, alpha = 1, forget = 0.99 }
  ff:fit(X, Y)
  tap.ok(maxdiff(ff.W, Wt) < 0.1, "RLS with forgetting 0.99 tracks the true W to 0.1")
  tap.raises(function() R.rls { inputs = d, outputs = o, forget = 1.5 } end, "forget", "forget > 1 refused")
  local l = R.lms { inputs = d, outputs = o, rate = 0.01 }
  for _ = 1, 5 do l:fit(X, Y) end
  tap.ok(maxdiff(l.W, Wt) < 0.05, "LMS (rate 0.01, 5 epochs) converges to the true W within 0.05")
  local tf = R.three_factor { inputs = d, outputs = o, rate = 0.01 }
  local gate0 = {}
  for t = 1, T do gate0[t] = 0 end
  tf:fit(X, Y, gate0)
  tap.is(tf.W:max() - tf.W:min(), 0, "three-factor with gate 0 everywhere does not learn")
  for _ = 1, 5 do tf:fit(X, Y) end
  tap.ok(maxdiff(tf.W, Wt) < 0.05, "three-factor with gate 1 converges to the true W within 0.05")
  tap.raises(function() f:fit(randn(10, 3), Y:rows(1, 10)) end, "3 features", "online readout shape mismatch refused")
end

-- Softmax regression on three Gaussian blobs.
do
  local n = 300
  local Xc = lam.buf.new({ n, 2 })
  local lab = {}
  local centers = { { 0, 3 }, { 3, -2 }, { -3, -2 } }
  for t = 0, n - 1 do
    local c = t % 3 + 1
    lab[t + 1] = c
    Xc:ptr()[2 * t] = centers[c][1] + rng:normal()
    Xc:ptr()[2 * t + 1] = centers[c][2] + rng:normal()
  end
  local lg = R.logistic { classes = 3, epochs = 300 }:fit(Xc, lab)
  local acc = Mx.accuracy(lab, lg:predict(Xc))
  tap.ok(acc > 0.95, "softmax regression separates 3 blobs (accuracy > 0.95, Bayes ~0.99)")
  tap.raises(function() R.logistic { classes = 3 }:fit(Xc, { 1, 2 }) end, "2 labels for 300 rows", "label count mismatch refused")
end

-- Reducers and metrics with hand values.
do
  local S = lam.buf.from({ { 1, 2 }, { 3, 4 }, { 5, 9 } })
  tap.is(table.concat(R.reduce(S, "last"):totable(), ","), "5,9", "reduce last")
  tap.is(table.concat(R.reduce(S, "mean"):totable(), ","), "3,5", "reduce mean")
  tap.is(R.vote({ 2, 1, 2, 3, 1, 2 }), 2, "vote picks the most frequent label")
  local y, yh = { 1, 2, 3, 4 }, { 1, 2, 3, 5 }
  -- var(y) = 1.25, mse = 0.25 -> nrmse = sqrt(0.2), r2 = 0.8
  tap.near((Mx.nrmse(y, yh)), math.sqrt(0.2), 1e-15, "nrmse = sqrt(mse / var) (std-normalised)")
  tap.near((Mx.r2(y, yh)), 0.8, 1e-15, "r2 = 1 - mse / var")
  tap.raises(function() Mx.nrmse({ 1, 2, 3 }, { 1, 2 }) end, "y is [3, 1] but yhat is [2, 1]", "metric shape mismatch refused")
end

tap.done()
