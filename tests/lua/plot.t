#!/usr/bin/env luajit
-- lam.plot: SVG structure (parsed as XML by /usr/bin/python3), tick values
-- from the 1-2-5 rule, escaping, NaN breaks, decimation keeping the
-- envelope, determinism, errors, the embedded PNG decoded back, and one
-- headless-Chromium rendering of every kind checked for non-blank pixels.
local tap = require "tap"
local lam = require "lamina"
local plot = lam.plot
tap.plan(65)

local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p " .. tmp)

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Python side: parses an SVG with xml.etree and prints facts about it, or
-- decodes a PNG (any filter, colour types 2, 3, 6) and prints statistics of
-- a region.  Only the standard library: python3 is in install-deps.
local PY = [[
import sys, zlib, struct, base64, re
import xml.etree.ElementTree as ET
NS = '{http://www.w3.org/2000/svg}'

def png_decode(data):
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat, plte = 8, b'', None
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        elif kind == b'PLTE':
            plte = body
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    assert depth == 8, 'bit depth %d' % depth
    bpp = {2: 3, 3: 1, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, ctype, bpp, rows

cmd = sys.argv[1]
if cmd == 'svg':
    root = ET.parse(sys.argv[2]).getroot()
    def cls(c): return [e for e in root.iter() if e.get('class') == c]
    print('root', root.tag == NS + 'svg')
    print('series', len(cls('series')))
    print('legend', len(cls('legend-entry')))
    print('legendtext', '|'.join(e.find(NS + 'text').text for e in cls('legend-entry')))
    print('xtick', '|'.join(e.text for e in cls('xtick')))
    print('ytick', '|'.join(e.text for e in cls('ytick')))
    t = cls('title')
    print('title', t[0].text if t else '')
    print('circles', sum(len(list(g.iter(NS + 'circle'))) for g in cls('points')))
    print('rects', sum(len(list(g.iter(NS + 'rect'))) for g in cls('heatmap')))
    print('colorbar', len(cls('colorbar')))
    for e in cls('series'):
        d = e.get('d')
        ys = [float(v) for v in re.findall(r'[-\d.]+ ([-\d.]+)', d)]
        print('path', e.get('data-name'), d.count('M'), len(ys), min(ys), max(ys))
    for e in root.iter(NS + 'image'):
        href = e.get('{http://www.w3.org/1999/xlink}href')
        w, h, ctype, bpp, rows = png_decode(base64.b64decode(href.split(',', 1)[1]))
        print('image', w, h, ctype, rows[0][0], rows[0][w - 1], rows[h - 1][0], rows[h - 1][w - 1])
elif cmd == 'png':
    # Regions given as x0:y0:x1:y1:hex,hex,...; the image is decoded once.
    w, h, ctype, bpp, rows = png_decode(open(sys.argv[2], 'rb').read())
    for k, spec in enumerate(sys.argv[3:]):
        parts = spec.split(':')
        x0, y0, x1, y1 = map(int, parts[:4])
        want = [c for c in parts[4].split(',') if c]
        bg = rows[y0][x0 * bpp:x0 * bpp + 3]
        ink, colours, total = 0, set(), 0
        for y in range(y0, y1, 2):
            r = rows[y]
            for x in range(x0, x1, 2):
                px = r[x * bpp:x * bpp + 3]
                colours.add(px)
                total += 1
                if px != bg: ink += 1
        def near(c):
            t = bytes.fromhex(c)
            return any(sum(abs(p[i] - t[i]) for i in range(3)) < 40 for p in colours)
        print('region%d %.4f %d %s' % (k + 1, ink / total, len(colours), ' '.join(c for c in want if not near(c)) or '-'))
]]
local pyfile = tmp .. "/check.py"
write(pyfile, PY)

-- Facts about an SVG file (or the PNG region) from the Python checker.
local function facts(...)
  local args = { ... }
  local p = io.popen("/usr/bin/python3 " .. pyfile .. " " .. table.concat(args, " ") .. " 2>&1")
  local out = p:read("*a")
  p:close()
  local f = { raw = out, paths = {}, images = {} }
  for line in out:gmatch("[^\n]+") do
    local k, v = line:match("^(%S+) ?(.*)$")
    if k == "path" then f.paths[#f.paths + 1] = v
    elseif k == "image" then f.images[#f.images + 1] = v
    else f[k] = v end
  end
  return f
end
local function svgfacts(fig, name)
  local path = tmp .. "/" .. name .. ".svg"
  fig:save(path)
  return facts("svg", path)
end

-- Lines: array-form series keep their order, named ones are sorted.
local n = 200
local a, b, c = {}, {}, {}
for i = 1, n do a[i] = math.sin(i / 10); b[i] = math.cos(i / 10); c[i] = 0.5 * math.sin(i / 7) end
local fl = plot.lines { zeta = c, alpha = a, mid = b, title = 'a<b & "c" @ID@', xlabel = "t", ylabel = "x" }
local F = svgfacts(fl, "lines")
tap.is(F.root, "True", "lines: well-formed XML with an <svg> root")
tap.is(F.series, "3", "lines: three series paths")
tap.is(F.legend, "3", "lines: three legend entries")
tap.is(F.legendtext, "alpha|mid|zeta", "lines: named series sorted alphabetically in the legend")
tap.is(F.title, 'a<b & "c" @ID@', "lines: the title survives XML escaping intact")
local fa = plot.lines { { name = "z<1", y = c }, { name = "a", y = a } }
local Fa = svgfacts(fa, "lines_array")
tap.is(Fa.legendtext, "z<1|a", "lines: array-form series keep their given order; names escaped")
tap.is(Fa.legend, "2", "lines: two legend entries for two series")
local single = svgfacts(plot.lines { y = a }, "single")
tap.is(single.legend, "0", "lines: no legend for a single series by default")

-- Ticks by the 1-2-5 rule.  With width 640 the x axis is about 580 px, room
-- for floor(580 / 50) = 11 intervals: 100 / 11 = 9.1 rounds up to a step of
-- 10.  The y axis (400 - 14 - 32 = 354 px) allows 7: 1 / 7 = 0.14 -> 0.2.
local ft = plot.lines { y = { 0, 1 }, x = { 0, 100 }, xlim = { 0, 100 }, ylim = { 0, 1 } }
local T = svgfacts(ft, "ticks")
tap.is(T.xtick, "0|10|20|30|40|50|60|70|80|90|100", "ticks: x in [0, 100] every 10")
tap.is(T.ytick, "0.0|0.2|0.4|0.6|0.8|1.0", "ticks: y in [0, 1] every 0.2, one decimal")
local T2 = svgfacts(plot.lines { y = { -3, 7 }, ylim = { -3, 7 } }, "ticks2")
-- 10 / 7 = 1.43 -> step 2: the multiples of 2 inside [-3, 7].
tap.is(T2.ytick, "-2|0|2|4|6", "ticks: y in [-3, 7] every 2 (multiples of the step only)")
local T3 = svgfacts(plot.lines { y = { 1, 1000 }, logy = true, ylim = { 1, 1000 } }, "ticks3")
tap.is(T3.ytick, "1|10|100|1000", "ticks: log axis over three decades, one tick per decade")
local T4 = svgfacts(plot.lines { y = { 1, 100 }, logy = true, ylim = { 1, 100 } }, "ticks4")
tap.is(T4.ytick, "1|2|5|10|20|50|100", "ticks: log axis over two decades adds 2 and 5")

-- NaN and Inf break a line into subpaths; they never reach the file.
local gap = plot.lines { y = { 1, 2, 0 / 0, 3, 4, math.huge, 5, 6 } }
local G = svgfacts(gap, "gap")
tap.like(G.paths[1] or "", " 3 ", "NaN/Inf: the series has three subpaths (M commands)")
local gd = gap:svg():match('class="series".- d="([^"]*)"')
tap.ok(gd and gd:match("^[MLh0-9. -]+$"), "NaN/Inf: the path holds only commands and finite numbers: " .. tostring(gd))

-- A constant series gets a range around its value, no division by zero.
local K = svgfacts(plot.lines { y = { 2, 2, 2, 2 } }, "const")
tap.is(K.root, "True", "constant series: well-formed")
tap.is(K.ytick, "1.8|1.9|2.0|2.1|2.2", "constant series: y range 2 +- 10 %, padded by 5 %, ticks every 0.1")

-- Decimation: 10^6 points (a sine plus a deterministic sawtooth "noise"
-- with one spike up and one down) give at most 4 points per pixel column,
-- and the drawn envelope still reaches the data's minimum and maximum.
local N = 1000000
local big = lam.buf.new(N)
local p = big:ptr()
for i = 0, N - 1 do p[i] = math.sin(i * 2e-5) + 0.1 * ((i * 7919) % 101) / 101 end
p[123457] = 3.5
p[876543] = -2.25
local fb = plot.lines { y = big, title = "big" }
local B = svgfacts(fb, "big")
local cnt, npts, ymin, ymax = (B.paths[1] or ""):match("^%S+ (%d+) (%d+) (%S+) (%S+)")
local pw = fb.ax.p1 - fb.ax.p0
tap.ok(tonumber(npts) and tonumber(npts) <= 4 * (math.ceil(pw) + 1), "decimation: " .. tostring(npts) ..
       " points for 10^6 samples, at most 4 per pixel column (" .. math.ceil(pw) + 1 .. " columns)")
tap.ok(#fb:svg() < 100000, "decimation: file of " .. #fb:svg() .. " bytes < 100 kB")
local _, top = fb:map(1, 3.5)
local _, bottom = fb:map(1, -2.25)
-- Pixel coordinates are written with two decimals: tolerance 0.005 px.
tap.near(tonumber(ymin) or 0 / 0, top, 0.005, "decimation: the highest drawn point is the data maximum 3.5")
tap.near(tonumber(ymax) or 0 / 0, bottom, 0.005, "decimation: the lowest drawn point is the data minimum -2.25")
tap.is(cnt, "1", "decimation: one unbroken path")

-- Determinism: same input, byte-identical output; key insertion order of
-- the named series does not matter.
local t1 = { b = b, a = a }
local t2 = {}
t2.a = a
t2.b = b
tap.ok(plot.lines(t1):svg() == plot.lines(t2):svg(), "determinism: same series in another key order give the same bytes")
tap.ok(plot.lines { y = big, title = "big" }:svg() == fb:svg(), "determinism: 10^6 points, same bytes twice")

-- Clip-path ids come from the content: two different figures can be
-- inlined into one HTML page without sharing an id.
local id1, id2 = fl:svg():match('clipPath id="([^"]+)"'), plot.lines { y = a }:svg():match('clipPath id="([^"]+)"')
tap.ok(id1 and id2 and id1 ~= id2, "ids: different figures get different clip-path ids (" .. tostring(id1) .. ", " .. tostring(id2) .. ")")

-- Raster from a recorder-like object (events() -> ticks, index).
local ticks = lam.buf.from({ 10, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95 }, "i64")
local index = lam.buf.from({ 0, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4 }, "i64")
local rec = { ticks = function() return ticks end, data = function() return index end,
              events = function() return ticks, index end, sim = { dt = 0.1 } }
local fr = plot.raster(rec, { title = "spikes" })
local R = svgfacts(fr, "raster")
tap.is(R.root, "True", "raster: well-formed")
tap.is(fr.marks, 10, "raster: 11 spikes, the duplicate (tick 10, neuron 0) drawn once")
tap.is(R.ytick, "0|1|2|3|4", "raster: neuron ticks 0..4")
local px = fr:map(9.5, 0)
tap.near(px, fr.ax.p1, 1e-9, "raster: dt from the recorder's sim: tick 95 is at 9.5 ms, the right edge")
local fr2 = plot.raster { ticks = { 1, 2, 3 }, index = { 5, 6, 7 }, dt = 0.5 }
tap.is(fr2.marks, 3, "raster: table form ticks/index/dt")
-- A dense recording [samples, channels] of spike counts: 5 nonzero entries.
local counts = lam.buf.from({ { 0, 1, 0 }, { 2, 0, 0 }, { 0, 0, 0 }, { 1, 1, 1 } }, "i32")
local dense = { ticks = function() return lam.buf.from({ 0, 1, 2, 3 }, "i64") end,
                data = function() return counts end, is_spikes = function() return false end,
                sim = { dt = 1 } }
local fr3 = plot.raster { dense, n = 3 }
tap.is(fr3.spikes .. " " .. fr3.marks, "5 5", "raster: a dense count recording gives one event per nonzero entry")

-- Heatmap, small: one rect per finite cell.
local m = {}
for i = 1, 6 do m[i] = {} for j = 1, 8 do m[i][j] = i * 10 + j end end
m[2][3] = 0 / 0
local fh = plot.heatmap { data = m, clabel = "w" }
local H = svgfacts(fh, "heat_small")
tap.is(H.rects, "47", "heatmap (rects): 48 cells, the NaN one left out")
tap.is(H.colorbar, "1", "heatmap: a colour bar")
tap.is(fh.vmin .. " " .. fh.vmax, "11 68", "heatmap: vmin/vmax default to the finite data range")

-- Heatmap, large: an embedded indexed PNG.  data[i][j] = j / 299 runs from
-- vmin 0 to vmax 1 along each row: the decoded first column holds palette
-- index 0 and the last index 254 (255 is NaN, transparent).
local M2 = lam.buf.new({ 100, 300 })
local q = M2:ptr()
for i = 0, 99 do for j = 0, 299 do q[i * 300 + j] = j / 299 end end
q[99 * 300] = 0 / 0
local fp = plot.heatmap { data = M2, cmap = "magma" }
local P = svgfacts(fp, "heat_png")
tap.is(fp.image, "png", "heatmap: 30000 cells go into a PNG")
tap.is(P.images[1], "300 100 3 0 254 255 254",
       "heatmap PNG decodes: 300 x 100 indexed, corners 0, 254, NaN (255), 254")
tap.ok(#fp:svg() < 20000, "heatmap PNG: " .. #fp:svg() .. " bytes for 30000 cells")
local fo = plot.heatmap { data = M2, origin = "lower", image = "png" }
local O = svgfacts(fo, "heat_lower")
tap.is(O.images[1], "300 100 3 255 254 0 254", "heatmap origin=lower: the last row is drawn on top")
-- A matrix much larger than the plot is averaged over blocks.
local M3 = lam.buf.new({ 2000, 10 })
local fbm = plot.heatmap { data = M3:fill(1) }
tap.ok(fbm.cells[1] < 2000 and fbm.cells[1] >= 500, "heatmap: 2000 rows averaged to " .. fbm.cells[1] ..
       " (at most two per pixel row)")

-- Scatter.
local x, y, cv = {}, {}, {}
for i = 1, 50 do x[i] = i; y[i] = (i * 37) % 50; cv[i] = i / 50 end
x[7] = 0 / 0
local fs = plot.scatter { x = x, y = y, c = cv, clabel = "c" }
local S = svgfacts(fs, "scatter")
tap.is(S.circles, "49", "scatter: one circle per point with finite coordinates (50 - 1 NaN)")
tap.is(S.colorbar, "1", "scatter: c values get a colour bar")
local fs2 = plot.scatter { { name = "one", x = { 1, 2, 2 }, y = { 1, 2, 2 } }, { name = "two", x = { 3 }, y = { 1 }, size = 5 } }
local S2 = svgfacts(fs2, "scatter2")
tap.is(S2.circles, "3", "scatter: an exactly repeated point is drawn once")
tap.is(S2.legend, "2", "scatter: two groups, two legend entries")

-- Errors: one line naming the argument.
tap.raises(function() plot.lines { truth = a, x = { 1, 2, 3 } } end,
           "lam.plot.lines: series 'truth' has 200 points but x has 3", "error: x length")
tap.raises(function() plot.lines { truth = a, titel = "x" } end, "'titel' is neither an option nor a series",
           "error: a misspelt option")
tap.raises(function() plot.lines { y = { 1, "2" } } end, "series 'y'[2] is a string, expected a number",
           "error: a non-number in a series")
tap.raises(function() plot.lines { y = { 0 / 0, 0 / 0 } } end, "no finite values to plot", "error: all NaN")
tap.raises(function() plot.lines { y = { 1, 2 }, ylim = { 2, 1 } } end, "ylim: expected { lo, hi }", "error: ylim reversed")
tap.raises(function() plot.lines { y = lam.buf.new({ 2, 2, 2 }) } end, "expected a 1-d buffer, got shape [2, 2, 2]",
           "error: a 3-d buffer as a series")
tap.raises(function() plot.heatmap { data = M2, cmap = "jet" } end, "cmap = jet: unknown colour map",
           "error: unknown colour map")
tap.raises(function() plot.heatmap { data = { { 1, 2 }, { 3 } } } end, "data[2]: expected a row of 2 numbers",
           "error: ragged heatmap rows")
tap.raises(function() plot.heatmap { data = a } end, "data[1] is a number", "error: heatmap of a 1-d table")
tap.raises(function() plot.heatmap { data = M2, vmin = 1, vmax = 0 } end, "expected vmin < vmax", "error: vmin >= vmax")
tap.raises(function() plot.raster { ticks = { 1, 2 }, index = { 0, -1 } } end,
           "lam.plot.raster: index[2] = -1: expected an integer >= 0", "error: negative neuron index")
tap.raises(function() plot.raster { ticks = { 1, 2 }, index = { 0 } } end, "ticks has 2 entries but index has 1",
           "error: raster lengths")
tap.raises(function() plot.scatter { x = { 1, 2 }, y = { 1 } } end, "y has 1 points but x has 2", "error: scatter lengths")
tap.raises(function() plot.scatter { x = { 1 }, y = { 1 }, size = -1 } end, "size = -1", "error: negative size")
tap.raises(function() plot.lines { y = a, width = 10 } end, "width = 10: expected a number >= 160", "error: width too small")
tap.raises(function() fl:save(tmp .. "/no/such/dir/x.svg") end, "directory '" .. tmp .. "/no/such/dir' does not exist",
           "error: saving into a missing directory")

-- save(): relative names go into the run directory; files are overwritten.
local context = require "lamina.context"
local old = context.out
context.out = tmp
fl:save("rel.svg")
fs:save("rel.svg")
context.out = old
local f = io.open(tmp .. "/rel.svg")
local text = f and f:read("*a") or ""
if f then f:close() end
tap.is(text, fs:svg(), "save: a relative name lands in the run directory and replaces the old file")

-- Rendering: all four kinds on one page, one Chromium start (about 2 s).
-- A region counts as rendered when over 3 % of its sampled pixels differ
-- from its corner (the white background) and it has many distinct colours;
-- the series colours must appear in the line plot.
local kinds = {
  { "lines", 0, 0, { "0072b2", "e69f00", "009e73" } },
  { "raster", 640, 0, { "000000" } },
  { "heat_png", 0, 400, { "000004", "fcfdbf" } },
  { "scatter", 640, 400, {} },
}
local html = { '<!DOCTYPE html><html><body style="margin:0;background:#fff">' }
for _, k in ipairs(kinds) do
  html[#html + 1] = string.format('<img src="%s.svg" style="position:absolute;left:%dpx;top:%dpx;width:640px;height:400px">',
                                  k[1], k[2], k[3])
end
html[#html + 1] = "</body></html>"
write(tmp .. "/all.html", table.concat(html, "\n"))
local chromium
for _, c in ipairs { "chromium", "chromium-browser", "google-chrome" } do
  if os.execute("command -v " .. c .. " >/dev/null 2>&1") == 0 then chromium = c break end
end
if not chromium then
  for _ = 1, 5 do
    tap.ok(false, "render: chromium not found; install Debian's 'chromium' package (scripts/install-deps installs it)")
  end
else
  -- timeout: a hung browser must fail the test, not stall the suite.
  local out = tap.sh("timeout 120 " .. chromium .. " --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=" .. tmp ..
                     "/profile --window-size=1280,800 --screenshot=" .. tmp .. "/all.png file://" .. tmp .. "/all.html")
  local shot = io.open(tmp .. "/all.png", "rb")
  tap.ok(shot ~= nil, "render: Chromium wrote a screenshot")
  if shot then shot:close() else tap.diag(out) end
  local specs = {}
  for i, k in ipairs(kinds) do
    specs[i] = string.format("%d:%d:%d:%d:%s", k[2], k[3], k[2] + 639, k[3] + 399, table.concat(k[4], ","))
  end
  local r = facts("png", tmp .. "/all.png", table.concat(specs, " "))
  for i, k in ipairs(kinds) do
    local frac, ncol, missing = (r["region" .. i] or ""):match("^(%S+) (%S+) (.*)$")
    local good = tonumber(frac) and tonumber(frac) > 0.03 and tonumber(ncol) >= 20 and missing == "-"
    tap.ok(good, "render " .. k[1] .. ": " .. tostring(frac) .. " of pixels inked, " .. tostring(ncol) ..
           " colours, expected colours missing: " .. tostring(missing))
    if not good then tap.diag(r.raw) end
  end
end

os.execute("rm -rf " .. tmp)
tap.done()
