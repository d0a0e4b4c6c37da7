/*
 * lam_int.h - private declarations shared between core modules.  Not
 * installed; plugins and scripts never see these.
 */
#ifndef LAM_INT_H
#define LAM_INT_H

#include <stdarg.h>

#include "lamina.h"

/* err.c */
int lam__verror(int code, const char *fmt, va_list ap);
void lam__clear_error(void);

/* buf.c: the element at a flat row-major index, and its byte address. */
void *lam__buf_addr(const lam_buf *b, int64_t flat);
/* Row-major strides for a shape. */
void lam__buf_strides(int32_t ndim, const int64_t *shape, int64_t *strides);

/* plugin.c: the host side of one model's host handle, used by the api
 * table's set_error/param_index/port_index. */
typedef struct lam__host_handle {
  const lam_model_def *def;
  char *name;                  /* instance name, for messages */
  char err[512];               /* message set by the plugin */
  int32_t nparams;
  int32_t nports;
} lam__host_handle;

/* plugin.c: counts live simulations so that lam_registry_free never
 * unloads code an instance still runs. */
void lam__registry_ref(lam_registry *r, int delta);

/* plugin.c: parses "MAJOR[.MINOR[.PATCH]]" (a trailing tag such as "-rc1"
 * is ignored) into out[3]; -1 when v does not start with a number. */
int lam__version_parse(const char *v, long out[3]);

/* ckpt.c: checkpoints as sim_save_state hands them out, an envelope around
 * the plugin's own state buffer that names the plugin, its version and
 * ABI, and the model (docs/plugins.md, "Checkpoints").  wrap takes over
 * `state` (freed whatever happens) and returns the envelope in *out.
 * unwrap checks an envelope against the instance's plugin and model and
 * puts a new buffer with the plugin's state in *payload; a buffer that is
 * not an envelope (a bare plugin state) gives *payload = NULL and LAM_OK,
 * and the plugin's load_state judges it.  Errors name the instance. */
int lam__ckpt_wrap(const lam_plugin_desc *plugin, const char *model, lam_buf *state,
                   lam_buf **out);
int lam__ckpt_unwrap(const lam_plugin_desc *plugin, const char *model, const char *inst,
                     const lam_buf *in, lam_buf **payload);

/* rec.c: recorders, owned and driven by sim.c. */
lam_rec *lam__rec_new(const lam_buf *port, int32_t port_flags, int64_t every,
                      int64_t from, int64_t to);
/* Closes a stream (final file names) and frees. */
void lam__rec_free(lam_rec *rec);
/* Makes room for every sample the recorder can take in ticks [t0, t1)
 * (dense, memory), or for at least one more sample (spikes: a full port of
 * events; streams: by writing out a full chunk), so that sampling inside
 * the step loop never allocates or writes. */
int lam__rec_reserve(lam_rec *rec, int64_t t0, int64_t t1);
/* The next tick >= t at which the recorder samples, or INT64_MAX. */
int64_t lam__rec_next(const lam_rec *rec, int64_t t);
/* Takes one sample of `port` at tick t (room was reserved).  Returns 0,
 * or 1 when there is no room for another sample: the loop must pause and
 * call lam__rec_reserve before this recorder samples again. */
int lam__rec_sample(lam_rec *rec, const lam_buf *port, int64_t t);
/* Writes a stream's pending chunk to its files (no-op for memory). */
int lam__rec_flush(lam_rec *rec);
void lam__rec_set_active(lam_rec *rec, int on);
/* Drops the samples (reset); a stream is closed instead, never truncated. */
void lam__rec_clear(lam_rec *rec);

/* Copies a C string with malloc; NULL on failure or NULL input. */
char *lam__strdup(const char *s);

/* idx.c: a file read through zlib, gzip'd or plain (used by idx.c and
 * csv.c).  lam__gz_open fills g (where = "KIND: PATH" for messages,
 * file_size from fstat, compressed = starts with the gzip magic) or fails
 * with LAM_ENOTFOUND / LAM_EIO for a missing or non-regular file.
 * lam__gz_read reads up to n bytes and returns how many (0 at the end), or
 * a negative status with a message for a truncated or corrupt gzip
 * stream. */
typedef struct lam__gz {
  struct gzFile_s *gz;
  uint64_t file_size;
  int compressed;
  char where[400];
} lam__gz;
int lam__gz_open(lam__gz *g, const char *path, const char *kind);
int64_t lam__gz_read(lam__gz *g, void *dst, size_t n);
void lam__gz_close(lam__gz *g);

#endif
