#!/usr/bin/python3
"""scripts/bench/kuramoto/peers.py - NumPy/SciPy peers for KB-1..KB-4
(reference section 3.6), in the careful style and in the style users
usually write, side by side.  Also writes the shared inputs (theta0, W,
delays) as .npy files that kb.lua reads, so both sides start
from identical data.

    peers.py OUTDIR [--quick] [--reps R] [--only KB-n]

Prints one TSV line per measurement:
    case  impl  size  median_s  min_s  max_s  units_per_run  metric
(KB-4's gate line: impl gate-numpy, zero times, the verdict as metric).
float64, one thread (the driver sets OPENBLAS_NUM_THREADS=1 etc.), one
warm-up run, then the median of R (default 5) runs of the integration loop
only (no start-up, allocation or file I/O inside the timing), in process
CPU time (on the shared 2-vCPU VM wall time mostly measures waiting).
"""
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

OUT = sys.argv[1]
QUICK = "--quick" in sys.argv
REPS = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 5
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
os.makedirs(OUT, exist_ok=True)


def splitmix_uniform(n, seed=12345):
    """theta0: SplitMix64 seeded 12345, uniform on [0, 2 pi) (53 bits)."""
    out = np.empty(n)
    s = seed
    mask = (1 << 64) - 1
    for i in range(n):
        s = (s + 0x9E3779B97F4A7C15) & mask
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out[i] = (z >> 11) * (2.0 ** -53) * 2 * np.pi
    return out


_theta_cache = {}


def theta0(n):
    # SplitMix in Python is slow for 10^6; extend the 10^5 draw by a
    # deterministic tiling with offsets (documented in docs/performance.md).
    if n not in _theta_cache:
        base = splitmix_uniform(min(n, 100000))
        reps = -(-n // base.size)
        t = np.concatenate([(base + 0.1 * k) % (2 * np.pi) for k in range(reps)])[:n]
        _theta_cache[n] = t
        np.save(f"{OUT}/theta_{n}.npy", t)
    return _theta_cache[n].copy()


def lorentz_q(n, w0=0.0, d=1.0):
    j = np.arange(1, n + 1)
    return w0 + d * np.tan(np.pi * (2 * j - n - 1) / (2 * (n + 1)))


def gauss_q(n, s=1.0):
    from scipy.special import erfinv
    j = np.arange(1, n + 1)
    return s * np.sqrt(2) * erfinv((2 * j - n - 1) / (n + 1))


def timeit(fn):
    fn()  # warm-up
    ts = []
    res = None
    for _ in range(REPS):
        t0 = time.process_time()  # CPU time: the shared VM's wall time mostly measures waiting
        res = fn()
        ts.append(time.process_time() - t0)
    ts.sort()
    return ts[len(ts) // 2], ts[0], ts[-1], res


def emit(case, impl, size, t, units, metric):
    med, lo, hi = t
    print(f"{case}\t{impl}\t{size}\t{med:.6g}\t{lo:.6g}\t{hi:.6g}\t{units}\t{metric}", flush=True)


# ---------------------------------------------------------------- KB-1
def mean_field_careful(th0, w, K, dt, steps):
    """Euler steps of the all-to-all model by the mean-field trick, into
    preallocated arrays; returns r(t) at the start of each step.  KB-1's
    careful peer, and KB-4's Kc sweep."""
    n = th0.size
    th = th0.copy()
    r = np.empty(steps)
    c = np.empty(n)
    s = np.empty(n)
    tmp = np.empty(n)
    for k in range(steps):
        np.cos(th, out=c)
        np.sin(th, out=s)
        zr, zi = c.mean(), s.mean()
        r[k] = np.hypot(zr, zi)  # r of the state the step starts from
        # th += dt (w + K (Im Z cos th - Re Z sin th))
        np.multiply(c, K * zi, out=tmp)
        tmp -= K * zr * s
        tmp += w
        tmp *= dt
        th += tmp
    return r


def kb1():
    sizes = [1000, 10000, 100000, 1000000]
    if QUICK:
        sizes = [1000, 10000]
    for n in sizes:
        steps = 2000 if n <= 100000 else 200
        if QUICK:
            steps = 200
        th0, w, K, dt = theta0(n), lorentz_q(n), 4.0, 0.01

        def careful():
            return mean_field_careful(th0, w, K, dt, steps)

        def usual():
            th = th0.copy()
            r = np.empty(steps)
            for k in range(steps):
                z = np.mean(np.exp(1j * th))
                r[k] = abs(z)
                th = th + dt * (w + K * np.abs(z) * np.sin(np.angle(z) - th))
            return r

        for impl, fn in (("numpy-careful", careful), ("numpy-usual", usual)):
            t = timeit(fn)
            r = t[3]
            metric = f"rmean={r[steps // 2:].mean():.5f}" if steps == 2000 else f"r10={r[9]:.12f}"
            emit("KB-1", impl, n, t[:3], n * steps, metric)
            np.save(f"{OUT}/kb1_r_{impl}_{n}.npy", r)


def sincos_floor():
    """NumPy's own cos + sin pass (its SVML/AVX-512 loops here), ns per
    element: the part of every careful NumPy step that no rewrite removes."""
    for n in (10000, 1000000):
        x = theta0(n)
        c, s = np.empty(n), np.empty(n)
        reps = max(1, 10**8 // n) if not QUICK else 10

        def run():
            for _ in range(reps):
                np.cos(x, out=c)
                np.sin(x, out=s)

        t = timeit(run)
        print(f"floor\tnumpy-cos+sin\t{n}\t{t[0] / (reps * n) * 1e9:.4g}", flush=True)


# ---------------------------------------------------------------- KB-1n
def kb1n():
    n, steps, K, D, dt = 10000, 2000 if not QUICK else 200, 4.0, 1.0, 0.01
    rng = np.random.default_rng(1)

    def careful():
        th = np.zeros(n)
        r = np.empty(steps)
        c = np.empty(n)
        s = np.empty(n)
        g = np.sqrt(2 * D * dt)
        for k in range(steps):
            np.cos(th, out=c)
            np.sin(th, out=s)
            zr, zi = c.mean(), s.mean()
            r[k] = np.hypot(zr, zi)
            th += dt * K * (zi * c - zr * s) + g * rng.standard_normal(n)
        return r

    t = timeit(careful)
    emit("KB-1n", "numpy-careful", n, t[:3], n * steps, f"rmean={t[3][steps // 2:].mean():.5f}")


# ---------------------------------------------------------------- KB-2
def ring(n, k):
    rows = np.repeat(np.arange(n), k)
    offs = np.concatenate([np.arange(-k // 2, 0), np.arange(1, k // 2 + 1)])
    cols = (rows + np.tile(offs, n)) % n
    return sp.csr_matrix((np.full(n * k, 1.0 / k), (rows, cols)), shape=(n, n))


def er(n, p, seed=3):
    rng = np.random.default_rng(seed)
    a = sp.random(n, n, density=p, random_state=rng, format="csr")
    a.data[:] = 1.0
    a.setdiag(0)
    a.eliminate_zeros()
    a.sort_indices()
    return a.tocsr()


def weighted(a, seed=4):
    """The same graph with weights uniform on [0.5, 1.5): lamina's
    unweighted-graph shortcut (one weight factored out of each row) does
    not apply, every edge reads its weight."""
    b = a.copy()
    b.data = np.random.default_rng(seed).uniform(0.5, 1.5, b.nnz)
    return b


def kb2():
    e = er(10000, 0.01)
    graphs = [("ring", 100000, ring(100000, 20)), ("er", 10000, e), ("erw", 10000, weighted(e))]
    if QUICK:
        graphs = [("ring", 10000, ring(10000, 20))]
    for name, n, W in graphs:
        W.sort_indices()
        np.save(f"{OUT}/kb2_{name}_indptr.npy", W.indptr.astype(np.int64))
        np.save(f"{OUT}/kb2_{name}_indices.npy", W.indices.astype(np.int64))
        np.save(f"{OUT}/kb2_{name}_data.npy", W.data)
        steps, K, dt = 200 if not QUICK else 50, 2.0, 0.01
        th0, w = theta0(n), gauss_q(n, 0.1)
        rows = np.repeat(np.arange(n), np.diff(W.indptr))
        cols = W.indices
        data = W.data

        def careful():
            th = th0.copy()
            r = np.empty(steps)
            for k in range(steps):
                c, s = np.cos(th), np.sin(th)
                r[k] = np.hypot(c.mean(), s.mean())
                th += dt * (w + K * (c * (W @ s) - s * (W @ c)))
            return r, th

        def usual():
            th = th0.copy()
            r = np.empty(steps)
            for k in range(steps):
                r[k] = abs(np.mean(np.exp(1j * th)))
                contrib = data * np.sin(th[cols] - th[rows])
                th = th + dt * (w + K * np.bincount(rows, weights=contrib, minlength=n))
            return r, th

        for impl, fn in (("scipy-careful", careful), ("numpy-usual", usual)):
            t = timeit(fn)
            r, th = t[3]
            np.save(f"{OUT}/kb2_r_{name}_{impl}.npy", r)
            inv = abs((th - th0).sum() - steps * dt * w.sum())
            emit("KB-2", impl, f"{name}-{n}-{W.nnz}", t[:3], W.nnz * steps, f"T14={inv:.3g}")


# ---------------------------------------------------------------- KB-3
def connectome(n, seed=5):
    rng = np.random.default_rng(seed)
    W = rng.lognormal(0.0, 1.0, (n, n))
    np.fill_diagonal(W, 0)
    W /= W.sum(axis=1, keepdims=True)
    D = rng.integers(1, 201, (n, n))
    return W, D


def kb3():
    sizes = [(90, 10000), (1000, 300)] if not QUICK else [(90, 1000)]
    gate_steps = 2000 if not QUICK else 200
    for n, steps in sizes:
        W, Dl = connectome(n)
        np.save(f"{OUT}/kb3_W_{n}.npy", W)
        np.save(f"{OUT}/kb3_D_{n}.npy", Dl.astype(np.float64))
        w0, K, Dn, dt = 2 * np.pi * 40 / 1000, 1.0, 0.01, 0.1
        th0 = theta0(n)
        depth = int(Dl.max()) + 1
        g = np.sqrt(2 * Dn * dt)
        cols = np.broadcast_to(np.arange(n), (n, n))
        # Gate noise: the same increments for both sides, as an input
        # I = eta / dt (lamina plays the rows into its `input` port with
        # its own noise off; the peers add dt * I).
        inp = np.random.default_rng(9).standard_normal((gate_steps, n)) * (g / dt)
        np.save(f"{OUT}/kb3_in_{n}.npy", inp)

        def noise_of(rng, k, given):
            return dt * given[k] if given is not None else g * rng.standard_normal(n)

        def usual(nsteps, given=None, keep=False):
            rng = np.random.default_rng(2)
            hist = np.tile(th0, (depth, 1))
            th = th0.copy()
            out = np.empty((nsteps, n)) if keep else None
            r = np.empty(nsteps)
            for k in range(nsteps):
                head = k % depth
                hist[head] = th
                r[k] = abs(np.mean(np.exp(1j * th)))
                delayed = hist[(head - Dl) % depth, cols]
                coup = (W * np.sin(delayed - th[:, None])).sum(axis=1)
                th = th + dt * (w0 + K * coup) + noise_of(rng, k, given)
                if keep:
                    out[k] = th
            return out if keep else r

        # Careful: a ring of cos/sin (no sine per edge), flat indices
        # precomputed once (one add per edge per step, wrapped by
        # np.take), the weighted row sums by einsum, everything in
        # preallocated arrays.
        base = (np.arange(n)[None, :] - Dl * n).ravel()

        def careful(nsteps, given=None, keep=False):
            rng = np.random.default_rng(2)
            th = th0.copy()
            c, s = np.cos(th), np.sin(th)
            hc, hs = np.tile(c, depth), np.tile(s, depth)
            idx = np.empty(n * n, dtype=np.int64)
            gc, gs = np.empty((n, n)), np.empty((n, n))
            out = np.empty((nsteps, n)) if keep else None
            r = np.empty(nsteps)
            for k in range(nsteps):
                head = k % depth
                np.cos(th, out=c)
                np.sin(th, out=s)
                hc[head * n:(head + 1) * n] = c
                hs[head * n:(head + 1) * n] = s
                r[k] = np.hypot(c.mean(), s.mean())
                np.add(base, head * n, out=idx)
                np.take(hc, idx, out=gc.reshape(-1), mode="wrap")
                np.take(hs, idx, out=gs.reshape(-1), mode="wrap")
                re = np.einsum("ij,ij->i", W, gc)
                im = np.einsum("ij,ij->i", W, gs)
                th += dt * (w0 + K * (im * c - re * s)) + noise_of(rng, k, given)
                if keep:
                    out[k] = th
            return out if keep else r

        for impl, fn in (("numpy-careful", careful), ("numpy-usual", usual)):
            t = timeit(lambda: fn(steps))
            emit("KB-3", impl, n, t[:3], n * n * steps, "")
        # Gate inputs: the careful peer's phases after each of gate_steps
        # steps on the shared noise (PLV), and the usual peer's first 10.
        ph = careful(gate_steps, inp, keep=True)
        np.save(f"{OUT}/kb3_phases_numpy-careful_{n}.npy", ph[:10])
        np.save(f"{OUT}/kb3_phases_numpy-usual_{n}.npy", usual(10, inp, keep=True))
        e = np.exp(1j * ph)
        np.save(f"{OUT}/kb3_plv_numpy_{n}.npy", np.abs(e.T @ e.conj()) / ph.shape[0])


# ---------------------------------------------------------------- KB-4
def kb4():
    for n in ([100, 1000, 3000] if not QUICK else [100, 1000]):
        th0, w, K, dt = theta0(n), gauss_q(n, 0.1), 1.0, 0.01
        steps = max(5, int(2e8 // (n * n) // 10))

        def usual():  # fabridamicelli-style right-hand side
            th = th0.copy()
            for _ in range(steps):
                ti, tj = np.meshgrid(th, th)
                th = th + dt * (w + K / n * np.sin(ti - tj).sum(axis=0))
            return th

        t = timeit(usual)
        emit("KB-4", "numpy-meshgrid", n, t[:3], steps, "")
    kb4_gate()


# KB-4's correctness gate: a Kc sweep, N = 1000, Gaussian quantiles sigma =
# 0.1, all-to-all; the estimate must be within 5 % of Kc = 2/(pi g(0)) =
# sqrt(8/pi) sigma (reference T3).  The meshgrid code above is O(N^2) per
# step (3 ms at N = 1000), too slow for a sweep, and is the same model, so
# the peer's sweep runs KB-1's careful mean-field code.  kb.lua runs the
# identical sweep (same grid, theta0, omega quantiles, dt, T, estimator) and
# must find the same Kc.
#
# Grid: K = Kc_theory * (0.90, 0.91, ..., 1.10), each run from theta0 (not
# continued from the previous K, which would lag behind the stationary
# state).  Euler, dt = 0.05 (|omega| dt <= 0.016 rad; dt = 0.1 moved the
# estimate by 0.1 %), T = 2000: the first 1000 time units are transient and
# r is averaged over t in [1000, 2000].  Relaxation is slow near Kc (the
# linear growth rate of incoherence is proportional to K - Kc: 1/400 per
# time unit at 1.02 Kc); runs of T = 1000, 2000 and 4000 gave r(1.02 Kc)
# within 3 % of each other and Kc estimates from -0.9 % to +0.3 % (dt = 0.1,
# grid step 0.02).
#
# Estimator: the onset of r.  Below Kc the incoherent state keeps
# r = O(N^-1/2) (reference T13: sqrt(pi/(4N)) = 0.028 for N = 1000;
# measured <= 0.04 over 0.90..0.99 Kc in this sweep); above Kc the infinite-N branch is
# r^2 = -16 (K - Kc) / (pi Kc^4 g''(0)) = pi (K/Kc - 1) to first order.
# Kc is the K where r crosses r* = 3/sqrt(N) = 0.095, interpolated linearly
# in r^2 (linear in K by that law) between the last grid point below r* and
# the first above.  On the infinite-N branch r* is reached at
# K = Kc (1 + 9/(pi N)), a bias of +0.3 % that vanishes as N grows.  A
# linear fit of r^2 over a window above Kc was rejected: r^2 is strongly
# curved (on the exact infinite-N branch a fit over 1.02..1.2 Kc gives Kc
# 1.8 % low, over 1.05..1.5 Kc 12 % low).  A Kc outside the grid (r above
# r* at 0.90 Kc, or nowhere) is a FAIL.
# Cost on the project VM: 21 runs x 40000 steps, 12-16 s CPU here (about
# 14 us per step, mostly NumPy call overhead at N = 1000) and 1.7 s in
# kb.lua (--quick: 11 runs x 10000 steps, dt = 0.1, T = 1000: 2.2 / 0.2 s).
KB4_N, KB4_SIGMA = 1000, 0.1
KB4_KC = np.sqrt(8 / np.pi) * KB4_SIGMA


def kb4_sweep():
    """(K/Kc grid, dt, T) of the sweep, shared with kb.lua by value."""
    if QUICK:
        return [0.90 + 0.02 * j for j in range(11)], 0.1, 1000.0
    return [0.90 + 0.01 * j for j in range(21)], 0.05, 2000.0


def kc_onset(ks, rs, n):
    """Kc from a sweep: the K where the stationary r first exceeds
    3/sqrt(n), interpolated in r^2; None when it is not bracketed."""
    thr2 = 9.0 / n
    for j, r in enumerate(rs):
        if r * r > thr2:
            if j == 0:
                return None
            a, b = rs[j - 1] ** 2, r * r
            return ks[j - 1] + (ks[j] - ks[j - 1]) * (thr2 - a) / (b - a)
    return None


def kc_verdict(kc, extra):
    if kc is None:
        return f"Kc outside the grid (theory {KB4_KC:.4f}) FAIL; {extra}"
    err = kc / KB4_KC - 1
    return f"Kc={kc:.4f} (theory {KB4_KC:.4f}, {100 * err:+.2f}%) {'PASS' if abs(err) <= 0.05 else 'FAIL'}; {extra}"


def kb4_gate():
    n = KB4_N
    xs, dt, T = kb4_sweep()
    steps = int(round(T / dt))
    th0, w = theta0(n), gauss_q(n, KB4_SIGMA)
    np.save(f"{OUT}/kb4_omega_{n}.npy", w)  # kb.lua checks its quantiles against these
    t0 = time.process_time()
    ks = [x * KB4_KC for x in xs]
    rs = [mean_field_careful(th0, w, K, dt, steps)[steps // 2:].mean() for K in ks]
    cpu = time.process_time() - t0
    np.save(f"{OUT}/kb4_sweep_numpy.npy", np.array([ks, rs]))
    print(f"KB-4\tgate-numpy\t{n}\t0\t0\t0\t0\t"
          + kc_verdict(kc_onset(ks, rs, n), f"{len(ks)} K x {steps} steps, dt={dt}, {cpu:.1f} s CPU"), flush=True)


# ---------------------------------------------------------------- main
for case, f in (("KB-1", kb1), ("KB-1n", kb1n), ("KB-2", kb2), ("KB-3", kb3), ("KB-4", kb4)):
    if ONLY is None or ONLY == case:
        f()
if ONLY is None or ONLY == "KB-1":
    sincos_floor()
