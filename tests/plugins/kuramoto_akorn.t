#!/usr/bin/env luajit
-- tests/plugins/kuramoto_akorn.t - kuramoto.akorn against the exact cases
-- A1-A7 of the reference (section 2.8; A8, energy voting, is a Lua
-- analysis and is tested in tests/lua/sync.t), plus dense/sparse agreement
-- and the readout.  Tolerances are stated in each check.
local tap = require "tap"
local lam = require "lamina"
local buf = lam.buf
tap.plan(15)

local PI = math.pi

local function akorn(params, seed)
  local sim = lam.sim { dt = 1, seed = seed or 1 }
  local m = sim:add("ak", "kuramoto.akorn", params)
  return sim, m
end

local kt = require "kurtest"
local values, filled, maxdiff, lcg = kt.values, kt.filled, kt.maxdiff, kt.lcg

-- A1: unit norm after every step; a stimulus parallel to x is projected out.
do
  local M, n = 40, 4
  local rnd = lcg(1)
  local sim, ak = akorn({ oscillators = M, dim = n, gamma = 0.7, omega = 0.3 })
  ak:call("set_coupling", filled({ M * n, M * n }, function() return rnd() - 0.5 end))
  sim:set("ak.stimulus", filled({ 1, M, n }, function() return rnd() - 0.5 end))
  local worst = 0
  for _ = 1, 20 do
    sim:run(1)
    local x = values(sim:port("ak.x"))
    for i = 0, M - 1 do
      local s = 0
      for d = 1, n do s = s + x[i * n + d] ^ 2 end
      worst = math.max(worst, math.abs(math.sqrt(s) - 1))
    end
  end
  tap.ok(worst <= 1e-12, "A1 |x_i| = 1 after each of 20 steps (1e-12)")
  local s2 = akorn({ oscillators = 5, dim = 3, gamma = 1 })
  local c = filled({ 1, 5, 3 }, function(i) return (i % 3) + 1 + math.floor(i / 3) end)
  local x0 = {}
  for o = 0, 4 do
    local s = 0
    for d = 0, 2 do s = s + c:ptr()[o * 3 + d] ^ 2 end
    for d = 0, 2 do x0[o * 3 + d + 1] = c:ptr()[o * 3 + d] / math.sqrt(s) end
  end
  s2:set("ak.stimulus", c)
  s2:set("ak.x", filled({ 1, 5, 3 }, function(i) return x0[i + 1] end))
  local before = values(s2:port("ak.x"))
  s2:run(3)
  tap.ok(maxdiff(before, values(s2:port("ak.x"))) <= 1e-12, "A1 c parallel to x: the tangent projection is 0, x stays (1e-12: rounding with |c| ~ 11)")
end

-- A2: Omega only: each step rotates by exactly atan(gamma omega).
do
  local g, w, T = 0.5, 0.8, 7
  local sim = akorn({ oscillators = 3, dim = 2, gamma = g, omega = w })
  local x0 = values(sim:port("ak.x"))
  sim:run(T)
  local x1 = values(sim:port("ak.x"))
  local worst = 0
  for i = 0, 2 do
    local a0 = math.atan2(x0[2 * i + 2], x0[2 * i + 1])
    local a1 = math.atan2(x1[2 * i + 2], x1[2 * i + 1])
    local d = (a1 - a0 + T * math.atan(g * w)) % (2 * PI)
    worst = math.max(worst, math.min(d, 2 * PI - d))
  end
  tap.ok(worst <= 1e-12, "A2 T steps rotate by -T atan(gamma omega), not gamma omega (1e-12)")
end

-- A3: stimulus only: phi' = phi - atan(gamma |c| sin phi); x -> c/|c|.
do
  local g, cx, cy = 0.4, 1.5, -0.5
  local sim = akorn({ oscillators = 1, dim = 2, gamma = g })
  sim:set("ak.stimulus", { { { cx, cy } } })
  local x = values(sim:port("ak.x"))
  local ac, cn = math.atan2(cy, cx), math.sqrt(cx * cx + cy * cy)
  local phi = math.atan2(x[2], x[1]) - ac
  phi = math.atan2(math.sin(phi), math.cos(phi))
  local worst = 0
  for _ = 1, 30 do
    sim:run(1)
    phi = phi - math.atan(g * cn * math.sin(phi))
    x = values(sim:port("ak.x"))
    local got = math.atan2(x[2], x[1]) - ac
    got = math.atan2(math.sin(got), math.cos(got))
    worst = math.max(worst, math.abs(got - phi))
  end
  tap.ok(worst <= 1e-12, "A3 angle to c follows phi - atan(gamma |c| sin phi) exactly (1e-12)")
  tap.ok(math.abs(phi) < 1e-6, "A3 x converges to c/|c| (1e-6 after 30 steps)")
end

-- A4: radial_term (use_omega = False) equals the Omega-free step with
-- gamma' = gamma/(1 + gamma).
do
  local M, n = 10, 4
  local rnd = lcg(2)
  local J = filled({ M * n, M * n }, function() return rnd() - 0.5 end)
  local c = filled({ 1, M, n }, function() return rnd() - 0.5 end)
  local function run(params)
    params.oscillators, params.dim = M, n
    local sim, ak = akorn(params)
    ak:call("set_coupling", J)
    sim:set("ak.stimulus", c)
    sim:run(6)
    return values(sim:port("ak.x"))
  end
  local quirk = run({ gamma = 1, radial_term = true, omega = 5 })
  local plain = run({ gamma = 0.5 })
  tap.ok(maxdiff(quirk, plain) <= 1e-12, "A4 radial_term with gamma = 1 equals gamma' = 1/2 without it (1e-12)")
end

-- A5: n = 2, J = K/N, c = 0, no rotation: the phase-Euler Kuramoto model
-- to O(dt^2) (the renormalised step turns by atan(dt f), not dt f):
-- <= 1e-4 rad after 300 steps of dt = 0.01, N = 500, K = 2.
do
  local N, K, dt = 500, 2, 0.01
  local sim, ak = akorn({ oscillators = N, dim = 2, gamma = dt })
  ak:call("set_coupling", filled({ 2 * N, 2 * N }, function(e)
    local r, col = math.floor(e / (2 * N)), e % (2 * N)
    return (r % 2 == col % 2) and K / N or 0
  end))
  local ps = lam.sim { dt = dt, seed = 1 }
  ps:add("osc", "kuramoto.phase", { n = N, k = K, integrator = "euler" })
  local x = values(sim:port("ak.x"))
  local th = {}
  for i = 0, N - 1 do th[i + 1] = math.atan2(x[2 * i + 2], x[2 * i + 1]) end
  ps:set("osc.phases", th)
  sim:run(300)
  ps:run(300 * dt)
  x = values(sim:port("ak.x"))
  local p, worst = values(ps:port("osc.phases")), 0
  for i = 0, N - 1 do
    local d = math.atan2(x[2 * i + 2], x[2 * i + 1]) - p[i + 1]
    worst = math.max(worst, math.abs(math.atan2(math.sin(d), math.cos(d))))
  end
  tap.ok(worst <= 1e-4, string.format("A5 n = 2 AKOrN = phase-Euler Kuramoto to O(dt^2): max |dtheta| = %.2g (<= 1e-4)", worst))
end

-- A6: symmetric J, Omega = 0, gamma <= 0.2/|J|: the paper's energy never
-- rises.  |J|_2 <= |J|_F, so gamma = 0.2/|J|_F is safe.
do
  local M, n = 50, 4
  local rnd = lcg(4)
  local A, F = {}, 0
  for i = 0, M * n - 1 do A[i] = {} end
  for i = 0, M * n - 1 do
    for j = i, M * n - 1 do
      local v = (rnd() - 0.5) * 0.2
      A[i][j], A[j][i] = v, v
      F = F + (i == j and 1 or 2) * v * v
    end
  end
  local sim, ak = akorn({ oscillators = M, dim = n, gamma = 0.2 / math.sqrt(F) })
  ak:call("set_coupling", filled({ M * n, M * n }, function(e) return A[math.floor(e / (M * n))][e % (M * n)] end))
  sim:set("ak.stimulus", filled({ 1, M, n }, function() return rnd() - 0.5 end))
  local rec = sim:record("ak.energy")
  sim:run(60)
  local d, mono, code_first, code_last = rec:data(), true, nil, nil
  for s = 2, rec:count() do
    if d:get(s, 1, 2) > d:get(s - 1, 1, 2) + 1e-12 then mono = false end
  end
  code_first, code_last = d:get(2, 1, 1), d:get(rec:count(), 1, 1)
  tap.ok(mono, "A6 paper energy -1/2 xJx - c.x non-increasing over 60 steps (1e-12 rounding)")
  tap.ok(code_last < code_first, "A6 the code's score -sum <x, Jx + c> is reported beside it and falls too")
end

-- A7: conv coupling is translation-equivariant in the interior: shifting
-- the start by one column shifts x after one step (bitwise away from the
-- border).
do
  local H, W, G, n, k = 6, 8, 1, 2, 3
  local C = G * n
  local rnd = lcg(8)
  local ker = filled({ C, C, k, k }, function() return rnd() - 0.5 end)
  local pat = {}
  for i = 0, H * W * C - 1 do pat[i] = rnd() - 0.5 end
  local function run(shift)
    local sim, ak = akorn({ oscillators = H * W * G, dim = n, coupling = "conv", height = H, width = W })
    ak:call("set_conv", ker, { 0.1, -0.2 })
    local c = filled({ 1, H * W * G, n }, function(e)
      local pos, ch = math.floor(e / C), e % C
      local y, x = math.floor(pos / W), pos % W - shift
      if x < 0 then return 0.3 end
      return pat[(y * W + x) * C + ch]
    end)
    sim:set("ak.stimulus", c)
    sim:set("ak.x", c) -- normalised by the step; equivariance holds all the same
    sim:run(1)
    return values(sim:port("ak.x"))
  end
  local a, b = run(0), run(1)
  local worst = 0
  for y = 1, H - 2 do
    for x = 1, W - 3 do
      for ch = 1, C do
        worst = math.max(worst, math.abs(a[(y * W + x) * C + ch] - b[(y * W + x + 1) * C + ch]))
      end
    end
  end
  tap.ok(worst <= 1e-12, "A7 conv J: one step commutes with a one-column shift in the interior (1e-12)")
end

-- Dense J of blocks w_ij I_n equals the CSR form (1e-12), batch of 3.
do
  local M, n = 12, 4
  local rnd = lcg(9)
  local w = {}
  for i = 0, M - 1 do w[i] = {} for j = 0, M - 1 do w[i][j] = ((i + j) % 3 == 0) and (rnd() - 0.5) or 0 end end
  local function run(kind)
    local sim, ak = akorn({ oscillators = M, dim = n, batch = 3, coupling = kind, omega = 0.2 })
    if kind == "dense" then
      ak:call("set_coupling", filled({ M * n, M * n }, function(e)
        local r, c = math.floor(e / (M * n)), e % (M * n)
        return (r % n == c % n) and w[math.floor(r / n)][math.floor(c / n)] or 0
      end))
    else
      local ip, idx, ww = { 0 }, {}, {}
      for i = 0, M - 1 do
        for j = 0, M - 1 do if w[i][j] ~= 0 then idx[#idx + 1], ww[#ww + 1] = j, w[i][j] end end
        ip[#ip + 1] = #idx
      end
      ak:call("set_csr", ip, idx, ww)
    end
    sim:run(10)
    return values(sim:port("ak.x"))
  end
  tap.ok(maxdiff(run("dense"), run("sparse")) <= 1e-12, "dense block J equals CSR J (1e-12, batch 3)")
end

-- Readout |U_k x| + b_k: two oscillators summed give 2 when aligned.
do
  local sim = akorn({ oscillators = 2, dim = 2 })
  sim:set("ak.x", { { { 1, 0 }, { 1, 0 } } })
  local U = filled({ 2, 2, 4 }, function(e)
    local k, q, col = math.floor(e / 8), math.floor(e / 4) % 2, e % 4
    if k == 0 then return (col % 2 == q) and 1 or 0 end -- x1 + x2
    return (col == q) and 1 or 0                         -- x1 only
  end)
  local out = sim:call("ak", "readout", U, { 0.5, 0 })
  tap.near(out:get(1, 1), 2.5, 1e-15, "readout of two aligned unit vectors: |x1 + x2| + b = 2.5")
  tap.near(out:get(1, 2), 1, 1e-15, "readout of one unit vector: 1")
end

-- Bad input: names the argument.
do
  local _, ak = akorn({ oscillators = 3, dim = 2 })
  tap.raises(function() ak:call("set_coupling", buf.new({ 6, 5 })) end, { "set_coupling", "J", "[6, 5]" },
    "non-square J refused, naming J and its shape")
  tap.raises(function() akorn({ oscillators = 3, dim = 3, omega = 1 }) end, { "dim = 3", "even" },
    "odd dim with a rotation refused")
end
tap.done()
