#!/usr/bin/python3
"""peer_brian2.py - the side-by-side peer of the host-overhead benchmark.

Run by scripts/bench/run with Debian's /usr/bin/python3.  It measures the
per-step cost of a simulator stepping a trivial model, to be compared with
lamina stepping its null model (scripts/bench/null.c: x[0] += 1 per step):

  brian2   a NeuronGroup of one neuron with the equation dv/dt = 1/second
           (forward Euler: v += dt/second per step) and the numpy code
           generation target, run with Network.run.  Per-step cost is the
           slope between two run lengths, so Brian2's per-run set-up
           (code objects, namespace resolution) is measured separately and
           not counted per step.
  python   a plain Python loop calling a function that does x[0] += 1 on a
           one-element NumPy array once per step: the floor of any
           simulator whose step loop is in Python.

Brian2 is Debian's python3-brian.  If it cannot be imported the brian2
case prints a SKIP line (the python case still runs).

Environment: LAMINA_BENCH_REPS (default 5), LAMINA_BENCH_SCALE (default 1).
Output lines are tab-separated:
  RESULT <key> <median> <min> <max> <unit> <reps> <description>
  SKIP <key> <reason>
"""
import os
import statistics
import sys
import time
import warnings

warnings.simplefilter("ignore")

REPS = int(os.environ.get("LAMINA_BENCH_REPS", "5"))
SCALE = float(os.environ.get("LAMINA_BENCH_SCALE", "1"))


def scaled(n):
    return max(10, int(n * SCALE))


def report(key, values, unit, desc):
    v = sorted(values)
    print("RESULT\t%s\t%.4g\t%.4g\t%.4g\t%s\t%d\t%s"
          % (key, statistics.median(v), v[0], v[-1], unit, len(v), desc))
    sys.stdout.flush()


def python_loop():
    try:
        import numpy as np
        x, what = np.zeros(1), "a NumPy array (numpy %s)" % np.__version__
    except ImportError:  # python3-numpy missing: a list does the same job
        x, what = [0.0], "a Python list (numpy not installed)"

    def step(x):
        x[0] += 1

    n = scaled(2e6)
    per = []
    for _ in range(REPS):
        x[0] = 0
        t0 = time.perf_counter()
        for _ in range(n):
            step(x)
        per.append((time.perf_counter() - t0) * 1e9 / n)
        assert x[0] == n
    report("peer.python_loop", per, "ns/step",
           "plain Python loop, one call per step doing x[0] += 1 on %s, %d steps"
           % (what, n))


def brian2_peer():
    try:
        import brian2 as b2
    except Exception as e:  # not installed, or broken
        print("SKIP\tpeer.brian2\tbrian2 cannot be imported (%s); install "
              "Debian's python3-brian" % (str(e).splitlines()[0] if str(e) else type(e).__name__))
        return
    b2.prefs.codegen.target = "numpy"
    b2.prefs.logging.file_log = False
    b2.prefs.logging.delete_log_on_exit = True
    b2.BrianLogger.log_level_error()
    dt = 0.1 * b2.ms
    b2.defaultclock.dt = dt
    n1, n2 = scaled(2000), scaled(52000)
    per, setup = [], []
    for _ in range(REPS):
        b2.start_scope()
        b2.defaultclock.dt = dt
        g = b2.NeuronGroup(1, "dv/dt = 1/second : 1", method="euler")
        net = b2.Network(g)
        net.run(10 * dt)  # first run: code generation
        t0 = time.perf_counter()
        net.run(n1 * dt)
        t1 = time.perf_counter()
        net.run(n2 * dt)
        t2 = time.perf_counter()
        s = ((t2 - t1) - (t1 - t0)) / (n2 - n1)
        per.append(s * 1e9)
        setup.append(((t1 - t0) - n1 * s) * 1e3)
        steps = int(round(float(net.t / dt)))
        assert steps == 10 + n1 + n2, steps
    report("peer.brian2", per, "ns/step",
           "Brian2 %s numpy target, NeuronGroup(1, 'dv/dt = 1/second : 1'), "
           "slope between runs of %d and %d steps" % (b2.__version__, n1, n2))
    report("peer.brian2_setup", setup, "ms/run",
           "Brian2 per-run set-up of Network.run (intercept of the same fit)")


if __name__ == "__main__":
    only = os.environ.get("LAMINA_BENCH_ONLY", "")
    if not only or "peer.python_loop" in only or "peer*" in only:
        python_loop()
    if not only or "peer.brian2" in only or "peer*" in only:
        brian2_peer()
