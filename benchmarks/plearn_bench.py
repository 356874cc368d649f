"""Wall time of P(learn) and the two choices that set it.

Run: ``python benchmarks/plearn_bench.py`` (about a minute) for the ratios, measured in
one run on the same trials:

* ODE trials (ReLU DFA, K = 8, M = 2, η = 0.1, α ≤ 3000, seeds 0-3): DOP853 at the
  earlier rtol 1e-6 against LSODA with plearn's settings: evaluations, wall time, and
  the final ε_g of both;
* simulation (N = 500, K = 8, α ≤ 200): the full N-dimensional sampler against the
  reduced one, nanoseconds per SGD step.

``python benchmarks/plearn_bench.py --full`` also times ``plearn`` on its defaults
(K = 2..8, 50 trials per K, α ≤ 3000) for --method ode and --method sim on the local
cluster, fresh (no trials file), against the targets of 2 and 15 minutes.
"""
import os
import sys
import time

from sgd_bench import cpu_model

from odetheory.initial import draw_network
from odetheory.ode.integrate import integrate
from odetheory.experiments.plearn import ODE_ATOL, ODE_INTEGRATOR, ODE_RTOL, plearn
from simulate import simulate

RELU_DFA = dict(activation="relu", rule="dfa", eta=0.1)


def ode_trials(K=8, seeds=range(4), t_max=3000.0):
    print(f"ODE trials, ReLU DFA K={K} M=2 eta=0.1 t_max={t_max:g}")
    print(f"{'seed':>4} {'dop853 evals':>12} {'s':>6} {'lsoda evals':>11} {'s':>6} {'speed-up':>8} "
          f"{'final eg dop853':>15} {'lsoda':>11}")
    integrate(draw_network(K, 2, 500, 1e-2, 0).state(), t_max=1.0, integrator="lsoda", **RELU_DFA)  # warm up
    total = [0.0, 0.0]
    for seed in seeds:
        st = draw_network(K, 2, 500, 1e-2, seed).state()
        runs = []
        for method, rtol, atol in (("dop853", 1e-6, 1e-8), (ODE_INTEGRATOR, ODE_RTOL, ODE_ATOL)):
            t0 = time.perf_counter()
            tr = integrate(st, t_max=t_max, integrator=method, rtol=rtol, atol=atol, **RELU_DFA)
            runs.append((tr, time.perf_counter() - t0))
        (a, ta), (b, tb) = runs
        total[0] += ta
        total[1] += tb
        print(f"{seed:>4} {a.nfev:>12} {ta:>6.2f} {b.nfev:>11} {tb:>6.2f} {ta / tb:>7.1f}x "
              f"{a.eg[-1]:>15.4e} {b.eg[-1]:>11.4e}")
    print(f" all: dop853 {total[0]:.1f} s, lsoda {total[1]:.1f} s, speed-up {total[0] / total[1]:.1f}x")


def samplers(K=8, N=500, t_max=200.0):
    net = draw_network(K, 2, N, 1e-2, 0)
    for sampler in ("full", "reduced"):
        simulate(net, t_max=0.1, sampler=sampler, **RELU_DFA)  # warm up
    cost = {}
    for sampler in ("full", "reduced"):
        t0 = time.perf_counter()
        tr = simulate(net, t_max=t_max, sampler=sampler, **RELU_DFA)
        cost[sampler] = (time.perf_counter() - t0) / tr.settings["steps"] * 1e9
    print(f"SGD, ReLU DFA K={K} M=2 N={N} t_max={t_max:g}: full {cost['full']:.0f} ns/step, "
          f"reduced {cost['reduced']:.0f} ns/step, ratio {cost['full'] / cost['reduced']:.1f}x")


def full_plearn():
    for method, target in (("ode", 120), ("sim", 900)):
        t0 = time.perf_counter()
        result = plearn(method=method, progress=False)
        wall = time.perf_counter() - t0
        fractions = ", ".join(f"{row['fraction']:.2f}" for row in result.table())
        print(f"plearn --method {method}: {wall:.0f} s (target {target} s); fractions K=2..8: {fractions}")


def main():
    print(f"machine: model={cpu_model()!r} cpu_count={os.cpu_count()}")
    ode_trials()
    samplers()
    if "--full" in sys.argv[1:]:
        full_plearn()


if __name__ == "__main__":
    main()
