-- A tiny sweep point for the tests: returns its parameters and a value
-- computed from them; `mode` picks a way to fail (crash isolation tests).
local lam = require "lamina"
local p = lam.params { a = 1, b = 0.5, label = "x", flag = false, mode = "ok", sleep = 0, seed = 1 }
if p.sleep > 0 then os.execute("sleep " .. p.sleep) end
if p.mode == "error" then error("deliberate failure for a = " .. p.a) end
if p.mode == "segv" then
  local ffi = require "ffi"
  ffi.cast("int *", 0)[0] = 1 -- a real segmentation fault, as a broken plugin would cause
end
local y = p.a * 10 + p.b
if p.mode == "nan" then y = 0 / 0 end
return { y = y, seed = lam.seed(), label = p.label, flag = p.flag, trace = { p.a, p.b, 3 } }
