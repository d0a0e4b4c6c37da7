#!/usr/bin/env luajit
-- tests/plugins/kuramoto_akorn_conv.t - kuramoto.akorn with coupling =
-- "conv": both algorithms (conv_method = direct and dft) against a plain
-- loop reference of PyTorch's conv2d ("same" zero padding, bias) written
-- here, on non-square grids and two kernel sizes, and the two algorithms
-- against each other over many steps.  Tolerances are stated per check.
local tap = require "tap"
local lam = require "lamina"
local kt = require "kurtest"
local values, filled, maxdiff, lcg = kt.values, kt.filled, kt.maxdiff, kt.lcg
tap.plan(9)

local rnd = lcg(21)
local function case(B, H, W, G, n, k, scale)
  local C = G * n
  local t = { B = B, H = H, W = W, G = G, n = n, k = k, C = C, M = H * W * G }
  t.ker = filled({ C, C, k, k }, function() return (rnd() - 0.5) * (scale or 1) end)
  t.bias = filled({ C }, function() return rnd() - 0.5 end)
  t.x = filled({ B, t.M, n }, function() return rnd() - 0.5 end)
  return t
end

-- out[s, y, x, co] = bias[co] + sum K[co, ci, ky, kx] x[s, y + ky - r, x + kx - r, ci]
local function ref(t)
  local K, xb, bb = t.ker:ptr(), t.x:ptr(), t.bias:ptr()
  local C, k, r, out = t.C, t.k, math.floor(t.k / 2), {}
  for s = 0, t.B - 1 do
    for y = 0, t.H - 1 do
      for x = 0, t.W - 1 do
        for co = 0, C - 1 do
          local acc = bb[co]
          for ky = 0, k - 1 do
            for kx = 0, k - 1 do
              local qy, qx = y + ky - r, x + kx - r
              if qy >= 0 and qy < t.H and qx >= 0 and qx < t.W then
                for ci = 0, C - 1 do
                  acc = acc + K[((co * C + ci) * k + ky) * k + kx] * xb[((s * t.H + qy) * t.W + qx) * C + ci]
                end
              end
            end
          end
          out[((s * t.H + y) * t.W + x) * C + co + 1] = acc
        end
      end
    end
  end
  return out
end

local function model(t, method, extra)
  local sim = lam.sim { dt = 1, seed = 5 }
  local p = { batch = t.B, oscillators = t.M, dim = t.n, coupling = "conv", height = t.H, width = t.W, conv_method = method }
  for key, v in pairs(extra or {}) do p[key] = v end
  local ak = sim:add("ak", "kuramoto.akorn", p)
  ak:call("set_conv", t.ker, t.bias)
  sim:set("ak.x", t.x)
  return sim, ak
end

-- 1e-12: sums of at most C k^2 = 100 products of O(1) terms; the DFT route
-- adds transforms of 10 x 10 points with exact twiddles to 1 ulp.
-- The grids give cyclic sizes (nh, nw) = (4, 6), (6, 5) and (5, 5): both
-- parities of each, where the self-conjugate rows and columns differ.
for _, spec in ipairs { { 2, 3, 5, 2, 2, 3 }, { 1, 4, 3, 2, 2, 5 }, { 1, 4, 4, 2, 2, 3 } } do
  local t = case(unpack(spec))
  local want = ref(t)
  for _, method in ipairs { "direct", "dft" } do
    local _, ak = model(t, method)
    local d = maxdiff(values(ak:call("field")), want)
    tap.ok(d <= 1e-12, string.format("conv field, %s, %dx%d grid, C = %d, k = %d, batch %d: = loop reference, max diff %.2g (<= 1e-12)",
      method, t.H, t.W, t.C, t.k, t.B, d))
  end
end

-- 30 steps of the whole model: dft and direct stay within 1e-11.  The
-- kernel is scaled like an initialised conv layer (1/sqrt(C k^2)); with
-- O(1) weights the dynamics amplify rounding differences (4.7e-10 after
-- 30 steps), which says nothing about the algorithms.
do
  local t = case(2, 6, 7, 4, 2, 5, 1 / math.sqrt(8 * 25) * 2)
  local function run(method)
    local sim = model(t, method, { gamma = 0.5, omega = 0.3 })
    sim:set("ak.stimulus", filled({ t.B, t.M, t.n }, function(e) return math.sin(e) end))
    sim:run(30)
    return values(sim:port("ak.x"))
  end
  local d = maxdiff(run("direct"), run("dft"))
  tap.ok(d <= 1e-11, string.format("30 steps, 6x7 grid, C = 8, k = 5: dft = direct, max diff %.2g (<= 1e-11)", d))
  local d2 = maxdiff(run("auto"), run("direct"))
  tap.ok(d2 <= 1e-11, "conv_method = auto gives the same dynamics (1e-11)")
  local _, ak = model(t, "dft")
  tap.raises(function() ak:call("set_conv", filled({ t.C, t.C, 4, 4 }, function() return 0 end)) end,
    { "set_conv", "odd k" }, "an even kernel size is refused")
end
tap.done()
