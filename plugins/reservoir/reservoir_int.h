/*
 * reservoir_int.h - private to the reservoir plugin: the model descriptors
 * each model file hands to the table in reservoir.c, and the helpers they
 * share.
 *
 * Ownership: the rate-reservoir half (reservoir.esn: esn.c, esn_*.c) and
 * the spiking half (reservoir.lif, reservoir.izhikevich, ...) are written
 * by different people.  Each half declares its own models HERE, one
 * `extern const lam_model_def resv__<model>_def;` line per model, and adds
 * one `resv__<model>_def,` line to the table in reservoir.c.  Keep
 * half-specific helpers in that half's own *_int.h.
 *
 * Everything declared here has hidden visibility (the plugin is built with
 * -fvisibility=hidden), so the only exported symbol stays
 * lamina_plugin_init.  Internal names carry the prefix resv__.
 */
#ifndef RESERVOIR_INT_H
#define RESERVOIR_INT_H

#include "lamina_plugin.h"

/* The host API table, kept by lamina_plugin_init.  Every allocation, error
 * message, random draw and BLAS call of the plugin goes through it. */
extern const lam_host_api *resv__api;

/* Allocates (zeroed) n elements of `size` bytes through the host with an
 * overflow check; sets an error on ctx and returns NULL on failure.  n < 1
 * allocates one element so that empty arrays are still valid pointers. */
void *resv__alloc(lam_model_ctx *ctx, int64_t n, size_t size);

/* Checks that port `index` has a buffer of `dtype` with `n` contiguous
 * elements; on failure sets an error naming `port` and returns NULL.
 * Called at every step() so that a link that re-pointed the port is
 * honoured. */
void *resv__port(lam_model_ctx *ctx, int index, const char *port,
                 int32_t dtype, int64_t n);

/* ---- the models (one line per model, see above) -------------------- */
extern const lam_model_def resv__esn_def;
extern const lam_model_def resv__lif_def;
extern const lam_model_def resv__izhikevich_def;
extern const lam_model_def resv__nalsm_def;

#endif /* RESERVOIR_INT_H */
