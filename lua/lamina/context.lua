-- lamina.context: what the `lamina run` command tells a script (its
-- command-line parameters, seed, output directory and plugin path).  The
-- command leaves its table in package.loaded["lamina.hostcontext"] and this
-- module returns that same table (so what the script marks, such as
-- params_used, is seen by the command); a script run by a plain `luajit`
-- gets these defaults instead.
local context = package.loaded["lamina.hostcontext"] or {
  params = {},        -- key = "value" strings from the command line
  params_used = false,
  seed = 1,           -- the fixed default root seed (recorded, never from the clock)
  seed_given = false,
  plugin_path = {},   -- --plugin-path directories
  script = nil,
  out = nil,
}

-- Where a script's output file named `path` goes: relative names land in the
-- run directory when the command made one (context.out), else they stay
-- relative to the working directory.  Absolute paths are kept.
function context.resolve(path)
  if type(path) ~= "string" or path == "" then
    error("output path: expected a non-empty string, got " .. tostring(path), 2)
  end
  if path:sub(1, 1) == "/" or not context.out then return path end
  return context.out .. "/" .. path
end

return context
