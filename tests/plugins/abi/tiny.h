/*
 * tiny.h - the small model shared by the ABI test plugins in this folder,
 * and the plugin built around it.  Each plugin .c sets a few macros, then
 * includes this header; everything here is static, so each plugin is still
 * one self-contained translation unit.
 *
 *   TINY_FAMILY              the plugin's name and its models' family (required)
 *   TINY_VERSION             the plugin's version           ("0.1.0")
 *   TINY_GAIN_DEFAULT        the default of parameter gain  (1)
 *   TINY_ABI_MAJOR/MINOR     the ABI the descriptor claims  (this header's)
 *   TINY_MODELS              the models array's entries     (one TINY_MODEL)
 *   TINY_FUTURE_MODEL_EXTRA  models are lam_model_def plus one appended
 *                            field: ".first" (extra 0) and ".second" (extra
 *                            this value), with model_size the bigger size
 *   TINY_FUTURE_DESC_EXTRA   the descriptor is lam_plugin_desc plus one
 *                            appended field of this value, with struct_size
 *                            the bigger size
 *   TINY_INIT_NAME           the exported entry point (lamina_plugin_init)
 *   TINY_CUSTOM_INIT         define it to write the entry point yourself
 */
#ifndef TINY_H
#define TINY_H

#include <stdint.h>
#include <string.h>

#include "lamina_plugin.h"

#ifndef TINY_FAMILY
#error "define TINY_FAMILY before including tiny.h"
#endif
#ifndef TINY_VERSION
#define TINY_VERSION "0.1.0"
#endif
#ifndef TINY_GAIN_DEFAULT
#define TINY_GAIN_DEFAULT 1
#endif
#ifndef TINY_ABI_MAJOR
#define TINY_ABI_MAJOR LAM_ABI_MAJOR
#endif
#ifndef TINY_ABI_MINOR
#define TINY_ABI_MINOR LAM_ABI_MINOR
#endif
#ifndef TINY_MODELS
#define TINY_MODELS TINY_MODEL(TINY_FAMILY)
#endif
#ifndef TINY_INIT_NAME
#define TINY_INIT_NAME lamina_plugin_init
#endif

static const lam_host_api *api;

/* A small but real model: x += gain * dt per step. */
static const lam_param_def tiny_params[] = {
    {.name = "gain", .doc = "slope of x", .units = "1/ms",
     .def = TINY_GAIN_DEFAULT, .min = -10, .max = 10, .type = LAM_PARAM_F64},
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

/* The tiny model under a full name, and under "<family>.tiny". */
#define TINY_MODEL_NAMED(full)                                              \
  {.name = full, .doc = "x += gain dt", .params = tiny_params,              \
   .ports = tiny_ports, .create = tiny_create, .step = tiny_step,          \
   .destroy = tiny_destroy}
#define TINY_MODEL(fam) TINY_MODEL_NAMED(fam ".tiny")

/* The descriptor's fields, given its models and the two sizes that the
 * "future header" plugins enlarge. */
#define TINY_DESC_FIELDS(models_, struct_size_, model_size_)               \
  .struct_size = (struct_size_), .name = TINY_FAMILY,                      \
  .version = TINY_VERSION, .licence = "MIT", .build = LAM_BUILD_INFO,      \
  .models = (models_), .model_size = (model_size_),                        \
  .param_size = sizeof(lam_param_def), .port_size = sizeof(lam_port_def),  \
  .method_size = sizeof(lam_method_def), .abi_major = (TINY_ABI_MAJOR),    \
  .abi_minor = (TINY_ABI_MINOR)

#if defined(TINY_FUTURE_MODEL_EXTRA)
/* What a later lam_model_def could look like: appended fields only. */
struct future_model {
  lam_model_def base;
  uint64_t extra;
};

_Static_assert(sizeof(struct future_model) == sizeof(lam_model_def) + 8,
               "no padding between the known struct and the extra field");

static const struct future_model models[] = {
    {.base = TINY_MODEL_NAMED(TINY_FAMILY ".first"), .extra = 0},
    {.base = TINY_MODEL_NAMED(TINY_FAMILY ".second"),
     .extra = TINY_FUTURE_MODEL_EXTRA},
    {.base = {.name = NULL}}};

static const lam_plugin_desc desc = {TINY_DESC_FIELDS(
    &models[0].base, sizeof(lam_plugin_desc), sizeof(struct future_model))};
#define TINY_DESC (&desc)

#elif defined(TINY_FUTURE_DESC_EXTRA)
static const lam_model_def models[] = {TINY_MODELS, {.name = NULL}};

/* What a later lam_plugin_desc could look like: appended fields only. */
struct future_desc {
  lam_plugin_desc base;
  uint64_t extra;
};

_Static_assert(sizeof(struct future_desc) == sizeof(lam_plugin_desc) + 8,
               "no padding between the known struct and the extra field");

static const struct future_desc desc = {
    .base = {TINY_DESC_FIELDS(models, sizeof(struct future_desc),
                              sizeof(lam_model_def))},
    .extra = TINY_FUTURE_DESC_EXTRA};
#define TINY_DESC (&desc.base)

#else
static const lam_model_def models[] = {TINY_MODELS, {.name = NULL}};

static const lam_plugin_desc desc = {TINY_DESC_FIELDS(
    models, sizeof(lam_plugin_desc), sizeof(lam_model_def))};
#define TINY_DESC (&desc)
#endif

#ifndef TINY_CUSTOM_INIT
LAM_PLUGIN_EXPORT const lam_plugin_desc *
TINY_INIT_NAME(const lam_host_info *host, char *err, size_t errlen) {
  api = host->api;
  return TINY_DESC;
}
#endif

#endif /* TINY_H */
