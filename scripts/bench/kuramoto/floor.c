/* scripts/bench/kuramoto/floor.c - the sin/cos throughput floor of KB-1:
 * ns per element of one cos + sin pass over N doubles, with the plugin's
 * vectorised kernel (plugins/kuramoto/trig.c, linked in) and with glibc's
 * scalar sin and cos.  Median of 5 after a warm-up.
 *   floor N REPEATS   ->  "floor<TAB>kernel<TAB>N<TAB>ns_per_element" lines */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void kur__sincos(const double *x, double *s, double *c, int64_t n);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time, as the drivers */
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 10000;
  int rep = argc > 2 ? atoi(argv[2]) : 100;
  double *x = malloc((size_t)n * sizeof *x), *s = malloc((size_t)n * sizeof *s),
         *c = malloc((size_t)n * sizeof *c);
  if (!x || !s || !c)
    return 1;
  for (int64_t i = 0; i < n; i++)
    x[i] = 6.283185307179586 * (double)((i * 2654435761u) % 1000003) / 1000003.0;
  for (int kind = 0; kind < 2; kind++) {
    double t[6], sink = 0;
    for (int k = 0; k < 6; k++) {
      double t0 = now();
      for (int r = 0; r < rep; r++) {
        if (kind == 0) {
          kur__sincos(x, s, c, n);
        } else {
          for (int64_t i = 0; i < n; i++)
            c[i] = cos(x[i]);
          for (int64_t i = 0; i < n; i++)
            s[i] = sin(x[i]);
        }
        sink += s[r % n] + c[r % n];
      }
      t[k] = now() - t0;
    }
    qsort(t + 1, 5, sizeof *t, cmp);
    printf("floor\t%s\t%lld\t%.4g\t(sink %g)\n", kind ? "glibc-scalar" : "lamina-kernel", (long long)n,
           t[3] / ((double)rep * (double)n) * 1e9, sink);
  }
  free(x);
  free(s);
  free(c);
  return 0;
}
