/*
 * good.h - for C tests whose models come from the reference test plugin
 * $LAMINA_TEST_BUILD/tests/abi/good.so (tests/plugins/abi/good.c).
 */
#ifndef LAM_TEST_GOOD_H
#define LAM_TEST_GOOD_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lamina.h"
#include "tap.h"

/* Plans `ntests` and returns a registry holding good.so.  Without the
 * plugin the whole file is skipped (*status = 0), and a plugin that does
 * not load bails out (*status = 1); both return NULL. */
static inline lam_registry *good_registry(int ntests, int *status) {
  const char *build = getenv("LAMINA_TEST_BUILD");
  *status = 0;
  if (!build || !*build) {
    printf("TAP version 13\n1..0 # SKIP LAMINA_TEST_BUILD is not set (make test "
           "sets it to the build directory holding tests/abi/good.so)\n");
    return NULL;
  }
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/tests/abi/good.so", build);
  struct stat st;
  if (stat(path, &st) != 0) {
    printf("TAP version 13\n1..0 # SKIP %s is not built\n", path);
    return NULL;
  }
  /* Only the explicit file: nothing from the environment's search path. */
  unsetenv("LAMINA_PLUGIN_PATH");
  tap_plan(ntests);
  lam_registry *reg = lam_registry_new();
  if (!reg || lam_registry_load(reg, path) != LAM_OK) {
    printf("Bail out! cannot load %s: %s\n", path, lam_last_error());
    lam_registry_free(reg);
    *status = 1;
    return NULL;
  }
  return reg;
}

#endif
