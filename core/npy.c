/*
 * npy.c - NumPy .npy files and .npz archives, written and read without
 * NumPy so that anyone can np.load a lamina recording and lamina can load
 * arrays prepared in Python.
 *
 * The .npy layout follows numpy/lib/format.py (see host.md §2): magic,
 * version, a little-endian header length, a Python dict literal padded with
 * spaces and one '\n' so that the data starts on a 64-byte boundary, then
 * the raw C-order bytes.  The .npz side is a small ZIP writer and reader of
 * our own (PKWARE APPNOTE 6.3.9): one local header + data per member, a
 * central directory and an end record, with zip64 records when sizes or
 * offsets do not fit in 32 bits.  zlib supplies raw deflate and CRC-32.
 *
 * Every file is written to a temporary file in the target directory,
 * fsync'ed and then moved into place, so a crash never leaves a half-written
 * file under the final name.  Readers validate every length against the
 * file size before allocating, so a corrupt or hostile file gives a
 * one-line error instead of a crash or a huge allocation.
 */
#include "lamina.h"
#include "lam_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The data bytes are written as they lie in memory; the descr strings say
 * little-endian, so a big-endian host would write wrong files. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
/* Bigger headers than this are not written by NumPy for any array lamina
 * can hold; refusing them bounds the memory a hostile header can claim. */
#define NPY_MAX_HEADER (1u << 20)
/* NumPy leaves room for the growing axis to reach this many digits, so a
 * streaming writer can patch the header in place without moving the data. */
#define NPY_GROWTH_DIGITS 21
#define CHUNK 65536

/* ------------------------------------------------------------------ */
/* Little-endian byte helpers                                          */
/* ------------------------------------------------------------------ */

static void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) {
  return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ------------------------------------------------------------------ */
/* dtypes                                                              */
/* ------------------------------------------------------------------ */

static const char *descr_of(int32_t dtype) {
  switch (dtype) {
  case LAM_F32: return "<f4";
  case LAM_F64: return "<f8";
  case LAM_I32: return "<i4";
  case LAM_I64: return "<i8";
  case LAM_U8: return "|u1";
  default: return NULL;
  }
}

/* ------------------------------------------------------------------ */
/* Header writing                                                      */
/* ------------------------------------------------------------------ */

/* Builds the whole preamble (magic, version, length, padded dict) exactly
 * as NumPy >= 1.24 writes it, so files are byte-identical to np.save's.
 * Returns a malloc'ed block and its length, or NULL with an error. */
static uint8_t *npy_header_of(int32_t dtype, int32_t ndim, const int64_t *shape,
                              const char *what, size_t *len) {
  const char *descr = descr_of(dtype);
  if (!descr) {
    lam_set_error(LAM_EINVAL, "%s: unsupported dtype %d", what, (int)dtype);
    return NULL;
  }
  if (ndim < 0 || ndim > LAM_MAX_DIMS) {
    lam_set_error(LAM_EINVAL, "%s: bad ndim %d", what, (int)ndim);
    return NULL;
  }
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                   descr);
  for (int32_t d = 0; d < ndim; d++)
    n += snprintf(dict + n, sizeof dict - (size_t)n, d ? ", %lld" : "%lld",
                  (long long)shape[d]);
  n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", ndim == 1 ? "," : "");
  if (ndim > 0) {
    char first[32];
    int digits = snprintf(first, sizeof first, "%lld", (long long)shape[0]);
    for (int i = digits; i < NPY_GROWTH_DIGITS; i++) dict[n++] = ' ';
  }
  /* Version 1.0 has a 2-byte length; the 4-byte form (2.0) only when the
   * header does not fit, since older readers know only 1.0. */
  size_t hlen = (size_t)n + 1;
  int v2 = 0;
  size_t pre = 10;
  size_t pad = 64 - (pre + hlen) % 64;
  if (hlen + pad > 65535) {
    v2 = 1;
    pre = 12;
    pad = 64 - (pre + hlen) % 64;
  }
  size_t total = pre + hlen + pad;
  uint8_t *h = malloc(total);
  if (!h) {
    lam_set_error(LAM_ENOMEM, "%s: out of memory", what);
    return NULL;
  }
  memcpy(h, NPY_MAGIC, 6);
  h[6] = v2 ? 2 : 1;
  h[7] = 0;
  if (v2)
    put32(h + 8, (uint32_t)(hlen + pad));
  else
    put16(h + 8, (uint32_t)(hlen + pad));
  memcpy(h + pre, dict, (size_t)n);
  memset(h + pre + n, ' ', pad);
  h[total - 1] = '\n';
  *len = total;
  return h;
}

static uint8_t *npy_header(const lam_buf *b, const char *what, size_t *len) {
  return npy_header_of(b->dtype, b->ndim, b->shape, what, len);
}

/* A byte sink: plain file or CRC+deflate into a zip member. */
typedef int (*sink_fn)(void *ctx, const void *p, size_t n);

/* Writes b's elements in row-major order whatever its strides, gathering
 * rows into a staging block so the sink sees few, large writes. */
static int write_elems(const lam_buf *b, sink_fn put, void *ctx) {
  size_t es = lam_dtype_size(b->dtype);
  if (b->size == 0) return LAM_OK;
  if (b->flags & LAM_BUF_CONTIGUOUS) {
    const uint8_t *p = b->data;
    size_t left = (size_t)b->size * es;
    while (left) {
      size_t k = left < (1u << 24) ? left : (1u << 24);
      int rc = put(ctx, p, k);
      if (rc) return rc;
      p += k;
      left -= k;
    }
    return LAM_OK;
  }
  uint8_t *stage = malloc(CHUNK);
  if (!stage) return lam_set_error(LAM_ENOMEM, "npy: out of memory");
  size_t used = 0;
  int rc = LAM_OK;
  for (int64_t i = 0; i < b->size; i++) {
    if (used + es > CHUNK) {
      if ((rc = put(ctx, stage, used))) goto out;
      used = 0;
    }
    memcpy(stage + used, lam__buf_addr(b, i), es);
    used += es;
  }
  if (used) rc = put(ctx, stage, used);
out:
  free(stage);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Atomic file creation                                                */
/* ------------------------------------------------------------------ */

typedef struct atomic_file {
  FILE *f;
  char *path;
  char *tmp;
} atomic_file;

static int af_open(atomic_file *af, const char *path, int overwrite,
                   const char *what) {
  memset(af, 0, sizeof *af);
  if (!path || !*path) return lam_set_error(LAM_EINVAL, "%s: path is empty", what);
  /* Checked early for a clear message; the final link() re-checks
   * atomically in case the file appears meanwhile. */
  if (!overwrite && access(path, F_OK) == 0)
    return lam_set_error(LAM_EIO, "%s: %s: file exists (pass overwrite to replace it)",
                         what, path);
  size_t n = strlen(path);
  af->path = lam__strdup(path);
  af->tmp = malloc(n + 16);
  if (!af->path || !af->tmp) {
    free(af->path);
    free(af->tmp);
    return lam_set_error(LAM_ENOMEM, "%s: out of memory", what);
  }
  /* Same directory as the target, so rename() cannot cross file systems. */
  snprintf(af->tmp, n + 16, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(af->tmp);
  if (fd < 0) {
    int e = errno;
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    return lam_set_error(LAM_EIO, "%s: %s: cannot create a temporary file: %s", what,
                         path, strerror(e));
  }
  /* mkstemp makes 0600 files; recordings are meant to be shared like any
   * file the user writes, so use the usual 0644. */
  (void)fchmod(fd, 0644);
  af->f = fdopen(fd, "w+b");
  if (!af->f) {
    int e = errno;
    close(fd);
    unlink(af->tmp);
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    return lam_set_error(LAM_EIO, "%s: %s: %s", what, path, strerror(e));
  }
  return LAM_OK;
}

static void af_discard(atomic_file *af) {
  if (af->f) fclose(af->f);
  if (af->tmp) unlink(af->tmp);
  free(af->tmp);
  free(af->path);
  memset(af, 0, sizeof *af);
}

/* Flushes, fsyncs and moves the file into place.  Without overwrite,
 * link() fails with EEXIST if the target exists, which rename() would
 * silently replace. */
static int af_commit(atomic_file *af, int overwrite, const char *what) {
  int rc = LAM_OK, e = 0;
  if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0) e = errno;
  if (fclose(af->f) != 0 && !e) e = errno;
  af->f = NULL;
  if (e) {
    rc = lam_set_error(LAM_EIO, "%s: %s: write failed: %s", what, af->path, strerror(e));
  } else if (overwrite) {
    if (rename(af->tmp, af->path) != 0)
      rc = lam_set_error(LAM_EIO, "%s: %s: cannot rename into place: %s", what,
                         af->path, strerror(errno));
  } else if (link(af->tmp, af->path) != 0) {
    e = errno;
    rc = e == EEXIST
             ? lam_set_error(LAM_EIO, "%s: %s: file exists (pass overwrite to replace it)",
                             what, af->path)
             : lam_set_error(LAM_EIO, "%s: %s: cannot move into place: %s", what,
                             af->path, strerror(e));
  }
  if (rc == LAM_OK) {
    /* Make the new directory entry durable too. */
    char *dir = lam__strdup(af->path);
    if (dir) {
      char *slash = strrchr(dir, '/');
      const char *d = ".";
      if (slash == dir)
        d = "/";
      else if (slash) {
        *slash = '\0';
        d = dir;
      }
      int fd = open(d, O_RDONLY | O_DIRECTORY);
      if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
      }
      free(dir);
    }
  }
  af_discard(af); /* unlinks the temp name (a no-op after rename) */
  return rc;
}

/* ------------------------------------------------------------------ */
/* .npy save                                                           */
/* ------------------------------------------------------------------ */

static int file_put(void *ctx, const void *p, size_t n) {
  atomic_file *af = ctx;
  if (fwrite(p, 1, n, af->f) != n)
    return lam_set_error(LAM_EIO, "npy: %s: write failed: %s", af->path, strerror(errno));
  return LAM_OK;
}

int lam_npy_save(const char *path, const lam_buf *b, int32_t overwrite) {
  if (!b) return lam_set_error(LAM_EINVAL, "npy: %s: buffer is NULL", path ? path : "?");
  size_t hl;
  uint8_t *h = npy_header(b, "npy", &hl);
  if (!h) return LAM_EINVAL;
  atomic_file af;
  int rc = af_open(&af, path, overwrite, "npy");
  if (rc) {
    free(h);
    return rc;
  }
  rc = file_put(&af, h, hl);
  free(h);
  if (!rc) rc = write_elems(b, file_put, &af);
  if (rc) {
    af_discard(&af);
    return rc;
  }
  return af_commit(&af, overwrite, "npy");
}

/* ------------------------------------------------------------------ */
/* .npy streaming                                                      */
/* ------------------------------------------------------------------ */

/* A .npy file that grows along its first axis while it is written.  The
 * file lives under "<path>.partial" until lam_npy_stream_close: after every
 * append the header is patched in place (the growth digits keep its length
 * fixed) to count exactly the rows already written before it, so a process
 * killed at any moment leaves a .partial file that np.load reads as every
 * row appended so far, and never a file under the final name that is not
 * complete. */
struct lam_npy_stream {
  int fd;
  int overwrite;
  int broken;                  /* an I/O error happened: close refuses */
  char *path, *partial;
  int32_t dtype, ndim;
  int64_t shape[LAM_MAX_DIMS]; /* shape[0] = rows written */
  size_t row_bytes, hlen;
};

static int write_all(int fd, const void *p, size_t n, off_t at) {
  const char *c = p;
  while (n) {
    ssize_t k = at >= 0 ? pwrite(fd, c, n, at) : write(fd, c, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += k;
    n -= (size_t)k;
    if (at >= 0) at += k;
  }
  return 0;
}

/* (Re)writes the header for the rows counted so far. */
static int stream_header(lam_npy_stream *s) {
  size_t hl;
  uint8_t *h = npy_header_of(s->dtype, s->ndim, s->shape, "npy stream", &hl);
  if (!h) return LAM_EINVAL;
  int rc = LAM_OK;
  if (s->hlen && hl != s->hlen)
    rc = lam_set_error(LAM_ERANGE, "npy stream: %s: the row count outgrew the header", s->partial);
  else if (write_all(s->fd, h, hl, 0) != 0)
    rc = lam_set_error(LAM_EIO, "npy stream: %s: write failed: %s", s->partial, strerror(errno));
  s->hlen = hl;
  free(h);
  return rc;
}

lam_npy_stream *lam_npy_stream_open(const char *path, int32_t dtype, int32_t row_ndim,
                                    const int64_t *row_shape, int32_t overwrite) {
  if (!path || !*path) {
    lam_set_error(LAM_EINVAL, "npy stream: path is empty");
    return NULL;
  }
  if (!descr_of(dtype)) {
    lam_set_error(LAM_EINVAL, "npy stream: %s: unsupported dtype %d", path, (int)dtype);
    return NULL;
  }
  if (row_ndim < 0 || row_ndim >= LAM_MAX_DIMS || (row_ndim > 0 && !row_shape)) {
    lam_set_error(LAM_EINVAL, "npy stream: %s: rows of %d dimensions, expected 0 to %d", path,
                  (int)row_ndim, LAM_MAX_DIMS - 1);
    return NULL;
  }
  size_t row = lam_dtype_size(dtype);
  for (int32_t d = 0; d < row_ndim; d++) {
    if (row_shape[d] < 0) {
      lam_set_error(LAM_EINVAL, "npy stream: %s: row dimension %d is %lld, expected >= 0",
                    path, (int)d, (long long)row_shape[d]);
      return NULL;
    }
    row *= (size_t)row_shape[d];
  }
  if (!overwrite && access(path, F_OK) == 0) {
    lam_set_error(LAM_EIO, "npy stream: %s: file exists (pass overwrite to replace it)", path);
    return NULL;
  }
  lam_npy_stream *s = calloc(1, sizeof *s);
  size_t n = strlen(path);
  char *partial = malloc(n + 9);
  if (!s || !partial || !(s->path = lam__strdup(path))) {
    free(partial);
    free(s);
    lam_set_error(LAM_ENOMEM, "npy stream: out of memory");
    return NULL;
  }
  snprintf(partial, n + 9, "%s.partial", path);
  s->partial = partial;
  /* A .partial left by a killed run holds data nobody else has: never
   * truncate it silently. */
  s->fd = open(partial, O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL), 0644);
  if (s->fd < 0) {
    int e = errno;
    if (e == EEXIST)
      lam_set_error(LAM_EIO, "npy stream: %s exists (an interrupted recording?); move it away "
                    "or pass overwrite", partial);
    else
      lam_set_error(LAM_EIO, "npy stream: %s: %s", partial, strerror(e));
    free(s->path);
    free(partial);
    free(s);
    return NULL;
  }
  s->overwrite = overwrite != 0;
  s->dtype = dtype;
  s->ndim = row_ndim + 1;
  if (row_ndim > 0) memcpy(s->shape + 1, row_shape, (size_t)row_ndim * sizeof s->shape[0]);
  s->row_bytes = row;
  if (stream_header(s) != LAM_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s", lam_last_error());
    close(s->fd);
    unlink(partial);
    free(s->path);
    free(partial);
    free(s);
    lam_set_error(LAM_EIO, "%s", why);
    return NULL;
  }
  return s;
}

int lam_npy_stream_write(lam_npy_stream *s, const void *rows, int64_t nrows) {
  if (!s) return lam_set_error(LAM_EINVAL, "npy stream: NULL stream");
  if (s->broken) return lam_set_error(LAM_EIO, "npy stream: %s: an earlier write failed", s->partial);
  if (nrows < 0 || (nrows > 0 && !rows))
    return lam_set_error(LAM_EINVAL, "npy stream: %s: %lld rows, expected >= 0 with data",
                         s->partial, (long long)nrows);
  if (nrows == 0) return LAM_OK;
  off_t at = (off_t)(s->hlen + (size_t)s->shape[0] * s->row_bytes);
  if (write_all(s->fd, rows, (size_t)nrows * s->row_bytes, at) != 0) {
    s->broken = 1;
    return lam_set_error(LAM_EIO, "npy stream: %s: write failed: %s", s->partial, strerror(errno));
  }
  s->shape[0] += nrows;
  int rc = stream_header(s);
  if (rc) s->broken = 1;
  return rc;
}

int64_t lam_npy_stream_rows(const lam_npy_stream *s) { return s ? s->shape[0] : 0; }
const char *lam_npy_stream_path(const lam_npy_stream *s) { return s ? s->partial : NULL; }

static void stream_free(lam_npy_stream *s) {
  if (s->fd >= 0) close(s->fd);
  free(s->path);
  free(s->partial);
  free(s);
}

int lam_npy_stream_close(lam_npy_stream *s) {
  if (!s) return lam_set_error(LAM_EINVAL, "npy stream: NULL stream");
  int rc = LAM_OK;
  if (s->broken) {
    rc = lam_set_error(LAM_EIO, "npy stream: %s: left incomplete after a failed write", s->partial);
  } else if (fsync(s->fd) != 0) {
    rc = lam_set_error(LAM_EIO, "npy stream: %s: %s", s->partial, strerror(errno));
  } else if (s->overwrite ? rename(s->partial, s->path) != 0
                          : link(s->partial, s->path) != 0 || unlink(s->partial) != 0) {
    rc = lam_set_error(LAM_EIO, "npy stream: %s: cannot move into place as %s: %s", s->partial,
                       s->path, errno == EEXIST ? "file exists" : strerror(errno));
  }
  stream_free(s);
  return rc;
}

void lam_npy_stream_abandon(lam_npy_stream *s) {
  if (s) stream_free(s);
}

/* ------------------------------------------------------------------ */
/* Reading: a byte source over a plain file or a zip member            */
/* ------------------------------------------------------------------ */

typedef struct src {
  FILE *f;
  char where[400];   /* "npy: PATH" or "npz: PATH: member NAME", for errors */
  int method;        /* 0 stored (or plain file), 8 deflate */
  int partial;       /* a streaming writer's .partial file: see npy_read */
  int zinit, zend;
  uint64_t raw_left; /* bytes of the file left to this source */
  uint64_t out_left; /* bytes the source declares it still holds */
  uint32_t crc;
  z_stream z;
  uint8_t in[CHUNK];
} src;

/* Feeds the inflater the next compressed chunk when it has used the last. */
static int src_refill(src *s) {
  if (s->z.avail_in == 0 && s->raw_left) {
    size_t k = s->raw_left < CHUNK ? (size_t)s->raw_left : CHUNK;
    if (fread(s->in, 1, k, s->f) != k)
      return lam_set_error(LAM_EINVAL, "%s: truncated file", s->where);
    s->raw_left -= k;
    s->z.next_in = s->in;
    s->z.avail_in = (uInt)k;
  }
  return LAM_OK;
}

/* After the declared bytes, a deflate stream must end without producing
 * more output: a longer stream means the sizes in the archive are wrong. */
static int src_end(src *s) {
  while (s->method == 8 && !s->zend) {
    if (src_refill(s)) return LAM_EINVAL;
    uint8_t c;
    s->z.next_out = &c;
    s->z.avail_out = 1;
    int zr = inflate(&s->z, Z_NO_FLUSH);
    if (s->z.avail_out == 0)
      return lam_set_error(LAM_EINVAL, "%s: more data than the declared size", s->where);
    if (zr == Z_STREAM_END)
      s->zend = 1;
    else if (zr == Z_BUF_ERROR && s->raw_left == 0 && s->z.avail_in == 0)
      return lam_set_error(LAM_EINVAL, "%s: deflate stream truncated", s->where);
    else if (zr != Z_OK && zr != Z_BUF_ERROR)
      return lam_set_error(LAM_EINVAL, "%s: corrupt deflate stream (%s)", s->where,
                           s->z.msg ? s->z.msg : "zlib error");
  }
  return LAM_OK;
}

/* Reads exactly n bytes or fails with a message naming the problem. */
static int src_read(src *s, void *dst, size_t n) {
  if (n > s->out_left)
    return lam_set_error(LAM_EINVAL, "%s: truncated (needs %llu more bytes, %llu left)",
                         s->where, (unsigned long long)n,
                         (unsigned long long)s->out_left);
  uint8_t *o = dst;
  size_t want = n;
  if (s->method == 0) {
    if (fread(o, 1, n, s->f) != n)
      return lam_set_error(LAM_EINVAL, "%s: truncated file", s->where);
    s->raw_left -= n;
  } else {
    while (want) {
      if (s->zend)
        return lam_set_error(LAM_EINVAL, "%s: deflate stream ends early", s->where);
      if (src_refill(s)) return LAM_EINVAL;
      size_t step = want < (1u << 30) ? want : (1u << 30);
      s->z.next_out = o;
      s->z.avail_out = (uInt)step;
      int zr = inflate(&s->z, Z_NO_FLUSH);
      size_t got = step - s->z.avail_out;
      o += got;
      want -= got;
      if (zr == Z_STREAM_END) {
        s->zend = 1;
      } else if (zr == Z_BUF_ERROR && s->raw_left == 0 && s->z.avail_in == 0) {
        return lam_set_error(LAM_EINVAL, "%s: deflate stream truncated", s->where);
      } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
        return lam_set_error(LAM_EINVAL, "%s: corrupt deflate stream (%s)", s->where,
                             s->z.msg ? s->z.msg : "zlib error");
      }
    }
  }
  s->out_left -= n;
  /* crc32 takes uInt lengths: chain over pieces below 4 GiB. */
  for (size_t off = 0; off < n;) {
    size_t k = n - off < (1u << 30) ? n - off : (1u << 30);
    s->crc = (uint32_t)crc32(s->crc, (const uint8_t *)dst + off, (uInt)k);
    off += k;
  }
  return LAM_OK;
}

/* ------------------------------------------------------------------ */
/* Header parsing: the small subset of Python literal syntax NumPy     */
/* writes (strings, True/False, tuples of non-negative ints)           */
/* ------------------------------------------------------------------ */

typedef struct hdr {
  const char *p, *end;
  const char *where;
} hdr;

static void skip_ws(hdr *h) {
  while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' ||
                           *h->p == '\r'))
    h->p++;
}

static int expect(hdr *h, char c) {
  skip_ws(h);
  if (h->p >= h->end || *h->p != c)
    return lam_set_error(LAM_EINVAL, "%s: bad header: expected '%c'", h->where, c);
  h->p++;
  return LAM_OK;
}

/* A quoted string without escapes (NumPy never needs them here). */
static int parse_str(hdr *h, char *out, size_t cap) {
  skip_ws(h);
  if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
    return lam_set_error(LAM_EINVAL, "%s: bad header: expected a string", h->where);
  char q = *h->p++;
  size_t n = 0;
  while (h->p < h->end && *h->p != q) {
    if (*h->p == '\\' || n + 1 >= cap)
      return lam_set_error(LAM_EINVAL, "%s: bad header: unsupported string", h->where);
    out[n++] = *h->p++;
  }
  if (h->p >= h->end)
    return lam_set_error(LAM_EINVAL, "%s: bad header: unterminated string", h->where);
  h->p++;
  out[n] = '\0';
  return LAM_OK;
}

static int parse_shape(hdr *h, int64_t *shape, int32_t *ndim) {
  if (expect(h, '(')) return LAM_EINVAL;
  int32_t n = 0;
  for (;;) {
    skip_ws(h);
    if (h->p < h->end && *h->p == ')') {
      h->p++;
      break;
    }
    if (h->p < h->end && *h->p == '-')
      return lam_set_error(LAM_EINVAL, "%s: negative dimension in shape", h->where);
    if (h->p >= h->end || *h->p < '0' || *h->p > '9')
      return lam_set_error(LAM_EINVAL, "%s: bad header: shape must be a tuple of integers",
                           h->where);
    int64_t v = 0;
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
      if (v > (INT64_MAX - 9) / 10)
        return lam_set_error(LAM_EINVAL, "%s: dimension %d is too large", h->where, (int)n);
      v = v * 10 + (*h->p++ - '0');
    }
    if (h->p < h->end && *h->p == 'L') h->p++; /* Python 2 longs */
    if (n >= LAM_MAX_DIMS)
      return lam_set_error(LAM_EINVAL, "%s: more than %d dimensions", h->where,
                           LAM_MAX_DIMS);
    shape[n++] = v;
    skip_ws(h);
    if (h->p < h->end && *h->p == ',') {
      h->p++;
      continue;
    }
    if (expect(h, ')')) return LAM_EINVAL;
    break;
  }
  *ndim = n;
  return LAM_OK;
}

/* Maps a descr string to a dtype, with a message for the refusals users
 * will actually meet (big-endian, other types). */
static int32_t parse_descr(const char *d, const char *where) {
  static const struct { char t; int sz; int32_t dt; } tab[] = {
      {'f', 4, LAM_F32}, {'f', 8, LAM_F64}, {'i', 4, LAM_I32},
      {'i', 8, LAM_I64}, {'u', 1, LAM_U8}};
  size_t n = strlen(d);
  if (n == 3 && strchr("<>=|", d[0]) && d[2] >= '1' && d[2] <= '9') {
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
      if (tab[i].t != d[1] || tab[i].sz != d[2] - '0') continue;
      /* Byte order means nothing for one-byte types. */
      if (d[0] == '>' && tab[i].sz > 1) {
        lam_set_error(LAM_EINVAL,
                      "%s: big-endian dtype '%s' is not supported (save with "
                      "arr.astype('<%c%c'))",
                      where, d, d[1], d[2]);
        return 0;
      }
      if (d[0] == '|' && tab[i].sz > 1) break;
      return tab[i].dt;
    }
  }
  lam_set_error(LAM_EINVAL,
                "%s: unsupported dtype '%s' (lamina reads <f4, <f8, <i4, <i8, |u1)", where,
                d);
  return 0;
}

/* Parses the dict: exactly the keys descr, fortran_order and shape, in any
 * order, each once, with an optional trailing comma. */
static int parse_dict(hdr *h, int32_t *dtype, int *fortran, int64_t *shape,
                      int32_t *ndim) {
  int seen = 0;
  if (expect(h, '{')) return LAM_EINVAL;
  for (;;) {
    skip_ws(h);
    if (h->p < h->end && *h->p == '}') {
      h->p++;
      break;
    }
    char key[32];
    if (parse_str(h, key, sizeof key)) return LAM_EINVAL;
    if (expect(h, ':')) return LAM_EINVAL;
    skip_ws(h);
    int bit;
    if (strcmp(key, "descr") == 0) {
      bit = 1;
      if (h->p < h->end && *h->p == '[')
        return lam_set_error(LAM_EINVAL, "%s: structured dtypes are not supported",
                             h->where);
      char d[32];
      if (parse_str(h, d, sizeof d)) return LAM_EINVAL;
      if (!(*dtype = parse_descr(d, h->where))) return LAM_EINVAL;
    } else if (strcmp(key, "fortran_order") == 0) {
      bit = 2;
      if (h->end - h->p >= 4 && memcmp(h->p, "True", 4) == 0) {
        *fortran = 1;
        h->p += 4;
      } else if (h->end - h->p >= 5 && memcmp(h->p, "False", 5) == 0) {
        *fortran = 0;
        h->p += 5;
      } else {
        return lam_set_error(LAM_EINVAL, "%s: bad header: fortran_order must be True or False",
                             h->where);
      }
    } else if (strcmp(key, "shape") == 0) {
      bit = 4;
      if (parse_shape(h, shape, ndim)) return LAM_EINVAL;
    } else {
      return lam_set_error(LAM_EINVAL, "%s: bad header: unexpected key '%s'", h->where, key);
    }
    if (seen & bit)
      return lam_set_error(LAM_EINVAL, "%s: bad header: key '%s' appears twice", h->where,
                           key);
    seen |= bit;
    skip_ws(h);
    if (h->p < h->end && *h->p == ',') {
      h->p++;
      continue;
    }
    if (expect(h, '}')) return LAM_EINVAL;
    break;
  }
  skip_ws(h);
  if (h->p != h->end)
    return lam_set_error(LAM_EINVAL, "%s: bad header: text after the dict", h->where);
  if (seen != 7)
    return lam_set_error(LAM_EINVAL, "%s: bad header: missing key '%s'", h->where,
                         !(seen & 1) ? "descr" : !(seen & 2) ? "fortran_order" : "shape");
  return LAM_OK;
}

/* Reads one .npy from a source holding exactly the file's bytes. */
static lam_buf *npy_read(src *s) {
  uint8_t pre[12];
  if (s->out_left < 10) {
    lam_set_error(LAM_EINVAL, "%s: too short for a .npy file (%llu bytes)", s->where,
                  (unsigned long long)s->out_left);
    return NULL;
  }
  if (src_read(s, pre, 8)) return NULL;
  if (memcmp(pre, NPY_MAGIC, 6) != 0) {
    lam_set_error(LAM_EINVAL, "%s: not a .npy file (bad magic)", s->where);
    return NULL;
  }
  int major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0) {
    lam_set_error(LAM_EINVAL, "%s: unsupported .npy version %d.%d", s->where, major, minor);
    return NULL;
  }
  uint64_t hlen;
  if (major == 1) {
    if (src_read(s, pre + 8, 2)) return NULL;
    hlen = get16(pre + 8);
  } else {
    if (src_read(s, pre + 8, 4)) return NULL;
    hlen = get32(pre + 8);
  }
  if (hlen > s->out_left) {
    lam_set_error(LAM_EINVAL, "%s: header length %llu exceeds the file (%llu bytes left)",
                  s->where, (unsigned long long)hlen, (unsigned long long)s->out_left);
    return NULL;
  }
  if (hlen > NPY_MAX_HEADER) {
    lam_set_error(LAM_EINVAL, "%s: header length %llu is too large", s->where,
                  (unsigned long long)hlen);
    return NULL;
  }
  char *text = malloc((size_t)hlen + 1);
  if (!text) {
    lam_set_error(LAM_ENOMEM, "%s: out of memory", s->where);
    return NULL;
  }
  if (src_read(s, text, (size_t)hlen)) {
    free(text);
    return NULL;
  }
  text[hlen] = '\0';
  if (memchr(text, '\0', (size_t)hlen)) {
    free(text);
    lam_set_error(LAM_EINVAL, "%s: bad header: NUL byte", s->where);
    return NULL;
  }
  hdr h = {text, text + hlen, s->where};
  int32_t dtype = 0, ndim = 0;
  int fortran = 0;
  int64_t shape[LAM_MAX_DIMS] = {0};
  int rc = parse_dict(&h, &dtype, &fortran, shape, &ndim);
  free(text);
  if (rc) return NULL;
  /* Checked product: the data size must equal what is left, before any
   * allocation, so a lying shape cannot make us allocate. */
  uint64_t bytes = lam_dtype_size(dtype), nonzero = 1;
  for (int32_t d = 0; d < ndim; d++) {
    if (__builtin_mul_overflow(bytes, (uint64_t)shape[d], &bytes)) {
      lam_set_error(LAM_EINVAL, "%s: shape overflows the addressable size", s->where);
      return NULL;
    }
  }
  /* A stream killed mid-append leaves bytes past the rows its header
   * counts (the header is patched after the data); those rows are
   * incomplete by definition, so a .partial file gives the counted ones. */
  if (s->partial && s->method == 0 && bytes < s->out_left) s->raw_left = s->out_left = bytes;
  if (bytes != s->out_left) {
    lam_set_error(LAM_EINVAL,
                  "%s: shape and dtype need %llu data bytes but the file holds %llu",
                  s->where, (unsigned long long)bytes, (unsigned long long)s->out_left);
    return NULL;
  }
  /* The sizes agree, but a zero dimension empties the data while the
   * strides still multiply the other dimensions: (0, 10^11, 10^11, 10^8)
   * would overflow them (found by fuzzing), so the non-zero ones must stay
   * within a buffer's 2^47 elements too. */
  for (int32_t d = 0; d < ndim; d++) {
    if (shape[d] && (__builtin_mul_overflow(nonzero, (uint64_t)shape[d], &nonzero) ||
                     nonzero > ((uint64_t)1 << 47))) {
      lam_set_error(LAM_EINVAL, "%s: absurd shape (its dimensions multiply past 2^47)",
                    s->where);
      return NULL;
    }
  }
  /* Fortran order: read into the reversed shape (that layout is C order),
   * then copy through a transposed view. */
  int64_t rshape[LAM_MAX_DIMS];
  for (int32_t d = 0; d < ndim; d++) rshape[d] = fortran ? shape[ndim - 1 - d] : shape[d];
  lam_buf *b = lam_buf_new(dtype, ndim, rshape);
  if (!b) {
    lam_set_error(LAM_ENOMEM, "%s: cannot allocate %llu bytes", s->where,
                  (unsigned long long)bytes);
    return NULL;
  }
  if (bytes && src_read(s, b->data, (size_t)bytes)) {
    lam_buf_free(b);
    return NULL;
  }
  if (fortran && ndim > 1) {
    lam_buf t = *b;
    t.owner = NULL;
    for (int32_t d = 0; d < ndim; d++) {
      t.shape[d] = shape[d];
      t.strides[d] = b->strides[ndim - 1 - d];
    }
    t.flags = 0;
    lam_buf *c = lam_buf_copy(&t, 0);
    lam_buf_free(b);
    if (!c) lam_set_error(LAM_ENOMEM, "%s: out of memory transposing", s->where);
    b = c;
  }
  return b;
}

lam_buf *lam_npy_load(const char *path) {
  if (!path) {
    lam_set_error(LAM_EINVAL, "npy: path is NULL");
    return NULL;
  }
  src *s = calloc(1, sizeof *s);
  if (!s) {
    lam_set_error(LAM_ENOMEM, "npy: out of memory");
    return NULL;
  }
  snprintf(s->where, sizeof s->where, "npy: %s", path);
  s->f = fopen(path, "rb");
  struct stat st;
  if (!s->f || fstat(fileno(s->f), &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = errno;
    lam_set_error(e == ENOENT ? LAM_ENOTFOUND : LAM_EIO, "npy: %s: %s", path,
                  s->f ? "not a regular file" : strerror(e));
    if (s->f) fclose(s->f);
    free(s);
    return NULL;
  }
  s->raw_left = s->out_left = (uint64_t)st.st_size;
  size_t pl = strlen(path);
  s->partial = pl > 8 && strcmp(path + pl - 8, ".partial") == 0;
  lam_buf *b = npy_read(s);
  fclose(s->f);
  free(s);
  return b;
}

/* ------------------------------------------------------------------ */
/* .npz writer                                                         */
/* ------------------------------------------------------------------ */

typedef struct npz_ent {
  char *name;
  uint64_t off, csize, usize;
  uint32_t crc;
  uint16_t method, flags, need;
} npz_ent;

struct lam_npz_writer {
  atomic_file af;
  int32_t level;      /* 0 stored, 1..9 deflate */
  int32_t overwrite;
  uint64_t z64;       /* sizes/offsets >= this use zip64 records */
  npz_ent *e;
  size_t n, cap;
  uint64_t pos;       /* current end of the archive */
  int broken;         /* a write failed: the archive cannot be finished */
  /* for the member being written */
  z_stream z;
  uint32_t crc;
  uint64_t cwritten;
  uint8_t out[CHUNK];
};

/* zip64 is needed at 0xFFFFFFFF; LAMINA_ZIP64_THRESHOLD lowers the limit
 * so tests can exercise the zip64 records with small files. */
static uint64_t zip64_threshold(void) {
  const char *s = getenv("LAMINA_ZIP64_THRESHOLD");
  if (s && *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == '\0' && v > 0 && v <= 0xFFFFFFFFull) return v;
  }
  return 0xFFFFFFFFull;
}

lam_npz_writer *lam_npz_open(const char *path, int32_t compress, int32_t overwrite) {
  if (compress < 0 || compress > 9) {
    lam_set_error(LAM_EINVAL, "npz: %s: compress must be 0 (stored) or a level 1..9",
                  path ? path : "?");
    return NULL;
  }
  lam_npz_writer *w = calloc(1, sizeof *w);
  if (!w) {
    lam_set_error(LAM_ENOMEM, "npz: out of memory");
    return NULL;
  }
  if (af_open(&w->af, path, overwrite, "npz")) {
    free(w);
    return NULL;
  }
  w->level = compress;
  w->overwrite = overwrite;
  w->z64 = zip64_threshold();
  return w;
}

static int npz_raw(lam_npz_writer *w, const void *p, size_t n) {
  if (fwrite(p, 1, n, w->af.f) != n) {
    w->broken = 1;
    return lam_set_error(LAM_EIO, "npz: %s: write failed: %s", w->af.path, strerror(errno));
  }
  w->pos += n;
  return LAM_OK;
}

/* Member bytes: CRC over the uncompressed bytes, then stored or deflated. */
static int npz_put(void *ctx, const void *p, size_t n) {
  lam_npz_writer *w = ctx;
  w->crc = (uint32_t)crc32(w->crc, p, (uInt)n); /* callers pass < 4 GiB */
  if (w->level == 0) {
    w->cwritten += n;
    return npz_raw(w, p, n);
  }
  w->z.next_in = (Bytef *)(uintptr_t)p;
  w->z.avail_in = (uInt)n;
  while (w->z.avail_in) {
    w->z.next_out = w->out;
    w->z.avail_out = CHUNK;
    if (deflate(&w->z, Z_NO_FLUSH) == Z_STREAM_ERROR) {
      w->broken = 1;
      return lam_set_error(LAM_EIO, "npz: %s: deflate failed", w->af.path);
    }
    size_t k = CHUNK - w->z.avail_out;
    w->cwritten += k;
    if (k && npz_raw(w, w->out, k)) return LAM_EIO;
  }
  return LAM_OK;
}

static int npz_finish_deflate(lam_npz_writer *w) {
  int zr;
  do {
    w->z.next_out = w->out;
    w->z.avail_out = CHUNK;
    zr = deflate(&w->z, Z_FINISH);
    if (zr == Z_STREAM_ERROR) {
      w->broken = 1;
      return lam_set_error(LAM_EIO, "npz: %s: deflate failed", w->af.path);
    }
    size_t k = CHUNK - w->z.avail_out;
    w->cwritten += k;
    if (k && npz_raw(w, w->out, k)) return LAM_EIO;
  } while (zr != Z_STREAM_END);
  return LAM_OK;
}

int lam_npz_add(lam_npz_writer *w, const char *name, const lam_buf *b) {
  if (!w) return lam_set_error(LAM_EINVAL, "npz: writer is NULL");
  const char *path = w->af.path;
  if (w->broken)
    return lam_set_error(LAM_ESTATE, "npz: %s: an earlier write failed", path);
  if (!name || !*name || strchr(name, '/') || strchr(name, '\\') || strlen(name) > 1000)
    return lam_set_error(LAM_EINVAL, "npz: %s: bad member name '%s'", path,
                         name ? name : "(null)");
  if (!b) return lam_set_error(LAM_EINVAL, "npz: %s: member '%s': buffer is NULL", path, name);
  size_t nl = strlen(name) + 4;
  for (size_t i = 0; i < w->n; i++)
    if (strlen(w->e[i].name) == nl && strncmp(w->e[i].name, name, nl - 4) == 0)
      return lam_set_error(LAM_EINVAL, "npz: %s: member '%s' added twice", path, name);
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 8;
    npz_ent *e = realloc(w->e, cap * sizeof *e);
    if (!e) return lam_set_error(LAM_ENOMEM, "npz: out of memory");
    w->e = e;
    w->cap = cap;
  }
  size_t hl;
  uint8_t *h = npy_header(b, "npz", &hl);
  if (!h) return LAM_EINVAL;
  npz_ent *e = &w->e[w->n];
  memset(e, 0, sizeof *e);
  e->name = malloc(nl + 1);
  if (!e->name) {
    free(h);
    return lam_set_error(LAM_ENOMEM, "npz: out of memory");
  }
  snprintf(e->name, nl + 1, "%s.npy", name);
  e->usize = hl + (uint64_t)b->size * lam_dtype_size(b->dtype);
  e->method = w->level ? 8 : 0;
  e->off = w->pos;
  for (const char *c = name; *c; c++)
    if ((unsigned char)*c >= 0x80) e->flags |= 1u << 11; /* UTF-8 name */
  /* The local header must say up front whether it carries a zip64 extra;
   * compressBound is an upper bound on the raw deflate size too. */
  uint64_t bound = w->level ? (uint64_t)compressBound((uLong)e->usize) : e->usize;
  int z64 = e->usize >= w->z64 || bound >= w->z64;
  e->need = z64 ? 45 : 20;
  uint8_t lh[30 + 20];
  memset(lh, 0, sizeof lh);
  put32(lh, 0x04034b50);
  put16(lh + 4, e->need);
  put16(lh + 6, e->flags);
  put16(lh + 8, e->method);
  put16(lh + 10, 0);      /* 00:00 */
  put16(lh + 12, 0x0021); /* 1980-01-01, as NumPy writes */
  put16(lh + 26, (uint32_t)(nl));
  put16(lh + 28, z64 ? 20 : 0);
  int rc = npz_raw(w, lh, 30);
  if (!rc) rc = npz_raw(w, e->name, nl);
  if (!rc && z64) {
    uint8_t x[20] = {0};
    put16(x, 1);
    put16(x + 2, 16);
    rc = npz_raw(w, x, 20);
  }
  w->crc = (uint32_t)crc32(0, NULL, 0);
  w->cwritten = 0;
  if (!rc && w->level) {
    memset(&w->z, 0, sizeof w->z);
    if (deflateInit2(&w->z, w->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      rc = lam_set_error(LAM_ENOMEM, "npz: %s: deflateInit2 failed", path);
  }
  int zinit = !rc && w->level;
  if (!rc) rc = npz_put(w, h, hl);
  free(h);
  if (!rc) rc = write_elems(b, npz_put, w);
  if (!rc && w->level) rc = npz_finish_deflate(w);
  if (zinit) deflateEnd(&w->z);
  if (!rc) {
    e->crc = w->crc;
    e->csize = w->cwritten;
    /* Patch CRC and sizes into the local header now that they are known;
     * seeking back avoids data descriptors, which some readers mishandle. */
    uint8_t fix[12];
    put32(fix, e->crc);
    put32(fix + 4, z64 ? 0xFFFFFFFFu : (uint32_t)e->csize);
    put32(fix + 8, z64 ? 0xFFFFFFFFu : (uint32_t)e->usize);
    uint8_t x[16];
    put64(x, e->usize);
    put64(x + 8, e->csize);
    if (fseeko(w->af.f, (off_t)(e->off + 14), SEEK_SET) != 0 ||
        fwrite(fix, 1, 12, w->af.f) != 12 ||
        (z64 && (fseeko(w->af.f, (off_t)(e->off + 30 + nl + 4), SEEK_SET) != 0 ||
                 fwrite(x, 1, 16, w->af.f) != 16)) ||
        fseeko(w->af.f, (off_t)w->pos, SEEK_SET) != 0) {
      w->broken = 1;
      rc = lam_set_error(LAM_EIO, "npz: %s: write failed: %s", path, strerror(errno));
    }
  } else {
    w->broken = 1;
  }
  if (rc) {
    free(e->name);
    return rc;
  }
  w->n++;
  return LAM_OK;
}

void lam_npz_discard(lam_npz_writer *w) {
  if (!w) return;
  af_discard(&w->af);
  for (size_t i = 0; i < w->n; i++) free(w->e[i].name);
  free(w->e);
  free(w);
}

int lam_npz_close(lam_npz_writer *w) {
  if (!w) return lam_set_error(LAM_EINVAL, "npz: writer is NULL");
  if (w->broken) {
    int rc = lam_set_error(LAM_EIO, "npz: %s: an earlier write failed; nothing written",
                           w->af.path);
    lam_npz_discard(w);
    return rc;
  }
  int rc = LAM_OK;
  uint64_t cd_off = w->pos;
  for (size_t i = 0; i < w->n && !rc; i++) {
    npz_ent *e = &w->e[i];
    uint8_t ch[46], x[28];
    size_t xl = 4;
    /* The zip64 extra holds exactly the fields whose 32-bit slot is
     * saturated, in the fixed order usize, csize, offset. */
    int bu = e->usize >= w->z64, bc = e->csize >= w->z64, bo = e->off >= w->z64;
    if (bu) put64(x + xl, e->usize), xl += 8;
    if (bc) put64(x + xl, e->csize), xl += 8;
    if (bo) put64(x + xl, e->off), xl += 8;
    put16(x, 1);
    put16(x + 2, (uint32_t)(xl - 4));
    if (xl == 4) xl = 0;
    uint16_t need = xl ? 45 : e->need;
    size_t nl = strlen(e->name);
    memset(ch, 0, sizeof ch);
    put32(ch, 0x02014b50);
    put16(ch + 4, (3u << 8) | need); /* made by UNIX */
    put16(ch + 6, need);
    put16(ch + 8, e->flags);
    put16(ch + 10, e->method);
    put16(ch + 12, 0);
    put16(ch + 14, 0x0021);
    put32(ch + 16, e->crc);
    put32(ch + 20, bc ? 0xFFFFFFFFu : (uint32_t)e->csize);
    put32(ch + 24, bu ? 0xFFFFFFFFu : (uint32_t)e->usize);
    put16(ch + 28, (uint32_t)nl);
    put16(ch + 30, (uint32_t)xl);
    put32(ch + 38, 0100644u << 16); /* a regular rw-r--r-- file for unzip */
    put32(ch + 42, bo ? 0xFFFFFFFFu : (uint32_t)e->off);
    rc = npz_raw(w, ch, 46);
    if (!rc) rc = npz_raw(w, e->name, nl);
    if (!rc && xl) rc = npz_raw(w, x, xl);
  }
  uint64_t cd_size = w->pos - cd_off;
  int z64 = w->n > 0xFFFE || cd_off >= w->z64 || cd_size >= w->z64;
  if (!rc && z64) {
    uint8_t r[56 + 20];
    memset(r, 0, sizeof r);
    uint64_t rec_off = w->pos;
    put32(r, 0x06064b50);
    put64(r + 4, 44);
    put16(r + 12, (3u << 8) | 45);
    put16(r + 14, 45);
    put64(r + 24, w->n);
    put64(r + 32, w->n);
    put64(r + 40, cd_size);
    put64(r + 48, cd_off);
    put32(r + 56, 0x07064b50);
    put64(r + 64, rec_off);
    put32(r + 72, 1);
    rc = npz_raw(w, r, sizeof r);
  }
  if (!rc) {
    uint8_t r[22];
    memset(r, 0, sizeof r);
    put32(r, 0x06054b50);
    uint32_t cnt = w->n > 0xFFFE ? 0xFFFF : (uint32_t)w->n;
    put16(r + 8, cnt);
    put16(r + 10, cnt);
    put32(r + 12, cd_size >= w->z64 ? 0xFFFFFFFFu : (uint32_t)cd_size);
    put32(r + 16, cd_off >= w->z64 ? 0xFFFFFFFFu : (uint32_t)cd_off);
    rc = npz_raw(w, r, 22);
  }
  if (!rc) rc = af_commit(&w->af, w->overwrite, "npz");
  lam_npz_discard(w);
  return rc;
}

/* ------------------------------------------------------------------ */
/* .npz reader                                                         */
/* ------------------------------------------------------------------ */

typedef struct zdir {
  FILE *f;
  uint64_t size, cd_off;
  npz_ent *e;
  size_t n;
} zdir;

static void zdir_free(zdir *z) {
  if (z->f) fclose(z->f);
  for (size_t i = 0; i < z->n; i++) free(z->e[i].name);
  free(z->e);
  memset(z, 0, sizeof *z);
}

static int zread_at(zdir *z, uint64_t off, void *p, size_t n) {
  return off <= z->size && n <= z->size - off && fseeko(z->f, (off_t)off, SEEK_SET) == 0 &&
                 fread(p, 1, n, z->f) == n
             ? 0
             : -1;
}

/* Reads and checks the end records and the central directory.  Every
 * count and offset is bounded by the file size before it is used. */
static int zdir_open(zdir *z, const char *path) {
  memset(z, 0, sizeof *z);
#define ZFAIL(...) do { lam_set_error(LAM_EINVAL, __VA_ARGS__); goto fail; } while (0)
  uint8_t *tail = NULL, *cd = NULL;
  int rc = LAM_EINVAL; /* the status returned on failure */
  if (!path) {
    lam_set_error(LAM_EINVAL, "npz: path is NULL");
    return LAM_EINVAL;
  }
  z->f = fopen(path, "rb");
  struct stat st;
  if (!z->f || fstat(fileno(z->f), &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = errno;
    rc = lam_set_error(e == ENOENT ? LAM_ENOTFOUND : LAM_EIO, "npz: %s: %s", path,
                       z->f ? "not a regular file" : strerror(e));
    goto fail;
  }
  z->size = (uint64_t)st.st_size;
  if (z->size < 22) ZFAIL("npz: %s: not a zip archive (too short)", path);
  size_t tl = z->size < 22 + 65535 ? (size_t)z->size : 22 + 65535;
  tail = malloc(tl);
  if (!tail) {
    rc = lam_set_error(LAM_ENOMEM, "npz: out of memory");
    goto fail;
  }
  if (zread_at(z, z->size - tl, tail, tl)) ZFAIL("npz: %s: read failed", path);
  /* The end record is the last signature whose comment reaches exactly to
   * the end of the file. */
  size_t eo = (size_t)-1;
  for (size_t i = tl - 22 + 1; i-- > 0;)
    if (get32(tail + i) == 0x06054b50 && i + 22 + get16(tail + i + 20) == tl) {
      eo = i;
      break;
    }
  if (eo == (size_t)-1) ZFAIL("npz: %s: not a zip archive (no end of central directory)", path);
  uint64_t eocd = z->size - tl + eo;
  uint64_t count = get16(tail + eo + 10), cd_size = get32(tail + eo + 12);
  uint64_t cd_off = get32(tail + eo + 16);
  if (get16(tail + eo + 4) != 0 || get16(tail + eo + 6) != 0)
    ZFAIL("npz: %s: multi-disk archives are not supported", path);
  if (eocd >= 20) {
    uint8_t loc[20], r[56];
    if (zread_at(z, eocd - 20, loc, 20)) ZFAIL("npz: %s: read failed", path);
    if (get32(loc) == 0x07064b50) {
      uint64_t ro = get64(loc + 8);
      if (ro > eocd - 20 || eocd - 20 - ro < 56 || zread_at(z, ro, r, 56) ||
          get32(r) != 0x06064b50)
        ZFAIL("npz: %s: bad zip64 end of central directory", path);
      count = get64(r + 32);
      cd_size = get64(r + 40);
      cd_off = get64(r + 48);
      eocd = ro;
    }
  }
  if (cd_off > eocd || cd_size > eocd - cd_off)
    ZFAIL("npz: %s: central directory lies outside the file", path);
  /* Each entry takes at least 46 bytes, which bounds the count. */
  if (count > cd_size / 46)
    ZFAIL("npz: %s: central directory truncated (%llu entries in %llu bytes)", path,
          (unsigned long long)count, (unsigned long long)cd_size);
  cd = malloc(cd_size ? (size_t)cd_size : 1);
  z->e = calloc(count ? (size_t)count : 1, sizeof *z->e);
  if (!cd || !z->e) {
    rc = lam_set_error(LAM_ENOMEM, "npz: out of memory");
    goto fail;
  }
  if (zread_at(z, cd_off, cd, (size_t)cd_size)) ZFAIL("npz: %s: read failed", path);
  z->cd_off = cd_off;
  size_t p = 0;
  for (uint64_t i = 0; i < count; i++) {
    if (cd_size - p < 46 || get32(cd + p) != 0x02014b50)
      ZFAIL("npz: %s: central directory truncated or corrupt at entry %llu", path,
            (unsigned long long)i);
    size_t nl = get16(cd + p + 28), xl = get16(cd + p + 30), cl = get16(cd + p + 32);
    if (cd_size - p - 46 < nl + xl + cl)
      ZFAIL("npz: %s: central directory truncated at entry %llu", path,
            (unsigned long long)i);
    npz_ent *e = &z->e[z->n];
    e->flags = (uint16_t)get16(cd + p + 8);
    e->method = (uint16_t)get16(cd + p + 10);
    e->crc = get32(cd + p + 16);
    e->csize = get32(cd + p + 20);
    e->usize = get32(cd + p + 24);
    e->off = get32(cd + p + 42);
    e->name = malloc(nl + 1);
    if (!e->name) {
      rc = lam_set_error(LAM_ENOMEM, "npz: out of memory");
      goto fail;
    }
    memcpy(e->name, cd + p + 46, nl);
    e->name[nl] = '\0';
    z->n++;
    /* zip64 extra: present fields follow the saturated 32-bit ones. */
    const uint8_t *x = cd + p + 46 + nl, *xe = x + xl;
    while (xe - x >= 4) {
      uint32_t id = get16(x), sz = get16(x + 2);
      if ((size_t)(xe - x - 4) < sz) ZFAIL("npz: %s: bad extra field in '%s'", path, e->name);
      if (id == 1) {
        const uint8_t *q = x + 4, *qe = q + sz;
        uint64_t *f[3] = {&e->usize, &e->csize, &e->off};
        for (int k = 0; k < 3; k++) {
          if (*f[k] != 0xFFFFFFFFu) continue;
          if (qe - q < 8) ZFAIL("npz: %s: bad zip64 extra in '%s'", path, e->name);
          *f[k] = get64(q);
          q += 8;
        }
      }
      x += 4 + sz;
    }
    p += 46 + nl + xl + cl;
  }
  free(tail);
  free(cd);
  return LAM_OK;
#undef ZFAIL
fail:
  free(tail);
  free(cd);
  zdir_free(z);
  return rc;
}

int32_t lam_npz_count(const char *path) {
  zdir z;
  int rc = zdir_open(&z, path);
  if (rc) return rc;
  int32_t n = z.n > INT32_MAX ? INT32_MAX : (int32_t)z.n;
  zdir_free(&z);
  return n;
}

int64_t lam_npz_names(const char *path, char *out, int64_t cap) {
  zdir z;
  int rc = zdir_open(&z, path);
  if (rc) return rc;
  /* Keys without the ".npy" suffix, as np.load(...).files shows them. */
  int64_t need = 1;
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1 && !(out && cap >= need)) break;
    int64_t at = 0;
    for (size_t i = 0; i < z.n; i++) {
      size_t l = strlen(z.e[i].name);
      if (l > 4 && strcmp(z.e[i].name + l - 4, ".npy") == 0) l -= 4;
      if (pass == 1) {
        if (i > 0) out[at] = '\n';
        memcpy(out + at + (i > 0), z.e[i].name, l);
      }
      at += (int64_t)l + (i > 0);
    }
    if (pass == 0) need = at + 1;
    else out[at] = '\0';
  }
  if (out && cap > 0 && cap < need) out[0] = '\0';
  zdir_free(&z);
  return need;
}

lam_buf *lam_npz_load(const char *path, const char *name) {
  if (!name) {
    lam_set_error(LAM_EINVAL, "npz: %s: member name is NULL", path ? path : "?");
    return NULL;
  }
  zdir z;
  if (zdir_open(&z, path)) return NULL;
  npz_ent *e = NULL;
  size_t kl = strlen(name);
  for (size_t i = 0; i < z.n && !e; i++)
    if (strncmp(z.e[i].name, name, kl) == 0 && strcmp(z.e[i].name + kl, ".npy") == 0)
      e = &z.e[i];
  for (size_t i = 0; i < z.n && !e; i++)
    if (strcmp(z.e[i].name, name) == 0) e = &z.e[i];
  lam_buf *b = NULL;
  src *s = NULL;
  if (!e) {
    lam_set_error(LAM_ENOTFOUND, "npz: %s: no member '%s'", path, name);
    goto out;
  }
  s = calloc(1, sizeof *s);
  if (!s) {
    lam_set_error(LAM_ENOMEM, "npz: out of memory");
    goto out;
  }
  snprintf(s->where, sizeof s->where, "npz: %s: member '%s'", path, e->name);
  uint8_t lh[30];
  if (e->off + 30 > z.cd_off || zread_at(&z, e->off, lh, 30) || get32(lh) != 0x04034b50) {
    lam_set_error(LAM_EINVAL, "%s: bad local header", s->where);
    goto out;
  }
  uint64_t data = e->off + 30 + get16(lh + 26) + get16(lh + 28);
  if (data > z.cd_off || e->csize > z.cd_off - data) {
    lam_set_error(LAM_EINVAL, "%s: data lies outside the archive", s->where);
    goto out;
  }
  if (e->flags & 1) {
    lam_set_error(LAM_EINVAL, "%s: encrypted members are not supported", s->where);
    goto out;
  }
  if (e->method == 0 && e->csize != e->usize) {
    lam_set_error(LAM_EINVAL, "%s: stored member with different sizes", s->where);
    goto out;
  }
  /* Deflate expands at most about 1032:1; a larger claim is a lie that
   * would otherwise let a tiny file request a huge allocation. */
  if (e->method == 8 && e->usize / 1032 > e->csize + 1) {
    lam_set_error(LAM_EINVAL, "%s: uncompressed size %llu is impossible for %llu bytes",
                  s->where, (unsigned long long)e->usize, (unsigned long long)e->csize);
    goto out;
  }
  if (e->method != 0 && e->method != 8) {
    lam_set_error(LAM_EINVAL, "%s: compression method %d is not supported", s->where,
                  (int)e->method);
    goto out;
  }
  if (fseeko(z.f, (off_t)data, SEEK_SET) != 0) {
    lam_set_error(LAM_EIO, "%s: seek failed", s->where);
    goto out;
  }
  s->f = z.f;
  s->method = e->method;
  s->raw_left = e->csize;
  s->out_left = e->usize;
  s->crc = (uint32_t)crc32(0, NULL, 0);
  if (s->method == 8) {
    if (inflateInit2(&s->z, -15) != Z_OK) {
      lam_set_error(LAM_ENOMEM, "%s: inflateInit2 failed", s->where);
      goto out;
    }
    s->zinit = 1;
  }
  b = npy_read(s);
  if (b && src_end(s)) {
    lam_buf_free(b);
    b = NULL;
  }
  if (b && s->crc != e->crc) {
    lam_set_error(LAM_EINVAL, "%s: CRC-32 mismatch (archive says %08x, data gives %08x)",
                  s->where, (unsigned)e->crc, (unsigned)s->crc);
    lam_buf_free(b);
    b = NULL;
  }
out:
  if (s && s->zinit) inflateEnd(&s->z);
  free(s);
  zdir_free(&z);
  return b;
}
