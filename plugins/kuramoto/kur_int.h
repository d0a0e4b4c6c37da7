/*
 * kur_int.h - private to the kuramoto plugin: what the model files
 * (phase.c, akorn.c) hand to the descriptor in kuramoto.c, and the helpers
 * they share (ports, allocation, reading method arguments, checkpoints,
 * natural-frequency generators in omega.c).
 *
 * Everything here has hidden visibility (the plugin is built with
 * -fvisibility=hidden); the only exported symbol is lamina_plugin_init.
 */
#ifndef KUR_INT_H
#define KUR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lamina_plugin.h"

extern const lam_host_api *kur__api;

/* Hot loops: let GCC vectorise them at the project's -O2 (its default
 * "very cheap" cost model refuses loops of unknown trip count).  Other
 * compilers get the plain function. */
#if defined(__GNUC__) && !defined(__clang__)
#define KUR_VEC __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define KUR_VEC
#endif

/* Kernels worth one clone per instruction set (the loader picks the best
 * at load time).  Without contraction (-ffp-contract=off) and with fma()
 * exactly rounded, every clone gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__)
#define KUR_CLONES __attribute__((target_clones("avx512f", "fma", "default"))) KUR_VEC
#else
#define KUR_CLONES
#endif

/* Bounds used in parameter schemas: finite, so +-inf is refused. */
#define KUR_BIG 1e6
#define KUR_PI 3.14159265358979323846

/* A port's f64 data, checked to hold n contiguous elements (a link may have
 * pointed the port at another buffer).  NULL with the error set. */
double *kur__port(lam_model_ctx *ctx, int index, const char *name, int64_t n);
/* n * size zeroed bytes (n < 1 counts as 1); NULL with the error set. */
void *kur__alloc(lam_model_ctx *ctx, int64_t n, size_t size);

/* Method arguments.  kur__arg checks that `in` has the given shape
 * (ndim 1 or 2; cols ignored for ndim 1) and names the method and argument
 * in the error.  kur__at reads element `flat` (row-major order) of any
 * dtype and strides as a double. */
int kur__arg(lam_model_ctx *ctx, const char *method, const char *arg,
             const lam_buf *in, int32_t ndim, int64_t rows, int64_t cols);
double kur__at(const lam_buf *b, int64_t flat);
/* The method takes exactly `want` arguments (or between lo and hi). */
int kur__nargs(lam_model_ctx *ctx, const char *method, int32_t n_in,
               int32_t lo, int32_t hi);
/* A finite copy of `count` elements of b (allocated); NULL with an error
 * naming method, arg and the index ([i, j] when cols > 0, else [e]). */
double *kur__finite(lam_model_ctx *ctx, const char *method, const char *arg,
                    const lam_buf *b, int64_t count, int64_t cols);
/* A CSR matrix (row = target) read from method arguments (indptr[rows+1],
 * indices[nnz] in [0, cols), optional finite weights[nnz], default 1).
 * On success the arrays are new allocations owned by the caller. */
typedef struct {
  int64_t *rowptr;
  int32_t *col;
  double *w;
  int64_t nnz;
} kur_csr;
int kur__csr(lam_model_ctx *ctx, const char *method, lam_buf *const *in,
             int32_t n_in, int64_t rows, int64_t cols, kur_csr *out);
/* A new f64 buffer of n elements (1-d) copied from x, stored in *out. */
int kur__ret(lam_model_ctx *ctx, const double *x, int64_t n, lam_buf **out);

/* Checkpoints: a u8 buffer with a header (magic, model tag, n, payload
 * size), written and read sequentially. */
enum { KUR_TAG_PHASE = 1, KUR_TAG_AKORN = 2 };
unsigned char *kur__state_new(lam_model_ctx *ctx, uint32_t tag, int64_t n,
                              size_t payload, lam_buf **out);
const unsigned char *kur__state_open(lam_model_ctx *ctx, uint32_t tag,
                                     int64_t n, const lam_buf *in,
                                     size_t payload);
unsigned char *kur__put(unsigned char *w, const void *src, size_t n);
const unsigned char *kur__get(void *dst, const unsigned char *r, size_t n);

/* Natural frequencies (omega.c).  dist: KUR_OMEGA_*; quantile != 0 uses
 * the deterministic quantiles u_j = j/(n+1), j = 1..n, otherwise draws
 * from r.  width is the Lorentzian half-width, the Gaussian standard
 * deviation or the half-width of the uniform interval. */
enum {
  KUR_OMEGA_IDENTICAL = 0,
  KUR_OMEGA_LORENTZIAN = 1,
  KUR_OMEGA_GAUSSIAN = 2,
  KUR_OMEGA_UNIFORM = 3
};
void kur__omega_fill(double *w, int64_t n, int dist, int quantile, double w0,
                     double width, lam_rng *r);
/* The inverse error function to double precision. */
double kur__erfinv(double y);

/* s[i] = sin x[i], c[i] = cos x[i] for i < n (trig.c): vectorised, about
 * 1 ulp, the same bits on every machine. */
void kur__sincos(const double *x, double *s, double *c, int64_t n);

/* One first-order Euler step over oscillators [i0, i1) fused with the cos
 * and sin of the new phases (trig.c):
 *   th_i += h (w_i + in_i + (fim_i + hi) c_i - (fre_i + hr) s_i) [+ eta_i]
 *   (s_i, c_i) = (sin th_i, cos th_i)
 * c, s hold cos, sin of the old phases on entry; fre/fim NULL means a
 * uniform field (hr, hi); eta NULL means no noise, in NULL no input. */
typedef struct {
  double *th, *c, *s;
  const double *w, *in, *eta, *fre, *fim;
  double h, hr, hi;
} kur_euler;
void kur__euler_trig(const kur_euler *e, int64_t i0, int64_t i1);

/* Sums of c and s in KUR_LANES lanes (element i into lane i mod KUR_LANES,
 * acc[0..LANES) for c, acc[LANES..2 LANES) for s), added to acc; and the
 * lanes combined in a fixed pairwise order.  The same numbers in the same
 * order however the array is split into chunks of a multiple of
 * KUR_LANES, so the order parameter has one bit pattern. */
#define KUR_LANES 16
void kur__lanes(const double *c, const double *s, int64_t n,
                double acc[2 * KUR_LANES]);
void kur__lanes_total(const double acc[2 * KUR_LANES], double *a, double *b);

/* The models. */
#define KUR_DECLARE_MODEL(m)                                                   \
  extern const char kur__##m##_doc[];                                          \
  extern const lam_param_def kur__##m##_params[];                              \
  extern const lam_port_def kur__##m##_ports[];                                \
  extern const lam_method_def kur__##m##_methods[];                            \
  int kur__##m##_create(lam_model_ctx *ctx, void **self);                      \
  int kur__##m##_reset(void *self, lam_model_ctx *ctx);                        \
  int kur__##m##_step(void *self, lam_model_ctx *ctx, int64_t n);              \
  void kur__##m##_destroy(void *self, lam_model_ctx *ctx);                     \
  int kur__##m##_save(void *self, lam_model_ctx *ctx, lam_buf **out);          \
  int kur__##m##_load(void *self, lam_model_ctx *ctx, const lam_buf *in)

KUR_DECLARE_MODEL(phase);
KUR_DECLARE_MODEL(akorn);

#endif /* KUR_INT_H */
