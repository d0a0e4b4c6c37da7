/*
 * idx.c - tests of the IDX reader (core/idx.c): every element type plain
 * and gzip'd (files written here byte by byte, big-endian), 1 to 4
 * dimensions and empty ones, every malformed case (truncation, bad magic,
 * unknown type, too many dimensions, a header that lies about the size in
 * either direction, absurd dimensions, truncated / corrupt / wrong-CRC
 * gzip streams) and, when /usr/bin/python3 has NumPy, files written by
 * NumPy + gzip.  Everything lives in a fresh mkdtemp directory; gzip'd
 * copies are made with the gzip command.
 */
#include "lamina.h"
#include "tap.h"
#include "tmpfiles.h"

#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The IDX types, their lamina dtype and the test pattern (mirrored by the
 * Python snippet below); values reach both ends of each type's range. */
typedef struct ty {
  uint8_t code, size;
  int32_t dtype;
  const char *name, *np;
} ty;
static const ty types[] = {
    {0x08, 1, LAM_U8, "u8", ">u1"},   {0x09, 1, LAM_I32, "i8", ">i1"},
    {0x0B, 2, LAM_I32, "i16", ">i2"}, {0x0C, 4, LAM_I32, "i32", ">i4"},
    {0x0D, 4, LAM_F32, "f32", ">f4"}, {0x0E, 8, LAM_F64, "f64", ">f8"}};

static double pattern(uint8_t code, int64_t i) {
  switch (code) {
  case 0x08: return (double)(i * 7 % 256);
  case 0x09: return (double)(i * 7 % 256) - 128;
  case 0x0B: return (double)(i * 4099 % 65536) - 32768;
  case 0x0C: return (double)(i * 1000000007LL % 4294967296LL) - 2147483648.0;
  case 0x0D: return ((double)(i % 13) - 6) * 0.25;
  default: return ((double)(i % 13) - 6) * 0.1;
  }
}

/* Big-endian bytes of v as type code. */
static void put_be(uint8_t *p, uint8_t code, double v) {
  uint64_t u = 0;
  int sz = 1;
  switch (code) {
  case 0x08: u = (uint8_t)v; break;
  case 0x09: u = (uint8_t)(int8_t)v; break;
  case 0x0B: u = (uint16_t)(int16_t)v, sz = 2; break;
  case 0x0C: u = (uint32_t)(int32_t)v, sz = 4; break;
  case 0x0D: {
    float f = (float)v;
    uint32_t w;
    memcpy(&w, &f, 4);
    u = w, sz = 4;
    break;
  }
  default: memcpy(&u, &v, 8), sz = 8;
  }
  for (int k = 0; k < sz; k++) p[k] = (uint8_t)(u >> (8 * (sz - 1 - k)));
}

/* An IDX file of the pattern with the given shape; returns its size. */
static size_t make_idx(const char *name, const ty *t, int ndim, const uint32_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) n *= shape[d];
  size_t len = 4 + 4 * (size_t)ndim + (size_t)n * t->size;
  uint8_t *p = malloc(len);
  p[0] = p[1] = 0;
  p[2] = t->code;
  p[3] = (uint8_t)ndim;
  for (int d = 0; d < ndim; d++)
    for (int k = 0; k < 4; k++) p[4 + 4 * d + k] = (uint8_t)(shape[d] >> (8 * (3 - k)));
  for (int64_t i = 0; i < n; i++) put_be(p + 4 + 4 * ndim + i * t->size, t->code, pattern(t->code, i));
  write_bytes(P(name), p, len);
  free(p);
  return len;
}

/* The buffer has dtype t, the shape and the pattern's values exactly. */
static int matches(const lam_buf *b, const ty *t, int ndim, const uint32_t *shape) {
  if (!b || b->dtype != t->dtype || b->ndim != ndim || !(b->flags & LAM_BUF_CONTIGUOUS))
    return 0;
  for (int d = 0; d < ndim; d++)
    if (b->shape[d] != shape[d]) return 0;
  for (int64_t i = 0; i < b->size; i++) {
    double want = pattern(t->code, i);
    if (t->code == 0x0D) want = (float)want;
    if (lam_buf_get(b, i) != want) return 0;
  }
  return 1;
}

static void test_types(void) {
  static const uint32_t shapes[4][4] = {{7}, {3, 5}, {2, 3, 4}, {2, 1, 3, 2}};
  for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
    const ty *t = &types[k];
    int good = 1, goodz = 1;
    for (int nd = 1; nd <= 4; nd++) {
      char name[64];
      snprintf(name, sizeof name, "%s_%d.idx", t->name, nd);
      make_idx(name, t, nd, shapes[nd - 1]);
      gzip_copy(name);
      lam_buf *b = lam_idx_load(P(name));
      if (!matches(b, t, nd, shapes[nd - 1])) {
        good = 0;
        diag("  %s: %s", name, b ? "wrong contents" : lam_last_error());
      }
      lam_buf_free(b);
      snprintf(name + strlen(name), sizeof name - strlen(name), ".gz");
      b = lam_idx_load(P(name));
      if (!matches(b, t, nd, shapes[nd - 1])) {
        goodz = 0;
        diag("  %s: %s", name, b ? "wrong contents" : lam_last_error());
      }
      lam_buf_free(b);
    }
    ok(good, "%s: plain IDX files of 1 to 4 dimensions read exactly as %s", t->name,
       lam_dtype_name(t->dtype));
    ok(goodz, "%s: gzip'd IDX files of 1 to 4 dimensions read exactly", t->name);
  }
  /* The extreme values of each integer type, written by hand. */
  static const uint8_t ext[] = {0, 0, 0x0B, 1, 0, 0, 0, 3, 0x80, 0x00, 0xFF, 0xFF, 0x7F, 0xFF};
  write_bytes(P("ext16.idx"), ext, sizeof ext);
  lam_buf *b = lam_idx_load(P("ext16.idx"));
  ok(b && lam_buf_get(b, 0) == -32768 && lam_buf_get(b, 1) == -1 && lam_buf_get(b, 2) == 32767,
     "i16 big-endian 80 00, ff ff, 7f ff -> -32768, -1, 32767");
  lam_buf_free(b);
  static const uint8_t ext32[] = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0x80, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFE};
  write_bytes(P("ext32.idx"), ext32, sizeof ext32);
  b = lam_idx_load(P("ext32.idx"));
  ok(b && lam_buf_get(b, 0) == -2147483648.0 && lam_buf_get(b, 1) == 2147483646.0,
     "i32 big-endian 80 00 00 00, 7f ff ff fe -> -2^31, 2^31 - 2");
  lam_buf_free(b);
  /* Empty dimensions give an empty buffer of the right shape. */
  uint32_t empty[2] = {0, 28};
  make_idx("empty.idx", &types[0], 2, empty);
  gzip_copy("empty.idx");
  b = lam_idx_load(P("empty.idx"));
  lam_buf *bz = lam_idx_load(P("empty.idx.gz"));
  ok(b && bz && b->size == 0 && b->shape[0] == 0 && b->shape[1] == 28 && bz->size == 0 &&
         bz->shape[1] == 28,
     "a (0, 28) IDX file, plain and gzip'd, gives an empty [0, 28] buffer");
  lam_buf_free(b);
  lam_buf_free(bz);
}

/* lam_idx_load(name) fails with a message naming the file and
 * containing `why`. */
static void bad(const char *name, const char *why) {
  lam_buf *b = lam_idx_load(P(name));
  const char *e = lam_last_error();
  ok(!b && strstr(e, P(name)) && strstr(e, why) && !strchr(e, '\n'),
     "%s refused: %s", name, why);
  if (b || !strstr(e, why)) diag("  message: %s", e);
  lam_buf_free(b);
}

static void test_malformed(void) {
  ok(!lam_idx_load(NULL) && strstr(lam_last_error(), "NULL"), "NULL path refused");
  lam_buf *b = lam_idx_load(P("missing.idx"));
  ok(!b && strstr(lam_last_error(), "missing.idx") && strstr(lam_last_error(), "No such file"),
     "a missing file: error names it");
  b = lam_idx_load(tmp_dir_);
  ok(!b && strstr(lam_last_error(), "not a regular file"), "a directory is refused");
  write_bytes(P("empty_file.idx"), "", 0);
  bad("empty_file.idx", "too short");
  write_bytes(P("three.idx"), "\0\0\x08", 3);
  bad("three.idx", "too short");
  write_bytes(P("magic.idx"), "\x01\0\x08\x01\0\0\0\x01\x05", 9);
  bad("magic.idx", "bad magic");
  write_bytes(P("type.idx"), "\0\0\x0A\x01\0\0\0\x01\x05", 9);
  bad("type.idx", "bad magic 00 00 0a");
  write_bytes(P("ndim0.idx"), "\0\0\x08\x00", 4);
  bad("ndim0.idx", "0 dimensions");
  uint8_t d5[4 + 20 + 1] = {0, 0, 8, 5};
  for (int d = 0; d < 5; d++) d5[4 + 4 * d + 3] = 1;
  write_bytes(P("ndim5.idx"), d5, sizeof d5);
  bad("ndim5.idx", "5 dimensions (lamina reads 1 to 4)");
  write_bytes(P("hdr.idx"), "\0\0\x08\x02\0\0\0\x02\0\0", 10);
  bad("hdr.idx", "truncated header");
  /* Data shorter and longer than the header says. */
  uint32_t sh[2] = {3, 4};
  size_t len = make_idx("ok.idx", &types[3], 2, sh);
  size_t n;
  uint8_t *p = read_bytes(P("ok.idx"), &n);
  write_bytes(P("short.idx"), p, len - 1);
  bad("short.idx", "(48 bytes) but the file holds 47 data bytes");
  uint8_t *q = malloc(len + 4);
  memcpy(q, p, len);
  memset(q + len, 0, 4);
  write_bytes(P("long.idx"), q, len + 4);
  bad("long.idx", "but the file holds 52 data bytes");
  /* A header claiming 10^12 elements in a 100-byte file fails at once,
   * without trying to allocate (ASan would report a huge allocation). */
  uint8_t huge[100] = {0, 0, 0x0E, 2, 0x00, 0x0F, 0x42, 0x40, 0x00, 0x0F, 0x42, 0x40};
  write_bytes(P("huge.idx"), huge, sizeof huge);
  clock_t t0 = clock();
  bad("huge.idx", "1000000000000 elements of f64");
  write_bytes(P("hugez"), huge, sizeof huge);
  gzip_copy("hugez");
  bad("hugez.gz", "more than a");
  ok((double)(clock() - t0) / CLOCKS_PER_SEC < 5, "both refused without work proportional to the claim");
  /* Absurd dimensions: the product overflows, or a zero dimension hides
   * huge others whose strides would overflow (found by tests/fuzz/idx.c:
   * the gzip'd input below was its first crash, a signed overflow in
   * lam_buf_new's strides). */
  write_bytes(P("overflow.idx"), "\0\0\x08\x04\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 20);
  bad("overflow.idx", "absurd dimensions");
  write_bytes(P("zerodim.idx"), "\0\0\x0E\x04\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 20);
  bad("zerodim.idx", "absurd dimensions");
  static const uint8_t crash1[] = {0x1f, 0x8b, 0x8,  0x0,  0x80, 0x0, 0x0, 0x3f, 0x2,
                                   0x3,  0x63, 0x60, 0xe0, 0x65, 0x61, 0x60, 0x60, 0x60,
                                   0x60, 0x42, 0xc3, 0xc};
  write_bytes(P("fuzz-crash1.idx"), crash1, sizeof crash1);
  b = lam_idx_load(P("fuzz-crash1.idx"));
  ok(!b && strstr(lam_last_error(), "fuzz-crash1.idx"), "fuzz crash 1 (zero dimension beside huge ones, gzip'd) refused: %s",
     lam_last_error());
  lam_buf_free(b);
  /* gzip problems: truncated stream, corrupt deflate data, wrong CRC, and
   * decompressed data shorter / longer than the header says. */
  gzip_copy("ok.idx");
  uint8_t *z = read_bytes(P("ok.idx.gz"), &n);
  write_bytes(P("cut.idx.gz"), z, n - 12);
  bad("cut.idx.gz", "truncated gzip stream");
  write_bytes(P("cut2.idx.gz"), z, 14);
  bad("cut2.idx.gz", "truncated gzip stream");
  uint8_t *c = malloc(n);
  memcpy(c, z, n);
  c[n - 6] ^= 0x55; /* inside the CRC-32 of the trailer */
  write_bytes(P("crc.idx.gz"), c, n);
  bad("crc.idx.gz", "corrupt gzip stream (incorrect data check)");
  memcpy(c, z, n);
  c[n - 2] ^= 0x01; /* inside the length (ISIZE) of the trailer */
  write_bytes(P("isize.idx.gz"), c, n);
  bad("isize.idx.gz", "corrupt gzip stream (incorrect length check)");
  memcpy(c, z, n);
  c[10] = 0xFF; /* first deflate byte: block type 3 is invalid */
  write_bytes(P("deflate.idx.gz"), c, n);
  bad("deflate.idx.gz", "corrupt gzip stream");
  write_bytes(P("shortz.idx"), p, len - 4);
  gzip_copy("shortz.idx");
  bad("shortz.idx.gz", "truncated: the header promises 48 data bytes, the file holds 44");
  gzip_copy("long.idx");
  bad("long.idx.gz", "data continues after the 48 bytes");
  /* zlib's documented behaviour, as gunzip's: concatenated members are one
   * stream, and bytes after the last member that are not a gzip header
   * are ignored (a lone gzip magic there reads as a truncated member). */
  uint8_t *cat = malloc(2 * n + 8);
  write_bytes(P("head.idx"), p, 20);
  write_bytes(P("tail.idx"), p + 20, len - 20);
  gzip_copy("head.idx");
  gzip_copy("tail.idx");
  size_t n1, n2;
  uint8_t *z1 = read_bytes(P("head.idx.gz"), &n1), *z2 = read_bytes(P("tail.idx.gz"), &n2);
  memcpy(cat, z1, n1);
  memcpy(cat + n1, z2, n2);
  write_bytes(P("members.idx.gz"), cat, n1 + n2);
  memcpy(cat, z, n);
  memcpy(cat + n, "garbage!", 8);
  write_bytes(P("garbage.idx.gz"), cat, n + 8);
  lam_buf *m = lam_idx_load(P("members.idx.gz")), *g = lam_idx_load(P("garbage.idx.gz"));
  ok(m && g && m->size == 12 && g->size == 12 && lam_buf_get(m, 11) == lam_buf_get(g, 11),
     "two concatenated gzip members read as one file; trailing non-gzip bytes ignored");
  lam_buf_free(m);
  lam_buf_free(g);
  memcpy(cat + n, "\x1f\x8b", 2);
  write_bytes(P("magic.idx.gz"), cat, n + 2);
  bad("magic.idx.gz", "truncated gzip stream");
  free(z1);
  free(z2);
  free(cat);
  free(c);
  free(z);
  free(p);
  free(q);
}

/* ---- NumPy + gzip interchange -------------------------------------- */

static void test_numpy(void) {
  if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    skip(2, "/usr/bin/python3 with numpy not available");
    return;
  }
  int rc = tmp_python(
          "import sys, gzip, struct, numpy as np\n"
          "D = sys.argv[1]\n"
          "def pat(code, n):\n"
          "    i = np.arange(n, dtype=np.int64)\n"
          "    if code == 8: return i * 7 % 256\n"
          "    if code == 9: return i * 7 % 256 - 128\n"
          "    if code == 11: return i * 4099 % 65536 - 32768\n"
          "    if code == 12: return i * 1000000007 % 4294967296 - 2147483648\n"
          "    if code == 13: return ((i % 13) - 6.0) * 0.25\n"
          "    return ((i % 13) - 6.0) * 0.1\n"
          "for code, dt in [(8,'>u1'), (9,'>i1'), (11,'>i2'), (12,'>i4'), (13,'>f4'), (14,'>f8')]:\n"
          "    shape = (4, 3, 5)\n"
          "    a = pat(code, 60).astype(dt).reshape(shape)\n"
          "    raw = bytes([0, 0, code, 3]) + struct.pack('>3I', *shape) + a.tobytes()\n"
          "    open('%s/np%d.idx' % (D, code), 'wb').write(raw)\n"
          "    open('%s/np%d.idx.gz' % (D, code), 'wb').write(gzip.compress(raw))\n");
  ok(rc == 0, "numpy + gzip wrote IDX files of every type");
  static const uint32_t shape[3] = {4, 3, 5};
  int good = 1;
  for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
    for (int gz = 0; gz < 2; gz++) {
      char name[64];
      snprintf(name, sizeof name, "np%d.idx%s", types[k].code, gz ? ".gz" : "");
      lam_buf *b = lam_idx_load(P(name));
      if (!matches(b, &types[k], 3, shape)) {
        good = 0;
        diag("  %s: %s", name, b ? "wrong contents" : lam_last_error());
      }
      lam_buf_free(b);
    }
  }
  ok(good, "lamina reads numpy's big-endian IDX files of every type, plain and gzip'd");
}

static void test_fashion(void) {
  const char *lab = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  struct stat st;
  if (stat(lab, &st) != 0) {
    skip(1, "dataset-fashion-mnist not installed");
    return;
  }
  lam_buf *b = lam_idx_load(lab);
  int64_t count[10] = {0};
  for (int64_t i = 0; b && i < b->size; i++) count[((uint8_t *)b->data)[i] % 10]++;
  /* The Fashion-MNIST test set has 1000 images of each of the 10 classes. */
  int even = b && b->ndim == 1 && b->shape[0] == 10000 && b->dtype == LAM_U8;
  for (int k = 0; k < 10; k++) even = even && count[k] == 1000;
  ok(even, "Fashion-MNIST t10k labels: 10000 u8 labels, 1000 per class");
  lam_buf_free(b);
}

int main(void) {
  tap_plan(45);
  if (tmp_begin("idx")) return 1;
  test_types();
  test_malformed();
  test_numpy();
  test_fashion();
  tmp_end();
  return tap_done();
}
