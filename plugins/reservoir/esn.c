/*
 * esn.c - reservoir.esn: a leaky-integrator echo-state network (rate
 * reservoir), optionally several instances sharing one W stepped together.
 *
 *   r   = W_E x + ei_ratio g (W_I x) + s_in W_in u + s_b b + s_fb W_fb y_fb
 *         + noise xi
 *   z   = f(r)                      (with intrinsic plasticity: f(a r + h))
 *   x  <- (1 - leak) x + leak z
 *   y   = W_out x + b_out           (once a readout is set)
 *
 * Without Dale's law W_E x is the whole product W x and the I part is
 * absent.  With Dale's law the first round(exc_fraction units) columns of W
 * are excitatory (>= 0) and the rest inhibitory (<= 0); ei_ratio scales all
 * inhibition (1 = balanced in expectation, < 1 excitation-dominated, > 1
 * over-inhibited) and g (one gain per unit and instance, starting at 1)
 * adapts locally toward per-unit target rates (homeostasis.md §2.3):
 *
 *   g_i <- max(0, g_i + adapt_rate (x_i - target_i))
 *
 * so that an over-active unit receives more inhibition.  Intrinsic
 * plasticity (after each step, per unit and instance, learning rate
 * ip_rate): Triesch 2005 for the sigmoid with an exponential target of
 * mean mu,
 *   dh = eta (1 - (2 + 1/mu) z + z^2/mu),  da = eta/a + r dh;
 * Schrauwen et al. 2008 for tanh with a Gaussian target (mu, sigma),
 *   dh = -eta (-mu/sigma^2 + z/sigma^2 (2 sigma^2 + 1 - z^2 + mu z)),
 *   da = eta/a + r dh.
 *
 * Precision: with precision = f32 the recurrent matrix is stored and
 * multiplied in float32 (the product is the memory-bound part); inputs,
 * the activation and the state stay float64.
 *
 * Batching: the ports carry `batch` instances (rows).  The recurrent
 * product of all instances is one GEMM (dense) or one pass over the CSR
 * rows applied to every instance (sparse), instead of `batch` GEMVs.
 */
#include <math.h>
#include <string.h>

#include "esn_int.h"

enum {
  P_UNITS, P_INPUTS, P_OUTPUTS, P_BATCH, P_LEAK, P_RHO, P_DENSITY, P_WEIGHTS,
  P_STORAGE, P_IN_SCALE, P_IN_DENSITY, P_IN_DIST, P_BIAS, P_FB, P_ACT,
  P_PREC, P_DALE, P_EXC, P_EI, P_ADAPT, P_TARGET, P_IP, P_IP_RATE, P_IP_MEAN,
  P_IP_STD, P_CLOSED, P_TEACHER, P_NOISE
};
enum { PORT_U, PORT_X, PORT_Y, PORT_FB, PORT_G, PORT_TARGET, PORT_IPA,
       PORT_IPB };
enum { ACT_TANH, ACT_SIGMOID, ACT_RELU, ACT_IDENTITY };
enum { IP_OFF, IP_GAUSSIAN, IP_EXPONENTIAL };

#define BIG 1e12
#define F64(nm, dc, df, lo, hi, fl)                                            \
  {.name = nm, .doc = dc, .units = "", .def = df, .min = lo, .max = hi,        \
   .type = LAM_PARAM_F64, .flags = fl}
#define I64(nm, dc, df, lo, hi)                                                \
  {.name = nm, .doc = dc, .units = "", .def = df, .min = lo, .max = hi,        \
   .type = LAM_PARAM_I64}
#define ENUM(nm, dc, ch)                                                       \
  {.name = nm, .doc = dc, .units = "", .choices = ch, .type = LAM_PARAM_ENUM}
#define BOOL(nm, dc, fl)                                                       \
  {.name = nm, .doc = dc, .units = "", .type = LAM_PARAM_BOOL, .flags = fl}
#define MUT LAM_PARAM_MUTABLE

static const lam_param_def params[] = {
    I64("units", "number of reservoir units N", 100, 1, 1e6),
    I64("inputs", "input dimension (columns of W_in)", 1, 1, 1e5),
    I64("outputs", "readout dimension (rows of W_out, columns of W_fb)", 1, 1,
        1e5),
    I64("batch", "independent instances sharing W, stepped together", 1, 1,
        1e6),
    F64("leak", "leak rate a in x <- (1-a) x + a f(r), in [0, 1]", 1, 0, 1,
        MUT),
    F64("spectral_radius", "W is rescaled to this spectral radius (>= 0)", 1,
        0, 1e6, 0),
    F64("density", "fraction of nonzero recurrent weights, in (0, 1]", 0.1,
        0, 1, 0),
    ENUM("weights", "distribution of the nonzero recurrent weights: normal, "
         "uniform on [-1, 1], bernoulli (+-1), orthogonal (dense Q, "
         "density 1)", "normal|uniform|bernoulli|orthogonal"),
    ENUM("storage", "recurrent matrix storage: auto (CSR when density <= 0.3), "
         "dense, sparse (CSR, sorted columns)",
         "auto|dense|sparse"),
    F64("input_scaling", "s_in, multiplies W_in", 1, 0, BIG, MUT),
    F64("input_density", "fraction of nonzero input weights, in (0, 1]", 1, 0,
        1, 0),
    ENUM("input_weights", "distribution of W_in: uniform on [-1, 1], "
         "bernoulli (+-1), normal", "uniform|bernoulli|normal"),
    F64("bias_scaling", "s_b, multiplies the bias b ~ U[-1, 1]", 0, 0, BIG,
        MUT),
    F64("feedback_scaling", "s_fb, multiplies W_fb ~ U[-1, 1] (0: no "
        "feedback)", 0, 0, BIG, MUT),
    ENUM("activation", "f: tanh, sigmoid 1/(1+e^-r), relu max(0, r), "
         "identity (linear reservoir)", "tanh|sigmoid|relu|identity"),
    ENUM("precision", "storage and arithmetic of the recurrent product",
         "f64|f32"),
    BOOL("dale", "Dale's law: excitatory columns >= 0, inhibitory <= 0", 0),
    F64("exc_fraction", "fraction of excitatory units with dale", 0.8, 0, 1,
        0),
    F64("ei_ratio", "global inhibition multiplier with dale (1 balanced)", 1,
        0, BIG, MUT),
    F64("adapt_rate", "learning rate of the local inhibitory gains g toward "
        "the target rates (0: off); needs dale", 0, 0, BIG, MUT),
    F64("target_rate", "initial value of the per-unit target port", 0.1, -BIG,
        BIG, 0),
    ENUM("ip", "intrinsic plasticity: off, gaussian (tanh, Schrauwen 2008), "
         "exponential (sigmoid, Triesch 2005)", "off|gaussian|exponential"),
    F64("ip_rate", "intrinsic plasticity learning rate", 5e-4, 0, BIG, MUT),
    F64("ip_mean", "target mean mu of the IP output distribution "
        "(exponential: > 0)", 0, -BIG, BIG, 0),
    F64("ip_std", "target standard deviation sigma (gaussian IP, > 0)", 1,
        1e-12, BIG, 0),
    BOOL("closed_loop", "generative mode: the input u is the previous "
         "output y (needs inputs == outputs and a readout)", MUT),
    BOOL("teacher", "feedback from the fb port (teacher forcing) instead of "
         "the model's own y", MUT),
    F64("noise", "standard deviation of Gaussian noise added to r", 0, 0, BIG,
        MUT),
    {.name = NULL}};

static const lam_port_def ports[] = {
    {.name = "u", .doc = "input", .units = "", .shape = "batch,inputs",
     .dtype = LAM_F64, .dir = LAM_PORT_IN},
    {.name = "x", .doc = "reservoir state", .units = "",
     .shape = "batch,units", .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "y", .doc = "readout output W_out x + b_out (0 until "
     "set_readout)", .units = "", .shape = "batch,outputs", .dtype = LAM_F64,
     .dir = LAM_PORT_OUT},
    {.name = "fb", .doc = "teacher signal for the feedback when teacher = "
     "true (the target of the previous step)", .units = "",
     .shape = "batch,outputs", .dtype = LAM_F64, .dir = LAM_PORT_IN},
    {.name = "g", .doc = "local inhibitory gains (dale), start at 1",
     .units = "", .shape = "batch,units", .dtype = LAM_F64,
     .dir = LAM_PORT_STATE},
    {.name = "target", .doc = "per-unit target rates of the E/I adaptation "
     "(write it for heterogeneous targets)", .units = "",
     .shape = "batch,units", .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "ip_gain", .doc = "intrinsic plasticity gains a (start at 1)",
     .units = "", .shape = "batch,units", .dtype = LAM_F64,
     .dir = LAM_PORT_STATE},
    {.name = "ip_bias", .doc = "intrinsic plasticity offsets h (start at 0)",
     .units = "", .shape = "batch,units", .dtype = LAM_F64,
     .dir = LAM_PORT_STATE},
    {.name = NULL}};

typedef struct {
  int64_t n, nin, nout, nb, nexc;
  int act, f32, dale, ip;
  esn_mat w;            /* f64 master */
  float *wf;            /* f32 copy: dense n*n or CSR values */
  double *win;          /* n x nin */
  double *wfb;          /* n x nout */
  double *bias;         /* n */
  double *wout;         /* nout x n */
  double *bout;         /* nout */
  int have_out;
  double *ae, *ai;      /* nb x n products */
  double *xt;           /* CSR batch: x transposed (n x nb) */
  float *xf, *pf;       /* f32 path: x and product (nb x n each) */
  double *yfb;          /* nb x nout feedback of the current step */
  double *uin;          /* nb x nin closed-loop input */
  double *zs;           /* n: activation scratch (intrinsic plasticity) */
  lam_rng *noise;       /* nb streams */
  int64_t steps;
  double rho0;          /* spectral radius before scaling */
} esn;

/* ---------------------------------------------------------------- */
/* Recurrent product                                                  */
/* ---------------------------------------------------------------- */

/* out[b*n + i] = sum over row i's entries in [lo(i), hi(i)) for every
 * instance b; one pass over W for all instances (xt is x transposed, so
 * each nonzero updates BLK contiguous instances held in a local block that
 * the compiler keeps in vector registers). */
enum { BLK = 16 };
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
/* Wider vectors where the CPU has them; the loop is elementwise over the
 * instances (no reassociation, no FMA: -ffp-contract=off), so every clone
 * gives bit-identical results. */
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void csr_batch(const esn *p, const double *val, const float *valf,
                      int part, const double *xt, const float *xtf,
                      double *out) {
  const esn_mat *m = &p->w;
  const int64_t n = p->n, nb = p->nb;
  for (int64_t b0 = 0; b0 < nb; b0 += BLK) {
    const int64_t w = nb - b0 < BLK ? nb - b0 : BLK;
    for (int64_t i = 0; i < n; i++) {
      int64_t a = part == 2 ? m->split[i] : m->rowptr[i];
      int64_t e = part == 1 ? m->split[i] : m->rowptr[i + 1];
      double acc[BLK] = {0};
      if (w == BLK) {
        if (valf) {
          for (int64_t k = a; k < e; k++) {
            const float v = valf[k], *xr = xtf + (int64_t)m->col[k] * nb + b0;
            for (int b = 0; b < BLK; b++)
              acc[b] += (double)(v * xr[b]);
          }
        } else {
          for (int64_t k = a; k < e; k++) {
            const double v = val[k], *xr = xt + (int64_t)m->col[k] * nb + b0;
            for (int b = 0; b < BLK; b++)
              acc[b] += v * xr[b];
          }
        }
      } else {
        for (int64_t k = a; k < e; k++) {
          const int64_t off = (int64_t)m->col[k] * nb + b0;
          for (int64_t b = 0; b < w; b++)
            acc[b] += valf ? (double)(valf[k] * xtf[off + b]) : val[k] * xt[off + b];
        }
      }
      for (int64_t b = 0; b < w; b++)
        out[(b0 + b) * n + i] = acc[b];
    }
  }
}

/* Dense product over columns [c0, c1) for all instances. */
static void dense_part(const esn *p, const double *x, int64_t c0, int64_t c1,
                       double *out) {
  const int64_t n = p->n, nb = p->nb, nc = c1 - c0;
  const lam_host_api *api = resv__api;
  if (nc <= 0) {
    memset(out, 0, (size_t)(nb * n) * sizeof *out);
    return;
  }
  if (!p->f32) {
    if (nb == 1)
      api->dgemv(0, n, nc, 1.0, p->w.w + c0, n, x + c0, 0.0, out);
    else
      api->dgemm(0, 1, nb, n, nc, 1.0, x + c0, n, p->w.w + c0, n, 0.0, out,
                 n);
    return;
  }
  if (nb == 1)
    api->sgemv(0, n, nc, 1.0f, p->wf + c0, n, p->xf + c0, 0.0f, p->pf);
  else
    api->sgemm(0, 1, nb, n, nc, 1.0f, p->xf + c0, n, p->wf + c0, n, 0.0f,
               p->pf, n);
  for (int64_t k = 0; k < nb * n; k++)
    out[k] = p->pf[k];
}

/* ae = W_E x (all of W without Dale), ai = W_I x. */
static void recurrent(esn *p, const double *x) {
  const int64_t n = p->n, nb = p->nb;
  const esn_mat *m = &p->w;
  if (p->f32)
    for (int64_t k = 0; k < nb * n; k++)
      p->xf[k] = (float)x[k];
  if (m->dense) {
    dense_part(p, x, 0, p->dale ? p->nexc : n, p->ae);
    if (p->dale)
      dense_part(p, x, p->nexc, n, p->ai);
    return;
  }
  if (nb == 1) {
    const float *vf = p->f32 ? p->wf : NULL;
    esn__csr_rows(m, x, vf, p->xf, p->dale ? 1 : 0, p->ae);
    if (p->dale)
      esn__csr_rows(m, x, vf, p->xf, 2, p->ai);
    return;
  }
  /* Transpose once so that each nonzero updates nb contiguous values. */
  for (int64_t b = 0; b < nb; b++)
    for (int64_t j = 0; j < n; j++) {
      if (p->f32)
        p->pf[j * nb + b] = p->xf[b * n + j];
      else
        p->xt[j * nb + b] = x[b * n + j];
    }
  csr_batch(p, m->val, p->f32 ? p->wf : NULL, p->dale ? 1 : 0, p->xt, p->pf,
            p->ae);
  if (p->dale)
    csr_batch(p, m->val, p->f32 ? p->wf : NULL, 2, p->xt, p->pf, p->ai);
}

/* ---------------------------------------------------------------- */
/* One step                                                           */
/* ---------------------------------------------------------------- */

static inline double act(int a, double r) {
  switch (a) {
  case ACT_SIGMOID:
    return 1.0 / (1.0 + exp(-r));
  case ACT_RELU:
    return r > 0 ? r : 0;
  default:
    return r;
  }
}

/* z = f(r) elementwise (r == z allowed); tanh is esn_kern.c's vector
 * tanh, the same function in every path. */
static void activate(int a, const double *r, double *z, int64_t n) {
  if (a == ACT_TANH) {
    esn__tanh(r, z, n);
    return;
  }
  for (int64_t i = 0; i < n; i++)
    z[i] = act(a, r[i]);
}

typedef struct {
  double *x, *y, *g, *target, *ipa, *ipb;
} esn_ports;

static int get_ports(esn *p, lam_model_ctx *ctx, esn_ports *s) {
  const int64_t nn = p->nb * p->n;
  s->x = resv__port(ctx, PORT_X, "x", LAM_F64, nn);
  s->y = s->x ? resv__port(ctx, PORT_Y, "y", LAM_F64, p->nb * p->nout) : NULL;
  s->g = s->y ? resv__port(ctx, PORT_G, "g", LAM_F64, nn) : NULL;
  s->target = s->g ? resv__port(ctx, PORT_TARGET, "target", LAM_F64, nn)
                   : NULL;
  s->ipa = s->target ? resv__port(ctx, PORT_IPA, "ip_gain", LAM_F64, nn)
                     : NULL;
  s->ipb = s->ipa ? resv__port(ctx, PORT_IPB, "ip_bias", LAM_F64, nn) : NULL;
  return s->ipb ? LAM_OK : LAM_EINVAL;
}

/* y = W_out x + b_out for every instance (no-op without a readout). */
static void readout(const esn *p, const esn_ports *s) {
  if (!p->have_out)
    return;
  const int64_t n = p->n, nout = p->nout;
  for (int64_t b = 0; b < p->nb; b++) {
    const double *x = s->x + b * n;
    double *y = s->y + b * nout;
    for (int64_t o = 0; o < nout; o++) {
      const double *wo = p->wout + o * n;
      double acc = p->bout[o];
      for (int64_t i = 0; i < n; i++)
        acc += wo[i] * x[i];
      y[o] = acc;
    }
  }
}

/* r += s M v for a small dense M [n, k] (the input and feedback terms);
 * k = 1, the common single-input case, is a plain scaled add. */
static void add_matvec(double *r, double s, const double *m, const double *v,
                       int64_t n, int64_t k) {
  if (k == 1) {
    const double sv = s * v[0];
    for (int64_t i = 0; i < n; i++)
      r[i] += sv * m[i];
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    const double *mi = m + i * k;
    double acc = 0;
    for (int64_t j = 0; j < k; j++)
      acc += mi[j] * v[j];
    r[i] += s * acc;
  }
}

/* Advances every instance by one step with input u (nb x nin) and
 * feedback yfb (nb x nout), then writes the readout into s->y.  The unit
 * loop is split into simple passes with the parameter tests hoisted out,
 * so that each pass is a straight (vectorisable) loop. */
static void step_once(esn *p, lam_model_ctx *ctx, const esn_ports *s,
                      const double *u, const double *yfb) {
  const double *par = ctx->params;
  const int64_t n = p->n, nin = p->nin, nout = p->nout;
  const double leak = par[P_LEAK], sin_ = par[P_IN_SCALE];
  const double sb = par[P_BIAS], sfb = par[P_FB], ei = par[P_EI];
  const double sn = par[P_NOISE], eta_g = par[P_ADAPT];
  const double eta = par[P_IP_RATE], mu = par[P_IP_MEAN];
  const double s2 = par[P_IP_STD] * par[P_IP_STD];
  recurrent(p, s->x);
  for (int64_t b = 0; b < p->nb; b++) {
    double *x = s->x + b * n;
    const double *ub = u + b * nin, *fb = yfb + b * nout;
    double *r = p->ae + b * n; /* the net input, built in place */
    const double *ai = p->ai + b * n;
    double *g = s->g + b * n, *tg = s->target + b * n;
    double *ipa = s->ipa + b * n, *ipb = s->ipb + b * n;
    if (p->dale)
      for (int64_t i = 0; i < n; i++)
        r[i] += ei * g[i] * ai[i];
    const double keep = 1.0 - leak;
    if (nin == 1 && sfb == 0.0 && sn == 0.0 && eta_g == 0.0 &&
        p->ip == IP_OFF && p->act == ACT_TANH) {
      /* the common case in one pass: input, bias, tanh, leak (the same
       * operations in the same order as the passes below) */
      esn__tanh_leak(r, x, keep, leak, sin_ * ub[0], p->win, sb,
                     sb != 0.0 ? p->bias : NULL, n);
      continue;
    }
    add_matvec(r, sin_, p->win, ub, n, nin);
    if (sb != 0.0)
      for (int64_t i = 0; i < n; i++)
        r[i] += sb * p->bias[i];
    if (sfb != 0.0)
      add_matvec(r, sfb, p->wfb, fb, n, nout);
    if (sn != 0.0)
      for (int64_t i = 0; i < n; i++)
        r[i] += sn * resv__api->rng_normal(&p->noise[b]);
    if (p->ip != IP_OFF) {
      double *zs = p->zs;
      for (int64_t i = 0; i < n; i++)
        zs[i] = ipa[i] * r[i] + ipb[i];
      activate(p->act, zs, zs, n);
      for (int64_t i = 0; i < n; i++) {
        const double z = zs[i];
        const double dh =
            p->ip == IP_EXPONENTIAL
                ? eta * (1.0 - (2.0 + 1.0 / mu) * z + z * z / mu)
                : -eta * (-mu / s2 + z / s2 * (2.0 * s2 + 1.0 - z * z +
                                               mu * z));
        ipa[i] += eta / ipa[i] + dh * r[i];
        ipb[i] += dh;
        x[i] = keep * x[i] + leak * z;
      }
    } else if (p->act == ACT_TANH) {
      esn__tanh_leak(r, x, keep, leak, 0, NULL, 0, NULL, n);
    } else {
      for (int64_t i = 0; i < n; i++)
        x[i] = keep * x[i] + leak * act(p->act, r[i]);
    }
    if (eta_g != 0.0)
      for (int64_t i = 0; i < n; i++) {
        const double gi = g[i] + eta_g * (x[i] - tg[i]);
        g[i] = gi > 0 ? gi : 0; /* a gain cannot turn inhibition around */
      }
  }
  readout(p, s);
  p->steps++;
}

/* Checks the mutable parameters that the schema's ranges do not pin. */
static int check_step(esn *p, lam_model_ctx *ctx, int closed) {
  if (ctx->params[P_ADAPT] != 0.0 && !p->dale) {
    resv__api->set_error(ctx->host, "adapt_rate = %g needs dale = true (the "
                         "adaptation scales inhibitory input)",
                         ctx->params[P_ADAPT]);
    return LAM_EINVAL;
  }
  if (closed && (!p->have_out || p->nin != p->nout)) {
    resv__api->set_error(ctx->host,
                         "closed loop needs a readout (set_readout) and "
                         "inputs == outputs (inputs = %lld, outputs = %lld)",
                         (long long)p->nin, (long long)p->nout);
    return LAM_ESTATE;
  }
  return LAM_OK;
}

static int esn_step(void *self, lam_model_ctx *ctx, int64_t nsteps) {
  esn *p = self;
  esn_ports s;
  if (get_ports(p, ctx, &s) != LAM_OK)
    return LAM_EINVAL;
  const int closed = ctx->params[P_CLOSED] != 0.0;
  const int teacher = ctx->params[P_TEACHER] != 0.0;
  int rc = check_step(p, ctx, closed);
  if (rc != LAM_OK)
    return rc;
  const double *u = resv__port(ctx, PORT_U, "u", LAM_F64, p->nb * p->nin);
  const double *fb = resv__port(ctx, PORT_FB, "fb", LAM_F64, p->nb * p->nout);
  if (!u || !fb)
    return LAM_EINVAL;
  const size_t ny = (size_t)(p->nb * p->nout) * sizeof(double);
  for (int64_t t = 0; t < nsteps; t++) {
    memcpy(p->yfb, teacher ? fb : s.y, ny);
    if (closed)
      memcpy(p->uin, s.y, ny);
    step_once(p, ctx, &s, closed ? p->uin : u, p->yfb);
  }
  return LAM_OK;
}

/* ---------------------------------------------------------------- */
/* Lifecycle                                                          */
/* ---------------------------------------------------------------- */

static void esn_destroy(void *self, lam_model_ctx *ctx) {
  esn *p = self;
  if (!p)
    return;
  esn__mat_free(&p->w);
  void *bufs[] = {p->wf,  p->win, p->wfb, p->bias, p->wout, p->bout,
                  p->ae,  p->ai,  p->xt,  p->xf,   p->pf,
                  p->yfb, p->uin, p->noise, p->zs};
  for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++)
    resv__api->free(bufs[k]);
  resv__api->free(p);
}

static int esn_reset(void *self, lam_model_ctx *ctx) {
  esn *p = self;
  esn_ports s;
  if (get_ports(p, ctx, &s) != LAM_OK)
    return LAM_EINVAL;
  const int64_t nn = p->nb * p->n;
  memset(s.x, 0, (size_t)nn * sizeof *s.x);
  memset(s.y, 0, (size_t)(p->nb * p->nout) * sizeof *s.y);
  for (int64_t k = 0; k < nn; k++) {
    s.g[k] = 1.0;
    s.target[k] = ctx->params[P_TARGET];
    s.ipa[k] = 1.0;
    s.ipb[k] = 0.0;
  }
  for (int64_t b = 0; b < p->nb; b++)
    resv__api->rng_init(&p->noise[b], ctx->seed, ctx->instance,
                        LAM_RNG_NOISE, (uint64_t)b);
  p->steps = 0;
  return LAM_OK;
}

/* The f32 copy of W's values (after build or set_w). */
static int sync_f32(esn *p, lam_model_ctx *ctx) {
  if (!p->f32)
    return LAM_OK;
  int64_t cnt = p->w.dense ? p->n * p->n : p->w.nnz;
  float *wf = resv__alloc(ctx, cnt, sizeof *wf);
  if (!wf)
    return LAM_ENOMEM;
  const double *src = p->w.dense ? p->w.w : p->w.val;
  for (int64_t k = 0; k < cnt; k++)
    wf[k] = (float)src[k];
  resv__api->free(p->wf);
  p->wf = wf;
  return LAM_OK;
}

static double draw_in(lam_rng *r, int dist) {
  switch (dist) {
  case 1:
    return resv__api->rng_uniform(r) < 0.5 ? -1.0 : 1.0;
  case 2:
    return resv__api->rng_normal(r);
  default:
    return 2.0 * resv__api->rng_uniform(r) - 1.0;
  }
}

static int esn_create(lam_model_ctx *ctx, void **self) {
  const double *par = ctx->params;
  const int64_t n = (int64_t)par[P_UNITS];
  const double density = par[P_DENSITY], in_density = par[P_IN_DENSITY];
  if (!(density > 0.0 && density <= 1.0)) {
    resv__api->set_error(ctx->host, "density = %g, expected a value in "
                         "(0, 1]", density);
    return LAM_ERANGE;
  }
  if (!(in_density > 0.0 && in_density <= 1.0)) {
    resv__api->set_error(ctx->host, "input_density = %g, expected a value "
                         "in (0, 1]", in_density);
    return LAM_ERANGE;
  }
  const int dist = (int)par[P_WEIGHTS];
  const int dale = par[P_DALE] != 0.0;
  int storage = (int)par[P_STORAGE];
  if (dist == ESN_DIST_ORTHO && (density != 1.0 || dale || storage == 2)) {
    resv__api->set_error(ctx->host,
                         "weights = orthogonal needs density = 1, dale = "
                         "false and dense storage (density = %g)",
                         density);
    return LAM_EINVAL;
  }
  if (n > 2147483647LL) {
    resv__api->set_error(ctx->host, "units = %lld exceeds 2^31 - 1",
                         (long long)n);
    return LAM_ERANGE;
  }
  const int ip = (int)par[P_IP];
  const int actv = (int)par[P_ACT];
  if (ip == IP_GAUSSIAN && actv != ACT_TANH) {
    resv__api->set_error(ctx->host, "ip = gaussian is derived for "
                         "activation = tanh");
    return LAM_EINVAL;
  }
  if (ip == IP_EXPONENTIAL && (actv != ACT_SIGMOID || !(par[P_IP_MEAN] > 0) ||
                               !(par[P_IP_MEAN] < 1))) {
    resv__api->set_error(ctx->host,
                         "ip = exponential needs activation = sigmoid and "
                         "ip_mean in (0, 1) (ip_mean = %g)",
                         par[P_IP_MEAN]);
    return LAM_EINVAL;
  }
  esn *p = resv__alloc(ctx, 1, sizeof *p);
  if (!p)
    return LAM_ENOMEM;
  p->n = n;
  p->nin = (int64_t)par[P_INPUTS];
  p->nout = (int64_t)par[P_OUTPUTS];
  p->nb = (int64_t)par[P_BATCH];
  p->act = actv;
  p->ip = ip;
  p->f32 = (int)par[P_PREC] == 1;
  p->dale = dale;
  p->nexc = dale ? (int64_t)floor(par[P_EXC] * (double)n + 0.5) : n;
  if (storage == 0)
    storage = dist != ESN_DIST_ORTHO && density <= 0.3 ? 2 : 1;
  esn_wspec ws = {.n = n, .n_exc = p->nexc, .density = density,
                  .rho = par[P_RHO], .dist = dist, .dense = storage == 1,
                  .dale = dale};
  int rc = esn__build_w(ctx, &ws, &p->w, &p->rho0);
  if (rc != LAM_OK) {
    resv__api->free(p);
    return rc;
  }
  const int64_t nn = p->nb * n;
  p->win = resv__alloc(ctx, n * p->nin, sizeof *p->win);
  p->wfb = resv__alloc(ctx, n * p->nout, sizeof *p->wfb);
  p->bias = resv__alloc(ctx, n, sizeof *p->bias);
  p->wout = resv__alloc(ctx, n * p->nout, sizeof *p->wout);
  p->bout = resv__alloc(ctx, p->nout, sizeof *p->bout);
  p->ae = resv__alloc(ctx, nn, sizeof *p->ae);
  p->ai = resv__alloc(ctx, nn, sizeof *p->ai);
  p->xt = resv__alloc(ctx, nn, sizeof *p->xt);
  p->xf = resv__alloc(ctx, p->f32 ? nn : 1, sizeof *p->xf);
  p->pf = resv__alloc(ctx, p->f32 ? nn : 1, sizeof *p->pf);
  p->yfb = resv__alloc(ctx, p->nb * p->nout, sizeof *p->yfb);
  p->uin = resv__alloc(ctx, p->nb * (p->nin > p->nout ? p->nin : p->nout),
                       sizeof *p->uin);
  p->noise = resv__alloc(ctx, p->nb, sizeof *p->noise);
  p->zs = resv__alloc(ctx, n, sizeof *p->zs);
  if (!p->zs || !p->win || !p->wfb || !p->bias || !p->wout || !p->bout || !p->ae ||
      !p->ai || !p->xt || !p->xf || !p->pf || !p->yfb ||
      !p->uin || !p->noise || sync_f32(p, ctx) != LAM_OK) {
    esn_destroy(p, ctx);
    return LAM_ENOMEM;
  }
  const int in_dist = (int)par[P_IN_DIST];
  for (int64_t i = 0; i < n; i++) {
    lam_rng r;
    resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                        ESN_STREAM_WIN(i));
    for (int64_t k = 0; k < p->nin; k++) {
      int on = in_density >= 1.0 || resv__api->rng_uniform(&r) < in_density;
      p->win[i * p->nin + k] = on ? draw_in(&r, in_dist) : 0.0;
    }
    resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                        ESN_STREAM_WFB(i));
    for (int64_t o = 0; o < p->nout; o++)
      p->wfb[i * p->nout + o] = 2.0 * resv__api->rng_uniform(&r) - 1.0;
  }
  lam_rng rb;
  resv__api->rng_init(&rb, ctx->seed, ctx->instance, LAM_RNG_INIT,
                      ESN_STREAM_BIAS);
  for (int64_t i = 0; i < n; i++)
    p->bias[i] = 2.0 * resv__api->rng_uniform(&rb) - 1.0;
  rc = esn_reset(p, ctx);
  if (rc != LAM_OK) {
    esn_destroy(p, ctx);
    return rc;
  }
  *self = p;
  return LAM_OK;
}

/* ---------------------------------------------------------------- */
/* Methods                                                            */
/* ---------------------------------------------------------------- */

/* A contiguous f64 argument of exactly the given shape (ndim entries of
 * dims; -1 matches any extent, returned in dims). */
static const double *arg(lam_model_ctx *ctx, const char *method,
                         const char *what, const lam_buf *b, int32_t ndim,
                         int64_t *dims) {
  if (!b || b->dtype != LAM_F64 || !(b->flags & LAM_BUF_CONTIGUOUS) ||
      b->ndim != ndim) {
    resv__api->set_error(ctx->host, "%s: %s must be a contiguous f64 buffer "
                         "with %d dimensions", method, what, (int)ndim);
    return NULL;
  }
  for (int32_t d = 0; d < ndim; d++) {
    if (dims[d] >= 0 && b->shape[d] != dims[d]) {
      resv__api->set_error(ctx->host, "%s: %s has extent %lld in dimension "
                           "%d, expected %lld", method, what,
                           (long long)b->shape[d], (int)d + 1,
                           (long long)dims[d]);
      return NULL;
    }
    dims[d] = b->shape[d];
  }
  return b->data;
}

/* Getters take no arguments. */
static int no_args(lam_model_ctx *ctx, const char *method, int32_t n_in) {
  if (n_in == 0)
    return LAM_OK;
  resv__api->set_error(ctx->host, "%s: takes no arguments, got %d", method,
                       (int)n_in);
  return LAM_EINVAL;
}

static lam_buf *new_out(lam_model_ctx *ctx, int32_t ndim, const int64_t *shape) {
  lam_buf *b = resv__api->buf_new(LAM_F64, ndim, shape);
  if (!b)
    resv__api->set_error(ctx->host, "out of memory for the result");
  return b;
}

/* run(U [, Y]): U [T, inputs] (batch 1) or [T, batch, inputs]; Y, the
 * teacher, has the same leading shape with `outputs`.  Returns the states
 * [T, units] or [T, batch, units]. */
static int m_run(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                 int32_t n_in, lam_buf **out) {
  esn *p = self;
  if (n_in < 1 || n_in > 2 || !in[0]) {
    resv__api->set_error(ctx->host, "run: expected (U [, Y])");
    return LAM_EINVAL;
  }
  const int32_t nd = in[0]->ndim;
  if (nd != 2 && nd != 3) {
    resv__api->set_error(ctx->host, "run: U must be [T, inputs] or [T, "
                         "batch, inputs], it has %d dimensions", (int)nd);
    return LAM_EINVAL;
  }
  if (nd == 2 && p->nb != 1) {
    resv__api->set_error(ctx->host, "run: batch = %lld needs U as [T, batch, "
                         "inputs]", (long long)p->nb);
    return LAM_EINVAL;
  }
  int64_t du[3] = {-1, nd == 3 ? p->nb : p->nin, p->nin};
  const double *u = arg(ctx, "run", "U", in[0], nd, du);
  if (!u)
    return LAM_EINVAL;
  const int64_t T = du[0];
  const double *yt = NULL;
  if (n_in == 2 && in[1]) {
    int64_t dy[3] = {T, nd == 3 ? p->nb : p->nout, p->nout};
    yt = arg(ctx, "run", "Y (teacher)", in[1], nd, dy);
    if (!yt)
      return LAM_EINVAL;
  }
  esn_ports s;
  if (get_ports(p, ctx, &s) != LAM_OK)
    return LAM_EINVAL;
  int rc = check_step(p, ctx, 0);
  if (rc != LAM_OK)
    return rc;
  const double *fb = resv__port(ctx, PORT_FB, "fb", LAM_F64, p->nb * p->nout);
  if (!fb)
    return LAM_EINVAL;
  int64_t shape[3] = {T, nd == 3 ? p->nb : p->n, p->n};
  lam_buf *o = new_out(ctx, nd, shape);
  if (!o)
    return LAM_ENOMEM;
  double *xs = o->data;
  const int64_t nn = p->nb * p->n, ny = p->nb * p->nout;
  const int teacher = ctx->params[P_TEACHER] != 0.0;
  for (int64_t t = 0; t < T; t++) {
    const double *src = yt && t > 0 ? yt + (t - 1) * ny : teacher ? fb : s.y;
    memcpy(p->yfb, src, (size_t)ny * sizeof *src);
    step_once(p, ctx, &s, u + t * p->nb * p->nin, p->yfb);
    memcpy(xs + t * nn, s.x, (size_t)nn * sizeof *xs);
  }
  *out = o;
  return LAM_OK;
}

/* generate(n): closed loop for n steps (u <- previous y); returns the
 * outputs [n, outputs] or [n, batch, outputs]. */
static int m_generate(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                      int32_t n_in, lam_buf **out) {
  esn *p = self;
  if (n_in != 1 || !in[0] || in[0]->size != 1) {
    resv__api->set_error(ctx->host, "generate: expected one argument, the "
                         "number of steps");
    return LAM_EINVAL;
  }
  lam_buf *nb = in[0];
  double nv = nb->dtype == LAM_F64 ? *(double *)nb->data
              : nb->dtype == LAM_I64 ? (double)*(int64_t *)nb->data
              : nb->dtype == LAM_I32 ? (double)*(int32_t *)nb->data : -1;
  if (!(nv >= 1 && nv <= 1e9) || nv != floor(nv)) {
    resv__api->set_error(ctx->host, "generate: steps = %g, expected an "
                         "integer >= 1", nv);
    return LAM_EINVAL;
  }
  esn_ports s;
  if (get_ports(p, ctx, &s) != LAM_OK)
    return LAM_EINVAL;
  int rc = check_step(p, ctx, 1);
  if (rc != LAM_OK)
    return rc;
  const int64_t T = (int64_t)nv, ny = p->nb * p->nout;
  int64_t shape[3] = {T, p->nb == 1 ? p->nout : p->nb, p->nout};
  lam_buf *o = new_out(ctx, p->nb == 1 ? 2 : 3, shape);
  if (!o)
    return LAM_ENOMEM;
  double *ys = o->data;
  for (int64_t t = 0; t < T; t++) {
    memcpy(p->yfb, s.y, (size_t)ny * sizeof *s.y);
    memcpy(p->uin, s.y, (size_t)ny * sizeof *s.y);
    step_once(p, ctx, &s, p->uin, p->yfb);
    memcpy(ys + t * ny, s.y, (size_t)ny * sizeof *ys);
  }
  *out = o;
  return LAM_OK;
}

/* set_readout(W [units, outputs] [, b [outputs]]): y = W^T x + b. */
static int m_set_readout(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                         int32_t n_in, lam_buf **out) {
  esn *p = self;
  if (n_in < 1 || n_in > 2) {
    resv__api->set_error(ctx->host, "set_readout: expected (W [, b])");
    return LAM_EINVAL;
  }
  int64_t dw[2] = {p->n, p->nout}, db[1] = {p->nout};
  const double *w = arg(ctx, "set_readout", "W [units, outputs]", in[0], 2,
                        dw);
  if (!w)
    return LAM_EINVAL;
  const double *b = NULL;
  if (n_in == 2 && in[1] &&
      !(b = arg(ctx, "set_readout", "b [outputs]", in[1], 1, db)))
    return LAM_EINVAL;
  for (int64_t i = 0; i < p->n; i++)
    for (int64_t o = 0; o < p->nout; o++)
      p->wout[o * p->n + i] = w[i * p->nout + o];
  for (int64_t o = 0; o < p->nout; o++)
    p->bout[o] = b ? b[o] : 0.0;
  p->have_out = 1;
  /* y reflects the new readout at once, so that generate() starts from
   * the prediction of the current state. */
  esn_ports s;
  if (get_ports(p, ctx, &s) != LAM_OK)
    return LAM_EINVAL;
  readout(p, &s);
  return LAM_OK;
}

/* Dale's law check on a dense candidate W. */
/* A weight v in column j against Dale's law (when it is on). */
static int breaks_dale(const esn *p, int64_t j, double v) {
  return p->dale && ((j < p->nexc && v < 0) || (j >= p->nexc && v > 0));
}

static int check_dale(esn *p, lam_model_ctx *ctx, const double *w) {
  if (!p->dale)
    return LAM_OK;
  for (int64_t i = 0; i < p->n; i++)
    for (int64_t j = 0; j < p->n; j++) {
      double v = w[i * p->n + j];
      if (breaks_dale(p, j, v)) {
        resv__api->set_error(ctx->host, "set_w: W[%lld, %lld] = %g breaks "
                             "Dale's law (column %lld is %s)",
                             (long long)i + 1, (long long)j + 1, v,
                             (long long)j + 1,
                             j < p->nexc ? "excitatory" : "inhibitory");
        return LAM_EINVAL;
      }
    }
  return LAM_OK;
}

static int m_get_w(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                   int32_t n_in, lam_buf **out) {
  esn *p = self;
  if (no_args(ctx, "get_w", n_in) != LAM_OK)
    return LAM_EINVAL;
  int64_t shape[2] = {p->n, p->n};
  lam_buf *o = new_out(ctx, 2, shape);
  if (!o)
    return LAM_ENOMEM;
  esn__mat_get_dense(&p->w, o->data);
  *out = o;
  return LAM_OK;
}

static int m_set_w(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                   int32_t n_in, lam_buf **out) {
  esn *p = self;
  int64_t dw[2] = {p->n, p->n};
  const double *w = n_in == 1 ? arg(ctx, "set_w", "W [units, units]", in[0],
                                    2, dw)
                              : NULL;
  if (!w) {
    if (n_in != 1)
      resv__api->set_error(ctx->host, "set_w: expected one argument W");
    return LAM_EINVAL;
  }
  int rc = check_dale(p, ctx, w);
  if (rc == LAM_OK)
    rc = esn__mat_set_dense(ctx, &p->w, w, p->nexc);
  if (rc == LAM_OK)
    rc = sync_f32(p, ctx);
  return rc;
}

/* An index array of set_w_csr: contiguous, 1-d, f64 (integral values),
 * i32 or i64 (scipy's index dtypes), read through idx_at. */
static const lam_buf *idx_arg(lam_model_ctx *ctx, const char *what,
                              const lam_buf *b, int64_t len) {
  if (!b || b->ndim != 1 || !(b->flags & LAM_BUF_CONTIGUOUS) ||
      (b->dtype != LAM_F64 && b->dtype != LAM_I32 && b->dtype != LAM_I64)) {
    resv__api->set_error(ctx->host, "set_w_csr: %s must be a contiguous "
                         "1-d f64, i32 or i64 buffer", what);
    return NULL;
  }
  if (len >= 0 && b->shape[0] != len) {
    resv__api->set_error(ctx->host, "set_w_csr: %s has extent %lld, "
                         "expected %lld", what, (long long)b->shape[0],
                         (long long)len);
    return NULL;
  }
  return b;
}

static double idx_at(const lam_buf *b, int64_t k) {
  switch (b->dtype) {
  case LAM_I32: return ((const int32_t *)b->data)[k];
  case LAM_I64: return (double)((const int64_t *)b->data)[k];
  default: return ((const double *)b->data)[k];
  }
}

/* set_w_csr(indptr [units + 1], indices [nnz], values [nnz]): W from a
 * CSR matrix (0-based, columns strictly increasing within each row, as
 * scipy's canonical format), so that a large sparse W never has to exist
 * densely.  Every check names the argument and the index. */
static int m_set_w_csr(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                       int32_t n_in, lam_buf **out) {
  esn *p = self;
  const int64_t n = p->n;
  if (n_in != 3) {
    resv__api->set_error(ctx->host, "set_w_csr: expected 3 arguments "
                         "(indptr, indices, values), got %d", (int)n_in);
    return LAM_EINVAL;
  }
  const lam_buf *bp = idx_arg(ctx, "indptr", in[0], n + 1);
  const lam_buf *bi = bp ? idx_arg(ctx, "indices", in[1], -1) : NULL;
  int64_t dv[1] = {-1};
  const double *vv = bi ? arg(ctx, "set_w_csr", "values", in[2], 1, dv) : NULL;
  if (!vv)
    return LAM_EINVAL;
  const int64_t nnz = bi->shape[0];
  const double last = idx_at(bp, n);
  if (dv[0] != nnz || last != (double)nnz) {
    resv__api->set_error(ctx->host, "set_w_csr: indptr[%lld] = %g, indices "
                         "has %lld entries and values %lld; expected all "
                         "three equal (the number of nonzeros)",
                         (long long)n, last, (long long)nnz, (long long)dv[0]);
    return LAM_EINVAL;
  }
  for (int64_t i = 0; i <= n; i++) {
    const double x = idx_at(bp, i);
    if (x != floor(x) || (i == 0 && x != 0) ||
        (i > 0 && x < idx_at(bp, i - 1))) {
      resv__api->set_error(ctx->host, "set_w_csr: indptr[%lld] = %g; "
                           "expected integers from 0 rising to %lld",
                           (long long)i, x, (long long)nnz);
      return LAM_EINVAL;
    }
  }
  for (int64_t i = 0; i < n; i++) {
    const int64_t k0 = (int64_t)idx_at(bp, i), k1 = (int64_t)idx_at(bp, i + 1);
    for (int64_t k = k0; k < k1; k++) {
      const double c = idx_at(bi, k), v = vv[k];
      if (c != floor(c) || c < 0 || c >= (double)n ||
          (k > k0 && c <= idx_at(bi, k - 1))) {
        resv__api->set_error(ctx->host, "set_w_csr: indices[%lld] = %g (row "
                             "%lld); expected an integer in [0, %lld), "
                             "increasing within the row", (long long)k, c,
                             (long long)i, (long long)n);
        return LAM_EINVAL;
      }
      if (!isfinite(v)) {
        resv__api->set_error(ctx->host, "set_w_csr: values[%lld] = %g; "
                             "expected a finite number", (long long)k, v);
        return LAM_EINVAL;
      }
      if (breaks_dale(p, (int64_t)c, v)) {
        resv__api->set_error(ctx->host, "set_w_csr: values[%lld] = %g "
                             "(row %lld, column %lld) breaks Dale's law "
                             "(the column is %s)", (long long)k, v,
                             (long long)i, (long long)c,
                             (int64_t)c < p->nexc ? "excitatory"
                                                  : "inhibitory");
        return LAM_EINVAL;
      }
    }
  }
  int64_t *rp;
  int32_t *col;
  double *val;
  if (esn__csr_alloc(ctx, n, nnz, &rp, &col, &val) != LAM_OK)
    return LAM_ENOMEM;
  for (int64_t i = 0; i <= n; i++)
    rp[i] = (int64_t)idx_at(bp, i);
  for (int64_t k = 0; k < nnz; k++) {
    col[k] = (int32_t)idx_at(bi, k);
    val[k] = vv[k];
  }
  int rc = esn__mat_set_csr(ctx, &p->w, rp, col, val, nnz, p->nexc);
  if (rc == LAM_OK)
    rc = sync_f32(p, ctx);
  return rc;
}

/* get_w_coo() -> [nnz, 3]: (row, column, value) of every stored entry of
 * W, row by row, columns increasing (0-based; indices as exact f64). */
static int m_get_w_coo(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                       int32_t n_in, lam_buf **out) {
  esn *p = self;
  if (no_args(ctx, "get_w_coo", n_in) != LAM_OK)
    return LAM_EINVAL;
  const esn_mat *m = &p->w;
  const int64_t n = m->n;
  int64_t nnz = 0;
  if (m->dense) {
    for (int64_t k = 0; k < n * n; k++)
      nnz += m->w[k] != 0.0;
  } else {
    nnz = m->nnz;
  }
  int64_t shape[2] = {nnz, 3};
  lam_buf *o = new_out(ctx, 2, shape);
  if (!o)
    return LAM_ENOMEM;
  double *t = o->data;
  for (int64_t i = 0; i < n; i++) {
    if (m->dense) {
      for (int64_t j = 0; j < n; j++)
        if (m->w[i * n + j] != 0.0) {
          t[0] = (double)i, t[1] = (double)j, t[2] = m->w[i * n + j];
          t += 3;
        }
    } else {
      for (int64_t k = m->rowptr[i]; k < m->rowptr[i + 1]; k++) {
        t[0] = (double)i, t[1] = (double)m->col[k], t[2] = m->val[k];
        t += 3;
      }
    }
  }
  *out = o;
  return LAM_OK;
}

/* get/set of the small dense matrices: W_in [units, inputs], W_fb
 * [units, outputs], bias [units]. */
static int get_small(lam_model_ctx *ctx, const double *src, int32_t nd,
                     int64_t r, int64_t c, lam_buf **out) {
  int64_t shape[2] = {r, c};
  lam_buf *o = new_out(ctx, nd, shape);
  if (!o)
    return LAM_ENOMEM;
  memcpy(o->data, src, (size_t)(r * (nd == 2 ? c : 1)) * sizeof *src);
  *out = o;
  return LAM_OK;
}

static int set_small(lam_model_ctx *ctx, const char *method, const char *what,
                     lam_buf *const *in, int32_t n_in, double *dst,
                     int32_t nd, int64_t r, int64_t c) {
  int64_t d[2] = {r, c};
  const double *src = n_in == 1 ? arg(ctx, method, what, in[0], nd, d) : NULL;
  if (!src) {
    if (n_in != 1)
      resv__api->set_error(ctx->host, "%s: expected one argument", method);
    return LAM_EINVAL;
  }
  memcpy(dst, src, (size_t)(r * (nd == 2 ? c : 1)) * sizeof *src);
  return LAM_OK;
}

#define SMALL_METHODS(nm, field, nd, cols, what)                               \
  static int m_get_##nm(void *self, lam_model_ctx *ctx, lam_buf *const *in,    \
                        int32_t n_in, lam_buf **out) {                         \
    esn *p = self;                                                             \
    if (no_args(ctx, "get_" #nm, n_in) != LAM_OK)                              \
      return LAM_EINVAL;                                                       \
    return get_small(ctx, p->field, nd, p->n, cols, out);                      \
  }                                                                            \
  static int m_set_##nm(void *self, lam_model_ctx *ctx, lam_buf *const *in,    \
                        int32_t n_in, lam_buf **out) {                         \
    esn *p = self;                                                             \
    return set_small(ctx, "set_" #nm, what, in, n_in, p->field, nd, p->n,      \
                     cols);                                                    \
  }
SMALL_METHODS(w_in, win, 2, p->nin, "W_in [units, inputs]")
SMALL_METHODS(w_fb, wfb, 2, p->nout, "W_fb [units, outputs]")
SMALL_METHODS(bias, bias, 1, 1, "bias [units]")

/* spectral_radius(): [current radius of W, radius before the scaling,
 * 1 if the estimate converged else 0 (also logged as a warning)]. */
static int m_spectral_radius(void *self, lam_model_ctx *ctx,
                             lam_buf *const *in, int32_t n_in, lam_buf **out) {
  esn *p = self;
  if (no_args(ctx, "spectral_radius", n_in) != LAM_OK)
    return LAM_EINVAL;
  double rho = 0;
  int conv = 0;
  int rc = esn__spectral_radius(ctx, &p->w, &rho, &conv);
  if (rc != LAM_OK)
    return rc;
  if (!conv)
    resv__api->log(ctx->host, LAM_LOG_WARN,
                   "spectral_radius(): the estimate %.6g did not reach the "
                   "1e-9 residual (many eigenvalues of nearly the largest "
                   "modulus, e.g. an orthogonal W)", rho);
  int64_t shape[1] = {3};
  lam_buf *o = new_out(ctx, 1, shape);
  if (!o)
    return LAM_ENOMEM;
  ((double *)o->data)[0] = rho;
  ((double *)o->data)[1] = p->rho0;
  ((double *)o->data)[2] = conv ? 1.0 : 0.0;
  *out = o;
  return LAM_OK;
}

/* activation(R) -> f(R): the model's activation applied elementwise by
 * the same code as the step (for checking its accuracy). */
static int m_activation(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                        int32_t n_in, lam_buf **out) {
  esn *p = self;
  if (n_in != 1 || !in[0] || in[0]->dtype != LAM_F64 ||
      !(in[0]->flags & LAM_BUF_CONTIGUOUS)) {
    resv__api->set_error(ctx->host, "activation: expected one contiguous "
                         "f64 buffer");
    return LAM_EINVAL;
  }
  lam_buf *o = new_out(ctx, in[0]->ndim, in[0]->shape);
  if (!o)
    return LAM_ENOMEM;
  activate(p->act, in[0]->data, o->data, in[0]->size);
  *out = o;
  return LAM_OK;
}

static const lam_method_def methods[] = {
    {"run", "run(U [, Y]) -> states: U [T, inputs] (batch 1) or [T, batch, "
            "inputs] f64; optional teacher Y [T, (batch,) outputs] feeds "
            "Y[t-1] back at step t; returns the states after each step, "
            "[T, (batch,) units]", m_run},
    {"generate", "generate(n) -> outputs [n, (batch,) outputs]: closed loop, "
                 "the input of each step is the previous readout output",
     m_generate},
    {"set_readout", "set_readout(W [units, outputs] [, b [outputs]]): "
                    "y = W^T x + b from now on", m_set_readout},
    {"get_w", "get_w() -> W [units, units] (dense copy)", m_get_w},
    {"set_w", "set_w(W [units, units]): replace W (sparse storage keeps its "
              "nonzeros); no rescaling", m_set_w},
    {"set_w_csr", "set_w_csr(indptr [units+1], indices [nnz] (f64, i32 or "
                  "i64), values [nnz] f64): replace W by a CSR matrix "
                  "(0-based, columns increasing within a row); no rescaling",
     m_set_w_csr},
    {"get_w_coo", "get_w_coo() -> [nnz, 3]: (row, column, value) of W's "
                  "stored entries, 0-based", m_get_w_coo},
    {"get_w_in", "get_w_in() -> W_in [units, inputs] (unscaled)", m_get_w_in},
    {"set_w_in", "set_w_in(W_in [units, inputs])", m_set_w_in},
    {"get_w_fb", "get_w_fb() -> W_fb [units, outputs] (unscaled)", m_get_w_fb},
    {"set_w_fb", "set_w_fb(W_fb [units, outputs])", m_set_w_fb},
    {"get_bias", "get_bias() -> b [units] (unscaled)", m_get_bias},
    {"set_bias", "set_bias(b [units])", m_set_bias},
    {"spectral_radius", "spectral_radius() -> [rho(W) now, rho before the "
                        "create-time scaling, 1 if the estimate converged "
                        "else 0]", m_spectral_radius},
    {"activation", "activation(R) -> f(R) elementwise (any shape, f64), "
                   "computed as in the step", m_activation},
    {NULL, NULL, NULL}};

/* ---------------------------------------------------------------- */
/* Checkpoints                                                        */
/* ---------------------------------------------------------------- */

/* A checkpoint is a u8 buffer: this header, then (all f64 unless noted)
 * x, y, g, target, ip_gain, ip_bias (ports), the noise streams (lam_rng
 * bytes), W (dense n*n, or rowptr i64[n+1], col i32[nnz], val[nnz]),
 * W_in, W_fb, bias, W_out, b_out.  It restores a trained network
 * completely, weights included. */
typedef struct {
  char magic[8];
  uint32_t version, dense;
  int64_t n, nin, nout, nb, nnz, have_out, steps;
} esn_header;
static const char esn_magic[8] = "lamesn";

typedef struct {
  void *p;
  size_t bytes;
} chunk;

static size_t chunks(esn *p, const esn_ports *s, chunk *c) {
  const size_t nn = (size_t)(p->nb * p->n), d = sizeof(double);
  const size_t n = (size_t)p->n;
  size_t k = 0;
  c[k++] = (chunk){s->x, nn * d};
  c[k++] = (chunk){s->y, (size_t)(p->nb * p->nout) * d};
  c[k++] = (chunk){s->g, nn * d};
  c[k++] = (chunk){s->target, nn * d};
  c[k++] = (chunk){s->ipa, nn * d};
  c[k++] = (chunk){s->ipb, nn * d};
  c[k++] = (chunk){p->noise, (size_t)p->nb * sizeof(lam_rng)};
  if (p->w.dense) {
    c[k++] = (chunk){p->w.w, n * n * d};
  } else {
    c[k++] = (chunk){p->w.rowptr, (n + 1) * sizeof(int64_t)};
    c[k++] = (chunk){p->w.col, (size_t)p->w.nnz * sizeof(int32_t)};
    c[k++] = (chunk){p->w.val, (size_t)p->w.nnz * d};
  }
  c[k++] = (chunk){p->win, n * (size_t)p->nin * d};
  c[k++] = (chunk){p->wfb, n * (size_t)p->nout * d};
  c[k++] = (chunk){p->bias, n * d};
  c[k++] = (chunk){p->wout, n * (size_t)p->nout * d};
  c[k++] = (chunk){p->bout, (size_t)p->nout * d};
  return k;
}

static int esn_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  esn *p = self;
  esn_ports s;
  if (get_ports(p, ctx, &s) != LAM_OK)
    return LAM_EINVAL;
  chunk c[16];
  size_t k = chunks(p, &s, c), total = sizeof(esn_header);
  for (size_t i = 0; i < k; i++)
    total += c[i].bytes;
  lam_buf *b = lam_plugin_state_new(resv__api, ctx, total);
  if (!b)
    return LAM_ENOMEM;
  esn_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, esn_magic, sizeof h.magic);
  h.version = 1;
  h.dense = (uint32_t)p->w.dense;
  h.n = p->n;
  h.nin = p->nin;
  h.nout = p->nout;
  h.nb = p->nb;
  h.nnz = p->w.nnz;
  h.have_out = p->have_out;
  h.steps = p->steps;
  unsigned char *w = b->data;
  memcpy(w, &h, sizeof h);
  w += sizeof h;
  for (size_t i = 0; i < k; i++) {
    memcpy(w, c[i].p, c[i].bytes);
    w += c[i].bytes;
  }
  *out = b;
  return LAM_OK;
}

static int esn_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  esn *p = self;
  esn_ports s;
  if (get_ports(p, ctx, &s) != LAM_OK)
    return LAM_EINVAL;
  esn_header h;
  if (!in || in->dtype != LAM_U8 || in->ndim != 1 ||
      (size_t)in->size < sizeof h) {
    resv__api->set_error(ctx->host, "load_state: not a reservoir.esn "
                         "checkpoint (too short or not u8)");
    return LAM_EINVAL;
  }
  const unsigned char *r = in->data;
  memcpy(&h, r, sizeof h);
  if (memcmp(h.magic, esn_magic, sizeof h.magic) != 0 || h.version != 1) {
    resv__api->set_error(ctx->host, "load_state: not a reservoir.esn "
                         "checkpoint (bad magic or version)");
    return LAM_EINVAL;
  }
  if (h.n != p->n || h.nin != p->nin || h.nout != p->nout || h.nb != p->nb ||
      h.dense != (uint32_t)p->w.dense || h.nnz < 0 ||
      h.nnz > p->n * p->n) {
    resv__api->set_error(ctx->host,
                         "load_state: checkpoint is units %lld, inputs %lld, "
                         "outputs %lld, batch %lld, %s; this model is units "
                         "%lld, inputs %lld, outputs %lld, batch %lld, %s",
                         (long long)h.n, (long long)h.nin, (long long)h.nout,
                         (long long)h.nb, h.dense ? "dense" : "sparse",
                         (long long)p->n, (long long)p->nin,
                         (long long)p->nout, (long long)p->nb,
                         p->w.dense ? "dense" : "sparse");
    return LAM_EINVAL;
  }
  if (!p->w.dense && h.nnz != p->w.nnz) {
    int32_t *col = resv__alloc(ctx, h.nnz, sizeof *col);
    double *val = resv__alloc(ctx, h.nnz, sizeof *val);
    if (!col || !val) {
      resv__api->free(col);
      resv__api->free(val);
      return LAM_ENOMEM;
    }
    resv__api->free(p->w.col);
    resv__api->free(p->w.val);
    p->w.col = col;
    p->w.val = val;
    p->w.nnz = h.nnz;
  }
  chunk c[16];
  size_t k = chunks(p, &s, c), total = sizeof h;
  for (size_t i = 0; i < k; i++)
    total += c[i].bytes;
  if ((size_t)in->size != total) {
    resv__api->set_error(ctx->host, "load_state: checkpoint has %lld bytes, "
                         "expected %zu", (long long)in->size, total);
    return LAM_EINVAL;
  }
  r += sizeof h;
  for (size_t i = 0; i < k; i++) {
    memcpy(c[i].p, r, c[i].bytes);
    r += c[i].bytes;
  }
  if (!p->w.dense) {
    int bad = p->w.rowptr[0] != 0 || p->w.rowptr[p->n] != h.nnz;
    for (int64_t i = 0; i < p->n && !bad; i++)
      bad = p->w.rowptr[i + 1] < p->w.rowptr[i];
    for (int64_t q = 0; q < h.nnz && !bad; q++)
      bad = p->w.col[q] < 0 || p->w.col[q] >= p->n;
    if (bad) {
      resv__api->set_error(ctx->host, "load_state: corrupt CSR structure");
      return LAM_EINVAL;
    }
    esn__mat_split(&p->w, p->nexc);
    int rc = esn__mat_index16(ctx, &p->w);
    if (rc != LAM_OK)
      return rc;
  }
  p->have_out = h.have_out != 0;
  p->steps = h.steps;
  return sync_f32(p, ctx);
}

const lam_model_def resv__esn_def = {
    .name = "reservoir.esn",
    .doc = "Leaky-integrator echo-state network x <- (1-a) x + a f(W x + "
           "s_in W_in u + s_b b + s_fb W_fb y); W dense or CSR scaled to a "
           "spectral radius (Arnoldi), optional Dale's law with a global E/I "
           "ratio and local inhibitory gains adapting toward per-unit target "
           "rates, intrinsic plasticity, batch instances sharing W, "
           "closed-loop generation.  See docs/reservoir.md.",
    .params = params,
    .ports = ports,
    .methods = methods,
    .create = esn_create,
    .reset = esn_reset,
    .step = esn_step,
    .destroy = esn_destroy,
    .save_state = esn_save,
    .load_state = esn_load,
    .flags = LAM_MODEL_STOCHASTIC};
