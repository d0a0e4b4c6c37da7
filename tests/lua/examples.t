#!/usr/bin/env luajit
-- The top-level examples run under `lamina run` (small sizes, fixed seeds)
-- and their own checks against theory hold: every z-score the example
-- returns lies within 4 standard errors (probability of a false failure
-- below 1e-4 per score for the normal approximation; seeds are fixed, so
-- the outcome is deterministic).
local tap = require "tap"
local build = os.getenv("LAMINA_TEST_BUILD") or "build"
local lamina = build .. "/bin/lamina"

local cases = {
  { "examples/quickstart.lua", "channels=100 seconds=4 --seed 3", 6 },
  { "examples/recording.lua", "channels=20 seconds=2 --seed 3", 1 },
}
tap.plan(2 * #cases + 6)

local tmp = os.tmpname()
os.remove(tmp)
for i, c in ipairs(cases) do
  local out = tmp .. "/" .. i
  local text, st = tap.sh(lamina .. " run " .. c[1] .. " " .. c[2] .. " --out " .. out)
  tap.is(st, 0, c[1] .. " runs")
  local f = io.open(out .. "/result.json")
  local res = f and f:read("*a") or ""
  if f then f:close() end
  local nz, bad = 0, {}
  for k, v in res:gmatch('"(z[%w_]*)":%s*([-%d.e+]+)') do
    nz = nz + 1
    if math.abs(tonumber(v)) >= 4 then bad[#bad + 1] = k .. " = " .. v end
  end
  tap.ok(nz == c[3] and #bad == 0, c[1] .. ": " .. nz .. " z-scores in result.json, all |z| < 4 " ..
         (#bad > 0 and "(" .. table.concat(bad, ", ") .. ")" or ""))
  if st ~= 0 then tap.diag(text) end
end

-- recording.lua's three recordings reach the run directory.
local d = tmp .. "/2"
for _, f in ipairs { "data.npz", "ou_full.npy", "ou_full.ticks.npy", "summary.npz", "run.json", "recording.lua" } do
  local h = io.open(d .. "/" .. f)
  tap.ok(h ~= nil, "recording.lua wrote " .. f)
  if h then h:close() end
end
os.execute("rm -rf " .. tmp)
tap.done()
