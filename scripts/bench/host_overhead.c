/*
 * host_overhead.c - host-overhead benchmarks of the tick loop (core/sim.c),
 * driven from C through liblamina.  Built and run by scripts/bench/run;
 * the models come from the benchnull plugin (scripts/bench/null.c), found
 * through LAMINA_PLUGIN_PATH.
 *
 *   host_overhead [--reps R] [--scale S] [--only KEY,KEY*,...]
 *
 * Each case builds a fresh simulation per repetition, runs one short warm-up
 * (so that plugin loading, first-touch of port buffers and branch predictors
 * are out of the way), then times one lam_sim_run(sim, N) call with
 * CLOCK_MONOTONIC.  The reported figure is the median over R repetitions
 * (min and max are printed too).  --scale multiplies every tick count
 * (0.01 for a quick smoke run).
 *
 * Output: one line per case, tab-separated,
 *   RESULT <key> <median> <min> <max> <unit> <reps> <description>
 * scripts/bench/run calls it with --reps 1 once per round (each repetition
 * in its own process, see docs/performance.md) and takes the median over
 * the rounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lamina.h"

static lam_registry *reg;
static int reps = 5;
static double scale = 1.0;
/* --only K1,K2,...: run only these cases ("c.chain*" matches a prefix). */
static const char *only = NULL;

static int want(const char *key) {
  if (!only) return 1;
  for (const char *p = only; *p;) {
    size_t k = strcspn(p, ",");
    if (k && p[k - 1] == '*' ? !strncmp(key, p, k - 1) : strlen(key) == k && !strncmp(key, p, k))
      return 1;
    p += k;
    if (*p == ',') p++;
  }
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "host_overhead: %s: %s\n", what, lam_last_error());
  exit(1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void report(const char *key, double *v, int n, const char *unit,
                   const char *desc) {
  double med = median(v, n);
  printf("RESULT\t%s\t%.4g\t%.4g\t%.4g\t%s\t%d\t%s\n", key, med, v[0], v[n - 1],
         unit, n, desc);
  fflush(stdout);
}

static int64_t scaled(double n) {
  int64_t k = (int64_t)(n * scale);
  return k < 10 ? 10 : k;
}

/* The workloads.  Each builds a new simulation; `check` is the divergence
 * check interval (1 = the default, 0 = off). */
enum { W_NULL1, W_CHAIN_ALIAS, W_CHAIN_COPY, W_NULL1000 };

typedef struct workload {
  lam_sim *sim;
  int32_t models;     /* model steps per tick */
  lam_rec *rec;
} workload;

static void add(lam_sim *s, const char *name, const char *model) {
  if (lam_sim_add(s, name, model, NULL, 0, 1)) die(name);
}

static workload build(int kind, int64_t check, int64_t rec_every) {
  workload w = {0};
  w.sim = lam_sim_new(reg, 0.1, 1);
  if (!w.sim) die("lam_sim_new");
  if (lam_sim_set_check(w.sim, check)) die("set_check");
  switch (kind) {
  case W_NULL1:
    add(w.sim, "a", "benchnull.null");
    w.models = 1;
    break;
  case W_NULL1000: {
    /* One null model whose port holds 1000 f64: the step still touches
     * x[0] only, so the difference with the check on and off is the cost
     * of scanning 1000 elements for NaN/Inf. */
    lam_arg n = {.key = "n", .num = 1000, .kind = LAM_ARG_NUM};
    if (lam_sim_add(w.sim, "a", "benchnull.null", &n, 1, 1)) die("a");
    w.models = 1;
    break;
  }
  case W_CHAIN_ALIAS:
    /* a.x -> b.in -> (b.out) -> c.in -> (c.out) -> d.in: three aliasing
     * links, so the links phase only walks and skips them. */
    add(w.sim, "a", "benchnull.null");
    add(w.sim, "b", "benchnull.pass");
    add(w.sim, "c", "benchnull.pass");
    add(w.sim, "d", "benchnull.pass");
    if (lam_sim_link(w.sim, "a.x", "b.in") || lam_sim_link(w.sim, "b.out", "c.in") ||
        lam_sim_link(w.sim, "c.out", "d.in"))
      die("link");
    w.models = 4;
    break;
  case W_CHAIN_COPY:
    /* The same chain into STATE ports: three copying links
     * (lam_buf_assign of one f64 every tick). */
    add(w.sim, "a", "benchnull.null");
    add(w.sim, "b", "benchnull.state");
    add(w.sim, "c", "benchnull.state");
    add(w.sim, "d", "benchnull.state");
    if (lam_sim_link(w.sim, "a.x", "b.s") || lam_sim_link(w.sim, "b.out", "c.s") ||
        lam_sim_link(w.sim, "c.out", "d.s"))
      die("link");
    w.models = 4;
    break;
  }
  if (rec_every > 0) {
    w.rec = lam_sim_record(w.sim, kind == W_NULL1 ? "a.x" : "d.out", rec_every, 0, -1);
    if (!w.rec) die("record");
  }
  return w;
}

/* Times `ticks` ticks of a fresh workload per repetition; fills ns per
 * model-step into per_step and ns per tick into per_tick. */
static void measure(int kind, int64_t check, int64_t rec_every, int64_t ticks,
                    double *per_step, double *per_tick) {
  for (int r = 0; r < reps; r++) {
    workload w = build(kind, check, rec_every);
    if (lam_sim_run(w.sim, 1000)) die("warm-up run");
    double t0 = now_s();
    if (lam_sim_run(w.sim, ticks)) die("run");
    double el = now_s() - t0;
    /* Sanity: every model stepped every tick, and a.x counted them. */
    lam_buf *x = lam_sim_port(w.sim, "a.x");
    if (!x || lam_buf_get(x, 0) != (double)(ticks + 1000)) {
      fprintf(stderr, "host_overhead: a.x = %g after %lld steps\n", x ? lam_buf_get(x, 0) : -1.0,
              (long long)(ticks + 1000));
      exit(1);
    }
    lam_buf_free(x);
    if (w.rec && rec_every == 1 && lam_rec_count(w.rec) != ticks + 1000) {
      fprintf(stderr, "host_overhead: recorder holds %lld samples\n", (long long)lam_rec_count(w.rec));
      exit(1);
    }
    per_tick[r] = el * 1e9 / (double)ticks;
    per_step[r] = per_tick[r] / w.models;
    lam_sim_free(w.sim);
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
      scale = atof(argv[++i]);
    } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else {
      fprintf(stderr, "usage: host_overhead [--reps R] [--scale S] [--only KEY,KEY*,...]\n");
      return 2;
    }
  }
  if (reps < 1 || reps > 1000 || !(scale > 0)) {
    fprintf(stderr, "host_overhead: bad --reps or --scale\n");
    return 2;
  }
  reg = lam_registry_new();
  if (!reg) die("lam_registry_new");
  if (!lam_registry_model(reg, "benchnull.null")) die("benchnull plugin");

  double *a = calloc((size_t)reps, sizeof *a), *b = calloc((size_t)reps, sizeof *b);
  if (!a || !b) return 1;
  char desc[256];

  /* The floor: the same step function called from a bare C loop through a
   * function pointer, with a hand-made context (no host at all).  What
   * lam_sim_run adds is the difference with c.null1. */
  if (want("c.floor")) {
    const lam_model_def *d = lam_registry_model(reg, "benchnull.null");
    int64_t one = 1, n = scaled(1e8);
    lam_buf *x = lam_buf_new(LAM_F64, 1, &one);
    if (!d || !x) die("floor");
    lam_buf *ports[1] = {x};
    lam_model_ctx ctx = {.struct_size = sizeof ctx, .ports = ports, .period = 1, .dt = 0.1};
    int (*volatile stepp)(void *, lam_model_ctx *, int64_t) = d->step;
    for (int r = 0; r < reps; r++) {
      int (*step)(void *, lam_model_ctx *, int64_t) = stepp;
      double t0 = now_s();
      for (int64_t t = 0; t < n; t++) {
        ctx.tick = t;
        if (step(NULL, &ctx, 1)) die("floor step");
      }
      a[r] = (now_s() - t0) * 1e9 / (double)n;
    }
    if (lam_buf_get(x, 0) != (double)n * reps) die("floor count");
    lam_buf_free(x);
    snprintf(desc, sizeof desc, "floor: benchnull.null's step called from a bare C loop, %lld calls",
             (long long)n);
    report("c.floor", a, reps, "ns/step", desc);
  }

  /* The stepping cases: ns per model-step (and per tick in the text). */
  static const struct {
    const char *key;
    int kind;
    int64_t check, rec_every;
    double ticks;
    const char *what;
  } cases[] = {
      {"c.null1", W_NULL1, 1, 0, 1e8, "1 null model, NaN check every step (default)"},
      {"c.null1_nocheck", W_NULL1, 0, 0, 1e8, "1 null model, NaN check off"},
      {"c.null1000_check", W_NULL1000, 1, 0, 1e6, "1 null model with a 1000-element port, NaN check every step"},
      {"c.null1000_nocheck", W_NULL1000, 0, 0, 1e6, "1 null model with a 1000-element port, NaN check off"},
      {"c.chain_alias", W_CHAIN_ALIAS, 1, 0, 2.5e7, "4 models, 3 aliasing links"},
      {"c.chain_copy", W_CHAIN_COPY, 1, 0, 2.5e7, "4 models, 3 copying links (into STATE ports)"},
      {"c.chain_alias_rec1", W_CHAIN_ALIAS, 1, 1, 1e7,
       "4 models, 3 aliasing links, recorder on d.out every tick"},
      {"c.chain_alias_rec10", W_CHAIN_ALIAS, 1, 10, 2.5e7,
       "4 models, 3 aliasing links, recorder on d.out every 10 ticks"},
      {"c.chain_copy_rec1", W_CHAIN_COPY, 1, 1, 1e7,
       "4 models, 3 copying links, recorder on d.out every tick"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    if (!want(cases[c].key)) continue;
    int64_t n = scaled(cases[c].ticks);
    measure(cases[c].kind, cases[c].check, cases[c].rec_every, n, a, b);
    snprintf(desc, sizeof desc, "%s; %lld ticks (ns per model-step = ns per tick / %d)",
             cases[c].what, (long long)n, cases[c].kind == W_NULL1 || cases[c].kind == W_NULL1000 ? 1 : 4);
    report(cases[c].key, a, reps, "ns/step", desc);
  }

  /* The cost of entering lam_sim_run itself (what each Lua event pays on
   * the C side): many 1-tick runs of one null model, with the progress end
   * set as sim:run_ticks sets it, quiet off (as `lamina run` on a
   * terminal) and on. */
  for (int variant = 0; variant < 2; variant++) {
    const char *key = variant ? "c.run1_quiet" : "c.run1";
    if (!want(key)) continue;
    lam_set_quiet(variant);
    int64_t calls = scaled(1e6);
    for (int r = 0; r < reps; r++) {
      workload w = build(W_NULL1, 1, 0);
      if (lam_sim_run(w.sim, 1000)) die("warm-up run");
      lam_sim_progress(w.sim, INT64_MAX);
      double t0 = now_s();
      for (int64_t k = 0; k < calls; k++)
        if (lam_sim_run(w.sim, 1)) die("run");
      a[r] = (now_s() - t0) * 1e9 / (double)calls;
      lam_sim_free(w.sim);
    }
    snprintf(desc, sizeof desc, "%lld calls of lam_sim_run(sim, 1) with a progress end set%s",
             (long long)calls, variant ? ", lam_set_quiet(1)" : "");
    report(key, a, reps, "ns/call", desc);
  }
  lam_set_quiet(1);

  free(a);
  free(b);
  lam_registry_free(reg);
  return 0;
}
