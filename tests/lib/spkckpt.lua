-- spkckpt.lua - the checkpoint-continuation check shared by the spiking
-- reservoir tests (tests/plugins/lif.t, izhikevich.t, nalsm.t).
--
-- Run A for 2T; run B (same seed) for T and save the model's state; load
-- it into a FRESH instance C built with another seed and run C for T.
-- C's spikes must equal A's spikes of [T, 2T) (ticks shifted by T) and
-- C's state ports at the end must equal A's, byte for byte.  A fourth run
-- D (C's seed, no load) must end elsewhere, so that the comparison can
-- fail: without the state, the other seed gives another network.
local lam = require "lamina"
local M = {}

-- spec = { model =, params =, dt =, T = (ms), seeds = {a, c},
--          spikes = {port, ...}, state = {port, ...}, setup = fn(sim),
--          params_c = (optional: C's and D's parameters, default params) }
-- Returns { spikes = bool, n = spikes compared, state = bool,
--           differs = bool }.
function M.continuation(spec)
  local function make(seed, params)
    local sim = lam.sim { dt = spec.dt, seed = seed }
    sim:add("net", spec.model, params or spec.params)
    if spec.setup then spec.setup(sim) end
    return sim
  end
  local function record(sim)
    local r = {}
    for k, port in ipairs(spec.spikes) do r[k] = sim:record("net." .. port) end
    return r
  end
  local function ports(sim)
    local out = {}
    for k, port in ipairs(spec.state) do out[k] = sim:port("net." .. port):copy() end
    return out
  end
  local function equal(x, y)
    if x:size() ~= y:size() then return false end
    for k = 0, x:size() - 1 do if x:ptr()[k] ~= y:ptr()[k] then return false end end
    return true
  end
  local shift = math.floor(spec.T / spec.dt + 0.5)

  local a = make(spec.seeds[1])
  local ra = record(a)
  a:run(2 * spec.T)
  local b = make(spec.seeds[1])
  b:run(spec.T)
  local st = b:save_state("net")
  local c = make(spec.seeds[2], spec.params_c)
  c:load_state("net", st)
  local rc = record(c)
  c:run(spec.T)
  local d = make(spec.seeds[2], spec.params_c)
  d:run(spec.T)

  local res = { spikes = true, n = 0, state = true, differs = false }
  for k = 1, #spec.spikes do
    local ta, ia = ra[k]:events()
    local tc, ic = rc[k]:events()
    local m = 0
    for e = 1, ta:size() do
      if ta:get(e) >= shift then
        m = m + 1
        if m > tc:size() or tc:get(m) ~= ta:get(e) - shift or ic:get(m) ~= ia:get(e) then res.spikes = false end
      end
    end
    if m ~= tc:size() then res.spikes = false end
    res.n = res.n + m
  end
  local pa, pc, pd = ports(a), ports(c), ports(d)
  for k = 1, #spec.state do
    if not equal(pa[k], pc[k]) then res.state = false end
    if not equal(pa[k], pd[k]) then res.differs = true end
  end
  return res
end

return M
