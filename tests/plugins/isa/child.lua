-- Run by tests/plugins/isa_bits.t natively and under valgrind: prints,
-- in hex, every value of a few results of the plugins' vectorised code
-- (one line per result).
local lam = require "lamina"
local function digest(b)
  -- every element, in hex: the whole result, compared as text
  local p, t = b:ptr(), {}
  for i = 0, b:size() - 1 do t[#t + 1] = string.format("%a", p[i]) end
  return table.concat(t, " ")
end
local out = {}
local function esn(P, seed, T)
  local sim = lam.sim { dt = 1, seed = seed }
  local e = sim:add("e", "reservoir.esn", P)
  local U = lam.buf.new({ T, 1 })
  for t = 0, T - 1 do U:ptr()[t] = math.sin(0.3 * t) end
  out[#out + 1] = digest(e:call("spectral_radius"))
  out[#out + 1] = digest(e:call("run", U))
end
esn({ units = 300, density = 0.1, spectral_radius = 0.9, bias_scaling = 0.2 }, 1, 30)        -- 8-lane rows, slices
esn({ units = 200, density = 0.02, spectral_radius = 0.9, storage = "sparse" }, 2, 30)        -- short rows (sliced)
esn({ units = 100, density = 0.5, spectral_radius = 0.9, precision = "f32" }, 3, 30)          -- f32 rows
do -- kuramoto.phase: fused Euler + sin/cos kernel, order-parameter lanes
  local sim = lam.sim { dt = 0.01, seed = 4 }
  sim:add("osc", "kuramoto.phase", { n = 1000, k = 2, integrator = "euler" })
  sim:run_ticks(50)
  out[#out + 1] = digest(sim:port("osc.phases"))
end
do -- reservoir.lif: the AVX2 / default clones of the integration pass
  local sim = lam.sim { dt = 0.1, seed = 5 }
  sim:add("net", "reservoir.lif", lam.spikes.preset("cuba", { n = 501 }))
  sim:run_ticks(300)
  out[#out + 1] = digest(sim:port("net.v"))
end
io.write(table.concat(out, "\n"), "\n")
