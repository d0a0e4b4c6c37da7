/*
 * sine.c - stim.sine: sinusoids, one per channel with a per-channel phase.
 *
 * The value of step k is computed from the exact time t = k * dt (an
 * integer step count times dt), never from a running sum of dt, so there is
 * no drift however long the run.
 */
#include <math.h>
#include <string.h>

#include "stim_int.h"

const char stim__sine_doc[] =
    "Sinusoids: value[c] = offset + amplitude sin(2 pi freq t / 1000 + phase "
    "+ c phase_step) with t = k dt in ms at the model's step k (k = 0 at the "
    "first step after create or reset; t is computed from the integer step "
    "count, so it does not drift).  amplitude, freq, phase, offset and "
    "phase_step may change between steps (the value follows the formula at "
    "the current t, so a change of freq jumps the phase).";

enum { P_CHANNELS, P_AMPLITUDE, P_FREQ, P_PHASE, P_OFFSET, P_PHASE_STEP };
enum { PORT_VALUE };

const lam_param_def stim__sine_params[] = {
    {.name = "channels",
     .doc = "number of channels",
     .units = "",
     .def = 1,
     .min = 1,
     .max = STIM_MAX_CHANNELS,
     .type = LAM_PARAM_I64},
    {.name = "amplitude",
     .doc = "peak deviation from offset",
     .units = "value",
     .def = 1,
     .min = -STIM_BIG,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "freq",
     .doc = "frequency",
     .units = "Hz",
     .def = 10,
     .min = 0,
     .max = 1e6,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "phase",
     .doc = "phase of channel 0 at t = 0",
     .units = "rad",
     .def = 0,
     .min = -1e6,
     .max = 1e6,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "offset",
     .doc = "value the sinusoid oscillates about",
     .units = "value",
     .def = 0,
     .min = -STIM_BIG,
     .max = STIM_BIG,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "phase_step",
     .doc = "phase added per channel: channel c has phase + c phase_step",
     .units = "rad",
     .def = 0,
     .min = -1e6,
     .max = 1e6,
     .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = NULL}};

const lam_port_def stim__sine_ports[] = {
    {.name = "value",
     .doc = "offset + amplitude sin(2 pi freq t / 1000 + phase + c phase_step) "
            "at the start t = k dt of the current step",
     .units = "value",
     .shape = "channels",
     .dtype = LAM_F64,
     .dir = LAM_PORT_OUT},
    {.name = NULL}};

typedef struct {
  int64_t channels;
  int64_t steps; /* k of the next step */
} sine;

int stim__sine_create(lam_model_ctx *ctx, void **self) {
  int64_t n = stim__channels(ctx, P_CHANNELS);
  if (!stim__port(ctx, PORT_VALUE, "value", LAM_F64, n))
    return LAM_EINVAL;
  sine *p = stim__alloc(ctx, 1, sizeof *p);
  if (!p)
    return LAM_ENOMEM;
  p->channels = n;
  *self = p;
  return LAM_OK;
}

int stim__sine_reset(void *self, lam_model_ctx *ctx) {
  sine *p = self;
  p->steps = 0;
  return LAM_OK;
}

int stim__sine_step(void *self, lam_model_ctx *ctx, int64_t n) {
  sine *p = self;
  const int64_t nc = p->channels;
  double *v = stim__port(ctx, PORT_VALUE, "value", LAM_F64, nc);
  if (!v)
    return LAM_EINVAL;
  if (n <= 0)
    return LAM_OK;
  const double *par = ctx->params;
  const double amp = par[P_AMPLITUDE], off = par[P_OFFSET];
  const double phase = par[P_PHASE], dphi = par[P_PHASE_STEP];
  const double omega = 2.0 * M_PI * par[P_FREQ] / 1000.0; /* rad per ms */
  /* Only the last of the n steps is visible in the port. */
  p->steps += n - 1;
  const double t = (double)p->steps * ctx->dt;
  const double wt = omega * t;
  for (int64_t c = 0; c < nc; c++)
    v[c] = off + amp * sin(wt + (phase + (double)c * dphi));
  p->steps++;
  return LAM_OK;
}

void stim__sine_destroy(void *self, lam_model_ctx *ctx) {
  stim__api->free(self);
}

int stim__sine_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  sine *p = self;
  unsigned char *w =
      stim__state_new(ctx, STIM_TAG_SINE, p->channels, sizeof p->steps, out);
  if (!w)
    return LAM_ENOMEM;
  memcpy(w, &p->steps, sizeof p->steps);
  return LAM_OK;
}

int stim__sine_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  sine *p = self;
  const unsigned char *r = stim__state_open(ctx, STIM_TAG_SINE, p->channels, in,
                                            sizeof p->steps, NULL);
  if (!r)
    return LAM_EINVAL;
  memcpy(&p->steps, r, sizeof p->steps);
  return LAM_OK;
}
