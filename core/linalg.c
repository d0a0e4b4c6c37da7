/*
 * linalg.c - the dense linear algebra of the readouts (lamina.readout):
 * float64 accumulation of least-squares statistics, ridge solves with an
 * un-regularised bias, and affine predictions, on OpenBLAS and LAPACK.
 *
 * Why in C: a ridge readout over 10^5 steps of 1000 states is one
 * 10^5 x 1000 SYRK (~5e10 flops); that must run in BLAS, not in Lua.
 * Statistics are kept in float64 even when the states are float32, so
 * that long streams do not lose the small eigenvalues of X^T X.
 */
#include "lamina.h"
#include "lam_int.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_mat(const lam_buf *b, int32_t ndim) {
  return b && b->ndim == ndim && (b->dtype == LAM_F64 || b->dtype == LAM_F32) &&
         lam_buf_is_contiguous(b);
}

static int need_f64(const lam_buf *b, const char *what, int32_t ndim,
                    int64_t r, int64_t c) {
  if (!b || b->dtype != LAM_F64 || b->ndim != ndim || !lam_buf_is_contiguous(b))
    return lam_set_error(LAM_EINVAL, "%s: expected a contiguous f64 buffer with "
                         "%d dimensions", what, (int)ndim);
  if (b->shape[0] != r || (ndim == 2 && b->shape[1] != c)) {
    if (ndim == 2)
      return lam_set_error(LAM_EINVAL, "%s: shape [%lld, %lld], expected "
                           "[%lld, %lld]", what, (long long)b->shape[0],
                           (long long)b->shape[1], (long long)r, (long long)c);
    return lam_set_error(LAM_EINVAL, "%s: length %lld, expected %lld", what,
                         (long long)b->shape[0], (long long)r);
  }
  if (b->flags & LAM_BUF_READONLY)
    return lam_set_error(LAM_EINVAL, "%s: buffer is read-only", what);
  return LAM_OK;
}

/* Rows [r0, r0 + k) of a [T, c] f64/f32 matrix as f64 (a pointer into it,
 * or converted into tmp). */
static const double *rows_f64(const lam_buf *b, int64_t r0, int64_t k,
                              double *tmp) {
  const int64_t c = b->shape[1];
  if (b->dtype == LAM_F64)
    return (const double *)b->data + r0 * c;
  const float *s = (const float *)b->data + r0 * c;
  for (int64_t i = 0; i < k * c; i++)
    tmp[i] = s[i];
  return tmp;
}

enum { CHUNK = 512 };

int lam_la_accumulate(lam_buf *xtx, lam_buf *xty, lam_buf *xs, lam_buf *ys,
                      const lam_buf *x, const lam_buf *y) {
  if (!is_mat(x, 2))
    return lam_set_error(LAM_EINVAL, "accumulate: X must be a contiguous "
                         "[T, d] f64 or f32 buffer");
  if (!is_mat(y, 2))
    return lam_set_error(LAM_EINVAL, "accumulate: Y must be a contiguous "
                         "[T, o] f64 or f32 buffer");
  const int64_t T = x->shape[0], d = x->shape[1], o = y->shape[1];
  if (y->shape[0] != T)
    return lam_set_error(LAM_EINVAL, "accumulate: X has %lld rows but Y has "
                         "%lld", (long long)T, (long long)y->shape[0]);
  int rc;
  if ((rc = need_f64(xtx, "accumulate: XtX", 2, d, d)) != LAM_OK ||
      (rc = need_f64(xty, "accumulate: XtY", 2, d, o)) != LAM_OK)
    return rc;
  if (xs && (rc = need_f64(xs, "accumulate: x sums", 1, d, 0)) != LAM_OK)
    return rc;
  if (ys && (rc = need_f64(ys, "accumulate: y sums", 1, o, 0)) != LAM_OK)
    return rc;
  if (d > INT32_MAX || o > INT32_MAX)
    return lam_set_error(LAM_ERANGE, "accumulate: more than 2^31 columns");
  double *tx = NULL, *ty = NULL;
  if (x->dtype == LAM_F32 && !(tx = malloc((size_t)(CHUNK * d) * sizeof *tx)))
    return lam_set_error(LAM_ENOMEM, "accumulate: out of memory");
  if (y->dtype == LAM_F32 && !(ty = malloc((size_t)(CHUNK * o) * sizeof *ty))) {
    free(tx);
    return lam_set_error(LAM_ENOMEM, "accumulate: out of memory");
  }
  double *g = xtx->data, *gy = xty->data;
  for (int64_t r0 = 0; r0 < T; r0 += CHUNK) {
    const int64_t k = T - r0 < CHUNK ? T - r0 : CHUNK;
    const double *xr = rows_f64(x, r0, k, tx), *yr = rows_f64(y, r0, k, ty);
    /* Upper triangle only (SYRK); mirrored below. */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)k, 1.0, xr,
                (int)d, 1.0, g, (int)d);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)o,
                (int)k, 1.0, xr, (int)d, yr, (int)o, 1.0, gy, (int)o);
    if (xs)
      for (int64_t t = 0; t < k; t++)
        for (int64_t j = 0; j < d; j++)
          ((double *)xs->data)[j] += xr[t * d + j];
    if (ys)
      for (int64_t t = 0; t < k; t++)
        for (int64_t j = 0; j < o; j++)
          ((double *)ys->data)[j] += yr[t * o + j];
  }
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = 0; j < i; j++)
      g[i * d + j] = g[j * d + i];
  free(tx);
  free(ty);
  return LAM_OK;
}

int lam_la_ridge(const lam_buf *xtx, const lam_buf *xty, const lam_buf *xs,
                 const lam_buf *ys, double count, double ridge, lam_buf *w,
                 lam_buf *b) {
  if (!xtx || xtx->ndim != 2 || !xty || xty->ndim != 2)
    return lam_set_error(LAM_EINVAL, "ridge: XtX and XtY must be matrices");
  const int64_t d = xtx->shape[0], o = xty->shape[1];
  int rc;
  if ((rc = need_f64((lam_buf *)xtx, "ridge: XtX", 2, d, d)) != LAM_OK ||
      (rc = need_f64((lam_buf *)xty, "ridge: XtY", 2, d, o)) != LAM_OK ||
      (rc = need_f64(w, "ridge: W", 2, d, o)) != LAM_OK)
    return rc;
  const int bias = xs != NULL;
  if (bias != (ys != NULL) || bias != (b != NULL))
    return lam_set_error(LAM_EINVAL, "ridge: x sums, y sums and b go together "
                         "(all or none)");
  if (bias && ((rc = need_f64((lam_buf *)xs, "ridge: x sums", 1, d, 0)) != LAM_OK ||
               (rc = need_f64((lam_buf *)ys, "ridge: y sums", 1, o, 0)) != LAM_OK ||
               (rc = need_f64(b, "ridge: b", 1, o, 0)) != LAM_OK))
    return rc;
  if (!(ridge >= 0) || !isfinite(ridge))
    return lam_set_error(LAM_ERANGE, "ridge: ridge = %g, expected a finite "
                         "number >= 0", ridge);
  if (bias && !(count >= 1))
    return lam_set_error(LAM_ERANGE, "ridge: no samples accumulated (count = "
                         "%g)", count);
  if (d > INT32_MAX || o > INT32_MAX)
    return lam_set_error(LAM_ERANGE, "ridge: more than 2^31 columns");
  double *a = malloc((size_t)(d * d) * sizeof *a);
  if (!a)
    return lam_set_error(LAM_ENOMEM, "ridge: out of memory (%lld x %lld)",
                         (long long)d, (long long)d);
  const double *g = xtx->data, *gy = xty->data;
  double *wo = w->data;
  /* With a bias the statistics are centred, so that the bias is the
   * un-regularised intercept: C = XtX - T mu mu^T, D = XtY - T mu nu^T,
   * (C + ridge I) W = D, b = nu - W^T mu. */
  const double *mx = bias ? xs->data : NULL, *my = bias ? ys->data : NULL;
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = 0; j < d; j++)
      a[i * d + j] = g[i * d + j] - (bias ? mx[i] * mx[j] / count : 0.0);
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = 0; j < o; j++)
      wo[i * o + j] = gy[i * o + j] - (bias ? mx[i] * my[j] / count : 0.0);
  for (int64_t i = 0; i < d; i++)
    a[i * d + i] += ridge;
  double anorm = LAPACKE_dlansy(LAPACK_ROW_MAJOR, '1', 'U', (lapack_int)d, a,
                                (lapack_int)d);
  lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)d, a,
                                   (lapack_int)d);
  double rcond = 0;
  if (info == 0)
    info = LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'U', (lapack_int)d, a,
                          (lapack_int)d, anorm, &rcond);
  /* Numerically singular: Cholesky may "succeed" on roundoff, so the
   * reciprocal condition number decides. */
  if (info != 0 || !(rcond > 2.220446049250313e-16)) {
    free(a);
    return lam_set_error(LAM_ERANGE,
                         "ridge: the %lld x %lld system is singular "
                         "(reciprocal condition %.3g with ridge = %g): "
                         "collinear or constant features; use ridge > 0",
                         (long long)d, (long long)d, rcond, ridge);
  }
  info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', (lapack_int)d, (lapack_int)o, a,
                        (lapack_int)d, wo, (lapack_int)o);
  free(a);
  if (info != 0)
    return lam_set_error(LAM_ERANGE, "ridge: LAPACK dpotrs failed (%d)",
                         (int)info);
  if (bias) {
    double *bo = b->data;
    for (int64_t j = 0; j < o; j++) {
      double s = my[j];
      for (int64_t i = 0; i < d; i++)
        s -= wo[i * o + j] * mx[i];
      bo[j] = s / count;
    }
  }
  return LAM_OK;
}

int lam_la_affine(lam_buf *out, const lam_buf *x, const lam_buf *w,
                  const lam_buf *b) {
  if (!is_mat(x, 2))
    return lam_set_error(LAM_EINVAL, "predict: X must be a contiguous [T, d] "
                         "f64 or f32 buffer");
  const int64_t T = x->shape[0], d = x->shape[1];
  if (!w || w->ndim != 2 || w->shape[0] != d)
    return lam_set_error(LAM_EINVAL, "predict: X has %lld columns but W has "
                         "%lld rows (expected W [%lld, outputs])",
                         (long long)d, w && w->ndim == 2 ? (long long)w->shape[0]
                                                         : -1LL,
                         (long long)d);
  const int64_t o = w->shape[1];
  int rc;
  if ((rc = need_f64((lam_buf *)w, "predict: W", 2, d, o)) != LAM_OK ||
      (rc = need_f64(out, "predict: out", 2, T, o)) != LAM_OK)
    return rc;
  if (b && (rc = need_f64((lam_buf *)b, "predict: b", 1, o, 0)) != LAM_OK)
    return rc;
  double *tx = NULL;
  if (x->dtype == LAM_F32 && !(tx = malloc((size_t)(CHUNK * d) * sizeof *tx)))
    return lam_set_error(LAM_ENOMEM, "predict: out of memory");
  double *y = out->data;
  for (int64_t r0 = 0; r0 < T; r0 += CHUNK) {
    const int64_t k = T - r0 < CHUNK ? T - r0 : CHUNK;
    const double *xr = rows_f64(x, r0, k, tx);
    double *yr = y + r0 * o;
    for (int64_t t = 0; t < k; t++)
      for (int64_t j = 0; j < o; j++)
        yr[t * o + j] = b ? ((const double *)b->data)[j] : 0.0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)k, (int)o,
                (int)d, 1.0, xr, (int)d, w->data, (int)o, 1.0, yr, (int)o);
  }
  free(tx);
  return LAM_OK;
}
