/*
 * conn.c - connectivity for the spiking models: random wiring by geometric
 * skipping (with thinning for pair-dependent probabilities), fixed
 * in-degree, per-synapse integer delays, the by-target index, and the
 * small helpers the spiking models share.
 *
 * Geometric skipping: the gaps between successive accepted candidates of a
 * Bernoulli(p) sequence are i.i.d. Geometric(p), so instead of one coin
 * flip per pair we draw gap = floor(log(U) / log(1 - p)) and jump.  The
 * cost is O(expected synapses), not O(N^2) (Brian2 PR #600 made the same
 * change for the same reason).  Rows are generated twice from the same
 * stream (count, then fill) so that the CSR is allocated exactly once.
 */
#include <math.h>
#include <string.h>

#include "spk_int.h"

/* Next candidate after k (or -1) for p in (0, 1). */
static int64_t skip(lam_rng *r, int64_t k, double log1mp) {
  double u = resv__api->rng_uniform(r); /* in (0, 1): log(u) finite */
  double g = floor(log(u) / log1mp);
  if (g > 9e15)
    return INT64_MAX;
  return k + 1 + (int64_t)g;
}

/* One pass over source j's candidates; writes accepted targets into out
 * (when non-NULL) and returns their number. */
static int64_t row(lam_model_ctx *ctx, int64_t j, int64_t n_tgt, double pmax,
                   spk_prob_fn prob, const void *data, int autapses,
                   uint64_t base, int32_t *out) {
  lam_rng r;
  resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                      SPK_STREAM_CONN + base + (uint64_t)j);
  const double log1mp = pmax < 1.0 ? log1p(-pmax) : 0.0;
  int64_t cnt = 0;
  for (int64_t k = -1;;) {
    k = pmax < 1.0 ? skip(&r, k, log1mp) : k + 1;
    if (k >= n_tgt)
      break;
    if (!autapses && k == j)
      continue;
    if (prob && resv__api->rng_uniform(&r) * pmax >= prob(data, j, k))
      continue;
    if (out)
      out[cnt] = (int32_t)k;
    cnt++;
  }
  return cnt;
}

static int alloc_rows(lam_model_ctx *ctx, spk_csr *c, int64_t n_src,
                      int64_t n_tgt) {
  memset(c, 0, sizeof *c);
  c->n_src = n_src;
  c->n_tgt = n_tgt;
  c->start = resv__alloc(ctx, n_src + 1, sizeof *c->start);
  return c->start ? LAM_OK : LAM_ENOMEM;
}

static int alloc_syn(lam_model_ctx *ctx, spk_csr *c) {
  c->nsyn = c->start[c->n_src];
  c->tgt = resv__alloc(ctx, c->nsyn, sizeof *c->tgt);
  c->w = resv__alloc(ctx, c->nsyn, sizeof *c->w);
  return c->tgt && c->w ? LAM_OK : LAM_ENOMEM;
}

int spk__connect_prob(lam_model_ctx *ctx, spk_csr *c, int64_t n_src,
                      int64_t n_tgt, double p_max, spk_prob_fn prob,
                      const void *data, int autapses, uint64_t base) {
  if (!(p_max > 0.0 && p_max <= 1.0)) {
    resv__api->set_error(ctx->host,
                         "connection probability %g is outside (0, 1]", p_max);
    return LAM_EINVAL;
  }
  if (alloc_rows(ctx, c, n_src, n_tgt) != LAM_OK)
    return LAM_ENOMEM;
  for (int64_t j = 0; j < n_src; j++)
    c->start[j + 1] = c->start[j] + row(ctx, j, n_tgt, p_max, prob, data,
                                        autapses, base, NULL);
  if (alloc_syn(ctx, c) != LAM_OK)
    return LAM_ENOMEM;
  for (int64_t j = 0; j < n_src; j++)
    row(ctx, j, n_tgt, p_max, prob, data, autapses, base, c->tgt + c->start[j]);
  return LAM_OK;
}

int spk__connect_indegree(lam_model_ctx *ctx, spk_csr *c, int64_t n_src,
                          int64_t n_tgt, int64_t k, int autapses,
                          uint64_t base) {
  int64_t eligible = autapses || n_src != n_tgt ? n_src : n_src - 1;
  if (k < 1 || k > eligible) {
    resv__api->set_error(ctx->host,
                         "in-degree %lld is outside [1, %lld] (the number of "
                         "eligible sources)",
                         (long long)k, (long long)eligible);
    return LAM_EINVAL;
  }
  if (alloc_rows(ctx, c, n_src, n_tgt) != LAM_OK)
    return LAM_ENOMEM;
  /* Sources per target, drawn by rejection against a stamp array (distinct
   * sources; O(k) expected while k <= n_src / 2), then a counting sort by
   * source turns the by-target lists into CSR rows. */
  int32_t *src = resv__alloc(ctx, n_tgt * k, sizeof *src);
  int64_t *stamp = resv__alloc(ctx, n_src, sizeof *stamp);
  if (!src || !stamp) {
    resv__api->free(src);
    resv__api->free(stamp);
    return LAM_ENOMEM;
  }
  for (int64_t i = 0; i < n_tgt; i++) {
    lam_rng r;
    resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                        SPK_STREAM_CONN + base + (uint64_t)i);
    for (int64_t m = 0; m < k;) {
      int64_t j = (int64_t)(resv__api->rng_uniform(&r) * (double)n_src);
      if (j >= n_src)
        j = n_src - 1;
      if ((!autapses && j == i) || stamp[j] == i + 1)
        continue;
      stamp[j] = i + 1;
      src[i * k + m++] = (int32_t)j;
      c->start[j + 1]++;
    }
  }
  for (int64_t j = 0; j < n_src; j++)
    c->start[j + 1] += c->start[j];
  int rc = alloc_syn(ctx, c);
  if (rc == LAM_OK) {
    /* Targets ascending within a row: walk targets in order. */
    memset(stamp, 0, (size_t)n_src * sizeof *stamp);
    for (int64_t i = 0; i < n_tgt; i++)
      for (int64_t m = 0; m < k; m++) {
        int32_t j = src[i * k + m];
        c->tgt[c->start[j] + stamp[j]++] = (int32_t)i;
      }
  }
  resv__api->free(src);
  resv__api->free(stamp);
  return rc;
}

int spk__set_delays(lam_model_ctx *ctx, spk_csr *c, int64_t dmin,
                    int64_t dmax, uint64_t base) {
  if (dmin < 0 || dmax < dmin || dmax > 65535) {
    resv__api->set_error(ctx->host,
                         "delays [%lld, %lld] steps: need 0 <= min <= max <= "
                         "65535",
                         (long long)dmin, (long long)dmax);
    return LAM_EINVAL;
  }
  c->max_delay = (int32_t)dmax;
  c->delay0 = (int32_t)dmin;
  if (dmin == dmax)
    return LAM_OK;
  c->delay = resv__alloc(ctx, c->nsyn, sizeof *c->delay);
  if (!c->delay)
    return LAM_ENOMEM;
  const double span = (double)(dmax - dmin + 1);
  for (int64_t j = 0; j < c->n_src; j++) {
    lam_rng r;
    resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                        SPK_STREAM_DELAY + base + (uint64_t)j);
    for (int64_t s = c->start[j]; s < c->start[j + 1]; s++) {
      int64_t d = dmin + (int64_t)(resv__api->rng_uniform(&r) * span);
      c->delay[s] = (uint16_t)(d > dmax ? dmax : d);
    }
  }
  return LAM_OK;
}

int spk__index_by_target(lam_model_ctx *ctx, spk_csr *c) {
  c->in_start = resv__alloc(ctx, c->n_tgt + 1, sizeof *c->in_start);
  c->in_syn = resv__alloc(ctx, c->nsyn, sizeof *c->in_syn);
  c->in_src = resv__alloc(ctx, c->nsyn, sizeof *c->in_src);
  int64_t *fill = resv__alloc(ctx, c->n_tgt, sizeof *fill);
  if (!c->in_start || !c->in_syn || !c->in_src || !fill) {
    resv__api->free(fill);
    return LAM_ENOMEM;
  }
  for (int64_t s = 0; s < c->nsyn; s++)
    c->in_start[c->tgt[s] + 1]++;
  for (int64_t i = 0; i < c->n_tgt; i++)
    c->in_start[i + 1] += c->in_start[i];
  for (int64_t j = 0; j < c->n_src; j++)
    for (int64_t s = c->start[j]; s < c->start[j + 1]; s++) {
      int32_t i = c->tgt[s];
      int64_t k = c->in_start[i] + fill[i]++;
      c->in_syn[k] = s;
      c->in_src[k] = (int32_t)j;
    }
  resv__api->free(fill);
  return LAM_OK;
}

void spk__csr_free(spk_csr *c) {
  if (!c)
    return;
  resv__api->free(c->start);
  resv__api->free(c->tgt);
  resv__api->free(c->w);
  resv__api->free(c->delay);
  resv__api->free(c->in_start);
  resv__api->free(c->in_syn);
  resv__api->free(c->in_src);
  memset(c, 0, sizeof *c);
}

static lam_buf *new_buf(lam_model_ctx *ctx, int32_t dtype, int32_t ndim,
                        const int64_t *shape) {
  lam_buf *b = resv__api->buf_new(dtype, ndim, shape);
  if (!b || !b->data) {
    if (b)
      resv__api->buf_free(b);
    resv__api->set_error(ctx->host, "out of memory for a result buffer");
    return NULL;
  }
  return b;
}

int spk__csr_connections(lam_model_ctx *ctx, const spk_csr *c, lam_buf **out) {
  int64_t shape[2] = {c->nsyn, 3};
  lam_buf *b = new_buf(ctx, LAM_I64, 2, shape);
  if (!b)
    return LAM_ENOMEM;
  int64_t *o = b->data;
  for (int64_t j = 0; j < c->n_src; j++)
    for (int64_t s = c->start[j]; s < c->start[j + 1]; s++) {
      o[3 * s] = j;
      o[3 * s + 1] = c->tgt[s];
      o[3 * s + 2] = c->delay ? c->delay[s] : c->delay0;
    }
  *out = b;
  return LAM_OK;
}

int spk__array_out(lam_model_ctx *ctx, const double *x, int32_t ndim,
                   const int64_t *shape, lam_buf **out) {
  lam_buf *b = new_buf(ctx, LAM_F64, ndim, shape);
  if (!b)
    return LAM_ENOMEM;
  if (b->size > 0)
    memcpy(b->data, x, (size_t)b->size * sizeof *x);
  *out = b;
  return LAM_OK;
}

int spk__vector_out(lam_model_ctx *ctx, const double *x, int64_t n,
                    lam_buf **out) {
  return spk__array_out(ctx, x, 1, &n, out);
}

int spk__csr_weights(lam_model_ctx *ctx, const spk_csr *c, lam_buf **out) {
  return spk__vector_out(ctx, c->w, c->nsyn, out);
}

int64_t spk__spike_list(const uint8_t *s, int64_t n, int32_t *idx) {
  int64_t m = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    memcpy(&word, s + i, sizeof word);
    if (!word)
      continue;
    for (int64_t k = i; k < i + 8; k++)
      if (s[k])
        idx[m++] = (int32_t)k;
  }
  for (; i < n; i++)
    if (s[i])
      idx[m++] = (int32_t)i;
  return m;
}

int64_t spk__steps(lam_model_ctx *ctx, double ms, const char *what) {
  double k = ms / ctx->dt, r = floor(k + 0.5);
  if (!(fabs(k - r) <= 1e-6 * (r > 1 ? r : 1)) || r < 0 || r > 1e15) {
    resv__api->set_error(ctx->host,
                         "%s = %g ms is not a whole number of steps of dt = "
                         "%g ms",
                         what, ms, ctx->dt);
    return -1;
  }
  return (int64_t)r;
}

int spk__no_args(lam_model_ctx *ctx, int32_t n_in) {
  if (n_in != 0)
    resv__api->set_error(ctx->host, "takes no arguments (got %d)", (int)n_in);
  return n_in != 0;
}
