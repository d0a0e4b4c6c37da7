#!/usr/bin/env luajit
-- Buffers from Lua: construction, views, 1-based slicing, reductions and
-- in-place helpers, against hand-computed values (tolerance 1e-12).
local tap = require "tap"
local lam = require "lamina"
local B = lam.buf
tap.plan(33)

local b = B.from({ { 1, 2, 3 }, { 4, 5, 6 } })
tap.is(table.concat(b:shape(), "x"), "2x3", "from: shape of a nested table")
tap.is(b:dtype(), "f64", "from: default dtype f64")
tap.is(b:size(), 6, "size")
tap.is(b:get(2, 3), 6, "get(2, 3) is 1-based")
tap.is(b:ptr()[4], 5, "ptr() is 0-based row-major")
tap.near(b:sum(), 21, 1e-12, "sum")
tap.near(b:mean(), 3.5, 1e-12, "mean")
tap.is(b:min(), 1, "min")
tap.is(b:max(), 6, "max")
tap.near(b:var(), 35 / 12, 1e-12, "population variance")

local r = b:rows(2, 2)
tap.is(table.concat(r:shape(), "x"), "1x3", "rows(2, 2) shape")
r:set(40, 1, 1)
tap.is(b:get(2, 1), 40, "a view writes through to its owner")
local col = b:col(2)
tap.is(table.concat(col:totable(), ","), "2,5", "col(2) holds the column")
col:set(50, 2)
tap.is(b:get(2, 2), 50, "col(2) is a view: writes reach the owner")
tap.is(table.concat(b:row(1):totable(), ","), "1,2,3", "row(1) is the first row")
tap.ok(not b:slice(1, 2, 1, 2):is_contiguous(), "a column slice is not contiguous")

do -- a view keeps its owner alive after the owner's last Lua reference goes
  local v = B.from({ 7, 8, 9 }):slice(2, 3)
  collectgarbage(); collectgarbage()
  tap.is(table.concat(v:totable(), ","), "8,9", "view outlives its owner")
end

local i = B.from({ 1, 2, 3 }, "i32")
tap.is(i:dtype(), "i32", "from with dtype i32")
tap.raises(function() B.from({ 1e12 }, "i32") end, "does not fit", "i32 refuses 1e12")
tap.raises(function() B.from({ 1, "x" }) end, "element 2", "non-number element named")
tap.raises(function() B.from({ { 1, 2 }, { 3 } }) end, "ragged", "ragged table refused")
tap.raises(function() B.new({ 2, -1 }) end, "shape[2]", "negative dimension refused")
tap.raises(function() B.new({ 1, 1, 1, 1, 1 }) end, "at most 4", "5-d refused")
tap.raises(function() b:get(3, 1) end, "index 3 outside 1..2", "out-of-range index named")

local x = B.range(5)
x:scale(2):add(1)
tap.is(table.concat(x:totable(), ","), "1,3,5,7,9", "scale then add a number")
x:add(B.range(5), -1)
tap.is(table.concat(x:totable(), ","), "1,2,3,4,5", "add a buffer times alpha")
tap.is(x:copy("i64"):dtype(), "i64", "copy converts dtype")
tap.is(B.new(3):fill(2.5):sum(), 7.5, "fill")
tap.is(B.new({ 2, 2 }):assign({ 1, 2, 3, 4 }):get(2, 2), 4, "assign from a flat table")
tap.is(table.concat(b:reshape({ 3, 2 }):totable()[2], ","), "3,40", "reshape view: row 2 of the new 3x2 shape")
tap.raises(function() B.new(0):mean() end, "empty buffer", "mean of an empty buffer is an error")
tap.like(tostring(b), "lam.buf<f64>[2x3]", "tostring shows dtype and shape")

-- The collector is paced by the data of big buffers (buf.lua): 100 dead
-- 4 MiB buffers made in a loop (400 MiB in all, each zeroed, so resident
-- while alive) must not stay resident.  The Lua objects alone (a table
-- and a cdata each) would not start a collection cycle.  Bound: the
-- resident set grows by less than 64 MiB (a few live buffers).
local function rss_mib()
  local f = assert(io.open("/proc/self/statm"))
  local _, res = f:read("*n", "*n")
  f:close()
  return res * 4096 / 1048576
end
collectgarbage()
local r0 = rss_mib()
for _ = 1, 100 do B.new({ 512 * 1024 }) end
local grow = rss_mib() - r0
tap.ok(grow < 64, string.format("100 dead 4 MiB buffers: resident set grew %.1f MiB (< 64)", grow))
tap.done()
