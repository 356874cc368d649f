"""Benchmark of the sweep engine: a serial loop against the local Dask cluster, in one run.

Grid: 400 erf DFA ODE points, K = M = 2, 20 values of η (log-spaced 0.1 … 5) × 20 seeds,
t = 1000 (α), default tolerances. Reports:

* the serial loop (``measure_point`` on each point, kernels already loaded);
* ``run_points`` on a local cluster of one single-threaded worker process per core, as
  ``odetheory sweep`` runs it: total wall time (cluster start, kernel loading on the
  workers, the run, shutdown) and the run alone; the speed-ups over the serial loop;
* the scheduling overhead measured inside that run: the mean idle time of a worker
  between the end of one task and the start of its next, and Σ gaps / Σ compute;
* for comparison, the same grid with one point per task (no chunking), and the raw
  cost of an empty Dask task on this machine (1000 no-op tasks).

Usage: .venv/bin/python benchmarks/sweep_bench.py [--workers N]
"""
import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import dask
    import distributed
    import numba
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return (f"machine: {platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
            f"dask {dask.__version__}, distributed {distributed.__version__}; "
            f"load average {' '.join(f'{x:.2f}' for x in load)}")


def grid():
    etas = [float(f"{x:.12g}") for x in np.geomspace(0.1, 5.0, 20)]
    return [dict(method="ode", activation="erf", rule="dfa", K=2, M=2, eta=eta, seed=seed, t_max=1000.0)
            for eta in etas for seed in range(20)]


def noop(x):
    return x


def raw_task_cost(cluster, n=1000):
    """Worker-seconds per empty task: wall time of n no-op tasks × worker threads / n."""
    from distributed import Client
    with Client(cluster) as client:
        slots = sum(client.nthreads().values())
        client.gather([client.submit(noop, i, pure=False) for i in range(20)])
        start = time.perf_counter()
        client.gather([client.submit(noop, i, pure=False) for i in range(n)])
        return (time.perf_counter() - start) * slots / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="local worker processes")
    args = parser.parse_args()

    from distributed import LocalCluster

    from odetheory.sweep.engine import run_points
    from odetheory.sweep.measure import measure_point, warm_up

    print(machine())
    points = grid()
    print(f"grid: {len(points)} erf DFA ODE points, K = M = 2, 20 η in [0.1, 5] (log) × 20 seeds, t = 1000")

    warm_up()
    start = time.perf_counter()
    serial = [measure_point(p) for p in points]
    t_serial = time.perf_counter() - start
    print(f"serial loop:        {t_serial:6.2f} s  ({1e3 * t_serial / len(points):.1f} ms per point)")

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        rows = run_points(points, os.path.join(folder, "bench.csv"), workers=args.workers, progress=False)
        t_total = time.perf_counter() - start
    s = rows.stats
    same = all(r["eg_final"] == m["eg_final"] or (np.isnan(r["eg_final"]) and np.isnan(m["eg_final"]))
               for r, m in zip(rows, serial))
    print(f"local cluster, {s.slots} workers × 1 thread (results identical to serial: {same}):")
    print(f"  total wall        {t_total:6.2f} s  (start-up and kernel loading {s.startup:.2f} s, "
          f"run {s.dispatch:.2f} s, shutdown {t_total - s.startup - s.dispatch:.2f} s)")
    print(f"  speed-up over the serial loop: {t_serial / t_total:.2f}× in total, "
          f"{t_serial / s.dispatch:.2f}× for the run once the cluster is up")
    print(f"  {s.n_tasks} tasks ({len(points) / s.n_tasks:.0f} points each on average), "
          f"compute {s.compute:.2f} s, utilisation {100 * s.utilisation:.0f} %")
    print(f"  scheduling overhead {1e3 * s.overhead_per_task:.2f} ms per task = "
          f"{100 * s.overhead_fraction:.2f} % of compute (target < 5 %)")

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=40) as cluster:
        one = run_points(points, scheduler=cluster, chunk_size=1, progress=False).stats
        print(f"same grid, one point per task: run {one.dispatch:.2f} s, {one.n_tasks} tasks, scheduling "
              f"overhead {1e3 * one.overhead_per_task:.2f} ms per task = {100 * one.overhead_fraction:.1f} % "
              f"of compute, utilisation {100 * one.utilisation:.0f} %")
        cost = raw_task_cost(cluster)
        print(f"raw Dask cost of an empty task: {1e3 * cost:.2f} ms of worker time")
    print(machine().split("; ")[-1] + " (after)")


if __name__ == "__main__":
    sys.exit(main())
