/*
 * lamina_plugin.h - the plugin ABI of lamina.  This is the ONLY header a
 * model plugin includes, and a plugin never links against host symbols: it
 * sees the host only through the lam_host_api table handed to its entry
 * point.  docs/abi.md is the long-form reference; this header is the contract.
 *
 * Versioning rules (the struct size IS the version):
 *   - Every ABI struct starts with (or carries) its size and is append-only.
 *     Fields are never reordered or removed.  A field that is absent because
 *     the other side is older reads as zero, and zero always means "the old
 *     behaviour".
 *   - A struct LARGER than the reader knows is accepted only if every byte
 *     past the known size is zero; otherwise the reader refuses it ("needs a
 *     newer host").
 *   - Fields are fixed-width integers, doubles and pointers only, ordered so
 *     that no padding holes exist (8-byte fields first, then 4-byte ones).
 *   - ABI major changes break compatibility; minor changes only append.
 *
 * A plugin exports exactly one symbol:
 *
 *     LAM_PLUGIN_EXPORT const lam_plugin_desc *
 *     lamina_plugin_init(const lam_host_info *host, char *err, size_t errlen);
 *
 * returning a pointer to a static descriptor, or NULL with a reason written
 * to err.  Build with -fvisibility=hidden; the host loads plugins with
 * RTLD_NOW | RTLD_LOCAL.
 */
#ifndef LAMINA_PLUGIN_H
#define LAMINA_PLUGIN_H

#ifndef LAM_CDEF_GEN
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version.  Enums rather than #defines so that LuaJIT's ffi.cdef (which
 * is generated from these headers) sees the same constants. */
enum {
  LAM_ABI_MAJOR = 1,
  LAM_ABI_MINOR = 1
};

/* Element types of a lam_buf. Zero is deliberately not a valid type. */
enum {
  LAM_F32 = 1,
  LAM_F64 = 2,
  LAM_I32 = 3,
  LAM_I64 = 4,
  LAM_U8 = 5,
  LAM_MAX_DIMS = 4
};

/* Status codes.  Every function that can fail returns one of these; 0 is
 * success.  The message that explains a failure goes to the error buffer of
 * the call (lam_host_api.set_error for plugins, lam_last_error() for hosts). */
enum {
  LAM_OK = 0,
  LAM_EINVAL = -1,    /* bad argument: name, type, shape or value */
  LAM_ENOMEM = -2,    /* allocation failed */
  LAM_ERANGE = -3,    /* value outside its documented range */
  LAM_ENOTFOUND = -4, /* unknown model, port, parameter, method or file */
  LAM_EIO = -5,       /* file system error */
  LAM_EABI = -6,      /* plugin refused: ABI or descriptor mismatch */
  LAM_ESTATE = -7,    /* operation not allowed in the current state */
  LAM_EDIVERGED = -8, /* NaN or Inf found in a checked port */
  LAM_EPLUGIN = -9    /* a plugin callback reported failure */
};

/* ------------------------------------------------------------------ */
/* Buffers                                                              */
/* ------------------------------------------------------------------ */

/* A typed n-d array, row-major by default.  The struct is transparent so
 * that plugins and LuaJIT can read data/shape/strides directly, but buffers
 * are created and released only through the host (lam_buf_new/lam_buf_free
 * in lamina.h, or buf_new/buf_free in lam_host_api).
 *
 * strides are in ELEMENTS, not bytes.  A view shares `data` with its owner
 * and holds one reference on it, so the owner lives as long as any view.
 * `size` is the product of the shape (1 for ndim == 0). */
typedef struct lam_buf {
  void *data;
  struct lam_buf *owner;       /* NULL when this buffer owns its memory */
  int64_t shape[4];
  int64_t strides[4];
  int64_t size;
  int32_t dtype;               /* LAM_F32 ... LAM_U8 */
  int32_t ndim;                /* 0 .. LAM_MAX_DIMS */
  int32_t refs;                /* reference count, managed by the host */
  int32_t flags;               /* LAM_BUF_* */
} lam_buf;

enum {
  LAM_BUF_CONTIGUOUS = 1,      /* strides are the row-major ones */
  LAM_BUF_READONLY = 2         /* writing through the host is refused */
};

/* ------------------------------------------------------------------ */
/* Random numbers                                                       */
/* ------------------------------------------------------------------ */

/* One counter-based Philox4x32-10 stream.  Caller-allocated (it is small);
 * initialise with lam_host_api.rng_init, never by hand.  The stream is a
 * pure function of (seed, instance, purpose, index) and the number of draws
 * taken, so results do not depend on creation order or thread count. */
typedef struct lam_rng {
  uint32_t key[2];
  uint32_t ctr[4];             /* ctr[0..1]: block counter, ctr[2..3]: index */
  uint32_t out[4];             /* the current block of random words */
  int32_t used;                /* words of out[] already consumed (0..4) */
  int32_t spare_ok;            /* 1 when `spare` holds a cached normal */
  double spare;
} lam_rng;

/* Purposes: well-known stream purposes so that two parts of one model never
 * share a stream by accident.  Plugins may use any value >= LAM_RNG_USER. */
enum {
  LAM_RNG_INIT = 1,            /* initial state and connectivity */
  LAM_RNG_NOISE = 2,           /* per-step noise */
  LAM_RNG_SPIKES = 3,          /* stochastic spike generation */
  LAM_RNG_USER = 256
};

/* ------------------------------------------------------------------ */
/* Schemas                                                              */
/* ------------------------------------------------------------------ */

enum {
  LAM_PARAM_F64 = 1,           /* real number in [min, max] */
  LAM_PARAM_I64 = 2,           /* integer in [min, max] (|v| < 2^53) */
  LAM_PARAM_BOOL = 3,          /* false/true, stored as 0/1 */
  LAM_PARAM_ENUM = 4           /* one of `choices` ("a|b|c"), stored as index */
};

enum {
  LAM_PARAM_MUTABLE = 1        /* may be changed between steps (actions) */
};

/* One parameter.  Arrays of these end with an entry whose name is NULL.
 * Every value reaches the model as a double in lam_model_ctx.params, in
 * schema order; the host validates type and range before create(). */
typedef struct lam_param_def {
  const char *name;
  const char *doc;
  const char *units;           /* "" or NULL when dimensionless */
  const char *choices;         /* LAM_PARAM_ENUM only: "a|b|c" */
  double def;                  /* default (enum: index into choices) */
  double min;                  /* inclusive bounds; ignored for BOOL/ENUM */
  double max;
  int32_t type;                /* LAM_PARAM_* */
  int32_t flags;               /* LAM_PARAM_MUTABLE ... */
} lam_param_def;

enum {
  LAM_PORT_IN = 1,             /* read by the model; a link may drive it */
  LAM_PORT_OUT = 2,            /* written by the model */
  LAM_PORT_STATE = 3           /* model state; regulators may write it */
};

enum {
  LAM_PORT_NOCHECK = 1,        /* exclude from NaN/Inf divergence checks */
  /* The port holds this tick's spikes: element i is nonzero when unit i
   * fired (u8 0/1 is the usual dtype).  Recorders store such a port as
   * events, one (tick, index) pair per nonzero element, like a spike
   * monitor, instead of dense rows. */
  LAM_PORT_SPIKES = 2
};

/* One port.  `shape` is a comma-separated list of parameter names and
 * positive integer literals evaluated against the resolved parameters, e.g.
 * "channels" or "units,2"; "" or NULL is a scalar port of shape (1). */
typedef struct lam_port_def {
  const char *name;
  const char *doc;
  const char *units;
  const char *shape;
  int32_t dtype;               /* LAM_F32 ... */
  int32_t dir;                 /* LAM_PORT_IN / OUT / STATE */
  int32_t flags;               /* LAM_PORT_* */
  int32_t reserved;            /* zero */
} lam_port_def;

struct lam_model_ctx;

/* A named method callable from scripts with buffers in and one buffer out.
 * `in` holds n_in borrowed buffers.  On success the method stores a NEW
 * reference in *out (made with api->buf_new) or leaves it NULL. */
typedef int (*lam_method_fn)(void *self, struct lam_model_ctx *ctx,
                             lam_buf *const *in, int32_t n_in, lam_buf **out);

typedef struct lam_method_def {
  const char *name;
  const char *doc;             /* should describe the arguments and result */
  lam_method_fn fn;
} lam_method_def;

struct lam_host_api;

/* What the host hands a model instance on every call.  Host-owned; valid
 * from create() to destroy().  Read port buffers through `ports` at every
 * step: links may point a port at another model's buffer before a run
 * starts (they never change while a run is in progress). */
typedef struct lam_model_ctx {
  size_t struct_size;
  const struct lam_host_api *api;
  void *host;                  /* opaque: pass to api->set_error etc. */
  lam_buf *const *ports;       /* one per port, schema order */
  const double *params;        /* one per parameter, schema order */
  double dt;                   /* this model's step: base dt * period */
  uint64_t seed;               /* run seed, for api->rng_init */
  uint64_t instance;           /* instance id, for api->rng_init */
  int64_t tick;                /* base tick at which the current step starts */
  int64_t period;              /* base ticks per model step */
  /* ABI 1.1 (check struct_size, or use lam_plugin_port_kept): one counter
   * per port, schema order, or NULL.  The host changes port i's counter
   * whenever anything other than this model's own step() and methods may
   * have written ports[i] -- the script between runs (sets, views, events),
   * a scheduled set, a player -- and holds it at LAM_PORT_VOLATILE while a
   * link drives the port.  While it is unchanged a model may keep values it
   * derived from the port (a cache) from one step to the next. */
  const uint64_t *writes;
} lam_model_ctx;

#define LAM_PORT_VOLATILE UINT64_MAX

enum {
  /* Output depends on the seed.  A model without this flag declares itself
   * deterministic: `lamina plugin check` then requires another seed to
   * give identical ports (and, with the flag, different ones). */
  LAM_MODEL_STOCHASTIC = 1
};

/* A model: schemas and lifecycle.  Arrays of these end with name == NULL.
 *   create(ctx, &self)   allocate instance state (api->alloc), read params;
 *                        ports are already allocated and zeroed.
 *   reset(self, ctx)     return to the initial state of the same seed.
 *   step(self, ctx, n)   advance n model steps; never allocates.
 *   destroy(self, ctx)   free instance state; self may be NULL.
 *   save_state/load_state  optional checkpoint as one buffer.
 * Each returns LAM_OK or a status with a message set through the api. */
typedef struct lam_model_def {
  const char *name;            /* "family.model" */
  const char *doc;
  const lam_param_def *params;
  const lam_port_def *ports;
  const lam_method_def *methods;
  int (*create)(lam_model_ctx *ctx, void **self);
  int (*reset)(void *self, lam_model_ctx *ctx);
  int (*step)(void *self, lam_model_ctx *ctx, int64_t n);
  void (*destroy)(void *self, lam_model_ctx *ctx);
  int (*save_state)(void *self, lam_model_ctx *ctx, lam_buf **out);
  int (*load_state)(void *self, lam_model_ctx *ctx, const lam_buf *in);
  int32_t flags;               /* LAM_MODEL_* */
  int32_t reserved;            /* zero */
} lam_model_def;

/* The static descriptor a plugin returns from lamina_plugin_init. */
typedef struct lam_plugin_desc {
  size_t struct_size;          /* sizeof(lam_plugin_desc) the plugin saw */
  const char *name;            /* family name, e.g. "stim" */
  const char *version;         /* semantic version of the plugin */
  const char *authors;
  const char *licence;         /* SPDX identifier */
  const char *citation;        /* DOI or reference to cite */
  const char *doc;             /* one paragraph */
  const char *build;           /* compiler and flags, see LAM_BUILD_INFO */
  const lam_model_def *models; /* ends with name == NULL */
  /* Element sizes of the schema arrays as the plugin was compiled, so that
   * a host can walk arrays of structs newer or older than its own.  Fill
   * with LAM_DESC_SIZES. */
  size_t model_size;
  size_t param_size;
  size_t port_size;
  size_t method_size;
  int32_t abi_major;
  int32_t abi_minor;           /* the minor this plugin needs at least */
} lam_plugin_desc;

/* ------------------------------------------------------------------ */
/* The host                                                             */
/* ------------------------------------------------------------------ */

/* Functions a plugin may call.  Append-only; check `struct_size` (or use
 * LAM_API_HAS) before calling anything added after ABI 1.0. */
typedef struct lam_host_api {
  size_t struct_size;
  /* Memory.  Plugins allocate through these so the host can account. */
  void *(*alloc)(size_t n);                 /* zeroed; NULL on failure */
  void (*free)(void *p);                    /* NULL is a no-op */
  /* Errors and logging.  `host` is lam_model_ctx.host.  set_error keeps
   * the first line of the formatted message for the failing call. */
  void (*set_error)(void *host, const char *fmt, ...);
  void (*log)(void *host, int32_t level, const char *fmt, ...);
  /* Random numbers (see lam_rng). */
  void (*rng_init)(lam_rng *r, uint64_t seed, uint64_t instance,
                   uint64_t purpose, uint64_t index);
  uint32_t (*rng_u32)(lam_rng *r);
  double (*rng_uniform)(lam_rng *r);        /* in (0, 1) */
  double (*rng_normal)(lam_rng *r);         /* mean 0, sd 1 */
  double (*rng_exponential)(lam_rng *r);    /* mean 1 */
  int64_t (*rng_poisson)(lam_rng *r, double mean);
  int64_t (*rng_binomial)(lam_rng *r, int64_t n, double p);
  /* Buffers: new buffers are zeroed and hold one reference. */
  lam_buf *(*buf_new)(int32_t dtype, int32_t ndim, const int64_t *shape);
  void (*buf_free)(lam_buf *b);             /* drop one reference */
  /* Dense BLAS (OpenBLAS), row-major, same arguments as cblas_?gemm/gemv
   * with the order fixed to row-major: trans is 0 (no) or 1 (transpose). */
  void (*dgemm)(int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k,
                double alpha, const double *a, int64_t lda, const double *b,
                int64_t ldb, double beta, double *c, int64_t ldc);
  void (*sgemm)(int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k,
                float alpha, const float *a, int64_t lda, const float *b,
                int64_t ldb, float beta, float *c, int64_t ldc);
  void (*dgemv)(int32_t ta, int64_t m, int64_t n, double alpha,
                const double *a, int64_t lda, const double *x, double beta,
                double *y);
  void (*sgemv)(int32_t ta, int64_t m, int64_t n, float alpha,
                const float *a, int64_t lda, const float *x, float beta,
                float *y);
  /* Parameters by name, for models with many of them: index into
   * lam_model_ctx.params, or -1 when the model has no such parameter. */
  int32_t (*param_index)(void *host, const char *name);
  /* Port by name: index into lam_model_ctx.ports or -1. */
  int32_t (*port_index)(void *host, const char *name);
  /* ABI 1.1 (check LAM_API_HAS): one N(0, 1) draw from each of n streams,
   * out[i] = rng_normal(&r[i]) for i < n, bit for bit and with every stream
   * left as that loop leaves it, but faster (vector Philox).  n >= 0; r and
   * out non-NULL and not overlapping when n > 0 (n <= 0 or NULL: nothing
   * drawn).  Both arrays stay the caller's. */
  void (*rng_normal_each)(lam_rng *r, int64_t n, double *out);
} lam_host_api;

enum {
  LAM_LOG_DEBUG = 0,
  LAM_LOG_INFO = 1,
  LAM_LOG_WARN = 2
};

/* What the host passes to lamina_plugin_init.  Read-only. */
typedef struct lam_host_info {
  size_t struct_size;
  const char *host_version;
  const lam_host_api *api;
  size_t api_size;
  int32_t abi_major;
  int32_t abi_minor_min;       /* lowest minor the host still serves */
  int32_t abi_minor_max;       /* highest minor the host implements */
  int32_t reserved;
} lam_host_info;

#ifndef LAM_CDEF_GEN
/* True when the api table is large enough to contain `field`. */
#define LAM_API_HAS(api, field)                                            \
  ((api)->struct_size >= offsetof(lam_host_api, field) + sizeof((api)->field))

#if defined(__GNUC__)
#define LAM_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define LAM_PLUGIN_EXPORT
#endif

#define LAM_STR_(x) #x
#define LAM_STR(x) LAM_STR_(x)
/* A build-info string for lam_plugin_desc.build. */
#if defined(__clang__)
#define LAM_BUILD_INFO "clang " __clang_version__
#elif defined(__GNUC__)
#define LAM_BUILD_INFO "gcc " LAM_STR(__GNUC__) "." LAM_STR(__GNUC_MINOR__) "." LAM_STR(__GNUC_PATCHLEVEL__)
#else
#define LAM_BUILD_INFO "unknown compiler"
#endif

/* Fills struct_size, the element sizes and the ABI version of a
 * lam_plugin_desc initialiser: { LAM_DESC_SIZES, .name = ..., }. */
#define LAM_DESC_SIZES                                                     \
  .struct_size = sizeof(lam_plugin_desc),                                  \
  .model_size = sizeof(lam_model_def), .param_size = sizeof(lam_param_def), \
  .port_size = sizeof(lam_port_def), .method_size = sizeof(lam_method_def), \
  .abi_major = LAM_ABI_MAJOR, .abi_minor = LAM_ABI_MINOR

/* The entry point's type; the symbol is named lamina_plugin_init. */
typedef const lam_plugin_desc *(*lam_plugin_init_fn)(const lam_host_info *host,
                                                     char *err, size_t errlen);

/* ---- Helpers for plugin code (inline: nothing here is part of the ABI) */

/* Bytes of the host API table a plugin needs when `field` is the last
 * entry it calls: LAM_API_NEEDED(buf_free). */
#define LAM_API_NEEDED(field) \
  (offsetof(lam_host_api, field) + sizeof(((lam_host_api *)0)->field))

/* The usual checks of lamina_plugin_init: host info present, the same ABI
 * major and a high enough minor, an API table reaching `api_needed` bytes
 * (the host fills every entry inside its table).  Returns host->api, or
 * NULL with "<plugin>: why" in err (err may be NULL). */
static inline const lam_host_api *lam_plugin_handshake(const lam_host_info *host,
                                                       const char *plugin, size_t api_needed,
                                                       char *err, size_t errlen) {
  char dummy[1];
  if (!err || errlen == 0) err = dummy, errlen = sizeof dummy;
  if (!host || host->struct_size < offsetof(lam_host_info, abi_minor_max) +
                                       sizeof host->abi_minor_max) {
    snprintf(err, errlen, "%s: host info missing or too small", plugin);
    return NULL;
  }
  if (host->abi_major != LAM_ABI_MAJOR) {
    snprintf(err, errlen, "%s: built for plugin ABI major %d, host offers major %d", plugin,
             (int)LAM_ABI_MAJOR, (int)host->abi_major);
    return NULL;
  }
  if (host->abi_minor_max < LAM_ABI_MINOR) {
    snprintf(err, errlen, "%s: needs plugin ABI minor %d, host offers at most %d", plugin,
             (int)LAM_ABI_MINOR, (int)host->abi_minor_max);
    return NULL;
  }
  const lam_host_api *api = host->api;
  if (!api || host->api_size < api_needed || api->struct_size < api_needed) {
    snprintf(err, errlen, "%s: host API table too small (%zu bytes, %s needs %zu)", plugin,
             api ? api->struct_size : (size_t)0, plugin, api_needed);
    return NULL;
  }
  return api;
}

/* The name of a dtype ("f32", ...), "?" for others. */
static inline const char *lam_plugin_dtype_name(int32_t t) {
  static const char *const names[] = {"?", "f32", "f64", "i32", "i64", "u8"};
  return t >= 0 && t <= LAM_U8 ? names[t] : "?";
}

/* Port `index` as a flat array of n elements of `dtype`, or NULL after
 * setting an error naming `port` (no buffer, another dtype or size, or a
 * strided view a link pointed it at, which flat loops cannot walk). */
static inline void *lam_plugin_port(const lam_host_api *api, lam_model_ctx *ctx, int index,
                                    const char *port, int32_t dtype, int64_t n) {
  lam_buf *b = ctx->ports[index];
  if (!b || !b->data) {
    api->set_error(ctx->host, "port '%s' has no buffer", port);
    return NULL;
  }
  if (b->dtype != dtype || b->size != n) {
    api->set_error(ctx->host, "port '%s' must hold %lld %s elements, it holds %lld %s elements",
                   port, (long long)n, lam_plugin_dtype_name(dtype), (long long)b->size,
                   lam_plugin_dtype_name(b->dtype));
    return NULL;
  }
  int64_t expect = 1;
  for (int32_t d = b->ndim - 1; d >= 0; d--) {
    if (b->shape[d] > 1 && b->strides[d] != expect) {
      api->set_error(ctx->host, "port '%s' is not contiguous (a view with strides cannot drive it)",
                     port);
      return NULL;
    }
    expect *= b->shape[d];
  }
  return b->data;
}

/* 1 when the host guarantees that nothing but this model wrote port
 * `index` since the call that last stored *seen (start *seen at 0); then
 * stores the port's current counter in *seen.  0 -- assume the port
 * changed -- with a host older than ABI 1.1, a NULL counter table (as in
 * `lamina plugin check`), or a port a link drives. */
static inline int lam_plugin_port_kept(const lam_model_ctx *ctx, int index, uint64_t *seen) {
  if (ctx->struct_size < offsetof(lam_model_ctx, writes) + sizeof ctx->writes || !ctx->writes)
    return 0;
  const uint64_t w = ctx->writes[index];
  const int kept = w != LAM_PORT_VOLATILE && w == *seen;
  *seen = w;
  return kept;
}

/* api->alloc of n (at least 1) elements of `size` bytes, or NULL after
 * setting an error (size overflow, out of memory). */
static inline void *lam_plugin_alloc(const lam_host_api *api, lam_model_ctx *ctx, int64_t n,
                                     size_t size) {
  if (n < 1) n = 1;
  if ((uint64_t)n > SIZE_MAX / size) {
    api->set_error(ctx->host, "%lld elements of %zu bytes overflow", (long long)n, size);
    return NULL;
  }
  void *p = api->alloc((size_t)n * size);
  if (!p) api->set_error(ctx->host, "out of memory (%lld x %zu bytes)", (long long)n, size);
  return p;
}

/* A checkpoint buffer for save_state: a new contiguous 1-d u8 buffer of
 * `bytes` bytes (zeroed, owned by the caller until it is handed to the
 * host through *out), or NULL after setting "out of memory for a N-byte
 * state" (or "state too large" when bytes does not fit the shape). */
static inline lam_buf *lam_plugin_state_new(const lam_host_api *api, lam_model_ctx *ctx,
                                            size_t bytes) {
  if (bytes > (size_t)INT64_MAX) {
    api->set_error(ctx->host, "state too large (%zu bytes)", bytes);
    return NULL;
  }
  int64_t len = (int64_t)bytes;
  lam_buf *b = api->buf_new(LAM_U8, 1, &len);
  if (b && (b->data || len == 0)) return b;
  if (b) api->buf_free(b);
  api->set_error(ctx->host, "out of memory for a %lld-byte state", (long long)len);
  return NULL;
}
#endif /* LAM_CDEF_GEN */

#ifdef __cplusplus
}
#endif
#endif /* LAMINA_PLUGIN_H */
