/*
 * stim.c - the stim plugin's entry point and descriptor, and the helpers
 * its models share (port access, allocation, per-channel RNG streams,
 * checkpoint buffers).
 *
 * stim provides stimulus sources: Poisson spike trains, Ornstein-Uhlenbeck
 * noise, sinusoids, pulse and step trains, and playback of a recorded or
 * computed buffer.  The models live one per file (poisson.c, ou.c, sine.c,
 * pulse.c, play.c).
 */
#include <stdio.h>
#include <string.h>

#include "stim_int.h"

const lam_host_api *stim__api;

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen);

/* ---------------------------------------------------------------- */
/* Shared helpers                                                     */
/* ---------------------------------------------------------------- */

int64_t stim__channels(const lam_model_ctx *ctx, int index) {
  return (int64_t)ctx->params[index];
}

void *stim__port(lam_model_ctx *ctx, int index, const char *port, int32_t dtype,
                 int64_t n) {
  return lam_plugin_port(stim__api, ctx, index, port, dtype, n);
}

void *stim__alloc(lam_model_ctx *ctx, int64_t n, size_t size) {
  return lam_plugin_alloc(stim__api, ctx, n, size);
}

void stim__rng_seed(const lam_model_ctx *ctx, lam_rng *rng, int64_t n,
                    uint64_t purpose) {
  for (int64_t c = 0; c < n; c++)
    stim__api->rng_init(&rng[c], ctx->seed, ctx->instance, purpose,
                        (uint64_t)c);
}

/* The checkpoint header.  Fixed-width fields only; written with memcpy. */
typedef struct {
  char magic[8];    /* "lamstim\0" */
  uint32_t version; /* STATE_VERSION */
  uint32_t tag;     /* STIM_TAG_* */
  int64_t channels;
  uint64_t payload; /* bytes after the header */
} state_header;

enum { STATE_VERSION = 1 };
static const char state_magic[8] = "lamstim";

static const char *tag_name(uint32_t tag) {
  static const char *const names[] = {"?",         "stim.poisson", "stim.ou",
                                      "stim.sine", "stim.pulse",   "stim.play"};
  return tag < sizeof names / sizeof *names ? names[tag] : "?";
}

unsigned char *stim__state_new(lam_model_ctx *ctx, uint32_t tag,
                               int64_t channels, size_t payload,
                               lam_buf **out) {
  state_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, state_magic, sizeof h.magic);
  h.version = STATE_VERSION;
  h.tag = tag;
  h.channels = channels;
  h.payload = payload;
  if (payload > SIZE_MAX - sizeof h) {
    stim__api->set_error(ctx->host, "state too large");
    return NULL;
  }
  lam_buf *b = lam_plugin_state_new(stim__api, ctx, sizeof h + payload);
  if (!b)
    return NULL;
  memcpy(b->data, &h, sizeof h);
  *out = b;
  return (unsigned char *)b->data + sizeof h;
}

const unsigned char *stim__state_open(lam_model_ctx *ctx, uint32_t tag,
                                      int64_t channels, const lam_buf *in,
                                      size_t payload, size_t *len) {
  state_header h;
  if (!in || !in->data || in->dtype != LAM_U8 || in->ndim != 1 ||
      (in->size > 1 && in->strides[0] != 1)) {
    stim__api->set_error(ctx->host,
                         "a state must be a contiguous 1-d u8 buffer made "
                         "by save_state");
    return NULL;
  }
  if ((size_t)in->size < sizeof h) {
    stim__api->set_error(ctx->host, "state too short (%lld bytes)",
                         (long long)in->size);
    return NULL;
  }
  memcpy(&h, in->data, sizeof h);
  if (memcmp(h.magic, state_magic, sizeof h.magic) != 0 ||
      h.version != STATE_VERSION) {
    stim__api->set_error(ctx->host,
                         "not a stim state buffer (or an unknown format "
                         "version)");
    return NULL;
  }
  if (h.tag != tag) {
    stim__api->set_error(ctx->host,
                         "state was saved by a different stim model "
                         "(%s, this is %s)",
                         tag_name(h.tag), tag_name(tag));
    return NULL;
  }
  if (h.channels != channels) {
    stim__api->set_error(ctx->host,
                         "state has %lld channels, this instance has %lld",
                         (long long)h.channels, (long long)channels);
    return NULL;
  }
  if (h.payload != (uint64_t)in->size - sizeof h ||
      (payload && h.payload != payload)) {
    stim__api->set_error(ctx->host, "state payload is %llu bytes, expected %zu",
                         (unsigned long long)((uint64_t)in->size - sizeof h),
                         payload);
    return NULL;
  }
  if (len)
    *len = (size_t)h.payload;
  return (const unsigned char *)in->data + sizeof h;
}

/* Instances and their lifecycle. */

void *stim__new(lam_model_ctx *ctx, uint32_t tag, int64_t channels,
                size_t size) {
  stim_head *h = stim__alloc(ctx, 1, size);
  if (h) {
    h->channels = channels;
    h->tag = tag;
  }
  return h;
}

void *stim__new_streams(lam_model_ctx *ctx, uint32_t tag, int64_t channels,
                        size_t size, lam_rng **rng) {
  void *p = stim__new(ctx, tag, channels, size);
  if (!p)
    return NULL;
  *rng = stim__alloc(ctx, channels, sizeof **rng);
  if (!*rng) {
    stim__api->free(p);
    return NULL;
  }
  return p;
}

int stim__create_value(lam_model_ctx *ctx, uint32_t tag, size_t size,
                       void **self) {
  int64_t n = stim__channels(ctx, 0);
  if (!stim__port(ctx, 0, "value", LAM_F64, n))
    return LAM_EINVAL;
  void *p = stim__new(ctx, tag, n, size);
  if (!p)
    return LAM_ENOMEM;
  *self = p;
  return LAM_OK;
}

int stim__create_finish(lam_model_ctx *ctx, void *p, void **self,
                        int (*reset)(void *, lam_model_ctx *),
                        void (*destroy)(void *, lam_model_ctx *)) {
  int rc = reset(p, ctx);
  if (rc != LAM_OK) {
    destroy(p, ctx);
    return rc;
  }
  *self = p;
  return LAM_OK;
}

double *stim__value_steps(lam_model_ctx *ctx, stim_head *h, int64_t n,
                          int64_t *k, int *rc) {
  double *v = stim__port(ctx, 0, "value", LAM_F64, h->channels);
  *rc = v ? LAM_OK : LAM_EINVAL;
  if (!v || n <= 0)
    return NULL;
  *k = h->steps + n - 1;
  h->steps += n;
  return v;
}

void stim__free_with(void *self, void *owned) {
  if (!self)
    return;
  stim__api->free(owned);
  stim__api->free(self);
}

int stim__steps_reset(void *self, lam_model_ctx *ctx) {
  stim_head *h = self;
  h->steps = 0;
  return LAM_OK;
}

void stim__free(void *self, lam_model_ctx *ctx) { stim__api->free(self); }

int stim__steps_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  stim_head *h = self;
  unsigned char *w =
      stim__state_new(ctx, h->tag, h->channels, sizeof h->steps, out);
  if (!w)
    return LAM_ENOMEM;
  memcpy(w, &h->steps, sizeof h->steps);
  return LAM_OK;
}

int stim__steps_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  stim_head *h = self;
  const unsigned char *r =
      stim__state_open(ctx, h->tag, h->channels, in, sizeof h->steps, NULL);
  if (!r)
    return LAM_EINVAL;
  memcpy(&h->steps, r, sizeof h->steps);
  return LAM_OK;
}

unsigned char *stim__put(unsigned char *w, const void *src, size_t n) {
  memcpy(w, src, n);
  return w + n;
}

const unsigned char *stim__get(void *dst, const unsigned char *r, size_t n) {
  memcpy(dst, r, n);
  return r + n;
}

static size_t streams_payload(const stim_head *h, size_t per_channel) {
  return sizeof(int64_t) +
         (size_t)h->channels * (sizeof(lam_rng) + per_channel);
}

unsigned char *stim__streams_save(lam_model_ctx *ctx, const stim_head *h,
                                  const lam_rng *rng, size_t per_channel,
                                  lam_buf **out) {
  unsigned char *w = stim__state_new(ctx, h->tag, h->channels,
                                     streams_payload(h, per_channel), out);
  if (!w)
    return NULL;
  w = stim__put(w, &h->steps, sizeof h->steps);
  return stim__put(w, rng, (size_t)h->channels * sizeof *rng);
}

const unsigned char *stim__streams_open(lam_model_ctx *ctx, const stim_head *h,
                                        const lam_buf *in, size_t per_channel) {
  return stim__state_open(ctx, h->tag, h->channels, in,
                          streams_payload(h, per_channel), NULL);
}

const unsigned char *stim__streams_read(stim_head *h, lam_rng *rng,
                                        const unsigned char *r) {
  r = stim__get(&h->steps, r, sizeof h->steps);
  return stim__get(rng, r, (size_t)h->channels * sizeof *rng);
}

/* ---------------------------------------------------------------- */
/* Descriptor                                                         */
/* ---------------------------------------------------------------- */

#define STIM_MODEL(m, nm, meth, fl, ...)                                       \
  STIM_MODEL_(m, nm, meth, fl, __VA_ARGS__)
#define STIM_MODEL_(m, nm, meth, fl, reset_, destroy_, save_, load_)           \
  {                                                                            \
    .name = nm, .doc = stim__##m##_doc, .params = stim__##m##_params,          \
    .ports = stim__##m##_ports, .methods = meth, .create = stim__##m##_create, \
    .reset = reset_, .step = stim__##m##_step, .destroy = destroy_,            \
    .save_state = save_, .load_state = load_, .flags = fl                      \
  }
/* A model with its own lifecycle, and one whose state is the step count. */
#define STIM_OWN(m)                                                            \
  stim__##m##_reset, stim__##m##_destroy, stim__##m##_save, stim__##m##_load
#define STIM_STEPS                                                             \
  stim__steps_reset, stim__free, stim__steps_save, stim__steps_load

static const lam_model_def models[] = {
    STIM_MODEL(poisson, "stim.poisson", NULL, LAM_MODEL_STOCHASTIC,
               STIM_OWN(poisson)),
    STIM_MODEL(ou, "stim.ou", NULL, LAM_MODEL_STOCHASTIC, STIM_OWN(ou)),
    STIM_MODEL(sine, "stim.sine", NULL, 0, STIM_STEPS),
    STIM_MODEL(pulse, "stim.pulse", NULL, 0, STIM_STEPS),
    STIM_MODEL(play, "stim.play", stim__play_methods, 0, stim__steps_reset,
               stim__play_destroy, stim__play_save, stim__play_load),
    {.name = NULL}};

static const lam_plugin_desc desc = {
    LAM_DESC_SIZES,
    .name = "stim",
    .version = "0.1.0",
    .authors = "lamina developers",
    .licence = "MIT",
    .citation =
        "Gillespie DT (1996) Exact numerical simulation of the "
        "Ornstein-Uhlenbeck process and its integral. Phys Rev E 54:2084. "
        "doi:10.1103/PhysRevE.54.2084",
    .doc =
        "Stimulus sources: Poisson spike trains with per-channel, "
        "time-varying rates (stim.poisson), Ornstein-Uhlenbeck noise advanced "
        "with the exact discrete update (stim.ou), sinusoids (stim.sine), "
        "step and pulse trains on exact ticks (stim.pulse) and playback of a "
        "buffer (stim.play).  Every model has a `channels` parameter; random "
        "models draw from one stream per channel keyed by the channel index, "
        "so a channel's values do not depend on how many channels there are. "
        "Times are in ms, rates and frequencies in Hz.",
    .build = LAM_BUILD_INFO,
    .models = models,
};

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen) {
  /* buf_free is the last api function the plugin uses. */
  const lam_host_api *api = lam_plugin_handshake(host, "stim", LAM_API_NEEDED(rng_normal_each), err, errlen);
  if (!api) return NULL;
  stim__api = api;
  return &desc;
}
