-- scripts/bench/kuramoto/akorn/lamina.lua - the lamina side of KB-5
-- (AKOrN layer forward, variants a fc, b conv, c attn), run by
-- scripts/bench/kuramoto/akorn/run after peer.py wrote the shared inputs
-- and its outputs into dir:
--
--   lamina run lamina.lua dir=DIR [reps=5] [only=abc] --out RUNDIR --quiet
--
-- Prints TSV lines like peer.py's (variant impl size median min max
-- sample_steps flops) and one gate line per variant (variant gate size
-- max|dx| max|dE| pass|FAIL).  One warm-up run, then the median of reps
-- runs of sim:run(T) only (model creation, weights and inputs are outside
-- the timing), in process CPU time as peer.py.
local lam = require "lamina"

local p = lam.params { dir = "", reps = 5, only = "abc", tol = 1e-10 }
assert(p.dir ~= "", "usage: lamina run lamina.lua dir=DIR [reps=R] [only=abc]")

-- os.clock() is the process CPU time (C clock(), 1 us resolution; a timed
-- run takes 1 ms even with --quick), as peer.py's time.process_time.
local now = os.clock

local function load(var, name) return lam.load(p.dir .. "/" .. var .. "_" .. name .. ".npy") end

local function maxdiff(a, b)
  local ap, bp, m = a:copy("f64"):ptr(), b:copy("f64"):ptr(), 0
  for i = 0, a:size() - 1 do m = math.max(m, math.abs(ap[i] - bp[i])) end
  return m
end

-- setup() returns a simulation ready to run T steps with the energy
-- recorded, and the model's size string; the gate compares x after T steps
-- and the code's score per step with peer.py's.
local function bench(var, T, flops, setup)
  local times, sim, size, rec = {}, nil, nil, nil
  for rep = 0, p.reps do
    sim, size = setup()
    rec = sim:record("ak.energy")
    collectgarbage()
    local t0 = now()
    sim:run(T)
    local t1 = now()
    if rep > 0 then times[#times + 1] = t1 - t0 end
  end
  table.sort(times)
  local x = sim:port("ak.x")
  local B = x:shape()[1]
  print(string.format("KB-5%s\tlamina\t%s\t%.6g\t%.6g\t%.6g\t%d\t%d", var, size,
    times[math.floor(#times / 2) + 1], times[1], times[#times], B * T, flops))
  local dx = maxdiff(x, load(var, "x"))
  local E, Eref, dE = rec:data(), load(var, "E"), 0 -- E: [T, B, 2]; Eref: [T, B]
  for t = 1, T do
    for b = 1, B do dE = math.max(dE, math.abs(E:get(t, b, 1) - Eref:get(t, b))) end
  end
  print(string.format("KB-5%s\tgate\t%s\t%.3g\t%.3g\t%s", var, size, dx, dE,
    (dx <= p.tol and dE <= p.tol) and "pass" or "FAIL"))
  io.stdout:flush()
end

local function akorn(params, x0, c)
  local sim = lam.sim { dt = 1, seed = 1 }
  params.gamma, params.omega = 1, 0.5
  local ak = sim:add("ak", "kuramoto.akorn", params)
  sim:set("ak.x", x0)
  sim:set("ak.stimulus", c)
  return sim, ak
end

if p.only:find("a") then
  local x0, J, c = load("a", "x0"), load("a", "J"), load("a", "c")
  local B, M, n = x0:shape()[1], x0:shape()[2], x0:shape()[3]
  local T = load("a", "E"):shape()[1]
  bench("a", T, 2 * (M * n) ^ 2, function()
    local sim, ak = akorn({ batch = B, oscillators = M, dim = n }, x0, c)
    ak:call("set_coupling", J)
    return sim, string.format("fc-B%d-M%d-n%d-T%d", B, M, n, T)
  end)
end

if p.only:find("b") then
  local x0, K, bias, c = load("b", "x0"), load("b", "K"), load("b", "bias"), load("b", "c")
  local B, M, n = x0:shape()[1], x0:shape()[2], x0:shape()[3]
  local C, k = K:shape()[1], K:shape()[3]
  local T = load("b", "E"):shape()[1]
  local H = math.floor(math.sqrt(M * n / C) + 0.5) -- square grids only
  bench("b", T, 2 * H * H * C * C * k * k, function()
    local sim, ak = akorn({ batch = B, oscillators = M, dim = n, coupling = "conv", height = H, width = H }, x0, c)
    ak:call("set_conv", K, bias)
    return sim, string.format("conv-B%d-%dx%d-C%d-n%d-k%d-T%d", B, H, H, C, n, k, T)
  end)
end

if p.only:find("c") then
  local x0, c, theta = load("c", "x0"), load("c", "c"), load("c", "theta")
  local W = {}
  for _, nm in ipairs { "Wq", "Wk", "Wv", "Wo", "bq", "bk", "bv", "bo" } do W[#W + 1] = load("c", nm) end
  local B, M, n = x0:shape()[1], x0:shape()[2], x0:shape()[3]
  local L, C = theta:shape()[1], W[1]:shape()[1]
  local T = load("c", "E"):shape()[1]
  local H = math.floor(math.sqrt(L) + 0.5) -- square token grids only
  local heads = load("c", "heads"):get(1)
  bench("c", T, 2 * L * C * 3 * C + 4 * L * L * C + 2 * L * C * C, function()
    local sim, ak = akorn({ batch = B, oscillators = M, dim = n, coupling = "attn", height = H, width = H, heads = heads }, x0, c)
    ak:call("set_attn", unpack(W))
    ak:call("set_gta", theta)
    return sim, string.format("attn-B%d-L%d-C%d-h%d-n%d-T%d", B, L, C, heads, n, T)
  end)
end
