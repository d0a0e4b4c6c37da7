#!/usr/bin/python3
"""ESN step and ridge-fit benchmarks: lamina's reservoir.esn against a
NumPy/SciPy ESN written the way ReservoirPy 0.3 computes it.

Run from the repository root (after `make`):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/bench/reservoir/esn_bench.py [--reps 5] [--build build]

Times are process CPU time (time.process_time / CLOCK_PROCESS_CPUTIME_ID):
the project's machines are shared and loaded, and wall time would mostly
measure waiting for a core.  Everything is single-threaded (OPENBLAS_NUM_THREADS=1 is forced for both
sides) and float64 unless a row says f32.  Each case runs `reps` times
(lamina: one process per case, each repetition one m:call("run", U) over
the whole sequence; the peer: a Python loop over steps, as ReservoirPy's
Reservoir.run does) and the MEDIAN is reported.

The peer ESN does per step what ReservoirPy 0.3's Reservoir
(forward_internal + reservoir_kernel) does, with column-vector states and
its zero "noise" arrays, but without its Node dispatch, so it is a lower
bound on ReservoirPy's own time:
    pre = W @ r + Win @ (u + 0) + bias
    x   = (1 - lr) * r + lr * tanh(pre) + 0
with W a scipy.sparse CSR matrix (ReservoirPy's default, density 0.1) or a
dense ndarray, Win dense [N, 1].

Memory-bandwidth floor: a 256 MB numpy copy (read + write) measured in the
same run; the floor per step is the bytes of W (CSR: 12 bytes per nonzero
+ 8 per row; dense: 8 N^2) divided by that bandwidth.  At N = 100 and
N = 1000/10 % W fits in the L2/L3 cache, so the floor is a DRAM bound, not
a cache bound.

Ridge: 1e5 steps of N = 1000 states streamed in 10 blocks of 1e4 rows,
X^T X accumulated in float64 and solved (lamina: lam.readout.ridge,
SYRK + Cholesky; NumPy: Xb.T @ Xb per block, then np.linalg.solve).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

CASES = [
    # name, N, density, storage, batch, precision, steps
    ("esn100", 100, 0.1, "sparse", 1, "f64", 20000),
    ("esn100_dense", 100, 0.1, "dense", 1, "f64", 20000),
    ("esn1000", 1000, 0.1, "sparse", 1, "f64", 5000),
    ("esn1000_f32", 1000, 0.1, "sparse", 1, "f32", 5000),
    ("esn1000_b16", 1000, 0.1, "sparse", 16, "f64", 1000),
    ("esn1000_dense_b16", 1000, 0.1, "dense", 16, "f64", 1000),
]


def bandwidth():
    a = np.ones(32 * 1024 * 1024)  # 256 MB
    b = np.empty_like(a)
    best = []
    for _ in range(5):
        t0 = time.process_time()
        np.copyto(b, a)
        best.append(time.process_time() - t0)
    return 2 * a.nbytes / statistics.median(best)  # bytes/s (read + write)


def peer_esn(n, density, sparse, steps, reps):
    rng = np.random.default_rng(1)
    w = sp.random(n, n, density=density, format="csr", random_state=rng,
                  data_rvs=rng.standard_normal)
    rho = abs(spla.eigs(w, k=1, which="LM", return_eigenvectors=False)[0])
    w = (w * (0.9 / rho)).tocsr()
    if not sparse:
        w = w.toarray()
    win = rng.uniform(-1, 1, size=(n, 1))
    bias = 0.1 * rng.uniform(-1, 1, size=n)
    u = rng.uniform(-1, 1, size=(steps, 1))
    bias = bias.reshape(-1, 1)
    lr = 0.5

    def noise(shape, gain=0.0):
        # ReservoirPy 0.3's noise generator: zeros when the gain is 0.
        return np.zeros(shape) if gain == 0 else gain * rng.standard_normal(shape)

    def kernel(u1, r):  # reservoir_kernel
        return w @ r + win @ (u1 + noise(u1.shape)) + bias

    times = []
    for _ in range(reps):
        state = np.zeros((1, n))
        t0 = time.process_time()
        for t in range(steps):  # forward_internal, one call per step
            u1 = u[t].reshape(-1, 1)
            r = state.T
            s_next = (np.multiply(1 - lr, r.T).T + np.multiply(lr, np.tanh(kernel(u1, r)).T).T
                      + noise(r.shape))
            state = s_next.T
        times.append(time.process_time() - t0)
    return statistics.median(times) / steps


def peer_ridge(reps):
    n, b, k = 1000, 10000, 10
    rng = np.random.default_rng(7)
    blocks = [rng.standard_normal((b, n)) for _ in range(k)]
    ys = [rng.standard_normal((b, 1)) for _ in range(k)]
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        xtx = np.zeros((n, n))
        xty = np.zeros((n, 1))
        xs = np.zeros(n)
        ysum = np.zeros(1)
        for xb, yb in zip(blocks, ys):
            xtx += xb.T @ xb
            xty += xb.T @ yb
            xs += xb.sum(0)
            ysum += yb.sum(0)
        cnt = n * 0 + b * k
        c = xtx - np.outer(xs, xs) / cnt + 1e-6 * np.eye(n)
        d = xty - np.outer(xs, ysum) / cnt
        np.linalg.solve(c, d)
        times.append(time.process_time() - t0)
    return statistics.median(times)


def lamina(build, case, reps):
    env = dict(os.environ)
    env["LAMINA_LIB"] = os.path.abspath(f"{build}/lib/liblamina.so")
    cmd = [f"{build}/bin/lamina", "run", "scripts/bench/reservoir/esn_bench.lua",
           f"case={case}", f"reps={reps}"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines() if line.startswith(case + "\t")]
    return [float(r[1]) / float(r[2]) for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--build", default="build")
    ap.add_argument("--skip-ridge", action="store_true")
    a = ap.parse_args()
    bw = bandwidth()
    print(f"# memory bandwidth (numpy 256 MB copy, read+write, CPU time): {bw / 1e9:.1f} GB/s")
    print(f"# OPENBLAS_NUM_THREADS=1, median of {a.reps}; numpy {np.__version__}, scipy {sp.__name__}")
    print("| case | N | W | batch | prec | lamina µs/step (per instance) | GMAC/s | bandwidth floor µs | "
          "NumPy/SciPy µs/step | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    peers = {}
    for name, n, dens, storage, nb, prec, steps in CASES:
        ts = lamina(a.build, name, a.reps)
        t = statistics.median(ts)
        nnz = dens * n * n if storage == "sparse" else n * n  # approx. MACs per step
        wbytes = (12 * dens * n * n + 8 * n) if storage == "sparse" else 8 * n * n
        if prec == "f32":
            wbytes = (8 * dens * n * n + 8 * n) if storage == "sparse" else 4 * n * n
        floor = wbytes / nb / bw
        # The peer runs sequences one at a time, in float64 (as ReservoirPy
        # does), so batch and f32 rows compare with the same N and storage.
        key = (n, dens, storage)
        if key not in peers:
            peers[key] = peer_esn(n, dens, storage == "sparse", min(steps, 5000), a.reps)
        pt = peers[key]
        peer = f"{pt * 1e6:.2f}"
        ratio = f"{pt / t:.1f}x"
        print(f"| {name} | {n} | {storage} {dens:g} | {nb} | {prec} | {t * 1e6:.2f} | "
              f"{nnz / t / 1e9:.2f} | {floor * 1e6:.2f} | {peer} | {ratio} |", flush=True)
    if not a.skip_ridge:
        lt = statistics.median(lamina(a.build, "ridge", a.reps))
        pt = peer_ridge(a.reps)
        print(f"\nridge fit, N = 1000 states x 1e5 steps (10 blocks), 1 output: lamina {lt:.3f} s, "
              f"NumPy (Xb.T @ Xb + solve) {pt:.3f} s, ratio {pt / lt:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
