-- examples/reservoir/mackey_glass.lua - Mackey-Glass (tau = 17) prediction
-- with reservoir.esn: one-step prediction with a ridge readout, then the
-- trained readout closes the loop (generative mode) for `horizon` steps.
--
--   lamina run examples/reservoir/mackey_glass.lua [units=100] [sr=0.8] [horizon=300]
--
-- Series: lam.data.mackey_glass (RK4, dt 0.1, sampled every 1.0), fed in
-- as tanh(x - 1) (Jaeger's convention).  Teacher forcing: the reservoir is
-- driven by the true series for `train` steps (the first `washout`
-- dropped), the readout learns x(t) -> s(t + 1); set_readout installs it,
-- and generate(n) feeds each prediction back as the next input.
-- Writes mg_onestep.svg and mg_closed_loop.svg; returns the NRMSEs.
local lam = require "lamina"
local p = lam.params { units = 100, sr = 0.8, leak = 0.3, input_scaling = 0.5, bias = 0.2, density = 0.2,
                       ridge = 1e-11, washout = 500, train = 5000, test = 1000, horizon = 300, seed = 1 }

local n = p.train + p.test
local mg = lam.data.mackey_glass { n = n + 1 }
local S = lam.buf.new({ n + 1, 1 })
local mp, sp = mg:ptr(), S:ptr()
for i = 0, n do sp[i] = math.tanh(mp[i] - 1) end
local U, Y = S:rows(1, n):copy(), S:rows(2, n + 1):copy() -- input s(t), target s(t+1)

local cfg = { units = p.units, spectral_radius = p.sr, leak = p.leak, input_scaling = p.input_scaling,
              bias_scaling = p.bias, density = p.density }
local sim = lam.sim { dt = 1, seed = p.seed }
local esn = sim:add("esn", "reservoir.esn", cfg)

-- 1. teacher-forced run and ridge fit
local X = esn:call("run", U:rows(1, p.train):copy())
local fit = lam.readout.ridge { ridge = p.ridge }:fit(X:rows(p.washout + 1, p.train), Y:rows(p.washout + 1, p.train))

-- 2. one-step prediction on the held-out part (the reservoir keeps going)
local Xt = esn:call("run", U:rows(p.train + 1, n):copy())
local pred = fit:predict(Xt)
local truth = Y:rows(p.train + 1, n):copy()
local e1 = lam.metrics.nrmse(truth, pred)
print(string.format("one-step NRMSE %.3g over %d held-out steps", e1, p.test))
lam.plot.lines { truth = truth:rows(1, 300):copy(), prediction = pred:rows(1, 300):copy(),
  xlabel = "t (steps)", ylabel = "tanh(x - 1)", title = "Mackey-Glass, one step ahead" }:save("mg_onestep.svg")

-- 3. closed loop from the end of training: a second instance with the same
-- seed (same weights) replays the training input, then generates.
local sim2 = lam.sim { dt = 1, seed = p.seed }
local gen = sim2:add("esn", "reservoir.esn", cfg)
gen:call("run", U:rows(1, p.train):copy())
gen:call("set_readout", fit.W, fit.b) -- y = W^T x + b, the prediction of s(train + 1)
local G = gen:call("generate", p.horizon)  -- G[k] predicts s(train + 1 + k)
local ref = Y:rows(p.train + 1, p.train + p.horizon):copy()
local e84 = lam.metrics.nrmse(Y:rows(p.train + 1, p.train + 84):copy(), G:rows(1, 84):copy())
print(string.format("closed loop: NRMSE over the first 84 steps %.3g", e84))
lam.plot.lines { truth = ref, generated = G, xlabel = "steps after training", ylabel = "tanh(x - 1)",
  title = "Mackey-Glass, closed loop" }:save("mg_closed_loop.svg")
return { nrmse_onestep = e1, nrmse_84 = e84 }
