#!/usr/bin/env luajit
-- Run directories of `lamina run` (run.json, result.json, data.npz, the
-- log, the script copy), recordings to files (streams, spike events) read
-- back with NumPy from Debian's /usr/bin/python3, lam.save/load/savez/loadz,
-- refusal to overwrite completed results, and a SIGKILL while streaming.
local tap = require "tap"
local build = os.getenv("LAMINA_TEST_BUILD") or "build"
local lamina = build .. "/bin/lamina"
local abi = build .. "/tests/abi"
tap.plan(37)

local sh = tap.sh
local slurp = require("shell").slurp
local function spit(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end
local function exists(p) return slurp(p) ~= nil end
-- Runs Python code with NumPy; returns its stdout trimmed.
local function py(code)
  local f = os.tmpname()
  spit(f, "import numpy as np, json, sys\n" .. code)
  local out, st = sh("/usr/bin/python3 " .. f)
  os.remove(f)
  return (out:gsub("%s+$", "")), st
end

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p " .. tmp) == 0)
local script = tmp .. "/exp.lua"
spit(script, [[
local lam = require "lamina"
local p = lam.params { n = 4, T = 50, fail = false, seed = 1 }
local sim = lam.sim { dt = 0.5, seed = p.seed }
sim:add("c", "good.counter", { n = p.n, gain = 1 })
sim:add("sp", "good.spiker", { n = 6 })
sim:record("c.x")
sim:record("c.x", { every = 5, name = "x_slow" })
sim:record("sp.spikes")
sim:record("c.x", { to_file = "x_stream" })
sim:record("c.y", { save = false })
sim:run_ticks(p.T)
lam.save("w.npy", lam.buf.from({ 1.5, 2.5, 3.5 }))
lam.savez("pair.npz", { a = lam.buf.from({ 1, 2 }), b = lam.buf.from({ 7 }, "i32") }, { compress = 6 })
print("printed by the script")
io.stderr:write("written to stderr\n")
if p.fail then error("deliberate failure after recording") end
return { final = sim:port("c.x"):get(1), n = p.n, label = "ok", list = { 1, 2, 3 } }
]])

local env = "LAMINA_PLUGIN_PATH=" .. abi .. " "
local out1 = tmp .. "/run1"
local out, st = sh(env .. lamina .. " run " .. script .. " T=40 --seed 5 --out " .. out1)
tap.is(st, 0, "run with --out exits 0")
local runjson = slurp(out1 .. "/run.json") or ""
tap.match(runjson, '"status":%s*"COMPLETED"', "run.json: status COMPLETED")
for _, f in ipairs { "result.json", "data.npz", "log", "exp.lua", "w.npy", "pair.npz",
                     "x_stream.npy", "x_stream.ticks.npy" } do
  tap.ok(exists(out1 .. "/" .. f), "run directory holds " .. f)
end
tap.ok(not exists(out1 .. "/x_stream.npy.partial"), "no .partial left after a completed run")

-- run.json read by Python's json module: every provenance field.
local sha = sh("sha256sum " .. script):match("^(%x+)")
local r, pst = py(([==[
r = json.load(open("%s/run.json"))
ok = []
ok.append(r["lamina"]["version"] != "" and "build" in r["lamina"])
ok.append(r["script"]["sha256"] == "%s" and r["script"]["copy"] == "exp.lua")
ok.append(r["params"] == {"n": 4, "T": 40, "fail": False, "seed": 5})
ok.append(r["seed"] == 5 and r["seed_given"] is True)
ok.append(r["command_line_params"] == {"T": "40"})
p = {x["name"]: x for x in r["plugins"]}
ok.append("good" in p and len(p["good"]["sha256"]) == 64 and p["good"]["version"] == "1.2.3")
s = r["sims"][0]
ok.append(s["dt"] == 0.5 and s["ticks"] == 40 and [m["name"] for m in s["models"]] == ["c", "sp"])
ok.append(all(len(m["instance"]) == 16 for m in s["models"]))
names = [x["name"] for x in r["recordings"]]
ok.append(names == ["c.x", "x_slow", "sp.spikes", "c.x", "c.y"])
ok.append(r["recordings"][2]["kind"] == "spikes" and r["recordings"][3]["file"] == "x_stream.npy")
ok.append("hostname" in r["host"] and r["start"] <= r["end"] and r["elapsed_s"] >= 0)
ok.append(r["files"] == ["data.npz"])
print(" ".join("1" if x else "0" for x in ok))
]==]):format(out1, sha))
tap.is(r, "1 1 1 1 1 1 1 1 1 1 1 1", "run.json: version, script sha256 and copy, resolved params, seed, " ..
       "command-line params, plugins with sha256, sims with instance ids, recordings, host, times, files")

-- The recordings, exactly: x = (t + 1) * dt after tick t with gain 1.
r = py(([==[
z = np.load("%s/data.npz")
ok = []
ok.append(sorted(z.keys()) == ["c.x", "c.x.ticks", "sp.spikes", "sp.spikes.ticks", "x_slow", "x_slow.ticks"])
x, t = z["c.x"], z["c.x.ticks"]
ok.append(x.shape == (40, 4) and x.dtype == np.float64 and (t == np.arange(40)).all())
ok.append(np.array_equal(x[:, 0], (np.arange(40) + 1) * 0.5))
ok.append((z["x_slow.ticks"] == np.arange(0, 40, 5)).all())
i, st = z["sp.spikes"], z["sp.spikes.ticks"]
ev = [(tt, u) for tt in range(40) for u in range(6) if (tt + 1) %% (u + 1) == 0]
ok.append(i.dtype == np.int64 and list(zip(st.tolist(), i.tolist())) == ev)
s = np.load("%s/x_stream.npy")
ok.append(np.array_equal(s, x) and (np.load("%s/x_stream.ticks.npy") == t).all())
ok.append(np.array_equal(np.load("%s/w.npy"), [1.5, 2.5, 3.5]))
p = np.load("%s/pair.npz")
ok.append(np.array_equal(p["a"], [1, 2]) and p["b"].dtype == np.int32 and p["b"][0] == 7)
print(" ".join("1" if v else "0" for v in ok))
]==]):format(out1, out1, out1, out1, out1))
tap.is(r, "1 1 1 1 1 1 1 1", "NumPy reads data.npz (dense, every-5, spike events), the stream, " ..
       "lam.save and lam.savez files with the exact values")

local res = slurp(out1 .. "/result.json") or ""
tap.match(res, '"final":%s*20', "result.json holds the returned table (final x = 40 * 0.5)")
tap.match(res, '"list":%s*%[1, 2, 3%]', "... arrays stay arrays")
local log = slurp(out1 .. "/log") or ""
tap.ok(log:find("printed by the script", 1, true) and log:find("written to stderr", 1, true),
       "log holds what the script printed on stdout and stderr")
tap.is(slurp(out1 .. "/exp.lua"), slurp(script), "the script copy is byte-identical")

-- Reproducibility: same seed, same binary -> same data and result bytes.
local out2 = tmp .. "/run2"
sh(env .. lamina .. " run " .. script .. " T=40 --seed 5 --out " .. out2)
tap.ok(slurp(out1 .. "/data.npz") == slurp(out2 .. "/data.npz") and
       slurp(out1 .. "/result.json") == slurp(out2 .. "/result.json"),
       "a second run with the same seed writes identical data.npz and result.json")

-- Completed results are never overwritten.
out, st = sh(env .. lamina .. " run " .. script .. " --out " .. out1)
tap.ok(st ~= 0 and out:find("completed run", 1, true), "--out onto a completed run is refused")
tap.is(slurp(out1 .. "/run.json"), runjson, "... and run.json is untouched")
out, st = sh(env .. lamina .. " run " .. script .. " --out " .. tmp)
tap.ok(st ~= 0 and out:find("not empty", 1, true), "--out onto a non-empty directory without run.json is refused")

-- A failing script: FAILED with the error, recordings still saved.
local out3 = tmp .. "/run3"
out, st = sh(env .. lamina .. " run " .. script .. " fail=true --out " .. out3)
tap.ok(st ~= 0, "a failing script exits non-zero")
local r3 = slurp(out3 .. "/run.json") or ""
tap.match(r3, '"status":%s*"FAILED"', "run.json: status FAILED")
tap.match(r3, '"error":%s*"[^"]*deliberate failure after recording', "... with the error line")
tap.ok(exists(out3 .. "/data.npz") and not exists(out3 .. "/result.json"),
       "a failed run keeps its recordings and has no result.json")
-- Rerunning into a failed run's directory keeps the earlier attempt.
out, st = sh(env .. lamina .. " run " .. script .. " --out " .. out3)
tap.is(st, 0, "rerun into the failed run's directory")
tap.ok(exists(out3 .. "/attempt-1/run.json") and exists(out3 .. "/attempt-1/data.npz"),
       "... the failed attempt moved to attempt-1/")
tap.match(slurp(out3 .. "/run.json") or "", '"status":%s*"COMPLETED"', "... and the new run completed")

-- Without --out: $LAMINA_RUNS/<script>/<run-id>, two runs never share one.
local base = tmp .. "/runs"
sh("LAMINA_RUNS=" .. base .. " " .. env .. lamina .. " run " .. script)
sh("LAMINA_RUNS=" .. base .. " " .. env .. lamina .. " run " .. script)
local dirs = sh("ls " .. base .. "/exp")
local n = 0
for d in dirs:gmatch("%d+%-%d+%-%x+") do
  n = n + 1
  tap.ok(exists(base .. "/exp/" .. d .. "/run.json"), "runs/exp/" .. d .. " holds run.json")
end
tap.is(n, 2, "two runs, two run directories named <UTC time>-<tag>")

-- Without a seed the fixed default 1 is used and recorded.
local out4 = tmp .. "/run4"
sh(env .. lamina .. " run " .. script .. " --out " .. out4)
local r4 = slurp(out4 .. "/run.json") or ""
tap.ok(r4:find('"seed":%s*1,') and r4:find('"seed_given":%s*false'), "no --seed: seed 1, recorded as not given")

-- SIGKILL while streaming: run.json stays RUNNING, the .partial file is a
-- valid .npy holding the rows written so far, no final name appears.
local long = tmp .. "/long.lua"
spit(long, [[
local lam = require "lamina"
local sim = lam.sim { dt = 1 }
sim:add("c", "good.counter", { n = 16, gain = 1 })
sim:record("c.x", { to_file = "big" })
while true do sim:run_ticks(20000) end
]])
local out5 = tmp .. "/run5"
os.execute(env .. lamina .. " run " .. long .. " --out " .. out5 .. " >/dev/null 2>&1 & echo $! > " .. tmp .. "/pid")
local pid = (slurp(tmp .. "/pid") or ""):match("%d+")
-- Wait until several chunks were written, then kill.
for _ = 1, 100 do
  local f = io.open(out5 .. "/big.npy.partial", "rb")
  local size = f and f:seek("end") or 0
  if f then f:close() end
  if size > 4e6 then break end
  os.execute("sleep 0.05")
end
os.execute("kill -9 " .. pid .. "; sleep 0.2")
tap.match(slurp(out5 .. "/run.json") or "", '"status":%s*"RUNNING"', "killed run: run.json still says RUNNING")
tap.ok(not exists(out5 .. "/big.npy"), "killed run: no file under the final name")
r = py(([==[
x = np.load("%s/big.npy.partial")
t = np.load("%s/big.ticks.npy.partial")
n = min(len(x), len(t))
ok = x.ndim == 2 and x.shape[1] == 16 and n > 1000
ok = ok and np.array_equal(x[:n, 0], np.arange(n) + 1.0) and np.array_equal(t[:n], np.arange(n))
print("1" if ok else "0", n)
]==]):format(out5, out5))
tap.match(r, "^1 %d+", "np.load reads the killed run's .partial files: every counted row right (" .. r .. ")")

-- Errors name the option.
spit(tmp .. "/bad.lua", [[
local lam = require "lamina"
local sim = lam.sim { dt = 1 }
sim:add("c", "good.counter", {})
sim:record("c.x", { to_fil = "x" })
]])
out, st = sh(env .. lamina .. " run " .. tmp .. "/bad.lua --out " .. tmp .. "/run6")
tap.ok(st ~= 0 and out:find("unknown option 'to_fil'", 1, true) and out:find("bad.lua:4", 1, true),
       "a misspelt record option is named, at the script line")
spit(tmp .. "/bad2.lua", [[
local lam = require "lamina"
lam.save("w.npy", lam.buf.from({ 1 }))
lam.save("w.npy", lam.buf.from({ 2 }))
]])
out, st = sh(env .. lamina .. " run " .. tmp .. "/bad2.lua --out " .. tmp .. "/run7")
tap.ok(st ~= 0 and out:find("file exists", 1, true), "lam.save refuses to replace a file")

os.execute("rm -rf " .. tmp)
tap.done()
