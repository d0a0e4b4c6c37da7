/*
 * spk_state.c - checkpoints of the spiking models (reservoir.lif,
 * reservoir.izhikevich, reservoir.nalsm): one contiguous u8 buffer made of
 * a model-specific header (starting with an 8-byte tag) followed by a
 * fixed list of memory chunks (ports, internal arrays, counters, random
 * streams, the wiring).  Each model describes its state once, as a chunk
 * list, and save and load walk the same list, so the two cannot drift
 * apart.  The host wraps the buffer in its checkpoint envelope (plugin,
 * version, ABI); what is here is only the model's part.
 *
 * The wiring is part of the state: a state restores the network it was
 * saved from whatever seed the loading instance was created with, so the
 * number of synapses may differ and the synapse arrays are reallocated
 * (spk__state_csr) before the chunks are read.
 */
#include <string.h>

#include "spk_int.h"

static size_t chunk_bytes(const spk_chunk *c, size_t k) {
  size_t total = 0;
  for (size_t i = 0; i < k; i++)
    total += c[i].bytes;
  return total;
}

int spk__state_save(lam_model_ctx *ctx, const char *magic, const void *head,
                    size_t head_size, const spk_chunk *c, size_t k,
                    lam_buf **out) {
  if (k == 0) /* the chunk list could not be made; the error is set */
    return LAM_EINVAL;
  lam_buf *b = lam_plugin_state_new(resv__api, ctx,
                                    head_size + chunk_bytes(c, k));
  if (!b)
    return LAM_ENOMEM;
  unsigned char *w = b->data;
  memcpy(w, head, head_size);
  memcpy(w, magic, SPK_MAGIC);
  w += head_size;
  for (size_t i = 0; i < k; i++) {
    if (c[i].bytes)
      memcpy(w, c[i].p, c[i].bytes);
    w += c[i].bytes;
  }
  *out = b;
  return LAM_OK;
}

int spk__state_head(lam_model_ctx *ctx, const lam_buf *in, void *head,
                    size_t head_size, const char *magic, const char *model) {
  if (!in || !in->data || in->dtype != LAM_U8 || in->ndim != 1 ||
      (in->size > 1 && in->strides[0] != 1) ||
      (size_t)in->size < head_size ||
      memcmp(in->data, magic, SPK_MAGIC) != 0) {
    resv__api->set_error(ctx->host, "%s: not a state of this model (a "
                         "contiguous 1-d u8 buffer made by its save_state "
                         "expected)", model);
    return LAM_EINVAL;
  }
  memcpy(head, in->data, head_size);
  return LAM_OK;
}

int spk__state_size(lam_model_ctx *ctx, const lam_buf *in, size_t head_size,
                    const spk_chunk *c, size_t k, int64_t delta,
                    const char *model) {
  const int64_t want = (int64_t)(head_size + chunk_bytes(c, k)) + delta;
  if (k == 0 || in->size != want) {
    if (k)
      resv__api->set_error(ctx->host, "%s: the state has %lld bytes, %lld "
                           "expected from its header", model,
                           (long long)in->size, (long long)want);
    return LAM_EINVAL;
  }
  return LAM_OK;
}

int spk__state_read(lam_model_ctx *ctx, const lam_buf *in, size_t head_size,
                    const spk_chunk *c, size_t k, const char *model) {
  if (spk__state_size(ctx, in, head_size, c, k, 0, model) != LAM_OK)
    return LAM_EINVAL;
  const unsigned char *r = (const unsigned char *)in->data + head_size;
  for (size_t i = 0; i < k; i++) {
    if (c[i].bytes)
      memcpy(c[i].p, r, c[i].bytes);
    r += c[i].bytes;
  }
  return LAM_OK;
}

int spk__state_csr(lam_model_ctx *ctx, spk_csr *c, int64_t nsyn,
                   int has_delay) {
  if (nsyn < 0 || nsyn > INT32_MAX) {
    resv__api->set_error(ctx->host, "a state with %lld synapses: not a "
                         "state of this model", (long long)nsyn);
    return LAM_EINVAL;
  }
  if (nsyn == c->nsyn && has_delay == (c->delay != NULL))
    return LAM_OK;
  /* New arrays first, so that a failure leaves the instance as it was. */
  int32_t *tgt = resv__alloc(ctx, nsyn, sizeof *tgt);
  double *w = resv__alloc(ctx, nsyn, sizeof *w);
  uint16_t *d = has_delay ? resv__alloc(ctx, nsyn, sizeof *d) : NULL;
  if (!tgt || !w || (has_delay && !d)) {
    resv__api->free(tgt);
    resv__api->free(w);
    resv__api->free(d);
    return LAM_ENOMEM;
  }
  resv__api->free(c->tgt);
  resv__api->free(c->w);
  resv__api->free(c->delay);
  c->tgt = tgt;
  c->w = w;
  c->delay = d;
  c->nsyn = nsyn;
  return LAM_OK;
}

int spk__state_csr_check(lam_model_ctx *ctx, spk_csr *c, int32_t nslot,
                         const char *model) {
  int bad = c->start[0] != 0 || c->start[c->n_src] != c->nsyn;
  for (int64_t j = 0; j < c->n_src && !bad; j++)
    bad = c->start[j + 1] < c->start[j];
  for (int64_t s = 0; s < c->nsyn && !bad; s++)
    bad = c->tgt[s] < 0 || c->tgt[s] >= c->n_tgt ||
          (c->delay && c->delay[s] >= nslot);
  if (bad || c->delay0 < 0 || c->delay0 >= nslot) {
    /* No synapses rather than wild indices, should the instance step. */
    memset(c->start, 0, (size_t)(c->n_src + 1) * sizeof *c->start);
    resv__api->set_error(ctx->host, "%s: the state's wiring is corrupt "
                         "(rows, targets or delays out of range)", model);
    return LAM_EINVAL;
  }
  if (!c->in_start)
    return LAM_OK;
  /* The by-target index follows the restored wiring. */
  resv__api->free(c->in_start);
  resv__api->free(c->in_syn);
  resv__api->free(c->in_src);
  c->in_start = NULL;
  c->in_syn = NULL;
  c->in_src = NULL;
  return spk__index_by_target(ctx, c);
}
