#!/usr/bin/env luajit
-- Layout: ffi.sizeof / ffi.offsetof of every public struct (as LuaJIT
-- reads the generated lua/lamina/cdef.lua) equal the C compiler's sizeof /
-- offsetof, for every field.  The C side is a program generated from the
-- same struct list and compiled here with cc.
local tap = require "tap"
local lam = require "lamina"
local ffi = require "ffi"

local root = arg[0]:match("^(.*)/tests/lua/[^/]*$") or "."
local f = assert(io.open(root .. "/lua/lamina/cdef.lua"))
local src = f:read("*a")
f:close()

-- Every "typedef struct NAME { ... } NAME;" and its field names.
local structs = {}
for name, body in src:gmatch("typedef struct ([%w_]+) (%b{})") do
  local fields = {}
  for decl in body:sub(2, -2):gmatch("([^;]+);") do
    decl = decl:gsub("%s+", " ")
    local fname = decl:match("%(%s*%*%s*([%w_]+)%s*%)") -- function pointer
      or decl:match("([%w_]+)%s*%[[^%]]*%]%s*$")           -- array
      or decl:match("([%w_]+)%s*$")
    fields[#fields + 1] = fname
  end
  structs[#structs + 1] = { name = name, fields = fields }
end

local n = 0
for _, s in ipairs(structs) do n = n + 1 + #s.fields end
tap.plan(n + 2)
tap.ok(#structs >= 10, "found the public structs in cdef.lua (" .. #structs .. ")")

-- The C side.
local tmp = os.tmpname()
local c = { "#include <stddef.h>", "#include <stdio.h>", "#include \"lamina.h\"", "int main(void) {" }
for _, s in ipairs(structs) do
  c[#c + 1] = ('printf("%s %%zu\\n", sizeof(%s));'):format(s.name, s.name)
  for _, fld in ipairs(s.fields) do
    c[#c + 1] = ('printf("%s.%s %%zu\\n", offsetof(%s, %s));'):format(s.name, fld, s.name, fld)
  end
end
c[#c + 1] = "return 0; }"
local cf = io.open(tmp .. ".c", "w")
cf:write(table.concat(c, "\n"))
cf:close()
local cc = os.getenv("CC") or "cc"
local built = os.execute(("%s -std=c11 -I%s/core/include -o %s %s.c"):format(cc, root, tmp, tmp))
tap.ok(built == 0 or built == true, "compiled the C layout probe with " .. cc)
local want = {}
local p = io.popen(tmp)
for line in p:lines() do
  local k, v = line:match("^(%S+) (%d+)$")
  want[k] = tonumber(v)
end
p:close()
os.remove(tmp)
os.remove(tmp .. ".c")

for _, s in ipairs(structs) do
  tap.is(ffi.sizeof(s.name), want[s.name], "sizeof(" .. s.name .. ")")
  for _, fld in ipairs(s.fields) do
    tap.is(ffi.offsetof(s.name, fld), want[s.name .. "." .. fld], "offsetof(" .. s.name .. ", " .. fld .. ")")
  end
end
tap.done()
