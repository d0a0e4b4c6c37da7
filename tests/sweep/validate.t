#!/usr/bin/env luajit
-- A parameter value a plugin's model does not accept is an error before
-- any point runs: the sweep runs each point's script up to its first
-- sim:run with LAMINA_VALIDATE set (lamina.sim records what sim:add
-- refused), checking only points that bring a new (parameter, value) pair.
package.path = "tests/sweep/?.lua;" .. package.path
local tap = require "tap"
local T = require "common"
tap.plan(8)
local dir = T.tmpdir()
T.spit(dir .. "/ou.lua", [[
local lam = require "lamina"
local p = lam.params { tau = 10, sigma = 1, seed = 1 }
local sim = lam.sim { dt = 1, seed = p.seed }
sim:add("o", "stim.ou", { channels = 2, tau = p.tau, sigma = p.sigma })
sim:run(10)
return { x = sim:port("o.x"):get(1) }
]])
local bad = T.protocol(dir, [[
name: refused
script: ou.lua
out: out
sweep:
  grid: { tau: [5, 10, -1], sigma: [0.5, 1] }
  replicates: 3
]], "bad.yaml")
local out, st = T.sh(T.lamina .. " sweep " .. bad .. " -j 2")
tap.is(st, 2, "a value the model refuses: status 2")
tap.like(out, "tau=-1): stim.ou: parameter 'tau' = -1 is out of range", "the error names the point's values and the model's message")
tap.like(out, "nothing was run", "... and says nothing was run")
local ls = T.sh("ls " .. dir .. "/out/points 2>/dev/null | wc -l")
tap.is(tonumber(ls), 0, "no point directory was made")
out, st = T.sh(T.lamina .. " sweep " .. bad .. " -j 2 tau=7")
tap.is(st, 0, "the same protocol with tau=7 from the command line runs")
tap.like(out, "6 of 6 points completed", "... all 6 points")
-- A failure that is not a model refusing its parameters is left for the
-- real run (crash isolation stays per point).
T.spit(dir .. "/late.lua", [[
local lam = require "lamina"
local p = lam.params { a = 1 }
if p.a == 2 then error("this point fails in the script, not in a model") end
return { a = p.a }
]])
local late = T.protocol(dir, [[
name: late
script: late.lua
out: out2
sweep:
  grid: { a: [1, 2, 3] }
]], "late.yaml")
out, st = T.sh(T.lamina .. " sweep " .. late .. " -j 2")
tap.is(st, 1, "a script error is not a model refusal: the sweep runs and exits 1")
tap.like(out, "2 of 3 points completed, 1 failed", "... with that point FAILED")
os.execute("rm -rf " .. dir)
tap.done()
