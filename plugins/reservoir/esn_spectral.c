/*
 * esn_spectral.c - spectral radius of the recurrent matrix without a
 * dense eigendecomposition.
 *
 * Why Arnoldi and not plain power iteration: reservoir matrices are
 * non-normal and real, so the eigenvalue of largest modulus is often one of
 * a complex-conjugate pair, for which power iteration does not converge
 * (the iterate rotates in the pair's 2-D invariant plane).  Arnoldi builds
 * an m-dimensional Krylov basis V and the Hessenberg H = V^T W V, whose
 * eigenvalues (Ritz values) approximate the outermost eigenvalues of W
 * first.  We take the Ritz value lambda of largest modulus, its Ritz
 * vector y = V s, and restart from Re(y) + Im(y) (a real vector in the
 * pair's invariant plane) until the Ritz residual
 * ||W y - lambda y|| = h(m+1,m) |s_m| is small.  When the Krylov space
 * becomes invariant (always for n <= m) the Ritz values are exact.
 *
 * The small eigenproblem uses a complex single-shift QR iteration on H
 * (Wilkinson shifts, Givens rotations, deflation on small subdiagonals),
 * and the Ritz vector comes from inverse iteration on H - lambda I.
 * Everything is deterministic: a fixed start vector, fixed operation order.
 */
#include <complex.h>
#include <math.h>
#include <string.h>

#include "esn_int.h"

/* Dot products in eight lanes (element i into lane i mod 8, lanes added
 * pairwise in a fixed order): eight independent chains instead of one,
 * so they vectorise and do not wait on each add, yet one result on every
 * CPU and clone.  GCC vector extensions: no fast-math, no fused
 * multiply-add (-ffp-contract=off).  The Gram-Schmidt passes of the
 * estimate below are these dots and axpys. */
typedef double esn_v8 __attribute__((vector_size(64)));

ESN_VEC double esn__dot(const double *a, const double *b, int64_t n) {
  esn_v8 acc = {0}, x, y;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    memcpy(&x, a + i, sizeof x);
    memcpy(&y, b + i, sizeof y);
    acc += x * y;
  }
  double l[8];
  memcpy(l, &acc, sizeof l);
  for (int j = 0; i < n; i++, j++)
    l[j] += a[i] * b[i];
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

/* y += a x elementwise: the same operations as the scalar loop. */
ESN_VEC void esn__axpy(double a, const double *x, double *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    esn_v8 xv, yv;
    memcpy(&xv, x + i, sizeof xv);
    memcpy(&yv, y + i, sizeof yv);
    yv += a * xv;
    memcpy(y + i, &yv, sizeof yv);
  }
  for (; i < n; i++)
    y[i] += a * x[i];
}

/* y = W x.  CSR goes through the step's row kernels (esn_kern.c: eight
 * lanes or one row per lane, vectorised, the same bits on every CPU),
 * which read the 16-bit indices and sliced copy when esn__mat_index16
 * has made them for the current values. */
void esn__matvec(const esn_mat *m, const double *x, double *y) {
  const int64_t n = m->n;
  if (m->dense) {
    for (int64_t i = 0; i < n; i++)
      y[i] = esn__dot(m->w + i * n, x, n);
    return;
  }
  esn__csr_rows(m, x, NULL, NULL, 0, y);
}

/* Eigenvalues of the k x k upper Hessenberg matrix h (complex, row-major,
 * overwritten) into ev.  Returns 0, or -1 when an eigenvalue did not
 * converge in 60 iterations.  rot: scratch for 2k rotation entries. */
static int hess_eig(double complex *h, int64_t k, double complex *ev,
                    double complex *rot) {
  const double eps = 2.220446049250313e-16;
#define H(i, j) h[(i) * k + (j)]
  int64_t hi = k - 1;
  int iter = 0;
  while (hi >= 0) {
    if (hi == 0) {
      ev[0] = H(0, 0);
      break;
    }
    int64_t l = hi;
    for (; l > 0; l--) {
      double s = cabs(H(l, l)) + cabs(H(l - 1, l - 1));
      if (s == 0)
        s = 1;
      if (cabs(H(l, l - 1)) <= eps * s) {
        H(l, l - 1) = 0;
        break;
      }
    }
    if (l == hi) {
      ev[hi] = H(hi, hi);
      hi--;
      iter = 0;
      continue;
    }
    if (++iter > 60)
      return -1;
    /* Wilkinson shift: the eigenvalue of the trailing 2 x 2 closer to the
     * last diagonal entry; every 10th iteration an exceptional shift
     * breaks the rare cycles of the plain shift. */
    double complex a = H(hi - 1, hi - 1), b = H(hi - 1, hi);
    double complex c = H(hi, hi - 1), d = H(hi, hi);
    double complex tr2 = (a + d) / 2, disc = csqrt(tr2 * tr2 - (a * d - b * c));
    double complex m1 = tr2 + disc, m2 = tr2 - disc;
    double complex mu = cabs(m1 - d) < cabs(m2 - d) ? m1 : m2;
    if (iter % 10 == 0)
      mu = d + cabs(c) * (0.75 + 0.25 * I);
    for (int64_t i = l; i <= hi; i++)
      H(i, i) -= mu;
    /* H - mu I = QR of the active block by Givens rotations G_j (each
     * zeroing H(j+1, j)), then H <- RQ + mu I, which keeps the
     * Hessenberg form; only the active block matters for its eigenvalues. */
    double complex *cv = rot, *sv = rot + k;
    for (int64_t j = l; j < hi; j++) {
      double complex x = H(j, j), y = H(j + 1, j);
      double r = hypot(cabs(x), cabs(y));
      double complex gc = r == 0 ? 1 : x / r, gs = r == 0 ? 0 : y / r;
      cv[j - l] = gc;
      sv[j - l] = gs;
      for (int64_t q = j; q <= hi; q++) {
        double complex t1 = H(j, q), t2 = H(j + 1, q);
        H(j, q) = conj(gc) * t1 + conj(gs) * t2;
        H(j + 1, q) = -gs * t1 + gc * t2;
      }
    }
    for (int64_t j = l; j < hi; j++) {
      double complex gc = cv[j - l], gs = sv[j - l];
      int64_t top = j + 2 <= hi ? j + 2 : hi;
      for (int64_t p = l; p <= top; p++) {
        double complex t1 = H(p, j), t2 = H(p, j + 1);
        H(p, j) = t1 * gc + t2 * gs;
        H(p, j + 1) = -t1 * conj(gs) + t2 * conj(gc);
      }
    }
    for (int64_t i = l; i <= hi; i++)
      H(i, i) += mu;
  }
#undef H
  return 0;
}

/* One solve of (A) z = b with partial pivoting, A (k x k complex,
 * overwritten), b overwritten by z. */
static void csolve(double complex *a, double complex *b, int64_t k) {
  for (int64_t c = 0; c < k; c++) {
    int64_t p = c;
    for (int64_t r = c + 1; r < k; r++)
      if (cabs(a[r * k + c]) > cabs(a[p * k + c]))
        p = r;
    if (p != c) {
      for (int64_t j = 0; j < k; j++) {
        double complex t = a[c * k + j];
        a[c * k + j] = a[p * k + j];
        a[p * k + j] = t;
      }
      double complex t = b[c];
      b[c] = b[p];
      b[p] = t;
    }
    double complex piv = a[c * k + c];
    if (cabs(piv) == 0)
      piv = a[c * k + c] = 1e-300;
    for (int64_t r = c + 1; r < k; r++) {
      double complex f = a[r * k + c] / piv;
      if (f == 0)
        continue;
      for (int64_t j = c; j < k; j++)
        a[r * k + j] -= f * a[c * k + j];
      b[r] -= f * b[c];
    }
  }
  for (int64_t c = k - 1; c >= 0; c--) {
    double complex s = b[c];
    for (int64_t j = c + 1; j < k; j++)
      s -= a[c * k + j] * b[j];
    b[c] = s / a[c * k + c];
  }
}

enum { KRYLOV = 64, RESTARTS = 200 };

int esn__spectral_radius(lam_model_ctx *ctx, const esn_mat *w, double *rho,
                         int *converged) {
  const int64_t n = w->n;
  const int64_t m = n < KRYLOV ? n : KRYLOV;
  *rho = 0;
  *converged = 0;
  double *v = resv__alloc(ctx, (m + 1) * n, sizeof *v);
  double *h = resv__alloc(ctx, (m + 1) * m, sizeof *h);
  double complex *hc = resv__alloc(ctx, 2 * m * m + 3 * m + 2, sizeof *hc);
  if (!v || !h || !hc) {
    resv__api->free(v);
    resv__api->free(h);
    resv__api->free(hc);
    return LAM_ENOMEM;
  }
  double complex *ev = hc + m * m, *s = ev + 2 * m, *a = s + m;
  /* Fixed, non-symmetric start vector: deterministic and unlikely to be
   * orthogonal to the dominant eigenvector of a structured matrix. */
  for (int64_t i = 0; i < n; i++)
    v[i] = 1.0 + 0.5 * sin(1.0 + (double)i);
  double nrm = sqrt(esn__dot(v, v, n));
  for (int64_t i = 0; i < n; i++)
    v[i] /= nrm;
  int rc = LAM_OK;
  double prev = -1;
  for (int restart = 0; restart < RESTARTS; restart++) {
    memset(h, 0, (size_t)((m + 1) * m) * sizeof *h);
    int64_t k = m;
    int invariant = 0;
    double wnorm = 0;
    for (int64_t j = 0; j < m; j++) {
      double *z = v + (j + 1) * n;
      esn__matvec(w, v + j * n, z);
      double zn0 = sqrt(esn__dot(z, z, n));
      if (zn0 > wnorm)
        wnorm = zn0;
      /* Classical Gram-Schmidt twice: orthogonal to working precision. */
      for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i <= j; i++) {
          const double d = esn__dot(v + i * n, z, n);
          h[i * m + j] += d;
          esn__axpy(-d, v + i * n, z, n);
        }
      }
      double zn = sqrt(esn__dot(z, z, n));
      if (zn <= 1e-12 * (wnorm > 0 ? wnorm : 1)) {
        k = j + 1;
        invariant = 1;
        break;
      }
      if (j + 1 < m + 1)
        h[(j + 1) * m + j] = zn;
      for (int64_t t = 0; t < n; t++)
        z[t] /= zn;
    }
    if (wnorm == 0) { /* W = 0 */
      *converged = 1;
      break;
    }
    for (int64_t i = 0; i < k; i++)
      for (int64_t j = 0; j < k; j++)
        hc[i * k + j] = h[i * m + j];
    if (hess_eig(hc, k, ev, a) != 0) {
      resv__api->set_error(ctx->host, "spectral radius: QR iteration on the "
                                      "Krylov matrix did not converge");
      rc = LAM_ERANGE;
      break;
    }
    int64_t best = 0;
    for (int64_t i = 1; i < k; i++)
      if (cabs(ev[i]) > cabs(ev[best]))
        best = i;
    double complex lam = ev[best];
    *rho = cabs(lam);
    if (invariant) {
      *converged = 1;
      break;
    }
    /* Ritz vector by two steps of inverse iteration on H - lambda I. */
    double complex mu = lam + (cabs(lam) * 1e-10 + 1e-300);
    for (int64_t i = 0; i < k; i++)
      s[i] = 1.0;
    for (int it = 0; it < 2; it++) {
      for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < k; j++)
          a[i * k + j] = h[i * m + j] - (i == j ? mu : 0);
      csolve(a, s, k);
      double sn = 0;
      for (int64_t i = 0; i < k; i++)
        sn += creal(s[i] * conj(s[i]));
      sn = sqrt(sn);
      for (int64_t i = 0; i < k; i++)
        s[i] /= sn;
    }
    double resid = h[k * m + (k - 1)] * cabs(s[k - 1]);
    if (resid <= 1e-9 * *rho ||
        (prev >= 0 && fabs(*rho - prev) <= 1e-13 * *rho)) {
      *converged = 1;
      break;
    }
    prev = *rho;
    /* Restart from Re(y) + Im(y), y = V s. */
    double *x = v + m * n; /* reuse the last basis slot as scratch */
    for (int64_t t = 0; t < n; t++) {
      double acc = 0;
      for (int64_t i = 0; i < k; i++)
        acc += (creal(s[i]) + cimag(s[i])) * v[i * n + t];
      x[t] = acc;
    }
    nrm = sqrt(esn__dot(x, x, n));
    if (!(nrm > 0))
      break;
    for (int64_t t = 0; t < n; t++)
      v[t] = x[t] / nrm;
  }
  resv__api->free(v);
  resv__api->free(h);
  resv__api->free(hc);
  return rc;
}
