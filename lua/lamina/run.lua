-- lamina.run: the end of a script run by `lamina run`.  Every simulation
-- made during the run is listed in run.sims (lamina.sim adds it when the
-- command gave the script a run directory); when the script has finished
-- (returned or failed) the command calls run.finish, which
--   * closes streaming recorders (their files get their final names),
--   * writes every memory recording into data.npz in the run directory
--     (member "<name>" with the samples or event indices and
--     "<name>.ticks" with their ticks),
--   * and returns what run.json records of the run: simulations, models,
--     instance ids (which with the root seed key every random stream),
--     recordings, resolved parameters and the plugins loaded.
-- It also turns the script's returned table into plain JSON-able values.
local core = require "lamina.core"
local context = require "lamina.context"
local ffi, C = core.ffi, core.C

local M = { sims = {}, infos = {} }

-- Lists that run.json must show as [] even when empty (a Lua table has no
-- way to tell an empty list from an empty map).
local list_mt = { __json = "array" }
local function list() return setmetatable({}, list_mt) end

local function basename(p) return (p:gsub("^.*/", "")) end

-- Recordings with the same name (two recorders of one port, or several
-- simulations) get "#2", "#3"... in creation order, so names are unique
-- and the same script always gives the same names.
local function unique(used, name)
  if not used[name] then used[name] = true return name end
  local k = 2
  while used[name .. "#" .. k] do k = k + 1 end
  used[name .. "#" .. k] = true
  return name .. "#" .. k
end

local function plugins_loaded(sims)
  local t = list()
  if #sims == 0 then return t end
  local reg = sims[1]._reg
  for i = 0, C.lam_registry_count(reg) - 1 do
    local info = C.lam_registry_info(reg, i)
    if info.status == C.LAM_PLUGIN_LOADED then
      t[#t + 1] = { name = ffi.string(info.desc.name), version = ffi.string(info.desc.version),
                    file = ffi.string(info.path), sha256 = ffi.string(info.sha256) }
    end
  end
  return t
end

-- A new simulation's entry in run.json's "sims" (filled in by sim:add).
function M.describe(sim)
  local info = { dt = sim.dt, seed = tonumber(sim.seed) or tostring(sim.seed), models = list() }
  M.infos[#M.infos + 1] = info
  info.index = #M.infos
  return info
end

-- Returns the run information and a list of error messages (a recording
-- that could not be written fails the run, but the others are still
-- written).
function M.finish()
  local io = require "lamina.io"
  local info = { sims = list(), recordings = list(), files = list() }
  local errors = {}
  local members, used = {}, {}
  for _, sim in ipairs(M.sims) do
    -- Simulations still held get their final tick and step counts.
    local steps = {}
    for _, m in ipairs(sim:models()) do steps[m.name] = m.steps end
    for _, m in ipairs(sim._info.models) do m.steps = steps[m.name] end
    sim._info.ticks = sim:tick()
  end
  for i, d in ipairs(M.infos) do
    info.sims[i] = { dt = d.dt, seed = d.seed, models = d.models, ticks = d.ticks }
  end
  for _, sim in ipairs(M.sims) do
    local si = sim._info.index
    for _, rec in ipairs(sim._recs) do
      local e = { name = rec.name, port = rec.path, sim = si, every = rec.every, from = rec.from,
                  to = rec.to >= 0 and rec.to or nil, dt = sim.dt,
                  kind = rec:is_spikes() and "spikes" or "dense", count = rec:count() }
      if rec.file then
        local ok, err = pcall(rec.close, rec)
        if not ok then errors[#errors + 1] = tostring(err) end
        e.file, e.ticks_file = rec.file, rec.ticks_file
        if context.out and rec.file:sub(1, #context.out + 1) == context.out .. "/" then
          e.file, e.ticks_file = basename(rec.file), basename(rec.ticks_file)
        end
      elseif rec.save then
        local name = unique(used, rec.name)
        local ok, err = pcall(function()
          members[name] = rec:data()
          members[name .. ".ticks"] = rec:ticks()
        end)
        if ok then e.member = name else errors[#errors + 1] = tostring(err) end
      end
      info.recordings[#info.recordings + 1] = e
    end
  end
  if next(members) then
    local ok, err = pcall(io.savez, "data.npz", members)
    if ok then info.files[#info.files + 1] = "data.npz" else errors[#errors + 1] = tostring(err) end
  end
  info.params = context.resolved
  info.plugins = plugins_loaded(M.sims)
  return info, errors
end

-- The script's returned value as JSON-able Lua values: lamina buffers
-- become (nested) arrays, other cdata numbers become numbers.
local function plain(v, depth)
  if depth > 32 then error("result: nested more than 32 levels", 0) end
  local t = type(v)
  if t == "table" then
    if getmetatable(v) and v._b then return plain(v:totable(), depth + 1) end
    local out = {}
    for k, x in pairs(v) do out[k] = plain(x, depth + 1) end
    return out
  elseif t == "cdata" then
    return tonumber(v)
  elseif t == "function" or t == "userdata" or t == "thread" then
    error("result: a " .. t .. " cannot be written to result.json", 0)
  end
  return v
end
function M.plain(v) return plain(v, 0) end

return M
