#!/usr/bin/env luajit
-- SIGKILL of a running sweep at several moments (fixed pseudo-random
-- delays), then a rerun: every point ends COMPLETED exactly once, points
-- completed before the kill are not run again, no orphaned point completes
-- after the sweep died, and results.csv has each point once.
package.path = "tests/sweep/?.lua;" .. package.path
local tap = require "tap"
local T = require "common"
local trials = { 0.3, 0.45, 0.6 }  -- seconds after the start (fixed: deterministic test)
tap.plan(6 * #trials)
local dir = T.tmpdir()

for trial, delay in ipairs(trials) do
  local out = dir .. "/out" .. trial
  local p = T.protocol(dir, [[
script: @SCRIPT@
out: ]] .. out .. [[

params: { sleep: 0.15 }
sweep:
  grid: { a: [1, 2, 3, 4, 5, 6, 7, 8] }
]], "k" .. trial .. ".yaml")
  local pid = T.sh(T.lamina .. " sweep " .. p .. " -j 2 --quiet >/dev/null 2>&1 & echo $!"):match("%d+")
  os.execute("sleep " .. delay)
  os.execute("kill -9 " .. pid .. " 2>/dev/null")
  os.execute("sleep 0.05")
  local rows = T.plan(p)
  local done_before, runs_before = {}, {}
  for _, r in ipairs(rows) do
    local st, text = T.run_status(out, r.id)
    if st == "COMPLETED" then
      done_before[r.id] = true
      runs_before[r.id] = text
    end
  end
  -- orphans would finish their 0.15 s points within this wait
  os.execute("sleep 0.3")
  local late = 0
  for _, r in ipairs(rows) do
    if not done_before[r.id] and T.run_status(out, r.id) == "COMPLETED" then late = late + 1 end
  end
  tap.is(late, 0, "trial " .. trial .. " (kill at " .. delay .. " s): no point completed after the sweep died")
  local _, st = T.sh(T.lamina .. " sweep " .. p .. " -j 2 --quiet")
  tap.is(st, 0, "trial " .. trial .. ": the rerun completes")
  local all, same, nbefore = true, true, 0
  for _, r in ipairs(rows) do
    local s2, text = T.run_status(out, r.id)
    all = all and s2 == "COMPLETED"
    if done_before[r.id] then
      nbefore = nbefore + 1
      same = same and text == runs_before[r.id]
    end
  end
  tap.ok(all, "trial " .. trial .. ": every point COMPLETED")
  tap.ok(same, "trial " .. trial .. ": the " .. nbefore .. " points completed before the kill did not run again")
  local csv = T.csv(out .. "/results.csv")
  local seen, dup = {}, false
  for _, r in ipairs(csv) do
    dup = dup or seen[r.id]
    seen[r.id] = true
  end
  tap.is(#csv, 8, "trial " .. trial .. ": results.csv has 8 rows")
  tap.ok(not dup, "trial " .. trial .. ": each point once")
end
os.execute("rm -rf " .. dir)
tap.done()
