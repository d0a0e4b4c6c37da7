/*
 * rng.c - counter-based random numbers: Philox4x32-10 streams and our own
 * transforms to uniform, normal, exponential, Poisson and binomial draws.
 *
 * Why counter-based: a stream is a pure function of its key and of how many
 * words were taken, so a model draws the same numbers whatever the thread
 * count, the shard or the order in which streams were created.  The block
 * function itself comes from Random123 (never re-implemented here); only the
 * keying and the transforms are ours, so that they are the same on every
 * platform and do not depend on libc's rand() or on any C++ library.  The
 * one exception is the vector Philox behind lam_rng_normal_each, which the
 * tests pin lane by lane against this scalar one.
 *
 * Stream keying.  A stream is named by four 64-bit numbers (seed, instance,
 * purpose, index).  Its 64-bit Philox key is
 *
 *     K = words 0..1 of philox4x32_10(ctr = {instance lo, instance hi,
 *                                            purpose lo, purpose hi},
 *                                     key = {seed lo, seed hi})
 *
 * i.e. Philox, keyed by the seed, is the hash that mixes the three ids.  It
 * is a bijection of the 128-bit counter for a fixed seed, so two different
 * (instance, purpose) pairs can only share a key through a 2^-64 collision
 * of the truncated output, and nothing is ever added together (instance 1
 * with purpose 2 is not instance 2 with purpose 1).  The index is not hashed:
 * it sits in ctr[2..3] of every block the stream computes, while ctr[0..1]
 * hold the 64-bit block counter, starting at 0.  Streams that differ only in
 * their index therefore walk disjoint counter ranges under one key, which is
 * exactly what Philox guarantees to be independent.
 *
 * lam_seed_derive(seed, a, b) hashes the same way but returns words 2..3 of
 * the block, so a derived seed is never the key of the stream named by the
 * same (seed, a, b): the two halves of one Philox output are independent.
 *
 * Reproducibility: every transform below uses only integer arithmetic,
 * IEEE-exact operations (+ - * / sqrt) and libm's log, log1p and exp, and the
 * Makefile builds with -ffp-contract=off, so the same seed and the same
 * binary give bitwise-identical draws.
 */
#include "lamina.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Random123's headers are clean under our warnings today; the push/pop keeps
 * any future warning of theirs from breaking a -Werror build of ours. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <Random123/philox.h>
#pragma GCC diagnostic pop

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

/* ------------------------------------------------------------------ */
/* The block function and stream state                                  */
/* ------------------------------------------------------------------ */

void lam_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
  philox4x32_key_t k = {{key[0], key[1]}};
  philox4x32_ctr_t o = philox4x32_R(10, c, k);
  out[0] = o.v[0];
  out[1] = o.v[1];
  out[2] = o.v[2];
  out[3] = o.v[3];
}

/* One Philox block of (a, b) keyed by seed: the common mixer behind stream
 * keys and derived seeds. */
static void mix(uint64_t seed, uint64_t a, uint64_t b, uint32_t out[4]) {
  const uint32_t ctr[4] = {(uint32_t)a, (uint32_t)(a >> 32), (uint32_t)b,
                           (uint32_t)(b >> 32)};
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  lam_philox(ctr, key, out);
}

void lam_rng_init(lam_rng *r, uint64_t seed, uint64_t instance, uint64_t purpose,
                  uint64_t index) {
  uint32_t h[4];
  if (!r) return;
  mix(seed, instance, purpose, h);
  /* Zeroing first clears the block counter (ctr[0..1]), `used` and the
   * cached normal, and leaves no stale bytes in a struct that may be saved
   * with a model's state. */
  memset(r, 0, sizeof *r);
  r->key[0] = h[0];
  r->key[1] = h[1];
  r->ctr[2] = (uint32_t)index;
  r->ctr[3] = (uint32_t)(index >> 32);
  /* out[] always holds the block of the current counter, so the first block
   * (counter 0) is computed now and nothing of it is used yet. */
  lam_philox(r->ctr, r->key, r->out);
}

uint64_t lam_seed_derive(uint64_t seed, uint64_t a, uint64_t b) {
  uint32_t h[4];
  mix(seed, a, b, h);
  return (uint64_t)h[2] | ((uint64_t)h[3] << 32);
}

/* The next block counter of r into c[0..1]: a 64-bit increment of
 * ctr[0..1] (the index in ctr[2..3] never changes). */
static inline void counter_next(const lam_rng *r, uint32_t c[2]) {
  c[0] = r->ctr[0] + 1u;
  c[1] = r->ctr[1] + (c[0] == 0);
}

uint32_t lam_rng_u32(lam_rng *r) {
  /* The range check also covers a corrupted `used`, so a bad state can
   * never read outside out[]. */
  if (r->used < 0 || r->used >= 4) {
    counter_next(r, r->ctr);
    lam_philox(r->ctr, r->key, r->out);
    r->used = 0;
  }
  return r->out[r->used++];
}

/* ------------------------------------------------------------------ */
/* Continuous transforms                                                */
/* ------------------------------------------------------------------ */

/* 27 + 26 bits of two words make a 53-bit integer x; x * 2^-53 is exact and
 * lies in [0, 1 - 2^-53].  Zero is redrawn (probability 2^-53) rather than
 * shifted by half a step, because x + 0.5 would round up to 1.0 at the top. */
static inline uint64_t uniform_bits(uint32_t a, uint32_t b) {
  return ((uint64_t)(a >> 5) << 26) | (uint64_t)(b >> 6);
}

double lam_rng_uniform(lam_rng *r) {
  for (;;) {
    uint32_t a = lam_rng_u32(r);
    uint64_t x = uniform_bits(a, lam_rng_u32(r));
    if (x != 0) return (double)x * 0x1p-53;
  }
}

/* The polar method's pieces, shared by lam_rng_normal and
 * lam_rng_normal_each so that both do the very same operations in the same
 * order (that is what makes them bit-identical): a point (x, y) of the
 * square from two uniforms, its squared radius s, acceptance of 0 < s < 1,
 * and the factor f with the normals x f and y f. */
static inline double polar_coord(double u) { return 2.0 * u - 1.0; }
static inline double polar_radius2(double x, double y) { return x * x + y * y; }
static inline int polar_accept(double s) { return (s < 1.0) & (s > 0.0); }
static inline double polar_factor(double s, double log_s) { return sqrt(-2.0 * log_s / s); }

/* One trial on the uniforms u1, u2: 1 with the normal in *z and the
 * stream's spare set, 0 when the point is rejected. */
static inline int polar_trial(lam_rng *r, double u1, double u2, double *z) {
  double x = polar_coord(u1);
  double y = polar_coord(u2);
  double s = polar_radius2(x, y);
  if (!polar_accept(s)) return 0;
  double f = polar_factor(s, log(s));
  r->spare = y * f;
  r->spare_ok = 1;
  *z = x * f;
  return 1;
}

double lam_rng_normal(lam_rng *r) {
  /* Marsaglia's polar method: it needs no sin/cos (fewer libm functions to
   * differ between platforms) and yields two independent normals per
   * accepted pair; the second is cached for the next call. */
  if (r->spare_ok) {
    r->spare_ok = 0;
    return r->spare;
  }
  for (;;) {
    double u1 = lam_rng_uniform(r);
    double u2 = lam_rng_uniform(r);
    double z;
    if (polar_trial(r, u1, u2, &z)) return z;
  }
}

double lam_rng_exponential(lam_rng *r) {
  /* U is never 0 or 1, so the result is finite and strictly positive. */
  return -log(lam_rng_uniform(r));
}

/* ------------------------------------------------------------------ */
/* One normal from each of many streams                                 */
/* ------------------------------------------------------------------ */

/* lam_rng_normal_each(r, n, out) must leave out[] and every stream exactly
 * as `for (i) out[i] = lam_rng_normal(&r[i])` does, so that a model can
 * switch to it without changing one output bit and old checkpoints stay
 * valid.  The scalar call spends most of its time in Philox and in the call
 * chain u32 -> uniform -> normal; here the streams are sorted by state:
 *
 *   - a cached spare is returned directly;
 *   - a stream at a block boundary (used == 4) needs exactly one fresh block
 *     per trial (two uniforms of two words each), so the blocks of 16 such
 *     streams are computed together by a vector Philox (below) and the polar
 *     transform runs per lane with polar_trial's very operations, libm's
 *     log included;
 *   - a stream whose current block is untouched (used == 0, as after
 *     lam_rng_init) runs its first trial on that block;
 *   - everything else (used 1..3, a corrupted `used`) and the 2^-53 case of
 *     a zero uniform, which redraws and so crosses a block boundary, take
 *     the scalar lam_rng_normal from the stream's unchanged state.
 *
 * A rejected trial leaves its stream at a block boundary with no spare, the
 * state the scalar loop would retry from, so it simply joins the next
 * round.  Streams are independent, so the order in which they are served
 * changes nothing.
 *
 * The vector Philox is the one re-implementation of the block function in
 * lamina (Random123's code is scalar); tests/core/rng.c pins
 * lam_rng_normal_each against the scalar loop, outputs and stream states bit
 * for bit, with every Philox this machine runs (portable = Random123's). */

enum { LANES = 16, CHUNK = 512 };
enum { ISA_PORTABLE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* in[0..3]: counters, in[4..5]: keys, one column per lane; out[0..3]: the
 * blocks.  The portable version is Random123's function lane by lane. */
static void philox_lanes_portable(uint32_t in[6][LANES], uint32_t out[4][LANES]) {
  for (int l = 0; l < LANES; l++) {
    const uint32_t c[4] = {in[0][l], in[1][l], in[2][l], in[3][l]};
    const uint32_t k[2] = {in[4][l], in[5][l]};
    uint32_t o[4];
    lam_philox(c, k, o);
    for (int j = 0; j < 4; j++) out[j][l] = o[j];
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define LAM__HAVE_X86 1
/* One Philox4x32 round on vectors of 32-bit lanes: (hi, lo) of M0 c0 and
 * M1 c2 from the even/odd 32x32 -> 64 multiplies, then Random123's
 * out = {hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0}, the key bumped by
 * (W0, W1) before every round but the first.  MULHILO(M, a, hi, lo) is
 * spelled out per instruction set below. */
#define PHILOX_ROUNDS(pfx, XOR, MULHILO, c0, c1, c2, c3, k0, k1, T)           \
  do {                                                                        \
    const T m0 = pfx##_set1_epi32((int)PHILOX_M0);                           \
    const T m1 = pfx##_set1_epi32((int)PHILOX_M1);                           \
    const T w0 = pfx##_set1_epi32((int)PHILOX_W0);                           \
    const T w1 = pfx##_set1_epi32((int)PHILOX_W1);                           \
    for (int rnd = 0; rnd < 10; rnd++) {                                      \
      T hi0, lo0, hi1, lo1;                                                   \
      if (rnd > 0) {                                                          \
        k0 = pfx##_add_epi32(k0, w0);                                         \
        k1 = pfx##_add_epi32(k1, w1);                                         \
      }                                                                       \
      MULHILO(m0, c0, hi0, lo0);                                              \
      MULHILO(m1, c2, hi1, lo1);                                              \
      c0 = XOR(XOR(hi1, c1), k0);                                             \
      c1 = lo1;                                                               \
      c2 = XOR(XOR(hi0, c3), k1);                                             \
      c3 = lo0;                                                               \
    }                                                                         \
  } while (0)

#define MULHILO512(m, a, hi, lo)                                              \
  do {                                                                        \
    __m512i pe = _mm512_mul_epu32(a, m);                                      \
    __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);               \
    lo = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));      \
    hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);      \
  } while (0)

__attribute__((target("avx512f"))) static void
philox_lanes_avx512(uint32_t in[6][LANES], uint32_t out[4][LANES]) {
  __m512i c0 = _mm512_loadu_si512(in[0]), c1 = _mm512_loadu_si512(in[1]);
  __m512i c2 = _mm512_loadu_si512(in[2]), c3 = _mm512_loadu_si512(in[3]);
  __m512i k0 = _mm512_loadu_si512(in[4]), k1 = _mm512_loadu_si512(in[5]);
  PHILOX_ROUNDS(_mm512, _mm512_xor_si512, MULHILO512, c0, c1, c2, c3, k0, k1, __m512i);
  _mm512_storeu_si512(out[0], c0);
  _mm512_storeu_si512(out[1], c1);
  _mm512_storeu_si512(out[2], c2);
  _mm512_storeu_si512(out[3], c3);
}

#define MULHILO256(m, a, hi, lo)                                              \
  do {                                                                        \
    __m256i pe = _mm256_mul_epu32(a, m);                                      \
    __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);               \
    lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);             \
    hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);             \
  } while (0)

__attribute__((target("avx2"))) static void
philox_lanes_avx2(uint32_t in[6][LANES], uint32_t out[4][LANES]) {
  for (int h = 0; h < LANES; h += 8) {
    __m256i c0 = _mm256_loadu_si256((const __m256i *)(in[0] + h));
    __m256i c1 = _mm256_loadu_si256((const __m256i *)(in[1] + h));
    __m256i c2 = _mm256_loadu_si256((const __m256i *)(in[2] + h));
    __m256i c3 = _mm256_loadu_si256((const __m256i *)(in[3] + h));
    __m256i k0 = _mm256_loadu_si256((const __m256i *)(in[4] + h));
    __m256i k1 = _mm256_loadu_si256((const __m256i *)(in[5] + h));
    PHILOX_ROUNDS(_mm256, _mm256_xor_si256, MULHILO256, c0, c1, c2, c3, k0, k1, __m256i);
    _mm256_storeu_si256((__m256i *)(out[0] + h), c0);
    _mm256_storeu_si256((__m256i *)(out[1] + h), c1);
    _mm256_storeu_si256((__m256i *)(out[2] + h), c2);
    _mm256_storeu_si256((__m256i *)(out[3] + h), c3);
  }
}
#undef MULHILO256
#undef MULHILO512
#undef PHILOX_ROUNDS
#endif

/* The best instruction set this CPU runs. */
static int isa_best(void) {
#ifdef LAM__HAVE_X86
  if (__builtin_cpu_supports("avx512f")) return ISA_AVX512;
  if (__builtin_cpu_supports("avx2")) return ISA_AVX2;
#endif
  return ISA_PORTABLE;
}

static void philox_lanes(int isa, uint32_t in[6][LANES], uint32_t out[4][LANES]) {
#ifdef LAM__HAVE_X86
  if (isa == ISA_AVX512) {
    philox_lanes_avx512(in, out);
    return;
  }
  if (isa == ISA_AVX2) {
    philox_lanes_avx2(in, out);
    return;
  }
#endif
  philox_lanes_portable(in, out);
}

/* One trial on the four words w of a block, as lam_rng_normal's loop does
 * it: 1 accepted (normal in *z, spare set), 0 rejected, -1 when a uniform
 * came out zero (the scalar code would redraw: the caller hands the stream,
 * still untouched, to lam_rng_normal).  On 0 and 1 the block is consumed:
 * out[] = w, used = 4; the caller sets the counter. */
static inline int block_trial(lam_rng *r, const uint32_t w[4], double *z) {
  uint64_t a = uniform_bits(w[0], w[1]), b = uniform_bits(w[2], w[3]);
  if (a == 0 || b == 0) return -1;
  memcpy(r->out, w, sizeof r->out);
  r->used = 4;
  return polar_trial(r, (double)a * 0x1p-53, (double)b * 0x1p-53, z);
}

/* The first half of polar_trial for all lanes of a group: x, y, s and
 * st = 1 accepted, 0 rejected, -1 a zero uniform (lam_rng_uniform would
 * redraw).  Branch-free: the 21 % rejections are random, and a branch per
 * lane on them was mispredicted often enough to cost a fifth of the time. */
static void polar_lanes(uint32_t blk[4][LANES], double x[LANES], double y[LANES],
                        double s2[LANES], int32_t st[LANES]) {
  for (int l = 0; l < LANES; l++) {
    uint64_t a = uniform_bits(blk[0][l], blk[1][l]);
    uint64_t b = uniform_bits(blk[2][l], blk[3][l]);
    x[l] = polar_coord((double)a * 0x1p-53);
    y[l] = polar_coord((double)b * 0x1p-53);
    s2[l] = polar_radius2(x[l], y[l]);
    int32_t zero = (a == 0) | (b == 0);
    st[l] = -zero | (int32_t)polar_accept(s2[l]); /* -1 when zero */
  }
}

static void normal_each(lam_rng *r, int64_t n, double *out, int isa) {
  int32_t pend[CHUNK];
  for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
    const int m = (int)(n - i0 < CHUNK ? n - i0 : CHUNK);
    lam_rng *rc = r + i0;
    double *oc = out + i0;
    int np = 0;
    for (int i = 0; i < m; i++) {
      lam_rng *s = &rc[i];
      if (s->spare_ok) {
        s->spare_ok = 0;
        oc[i] = s->spare;
      } else if (s->used == 4) {
        pend[np++] = i;
      } else if (s->used == 0) {
        uint32_t w[4];
        memcpy(w, s->out, sizeof w);
        int t = block_trial(s, w, &oc[i]);
        if (t < 0) oc[i] = lam_rng_normal(s);
        else if (t == 0) pend[np++] = i;
      } else {
        oc[i] = lam_rng_normal(s);
      }
    }
    /* Rounds of fresh blocks until every pending stream has accepted;
     * about 21.5 % (1 - pi/4) of the trials are rejected, so the rounds
     * shrink geometrically. */
    while (np > 0) {
      int keep = 0;
      for (int g = 0; g < np; g += LANES) {
        const int wl = np - g < LANES ? np - g : LANES;
        uint32_t in[6][LANES], blk[4][LANES];
        int32_t lane_idx[LANES];
        /* Lanes past wl compute a block nobody reads; zero keeps them
         * defined. */
        if (wl < LANES) memset(in, 0, sizeof in);
        for (int l = 0; l < wl; l++) {
          const lam_rng *s = &rc[lane_idx[l] = pend[g + l]];
          uint32_t c[2]; /* lam_rng_u32's counter step */
          counter_next(s, c);
          in[0][l] = c[0];
          in[1][l] = c[1];
          in[2][l] = s->ctr[2];
          in[3][l] = s->ctr[3];
          in[4][l] = s->key[0];
          in[5][l] = s->key[1];
        }
        philox_lanes(isa, in, blk);
        /* The transform in passes over the lanes, so that the logs, and
         * then the divisions and square roots, of different lanes overlap
         * instead of forming one long chain per lane; each lane still does
         * exactly polar_trial's operations.  st: 1 accepted, 0 rejected,
         * -1 a zero uniform. */
        double x[LANES], y[LANES], s2[LANES], f[LANES];
        int32_t st[LANES];
        polar_lanes(blk, x, y, s2, st);
        for (int l = 0; l < wl; l++)
          if (st[l] > 0) f[l] = log(s2[l]);
        for (int l = 0; l < wl; l++)
          if (st[l] > 0) f[l] = polar_factor(s2[l], f[l]);
        for (int l = 0; l < wl; l++) {
          const int i = lane_idx[l];
          lam_rng *s = &rc[i];
          if (st[l] < 0) { /* the scalar code redraws: let it */
            oc[i] = lam_rng_normal(s);
            continue;
          }
          s->ctr[0] = in[0][l];
          s->ctr[1] = in[1][l];
          s->out[0] = blk[0][l];
          s->out[1] = blk[1][l];
          s->out[2] = blk[2][l];
          s->out[3] = blk[3][l];
          s->used = 4;
          if (st[l] == 0) {
            pend[keep++] = i; /* keep <= g + l: nothing unread is lost */
            continue;
          }
          s->spare = y[l] * f[l];
          s->spare_ok = 1;
          oc[i] = x[l] * f[l];
        }
      }
      np = keep;
    }
  }
}

void lam_rng_normal_each(lam_rng *r, int64_t n, double *out) {
  if (n <= 0 || !r || !out) return;
  normal_each(r, n, out, isa_best());
}

/* Test hook: the same with a chosen Philox (0 portable, 1 AVX2, 2 AVX-512);
 * -1 when this CPU lacks that instruction set. */
int lam__rng_normal_each_isa(lam_rng *r, int64_t n, double *out, int isa);
int lam__rng_normal_each_isa(lam_rng *r, int64_t n, double *out, int isa) {
  if (isa < ISA_PORTABLE || isa > isa_best()) return -1;
  if (n > 0 && r && out) normal_each(r, n, out, isa);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Log-factorials for the rejection tests                               */
/* ------------------------------------------------------------------ */

/* fc(k) = log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2], the
 * error of Stirling's formula.  The rejection tests below are written in
 * terms of fc so that they never subtract two huge log-factorials (which
 * would lose every digit for large means).  Small k come from a table
 * computed to 40 digits; for k >= 16 five terms of the asymptotic series are
 * accurate to better than 1e-16. */
static const double fc_table[16] = {
    0.08106146679532726,  0.0413406959554093,    0.02767792568499834,
    0.020790672103765093, 0.016644691189821193,  0.013876128823070748,
    0.01189670994589177,  0.010411265261972096,  0.009255462182712733,
    0.00833056343336287,  0.007573675487951841,  0.00694284010720953,
    0.006408994188004207, 0.0059513701127588475, 0.005554733551962801,
    0.0052076559196096404};

static double stirling_fc(double k) {
  if (k < 16.0) return fc_table[(int)k];
  double x = k + 1.0, x2 = x * x;
  return (1.0 / 12.0 -
          (1.0 / 360.0 -
           (1.0 / 1260.0 - (1.0 / 1680.0 - 1.0 / (1188.0 * x2)) / x2) / x2) /
              x2) /
         x;
}

static const double HALF_LOG_2PI = 0.9189385332046728;

/* ------------------------------------------------------------------ */
/* Poisson                                                              */
/* ------------------------------------------------------------------ */

/* Means above 2^62 are refused: the draw would not reliably fit int64. */
static const double POISSON_MEAN_MAX = 0x1p62;

/* Inversion by sequential search, for small means: one uniform and about
 * mean + 1 steps per draw.  Subtracting the pmf from U instead of summing a
 * CDF keeps the comparison exact at the start; when rounding leaves U above
 * the whole (underflowed) tail, the draw restarts instead of looping. */
static int64_t poisson_inversion(lam_rng *r, double mean) {
  const double p0 = exp(-mean);
  for (;;) {
    double u = lam_rng_uniform(r);
    double p = p0;
    int64_t k = 0;
    while (u > p) {
      u -= p;
      k++;
      p *= mean / (double)k;
      if (p == 0.0) break;
    }
    if (p != 0.0) return k;
  }
}

/* Hörmann's PTRS (transformed rejection with squeeze; W. Hörmann, "The
 * transformed rejection method for generating Poisson random variables",
 * Insurance: Mathematics and Economics 12, 1993), exact for mean >= 10.
 * About 1.1 pairs of uniforms per draw.  The final test compares with
 * log f(k) = -mean + k log(mean) - log(k!), rewritten with fc and log1p so
 * that no large terms cancel. */
static int64_t poisson_ptrs(lam_rng *r, double mean) {
  const double slam = sqrt(mean);
  const double b = 0.931 + 2.53 * slam;
  const double a = -0.059 + 0.02483 * b;
  const double log_alpha = log(1.1239 + 1.1328 / (b - 3.4));
  const double vr = 0.9277 - 3.6224 / (b - 2.0);
  for (;;) {
    double u = lam_rng_uniform(r) - 0.5;
    double v = lam_rng_uniform(r);
    double us = 0.5 - fabs(u);
    double k = floor((2.0 * a / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= vr) return (int64_t)k;
    if (k < 0.0 || (us < 0.013 && v > us)) continue;
    /* Far outside the hat's bulk the density test can only fail; skipping
     * it also keeps the conversion to int64 defined. */
    if (k >= 0x1p63) continue;
    double lhs = log(v) + log_alpha - log(a / (us * us) + b);
    double rhs = (k + 1.0 - mean) + k * log1p((mean - k - 1.0) / (k + 1.0)) -
                 0.5 * log(k + 1.0) - HALF_LOG_2PI - stirling_fc(k);
    if (lhs <= rhs) return (int64_t)k;
  }
}

int64_t lam_rng_poisson(lam_rng *r, double mean) {
  if (!(mean >= 0.0) || !(mean <= POISSON_MEAN_MAX)) return -1;
  if (mean == 0.0) return 0;
  if (mean < 10.0) return poisson_inversion(r, mean);
  return poisson_ptrs(r, mean);
}

/* ------------------------------------------------------------------ */
/* Binomial                                                             */
/* ------------------------------------------------------------------ */

/* Inversion by sequential search for n p < 10 (p <= 1/2 here), using
 * f(x) / f(x - 1) = (n - x + 1) p / (x q).  As for Poisson, a draw that
 * rounding pushes past the support restarts rather than loops. */
static int64_t binomial_inversion(lam_rng *r, int64_t n, double p) {
  const double q = 1.0 - p;
  const double ratio = p / q;
  const double f0 = exp((double)n * log1p(-p));
  for (;;) {
    double u = lam_rng_uniform(r);
    double f = f0;
    int64_t x = 0;
    while (u > f) {
      u -= f;
      x++;
      if (x > n) break;
      f *= ratio * (double)(n - x + 1) / (double)x;
      if (f == 0.0) break;
    }
    if (x <= n && f != 0.0) return x;
  }
}

/* Hörmann's BTRD (transformed rejection with decomposition; W. Hörmann, "The
 * generation of binomial random variates", J. Statist. Comput. Simul. 46,
 * 1993), exact for n p >= 10 with p <= 1/2.  Step numbers follow the paper.
 * The final test uses log1p forms of its logarithms of ratios near 1, which
 * are the same quantities with less rounding for large n. */
static int64_t binomial_btrd(lam_rng *r, int64_t n, double p) {
  const double dn = (double)n;
  const double q = 1.0 - p;
  const double m = floor((dn + 1.0) * p);
  const double rr = p / q;
  const double nr = (dn + 1.0) * rr;
  const double npq = dn * p * q;
  const double spq = sqrt(npq);
  const double b = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * b + 0.01 * p;
  const double c = dn * p + 0.5;
  const double alpha = (2.83 + 5.1 / b) * spq;
  const double vr = 0.92 - 4.2 / b;
  const double urvr = 0.86 * vr;
  const double c2 = (dn + 2.0) * p;
  const double nm = dn - m + 1.0;
  /* Step 3.3, which depends only on (n, p). */
  const double h = (m + 0.5) * log1p((m + 1.0 - c2) / (p * nm)) + stirling_fc(m) +
                   stirling_fc(dn - m);
  for (;;) {
    double u, k;
    /* Step 1: the fast path, inside the hat's central rectangle. */
    double v = lam_rng_uniform(r);
    if (v <= urvr) {
      u = v / vr - 0.43;
      k = floor((2.0 * a / (0.5 - fabs(u)) + b) * u + c);
      return (int64_t)k;
    }
    /* Step 2: a fresh point, or the one just drawn reflected into the
     * hat's tails. */
    if (v >= vr) {
      u = lam_rng_uniform(r) - 0.5;
    } else {
      u = v / vr - 0.93;
      u = (u < 0.0 ? -0.5 : 0.5) - u;
      v = lam_rng_uniform(r) * vr;
    }
    /* Step 3.0 */
    double us = 0.5 - fabs(u);
    k = floor((2.0 * a / us + b) * u + c);
    if (k < 0.0 || k > dn || k >= 0x1p63) continue;
    int64_t ki = (int64_t)k;
    if (ki > n) continue;
    v = v * alpha / (a / (us * us) + b);
    double km = fabs(k - m);
    if (km <= 15.0) {
      /* Step 3.1: f(k) / f(m) by the recursion on consecutive terms. */
      double f = 1.0;
      if (m < k) {
        for (double i = m + 1.0; i <= k; i += 1.0) f *= nr / i - rr;
      } else if (m > k) {
        for (double i = k + 1.0; i <= m; i += 1.0) v *= nr / i - rr;
      }
      if (v <= f) return ki;
      continue;
    }
    /* Step 3.2: squeeze on log v. */
    v = log(v);
    double rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5);
    double t = -km * km / (2.0 * npq);
    if (v < t - rho) return ki;
    if (v > t + rho) continue;
    /* Step 3.4: the exact test. */
    double nk = dn - k + 1.0;
    double bound = h + (dn + 1.0) * log1p((k - m) / nk) +
                   (k + 0.5) * log1p((c2 - k - 1.0) / ((k + 1.0) * q)) -
                   stirling_fc(k) - stirling_fc(dn - k);
    if (v <= bound) return ki;
  }
}

int64_t lam_rng_binomial(lam_rng *r, int64_t n, double p) {
  if (n < 0 || !(p >= 0.0 && p <= 1.0)) return -1;
  if (n == 0 || p == 0.0) return 0;
  if (p == 1.0) return n;
  /* Both methods want p <= 1/2; 1 - p is exact for p >= 1/2. */
  if (p > 0.5) {
    double q = 1.0 - p;
    return n - ((double)n * q < 10.0 ? binomial_inversion(r, n, q)
                                     : binomial_btrd(r, n, q));
  }
  return (double)n * p < 10.0 ? binomial_inversion(r, n, p) : binomial_btrd(r, n, p);
}

/* ------------------------------------------------------------------ */
/* Filling buffers                                                      */
/* ------------------------------------------------------------------ */

/* Checks the parameters before anything is drawn, so that a refused call
 * neither writes into the buffer nor advances the stream. */
static int check_dist(int32_t dist, double a, double b) {
  switch (dist) {
  case LAM_DIST_UNIFORM:
    if (!isfinite(a))
      return lam_set_error(LAM_EINVAL, "rng_fill: uniform low a = %g is not finite", a);
    if (!isfinite(b))
      return lam_set_error(LAM_EINVAL, "rng_fill: uniform high b = %g is not finite",
                           b);
    if (b < a)
      return lam_set_error(LAM_EINVAL,
                           "rng_fill: uniform high b = %g is below low a = %g", b, a);
    if (!isfinite(b - a))
      return lam_set_error(LAM_EINVAL,
                           "rng_fill: uniform range b - a = %g - %g overflows", b, a);
    return LAM_OK;
  case LAM_DIST_NORMAL:
    if (!isfinite(a))
      return lam_set_error(LAM_EINVAL, "rng_fill: normal mean a = %g is not finite", a);
    if (!(b >= 0.0) || !isfinite(b))
      return lam_set_error(LAM_EINVAL,
                           "rng_fill: normal sd b = %g must be finite and >= 0", b);
    return LAM_OK;
  case LAM_DIST_EXPONENTIAL:
    if (!(a >= 0.0) || !isfinite(a))
      return lam_set_error(
          LAM_EINVAL, "rng_fill: exponential mean a = %g must be finite and >= 0", a);
    return LAM_OK;
  case LAM_DIST_POISSON:
    if (!(a >= 0.0) || !(a <= POISSON_MEAN_MAX))
      return lam_set_error(LAM_EINVAL,
                           "rng_fill: poisson mean a = %g must lie in [0, 2^62]", a);
    return LAM_OK;
  case LAM_DIST_BINOMIAL:
    /* n travels as a double, so it must be an integer that a double holds
     * exactly. */
    if (!(a >= 0.0 && a <= 0x1p53) || a != floor(a))
      return lam_set_error(
          LAM_EINVAL, "rng_fill: binomial n a = %g must be an integer in [0, 2^53]", a);
    if (!(b >= 0.0 && b <= 1.0))
      return lam_set_error(LAM_EINVAL, "rng_fill: binomial p b = %g outside [0, 1]", b);
    return LAM_OK;
  default:
    return lam_set_error(LAM_EINVAL,
                         "rng_fill: unknown distribution dist = %d (expected 1..5)",
                         (int)dist);
  }
}

/* One draw as a double (the continuous distributions, and the discrete ones
 * when the destination is a float buffer). */
static double draw_real(lam_rng *r, int32_t dist, double a, double b) {
  switch (dist) {
  case LAM_DIST_UNIFORM: return a + (b - a) * lam_rng_uniform(r);
  case LAM_DIST_NORMAL: return a + b * lam_rng_normal(r);
  case LAM_DIST_EXPONENTIAL: return a * lam_rng_exponential(r);
  case LAM_DIST_POISSON: return (double)lam_rng_poisson(r, a);
  default: return (double)lam_rng_binomial(r, (int64_t)a, b);
  }
}

/* Stores one draw.  Discrete draws reach integer buffers as integers (an
 * int64 Poisson count is never rounded through a double); continuous draws
 * are rounded to nearest with halves away from zero (round() does not
 * depend on the floating-point rounding mode).  Returns 0, or -1 when the
 * value does not fit the dtype. */
static int store_draw(lam_rng *r, int32_t dtype, void *p, int32_t dist, double a,
                      double b, double *shown) {
  if (dtype == LAM_F64) {
    *(double *)p = draw_real(r, dist, a, b);
    return 0;
  }
  if (dtype == LAM_F32) {
    /* Rounding to float can reach the ends of a uniform's range. */
    *(float *)p = (float)draw_real(r, dist, a, b);
    return 0;
  }
  int64_t k;
  if (dist == LAM_DIST_POISSON) {
    k = lam_rng_poisson(r, a);
    *shown = (double)k;
  } else if (dist == LAM_DIST_BINOMIAL) {
    k = lam_rng_binomial(r, (int64_t)a, b);
    *shown = (double)k;
  } else {
    double v = round(draw_real(r, dist, a, b));
    *shown = v;
    if (!(v >= -0x1p63 && v < 0x1p63)) return -1;
    k = (int64_t)v;
  }
  switch (dtype) {
  case LAM_I64: *(int64_t *)p = k; return 0;
  case LAM_I32:
    if (k < INT32_MIN || k > INT32_MAX) return -1;
    *(int32_t *)p = (int32_t)k;
    return 0;
  default: /* LAM_U8 */
    if (k < 0 || k > 255) return -1;
    *(uint8_t *)p = (uint8_t)k;
    return 0;
  }
}

int lam_rng_fill(lam_rng *r, lam_buf *out, int32_t dist, double a, double b) {
  if (!r) return lam_set_error(LAM_EINVAL, "rng_fill: stream is NULL");
  if (!out) return lam_set_error(LAM_EINVAL, "rng_fill: buffer is NULL");
  size_t esize = lam_dtype_size(out->dtype);
  if (esize == 0)
    return lam_set_error(LAM_EINVAL, "rng_fill: invalid dtype %d", (int)out->dtype);
  if (out->ndim < 0 || out->ndim > LAM_MAX_DIMS)
    return lam_set_error(LAM_EINVAL, "rng_fill: ndim %d outside 0..%d", (int)out->ndim,
                         (int)LAM_MAX_DIMS);
  if (out->flags & LAM_BUF_READONLY)
    return lam_set_error(LAM_EINVAL, "rng_fill: buffer is read-only");
  int rc = check_dist(dist, a, b);
  if (rc != LAM_OK) return rc;

  int64_t total = 1;
  for (int32_t d = 0; d < out->ndim; d++) total *= out->shape[d];
  if (total <= 0) return LAM_OK;
  if (!out->data) return lam_set_error(LAM_EINVAL, "rng_fill: buffer has no data");

  /* Walk the elements in row-major order with an odometer over the shape,
   * keeping the element offset (strides are in elements) up to date, so
   * that a strided view receives the same draws, in the same order, as a
   * contiguous buffer of its shape would. */
  int64_t idx[LAM_MAX_DIMS] = {0};
  int64_t off = 0;
  char *base = (char *)out->data;
  for (int64_t i = 0; i < total; i++) {
    double shown = 0.0;
    if (store_draw(r, out->dtype, base + off * (int64_t)esize, dist, a, b, &shown))
      return lam_set_error(LAM_ERANGE,
                           "rng_fill: draw %g at index %lld does not fit %s", shown,
                           (long long)i, lam_dtype_name(out->dtype));
    for (int32_t d = out->ndim - 1; d >= 0; d--) {
      off += out->strides[d];
      if (++idx[d] < out->shape[d]) break;
      off -= out->strides[d] * out->shape[d];
      idx[d] = 0;
    }
  }
  return LAM_OK;
}
