/*
 * good.c - the reference test plugin: a well-formed ABI 1.0 plugin named
 * "good" whose models do small, exactly checkable things.  The core tests
 * (tests/core/plugin.c, tests/core/sim.c) and the out-of-tree build test
 * (tests/plugins/outoftree.t) load it; it includes lamina_plugin.h only.
 *
 * good.counter, per step k (k = 0 at the first step after create/reset),
 * with dt the model's own step (base dt * period):
 *     x[i]   += (gain[i] + bias) * dt + noise * N(0,1)   (stream i)
 *     y[i]    = in[i]       (mode "echo")   or   y[i] += in[i]  (mode "sum"),
 *               negated when `negate` is true
 *     nsteps += 1
 * gain is a state port initialised from the `gain` parameter, so a
 * regulator linked into it changes the slope of x; x, y and gain hold
 * exact binary fractions for the values the tests use, so results can be
 * compared bit for bit.  `nan_at` = k makes step k write NaN into
 * x[n - 1]; `fail_at` = k makes step k fail with a message.
 *
 * good.plain has no reset() (the host destroys and re-creates it), no
 * checkpoint and no methods, and a 2-d f32 port whose shape comes from a
 * parameter.
 *
 * good.spiker has a LAM_PORT_SPIKES port: at its step k (k = 1, 2, ...
 * since create) unit i fires exactly when k is a multiple of i + 1, so K
 * steps give sum_i floor(K / (i + 1)) events with known ticks and indices.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lamina_plugin.h"

static const lam_host_api *api;

/* ---------------------------------------------------------------- */
/* good.counter                                                       */
/* ---------------------------------------------------------------- */

enum { P_GAIN, P_BIAS, P_NOISE, P_N, P_NAN_AT, P_FAIL_AT, P_NEGATE, P_MODE };
enum { O_GAIN, O_X, O_IN, O_Y, O_NSTEPS };
enum { MAX_N = 64 };

static const lam_param_def counter_params[] = {
    {.name = "gain", .doc = "initial value of every element of the gain port",
     .units = "1/ms", .def = 1, .min = -1000, .max = 1000,
     .type = LAM_PARAM_F64},
    {.name = "bias", .doc = "added to the gain in the update of x",
     .units = "1/ms", .def = 0, .min = -1000, .max = 1000,
     .type = LAM_PARAM_F64, .flags = LAM_PARAM_MUTABLE},
    {.name = "noise", .doc = "sd of the normal noise added to x per step",
     .units = "", .def = 0, .min = 0, .max = 100, .type = LAM_PARAM_F64},
    {.name = "n", .doc = "number of units", .units = "", .def = 1, .min = 1,
     .max = MAX_N, .type = LAM_PARAM_I64},
    {.name = "nan_at", .doc = "step at which x[n-1] becomes NaN (-1: never)",
     .units = "", .def = -1, .min = -1, .max = 1e15, .type = LAM_PARAM_I64},
    {.name = "fail_at", .doc = "step at which step() fails (-1: never)",
     .units = "", .def = -1, .min = -1, .max = 1e15, .type = LAM_PARAM_I64},
    {.name = "negate", .doc = "y takes -in instead of in", .def = 0,
     .type = LAM_PARAM_BOOL},
    {.name = "mode", .doc = "echo: y = in; sum: y += in", .choices = "echo|sum",
     .def = 0, .type = LAM_PARAM_ENUM},
    {.name = NULL}};

static const lam_port_def counter_ports[] = {
    {.name = "gain", .doc = "slope of x", .units = "1/ms", .shape = "n",
     .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "x", .doc = "the integrated value", .units = "", .shape = "n",
     .dtype = LAM_F64, .dir = LAM_PORT_OUT},
    {.name = "in", .doc = "input copied (or summed) into y", .units = "",
     .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_IN},
    {.name = "y", .doc = "in, as seen by the last step", .units = "",
     .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_OUT},
    {.name = "nsteps", .doc = "steps taken", .units = "", .shape = "",
     .dtype = LAM_I64, .dir = LAM_PORT_STATE},
    {.name = NULL}};

typedef struct counter {
  int64_t n;
  lam_rng rng[MAX_N];
  /* lam_plugin_port_kept on gain and in at every step: the steps at which
   * the host said the port was unchanged (method "kept") */
  uint64_t seen[2];
  double kept[2];
} counter;

/* Port data as a flat array after checking dtype and size. */
static void *port(lam_model_ctx *ctx, int i, int32_t dtype, int64_t n) {
  lam_buf *b = ctx->ports[i];
  if (!b || b->dtype != dtype || b->size != n ||
      !(b->flags & LAM_BUF_CONTIGUOUS)) {
    api->set_error(ctx->host, "good.counter: port #%d is not %lld contiguous "
                   "elements of dtype %d", i, (long long)n, (int)dtype);
    return NULL;
  }
  return b->data;
}

static int counter_init(counter *c, lam_model_ctx *ctx) {
  c->n = (int64_t)ctx->params[P_N];
  double *gain = port(ctx, O_GAIN, LAM_F64, c->n);
  double *x = port(ctx, O_X, LAM_F64, c->n);
  double *y = port(ctx, O_Y, LAM_F64, c->n);
  int64_t *ns = port(ctx, O_NSTEPS, LAM_I64, 1);
  if (!gain || !x || !y || !ns) return LAM_EINVAL;
  for (int64_t i = 0; i < c->n; i++) {
    gain[i] = ctx->params[P_GAIN];
    x[i] = 0;
    y[i] = 0;
    api->rng_init(&c->rng[i], ctx->seed, ctx->instance, LAM_RNG_NOISE,
                  (uint64_t)i);
  }
  *ns = 0;
  c->seen[0] = c->seen[1] = 0;
  c->kept[0] = c->kept[1] = 0;
  return LAM_OK;
}

static int counter_create(lam_model_ctx *ctx, void **self) {
  counter *c = api->alloc(sizeof *c);
  if (!c) {
    api->set_error(ctx->host, "good.counter: out of memory");
    return LAM_ENOMEM;
  }
  int rc = counter_init(c, ctx);
  if (rc) {
    api->free(c);
    return rc;
  }
  *self = c;
  return LAM_OK;
}

static int counter_reset(void *self, lam_model_ctx *ctx) {
  return counter_init(self, ctx);
}

static void counter_destroy(void *self, lam_model_ctx *ctx) {
  (void)ctx;
  api->free(self);
}

static int counter_step(void *self, lam_model_ctx *ctx, int64_t nsteps) {
  counter *c = self;
  const double *p = ctx->params;
  double *gain = port(ctx, O_GAIN, LAM_F64, c->n);
  double *x = port(ctx, O_X, LAM_F64, c->n);
  const double *in = port(ctx, O_IN, LAM_F64, c->n);
  double *y = port(ctx, O_Y, LAM_F64, c->n);
  int64_t *ns = port(ctx, O_NSTEPS, LAM_I64, 1);
  if (!gain || !x || !in || !y || !ns) return LAM_EINVAL;
  c->kept[0] += lam_plugin_port_kept(ctx, O_GAIN, &c->seen[0]);
  c->kept[1] += lam_plugin_port_kept(ctx, O_IN, &c->seen[1]);
  for (int64_t s = 0; s < nsteps; s++) {
    int64_t k = *ns;
    if (p[P_FAIL_AT] >= 0 && (double)k == p[P_FAIL_AT]) {
      api->set_error(ctx->host, "good.counter: failing on purpose at step %lld",
                     (long long)k);
      return LAM_EPLUGIN;
    }
    double sign = p[P_NEGATE] != 0 ? -1 : 1;
    for (int64_t i = 0; i < c->n; i++) {
      double d = (gain[i] + p[P_BIAS]) * ctx->dt;
      if (p[P_NOISE] > 0) d += p[P_NOISE] * api->rng_normal(&c->rng[i]);
      x[i] += d;
      y[i] = (p[P_MODE] == 1 ? y[i] : 0) + sign * in[i];
    }
    if (p[P_NAN_AT] >= 0 && (double)k == p[P_NAN_AT]) x[c->n - 1] = NAN;
    *ns = k + 1;
  }
  return LAM_OK;
}

/* Checkpoint: magic, n, the streams, then x, y, gain and nsteps. */
static const char magic[8] = "goodckp";

static size_t state_bytes(int64_t n) {
  return sizeof magic + sizeof(int64_t) + (size_t)n * sizeof(lam_rng) +
         3 * (size_t)n * sizeof(double) + sizeof(int64_t);
}

static int counter_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  counter *c = self;
  int64_t len = (int64_t)state_bytes(c->n);
  lam_buf *b = api->buf_new(LAM_U8, 1, &len);
  if (!b) {
    api->set_error(ctx->host, "good.counter: out of memory");
    return LAM_ENOMEM;
  }
  unsigned char *w = b->data;
  memcpy(w, magic, sizeof magic), w += sizeof magic;
  memcpy(w, &c->n, sizeof c->n), w += sizeof c->n;
  memcpy(w, c->rng, (size_t)c->n * sizeof(lam_rng)), w += (size_t)c->n * sizeof(lam_rng);
  static const int which[3] = {O_X, O_Y, O_GAIN};
  for (int k = 0; k < 3; k++) {
    memcpy(w, ctx->ports[which[k]]->data, (size_t)c->n * sizeof(double));
    w += (size_t)c->n * sizeof(double);
  }
  memcpy(w, ctx->ports[O_NSTEPS]->data, sizeof(int64_t));
  *out = b;
  return LAM_OK;
}

static int counter_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  counter *c = self;
  if (in->dtype != LAM_U8 || in->ndim != 1 || !(in->flags & LAM_BUF_CONTIGUOUS) ||
      (size_t)in->size != state_bytes(c->n) || memcmp(in->data, magic, sizeof magic)) {
    api->set_error(ctx->host, "good.counter: not a checkpoint of a good.counter "
                   "with n = %lld", (long long)c->n);
    return LAM_EINVAL;
  }
  const unsigned char *r = (const unsigned char *)in->data + sizeof magic;
  int64_t n;
  memcpy(&n, r, sizeof n), r += sizeof n;
  memcpy(c->rng, r, (size_t)n * sizeof(lam_rng)), r += (size_t)n * sizeof(lam_rng);
  static const int which[3] = {O_X, O_Y, O_GAIN};
  for (int k = 0; k < 3; k++) {
    memcpy(ctx->ports[which[k]]->data, r, (size_t)n * sizeof(double));
    r += (size_t)n * sizeof(double);
  }
  memcpy(ctx->ports[O_NSTEPS]->data, r, sizeof(int64_t));
  return LAM_OK;
}

/* total(bufs...): a new f64 [1] buffer holding sum(x) plus the sum of every
 * element of every (contiguous f64) argument. */
static int counter_total(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                         int32_t n_in, lam_buf **out) {
  counter *c = self;
  const double *x = port(ctx, O_X, LAM_F64, c->n);
  if (!x) return LAM_EINVAL;
  double s = 0;
  for (int64_t i = 0; i < c->n; i++) s += x[i];
  for (int32_t j = 0; j < n_in; j++) {
    if (!in[j] || in[j]->dtype != LAM_F64 || !(in[j]->flags & LAM_BUF_CONTIGUOUS)) {
      api->set_error(ctx->host, "total: argument %d must be a contiguous f64 buffer",
                     (int)j + 1);
      return LAM_EINVAL;
    }
    for (int64_t i = 0; i < in[j]->size; i++) s += ((const double *)in[j]->data)[i];
  }
  int64_t one = 1;
  lam_buf *b = api->buf_new(LAM_F64, 1, &one);
  if (!b) return LAM_ENOMEM;
  ((double *)b->data)[0] = s;
  *out = b;
  return LAM_OK;
}

/* kept() -> [steps at which gain was kept, ... in was kept]: see counter */
static int counter_kept(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                        int32_t n_in, lam_buf **out) {
  counter *c = self;
  if (n_in != 0) {
    api->set_error(ctx->host, "kept: takes no arguments, got %d", (int)n_in);
    return LAM_EINVAL;
  }
  int64_t two = 2;
  lam_buf *b = api->buf_new(LAM_F64, 1, &two);
  if (!b) return LAM_ENOMEM;
  memcpy(b->data, c->kept, sizeof c->kept);
  *out = b;
  return LAM_OK;
}

static int counter_fail(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                        int32_t n_in, lam_buf **out) {
  api->set_error(ctx->host, "fail: this method always fails (%d arguments)", (int)n_in);
  return LAM_EPLUGIN;
}

static const lam_method_def counter_methods[] = {
    {.name = "total", .doc = "total(bufs...) -> [sum(x) + sum of all arguments]",
     .fn = counter_total},
    {.name = "fail", .doc = "always fails", .fn = counter_fail},
    {.name = "kept", .doc = "kept() -> [steps gain was kept, steps in was kept]",
     .fn = counter_kept},
    {.name = NULL}};

/* ---------------------------------------------------------------- */
/* good.plain                                                         */
/* ---------------------------------------------------------------- */

static const lam_param_def plain_params[] = {
    {.name = "rows", .doc = "rows of grid", .def = 2, .min = 0, .max = 8,
     .type = LAM_PARAM_I64},
    {.name = NULL}};

static const lam_port_def plain_ports[] = {
    {.name = "grid", .doc = "every element holds the step count", .shape = "rows,3",
     .dtype = LAM_F32, .dir = LAM_PORT_OUT},
    {.name = "count", .doc = "steps since create", .shape = "",
     .dtype = LAM_I32, .dir = LAM_PORT_STATE},
    {.name = NULL}};

typedef struct plain {
  int32_t steps;
} plain;

static int plain_create(lam_model_ctx *ctx, void **self) {
  plain *p = api->alloc(sizeof *p);
  if (!p) return LAM_ENOMEM;
  *self = p;
  return LAM_OK;
}

static void plain_destroy(void *self, lam_model_ctx *ctx) { api->free(self); }

static int plain_step(void *self, lam_model_ctx *ctx, int64_t n) {
  plain *p = self;
  p->steps += (int32_t)n;
  lam_buf *g = ctx->ports[0];
  for (int64_t i = 0; i < g->size; i++) ((float *)g->data)[i] = (float)p->steps;
  ((int32_t *)ctx->ports[1]->data)[0] = p->steps;
  return LAM_OK;
}

/* ---------------------------------------------------------------- */
/* good.spiker                                                        */
/* ---------------------------------------------------------------- */

static const lam_param_def spiker_params[] = {
    {.name = "n", .doc = "number of units", .def = 8, .min = 1, .max = 1000000,
     .type = LAM_PARAM_I64},
    {.name = NULL}};

static const lam_port_def spiker_ports[] = {
    {.name = "spikes", .doc = "1 where unit i fired (k multiple of i + 1)", .shape = "n",
     .dtype = LAM_U8, .dir = LAM_PORT_OUT, .flags = LAM_PORT_SPIKES},
    {.name = NULL}};

static int spiker_create(lam_model_ctx *ctx, void **self) {
  int64_t *k = api->alloc(sizeof *k);
  if (!k) return LAM_ENOMEM;
  *k = 0;
  *self = k;
  return LAM_OK;
}

static int spiker_step(void *self, lam_model_ctx *ctx, int64_t n) {
  int64_t *k = self;
  if (n == 0) return LAM_OK; /* no step, no new spikes */
  *k += n;
  lam_buf *s = ctx->ports[0];
  uint8_t *out = s->data;
  for (int64_t i = 0; i < s->size; i++) out[i] = *k % (i + 1) == 0;
  return LAM_OK;
}

/* ---------------------------------------------------------------- */
/* The descriptor                                                     */
/* ---------------------------------------------------------------- */

static const lam_model_def models[] = {
    {.name = "good.counter",
     .doc = "x integrates gain + bias (plus optional noise); y follows in",
     .params = counter_params, .ports = counter_ports, .methods = counter_methods,
     .create = counter_create, .reset = counter_reset, .step = counter_step,
     .destroy = counter_destroy, .save_state = counter_save,
     .load_state = counter_load},
    {.name = "good.plain", .doc = "counts its steps into a grid",
     .params = plain_params, .ports = plain_ports, .create = plain_create,
     .step = plain_step, .destroy = plain_destroy},
    {.name = "good.spiker", .doc = "unit i fires at every (i + 1)-th step",
     .params = spiker_params, .ports = spiker_ports, .create = spiker_create,
     .step = spiker_step, .destroy = plain_destroy},
    {.name = NULL}};

static const lam_plugin_desc desc = {
    LAM_DESC_SIZES,
    .name = "good",
    .version = "1.2.3",
    .authors = "lamina tests",
    .licence = "MIT",
    .citation = "doi:10.0000/lamina.test",
    .doc = "Well-formed test plugin for the core tests.",
    .build = LAM_BUILD_INFO,
    .models = models,
};

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen) {
  if (host->abi_major != LAM_ABI_MAJOR || host->abi_minor_max < LAM_ABI_MINOR) {
    if (err && errlen) {
      size_t k = strlen("good: host ABI does not match");
      if (k >= errlen) k = errlen - 1;
      memcpy(err, "good: host ABI does not match", k);
      err[k] = '\0';
    }
    return NULL;
  }
  api = host->api;
  return &desc;
}
