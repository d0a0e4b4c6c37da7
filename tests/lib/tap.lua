-- tap.lua: a small TAP 13 producer for lamina's Lua tests (Debian's prove
-- rejects TAP 14 version lines).  Exits with the number of failures.
local M = { n = 0, failed = 0 }

function M.plan(n)
  io.write("TAP version 13\n1..", n, "\n")
  M.planned = n
end

function M.diag(...)
  local s = table.concat({ ... }, " ")
  for line in (s .. "\n"):gmatch("(.-)\n") do io.write("# ", line, "\n") end
end

function M.ok(cond, name)
  M.n = M.n + 1
  io.write(cond and "ok " or "not ok ", M.n, " - ", name, "\n")
  if not cond then M.failed = M.failed + 1 end
  io.flush()
  return cond
end

function M.is(got, want, name)
  local good = got == want
  if not M.ok(good, name) then M.diag("got: " .. tostring(got), "expected: " .. tostring(want)) end
  return good
end

-- |got - want| <= tol, the tolerance stated by the caller.
function M.near(got, want, tol, name)
  local good = type(got) == "number" and math.abs(got - want) <= tol
  if not M.ok(good, name) then
    M.diag(string.format("got %.17g, expected %.17g (tolerance %g)", tonumber(got) or 0 / 0, want, tol))
  end
  return good
end

-- fn must raise an error whose message contains every given substring.
function M.raises(fn, subs, name)
  local ok, err = pcall(fn)
  local good = not ok
  for _, s in ipairs(type(subs) == "table" and subs or { subs }) do
    good = good and tostring(err):find(s, 1, true) ~= nil
  end
  if not M.ok(good, name) then M.diag(ok and "no error raised" or ("message: " .. tostring(err))) end
  return good, err
end

function M.like(s, sub, name)
  local good = type(s) == "string" and s:find(sub, 1, true) ~= nil
  if not M.ok(good, name) then M.diag("'" .. tostring(s) .. "' does not contain '" .. sub .. "'") end
  return good
end

-- Runs a shell command; returns its stdout and stderr together, and its
-- exit status.
function M.sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"status=$?\"")
  local out = p:read("*a")
  p:close()
  local status = tonumber(out:match("status=(%d+)%s*$"))
  return (out:gsub("status=%d+%s*$", "")), status
end

-- Like `like`, with a Lua pattern instead of a plain substring.
function M.match(s, pattern, name)
  local good = type(s) == "string" and s:find(pattern) ~= nil
  if not M.ok(good, name) then M.diag("'" .. tostring(s) .. "' does not match '" .. pattern .. "'") end
  return good
end

function M.done()
  if M.planned and M.planned ~= M.n then
    M.diag("planned " .. M.planned .. " tests but ran " .. M.n)
    if M.failed == 0 then M.failed = 1 end
  end
  os.exit(M.failed > 254 and 254 or M.failed)
end

return M
