-- lamina: the Lua library of the lamina experiment host.
--
--   local lam = require "lamina"
--   local p   = lam.params { rate = 20, seed = 1 }
--   local sim = lam.sim { dt = 0.1, seed = p.seed }
--   sim:add("p", "stim.poisson", { channels = 100, rate = p.rate })
--   local rec = sim:record("p.spikes")
--   sim:run(1000)                         -- ms
--   print(rec:data():sum())
--
-- See docs/guide.md.
local core = require "lamina.core"
local bufm = require "lamina.buf"
local simm = require "lamina.sim"
local context = require "lamina.context"
local ffi, C = core.ffi, core.C

local lam = {}

function lam.version() return ffi.string(C.lam_version()) end
function lam.build_info() return ffi.string(C.lam_build_info()) end

lam.buf = bufm
lam.sim = setmetatable({ Sim = simm.Sim }, { __call = function(_, opts) return simm.new(opts) end })
lam.context = context
-- NumPy files: lam.save / lam.load (.npy), lam.savez / lam.loadz /
-- lam.npz_names (.npz); relative output names go into the run directory.
lam.io = require "lamina.io"
lam.save, lam.load = lam.io.save, lam.io.load
lam.savez, lam.loadz, lam.npz_names = lam.io.savez, lam.io.loadz, lam.io.npz_names
-- The path an output file named `name` gets (the run directory under
-- `lamina run`, else the working directory).
lam.output = context.resolve

-- The larger libraries load on first use (lam.plot.lines(...) works as
-- if they were loaded here): a short script, such as each point of a
-- sweep, does not pay for parsing what it never calls.
local lazy = {
  data = "lamina.data",         -- generators and loaders (docs/data.md)
  spikes = "lamina.spikes",     -- spike-train statistics (docs/reservoir.md)
  readout = "lamina.readout",   -- readouts (docs/reservoir.md)
  metrics = "lamina.metrics",   -- NRMSE, R², memory capacity ...
  plot = "lamina.plot",         -- SVG figures: lines / raster / heatmap / scatter (docs/plot.md)
}
setmetatable(lam, { __index = function(t, k)
  local m = lazy[k]
  if not m then return nil end
  local v = require(m)
  rawset(t, k, v)
  return v
end })

-- The root seed of this run (--seed, or the fixed default 1).
function lam.seed() return context.seed end

local function names(t)
  local k = {}
  for n in pairs(t) do k[#k + 1] = tostring(n) end
  table.sort(k)
  return table.concat(k, ", ")
end

-- Converts a command-line string to the type of the script's default.
local function convert(key, s, default)
  local t = type(default)
  if t == "number" then
    local v = tonumber(s)
    if not v then core.fail("parameter " .. key .. "=" .. s .. ": expected a number") end
    return v
  elseif t == "boolean" then
    if s == "true" or s == "1" then return true end
    if s == "false" or s == "0" then return false end
    core.fail("parameter " .. key .. "=" .. s .. ": expected true or false")
  elseif t == "string" then
    return s
  end
  core.fail("parameter " .. key .. ": its default is a " .. t .. ", which the command line cannot set")
end

-- lam.params(defaults): the script's parameters.  Command-line key=value
-- pairs override the defaults (converted to each default's type); a key
-- the script does not declare is an error.  --seed overrides `seed`.
function lam.params(defaults)
  if type(defaults) ~= "table" then core.fail("lam.params: expected a table of defaults") end
  -- `lamina run SCRIPT --list-params` (and `lamina sweep`, which checks a
  -- protocol's parameters before running any point) set LAMINA_LIST_PARAMS
  -- to a file: the defaults go there as "name<TAB>type<TAB>value" lines and
  -- the script stops here, before doing any work.
  local listing = os.getenv("LAMINA_LIST_PARAMS")
  if listing and listing ~= "" then
    local f = assert(io.open(listing, "w"))
    local ks = {}
    for n in pairs(defaults) do ks[#ks + 1] = n end
    table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(ks) do
      local v = defaults[k]
      local s = type(v) == "number" and string.format("%.17g", v) or tostring(v)
      f:write(k, "\t", type(v), "\t", (s:gsub("[\t\n]", " ")), "\n")
    end
    f:close()
    os.exit(0)
  end
  local p = {}
  for k, v in pairs(defaults) do p[k] = v end
  for k, s in pairs(context.params) do
    if defaults[k] == nil then
      core.fail("unknown parameter '" .. k .. "' on the command line; this script's parameters are: " .. names(defaults))
    end
    p[k] = convert(k, s, defaults[k])
  end
  if context.seed_given and defaults.seed ~= nil then p.seed = context.seed end
  if p.seed ~= nil and not context.seed_given then context.seed = p.seed end
  context.params_used = true
  context.resolved = p
  return p
end

-- A random stream for scripts: lam.rng(purpose, index [, seed]).
local Rng = {}
Rng.__index = Rng
function lam.rng(purpose, index, seed)
  local r = ffi.new("lam_rng")
  C.lam_rng_init(r, seed or context.seed, 0xffffffff, purpose or 0, index or 0)
  return setmetatable({ _r = r }, Rng)
end
function Rng:uniform(a, b)
  local u = C.lam_rng_uniform(self._r)
  if a then return a + (b - a) * u end
  return u
end
function Rng:normal(m, s) return (m or 0) + (s or 1) * C.lam_rng_normal(self._r) end
function Rng:exponential(mean) return (mean or 1) * C.lam_rng_exponential(self._r) end
function Rng:poisson(mean) return tonumber(C.lam_rng_poisson(self._r, mean)) end
function Rng:binomial(n, p) return tonumber(C.lam_rng_binomial(self._r, n, p)) end
local dists = { uniform = C.LAM_DIST_UNIFORM, normal = C.LAM_DIST_NORMAL, exponential = C.LAM_DIST_EXPONENTIAL,
                poisson = C.LAM_DIST_POISSON, binomial = C.LAM_DIST_BINOMIAL }
-- r:fill(buf, "normal", mean, sd) etc.; returns buf.
function Rng:fill(b, dist, a, c)
  local d = dists[dist]
  if not d then core.fail("rng fill: unknown distribution '" .. tostring(dist) .. "' (valid: " .. names(dists) .. ")") end
  core.check(C.lam_rng_fill(self._r, b._b, d, a or 0, c or 1), "rng fill")
  return b
end

-- Plugins: lam.plugins() lists every plugin file seen (after a scan).
function lam.plugins()
  local reg = simm.registry()
  C.lam_registry_scan(reg)
  local t = {}
  for i = 0, C.lam_registry_count(reg) - 1 do
    local info = C.lam_registry_info(reg, i)
    local e = { path = ffi.string(info.path), sha256 = ffi.string(info.sha256),
                origin = ffi.string(info.origin), loaded = info.status == C.LAM_PLUGIN_LOADED,
                reason = ffi.string(info.reason) }
    if e.loaded then
      e.name, e.version = ffi.string(info.desc.name), ffi.string(info.desc.version)
    end
    t[#t + 1] = e
  end
  return t
end

-- The schema of a model: lam.describe("stim.ou") -> { params = {...}, ports = {...}, methods = {...} }
function lam.describe(model)
  local m = core.checkptr(C.lam_registry_model(simm.registry(), model), "describe")
  local function s(p) return p ~= nil and ffi.string(p) or "" end
  local d = { name = s(m.name), doc = s(m.doc), params = {}, ports = {}, methods = {} }
  for i = 0, C.lam_model_nparams(m) - 1 do
    local p = m.params[i]
    d.params[#d.params + 1] = { name = s(p.name), doc = s(p.doc), units = s(p.units), type = p.type,
      default = p.def, min = p.min, max = p.max, choices = s(p.choices) }
  end
  for i = 0, C.lam_model_nports(m) - 1 do
    local p = m.ports[i]
    d.ports[#d.ports + 1] = { name = s(p.name), doc = s(p.doc), units = s(p.units), shape = s(p.shape),
      dtype = ffi.string(C.lam_dtype_name(p.dtype)), dir = p.dir }
  end
  for i = 0, C.lam_model_nmethods(m) - 1 do
    d.methods[#d.methods + 1] = { name = s(m.methods[i].name), doc = s(m.methods[i].doc) }
  end
  return d
end

-- Pins plugins for this process (docs/plugins.md, "Pinning"):
--   lam.pin { stim = { sha256 = "9f2c...", min_version = "0.1.0" },
--             mylab = "3ab4..." }          -- a string is a sha256 alone
-- From then on only files with that SHA-256 and/or at least that version
-- are loaded under that name (lam_registry_pin); a mismatch is an error
-- showing the pinned and the actual hash or version.  Call it before the
-- first sim:add of the plugin (an already loaded plugin is checked at once).
function lam.pin(spec)
  if type(spec) ~= "table" then
    core.fail("lam.pin: expected { name = { sha256 = \"...\", min_version = \"x.y.z\" } }")
  end
  for name, p in pairs(spec) do
    if type(p) == "string" then p = { sha256 = p } end
    if type(name) ~= "string" or type(p) ~= "table" then
      core.fail("lam.pin: entry " .. tostring(name) .. ": expected a name = { sha256 = ..., min_version = ... } entry")
    end
    for k, v in pairs(p) do
      if (k ~= "sha256" and k ~= "min_version") or type(v) ~= "string" then
        core.fail("lam.pin " .. name .. ": unknown or non-string key '" .. tostring(k) .. "' (expected sha256, min_version)")
      end
    end
    core.check(C.lam_registry_pin(simm.registry(), name, p.sha256, p.min_version), "lam.pin")
  end
end

return lam
