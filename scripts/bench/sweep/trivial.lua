-- The trivial point of the sweep overhead benchmark: reads one parameter
-- and returns it, so the time measured is process start, provenance
-- (run.json, script copy and hash, log) and the sweep's own bookkeeping.
local lam = require "lamina"
local p = lam.params { a = 0 }
return { y = p.a }
