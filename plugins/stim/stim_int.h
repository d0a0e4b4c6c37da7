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

/* The `channels` parameter every model has at index 0 (doc varies). */
#define STIM_CHANNELS_PARAM(dc)                                                \
  {                                                                            \
    .name = "channels", .doc = dc, .units = "", .def = 1, .min = 1,            \
    .max = STIM_MAX_CHANNELS, .type = LAM_PARAM_I64                            \
  }

/* The fields every model's instance starts with. */
typedef struct {
  int64_t channels;
  int64_t steps; /* steps since create/reset (play: since the last load) */
  uint32_t tag;  /* STIM_TAG_*, for checkpoints */
} stim_head;

/* Allocates (zeroed) an instance of `size` bytes whose first member is a
 * stim_head, and fills the head; NULL (error set) on failure. */
void *stim__new(lam_model_ctx *ctx, uint32_t tag, int64_t channels,
                size_t size);

/* As stim__new, and also allocates n = channels per-channel streams into
 * *rng; on failure frees what it allocated and returns NULL. */
void *stim__new_streams(lam_model_ctx *ctx, uint32_t tag, int64_t channels,
                        size_t size, lam_rng **rng);

/* The create of a model whose only port is the f64 output "value" (port 0)
 * of `channels` (parameter 0) elements and whose state is the head. */
int stim__create_value(lam_model_ctx *ctx, uint32_t tag, size_t size,
                       void **self);

/* Ends a create: runs `reset` on p, destroying p if it fails, else stores p
 * in *self. */
int stim__create_finish(lam_model_ctx *ctx, void *p, void **self,
                        int (*reset)(void *, lam_model_ctx *),
                        void (*destroy)(void *, lam_model_ctx *));

/* The start of step() for models that output only the last of the n steps
 * into the f64 "value" port 0: checks the port and, for n > 0, advances
 * h->steps by n, sets *k to the index of the last step and returns the
 * port's data.  Otherwise returns NULL with *rc = LAM_EINVAL (bad port, error
 * set) or LAM_OK (n <= 0: nothing to do). */
double *stim__value_steps(lam_model_ctx *ctx, stim_head *h, int64_t n,
                          int64_t *k, int *rc);

/* Frees `owned`, then the instance (no-op when self is NULL). */
void stim__free_with(void *self, void *owned);

/* Lifecycle of models whose whole state is the head's step counter:
 * reset zeroes it, save/load checkpoint it, destroy frees the instance. */
int stim__steps_reset(void *self, lam_model_ctx *ctx);
void stim__free(void *self, lam_model_ctx *ctx);
int stim__steps_save(void *self, lam_model_ctx *ctx, lam_buf **out);
int stim__steps_load(void *self, lam_model_ctx *ctx, const lam_buf *in);

/* Checkpoints of the stochastic models: the payload is the step count,
 * the channels' streams, then `per_channel` bytes per channel of the
 * model's own.  _save makes the buffer, writes steps and streams and
 * returns where the model's part goes; _open validates a buffer and
 * returns its payload; _read restores steps and streams from an opened
 * payload and returns where the model's part starts. */
unsigned char *stim__streams_save(lam_model_ctx *ctx, const stim_head *h,
                                  const lam_rng *rng, size_t per_channel,
                                  lam_buf **out);
const unsigned char *stim__streams_open(lam_model_ctx *ctx, const stim_head *h,
                                        const lam_buf *in, size_t per_channel);
const unsigned char *stim__streams_read(stim_head *h, lam_rng *rng,
                                        const unsigned char *r);

/* Sequential memcpy helpers; each returns the advanced pointer. */
unsigned char *stim__put(unsigned char *w, const void *src, size_t n);
const unsigned char *stim__get(void *dst, const unsigned char *r, size_t n);

/* The models.  Each file provides its schemas, its documentation and its
 * lifecycle (what stim__steps_* does not cover); stim.c assembles the
 * lam_model_def array. */
#define STIM_DECLARE_MODEL(m)                                                  \
  extern const char stim__##m##_doc[];                                         \
  extern const lam_param_def stim__##m##_params[];                             \
  extern const lam_port_def stim__##m##_ports[];                               \
  int stim__##m##_create(lam_model_ctx *ctx, void **self);                     \
  int stim__##m##_step(void *self, lam_model_ctx *ctx, int64_t n)
#define STIM_DECLARE_LIFECYCLE(m)                                              \
  int stim__##m##_reset(void *self, lam_model_ctx *ctx);                       \
  void stim__##m##_destroy(void *self, lam_model_ctx *ctx);                    \
  int stim__##m##_save(void *self, lam_model_ctx *ctx, lam_buf **out);         \
  int stim__##m##_load(void *self, lam_model_ctx *ctx, const lam_buf *in)

STIM_DECLARE_MODEL(poisson);
STIM_DECLARE_LIFECYCLE(poisson);
STIM_DECLARE_MODEL(ou);
STIM_DECLARE_LIFECYCLE(ou);
STIM_DECLARE_MODEL(sine);
STIM_DECLARE_MODEL(pulse);
STIM_DECLARE_MODEL(play);
void stim__play_destroy(void *self, lam_model_ctx *ctx);
int stim__play_save(void *self, lam_model_ctx *ctx, lam_buf **out);
int stim__play_load(void *self, lam_model_ctx *ctx, const lam_buf *in);
extern const lam_method_def stim__play_methods[];

#endif /* STIM_INT_H */
