-- examples/reservoir/ei_sweep.lua - memory capacity of a Dale's-law rate
-- reservoir as the global E/I ratio goes from excitation-dominated to
-- over-inhibited, with and without local inhibitory adaptation toward
-- per-unit target rates (homeostasis.md §2.3, docs/reservoir.md).
--
--   lamina run examples/reservoir/ei_sweep.lua                 # one point
--   lamina run examples/reservoir/ei_sweep.lua ei_ratio=2 adapt=true
--   lamina run examples/reservoir/ei_sweep.lua loop=true       # whole sweep + figure
--   lamina sweep examples/reservoir/ei_sweep.yaml              # the same grid as a protocol
--
-- One point: N units (80 % excitatory, connection probability 0.1,
-- sigmoid, threshold theta), driven by i.i.d. input; the inhibitory
-- weights are multiplied by ei_ratio (1 = balanced in expectation).  With
-- adapt = true each unit's inhibitory gain g_i follows
-- g_i <- max(0, g_i + eta (x_i - rho_i)) during a pre-run, with targets
-- rho_i log-normal around `rate` (heterogeneous); it stays on (small eta)
-- while the memory capacity (held out, k = 1..60) is measured.
local lam = require "lamina"
local p = lam.params { units = 200, ei_ratio = 1.0, adapt = false, rate = 0.2, eta = 0.02,
                       theta = 1.0, seed = 1, loop = false, steps = 4000 }

local function point(ei, adapt)
  local N, T = p.units, p.steps
  local sim = lam.sim { dt = 1, seed = p.seed }
  local m = sim:add("r", "reservoir.esn", { units = N, dale = true, exc_fraction = 0.8, density = 0.1,
    activation = "sigmoid", spectral_radius = 2, ei_ratio = ei, bias_scaling = p.theta,
    input_scaling = 1, adapt_rate = adapt and p.eta or 0 })
  m:call("set_bias", lam.buf.new(N):fill(-1)) -- threshold theta for every unit
  -- heterogeneous targets: log-normal around `rate`, kept inside (0, 1)
  local tg = sim:port("r.target"):ptr()
  local r = lam.rng(1, 0, p.seed)
  for i = 0, N - 1 do tg[i] = math.min(0.9, p.rate * math.exp(0.5 * r:normal() - 0.125)) end
  local pre = lam.data.memory_capacity_input { n = 5000, seed = p.seed + 100 }
  if adapt then m:call("run", pre:reshape_view({ 5000, 1 })) end
  local u = lam.data.memory_capacity_input { n = T, seed = p.seed }
  local X = m:call("run", u:reshape_view({ T, 1 }))
  local mc = lam.metrics.memory_capacity(X, u, { k_max = 60, washout = 100, train = 0.6, ridge = 1e-8 })
  return mc, X:mean()
end

if not p.loop then
  local mc, rate = point(p.ei_ratio, p.adapt)
  print(string.format("ei_ratio %.2f adapt %s: MC %.2f, mean rate %.3f", p.ei_ratio, tostring(p.adapt), mc, rate))
  return { mc = mc, mean_rate = rate }
end

local ratios = { 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0 }
local mc0, mc1 = {}, {}
for i, ei in ipairs(ratios) do
  mc0[i] = point(ei, false)
  mc1[i] = point(ei, true)
  print(string.format("ei_ratio %.2f: MC global %.2f, local adaptation %.2f", ei, mc0[i], mc1[i]))
end
lam.plot.lines { x = ratios, ["global E/I only"] = mc0, ["local adaptation"] = mc1,
  xlabel = "E/I ratio (inhibition multiplier)", ylabel = "memory capacity", title = "E/I sweep" }:save("ei_sweep.svg")
return { ratios = ratios, mc_global = mc0, mc_adapted = mc1 }
