-- examples/reservoir/narma10.lua - NARMA-10 (Atiya & Parlos 2000) with a
-- tanh echo-state network and a ridge readout; predicts y(t + 1) from u(t).
--
--   lamina run examples/reservoir/narma10.lua [units=100] [sr=0.95] [input_scaling=0.1]
--
-- reservoir.md §2.2: commonly quoted NRMSE ~0.4 for N ~ 100; a readout on
-- the raw input alone gives ~0.9.  Returns the test NRMSE; writes
-- narma10.svg (truth and prediction over 200 test steps).
local lam = require "lamina"
local p = lam.params { units = 100, sr = 0.95, input_scaling = 0.1, bias = 0.1, density = 0.2, leak = 1.0,
                       ridge = 1e-8, washout = 200, train = 2000, test = 2000, seed = 3, data_seed = 11 }

local n = p.washout + p.train + p.test
local u, y = lam.data.narma10 { n = n + 1, seed = p.data_seed }
local U = u:rows(1, n):copy():reshape_view({ n, 1 })
local Y = y:rows(2, n + 1):copy():reshape_view({ n, 1 })

local sim = lam.sim { dt = 1, seed = p.seed }
local esn = sim:add("esn", "reservoir.esn", { units = p.units, spectral_radius = p.sr, leak = p.leak,
  input_scaling = p.input_scaling, bias_scaling = p.bias, density = p.density })
local X = esn:call("run", U)

local a, b = p.washout + 1, p.washout + p.train
local fit = lam.readout.ridge { ridge = p.ridge }:fit(X:rows(a, b), Y:rows(a, b))
local pred = fit:predict(X:rows(b + 1, n))
local e = lam.metrics.nrmse(Y:rows(b + 1, n), pred)
print(string.format("NARMA-10, N = %d: test NRMSE %.3f", p.units, e))
lam.plot.lines { truth = Y:rows(b + 1, b + 200):copy(), prediction = pred:rows(1, 200):copy(),
  xlabel = "t (steps)", ylabel = "y", title = "NARMA-10" }:save("narma10.svg")
return { nrmse = e }
