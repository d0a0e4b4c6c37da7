/*
 * newer_minor.c - a plugin that needs ABI minor LAM_ABI_MINOR + 1, a
 * version this host does not provide yet: the host must refuse it and say
 * which version it needs.
 */
#include <stdint.h>
#include <string.h>

#include "lamina_plugin.h"

static const lam_host_api *api;

/* A small but real model: x += gain * dt per step. */
static const lam_param_def tiny_params[] = {
    {.name = "gain", .doc = "slope of x", .units = "1/ms", .def = 1,
     .min = -10, .max = 10, .type = LAM_PARAM_F64},
    {.name = "n", .doc = "number of units", .def = 1, .min = 1, .max = 16,
     .type = LAM_PARAM_I64},
    {.name = NULL}};

static const lam_port_def tiny_ports[] = {
    {.name = "x", .doc = "integrated value", .shape = "n", .dtype = LAM_F64,
     .dir = LAM_PORT_OUT},
    {.name = NULL}};

static int tiny_create(lam_model_ctx *ctx, void **self) {
  *self = api->alloc(1);
  return *self ? LAM_OK : LAM_ENOMEM;
}

static int tiny_step(void *self, lam_model_ctx *ctx, int64_t n) {
  lam_buf *x = ctx->ports[0];
  for (int64_t s = 0; s < n; s++)
    for (int64_t i = 0; i < x->size; i++)
      ((double *)x->data)[i] += ctx->params[0] * ctx->dt;
  return LAM_OK;
}

static void tiny_destroy(void *self, lam_model_ctx *ctx) { api->free(self); }

#define MODEL(fam)                                                         \
  {.name = fam ".tiny", .doc = "x += gain dt", .params = tiny_params,       \
   .ports = tiny_ports, .create = tiny_create, .step = tiny_step,          \
   .destroy = tiny_destroy}

static const lam_model_def models[] = {MODEL("newer_minor"), {.name = NULL}};

static const lam_plugin_desc desc = {
    .struct_size = sizeof(lam_plugin_desc),
    .name = "newer_minor",
    .version = "0.1.0",
    .licence = "MIT",
    .build = LAM_BUILD_INFO,
    .models = models,
    .model_size = sizeof(lam_model_def),
    .param_size = sizeof(lam_param_def),
    .port_size = sizeof(lam_port_def),
    .method_size = sizeof(lam_method_def),
    .abi_major = LAM_ABI_MAJOR,
    .abi_minor = LAM_ABI_MINOR + 1,
};

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen) {
  /* Returns its descriptor anyway: the host, not the plugin, must decide. */
  api = host->api;
  return &desc;
}
