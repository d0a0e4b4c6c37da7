-- kurtest.lua: small helpers shared by the kuramoto plugin tests
-- (tests/plugins/kuramoto*.t): flat copies of buffers, filled buffers,
-- element-wise differences and a tiny deterministic generator for test
-- inputs (not the model's RNG).
local lam = require "lamina"
local M = {}

-- A buffer's elements (row-major) as a Lua array of numbers.
function M.values(b)
  local t, p = {}, b:copy("f64"):ptr()
  for i = 0, b:size() - 1 do t[i + 1] = p[i] end
  return t
end

-- A new f64 buffer of the given shape with element e (0-based, flat) = f(e).
function M.filled(shape, f)
  local b = lam.buf.new(shape)
  local p = b:ptr()
  for i = 0, b:size() - 1 do p[i] = f(i) end
  return b
end

-- An n x n f64 buffer with element (i, j) (0-based) = f(i, j).
function M.matrix(n, f)
  return M.filled({ n, n }, function(e) return f(math.floor(e / n), e % n) end)
end

function M.maxdiff(a, b)
  local m = 0
  for i = 1, #a do m = math.max(m, math.abs(a[i] - b[i])) end
  return m
end

-- Uniform numbers in [0, 1) from a linear congruential generator.
function M.lcg(seed)
  local s = seed
  return function()
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  end
end

return M
