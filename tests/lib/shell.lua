-- shell.lua: temporary directories and the build directory for the Lua
-- tests that drive the `lamina` command (tests/plugins/*.t); commands run
-- with tap.sh.
local M = {}

-- A new empty directory under $TMPDIR (or /tmp); remove it with M.rm.
function M.tmpdir(tag)
  local p = io.popen("mktemp -d " .. (os.getenv("TMPDIR") or "/tmp") .. "/lamina-" .. tag .. ".XXXXXX")
  local d = p:read("*l")
  p:close()
  return d
end

function M.rm(dir) os.execute("rm -rf '" .. dir .. "'") end

-- The whole file as a string (binary), or nil when it cannot be opened.
function M.slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- The build directory the tests run against ($LAMINA_TEST_BUILD, or build/),
-- as an absolute path.
function M.build()
  local b = os.getenv("LAMINA_TEST_BUILD") or "build"
  if b:sub(1, 1) ~= "/" then
    local p = io.popen("pwd")
    b = p:read("*l") .. "/" .. b
    p:close()
  end
  return b
end

return M
