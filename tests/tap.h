/*
 * tap.h - a small TAP 13 producer for lamina's C tests (header-only; each
 * test is one translation unit).  Debian bookworm's prove (Test::Harness
 * 3.44) rejects TAP 14 version lines, so this prints version 13.
 *
 *   tap_plan(n);  ok(cond, "name", ...);  is_int(got, want, "name");
 *   is_double(got, want, tol, "name");  is_str(got, want, "name");
 *   like(str, substring, "name");  skip(n, "why");  diag("...");
 *   return tap_done();   // exit status = number of failures (max 254)
 */
#ifndef LAM_TAP_H
#define LAM_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n_ = 0, tap_fail_ = 0, tap_planned_ = -1;

static inline void tap_plan(int n) {
  printf("TAP version 13\n1..%d\n", n);
  tap_planned_ = n;
  fflush(stdout);
}

static inline void diag(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("# ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  fflush(stdout);
}

static inline int tap_vok_(int cond, const char *fmt, va_list ap) {
  tap_n_++;
  printf("%sok %d - ", cond ? "" : "not ", tap_n_);
  vprintf(fmt, ap);
  printf("\n");
  if (!cond) tap_fail_++;
  fflush(stdout);
  return cond;
}

static inline int ok(int cond, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = tap_vok_(cond, fmt, ap);
  va_end(ap);
  return r;
}

#define TAP_WRAP_(cond, fmt)                                              \
  va_list ap;                                                            \
  va_start(ap, fmt);                                                     \
  int r_ = tap_vok_(cond, fmt, ap);                                      \
  va_end(ap)

static inline int is_int(long long got, long long want, const char *fmt, ...) {
  TAP_WRAP_(got == want, fmt);
  if (!r_) diag("  got %lld, expected %lld", got, want);
  return r_;
}

/* |got - want| <= tol (absolute tolerance, stated by the caller). */
static inline int is_double(double got, double want, double tol, const char *fmt,
                     ...) {
  int good = isfinite(got) ? fabs(got - want) <= tol : (got == want);
  TAP_WRAP_(good, fmt);
  if (!r_) diag("  got %.17g, expected %.17g (tolerance %g)", got, want, tol);
  return r_;
}

static inline int is_str(const char *got, const char *want, const char *fmt, ...) {
  int good = got && want && strcmp(got, want) == 0;
  TAP_WRAP_(good, fmt);
  if (!r_) diag("  got '%s', expected '%s'", got ? got : "(null)", want);
  return r_;
}

/* The string contains `sub`. */
static inline int like(const char *got, const char *sub, const char *fmt, ...) {
  int good = got && strstr(got, sub) != NULL;
  TAP_WRAP_(good, fmt);
  if (!r_) diag("  '%s' does not contain '%s'", got ? got : "(null)", sub);
  return r_;
}

static inline void skip(int n, const char *why) {
  for (int i = 0; i < n; i++) {
    tap_n_++;
    printf("ok %d # SKIP %s\n", tap_n_, why);
  }
  fflush(stdout);
}

static inline int tap_done(void) {
  if (tap_planned_ >= 0 && tap_n_ != tap_planned_)
    diag("planned %d tests but ran %d", tap_planned_, tap_n_);
  if (tap_planned_ >= 0 && tap_n_ != tap_planned_ && tap_fail_ == 0)
    tap_fail_ = 1;
  return tap_fail_ > 254 ? 254 : tap_fail_;
}

#endif
