"""Deep-network trainer: time per epoch against the matrix products that epoch performs.

For the Fig. 5 network (digits, 64-100-100-100-10, tanh, mini-batches of 32) and the
Fig. 8 network (Gaussian task, 1000 examples, 10-100-100-2, ReLU, batches of 32), BP and
DFA: the wall time of one epoch of ``simulate.deep.train_epoch`` against the wall time
of exactly the matrix products of that epoch (the same shapes and operand layouts, the
same numpy/BLAS, in a bare loop): forward H_{l−1} W_lᵀ for every layer, the feedback
products (δa_{l+1} W_{l+1} for BP, E F_lᵀ for DFA) and the weight updates δa_lᵀ H_{l−1}.
Target: the ratio within 2. Both run with one BLAS thread, as ``simulate.deep.train``
does (``--blas-threads`` to change). Prints the machine and the BLAS.

    python benchmarks/deep_bench.py [--repeats 7] [--epochs 10]
"""
import argparse
import os
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from simulate import deep, deep_data


def blas_name():
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except Exception:  # older numpy: no dict mode
        return "unknown"


def matmul_epoch(net, n, batch, rng):
    """A callable doing the matrix products of one epoch of net over n examples."""
    widths, L = net.widths, net.L
    sizes = [t - s for s, t in deep.epoch_batches(n, batch)]
    per_size = {}
    for B in set(sizes):
        H = [rng.standard_normal((B, widths[l])) for l in range(L)]           # H_0..H_{L−1}
        D = [rng.standard_normal((B, widths[l + 1])) for l in range(L)]       # δa_1..δa_L
        per_size[B] = (H, D)
    W, F = net.W, net.feedback

    def run():
        for B in sizes:
            H, D = per_size[B]
            for l in range(L):
                H[l] @ W[l].T                                  # forward a_{l+1}
            for l in range(L - 1, 0, -1):
                if net.rule == "bp":
                    D[l] @ W[l]                                # δa_{l+1} W_{l+1}
                else:
                    D[L - 1] @ F[l - 1].T                      # E F_lᵀ
            for l in range(L):
                D[l].T @ H[l]                                  # δa_lᵀ H_{l−1}
    return run


def best_time(fn, repeats, inner):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return min(times), float(np.median(times))


def case(name, data, widths, activation, rule, loss, batch, eta, repeats, epochs):
    rngs = deep.streams(0)
    net = deep.draw_network(widths, activation, rule, loss, rngs["weights"], rngs["feedback"], init_scale=0.577,
                            feedback_scale=0.577)
    order = rngs["order"]
    deep.train_epoch(net, data, eta, batch, order)  # warm-up
    epoch = lambda: deep.train_epoch(net, data, eta, batch, order)  # noqa: E731
    products = matmul_epoch(net, data.n, batch, np.random.default_rng(1))
    products()
    t_epoch, m_epoch = best_time(epoch, repeats, epochs)
    t_mm, m_mm = best_time(products, repeats, epochs)
    obs = best_time(lambda: deep.observables(net, data), 3, 3)[0]
    print(f"{name:34s} {rule.upper():4s} {1e3 * t_epoch:8.2f} ms {1e3 * t_mm:8.2f} ms {t_epoch / t_mm:6.2f}"
          f"   (medians {1e3 * m_epoch:.2f} / {1e3 * m_mm:.2f} ms; observables {1e3 * obs:.1f} ms)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats; the best is reported (default: 7)")
    ap.add_argument("--epochs", type=int, default=10, help="epochs per timed repeat (default: 10)")
    ap.add_argument("--blas-threads", type=int, default=1, help="BLAS threads (default: 1, as in training)")
    args = ap.parse_args(argv)
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        run(args)


def run(args):
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs; "
          f"Python {platform.python_version()}, numpy {np.__version__}, BLAS {blas_name()}, "
          f"{args.blas_threads} BLAS thread(s)")
    print(f"{'network':34s} rule  {'epoch':>11s} {'products':>11s}  ratio")
    digits = deep_data.digits()
    gauss = deep_data.gaussian_targets(1.0, 1.0, np.random.default_rng(0))
    for rule in ("bp", "dfa"):
        case("Fig. 5: digits 64-100-100-100-10 tanh", digits, (64, 100, 100, 100, 10), "tanh", rule,
             "cross_entropy", 32, 0.032, args.repeats, args.epochs)
    for rule in ("bp", "dfa"):
        case("Fig. 8: gaussian 10-100-100-2 relu", gauss, (10, 100, 100, 2), "relu", rule, "squared", 32, 0.032,
             args.repeats, args.epochs)


if __name__ == "__main__":
    main()
