#!/usr/bin/env luajit
-- tests/plugins/kuramoto_examples.t - the examples of examples/kuramoto/
-- run (through `lamina run`, in a scratch directory, at reduced sizes) and
-- still show what docs/kuramoto.md says they show.  Tolerances stated per
-- check.
local tap = require "tap"
tap.plan(12)

local build = os.getenv("LAMINA_TEST_BUILD") or "build"
-- The repository root, from this file's path (prove runs it from anywhere).
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local pr = io.popen("cd " .. here .. "/../.. && pwd")
local root = pr:read("*l")
pr:close()
local lamina = (build:sub(1, 1) == "/" and build or root .. "/" .. build) .. "/bin/lamina"
local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p " .. tmp)

-- Runs an example; returns the table it printed (key = value lines).
local function run(name, args)
  local cmd = string.format("cd %s && LAMINA_RUNS=%s/runs %s run %s/examples/kuramoto/%s %s 2>&1",
    tmp, tmp, lamina, root, name, args or "")
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  local t = {}
  for k, v in out:gmatch("\n?([%w_]+) = ([^\n]+)") do t[k] = tonumber(v) or v end
  return t, out
end

local st, out = run("sync_transition.lua", "k=4 n=2000 T=40")
tap.near(st.r, math.sqrt(0.5), 0.03, "sync_transition: r_inf(K = 4) near sqrt(1 - 2/4) (0.03: N = 2000, random omega)")
if not st.r then tap.diag(out) end
local sw = run("sync_transition.lua", "loop=true nk=3 reps=1 kmin=1 kmax=5 n=500 T=20 out=st.svg")
tap.is(sw.kc_theory, 2, "sync_transition loop=true runs the sweep")
-- `lamina run` runs a script in its run directory: the figure lands there.
local f = io.popen("find " .. tmp .. "/runs -name st.svg")
tap.ok(f:read("*a"):find("st.svg", 1, true) ~= nil, "sync_transition writes its figure into the run directory")
f:close()

local ch = run("chimera.lua", "npop=64 T=100")
tap.near(ch.r1, 1, 1e-6, "chimera: population 1 stays synchronised (1e-6)")
tap.near(ch.r2, ch.r2_oa or -1, 0.01, "chimera: <r2> at the OA chimera value (0.01)")

local dl = run("delayed_plv.lua", "n=20 T=400")
tap.ok(type(dl.plv) == "number" and dl.plv > 0 and dl.plv <= 1, "delayed_plv: a mean PLV in (0, 1]")

-- Strong coupling: global in-phase locking at the delay-depressed
-- frequency, the single root of Omega = omega - K <sum_j W_ij sin(Omega
-- tau_ij)>_i (measured within 1 % of it at n = 20, 40 and two seeds; 3 %
-- allowed for the finite run and the row averaging).
local lk = run("delayed_plv.lua", "n=20 k=1 v=10 T=3000")
tap.ok(type(lk.plv) == "number" and lk.plv > 0.95, "delayed_plv k=1: global locking (mean PLV > 0.95)")
tap.is(lk.theory_roots, 1, "delayed_plv k=1: the locked-state equation has one root")
tap.near((lk.frequency_hz or 0) / (lk.frequency_theory_hz or 1), 1, 0.03,
  "delayed_plv k=1: collective frequency at the locked-state root (3 %), far below 40 Hz")

local ak = run("akorn_binding.lua")
tap.is(ak.exact, "true", "akorn_binding: the two clusters are exactly the two shapes")
tap.near(ak.within, 1, 1e-6, "akorn_binding: within-shape similarity 1 (1e-6)")
tap.near(ak.between, -1, 1e-6, "akorn_binding: between-shape similarity -1 (1e-6)")
os.execute("rm -rf " .. tmp)
tap.done()
