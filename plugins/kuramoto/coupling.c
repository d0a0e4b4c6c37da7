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
  if (theta == p->trusted) /* cos, sin of these very phases: phase_int.h */
    return;
  kur__sincos(theta, p->s, p->c, p->n);
  p->zvalid = 0;
  /* The first stage of a step starts from the phases port: the end of one
   * step is the start of the next, so recording r(t) costs no second pass.
   * Later stages work on scratch arrays that are never reused as such. */
  p->trusted = first ? theta : NULL;
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

/* Chunks of the fused pass: its arrays (th, c, s, omega, input, field)
 * stay in L1 between the update-and-trig loop and the lane sums. */
#define EULER_CHUNK 512

void kur__phase_euler(kphase *p, double *th, const double *in,
                      const double *eta, double h, double fc, double fs) {
  const int mean = p->cpl == CPL_MEAN;
  const kur_euler e = {.th = th, .c = p->c, .s = p->s,
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
    } else if (p->smaj) { /* [n][depth][2]: each source's own ring */
      double *h = p->hc + 2 * p->head;
      for (int64_t j = 0; j < n; j++) {
        h[2 * j * p->depth] = p->c[j];
        h[2 * j * p->depth + 1] = p->s[j];
      }
    } else { /* [depth][n][2]: (cos, sin) pairs, one cache line per gather */
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

/* (re, im) as one value (GCC vector extension): one 16-byte load of an
 * interleaved (cos, sin) pair, one multiply and one add per edge. */
typedef double kur_v2 __attribute__((vector_size(16)));

static inline kur_v2 pair(const double *z, int64_t j) {
  kur_v2 v;
  memcpy(&v, z + 2 * j, sizeof v);
  return v;
}

/* A CSR row: four independent accumulators (edge e into e mod 4, then
 * (a0 + a1) + (a2 + a3)), so the adds of a row do not wait on each other;
 * a fixed order, so the result is bit-reproducible.  Written once for
 * 32-bit and once for 16-bit column indices (the same sums). */
#define KUR_CSR_ROW(NAME, IDX)                                                 \
  static inline __attribute__((always_inline)) kur_v2 NAME(                    \
      const double *w, const IDX *col, int64_t m, const double *z) {           \
    kur_v2 a0 = {0, 0}, a1 = a0, a2 = a0, a3 = a0;                             \
    int64_t e = 0;                                                             \
    for (; e + 4 <= m; e += 4) {                                               \
      a0 += KUR_W(e);                                                          \
      a1 += KUR_W(e + 1);                                                      \
      a2 += KUR_W(e + 2);                                                      \
      a3 += KUR_W(e + 3);                                                      \
    }                                                                          \
    for (; e < m; e++)                                                         \
      a0 += KUR_W(e);                                                          \
    return (a0 + a1) + (a2 + a3);                                              \
  }
#define KUR_W(e) (w ? w[e] * pair(z, col[e]) : pair(z, col[e]))
KUR_CSR_ROW(csr_row, int32_t)
KUR_CSR_ROW(csr_row16, uint16_t)
#undef KUR_W
#undef KUR_CSR_ROW

/* The sparse field; an unweighted graph (every weight wval) skips the
 * weight stream, two thirds of the bytes per edge, and scales each row's
 * sum once.  col16, when set, replaces col. */
KUR_CLONES static void csr_field(int64_t n, const int64_t *rowptr,
                                 const int32_t *col, const uint16_t *col16,
                                 const double *w, int wsame, double wval,
                                 const double *z, double *fre, double *fim) {
  for (int64_t i = 0; i < n; i++) {
    const int64_t e0 = rowptr[i], m = rowptr[i + 1] - e0;
    kur_v2 a; /* constant NULL weights: the row loops read no w */
    if (wsame)
      a = wval * (col16 ? csr_row16(NULL, col16 + e0, m, z)
                        : csr_row(NULL, col + e0, m, z));
    else
      a = col16 ? csr_row16(w + e0, col16 + e0, m, z)
                : csr_row(w + e0, col + e0, m, z);
    fre[i] = a[0];
    fim[i] = a[1];
  }
}

/* The common case: no per-edge lags or delays.  One pass reads each
 * weight once and accumulates both sums.  Sparse rows gather interleaved
 * pairs z (the ring slot of a uniform delay, else built here from xc, xs). */
static void net_plain(kphase *p, const double *xc, const double *xs,
                      const double *z) {
  const int64_t n = p->n;
  if (p->rowptr) {
    if (!z) {
      for (int64_t j = 0; j < n; j++) {
        p->zp[2 * j] = xc[j];
        p->zp[2 * j + 1] = xs[j];
      }
      z = p->zp;
    }
    csr_field(n, p->rowptr, p->col, p->col16, p->w, p->wsame, p->wval, z,
              p->fre, p->fim);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    double re = 0, im = 0;
    if (p->w) {
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

/* Dense per-edge delays, source-major: for each source j, every target i
 * reads j's own ring (depth pairs, a few kB that stay in L1) at its delay,
 * while the transposed weights and 16-bit delays stream.  Row-major order
 * would gather each edge from a different source's history (n depth 16
 * bytes, megabytes): a cache miss per edge.  Target i still adds its
 * sources in the order j = 0, 1, ..., so the sums are bitwise those of
 * net_plain and net_general; delay 0 reads the current stage. */
/* One source j's contribution to every target (the inner loop of
 * net_smaj): branch-free, so that it vectorises (gathers from the ring in
 * the avx512f clone). */
static inline __attribute__((always_inline)) void
smaj_source(int64_t n, const double *restrict h, const uint16_t *restrict d,
            const double *restrict w, double cj, double sj, int64_t head,
            int64_t depth, double *restrict re, double *restrict im) {
  for (int64_t i = 0; i < n; i++) {
    const int64_t k0 = head - (int64_t)d[i];
    const int64_t k = k0 < 0 ? k0 + depth : k0;
    /* k is in the ring also for d = 0: load unconditionally, then select
     * (a masked gather would not vectorise) */
    const double hc = h[2 * k], hs = h[2 * k + 1];
    const double zc = d[i] ? hc : cj, zs = d[i] ? hs : sj;
    const double wi = w ? w[i] : 1.0;
    re[i] += wi * zc;
    im[i] += wi * zs;
  }
}

KUR_CLONES static void smaj_all(int64_t n, const double *hc, const uint16_t *dt,
                                const double *wt, const double *xc,
                                const double *xs, int64_t head, int64_t depth,
                                double *re, double *im) {
  for (int64_t j = 0; j < n; j++) {
    if (wt)
      smaj_source(n, hc + 2 * j * depth, dt + j * n, wt + j * n, xc[j], xs[j],
                  head, depth, re, im);
    else
      smaj_source(n, hc + 2 * j * depth, dt + j * n, NULL, xc[j], xs[j], head,
                  depth, re, im);
  }
}

static void net_smaj(kphase *p, const double *xc, const double *xs) {
  memset(p->fre, 0, (size_t)p->n * sizeof *p->fre);
  memset(p->fim, 0, (size_t)p->n * sizeof *p->fim);
  smaj_all(p->n, p->hc, p->dt, p->wt, xc, xs, p->head, p->depth, p->fre,
           p->fim);
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
  const double *xc = p->c, *xs = p->s, *z = NULL;
  if (!p->edelay && p->maxd > 0) { /* uniform delay: the whole ring slot */
    z = p->hc + 2 * slot(p, p->maxd) * p->n;
    if (!p->rowptr) {
      for (int64_t j = 0; j < p->n; j++) {
        p->hs[j] = z[2 * j];
        p->hs[p->n + j] = z[2 * j + 1];
      }
      xc = p->hs;
      xs = p->hs + p->n;
    }
  }
  if (p->smaj)
    net_smaj(p, xc, xs);
  else if (p->edelay || p->lc)
    net_general(p, xc, xs);
  else
    net_plain(p, xc, xs, z);
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
  if (p->depth > INT64_MAX / (2 * p->n)) {
    kur__api->set_error(ctx->host, "delay history too large");
    return LAM_ENOMEM;
  }
  p->hc = kur__alloc(ctx, 2 * p->depth * p->n, sizeof *p->hc);
  p->hs = p->hc ? kur__alloc(ctx, 2 * p->n, sizeof *p->hs) : NULL;
  return p->hs ? LAM_OK : LAM_ENOMEM;
}

int kur__phase_layout(kphase *p, lam_model_ctx *ctx) {
  const int64_t n = p->n, depth = p->depth;
  p->wsame = p->rowptr && p->nnz > 0;
  for (int64_t e = 1; p->wsame && e < p->nnz; e++)
    p->wsame = p->w[e] == p->w[0];
  p->wval = p->wsame ? p->w[0] : 0.0;
  /* 16-bit copy of the column indices (no error when it cannot be had:
   * the 32-bit ones serve). */
  kur__api->free(p->col16);
  p->col16 = NULL;
  if (p->rowptr && p->nnz > 0 && n <= (int64_t)UINT16_MAX + 1 &&
      (p->col16 = kur__api->alloc((size_t)p->nnz * sizeof *p->col16)))
    for (int64_t e = 0; e < p->nnz; e++)
      p->col16[e] = (uint16_t)p->col[e];
  const int want = p->cpl == CPL_DENSE && p->edelay && !p->lc &&
                   p->maxd > 0 && p->maxd <= UINT16_MAX;
  uint16_t *dt = want ? kur__alloc(ctx, n * n, sizeof *dt) : NULL;
  double *wt = dt && p->w ? kur__alloc(ctx, n * n, sizeof *wt) : NULL;
  const int move = want != p->smaj && p->hc && depth > 1;
  double *t = move ? kur__alloc(ctx, 2 * depth * n, sizeof *t) : NULL;
  kur__api->free(p->wt);
  kur__api->free(p->dt);
  p->wt = wt;
  p->dt = dt;
  if ((want && (!dt || (p->w && !wt))) || (move && !t)) {
    /* Out of memory: fall back to the row-major path, whose ring layout
     * the next step refills from the current phases. */
    kur__api->free(dt);
    kur__api->free(wt);
    kur__api->free(t);
    p->wt = NULL;
    p->dt = NULL;
    if (p->smaj)
      p->fill_history = 1;
    p->smaj = 0;
    return LAM_ENOMEM;
  }
  for (int64_t i = 0; want && i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      dt[j * n + i] = (uint16_t)p->edelay[i * n + j];
      if (wt)
        wt[j * n + i] = p->w[i * n + j];
    }
  if (move) { /* keep the history: [depth][n][2] <-> [n][depth][2] */
    for (int64_t k = 0; k < depth; k++)
      for (int64_t j = 0; j < n; j++)
        for (int c = 0; c < 2; c++) {
          const int64_t tm = 2 * (k * n + j) + c, sm = 2 * (j * depth + k) + c;
          t[want ? sm : tm] = p->hc[want ? tm : sm];
        }
    kur__api->free(p->hc);
    p->hc = t;
  }
  p->smaj = want;
  return LAM_OK;
}
