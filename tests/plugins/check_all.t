#!/usr/bin/env luajit
-- tests/plugins/check_all.t - `lamina plugin check` passes for every
-- plugin the build produced ($BUILD/lib/lamina/plugins/*.so, in-tree
-- plugins of every family).  A failure names the plugin and each failing
-- check with the checker's reason.
local tap = require "tap"
local build = os.getenv("LAMINA_TEST_BUILD") or "build"
local lamina = build .. "/bin/lamina"

local files = {}
local ls = io.popen("ls " .. build .. "/lib/lamina/plugins/*.so 2>/dev/null")
for f in ls:lines() do files[#files + 1] = f end
ls:close()
tap.plan(#files + 1)
tap.ok(#files >= 1, "the build has in-tree plugins (" .. #files .. ")")

for _, f in ipairs(files) do
  local out, st = tap.sh(lamina .. " plugin check " .. f)
  local name = f:match("([^/]+)%.so$")
  if not tap.ok(st == 0, "plugin check " .. name .. ".so passes") then
    -- Which checks failed, each with the checker's reason.
    for line in out:gmatch("[^\n]+") do
      if line:find("^not ok") or line:find("^# ") then tap.diag(line) end
    end
  end
end
tap.done()
