-- plot.lua: one figure of each kind lam.plot makes, from real data.
--
--   lines    the Lorenz-63 attractor's x, y, z against time (three series,
--            legend, axis labels);
--   raster   1 s of 40 Poisson spike trains (stim.poisson) whose rate
--            rises across the channels, recorded densely (spike counts per
--            step): every nonzero count is a mark;
--   heatmap  a Hovmoeller diagram of Lorenz-96 (time down, site across),
--            7200 cells embedded as one PNG, with a colour bar;
--   scatter  the Lorenz-63 butterfly: x against z, coloured by y.
--
--   lamina run examples/plot.lua                 (files in the run directory)
--   lamina run examples/plot.lua render=true     (also a PNG of each, by Chromium)
--
-- docs/img/plot_*.svg and .png were made with
--   lamina run examples/plot.lua render=true --out /tmp/p && cp /tmp/p/plot_*.* docs/img/
local lam = require "lamina"

local p = lam.params { render = false, seconds = 1, seed = 1 }

-- Lorenz-63, 2000 samples 0.01 apart (20 time units) after a transient
-- of 20 time units.
local n, dt = 2000, 0.01
local l63 = lam.data.lorenz63 { n = n, dt = dt, discard = 2000 }
local t = lam.buf.range(n):scale(dt)
lam.plot.lines {
  { name = "x", y = l63:col(1) }, { name = "y", y = l63:col(2) }, { name = "z", y = l63:col(3) },
  x = t, title = "Lorenz-63", xlabel = "time", ylabel = "state",
}:save("plot_lines.svg")

-- Poisson spike trains: channel k fires at 2 + k Hz.
local channels = 40
local sim = lam.sim { dt = 0.1, seed = p.seed }
sim:add("poisson", "stim.poisson", { channels = channels })
local rates = lam.buf.new(channels)
for k = 1, channels do rates:set(2 + k, k) end
sim:set("poisson.rate", rates)
local spikes = sim:record("poisson.spikes", { save = false })
sim:run(p.seconds * 1000)
local fig = lam.plot.raster(spikes, { title = "Poisson trains, 2 + k Hz", width = 640, height = 320 })
fig:save("plot_raster.svg")

-- Lorenz-96 (36 sites, F = 8): rows are samples 0.05 apart, after a
-- transient of 10 time units.
local l96 = lam.data.lorenz96 { n = 200, dt = 0.05, discard = 200 }
lam.plot.heatmap {
  data = l96, cmap = "RdBu_r", colorbar = true, clabel = "x",
  extent = { 0.5, 36.5, 0, 200 * 0.05 }, title = "Lorenz-96", xlabel = "site", ylabel = "time",
}:save("plot_heatmap.svg")

-- Every other sample (1000 points) keeps the file small.
local half = l63:slice(1, n, 2)
lam.plot.scatter {
  x = half:col(1), y = half:col(3), c = half:col(2), size = 2.5, clabel = "y",
  title = "Lorenz-63: x against z", xlabel = "x", ylabel = "z",
}:save("plot_scatter.svg")

local files = { "plot_lines", "plot_raster", "plot_heatmap", "plot_scatter" }
if p.render then
  -- Chromium (Debian's `chromium` package) renders each SVG as a browser
  -- would; the PNG is what docs/plot.md shows.
  for _, f in ipairs(files) do
    local svg = lam.output(f .. ".svg")
    local abs = svg:sub(1, 1) == "/" and svg or (os.getenv("PWD") .. "/" .. svg)
    local w, h = io.open(svg):read("*a"):match('width="(%d+)" height="(%d+)"')
    local cmd = string.format("chromium --headless --no-sandbox --disable-gpu --hide-scrollbars " ..
                              "--window-size=%s,%s --screenshot=%s file://%s >/dev/null 2>&1",
                              w, h, lam.output(f .. ".png"), abs)
    if os.execute(cmd) ~= 0 then error("render: '" .. cmd .. "' failed (is Debian's chromium installed?)") end
  end
end
print("wrote " .. table.concat(files, ".svg, ") .. ".svg" .. (p.render and " and their PNGs" or "") ..
      " (" .. fig.marks .. " raster marks for " .. fig.spikes .. " spikes)")
return { raster_spikes = fig.spikes }
