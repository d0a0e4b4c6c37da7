/*
 * sync.c - synchrony analyses of phase series, the loops behind
 * lua/lamina/analysis/sync.lua: order parameters (global, per group,
 * local), phase-locking values, phase coherence, phase unwrapping and the
 * Hilbert phase of sampled signals (FFTW3).  Every function takes phases as
 * a [T, N] buffer (time along rows) of any float dtype and strides, so the
 * same analyses apply to recorded ports and to imported data.
 */
#include "lamina.h"
#include "lam_int.h"

#include <cblas.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Element (t, i) of a 1-d [N] or 2-d [T, N] float buffer. */
static double at2(const lam_buf *b, int64_t t, int64_t i) {
  int64_t off = b->ndim == 1 ? i * b->strides[0]
                             : t * b->strides[0] + i * b->strides[1];
  return b->dtype == LAM_F32 ? ((const float *)b->data)[off]
                             : ((const double *)b->data)[off];
}

/* Checks a [T, N] (or [N]: T = 1) float buffer; names it in the error. */
static int series(const lam_buf *b, const char *fn, const char *what,
                  int64_t *T, int64_t *N) {
  if (!b || (b->dtype != LAM_F64 && b->dtype != LAM_F32) || b->ndim < 1 ||
      b->ndim > 2)
    return lam_set_error(LAM_EINVAL,
                         "%s: %s must be a 1-d [N] or 2-d [T, N] f64/f32 buffer",
                         fn, what);
  *T = b->ndim == 1 ? 1 : b->shape[0];
  *N = b->shape[b->ndim - 1];
  if (*T < 1 || *N < 1)
    return lam_set_error(LAM_EINVAL, "%s: %s is empty", fn, what);
  return LAM_OK;
}

static lam_buf *fail(lam_buf *b) {
  lam_buf_free(b);
  return NULL;
}

/* Unwraps a series in place: adds multiples of 2 pi so that successive
 * differences lie in [-pi, pi). */
static void unwrap(double *x, int64_t n, int64_t stride) {
  double off = 0, prev = n > 0 ? x[0] : 0;
  for (int64_t t = 1; t < n; t++) {
    double raw = x[t * stride], d = raw + off - prev;
    off -= 2.0 * M_PI * floor((d + M_PI) / (2.0 * M_PI));
    x[t * stride] = raw + off;
    prev = x[t * stride];
  }
}

lam_buf *lam_sync_order(const lam_buf *phases, const lam_buf *groups,
                        int32_t ngroups) {
  int64_t T, N;
  if (series(phases, "sync order", "phases", &T, &N))
    return NULL;
  if (groups) {
    if (ngroups < 1 || groups->ndim != 1 || groups->shape[0] != N) {
      lam_set_error(LAM_EINVAL,
                    "sync order: groups must be a 1-d [%lld] label buffer and "
                    "ngroups >= 1",
                    (long long)N);
      return NULL;
    }
    for (int64_t i = 0; i < N; i++) {
      double g = lam_buf_get(groups, i);
      if (!(g >= 0 && g < ngroups) || g != floor(g)) {
        lam_set_error(LAM_EINVAL,
                      "sync order: groups[%lld] = %g; expected an integer in "
                      "[0, %d)",
                      (long long)i, g, (int)ngroups);
        return NULL;
      }
    }
  } else {
    ngroups = 1;
  }
  lam_buf *out = lam_buf_new(LAM_F64, 3, (int64_t[]){T, ngroups, 2});
  int32_t *lab = calloc((size_t)N, sizeof *lab);
  double *acc = calloc((size_t)ngroups * 3, sizeof *acc);
  if (!out || !lab || !acc) {
    free(lab);
    free(acc);
    lam_set_error(LAM_ENOMEM, "sync order: out of memory");
    return fail(out);
  }
  for (int64_t i = 0; i < N; i++)
    lab[i] = groups ? (int32_t)lam_buf_get(groups, i) : 0;
  double *o = out->data;
  for (int64_t t = 0; t < T; t++) {
    memset(acc, 0, (size_t)ngroups * 3 * sizeof *acc);
    for (int64_t i = 0; i < N; i++) {
      double th = at2(phases, t, i);
      acc[3 * lab[i]] += cos(th);
      acc[3 * lab[i] + 1] += sin(th);
      acc[3 * lab[i] + 2] += 1;
    }
    for (int32_t g = 0; g < ngroups; g++) {
      double n = acc[3 * g + 2] > 0 ? acc[3 * g + 2] : 1;
      double re = acc[3 * g] / n, im = acc[3 * g + 1] / n;
      o[(t * ngroups + g) * 2] = hypot(re, im);
      o[(t * ngroups + g) * 2 + 1] = atan2(im, re);
    }
  }
  for (int32_t g = 0; g < ngroups; g++) /* psi unwrapped along time */
    unwrap(o + 2 * g + 1, T, 2 * ngroups);
  free(lab);
  free(acc);
  return out;
}

lam_buf *lam_sync_local_order(const lam_buf *phases, const lam_buf *weights) {
  int64_t T, N;
  if (series(phases, "sync local_order", "phases", &T, &N))
    return NULL;
  if (!weights || weights->ndim != 2 || weights->shape[0] != N ||
      weights->shape[1] != N) {
    lam_set_error(LAM_EINVAL,
                  "sync local_order: weights must be a square [%lld, %lld] "
                  "matrix (row = target)",
                  (long long)N, (long long)N);
    return NULL;
  }
  lam_buf *out = lam_buf_new(LAM_F64, 2, (int64_t[]){T, N});
  double *c = malloc((size_t)N * sizeof *c), *s = malloc((size_t)N * sizeof *s);
  if (!out || !c || !s) {
    free(c);
    free(s);
    lam_set_error(LAM_ENOMEM, "sync local_order: out of memory");
    return fail(out);
  }
  double *o = out->data;
  for (int64_t t = 0; t < T; t++) {
    for (int64_t j = 0; j < N; j++) {
      c[j] = cos(at2(phases, t, j));
      s[j] = sin(at2(phases, t, j));
    }
    for (int64_t i = 0; i < N; i++) {
      double re = 0, im = 0, w = 0;
      for (int64_t j = 0; j < N; j++) {
        double wij = lam_buf_get(weights, i * N + j);
        re += wij * c[j];
        im += wij * s[j];
        w += wij;
      }
      o[t * N + i] = w != 0 ? hypot(re, im) / w : NAN; /* no inputs: undefined */
    }
  }
  free(c);
  free(s);
  return out;
}

lam_buf *lam_sync_plv(const lam_buf *phases) {
  int64_t T, N;
  if (series(phases, "sync plv", "phases", &T, &N))
    return NULL;
  lam_buf *out = lam_buf_new(LAM_F64, 2, (int64_t[]){N, N});
  double *c = malloc((size_t)(T * N) * sizeof *c);
  double *s = malloc((size_t)(T * N) * sizeof *s);
  double *im = malloc((size_t)(N * N) * sizeof *im);
  if (!out || !c || !s || !im) {
    free(c);
    free(s);
    free(im);
    lam_set_error(LAM_ENOMEM, "sync plv: out of memory");
    return fail(out);
  }
  for (int64_t t = 0; t < T; t++)
    for (int64_t i = 0; i < N; i++) {
      double th = at2(phases, t, i);
      c[t * N + i] = cos(th);
      s[t * N + i] = sin(th);
    }
  /* sum_t e^(i(th_i - th_j)): Re = C'C + S'S, Im = S'C - C'S, both from
   * BLAS (one pass over the series per product). */
  double *re = out->data;
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)N, (int)N, (int)T,
              1.0, c, (int)N, c, (int)N, 0.0, re, (int)N);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)N, (int)N, (int)T,
              1.0, s, (int)N, s, (int)N, 1.0, re, (int)N);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)N, (int)N, (int)T,
              1.0, s, (int)N, c, (int)N, 0.0, im, (int)N);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)N, (int)N, (int)T,
              -1.0, c, (int)N, s, (int)N, 1.0, im, (int)N);
  for (int64_t k = 0; k < N * N; k++)
    re[k] = hypot(re[k], im[k]) / (double)T;
  free(c);
  free(s);
  free(im);
  return out;
}

lam_buf *lam_sync_coherence(const lam_buf *phases) {
  int64_t T, N;
  if (series(phases, "sync coherence", "phases", &T, &N))
    return NULL;
  if (T != 1) {
    lam_set_error(LAM_EINVAL, "sync coherence: phases must be one time "
                              "point, a 1-d [N] buffer");
    return NULL;
  }
  lam_buf *out = lam_buf_new(LAM_F64, 2, (int64_t[]){N, N});
  if (!out)
    return NULL;
  double *o = out->data;
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < N; j++)
      o[i * N + j] = cos(at2(phases, 0, i) - at2(phases, 0, j));
  return out;
}

lam_buf *lam_sync_unwrap(const lam_buf *phases) {
  int64_t T, N;
  if (series(phases, "sync unwrap", "phases", &T, &N))
    return NULL;
  lam_buf *out = lam_buf_new(LAM_F64, 2, (int64_t[]){T, N});
  if (!out)
    return NULL;
  double *o = out->data;
  for (int64_t t = 0; t < T; t++)
    for (int64_t i = 0; i < N; i++)
      o[t * N + i] = at2(phases, t, i);
  for (int64_t i = 0; i < N; i++)
    unwrap(o + i, T, N);
  return out;
}

lam_buf *lam_sync_hilbert(const lam_buf *signals) {
  int64_t T, N;
  if (series(signals, "sync hilbert", "signals", &T, &N))
    return NULL;
  if (signals->ndim == 1) { /* a single series [T] */
    T = signals->shape[0];
    N = 1;
  }
  if (T < 2) {
    lam_set_error(LAM_EINVAL, "sync hilbert: need at least 2 samples, got %lld",
                  (long long)T);
    return NULL;
  }
  lam_buf *out = lam_buf_new(LAM_F64, signals->ndim,
                             signals->ndim == 1 ? (int64_t[]){T} : (int64_t[]){T, N});
  /* Interleaved (re, im) pairs: fftw_complex is double[2] or, when
   * <complex.h> came first, double _Complex; both have this layout. */
  double *z = fftw_malloc(2 * sizeof(double) * (size_t)T);
  fftw_complex *zc = (fftw_complex *)(void *)z;
  fftw_plan fwd = z ? fftw_plan_dft_1d((int)T, zc, zc, FFTW_FORWARD, FFTW_ESTIMATE) : NULL;
  fftw_plan inv = z ? fftw_plan_dft_1d((int)T, zc, zc, FFTW_BACKWARD, FFTW_ESTIMATE) : NULL;
  if (!out || !z || !fwd || !inv) {
    if (fwd)
      fftw_destroy_plan(fwd);
    if (inv)
      fftw_destroy_plan(inv);
    fftw_free(z);
    lam_set_error(LAM_ENOMEM, "sync hilbert: out of memory");
    return fail(out);
  }
  double *o = out->data;
  for (int64_t i = 0; i < N; i++) {
    for (int64_t t = 0; t < T; t++) {
      z[2 * t] = signals->ndim == 1 ? at2(signals, 0, t) : at2(signals, t, i);
      z[2 * t + 1] = 0;
    }
    fftw_execute(fwd);
    /* Analytic signal: keep DC (and Nyquist for even T), double the
     * positive frequencies, drop the negative ones. */
    for (int64_t k = 1; k < T; k++) {
      double h = 2 * k < T ? 2.0 : 2 * k == T ? 1.0 : 0.0;
      z[2 * k] *= h;
      z[2 * k + 1] *= h;
    }
    fftw_execute(inv);
    for (int64_t t = 0; t < T; t++)
      o[t * N + i] = atan2(z[2 * t + 1], z[2 * t]);
  }
  fftw_destroy_plan(fwd);
  fftw_destroy_plan(inv);
  fftw_free(z);
  return out;
}
