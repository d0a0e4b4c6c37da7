#!/usr/bin/env luajit
-- tests/lua/sync.t - lamina.analysis.sync (core/sync.c) on phase series
-- whose answers are known in closed form.  Tolerances are stated per check
-- (rounding only unless said otherwise).
local tap = require "tap"
local lam = require "lamina"
local sync = require "lamina.analysis.sync"
local buf = lam.buf
tap.plan(25)

local PI = math.pi

local function series(T, N, f)
  local b = buf.new({ T, N })
  local p = b:ptr()
  for t = 0, T - 1 do for i = 0, N - 1 do p[t * N + i] = f(t, i) end end
  return b
end

-- order: global and per group; psi unwrapped.
do
  local th = { { 0, 0, PI, PI }, { 0, 0.1, -0.1, 0 } }
  local r, psi = sync.order(th)
  tap.near(r:get(1), 0, 1e-15, "r = 0 for two opposite pairs")
  tap.near(r:get(2), (2 + 2 * math.cos(0.1)) / 4, 1e-15, "r of a small spread = (2 + 2 cos 0.1)/4")
  local rg = sync.order(th, { 1, 1, 2, 2 })
  tap.ok(math.abs(rg:get(1, 1) - 1) < 1e-15 and math.abs(rg:get(1, 2) - 1) < 1e-15, "per group: each pair is coherent (r = 1)")
  local _, p2 = sync.order(series(100, 3, function(t) return (0.3 * t) % (2 * PI) end))
  tap.near(p2:get(100), 0.3 * 99, 1e-12, "psi is unwrapped along time (slope = collective frequency)")
  tap.raises(function() sync.order(buf.new({ 2, 2, 2 })) end, { "phases", "[T, N]" }, "a 3-d buffer is refused, naming 'phases'")
  tap.raises(function() sync.order(th, { 1, 0, 1, 1 }) end, { "groups[2] = 0" }, "a bad group label is refused")
end

-- local and network order parameters.
do
  local th = { { 0, PI / 2, PI } }
  local W = { { 0, 1, 1 }, { 1, 0, 0 }, { 2, 1, 0 } }
  local loc = sync.local_order(th, W)
  tap.near(loc:get(1, 1), math.sqrt(2) / 2, 1e-15, "local r_1 = |e^(i pi/2) + e^(i pi)|/2")
  tap.near(loc:get(1, 3), math.sqrt(5) / 3, 1e-15, "local r_3 = |2 + i|/3 (weighted)")
  local net = sync.network_order(th, W)
  tap.near(net:get(1), (math.sqrt(2) + 1 + math.sqrt(5)) / 6, 1e-15, "network order sum_i |.| / sum_ij W")
  tap.raises(function() sync.local_order(th, { { 1, 2 } }) end, { "weights", "square" }, "non-square W refused")
end

-- PLV: a constant difference locks (1); a difference turning 5 whole
-- cycles over the window averages to 0.
do
  local T = 200
  local ph = series(T, 3, function(t, i)
    if i == 2 then return 0.7 * t + 2 * PI * 5 * t / T end
    return 0.7 * t + 1.3 * i
  end)
  local plv = sync.plv(ph)
  tap.near(plv:get(1, 2), 1, 1e-12, "PLV = 1 for a constant phase difference")
  tap.near(plv:get(1, 3), 0, 1e-12, "PLV = 0 for a difference turning whole cycles")
  tap.near(plv:get(3, 3), 1, 1e-12, "PLV diagonal = 1")
  local coh = sync.coherence({ 0, 1.3, 2 })
  tap.near(coh:get(2, 3), math.cos(1.3 - 2), 1e-15, "coherence = cos(theta_i - theta_j)")
end

-- metastability and Shanahan's indices on constructed r series.
do
  tap.near(sync.metastability({ 0.2, 0.4, 0.6, 0.8 }), math.sqrt(((0.3) ^ 2 + 0.1 ^ 2) * 2 / 3), 1e-15,
    "metastability = sample std of r(t)")
  -- community 1: r = 1 always; community 2: r alternates 0, 1.
  local rg = { { 1, 0 }, { 1, 1 }, { 1, 0 }, { 1, 1 } }
  local lambda, chi = sync.shanahan(rg)
  -- var_t: c1 0, c2 (4 * 0.25)/3 = 1/3 -> mean 1/6; / (1/12) = 2
  tap.near(lambda, 2, 1e-12, "Shanahan metastability <var_t r_c>_c / (1/12)")
  -- var_c per t: 0.5 at t = 1, 3 (values 1, 0), 0 at t = 2, 4 -> mean 0.25; / (5/36) = 1.8
  tap.near(chi, 1.8, 1e-12, "chimera index <var_c r_c(t)>_t / (5/36)")
end

-- effective frequencies from wrapped phases; frequency and phase clusters.
do
  local ph = series(501, 3, function(t, i) return ((0.5 + i) * t * 0.01) % (2 * PI) end)
  local w = sync.frequencies(ph, 0.01)
  tap.ok(math.abs(w:get(1) - 0.5) < 1e-12 and math.abs(w:get(3) - 2.5) < 1e-12, "effective frequencies from wrapped phases (1e-12)")
  local labels, sizes, locked = sync.clusters({ 0, 0.001, 0.002, 1, 1.001 }, 0.01)
  tap.ok(labels[1] == labels[3] and labels[4] == labels[5] and labels[1] ~= labels[4] and #sizes == 2,
    "frequency clusters chain within tol")
  tap.near(locked, 0.6, 1e-15, "locked fraction = largest cluster / N")
  tap.near(sync.locked_fraction({ 0.1, 0.12, 3 }, 0.11, 0.05), 2 / 3, 1e-15, "locked fraction around a given frequency")
  local pl, ps = sync.phase_clusters({ 0.01, 2 * PI - 0.02, 3.1 }, 0.1)
  tap.ok(pl[1] == pl[2] and pl[3] ~= pl[1] and #ps == 2, "phase clusters join across 0 = 2 pi")
end

-- Hilbert phase: a cosine of whole cycles has phase 2 pi f t exactly.
do
  local T, f = 256, 8
  local x = buf.new({ T })
  local p = x:ptr()
  for t = 0, T - 1 do p[t] = 3 * math.cos(2 * PI * f * t / T + 0.4) end
  local h = sync.hilbert(x)
  local worst = 0
  for t = 1, T do
    local d = h:get(t) - (2 * PI * f * (t - 1) / T + 0.4)
    worst = math.max(worst, math.abs(math.atan2(math.sin(d), math.cos(d))))
  end
  tap.ok(worst < 1e-10, "Hilbert phase of a whole-cycle cosine (1e-10)")
end

-- A8: AKOrN energy voting picks the argmin of the summed or last score.
do
  local E = { { 1, 1, 1 }, { 0.5, 3, 0.9 } }
  tap.is(sync.energy_vote(E, "sum"), 1, "A8 energy vote 'sum': lowest summed score (3 < 4.4)")
  tap.is(sync.energy_vote(E, "last"), 2, "A8 energy vote 'last': lowest final score (0.9 < 1)")
end
tap.done()
