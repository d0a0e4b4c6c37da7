/*
 * trig.c - cos and sin of a whole array, written so the compiler can
 * vectorise it.
 *
 * The per-step cost of every coupling is dominated by one cos and one sin
 * per oscillator.  glibc's scalar sin/cos cost ~10 ns each here, and its
 * vector variants (libmvec) are only declared under -ffast-math, which the
 * build does not use (reproducibility).  This file evaluates both with the
 * same algorithm as fdlibm's kernels, branch-free so that the loop
 * vectorises:
 *   1. q = nearest integer to x 2/pi (the 1.5 2^52 rounding trick; its low
 *      bits give the quadrant);
 *   2. r = x - q pi/2 with pi/2 split in three parts (Cody-Waite; exact
 *      products for |q| < 2^20, i.e. |x| < 1.6e6 rad, beyond which the
 *      error grows like ulp(x), the uncertainty of x itself);
 *   3. fdlibm's minimax polynomials for sin and cos on [-pi/4, pi/4]
 *      (errors below 1 ulp of the result) and the quadrant's swap and
 *      signs.
 * Results agree with glibc to about 1e-16 absolute; the same binary always
 * gives the same bits.
 */
#include <stdint.h>

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


static inline __attribute__((always_inline)) void
sincos_loop(const double *restrict x, double *restrict s,
                        double *restrict c, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const double q = (x[i] * two_over_pi + magic) - magic;
    const double r = ((x[i] - q * p1) - q * p2) - q * p3;
    const double z = r * r;
    const double sr = r + r * z * (s1 + z * (s2 + z * (s3 + z * (s4 + z * (s5 + z * s6)))));
    const double hz = 0.5 * z, w = 1.0 - hz;
    const double cp = z * (c1 + z * (c2 + z * (c3 + z * (c4 + z * (c5 + z * c6)))));
    const double cr = w + (((1.0 - w) - hz) + z * cp);
    /* Quadrant k = q mod 4 as q4 = q - 4 round(q/4) in {-2, ..., 2}, kept
     * in doubles so that the selects vectorise: (sin, cos) is (sr, cr),
     * (cr, -sr), (-sr, -cr), (-cr, sr) for k = 0, 1, 2, 3. */
    const double q4 = q - 4.0 * ((q * 0.25 + magic) - magic);
    const int odd = q4 == 1.0 || q4 == -1.0;
    const double a = odd ? cr : sr, b = odd ? sr : cr;
    s[i] = (q4 < -0.5 || q4 > 1.5) ? -a : a;
    c[i] = (q4 > 0.5 || q4 < -1.5) ? -b : b;
  }
}

/* One clone per instruction set; the loader picks the best at load time. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default"))) KUR_VEC
#endif
void kur__sincos(const double *x, double *s, double *c, int64_t n) {
  sincos_loop(x, s, c, n);
}
