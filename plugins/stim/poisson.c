/*
 * poisson.c - stim.poisson: independent Poisson spike trains, one per
 * channel, with per-channel rates that may change at every step.
 *
 * At each step of length dt the number of spikes of channel c is drawn as
 * Poisson(rate[c] * dt / 1000) from the channel's own stream, not as a
 * Bernoulli(rate * dt) coin, so no spike is lost however high the rate or
 * long the step.  The rate is read from the `rate` port at every step, so a
 * link, a play or a set can make it per-channel and time-varying.
 */
#include <math.h>
#include <string.h>

#include "stim_int.h"

const char stim__poisson_doc[] =
    "Independent Poisson spike trains.  At each step channel c emits "
    "Poisson(rate[c] * dt / 1000) spikes (dt in ms, rate in Hz), drawn from a "
    "stream keyed by the channel index, so several spikes per step are "
    "possible and none is lost at high rates.  The `rate` input port starts "
    "at the `rate` parameter (at create and reset) and is read at every step: "
    "drive it with a link, a play or a set for per-channel or time-varying "
    "rates.  A negative or non-finite rate stops the run with an error "
    "naming the channel.";

enum { P_CHANNELS, P_RATE };
enum { PORT_RATE, PORT_SPIKES, PORT_COUNT };

const lam_param_def stim__poisson_params[] = {
    STIM_CHANNELS_PARAM("number of independent spike trains"),
    {.name = "rate",
     .doc = "initial rate of every channel; copied into the `rate` port at "
            "create and reset",
     .units = "Hz",
     .def = 10,
     .min = 0,
     .max = 1e6,
     .type = LAM_PARAM_F64},
    {.name = NULL}};

const lam_port_def stim__poisson_ports[] = {
    {.name = "rate",
     .doc = "firing rate of each channel, read at every step (must be finite "
            "and >= 0)",
     .units = "Hz",
     .shape = "channels",
     .dtype = LAM_F64,
     .dir = LAM_PORT_IN},
    {.name = "spikes",
     .doc = "number of spikes each channel emitted in the last step "
            "[t, t + dt)",
     .units = "spikes",
     .shape = "channels",
     .dtype = LAM_I32,
     .dir = LAM_PORT_OUT},
    {.name = "count",
     .doc = "cumulative number of spikes of each channel since create or "
            "reset",
     .units = "spikes",
     .shape = "channels",
     .dtype = LAM_I64,
     .dir = LAM_PORT_STATE},
    {.name = NULL}};

typedef struct {
  stim_head h;    /* h.steps: steps taken since create/reset */
  lam_rng *rng;   /* one stream per channel */
  void *rate_own; /* the rate port's own storage, to tell if a link
                     re-pointed it */
} poisson;

/* Fills the rate port with the parameter, unless a link made the port an
 * alias of another model's buffer (then that model owns the values). */
static void fill_rate(poisson *p, lam_model_ctx *ctx) {
  lam_buf *b = ctx->ports[PORT_RATE];
  if (!b || b->data != p->rate_own || b->dtype != LAM_F64 ||
      b->size != p->h.channels)
    return;
  double *r = b->data;
  for (int64_t c = 0; c < p->h.channels; c++)
    r[c] = ctx->params[P_RATE];
}

int stim__poisson_create(lam_model_ctx *ctx, void **self) {
  int64_t n = stim__channels(ctx, P_CHANNELS);
  if (!stim__port(ctx, PORT_RATE, "rate", LAM_F64, n) ||
      !stim__port(ctx, PORT_SPIKES, "spikes", LAM_I32, n) ||
      !stim__port(ctx, PORT_COUNT, "count", LAM_I64, n))
    return LAM_EINVAL;
  lam_rng *rng;
  poisson *p = stim__new_streams(ctx, STIM_TAG_POISSON, n, sizeof *p, &rng);
  if (!p)
    return LAM_ENOMEM;
  p->rng = rng;
  p->rate_own = ctx->ports[PORT_RATE]->data;
  return stim__create_finish(ctx, p, self, stim__poisson_reset,
                             stim__poisson_destroy);
}

int stim__poisson_reset(void *self, lam_model_ctx *ctx) {
  poisson *p = self;
  p->h.steps = 0;
  stim__rng_seed(ctx, p->rng, p->h.channels, LAM_RNG_SPIKES);
  fill_rate(p, ctx);
  int32_t *spk = stim__port(ctx, PORT_SPIKES, "spikes", LAM_I32, p->h.channels);
  int64_t *cnt = stim__port(ctx, PORT_COUNT, "count", LAM_I64, p->h.channels);
  if (!spk || !cnt)
    return LAM_EINVAL;
  memset(spk, 0, (size_t)p->h.channels * sizeof *spk);
  memset(cnt, 0, (size_t)p->h.channels * sizeof *cnt);
  return LAM_OK;
}

int stim__poisson_step(void *self, lam_model_ctx *ctx, int64_t n) {
  poisson *p = self;
  const int64_t nc = p->h.channels;
  const double *rate = stim__port(ctx, PORT_RATE, "rate", LAM_F64, nc);
  int32_t *spk = stim__port(ctx, PORT_SPIKES, "spikes", LAM_I32, nc);
  int64_t *cnt = stim__port(ctx, PORT_COUNT, "count", LAM_I64, nc);
  if (!rate || !spk || !cnt)
    return LAM_EINVAL;
  const double scale = ctx->dt / 1000.0; /* ms -> s */
  int64_t (*poisson_draw)(lam_rng *, double) = stim__api->rng_poisson;
  for (int64_t s = 0; s < n; s++) {
    for (int64_t c = 0; c < nc; c++) {
      double r = rate[c];
      if (!(r >= 0.0) || !isfinite(r)) {
        stim__api->set_error(ctx->host,
                             "rate of channel %lld is %g Hz (must be "
                             "finite and >= 0)",
                             (long long)c, r);
        return LAM_ERANGE;
      }
      int64_t k = 0;
      if (r > 0.0) {
        k = poisson_draw(&p->rng[c], r * scale);
        if (k < 0 || k > INT32_MAX) {
          stim__api->set_error(ctx->host,
                               "channel %lld drew %lld spikes in one step "
                               "(rate %g Hz, dt %g ms): too many for the i32 "
                               "spikes port",
                               (long long)c, (long long)k, r, ctx->dt);
          return LAM_ERANGE;
        }
      }
      spk[c] = (int32_t)k;
      cnt[c] += k;
    }
    p->h.steps++;
  }
  return LAM_OK;
}

void stim__poisson_destroy(void *self, lam_model_ctx *ctx) {
  poisson *p = self;
  stim__free_with(p, p ? p->rng : NULL);
}

/* Payload: steps, the streams, the cumulative counts and the rates (the
 * rates too, because a set may have changed them since create). */
#define PER_CHANNEL (sizeof(int64_t) + sizeof(double))

int stim__poisson_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  poisson *p = self;
  const int64_t nc = p->h.channels;
  const double *rate = stim__port(ctx, PORT_RATE, "rate", LAM_F64, nc);
  const int64_t *cnt = stim__port(ctx, PORT_COUNT, "count", LAM_I64, nc);
  if (!rate || !cnt)
    return LAM_EINVAL;
  unsigned char *w = stim__streams_save(ctx, &p->h, p->rng, PER_CHANNEL, out);
  if (!w)
    return LAM_ENOMEM;
  w = stim__put(w, cnt, (size_t)nc * sizeof *cnt);
  memcpy(w, rate, (size_t)nc * sizeof *rate);
  return LAM_OK;
}

int stim__poisson_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  poisson *p = self;
  const int64_t nc = p->h.channels;
  const unsigned char *r = stim__streams_open(ctx, &p->h, in, PER_CHANNEL);
  if (!r)
    return LAM_EINVAL;
  int64_t *cnt = stim__port(ctx, PORT_COUNT, "count", LAM_I64, nc);
  if (!cnt)
    return LAM_EINVAL;
  r = stim__streams_read(&p->h, p->rng, r);
  r = stim__get(cnt, r, (size_t)nc * sizeof *cnt);
  /* A linked rate port belongs to the model that drives it. */
  lam_buf *b = ctx->ports[PORT_RATE];
  if (b && b->data == p->rate_own && b->dtype == LAM_F64 && b->size == nc)
    memcpy(b->data, r, (size_t)nc * sizeof(double));
  return LAM_OK;
}
