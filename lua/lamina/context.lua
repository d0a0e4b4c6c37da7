-- lamina.context: what the `lamina run` command tells a script (its
-- command-line parameters, seed, output directory and plugin path).  The
-- command preloads this module with its own table; a script run by a
-- plain `luajit` gets these defaults instead.
return {
  params = {},        -- key = "value" strings from the command line
  params_used = false,
  seed = 1,           -- the fixed default root seed (recorded, never from the clock)
  seed_given = false,
  plugin_path = {},   -- --plugin-path directories
  script = nil,
  out = nil,
}
