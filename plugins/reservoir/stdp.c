/*
 * stdp.c - pair-based additive STDP with exponential traces on a CSR
 * synapse table (see spk_int.h for the rule).  The traces are the exact
 * solution of dx/dt = -x/tau between spikes, so the rule is independent of
 * dt up to spike-time rounding.  Event-driven: work per step is
 * O(neurons) for the decay plus O(fan-out) per presynaptic spike and
 * O(fan-in) per postsynaptic spike.
 */
#include <math.h>
#include <string.h>

#include "spk_int.h"

int spk__stdp_init(lam_model_ctx *ctx, spk_stdp *st, int64_t n,
                   int64_t n_plastic, double tau_plus, double tau_minus,
                   double a_plus, double a_minus, double w_max) {
  memset(st, 0, sizeof *st);
  st->n = n;
  st->n_plastic = n_plastic;
  st->a_plus = a_plus;
  st->a_minus = a_minus;
  st->w_max = w_max;
  st->dpre = exp(-ctx->dt / tau_plus);
  st->dpost = exp(-ctx->dt / tau_minus);
  st->xpre = resv__alloc(ctx, n, sizeof *st->xpre);
  st->xpost = resv__alloc(ctx, n, sizeof *st->xpost);
  return st->xpre && st->xpost ? LAM_OK : LAM_ENOMEM;
}

void spk__stdp_decay(spk_stdp *st) {
  for (int64_t i = 0; i < st->n; i++) {
    st->xpre[i] *= st->dpre;
    st->xpost[i] *= st->dpost;
  }
}

void spk__stdp_pre(spk_stdp *st, spk_csr *c, int64_t j) {
  if (j >= st->n_plastic)
    return;
  const double dep = st->a_minus * st->w_max;
  for (int64_t s = c->start[j]; s < c->start[j + 1]; s++) {
    double w = c->w[s] - dep * st->xpost[c->tgt[s]];
    c->w[s] = w < 0.0 ? 0.0 : w;
  }
  st->xpre[j] += 1.0;
}

void spk__stdp_post(spk_stdp *st, spk_csr *c, int64_t i) {
  const double pot = st->a_plus * st->w_max;
  for (int64_t k = c->in_start[i]; k < c->in_start[i + 1]; k++) {
    int32_t j = c->in_src[k];
    if (j >= st->n_plastic)
      continue;
    int64_t s = c->in_syn[k];
    double w = c->w[s] + pot * st->xpre[j];
    c->w[s] = w > st->w_max ? st->w_max : w;
  }
  st->xpost[i] += 1.0;
}

void spk__stdp_clear(spk_stdp *st) {
  if (st->xpre)
    memset(st->xpre, 0, (size_t)st->n * sizeof *st->xpre);
  if (st->xpost)
    memset(st->xpost, 0, (size_t)st->n * sizeof *st->xpost);
}

void spk__stdp_free(spk_stdp *st) {
  resv__api->free(st->xpre);
  resv__api->free(st->xpost);
  st->xpre = st->xpost = NULL;
}
