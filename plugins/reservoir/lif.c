/*
 * lif.c - reservoir.lif: a population of leaky integrate-and-fire neurons
 * with excitatory (first n_exc) and inhibitory units, current-based (CUBA)
 * or conductance-based (COBA) exponential synapses, refractoriness,
 * per-synapse integer delays, optional pair-based STDP, and the Brette et
 * al. 2007 benchmark networks as documented parameter sets.
 *
 * CUBA:  tau_m dv/dt = (E_L - v) + g_e + g_i + I,   dg/dt = -g/tau_g
 * is linear, so it is advanced with its exact propagator (as Brian2's
 * 'exact' method or NEST's iaf_psc_exp):
 *   v <- E_L + (v - E_L) e^{-h/tau_m} + P_e g_e + P_i g_i + (1 - e^{-h/tau_m}) I
 *   P_x = tau_x/(tau_x - tau_m) (e^{-h/tau_x} - e^{-h/tau_m})   (h e^{-h/tau_m}/tau_m when equal)
 * COBA:  tau_m dv/dt = (E_L - v) + g_e (E_e - v) + g_i (E_i - v) + I
 * has no closed form; it is advanced with forward Euler (Brette et al.'s
 * benchmark 1) or exponential Euler (g's held over the step), and the
 * conductances decay exactly.
 *
 * Step order (Brian2's): integrate every neuron (v frozen while
 * refractory, g's decay), threshold v > v_th -> spike, reset, refractory
 * counter; then each spike is propagated through its CSR row: a synapse
 * with delay d adds its weight to the target's g at the end of step t + d,
 * so delay 0 shows up in the next integration step.  External increments
 * (port `input` x w_in) are added to g_e at the same point.
 */
#include <math.h>
#include <string.h>

#include "spk_int.h"

enum {
  P_N, P_EXC, P_SYN, P_COBA_METHOD, P_TAU_M, P_TAU_E, P_TAU_I, P_T_REF, P_EL,
  P_VTH, P_VRESET, P_EE, P_EI, P_WE, P_WI, P_CONNECT, P_P, P_K, P_AUTAPSES,
  P_DELAY, P_DELAY_MAX, P_VINIT, P_V0A, P_V0B, P_GE0M, P_GE0S, P_GI0M, P_GI0S,
  P_WIN, P_STDP, P_TAU_PLUS, P_TAU_MINUS, P_A_PLUS, P_A_MINUS, P_W_MAX,
  P_TAU_TRACE, P_BIN
};
enum { Q_SPIKES, Q_V, Q_GE, Q_GI, Q_IEXT, Q_INPUT, Q_TRACE, Q_COUNT };

const char resv__lif_doc[] =
    "Leaky integrate-and-fire network: n neurons, the first round(n "
    "exc_fraction) excitatory, current-based (cuba: tau_m dv/dt = E_L - v + "
    "g_e + g_i + I, exact propagator) or conductance-based (coba: tau_m "
    "dv/dt = E_L - v + g_e (E_e - v) + g_i (E_i - v) + I, Euler or "
    "exponential Euler) exponential synapses, refractory period with v "
    "frozen, random wiring with probability p (geometric skipping) or fixed "
    "in-degree, per-synapse integer delays in [delay, delay_max], optional "
    "pair-based STDP on excitatory synapses.  Defaults are the Brette et al. "
    "2007 CUBA benchmark (4000 neurons, p = 0.02, 5.2-5.8 Hz); see "
    "docs/reservoir.md for the COBA parameter set.";

const lam_param_def resv__lif_params[] = {
    SPK_I64("n", "number of neurons", 4000, 1, SPK_MAX_N),
    SPK_F64("exc_fraction", "fraction of excitatory neurons (the first ones)",
            "", 0.8, 0, 1),
    {.name = "synapse",
     .doc = "cuba: g's are currents in mV; coba: g's are conductances in "
            "units of the leak conductance",
     .choices = "cuba|coba",
     .def = 0,
     .type = LAM_PARAM_ENUM},
    {.name = "coba_method",
     .doc = "integration of v for coba (cuba is always exact): euler "
            "(Brette et al. 2007) or expeuler (g's held over the step)",
     .choices = "euler|expeuler",
     .def = 0,
     .type = LAM_PARAM_ENUM},
    SPK_F64("tau_m", "membrane time constant", "ms", 20, 1e-6, SPK_BIG),
    SPK_F64("tau_e", "excitatory synaptic time constant", "ms", 5, 1e-6,
            SPK_BIG),
    SPK_F64("tau_i", "inhibitory synaptic time constant", "ms", 10, 1e-6,
            SPK_BIG),
    SPK_F64("t_ref", "refractory period (v frozen), whole steps", "ms", 5, 0,
            SPK_BIG),
    SPK_F64("E_L", "leak reversal (resting) potential", "mV", -49, -SPK_BIG,
            SPK_BIG),
    SPK_F64("v_th", "spike threshold (v > v_th)", "mV", -50, -SPK_BIG,
            SPK_BIG),
    SPK_F64("v_reset", "reset potential (< v_th)", "mV", -60, -SPK_BIG,
            SPK_BIG),
    SPK_F64("E_e", "excitatory reversal potential (coba)", "mV", 0, -SPK_BIG,
            SPK_BIG),
    SPK_F64("E_i", "inhibitory reversal potential (coba)", "mV", -80,
            -SPK_BIG, SPK_BIG),
    SPK_F64("w_e", "increment of g_e per excitatory spike (cuba: mV; coba: "
                   "units of g_L)",
            "", 1.62, -SPK_BIG, SPK_BIG),
    SPK_F64("w_i", "increment of g_i per inhibitory spike (cuba: mV, "
                   "negative; coba: units of g_L, positive)",
            "", -9, -SPK_BIG, SPK_BIG),
    {.name = "connect",
     .doc = "probability: each ordered pair with probability p; indegree: "
            "every neuron gets exactly `indegree` distinct sources",
     .choices = "probability|indegree",
     .def = 0,
     .type = LAM_PARAM_ENUM},
    SPK_F64("p", "connection probability, in (0, 1]", "", 0.02, 0, 1),
    SPK_I64("indegree", "inputs per neuron for connect = indegree", 80, 1,
            SPK_MAX_N),
    SPK_BOOL("autapses", "allow self-connections i -> i", 1),
    SPK_F64("delay", "synaptic delay (minimum when delay_max > delay), whole "
                     "steps; 0 = effect in the next step",
            "ms", 0, 0, SPK_BIG),
    SPK_F64("delay_max", "maximum delay: per-synapse delays uniform over the "
                         "whole steps in [delay, delay_max]; < 0: = delay",
            "ms", -1, -1, SPK_BIG),
    {.name = "v_init",
     .doc = "initial v: uniform U[v0_a, v0_b], normal N(v0_a, v0_b^2) or "
            "value v0_a",
     .choices = "uniform|normal|value",
     .def = 0,
     .type = LAM_PARAM_ENUM},
    SPK_F64("v0_a", "see v_init", "mV", -60, -SPK_BIG, SPK_BIG),
    SPK_F64("v0_b", "see v_init", "mV", -50, -SPK_BIG, SPK_BIG),
    SPK_F64("ge0_mean", "initial g_e mean", "", 0, -SPK_BIG, SPK_BIG),
    SPK_F64("ge0_sd", "initial g_e standard deviation", "", 0, 0, SPK_BIG),
    SPK_F64("gi0_mean", "initial g_i mean", "", 0, -SPK_BIG, SPK_BIG),
    SPK_F64("gi0_sd", "initial g_i standard deviation", "", 0, 0, SPK_BIG),
    SPK_F64("w_in", "scale of the `input` port: g_e += w_in input each step",
            "", 1, -SPK_BIG, SPK_BIG),
    SPK_BOOL("stdp", "pair-based STDP on synapses from excitatory neurons", 0),
    SPK_F64("tau_plus", "STDP presynaptic trace time constant", "ms", 20,
            1e-6, SPK_BIG),
    SPK_F64("tau_minus", "STDP postsynaptic trace time constant", "ms", 20,
            1e-6, SPK_BIG),
    SPK_F64("a_plus", "STDP potentiation per pair, fraction of w_max", "",
            0.01, 0, SPK_BIG),
    SPK_F64("a_minus", "STDP depression per pair, fraction of w_max", "",
            0.0105, 0, SPK_BIG),
    SPK_F64("w_max", "STDP upper weight bound (weights stay in [0, w_max])",
            "", 5, 0, SPK_BIG),
    SPK_READOUT_PARAMS,
    {.name = NULL}};

const lam_port_def resv__lif_ports[] = {
    {.name = "spikes",
     .doc = "1 where the neuron fired this step (recorded as tick/index "
            "events)",
     .shape = "n",
     .dtype = LAM_U8,
     .dir = LAM_PORT_OUT,
     .flags = LAM_PORT_SPIKES},
    {.name = "v", .doc = "membrane potential", .units = "mV", .shape = "n",
     .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "g_e", .doc = "excitatory synaptic variable (cuba: mV; coba: "
                           "units of g_L)",
     .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "g_i", .doc = "inhibitory synaptic variable (cuba: mV; coba: "
                           "units of g_L)",
     .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "i_ext", .doc = "external current in mV (tau_m dv/dt gets + "
                             "i_ext), held over each step",
     .units = "mV", .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_IN},
    {.name = "input", .doc = "external spike input: g_e += w_in input at "
                             "the end of each step (link spike counts here)",
     .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_IN},
    SPK_READOUT_PORTS,
    {.name = NULL}};

typedef struct {
  int64_t n, ne;
  int coba, expeuler, stdp_on;
  spk_csr c;
  spk_stdp st;
  double *ref;   /* step until which v is frozen (double: the update
                  * vectorises); -1 when never fired */
  double *ring;  /* (max_delay + 1) x 2 x n delayed increments, or NULL */
  double *total; /* spikes per neuron since reset */
  int32_t *idx;  /* this step's spiking neurons */
  int64_t nslot, bin_steps, steps;
  double nref;
  /* propagators for step dt */
  double pm, pe, pi, pc, de, di, dtr, h;
} lif;

/* tau_x/(tau_x - tau_m) (e^{-h/tau_x} - e^{-h/tau_m}), written with expm1
 * so that it stays accurate when the two time constants are close. */
static double prop(double h, double tau_m, double tau_x) {
  if (fabs(tau_x - tau_m) < 1e-12 * tau_m)
    return h / tau_m * exp(-h / tau_m);
  return tau_x / (tau_x - tau_m) * (expm1(-h / tau_x) - expm1(-h / tau_m));
}

static void lif_free(void *self, lam_model_ctx *ctx) {
  lif *p = self;
  if (!p)
    return;
  spk__csr_free(&p->c);
  spk__stdp_free(&p->st);
  resv__api->free(p->ref);
  resv__api->free(p->ring);
  resv__api->free(p->total);
  resv__api->free(p->idx);
  resv__api->free(p);
}

static int lif_reset(void *self, lam_model_ctx *ctx) {
  lif *p = self;
  const double *q = ctx->params;
  double *v = resv__port(ctx, Q_V, "v", LAM_F64, p->n);
  double *ge = resv__port(ctx, Q_GE, "g_e", LAM_F64, p->n);
  double *gi = resv__port(ctx, Q_GI, "g_i", LAM_F64, p->n);
  double *tr = resv__port(ctx, Q_TRACE, "trace", LAM_F64, p->n);
  double *cnt = resv__port(ctx, Q_COUNT, "count", LAM_F64, p->n);
  if (!v || !ge || !gi || !tr || !cnt)
    return LAM_EINVAL;
  lam_rng r;
  resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                      SPK_STREAM_STATE);
  const int mode = (int)q[P_VINIT];
  for (int64_t i = 0; i < p->n; i++) {
    double u = mode == 0   ? q[P_V0A] + (q[P_V0B] - q[P_V0A]) *
                                            resv__api->rng_uniform(&r)
               : mode == 1 ? q[P_V0A] + q[P_V0B] * resv__api->rng_normal(&r)
                           : q[P_V0A];
    v[i] = u;
  }
  for (int64_t i = 0; i < p->n; i++) {
    ge[i] = q[P_GE0M] + (q[P_GE0S] > 0 ? q[P_GE0S] * resv__api->rng_normal(&r)
                                       : 0.0);
    gi[i] = q[P_GI0M] + (q[P_GI0S] > 0 ? q[P_GI0S] * resv__api->rng_normal(&r)
                                       : 0.0);
  }
  memset(tr, 0, (size_t)p->n * sizeof *tr);
  memset(cnt, 0, (size_t)p->n * sizeof *cnt);
  for (int64_t i = 0; i < p->n; i++)
    p->ref[i] = -1.0;
  memset(p->total, 0, (size_t)p->n * sizeof *p->total);
  if (p->ring)
    memset(p->ring, 0, (size_t)(p->nslot * 2 * p->n) * sizeof *p->ring);
  for (int64_t j = 0; j < p->c.n_src; j++)
    for (int64_t s = p->c.start[j]; s < p->c.start[j + 1]; s++)
      p->c.w[s] = j < p->ne ? q[P_WE] : q[P_WI];
  spk__stdp_clear(&p->st);
  p->steps = 0;
  return LAM_OK;
}

static int lif_create(lam_model_ctx *ctx, void **self) {
  const double *q = ctx->params;
  const int64_t n = (int64_t)q[P_N];
  if (q[P_VTH] <= q[P_VRESET]) {
    resv__api->set_error(ctx->host, "v_th = %g mV must be above v_reset = %g "
                         "mV", q[P_VTH], q[P_VRESET]);
    return LAM_ERANGE;
  }
  if ((int)q[P_CONNECT] == 0 && !(q[P_P] > 0.0)) {
    resv__api->set_error(ctx->host, "parameter 'p' = %g: a connection "
                         "probability must be in (0, 1]", q[P_P]);
    return LAM_ERANGE;
  }
  if ((int)q[P_VINIT] == 0 && q[P_V0B] < q[P_V0A]) {
    resv__api->set_error(ctx->host, "v_init = uniform needs v0_a <= v0_b "
                         "(got %g, %g)", q[P_V0A], q[P_V0B]);
    return LAM_ERANGE;
  }
  if ((int)q[P_VINIT] == 1 && q[P_V0B] < 0) {
    resv__api->set_error(ctx->host, "v_init = normal needs a standard "
                         "deviation v0_b >= 0 (got %g)", q[P_V0B]);
    return LAM_ERANGE;
  }
  int64_t dmin = spk__steps(ctx, q[P_DELAY], "delay");
  int64_t dmax = q[P_DELAY_MAX] < 0 ? dmin
                                    : spk__steps(ctx, q[P_DELAY_MAX],
                                                 "delay_max");
  int64_t nref = spk__steps(ctx, q[P_T_REF], "t_ref");
  int64_t bin = spk__steps(ctx, q[P_BIN], "bin");
  if (dmin < 0 || dmax < 0 || nref < 0 || bin < 0)
    return LAM_EINVAL;
  if (dmax < dmin) {
    resv__api->set_error(ctx->host, "delay_max = %g ms is below delay = %g "
                         "ms", q[P_DELAY_MAX], q[P_DELAY]);
    return LAM_ERANGE;
  }
  lif *p = resv__alloc(ctx, 1, sizeof *p);
  if (!p)
    return LAM_ENOMEM;
  p->n = n;
  p->ne = (int64_t)floor(q[P_EXC] * (double)n + 0.5);
  p->coba = (int)q[P_SYN] == 1;
  p->expeuler = (int)q[P_COBA_METHOD] == 1;
  p->stdp_on = q[P_STDP] != 0.0;
  p->nref = (double)nref;
  p->bin_steps = bin > 0 ? bin : 1;
  int rc = (int)q[P_CONNECT] == 0
               ? spk__connect_prob(ctx, &p->c, n, n, q[P_P], NULL, NULL,
                                   q[P_AUTAPSES] != 0.0, 0)
               : spk__connect_indegree(ctx, &p->c, n, n, (int64_t)q[P_K],
                                       q[P_AUTAPSES] != 0.0, 0);
  if (rc == LAM_OK)
    rc = spk__set_delays(ctx, &p->c, dmin, dmax, 0);
  if (rc == LAM_OK && p->stdp_on) {
    rc = spk__index_by_target(ctx, &p->c);
    if (rc == LAM_OK)
      rc = spk__stdp_init(ctx, &p->st, n, p->ne, q[P_TAU_PLUS],
                          q[P_TAU_MINUS], q[P_A_PLUS], q[P_A_MINUS],
                          q[P_W_MAX]);
  }
  if (rc == LAM_OK) {
    p->ref = resv__alloc(ctx, n, sizeof *p->ref);
    p->total = resv__alloc(ctx, n, sizeof *p->total);
    p->idx = resv__alloc(ctx, n, sizeof *p->idx);
    p->nslot = dmax + 1;
    if (dmax > 0)
      p->ring = resv__alloc(ctx, p->nslot * 2 * n, sizeof *p->ring);
    if (!p->ref || !p->total || !p->idx || (dmax > 0 && !p->ring))
      rc = LAM_ENOMEM;
  }
  if (rc == LAM_OK) {
    const double h = ctx->dt;
    p->h = h;
    p->pm = exp(-h / q[P_TAU_M]);
    p->pc = -expm1(-h / q[P_TAU_M]);
    p->pe = prop(h, q[P_TAU_M], q[P_TAU_E]);
    p->pi = prop(h, q[P_TAU_M], q[P_TAU_I]);
    p->de = exp(-h / q[P_TAU_E]);
    p->di = exp(-h / q[P_TAU_I]);
    p->dtr = q[P_TAU_TRACE] > 0 ? exp(-h / q[P_TAU_TRACE]) : 0.0;
    rc = lif_reset(p, ctx);
  }
  if (rc != LAM_OK) {
    lif_free(p, ctx);
    return rc;
  }
  *self = p;
  return LAM_OK;
}

/* The neuron passes are written as straight-line selects so that they
 * vectorise (spikes are rare and unpredictable: as jumps, the selects were
 * a quarter of the step time in mispredictions).  For these functions
 * only: -O3 with no-trapping-math, so that GCC if-converts and vectorises
 * them, and an AVX2 clone picked at load time on CPUs that have it (2x
 * faster than SSE2 here).  The arithmetic is unchanged (no fast-math, no
 * contraction into FMA: -ffp-contract=off), so every clone gives
 * bit-identical results. */
#define sel(c, a, b) ((c) ? (a) : (b))
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LIF_HOT                                                                \
  __attribute__((optimize("O3", "no-trapping-math"),                         \
                 target_clones("avx2", "default")))
#else
#define LIF_HOT
#endif

/* The integration pass of one step, for every neuron: refractory count
 * down, v integrated unless refractory, g's decay and take the external
 * input, the trace decays.  Pure double arithmetic with selects, so that
 * it vectorises; the threshold is a separate pass (lif_fire). */
#define LIF_PASS(vn)                                                           \
  do {                                                                         \
    double vv = (vn);                                                          \
    v[i] = sel(ref[i] > now, v[i], vv);                                        \
    ge[i] = ge[i] * de + win * in[i];                                          \
    gi[i] = gi[i] * di;                                                        \
  } while (0)

typedef struct {
  double *restrict v, *restrict ge, *restrict gi, *restrict ref,
      *restrict tr;
  const double *restrict iext, *restrict in;
} lif_arrays;

LIF_HOT static void update_cuba(const lif *p, const double *q, lif_arrays a,
                                double now) {
  double *restrict v = a.v, *restrict ge = a.ge, *restrict gi = a.gi;
  const double *restrict ref = a.ref;
  const double *restrict iext = a.iext, *restrict in = a.in;
  const double el = q[P_EL], pm = p->pm, pe = p->pe, pi = p->pi, pc = p->pc,
               de = p->de, di = p->di, win = q[P_WIN];
  for (int64_t i = 0; i < p->n; i++)
    LIF_PASS(el + (v[i] - el) * pm + ge[i] * pe + gi[i] * pi + iext[i] * pc);
}

LIF_HOT static void update_coba(const lif *p, const double *q, lif_arrays a,
                                double now) {
  double *restrict v = a.v, *restrict ge = a.ge, *restrict gi = a.gi;
  const double *restrict ref = a.ref;
  const double *restrict iext = a.iext, *restrict in = a.in;
  const double el = q[P_EL], ee = q[P_EE], ei = q[P_EI],
               k = p->h / q[P_TAU_M], tau = q[P_TAU_M], de = p->de,
               di = p->di, win = q[P_WIN], h = p->h;
  if (p->expeuler) {
    for (int64_t i = 0; i < p->n; i++) {
      double gt = 1.0 + ge[i] + gi[i];
      double vinf = (el + ge[i] * ee + gi[i] * ei + iext[i]) / gt;
      LIF_PASS(vinf + (v[i] - vinf) * exp(-h * gt / tau));
    }
    return;
  }
  for (int64_t i = 0; i < p->n; i++)
    LIF_PASS(v[i] + k * ((el - v[i]) + ge[i] * (ee - v[i]) +
                         gi[i] * (ei - v[i]) + iext[i]));
}

/* The trace decays only when it is switched on (tau_trace > 0), so that
 * it costs nothing otherwise. */
LIF_HOT static void decay_trace(double *restrict tr, int64_t n, double d) {
  for (int64_t i = 0; i < n; i++)
    tr[i] *= d;
}

/* Indices i with v[i] > vth into idx; returns their number.  Blocks of 8
 * are tested with a branch-free (vectorised) "any" first, because spikes
 * are rare: the plain scalar scan was a quarter of the step time. */
LIF_HOT static int64_t scan_above(const double *restrict v, int64_t n,
                                  double vth, int32_t *restrict idx) {
  int64_t m = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    int any = 0;
    for (int k = 0; k < 8; k++)
      any |= v[i + k] > vth;
    if (any)
      for (int k = 0; k < 8; k++)
        if (v[i + k] > vth)
          idx[m++] = (int32_t)(i + k);
  }
  for (; i < n; i++)
    if (v[i] > vth)
      idx[m++] = (int32_t)i;
  return m;
}

/* Threshold: the spikers are collected by scan_above, the spike port is zeroed and set for
 * them; reset, refractory end, trace and bin count for the spikers only.
 * A neuron that fires at step s is frozen while s + nref > step, i.e. it
 * integrates again at step s + nref.  Returns the number of spikers, their
 * indices in p->idx. */
static int64_t lif_fire(lif *p, const double *q, lif_arrays a,
                        uint8_t *restrict spk, double *restrict cnt) {
  int32_t *restrict idx = p->idx;
  const int64_t n = p->n;
  const int64_t m = scan_above(a.v, n, q[P_VTH], idx);
  for (int64_t i = 0; i < n; i++)
    spk[i] = 0;
  const double tin = p->dtr > 0.0 ? 1.0 : 0.0;
  const double until = (double)p->steps + p->nref;
  for (int64_t k = 0; k < m; k++) {
    const int32_t i = idx[k];
    spk[i] = 1;
    a.v[i] = q[P_VRESET];
    a.ref[i] = until;
    a.tr[i] += tin;
    cnt[i] += 1.0;
    p->total[i] += 1.0;
  }
  return m;
}

static int lif_step(void *self, lam_model_ctx *ctx, int64_t nsteps) {
  lif *p = self;
  const int64_t n = p->n;
  const double *q = ctx->params;
  uint8_t *spk = resv__port(ctx, Q_SPIKES, "spikes", LAM_U8, n);
  double *v = resv__port(ctx, Q_V, "v", LAM_F64, n);
  double *ge = resv__port(ctx, Q_GE, "g_e", LAM_F64, n);
  double *gi = resv__port(ctx, Q_GI, "g_i", LAM_F64, n);
  const double *iext = resv__port(ctx, Q_IEXT, "i_ext", LAM_F64, n);
  const double *in = resv__port(ctx, Q_INPUT, "input", LAM_F64, n);
  double *tr = resv__port(ctx, Q_TRACE, "trace", LAM_F64, n);
  double *cnt = resv__port(ctx, Q_COUNT, "count", LAM_F64, n);
  if (!spk || !v || !ge || !gi || !iext || !in || !tr || !cnt)
    return LAM_EINVAL;
  const spk_csr *c = &p->c;
  const int64_t ne = p->ne;
  const lif_arrays arr = {v, ge, gi, p->ref, tr, iext, in};
  for (int64_t t = 0; t < nsteps; t++, p->steps++) {
    /* A bin starts: its count starts from zero. */
    if (p->steps % p->bin_steps == 0)
      memset(cnt, 0, (size_t)n * sizeof *cnt);
    if (p->coba)
      update_coba(p, q, arr, (double)p->steps);
    else
      update_cuba(p, q, arr, (double)p->steps);
    if (p->dtr > 0.0)
      decay_trace(tr, n, p->dtr);
    const int64_t m = lif_fire(p, q, arr, spk, cnt);
    if (p->stdp_on) {
      spk__stdp_decay(&p->st);
      for (int64_t k = 0; k < m; k++)
        spk__stdp_pre(&p->st, &p->c, p->idx[k]);
      for (int64_t k = 0; k < m; k++)
        spk__stdp_post(&p->st, &p->c, p->idx[k]);
    }
    if (!p->ring) {
      /* Delay 0: the increments land directly in g (seen next step). */
      for (int64_t k = 0; k < m; k++) {
        const int32_t j = p->idx[k];
        double *g = j < ne ? ge : gi;
        const int32_t *tg = c->tgt;
        const double *w = c->w;
        for (int64_t s = c->start[j], e = c->start[j + 1]; s < e; s++)
          g[tg[s]] += w[s];
      }
    } else {
      const int64_t slot = p->steps % p->nslot;
      for (int64_t k = 0; k < m; k++) {
        const int32_t j = p->idx[k];
        const int64_t off = j < ne ? 0 : n;
        for (int64_t s = c->start[j]; s < c->start[j + 1]; s++) {
          int64_t d = c->delay ? c->delay[s] : c->delay0;
          int64_t sl = (p->steps + d) % p->nslot;
          p->ring[(sl * 2) * n + off + c->tgt[s]] += c->w[s];
        }
      }
      double *re = p->ring + (slot * 2) * n, *ri = re + n;
      for (int64_t i = 0; i < n; i++) {
        ge[i] += re[i];
        gi[i] += ri[i];
        re[i] = 0.0;
        ri[i] = 0.0;
      }
    }
  }
  return LAM_OK;
}

static int lif_connections(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                           int32_t n_in, lam_buf **out) {
  if (spk__no_args(ctx, n_in))
    return LAM_EINVAL;
  return spk__csr_connections(ctx, &((lif *)self)->c, out);
}

static int lif_weights(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                       int32_t n_in, lam_buf **out) {
  if (spk__no_args(ctx, n_in))
    return LAM_EINVAL;
  return spk__csr_weights(ctx, &((lif *)self)->c, out);
}

static int lif_totals(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                      int32_t n_in, lam_buf **out) {
  lif *p = self;
  if (spk__no_args(ctx, n_in))
    return LAM_EINVAL;
  return spk__vector_out(ctx, p->total, p->n, out);
}

const lam_method_def resv__lif_methods[] = {
    {.name = "connections",
     .doc = "() -> i64 [synapses, 3]: (source, target, delay in steps), "
            "0-based, ordered by source then target",
     .fn = lif_connections},
    {.name = "weights",
     .doc = "() -> f64 [synapses]: current weights in the order of "
            "connections()",
     .fn = lif_weights},
    {.name = "spike_counts",
     .doc = "() -> f64 [n]: spikes of each neuron since create/reset",
     .fn = lif_totals},
    {.name = NULL}};

/* Checkpoints (spk_state.c): the header, then in this order the ports v,
 * g_e, g_i, trace, count; the refractory ends and spike totals; the step
 * count; the delay ring; the wiring (CSR rows, targets, per-synapse delays
 * if any) and weights; the STDP traces. */
typedef struct {
  char magic[8];
  int64_t n, nsyn, nslot, stdp, has_delay, delay0;
} lif_state_head;

static const char lif_magic[8] = "lamlif1";

static size_t lif_chunks(lif *p, double *const *ports, spk_chunk *c) {
  const size_t n = (size_t)p->n, m = (size_t)p->c.nsyn;
  size_t k = 0;
  for (int i = 0; i < 5; i++)
    c[k++] = (spk_chunk){ports[i], n * 8};
  c[k++] = (spk_chunk){p->ref, n * 8};
  c[k++] = (spk_chunk){p->total, n * 8};
  c[k++] = (spk_chunk){&p->steps, 8};
  if (p->ring)
    c[k++] = (spk_chunk){p->ring, (size_t)p->nslot * 2 * n * 8};
  c[k++] = (spk_chunk){p->c.start, (n + 1) * 8};
  c[k++] = (spk_chunk){p->c.tgt, m * 4};
  if (p->c.delay)
    c[k++] = (spk_chunk){p->c.delay, m * 2};
  c[k++] = (spk_chunk){p->c.w, m * 8};
  if (p->stdp_on) {
    c[k++] = (spk_chunk){p->st.xpre, n * 8};
    c[k++] = (spk_chunk){p->st.xpost, n * 8};
  }
  return k;
}

static int lif_state_ports(lif *p, lam_model_ctx *ctx, double **ports) {
  static const struct {
    int q;
    const char *name;
  } st[] = {{Q_V, "v"}, {Q_GE, "g_e"}, {Q_GI, "g_i"}, {Q_TRACE, "trace"},
            {Q_COUNT, "count"}};
  for (int k = 0; k < 5; k++)
    if (!(ports[k] = resv__port(ctx, st[k].q, st[k].name, LAM_F64, p->n)))
      return LAM_EINVAL;
  return LAM_OK;
}

static int lif_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  lif *p = self;
  double *ports[5];
  if (lif_state_ports(p, ctx, ports) != LAM_OK)
    return LAM_EINVAL;
  lif_state_head h = {{0}, p->n, p->c.nsyn, p->nslot, p->stdp_on,
                      p->c.delay != NULL, p->c.delay0};
  memcpy(h.magic, lif_magic, sizeof h.magic);
  spk_chunk c[16];
  return spk__state_save(ctx, &h, sizeof h, c, lif_chunks(p, ports, c), out);
}

static int lif_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  lif *p = self;
  double *ports[5];
  lif_state_head h;
  if (lif_state_ports(p, ctx, ports) != LAM_OK ||
      spk__state_head(ctx, in, &h, sizeof h, "reservoir.lif") != LAM_OK)
    return LAM_EINVAL;
  if (memcmp(h.magic, lif_magic, sizeof h.magic) != 0 || h.n != p->n ||
      h.nslot != p->nslot || h.stdp != p->stdp_on) {
    resv__api->set_error(ctx->host, "reservoir.lif: not a state of this "
                         "network's shape (n %lld, delay slots %lld, stdp %d "
                         "expected)",
                         (long long)p->n, (long long)p->nslot, p->stdp_on);
    return LAM_EINVAL;
  }
  int rc = spk__state_csr(ctx, &p->c, h.nsyn, h.has_delay != 0);
  if (rc != LAM_OK)
    return rc;
  spk_chunk c[16];
  rc = spk__state_read(ctx, in, sizeof h, c, lif_chunks(p, ports, c),
                       "reservoir.lif");
  if (rc != LAM_OK)
    return rc;
  p->c.delay0 = (int32_t)h.delay0;
  return spk__state_csr_check(ctx, &p->c, (int32_t)p->nslot,
                              "reservoir.lif");
}

const lam_model_def resv__lif_def = {.name = "reservoir.lif",
                                     .doc = resv__lif_doc,
                                     .params = resv__lif_params,
                                     .ports = resv__lif_ports,
                                     .methods = resv__lif_methods,
                                     .create = lif_create,
                                     .reset = lif_reset,
                                     .step = lif_step,
                                     .destroy = lif_free,
                                     .save_state = lif_save,
                                     .load_state = lif_load,
                                     .flags = LAM_MODEL_STOCHASTIC};
