/*
 * reservoir.c - the reservoir plugin's entry point and model table, and
 * the helpers its models share.
 *
 * reservoir provides reservoir-computing substrates: rate echo-state
 * networks (reservoir.esn, esn.c) and spiking liquids.  Readouts and
 * metrics live in the Lua library (lamina.readout, lamina.metrics) with
 * their dense linear algebra in the core (core/linalg.c).  Each model file
 * exports one lam_model_def (declared in reservoir_int.h); adding a model
 * is one line in `models` below.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reservoir_int.h"

const lam_host_api *resv__api;

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen);

void *resv__alloc(lam_model_ctx *ctx, int64_t n, size_t size) {
  return lam_plugin_alloc(resv__api, ctx, n, size);
}

void *resv__port(lam_model_ctx *ctx, int index, const char *port,
                 int32_t dtype, int64_t n) {
  return lam_plugin_port(resv__api, ctx, index, port, dtype, n);
}

/* The model table: one line per model (see reservoir_int.h).  Copied
 * from the descriptors at init because C cannot put extern structs into a
 * static array initialiser. */
#define RESV_MAX_MODELS 16
static lam_model_def models[RESV_MAX_MODELS + 1];

static const lam_model_def *const model_defs[] = {
    &resv__esn_def,
    &resv__lif_def,
    &resv__izhikevich_def,
    &resv__nalsm_def,
    NULL};

static const lam_plugin_desc desc = {
    LAM_DESC_SIZES,
    .name = "reservoir",
    .version = "0.1.0",
    .authors = "lamina developers",
    .licence = "MIT",
    .citation = "Jaeger 2001 (GMD Report 148); Lukosevicius & Jaeger 2009 "
                "(Comput Sci Rev 3:127)",
    .doc = "Reservoir computing: leaky-integrator echo-state networks "
           "(dense or CSR weights scaled to a spectral radius, feedback, "
           "Dale's law with an E/I ratio, intrinsic plasticity, local E/I "
           "adaptation toward target rates, batched instances, closed-loop "
           "generation) and spiking liquids.  Readouts: lamina.readout.",
    .build = LAM_BUILD_INFO,
    .models = models};

const lam_plugin_desc *lamina_plugin_init(const lam_host_info *host,
                                          char *err, size_t errlen) {
  char dummy[1];
  if (!err || errlen == 0) err = dummy, errlen = sizeof dummy;
  /* The ESN's batched and dense paths need the BLAS entries (sgemv last). */
  if (!lam_plugin_handshake(host, "reservoir", LAM_API_NEEDED(sgemv), err, errlen)) return NULL;
  resv__api = host->api;
  size_t n = 0;
  for (; model_defs[n]; n++) {
    if (n >= RESV_MAX_MODELS) {
      snprintf(err, errlen, "reservoir: more than %d models; raise "
               "RESV_MAX_MODELS", RESV_MAX_MODELS);
      return NULL;
    }
    models[n] = *model_defs[n];
  }
  models[n].name = NULL;
  return &desc;
}
