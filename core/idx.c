/*
 * idx.c - IDX files (the MNIST / Fashion-MNIST format), plain or gzip'd,
 * and the small gzip-or-plain file layer that csv.c shares.
 *
 * An IDX file is: two zero bytes, a type byte (0x08 u8, 0x09 i8, 0x0B i16,
 * 0x0C i32, 0x0D f32, 0x0E f64), the number of dimensions, one big-endian
 * u32 per dimension, then the elements in row-major order, big-endian.
 * Types map onto lamina dtypes: u8 -> LAM_U8, i8/i16/i32 -> LAM_I32
 * (widened), f32 -> LAM_F32, f64 -> LAM_F64.
 *
 * zlib's gz* functions read gzip'd and plain files alike.  A header can
 * claim any size, so nothing is allocated on its word alone: a plain file
 * must be exactly as long as the header says (checked with fstat before
 * allocating), and a gzip'd one is refused at once when the claim exceeds
 * what deflate can expand its compressed size to, and otherwise read into
 * storage that grows only as decompressed bytes actually arrive.
 */
#include "lamina.h"
#include "lam_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ */
/* gzip-or-plain input (shared with csv.c through lam_int.h)           */
/* ------------------------------------------------------------------ */

int lam__gz_open(lam__gz *g, const char *path, const char *kind) {
  memset(g, 0, sizeof *g);
  if (!path) return lam_set_error(LAM_EINVAL, "%s: path is NULL", kind);
  snprintf(g->where, sizeof g->where, "%s: %s", kind, path);
  /* open + fstat + gzdopen on the same descriptor: the file checked is the
   * file read, and a directory or FIFO is refused before zlib sees it. */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0) {
    int e = errno;
    return lam_set_error(e == ENOENT ? LAM_ENOTFOUND : LAM_EIO, "%s: %s", g->where,
                         strerror(e));
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return lam_set_error(LAM_EIO, "%s: not a regular file", g->where);
  }
  g->file_size = (uint64_t)st.st_size;
  uint8_t magic[2] = {0, 0};
  g->compressed = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  g->gz = gzdopen(fd, "rb");
  if (!g->gz) {
    close(fd);
    return lam_set_error(LAM_ENOMEM, "%s: cannot open (out of memory)", g->where);
  }
  gzbuffer(g->gz, 1u << 16);
  return LAM_OK;
}

void lam__gz_close(lam__gz *g) {
  if (g->gz) gzclose_r(g->gz);
  g->gz = NULL;
}

int64_t lam__gz_read(lam__gz *g, void *dst, size_t n) {
  uint8_t *o = dst;
  size_t got = 0;
  while (got < n) {
    size_t k = n - got < (1u << 30) ? n - got : (1u << 30);
    int r = gzread(g->gz, o + got, (unsigned)k);
    int zerr = Z_OK;
    const char *msg = r < 0 || (size_t)r < k ? gzerror(g->gz, &zerr) : NULL;
    /* gzread returns what it decoded before a problem and reports the
     * problem through gzerror: Z_BUF_ERROR for a stream that ends early,
     * Z_DATA_ERROR for a corrupt one (bad deflate data, CRC or length). */
    /* gzdopen'ed files call themselves "<fd:N>" in zlib's messages. */
    if (msg && strncmp(msg, "<fd:", 4) == 0 && strstr(msg, ": ")) msg = strstr(msg, ": ") + 2;
    if (zerr == Z_BUF_ERROR)
      return lam_set_error(LAM_EINVAL, "%s: truncated gzip stream (%s)", g->where, msg);
    if (zerr == Z_ERRNO)
      return lam_set_error(LAM_EIO, "%s: read error: %s", g->where, strerror(errno));
    if (zerr != Z_OK)
      return lam_set_error(LAM_EINVAL, "%s: corrupt gzip stream (%s)", g->where,
                           msg && *msg ? msg : "zlib error");
    if (r <= 0) break;
    got += (size_t)r;
  }
  return (int64_t)got;
}

/* ------------------------------------------------------------------ */
/* IDX                                                                  */
/* ------------------------------------------------------------------ */

/* Deflate cannot expand data by more than 1032:1 (RFC 1951 stored blocks
 * and the longest match give this bound), so a gzip'd file cannot hold more
 * decompressed bytes than this multiple of its size (plus slack for tiny
 * files). */
#define GZ_MAX_RATIO 1032u
#define GZ_SLACK 4096u
/* Buffers hold at most 2^47 elements (buf.c); more is no real dataset. */
#define IDX_MAX_ELEMS ((uint64_t)1 << 47)
/* The staging block for gzip'd data starts here and doubles as data comes. */
#define STAGE_MIN (1u << 16)

typedef struct idx_type {
  uint8_t code;
  uint8_t size;     /* bytes per element in the file */
  int32_t dtype;    /* lamina dtype it becomes */
  const char *name;
} idx_type;

static const idx_type idx_types[] = {
    {0x08, 1, LAM_U8, "u8"},   {0x09, 1, LAM_I32, "i8"},  {0x0B, 2, LAM_I32, "i16"},
    {0x0C, 4, LAM_I32, "i32"}, {0x0D, 4, LAM_F32, "f32"}, {0x0E, 8, LAM_F64, "f64"}};

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Converts n big-endian elements of type t, lying at the start of b->data,
 * into b's dtype in place.  Going from the last element to the first never
 * overwrites an unread element, since an output element is never smaller
 * than its input element. */
static void idx_decode(lam_buf *b, const idx_type *t, int64_t n) {
  uint8_t *raw = b->data;
  switch (t->code) {
  case 0x08: break;
  case 0x09: {
    int32_t *o = b->data;
    for (int64_t i = n - 1; i >= 0; i--) o[i] = (int8_t)raw[i];
    break;
  }
  case 0x0B: {
    int32_t *o = b->data;
    for (int64_t i = n - 1; i >= 0; i--)
      o[i] = (int16_t)(uint16_t)((uint16_t)raw[2 * i] << 8 | raw[2 * i + 1]);
    break;
  }
  case 0x0C:
  case 0x0D: {
    for (int64_t i = 0; i < n; i++) {
      uint32_t v = be32(raw + 4 * i);
      memcpy(raw + 4 * i, &v, 4);
    }
    break;
  }
  case 0x0E: {
    for (int64_t i = 0; i < n; i++) {
      uint64_t v = (uint64_t)be32(raw + 8 * i) << 32 | be32(raw + 8 * i + 4);
      memcpy(raw + 8 * i, &v, 8);
    }
    break;
  }
  }
}

/* Reads a gzip'd payload of exactly `need` bytes into a block that grows
 * as bytes arrive; returns it (malloc'ed) or NULL with an error. */
static uint8_t *idx_read_gz(lam__gz *g, uint64_t need) {
  size_t cap = need < STAGE_MIN ? (size_t)need : STAGE_MIN, got = 0;
  uint8_t *p = malloc(cap ? cap : 1);
  if (!p) goto nomem;
  while (got < need) {
    if (got == cap) {
      size_t ncap = cap > need / 2 ? (size_t)need : cap * 2;
      uint8_t *q = realloc(p, ncap);
      if (!q) goto nomem;
      p = q;
      cap = ncap;
    }
    int64_t r = lam__gz_read(g, p + got, cap - got);
    if (r < 0) goto fail;
    if (r == 0) {
      lam_set_error(LAM_EINVAL,
                    "%s: truncated: the header promises %llu data bytes, the file holds %llu",
                    g->where, (unsigned long long)need, (unsigned long long)got);
      goto fail;
    }
    got += (size_t)r;
  }
  return p;
nomem:
  lam_set_error(LAM_ENOMEM, "%s: out of memory after %llu of %llu bytes", g->where,
                (unsigned long long)got, (unsigned long long)need);
fail:
  free(p);
  return NULL;
}

lam_buf *lam_idx_load(const char *path) {
  lam__gz g;
  if (lam__gz_open(&g, path, "idx")) return NULL;
  lam_buf *b = NULL;
  uint8_t *stage = NULL;
  uint8_t head[4], dims[4 * LAM_MAX_DIMS];
  int64_t r = lam__gz_read(&g, head, 4);
  if (r < 0) goto fail;
  if (r < 4) {
    lam_set_error(LAM_EINVAL, "%s: too short for an IDX file (%lld bytes)", g.where,
                  (long long)r);
    goto fail;
  }
  const idx_type *t = NULL;
  for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
    if (idx_types[i].code == head[2]) t = &idx_types[i];
  if (head[0] != 0 || head[1] != 0 || !t) {
    lam_set_error(LAM_EINVAL,
                  "%s: not an IDX file (bad magic %02x %02x %02x; expected 00 00 "
                  "followed by a type byte 08, 09, 0b, 0c, 0d or 0e)",
                  g.where, head[0], head[1], head[2]);
    goto fail;
  }
  int32_t ndim = head[3];
  if (ndim < 1 || ndim > LAM_MAX_DIMS) {
    lam_set_error(LAM_EINVAL, "%s: %d dimensions (lamina reads 1 to %d)", g.where, (int)ndim,
                  LAM_MAX_DIMS);
    goto fail;
  }
  if ((r = lam__gz_read(&g, dims, 4 * (size_t)ndim)) < 0) goto fail;
  if (r < 4 * ndim) {
    lam_set_error(LAM_EINVAL, "%s: truncated header (%d dimensions announced)", g.where,
                  (int)ndim);
    goto fail;
  }
  int64_t shape[LAM_MAX_DIMS];
  uint64_t n = 1, nonzero = 1, bytes;
  for (int32_t d = 0; d < ndim; d++) {
    shape[d] = be32(dims + 4 * d);
    n *= (uint64_t)shape[d];
    /* Four u32 factors fit in 128 bits, not 64: check each step.  Zero
     * dimensions are left out so that (0, 2^32-1, 2^32-1) is refused too:
     * its strides would overflow even though it holds no element. */
    if (shape[d] && __builtin_mul_overflow(nonzero, (uint64_t)shape[d], &nonzero))
      nonzero = UINT64_MAX;
  }
  if (nonzero > IDX_MAX_ELEMS) {
    lam_set_error(LAM_EINVAL,
                  "%s: absurd dimensions (their product exceeds 2^47 elements)", g.where);
    goto fail;
  }
  bytes = n * t->size;
  uint64_t head_len = 4 + 4 * (uint64_t)ndim;
  if (!g.compressed) {
    uint64_t holds = g.file_size - head_len;
    if (bytes != holds) {
      lam_set_error(LAM_EINVAL,
                    "%s: the header says %llu elements of %s (%llu bytes) but the file "
                    "holds %llu data bytes",
                    g.where, (unsigned long long)n, t->name, (unsigned long long)bytes,
                    (unsigned long long)holds);
      goto fail;
    }
  } else if (bytes > g.file_size * GZ_MAX_RATIO + GZ_SLACK) {
    lam_set_error(LAM_EINVAL,
                  "%s: the header says %llu data bytes, more than a %llu-byte gzip file "
                  "can hold (deflate expands at most %ux)",
                  g.where, (unsigned long long)bytes, (unsigned long long)g.file_size,
                  GZ_MAX_RATIO);
    goto fail;
  }
  if (g.compressed && !(stage = idx_read_gz(&g, bytes))) goto fail;
  if (!(b = lam_buf_new(t->dtype, ndim, shape))) {
    lam_set_error(LAM_ENOMEM, "%s: cannot allocate %llu elements", g.where,
                  (unsigned long long)n);
    goto fail;
  }
  if (stage) {
    memcpy(b->data, stage, (size_t)bytes);
  } else {
    if ((r = lam__gz_read(&g, b->data, (size_t)bytes)) < 0) goto fail;
    if ((uint64_t)r != bytes) {
      lam_set_error(LAM_EINVAL, "%s: truncated (the file shrank while being read)", g.where);
      goto fail;
    }
  }
  /* Anything after the data means the header undercounts it; reading one
   * more byte also makes zlib check the gzip trailer (CRC and length). */
  uint8_t extra;
  if ((r = lam__gz_read(&g, &extra, 1)) < 0) goto fail;
  if (r > 0) {
    lam_set_error(LAM_EINVAL, "%s: data continues after the %llu bytes the header declares",
                  g.where, (unsigned long long)bytes);
    goto fail;
  }
  idx_decode(b, t, (int64_t)n);
  free(stage);
  lam__gz_close(&g);
  return b;
fail:
  free(stage);
  lam_buf_free(b);
  lam__gz_close(&g);
  return NULL;
}
