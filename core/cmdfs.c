/*
 * cmdfs.c - small file helpers of the `lamina` command (run directories,
 * sweeps): mkdir -p, read a whole file, and atomic replacement of a file
 * by a temporary file in the same directory and a rename, so a reader
 * (another shard, a user, a resumed sweep) only ever sees whole files.
 */
#include "cmd_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lam__mkdirs(const char *path) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

char *lam__slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *s = malloc(cap);
  size_t k;
  while (s && (k = fread(s + n, 1, cap - n - 1, f)) > 0) {
    n += k;
    if (cap - n < 2) {
      char *g = realloc(s, cap * 2);
      if (!g) {
        free(s);
        s = NULL;
        break;
      }
      s = g;
      cap *= 2;
    }
  }
  fclose(f);
  if (s) s[n] = '\0';
  return s;
}

/* The directory part of path ("." when there is none) into out. */
static void dir_of(const char *path, char *out, size_t n) {
  snprintf(out, n, "%s", path);
  char *slash = strrchr(out, '/');
  if (!slash) snprintf(out, n, ".");
  else if (slash == out) out[1] = '\0';
  else *slash = '\0';
}

int lam__write_atomic(const char *path, const char *text, size_t n, int durable) {
  char tmp[PATH_MAX + 32];
  /* A unique name: several shards may replace the same file at once. */
  snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return -1;
  (void)fchmod(fd, 0644);
  size_t off = 0;
  while (off < n) {
    ssize_t k = write(fd, text + off, n - off);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) break;
    off += (size_t)k;
  }
  int bad = off < n || (durable && fsync(fd) != 0);
  bad |= close(fd) != 0;
  if (bad || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    errno = e;
    return -1;
  }
  if (durable) {
    /* The new directory entry must survive a crash too. */
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
  }
  return 0;
}

int lam__write_json(const char *path, const struct cJSON *j, int durable) {
  char *s = cJSON_Print(j);
  if (!s) return -1;
  size_t n = strlen(s);
  s[n] = '\n'; /* replaces the NUL: write n + 1 bytes */
  int rc = lam__write_atomic(path, s, n + 1, durable);
  cJSON_free(s);
  return rc;
}

struct cJSON *lam__read_json(const char *path) {
  char *s = lam__slurp(path);
  cJSON *j = s ? cJSON_Parse(s) : NULL;
  free(s);
  return j;
}
