/*
 * tests/core/rng.c - Philox streams and the random-number transforms.
 *
 * Known answers for the block function were computed with Random123 itself
 * (a separate program calling philox4x32_R(10, ...)), not with lam_philox,
 * and they agree with Random123's published kat_vectors.  Statistical checks
 * use fixed seeds (so the file is deterministic) and 10^6 draws; every
 * tolerance is stated in the test name: 5 standard errors for moments, and an
 * upper-tail probability of 1e-5 for chi-square goodness of fit against
 * exact probabilities.
 */
#include "lamina.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_DRAWS 1000000
#define HIST_MAX 2048
#define SEED 20240611u

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* Running mean and central moments (Welford / Terriberry), accurate even
 * when the mean is large compared with the spread. */
typedef struct {
  double n, mean, m2, m3;
} stats;

static void stats_add(stats *s, double x) {
  double n1 = s->n;
  s->n += 1.0;
  double delta = x - s->mean;
  double dn = delta / s->n;
  double term1 = delta * dn * n1;
  s->mean += dn;
  s->m3 += term1 * dn * (s->n - 2.0) - 3.0 * dn * s->m2;
  s->m2 += term1;
}

static double stats_var(const stats *s) { return s->m2 / s->n; }
static double stats_skew(const stats *s) {
  return sqrt(s->n) * s->m3 / pow(s->m2, 1.5);
}

/* Upper 1e-5 point of chi-square with df degrees of freedom, by the
 * Wilson-Hilferty approximation (good to a few tenths for df >= 3). */
static double chi2_crit(int df) {
  const double z = 4.2649;
  double h = 2.0 / (9.0 * df);
  double t = 1.0 - h + z * sqrt(h);
  return df * t * t * t;
}

/* Chi-square of observed counts against probabilities pm[0..kmax) for the
 * values 0..kmax-1 out of n draws.  Adjacent values are pooled until every
 * bin expects at least 10 draws; the last bin takes the whole remaining
 * upper tail, including draws >= kmax (n minus the counts already used), so
 * nothing is lost when the histogram is too short.  Reports through ok(). */
static void chi2_check(const char *what, const int64_t *counts, const double *pm,
                       int kmax, double n) {
  double chi2 = 0.0, e = 0.0, o = 0.0, cum = 0.0, esum = 0.0, osum = 0.0;
  int bins = 0;
  for (int k = 0; k < kmax; k++) {
    e += n * pm[k];
    o += (double)counts[k];
    cum += pm[k];
    if (e >= 10.0 && n * (1.0 - cum) >= 10.0) {
      chi2 += (o - e) * (o - e) / e;
      esum += e;
      osum += o;
      bins++;
      e = o = 0.0;
    }
  }
  double et = n - esum, ot = n - osum;
  chi2 += (ot - et) * (ot - et) / et;
  bins++;
  int df = bins - 1;
  double crit = chi2_crit(df);
  ok(chi2 < crit, "%s: chi-square %.1f < %.1f (df %d, upper tail 1e-5)", what, chi2,
     crit, df);
}

static double poisson_pmf(int k, double lam) {
  return exp(k * log(lam) - lam - lgamma(k + 1.0));
}

static double binomial_pmf(int k, int n, double p) {
  if (k > n) return 0.0;
  return exp(lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) + k * log(p) +
             (n - k) * log1p(-p));
}

/* ------------------------------------------------------------------ */
/* Block function and keying                                            */
/* ------------------------------------------------------------------ */

static void test_philox(void) {
  static const struct {
    uint32_t ctr[4], key[2], want[4];
    const char *name;
  } kat[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, "zeros"},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
       "all ones"},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
       "digits of pi"},
  };
  for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
    uint32_t out[4];
    lam_philox(kat[i].ctr, kat[i].key, out);
    ok(memcmp(out, kat[i].want, sizeof out) == 0,
       "philox4x32-10 known answer (%s): %08x %08x %08x %08x", kat[i].name, out[0],
       out[1], out[2], out[3]);
  }
}

static void test_keying(void) {
  const uint64_t seed = 0x0123456789abcdefULL, inst = 0x1111222233334444ULL;
  const uint64_t purp = LAM_RNG_NOISE, index = 0x5555666677778888ULL;
  lam_rng r;
  lam_rng_init(&r, seed, inst, purp, index);

  /* The key is the first half of Philox(ctr = ids, key = seed). */
  uint32_t c[4] = {(uint32_t)inst, (uint32_t)(inst >> 32), (uint32_t)purp,
                   (uint32_t)(purp >> 32)};
  uint32_t k[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  uint32_t h[4];
  lam_philox(c, k, h);
  ok(r.key[0] == h[0] && r.key[1] == h[1],
     "stream key = words 0..1 of philox({instance, purpose}, seed)");

  /* Blocks are Philox(ctr = {block lo, block hi, index lo, index hi}). */
  int good = 1;
  for (uint32_t blk = 0; blk < 3; blk++) {
    uint32_t bc[4] = {blk, 0, (uint32_t)index, (uint32_t)(index >> 32)};
    uint32_t want[4];
    lam_philox(bc, r.key, want);
    for (int j = 0; j < 4; j++) good &= lam_rng_u32(&r) == want[j];
  }
  ok(good, "u32 stream = philox blocks 0, 1, 2 with the index in ctr[2..3]");

  /* The 64-bit block counter carries from ctr[0] into ctr[1]. */
  lam_rng_init(&r, seed, inst, purp, index);
  r.ctr[0] = 0xffffffffu;
  r.used = 4;
  uint32_t want[4];
  uint32_t bc[4] = {0, 1, (uint32_t)index, (uint32_t)(index >> 32)};
  lam_philox(bc, r.key, want);
  uint32_t got = lam_rng_u32(&r);
  ok(got == want[0] && r.ctr[0] == 0 && r.ctr[1] == 1,
     "block counter carries into its high word");

  /* lam_seed_derive is the second half of the same kind of block. */
  uint32_t d[4];
  uint32_t dc[4] = {7, 0, 9, 0};
  lam_philox(dc, k, d);
  uint64_t derived = lam_seed_derive(seed, 7, 9);
  ok(derived == ((uint64_t)d[2] | (uint64_t)d[3] << 32),
     "seed_derive(seed, a, b) = words 2..3 of philox({a, b}, seed)");
  ok(derived == lam_seed_derive(seed, 7, 9), "seed_derive is deterministic");
  ok(derived != lam_seed_derive(seed, 9, 7) && derived != lam_seed_derive(seed, 8, 9) &&
         derived != lam_seed_derive(seed, 7, 10) &&
         derived != lam_seed_derive(seed + 1, 7, 9) &&
         lam_seed_derive(seed, 1, 2) != lam_seed_derive(seed, 2, 1) &&
         lam_seed_derive(seed, 3, 0) != lam_seed_derive(seed, 1, 2),
     "seed_derive differs for any changed or swapped input (no sums)");
  lam_rng_init(&r, seed, 7, 9, 0);
  uint64_t key64 = (uint64_t)r.key[0] | (uint64_t)r.key[1] << 32;
  ok(key64 != derived, "derived seed differs from the key of the same triple");
}

/* Number of equal words among the first n u32 of two streams. */
static int coincidences(const lam_rng *a0, const lam_rng *b0, int n) {
  lam_rng a = *a0, b = *b0;
  int same = 0;
  for (int i = 0; i < n; i++) same += lam_rng_u32(&a) == lam_rng_u32(&b);
  return same;
}

static void test_determinism(void) {
  lam_rng a, b;
  lam_rng_init(&a, SEED, 3, LAM_RNG_NOISE, 5);
  lam_rng_init(&b, SEED, 3, LAM_RNG_NOISE, 5);
  ok(memcmp(&a, &b, sizeof a) == 0, "same key gives the same initial state");
  ok(coincidences(&a, &b, 1000) == 1000, "same key: 1000 identical u32 draws");

  /* Mixed draws: every transform is deterministic, bit for bit. */
  int same = 1;
  for (int i = 0; i < 1000; i++) {
    double x = lam_rng_uniform(&a), y = lam_rng_uniform(&b);
    same &= memcmp(&x, &y, sizeof x) == 0;
    x = lam_rng_normal(&a), y = lam_rng_normal(&b);
    same &= memcmp(&x, &y, sizeof x) == 0;
    x = lam_rng_exponential(&a), y = lam_rng_exponential(&b);
    same &= memcmp(&x, &y, sizeof x) == 0;
    same &= lam_rng_poisson(&a, 0.1 + i) == lam_rng_poisson(&b, 0.1 + i);
    same &= lam_rng_binomial(&a, 10 + 7 * i, 0.37) ==
            lam_rng_binomial(&b, 10 + 7 * i, 0.37);
  }
  ok(same, "same key: 1000 rounds of mixed draws are bitwise identical");

  /* A copied state continues identically (the stream carries no hidden
   * state), including a cached normal. */
  lam_rng c = a;
  same = 1;
  for (int i = 0; i < 100; i++) {
    double x = lam_rng_normal(&a), y = lam_rng_normal(&c);
    same &= memcmp(&x, &y, sizeof x) == 0;
  }
  ok(same, "a copied stream continues identically");

  static const struct {
    uint64_t seed, inst, purp, index;
    const char *what;
  } other[] = {
      {SEED + 1, 3, LAM_RNG_NOISE, 5, "seed"},
      {SEED + (1ULL << 32), 3, LAM_RNG_NOISE, 5, "seed high word"},
      {SEED, 4, LAM_RNG_NOISE, 5, "instance"},
      {SEED, 3 + (1ULL << 32), LAM_RNG_NOISE, 5, "instance high word"},
      {SEED, 3, LAM_RNG_SPIKES, 5, "purpose"},
      {SEED, 3, LAM_RNG_NOISE + (1ULL << 32), 5, "purpose high word"},
      {SEED, 3, LAM_RNG_NOISE, 6, "index"},
      {SEED, 3, LAM_RNG_NOISE, 5 + (1ULL << 32), "index high word"},
      {SEED, LAM_RNG_NOISE, 3, 5, "instance and purpose swapped"},
      {SEED, 3 + 1, LAM_RNG_NOISE - 1, 5, "instance and purpose, same sum"},
  };
  lam_rng_init(&a, SEED, 3, LAM_RNG_NOISE, 5);
  for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
    lam_rng_init(&b, other[i].seed, other[i].inst, other[i].purp, other[i].index);
    int n = coincidences(&a, &b, 1000);
    ok(n <= 3, "different %s: %d of 1000 u32 coincide (independent: ~0)", other[i].what,
       n);
  }
}

/* ------------------------------------------------------------------ */
/* Continuous distributions                                             */
/* ------------------------------------------------------------------ */

static void test_uniform_edges(void) {
  lam_rng r, s;
  lam_rng_init(&r, SEED, 1, 1, 0);

  /* The uniform is built from two words as stated: 27 + 26 bits. */
  s = r;
  uint32_t w0 = lam_rng_u32(&s), w1 = lam_rng_u32(&s);
  double want = (double)(((uint64_t)(w0 >> 5) << 26) | (w1 >> 6)) * 0x1p-53;
  double got = lam_rng_uniform(&r);
  ok(memcmp(&got, &want, sizeof got) == 0,
     "uniform = ((w0 >> 5) * 2^26 + (w1 >> 6)) * 2^-53, bit for bit");

  /* All-zero words are redrawn, never returned as 0. */
  lam_rng_init(&r, SEED, 1, 1, 0);
  memset(r.out, 0, sizeof r.out);
  r.used = 0;
  s = r;
  s.used = 4;
  got = lam_rng_uniform(&r);
  want = lam_rng_uniform(&s);
  ok(got > 0.0 && got == want, "a zero 53-bit value is redrawn (u = %.17g)", got);

  /* All-one words give the largest value, 1 - 2^-53, still below 1. */
  memset(r.out, 0xff, sizeof r.out);
  r.used = 0;
  got = lam_rng_uniform(&r);
  ok(got == 1.0 - 0x1p-53 && got < 1.0, "all-one words give 1 - 2^-53 < 1");
}

static void test_uniform(void) {
  lam_rng r;
  lam_rng_init(&r, SEED, 10, LAM_RNG_USER, 0);
  stats s = {0};
  double lo = 1.0, hi = 0.0;
  int64_t hist[100] = {0};
  for (int i = 0; i < N_DRAWS; i++) {
    double u = lam_rng_uniform(&r);
    stats_add(&s, u);
    if (u < lo) lo = u;
    if (u > hi) hi = u;
    int bin = (int)(u * 100.0);
    hist[bin < 100 ? bin : 99]++;
  }
  ok(lo > 0.0 && hi < 1.0,
     "uniform: 10^6 draws in the open (0, 1): min %.3g, max 1 - %.3g", lo, 1.0 - hi);
  double se_mean = sqrt(1.0 / 12.0 / N_DRAWS);
  double se_var = sqrt((1.0 / 80.0 - 1.0 / 144.0) / N_DRAWS);
  is_double(s.mean, 0.5, 5 * se_mean, "uniform: mean 1/2 within 5 SE (%.2g)",
            5 * se_mean);
  is_double(stats_var(&s), 1.0 / 12.0, 5 * se_var,
            "uniform: variance 1/12 within 5 SE (%.2g)", 5 * se_var);
  double pm[100];
  for (int i = 0; i < 100; i++) pm[i] = 0.01;
  chi2_check("uniform: 100 equal bins", hist, pm, 100, N_DRAWS);
}

/* Standard normal CDF, for binned goodness of fit. */
static double phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static void test_normal(void) {
  lam_rng r;
  lam_rng_init(&r, SEED, 11, LAM_RNG_USER, 0);
  stats s = {0};
  /* Bins of width 1/4 on [-4, 4), plus one bin for each tail. */
  int64_t hist[34] = {0};
  double pm[34];
  for (int i = 0; i < N_DRAWS; i++) {
    double x = lam_rng_normal(&r);
    stats_add(&s, x);
    int bin = x < -4.0 ? 0 : x >= 4.0 ? 33 : 1 + (int)floor((x + 4.0) * 4.0);
    if (bin > 32 && x < 4.0) bin = 32; /* x + 4 rounded up to 8 */
    hist[bin]++;
  }
  pm[0] = phi(-4.0);
  for (int b = 1; b < 33; b++)
    pm[b] = phi(-4.0 + b * 0.25) - phi(-4.0 + (b - 1) * 0.25);
  pm[33] = phi(-4.0);
  ok(r.spare_ok == 0, "normal: pairs are used up after an even number of draws");
  is_double(s.mean, 0.0, 5 / sqrt(N_DRAWS), "normal: mean 0 within 5 SE (%.2g)",
            5 / sqrt(N_DRAWS));
  is_double(stats_var(&s), 1.0, 5 * sqrt(2.0 / N_DRAWS),
            "normal: variance 1 within 5 SE (%.2g)", 5 * sqrt(2.0 / N_DRAWS));
  is_double(stats_skew(&s), 0.0, 5 * sqrt(6.0 / N_DRAWS),
            "normal: skewness 0 within 5 SE (%.2g)", 5 * sqrt(6.0 / N_DRAWS));
  chi2_check("normal: 34 bins of width 1/4 and tails", hist, pm, 34, N_DRAWS);
  (void)lam_rng_normal(&r);
  ok(r.spare_ok == 1, "normal: the second of a pair is cached in the stream");
}

static void test_exponential(void) {
  lam_rng r;
  lam_rng_init(&r, SEED, 12, LAM_RNG_USER, 0);
  stats s = {0};
  double lo = INFINITY;
  /* Bins of width 1/4 on [0, 10), plus the tail. */
  int64_t hist[41] = {0};
  double pm[41];
  for (int i = 0; i < N_DRAWS; i++) {
    double x = lam_rng_exponential(&r);
    stats_add(&s, x);
    if (x < lo) lo = x;
    int bin = x >= 10.0 ? 40 : (int)(x * 4.0);
    hist[bin]++;
  }
  for (int b = 0; b < 40; b++) pm[b] = exp(-b * 0.25) - exp(-(b + 1) * 0.25);
  pm[40] = exp(-10.0);
  ok(lo > 0.0 && isfinite(s.mean), "exponential: every draw finite and > 0 (min %.3g)",
     lo);
  is_double(s.mean, 1.0, 5 / sqrt(N_DRAWS), "exponential: mean 1 within 5 SE (%.2g)",
            5 / sqrt(N_DRAWS));
  is_double(stats_var(&s), 1.0, 5 * sqrt(8.0 / N_DRAWS),
            "exponential: variance 1 within 5 SE (%.2g)", 5 * sqrt(8.0 / N_DRAWS));
  chi2_check("exponential: 41 bins", hist, pm, 41, N_DRAWS);
}

/* ------------------------------------------------------------------ */
/* Discrete distributions                                               */
/* ------------------------------------------------------------------ */

static int64_t hist_buf[HIST_MAX];
static double pm_buf[HIST_MAX];

static void test_poisson_at(double lam, uint64_t instance) {
  lam_rng r;
  lam_rng_init(&r, SEED, instance, LAM_RNG_USER + 1, 0);
  stats s = {0};
  int64_t bad = 0;
  memset(hist_buf, 0, sizeof hist_buf);
  for (int i = 0; i < N_DRAWS; i++) {
    int64_t k = lam_rng_poisson(&r, lam);
    if (k < 0) bad++;
    stats_add(&s, (double)k);
    if (k >= 0 && k < HIST_MAX) hist_buf[k]++;
  }
  ok(bad == 0, "poisson(%g): no negative draws", lam);
  double se_mean = sqrt(lam / N_DRAWS);
  double se_var = sqrt((lam + 2 * lam * lam) / N_DRAWS);
  is_double(s.mean, lam, 5 * se_mean, "poisson(%g): mean %g within 5 SE (%.3g)", lam,
            lam, 5 * se_mean);
  is_double(stats_var(&s), lam, 5 * se_var,
            "poisson(%g): variance %g within 5 SE = 5 sqrt((l + 2 l^2) / N) (%.3g)",
            lam, lam, 5 * se_var);
  for (int k = 0; k < HIST_MAX; k++) pm_buf[k] = poisson_pmf(k, lam);
  char what[64];
  snprintf(what, sizeof what, "poisson(%g) pmf", lam);
  chi2_check(what, hist_buf, pm_buf, HIST_MAX, N_DRAWS);
}

static void test_binomial_at(int n, double p, uint64_t instance) {
  lam_rng r;
  lam_rng_init(&r, SEED, instance, LAM_RNG_USER + 2, 0);
  stats s = {0};
  int64_t bad = 0;
  memset(hist_buf, 0, sizeof hist_buf);
  for (int i = 0; i < N_DRAWS; i++) {
    int64_t k = lam_rng_binomial(&r, n, p);
    if (k < 0 || k > n)
      bad++;
    else
      hist_buf[k]++;
    stats_add(&s, (double)k);
  }
  ok(bad == 0, "binomial(%d, %g): every draw in [0, n]", n, p);
  double npq = n * p * (1 - p);
  double se_mean = sqrt(npq / N_DRAWS);
  /* Var of the sample variance ~ (mu4 - sigma^4) / N with
   * mu4 = npq (1 + 3 (n - 2) pq). */
  double se_var = sqrt((npq * (1 - 6 * p * (1 - p)) + 2 * npq * npq) / N_DRAWS);
  is_double(s.mean, n * p, 5 * se_mean, "binomial(%d, %g): mean np within 5 SE (%.3g)",
            n, p, 5 * se_mean);
  is_double(stats_var(&s), npq, 5 * se_var,
            "binomial(%d, %g): variance np(1-p) within 5 SE (%.3g)", n, p, 5 * se_var);
  for (int k = 0; k < HIST_MAX; k++) pm_buf[k] = binomial_pmf(k, n, p);
  char what[64];
  snprintf(what, sizeof what, "binomial(%d, %g) pmf", n, p);
  chi2_check(what, hist_buf, pm_buf, HIST_MAX, N_DRAWS);
}

static void test_discrete_edges(void) {
  lam_rng r;
  lam_rng_init(&r, SEED, 20, LAM_RNG_USER, 0);
  int zeros = 1;
  for (int i = 0; i < 100; i++) zeros &= lam_rng_poisson(&r, 0.0) == 0;
  ok(zeros, "poisson(0) is always 0");
  ok(lam_rng_poisson(&r, -1.0) == -1 && lam_rng_poisson(&r, -1e-300) == -1 &&
         lam_rng_poisson(&r, NAN) == -1 && lam_rng_poisson(&r, INFINITY) == -1 &&
         lam_rng_poisson(&r, -INFINITY) == -1 && lam_rng_poisson(&r, 0x1p63) == -1,
     "poisson: negative, NaN, infinite or > 2^62 mean gives -1");

  /* Very large means stay exact enough to centre on the mean. */
  stats s = {0};
  for (int i = 0; i < 1000; i++) stats_add(&s, (double)lam_rng_poisson(&r, 1e12));
  is_double(s.mean, 1e12, 5 * sqrt(1e12 / 1000),
            "poisson(1e12): mean of 1000 within 5 SE");
  int64_t big = lam_rng_poisson(&r, 0x1p62);
  ok(fabs((double)big - 0x1p62) < 10 * 0x1p31, "poisson(2^62) lands within 10 sd");

  ok(lam_rng_binomial(&r, -1, 0.5) == -1 && lam_rng_binomial(&r, 10, -0.1) == -1 &&
         lam_rng_binomial(&r, 10, 1.1) == -1 && lam_rng_binomial(&r, 10, NAN) == -1 &&
         lam_rng_binomial(&r, 10, INFINITY) == -1,
     "binomial: n < 0 or p outside [0, 1] or NaN gives -1");
  ok(lam_rng_binomial(&r, 0, 0.3) == 0 && lam_rng_binomial(&r, 17, 0.0) == 0 &&
         lam_rng_binomial(&r, 17, 1.0) == 17,
     "binomial: n = 0 or p = 0 gives 0, p = 1 gives n");
  s = (stats){0};
  for (int i = 0; i < 1000; i++)
    stats_add(&s, (double)lam_rng_binomial(&r, 1000000000000LL, 0.3));
  is_double(s.mean, 3e11, 5 * sqrt(1e12 * 0.21 / 1000),
            "binomial(10^12, 0.3): mean of 1000 within 5 SE");
}

/* ------------------------------------------------------------------ */
/* lam_rng_fill                                                         */
/* ------------------------------------------------------------------ */

static void test_fill(void) {
  lam_rng r, c;
  lam_rng_init(&r, SEED, 30, LAM_RNG_INIT, 0);

  /* A contiguous f64 buffer gets a + (b - a) U, in order. */
  int64_t shape1[1] = {1000};
  lam_buf *f = lam_buf_new(LAM_F64, 1, shape1);
  c = r;
  is_int(lam_rng_fill(&r, f, LAM_DIST_UNIFORM, 2.0, 5.0), LAM_OK,
         "fill f64 uniform(2, 5)");
  int same = 1, inside = 1;
  for (int i = 0; i < 1000; i++) {
    double v = ((double *)f->data)[i];
    same &= v == 2.0 + 3.0 * lam_rng_uniform(&c);
    inside &= v > 2.0 && v < 5.0;
  }
  ok(same && inside, "f64 fill equals sequential uniform draws, all in (2, 5)");
  ok(memcmp(&r, &c, sizeof r) == 0, "fill leaves the stream where the draws end");

  /* A strided view gets the same values, in row-major order, as a
   * contiguous buffer of its shape, and nothing outside it changes. */
  int64_t shape2[2] = {10, 20};
  lam_buf *base = lam_buf_new(LAM_F64, 2, shape2);
  lam_buf *cols = lam_buf_slice(base, 1, 1, 20, 3); /* columns 1,4,..,19 */
  lam_buf *view = lam_buf_slice(cols, 0, 1, 10, 2); /* rows 1,3,..,9 */
  ok(view && view->shape[0] == 5 && view->shape[1] == 7, "view of shape [5, 7]");
  int64_t shape3[2] = {5, 7};
  lam_buf *dense = lam_buf_new(LAM_F64, 2, shape3);
  c = r;
  is_int(lam_rng_fill(&r, view, LAM_DIST_NORMAL, 1.0, 2.0), LAM_OK,
         "fill a strided view with normal(1, 2)");
  is_int(lam_rng_fill(&c, dense, LAM_DIST_NORMAL, 1.0, 2.0), LAM_OK,
         "fill a dense [5, 7] from a copy of the stream");
  same = 1;
  int untouched = 0;
  const double *bd = base->data, *dd = dense->data;
  for (int i = 0; i < 10; i++)
    for (int j = 0; j < 20; j++) {
      int in = (i % 2 == 1) && (j % 3 == 1);
      if (in)
        same &= bd[i * 20 + j] == dd[(i / 2) * 7 + j / 3];
      else
        untouched += bd[i * 20 + j] == 0.0;
    }
  ok(same, "strided view holds the dense draws in row-major order");
  is_int(untouched, 200 - 35, "elements outside the view are untouched");

  /* Integer and f32 dtypes. */
  lam_buf *i32 = lam_buf_new(LAM_I32, 1, shape1);
  lam_buf *u8 = lam_buf_new(LAM_U8, 1, shape1);
  lam_buf *i64 = lam_buf_new(LAM_I64, 1, shape1);
  lam_buf *f32 = lam_buf_new(LAM_F32, 1, shape1);
  c = r;
  int rc = lam_rng_fill(&r, i32, LAM_DIST_POISSON, 4.0, 0.0);
  rc |= lam_rng_fill(&r, u8, LAM_DIST_BINOMIAL, 10.0, 0.5);
  rc |= lam_rng_fill(&r, i64, LAM_DIST_NORMAL, 100.0, 10.0);
  rc |= lam_rng_fill(&r, f32, LAM_DIST_EXPONENTIAL, 3.0, 0.0);
  is_int(rc, LAM_OK, "fill i32 poisson, u8 binomial, i64 normal, f32 exponential");
  int ok32 = 1, ok8 = 1, ok64 = 1, okf = 1;
  for (int i = 0; i < 1000; i++)
    ok32 &= ((int32_t *)i32->data)[i] == lam_rng_poisson(&c, 4.0);
  for (int i = 0; i < 1000; i++)
    ok8 &= ((uint8_t *)u8->data)[i] == lam_rng_binomial(&c, 10, 0.5);
  for (int i = 0; i < 1000; i++)
    ok64 &=
        ((int64_t *)i64->data)[i] == (int64_t)round(100.0 + 10.0 * lam_rng_normal(&c));
  for (int i = 0; i < 1000; i++)
    okf &= ((float *)f32->data)[i] == (float)(3.0 * lam_rng_exponential(&c));
  ok(ok32, "i32 poisson fill equals the draws");
  ok(ok8, "u8 binomial fill equals the draws");
  ok(ok64, "i64 normal fill equals the rounded draws");
  ok(okf, "f32 exponential fill equals the draws");

  /* A 0-d buffer is one element; an empty one takes no draws. */
  lam_buf *scalar = lam_buf_new(LAM_F64, 0, NULL);
  c = r;
  is_int(lam_rng_fill(&r, scalar, LAM_DIST_UNIFORM, 0.0, 1.0), LAM_OK,
         "fill a 0-d buffer");
  ok(scalar && ((double *)scalar->data)[0] == lam_rng_uniform(&c),
     "0-d buffer got one draw");
  int64_t zero[1] = {0};
  lam_buf *empty = lam_buf_new(LAM_F64, 1, zero);
  c = r;
  is_int(lam_rng_fill(&r, empty, LAM_DIST_NORMAL, 0.0, 1.0), LAM_OK,
         "fill an empty buffer");
  ok(memcmp(&r, &c, sizeof r) == 0, "an empty fill takes no draws");

  /* Error paths: the message names the parameter and its value, and a
   * refused call neither draws nor writes. */
  c = r;
  double before = ((double *)f->data)[0];
  is_int(lam_rng_fill(&r, f, 99, 0.0, 1.0), LAM_EINVAL, "bad dist gives LAM_EINVAL");
  like(lam_last_error(), "dist = 99", "message names dist and its value");
  is_int(lam_rng_fill(&r, f, LAM_DIST_NORMAL, 0.0, -1.0), LAM_EINVAL,
         "normal sd < 0 gives LAM_EINVAL");
  like(lam_last_error(), "sd b = -1", "message names sd and its value");
  is_int(lam_rng_fill(&r, f, LAM_DIST_BINOMIAL, 10.0, 1.5), LAM_EINVAL,
         "binomial p > 1 gives LAM_EINVAL");
  like(lam_last_error(), "p b = 1.5", "message names p and its value");
  is_int(lam_rng_fill(&r, f, LAM_DIST_BINOMIAL, 2.5, 0.5), LAM_EINVAL,
         "binomial n = 2.5 gives LAM_EINVAL");
  like(lam_last_error(), "n a = 2.5", "message names n and its value");
  is_int(lam_rng_fill(&r, f, LAM_DIST_POISSON, -2.0, 0.0), LAM_EINVAL,
         "poisson mean < 0 gives LAM_EINVAL");
  like(lam_last_error(), "mean a = -2", "message names the mean and its value");
  is_int(lam_rng_fill(&r, f, LAM_DIST_EXPONENTIAL, NAN, 0.0), LAM_EINVAL,
         "exponential mean NaN gives LAM_EINVAL");
  is_int(lam_rng_fill(&r, f, LAM_DIST_UNIFORM, 3.0, 1.0), LAM_EINVAL,
         "uniform with b < a gives LAM_EINVAL");
  is_int(lam_rng_fill(&r, NULL, LAM_DIST_UNIFORM, 0.0, 1.0), LAM_EINVAL,
         "NULL buffer gives LAM_EINVAL");
  ok(memcmp(&r, &c, sizeof r) == 0 && ((double *)f->data)[0] == before,
     "refused fills neither draw nor write");
  is_int(lam_rng_fill(&r, u8, LAM_DIST_NORMAL, 1000.0, 1.0), LAM_ERANGE,
         "draws outside u8 give LAM_ERANGE");
  like(lam_last_error(), "does not fit u8", "message names the dtype");

  lam_buf_free(f);
  lam_buf_free(view);
  lam_buf_free(cols);
  lam_buf_free(base);
  lam_buf_free(dense);
  lam_buf_free(i32);
  lam_buf_free(u8);
  lam_buf_free(i64);
  lam_buf_free(f32);
  lam_buf_free(scalar);
  lam_buf_free(empty);
}

/* ------------------------------------------------------------------ */
/* lam_rng_normal_each against the scalar loop                          */
/* ------------------------------------------------------------------ */

/* Test hook in rng.c: lam_rng_normal_each with a chosen Philox (0 portable,
 * 1 AVX2, 2 AVX-512); -1 when this CPU lacks it. */
int lam__rng_normal_each_isa(lam_rng *r, int64_t n, double *out, int isa);

#define EACH_MAX 1000
#define EACH_CALLS 6

/* Streams in every state lam_rng_normal can meet, by i % 9: fresh (block 0
 * computed, nothing used), a cached spare, used = 1, 2, 3 (mid-block), at a
 * block boundary without spare, a block counter about to carry into
 * ctr[1], and two hand-made untouched blocks: one whose first uniform is
 * zero (the scalar code redraws across the block boundary) and one whose
 * point is rejected (s > 1). */
static void each_states(lam_rng *r, int n) {
  for (int i = 0; i < n; i++) {
    lam_rng_init(&r[i], SEED, 7, LAM_RNG_NOISE, (uint64_t)i);
    switch (i % 9) {
    case 1: (void)lam_rng_normal(&r[i]); break;
    case 2: case 3: case 4:
      for (int k = 0; k < i % 9 - 1; k++) (void)lam_rng_u32(&r[i]);
      break;
    case 5: (void)lam_rng_normal(&r[i]); (void)lam_rng_normal(&r[i]); break;
    case 6:
      r[i].ctr[0] = 0xFFFFFFFFu;
      lam_philox(r[i].ctr, r[i].key, r[i].out);
      r[i].used = 4;
      break;
    case 7: r[i].out[0] = 0x1Fu, r[i].out[1] = 0x3Fu; break;      /* hi, lo -> 0 */
    case 8: memset(r[i].out, 0xFF, sizeof r[i].out); break;       /* x, y ~ 1 */
    default: break;
    }
  }
}

/* isa -1: the public lam_rng_normal_each.  Returns 1 when out[] and the
 * streams equal the scalar loop's after every one of EACH_CALLS calls;
 * *rounds counts the draws that needed more than one trial. */
static int each_matches(int isa, int n, int off, int *same_state, int *retried) {
  static lam_rng a[EACH_MAX + 9], b[EACH_MAX + 9];
  static double oa[EACH_MAX], ob[EACH_MAX];
  each_states(a, n + off);
  memcpy(b, a, sizeof a);
  int same_out = 1;
  *same_state = 1;
  for (int c = 0; c < EACH_CALLS; c++) {
    for (int i = 0; i < n; i++) {
      uint32_t before = a[off + i].ctr[0];
      int spare = a[off + i].spare_ok;
      oa[i] = lam_rng_normal(&a[off + i]);
      /* more than one block taken by one generated pair: a rejection */
      if (!spare && a[off + i].ctr[0] - before > 1) (*retried)++;
    }
    memset(ob, 0x5A, sizeof ob);
    if (isa < 0)
      lam_rng_normal_each(b + off, n, ob);
    else
      lam__rng_normal_each_isa(b + off, n, ob, isa);
    same_out &= !memcmp(oa, ob, (size_t)n * sizeof *oa);
    *same_state &= !memcmp(a, b, sizeof a);
  }
  return same_out;
}

static void test_normal_each(void) {
  static const int sizes[] = {0, 1, 7, 8, 9, 33, 1000};
  static const char *const names[] = {"public", "portable", "avx2", "avx512f"};
  const int ns = (int)(sizeof sizes / sizeof sizes[0]);
  int retried = 0;
  for (int isa = -1; isa <= 2; isa++) {
    if (isa >= 0 && lam__rng_normal_each_isa(NULL, 0, NULL, isa) != 0) {
      skip(2 * ns, "this CPU lacks the instruction set");
      continue;
    }
    for (int k = 0; k < ns; k++) {
      int same_state;
      /* Start at a different stream for each size, so that each size
       * meets the states in another order. */
      int same = each_matches(isa, sizes[k], k % 9, &same_state, &retried);
      ok(same, "normal_each %s, n = %d: out[] bitwise the scalar loop's (%d calls)",
         names[isa + 1], sizes[k], EACH_CALLS);
      ok(same_state, "normal_each %s, n = %d: streams bitwise as after the loop",
         names[isa + 1], sizes[k]);
    }
  }
  ok(retried > 100, "rejected trials were exercised (%d draws needed a second block)",
     retried);

  /* Nothing is drawn for n <= 0 or a NULL pointer. */
  lam_rng r[2], r0[2];
  each_states(r, 2);
  memcpy(r0, r, sizeof r);
  double out[2] = {7.0, 7.0};
  lam_rng_normal_each(r, -1, out);
  lam_rng_normal_each(NULL, 2, out);
  lam_rng_normal_each(r, 2, NULL);
  ok(!memcmp(r, r0, sizeof r) && out[0] == 7.0 && out[1] == 7.0,
     "normal_each: n < 0 or NULL draws nothing");
  const lam_host_api *api = lam_host_api_get();
  ok(LAM_API_HAS(api, rng_normal_each) && api->rng_normal_each == lam_rng_normal_each,
     "host api: rng_normal_each is in the table");
}

int main(void) {
  /* tap.h's helpers are plain static functions; this one is not needed
   * here, and naming it keeps -Werror=unused-function quiet. */
  (void)is_str;
  tap_plan(129 + 4 * 2 * 7 + 3);
  test_philox();
  test_keying();
  test_determinism();
  test_uniform_edges();
  test_uniform();
  test_normal();
  test_exponential();
  static const double means[] = {0.5, 3.0, 9.9, 10.0, 47.5, 1000.0};
  for (size_t i = 0; i < sizeof means / sizeof means[0]; i++)
    test_poisson_at(means[i], 100 + i);
  static const struct {
    int n;
    double p;
  } bin[] = {{20, 0.3}, {1000, 0.01}, {1000, 0.4}, {100, 0.9}, {30, 0.8}, {20, 0.5}};
  for (size_t i = 0; i < sizeof bin / sizeof bin[0]; i++)
    test_binomial_at(bin[i].n, bin[i].p, 200 + i);
  test_discrete_edges();
  test_fill();
  test_normal_each();
  return tap_done();
}
