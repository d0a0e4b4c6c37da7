#!/usr/bin/env luajit
-- docs/ must name everything a shipped model offers: every parameter,
-- port and method of every model of the plugins in the build (from
-- `lamina plugins` and lam.describe) appears in backquotes in the
-- family's page, docs/<family>.md, or, for families without a page of
-- their own (stim), in docs/guide.md.  A name added to a plugin without
-- documentation fails here.
local tap = require "tap"
local shell = require "shell"
local lam = require "lamina"

local build = shell.build()
local listing = tap.sh(build .. "/bin/lamina plugins")
local models = {}
for line in listing:gmatch("[^\n]+") do
  local list = line:match("^%s+models:%s+(.+)$")
  if list then
    for m in list:gmatch("%S+") do models[#models + 1] = m end
  end
end
tap.plan(1 + #models)
tap.ok(#models >= 11, "models found in the build: " .. table.concat(models, " "))

local pages = {}
local function page(family)
  if not pages[family] then
    pages[family] = shell.slurp("docs/" .. family .. ".md") or shell.slurp("docs/guide.md") or ""
  end
  return pages[family]
end

for _, m in ipairs(models) do
  local d = lam.describe(m)
  local text = page(m:match("^([^.]+)"))
  local missing, count = {}, 0
  for _, kind in ipairs { "params", "ports", "methods" } do
    for _, e in ipairs(d[kind] or {}) do
      count = count + 1
      local n = e.name
      if not (text:find("`" .. n .. "`", 1, true) or text:find("`" .. n .. "(", 1, true)) then
        missing[#missing + 1] = kind:sub(1, -2) .. " " .. n
      end
    end
  end
  tap.ok(#missing == 0 and count > 0, string.format("%s: all %d parameters, ports and methods documented%s", m, count,
    #missing > 0 and " (missing: " .. table.concat(missing, ", ") .. ")" or ""))
end
tap.done()
