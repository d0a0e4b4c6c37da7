/*
 * akorn.c - kuramoto.akorn: Artificial Kuramoto Oscillatory Neurons
 * (Miyato, Loewe, Geiger, Welling, ICLR 2025), a clean-room implementation
 * of the discrete update of the authors' code (reference section 2.2).
 *
 * State: `batch` samples of M oscillators, each a unit vector x_i in
 * R^dim.  One model step:
 *   y_i   = (J x)_i + c_i                    (J: dense, sparse, conv or attn)
 *   E     = -sum_i <x_i, y_i>                (the code's score, pre-update)
 *   yp_i  = y_i - <y_i, x_i> x_i             (tangent projection)
 *   dx_i  = Omega_i x_i + yp_i               (Omega: (a, b) -> (w b, -w a)
 *                                             on consecutive pairs)
 *   x_i  <- (x_i + gamma dx_i) / |x_i + gamma dx_i|
 * With radial_term the Omega slot holds x itself (the repository's
 * use_omega = False behaviour), so the effective step is gamma/(1+gamma).
 * The paper's energy -1/2 sum x.Jx - sum c.x (conv bias counted with c) is
 * reported beside it.
 *
 * Layout: x[b, i, d] row-major.  For conv coupling the M oscillators sit on
 * a height x width grid, position-major: i = (row * width + col) * G + g
 * with G = M / (height * width) groups, and channel ch = g * dim + d; the
 * kernel is [C, C, k, k] (out, in, ky, kx) with C = G * dim, applied as a
 * cross-correlation with zero "same" padding, as PyTorch's conv2d.  For
 * attn coupling the height x width positions are the tokens, each holding
 * C = G * dim channels (akorn_attn.c); its output bias counts with c, as
 * the conv bias.
 */
#include <math.h>
#include <string.h>

#include "akorn_int.h"

const char kur__akorn_doc[] =
    "AKOrN vector oscillators: y = J x + c; x <- normalise(x + gamma (Omega x "
    "+ y - <y, x> x)).  J dense ([M*dim, M*dim], set_coupling), sparse CSR "
    "with scalar weights times I_dim (set_csr), a 2-d convolution over a "
    "height x width grid (set_conv, kernel [C, C, k, k] + bias) or "
    "multi-head softmax self-attention over the height x width tokens "
    "(set_attn, set_gta).  Omega "
    "rotates consecutive pairs (a, b) -> (omega b, -omega a); radial_term "
    "replaces Omega x by x (the reference code's use_omega = False).  Ports: "
    "x [batch, M, dim], stimulus c (input), energy [batch, 2] = (code score "
    "-sum <x, y>, paper energy -1/2 x.Jx - c.x) of the state before the "
    "step.  x starts as normalised N(0, I) draws; write x to start "
    "elsewhere.  readout(U[, bias]) gives |U_k x| + b_k.";

enum { P_BATCH, P_M, P_DIM, P_COUPLING, P_GAMMA, P_OMEGA, P_RADIAL, P_HEIGHT,
       P_WIDTH, P_HEADS, P_CONV_METHOD };
enum { PORT_X, PORT_C, PORT_E };
enum { J_DENSE, J_SPARSE, J_CONV, J_ATTN };

const lam_param_def kur__akorn_params[] = {
    {.name = "batch", .doc = "independent samples", .def = 1, .min = 1,
     .max = 1e6, .type = LAM_PARAM_I64},
    {.name = "oscillators", .doc = "oscillators M per sample", .def = 16,
     .min = 1, .max = 1e8, .type = LAM_PARAM_I64},
    {.name = "dim", .doc = "dimension n of each unit vector (even when omega "
                           "!= 0 without radial_term)",
     .def = 4, .min = 1, .max = 4096, .type = LAM_PARAM_I64},
    {.name = "coupling", .doc = "dense, sparse, conv or attn (zero until set)",
     .choices = "dense|sparse|conv|attn", .def = 0, .type = LAM_PARAM_ENUM},
    {.name = "gamma", .doc = "step size gamma", .def = 1, .min = 0,
     .max = KUR_BIG, .type = LAM_PARAM_F64, .flags = LAM_PARAM_MUTABLE},
    {.name = "omega", .doc = "global rotation frequency of every pair "
                             "(set_omega gives one per pair)",
     .def = 0, .min = -KUR_BIG, .max = KUR_BIG, .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "radial_term",
     .doc = "the Omega slot holds x (the authors' use_omega = False), "
            "effective step gamma/(1+gamma); omega is then ignored",
     .def = 0, .type = LAM_PARAM_BOOL},
    {.name = "height", .doc = "grid height (conv; attn: tokens = height x width)", .def = 1, .min = 1,
     .max = 1e5, .type = LAM_PARAM_I64},
    {.name = "width", .doc = "grid width (conv, attn)", .def = 1, .min = 1,
     .max = 1e5, .type = LAM_PARAM_I64},
    {.name = "heads", .doc = "attention heads (attn); must divide C", .def = 1,
     .min = 1, .max = 4096, .type = LAM_PARAM_I64},
    {.name = "conv_method",
     .doc = "conv algorithm: direct loop, dft (correlation theorem, several "
            "times fewer flops for C >> 1) or auto (dft when under half the "
            "flops); equal to rounding",
     .choices = "auto|direct|dft", .def = 0, .type = LAM_PARAM_ENUM},
    {.name = NULL}};

const lam_port_def kur__akorn_ports[] = {
    {.name = "x", .doc = "unit vectors x[b, i, :]",
     .shape = "batch,oscillators,dim", .dtype = LAM_F64,
     .dir = LAM_PORT_STATE},
    {.name = "stimulus", .doc = "conditional stimulus c[b, i, :]",
     .shape = "batch,oscillators,dim", .dtype = LAM_F64, .dir = LAM_PORT_IN},
    {.name = "energy",
     .doc = "per sample (code score -sum <x, y>, paper energy -1/2 x.Jx - "
            "c.x) before the last step",
     .shape = "batch,2", .dtype = LAM_F64, .dir = LAM_PORT_OUT},
    {.name = NULL}};

typedef struct {
  int64_t b, m, n, mn; /* batch, oscillators, dim, m * n */
  int cpl;
  double *j;           /* dense [mn, mn] or CSR weights or conv kernel */
  int64_t *rowptr;
  int32_t *col;
  int64_t nnz;
  int64_t ch;          /* channels per position C = G * dim (conv, attn) */
  int conv_method;     /* 0 auto, 1 direct, 2 dft */
  akorn_conv cv;       /* conv coupling */
  double *bias;        /* conv or attention output bias [C] */
  akorn_attn at;       /* attn coupling */
  double *wpair;       /* per-pair omega [m * n/2], or NULL */
  double *y, *jx;      /* [dim] and [b, mn] work */
  double *bt;          /* [mn]: the output bias at each channel, or zeros */
} akorn;

void kur__akorn_destroy(void *self, lam_model_ctx *ctx) {
  akorn *a = self;
  if (!a)
    return;
  void *owned[] = {a->j, a->rowptr, a->col, a->bias, a->wpair, a->y, a->jx, a->bt};
  for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
    kur__api->free(owned[i]);
  akorn__attn_free(&a->at);
  akorn__conv_free(&a->cv);
  kur__api->free(a);
}

int kur__akorn_create(lam_model_ctx *ctx, void **self) {
  const double *par = ctx->params;
  const int64_t b = (int64_t)par[P_BATCH], m = (int64_t)par[P_M],
                n = (int64_t)par[P_DIM];
  if (!kur__port(ctx, PORT_X, "x", b * m * n))
    return LAM_EINVAL;
  if (n % 2 && par[P_OMEGA] != 0 && !par[P_RADIAL]) {
    kur__api->set_error(ctx->host, "dim = %lld is odd: omega = %g rotates "
                                   "pairs of components and needs an even dim",
                        (long long)n, par[P_OMEGA]);
    return LAM_EINVAL;
  }
  const int64_t hw = (int64_t)par[P_HEIGHT] * (int64_t)par[P_WIDTH];
  const int cpl = (int)par[P_COUPLING];
  if ((cpl == J_CONV || cpl == J_ATTN) && m % hw) {
    kur__api->set_error(ctx->host, "coupling = %s: oscillators = %lld is "
                                   "not a multiple of height x width = %lld",
                        cpl == J_CONV ? "conv" : "attn", (long long)m, (long long)hw);
    return LAM_EINVAL;
  }
  const int64_t heads = (int64_t)par[P_HEADS];
  if (cpl == J_ATTN && ((m / hw) * n) % heads) {
    kur__api->set_error(ctx->host, "coupling = attn: heads = %lld does not "
                                   "divide the channels per token C = %lld",
                        (long long)heads, (long long)((m / hw) * n));
    return LAM_EINVAL;
  }
  akorn *a = kur__alloc(ctx, 1, sizeof *a);
  if (!a)
    return LAM_ENOMEM;
  a->b = b, a->m = m, a->n = n, a->mn = m * n;
  a->cpl = (int)par[P_COUPLING];
  a->ch = (m / hw) * n;
  a->conv_method = (int)par[P_CONV_METHOD];
  a->cv = (akorn_conv){.H = (int64_t)par[P_HEIGHT], .W = (int64_t)par[P_WIDTH],
                       .C = a->ch, .batch = b};
  a->at = (akorn_attn){.L = hw, .C = a->ch, .heads = heads,
                       .hd = a->ch / heads, .batch = b};
  a->y = kur__alloc(ctx, n, sizeof *a->y); /* one oscillator's y */
  a->jx = a->y ? kur__alloc(ctx, b * a->mn, sizeof *a->jx) : NULL;
  a->bt = a->jx ? kur__alloc(ctx, a->mn, sizeof *a->bt) : NULL;
  int rc = a->bt ? kur__akorn_reset(a, ctx) : LAM_ENOMEM;
  if (rc) {
    kur__akorn_destroy(a, ctx);
    return rc;
  }
  *self = a;
  return LAM_OK;
}

static void normalise(double *v, int64_t n) {
  double s = 0;
  for (int64_t d = 0; d < n; d++)
    s += v[d] * v[d];
  s = sqrt(s);
  if (s > 0)
    for (int64_t d = 0; d < n; d++)
      v[d] /= s;
}

int kur__akorn_reset(void *self, lam_model_ctx *ctx) {
  akorn *a = self;
  const int64_t tot = a->b * a->mn;
  double *x = kur__port(ctx, PORT_X, "x", tot);
  double *e = x ? kur__port(ctx, PORT_E, "energy", 2 * a->b) : NULL;
  if (!e)
    return LAM_EINVAL;
  /* x0 ~ N(0, I) normalised, as the reference code; a script starts
   * elsewhere by writing the state port x. */
  lam_rng r;
  kur__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT, 0);
  for (int64_t o = 0; o < a->b * a->m; o++) {
    double *v = x + o * a->n;
    for (int64_t d = 0; d < a->n; d++)
      v[d] = kur__api->rng_normal(&r);
    normalise(v, a->n);
  }
  memset(e, 0, (size_t)(2 * a->b) * sizeof *e);
  return LAM_OK;
}

/* jx = J x (without the conv or attention output bias) for every sample;
 * 0 while no coupling is set. */
static void apply_j(akorn *a, const double *x) {
  const int64_t mn = a->mn, tot = a->b * mn;
  if (a->cpl == J_ATTN && a->at.w) {
    akorn__attn_apply(&a->at, x, a->jx);
    return;
  }
  if (a->cpl == J_CONV && a->cv.ker) {
    akorn__conv_apply(&a->cv, x, a->jx);
    return;
  }
  memset(a->jx, 0, (size_t)tot * sizeof *a->jx);
  if (!a->j) /* dense or sparse J not set, or conv/attn not set */
    return;
  if (a->cpl == J_DENSE) { /* JX^T: [b, mn] = [b, mn] [mn, mn]^T */
    kur__api->dgemm(0, 1, a->b, mn, mn, 1.0, x, mn, a->j, mn, 0.0, a->jx, mn);
    return;
  }
  if (a->cpl == J_SPARSE)
    for (int64_t s = 0; s < a->b; s++)
      for (int64_t i = 0; i < a->m; i++) {
        double *out = a->jx + s * mn + i * a->n;
        for (int64_t e = a->rowptr[i]; e < a->rowptr[i + 1]; e++) {
          const double *src = x + s * mn + (int64_t)a->col[e] * a->n;
          for (int64_t d = 0; d < a->n; d++)
            out[d] += a->j[e] * src[d];
        }
      }
}

/* The per-oscillator part of a step, for one sample: y = jx + c + bias,
 * the energies' sums, the tangent projection, the Omega (or radial) term,
 * the step and the renormalisation, in one pass over blocks of
 * oscillators.  The energy terms go to per-oscillator slots summed after
 * each block in a fixed order, so no reduction runs across oscillators
 * and the loops vectorise (dim 4 is written out with scalars; vector
 * square roots and divisions need no-math-errno: the argument is >= 0). */
enum { UPD_BLOCK = 64 };
enum { ROT_NONE, ROT_GLOBAL, ROT_PAIR, ROT_RADIAL };
typedef struct {
  double gamma, omega;
  const double *wpair; /* [m * dim/2] or NULL */
  const double *bt;    /* [m * dim]: the bias at each channel, or zeros */
  int64_t m, n;
  int mode;            /* ROT_* */
} akorn_upd;

static inline __attribute__((always_inline)) void
upd4_block(const akorn_upd *u, int mode, int64_t nb, double *restrict x,
           const double *restrict jx, const double *restrict c,
           const double *restrict bt, const double *restrict wp,
           double *restrict pj, double *restrict pc, double *restrict sq) {
  const double g = u->gamma, om = u->omega;
  for (int64_t i = 0; i < nb; i++) {
    double *xi = x + 4 * i;
    const double *ji = jx + 4 * i, *ci = c + 4 * i, *bi = bt + 4 * i;
    const double x0 = xi[0], x1 = xi[1], x2 = xi[2], x3 = xi[3];
    const double c0 = ci[0] + bi[0], c1 = ci[1] + bi[1], c2 = ci[2] + bi[2],
                 c3 = ci[3] + bi[3];
    const double y0 = ji[0] + c0, y1 = ji[1] + c1, y2 = ji[2] + c2, y3 = ji[3] + c3;
    pj[i] = ((x0 * ji[0] + x1 * ji[1]) + x2 * ji[2]) + x3 * ji[3];
    pc[i] = ((x0 * c0 + x1 * c1) + x2 * c2) + x3 * c3;
    const double xy = ((x0 * y0 + x1 * y1) + x2 * y2) + x3 * y3;
    double d0 = y0 - xy * x0, d1 = y1 - xy * x1, d2 = y2 - xy * x2, d3 = y3 - xy * x3;
    if (mode == ROT_RADIAL) {
      d0 += x0, d1 += x1, d2 += x2, d3 += x3;
    } else if (mode != ROT_NONE) {
      const double w0 = mode == ROT_PAIR ? wp[2 * i] : om;
      const double w1 = mode == ROT_PAIR ? wp[2 * i + 1] : om;
      d0 += w0 * x1, d1 -= w0 * x0, d2 += w1 * x3, d3 -= w1 * x2;
    }
    const double n0 = x0 + g * d0, n1 = x1 + g * d1, n2 = x2 + g * d2, n3 = x3 + g * d3;
    sq[i] = ((n0 * n0 + n1 * n1) + n2 * n2) + n3 * n3;
    xi[0] = n0, xi[1] = n1, xi[2] = n2, xi[3] = n3;
  }
}

/* sq[q] <- 1 / |x_q| (1 for x_q = 0) and x_q scaled by it, q < nb.  A
 * separate pass: its vector square roots and divisions need
 * no-math-errno (the arguments are >= 0, errno is never set anyway), and
 * the select comes before the division so that it needs no masking. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("no-math-errno"))) KUR_VEC
#endif
static void renorm(double *restrict x, double *restrict sq, int64_t nb, int64_t n) {
  for (int64_t q = 0; q < nb; q++)
    sq[q] = 1.0 / sqrt(sq[q] > 0 ? sq[q] : 1.0);
  if (n == 4)
    for (int64_t q = 0; q < nb; q++)
      for (int d = 0; d < 4; d++)
        x[4 * q + d] *= sq[q];
  else
    for (int64_t q = 0; q < nb; q++)
      for (int64_t d = 0; d < n; d++)
        x[q * n + d] *= sq[q];
}

/* Any dim: the same per oscillator, one oscillator at a time (y in yw). */
static inline __attribute__((always_inline)) void
updn_block(const akorn_upd *u, int64_t i0, int64_t nb, double *restrict x,
           const double *restrict jx, const double *restrict c,
           const double *restrict bt, double *restrict yw,
           double *restrict pj, double *restrict pc, double *restrict sq) {
  const int64_t n = u->n;
  for (int64_t q = 0; q < nb; q++) {
    double *xi = x + q * n;
    const double *ji = jx + q * n, *ci = c + q * n, *bi = bt + q * n;
    double xy = 0, ej = 0, ec = 0, ss = 0;
    for (int64_t d = 0; d < n; d++) {
      const double cb = ci[d] + bi[d];
      yw[d] = ji[d] + cb;
      ej += xi[d] * ji[d];
      ec += xi[d] * cb;
      xy += xi[d] * yw[d];
    }
    pj[q] = ej, pc[q] = ec;
    for (int64_t d = 0; d < n; d++) /* tangent projection */
      yw[d] -= xy * xi[d];
    if (u->mode == ROT_RADIAL) {
      for (int64_t d = 0; d < n; d++)
        yw[d] += xi[d];
    } else if (u->mode != ROT_NONE) {
      for (int64_t d = 0; d + 1 < n; d += 2) {
        const double w = u->wpair ? u->wpair[((i0 + q) * n + d) / 2] : u->omega;
        yw[d] += w * xi[d + 1];
        yw[d + 1] -= w * xi[d];
      }
    }
    for (int64_t d = 0; d < n; d++) {
      xi[d] += u->gamma * yw[d];
      ss += xi[d] * xi[d];
    }
    sq[q] = ss;
  }
}

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default"))) KUR_VEC
#endif
static void update(const akorn_upd *u, double *x, const double *jx,
                   const double *c, double *yw, double *ejp, double *ecp) {
  double ej = 0, ec = 0, pj[UPD_BLOCK], pc[UPD_BLOCK], sq[UPD_BLOCK];
  const int64_t n = u->n;
  for (int64_t i0 = 0; i0 < u->m; i0 += UPD_BLOCK) {
    const int64_t nb = u->m - i0 < UPD_BLOCK ? u->m - i0 : UPD_BLOCK, o = i0 * n;
    const double *wp = u->wpair ? u->wpair + o / 2 : NULL;
    if (n != 4)
      updn_block(u, i0, nb, x + o, jx + o, c + o, u->bt + o, yw, pj, pc, sq);
    else if (u->mode == ROT_NONE)
      upd4_block(u, ROT_NONE, nb, x + o, jx + o, c + o, u->bt + o, wp, pj, pc, sq);
    else if (u->mode == ROT_GLOBAL)
      upd4_block(u, ROT_GLOBAL, nb, x + o, jx + o, c + o, u->bt + o, wp, pj, pc, sq);
    else if (u->mode == ROT_PAIR)
      upd4_block(u, ROT_PAIR, nb, x + o, jx + o, c + o, u->bt + o, wp, pj, pc, sq);
    else
      upd4_block(u, ROT_RADIAL, nb, x + o, jx + o, c + o, u->bt + o, wp, pj, pc, sq);
    renorm(x + o, sq, nb, n);
    for (int64_t q = 0; q < nb; q++)
      ej += pj[q], ec += pc[q];
  }
  *ejp = ej, *ecp = ec;
}

int kur__akorn_step(void *self, lam_model_ctx *ctx, int64_t nsteps) {
  akorn *a = self;
  const int64_t tot = a->b * a->mn, n = a->n;
  double *x = kur__port(ctx, PORT_X, "x", tot);
  const double *c = x ? kur__port(ctx, PORT_C, "stimulus", tot) : NULL;
  double *en = c ? kur__port(ctx, PORT_E, "energy", 2 * a->b) : NULL;
  if (!en)
    return LAM_EINVAL;
  const double gamma = ctx->params[P_GAMMA], omega = ctx->params[P_OMEGA];
  const int radial = ctx->params[P_RADIAL] != 0;
  if (!radial && n % 2 && omega != 0) {
    kur__api->set_error(ctx->host, "omega = %g needs an even dim", omega);
    return LAM_EINVAL;
  }
  const akorn_upd u = {.gamma = gamma, .omega = omega, .wpair = a->wpair,
                       .bt = a->bt, .m = a->m, .n = n,
                       .mode = radial ? ROT_RADIAL
                               : a->wpair ? ROT_PAIR
                               : omega != 0 ? ROT_GLOBAL : ROT_NONE};
  for (int64_t t = 0; t < nsteps; t++) {
    apply_j(a, x);
    for (int64_t s = 0; s < a->b; s++) {
      const int64_t o = s * a->mn;
      double ej, ec;
      update(&u, x + o, a->jx + o, c + o, a->y, &ej, &ec);
      en[2 * s] = -(ej + ec);
      en[2 * s + 1] = -0.5 * ej - ec;
    }
  }
  return LAM_OK;
}

/* Checkpoint: the state is x (the coupling is configuration). */
int kur__akorn_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  akorn *a = self;
  const int64_t tot = a->b * a->mn;
  const double *x = kur__port(ctx, PORT_X, "x", tot);
  const double *e = x ? kur__port(ctx, PORT_E, "energy", 2 * a->b) : NULL;
  if (!e)
    return LAM_EINVAL;
  size_t nb = (size_t)tot * sizeof *x, eb = (size_t)(2 * a->b) * sizeof *e;
  unsigned char *w = kur__state_new(ctx, KUR_TAG_AKORN, tot, nb + eb, out);
  if (!w)
    return LAM_ENOMEM;
  kur__put(kur__put(w, x, nb), e, eb);
  return LAM_OK;
}

int kur__akorn_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  akorn *a = self;
  const int64_t tot = a->b * a->mn;
  size_t nb = (size_t)tot * sizeof(double), eb = (size_t)(2 * a->b) * sizeof(double);
  const unsigned char *r = kur__state_open(ctx, KUR_TAG_AKORN, tot, in, nb + eb);
  double *x = r ? kur__port(ctx, PORT_X, "x", tot) : NULL;
  double *e = x ? kur__port(ctx, PORT_E, "energy", 2 * a->b) : NULL;
  if (!e)
    return LAM_EINVAL;
  kur__get(e, kur__get(x, r, nb), eb);
  return LAM_OK;
}

/* ---------------------------------------------------------------- */
/* Methods                                                            */
/* ---------------------------------------------------------------- */

#define ERR(...) (kur__api->set_error(ctx->host, __VA_ARGS__), LAM_EINVAL)

/* A coupling method's checks: between lo and hi arguments, and the model's
 * coupling is the one the method sets. */
static int method_for(akorn *a, lam_model_ctx *ctx, const char *method,
                      int32_t n_in, int32_t lo, int32_t hi, int cpl) {
  static const char *names[] = {"dense", "sparse", "conv", "attn"};
  int rc = kur__nargs(ctx, method, n_in, lo, hi);
  if (!rc && a->cpl != cpl)
    rc = ERR("%s: needs coupling = %s", method, names[cpl]);
  return rc;
}

/* The conv or attention output bias [ch] (owned; NULL for none), tiled
 * over the positions for the update. */
static void set_bias(akorn *a, double *bias) {
  kur__api->free(a->bias);
  a->bias = bias;
  for (int64_t e = 0; e < a->mn; e++)
    a->bt[e] = bias ? bias[e % a->ch] : 0.0;
}

static int set_coupling(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                        int32_t n_in, lam_buf **out) {
  akorn *a = self;
  int rc = method_for(a, ctx, "set_coupling", n_in, 1, 1, J_DENSE);
  if (rc)
    return rc;
  if ((rc = kur__arg(ctx, "set_coupling", "J", in[0], 2, a->mn, a->mn)))
    return rc;
  double *j = kur__finite(ctx, "set_coupling", "J", in[0], a->mn * a->mn, a->mn);
  if (!j)
    return LAM_EINVAL;
  kur__api->free(a->j);
  a->j = j;
  return LAM_OK;
}

static int set_csr(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                   int32_t n_in, lam_buf **out) {
  akorn *a = self;
  if (a->cpl != J_SPARSE)
    return ERR("set_csr: needs coupling = sparse");
  kur_csr m;
  int rc = kur__csr(ctx, "set_csr", in, n_in, a->m, a->m, &m);
  if (rc)
    return rc;
  kur__api->free(a->rowptr);
  kur__api->free(a->col);
  kur__api->free(a->j);
  a->rowptr = m.rowptr, a->col = m.col, a->j = m.w, a->nnz = m.nnz;
  return LAM_OK;
}

static int set_conv(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                    int32_t n_in, lam_buf **out) {
  akorn *a = self;
  int rc = method_for(a, ctx, "set_conv", n_in, 1, 2, J_CONV);
  if (rc)
    return rc;
  const lam_buf *k = in[0];
  if (k->ndim != 4 || k->shape[0] != a->ch || k->shape[1] != a->ch ||
      k->shape[2] != k->shape[3] || k->shape[2] % 2 == 0)
    return ERR("set_conv: kernel must be [C, C, k, k] with C = %lld and odd k",
               (long long)a->ch);
  if (n_in == 2 && (rc = kur__arg(ctx, "set_conv", "bias", in[1], 1, a->ch, 0)))
    return rc;
  double *w = kur__finite(ctx, "set_conv", "kernel", k, k->size, 0);
  double *bias = w && n_in == 2 ? kur__finite(ctx, "set_conv", "bias", in[1], a->ch, 0) : NULL;
  if (!w || (n_in == 2 && !bias)) {
    kur__api->free(w);
    return LAM_EINVAL;
  }
  akorn_conv *cv = &a->cv;
  double *old = cv->ker;
  cv->ker = w, cv->k = k->shape[2];
  const int dft = a->conv_method == 2 ||
                  (a->conv_method == 0 && akorn__conv_dft_better(cv->H, cv->W, cv->C, cv->k));
  if (dft && (rc = akorn__conv_prepare(cv, ctx))) {
    cv->ker = old, cv->k = old ? cv->k : 0;
    kur__api->free(w);
    kur__api->free(bias);
    return ERR("set_conv: out of memory for the DFT tables");
  }
  if (!dft) { /* the direct loop: drop the tables of an earlier kernel */
    kur__api->free(cv->kf);
    cv->kf = NULL;
  }
  kur__api->free(old);
  set_bias(a, bias);
  return LAM_OK;
}

/* set_attn(Wq, Wk, Wv, Wo[, bq, bk, bv, bo]): [C, C] projections (row =
 * output channel, as a 1x1 conv's weight) and [C] biases (zero when
 * omitted).  Everything is checked before anything is replaced. */
static int set_attn(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                    int32_t n_in, lam_buf **out) {
  akorn *a = self;
  akorn_attn *t = &a->at;
  int rc = method_for(a, ctx, "set_attn", n_in, 4, 8, J_ATTN);
  if (rc)
    return rc;
  if (n_in != 4 && n_in != 8)
    return ERR("set_attn: takes Wq, Wk, Wv, Wo and optionally all four "
               "biases bq, bk, bv, bo (4 or 8 arguments), got %d", (int)n_in);
  static const char *names[] = {"Wq", "Wk", "Wv", "Wo", "bq", "bk", "bv", "bo"};
  const int64_t C = t->C;
  for (int32_t i = 0; i < n_in; i++)
    if ((rc = kur__arg(ctx, "set_attn", names[i], in[i], i < 4 ? 2 : 1, C, C)))
      return rc;
  double *part[8] = {NULL};
  int bad = 0;
  for (int32_t i = 0; i < n_in && !bad; i++)
    bad = !(part[i] = kur__finite(ctx, "set_attn", names[i], in[i],
                                  i < 4 ? C * C : C, i < 4 ? C : 0));
  double *w = bad ? NULL : kur__alloc(ctx, 3 * C * C, sizeof *w);
  double *bq = w ? kur__alloc(ctx, 3 * C, sizeof *bq) : NULL;
  if (bq && !t->qkv) {
    t->qkv = kur__alloc(ctx, t->batch * t->L * 3 * C, sizeof *t->qkv);
    t->o = t->qkv ? kur__alloc(ctx, t->batch * t->L * C, sizeof *t->o) : NULL;
    t->s = t->o ? kur__alloc(ctx, t->L * t->L, sizeof *t->s) : NULL;
    t->z = t->s ? kur__alloc(ctx, t->L, sizeof *t->z) : NULL;
  }
  if (!bq || !t->z) {
    for (int i = 0; i < 8; i++)
      kur__api->free(part[i]);
    kur__api->free(w);
    kur__api->free(bq);
    return bad ? LAM_EINVAL : LAM_ENOMEM;
  }
  for (int i = 0; i < 3; i++) {
    memcpy(w + i * C * C, part[i], (size_t)(C * C) * sizeof *w);
    if (part[4 + i])
      memcpy(bq + i * C, part[4 + i], (size_t)C * sizeof *bq);
    kur__api->free(part[i]);
    kur__api->free(part[4 + i]);
  }
  kur__api->free(t->w);
  kur__api->free(t->b);
  kur__api->free(t->wo);
  t->w = w, t->b = bq, t->wo = part[3];
  set_bias(a, part[7]);
  return LAM_OK;
}

/* set_gta(theta[L, C/2]): GTA angles per token and channel pair. */
static int set_gta(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                   int32_t n_in, lam_buf **out) {
  akorn *a = self;
  akorn_attn *t = &a->at;
  int rc = method_for(a, ctx, "set_gta", n_in, 1, 1, J_ATTN);
  if (rc)
    return rc;
  if (t->C % 2)
    return ERR("set_gta: C = %lld channels per token is odd; GTA rotates "
               "channel pairs", (long long)t->C);
  const int64_t np = t->C / 2;
  const lam_buf *th = in[0];
  if (th->ndim != 2 || th->shape[0] != t->L || th->shape[1] != np ||
      th->dtype < LAM_F32 || th->dtype > LAM_I64)
    return ERR("set_gta: theta must be a numeric [L, C/2] = [%lld, %lld] "
               "buffer (tokens x channel pairs)", (long long)t->L, (long long)np);
  double *c = kur__finite(ctx, "set_gta", "theta", th, t->L * np, np);
  double *s = c ? kur__alloc(ctx, t->L * np, sizeof *s) : NULL;
  if (!s) {
    kur__api->free(c);
    return c ? LAM_ENOMEM : LAM_EINVAL;
  }
  for (int64_t e = 0; e < t->L * np; e++)
    s[e] = sin(c[e]), c[e] = cos(c[e]);
  kur__api->free(t->gc);
  kur__api->free(t->gs);
  t->gc = c, t->gs = s;
  return LAM_OK;
}

static int set_omega(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                     int32_t n_in, lam_buf **out) {
  akorn *a = self;
  int rc = kur__nargs(ctx, "set_omega", n_in, 1, 1);
  if (rc)
    return rc;
  if (a->n % 2)
    return ERR("set_omega: dim = %lld is odd; rotations need pairs", (long long)a->n);
  if ((rc = kur__arg(ctx, "set_omega", "omega", in[0], 2, a->m, a->n / 2)))
    return rc;
  double *w = kur__finite(ctx, "set_omega", "omega", in[0], a->m * a->n / 2, a->n / 2);
  if (!w)
    return LAM_EINVAL;
  kur__api->free(a->wpair);
  a->wpair = w;
  return LAM_OK;
}

/* readout(U[K, r, M*dim], bias[K]?): out[b, k] = |U_k x_b| + bias_k. */
static int readout(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                   int32_t n_in, lam_buf **out) {
  akorn *a = self;
  int rc = kur__nargs(ctx, "readout", n_in, 1, 2);
  if (rc)
    return rc;
  const lam_buf *u = in[0];
  if (u->ndim != 3 || u->shape[2] != a->mn || u->dtype < LAM_F32 || u->dtype > LAM_I64)
    return ERR("readout: U must be a numeric [K, r, %lld] buffer", (long long)a->mn);
  const int64_t kk = u->shape[0], rr = u->shape[1];
  if (n_in == 2 && (rc = kur__arg(ctx, "readout", "bias", in[1], 1, kk, 0)))
    return rc;
  const double *x = kur__port(ctx, PORT_X, "x", a->b * a->mn);
  if (!x)
    return LAM_EINVAL;
  int64_t shape[2] = {a->b, kk};
  lam_buf *o = kur__api->buf_new(LAM_F64, 2, shape);
  if (!o)
    return ERR("readout: out of memory");
  double *od = o->data;
  for (int64_t s = 0; s < a->b; s++)
    for (int64_t k = 0; k < kk; k++) {
      double sq = 0;
      for (int64_t q = 0; q < rr; q++) {
        double acc = 0;
        for (int64_t e = 0; e < a->mn; e++)
          acc += kur__at(u, (k * rr + q) * a->mn + e) * x[s * a->mn + e];
        sq += acc * acc;
      }
      od[s * kk + k] = sqrt(sq) + (n_in == 2 ? kur__at(in[1], k) : 0.0);
    }
  *out = o;
  return LAM_OK;
}

/* field(): [batch, M, dim] of J x + bias for the current x (the coupling
 * term of y without the stimulus), e.g. to inspect the attention. */
static int field(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                 int32_t n_in, lam_buf **out) {
  akorn *a = self;
  int rc = kur__nargs(ctx, "field", n_in, 0, 0);
  if (rc)
    return rc;
  const double *x = kur__port(ctx, PORT_X, "x", a->b * a->mn);
  if (!x)
    return LAM_EINVAL;
  int64_t shape[3] = {a->b, a->m, a->n};
  lam_buf *o = kur__api->buf_new(LAM_F64, 3, shape);
  if (!o)
    return ERR("field: out of memory");
  apply_j(a, x);
  double *od = o->data;
  for (int64_t e = 0; e < a->b * a->mn; e++)
    od[e] = a->jx[e] + a->bt[e % a->mn];
  *out = o;
  return LAM_OK;
}

const lam_method_def kur__akorn_methods[] = {
    {.name = "set_coupling",
     .doc = "set_coupling(J[M*dim, M*dim]): dense coupling, row = target",
     .fn = set_coupling},
    {.name = "set_csr",
     .doc = "set_csr(indptr[M+1], indices[nnz], weights[nnz]?): J_ij = w_ij "
            "I_dim, row = target (unit weights when omitted)",
     .fn = set_csr},
    {.name = "set_conv",
     .doc = "set_conv(kernel[C, C, k, k], bias[C]?): 2-d convolution, C = "
            "dim * oscillators / (height * width)",
     .fn = set_conv},
    {.name = "set_attn",
     .doc = "set_attn(Wq, Wk, Wv, Wo [C, C], bq, bk, bv, bo [C]?): attention "
            "coupling over height x width tokens of C = dim * oscillators / "
            "(height * width) channels",
     .fn = set_attn},
    {.name = "set_gta",
     .doc = "set_gta(theta[L, C/2]): GTA rotation angles per token and "
            "channel pair (q, k, v rotated by theta, the output back)",
     .fn = set_gta},
    {.name = "set_omega",
     .doc = "set_omega(omega[M, dim/2]): one rotation frequency per pair",
     .fn = set_omega},
    {.name = "field",
     .doc = "field(): [batch, M, dim] of J x + bias for the current x",
     .fn = field},
    {.name = "readout",
     .doc = "readout(U[K, r, M*dim], bias[K]?): [batch, K] of |U_k x| + b_k",
     .fn = readout},
    {.name = NULL}};
