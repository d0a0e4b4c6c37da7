/*
 * phase.c - kuramoto.phase: N phase oscillators
 *
 *   d theta_i = (omega_i + I_i(t) + F sin(Omega_f t - theta_i + phi)
 *                + Im(H_i e^(-i theta_i))) dt + sqrt(2 D) dW_i
 *
 * with the coupling field H_i of coupling.c (mean field, dense or CSR,
 * phase lag, delays, higher order).  With mass m > 0 the model is second
 * order, m theta_i'' + gamma theta_i' = (the same right-hand side), the
 * noise entering the velocity equation.  Integrators: Euler (Euler-Maruyama
 * with noise; semi-implicit for the second-order model), Heun (stochastic
 * Heun: predictor and corrector share the increment, as TVB's
 * HeunStochastic) and RK4 (deterministic only), each with `substeps` equal
 * sub-steps per model step.  Delays are in model steps and their history is
 * read at the start of each step and held across sub-steps and stages (as
 * TVB does).  Phases are never wrapped, so effective frequencies can be
 * read from differences of the recorded phases.
 */
#include <math.h>
#include <string.h>

#include "phase_int.h"

const char kur__phase_doc[] =
    "N phase oscillators d theta_i = (omega_i + input_i + F sin(Omega_f t - "
    "theta_i + phi) + Im(H_i e^(-i theta_i))) dt + sqrt(2D) dW_i.  Coupling "
    "mean_field: H = e^(-i alpha)(K Z1 + K2 Z2 conj Z1 + K3 Z1^2 conj Z1), "
    "Zm = <e^(i m theta)>, O(N); dense/sparse: H_i = K e^(-i alpha) s_i "
    "sum_j W_ij e^(-i alpha_ij) e^(i theta_j(t - tau_ij)), W row = target, "
    "s_i = 1/N, 1/in-degree, 1/in-strength or 1 (norm).  Set omega, weights "
    "(set_weights, set_csr), per-edge delays (set_delays) and lags "
    "(set_lags) with methods.  mass > 0: m theta'' + damping theta' = RHS.  "
    "Time in ms, frequencies in rad/ms.  Ports: phases (unwrapped), "
    "velocity, input, order = (r, psi), z = (Re Z, Im Z).";

const lam_param_def kur__phase_params[] = {
    {.name = "n", .doc = "number of oscillators", .def = 100, .min = 1,
     .max = 1e8, .type = LAM_PARAM_I64},
    {.name = "coupling",
     .doc = "mean_field (all-to-all through the order parameter, O(N)), "
            "dense (n x n weights, set_weights) or sparse (CSR, set_csr); "
            "dense and sparse use the complete graph of unit weights until a "
            "network is set",
     .choices = "mean_field|dense|sparse", .def = 0, .type = LAM_PARAM_ENUM},
    {.name = "k", .doc = "global coupling strength K", .units = "rad/ms",
     .def = 1, .min = -KUR_BIG, .max = KUR_BIG, .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "norm",
     .doc = "normalisation s_i of the coupling sum: N (1/N), in_degree "
            "(1/number of nonzero inputs; 0 for a node without inputs), "
            "in_strength (1/sum of input weights) or none",
     .choices = "N|in_degree|in_strength|none", .def = 0,
     .type = LAM_PARAM_ENUM},
    {.name = "alpha",
     .doc = "global phase lag alpha (Kuramoto-Sakaguchi): sin(theta_j - "
            "theta_i - alpha)",
     .units = "rad", .def = 0, .min = -10, .max = 10, .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = "k2",
     .doc = "triadic coupling K2 of (1/N^2) sum sin(2 theta_j - theta_l - "
            "theta_i) (mean_field only)",
     .units = "rad/ms", .def = 0, .min = -KUR_BIG, .max = KUR_BIG,
     .type = LAM_PARAM_F64, .flags = LAM_PARAM_MUTABLE},
    {.name = "k3",
     .doc = "triadic coupling K3 of (1/N^3) sum sin(theta_j + theta_l - "
            "theta_m - theta_i) (mean_field only)",
     .units = "rad/ms", .def = 0, .min = -KUR_BIG, .max = KUR_BIG,
     .type = LAM_PARAM_F64, .flags = LAM_PARAM_MUTABLE},
    {.name = "delay",
     .doc = "uniform transmission delay in model steps (0: none); per-edge "
            "delays from set_delays replace it",
     .units = "steps", .def = 0, .min = 0, .max = KUR_MAX_DELAY,
     .type = LAM_PARAM_I64},
    {.name = "noise", .doc = "diffusion coefficient D of sqrt(2D) dW",
     .units = "rad^2/ms", .def = 0, .min = 0, .max = KUR_BIG,
     .type = LAM_PARAM_F64},
    {.name = "integrator",
     .doc = "euler (Euler-Maruyama), heun (stochastic Heun) or rk4 "
            "(deterministic only)",
     .choices = "euler|heun|rk4", .def = 1, .type = LAM_PARAM_ENUM},
    {.name = "substeps", .doc = "integration sub-steps per model step",
     .def = 1, .min = 1, .max = 1000, .type = LAM_PARAM_I64},
    {.name = "mass",
     .doc = "inertia m of m theta'' + damping theta' = RHS (0: first order)",
     .units = "ms", .def = 0, .min = 0, .max = KUR_BIG, .type = LAM_PARAM_F64},
    {.name = "damping", .doc = "damping gamma_d of the second-order model",
     .def = 1, .min = 0, .max = KUR_BIG, .type = LAM_PARAM_F64},
    {.name = "omega_dist",
     .doc = "natural frequencies: identical (omega0), lorentzian "
            "(half-width omega_width), gaussian (sd omega_width), uniform on "
            "[omega0 - omega_width, omega0 + omega_width]; set_omega "
            "replaces them",
     .choices = "identical|lorentzian|gaussian|uniform", .def = 0,
     .type = LAM_PARAM_ENUM},
    {.name = "omega0", .doc = "centre of the frequency distribution",
     .units = "rad/ms", .def = 0, .min = -KUR_BIG, .max = KUR_BIG,
     .type = LAM_PARAM_F64},
    {.name = "omega_width",
     .doc = "Lorentzian half-width, Gaussian sd or uniform half-width",
     .units = "rad/ms", .def = 0, .min = 0, .max = KUR_BIG,
     .type = LAM_PARAM_F64},
    {.name = "omega_sampling",
     .doc = "quantile (deterministic, omega_j at level j/(n+1)) or random",
     .choices = "quantile|random", .def = 0, .type = LAM_PARAM_ENUM},
    {.name = "theta_init",
     .doc = "initial phases: random (uniform on [0, 2 pi)), zero, or "
            "wrapped_cauchy (deterministic quantiles of a wrapped Cauchy "
            "with mean resultant length r0, randomly permuted)",
     .choices = "random|zero|wrapped_cauchy", .def = 0,
     .type = LAM_PARAM_ENUM},
    {.name = "r0", .doc = "order parameter of the wrapped_cauchy start",
     .def = 0.1, .min = 0, .max = 1, .type = LAM_PARAM_F64},
    {.name = "forcing", .doc = "amplitude F of F sin(Omega_f t - theta + phi)",
     .units = "rad/ms", .def = 0, .min = -KUR_BIG, .max = KUR_BIG,
     .type = LAM_PARAM_F64, .flags = LAM_PARAM_MUTABLE},
    {.name = "forcing_freq", .doc = "forcing frequency Omega_f",
     .units = "rad/ms", .def = 0, .min = -KUR_BIG, .max = KUR_BIG,
     .type = LAM_PARAM_F64, .flags = LAM_PARAM_MUTABLE},
    {.name = "forcing_phase", .doc = "forcing phase phi", .units = "rad",
     .def = 0, .min = -10, .max = 10, .type = LAM_PARAM_F64,
     .flags = LAM_PARAM_MUTABLE},
    {.name = NULL}};

const lam_port_def kur__phase_ports[] = {
    {.name = "phases", .doc = "theta_i, unwrapped", .units = "rad",
     .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "velocity",
     .doc = "d theta_i / dt of the second-order model (zero otherwise)",
     .units = "rad/ms", .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "input",
     .doc = "additive phase input I_i(t) (a link from stim or another model)",
     .units = "rad/ms", .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_IN},
    {.name = "order", .doc = "(r, psi) of Z = (1/N) sum_j e^(i theta_j)",
     .shape = "2", .dtype = LAM_F64, .dir = LAM_PORT_OUT},
    {.name = "z", .doc = "(Re Z, Im Z)", .shape = "2", .dtype = LAM_F64,
     .dir = LAM_PORT_OUT},
    {.name = NULL}};

/* ---------------------------------------------------------------- */
/* Lifecycle                                                          */
/* ---------------------------------------------------------------- */

void kur__phase_destroy(void *self, lam_model_ctx *ctx) {
  kphase *p = self;
  if (!p)
    return;
  void *owned[] = {p->omega, p->w, p->rowptr, p->col, p->col16, p->lc, p->ls,
                   p->edelay, p->wt, p->dt, p->zp, p->scale, p->hc, p->hs,
                   p->hz, p->c, p->s,
                   p->fre, p->fim, p->yt, p->k1, p->k2, p->k3, p->k4,
                   p->eta, p->rng};
  for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
    kur__api->free(owned[i]);
  kur__api->free(p);
}

static int check_combination(lam_model_ctx *ctx, const kphase *p) {
  const double *par = ctx->params;
  if (par[P_NOISE] > 0 && (int)par[P_INTEGRATOR] == INT_RK4) {
    kur__api->set_error(ctx->host, "noise = %g needs integrator = euler or "
                                   "heun (rk4 is deterministic only)",
                        par[P_NOISE]);
    return LAM_EINVAL;
  }
  if (p->cpl != CPL_MEAN && (par[P_K2] != 0 || par[P_K3] != 0)) {
    kur__api->set_error(ctx->host, "k2 = %g, k3 = %g: triadic coupling needs "
                                   "coupling = mean_field",
                        par[P_K2], par[P_K3]);
    return LAM_EINVAL;
  }
  return LAM_OK;
}

int kur__phase_create(lam_model_ctx *ctx, void **self) {
  const int64_t n = (int64_t)ctx->params[P_N];
  if (!kur__port(ctx, PORT_PHASES, "phases", n))
    return LAM_EINVAL;
  kphase *p = kur__alloc(ctx, 1, sizeof *p);
  if (!p)
    return LAM_ENOMEM;
  p->n = n;
  p->cpl = (int)ctx->params[P_COUPLING];
  p->inertia = ctx->params[P_MASS] > 0;
  int rc = check_combination(ctx, p);
  double **arrays[] = {&p->omega, &p->scale, &p->c, &p->s, &p->fre, &p->fim,
                       &p->eta};
  for (size_t i = 0; rc == LAM_OK && i < sizeof arrays / sizeof *arrays; i++)
    if (!(*arrays[i] = kur__alloc(ctx, n, sizeof(double))))
      rc = LAM_ENOMEM;
  double **pairs[] = {&p->yt, &p->k1, &p->k2, &p->k3, &p->k4};
  for (size_t i = 0; rc == LAM_OK && i < sizeof pairs / sizeof *pairs; i++)
    if (!(*pairs[i] = kur__alloc(ctx, 2 * n, sizeof(double))))
      rc = LAM_ENOMEM;
  if (rc == LAM_OK && p->cpl == CPL_SPARSE &&
      !(p->zp = kur__alloc(ctx, 2 * n, sizeof *p->zp)))
    rc = LAM_ENOMEM;
  if (rc == LAM_OK && ctx->params[P_NOISE] > 0 &&
      !(p->rng = kur__alloc(ctx, n, sizeof *p->rng)))
    rc = LAM_ENOMEM;
  if (rc == LAM_OK)
    rc = kur__phase_ring(p, ctx, (int64_t)ctx->params[P_DELAY]);
  if (rc == LAM_OK && p->cpl != CPL_MEAN)
    rc = kur__phase_scale(p, ctx);
  if (rc == LAM_OK)
    rc = kur__phase_reset(p, ctx);
  if (rc != LAM_OK) {
    kur__phase_destroy(p, ctx);
    return rc;
  }
  *self = p;
  return LAM_OK;
}

/* Uniform phases on [0, 2 pi) or wrapped-Cauchy quantiles (reference
 * section 1.7), from the LAM_RNG_INIT streams 0 and 1. */
static void init_phases(kphase *p, lam_model_ctx *ctx, double *theta) {
  const int64_t n = p->n;
  const int how = (int)ctx->params[P_THETA_INIT];
  lam_rng r;
  if (how == INIT_ZERO) {
    memset(theta, 0, (size_t)n * sizeof *theta);
  } else if (how == INIT_RANDOM) {
    kur__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT, 0);
    for (int64_t i = 0; i < n; i++)
      theta[i] = 2.0 * KUR_PI * kur__api->rng_uniform(&r);
  } else {
    const double r0 = ctx->params[P_R0];
    const double q = (1.0 - r0) / (1.0 + r0);
    for (int64_t j = 0; j < n; j++)
      theta[j] = 2.0 * atan(q * tan(KUR_PI * (double)(2 * (j + 1) - n - 1) /
                                    (2.0 * (double)(n + 1))));
    kur__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT, 1);
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
      int64_t k = (int64_t)(kur__api->rng_uniform(&r) * (double)(i + 1));
      if (k > i)
        k = i;
      double t = theta[i];
      theta[i] = theta[k];
      theta[k] = t;
    }
  }
}

static void order_out(kphase *p, lam_model_ctx *ctx, const double *theta) {
  kur__phase_trig(p, theta, 1);
  double a, b;
  kur__phase_zsum(p, &a, &b);
  a /= (double)p->n;
  b /= (double)p->n;
  double *o = kur__port(ctx, PORT_ORDER, "order", 2);
  double *z = kur__port(ctx, PORT_Z, "z", 2);
  if (o) {
    o[0] = hypot(a, b);
    o[1] = atan2(b, a);
  }
  if (z) {
    z[0] = a;
    z[1] = b;
  }
}

int kur__phase_reset(void *self, lam_model_ctx *ctx) {
  kphase *p = self;
  double *theta = kur__port(ctx, PORT_PHASES, "phases", p->n);
  double *v = kur__port(ctx, PORT_VELOCITY, "velocity", p->n);
  if (!theta || !v)
    return LAM_EINVAL;
  const double *par = ctx->params;
  if (!p->omega_user) {
    lam_rng r;
    kur__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_USER + 1, 0);
    kur__omega_fill(p->omega, p->n, (int)par[P_OMEGA_DIST],
                    (int)par[P_OMEGA_SAMPLING] == 0, par[P_OMEGA0],
                    par[P_OMEGA_WIDTH], &r);
  }
  init_phases(p, ctx, theta);
  memset(v, 0, (size_t)p->n * sizeof *v);
  if (p->rng)
    for (int64_t i = 0; i < p->n; i++)
      kur__api->rng_init(&p->rng[i], ctx->seed, ctx->instance, LAM_RNG_NOISE,
                         (uint64_t)i);
  p->steps = 0;
  p->head = 0;
  p->fill_history = 1;
  p->trusted = NULL;
  order_out(p, ctx, theta);
  return LAM_OK;
}

/* ---------------------------------------------------------------- */
/* Right-hand side and integrators                                    */
/* ---------------------------------------------------------------- */

typedef struct {
  const double *par, *in;
  double fa, fc, fs; /* forcing amplitude, cos and sin of Omega_f t + phi */
  double m, gd;
} rhs_ctx;

/* d theta (and d v) at phases th, velocities v, time t. */
KUR_VEC static void rhs(kphase *p, rhs_ctx *r, double t, const double *th,
                const double *v, double *dth, double *dv, int first) {
  kur__phase_field(p, r->par, th, first);
  const int64_t n = p->n;
  const double *c = p->c, *s = p->s, *w = p->omega, *in = r->in;
  double fc = 0, fs = 0;
  if (r->fa != 0) { /* F sin(a - theta) = F (sin a cos theta - cos a sin theta) */
    const double a = r->par[P_FORCING_FREQ] * t + r->par[P_FORCING_PHASE];
    fc = r->fa * sin(a);
    fs = r->fa * cos(a);
  }
  if (p->cpl == CPL_MEAN) {
    const double hr = p->hre, hi = p->him;
    for (int64_t i = 0; i < n; i++)
      dth[i] = w[i] + in[i] + (hi + fc) * c[i] - (hr + fs) * s[i];
  } else {
    const double *hr = p->fre, *hi = p->fim;
    for (int64_t i = 0; i < n; i++)
      dth[i] = w[i] + in[i] + (hi[i] + fc) * c[i] - (hr[i] + fs) * s[i];
  }
  if (p->inertia)
    for (int64_t i = 0; i < n; i++) {
      dv[i] = (dth[i] - r->gd * v[i]) / r->m;
      dth[i] = v[i];
    }
}

/* First-order Euler(-Maruyama) in one pass: the same right-hand side as
 * rhs(), added to theta directly and fused with the cos, sin and order
 * parameter of the new phases (coupling.c), which the next step and the
 * order port reuse. */
static void euler_fused(kphase *p, rhs_ctx *r, double t, double h,
                        double *th, const double *eta, int first) {
  kur__phase_field(p, r->par, th, first);
  double fc = 0, fs = 0;
  if (r->fa != 0) {
    const double a = r->par[P_FORCING_FREQ] * t + r->par[P_FORCING_PHASE];
    fc = r->fa * sin(a);
    fs = r->fa * cos(a);
  }
  kur__phase_euler(p, th, p->input_zero ? NULL : r->in, eta, h, fc, fs);
}

KUR_VEC static void axpy(int64_t n, double *out, const double *y, double h,
                 const double *k) {
  for (int64_t i = 0; i < n; i++)
    out[i] = y[i] + h * k[i];
}

/* One sub-step of length h starting at time t.  th and v are the ports. */
KUR_VEC static void substep(kphase *p, rhs_ctx *r, int integ, double noise, double t,
                    double h, double *th, double *v, int first) {
  const int64_t n = p->n, m = p->inertia ? 2 * n : n;
  double *y2 = p->yt, *k1 = p->k1, *k2 = p->k2, *k3 = p->k3, *k4 = p->k4;
  /* Noise increments: on theta (first order) or on v (second order). */
  double *eta = p->eta;
  if (noise > 0) {
    const double g = sqrt(2.0 * noise * h) / (p->inertia ? r->m : 1.0);
    /* One draw per oscillator from its own stream; the batched call gives
     * the very normals (and stream states) of the per-stream loop, and
     * g * xi is the same product either way. */
    kur__api->rng_normal_each(p->rng, n, eta);
    for (int64_t i = 0; i < n; i++)
      eta[i] *= g;
  }
  double *tgt = p->inertia ? v : th; /* where the noise goes */
  if (integ == INT_EULER && !p->inertia) {
    euler_fused(p, r, t, h, th, noise > 0 ? eta : NULL, first);
    return;
  }
  rhs(p, r, t, th, v, k1, k1 + n, first);
  /* Everything below moves the phases without refreshing c, s. */
  p->trusted = NULL;
  if (integ == INT_EULER) {
    if (p->inertia) { /* semi-implicit: new velocity moves the phase */
      for (int64_t i = 0; i < n; i++)
        v[i] += h * k1[n + i] + (noise > 0 ? eta[i] : 0.0);
      for (int64_t i = 0; i < n; i++)
        th[i] += h * v[i];
    } else {
      for (int64_t i = 0; i < n; i++)
        th[i] += h * k1[i] + (noise > 0 ? eta[i] : 0.0);
    }
    return;
  }
  if (integ == INT_HEUN) {
    /* predictor y + h k1 + eta; corrector y + h/2 (k1 + k2) + eta */
    axpy(n, y2, th, h, k1);
    if (p->inertia)
      axpy(n, y2 + n, v, h, k1 + n);
    if (noise > 0)
      for (int64_t i = 0; i < n; i++)
        (p->inertia ? y2 + n : y2)[i] += eta[i];
    rhs(p, r, t + h, y2, y2 + n, k2, k2 + n, 0);
    for (int64_t i = 0; i < n; i++)
      th[i] += 0.5 * h * (k1[i] + k2[i]);
    if (p->inertia)
      for (int64_t i = 0; i < n; i++)
        v[i] += 0.5 * h * (k1[n + i] + k2[n + i]);
    if (noise > 0)
      for (int64_t i = 0; i < n; i++)
        tgt[i] += eta[i];
    return;
  }
  /* RK4 */
  double *ks[3] = {k1, k2, k3};
  double *kout[3] = {k2, k3, k4};
  const double frac[3] = {0.5, 0.5, 1.0};
  for (int st = 0; st < 3; st++) {
    axpy(n, y2, th, frac[st] * h, ks[st]);
    if (p->inertia)
      axpy(n, y2 + n, v, frac[st] * h, ks[st] + n);
    rhs(p, r, t + frac[st] * h, y2, y2 + n, kout[st], kout[st] + n, 0);
  }
  for (int64_t i = 0; i < m; i++) {
    double d = (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) * (h / 6.0);
    if (i < n)
      th[i] += d;
    else
      v[i - n] += d;
  }
}

int kur__phase_step(void *self, lam_model_ctx *ctx, int64_t nsteps) {
  kphase *p = self;
  const int64_t n = p->n;
  double *th = kur__port(ctx, PORT_PHASES, "phases", n);
  double *v = th ? kur__port(ctx, PORT_VELOCITY, "velocity", n) : NULL;
  const double *in = v ? kur__port(ctx, PORT_INPUT, "input", n) : NULL;
  if (!in)
    return LAM_EINVAL;
  int rc = check_combination(ctx, p);
  if (rc != LAM_OK || nsteps <= 0)
    return rc;
  const double *par = ctx->params;
  rhs_ctx r = {.par = par, .in = in, .fa = par[P_FORCING], .m = par[P_MASS],
               .gd = par[P_DAMPING]};
  const int integ = (int)par[P_INTEGRATOR];
  const int64_t sub = (int64_t)par[P_SUBSTEPS];
  const double dt = ctx->dt, h = dt / (double)sub, noise = par[P_NOISE];
  /* c, s stay valid across calls only while nothing else wrote the phases */
  if (!lam_plugin_port_kept(ctx, PORT_PHASES, &p->phases_seen))
    p->trusted = NULL;
  if (!lam_plugin_port_kept(ctx, PORT_INPUT, &p->input_seen)) {
    p->input_zero = 1;
    for (int64_t i = 0; i < n && p->input_zero; i++)
      p->input_zero = in[i] == 0.0;
  }
  for (int64_t k = 0; k < nsteps; k++) {
    if (p->depth > 1) {
      kur__phase_trig(p, th, 1); /* cos, sin of theta(t) */
      kur__phase_history(p);
    }
    for (int64_t j = 0; j < sub; j++) {
      const double t = ((double)p->steps + (double)j / (double)sub) * dt;
      substep(p, &r, integ, noise, t, h, th, v, j == 0);
    }
    p->steps++;
  }
  order_out(p, ctx, th);
  return LAM_OK;
}

/* ---------------------------------------------------------------- */
/* Checkpoint: steps, head, omega, phases, velocities, noise streams,  */
/* history ring.  The network itself is configuration: set it the same */
/* way before loading.                                                 */
/* ---------------------------------------------------------------- */

static size_t ring_bytes(const kphase *p) {
  if (p->depth <= 1)
    return 0;
  return p->cpl == CPL_MEAN ? (size_t)(4 * p->depth) * sizeof(double)
                            : (size_t)(2 * p->depth * p->n) * sizeof(double);
}

static size_t payload(const kphase *p) {
  return 3 * sizeof(int64_t) + (size_t)(3 * p->n) * sizeof(double) +
         (p->rng ? (size_t)p->n * sizeof(lam_rng) : 0) + ring_bytes(p);
}

int kur__phase_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  kphase *p = self;
  const double *th = kur__port(ctx, PORT_PHASES, "phases", p->n);
  const double *v = th ? kur__port(ctx, PORT_VELOCITY, "velocity", p->n) : NULL;
  if (!v)
    return LAM_EINVAL;
  unsigned char *w = kur__state_new(ctx, KUR_TAG_PHASE, p->n, payload(p), out);
  if (!w)
    return LAM_ENOMEM;
  const size_t nb = (size_t)p->n * sizeof(double);
  int64_t flags = p->fill_history;
  w = kur__put(w, &p->steps, sizeof p->steps);
  w = kur__put(w, &p->head, sizeof p->head);
  w = kur__put(w, &flags, sizeof flags);
  w = kur__put(w, p->omega, nb);
  w = kur__put(w, th, nb);
  w = kur__put(w, v, nb);
  if (p->rng)
    w = kur__put(w, p->rng, (size_t)p->n * sizeof(lam_rng));
  if (p->depth > 1)
    kur__put(w, p->cpl == CPL_MEAN ? p->hz : p->hc, ring_bytes(p));
  return LAM_OK;
}

int kur__phase_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  kphase *p = self;
  const unsigned char *r =
      kur__state_open(ctx, KUR_TAG_PHASE, p->n, in, payload(p));
  double *th = r ? kur__port(ctx, PORT_PHASES, "phases", p->n) : NULL;
  double *v = th ? kur__port(ctx, PORT_VELOCITY, "velocity", p->n) : NULL;
  if (!v)
    return LAM_EINVAL;
  const size_t nb = (size_t)p->n * sizeof(double);
  int64_t flags;
  r = kur__get(&p->steps, r, sizeof p->steps);
  r = kur__get(&p->head, r, sizeof p->head);
  r = kur__get(&flags, r, sizeof flags);
  r = kur__get(p->omega, r, nb);
  r = kur__get(th, r, nb);
  r = kur__get(v, r, nb);
  if (p->rng)
    r = kur__get(p->rng, r, (size_t)p->n * sizeof(lam_rng));
  if (p->depth > 1)
    kur__get(p->cpl == CPL_MEAN ? p->hz : p->hc, r, ring_bytes(p));
  p->fill_history = (int)flags;
  p->omega_user = 1; /* the restored omega survives a reset */
  p->trusted = NULL;
  order_out(p, ctx, th);
  return LAM_OK;
}
