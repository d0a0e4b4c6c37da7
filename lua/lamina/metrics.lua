-- lamina.metrics: scores of reservoir readouts (docs/reservoir.md).
--
--   lam.metrics.nrmse(y, yhat)   sqrt(mean((y - yhat)^2) / var(y)), std-normalised
--   lam.metrics.r2(y, yhat)      1 - SSE / SST
--   lam.metrics.accuracy(labels, predicted)
--   lam.metrics.memory_capacity(states, u, { k_max = 200, washout = 200, train = 0.7, ridge = 1e-8 })
--
-- y and yhat are buffers (or tables) of identical shape; multi-column
-- inputs are scored column by column and averaged (the per-column values
-- come back second).
local core = require "lamina.core"
local bufm = require "lamina.buf"
local readout = require "lamina.readout"

local M = {}

local function columns(y, yhat, what)
  if type(y) == "table" and not bufm.is(y) then y = bufm.from(y) end
  if type(yhat) == "table" and not bufm.is(yhat) then yhat = bufm.from(yhat) end
  local Y, H = readout.as_matrix(y, what .. ": y"):copy("f64"), readout.as_matrix(yhat, what .. ": yhat"):copy("f64")
  local sy, sh = Y:shape(), H:shape()
  if sy[1] ~= sh[1] or sy[2] ~= sh[2] then
    core.fail(string.format("%s: y is [%d, %d] but yhat is [%d, %d]", what, sy[1], sy[2], sh[1], sh[2]))
  end
  if sy[1] < 2 then core.fail(what .. ": need at least 2 samples") end
  return Y:ptr(), H:ptr(), sy[1], sy[2]
end

-- Per column: mean squared error and variance of y.
local function mse_var(yp, hp, T, k, j)
  local m, se = 0, 0
  for t = 0, T - 1 do m = m + yp[t * k + j] end
  m = m / T
  local v = 0
  for t = 0, T - 1 do
    local a = yp[t * k + j]
    local e = a - hp[t * k + j]
    se = se + e * e
    v = v + (a - m) * (a - m)
  end
  return se / T, v / T
end

local function per_column(name, f)
  return function(y, yhat)
    local yp, hp, T, k = columns(y, yhat, name)
    local vals, s = {}, 0
    for j = 0, k - 1 do
      local mse, var = mse_var(yp, hp, T, k, j)
      if not (var > 0) then core.fail(name .. ": y column " .. (j + 1) .. " is constant (variance 0)") end
      vals[j + 1] = f(mse, var)
      s = s + vals[j + 1]
    end
    return s / k, vals
  end
end

M.nrmse = per_column("nrmse", function(mse, var) return math.sqrt(mse / var) end)
M.r2 = per_column("r2", function(mse, var) return 1 - mse / var end)
M.nmse = per_column("nmse", function(mse, var) return mse / var end)
M.rmse = function(y, yhat)
  local yp, hp, T, k = columns(y, yhat, "rmse")
  local s = 0
  for i = 0, T * k - 1 do local e = yp[i] - hp[i]; s = s + e * e end
  return math.sqrt(s / (T * k))
end

-- Fraction of equal entries of two label tables/buffers.
function M.accuracy(labels, predicted)
  local a = bufm.is(labels) and labels:copy("f64"):reshape_view({ labels:size() }):totable() or labels
  local b = bufm.is(predicted) and predicted:copy("f64"):reshape_view({ predicted:size() }):totable() or predicted
  if type(a) ~= "table" or type(b) ~= "table" then core.fail("accuracy: expected two tables or buffers of labels") end
  if #a ~= #b then core.fail(string.format("accuracy: %d labels but %d predictions", #a, #b)) end
  if #a == 0 then core.fail("accuracy: no labels") end
  local ok = 0
  for i = 1, #a do if a[i] == b[i] then ok = ok + 1 end end
  return ok / #a
end

-- Squared Pearson correlation of two columns.
local function r2corr(yp, hp, T, k, j)
  local my, mh = 0, 0
  for t = 0, T - 1 do my = my + yp[t * k + j]; mh = mh + hp[t * k + j] end
  my, mh = my / T, mh / T
  local sxy, sxx, syy = 0, 0, 0
  for t = 0, T - 1 do
    local a, b = yp[t * k + j] - my, hp[t * k + j] - mh
    sxy, sxx, syy = sxy + a * b, sxx + a * a, syy + b * b
  end
  if sxx == 0 or syy == 0 then return 0 end
  return sxy * sxy / (sxx * syy)
end
M.squared_correlation = function(y, yhat)
  local yp, hp, T, k = columns(y, yhat, "squared_correlation")
  local vals, s = {}, 0
  for j = 0, k - 1 do vals[j + 1] = r2corr(yp, hp, T, k, j); s = s + vals[j + 1] end
  return s / k, vals
end

-- Memory capacity (Jaeger 2001), held out: states [T, N] driven by the
-- scalar input u [T]; for k = 1..k_max a ridge readout (one solve, k_max
-- columns, un-regularised bias) is trained on rows washout+1 ..
-- washout+n_train to output u(t - k) and scored on the remaining rows:
-- MC_k = squared correlation of u(t - k) and its estimate; MC = sum MC_k.
-- Returns MC and the table of MC_k.
function M.memory_capacity(states, u, opts)
  opts = opts or {}
  for key in pairs(opts) do
    if key ~= "k_max" and key ~= "washout" and key ~= "train" and key ~= "ridge" then
      core.fail("memory_capacity: unknown option '" .. tostring(key) .. "' (valid: k_max, washout, train, ridge)")
    end
  end
  local X = readout.as_matrix(states, "memory_capacity: states")
  local U = readout.as_matrix(u, "memory_capacity: u"):copy("f64")
  local T = X:shape()[1]
  if U:shape()[1] ~= T or U:shape()[2] ~= 1 then
    core.fail(string.format("memory_capacity: u must be [%d] (one input per state row), got [%d, %d]", T, U:shape()[1], U:shape()[2]))
  end
  local kmax = opts.k_max or 2 * X:shape()[2]
  local washout = opts.washout or kmax
  if washout < kmax then core.fail("memory_capacity: washout = " .. washout .. " must be >= k_max = " .. kmax) end
  local frac = opts.train or 0.7
  local ntr = math.floor((T - washout) * frac)
  if ntr < 1 or T - washout - ntr < 2 then core.fail("memory_capacity: too few rows (" .. T .. ") for washout " .. washout) end
  local tg = bufm.new({ T, kmax })
  local up, tp = U:ptr(), tg:ptr()
  for t = 0, T - 1 do
    for k = 1, kmax do tp[t * kmax + k - 1] = t - k >= 0 and up[t - k] or 0 end
  end
  local r = readout.ridge { ridge = opts.ridge or 1e-8 }
  r:accumulate(X:rows(washout + 1, washout + ntr), tg:rows(washout + 1, washout + ntr))
  r:solve()
  local H = r:predict(X:rows(washout + ntr + 1, T))
  local Y = tg:rows(washout + ntr + 1, T):copy()
  local mc, per = M.squared_correlation(Y, H)
  return mc * kmax, per
end

return M
