#!/usr/bin/env luajit
-- tests/plugins/new.t - `lamina plugin new`: the skeleton it writes builds
-- with its own Makefile against the build tree's lamina.pc, passes
-- `lamina plugin check` with every check run (none skipped), and passes
-- its own `make test`; an existing directory is refused untouched; a bad
-- name is refused.  Everything happens in a temporary directory.
local tap = require "tap"
local shell = require "shell"
local sh = tap.sh
local build = shell.build()
local lamina = build .. "/bin/lamina"
tap.plan(14)


local tmp = shell.tmpdir("new")
local env = "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PKG_CONFIG_PATH=" .. build .. "/lib/pkgconfig PATH=" ..
  build .. "/bin:$PATH "
local dir = tmp .. "/mylab"

local out, st = sh(lamina .. " plugin new mylab --dir " .. dir)
tap.is(st, 0, "plugin new mylab --dir DIR exits 0")
local missing = {}
for _, f in ipairs { "mylab.c", "Makefile", "test.t", "test_mylab.lua", "README.md" } do
  local h = io.open(dir .. "/" .. f)
  if h then h:close() else missing[#missing + 1] = f end
end
tap.ok(#missing == 0, "it writes mylab.c, Makefile, test.t, test_mylab.lua and README.md")
if #missing > 0 then tap.diag("missing: " .. table.concat(missing, " "), out) end

out, st = sh("cd " .. dir .. " && " .. env .. "make")
tap.is(st, 0, "make builds mylab.so with pkg-config lamina")
if st ~= 0 then tap.diag(out) end
out = sh("nm -D --defined-only " .. dir .. "/mylab.so | awk '$2 ~ /^[TDBRVW]$/ { print $3 }'")
tap.is(out, "lamina_plugin_init\n", "mylab.so exports only lamina_plugin_init")

out, st = sh(lamina .. " plugin check " .. dir .. "/mylab.so")
tap.is(st, 0, "lamina plugin check mylab.so passes as generated")
if st ~= 0 then tap.diag(out) end
local oks = select(2, out:gsub("\nok ", ""))
tap.ok(oks >= 12 and not out:find("SKIP", 1, true),
  "... running every check, none skipped (the model has a method and checkpoints): " .. oks .. " passed")
tap.ok(out:find("mylab.leaky: methods reject wrong shapes", 1, true) ~= nil, "... on the model mylab.leaky")

out, st = sh("cd " .. dir .. " && " .. env .. "make test")
tap.is(st, 0, "its own make test passes (prove ./test.t)")
if st ~= 0 then tap.diag(out) end
tap.ok(out:find("x(30 ms) matches", 1, true) ~= nil, "... including the model's exact-solution test")

-- An existing directory is refused and left as it was.
local before = sh("cat " .. dir .. "/mylab.c | cksum")
out, st = sh(lamina .. " plugin new mylab --dir " .. dir)
tap.is(st, 1, "plugin new into an existing directory exits 1")
tap.ok(out:find("already exists", 1, true) ~= nil, "... saying it already exists")
tap.is(sh("cat " .. dir .. "/mylab.c | cksum"), before, "... and leaves the files untouched")

out, st = sh("cd " .. tmp .. " && " .. lamina .. " plugin new My-Lab")
tap.is(st, 2, "a name that is not a lower-case identifier is a usage error (exit 2)")

out, st = sh("cd " .. tmp .. " && " .. lamina .. " plugin new other && test -f other/other.c")
tap.is(st, 0, "without --dir the skeleton goes to ./NAME")

shell.rm(tmp)
tap.done()
