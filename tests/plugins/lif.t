#!/usr/bin/env luajit
-- reservoir.lif through the Lua library and the real reservoir.so: the
-- Brette et al. 2007 CUBA and COBA benchmark networks against the
-- reference figures (reservoir.md §2.5, Brian2 2.5.1 measured with the
-- same protocol by scripts/bench/reservoir/cuba_brian2.py), the exact
-- propagators, delays, STDP, connectivity statistics, readout ports,
-- determinism and parameter errors.  Fixed seeds; tolerances in the names.
local tap = require "tap"
local lam = require "lamina"
tap.plan(49)

local function run_net(params, T, seed, opts)
  local sim = lam.sim { dt = 0.1, seed = seed or 1 }
  local net = sim:add("net", "reservoir.lif", params)
  local rec = sim:record("net.spikes")
  if opts and opts.before then opts.before(sim, net) end
  sim:run(T)
  return rec, net, sim
end

-- ---- CUBA-4000 -----------------------------------------------------------
-- Rate over the first second (Brian2 2.5.1: 5.2-5.8 Hz; 5.62 Hz with this
-- protocol).  The ISI CV figure 0.65 of the reference is the median over
-- neurons with > 5 spikes after t = 1 s of a longer run, so the CV is
-- taken over [1 s, 4 s) (a 1-s window gives 0.50 in Brian2 and here: only
-- the most regular neurons reach 6 spikes in 1 s).
do
  local rec, net = run_net(lam.spikes.preset("cuba"), 4000, 1)
  local r1 = lam.spikes.mean_rate(rec, { n = 4000, to = 10000 })
  tap.ok(r1 >= 5 and r1 <= 6, string.format("CUBA-4000: mean rate in the first 1 s %.2f Hz in [5, 6]", r1))
  local _, cv = lam.spikes.isi_cv(rec, { n = 4000, from = 10000, to = 40000 })
  tap.near(cv, 0.65, 0.65 * 0.25, string.format("CUBA-4000: median ISI CV after 1 s %.3f = 0.65 +- 25%%", cv))
  local _, cv1 = lam.spikes.isi_cv(rec, { n = 4000, to = 10000 })
  tap.near(cv1, 0.51, 0.51 * 0.25, string.format("CUBA-4000: median ISI CV of the first 1 s %.3f = Brian2's 0.51 +- 25%%", cv1))
  local counts = net:call("spike_counts")
  local ticks = rec:ticks()
  tap.is(counts:sum(), ticks:size(), "spike_counts() total equals the recorded events")
  local exc, inh = lam.spikes.rates(rec, { n = 4000, to = 40000 }), nil
  local re, ri = exc:slice(1, 3200):mean(), exc:slice(3201, 4000):mean()
  inh = ri
  tap.ok(math.abs(re - inh) < 0.15 * re, string.format("CUBA: E and I rates agree (%.2f, %.2f Hz, within 15%%: identical inputs)", re, ri))
end

-- ---- COBA-4000 (Brette's benchmark 1) -------------------------------------
-- The 1-s rate varies with the seed (sd ~0.8 Hz here and in Brian2, whose
-- seeds 1-3 gave 19.4, 20.0, 17.6 Hz); the mean over 4 seeds is tested
-- against 19-20 Hz widened by one seed sd / 2 (the sd of a 4-seed mean):
-- [18.6, 20.4].  CV: reference 1.72, Brian2 same protocol 1.64-1.66.
do
  local sum, cvs = 0, 0
  for seed = 1, 4 do
    local rec = run_net(lam.spikes.preset("coba"), 1000, seed)
    sum = sum + lam.spikes.mean_rate(rec, { n = 4000, to = 10000 })
    local _, cv = lam.spikes.isi_cv(rec, { n = 4000 })
    cvs = cvs + cv
  end
  local r = sum / 4
  tap.ok(r >= 18.6 and r <= 20.4, string.format("COBA-4000: mean rate over 4 seeds %.2f Hz in 19-20 +- 0.4", r))
  tap.near(cvs / 4, 1.72, 1.72 * 0.25, string.format("COBA-4000: median ISI CV %.3f = 1.72 +- 25%%", cvs / 4))
end

-- ---- determinism ----------------------------------------------------------
do
  local small = { n = 500, p = 0.1, w_e = 0.6, delay = 0.5, delay_max = 2 }
  local a = run_net(small, 200, 7)
  local b = run_net(small, 200, 7)
  local c = run_net(small, 200, 8)
  local function same(x, y)
    local tx, ix = x:events()
    local ty, iy = y:events()
    if tx:size() ~= ty:size() then return false end
    local p1, p2, q1, q2 = tx:ptr(), ty:ptr(), ix:ptr(), iy:ptr()
    for k = 0, tx:size() - 1 do
      if p1[k] ~= p2[k] or q1[k] ~= q2[k] then return false end
    end
    return true
  end
  tap.ok(a:ticks():size() > 100, "determinism network fires (" .. a:ticks():size() .. " spikes)")
  tap.ok(same(a, b), "same seed: identical spike events")
  tap.ok(not same(a, c), "another seed: different spike events")
end

-- ---- connectivity ----------------------------------------------------------
do
  local sim = lam.sim { dt = 0.1, seed = 3 }
  local n, p = 2000, 0.05
  local net = sim:add("net", "reservoir.lif", { n = n, p = p })
  local c = net:call("connections")
  local m = c:shape()[1]
  local want, se = p * n * n, math.sqrt(n * n * p * (1 - p))
  tap.near(m, want, 4 * se, string.format("probability wiring: %d synapses = p n^2 = %d +- 4 SE", m, want))
  -- Out-degree of source 0 and in-degree of target 0 are Binomial(n, p).
  local cp, outd, ind, self = c:ptr(), 0, 0, 0
  local sorted = true
  for k = 0, m - 1 do
    local s, t = tonumber(cp[3 * k]), tonumber(cp[3 * k + 1])
    if s == 0 then outd = outd + 1 end
    if t == 0 then ind = ind + 1 end
    if s == t then self = self + 1 end
    if k > 0 then
      local s0, t0 = tonumber(cp[3 * k - 3]), tonumber(cp[3 * k - 2])
      if s < s0 or (s == s0 and t <= t0) then sorted = false end
    end
  end
  tap.ok(sorted, "connections(): ordered by source, then strictly by target (no duplicates)")
  tap.near(self, p * n, 4 * math.sqrt(p * n), "autapses allowed by default: self-connections = p n +- 4 SE (" .. self .. ")")
  local net2 = sim:add("net2", "reservoir.lif", { n = 300, connect = "indegree", indegree = 25, autapses = false })
  local c2 = net2:call("connections")
  local indeg, dup, self2 = {}, 0, 0
  local seen = {}
  local p2 = c2:ptr()
  for k = 0, c2:shape()[1] - 1 do
    local s, t = tonumber(p2[3 * k]), tonumber(p2[3 * k + 1])
    indeg[t] = (indeg[t] or 0) + 1
    local key = s * 1000 + t
    if seen[key] then dup = dup + 1 end
    seen[key] = true
    if s == t then self2 = self2 + 1 end
  end
  local exact = true
  for t = 0, 299 do if indeg[t] ~= 25 then exact = false end end
  tap.ok(exact and dup == 0 and self2 == 0, "indegree wiring: every neuron exactly 25 distinct sources, none itself")
  local w = net:call("weights")
  local wp, okw = w:ptr(), true
  for k = 0, m - 1 do
    local want_w = tonumber(cp[3 * k]) < 1600 and 1.62 or -9
    if wp[k] ~= want_w then okw = false end
  end
  tap.ok(okw, "weights(): w_e from the first 80% (excitatory), w_i from the rest")
end

-- ---- exact propagators ------------------------------------------------------
-- One neuron, no synapses (n = 1, p tiny), E_L below threshold.
do
  local sim = lam.sim { dt = 0.1, seed = 1 }
  local net = sim:add("net", "reservoir.lif", { n = 1, p = 1e-12, E_L = -70, v_init = "value", v0_a = -70, t_ref = 0 })
  sim:port("net.i_ext"):set(8, 1)
  sim:run(10)
  local want = -70 + 8 * (1 - math.exp(-10 / 20))
  tap.near(sim:port("net.v"):get(1), want, 1e-12, "CUBA, constant input: v(10 ms) = E_L + I (1 - e^{-t/tau_m}) to 1e-12")
  -- A synaptic kick g_e(0) = 2 mV: v - E_L = 2 tau_e/(tau_e - tau_m) (e^{-t/tau_e} - e^{-t/tau_m}).
  local sim2 = lam.sim { dt = 0.1, seed = 1 }
  sim2:add("net", "reservoir.lif", { n = 1, p = 1e-12, E_L = -70, v_init = "value", v0_a = -70 })
  sim2:port("net.g_e"):set(2, 1)
  sim2:run(7)
  local t = 7
  local kick = 2 * 5 / (5 - 20) * (math.exp(-t / 5) - math.exp(-t / 20))
  tap.near(sim2:port("net.v"):get(1), -70 + kick, 1e-12, "CUBA, synaptic kick: exact alpha-like response at 7 ms to 1e-12")
  tap.near(sim2:port("net.g_e"):get(1), 2 * math.exp(-t / 5), 1e-13, "g_e decays exactly: 2 e^{-t/tau_e}")
  -- COBA Euler, one step from v = -60 with g_e = 1: v += dt/tau (E_L - v + g_e (E_e - v)).
  local sim3 = lam.sim { dt = 0.1, seed = 1 }
  sim3:add("net", "reservoir.lif", { n = 1, p = 1e-12, synapse = "coba", E_L = -60, v_init = "value", v0_a = -60 })
  sim3:port("net.g_e"):set(1, 1)
  sim3:run(0.1)
  tap.near(sim3:port("net.v"):get(1), -60 + 0.1 / 20 * (0 + 1 * (0 - -60)), 1e-12, "COBA Euler: one step matches the Euler formula")
  -- Exponential Euler, same start: g_tot = 1 + g_e = 2, v_inf = (E_L + g_e E_e) / g_tot = -30,
  -- v = v_inf + (v - v_inf) e^{-dt g_tot / tau_m}.
  local sim4 = lam.sim { dt = 0.1, seed = 1 }
  sim4:add("net", "reservoir.lif", { n = 1, p = 1e-12, synapse = "coba", coba_method = "expeuler", E_L = -60,
                                     v_init = "value", v0_a = -60 })
  sim4:port("net.g_e"):set(1, 1)
  sim4:run(0.1)
  tap.near(sim4:port("net.v"):get(1), -30 + (-60 + 30) * math.exp(-0.1 * 2 / 20), 1e-12,
           "COBA exponential Euler: one step matches v_inf + (v - v_inf) e^{-dt g_tot/tau_m}")
end

-- ---- refractoriness, delays --------------------------------------------------
do
  -- Two neurons, both ways connected, delay 1.5 ms; neuron 0 forced over
  -- threshold: it fires at tick 0, g_e of neuron 1 jumps by w_e at the end
  -- of tick 15 (delay 15 steps), not before.
  local sim = lam.sim { dt = 0.1, seed = 1 }
  sim:add("net", "reservoir.lif", { n = 2, p = 1, autapses = false, E_L = -70, v_init = "value", v0_a = -70,
                                      exc_fraction = 1, w_e = 3, delay = 1.5 })
  local ge = sim:record("net.g_e")
  local v = sim:record("net.v")
  local spk = sim:record("net.spikes")
  sim:port("net.v"):set(0, 1)
  sim:run(6)
  local g = ge:data()
  tap.is(g:get(15, 2), 0, "delay 1.5 ms: no effect through tick 14")
  tap.is(g:get(16, 2), 3, "delay 1.5 ms: g_e = w_e at the end of tick 15")
  local t, i = spk:events()
  tap.ok(t:size() == 1 and t:get(1) == 0 and i:get(1) == 0, "only neuron 0 fired, at tick 0")
  local vv = v:data()
  local frozen = true
  for k = 1, 50 do if vv:get(k, 1) ~= -60 then frozen = false end end
  tap.ok(frozen and vv:get(51, 1) ~= -60, "refractory 5 ms: v held at v_reset through tick 49, integrates at tick 50")
  -- v written from outside: at 7 ms (not frozen) to -40 mV, above
  -- threshold: it fires at tick 70 and is frozen through tick 119; at
  -- 10 ms (frozen) to -49.95 mV (one step of integration would take it
  -- below threshold, to -50.05): a frozen v keeps the written value, and the
  -- threshold tests the final v, so it fires at tick 100 and is reset and
  -- frozen from there (through tick 149).
  local spk2 = sim:record("net.spikes")
  local v2 = sim:record("net.v") -- rows from tick 60
  sim:at(7, function(s) s:port("net.v"):set(-40, 1) end)
  sim:at(10, function(s) s:port("net.v"):set(-49.95, 1) end)
  sim:run(10)
  local t2, i2 = spk2:events()
  local vv2 = v2:data()
  local held = true
  for tick = 71, 149 do if vv2:get(tick - 59, 1) ~= -60 then held = false end end
  tap.ok(t2:size() == 2 and t2:get(1) == 70 and t2:get(2) == 100 and i2:get(1) == 0 and i2:get(2) == 0 and held and
         vv2:get(150 - 59, 1) ~= -60,
         "a frozen neuron whose v is set above threshold fires at that step and is frozen at v_reset again")
end

-- ---- STDP -----------------------------------------------------------------------
-- Pre (neuron 0) fires at tick 0, post (neuron 1) at tick 50 (5 ms later):
-- w(0->1) += a_plus w_max e^{-5/tau_plus}; w(1->0) (pre 1 after post 0)
-- -= a_minus w_max e^{-5/tau_minus}.
do
  local sim = lam.sim { dt = 0.1, seed = 1 }
  local net = sim:add("net", "reservoir.lif", { n = 2, p = 1, autapses = false, E_L = -70, v_init = "value",
                                                v0_a = -70, exc_fraction = 1, w_e = 1, stdp = true, w_max = 2,
                                                a_plus = 0.01, a_minus = 0.02, tau_plus = 20, tau_minus = 10 })
  sim:port("net.v"):set(0, 1)
  sim:run(5)
  sim:port("net.v"):set(0, 2)
  sim:run(0.1)
  local c, w = net:call("connections"), net:call("weights")
  local w01 = c:get(1, 1) == 0 and w:get(1) or w:get(2)
  local w10 = c:get(1, 1) == 1 and w:get(1) or w:get(2)
  tap.near(w01, 1 + 0.01 * 2 * math.exp(-5 / 20), 1e-12, "STDP pre-before-post: potentiation a_plus w_max e^{-dt/tau_plus}")
  tap.near(w10, 1 - 0.02 * 2 * math.exp(-5 / 10), 1e-12, "STDP post-before-pre: depression a_minus w_max e^{-dt/tau_minus}")
end

-- ---- readout ports ----------------------------------------------------------------
do
  local sim = lam.sim { dt = 0.1, seed = 2 }
  sim:add("net", "reservoir.lif", { n = 400, p = 0.05, tau_trace = 20, bin = 10 })
  local spk = sim:record("net.spikes")
  local cnt = sim:record("net.count", { every = 100, from = 99 })
  local tr = sim:record("net.trace", { every = 1000, from = 999 })
  sim:run(300)
  local binned = lam.spikes.counts(spk, { n = 400, bin = 100, to = 3000 })
  local a, b = cnt:data(), binned
  local same = a:size() == b:size()
  for k = 0, a:size() - 1 do if a:ptr()[k] ~= b:ptr()[k] then same = false end end
  tap.ok(same and b:sum() > 0, "count port sampled at bin ends equals lam.spikes.counts (10 ms bins)")
  -- trace of neuron 1 at the end of tick 999 = sum over its spikes of e^{-(999 - t) dt / 20}.
  local t, i = spk:events()
  local want = 0
  for k = 1, t:size() do
    if i:get(k) == 0 and t:get(k) <= 999 then want = want + math.exp(-(999 - t:get(k)) * 0.1 / 20) end
  end
  tap.near(tr:data():get(1, 1), want, 1e-9, "trace port = sum of e^{-(t - t_spike)/tau_trace} (1e-9)")
end

-- ---- checkpoints ---------------------------------------------------------------
-- A state saved at 100 ms and loaded into an instance built with another
-- seed (other wiring) continues exactly like the original (STDP and delays
-- on, so weights, traces and the delay ring are part of the state).
do
  local par = { n = 300, p = 0.1, w_e = 0.8, delay = 0.5, delay_max = 1.5, stdp = true }
  local a = lam.sim { dt = 0.1, seed = 1 }
  a:add("net", "reservoir.lif", par)
  a:run(100)
  local st = a:save_state("net")
  local ra = a:record("net.spikes")
  a:run(100)
  local b = lam.sim { dt = 0.1, seed = 9 }
  b:add("net", "reservoir.lif", par)
  b:run(100)
  b:load_state("net", st)
  local rb = b:record("net.spikes")
  b:run(100)
  local ta, ia = ra:events()
  local tb, ib = rb:events()
  local same = ta:size() == tb:size() and ta:size() > 0
  for k = 1, math.min(ta:size(), tb:size()) do
    if ta:get(k) ~= tb:get(k) or ia:get(k) ~= ib:get(k) then same = false end
  end
  tap.ok(same, "save_state / load_state into another seed's instance: identical continuation (" .. ta:size() .. " spikes)")
end

-- A fresh instance of another seed AND other weight parameters (w_e 2,
-- w_i -6) loads a state of a plastic-free network, without delays (the
-- path that reads no weight array) and with delays (increments in flight
-- in the ring at the save): the loaded weights (the saver's 1.62 and -9)
-- are the ones used.
for _, d in ipairs { { 0, -1 }, { 0.2, 1.5 } } do
  local function par(we, wi)
    return { n = 400, p = 0.1, w_e = we, w_i = wi, E_L = -45, delay = d[1], delay_max = d[2] }
  end
  local res = require("spkckpt").continuation {
    model = "reservoir.lif", dt = 0.1, T = 100, seeds = { 4, 11 }, params = par(1.62, -9), params_c = par(2, -6),
    spikes = { "spikes" }, state = { "v", "g_e", "g_i" } }
  tap.ok(res.spikes and res.n > 300 and res.state and res.differs,
         (d[1] == 0 and "delay 0" or "delays 0.2-1.5 ms") .. ": a fresh instance with another seed and other weights continues " ..
         "bitwise after load_state (" .. res.n .. " spikes)")
end

-- A truncated state (the model's header intact, 100 bytes missing; given
-- bare, without the core's envelope, which would refuse it first) is
-- refused before anything changes: the instance keeps running as before.
do
  local par = { n = 200, p = 0.1, E_L = -45 }
  local a = lam.sim { dt = 0.1, seed = 2 }
  a:add("net", "reservoir.lif", par)
  a:run(20)
  local st = a:save_state("net")
  local sp, from = st:ptr(), nil
  for k = 1, st:size() - 1 do
    if sp[k - 1] == 10 and sp[k] == 10 then from = k + 1 break end -- the envelope ends at "\n\n"
  end
  local cut = lam.buf.new({ st:size() - from - 100 }, "u8")
  for k = 0, cut:size() - 1 do cut:ptr()[k] = sp[from + k] end
  local b = lam.sim { dt = 0.1, seed = 2 }
  b:add("net", "reservoir.lif", par)
  b:run(20)
  tap.raises(function() b:load_state("net", cut) end, { "reservoir.lif", "bytes" }, "truncated state: error naming the byte count")
  local ra, rb = a:record("net.spikes"), b:record("net.spikes")
  a:run(20)
  b:run(20)
  tap.ok(ra:ticks():size() > 0 and ra:ticks():size() == rb:ticks():size(), "... and the instance runs on unchanged")
end

-- ---- external spike input through a link --------------------------------------
-- stim.poisson (8000 Hz per channel) linked to `input`, w_in = 0.5, no
-- recurrent synapses, E_L low enough that nothing fires: g_e is shot noise
-- with mean lambda dt w_in / (1 - e^{-dt/tau_e}) = 0.4 / (1 - e^{-0.02})
-- = 20.2 mV and variance lambda w_in^2 tau_e / 2 = 5 mV^2; the mean over
-- 400 neurons at one time has SE 0.11 mV.
do
  local sim = lam.sim { dt = 0.1, seed = 5 }
  sim:add("bg", "stim.poisson", { channels = 400, rate = 8000 })
  sim:add("net", "reservoir.lif", { n = 400, p = 1e-12, E_L = -200, v_init = "value", v0_a = -200, w_in = 0.5 })
  sim:link("bg.spikes", "net.input")
  sim:run(100)
  local want = 0.4 / (1 - math.exp(-0.02))
  tap.near(sim:port("net.g_e"):mean(), want, 4 * 0.112, "linked Poisson input: mean g_e = lambda dt w_in / (1 - e^{-dt/tau_e}) +- 4 SE")
end

-- ---- lam.spikes on known trains ----------------------------------------------------
do
  -- Events in tick order, as recorders store them.
  local ev = { ticks = lam.buf.from({ 0, 0, 5, 10, 20, 25, 30, 40, 50, 60 }), index = lam.buf.from({ 0, 1, 1, 0, 0, 1, 0, 0, 0, 0 }), dt = 1 }
  local cv, med = lam.spikes.isi_cv(ev, { n = 2 })
  tap.ok(cv:get(1) == 0 and cv:get(2) ~= cv:get(2) and med == 0, "isi_cv: regular train CV 0; neuron with <= 5 spikes NaN")
  local r = lam.spikes.rates(ev, { n = 2, to = 100 })
  tap.near(r:get(1), 7 / 0.1, 1e-12, "rates: 7 spikes in 100 ms = 70 Hz")
  local f = lam.spikes.fano(ev, { n = 2, bin = 10, to = 100, population = true })
  -- population counts per 10-tick bin: 3,1,2,1,1,1,1,0,0,0 -> mean 1, var 0.8
  tap.near(f, 0.8, 1e-12, "fano (population, 10-tick bins) = var/mean = 0.8")
  local bf = lam.spikes.branching(ev, { bin = 10, to = 100 })
  tap.near(bf, (1 / 3 + 2 + 1 / 2 + 1 + 1 + 1 + 0) / 7, 1e-12, "branching: mean of A(t+1)/A(t) over nonempty bins")
  local ev2 = { ticks = lam.buf.from({ 2, 3, 3, 7, 9, 10, 10, 10 }), index = lam.buf.from({ 0, 0, 1, 0, 0, 0, 1, 2 }), dt = 1 }
  local sizes, hist = lam.spikes.avalanches(ev2, { to = 12 })
  tap.ok(sizes:size() == 3 and sizes:get(1) == 3 and sizes:get(2) == 1 and sizes:get(3) == 4 and hist[1] == 1,
         "avalanches: runs of nonempty bins bounded by empty ones (sizes 3, 1, 4)")
end

-- ---- bad inputs ------------------------------------------------------------------
do
  local sim = lam.sim { dt = 0.1, seed = 1 }
  tap.raises(function() sim:add("a", "reservoir.lif", { p = 0 }) end, { "'p'", "(0, 1]" }, "p = 0: error names p and (0, 1]")
  tap.raises(function() sim:add("b", "reservoir.lif", { p = 1.5 }) end, { "'p'" }, "p = 1.5: error names p")
  tap.raises(function() sim:add("c", "reservoir.lif", { delay = -1 }) end, { "delay" }, "negative delay: error names delay")
  tap.raises(function() sim:add("d", "reservoir.lif", { delay = 0.05 }) end, { "delay", "whole number" }, "delay not a whole number of steps: error")
  tap.raises(function() sim:add("e", "reservoir.lif", { delay = 1, delay_max = 0.5 }) end, { "delay_max" }, "delay_max < delay: error")
  tap.raises(function() sim:add("f", "reservoir.lif", { v_th = -70 }) end, { "v_th", "v_reset" }, "v_th below v_reset: error")
  tap.raises(function() sim:add("g", "reservoir.lif", { n = 10, connect = "indegree", indegree = 11 }) end, { "in-degree" }, "indegree > n: error")
  tap.raises(function() sim:add("h", "reservoir.lif", { synapse = "hh" }) end, { "synapse" }, "unknown synapse type: error")
  tap.raises(function() lam.spikes.rates({ ticks = lam.buf.from({ 1 }), index = lam.buf.from({ 5 }) }, { n = 3 }) end,
             { "index 5" }, "lam.spikes: index outside [0, n) is an error")
end

tap.done()
