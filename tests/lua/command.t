#!/usr/bin/env luajit
-- The `lamina` command: run with parameters and seeds, errors as one line
-- with a non-zero status, plugins, plugin info, plugin check, version.
local tap = require "tap"
local build = os.getenv("LAMINA_TEST_BUILD") or "build"
local lamina = build .. "/bin/lamina"
tap.plan(17)

local sh = tap.sh

local tmp = os.tmpname()
local f = io.open(tmp, "w")
f:write([[
local lam = require "lamina"
local p = lam.params { n = 3, name = "x", flag = false, seed = 1 }
local sim = lam.sim { dt = 0.1, seed = p.seed }
sim:add("o", "stim.ou", { channels = p.n, stationary = true })
sim:run(1)
return { n = p.n, name = p.name, flag = tostring(p.flag), x1 = sim:port("o.x"):get(1), seed = p.seed }
]])
f:close()

local out, st = sh(lamina .. " run " .. tmp .. " --quiet")
tap.is(st, 0, "run: exit status 0")
tap.like(out, "n = 3", "run: prints the returned table")
out = sh(lamina .. " run " .. tmp .. " n=5 name=abc flag=true")
tap.ok(out:find("n = 5", 1, true) and out:find("name = abc", 1, true) and out:find("flag = true", 1, true),
  "run: key=value overrides, converted to the defaults' types")
local a = sh(lamina .. " run " .. tmp .. " --seed 9")
local b = sh(lamina .. " run " .. tmp .. " --seed 9")
local c = sh(lamina .. " run " .. tmp .. " --seed 10")
tap.ok(a == b and a:find("seed = 9", 1, true), "run: --seed 9 twice gives identical output")
tap.ok(a ~= c, "run: another seed gives another output")
out, st = sh(lamina .. " run " .. tmp .. " nn=5")
tap.ok(st ~= 0 and out:find("unknown parameter 'nn'", 1, true), "run: an unknown key fails naming it")
tap.is(select(2, out:gsub("\n", "")), 1, "run: the error is one line")
out, st = sh(lamina .. " run " .. tmp .. " n=abc")
tap.ok(st ~= 0 and out:find("n=abc: expected a number", 1, true), "run: a wrong type fails naming key and value")
out, st = sh(lamina .. " run /nonexistent.lua")
tap.ok(st ~= 0 and out:find("/nonexistent.lua", 1, true), "run: a missing script is named")
os.remove(tmp)

out, st = sh(lamina .. " version")
tap.ok(st == 0 and out:find("^lamina %d+%.%d+%.%d+") ~= nil and out:find("plugin ABI 1.1", 1, true), "version")
out, st = sh(lamina .. " plugins")
tap.ok(st == 0 and out:find("stim", 1, true) and out:find("sha256", 1, true), "plugins lists stim with its sha256")
out, st = sh(lamina .. " plugin info stim.ou")
tap.ok(st == 0 and out:find("tau", 1, true) and out:find("range [", 1, true) and out:find("ms", 1, true),
  "plugin info: parameters with type, range and units")
tap.ok(out:find("citation:", 1, true) and out:find("plugin stim 0.", 1, true), "plugin info: version and citation")
tap.ok(out:find("ports:", 1, true) and out:find("state f64 [channels]", 1, true), "plugin info: ports")
out, st = sh(lamina .. " plugin info nosuch.model")
tap.ok(st ~= 0 and out:find("tried", 1, true), "plugin info: an unknown model lists the paths tried")
out, st = sh(lamina .. " plugin check " .. build .. "/lib/lamina/plugins/stim.so")
tap.ok(st == 0 and not out:find("not ok", 1, true), "plugin check passes for stim.so")
out, st = sh(lamina .. " frobnicate")
tap.ok(st ~= 0 and out:find("unknown or incomplete command", 1, true), "unknown command")
tap.done()
