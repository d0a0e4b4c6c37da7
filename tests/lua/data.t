#!/usr/bin/env luajit
-- lamina.data generators: reference statistics from reservoir.md §2 and
-- textbook invariants, exact recursions, determinism and option errors.
-- Fixed seeds; every tolerance is stated in the test name.
local tap = require "tap"
local D = require "lamina.data"
tap.plan(38)

local function maxdiff(a, b, n, ia, ib)
  local pa, pb, m = a:ptr(), b:ptr(), 0
  for i = 0, n - 1 do
    local d = math.abs(pa[(ia or 0) + i] - pb[(ib or 0) + i])
    if not (d <= m) then m = d ~= d and math.huge or math.max(m, d) end
  end
  return m
end
local function identical(a, b)
  if a:size() ~= b:size() then return false end
  local pa, pb = a:ptr(), b:ptr()
  for i = 0, a:size() - 1 do if pa[i] ~= pb[i] then return false end end
  return true
end

-- Mackey–Glass: reference procedure (RK4, dt_int 0.1, linear delay
-- interpolation, sample 1.0, discard 1000, history 1.2).
local mg = D.mackey_glass { n = 5000 }
tap.is(table.concat(mg:shape(), "x"), "5000", "mackey_glass: n samples, 1-d")
tap.near(mg:mean(), 0.929, 0.01, "mackey_glass tau=17: mean 0.929 +- 0.01")
tap.near(mg:std(), 0.226, 0.01, "mackey_glass tau=17: std 0.226 +- 0.01")
tap.ok(math.abs(mg:min() - 0.418) < 0.01 and math.abs(mg:max() - 1.318) < 0.01,
  "mackey_glass tau=17: range [0.418, 1.318] +- 0.01")
local half = D.mackey_glass { n = 2 * 5000 - 1, sample = 0.5 }
do
  local p, q, m = mg:ptr(), half:ptr(), 0
  for k = 0, 4999 do m = math.max(m, math.abs(p[k] - q[2 * k])) end
  tap.ok(m <= 1e-12, "mackey_glass sample=0.5 equals sample=1.0 at shared times (<= 1e-12; got " .. m .. ")")
end
-- Convergence from the constant history (no transient, x at t = 50) against
-- dt_int = 0.001: linear delay interpolation is second order, Hermite fourth.
do
  local function err(h, interp)
    local a = D.mackey_glass { n = 2, discard = 0, sample = 50, dt_int = h, interp = interp }
    local r = D.mackey_glass { n = 2, discard = 0, sample = 50, dt_int = 0.001, interp = interp }
    return math.abs(a:ptr()[1] - r:ptr()[1])
  end
  local l1, l2 = err(0.1, "linear"), err(0.05, "linear")
  local h1, h2 = err(0.1, "hermite"), err(0.05, "hermite")
  tap.ok(l1 < 1e-4 and l1 / l2 > 3 and l1 / l2 < 5,
    string.format("mackey_glass linear: error at t=50 < 1e-4, halving dt_int divides it by 3..5 (%.3g, ratio %.2f)", l1, l1 / l2))
  tap.ok(h1 < 1e-9 and h1 / h2 > 12 and h1 / h2 < 20,
    string.format("mackey_glass hermite: error at t=50 < 1e-9, halving dt_int divides it by 12..20 (%.3g, ratio %.2f)", h1, h1 / h2))
end
local herm = D.mackey_glass { n = 5000, interp = "hermite" }
tap.ok(math.abs(herm:mean() - 0.929) < 0.01 and math.abs(herm:std() - 0.226) < 0.01,
  "mackey_glass hermite: same attractor statistics, mean 0.929 +- 0.01, std 0.226 +- 0.01")
local t30 = D.mackey_glass { n = 3000, tau = 30 }
tap.ok(t30:min() > 0 and t30:max() < 2 and t30:std() > 0.1, "mackey_glass tau=30: bounded in (0, 2), std > 0.1")
local mgn1 = D.mackey_glass { n = 200, noise = 0.05, seed = 7 }
local mgn2 = D.mackey_glass { n = 200, noise = 0.05, seed = 7 }
local mgn3 = D.mackey_glass { n = 200, noise = 0.05, seed = 8 }
tap.ok(identical(mgn1, mgn2) and not identical(mgn1, mgn3) and not identical(mgn1, mg:slice(1, 200):copy()),
  "mackey_glass noisy history: same seed identical, other seed / no noise differ")

-- NARMA-10
local u, y = D.narma10 { n = 3000, seed = 11 }
do
  local pu, py, m = u:ptr(), y:ptr(), 0
  for t = 9, 2998, 7 do
    local s = 0
    for i = 0, 9 do s = s + py[t - i] end
    local want = 0.3 * py[t] + 0.05 * py[t] * s + 1.5 * pu[t - 9] * pu[t] + 0.1
    m = math.max(m, math.abs(py[t + 1] - want))
  end
  tap.ok(m < 1e-15, "narma10: y(t+1) = 0.3y(t) + 0.05y(t)sum_{i=0..9}y(t-i) + 1.5u(t-9)u(t) + 0.1 (< 1e-15)")
end
tap.ok(u:min() >= 0 and u:max() < 0.5 and math.abs(u:mean() - 0.25) < 0.01, "narma10: u in [0, 0.5), mean 0.25 +- 0.01")
tap.ok(y:min() > 0.1 and y:max() < 1.5, "narma10: y bounded in (0.1, 1.5) after burn-in")
tap.near(y:mean(), 0.384, 0.02, "narma10: mean 0.384 +- 0.02 (reservoir.md, other RNG)")
do
  local u2, y2 = D.narma10 { n = 3000, seed = 11 }
  local u3 = D.narma10 { n = 3000, seed = 12 }
  tap.ok(identical(u, u2) and identical(y, y2) and not identical(u, u3), "narma10: same seed identical, other seed differs")
  local u0, y0 = D.narma10 { n = 3200, seed = 11, discard = 0 }
  tap.ok(maxdiff(y0, y, 3000, 200, 0) == 0 and maxdiff(u0, u, 3000, 200, 0) == 0 and y0:ptr()[0] == 0,
    "narma10: discard=200 is the tail of discard=0, which starts at y = 0")
end

-- Lorenz-63 (sigma 10, rho 28, beta 8/3): long-run means.  <z> = 23.5
-- (e.g. Lorenz-attractor statistics quoted as 23.5-23.6; measured here over
-- 2000 time units, the sampling error of a 2000-unit average is ~0.1).
-- Exact identities of time averages on the attractor: <xy> = beta<z>
-- (from dz/dt) and <x^2> = <xy> (from d(x^2)/dt).
local L = D.lorenz63 { n = 200000, dt = 0.01, discard = 1000 }
tap.is(table.concat(L:shape(), "x"), "200000x3", "lorenz63: [n, 3]")
tap.near(L:col(3):mean(), 23.5, 0.5, "lorenz63: <z> = 23.5 +- 0.5")
do
  local p, n, xy, xx, z = L:ptr(), 200000, 0, 0, 0
  for i = 0, n - 1 do
    xy = xy + p[3 * i] * p[3 * i + 1]
    xx = xx + p[3 * i] * p[3 * i]
    z = z + p[3 * i + 2]
  end
  tap.ok(math.abs(xy / (8 / 3 * z) - 1) < 0.01 and math.abs(xx / xy - 1) < 0.01,
    "lorenz63: <xy> = beta<z> and <x^2> = <xy> within 1%")
end
do
  -- RK4 order: error at t = 1 against 1e5 steps; halving the step from
  -- 1/200 divides it by 12..20 (16 for a fourth-order method).
  local r = D.lorenz63 { n = 2, dt = 1, substeps = 100000 }
  local function err(s)
    local a, e = D.lorenz63 { n = 2, dt = 1, substeps = s }, 0
    for i = 3, 5 do e = math.max(e, math.abs(a:ptr()[i] - r:ptr()[i])) end
    return e
  end
  local e1, e2 = err(200), err(400)
  tap.ok(e1 < 1e-5 and e1 / e2 > 12 and e1 / e2 < 20,
    string.format("lorenz63 RK4: error at t=1 < 1e-5 with h=1/200, ratio 12..20 on halving (%.3g, %.2f)", e1, e1 / e2))
  local a = D.lorenz63 { n = 3, dt = 0.01 }
  tap.is(a:ptr()[0] + a:ptr()[1] + a:ptr()[2], 3, "lorenz63: row 1 is x0 = {1, 1, 1} when discard = 0")
end

-- Lorenz-96, Rössler
local L96 = D.lorenz96 { n = 5000, dt = 0.01, discard = 1000 }
tap.is(table.concat(L96:shape(), "x"), "5000x36", "lorenz96: [n, N=36]")
tap.ok(L96:min() > -15 and L96:max() < 20 and L96:std() > 2 and L96:mean() > 1.5 and L96:mean() < 3,
  "lorenz96 F=8: chaotic (std > 2), bounded (-15, 20), mean in (1.5, 3)")
do
  local c = D.lorenz96 { n = 2, dt = 0.01, N = 5, F = 0, x0 = { 0, 0, 0, 0, 0 } }
  tap.ok(c:min() == 0 and c:max() == 0, "lorenz96: F = 0, x = 0 is a fixed point")
end
local R = D.rossler { n = 20000, dt = 0.05, discard = 2000 }
tap.ok(R:col(1):min() > -12 and R:col(1):max() < 14 and R:col(3):min() > 0 and R:col(3):max() < 30
  and R:col(1):std() > 3, "rossler a=b=0.2 c=5.7: x in (-12, 14), z in (0, 30), std x > 3")

-- Hénon: attractor x in [-1.2848, 1.2731], y in [-0.3855, 0.3820] (Hénon
-- 1976 trapping region is larger; these are the attractor's extent), <x> ~ 0.256.
local H = D.henon { n = 100000 }
tap.ok(H:col(1):min() > -1.29 and H:col(1):max() < 1.28 and H:col(2):min() > -0.39 and H:col(2):max() < 0.39,
  "henon a=1.4 b=0.3: x in (-1.29, 1.28), y in (-0.39, 0.39)")
tap.near(H:col(1):mean(), 0.26, 0.02, "henon: <x> = 0.26 +- 0.02")
tap.near(H:col(2):mean() / H:col(1):mean(), 0.3, 1e-3, "henon: <y> = b<x> (+- 1e-3 on the ratio)")

-- Logistic map r = 4: invariant density 1/(pi sqrt(x(1-x))), mean 1/2, var 1/8.
local lg = D.logistic { n = 200000, r = 4, x0 = 0.2, discard = 100 }
tap.near(lg:mean(), 0.5, 0.01, "logistic r=4: mean 0.5 +- 0.01")
tap.near(lg:var(), 0.125, 0.005, "logistic r=4: variance 1/8 +- 0.005")

-- Memory capacity input
do
  local a, tg = D.memory_capacity_input { n = 4000, seed = 5, k_max = 20 }
  local b = D.memory_capacity_input { n = 4000, seed = 5 }
  local c = D.memory_capacity_input { n = 4000, seed = 6 }
  tap.ok(a:min() >= -0.8 and a:max() < 0.8 and math.abs(a:mean()) < 0.03 and math.abs(a:var() - 0.64 / 3) < 0.01,
    "memory_capacity_input: U[-0.8, 0.8): mean 0 +- 0.03, var 0.2133 +- 0.01")
  local ok = identical(a, b) and not identical(a, c)
  local pa, pt = a:ptr(), tg:ptr()
  for j = 20, 3999, 13 do
    for k = 1, 20 do ok = ok and pt[j * 20 + k - 1] == pa[j - k] end
  end
  tap.ok(ok and table.concat(tg:shape(), "x") == "4000x20",
    "memory_capacity_input: deterministic per seed; targets [n, k_max] with column k = u(t-k)")
end

-- Label permutations
do
  local P = D.label_permutation { n_classes = 6, n_phases = 8, seed = 3 }
  local Q = D.label_permutation { n_classes = 6, n_phases = 8, seed = 3 }
  local S = D.label_permutation { n_classes = 6, n_phases = 8, seed = 4 }
  local t = P:totable()
  local ok = P:dtype() == "i32" and table.concat(t[1], ",") == "1,2,3,4,5,6"
  for p = 1, 8 do
    local seen, cnt = {}, 0
    for c = 1, 6 do
      local v = t[p][c]
      if v >= 1 and v <= 6 and not seen[v] then seen[v] = true; cnt = cnt + 1 end
    end
    ok = ok and cnt == 6
    if p > 1 then ok = ok and table.concat(t[p], ",") ~= table.concat(t[p - 1], ",") end
  end
  tap.ok(ok and identical(P, Q) and not identical(P, S),
    "label_permutation: phase 1 identity, rows are permutations, consecutive phases differ, seeded")
  local Dr = D.label_permutation { n_classes = 4, n_phases = 10, seed = 1, derange = true, base = 0 }:totable()
  local good = true
  for p = 2, 10 do
    for c = 1, 4 do good = good and Dr[p][c] ~= Dr[p - 1][c] and Dr[p][c] >= 0 and Dr[p][c] <= 3 end
  end
  tap.ok(good, "label_permutation derange=true base=0: every label changes between phases, values 0..3")
end

-- Option errors: one line naming the option, its value and the range.
tap.raises(function() D.mackey_glass { n = 10, tau = 0.05 } end, { "mackey_glass", "tau=0.05", ">= dt_int" },
  "error: mackey_glass tau below dt_int")
tap.raises(function() D.mackey_glass { n = 10, sample = 0.25, dt_int = 0.1 } end,
  { "sample=0.25", "multiple of dt_int=0.1" }, "error: mackey_glass sample not a multiple of dt_int")
tap.ok(select(2, pcall(D.narma10, { n = 0 })):find("n=0: expected an integer >= 1", 1, true)
  and select(2, pcall(D.narma10, { n = 10, seed = -1 })):find("seed=-1", 1, true)
  and select(2, pcall(D.narma10, { n = 10, sede = 1 })):find("unknown option 'sede'", 1, true)
  and select(2, pcall(D.narma10, 10)):find("expected a table of options", 1, true),
  "errors: narma10 n=0, seed=-1, misspelt option, non-table")
tap.ok(select(2, pcall(D.logistic, { n = 5, r = 4.5 })):find("r=4.5: expected a number > 0 and <= 4", 1, true)
  and select(2, pcall(D.lorenz63, { n = 5, x0 = { 1, 2 } })):find("x0 has 2 entries: expected a table of 3 numbers", 1, true)
  and select(2, pcall(D.henon, { n = 5, a = 1.4, x0 = { 10, 10 } })):find("escaped", 1, true)
  and select(2, pcall(D.memory_capacity_input, { n = 5, low = 1, high = 0 })):find("high=0: expected a number > low (1)", 1, true)
  and select(2, pcall(D.label_permutation, { n_classes = 1, n_phases = 2 })):find("n_classes=1", 1, true),
  "errors: logistic r=4.5, lorenz63 short x0, henon escape, MC high<=low, n_classes=1")

tap.done()
