/*
 * esn_int.h - private to reservoir.esn (esn.c, esn_weights.c,
 * esn_spectral.c): the recurrent matrix and the routines that build and
 * measure it.
 */
#ifndef ESN_INT_H
#define ESN_INT_H

#include "reservoir_int.h"

/* Vectorised elementwise loops, one clone per instruction set picked at
 * load time.  Only for code whose operations do not depend on the vector
 * width (elementwise, or lanes fixed in the source), so that every clone
 * gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define ESN_VEC                                                                \
  __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic",      \
                          "no-trapping-math"),                               \
                 target_clones("avx512f", "avx2", "default")))
#else
#define ESN_VEC
#endif

/* The recurrent matrix in float64 (the master copy; the float32 path keeps
 * a converted copy next to it).  Either dense (w: n x n, row-major) or CSR
 * (rowptr[n+1], col[nnz] sorted ascending within each row, val[nnz]).
 * `split[i]` is, for CSR, the first entry of row i whose column is >= the
 * number of excitatory units (Dale's law: columns [0, n_exc) excitatory),
 * so that each row's excitatory and inhibitory sums can be taken apart. */
typedef struct {
  int64_t n;
  int64_t nnz;
  int dense;
  double *w;
  int64_t *rowptr;
  int32_t *col;
  double *val;
  int64_t *split;
  /* col as 16-bit indices when n <= 65536 (else NULL), for the step's
   * row sums: 10 instead of 12 bytes per nonzero.  Rebuilt by
   * esn__mat_index16 whenever col changes. */
  uint16_t *col16;
  /* Short rows (n <= 65536, fewer than 32 nonzeros per row on average):
   * a sliced copy for the step.  Slot t (0 <= t < n rounded up to 8) holds
   * row srow[t] (-1: padding), rows sorted by length; slot t = 8q + j is
   * lane j of slice q: entry k of its row at sval/scol[soff[q] + 8k + j]
   * (zero padding up to the slice's longest row); slen/sexc[t] are the
   * row's nonzeros and its excitatory ones.  NULL otherwise. */
  double *sval;
  uint16_t *scol;
  int64_t *soff, *slen, *sexc, *srow;
} esn_mat;

/* tanh of a vector (esn_kern.c; branch-free, vectorised, within 1.3 ulp
 * of the exact tanh): z[i] = tanh(r[i]); and the fused update
 * x[i] = keep x[i] + leak tanh((r[i] + a1 w1[i]) + a2 w2[i]), where a
 * NULL w1 or w2 drops its term (w2 only with w1).  Same bits from every
 * instruction-set clone. */
void esn__tanh(const double *r, double *z, int64_t n);
void esn__tanh_leak(const double *r, double *x, double keep, double leak,
                    double a1, const double *w1, double a2, const double *w2,
                    int64_t n);

/* out[i] = the sum of row i of W times x (part 0), or over its excitatory
 * columns (1) or inhibitory columns (2), for CSR W; f64, or f32 values vf
 * times xf when vf is given.  A fixed order of the sums (esn_kern.c), so
 * the AVX-512 and the portable code give the same bits. */
void esn__csr_rows(const esn_mat *m, const double *x, const float *vf,
                   const float *xf, int part, double *out);

/* Small dense vector helpers (esn_spectral.c): a . b, and y += a x. */
double esn__dot(const double *a, const double *b, int64_t n);
void esn__axpy(double a, const double *x, double *y, int64_t n);

/* y = W x (f64), for the eigenvalue solver and tests. */
void esn__matvec(const esn_mat *m, const double *x, double *y);

/* The modulus of the eigenvalue of largest modulus of W (W need not be
 * normal; a dominant complex pair counts once).  Restarted Arnoldi with a
 * fixed start vector (deterministic), Ritz values from a complex shifted
 * QR on the small Hessenberg matrix; no dense eigendecomposition of W.
 * *converged is 1 when the Ritz residual fell below 1e-9 |lambda| (else
 * *rho is the best estimate after the restart budget).  Returns LAM_OK,
 * or LAM_ENOMEM / LAM_ERANGE (no convergence of the small QR) with the
 * error set on ctx. */
int esn__spectral_radius(lam_model_ctx *ctx, const esn_mat *m, double *rho,
                         int *converged);

#endif /* ESN_INT_H */

/* Random-stream indices of the weight draws (purpose LAM_RNG_INIT): one
 * stream per row, so that a row does not depend on the others or on the
 * order of generation. */
#define ESN_STREAM_W(i) ((uint64_t)(i))
#define ESN_STREAM_WIN(i) ((1ULL << 40) + (uint64_t)(i))
#define ESN_STREAM_WFB(i) ((2ULL << 40) + (uint64_t)(i))
#define ESN_STREAM_BIAS ((3ULL << 40))
#define ESN_STREAM_ORTHO(i) ((4ULL << 40) + (uint64_t)(i))

enum { ESN_DIST_NORMAL, ESN_DIST_UNIFORM, ESN_DIST_BERNOULLI, ESN_DIST_ORTHO };

/* What esn__build_w needs to know. */
typedef struct {
  int64_t n;
  int64_t n_exc;     /* Dale: columns [0, n_exc) excitatory; n when off */
  double density;    /* (0, 1] */
  double rho;        /* target spectral radius >= 0 */
  int dist;          /* ESN_DIST_* */
  int dense;         /* storage */
  int dale;
} esn_wspec;

/* Builds W into *m (freed with esn__mat_free): each row i draws its
 * number of nonzeros ~ Binomial(n, density) and that many distinct
 * columns (sorted) and values from stream ESN_STREAM_W(i); with Dale's law
 * values are |v|, negated in inhibitory columns and scaled by
 * n_exc / (n - n_exc) so that the expected row sum is zero; then W is
 * rescaled to spectral radius `rho` (orthogonal: Q rho exactly).
 * *rho0 receives the radius before scaling (NaN for rho = 0, which skips
 * the estimate).  Errors name the parameter. */
int esn__build_w(lam_model_ctx *ctx, const esn_wspec *s, esn_mat *m,
                 double *rho0);
void esn__mat_free(esn_mat *m);
/* (Re)builds the step's copies of a CSR W (m->col16, and the sliced
 * copy for short rows) from col, val and split; call after any change to
 * them.  Returns LAM_OK or LAM_ENOMEM with the error set. */
int esn__mat_index16(lam_model_ctx *ctx, esn_mat *m);
/* Rebuilds the CSR `split` array for n_exc. */
void esn__mat_split(esn_mat *m, int64_t n_exc);
/* Replaces m's entries by the dense n x n row-major `w` (CSR: its
 * nonzeros).  Returns LAM_OK or LAM_ENOMEM (m unchanged). */
int esn__mat_set_dense(lam_model_ctx *ctx, esn_mat *m, const double *w,
                       int64_t n_exc);
/* Writes m as dense n x n row-major into w. */
void esn__mat_get_dense(const esn_mat *m, double *w);
/* The three arrays of an n-row CSR matrix with nnz entries, for
 * esn__mat_set_csr; LAM_ENOMEM (error set, all three NULL) on failure. */
int esn__csr_alloc(lam_model_ctx *ctx, int64_t n, int64_t nnz, int64_t **rp,
                   int32_t **col, double **val);
/* Replaces W by the CSR matrix (rowptr [n + 1], col [nnz] sorted within
 * each row, val [nnz]; validated by the caller).  Takes ownership of the
 * three arrays in every case (they are freed when dense storage copies
 * them or on failure).  Sparse storage adopts the pattern; n_exc as in
 * esn__mat_set_dense.  LAM_ENOMEM with nothing changed on failure. */
int esn__mat_set_csr(lam_model_ctx *ctx, esn_mat *m, int64_t *rowptr,
                     int32_t *col, double *val, int64_t nnz, int64_t n_exc);
