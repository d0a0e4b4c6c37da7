/*
 * sweep_int.h - private interface of `lamina sweep` (not part of liblamina):
 * the protocol file (yaml.c), its expansion into points (plan.c) and the
 * runner (sweep.c).  docs/protocols.md is the user's reference.
 *
 * Everything a protocol and its plan allocate lives in one arena, freed at
 * once by lam__arena_free: the command is short-lived and the structures
 * are shared between points, so per-object ownership would buy nothing.
 */
#ifndef LAM_SWEEP_INT_H
#define LAM_SWEEP_INT_H

#include <stddef.h>
#include <stdint.h>

/* ---- arena ---------------------------------------------------------- */
typedef struct lam__arena lam__arena;
lam__arena *lam__arena_new(void);
/* Zeroed memory; NULL only when out of memory. */
void *lam__arena_alloc(lam__arena *a, size_t n);
char *lam__arena_strdup(lam__arena *a, const char *s);
void lam__arena_free(lam__arena *a);

/* ---- values ----------------------------------------------------------- */
enum { LAM__V_NUM = 1, LAM__V_BOOL = 2, LAM__V_STR = 3 };
typedef struct lam__val {
  int kind;                    /* LAM__V_* */
  double num;                  /* LAM__V_NUM */
  int b;                       /* LAM__V_BOOL */
  const char *str;             /* LAM__V_STR */
  int line, col;               /* where it was written (1-based); 0 = command line */
} lam__val;

/* A parameter assignment: key, value and where the key was written. */
typedef struct lam__kv {
  const char *key;
  lam__val v;
  int line, col;
} lam__kv;

/* The canonical text of a value: numbers that are whole and below 2^53 as
 * integers, others as the shortest %.Ng that reads back exactly; booleans
 * as true/false; strings as they are.  This is what `lamina run` gets as
 * key=value and what the point ids hash, so 1, 1.0 and 1e0 are one point. */
void lam__val_text(const lam__val *v, char *out, size_t n);

/* ---- protocol (yaml.c) ------------------------------------------------ */
enum {
  LAM__S_GRID = 1, LAM__S_LIST, LAM__S_ZIP, LAM__S_RANDOM, LAM__S_PRODUCT, LAM__S_UNION
};
enum { LAM__D_UNIFORM = 1, LAM__D_LOGUNIFORM, LAM__D_NORMAL, LAM__D_CHOICE, LAM__D_INTEGER };

typedef struct lam__axis {     /* a grid/zip key with its values, or a random key */
  const char *key;
  int line, col;
  int nvals;
  lam__val *vals;              /* grid, zip, choice */
  int dist;                    /* random: LAM__D_* */
  double a, b;                 /* random: bounds, or mean and sd */
} lam__axis;

typedef struct lam__sweep lam__sweep;
typedef struct lam__factor {
  int kind;                    /* LAM__S_* */
  int line, col;
  int naxes;
  lam__axis *axes;             /* grid, zip, random */
  int npoints;
  lam__kv **points;            /* list: npoints rows ... */
  int *point_len;              /* ... of point_len[i] assignments */
  int64_t n;                   /* random: number of samples */
  uint64_t seed;               /* random: its seed */
  int nsub;
  lam__sweep **sub;            /* product, union */
} lam__factor;

/* A mapping under `sweep:` (or inside product/union): the product of its
 * factors in the order written, the first varying slowest. */
struct lam__sweep {
  int nfactors;
  lam__factor *factors;
  int line, col;
};

typedef struct lam__pin {
  const char *name, *sha256, *min_version;
  int line, col;
} lam__pin;

typedef struct lam__slurm {
  long time_s;                 /* per point; 0 = not given (one hour) */
  int max_array;               /* most array tasks (default 1000) */
  int concurrent;              /* %K throttle; 0 = none */
  int cpus;                    /* --cpus-per-task (default 1) */
  const char *partition, *account, *mem;
  int nextra;
  const char **extra;          /* further #SBATCH option lines */
} lam__slurm;

typedef struct lam__protocol {
  lam__arena *arena;
  const char *file;            /* as given */
  const char *dir;             /* its directory (relative paths are from here) */
  const char *name;
  const char *description;
  const char *script;          /* resolved path */
  int script_line, script_col;
  const char *out;             /* resolved output directory */
  uint64_t seed;               /* root seed (default 1) */
  int nparams;
  lam__kv *params;             /* base parameters */
  lam__sweep *sweep;           /* NULL: a single point */
  int replicates;              /* >= 1 */
  int npins;
  lam__pin *pins;
  lam__slurm slurm;
} lam__protocol;

/* Reads and checks a protocol file.  NULL with a one-line message
 * "FILE:LINE:COL: what, (did you mean ...)" in err. */
lam__protocol *lam__protocol_load(const char *path, char *err, size_t errn);
void lam__protocol_free(lam__protocol *p);
/* Parses a command-line value with the same rules as a plain YAML scalar
 * (true/false, numbers, else a string). */
int lam__scalar(lam__arena *a, const char *text, lam__val *out, char *err, size_t errn);
/* The closest of `cands` (NULL-terminated) to `word` within a small edit
 * distance, or NULL. */
const char *lam__suggest(const char *word, const char *const *cands);

/* ---- plan (plan.c) ------------------------------------------------------- */
typedef struct lam__point {
  int index;                   /* position in the expansion order */
  int replicate;
  uint64_t seed;               /* derived: lam_seed_derive(root, H(params), replicate) */
  int nparams;
  lam__kv *params;             /* resolved, sorted by key, `seed` excluded */
  char id[13];                 /* 12 hex digits of SHA-256(canonical JSON) */
  const char *canon;           /* canonical JSON of params and seed */
} lam__point;

typedef struct lam__plan {
  int npoints;
  lam__point *points;
  int merged;                  /* duplicate points merged (same params and seed) */
} lam__plan;

/* Expands the sweep, applies the base parameters under and the overrides
 * (key=value strings) over every point, derives seeds and ids.  Returns 0,
 * or -1 with a one-line message in err. */
int lam__plan_build(lam__protocol *p, char **overrides, int noverrides, lam__plan *out,
                    char *err, size_t errn);
/* Hex SHA-256 of a string / of a file (65 bytes out); 0 or -1. */
void lam__sha256_text(const char *s, size_t n, char out[65]);
int lam__sha256_file(const char *path, char out[65]);

/* ---- the command (sweep.c) ------------------------------------------------ */
/* `lamina sweep ...` with the whole command line; returns the exit status. */
int lam__sweep_main(int argc, char **argv);
/* `lamina run SCRIPT --list-params`: prints the script's parameters with
 * their types and defaults.  Returns the exit status. */
struct lam__run_opts;
int lam__list_params(const struct lam__run_opts *o);

#endif
