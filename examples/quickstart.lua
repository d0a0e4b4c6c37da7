-- quickstart.lua: Poisson spike trains at three rates from the stim plugin,
-- checked against theory.
--
-- A homogeneous Poisson process of rate r observed for T seconds gives a
-- spike count with mean r*T and variance r*T, so the Fano factor
-- (variance / mean of counts in equal windows) is 1.  We run three
-- stim.poisson models side by side, record their cumulative spike counts
-- every `window` ms, and compare the measured rate and Fano factor with
-- theory in units of their standard errors.
--
--   lamina run examples/quickstart.lua                 (defaults below)
--   lamina run examples/quickstart.lua channels=500 seconds=20 --seed 7
local lam = require "lamina"

local p = lam.params { channels = 200, seconds = 10, window = 100, dt = 0.1, seed = 1 }
local rates = { 5, 20, 80 }

local sim = lam.sim { dt = p.dt, seed = p.seed }
local recs = {}
for i, r in ipairs(rates) do
  local name = "p" .. r
  sim:add(name, "stim.poisson", { channels = p.channels, rate = r })
  -- `count` is the cumulative spike count per channel; one sample at the
  -- end of every window (the sample at tick t holds the count after t).
  local every = sim:ticks(p.window, "window")
  recs[i] = sim:record(name .. ".count", { every = every, from = every - 1 })
end
sim:run(p.seconds * 1000)

print(string.format("Poisson spike trains: %d channels x %g s, dt = %g ms, seed %d",
                    p.channels, p.seconds, p.dt, p.seed))
print(" rate/Hz   measured/Hz   z(rate)   Fano   z(Fano)   windows")
local result = {}
for i, r in ipairs(rates) do
  local counts = recs[i]:data()             -- [nwindows, channels], i64
  local nw, nc = counts:shape()[1], counts:shape()[2]
  local c = counts:ptr()
  -- Spikes per window and channel: differences of the cumulative count.
  local sum, sumsq, n = 0, 0, 0
  for w = 0, nw - 1 do
    for ch = 0, nc - 1 do
      local k = tonumber(c[w * nc + ch]) - (w > 0 and tonumber(c[(w - 1) * nc + ch]) or 0)
      sum, sumsq, n = sum + k, sumsq + k * k, n + 1
    end
  end
  local mean = sum / n
  local var = (sumsq - n * mean * mean) / (n - 1)
  local T = nw * p.window / 1000               -- observed seconds per channel
  local measured = sum / (nc * T)
  local se_rate = math.sqrt(r / (nc * T))      -- Poisson: var(count) = mean
  local fano = var / mean
  local se_fano = math.sqrt(2 / (n - 1))       -- large-sample SE of a Fano factor of 1
  local z_rate, z_fano = (measured - r) / se_rate, (fano - 1) / se_fano
  print(string.format("%8g %13.3f %9.2f %7.4f %9.2f %9d", r, measured, z_rate, fano, z_fano, n))
  result["rate_" .. r] = measured
  result["fano_" .. r] = fano
  result["z_rate_" .. r] = z_rate
  result["z_fano_" .. r] = z_fano
end
print("theory: measured rate = rate and Fano = 1; |z| < 4 is expected for every row")
return result
