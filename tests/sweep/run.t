#!/usr/bin/env luajit
-- Running a sweep: crash isolation (a segfault through the FFI, a Lua
-- error, a NaN result), results.csv / results.npz from completed points
-- only, --status, resume (completed points are not run again, failed ones
-- are), refusal when the script changed under completed points, --force.
package.path = "tests/sweep/?.lua;" .. package.path
local tap = require "tap"
local T = require "common"
tap.plan(33)
local dir = T.tmpdir()
-- a copy of the point script, so the test can change it
T.spit(dir .. "/point.lua", T.slurp(T.point))
local p = T.protocol(dir, ([[
name: crash
script: point.lua
out: out
params: { b: 0.5 }
sweep:
  union:
    - grid: { a: [1, 2, 3] }
    - list:
        - { a: 4, mode: error }
        - { a: 5, mode: segv }
        - { a: 6, mode: nan }
]]))
local out, st = T.sh(T.lamina .. " sweep " .. p .. " -j 2")
tap.is(st, 1, "a sweep with failed points exits 1")
tap.like(out, "3 of 6 points completed, 3 failed", "summary line counts")
local rows = T.plan(p)
local by_a = {}
for _, r in ipairs(rows) do by_a[tonumber(r.point:match('"a":(%d+)'))] = r end
local o = dir .. "/out"
tap.is(T.run_status(o, by_a[1].id), "COMPLETED", "a = 1 completed")
tap.is(T.run_status(o, by_a[3].id), "COMPLETED", "a = 3 completed")
tap.is(T.run_status(o, by_a[4].id), "FAILED", "the Lua error is FAILED in its run.json")
local s5 = T.slurp(o .. "/points/" .. by_a[5].id .. "/point.json") or ""
tap.like(s5, "killed by signal 11 (Segmentation fault)", "the segfault is recorded in point.json")
local status, sst = T.sh(T.lamina .. " sweep " .. p .. " --status")
tap.is(sst, 1, "--status exits 1 when points failed")
tap.like(status, "completed  3", "--status: 3 completed")
tap.like(status, "failed     3", "--status: 3 failed")
tap.like(status, "deliberate failure for a = 4", "--status shows the Lua error")
tap.like(status, "Segmentation fault", "--status shows the signal")
tap.like(status, "returned y = NaN or infinity", "--status shows the NaN")
tap.like(status, "to rerun (indices): 3 4 5", "--status lists the indices to rerun")

-- results: completed points only, in plan order, y = 10 a + b
local csv, head = T.csv(o .. "/results.csv")
tap.is(#csv, 3, "results.csv has the 3 completed points")
tap.is(table.concat(head, ","), "id,index,replicate,seed,a,b,mode,flag,label,result.seed,y",
  "columns: id, index, replicate, seed, parameters, returned scalars (a clash gets 'result.')")
tap.ok(csv[1].a == "1" and csv[2].a == "2" and csv[3].a == "3", "rows in plan order")
tap.ok(csv[1].y == "10.5" and csv[2].y == "20.5" and csv[3].y == "30.5", "y = 10 a + b")
tap.ok(csv[1]["result.seed"] == csv[1].seed and csv[1].id == by_a[1].id, "each point ran with its derived seed")
tap.ok(csv[1].label == "x" and csv[1].flag == "false", "returned strings and booleans are columns too")
local np = T.sh([[/usr/bin/python3 -c "
import numpy as np; d = np.load(']] .. o .. [[/results.npz')
print(d['y'].tolist(), d['trace'].shape, format(int(d['id'][0]), '012x'), d['a'].tolist())"]])
tap.like(np, "[10.5, 20.5, 30.5] (3, 3) " .. by_a[1].id .. " [1.0, 2.0, 3.0]",
  "results.npz: y, the returned array stacked (3, 3), ids as integers, parameters")

-- rerun: completed points are skipped, failed ones run again
local before = select(2, T.run_status(o, by_a[1].id))
out, st = T.sh(T.lamina .. " sweep " .. p .. " -j 2")
tap.is(select(2, T.run_status(o, by_a[1].id)), before, "a completed point is not run again")
tap.ok(T.slurp(o .. "/points/" .. by_a[4].id .. "/attempt-1/run.json") ~= nil,
  "a failed point runs again; its earlier attempt is kept as attempt-1")
tap.is(st, 1, "still 3 failures")

-- the script changes: completed points no longer mean the same
T.spit(dir .. "/point.lua", T.slurp(T.point) .. "\n-- changed\n")
out, st = T.sh(T.lamina .. " sweep " .. p .. " -j 2")
tap.is(st, 2, "a changed script under completed points is refused")
tap.like(out, "completed under another definition", "... saying why")
tap.like(out, "--force", "... and how to proceed")
tap.is(select(2, T.run_status(o, by_a[1].id)), before, "nothing ran")
status = T.sh(T.lamina .. " sweep " .. p .. " --status")
-- the NaN point also completed (its run.json says so) under the old script
tap.like(status, "conflict   4", "--status counts the conflicts")
out, st = T.sh(T.lamina .. " sweep " .. p .. " -j 2 --force")
tap.is(T.run_status(o, by_a[1].id), "COMPLETED", "--force reruns them")
tap.ok(select(2, T.run_status(o, by_a[1].id)) ~= before and T.slurp(o .. "/points/" .. by_a[1].id .. "/attempt-1/run.json") == before,
  "... keeping the earlier result as attempt-1")
csv = T.csv(o .. "/results.csv")
tap.is(#csv, 3, "results.csv again has 3 rows")
-- the progress bar: drawn on a terminal (a pty from script(1)), absent in a pipe
local q = T.protocol(dir, "name: bar\nscript: @SCRIPT@\nout: " .. dir .. "/bar\nsweep: { grid: { a: [1, 2, 3] } }\n", "bar.yaml")
local tty = T.sh("script -qec '" .. T.lamina .. " sweep " .. q .. " -j 1' /dev/null")
tap.ok(tty:find("\rbar [####################..........] 2/3", 1, true) ~= nil and tty:find("ETA", 1, true) ~= nil,
  "on a terminal: a progress bar with done/total and ETA")
os.execute("rm -rf " .. dir .. "/bar")
local piped = T.sh(T.lamina .. " sweep " .. q .. " -j 1")
tap.ok(not piped:find("\r", 1, true) and not piped:find("[#", 1, true), "in a pipe: no progress bar")
os.execute("rm -rf " .. dir)
tap.done()
