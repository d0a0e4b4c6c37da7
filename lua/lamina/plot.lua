-- lamina.plot: SVG figures written from Lua with no external program.
--
--   lam.plot.lines{ truth = y1, prediction = y2, xlabel = "t (ms)" }:save("mg.svg")
--   lam.plot.raster(rec, { title = "spikes" }):save("raster.svg")
--   lam.plot.heatmap{ data = w, cmap = "viridis", colorbar = true }:save("w.svg")
--   lam.plot.scatter{ x = a, y = b, c = v }:save("s.svg")
--
-- Every function checks its options, builds the whole SVG document at once
-- and returns a Figure: fig:svg() is the text, fig:save(path) writes it
-- (relative paths go into the run directory), fig:map(x, y) gives the pixel
-- position of a data point.  The output is a pure function of the input:
-- numbers are written with a fixed precision and series keep a fixed order,
-- so the same call gives a byte-identical file.  See docs/plot.md.
local core = require "lamina.core"
local bufm = require "lamina.buf"
local context = require "lamina.context"
local png = require "lamina.plot.png"
local ffi = core.ffi

local M = {}

local inf = math.huge
local floor, max, min, abs = math.floor, math.max, math.min, math.abs
local fmt = string.format

local function fail(fn, msg) core.fail("lam.plot." .. fn .. ": " .. msg) end
local function finite(v) return v == v and v ~= inf and v ~= -inf end

-- Pixel coordinates: two decimals (a hundredth of a pixel is far below what
-- a screen shows) with trailing zeros dropped, so files stay small and the
-- text does not depend on the platform's printf beyond "%.2f".
local function num(v)
  local s = fmt("%.2f", v)
  s = s:gsub("0+$", ""):gsub("%.$", "")
  if s == "-0" then s = "0" end
  return s
end

-- XML text and attribute escaping.  Control characters other than tab and
-- newline are not allowed in XML 1.0 at all, so they become spaces.
-- "@" is written as a character reference so that no user text can look
-- like the "@ID@" placeholder that document() fills in.
local xml_esc = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;", ["@"] = "&#64;" }
local function esc(s)
  s = tostring(s):gsub("[%z\1-\8\11\12\14-\31]", " ")
  return (s:gsub("[&<>\"'@]", xml_esc))
end

---------------------------------------------------------------------------
-- Colours

-- Okabe & Ito (2008), "Color Universal Design": distinguishable under the
-- common colour-vision deficiencies.  Yellow comes last: it is faint on white.
local palette = { "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442" }
M.palette = palette

-- Colour maps as evenly spaced anchors, interpolated linearly: viridis and
-- magma (matplotlib, perceptually uniform, colour-blind safe) sampled at
-- 11 points, gray, and ColorBrewer's diverging RdBu (red = low, as in
-- matplotlib; RdBu_r reversed).
local cmaps = {
  viridis = { "440154", "482475", "414487", "355f8d", "2a788e", "21918c", "22a884", "44bf70", "7ad151", "bddf26", "fde725" },
  magma = { "000004", "140e36", "3b0f70", "641a80", "8c2981", "b73779", "de4968", "f7705c", "fe9f6d", "fecf92", "fcfdbf" },
  gray = { "000000", "ffffff" },
  RdBu = { "67001f", "b2182b", "d6604d", "f4a582", "fddbc7", "f7f7f7", "d1e5f0", "92c5de", "4393c3", "2166ac", "053061" },
}
do
  local r = {}
  for i = #cmaps.RdBu, 1, -1 do r[#r + 1] = cmaps.RdBu[i] end
  cmaps.RdBu_r = r
  for name, hex in pairs(cmaps) do
    local t = {}
    for i, h in ipairs(hex) do
      t[i] = { tonumber(h:sub(1, 2), 16), tonumber(h:sub(3, 4), 16), tonumber(h:sub(5, 6), 16) }
    end
    cmaps[name] = t
  end
end
local cmap_names = {}
for k in pairs(cmaps) do cmap_names[#cmap_names + 1] = k end
table.sort(cmap_names)
M.cmaps = cmap_names

-- The colour of t in [0, 1] under map `cm`, as r, g, b integers.
local function cmap_rgb(cm, t)
  local m = #cm - 1
  local u = t * m
  local k = min(floor(u), m - 1)
  local f = u - k
  local a, b = cm[k + 1], cm[k + 2]
  return floor(a[1] + (b[1] - a[1]) * f + 0.5), floor(a[2] + (b[2] - a[2]) * f + 0.5),
         floor(a[3] + (b[3] - a[3]) * f + 0.5)
end
local function hex(r, g, b) return fmt("#%02x%02x%02x", r, g, b) end

local function get_cmap(fn, name)
  name = name or "viridis"
  local cm = cmaps[name]
  if not cm then
    fail(fn, "cmap = " .. tostring(name) .. ": unknown colour map (valid: " .. table.concat(cmap_names, ", ") .. ")")
  end
  return cm
end

---------------------------------------------------------------------------
-- Inputs

-- A numeric vector { n = count, p = double* (0-based), keep = owner } from
-- a 1-d buffer (or [n, 1]) or a Lua array of numbers.
local function vector(fn, what, v)
  if bufm.is(v) then
    local s = v:shape()
    if #s == 1 or (#s == 2 and s[2] == 1) then
      local c = v:copy("f64")
      return { n = c:size(), p = c:ptr(), keep = c }
    end
    fail(fn, what .. ": expected a 1-d buffer, got shape [" .. table.concat(s, ", ") .. "]")
  elseif type(v) == "table" then
    local n = #v
    local p = ffi.new("double[?]", max(n, 1))
    for i = 1, n do
      local x = v[i]
      if type(x) ~= "number" then fail(fn, what .. "[" .. i .. "] is a " .. type(x) .. ", expected a number") end
      p[i - 1] = x
    end
    return { n = n, p = p, keep = p }
  end
  fail(fn, what .. ": expected a buffer or a table of numbers, got " .. type(v))
end

-- A 2-d matrix { rows, cols, p = double* row-major } from a 2-d buffer or a
-- table of equally long rows.
local function matrix(fn, what, v)
  if bufm.is(v) then
    local s = v:shape()
    if #s ~= 2 then fail(fn, what .. ": expected a 2-d buffer, got shape [" .. table.concat(s, ", ") .. "]") end
    local c = v:copy("f64")
    return { rows = s[1], cols = s[2], p = c:ptr(), keep = c }
  elseif type(v) == "table" then
    local rows = #v
    if type(v[1]) ~= "table" then
      fail(fn, what .. "[1] is a " .. type(v[1]) .. ", expected a row (a table of numbers)")
    end
    local cols = #v[1]
    local p = ffi.new("double[?]", max(rows * cols, 1))
    for i = 1, rows do
      local r = v[i]
      if type(r) ~= "table" or #r ~= cols then
        fail(fn, what .. "[" .. i .. "]: expected a row of " .. cols .. " numbers (rows must have equal length)")
      end
      for j = 1, cols do
        local x = r[j]
        if type(x) ~= "number" then
          fail(fn, what .. "[" .. i .. "][" .. j .. "] is a " .. type(x) .. ", expected a number")
        end
        p[(i - 1) * cols + j - 1] = x
      end
    end
    return { rows = rows, cols = cols, p = p, keep = p }
  end
  fail(fn, what .. ": expected a 2-d buffer or a table of rows, got " .. type(v))
end

local function is_recorder(v)
  return type(v) == "table" and type(v.data) == "function" and type(v.ticks) == "function"
end

-- Checks the option keys of `o` against `valid` (a set).
local function check_keys(fn, o, valid)
  local names = {}
  for k in pairs(valid) do names[#names + 1] = k end
  table.sort(names)
  for k in pairs(o) do
    if type(k) ~= "number" and not valid[k] then
      fail(fn, "unknown option '" .. tostring(k) .. "' (valid: " .. table.concat(names, ", ") .. ")")
    end
  end
end

local function opt_number(fn, o, key, default, lo)
  local v = o[key]
  if v == nil then return default end
  if type(v) ~= "number" or not finite(v) or (lo and v < lo) then
    fail(fn, key .. " = " .. tostring(v) .. ": expected a number" .. (lo and (" >= " .. lo) or ""))
  end
  return v
end

local function opt_text(fn, o, key)
  local v = o[key]
  if v == nil or type(v) == "string" or type(v) == "number" then return v end
  fail(fn, key .. ": expected a string, got " .. type(v))
end

local function opt_lim(fn, o, key, log)
  local v = o[key]
  if v == nil then return nil end
  if type(v) ~= "table" or type(v[1]) ~= "number" or type(v[2]) ~= "number" or not finite(v[1])
     or not finite(v[2]) or not (v[1] < v[2]) or (log and v[1] <= 0) then
    fail(fn, key .. ": expected { lo, hi } with finite lo < hi" .. (log and " and lo > 0 (log axis)" or ""))
  end
  return v
end

---------------------------------------------------------------------------
-- Axes and ticks

-- Steps of 1, 2 or 5 times a power of ten: the smallest such step that
-- gives at most n intervals over `span`.
local function nice_step(span, n)
  local raw = span / max(n, 1)
  local mag = 10 ^ floor(math.log10(raw))
  for _, m in ipairs { 1, 2, 5, 10 } do
    if m * mag >= raw * (1 - 1e-9) then return m * mag end
  end
  return 10 * mag
end

-- Tick values of [lo, hi] on a linear axis about `px` pixels long (one
-- tick every 50 pixels or more), and their labels.
local function linear_ticks(lo, hi, px)
  local step = nice_step(hi - lo, max(2, floor(px / 50)))
  local t, labels = {}, {}
  local big = max(abs(lo), abs(hi))
  local dec = -floor(math.log10(step) + 1e-9)
  if dec < 1 then dec = 0 end   -- (max(0, -0) is -0, which "%.-0f" rejects)
  local sci = big >= 1e6 or step < 1e-4
  for k = math.ceil(lo / step - 1e-9), floor(hi / step + 1e-9) do
    local v = k * step
    if abs(v) < step * 1e-9 then v = 0 end
    t[#t + 1] = v
    local s = sci and fmt("%.3g", v):gsub("e%+?(%-?)0*(%d)", "e%1%2") or fmt("%." .. dec .. "f", v)
    if s:match("^%-0%.?0*$") then s = s:sub(2) end
    labels[#labels + 1] = s
  end
  return t, labels
end

-- Ticks on a log axis: every decade (every k-th when there are many), plus
-- 2 and 5 times each when the range spans two decades or less.
local function log_ticks(lo, hi)
  local a, b = floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
  local mults = (b - a <= 2) and { 1, 2, 5 } or { 1 }
  local every = max(1, math.ceil((b - a) / 8))
  local t, labels = {}, {}
  for e = a, b do
    if (e - a) % every == 0 then
      for _, m in ipairs(mults) do
        local v = m * 10 ^ e
        if v >= lo * (1 - 1e-9) and v <= hi * (1 + 1e-9) then
          t[#t + 1] = v
          labels[#labels + 1] = (e >= -4 and e <= 5) and fmt("%g", v) or fmt("%de%d", m, e)
        end
      end
    end
  end
  return t, labels
end

-- The data range of an axis: explicit limits, else the finite values' span
-- padded by `pad` (a fraction) on linear axes, by a decade fraction on log
-- axes.  A constant series gets a unit-wide (or 10 %) range around it.
local function data_range(lo, hi, lim, log, pad)
  if lim then return lim[1], lim[2] end
  if log then
    local a, b = math.log10(lo), math.log10(hi)
    if a == b then a, b = a - 0.5, b + 0.5 end
    local d = (b - a) * pad
    return 10 ^ (a - d), 10 ^ (b + d)
  end
  if lo == hi then
    local d = lo == 0 and 1 or abs(lo) * 0.1
    return lo - d, hi + d
  end
  local d = (hi - lo) * pad
  return lo - d, hi + d
end

-- An axis maps data values in [lo, hi] to pixels in [p0, p1] (p1 < p0 for
-- a y axis that grows upwards).
local function new_axis(lo, hi, log, p0, p1)
  local f = log and math.log10 or function(v) return v end
  local flo = f(lo)
  local scale = (p1 - p0) / (f(hi) - flo)
  local ax = { lo = lo, hi = hi, log = log, p0 = p0, p1 = p1 }
  if log then
    ax.map = function(v) return p0 + (math.log10(v) - flo) * scale end
  else
    ax.map = function(v) return p0 + (v - flo) * scale end
  end
  if log then ax.ticks, ax.labels = log_ticks(lo, hi)
  else ax.ticks, ax.labels = linear_ticks(lo, hi, abs(p1 - p0)) end
  return ax
end

local function text_width(s) return #tostring(s) * 7 end

---------------------------------------------------------------------------
-- SVG document

local Figure = {}
Figure.__index = Figure

-- fig:svg() -> the SVG document as a string.
function Figure:svg() return self._svg end

-- fig:save(path) -> fig.  Relative paths go into the run directory under
-- `lamina run` (lam.output); an existing file is replaced.
function Figure:save(path)
  if type(path) ~= "string" or path == "" then
    fail("save", "path: expected a non-empty file name, got " .. tostring(path))
  end
  local full = context.resolve(path)
  local f, err = io.open(full, "wb")
  if not f then
    local dir = full:match("^(.*)/[^/]*$")
    if dir and dir ~= "" and not io.open(dir .. "/.", "rb") then
      fail("save", "cannot write '" .. full .. "': directory '" .. dir .. "' does not exist")
    end
    fail("save", "cannot write '" .. full .. "': " .. tostring(err))
  end
  local ok, werr = f:write(self._svg)
  f:close()
  if not ok then fail("save", "writing '" .. full .. "': " .. tostring(werr)) end
  self.path = full
  return self
end

-- fig:map(x, y) -> px, py: where data point (x, y) lies in the SVG's pixel
-- coordinates (for annotations and tests).
function Figure:map(x, y) return self.ax.map(x), self.ay.map(y) end

-- The frame, grid, ticks, labels and title around the plot area; `data`
-- is the SVG of the plotted marks, drawn clipped to the area.
local function document(o, L, ax, ay, data, extra)
  local W, H = L.W, L.H
  local x0, x1, y0, y1 = L.x0, L.x1, L.y0, L.y1
  local s = {
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    fmt('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ' ..
        'width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">\n',
        W, H, W, H),
    fmt('<defs><clipPath id="@ID@-clip"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath></defs>\n',
        num(x0), num(y1), num(x1 - x0), num(y0 - y1)),
    '<rect width="100%" height="100%" fill="white"/>\n',
  }
  local function add(...) for i = 1, select("#", ...) do s[#s + 1] = select(i, ...) end end
  -- Grid lines under the data; tick marks point outwards.
  local grid, ticks, labels = {}, {}, {}
  for i, v in ipairs(ax.ticks) do
    local px = num(ax.map(v))
    grid[#grid + 1] = "M" .. px .. " " .. num(y0) .. "V" .. num(y1)
    ticks[#ticks + 1] = "M" .. px .. " " .. num(y0) .. "v5"
    labels[#labels + 1] = fmt('<text class="xtick" x="%s" y="%s" text-anchor="middle">%s</text>\n',
                              px, num(y0 + 18), esc(ax.labels[i]))
  end
  for i, v in ipairs(ay.ticks) do
    local py = num(ay.map(v))
    grid[#grid + 1] = "M" .. num(x0) .. " " .. py .. "H" .. num(x1)
    ticks[#ticks + 1] = "M" .. num(x0) .. " " .. py .. "h-5"
    labels[#labels + 1] = fmt('<text class="ytick" x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>\n',
                              num(x0 - 8), py, esc(ay.labels[i]))
  end
  if o.grid ~= false and #grid > 0 then
    add('<path class="grid" d="', table.concat(grid), '" stroke="#e6e6e6" stroke-width="1" fill="none"/>\n')
  end
  add('<g clip-path="url(#@ID@-clip)">\n', data, '</g>\n')
  add(fmt('<rect class="frame" x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#333333" stroke-width="1"/>\n',
          num(x0), num(y1), num(x1 - x0), num(y0 - y1)))
  if #ticks > 0 then add('<path class="ticks" d="', table.concat(ticks), '" stroke="#333333" stroke-width="1"/>\n') end
  add(table.concat(labels))
  if o.xlabel then
    add(fmt('<text class="xlabel" x="%s" y="%s" text-anchor="middle">%s</text>\n',
            num((x0 + x1) / 2), num(y0 + 38), esc(o.xlabel)))
  end
  if o.ylabel then
    local cx, cy = num(L.ylabel_x), num((y0 + y1) / 2)
    add(fmt('<text class="ylabel" x="%s" y="%s" text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>\n',
            cx, cy, cx, cy, esc(o.ylabel)))
  end
  if o.title then
    add(fmt('<text class="title" x="%s" y="20" text-anchor="middle" font-size="14" font-weight="bold">%s</text>\n',
            num((x0 + x1) / 2), esc(o.title)))
  end
  add(extra or "", "</svg>\n")
  -- Element ids (clip path, gradient) are named after a CRC of the document
  -- itself: unique enough that several figures inlined into one HTML page
  -- do not share ids, and still the same for the same input.
  local doc = table.concat(s)
  return (doc:gsub("@ID@", "lp" .. png.crc32hex(doc)))
end

-- Layout: the plot area inside a W x H figure, leaving room on the left for
-- the y tick labels (known once the y axis exists) and on the right for a
-- legend or colour bar of width `right`.
local function layout(fn, o, right)
  local W = opt_number(fn, o, "width", 640, 160)
  local H = opt_number(fn, o, "height", 400, 120)
  local L = { W = floor(W), H = floor(H) }
  L.y1 = o.title and 34 or 14
  L.y0 = L.H - (o.xlabel and 50 or 32)
  L.x1 = L.W - 16 - (right or 0)
  return L
end

-- Places the left edge once the y tick labels are known.
local function place_left(o, L, ay)
  local w = 0
  for _, s in ipairs(ay.labels) do w = max(w, text_width(s)) end
  L.ylabel_x = 14
  L.x0 = w + 14 + (o.ylabel and 22 or 4)
  if L.x1 - L.x0 < 40 then L.x1 = L.x0 + 40 end
end

-- Legend entries { name, color, dash, kind = "line" | "dot" } right of the
-- plot area.
local function legend_width(entries)
  local w = 0
  for _, e in ipairs(entries) do w = max(w, text_width(e.name)) end
  return w + 40
end
local function legend_svg(L, entries)
  local s = { '<g class="legend">\n' }
  local x = L.x1 + 12
  for i, e in ipairs(entries) do
    local y = L.y1 + 10 + (i - 1) * 18
    local mark
    if e.kind == "dot" then
      mark = fmt('<circle cx="%s" cy="%s" r="4" fill="%s"/>', num(x + 10), num(y), e.color)
    else
      mark = fmt('<path d="M%s %sh20" stroke="%s" stroke-width="2"%s/>', num(x), num(y), e.color,
                 e.dash and (' stroke-dasharray="' .. e.dash .. '"') or "")
    end
    s[#s + 1] = fmt('<g class="legend-entry">%s<text x="%s" y="%s" dominant-baseline="middle">%s</text></g>\n',
                    mark, num(x + 26), num(y), esc(e.name))
  end
  s[#s + 1] = "</g>\n"
  return table.concat(s)
end

-- A vertical colour bar right of the plot area for values in [vmin, vmax].
local COLORBAR_W = 76
local function colorbar_svg(L, cm, vmin, vmax, label)
  local x, w = L.x1 + 14, 14
  local stops = {}
  for i, c in ipairs(cm) do
    stops[#stops + 1] = fmt('<stop offset="%s" stop-color="%s"/>', num((i - 1) / (#cm - 1)), hex(c[1], c[2], c[3]))
  end
  local s = {
    '<g class="colorbar">\n',
    '<defs><linearGradient id="@ID@-cbar" x1="0" y1="1" x2="0" y2="0">', table.concat(stops), '</linearGradient></defs>\n',
    fmt('<rect x="%s" y="%s" width="%d" height="%s" fill="url(#@ID@-cbar)" stroke="#333333" stroke-width="1"/>\n',
        num(x), num(L.y1), w, num(L.y0 - L.y1)),
  }
  local cb = new_axis(vmin, vmax, false, L.y0, L.y1)
  local ticks, lw = {}, 0
  for i, v in ipairs(cb.ticks) do
    lw = max(lw, text_width(cb.labels[i]))
    local py = num(cb.map(v))
    ticks[#ticks + 1] = "M" .. num(x + w) .. " " .. py .. "h4"
    s[#s + 1] = fmt('<text class="ctick" x="%s" y="%s" dominant-baseline="middle">%s</text>\n',
                    num(x + w + 7), py, esc(cb.labels[i]))
  end
  if #ticks > 0 then s[#s + 1] = '<path d="' .. table.concat(ticks) .. '" stroke="#333333" stroke-width="1"/>\n' end
  if label then
    local cx, cy = num(x + w + 7 + lw + 12), num((L.y0 + L.y1) / 2)
    s[#s + 1] = fmt('<text class="clabel" x="%s" y="%s" text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>\n',
                    cx, cy, cx, cy, esc(label))
  end
  s[#s + 1] = "</g>\n"
  return table.concat(s)
end

-- Finite minimum and maximum of a vector (positive values only on a log
-- axis); nil when there are none.
local function extent(v, log, lo, hi)
  lo, hi = lo or inf, hi or -inf
  local p = v.p
  for i = 0, v.n - 1 do
    local x = p[i]
    if finite(x) and (not log or x > 0) then
      if x < lo then lo = x end
      if x > hi then hi = x end
    end
  end
  return lo, hi
end

local function make_axes(fn, o, L, xs_lo, xs_hi, ys_lo, ys_hi, xpad, ypad)
  if xs_lo > xs_hi or ys_lo > ys_hi then
    fail(fn, "no finite values to plot" .. ((o.logx or o.logy) and " (a log axis shows only values > 0)" or ""))
  end
  local ylo, yhi = data_range(ys_lo, ys_hi, o.ylim, o.logy, ypad)
  local ay = new_axis(ylo, yhi, o.logy, L.y0, L.y1)
  place_left(o, L, ay)
  local xlo, xhi = data_range(xs_lo, xs_hi, o.xlim, o.logx, xpad)
  local ax = new_axis(xlo, xhi, o.logx, L.x0, L.x1)
  return ax, ay
end

-- Axes over the finite x and y values of every item of `list` (series or
-- scatter groups, each with vectors .x and .y).
local function list_axes(fn, o, L, list, xpad, ypad)
  local xlo, xhi, ylo, yhi = inf, -inf, inf, -inf
  for _, s in ipairs(list) do
    xlo, xhi = extent(s.x, o.logx, xlo, xhi)
    ylo, yhi = extent(s.y, o.logy, ylo, yhi)
  end
  return make_axes(fn, o, L, xlo, xhi, ylo, yhi, xpad, ypad)
end

local function figure(kind, svg, ax, ay, extra)
  local f = setmetatable({ kind = kind, _svg = svg, ax = ax, ay = ay }, Figure)
  for k, v in pairs(extra or {}) do f[k] = v end
  return f
end

---------------------------------------------------------------------------
-- Line plots

-- The path of one series: subpaths of consecutive drawable points, broken
-- at NaN/Inf (and at values <= 0 on a log axis).  When `decimate` is set,
-- consecutive points falling into the same pixel column are reduced to the
-- first, lowest, highest and last of them (in their original order; the
-- "M4" reduction): the drawn envelope and the joins between columns are
-- the same as with every point, at most four points per column.
local function series_path(xv, yv, ax, ay, decimate)
  local xp, yp, n = xv.p, yv.p, yv.n
  local logx, logy = ax.log, ay.log
  local mx, my = ax.map, ay.map
  local out, run = {}, {}
  local function endrun()
    if #run == 1 then
      out[#out + 1] = "M" .. run[1] .. "h0"
    elseif #run > 1 then
      out[#out + 1] = "M" .. run[1] .. "L" .. table.concat(run, " ", 2)
    end
    run = {}
  end
  local col, bx, by = nil, {}, {}        -- pixel column and its points
  local function flush()
    local m = #bx
    if m == 0 then return end
    if m <= 4 then
      for k = 1, m do run[#run + 1] = num(bx[k]) .. " " .. num(by[k]) end
    else
      local lo, hi = 1, 1
      for k = 2, m do
        if by[k] < by[lo] then lo = k end
        if by[k] > by[hi] then hi = k end
      end
      local keep = { 1, lo, hi, m }
      table.sort(keep)
      local last
      for _, k in ipairs(keep) do
        if k ~= last then run[#run + 1] = num(bx[k]) .. " " .. num(by[k]) end
        last = k
      end
    end
    bx, by, col = {}, {}, nil
  end
  for i = 0, n - 1 do
    local x, y = xp[i], yp[i]
    if finite(x) and finite(y) and (not logx or x > 0) and (not logy or y > 0) then
      local px, py = mx(x), my(y)
      if decimate then
        local c = floor(px)
        if c ~= col then flush() col = c end
        bx[#bx + 1], by[#by + 1] = px, py
      else
        run[#run + 1] = num(px) .. " " .. num(py)
      end
    else
      flush()
      endrun()
    end
  end
  flush()
  endrun()
  return table.concat(out)
end

local line_opts = { x = 1, title = 1, xlabel = 1, ylabel = 1, width = 1, height = 1, logx = 1, logy = 1,
                    xlim = 1, ylim = 1, legend = 1, grid = 1, linewidth = 1 }

-- Adds series `name` from value v (a vector, a 2-d buffer whose columns
-- become name[1], name[2], ..., or a recorder) to `list`.
local function add_series(fn, list, name, v, x, style)
  if is_recorder(v) then
    x = x or (v.times and v:times() or v:ticks())
    v = v:data()
  end
  if bufm.is(v) and v:ndim() == 2 and v:shape()[2] > 1 then
    for j = 1, v:shape()[2] do
      add_series(fn, list, name .. "[" .. j .. "]", v:col(j), x, style)
    end
    return
  end
  local y = vector(fn, "series '" .. name .. "'", v)
  if y.n == 0 then fail(fn, "series '" .. name .. "' has no points") end
  local xv
  if x ~= nil then
    xv = vector(fn, "x of series '" .. name .. "'", x)
    if xv.n ~= y.n then
      fail(fn, "series '" .. name .. "' has " .. y.n .. " points but x has " .. xv.n)
    end
  else
    xv = { n = y.n, p = ffi.new("double[?]", y.n) }
    for i = 0, y.n - 1 do xv.p[i] = i + 1 end
  end
  list[#list + 1] = { name = name, y = y, x = xv, style = style or {} }
end

-- lam.plot.lines{ ... } -> Figure.  Series come from the array part
-- ({ name = "truth", y = ..., x = ..., color = ..., dash = ... }, in that
-- order) and then from every other key that is not an option (sorted by
-- name).  See docs/plot.md for the options.
function M.lines(o)
  local fn = "lines"
  if type(o) ~= "table" then fail(fn, "expected a table of series and options, got " .. type(o)) end
  local list = {}
  for i, e in ipairs(o) do
    if type(e) ~= "table" or e.y == nil then
      fail(fn, "entry [" .. i .. "]: expected { name = ..., y = ... }")
    end
    for k in pairs(e) do
      if k ~= "name" and k ~= "y" and k ~= "x" and k ~= "color" and k ~= "dash" then
        fail(fn, "entry [" .. i .. "]: unknown key '" .. tostring(k) .. "' (valid: name, y, x, color, dash)")
      end
    end
    add_series(fn, list, e.name and tostring(e.name) or ("series " .. i), e.y, e.x or o.x,
               { color = e.color, dash = e.dash })
  end
  local named = {}
  for k, v in pairs(o) do
    if type(k) == "string" and not line_opts[k] then
      if not (bufm.is(v) or type(v) == "table") then
        fail(fn, "'" .. k .. "' is neither an option nor a series (a series is a buffer, a table of numbers or a recorder; " ..
                 "options: x, title, xlabel, ylabel, width, height, logx, logy, xlim, ylim, legend, grid, linewidth)")
      end
      named[#named + 1] = k
    elseif type(k) ~= "string" and type(k) ~= "number" then
      fail(fn, "key " .. tostring(k) .. ": expected a series name")
    end
  end
  table.sort(named)
  for _, k in ipairs(named) do add_series(fn, list, k, o[k], o.x) end
  if #list == 0 then fail(fn, "no series given (e.g. lam.plot.lines{ y = buf })") end
  for _, k in ipairs { "title", "xlabel", "ylabel" } do opt_text(fn, o, k) end
  opt_lim(fn, o, "xlim", o.logx)
  opt_lim(fn, o, "ylim", o.logy)
  local lw = opt_number(fn, o, "linewidth", 1.5, 0)

  local entries = {}
  for i, s in ipairs(list) do
    local k = (i - 1) % #palette + 1
    s.color = esc(s.style.color or palette[k])
    s.dash = (s.style.dash or i > #palette) and esc(s.style.dash or "6 3") or nil
    entries[i] = { name = s.name, color = s.color, dash = s.dash }
  end
  local show_legend = o.legend
  if show_legend == nil then show_legend = #list > 1 end
  local L = layout(fn, o, show_legend and legend_width(entries) or 0)

  local ax, ay = list_axes(fn, o, L, list, 0, 0.05)

  local paths = {}
  local pw = L.x1 - L.x0
  for _, s in ipairs(list) do
    -- Decimation needs x in order (pixel columns visited once each); it is
    -- only worth it with more points than two per pixel column.
    local sorted, xp = true, s.x.p
    local last = -inf
    for i = 0, s.x.n - 1 do
      local v = xp[i]
      if finite(v) then
        if v < last then sorted = false break end
        last = v
      end
    end
    local d = series_path(s.x, s.y, ax, ay, sorted and s.y.n > 2 * pw)
    paths[#paths + 1] = fmt('<path class="series" data-name="%s" d="%s" fill="none" stroke="%s" stroke-width="%s"%s ' ..
                            'stroke-linejoin="round" stroke-linecap="round"/>\n',
                            esc(s.name), d, s.color, num(lw), s.dash and (' stroke-dasharray="' .. s.dash .. '"') or "")
  end
  local svg = document(o, L, ax, ay, table.concat(paths), show_legend and legend_svg(L, entries) or nil)
  return figure("lines", svg, ax, ay, { series = #list })
end

---------------------------------------------------------------------------
-- Spike rasters

local raster_opts = { ticks = 1, index = 1, times = 1, dt = 1, title = 1, xlabel = 1, ylabel = 1, width = 1,
                      height = 1, xlim = 1, ylim = 1, color = 1, grid = 1, n = 1 }

-- lam.plot.raster{ ticks = , index = , dt = } / raster(recorder [, opts]) /
-- raster{ recorder, ... } -> Figure: one short vertical mark per spike at
-- (time, neuron index).
function M.raster(o, opts)
  local fn = "raster"
  if is_recorder(o) then
    local rec = o
    o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    o[1] = rec
  elseif type(o) ~= "table" then
    fail(fn, "expected a recorder or a table { ticks = ..., index = ..., dt = ... }, got " .. type(o))
  end
  check_keys(fn, o, raster_opts)
  local dt = opt_number(fn, o, "dt", nil, 0)
  if dt == 0 then fail(fn, "dt = 0: expected a number > 0") end
  local tv, iv
  local rec = o[1]
  if rec ~= nil then
    if not is_recorder(rec) then fail(fn, "[1]: expected a recorder (with :ticks() and :data())") end
    if rec.is_spikes and not rec:is_spikes() then
      -- A dense recording [samples, channels] (0/1 flags or spike counts,
      -- as stim.poisson's `spikes` port): every nonzero entry is an event.
      local d, t = rec:data(), vector(fn, "recorder ticks", rec:ticks())
      local s = d:shape()
      if #s ~= 2 or s[1] ~= t.n then
        fail(fn, "recorder '" .. tostring(rec.path) .. "': expected data [samples, channels], got [" ..
                 table.concat(s, ", ") .. "]")
      end
      local m = matrix(fn, "recorder data", d)
      local ts, is = {}, {}
      for a = 0, m.rows - 1 do
        for b = 0, m.cols - 1 do
          if m.p[a * m.cols + b] ~= 0 then ts[#ts + 1], is[#is + 1] = t.p[a], b end
        end
      end
      tv, iv = vector(fn, "ticks", ts), vector(fn, "index", is)
    else
      local t, i
      if type(rec.events) == "function" then t, i = rec:events() else t, i = rec:ticks(), rec:data() end
      tv, iv = vector(fn, "recorder ticks", t), vector(fn, "recorder index", i)
    end
    dt = dt or (rec.sim and rec.sim.dt)
  else
    if (o.ticks == nil) == (o.times == nil) then fail(fn, "give either ticks (with dt) or times, and index") end
    if o.index == nil then fail(fn, "index: missing (the neuron of each spike)") end
    if o.times ~= nil and dt then fail(fn, "dt: only with ticks (times are already in ms)") end
    tv = vector(fn, o.ticks and "ticks" or "times", o.ticks or o.times)
    iv = vector(fn, "index", o.index)
    if o.times then dt = 1 end
  end
  if tv.n ~= iv.n then
    fail(fn, (o.times and "times" or "ticks") .. " has " .. tv.n .. " entries but index has " .. iv.n)
  end
  for k = 0, iv.n - 1 do
    local v = iv.p[k]
    if not (v >= 0 and v == floor(v) and v < 2 ^ 31) then
      fail(fn, "index[" .. (k + 1) .. "] = " .. tostring(v) .. ": expected an integer >= 0")
    end
    if not finite(tv.p[k]) then fail(fn, "ticks[" .. (k + 1) .. "] = " .. tostring(tv.p[k]) .. ": expected a finite number") end
  end
  local o2 = {}
  for k, v in pairs(o) do o2[k] = v end
  if o2.xlabel == nil then o2.xlabel = (dt or o.times) and "time (ms)" or "tick" end
  if o2.ylabel == nil then o2.ylabel = "neuron" end
  for _, k in ipairs { "title", "xlabel", "ylabel" } do opt_text(fn, o2, k) end
  local nn = opt_number(fn, o, "n", nil, 1)
  dt = dt or 1
  opt_lim(fn, o, "xlim")
  opt_lim(fn, o, "ylim")
  local L = layout(fn, o2, 0)
  local ilo, ihi = extent(iv)
  local tlo, thi = extent(tv)
  if iv.n == 0 then ilo, ihi, tlo, thi = 0, 0, 0, 1 end
  if nn then
    if ihi >= nn then fail(fn, "index has neuron " .. ihi .. " but n = " .. nn) end
    ilo, ihi = 0, nn - 1
  end
  o2.ylim = o.ylim or { ilo - 0.5, ihi + 0.5 }
  local ax, ay = make_axes(fn, o2, L, tlo * dt, thi * dt, ilo, ihi, 0, 0)
  -- One mark per spike, 80 % of a row high (at least one pixel).  Spikes
  -- landing in the same half-pixel cell (column and row of the mark's
  -- centre) are drawn once: at most 4 W H marks however long the recording,
  -- and a neuron's spikes stay separate whenever rows are >= 0.5 px apart.
  local row = abs(ay.map(1) - ay.map(0))
  local h = max(1, 0.8 * row)
  local seen, d = {}, {}
  local hs = num(h)
  for k = 0, tv.n - 1 do
    local px, py = ax.map(tv.p[k] * dt), ay.map(iv.p[k])
    local key = floor(px * 2) * 4294967296 + floor(py * 2)
    if not seen[key] then
      seen[key] = true
      d[#d + 1] = "M" .. num(px) .. " " .. num(py - h / 2) .. "v" .. hs
    end
  end
  local color = o.color or "#000000"
  local data = fmt('<path class="spikes" d="%s" stroke="%s" stroke-width="%s" fill="none"/>\n',
                   table.concat(d), esc(color), num(min(1.5, max(0.8, (L.x1 - L.x0) / 400))))
  local svg = document(o2, L, ax, ay, data)
  return figure("raster", svg, ax, ay, { spikes = tv.n, marks = #d })
end

---------------------------------------------------------------------------
-- Heatmaps

local heat_opts = { data = 1, cmap = 1, vmin = 1, vmax = 1, colorbar = 1, clabel = 1, title = 1, xlabel = 1,
                    ylabel = 1, width = 1, height = 1, extent = 1, origin = 1, image = 1, grid = 1 }

-- Block means: a matrix with more cells than twice the plot's pixels in a
-- direction is averaged over blocks of fr x fc cells (NaN cells ignored; an
-- all-NaN block stays NaN).  The colours of neighbouring cells cannot be
-- told apart at that size anyway, and the file stays small.
local function block_mean(m, fr, fc)
  if fr == 1 and fc == 1 then return m end
  local rows, cols = math.ceil(m.rows / fr), math.ceil(m.cols / fc)
  local p = ffi.new("double[?]", rows * cols)
  for i = 0, rows - 1 do
    for j = 0, cols - 1 do
      local s, c = 0, 0
      for a = i * fr, min(m.rows, (i + 1) * fr) - 1 do
        for b = j * fc, min(m.cols, (j + 1) * fc) - 1 do
          local v = m.p[a * m.cols + b]
          if finite(v) then s, c = s + v, c + 1 end
        end
      end
      p[i * cols + j] = c > 0 and s / c or 0 / 0
    end
  end
  return { rows = rows, cols = cols, p = p, keep = p }
end

-- lam.plot.heatmap{ data = 2-d buffer, ... } -> Figure.  Row 1 is drawn at
-- the top (origin = "upper", as an image) unless origin = "lower".
function M.heatmap(o)
  local fn = "heatmap"
  if type(o) ~= "table" then fail(fn, "expected a table { data = 2-d buffer, ... }, got " .. type(o)) end
  check_keys(fn, o, heat_opts)
  if o.data == nil then fail(fn, "data: missing (a 2-d buffer or a table of rows)") end
  local m = matrix(fn, "data", o.data)
  if m.rows == 0 or m.cols == 0 then fail(fn, "data: has no cells (" .. m.rows .. " x " .. m.cols .. ")") end
  local cm = get_cmap(fn, o.cmap)
  for _, k in ipairs { "title", "xlabel", "ylabel", "clabel" } do opt_text(fn, o, k) end
  local origin = o.origin or "upper"
  if origin ~= "upper" and origin ~= "lower" then
    fail(fn, "origin = " .. tostring(origin) .. ": expected \"upper\" or \"lower\"")
  end
  local image = o.image
  if image ~= nil and image ~= "png" and image ~= "rects" then
    fail(fn, "image = " .. tostring(image) .. ": expected \"png\" or \"rects\"")
  end
  local ext = o.extent
  if ext ~= nil then
    if type(ext) ~= "table" or #ext ~= 4 then fail(fn, "extent: expected { xmin, xmax, ymin, ymax }") end
    for i = 1, 4 do
      if type(ext[i]) ~= "number" or not finite(ext[i]) then fail(fn, "extent[" .. i .. "]: expected a finite number") end
    end
    if not (ext[1] < ext[2] and ext[3] < ext[4]) then fail(fn, "extent: expected xmin < xmax and ymin < ymax") end
  else
    ext = { 0.5, m.cols + 0.5, 0.5, m.rows + 0.5 }
  end
  local vlo, vhi = extent({ n = m.rows * m.cols, p = m.p })
  local vmin = opt_number(fn, o, "vmin", nil)
  local vmax = opt_number(fn, o, "vmax", nil)
  if vlo > vhi and not (vmin and vmax) then vlo, vhi = 0, 1 end  -- all NaN: nothing coloured
  if vmin == nil or vmax == nil then
    local lo, hi = vlo, vhi
    if lo == hi then lo, hi = lo - 0.5, hi + 0.5 end
    vmin, vmax = vmin or lo, vmax or hi
  end
  if not (vmin < vmax) then fail(fn, "vmin = " .. vmin .. ", vmax = " .. vmax .. ": expected vmin < vmax") end
  local cbar = o.colorbar ~= false
  local L = layout(fn, o, cbar and COLORBAR_W or 0)
  local o2 = { ylim = { ext[3], ext[4] }, xlim = { ext[1], ext[2] }, grid = false }
  for k, v in pairs(o) do if o2[k] == nil then o2[k] = v end end
  local ay = new_axis(ext[3], ext[4], false, origin == "upper" and L.y1 or L.y0, origin == "upper" and L.y0 or L.y1)
  place_left(o2, L, ay)
  local ax = new_axis(ext[1], ext[2], false, L.x0, L.x1)
  local pw, ph = L.x1 - L.x0, L.y0 - L.y1
  local fr, fc = math.ceil(m.rows / (2 * ph)), math.ceil(m.cols / (2 * pw))
  local r = block_mean(m, fr, fc)
  -- Colour index in 0..254 of a value; values outside [vmin, vmax] take the
  -- end colours (a colour map saturates), NaN is transparent.
  local function t_of(v) return min(1, max(0, (v - vmin) / (vmax - vmin))) end
  if image == nil then image = r.rows * r.cols <= 1024 and "rects" or "png" end
  local data
  local x0, y0, w, h = L.x0, L.y1, pw, ph
  if image == "png" then
    local pix = ffi.new("uint8_t[?]", r.rows * r.cols)
    for i = 0, r.rows - 1 do
      local src = origin == "upper" and i or (r.rows - 1 - i)
      for j = 0, r.cols - 1 do
        local v = r.p[src * r.cols + j]
        pix[i * r.cols + j] = finite(v) and floor(t_of(v) * 254 + 0.5) or 255
      end
    end
    local pal, alpha = {}, {}
    for k = 0, 254 do pal[k + 1] = { cmap_rgb(cm, k / 254) }; alpha[k + 1] = 255 end
    pal[256], alpha[256] = { 0, 0, 0 }, 0
    local bytes = png.indexed(r.cols, r.rows, pix, pal, alpha)
    data = fmt('<image class="heatmap" x="%s" y="%s" width="%s" height="%s" preserveAspectRatio="none" ' ..
               'style="image-rendering:pixelated;image-rendering:crisp-edges" xlink:href="data:image/png;base64,%s"/>\n',
               num(x0), num(y0), num(w), num(h), png.base64(bytes))
  else
    local s = { '<g class="heatmap" shape-rendering="crispEdges">\n' }
    local cw, ch = w / r.cols, h / r.rows
    for i = 0, r.rows - 1 do
      local src = origin == "upper" and i or (r.rows - 1 - i)
      for j = 0, r.cols - 1 do
        local v = r.p[src * r.cols + j]
        if finite(v) then
          -- Cells overlap their right/lower neighbour by a fraction of a
          -- pixel so that no background seam shows between them.
          s[#s + 1] = fmt('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>\n', num(x0 + j * cw), num(y0 + i * ch),
                          num(cw + 0.3), num(ch + 0.3), hex(cmap_rgb(cm, t_of(v))))
        end
      end
    end
    s[#s + 1] = "</g>\n"
    data = table.concat(s)
  end
  local svg = document(o2, L, ax, ay, data, cbar and colorbar_svg(L, cm, vmin, vmax, o.clabel) or nil)
  return figure("heatmap", svg, ax, ay, { vmin = vmin, vmax = vmax, image = image, cells = { r.rows, r.cols } })
end

---------------------------------------------------------------------------
-- Scatter plots

local scatter_opts = { x = 1, y = 1, c = 1, size = 1, color = 1, name = 1, cmap = 1, vmin = 1, vmax = 1, colorbar = 1,
                       clabel = 1, alpha = 1, title = 1, xlabel = 1, ylabel = 1, width = 1, height = 1, logx = 1,
                       logy = 1, xlim = 1, ylim = 1, legend = 1, grid = 1 }

-- lam.plot.scatter{ x = , y = [, c = , size = ] } or with groups in the
-- array part: { { name = , x = , y = , c = , size = , color = }, ... }.
function M.scatter(o)
  local fn = "scatter"
  if type(o) ~= "table" then fail(fn, "expected a table { x = ..., y = ... }, got " .. type(o)) end
  check_keys(fn, o, scatter_opts)
  local groups = {}
  local function group(name, g, where)
    if g.x == nil or g.y == nil then fail(fn, where .. ": x and y are both required") end
    local gx, gy = vector(fn, where .. " x", g.x), vector(fn, where .. " y", g.y)
    if gx.n ~= gy.n then fail(fn, where .. ": y has " .. gy.n .. " points but x has " .. gx.n) end
    local gc, gs
    if g.c ~= nil then
      gc = vector(fn, where .. " c", g.c)
      if gc.n ~= gx.n then fail(fn, where .. ": c has " .. gc.n .. " values but x has " .. gx.n) end
    end
    if type(g.size) == "number" then
      if not (finite(g.size) and g.size > 0) then fail(fn, where .. ": size = " .. g.size .. ", expected a radius > 0 (pixels)") end
    elseif g.size ~= nil then
      gs = vector(fn, where .. " size", g.size)
      if gs.n ~= gx.n then fail(fn, where .. ": size has " .. gs.n .. " values but x has " .. gx.n) end
      for k = 0, gs.n - 1 do
        if not (gs.p[k] >= 0 and finite(gs.p[k])) then
          fail(fn, where .. ": size[" .. (k + 1) .. "] = " .. tostring(gs.p[k]) .. ", expected a radius >= 0 (pixels)")
        end
      end
    end
    groups[#groups + 1] = { name = name, x = gx, y = gy, c = gc, sizes = gs,
                            size = type(g.size) == "number" and g.size or 3, color = g.color }
  end
  for i, g in ipairs(o) do
    if type(g) ~= "table" then fail(fn, "entry [" .. i .. "]: expected { name = ..., x = ..., y = ... }") end
    for k in pairs(g) do
      if not ({ name = 1, x = 1, y = 1, c = 1, size = 1, color = 1 })[k] then
        fail(fn, "entry [" .. i .. "]: unknown key '" .. tostring(k) .. "' (valid: name, x, y, c, size, color)")
      end
    end
    group(g.name and tostring(g.name) or ("group " .. i), g, "entry [" .. i .. "]")
  end
  if o.x ~= nil or o.y ~= nil then group(o.name and tostring(o.name) or "points", o, "points") end
  if #groups == 0 then fail(fn, "no points given (x = ..., y = ...)") end
  for _, k in ipairs { "title", "xlabel", "ylabel", "clabel" } do opt_text(fn, o, k) end
  opt_lim(fn, o, "xlim", o.logx)
  opt_lim(fn, o, "ylim", o.logy)
  local alpha = opt_number(fn, o, "alpha", 0.8, 0)
  if alpha > 1 then fail(fn, "alpha = " .. alpha .. ": expected a number in [0, 1]") end

  local clo, chi, has_c = inf, -inf, false
  for _, g in ipairs(groups) do
    if g.c then has_c = true clo, chi = extent(g.c, false, clo, chi) end
  end
  local cm, vmin, vmax
  if has_c then
    cm = get_cmap(fn, o.cmap)
    if clo > chi then clo, chi = 0, 1 end
    if clo == chi then clo, chi = clo - 0.5, chi + 0.5 end
    vmin, vmax = opt_number(fn, o, "vmin", clo), opt_number(fn, o, "vmax", chi)
    if not (vmin < vmax) then fail(fn, "vmin = " .. vmin .. ", vmax = " .. vmax .. ": expected vmin < vmax") end
  end
  local cbar = has_c and o.colorbar ~= false
  local entries = {}
  for i, g in ipairs(groups) do
    g.fill = esc(g.color or o.color or palette[(i - 1) % #palette + 1])
    entries[i] = { name = g.name, color = g.fill, kind = "dot" }
  end
  local show_legend = o.legend
  if show_legend == nil then show_legend = #groups > 1 end
  local right = (cbar and COLORBAR_W or 0) + (show_legend and legend_width(entries) or 0)
  local L = layout(fn, o, right)
  local ax, ay = list_axes(fn, o, L, groups, 0.05, 0.05)

  -- One circle per distinct (position at 0.01 px, radius, colour): exact
  -- duplicates would only repaint the same pixels.
  local s, drawn = {}, 0
  for _, g in ipairs(groups) do
    s[#s + 1] = fmt('<g class="points" data-name="%s" fill="%s" fill-opacity="%s">\n', esc(g.name), g.fill, num(alpha))
    local seen = {}
    for k = 0, g.x.n - 1 do
      local x, y = g.x.p[k], g.y.p[k]
      local cv = g.c and g.c.p[k]
      if finite(x) and finite(y) and (not o.logx or x > 0) and (not o.logy or y > 0) and (cv == nil or finite(cv)) then
        local r = g.sizes and g.sizes.p[k] or g.size
        local fill = cv and (' fill="' .. hex(cmap_rgb(cm, min(1, max(0, (cv - vmin) / (vmax - vmin))))) .. '"') or ""
        local c = fmt('<circle cx="%s" cy="%s" r="%s"%s/>\n', num(ax.map(x)), num(ay.map(y)), num(r), fill)
        if not seen[c] then
          seen[c] = true
          s[#s + 1] = c
          drawn = drawn + 1
        end
      end
    end
    s[#s + 1] = "</g>\n"
  end
  local extra = (cbar and colorbar_svg(L, cm, vmin, vmax, o.clabel) or "")
  if show_legend then
    local Ll = { x1 = L.x1 + (cbar and COLORBAR_W or 0), y1 = L.y1 }
    extra = extra .. legend_svg(Ll, entries)
  end
  local svg = document(o, L, ax, ay, table.concat(s), extra)
  return figure("scatter", svg, ax, ay, { points = drawn })
end

return M
