#!/usr/bin/env luajit
-- tests/plugins/stim.t - the stim plugin (stim.poisson, stim.ou, stim.sine,
-- stim.pulse, stim.play) through the Lua library and the real stim.so.
--
-- Deterministic: every simulation has a fixed seed, so each statistical
-- check below either always passes or always fails for a given binary.
-- Tolerances are stated in the test names: "n SE" means n standard errors
-- of the estimator under the model's theory.
local lam = require "lamina"

-- ---------------------------------------------------------------------
-- A tiny TAP 13 helper.  Sections declare how many checks they make, so
-- the plan is printed first; a section that dies reports its error and
-- its remaining checks as failures, and the run goes on.
-- ---------------------------------------------------------------------
local tap = { n = 0, failed = 0, sections = {} }

local function diag(msg)
  for line in (tostring(msg) .. "\n"):gmatch("([^\n]*)\n") do
    io.write("# ", line, "\n")
  end
end

local function ok(cond, name, why)
  tap.n = tap.n + 1
  if cond then
    io.write("ok ", tap.n, " - ", name, "\n")
  else
    tap.failed = tap.failed + 1
    io.write("not ok ", tap.n, " - ", name, "\n")
    if why then diag(why) end
  end
  return cond
end

local function skip(name, reason)
  tap.n = tap.n + 1
  io.write("ok ", tap.n, " - ", name, " # SKIP ", reason, "\n")
end

local function near(got, want, tol, name)
  local good = got == got and math.abs(got - want) <= tol
  return ok(good, name, string.format("got %.17g, want %.17g (tolerance %g)", got, want, tol))
end

local function section(name, count, fn)
  tap.sections[#tap.sections + 1] = { name = name, count = count, fn = fn }
end

local function run_sections()
  local plan = 0
  for _, s in ipairs(tap.sections) do plan = plan + s.count end
  io.write("TAP version 13\n1..", plan, "\n")
  local t0 = os.clock()
  for _, s in ipairs(tap.sections) do
    local first = tap.n
    local good, err = xpcall(s.fn, debug.traceback)
    if not good then diag(s.name .. " died: " .. tostring(err)) end
    while tap.n < first + s.count do
      ok(false, s.name .. ": check not reached")
    end
    if tap.n > first + s.count then
      diag(s.name .. " made " .. (tap.n - first) .. " checks, declared " .. s.count)
      tap.failed = tap.failed + 1
    end
  end
  diag(string.format("cpu time %.2f s", os.clock() - t0))
  if tap.n ~= plan then tap.failed = tap.failed + 1 end
  os.exit(tap.failed == 0 and 0 or 1)
end

-- ---------------------------------------------------------------------
-- Helpers over buffers
-- ---------------------------------------------------------------------
local function shape(b)
  local s = b:shape()
  return s[1], s[2] or 1
end

-- Copies a buffer into a flat Lua array of numbers.
local function flat(b)
  local p, n, out = b:ptr(), b:size(), {}
  for i = 0, n - 1 do out[i + 1] = tonumber(p[i]) end
  return out
end

local function same(a, b)
  if #a ~= #b then return false, "lengths " .. #a .. " and " .. #b end
  for i = 1, #a do
    if a[i] ~= b[i] then return false, "first difference at element " .. i end
  end
  return true
end

-- Calls fn and returns the error message it raises ("" when it does not).
local function err_of(fn, ...)
  local good, err = pcall(fn, ...)
  if good then return "" end
  return tostring(err)
end

local function has_all(msg, words)
  for _, w in ipairs(words) do
    if not msg:find(w, 1, true) then return false end
  end
  return true
end

-- ---------------------------------------------------------------------
-- The descriptor (through the core's registry, if the FFI core is there)
-- ---------------------------------------------------------------------
section("descriptor", 6, function()
  local okc, core = pcall(require, "lamina.core")
  if not okc or not core.C then
    for i = 1, 6 do skip("descriptor check " .. i, "lamina.core not available") end
    return
  end
  local C, ffi = core.C, core.ffi
  local reg = ffi.gc(C.lam_registry_new(), C.lam_registry_free)
  local m = C.lam_registry_model(reg, "stim.poisson")
  ok(m ~= nil, "stim.so loads and provides stim.poisson",
     m == nil and ffi.string(C.lam_last_error()) or nil)
  local info = C.lam_registry_owner(reg, "stim.poisson")
  local d = info ~= nil and info.desc or nil
  ok(d ~= nil and ffi.string(d.name) == "stim" and ffi.string(d.version) == "0.1.0"
     and ffi.string(d.licence) == "MIT" and ffi.string(d.citation):find("10.1103/PhysRevE.54.2084", 1, true) ~= nil,
     "descriptor: name stim, version 0.1.0, MIT, cites Gillespie 1996 (doi)")
  -- Every model: documented, every parameter and port has doc and units,
  -- numeric defaults inside [min, max].
  local bad, nmodels = {}, 0
  for _, name in ipairs { "stim.poisson", "stim.ou", "stim.sine", "stim.pulse", "stim.play" } do
    local md = C.lam_registry_model(reg, name)
    if md == nil then
      bad[#bad + 1] = name .. " missing"
    else
      nmodels = nmodels + 1
      if md.doc == nil or ffi.string(md.doc) == "" then bad[#bad + 1] = name .. " has no doc" end
      for i = 0, C.lam_model_nparams(md) - 1 do
        local p = C.lam_model_param(md, i)
        local pn = name .. "." .. ffi.string(p.name)
        if p.doc == nil or ffi.string(p.doc) == "" or p.units == nil then bad[#bad + 1] = pn .. " undocumented" end
        if (p.type == C.LAM_PARAM_F64 or p.type == C.LAM_PARAM_I64) and not (p.min <= p.def and p.def <= p.max) then
          bad[#bad + 1] = pn .. " default outside [min, max]"
        end
      end
      for i = 0, C.lam_model_nports(md) - 1 do
        local p = C.lam_model_port(md, i)
        if p.doc == nil or ffi.string(p.doc) == "" or p.units == nil or ffi.string(p.units) == "" then
          bad[#bad + 1] = name .. "." .. ffi.string(p.name) .. " port undocumented"
        end
      end
    end
  end
  ok(nmodels == 5, "all five models are present")
  ok(#bad == 0, "every model, parameter and port is documented; defaults lie in [min, max]",
     table.concat(bad, "; "))
  -- The entry point itself refuses a host it cannot work with.  (Only
  -- refusals are tried: an accepted handshake would replace the api table
  -- the loaded plugin keeps.)
  local so = ffi.load(ffi.string(info.path))
  pcall(ffi.cdef, [[const lam_plugin_desc *lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen);]])
  local hi = ffi.new("lam_host_info")
  hi.struct_size = ffi.sizeof("lam_host_info")
  hi.api = C.lam_host_api_get()
  hi.api_size = ffi.sizeof("lam_host_api")
  hi.abi_major = C.LAM_ABI_MAJOR + 1
  hi.abi_minor_max = C.LAM_ABI_MINOR
  local err = ffi.new("char[256]")
  local r = so.lamina_plugin_init(hi, err, 256)
  ok(r == nil and ffi.string(err):find("major", 1, true) ~= nil,
     "lamina_plugin_init refuses another ABI major with a reason", ffi.string(err))
  hi.abi_major = C.LAM_ABI_MAJOR
  hi.api_size = 16
  r = so.lamina_plugin_init(hi, err, 256)
  ok(r == nil and ffi.string(err):find("API table", 1, true) ~= nil,
     "lamina_plugin_init refuses an api table too small for what it calls", ffi.string(err))
end)

-- ---------------------------------------------------------------------
-- stim.poisson
-- ---------------------------------------------------------------------
section("poisson statistics", 12, function()
  local dt, T_ticks, nch = 0.1, 100000, 200          -- 10 s of 200 channels
  local rates = { 5, 20, 80 }
  local sim = lam.sim { dt = dt, seed = 42 }
  local recs = {}
  for i, r in ipairs(rates) do
    sim:add("p" .. i, "stim.poisson", { channels = nch, rate = r })
    recs[i] = sim:record("p" .. i .. ".count", { every = 1000 })  -- every 100 ms
  end
  local per = { 0, 1, 5, 10, 20, 50, 100, 400 }
  sim:add("q", "stim.poisson", { channels = #per, rate = 0 })
  sim:set("q.rate", lam.buf.from(per, "f64"))
  sim:run_ticks(T_ticks)
  local T = T_ticks * dt / 1000                      -- seconds
  for i, r in ipairs(rates) do
    local cnt = flat(sim:port("p" .. i .. ".count"))
    -- overall rate: total count ~ Poisson(r T nch)
    local total = 0
    for c = 1, nch do total = total + cnt[c] end
    local mean_rate = total / (T * nch)
    local se = math.sqrt(r / (T * nch))
    near(mean_rate, r, 4 * se, string.format("poisson %g Hz: mean rate over %d channels within 4 SE (%.3g Hz)", r, nch, 4 * se))
    -- every channel: count ~ Poisson(r T)
    local worst = 0
    for c = 1, nch do
      worst = math.max(worst, math.abs(cnt[c] - r * T) / math.sqrt(r * T))
    end
    ok(worst <= 4.5, string.format("poisson %g Hz: every channel's rate within 4.5 SE of theory", r),
       string.format("largest |z| = %.2f", worst))
    -- Fano factor of counts in 100 ms windows (differences of the
    -- cumulative count sampled every 1000 ticks).
    local b = recs[i]:data()
    local ns, ch = shape(b)
    local p = b:ptr()
    local s, s2, n = 0, 0, 0
    for k = 1, ns - 1 do
      for c = 0, ch - 1 do
        local w = tonumber(p[k * ch + c]) - tonumber(p[(k - 1) * ch + c])
        s, s2, n = s + w, s2 + w * w, n + 1
      end
    end
    local m = s / n
    local var = (s2 - n * m * m) / (n - 1)
    local mu = r * 0.1
    -- SE of the Fano factor for Poisson counts: Var(s^2) ~ (mu + 2 mu^2)/n
    local se_f = math.sqrt((2 + 1 / mu) / (n - 1))
    near(var / m, 1, 4 * se_f, string.format("poisson %g Hz: Fano factor of 100 ms counts (%d windows) within 4 SE (%.3g) of 1", r, n, 4 * se_f))
  end
  -- per-channel rates set with sim:set
  local cnt = flat(sim:port("q.count"))
  local worst, zero_ok = 0, cnt[1] == 0
  for c = 2, #per do
    worst = math.max(worst, math.abs(cnt[c] - per[c] * T) / math.sqrt(per[c] * T))
  end
  ok(zero_ok and worst <= 4, "poisson: per-channel rates from sim:set {0..400 Hz}: rate 0 gives no spike, others within 4 SE",
     string.format("rate-0 channel count %s, largest |z| %.2f", tostring(cnt[1]), worst))
  -- the sampled cumulative count never decreases and ends at the port value
  local b = recs[1]:data()
  local ns = shape(b)
  ok(ns == T_ticks / 1000, "poisson: count recorded every 1000 ticks gives 100 samples", "got " .. ns)
  local p = b:ptr()
  local mono = true
  for k = 1, ns - 1 do
    for c = 0, nch - 1 do
      if p[k * nch + c] < p[(k - 1) * nch + c] then mono = false end
    end
  end
  ok(mono, "poisson: the cumulative count never decreases")
end)

section("poisson high rate and time-varying rate", 5, function()
  -- 5000 Hz at dt = 1 ms: mean 5 spikes per step; a Bernoulli draw would
  -- lose most of them.
  local sim = lam.sim { dt = 1, seed = 3 }
  sim:add("p", "stim.poisson", { channels = 100, rate = 5000 })
  local rec = sim:record("p.spikes", { every = 1 })
  sim:run_ticks(2000)
  local b = rec:data()
  local n = b:size()
  local mean, var, mx = b:mean(), b:var(), b:max()
  near(mean, 5, 4 * math.sqrt(5 / n), "poisson 5000 Hz at dt = 1 ms: mean spikes per step within 4 SE of 5")
  -- population variance; SE of the Fano factor as above with mu = 5
  near(var / mean, 1, 4 * math.sqrt((2 + 1 / 5) / (n - 1)), "poisson 5000 Hz: spikes per step have Fano factor 1 within 4 SE")
  ok(mx >= 10, "poisson 5000 Hz: many spikes in one step are kept (max per step >= 10)", "max " .. tostring(mx))
  -- period 10 on a 0.1 ms base: each step covers 1 ms
  local s1 = lam.sim { dt = 0.1, seed = 4 }
  s1:add("p", "stim.poisson", { channels = 20, rate = 100 }, { period = 10 })
  s1:run_ticks(100000)
  local total = s1:port("p.count"):sum()
  near(total, 20000, 4 * math.sqrt(20000), "poisson with period 10: 100 Hz x 20 channels x 10 s gives 20000 spikes within 4 SE")

  -- Time-varying rate: a pulse train drives the rate port through a link.
  if not sim.link then
    skip("poisson rate driven by a linked stim.pulse", "sim:link not offered by the Lua API")
    return
  end
  local s2 = lam.sim { dt = 0.1, seed = 5 }
  -- 100 ms on at 200 Hz, 100 ms off, 10 pulses; the pulse steps first, so
  -- the Poisson model reads the same tick's value.
  s2:add("drive", "stim.pulse", { channels = 50, onset = 0, width = 100, interval = 200, count = 10, amplitude = 200, baseline = 0 })
  s2:add("p", "stim.poisson", { channels = 50, rate = 0 })
  s2:link("drive.value", "p.rate")
  local r2 = s2:record("p.spikes", { every = 1 })
  s2:run_ticks(20000)
  local d = r2:data()
  local ns, ch = shape(d)
  local pp = d:ptr()
  local on, off = 0, 0
  for k = 0, ns - 1 do
    local is_on = (k % 2000) < 1000
    for c = 0, ch - 1 do
      if is_on then on = on + pp[k * ch + c] else off = off + pp[k * ch + c] end
    end
  end
  local expect = 200 * 1.0 * ch                      -- 10 pulses x 100 ms at 200 Hz
  ok(off == 0 and math.abs(on - expect) <= 4 * math.sqrt(expect),
     "poisson rate linked to a 200 Hz pulse train: no spike between pulses, count during pulses within 4 SE",
     string.format("on %d (expect %d), off %d", on, expect, off))
end)

section("poisson determinism", 5, function()
  local function run(seed, channels)
    local sim = lam.sim { dt = 0.1, seed = seed }
    sim:add("p", "stim.poisson", { channels = channels, rate = 40 })
    local rec = sim:record("p.spikes", { every = 1 })
    sim:run_ticks(2000)
    return flat(rec:data()), sim, rec
  end
  local a = run(42, 10)
  local b = run(42, 10)
  local c = run(43, 10)
  ok(same(a, b), "poisson: same seed gives an identical recording")
  ok(not same(a, c), "poisson: a different seed gives a different recording")
  -- one stream per channel keyed by its index: channels 0..2 of a 10-channel
  -- instance equal a 3-channel instance's
  local d = run(42, 3)
  local sub = {}
  for k = 0, 1999 do
    for ch = 1, 3 do sub[#sub + 1] = a[k * 10 + ch] end
  end
  ok(same(sub, d), "poisson: a channel's train does not depend on the channel count")
  local total = 0
  for i = 1, #a do total = total + a[i] end
  ok(total > 0, "poisson: 40 Hz x 10 channels x 200 ms produced spikes", "total " .. total)
  -- reset reproduces the run
  local _, sim, rec = run(42, 10)
  if not sim.reset then
    skip("poisson: reset reproduces the run", "sim:reset not offered by the Lua API")
    return
  end
  sim:reset()
  sim:run_ticks(2000)
  ok(same(a, flat(rec:data())), "poisson: after sim:reset the same run is reproduced")
end)

section("poisson errors", 6, function()
  local sim = lam.sim { dt = 0.1, seed = 1 }
  local e = err_of(sim.add, sim, "a", "stim.poisson", { rate = -1 })
  ok(e ~= "" and has_all(e, { "rate", "-1" }), "poisson: rate = -1 is refused; the message names the key and value", e)
  e = err_of(sim.add, sim, "b", "stim.poisson", { channels = 0 })
  ok(e ~= "" and has_all(e, { "channels", "0" }), "poisson: channels = 0 is refused; the message names the key and value", e)
  e = err_of(sim.add, sim, "c", "stim.poisson", { bogus = 1 })
  ok(e ~= "" and e:find("bogus", 1, true), "poisson: an unknown key is refused and named", e)
  e = err_of(sim.add, sim, "d", "stim.poisson", { rate = 2e6 })
  ok(e ~= "" and has_all(e, { "rate" }) and (e:find("1e+06", 1, true) or e:find("1000000", 1, true)),
     "poisson: rate = 2e6 is refused; the message gives the range (max 1e6)", e)
  -- negative and non-finite rates at run time name the channel and value
  sim:add("p", "stim.poisson", { channels = 5, rate = 10 })
  local port = sim:port("p.rate")
  port:ptr()[3] = -5
  e = err_of(sim.run_ticks, sim, 10)
  ok(has_all(e, { "channel 3", "-5", "tick 0" }), "poisson: a negative rate at run time is an error naming channel, value and tick", e)
  local s2 = lam.sim { dt = 0.1, seed = 1 }
  s2:add("p", "stim.poisson", { channels = 5, rate = 10 })
  s2:port("p.rate"):ptr()[1] = 0 / 0
  e = err_of(s2.run_ticks, s2, 10)
  ok(e:find("channel 1", 1, true) and e:lower():find("nan", 1, true) ~= nil,
          "poisson: a NaN rate at run time is an error naming the channel", e)
end)

-- ---------------------------------------------------------------------
-- stim.ou
-- ---------------------------------------------------------------------
section("ou statistics", 8, function()
  local dt, tau, sigma, mu = 0.5, 5, 2, 3
  local nch, nt = 500, 4000                          -- 2 s = 400 tau per channel
  local sim = lam.sim { dt = dt, seed = 11 }
  sim:add("o", "stim.ou", { channels = nch, tau = tau, sigma = sigma, mu = mu, stationary = true })
  local rec = sim:record("o.x", { every = 1 })
  sim:run_ticks(nt)
  local b = rec:data()
  local ns, ch = shape(b)
  ok(ns == nt and ch == nch, "ou: recording has shape [4000, 500]", ns .. " x " .. ch)
  local p = b:ptr()
  local N = ns * ch
  local s = 0
  for i = 0, N - 1 do s = s + p[i] end
  local m = s / N
  local s2 = 0
  for i = 0, N - 1 do
    local d = p[i] - m
    s2 = s2 + d * d
  end
  local var = s2 / N
  local v_th = sigma * sigma * tau / 2
  local a = math.exp(-dt / tau)
  -- SE of the mean of an AR(1) sequence: sd sqrt((1 + a)/(1 - a) / N)
  local se_m = math.sqrt(v_th * (1 + a) / (1 - a) / N)
  near(m, mu, 4 * se_m, string.format("ou: mean within 4 SE (%.3g) of mu = 3", 4 * se_m))
  near(var / v_th, 1, 0.02, "ou: stationary variance sigma^2 tau / 2 within 2%")
  for _, k in ipairs { 1, 2, 5, 10, 20 } do
    local c = 0
    for t = 0, ns - 1 - k do
      local row, row2 = t * ch, (t + k) * ch
      for j = 0, ch - 1 do
        c = c + (p[row + j] - m) * (p[row2 + j] - m)
      end
    end
    c = c / ((ns - k) * ch) / var
    near(c, math.exp(-k * dt / tau), 0.02, string.format("ou: lag-%d autocorrelation exp(-%d dt / tau) within 0.02", k, k))
  end
end)

section("ou exact update and errors", 5, function()
  -- sigma = 0: x_k = mu + (x0 - mu) exp(-(k+1) dt / tau) exactly
  local sim = lam.sim { dt = 0.1, seed = 1 }
  sim:add("o", "stim.ou", { channels = 2, tau = 2, sigma = 0, mu = 1, x0 = 11 })
  local rec = sim:record("o.x", { every = 1 })
  sim:run_ticks(200)
  local p = rec:data():ptr()
  local worst = 0
  for k = 0, 199 do
    local want = 1 + 10 * math.exp(-(k + 1) * 0.1 / 2)
    worst = math.max(worst, math.abs(p[2 * k] - want), math.abs(p[2 * k + 1] - want))
  end
  ok(worst <= 1e-12, "ou: with sigma = 0 the decay from x0 follows exp(-t/tau) to 1e-12", "max error " .. worst)
  -- mu is mutable: after mu changes to -4 at tick 200 the process decays
  -- from where it was towards the new mean
  local x200 = p[2 * 199]
  sim:at_param(20, "o.mu", -4)
  sim:run_ticks(100)
  local d = rec:data()
  local pd = d:ptr()
  worst = 0
  for k = 200, 299 do
    local want = -4 + (x200 + 4) * math.exp(-(k - 199) * 0.1 / 2)
    worst = math.max(worst, math.abs(pd[2 * k] - want))
  end
  ok(worst <= 1e-12, "ou: mu changed by at_param relaxes towards the new mu as exp(-t/tau), to 1e-12", "max error " .. worst)
  -- period 5 on a 0.1 ms base gives the same process as dt = 0.5: the
  -- exact update has no step-size error, so the variance stays sigma^2 tau/2
  local s2 = lam.sim { dt = 0.1, seed = 2 }
  s2:add("o", "stim.ou", { channels = 2000, tau = 0.4, sigma = 1, stationary = true }, { period = 5 })
  s2:run_ticks(5 * 40)
  local x = s2:port("o.x")
  near(x:var() / 0.2, 1, 0.15, "ou: dt (0.5 ms) > tau (0.4 ms) with period 5: variance still sigma^2 tau/2 within 15% (2000 samples)")
  local e = err_of(sim.add, sim, "bad", "stim.ou", { tau = 0 })
  ok(e ~= "" and e:find("tau", 1, true), "ou: tau = 0 is refused and the message names tau", e)
  e = err_of(sim.add, sim, "bad2", "stim.ou", { sigma = -1 })
  ok(e ~= "" and e:find("sigma", 1, true), "ou: sigma = -1 is refused and the message names sigma", e)
end)

-- ---------------------------------------------------------------------
-- stim.sine
-- ---------------------------------------------------------------------
section("sine", 4, function()
  local sim = lam.sim { dt = 0.1, seed = 1 }
  local P = { channels = 3, amplitude = 2, freq = 7, phase = 0.3, offset = 1, phase_step = 0.5 }
  sim:add("s", "stim.sine", P)
  sim:add("s4", "stim.sine", P, { period = 4 })
  local r1 = sim:record("s.value", { every = 1 })
  local r4 = sim:record("s4.value", { every = 1 })
  sim:run_ticks(12346)
  local function want(t, c)
    return P.offset + P.amplitude * math.sin(2 * math.pi * P.freq * t / 1000 + P.phase + c * P.phase_step)
  end
  local p1, p4 = r1:data():ptr(), r4:data():ptr()
  local worst1, worst4 = 0, 0
  for _, tick in ipairs { 0, 1, 2, 17, 999, 4000, 12345 } do
    for c = 0, 2 do
      worst1 = math.max(worst1, math.abs(p1[tick * 3 + c] - want(tick * 0.1, c)))
      -- period 4: the value at tick t comes from model step floor(t/4), t = k * 0.4 ms
      local k = math.floor(tick / 4)
      worst4 = math.max(worst4, math.abs(p4[tick * 3 + c] - want(k * 0.4, c)))
    end
  end
  ok(worst1 <= 1e-12, "sine: value at ticks 0..12345 equals offset + A sin(2 pi f t + phase + c phase_step) to 1e-12", "max error " .. worst1)
  ok(worst4 <= 1e-12, "sine with period 4: value at tick t uses t = floor(t/4) * 0.4 ms, to 1e-12", "max error " .. worst4)
  -- amplitude is mutable: a scheduled change applies from its tick on
  local s2 = lam.sim { dt = 0.1, seed = 1 }
  s2:add("s", "stim.sine", { freq = 50 })
  s2:at_param(1, "s.amplitude", 5)                   -- at 1 ms = tick 10
  local r2 = s2:record("s.value", { every = 1 })
  s2:run_ticks(20)
  local q = r2:data():ptr()
  local w2 = 0
  for k = 0, 19 do
    local a = k >= 10 and 5 or 1
    w2 = math.max(w2, math.abs(q[k] - a * math.sin(2 * math.pi * 50 * k * 0.1 / 1000)))
  end
  ok(w2 <= 1e-12, "sine: amplitude changed by at_param at 1 ms applies from tick 10 exactly", "max error " .. w2)
  local e = err_of(sim.add, sim, "bad", "stim.sine", { freq = -1 })
  ok(e ~= "" and e:find("freq", 1, true), "sine: freq = -1 is refused and named", e)
end)

-- ---------------------------------------------------------------------
-- stim.pulse
-- ---------------------------------------------------------------------
section("pulse", 5, function()
  local sim = lam.sim { dt = 0.1, seed = 1 }
  -- on for 0.3 + 0.5 i <= t < 0.5 + 0.5 i, i = 0, 1, 2: ticks 3,4 8,9 13,14
  sim:add("p", "stim.pulse", { channels = 2, onset = 0.3, width = 0.2, interval = 0.5, count = 3, amplitude = 2, baseline = -1 })
  -- a step at 1 ms (default width: endless)
  sim:add("st", "stim.pulse", { onset = 1 })
  local r = sim:record("p.value", { every = 1 })
  local rs = sim:record("st.value", { every = 1 })
  sim:run_ticks(30)
  local on = { [3] = true, [4] = true, [8] = true, [9] = true, [13] = true, [14] = true }
  local p, ps = r:data():ptr(), rs:data():ptr()
  local bad = {}
  for k = 0, 29 do
    local want = on[k] and 1 or -1
    if p[2 * k] ~= want or p[2 * k + 1] ~= want then bad[#bad + 1] = string.format("tick %d: %g", k, p[2 * k]) end
  end
  ok(#bad == 0, "pulse: 3 pulses of 0.2 ms every 0.5 ms from 0.3 ms are on exactly at ticks 3,4 8,9 13,14", table.concat(bad, ", "))
  bad = {}
  for k = 0, 29 do
    local want = k >= 10 and 1 or 0
    if ps[k] ~= want then bad[#bad + 1] = string.format("tick %d: %g", k, ps[k]) end
  end
  ok(#bad == 0, "pulse: a step (endless width) at onset 1 ms switches on exactly at tick 10", table.concat(bad, ", "))
  local e = err_of(sim.add, sim, "bad", "stim.pulse", { onset = 0.25 })
  ok(e ~= "" and has_all(e, { "onset", "0.25" }), "pulse: onset not a multiple of dt is refused with a message naming it", e)
  e = err_of(sim.add, sim, "bad2", "stim.pulse", { width = 0.5, interval = 0.2 })
  ok(e ~= "" and has_all(e, { "interval", "width" }), "pulse: interval shorter than width is refused", e)
  -- with period 5 (dt 0.5 ms) onset 0.3 ms is no longer a whole number of steps
  e = err_of(sim.add, sim, "bad3", "stim.pulse", { onset = 0.3, width = 1 }, { period = 5 })
  ok(e ~= "" and e:find("onset", 1, true), "pulse: multiples are checked against the model's own dt (period 5)", e)
end)

-- ---------------------------------------------------------------------
-- stim.play
-- ---------------------------------------------------------------------
section("play", 7, function()
  local sim = lam.sim { dt = 0.1, seed = 1 }
  sim:add("last", "stim.play", { channels = 2 })
  sim:add("zero", "stim.play", { channels = 2, hold = "zero" })
  sim:add("loop", "stim.play", { channels = 2, loop = true })
  sim:add("one", "stim.play", {})
  local data = lam.buf.from({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, "f64")
  for _, n in ipairs { "last", "zero", "loop" } do sim:call(n, "load", data) end
  sim:call("one", "load", lam.buf.from({ 7, 8, 9 }, "f32"))
  local rl = sim:record("last.value", { every = 1 })
  local rz = sim:record("zero.value", { every = 1 })
  local rp = sim:record("loop.value", { every = 1 })
  local ro = sim:record("one.value", { every = 1 })
  sim:run_ticks(7)
  local function rows(rec)
    local t = flat(rec:data())
    local out = {}
    for i = 1, #t, 2 do out[#out + 1] = t[i] .. "," .. t[i + 1] end
    return table.concat(out, " ")
  end
  local got = rows(rl)
  ok(got == "1,2 3,4 5,6 5,6 5,6 5,6 5,6", "play: rows come out in order, then hold = last keeps the last row", got)
  got = rows(rz)
  ok(got == "1,2 3,4 5,6 0,0 0,0 0,0 0,0", "play: hold = zero outputs 0 after the end", got)
  got = rows(rp)
  ok(got == "1,2 3,4 5,6 1,2 3,4 5,6 1,2", "play: loop wraps to row 0", got)
  got = table.concat(flat(ro:data()), " ")
  ok(got == "7 8 9 9 9 9 9", "play: a [T] f32 buffer plays into a 1-channel instance", got)
  local pos = sim:call("loop", "position")
  ok(pos and tonumber(pos:ptr()[0]) == 1, "play: position() gives the next row (1 after 7 steps of 3 looped rows)",
     pos and tostring(pos:ptr()[0]) or "nil")
  local e = err_of(sim.call, sim, "last", "load", lam.buf.from({ { 1, 2, 3 } }, "f64"))
  ok(e ~= "" and has_all(e, { "[1, 3]", "channels" }), "play: loading a buffer of the wrong shape names expected and actual shape", e)
  e = err_of(sim.call, sim, "last", "load", lam.buf.from({ { 1, 0 / 0 } }, "f64"))
  ok(e ~= "" and e:find("finite", 1, true), "play: a NaN in the loaded buffer is refused", e)
end)

-- ---------------------------------------------------------------------
-- Checkpoints: save_state / load_state continue bit-identically
-- ---------------------------------------------------------------------
section("save_state / load_state", 6, function()
  local sim = lam.sim { dt = 0.1, seed = 9 }
  if not sim.save_state or not sim.load_state then
    for _, m in ipairs { "poisson", "ou", "sine", "pulse", "play", "wrong model" } do
      skip("checkpoint round trip: " .. m, "sim:save_state/load_state not offered by the Lua API")
    end
    return
  end
  sim:add("p", "stim.poisson", { channels = 20, rate = 30 })
  sim:add("o", "stim.ou", { channels = 20, tau = 3, sigma = 1, stationary = true })
  sim:add("s", "stim.sine", { channels = 2, freq = 13, phase_step = 1 })
  sim:add("u", "stim.pulse", { onset = 0.5, width = 0.3, interval = 0.7 })
  sim:add("l", "stim.play", { channels = 1, loop = true })
  sim:call("l", "load", lam.buf.from({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }, "f64"))
  sim:set("p.rate", lam.buf.from({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200 }, "f64"))
  sim:run_ticks(1003)
  local names = { "p", "o", "s", "u", "l" }
  local ports = { p = "p.count", o = "o.x", s = "s.value", u = "u.value", l = "l.value" }
  local saved = {}
  for _, n in ipairs(names) do saved[n] = sim:save_state(n) end
  local function snapshot()
    local t = {}
    for _, n in ipairs(names) do t[n] = flat(sim:port(ports[n])) end
    -- the Poisson spikes of the last step too
    t.spikes = flat(sim:port("p.spikes"))
    return t
  end
  sim:run_ticks(517)
  local first = snapshot()
  -- perturb, then restore
  sim:set("p.rate", 1)
  sim:run_ticks(100)
  for _, n in ipairs(names) do sim:load_state(n, saved[n]) end
  sim:run_ticks(517)
  local second = snapshot()
  ok(same(first.p, second.p) and same(first.spikes, second.spikes), "checkpoint: poisson continues bit-identically (counts, spikes, per-channel rates, streams)")
  ok(same(first.o, second.o), "checkpoint: ou continues bit-identically")
  ok(same(first.s, second.s), "checkpoint: sine continues bit-identically")
  ok(same(first.u, second.u), "checkpoint: pulse continues bit-identically")
  ok(same(first.l, second.l), "checkpoint: play continues bit-identically")
  local e = err_of(sim.load_state, sim, "o", saved.p)
  ok(e ~= "" and e:find("different stim model", 1, true), "checkpoint: a poisson state is refused by an ou instance", e)
end)

run_sections()
