/*
 * kuramoto.c - the kuramoto plugin's entry point and descriptor, and the
 * helpers its models share (ports, allocation, method arguments,
 * checkpoint buffers).
 *
 * Models, one per file:
 *   kuramoto.phase  phase oscillators: mean field, dense or CSR coupling,
 *                   phase lag, delays, noise, inertia, higher order (phase.c)
 *   kuramoto.akorn  artificial Kuramoto oscillatory neurons, unit vectors on
 *                   S^(n-1) with tangent projection (akorn.c)
 * Natural-frequency generators are in omega.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kur_int.h"

const lam_host_api *kur__api;

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen);

double *kur__port(lam_model_ctx *ctx, int index, const char *name, int64_t n) {
  return lam_plugin_port(kur__api, ctx, index, name, LAM_F64, n);
}

void *kur__alloc(lam_model_ctx *ctx, int64_t n, size_t size) {
  return lam_plugin_alloc(kur__api, ctx, n, size);
}

int kur__nargs(lam_model_ctx *ctx, const char *method, int32_t n_in,
               int32_t lo, int32_t hi) {
  if (n_in < lo || n_in > hi) {
    if (lo == hi)
      kur__api->set_error(ctx->host, "%s: takes %d argument(s), got %d",
                          method, (int)lo, (int)n_in);
    else
      kur__api->set_error(ctx->host, "%s: takes %d to %d arguments, got %d",
                          method, (int)lo, (int)hi, (int)n_in);
    return LAM_EINVAL;
  }
  return LAM_OK;
}

int kur__arg(lam_model_ctx *ctx, const char *method, const char *arg,
             const lam_buf *in, int32_t ndim, int64_t rows, int64_t cols) {
  if (!in || (!in->data && in->size > 0)) {
    kur__api->set_error(ctx->host, "%s: argument '%s' is missing", method, arg);
    return LAM_EINVAL;
  }
  if (in->dtype < LAM_F32 || in->dtype > LAM_I64) {
    kur__api->set_error(ctx->host,
                        "%s: argument '%s' must be numeric (f32, f64, i32 or "
                        "i64), got dtype %d",
                        method, arg, (int)in->dtype);
    return LAM_EINVAL;
  }
  int good = in->ndim == ndim && in->shape[0] == rows &&
             (ndim == 1 || in->shape[1] == cols);
  if (!good) {
    char got[96];
    int k = snprintf(got, sizeof got, "[");
    for (int32_t d = 0; d < in->ndim && k < (int)sizeof got - 24; d++)
      k += snprintf(got + k, sizeof got - (size_t)k, "%s%lld", d ? ", " : "",
                    (long long)in->shape[d]);
    snprintf(got + k, sizeof got - (size_t)k, "]");
    if (ndim == 1)
      kur__api->set_error(ctx->host, "%s: argument '%s' must have shape [%lld], got %s",
                          method, arg, (long long)rows, got);
    else
      kur__api->set_error(ctx->host,
                          "%s: argument '%s' must be a square [%lld, %lld] matrix, got %s",
                          method, arg, (long long)rows, (long long)cols, got);
    return LAM_EINVAL;
  }
  return LAM_OK;
}

double kur__at(const lam_buf *b, int64_t flat) {
  int64_t off = 0;
  for (int32_t d = b->ndim - 1; d >= 0; d--) {
    int64_t e = b->shape[d] > 0 ? b->shape[d] : 1;
    off += (flat % e) * b->strides[d];
    flat /= e;
  }
  switch (b->dtype) {
  case LAM_F32: return ((const float *)b->data)[off];
  case LAM_F64: return ((const double *)b->data)[off];
  case LAM_I32: return ((const int32_t *)b->data)[off];
  case LAM_I64: return (double)((const int64_t *)b->data)[off];
  default: return NAN;
  }
}

double *kur__finite(lam_model_ctx *ctx, const char *method, const char *arg,
                    const lam_buf *b, int64_t count, int64_t cols) {
  double *out = kur__alloc(ctx, count, sizeof *out);
  for (int64_t e = 0; out && e < count; e++) {
    out[e] = kur__at(b, e);
    if (!isfinite(out[e])) {
      char at[64];
      if (cols > 0)
        snprintf(at, sizeof at, "[%lld, %lld]", (long long)(e / cols),
                 (long long)(e % cols));
      else
        snprintf(at, sizeof at, "[%lld]", (long long)e);
      kur__api->set_error(ctx->host, "%s: %s%s = %s; expected a finite number",
                          method, arg, at,
                          isnan(out[e]) ? "nan" : out[e] > 0 ? "inf" : "-inf");
      kur__api->free(out);
      return NULL;
    }
  }
  return out;
}

int kur__csr(lam_model_ctx *ctx, const char *method, lam_buf *const *in,
             int32_t n_in, int64_t rows, int64_t cols, kur_csr *out) {
  int rc = kur__nargs(ctx, method, n_in, 2, 3);
  if (rc || (rc = kur__arg(ctx, method, "indptr", in[0], 1, rows + 1, 0)))
    return rc;
  const double last = kur__at(in[0], rows);
  if (!(last >= 0 && last == floor(last) && last < 2147483647.0)) {
    kur__api->set_error(ctx->host, "%s: indptr[%lld] = %g; expected the "
                                   "number of entries",
                        method, (long long)rows, last);
    return LAM_EINVAL;
  }
  const int64_t nnz = (int64_t)last;
  if ((rc = kur__arg(ctx, method, "indices", in[1], 1, nnz, 0)) ||
      (n_in == 3 && (rc = kur__arg(ctx, method, "weights", in[2], 1, nnz, 0))))
    return rc;
  int64_t *rp = kur__alloc(ctx, rows + 1, sizeof *rp);
  int32_t *col = rp ? kur__alloc(ctx, nnz, sizeof *col) : NULL;
  double *w = !col ? NULL
              : n_in == 3 ? kur__finite(ctx, method, "weights", in[2], nnz, 0)
                          : kur__alloc(ctx, nnz, sizeof *w);
  rc = w ? LAM_OK : LAM_EINVAL;
  for (int64_t i = 0; rc == LAM_OK && i <= rows; i++) {
    double x = kur__at(in[0], i);
    rp[i] = (int64_t)x;
    if (x != floor(x) || x < 0 || x > (double)nnz ||
        (i > 0 && rp[i] < rp[i - 1]) || (i == 0 && x != 0)) {
      kur__api->set_error(ctx->host, "%s: indptr[%lld] = %g; expected "
                                     "integers from 0 rising to nnz = %lld",
                          method, (long long)i, x, (long long)nnz);
      rc = LAM_EINVAL;
    }
  }
  for (int64_t e = 0; rc == LAM_OK && e < nnz; e++) {
    double x = kur__at(in[1], e);
    col[e] = (int32_t)x;
    if (n_in == 2)
      w[e] = 1.0;
    if (x != floor(x) || x < 0 || x >= (double)cols) {
      kur__api->set_error(ctx->host, "%s: indices[%lld] = %g; expected an "
                                     "integer in [0, %lld)",
                          method, (long long)e, x, (long long)cols);
      rc = LAM_EINVAL;
    }
  }
  if (rc) {
    kur__api->free(rp);
    kur__api->free(col);
    kur__api->free(w);
    return rc;
  }
  *out = (kur_csr){.rowptr = rp, .col = col, .w = w, .nnz = nnz};
  return LAM_OK;
}

int kur__ret(lam_model_ctx *ctx, const double *x, int64_t n, lam_buf **out) {
  lam_buf *b = kur__api->buf_new(LAM_F64, 1, &n);
  if (!b) {
    kur__api->set_error(ctx->host, "out of memory");
    return LAM_ENOMEM;
  }
  if (n > 0)
    memcpy(b->data, x, (size_t)n * sizeof *x);
  *out = b;
  return LAM_OK;
}

/* ---------------------------------------------------------------- */
/* Checkpoints                                                        */
/* ---------------------------------------------------------------- */

typedef struct {
  char magic[8];    /* "lamkur\0\0" */
  uint32_t version; /* STATE_VERSION */
  uint32_t tag;     /* KUR_TAG_* */
  int64_t n;
  uint64_t payload; /* bytes after the header */
} state_header;

enum { STATE_VERSION = 1 };
static const char state_magic[8] = "lamkur";

unsigned char *kur__state_new(lam_model_ctx *ctx, uint32_t tag, int64_t n,
                              size_t payload, lam_buf **out) {
  state_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, state_magic, sizeof h.magic);
  h.version = STATE_VERSION;
  h.tag = tag;
  h.n = n;
  h.payload = payload;
  lam_buf *b = lam_plugin_state_new(kur__api, ctx, sizeof h + payload);
  if (!b)
    return NULL;
  memcpy(b->data, &h, sizeof h);
  *out = b;
  return (unsigned char *)b->data + sizeof h;
}

const unsigned char *kur__state_open(lam_model_ctx *ctx, uint32_t tag,
                                     int64_t n, const lam_buf *in,
                                     size_t payload) {
  state_header h;
  if (!in || !in->data || in->dtype != LAM_U8 || in->ndim != 1 ||
      !(in->flags & LAM_BUF_CONTIGUOUS) || (size_t)in->size < sizeof h) {
    kur__api->set_error(ctx->host, "a state must be a contiguous 1-d u8 "
                                   "buffer made by save_state");
    return NULL;
  }
  memcpy(&h, in->data, sizeof h);
  if (memcmp(h.magic, state_magic, sizeof h.magic) != 0 ||
      h.version != STATE_VERSION || h.tag != tag) {
    kur__api->set_error(ctx->host, "not a state saved by this kuramoto model");
    return NULL;
  }
  if (h.n != n || h.payload != payload ||
      (size_t)in->size != sizeof h + payload) {
    kur__api->set_error(ctx->host,
                        "state is for n = %lld with %llu bytes; this instance "
                        "has n = %lld and needs %zu bytes (same parameters, "
                        "delays and network?)",
                        (long long)h.n, (unsigned long long)h.payload,
                        (long long)n, payload);
    return NULL;
  }
  return (const unsigned char *)in->data + sizeof h;
}

unsigned char *kur__put(unsigned char *w, const void *src, size_t n) {
  if (n)
    memcpy(w, src, n);
  return w + n;
}

const unsigned char *kur__get(void *dst, const unsigned char *r, size_t n) {
  if (n)
    memcpy(dst, r, n);
  return r + n;
}

/* ---------------------------------------------------------------- */
/* Descriptor                                                         */
/* ---------------------------------------------------------------- */

#define KUR_MODEL(m, nm)                                                       \
  {                                                                            \
    .name = nm, .doc = kur__##m##_doc, .params = kur__##m##_params,            \
    .ports = kur__##m##_ports, .methods = kur__##m##_methods,                  \
    .create = kur__##m##_create, .reset = kur__##m##_reset,                    \
    .step = kur__##m##_step, .destroy = kur__##m##_destroy,                    \
    .save_state = kur__##m##_save, .load_state = kur__##m##_load,              \
    .flags = LAM_MODEL_STOCHASTIC                                              \
  }

static const lam_model_def models[] = {
    KUR_MODEL(phase, "kuramoto.phase"),
    KUR_MODEL(akorn, "kuramoto.akorn"),
    {.name = NULL}};

static const lam_plugin_desc desc = {
    LAM_DESC_SIZES,
    .name = "kuramoto",
    .version = "0.1.0",
    .authors = "lamina developers",
    .licence = "MIT",
    .citation =
        "Kuramoto Y (1984) Chemical Oscillations, Waves, and Turbulence. "
        "Springer. doi:10.1007/978-3-642-69689-3; Miyato T, Loewe S, Geiger "
        "A, Welling M (2025) Artificial Kuramoto Oscillatory Neurons. ICLR. "
        "arXiv:2410.13821",
    .doc =
        "Phase-oscillator networks (kuramoto.phase): all-to-all through the "
        "order parameter in O(N), dense or CSR weighted graphs (row = "
        "target), normalisation by N, in-degree, in-strength or none, phase "
        "lag (global or per edge), uniform or per-edge integer delays through "
        "a ring buffer, additive noise (Euler-Maruyama or stochastic Heun), "
        "inertia, pairwise + triadic mean-field coupling, periodic forcing and "
        "an additive input port, Lorentzian/Gaussian/uniform natural "
        "frequencies, Euler/Heun/RK4 with sub-steps.  Artificial Kuramoto "
        "oscillatory neurons (kuramoto.akorn): unit vectors on S^(n-1), "
        "tangent projection, rotation generator, conditional stimulus, dense "
        "or 2-d convolutional coupling, per-step energy and a norm readout.  "
        "Time is in ms, frequencies in rad/ms.  See docs/kuramoto.md.",
    .build = LAM_BUILD_INFO,
    .models = models,
};

LAM_PLUGIN_EXPORT const lam_plugin_desc *
lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen) {
  /* dgemv is the last api function the plugin uses. */
  const lam_host_api *api = lam_plugin_handshake(host, "kuramoto", LAM_API_NEEDED(rng_normal_each), err, errlen);
  if (!api) return NULL;
  kur__api = api;
  return &desc;
}
