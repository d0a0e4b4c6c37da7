/*
 * tmpfiles.h - a scratch directory for the C tests of the file readers
 * (tests/core/idx.c, csv.c, npy.c): tmp_begin() makes a fresh mkdtemp directory,
 * P(name) is a path inside it, tmp_end() removes it.  Header-only, like
 * tap.h; include tap.h first.
 */
#ifndef LAM_TMPFILES_H
#define LAM_TMPFILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp_dir_[64];

/* A path in the scratch directory; four rotating slots, so up to four
 * results can be used in one expression. */
static inline const char *P(const char *name) {
  static char buf[4][256];
  static int k = 0;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir_, name);
  return buf[k];
}

static inline void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  if (n) fwrite(p, 1, n, f);
  fclose(f);
}

/* The whole file (malloc'ed) and its size in *n, or NULL. */
static inline uint8_t *read_bytes(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)len + 1);
  *n = fread(p, 1, (size_t)len, f);
  fclose(f);
  return p;
}

/* name.gz beside name, made by the gzip command (-n: no name or time, so
 * the bytes are the same on every run). */
static inline void gzip_copy(const char *name) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "gzip -n -c '%s' > '%s.gz'", P(name), P(name));
  if (system(cmd) != 0) diag("gzip failed for %s", name);
}

/* Runs the python script `code` with the scratch directory as argv[1];
 * returns its exit status (output goes to the TAP stream as is). */
static inline int tmp_python(const char *code) {
  char script[300], cmd[700];
  snprintf(script, sizeof script, "%s/script.py", tmp_dir_);
  write_bytes(script, code, strlen(code));
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s 2>&1", script, tmp_dir_);
  return system(cmd);
}

/* 0 with a fresh directory /tmp/lamina-<tag>-XXXXXX, or 1 after printing
 * "Bail out!". */
static inline int tmp_begin(const char *tag) {
  snprintf(tmp_dir_, sizeof tmp_dir_, "/tmp/lamina-%s-XXXXXX", tag);
  if (mkdtemp(tmp_dir_)) return 0;
  printf("Bail out! mkdtemp failed\n");
  return 1;
}

static inline void tmp_end(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir_);
  if (system(cmd) != 0) diag("could not remove %s", tmp_dir_);
}

#endif
