/*
 * phase_int.h - the kuramoto.phase instance, shared by phase.c (schema,
 * lifecycle, integrators), coupling.c (the coupling field) and network.c
 * (the methods that set omega, weights, CSR graphs, delays and lags).
 */
#ifndef KUR_PHASE_INT_H
#define KUR_PHASE_INT_H

#include "kur_int.h"

enum {
  P_N, P_COUPLING, P_K, P_NORM, P_ALPHA, P_K2, P_K3, P_DELAY, P_NOISE,
  P_INTEGRATOR, P_SUBSTEPS, P_MASS, P_DAMPING, P_OMEGA_DIST, P_OMEGA0,
  P_OMEGA_WIDTH, P_OMEGA_SAMPLING, P_THETA_INIT, P_R0, P_FORCING,
  P_FORCING_FREQ, P_FORCING_PHASE
};
enum { PORT_PHASES, PORT_VELOCITY, PORT_INPUT, PORT_ORDER, PORT_Z };
enum { CPL_MEAN, CPL_DENSE, CPL_SPARSE };
enum { NORM_N, NORM_DEGREE, NORM_STRENGTH, NORM_NONE };
enum { INT_EULER, INT_HEUN, INT_RK4 };
enum { INIT_RANDOM, INIT_ZERO, INIT_CAUCHY };

/* The largest per-edge or uniform delay, in model steps. */
#define KUR_MAX_DELAY 1000000

typedef struct {
  int64_t n;
  int cpl;          /* CPL_* */
  int inertia;      /* mass > 0: second order */
  int omega_user;   /* omega came from set_omega: reset keeps it */
  int zvalid;       /* zsum holds the lane sums of c, s (kur__lanes) */
  /* c, s hold cos, sin of the phases at `trusted` (NULL: of nothing known).
   * The step clears it when the host reports that something else may have
   * written the phases port since the last step (lam_plugin_port_kept), and
   * every integrator that moves the phases without refreshing c, s clears
   * it too; recomputing gives the same bits as the cached values, so
   * output never depends on whether the cache held. */
  const double *trusted;
  uint64_t phases_seen; /* the phases port's write counter at the last step */
  /* The input port held only zeros when last looked at, and its counter
   * was input_seen: an undriven input nobody wrote is not read again (a
   * step then moves 8 bytes per oscillator less; zeros add nothing). */
  int input_zero;
  uint64_t input_seen;
  double zsum[2];
  int fill_history; /* the next step fills the ring from the phases */
  double *omega;
  /* Network (dense or sparse coupling).  Dense: w is n*n row-major, row =
   * target.  Sparse: CSR rowptr/col/w with nnz entries.  No matrix yet
   * (w == NULL, rowptr == NULL): the complete graph with unit weights. */
  double *w;
  int64_t *rowptr;
  int32_t *col;
  /* Sparse with n <= 65536: col as 16-bit indices, read by the plain CSR
   * field instead of col (10 bytes per weighted edge instead of 12, 2
   * instead of 4 unweighted); NULL otherwise or if it could not be
   * allocated (col is then read). */
  uint16_t *col16;
  int64_t nnz;
  double *lc, *ls;  /* per-edge cos/sin of the lag, or NULL */
  int32_t *edelay;  /* per-edge delays (model steps), or NULL */
  /* Source-major copies for dense per-edge delays without lags (smaj):
   * wt[j n + i] = w[i n + j] (NULL: unit weights), dt likewise for the
   * delays; the ring hc is then [n][depth][2], one source's history
   * contiguous (see coupling.c). */
  int smaj;
  double *wt;
  uint16_t *dt;
  double *zp;       /* sparse: interleaved (cos, sin) of the sources */
  int wsame;        /* sparse: every weight equals wval (unweighted graph) */
  double wval;
  double *scale;    /* per-target normalisation factor */
  /* History: ring of depth maxd + 1 slots written at each step start;
   * networks keep interleaved (cos, sin) pairs per oscillator in hc
   * ([depth][n][2]; hs is a [2][n] scratch for a uniform delay's slot), the
   * mean field keeps Z1, Z2 in hz. */
  int64_t maxd, depth, head;
  double *hc, *hs, *hz;
  /* Work arrays (allocated in create; step never allocates). */
  double *c, *s, *fre, *fim, *yt, *k1, *k2, *k3, *k4, *eta;
  double hre, him;  /* mean-field H of the current stage */
  lam_rng *rng;     /* one noise stream per oscillator */
  int64_t steps;
} kphase;

/* coupling.c: computes cos/sin of theta into p->c, p->s (reusing the cache
 * when `first` and theta is unchanged) and the coupling field H (p->hre,
 * p->him for the mean field, p->fre, p->fim per target otherwise), so that
 * the coupling term of oscillator i is Im(H_i e^(-i theta_i)). */
void kur__phase_field(kphase *p, const double *par, const double *theta,
                      int first);
/* cos, sin of theta into p->c, p->s; `first` marks the first stage of a
 * step, whose phases are remembered so that an unchanged start is not
 * recomputed. */
void kur__phase_trig(kphase *p, const double *theta, int first);
/* Sum of cos, sin of the cached phases (the same bits whether the fused
 * Euler pass or a separate pass summed them). */
void kur__phase_zsum(kphase *p, double *a, double *b);
/* A first-order Euler(-Maruyama) step of all phases th (cos, sin of th
 * in p->c, p->s, the field in p->hre/him or p->fre/fim) fused with the
 * cos, sin and order-parameter sums of the new phases; fc, fs: the forcing
 * terms added to the field's imaginary and real parts. */
void kur__phase_euler(kphase *p, double *th, const double *in,
                      const double *eta, double h, double fc, double fs);
/* Writes the current (cos, sin) or Z into the history ring (called at the
 * start of each step, after kur__phase_field(first = 1)). */
void kur__phase_history(kphase *p);
/* The normalisation factors for the current network and norm choice;
 * LAM_EINVAL with the error set when in_strength meets a non-positive row. */
int kur__phase_scale(kphase *p, lam_model_ctx *ctx);
/* (Re)allocates the history ring for a largest delay maxd. */
int kur__phase_ring(kphase *p, lam_model_ctx *ctx, int64_t maxd);
/* Chooses the traversal after the network, delays or lags changed: builds
 * (or drops) the source-major copies and converts the ring's layout. */
int kur__phase_layout(kphase *p, lam_model_ctx *ctx);

#endif /* KUR_PHASE_INT_H */
