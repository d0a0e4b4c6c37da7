/*
 * err.c - the thread-local last-error message, status code names and the
 * version strings.  Every failing core function leaves exactly one line
 * here, so callers (the command, the Lua layer) can show it unchanged.
 */
#include "lamina.h"
#include "lam_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

const char *lam_last_error(void) { return last_error; }

/* Keeps only the first line: every error must be one line. */
static void keep_first_line(char *s) {
  char *nl = strchr(s, '\n');
  if (nl) *nl = '\0';
}

int lam__verror(int code, const char *fmt, va_list ap) {
  /* Format into a scratch buffer first: callers often pass lam_last_error()
   * itself as an argument ("set %s: %s", path, lam_last_error()). */
  char tmp[sizeof last_error];
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  keep_first_line(tmp);
  memcpy(last_error, tmp, sizeof last_error);
  return code;
}

int lam_set_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lam__verror(code, fmt, ap);
  va_end(ap);
  return code;
}

void lam__clear_error(void) { last_error[0] = '\0'; }

const char *lam_strerror(int code) {
  switch (code) {
  case LAM_OK: return "ok";
  case LAM_EINVAL: return "invalid argument";
  case LAM_ENOMEM: return "out of memory";
  case LAM_ERANGE: return "value out of range";
  case LAM_ENOTFOUND: return "not found";
  case LAM_EIO: return "input/output error";
  case LAM_EABI: return "plugin refused";
  case LAM_ESTATE: return "not allowed in this state";
  case LAM_EDIVERGED: return "simulation diverged";
  case LAM_EPLUGIN: return "plugin failure";
  default: return "unknown status";
  }
}

#ifndef LAM_VERSION
#define LAM_VERSION "0.0.0"
#endif
#ifndef LAM_GIT_REV
#define LAM_GIT_REV "unknown"
#endif
#ifndef LAM_BUILD_FLAGS
#define LAM_BUILD_FLAGS ""
#endif

const char *lam_version(void) { return LAM_VERSION; }

const char *lam_build_info(void) {
  return LAM_VERSION " (" LAM_GIT_REV ") " LAM_BUILD_FLAGS
#if defined(__clang__)
         " clang " __clang_version__
#elif defined(__GNUC__)
         " gcc " __VERSION__
#endif
      ;
}
