#!/usr/bin/env luajit
-- Malformed protocols: each is refused before any point runs, with one
-- line "FILE:LINE:COLUMN: what" and, for misspelt keys, a suggestion.
package.path = "tests/sweep/?.lua;" .. package.path
local tap = require "tap"
local T = require "common"
local dir = T.tmpdir()

-- {protocol body, expected line:col, expected substring}
local cases = {
  { "script: @SCRIPT@\nout: @OUT@\nsweeep:\n  grid: { a: [1] }\n", "3:1",
    "unknown key 'sweeep' in the protocol (did you mean 'sweep'?)" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  gird: { a: [1] }\n", "4:3", "(did you mean 'grid'?)" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  replicate: 2\n", "4:3", "(did you mean 'replicates'?)" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  grid: { a: 3 }\n", "4:14", "expected a list, found a single value" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  grid: { a: [] }\n", "4:14", "the list of values is empty" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  zip:\n    a: [1, 2]\n    b: [1, 2, 3]\n", "6:8",
    "'b' has 3 values but 'a' has 2" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  random: { params: { a: { uniform: [0, 1] } } }\n", "4:11",
    "'n' (the number of samples) is missing" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  random:\n    n: 3\n    params:\n      a: { unifrom: [0, 1] }\n", "7:12",
    "(did you mean 'uniform'?)" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  random:\n    n: 3\n    params:\n      a: { log-uniform: [0, 1] }\n", "7:26",
    "the low bound must be > 0" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  random:\n    n: 3\n    params:\n      a: { uniform: [2, 1] }\n", "7:21",
    "expected low < high" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  replicates: 0\n", "4:15", "replicates: expected a whole number in [1," },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  replicates: 2.5\n", "4:15", "expected a whole number" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  product:\n    - grid: { a: [1] }\n      replicates: 2\n", "6:7",
    "replicates: only at the top level" },
  { "script: @SCRIPT@\nout: @OUT@\nparams: { a: 1, a: 2 }\n", "3:17", "key 'a' appears twice" },
  { "script: @SCRIPT@\nout: @OUT@\nparams: { a: [1, 2] }\n", "3:14", "parameter 'a': expected a single value, found a list" },
  { "script: @SCRIPT@\nout: @OUT@\nparams: { a: ~ }\n", "3:14", "null" },
  { "script: @SCRIPT@\nout: @OUT@\nparams: { a: .nan }\n", "3:14", "not finite" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  grid: { a: [1, 2\n", "5:1", "" },
  { "out: @OUT@\nparams: { a: 1 }\n", "1:1", "names no 'script'" },
  { "script: @SCRIPT@\nout: @OUT@\nseed: -1\n", "3:7", "seed: expected a whole number in [0," },
  { "script: @SCRIPT@\nout: @OUT@\nplugins:\n  - { name: stim, sha: abc }\n", "4:19", "(did you mean 'sha256'?)" },
  { "script: @SCRIPT@\nout: @OUT@\nplugins:\n  - { name: stim, sha256: abc }\n", "4:27", "expected 64 hexadecimal digits" },
  { "script: @SCRIPT@\nout: @OUT@\nslurm: { time: soon }\n", "3:16", "slurm time: expected HH:MM:SS" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  grid: { a: [1, 2] }\n  zip: { a: [3, 4] }\n", "5:10", "'a' is swept twice (also at line 4)" },
  -- parameters the script does not accept, or of the wrong type
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  grid: { lable: [x, y] }\n", "4:11",
    "'lable' is not a parameter of " .. T.point .. " (did you mean 'label'?)" },
  { "script: @SCRIPT@\nout: @OUT@\nparams: { zzz: 1 }\n", "3:11", "its parameters are: a, b, flag, label, mode, seed, sleep" },
  { "script: @SCRIPT@\nout: @OUT@\nsweep:\n  grid: { a: [1, abc] }\n", "4:18", "parameter 'a' = abc: " .. T.point .. " expects a number" },
  { "script: @SCRIPT@\nout: @OUT@\nparams: { label: 3 }\n", "3:18", "expects a string (quote it to make it a string)" },
  { "script: @SCRIPT@\nout: @OUT@\nparams: { flag: 1 }\n", "3:17", "expects a boolean" },
  { "script: missing.lua\nout: @OUT@\n", "1:9", "missing.lua" },
}
tap.plan(2 * #cases + 7)
for i, c in ipairs(cases) do
  local p = T.protocol(dir, c[1], "case" .. i .. ".yaml")
  os.execute("rm -rf " .. dir .. "/out")
  local out, st = T.sh(T.lamina .. " sweep " .. p .. " -j 1")
  local first = out:match("^[^\n]*") or ""
  tap.ok(st == 2 and first:find("lamina: " .. p .. ":" .. c[2] .. ": ", 1, true) ~= nil and out:find(c[3], 1, true) ~= nil,
    "case " .. i .. ": " .. c[2] .. " " .. (c[3] ~= "" and c[3] or "YAML syntax"))
  if st ~= 2 or not first:find(p .. ":" .. c[2], 1, true) or not out:find(c[3], 1, true) then tap.diag(out) end
  local ran = T.sh("ls " .. dir .. "/out/points 2>/dev/null | wc -l")
  tap.is(tonumber(ran), 0, "case " .. i .. ": no point ran")
end

-- command-line mistakes
local p = T.protocol(dir, "script: @SCRIPT@\nout: @OUT@\nsweep: { grid: { a: [1, 2] } }\n")
local out, st = T.sh(T.lamina .. " sweep " .. p .. " zz=1")
tap.ok(st == 2 and out:find("command line: 'zz' is not a parameter", 1, true), "unknown command-line parameter refused")
out, st = T.sh(T.lamina .. " sweep " .. p .. " --shard 2/2")
tap.ok(st == 2 and out:find("--shard 2/2: expected I/N with 0 <= I < N", 1, true), "bad --shard refused")
out, st = T.sh(T.lamina .. " sweep " .. p .. " --emit pbs")
tap.ok(st == 2 and out:find("expected slurm or parallel", 1, true), "unknown emitter refused")
out, st = T.sh(T.lamina .. " sweep " .. p .. " --bogus")
tap.ok(st == 2 and out:find("unknown option --bogus", 1, true), "unknown option refused")
-- a pin that no plugin file matches refuses the sweep before it runs
p = T.protocol(dir, "script: @SCRIPT@\nout: @OUT@\nplugins:\n  - { name: stim, sha256: " .. string.rep("ab", 32) .. " }\n")
out, st = T.sh(T.lamina .. " sweep " .. p .. " --plugin-path " .. (os.getenv("LAMINA_TEST_BUILD") or "build") .. "/lib/lamina/plugins")
tap.ok(st == 2 and out:find(p .. ":4:5: plugin 'stim' as pinned:", 1, true) and out:find(string.rep("ab", 32), 1, true),
  "a pinned hash that no file has is refused, naming the pin")
if st ~= 2 then tap.diag(out) end
-- the right hash passes
local ppath = (os.getenv("LAMINA_TEST_BUILD") or "build") .. "/lib/lamina/plugins"
local sha = T.sh(T.lamina .. " plugin info stim --plugin-path " .. ppath):match("sha256:%s+(%x+)")
p = T.protocol(dir, "script: @SCRIPT@\nout: @OUT@\nplugins:\n  - { name: stim, sha256: " .. tostring(sha) .. ", min_version: 0.0.1 }\n")
out, st = T.sh(T.lamina .. " sweep " .. p .. " --plan --plugin-path " .. ppath)
tap.ok(sha and st == 0, "a pin with the plugin's own SHA-256 is accepted")
if st ~= 0 then tap.diag(out) end
-- --list-params
out, st = T.sh(T.lamina .. " run " .. T.point .. " --list-params")
tap.ok(st == 0 and out:find("a\tnumber\t1\n", 1, true) and out:find("label\tstring\tx\n", 1, true)
  and out:find("flag\tboolean\tfalse\n", 1, true), "lamina run --list-params prints name, type and default")
os.execute("rm -rf " .. dir)
tap.done()
