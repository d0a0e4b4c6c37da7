/*
 * pulse.c - stim.pulse: steps and rectangular pulse trains.
 *
 * Timing is done in whole steps, never by comparing accumulated float
 * times.  At create, onset, width and interval (ms) are converted to step
 * counts by dividing by dt; each must be a whole number of steps to within
 * 1e-9 (relative), otherwise create fails with a message giving the value
 * in steps.  The value of step k describes the interval [k dt, (k+1) dt);
 * pulse i (i = 0, 1, ...) is on for the steps k with
 *
 *     onset + i interval <= k dt < onset + i interval + width
 *
 * i.e. it switches on at the step that starts at its onset and off at the
 * step that starts at onset + width.
 */
#include <math.h>

#include "stim_int.h"

const char stim__pulse_doc[] =
    "Steps and rectangular pulse trains, the same on every channel.  The "
    "value of step k describes [k dt, (k+1) dt): it is baseline + amplitude "
    "while a pulse is on and baseline otherwise.  Pulse i (from 0) is on for "
    "onset + i interval <= k dt < onset + i interval + width.  interval = 0 "
    "gives a single pulse; count limits the number of pulses (0: no limit).  "
    "width = 1e12 (the maximum, and the default) never ends: a step at "
    "onset.  onset, width and interval must be whole numbers of steps "
    "(multiples of the model's dt to 1e-9 relative), and interval must be "
    "at least width; otherwise create fails.  amplitude and baseline may "
    "change between steps.";

enum {
  P_CHANNELS,
  P_ONSET,
  P_WIDTH,
  P_INTERVAL,
  P_COUNT,
  P_AMPLITUDE,
  P_BASELINE
};
enum { PORT_VALUE };

const lam_param_def stim__pulse_params[] = {
    STIM_CHANNELS_PARAM("number of channels (all carry the same value)"),
    {.name = "onset",
     .doc = "start of the first pulse (a whole number of steps)",
     .units = "ms",
     .def = 0,
     .min = 0,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64},
    {.name = "width",
     .doc = "duration of each pulse (a whole number of steps, at least one); "
            "1e12 means endless (a step)",
     .units = "ms",
     .def = STIM_BIG,
     .min = 1e-12,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64},
    {.name = "interval",
     .doc = "time from one onset to the next (a whole number of steps, >= "
            "width); 0 for a single pulse",
     .units = "ms",
     .def = 0,
     .min = 0,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64},
    {.name = "count",
     .doc = "number of pulses; 0 for no limit",
     .units = "",
     .def = 0,
     .min = 0,
     .max = 1e15,
     .type = LAM_PARAM_I64},
    {.name = "amplitude",
     .doc = "height of a pulse above baseline",
     .units = "value",
     .def = 1,
     .min = -STIM_BIG,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "baseline",
     .doc = "value between pulses",
     .units = "value",
     .def = 0,
     .min = -STIM_BIG,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = NULL}};

const lam_port_def stim__pulse_ports[] = {
    {.name = "value",
     .doc = "baseline + amplitude while a pulse is on during [k dt, (k+1) dt), "
            "baseline otherwise",
     .units = "value",
     .shape = "channels",
     .dtype = LAM_F64,
     .dir = LAM_PORT_OUT},
    {.name = NULL}};

typedef struct {
  stim_head h;      /* h.steps: k of the next step */
  int64_t onset;    /* in steps */
  int64_t width;    /* in steps; -1: endless */
  int64_t interval; /* in steps; 0: single pulse */
  int64_t count;    /* 0: unlimited */
} pulse;

/* Converts `ms` to a whole number of steps of `dt` ms, or fails naming the
 * parameter.  2^53 bounds the count so the conversion is exact. */
static int to_steps(lam_model_ctx *ctx, const char *name, double ms,
                    int64_t *out) {
  const double q = ms / ctx->dt;
  const double k = nearbyint(q);
  if (!isfinite(q) || k > 9007199254740992.0) {
    stim__api->set_error(ctx->host,
                         "%s = %g ms is too many steps of dt = %g ms", name, ms,
                         ctx->dt);
    return LAM_ERANGE;
  }
  if (fabs(q - k) > 1e-9 * fmax(1.0, k)) {
    stim__api->set_error(ctx->host,
                         "%s = %g ms is not a whole number of steps of "
                         "dt = %g ms (%.6g steps)",
                         name, ms, ctx->dt, q);
    return LAM_EINVAL;
  }
  *out = (int64_t)k;
  return LAM_OK;
}

int stim__pulse_create(lam_model_ctx *ctx, void **self) {
  int64_t n = stim__channels(ctx, P_CHANNELS);
  if (!stim__port(ctx, PORT_VALUE, "value", LAM_F64, n))
    return LAM_EINVAL;
  const double *par = ctx->params;
  pulse q = {.h = {.channels = n, .tag = STIM_TAG_PULSE},
             .count = (int64_t)par[P_COUNT]};
  int rc;
  if ((rc = to_steps(ctx, "onset", par[P_ONSET], &q.onset)) != LAM_OK ||
      (rc = to_steps(ctx, "interval", par[P_INTERVAL], &q.interval)) != LAM_OK)
    return rc;
  if (par[P_WIDTH] >= STIM_BIG) {
    q.width = -1;
    if (q.interval > 0) {
      stim__api->set_error(ctx->host,
                           "an endless pulse (width = %g ms) cannot "
                           "repeat: set interval = 0 or a finite width",
                           par[P_WIDTH]);
      return LAM_EINVAL;
    }
  } else {
    if ((rc = to_steps(ctx, "width", par[P_WIDTH], &q.width)) != LAM_OK)
      return rc;
    if (q.width < 1) {
      stim__api->set_error(ctx->host,
                           "width = %g ms is shorter than one step "
                           "(dt = %g ms)",
                           par[P_WIDTH], ctx->dt);
      return LAM_EINVAL;
    }
    if (q.interval > 0 && q.interval < q.width) {
      stim__api->set_error(ctx->host,
                           "interval = %g ms is shorter than width = %g "
                           "ms (pulses would overlap)",
                           par[P_INTERVAL], par[P_WIDTH]);
      return LAM_EINVAL;
    }
  }
  pulse *p = stim__alloc(ctx, 1, sizeof *p);
  if (!p)
    return LAM_ENOMEM;
  *p = q;
  *self = p;
  return LAM_OK;
}

static int is_on(const pulse *p, int64_t k) {
  if (k < p->onset)
    return 0;
  int64_t j = k - p->onset;
  if (p->interval == 0)
    return p->width < 0 || j < p->width;
  int64_t i = j / p->interval;
  if (p->count > 0 && i >= p->count)
    return 0;
  return j - i * p->interval < p->width;
}

int stim__pulse_step(void *self, lam_model_ctx *ctx, int64_t n) {
  pulse *p = self;
  const int64_t nc = p->h.channels;
  int64_t k;
  int rc;
  double *v = stim__value_steps(ctx, &p->h, n, &k, &rc);
  if (!v)
    return rc;
  /* Only the last of the n steps is visible in the port. */
  const double val =
      ctx->params[P_BASELINE] + (is_on(p, k) ? ctx->params[P_AMPLITUDE] : 0.0);
  for (int64_t c = 0; c < nc; c++)
    v[c] = val;
  return LAM_OK;
}
