/*
 * izhikevich.c - reservoir.izhikevich: a heterogeneous network of
 * Izhikevich (2003, IEEE TNN 14:1569) neurons,
 *
 *   v' = 0.04 v^2 + 5 v + 140 - u + I,   u' = a (b v - u),
 *   if v >= 30 mV: v <- c, u <- u + d,
 *
 * with the paper's heterogeneity: excitatory neurons a = 0.02, b = 0.2,
 * c = -65 + 15 r^2, d = 8 - 6 r^2 (r = 0: regular spiking, r = 1:
 * chattering), inhibitory a = 0.02 + 0.08 r, b = 0.25 - 0.05 r, c = -65,
 * d = 2 (fast spiking to low-threshold spiking), r ~ U[0, 1] per neuron.
 * Without heterogeneity every neuron takes the named type's a, b, c, d.
 *
 * Step order as in the paper's code: neurons with v >= 30 fire (spike
 * port), are reset, and their outgoing weights are added to this step's
 * input; then v takes two half steps of dt/2 (for numerical stability)
 * and u one step of dt.  Thalamic noise: noise_e N(0, 1) (excitatory) or
 * noise_i N(0, 1) (inhibitory) added to I each step.  The paper's network
 * is all-to-all (p = 1) with weights w_e U[0, 1] from excitatory and
 * -w_i U[0, 1] from inhibitory neurons, dt = 1 ms.
 */
#include <math.h>
#include <string.h>

#include "spk_int.h"

enum {
  P_N, P_NE, P_EXC_TYPE, P_INH_TYPE, P_HETERO, P_P, P_AUTAPSES, P_WE, P_WI,
  P_NOISE_E, P_NOISE_I, P_BIAS, P_V0, P_TAU_TRACE, P_BIN
};
enum { Q_SPIKES, Q_V, Q_U, Q_IEXT, Q_TRACE, Q_COUNT };

const lam_param_def resv__izh_params[] = {
    SPK_I64("n", "number of neurons", 1000, 1, SPK_MAX_N),
    SPK_I64("ne", "number of excitatory neurons (the first ones, <= n)", 800,
            0, SPK_MAX_N),
    {.name = "exc_type",
     .doc = "excitatory type when hetero = false: RS regular spiking (a, b, "
            "c, d = 0.02, 0.2, -65, 8), IB intrinsically bursting (0.02, "
            "0.2, -55, 4), CH chattering (0.02, 0.2, -50, 2)",
     .choices = "RS|IB|CH",
     .def = 0,
     .type = LAM_PARAM_ENUM},
    {.name = "inh_type",
     .doc = "inhibitory type when hetero = false: FS fast spiking (0.1, 0.2, "
            "-65, 2), LTS low-threshold spiking (0.02, 0.25, -65, 2)",
     .choices = "FS|LTS",
     .def = 0,
     .type = LAM_PARAM_ENUM},
    SPK_BOOL("hetero", "Izhikevich 2003 heterogeneity (r ~ U[0, 1] per "
                       "neuron, see the model doc)",
             1),
    SPK_F64("p", "connection probability in (0, 1] (1: all-to-all as in "
                 "the paper)",
            "", 1, 0, 1),
    SPK_BOOL("autapses", "allow self-connections", 1),
    SPK_F64("w_e", "excitatory weights are w_e U[0, 1]", "mV", 0.5, 0,
            SPK_BIG),
    SPK_F64("w_i", "inhibitory weights are -w_i U[0, 1]", "mV", 1, 0, SPK_BIG),
    SPK_F64("noise_e", "sd of the thalamic input to excitatory neurons, drawn "
                       "each step",
            "mV", 5, 0, SPK_BIG),
    SPK_F64("noise_i", "sd of the thalamic input to inhibitory neurons", "mV",
            2, 0, SPK_BIG),
    SPK_F64("bias", "constant input added to every neuron", "mV", 0,
            -SPK_BIG, SPK_BIG),
    SPK_F64("v0", "initial v (u starts at b v0)", "mV", -65, -SPK_BIG, 30),
    SPK_READOUT_PARAMS,
    {.name = NULL}};

const lam_port_def resv__izh_ports[] = {
    {.name = "spikes", .doc = "1 where the neuron fired this step",
     .shape = "n", .dtype = LAM_U8, .dir = LAM_PORT_OUT,
     .flags = LAM_PORT_SPIKES},
    {.name = "v", .doc = "membrane potential", .units = "mV",
     .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "u", .doc = "recovery variable", .units = "mV",
     .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_STATE},
    {.name = "i_ext", .doc = "external input current added to I each step",
     .units = "mV", .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_IN},
    SPK_READOUT_PORTS,
    {.name = NULL}};

typedef struct {
  int64_t n, ne;
  spk_csr c;
  double *a, *b, *c_, *d; /* per-neuron parameters */
  double *isyn;           /* this step's synaptic input */
  double *total;
  int32_t *idx;
  lam_rng noise;
  int64_t steps, bin_steps;
  double dtr; /* trace decay per step, 0 when off */
} izh;

static const double exc_abcd[3][4] = {
    {0.02, 0.2, -65, 8}, {0.02, 0.2, -55, 4}, {0.02, 0.2, -50, 2}};
static const double inh_abcd[2][4] = {{0.1, 0.2, -65, 2},
                                      {0.02, 0.25, -65, 2}};

static void izh_free(void *self, lam_model_ctx *ctx) {
  izh *p = self;
  if (!p)
    return;
  spk__csr_free(&p->c);
  resv__api->free(p->a);
  resv__api->free(p->isyn);
  resv__api->free(p->total);
  resv__api->free(p->idx);
  resv__api->free(p);
}

static int izh_reset(void *self, lam_model_ctx *ctx) {
  izh *p = self;
  double *v = resv__port(ctx, Q_V, "v", LAM_F64, p->n);
  double *u = resv__port(ctx, Q_U, "u", LAM_F64, p->n);
  if (!v || !u)
    return LAM_EINVAL;
  for (int64_t i = 0; i < p->n; i++) {
    v[i] = ctx->params[P_V0];
    u[i] = p->b[i] * v[i];
  }
  double *tr = resv__port(ctx, Q_TRACE, "trace", LAM_F64, p->n);
  double *cnt = resv__port(ctx, Q_COUNT, "count", LAM_F64, p->n);
  if (!tr || !cnt)
    return LAM_EINVAL;
  memset(tr, 0, (size_t)p->n * sizeof *tr);
  memset(cnt, 0, (size_t)p->n * sizeof *cnt);
  memset(p->isyn, 0, (size_t)p->n * sizeof *p->isyn);
  memset(p->total, 0, (size_t)p->n * sizeof *p->total);
  p->steps = 0;
  resv__api->rng_init(&p->noise, ctx->seed, ctx->instance, LAM_RNG_NOISE, 0);
  return LAM_OK;
}

static int izh_create(lam_model_ctx *ctx, void **self) {
  const double *q = ctx->params;
  const int64_t ne = (int64_t)q[P_NE], n = (int64_t)q[P_N];
  if (ne > n) {
    resv__api->set_error(ctx->host, "ne = %lld excitatory neurons is more "
                         "than n = %lld", (long long)ne, (long long)n);
    return LAM_ERANGE;
  }
  if (!(q[P_P] > 0.0)) {
    resv__api->set_error(ctx->host, "parameter 'p' = %g: a connection "
                         "probability must be in (0, 1]", q[P_P]);
    return LAM_ERANGE;
  }
  const int64_t bin = spk__steps(ctx, q[P_BIN], "bin");
  if (bin < 0)
    return LAM_EINVAL;
  izh *p = resv__alloc(ctx, 1, sizeof *p);
  if (!p)
    return LAM_ENOMEM;
  p->n = n;
  p->ne = ne;
  p->bin_steps = bin > 0 ? bin : 1;
  p->dtr = q[P_TAU_TRACE] > 0 ? exp(-ctx->dt / q[P_TAU_TRACE]) : 0.0;
  int rc = spk__connect_prob(ctx, &p->c, n, n, q[P_P], NULL, NULL,
                             q[P_AUTAPSES] != 0.0, 0);
  if (rc == LAM_OK)
    rc = spk__set_delays(ctx, &p->c, 0, 0, 0);
  if (rc == LAM_OK) {
    p->a = resv__alloc(ctx, 4 * n, sizeof *p->a);
    p->isyn = resv__alloc(ctx, n, sizeof *p->isyn);
    p->total = resv__alloc(ctx, n, sizeof *p->total);
    p->idx = resv__alloc(ctx, n, sizeof *p->idx);
    if (!p->a || !p->isyn || !p->total || !p->idx)
      rc = LAM_ENOMEM;
  }
  if (rc != LAM_OK) {
    izh_free(p, ctx);
    return rc;
  }
  p->b = p->a + n;
  p->c_ = p->b + n;
  p->d = p->c_ + n;
  /* Per-neuron parameters and weights from the init streams. */
  lam_rng r;
  resv__api->rng_init(&r, ctx->seed, ctx->instance, LAM_RNG_INIT,
                      SPK_STREAM_LAYOUT);
  const int hetero = q[P_HETERO] != 0.0;
  const double *te = exc_abcd[(int)q[P_EXC_TYPE]];
  const double *ti = inh_abcd[(int)q[P_INH_TYPE]];
  for (int64_t i = 0; i < n; i++) {
    double x = hetero ? resv__api->rng_uniform(&r) : 0.0;
    if (i < ne) {
      p->a[i] = te[0];
      p->b[i] = te[1];
      p->c_[i] = hetero ? -65.0 + 15.0 * x * x : te[2];
      p->d[i] = hetero ? 8.0 - 6.0 * x * x : te[3];
    } else {
      p->a[i] = hetero ? 0.02 + 0.08 * x : ti[0];
      p->b[i] = hetero ? 0.25 - 0.05 * x : ti[1];
      p->c_[i] = ti[2];
      p->d[i] = ti[3];
    }
  }
  for (int64_t j = 0; j < n; j++) {
    lam_rng rw;
    resv__api->rng_init(&rw, ctx->seed, ctx->instance, LAM_RNG_INIT,
                        SPK_STREAM_WEIGHT + (uint64_t)j);
    double scale = j < ne ? q[P_WE] : -q[P_WI];
    for (int64_t s = p->c.start[j]; s < p->c.start[j + 1]; s++)
      p->c.w[s] = scale * resv__api->rng_uniform(&rw);
  }
  rc = izh_reset(p, ctx);
  if (rc != LAM_OK) {
    izh_free(p, ctx);
    return rc;
  }
  *self = p;
  return LAM_OK;
}

static int izh_step(void *self, lam_model_ctx *ctx, int64_t nsteps) {
  izh *p = self;
  const int64_t n = p->n, ne = p->ne;
  const double *q = ctx->params;
  uint8_t *spk = resv__port(ctx, Q_SPIKES, "spikes", LAM_U8, n);
  double *v = resv__port(ctx, Q_V, "v", LAM_F64, n);
  double *u = resv__port(ctx, Q_U, "u", LAM_F64, n);
  const double *iext = resv__port(ctx, Q_IEXT, "i_ext", LAM_F64, n);
  double *tr = resv__port(ctx, Q_TRACE, "trace", LAM_F64, n);
  double *cnt = resv__port(ctx, Q_COUNT, "count", LAM_F64, n);
  if (!spk || !v || !u || !iext || !tr || !cnt)
    return LAM_EINVAL;
  const double h = ctx->dt, hh = 0.5 * ctx->dt, bias = q[P_BIAS];
  const double se = q[P_NOISE_E], si = q[P_NOISE_I];
  for (int64_t t = 0; t < nsteps; t++, p->steps++) {
    if (p->steps % p->bin_steps == 0)
      memset(cnt, 0, (size_t)n * sizeof *cnt);
    if (p->dtr > 0.0)
      for (int64_t i = 0; i < n; i++)
        tr[i] *= p->dtr;
    /* Fire from the state the previous step left; add the spikes' weights
     * to this step's input (the paper's order). */
    for (int64_t i = 0; i < n; i++)
      spk[i] = v[i] >= 30.0;
    const int64_t m = spk__spike_list(spk, n, p->idx);
    memset(p->isyn, 0, (size_t)n * sizeof *p->isyn);
    for (int64_t k = 0; k < m; k++) {
      const int32_t j = p->idx[k];
      v[j] = p->c_[j];
      u[j] += p->d[j];
      p->total[j] += 1.0;
      cnt[j] += 1.0;
      tr[j] += p->dtr > 0.0 ? 1.0 : 0.0;
      for (int64_t s = p->c.start[j]; s < p->c.start[j + 1]; s++)
        p->isyn[p->c.tgt[s]] += p->c.w[s];
    }
    for (int64_t i = 0; i < n; i++) {
      double sd = i < ne ? se : si;
      double in = p->isyn[i] + iext[i] + bias +
                  (sd > 0.0 ? sd * resv__api->rng_normal(&p->noise) : 0.0);
      double vi = v[i], ui = u[i];
      vi += hh * (0.04 * vi * vi + 5.0 * vi + 140.0 - ui + in);
      vi += hh * (0.04 * vi * vi + 5.0 * vi + 140.0 - ui + in);
      /* v is stored clipped at the 30 mV peak so that the state port
       * never holds the runaway value of a spike's upstroke (which can
       * overflow); the neuron fires at the next step either way, and u
       * takes the unclipped value as in the paper's code. */
      v[i] = vi > 30.0 ? 30.0 : vi;
      u[i] = ui + h * p->a[i] * (p->b[i] * vi - ui);
    }
  }
  return LAM_OK;
}

static int izh_counts(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                      int32_t n_in, lam_buf **out) {
  izh *p = self;
  if (spk__no_args(ctx, n_in))
    return LAM_EINVAL;
  return spk__vector_out(ctx, p->total, p->n, out);
}

static int izh_abcd(void *self, lam_model_ctx *ctx, lam_buf *const *in,
                    int32_t n_in, lam_buf **out) {
  izh *p = self;
  if (spk__no_args(ctx, n_in))
    return LAM_EINVAL;
  const int64_t shape[2] = {4, p->n}; /* rows a, b, c, d */
  return spk__array_out(ctx, p->a, 2, shape, out);
}

const lam_method_def resv__izh_methods[] = {
    {.name = "spike_counts",
     .doc = "() -> f64 [n]: spikes of each neuron since create/reset",
     .fn = izh_counts},
    {.name = "abcd",
     .doc = "() -> f64 [4, n]: the per-neuron a, b, c, d (rows)",
     .fn = izh_abcd},
    {.name = NULL}};

/* Checkpoints (spk_state.c): the header, then the ports v, u, trace,
 * count; the spike totals; the step count; the noise stream; the
 * per-neuron a, b, c, d; the wiring (CSR rows, targets) and weights.
 * Parameters and wiring are part of the state (they come from the seed),
 * so a state restores the network it was saved from. */
typedef struct {
  char magic[8];
  int64_t n, ne, nsyn;
} izh_state_head;

static const char izh_magic[8] = "lamizh1";

static size_t izh_chunks(izh *p, lam_model_ctx *ctx, spk_chunk *c) {
  static const struct {
    int q;
    const char *name;
  } st[] = {{Q_V, "v"}, {Q_U, "u"}, {Q_TRACE, "trace"}, {Q_COUNT, "count"}};
  const size_t n = (size_t)p->n, m = (size_t)p->c.nsyn;
  size_t k = 0;
  for (int i = 0; i < 4; i++) {
    double *x = resv__port(ctx, st[i].q, st[i].name, LAM_F64, p->n);
    if (!x)
      return 0;
    c[k++] = (spk_chunk){x, n * 8};
  }
  c[k++] = (spk_chunk){p->total, n * 8};
  c[k++] = (spk_chunk){&p->steps, 8};
  c[k++] = (spk_chunk){&p->noise, sizeof p->noise};
  c[k++] = (spk_chunk){p->a, 4 * n * 8};
  c[k++] = (spk_chunk){p->c.start, (n + 1) * 8};
  c[k++] = (spk_chunk){p->c.tgt, m * 4};
  c[k++] = (spk_chunk){p->c.w, m * 8};
  return k;
}

static int izh_save(void *self, lam_model_ctx *ctx, lam_buf **out) {
  izh *p = self;
  izh_state_head h = {{0}, p->n, p->ne, p->c.nsyn};
  spk_chunk c[16];
  return spk__state_save(ctx, izh_magic, &h, sizeof h, c,
                         izh_chunks(p, ctx, c), out);
}

static int izh_load(void *self, lam_model_ctx *ctx, const lam_buf *in) {
  izh *p = self;
  izh_state_head h;
  if (spk__state_head(ctx, in, &h, sizeof h, izh_magic,
                      "reservoir.izhikevich") != LAM_OK)
    return LAM_EINVAL;
  if (h.n != p->n || h.ne != p->ne || h.nsyn < 0 || h.nsyn > INT32_MAX) {
    resv__api->set_error(ctx->host, "reservoir.izhikevich: not a state of "
                         "this network's shape (n %lld, ne %lld expected)",
                         (long long)p->n, (long long)p->ne);
    return LAM_EINVAL;
  }
  spk_chunk c[16];
  if (spk__state_size(ctx, in, sizeof h, c, izh_chunks(p, ctx, c),
                      (h.nsyn - p->c.nsyn) * 12, "reservoir.izhikevich") !=
      LAM_OK)
    return LAM_EINVAL;
  int rc = spk__state_csr(ctx, &p->c, h.nsyn, 0);
  if (rc != LAM_OK)
    return rc;
  rc = spk__state_read(ctx, in, sizeof h, c, izh_chunks(p, ctx, c),
                       "reservoir.izhikevich");
  return rc != LAM_OK ? rc
                      : spk__state_csr_check(ctx, &p->c, 1,
                                             "reservoir.izhikevich");
}

const lam_model_def resv__izhikevich_def = {
    .name = "reservoir.izhikevich",
    .doc = "Heterogeneous Izhikevich (2003) network: n neurons, the first ne "
           "excitatory, v' = 0.04 v^2 + 5 v + 140 - u + I, u' = a (b v "
           "- u), reset v <- c, u <- u + d at v >= 30 mV; per-neuron a, b, c, "
           "d from the paper's r-heterogeneity (RS..CH, FS..LTS) or one named "
           "type per population; random wiring with probability p (1: "
           "all-to-all), weights w_e U[0,1] and -w_i U[0,1]; thalamic noise; "
           "v in two half steps per dt.  Use dt = 1 ms for the paper's "
           "network.",
    .params = resv__izh_params,
    .ports = resv__izh_ports,
    .methods = resv__izh_methods,
    .create = izh_create,
    .reset = izh_reset,
    .step = izh_step,
    .destroy = izh_free,
    .save_state = izh_save,
    .load_state = izh_load,
    .flags = LAM_MODEL_STOCHASTIC};
