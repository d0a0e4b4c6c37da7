/*
 * play.c - stim.play: plays the rows of a buffer into its output, one row
 * per step.
 *
 * The buffer is handed over with the `load` method and copied (converted to
 * double) into instance storage, so the caller may free or change its own
 * buffer afterwards; copying happens in the method, never in step().  The
 * playhead is the number of steps taken since the last load or reset, so
 * step k outputs row k (k mod T when looping).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stim_int.h"

const char stim__play_doc[] =
    "Plays a buffer into `value`, one row per step: step k (counted from the "
    "last load or reset) outputs row k.  Load the data with the method "
    "load(buf), buf of shape [T, channels] (or [T] when channels = 1), any "
    "numeric dtype, finite values; it is copied, and the playhead goes back "
    "to row 0.  After the last row the playback wraps to row 0 when `loop` "
    "is set; otherwise the output holds the last row (hold = last) or drops "
    "to 0 (hold = zero).  Before anything is loaded the output is 0.  "
    "position() returns the index of the next row as an i64 buffer of shape "
    "[1] (T once a playback without loop has ended).";

enum { P_CHANNELS, P_LOOP, P_HOLD };
enum { HOLD_LAST = 0, HOLD_ZERO = 1 };
enum { PORT_VALUE };

const lam_param_def stim__play_params[] = {
    STIM_CHANNELS_PARAM("number of columns of the loaded buffer"),
    {.name = "loop",
     .doc = "start again at row 0 after the last row",
     .units = "",
     .def = 0,
     .type = LAM_PARAM_BOOL},
    {.name = "hold",
     .doc = "output after the last row when not looping: the last row "
            "(last) or 0 (zero)",
     .units = "",
     .choices = "last|zero",
     .def = HOLD_LAST,
     .type = LAM_PARAM_ENUM},
    {.name = NULL}};

const lam_port_def stim__play_ports[] = {
    {.name = "value",
     .doc = "the current row of the loaded buffer",
     .units = "as loaded",
     .shape = "channels",
     .dtype = LAM_F64,
     .dir = LAM_PORT_OUT},
    {.name = NULL}};

typedef struct {
  stim_head h;  /* h.steps: steps since the last load or reset */
  int64_t rows; /* T; 0 when nothing is loaded */
  double *data; /* rows x channels, row-major */
} play;

int stim__play_create(lam_model_ctx *ctx, void **self) {
  return stim__create_value(ctx, STIM_TAG_PLAY, sizeof(play), self);
}

/* The row step k outputs, or -1 for zeros. */
static int64_t row_of(const play *p, const lam_model_ctx *ctx, int64_t k) {
  if (p->rows == 0)
    return -1;
  if (k < p->rows)
    return k;
  if (ctx->params[P_LOOP] != 0.0)
    return k % p->rows;
  return (int)ctx->params[P_HOLD] == HOLD_ZERO ? -1 : p->rows - 1;
}

int stim__play_step(void *self, lam_model_ctx *ctx, int64_t n) {
  play *p = self;
  const int64_t nc = p->h.channels;
  int64_t k;
  int rc;
  double *v = stim__value_steps(ctx, &p->h, n, &k, &rc);
  if (!v)
    return rc;
  /* Only the last of the n steps is visible in the port. */
  int64_t r = row_of(p, ctx, k);
  if (r < 0)
    memset(v, 0, (size_t)nc * sizeof *v);
  else
    memcpy(v, p->data + r * nc, (size_t)nc * sizeof *v);
  return LAM_OK;
}

void stim__play_destroy(void *self, lam_model_ctx *ctx) {
  play *p = self;
  stim__free_with(p, p ? p->data : NULL);
}

/* Element i (an offset in elements) of a buffer of any dtype, as double. */
static double elem(const lam_buf *b, int64_t i) {
  switch (b->dtype) {
  case LAM_F32:
    return ((const float *)b->data)[i];
  case LAM_F64:
    return ((const double *)b->data)[i];
  case LAM_I32:
    return ((const int32_t *)b->data)[i];
  case LAM_I64:
    return (double)((const int64_t *)b->data)[i];
  default:
    return ((const uint8_t *)b->data)[i];
  }
}

static int play_load(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                     int32_t n_in, lam_buf **out) {
  play *p = self;
  const int64_t nc = p->h.channels;
  if (n_in != 1 || !in || !in[0]) {
    stim__api->set_error(ctx->host,
                         "expected one buffer [T, channels], got %d "
                         "arguments",
                         (int)n_in);
    return LAM_EINVAL;
  }
  const lam_buf *b = in[0];
  if (b->dtype < LAM_F32 || b->dtype > LAM_U8 || (b->size > 0 && !b->data)) {
    stim__api->set_error(ctx->host, "buffer has an invalid dtype");
    return LAM_EINVAL;
  }
  int64_t rows, rstride, cstride;
  if (b->ndim == 2 && b->shape[1] == nc) {
    rows = b->shape[0];
    rstride = b->strides[0];
    cstride = b->strides[1];
  } else if (b->ndim == 1 && nc == 1) {
    rows = b->shape[0];
    rstride = b->strides[0];
    cstride = 0;
  } else {
    char got[96];
    int len = 0;
    got[0] = 0;
    for (int32_t d = 0; d < b->ndim && d < LAM_MAX_DIMS && len < 64; d++)
      len += snprintf(got + len, sizeof got - (size_t)len, "%s%lld",
                      d ? ", " : "", (long long)b->shape[d]);
    stim__api->set_error(ctx->host,
                         "buffer must have shape [T, %lld]%s "
                         "(channels = %lld), got [%s]",
                         (long long)nc, nc == 1 ? " or [T]" : "", (long long)nc,
                         got);
    return LAM_EINVAL;
  }
  if (rows < 1) {
    stim__api->set_error(ctx->host, "buffer has no rows");
    return LAM_EINVAL;
  }
  /* Check everything before replacing the current data, so a failed load
   * leaves the instance as it was. */
  double *d = stim__alloc(ctx, rows, (size_t)nc * sizeof *d);
  if (!d)
    return LAM_ENOMEM;
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t c = 0; c < nc; c++) {
      double x = elem(b, r * rstride + c * cstride);
      if (!isfinite(x)) {
        stim__api->free(d);
        stim__api->set_error(ctx->host,
                             "row %lld, channel %lld is %g (values "
                             "must be finite)",
                             (long long)r, (long long)c, x);
        return LAM_EINVAL;
      }
      d[r * nc + c] = x;
    }
  }
  stim__api->free(p->data);
  p->data = d;
  p->rows = rows;
  p->h.steps = 0;
  return LAM_OK;
}

static int play_position(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                         int32_t n_in, lam_buf **out) {
  play *p = self;
  if (n_in != 0) {
    stim__api->set_error(ctx->host, "takes no arguments, got %d", (int)n_in);
    return LAM_EINVAL;
  }
  int64_t shape[1] = {1};
  lam_buf *b = stim__api->buf_new(LAM_I64, 1, shape);
  if (!b) {
    stim__api->set_error(ctx->host, "out of memory");
    return LAM_ENOMEM;
  }
  int64_t next = p->h.steps;
  if (p->rows > 0 && next >= p->rows)
    next = ctx->params[P_LOOP] != 0.0 ? next % p->rows : p->rows;
  else if (p->rows == 0)
    next = 0;
  ((int64_t *)b->data)[0] = next;
  *out = b;
  return LAM_OK;
}

const lam_method_def stim__play_methods[] = {
    {.name = "load",
     .doc = "load(buf): copy buf ([T, channels], or [T] when channels = 1; "
            "any numeric dtype; finite values) as the rows to play and move "
            "the playhead to row 0; returns nothing",
     .fn = play_load},
    {.name = "position",
     .doc = "position(): the 0-based index of the next row to be output, as "
            "an i64 buffer of shape [1] (T after a playback without loop has "
            "ended)",
     .fn = play_position},
    {.name = NULL}};

/* Payload: steps, rows, then the rows x channels doubles. */
int stim__play_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  play *p = self;
  size_t data = (size_t)p->rows * (size_t)p->h.channels * sizeof(double);
  unsigned char *w = stim__state_new(ctx, STIM_TAG_PLAY, p->h.channels,
                                     2 * sizeof(int64_t) + data, out);
  if (!w)
    return LAM_ENOMEM;
  memcpy(w, &p->h.steps, sizeof p->h.steps);
  memcpy(w + sizeof(int64_t), &p->rows, sizeof p->rows);
  if (data)
    memcpy(w + 2 * sizeof(int64_t), p->data, data);
  return LAM_OK;
}

int stim__play_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  play *p = self;
  size_t len = 0;
  const unsigned char *r =
      stim__state_open(ctx, STIM_TAG_PLAY, p->h.channels, in, 0, &len);
  if (!r)
    return LAM_EINVAL;
  int64_t steps, rows;
  if (len < 2 * sizeof(int64_t))
    goto bad;
  memcpy(&steps, r, sizeof steps);
  memcpy(&rows, r + sizeof(int64_t), sizeof rows);
  const size_t row_bytes = (size_t)p->h.channels * sizeof(double);
  if (steps < 0 || rows < 0 ||
      (uint64_t)rows > (len - 2 * sizeof(int64_t)) / row_bytes ||
      len - 2 * sizeof(int64_t) != (size_t)rows * row_bytes)
    goto bad;
  double *d = NULL;
  if (rows > 0) {
    d = stim__alloc(ctx, rows, (size_t)p->h.channels * sizeof *d);
    if (!d)
      return LAM_ENOMEM;
    memcpy(d, r + 2 * sizeof(int64_t), len - 2 * sizeof(int64_t));
  }
  stim__api->free(p->data);
  p->data = d;
  p->rows = rows;
  p->h.steps = steps;
  return LAM_OK;
bad:
  stim__api->set_error(ctx->host, "corrupt state (sizes do not match)");
  return LAM_EINVAL;
}
