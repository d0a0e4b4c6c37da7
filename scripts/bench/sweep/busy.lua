-- The CPU-bound point of the -j benchmark: a fixed amount of arithmetic
-- (about 0.3 s), so the -j 2 / -j 1 ratio shows how well points overlap.
local lam = require "lamina"
local p = lam.params { a = 0, n = 30000000 }
local s = 0
for i = 1, p.n do s = s + (i % 7) * 1e-9 end
return { y = s + p.a }
