#!/usr/bin/python3
"""Brian2 peer for the CUBA / COBA benchmark networks (Brette et al. 2007).

Runs Brian2's C++ standalone device with one thread (no OpenMP), builds
once (compile time reported separately), then re-runs the compiled binary
`runs` times and reports the simulation-loop time of each run (Brian's
own last_run_info, which excludes compilation and synapse creation),
the CPU time of each run of the binary (process_cpu_s: user + system of
the whole binary, i.e. the loop plus its setup and result files),
the mean rate and the median ISI CV.  One JSON line on stdout.

Usage: cuba_brian2.py cuba|coba DURATION_MS RUNS SEED WORKDIR [CMD ...]

Each CMD (a shell command printing one JSON line with a "loop_s" list,
e.g. scripts/bench/reservoir/cuba.lua with REPS = 1) is run once before
each Brian2 run, so the two sides alternate and share the machine's load;
their lines are merged (loop_s concatenated) and printed first.
The networks are the ones reservoir.lif builds (docs/reservoir.md):
4000 neurons (3200 E, 800 I), p = 0.02 with self-connections allowed,
dt = 0.1 ms, refractory 5 ms with v frozen.
"""
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from brian2 import (Network, NeuronGroup, SpikeMonitor, Synapses, defaultclock,
                    device, ms, mV, prefs, seed, set_device)

model, dur, runs, sd, work = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
others = sys.argv[6:]
set_device('cpp_standalone', directory=work, build_on_run=False)
prefs.devices.cpp_standalone.openmp_threads = 0
defaultclock.dt = 0.1 * ms
seed(sd)
taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
Vt, Vr = -50 * mV, -60 * mV
if model == 'cuba':
    El = -49 * mV
    eqs = '''dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
             dge/dt = -ge/taue : volt
             dgi/dt = -gi/taui : volt'''
    P = NeuronGroup(4000, eqs, threshold='v>Vt', reset='v = Vr', refractory=5 * ms, method='exact')
    P.v = 'Vr + rand() * (Vt - Vr)'
    P.ge = 0 * mV
    P.gi = 0 * mV
    we, wi = (60 * 0.27 / 10) * mV, (-20 * 4.5 / 10) * mV
else:
    El, Ee, Ei = -60 * mV, 0 * mV, -80 * mV
    eqs = '''dv/dt  = (ge*(Ee-v)+gi*(Ei-v)-(v-El))/taum : volt (unless refractory)
             dge/dt = -ge/taue : 1
             dgi/dt = -gi/taui : 1'''
    P = NeuronGroup(4000, eqs, threshold='v>Vt', reset='v = Vr', refractory=5 * ms, method='euler')
    P.v = '-65*mV + 5*mV*randn()'
    P.ge = '4 + 1.5*randn()'
    P.gi = '20 + 12*randn()'
    we, wi = 0.6, 6.7
Ce = Synapses(P, P, on_pre='ge += we')
Ci = Synapses(P, P, on_pre='gi += wi')
Ce.connect('i<3200', p=0.02)
Ci.connect('i>=3200', p=0.02)
mon = SpikeMonitor(P)
net = Network(P, Ce, Ci, mon)
net.run(dur * ms)
t0 = time.perf_counter()
device.build(directory=work, compile=True, run=False, debug=False)
compile_s = time.perf_counter() - t0
loop, proc_cpu = [], []
merged = [None] * len(others)
for r in range(runs):
    for k, cmd in enumerate(others):
        line = subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        res = json.loads(line)
        if merged[k] is None:
            merged[k] = res
        else:
            merged[k]["loop_s"] += res["loop_s"]
            merged[k]["build_s"] += res["build_s"]
            merged[k]["cpu_s"] += res["cpu_s"]
    u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    device.run(directory=work, with_output=False, run_args=[])
    u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    loop.append(float(device._last_run_time))
    proc_cpu.append(u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime)
for m in merged:
    print(json.dumps(m))
i = np.asarray(mon.i[:])
t = np.asarray(mon.t[:] / ms)
n = len(i)
rate = n / 4000 / (dur / 1000)
order = np.lexsort((t, i))
i, t = i[order], t[order]
cvs = []
starts = np.searchsorted(i, np.arange(4001))
for k in range(4000):
    tk = t[starts[k]:starts[k + 1]]
    if len(tk) > 5:
        isi = np.diff(tk)
        cvs.append(isi.std() / isi.mean())
try:
    nsyn = int(len(Ce.i[:]) + len(Ci.i[:]))
except Exception:  # older devices cannot read synapses back
    nsyn = None
print(json.dumps({'peer': 'brian2 %s cpp_standalone 1 thread' % __import__('brian2').__version__,
                  'model': model, 'duration_ms': dur, 'compile_s': compile_s, 'loop_s': loop, 'process_cpu_s': proc_cpu, 'synapses': nsyn,
                  'spikes': n, 'rate_hz': rate, 'cv_median': float(np.median(cvs)) if cvs else None}))
