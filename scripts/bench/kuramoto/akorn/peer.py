#!/usr/bin/python3
"""scripts/bench/kuramoto/akorn/peer.py - the NumPy reference of KB-5
(AKOrN layer forward, reference section 3.6) in three variants, written
the careful way (BLAS matmuls on whole batches, in-place updates,
preallocated buffers, im2col + one GEMM for the convolution, batched
matmuls for the attention with the 1/sqrt(d) folded into Wq and the GTA
rotations as complex multiplies on complex128 views):

  a  fc:   M = 128 oscillators, n = 4, dense J [512, 512], batch 64, T = 16
  b  conv: 8 x 8 grid, C = 128, n = 4, k = 5 ("same" zero padding, bias),
           batch 16, T = 8
  c  attn: 64 tokens (8 x 8 grid), C = 128, 8 heads, Q/K/V/O projections
           with biases, GTA rotations, batch 16, T = 8

All: gamma = 1, global omega = 0.5, c ~ N(0, 1).  Writes the inputs
(x0, c, weights) and this implementation's outputs (x after T steps, the
code's energy score per step) as .npy into OUTDIR, so the lamina side
(lamina.lua) starts from identical inputs and checks its outputs against
these in the same run.

    peer.py OUTDIR [--quick] [--reps R]

Prints one TSV line per variant:
    variant  impl  size  median_s  min_s  max_s  sample_steps  flops_per_sample_step
One warm-up run, then the median of R (default 5) runs of the T-step loop
only, in process CPU time.  float64, one thread (run sets
OPENBLAS_NUM_THREADS=1).
"""
import os
import sys
import time

import numpy as np

OUT = sys.argv[1]
QUICK = "--quick" in sys.argv
REPS = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 5
os.makedirs(OUT, exist_ok=True)
GAMMA, OMEGA = 1.0, 0.5


def timeit(fn):
    fn()  # warm-up
    ts, res = [], None
    for _ in range(REPS):
        t0 = time.process_time()
        res = fn()
        ts.append(time.process_time() - t0)
    ts.sort()
    return ts[len(ts) // 2], ts[0], ts[-1], res


def save(var, **arrays):
    for name, a in arrays.items():
        np.save(f"{OUT}/{var}_{name}.npy", np.ascontiguousarray(a))


def update(x, y, xy_buf):
    """The per-oscillator part of one step, in place on y then x:
    y <- Omega x + y - <y, x> x;  x <- (x + gamma y) / |x + gamma y|.
    x, y: [..., n] with n even; returns the new x (same buffer)."""
    np.einsum("...i,...i->...", x, y, out=xy_buf)
    y -= xy_buf[..., None] * x
    y[..., 0::2] += OMEGA * x[..., 1::2]
    y[..., 1::2] -= OMEGA * x[..., 0::2]
    y *= GAMMA
    x += y
    x /= np.sqrt(np.einsum("...i,...i->...", x, x))[..., None]
    return x


def run_layer(x0, c, T, coupling):
    """T steps of y = J(x) + c; E_t = -sum <x, y>; update.  coupling(x)
    returns J(x) + bias as a new [B, M, n] array."""
    x = x0.copy()
    B = x.shape[0]
    E = np.empty((T, B))
    xy = np.empty(x.shape[:-1])
    for t in range(T):
        y = coupling(x)
        y += c
        E[t] = -np.einsum("bij,bij->b", x, y)
        x = update(x, y, xy)
    return x, E


def emit(var, size, t, units, flops, impl="numpy", note=""):
    print(f"KB-5{var}\t{impl}\t{size}\t{t[0]:.6g}\t{t[1]:.6g}\t{t[2]:.6g}\t{units}\t{flops}\t{note}")
    sys.stdout.flush()


# ---------------------------------------------------------------- (a) fc
def kb5a():
    B, M, n, T = (8, 128, 4, 4) if QUICK else (64, 128, 4, 16)
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal((B, M, n))
    x0 /= np.linalg.norm(x0, axis=-1, keepdims=True)
    J = rng.standard_normal((M * n, M * n)) / np.sqrt(M * n)
    c = rng.standard_normal((B, M, n))
    JT = J.T  # a transposed view: x @ J.T is one dgemm with a trans flag

    def coupling(x):
        return (x.reshape(B, M * n) @ JT).reshape(B, M, n)

    t = timeit(lambda: run_layer(x0, c, T, coupling))
    save("a", x0=x0, J=J, c=c, x=t[3][0], E=t[3][1])
    emit("a", f"fc-B{B}-M{M}-n{n}-T{T}", t, B * T, 2 * (M * n) ** 2)


# ---------------------------------------------------------------- (b) conv
def kb5b():
    B, H, W, C, n, k, T = (2, 8, 8, 128, 4, 5, 2) if QUICK else (16, 8, 8, 128, 4, 5, 8)
    G, r = C // n, k // 2
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((B, H * W * G, n))
    x0 /= np.linalg.norm(x0, axis=-1, keepdims=True)
    K = rng.standard_normal((C, C, k, k)) / np.sqrt(C * k * k)
    bias = 0.1 * rng.standard_normal(C)
    c = rng.standard_normal((B, H * W * G, n))
    # im2col: the padded map is allocated once, its interior rewritten per
    # step; the patch matrix [B H W, k k C] is gathered by one strided view
    # and one copy (channels innermost: contiguous runs, a little faster
    # than the (C, k, k) order), and multiplied by the kernel as a
    # [k k C, C] matrix whose row order (ky, kx, ci) matches the patches.
    xp = np.zeros((B, H + 2 * r, W + 2 * r, C))
    Kmat = np.ascontiguousarray(K.transpose(0, 2, 3, 1).reshape(C, k * k * C).T)
    cols = np.empty((B, H, W, k, k, C))

    def coupling(x):
        xp[:, r:r + H, r:r + W, :] = x.reshape(B, H, W, C)
        win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))
        np.copyto(cols, win.transpose(0, 1, 2, 4, 5, 3))  # [B, H, W, k, k, C]
        out = cols.reshape(B * H * W, k * k * C) @ Kmat
        out += bias
        return out.reshape(B, H * W * G, n)

    t = timeit(lambda: run_layer(x0, c, T, coupling))
    save("b", x0=x0, K=K, bias=bias, c=c, x=t[3][0], E=t[3][1])
    size = f"conv-B{B}-{H}x{W}-C{C}-n{n}-k{k}-T{T}"
    emit("b", size, t, B * T, 2 * H * W * C * C * k * k)

    # The same layer by FFT (the algorithm lamina's conv_method = dft
    # uses), for comparison: rfft2 on the (H + r) x (W + r) cyclic grid,
    # per frequency one complex [B, C] x [C, C] product (stacked matmul),
    # irfft2.  g[-d mod N] = K[d] turns the correlation into a convolution.
    nh, nw = H + r, W + r
    g = np.zeros((C, C, nh, nw))
    for ky in range(k):
        for kx in range(k):
            g[:, :, (r - ky) % nh, (r - kx) % nw] = K[:, :, ky, kx]
    Gt = np.ascontiguousarray(np.fft.rfft2(g).transpose(2, 3, 1, 0).reshape(-1, C, C))  # [F, ci, co]
    nf = Gt.shape[0]

    def coupling_fft(x):
        X = np.fft.rfft2(x.reshape(B, H, W, C), s=(nh, nw), axes=(1, 2))  # [B, nh, nv, C]
        Y = X.transpose(1, 2, 0, 3).reshape(nf, B, C) @ Gt  # [F, B, co]
        Y = Y.reshape(nh, nw // 2 + 1, B, C).transpose(2, 0, 1, 3)
        out = np.fft.irfft2(Y, s=(nh, nw), axes=(1, 2))[:, :H, :W, :]
        out += bias
        return out.reshape(B, H * W * G, n)

    tf = timeit(lambda: run_layer(x0, c, T, coupling_fft))
    dx = np.abs(tf[3][0] - t[3][0]).max()
    emit("b", size, tf, B * T, 2 * H * W * C * C * k * k, impl="numpy-fft", note=f"x vs im2col {dx:.2g}")


# ---------------------------------------------------------------- (c) attn
def kb5c():
    B, H, W, C, n, heads, T = (2, 8, 8, 128, 4, 8, 2) if QUICK else (16, 8, 8, 128, 4, 8, 8)
    L, G, hd = H * W, C // n, C // heads
    rng = np.random.default_rng(9)
    x0 = rng.standard_normal((B, L * G, n))
    x0 /= np.linalg.norm(x0, axis=-1, keepdims=True)
    Wq, Wk, Wv, Wo = (rng.standard_normal((C, C)) / np.sqrt(C) for _ in range(4))
    bq, bk, bv, bo = (0.1 * rng.standard_normal(C) for _ in range(4))
    theta = rng.uniform(-np.pi, np.pi, (L, C // 2))  # GTA angles per token and pair
    c = rng.standard_normal((B, L * G, n))
    scale = 1.0 / np.sqrt(hd)  # folded into Wq and bq (rotations are linear)
    Wqkv_T = np.ascontiguousarray(np.concatenate([Wq * scale, Wk, Wv]).T)  # [C, 3C]
    bqkv = np.concatenate([bq * scale, bk, bv])
    # GTA: a channel pair (a, b) rotated by theta is (a + ib) e^{i theta},
    # so the rotation is one complex multiply on a complex128 view.
    rot_f = np.exp(1j * theta)  # [L, C/2]
    rot_qkv = rot_f[None, :, None, :]  # q, k and v of a token alike
    rot_b = np.conj(rot_f)[None, :, :]

    def coupling(x):
        qkv = x.reshape(B * L, C) @ Wqkv_T
        qkv += bqkv
        qkv.view(np.complex128).reshape(B, L, 3, C // 2).__imul__(rot_qkv)
        qkv = qkv.reshape(B, L, 3, C)
        q = qkv[:, :, 0, :].reshape(B, L, heads, hd).transpose(0, 2, 1, 3)
        kk = qkv[:, :, 1, :].reshape(B, L, heads, hd).transpose(0, 2, 3, 1)
        v = qkv[:, :, 2, :].reshape(B, L, heads, hd).transpose(0, 2, 1, 3)
        s = q @ kk  # [B, heads, L, L], one gemm per sample and head
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        o = (s @ v).transpose(0, 2, 1, 3).reshape(B, L, C)  # copy to token-major
        o.view(np.complex128).__imul__(rot_b)
        out = o.reshape(B * L, C) @ Wo.T
        out += bo
        return out.reshape(B, L * G, n)

    t = timeit(lambda: run_layer(x0, c, T, coupling))
    save("c", x0=x0, Wq=Wq, Wk=Wk, Wv=Wv, Wo=Wo, bq=bq, bk=bk, bv=bv, bo=bo,
         theta=theta, heads=np.array([heads]), c=c, x=t[3][0], E=t[3][1])
    flops = 2 * L * C * 3 * C + 4 * L * L * C + 2 * L * C * C
    emit("c", f"attn-B{B}-L{L}-C{C}-h{heads}-n{n}-T{T}", t, B * T, flops)


only = [a for a in sys.argv[2:] if a in ("a", "b", "c")]
for var, f in (("a", kb5a), ("b", kb5b), ("c", kb5c)):
    if not only or var in only:
        f()
