-- lamina.analysis.sync: synchrony analyses of phase series, for the
-- kuramoto plugin's recordings and for imported data alike.
--
--   local sync = require "lamina.analysis.sync"
--   local rec  = sim:record("osc.phases")      -- [T, N]
--   sim:run(100)
--   local r, psi = sync.order(rec:data())       -- [T] each, psi unwrapped
--   print(sync.metastability(r), sync.plv(rec:data()):get(1, 2))
--
-- Phases are [T, N] buffers (time along rows) in radians, wrapped or not.
-- The loops over time and oscillators run in C (core/sync.c); what is left
-- here is O(T) or O(N) bookkeeping.  docs/kuramoto.md gives every equation.
local core = require "lamina.core"
local bufm = require "lamina.buf"
local ffi, C = core.ffi, core.C

local M = {}

local function as_buf(x, what)
  if bufm.is(x) then return x end
  if type(x) == "table" then return bufm.from(x) end
  core.fail("sync." .. what .. ": expected a buffer or a table of numbers, got " .. type(x))
end

local function call(fn, what, ...)
  return bufm.wrap(core.checkptr(fn(...), "sync." .. what))
end

-- Column `k` (0-based) of the [T, G, 2] order result, as a [T, G] buffer.
local function column(o, k, T, G)
  local out = bufm.new(G == 1 and { T } or { T, G })
  local src, dst = o:ptr(), out:ptr()
  for i = 0, T * G - 1 do dst[i] = src[2 * i + k] end
  return out
end

-- sync.order(phases [, groups]) -> r, psi
--   Z_g(t) = (1/n_g) sum_{i in g} e^(i theta_i(t)) = r_g e^(i psi_g).
--   Without groups: r, psi are [T].  groups: a table or buffer of N labels
--   1..G (community of each oscillator): r, psi are [T, G].  psi is
--   unwrapped along time, so its slope is the collective frequency.
function M.order(phases, groups)
  phases = as_buf(phases, "order")
  local T = phases:ndim() == 1 and 1 or phases:shape()[1]
  local G, g = 1, nil
  if groups then
    local labels = as_buf(groups, "order")
    g = bufm.new({ labels:size() }, "i32")
    local p = g:ptr()
    for i = 1, labels:size() do
      local v = labels:get(i)
      if v < 1 or v ~= math.floor(v) then
        core.fail(string.format("sync.order: groups[%d] = %g; expected a label 1, 2, ...", i, v))
      end
      p[i - 1] = v - 1
      if v > G then G = v end
    end
  end
  local o = call(C.lam_sync_order, "order", phases._b, g and g._b or nil, G)
  return column(o, 0, T, G), column(o, 1, T, G)
end

-- sync.local_order(phases, W) -> [T, N] of r_i = |sum_j W_ij e^(i th_j)| / sum_j W_ij
function M.local_order(phases, W)
  return call(C.lam_sync_local_order, "local_order", as_buf(phases, "local_order")._b, as_buf(W, "local_order")._b)
end

-- sync.network_order(phases, W) -> [T] of sum_i |sum_j W_ij e^(i th_j)| / sum_ij W_ij
function M.network_order(phases, W)
  W = as_buf(W, "network_order")
  local loc = M.local_order(phases, W)
  local s = loc:shape()
  local T, N = s[1], s[2]
  local out, lp, wp = bufm.new({ T }), loc:ptr(), W:copy("f64"):ptr()
  local rs, tot = {}, 0
  for i = 0, N - 1 do
    local a = 0
    for j = 0, N - 1 do a = a + wp[i * N + j] end
    rs[i], tot = a, tot + a
  end
  local op = out:ptr()
  for t = 0, T - 1 do
    local a = 0
    for i = 0, N - 1 do if rs[i] ~= 0 then a = a + lp[t * N + i] * rs[i] end end
    op[t] = a / tot
  end
  return out
end

local function moments(p, n, stride, off)
  local m = 0
  for t = 0, n - 1 do m = m + p[t * stride + off] end
  m = m / n
  local v = 0
  for t = 0, n - 1 do v = v + (p[t * stride + off] - m) ^ 2 end
  return m, n > 1 and v / (n - 1) or 0
end

-- sync.metastability(r) -> std over time of r(t) (Deco/Cabral usage).
function M.metastability(r)
  r = as_buf(r, "metastability"):copy("f64")
  local _, v = moments(r:ptr(), r:size(), 1, 0)
  return math.sqrt(v)
end

-- sync.shanahan(rg) -> lambda, chi for r per community [T, M] (Shanahan 2010):
--   lambda = <var_t r_c>_c / (1/12),  chi = <var_c r_c(t)>_t / (5/36)
-- (sample variances, 1/(T-1) and 1/(M-1)).
function M.shanahan(rg)
  rg = as_buf(rg, "shanahan"):copy("f64")
  if rg:ndim() ~= 2 or rg:shape()[2] < 2 then core.fail("sync.shanahan: expected r per community, [T, M] with M >= 2") end
  local T, Mc = rg:shape()[1], rg:shape()[2]
  local p = rg:ptr()
  local lam = 0
  for c = 0, Mc - 1 do
    local _, v = moments(p, T, Mc, c)
    lam = lam + v
  end
  local chi = 0
  for t = 0, T - 1 do
    local _, v = moments(p + t * Mc, Mc, 1, 0)
    chi = chi + v
  end
  return lam / Mc / (1 / 12), chi / T / (5 / 36)
end

-- sync.plv(phases) -> [N, N] of |<e^(i(th_i - th_j))>_t|
function M.plv(phases) return call(C.lam_sync_plv, "plv", as_buf(phases, "plv")._b) end

-- sync.coherence(theta) -> [N, N] of cos(th_i - th_j) at one time ([N])
function M.coherence(theta) return call(C.lam_sync_coherence, "coherence", as_buf(theta, "coherence")._b) end

-- sync.unwrap(phases) -> [T, N] unwrapped along time
function M.unwrap(phases) return call(C.lam_sync_unwrap, "unwrap", as_buf(phases, "unwrap")._b) end

-- sync.hilbert(x) -> phases of the analytic signal, same shape ([T] or [T, C])
function M.hilbert(x) return call(C.lam_sync_hilbert, "hilbert", as_buf(x, "hilbert")._b) end

-- sync.frequencies(phases, dt [, i0, i1]) -> [N] effective frequencies
--   w_i = (theta_i(row i1) - theta_i(row i0)) / ((i1 - i0) dt) of the
--   unwrapped phases; rows 1-based, default first and last.
function M.frequencies(phases, dt, i0, i1)
  if type(dt) ~= "number" or not (dt > 0) then core.fail("sync.frequencies: dt must be a positive number") end
  local u = M.unwrap(phases)
  local T, N = u:shape()[1], u:shape()[2]
  i0, i1 = i0 or 1, i1 or T
  if not (i0 >= 1 and i1 <= T and i1 > i0) then
    core.fail(string.format("sync.frequencies: rows %s..%s outside 1..%d (need i0 < i1)", tostring(i0), tostring(i1), T))
  end
  local out, p, o = bufm.new({ N }), u:ptr(), nil
  o = out:ptr()
  for i = 0, N - 1 do o[i] = (p[(i1 - 1) * N + i] - p[(i0 - 1) * N + i]) / ((i1 - i0) * dt) end
  return out
end

-- Groups sorted values: consecutive values closer than tol (linearly, or
-- on the circle when period is given) share a cluster.
local function chain(vals, tol, period)
  local n = #vals
  local idx = {}
  for i = 1, n do idx[i] = i end
  table.sort(idx, function(a, b) return vals[a] < vals[b] end)
  local labels, k = {}, 1
  labels[idx[1]] = 1
  for s = 2, n do
    if vals[idx[s]] - vals[idx[s - 1]] >= tol then k = k + 1 end
    labels[idx[s]] = k
  end
  if period and n > 1 and k > 1 and vals[idx[1]] + period - vals[idx[n]] < tol then
    for i = 1, n do if labels[i] == k then labels[i] = 1 end end -- wrap around
    k = k - 1
  end
  local sizes = {}
  for c = 1, k do sizes[c] = 0 end
  for i = 1, n do sizes[labels[i]] = sizes[labels[i]] + 1 end
  return labels, sizes
end

local function tolist(b, what)
  b = as_buf(b, what):copy("f64")
  local t, p = {}, b:ptr()
  for i = 0, b:size() - 1 do t[i + 1] = p[i] end
  return t
end

-- sync.clusters(freqs, tol) -> labels (1..k per oscillator), sizes, locked
--   Frequency-locked clusters: oscillators whose effective frequencies
--   chain within tol; `locked` is the largest cluster's fraction of N.
function M.clusters(freqs, tol)
  local f = tolist(freqs, "clusters")
  if #f == 0 or not (tol and tol > 0) then core.fail("sync.clusters: need frequencies and tol > 0") end
  local labels, sizes = chain(f, tol)
  local big = 0
  for _, s in ipairs(sizes) do big = math.max(big, s) end
  return labels, sizes, big / #f
end

-- sync.locked_fraction(freqs, omega, tol) -> fraction with |w_i - omega| < tol
function M.locked_fraction(freqs, omega, tol)
  local f, c = tolist(freqs, "locked_fraction"), 0
  for _, w in ipairs(f) do if math.abs(w - omega) < tol then c = c + 1 end end
  return c / #f
end

-- sync.phase_clusters(theta, tol) -> labels, sizes: groups of phases (one
-- time point) within tol of a neighbour on the circle (pyclustering's
-- synchronous ensembles).
function M.phase_clusters(theta, tol)
  local th = tolist(theta, "phase_clusters")
  for i, v in ipairs(th) do th[i] = v % (2 * math.pi) end
  return chain(th, tol, 2 * math.pi)
end

-- sync.energy_vote(E, mode) -> k: AKOrN energy voting over K initialisations.
--   E: [K, T] per-step scores (e.g. kuramoto.akorn's energy port recorded
--   over T steps, one row per initialisation).  mode "sum" (default) picks
--   the row with the lowest summed score, "last" the lowest final score.
function M.energy_vote(E, mode)
  E = as_buf(E, "energy_vote"):copy("f64")
  mode = mode or "sum"
  if mode ~= "sum" and mode ~= "last" then core.fail("sync.energy_vote: mode '" .. tostring(mode) .. "' (expected sum or last)") end
  if E:ndim() ~= 2 then core.fail("sync.energy_vote: E must be [K, T]") end
  local K, T = E:shape()[1], E:shape()[2]
  local p, best, arg = E:ptr(), math.huge, nil
  for k = 0, K - 1 do
    local s = 0
    if mode == "sum" then for t = 0, T - 1 do s = s + p[k * T + t] end else s = p[k * T + T - 1] end
    if s < best then best, arg = s, k + 1 end
  end
  return arg
end

return M
