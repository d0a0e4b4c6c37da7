#!/usr/bin/env luajit
-- reservoir.izhikevich: single-neuron firing patterns against the
-- published behaviour (Izhikevich 2003, IEEE TNN 14:1569, Fig. 2: RS
-- adapts, IB bursts then fires single spikes, CH fires repetitive bursts,
-- FS fires fast without adaptation), the paper's heterogeneity, the
-- 1000-neuron network's alpha rhythm, determinism and errors.
-- Single neurons: I = 10 from v = -65, dt = 0.25 ms (the figure's step),
-- 500 ms, no noise.  Fixed seeds; tolerances in the names.
local tap = require "tap"
local lam = require "lamina"
tap.plan(19)

local function isis(kind, exc)
  local sim = lam.sim { dt = 0.25, seed = 1 }
  local par = { n = 1, ne = exc and 1 or 0, hetero = false, noise_e = 0, noise_i = 0, w_e = 0, w_i = 0, bias = 10 }
  if exc then par.exc_type = kind else par.inh_type = kind end
  sim:add("z", "reservoir.izhikevich", par)
  local r = sim:record("z.spikes")
  sim:run(500)
  local t, out = r:times(), {}
  for k = 2, t:size() do out[#out + 1] = t:get(k) - t:get(k - 1) end
  return out
end

local rs = isis("RS", true)
local steady = rs[#rs]
tap.ok(#rs >= 5 and rs[1] < 0.7 * steady,
       string.format("RS: spike-frequency adaptation, first ISI %.1f ms < 0.7 x steady ISI %.1f ms", rs[1], steady))
local reg = true
for k = #rs - 4, #rs do if math.abs(rs[k] - steady) > 0.05 * steady then reg = false end end
tap.ok(reg, "RS: tonic after adaptation (last 5 ISIs within 5%)")
tap.ok(1000 / steady > 10 and 1000 / steady < 40, string.format("RS: steady rate %.1f Hz, a regular-spiking 10-40 Hz at I = 10", 1000 / steady))

local fs = isis("FS", false)
local fsteady = fs[#fs]
tap.ok(1000 / fsteady > 3 * 1000 / steady, string.format("FS: fast spiking, %.0f Hz > 3 x RS", 1000 / fsteady))
local maxr, minr = 0, math.huge
for k = 3, #fs do maxr, minr = math.max(maxr, fs[k]), math.min(minr, fs[k]) end
tap.ok(maxr < 1.3 * minr, string.format("FS: little adaptation (ISIs after the first two within 30%%: %.1f-%.1f ms)", minr, maxr))

local ib = isis("IB", true)
local later = true
for k = 4, #ib do if ib[k] < 20 then later = false end end
tap.ok(ib[1] < 10 and ib[2] < 10 and later, "IB: initial burst (2 ISIs < 10 ms), then single spikes (ISIs > 20 ms)")

local ch = isis("CH", true)
local short, long = 0, 0
for _, d in ipairs(ch) do
  if d < 10 then short = short + 1 elseif d > 30 then long = long + 1 end
end
tap.ok(long >= 3 and short >= 2 * long, string.format("CH: repetitive bursts (%d intra-burst ISIs < 10 ms, %d inter-burst > 30 ms)", short, long))

-- The paper's heterogeneous network (800 E, 200 I, all-to-all, dt = 1 ms).
do
  local sim = lam.sim { dt = 1, seed = 1 }
  local z = sim:add("z", "reservoir.izhikevich", { bin = 10 })
  local r = sim:record("z.spikes")
  local cr = sim:record("z.count", { every = 10, from = 9 })
  sim:run(1000)
  local want, got = lam.spikes.counts(r, { n = 1000, bin = 10, to = 1000 }), cr:data()
  local same = want:size() == got:size() and want:sum() > 0
  for k = 0, want:size() - 1 do if want:ptr()[k] ~= got:ptr()[k] then same = false end end
  tap.ok(same, "count port sampled at bin ends equals lam.spikes.counts (10-ms bins)")
  local abcd = z:call("abcd")
  local okc = true
  for i = 1, 800 do
    local c, d = abcd:get(3, i), abcd:get(4, i)
    if c < -65 or c > -50 or d < 2 or d > 8 or math.abs((c + 65) / 15 - (8 - d) / 6) > 1e-12 then okc = false end
  end
  for i = 801, 1000 do
    local a, b = abcd:get(1, i), abcd:get(2, i)
    if a < 0.02 or a > 0.1 or math.abs((a - 0.02) / 0.08 - (0.25 - b) / 0.05) > 1e-9 then okc = false end
  end
  tap.ok(okc, "heterogeneity: E c = -65 + 15 r^2, d = 8 - 6 r^2; I a = 0.02 + 0.08 r, b = 0.25 - 0.05 r (same r)")
  local rate = lam.spikes.mean_rate(r, { n = 1000, to = 1000 })
  tap.ok(rate > 2 and rate < 20, string.format("network: mean rate %.1f Hz (asynchronous-rhythmic regime, 2-20 Hz)", rate))
  -- Population rhythm: the periodogram of the 1-ms population count peaks
  -- in the alpha band the paper reports (~10 Hz).
  local c = lam.spikes.counts(r, { population = true, to = 1000 })
  local best, bf = 0, 0
  for f = 2, 100 do
    local re, im = 0, 0
    for k = 0, c:size() - 1 do
      local x = c:ptr()[k]
      re, im = re + x * math.cos(2 * math.pi * f * k / 1000), im + x * math.sin(2 * math.pi * f * k / 1000)
    end
    if re * re + im * im > best then best, bf = re * re + im * im, f end
  end
  tap.ok(bf >= 5 and bf <= 15, "network: population spectrum peaks in the alpha band (" .. bf .. " Hz in [5, 15])")
  local sim2 = lam.sim { dt = 1, seed = 1 }
  sim2:add("z", "reservoir.izhikevich", {})
  local r2 = sim2:record("z.spikes")
  sim2:run(1000)
  local same = r2:ticks():size() == r:ticks():size()
  local a, b = r:data(), r2:data()
  for k = 0, a:size() - 1 do if a:ptr()[k] ~= b:ptr()[k] then same = false end end
  tap.ok(same, "same seed: identical spikes")
end

-- Checkpoints: a 200-neuron network with thalamic noise (so the noise
-- stream is part of the state), saved at 150 ms and loaded into a fresh
-- instance built with another seed (other a, b, c, d and weights).
do
  local res = require("spkckpt").continuation {
    model = "reservoir.izhikevich", dt = 1, T = 150, seeds = { 3, 8 },
    params = { n = 200, ne = 160, p = 0.2, w_e = 1, w_i = 2, tau_trace = 20, bin = 10 },
    spikes = { "spikes" }, state = { "v", "u", "trace", "count" } }
  tap.ok(res.spikes and res.n > 100, "save_state / load_state into a fresh instance of another seed: identical spikes in the second half (" .. res.n .. ")")
  tap.ok(res.state, "... and identical v, u, trace and count at the end")
  tap.ok(res.differs, "... while the other seed without the state ends elsewhere")
  local sim = lam.sim { dt = 1, seed = 1 }
  sim:add("small", "reservoir.izhikevich", { n = 100, ne = 80 })
  sim:add("lif", "reservoir.lif", { n = 100 })
  local st = sim:save_state("lif")
  tap.raises(function() sim:load_state("small", st) end, { "reservoir.izhikevich", "state" }, "a reservoir.lif state into reservoir.izhikevich: error")
end

local sim = lam.sim { dt = 1, seed = 1 }
tap.raises(function() sim:add("a", "reservoir.izhikevich", { n = 10, ne = 11 }) end, { "ne", "n" }, "ne > n: error")
tap.raises(function() sim:add("b", "reservoir.izhikevich", { p = 0 }) end, { "'p'", "(0, 1]" }, "p = 0: error")
tap.raises(function() sim:add("c", "reservoir.izhikevich", { exc_type = "XX" }) end, { "exc_type" }, "unknown type: error")
tap.done()
