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
  double *ref;   /* step until which v is frozen; -1 when never fired */
  int32_t *frz;  /* the neurons frozen now (ref > step), nfrz of them */
  double *vfrz;  /* their v before this step's integration */
  int64_t nfrz;
  uint8_t *touched; /* nslot: the ring slot holds increments */
  int wuni;         /* every weight from E is wu[0], from I wu[1] */
  double wu[2];
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
  resv__api->free(p->frz);
  resv__api->free(p->vfrz);
  resv__api->free(p->ring);
  resv__api->free(p->touched);
  resv__api->free(p->total);
  resv__api->free(p->idx);
  resv__api->free(p);
}

/* Without plasticity every weight from an excitatory source is one value
 * and from an inhibitory one another (the benchmark networks); spike
 * propagation then reads no weight array, only targets: less than half
 * the memory traffic per synaptic event.  Checked on the actual weights
 * (reset and load_state), so a loaded state with other weights is
 * honoured. */
static void lif_uniform(lif *p) {
  const spk_csr *c = &p->c;
  p->wuni = !p->stdp_on;
  p->wu[0] = p->wu[1] = 0.0;
  int seen[2] = {0, 0};
  for (int64_t j = 0; j < c->n_src && p->wuni; j++)
    for (int64_t s = c->start[j]; s < c->start[j + 1] && p->wuni; s++) {
      const int e = j >= p->ne;
      if (!seen[e])
        p->wu[e] = c->w[s], seen[e] = 1;
      /* Bitwise equal (0.0 and -0.0 differ in what they add). */
      p->wuni = memcmp(&p->wu[e], &c->w[s], sizeof(double)) == 0;
    }
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
  p->nfrz = 0;
  memset(p->total, 0, (size_t)p->n * sizeof *p->total);
  if (p->ring) {
    memset(p->ring, 0, (size_t)(p->nslot * 2 * p->n) * sizeof *p->ring);
    memset(p->touched, 0, (size_t)p->nslot);
  }
  for (int64_t j = 0; j < p->c.n_src; j++)
    for (int64_t s = p->c.start[j]; s < p->c.start[j + 1]; s++)
      p->c.w[s] = j < p->ne ? q[P_WE] : q[P_WI];
  lif_uniform(p);
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
    p->frz = resv__alloc(ctx, n, sizeof *p->frz);
    p->vfrz = resv__alloc(ctx, n, sizeof *p->vfrz);
    p->total = resv__alloc(ctx, n, sizeof *p->total);
    p->idx = resv__alloc(ctx, n, sizeof *p->idx);
    p->nslot = dmax + 1;
    if (dmax > 0) {
      p->ring = resv__alloc(ctx, p->nslot * 2 * n, sizeof *p->ring);
      p->touched = resv__alloc(ctx, p->nslot, 1);
    }
    if (!p->ref || !p->frz || !p->vfrz || !p->total || !p->idx ||
        (dmax > 0 && (!p->ring || !p->touched)))
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

/* The neuron pass: one sweep over the neurons that integrates them and
 * collects the ones above threshold, branch-free except for the rare
 * block that holds a spike, on GCC/clang generic vectors of four doubles,
 * so that integration and the threshold test share one load of each
 * array (as a separate scalar scan, the threshold test alone cost 80 % of
 * the integration).  For these functions only: -O3 with no-trapping-math
 * and an AVX2 clone picked at load time on CPUs that have it (the default
 * clone runs the same vectors as SSE2 pairs; an AVX-512 clone of 8-wide
 * vectors was slower).  The arithmetic is the scalar one, operation for
 * operation (no fast-math, no contraction into FMA: -ffp-contract=off),
 * so every clone and the scalar tail give bit-identical results. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LIF_HOT                                                                \
  __attribute__((optimize("O3", "no-trapping-math"),                         \
                 target_clones("avx2", "default")))
#else
#define LIF_HOT
#endif
#if defined(__GNUC__) && !defined(LIF_SCALAR) /* -DLIF_SCALAR: for tests */
#define LIF_VEC 1
typedef double lif_vd __attribute__((vector_size(32)));
typedef int64_t lif_vi __attribute__((vector_size(32)));
#define LIF_B(x) ((lif_vd){(x), (x), (x), (x)})
#else
#define LIF_VEC 0
#endif

/* One neuron i, scalar: v integrated, g's decay and g_e takes the
 * external input; then the threshold test.  Refractory neurons are
 * integrated too and put back afterwards (lif_unfreeze): they are a few
 * percent of the neurons, and a per-neuron refractory test in this pass
 * cost a load and a select for every neuron. */
#define LIF_PASS(vn)                                                           \
  do {                                                                         \
    v[i] = (vn);                                                               \
    ge[i] = ge[i] * de + win * in[i];                                          \
    gi[i] = gi[i] * di;                                                        \
    if (v[i] > vth)                                                            \
      idx[m++] = (int32_t)i;                                                   \
  } while (0)

/* Four neurons j .. j + 3 as one vector (V, GE, GI, IE, IN loaded for VN,
 * the new v), the same operations as LIF_PASS; the threshold test is
 * or-ed into `acc`.  Unaligned loads and stores through memcpy. */
#define LIF_VPASS(VN)                                                          \
  do {                                                                         \
    lif_vd V, GE, GI, IE, IN;                                                  \
    memcpy(&V, v + j, sizeof V);                                               \
    memcpy(&GE, ge + j, sizeof GE);                                            \
    memcpy(&GI, gi + j, sizeof GI);                                            \
    memcpy(&IE, iext + j, sizeof IE);                                          \
    memcpy(&IN, in + j, sizeof IN);                                            \
    V = (VN);                                                                  \
    GE = GE * DE + WIN * IN;                                                   \
    GI = GI * DI;                                                              \
    memcpy(v + j, &V, sizeof V);                                               \
    memcpy(ge + j, &GE, sizeof GE);                                            \
    memcpy(gi + j, &GI, sizeof GI);                                            \
    acc |= V > VTH;                                                            \
  } while (0)

/* The vector loop over blocks of 16 neurons (four vectors); a block with
 * a neuron above threshold (rare) is scanned for it, and the spiker's row
 * of targets is prefetched: rows are scattered over the synapse arrays,
 * mostly outside the caches the pass is streaming through, and the rest
 * of the pass hides their latency (a third of the propagation time was
 * spent waiting for the first load of each row).  Leaves i at the first
 * neuron not done. */
#define LIF_VLOOP(VN)                                                          \
  do {                                                                         \
    const lif_vd DE = LIF_B(de), DI = LIF_B(di), WIN = LIF_B(win),             \
                 VTH = LIF_B(vth);                                             \
    for (; i + 16 <= n; i += 16) {                                             \
      lif_vi acc = {0, 0, 0, 0};                                               \
      for (int64_t j = i; j < i + 16; j += 4)                                  \
        LIF_VPASS(VN);                                                         \
      if (acc[0] | acc[1] | acc[2] | acc[3])                                   \
        for (int64_t u = i; u < i + 16; u++)                                   \
          if (v[u] > vth) {                                                    \
            idx[m++] = (int32_t)u;                                             \
            for (const int32_t *t = tgt + st[u]; t < tgt + st[u + 1]; t += 16) \
              __builtin_prefetch(t);                                           \
          }                                                                    \
    }                                                                          \
  } while (0)

typedef struct {
  double *restrict v, *restrict ge, *restrict gi, *restrict ref,
      *restrict tr;
  const double *restrict iext, *restrict in;
} lif_arrays;

/* The arrays and constants every pass names. */
#define LIF_LOCALS                                                             \
  double *restrict v = a.v, *restrict ge = a.ge, *restrict gi = a.gi;          \
  const double *restrict iext = a.iext, *restrict in = a.in;                   \
  const double el = q[P_EL], vth = q[P_VTH], de = p->de, di = p->di,           \
               win = q[P_WIN];                                                 \
  const int64_t n = p->n;                                                      \
  const int64_t *restrict st = p->c.start;                                     \
  const int32_t *restrict tgt = p->c.tgt;                                      \
  int64_t m = 0, i = 0

/* Each pass integrates one step and returns the number of neurons above
 * threshold, their indices ascending in idx. */
LIF_HOT static int64_t pass_cuba(const lif *p, const double *q, lif_arrays a,
                                 int32_t *restrict idx) {
  LIF_LOCALS;
  const double pm = p->pm, pe = p->pe, pi = p->pi, pc = p->pc;
  (void)st, (void)tgt; /* for the prefetches of the vector loop */
#if LIF_VEC
  const lif_vd EL = LIF_B(el), PM = LIF_B(pm), PE = LIF_B(pe),
               PI = LIF_B(pi), PC = LIF_B(pc);
  LIF_VLOOP(EL + (V - EL) * PM + GE * PE + GI * PI + IE * PC);
#endif
  for (; i < n; i++)
    LIF_PASS(el + (v[i] - el) * pm + ge[i] * pe + gi[i] * pi + iext[i] * pc);
  return m;
}

LIF_HOT static int64_t pass_coba(const lif *p, const double *q, lif_arrays a,
                                 int32_t *restrict idx) {
  LIF_LOCALS;
  const double ee = q[P_EE], ei = q[P_EI], k = p->h / q[P_TAU_M],
               tau = q[P_TAU_M], h = p->h;
  if (p->expeuler) {
    /* exp() per neuron: scalar. */
    for (; i < n; i++) {
      double gt = 1.0 + ge[i] + gi[i];
      double vinf = (el + ge[i] * ee + gi[i] * ei + iext[i]) / gt;
      LIF_PASS(vinf + (v[i] - vinf) * exp(-h * gt / tau));
    }
    return m;
  }
  (void)st, (void)tgt;
#if LIF_VEC
  const lif_vd EL = LIF_B(el), EE = LIF_B(ee), EI = LIF_B(ei), K = LIF_B(k);
  LIF_VLOOP(V + K * ((EL - V) + GE * (EE - V) + GI * (EI - V) + IE));
#endif
  for (; i < n; i++)
    LIF_PASS(v[i] + k * ((el - v[i]) + ge[i] * (ee - v[i]) +
                         gi[i] * (ei - v[i]) + iext[i]));
  return m;
}

/* The trace decays only when it is switched on (tau_trace > 0), so that
 * it costs nothing otherwise. */
LIF_HOT static void decay_trace(double *restrict tr, int64_t n, double d) {
  for (int64_t i = 0; i < n; i++)
    tr[i] *= d;
}

/* Refractoriness: a neuron that fires at step s is frozen (v unchanged)
 * while ref = s + nref > step, i.e. it integrates again at step s + nref.
 * Before the pass, the list of frozen neurons drops those whose end has
 * come and keeps the v of the others; after the pass, their v is put
 * back.  The pass's threshold test saw their integrated v: when one of
 * them was above threshold, or a frozen v is (only if v was written from
 * outside), the spikers are collected again from the final v. */
static void lif_freeze(lif *p, const double *v) {
  const double now = (double)p->steps;
  int64_t keep = 0;
  for (int64_t k = 0; k < p->nfrz; k++) {
    const int32_t i = p->frz[k];
    if (p->ref[i] > now) {
      p->frz[keep] = i;
      p->vfrz[keep++] = v[i];
    }
  }
  p->nfrz = keep;
}

static int64_t lif_unfreeze(lif *p, double *v, double vth, int64_t m) {
  int redo = 0;
  for (int64_t k = 0; k < p->nfrz; k++) {
    const int32_t i = p->frz[k];
    redo |= (v[i] > vth) | (p->vfrz[k] > vth);
    v[i] = p->vfrz[k];
  }
  if (!redo)
    return m;
  m = 0;
  for (int64_t i = 0; i < p->n; i++)
    if (v[i] > vth)
      p->idx[m++] = (int32_t)i;
  return m;
}

/* Rebuilds the frozen list from ref (after load_state). */
static void lif_frozen_from_ref(lif *p) {
  p->nfrz = 0;
  for (int64_t i = 0; i < p->n; i++)
    if (p->ref[i] > (double)p->steps)
      p->frz[p->nfrz++] = (int32_t)i;
}

/* Threshold crossings (the m neurons in p->idx): the spike port is zeroed
 * and set for them; reset, refractory end (and the frozen list), trace
 * and bin count for the spikers only. */
static void lif_fire(lif *p, const double *q, lif_arrays a, int64_t m,
                     uint8_t *restrict spk, double *restrict cnt) {
  const int32_t *restrict idx = p->idx;
  memset(spk, 0, (size_t)p->n);
  const double tin = p->dtr > 0.0 ? 1.0 : 0.0;
  const double now = (double)p->steps, until = now + p->nref;
  for (int64_t k = 0; k < m; k++) {
    const int32_t i = idx[k];
    spk[i] = 1;
    if (!(a.ref[i] > now)) /* else already in the list */
      p->frz[p->nfrz++] = i;
    a.v[i] = q[P_VRESET];
    a.ref[i] = until;
    a.tr[i] += tin;
    cnt[i] += 1.0;
    p->total[i] += 1.0;
  }
}

/* Delays: a synapse with delay d adds its weight into slot (step + d) mod
 * nslot of the ring (E and I halves); the slot of this step is then added
 * into g and cleared -- only when something was written into it (spikes
 * are rare; `touched` says which slots hold increments). */
static void lif_delayed(lif *p, double *restrict ge, double *restrict gi,
                        int64_t m) {
  const spk_csr *c = &p->c;
  const int64_t n = p->n, ne = p->ne, nslot = p->nslot;
  const int64_t now = p->steps % nslot;
  for (int64_t k = 0; k < m; k++) {
    const int32_t j = p->idx[k];
    const int64_t off = j < ne ? 0 : n;
    for (int64_t s = c->start[j]; s < c->start[j + 1]; s++) {
      int64_t sl = now + (c->delay ? c->delay[s] : c->delay0);
      if (sl >= nslot)
        sl -= nslot;
      p->ring[(sl * 2) * n + off + c->tgt[s]] += c->w[s];
      p->touched[sl] = 1;
    }
  }
  if (!p->touched[now])
    return;
  p->touched[now] = 0;
  double *restrict re = p->ring + (now * 2) * n, *restrict ri = re + n;
  for (int64_t i = 0; i < n; i++) {
    ge[i] += re[i];
    gi[i] += ri[i];
    re[i] = 0.0;
    ri[i] = 0.0;
  }
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
    lif_freeze(p, v);
    int64_t m = p->coba ? pass_coba(p, q, arr, p->idx)
                        : pass_cuba(p, q, arr, p->idx);
    m = lif_unfreeze(p, v, q[P_VTH], m);
    if (p->dtr > 0.0)
      decay_trace(tr, n, p->dtr);
    lif_fire(p, q, arr, m, spk, cnt);
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
        double *restrict g = j < ne ? ge : gi;
        const int32_t *restrict tg = c->tgt + c->start[j];
        const int64_t len = c->start[j + 1] - c->start[j];
        if (p->wuni) {
          const double wj = p->wu[j >= ne];
          for (int64_t s = 0; s < len; s++)
            g[tg[s]] += wj;
        } else {
          const double *restrict w = c->w + c->start[j];
          for (int64_t s = 0; s < len; s++)
            g[tg[s]] += w[s];
        }
      }
    } else {
      lif_delayed(p, ge, gi, m);
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
  spk_chunk c[16];
  return spk__state_save(ctx, lif_magic, &h, sizeof h, c,
                         lif_chunks(p, ports, c), out);
}

static int lif_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  lif *p = self;
  double *ports[5];
  lif_state_head h;
  if (lif_state_ports(p, ctx, ports) != LAM_OK ||
      spk__state_head(ctx, in, &h, sizeof h, lif_magic, "reservoir.lif") !=
          LAM_OK)
    return LAM_EINVAL;
  if (h.n != p->n || h.nslot != p->nslot || h.stdp != p->stdp_on ||
      h.nsyn < 0 || h.nsyn > INT32_MAX) {
    resv__api->set_error(ctx->host, "reservoir.lif: not a state of this "
                         "network's shape (n %lld, delay slots %lld, stdp %d "
                         "expected)",
                         (long long)p->n, (long long)p->nslot, p->stdp_on);
    return LAM_EINVAL;
  }
  spk_chunk c[16];
  const int64_t m0 = p->c.nsyn, d0 = p->c.delay ? 2 * m0 : 0;
  if (spk__state_size(ctx, in, sizeof h, c, lif_chunks(p, ports, c),
                      (h.nsyn - m0) * 12 + (h.has_delay ? 2 * h.nsyn : 0) - d0,
                      "reservoir.lif") != LAM_OK)
    return LAM_EINVAL;
  int rc = spk__state_csr(ctx, &p->c, h.nsyn, h.has_delay != 0);
  if (rc != LAM_OK)
    return rc;
  rc = spk__state_read(ctx, in, sizeof h, c, lif_chunks(p, ports, c),
                       "reservoir.lif");
  if (rc != LAM_OK)
    return rc;
  p->c.delay0 = (int32_t)h.delay0;
  lif_frozen_from_ref(p);
  lif_uniform(p);
  if (p->ring) /* conservatively: every slot may hold increments */
    memset(p->touched, 1, (size_t)p->nslot);
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
