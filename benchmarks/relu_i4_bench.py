"""Speed and accuracy of odetheory.relu_i4.relu_i4 (ReLU I4 = E[θθ relu relu]).

Run: ``python benchmarks/relu_i4_bench.py`` (``--no-sweep`` skips the accuracy sweep).

1. Mean time per call after compilation, for distinct fields on generic, nearly
   parallel, nearly singular and exactly singular covariances, and for repeated-index
   patterns.  Timed inside a compiled loop over 1,000 different covariances (the kernel's
   own cost), best of 7 repetitions, and also as a plain Python call (adds the numba
   dispatch overhead).
2. The max error, in units of sqrt(C_cc C_dd), over the 200-covariance sweep of the slow
   test (tests/test_relu_i4.py::test_reference_sweep_200) against the 75-digit mpmath
   reference written there (about 1-2 minutes).
"""
import argparse
import os
import platform
import sys
import time

import numpy as np
from numba import njit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from odetheory.integrals.relu_i4 import relu_i4  # noqa: E402


@njit  # no cache: numba's cache would not see changes in relu_i4 itself
def _loop(Cs, a, b, c, d):
    s = 0.0
    for i in range(Cs.shape[0]):
        s += relu_i4(Cs[i], a, b, c, d)
    return s


def covariances(kind, n=1000, seed=0):
    """(n, 5, 5) stack of covariances of one kind."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 5, 5))
    for i in range(n):
        if kind == "rank 3 (exact)":
            V = rng.integers(-3, 4, size=(5, 3)).astype(float)
            V[np.all(V == 0, axis=1), 0] = 1.0
        else:
            V = rng.standard_normal((5, 8))
            if kind == "nearly parallel (1-ρ²~1e-8)":
                V[3] = 1.3 * V[0] + 1e-4 * rng.standard_normal(8)
            elif kind == "near rank 3 (λmin~1e-8)":
                V[3] = rng.standard_normal(3) @ V[:3] + 1e-4 * rng.standard_normal(8)
        out[i] = V @ V.T
    return out


def time_per_call(Cs, pattern, reps=7):
    """(µs per call in a compiled loop, µs per call from Python), best of reps."""
    _loop(Cs, *pattern)
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        _loop(Cs, *pattern)
        best = min(best, time.perf_counter() - t)
    m = min(len(Cs), 200)
    py = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        for i in range(m):
            relu_i4(Cs[i], *pattern)
        py = min(py, time.perf_counter() - t)
    return 1e6 * best / len(Cs), 1e6 * py / m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-sweep", action="store_true", help="skip the 200-covariance accuracy sweep")
    args = ap.parse_args()
    print(f"machine: processor={platform.processor() or platform.machine()!r}, "
          f"cpu_count={os.cpu_count()}, {platform.system()} {platform.release()}, "
          f"python {platform.python_version()}")
    t = time.perf_counter()
    relu_i4(np.eye(4) + 0.1, 0, 1, 2, 3)
    print(f"first call (compile or load from cache): {time.perf_counter() - t:.1f} s\n")

    print(f"{'covariances':32s} {'pattern (a,b,c,d)':18s} {'µs/call (loop)':>15s} {'µs/call (python)':>17s}")
    kinds = ["generic", "nearly parallel (1-ρ²~1e-8)", "near rank 3 (λmin~1e-8)", "rank 3 (exact)"]
    for kind in kinds:
        Cs = covariances(kind)
        for pattern in [(0, 1, 2, 3)] + ([(0, 0, 2, 3), (0, 1, 2, 2), (0, 2, 2, 3), (0, 1, 0, 1),
                                          (0, 0, 2, 2), (2, 2, 2, 2)] if kind == "generic" else []):
            loop_us, py_us = time_per_call(Cs, pattern)
            print(f"{kind:32s} {str(pattern):18s} {loop_us:15.2f} {py_us:17.2f}")

    if args.no_sweep:
        return
    from test_relu_i4 import KINDS, make_cases, sweep_errors
    print("\naccuracy sweep: 200 covariances against the mpmath reference ...", flush=True)
    t = time.perf_counter()
    errs = sweep_errors(make_cases(seed=99, count=200))
    worst = max(errs, key=lambda e: e[2])
    print(f"max |error| / sqrt(C_cc C_dd) = {worst[2]:.2e}  ({worst[0]}, pattern {worst[1]}), "
          f"{time.perf_counter() - t:.0f} s")
    for k in KINDS:
        sel = [e[2] for e in errs if e[0] == k]
        print(f"  {k:18s} n={len(sel):3d}  max {max(sel):.2e}")


if __name__ == "__main__":
    main()
