/*
 * sweep.c - `lamina sweep PROTOCOL.yaml`: runs the points of a protocol
 * (yaml.c, plan.c), each as a child `lamina run` in its own directory, and
 * gathers their results.  docs/protocols.md is the user's reference.
 *
 * Why C and not Lua: the runner is process management (fork/exec of
 * /proc/self/exe, waitpid, PR_SET_PDEATHSIG, flock, signals) and atomic
 * file work, which C does directly; the command needs no Lua state of its
 * own (each point gets a fresh one in its child), and libyaml is a C
 * library.
 *
 * OUT/
 *   sweep.json              the protocol, script SHA-256, number of points
 *   points.tsv              the plan: index, id, replicate, seed, params (JSON)
 *   points/<id>/point.json  the resolved point and its definition hash; the
 *                           error when the child died without saying why
 *   points/<id>/lock        flock'ed while a sweep runs the point
 *   points/<id>/stderr      what the child wrote to stderr
 *   points/<id>/run/        the `lamina run --out` directory (run.json,
 *                           result.json, log, ...); earlier attempts are
 *                           moved to points/<id>/attempt-<k>/
 *   results.csv, results.npz  completed points only, rewritten atomically
 *
 * A point's state is a pure function of these files, so any process (a
 * rerun, another shard, --status) reaches the same verdict:
 *   COMPLETED  run/run.json says COMPLETED, point.json's definition (the
 *              SHA-256 of the canonical point and the script's SHA-256)
 *              matches, and no returned scalar is NaN or infinite
 *   CONFLICT   completed, but under another definition (the script
 *              changed): refused unless --force
 *   FAILED     run.json says FAILED, the child died (point.json has the
 *              error), or a returned scalar was not finite
 *   RUNNING    another process holds the point's lock
 *   INCOMPLETE anything else in the directory (a killed attempt)
 *   MISSING    no directory
 * Children get PR_SET_PDEATHSIG=SIGKILL, so when the sweep is killed its
 * points die with it and are INCOMPLETE for the next run; run.json reaches
 * COMPLETED by an atomic rename after result.json, so a completed point is
 * never half-written and is never run again.
 */
#include "cmd_int.h"
#include "lamina.h"
#include "sweep_int.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { ST_MISSING, ST_INCOMPLETE, ST_RUNNING, ST_FAILED, ST_CONFLICT, ST_COMPLETED };
static const char *const state_name[] = {"missing", "incomplete", "running", "failed", "conflict",
                                         "completed"};

typedef struct opts {
  const char *protocol;
  int jobs;
  int shard_i, shard_n;
  const char *shard_from;      /* "--shard" or the environment variable */
  int status, force, gather, quiet, plan;
  int no_check;                /* --no-check-models */
  const char *emit;
  const char *out;
  char **kv;
  int nkv;
  char **ppath;
  int npath;
} opts;

static char exe[PATH_MAX];

static double now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* ---- files ----------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}
static int rm_rf(const char *path) { return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* The last non-empty line of a file, without a leading "lamina: ". */
static void last_line(const char *path, char *out, size_t n) {
  out[0] = '\0';
  char *s = lam__slurp(path);
  if (!s) return;
  size_t len = strlen(s);
  while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ')) s[--len] = '\0';
  char *l = strrchr(s, '\n');
  l = l ? l + 1 : s;
  if (!strncmp(l, "lamina: ", 8)) l += 8;
  snprintf(out, n, "%s", l);
  free(s);
}

/* Starts `exe` with argv: stdin from /dev/null, stdout to `out` (NULL:
 * /dev/null), stderr to `err` (NULL: like stdout), LAMINA_LIST_PARAMS set
 * to `listing` or unset.  The child dies with this process
 * (PR_SET_PDEATHSIG): a killed sweep leaves no orphan that could complete
 * a point behind the back of the next run.  The environment is passed on
 * as it is: forcing OPENBLAS_NUM_THREADS=1 was measured to slow a trivial
 * point's start from 34 to 62 ms (best of 30) on the 2-core CI machine. */
static pid_t spawn(char **argv, const char *out, const char *err, const char *listing) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(137);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  int nul = open("/dev/null", O_RDWR);
  int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : nul;
  int e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644) : o;
  if (nul >= 0) dup2(nul, 0);
  if (o >= 0) dup2(o, 1);
  if (e >= 0) dup2(e, 2);
  if (listing) setenv("LAMINA_LIST_PARAMS", listing, 1);
  else unsetenv("LAMINA_LIST_PARAMS");
  execv(exe, argv);
  fprintf(stderr, "lamina: cannot run %s: %s\n", exe, strerror(errno));
  _exit(127);
}

/* ---- the script's parameters (lamina run --list-params) ------------------- */
typedef struct sparam {
  char *name, *type, *def;
} sparam;
typedef struct sparams {
  int n, declared;             /* declared: the script calls lam.params */
  sparam *p;
} sparams;

static void sparams_free(sparams *s) {
  for (int i = 0; i < s->n; i++) free(s->p[i].name);
  free(s->p);
  s->p = NULL;
  s->n = 0;
}

/* Runs the script as `lamina run` with LAMINA_LIST_PARAMS set: lam.params
 * writes its defaults to a file and exits before the script does any work. */
static int script_params(const char *script, char **ppath, int npath, sparams *out, char *err,
                         size_t errn) {
  memset(out, 0, sizeof *out);
  const char *td = getenv("TMPDIR");
  char dir[PATH_MAX], list[PATH_MAX + 32], run[PATH_MAX + 32], log[PATH_MAX + 32];
  snprintf(dir, sizeof dir, "%s/lamina-params-XXXXXX", td && *td ? td : "/tmp");
  if (!mkdtemp(dir)) {
    snprintf(err, errn, "cannot make a temporary directory in %s: %s", td && *td ? td : "/tmp", strerror(errno));
    return -1;
  }
  snprintf(list, sizeof list, "%s/params.tsv", dir);
  snprintf(run, sizeof run, "%s/run", dir);
  snprintf(log, sizeof log, "%s/output", dir);
  char **argv = calloc((size_t)(8 + 2 * npath), sizeof *argv);
  if (!argv) {
    rm_rf(dir);
    snprintf(err, errn, "out of memory");
    return -1;
  }
  int a = 0;
  argv[a++] = exe;
  argv[a++] = "run";
  argv[a++] = (char *)script;
  argv[a++] = "--out";
  argv[a++] = run;
  argv[a++] = "--quiet";
  for (int i = 0; i < npath; i++) {
    argv[a++] = "--plugin-path";
    argv[a++] = ppath[i];
  }
  pid_t pid = spawn(argv, log, NULL, list);
  free(argv);
  int st = 0;
  while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  int rc = 0;
  char *text = lam__slurp(list);
  if (text) {
    out->declared = 1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
      if (!t2) continue;
      sparam *g = realloc(out->p, sizeof *g * (size_t)(out->n + 1));
      char *copy = strdup(line);
      if (!g || !copy) {
        free(copy);
        if (g) out->p = g;
        rc = -1;
        break;
      }
      out->p = g;
      copy[t1 - line] = copy[t2 - line] = '\0';
      out->p[out->n++] = (sparam){copy, copy + (t1 - line) + 1, copy + (t2 - line) + 1};
    }
    free(text);
    if (rc) snprintf(err, errn, "out of memory");
  } else if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    char why[512];
    last_line(log, why, sizeof why);
    if (pid < 0) snprintf(why, sizeof why, "fork: %s", strerror(errno));
    else if (WIFSIGNALED(st)) snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    snprintf(err, errn, "%s: cannot learn its parameters: %s", script, *why ? why : "it failed");
    rc = -1;
  }
  rm_rf(dir);
  return rc;
}

int lam__list_params(const lam__run_opts *o) {
  if (readlink("/proc/self/exe", exe, sizeof exe - 1) <= 0) snprintf(exe, sizeof exe, "lamina");
  sparams sp;
  char err[1024];
  if (script_params(o->script, o->plugin_path, o->npath, &sp, err, sizeof err)) {
    fprintf(stderr, "lamina: %s\n", err);
    return 1;
  }
  if (!sp.declared) printf("# %s takes no parameters (it never calls lam.params)\n", o->script);
  for (int i = 0; i < sp.n; i++) printf("%s\t%s\t%s\n", sp.p[i].name, sp.p[i].type, sp.p[i].def);
  sparams_free(&sp);
  return 0;
}

/* Every parameter of every point must be one the script declares, with a
 * value of its default's type; `seed` goes to --seed. */
static int check_params(const lam__protocol *p, const lam__plan *plan, const sparams *sp, char *err,
                        size_t errn) {
  char names[1024] = "";
  for (int i = 0; i < sp->n; i++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", sp->p[i].name);
  const char **cands = calloc((size_t)sp->n + 1, sizeof *cands);
  if (!cands) return -1;
  for (int i = 0; i < sp->n; i++) cands[i] = sp->p[i].name;
  int rc = 0;
  for (int i = 0; i < plan->npoints && !rc; i++) {
    const lam__point *pt = &plan->points[i];
    for (int k = 0; k < pt->nparams && !rc; k++) {
      const lam__kv *kv = &pt->params[k];
      char at[PATH_MAX + 64];
      if (kv->line) snprintf(at, sizeof at, "%s:%d:%d", p->file, kv->v.line ? kv->v.line : kv->line, kv->v.line ? kv->v.col : kv->col);
      else snprintf(at, sizeof at, "command line");
      const sparam *s = NULL;
      for (int j = 0; j < sp->n; j++)
        if (!strcmp(sp->p[j].name, kv->key)) s = &sp->p[j];
      if (!s) {
        if (kv->line) snprintf(at, sizeof at, "%s:%d:%d", p->file, kv->line, kv->col);
        const char *sug = lam__suggest(kv->key, cands);
        if (!sp->declared)
          snprintf(err, errn, "%s: parameter '%s': %s takes no parameters (it never calls lam.params)", at, kv->key, p->script);
        else if (sug)
          snprintf(err, errn, "%s: '%s' is not a parameter of %s (did you mean '%s'?)", at, kv->key, p->script, sug);
        else
          snprintf(err, errn, "%s: '%s' is not a parameter of %s; its parameters are: %s", at, kv->key, p->script, names);
        rc = -1;
        break;
      }
      int okt = (!strcmp(s->type, "number") && kv->v.kind == LAM__V_NUM) ||
                (!strcmp(s->type, "boolean") && kv->v.kind == LAM__V_BOOL) ||
                (!strcmp(s->type, "string") && kv->v.kind == LAM__V_STR);
      if (!okt) {
        char t[256];
        lam__val_text(&kv->v, t, sizeof t);
        const char *hint = !strcmp(s->type, "string") ? " (quote it to make it a string)"
                         : !strcmp(s->type, "boolean") ? " (true or false)" : "";
        if (strcmp(s->type, "number") && strcmp(s->type, "boolean") && strcmp(s->type, "string"))
          snprintf(err, errn, "%s: parameter '%s': its default in %s is a %s, which a protocol cannot set",
                   at, kv->key, p->script, s->type);
        else
          snprintf(err, errn, "%s: parameter '%s' = %s: %s expects a %s%s", at, kv->key, t, p->script,
                   s->type, hint);
        rc = -1;
      }
    }
  }
  free(cands);
  return rc;
}

/* ---- plugin pins ------------------------------------------------------------ */
static int check_pins(const lam__protocol *p, const opts *o, char *err, size_t errn) {
  if (!p->npins) return 0;
  lam_registry *r = lam_registry_new();
  if (!r) {
    snprintf(err, errn, "%s", lam_last_error());
    return -1;
  }
  int rc = 0;
  for (int i = 0; i < o->npath; i++) lam_registry_add_path(r, o->ppath[i]);
  for (int i = 0; i < p->npins && !rc; i++) {
    const lam__pin *pin = &p->pins[i];
    if (lam_registry_pin(r, pin->name, pin->sha256, pin->min_version) != LAM_OK ||
        !lam_registry_find(r, pin->name)) {
      snprintf(err, errn, "%s:%d:%d: plugin '%s' as pinned: %s", p->file, pin->line, pin->col, pin->name,
               lam_last_error());
      rc = -1;
    }
  }
  lam_registry_free(r);
  return rc;
}

/* ---- point states ----------------------------------------------------------- */
typedef struct pstate {
  int state;
  char error[512];
  cJSON *result;               /* COMPLETED: result.json (or NULL when none) */
} pstate;

static void point_dir(const char *out, const lam__point *pt, char *buf, size_t n) {
  snprintf(buf, n, "%s/points/%s", out, pt->id);
}

/* The definition a completed id must still have: the point and the
 * script's content. */
static void definition(const lam__point *pt, const char *script_sha, char out[65]) {
  size_t n = strlen(pt->canon) + 80;
  char *s = malloc(n);
  if (!s) {
    out[0] = '\0';
    return;
  }
  snprintf(s, n, "%s\n%s", pt->canon, script_sha);
  lam__sha256_text(s, strlen(s), out);
  free(s);
}

/* A returned scalar that is NaN or infinite (JSON null) fails the point. */
static int bad_result(const cJSON *res, char *err, size_t n) {
  const cJSON *it;
  cJSON_ArrayForEach(it, res) {
    if (cJSON_IsNull(it)) {
      snprintf(err, n, "returned %s = NaN or infinity", it->string ? it->string : "a value");
      return 1;
    }
  }
  return 0;
}

/* The pinned plugins must be the ones the point ran with. */
static int pin_mismatch(const lam__protocol *p, const cJSON *run, char *err, size_t n) {
  const cJSON *pl = cJSON_GetObjectItemCaseSensitive(run, "plugins"), *it;
  cJSON_ArrayForEach(it, pl) {
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "sha256");
    if (!cJSON_IsString(nm) || !cJSON_IsString(sh)) continue;
    for (int i = 0; i < p->npins; i++)
      if (p->pins[i].sha256 && !strcmp(p->pins[i].name, nm->valuestring) &&
          strcasecmp(p->pins[i].sha256, sh->valuestring)) {
        snprintf(err, n, "plugin %s ran with sha256 %s but the protocol pins %s", nm->valuestring,
                 sh->valuestring, p->pins[i].sha256);
        return 1;
      }
  }
  return 0;
}

/* lockfd: when not NULL, the point's lock is taken and its fd left there
 * (the caller is about to run the point); else it is only probed, unless
 * `held` says this process holds it already. */
static void point_state_(const lam__protocol *p, const char *out, const lam__point *pt,
                         const char *script_sha, pstate *ps, int *lockfd, int held) {
  char dir[PATH_MAX], path[PATH_MAX + 64];
  memset(ps, 0, sizeof *ps);
  point_dir(out, pt, dir, sizeof dir);
  struct stat sb;
  if (stat(dir, &sb) != 0) {
    ps->state = ST_MISSING;
    return;
  }
  snprintf(path, sizeof path, "%s/lock", dir);
  int fd = held ? -1 : open(path, (lockfd ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
  if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    ps->state = ST_RUNNING;
    return;
  }
  if (lockfd) *lockfd = fd;
  else if (fd >= 0) close(fd);
  snprintf(path, sizeof path, "%s/point.json", dir);
  cJSON *pj = lam__read_json(path);
  snprintf(path, sizeof path, "%s/run/run.json", dir);
  cJSON *run = lam__read_json(path);
  const cJSON *status = cJSON_GetObjectItemCaseSensitive(run, "status");
  const cJSON *def = cJSON_GetObjectItemCaseSensitive(pj, "definition");
  const char *st = cJSON_IsString(status) ? status->valuestring : "";
  char want[65];
  definition(pt, script_sha, want);
  ps->state = ST_INCOMPLETE;
  if (!strcmp(st, "COMPLETED") && cJSON_IsString(def)) {
    if (strcmp(def->valuestring, want)) {
      ps->state = ST_CONFLICT;
      snprintf(ps->error, sizeof ps->error, "completed under another definition (the script or its "
               "parameters changed since)");
    } else {
      snprintf(path, sizeof path, "%s/run/result.json", dir);
      ps->result = lam__read_json(path);
      if (bad_result(ps->result, ps->error, sizeof ps->error) ||
          pin_mismatch(p, run, ps->error, sizeof ps->error)) {
        ps->state = ST_FAILED;
        cJSON_Delete(ps->result);
        ps->result = NULL;
      } else {
        ps->state = ST_COMPLETED;
      }
    }
  } else if (!strcmp(st, "FAILED")) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(run, "error");
    ps->state = ST_FAILED;
    snprintf(ps->error, sizeof ps->error, "%s", cJSON_IsString(e) ? e->valuestring : "failed");
  } else {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(pj, "error");
    if (cJSON_IsString(e)) {
      ps->state = ST_FAILED;
      snprintf(ps->error, sizeof ps->error, "%s", e->valuestring);
    }
  }
  cJSON_Delete(pj);
  cJSON_Delete(run);
}

static void point_state(const lam__protocol *p, const char *out, const lam__point *pt,
                        const char *script_sha, pstate *ps, int *lockfd) {
  point_state_(p, out, pt, script_sha, ps, lockfd, 0);
}

/* ---- results.csv / results.npz ------------------------------------------------ */
typedef struct col {
  const char *name;            /* column name */
  const char *key;             /* parameter or result key */
  int is_param;
  int width;                   /* result arrays: length (0 = scalar, -1 = ragged) */
  int numeric;                 /* every value a number or boolean */
} col;

static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n\r")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void num_text(double v, char *out, size_t n) {
  lam__val x = {.kind = LAM__V_NUM, .num = v};
  lam__val_text(&x, out, n);
}

static const lam__kv *param_of(const lam__point *pt, const char *key) {
  for (int k = 0; k < pt->nparams; k++)
    if (!strcmp(pt->params[k].key, key)) return &pt->params[k];
  return NULL;
}

static int has_col(col *cols, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(cols[i].name, name)) return 1;
  return 0;
}

/* The columns: parameters (every key of the plan, sorted), then the
 * returned values (every key of a completed result, sorted).  A result key
 * equal to a parameter name becomes "result.<key>". */
/* Doubles the column array; frees it when that fails. */
static int grow_cols(col **c, int *cap) {
  col *g = realloc(*c, sizeof **c * (size_t)(*cap * 2));
  if (!g) {
    free(*c);
    return -1;
  }
  *c = g;
  *cap *= 2;
  return 0;
}

static int columns(lam__arena *a, const lam__plan *plan, cJSON **res, col **out) {
  int cap = 64, n = 0;
  col *c = malloc(sizeof *c * (size_t)cap);
  if (!c) return -1;
  for (int i = 0; i < plan->npoints; i++)
    for (int k = 0; k < plan->points[i].nparams; k++) {
      const lam__kv *kv = &plan->points[i].params[k];
      if (has_col(c, n, kv->key)) continue;
      if (n == cap && grow_cols(&c, &cap)) return -1;
      c[n++] = (col){kv->key, kv->key, 1, 0, 1};
    }
  int np = n;
  for (int i = 0; i < plan->npoints; i++) {
    const cJSON *it;
    cJSON_ArrayForEach(it, res[i]) {
      if (!it->string) continue;
      int found = -1;
      for (int j = np; j < n; j++)
        if (!strcmp(c[j].key, it->string)) found = j;
      int width = cJSON_IsArray(it) ? cJSON_GetArraySize(it) : 0;
      int numeric = cJSON_IsNumber(it) || cJSON_IsBool(it);
      if (cJSON_IsArray(it)) {
        const cJSON *e;
        numeric = 1;
        cJSON_ArrayForEach(e, it) if (!cJSON_IsNumber(e) && !cJSON_IsBool(e)) numeric = 0;
      }
      if (cJSON_IsObject(it)) continue; /* nested tables: in result.json only */
      if (found >= 0) {
        if (c[found].width != width) c[found].width = -1;
        c[found].numeric &= numeric;
        continue;
      }
      if (n == cap && grow_cols(&c, &cap)) return -1;
      const char *name = it->string;
      if (has_col(c, np, name) || !strcmp(name, "id") || !strcmp(name, "index") ||
          !strcmp(name, "replicate") || !strcmp(name, "seed")) {
        char *nm = lam__arena_alloc(a, strlen(name) + 8);
        if (nm) sprintf(nm, "result.%s", name);
        name = nm ? nm : name;
      }
      c[n++] = (col){name, lam__arena_strdup(a, it->string), 0, width, numeric};
    }
  }
  /* sort each group by name (stable column order whatever finished first) */
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && c[j].is_param == c[j - 1].is_param && strcmp(c[j].name, c[j - 1].name) < 0; j--) {
      col t = c[j];
      c[j] = c[j - 1];
      c[j - 1] = t;
    }
  *out = c;
  return n;
}

static int write_csv(const char *path, const lam__plan *plan, cJSON **res, col *c, int nc) {
  char tmp[PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(tmp);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    if (fd >= 0) close(fd);
    return -1;
  }
  (void)fchmod(fd, 0644);
  fputs("id,index,replicate,seed", f);
  for (int j = 0; j < nc; j++)
    if (c[j].width == 0) {
      fputc(',', f);
      csv_field(f, c[j].name);
    }
  fputc('\n', f);
  char t[512];
  for (int i = 0; i < plan->npoints; i++) {
    if (!res[i]) continue;
    const lam__point *pt = &plan->points[i];
    fprintf(f, "%s,%d,%d,%llu", pt->id, pt->index, pt->replicate, (unsigned long long)pt->seed);
    for (int j = 0; j < nc; j++) {
      if (c[j].width != 0) continue;
      fputc(',', f);
      if (c[j].is_param) {
        const lam__kv *kv = param_of(pt, c[j].key);
        if (kv) {
          lam__val_text(&kv->v, t, sizeof t);
          csv_field(f, t);
        }
        continue;
      }
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(res[i], c[j].key);
      if (cJSON_IsNumber(v)) num_text(v->valuedouble, t, sizeof t), fputs(t, f);
      else if (cJSON_IsBool(v)) fputs(cJSON_IsTrue(v) ? "true" : "false", f);
      else if (cJSON_IsString(v)) csv_field(f, v->valuestring);
    }
    fputc('\n', f);
  }
  int bad = fflush(f) != 0 || fsync(fd) != 0;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path) != 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

static double json_num(const cJSON *v) {
  if (cJSON_IsNumber(v)) return v->valuedouble;
  if (cJSON_IsBool(v)) return cJSON_IsTrue(v) ? 1 : 0;
  return NAN;
}

static int npz_vec(lam_npz_writer *w, const char *name, int32_t dtype, int64_t n, int64_t width,
                   const double *v) {
  if (strchr(name, '/') || strchr(name, '\\')) return 0;
  int64_t shape[2] = {n, width};
  lam_buf *b = lam_buf_new(dtype, width ? 2 : 1, shape);
  if (!b) return -1;
  int64_t m = n * (width ? width : 1);
  for (int64_t i = 0; i < m; i++) {
    if (dtype == LAM_I64) ((int64_t *)b->data)[i] = (int64_t)v[i];
    else ((double *)b->data)[i] = v[i];
  }
  int rc = lam_npz_add(w, name, b);
  lam_buf_free(b);
  return rc;
}

/* results.npz: one array per numeric column, rows = completed points in
 * plan order; `id` holds the 48-bit ids as integers (format(id, '012x')
 * gives the hex id); returned arrays of one length for every point become
 * (points, length) arrays; missing values are NaN. */
static int write_npz(const char *path, const lam__plan *plan, cJSON **res, col *c, int nc) {
  int64_t n = 0;
  for (int i = 0; i < plan->npoints; i++) n += res[i] != NULL;
  int64_t maxw = 1;
  for (int j = 0; j < nc; j++)
    if (c[j].width > maxw) maxw = c[j].width;
  double *v = malloc(sizeof *v * (size_t)((n ? n : 1) * maxw));
  lam_npz_writer *w = v ? lam_npz_open(path, 0, 1) : NULL;
  if (!w) {
    free(v);
    return -1;
  }
  int rc = 0;
  static const char *const fixed[] = {"id", "index", "replicate", "seed"};
  for (int f = 0; f < 4 && !rc; f++) {
    int64_t r = 0;
    for (int i = 0; i < plan->npoints; i++) {
      if (!res[i]) continue;
      const lam__point *pt = &plan->points[i];
      v[r++] = f == 0 ? (double)strtoull(pt->id, NULL, 16) : f == 1 ? pt->index : f == 2 ? pt->replicate : (double)pt->seed;
    }
    rc = npz_vec(w, fixed[f], LAM_I64, n, 0, v);
  }
  for (int j = 0; j < nc && !rc; j++) {
    if (!c[j].numeric || c[j].width < 0) continue;
    int64_t r = 0, width = c[j].width;
    for (int i = 0; i < plan->npoints; i++) {
      if (!res[i]) continue;
      if (c[j].is_param) {
        const lam__kv *kv = param_of(&plan->points[i], c[j].key);
        v[r++] = !kv ? NAN : kv->v.kind == LAM__V_NUM ? kv->v.num : kv->v.kind == LAM__V_BOOL ? kv->v.b : NAN;
        continue;
      }
      const cJSON *x = cJSON_GetObjectItemCaseSensitive(res[i], c[j].key);
      if (!width) {
        v[r++] = json_num(x);
      } else {
        for (int64_t k = 0; k < width; k++) v[r * width + k] = json_num(cJSON_GetArrayItem(x, (int)k));
        r++;
      }
    }
    /* a parameter column of strings is in results.csv only */
    if (c[j].is_param) {
      int strs = 0;
      for (int i = 0; i < plan->npoints; i++) {
        const lam__kv *kv = param_of(&plan->points[i], c[j].key);
        strs |= kv && kv->v.kind == LAM__V_STR;
      }
      if (strs) continue;
    }
    rc = npz_vec(w, c[j].name, LAM_F64, n, width, v);
  }
  free(v);
  if (rc) {
    lam_npz_discard(w);
    return -1;
  }
  return lam_npz_close(w) == LAM_OK ? 0 : -1;
}

static int gather(const lam__protocol *p, const char *out, const lam__plan *plan, cJSON **res) {
  lam__arena *a = lam__arena_new();
  col *c = NULL;
  int nc = a ? columns(a, plan, res, &c) : -1;
  char path[PATH_MAX + 32];
  int rc = nc < 0;
  if (!rc) {
    snprintf(path, sizeof path, "%s/results.csv", out);
    rc |= write_csv(path, plan, res, c, nc);
    snprintf(path, sizeof path, "%s/results.npz", out);
    rc |= write_npz(path, plan, res, c, nc);
  }
  if (rc) fprintf(stderr, "lamina: %s: writing the results failed: %s\n", out, nc < 0 ? "out of memory" : lam_last_error());
  free(c);
  lam__arena_free(a);
  (void)p;
  return rc;
}

/* ---- the plan on disk ----------------------------------------------------------- */
static int write_plan(const lam__protocol *p, const char *out, const lam__plan *plan, const char *script_sha) {
  char path[PATH_MAX + 32];
  if (lam__mkdirs(out) != 0) {
    fprintf(stderr, "lamina: %s: cannot create the output directory: %s\n", out, strerror(errno));
    return -1;
  }
  cJSON *j = cJSON_CreateObject();
  char abs[PATH_MAX];
  cJSON_AddStringToObject(j, "name", p->name);
  cJSON_AddStringToObject(j, "protocol", realpath(p->file, abs) ? abs : p->file);
  cJSON_AddStringToObject(j, "script", realpath(p->script, abs) ? abs : p->script);
  cJSON_AddStringToObject(j, "script_sha256", script_sha);
  cJSON_AddNumberToObject(j, "seed", (double)p->seed);
  cJSON_AddNumberToObject(j, "points", plan->npoints);
  cJSON_AddNumberToObject(j, "replicates", p->replicates);
  snprintf(path, sizeof path, "%s/sweep.json", out);
  int rc = lam__write_json(path, j, 0);
  cJSON_Delete(j);
  size_t cap = 256 + (size_t)plan->npoints * 64, n = 0;
  for (int i = 0; i < plan->npoints; i++) cap += strlen(plan->points[i].canon);
  char *s = malloc(cap);
  if (!s) return -1;
  n += (size_t)snprintf(s, cap, "index\tid\treplicate\tseed\tpoint\n");
  for (int i = 0; i < plan->npoints; i++) {
    const lam__point *pt = &plan->points[i];
    n += (size_t)snprintf(s + n, cap - n, "%d\t%s\t%d\t%llu\t%s\n", pt->index, pt->id, pt->replicate,
                          (unsigned long long)pt->seed, pt->canon);
  }
  snprintf(path, sizeof path, "%s/points.tsv", out);
  rc |= lam__write_atomic(path, s, n, 1);
  free(s);
  if (rc) fprintf(stderr, "lamina: %s: cannot write the plan: %s\n", out, strerror(errno));
  return rc;
}

/* ---- shards ----------------------------------------------------------------------- */
static int env_int(const char *name, long *v) {
  const char *s = getenv(name);
  if (!s || !*s) return 0;
  char *end;
  *v = strtol(s, &end, 10);
  return !*end;
}

/* The rank and size from SLURM, Open MPI or PMI/PMIx variables. */
static int shard_from_env(opts *o, char *err, size_t errn) {
  static const char *const pairs[][2] = {{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"},
                                         {"SLURM_PROCID", "SLURM_NTASKS"},
                                         {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                         {"PMI_RANK", "PMI_SIZE"},
                                         {"PMIX_RANK", "PMI_SIZE"}};
  for (int i = 0; i < 5; i++) {
    long r, n;
    if (!env_int(pairs[i][0], &r)) continue;
    if (i == 4 && !env_int(pairs[i][1], &n) && !env_int("OMPI_COMM_WORLD_SIZE", &n)) {
      snprintf(err, errn, "PMIX_RANK is set but no size (PMI_SIZE); give --shard RANK/SIZE");
      return -1;
    }
    if (i < 4 && !env_int(pairs[i][1], &n)) {
      snprintf(err, errn, "%s is set but %s is not; give --shard RANK/SIZE", pairs[i][0], pairs[i][1]);
      return -1;
    }
    long min;
    if (i == 0 && env_int("SLURM_ARRAY_TASK_MIN", &min)) r -= min; /* arrays may start at 1 */
    if (n < 1 || r < 0 || r >= n) {
      snprintf(err, errn, "%s=%ld with size %ld: not a rank in [0, size)", pairs[i][0], r, n);
      return -1;
    }
    o->shard_i = (int)r;
    o->shard_n = (int)n;
    o->shard_from = pairs[i][0];
    return 0;
  }
  return 0;
}

/* ---- emitters --------------------------------------------------------------------- */
static void shq(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++)
    if (*s == '\'') fputs("'\\''", f);
    else fputc(*s, f);
  fputc('\'', f);
}

/* The sweep command line a task runs (absolute paths: the scheduler may
 * start it elsewhere). */
static void task_command(FILE *f, const opts *o, const char *out_abs, const char *shard, int jobs) {
  char abs[PATH_MAX];
  shq(f, exe);
  fputs(" sweep ", f);
  shq(f, realpath(o->protocol, abs) ? abs : o->protocol);
  fprintf(f, " --shard %s -j %d --quiet --out ", shard, jobs);
  shq(f, out_abs);
  for (int i = 0; i < o->npath; i++) {
    fputs(" --plugin-path ", f);
    shq(f, realpath(o->ppath[i], abs) ? abs : o->ppath[i]);
  }
  for (int i = 0; i < o->nkv; i++) {
    fputc(' ', f);
    shq(f, o->kv[i]);
  }
}

static int emit(const lam__protocol *p, const opts *o, const char *out, int npoints) {
  char out_abs[PATH_MAX];
  if (!realpath(out, out_abs)) snprintf(out_abs, sizeof out_abs, "%s", out);
  if (!strcmp(o->emit, "parallel")) {
    int jobs = o->jobs > 0 ? o->jobs : 0;
    printf("seq 0 %d | parallel --jobs %d --joblog ", npoints - 1, jobs ? jobs : (int)sysconf(_SC_NPROCESSORS_ONLN));
    char jl[PATH_MAX + 32];
    snprintf(jl, sizeof jl, "%s/parallel.joblog", out_abs);
    shq(stdout, jl);
    printf(" --resume-failed ");
    char shard[32];
    snprintf(shard, sizeof shard, "{}/%d", npoints);
    task_command(stdout, o, out_abs, shard, 1);
    printf("\n");
    return 0;
  }
  const lam__slurm *s = &p->slurm;
  int chunk = (npoints + s->max_array - 1) / s->max_array;
  if (chunk < 1) chunk = 1;
  int tasks = (npoints + chunk - 1) / chunk;
  long per = (s->time_s ? s->time_s : 3600) * chunk;
  char logs[PATH_MAX + 16], path[PATH_MAX + 64];
  snprintf(logs, sizeof logs, "%s/logs", out_abs);
  /* SLURM does not create the log directory (Hydra #2100): make it now. */
  if (lam__mkdirs(logs) != 0) {
    fprintf(stderr, "lamina: %s: %s\n", logs, strerror(errno));
    return 1;
  }
  snprintf(path, sizeof path, "%s/%s.sbatch", out_abs, p->name);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "lamina: %s: %s\n", path, strerror(errno));
    return 1;
  }
  fprintf(f, "#!/bin/bash\n");
  fprintf(f, "# Written by `lamina sweep %s --emit slurm`: %d points in %d array tasks, "
          "at most %d per task.\n", o->protocol, npoints, tasks, chunk);
  fprintf(f, "# Submit: sbatch %s    Progress: lamina sweep %s --status\n", path, o->protocol);
  fprintf(f, "# A task reruns only its points that are not completed, so resubmitting is safe.\n");
  fprintf(f, "#SBATCH --job-name=%s\n", p->name);
  fprintf(f, "#SBATCH --array=0-%d", tasks - 1);
  if (s->concurrent) fprintf(f, "%%%d", s->concurrent);
  fprintf(f, "\n#SBATCH --output=%s/%%A_%%a.out\n#SBATCH --error=%s/%%A_%%a.err\n", logs, logs);
  fprintf(f, "#SBATCH --time=%ld-%02ld:%02ld:%02ld\n", per / 86400, per / 3600 % 24, per / 60 % 60, per % 60);
  fprintf(f, "#SBATCH --cpus-per-task=%d\n", s->cpus);
  fprintf(f, "#SBATCH --signal=B:TERM@60\n");
  if (s->partition) fprintf(f, "#SBATCH --partition=%s\n", s->partition);
  if (s->account) fprintf(f, "#SBATCH --account=%s\n", s->account);
  if (s->mem) fprintf(f, "#SBATCH --mem=%s\n", s->mem);
  for (int i = 0; i < s->nextra; i++) fprintf(f, "#SBATCH %s\n", s->extra[i]);
  char cwd[PATH_MAX];
  fprintf(f, "set -eu\ncd ");
  shq(f, getcwd(cwd, sizeof cwd) ? cwd : ".");
  fprintf(f, "\nexec ");
  char shard[64];
  snprintf(shard, sizeof shard, "\"$SLURM_ARRAY_TASK_ID/%d\"", tasks);
  task_command(f, o, out_abs, shard, s->cpus);
  fprintf(f, "\n");
  int bad = fclose(f) != 0;
  chmod(path, 0755);
  if (bad) {
    fprintf(stderr, "lamina: %s: %s\n", path, strerror(errno));
    return 1;
  }
  printf("%s\n", path);
  return 0;
}

/* ---- running ------------------------------------------------------------------------- */
typedef struct slot {
  pid_t pid;
  int point;                   /* plan index */
  int lockfd;
  double t0;
} slot;

static volatile sig_atomic_t stop_sig;
static void on_signal(int s) { stop_sig = s; }

static int write_point(const char *dir, const lam__point *pt, const char *script, const char *script_sha,
                       const char *error) {
  char path[PATH_MAX + 32], def[65];
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "id", pt->id);
  cJSON_AddNumberToObject(j, "index", pt->index);
  cJSON_AddNumberToObject(j, "replicate", pt->replicate);
  cJSON_AddNumberToObject(j, "seed", (double)pt->seed);
  cJSON_AddItemToObject(j, "point", cJSON_Parse(pt->canon));
  cJSON_AddStringToObject(j, "script", script);
  cJSON_AddStringToObject(j, "script_sha256", script_sha);
  definition(pt, script_sha, def);
  cJSON_AddStringToObject(j, "definition", def);
  if (error) cJSON_AddStringToObject(j, "error", error);
  snprintf(path, sizeof path, "%s/point.json", dir);
  /* Without fsync: losing point.json in a power cut only makes its point
   * INCOMPLETE (run again), and an fsync per point is a measurable part
   * of a trivial point's cost. */
  int rc = lam__write_json(path, j, 0);
  cJSON_Delete(j);
  return rc;
}

/* Moves an earlier attempt out of the way (kept as attempt-<k> when it
 * got as far as a run.json), then forks `lamina run` for the point. */
/* Starts `lamina run` for one point with its run directory `run` and its
 * stderr in `err`. */
static pid_t spawn_point(const lam__protocol *p, const opts *o, const lam__point *pt, const char *run,
                         const char *err) {
  int n = 12 + pt->nparams + 2 * o->npath;
  char **argv = calloc((size_t)n, sizeof *argv);
  char seed[32];
  char **kv = calloc((size_t)pt->nparams + 1, sizeof *kv);
  if (!argv || !kv) {
    free(argv);
    free(kv);
    return -1;
  }
  int a = 0;
  argv[a++] = exe;
  argv[a++] = "run";
  argv[a++] = (char *)p->script;
  for (int k = 0; k < pt->nparams; k++) {
    char t[4096];
    lam__val_text(&pt->params[k].v, t, sizeof t);
    size_t len = strlen(pt->params[k].key) + strlen(t) + 2;
    kv[k] = malloc(len);
    if (kv[k]) snprintf(kv[k], len, "%s=%s", pt->params[k].key, t);
    argv[a++] = kv[k] ? kv[k] : "=";
  }
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)pt->seed);
  argv[a++] = "--seed";
  argv[a++] = seed;
  argv[a++] = "--out";
  argv[a++] = (char *)run;
  argv[a++] = "--quiet";
  for (int i = 0; i < o->npath; i++) {
    argv[a++] = "--plugin-path";
    argv[a++] = o->ppath[i];
  }
  pid_t pid = spawn(argv, NULL, err, NULL);
  for (int k = 0; k < pt->nparams; k++) free(kv[k]);
  free(kv);
  free(argv);
  return pid;
}

/* Before any point runs, each queued point's script is run up to its first
 * sim:run with LAMINA_VALIDATE naming a file: lamina.sim writes there the
 * message of a model that refused its parameters (sim:add) and stops the
 * script at its first run.  A refusal stops the sweep (status 2) with the
 * point and the message; any other failure (a crash, a Lua error) is left
 * for the real run, where the point is FAILED as usual. */
/* 64-bit FNV-1a of "key=value", for the set of pairs already checked. */
static uint64_t pair_hash(const char *key, const char *val) {
  uint64_t h = 1469598103934665603ull;
  for (const char *c = key; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ull;
  h = (h ^ '=') * 1099511628211ull;
  for (const char *c = val; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ull;
  return h | 1; /* 0 marks an empty slot */
}

/* Inserts h into the open-addressing set (cap a power of two); returns 1
 * when it was new. */
static int set_add(uint64_t *set, size_t cap, uint64_t h) {
  for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1)) {
    if (set[i] == h) return 0;
    if (!set[i]) {
      set[i] = h;
      return 1;
    }
  }
}

/* A model checks each parameter against its own range, so a point needs
 * checking only when it brings a (parameter, value) pair no earlier
 * checked point had: a 10 x 10 grid with 5 replicates needs 10 checks, not
 * 500.  (Seeds are not parameters here.)  Returns how many were kept. */
static int cover_points(const lam__plan *plan, const int *queue, int nq, int *keep) {
  size_t pairs = 1;
  for (int q = 0; q < nq; q++) pairs += (size_t)plan->points[queue[q]].nparams;
  size_t cap = 16;
  while (cap < 2 * pairs) cap *= 2;
  uint64_t *set = calloc(cap, sizeof *set);
  int n = 0;
  for (int q = 0; q < nq; q++) {
    const lam__point *pt = &plan->points[queue[q]];
    int fresh = !set || pt->nparams == 0;
    for (int k = 0; k < pt->nparams && set; k++) {
      char t[4096];
      lam__val_text(&pt->params[k].v, t, sizeof t);
      fresh |= set_add(set, cap, pair_hash(pt->params[k].key, t));
    }
    if (fresh && (n == 0 || pt->nparams > 0 || !set)) keep[n++] = queue[q];
  }
  free(set);
  return n;
}

static int validate_points(const lam__protocol *p, const opts *o, const lam__plan *plan, const int *all,
                           int nall, int jobs) {
  if (nall == 0 || o->no_check) return 0;
  int *queue = calloc((size_t)nall, sizeof *queue);
  if (!queue) return 1;
  int nq = cover_points(plan, all, nall, queue);
  const char *td = getenv("TMPDIR");
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/lamina-validate-XXXXXX", td && *td ? td : "/tmp");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "lamina: cannot make a temporary directory: %s\n", strerror(errno));
    free(queue);
    return 1;
  }
  pid_t *pids = calloc((size_t)jobs, sizeof *pids);
  int *which = calloc((size_t)jobs, sizeof *which);
  int refused = 0, next = 0, active = 0, first_done = 0;
  char run[PATH_MAX + 32], err[PATH_MAX + 32], msgf[PATH_MAX + 32];
  while (pids && which && (next < nq || active > 0)) {
    /* The first point is checked alone: if its script makes no simulation
     * at all, its parameters reach no model and the others are skipped
     * (lamina.sim leaves "<file>.sim" when lam.sim is called). */
    while (active < (first_done ? jobs : 1) && next < nq) {
      int i = queue[next++];
      snprintf(run, sizeof run, "%s/%d", dir, i);
      snprintf(err, sizeof err, "%s/%d.err", dir, i);
      snprintf(msgf, sizeof msgf, "%s/%d.refused", dir, i);
      setenv("LAMINA_VALIDATE", msgf, 1);
      pid_t pid = spawn_point(p, o, &plan->points[i], run, err);
      unsetenv("LAMINA_VALIDATE");
      if (pid < 0) continue;
      int s = 0;
      while (pids[s]) s++;
      pids[s] = pid;
      which[s] = i;
      active++;
    }
    if (!active) break;
    int st;
    pid_t pid = waitpid(-1, &st, 0);
    if (pid < 0) {
      if (errno == ECHILD) break;
      continue;
    }
    int s = 0;
    while (s < jobs && pids[s] != pid) s++;
    if (s == jobs) continue;
    pids[s] = 0;
    active--;
    int i = which[s];
    snprintf(msgf, sizeof msgf, "%s/%d.refused", dir, i);
    char *msg = lam__slurp(msgf);
    if (!first_done) {
      first_done = 1;
      char simf[PATH_MAX + 48];
      struct stat sb;
      snprintf(simf, sizeof simf, "%s.sim", msgf);
      if (stat(simf, &sb) != 0) next = nq; /* no simulation: nothing to check */
    }
    if (msg && *msg) {
      if (refused < 5) {
        const lam__point *pt = &plan->points[i];
        fprintf(stderr, "lamina: %s: point %d (%s", p->file, i, pt->id);
        for (int k = 0; k < pt->nparams; k++) {
          char t[256];
          lam__val_text(&pt->params[k].v, t, sizeof t);
          fprintf(stderr, "%s%s=%s", k ? ", " : ": ", pt->params[k].key, t);
        }
        fprintf(stderr, "): %s\n", msg);
      }
      refused++;
    }
    free(msg);
  }
  if (refused > 5) fprintf(stderr, "lamina: ... and %d more points\n", refused - 5);
  if (refused)
    fprintf(stderr, "lamina: a model refused the parameters of %d checked point%s (every point with "
            "the refused values would fail the same way); nothing was run\n", refused,
            refused == 1 ? "" : "s");
  free(pids);
  free(which);
  free(queue);
  rm_rf(dir);
  return refused ? 2 : 0;
}

static pid_t launch(const lam__protocol *p, const opts *o, const char *out, const lam__point *pt,
                    const char *script_sha) {
  char dir[PATH_MAX], run[PATH_MAX + 16], path[PATH_MAX + 64];
  point_dir(out, pt, dir, sizeof dir);
  snprintf(run, sizeof run, "%s/run", dir);
  snprintf(path, sizeof path, "%s/run.json", run);
  struct stat sb;
  if (stat(path, &sb) == 0) {
    for (int k = 1; k < 100000; k++) {
      snprintf(path, sizeof path, "%s/attempt-%d", dir, k);
      if (stat(path, &sb) != 0) {
        if (rename(run, path) != 0) return -1;
        break;
      }
    }
  } else if (stat(run, &sb) == 0) {
    rm_rf(run);
  }
  if (write_point(dir, pt, p->script, script_sha, NULL) != 0) return -1;
  snprintf(path, sizeof path, "%s/stderr", dir);
  return spawn_point(p, o, pt, run, path);
}

/* After a child: records a death the child could not report. */
static void finish(const lam__protocol *p, const char *out, const lam__point *pt, const char *script_sha,
                   int st, pstate *ps) {
  char dir[PATH_MAX], path[PATH_MAX + 32];
  point_dir(out, pt, dir, sizeof dir);
  point_state_(p, out, pt, script_sha, ps, NULL, 1);
  if (ps->state == ST_COMPLETED || ps->state == ST_FAILED) {
    if (ps->state == ST_FAILED) write_point(dir, pt, p->script, script_sha, ps->error);
    return;
  }
  char why[400] = "", tail[300];
  snprintf(path, sizeof path, "%s/stderr", dir);
  last_line(path, tail, sizeof tail);
  if (WIFSIGNALED(st))
    snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
  else
    snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(st));
  char msg[sizeof why + sizeof tail + 8];
  snprintf(msg, sizeof msg, "%s%s%s", why, *tail ? ": " : "", tail);
  write_point(dir, pt, p->script, script_sha, msg);
  ps->state = ST_FAILED;
  snprintf(ps->error, sizeof ps->error, "%s", msg);
}

static void progress(const char *name, int done, int failed, int total, double t0, int started) {
  char eta[32] = "";
  double el = now() - t0;
  if (started > 0 && done > 0 && done < total) {
    double rem = el / started * (total - done);
    snprintf(eta, sizeof eta, "ETA %d:%02d", (int)rem / 60, (int)rem % 60);
  }
  int w = 30, fill = total ? done * w / total : w;
  char bar[64];
  for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
  bar[w] = '\0';
  fprintf(stderr, "\r%s [%s] %d/%d", name, bar, done, total);
  if (failed) fprintf(stderr, ", %d failed", failed);
  fprintf(stderr, "  %s   ", eta);
  fflush(stderr);
}

static int usage(void) {
  fprintf(stderr,
          "usage: lamina sweep PROTOCOL.yaml [key=value ...] [-j N] [--shard I/N] [--force]\n"
          "                    [--status] [--gather] [--plan] [--emit slurm|parallel] [--out DIR]\n"
          "                    [--plugin-path DIR] [--no-check-models] [--quiet]\n"
          "see docs/protocols.md\n");
  return 2;
}

static int parse_args(int argc, char **argv, opts *o) {
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    int has = i + 1 < argc;
    if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
      char *end;
      if (!has) return usage();
      long j = strtol(argv[++i], &end, 10);
      if (*end || j < 1 || j > 4096) {
        fprintf(stderr, "lamina: -j %s: expected a number of workers in [1, 4096]\n", argv[i]);
        return 2;
      }
      o->jobs = (int)j;
    } else if (!strncmp(a, "-j", 2) && a[2]) {
      char *end;
      long j = strtol(a + 2, &end, 10);
      if (*end || j < 1 || j > 4096) {
        fprintf(stderr, "lamina: %s: expected a number of workers in [1, 4096]\n", a);
        return 2;
      }
      o->jobs = (int)j;
    } else if (!strcmp(a, "--shard")) {
      if (!has) return usage();
      int si, sn;
      char tail;
      if (sscanf(argv[++i], "%d/%d%c", &si, &sn, &tail) != 2 || sn < 1 || si < 0 || si >= sn) {
        fprintf(stderr, "lamina: --shard %s: expected I/N with 0 <= I < N\n", argv[i]);
        return 2;
      }
      o->shard_i = si;
      o->shard_n = sn;
      o->shard_from = "--shard";
    } else if (!strcmp(a, "--emit")) {
      if (!has) return usage();
      o->emit = argv[++i];
      if (strcmp(o->emit, "slurm") && strcmp(o->emit, "parallel")) {
        fprintf(stderr, "lamina: --emit %s: expected slurm or parallel\n", o->emit);
        return 2;
      }
    } else if (!strcmp(a, "--out")) {
      if (!has) return usage();
      o->out = argv[++i];
    } else if (!strcmp(a, "--plugin-path")) {
      if (!has) return usage();
      o->ppath[o->npath++] = argv[++i];
    } else if (!strcmp(a, "--status")) {
      o->status = 1;
    } else if (!strcmp(a, "--force")) {
      o->force = 1;
    } else if (!strcmp(a, "--no-check-models")) {
      o->no_check = 1;
    } else if (!strcmp(a, "--gather")) {
      o->gather = 1;
    } else if (!strcmp(a, "--plan")) {
      o->plan = 1;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      o->quiet = 1;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      return 1;
    } else if (a[0] == '-') {
      fprintf(stderr, "lamina: sweep: unknown option %s\n", a);
      return usage();
    } else if (strchr(a, '=')) {
      o->kv[o->nkv++] = argv[i];
    } else if (!o->protocol) {
      o->protocol = a;
    } else {
      fprintf(stderr, "lamina: sweep: '%s' is neither key=value nor an option (one protocol per sweep)\n", a);
      return 2;
    }
  }
  if (!o->protocol) return usage();
  return 0;
}

static int ncores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static int run_sweep(const lam__protocol *p, const opts *o, const char *out, const lam__plan *plan,
                     const char *script_sha);

int lam__sweep_main(int argc, char **argv) {
  opts o = {0};
  o.shard_n = 1;
  o.kv = calloc((size_t)argc + 1, sizeof *o.kv);
  o.ppath = calloc((size_t)argc + 1, sizeof *o.ppath);
  if (!o.kv || !o.ppath) return 1;
  int rc = parse_args(argc, argv, &o);
  if (rc) {
    free(o.kv);
    free(o.ppath);
    return rc == 1 ? 0 : rc;
  }
  lam_set_quiet(o.quiet);
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (k > 0) exe[k] = '\0';
  char err[2048];
  lam__protocol *p = lam__protocol_load(o.protocol, err, sizeof err);
  lam__plan plan;
  char script_sha[65] = "";
  rc = 2;
  if (!p) goto fail;
  if (lam__plan_build(p, o.kv, o.nkv, &plan, err, sizeof err)) goto fail;
  if (lam__sha256_file(p->script, script_sha) != 0) {
    snprintf(err, sizeof err, "%s:%d:%d: script %s: %s", p->file, p->script_line, p->script_col, p->script,
             strerror(errno));
    goto fail;
  }
  if (!o.shard_from && shard_from_env(&o, err, sizeof err)) goto fail;
  /* Say so when the environment chose the shard: a batch script with
   * --ntasks=4 that runs lamina sweep without srun also sets SLURM_PROCID. */
  if (o.shard_from && strcmp(o.shard_from, "--shard") && !o.quiet && !o.emit && !o.plan)
    fprintf(stderr, "lamina: running shard %d/%d (from %s; --shard 0/1 runs every point)\n", o.shard_i,
            o.shard_n, o.shard_from);
  const char *out = o.out ? o.out : p->out;
  if (o.status || o.gather) {
    rc = run_sweep(p, &o, out, &plan, script_sha);
  } else {
    sparams sp;
    if (script_params(p->script, o.ppath, o.npath, &sp, err, sizeof err)) goto fail;
    int bad = check_params(p, &plan, &sp, err, sizeof err);
    sparams_free(&sp);
    if (bad || check_pins(p, &o, err, sizeof err)) goto fail;
    if (o.emit) {
      rc = emit(p, &o, out, plan.npoints) || write_plan(p, out, &plan, script_sha);
    } else if (o.plan) {
      /* the plan only: OUT/points.tsv, also on stdout */
      char path[PATH_MAX + 16];
      snprintf(path, sizeof path, "%s/points.tsv", out);
      rc = write_plan(p, out, &plan, script_sha);
      char *text = rc ? NULL : lam__slurp(path);
      if (text) fputs(text, stdout);
      rc = text ? 0 : 1;
      free(text);
    } else {
      rc = run_sweep(p, &o, out, &plan, script_sha);
    }
  }
  lam__protocol_free(p);
  free(o.kv);
  free(o.ppath);
  return rc;
fail:
  fprintf(stderr, "lamina: %s\n", err);
  lam__protocol_free(p);
  free(o.kv);
  free(o.ppath);
  return 2;
}

static int run_sweep(const lam__protocol *p, const opts *o, const char *out, const lam__plan *plan,
                     const char *script_sha) {
  int N = plan->npoints;
  pstate *ps = calloc((size_t)N + 1, sizeof *ps);
  cJSON **res = calloc((size_t)N + 1, sizeof *res);
  int *queue = calloc((size_t)N + 1, sizeof *queue);
  if (!ps || !res || !queue) {
    free(ps);
    free(res);
    free(queue);
    fprintf(stderr, "lamina: out of memory\n");
    return 1;
  }
  int counts[6] = {0}, selected = 0, nq = 0, conflicts = 0;
  for (int i = 0; i < N; i++) {
    point_state(p, out, &plan->points[i], script_sha, &ps[i], NULL);
    res[i] = ps[i].result;
    if (ps[i].state == ST_COMPLETED && !res[i]) res[i] = cJSON_CreateObject(); /* returned nothing */
    if (i % o->shard_n != o->shard_i) continue;
    selected++;
    counts[ps[i].state]++;
    if (ps[i].state == ST_CONFLICT) conflicts++;
    if (ps[i].state != ST_COMPLETED && ps[i].state != ST_RUNNING &&
        (ps[i].state != ST_CONFLICT || o->force))
      queue[nq++] = i;
  }
  int rc = 0;
  if (o->status) {
    printf("sweep %s: %d points", p->name, N);
    if (o->shard_n > 1) printf(" (shard %d/%d from %s: %d)", o->shard_i, o->shard_n, o->shard_from, selected);
    printf("\n");
    for (int s = ST_COMPLETED; s >= ST_MISSING; s--)
      if (counts[s] || s == ST_COMPLETED || s == ST_FAILED) printf("  %-10s %d\n", state_name[s], counts[s]);
    for (int i = 0; i < N; i++)
      if (i % o->shard_n == o->shard_i && (ps[i].state == ST_FAILED || ps[i].state == ST_CONFLICT))
        printf("  %s %d %s: %s\n", state_name[ps[i].state], i, plan->points[i].id, ps[i].error);
    if (counts[ST_COMPLETED] < selected) {
      printf("to rerun (indices):");
      int shown = 0;
      for (int i = 0; i < N && shown < 200; i++)
        if (i % o->shard_n == o->shard_i && ps[i].state != ST_COMPLETED) printf(" %d", i), shown++;
      printf("%s\n", shown == 200 ? " ..." : "");
    }
    /* Scripts poll this: 0 only when every selected point is done. */
    rc = counts[ST_FAILED] || counts[ST_CONFLICT] ? 1 : counts[ST_COMPLETED] < selected ? 3 : 0;
    goto done;
  }
  if (o->gather) {
    rc = gather(p, out, plan, res) ? 1 : 0;
    goto done;
  }
  if (conflicts && !o->force) {
    for (int i = 0; i < N; i++)
      if (ps[i].state == ST_CONFLICT && i % o->shard_n == o->shard_i) {
        fprintf(stderr, "lamina: %s/points/%s (point %d) was completed under another definition: the "
                "script (or the meaning of its parameters) changed since; rerun with --force to redo "
                "the %d such point%s, or give another --out\n", out, plan->points[i].id, i, conflicts,
                conflicts == 1 ? "" : "s");
        break;
      }
    rc = 2;
    goto done;
  }
  int jobs = o->jobs ? o->jobs : ncores();
  if ((rc = validate_points(p, o, plan, queue, nq, jobs))) goto done;
  if (write_plan(p, out, plan, script_sha)) {
    rc = 1;
    goto done;
  }
  if (plan->merged && !o->quiet)
    fprintf(stderr, "lamina: %d duplicate point%s (same parameters and seed) will run once\n", plan->merged,
            plan->merged == 1 ? "" : "s");
  slot *slots = calloc((size_t)jobs, sizeof *slots);
  if (!slots) {
    rc = 1;
    goto done;
  }
  struct sigaction sa = {0}, old_int, old_term;
  sa.sa_handler = on_signal; /* no SA_RESTART: waitpid returns on a signal */
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int tty = isatty(2) && !o->quiet;
  int done_n = counts[ST_COMPLETED], failed_n = 0, active = 0, next = 0, finished = 0;
  double t0 = now(), last_gather = 0;
  int dirty = 0;
  if (tty) progress(p->name, done_n, failed_n, selected, t0, 0);
  while ((next < nq && !stop_sig) || active > 0) {
    while (active < jobs && next < nq && !stop_sig) {
      int i = queue[next++];
      const lam__point *pt = &plan->points[i];
      char dir[PATH_MAX];
      point_dir(out, pt, dir, sizeof dir);
      int fd = -1;
      if (lam__mkdirs(dir) != 0) {
        fprintf(stderr, "lamina: %s: %s\n", dir, strerror(errno));
        continue;
      }
      pstate now_st;
      point_state(p, out, pt, script_sha, &now_st, &fd);
      cJSON_Delete(now_st.result);
      if (now_st.state == ST_RUNNING || now_st.state == ST_COMPLETED) { /* another process got there */
        if (fd >= 0) close(fd);
        if (now_st.state == ST_COMPLETED) done_n++;
        continue;
      }
      pid_t pid = launch(p, o, out, pt, script_sha);
      if (pid < 0) {
        fprintf(stderr, "lamina: point %s: cannot start it: %s\n", pt->id, strerror(errno));
        if (fd >= 0) close(fd);
        failed_n++;
        continue;
      }
      int s = 0;
      while (slots[s].pid) s++;
      slots[s] = (slot){pid, i, fd, now()};
      active++;
    }
    if (!active) break;
    int st;
    pid_t pid = waitpid(-1, &st, 0);
    if (pid < 0) {
      if (errno == EINTR && stop_sig)
        for (int s = 0; s < jobs; s++)
          if (slots[s].pid) kill(slots[s].pid, SIGTERM);
      if (errno == ECHILD) break;
      continue;
    }
    int s = 0;
    while (s < jobs && slots[s].pid != pid) s++;
    if (s == jobs) continue;
    int i = slots[s].point;
    pstate fin;
    if (!stop_sig || WIFEXITED(st)) {
      finish(p, out, &plan->points[i], script_sha, st, &fin);
      finished++;
      if (fin.state == ST_COMPLETED) {
        done_n++;
        cJSON_Delete(res[i]);
        res[i] = fin.result ? fin.result : cJSON_CreateObject();
        dirty = 1;
      } else {
        failed_n++;
        if (!tty && !o->quiet)
          fprintf(stderr, "lamina: point %d (%s) FAILED: %s\n", i, plan->points[i].id, fin.error);
      }
    }
    if (slots[s].lockfd >= 0) close(slots[s].lockfd);
    slots[s].pid = 0;
    active--;
    /* results are rewritten as points complete, at most twice a second */
    if (dirty && now() - last_gather > 0.5) {
      gather(p, out, plan, res);
      last_gather = now();
      dirty = 0;
    }
    if (tty) progress(p->name, done_n + failed_n, failed_n, selected, t0, finished);
  }
  free(slots);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  if (tty) fprintf(stderr, "\n");
  /* The final gather reads every completed point again, including those
   * other shards completed meanwhile. */
  for (int i = 0; i < N; i++) {
    cJSON_Delete(res[i]);
    pstate x;
    point_state(p, out, &plan->points[i], script_sha, &x, NULL);
    res[i] = x.state == ST_COMPLETED ? (x.result ? x.result : cJSON_CreateObject()) : NULL;
    if (x.state != ST_COMPLETED) cJSON_Delete(x.result);
  }
  if (gather(p, out, plan, res)) rc = 1;
  if (stop_sig) {
    fprintf(stderr, "lamina: interrupted by signal %d; rerun the same command to continue\n", (int)stop_sig);
    rc = 128 + stop_sig;
  } else {
    if (!o->quiet)
      fprintf(stderr, "lamina: sweep %s: %d of %d points completed, %d failed%s -> %s\n", p->name, done_n,
              selected, failed_n, failed_n ? " (see --status)" : "", out);
    if (failed_n || done_n < selected) rc = 1;
  }
done:
  for (int i = 0; i < N; i++) cJSON_Delete(res[i]);
  free(ps);
  free(res);
  free(queue);
  return rc;
}
