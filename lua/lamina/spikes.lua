-- lamina.spikes (lam.spikes): statistics of spike trains recorded as
-- (tick, index) events: rates, binned counts, ISI coefficient of
-- variation, Fano factor, branching factor and neuronal avalanches.
--
-- Every function takes `ev`, either a spike recorder (sim:record of a
-- spike port) or a table { ticks = buf, index = buf, dt = ms }, and an
-- options table:
--   n      number of neurons (required where per-neuron results are made)
--   from   first tick included (default 0)
--   to     first tick excluded (default: one past the last event)
--   bin    bin width in ticks (default 1)
-- Indices are the 0-based unit indices of the port; per-neuron results
-- are f64 buffers of length n (element k+1 is unit k).  Definitions are in
-- docs/reservoir.md ("Spike statistics").
local bufm = require "lamina.buf"
local core = require "lamina.core"

local M = {}

-- The events as f64 arrays (ticks, indices), their number, dt and range.
local function events(ev, opts, fname)
  opts = opts or {}
  local tb, ib, dt
  if type(ev) == "table" and ev.ticks and ev.index then
    tb, ib, dt = ev.ticks, ev.index, ev.dt or 1
  elseif type(ev) == "table" and ev.events then
    tb, ib = ev:events()
    dt = ev.sim and ev.sim.dt or 1
  else
    core.fail("lam.spikes." .. fname .. ": expected a spike recorder or { ticks =, index =, dt = }")
  end
  if tb:size() ~= ib:size() then
    core.fail("lam.spikes." .. fname .. ": ticks has " .. tb:size() .. " events, index has " .. ib:size())
  end
  local t, i = tb:copy("f64"), ib:copy("f64")
  local m = t:size()
  local from = opts.from or 0
  local to = opts.to or (m > 0 and t:ptr()[m - 1] + 1 or from)
  local bin = opts.bin or 1
  if bin < 1 or bin % 1 ~= 0 then core.fail("lam.spikes." .. fname .. ": bin = " .. tostring(bin) .. " must be a positive whole number of ticks") end
  if to < from then core.fail("lam.spikes." .. fname .. ": to = " .. to .. " is before from = " .. from) end
  return { t = t, i = i, tp = t:ptr(), ip = i:ptr(), m = m, dt = dt, from = from, to = to, bin = bin, n = opts.n }
end

local function need_n(e, fname)
  if not e.n or e.n < 1 or e.n % 1 ~= 0 then core.fail("lam.spikes." .. fname .. ": option n (number of neurons) is required, a positive integer") end
  local ip = e.ip
  for k = 0, e.m - 1 do
    if ip[k] >= e.n or ip[k] < 0 then
      core.fail("lam.spikes." .. fname .. ": event " .. (k + 1) .. " has index " .. ip[k] .. ", outside [0, " .. (e.n - 1) .. "]")
    end
  end
end

-- Firing rate of each neuron in Hz over [from, to): f64 [n].
function M.rates(ev, opts)
  local e = events(ev, opts, "rates")
  need_n(e, "rates")
  local r = bufm.new(e.n)
  local rp = r:ptr()
  for k = 0, e.m - 1 do
    local t = e.tp[k]
    if t >= e.from and t < e.to then rp[e.ip[k]] = rp[e.ip[k]] + 1 end
  end
  local secs = (e.to - e.from) * e.dt / 1000
  if secs <= 0 then core.fail("lam.spikes.rates: the window [from, to) is empty") end
  return r:scale(1 / secs)
end

-- Mean rate over all n neurons, Hz.
function M.mean_rate(ev, opts) return M.rates(ev, opts):mean() end

-- Spike counts in bins of `bin` ticks from `from`: f64 [nbins, n]
-- (or [nbins] with population = true: all neurons summed).
function M.counts(ev, opts)
  local e = events(ev, opts, "counts")
  local pop = opts and opts.population
  if not pop then need_n(e, "counts") end
  local nb = math.floor((e.to - e.from) / e.bin)
  local c = pop and bufm.new(math.max(nb, 0)) or bufm.new({ math.max(nb, 0), e.n })
  local cp, w = c:ptr(), pop and 1 or e.n
  for k = 0, e.m - 1 do
    local b = math.floor((e.tp[k] - e.from) / e.bin)
    if b >= 0 and b < nb then
      local o = b * w + (pop and 0 or e.ip[k])
      cp[o] = cp[o] + 1
    end
  end
  return c
end

local function median(list)
  if #list == 0 then return 0 / 0 end
  table.sort(list)
  local h = #list / 2
  if #list % 2 == 1 then return list[math.ceil(h)] end
  return 0.5 * (list[h] + list[h + 1])
end
M.median = median

-- ISI coefficient of variation (sd/mean of the inter-spike intervals,
-- population sd) of each neuron with more than `min_spikes` spikes
-- (default 5) in [from, to): f64 [n] with NaN for the others, and the
-- median over the neurons that have one.
function M.isi_cv(ev, opts)
  local e = events(ev, opts, "isi_cv")
  need_n(e, "isi_cv")
  local mins = opts.min_spikes or 5
  local last, cnt, s1, s2 = {}, {}, {}, {}
  -- Events are in tick order (recorders store them so); intervals are
  -- taken per neuron in that order.
  for k = 0, e.m - 1 do
    local t, i = e.tp[k], e.ip[k]
    if t >= e.from and t < e.to then
      local l = last[i]
      if l then
        if t < l then core.fail("lam.spikes.isi_cv: events are not in tick order") end
        local d = (t - l) * e.dt
        s1[i], s2[i] = (s1[i] or 0) + d, (s2[i] or 0) + d * d
      end
      last[i], cnt[i] = t, (cnt[i] or 0) + 1
    end
  end
  local cv, list = bufm.new(e.n), {}
  local p = cv:ptr()
  for i = 0, e.n - 1 do
    local c = cnt[i] or 0
    if c > mins then
      local k = c - 1
      local mu = s1[i] / k
      local var = math.max(s2[i] / k - mu * mu, 0)
      p[i] = math.sqrt(var) / mu
      list[#list + 1] = p[i]
    else
      p[i] = 0 / 0
    end
  end
  return cv, median(list)
end

-- Fano factor (variance / mean of the counts in bins of `bin` ticks) of
-- each neuron with a nonzero count (NaN otherwise) and their mean; with
-- population = true, the Fano factor of the summed population count.
function M.fano(ev, opts)
  local c = M.counts(ev, opts)
  local s = c:shape()
  local nb = s[1]
  if nb < 2 then core.fail("lam.spikes.fano: need at least 2 bins, got " .. nb) end
  local w = s[2] or 1
  local p = c:ptr()
  local f = bufm.new(w)
  local fp = f:ptr()
  local sum, cntf = 0, 0
  for i = 0, w - 1 do
    local m1, m2 = 0, 0
    for b = 0, nb - 1 do
      local x = p[b * w + i]
      m1, m2 = m1 + x, m2 + x * x
    end
    m1, m2 = m1 / nb, m2 / nb
    if m1 > 0 then
      fp[i] = (m2 - m1 * m1) / m1
      sum, cntf = sum + fp[i], cntf + 1
    else
      fp[i] = 0 / 0
    end
  end
  if opts and opts.population then return fp[0] end
  return f, cntf > 0 and sum / cntf or 0 / 0
end

-- Branching factor (Beggs & Plenz 2003; Haldeman & Beggs 2005): the mean,
-- over bins t with A(t) > 0 whose successor lies in the window, of
-- A(t+1) / A(t), A = population spike count per bin of `bin` ticks.
-- Population counts per bin (the options with population = true).
local function popcounts(ev, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.population = true
  return M.counts(ev, o)
end

function M.branching(ev, opts)
  local c = popcounts(ev, opts)
  local p, nb = c:ptr(), c:size()
  local s, k = 0, 0
  for b = 0, nb - 2 do
    if p[b] > 0 then s, k = s + p[b + 1] / p[b], k + 1 end
  end
  return k > 0 and s / k or 0 / 0
end

-- Neuronal avalanches: runs of consecutive nonempty bins (of `bin`
-- ticks) bounded by empty bins.  Returns the sizes (total spikes of each
-- avalanche, f64 buffer), a histogram table hist[size] = count, and the
-- maximum-likelihood power-law exponent of sizes >= s_min (opts.s_min,
-- default 1) in the discrete approximation of Clauset et al. 2009:
-- alpha = 1 + k / sum(ln(s / (s_min - 1/2))).  An avalanche still running
-- at the window's edge is left out (its size is unknown).
function M.avalanches(ev, opts)
  opts = opts or {}
  local c = popcounts(ev, opts)
  local p, nb = c:ptr(), c:size()
  local sizes, cur, open = {}, 0, false
  local started_at_edge = nb > 0 and p[0] > 0
  for b = 0, nb - 1 do
    if p[b] > 0 then
      cur, open = cur + p[b], true
    elseif open then
      if started_at_edge then started_at_edge = false else sizes[#sizes + 1] = cur end
      cur, open = 0, false
    end
  end
  local out = bufm.new(#sizes)
  local hist, smin, k, ls = {}, opts.s_min or 1, 0, 0
  for j, s in ipairs(sizes) do
    out:ptr()[j - 1] = s
    hist[s] = (hist[s] or 0) + 1
    if s >= smin then k, ls = k + 1, ls + math.log(s / (smin - 0.5)) end
  end
  return out, hist, k > 0 and 1 + k / ls or 0 / 0
end

-- Parameter sets of reservoir.lif for the Brette et al. (2007) benchmark
-- networks: sim:add("net", "reservoir.lif", lam.spikes.preset("coba")).
-- A fresh table each call, so it can be modified.
local presets = {
  cuba = {},   -- the model's defaults are the CUBA network
  coba = { synapse = "coba", E_L = -60, w_e = 0.6, w_i = 6.7, v_init = "normal", v0_a = -65, v0_b = 5,
           ge0_mean = 4, ge0_sd = 1.5, gi0_mean = 20, gi0_sd = 12 },
}
function M.preset(name, extra)
  local p = presets[name]
  if not p then core.fail("lam.spikes.preset: unknown preset '" .. tostring(name) .. "' (valid: coba, cuba)") end
  local t = {}
  for k, v in pairs(p) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

return M
