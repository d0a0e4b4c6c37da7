#!/usr/bin/python3
"""ESN step and ridge-fit benchmarks: lamina's reservoir.esn against a
NumPy/SciPy ESN written the way ReservoirPy 0.3 computes it.

Run from the repository root (after `make`; `make bench` runs it through
scripts/bench/run):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/bench/reservoir/esn_bench.py \
        [--reps 5] [--build build] [--quick] [--skip-ridge] [--tsv FILE]

Times are process CPU time (time.process_time / CLOCK_PROCESS_CPUTIME_ID):
the project's machines are shared and loaded, and wall time would mostly
measure waiting for a core.  Everything is single-threaded
(OPENBLAS_NUM_THREADS=1 is forced for both sides) and float64 unless a row
says f32.  Each case runs `reps` times (lamina: one process per case, each
repetition one m:call("run", U) over the whole sequence, which returns the
states [T, N]; the peer: a Python loop over steps, as ReservoirPy's
Reservoir.run does) and the MEDIAN is reported.

The peer ESN does per step what ReservoirPy 0.3's Reservoir
(forward_internal + reservoir_kernel) does, with column-vector states and
its zero "noise" arrays, and stores each state into a [T, N] array as
Node.run does, but without its Node dispatch, so it is a lower bound on
ReservoirPy's own time:
    pre = W @ r + Win @ (u + 0) + bias
    x   = (1 - lr) * r + lr * tanh(pre) + 0
    states[t] = x
with W a scipy.sparse CSR matrix (ReservoirPy's default, density 0.1) or a
dense ndarray, Win dense [N, 1].

Memory-bandwidth floor: a 256 MB numpy copy (read + write) measured in the
same run; the floor per step is the bytes of W read per step (floor_bytes:
CSR 10 bytes per nonzero -- 8-byte value, 16-bit column index -- plus 8 per
row; 12 per nonzero for the batch pass, which reads 32-bit indices; f32
values 4 bytes; dense 8 N^2) divided by that bandwidth.  At N = 100 and
N = 1000/10 % W (1 MB) fits in the L2/L3 cache, so the floor is a DRAM
bound, not a cache bound: a kernel can beat it.

Ridge: 1e5 steps of N = 1000 states streamed in 10 blocks of 1e4 rows,
X^T X accumulated in float64 and solved (lamina: lam.readout.ridge,
SYRK + Cholesky; NumPy: Xb.T @ Xb per block, then np.linalg.solve).

Prints a markdown table, the verdicts on the issue's targets (>= 10x at
N = 100, >= 2x at N = 1000) and the ridge ratio; --tsv writes the same
figures as RESULT lines.  Without NumPy/SciPy it prints a SKIP line and
exits 0.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
try:
    import numpy as np  # noqa: E402
    import scipy  # noqa: E402
    import scipy.sparse as sp  # noqa: E402
    import scipy.sparse.linalg as spla  # noqa: E402
except ImportError as e:  # the peer is optional: say so and stop cleanly
    print(f"SKIP\tesn\tNumPy/SciPy not importable ({e}); apt-get install python3-numpy python3-scipy")
    sys.exit(0)

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


def peer_esn(n, density, sparse, steps, reps, store=True):
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
        # Node.run: the states of the whole sequence are returned, as
        # lamina's run returns them
        states = np.zeros((steps, n)) if store else None
        for t in range(steps):  # forward_internal, one call per step
            u1 = u[t].reshape(-1, 1)
            r = state.T
            s_next = (np.multiply(1 - lr, r.T).T + np.multiply(lr, np.tanh(kernel(u1, r)).T).T
                      + noise(r.shape))
            state = s_next.T
            if store:
                states[t, :] = state
        times.append(time.process_time() - t0)
    return statistics.median(times) / steps


def peer_ridge(reps, k=10):
    n, b = 1000, 10000
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


def lamina(build, case, reps, steps):
    env = dict(os.environ)
    env["LAMINA_LIB"] = os.path.abspath(f"{build}/lib/liblamina.so")
    cmd = [f"{build}/bin/lamina", "run", "scripts/bench/reservoir/esn_bench.lua",
           f"case={case}", f"reps={reps}", f"steps={steps}"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines() if line.startswith(case + "\t")]
    return [float(r[1]) / float(r[2]) for r in rows]


# The targets (docs/performance.md): ratio to the peer at least
# 10x at N = 100 and 2x at N = 1000, 10 % density, float64, one instance.
TARGETS = {"esn100": 10.0, "esn1000": 2.0}


def floor_bytes(n, dens, storage, nb, prec):
    """Bytes of W read per step (per pass over W, for all nb instances).
    CSR with one instance: 8-byte value (4 in f32) + 2-byte column index
    (reservoir.esn keeps 16-bit indices for N <= 65536) per nonzero, plus
    the 8-byte row pointer per row; the batch pass reads the 4-byte
    indices.  Dense: 8 N^2 (4 N^2 in f32).  nnz is taken as density N^2,
    its expectation."""
    if storage == "dense":
        return (4 if prec == "f32" else 8) * n * n
    val = 4 if prec == "f32" else 8
    idx = 2 if (nb == 1 and n <= 65536) else 4
    return (val + idx) * dens * n * n + 8 * (n + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--build", default="build")
    ap.add_argument("--skip-ridge", action="store_true")
    ap.add_argument("--quick", action="store_true", help="1/20 of the steps (a smoke test, not for figures)")
    ap.add_argument("--tsv", help="also write RESULT lines (as scripts/bench/run's results.tsv) here")
    a = ap.parse_args()
    tsv = open(a.tsv, "w") if a.tsv else None

    def record(key, val, unit, desc):
        if tsv:
            tsv.write(f"RESULT\t{key}\t{val:.4g}\t{val:.4g}\t{val:.4g}\t{unit}\t{a.reps}\t{desc}\n")

    bw = bandwidth()
    print(f"# memory bandwidth (numpy 256 MB copy, read+write, CPU time): {bw / 1e9:.1f} GB/s")
    print(f"# OPENBLAS_NUM_THREADS=1, median of {a.reps}; numpy {np.__version__}, scipy {scipy.__version__}; "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print("| case | N | W | batch | prec | lamina µs/step (per instance) | GMAC/s | floor µs | floor GMAC/s | "
          "NumPy/SciPy µs/step | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    peers = {}
    verdicts = []
    for name, n, dens, storage, nb, prec, steps in CASES:
        if a.quick:
            steps = max(100, steps // 20)
        ts = lamina(a.build, name, a.reps, steps)
        t = statistics.median(ts)
        nnz = dens * n * n if storage == "sparse" else n * n  # MACs per step and instance
        floor = floor_bytes(n, dens, storage, nb, prec) / nb / bw
        # The peer runs sequences one at a time, in float64 (as ReservoirPy
        # does), so batch and f32 rows compare with the same N and storage.
        key = (n, dens, storage)
        if key not in peers:
            peers[key] = peer_esn(n, dens, storage == "sparse", min(steps, 5000), a.reps)
        pt = peers[key]
        print(f"| {name} | {n} | {storage} {dens:g} | {nb} | {prec} | {t * 1e6:.2f} | "
              f"{nnz / t / 1e9:.2f} | {floor * 1e6:.2f} | {nnz / floor / 1e9:.2f} | {pt * 1e6:.2f} | "
              f"{pt / t:.1f}x |", flush=True)
        what = f"N = {n}, {storage} {dens:g}, batch {nb}, {prec}"
        record(f"esn.{name}", t * 1e6, "us/step", f"reservoir.esn step per instance, {what}")
        record(f"esn.{name}.peer", pt * 1e6, "us/step", f"NumPy/SciPy ESN step (ReservoirPy 0.3's computation), {what}")
        record(f"esn.{name}.ratio", pt / t, "x", f"NumPy/SciPy time / lamina time, {what}")
        if name in TARGETS:
            ok = pt / t >= TARGETS[name]
            verdicts.append(f"target: {name} at least {TARGETS[name]:g}x the NumPy/SciPy ESN: "
                            f"{pt / t:.1f}x {'met' if ok else 'MISSED'}")
    print()
    for v in verdicts:
        print(v)
    if not a.skip_ridge:
        blocks = 1 if a.quick else 10
        lt = statistics.median(lamina(a.build, "ridge", a.reps, blocks))
        pt = peer_ridge(a.reps, blocks)
        print(f"ridge fit, N = 1000 states x {blocks * 10000:.0e} steps ({blocks} blocks), 1 output: "
              f"lamina {lt:.3f} s, NumPy (Xb.T @ Xb + solve) {pt:.3f} s, ratio {pt / lt:.2f}x")
        record("esn.ridge", lt, "s", f"lam.readout.ridge, N = 1000 states x {blocks}e4 steps, accumulate + solve")
        record("esn.ridge.peer", pt, "s", "NumPy Xb.T @ Xb per block + np.linalg.solve")
        record("esn.ridge.ratio", pt / lt, "x", "NumPy time / lamina time, ridge fit")
    if tsv:
        tsv.close()


if __name__ == "__main__":
    sys.exit(main())
