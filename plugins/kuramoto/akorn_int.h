/*
 * akorn_int.h - private to kuramoto.akorn: the attention coupling
 * (akorn_attn.c), the convolution (akorn_conv.c) and the vectorised exp
 * they use, shared with the model in akorn.c.
 */
#ifndef AKORN_INT_H
#define AKORN_INT_H

#include "kur_int.h"

/* Multi-head softmax self-attention over L tokens of C channels (the
 * AKOrN repository's Attention with 1x1 projections):
 *   q, k, v = x Wq^T + bq, x Wk^T + bk, x Wv^T + bv      (per token)
 *   GTA (optional): q, k, v <- R_t q, R_t k, R_t v with R_t the per-token
 *     block-diagonal 2x2 rotations by theta[t, p] on channel pairs
 *     (2p, 2p+1), and the attention output o <- R_t^T o
 *   o_h = softmax(q_h k_h^T / sqrt(C/heads)) v_h           (per head h)
 *   out = o Wo^T                    (the output bias bo is the caller's)
 * Weights are owned by the struct; work buffers are sized for `batch`. */
typedef struct {
  int64_t L, C, heads, hd, batch;
  double *w;      /* [3C, C]: rows of Wq, then Wk, then Wv */
  double *b;      /* [3C]: bq, bk, bv */
  double *wo;     /* [C, C] */
  double *gc, *gs; /* [L, C/2] cos and sin of the GTA angles, or NULL */
  double *qkv;    /* [batch * L, 3C] work */
  double *o;      /* [batch * L, C] work */
  double *s;      /* [L, L] work: scores, then exp */
  double *z;      /* [L] work: softmax denominators */
} akorn_attn;

/* out[batch * L, C] = attention(x[batch * L, C]) without bo.  Needs the
 * weights set (w, b, wo non-NULL). */
void akorn__attn_apply(akorn_attn *t, const double *x, double *out);
void akorn__attn_free(akorn_attn *t);

/* The convolutional coupling (akorn_conv.c): out = conv(x) without the
 * bias, by the direct loop or, when kf is set (akorn__conv_prepare), the
 * DFT route; both exact to rounding. */
typedef struct {
  int64_t H, W, C, k, batch;
  int64_t nh, nw, nf; /* cyclic grid and half-spectrum frequencies (dft) */
  double *ker;        /* [C, C, k, k] */
  double *kf;         /* [nf][2C][C]: Re then Im of the kernel transform */
  double *fwd, *inv;  /* [2 nf, H W] and [H W, 2 nf] DFT matrices */
  double *xf;         /* [nf][2][batch][C] spectra work */
  double *pf;         /* [2 batch, 2C] work */
} akorn_conv;
int akorn__conv_dft_better(int64_t H, int64_t W, int64_t C, int64_t k);
int akorn__conv_prepare(akorn_conv *cv, lam_model_ctx *ctx);
void akorn__conv_apply(akorn_conv *cv, const double *x, double *out);
void akorn__conv_free(akorn_conv *cv);

/* Rows of s [rows, n] <- exp(s - the row's max), z[i] <- the row's sum:
 * exp to about 1 ulp, exactly 0 below -708 (where it is below 1e-307). */
void akorn__softmax_rows(double *s, int64_t rows, int64_t n, double *z);
/* In each of `rows` tokens (row r at a + r * ld, token r % L), add the
 * bias b ([parts * C] or NULL) to `parts` consecutive [C] blocks, then
 * (with GTA) rotate their channel pairs by sign * theta. */
void akorn__bias_rotate(const akorn_attn *t, double *a, int64_t rows,
                        int64_t ld, int parts, const double *b, double sign);

#endif /* AKORN_INT_H */
