-- Helpers shared by the tests of `lamina sweep` (tests/sweep/*.t).
local M = {}
local build = os.getenv("LAMINA_TEST_BUILD") or "build"
M.lamina = build .. "/bin/lamina"

-- Runs a shell command; returns its output (stdout and stderr) and status.
function M.sh(cmd)
  local p = io.popen("(" .. cmd .. ") 2>&1; echo \"status=$?\"")
  local out = p:read("*a")
  p:close()
  local status = tonumber(out:match("status=(%d+)%s*$"))
  return (out:gsub("status=%d+%s*$", "")), status
end
M.point = M.sh("pwd"):gsub("%s+$", "") .. "/tests/sweep/point.lua"
M.slurp = require("shell").slurp
function M.spit(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end
function M.tmpdir()
  local t = os.tmpname()
  os.remove(t)
  assert(os.execute("mkdir -p " .. t) == 0)
  return t
end
-- Writes a protocol into dir (script defaults to tests/sweep/point.lua,
-- out to dir/out) and returns its path.
function M.protocol(dir, body, name)
  local path = dir .. "/" .. (name or "p.yaml")
  M.spit(path, body:gsub("@SCRIPT@", M.point):gsub("@OUT@", dir .. "/out"))
  return path
end
-- `lamina sweep P --plan`: the points as a list of {index, id, replicate,
-- seed, point (the canonical JSON)}, plus the raw output and status.
function M.plan(path, args)
  local out, st = M.sh(M.lamina .. " sweep " .. path .. " --plan " .. (args or ""))
  local rows = {}
  for line in out:gmatch("[^\n]+") do
    local i, id, r, seed, point = line:match("^(%d+)\t(%x+)\t(%d+)\t(%d+)\t(.*)$")
    if i then
      rows[#rows + 1] = { index = tonumber(i), id = id, replicate = tonumber(r), seed = seed, point = point }
    end
  end
  return rows, out, st
end
function M.sha256(text)
  local f = os.tmpname()
  M.spit(f, text)
  local out = M.sh("sha256sum " .. f)
  os.remove(f)
  return out:match("^(%x+)")
end
-- The rows of a CSV file without quoted fields, as tables keyed by header.
function M.csv(path)
  local s = M.slurp(path)
  if not s then return nil end
  local rows, head = {}, nil
  for line in s:gmatch("[^\n]+") do
    local f = {}
    for v in (line .. ","):gmatch("([^,]*),") do f[#f + 1] = v end
    if not head then
      head = f
    else
      local r = {}
      for i, h in ipairs(head) do r[h] = f[i] end
      rows[#rows + 1] = r
    end
  end
  return rows, head
end
-- The status field of a point's run.json, or nil.
function M.run_status(out, id)
  local s = M.slurp(out .. "/points/" .. id .. "/run/run.json")
  return s and s:match('"status":%s*"(%u+)"'), s
end
return M
