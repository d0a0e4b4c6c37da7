/*
 * sine.c - stim.sine: sinusoids, one per channel with a per-channel phase.
 *
 * The value of step k is computed from the exact time t = k * dt (an
 * integer step count times dt), never from a running sum of dt, so there is
 * no drift however long the run.
 */
#include <math.h>

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
    STIM_CHANNELS_PARAM("number of channels"),
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
  stim_head h; /* h.steps: k of the next step */
} sine;

int stim__sine_create(lam_model_ctx *ctx, void **self) {
  return stim__create_value(ctx, STIM_TAG_SINE, sizeof(sine), self);
}

int stim__sine_step(void *self, lam_model_ctx *ctx, int64_t n) {
  sine *p = self;
  const int64_t nc = p->h.channels;
  int64_t k;
  int rc;
  double *v = stim__value_steps(ctx, &p->h, n, &k, &rc);
  if (!v)
    return rc;
  const double *par = ctx->params;
  const double amp = par[P_AMPLITUDE], off = par[P_OFFSET];
  const double phase = par[P_PHASE], dphi = par[P_PHASE_STEP];
  const double omega = 2.0 * M_PI * par[P_FREQ] / 1000.0; /* rad per ms */
  /* Only the last of the n steps is visible in the port. */
  const double t = (double)k * ctx->dt;
  const double wt = omega * t;
  for (int64_t c = 0; c < nc; c++)
    v[c] = off + amp * sin(wt + (phase + (double)c * dphi));
  return LAM_OK;
}
