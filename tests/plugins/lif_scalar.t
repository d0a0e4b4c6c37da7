#!/usr/bin/env luajit
-- reservoir.lif's integration pass has a vector form (4 neurons per
-- vector, GCC vector extensions, AVX2 clone) and the scalar form it must
-- equal operation for operation (plugins/reservoir/lif.c, LIF_VEC).  The
-- Makefile builds reservoir.so a second time with -DLIF_SCALAR into
-- $LAMINA_TEST_BUILD/tests/scalar; this test runs the same networks with
-- both builds in child processes and requires identical bytes: spike
-- events, every port and the full checkpoint (v, g_e, g_i, delay ring,
-- STDP-changed weights and traces).  Tolerance: none (bitwise).
local tap = require "tap"
local shell = require "shell"
tap.plan(8)

local build = shell.build()
local lamina = build .. "/bin/lamina"
local scalar = build .. "/tests/scalar"
local tmp = shell.tmpdir("lifscalar")
local function sh(cmd)
  local out, status = tap.sh(cmd)
  return out, status == 0
end

-- Both builds are what the test thinks they are.
local info_s = sh("LAMINA_PLUGIN_PATH=" .. scalar .. " " .. lamina .. " plugin info reservoir")
local info_v = sh("LAMINA_PLUGIN_PATH= " .. lamina .. " plugin info reservoir")
tap.ok(info_s:find("file:%s+[^\n]*/tests/scalar/reservoir%.so") ~= nil, "LAMINA_PLUGIN_PATH picks the -DLIF_SCALAR build")
tap.ok(info_v:find("file:%s+[^\n]*/lib/lamina/plugins/reservoir%.so") ~= nil, "without it, the regular build")

-- The child: three networks, each recorded and checkpointed into one
-- .npz (members written in sorted order, so equal data = equal bytes).
-- n = 4001 and 301: not multiples of the vector width (scalar tails).
local child = tmp .. "/child.lua"
local f = assert(io.open(child, "w"))
f:write([[
local lam = require "lamina"
local out = lam.params { out = "" }.out
local function net(name, params, T, seed, m)
  local sim = lam.sim { dt = 0.1, seed = seed }
  sim:add("net", "reservoir.lif", params)
  local rec = sim:record("net.spikes")
  sim:run(T)
  local t, i = rec:events()
  m[name .. "_ticks"], m[name .. "_index"] = t, i
  m[name .. "_v"] = sim:port("net.v"):copy()
  m[name .. "_state"] = sim:save_state("net")
  return t:size()
end
local m, counts = {}, {}
counts[1] = net("cuba", lam.spikes.preset("cuba", { n = 4001 }), 3000, 3, m)
counts[2] = net("coba", lam.spikes.preset("coba", { n = 4001 }), 1500, 2, m)
counts[3] = net("stdp", { n = 301, p = 0.1, w_e = 0.8, delay = 0.5, delay_max = 1.5, stdp = true,
                          t_ref = 2 }, 2000, 5, m)
lam.savez(out, m, { compress = false })
print(table.concat(counts, " "))
]])
f:close()

local function run(env, out)
  return sh(env .. " " .. lamina .. " run --quiet " .. child .. " out=" .. out)
end
local out_v, ok_v = run("LAMINA_PLUGIN_PATH=", tmp .. "/vec.npz")
local out_s, ok_s = run("LAMINA_PLUGIN_PATH=" .. scalar, tmp .. "/scalar.npz")
tap.ok(ok_v, "child with the regular build ran") if not ok_v then tap.diag(out_v) end
tap.ok(ok_s, "child with the scalar build ran") if not ok_s then tap.diag(out_s) end

local function counts(s)
  local a, b, c = s:match("(%d+) (%d+) (%d+)")
  return tonumber(a), tonumber(b), tonumber(c)
end
local a, b, c = counts(out_v)
tap.ok(a and a > 1000 and b > 1000 and c > 100,
  string.format("all three networks fire (spikes: CUBA %s, COBA %s, STDP %s)", tostring(a), tostring(b), tostring(c)))
tap.is(out_s, out_v, "same spike counts from both builds")

local bv, bs = shell.slurp(tmp .. "/vec.npz"), shell.slurp(tmp .. "/scalar.npz")
tap.ok(bv and #bv > 100000, "the regular build's archive was written (" .. (bv and #bv or 0) .. " bytes)")
tap.ok(bv ~= nil and bv == bs, "scalar and vector builds: identical spikes, v and checkpoints, byte for byte")

shell.rm(tmp)
tap.done()
