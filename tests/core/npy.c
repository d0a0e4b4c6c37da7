/*
 * npy.c - tests of .npy/.npz writing and reading (core/npy.c): round trips
 * of every dtype and of strided views, hand-made headers (v2, v3, '=',
 * fortran order), every malformed-file error, overwrite refusal, zip64
 * forced by LAMINA_ZIP64_THRESHOLD, and, when /usr/bin/python3 has NumPy,
 * interchange with np.save / np.savez / np.savez_compressed both ways.
 * Everything is written into a fresh mkdtemp directory.
 */
#include "lamina.h"
#include "tap.h"
#include "tmpfiles.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* The deterministic test pattern (mirrored by the Python snippets). */
static double pattern(int32_t dtype, int64_t i) {
  if (dtype == LAM_U8) return (double)(i * 7 % 251);
  double v = (double)(i * 7 % 13) - 5;
  if (dtype == LAM_F32 || dtype == LAM_F64) v += 0.25 * (double)(i % 4);
  if (dtype == LAM_I64) v *= 1099511627776.0; /* 2^40: needs 64 bits */
  return v;
}

static lam_buf *make(int32_t dtype, int32_t ndim, int64_t a, int64_t b, int64_t c) {
  int64_t shape[3] = {a, b, c};
  lam_buf *x = lam_buf_new(dtype, ndim, shape);
  for (int64_t i = 0; x && i < x->size; i++) lam_buf_set(x, i, pattern(dtype, i));
  return x;
}

/* Same dtype, shape and values. */
static int same(const lam_buf *a, const lam_buf *b) {
  if (!a || !b || a->dtype != b->dtype || a->ndim != b->ndim || a->size != b->size) return 0;
  for (int32_t d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return 0;
  for (int64_t i = 0; i < a->size; i++)
    if (lam_buf_get(a, i) != lam_buf_get(b, i)) return 0;
  return 1;
}

static int no_temp_files(void) {
  DIR *d = opendir(tmp_dir_);
  struct dirent *e;
  int clean = 1;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".tmp-")) clean = 0;
  if (d) closedir(d);
  return clean;
}

/* A .npy file from a header dict and raw data, with a given version. */
static void craft(const char *name, int major, const char *dict, const void *data,
                  size_t n) {
  uint8_t buf[1024];
  size_t pre = major == 1 ? 10 : 12, hl = strlen(dict);
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (uint8_t)major;
  buf[7] = 0;
  if (major == 1) {
    buf[8] = (uint8_t)hl;
    buf[9] = (uint8_t)(hl >> 8);
  } else {
    for (int i = 0; i < 4; i++) buf[8 + i] = (uint8_t)(hl >> (8 * i));
  }
  memcpy(buf + pre, dict, hl);
  memcpy(buf + pre + hl, data, n);
  write_bytes(P(name), buf, pre + hl + n);
}

/* Expects lam_npy_load to fail with a message naming the file and `why`. */
static void bad_npy(const char *name, const char *why) {
  lam_buf *b = lam_npy_load(P(name));
  ok(b == NULL && strstr(lam_last_error(), P(name)) && strstr(lam_last_error(), why) &&
         !strchr(lam_last_error(), '\n'),
     "malformed %s refused: %s", name, why);
  if (b || !strstr(lam_last_error(), why)) diag("  message: %s", lam_last_error());
  lam_buf_free(b);
}

static void bad_npz(const char *name, const char *member, const char *why) {
  lam_buf *b = lam_npz_load(P(name), member);
  ok(b == NULL && strstr(lam_last_error(), P(name)) && strstr(lam_last_error(), why),
     "malformed %s refused: %s", name, why);
  if (b || !strstr(lam_last_error(), why)) diag("  message: %s", lam_last_error());
  lam_buf_free(b);
}

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_npy_roundtrip(void) {
  struct { int32_t dt; int32_t nd; int64_t a, b, c; } cases[] = {
      {LAM_F32, 2, 2, 3, 0}, {LAM_F64, 1, 5, 0, 0}, {LAM_I32, 3, 2, 2, 2},
      {LAM_I64, 2, 3, 2, 0}, {LAM_U8, 1, 300, 0, 0}, {LAM_F64, 0, 0, 0, 0},
      {LAM_F32, 2, 0, 4, 0}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    lam_buf *x = make(cases[k].dt, cases[k].nd, cases[k].a, cases[k].b, cases[k].c);
    char name[32];
    snprintf(name, sizeof name, "rt%zu.npy", k);
    int rc = lam_npy_save(P(name), x, 0);
    lam_buf *y = lam_npy_load(P(name));
    ok(rc == LAM_OK && same(x, y), "round trip %s ndim %d", lam_dtype_name(cases[k].dt),
       (int)cases[k].nd);
    if (!y) diag("  %s", lam_last_error());
    size_t n = 0;
    uint8_t *f = read_bytes(P(name), &n);
    /* The data starts on a 64-byte boundary right after '\n'. */
    size_t start = f && n >= 10 ? 10 + (size_t)(f[8] | f[9] << 8) : 0;
    ok(f && f[6] == 1 && start % 64 == 0 && f[start - 1] == '\n' &&
           n - start == (size_t)x->size * lam_dtype_size(x->dtype),
       "header of %s is v1.0, 64-byte aligned", name);
    free(f);
    lam_buf_free(x);
    lam_buf_free(y);
  }
}

static void test_npy_strided(void) {
  lam_buf *x = make(LAM_F64, 2, 4, 6, 0);
  lam_buf *v = lam_buf_slice(x, 1, 1, 6, 2); /* columns 1, 3, 5 */
  lam_buf *col = lam_buf_select(x, 1, 2);    /* one column, stride 6 */
  lam_buf *vc = lam_buf_copy(v, 0), *cc = lam_buf_copy(col, 0);
  ok(lam_npy_save(P("view.npy"), v, 0) == LAM_OK && lam_npy_save(P("col.npy"), col, 0) == LAM_OK,
     "strided views saved");
  lam_buf *a = lam_npy_load(P("view.npy")), *b = lam_npy_load(P("col.npy"));
  ok(same(a, vc) && a->shape[0] == 4 && a->shape[1] == 3, "strided slice reads back in row-major order");
  ok(same(b, cc) && b->ndim == 1, "selected column reads back");
  lam_buf_free(a);
  lam_buf_free(b);
  lam_buf_free(vc);
  lam_buf_free(cc);
  lam_buf_free(v);
  lam_buf_free(col);
  lam_buf_free(x);
}

static void test_npy_overwrite(void) {
  lam_buf *x = make(LAM_I32, 1, 4, 0, 0), *z = make(LAM_I32, 1, 2, 0, 0);
  ok(lam_npy_save(P("ow.npy"), x, 0) == LAM_OK, "first save");
  int rc = lam_npy_save(P("ow.npy"), z, 0);
  ok(rc == LAM_EIO && strstr(lam_last_error(), "file exists") &&
         strstr(lam_last_error(), P("ow.npy")),
     "second save without overwrite is refused");
  lam_buf *y = lam_npy_load(P("ow.npy"));
  ok(same(x, y), "refused save left the file alone");
  lam_buf_free(y);
  ok(lam_npy_save(P("ow.npy"), z, 1) == LAM_OK, "save with overwrite");
  y = lam_npy_load(P("ow.npy"));
  ok(same(z, y), "overwritten file holds the new array");
  ok(no_temp_files(), "no temporary files are left behind");
  ok(lam_npy_save(P("nodir/x.npy"), x, 0) == LAM_EIO &&
         strstr(lam_last_error(), "nodir/x.npy"),
     "missing directory is an I/O error naming the path");
  ok(lam_npy_save(P("null.npy"), NULL, 0) == LAM_EINVAL, "NULL buffer refused");
  lam_buf *m = lam_npy_load(P("missing.npy"));
  ok(!m && strstr(lam_last_error(), "missing.npy"), "missing file: %s", lam_last_error());
  lam_buf_free(y);
  lam_buf_free(x);
  lam_buf_free(z);
}

static void test_npy_crafted(void) {
  double d6[6] = {1, 2, 3, 4, 5, 6};
  craft("v2.npy", 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }\n", d6,
        sizeof d6);
  lam_buf *b = lam_npy_load(P("v2.npy"));
  ok(b && b->ndim == 2 && b->shape[1] == 3 && lam_buf_get(b, 5) == 6, "v2.0 header read");
  if (!b) diag("  %s", lam_last_error());
  lam_buf_free(b);
  craft("v3.npy", 3, "{\"shape\": (6,), \"fortran_order\": False, \"descr\": \"=f8\"}", d6,
        sizeof d6);
  b = lam_npy_load(P("v3.npy"));
  ok(b && b->ndim == 1 && b->shape[0] == 6 && lam_buf_get(b, 2) == 3,
     "v3.0 header, double quotes, '=' byte order, any key order");
  lam_buf_free(b);
  /* Column-major (2, 3): memory holds columns (1,4) (2,5) (3,6). */
  double f6[6] = {1, 4, 2, 5, 3, 6};
  craft("fort.npy", 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f6,
        sizeof f6);
  b = lam_npy_load(P("fort.npy"));
  int good = b && b->shape[0] == 2 && b->shape[1] == 3;
  for (int i = 0; good && i < 6; i++) good = lam_buf_get(b, i) == i + 1;
  ok(good, "fortran_order True is transposed into C order");
  lam_buf_free(b);
  uint8_t u[3] = {1, 2, 255};
  craft("u1.npy", 1, "{'descr': '>u1', 'fortran_order': False, 'shape': (3L,)}", u, 3);
  b = lam_npy_load(P("u1.npy"));
  ok(b && b->dtype == LAM_U8 && lam_buf_get(b, 2) == 255, "'>u1' and Python 2 '3L' accepted");
  lam_buf_free(b);

  /* Malformed files, one problem each. */
  write_bytes(P("short.npy"), "\x93NUM", 4);
  bad_npy("short.npy", "too short");
  write_bytes(P("magic.npy"), "\x93NUMPZ\x01\x00\x10\x00{}              ", 26);
  bad_npy("magic.npy", "bad magic");
  write_bytes(P("ver.npy"), "\x93NUMPY\x04\x00\x10\x00{}              ", 26);
  bad_npy("ver.npy", "unsupported .npy version 4.0");
  write_bytes(P("hlen.npy"), "\x93NUMPY\x01\x00\xff\x7f{'descr': '<f8'}", 26);
  bad_npy("hlen.npy", "header length 32767 exceeds the file");
  /* A valid file cut short inside its data. */
  lam_buf *x = make(LAM_F64, 1, 10, 0, 0);
  lam_npy_save(P("full.npy"), x, 0);
  size_t n;
  uint8_t *f = read_bytes(P("full.npy"), &n);
  write_bytes(P("trunc.npy"), f, n - 3);
  bad_npy("trunc.npy", "need 80 data bytes but the file holds 77");
  write_bytes(P("trunc2.npy"), f, 40);
  bad_npy("trunc2.npy", "exceeds the file");
  free(f);
  lam_buf_free(x);
  craft("long.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", d6,
        sizeof d6);
  bad_npy("long.npy", "need 16 data bytes but the file holds 48");
  craft("dict.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,) ", d6, 48);
  bad_npy("dict.npy", "bad header");
  craft("dict2.npy", 1, "['descr', '<f8']", d6, 48);
  bad_npy("dict2.npy", "bad header");
  craft("key.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'seed': 1}",
        d6, 48);
  bad_npy("key.npy", "unexpected key 'seed'");
  craft("miss.npy", 1, "{'descr': '<f8', 'shape': (6,)}", d6, 48);
  bad_npy("miss.npy", "missing key 'fortran_order'");
  craft("dup.npy", 1, "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (6,)}",
        d6, 48);
  bad_npy("dup.npy", "appears twice");
  craft("fo.npy", 1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (6,)}", d6, 48);
  bad_npy("fo.npy", "fortran_order must be True or False");
  craft("neg.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-6,)}", d6, 48);
  bad_npy("neg.npy", "negative dimension");
  craft("huge.npy", 1,
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776, 16)}",
        d6, 48);
  bad_npy("huge.npy", "overflows");
  craft("huge2.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,)}",
        d6, 48);
  bad_npy("huge2.npy", "need 9223372036854775808 data bytes");
  /* Found by tests/fuzz/npy.c: a zero dimension beside huge ones has no
   * data, but its strides overflowed in lam_buf_new (UBSan). */
  craft("zero.npy", 1,
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 99999999999, 99999999999, 99999999)}",
        d6, 0);
  bad_npy("zero.npy", "absurd shape");
  craft("digits.npy", 1,
        "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,)}", d6, 48);
  bad_npy("digits.npy", "too large");
  craft("dims.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,6)}", d6,
        48);
  bad_npy("dims.npy", "more than 4 dimensions");
  craft("be.npy", 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (6,)}", d6, 48);
  bad_npy("be.npy", "big-endian dtype '>f8'");
  craft("c16.npy", 1, "{'descr': '<c16', 'fortran_order': False, 'shape': (3,)}", d6, 48);
  bad_npy("c16.npy", "unsupported dtype '<c16'");
  craft("obj.npy", 1, "{'descr': '|O', 'fortran_order': False, 'shape': (6,)}", d6, 48);
  bad_npy("obj.npy", "unsupported dtype '|O'");
  craft("bool.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (6,)}", d6, 6);
  bad_npy("bool.npy", "unsupported dtype '|b1'");
  craft("rec.npy", 1, "{'descr': [('t', '<f8')], 'fortran_order': False, 'shape': (6,)}", d6,
        48);
  bad_npy("rec.npy", "structured dtypes");
  craft("f8bar.npy", 1, "{'descr': '|f8', 'fortran_order': False, 'shape': (6,)}", d6, 48);
  bad_npy("f8bar.npy", "unsupported dtype '|f8'");
}

static void test_npz(void) {
  lam_buf *a = make(LAM_F64, 2, 3, 4, 0), *big = make(LAM_I32, 2, 40, 10, 0);
  lam_buf *v = lam_buf_slice(big, 1, 0, 10, 3), *s = make(LAM_U8, 0, 0, 0, 0);
  lam_buf *vc = lam_buf_copy(v, 0);
  for (int comp = 0; comp < 2; comp++) {
    const char *name = comp ? "c.npz" : "s.npz";
    lam_npz_writer *w = lam_npz_open(P(name), comp ? 6 : 0, 0);
    int rc = w ? LAM_OK : LAM_EIO;
    if (!rc) rc = lam_npz_add(w, "a", a);
    if (!rc) rc = lam_npz_add(w, "view", v);
    int dup = w ? lam_npz_add(w, "a", a) : 0;
    ok(dup == LAM_EINVAL && strstr(lam_last_error(), "added twice"),
       "%s: duplicate member refused", name);
    ok(w && lam_npz_add(w, "x/y", a) == LAM_EINVAL, "%s: '/' in a name refused", name);
    if (!rc) rc = lam_npz_add(w, "scalar", s);
    ok(!rc && lam_npz_close(w) == LAM_OK, "%s written (%s)", name, comp ? "deflate" : "stored");
    if (rc) diag("  %s", lam_last_error());
    lam_buf *ra = lam_npz_load(P(name), "a"), *rv = lam_npz_load(P(name), "view.npy");
    lam_buf *rs = lam_npz_load(P(name), "scalar");
    ok(same(ra, a) && same(rv, vc) && same(rs, s), "%s: members read back exactly", name);
    if (!ra || !rv || !rs) diag("  %s", lam_last_error());
    char names[64];
    int64_t need = lam_npz_names(P(name), NULL, 0);
    ok(lam_npz_count(P(name)) == 3 && need == 14 &&
           lam_npz_names(P(name), names, sizeof names) == 14 &&
           strcmp(names, "a\nview\nscalar") == 0,
       "%s: three members listed", name);
    ok(lam_npz_names(P(name), names, 5) == 14 && names[0] == '\0',
       "%s: a short name buffer gets \"\" and the size needed", name);
    lam_buf *m = lam_npz_load(P(name), "nope");
    ok(!m && strstr(lam_last_error(), "no member 'nope'"), "%s: missing member", name);
    lam_buf_free(ra);
    lam_buf_free(rv);
    lam_buf_free(rs);
  }
  size_t n1, n2;
  uint8_t *f1 = read_bytes(P("s.npz"), &n1), *f2 = read_bytes(P("c.npz"), &n2);
  ok(f1 && f2 && n2 < n1 && rd32(f2) == 0x04034b50, "deflated archive is smaller");
  free(f1);
  free(f2);

  /* Overwrite refusal and discard. */
  ok(lam_npz_open(P("s.npz"), 0, 0) == NULL && strstr(lam_last_error(), "file exists"),
     "npz: existing file refused without overwrite");
  lam_npz_writer *w = lam_npz_open(P("d.npz"), 0, 0);
  lam_npz_add(w, "a", a);
  lam_npz_discard(w);
  ok(access(P("d.npz"), F_OK) != 0 && no_temp_files(), "discard leaves nothing behind");
  ok(lam_npz_open(P("e.npz"), 10, 0) == NULL, "compress level 10 refused");
  w = lam_npz_open(P("s.npz"), 1, 1);
  ok(w && lam_npz_add(w, "only", s) == LAM_OK && lam_npz_close(w) == LAM_OK &&
         lam_npz_count(P("s.npz")) == 1,
     "overwrite replaces an archive");
  w = lam_npz_open(P("empty.npz"), 0, 0);
  ok(w && lam_npz_close(w) == LAM_OK && lam_npz_count(P("empty.npz")) == 0 &&
         lam_npz_names(P("empty.npz"), NULL, 0) == 1,
     "empty archive");

  /* Zip64 forced with a small threshold. */
  setenv("LAMINA_ZIP64_THRESHOLD", "200", 1);
  for (int comp = 0; comp < 2; comp++) {
    const char *name = comp ? "z64c.npz" : "z64.npz";
    w = lam_npz_open(P(name), comp ? 1 : 0, 0);
    int rc = w ? lam_npz_add(w, "a", a) : -1; /* 224 bytes: zip64 sizes */
    if (!rc) rc = lam_npz_add(w, "big", big);     /* > 200 bytes: zip64 sizes */
    if (!rc) rc = lam_npz_add(w, "s", s);         /* 129 bytes, offset > 200: zip64 offset only */
    if (!rc) rc = lam_npz_close(w);
    size_t n;
    uint8_t *f = read_bytes(P(name), &n);
    int has_rec = 0;
    for (size_t i = 0; f && i + 4 <= n; i++)
      if (rd32(f + i) == 0x06064b50) has_rec = 1;
    ok(rc == LAM_OK && has_rec && n > 98 && rd32(f + n - 22 - 20) == 0x07064b50,
       "%s: zip64 end record and locator written", name);
    free(f);
    lam_buf *r1 = lam_npz_load(P(name), "a"), *r2 = lam_npz_load(P(name), "big"),
            *r3 = lam_npz_load(P(name), "s");
    ok(same(r1, a) && same(r2, big) && same(r3, s), "%s: zip64 members read back", name);
    if (!r1 || !r2 || !r3) diag("  %s", lam_last_error());
    lam_buf_free(r1);
    lam_buf_free(r2);
    lam_buf_free(r3);
  }
  unsetenv("LAMINA_ZIP64_THRESHOLD");

  /* Malformed archives. */
  w = lam_npz_open(P("m.npz"), 0, 0);
  lam_npz_add(w, "a", a);
  lam_npz_close(w);
  size_t n;
  uint8_t *f = read_bytes(P("m.npz"), &n);
  size_t data = 30 + 5; /* local header + "a.npy": the member's .npy bytes */
  f[data + 200] ^= 0x40; /* inside the array data, past the 128-byte header */
  write_bytes(P("crc.npz"), f, n);
  bad_npz("crc.npz", "a", "CRC-32 mismatch");
  f[data + 200] ^= 0x40;
  write_bytes(P("cut.npz"), f, n - 10);
  bad_npz("cut.npz", "a", "no end of central directory");
  /* The end record claims a directory larger than what precedes it. */
  uint8_t *e = f + n - 22;
  uint32_t cds = rd32(e + 12);
  e[12] = (uint8_t)(cds - 10);
  write_bytes(P("cd.npz"), f, n);
  bad_npz("cd.npz", "a", "central directory truncated");
  e[12] = (uint8_t)cds;
  e[10] = 9; /* nine entries in a one-entry directory */
  write_bytes(P("cnt.npz"), f, n);
  bad_npz("cnt.npz", "a", "central directory truncated");
  e[10] = 1;
  e[16] ^= 0x80; /* directory offset beyond the file */
  write_bytes(P("off.npz"), f, n);
  bad_npz("off.npz", "a", "outside the file");
  free(f);
  write_bytes(P("junk.npz"), "this is not a zip file at all, not at all", 40);
  bad_npz("junk.npz", "a", "not a zip archive");

  w = lam_npz_open(P("m2.npz"), 9, 0);
  lam_npz_add(w, "a", a);
  lam_npz_close(w);
  f = read_bytes(P("m2.npz"), &n);
  uint8_t keep = f[data];
  f[data] = 0xff; /* block type 3 does not exist */
  write_bytes(P("defl.npz"), f, n);
  bad_npz("defl.npz", "a", "corrupt deflate stream");
  f[data] = keep;
  /* Central directory: uncompressed size 0x7fffffff for a tiny member. */
  uint32_t cdo = rd32(f + n - 22 + 16);
  f[cdo + 24 + 3] = 0x7f;
  write_bytes(P("usize.npz"), f, n);
  bad_npz("usize.npz", "a", "impossible");
  f[cdo + 24 + 3] = 0;
  uint32_t usz = rd32(f + cdo + 24);
  f[cdo + 24] = (uint8_t)(usz - 8); /* one double fewer than the stream holds */
  f[cdo + 25] = (uint8_t)((usz - 8) >> 8);
  write_bytes(P("usize2.npz"), f, n);
  bad_npz("usize2.npz", "a", "need 96 data bytes");
  free(f);
  lam_buf_free(vc);
  lam_buf_free(v);
  lam_buf_free(a);
  lam_buf_free(big);
  lam_buf_free(s);
}

/* ---- NumPy interchange --------------------------------------------- */

static int py(const char *code) {
  char script[300];
  snprintf(script, sizeof script, "%s/t.py", tmp_dir_);
  FILE *f = fopen(script, "w");
  if (!f) return -1;
  fprintf(f,
          "import sys, zipfile, numpy as np\n"
          "D = %s\n"
          "def pat(dt, n):\n"
          "    i = np.arange(n)\n"
          "    if dt == 'u1': return (i * 7 %% 251).astype('u1')\n"
          "    v = (i * 7 %% 13) - 5.0\n"
          "    if dt[1] == 'f': v = v + 0.25 * (i %% 4)\n"
          "    if dt == '<i8': v = v * 2.0**40\n"
          "    return v.astype(dt)\n"
          "%s\n",
          "sys.argv[1]", code);
  fclose(f);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s 2>&1", script, tmp_dir_);
  return system(cmd);
}

#define N_PY 8

static void test_numpy(void) {
  if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    skip(N_PY, "/usr/bin/python3 with numpy not available");
    return;
  }
  /* lamina -> numpy */
  lam_buf *a = make(LAM_F64, 2, 3, 4, 0), *b = make(LAM_I64, 1, 7, 0, 0);
  lam_buf *c = make(LAM_F32, 3, 2, 3, 2), *u = make(LAM_U8, 1, 300, 0, 0);
  lam_buf *i4 = make(LAM_I32, 2, 5, 2, 0);
  lam_npy_save(P("py_a.npy"), a, 0);
  lam_npy_save(P("py_b.npy"), b, 0);
  lam_npy_save(P("py_c.npy"), c, 0);
  ok(py("for nm, dt, sh in [('a','<f8',(3,4)), ('b','<i8',(7,)), ('c','<f4',(2,3,2))]:\n"
        "    x = np.load(D + '/py_%s.npy' % nm)\n"
        "    assert x.dtype == np.dtype(dt) and x.shape == sh, (nm, x.dtype, x.shape)\n"
        "    assert (x.ravel() == pat(dt, x.size)).all(), nm\n"
        "    np.save(D + '/np_%s.npy' % nm, pat(dt, x.size).reshape(sh))\n"
        "    assert open(D + '/np_%s.npy' % nm, 'rb').read() == open(D + '/py_%s.npy' % nm, 'rb').read(), 'bytes differ ' + nm\n") == 0,
     "numpy loads lamina's .npy files, byte-identical to np.save");
  const char *check_npz =
      "for nm in ['py_s.npz', 'py_c.npz', 'py_z.npz']:\n"
      "    assert zipfile.ZipFile(D + '/' + nm).testzip() is None, nm\n"
      "    z = np.load(D + '/' + nm)\n"
      "    assert z.files == ['a', 'b', 'c', 'u', 'i4'], z.files\n"
      "    for k, dt in [('a','<f8'), ('b','<i8'), ('c','<f4'), ('u','u1'), ('i4','<i4')]:\n"
      "        assert z[k].dtype == np.dtype(dt) and (z[k].ravel() == pat(dt, z[k].size)).all(), (nm, k)\n";
  for (int k = 0; k < 3; k++) {
    const char *nm = k == 0 ? "py_s.npz" : k == 1 ? "py_c.npz" : "py_z.npz";
    if (k == 2) setenv("LAMINA_ZIP64_THRESHOLD", "100", 1);
    lam_npz_writer *w = lam_npz_open(P(nm), k == 1 ? 6 : 0, 0);
    lam_npz_add(w, "a", a);
    lam_npz_add(w, "b", b);
    lam_npz_add(w, "c", c);
    lam_npz_add(w, "u", u);
    lam_npz_add(w, "i4", i4);
    lam_npz_close(w);
    unsetenv("LAMINA_ZIP64_THRESHOLD");
  }
  ok(py(check_npz) == 0, "numpy loads lamina's stored, deflated and zip64 .npz (CRC checked)");

  /* numpy -> lamina */
  ok(py("np.save(D + '/n_f4.npy', pat('<f4', 12).reshape(3, 4))\n"
        "np.save(D + '/n_i8.npy', pat('<i8', 5))\n"
        "np.save(D + '/n_u1.npy', pat('u1', 300).reshape(10, 30))\n"
        "np.save(D + '/n_fo.npy', np.asfortranarray(pat('<f8', 6).reshape(2, 3)))\n"
        "np.save(D + '/n_sc.npy', np.float64(2.5))\n"
        "kw = dict(a=pat('<f8', 12).reshape(3, 4), b=pat('<i8', 7), u=pat('u1', 300))\n"
        "np.savez(D + '/n_s.npz', **kw)\n"
        "np.savez_compressed(D + '/n_c.npz', **kw)\n"
        "class Pipe:\n"
        "    def __init__(s, f): s.f = f\n"
        "    def write(s, b): return s.f.write(b)\n"
        "    def flush(s): s.f.flush()\n"
        "with open(D + '/n_dd.npz', 'wb') as raw:\n"
        "    with zipfile.ZipFile(Pipe(raw), 'w', zipfile.ZIP_DEFLATED) as z:\n"
        "        for k, v in kw.items():\n"
        "            with z.open(k + '.npy', 'w', force_zip64=True) as m: np.lib.format.write_array(m, v)\n"
        "flags = [i.flag_bits for i in zipfile.ZipFile(D + '/n_dd.npz').infolist()]\n"
        "assert all(f & 8 for f in flags), flags\n") == 0,
     "numpy wrote its files");
  lam_buf *f4 = make(LAM_F32, 2, 3, 4, 0), *i8 = make(LAM_I64, 1, 5, 0, 0);
  lam_buf *u1 = make(LAM_U8, 2, 10, 30, 0), *fo = make(LAM_F64, 2, 2, 3, 0);
  lam_buf *r1 = lam_npy_load(P("n_f4.npy")), *r2 = lam_npy_load(P("n_i8.npy"));
  lam_buf *r3 = lam_npy_load(P("n_u1.npy")), *r4 = lam_npy_load(P("n_fo.npy"));
  lam_buf *r5 = lam_npy_load(P("n_sc.npy"));
  ok(same(r1, f4) && same(r2, i8) && same(r3, u1), "lamina loads np.save output exactly");
  ok(same(r4, fo) && r5 && r5->ndim == 0 && lam_buf_get(r5, 0) == 2.5,
     "lamina loads fortran-order and 0-d np.save output");
  lam_buf *u300 = make(LAM_U8, 1, 300, 0, 0);
  int good = 1;
  for (int k = 0; k < 3; k++) {
    const char *nm = k == 0 ? "n_s.npz" : k == 1 ? "n_c.npz" : "n_dd.npz";
    lam_buf *x = lam_npz_load(P(nm), "a"), *y = lam_npz_load(P(nm), "b"),
            *z = lam_npz_load(P(nm), "u");
    if (!(same(x, a) && same(y, b) && same(z, u300) && lam_npz_count(P(nm)) == 3)) {
      good = 0;
      diag("  %s: %s", nm, lam_last_error());
    }
    lam_buf_free(x);
    lam_buf_free(y);
    lam_buf_free(z);
  }
  ok(good, "lamina loads np.savez, np.savez_compressed and data-descriptor archives");
  lam_buf *rs[] = {r1, r2, r3, r4, r5, f4, i8, u1, fo, u300, a, b, c, u, i4};
  for (size_t k = 0; k < sizeof rs / sizeof rs[0]; k++) lam_buf_free(rs[k]);
  ok(1, "numpy interchange done");
  ok(no_temp_files(), "no temporary files left after the interchange tests");
}

int main(void) {
  tap_plan(96);
  if (tmp_begin("npy")) return 1;
  test_npy_roundtrip();
  test_npy_strided();
  test_npy_overwrite();
  test_npy_crafted();
  test_npz();
  test_numpy();
  tmp_end();
  return tap_done();
}
