-- examples/kuramoto/chimera.lua - a chimera state on two communities
-- (Abrams, Mirollo, Strogatz, Wiley 2008): identical Sakaguchi oscillators,
-- coupling mu inside a population and nu across (mu + nu = 1, A = mu - nu),
-- lag alpha = pi/2 - beta.  Population 1 stays locked (r1 = 1) while
-- population 2 keeps drifting with r2 < 1: one network, two behaviours.
--
--   lamina run examples/kuramoto/chimera.lua [A=0.2 beta=0.1 npop=128 T=500]
--
-- Identical oscillators with sinusoidal coupling have a huge neutral
-- (Watanabe-Strogatz) family of states, and a random start usually ends in
-- full synchrony.  So the script first solves the Ott-Antonsen equations of
-- Abrams et al. for population 2 with population 1 in sync,
--   r' = (1 - r^2)/2 (mu r cos a + nu cos(phi - a))
--   phi' = (1 + r^2)/(2r) (mu r sin a - nu sin(phi - a)) - mu sin a - nu r sin(phi + a),
-- for the chimera fixed point (r*, phi*) by Newton's method, and starts
-- population 2 on it: wrapped-Cauchy quantiles with r0 = r*, centred at
-- -phi*, randomly permuted.  The network then stays there (<r2> = r*).
--
-- The dense weights W_ij = mu/npop or nu/npop (row = target, norm none)
-- come in through set_weights.  Reports the time-averaged r of each
-- population, Shanahan's metastability and chimera indices, and writes
-- chimera.svg (r1, r2 over time) and chimera_phases.svg (final phases).
local lam = require "lamina"
local sync = require "lamina.analysis.sync"
local p = lam.params { A = 0.2, beta = 0.1, npop = 128, T = 500, dt = 0.05, seed = 1,
                       out = "chimera.svg", out_phases = "chimera_phases.svg" }

local n = 2 * p.npop
local mu, nu = (1 + p.A) / 2, (1 - p.A) / 2
local alpha = math.pi / 2 - p.beta

-- The OA chimera fixed point of population 2 (Newton, numerical Jacobian).
local function F(r, f)
  return (1 - r * r) / 2 * (mu * r * math.cos(alpha) + nu * math.cos(f - alpha)),
         (1 + r * r) / (2 * r) * (mu * r * math.sin(alpha) - nu * math.sin(f - alpha))
           - mu * math.sin(alpha) - nu * r * math.sin(f + alpha)
end
local rs, phis = 0.7, 0.2
for _ = 1, 60 do
  local a, b = F(rs, phis)
  local h = 1e-7
  local ar, br = F(rs + h, phis)
  local af, bf = F(rs, phis + h)
  local j11, j12, j21, j22 = (ar - a) / h, (af - a) / h, (br - b) / h, (bf - b) / h
  local det = j11 * j22 - j12 * j21
  rs, phis = rs - (j22 * a - j12 * b) / det, phis - (-j21 * a + j11 * b) / det
end
print(string.format("OA chimera: r2* = %.4f, phi* = %.4f", rs, phis))
local W = lam.buf.new({ n, n })
local w = W:ptr()
for i = 0, n - 1 do
  for j = 0, n - 1 do
    local same = (i < p.npop) == (j < p.npop)
    w[i * n + j] = (same and mu or nu) / p.npop
  end
end
local sim = lam.sim { dt = p.dt, seed = p.seed }
local osc = sim:add("osc", "kuramoto.phase", { n = n, coupling = "dense", norm = "none", k = 1,
                                              alpha = alpha, integrator = "heun" })
osc:call("set_weights", W)
-- population 1 in sync; population 2 on the OA chimera (see above)
local th, perm = {}, {}
local rng = lam.rng(1, 0, p.seed)
for i = 1, p.npop do perm[i] = i end
for i = p.npop, 2, -1 do
  local k = math.floor(rng:uniform(0, 1) * i) + 1
  perm[i], perm[k] = perm[k], perm[i]
end
local q = (1 - rs) / (1 + rs)
for i = 1, n do
  if i <= p.npop then th[i] = 0 else
    local j = perm[i - p.npop]
    th[i] = -phis + 2 * math.atan(q * math.tan(math.pi * (2 * j - p.npop - 1) / (2 * (p.npop + 1))))
  end
end
sim:set("osc.phases", th)
local rec = sim:record("osc.phases", { every = 20 }) -- every 1 time unit
sim:run(p.T)

local groups = {}
for i = 1, n do groups[i] = i <= p.npop and 1 or 2 end
local rg = sync.order(rec:data(), groups)
local T = rg:shape()[1]
local r1, r2, t = {}, {}, {}
local m1, m2 = 0, 0
for s = 1, T do
  r1[s], r2[s], t[s] = rg:get(s, 1), rg:get(s, 2), (s - 1) * 20 * p.dt
  if s > T / 2 then m1, m2 = m1 + r1[s], m2 + r2[s] end
end
m1, m2 = m1 / (T - math.floor(T / 2)), m2 / (T - math.floor(T / 2))
local lambda, chi = sync.shanahan(rg:rows(math.floor(T / 2) + 1, T))
print(string.format("A = %g, beta = %g: <r1> = %.4f (synchronised), <r2> = %.4f (drifting; OA %.4f)", p.A, p.beta, m1, m2, rs))
print(string.format("Shanahan metastability %.4f, chimera index %.4f", lambda, chi))
lam.plot.lines { x = t, ["r1 (population 1)"] = r1, ["r2 (population 2)"] = r2,
                 title = "chimera: order parameter per population", xlabel = "t", ylabel = "r", ylim = { 0, 1.05 } }:save(p.out)
local final = sim:port("osc.phases")
local xs, ys = {}, {}
for i = 1, n do xs[i], ys[i] = i, (final:get(i) - final:get(1)) % (2 * math.pi) end
lam.plot.scatter { x = xs, y = ys, title = "phases at the end (relative to oscillator 1)",
                   xlabel = "oscillator", ylabel = "theta - theta_1 (mod 2 pi)" }:save(p.out_phases)
print("wrote " .. p.out .. " and " .. p.out_phases)
return { r1 = m1, r2 = m2, r2_oa = rs, chimera = chi, metastability = lambda }
