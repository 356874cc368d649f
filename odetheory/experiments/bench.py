"""``odetheory bench``: the adaptive integrator against fixed-step Euler, measured in one run.

Problem: erf DFA, K = 3, M = 2, η = 0.5, t = 200, initial condition drawn at N = 500
(seed 0, σ0 = 0.01). Every timed call runs once before it is timed, so numba
compilation and cache loading are excluded.
"""
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..initial import draw_network
from ..ode.integrate import integrate
from ..ode.problem import make_problem, pack
from ..ode.rhs import derivatives


def _timed(fn, repeat=1):
    fn()  # warm-up: compile or load from cache
    start = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return out, (time.perf_counter() - start) / repeat


def _rhs_cost(K, activation="erf", seconds=0.3):
    st = draw_network(K, K, N=500, sigma0=0.5, seed=1).state()
    P, y = make_problem(st, activation, "dfa", 0.5, 0.5, 0.0, True), pack(st)
    derivatives(0.0, y, P)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        derivatives(0.0, y, P)
        n += 1
    return (time.perf_counter() - start) / n


def _cli_start(args):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "odetheory", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def run_benchmark(quick=False, out=print):
    out(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}")
    st = draw_network(3, 2, N=500, sigma0=1e-2, seed=0).state()
    problem = dict(activation="erf", rule="dfa", eta=0.5, t_max=200.0)
    ad, t_ad = _timed(lambda: integrate(st, rtol=1e-8, **problem), repeat=5)
    out(f"adaptive DOP853 rtol=1e-8: {ad.nfev} RHS evaluations, {t_ad * 1e3:.2f} ms")
    e1, t_e1 = _timed(lambda: integrate(st, integrator="euler", dt=1 / 500, **problem))
    out(f"Euler dt=1/500:  {e1.nfev} RHS evaluations, {t_e1:.3f} s, {t_e1 / t_ad:.0f}x the adaptive time, "
        f"max rel. diff in eg {np.max(np.abs(e1.eg / ad.eg - 1)):.2e}")
    if not quick:
        e2, t_e2 = _timed(lambda: integrate(st, integrator="euler", dt=5e-5, **problem))
        out(f"Euler dt=5e-5:   {e2.nfev} RHS evaluations, {t_e2:.2f} s, {t_e2 / t_ad:.0f}x the adaptive time, "
            f"max rel. diff in eg {np.max(np.abs(e2.eg / ad.eg - 1)):.2e}")
        e3 = integrate(st, integrator="euler", dt=1e-4, **problem)
        richardson = 2 * e2.eg - e3.eg  # cancels Euler's O(dt) error
        # Euler lands on every output time; compare with an adaptive run that lands there too
        # (the default run reads them off its dense output, whose error is reported below)
        landed = integrate(st, rtol=1e-8, times=ad.t, **problem)
        out(f"  Euler's own error is O(dt): Richardson 2·E(5e-5) − E(1e-4) against adaptive (landed on the same "
            f"times): max rel. diff {np.max(np.abs(richardson / landed.eg - 1)):.2e}")
        ref = integrate(st, rtol=1e-13, atol=1e-15, times=ad.t, **problem)
        out(f"  adaptive rtol=1e-8 against adaptive rtol=1e-13 on the same times: "
            f"max rel. diff in eg {np.max(np.abs(ad.eg / ref.eg - 1)):.2e}")
    for act in ("erf", "relu"):
        run, t_run = _timed(lambda: integrate(st, activation=act, rule="dfa", eta=0.1, t_max=1000.0), repeat=3)
        out(f"{act:4s} DFA K=3 M=2 eta=0.1 to t=1000, rtol=1e-8: {run.nfev} RHS evaluations, "
            f"{t_run * 1e3:.1f} ms ({t_run / run.nfev * 1e6:.1f} µs per evaluation)")
    with tempfile.TemporaryDirectory() as folder:
        args = ["integrate", "--K", "3", "--M", "2", "--eta", "0.5", "--t-max", "200",
                "-o", os.path.join(folder, "bench.csv"), "--force"]
        _cli_start(args)
        out(f"CLI call `odetheory integrate ...` (second call, on-disk numba cache): {_cli_start(args):.2f} s")
    Ks = (2, 4, 8, 16) if quick else (2, 4, 8, 16, 32)
    for act in ("erf", "relu"):
        costs = [_rhs_cost(K, act) for K in Ks]
        for K, c in zip(Ks, costs):
            out(f"RHS evaluation, {act} DFA K = M = {K:2d}: {c * 1e6:10.1f} µs")
        slope = np.polyfit(np.log(Ks[-3:]), np.log(costs[-3:]), 1)[0]
        out(f"growth exponent of the {act} RHS cost with K (fit over K = {Ks[-3]}..{Ks[-1]}): {slope:.2f} "
            "(the η² term sums I4 over K² student pairs × (K+M)² fields: 4 asymptotically)")
