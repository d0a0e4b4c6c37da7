/*
 * lua_host.c - the one file that embeds LuaJIT: runs an experiment script
 * for `lamina run`.  The script reaches the core through the FFI (the Lua
 * library); this file only prepares the state (package.path, the run
 * context) and reports errors and the script's returned table.
 */
#include "cmd_int.h"
#include "lamina.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The directory that holds lamina/init.lua: <exe>/../share/lua/5.1 in
 * both the install and the build tree (which mirrors it). */
static void lua_dir(char *out, size_t n) {
  char exe[PATH_MAX];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  out[0] = '\0';
  if (k <= 0) return;
  exe[k] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return;
  *slash = '\0';
  snprintf(out, n, "%s/../share/lua/5.1", exe);
}

/* The error handler: keep the message, add a traceback only when asked
 * (LAMINA_DEBUG), because users want one clear line. */
static int on_error(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = "(error object is not a string)";
  if (getenv("LAMINA_DEBUG")) {
    luaL_traceback(L, L, msg, 1);
    return 1;
  }
  lua_pushstring(L, msg);
  return 1;
}

static void set_field_str(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

/* Prints the returned table as sorted "key = value" lines, via Lua for
 * the formatting (numbers as %.6g, nested tables summarised). */
static const char *print_result =
    "local t = ...\n"
    "if type(t) ~= 'table' then if t ~= nil then print(tostring(t)) end return end\n"
    "local keys = {}\n"
    "for k in pairs(t) do keys[#keys + 1] = tostring(k) end\n"
    "table.sort(keys)\n"
    "for _, k in ipairs(keys) do\n"
    "  local v = t[k]; if v == nil then v = t[tonumber(k)] end\n"
    "  if type(v) == 'number' then v = string.format('%.6g', v)\n"
    "  elseif type(v) == 'table' then v = '(table of ' .. #v .. ')' end\n"
    "  print(k .. ' = ' .. tostring(v))\n"
    "end\n";

int lam__lua_run(const lam__run_opts *o) {
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "lamina: cannot create a Lua state (out of memory)\n");
    return 1;
  }
  luaL_openlibs(L);
  int status = 1;
  lua_pushcfunction(L, on_error);
  int eh = lua_gettop(L);

  /* package.path: lamina's own Lua directory first, then the user's. */
  char dir[PATH_MAX + 32];
  lua_dir(dir, sizeof dir);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  const char *old = lua_tostring(L, -1);
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, old ? old : "");
  lua_setfield(L, -3, "path");
  lua_pop(L, 1);

  /* package.loaded["lamina.hostcontext"]: what the script learns of its run
   * (lua/lamina/context.lua returns this table). */
  lua_getfield(L, -1, "loaded");
  lua_newtable(L);
  lua_newtable(L);
  for (int i = 0; i < o->nkv; i++) {
    const char *eq = strchr(o->kv[i], '=');
    lua_pushlstring(L, o->kv[i], (size_t)(eq - o->kv[i]));
    lua_pushstring(L, eq + 1);
    lua_settable(L, -3);
  }
  lua_setfield(L, -2, "params");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "params_used");
  lua_pushnumber(L, (lua_Number)o->seed);
  lua_setfield(L, -2, "seed");
  lua_pushboolean(L, o->seed_given);
  lua_setfield(L, -2, "seed_given");
  lua_newtable(L);
  for (int i = 0; i < o->npath; i++) {
    lua_pushstring(L, o->plugin_path[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "plugin_path");
  set_field_str(L, "script", o->script);
  if (o->out) set_field_str(L, "out", o->out);
  lua_setfield(L, -2, "lamina.hostcontext");
  lua_pop(L, 2);

  /* The global `arg`, as plain luajit sets it. */
  lua_newtable(L);
  lua_pushstring(L, o->script);
  lua_rawseti(L, -2, 0);
  for (int i = 0; i < o->nkv; i++) {
    lua_pushstring(L, o->kv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setglobal(L, "arg");

  if (luaL_loadfile(L, o->script) != 0) {
    fprintf(stderr, "lamina: %s\n", lua_tostring(L, -1));
    goto done;
  }
  if (lua_pcall(L, 0, 1, eh) != 0) {
    fprintf(stderr, "lamina: %s\n", lua_tostring(L, -1));
    goto done;
  }
  /* Command-line parameters the script never read are mistakes (a typo
   * would otherwise silently run the defaults). */
  if (o->nkv > 0) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_getfield(L, -1, "lamina.hostcontext");
    lua_getfield(L, -1, "params_used");
    int used = lua_toboolean(L, -1);
    lua_pop(L, 4);
    if (!used) {
      fprintf(stderr,
              "lamina: %s takes no parameters (it never calls lam.params), but %s was given\n",
              o->script, o->kv[0]);
      goto done;
    }
  }
  if (luaL_loadstring(L, print_result) == 0) {
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 0, eh) != 0) {
      fprintf(stderr, "lamina: printing the result: %s\n", lua_tostring(L, -1));
      goto done;
    }
  }
  status = 0;
done:
  lua_close(L);
  return status;
}
