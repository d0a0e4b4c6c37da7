#!/usr/bin/env luajit
-- Expansion of protocols into points (lamina sweep --plan): counts and
-- order of grid, zip, list, random, product, union and replicates; ids
-- recomputed independently (SHA-256 of the canonical point, by sha256sum);
-- replicate seeds recomputed with lam_seed_derive; stable ids; override
-- precedence.
package.path = "tests/sweep/?.lua;" .. package.path
local tap = require "tap"
local T = require "common"
local ffi = require "ffi"
ffi.cdef "uint64_t lam_seed_derive(uint64_t seed, uint64_t a, uint64_t b);"
local L = ffi.load(os.getenv("LAMINA_LIB") or "build/lib/liblamina.so")
tap.plan(40)
local dir = T.tmpdir()

local function plan(body, args)
  local p = T.protocol(dir, body)
  return T.plan(p, args)
end
local function params(row) return row.point:match('"params":(%b{})') end

-- grid: the product, first key slowest
local rows, out = plan([[
script: @SCRIPT@
out: @OUT@
sweep:
  grid: { a: [1, 2, 3], b: [0.1, 0.2] }
]])
tap.is(#rows, 6, "grid 3 x 2 gives 6 points")
tap.is(params(rows[1]), '{"a":1,"b":0.1}', "grid: first point")
tap.is(params(rows[2]), '{"a":1,"b":0.2}', "grid: the last key varies fastest")
tap.is(params(rows[6]), '{"a":3,"b":0.2}', "grid: last point")
local allid = true
for _, r in ipairs(rows) do allid = allid and T.sha256(r.point):sub(1, 12) == r.id end
tap.ok(allid, "every id is the first 12 hex digits of SHA-256 of the canonical point")
if not allid then tap.diag(out) end

-- replicate seeds: lam_seed_derive(root, H, r) with H = first 64 bits of
-- SHA-256 of the canonical parameters, cut to 53 bits
rows = plan([[
script: @SCRIPT@
out: @OUT@
seed: 42
sweep:
  grid: { a: [1, 2] }
  replicates: 3
]])
tap.is(#rows, 6, "replicates 3 of a 2-point grid give 6 points")
tap.ok(rows[1].replicate == 0 and rows[2].replicate == 1 and rows[3].replicate == 2 and rows[4].replicate == 0,
  "replicates of one point are adjacent")
local seeds_ok, distinct = true, {}
for _, r in ipairs(rows) do
  local h = T.sha256(params(r))
  local H = ffi.new("uint64_t", tonumber(h:sub(1, 8), 16)) * 2 ^ 32 + tonumber(h:sub(9, 16), 16)
  local want = bit.band(L.lam_seed_derive(42, H, r.replicate), 0x1FFFFFFFFFFFFFULL)
  seeds_ok = seeds_ok and tostring(want):gsub("ULL", "") == r.seed
  distinct[r.seed] = true
end
tap.ok(seeds_ok, "seeds are lam_seed_derive(root, H(params), replicate), hashed not added")
local nd = 0
for _ in pairs(distinct) do nd = nd + 1 end
tap.is(nd, 6, "six distinct seeds")

-- zip, list, a grid and a zip in one mapping, product of zips, union
rows = plan([[
script: @SCRIPT@
out: @OUT@
sweep:
  zip: { a: [1, 2, 3], b: [4, 5, 6] }
]])
tap.is(#rows, 3, "zip of three gives 3 points")
tap.is(params(rows[2]), '{"a":2,"b":5}', "zip pairs the i-th values")
rows = plan([[
script: @SCRIPT@
out: @OUT@
sweep:
  list:
    - { a: 1, label: one }
    - { a: 2, label: "two words" }
]])
tap.is(#rows, 2, "list of two gives 2 points")
tap.is(params(rows[2]), '{"a":2,"label":"two words"}', "list: strings kept")
rows = plan([[
script: @SCRIPT@
out: @OUT@
sweep:
  grid: { a: [1, 2] }
  zip: { b: [0.5, 0.6, 0.7], label: [x, y, z] }
]])
tap.is(#rows, 6, "grid x zip in one mapping: 2 x 3")
tap.is(params(rows[4]), '{"a":2,"b":0.5,"label":"x"}', "grid x zip: grid slowest")
rows = plan([[
script: @SCRIPT@
out: @OUT@
sweep:
  product:
    - zip: { a: [1, 2], b: [3, 4] }
    - zip: { label: [u, v, w], flag: [true, false, true] }
  replicates: 2
]])
tap.is(#rows, 12, "a grid of zips (product of 2 and 3) with 2 replicates: 12")
rows = plan([[
script: @SCRIPT@
out: @OUT@
sweep:
  union:
    - grid: { a: [1, 2] }
    - list: [ { a: 5, b: 1 } ]
]])
tap.is(#rows, 3, "union concatenates: 2 + 1")
tap.is(params(rows[3]), '{"a":5,"b":1}', "union: second part last")

-- random: counts, bounds, determinism
local rbody = [[
script: @SCRIPT@
out: @OUT@
sweep:
  random:
    n: 50
    seed: SEED
    params:
      a: { uniform: [2, 3] }
      b: { log-uniform: [0.001, 0.1] }
      sleep: { integer: [0, 0] }
      label: { choice: [p, q] }
]]
rows = plan((rbody:gsub("SEED", "7")))
tap.is(#rows, 50, "random n=50 gives 50 points")
local inb, labels = true, {}
local mean_a = 0
for _, r in ipairs(rows) do
  local a = tonumber(r.point:match('"a":([%d%.e%-]+)'))
  local b = tonumber(r.point:match('"b":([%d%.e%-]+)'))
  inb = inb and a > 2 and a < 3 and b > 0.001 and b < 0.1
  labels[r.point:match('"label":"(%a)"')] = true
  mean_a = mean_a + a / #rows
end
tap.ok(inb, "uniform and log-uniform samples within their bounds")
tap.ok(labels.p and labels.q, "choice draws both choices in 50 samples")
-- mean of 50 U(2,3): sd 0.289/sqrt(50) = 0.041; 4 sd = 0.17
tap.near(mean_a, 2.5, 0.17, "uniform sample mean within 4 sd of 2.5")
local again = plan((rbody:gsub("SEED", "7")))
tap.is(again[50].point, rows[50].point, "same random seed, same samples")
local other = plan((rbody:gsub("SEED", "8")))
tap.ok(other[1].point ~= rows[1].point, "another random seed, other samples")
rows = plan([[
script: @SCRIPT@
out: @OUT@
sweep:
  random: { n: 4000, params: { b: { normal: [1, 2] } } }
]])
local m, v = 0, 0
for _, r in ipairs(rows) do m = m + tonumber(r.point:match('"b":([%d%.e%-]+)')) / #rows end
for _, r in ipairs(rows) do v = v + (tonumber(r.point:match('"b":([%d%.e%-]+)')) - m) ^ 2 / (#rows - 1) end
-- mean: sd 2/sqrt(4000) = 0.032, 4 sd = 0.13; variance: sd 4*sqrt(2/3999) = 0.09, 4 sd = 0.36
tap.near(m, 1, 0.13, "normal samples: mean 1")
tap.near(v, 4, 0.36, "normal samples: variance 4")

-- stable ids: independent of position and spelling
local a = plan([[
script: @SCRIPT@
out: @OUT@
sweep: { grid: { a: [1, 2] } }
]])
local b = plan([[
script: @SCRIPT@
out: @OUT@
sweep: { grid: { a: [0, 1.0, 2e0] } }
]])
tap.ok(a[1].id == b[2].id and a[2].id == b[3].id, "ids depend on values only (1 = 1.0, 2 = 2e0; position ignored)")
local c = plan([[
script: @SCRIPT@
out: @OUT@
sweep: { grid: { a: [1, 2] } }
]])
tap.ok(c[1].id == a[1].id and c[2].id == a[2].id, "the same protocol gives the same ids again")
-- the canonical point is the documented text, so another machine that
-- hashes the same text gets the same id
tap.is(a[1].point, '{"params":{"a":1},"seed":' .. a[1].seed .. '}', "canonical point: sorted keys, shortest numbers")

-- overrides: command line over swept values over base params
rows = plan([[
script: @SCRIPT@
out: @OUT@
params: { b: 0.25, label: base }
sweep: { grid: { a: [1, 2, 3] } }
]], "b=7")
tap.is(params(rows[1]), '{"a":1,"b":7,"label":"base"}', "command-line b=7 overrides params")
rows = plan([[
script: @SCRIPT@
out: @OUT@
params: { a: 9 }
sweep: { grid: { a: [1, 2] } }
]])
tap.is(params(rows[2]), '{"a":2}', "swept values override params")
local merged, mout = plan([[
script: @SCRIPT@
out: @OUT@
sweep: { grid: { a: [1, 2, 3] }, replicates: 2 }
]], "a=5")
tap.is(#merged, 2, "overriding the swept key leaves one point (x 2 replicates)")
tap.is(params(merged[1]), '{"a":5}', "... with the override's value")
local s1 = plan([[
script: @SCRIPT@
out: @OUT@
sweep: { grid: { a: [1] } }
]], "seed=9")
local s2 = plan([[
script: @SCRIPT@
out: @OUT@
seed: 9
sweep: { grid: { a: [1] } }
]])
tap.is(s1[1].seed, s2[1].seed, "seed=9 on the command line = seed: 9 in the protocol")
tap.ok(s1[1].seed ~= c[1].seed, "another root seed, another point seed")
tap.ok(not s1[1].point:find('"seed":9'), "the root seed is not a parameter of the point")
rows = plan([[
script: @SCRIPT@
out: @OUT@
sweep: { list: [ { seed: 3, a: 1 }, { seed: 4, a: 1 } ] }
]])
tap.ok(#rows == 2 and rows[1].seed ~= rows[2].seed, "a swept seed is each point's root")
local t = plan([[
script: @SCRIPT@
out: @OUT@
]])
tap.is(#t, 1, "no sweep: one point")
tap.like(T.slurp(dir .. "/out/points.tsv") or "", "index\tid\treplicate\tseed\tpoint", "points.tsv written")
local _, _, st = plan([[
script: @SCRIPT@
out: @OUT@
sweep: { grid: { a: [1, 2] }, zip: { a: [3, 4] } }
]])
tap.is(st, 2, "a key swept twice is refused")
os.execute("rm -rf " .. dir)
tap.done()
