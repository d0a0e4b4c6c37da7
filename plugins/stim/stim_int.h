/*
 * stim_int.h - private to the stim plugin: the pieces each model file
 * hands to the descriptor in stim.c, and the helpers they share.
 *
 * Everything declared here has hidden visibility (the plugin is built with
 * -fvisibility=hidden), so the only exported symbol stays
 * lamina_plugin_init.  Internal names carry the prefix stim__.
 */
#ifndef STIM_INT_H
#define STIM_INT_H

#include "lamina_plugin.h"

/* The host API table, kept by lamina_plugin_init.  Every allocation, error
 * message and random draw of the plugin goes through it. */
extern const lam_host_api *stim__api;

/* Error messages do not repeat the model's name: the host prefixes the
 * model and instance ("stim.poisson 'p': step failed: ...").
 *
 * Common bounds.  Channel counts are bounded so that per-channel state
 * (one lam_rng of 56 bytes per channel for the stochastic models) stays a
 * deliberate choice; 1e12 bounds real values far inside double range. */
#define STIM_MAX_CHANNELS 1e7
#define STIM_BIG 1e12

/* Returns the parameter as a channel count (already range-checked by the
 * host). */
int64_t stim__channels(const lam_model_ctx *ctx, int index);

/* Checks that port `index` exists, has `dtype` and `n` contiguous elements.
 * On failure sets an error naming `port` and returns NULL;
 * otherwise returns the data pointer.  Called at every step() so that a
 * link that re-pointed the port is honoured. */
void *stim__port(lam_model_ctx *ctx, int index, const char *port, int32_t dtype,
                 int64_t n);

/* Allocates (zeroed) n elements of `size` bytes through the host, with an
 * overflow check; sets an error and returns NULL on failure. */
void *stim__alloc(lam_model_ctx *ctx, int64_t n, size_t size);

/* Initialises rng[c] for c in [0, n) as the stream (seed, instance,
 * purpose, c): one stream per channel keyed by its index, so that a
 * channel's draws do not depend on the channel count or on other
 * channels. */
void stim__rng_seed(const lam_model_ctx *ctx, lam_rng *rng, int64_t n,
                    uint64_t purpose);

/* Checkpoints.  A state buffer is a 1-D u8 buffer: a fixed header (magic
 * "lamstim", format version, model tag, channel count, payload size)
 * followed by the model's payload, written and read with memcpy so that
 * alignment does not matter.  stim__state_new makes the buffer and
 * returns a pointer to its payload; stim__state_open validates a buffer
 * for `tag`/`channels`/`payload` bytes (payload == 0: any size, returned
 * in *len) and returns the payload. */
enum {
  STIM_TAG_POISSON = 1,
  STIM_TAG_OU = 2,
  STIM_TAG_SINE = 3,
  STIM_TAG_PULSE = 4,
  STIM_TAG_PLAY = 5
};
unsigned char *stim__state_new(lam_model_ctx *ctx, uint32_t tag,
                               int64_t channels, size_t payload, lam_buf **out);
const unsigned char *stim__state_open(lam_model_ctx *ctx, uint32_t tag,
                                      int64_t channels, const lam_buf *in,
                                      size_t payload, size_t *len);

/* The models.  Each file provides its schemas, its documentation and its
 * lifecycle; stim.c assembles the lam_model_def array. */
#define STIM_DECLARE_MODEL(m)                                                  \
  extern const char stim__##m##_doc[];                                         \
  extern const lam_param_def stim__##m##_params[];                             \
  extern const lam_port_def stim__##m##_ports[];                               \
  int stim__##m##_create(lam_model_ctx *ctx, void **self);                     \
  int stim__##m##_reset(void *self, lam_model_ctx *ctx);                       \
  int stim__##m##_step(void *self, lam_model_ctx *ctx, int64_t n);             \
  void stim__##m##_destroy(void *self, lam_model_ctx *ctx);                    \
  int stim__##m##_save(void *self, lam_model_ctx *ctx, lam_buf **out);         \
  int stim__##m##_load(void *self, lam_model_ctx *ctx, const lam_buf *in)

STIM_DECLARE_MODEL(poisson);
STIM_DECLARE_MODEL(ou);
STIM_DECLARE_MODEL(sine);
STIM_DECLARE_MODEL(pulse);
STIM_DECLARE_MODEL(play);
extern const lam_method_def stim__play_methods[];

#endif /* STIM_INT_H */
