"""Speed of the compiled online-SGD loop against drawing its Gaussian inputs.

Run: ``python benchmarks/sgd_bench.py``. For K = 4, M = 2 (erf, DFA) at N = 500 and
N = 5000 it times, in the same run, drawing the inputs block by block and the compiled
steps on those blocks (ratio loop/drawing), then a full ``simulate`` run to α = 300 at
the default compare setting (erf DFA, N = 500, K = M = 2, η = 0.1) after compilation.
"""
import os
import platform
import time

import numpy as np

from odetheory.integrals.activations import activation_code
from odetheory.rules import rule_code
from odetheory.initial import draw_network, random_streams
from simulate import BLOCK_BYTES, simulate
from simulate.sgd import SGDParams, sgd_steps


def time_loop(K, M, N, n_steps, seed=0, eta=0.1):
    """(seconds drawing, seconds in the compiled loop) for n_steps steps."""
    net = draw_network(K, M, N, 1e-2, seed)
    W, v = net.W.copy(), net.v.copy()
    rng = random_streams(seed)["data"]
    rows = max(1, BLOCK_BYTES // (8 * (N + 1)))
    buf = np.empty((rows, N + 1))
    act, rule = activation_code("erf"), rule_code("dfa")
    params = SGDParams(act, act, rule, eta, eta, 0.0)
    sgd_steps(W, v, net.B, net.A, net.F, buf[:1] * 0, 0, 1, params, 0)  # compile
    draw = loop = 0.0
    done = 0
    while done < n_steps:
        n = min(rows, n_steps - done)
        t0 = time.perf_counter()
        rng.standard_normal(out=buf[:n])
        t1 = time.perf_counter()
        sgd_steps(W, v, net.B, net.A, net.F, buf, 0, n, params, done)
        t2 = time.perf_counter()
        draw += t1 - t0
        loop += t2 - t1
        done += n
    return draw, loop


def cpu_model():
    """CPU model name from /proc/cpuinfo (Linux), else ''."""
    try:
        with open("/proc/cpuinfo") as fh:
            return next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        return ""


def main():
    print(f"machine: processor={platform.processor()!r} machine={platform.machine()} "
          f"model={cpu_model()!r} cpu_count={os.cpu_count()}")
    print(f"{'N':>6} {'steps':>8} {'steps/s (loop)':>15} {'steps/s (all)':>14} "
          f"{'draw s':>8} {'loop s':>8} {'loop/draw':>9}")
    for N, n_steps in ((500, 400_000), (5000, 40_000)):
        draw, loop = time_loop(4, 2, N, n_steps)
        print(f"{N:>6} {n_steps:>8} {n_steps / loop:>15.4g} {n_steps / (draw + loop):>14.4g} "
              f"{draw:>8.3f} {loop:>8.3f} {loop / draw:>9.2f}")
    net = draw_network(2, 2, 500, 1e-2, seed=0)
    simulate(net, "erf", "dfa", eta=0.1, t_max=0.1)  # compile
    t0 = time.perf_counter()
    traj = simulate(net, "erf", "dfa", eta=0.1, t_max=300.0)
    wall = time.perf_counter() - t0
    print(f"simulate erf DFA N=500 K=M=2 eta=0.1 to alpha=300: {wall:.3f} s "
          f"({traj.settings['steps']} steps, {len(traj.t)} output times, final eg = {traj.eg[-1]:.3g})")


if __name__ == "__main__":
    main()
