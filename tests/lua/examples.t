#!/usr/bin/env luajit
-- The top-level and reservoir examples run under `lamina run` (fixed
-- seeds, default or small sizes) and show what their headers and the docs
-- claim: every z-score an example returns lies within 4 standard errors
-- (seeds are fixed, so the outcome is deterministic), the task figures are
-- inside the reference bounds of docs/reservoir.md, and the files they
-- promise appear in the run directory.  (The kuramoto examples have their
-- own test, tests/plugins/kuramoto_examples.t; the sweep example
-- tests/sweep/example.t.)
local tap = require "tap"
local build = os.getenv("LAMINA_TEST_BUILD") or "build"
local lamina = build .. "/bin/lamina"

local function num(res, key) return tonumber(res:match('"' .. key .. '":%s*([-%d.e+]+)')) end
local cases = {
  { "examples/quickstart.lua", "channels=100 seconds=4 --seed 3", zs = 6 },
  { "examples/recording.lua", "channels=20 seconds=2 --seed 3", zs = 1,
    files = { "data.npz", "ou_full.npy", "ou_full.ticks.npy", "summary.npz", "recording.lua" } },
  { "examples/plot.lua", "", files = { "plot_lines.svg", "plot_raster.svg", "plot_heatmap.svg", "plot_scatter.svg" },
    check = function(r, out)
      -- Each figure is a whole SVG document, and the raster has marks
      -- (one path per spike, merged only when they share a half pixel).
      for _, k in ipairs { "lines", "raster", "heatmap", "scatter" } do
        local f = io.open(out .. "/plot_" .. k .. ".svg")
        local svg = f and f:read("*a") or ""
        if f then f:close() end
        if not (svg:find("^<svg") or svg:find("^<%?xml")) or not svg:find("</svg>%s*$") then
          return false, "plot_" .. k .. ".svg is a whole SVG document"
        end
      end
      return num(r, "raster_spikes") > 100, "four whole SVG documents, a raster of more than 100 spikes"
    end },
  { "examples/reservoir/mackey_glass.lua", "", files = { "mg_onestep.svg", "mg_closed_loop.svg" },
    check = function(r) return num(r, "nrmse_onestep") < 2e-3, "one-step NRMSE < 2e-3" end },
  { "examples/reservoir/narma10.lua", "", files = { "narma10.svg" },
    check = function(r) return num(r, "nrmse") < 0.45, "NARMA-10 NRMSE < 0.45" end },
  { "examples/reservoir/memory_capacity.lua", "", files = { "memory_capacity.svg" },
    check = function(r)
      local l, t = num(r, "mc_linear"), num(r, "mc_tanh")
      return l >= 97 and l <= 100 and t < l, "linear MC in [97, 100], tanh below it"
    end },
  { "examples/reservoir/cuba_raster.lua", "", files = { "cuba_raster.svg", "data.npz" },
    check = function(r) local x = num(r, "rate") return x >= 5 and x <= 6, "CUBA rate in [5, 6] Hz" end },
  -- quick=true: 125-neuron liquids, 300 training / 200 test digits (well
  -- under a second); chance is 0.1, a silent or saturated liquid gives it.
  { "examples/reservoir/nalsm_digits.lua", "quick=true",
    check = function(r)
      local ok = true
      for _, k in ipairs { "nalsm", "lsm_stdp", "lsm", "pixels" } do ok = ok and num(r, k) > 0.6 end
      return ok, "quick digits: NALSM, LSM + STDP, LSM and pixel readouts all above 0.6 (chance 0.1)"
    end },
}
tap.plan(3 * #cases)

local tmp = os.tmpname()
os.remove(tmp)
for i, c in ipairs(cases) do
  local out = tmp .. "/" .. i
  local text, st = tap.sh(lamina .. " run " .. c[1] .. " " .. c[2] .. " --out " .. out)
  tap.is(st, 0, c[1] .. " runs")
  if st ~= 0 then tap.diag(text) end
  local f = io.open(out .. "/result.json")
  local res = f and f:read("*a") or ""
  if f then f:close() end
  local nz, bad = 0, {}
  for k, v in res:gmatch('"(z[%w_]*)":%s*([-%d.e+]+)') do
    nz = nz + 1
    if math.abs(tonumber(v)) >= 4 then bad[#bad + 1] = k .. " = " .. v end
  end
  if c.check then
    local ok, good, what = pcall(c.check, res, out)
    tap.ok(ok and good, c[1] .. ": " .. tostring(ok and what or good) .. " (" .. res:gsub("%s+", "") .. ")")
  else
    tap.ok(nz == (c.zs or 0) and #bad == 0, c[1] .. ": " .. nz .. " z-scores in result.json, all |z| < 4 " ..
           (#bad > 0 and "(" .. table.concat(bad, ", ") .. ")" or ""))
  end
  local missing = {}
  local want = { "run.json", unpack(c.files or {}) }
  for _, name in ipairs(want) do
    local h = io.open(out .. "/" .. name)
    if h then h:close() else missing[#missing + 1] = name end
  end
  tap.ok(#missing == 0, c[1] .. ": run directory holds run.json and " ..
         (#(c.files or {}) > 0 and table.concat(c.files, ", ") or "nothing else promised") ..
         (#missing > 0 and " (missing: " .. table.concat(missing, ", ") .. ")" or ""))
end
os.execute("rm -rf " .. tmp)
tap.done()
