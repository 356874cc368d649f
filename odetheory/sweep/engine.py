"""The sweep engine: run many points on Dask, append rows to a results file, resume.

``run_points(points, ...)`` runs every point (a dict of options, see
``odetheory.sweep.measure``) and returns one row per point, in the order of ``points``.

Where the points run
    scheduler=None        a local Dask cluster started and stopped here: ``workers``
                          processes (default: one per core), one thread each
    scheduler="tcp://…"   an existing Dask scheduler (address, or the JSON file written by
                          ``dask scheduler --scheduler-file``), or a ``distributed.Client``
                          or cluster object (e.g. dask-jobqueue's ``SLURMCluster``)
    scheduler="serial"    in this process, one point after another, no Dask

Chunks. Points go to the workers in chunks (one Dask task each). The first
2 × (worker threads) tasks hold one point each; after that a chunk holds as many points
as take ``TASK_SECONDS`` of compute at the mean cost per point measured so far (at
least 2 ms per worker thread, so that a large cluster does not flood the scheduler), but
never more than a (2 × threads)-th of the points left, so that the last chunks end
together. At most 2 tasks per thread are in flight, so a worker always has its next task
queued. Points are dispatched in a fixed pseudo-random order, so that the running mean
cost is representative of the whole grid. ``chunk_size`` fixes the points per task.

Results. Each row holds the point's key, its options (all of them, defaults filled in),
the measurements, run_time (s), status ("ok", "diverged" or "error") and error (the
message, "" when ok). The key is a hash of the point's sorted, normalised options
(``odetheory.sweep.measure.point_key``). Rows are appended to ``results_path`` (CSV) as each
chunk finishes, one ``write`` per chunk, flushed. Re-running skips every key already in
the file, so an interrupted sweep resumes where it stopped; the file is locked while a
sweep writes to it. A partial last line (a writer killed in the middle of a write) is
cut off before appending. Why CSV rather than Parquet: rows can be appended
as they arrive (a Parquet file is written once, so appending means one file per chunk),
a killed writer damages at most its last line, which is easy to detect and drop, it is
readable by anything, and it needs no new dependency (pyarrow).

Failures. A point whose run raises is recorded with status "error" and the exception in
``error``; one that diverges, with status "diverged". Neither stops the sweep. A chunk
whose worker dies is re-run by Dask on another worker; chunks that still cannot finish
(``KilledWorker``) are reported as unfinished (not written) and run again next time.

Layout: ``store`` (the results file), ``tasks`` (the body of one task), ``cluster``
(where the tasks run), ``stats`` (what the run cost); this module chunks the points,
dispatches them and collects the rows.
"""
import math
import random
import sys
import time
from collections import deque

from tqdm import tqdm

from ..errors import InputError
from .cluster import Connection
from .measure import normalise, point_key, schema, warm_up
from .stats import Rows, SweepStats
from .store import ROW_TAIL, NoFile, ResultsFile, columns
from .tasks import run_chunk

TASK_SECONDS = 0.5      # target compute per task
SECONDS_PER_SLOT = 2e-3  # ... but at least this times the number of worker threads
IN_FLIGHT_PER_SLOT = 2


class _Chunker:
    def __init__(self, fixed=None):
        self.fixed = fixed
        self.points = 0
        self.seconds = 0.0

    def update(self, n, seconds):
        self.points += n
        self.seconds += seconds

    def size(self, remaining, slots):
        if self.fixed:
            return self.fixed
        if self.points == 0:
            return 1  # probe the cost first
        per_point = max(self.seconds / self.points, 1e-6)
        target = max(TASK_SECONDS, SECONDS_PER_SLOT * slots)
        return max(1, min(round(target / per_point), math.ceil(remaining / (IN_FLIGHT_PER_SLOT * slots))))


# --------------------------------------------------------------------------- executors

def _run_serial(jobs, chunker, deliver, stats):
    stats.slots = 1
    queue = deque(jobs)
    start = time.perf_counter()
    while queue:
        n = min(chunker.size(len(queue), 1), len(queue))
        chunk = [queue.popleft() for _ in range(n)]
        deliver(chunk, run_chunk([p for _, p in chunk]))
    stats.dispatch = time.perf_counter() - start


def _nthreads(client):
    return max(1, sum(client.nthreads().values()))


def _run_dask(client, jobs, chunker, deliver, stats):
    from distributed import as_completed

    queue = deque(jobs)
    reported = set()
    ac = as_completed()
    chunks = {}
    slots = stats.slots = _nthreads(client)

    def submit():
        n = min(chunker.size(len(queue), slots), len(queue))
        chunk = [queue.popleft() for _ in range(n)]
        fut = client.submit(run_chunk, [p for _, p in chunk], pure=False)
        chunks[fut.key] = chunk
        ac.add(fut)

    start = time.perf_counter()
    try:
        while queue and ac.count() < IN_FLIGHT_PER_SLOT * slots:
            submit()
        for fut in ac:
            chunk = chunks.pop(fut.key)
            try:
                result = fut.result()
            except Exception as exc:  # e.g. KilledWorker: Dask gave up; left for the next run
                stats.n_unfinished += len(chunk)
                if type(exc) not in reported:
                    reported.add(type(exc))
                    print(f"odetheory: points left unfinished: {type(exc).__name__}: {exc}", file=sys.stderr)
                result = None
            fut.release()
            if result is not None:
                deliver(chunk, result)
            slots = _nthreads(client)
            stats.slots = max(stats.slots, slots)
            while queue and ac.count() < IN_FLIGHT_PER_SLOT * slots:
                submit()
    finally:
        stats.dispatch = time.perf_counter() - start
        if chunks:  # interrupted: do not leave work behind on a shared cluster
            client.cancel(list(ac.futures), force=True)
            stats.n_unfinished += sum(len(c) for c in chunks.values())


def _method(points):
    """"deep" if the (normalised) points are deep points, None otherwise; InputError if mixed."""
    deep = {p["method"] == "deep" for p in points}
    if len(deep) > 1:
        raise InputError("deep points cannot be run together with ode or sim points (their options differ)")
    return "deep" if deep == {True} else None


def run_points(points, results_path=None, scheduler=None, workers=None, chunk_size=None, progress=True,
               local=None, measure=None, desc="sweep"):
    """Run every point and return one row per point, in the order of `points`.

    points: list of dicts of options (``odetheory.sweep.measure.normalise``); all are checked
        (InputError naming the option) before anything runs.
    results_path: CSV file the rows are appended to as they finish; rows whose key is
        already there are not run again (resume). None: no file.
    scheduler: None (local cluster), an address or scheduler file, a Client or cluster
        object, or "serial" (in this process); see the module docstring.
    workers: processes of the local cluster (default: one per core); ignored otherwise.
    chunk_size: points per task (default: adaptive, about TASK_SECONDS of compute).
    progress: show a progress bar of finished points (stderr).
    local: extra keyword arguments for ``distributed.LocalCluster``.
    measure: the measurement columns to keep (default: all of the points' method, see
        ``odetheory.sweep.measure.schema``; deep points cannot be mixed with others).

    A row is a dict: key, the options, the measurements, run_time (s), status ("ok",
    "diverged", "error", or "unfinished" for a point that could not be run this time and
    is not in the file) and error. The returned list has ``.stats`` (SweepStats).
    """
    normal = [normalise(p) for p in points]
    method = _method(normal)
    measure = schema(method)[1] if measure is None else measure
    cols = columns(measure, method)
    keys = [point_key(p) for p in normal]
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise InputError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be an integer >= 1, got {workers!r}")
    unique = dict(zip(keys, normal))
    stats = SweepStats(n_points=len(unique))
    store = ResultsFile(results_path, cols) if results_path is not None else NoFile()
    with store:
        done, _ = store.rows(set(unique))
        stats.n_skipped = len(done)
        jobs = [(k, p) for k, p in unique.items() if k not in done]
        random.Random(0).shuffle(jobs)  # a representative running mean of the cost per point

        bar = None

        def start_bar():
            nonlocal bar
            bar = tqdm(total=len(unique), initial=len(done), desc=desc, unit="pt", disable=not progress,
                       dynamic_ncols=True, mininterval=0.5)

        def deliver(chunk, result):
            results, start, stop, worker = result
            rows = []
            for (key, p), res in zip(chunk, results):
                row = {"key": key, **p, **{m: res[m] for m in measure}, **{c: res[c] for c in ROW_TAIL}}
                rows.append(row)
                done[key] = row
                stats.status[row["status"]] = stats.status.get(row["status"], 0) + 1
            store.append(rows)
            stats.n_run += len(rows)
            stats._task(start, stop, worker)
            chunker.update(len(rows), stop - start)
            bar.update(len(rows))

        chunker = _Chunker(chunk_size)
        try:
            if jobs and isinstance(scheduler, str) and scheduler == "serial":
                warm_up()
                start_bar()
                _run_serial(jobs, chunker, deliver, stats)
            elif jobs:
                t0 = time.perf_counter()
                with Connection(scheduler, workers, local) as client:
                    stats.startup = time.perf_counter() - t0
                    start_bar()
                    _run_dask(client, jobs, chunker, deliver, stats)
        finally:
            if bar is not None:
                bar.close()
            stats._finish()
    out = Rows(done.get(k) or {"key": k, **p, **dict.fromkeys(measure, math.nan), "run_time": math.nan,
                               "status": "unfinished", "error": "not run (interrupted or worker lost)"}
               for k, p in zip(keys, normal))
    out.stats = stats
    return out
