/*
 * spk_int.h - private to the spiking half of the reservoir plugin
 * (reservoir.lif: lif.c, stdp.c; reservoir.izhikevich: izhikevich.c;
 * reservoir.nalsm: nalsm.c) and the connectivity/spike-queue code they
 * share (conn.c).
 *
 * Synapses are stored in CSR by source (the presynaptic neuron), because
 * propagation is event-driven: a spike of neuron j walks row j and adds
 * its weights into the targets' input accumulators, so a step costs
 * O(neurons + spikes x fan-out), never O(synapses).
 */
#ifndef SPK_INT_H
#define SPK_INT_H

#include "reservoir_int.h"

/* Common bounds: population sizes up to 1e7 neurons keep int32 indices
 * safe; 1e12 bounds real values far inside double range. */
#define SPK_MAX_N 1e7
#define SPK_BIG 1e12

/* Random streams.  Every neuron/source has its own stream keyed by its
 * index, so a neuron's wiring and initial state do not depend on the
 * population size of the others or on the order of generation.  All are
 * purpose LAM_RNG_INIT (connectivity and initial state); the index spaces
 * are kept apart by these offsets. */
#define SPK_STREAM_CONN 0ULL               /* + source (or target) index */
#define SPK_STREAM_DELAY (1ULL << 40)      /* + source index */
#define SPK_STREAM_STATE (2ULL << 40)      /* one stream for initial state */
#define SPK_STREAM_WEIGHT (3ULL << 40)     /* + source index */
#define SPK_STREAM_LAYOUT (4ULL << 40)     /* positions, signs, types */

/* Synapses by source: row j holds targets tgt[start[j] .. start[j+1]),
 * ascending, with weights w and (when delays differ) integer delays in
 * steps.  `in_start`/`in_syn` index the same synapses by target (built on
 * demand, for plasticity that runs on a postsynaptic spike). */
typedef struct {
  int64_t n_src, n_tgt, nsyn;
  int64_t *start;    /* n_src + 1 */
  int32_t *tgt;      /* nsyn */
  double *w;         /* nsyn */
  uint16_t *delay;   /* nsyn, or NULL when every delay is `delay0` */
  int32_t delay0;    /* the homogeneous delay (steps) when delay == NULL */
  int32_t max_delay; /* largest delay, steps */
  int64_t *in_start; /* n_tgt + 1, or NULL */
  int64_t *in_syn;   /* nsyn: synapse ids ordered by target, or NULL */
  int32_t *in_src;   /* nsyn: the source of in_syn[k], or NULL */
} spk_csr;

/* Connection probability of the pair (source j -> target i), at most the
 * p_max given to spk__connect_prob.  NULL means "always p_max". */
typedef double (*spk_prob_fn)(const void *data, int64_t j, int64_t i);

/* Random wiring without N^2 coin flips: for each source j the targets are
 * found by geometric skipping with p_max (gap ~ Geometric(p_max), drawn
 * from the stream (SPK_STREAM_CONN + stream_base + j)), and a candidate is
 * kept with probability prob(j, i) / p_max (thinning: exact for any
 * pair-dependent probability).  `autapses` = 0 excludes i == j.  Weights
 * are zero and delays unset on return.  Returns LAM_OK, LAM_EINVAL
 * (p_max outside (0, 1]) or LAM_ENOMEM, with the error set. */
int spk__connect_prob(lam_model_ctx *ctx, spk_csr *c, int64_t n_src,
                      int64_t n_tgt, double p_max, spk_prob_fn prob,
                      const void *data, int autapses, uint64_t stream_base);

/* Fixed in-degree: every target i gets exactly k distinct sources drawn
 * uniformly (stream SPK_STREAM_CONN + stream_base + i), self excluded when
 * autapses = 0.  k must not exceed the number of eligible sources. */
int spk__connect_indegree(lam_model_ctx *ctx, spk_csr *c, int64_t n_src,
                          int64_t n_tgt, int64_t k, int autapses,
                          uint64_t stream_base);

/* Draws per-synapse delays uniformly from the integers [dmin, dmax]
 * (steps); dmin == dmax stores the homogeneous delay without an array. */
int spk__set_delays(lam_model_ctx *ctx, spk_csr *c, int64_t dmin,
                    int64_t dmax, uint64_t stream_base);

/* Builds in_start/in_syn (the synapses grouped by target). */
int spk__index_by_target(lam_model_ctx *ctx, spk_csr *c);

void spk__csr_free(spk_csr *c);

/* Methods shared by the spiking models: the synapse list as an i64 buffer
 * [nsyn, 3] of (source, target, delay in steps) and the weights as f64
 * [nsyn], both in CSR order (by source, then target). */
int spk__csr_connections(lam_model_ctx *ctx, const spk_csr *c, lam_buf **out);
int spk__csr_weights(lam_model_ctx *ctx, const spk_csr *c, lam_buf **out);
/* An f64 copy of n doubles as a new 1-d buffer. */
int spk__vector_out(lam_model_ctx *ctx, const double *x, int64_t n,
                    lam_buf **out);
/* The same for a row-major f64 array of the given shape. */
int spk__array_out(lam_model_ctx *ctx, const double *x, int32_t ndim,
                   const int64_t *shape, lam_buf **out);

/* For methods without arguments: sets an error and returns 1 when
 * n_in != 0, else returns 0. */
int spk__no_args(lam_model_ctx *ctx, int32_t n_in);

/* Collects the indices i with s[i] != 0 into idx (capacity n); returns
 * their number.  Scans 8 bytes at a time because spikes are rare. */
int64_t spk__spike_list(const uint8_t *s, int64_t n, int32_t *idx);

/* Pair-based additive STDP with exponential traces (Song, Miller & Abbott
 * 2000; the "traces" form of Morrison et al. 2008).  Plastic synapses are
 * those whose source is below `n_plastic` (the excitatory population).
 * Every step the traces decay by exp(-dt/tau); on a presynaptic spike of j
 * each plastic synapse j -> i is depressed by a_minus w_max x_post[i] and
 * x_pre[j] += 1; on a postsynaptic spike of i each plastic synapse j -> i
 * is potentiated by a_plus w_max x_pre[j] and x_post[i] += 1; weights are
 * clipped to [0, w_max].  Within a step all presynaptic updates run
 * before the postsynaptic ones, so a simultaneous pair potentiates. */
typedef struct {
  double a_plus, a_minus, w_max;
  double dpre, dpost; /* per-step trace decay factors */
  int64_t n, n_plastic;
  double *xpre, *xpost;
} spk_stdp;

int spk__stdp_init(lam_model_ctx *ctx, spk_stdp *st, int64_t n,
                   int64_t n_plastic, double tau_plus, double tau_minus,
                   double a_plus, double a_minus, double w_max);
void spk__stdp_decay(spk_stdp *st);
void spk__stdp_pre(spk_stdp *st, spk_csr *c, int64_t j);
void spk__stdp_post(spk_stdp *st, spk_csr *c, int64_t i);
void spk__stdp_clear(spk_stdp *st);
void spk__stdp_free(spk_stdp *st);

/* Checkpoints (spk_state.c): a state is a u8 buffer holding a model's
 * header (an 8-byte tag, then the sizes that must match) followed by a
 * list of chunks, the same list for save and load. */
typedef struct {
  void *p;
  size_t bytes;
} spk_chunk;

#define SPK_MAGIC 8 /* bytes of the tag that starts every header */

/* A new u8 buffer: head with its first SPK_MAGIC bytes set to magic, then
 * the k chunks.  LAM_OK, LAM_ENOMEM, or LAM_EINVAL when k == 0 (the
 * model could not list its chunks and has set the error). */
int spk__state_save(lam_model_ctx *ctx, const char *magic, const void *head,
                    size_t head_size, const spk_chunk *c, size_t k,
                    lam_buf **out);
/* Checks that `in` is a contiguous 1-d u8 buffer at least head_size long
 * starting with magic and copies its header into head; else an error
 * naming `model`. */
int spk__state_head(lam_model_ctx *ctx, const lam_buf *in, void *head,
                    size_t head_size, const char *magic, const char *model);
/* Checks the buffer's length against head + chunks + delta bytes (delta:
 * what the state's synapse arrays add to the model's present ones; called
 * before any array is resized, so that a truncated state changes
 * nothing).  LAM_EINVAL when k == 0 (chunks not listed, error set). */
int spk__state_size(lam_model_ctx *ctx, const lam_buf *in, size_t head_size,
                    const spk_chunk *c, size_t k, int64_t delta,
                    const char *model);
/* Checks the buffer's length against head + chunks and copies the chunks
 * into the model. */
int spk__state_read(lam_model_ctx *ctx, const lam_buf *in, size_t head_size,
                    const spk_chunk *c, size_t k, const char *model);
/* Resizes the synapse arrays (tgt, w, delay when has_delay) for a state
 * of nsyn synapses (no-op when the sizes match); on failure the CSR is
 * unchanged. */
int spk__state_csr(lam_model_ctx *ctx, spk_csr *c, int64_t nsyn,
                   int has_delay);
/* After reading a state: checks the wiring (rows ascending, targets in
 * range, delays below nslot) and rebuilds the by-target index when the
 * model has one. */
int spk__state_csr_check(lam_model_ctx *ctx, spk_csr *c, int32_t nslot,
                         const char *model);

/* Parameter-table shorthands (real, integer, boolean). */
#define SPK_F64(nm, dc, un, df, lo, hi)                                        \
  {                                                                            \
    .name = nm, .doc = dc, .units = un, .def = df, .min = lo, .max = hi,       \
    .type = LAM_PARAM_F64                                                      \
  }
#define SPK_I64(nm, dc, df, lo, hi)                                            \
  {                                                                            \
    .name = nm, .doc = dc, .units = "", .def = df, .min = lo, .max = hi,       \
    .type = LAM_PARAM_I64                                                      \
  }
#define SPK_BOOL(nm, dc, df)                                                   \
  { .name = nm, .doc = dc, .units = "", .def = df, .type = LAM_PARAM_BOOL }

/* The readout ports and their parameters, shared by reservoir.lif and
 * reservoir.izhikevich (shape "n"): `trace` x <- x e^{-dt/tau_trace} +
 * spike, and `count`, the spikes of the current bin of `bin` ms. */
#define SPK_READOUT_PORTS                                                      \
  {.name = "trace",                                                            \
   .doc = "low-pass filtered spike train: x <- x e^{-dt/tau_trace} + spike "   \
          "(for readouts)",                                                    \
   .shape = "n",                                                               \
   .dtype = LAM_F64,                                                           \
   .dir = LAM_PORT_STATE,                                                      \
   .flags = LAM_PORT_NOCHECK},                                                 \
  {                                                                            \
    .name = "count",                                                           \
    .doc = "spikes in the current bin of `bin` ms (zeroed when a bin starts; " \
           "sample at the bin's last step)",                                   \
    .shape = "n", .dtype = LAM_F64, .dir = LAM_PORT_STATE,                     \
    .flags = LAM_PORT_NOCHECK                                                  \
  }
#define SPK_READOUT_PARAMS                                                     \
  SPK_F64("tau_trace",                                                         \
          "time constant of the `trace` port (0: off, the port stays zero)",   \
          "ms", 0, 0, SPK_BIG),                                                \
      SPK_F64("bin", "bin length of the `count` port, whole steps", "ms", 10,  \
              0, SPK_BIG)

/* A duration in ms as a whole number of steps of dt; sets an error naming
 * `what` and returns -1 when it is not (within 1e-6 of a step). */
int64_t spk__steps(lam_model_ctx *ctx, double ms, const char *what);

#endif /* SPK_INT_H */
