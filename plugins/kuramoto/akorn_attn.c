/*
 * akorn_attn.c - the attention coupling of kuramoto.akorn (reference
 * section 2.2, "J = attn"): multi-head softmax self-attention over tokens,
 * with Q, K, V and the output as 1x1 projections (the AKOrN repository's
 * common_layers.Attention), optionally with GTA rotations.  J is then
 * state-dependent and asymmetric; one Kuramoto step costs one attention
 * layer.
 *
 * All samples' tokens are one [batch * L, C] matrix, so the Q/K/V and
 * output projections are one dgemm each over the whole batch; the scores
 * and the weighted sums are one dgemm per sample and head, reading q, k
 * and v in place (leading dimension 3C).  The softmax is max-subtracted
 * and left unnormalised through the second product: o_i = (sum_j e_ij
 * v_j) / sum_j e_ij, which saves an L x L pass of divisions.
 */
#include <math.h>
#include <string.h>

#include "akorn_int.h"

/* exp on arrays, branch-free so that the loop vectorises: k = round(x /
 * ln 2) with the 1.5 2^52 rounding trick, r = x - k ln 2 (Cody-Waite,
 * fdlibm's split: k ln2_hi is exact for |k| < 2^20), the Taylor series
 * of exp(r) to degree 13 (|r| <= 0.347: truncation below 5e-18 relative)
 * by Horner with fused multiply-adds, and the scale 2^k built from the low
 * bits of the rounded k.  fma() is explicit (the build does not contract):
 * one instruction in the x86-64-v3/v4 clones, glibc's exact software fma
 * in the baseline clone, so every clone gives the same bits. */
static const double inv_ln2 = 1.44269504088896338700e+00;
static const double ln2_hi = 6.93147180369123816490e-01;
static const double ln2_lo = 1.90821492927058770002e-10;
static const double magic = 6755399441055744.0; /* 1.5 * 2^52 */

static inline __attribute__((always_inline)) void
exp_loop(double *restrict v, int64_t n, double shift) {
  for (int64_t i = 0; i < n; i++) {
    const double x0 = v[i] - shift, x = x0 < -708.0 ? -708.0 : x0;
    union { double d; uint64_t u; } kb = {.d = x * inv_ln2 + magic}, sc;
    const double k = kb.d - magic;
    const double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;                 /* 1/13! */
    p = fma(p, r, 1.0 / 479001600.0);
    p = fma(p, r, 1.0 / 39916800.0);
    p = fma(p, r, 1.0 / 3628800.0);
    p = fma(p, r, 1.0 / 362880.0);
    p = fma(p, r, 1.0 / 40320.0);
    p = fma(p, r, 1.0 / 5040.0);
    p = fma(p, r, 1.0 / 720.0);
    p = fma(p, r, 1.0 / 120.0);
    p = fma(p, r, 1.0 / 24.0);
    p = fma(p, r, 1.0 / 6.0);
    p = fma(p, r, 0.5);
    p = fma(p, r * r, r); /* exp(r) - 1, kept apart from the 1 for accuracy */
    /* low bits of kb hold 2^51 + k; shifting by 52 drops the 2^51 */
    sc.u = (kb.u + 1023u) << 52;
    v[i] = x0 < -708.0 ? 0.0 : fma(sc.d, p, sc.d);
  }
}

/* Row-wise max and sum with eight independent lanes, so that the loops
 * vectorise without reassociating a single accumulator. */
static inline __attribute__((always_inline)) double
row_max(const double *restrict e, int64_t n) {
  double m[8];
  for (int l = 0; l < 8; l++)
    m[l] = e[0];
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; l++)
      m[l] = e[j + l] > m[l] ? e[j + l] : m[l];
  for (; j < n; j++)
    m[0] = e[j] > m[0] ? e[j] : m[0];
  double mx = m[0];
  for (int l = 1; l < 8; l++)
    mx = m[l] > mx ? m[l] : mx;
  return mx;
}

static inline __attribute__((always_inline)) double
row_sum(const double *restrict e, int64_t n) {
  double m[8] = {0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; l++)
      m[l] += e[j + l];
  for (; j < n; j++)
    m[0] += e[j];
  return ((m[0] + m[1]) + (m[2] + m[3])) + ((m[4] + m[5]) + (m[6] + m[7]));
}

/* Rows of s [rows, n] <- exp(s - row max); z[i] = the row's sum. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) KUR_VEC
#endif
void akorn__softmax_rows(double *s, int64_t rows, int64_t n, double *z) {
  for (int64_t i = 0; i < rows; i++) {
    double *e = s + i * n;
    exp_loop(e, n, row_max(e, n));
    z[i] = row_sum(e, n);
  }
}

/* Each of `rows` tokens (row r at a + r * ld, token r % L) holds `parts`
 * consecutive [C] blocks: add the bias b (parts * C values; NULL: none),
 * then, with GTA, rotate the channel pairs by +theta (sign 1) or -theta
 * (sign -1).  One pass for both. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default"))) KUR_VEC
#endif
void akorn__bias_rotate(const akorn_attn *t, double *a, int64_t rows,
                        int64_t ld, int parts, const double *b, double sign) {
  const int64_t np = t->C / 2;
  for (int64_t r = 0; r < rows; r++) {
    for (int part = 0; part < parts; part++) {
      double *restrict v = a + r * ld + part * t->C;
      if (b) {
        const double *restrict bp = b + part * t->C;
        for (int64_t e = 0; e < t->C; e++)
          v[e] += bp[e];
      }
      if (!t->gc)
        continue;
      const double *c = t->gc + (r % t->L) * np, *s = t->gs + (r % t->L) * np;
      for (int64_t p = 0; p < np; p++) {
        const double x0 = v[2 * p], x1 = v[2 * p + 1], sn = sign * s[p];
        v[2 * p] = c[p] * x0 - sn * x1;
        v[2 * p + 1] = sn * x0 + c[p] * x1;
      }
    }
  }
}

void akorn__attn_apply(akorn_attn *t, const double *x, double *out) {
  const int64_t L = t->L, C = t->C, C3 = 3 * C, hd = t->hd, rows = t->batch * L;
  kur__api->dgemm(0, 1, rows, C3, C, 1.0, x, C, t->w, C, 0.0, t->qkv, C3);
  akorn__bias_rotate(t, t->qkv, rows, C3, 3, t->b, 1.0);
  const double scale = 1.0 / sqrt((double)hd);
  for (int64_t s = 0; s < t->batch; s++)
    for (int64_t h = 0; h < t->heads; h++) {
      const double *q = t->qkv + s * L * C3 + h * hd, *k = q + C, *v = q + 2 * C;
      double *o = t->o + s * L * C + h * hd;
      kur__api->dgemm(0, 1, L, L, hd, scale, q, C3, k, C3, 0.0, t->s, L);
      akorn__softmax_rows(t->s, L, L, t->z);
      kur__api->dgemm(0, 0, L, hd, L, 1.0, t->s, L, v, C3, 0.0, o, C);
      for (int64_t i = 0; i < L; i++) {
        const double zi = 1.0 / t->z[i];
        for (int64_t d = 0; d < hd; d++)
          o[i * C + d] *= zi;
      }
    }
  if (t->gc)
    akorn__bias_rotate(t, t->o, rows, C, 1, NULL, -1.0);
  kur__api->dgemm(0, 1, rows, C, C, 1.0, t->o, C, t->wo, C, 0.0, out, C);
}

void akorn__attn_free(akorn_attn *t) {
  if (!t)
    return;
  void *owned[] = {t->w, t->b, t->wo, t->gc, t->gs, t->qkv, t->o, t->s, t->z};
  for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
    kur__api->free(owned[i]);
  memset(t, 0, sizeof *t);
}
