/*
 * lua_host.c - the one file that embeds LuaJIT: runs an experiment script
 * for `lamina run`.  The script reaches the core through the FFI (the Lua
 * library); this file only prepares the state (package.path, the run
 * context) and reports errors and the script's returned table.
 */
#include "cmd_int.h"
#include "lamina.h"

#include <cjson/cJSON.h>
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
    "  elseif type(v) == 'table' and v._b then v = '(buffer ' .. v:dtype() .. ' [' .. table.concat(v:shape(), ', ') .. '])'\n"
    "  elseif type(v) == 'table' then v = '(table of ' .. #v .. ')' end\n"
    "  print(k .. ' = ' .. tostring(v))\n"
    "end\n";

/* ---- Lua values to JSON (run.json, result.json) ------------------- */

static cJSON *to_json(lua_State *L, int idx, int depth);

static int is_array(lua_State *L, int idx, size_t *n) {
  *n = lua_objlen(L, idx);
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
    if (lua_type(L, -1) != LUA_TNUMBER) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return count == *n && *n > 0;
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Objects are written with their keys sorted, so the same table always
 * gives the same bytes (Lua's own order varies between runs). */
static cJSON *table_json(lua_State *L, int idx, int depth) {
  size_t n;
  if (is_array(L, idx, &n)) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, (int)i);
      cJSON_AddItemToArray(a, to_json(L, lua_gettop(L), depth + 1));
      lua_pop(L, 1);
    }
    return a;
  }
  size_t cap = 16, k = 0;
  char **keys = malloc(cap * sizeof *keys);
  lua_pushnil(L);
  while (keys && lua_next(L, idx)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    const char *ks = lua_tostring(L, -1); /* on the copy: lua_next needs the original */
    if (k == cap) {
      char **grown = realloc(keys, 2 * cap * sizeof *keys);
      if (!grown) break;
      keys = grown;
      cap *= 2;
    }
    keys[k++] = strdup(ks ? ks : "?");
    lua_pop(L, 1);
  }
  /* An empty table is an object unless its metatable says __json =
   * "array" (lua/lamina/run.lua marks its lists so). */
  if (k == 0 && luaL_getmetafield(L, idx, "__json")) {
    int arr = lua_isstring(L, -1) && !strcmp(lua_tostring(L, -1), "array");
    lua_pop(L, 1);
    if (arr) {
      free(keys);
      return cJSON_CreateArray();
    }
  }
  cJSON *o = cJSON_CreateObject();
  if (!keys) return o;
  qsort(keys, k, sizeof *keys, cmp_keys);
  for (size_t i = 0; i < k; i++) {
    lua_getfield(L, idx, keys[i]);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushnumber(L, strtod(keys[i], NULL));
      lua_gettable(L, idx);
    }
    cJSON_AddItemToObject(o, keys[i], to_json(L, lua_gettop(L), depth + 1));
    lua_pop(L, 1);
    free(keys[i]);
  }
  free(keys);
  return o;
}

static cJSON *to_json(lua_State *L, int idx, int depth) {
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
  case LUA_TNUMBER: return cJSON_CreateNumber(lua_tonumber(L, idx)); /* NaN/Inf: null */
  case LUA_TSTRING: return cJSON_CreateString(lua_tostring(L, idx));
  case LUA_TTABLE:
    if (depth < 64) return table_json(L, idx, depth);
    return cJSON_CreateString("(nested too deep)");
  default: return cJSON_CreateNull();
  }
}

/* Calls require("lamina.run").<fn>(arg at stack index `arg`, or none);
 * leaves its results (nres) on the stack.  Returns 0 or a Lua error. */
static int call_run(lua_State *L, int eh, const char *fn, int arg, int nres) {
  lua_getglobal(L, "require");
  lua_pushstring(L, "lamina.run");
  if (lua_pcall(L, 1, 1, eh) != 0) return 1;
  lua_getfield(L, -1, fn);
  lua_remove(L, -2);
  int nargs = 0;
  if (arg) {
    lua_pushvalue(L, arg);
    nargs = 1;
  }
  return lua_pcall(L, nargs, nres, eh);
}

int lam__lua_run(const lam__run_opts *o) {
  /* Where the results went is news on a terminal, noise in a pipeline. */
  int tell = isatty(2) && !o->quiet;
  lam__rundir *rd = lam__rundir_begin(o);
  if (!rd) return 1;
  char error[1024] = "";
  cJSON *info = NULL, *result = NULL;
  lua_State *L = luaL_newstate();
  if (!L) {
    snprintf(error, sizeof error, "cannot create a Lua state (out of memory)");
    fprintf(stderr, "lamina: %s\n", error);
    lam__rundir_end(rd, NULL, NULL, error);
    return 1;
  }
  luaL_openlibs(L);
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
  set_field_str(L, "out", lam__rundir_path(rd));
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

  int ret = 0; /* stack index of the script's returned value */
  if (luaL_loadfile(L, o->script) != 0 || lua_pcall(L, 0, 1, eh) != 0) {
    snprintf(error, sizeof error, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
  } else {
    ret = lua_gettop(L);
  }
  /* Command-line parameters the script never read are mistakes (a typo
   * would otherwise silently run the defaults). */
  if (!*error && o->nkv > 0) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_getfield(L, -1, "lamina.hostcontext");
    lua_getfield(L, -1, "params_used");
    int used = lua_toboolean(L, -1);
    lua_pop(L, 4);
    if (!used)
      snprintf(error, sizeof error,
               "%s takes no parameters (it never calls lam.params), but %s was given",
               o->script, o->kv[0]);
  }
  if (*error) fprintf(stderr, "lamina: %s\n", error);
  /* Recordings reach the run directory whether the script completed or
   * not: a failed run's data is what one looks at to see why. */
  if (call_run(L, eh, "finish", 0, 2) != 0) {
    fprintf(stderr, "lamina: saving the recordings: %s\n", lua_tostring(L, -1));
    if (!*error) snprintf(error, sizeof error, "saving the recordings: %s", lua_tostring(L, -1));
    lua_pop(L, 1);
  } else {
    int errs = lua_gettop(L);
    for (size_t i = 1; i <= lua_objlen(L, errs); i++) {
      lua_rawgeti(L, errs, (int)i);
      fprintf(stderr, "lamina: %s\n", lua_tostring(L, -1));
      if (!*error) snprintf(error, sizeof error, "%s", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    info = to_json(L, errs - 1, 0);
    lua_pop(L, 2);
  }
  if (ret && !lua_isnil(L, ret)) {
    if (call_run(L, eh, "plain", ret, 1) != 0) {
      fprintf(stderr, "lamina: the returned value: %s\n", lua_tostring(L, -1));
      if (!*error) snprintf(error, sizeof error, "the returned value: %s", lua_tostring(L, -1));
    } else {
      result = to_json(L, lua_gettop(L), 0);
      if (!cJSON_IsObject(result) && !cJSON_IsArray(result)) {
        /* result.json always holds an object: a bare value is "value". */
        cJSON *wrap = cJSON_CreateObject();
        cJSON_AddItemToObject(wrap, "value", result);
        result = wrap;
      }
    }
    lua_pop(L, 1);
    if (!*error && luaL_loadstring(L, print_result) == 0) {
      lua_pushvalue(L, ret);
      if (lua_pcall(L, 1, 0, eh) != 0) lua_pop(L, 1);
    }
  }
  lua_close(L);
  if (tell) fprintf(stderr, "lamina: run directory %s\n", lam__rundir_path(rd));
  int bad = lam__rundir_end(rd, info, result, *error ? error : NULL);
  return *error || bad ? 1 : 0;
}
