/*
 * rec.c - in-memory recorders.  A recorder samples one port every `every`
 * ticks inside a window [from, to).  Storage is reserved before each run
 * for exactly the samples that run can take, so the step loop only copies.
 * Growing replaces the storage buffer instead of reallocating it in place:
 * views handed out earlier (lam_rec_data) keep the old storage alive and
 * stay valid.
 */
#include "lamina.h"
#include "lam_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct lam_rec {
  lam_buf *store;              /* [cap, port shape...] */
  lam_buf *ticks;              /* i64 [cap] */
  int64_t n, cap;
  int64_t every, from, to;     /* to < 0: open-ended */
  size_t row_bytes;
  int32_t active;
  int32_t ndim;                /* of the port */
  int64_t shape[LAM_MAX_DIMS]; /* of the port */
  int32_t dtype;
};

lam_rec *lam__rec_new(const lam_buf *port, int64_t every, int64_t from,
                      int64_t to) {
  if (every < 1) {
    lam_set_error(LAM_EINVAL, "record: every = %lld, expected >= 1", (long long)every);
    return NULL;
  }
  if (from < 0 || (to >= 0 && to < from)) {
    lam_set_error(LAM_EINVAL, "record: window [%lld, %lld) is empty or negative",
                  (long long)from, (long long)to);
    return NULL;
  }
  if (port->ndim >= LAM_MAX_DIMS) {
    lam_set_error(LAM_EINVAL, "record: a %d-d port leaves no dimension for time",
                  (int)port->ndim);
    return NULL;
  }
  lam_rec *r = calloc(1, sizeof *r);
  if (!r) {
    lam_set_error(LAM_ENOMEM, "record: out of memory");
    return NULL;
  }
  r->every = every;
  r->from = from;
  r->to = to;
  r->active = 1;
  r->dtype = port->dtype;
  r->ndim = port->ndim;
  memcpy(r->shape, port->shape, sizeof r->shape);
  r->row_bytes = (size_t)port->size * lam_dtype_size(port->dtype);
  return r;
}

void lam__rec_free(lam_rec *r) {
  if (!r) return;
  lam_buf_free(r->store);
  lam_buf_free(r->ticks);
  free(r);
}

/* The next sample tick >= t inside the window, whether or not the recorder
 * is switched on. */
static int64_t window_next(const lam_rec *r, int64_t t) {
  if (t < r->from) t = r->from;
  int64_t k = (t - r->from + r->every - 1) / r->every;
  int64_t next = r->from + k * r->every;
  if (r->to >= 0 && next >= r->to) return INT64_MAX;
  return next;
}

int64_t lam__rec_next(const lam_rec *r, int64_t t) {
  return r->active ? window_next(r, t) : INT64_MAX;
}

/* Number of samples the recorder can take in [t0, t1): an action may
 * switch it on during the run, so the bound ignores `active`. */
static int64_t samples_in(const lam_rec *r, int64_t t0, int64_t t1) {
  int64_t first = window_next(r, t0);
  if (first == INT64_MAX || first >= t1) return 0;
  int64_t end = r->to >= 0 && r->to < t1 ? r->to : t1;
  return (end - 1 - first) / r->every + 1;
}

int lam__rec_reserve(lam_rec *r, int64_t t0, int64_t t1) {
  int64_t need = r->n + samples_in(r, t0, t1);
  if (need <= r->cap) return LAM_OK;
  int64_t cap = r->cap ? r->cap : 64;
  while (cap < need) cap *= 2;
  int64_t shape[LAM_MAX_DIMS];
  shape[0] = cap;
  memcpy(shape + 1, r->shape, (size_t)r->ndim * sizeof shape[0]);
  lam_buf *s = lam_buf_new(r->dtype, r->ndim + 1, shape);
  lam_buf *t = lam_buf_new(LAM_I64, 1, &cap);
  if (!s || !t) {
    lam_buf_free(s);
    lam_buf_free(t);
    return lam_set_error(LAM_ENOMEM, "record: out of memory for %lld samples of %zu bytes",
                         (long long)cap, r->row_bytes);
  }
  if (r->n) {
    memcpy(s->data, r->store->data, (size_t)r->n * r->row_bytes);
    memcpy(t->data, r->ticks->data, (size_t)r->n * sizeof(int64_t));
  }
  lam_buf_free(r->store);
  lam_buf_free(r->ticks);
  r->store = s;
  r->ticks = t;
  r->cap = cap;
  return LAM_OK;
}

void lam__rec_sample(lam_rec *r, const lam_buf *port, int64_t t) {
  memcpy((char *)r->store->data + (size_t)r->n * r->row_bytes, port->data, r->row_bytes);
  ((int64_t *)r->ticks->data)[r->n] = t;
  r->n++;
}

void lam__rec_set_active(lam_rec *r, int on) { r->active = on != 0; }

void lam__rec_clear(lam_rec *r) {
  /* New storage for the next samples: views handed out keep the old. */
  lam_buf_free(r->store);
  lam_buf_free(r->ticks);
  r->store = r->ticks = NULL;
  r->n = r->cap = 0;
}

int64_t lam_rec_count(const lam_rec *r) { return r ? r->n : 0; }

/* A view of the first n rows of `b` (or an empty buffer of that shape). */
static lam_buf *first_rows(const lam_rec *r, lam_buf *b, int32_t dtype,
                           int32_t ndim, const int64_t *rowshape) {
  if (b) return lam_buf_slice(b, 0, 0, r->n, 1);
  int64_t shape[LAM_MAX_DIMS] = {0};
  memcpy(shape + 1, rowshape, (size_t)(ndim - 1) * sizeof shape[0]);
  return lam_buf_new(dtype, ndim, shape);
}

lam_buf *lam_rec_data(lam_rec *r) {
  if (!r) {
    lam_set_error(LAM_EINVAL, "record: NULL recorder");
    return NULL;
  }
  return first_rows(r, r->store, r->dtype, r->ndim + 1, r->shape);
}

lam_buf *lam_rec_ticks(lam_rec *r) {
  if (!r) {
    lam_set_error(LAM_EINVAL, "record: NULL recorder");
    return NULL;
  }
  return first_rows(r, r->ticks, LAM_I64, 1, NULL);
}
