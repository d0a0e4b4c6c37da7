/*
 * rec.c - recorders.  A recorder samples one port every `every` ticks
 * inside a window [from, to), in one of four ways:
 *
 *   dense, memory    rows [n, port shape...] + ticks [n]
 *   spikes, memory   events: index [n] + ticks [n], one per nonzero element
 *   dense, stream    rows and ticks appended to two .npy files
 *   spikes, stream   indices and ticks appended to two .npy files
 *
 * Nothing here allocates or writes files inside the step loop.  Dense
 * memory recorders reserve, before a run, exactly the samples that run can
 * take.  The others keep room for one more sample (one full port of
 * events for a spike port) and, when that room runs out, ask the loop
 * (return value 1 of lam__rec_sample) to pause after the current tick;
 * lam__rec_reserve then makes room outside the loop: a spike recorder in
 * memory doubles its storage, a streaming recorder writes out its one
 * fixed chunk, so a stream's memory stays bounded whatever its length.
 *
 * Growing replaces the storage buffer instead of reallocating it in place:
 * views handed out earlier (lam_rec_data) keep the old storage alive and
 * stay valid.
 */
#include "lamina.h"
#include "lam_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A streaming recorder's chunk: about this many bytes of rows (at least
 * one row, or one port's worth of spike events). */
#define STREAM_CHUNK_BYTES (1u << 20)

struct lam_rec {
  lam_buf *store;              /* dense: [cap, port shape...]; spikes: i64 [cap] */
  lam_buf *ticks;              /* i64 [cap] */
  int64_t n, cap;              /* rows or events held in store */
  int64_t every, from, to;     /* to < 0: open-ended */
  size_t row_bytes;            /* bytes per stored row (spikes: one i64) */
  int64_t port_size;           /* elements of the port */
  int32_t active;
  int32_t spikes;              /* events instead of dense rows */
  int32_t closed;              /* a stream that was closed takes no samples */
  int32_t ndim;                /* of the port */
  int64_t shape[LAM_MAX_DIMS]; /* of the port */
  int32_t dtype;               /* of the port */
  int64_t total;               /* rows or events ever taken (streams) */
  lam_npy_stream *out, *out_ticks;
  char *file, *file_ticks;     /* final names of a stream's two files */
};

lam_rec *lam__rec_new(const lam_buf *port, int32_t port_flags, int64_t every,
                      int64_t from, int64_t to) {
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
  r->spikes = (port_flags & LAM_PORT_SPIKES) != 0;
  r->dtype = port->dtype;
  r->ndim = port->ndim;
  r->port_size = port->size;
  memcpy(r->shape, port->shape, sizeof r->shape);
  r->row_bytes = r->spikes ? sizeof(int64_t) : (size_t)port->size * lam_dtype_size(port->dtype);
  return r;
}

static void drop_storage(lam_rec *r) {
  lam_buf_free(r->store);
  lam_buf_free(r->ticks);
  r->store = r->ticks = NULL;
  r->n = r->cap = 0;
}

/* Replaces the storage by room for `cap` rows, keeping the first n. */
static int resize(lam_rec *r, int64_t cap) {
  int64_t shape[LAM_MAX_DIMS];
  shape[0] = cap;
  int32_t nd = 1, dtype = LAM_I64;
  if (!r->spikes) {
    memcpy(shape + 1, r->shape, (size_t)r->ndim * sizeof shape[0]);
    nd = r->ndim + 1;
    dtype = r->dtype;
  }
  lam_buf *s = lam_buf_new(dtype, nd, shape);
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

static int close_streams(lam_rec *r) {
  int rc = LAM_OK;
  if (r->out) {
    int a = lam__rec_flush(r);
    int b = lam_npy_stream_close(r->out);
    r->out = NULL;
    int c = lam_npy_stream_close(r->out_ticks);
    r->out_ticks = NULL;
    rc = a ? a : b ? b : c;
  }
  return rc;
}

void lam__rec_free(lam_rec *r) {
  if (!r) return;
  (void)close_streams(r);
  drop_storage(r);
  free(r->file);
  free(r->file_ticks);
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
  return r->active && !r->closed ? window_next(r, t) : INT64_MAX;
}

/* Room one sample may take: a row, or one event per port element. */
static int64_t room_needed(const lam_rec *r) { return r->spikes ? r->port_size : 1; }

/* Number of samples the recorder can take in [t0, t1): an action may
 * switch it on during the run, so the bound ignores `active`. */
static int64_t samples_in(const lam_rec *r, int64_t t0, int64_t t1) {
  int64_t first = window_next(r, t0);
  if (first == INT64_MAX || first >= t1) return 0;
  int64_t end = r->to >= 0 && r->to < t1 ? r->to : t1;
  return (end - 1 - first) / r->every + 1;
}

/* Doubles a spike recorder's storage until one full port of events fits. */
static int grow_events(lam_rec *r) {
  int64_t need = r->n + r->port_size;
  if (need <= r->cap) return LAM_OK;
  int64_t cap = r->cap ? r->cap * 2 : 1024;
  while (cap < need) cap *= 2;
  return resize(r, cap);
}

int lam__rec_reserve(lam_rec *r, int64_t t0, int64_t t1) {
  if (r->closed) return LAM_OK;
  /* A stream's chunk was made at lam_rec_stream; a full one is written. */
  if (r->out) return r->cap - r->n < room_needed(r) ? lam__rec_flush(r) : LAM_OK;
  if (r->spikes) {
    if (samples_in(r, t0, t1) == 0 || r->cap - r->n >= r->port_size) return LAM_OK;
    return grow_events(r);
  }
  int64_t need = r->n + samples_in(r, t0, t1);
  if (need <= r->cap) return LAM_OK;
  int64_t cap = r->cap ? r->cap : 64;
  while (cap < need) cap *= 2;
  return resize(r, cap);
}


/* Appends the events of one spike port at tick t; returns the count. */
static int64_t take_spikes(lam_rec *r, const lam_buf *port, int64_t t) {
  int64_t *idx = (int64_t *)r->store->data + r->n;
  int64_t *tk = (int64_t *)r->ticks->data + r->n;
  int64_t k = 0;
  const int64_t size = port->size;
#define LAM_SCAN(T)                                         \
  do {                                                      \
    const T *p = (const T *)port->data;                     \
    for (int64_t i = 0; i < size; i++)                      \
      if (p[i] != 0) idx[k] = i, tk[k] = t, k++;            \
  } while (0)
  switch (port->dtype) {
  case LAM_U8: {
    /* Spikes are sparse: test eight units per load and look inside only
     * the words that hold a spike (byte order does not matter, the bytes
     * are then visited in index order). */
    const uint8_t *p = (const uint8_t *)port->data;
    int64_t i = 0;
    for (; i + 8 <= size; i += 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      if (!w) continue;
      for (int64_t j = i; j < i + 8; j++)
        if (p[j]) idx[k] = j, tk[k] = t, k++;
    }
    for (; i < size; i++)
      if (p[i]) idx[k] = i, tk[k] = t, k++;
    break;
  }
  case LAM_I32: LAM_SCAN(int32_t); break;
  case LAM_I64: LAM_SCAN(int64_t); break;
  case LAM_F32: LAM_SCAN(float); break;
  case LAM_F64: LAM_SCAN(double); break;
  default: break;
  }
#undef LAM_SCAN
  return k;
}

int lam__rec_sample(lam_rec *r, const lam_buf *port, int64_t t) {
  if (r->spikes) {
    r->n += take_spikes(r, port, t);
  } else {
    memcpy((char *)r->store->data + (size_t)r->n * r->row_bytes, port->data, r->row_bytes);
    ((int64_t *)r->ticks->data)[r->n] = t;
    r->n++;
  }
  /* No room for another sample: the loop pauses after this tick, and
   * lam__rec_reserve makes room outside it (a stream writes its chunk, a
   * spike recorder grows).  A dense memory recorder never gets here: it
   * reserved the whole run. */
  return r->cap - r->n < room_needed(r);
}

int lam__rec_flush(lam_rec *r) {
  if (!r->out || r->n == 0) return LAM_OK;
  int rc = lam_npy_stream_write(r->out, r->store->data, r->n);
  if (!rc) rc = lam_npy_stream_write(r->out_ticks, r->ticks->data, r->n);
  if (rc) return lam_set_error(LAM_EIO, "record: %s", lam_last_error());
  r->total += r->n;
  r->n = 0;
  return LAM_OK;
}

void lam__rec_set_active(lam_rec *r, int on) { r->active = on != 0; }

void lam__rec_clear(lam_rec *r) {
  if (r->out || r->closed) {
    /* A file is a result: a reset ends it rather than truncating it. */
    (void)close_streams(r);
    r->closed = 1;
    return;
  }
  /* New storage for the next samples: views handed out keep the old. */
  drop_storage(r);
}

/* "<base>.ticks.npy" beside "<base>.npy" (or "<file>.ticks.npy"). */
static char *ticks_name(const char *file) {
  size_t n = strlen(file);
  if (n > 4 && strcmp(file + n - 4, ".npy") == 0) n -= 4;
  char *t = malloc(n + 11);
  if (t) snprintf(t, n + 11, "%.*s.ticks.npy", (int)n, file);
  return t;
}

int lam_rec_stream(lam_rec *r, const char *file, int32_t overwrite) {
  if (!r) return lam_set_error(LAM_EINVAL, "record: NULL recorder");
  if (!file || !*file) return lam_set_error(LAM_EINVAL, "record: to_file is empty");
  if (r->out || r->closed || r->n > 0)
    return lam_set_error(LAM_ESTATE, "record %s: the recorder already holds samples or a file; "
                         "streaming must be chosen before the first run", file);
  char *tname = ticks_name(file);
  char *fname = lam__strdup(file);
  if (!tname || !fname) {
    free(tname);
    free(fname);
    return lam_set_error(LAM_ENOMEM, "record: out of memory");
  }
  int64_t cap = r->spikes ? r->port_size : 1;
  int64_t fit = (int64_t)(STREAM_CHUNK_BYTES / (r->row_bytes ? r->row_bytes : 1));
  if (fit > cap) cap = fit;
  int rc = resize(r, cap);
  if (rc) {
    free(tname);
    free(fname);
    return rc;
  }
  if (r->spikes)
    r->out = lam_npy_stream_open(file, LAM_I64, 0, NULL, overwrite);
  else
    r->out = lam_npy_stream_open(file, r->dtype, r->ndim, r->shape, overwrite);
  if (r->out) r->out_ticks = lam_npy_stream_open(tname, LAM_I64, 0, NULL, overwrite);
  if (!r->out || !r->out_ticks) {
    char why[512];
    snprintf(why, sizeof why, "%s", lam_last_error());
    if (r->out) {
      /* Nothing was recorded yet: remove the empty file just made. */
      char *p = lam__strdup(lam_npy_stream_path(r->out));
      lam_npy_stream_abandon(r->out);
      if (p) remove(p);
      free(p);
    }
    r->out = NULL;
    drop_storage(r);
    free(tname);
    free(fname);
    return lam_set_error(LAM_EIO, "record: %s", why);
  }
  r->file = fname;
  r->file_ticks = tname;
  return LAM_OK;
}

int lam_rec_close(lam_rec *r) {
  if (!r) return lam_set_error(LAM_EINVAL, "record: NULL recorder");
  if (!r->out) return LAM_OK;
  int rc = close_streams(r);
  r->closed = 1;
  drop_storage(r);
  return rc;
}

const char *lam_rec_file(const lam_rec *r, int32_t which) {
  if (!r) return NULL;
  return which ? r->file_ticks : r->file;
}

int32_t lam_rec_is_spikes(const lam_rec *r) { return r ? r->spikes : 0; }

int64_t lam_rec_count(const lam_rec *r) { return r ? r->total + r->n : 0; }

/* A view of the first n rows of `b` (or an empty buffer of that shape). */
static lam_buf *first_rows(const lam_rec *r, lam_buf *b, int32_t dtype,
                           int32_t ndim, const int64_t *rowshape) {
  if (b) return lam_buf_slice(b, 0, 0, r->n, 1);
  int64_t shape[LAM_MAX_DIMS] = {0};
  if (ndim > 1) memcpy(shape + 1, rowshape, (size_t)(ndim - 1) * sizeof shape[0]);
  return lam_buf_new(dtype, ndim, shape);
}

/* A stream's data so far, read back from its file. */
static lam_buf *stream_load(lam_rec *r, int which) {
  if (r->out && lam__rec_flush(r)) return NULL;
  lam_npy_stream *s = which ? r->out_ticks : r->out;
  const char *path = s ? lam_npy_stream_path(s) : which ? r->file_ticks : r->file;
  return lam_npy_load(path);
}

lam_buf *lam_rec_data(lam_rec *r) {
  if (!r) {
    lam_set_error(LAM_EINVAL, "record: NULL recorder");
    return NULL;
  }
  if (r->file) return stream_load(r, 0);
  if (r->spikes) return first_rows(r, r->store, LAM_I64, 1, NULL);
  return first_rows(r, r->store, r->dtype, r->ndim + 1, r->shape);
}

lam_buf *lam_rec_ticks(lam_rec *r) {
  if (!r) {
    lam_set_error(LAM_EINVAL, "record: NULL recorder");
    return NULL;
  }
  if (r->file) return stream_load(r, 1);
  return first_rows(r, r->ticks, LAM_I64, 1, NULL);
}
