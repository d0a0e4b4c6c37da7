/*
 * buf.c - typed n-d buffers: allocation, reference counting, views and the
 * few elementwise operations every script needs.  Strides are in elements.
 * A view always refers to the buffer that owns the memory (never to another
 * view), so releasing views in any order is safe.
 */
#include "lamina.h"
#include "lam_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Data is aligned for SIMD loads; 64 bytes is a cache line. */
#define LAM_ALIGN 64

/* Reuse of big blocks.  A loop that makes a [T, N] result per call (an ESN
 * run, a recording) and drops the previous one would otherwise take fresh
 * pages from the system for most calls: glibc hands the freed 16 MB back
 * or cannot fit the next block into the hole around smaller allocations,
 * and faulting fresh pages in cost a fifth to a half of a short ESN run on
 * the project's VM (the kernel zeroes every page first).  So the data of a
 * freed buffer of BIG_BYTES or more is kept, up to CACHE_BYTES in all, and
 * handed to the next buffer of exactly the same byte size (zeroed again by
 * the memset every new buffer gets).  Sizes are exact so a block's
 * capacity is always its buffer's byte size.  The cache never grows a
 * process beyond what it used at its peak. */
#if defined(__SANITIZE_ADDRESS__)
#define CACHE_SLOTS 0 /* ASan builds: every block really freed, so use after free is caught */
#else
#define CACHE_SLOTS 4
#endif
#define BIG_BYTES ((size_t)4 << 20)
#define CACHE_BYTES ((size_t)256 << 20)

static struct {
  void *p[CACHE_SLOTS + 1];
  size_t bytes[CACHE_SLOTS + 1];
  size_t total;
  pthread_mutex_t lock;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t data_bytes(int64_t n, size_t es) {
  size_t bytes = (size_t)n * es;
  bytes = (bytes + LAM_ALIGN - 1) / LAM_ALIGN * LAM_ALIGN;
  return bytes ? bytes : LAM_ALIGN;
}

static void *cache_take(size_t bytes) {
  void *p = NULL;
  if (bytes < BIG_BYTES) return NULL;
  pthread_mutex_lock(&cache.lock);
  for (int i = 0; i < CACHE_SLOTS && !p; i++)
    if (cache.p[i] && cache.bytes[i] == bytes) {
      p = cache.p[i];
      cache.p[i] = NULL;
      cache.total -= bytes;
    }
  pthread_mutex_unlock(&cache.lock);
  return p;
}

/* Keeps p (of `bytes`) for reuse, or frees it. */
static void cache_put(void *p, size_t bytes) {
  if (bytes >= BIG_BYTES) {
    pthread_mutex_lock(&cache.lock);
    for (int i = 0; i < CACHE_SLOTS && p; i++)
      if (!cache.p[i] && cache.total + bytes <= CACHE_BYTES) {
        cache.p[i] = p;
        cache.bytes[i] = bytes;
        cache.total += bytes;
        p = NULL;
      }
    pthread_mutex_unlock(&cache.lock);
  }
  free(p);
}

size_t lam_dtype_size(int32_t dtype) {
  switch (dtype) {
  case LAM_F32: return 4;
  case LAM_F64: return 8;
  case LAM_I32: return 4;
  case LAM_I64: return 8;
  case LAM_U8: return 1;
  default: return 0;
  }
}

const char *lam_dtype_name(int32_t dtype) {
  switch (dtype) {
  case LAM_F32: return "f32";
  case LAM_F64: return "f64";
  case LAM_I32: return "i32";
  case LAM_I64: return "i64";
  case LAM_U8: return "u8";
  default: return "?";
  }
}

int32_t lam_dtype_parse(const char *name) {
  static const struct { const char *a, *b; int32_t t; } names[] = {
      {"f32", "float32", LAM_F32}, {"f64", "float64", LAM_F64},
      {"i32", "int32", LAM_I32},   {"i64", "int64", LAM_I64},
      {"u8", "uint8", LAM_U8}};
  if (!name) return 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(name, names[i].a) || !strcmp(name, names[i].b))
      return names[i].t;
  return 0;
}

void lam__buf_strides(int32_t ndim, const int64_t *shape, int64_t *strides) {
  int64_t s = 1;
  for (int32_t d = ndim - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
}

int32_t lam_buf_is_contiguous(const lam_buf *b) {
  int64_t s = 1;
  for (int32_t d = b->ndim - 1; d >= 0; d--) {
    if (b->shape[d] != 1 && b->strides[d] != s) return 0;
    s *= b->shape[d];
  }
  return 1;
}

static void set_flags(lam_buf *b) {
  b->flags = (b->flags & ~LAM_BUF_CONTIGUOUS) |
             (lam_buf_is_contiguous(b) ? LAM_BUF_CONTIGUOUS : 0);
}

/* Validates a shape and returns its element count, or -1 with an error. */
static int64_t shape_size(int32_t ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > LAM_MAX_DIMS) {
    lam_set_error(LAM_EINVAL, "buffer: ndim %d outside 0..%d", (int)ndim,
                  LAM_MAX_DIMS);
    return -1;
  }
  /* m is the product of the non-zero dimensions: the strides are products
   * of dimensions even when another one is zero (and the buffer empty), so
   * the bound applies to m, not only to the element count n. */
  int64_t n = 1, m = 1;
  for (int32_t d = 0; d < ndim; d++) {
    if (shape[d] < 0) {
      lam_set_error(LAM_EINVAL, "buffer: shape[%d] = %lld is negative", (int)d,
                    (long long)shape[d]);
      return -1;
    }
    /* 2^47 elements is far beyond any memory; the bound keeps the byte
     * count and the strides from overflowing. */
    if (shape[d] > 0 && m > ((int64_t)1 << 47) / shape[d]) {
      lam_set_error(LAM_EINVAL, "buffer: shape too large (dimension %d)",
                    (int)d);
      return -1;
    }
    if (shape[d] > 0) m *= shape[d];
    n *= shape[d];
  }
  return n;
}

lam_buf *lam_buf_new(int32_t dtype, int32_t ndim, const int64_t *shape) {
  size_t es = lam_dtype_size(dtype);
  if (!es) {
    lam_set_error(LAM_EINVAL, "buffer: invalid dtype %d (expected 1..5)",
                  (int)dtype);
    return NULL;
  }
  if (ndim > 0 && !shape) {
    lam_set_error(LAM_EINVAL, "buffer: shape is NULL");
    return NULL;
  }
  int64_t n = shape_size(ndim, shape);
  if (n < 0) return NULL;
  lam_buf *b = calloc(1, sizeof *b);
  if (!b) goto nomem;
  size_t bytes = data_bytes(n, es);
  b->data = cache_take(bytes);
  if (!b->data) b->data = aligned_alloc(LAM_ALIGN, bytes);
  if (!b->data) goto nomem;
  memset(b->data, 0, bytes);
  b->dtype = dtype;
  b->ndim = ndim;
  for (int32_t d = 0; d < ndim; d++) b->shape[d] = shape[d];
  lam__buf_strides(ndim, b->shape, b->strides);
  b->size = n;
  b->refs = 1;
  b->flags = LAM_BUF_CONTIGUOUS;
  return b;
nomem:
  free(b);
  lam_set_error(LAM_ENOMEM, "buffer: out of memory for %lld elements of %s",
                (long long)n, lam_dtype_name(dtype));
  return NULL;
}

lam_buf *lam_buf_retain(lam_buf *b) {
  if (b) b->refs++;
  return b;
}

void lam_buf_free(lam_buf *b) {
  if (!b || --b->refs > 0) return;
  if (b->owner)
    lam_buf_free(b->owner);
  else
    cache_put(b->data, data_bytes(b->size, lam_dtype_size(b->dtype)));
  free(b);
}

/* A new view header over the same memory as b. */
static lam_buf *view_of(lam_buf *b) {
  lam_buf *v = malloc(sizeof *v);
  if (!v) {
    lam_set_error(LAM_ENOMEM, "buffer: out of memory for a view");
    return NULL;
  }
  *v = *b;
  v->refs = 1;
  v->owner = lam_buf_retain(b->owner ? b->owner : b);
  return v;
}

lam_buf *lam_buf_slice(lam_buf *b, int32_t dim, int64_t start, int64_t stop,
                       int64_t step) {
  if (!b) {
    lam_set_error(LAM_EINVAL, "slice: buffer is NULL");
    return NULL;
  }
  if (dim < 0 || dim >= b->ndim) {
    lam_set_error(LAM_EINVAL, "slice: dimension %d outside 0..%d", (int)dim,
                  (int)b->ndim - 1);
    return NULL;
  }
  if (step < 1) {
    lam_set_error(LAM_EINVAL, "slice: step %lld must be >= 1",
                  (long long)step);
    return NULL;
  }
  if (start < 0 || stop > b->shape[dim] || start > stop) {
    lam_set_error(LAM_EINVAL,
                  "slice: range [%lld, %lld) outside [0, %lld) of dimension %d",
                  (long long)start, (long long)stop, (long long)b->shape[dim],
                  (int)dim);
    return NULL;
  }
  lam_buf *v = view_of(b);
  if (!v) return NULL;
  size_t es = lam_dtype_size(b->dtype);
  v->data = (char *)b->data + (size_t)(start * b->strides[dim]) * es;
  v->shape[dim] = (stop - start + step - 1) / step;
  v->strides[dim] = b->strides[dim] * step;
  v->size = 1;
  for (int32_t d = 0; d < v->ndim; d++) v->size *= v->shape[d];
  set_flags(v);
  return v;
}

lam_buf *lam_buf_select(lam_buf *b, int32_t dim, int64_t index) {
  if (!b) {
    lam_set_error(LAM_EINVAL, "select: buffer is NULL");
    return NULL;
  }
  if (dim < 0 || dim >= b->ndim) {
    lam_set_error(LAM_EINVAL, "select: dimension %d outside 0..%d", (int)dim, (int)b->ndim - 1);
    return NULL;
  }
  if (index < 0 || index >= b->shape[dim]) {
    lam_set_error(LAM_EINVAL, "select: index %lld outside [0, %lld) of dimension %d",
                  (long long)index, (long long)b->shape[dim], (int)dim);
    return NULL;
  }
  lam_buf *v = view_of(b);
  if (!v) return NULL;
  v->data = (char *)b->data + (size_t)(index * b->strides[dim]) * lam_dtype_size(b->dtype);
  for (int32_t d = dim; d < b->ndim - 1; d++) {
    v->shape[d] = b->shape[d + 1];
    v->strides[d] = b->strides[d + 1];
  }
  v->ndim = b->ndim - 1;
  v->shape[v->ndim] = 0;
  v->strides[v->ndim] = 0;
  v->size = b->shape[dim] ? b->size / b->shape[dim] : 0;
  set_flags(v);
  return v;
}

lam_buf *lam_buf_reshape(lam_buf *b, int32_t ndim, const int64_t *shape) {
  if (!b) {
    lam_set_error(LAM_EINVAL, "reshape: buffer is NULL");
    return NULL;
  }
  int64_t n = shape_size(ndim, shape);
  if (n < 0) return NULL;
  if (n != b->size) {
    lam_set_error(LAM_EINVAL, "reshape: %lld elements cannot take a shape of %lld",
                  (long long)b->size, (long long)n);
    return NULL;
  }
  if (!lam_buf_is_contiguous(b)) {
    lam_set_error(LAM_EINVAL, "reshape: buffer is not contiguous (copy it first)");
    return NULL;
  }
  lam_buf *v = view_of(b);
  if (!v) return NULL;
  v->ndim = ndim;
  for (int32_t d = 0; d < LAM_MAX_DIMS; d++) v->shape[d] = d < ndim ? shape[d] : 0;
  lam__buf_strides(ndim, v->shape, v->strides);
  set_flags(v);
  return v;
}

void *lam__buf_addr(const lam_buf *b, int64_t flat) {
  int64_t off = 0;
  if (b->flags & LAM_BUF_CONTIGUOUS) {
    off = flat;
  } else {
    for (int32_t d = b->ndim - 1; d >= 0; d--) {
      int64_t i = flat % b->shape[d];
      flat /= b->shape[d];
      off += i * b->strides[d];
    }
  }
  return (char *)b->data + (size_t)off * lam_dtype_size(b->dtype);
}

static double load(int32_t dtype, const void *p) {
  switch (dtype) {
  case LAM_F32: return *(const float *)p;
  case LAM_F64: return *(const double *)p;
  case LAM_I32: return *(const int32_t *)p;
  case LAM_I64: return (double)*(const int64_t *)p;
  case LAM_U8: return *(const uint8_t *)p;
  default: return NAN;
  }
}

/* Stores v converted to dtype; integers take `v` already rounded or
 * truncated by the caller and are range-checked here.  Returns 0 or -1. */
static int store(int32_t dtype, void *p, double v) {
  switch (dtype) {
  case LAM_F32: *(float *)p = (float)v; return 0;
  case LAM_F64: *(double *)p = v; return 0;
  case LAM_I32:
    if (!(v >= -2147483648.0 && v <= 2147483647.0)) return -1;
    *(int32_t *)p = (int32_t)v;
    return 0;
  case LAM_I64:
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return -1;
    *(int64_t *)p = (int64_t)v;
    return 0;
  case LAM_U8:
    if (!(v >= 0 && v <= 255)) return -1;
    *(uint8_t *)p = (uint8_t)v;
    return 0;
  default: return -1;
  }
}

static int readonly(const lam_buf *b, const char *op) {
  if (!(b->flags & LAM_BUF_READONLY)) return 0;
  lam_set_error(LAM_EINVAL, "%s: the buffer is read-only", op);
  return 1;
}

static int is_int_dtype(int32_t t) { return t == LAM_I32 || t == LAM_I64 || t == LAM_U8; }

double lam_buf_get(const lam_buf *b, int64_t i) {
  if (!b || i < 0 || i >= b->size) return NAN;
  return load(b->dtype, lam__buf_addr(b, i));
}

static int range_error(const lam_buf *b, int64_t i, double v, const char *op) {
  return lam_set_error(LAM_ERANGE, "%s: value %g at index %lld does not fit %s",
                       op, v, (long long)i, lam_dtype_name(b->dtype));
}

int lam_buf_set(lam_buf *b, int64_t i, double v) {
  if (!b || i < 0 || i >= b->size)
    return lam_set_error(LAM_EINVAL, "set: index %lld outside [0, %lld)",
                         (long long)i, b ? (long long)b->size : 0LL);
  if (readonly(b, "set")) return LAM_EINVAL;
  if (is_int_dtype(b->dtype)) v = trunc(v);
  if (store(b->dtype, lam__buf_addr(b, i), v)) return range_error(b, i, v, "set");
  return LAM_OK;
}

int lam_buf_fill(lam_buf *b, double v) {
  if (!b) return lam_set_error(LAM_EINVAL, "fill: buffer is NULL");
  if (readonly(b, "fill")) return LAM_EINVAL;
  if (is_int_dtype(b->dtype)) v = trunc(v);
  for (int64_t i = 0; i < b->size; i++)
    if (store(b->dtype, lam__buf_addr(b, i), v)) return range_error(b, i, v, "fill");
  return LAM_OK;
}

int lam_buf_assign(lam_buf *dst, const lam_buf *src) {
  if (!dst || !src) return lam_set_error(LAM_EINVAL, "assign: buffer is NULL");
  if (readonly(dst, "assign")) return LAM_EINVAL;
  if (dst->size != src->size)
    return lam_set_error(LAM_EINVAL, "assign: %lld elements into %lld",
                         (long long)src->size, (long long)dst->size);
  /* Same dtype, both contiguous: one memmove (memmove because a view may
   * overlap its owner). */
  if (dst->dtype == src->dtype && (dst->flags & src->flags & LAM_BUF_CONTIGUOUS)) {
    memmove(dst->data, src->data, (size_t)src->size * lam_dtype_size(src->dtype));
    return LAM_OK;
  }
  int toint = is_int_dtype(dst->dtype);
  for (int64_t i = 0; i < src->size; i++) {
    double v = load(src->dtype, lam__buf_addr(src, i));
    if (toint) v = trunc(v);
    if (store(dst->dtype, lam__buf_addr(dst, i), v))
      return range_error(dst, i, v, "assign");
  }
  return LAM_OK;
}

lam_buf *lam_buf_copy(const lam_buf *b, int32_t dtype) {
  if (!b) {
    lam_set_error(LAM_EINVAL, "copy: buffer is NULL");
    return NULL;
  }
  lam_buf *c = lam_buf_new(dtype ? dtype : b->dtype, b->ndim, b->shape);
  if (!c) return NULL;
  if (lam_buf_assign(c, b)) {
    lam_buf_free(c);
    return NULL;
  }
  return c;
}

int lam_buf_reduce(const lam_buf *b, int32_t op, double *out) {
  if (!b || !out) return lam_set_error(LAM_EINVAL, "reduce: NULL argument");
  if (op < LAM_REDUCE_SUM || op > LAM_REDUCE_VAR)
    return lam_set_error(LAM_EINVAL, "reduce: unknown operation %d", (int)op);
  if (b->size == 0) {
    *out = op == LAM_REDUCE_SUM ? 0.0 : NAN;
    if (op == LAM_REDUCE_SUM) return LAM_OK;
    return lam_set_error(LAM_EINVAL, "reduce: empty buffer has no %s",
                         op == LAM_REDUCE_MEAN ? "mean" :
                         op == LAM_REDUCE_MIN ? "minimum" :
                         op == LAM_REDUCE_MAX ? "maximum" : "variance");
  }
  double acc = 0, lo = INFINITY, hi = -INFINITY;
  int nan = 0;
  int contig = b->flags & LAM_BUF_CONTIGUOUS;
  for (int64_t i = 0; i < b->size; i++) {
    double v = contig && b->dtype == LAM_F64 ? ((const double *)b->data)[i]
                                             : load(b->dtype, lam__buf_addr(b, i));
    acc += v;
    if (v != v) {
      nan = 1;
    } else {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  switch (op) {
  case LAM_REDUCE_SUM: *out = acc; break;
  case LAM_REDUCE_MEAN: *out = acc / (double)b->size; break;
  case LAM_REDUCE_MIN: *out = nan ? NAN : lo; break;
  case LAM_REDUCE_MAX: *out = nan ? NAN : hi; break;
  case LAM_REDUCE_VAR: {
    /* Two passes: the mean first, then squared deviations, which is far
     * more accurate than sum(x^2) - n mean^2. */
    double m = acc / (double)b->size, ss = 0;
    for (int64_t i = 0; i < b->size; i++) {
      double d = load(b->dtype, lam__buf_addr(b, i)) - m;
      ss += d * d;
    }
    *out = ss / (double)b->size;
    break;
  }
  }
  return LAM_OK;
}

int lam_buf_affine(lam_buf *b, double a, double c) {
  if (!b) return lam_set_error(LAM_EINVAL, "scale: buffer is NULL");
  if (readonly(b, "scale")) return LAM_EINVAL;
  int toint = is_int_dtype(b->dtype);
  for (int64_t i = 0; i < b->size; i++) {
    void *p = lam__buf_addr(b, i);
    double v = load(b->dtype, p) * a + c;
    if (toint) v = nearbyint(v);
    if (store(b->dtype, p, v)) return range_error(b, i, v, "scale");
  }
  return LAM_OK;
}

int lam_buf_axpy(lam_buf *dst, double alpha, const lam_buf *src) {
  if (!dst || !src) return lam_set_error(LAM_EINVAL, "add: buffer is NULL");
  if (readonly(dst, "add")) return LAM_EINVAL;
  if (dst->size != src->size)
    return lam_set_error(LAM_EINVAL, "add: %lld elements onto %lld",
                         (long long)src->size, (long long)dst->size);
  int toint = is_int_dtype(dst->dtype);
  for (int64_t i = 0; i < dst->size; i++) {
    void *p = lam__buf_addr(dst, i);
    double v = load(dst->dtype, p) + alpha * load(src->dtype, lam__buf_addr(src, i));
    if (toint) v = nearbyint(v);
    if (store(dst->dtype, p, v)) return range_error(dst, i, v, "add");
  }
  return LAM_OK;
}
