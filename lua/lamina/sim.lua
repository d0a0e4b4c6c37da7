-- lamina.sim: the simulation object of scripts.  It owns a lam_sim and
-- adds what belongs in Lua: time in ms as well as ticks, Lua events pulled
-- by sim:run (C never calls back into Lua per step), and friendly handles.
--
-- Time: the base step is dt (ms).  Tick t covers [t*dt, (t+1)*dt).  A Lua
-- event at tick t runs before anything of tick t happens, so it sees the
-- state at time t*dt (after tick t-1).
local core = require "lamina.core"
local bufm = require "lamina.buf"
local context = require "lamina.context"
local ffi, C = core.ffi, core.C

local Sim = {}
Sim.__index = Sim
local Rec = {}
Rec.__index = Rec
local Model = {}
Model.__index = Model

local registry
-- The process-wide plugin registry (created on first use).
local function get_registry()
  if not registry then
    local r = core.checkptr(C.lam_registry_new(), "registry")
    for _, d in ipairs(context.plugin_path or {}) do
      core.check(C.lam_registry_add_path(r, d), "plugin path")
    end
    registry = ffi.gc(r, C.lam_registry_free)
  end
  return registry
end

local M = { registry = get_registry }

-- Set by `lamina sweep` while it checks each point's parameters against
-- the models before running any point (core/sweep.c, validate_points).
local validate_file = os.getenv("LAMINA_VALIDATE")
if validate_file == "" then validate_file = nil end

local function is_int(x) return type(x) == "number" and x == math.floor(x) and x > -2^53 and x < 2^53 end

-- lam.sim{ dt = 0.1, seed = 1, check_every = -1 (automatic; 0 off; k: every k steps) }
function M.new(opts)
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "dt" and k ~= "seed" and k ~= "check_every" then
      core.fail("lam.sim: unknown option '" .. tostring(k) .. "' (valid: dt, seed, check_every)")
    end
  end
  local dt = opts.dt or 0.1
  if type(dt) ~= "number" or not (dt > 0) or dt == math.huge then
    core.fail("lam.sim: dt = " .. tostring(dt) .. ", expected a number > 0 (ms)")
  end
  local seed = opts.seed
  if seed == nil then seed = context.seed end
  if not (is_int(seed) and seed >= 0) and not (type(seed) == "cdata") then
    core.fail("lam.sim: seed = " .. tostring(seed) .. ", expected a non-negative integer")
  end
  if validate_file then
    -- Tells `lamina sweep` this script makes simulations (see validate_file).
    local f = io.open(validate_file .. ".sim", "w")
    if f then f:close() end
  end
  local reg = get_registry()
  local p = core.checkptr(C.lam_sim_new(reg, dt, ffi.cast("uint64_t", seed)), "lam.sim")
  local self = setmetatable({
    _s = ffi.gc(p, C.lam_sim_free), _reg = reg, dt = dt, seed = seed,
    _events = {}, _seq = 0, _keep = {}, _models = {}, _recs = {},
  }, Sim)
  if opts.check_every then core.check(C.lam_sim_set_check(p, opts.check_every), "lam.sim") end
  -- Under `lamina run`, every simulation is described in run.json (dt,
  -- seed, models and their instance ids) whether or not it is kept.
  if context.out then self._info = require("lamina.run").describe(self) end
  return self
end

-- Converts a time in ms to a whole number of ticks (refusing fractions).
function Sim:ticks(T, what)
  if type(T) ~= "number" or T < 0 or T ~= T then
    core.fail((what or "time") .. " = " .. tostring(T) .. ": expected a time >= 0 in ms")
  end
  local n = T / self.dt
  local r = math.floor(n + 0.5)
  if math.abs(n - r) > 1e-9 * math.max(1, math.abs(n)) then
    core.fail(string.format("%s = %g ms is not a whole number of steps of dt = %g ms", what or "time", T, self.dt))
  end
  return r
end

function Sim:tick() return tonumber(C.lam_sim_tick(self._s)) end
function Sim:time() return self:tick() * self.dt end

local arg_t = ffi.typeof("lam_arg[?]")

-- sim:add(name, "family.model", { params }, { period = k }) -> model handle
function Sim:add(name, model, params, opts)
  params, opts = params or {}, opts or {}
  if type(name) ~= "string" then core.fail("add: the model name must be a string, got " .. type(name)) end
  if type(model) ~= "string" then core.fail("add: the model type must be a string like 'stim.poisson'") end
  for k in pairs(opts) do
    if k ~= "period" then core.fail("add " .. name .. ": unknown option '" .. tostring(k) .. "' (valid: period)") end
  end
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local args = arg_t(#keys + 1)
  local anchor = {}
  for i, k in ipairs(keys) do
    if type(k) ~= "string" then core.fail("add " .. name .. ": parameter keys must be strings, got " .. tostring(k)) end
    local v, a = params[k], args[i - 1]
    a.key = k
    anchor[#anchor + 1] = k
    if type(v) == "number" then
      a.kind, a.num = C.LAM_ARG_NUM, v
    elseif type(v) == "boolean" then
      a.kind, a.num = C.LAM_ARG_BOOL, v and 1 or 0
    elseif type(v) == "string" then
      a.kind, a.str = C.LAM_ARG_STR, v
      anchor[#anchor + 1] = v
    else
      core.fail("add " .. name .. ": parameter '" .. k .. "' is a " .. type(v) .. "; expected a number, boolean or string")
    end
  end
  local period = opts.period or 1
  if not is_int(period) then core.fail("add " .. name .. ": period = " .. tostring(period) .. ", expected an integer >= 1") end
  local rc = C.lam_sim_add(self._s, name, model, args, #keys, period)
  if rc ~= 0 and validate_file then
    -- `lamina sweep` asks which points a model would refuse (see below).
    local f = io.open(validate_file, "w")
    if f then f:write(ffi.string(C.lam_last_error())) f:close() end
  end
  core.check(rc)
  if self._info then
    -- The model's instance id keys all its random streams (with the root
    -- seed): run.json lists it as the model's derived seed.
    local i = C.lam_sim_nmodels(self._s) - 1
    local id = string.format("%016x", ffi.cast("uint64_t", C.lam_sim_model_instance(self._s, i)))
    table.insert(self._info.models, { name = name, model = model, period = period, instance = id })
  end
  local m = setmetatable({ sim = self, name = name, model = model }, Model)
  self._models[name] = m
  return m
end

-- A model handle: m:port("x"), m:call("train", ...), m.name
function Model:port(p) return self.sim:port(self.name .. "." .. p) end
function Model:call(method, ...) return self.sim:call(self.name, method, ...) end
function Model:path(p) return self.name .. "." .. p end

-- The live buffer of a port (writing into it sets the port).
function Sim:port(path) return bufm.wrap(core.checkptr(C.lam_sim_port(self._s, path), "port")) end

function Sim:link(src, dst) core.check(C.lam_sim_link(self._s, src, dst)) return self end

-- sim:set(path, value): value a buffer, a table, or a number (fills).
function Sim:set(path, v)
  if type(v) == "number" then
    local p = self:port(path)
    v = bufm.new(p:shape(), p:dtype()):fill(v)
  end
  core.check(C.lam_sim_set(self._s, path, (bufm.coerce(v))))
  return self
end

-- Scheduled actions (run in C at their exact tick): times in ms.
function Sim:at_set(t, path, v)
  local tick = self:ticks(t, "at_set time")
  if type(v) == "number" then
    local p = self:port(path)
    local b = bufm.new(p:shape(), p:dtype()):fill(v)
    core.check(C.lam_sim_at_set(self._s, tick, path, b._b))
  else
    core.check(C.lam_sim_at_set(self._s, tick, path, (bufm.coerce(v))))
  end
  return self
end
function Sim:at_param(t, path, v)
  if type(v) == "boolean" then v = v and 1 or 0 end
  core.check(C.lam_sim_at_param(self._s, self:ticks(t, "at_param time"), path, v))
  return self
end

-- sim:play(buf, "model.port", { start = t_ms, loop = false })
function Sim:play(data, path, opts)
  opts = opts or {}
  local p, keep = bufm.coerce(data)
  core.check(C.lam_sim_play(self._s, path, p, self:ticks(opts.start or 0, "play start"), opts.loop and 1 or 0))
  self._keep[#self._keep + 1] = keep
  return self
end

-- sim:record("model.port", opts) -> recorder.  opts:
--   every / from / to (ticks) or every_ms / from_ms / to_ms (ms): sample
--     every k ticks for ticks in [from, to);
--   to_file = "v.npy": stream to that .npy file (and v.ticks.npy) instead of
--     memory; relative names go into the run directory;
--   overwrite = true: let to_file replace existing files;
--   name = "v": the recording's name in the run directory's data.npz
--     (default: the port path);
--   save = false: leave a memory recording out of data.npz.
local record_opts = { every = 1, from = 1, to = 1, every_ms = 1, from_ms = 1, to_ms = 1,
                      to_file = 1, overwrite = 1, name = 1, save = 1 }
function Sim:record(path, opts)
  opts = opts or {}
  for k in pairs(opts) do
    if not record_opts[k] then
      core.fail("record " .. path .. ": unknown option '" .. tostring(k) ..
                "' (valid: every, from, to, every_ms, from_ms, to_ms, to_file, overwrite, name, save)")
    end
  end
  local every = opts.every or (opts.every_ms and self:ticks(opts.every_ms, "every_ms")) or 1
  local from = opts.from or (opts.from_ms and self:ticks(opts.from_ms, "from_ms")) or 0
  local to = opts.to or (opts.to_ms and self:ticks(opts.to_ms, "to_ms")) or -1
  if opts.name ~= nil and (type(opts.name) ~= "string" or opts.name == "" or opts.name:find("[/\\]")) then
    core.fail("record " .. path .. ": name = " .. tostring(opts.name) .. ", expected a non-empty string without '/'")
  end
  local r = core.checkptr(C.lam_sim_record(self._s, path, every, from, to), "record")
  local rec = setmetatable({ _r = r, sim = self, path = path, name = opts.name or path,
                             save = opts.save ~= false, every = every, from = from, to = to }, Rec)
  if opts.to_file ~= nil then
    if type(opts.to_file) ~= "string" or opts.to_file == "" then
      core.fail("record " .. path .. ": to_file = " .. tostring(opts.to_file) .. ", expected a file name")
    end
    local f = opts.to_file
    if not f:find("%.npy$") then f = f .. ".npy" end
    rec.file = context.resolve(f)
    core.check(C.lam_rec_stream(r, rec.file, opts.overwrite and 1 or 0), "record " .. path)
    rec.ticks_file = ffi.string(C.lam_rec_file(r, 1))
  end
  self._recs[#self._recs + 1] = rec
  -- Under `lamina run` the run keeps each simulation that has a recording
  -- to save, so that it reaches the run directory when the script ends
  -- (a simulation without one may be collected as soon as it is dropped).
  if context.out and (rec.save or rec.file) and not self._tracked then
    self._tracked = true
    table.insert(require("lamina.run").sims, self)
  end
  return rec
end

-- A dense recorder: data() is [samples, port shape...], ticks() the tick of
-- each sample.  A spike port (LAM_PORT_SPIKES): data() holds the index and
-- ticks() the tick of every event; events() returns both.  A streaming
-- recorder reads its file back (pending samples are written out first).
function Rec:data() return bufm.wrap(core.checkptr(C.lam_rec_data(self._r), "record " .. self.path)) end
function Rec:ticks() return bufm.wrap(core.checkptr(C.lam_rec_ticks(self._r), "record " .. self.path)) end
function Rec:times()
  local t = self:ticks():copy("f64")
  return t:scale(self.sim.dt)
end
function Rec:events() return self:ticks(), self:data() end
function Rec:is_spikes() return C.lam_rec_is_spikes(self._r) ~= 0 end
function Rec:count() return tonumber(C.lam_rec_count(self._r)) end
-- Ends a stream: its files get their final names; no more samples.
function Rec:close() core.check(C.lam_rec_close(self._r), "record " .. self.path) return self end
function Rec:start(t) core.check(C.lam_sim_at_record(self.sim._s, self.sim:ticks(t, "start"), self._r, 1)) return self end
function Rec:stop(t) core.check(C.lam_sim_at_record(self.sim._s, self.sim:ticks(t, "stop"), self._r, 0)) return self end

-- Lua events.  sim:at(t_ms, fn) runs fn(sim) once; sim:every(p_ms, fn)
-- runs it every p ms starting at `start` (default p).  Handlers run between
-- C runs, never from inside the step loop.
-- The queue is a binary min-heap on (tick, seq): O(log n) per push and
-- pop, no comparator closure or table.sort per event, and all of it
-- compiled by the JIT.  q[1] is always the next event.
local function before(a, b) return a.tick < b.tick or (a.tick == b.tick and a.seq < b.seq) end
local function heap_push(q, ev)
  local i = #q + 1
  q[i] = ev
  while i > 1 do
    local p = math.floor(i / 2)
    if not before(q[i], q[p]) then break end
    q[i], q[p] = q[p], q[i]
    i = p
  end
end
local function heap_pop(q)
  local n = #q
  local top = q[1]
  q[1] = q[n]
  q[n] = nil
  n = n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n and before(q[l], q[m]) then m = l end
    if r <= n and before(q[r], q[m]) then m = r end
    if m == i then break end
    q[i], q[m] = q[m], q[i]
    i = m
  end
  return top
end
local function push_event(self, tick, fn, every)
  self._seq = self._seq + 1
  local ev = { tick = tick, seq = self._seq, fn = fn, every = every }
  heap_push(self._events, ev)
  return ev
end

function Sim:at(t, fn)
  if type(fn) ~= "function" then core.fail("at: expected a function") end
  local tick = self:ticks(t, "at")
  if tick < self:tick() then core.fail("at: time " .. t .. " ms is in the past") end
  return push_event(self, tick, fn)
end
function Sim:every(p, fn, start)
  if type(fn) ~= "function" then core.fail("every: expected a function") end
  local k = self:ticks(p, "every")
  if k < 1 then core.fail("every: period must be at least one step") end
  local first = start and self:ticks(start, "every start") or self:tick() + k
  if first < self:tick() then core.fail("every: start " .. start .. " ms is in the past") end
  return push_event(self, first, fn, k)
end

-- Advances n ticks, stopping at each Lua event.
function Sim:run_ticks(n)
  -- Under `lamina sweep`'s check of its points (LAMINA_VALIDATE names a
  -- file), the models have been added by now: stop here.
  if validate_file then error("lamina: stopped at the first run (checking the sweep's parameters)", 0) end
  if not is_int(n) or n < 0 then core.fail("run: " .. tostring(n) .. " ticks; expected an integer >= 0") end
  local s = self._s
  local cur = self:tick()
  local stop = cur + n
  C.lam_sim_progress(s, stop)
  local q = self._events
  -- Events of tick `stop` belong to the next run: they run just before
  -- that tick is executed.
  while cur < stop do
    while q[1] and q[1].tick == cur do
      local ev = heap_pop(q)
      if ev.every then push_event(self, ev.tick + ev.every, ev.fn, ev.every) end
      ev.fn(self)
    end
    local nxt = q[1] and math.min(q[1].tick, stop) or stop
    local rc = C.lam_sim_run(s, nxt - cur)
    if rc ~= 0 then
      C.lam_sim_progress(s, 0)
      core.check(rc)
    end
    cur = nxt
  end
  C.lam_sim_progress(s, 0)
  return self
end

-- sim:run(T): advances T ms.
function Sim:run(T) return self:run_ticks(self:ticks(T, "run")) end

function Sim:reset()
  self._events = {}
  core.check(C.lam_sim_reset(self._s), "reset")
  return self
end

-- sim:call("model", "method", buf_or_table...) -> buffer or nil
function Sim:call(model, method, ...)
  local n = select("#", ...)
  local ins = ffi.new("lam_buf *[?]", n + 1)
  local keep = {}
  for i = 1, n do
    local p, b = bufm.coerce((select(i, ...)))
    ins[i - 1], keep[i] = p, b
  end
  local out = ffi.new("lam_buf *[1]")
  core.check(C.lam_sim_call(self._s, model, method, ins, n, out))
  if out[0] == nil then return nil end
  return bufm.wrap(out[0])
end

function Sim:save_state(model)
  local out = ffi.new("lam_buf *[1]")
  core.check(C.lam_sim_save_state(self._s, model, out))
  return bufm.wrap(out[0])
end
function Sim:load_state(model, state)
  core.check(C.lam_sim_load_state(self._s, model, (bufm.coerce(state, "u8"))))
  return self
end

-- The models in insertion order: { {name=, model=, period=, steps=}, ... }
function Sim:models()
  local t = {}
  for i = 0, C.lam_sim_nmodels(self._s) - 1 do
    t[#t + 1] = {
      name = ffi.string(C.lam_sim_model_name(self._s, i)),
      model = ffi.string(C.lam_sim_model_def(self._s, i).name),
      period = tonumber(C.lam_sim_model_period(self._s, i)),
      steps = tonumber(C.lam_sim_model_steps(self._s, i)),
    }
  end
  return t
end

M.Sim, M.Rec, M.Model = Sim, Rec, Model
return M
