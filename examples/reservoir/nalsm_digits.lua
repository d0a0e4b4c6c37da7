-- examples/reservoir/nalsm_digits.lua - NALSM (Ivanov & Michmizos 2021)
-- classifying handwritten digits against plain liquids and against a
-- linear readout of the raw pixels.
--
--   lamina run examples/reservoir/nalsm_digits.lua [dataset=digits|fashion]
--       [pre=400 window=50 train=1200 test=597 grid=10 readout=ridge|softmax
--        ridge=0.1 seed=1 quick=false]
--
-- dataset = digits: scikit-learn's 1797 8x8 digits (Debian's
-- python3-sklearn), first `train` images for training, the next `test`
-- for testing.  dataset = fashion: Fashion-MNIST 28x28 (Debian's
-- dataset-fashion-mnist; the first `train` images of its training split,
-- the first `test` of its test split; defaults 2000 and 1000 there).
-- quick = true: a 5x5x5 liquid and a few hundred images, for tests (a
-- few seconds).
--
-- Protocol (NALSM's, scaled down):
--  1. pixel intensities -> per-step firing probabilities of the input
--     neurons: each image divided by its own total intensity, then the
--     whole set by the largest resulting pixel value (every image drives
--     the same total input);
--  2. plasticity pre-pass: `pre` random training images, 20 ms each, with
--     reset_sample() between them (weights persist);
--  3. frozen liquid: every image for `window` ms; the spike count of each
--     liquid neuron is the feature vector;
--  4. readout on the training images, accuracy on the test images: ridge
--     regression onto one-hot labels (features standardised on the
--     training set, penalty ridge x training images; fast) or softmax
--     regression (lam.readout.logistic).
-- Four classifiers, one liquid wiring (same seed):
--   nalsm     pre-pass with STDP whose depression is set by the astrocyte
--   lsm_stdp  the same pre-pass with the astrocyte off (A fixed at b_A)
--   lsm       no pre-pass: the initial liquid
--   pixels    the readout on the raw pixel probabilities (no liquid)
-- Prints a table and returns the accuracies, the branching factor at the
-- end of each pre-pass, and the CPU seconds of the run.
local lam = require "lamina"
local p = lam.params { dataset = "digits", pre = -1, window = -1, train = -1, test = -1, grid = -1,
                       in_density = 0.15, readout = "ridge", ridge = 0.1, seed = 1, quick = false }
local t0 = os.clock()
local fashion = p.dataset == "fashion"
if not fashion and p.dataset ~= "digits" then error("dataset = " .. p.dataset .. ": expected digits or fashion", 0) end
if p.readout ~= "ridge" and p.readout ~= "softmax" then error("readout = " .. p.readout .. ": expected ridge or softmax", 0) end
-- Unset sizes (-1) take the dataset's defaults, or the quick ones.
local function def(v, full, quick) if v >= 0 then return v end return p.quick and quick or full end
local pre, window = def(p.pre, 400, 60), def(p.window, 50, 30)
local grid = def(p.grid, 10, 5)
local ntrain = def(p.train, fashion and 2000 or 1200, 300)
local ntest = def(p.test, fashion and 1000 or 597, 200)

-- ---- data: f64 [N, D] intensities and labels 1..10, train rows first
local img, labels = nil, {}
if fashion then
  local tri, trl = lam.data.fashion_mnist { split = "train" }
  local tei, tel = lam.data.fashion_mnist { split = "test" }
  local D = 28 * 28
  if ntrain > tri:shape()[1] or ntest > tei:shape()[1] then error("train/test larger than Fashion-MNIST's splits", 0) end
  img = lam.buf.new({ ntrain + ntest, D })
  local ip = img:ptr()
  for s = 0, ntrain + ntest - 1 do
    local src, lab, k = tri, trl, s
    if s >= ntrain then src, lab, k = tei, tel, s - ntrain end
    local sp = src:ptr()
    for j = 0, D - 1 do ip[s * D + j] = sp[k * D + j] end
    labels[s + 1] = lab:get(k + 1) + 1
  end
else
  local all, lab = lam.data.digits()
  if ntrain + ntest > all:shape()[1] then error("train + test > " .. all:shape()[1] .. " digits", 0) end
  img = all:rows(1, ntrain + ntest):copy()
  for s = 1, ntrain + ntest do labels[s] = lab:get(s) + 1 end
end
local N, D = img:shape()[1], img:shape()[2]

-- 1. probabilities
local prob = img:copy()
local pp = prob:ptr()
local top = 0
for s = 0, N - 1 do
  local tot = 0
  for k = 0, D - 1 do tot = tot + pp[s * D + k] end
  for k = 0, D - 1 do
    pp[s * D + k] = tot > 0 and pp[s * D + k] / tot or 0
    if pp[s * D + k] > top then top = pp[s * D + k] end
  end
end
prob:scale(1 / top)

-- ---- liquid features: spike counts [N, grid^3]
local function features(mode)
  local sim = lam.sim { dt = 1, seed = p.seed }
  local n = grid ^ 3
  local liq = sim:add("liq", "reservoir.nalsm", { d1 = grid, d2 = grid, d3 = grid, inputs = D, in_density = p.in_density,
                                                 w_A = 0.015 * 1000 / n, astro = mode == "nalsm" })
  local input = sim:port("liq.input")
  local sigma
  if mode ~= "lsm" then
    local r = lam.rng(7, 0, p.seed)
    for _ = 1, pre do
      local s = math.floor(r:uniform() * ntrain) + 1 -- training images only
      input:assign(prob:rows(s, s))
      liq:call("reset_sample")
      sim:run(20)
    end
    sigma = sim:port("liq.branching"):get(1)
  end
  sim:at_param(sim:time(), "liq.plastic", false)
  local X = lam.buf.new({ N, n })
  local count = sim:port("liq.count")
  for s = 1, N do
    input:assign(prob:rows(s, s))
    liq:call("reset_sample")
    sim:run(window)
    X:rows(s, s):assign(count)
  end
  return X, sigma
end

-- ---- readout: accuracy on the test rows
local function accuracy(X)
  local d = X:shape()[2]
  local tl, vl = {}, {}
  for s = 1, ntrain do tl[s] = labels[s] end
  for s = ntrain + 1, N do vl[#vl + 1] = labels[s] end
  local Xtr, Xte = X:rows(1, ntrain):copy(), X:rows(ntrain + 1, N):copy()
  if p.readout == "softmax" then
    local fit = lam.readout.logistic { classes = 10, ridge = 1e-3, rate = 0.5, epochs = 300 }
    fit:fit(Xtr, tl)
    return lam.metrics.accuracy(vl, fit:predict(Xte))
  end
  -- Standardise on the training rows (constant features stay 0).
  local a, b = Xtr:ptr(), Xte:ptr()
  for j = 0, d - 1 do
    local s, s2 = 0, 0
    for t = 0, ntrain - 1 do s, s2 = s + a[t * d + j], s2 + a[t * d + j] ^ 2 end
    local mu = s / ntrain
    local var = s2 / ntrain - mu * mu
    local sd = var > 1e-12 and math.sqrt(var) or 1
    for t = 0, ntrain - 1 do a[t * d + j] = (a[t * d + j] - mu) / sd end
    for t = 0, N - ntrain - 1 do b[t * d + j] = (b[t * d + j] - mu) / sd end
  end
  local Y = lam.buf.new({ ntrain, 10 })
  for t = 1, ntrain do Y:set(1, t, tl[t]) end
  local r = lam.readout.ridge { ridge = p.ridge * ntrain }
  r:fit(Xtr, Y)
  local P = r:predict(Xte)
  local pred, pq = {}, P:ptr()
  for t = 0, N - ntrain - 1 do
    local best = 0
    for c = 1, 9 do if pq[t * 10 + c] > pq[t * 10 + best] then best = c end end
    pred[t + 1] = best + 1
  end
  return lam.metrics.accuracy(vl, pred)
end

local res = { dataset = p.dataset, liquid = grid ^ 3, train = ntrain, test = ntest, pre = pre, window = window }
local Xn, sn = features("nalsm")
local Xs, ss = features("lsm_stdp")
local Xl = features("lsm")
res.nalsm, res.lsm_stdp, res.lsm = accuracy(Xn), accuracy(Xs), accuracy(Xl)
res.pixels = accuracy(prob)
res.branching_nalsm, res.branching_lsm_stdp = sn, ss
res.cpu_s = os.clock() - t0
print(string.format("%s, %d-neuron liquid, %d training / %d test images, pre-pass %d, window %d ms, %s readout:",
                    p.dataset, grid ^ 3, ntrain, ntest, pre, window, p.readout))
print(string.format("  NALSM (STDP + astrocyte)  %.3f   (branching after the pre-pass %.2f)", res.nalsm, sn))
print(string.format("  LSM + STDP, astrocyte off %.3f   (branching %.2f)", res.lsm_stdp, ss))
print(string.format("  LSM, no plasticity        %.3f", res.lsm))
print(string.format("  raw pixels, same readout  %.3f", res.pixels))
print(string.format("  %.1f s of CPU", res.cpu_s))
return res
