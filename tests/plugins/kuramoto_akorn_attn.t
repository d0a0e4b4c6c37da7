#!/usr/bin/env luajit
-- tests/plugins/kuramoto_akorn_attn.t - kuramoto.akorn with coupling =
-- "attn": the attention field against a plain loop reference written here
-- (with and without GTA, with biases, several heads, a batch), permutation
-- equivariance without positional encoding (reference A7), one full AKOrN
-- step against the update formula, and bad inputs.  Tolerances are stated
-- in each check.
local tap = require "tap"
local lam = require "lamina"
local buf = lam.buf
local kt = require "kurtest"
local values, filled, maxdiff, lcg = kt.values, kt.filled, kt.maxdiff, kt.lcg
tap.plan(16)

-- Tiny case: L = 5 tokens (a 1 x 5 grid), G = 2 groups of dim 2, so
-- C = 4 channels per token, 2 heads of 2 channels, batch 2.
local B, L, G, n, H = 2, 5, 2, 2, 2
local C, M = G * n, L * G
local rnd = lcg(11)
local function rmat(rows, cols, s)
  local t = {}
  for r = 1, rows do
    t[r] = {}
    for c = 1, cols do t[r][c] = (rnd() - 0.5) * s end
  end
  return t
end
local function tobuf(t) -- a Lua matrix or vector as a buffer
  if type(t[1]) ~= "table" then return filled({ #t }, function(e) return t[e + 1] end) end
  local cols = #t[1]
  return filled({ #t, cols }, function(e) return t[math.floor(e / cols) + 1][e % cols + 1] end)
end
local W = { rmat(C, C, 2), rmat(C, C, 2), rmat(C, C, 1), rmat(C, C, 1) } -- Wq Wk Wv Wo
local bias = { rmat(1, C, 1)[1], rmat(1, C, 1)[1], rmat(1, C, 1)[1], rmat(1, C, 1)[1] }
local theta = rmat(L, C / 2, 6)
local x0 = {}
for e = 1, B * M * n do x0[e] = rnd() - 0.5 end

-- Reference: tokens t = 1..L of sample s hold x0[((s L + t - 1) C) + ch].
local function ref_field(x, gta, with_bias)
  local out = {}
  local function bv(k, ch) return with_bias and bias[k][ch] or 0 end
  local function rot(v, t, sign) -- rotate the pairs of channel vector v of token t
    local r = {}
    for p = 1, C / 2 do
      local c, s = math.cos(theta[t][p]), sign * math.sin(theta[t][p])
      r[2 * p - 1] = c * v[2 * p - 1] - s * v[2 * p]
      r[2 * p] = s * v[2 * p - 1] + c * v[2 * p]
    end
    return r
  end
  for s = 0, B - 1 do
    local q, k, v = {}, {}, {}
    for t = 1, L do
      q[t], k[t], v[t] = {}, {}, {}
      for co = 1, C do
        local a, b, c = bv(1, co), bv(2, co), bv(3, co)
        for ci = 1, C do
          local xv = x[(s * L + t - 1) * C + ci]
          a, b, c = a + W[1][co][ci] * xv, b + W[2][co][ci] * xv, c + W[3][co][ci] * xv
        end
        q[t][co], k[t][co], v[t][co] = a, b, c
      end
      if gta then q[t], k[t], v[t] = rot(q[t], t, 1), rot(k[t], t, 1), rot(v[t], t, 1) end
    end
    local hd = C / H
    local o = {}
    for t = 1, L do o[t] = {} end
    for h = 0, H - 1 do
      for i = 1, L do
        local sc, mx = {}, -math.huge
        for j = 1, L do
          local d = 0
          for c = h * hd + 1, h * hd + hd do d = d + q[i][c] * k[j][c] end
          sc[j] = d / math.sqrt(hd)
          mx = math.max(mx, sc[j])
        end
        local z = 0
        for j = 1, L do sc[j] = math.exp(sc[j] - mx); z = z + sc[j] end
        for c = h * hd + 1, h * hd + hd do
          local acc = 0
          for j = 1, L do acc = acc + sc[j] / z * v[j][c] end
          o[i][c] = acc
        end
      end
    end
    for t = 1, L do
      local ot = gta and rot(o[t], t, -1) or o[t]
      for co = 1, C do
        local acc = bv(4, co)
        for ci = 1, C do acc = acc + W[4][co][ci] * ot[ci] end
        out[(s * L + t - 1) * C + co] = acc
      end
    end
  end
  return out
end

local function model(extra)
  local p = { batch = B, oscillators = M, dim = n, coupling = "attn", height = 1, width = L, heads = H }
  for k, v in pairs(extra or {}) do p[k] = v end
  local sim = lam.sim { dt = 1, seed = 3 }
  return sim, sim:add("ak", "kuramoto.akorn", p)
end
local function attn_args(with_bias)
  local a = { tobuf(W[1]), tobuf(W[2]), tobuf(W[3]), tobuf(W[4]) }
  if with_bias then for i = 1, 4 do a[4 + i] = tobuf(bias[i]) end end
  return unpack(a)
end
local function xbuf(x) return filled({ B, M, n }, function(e) return x[e + 1] end) end

-- The field J x + bo against the loop reference: 1e-12 (sums of a few
-- O(1) terms; the plugin's exp is within 2 ulp of libm's).
for _, case in ipairs { { false, false, "no bias, no GTA" }, { false, true, "biases" }, { true, true, "biases and GTA" } } do
  local gta, wb, what = case[1], case[2], case[3]
  local sim, ak = model()
  ak:call("set_attn", attn_args(wb))
  if gta then ak:call("set_gta", tobuf(theta)) end
  sim:set("ak.x", xbuf(x0))
  local got = values(ak:call("field"))
  local d = maxdiff(got, ref_field(x0, gta, wb))
  tap.ok(d <= 1e-12, string.format("attention field = loop reference, %s, 2 heads, batch 2: max diff %.2g (<= 1e-12)", what, d))
end

-- A7: without positional encoding, permuting the tokens permutes the
-- field (1e-12: the softmax sums run in another order); GTA breaks it.
do
  local perm = { 3, 5, 1, 2, 4 } -- new token t holds old token perm[t]
  local px = {}
  for s = 0, B - 1 do
    for t = 1, L do
      for ch = 1, C do px[(s * L + t - 1) * C + ch] = x0[(s * L + perm[t] - 1) * C + ch] end
    end
  end
  local function fields(gta)
    local sim, ak = model()
    ak:call("set_attn", attn_args(true))
    if gta then ak:call("set_gta", tobuf(theta)) end
    sim:set("ak.x", xbuf(x0))
    local a = values(ak:call("field"))
    sim:set("ak.x", xbuf(px))
    local b = values(ak:call("field"))
    local worst = 0
    for s = 0, B - 1 do
      for t = 1, L do
        for ch = 1, C do
          worst = math.max(worst, math.abs(b[(s * L + t - 1) * C + ch] - a[(s * L + perm[t] - 1) * C + ch]))
        end
      end
    end
    return worst
  end
  local d = fields(false)
  tap.ok(d <= 1e-12, string.format("A7 attention is permutation-equivariant without GTA: max diff %.2g (<= 1e-12)", d))
  tap.ok(fields(true) > 1e-3, "with GTA a permutation changes the field (positions matter)")
end

-- One full step with attn, omega and the stimulus against the update
-- formula with the reference field; energies too.  1e-12.
do
  local gamma, omega = 0.7, 0.4
  local c = {}
  for e = 1, B * M * n do c[e] = rnd() - 0.5 end
  local sim, ak = model({ gamma = gamma, omega = omega })
  ak:call("set_attn", attn_args(true))
  ak:call("set_gta", tobuf(theta))
  sim:set("ak.x", xbuf(x0))
  sim:set("ak.stimulus", xbuf(c))
  sim:run(1)
  local jx = ref_field(x0, true, true)
  local want, code, paper = {}, { 0, 0 }, { 0, 0 }
  for o = 0, B * M - 1 do
    local s = math.floor(o / M) + 1
    local xi, y, xy = {}, {}, 0
    for d = 1, n do
      local e = o * n + d
      xi[d], y[d] = x0[e], jx[e] + c[e]
      xy = xy + xi[d] * y[d]
      local bo = bias[4][(e - 1) % C + 1]
      code[s] = code[s] - xi[d] * y[d]
      paper[s] = paper[s] - 0.5 * xi[d] * (jx[e] - bo) - xi[d] * (c[e] + bo)
    end
    local nx, norm = {}, 0
    for d = 1, n, 2 do
      local d1, d2 = y[d] - xy * xi[d] + omega * xi[d + 1], y[d + 1] - xy * xi[d + 1] - omega * xi[d]
      nx[d], nx[d + 1] = xi[d] + gamma * d1, xi[d + 1] + gamma * d2
      norm = norm + nx[d] ^ 2 + nx[d + 1] ^ 2
    end
    for d = 1, n do want[o * n + d] = nx[d] / math.sqrt(norm) end
  end
  local d = maxdiff(values(sim:port("ak.x")), want)
  tap.ok(d <= 1e-12, string.format("one AKOrN step with attn + GTA, omega, c: x = formula, max diff %.2g (<= 1e-12)", d))
  local e = values(sim:port("ak.energy"))
  tap.ok(maxdiff(e, { code[1], paper[1], code[2], paper[2] }) <= 1e-12,
    "energy = (-sum <x, Jx + bo + c>, -1/2 x.Jx - (c + bo).x), bo counted with c (1e-12)")
  sim:run(20)
  local x, worst = values(sim:port("ak.x")), 0
  for o = 0, B * M - 1 do
    local s2 = 0
    for dd = 1, n do s2 = s2 + x[o * n + dd] ^ 2 end
    worst = math.max(worst, math.abs(math.sqrt(s2) - 1))
  end
  tap.ok(worst <= 1e-12, "A1 with attn: |x_i| = 1 after 21 steps (1e-12)")
end

-- Before set_attn the coupling is zero (as dense/conv before theirs).
do
  local sim, ak = model()
  sim:set("ak.x", xbuf(x0))
  local zero = {}
  for e = 1, B * M * n do zero[e] = 0 end
  tap.is(maxdiff(values(ak:call("field")), zero), 0, "attn before set_attn: the field is 0")
end

-- The softmax is max-subtracted: scores of order 1e3 stay finite.
do
  local sim, ak = model()
  local big = {}
  for i = 1, 4 do big[i] = tobuf(W[i]) end
  local s = big[1]:ptr()
  for e = 0, C * C - 1 do s[e] = s[e] * 1e3 end
  ak:call("set_attn", big[1], big[2], big[3], big[4])
  sim:set("ak.x", xbuf(x0))
  local f, finite = values(ak:call("field")), true
  for i = 1, #f do if f[i] ~= f[i] or math.abs(f[i]) == math.huge then finite = false end end
  tap.ok(finite, "scores ~1e3: the max-subtracted softmax stays finite")
end

-- Bad input.
do
  tap.raises(function() model({ heads = 3 }) end, { "heads = 3", "C = 4" }, "heads not dividing C refused at creation")
  tap.raises(function() model({ oscillators = 9 }) end, { "attn", "oscillators = 9", "height x width = 5" },
    "oscillators not a multiple of the token count refused")
  local _, ak = model()
  tap.raises(function() ak:call("set_attn", tobuf(W[1]), buf.new({ C, C + 1 }), tobuf(W[3]), tobuf(W[4])) end,
    { "set_attn", "Wk", "[4, 4]", "[4, 5]" }, "a wrong-shape Wk is named with the expected and given shapes")
  local bad = tobuf(W[3])
  bad:ptr()[5] = 0 / 0
  tap.raises(function() ak:call("set_attn", tobuf(W[1]), tobuf(W[2]), bad, tobuf(W[4])) end,
    { "set_attn", "Wv", "[1, 1]" }, "a NaN in Wv is named with its index")
  tap.raises(function() ak:call("set_gta", buf.new({ L, C })) end, { "set_gta", "theta", "[5, 2]" },
    "GTA angles of the wrong shape refused, naming [L, C/2]")
  local _, dense = model({ coupling = "dense" })
  tap.raises(function() dense:call("set_attn", attn_args(false)) end, { "set_attn", "coupling = attn" },
    "set_attn on a dense model refused")
end
tap.done()
