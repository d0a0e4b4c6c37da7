-- examples/reservoir/memory_capacity.lua - the memory-capacity curve
-- MC_k over delays k (Jaeger 2001) of a linear and a tanh reservoir that
-- share the same orthogonal W (spectral radius sr).
--
--   lamina run examples/reservoir/memory_capacity.lua [units=100] [sr=0.95]
--
-- MC_k is the squared correlation between u(t - k) and its ridge estimate
-- from the state x(t), on held-out data; MC = sum_k MC_k <= N.  The linear
-- reservoir reaches ~N (98.6 for N = 100, reservoir.md §2.1); tanh trades
-- memory for nonlinearity.  Writes memory_capacity.svg.
local lam = require "lamina"
local p = lam.params { units = 100, sr = 0.95, input_scaling = 0.1, steps = 6000, seed = 7 }

local N, T = p.units, p.steps
local u = lam.data.memory_capacity_input { n = T, seed = p.seed + 1 }
local curves, totals = {}, {}
for _, act in ipairs { "identity", "tanh" } do
  local sim = lam.sim { dt = 1, seed = p.seed }
  local esn = sim:add("esn", "reservoir.esn", { units = N, density = 1, weights = "orthogonal",
    spectral_radius = p.sr, activation = act, input_scaling = p.input_scaling })
  local X = esn:call("run", u:reshape_view({ T, 1 }))
  local mc, per = lam.metrics.memory_capacity(X, u, { k_max = 2 * N, washout = 2 * N, train = 0.6, ridge = 1e-10 })
  curves[act == "identity" and "linear" or "tanh"], totals[act] = per, mc
  print(string.format("%-8s MC = %.2f", act, mc))
end
lam.plot.lines { linear = curves.linear, tanh = curves.tanh, xlabel = "delay k", ylabel = "MC_k",
  title = string.format("memory capacity, N = %d, rho = %g", N, p.sr) }:save("memory_capacity.svg")
return { mc_linear = totals.identity, mc_tanh = totals.tanh }
