#!/usr/bin/env luajit
-- The simulation from Lua: time in ms and ticks, Lua events (pulled by
-- sim:run, run before their tick), scheduled actions in C, parameter errors
-- and reproducibility, using the real stim plugin.
local tap = require "tap"
local lam = require "lamina"
tap.plan(22)

local sim = lam.sim { dt = 0.5, seed = 3 }
sim:add("s", "stim.sine", { channels = 1, amplitude = 1, freq = 0, phase = math.pi / 2, offset = 0 })
local seen = {}
sim:at(2.0, function(s) seen[#seen + 1] = "at2:" .. s:tick() end)
sim:every(1.0, function(s) seen[#seen + 1] = "every:" .. s:tick() end)
sim:run(3.0)
tap.is(sim:tick(), 6, "run(3 ms) at dt 0.5 is 6 ticks")
tap.is(table.concat(seen, " "), "every:2 at2:4 every:4", "events at their ticks, ties in insertion order")
tap.is(sim:time(), 3.0, "time() = tick * dt")
tap.raises(function() sim:run(0.3) end, "not a whole number of steps", "fractional run refused")
tap.raises(function() sim:at(1.0, function() end) end, "in the past", "event in the past refused")

-- An event sees the state after the previous tick and can change a port
-- that the model reads at this tick.
local s2 = lam.sim { dt = 1, seed = 1 }
s2:add("p", "stim.poisson", { channels = 4, rate = 0 })
local rec = s2:record("p.spikes")
s2:at(10, function(s) s:set("p.rate", 1e6) end)
s2:run(20)
local d = rec:data()
local before, after = d:rows(1, 10):sum(), d:rows(11, 20):sum()
tap.is(before, 0, "no spikes at rate 0 before the event")
tap.ok(after > 0, "spikes from the tick of the event on (rate set by a Lua event)")

-- Scheduled actions in C: at_set at tick 5, at_param for a mutable param.
local s3 = lam.sim { dt = 1 }
s3:add("o", "stim.ou", { channels = 1, sigma = 0, tau = 1, mu = 0, x0 = 0 })
local r3 = s3:record("o.x")
s3:at_set(5, "o.x", 8)
s3:at_param(5, "o.mu", 2)
s3:run(7)
local x = r3:data():totable()
tap.near(x[5][1], 0, 0, "x stays 0 before the action (sigma 0)")
tap.near(x[6][1], 2 + 6 * math.exp(-1), 1e-12, "at tick 5: x set to 8, mu set to 2, one exact OU step")
tap.raises(function() s3:at_param(9, "o.channels", 2) end, "cannot change during a run", "immutable param not schedulable")

-- Parameter errors name key, value and range, before anything is added.
local s4 = lam.sim { dt = 0.1 }
tap.raises(function() s4:add("p", "stim.poisson", { rate = -1 }) end,
  { "'rate'", "-1", "[0, 1000000]" }, "out of range: key, value and range in the message")
tap.raises(function() s4:add("p", "stim.poisson", { rat = 1 }) end,
  { "unknown parameter 'rat'", "did you mean 'rate'" }, "unknown key with a suggestion")
tap.raises(function() s4:add("p", "stim.poisson", { channels = 1.5 }) end, "not an integer", "non-integer for an integer")
tap.raises(function() s4:add("p", "stim.poisson", { rate = "fast" }) end, "wrong type", "string for a number")
tap.raises(function() s4:add("p", "stim.nosuch", {}) end, "has no model 'stim.nosuch'", "unknown model names the plugin's models")
tap.is(#s4:models(), 0, "nothing was added by the failed calls")

-- Same seed, same bytes; another seed, other bytes.
local function ou(seed)
  local s = lam.sim { dt = 0.1, seed = seed }
  s:add("o", "stim.ou", { channels = 8, stationary = true })
  local r = s:record("o.x")
  s:run(50)
  local b = r:data()
  return require("ffi").string(b:ptr(), b:size() * 8)
end
tap.ok(ou(5) == ou(5), "same seed gives byte-identical recordings")
tap.ok(ou(5) ~= ou(6), "different seeds give different recordings")
tap.raises(function() lam.sim { dt = 0 } end, "dt = 0", "dt must be > 0")
-- Automatic divergence checks: every step for small models, every
-- ceil(n / 4096) steps for big ones (10000 elements: every 3rd step), so
-- a NaN set at tick 10 is seen after step 11 or step 12 respectively.
local function nan_at_10(n, check)
  local s = lam.sim { dt = 1, check_every = check }
  s:add("o", "stim.ou", { channels = n, tau = 1e9, sigma = 0 })
  local x = {}
  for i = 1, n do x[i] = 0 / 0 end
  s:at_set(10, "o.x", x)
  local ok, err = pcall(s.run_ticks, s, 100)
  return not ok and tostring(err) or "no error"
end
tap.like(nan_at_10(100), "NaN at tick 10 (t = 10) after step 11", "automatic check: 100 elements, every step")
tap.like(nan_at_10(10000), "NaN at tick 11 (t = 11) after step 12", "automatic check: 10000 elements, every 3rd step")
tap.like(nan_at_10(10000, 1), "NaN at tick 10 (t = 10) after step 11", "check_every = 1 checks big models every step")
tap.done()
