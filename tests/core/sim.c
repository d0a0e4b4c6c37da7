/*
 * sim.c - tests of the simulation (core/sim.c, core/rec.c) driven through
 * the public API with the real test plugin tests/plugins/abi/good.c
 * (loaded from $LAMINA_TEST_BUILD/tests/abi/good.so; skipped without it).
 *
 * good.counter steps x += (gain + bias) * dt (+ noise), y = in (or +=),
 * nsteps += 1; see good.c.  Unless a test says otherwise the base dt is 1
 * and the gains are small integers or binary fractions, so every expected
 * value is exact and compared with tolerance 0; "bit for bit" checks use
 * memcmp on the recorded bytes.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lamina.h"
#include "tap.h"
#include "good.h"

static lam_registry *reg;

#define NUM(k, v) {.key = (k), .num = (v), .kind = LAM_ARG_NUM}
#define BOOLV(k, v) {.key = (k), .num = (v), .kind = LAM_ARG_BOOL}
#define STR(k, v) {.key = (k), .str = (v), .kind = LAM_ARG_STR}
/* lam_sim_add of good.counter with a literal argument list. */
#define ADD(s, name, period, ...)                                          \
  lam_sim_add((s), (name), "good.counter", (lam_arg[]){__VA_ARGS__},       \
              (int32_t)(sizeof((lam_arg[]){__VA_ARGS__}) / sizeof(lam_arg)), \
              (period))

/* Element i of port `path` (flat index), as a double. */
static double pget(lam_sim *s, const char *path, int64_t i) {
  lam_buf *b = lam_sim_port(s, path);
  double v = b ? lam_buf_get(b, i) : NAN;
  lam_buf_free(b);
  return v;
}

/* A 1-d f64 buffer with the given values. */
static lam_buf *vec(int64_t n, const double *v) {
  lam_buf *b = lam_buf_new(LAM_F64, 1, &n);
  for (int64_t i = 0; b && i < n; i++) ((double *)b->data)[i] = v[i];
  return b;
}
static lam_buf *scalar(double v) { return vec(1, &v); }

/* The recorded samples as a contiguous f64 copy. */
static lam_buf *rec_f64(lam_rec *r) {
  lam_buf *v = lam_rec_data(r);
  lam_buf *c = v ? lam_buf_copy(v, LAM_F64) : NULL;
  lam_buf_free(v);
  return c;
}
#define D(b) ((const double *)(b)->data)

static lam_sim *fresh(double dt, uint64_t seed) {
  lam_sim *s = lam_sim_new(reg, dt, seed);
  if (!s) diag("lam_sim_new failed: %s", lam_last_error());
  return s;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ------------------------------------------------------------------ */

static void test_params(void) {
  lam_sim *s = fresh(0.5, 42);
  ok(s != NULL, "sim created");
  is_double(lam_sim_dt(s), 0.5, 0, "dt");
  is_int((long long)lam_sim_seed(s), 42, "seed");
  is_int(lam_sim_tick(s), 0, "tick 0");
  ok(lam_sim_new(reg, 0, 1) == NULL, "dt = 0 refused");
  like(lam_last_error(), "dt", "... the error names dt");
  ok(lam_sim_new(reg, NAN, 1) == NULL && lam_sim_new(reg, -1, 1) == NULL &&
         lam_sim_new(reg, INFINITY, 1) == NULL,
     "dt NaN, negative or infinite refused");
  ok(lam_sim_new(NULL, 1, 1) == NULL, "NULL registry refused");

  const char *e;
  int rc = ADD(s, "a", 1, NUM("gian", 2));
  e = lam_last_error();
  is_int(rc, LAM_ENOTFOUND, "unknown parameter: LAM_ENOTFOUND");
  like(e, "unknown parameter 'gian'", "... names the key");
  like(e, "did you mean 'gain'", "... suggests the nearest");
  like(e, "valid: gain, bias, noise, n, nan_at, fail_at, negate, mode", "... lists the valid keys");
  is_int(lam_sim_nmodels(s), 0, "... nothing added");

  rc = ADD(s, "a", 1, STR("gain", "fast"));
  e = lam_last_error();
  is_int(rc, LAM_EINVAL, "string for a number: LAM_EINVAL");
  like(e, "'gain' = \"fast\"", "... names key and value");
  like(e, "wrong type", "... says the type is wrong");
  like(e, "a real number in [-1000, 1000] 1/ms", "... gives the valid range and units");
  is_int(lam_sim_nmodels(s), 0, "... nothing added");

  rc = ADD(s, "a", 1, NUM("negate", 1));
  e = lam_last_error();
  is_int(rc, LAM_EINVAL, "number for a boolean: LAM_EINVAL");
  like(e, "'negate' = 1", "... names key and value");
  like(e, "true or false", "... says what is valid");
  is_int(lam_sim_nmodels(s), 0, "... nothing added");

  rc = ADD(s, "a", 1, BOOLV("gain", 1));
  is_int(rc, LAM_EINVAL, "boolean for a number: LAM_EINVAL");
  like(lam_last_error(), "'gain' = true has the wrong type", "... names key and value");

  rc = ADD(s, "a", 1, NUM("gain", 5000));
  e = lam_last_error();
  is_int(rc, LAM_ERANGE, "out of range: LAM_ERANGE");
  like(e, "'gain' = 5000", "... names key and value");
  like(e, "out of range", "... says so");
  like(e, "[-1000, 1000]", "... gives the range");
  is_int(lam_sim_nmodels(s), 0, "... nothing added");

  rc = ADD(s, "a", 1, NUM("n", 2.5));
  e = lam_last_error();
  is_int(rc, LAM_EINVAL, "non-integer for an integer: LAM_EINVAL");
  like(e, "'n' = 2.5", "... names key and value");
  like(e, "not an integer", "... says so");
  like(e, "an integer in [1, 64]", "... gives the range");
  is_int(lam_sim_nmodels(s), 0, "... nothing added");

  rc = ADD(s, "a", 1, NUM("noise", NAN));
  is_int(rc, LAM_ERANGE, "NaN: LAM_ERANGE");
  like(lam_last_error(), "'noise' = nan", "... names key and value");

  rc = ADD(s, "a", 1, STR("mode", "loop"));
  e = lam_last_error();
  is_int(rc, LAM_EINVAL, "unknown enum choice: LAM_EINVAL");
  like(e, "'mode' = \"loop\"", "... names key and value");
  like(e, "echo|sum", "... lists the choices");
  rc = ADD(s, "a", 1, NUM("mode", 1));
  is_int(rc, LAM_EINVAL, "number for an enum: LAM_EINVAL");

  rc = ADD(s, "a", 1, NUM("gain", 1), NUM("gain", 2));
  is_int(rc, LAM_EINVAL, "a key given twice: LAM_EINVAL");
  like(lam_last_error(), "'gain' given twice", "... says so");

  rc = ADD(s, "a", 1, NUM("gain", 2), NUM("n", 0));
  is_int(rc, LAM_ERANGE, "a good key then a bad one: refused");
  like(lam_last_error(), "'n' = 0", "... naming the bad one");
  is_int(lam_sim_nmodels(s), 0, "... nothing added");

  is_int(ADD(s, "a", 0, NUM("gain", 1)), LAM_EINVAL, "period 0 refused");
  like(lam_last_error(), "period", "... the error says period");
  is_int(ADD(s, "1a", 1, NUM("gain", 1)), LAM_EINVAL, "name starting with a digit refused");
  is_int(ADD(s, "a.b", 1, NUM("gain", 1)), LAM_EINVAL, "name with a dot refused");
  is_int(lam_sim_add(s, "a", "good.nosuch", NULL, 0, 1), LAM_ENOTFOUND, "unknown model refused");
  like(lam_last_error(), "no model 'good.nosuch'", "... named");
  is_int(lam_sim_add(s, "a", "nosuch.model", NULL, 0, 1), LAM_ENOTFOUND,
         "unknown family refused");
  is_int(lam_sim_nmodels(s), 0, "still no model");

  rc = ADD(s, "a", 1, NUM("gain", 2), NUM("n", 3), BOOLV("negate", 1), STR("mode", "sum"));
  is_int(rc, LAM_OK, "valid parameters: added");
  is_int(lam_sim_nmodels(s), 1, "one model");
  is_str(lam_sim_model_name(s, 0), "a", "its name");
  is_str(lam_sim_model_def(s, 0)->name, "good.counter", "its model");
  is_int(lam_sim_model_period(s, 0), 1, "its period");
  const double *pv = lam_sim_model_params(s, 0);
  static const double want[8] = {2, 0, 0, 3, -1, -1, 1, 1};
  ok(pv && !memcmp(pv, want, sizeof want),
     "resolved parameters in schema order (defaults filled, bool 1, enum index 1)");
  ok(lam_sim_model_name(s, 1) == NULL && lam_sim_model_def(s, -1) == NULL,
     "model index out of range: NULL");
  is_int(ADD(s, "a", 1, NUM("gain", 1)), LAM_EINVAL, "a second model named 'a' refused");
  like(lam_last_error(), "'a' already exists", "... says so");
  is_int(lam_sim_nmodels(s), 1, "... still one model");

  lam_buf *x = lam_sim_port(s, "a.x");
  ok(x && x->dtype == LAM_F64 && x->ndim == 1 && x->shape[0] == 3, "a.x: f64 [3] (shape 'n')");
  lam_buf_free(x);
  lam_buf *ns = lam_sim_port(s, "a.nsteps");
  ok(ns && ns->dtype == LAM_I64 && ns->ndim == 1 && ns->shape[0] == 1, "a.nsteps: i64 [1] (scalar)");
  lam_buf_free(ns);
  is_double(pget(s, "a.gain", 2), 2, 0, "create() initialised the gain port from the parameter");
  is_int(lam_sim_add(s, "g", "good.plain", (lam_arg[]){NUM("rows", 4)}, 1, 1), LAM_OK,
         "good.plain added");
  lam_buf *g = lam_sim_port(s, "g.grid");
  ok(g && g->dtype == LAM_F32 && g->ndim == 2 && g->shape[0] == 4 && g->shape[1] == 3,
     "g.grid: f32 [4, 3] (shape 'rows,3')");
  lam_buf_free(g);

  ok(lam_sim_port(s, "ax") == NULL, "port path without a dot: NULL");
  like(lam_last_error(), "model.port", "... the error shows the form");
  ok(lam_sim_port(s, "zz.x") == NULL, "unknown model: NULL");
  like(lam_last_error(), "no model named 'zz' (models: a, g)", "... lists the models");
  ok(lam_sim_port(s, "a.nope") == NULL, "unknown port: NULL");
  like(lam_last_error(), "no port 'nope' (it has: gain, x, in, y, nsteps)", "... lists the ports");

  /* lam_sim_set */
  double five[3] = {5, 6, 7};
  lam_buf *v = vec(3, five);
  is_int(lam_sim_set(s, "a.gain", v), LAM_OK, "set a.gain");
  is_double(pget(s, "a.gain", 2), 7, 0, "... the port holds the values");
  lam_buf *v2 = vec(2, five);
  is_int(lam_sim_set(s, "a.gain", v2), LAM_EINVAL, "set with the wrong size refused");
  like(lam_last_error(), "2 values for a port of 3 elements", "... says so");
  is_int(lam_sim_set(s, "a.gain", NULL), LAM_EINVAL, "set NULL refused");
  lam_buf_free(v);
  lam_buf_free(v2);
  lam_sim_free(s);
  lam_sim_free(NULL);
}

/* ------------------------------------------------------------------ */

static void test_scheduler(void) {
  lam_sim *s = fresh(1, 1);
  static const int64_t per[3] = {1, 3, 10};
  ADD(s, "p1", 1, NUM("gain", 1));
  ADD(s, "p3", 3, NUM("gain", 1));
  ADD(s, "p10", 10, NUM("gain", 1));
  static const int64_t chunks[] = {25, 0, 7, 1, 1, 2, 5, 13, 30, 999};
  int64_t T = 0;
  for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
    int rc = lam_sim_run(s, chunks[c]);
    T += chunks[c];
    int good = rc == LAM_OK && lam_sim_tick(s) == T;
    for (int i = 0; i < 3; i++) {
      int64_t want = ceil_div(T, per[i]);
      char path[32];
      snprintf(path, sizeof path, "%s.nsteps", lam_sim_model_name(s, i));
      char xp[32];
      snprintf(xp, sizeof xp, "%s.x", lam_sim_model_name(s, i));
      if (lam_sim_model_steps(s, i) != want || pget(s, path, 0) != (double)want ||
          pget(s, xp, 0) != (double)(want * per[i])) {
        good = 0;
        diag("T = %lld: %s stepped %lld times (port %g, x %g), expected %lld",
             (long long)T, lam_sim_model_name(s, i), (long long)lam_sim_model_steps(s, i),
             pget(s, path, 0), pget(s, xp, 0), (long long)want);
      }
    }
    ok(good, "after run(%lld), T = %lld: periods 1, 3, 10 stepped ceil(T/period) times "
       "(x grew by gain * period * dt per step)", (long long)chunks[c], (long long)T);
  }
  is_int(lam_sim_run(s, -1), LAM_EINVAL, "run(-1) refused");
  /* A model added later first steps at the next multiple of its period. */
  ADD(s, "late", 3, NUM("gain", 1));
  lam_sim_run(s, 10);
  int64_t want = 0;
  for (int64_t t = T; t < T + 10; t++) want += t % 3 == 0;
  is_int(lam_sim_model_steps(s, 3), want, "a model added at tick %lld steps at multiples of its period",
         (long long)T);
  lam_sim_free(s);

  /* A late model whose period does not divide the current tick. */
  s = fresh(1, 1);
  ADD(s, "a", 1, NUM("gain", 1));
  lam_sim_run(s, 11);
  ADD(s, "b", 4, NUM("gain", 1));
  lam_sim_run(s, 10); /* ticks 11..20: b due at 12, 16, 20 */
  is_int(lam_sim_model_steps(s, 1), 3, "a period-4 model added at tick 11 steps at 12, 16, 20");
  lam_sim_free(s);
}

/* ------------------------------------------------------------------ */

static void test_actions(void) {
  lam_sim *s = fresh(1, 1);
  ADD(s, "a", 1, NUM("gain", 1));
  lam_buf *two = scalar(2), *three = scalar(3), *four = scalar(4), *seven = scalar(7);
  is_int(lam_sim_at_set(s, 5, "a.gain", two), LAM_OK, "at 5: gain = 2");
  is_int(lam_sim_at_set(s, 5, "a.gain", three), LAM_OK, "at 5: gain = 3 (added later)");
  is_int(lam_sim_at_set(s, 20, "a.gain", seven), LAM_OK, "at 20: gain = 7");
  is_int(lam_sim_at_set(s, 15, "a.gain", four), LAM_OK, "at 15: gain = 4 (added after tick 20's)");
  is_int(lam_sim_at_param(s, 12, "a.bias", 1), LAM_OK, "at 12: bias = 1");
  is_int(lam_sim_at_param(s, 12, "a.bias", 2), LAM_OK, "at 12: bias = 2 (added later)");
  lam_buf_free(two); /* the sim keeps its own copy */
  lam_buf_free(three);
  lam_buf_free(four);
  lam_buf_free(seven);
  lam_rec *rg = lam_sim_record(s, "a.gain", 1, 0, -1);
  lam_rec *rx = lam_sim_record(s, "a.x", 1, 0, -1);
  ok(rg && rx, "recorders on a.gain and a.x");
  is_int(lam_sim_run(s, 25), LAM_OK, "run 25");
  lam_buf *G = rec_f64(rg), *X = rec_f64(rx);
  int good_g = 1, good_x = 1;
  double x = 0;
  for (int t = 0; t < 25; t++) {
    double gw = t < 5 ? 1 : t < 15 ? 3 : t < 20 ? 4 : 7;
    double bias = t < 12 ? 0 : 2;
    x += gw + bias;
    if (D(G)[t] != gw) good_g = 0, diag("tick %d: gain %g, expected %g", t, D(G)[t], gw);
    if (D(X)[t] != x) good_x = 0, diag("tick %d: x %g, expected %g", t, D(X)[t], x);
  }
  ok(good_g, "same-tick actions run in insertion order (the later value wins), ticks in order");
  ok(good_x, "x follows gain + bias from the action's tick on (actions run before models)");
  is_double(lam_sim_model_params(s, 0)[1], 2, 0, "the parameter holds the last scheduled value");
  lam_buf_free(G);
  lam_buf_free(X);

  lam_buf *one = scalar(1);
  is_int(lam_sim_at_set(s, 3, "a.gain", one), LAM_EINVAL, "an action in the past refused");
  like(lam_last_error(), "tick 3 is in the past", "... says so");
  is_int(lam_sim_at_set(s, 25, "a.gain", one), LAM_OK, "an action at the current tick is fine");
  is_int(lam_sim_at_set(s, 30, "a.nope", one), LAM_ENOTFOUND, "unknown port refused");
  is_int(lam_sim_at_set(s, 30, "a.gain", NULL), LAM_EINVAL, "NULL value refused");
  lam_buf *pair = vec(2, (double[]){1, 2});
  is_int(lam_sim_at_set(s, 30, "a.gain", pair), LAM_EINVAL, "wrong size refused");
  like(lam_last_error(), "2 values for a port of 1 elements", "... says so");
  is_int(lam_sim_at_param(s, 30, "a.gain", 1), LAM_EINVAL, "a non-mutable parameter refused");
  like(lam_last_error(), "cannot change during a run", "... says so");
  is_int(lam_sim_at_param(s, 30, "a.bias", 5000), LAM_ERANGE, "an out-of-range value refused");
  like(lam_last_error(), "'bias' = 5000 is out of range", "... naming key and value");
  is_int(lam_sim_at_param(s, 30, "a.zzz", 1), LAM_ENOTFOUND, "an unknown parameter refused");
  like(lam_last_error(), "no parameter 'zzz'", "... named");
  lam_buf_free(one);
  lam_buf_free(pair);
  lam_sim_free(s);
}

/* ------------------------------------------------------------------ */

/* A regulator (period 1000) drives the gain state port of a fast model
 * (period 1) through a copying link.  By sim.c's order (actions, models,
 * copying links whose reader is due at t + 1, recorders), the value the
 * regulator writes at tick 1000 is copied at the end of tick 1000 and used
 * by the fast model's step at tick 1001: the slope of x changes exactly at
 * tick 1001, and the gain port recorded at tick 1000 already shows it.
 * Before the first tick every copying link delivers the writer's initial
 * value once (reg.x = 0), so the fast model's own initial gain (0.25) is
 * never used. */
static void regulator_case(int fast_first) {
  const char *how = fast_first ? "fast model added first" : "regulator added first";
  lam_sim *s = fresh(1, 1);
  if (fast_first) ADD(s, "fast", 1, NUM("gain", 0.25));
  ADD(s, "reg", 1000, NUM("gain", 0.5)); /* x += 0.5 * 1000 per step */
  if (!fast_first) ADD(s, "fast", 1, NUM("gain", 0.25));
  is_int(lam_sim_link(s, "reg.x", "fast.gain"), LAM_OK, "%s: link reg.x -> fast.gain", how);
  lam_buf *rp = lam_sim_port(s, "reg.x"), *fp = lam_sim_port(s, "fast.gain");
  ok(rp && fp && rp->data != fp->data, "%s: a state port target is a copy, not an alias", how);
  lam_buf_free(rp);
  lam_buf_free(fp);
  lam_rec *rx = lam_sim_record(s, "fast.x", 1, 0, -1);
  lam_rec *rg = lam_sim_record(s, "fast.gain", 1, 0, -1);
  int rc = lam_sim_run(s, 1200);
  rc |= lam_sim_run(s, 1300);
  is_int(rc, LAM_OK, "%s: ran 2500 ticks in two runs", how);
  lam_buf *X = rec_f64(rx), *G = rec_f64(rg);
  is_int(X->shape[0], 2500, "%s: 2500 samples", how);
  is_double(D(X)[0], 0, 0, "%s: tick 0 uses the regulator's initial value (0), "
            "copied before the first tick", how);
  int64_t bad = -1;
  for (int64_t t = 1; t < 2500 && bad < 0; t++) {
    double slope = D(X)[t] - D(X)[t - 1];
    double want = t <= 1000 ? 500 : t <= 2000 ? 1000 : 1500;
    if (slope != want) bad = t;
  }
  ok(bad < 0, "%s: slope 500 on ticks 1..1000, 1000 on 1001..2000, 1500 from 2001 "
     "(the regulator's step at tick k*1000 is seen at tick k*1000+1)%s", how,
     bad < 0 ? "" : " -- first wrong tick below");
  if (bad >= 0) diag("tick %lld: x %g -> %g", (long long)bad, D(X)[bad - 1], D(X)[bad]);
  is_double(D(X)[1000] - D(X)[999], 500, 0, "%s: tick 1000 still uses the old gain", how);
  is_double(D(X)[1001] - D(X)[1000], 1000, 0, "%s: tick 1001 uses the new gain", how);
  is_double(D(G)[999], 500, 0, "%s: gain recorded at tick 999 is 500", how);
  is_double(D(G)[1000], 1000, 0, "%s: gain recorded at tick 1000 is already 1000 "
            "(links run before recorders)", how);
  is_int(lam_sim_model_steps(s, fast_first ? 1 : 0), 3, "%s: the regulator stepped 3 times", how);
  lam_buf_free(X);
  lam_buf_free(G);
  lam_sim_free(s);
}

/* ------------------------------------------------------------------ */

static void test_links(void) {
  lam_sim *s = fresh(1, 1);
  ADD(s, "a", 1, NUM("gain", 1), NUM("n", 2));
  ADD(s, "b", 1, NUM("n", 2));
  ADD(s, "c", 1, NUM("n", 2));
  ADD(s, "d", 1, NUM("n", 3));
  lam_sim_add(s, "p", "good.plain", (lam_arg[]){NUM("rows", 2)}, 1, 2);
  ADD(s, "e", 1, NUM("n", 6));

  is_int(lam_sim_link(s, "a.x", "b.in"), LAM_OK, "link a.x -> b.in (same dtype, input port)");
  lam_buf *ax = lam_sim_port(s, "a.x"), *bin = lam_sim_port(s, "b.in");
  ok(ax && bin && ax->data == bin->data, "b.in aliases a.x: lam_sim_port gives the writer's buffer");
  lam_buf_free(bin);
  is_int(lam_sim_link(s, "c.x", "b.in"), LAM_EINVAL, "a port driven twice refused");
  like(lam_last_error(), "b.in is already driven", "... says so");
  is_int(lam_sim_link(s, "b.in", "c.in"), LAM_EINVAL, "an input port as source refused");
  like(lam_last_error(), "the source is an input port", "... says so");
  is_int(lam_sim_link(s, "a.x", "c.x"), LAM_EINVAL, "an output port as target refused");
  like(lam_last_error(), "the target is an output port", "... says so");
  is_int(lam_sim_link(s, "a.x", "d.in"), LAM_EINVAL, "size mismatch refused");
  like(lam_last_error(), "2 elements cannot drive 3", "... gives both sizes");
  is_int(lam_sim_link(s, "c.gain", "c.gain"), LAM_EINVAL, "a port driving itself refused");
  is_int(lam_sim_link(s, "a.x", "c.nope"), LAM_ENOTFOUND, "unknown target port refused");
  is_int(lam_sim_link(s, "a.x", "c.gain"), LAM_OK, "link a.x -> c.gain (state port)");
  lam_buf *cg = lam_sim_port(s, "c.gain");
  ok(cg && cg->data != ax->data, "c.gain is a copy target, not an alias");
  lam_buf_free(cg);
  is_int(lam_sim_link(s, "p.grid", "e.in"), LAM_OK, "link p.grid (f32 [2,3]) -> e.in (f64 [6])");
  lam_buf *ein = lam_sim_port(s, "e.in"), *pg = lam_sim_port(s, "p.grid");
  ok(ein && pg && ein->data != pg->data && ein->dtype == LAM_F64,
     "a different dtype is copied (converted), not aliased");
  lam_buf_free(ein);
  lam_buf_free(pg);
  lam_buf *one = vec(2, (double[]){1, 1});
  is_int(lam_sim_set(s, "b.in", one), LAM_EINVAL, "set on an aliased input refused");
  like(lam_last_error(), "alias", "... says why");
  is_int(lam_sim_at_set(s, 3, "b.in", one), LAM_EINVAL, "a scheduled set on an aliased input refused");
  lam_buf *rows = lam_buf_new(LAM_F64, 2, (int64_t[]){3, 2});
  is_int(lam_sim_play(s, "c.gain", rows, 0, 0), LAM_EINVAL, "play into a linked port refused");
  like(lam_last_error(), "already driven", "... says so");

  lam_rec *rb = lam_sim_record(s, "b.y", 1, 0, -1);
  lam_rec *rbi = lam_sim_record(s, "b.in", 1, 0, -1);
  lam_rec *re = lam_sim_record(s, "e.y", 1, 0, -1);
  lam_rec *rc_ = lam_sim_record(s, "c.x", 1, 0, -1);
  is_int(lam_sim_run(s, 10), LAM_OK, "run 10");
  lam_buf *B = rec_f64(rb), *BI = rec_f64(rbi), *E = rec_f64(re), *C = rec_f64(rc_);
  int good_alias = 1, good_conv = 1, good_copy = 1;
  for (int t = 0; t < 10; t++) {
    /* a (added first) steps before b: b reads a.x of the same tick. */
    if (D(B)[2 * t] != t + 1 || D(BI)[2 * t + 1] != t + 1) good_alias = 0;
    /* p (period 2) writes its step count at even ticks; e (period 1)
     * sees it from the following tick on. */
    double pw = t == 0 ? 0 : (double)((t - 1) / 2 + 1);
    for (int j = 0; j < 6; j++)
      if (D(E)[6 * t + j] != pw) good_conv = 0;
    /* c.gain holds a.x(t - 1) = t at tick t (a.x's initial 0 at tick 0):
     * x_c(t) = 0 + 1 + ... + t. */
    double xc = 0;
    for (int k = 1; k <= t; k++) xc += k;
    if (D(C)[2 * t] != xc) good_copy = 0, diag("tick %d: c.x %g, expected %g", t, D(C)[2 * t], xc);
  }
  ok(good_alias, "alias: the reader (added after the writer) sees the writer's value of the same tick");
  ok(good_conv, "copy with conversion: f32 grid values reach the f64 input the next tick");
  ok(good_copy, "copy into a state port: the reader uses the writer's previous-tick value");
  lam_buf_free(B);
  lam_buf_free(BI);
  lam_buf_free(E);
  lam_buf_free(C);

  is_int(lam_sim_link(s, "a.x", "d.gain"), LAM_ESTATE, "a link after the first run refused");
  like(lam_last_error(), "before the first run", "... says when links are made");
  is_int(lam_sim_reset(s), LAM_OK, "reset");
  is_int(lam_sim_link(s, "a.x", "d.gain"), LAM_EINVAL, "after reset: size checks still apply");
  ADD(s, "f", 1, NUM("n", 3));
  is_int(lam_sim_link(s, "d.x", "f.gain"), LAM_OK, "after reset links can be made again");
  lam_buf_free(ax);
  lam_buf_free(one);
  lam_buf_free(rows);
  lam_sim_free(s);
}

/* ------------------------------------------------------------------ */

/* Plays rows {10,11}, {20,21}, {30,31} into p.in of a period-2 model and
 * returns y[0] recorded at every tick of `nticks` (run in `split` parts). */
static int play_case(int64_t start, int loop, int64_t nticks, int split, double *y0) {
  lam_sim *s = fresh(1, 1);
  ADD(s, "p", 2, NUM("n", 2));
  lam_buf *data = lam_buf_new(LAM_I32, 2, (int64_t[]){3, 2});
  for (int i = 0; i < 6; i++) lam_buf_set(data, i, 10 * (i / 2 + 1) + i % 2);
  int rc = lam_sim_play(s, "p.in", data, start, loop);
  lam_buf_free(data); /* the simulation keeps what it needs */
  lam_rec *r = lam_sim_record(s, "p.y", 1, 0, -1);
  for (int k = 0; k < split && !rc; k++) rc = lam_sim_run(s, nticks / split);
  lam_buf *Y = rec_f64(r);
  for (int64_t t = 0; t < nticks && !rc; t++) {
    y0[t] = D(Y)[2 * t];
    if (D(Y)[2 * t + 1] != D(Y)[2 * t] + (D(Y)[2 * t] ? 1 : 0)) rc = -100;
  }
  lam_buf_free(Y);
  lam_sim_free(s);
  return rc;
}

static void test_play(void) {
  double y[12];
  static const double once[12] = {10, 10, 20, 20, 30, 30, 30, 30, 30, 30, 30, 30};
  static const double looped[12] = {10, 10, 20, 20, 30, 30, 10, 10, 20, 20, 30, 30};
  static const double late[12] = {0, 0, 0, 0, 10, 10, 20, 20, 30, 30, 30, 30};
  is_int(play_case(0, 0, 12, 1, y), LAM_OK, "play: ran");
  ok(!memcmp(y, once, sizeof once), "play: one row per due tick of a period-2 model, then the last row stays");
  is_int(play_case(0, 1, 12, 1, y), LAM_OK, "play loop: ran");
  ok(!memcmp(y, looped, sizeof looped), "play loop: the rows repeat");
  is_int(play_case(3, 0, 12, 1, y), LAM_OK, "play from tick 3: ran");
  ok(!memcmp(y, late, sizeof late), "play from tick 3: the first row at the first due tick >= 3");
  is_int(play_case(0, 1, 12, 3, y), LAM_OK, "play loop over three runs: ran");
  ok(!memcmp(y, looped, sizeof looped), "play loop over three runs: same as one run");

  lam_sim *s = fresh(1, 1);
  ADD(s, "p", 1, NUM("n", 2));
  lam_buf *bad = lam_buf_new(LAM_F64, 2, (int64_t[]){3, 3});
  is_int(lam_sim_play(s, "p.in", bad, 0, 0), LAM_EINVAL, "rows of the wrong size refused");
  like(lam_last_error(), "rows of 3 elements for a port of 2", "... says so");
  lam_buf *good = lam_buf_new(LAM_F64, 2, (int64_t[]){3, 2});
  is_int(lam_sim_play(s, "p.x", good, 0, 0), LAM_EINVAL, "play into an output port refused");
  is_int(lam_sim_play(s, "p.in", NULL, 0, 0), LAM_EINVAL, "play NULL refused");
  lam_buf *empty = lam_buf_new(LAM_F64, 2, (int64_t[]){0, 2});
  is_int(lam_sim_play(s, "p.in", empty, 0, 0), LAM_EINVAL, "play zero rows refused");
  is_int(lam_sim_play(s, "p.in", good, 0, 0), LAM_OK, "play into p.in");
  is_int(lam_sim_play(s, "p.in", good, 0, 0), LAM_EINVAL, "a second player on the same port refused");
  lam_sim_run(s, 5);
  is_int(lam_sim_play(s, "p.gain", good, 2, 0), LAM_EINVAL, "play starting in the past refused");
  lam_buf_free(bad);
  lam_buf_free(good);
  lam_buf_free(empty);
  lam_sim_free(s);
}

/* ------------------------------------------------------------------ */

static void test_recorders(void) {
  lam_sim *s = fresh(1, 1);
  ADD(s, "r", 1, NUM("gain", 1));
  ADD(s, "slow", 3, NUM("gain", 1));
  lam_sim_add(s, "g", "good.plain", (lam_arg[]){NUM("rows", 2)}, 1, 1);
  lam_rec *win = lam_sim_record(s, "r.x", 3, 5, 20);
  lam_rec *all = lam_sim_record(s, "r.x", 1, 0, -1);
  lam_rec *acr = lam_sim_record(s, "r.x", 4, 2, 100);
  lam_rec *sw = lam_sim_record(s, "r.x", 1, 0, -1);
  lam_rec *held = lam_sim_record(s, "slow.x", 1, 0, -1);
  lam_rec *grid = lam_sim_record(s, "g.grid", 2, 0, -1);
  ok(win && all && acr && sw && held && grid, "recorders made");
  is_int(lam_rec_count(win), 0, "no samples before running");
  lam_buf *d0 = lam_rec_data(win);
  ok(d0 && d0->ndim == 2 && d0->shape[0] == 0 && d0->shape[1] == 1,
     "data before running: an empty [0, 1] buffer");
  lam_buf_free(d0);
  is_int(lam_sim_at_record(s, 3, sw, 0), LAM_OK, "switch a recorder off at tick 3");
  is_int(lam_sim_at_record(s, 7, sw, 1), LAM_OK, "... and on at tick 7");

  is_int(lam_sim_run(s, 10), LAM_OK, "run 10");
  lam_buf *early = lam_rec_data(acr);
  is_int(lam_rec_count(acr), 2, "every 4 from 2: ticks 2, 6 in the first 10");
  is_int(lam_sim_run(s, 20), LAM_OK, "run 20 more");

  is_int(lam_rec_count(win), 5, "every 3 in [5, 20): 5 samples");
  lam_buf *wt = lam_rec_ticks(win), *wd = rec_f64(win);
  static const int64_t wticks[5] = {5, 8, 11, 14, 17};
  ok(wt && wt->dtype == LAM_I64 && wt->size == 5 && !memcmp(wt->data, wticks, sizeof wticks),
     "... at ticks 5, 8, 11, 14, 17");
  ok(wd && D(wd)[0] == 6 && D(wd)[1] == 9 && D(wd)[4] == 18,
     "... each holding x after the tick's step (x = tick + 1)");
  lam_buf_free(wt);
  lam_buf_free(wd);
  is_int(lam_rec_count(all), 30, "every 1, no end: 30 samples over two runs");
  is_int(lam_rec_count(acr), 7, "every 4 from 2 to 100 over two runs: ticks 2..26, 7 samples");
  ok(early && early->shape[0] == 2 && lam_buf_get(early, 0) == 3 && lam_buf_get(early, 1) == 7,
     "a data view taken after the first run is still valid after the second");
  lam_buf_free(early);
  lam_buf *swt = lam_rec_ticks(sw);
  static const int64_t swant[] = {0, 1, 2, 7, 8, 9};
  ok(swt && lam_rec_count(sw) == 30 - 4 && !memcmp(swt->data, swant, sizeof swant),
     "at_record off at 3 and on at 7: ticks 3..6 missing");
  lam_buf_free(swt);
  lam_buf *H = rec_f64(held);
  int good = 1;
  for (int t = 0; t < 30; t++)
    if (D(H)[t] != 3.0 * (t / 3 + 1)) good = 0;
  ok(good, "a period-3 model's port recorded every tick holds its value between steps");
  lam_buf_free(H);
  lam_buf *GR = lam_rec_data(grid);
  ok(GR && GR->ndim == 3 && GR->shape[0] == 15 && GR->shape[1] == 2 && GR->shape[2] == 3 &&
         GR->dtype == LAM_F32,
     "a 2-d port records as [samples, 2, 3] in its own dtype");
  ok(GR && lam_buf_get(GR, 6 * 14 + 5) == 29, "... the last sample (tick 28) holds step count 29");
  lam_buf_free(GR);

  ok(lam_sim_record(s, "r.x", 0, 0, -1) == NULL, "every 0 refused");
  like(lam_last_error(), "every", "... says so");
  ok(lam_sim_record(s, "r.x", 1, -1, -1) == NULL, "negative from refused");
  ok(lam_sim_record(s, "r.x", 1, 10, 5) == NULL, "to before from refused");
  ok(lam_sim_record(s, "r.nope", 1, 0, -1) == NULL, "unknown port refused");
  lam_sim *other = fresh(1, 1);
  ADD(other, "r", 1, NUM("gain", 1));
  lam_rec *foreign = lam_sim_record(other, "r.x", 1, 0, -1);
  is_int(lam_sim_at_record(s, 40, foreign, 1), LAM_EINVAL, "a recorder of another simulation refused");
  is_int(lam_sim_at_record(s, 2, sw, 1), LAM_EINVAL, "start/stop in the past refused");
  lam_sim_free(other);
  lam_sim_free(s);

  /* A data view is a snapshot of the samples taken so far: a reset and a
   * different second run must not change what it shows. */
  s = fresh(1, 1);
  ADD(s, "a", 1, NUM("gain", 1));
  lam_rec *r = lam_sim_record(s, "a.x", 1, 0, -1);
  lam_sim_run(s, 10);
  lam_buf *snap = lam_rec_data(r);
  lam_sim_reset(s);
  lam_buf *five = scalar(5);
  lam_sim_set(s, "a.gain", five);
  lam_sim_run(s, 10);
  is_double(lam_buf_get(snap, 9), 10, 0,
            "a view taken before reset keeps its samples after the next run (x = 10 at tick 9)");
  lam_buf *now = lam_rec_data(r);
  is_double(lam_buf_get(now, 9), 50, 0, "... while the recorder holds the new run (x = 50)");
  lam_buf_free(now);
  lam_buf_free(snap);
  lam_buf_free(five);
  lam_sim_free(s);
}

/* ------------------------------------------------------------------ */

/* A noisy network: a (n 4, noise), b (period 3, noise) with a.x -> b.gain
 * and a player into a.in; records a.x, a.y and b.x every tick. */
static lam_sim *noisy(uint64_t seed, double noise, lam_rec **ra, lam_rec **rb, lam_rec **ry) {
  lam_sim *s = fresh(0.125, seed);
  ADD(s, "a", 1, NUM("n", 4), NUM("noise", noise), NUM("gain", 0.5));
  ADD(s, "b", 3, NUM("n", 4), NUM("noise", noise / 2));
  lam_sim_link(s, "a.x", "b.gain");
  lam_buf *data = lam_buf_new(LAM_F64, 2, (int64_t[]){5, 4});
  for (int i = 0; i < 20; i++) lam_buf_set(data, i, i * 0.25);
  lam_sim_play(s, "a.in", data, 2, 1);
  lam_buf_free(data);
  *ra = lam_sim_record(s, "a.x", 1, 0, -1);
  *rb = lam_sim_record(s, "b.x", 1, 0, -1);
  *ry = lam_sim_record(s, "a.y", 1, 0, -1);
  return s;
}

static int same_bytes(lam_rec *r1, lam_rec *r2) {
  lam_buf *a = lam_rec_data(r1), *b = lam_rec_data(r2);
  int same = a && b && a->size == b->size && a->dtype == b->dtype &&
             !memcmp(a->data, b->data, (size_t)a->size * lam_dtype_size(a->dtype));
  lam_buf_free(a);
  lam_buf_free(b);
  return same;
}

static void test_reproducibility(void) {
  lam_rec *a1, *b1, *y1, *a2, *b2, *y2, *a3, *b3, *y3;
  lam_sim *s1 = noisy(7, 1.0, &a1, &b1, &y1);
  lam_sim *s2 = noisy(7, 1.0, &a2, &b2, &y2);
  lam_sim *s3 = noisy(8, 1.0, &a3, &b3, &y3);
  int rc = lam_sim_run(s1, 100) | lam_sim_run(s2, 60) | lam_sim_run(s2, 40) |
           lam_sim_run(s3, 100);
  is_int(rc, LAM_OK, "three noisy runs");
  ok(same_bytes(a1, a2) && same_bytes(b1, b2) && same_bytes(y1, y2),
     "same seed: byte-identical recordings (one run vs two runs)");
  ok(!same_bytes(a1, a3) && !same_bytes(b1, b3), "different seed: the recordings differ");
  ok(same_bytes(y1, y3), "... but the noise-free played input is the same");
  lam_buf *A = rec_f64(a1);
  ok(A && D(A)[4 * 99] != D(A)[4 * 99 + 1], "units draw from different streams");
  lam_buf_free(A);

  /* Reset reproduces the run bit for bit. */
  lam_buf *before = lam_rec_data(a1);
  lam_buf *keep = lam_buf_copy(before, 0);
  lam_buf *bview = lam_rec_data(b1);
  lam_buf *bb = lam_buf_copy(bview, 0);
  lam_buf_free(bview);
  is_int(lam_sim_reset(s1), LAM_OK, "reset");
  is_int(lam_sim_tick(s1), 0, "... tick 0");
  is_int(lam_sim_model_steps(s1, 0) + lam_sim_model_steps(s1, 1), 0, "... step counts 0");
  is_int(lam_rec_count(a1), 0, "... recordings cleared");
  is_double(pget(s1, "a.gain", 3), 0.5, 0, "... ports re-initialised by the model");
  is_double(pget(s1, "a.x", 3), 0, 0, "... outputs zeroed");
  ok(before->shape[0] == 100 && !memcmp(before->data, keep->data, 100 * 4 * sizeof(double)),
     "a data view taken before the reset still holds the old samples");
  is_int(lam_sim_run(s1, 30) | lam_sim_run(s1, 70), LAM_OK, "run again after reset");
  lam_buf *after = lam_rec_data(a1), *bafter = lam_rec_data(b1);
  ok(after && after->size == keep->size &&
         !memcmp(after->data, keep->data, (size_t)keep->size * sizeof(double)),
     "a.x after reset is bit-identical to the first run (noise, player and link included)");
  ok(bafter && bafter->size == bb->size &&
         !memcmp(bafter->data, bb->data, (size_t)bb->size * sizeof(double)),
     "b.x after reset is bit-identical too");
  lam_buf_free(before);
  lam_buf_free(after);
  lam_buf_free(bafter);
  lam_buf_free(keep);
  lam_buf_free(bb);
  lam_sim_free(s1);
  lam_sim_free(s2);
  lam_sim_free(s3);

  /* A parameter changed by a scheduled action is part of the run: after
   * reset, the same schedule must give the same result. */
  lam_sim *s = fresh(1, 1);
  ADD(s, "a", 1, NUM("gain", 1));
  lam_rec *r = lam_sim_record(s, "a.x", 1, 0, -1);
  lam_sim_at_param(s, 5, "a.bias", 2);
  lam_sim_run(s, 10);
  lam_buf *first = rec_f64(r);
  lam_sim_reset(s);
  is_double(lam_sim_model_params(s, 0)[1], 0, 0,
            "reset restores a parameter changed by an action to its resolved value");
  lam_sim_at_param(s, 5, "a.bias", 2);
  lam_sim_run(s, 10);
  lam_buf *second = rec_f64(r);
  ok(first && second && first->size == 10 && second->size == 10 &&
         !memcmp(first->data, second->data, 10 * sizeof(double)),
     "reset + the same scheduled parameter change reproduces the run");
  if (second && second->size == 10)
    diag("x: first run %g %g ... %g, after reset %g %g ... %g", D(first)[0], D(first)[1],
         D(first)[9], D(second)[0], D(second)[1], D(second)[9]);
  lam_buf_free(first);
  lam_buf_free(second);
  lam_sim_free(s);

  /* good.plain has no reset(): the host destroys and re-creates it. */
  s = fresh(1, 1);
  lam_sim_add(s, "g", "good.plain", NULL, 0, 1);
  lam_sim_run(s, 5);
  is_double(pget(s, "g.count", 0), 5, 0, "good.plain counted 5 steps");
  is_int(lam_sim_reset(s), LAM_OK, "reset of a model without reset()");
  is_double(pget(s, "g.count", 0), 0, 0, "... its state port is zero");
  lam_sim_run(s, 3);
  is_double(pget(s, "g.count", 0), 3, 0, "... and it counts from 0 again (re-created)");
  lam_sim_free(s);
}

/* ------------------------------------------------------------------ */

static void test_failures(void) {
  lam_sim *s = fresh(1, 1);
  ADD(s, "ok1", 1, NUM("gain", 1));
  ADD(s, "d", 2, NUM("n", 3), NUM("nan_at", 5));
  int rc = lam_sim_run(s, 100);
  char e[1024];
  snprintf(e, sizeof e, "%s", lam_last_error());
  is_int(rc, LAM_EDIVERGED, "NaN in an output: LAM_EDIVERGED");
  like(e, "model 'd'", "... names the model");
  like(e, "good.counter", "... and its type");
  like(e, "port 'x'", "... the port");
  like(e, "index 2", "... the index");
  like(e, "NaN", "... the value");
  like(e, "at tick 10", "... and the tick (step 5 of a period-2 model)");
  is_int(lam_sim_tick(s), 10, "the simulation stopped at the failing tick");
  is_int(lam_sim_model_steps(s, 1), 6, "the diverging model took 6 steps");
  is_int(lam_sim_run(s, 1), LAM_ESTATE, "a further run refused");
  like(lam_last_error(), "reset", "... saying to reset");
  is_int(lam_sim_reset(s), LAM_OK, "reset");
  is_int(lam_sim_run(s, 10), LAM_OK, "run again: ticks 0..9 are fine");
  is_int(lam_sim_run(s, 1), LAM_EDIVERGED, "tick 10 diverges again");
  lam_sim_reset(s);
  is_int(lam_sim_set_check(s, -2), LAM_EINVAL, "set_check(-2) refused (-1 is automatic)");
  is_int(lam_sim_set_check(s, 0), LAM_OK, "checks off");
  is_int(lam_sim_run(s, 30), LAM_OK, "... the NaN goes unnoticed");
  ok(isnan(pget(s, "d.x", 2)), "... and is in the port");
  lam_sim_reset(s);
  lam_sim_set_check(s, 4);
  is_int(lam_sim_run(s, 100), LAM_EDIVERGED, "checks every 4th step");
  like(lam_last_error(), "at tick 14", "... find the NaN at step 7 (tick 14)");
  lam_sim_free(s);

  s = fresh(1, 1);
  ADD(s, "f", 1, NUM("fail_at", 3));
  rc = lam_sim_run(s, 10);
  is_int(rc, LAM_EPLUGIN, "a failing step: LAM_EPLUGIN");
  is_str(lam_last_error(),
         "good.counter 'f': step failed at tick 3: good.counter: failing on purpose at step 3",
         "... the plugin's message, with model and tick");
  is_int(lam_sim_tick(s), 3, "... stopped at tick 3");
  is_int(lam_sim_run(s, 1), LAM_ESTATE, "... a further run refused");
  lam_sim_free(s);

  /* The vectorised scan (ports of 16 or more elements, sixteen lanes and a
   * tail) finds a NaN or an infinity in every lane and in the tail, and
   * names its index.  37 elements: two full blocks of 16 and a tail of 5. */
  {
    const int64_t where[] = {0, 7, 15, 16, 31, 32, 36};
    const double bad[] = {NAN, INFINITY, -INFINITY};
    int found = 0, total = 0;
    for (size_t w = 0; w < sizeof where / sizeof *where; w++)
      for (size_t v = 0; v < 3; v++) {
        lam_sim *t = fresh(1, 1);
        ADD(t, "big", 1, NUM("n", 37));
        lam_sim_run(t, 2);
        lam_buf *x = lam_sim_port(t, "big.x");
        if (x) ((double *)x->data)[where[w]] = bad[v];
        lam_buf_free(x);
        char want[64];
        snprintf(want, sizeof want, "index %lld is %s", (long long)where[w],
                 v == 0 ? "NaN" : v == 1 ? "+Inf" : "-Inf");
        total++;
        found += lam_sim_run(t, 1) == LAM_EDIVERGED && strstr(lam_last_error(), want) != NULL;
        lam_sim_free(t);
      }
    is_int(found, total, "37-element port: NaN, +Inf, -Inf found at each of 7 places");
    lam_sim *t = fresh(1, 1);
    ADD(t, "big", 1, NUM("n", 37));
    is_int(lam_sim_run(t, 50), LAM_OK, "... and finite values are not flagged");
    lam_sim_free(t);
  }

  /* Error messages that quote an inner error keep it intact. */
  s = fresh(1, 1);
  ADD(s, "a", 1, NUM("gain", 1));
  lam_buf *huge = scalar(1e300);
  lam_sim_add(s, "g", "good.plain", NULL, 0, 1);
  is_int(lam_sim_set(s, "g.count", huge), LAM_ERANGE, "set: a value that does not fit i32");
  is_str(lam_last_error(), "set g.count: assign: value 1e+300 at index 0 does not fit i32",
         "... the message wraps the inner one intact");
  is_int(lam_sim_at_set(s, 4, "g.count", huge), LAM_EINVAL, "at_set: a value that does not fit i32");
  is_str(lam_last_error(), "at 4 set g.count: assign: value 1e+300 at index 0 does not fit i32",
         "... the message wraps the inner one intact");
  lam_buf *hrow = lam_buf_reshape(huge, 2, (int64_t[]){1, 1});
  is_int(lam_sim_play(s, "g.count", hrow, 0, 0), LAM_EINVAL, "play: a value that does not fit i32");
  is_str(lam_last_error(), "play g.count: assign: value 1e+300 at index 0 does not fit i32",
         "... the message wraps the inner one intact");
  ok(lam_sim_record(s, "a.x", 0, 0, -1) == NULL, "record every 0 refused");
  is_str(lam_last_error(), "record a.x: record: every = 0, expected >= 1",
         "... the message wraps the inner one intact");
  lam_buf_free(hrow);
  lam_buf_free(huge);
  lam_sim_free(s);
}

/* ------------------------------------------------------------------ */

static void test_methods_and_state(void) {
  lam_sim *s = fresh(1, 3);
  ADD(s, "a", 1, NUM("gain", 1), NUM("n", 2));
  lam_sim_add(s, "g", "good.plain", NULL, 0, 1);
  lam_sim_run(s, 4); /* x = {4, 4} */
  lam_buf *arg = vec(3, (double[]){0.5, 1, 2});
  lam_buf *out = NULL;
  is_int(lam_sim_call(s, "a", "total", &arg, 1, &out), LAM_OK, "call a.total(buf)");
  ok(out && out->dtype == LAM_F64 && out->size == 1, "... returns a new f64 [1]");
  is_double(out ? lam_buf_get(out, 0) : NAN, 11.5, 0, "... sum(x) + sum(arg) = 11.5");
  lam_buf_free(out);
  is_int(lam_sim_call(s, "a", "total", NULL, 0, NULL), LAM_OK, "call with out NULL: the result is dropped");
  is_int(lam_sim_call(s, "a", "nosuch", NULL, 0, &out), LAM_ENOTFOUND, "unknown method");
  like(lam_last_error(), "no method 'nosuch' (methods: total, fail, kept)", "... lists the methods");
  ok(out == NULL, "... *out is NULL");
  is_int(lam_sim_call(s, "g", "total", NULL, 0, &out), LAM_ENOTFOUND, "a model without methods");
  like(lam_last_error(), "(methods: none)", "... says there are none");
  is_int(lam_sim_call(s, "zz", "total", NULL, 0, &out), LAM_ENOTFOUND, "unknown model");
  like(lam_last_error(), "no model named 'zz'", "... named");
  is_int(lam_sim_call(s, "a", "fail", NULL, 0, &out), LAM_EPLUGIN, "a failing method: LAM_EPLUGIN");
  like(lam_last_error(), "fail: this method always fails (0 arguments)", "... with its message");
  lam_buf *iarg = lam_buf_new(LAM_I32, 1, (int64_t[]){2});
  is_int(lam_sim_call(s, "a", "total", &iarg, 1, &out), LAM_EPLUGIN, "a bad argument: LAM_EPLUGIN");
  like(lam_last_error(), "total: argument 1 must be a contiguous f64 buffer", "... the method's message");
  lam_buf_free(iarg);
  lam_buf_free(arg);
  lam_sim_free(s);

  /* Checkpoints: continue bit-identically from a saved state. */
  s = fresh(0.25, 3);
  ADD(s, "c", 1, NUM("n", 3), NUM("noise", 1));
  lam_sim_run(s, 100);
  lam_buf *st = NULL;
  is_int(lam_sim_save_state(s, "c", &st), LAM_OK, "save_state");
  ok(st != NULL && st->size > 0, "... gives a buffer");
  lam_rec *ra = lam_sim_record(s, "c.x", 1, 100, 200);
  lam_sim_run(s, 100);
  lam_sim *t = fresh(0.25, 3);
  ADD(t, "c", 1, NUM("n", 3), NUM("noise", 1));
  is_int(lam_sim_load_state(t, "c", st), LAM_OK, "load_state into a fresh simulation");
  lam_rec *rb = lam_sim_record(t, "c.x", 1, 0, -1);
  lam_sim_run(t, 100);
  ok(same_bytes(ra, rb), "the restored model continues bit-identically (noise streams included)");
  is_double(pget(t, "c.nsteps", 0), 200, 0, "... its step counter continued from 100");
  is_int(lam_sim_load_state(s, "c", st), LAM_OK, "load_state into the same simulation");
  lam_rec *rc2 = lam_sim_record(s, "c.x", 1, 200, -1);
  lam_sim_run(s, 100);
  ok(same_bytes(ra, rc2), "... and it repeats the 100 ticks after the save");
  lam_buf *junk = lam_buf_new(LAM_U8, 1, (int64_t[]){16});
  is_int(lam_sim_load_state(t, "c", junk), LAM_EPLUGIN, "a buffer that is not a checkpoint refused");
  like(lam_last_error(), "not a checkpoint of a good.counter with n = 3", "... the plugin says why");
  is_int(lam_sim_load_state(t, "c", NULL), LAM_EINVAL, "load_state NULL refused");
  lam_buf *none = NULL;
  is_int(lam_sim_save_state(t, "zz", &none), LAM_ENOTFOUND, "save_state of an unknown model");
  lam_sim_add(t, "g", "good.plain", NULL, 0, 1);
  is_int(lam_sim_save_state(t, "g", &none), LAM_EINVAL, "save_state of a model without checkpoints");
  like(lam_last_error(), "does not support checkpoints", "... says so");
  is_int(lam_sim_load_state(t, "g", junk), LAM_EINVAL, "load_state of a model without checkpoints");
  lam_buf_free(junk);
  lam_buf_free(st);
  lam_sim_free(t);
  lam_sim_free(s);
}

/* ctx->writes (ABI 1.1), as good.counter sees it through
 * lam_plugin_port_kept at every step (method kept(): steps at which gain,
 * in were reported unchanged). */
static double kept(lam_sim *s, const char *m, int k) {
  lam_buf *out = NULL;
  double v = lam_sim_call(s, m, "kept", NULL, 0, &out) == LAM_OK ? D(out)[k] : NAN;
  lam_buf_free(out);
  return v;
}

static void test_port_writes(void) {
  lam_sim *s = fresh(1, 1);
  ADD(s, "a", 1, NUM("gain", 1));
  ADD(s, "b", 1, NUM("gain", 1));
  is_int(lam_sim_link(s, "a.x", "b.in"), LAM_OK, "link a.x -> b.in");
  lam_sim_run(s, 10);
  lam_sim_run(s, 10);
  is_double(kept(s, "a", 0), 18, 0,
            "a.gain is unchanged at every step but the first of each run (2 runs of 10)");
  lam_buf *two = scalar(2);
  lam_sim_at_set(s, 25, "a.gain", two);
  lam_buf_free(two);
  lam_sim_run(s, 10);
  is_double(kept(s, "a", 0), 26, 0, "a set scheduled at tick 25 is a write: 8 more in ticks 20..29");
  is_double(kept(s, "a", 1), 27, 0, "... to a.gain only: a.in was kept 9 times per run");
  is_double(kept(s, "b", 1), 0, 0, "a port a link drives is never reported unchanged");
  lam_sim_free(s);
}

int main(void) {
  int status;
  reg = good_registry(300, &status);
  if (!reg) return status;
  test_params();
  test_scheduler();
  test_actions();
  regulator_case(0);
  regulator_case(1);
  test_links();
  test_play();
  test_recorders();
  test_reproducibility();
  test_failures();
  test_methods_and_state();
  test_port_writes();
  int rc = tap_done();
  lam_registry_free(reg);
  return rc;
}
