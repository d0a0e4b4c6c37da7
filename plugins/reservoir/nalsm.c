/*
 * nalsm.c - reservoir.nalsm: the neuron-astrocyte liquid state machine of
 * Ivanov & Michmizos (NeurIPS 2021), as specified by its code
 * (combra-lab/NALSM): a 3-D grid liquid with distance-dependent wiring,
 * input neurons driven by per-step Bernoulli probabilities, trace STDP
 * whose depression rate is one astrocyte state A driven by (liquid spikes
 * - input spikes), and the branching factor measured on the wiring.
 *
 * Everything is dimensionless and one model step is one NALSM time step
 * (1 ms; use dt = 1).  Per step, in the original's order:
 *   1. threshold: v > v_th and not refractory -> spike (liquid and input
 *      neurons alike); reset v <- 0; refractory for `refractory` steps
 *      (blocks firing only, v keeps integrating);
 *   2. the presynaptic timer s_j of every spiking source restarts at 0;
 *   3. v <- v + sum_j w_ij e^{-s_j/tau_ij}/tau_ij + I + b - v/tau_v, with
 *      tau_ij in {1, 2} per synapse and I = drive (input neurons, with
 *      probability `input`[k] each step, else 0);
 *   4. timers advance (clipped at 100);
 *   5. STDP (when plastic): pre E/input -> post: +eta_p x_j on a post
 *      spike, -A x_i on a pre spike; pre I: -A x_j on a post spike,
 *      +eta_p x_i on a pre spike; clip to [0, w_max] (E), [-w_max, 0] (I),
 *      [-w_max, w_max] (input);
 *   6. traces x <- q (x + 0.1 s), q = e^{-1/tau_x};
 *   7. astrocyte A <- A + (w_A (liquid spikes - input spikes) + b_A -
 *      A)/tau_A (held at b_A when astro = false).
 * The kernel term uses only the latest spike of each source (the
 * original resets the timer; overlapping kernels are not summed).
 * Deviation: a source whose timer reached `kernel_cut` steps no longer
 * contributes (e^{-40/2}/2 < 1.1e-9 per unit weight, against a threshold
 * of 20), which makes the step event-driven.
 */
#include <math.h>
#include <string.h>

#include "spk_int.h"

enum {
  P_D1, P_D2, P_D3, P_INPUTS, P_EXC, P_LAMBDA, P_CEE, P_CEI, P_CIE, P_CII,
  P_IN_DENSITY, P_W_INIT, P_W_MAX, P_TAU_V, P_VTH, P_B, P_REF, P_DRIVE,
  P_TAU_X, P_ETA, P_PLASTIC, P_ASTRO, P_WA, P_TAU_A, P_BA, P_CUT
};
enum { Q_SPIKES, Q_IN_SPIKES, Q_INPUT, Q_V, Q_ASTRO, Q_COUNT, Q_BRANCH };

const lam_param_def resv__nalsm_params[] = {
    SPK_I64("d1", "liquid grid size along x", 10, 1, 1000),
    SPK_I64("d2", "liquid grid size along y", 10, 1, 1000),
    SPK_I64("d3", "liquid grid size along z", 10, 1, 1000),
    SPK_I64("inputs", "number of input neurons (784 for 28x28 images)", 784,
            1, SPK_MAX_N),
    SPK_F64("exc_fraction", "fraction of excitatory liquid neurons", "", 0.8,
            0, 1),
    SPK_F64("lambda", "wiring length: p = C exp(-(D/lambda)^2)", "grid units",
            3, 1e-9, SPK_BIG),
    SPK_F64("c_ee", "C for E -> E", "", 0.2, 0, 1),
    SPK_F64("c_ei", "C for E -> I", "", 0.1, 0, 1),
    SPK_F64("c_ie", "C for I -> E", "", 0.3, 0, 1),
    SPK_F64("c_ii", "C for I -> I", "", 0.05, 0, 1),
    SPK_F64("in_density", "fraction of all (liquid, input) pairs wired, in "
                          "(0, 1]",
            "", 0.15, 0, 1),
    SPK_F64("w_init", "initial weight magnitude (sign: E +, I -, input "
                      "random)",
            "", 3, 0, SPK_BIG),
    SPK_F64("w_max", "weight bound for plasticity", "", 3, 0, SPK_BIG),
    SPK_F64("tau_v", "membrane time constant", "steps", 64, 1, SPK_BIG),
    SPK_F64("v_th", "threshold", "", 20, -SPK_BIG, SPK_BIG),
    SPK_F64("b", "bias input per step", "", 0, -SPK_BIG, SPK_BIG),
    SPK_I64("refractory", "steps after a spike in which a neuron cannot "
                          "fire",
            2, 0, 1000),
    SPK_F64("drive", "input given to an input neuron on a Bernoulli event",
            "", 100, 0, SPK_BIG),
    SPK_F64("tau_x", "STDP trace time constant (q = e^{-1/tau_x})", "steps",
            10, 1e-9, SPK_BIG),
    SPK_F64("eta_p", "potentiation rate", "", 0.15, 0, SPK_BIG),
    {.name = "plastic",
     .doc = "STDP on (false: frozen liquid)",
     .def = 1,
     .type = LAM_PARAM_BOOL,
     .flags = LAM_PARAM_MUTABLE},
    SPK_BOOL("astro", "astrocyte on (false: depression rate fixed at b_A)",
             1),
    SPK_F64("w_A", "astrocyte gain on (liquid - input) spikes (0.015 for "
                   "1000 neurons, 0.0075 for 8000)",
            "", 0.015, -SPK_BIG, SPK_BIG),
    SPK_F64("tau_A", "astrocyte time constant", "steps", 100, 1, SPK_BIG),
    SPK_F64("b_A", "astrocyte bias and initial value A0", "", 0.15,
            -SPK_BIG, SPK_BIG),
    SPK_I64("kernel_cut", "steps after which a presynaptic spike stops "
                          "contributing (see doc)",
            40, 1, 100),
    {.name = NULL}};

const lam_port_def resv__nalsm_ports[] = {
    {.name = "spikes", .doc = "liquid spikes this step", .shape = "d1,d2,d3",
     .dtype = LAM_U8, .dir = LAM_PORT_OUT, .flags = LAM_PORT_SPIKES},
    {.name = "in_spikes", .doc = "input-neuron spikes this step",
     .shape = "inputs", .dtype = LAM_U8, .dir = LAM_PORT_OUT,
     .flags = LAM_PORT_SPIKES},
    {.name = "input", .doc = "per-step probability that each input neuron "
                             "receives `drive` (pixel intensities)",
     .shape = "inputs", .dtype = LAM_F64, .dir = LAM_PORT_IN},
    {.name = "v", .doc = "liquid membrane potentials", .shape = "d1,d2,d3",
     .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "astro", .doc = "astrocyte state A (the depression rate)",
     .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "count", .doc = "liquid spikes since the last reset or "
                             "reset_sample (readout features)",
     .shape = "d1,d2,d3", .dtype = LAM_F64, .dir = LAM_PORT_STATE,
     .flags = LAM_PORT_NOCHECK},
    {.name = "branching", .doc = "branching factor since the last reset or "
                                 "reset_sample: spikes of the targets of "
                                 "each spike in the next step, per spike",
     .dtype = LAM_F64, .dir = LAM_PORT_OUT, .flags = LAM_PORT_NOCHECK},
    {.name = NULL}};

typedef struct {
  int64_t n, ni, ne, ns; /* liquid, inputs, excitatory, sources = n + ni */
  spk_csr c;             /* sources 0..n-1 liquid, n..n+ni-1 inputs */
  uint8_t *tau2;         /* per synapse: 1 when tau = 2 */
  int64_t ntau2;         /* its length (= c.nsyn) */
  double *vin, *isyn, *x, *ref;
  int32_t *timer;
  int32_t *act; /* sources whose kernel still contributes */
  int64_t nact;
  int32_t *idx, *prev; /* this and the previous step's source spikes */
  int64_t m, mprev;
  uint8_t *fired; /* per source, this step */
  double anc, desc;
  int32_t *pos; /* grid index of each liquid neuron */
  lam_rng drive;
} nalsm;

typedef struct {
  const nalsm *p;
  int64_t d1, d2;
  double lam2, c[2][2];
} wiring;

static double pair_prob(const void *data, int64_t j, int64_t i) {
  const wiring *w = data;
  int32_t a = w->p->pos[j], b = w->p->pos[i];
  double dx = (double)(a % w->d1 - b % w->d1);
  double dy = (double)((a / w->d1) % w->d2 - (b / w->d1) % w->d2);
  double dz = (double)(a / (w->d1 * w->d2) - b / (w->d1 * w->d2));
  return w->c[j >= w->p->ne][i >= w->p->ne] *
         exp(-(dx * dx + dy * dy + dz * dz) / w->lam2);
}

static void nalsm_free(void *self, lam_model_ctx *ctx) {
  nalsm *p = self;
  if (!p)
    return;
  spk__csr_free(&p->c);
  void *bufs[] = {p->tau2, p->vin, p->isyn, p->x,    p->ref,   p->timer,
                  p->act,  p->idx, p->prev, p->fired, p->pos};
  for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++)
    resv__api->free(bufs[k]);
  resv__api->free(p);
}

/* Per-sample state back to its start; weights persist. */
static int sample_reset(nalsm *p, lam_model_ctx *ctx) {
  double *v = resv__port(ctx, Q_V, "v", LAM_F64, p->n);
  double *a = resv__port(ctx, Q_ASTRO, "astro", LAM_F64, 1);
  double *cnt = resv__port(ctx, Q_COUNT, "count", LAM_F64, p->n);
  double *br = resv__port(ctx, Q_BRANCH, "branching", LAM_F64, 1);
  if (!v || !a || !cnt || !br)
    return LAM_EINVAL;
  memset(v, 0, (size_t)p->n * sizeof *v);
  memset(cnt, 0, (size_t)p->n * sizeof *cnt);
  memset(p->vin, 0, (size_t)p->ni * sizeof *p->vin);
  memset(p->x, 0, (size_t)p->ns * sizeof *p->x);
  memset(p->ref, 0, (size_t)p->ns * sizeof *p->ref);
  memset(p->fired, 0, (size_t)p->ns);
  for (int64_t j = 0; j < p->ns; j++)
    p->timer[j] = 100;
  p->nact = p->m = p->mprev = 0;
  p->anc = p->desc = 0.0;
  *a = ctx->params[P_BA];
  *br = 0.0;
  return LAM_OK;
}

static int nalsm_reset(void *self, lam_model_ctx *ctx) {
  nalsm *p = self;
  const double *q = ctx->params;
  /* Initial weights: magnitude w_init, sign by source type; input signs
   * from the weight streams. */
  for (int64_t j = 0; j < p->ns; j++) {
    lam_rng r;
    resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                        SPK_STREAM_WEIGHT + (uint64_t)j);
    for (int64_t s = p->c.start[j]; s < p->c.start[j + 1]; s++)
      p->c.w[s] = j < p->ne  ? q[P_W_INIT]
                  : j < p->n ? -q[P_W_INIT]
                             : (resv__api->rng_uniform(&r) < 0.5 ? -1.0 : 1.0) *
                                   q[P_W_INIT];
  }
  resv__api->rng_init(&p->drive, ctx->seed, ctx->instance, LAM_RNG_NOISE, 0);
  return sample_reset(p, ctx);
}

/* Input wiring: exactly round(density n ni) of the n ni (liquid, input)
 * pairs, chosen uniformly by selection sampling (Knuth's algorithm S) in
 * one pass; appended as rows n .. n + ni - 1 of the recurrent CSR. */
static int wire_inputs(lam_model_ctx *ctx, nalsm *p, const spk_csr *rec,
                       double density) {
  const int64_t n = p->n, ni = p->ni;
  int64_t need = (int64_t)floor(density * (double)n * (double)ni + 0.5);
  spk_csr *c = &p->c;
  memset(c, 0, sizeof *c);
  c->n_src = p->ns;
  c->n_tgt = n;
  c->nsyn = rec->nsyn + need;
  c->start = resv__alloc(ctx, p->ns + 1, sizeof *c->start);
  c->tgt = resv__alloc(ctx, c->nsyn, sizeof *c->tgt);
  c->w = resv__alloc(ctx, c->nsyn, sizeof *c->w);
  if (!c->start || !c->tgt || !c->w)
    return LAM_ENOMEM;
  memcpy(c->start, rec->start, (size_t)(n + 1) * sizeof *c->start);
  if (rec->nsyn)
    memcpy(c->tgt, rec->tgt, (size_t)rec->nsyn * sizeof *c->tgt);
  lam_rng r;
  resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                      SPK_STREAM_CONN + (uint64_t)n);
  int64_t left = n * ni, s = rec->nsyn;
  for (int64_t k = 0; k < ni; k++) {
    for (int64_t i = 0; i < n; i++, left--)
      if ((double)left * resv__api->rng_uniform(&r) < (double)need) {
        c->tgt[s++] = (int32_t)i;
        need--;
      }
    c->start[n + k + 1] = s;
  }
  return LAM_OK;
}

static int nalsm_create(lam_model_ctx *ctx, void **self) {
  const double *q = ctx->params;
  if (!(q[P_IN_DENSITY] > 0.0)) {
    resv__api->set_error(ctx->host, "parameter 'in_density' = %g: a density "
                         "must be in (0, 1]", q[P_IN_DENSITY]);
    return LAM_ERANGE;
  }
  nalsm *p = resv__alloc(ctx, 1, sizeof *p);
  if (!p)
    return LAM_ENOMEM;
  const int64_t d1 = (int64_t)q[P_D1], d2 = (int64_t)q[P_D2];
  p->n = d1 * d2 * (int64_t)q[P_D3];
  p->ni = (int64_t)q[P_INPUTS];
  p->ns = p->n + p->ni;
  p->ne = (int64_t)floor(q[P_EXC] * (double)p->n + 0.5);
  int rc = LAM_ENOMEM;
  p->pos = resv__alloc(ctx, p->n, sizeof *p->pos);
  if (!p->pos)
    goto fail;
  /* Grid positions randomly permuted (Fisher-Yates). */
  lam_rng r;
  resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                      SPK_STREAM_LAYOUT);
  for (int64_t i = 0; i < p->n; i++)
    p->pos[i] = (int32_t)i;
  for (int64_t i = p->n - 1; i > 0; i--) {
    int64_t k = (int64_t)(resv__api->rng_uniform(&r) * (double)(i + 1));
    if (k > i)
      k = i;
    int32_t t = p->pos[i];
    p->pos[i] = p->pos[k];
    p->pos[k] = t;
  }
  wiring w = {p, d1, d2, q[P_LAMBDA] * q[P_LAMBDA],
              {{q[P_CEE], q[P_CEI]}, {q[P_CIE], q[P_CII]}}};
  double cmax = fmax(fmax(q[P_CEE], q[P_CEI]), fmax(q[P_CIE], q[P_CII]));
  spk_csr rec;
  memset(&rec, 0, sizeof rec);
  if (cmax > 0.0) {
    rc = spk__connect_prob(ctx, &rec, p->n, p->n, cmax, pair_prob, &w, 0, 0);
  } else {
    rc = LAM_ENOMEM;
    rec.n_src = rec.n_tgt = p->n;
    rec.start = resv__alloc(ctx, p->n + 1, sizeof *rec.start);
    if (rec.start)
      rc = LAM_OK;
  }
  if (rc == LAM_OK)
    rc = wire_inputs(ctx, p, &rec, q[P_IN_DENSITY]);
  spk__csr_free(&rec);
  if (rc == LAM_OK)
    rc = spk__set_delays(ctx, &p->c, 0, 0, 0);
  if (rc == LAM_OK)
    rc = spk__index_by_target(ctx, &p->c);
  if (rc != LAM_OK)
    goto fail;
  rc = LAM_ENOMEM;
  p->tau2 = resv__alloc(ctx, p->c.nsyn, 1);
  p->ntau2 = p->c.nsyn;
  p->vin = resv__alloc(ctx, p->ni, sizeof *p->vin);
  p->isyn = resv__alloc(ctx, p->n, sizeof *p->isyn);
  p->x = resv__alloc(ctx, p->ns, sizeof *p->x);
  p->ref = resv__alloc(ctx, p->ns, sizeof *p->ref);
  p->timer = resv__alloc(ctx, p->ns, sizeof *p->timer);
  p->act = resv__alloc(ctx, p->ns, sizeof *p->act);
  p->idx = resv__alloc(ctx, p->ns, sizeof *p->idx);
  p->prev = resv__alloc(ctx, p->ns, sizeof *p->prev);
  p->fired = resv__alloc(ctx, p->ns, 1);
  if (!p->tau2 || !p->vin || !p->isyn || !p->x || !p->ref || !p->timer ||
      !p->act || !p->idx || !p->prev || !p->fired)
    goto fail;
  /* Synaptic time constants: 1 or 2 steps, uniformly. */
  for (int64_t j = 0; j < p->ns; j++) {
    lam_rng rt;
    resv__api->rng_init(&rt, ctx->seed, ctx->instance, LAM_RNG_INIT,
                        SPK_STREAM_DELAY + (uint64_t)j);
    for (int64_t s = p->c.start[j]; s < p->c.start[j + 1]; s++)
      p->tau2[s] = resv__api->rng_uniform(&rt) < 0.5;
  }
  rc = nalsm_reset(p, ctx);
  if (rc != LAM_OK)
    goto fail;
  *self = p;
  return LAM_OK;
fail:
  nalsm_free(p, ctx);
  return rc;
}

/* Weight bounds by source type. */
static double clip(const nalsm *p, int64_t j, double w, double wmax) {
  double lo = j < p->ne ? 0.0 : -wmax, hi = j >= p->ne && j < p->n ? 0.0 : wmax;
  return w < lo ? lo : w > hi ? hi : w;
}

static void stdp(nalsm *p, double eta, double a, double wmax) {
  spk_csr *c = &p->c;
  for (int64_t k = 0; k < p->m; k++) {
    const int32_t j = p->idx[k];
    const int inh = j >= p->ne && j < p->n;
    for (int64_t s = c->start[j]; s < c->start[j + 1]; s++) {
      double dx = p->x[c->tgt[s]];
      c->w[s] = clip(p, j, c->w[s] + (inh ? eta * dx : -a * dx), wmax);
    }
  }
  for (int64_t k = 0; k < p->m; k++) {
    const int32_t i = p->idx[k];
    if (i >= p->n)
      continue;
    for (int64_t e = c->in_start[i]; e < c->in_start[i + 1]; e++) {
      const int32_t j = c->in_src[e];
      const int inh = j >= p->ne && j < p->n;
      const int64_t s = c->in_syn[e];
      c->w[s] = clip(p, j, c->w[s] + (inh ? -a : eta) * p->x[j], wmax);
    }
  }
}

static int nalsm_step(void *self, lam_model_ctx *ctx, int64_t nsteps) {
  nalsm *p = self;
  const double *q = ctx->params;
  const int64_t n = p->n, ni = p->ni;
  uint8_t *spk = resv__port(ctx, Q_SPIKES, "spikes", LAM_U8, n);
  uint8_t *ispk = resv__port(ctx, Q_IN_SPIKES, "in_spikes", LAM_U8, ni);
  const double *prob = resv__port(ctx, Q_INPUT, "input", LAM_F64, ni);
  double *v = resv__port(ctx, Q_V, "v", LAM_F64, n);
  double *astro = resv__port(ctx, Q_ASTRO, "astro", LAM_F64, 1);
  double *cnt = resv__port(ctx, Q_COUNT, "count", LAM_F64, n);
  double *br = resv__port(ctx, Q_BRANCH, "branching", LAM_F64, 1);
  if (!spk || !ispk || !prob || !v || !astro || !cnt || !br)
    return LAM_EINVAL;
  const double vth = q[P_VTH], tv = 1.0 / q[P_TAU_V], b = q[P_B];
  const double qx = exp(-1.0 / q[P_TAU_X]), nref = q[P_REF] + 1.0;
  const int32_t cut = (int32_t)q[P_CUT];
  const spk_csr *c = &p->c;
  double k1[101], k2[101]; /* the two kernels by timer value */
  for (int s = 0; s <= 100; s++) {
    k1[s] = exp(-(double)s);
    k2[s] = exp(-(double)s / 2.0) / 2.0;
  }
  for (int64_t t = 0; t < nsteps; t++) {
    /* 1-2: threshold, reset, timers of the spiking sources. */
    int32_t *sw = p->prev;
    p->prev = p->idx;
    p->idx = sw;
    p->mprev = p->m;
    for (int64_t k = 0; k < p->mprev; k++)
      p->fired[p->prev[k]] = 0;
    int64_t m = 0, nl = 0;
    for (int64_t i = 0; i < p->ns; i++) {
      double vi = i < n ? v[i] : p->vin[i - n];
      int s = vi > vth && p->ref[i] == 0.0;
      if (i < n)
        spk[i] = (uint8_t)s;
      else
        ispk[i - n] = (uint8_t)s;
      if (!s)
        continue;
      if (i < n) {
        v[i] = 0.0;
        cnt[i] += 1.0;
        nl++;
      } else {
        p->vin[i - n] = 0.0;
      }
      p->ref[i] = nref;
      p->fired[i] = 1;
      if (p->timer[i] >= cut)
        p->act[p->nact++] = (int32_t)i;
      p->timer[i] = 0;
      p->idx[m++] = (int32_t)i;
    }
    p->m = m;
    /* Branching: the liquid targets of last step's liquid spikes that
     * fire now, per ancestor spike.  Counted in integers (exact, and
     * kept in a register: a double in *p was stored at every synapse). */
    int64_t anc = 0, desc = 0;
    for (int64_t k = 0; k < p->mprev; k++) {
      const int32_t j = p->prev[k];
      if (j >= n)
        continue;
      anc++;
      for (int64_t s = c->start[j]; s < c->start[j + 1]; s++)
        desc += p->fired[c->tgt[s]];
    }
    p->anc += (double)anc;
    p->desc += (double)desc;
    *br = p->anc > 0.0 ? p->desc / p->anc : 0.0;
    /* 3: integrate (kernels of the active sources, then the leak). */
    /* The kernel is picked by indexing, not by a branch: tau is 1 or 2
     * at random per synapse, and the branch's mispredictions were a
     * third of the step. */
    memset(p->isyn, 0, (size_t)n * sizeof *p->isyn);
    double *restrict isyn = p->isyn;
    const int32_t *restrict tgt = c->tgt;
    const double *restrict w = c->w;
    const uint8_t *restrict tau2 = p->tau2;
    for (int64_t k = 0; k < p->nact; k++) {
      const int32_t j = p->act[k];
      const int32_t s0 = p->timer[j];
      const double a[2] = {k1[s0], k2[s0]};
      for (int64_t s = c->start[j]; s < c->start[j + 1]; s++)
        isyn[tgt[s]] += w[s] * a[tau2[s]];
    }
    for (int64_t i = 0; i < n; i++)
      v[i] = v[i] + p->isyn[i] + b - v[i] * tv;
    for (int64_t k = 0; k < ni; k++) {
      double u = resv__api->rng_uniform(&p->drive);
      double in = u < prob[k] ? q[P_DRIVE] : 0.0;
      p->vin[k] = p->vin[k] + in + b - p->vin[k] * tv;
    }
    /* 4: timers, refractory counts; a source leaves the active list when
     * its timer reaches the cut (the list holds only timers < cut). */
    int64_t keep = 0;
    for (int64_t k = 0; k < p->nact; k++) {
      const int32_t j = p->act[k];
      if (++p->timer[j] < cut)
        p->act[keep++] = j;
    }
    p->nact = keep;
    for (int64_t i = 0; i < p->ns; i++)
      p->ref[i] = p->ref[i] > 0.0 ? p->ref[i] - 1.0 : 0.0;
    /* 5-7: plasticity, traces, astrocyte. */
    if (q[P_PLASTIC] != 0.0)
      stdp(p, q[P_ETA], *astro, q[P_W_MAX]);
    for (int64_t i = 0; i < p->ns; i++)
      p->x[i] = qx * (p->x[i] + 0.1 * p->fired[i]);
    if (q[P_ASTRO] != 0.0)
      *astro += (q[P_WA] * (double)(nl - (m - nl)) + q[P_BA] - *astro) /
                q[P_TAU_A];
  }
  return LAM_OK;
}

static int m_sample(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                    int32_t n_in, lam_buf **out) {
  return spk__no_args(ctx, n_in) ? LAM_EINVAL : sample_reset(self, ctx);
}

static int m_conn(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                  int32_t n_in, lam_buf **out) {
  return spk__no_args(ctx, n_in) ? LAM_EINVAL
                            : spk__csr_connections(ctx, &((nalsm *)self)->c,
                                                   out);
}

static int m_weights(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                     int32_t n_in, lam_buf **out) {
  return spk__no_args(ctx, n_in) ? LAM_EINVAL
                            : spk__csr_weights(ctx, &((nalsm *)self)->c, out);
}

const lam_method_def resv__nalsm_methods[] = {
    {.name = "reset_sample",
     .doc = "() -> nil: start a new sample: v, timers, refractory counts, "
            "traces, counts, branching and A back to their initial values; "
            "weights persist",
     .fn = m_sample},
    {.name = "connections",
     .doc = "() -> i64 [synapses, 3]: (source, target, 0); sources >= "
            "liquid size are input neurons",
     .fn = m_conn},
    {.name = "weights",
     .doc = "() -> f64 [synapses]: current weights, order of connections()",
     .fn = m_weights},
    {.name = NULL}};

/* Checkpoints (spk_state.c): the header, then the ports v, count, astro,
 * branching; the input neurons' v; traces, refractory counts, timers,
 * the active-source list, this step's spikes and fired flags; the
 * counters (active sources, spikes, branching ancestors and descendants);
 * the drive stream; the wiring (CSR rows, targets, synaptic time
 * constants) and weights.  The wiring is part of the state (it comes from
 * the seed), so a state restores the liquid it was saved from. */
typedef struct {
  char magic[8];
  int64_t n, ni, ne, nsyn;
} nalsm_state_head;

static const char nalsm_magic[8] = "lamnal1";

static size_t nalsm_chunks(nalsm *p, lam_model_ctx *ctx, spk_chunk *c) {
  const size_t n = (size_t)p->n, ns = (size_t)p->ns, m = (size_t)p->c.nsyn;
  double *v = resv__port(ctx, Q_V, "v", LAM_F64, p->n);
  double *cnt = resv__port(ctx, Q_COUNT, "count", LAM_F64, p->n);
  double *a = resv__port(ctx, Q_ASTRO, "astro", LAM_F64, 1);
  double *br = resv__port(ctx, Q_BRANCH, "branching", LAM_F64, 1);
  if (!v || !cnt || !a || !br)
    return 0;
  size_t k = 0;
  c[k++] = (spk_chunk){v, n * 8};
  c[k++] = (spk_chunk){cnt, n * 8};
  c[k++] = (spk_chunk){a, 8};
  c[k++] = (spk_chunk){br, 8};
  c[k++] = (spk_chunk){p->vin, (size_t)p->ni * 8};
  c[k++] = (spk_chunk){p->x, ns * 8};
  c[k++] = (spk_chunk){p->ref, ns * 8};
  c[k++] = (spk_chunk){p->timer, ns * 4};
  c[k++] = (spk_chunk){p->act, ns * 4};
  c[k++] = (spk_chunk){p->idx, ns * 4};
  c[k++] = (spk_chunk){p->fired, ns};
  c[k++] = (spk_chunk){&p->nact, 8};
  c[k++] = (spk_chunk){&p->m, 8};
  c[k++] = (spk_chunk){&p->anc, 8};
  c[k++] = (spk_chunk){&p->desc, 8};
  c[k++] = (spk_chunk){&p->drive, sizeof p->drive};
  c[k++] = (spk_chunk){p->c.start, (ns + 1) * 8};
  c[k++] = (spk_chunk){p->c.tgt, m * 4};
  c[k++] = (spk_chunk){p->tau2, m};
  c[k++] = (spk_chunk){p->c.w, m * 8};
  return k;
}

static int nalsm_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  nalsm *p = self;
  nalsm_state_head h = {{0}, p->n, p->ni, p->ne, p->c.nsyn};
  spk_chunk c[24];
  return spk__state_save(ctx, nalsm_magic, &h, sizeof h, c,
                         nalsm_chunks(p, ctx, c), out);
}

static int nalsm_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  nalsm *p = self;
  nalsm_state_head h;
  if (spk__state_head(ctx, in, &h, sizeof h, nalsm_magic,
                      "reservoir.nalsm") != LAM_OK)
    return LAM_EINVAL;
  if (h.n != p->n || h.ni != p->ni || h.ne != p->ne || h.nsyn < 0 ||
      h.nsyn > INT32_MAX) {
    resv__api->set_error(ctx->host, "reservoir.nalsm: not a state of this "
                         "liquid's shape (%lld liquid, %lld input, %lld "
                         "excitatory neurons expected)",
                         (long long)p->n, (long long)p->ni,
                         (long long)p->ne);
    return LAM_EINVAL;
  }
  spk_chunk c[24];
  if (spk__state_size(ctx, in, sizeof h, c, nalsm_chunks(p, ctx, c),
                      (h.nsyn - p->c.nsyn) * 13, "reservoir.nalsm") != LAM_OK)
    return LAM_EINVAL;
  /* The per-synapse tau array first, then the CSR: a failure of either
   * leaves the instance as it was. */
  uint8_t *t2 = NULL;
  if (h.nsyn != p->ntau2 && h.nsyn >= 0 && h.nsyn <= INT32_MAX &&
      !(t2 = resv__alloc(ctx, h.nsyn, 1)))
    return LAM_ENOMEM;
  int rc = spk__state_csr(ctx, &p->c, h.nsyn, 0);
  if (rc != LAM_OK) {
    resv__api->free(t2);
    return rc;
  }
  if (t2) {
    resv__api->free(p->tau2);
    p->tau2 = t2;
    p->ntau2 = h.nsyn;
  }
  rc = spk__state_read(ctx, in, sizeof h, c, nalsm_chunks(p, ctx, c),
                       "reservoir.nalsm");
  if (rc != LAM_OK)
    return rc;
  /* Counters and lists index arrays of ns entries: refuse wild values. */
  int bad = p->nact < 0 || p->nact > p->ns || p->m < 0 || p->m > p->ns;
  for (int64_t i = 0; i < p->nact && !bad; i++)
    bad = p->act[i] < 0 || p->act[i] >= p->ns;
  for (int64_t i = 0; i < p->m && !bad; i++)
    bad = p->idx[i] < 0 || p->idx[i] >= p->ns;
  for (int64_t i = 0; i < p->ns && !bad; i++)
    bad = p->timer[i] < 0 || p->timer[i] > 100;
  if (bad) {
    p->nact = p->m = 0;
    resv__api->set_error(ctx->host, "reservoir.nalsm: the state's spike "
                         "lists or timers are corrupt");
    return LAM_EINVAL;
  }
  return spk__state_csr_check(ctx, &p->c, 1, "reservoir.nalsm");
}

const lam_model_def resv__nalsm_def = {
    .name = "reservoir.nalsm",
    .doc = "Neuron-astrocyte liquid state machine (Ivanov & Michmizos 2021): "
           "LIF liquid on a d1 x d2 x d3 grid (80/20 E/I, wiring C exp(-(D/"
           "lambda)^2)), input neurons driven with per-step probabilities, "
           "per-synapse exponential kernels (tau 1 or 2 steps, latest spike "
           "only), trace STDP whose depression rate is the astrocyte state A "
           "<- A + (w_A (liquid - input spikes) + b_A - A)/tau_A; branching "
           "factor measured on the wiring.  One step = 1 ms (use dt = 1).",
    .params = resv__nalsm_params,
    .ports = resv__nalsm_ports,
    .methods = resv__nalsm_methods,
    .create = nalsm_create,
    .reset = nalsm_reset,
    .step = nalsm_step,
    .destroy = nalsm_free,
    .save_state = nalsm_save,
    .load_state = nalsm_load,
    .flags = LAM_MODEL_STOCHASTIC};
