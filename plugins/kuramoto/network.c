/*
 * network.c - the methods of kuramoto.phase that bring large inputs in
 * from buffers: natural frequencies, dense weights, CSR graphs, per-edge
 * delays and per-edge lags.  Scripts call them between runs:
 *
 *   osc:call("set_weights", W)                -- [n, n], row = target
 *   osc:call("set_csr", indptr, indices, w)   -- CSR, row = target
 *   osc:call("set_delays", D)                 -- [n, n] or [nnz], steps
 *
 * Every argument may have any numeric dtype and strides.  Bad input is
 * refused with the method, argument and index named; nothing is clamped.
 * Methods may allocate (step never does).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "phase_int.h"

#define ERR(...) (kur__api->set_error(ctx->host, __VA_ARGS__), LAM_EINVAL)

/* Entries of a per-edge argument: n*n for dense, nnz for CSR. */
static int64_t edges(const kphase *p) {
  return p->rowptr ? p->nnz : p->n * p->n;
}

/* Names element e of a per-edge array as [i, j] (dense) or [e]. */
static void where(const kphase *p, int64_t e, char *buf, size_t len) {
  if (p->rowptr)
    snprintf(buf, len, "[%lld]", (long long)e);
  else
    snprintf(buf, len, "[%lld, %lld]", (long long)(e / p->n),
             (long long)(e % p->n));
}

/* Checks a per-edge argument's shape: [n, n] dense, [nnz] sparse. */
static int edge_arg(kphase *p, lam_model_ctx *ctx, const char *method,
                    const char *arg, const lam_buf *b) {
  if (p->cpl == CPL_MEAN)
    return ERR("%s: needs coupling = dense or sparse (the mean field has no "
               "edges; use the parameters alpha and delay)",
               method);
  if (p->cpl == CPL_SPARSE && !p->rowptr)
    return ERR("%s: set the graph with set_csr first", method);
  return p->rowptr ? kur__arg(ctx, method, arg, b, 1, p->nnz, 0)
                   : kur__arg(ctx, method, arg, b, 2, p->n, p->n);
}

/* A finite per-edge (or per-oscillator) array, allocated. */
static double *read_finite(kphase *p, lam_model_ctx *ctx, const char *method,
                           const char *arg, const lam_buf *b, int64_t count) {
  return kur__finite(ctx, method, arg, b, count,
                     count == p->n * p->n && !p->rowptr ? p->n : 0);
}

static int set_omega(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                     int32_t n_in, lam_buf **out) {
  kphase *p = self;
  int rc = kur__nargs(ctx, "set_omega", n_in, 1, 1);
  if (rc == LAM_OK)
    rc = kur__arg(ctx, "set_omega", "omega", in[0], 1, p->n, 0);
  double *w = rc == LAM_OK ? read_finite(p, ctx, "set_omega", "omega", in[0], p->n)
                           : NULL;
  if (!w)
    return rc ? rc : LAM_EINVAL;
  memcpy(p->omega, w, (size_t)p->n * sizeof *w);
  kur__api->free(w);
  p->omega_user = 1;
  return LAM_OK;
}

static int get_omega(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                     int32_t n_in, lam_buf **out) {
  kphase *p = self;
  int rc = kur__nargs(ctx, "omega", n_in, 0, 0);
  return rc ? rc : kur__ret(ctx, p->omega, p->n, out);
}

static int set_weights(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                       int32_t n_in, lam_buf **out) {
  kphase *p = self;
  int rc = kur__nargs(ctx, "set_weights", n_in, 1, 1);
  if (rc)
    return rc;
  if (p->cpl != CPL_DENSE)
    return ERR("set_weights: needs coupling = dense (use set_csr for sparse)");
  rc = kur__arg(ctx, "set_weights", "weights", in[0], 2, p->n, p->n);
  double *w = rc == LAM_OK
                  ? read_finite(p, ctx, "set_weights", "weights", in[0], p->n * p->n)
                  : NULL;
  if (!w)
    return rc ? rc : LAM_EINVAL;
  double *old = p->w;
  p->w = w;
  rc = kur__phase_scale(p, ctx);
  if (rc) {
    p->w = old;
    kur__api->free(w);
    kur__phase_scale(p, ctx);
    return rc;
  }
  kur__api->free(old);
  return kur__phase_layout(p, ctx); /* the source-major weights */
}

static void drop_edges(kphase *p) {
  kur__api->free(p->lc);
  kur__api->free(p->ls);
  kur__api->free(p->edelay);
  p->lc = p->ls = NULL;
  p->edelay = NULL;
}

static int set_csr(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                   int32_t n_in, lam_buf **out) {
  kphase *p = self;
  if (p->cpl != CPL_SPARSE)
    return ERR("set_csr: needs coupling = sparse (use set_weights for dense)");
  kur_csr m;
  int rc = kur__csr(ctx, "set_csr", in, n_in, p->n, p->n, &m);
  if (rc)
    return rc;
  kur_csr old = {p->rowptr, p->col, p->w, p->nnz};
  p->rowptr = m.rowptr, p->col = m.col, p->w = m.w, p->nnz = m.nnz;
  kur_csr *drop = &old;
  if ((rc = kur__phase_scale(p, ctx))) { /* keep the old graph */
    p->rowptr = old.rowptr, p->col = old.col, p->w = old.w, p->nnz = old.nnz;
    kur__phase_scale(p, ctx);
    drop = &m;
  }
  kur__api->free(drop->rowptr);
  kur__api->free(drop->col);
  kur__api->free(drop->w);
  if (rc)
    return rc;
  /* Per-edge delays and lags belonged to the old edge list. */
  if (p->edelay)
    kur__phase_ring(p, ctx, (int64_t)ctx->params[P_DELAY]);
  drop_edges(p);
  return kur__phase_layout(p, ctx); /* unweighted? */
}

static int set_delays(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                      int32_t n_in, lam_buf **out) {
  kphase *p = self;
  int rc = kur__nargs(ctx, "set_delays", n_in, 1, 1);
  if (rc || (rc = edge_arg(p, ctx, "set_delays", "delays", in[0])))
    return rc;
  const int64_t m = edges(p);
  int32_t *d = kur__alloc(ctx, m, sizeof *d);
  if (!d)
    return LAM_ENOMEM;
  int64_t maxd = 0;
  for (int64_t e = 0; e < m; e++) {
    double x = kur__at(in[0], e);
    if (!(x >= 0) || x != floor(x) || x > KUR_MAX_DELAY) {
      char at[64];
      where(p, e, at, sizeof at);
      kur__api->free(d);
      return ERR("set_delays: delays%s = %g; expected an integer number of "
                 "steps in [0, %d]%s",
                 at, x, KUR_MAX_DELAY, x < 0 ? " (a delay cannot be negative)" : "");
    }
    d[e] = (int32_t)x;
    if (d[e] > maxd)
      maxd = d[e];
  }
  if ((rc = kur__phase_ring(p, ctx, maxd))) {
    kur__api->free(d);
    return rc;
  }
  kur__api->free(p->edelay);
  p->edelay = d;
  return kur__phase_layout(p, ctx);
}

static int set_lags(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                    int32_t n_in, lam_buf **out) {
  kphase *p = self;
  int rc = kur__nargs(ctx, "set_lags", n_in, 1, 1);
  if (rc || (rc = edge_arg(p, ctx, "set_lags", "lags", in[0])))
    return rc;
  const int64_t m = edges(p);
  double *a = read_finite(p, ctx, "set_lags", "lags", in[0], m);
  double *s = a ? kur__alloc(ctx, m, sizeof *s) : NULL;
  if (!s) {
    kur__api->free(a);
    return a ? LAM_ENOMEM : LAM_EINVAL;
  }
  for (int64_t e = 0; e < m; e++) {
    s[e] = sin(a[e]);
    a[e] = cos(a[e]);
  }
  kur__api->free(p->lc);
  kur__api->free(p->ls);
  p->lc = a;
  p->ls = s;
  return kur__phase_layout(p, ctx); /* lags need the row-major path */
}

const lam_method_def kur__phase_methods[] = {
    {.name = "set_omega",
     .doc = "set_omega(omega[n]): natural frequencies in rad/ms (finite); "
            "kept across reset",
     .fn = set_omega},
    {.name = "omega", .doc = "omega(): the natural frequencies, [n]",
     .fn = get_omega},
    {.name = "set_weights",
     .doc = "set_weights(W[n, n]): dense weights, W[i, j] from j to i (row = "
            "target); coupling = dense",
     .fn = set_weights},
    {.name = "set_csr",
     .doc = "set_csr(indptr[n+1], indices[nnz], weights[nnz]?): sparse "
            "weights in CSR, row = target, indices = sources; unit weights "
            "when omitted; coupling = sparse; drops per-edge delays and lags",
     .fn = set_csr},
    {.name = "set_delays",
     .doc = "set_delays(D): per-edge delays in model steps, integers >= 0, "
            "[n, n] (dense) or [nnz] (sparse, CSR order); replaces `delay`",
     .fn = set_delays},
    {.name = "set_lags",
     .doc = "set_lags(A): per-edge phase lags alpha_ij in rad, [n, n] or "
            "[nnz]; added to the global alpha",
     .fn = set_lags},
    {.name = NULL}};
