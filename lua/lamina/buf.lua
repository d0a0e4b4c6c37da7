-- lamina.buf: typed n-d buffers in Lua.  A Buf wraps a `lam_buf *` owned
-- through ffi.gc, so the C memory lives exactly as long as the Lua object
-- (and any view of it).  Indices are 1-based and inclusive, as elsewhere in
-- Lua; b:ptr() gives the raw typed pointer (0-based) for fast loops.
local core = require "lamina.core"
local ffi, C = core.ffi, core.C

local Buf = {}
Buf.__index = Buf

local ctypes = {
  [C.LAM_F32] = "float *", [C.LAM_F64] = "double *", [C.LAM_I32] = "int32_t *",
  [C.LAM_I64] = "int64_t *", [C.LAM_U8] = "uint8_t *",
}
local shape_t = ffi.typeof("int64_t[4]")

local M = {}

-- The collector sees only the few bytes of a buffer's cdata, never its
-- data: without help, dead multi-megabyte buffers (a run() result per call
-- in a loop) pile up until the Lua heap alone triggers a cycle, and every
-- new one needs fresh memory from the system.  Counting the data of a big
-- buffer as allocation debt paces the collector to the memory really used.
local GC_BYTES = 1048576

-- Wraps a new reference to a lam_buf (takes ownership of it).
function M.wrap(p)
  core.checkptr(p)
  if p.owner == nil then
    local bytes = tonumber(p.size) * tonumber(C.lam_dtype_size(p.dtype))
    if bytes >= GC_BYTES then collectgarbage("step", bytes / 1024) end
  end
  return setmetatable({ _b = ffi.gc(p, C.lam_buf_free) }, Buf)
end
local wrap = M.wrap

local function dtype_of(dt)
  if dt == nil then return C.LAM_F64 end
  if type(dt) == "number" then return dt end
  local t = C.lam_dtype_parse(dt)
  if t == 0 then core.fail("unknown dtype '" .. tostring(dt) .. "' (expected f32, f64, i32, i64 or u8)") end
  return t
end
M.dtype = dtype_of

local function to_shape(shape)
  if type(shape) == "number" then shape = { shape } end
  if #shape > 4 then core.fail("a buffer has at most 4 dimensions, got " .. #shape) end
  local s = shape_t()
  for i, v in ipairs(shape) do
    if type(v) ~= "number" or v < 0 or v ~= math.floor(v) then
      core.fail("shape[" .. i .. "] = " .. tostring(v) .. ": expected a non-negative integer")
    end
    s[i - 1] = v
  end
  return s, #shape
end

-- lam.buf.new(shape, dtype): zero-filled buffer; shape a number or a table.
function M.new(shape, dtype)
  local s, n = to_shape(shape)
  return wrap(C.lam_buf_new(dtype_of(dtype), n, s))
end
M.zeros = M.new

-- lam.buf.from(table, dtype): nested Lua tables (rectangular) to a buffer.
function M.from(t, dtype)
  if type(t) ~= "table" then core.fail("buf.from: expected a table, got " .. type(t)) end
  local shape, x = {}, t
  while type(x) == "table" do
    shape[#shape + 1] = #x
    x = x[1]
  end
  local b = M.new(shape, dtype)
  local p, k = b:ptr(), 0
  local function walk(v, d)
    if d > #shape then
      if type(v) ~= "number" then
        core.fail("buf.from: element " .. (k + 1) .. " is " .. type(v) .. ", expected a number")
      end
      p[k] = v
      k = k + 1
      return
    end
    if type(v) ~= "table" or #v ~= shape[d] then
      core.fail("buf.from: ragged table at depth " .. d .. " (expected " .. shape[d] .. " entries)")
    end
    for i = 1, #v do walk(v[i], d + 1) end
  end
  if dtype_of(dtype) == C.LAM_F64 or dtype_of(dtype) == C.LAM_F32 then
    walk(t, 1)
  else
    -- Integers go through lam_buf_set, which refuses values that do not fit.
    local tmp = M.new(shape, "f64")
    p = tmp:ptr()
    walk(t, 1)
    core.check(C.lam_buf_assign(b._b, tmp._b), "buf.from")
  end
  return b
end

-- lam.buf.range(n, dtype): 0, 1, ..., n-1.
function M.range(n, dtype)
  local b = M.new(n, dtype)
  local p = b:ptr()
  for i = 0, n - 1 do p[i] = i end
  return b
end

function M.is(x) return getmetatable(x) == Buf end

-- Accepts a Buf, a number table or a number; returns a lam_buf* and the Buf
-- that keeps it alive.
function M.coerce(v, dtype)
  if M.is(v) then return v._b, v end
  if type(v) == "table" then
    local b = M.from(v, dtype)
    return b._b, b
  end
  if type(v) == "number" then
    local b = M.new({ 1 }, dtype)
    b:ptr()[0] = v
    return b._b, b
  end
  core.fail("expected a buffer, a table of numbers or a number, got " .. type(v))
end

function Buf:ptr() return ffi.cast(ctypes[self._b.dtype], self._b.data) end
function Buf:dtype() return ffi.string(C.lam_dtype_name(self._b.dtype)) end
function Buf:ndim() return self._b.ndim end
function Buf:size() return tonumber(self._b.size) end
function Buf:shape()
  local s = {}
  for i = 0, self._b.ndim - 1 do s[i + 1] = tonumber(self._b.shape[i]) end
  return s
end
function Buf:strides()
  local s = {}
  for i = 0, self._b.ndim - 1 do s[i + 1] = tonumber(self._b.strides[i]) end
  return s
end
function Buf:is_contiguous() return C.lam_buf_is_contiguous(self._b) == 1 end

-- Flat row-major offset of 1-based indices, with bounds checks.
local function offset(b, ...)
  local n = select("#", ...)
  if n ~= b.ndim and not (n == 1 and b.ndim == 0) then
    core.fail("index: " .. n .. " indices for a " .. b.ndim .. "-d buffer")
  end
  local flat = 0
  for d = 0, b.ndim - 1 do
    local i = select(d + 1, ...)
    if type(i) ~= "number" or i < 1 or i > b.shape[d] or i ~= math.floor(i) then
      core.fail("index " .. tostring(i) .. " outside 1.." .. tostring(b.shape[d]) .. " of dimension " .. (d + 1))
    end
    flat = flat * tonumber(b.shape[d]) + (i - 1)
  end
  return flat
end

-- b:get(i, j, ...) and b:set(v, i, j, ...): one element, 1-based.
function Buf:get(...) return C.lam_buf_get(self._b, offset(self._b, ...)) end
function Buf:set(v, ...)
  core.check(C.lam_buf_set(self._b, offset(self._b, ...), v), "set")
  return self
end

-- b:slice(i, j [, step [, dim]]): a view of rows i..j (1-based, inclusive)
-- along dimension dim (default 1).  The view shares memory with b.
function Buf:slice(i, j, step, dim)
  dim = dim or 1
  local n = self._b.ndim >= dim and tonumber(self._b.shape[dim - 1]) or 0
  j = j or n
  if i < 0 then i = n + i + 1 end
  if j < 0 then j = n + j + 1 end
  -- The C view holds a reference on the storage, so it outlives `self`.
  return wrap(C.lam_buf_slice(self._b, dim - 1, i - 1, j, step or 1))
end
-- b:rows(i, j): rows i..j inclusive of the first dimension.
function Buf:rows(i, j) return self:slice(i, j, 1, 1) end
-- b:col(j): column j of a 2-d buffer, as a 1-d strided view (writes go
-- through); b:row(i): row i, one dimension fewer.
function Buf:col(j)
  if self._b.ndim ~= 2 then core.fail("col: expected a 2-d buffer, got " .. self._b.ndim .. "-d") end
  return wrap(C.lam_buf_select(self._b, 1, j - 1))
end
function Buf:row(i) return wrap(C.lam_buf_select(self._b, 0, i - 1)) end
function Buf:reshape_view(shape)
  local s, n = to_shape(shape)
  local src = self:is_contiguous() and self or self:copy()
  return wrap(C.lam_buf_reshape(src._b, n, s))
end
-- b:reshape(shape): a view with a new shape (a copy first if b is strided).
Buf.reshape = Buf.reshape_view

function Buf:copy(dtype)
  return wrap(C.lam_buf_copy(self._b, dtype and dtype_of(dtype) or 0))
end

-- Nested Lua tables (1-based), for printing and small results.
function Buf:totable()
  local b = self._b
  if b.ndim == 0 then return { C.lam_buf_get(b, 0) } end
  local shape = self:shape()
  local k = 0
  local function build(d)
    local t = {}
    for i = 1, shape[d] do
      if d == #shape then
        t[i] = C.lam_buf_get(b, k)
        k = k + 1
      else
        t[i] = build(d + 1)
      end
    end
    return t
  end
  return build(1)
end

local function reduce(op, name)
  local out = ffi.new("double[1]")
  return function(self)
    core.check(C.lam_buf_reduce(self._b, op, out), name)
    return out[0]
  end
end
Buf.sum = reduce(C.LAM_REDUCE_SUM, "sum")
Buf.mean = reduce(C.LAM_REDUCE_MEAN, "mean")
Buf.min = reduce(C.LAM_REDUCE_MIN, "min")
Buf.max = reduce(C.LAM_REDUCE_MAX, "max")
Buf.var = reduce(C.LAM_REDUCE_VAR, "var")
function Buf:std() return math.sqrt(self:var()) end

-- In place: b = b * a.  Returns b.
function Buf:scale(a)
  core.check(C.lam_buf_affine(self._b, a, 0), "scale")
  return self
end
-- In place: b = b + x (a number, or a buffer of the same size).  Returns b.
function Buf:add(x, alpha)
  if type(x) == "number" then
    core.check(C.lam_buf_affine(self._b, 1, x), "add")
  else
    core.check(C.lam_buf_axpy(self._b, alpha or 1, (M.coerce(x))), "add")
  end
  return self
end
function Buf:fill(v)
  core.check(C.lam_buf_fill(self._b, v), "fill")
  return self
end
-- In place: copy values from another buffer/table of the same size.
function Buf:assign(x)
  core.check(C.lam_buf_assign(self._b, (M.coerce(x, self:dtype()))), "assign")
  return self
end

function Buf:__tostring()
  local s = self:shape()
  local parts = {}
  local n = math.min(self:size(), 6)
  for i = 0, n - 1 do parts[#parts + 1] = string.format("%.6g", C.lam_buf_get(self._b, i)) end
  if self:size() > n then parts[#parts + 1] = "..." end
  return string.format("lam.buf<%s>[%s] {%s}", self:dtype(), table.concat(s, "x"), table.concat(parts, ", "))
end

M.Buf = Buf
return M
