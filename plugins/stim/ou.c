/*
 * ou.c - stim.ou: Ornstein-Uhlenbeck noise, dx = (mu - x)/tau dt + sigma dW.
 *
 * The process is advanced with its exact discrete update (Gillespie 1996,
 * Phys Rev E 54:2084):
 *
 *     x <- mu + (x - mu) a + sigma sqrt(tau/2 (1 - a^2)) xi,  a = exp(-dt/tau)
 *
 * with xi ~ N(0, 1) from the channel's own stream.  It has no step-size
 * error: whatever dt, the samples have the stationary variance
 * sigma^2 tau / 2 and the lag-k autocorrelation exp(-k dt / tau) of the
 * continuous process.  1 - a^2 is computed as -expm1(-2 dt/tau) so that it
 * stays accurate when dt << tau.
 */
#include <math.h>
#include <string.h>

#include "stim_int.h"

const char stim__ou_doc[] =
    "Ornstein-Uhlenbeck noise dx = (mu - x)/tau dt + sigma dW, one "
    "independent process per channel, advanced with the exact update "
    "x <- mu + (x - mu) e^(-dt/tau) + sigma sqrt(tau/2 (1 - e^(-2 dt/tau))) xi "
    "(Gillespie 1996), so the stationary variance is sigma^2 tau / 2 and the "
    "lag-k autocorrelation exp(-k dt / tau) for any dt.  x starts at x0, or "
    "with `stationary` at a draw from the stationary distribution "
    "N(mu, sigma^2 tau / 2).  tau, sigma and mu may change between steps.";

enum { P_CHANNELS, P_TAU, P_SIGMA, P_MU, P_X0, P_STATIONARY };
enum { PORT_X };

const lam_param_def stim__ou_params[] = {
    STIM_CHANNELS_PARAM("number of independent processes"),
    {.name = "tau",
     .doc = "relaxation time constant (> 0)",
     .units = "ms",
     .def = 10,
     .min = 1e-9,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "sigma",
     .doc = "noise amplitude; the stationary standard deviation is "
            "sigma sqrt(tau/2)",
     .units = "x/sqrt(ms)",
     .def = 1,
     .min = 0,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "mu",
     .doc = "mean the process relaxes to",
     .units = "x",
     .def = 0,
     .min = -STIM_BIG,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "x0",
     .doc = "initial value of every channel (ignored when stationary)",
     .units = "x",
     .def = 0,
     .min = -STIM_BIG,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64},
    {.name = "stationary",
     .doc = "draw x(0) from the stationary distribution N(mu, sigma^2 tau/2) "
            "instead of starting at x0",
     .units = "",
     .def = 0,
     .type = LAM_PARAM_BOOL},
    {.name = NULL}};

const lam_port_def stim__ou_ports[] = {
    {.name = "x",
     .doc = "current value of each process (state: a regulator may write it, "
            "the next step continues from the written value)",
     .units = "x",
     .shape = "channels",
     .dtype = LAM_F64,
     .dir = LAM_PORT_STATE},
    {.name = NULL}};

typedef struct {
  stim_head h;
  lam_rng *rng; /* per-channel noise streams (LAM_RNG_NOISE) */
} ou;

int stim__ou_create(lam_model_ctx *ctx, void **self) {
  int64_t n = stim__channels(ctx, P_CHANNELS);
  if (!stim__port(ctx, PORT_X, "x", LAM_F64, n))
    return LAM_EINVAL;
  lam_rng *rng;
  ou *p = stim__new_streams(ctx, STIM_TAG_OU, n, sizeof *p, &rng);
  if (!p)
    return LAM_ENOMEM;
  p->rng = rng;
  return stim__create_finish(ctx, p, self, stim__ou_reset, stim__ou_destroy);
}

int stim__ou_reset(void *self, lam_model_ctx *ctx) {
  ou *p = self;
  double *x = stim__port(ctx, PORT_X, "x", LAM_F64, p->h.channels);
  if (!x)
    return LAM_EINVAL;
  p->h.steps = 0;
  stim__rng_seed(ctx, p->rng, p->h.channels, LAM_RNG_NOISE);
  const double *par = ctx->params;
  if (par[P_STATIONARY] != 0.0) {
    /* The initial draws come from separate streams (LAM_RNG_INIT), so the
     * noise sequence is the same with and without `stationary`. */
    double sd = par[P_SIGMA] * sqrt(par[P_TAU] / 2.0);
    for (int64_t c = 0; c < p->h.channels; c++) {
      lam_rng r;
      stim__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                          (uint64_t)c);
      x[c] = par[P_MU] + sd * stim__api->rng_normal(&r);
    }
  } else {
    for (int64_t c = 0; c < p->h.channels; c++)
      x[c] = par[P_X0];
  }
  return LAM_OK;
}

int stim__ou_step(void *self, lam_model_ctx *ctx, int64_t n) {
  ou *p = self;
  const int64_t nc = p->h.channels;
  double *x = stim__port(ctx, PORT_X, "x", LAM_F64, nc);
  if (!x)
    return LAM_EINVAL;
  /* Coefficients from the current parameters (tau, sigma, mu are mutable;
   * they can only change between step() calls). */
  const double tau = ctx->params[P_TAU], sigma = ctx->params[P_SIGMA];
  const double mu = ctx->params[P_MU];
  if (!(tau > 0.0) || !isfinite(tau) || !(sigma >= 0.0) || !isfinite(sigma)) {
    stim__api->set_error(ctx->host,
                         "need tau > 0 and sigma >= 0 (tau = %g ms, "
                         "sigma = %g)",
                         tau, sigma);
    return LAM_ERANGE;
  }
  const double h = ctx->dt / tau;
  const double a = exp(-h);
  const double b = sigma * sqrt(tau / 2.0 * -expm1(-2.0 * h));
  /* One normal per channel from its own stream: the batched draw gives
   * the per-channel loop's normals bit for bit (and leaves the streams as
   * it does); channels go in blocks through a small stack buffer, which
   * changes nothing since the streams are independent. */
  double xi[256];
  for (int64_t s = 0; s < n; s++) {
    for (int64_t c0 = 0; c0 < nc; c0 += 256) {
      const int64_t m = nc - c0 < 256 ? nc - c0 : 256;
      stim__api->rng_normal_each(p->rng + c0, m, xi);
      for (int64_t c = 0; c < m; c++)
        x[c0 + c] = mu + (x[c0 + c] - mu) * a + b * xi[c];
    }
    p->h.steps++;
  }
  return LAM_OK;
}

void stim__ou_destroy(void *self, lam_model_ctx *ctx) {
  ou *p = self;
  stim__free_with(p, p ? p->rng : NULL);
}

int stim__ou_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  ou *p = self;
  const int64_t nc = p->h.channels;
  const double *x = stim__port(ctx, PORT_X, "x", LAM_F64, nc);
  if (!x)
    return LAM_EINVAL;
  unsigned char *w = stim__streams_save(ctx, &p->h, p->rng, sizeof *x, out);
  if (!w)
    return LAM_ENOMEM;
  memcpy(w, x, (size_t)nc * sizeof *x);
  return LAM_OK;
}

int stim__ou_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  ou *p = self;
  const int64_t nc = p->h.channels;
  const unsigned char *r = stim__streams_open(ctx, &p->h, in, sizeof(double));
  double *x = r ? stim__port(ctx, PORT_X, "x", LAM_F64, nc) : NULL;
  if (!x)
    return LAM_EINVAL;
  r = stim__streams_read(&p->h, p->rng, r);
  memcpy(x, r, (size_t)nc * sizeof *x);
  return LAM_OK;
}
