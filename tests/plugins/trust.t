#!/usr/bin/env luajit
-- tests/plugins/trust.t - pinning plugins by SHA-256 and minimum version
-- (C: lam_registry_pin, Lua: lam.pin), checkpoints that carry plugin,
-- version, ABI and model and are refused by an incompatible plugin, the
-- current directory never searched unless named, and `lamina plugins
-- --why`.  Uses the base model of tests/plugins/broken/ as plugin "good"
-- in versions 0.1.0 (good.so), 0.1.1 (good_v011.so) and 0.2.0
-- (good_v020.so), copied into temporary directories as good.so.
local tap = require "tap"
local shell = require "shell"
local sh = tap.sh
local ffi = require "ffi"
ffi.cdef [[ int setenv(const char *name, const char *value, int overwrite); ]]
local build = shell.build()
local lamina = build .. "/bin/lamina"
local broken = build .. "/tests/broken/"
tap.plan(38)

local function has(s, sub) return s:find(sub, 1, true) ~= nil end

local tmp = shell.tmpdir("trust")
local d1, d2, d3, here = tmp .. "/d1", tmp .. "/d2", tmp .. "/d3", tmp .. "/here"
sh(table.concat({ "mkdir -p " .. d1 .. " " .. d2 .. " " .. d3 .. " " .. here,
  "cp " .. broken .. "good.so " .. d1 .. "/good.so", "cp " .. broken .. "good_v011.so " .. d2 .. "/good.so",
  "cp " .. broken .. "good_v020.so " .. d3 .. "/good.so", "cp " .. broken .. "good.so " .. here .. "/good.so" }, " && "))
local function sha(f) return (sh("sha256sum " .. f):sub(1, 64)) end
local sha1, sha2 = sha(d1 .. "/good.so"), sha(d2 .. "/good.so")
tap.ok(#sha1 == 64 and sha1 ~= sha2, "two builds of plugin good with different SHA-256")

local core = require "lamina.core"
local C = core.C
local function err() return ffi.string(C.lam_last_error()) end
local function registry(...)
  local r = ffi.gc(C.lam_registry_new(), C.lam_registry_free)
  for _, d in ipairs { ... } do C.lam_registry_add_path(r, d) end
  return r
end

-- ---- pinning (C) ------------------------------------------------------------
local r = registry(d1)
tap.is(C.lam_registry_pin(r, "good", sha1, "0.1.0"), 0, "pin good to its sha256 and >= 0.1.0")
tap.ok(C.lam_registry_model(r, "good.m") ~= nil, "... the matching file loads")

r = registry(d1)
C.lam_registry_pin(r, "good", sha2, nil)
tap.ok(C.lam_registry_model(r, "good.m") == nil, "pinned to another sha256: the file is refused")
local e = err()
tap.ok(has(e, sha1) and has(e, sha2), "... and the error shows both hashes")
if not (has(e, sha1) and has(e, sha2)) then tap.diag(e) end

r = registry(d1, d2)
C.lam_registry_pin(r, "good", sha2:upper(), nil)
local m = C.lam_registry_model(r, "good.m")
local owner = C.lam_registry_owner(r, "good.m")
tap.ok(m ~= nil and owner ~= nil and ffi.string(owner.path) == d2 .. "/good.so",
  "the pin picks the matching file from a later directory (hash in upper case accepted)")

r = registry(d1)
C.lam_registry_pin(r, "good", nil, "0.2.0")
tap.ok(C.lam_registry_model(r, "good.m") == nil and has(err(), ">= 0.2.0") and has(err(), "0.1.0"),
  "pinned to >= 0.2.0: version 0.1.0 is refused, both versions named")

r = registry(d1)
C.lam_registry_model(r, "good.m")
tap.is(C.lam_registry_pin(r, "good", sha2, nil), C.LAM_EABI, "pinning an already loaded plugin that does not match: LAM_EABI")
tap.ok(has(err(), sha1) and has(err(), sha2), "... with both hashes")
tap.ok(C.lam_registry_model(r, "good.m") == nil, "... and it is no longer offered")

tap.is(C.lam_registry_pin(r, "good", "abc", nil), C.LAM_EINVAL, "a sha256 that is not 64 hex digits is refused")
tap.is(C.lam_registry_pin(r, "good", nil, "x.1"), C.LAM_EINVAL, "a version that is not MAJOR.MINOR.PATCH is refused")
tap.is(C.lam_registry_pin(r, "good", nil, nil), C.LAM_EINVAL, "a pin with neither is refused")

-- ---- pinning (Lua) ------------------------------------------------------------
ffi.C.setenv("LAMINA_PLUGIN_PATH", d1, 1)
local lam = require "lamina"
tap.raises(function() lam.pin { good = { sha = sha1 } } end, { "unknown or non-string key 'sha'" },
  "lam.pin refuses an unknown key")
lam.pin { good = { sha256 = sha2, min_version = "0.1.0" } }
local sim = lam.sim { dt = 0.1, seed = 1 }
tap.raises(function() sim:add("g", "good.m") end, { sha1, sha2 },
  "lam.pin { good = { sha256 = <other> } }: sim:add refuses, showing both hashes")
lam.pin { good = sha1 }
local okadd = pcall(sim.add, sim, "g", "good.m")
tap.ok(okadd, "lam.pin { good = <its sha256> } (string shorthand): sim:add works")

-- ---- checkpoints --------------------------------------------------------------
local function sim_in(dir, name, seed)
  local rr = registry(dir)
  local s = ffi.gc(C.lam_sim_new(rr, 0.1, seed or 1), C.lam_sim_free)
  local rc = C.lam_sim_add(s, name or "g", "good.m", nil, 0, 1)
  return s, rc, rr
end
local function save(s)
  local out = ffi.new("lam_buf *[1]")
  local rc = C.lam_sim_save_state(s, "g", out)
  return rc == 0 and ffi.gc(out[0], C.lam_buf_free) or nil
end
local function bytes(b) return ffi.string(b.data, b.size) end
local function xport(s)
  local b = C.lam_sim_port(s, "g.x")
  local v = ffi.string(b.data, b.size * 8)
  C.lam_buf_free(b)
  return v
end

local s1, rc1, keep1 = sim_in(d1)
C.lam_sim_run(s1, 50)
local st = save(s1)
local head = "lamina-checkpoint 1\nplugin good\nversion 0.1.0\nabi 1.1\nmodel good.m\n"
tap.ok(st ~= nil and bytes(st):sub(1, #head) == head,
  "a checkpoint starts with its header: plugin good, version 0.1.0, ABI 1.1, model good.m")
C.lam_sim_run(s1, 50)

local s2, rc2, keep2 = sim_in(d2, "g", 5)
tap.is(C.lam_sim_load_state(s2, "g", st), 0, "a 0.1.0 checkpoint loads into plugin 0.1.1 (newer patch)")
C.lam_sim_run(s2, 50)
tap.ok(rc1 == 0 and rc2 == 0 and xport(s1) == xport(s2), "... and continues bit for bit")

local s3, rc3, keep3 = sim_in(d3)
tap.is(C.lam_sim_load_state(s3, "g", st), C.LAM_EABI, "a 0.1.0 checkpoint into plugin 0.2.0 (another 0.x minor) is refused")
e = err()
tap.ok(has(e, "good 0.1.0") and has(e, "good 0.2.0"), "... naming both versions")
if not (has(e, "good 0.1.0") and has(e, "good 0.2.0")) then tap.diag(e) end

local st2 = save(s2)
tap.is(C.lam_sim_load_state(s1, "g", st2), C.LAM_EABI, "a 0.1.1 checkpoint into plugin 0.1.0 (older) is refused")
tap.ok(has(err(), "newer"), "... because the checkpoint is newer")

local zd = tmp .. "/zd"
sh("mkdir -p " .. zd .. " && cp " .. broken .. "zero_step.so " .. zd)
local rz = registry(zd)
local sz = ffi.gc(C.lam_sim_new(rz, 0.1, 1), C.lam_sim_free)
C.lam_sim_add(sz, "g", "zero_step.m", nil, 0, 1)
tap.is(C.lam_sim_load_state(sz, "g", st), C.LAM_EABI, "a checkpoint of plugin good into plugin zero_step is refused")
tap.ok(has(err(), "written by plugin good 0.1.0") and has(err(), "zero_step"), "... naming both plugins")

local function edited(from, to)
  local text = bytes(st):gsub(from, to, 1)
  local b = ffi.gc(C.lam_buf_new(C.LAM_U8, 1, ffi.new("int64_t[1]", #text)), C.lam_buf_free)
  ffi.copy(b.data, text, #text)
  return b
end
tap.is(C.lam_sim_load_state(s1, "g", edited("abi 1%.1", "abi 2.1")), C.LAM_EABI, "a checkpoint of ABI 2.0 is refused")
tap.ok(has(err(), "another ABI major"), "... as another ABI major")
tap.is(C.lam_sim_load_state(s1, "g", edited("model good%.m", "model good.other")), C.LAM_EABI,
  "a checkpoint of another model of the same plugin is refused")
local bare = bytes(st):match("\n\n(.*)$")
local bb = ffi.gc(C.lam_buf_new(C.LAM_U8, 1, ffi.new("int64_t[1]", #bare)), C.lam_buf_free)
ffi.copy(bb.data, bare, #bare)
tap.is(C.lam_sim_load_state(s1, "g", bb), 0, "a bare plugin state (no envelope) still goes to the plugin, which accepts its own")

-- ---- the current directory and --why ---------------------------------------------
local out, status = sh("cd " .. here .. " && LAMINA_PLUGIN_PATH= " .. lamina .. " plugin info good")
tap.ok(status ~= 0, "good.so in the current directory is not found without a path naming it")
out, status = sh("cd " .. here .. " && LAMINA_PLUGIN_PATH=:: " .. lamina .. " plugin info good")
tap.ok(status ~= 0, "... nor with empty LAMINA_PLUGIN_PATH elements (they do not mean '.')")
local script = here .. "/use.lua"
local f = io.open(script, "w")
f:write('local lam = require "lamina"\nlocal s = lam.sim { dt = 0.1 }\ns:add("g", "good.m")\n')
f:close()
out, status = sh("cd " .. here .. " && LAMINA_PLUGIN_PATH= " .. lamina .. " run use.lua --quiet --out " .. tmp .. "/run1")
tap.ok(status ~= 0 and has(out, "not found"), "... nor by a script run from that directory")
out, status = sh("cd " .. here .. " && LAMINA_PLUGIN_PATH=. " .. lamina .. " plugin info good")
tap.ok(status == 0 and has(out, here .. "/good.so"), "LAMINA_PLUGIN_PATH=. asks for it: then it is found")

out, status = sh("cd " .. here .. " && LAMINA_PLUGIN_PATH= " .. lamina .. " plugins --why good --plugin-path " .. d1 ..
  " --plugin-path " .. d2)
tap.is(status, 0, "plugins --why good exits 0")
tap.ok(has(out, "plugin 'good': " .. d1 .. "/good.so") and has(out, "CHOSEN"), "... names the chosen file")
tap.ok(has(out, d2 .. "/good.so") and has(out, "a plugin named 'good' is already loaded from " .. d1),
  "... and why the later one was not chosen")
tap.ok(has(out, "the current directory " .. here .. " is not searched"), "... and that the current directory is not searched")
if status ~= 0 or not has(out, "CHOSEN") then tap.diag(out) end
out, status = sh(lamina .. " plugins --why nosuchplugin")
tap.ok(status == 1 and has(out, "not found"), "plugins --why of a missing plugin: exit 1, 'not found'")

shell.rm(tmp)
tap.done()
