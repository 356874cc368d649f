"""The body of one Dask task of a sweep: measure a chunk of points, never raising for a point."""
import math
import os
import time

from .measure import ALL_MEASUREMENT_INFO, measure_point, warm_up


def _failed(exc, run_time):
    row = dict.fromkeys(ALL_MEASUREMENT_INFO, math.nan)
    row.update(learned=False, n_positive_F=None, run_time=run_time, status="error",
               error=" ".join(f"{type(exc).__name__}: {exc}".split()))  # one line
    return row


def run_chunk(points):
    """Task body: measure each (normalised) point; never raises for a point.

    Returns (results, start, stop, worker): one measurement dict per point, the wall
    clock (time.time) at start and end, and an id of the process that ran it."""
    warm_up()  # free after the first call; the worker plugin normally did it already
    start = time.time()
    results = []
    for p in points:
        t0 = time.perf_counter()
        try:
            results.append(measure_point(p))
        except Exception as exc:  # recorded, the sweep goes on
            results.append(_failed(exc, time.perf_counter() - t0))
    return results, start, time.time(), f"{os.uname().nodename}:{os.getpid()}"
