/*
 * null.c - the "benchnull" plugin: models that do almost nothing, so that a
 * benchmark stepping them measures the host's per-step overhead (the tick
 * loop, the indirect call, divergence checks, links, recorders) rather than
 * any model's arithmetic.  Built by scripts/bench/run into build/bench/ and
 * found through LAMINA_PLUGIN_PATH; it is not installed.
 *
 *   benchnull.null   OUT x[n]:       x[0] += 1 per step
 *   benchnull.pass   IN in[n], OUT out[n]:   out[0] = in[0] + 1 per step
 *   benchnull.state  STATE s[n], OUT out[n]: out[0] = s[0] + 1 per step
 *
 * Each step does one real load, add and store on a host-owned buffer, so
 * the compiler cannot drop it, and the values stay finite (the divergence
 * check passes).  A link into `pass.in` (an IN port of the same dtype) is
 * an alias; a link into `state.s` (a STATE port) is a copying link, so the
 * two models let a benchmark measure both kinds.
 */
#include <stdint.h>
#include <string.h>

#include "lamina_plugin.h"

static const lam_host_api *api;

static const lam_param_def params[] = {
    {.name = "n", .doc = "number of elements of every port", .units = "",
     .def = 1, .min = 1, .max = 1e9, .type = LAM_PARAM_I64},
    {.name = NULL}};

static const lam_port_def null_ports[] = {
    {.name = "x", .doc = "x[0] counts the steps", .units = "", .shape = "n",
     .dtype = LAM_F64, .dir = LAM_PORT_OUT},
    {.name = NULL}};

static const lam_port_def pass_ports[] = {
    {.name = "in", .doc = "read at every step", .units = "", .shape = "n",
     .dtype = LAM_F64, .dir = LAM_PORT_IN},
    {.name = "out", .doc = "out[0] = in[0] + 1", .units = "", .shape = "n",
     .dtype = LAM_F64, .dir = LAM_PORT_OUT},
    {.name = NULL}};

static const lam_port_def state_ports[] = {
    {.name = "s", .doc = "a state port (a link into it copies)", .units = "",
     .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "out", .doc = "out[0] = s[0] + 1", .units = "", .shape = "n",
     .dtype = LAM_F64, .dir = LAM_PORT_OUT},
    {.name = NULL}};

/* No instance state is needed; self stays NULL. */
static int nothing_create(lam_model_ctx *ctx, void **self) {
  (void)ctx;
  *self = NULL;
  return LAM_OK;
}
static int nothing_reset(void *self, lam_model_ctx *ctx) {
  (void)self;
  (void)ctx;
  return LAM_OK;
}
static void nothing_destroy(void *self, lam_model_ctx *ctx) {
  (void)self;
  (void)ctx;
}

/* Ports are read through ctx->ports at every call, as the ABI asks (a link
 * may have replaced the buffer before the run). */
static int null_step(void *self, lam_model_ctx *ctx, int64_t n) {
  (void)self;
  double *x = ctx->ports[0]->data;
  for (int64_t k = 0; k < n; k++) x[0] += 1;
  return LAM_OK;
}

static int pass_step(void *self, lam_model_ctx *ctx, int64_t n) {
  (void)self;
  const double *in = ctx->ports[0]->data;
  double *out = ctx->ports[1]->data;
  for (int64_t k = 0; k < n; k++) out[0] = in[0] + 1;
  return LAM_OK;
}

static const lam_model_def models[] = {
    {.name = "benchnull.null",
     .doc = "x[0] += 1 per step: the smallest model that does real work",
     .params = params, .ports = null_ports, .create = nothing_create,
     .reset = nothing_reset, .step = null_step, .destroy = nothing_destroy},
    {.name = "benchnull.pass",
     .doc = "out[0] = in[0] + 1 per step (in is an IN port: links alias it)",
     .params = params, .ports = pass_ports, .create = nothing_create,
     .reset = nothing_reset, .step = pass_step, .destroy = nothing_destroy},
    {.name = "benchnull.state",
     .doc = "out[0] = s[0] + 1 per step (s is a STATE port: links copy into it)",
     .params = params, .ports = state_ports, .create = nothing_create,
     .reset = nothing_reset, .step = pass_step, .destroy = nothing_destroy},
    {.name = NULL}};

static const lam_plugin_desc desc = {
    LAM_DESC_SIZES,
    .name = "benchnull",
    .version = "1.0.0",
    .authors = "lamina benchmarks",
    .licence = "MIT",
    .citation = "",
    .doc = "Null models for the host-overhead benchmarks (scripts/bench).",
    .build = LAM_BUILD_INFO,
    .models = models,
};

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen);

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen) {
  if (host->abi_major != LAM_ABI_MAJOR || host->abi_minor_max < LAM_ABI_MINOR) {
    static const char msg[] = "benchnull: host ABI does not match";
    if (err && errlen) {
      size_t k = sizeof msg - 1 < errlen - 1 ? sizeof msg - 1 : errlen - 1;
      memcpy(err, msg, k);
      err[k] = '\0';
    }
    return NULL;
  }
  api = host->api;
  (void)api;
  return &desc;
}
