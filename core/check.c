/*
 * check.c - `lamina plugin check FILE.so`: the conformance suite a lab runs
 * before sharing a plugin.  For every model it checks, with TAP output:
 * the descriptor loads and validates; an instance with default parameters
 * runs 0, 1 and 200 steps; two runs with the same seed give byte-identical
 * ports; a stochastic model gives different ports for another seed; reset
 * reproduces the run; a checkpoint taken mid-run and loaded into an
 * instance that ran with another seed continues bit for bit; out-of-range
 * and unknown parameters are refused.
 */
#include "cmd_int.h"
#include "lamina.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int n_tests, n_failed;

static void tap(int good, const char *fmt, const char *a, const char *why) {
  n_tests++;
  if (!good) n_failed++;
  printf("%sok %d - ", good ? "" : "not ", n_tests);
  printf(fmt, a);
  printf("\n");
  if (!good && why && *why) printf("# %s\n", why);
}

static lam_sim *make(lam_registry *r, const char *model, uint64_t seed) {
  lam_sim *s = lam_sim_new(r, 0.1, seed);
  if (s && lam_sim_add(s, "m", model, NULL, 0, 1)) {
    lam_sim_free(s);
    return NULL;
  }
  return s;
}

/* 1 when every port of model "m" holds the same bytes in both sims. */
static int same_ports(lam_sim *a, lam_sim *b, const lam_model_def *m) {
  int same = 1;
  for (const lam_port_def *p = m->ports; p && p->name; p++) {
    char path[256];
    snprintf(path, sizeof path, "m.%s", p->name);
    lam_buf *x = lam_sim_port(a, path), *y = lam_sim_port(b, path);
    if (!x || !y || x->size != y->size ||
        memcmp(x->data, y->data, (size_t)x->size * lam_dtype_size(x->dtype)))
      same = 0;
    lam_buf_free(x);
    lam_buf_free(y);
  }
  return same;
}

static void check_model(lam_registry *r, const lam_model_def *m) {
  const char *n = m->name;
  lam_sim *a = make(r, n, 1);
  tap(a != NULL, "%s: an instance with default parameters is created", n, lam_last_error());
  if (!a) return;
  int rc = lam_sim_run(a, 0);
  tap(rc == 0, "%s: a zero-step run succeeds", n, lam_last_error());
  rc = lam_sim_run(a, 1);
  tap(rc == 0 && lam_sim_model_steps(a, 0) == 1, "%s: a one-step run steps once", n, lam_last_error());
  rc = lam_sim_run(a, 199);
  tap(rc == 0, "%s: 200 steps run without error or divergence", n, lam_last_error());

  lam_sim *b = make(r, n, 1);
  int ok2 = b && lam_sim_run(b, 200) == 0;
  tap(ok2 && same_ports(a, b, m), "%s: the same seed gives byte-identical ports", n, lam_last_error());
  if (m->flags & LAM_MODEL_STOCHASTIC) {
    /* Long enough (1 s of model time at dt = 0.1 ms) that a sparse process
     * such as a 10 Hz spike train has drawn something. */
    lam_sim *c = make(r, n, 2), *c1 = make(r, n, 1);
    int okc = c && c1 && lam_sim_run(c, 10000) == 0 && lam_sim_run(c1, 10000) == 0;
    tap(okc && !same_ports(c1, c, m), "%s: another seed gives different ports (stochastic model)", n,
        lam_last_error());
    lam_sim_free(c);
    lam_sim_free(c1);
  }
  rc = lam_sim_reset(a);
  rc = rc ? rc : lam_sim_run(a, 200);
  tap(rc == 0 && ok2 && same_ports(a, b, m), "%s: reset reproduces the run", n, lam_last_error());

  if (m->save_state && m->load_state) {
    /* a: 100 steps, checkpoint, 100 more.  c: another seed for 100 steps,
     * then the checkpoint: it must continue exactly as a did. */
    lam_buf *st = NULL;
    lam_sim_reset(a);
    int okk = lam_sim_run(a, 100) == 0 && lam_sim_save_state(a, "m", &st) == 0 && st &&
              lam_sim_run(a, 100) == 0;
    lam_sim *c = make(r, n, 7);
    okk = okk && c && lam_sim_run(c, 100) == 0 && lam_sim_load_state(c, "m", st) == 0 &&
          lam_sim_run(c, 100) == 0 && same_ports(a, c, m);
    tap(okk, "%s: a checkpoint continues bit for bit", n, lam_last_error());
    lam_sim_free(c);
    lam_buf_free(st);
  }

  /* Out-of-range values: just past each finite bound of each number. */
  for (const lam_param_def *p = m->params; p && p->name; p++) {
    if (p->type != LAM_PARAM_F64 && p->type != LAM_PARAM_I64) continue;
    if (fabs(p->max) > 1e300) continue;
    lam_arg arg = {.key = p->name, .num = p->max + fabs(p->max) + 1, .kind = LAM_ARG_NUM};
    lam_sim *s = lam_sim_new(r, 0.1, 1);
    char what[300];
    snprintf(what, sizeof what, "%s: parameter %s above its maximum is refused", n, p->name);
    tap(s && lam_sim_add(s, "m", n, &arg, 1, 1) == LAM_ERANGE, "%s", what, "accepted");
    lam_sim_free(s);
  }
  lam_arg bogus = {.key = "no_such_parameter_x", .num = 1, .kind = LAM_ARG_NUM};
  lam_sim *s = lam_sim_new(r, 0.1, 1);
  tap(s && lam_sim_add(s, "m", n, &bogus, 1, 1) == LAM_ENOTFOUND,
      "%s: an unknown parameter is refused", n, "accepted");
  lam_sim_free(s);
  lam_sim_free(b);
  lam_sim_free(a);
}

int lam__plugin_check(const char *path) {
  printf("TAP version 13\n");
  lam_registry *r = lam_registry_new();
  int rc = r ? lam_registry_load(r, path) : LAM_ENOMEM;
  tap(rc == 0, "%s loads and its descriptor is valid", path, lam_last_error());
  if (rc == 0) {
    const lam_plugin_desc *d = NULL;
    for (int i = 0; i < lam_registry_count(r); i++)
      if (lam_registry_info(r, i)->status == LAM_PLUGIN_LOADED) d = lam_registry_info(r, i)->desc;
    tap(d && *d->version && *d->licence, "%s declares a version and a licence", d ? d->name : "?", "");
    for (const lam_model_def *m = d ? d->models : NULL; m && m->name; m++) check_model(r, m);
  }
  printf("1..%d\n", n_tests);
  if (n_failed) printf("# %d of %d failed\n", n_failed, n_tests);
  lam_registry_free(r);
  return n_failed ? 1 : 0;
}
