-- lamina.core: loads liblamina through the FFI and turns its status codes
-- into Lua errors.  Every other module reaches C through this one.
local ffi = require "lamina.cdef"

local M = {}

-- Where liblamina.so lives relative to this file: the install tree
-- (<prefix>/share/lua/5.1/lamina -> <prefix>/lib) and the build tree, which
-- mirrors it (build/share/lua/5.1/lamina is a link to lua/lamina), or the
-- source tree itself (lua/lamina -> build/lib).
local function candidates()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$") or "."
  local list = {}
  if os.getenv("LAMINA_LIB") then list[#list + 1] = os.getenv("LAMINA_LIB") end
  list[#list + 1] = dir .. "/../../../../lib/liblamina.so"
  list[#list + 1] = dir .. "/../../build/lib/liblamina.so"
  return list
end

local function load_lib()
  local tried = {}
  for _, path in ipairs(candidates()) do
    local f = io.open(path, "rb")
    if f then
      f:close()
      local ok, lib = pcall(ffi.load, path)
      if ok then return lib end
      tried[#tried + 1] = path .. " (" .. tostring(lib) .. ")"
    else
      tried[#tried + 1] = path .. " (no such file)"
    end
  end
  local ok, lib = pcall(ffi.load, "lamina")
  if ok then return lib end
  error("lamina: cannot load liblamina.so; tried " .. table.concat(tried, ", ") ..
        " and the system library path (set LAMINA_LIB to its path)", 0)
end

M.C = load_lib()
M.ffi = ffi

-- The first stack level outside the lamina library, so that an error
-- message points at the user's script line rather than at lamina's code.
local function user_level()
  for level = 3, 40 do
    local info = debug.getinfo(level, "S")
    if not info then return 0 end
    if info.what ~= "C" and not info.source:find("lamina/[%w_/]+%.lua$") then
      return level - 1
    end
  end
  return 0
end

-- Raises a one-line Lua error located at the user's code.
function M.fail(msg)
  error(msg, user_level())
end

-- Checks a status code; on failure raises the core's message.
function M.check(rc, what)
  if rc ~= 0 then
    local msg = ffi.string(M.C.lam_last_error())
    if msg == "" then msg = ffi.string(M.C.lam_strerror(rc)) end
    M.fail(what and (what .. ": " .. msg) or msg)
  end
  return rc
end

-- Checks a returned pointer; NULL raises the core's message.
function M.checkptr(p, what)
  if p == nil then
    local msg = ffi.string(M.C.lam_last_error())
    M.fail(what and (what .. ": " .. msg) or msg)
  end
  return p
end

return M
