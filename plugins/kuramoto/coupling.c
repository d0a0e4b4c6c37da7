/*
 * coupling.c - the coupling field of kuramoto.phase.
 *
 * Every coupling is written as Im(H_i e^(-i theta_i)) with a complex field
 * H_i, so no sine is evaluated per edge (reference section 1.2):
 *
 *   mean field   H = e^(-i alpha) (K Z1 + K2 Z2 conj(Z1) + K3 Z1^2 conj(Z1))
 *                with Zm = (1/N) sum_j e^(i m theta_j), O(N) per evaluation;
 *   network      H_i = K e^(-i alpha) s_i sum_j W_ij e^(-i alpha_ij) z_j(t - tau_ij)
 *                with z_j = e^(i theta_j), s_i the normalisation factor.
 *
 * Im(H e^(-i theta)) = Im H cos theta - Re H sin theta, so each oscillator
 * needs one cos and one sin per evaluation, computed by the vectorised
 * kur__sincos (trig.c).  Delayed sources come from a ring of (cos, sin) per
 * oscillator written once per step; an edge with delay 0 reads the current
 * stage, so an all-zero delay matrix gives exactly the undelayed model.
 */
#include <math.h>
#include <string.h>

#include "phase_int.h"

void kur__phase_trig(kphase *p, const double *theta, int first) {
  const int64_t n = p->n;
  const size_t nb = (size_t)n * sizeof *theta;
  /* Cached: phases this step call wrote itself (trusted), or equal to the
   * remembered ones (someone may have set the port between calls). */
  if (p->cache && (theta == p->trusted || memcmp(theta, p->tc, nb) == 0))
    return;
  kur__sincos(theta, p->s, p->c, n);
  p->zvalid = 0;
  /* The first stage of a step remembers its phases: the end of one step
   * is the start of the next, so recording r(t) costs no second pass. */
  p->cache = first;
  p->trusted = NULL;
  if (first)
    memcpy(p->tc, theta, nb);
}

void kur__phase_zsum(kphase *p, double *a, double *b) {
  if (!p->zvalid) {
    double acc[2 * KUR_LANES] = {0};
    kur__lanes(p->c, p->s, p->n, acc);
    kur__lanes_total(acc, &p->zsum[0], &p->zsum[1]);
    p->zvalid = 1;
  }
  *a = p->zsum[0];
  *b = p->zsum[1];
}

/* Chunks of the fused pass: its arrays (th, tc, c, s, omega, input, field)
 * stay in L1 between the update-and-trig loop and the lane sums. */
#define EULER_CHUNK 512

void kur__phase_euler(kphase *p, double *th, const double *in,
                      const double *eta, double h, double fc, double fs) {
  const int mean = p->cpl == CPL_MEAN;
  const kur_euler e = {.th = th, .tc = p->tc, .c = p->c, .s = p->s,
                       .w = p->omega, .in = in, .eta = eta,
                       .fre = mean ? NULL : p->fre, .fim = mean ? NULL : p->fim,
                       .h = h, .hr = mean ? p->hre + fs : fs,
                       .hi = mean ? p->him + fc : fc};
  double acc[2 * KUR_LANES] = {0};
  for (int64_t i0 = 0; i0 < p->n; i0 += EULER_CHUNK) {
    const int64_t i1 = p->n - i0 < EULER_CHUNK ? p->n : i0 + EULER_CHUNK;
    kur__euler_trig(&e, i0, i1);
    kur__lanes(p->c + i0, p->s + i0, i1 - i0, acc);
  }
  kur__lanes_total(acc, &p->zsum[0], &p->zsum[1]);
  p->zvalid = 1;
  p->cache = 1;
  p->trusted = th;
}

/* Z1 and Z2 of the current stage. */
static void moments(kphase *p, int second, double z[4]) {
  const int64_t n = p->n;
  const double *c = p->c, *s = p->s;
  double a, b, e = 0, f = 0;
  kur__phase_zsum(p, &a, &b);
  if (second)
    for (int64_t i = 0; i < n; i++) {
      e += c[i] * c[i] - s[i] * s[i];
      f += 2.0 * c[i] * s[i];
    }
  z[0] = a / (double)n;
  z[1] = b / (double)n;
  z[2] = e / (double)n;
  z[3] = f / (double)n;
}

static int64_t slot(const kphase *p, int64_t d) {
  int64_t k = p->head - d;
  return k < 0 ? k + p->depth : k;
}

void kur__phase_history(kphase *p) {
  if (p->depth <= 1)
    return;
  const int64_t n = p->n;
  int second = 1;
  double z[4];
  if (p->cpl == CPL_MEAN)
    moments(p, second, z);
  int64_t slots = p->fill_history ? p->depth : 1;
  for (int64_t k = 0; k < slots; k++) {
    p->head = p->head + 1 == p->depth ? 0 : p->head + 1;
    if (p->cpl == CPL_MEAN) {
      memcpy(p->hz + 4 * p->head, z, sizeof z);
    } else { /* (cos, sin) pairs: one cache line per delayed gather */
      double *h = p->hc + 2 * p->head * n;
      for (int64_t j = 0; j < n; j++) {
        h[2 * j] = p->c[j];
        h[2 * j + 1] = p->s[j];
      }
    }
  }
  p->fill_history = 0;
}

static void mean_field(kphase *p, const double *par) {
  const double k = par[P_K], k2 = par[P_K2], k3 = par[P_K3];
  const int second = k2 != 0.0 || k3 != 0.0;
  double z[4];
  if (p->maxd > 0)
    memcpy(z, p->hz + 4 * slot(p, p->maxd), sizeof z);
  else
    moments(p, second, z);
  /* K Z1 + K2 Z2 conj(Z1) + K3 Z1 Z1 conj(Z1) */
  double hr = k * z[0], hi = k * z[1];
  if (second) {
    double m2 = z[0] * z[0] + z[1] * z[1];
    hr += k2 * (z[2] * z[0] + z[3] * z[1]) + k3 * m2 * z[0];
    hi += k2 * (z[3] * z[0] - z[2] * z[1]) + k3 * m2 * z[1];
  }
  /* norm = none: sum_j instead of (1/N) sum_j. */
  double g = (int)par[P_NORM] == NORM_NONE ? (double)p->n : 1.0;
  double ca = cos(par[P_ALPHA]), sa = sin(par[P_ALPHA]);
  p->hre = g * (ca * hr + sa * hi);
  p->him = g * (ca * hi - sa * hr);
}

/* The common case: no per-edge lags or delays.  One pass reads each
 * weight once and accumulates both sums. */
static void net_plain(kphase *p, const double *xc, const double *xs) {
  const int64_t n = p->n;
  for (int64_t i = 0; i < n; i++) {
    double re = 0, im = 0;
    if (p->rowptr) {
      for (int64_t e = p->rowptr[i]; e < p->rowptr[i + 1]; e++) {
        const int32_t j = p->col[e];
        re += p->w[e] * xc[j];
        im += p->w[e] * xs[j];
      }
    } else if (p->w) {
      const double *wr = p->w + i * n;
      for (int64_t j = 0; j < n; j++) {
        re += wr[j] * xc[j];
        im += wr[j] * xs[j];
      }
    } else {
      for (int64_t j = 0; j < n; j++) {
        re += xc[j];
        im += xs[j];
      }
    }
    p->fre[i] = re;
    p->fim[i] = im;
  }
}

/* Per-edge lags and/or delays. */
static void net_general(kphase *p, const double *xc, const double *xs) {
  const int64_t n = p->n;
  for (int64_t i = 0; i < n; i++) {
    double re = 0, im = 0;
    int64_t e0 = p->rowptr ? p->rowptr[i] : i * n;
    int64_t e1 = p->rowptr ? p->rowptr[i + 1] : i * n + n;
    for (int64_t e = e0; e < e1; e++) {
      const int64_t j = p->rowptr ? p->col[e] : e - e0;
      const double w = p->w ? p->w[e] : 1.0;
      double zc = xc[j], zs = xs[j];
      if (p->edelay && p->edelay[e] > 0) {
        const double *h = p->hc + 2 * (slot(p, p->edelay[e]) * n + j);
        zc = h[0];
        zs = h[1];
      }
      if (p->lc) { /* z e^(-i alpha_ij) */
        const double a = p->lc[e] * zc + p->ls[e] * zs;
        zs = p->lc[e] * zs - p->ls[e] * zc;
        zc = a;
      }
      re += w * zc;
      im += w * zs;
    }
    p->fre[i] = re;
    p->fim[i] = im;
  }
}

void kur__phase_field(kphase *p, const double *par, const double *theta,
                      int first) {
  kur__phase_trig(p, theta, first);
  if (p->cpl == CPL_MEAN) {
    mean_field(p, par);
    return;
  }
  const double *xc = p->c, *xs = p->s;
  if (!p->edelay && p->maxd > 0) { /* uniform delay: the whole ring slot */
    const double *h = p->hc + 2 * slot(p, p->maxd) * p->n;
    for (int64_t j = 0; j < p->n; j++) {
      p->hs[j] = h[2 * j];
      p->hs[p->n + j] = h[2 * j + 1];
    }
    xc = p->hs;
    xs = p->hs + p->n;
  }
  if (p->edelay || p->lc)
    net_general(p, xc, xs);
  else
    net_plain(p, xc, xs);
  const double k = par[P_K], ca = cos(par[P_ALPHA]), sa = sin(par[P_ALPHA]);
  for (int64_t i = 0; i < p->n; i++) {
    const double g = k * p->scale[i], re = p->fre[i], im = p->fim[i];
    p->fre[i] = g * (ca * re + sa * im);
    p->fim[i] = g * (ca * im - sa * re);
  }
}

int kur__phase_scale(kphase *p, lam_model_ctx *ctx) {
  const int64_t n = p->n;
  const int norm = (int)ctx->params[P_NORM];
  for (int64_t i = 0; i < n; i++) {
    double deg = 0, str = 0;
    if (p->rowptr) {
      for (int64_t e = p->rowptr[i]; e < p->rowptr[i + 1]; e++) {
        deg += p->w[e] != 0.0;
        str += p->w[e];
      }
    } else if (p->w) {
      for (int64_t j = 0; j < n; j++) {
        deg += p->w[i * n + j] != 0.0;
        str += p->w[i * n + j];
      }
    } else {
      deg = str = (double)n;
    }
    double g = 1.0;
    if (norm == NORM_N)
      g = 1.0 / (double)n;
    else if (norm == NORM_DEGREE)
      g = deg > 0 ? 1.0 / deg : 0.0; /* no inputs: no coupling, not 0/0 */
    else if (norm == NORM_STRENGTH) {
      if (str < 0 || (str == 0 && deg > 0)) {
        kur__api->set_error(ctx->host,
                            "norm = in_strength: row %lld of the weights sums "
                            "to %g; in-strength normalisation needs "
                            "non-negative row sums",
                            (long long)i, str);
        return LAM_EINVAL;
      }
      g = str > 0 ? 1.0 / str : 0.0;
    }
    p->scale[i] = g;
  }
  return LAM_OK;
}

int kur__phase_ring(kphase *p, lam_model_ctx *ctx, int64_t maxd) {
  kur__api->free(p->hc);
  kur__api->free(p->hs);
  kur__api->free(p->hz);
  p->hc = p->hs = p->hz = NULL;
  p->maxd = maxd;
  p->depth = maxd + 1;
  p->head = 0;
  p->fill_history = 1;
  if (maxd == 0)
    return LAM_OK;
  if (p->cpl == CPL_MEAN) {
    p->hz = kur__alloc(ctx, 4 * p->depth, sizeof *p->hz);
    return p->hz ? LAM_OK : LAM_ENOMEM;
  }
  if (p->depth > INT64_MAX / p->n) {
    kur__api->set_error(ctx->host, "delay history too large");
    return LAM_ENOMEM;
  }
  if (p->depth > INT64_MAX / (2 * p->n)) {
    kur__api->set_error(ctx->host, "delay history too large");
    return LAM_ENOMEM;
  }
  p->hc = kur__alloc(ctx, 2 * p->depth * p->n, sizeof *p->hc);
  p->hs = p->hc ? kur__alloc(ctx, 2 * p->n, sizeof *p->hs) : NULL;
  return p->hs ? LAM_OK : LAM_ENOMEM;
}
