/*
 * trig.c - cos and sin of a whole array, the Euler step fused with them,
 * and the order parameter's lane sums, written so the compiler can
 * vectorise them (one clone per instruction set, KUR_CLONES).
 *
 * The per-step cost of every coupling is dominated by one cos and one sin
 * per oscillator.  glibc's scalar sin/cos cost ~10 ns each here, and its
 * vector variants (libmvec) are only declared under -ffast-math, which the
 * build does not use (reproducibility).  This file evaluates both with the
 * same algorithm as fdlibm's kernels, branch-free so that the loop
 * vectorises:
 *   1. q = nearest integer to x 2/pi (the 1.5 2^52 rounding trick; its low
 *      bits give the quadrant);
 *   2. r = x - q pi/2 with pi/2 split in three parts (Cody-Waite, with
 *      fma; exact products for |q| < 2^20, i.e. |x| < 1.6e6 rad, beyond
 *      which the error grows like ulp(x), the uncertainty of x itself);
 *   3. fdlibm's minimax polynomials for sin and cos on [-pi/4, pi/4]
 *      (errors below 1 ulp of the result) and the quadrant's swap and
 *      signs.
 * Results agree with glibc to about 1e-16 absolute; the same binary always
 * gives the same bits.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kur_int.h"

static const double two_over_pi = 6.36619772367581382433e-01;
static const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
static const double p1 = 1.57079632673412561417e+00; /* first 33 bits of pi/2 */
static const double p2 = 6.07710050630396597660e-11; /* next 33 bits */
static const double p3 = 2.02226624871116645580e-21; /* the rest */
static const double s1 = -1.66666666666666324348e-01, s2 = 8.33333333332248946124e-03,
                    s3 = -1.98412698298579493134e-04, s4 = 2.75573137070700676789e-06,
                    s5 = -2.50507602534068634195e-08, s6 = 1.58969099521155010221e-10;
static const double c1 = 4.16666666666666019037e-02, c2 = -1.38888888888741095749e-03,
                    c3 = 2.48015872894767294178e-05, c4 = -2.75573143513906633035e-07,
                    c5 = 2.08757232129817482790e-09, c6 = -1.13596475577881948265e-11;


/* sin and cos of one x, inlined into the loops below so that they
 * vectorise.  fma() is exactly rounded, so every clone (hardware FMA in the
 * avx512f and fma clones, glibc's fma in the default one) gives the same
 * bits; it shortens the dependency chains of the reduction and the
 * polynomials (about 1.6 -> 1.3 ns per element here). */
static inline __attribute__((always_inline)) void sincos1(double x, double *s,
                                                          double *c) {
  const double qm = x * two_over_pi + magic, q = qm - magic;
  const double r = fma(-q, p3, fma(-q, p2, fma(-q, p1, x)));
  const double z = r * r;
  const double ps = fma(z, fma(z, fma(z, fma(z, fma(z, s6, s5), s4), s3), s2), s1);
  const double sr = fma(r * z, ps, r);
  const double hz = 0.5 * z, w = 1.0 - hz;
  const double cp = z * fma(z, fma(z, fma(z, fma(z, fma(z, c6, c5), c4), c3), c2), c1);
  const double cr = w + (((1.0 - w) - hz) + z * cp);
  /* The quadrant k = q mod 4 is in the low bits of qm (1.5 2^52 + q, two's
   * complement for q < 0): (sin, cos) is (sr, cr), (cr, -sr), (-sr, -cr),
   * (-cr, sr) for k = 0, 1, 2, 3, i.e. swap when k is odd, sin negated
   * when bit 1 of k is set, cos when bit 1 of k + 1 is.  Integer selects
   * and sign flips vectorise into a few mask and xor instructions. */
  uint64_t k, a, b;
  memcpy(&k, &qm, sizeof k);
  const double sa = (k & 1) ? cr : sr, sb = (k & 1) ? sr : cr;
  memcpy(&a, &sa, sizeof a);
  memcpy(&b, &sb, sizeof b);
  a ^= (k & 2) << 62;
  b ^= ((k + 1) & 2) << 62;
  memcpy(s, &a, sizeof a);
  memcpy(c, &b, sizeof b);
}

KUR_CLONES void kur__sincos(const double *x, double *s, double *c, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    sincos1(x[i], &s[i], &c[i]);
}

/* The first-order Euler step fused with the next step's cos and sin: one
 * pass instead of an update pass and a trig pass (the body is the formula
 * of phase.c's rhs(); per-target field when fre != NULL). */
static inline __attribute__((always_inline)) void
euler_loop(int64_t n, double *restrict th, double *restrict c, double *restrict s, const double *restrict w,
           const double *restrict in, const double *restrict eta,
           const double *restrict fre, const double *restrict fim, double h,
           double hr, double hi, int field, int noise, int input) {
  for (int64_t i = 0; i < n; i++) {
    const double ci = field ? fim[i] + hi : hi, cr = field ? fre[i] + hr : hr;
    /* without input: w + 0 is w, so the sum has the same bits */
    const double d = h * ((input ? w[i] + in[i] : w[i]) + ci * c[i] - cr * s[i]);
    const double t = th[i] + (noise ? d + eta[i] : d);
    th[i] = t;
    sincos1(t, &s[i], &c[i]);
  }
}

KUR_CLONES void kur__euler_trig(const kur_euler *e, int64_t i0, int64_t i1) {
  const int field = e->fre != NULL, noise = e->eta != NULL, input = e->in != NULL;
#define EULER_VARIANT(f, z, u)                                                 \
  euler_loop(i1 - i0, e->th + i0, e->c + i0, e->s + i0, e->w + i0,            \
             u ? e->in + i0 : NULL, z ? e->eta + i0 : NULL,                    \
             f ? e->fre + i0 : NULL, f ? e->fim + i0 : NULL, e->h, e->hr,      \
             e->hi, f, z, u)
  switch (field << 2 | noise << 1 | input) {
  case 0: EULER_VARIANT(0, 0, 0); break;
  case 1: EULER_VARIANT(0, 0, 1); break;
  case 2: EULER_VARIANT(0, 1, 0); break;
  case 3: EULER_VARIANT(0, 1, 1); break;
  case 4: EULER_VARIANT(1, 0, 0); break;
  case 5: EULER_VARIANT(1, 0, 1); break;
  case 6: EULER_VARIANT(1, 1, 0); break;
  default: EULER_VARIANT(1, 1, 1); break;
  }
#undef EULER_VARIANT
}

/* Sums in KUR_LANES independent lanes: element i goes to lane i mod
 * KUR_LANES, so a chunked pass (chunks of a multiple of KUR_LANES) and one
 * whole-array pass add the same numbers in the same order.  Independent
 * chains vectorise and do not wait on each other's additions; the fixed
 * order keeps the result bit-reproducible (no -ffast-math reassociation). */
/* Eight doubles as one value: GCC keeps the accumulators in registers (a
 * local array of lanes went through the stack on every iteration) and
 * splits it into what each clone's registers hold. */
typedef double kur_v8 __attribute__((vector_size(64)));

KUR_CLONES void kur__lanes(const double *restrict c, const double *restrict s,
                           int64_t n, double acc[2 * KUR_LANES]) {
  kur_v8 a0, a1, b0, b1, x;
  memcpy(&a0, acc, sizeof a0);
  memcpy(&a1, acc + 8, sizeof a1);
  memcpy(&b0, acc + KUR_LANES, sizeof b0);
  memcpy(&b1, acc + KUR_LANES + 8, sizeof b1);
  int64_t i = 0;
  for (; i + KUR_LANES <= n; i += KUR_LANES) {
    memcpy(&x, c + i, sizeof x);
    a0 += x;
    memcpy(&x, c + i + 8, sizeof x);
    a1 += x;
    memcpy(&x, s + i, sizeof x);
    b0 += x;
    memcpy(&x, s + i + 8, sizeof x);
    b1 += x;
  }
  memcpy(acc, &a0, sizeof a0);
  memcpy(acc + 8, &a1, sizeof a1);
  memcpy(acc + KUR_LANES, &b0, sizeof b0);
  memcpy(acc + KUR_LANES + 8, &b1, sizeof b1);
  for (int k = 0; i + k < n; k++) {
    acc[k] += c[i + k];
    acc[KUR_LANES + k] += s[i + k];
  }
}

void kur__lanes_total(const double acc[2 * KUR_LANES], double *a, double *b) {
  double x[2 * KUR_LANES];
  memcpy(x, acc, sizeof x);
  for (int half = KUR_LANES / 2; half > 0; half /= 2) /* pairwise, fixed */
    for (int k = 0; k < half; k++) {
      x[k] += x[k + half];
      x[KUR_LANES + k] += x[KUR_LANES + k + half];
    }
  *a = x[0];
  *b = x[KUR_LANES];
}
