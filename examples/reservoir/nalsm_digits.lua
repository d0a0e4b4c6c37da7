-- examples/reservoir/nalsm_digits.lua - NALSM (Ivanov & Michmizos 2021)
-- classifying scikit-learn's 8x8 handwritten digits (Debian's
-- python3-sklearn ships them), against the same liquid without the
-- astrocyte-modulated plasticity pre-pass ("plain liquid").
--
--   lamina run examples/reservoir/nalsm_digits.lua [pre=400 window=50 train=1200 grid=10]
--
-- Protocol (NALSM's, scaled down to run in about a minute on one core):
--  1. pixel intensities -> per-step firing probabilities: each image is
--     divided by its own total intensity, then the whole set by the
--     largest resulting pixel value (so every image drives the same total
--     input);
--  2. plasticity pre-pass: `pre` random training images, 20 ms each, with
--     reset_sample() between them (weights persist);
--  3. frozen liquid: every image for `window` ms, spike counts per liquid
--     neuron are the features;
--  4. softmax readout (lam.readout.logistic) on the first `train` images,
--     accuracy on the rest.
-- The plain liquid skips step 2.  Prints both accuracies and the
-- branching factor / astrocyte state at the end of the pre-pass.
local lam = require "lamina"
local p = lam.params { pre = 400, window = 50, train = 1200, grid = 10, in_density = 0.15, seed = 1 }

local img, lab = lam.data.digits()
local N, D = img:shape()[1], img:shape()[2]
-- 1. probabilities
local prob = img:copy()
local pp = prob:ptr()
local top = 0
for s = 0, N - 1 do
  local tot = 0
  for k = 0, D - 1 do tot = tot + pp[s * D + k] end
  for k = 0, D - 1 do
    pp[s * D + k] = pp[s * D + k] / tot
    if pp[s * D + k] > top then top = pp[s * D + k] end
  end
end
prob:scale(1 / top)
local labels = {}
for s = 1, N do labels[s] = lab:get(s) + 1 end -- classes 1..10

local function features(plastic)
  local sim = lam.sim { dt = 1, seed = p.seed }
  local liq = sim:add("liq", "reservoir.nalsm", { d1 = p.grid, d2 = p.grid, d3 = p.grid, inputs = D,
                                                 in_density = p.in_density, w_A = 0.015 * 1000 / p.grid ^ 3 })
  local input = sim:port("liq.input")
  local n = p.grid ^ 3
  if plastic then
    local r = lam.rng(7, 0, p.seed)
    for _ = 1, p.pre do
      local s = math.floor(r:uniform() * p.train) + 1 -- training images only
      input:assign(prob:rows(s, s))
      liq:call("reset_sample")
      sim:run(20)
    end
    print(string.format("pre-pass: branching %.2f, astrocyte A %.3f (A0 0.15)",
                        sim:port("liq.branching"):get(1), sim:port("liq.astro"):get(1)))
  end
  sim:at_param(sim:time(), "liq.plastic", false)
  local X = lam.buf.new({ N, n })
  local count = sim:port("liq.count")
  for s = 1, N do
    input:assign(prob:rows(s, s))
    liq:call("reset_sample")
    sim:run(p.window)
    X:rows(s, s):assign(count)
  end
  return X
end

local function accuracy(X)
  local fit = lam.readout.logistic { classes = 10, ridge = 1e-3, rate = 0.5, epochs = 300 }
  local tl, vl = {}, {}
  for s = 1, p.train do tl[s] = labels[s] end
  for s = p.train + 1, N do vl[#vl + 1] = labels[s] end
  fit:fit(X:rows(1, p.train), tl)
  return lam.metrics.accuracy(vl, fit:predict(X:rows(p.train + 1, N)))
end

local acc_nalsm = accuracy(features(true))
local acc_plain = accuracy(features(false))
print(string.format("test accuracy (%d images): NALSM %.3f, plain liquid %.3f", N - p.train, acc_nalsm, acc_plain))
return { nalsm = acc_nalsm, plain = acc_plain }
