/*
 * scripts/bench/rng_normal_each.c - ns per standard normal: the scalar loop
 * out[i] = lam_rng_normal(&r[i]) against lam_rng_normal_each(r, n, out),
 * one draw per stream per call (the noise step of a model with one stream
 * per unit), with the batched Philox of every instruction set this CPU has.
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Icore/include scripts/bench/rng_normal_each.c \
 *      -Lbuild/lib -llamina -Wl,-rpath,$PWD/build/lib -o /tmp/rne && /tmp/rne [n] [calls]
 *
 * Process CPU time (clock_gettime(CLOCK_PROCESS_CPUTIME_ID)), median of 5
 * runs of `calls` calls each (default n = 10^4 streams, 400 calls, i.e.
 * half of them served from the cached spare, as in a model); each run
 * starts from freshly initialised streams, and the outputs of the scalar
 * and batched runs are compared bit for bit (exit 1 on a difference).
 */
#include "lamina.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int lam__rng_normal_each_isa(lam_rng *r, int64_t n, double *out, int isa);

enum { REPS = 5 };

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void init(lam_rng *r, int64_t n) {
  for (int64_t i = 0; i < n; i++) lam_rng_init(&r[i], 1, 0, LAM_RNG_NOISE, (uint64_t)i);
}

/* isa -1: the scalar loop; otherwise lam__rng_normal_each_isa.  Returns the
 * median ns per normal, and the sum of all draws in *sum (a checksum). */
static double run(lam_rng *r, double *out, int64_t n, int calls, int isa, double *sum) {
  double t[REPS];
  for (int k = 0; k < REPS; k++) {
    init(r, n);
    double s = 0.0, t0 = cpu_now();
    for (int c = 0; c < calls; c++) {
      if (isa < 0)
        for (int64_t i = 0; i < n; i++) out[i] = lam_rng_normal(&r[i]);
      else
        lam__rng_normal_each_isa(r, n, out, isa);
      s += out[c % n];
    }
    t[k] = (cpu_now() - t0) * 1e9 / ((double)n * calls);
    *sum = s;
  }
  qsort(t, REPS, sizeof *t, cmp_double);
  return t[REPS / 2];
}

int main(int argc, char **argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 10000;
  int calls = argc > 2 ? atoi(argv[2]) : 400;
  if (n <= 0 || calls <= 0) {
    fprintf(stderr, "usage: rng_normal_each [n > 0] [calls > 0]\n");
    return 2;
  }
  lam_rng *r = malloc((size_t)n * sizeof *r);
  double *out = malloc((size_t)n * sizeof *out);
  lam_rng *ref = malloc((size_t)n * sizeof *ref);
  double *ref_out = malloc((size_t)n * sizeof *ref_out);
  if (!r || !out || !ref || !ref_out) return 2;
  static const char *const names[] = {"portable", "avx2", "avx512f"};
  double sum0;
  double scalar = run(ref, ref_out, n, calls, -1, &sum0);
  printf("n = %lld streams, %d calls, median of %d, process CPU time\n", (long long)n,
         calls, REPS);
  printf("scalar loop of lam_rng_normal: %.2f ns/normal\n", scalar);
  int bad = 0;
  for (int isa = 0; isa < 3; isa++) {
    if (lam__rng_normal_each_isa(r, 0, out, isa) != 0) continue;
    double sum;
    double t = run(r, out, n, calls, isa, &sum);
    int same = sum == sum0 && !memcmp(r, ref, (size_t)n * sizeof *r) &&
               !memcmp(out, ref_out, (size_t)n * sizeof *out);
    bad |= !same;
    printf("lam_rng_normal_each, %-8s Philox: %.2f ns/normal (%.1fx)%s\n", names[isa], t,
           scalar / t, same ? "" : "  DIFFERS from the scalar loop");
  }
  free(r);
  free(out);
  free(ref);
  free(ref_out);
  return bad;
}
