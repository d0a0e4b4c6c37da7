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

/* rec.c: recorders, owned and driven by sim.c. */
lam_rec *lam__rec_new(const lam_buf *port, int64_t every, int64_t from,
                      int64_t to);
void lam__rec_free(lam_rec *rec);
/* Makes room for every sample the recorder can take in ticks [t0, t1), so
 * that sampling inside the step loop never allocates. */
int lam__rec_reserve(lam_rec *rec, int64_t t0, int64_t t1);
/* The next tick >= t at which the recorder samples, or INT64_MAX. */
int64_t lam__rec_next(const lam_rec *rec, int64_t t);
/* Takes one sample of `port` at tick t (room was reserved). */
void lam__rec_sample(lam_rec *rec, const lam_buf *port, int64_t t);
void lam__rec_set_active(lam_rec *rec, int on);
/* Drops the samples (reset). */
void lam__rec_clear(lam_rec *rec);

/* Copies a C string with malloc; NULL on failure or NULL input. */
char *lam__strdup(const char *s);

#endif
