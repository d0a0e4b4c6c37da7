#!/usr/bin/env luajit
-- tests/plugins/esn.t - reservoir.esn through the Lua library and the real
-- reservoir.so: the benchmark oracles of reservoir.md §2 (memory capacity,
-- NARMA-10, Mackey-Glass), the spectral-radius solver against matrices
-- with known eigenvalues, E/I target-rate adaptation (homeostasis.md
-- §2.3), intrinsic plasticity, batching, float32, checkpoints,
-- determinism and error messages.  Every simulation has a fixed seed, so
-- each check always passes or always fails for a given binary; each
-- tolerance is stated in its test name.
local tap = require "tap"
local lam = require "lamina"
tap.plan(59)

local function esn(params, seed)
  local sim = lam.sim { dt = 1, seed = seed or 1 }
  return sim:add("e", "reservoir.esn", params), sim
end
local function maxdiff(a, b)
  if a:size() ~= b:size() then return math.huge end
  local pa, pb, m = a:ptr(), b:ptr(), 0
  for i = 0, a:size() - 1 do
    local d = math.abs(pa[i] - pb[i])
    if not (d <= m) then m = d ~= d and math.huge or d end
  end
  return m
end
local function col(buf) return buf:reshape_view({ buf:size(), 1 }) end

-- ---------------------------------------------------------------------
-- Memory capacity (Jaeger 2001): linear orthogonal reservoir, rho = 0.95,
-- N = 100; held-out MC_k summed over k = 1..2N (reservoir.md §2.1 measured
-- 98.6).  The tanh reservoir with the same W must lose memory.
do
  local N, T = 100, 6000
  local u = lam.data.memory_capacity_input { n = T, seed = 5 }
  local function run(act)
    local m = esn({ units = N, density = 1, weights = "orthogonal", spectral_radius = 0.95,
                    activation = act, input_scaling = 0.1 }, 7)
    local X = m:call("run", col(u))
    return lam.metrics.memory_capacity(X, u, { k_max = 2 * N, washout = 2 * N, train = 0.6, ridge = 1e-10 }),
           m:call("get_w")
  end
  local mc_lin, W1 = run("identity")
  local mc_tanh, W2 = run("tanh")
  tap.diag(string.format("MC linear %.2f, tanh %.2f", mc_lin, mc_tanh))
  tap.ok(mc_lin >= 97 and mc_lin <= 100, "MC of the linear orthogonal reservoir (rho 0.95, N 100) within 97..100")
  tap.is(maxdiff(W1, W2), 0, "the tanh reservoir has the identical W")
  tap.ok(mc_tanh < mc_lin, "tanh reservoir MC strictly below the linear one")
end

-- ---------------------------------------------------------------------
-- NARMA-10 (Atiya & Parlos), predict y(t+1) from u(t): N = 100 ESN with the
-- reservoir.md §2.2 settings (rho 0.95, input 0.1, bias 0.1, density 20/N),
-- train 2000 after 200 washout, test 2000: NRMSE < 0.45.  A readout on the
-- raw input alone must be far worse (> 0.8), so the check has teeth.
do
  local n = 4200
  local u, y = lam.data.narma10 { n = n + 1, seed = 11 }
  local U, Y = col(u:rows(1, n):copy()), col(y:rows(2, n + 1):copy())
  local m = esn({ units = 100, spectral_radius = 0.95, input_scaling = 0.1, bias_scaling = 0.1, density = 0.2 }, 3)
  local X = m:call("run", U)
  local r = lam.readout.ridge { ridge = 1e-8 }:fit(X:rows(201, 2200), Y:rows(201, 2200))
  local e = lam.metrics.nrmse(Y:rows(2201, n), r:predict(X:rows(2201, n)))
  local r0 = lam.readout.ridge { ridge = 1e-8 }:fit(U:rows(201, 2200), Y:rows(201, 2200))
  local e0 = lam.metrics.nrmse(Y:rows(2201, n), r0:predict(U:rows(2201, n)))
  tap.diag(string.format("NARMA-10 NRMSE %.3f (input only %.3f)", e, e0))
  tap.ok(e < 0.45, "NARMA-10 NRMSE < 0.45 with N = 100")
  tap.ok(e0 > 0.8, "a readout on the raw input alone has NRMSE > 0.8")
end

-- ---------------------------------------------------------------------
-- Mackey-Glass (tau 17), tanh(x - 1) fed in, one-step prediction, N = 100
-- (reservoir.md §2.3 untuned settings); then closed loop for 84 steps.
do
  local n = 6000
  local mg = lam.data.mackey_glass { n = n + 1 }
  local S = lam.buf.new({ n + 1, 1 })
  local mp, sp = mg:ptr(), S:ptr()
  for i = 0, n do sp[i] = math.tanh(mp[i] - 1) end
  local U, Y = S:rows(1, n):copy(), S:rows(2, n + 1):copy()
  local tr = 5000
  local m = esn({ units = 100, spectral_radius = 0.8, leak = 0.3, input_scaling = 0.5, bias_scaling = 0.2, density = 0.2 }, 1)
  local X = m:call("run", U:rows(1, tr):copy())
  local r = lam.readout.ridge { ridge = 1e-11 }:fit(X:rows(501, tr), Y:rows(501, tr))
  -- one-step on held-out data: continue the same reservoir teacher-forced
  -- on a copy so that the closed loop below starts at t = tr.
  local st = m:call("run", U:rows(tr + 1, n):copy())
  local e1 = lam.metrics.nrmse(Y:rows(tr + 1, n), r:predict(st))
  tap.diag(string.format("Mackey-Glass one-step NRMSE %.3g", e1))
  tap.ok(e1 < 2e-3, "Mackey-Glass one-step NRMSE < 2e-3 with N = 100")
  -- closed loop from the state after tr inputs
  local m2 = esn({ units = 100, spectral_radius = 0.8, leak = 0.3, input_scaling = 0.5, bias_scaling = 0.2, density = 0.2 }, 1)
  m2:call("run", U:rows(1, tr):copy())
  m2:call("set_readout", r.W, r.b)
  local G = m2:call("generate", 84)
  local e84 = lam.metrics.nrmse(Y:rows(tr + 1, tr + 84):copy(), G)
  tap.diag(string.format("Mackey-Glass 84-step closed-loop NRMSE %.3g", e84))
  -- reservoir.md §2.3: an untuned N = 100 ESN reaches 10^-1.8 = 0.016.
  tap.ok(e84 < 0.05, "closed-loop 84-step NRMSE < 0.05 (reference 0.016 for an untuned N = 100)")
end

-- ---------------------------------------------------------------------
-- Spectral radius against matrices with known eigenvalues: block upper
-- triangular with 2 x 2 rotation-scaling blocks r_k [cos, -sin; sin, cos]
-- (eigenvalues r_k e^{+-i theta_k}, complex pairs) and random entries above
-- the blocks (non-normal).  rho = max r_k.
do
  local function known(N, storage)
    local m = esn({ units = N, storage = storage, density = 0.05 }, 2)
    local W = lam.buf.new({ N, N })
    local p = W:ptr()
    local r = lam.rng(77, N, 1)
    local rmax = 0
    for k = 0, N / 2 - 1 do
      local rk = 0.1 + 0.8 * (k + 0.5) / (N / 2) -- distinct moduli in (0.1, 0.9)
      local th = 0.3 + 2.5 * r:uniform()
      local i = 2 * k
      p[i * N + i], p[i * N + i + 1] = rk * math.cos(th), -rk * math.sin(th)
      p[(i + 1) * N + i], p[(i + 1) * N + i + 1] = rk * math.sin(th), rk * math.cos(th)
      rmax = math.max(rmax, rk)
      for j = i + 2, N - 1 do
        if r:uniform() < 0.05 then p[i * N + j] = 0.3 * r:normal(); p[(i + 1) * N + j] = 0.3 * r:normal() end
      end
    end
    m:call("set_w", W)
    return m:call("spectral_radius"):get(1), rmax
  end
  local got, want = known(40, "dense")
  tap.near(got, want, 1e-9, "spectral radius, dense N = 40 complex pairs, non-normal: exact to 1e-9")
  got, want = known(300, "sparse")
  tap.near(got, want, 1e-6, "spectral radius, CSR N = 300 (restarted Arnoldi, m = 64): to 1e-6")
  local m = esn({ units = 200, density = 0.1, dale = true, spectral_radius = 0.7 }, 9)
  local sr = m:call("spectral_radius")
  tap.ok(math.abs(sr:get(1) - 0.7) <= 1e-6 and sr:get(3) == 1,
    "created W has the requested spectral radius (Dale, outlier eigenvalue) to 1e-6; estimate converged")
  -- orthogonal W, N = 300 > 64: every eigenvalue has modulus 0.9, so
  -- restarted Arnoldi cannot isolate one; the method says so (flag 0).
  local o = esn({ units = 300, density = 1, weights = "orthogonal", spectral_radius = 0.9 }, 3):call("spectral_radius")
  tap.ok(o:get(3) == 0 and o:get(1) <= 0.9 + 1e-12 and o:get(2) == 1,
    string.format("orthogonal W: estimate %.4f flagged as not converged (a lower bound of 0.9); rho before scaling exactly 1", o:get(1)))
end

-- ---------------------------------------------------------------------
-- E/I adaptation toward heterogeneous targets (homeostasis.md §2.3):
-- after 20000 steps the time-averaged rate of every unit over the next
-- 10000 steps is within 5 % of its target; without adaptation it is not.
do
  local N, T = 200, 30000
  local u = lam.data.memory_capacity_input { n = T, seed = 5, low = -1, high = 1 }
  local function rates(eta)
    local m, sim = esn({ units = N, dale = true, exc_fraction = 0.8, density = 0.25, activation = "sigmoid",
      spectral_radius = 2, bias_scaling = 0.5, adapt_rate = eta, storage = "dense" }, 4)
    m:call("set_bias", lam.buf.new(N):fill(-1))
    local tp = sim:port("e.target"):ptr()
    local r = lam.rng(99, 0, 1)
    for i = 0, N - 1 do tp[i] = 0.05 + 0.2 * r:uniform() end -- heterogeneous targets
    local xp = m:call("run", col(u)):ptr()
    local worst = 0
    for i = 0, N - 1 do
      local s = 0
      for t = 20000, T - 1 do s = s + xp[t * N + i] end
      worst = math.max(worst, math.abs(s / (T - 20000) - tp[i]) / tp[i])
    end
    return worst
  end
  local w1, w0 = rates(0.05), rates(0)
  tap.diag(string.format("worst relative rate error: adapted %.4f, not adapted %.3f", w1, w0))
  tap.ok(w1 < 0.05, "with adaptation every unit's rate is within 5% of its target")
  tap.ok(w0 > 0.05, "without adaptation some unit is more than 5% off")
end

-- ---------------------------------------------------------------------
-- Intrinsic plasticity: Triesch (sigmoid, exponential target, mean 0.2)
-- moves the mean output from 0.5 to near 0.2; Schrauwen (tanh, Gaussian
-- 0, 0.2) sets the output spread near 0.2.
do
  local T = 20000
  local u = lam.data.memory_capacity_input { n = T, seed = 5, low = -1, high = 1 }
  local m = esn({ units = 100, activation = "sigmoid", ip = "exponential", ip_mean = 0.2, ip_rate = 1e-3, spectral_radius = 0.9 }, 1)
  local mean = m:call("run", col(u)):rows(15001, T):mean()
  tap.near(mean, 0.2, 0.03, "Triesch IP: mean sigmoid output 0.2 +- 0.03")
  m = esn({ units = 100, activation = "tanh", ip = "gaussian", ip_mean = 0, ip_std = 0.2, ip_rate = 1e-3, spectral_radius = 0.9 }, 1)
  local X = m:call("run", col(u)):rows(15001, T):copy()
  tap.near(X:std(), 0.2, 0.02, "Schrauwen IP: tanh output std 0.2 +- 0.02")
  tap.near(X:mean(), 0, 0.02, "Schrauwen IP: tanh output mean 0 +- 0.02")
end

-- ---------------------------------------------------------------------
-- Determinism, storage, batching, float32, checkpoints.
do
  local u = lam.data.memory_capacity_input { n = 500, seed = 3 }
  local P = { units = 300, density = 0.1, bias_scaling = 0.3, noise = 0.01 }
  local a = esn(P, 5):call("run", col(u))
  local b = esn(P, 5):call("run", col(u))
  local c = esn(P, 6):call("run", col(u))
  tap.is(maxdiff(a, b), 0, "identical seeds give bit-identical states")
  tap.ok(maxdiff(a, c) > 0.01, "another seed gives different states")
  local Pd, Ps = {}, {}
  for k, v in pairs(P) do Pd[k], Ps[k] = v, v end
  Pd.storage, Ps.storage = "dense", "sparse"
  local md, ms = esn(Pd, 5), esn(Ps, 5)
  tap.is(maxdiff(md:call("get_w"), ms:call("get_w")), 0, "dense and CSR storage draw the same W")
  tap.ok(maxdiff(md:call("run", col(u)), ms:call("run", col(u))) < 1e-12, "dense and CSR states agree to 1e-12")
  Ps.precision = "f32"
  tap.ok(maxdiff(esn(Ps, 5):call("run", col(u)), a) < 1e-4, "float32 W: states within 1e-4 of float64")

  -- batch of 3 sharing W: instance b equals a single run with input b
  local T = 200
  local us = {}
  for k = 1, 3 do us[k] = lam.data.memory_capacity_input { n = T, seed = 10 + k } end
  for _, storage in ipairs { "dense", "sparse" } do
    local U3 = lam.buf.new({ T, 3, 1 })
    local p3 = U3:ptr()
    for k = 1, 3 do local q = us[k]:ptr(); for t = 0, T - 1 do p3[t * 3 + k - 1] = q[t] end end
    local Q = { units = 300, density = 0.1, storage = storage }
    local X3 = esn({ units = 300, density = 0.1, storage = storage, batch = 3 }, 8):call("run", U3)
    local worst = 0
    for k = 1, 3 do
      local X1 = esn(Q, 8):call("run", col(us[k]))
      local p1, px = X1:ptr(), X3:ptr()
      for t = 0, T - 1 do
        for i = 0, 299 do worst = math.max(worst, math.abs(p1[t * 300 + i] - px[(t * 3 + k - 1) * 300 + i])) end
      end
    end
    tap.ok(worst < 1e-12, "batch = 3 (" .. storage .. ", one GEMM / one CSR pass) equals 3 single runs to 1e-12")
  end

  -- checkpoint: save, continue; load, continue -> identical
  local m, sim = esn(P, 5)
  m:call("run", col(u:rows(1, 200):copy()))
  m:call("set_readout", lam.buf.new({ 300, 1 }):fill(0.01), lam.buf.from({ 0.5 }))
  local st = sim:save_state("e")
  local r1 = m:call("run", col(u:rows(201, 500):copy()))
  sim:load_state("e", st)
  local r2 = m:call("run", col(u:rows(201, 500):copy()))
  tap.is(maxdiff(r1, r2), 0, "save_state / load_state / continue is bit-identical (noise streams included)")
  local m2, sim2 = esn(P, 99)
  sim2:load_state("e", st)
  tap.is(maxdiff(m2:call("get_w"), m:call("get_w")), 0, "a checkpoint carries the weights into another instance")
end

-- ---------------------------------------------------------------------
-- The step path (sim:run, ports) against the run/generate methods:
-- teacher-forced feedback through the fb port equals run(U, Y), and the
-- closed_loop parameter equals generate().
do
  local T = 50
  local u = lam.data.memory_capacity_input { n = T, seed = 21 }
  local yt = lam.data.memory_capacity_input { n = T, seed = 22 }
  local P = { units = 60, density = 0.2, feedback_scaling = 0.7, bias_scaling = 0.2 }
  local ref = esn(P, 3):call("run", col(u), col(yt))
  local Q = {}
  for k, v in pairs(P) do Q[k] = v end
  Q.teacher = true
  local m, sim = esn(Q, 3)
  local worst = 0
  local rp = ref:ptr()
  for t = 0, T - 1 do
    sim:set("e.u", u:ptr()[t])
    sim:set("e.fb", t > 0 and yt:ptr()[t - 1] or 0)
    sim:run_ticks(1)
    local xp = sim:port("e.x"):ptr()
    for i = 0, 59 do worst = math.max(worst, math.abs(xp[i] - rp[t * 60 + i])) end
  end
  tap.is(worst, 0, "teacher feedback through the fb port, step by step, equals run(U, Y) bit for bit")

  local W, b = lam.buf.new({ 60, 1 }), lam.buf.from({ 0.1 })
  local wp = W:ptr()
  for i = 0, 59 do wp[i] = 0.05 * math.sin(i) end
  local g1 = esn(P, 4)
  g1:call("run", col(u))
  g1:call("set_readout", W, b)
  local G = g1:call("generate", 20)
  Q = {}
  for k, v in pairs(P) do Q[k] = v end
  Q.closed_loop = true
  local g2, sim2 = esn(Q, 4)
  g2:call("run", col(u))
  g2:call("set_readout", W, b)
  sim2:run_ticks(20)
  tap.is(sim2:port("e.y"):get(1, 1), G:get(20, 1), "closed_loop = true in sim:run equals generate() bit for bit")
end

-- ---------------------------------------------------------------------
-- The vectorised tanh (esn_kern.c) against libm's tanh over a dense grid,
-- tiny and huge arguments and the special values.  Bound: 4 ulp of the
-- result -- the kernel is within 1.3 ulp of the exact tanh (measured with
-- mpmath, docs/reservoir.md) and glibc's tanh within 2.1 ulp, so a wrong
-- coefficient, branch or scaling (errors of 1e-10 and more) cannot pass.
do
  local xs = {}
  for i = 0, 99999 do xs[#xs + 1] = -25 + 50 * (i + 0.5) / 100000 end
  for i = -2000, 2000 do xs[#xs + 1] = 0.625 * (1 + i * 1e-6) end -- branch switch
  for i = 0, 3199 do xs[#xs + 1] = 10 ^ (-320 + i / 10) end        -- 1e-320 .. 1
  for i = 0, 2000 do xs[#xs + 1] = 17 + 5 * i / 2000 end            -- where tanh reaches 1
  local nf = #xs
  for i = 1, nf do xs[#xs + 1] = -xs[i] end
  local special = { 0, -0.0, 5e-324, 2.2250738585072014e-308, 19.1, 40, 1e300, -1e300, math.huge, -math.huge, 0 / 0 }
  for _, v in ipairs(special) do xs[#xs + 1] = v end
  local m = esn({ units = 10, activation = "tanh" })
  local Z = m:call("activation", lam.buf.from(xs))
  local z = Z:ptr()
  local worst, at, odd = 0, 0, true
  for i = 1, 2 * nf do
    local ref = math.tanh(xs[i])
    local _, e = math.frexp(ref)
    local u = ref == 0 and 4.9e-324 or 2 ^ (math.max(e, -1021) - 53)
    local d = math.abs(z[i - 1] - ref) / u
    if not (d <= worst) then worst, at = d, xs[i] end
    if i > nf and z[i - 1] ~= -z[i - nf - 1] then odd = false end
  end
  tap.diag(string.format("tanh: worst %.2f ulp from libm, at x = %.17g", worst, at))
  tap.ok(worst <= 4, "tanh within 4 ulp of libm on 2.2e5 points in [-25, 25], 1e-320 .. 1, 17 .. 22")
  tap.ok(odd, "tanh(-x) = -tanh(x) bit for bit")
  local mono = true
  for i = 2, 100000 do if z[i - 1] < z[i - 2] then mono = false end end
  tap.ok(mono, "tanh nondecreasing over the dense grid")
  local k = 2 * nf - 1
  tap.ok(z[k + 1] == 0 and 1 / z[k + 1] > 0 and z[k + 2] == 0 and 1 / z[k + 2] < 0, "tanh(+0) = +0, tanh(-0) = -0")
  tap.ok(z[k + 3] == 5e-324 and z[k + 4] == 2.2250738585072014e-308, "tanh of subnormal / tiny x is x")
  tap.ok(z[k + 5] == 1 and z[k + 6] == 1 and z[k + 7] == 1 and z[k + 8] == -1, "tanh rounds to +-1 from 19.1 on")
  tap.ok(z[k + 9] == 1 and z[k + 10] == -1 and z[k + 11] ~= z[k + 11], "tanh(+-inf) = +-1, tanh(NaN) is NaN")
end

-- ---------------------------------------------------------------------
-- The step against a plain Lua ESN with the model's own matrices (get_w,
-- get_w_in, get_bias): x <- (1 - a) x + a tanh(W x + s_in W_in u + s_b b).
-- Density 0.2 (60 nonzeros per row: the vector row sums with a masked last
-- block) and 0.05 with Dale's law (15 per row, split into E and I parts:
-- the row tails go lane by lane).  Tolerance 1e-12: the sums differ only
-- in rounding order (~1e-15 per step) and the map contracts.
do
  local function check(P, what)
    local N, T = P.units, 30
    local u = lam.data.memory_capacity_input { n = T, seed = 4 }
    local m = esn(P, 9)
    -- the buffers stay referenced while their pointers are used
    local Xb, Wb, Winb, bb = m:call("run", col(u)), m:call("get_w"), m:call("get_w_in"), m:call("get_bias")
    local X, W, Win, b, up = Xb:ptr(), Wb:ptr(), Winb:ptr(), bb:ptr(), u:ptr()
    local x, xn, worst = {}, {}, 0
    for i = 0, N - 1 do x[i] = 0 end
    for t = 0, T - 1 do
      for i = 0, N - 1 do
        local r = P.input_scaling * Win[i] * up[t] + P.bias_scaling * b[i]
        for j = 0, N - 1 do r = r + W[i * N + j] * x[j] end
        xn[i] = (1 - P.leak) * x[i] + P.leak * math.tanh(r)
      end
      for i = 0, N - 1 do
        x[i] = xn[i]
        worst = math.max(worst, math.abs(x[i] - X[t * N + i]))
      end
    end
    tap.diag(string.format("%s: worst difference %.3g", what, worst))
    tap.ok(worst < 1e-12, what .. ": the CSR step equals a plain Lua ESN to 1e-12")
  end
  check({ units = 300, density = 0.2, storage = "sparse", leak = 0.7, input_scaling = 0.5, bias_scaling = 0.3,
          spectral_radius = 0.9 }, "density 0.2")
  check({ units = 300, density = 0.05, storage = "sparse", leak = 0.7, input_scaling = 0.5, bias_scaling = 0.3,
          spectral_radius = 0.9, dale = true }, "density 0.05, Dale")
end

-- ---------------------------------------------------------------------
-- Errors: one line naming the parameter/argument.
do
  tap.raises(function() esn({ spectral_radius = -1 }) end, "spectral_radius", "negative spectral radius refused")
  tap.raises(function() esn({ density = 0 }) end, { "density", "(0, 1]" }, "density 0 refused")
  tap.raises(function() esn({ density = 1.5 }) end, "density", "density 1.5 refused")
  tap.raises(function() esn({ weights = "orthogonal", density = 0.5 }) end, "orthogonal", "orthogonal with density < 1 refused")
  local m = esn({ units = 20, outputs = 2 })
  tap.raises(function() m:call("set_readout", lam.buf.new({ 20, 3 })) end, { "set_readout", "extent 3", "expected 2" },
    "set_readout with the wrong shape refused")
  tap.raises(function() m:call("run", lam.buf.new({ 10, 2 })) end, { "run", "U" }, "run with the wrong input width refused")
  tap.raises(function() m:call("generate", 5) end, "closed loop needs a readout", "generate without a readout refused")
  tap.raises(function() esn({ units = 20, adapt_rate = 0.1 }):call("run", lam.buf.new({ 2, 1 })) end, "dale",
    "adapt_rate without dale refused")
  local md = esn({ units = 20, dale = true, density = 0.5 })
  local W = lam.buf.new({ 20, 20 })
  W:set(0.5, 1, 20) -- positive weight in column 20, an inhibitory unit
  tap.raises(function() md:call("set_w", W) end, { "Dale", "inhibitory" }, "set_w breaking Dale's law refused")
end

-- ---------------------------------------------------------------------
-- W from CSR (set_w_csr) and out as triplets (get_w_coo): the same W
-- given dense or as CSR gives identical states (bitwise) in both storages;
-- get_w_coo -> set_w_csr round-trips; a large ring W (units = 10^5,
-- spectral_radius = 0: no estimate) follows x2 = tanh(0.5 x1[i+1]) to
-- 1e-14 (the plugin's tanh is within 1.3 ulp, libm's 2: 4 ulp of 1).
-- ---------------------------------------------------------------------
do
  local n, r = 60, lam.rng(31, 0, 1)
  local W = lam.buf.new({ n, n })
  local indptr, idx, vals = { 0 }, {}, {}
  for i = 0, n - 1 do
    for j = 0, n - 1 do
      if r:uniform() < 0.15 then
        local v = 0.3 * r:normal()
        W:set(v, i + 1, j + 1)
        idx[#idx + 1], vals[#vals + 1] = j, v
      end
    end
    indptr[#indptr + 1] = #idx
  end
  local u = lam.data.memory_capacity_input { n = 80, seed = 4 }
  for _, storage in ipairs { "sparse", "dense" } do
    local P = { units = n, density = 0.1, storage = storage, bias_scaling = 0.2 }
    local a, b = esn(P, 12), esn(P, 12)
    a:call("set_w", W)
    b:call("set_w_csr", indptr, idx, vals)
    tap.ok(maxdiff(a:call("get_w"), b:call("get_w")) == 0 and
      maxdiff(a:call("run", col(u)), b:call("run", col(u))) == 0,
      storage .. ": set_w_csr gives the W and the states of set_w with the same matrix, bit for bit")
  end
  -- scipy's index dtypes: i32 indptr and i64 indices read like f64 ones
  local a, b = esn({ units = n, density = 0.1 }, 12), esn({ units = n, density = 0.1 }, 12)
  a:call("set_w_csr", indptr, idx, vals)
  b:call("set_w_csr", lam.buf.from(indptr, "i32"), lam.buf.from(idx, "i64"), vals)
  tap.ok(maxdiff(a:call("get_w"), b:call("get_w")) == 0, "set_w_csr: i32 / i64 index arrays give the same W as f64 ones")
  tap.raises(function() b:call("set_w_csr", lam.buf.from(indptr, "f32"), idx, vals) end, { "indptr", "f64, i32 or i64" },
    "set_w_csr: an f32 index array refused")
  -- round trip through the triplets
  local c = esn({ units = 200, density = 0.05, bias_scaling = 0.1 }, 21)
  local coo = c:call("get_w_coo")
  local ip, ix, vx, row = { 0 }, {}, {}, 0
  for k = 1, coo:shape()[1] do
    local i = coo:get(k, 1)
    while row < i do ip[#ip + 1] = #ix; row = row + 1 end
    ix[#ix + 1], vx[#vx + 1] = coo:get(k, 2), coo:get(k, 3)
  end
  while row < 200 do ip[#ip + 1] = #ix; row = row + 1 end
  local d = esn({ units = 200, density = 0.3, bias_scaling = 0.1 }, 21)
  d:call("set_w_csr", ip, ix, vx)
  tap.ok(coo:shape()[1] > 1000 and maxdiff(c:call("get_w"), d:call("get_w")) == 0 and
    maxdiff(c:call("run", col(u)), d:call("run", col(u))) == 0,
    "get_w_coo -> set_w_csr into another W: same matrix and states (" .. coo:shape()[1] .. " nonzeros)")

  -- units = 10^5: no dense W anywhere
  local N = 100000
  local big = esn({ units = N, density = 1e-5, spectral_radius = 0, leak = 1 }, 5)
  local bp, bi, bv = { 0 }, {}, {}
  for i = 0, N - 1 do bi[i + 1], bv[i + 1], bp[i + 2] = (i + 1) % N, 0.5, i + 1 end
  big:call("set_w_csr", bp, bi, bv)
  local X = big:call("run", lam.buf.from({ 1, 0 }):reshape_view({ 2, 1 }))
  local win = big:call("get_w_in")
  local px, pw, worst = X:ptr(), win:ptr(), 0
  for i = 0, N - 1 do
    local x1 = math.tanh(pw[i])
    worst = math.max(worst, math.abs(px[i] - x1),
      math.abs(px[N + i] - math.tanh(0.5 * math.tanh(pw[(i + 1) % N]))))
  end
  local sr = esn({ units = 50, density = 0.2, spectral_radius = 0 }, 5):call("spectral_radius")
  tap.ok(worst <= 1e-14 and sr:get(1) == 0 and sr:get(2) ~= sr:get(2),
    string.format("units = 1e5 ring from set_w_csr: x2 = tanh(0.5 x1[i+1]) to 1e-14 (max %.2g); " ..
      "with spectral_radius = 0, W = 0 and the radius before scaling is not estimated (NaN)", worst))

  -- refusals name the argument and the index
  local e = esn({ units = 4, density = 0.5 }, 1)
  tap.raises(function() e:call("set_w_csr", { 0, 1, 2, 3 }, { 0, 1, 2 }, { 1, 1, 1 }) end, { "indptr", "extent 4", "expected 5" }, "set_w_csr: indptr of the wrong length refused")
  tap.raises(function() e:call("set_w_csr", { 0, 0, 0, 0, 0 }, {}) end, { "expected 3 arguments" }, "set_w_csr: two arguments refused")
  tap.raises(function() e:call("set_w_csr", { 0, 1, 1, 1, 2 }, { 0, 4 }, { 1, 1 }) end, { "indices[1] = 4", "[0, 4)" }, "set_w_csr: column out of range refused")
  tap.raises(function() e:call("set_w_csr", { 0, 2, 2, 2, 2 }, { 3, 1 }, { 1, 1 }) end, { "indices[1] = 1", "increasing" }, "set_w_csr: unsorted row refused")
  tap.raises(function() e:call("set_w_csr", { 0, 1, 1, 1, 2 }, { 0, 1 }, { 1, 0 / 0 }) end, { "values[1]", "finite" }, "set_w_csr: NaN value refused")
  tap.raises(function() e:call("set_w_csr", { 0, 1, 1, 1, 3 }, { 0, 1 }, { 1, 1 }) end, { "indptr[4] = 3", "nonzeros" }, "set_w_csr: nnz mismatch refused")
  tap.raises(function() e:call("set_w_csr", { 0, 2, 1, 1, 2 }, { 0, 1 }, { 1, 1 }) end, { "indptr[2] = 1", "rising" }, "set_w_csr: falling indptr refused")
  local dl = esn({ units = 10, density = 0.5, dale = true }, 1)
  tap.raises(function() dl:call("set_w_csr", { 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, { 9 }, { 0.5 }) end, { "values[0]", "Dale", "inhibitory" }, "set_w_csr: sign against Dale's law refused")
end

tap.done()
