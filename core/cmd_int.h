/*
 * cmd_int.h - private interface between the parts of the `lamina` command
 * (main.c, lua_host.c, check.c).  Not part of liblamina.
 */
#ifndef LAM_CMD_INT_H
#define LAM_CMD_INT_H

#include <stddef.h>
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
  int valgrind;                /* plugin check --valgrind */
  const char *dir;             /* plugin new --dir DIR or NULL */
  const char *why;             /* plugins --why NAME or NULL */
  int argc;                    /* the whole command line, for run.json */
  char **argv;
} lam__run_opts;

/* Runs a script in a fresh LuaJIT state; prints the returned table.
 * Returns the process exit status (0 ok, 1 script error). */
int lam__lua_run(const lam__run_opts *o);

/* `lamina plugin check FILE.so [--valgrind]`: a TAP conformance suite on
 * stdout (check.c).  Returns the exit status (0 when every test passed). */
int lam__plugin_check(const char *path, int valgrind);

/* `lamina plugin new NAME [--dir DIR]`: writes a plugin skeleton into DIR
 * (default ./NAME), refusing an existing directory (plugin_new.c).
 * Returns the exit status. */
int lam__plugin_new(const char *name, const char *dir);

/* File helpers of the command (cmdfs.c).  mkdir -p (0 or -1 with errno);
 * the whole file as a NUL-terminated malloc'ed string, or NULL; atomic
 * replacement of `path` (temporary file in the same directory, then
 * rename; with durable != 0 the file and its directory are fsync'ed),
 * 0 or -1 with errno; the same for a JSON document (pretty-printed, with
 * a final newline), and reading one back (NULL when missing or invalid). */
struct cJSON;
int lam__mkdirs(const char *path);
char *lam__slurp(const char *path);
int lam__write_atomic(const char *path, const char *text, size_t n, int durable);
int lam__write_json(const char *path, const struct cJSON *j, int durable);
struct cJSON *lam__read_json(const char *path);

/* The run directory of `lamina run` (rundir.c).  begin creates it (--out
 * DIR, or $LAMINA_RUNS/<script>/<run-id> with LAMINA_RUNS defaulting to
 * "runs"), copies the script, writes run.json with status RUNNING and
 * starts copying stdout and stderr into its log; NULL after printing why.
 * end stops the log, writes result.json (if result), merges the members of
 * info into run.json and writes it with status COMPLETED, or FAILED with
 * `error`; it takes ownership of info and result and frees r. */
typedef struct lam__rundir lam__rundir;
lam__rundir *lam__rundir_begin(const lam__run_opts *o);
const char *lam__rundir_path(const lam__rundir *r);
int lam__rundir_end(lam__rundir *r, struct cJSON *info, struct cJSON *result,
                    const char *error);

#endif
