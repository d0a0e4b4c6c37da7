-- examples/reservoir/cuba_raster.lua - the Brette et al. (2007) CUBA
-- benchmark network (4000 LIF neurons, 80/20 E/I, p = 0.02, exact
-- integration) with reservoir.lif: a spike raster of the first neurons,
-- the population rate, and the usual spike statistics.
--
--   lamina run examples/reservoir/cuba_raster.lua            (CUBA, 1 s)
--   lamina run examples/reservoir/cuba_raster.lua model=coba T=2000
--
-- Writes cuba_raster.svg (raster) and cuba_rate.svg (population rate in
-- 1-ms bins) into the run directory; returns the statistics.
local lam = require "lamina"
local p = lam.params { model = "cuba", T = 1000, seed = 1, show = 300 }

local sim = lam.sim { dt = 0.1, seed = p.seed }
sim:add("net", "reservoir.lif", lam.spikes.preset(p.model))
local spikes = sim:record("net.spikes") -- (tick, index) events
sim:run(p.T)

local n = 4000
local rates = lam.spikes.rates(spikes, { n = n })
local _, cv = lam.spikes.isi_cv(spikes, { n = n })
local _, fano = lam.spikes.fano(spikes, { n = n, bin = 100 })     -- 10-ms bins
local sigma = lam.spikes.branching(spikes, { bin = 1 })           -- 0.1-ms bins
local sizes, _, alpha = lam.spikes.avalanches(spikes, { bin = 1 })
print(string.format("%s: %d spikes, rate E %.2f Hz, I %.2f Hz, median ISI CV %.2f, mean Fano %.2f, " ..
                    "branching %.3f, %d avalanches (exponent %.2f)",
                    p.model, spikes:ticks():size(), rates:slice(1, 3200):mean(), rates:slice(3201, n):mean(),
                    cv, fano, sigma, sizes:size(), alpha))

-- The raster of the first `show` neurons (excitatory ones).
local t, i = spikes:events()
local keep_t, keep_i = {}, {}
for k = 1, t:size() do
  if i:get(k) < p.show then keep_t[#keep_t + 1], keep_i[#keep_i + 1] = t:get(k), i:get(k) end
end
lam.plot.raster { ticks = lam.buf.from(keep_t), index = lam.buf.from(keep_i), dt = 0.1, n = p.show,
                  title = p.model .. " network: neurons 0-" .. (p.show - 1), xlabel = "t (ms)",
                  ylabel = "neuron" }:save(p.model .. "_raster.svg")
local pop = lam.spikes.counts(spikes, { population = true, bin = 10 })  -- spikes per ms
lam.plot.lines { rate = pop:scale(1000 / n), xlabel = "t (ms)", ylabel = "population rate (Hz)",
                 title = p.model .. " population rate, 1-ms bins" }:save(p.model .. "_rate.svg")

return { rate = rates:mean(), cv = cv, fano = fano, branching = sigma, avalanches = sizes:size() }
