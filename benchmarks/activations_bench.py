"""Cost of the activation routes: right-hand-side evaluations, whole integrations, first and
second call of a new expression, and the numerical route against the tensor Gauss–Hermite route.

    python benchmarks/activations_bench.py [--quick]

Every timed call runs once before it is timed (compilation and cache loading excluded),
except the first-call measurement, which runs in fresh processes with empty caches.
"""
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

from odetheory import draw_network, integrate
from odetheory.ode.model import rhs_functions
from odetheory.ode.problem import make_problem, pack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from test_models import _reference_trajectory, _state  # noqa: E402  the independent route of the tests

ACTIVATIONS = ("erf", "relu", "he3", "tanh", "tanh(2*x)")


MIXED = (("erf", "he3"), ("he3", "erf"), ("erf", "linear"), ("erf", "tanh"), ("relu", "he2"), ("relu", "he3"),
         ("he3", "relu"))


def rhs_time(K, act, budget=1.0, teacher=None):
    """Seconds per right-hand-side evaluation at K = M (DFA, η = 0.5, drawn at N = 500)."""
    st = draw_network(K, K, 500, 0.5, 1).state()
    P, y = make_problem(st, act, "dfa", 0.5, 0.5, 0.0, True, teacher), pack(st)
    f = rhs_functions(act, teacher).derivatives
    f(0.0, y, P)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget or n == 0:
        f(0.0, y, P)
        n += 1
    return (time.perf_counter() - start) / n


def first_and_second_call(expr):
    """(seconds, seconds) of a 1-step integrate with a new expression in two fresh processes
    sharing empty caches: the first compiles and stores, the second loads."""
    code = ("import time; t = time.perf_counter(); from odetheory import draw_network, integrate; "
            f"integrate(draw_network(2, 2, 100, 0.5, 0).state(), activation={expr!r}, t_max=0.01, n_times=2); "
            "print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, ODETHEORY_CACHE_DIR=os.path.join(tmp, "odetheory"),
                   NUMBA_CACHE_DIR=os.path.join(tmp, "numba"))
        out = [float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.split()[-1]) for _ in range(2)]
    return out


def main(quick=False):
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    sizes = (2, 4) if quick else (2, 4, 8)
    print("time per right-hand-side evaluation (K = M), and its ratio to erf:")
    for K in sizes:
        erf = rhs_time(K, "erf")
        cells = []
        for act in ACTIVATIONS:
            if K == 8 and act in ("tanh", "tanh(2*x)"):
                t = rhs_time(K, act, budget=0.0)  # one evaluation
            else:
                t = rhs_time(K, act)
            cells.append(f"{act} {t * 1e3:.3g} ms ({t / erf:.3g}x)")
        print(f"  K = M = {K}: " + ", ".join(cells))
    print("mixed pairs (student/teacher), time per right-hand-side evaluation and its ratio to erf:")
    for K in sizes:
        erf = rhs_time(K, "erf")
        cells = []
        for student, teacher in MIXED:
            t = rhs_time(K, student, teacher=teacher, budget=0.0 if K == 8 and teacher == "tanh" else 1.0)
            cells.append(f"{student}/{teacher} {t * 1e3:.3g} ms ({t / erf:.3g}x)")
        print(f"  K = M = {K}: " + ", ".join(cells))
    print("integrate to t = 200 at the default tolerance, K = M = 2 (in-process, after warm-up):")
    st = draw_network(2, 2, 500, 1e-2, 0).state()
    for act in ACTIVATIONS:
        integrate(st, activation=act, eta=0.5, t_max=1.0, n_times=2)
        tr = integrate(st, activation=act, eta=0.5, t_max=200.0)
        print(f"  {act}: {tr.wall_time:.3g} s, {tr.nfev} evaluations, final eps_g {tr.eg[-1]:.4g} ({tr.message})")
    first, second = first_and_second_call("sin(x) + x/2")
    print(f"new expression 'sin(x) + x/2', fresh processes: first call {first:.1f} s (compiles and caches), "
          f"second {second:.1f} s (loads)")
    st = _state(2, 1, 7)
    t_out = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    ref = _reference_trajectory(st, "tanh", t_out, 56)
    integrate(st, activation="tanh", eta=0.5, t_max=0.1, n_times=2)
    ours = integrate(st, activation="tanh", eta=0.5, t_max=4.0, times=t_out[1:-1], n_times=0, rtol=1e-11,
                     atol=1e-13)
    start = time.perf_counter()
    gh = _reference_trajectory(st, "tanh", t_out, 40)
    t_gh = time.perf_counter() - start
    print(f"tanh K = 2, M = 1 to t = 4, error in eps_g against a 56-node reference: numerical route "
          f"{np.max(np.abs(ours.eg - ref)) / ref[0]:.2g} of eps_g(0) in {ours.wall_time:.3g} s; tensor "
          f"Gauss-Hermite 40 nodes {np.max(np.abs(gh - ref)) / ref[0]:.2g} in {t_gh:.3g} s "
          f"({t_gh / ours.wall_time:.0f}x)")
    # K = M = 2: a 4-d tensor rule; the reference is our route at rtol 1e-12 (its quadrature
    # checked against the 56-node tensor route above), the tensor errors converge towards it
    st = _state(2, 2, 7)
    t_out = np.array([0.0, 1.0, 2.0])
    integrate(st, activation="tanh", eta=0.5, t_max=0.1, n_times=2)
    ref = integrate(st, activation="tanh", eta=0.5, t_max=2.0, times=t_out[1:-1], n_times=0, rtol=1e-12, atol=1e-14)
    ours = integrate(st, activation="tanh", eta=0.5, t_max=2.0, times=t_out[1:-1], n_times=0)
    print(f"tanh K = M = 2 to t = 2: numerical route (default tolerance) {np.max(np.abs(ours.eg - ref.eg)) / ref.eg[0]:.2g} "
          f"of eps_g(0) in {ours.wall_time:.3g} s", end="")
    for n in (16, 24):
        start = time.perf_counter()
        gh = _reference_trajectory(st, "tanh", t_out, n)
        t_gh = time.perf_counter() - start
        print(f"; tensor Gauss-Hermite {n} nodes {np.max(np.abs(gh - ref.eg)) / ref.eg[0]:.2g} in {t_gh:.3g} s "
              f"({t_gh / ours.wall_time:.0f}x)", end="")
    print()


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
