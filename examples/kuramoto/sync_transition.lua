-- examples/kuramoto/sync_transition.lua - the Kuramoto synchronisation
-- transition: r_inf(K) of N all-to-all oscillators with Lorentzian natural
-- frequencies (half-width delta) against the exact large-N result
-- r_inf = sqrt(1 - 2 delta / K) above K_c = 2 delta (0 below).
--
--   lamina run examples/kuramoto/sync_transition.lua            # one point, K = 3
--   lamina run examples/kuramoto/sync_transition.lua k=1.5 seed=4
--   lamina run examples/kuramoto/sync_transition.lua loop=true  # K sweep x replicates + figure
--   lamina sweep examples/kuramoto/sync_transition.yaml         # the same as a protocol
--
-- One point: random Lorentzian frequencies (omega_sampling = random, so
-- replicates differ; seed picks them), uniform random start, Heun with
-- dt = 0.05, r averaged over the second half of T.  Returns { r = ..., theory = ... }.
local lam = require "lamina"
local p = lam.params { n = 2000, k = 3.0, delta = 1.0, T = 60, seed = 1, loop = false,
                       kmin = 0.5, kmax = 6, nk = 12, reps = 3, out = "sync_transition.svg" }

local function theory(k) return k > 2 * p.delta and math.sqrt(1 - 2 * p.delta / k) or 0 end

local function point(k, seed)
  local sim = lam.sim { dt = 0.05, seed = seed }
  sim:add("osc", "kuramoto.phase", { n = p.n, k = k, omega_dist = "lorentzian", omega_width = p.delta,
                                     omega_sampling = "random", integrator = "heun" })
  local rec = sim:record("osc.order")
  sim:run(p.T)
  local d, c = rec:data(), rec:count()
  local s = 0
  for i = math.floor(c / 2) + 1, c do s = s + d:get(i, 1) end
  return s / (c - math.floor(c / 2))
end

if not p.loop then
  local r = point(p.k, p.seed)
  print(string.format("K = %g: r_inf = %.4f (theory %.4f, N = %d)", p.k, r, theory(p.k), p.n))
  return { r = r, theory = theory(p.k) }
end

local ks, mean, th, kx, ry = {}, {}, {}, {}, {}
for i = 1, p.nk do
  local k = p.kmin + (p.kmax - p.kmin) * (i - 1) / (p.nk - 1)
  local s = 0
  for rep = 1, p.reps do
    local r = point(k, p.seed + rep - 1)
    s = s + r
    kx[#kx + 1], ry[#ry + 1] = k, r
  end
  ks[i], mean[i], th[i] = k, s / p.reps, theory(k)
  print(string.format("K = %5.2f  r_inf = %.4f  theory %.4f", k, mean[i], th[i]))
end
local fine, fth = {}, {}
for i = 1, 200 do fine[i] = p.kmin + (p.kmax - p.kmin) * (i - 1) / 199; fth[i] = theory(fine[i]) end
lam.plot.lines {
  { name = "theory sqrt(1 - 2 delta/K)", x = fine, y = fth },
  { name = "simulation (mean of replicates)", x = ks, y = mean, dash = "4 3" },
  title = string.format("Kuramoto transition, Lorentzian delta = %g, N = %d", p.delta, p.n),
  xlabel = "coupling K", ylabel = "r_inf", ylim = { 0, 1 },
}:save(p.out)
print("wrote " .. p.out)
return { kc_theory = 2 * p.delta }
