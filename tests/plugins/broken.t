#!/usr/bin/env luajit
-- tests/plugins/broken.t - `lamina plugin check` catches each defect of the
-- deliberately broken plugins in tests/plugins/broken/ (built into
-- $BUILD/tests/broken/ by `make test`), with the right check failing: for
-- each plugin the check named below fails, the command exits 1, and no
-- other check fails except the listed consequences of the same defect.
-- The defect-free base model (good.so) passes everything, also under
-- --valgrind, and the leaky one fails only the valgrind check.
local tap = require "tap"
local shell = require "shell"
local sh = tap.sh
local build = os.getenv("LAMINA_TEST_BUILD") or "build"
local lamina = build .. "/bin/lamina"
local dir = build .. "/tests/broken/"


-- The names of the failing checks ("<model>: " dropped), as a set.
local function failures(out)
  local f = {}
  for name in out:gmatch("\nnot ok %d+ %- ([^\n]*)") do f[(name:gsub("^[%w_]+%.[%w_]+: ", ""))] = true end
  return f
end

local cases = {
  { "bad_schema", "loads; descriptor and schemas valid" },
  { "bad_default", "defaults within bounds", { ["loads; descriptor and schemas valid"] = true } },
  { "extreme_crash", "create, reset and destroy at extreme in-range values" },
  { "unbounded", "out-of-range and unknown parameters rejected" },
  { "zero_step", "a zero-step run changes nothing" },
  -- step(0) never returns: given up after 1 s, as a failure of that check.
  { "hang", "a zero-step run changes nothing", nil, "LAMINA_CHECK_TIMEOUT=1 " },
  { "ignores_n", "8 one-step runs equal one 8-step run" },
  -- Every comparison of two instances is meaningless for this one.
  { "nondeterministic", "the same seed gives byte-identical ports", {
    ["create, reset and destroy with default parameters"] = true,
    ["a zero-step run changes nothing"] = true,
    ["8 one-step runs equal one 8-step run"] = true,
    ["save_state, load_state, continue equals the uninterrupted run"] = true } },
  { "seed_ignored", "another seed gives different ports (stochastic)" },
  { "undeclared", "another seed gives identical ports (deterministic)" },
  { "checkpoint_rng", "save_state, load_state, continue equals the uninterrupted run" },
  { "overrun", "no writes outside its own ports" },
  { "writes_input", "no writes outside its own ports" },
  { "method_nocheck", "methods reject wrong shapes" },
}
tap.plan(#cases * 3 + 6)

for _, c in ipairs(cases) do
  local name, must, also, env = c[1], c[2], c[3] or {}, c[4] or ""
  local out, st = sh(env .. lamina .. " plugin check " .. dir .. name .. ".so")
  local f = failures("\n" .. out)
  tap.is(st, 1, name .. ".so: plugin check exits 1")
  if not tap.ok(f[must], name .. ".so: '" .. must .. "' fails") then tap.diag(out) end
  local extra = {}
  for k in pairs(f) do if k ~= must and not also[k] then extra[#extra + 1] = k end end
  if not tap.ok(#extra == 0, name .. ".so: no other check fails") then
    tap.diag("also failed: " .. table.concat(extra, "; "))
  end
end

local out, st = sh(lamina .. " plugin check " .. dir .. "good.so")
tap.is(st, 0, "good.so (the base model, no defect) passes every check")
if st ~= 0 then tap.diag(out) end
tap.ok(select(2, out:gsub("\nok ", "")) >= 12, "... and runs them all")

out, st = sh(lamina .. " plugin check " .. dir .. "leak.so")
tap.is(st, 0, "leak.so passes without --valgrind (a leak is invisible in-process)")

-- memcheck on a small model takes about a second here.
local vg = sh("command -v valgrind")
if vg == "" then
  for _ = 1, 3 do tap.ok(true, "# SKIP valgrind is not installed") end
else
  out, st = sh(lamina .. " plugin check --valgrind " .. dir .. "leak.so")
  tap.is(st, 1, "leak.so --valgrind: exits 1")
  local f = failures("\n" .. out)
  tap.ok(f["valgrind memcheck: no leaks or invalid accesses"] and out:find("definitely lost", 1, true),
    "... the valgrind check fails and shows memcheck's 'definitely lost'")
  out, st = sh(lamina .. " plugin check --valgrind " .. dir .. "good.so")
  tap.ok(st == 0 and out:find("ok %d+ %- valgrind memcheck"), "good.so --valgrind passes, valgrind check included")
  if st ~= 0 then tap.diag(out) end
end
tap.done()
