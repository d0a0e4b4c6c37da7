#!/usr/bin/env luajit
-- reservoir.nalsm: wiring statistics against the counts derived in
-- reservoir.md §3.2, the astrocyte update, the astrocyte's effect on the
-- branching factor (NALSM's claim: it organises the liquid toward
-- criticality, sigma -> 1), weight bounds, frozen liquid, determinism and
-- errors.  Input: ten fixed random "images" of 150 lit pixels out of 784,
-- each lit pixel firing with probability 10/150 per step (about 10 input
-- spikes per ms, as NALSM's normalisation gives), 20-step samples as in
-- the plasticity pre-pass.  Fixed seeds; tolerances in the names.
local tap = require "tap"
local lam = require "lamina"
tap.plan(16)

local function image(port, k)
  port:fill(0)
  local r = lam.rng(6, k % 10, 99)
  for _ = 1, 150 do port:set(10 / 150, math.floor(r:uniform() * 784) + 1) end
end

-- Plasticity pre-pass of `samples` samples; returns the model, the sim,
-- the branching factor of each sample and A at the end of each sample.
local function prepass(params, samples, seed)
  local sim = lam.sim { dt = 1, seed = seed or 1 }
  local m = sim:add("liq", "reservoir.nalsm", params)
  local inp = sim:port("liq.input")
  local br, A = {}, {}
  for s = 1, samples do
    image(inp, s)
    m:call("reset_sample")
    sim:run(20)
    br[s] = sim:port("liq.branching"):get(1)
    A[s] = sim:port("liq.astro"):get(1)
  end
  return m, sim, br, A
end

local function mean(t, a, b)
  local s = 0
  for k = a, b do s = s + t[k] end
  return s / (b - a + 1)
end

-- Wiring.
do
  local sim = lam.sim { dt = 1, seed = 1 }
  local m = sim:add("liq", "reservoir.nalsm", {})
  local c = m:call("connections")
  local cp, rec, inp = c:ptr(), 0, 0
  for k = 0, c:shape()[1] - 1 do
    if cp[3 * k] < 1000 then rec = rec + 1 else inp = inp + 1 end
  end
  tap.is(inp, 117600, "input wiring: exactly 15% of the 1000 x 784 (liquid, input) pairs")
  tap.near(rec / 1000, 17, 1.7, string.format("recurrent fan-in %.1f per neuron = 17 (reference derivation) +- 10%%", rec / 1000))
  local w = m:call("weights")
  local okw = true
  for k = 0, c:shape()[1] - 1 do
    local j, x = cp[3 * k], w:ptr()[k]
    if (j < 800 and x ~= 3) or (j >= 800 and j < 1000 and x ~= -3) or (j >= 1000 and math.abs(x) ~= 3) then okw = false end
  end
  tap.ok(okw, "initial weights: +3 from E, -3 from I, +-3 from inputs")
end

-- Astrocyte: one step from A0 = b_A: A1 = A0 + w_A (L - I) / tau_A.
do
  local sim = lam.sim { dt = 1, seed = 2 }
  sim:add("liq", "reservoir.nalsm", {})
  image(sim:port("liq.input"), 1)
  local ls, is = sim:record("liq.spikes"), sim:record("liq.in_spikes")
  sim:run(3)
  local A = sim:port("liq.astro"):get(1)
  -- Replay the recursion from the recorded spike counts of each step.
  local lt, it = ls:ticks(), is:ticks()
  local want = 0.15
  for t = 0, 2 do
    local L, I = 0, 0
    for k = 1, lt:size() do if lt:get(k) == t then L = L + 1 end end
    for k = 1, it:size() do if it:get(k) == t then I = I + 1 end end
    want = want + (0.015 * (L - I) + 0.15 - want) / 100
  end
  tap.near(A, want, 1e-15, "astrocyte: A <- A + (w_A (L - I) + b_A - A)/tau_A replayed from the recorded spikes")
end

-- Pre-pass with and without the astrocyte.
local m_on, sim_on, br_on, A_on = prepass({}, 200, 1)
local _, _, br_off, A_off = prepass({ astro = false }, 200, 1)
do
  local rises = true
  for s = 1, 200 do if not (A_on[s] > 0.15) then rises = false end end
  tap.ok(rises, string.format("A rises above A0 = 0.15 in every sample (liquid spikes exceed input spikes); last %.3f", A_on[200]))
  tap.ok(A_off[200] == 0.15, "astro = false: A stays at b_A")
  local on, off = mean(br_on, 151, 200), mean(br_off, 151, 200)
  tap.ok(math.abs(on - 1) < 0.6 * math.abs(off - 1),
         string.format("branching factor moves toward 1 with the astrocyte: |%.2f - 1| < 0.6 |%.2f - 1| (last 50 samples)", on, off))
  local early = mean(br_off, 1, 50)
  tap.ok(off > early, string.format("without the astrocyte, STDP drives the liquid away from 1 (%.2f -> %.2f)", early, off))
  local w, c = m_on:call("weights"), m_on:call("connections")
  local inb = true
  for k = 0, w:size() - 1 do
    local j, x = c:ptr()[3 * k], w:ptr()[k]
    if (j < 800 and (x < 0 or x > 3)) or (j >= 800 and j < 1000 and (x > 0 or x < -3)) or math.abs(x) > 3 then inb = false end
  end
  tap.ok(inb, "weights stay in their bounds: E [0, 3], I [-3, 0], input [-3, 3]")
  -- Frozen liquid: weights do not change.
  sim_on:at_param(sim_on:time(), "liq.plastic", false)
  local before = m_on:call("weights")
  image(sim_on:port("liq.input"), 3)
  sim_on:run(20)
  local after = m_on:call("weights")
  local same = true
  for k = 0, before:size() - 1 do if before:ptr()[k] ~= after:ptr()[k] then same = false end end
  tap.ok(same, "plastic = false freezes the liquid")
end

do
  local _, _, b1 = prepass({}, 5, 4)
  local _, _, b2 = prepass({}, 5, 4)
  local same = true
  for s = 1, 5 do if b1[s] ~= b2[s] then same = false end end
  tap.ok(same, "same seed: identical branching factors sample by sample")
end

-- Checkpoints: a 5x5x4 liquid with 64 inputs, plastic with the
-- astrocyte on (weights, traces, timers, A and the drive stream are part
-- of the state), saved at 60 steps and loaded into a fresh instance built
-- with another seed (other wiring and synaptic time constants).
do
  local res = require("spkckpt").continuation {
    model = "reservoir.nalsm", dt = 1, T = 60, seeds = { 2, 5 },
    params = { d1 = 5, d2 = 5, d3 = 4, inputs = 64, lambda = 2 },
    setup = function(sim)
      local r = lam.rng(6, 0, 7)
      local inp = sim:port("net.input")
      for k = 1, 64 do inp:set(r:uniform() < 0.3 and 0.2 or 0, k) end
    end,
    spikes = { "spikes", "in_spikes" }, state = { "v", "astro", "count", "branching" } }
  tap.ok(res.spikes and res.n > 100, "save_state / load_state into a fresh instance of another seed: identical liquid and input spikes in the second half (" .. res.n .. ")")
  tap.ok(res.state and res.differs, "... identical v, A, counts and branching at the end, which the other seed alone does not give")
  local sim = lam.sim { dt = 1, seed = 1 }
  sim:add("a", "reservoir.nalsm", { d1 = 5, d2 = 5, d3 = 4, inputs = 64 })
  sim:add("b", "reservoir.nalsm", { d1 = 5, d2 = 5, d3 = 4, inputs = 32 })
  tap.raises(function() sim:load_state("b", sim:save_state("a")) end, { "reservoir.nalsm", "input" }, "a state of a liquid with other inputs: error")
end

local sim = lam.sim { dt = 1, seed = 1 }
tap.raises(function() sim:add("a", "reservoir.nalsm", { in_density = 0 }) end, { "in_density", "(0, 1]" }, "in_density = 0: error")
tap.raises(function() sim:add("b", "reservoir.nalsm", { in_density = 1.2 }) end, { "in_density" }, "in_density > 1: error")
tap.done()
