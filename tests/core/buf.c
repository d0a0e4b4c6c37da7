/*
 * buf.c - tests of lam_buf (core/buf.c): dtypes, shapes, reference-counted
 * views, slices, reshape, copies with conversion, strided assignment,
 * reductions, affine/axpy and every error path.  Run under ASan/UBSan too
 * (make asan), which catches a view outliving its data.
 *
 * Tolerances: reductions are compared with hand-computed values to 1e-12
 * (absolute); conversions and element reads are exact.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina.h"
#include "tap.h"

#define SHAPE(...) ((int64_t[]){__VA_ARGS__})

/* A 1-d f64 buffer holding `v`. */
static lam_buf *vec(int64_t n, const double *v) {
  lam_buf *b = lam_buf_new(LAM_F64, 1, &n);
  for (int64_t i = 0; b && i < n; i++) lam_buf_set(b, i, v[i]);
  return b;
}

/* Every element of b equals want[i] (row-major), exactly. */
static int elems(const lam_buf *b, const double *want, int64_t n) {
  if (!b || b->size != n) return 0;
  for (int64_t i = 0; i < n; i++)
    if (lam_buf_get(b, i) != want[i]) {
      diag("element %lld: got %.17g, expected %.17g", (long long)i, lam_buf_get(b, i), want[i]);
      return 0;
    }
  return 1;
}

static void test_dtypes(void) {
  static const struct { int32_t t; size_t size; const char *name, *alias; } dt[] = {
      {LAM_F32, 4, "f32", "float32"}, {LAM_F64, 8, "f64", "float64"},
      {LAM_I32, 4, "i32", "int32"},   {LAM_I64, 8, "i64", "int64"},
      {LAM_U8, 1, "u8", "uint8"}};
  for (int i = 0; i < 5; i++) {
    ok(lam_dtype_size(dt[i].t) == dt[i].size && !strcmp(lam_dtype_name(dt[i].t), dt[i].name) &&
           lam_dtype_parse(dt[i].name) == dt[i].t && lam_dtype_parse(dt[i].alias) == dt[i].t,
       "dtype %s: size %zu, name and aliases", dt[i].name, dt[i].size);
    lam_buf *b = lam_buf_new(dt[i].t, 2, SHAPE(2, 3));
    int zero = 1;
    for (int64_t k = 0; b && k < 6; k++) zero &= lam_buf_get(b, k) == 0;
    ok(b && b->dtype == dt[i].t && b->ndim == 2 && b->shape[0] == 2 && b->shape[1] == 3 &&
           b->strides[0] == 3 && b->strides[1] == 1 && b->size == 6 && b->refs == 1 &&
           b->owner == NULL && (b->flags & LAM_BUF_CONTIGUOUS) && lam_buf_is_contiguous(b) &&
           zero && ((uintptr_t)b->data % 64) == 0,
       "%s [2, 3]: shape, strides, size, one reference, contiguous, zeroed, 64-byte aligned",
       dt[i].name);
    lam_buf_free(b);
  }
  ok(lam_dtype_size(0) == 0 && lam_dtype_size(6) == 0, "dtype 0 and 6 have no size");
  is_str(lam_dtype_name(9), "?", "an unknown dtype's name is '?'");
  ok(lam_dtype_parse("f16") == 0 && lam_dtype_parse(NULL) == 0 && lam_dtype_parse("") == 0,
     "unknown dtype names parse to 0");
}

static void test_shapes_and_errors(void) {
  lam_buf *s = lam_buf_new(LAM_F64, 0, NULL);
  ok(s && s->ndim == 0 && s->size == 1, "ndim 0: a scalar of size 1");
  ok(s && lam_buf_set(s, 0, 4.5) == LAM_OK && lam_buf_get(s, 0) == 4.5, "... holds a value");
  lam_buf_free(s);
  lam_buf *four = lam_buf_new(LAM_U8, 4, SHAPE(2, 3, 4, 5));
  ok(four && four->size == 120 && four->strides[0] == 60 && four->strides[1] == 20 &&
         four->strides[2] == 5 && four->strides[3] == 1,
     "4 dims: strides 60, 20, 5, 1");
  lam_buf_free(four);
  lam_buf *empty = lam_buf_new(LAM_F32, 2, SHAPE(0, 7));
  ok(empty && empty->size == 0 && empty->shape[1] == 7, "a zero-length dimension: size 0");
  lam_buf_free(empty);

  ok(lam_buf_new(0, 1, SHAPE(3)) == NULL, "dtype 0 refused");
  like(lam_last_error(), "invalid dtype 0", "... the error names it");
  ok(lam_buf_new(6, 1, SHAPE(3)) == NULL, "dtype 6 refused");
  ok(lam_buf_new(LAM_F64, 2, SHAPE(3, -2)) == NULL, "a negative shape refused");
  like(lam_last_error(), "shape[1] = -2 is negative", "... the error names the dimension");
  ok(lam_buf_new(LAM_F64, 5, SHAPE(1, 1, 1, 1, 1)) == NULL, "5 dims refused");
  like(lam_last_error(), "ndim 5 outside 0..4", "... the error gives the limit");
  ok(lam_buf_new(LAM_F64, -1, SHAPE(1)) == NULL, "ndim -1 refused");
  ok(lam_buf_new(LAM_F64, 2, NULL) == NULL, "a NULL shape with ndim 2 refused");
  ok(lam_buf_new(LAM_F64, 3, SHAPE(1 << 20, 1 << 20, 1 << 20)) == NULL, "2^60 elements refused");
  like(lam_last_error(), "too large", "... as too large");
  /* An empty buffer whose other dimensions would overflow the strides. */
  ok(lam_buf_new(LAM_F64, 4, SHAPE(0, 1 << 20, 1 << 20, 1 << 20)) == NULL,
     "shape (0, 2^20, 2^20, 2^20) refused: its strides would reach 2^60");
  lam_buf *e0 = lam_buf_new(LAM_F64, 2, SHAPE(0, 1000));
  ok(e0 && e0->size == 0 && e0->strides[0] == 1000, "shape (0, 1000) is a valid empty buffer");
  lam_buf_free(e0);

  lam_buf *b = lam_buf_new(LAM_F64, 1, SHAPE(3));
  ok(lam_buf_retain(b) == b && b->refs == 2, "retain adds a reference");
  lam_buf_free(b);
  ok(b->refs == 1, "free drops one");
  ok(lam_buf_retain(NULL) == NULL, "retain(NULL) is NULL");
  lam_buf_free(NULL);
  ok(1, "free(NULL) is a no-op");
  ok(isnan(lam_buf_get(b, 3)) && isnan(lam_buf_get(b, -1)) && isnan(lam_buf_get(NULL, 0)),
     "get outside the buffer is NaN");
  is_int(lam_buf_set(b, 3, 1), LAM_EINVAL, "set outside the buffer: LAM_EINVAL");
  like(lam_last_error(), "index 3 outside [0, 3)", "... the error gives index and bounds");
  is_int(lam_buf_fill(NULL, 1), LAM_EINVAL, "fill(NULL): LAM_EINVAL");
  lam_buf_free(b);
}

static void test_set_get(void) {
  lam_buf *f = lam_buf_new(LAM_F32, 1, SHAPE(2));
  lam_buf_set(f, 0, 0.1);
  is_double(lam_buf_get(f, 0), (double)0.1f, 0, "f32 stores the nearest float");
  lam_buf *i = lam_buf_new(LAM_I32, 1, SHAPE(4));
  lam_buf_set(i, 0, 2.7);
  lam_buf_set(i, 1, -2.7);
  lam_buf_set(i, 2, 2147483647);
  ok(lam_buf_get(i, 0) == 2 && lam_buf_get(i, 1) == -2 && lam_buf_get(i, 2) == 2147483647,
     "i32 set truncates toward zero and holds INT32_MAX");
  is_int(lam_buf_set(i, 3, 2147483648.0), LAM_ERANGE, "i32: 2^31 does not fit");
  like(lam_last_error(), "index 3", "... the error names the index");
  like(lam_last_error(), "i32", "... and the dtype");
  is_int(lam_buf_set(i, 3, NAN), LAM_ERANGE, "i32: NaN does not fit");
  lam_buf *u = lam_buf_new(LAM_U8, 1, SHAPE(4));
  is_int(lam_buf_set(u, 0, 255), LAM_OK, "u8: 255 fits");
  is_int(lam_buf_set(u, 3, 256), LAM_ERANGE, "u8: 256 does not");
  like(lam_last_error(), "value 256 at index 3 does not fit u8", "... named");
  is_int(lam_buf_set(u, 1, -1), LAM_ERANGE, "u8: -1 does not");
  lam_buf *l = lam_buf_new(LAM_I64, 1, SHAPE(2));
  lam_buf_set(l, 0, 9007199254740992.0); /* 2^53 */
  lam_buf_set(l, 1, -9223372036854775808.0);
  ok(((int64_t *)l->data)[0] == INT64_C(9007199254740992) && ((int64_t *)l->data)[1] == INT64_MIN,
     "i64 holds 2^53 and INT64_MIN exactly");
  is_int(lam_buf_set(l, 0, 9223372036854775808.0), LAM_ERANGE, "i64: 2^63 does not fit");
  is_int(lam_buf_fill(u, 7), LAM_OK, "fill u8 with 7");
  ok(lam_buf_get(u, 0) == 7 && lam_buf_get(u, 3) == 7, "... every element is 7");
  is_int(lam_buf_fill(u, 300), LAM_ERANGE, "fill u8 with 300: out of range");
  lam_buf_free(f);
  lam_buf_free(i);
  lam_buf_free(u);
  lam_buf_free(l);
}

static void test_views(void) {
  /* b[i][j] = 10 i + j, shape [4, 5]. */
  lam_buf *b = lam_buf_new(LAM_F64, 2, SHAPE(4, 5));
  for (int64_t k = 0; k < 20; k++) lam_buf_set(b, k, 10 * (double)(k / 5) + (double)(k % 5));
  lam_buf *v = lam_buf_slice(b, 1, 1, 5, 2); /* columns 1, 3 */
  ok(v && v->ndim == 2 && v->shape[0] == 4 && v->shape[1] == 2 && v->strides[0] == 5 &&
         v->strides[1] == 2 && v->size == 8,
     "slice columns 1:5:2: shape [4, 2], strides [5, 2]");
  ok(v && !lam_buf_is_contiguous(v) && !(v->flags & LAM_BUF_CONTIGUOUS), "... not contiguous");
  ok(v && v->owner == b && b->refs == 2, "... the view holds a reference on the owner");
  lam_buf *vv = lam_buf_slice(v, 0, 1, 4, 2); /* rows 1, 3 */
  ok(vv && vv->owner == b && b->refs == 3, "a view of a view refers to the owner itself");
  lam_buf_free(b); /* the views keep the data alive */
  static const double wv[8] = {1, 3, 11, 13, 21, 23, 31, 33};
  ok(elems(v, wv, 8), "after freeing the owner the view still reads b[:, 1:5:2]");
  lam_buf_free(v);
  static const double wvv[4] = {11, 13, 31, 33};
  ok(elems(vv, wvv, 4), "after freeing the first view the second reads b[1:4:2, 1:5:2]");
  lam_buf_free(vv); /* the last reference: ASan reports any leak or early free */

  lam_buf *r = lam_buf_new(LAM_I32, 1, SHAPE(10));
  for (int k = 0; k < 10; k++) lam_buf_set(r, k, k);
  lam_buf *s3 = lam_buf_slice(r, 0, 0, 10, 3);
  static const double w3[4] = {0, 3, 6, 9};
  ok(elems(s3, w3, 4), "slice 0:10:3 of 0..9: 0 3 6 9 (shape ceil(10/3))");
  lam_buf *s4 = lam_buf_slice(r, 0, 2, 9, 4);
  static const double w4[2] = {2, 6};
  ok(elems(s4, w4, 2), "slice 2:9:4: 2 6");
  lam_buf *e = lam_buf_slice(r, 0, 10, 10, 1);
  ok(e && e->size == 0 && e->shape[0] == 0, "slice 10:10: empty");
  lam_buf *rows = lam_buf_slice(r, 0, 2, 7, 1);
  ok(rows && lam_buf_is_contiguous(rows) && (rows->flags & LAM_BUF_CONTIGUOUS),
     "a unit-step slice of a 1-d buffer is contiguous");
  lam_buf_set(s3, 1, -5);
  is_double(lam_buf_get(r, 3), -5, 0, "writing through a view writes the owner");
  ok(lam_buf_slice(r, 1, 0, 1, 1) == NULL, "slice of dimension 1 of a 1-d buffer refused");
  like(lam_last_error(), "dimension 1 outside 0..0", "... named");
  ok(lam_buf_slice(r, 0, 0, 5, 0) == NULL, "step 0 refused");
  like(lam_last_error(), "step 0", "... named");
  ok(lam_buf_slice(r, 0, -1, 5, 1) == NULL, "negative start refused");
  ok(lam_buf_slice(r, 0, 0, 11, 1) == NULL, "stop past the end refused");
  like(lam_last_error(), "[0, 11) outside [0, 10)", "... the error gives both ranges");
  ok(lam_buf_slice(r, 0, 6, 5, 1) == NULL, "start after stop refused");
  ok(lam_buf_slice(NULL, 0, 0, 1, 1) == NULL, "slice of NULL refused");
  lam_buf_free(s3);
  lam_buf_free(s4);
  lam_buf_free(e);
  lam_buf_free(rows);

  /* reshape */
  lam_buf *m = lam_buf_new(LAM_F64, 2, SHAPE(2, 6));
  for (int k = 0; k < 12; k++) lam_buf_set(m, k, k);
  lam_buf *m34 = lam_buf_reshape(m, 2, SHAPE(3, 4));
  ok(m34 && m34->shape[0] == 3 && m34->shape[1] == 4 && m34->strides[0] == 4 &&
         m34->strides[1] == 1 && m34->owner == m,
     "reshape [2, 6] -> [3, 4]: a view with row-major strides");
  is_double(lam_buf_get(m34, 4 * 2 + 1), 9, 0, "... element [2][1] is 9");
  lam_buf *m4 = lam_buf_reshape(m34, 4, SHAPE(1, 2, 3, 2));
  ok(m4 && m4->ndim == 4 && m4->owner == m && lam_buf_get(m4, 11) == 11,
     "reshape of a reshape to 4 dims");
  ok(lam_buf_reshape(m, 2, SHAPE(5, 2)) == NULL, "reshape to another size refused");
  like(lam_last_error(), "12 elements cannot take a shape of 10", "... with both sizes");
  lam_buf *col = lam_buf_slice(m, 1, 0, 6, 2);
  ok(lam_buf_reshape(col, 1, SHAPE(6)) == NULL, "reshape of a strided view refused");
  like(lam_last_error(), "not contiguous", "... says why");
  ok(lam_buf_reshape(m, 5, SHAPE(1, 1, 1, 2, 6)) == NULL, "reshape to 5 dims refused");
  lam_buf *one = lam_buf_slice(m, 1, 3, 4, 1); /* [2, 1] */
  lam_buf *sc = lam_buf_slice(one, 0, 1, 2, 1); /* [1, 1]: element [1][3] */
  lam_buf *s0 = lam_buf_reshape(sc, 0, NULL);
  ok(s0 && s0->ndim == 0 && s0->size == 1 && lam_buf_get(s0, 0) == 9,
     "a single element reshaped to a scalar");
  lam_buf_free(m);
  lam_buf_free(m34);
  ok(lam_buf_get(m4, 7) == 7, "a reshape view outlives its source and the owner");
  lam_buf_free(m4);
  lam_buf_free(col);
  lam_buf_free(one);
  lam_buf_free(sc);
  lam_buf_free(s0);
  lam_buf_free(r);
}

static void test_copy_assign(void) {
  lam_buf *b = lam_buf_new(LAM_F64, 2, SHAPE(3, 4));
  for (int k = 0; k < 12; k++) lam_buf_set(b, k, k + 0.5);
  lam_buf *v = lam_buf_slice(b, 1, 1, 4, 2); /* [3, 2]: columns 1, 3 */
  lam_buf *c = lam_buf_copy(v, 0);
  static const double wc[6] = {1.5, 3.5, 5.5, 7.5, 9.5, 11.5};
  ok(c && c->dtype == LAM_F64 && lam_buf_is_contiguous(c) && c->owner == NULL && c->ndim == 2 &&
         c->shape[0] == 3 && c->shape[1] == 2 && elems(c, wc, 6),
     "copy of a strided view: contiguous, same shape and values");
  lam_buf *ci = lam_buf_copy(v, LAM_I32);
  static const double wci[6] = {1, 3, 5, 7, 9, 11};
  ok(ci && ci->dtype == LAM_I32 && elems(ci, wci, 6), "copy to i32 truncates toward zero");
  lam_buf *f = lam_buf_copy(v, LAM_F32);
  ok(f && f->dtype == LAM_F32 && elems(f, wc, 6), "copy to f32 (exact values)");

  lam_buf *bad = vec(4, (double[]){1.5, -2.7, 3e9, 0});
  lam_buf *ok32 = lam_buf_copy(bad, LAM_I64);
  static const double w64[4] = {1, -2, 3e9, 0};
  ok(ok32 && elems(ok32, w64, 4), "copy to i64 truncates and holds 3e9");
  ok(lam_buf_copy(bad, LAM_I32) == NULL, "copy to i32 with 3e9: refused");
  like(lam_last_error(), "value 3e+09 at index 2 does not fit i32", "... naming the value and the index");
  ok(lam_buf_copy(bad, LAM_U8) == NULL, "copy to u8 with -2.7: refused");
  like(lam_last_error(), "at index 1 does not fit u8", "... naming the index");
  lam_buf *nan = vec(3, (double[]){0, 1, NAN});
  ok(lam_buf_copy(nan, LAM_I64) == NULL, "copy of NaN to i64 refused");
  like(lam_last_error(), "index 2", "... naming the index");
  ok(lam_buf_copy(NULL, 0) == NULL, "copy of NULL refused");
  ok(lam_buf_copy(bad, 9) == NULL, "copy to dtype 9 refused");

  /* assign across strided views of different shapes (row-major walk). */
  lam_buf *dst = lam_buf_new(LAM_I32, 2, SHAPE(4, 3));
  lam_buf *dv = lam_buf_slice(dst, 0, 0, 4, 2); /* rows 0, 2: [2, 3] */
  lam_buf *sv = lam_buf_slice(b, 0, 0, 3, 2);   /* rows 0, 2 of b: [2, 4] */
  lam_buf *sv3 = lam_buf_slice(sv, 1, 0, 3, 1); /* [2, 3]: b[0|2][0..2] */
  is_int(lam_buf_assign(dv, sv3), LAM_OK, "assign f64 [2, 3] view into an i32 [2, 3] view");
  static const double wd[12] = {0, 1, 2, 0, 0, 0, 8, 9, 10, 0, 0, 0};
  ok(elems(dst, wd, 12), "... rows 0 and 2 of dst get the truncated values, rows 1 and 3 untouched");
  lam_buf *flat = lam_buf_new(LAM_F64, 1, SHAPE(6));
  is_int(lam_buf_assign(flat, dv), LAM_OK, "assign a [2, 3] view into a flat [6] buffer");
  static const double wf[6] = {0, 1, 2, 8, 9, 10};
  ok(elems(flat, wf, 6), "... in row-major order");
  is_int(lam_buf_assign(flat, v), LAM_OK, "assign a [3, 2] view into a flat [6] buffer");
  ok(elems(flat, wc, 6), "... in row-major order");
  is_int(lam_buf_assign(dv, c), LAM_OK, "assign a [3, 2] buffer into a [2, 3] view (same size)");
  is_int(lam_buf_assign(flat, sv), LAM_EINVAL, "assign 8 elements into 6: refused");
  like(lam_last_error(), "8 elements into 6", "... with both sizes");
  is_int(lam_buf_assign(NULL, sv), LAM_EINVAL, "assign into NULL refused");
  lam_buf *big = vec(6, (double[]){1, 2, 3e10, 4, 5, 6});
  is_int(lam_buf_assign(dv, big), LAM_ERANGE, "assign 3e10 into i32: refused");
  like(lam_last_error(), "at index 2", "... naming the index");
  /* Overlapping contiguous views of one buffer (memmove semantics). */
  lam_buf *seq = vec(6, (double[]){0, 1, 2, 3, 4, 5});
  lam_buf *lo = lam_buf_slice(seq, 0, 0, 5, 1), *hi = lam_buf_slice(seq, 0, 1, 6, 1);
  is_int(lam_buf_assign(lo, hi), LAM_OK, "assign seq[1:6] into seq[0:5] (overlapping)");
  static const double wsh[6] = {1, 2, 3, 4, 5, 5};
  ok(elems(seq, wsh, 6), "... shifts left by one");
  lam_buf *q = lam_buf_slice(seq, 0, 0, 6, 2), *p = lam_buf_slice(seq, 0, 1, 6, 2);
  is_int(lam_buf_assign(q, p), LAM_OK, "assign odd elements into even ones (strided)");
  static const double wq[6] = {2, 2, 4, 4, 5, 5};
  ok(elems(seq, wq, 6), "... gives 2 2 4 4 5 5");

  lam_buf_free(b);
  lam_buf_free(v);
  lam_buf_free(c);
  lam_buf_free(ci);
  lam_buf_free(f);
  lam_buf_free(bad);
  lam_buf_free(ok32);
  lam_buf_free(nan);
  lam_buf_free(dst);
  lam_buf_free(dv);
  lam_buf_free(sv);
  lam_buf_free(sv3);
  lam_buf_free(flat);
  lam_buf_free(big);
  lam_buf_free(seq);
  lam_buf_free(lo);
  lam_buf_free(hi);
  lam_buf_free(q);
  lam_buf_free(p);
}

static double reduce(const lam_buf *b, int32_t op, int *rc) {
  double out = -12345;
  *rc = lam_buf_reduce(b, op, &out);
  return out;
}

static void test_reductions(void) {
  int rc;
  lam_buf *a = vec(3, (double[]){0.1, 0.2, 0.3});
  /* By hand: sum 0.6, mean 0.2, deviations -0.1, 0, 0.1 -> var 0.02 / 3. */
  is_double(reduce(a, LAM_REDUCE_SUM, &rc), 0.6, 1e-12, "sum 0.1 + 0.2 + 0.3 = 0.6");
  is_double(reduce(a, LAM_REDUCE_MEAN, &rc), 0.2, 1e-12, "mean 0.2");
  is_double(reduce(a, LAM_REDUCE_MIN, &rc), 0.1, 0, "min 0.1");
  is_double(reduce(a, LAM_REDUCE_MAX, &rc), 0.3, 0, "max 0.3");
  is_double(reduce(a, LAM_REDUCE_VAR, &rc), 0.02 / 3, 1e-12, "population variance 0.02/3");
  /* Two-pass variance survives a large offset: 1e8 + {1, 2, 3} -> 2/3. */
  lam_buf *off = vec(3, (double[]){1e8 + 1, 1e8 + 2, 1e8 + 3});
  is_double(reduce(off, LAM_REDUCE_VAR, &rc), 2.0 / 3.0, 1e-12, "variance of 1e8 + {1, 2, 3} is 2/3");
  /* Integers and strided views: b[i][j] = 3 i + j over [3, 3]; the view
   * b[:, 0:3:2] holds 0 2 3 5 6 8: sum 24, mean 4, var (16+4+1+1+4+16)/6. */
  lam_buf *ib = lam_buf_new(LAM_I32, 2, SHAPE(3, 3));
  for (int k = 0; k < 9; k++) lam_buf_set(ib, k, k);
  lam_buf *iv = lam_buf_slice(ib, 1, 0, 3, 2);
  is_double(reduce(iv, LAM_REDUCE_SUM, &rc), 24, 0, "i32 strided view: sum 24");
  is_double(reduce(iv, LAM_REDUCE_MEAN, &rc), 4, 1e-12, "... mean 4");
  is_double(reduce(iv, LAM_REDUCE_MIN, &rc), 0, 0, "... min 0");
  is_double(reduce(iv, LAM_REDUCE_MAX, &rc), 8, 0, "... max 8");
  is_double(reduce(iv, LAM_REDUCE_VAR, &rc), 42.0 / 6.0, 1e-12, "... var 7");
  lam_buf *u = lam_buf_new(LAM_U8, 1, SHAPE(4));
  lam_buf_fill(u, 255);
  is_double(reduce(u, LAM_REDUCE_SUM, &rc), 1020, 0, "u8 sum accumulates in double (1020)");
  lam_buf *f = lam_buf_new(LAM_F32, 1, SHAPE(2));
  lam_buf_set(f, 0, 0.1);
  lam_buf_set(f, 1, 0.2);
  is_double(reduce(f, LAM_REDUCE_SUM, &rc), (double)0.1f + (double)0.2f, 0,
            "f32 sum is the double sum of the float values");

  lam_buf *n = vec(4, (double[]){1, NAN, -3, 2});
  ok(isnan(reduce(n, LAM_REDUCE_SUM, &rc)), "NaN: sum NaN");
  ok(isnan(reduce(n, LAM_REDUCE_MEAN, &rc)), "NaN: mean NaN");
  ok(isnan(reduce(n, LAM_REDUCE_MIN, &rc)), "NaN: min NaN");
  ok(isnan(reduce(n, LAM_REDUCE_MAX, &rc)), "NaN: max NaN");
  ok(isnan(reduce(n, LAM_REDUCE_VAR, &rc)), "NaN: var NaN");
  lam_buf *inf = vec(2, (double[]){INFINITY, 1});
  is_double(reduce(inf, LAM_REDUCE_MAX, &rc), INFINITY, 0, "+Inf is the max");

  lam_buf *e = lam_buf_new(LAM_F64, 1, SHAPE(0));
  double s = reduce(e, LAM_REDUCE_SUM, &rc);
  ok(rc == LAM_OK && s == 0, "empty: sum 0, LAM_OK");
  double mn = reduce(e, LAM_REDUCE_MEAN, &rc);
  ok(rc == LAM_EINVAL && isnan(mn), "empty: mean NaN with LAM_EINVAL");
  like(lam_last_error(), "empty buffer has no mean", "... says so");
  ok(isnan(reduce(e, LAM_REDUCE_MIN, &rc)) && rc == LAM_EINVAL, "empty: min NaN, LAM_EINVAL");
  ok(isnan(reduce(e, LAM_REDUCE_MAX, &rc)) && rc == LAM_EINVAL, "empty: max NaN, LAM_EINVAL");
  ok(isnan(reduce(e, LAM_REDUCE_VAR, &rc)) && rc == LAM_EINVAL, "empty: var NaN, LAM_EINVAL");
  reduce(a, 0, &rc);
  is_int(rc, LAM_EINVAL, "unknown reduction refused");
  reduce(a, 6, &rc);
  is_int(rc, LAM_EINVAL, "reduction 6 refused");
  is_int(lam_buf_reduce(NULL, LAM_REDUCE_SUM, &s), LAM_EINVAL, "reduce(NULL) refused");
  is_int(lam_buf_reduce(a, LAM_REDUCE_SUM, NULL), LAM_EINVAL, "reduce with out NULL refused");
  lam_buf_free(a);
  lam_buf_free(off);
  lam_buf_free(ib);
  lam_buf_free(iv);
  lam_buf_free(u);
  lam_buf_free(f);
  lam_buf_free(n);
  lam_buf_free(inf);
  lam_buf_free(e);
}

static void test_affine_axpy(void) {
  lam_buf *a = vec(3, (double[]){1, 2, 3});
  is_int(lam_buf_affine(a, 2, 0.5), LAM_OK, "affine f64");
  static const double wa[3] = {2.5, 4.5, 6.5};
  ok(elems(a, wa, 3), "... b * 2 + 0.5");
  lam_buf *i = lam_buf_new(LAM_I32, 1, SHAPE(3));
  for (int k = 0; k < 3; k++) lam_buf_set(i, k, k + 1);
  is_int(lam_buf_affine(i, 1.4, 0), LAM_OK, "affine i32");
  static const double wi[3] = {1, 3, 4};
  ok(elems(i, wi, 3), "... 1.4, 2.8, 4.2 round to nearest: 1 3 4");
  lam_buf *u = lam_buf_new(LAM_U8, 1, SHAPE(2));
  lam_buf_set(u, 0, 100);
  lam_buf_set(u, 1, 200);
  is_int(lam_buf_affine(u, 2, 0), LAM_ERANGE, "affine u8 past 255 refused");
  like(lam_last_error(), "value 400 at index 1 does not fit u8", "... naming value and index");
  /* A strided view: only its elements change. */
  lam_buf *b = vec(6, (double[]){0, 1, 2, 3, 4, 5});
  lam_buf *odd = lam_buf_slice(b, 0, 1, 6, 2);
  lam_buf_affine(odd, -1, 0);
  static const double wb[6] = {0, -1, 2, -3, 4, -5};
  ok(elems(b, wb, 6), "affine on a strided view touches only its elements");
  is_int(lam_buf_affine(NULL, 1, 0), LAM_EINVAL, "affine(NULL) refused");

  lam_buf *d = vec(3, (double[]){1, 2, 3});
  lam_buf *s = lam_buf_new(LAM_I32, 1, SHAPE(3));
  lam_buf_fill(s, 1);
  is_int(lam_buf_axpy(d, 2, s), LAM_OK, "axpy f64 += 2 * i32");
  static const double wd[3] = {3, 4, 5};
  ok(elems(d, wd, 3), "... 3 4 5");
  lam_buf *even = lam_buf_slice(b, 0, 0, 6, 2);
  is_int(lam_buf_axpy(even, 0.5, d), LAM_OK, "axpy into a strided view");
  static const double wb2[6] = {1.5, -1, 4, -3, 6.5, -5};
  ok(elems(b, wb2, 6), "... only the view's elements change");
  lam_buf *ii = lam_buf_new(LAM_I32, 1, SHAPE(3));
  lam_buf *half = vec(3, (double[]){0.25, 0.75, 1.25});
  is_int(lam_buf_axpy(ii, 1, half), LAM_OK, "axpy into i32 rounds to nearest");
  static const double wii[3] = {0, 1, 1};
  ok(elems(ii, wii, 3), "... 0.25 0.75 1.25 -> 0 1 1");
  lam_buf *two = vec(2, (double[]){1, 2});
  is_int(lam_buf_axpy(d, 1, two), LAM_EINVAL, "axpy with 2 elements onto 3 refused");
  like(lam_last_error(), "2 elements onto 3", "... with both sizes");
  is_int(lam_buf_axpy(d, 1, NULL), LAM_EINVAL, "axpy with NULL refused");
  lam_buf_fill(u, 250);
  lam_buf *ones = lam_buf_new(LAM_I32, 1, SHAPE(2));
  lam_buf_fill(ones, 1);
  is_int(lam_buf_axpy(u, 10, ones), LAM_ERANGE, "axpy u8 past 255 refused");
  like(lam_last_error(), "value 260 at index 0 does not fit u8", "... naming value and index");
  lam_buf_free(ones);
  lam_buf_free(a);
  lam_buf_free(i);
  lam_buf_free(u);
  lam_buf_free(b);
  lam_buf_free(odd);
  lam_buf_free(d);
  lam_buf_free(s);
  lam_buf_free(even);
  lam_buf_free(ii);
  lam_buf_free(half);
  lam_buf_free(two);
}

/* LAM_BUF_READONLY: "writing through the host is refused". */
static void test_readonly(void) {
  lam_buf *b = vec(3, (double[]){1, 2, 3});
  lam_buf *src = vec(3, (double[]){7, 8, 9});
  b->flags |= LAM_BUF_READONLY;
  int rc[5] = {lam_buf_set(b, 0, 5), lam_buf_fill(b, 5), lam_buf_assign(b, src),
               lam_buf_affine(b, 2, 1), lam_buf_axpy(b, 1, src)};
  static const char *names[5] = {"set", "fill", "assign", "affine", "axpy"};
  int refused = 1;
  for (int k = 0; k < 5; k++)
    if (rc[k] == LAM_OK) refused = 0, diag("%s on a read-only buffer returned LAM_OK", names[k]);
  static const double w[3] = {1, 2, 3};
  ok(refused, "set, fill, assign, affine and axpy refuse a read-only buffer");
  ok(elems(b, w, 3), "... and leave it unchanged");
  is_int(lam_buf_assign(src, b), LAM_OK, "a read-only buffer can still be read (assign from it)");
  lam_buf_free(b);
  lam_buf_free(src);
}

/* A buffer well above malloc's mmap threshold (and above the sizes the
 * other tests use): zeroed, 64-byte aligned, views keep the memory alive. */
static void test_large(void) {
  const int64_t shape[2] = {3, 218455}; /* 655365 doubles, 5.0 MiB: not a multiple of 2 MiB */
  lam_buf *b = lam_buf_new(LAM_F64, 2, shape);
  ok(b != NULL, "a 5 MiB buffer is allocated");
  if (!b) return;
  ok(((uintptr_t)b->data & 63) == 0, "... 64-byte aligned");
  double mx = -1;
  is_int(lam_buf_reduce(b, LAM_REDUCE_MAX, &mx), LAM_OK, "... reduce max");
  double mn = 1;
  lam_buf_reduce(b, LAM_REDUCE_MIN, &mn);
  ok(mx == 0 && mn == 0, "... and zeroed (min %g, max %g)", mn, mx);
  is_int(lam_buf_fill(b, 2.5), LAM_OK, "every element of it can be written");
  lam_buf *row = lam_buf_select(b, 0, 2);
  lam_buf_free(b); /* the view keeps the memory */
  double s = 0;
  lam_buf_reduce(row, LAM_REDUCE_SUM, &s);
  ok(row && s == 2.5 * 218455, "a view outlives the owner's handle (sum %.17g)", s);
  lam_buf_free(row);
  /* freed big blocks are kept for the next buffer of the same size
   * (buf.c): it must still come zeroed, and a smaller one unaffected */
  lam_buf *again = lam_buf_new(LAM_F64, 2, shape);
  double mx2 = -1, mn2 = 1;
  if (again) {
    lam_buf_reduce(again, LAM_REDUCE_MAX, &mx2);
    lam_buf_reduce(again, LAM_REDUCE_MIN, &mn2);
  }
  ok(again && mx2 == 0 && mn2 == 0,
     "a big buffer made after freeing one of the same size is zeroed (min %g, max %g)", mn2, mx2);
  lam_buf_free(again);
}

int main(void) {
  tap_plan(169);
  test_dtypes();
  test_shapes_and_errors();
  test_set_get();
  test_views();
  test_copy_assign();
  test_reductions();
  test_affine_axpy();
  test_readonly();
  test_large();
  return tap_done();
}
