-- ou_variance.lua: one point of examples/sweeps/ou_grid.yaml.
--
-- An Ornstein-Uhlenbeck process dx = -x/tau dt + sigma dW has stationary
-- variance sigma^2 tau / 2.  We run `channels` independent stim.ou
-- processes started in their stationary distribution, record them every
-- `every` ms (well apart compared with tau at the largest tau, so the
-- samples are close to independent), and return the measured variance
-- with its theory value; the sweep collects one row per (tau, sigma, seed).
--
--   lamina run examples/sweeps/ou_variance.lua tau=20 sigma=0.5 --seed 3
local lam = require "lamina"
local p = lam.params { tau = 10, sigma = 1, channels = 50, T = 2000, every = 20, dt = 0.1, seed = 1 }

local sim = lam.sim { dt = p.dt, seed = p.seed }
sim:add("ou", "stim.ou", { channels = p.channels, tau = p.tau, sigma = p.sigma, stationary = true })
local rec = sim:record("ou.x", { every = sim:ticks(p.every, "every"), save = false })
sim:run(p.T)

local x = rec:data()
local theory = p.sigma ^ 2 * p.tau / 2
local v = x:var()
return { variance = v, theory = theory, ratio = v / theory, samples = x:size() }
