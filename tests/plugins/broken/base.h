/*
 * base.h - the model shared by the deliberately broken plugins in this
 * folder (tests/plugins/broken.t runs `lamina plugin check` on each and
 * expects exactly the check named in its file to fail).  Without any BRK_*
 * macro it is a correct model (good.c), so every failure comes from the
 * one defect its file switches on.
 *
 * The model <family>.m: n noisy leaky integrators,
 *     x += dt / tau * (drive - x) + sigma * sqrt(dt) * N(0, 1),
 * with an input port `drive`, an output port `x`, a method `scale`
 * (x * its f64 [n] argument) and checkpoints of x, the step count and
 * the noise stream.  Flagged LAM_MODEL_STOCHASTIC.
 *
 *   BRK_FAMILY            plugin name and model family (required)
 *   BRK_VERSION           the plugin's version ("0.1.0"); good_v*.c are the
 *                         good model under other versions, for the checkpoint
 *                         and pinning tests in tests/plugins/trust.t
 *   BRK_BAD_SCHEMA        port x is shaped by a parameter that does not exist
 *   BRK_BAD_DEFAULT       tau's default (1000 ms) lies outside [0.1, 100]
 *   BRK_EXTREME_CRASH     create divides by zero (SIGFPE) at tau = max
 *   BRK_UNBOUNDED         sigma's range is [0, inf]: +inf is accepted
 *   BRK_ZERO_STEP         step(0) still takes a step
 *   BRK_HANG              step(0) never returns
 *   BRK_IGNORES_N         step(n) takes one step whatever n is
 *   BRK_NONDETERMINISTIC  the noise stream depends on a process-wide counter
 *   BRK_SEED_IGNORED      the noise stream ignores ctx->seed
 *   BRK_UNDECLARED        draws noise but is not flagged stochastic
 *   BRK_CHECKPOINT_RNG    the checkpoint leaves out the noise stream
 *   BRK_OVERRUN           each step writes one element past the end of x
 *   BRK_WRITES_INPUT      each step consumes its input by zeroing drive
 *   BRK_METHOD_NOCHECK    scale reads its argument without checking it
 *   BRK_LEAK              destroy forgets to free the instance
 */
#ifndef BRK_BASE_H
#define BRK_BASE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lamina_plugin.h"

#ifndef BRK_FAMILY
#error "define BRK_FAMILY before including base.h"
#endif
#ifndef BRK_VERSION
#define BRK_VERSION "0.1.0"
#endif

static const lam_host_api *api;

enum { P_TAU, P_SIGMA, P_N };
static const lam_param_def params[] = {
    {.name = "tau", .doc = "time constant", .units = "ms",
#ifdef BRK_BAD_DEFAULT
     .def = 1000,
#else
     .def = 10,
#endif
     .min = 0.1, .max = 100, .type = LAM_PARAM_F64},
    {.name = "sigma", .doc = "noise amplitude", .units = "1/sqrt(ms)", .def = 1, .min = 0,
#ifdef BRK_UNBOUNDED
     .max = INFINITY,
#else
     .max = 10,
#endif
     .type = LAM_PARAM_F64},
    {.name = "n", .doc = "units", .def = 4, .min = 1, .max = 64, .type = LAM_PARAM_I64},
    {.name = NULL}};

enum { PORT_DRIVE, PORT_X };
static const lam_port_def ports[] = {
    {.name = "drive", .doc = "input", .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_IN},
#ifdef BRK_BAD_SCHEMA
    {.name = "x", .doc = "state", .shape = "units", .dtype = LAM_F64, .dir = LAM_PORT_OUT},
#else
    {.name = "x", .doc = "state", .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_OUT},
#endif
    {.name = NULL}};

typedef struct brk {
  int64_t n, steps;
  lam_rng rng;
} brk;

static uint64_t stream_seed(const lam_model_ctx *ctx) {
#if defined(BRK_SEED_IGNORED)
  return 12345;
#elif defined(BRK_NONDETERMINISTIC)
  static uint64_t calls;
  return ctx->seed + calls++;
#else
  return ctx->seed;
#endif
}

static int brk_create(lam_model_ctx *ctx, void **self) {
#ifdef BRK_EXTREME_CRASH
  volatile int64_t per = (int64_t)(10.0 / ctx->params[P_TAU]); /* 0 at tau = 100 */
  volatile int64_t r = 7 % per;
  (void)r;
#endif
  brk *m = api->alloc(sizeof *m);
  if (!m) return LAM_ENOMEM;
  m->n = (int64_t)ctx->params[P_N];
  api->rng_init(&m->rng, stream_seed(ctx), ctx->instance, LAM_RNG_NOISE, 0);
  *self = m;
  return LAM_OK;
}

static int brk_reset(void *self, lam_model_ctx *ctx) {
  brk *m = self;
  m->steps = 0;
  api->rng_init(&m->rng, stream_seed(ctx), ctx->instance, LAM_RNG_NOISE, 0);
  return LAM_OK;
}

static int brk_step(void *self, lam_model_ctx *ctx, int64_t n) {
  brk *m = self;
  double *u = ctx->ports[PORT_DRIVE]->data, *x = ctx->ports[PORT_X]->data;
  const double a = ctx->dt / ctx->params[P_TAU], s = ctx->params[P_SIGMA] * sqrt(ctx->dt);
#if defined(BRK_HANG)
  int64_t k = n;
  for (volatile int forever = n == 0; forever;) { /* step(0) never returns */
  }
#elif defined(BRK_ZERO_STEP)
  int64_t k = n < 1 ? 1 : n;
#elif defined(BRK_IGNORES_N)
  int64_t k = n > 0 ? 1 : 0;
#else
  int64_t k = n;
#endif
  for (int64_t t = 0; t < k; t++) {
    for (int64_t i = 0; i < m->n; i++) {
      x[i] += a * (u[i] - x[i]) + s * api->rng_normal(&m->rng);
#ifdef BRK_WRITES_INPUT
      u[i] = 0; /* "consumed" */
#endif
    }
#ifdef BRK_OVERRUN
    x[m->n] = 0;
#endif
  }
  m->steps += n;
  return LAM_OK;
}

static void brk_destroy(void *self, lam_model_ctx *ctx) {
#ifndef BRK_LEAK
  api->free(self);
#endif
}

/* Checkpoint: tag, n, steps, the stream, then x. */
static const uint64_t TAG = 0x6b726221ULL;
enum { HEAD = 3 * 8 + sizeof(lam_rng) };

static int brk_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  brk *m = self;
  int64_t bytes = HEAD + m->n * 8;
  lam_buf *b = api->buf_new(LAM_U8, 1, &bytes);
  if (!b) return LAM_ENOMEM;
  uint64_t head[3] = {TAG, (uint64_t)m->n, (uint64_t)m->steps};
  char *p = b->data;
  memcpy(p, head, sizeof head);
  memcpy(p + 24, &m->rng, sizeof m->rng);
  memcpy(p + HEAD, ctx->ports[PORT_X]->data, (size_t)m->n * 8);
  *out = b;
  return LAM_OK;
}

static int brk_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  brk *m = self;
  uint64_t head[3] = {0, 0, 0};
  if (in->dtype == LAM_U8 && in->size == HEAD + m->n * 8) memcpy(head, in->data, sizeof head);
  if (head[0] != TAG || head[1] != (uint64_t)m->n) {
    api->set_error(ctx->host, "not a checkpoint of this model with n = %lld", (long long)m->n);
    return LAM_EINVAL;
  }
  const char *p = in->data;
  m->steps = (int64_t)head[2];
#ifndef BRK_CHECKPOINT_RNG
  memcpy(&m->rng, p + 24, sizeof m->rng);
#endif
  memcpy(ctx->ports[PORT_X]->data, p + HEAD, (size_t)m->n * 8);
  return LAM_OK;
}

static int brk_scale(void *self, lam_model_ctx *ctx, lam_buf *const *in, int32_t n_in,
                     lam_buf **out) {
  brk *m = self;
#ifndef BRK_METHOD_NOCHECK
  if (n_in != 1 || !in[0] || in[0]->dtype != LAM_F64 || in[0]->ndim != 1 ||
      in[0]->shape[0] != m->n || !(in[0]->flags & LAM_BUF_CONTIGUOUS)) {
    api->set_error(ctx->host, "scale: expected one contiguous f64 buffer [%lld]", (long long)m->n);
    return LAM_EINVAL;
  }
#endif
  lam_buf *r = api->buf_new(LAM_F64, 1, &m->n);
  if (!r) return LAM_ENOMEM;
  const double *f = in[0]->data, *x = ctx->ports[PORT_X]->data;
  for (int64_t i = 0; i < m->n; i++) ((double *)r->data)[i] = x[i] * f[i % in[0]->size];
  *out = r;
  return LAM_OK;
}

static const lam_method_def methods[] = {
    {.name = "scale", .doc = "scale(f: f64 [n]) -> x * f", .fn = brk_scale}, {.name = NULL}};

static const lam_model_def models[] = {
    {.name = BRK_FAMILY ".m", .doc = "noisy leaky integrators", .params = params,
     .ports = ports, .methods = methods, .create = brk_create, .reset = brk_reset,
     .step = brk_step, .destroy = brk_destroy, .save_state = brk_save,
     .load_state = brk_load,
#ifdef BRK_UNDECLARED
     .flags = 0},
#else
     .flags = LAM_MODEL_STOCHASTIC},
#endif
    {.name = NULL}};

static const lam_plugin_desc desc = {LAM_DESC_SIZES, .name = BRK_FAMILY, .version = BRK_VERSION,
                                     .licence = "MIT", .build = LAM_BUILD_INFO,
                                     .models = models};

LAM_PLUGIN_EXPORT const lam_plugin_desc *lamina_plugin_init(const lam_host_info *host,
                                                            char *err, size_t errlen) {
  api = host->api;
  return &desc;
}

#endif
