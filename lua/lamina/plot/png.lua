-- lamina.plot.png: a minimal PNG encoder (8-bit indexed colour) and base64,
-- so that lam.plot.heatmap can embed a large matrix as one small image
-- instead of one SVG element per cell.  Compression and CRCs come from zlib,
-- which liblamina links: symbols looked up through liblamina's handle also
-- search its dependencies, so no second library has to be found on disk.
local core = require "lamina.core"
local ffi, C = core.ffi, core.C
local bit = require "bit"

-- Declared here rather than in cdef.lua (generated from lamina's headers);
-- pcall because another module may already have declared them.
pcall(ffi.cdef, [[
unsigned long compressBound(unsigned long sourceLen);
int compress2(uint8_t *dest, unsigned long *destLen, const uint8_t *source,
              unsigned long sourceLen, int level);
unsigned long crc32(unsigned long crc, const uint8_t *buf, unsigned int len);
]])

local M = {}

local function be32(v)
  return string.char(bit.band(bit.rshift(v, 24), 255), bit.band(bit.rshift(v, 16), 255),
                     bit.band(bit.rshift(v, 8), 255), bit.band(v, 255))
end

local function chunk(kind, data)
  local body = kind .. data
  local crc = tonumber(C.crc32(0, body, #body))
  return be32(#data) .. body .. be32(crc)
end

-- CRC-32 of a string as 8 hex digits.
function M.crc32hex(s) return string.format("%08x", tonumber(C.crc32(0, s, #s))) end

-- M.indexed(w, h, pixels, palette, alpha) -> PNG bytes.
--   pixels: uint8_t[w*h] palette indices, row-major, first row on top;
--   palette: array of {r, g, b} (0..255), at most 256 entries;
--   alpha: optional array of 0..255 opacities for the first palette entries.
function M.indexed(w, h, pixels, palette, alpha)
  -- Every scanline starts with filter byte 0 (None): the indices of a colour
  -- map compress well enough as they are, and it keeps the encoder simple.
  local stride = w + 1
  local raw = ffi.new("uint8_t[?]", stride * h)
  for y = 0, h - 1 do
    raw[y * stride] = 0
    ffi.copy(raw + y * stride + 1, pixels + y * w, w)
  end
  local cap = tonumber(C.compressBound(stride * h))
  local out = ffi.new("uint8_t[?]", cap)
  local len = ffi.new("unsigned long[1]", cap)
  if C.compress2(out, len, raw, stride * h, 9) ~= 0 then
    error("lam.plot: zlib compress2 failed on a " .. w .. "x" .. h .. " image", 0)
  end
  local plte = {}
  for i, c in ipairs(palette) do plte[i] = string.char(c[1], c[2], c[3]) end
  local parts = {
    "\137PNG\r\n\26\n",
    chunk("IHDR", be32(w) .. be32(h) .. string.char(8, 3, 0, 0, 0)),
    chunk("PLTE", table.concat(plte)),
  }
  if alpha then
    local a = {}
    for i, v in ipairs(alpha) do a[i] = string.char(v) end
    parts[#parts + 1] = chunk("tRNS", table.concat(a))
  end
  parts[#parts + 1] = chunk("IDAT", ffi.string(out, len[0]))
  parts[#parts + 1] = chunk("IEND", "")
  return table.concat(parts)
end

local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local b64c = {}
for i = 1, 64 do b64c[i - 1] = b64:sub(i, i) end

-- Standard base64 (RFC 4648) with '=' padding, for data: URIs.
function M.base64(s)
  local out, n = {}, #s
  for i = 1, n, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    out[#out + 1] = b64c[bit.rshift(v, 18)] .. b64c[bit.band(bit.rshift(v, 12), 63)] ..
                    (b and b64c[bit.band(bit.rshift(v, 6), 63)] or "=") ..
                    (c and b64c[bit.band(v, 63)] or "=")
  end
  return table.concat(out)
end

return M
