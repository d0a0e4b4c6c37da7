#!/usr/bin/env luajit
-- examples/sweeps: the stim.ou grid protocol runs (with T=1000 to keep the
-- test short), every point's variance agrees with sigma^2 tau / 2, and the
-- summary script reads results.npz and draws its figure.
package.path = "tests/sweep/?.lua;" .. package.path
local tap = require "tap"
local T = require "common"
tap.plan(6)
local dir = T.tmpdir()
local out, st = T.sh(T.lamina .. " sweep examples/sweeps/ou_grid.yaml T=1000 -j 2 --quiet --out " .. dir .. "/ou")
tap.is(st, 0, "the example protocol completes")
if st ~= 0 then tap.diag(out) end
local rows = T.csv(dir .. "/ou/results.csv") or {}
tap.is(#rows, 24, "4 tau x 2 sigma x 3 replicates = 24 points")
local mean, worst = 0, 0
for _, r in ipairs(rows) do
  local ratio = tonumber(r.ratio)
  mean = mean + ratio / #rows
  worst = math.max(worst, math.abs(ratio - 1))
end
-- Per point: 50 channels x 50 samples 20 ms apart; at tau = 40 consecutive
-- samples correlate by e^-0.5, so about 625 effective samples and a
-- relative sd of the variance of sqrt(2/625) = 0.057 (smaller at lower tau).
-- The mean of 24 points has sd < 0.012: tolerance 0.05.  A single point:
-- 5 sd = 0.28.
tap.near(mean, 1, 0.05, "mean measured / theory variance over 24 points")
tap.ok(worst < 0.28, "every point within 5 sd of its theory (worst |ratio - 1| = " .. string.format("%.3f", worst) .. ")")
out, st = T.sh(T.lamina .. " run examples/sweeps/ou_summary.lua results=" .. dir .. "/ou/results.npz --out " .. dir .. "/sum")
tap.is(st, 0, "the summary script runs on results.npz")
tap.like(T.slurp(dir .. "/sum/ou_summary.svg") or "", "<svg", "... and writes its figure")
os.execute("rm -rf " .. dir)
tap.done()
