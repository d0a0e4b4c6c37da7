/*
 * esn_weights.c - the random matrices of reservoir.esn: sparse rows drawn
 * without n^2 coin flips, Dale's-law signs, orthogonal matrices, and the
 * conversions between CSR and dense storage.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "esn_int.h"

void esn__mat_free(esn_mat *m) {
  resv__api->free(m->w);
  resv__api->free(m->rowptr);
  resv__api->free(m->col);
  resv__api->free(m->val);
  resv__api->free(m->split);
  resv__api->free(m->col16);
  resv__api->free(m->sval);
  resv__api->free(m->scol);
  resv__api->free(m->soff);
  resv__api->free(m->slen);
  resv__api->free(m->sexc);
  resv__api->free(m->srow);
  memset(m, 0, sizeof *m);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The sliced copy of short rows (see esn_mat).  Rows are sorted by length
 * (longest first, ties by index), so that the eight rows of a slice have
 * nearly the same length and little padding is summed. */
static int mat_slices(lam_model_ctx *ctx, esn_mat *m) {
  const int64_t n = m->n, ns = (n + 7) / 8;
  m->soff = resv__alloc(ctx, ns + 1, sizeof *m->soff);
  m->slen = resv__alloc(ctx, 8 * ns, sizeof *m->slen);
  m->sexc = resv__alloc(ctx, 8 * ns, sizeof *m->sexc);
  m->srow = resv__alloc(ctx, 8 * ns, sizeof *m->srow);
  if (!m->soff || !m->slen || !m->sexc || !m->srow)
    return LAM_ENOMEM;
  /* key: (n - length) in the high bits, the row in the low 32 */
  for (int64_t i = 0; i < n; i++)
    m->srow[i] = ((n - (m->rowptr[i + 1] - m->rowptr[i])) << 32) | i;
  qsort(m->srow, (size_t)n, sizeof *m->srow, cmp_i64);
  for (int64_t t = 0; t < 8 * ns; t++)
    m->srow[t] = t < n ? m->srow[t] & 0xffffffff : -1;
  m->soff[0] = 0;
  for (int64_t q = 0; q < ns; q++) {
    int64_t w = 0;
    for (int64_t t = 8 * q; t < 8 * q + 8; t++) {
      const int64_t i = m->srow[t];
      const int64_t len = i >= 0 ? m->rowptr[i + 1] - m->rowptr[i] : 0;
      m->slen[t] = len;
      m->sexc[t] = i >= 0 ? m->split[i] - m->rowptr[i] : 0;
      w = len > w ? len : w;
    }
    m->soff[q + 1] = m->soff[q] + 8 * w;
  }
  m->sval = resv__alloc(ctx, m->soff[ns], sizeof *m->sval);
  m->scol = resv__alloc(ctx, m->soff[ns], sizeof *m->scol);
  if (!m->sval || !m->scol)
    return LAM_ENOMEM;
  memset(m->sval, 0, (size_t)m->soff[ns] * sizeof *m->sval);
  memset(m->scol, 0, (size_t)m->soff[ns] * sizeof *m->scol);
  for (int64_t t = 0; t < n; t++) {
    const int64_t i = m->srow[t];
    for (int64_t k = 0; k < m->slen[t]; k++) {
      const int64_t at = m->soff[t / 8] + 8 * k + t % 8;
      m->sval[at] = m->val[m->rowptr[i] + k];
      m->scol[at] = (uint16_t)m->col[m->rowptr[i] + k];
    }
  }
  return LAM_OK;
}

int esn__mat_index16(lam_model_ctx *ctx, esn_mat *m) {
  void *old[] = {m->col16, m->sval, m->scol,
                 m->soff,  m->slen, m->sexc, m->srow};
  for (size_t k = 0; k < sizeof old / sizeof *old; k++)
    resv__api->free(old[k]);
  m->col16 = NULL;
  m->sval = NULL;
  m->scol = NULL;
  m->soff = m->slen = m->sexc = m->srow = NULL;
  if (m->dense || m->n > 65536)
    return LAM_OK;
  /* 8 spare entries: the vector row sums load a whole block of 8 */
  uint16_t *c = resv__alloc(ctx, m->nnz + 8, sizeof *c);
  if (!c)
    return LAM_ENOMEM;
  for (int64_t k = 0; k < m->nnz; k++)
    c[k] = (uint16_t)m->col[k];
  memset(c + m->nnz, 0, 8 * sizeof *c);
  m->col16 = c;
  if (m->nnz < 32 * m->n && mat_slices(ctx, m) != LAM_OK)
    return LAM_ENOMEM;
  return LAM_OK;
}

void esn__mat_split(esn_mat *m, int64_t n_exc) {
  if (m->dense || !m->split)
    return;
  for (int64_t i = 0; i < m->n; i++) {
    int64_t k = m->rowptr[i];
    while (k < m->rowptr[i + 1] && m->col[k] < n_exc)
      k++;
    m->split[i] = k;
  }
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static double draw(lam_rng *r, int dist) {
  switch (dist) {
  case ESN_DIST_UNIFORM:
    return 2.0 * resv__api->rng_uniform(r) - 1.0;
  case ESN_DIST_BERNOULLI:
    return resv__api->rng_uniform(r) < 0.5 ? -1.0 : 1.0;
  default:
    return resv__api->rng_normal(r);
  }
}

/* Row i's sorted columns into cols (returns the count).  Few columns:
 * Floyd's algorithm (k draws, marks in `mark`, then a sort); many:
 * selection sampling (one draw per column, already sorted).  Either way
 * the cost is O(k log k) or O(n) per row, never a coin flip per pair. */
static int64_t row_columns(lam_rng *r, int64_t n, double density,
                           int32_t *cols, unsigned char *mark) {
  int64_t k = density >= 1.0 ? n : resv__api->rng_binomial(r, n, density);
  if (k >= n) {
    for (int64_t j = 0; j < n; j++)
      cols[j] = (int32_t)j;
    return n;
  }
  if (4 * k >= n) {
    int64_t got = 0;
    for (int64_t j = 0; j < n && got < k; j++)
      if (resv__api->rng_uniform(r) * (double)(n - j) < (double)(k - got))
        cols[got++] = (int32_t)j;
    return got;
  }
  int64_t got = 0;
  for (int64_t j = n - k; j < n; j++) {
    int64_t t = (int64_t)(resv__api->rng_uniform(r) * (double)(j + 1));
    if (t > j)
      t = j;
    if (mark[t])
      t = j;
    mark[t] = 1;
    cols[got++] = (int32_t)t;
  }
  qsort(cols, (size_t)got, sizeof *cols, cmp_i32);
  for (int64_t q = 0; q < got; q++)
    mark[cols[q]] = 0;
  return got;
}

/* Rows of a Gaussian matrix orthonormalised by modified Gram-Schmidt
 * (twice, for orthogonality to working precision). */
static int orthogonal(lam_model_ctx *ctx, int64_t n, double *q) {
  for (int64_t i = 0; i < n; i++) {
    lam_rng r;
    resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                        ESN_STREAM_ORTHO(i));
    for (int64_t j = 0; j < n; j++)
      q[i * n + j] = resv__api->rng_normal(&r);
  }
  for (int64_t i = 0; i < n; i++) {
    double *qi = q + i * n;
    for (int pass = 0; pass < 2; pass++)
      for (int64_t p = 0; p < i; p++)
        esn__axpy(-esn__dot(q + p * n, qi, n), q + p * n, qi, n);
    double s = sqrt(esn__dot(qi, qi, n));
    if (!(s > 1e-300)) {
      resv__api->set_error(ctx->host, "orthogonal weights: degenerate draw");
      return LAM_ERANGE;
    }
    for (int64_t j = 0; j < n; j++)
      qi[j] /= s;
  }
  return LAM_OK;
}

/* W *= a, the sliced copy of the values too (the same products, so it
 * stays a copy). */
static void mat_scale(esn_mat *m, double a) {
  if (m->dense) {
    for (int64_t k = 0; k < m->n * m->n; k++)
      m->w[k] *= a;
  } else {
    for (int64_t k = 0; k < m->nnz; k++)
      m->val[k] *= a;
    for (int64_t k = 0; m->sval && k < m->soff[(m->n + 7) / 8]; k++)
      m->sval[k] *= a;
  }
}

int esn__build_w(lam_model_ctx *ctx, const esn_wspec *s, esn_mat *m,
                 double *rho0) {
  const int64_t n = s->n;
  memset(m, 0, sizeof *m);
  m->n = n;
  *rho0 = 0;
  if (s->dist == ESN_DIST_ORTHO) {
    m->dense = 1;
    m->w = resv__alloc(ctx, n * n, sizeof *m->w);
    if (!m->w)
      return LAM_ENOMEM;
    int rc = orthogonal(ctx, n, m->w);
    if (rc != LAM_OK) {
      esn__mat_free(m);
      return rc;
    }
    m->nnz = n * n;
    *rho0 = 1.0; /* every eigenvalue of Q has modulus 1 */
    mat_scale(m, s->rho);
    return LAM_OK;
  }
  /* CSR first (rows grow into a buffer sized for the expected count plus
   * slack, reallocated when a row overflows it). */
  int64_t cap = (int64_t)(s->density * (double)n * (double)n * 1.05) + n + 16;
  m->rowptr = resv__alloc(ctx, n + 1, sizeof *m->rowptr);
  m->split = resv__alloc(ctx, n, sizeof *m->split);
  int32_t *cols = resv__alloc(ctx, n, sizeof *cols);
  unsigned char *mark = resv__alloc(ctx, n, 1);
  m->col = resv__alloc(ctx, cap, sizeof *m->col);
  m->val = resv__alloc(ctx, cap, sizeof *m->val);
  if (!m->rowptr || !m->split || !cols || !mark || !m->col || !m->val)
    goto nomem;
  const double inh_scale =
      s->dale && n > s->n_exc ? (double)s->n_exc / (double)(n - s->n_exc) : 1;
  int64_t nnz = 0;
  for (int64_t i = 0; i < n; i++) {
    lam_rng r;
    resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                        ESN_STREAM_W(i));
    int64_t k = row_columns(&r, n, s->density, cols, mark);
    if (nnz + k > cap) {
      int64_t ncap = cap + cap / 2 + k;
      int32_t *nc = resv__alloc(ctx, ncap, sizeof *nc);
      double *nv = resv__alloc(ctx, ncap, sizeof *nv);
      if (!nc || !nv) {
        resv__api->free(nc);
        resv__api->free(nv);
        goto nomem;
      }
      memcpy(nc, m->col, (size_t)nnz * sizeof *nc);
      memcpy(nv, m->val, (size_t)nnz * sizeof *nv);
      resv__api->free(m->col);
      resv__api->free(m->val);
      m->col = nc;
      m->val = nv;
      cap = ncap;
    }
    for (int64_t q = 0; q < k; q++) {
      double v = draw(&r, s->dist);
      if (s->dale) {
        v = fabs(v);
        if (cols[q] >= s->n_exc)
          v = -v * inh_scale;
      }
      m->col[nnz] = cols[q];
      m->val[nnz] = v;
      nnz++;
    }
    m->rowptr[i + 1] = nnz;
  }
  m->nnz = nnz;
  resv__api->free(cols);
  resv__api->free(mark);
  cols = NULL;
  mark = NULL;
  esn__mat_split(m, s->dale ? s->n_exc : n);
  double r0 = NAN;
  int conv = 1;
  /* the fast row kernels for the estimate (and the step); mat_scale keeps
   * their copy of the values in step.  spectral_radius = 0 zeroes W whatever its radius, so the estimate
   * (most of the creation time of a large W) is skipped: the way to
   * create a reservoir whose W comes from set_w_csr. */
  int rc = esn__mat_index16(ctx, m);
  if (rc == LAM_OK && s->rho > 0)
    rc = esn__spectral_radius(ctx, m, &r0, &conv);
  if (rc != LAM_OK) {
    esn__mat_free(m);
    return rc;
  }
  if (!conv)
    resv__api->log(ctx->host, LAM_LOG_WARN,
                   "spectral radius estimate %.6g did not reach the 1e-9 "
                   "residual; scaling uses it anyway", r0);
  *rho0 = r0;
  if (s->rho > 0) {
    if (!(r0 > 0)) {
      resv__api->set_error(ctx->host,
                           "W has spectral radius 0 (nilpotent or empty: "
                           "density = %g gives %lld nonzeros), cannot scale "
                           "it to spectral_radius = %g",
                           s->density, (long long)nnz, s->rho);
      esn__mat_free(m);
      return LAM_ERANGE;
    }
    mat_scale(m, s->rho / r0);
  } else {
    mat_scale(m, 0.0);
  }
  if (s->dense) {
    double *w = resv__alloc(ctx, n * n, sizeof *w);
    if (!w)
      goto nomem;
    esn__mat_get_dense(m, w);
    esn__mat_free(m);
    m->n = n;
    m->dense = 1;
    m->w = w;
    m->nnz = nnz;
    return LAM_OK;
  }
  return LAM_OK;
nomem:
  resv__api->free(cols);
  resv__api->free(mark);
  esn__mat_free(m);
  return LAM_ENOMEM;
}

void esn__mat_get_dense(const esn_mat *m, double *w) {
  const int64_t n = m->n;
  if (m->dense) {
    memcpy(w, m->w, (size_t)(n * n) * sizeof *w);
    return;
  }
  memset(w, 0, (size_t)(n * n) * sizeof *w);
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = m->rowptr[i]; k < m->rowptr[i + 1]; k++)
      w[i * n + m->col[k]] = m->val[k];
}

int esn__csr_alloc(lam_model_ctx *ctx, int64_t n, int64_t nnz, int64_t **rp,
                   int32_t **col, double **val) {
  *rp = resv__alloc(ctx, n + 1, sizeof **rp);
  *col = resv__alloc(ctx, nnz, sizeof **col);
  *val = resv__alloc(ctx, nnz, sizeof **val);
  if (*rp && *col && *val)
    return LAM_OK;
  resv__api->free(*rp);
  resv__api->free(*col);
  resv__api->free(*val);
  *rp = NULL, *col = NULL, *val = NULL;
  return LAM_ENOMEM;
}

int esn__mat_set_csr(lam_model_ctx *ctx, esn_mat *m, int64_t *rowptr,
                     int32_t *col, double *val, int64_t nnz, int64_t n_exc) {
  if (m->dense) {
    const int64_t n = m->n;
    memset(m->w, 0, (size_t)(n * n) * sizeof *m->w);
    for (int64_t i = 0; i < n; i++)
      for (int64_t k = rowptr[i]; k < rowptr[i + 1]; k++)
        m->w[i * n + col[k]] = val[k];
    resv__api->free(rowptr);
    resv__api->free(col);
    resv__api->free(val);
    return LAM_OK;
  }
  esn_mat old = *m;
  m->rowptr = rowptr;
  m->col = col;
  m->val = val;
  m->nnz = nnz;
  m->split = resv__alloc(ctx, m->n, sizeof *m->split);
  /* esn__mat_index16 frees the old 16-bit copies; keep them apart so a
   * failure can put the old matrix back whole. */
  m->col16 = NULL, m->sval = NULL, m->scol = NULL;
  m->soff = m->slen = m->sexc = m->srow = NULL;
  int rc = m->split ? LAM_OK : LAM_ENOMEM;
  if (rc == LAM_OK) {
    esn__mat_split(m, n_exc);
    rc = esn__mat_index16(ctx, m);
  }
  esn_mat *drop = &old;
  if (rc != LAM_OK) {
    esn_mat failed = *m;
    *m = old;
    old = failed;
  }
  void *owned[] = {drop->rowptr, drop->col,  drop->val,  drop->split,
                   drop->col16,  drop->sval, drop->scol, drop->soff,
                   drop->slen,   drop->sexc, drop->srow};
  for (size_t k = 0; k < sizeof owned / sizeof *owned; k++)
    resv__api->free(owned[k]);
  return rc;
}

int esn__mat_set_dense(lam_model_ctx *ctx, esn_mat *m, const double *w,
                       int64_t n_exc) {
  const int64_t n = m->n;
  if (m->dense) {
    memcpy(m->w, w, (size_t)(n * n) * sizeof *w);
    return LAM_OK;
  }
  /* CSR: the nonzeros in row order, installed like any CSR matrix */
  int64_t nnz = 0;
  for (int64_t k = 0; k < n * n; k++)
    nnz += w[k] != 0.0;
  int64_t *rp;
  int32_t *col;
  double *val;
  if (esn__csr_alloc(ctx, n, nnz, &rp, &col, &val) != LAM_OK)
    return LAM_ENOMEM;
  nnz = 0;
  rp[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < n; j++)
      if (w[i * n + j] != 0.0) {
        col[nnz] = (int32_t)j;
        val[nnz++] = w[i * n + j];
      }
    rp[i + 1] = nnz;
  }
  return esn__mat_set_csr(ctx, m, rp, col, val, nnz, n_exc);
}
