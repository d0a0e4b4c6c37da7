/*
 * cmd_int.h - private interface between the parts of the `lamina` command
 * (main.c, lua_host.c, check.c).  Not part of liblamina.
 */
#ifndef LAM_CMD_INT_H
#define LAM_CMD_INT_H

#include <stdint.h>

typedef struct lam__run_opts {
  const char *script;
  char **kv;                   /* key=value strings */
  int nkv;
  char **plugin_path;
  int npath;
  uint64_t seed;
  int seed_given;
  const char *out;             /* --out DIR or NULL */
  int quiet;
} lam__run_opts;

/* Runs a script in a fresh LuaJIT state; prints the returned table.
 * Returns the process exit status (0 ok, 1 script error). */
int lam__lua_run(const lam__run_opts *o);

/* `lamina plugin check FILE.so`: a TAP conformance suite on stdout.
 * Returns the exit status (0 when every test passed). */
int lam__plugin_check(const char *path);

#endif
