-- lamina.io: NumPy files from scripts (lam.save, lam.load, lam.savez,
-- lam.loadz, lam.npz_names).  Everything is done by core/npy.c; this layer
-- turns tables into buffers, resolves relative output paths into the run
-- directory (lamina.context.resolve) and raises errors at the user's line.
--
--   lam.save("w.npy", buf)                 -- refuses to replace a file
--   lam.save("w.npy", buf, { overwrite = true })
--   local w = lam.load("w.npy")            -- a lamina buffer
--   lam.savez("fit.npz", { w = w, bias = b }, { compress = 6 })
--   local t = lam.loadz("fit.npz")         -- { w = buf, bias = buf }
local core = require "lamina.core"
local bufm = require "lamina.buf"
local context = require "lamina.context"
local ffi, C = core.ffi, core.C

local M = {}

local function check_opts(what, opts, valid)
  opts = opts or {}
  if type(opts) ~= "table" then core.fail(what .. ": options must be a table") end
  for k in pairs(opts) do
    if not valid[k] then
      local names = {}
      for n in pairs(valid) do names[#names + 1] = n end
      table.sort(names)
      core.fail(what .. ": unknown option '" .. tostring(k) .. "' (valid: " .. table.concat(names, ", ") .. ")")
    end
  end
  return opts
end

local function out_path(what, path)
  if type(path) ~= "string" or path == "" then core.fail(what .. ": expected a file name, got " .. tostring(path)) end
  return context.resolve(path)
end

function M.save(path, data, opts)
  opts = check_opts("lam.save", opts, { overwrite = true })
  local p = out_path("lam.save", path)
  local b, keep = bufm.coerce(data) -- keep holds the buffer during the call
  core.check(C.lam_npy_save(p, b, opts.overwrite and 1 or 0), "lam.save")
  keep = nil
  return p
end

function M.load(path)
  if type(path) ~= "string" then core.fail("lam.load: expected a file name, got " .. tostring(path)) end
  return bufm.wrap(core.checkptr(C.lam_npy_load(path), "lam.load"))
end

-- Member names are written in sorted order (a Lua table has no order of
-- its own), so the same table always gives the same archive bytes.
function M.savez(path, members, opts)
  opts = check_opts("lam.savez", opts, { overwrite = true, compress = true })
  if type(members) ~= "table" then core.fail("lam.savez: expected a table of name = buffer") end
  local level = opts.compress == true and 6 or opts.compress or 0
  if type(level) ~= "number" or level < 0 or level > 9 or level ~= math.floor(level) then
    core.fail("lam.savez: compress = " .. tostring(opts.compress) .. ", expected true or 0..9")
  end
  local names = {}
  for k in pairs(members) do
    if type(k) ~= "string" then core.fail("lam.savez: member names must be strings, got " .. tostring(k)) end
    names[#names + 1] = k
  end
  table.sort(names)
  local p = out_path("lam.savez", path)
  local w = core.checkptr(C.lam_npz_open(p, level, opts.overwrite and 1 or 0), "lam.savez")
  for _, k in ipairs(names) do
    local ok, b, keep = pcall(bufm.coerce, members[k])
    local rc = ok and C.lam_npz_add(w, k, b) or -1
    keep = nil -- it held the buffer during the add
    if rc ~= 0 then
      local msg = ok and ffi.string(C.lam_last_error()) or tostring(b)
      C.lam_npz_discard(w)
      core.fail("lam.savez: member '" .. k .. "': " .. msg)
    end
  end
  core.check(C.lam_npz_close(w), "lam.savez")
  return p
end

function M.npz_names(path)
  if type(path) ~= "string" then core.fail("lam.npz_names: expected a file name, got " .. tostring(path)) end
  local n = C.lam_npz_names(path, nil, 0)
  if n < 0 then core.check(tonumber(n), "lam.npz_names") end
  local out = ffi.new("char[?]", n)
  core.check(C.lam_npz_names(path, out, n) < 0 and -1 or 0, "lam.npz_names")
  local names = {}
  for name in ffi.string(out):gmatch("[^\n]+") do names[#names + 1] = name end
  return names
end

function M.loadz(path)
  local t = {}
  for _, name in ipairs(M.npz_names(path)) do
    t[name] = bufm.wrap(core.checkptr(C.lam_npz_load(path, name), "lam.loadz"))
  end
  return t
end

return M
