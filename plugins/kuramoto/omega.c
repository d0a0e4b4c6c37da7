/*
 * omega.c - natural-frequency generators for kuramoto.phase.
 *
 * Deterministic quantiles u_j = j/(n+1), j = 1..n, give the same sample
 * mean and spread on every run, which the theory tests need: a randomly
 * drawn Lorentzian sample has no converging mean, so its mean field drifts
 * at a random rate.  The formulas (reference section 1.7):
 *   Lorentzian  w0 + D tan(pi (u - 1/2))
 *   Gaussian    w0 + s sqrt(2) erfinv(2u - 1)
 *   uniform     w0 + g (2u - 1)            on (w0 - g, w0 + g)
 */
#include <math.h>

#include "kur_int.h"

/* Giles (2010) single-precision starting value, then two Newton steps on
 * erf(x) = y, which bring it to double precision. */
double kur__erfinv(double y) {
  if (!(y > -1.0 && y < 1.0))
    return y == 1.0 ? INFINITY : y == -1.0 ? -INFINITY : NAN;
  double w = -log((1.0 - y) * (1.0 + y)), x;
  if (w < 5.0) {
    w -= 2.5;
    double p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
    x = p * y;
  } else {
    w = sqrt(w) - 3.0;
    double p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
    x = p * y;
  }
  for (int k = 0; k < 2; k++) {
    double e = erf(x) - y;
    x -= e / (1.1283791670955126 * exp(-x * x));
  }
  return x;
}

void kur__omega_fill(double *w, int64_t n, int dist, int quantile, double w0,
                     double width, lam_rng *r) {
  for (int64_t j = 0; j < n; j++) {
    /* u in (0, 1): the quantile level, or a uniform draw. */
    double u = quantile ? (double)(j + 1) / (double)(n + 1)
                        : (dist == KUR_OMEGA_GAUSSIAN ? 0.5
                                                      : kur__api->rng_uniform(r));
    double x = 0;
    switch (dist) {
    case KUR_OMEGA_LORENTZIAN:
      /* (2j - n - 1)/(2(n + 1)) exactly, rather than u - 1/2 rounded. */
      x = quantile ? tan(KUR_PI * (double)(2 * (j + 1) - n - 1) /
                         (2.0 * (double)(n + 1)))
                   : tan(KUR_PI * (u - 0.5));
      break;
    case KUR_OMEGA_GAUSSIAN:
      x = quantile ? sqrt(2.0) * kur__erfinv((double)(2 * (j + 1) - n - 1) /
                                             (double)(n + 1))
                   : kur__api->rng_normal(r);
      break;
    case KUR_OMEGA_UNIFORM:
      x = quantile ? (double)(2 * (j + 1) - n - 1) / (double)(n + 1)
                   : 2.0 * u - 1.0;
      break;
    default:
      x = 0;
    }
    w[j] = w0 + width * x;
  }
}
