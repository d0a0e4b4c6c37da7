-- recording.lua: the ways of recording a port, and where the data goes.
--
-- An Ornstein-Uhlenbeck process (stim.ou) is recorded three ways at once:
--   * in memory every 1 ms, read back in the script (rec:data(), rec:times());
--   * streamed to disk at full resolution (`to_file`), memory staying
--     bounded however long the run;
--   * in memory over a window, under a name of our choice.
-- Under `lamina run` everything lands in the run directory:
--   runs/recording/<run-id>/run.json     provenance and status
--                           data.npz     the memory recordings
--                           ou_full.npy  the stream (+ ou_full.ticks.npy)
--                           summary.npz  saved by this script (lam.savez)
--                           result.json  the table returned below
-- Open them in Python with
--   z = np.load("runs/recording/<run-id>/data.npz"); z["ou.x"], z["ou.x.ticks"]
--   x = np.load("runs/recording/<run-id>/ou_full.npy", mmap_mode="r")
--
-- The script checks the recording against theory: the stationary variance
-- of the OU process is sigma^2 tau / 2 (stim.ou uses the exact update, so
-- this holds for any dt).
--
--   lamina run examples/recording.lua                  (defaults below)
--   lamina run examples/recording.lua seconds=20 --seed 3 --out /tmp/ou
local lam = require "lamina"

local p = lam.params { channels = 50, seconds = 5, dt = 0.1, tau = 10, sigma = 0.5, seed = 1 }
local sim = lam.sim { dt = p.dt, seed = p.seed }
sim:add("ou", "stim.ou", { channels = p.channels, tau = p.tau, sigma = p.sigma, stationary = true })

local every_ms = sim:record("ou.x", { every_ms = 1 })                    -- memory
local full = sim:record("ou.x", { to_file = "ou_full" })                 -- disk
local window = sim:record("ou.x", { from_ms = 1000, to_ms = 2000, name = "second_1" })
sim:run(p.seconds * 1000)

-- Variance over all samples and channels against sigma^2 tau / 2.
local x = every_ms:data()                   -- [samples, channels]
local var = x:var()
local theory = p.sigma ^ 2 * p.tau / 2
-- Samples 1 ms apart are correlated (tau = 10 ms): the effective number of
-- independent samples per channel is about T / (2 tau).
local n_eff = p.channels * p.seconds * 1000 / (2 * p.tau)
local se = theory * math.sqrt(2 / n_eff)

lam.savez("summary.npz", { variance = { var }, theory = { theory } })
print(string.format("OU variance %.4f, theory sigma^2 tau / 2 = %.4f (%.1f standard errors)",
                    var, theory, (var - theory) / se))
print(string.format("memory: %d samples every 1 ms; stream: %d samples at dt = %g ms in %s; window: %d",
                    every_ms:count(), full:count(), p.dt, full.file, window:count()))
return { variance = var, theory = theory, z = (var - theory) / se,
         samples_memory = every_ms:count(), samples_stream = full:count() }
