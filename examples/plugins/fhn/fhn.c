/*
 * fhn.c - an out-of-tree lamina plugin: a population of FitzHugh–Nagumo
 * units, built only against the installed SDK (lamina_plugin.h found with
 * `pkg-config --cflags lamina`).  See README.md.
 *
 * Model fhn.pop, n independent units i with (FitzHugh 1961, Nagumo 1962)
 *
 *     dv/dt = v - v^3 / 3 - w + I0 + I_i(t)
 *     dw/dt = (v + a - b w) / tau
 *
 * in dimensionless time (one unit = one ms of lamina's clock).  v is the
 * fast, excitable variable, w the slow recovery.
 *
 * Integration: Strang splitting, second order.  With v frozen, the w
 * equation is linear, dw/dt = (v + a)/tau - (b/tau) w, and is solved
 * EXACTLY over half a step,
 *     w <- w e^{-k} + (v + a)/b (1 - e^{-k}),   k = b h / (2 tau)
 * (w <- w + (v + a) h / (2 tau) when b = 0); then v takes a full
 * classical RK4 step with w frozen; then w another exact half step.  The
 * input is held constant over a step, as lamina's ports are.
 *
 * Fixed points satisfy w = (v + a)/b and v - v^3/3 - (v + a)/b + I = 0;
 * the method fixed_point solves that cubic by Newton's method (b > 0).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lamina_plugin.h"

static const lam_host_api *api;

enum { P_A, P_B, P_TAU, P_I0, P_V0, P_W0, P_N };
static const lam_param_def params[] = {
    {.name = "a", .doc = "recovery offset", .units = "1", .def = 0.7, .min = -5, .max = 5,
     .type = LAM_PARAM_F64},
    {.name = "b", .doc = "recovery self-coupling (0: no decay of w)", .units = "1", .def = 0.8,
     .min = 0, .max = 10, .type = LAM_PARAM_F64},
    {.name = "tau", .doc = "time scale of w relative to v", .units = "ms", .def = 12.5,
     .min = 1e-2, .max = 1e4, .type = LAM_PARAM_F64},
    {.name = "I0", .doc = "constant input current added to port I", .units = "1", .def = 0,
     .min = -10, .max = 10, .type = LAM_PARAM_F64, .flags = LAM_PARAM_MUTABLE},
    {.name = "v0", .doc = "initial v (after create and reset)", .units = "1", .def = -1.2,
     .min = -5, .max = 5, .type = LAM_PARAM_F64},
    {.name = "w0", .doc = "initial w (after create and reset)", .units = "1", .def = -0.625,
     .min = -5, .max = 5, .type = LAM_PARAM_F64},
    {.name = "n", .doc = "number of units", .units = "", .def = 1, .min = 1, .max = 10000000,
     .type = LAM_PARAM_I64},
    {.name = NULL}};

enum { PORT_I, PORT_V, PORT_W };
static const lam_port_def ports[] = {
    {.name = "I", .doc = "input current of each unit (added to I0)", .units = "1", .shape = "n",
     .dtype = LAM_F64, .dir = LAM_PORT_IN},
    {.name = "v", .doc = "fast variable (membrane potential)", .units = "1", .shape = "n",
     .dtype = LAM_F64, .dir = LAM_PORT_OUT},
    {.name = "w", .doc = "slow recovery variable", .units = "1", .shape = "n", .dtype = LAM_F64,
     .dir = LAM_PORT_STATE},
    {.name = NULL}};

typedef struct pop {
  int64_t n;
} pop;

static void initial(lam_model_ctx *ctx, int64_t n) {
  double *v = ctx->ports[PORT_V]->data, *w = ctx->ports[PORT_W]->data;
  for (int64_t i = 0; i < n; i++) v[i] = ctx->params[P_V0], w[i] = ctx->params[P_W0];
}

static int pop_create(lam_model_ctx *ctx, void **self) {
  pop *p = api->alloc(sizeof *p);
  if (!p) {
    api->set_error(ctx->host, "out of memory");
    return LAM_ENOMEM;
  }
  p->n = (int64_t)ctx->params[P_N];
  initial(ctx, p->n);
  *self = p;
  return LAM_OK;
}

static int pop_reset(void *self, lam_model_ctx *ctx) {
  initial(ctx, ((pop *)self)->n);
  return LAM_OK;
}

/* dv/dt with w and the input frozen. */
static inline double fv(double v, double w, double in) { return v - v * v * v / 3 - w + in; }

static int pop_step(void *self, lam_model_ctx *ctx, int64_t steps) {
  pop *p = self;
  const double *I = ctx->ports[PORT_I]->data;
  double *v = ctx->ports[PORT_V]->data, *w = ctx->ports[PORT_W]->data;
  const double a = ctx->params[P_A], b = ctx->params[P_B], tau = ctx->params[P_TAU];
  const double h = ctx->dt, I0 = ctx->params[P_I0];
  /* The exact half step of w: w <- e w + c (v + a). */
  const double k = b * h / (2 * tau);
  const double e = exp(-k), c = b > 0 ? -expm1(-k) / b : h / (2 * tau);
  for (int64_t s = 0; s < steps; s++)
    for (int64_t i = 0; i < p->n; i++) {
      double x = v[i], y = w[i], in = I0 + I[i];
      y = e * y + c * (x + a);
      double k1 = fv(x, y, in), k2 = fv(x + 0.5 * h * k1, y, in);
      double k3 = fv(x + 0.5 * h * k2, y, in), k4 = fv(x + h * k3, y, in);
      x += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
      v[i] = x;
      w[i] = e * y + c * (x + a);
    }
  return LAM_OK;
}

static void pop_destroy(void *self, lam_model_ctx *ctx) { api->free(self); }

/* Checkpoint: u8 [tag, n, v[n], w[n]] as 8-byte words. */
static const uint64_t TAG = 0x706f702e6e6866ULL; /* "fhn.pop" */

static int pop_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  pop *p = self;
  int64_t bytes = (2 + 2 * p->n) * 8;
  lam_buf *b = api->buf_new(LAM_U8, 1, &bytes);
  if (!b) {
    api->set_error(ctx->host, "out of memory");
    return LAM_ENOMEM;
  }
  uint64_t head[2] = {TAG, (uint64_t)p->n};
  char *d = b->data;
  memcpy(d, head, sizeof head);
  memcpy(d + 16, ctx->ports[PORT_V]->data, (size_t)p->n * 8);
  memcpy(d + 16 + p->n * 8, ctx->ports[PORT_W]->data, (size_t)p->n * 8);
  *out = b;
  return LAM_OK;
}

static int pop_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  pop *p = self;
  uint64_t head[2] = {0, 0};
  int ours = in->dtype == LAM_U8 && in->ndim == 1 && in->size == (2 + 2 * p->n) * 8 &&
             (in->flags & LAM_BUF_CONTIGUOUS);
  if (ours) memcpy(head, in->data, sizeof head);
  if (!ours || head[0] != TAG || head[1] != (uint64_t)p->n) {
    api->set_error(ctx->host, "not a checkpoint of an fhn.pop with n = %lld", (long long)p->n);
    return LAM_EINVAL;
  }
  const char *d = in->data;
  memcpy(ctx->ports[PORT_V]->data, d + 16, (size_t)p->n * 8);
  memcpy(ctx->ports[PORT_W]->data, d + 16 + p->n * 8, (size_t)p->n * 8);
  return LAM_OK;
}

/* fixed_point(I: f64 [m]) -> f64 [m, 2]: for each total input I (I0 is NOT
 * added), the fixed point (v*, w*) nearest the resting branch: Newton's
 * method on g(v) = v - v^3/3 - (v + a)/b + I from v = -1.5 (a, b > 0 give
 * a single real root for the classic parameters; otherwise the root
 * Newton reaches).  Needs b > 0. */
static int pop_fixed_point(void *self, lam_model_ctx *ctx, lam_buf *const *in, int32_t n_in,
                           lam_buf **out) {
  const double a = ctx->params[P_A], b = ctx->params[P_B];
  if (n_in != 1 || !in[0] || in[0]->dtype != LAM_F64 || in[0]->ndim != 1 ||
      !(in[0]->flags & LAM_BUF_CONTIGUOUS)) {
    api->set_error(ctx->host, "fixed_point: expected one contiguous 1-d f64 buffer of inputs");
    return LAM_EINVAL;
  }
  if (!(b > 0)) {
    api->set_error(ctx->host, "fixed_point: needs b > 0 (b = %g: w has no fixed point)", b);
    return LAM_EINVAL;
  }
  int64_t m = in[0]->shape[0];
  lam_buf *r = api->buf_new(LAM_F64, 2, (int64_t[]){m, 2});
  if (!r) {
    api->set_error(ctx->host, "fixed_point: out of memory");
    return LAM_ENOMEM;
  }
  const double *I = in[0]->data;
  double *o = r->data;
  for (int64_t j = 0; j < m; j++) {
    double v = -1.5;
    for (int it = 0; it < 100; it++) {
      double g = v - v * v * v / 3 - (v + a) / b + I[j], dg = 1 - v * v - 1 / b;
      double dv = dg != 0 ? g / dg : 0;
      v -= dv;
      if (fabs(dv) <= 1e-15 * (1 + fabs(v))) break;
    }
    o[2 * j] = v;
    o[2 * j + 1] = (v + a) / b;
  }
  *out = r;
  return LAM_OK;
}

static const lam_method_def methods[] = {
    {.name = "fixed_point",
     .doc = "fixed_point(I: f64 [m]) -> f64 [m, 2]: (v*, w*) for each total input I (b > 0)",
     .fn = pop_fixed_point},
    {.name = NULL}};

static const lam_model_def models[] = {
    {.name = "fhn.pop",
     .doc = "n FitzHugh-Nagumo units: dv/dt = v - v^3/3 - w + I, tau dw/dt = v + a - b w; "
            "Strang splitting (w exact, v RK4), second order",
     .params = params, .ports = ports, .methods = methods, .create = pop_create,
     .reset = pop_reset, .step = pop_step, .destroy = pop_destroy, .save_state = pop_save,
     .load_state = pop_load, .flags = 0 /* deterministic */},
    {.name = NULL}};

static const lam_plugin_desc desc = {
    LAM_DESC_SIZES,
    .name = "fhn",
    .version = "1.0.0",
    .authors = "lamina developers",
    .licence = "MIT",
    .citation = "FitzHugh R (1961) Biophys J 1:445-466, doi:10.1016/S0006-3495(61)86902-6",
    .doc = "FitzHugh-Nagumo populations: an example of an out-of-tree lamina plugin.",
    .build = LAM_BUILD_INFO,
    .models = models};

LAM_PLUGIN_EXPORT const lam_plugin_desc *lamina_plugin_init(const lam_host_info *host, char *err,
                                                            size_t errlen) {
  /* ABI version and API table size; buf_new is the last entry fhn calls. */
  api = lam_plugin_handshake(host, desc.name, LAM_API_NEEDED(buf_new), err, errlen);
  return api ? &desc : NULL;
}
