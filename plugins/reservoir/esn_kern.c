/*
 * esn_kern.c - the two inner loops of reservoir.esn's step, written for
 * SIMD: the CSR row sums of the recurrent product, and tanh of a whole
 * state vector (docs/reservoir.md states its accuracy).  Every
 * instruction-set variant gives the same bits as the portable code.
 *
 * CSR row sums, long rows (32 or more nonzeros per row on average).  Each
 * row's nonzeros are summed in eight lanes: entry a + 8m + j of row [a, e)
 * goes into lane j (no FMA), then the lanes are added as
 * ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)).  Eight independent
 * chains keep the adds from being latency bound; with AVX-512 the eight
 * lanes are one register, the eight x[col] loads are built into a vector
 * by the compiler (Zen 4's gather instruction is slower than that), the
 * values come in one 64-byte load, and a row's last partial block is
 * either a full block with the lanes past its end zeroed (reads past a row
 * stay inside the arrays; the matrix's last block is summed lane by lane)
 * or, for rows under 32, lane by lane through a switch.
 *
 * CSR row sums, short rows (e.g. N = 100 at 10 %: ~10 per row, where the
 * per-row overhead of the above dominates).  A sliced copy of W holds
 * eight rows side by side (esn_mat.sval/scol; rows sorted by length, so
 * that a slice has little padding), so one vector sums eight rows, each in
 * plain column order from +0; the portable code sums each CSR row in the
 * same order.
 *
 * Column indices are 16-bit when N <= 65536 (10 bytes per nonzero instead
 * of 12): at N = 1000 and 10 % density W is 1.0 MB instead of 1.2 MB.
 *
 * tanh.
 * At small N the activation was half of an ESN step, and glibc's tanh is a
 * scalar call with branches (its vector variants in libmvec are only
 * declared under -ffast-math, which the build does not use).  This loop
 * computes both of Cephes' branches for every element and selects, so it
 * has no branch and GCC vectorises it for AVX-512 and AVX2
 * (-fno-trapping-math for these loops only: it lets GCC if-convert the
 * selects without AVX-512's masks and changes no result; the SSE2
 * baseline stays scalar):
 *
 *   |x| <= 0.625:  tanh x = x + x s P(s)/Q(s), s = x^2 (Cephes' rational
 *                  minimax approximation, ~2.5e-16 relative);
 *   |x| >  0.625:  tanh x = 1 - 2/(e + 1), e = exp(2|x|) with 2|x|
 *                  capped at 40 (tanh rounds to 1 beyond 19.1);
 *
 * one division serves both (the selected numerator over the selected
 * denominator); the sign is put back at the end, so tanh(-0) = -0, and a
 * NaN goes through every operation and comes out NaN.  exp is evaluated as
 * 2^k e^r: k = round(y / ln 2) by the 1.5 2^52 rounding trick, r = y - k ln 2
 * with ln 2 split in two (exact products for k < 2^20), e^r from its Taylor
 * series to degree 13 (truncation < 5e-18 relative for |r| <= ln2/2), and
 * 2^k put into the exponent bits directly.
 *
 * Measured against an exact (mpmath) tanh at 3.4e5 points over [-25, 25],
 * 1e-320 .. 1 and around 0.625: at most 1.3 ulp (glibc's tanh: 2.0;
 * docs/reservoir.md).  No contraction into FMA (-ffp-contract=off) and
 * elementwise only, so every clone gives the same bits (checked: AVX-512,
 * AVX2 and SSE2 builds agree bit for bit on those points).
 */
#include <string.h>

#include "esn_int.h"


/* Cephes tanh.c, |x| <= 0.625: tanh x = x + x s P(s)/Q(s). */
static const double tp0 = -9.64399179425052238628e-1,
                    tp1 = -9.92877231001918586564e1,
                    tp2 = -1.61468768441708447952e3;
static const double tq1 = 1.12811678491632931402e2,
                    tq2 = 2.23548839060100448583e3,
                    tq3 = 4.84406305325125486048e3;
static const double inv_ln2 = 1.44269504088896338700e+00;
static const double ln2_hi = 6.93147180369123816490e-01; /* 32 bits */
static const double ln2_lo = 1.90821492927058770002e-10;
static const double magic = 6755399441055744.0; /* 1.5 * 2^52 */

/* tanh of one element; inlined into the loops below, where it
 * vectorises. */
static inline __attribute__((always_inline)) double vtanh(double x) {
  uint64_t xb;
  memcpy(&xb, &x, sizeof xb);
  const uint64_t sign = xb & 0x8000000000000000ULL;
  const uint64_t ab = xb ^ sign;
  double a;
  memcpy(&a, &ab, sizeof a);
  /* exp(y), y = 2|x| capped at 40 (a NaN stays NaN: the test is false) */
  const double y2 = 2.0 * a;
  const double y = y2 > 40.0 ? 40.0 : y2;
  const double kd = y * inv_ln2 + magic;
  const double k = kd - magic;
  const double r = (y - k * ln2_hi) - k * ln2_lo;
  const double p =
      r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 +
      r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 +
      r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800 +
      r * (1.0 / 39916800 + r * (1.0 / 479001600 +
      r * (1.0 / 6227020800.0)))))))))))));
  uint64_t kb;
  memcpy(&kb, &kd, sizeof kb);
  const uint64_t sb = (kb + 1023) << 52; /* 2^k: k is in kd's low bits */
  double scale;
  memcpy(&scale, &sb, sizeof scale);
  const double e = (1.0 + p) * scale;
  /* Cephes' rational function */
  const double s = a * a;
  const double ps = s * ((tp0 * s + tp1) * s + tp2);
  const double qs = ((s + tq1) * s + tq2) * s + tq3;
  /* One division for both branches: the operands are selected by bit
   * masks, because GCC turns selected operands back into two divisions
   * and a select. */
  const uint64_t m = a <= 0.625 ? ~(uint64_t)0 : 0;
  const double two = 2.0, e1 = e + 1.0;
  uint64_t psb, qsb, twob, e1b;
  memcpy(&psb, &ps, 8);
  memcpy(&qsb, &qs, 8);
  memcpy(&twob, &two, 8);
  memcpy(&e1b, &e1, 8);
  const uint64_t nb = (psb & m) | (twob & ~m), db = (qsb & m) | (e1b & ~m);
  double num, den;
  memcpy(&num, &nb, 8);
  memcpy(&den, &db, 8);
  const double q = num / den;
  const double ts = a + a * q, tl = 1.0 - q;
  uint64_t tsb, tlb;
  memcpy(&tsb, &ts, 8);
  memcpy(&tlb, &tl, 8);
  const uint64_t tb = ((tsb & m) | (tlb & ~m)) | sign;
  double out;
  memcpy(&out, &tb, sizeof out);
  return out;
}

ESN_VEC void esn__tanh(const double *r, double *z, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    z[i] = vtanh(r[i]);
}

ESN_VEC void esn__tanh_leak(const double *r, double *x, double keep,
                            double leak, double a1, const double *w1,
                            double a2, const double *w2, int64_t n) {
  /* the adds in the order of the separate passes they replace */
  if (w1 && w2)
    for (int64_t i = 0; i < n; i++)
      x[i] = keep * x[i] + leak * vtanh((r[i] + a1 * w1[i]) + a2 * w2[i]);
  else if (w1)
    for (int64_t i = 0; i < n; i++)
      x[i] = keep * x[i] + leak * vtanh(r[i] + a1 * w1[i]);
  else
    for (int64_t i = 0; i < n; i++)
      x[i] = keep * x[i] + leak * vtanh(r[i]);
}

/* ---------------------------------------------------------------- */
/* CSR row sums                                                       */
/* ---------------------------------------------------------------- */

/* The portable code, which defines the order of the sums. */
#define ROW_SUM(name, T, IDX)                                                  \
  static inline double name(const T *v, const IDX *c, int64_t k, int64_t e,    \
                            const T *x) {                                      \
    T l[8] = {0};                                                              \
    for (; k + 8 <= e; k += 8)                                                 \
      for (int j = 0; j < 8; j++)                                              \
        l[j] += v[k + j] * x[c[k + j]];                                        \
    for (int j = 0; k < e; k++, j++)                                           \
      l[j] += v[k] * x[c[k]];                                                  \
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));  \
  }
ROW_SUM(row_d16, double, uint16_t)
ROW_SUM(row_d32, double, int32_t)
ROW_SUM(row_f16, float, uint16_t)
ROW_SUM(row_f32, float, int32_t)

/* Row range of row i for part 0 (whole row), 1 (excitatory columns) or 2
 * (inhibitory columns). */
#define ROW_RANGE(m, part, i, a, e)                                            \
  const int64_t a = (part) == 2 ? (m)->split[i] : (m)->rowptr[i];              \
  const int64_t e = (part) == 1 ? (m)->split[i] : (m)->rowptr[(i) + 1]

static void rows_portable(const esn_mat *m, const double *x, const float *vf,
                          const float *xf, int part, double *out) {
  if (!vf && m->sval) {
    /* short rows: one sum per row in column order (the sliced order) */
    for (int64_t i = 0; i < m->n; i++) {
      ROW_RANGE(m, part, i, a, e);
      double acc = 0;
      for (int64_t k = a; k < e; k++)
        acc += m->val[k] * x[m->col16[k]];
      out[i] = acc;
    }
    return;
  }
  for (int64_t i = 0; i < m->n; i++) {
    ROW_RANGE(m, part, i, a, e);
    if (vf)
      out[i] = m->col16 ? (double)row_f16(vf, m->col16, a, e, xf)
                        : (double)row_f32(vf, m->col, a, e, xf);
    else
      out[i] = m->col16 ? row_d16(m->val, m->col16, a, e, x)
                        : row_d32(m->val, m->col, a, e, x);
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
typedef double v8d __attribute__((vector_size(64)));
typedef int64_t v8l __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

/* x at the eight 16-bit column indices c[k..k+7] (little endian: two
 * 8-byte loads, the indices taken out by shifts). */
#define GATHER16(x, c, k)                                                      \
  uint64_t q0, q1;                                                             \
  memcpy(&q0, (c) + (k), 8);                                                   \
  memcpy(&q1, (c) + (k) + 4, 8);                                               \
  const VT xv = {x[q0 & 0xffff], x[(q0 >> 16) & 0xffff],                       \
                 x[(q0 >> 32) & 0xffff], x[q0 >> 48], x[q1 & 0xffff],          \
                 x[(q1 >> 16) & 0xffff], x[(q1 >> 32) & 0xffff], x[q1 >> 48]}
#define GATHER32(x, c, k)                                                      \
  const VT xv = {x[c[k]],     x[c[k + 1]], x[c[k + 2]], x[c[k + 3]],           \
                 x[c[k + 4]], x[c[k + 5]], x[c[k + 6]], x[c[k + 7]]}

/* The same sums, eight lanes in one vector; VI is the integer vector of
 * VT's width.  A row's last partial block: with `masked`, a whole block
 * with the lanes past the row zeroed (best for long rows; needs k + 8 <=
 * nnz), else lane by lane through a switch (best for rows of ~10). */
#define ROW_VEC(name, T, VT, VI, IDX, GATHER)                                  \
  static inline double name(const T *v, const IDX *c, int64_t k, int64_t e,    \
                            int64_t nnz, int masked, const T *x) {             \
    VT s = {0};                                                                \
    for (; k + 8 <= e; k += 8) {                                               \
      VT vv;                                                                   \
      memcpy(&vv, v + k, sizeof vv);                                           \
      GATHER(x, c, k);                                                         \
      s += vv * xv;                                                            \
    }                                                                          \
    if (masked && k < e && k + 8 <= nnz) {                                     \
      const VI lane = {0, 1, 2, 3, 4, 5, 6, 7};                                \
      const VI on = lane < (VI){0} + (int32_t)(e - k);                         \
      VT vv;                                                                   \
      memcpy(&vv, v + k, sizeof vv);                                           \
      GATHER(x, c, k);                                                         \
      /* past the row: 0 * 0 = +0, and a lane + 0 is the lane (a lane is   \
       * never -0: it starts at +0, and a sum is -0 only when both are) */  \
      s += (VT)((VI)vv & on) * (VT)((VI)xv & on);                              \
      k = e;                                                                   \
    }                                                                          \
    T l[8];                                                                    \
    memcpy(l, &s, sizeof l);                                                   \
    switch (e - k) {                                                           \
    case 7: l[6] += v[k + 6] * x[c[k + 6]]; /* fall through */                 \
    case 6: l[5] += v[k + 5] * x[c[k + 5]]; /* fall through */                 \
    case 5: l[4] += v[k + 4] * x[c[k + 4]]; /* fall through */                 \
    case 4: l[3] += v[k + 3] * x[c[k + 3]]; /* fall through */                 \
    case 3: l[2] += v[k + 2] * x[c[k + 2]]; /* fall through */                 \
    case 2: l[1] += v[k + 1] * x[c[k + 1]]; /* fall through */                 \
    case 1: l[0] += v[k] * x[c[k]]; /* fall through */                         \
    default: break;                                                            \
    }                                                                          \
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));  \
  }
#define VT v8d
ROW_VEC(vrow_d16, double, v8d, v8l, uint16_t, GATHER16)
ROW_VEC(vrow_d32, double, v8d, v8l, int32_t, GATHER32)
#undef VT
#define VT v8f
ROW_VEC(vrow_f16, float, v8f, v8i, uint16_t, GATHER16)
ROW_VEC(vrow_f32, float, v8f, v8i, int32_t, GATHER32)
#undef VT

/* Short rows, sliced: eight rows at a time, one per lane, each summed in
 * column order from +0 like the portable code; entries outside the row's
 * part are masked to +0 after the product (so 0 * inf padding cannot
 * leak a NaN), and a lane + 0 is the lane. */
__attribute__((target("avx512f"))) static void
slices_avx512(const esn_mat *m, const double *x, int part, double *out) {
  const int64_t ns = (m->n + 7) / 8;
  for (int64_t q = 0; q < ns; q++) {
    const int64_t o = m->soff[q], w = (m->soff[q + 1] - o) / 8;
    v8l len, exc, lo, hi;
    memcpy(&len, m->slen + 8 * q, sizeof len);
    memcpy(&exc, m->sexc + 8 * q, sizeof exc);
    lo = part == 2 ? exc : (v8l){0};
    hi = part == 1 ? exc : len;
    const double *v = m->sval + o;
    const uint16_t *c = m->scol + o;
    v8d s = {0};
#define VT v8d
    for (int64_t k = 0; k < w; k++) {
      v8d vv;
      memcpy(&vv, v + 8 * k, sizeof vv);
      GATHER16(x, c, 8 * k);
      const v8l kk = (v8l){0} + k;
      const v8l on = (kk >= lo) & (kk < hi);
      s += (v8d)((v8l)(vv * xv) & on);
    }
#undef VT
    double l[8];
    memcpy(l, &s, sizeof l);
    for (int64_t j = 0; j < 8 && 8 * q + j < m->n; j++)
      out[m->srow[8 * q + j]] = l[j];
  }
}

__attribute__((target("avx512f"))) static void
rows_avx512(const esn_mat *m, const double *x, const float *vf,
            const float *xf, int part, double *out) {
  const int mk = m->nnz >= 32 * m->n; /* rows of 32 or more on average */
  const int64_t nz = m->nnz;
  for (int64_t i = 0; i < m->n; i++) {
    ROW_RANGE(m, part, i, a, e);
    if (vf)
      out[i] = m->col16 ? (double)vrow_f16(vf, m->col16, a, e, nz, mk, xf)
                        : (double)vrow_f32(vf, m->col, a, e, nz, mk, xf);
    else
      out[i] = m->col16 ? vrow_d16(m->val, m->col16, a, e, nz, mk, x)
                        : vrow_d32(m->val, m->col, a, e, nz, mk, x);
  }
}
#endif

void esn__csr_rows(const esn_mat *m, const double *x, const float *vf,
                   const float *xf, int part, double *out) {
#if defined(__GNUC__) && defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) {
    if (!vf && m->sval)
      slices_avx512(m, x, part, out);
    else
      rows_avx512(m, x, vf, xf, part, out);
    return;
  }
#endif
  rows_portable(m, x, vf, xf, part, out);
}
