"""The sweep engine: run many points on Dask, append rows to a results file, resume.

``run_points(points, ...)`` runs every point (a dict of options, see
``odetheory.measure``) and returns one row per point, in the order of ``points``.

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
(``odetheory.measure.point_key``). Rows are appended to ``results_path`` (CSV) as each
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

Each worker loads the compiled kernels once, when it starts (``WarmUp`` worker plugin),
not once per task. The local cluster forks its workers from a fork server that has
imported Dask and odetheory already (where the platform has one), and turns off the
workers' statistical profiler.
"""
import csv
import io
import math
import os
import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field

from tqdm import tqdm

from .errors import InputError
from .measure import MEASUREMENT_INFO, MEASUREMENTS, OPTIONS, measure_point, normalise, point_key, warm_up

TASK_SECONDS = 0.5      # target compute per task
SECONDS_PER_SLOT = 2e-3  # ... but at least this times the number of worker threads
IN_FLIGHT_PER_SLOT = 2
ROW_TAIL = ("run_time", "status", "error")
PLUGIN_NAME = "odetheory-warm-up"


def columns(measure=MEASUREMENTS):
    """Column names of a results file: key, every option, the measurements, run_time, status, error."""
    for name in measure:
        if name not in MEASUREMENT_INFO:
            raise InputError(f"unknown measurement {name!r}; known: {', '.join(MEASUREMENTS)}")
    return ["key", *OPTIONS, *measure, *ROW_TAIL]


# --------------------------------------------------------------------------- the task

def _failed(exc, run_time):
    row = dict.fromkeys(MEASUREMENTS, math.nan)
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


def _warm_up_plugin():
    from distributed import WorkerPlugin

    class WarmUp(WorkerPlugin):
        """Load odetheory's compiled kernels once per worker process, at start-up."""

        name = PLUGIN_NAME

        async def setup(self, worker):
            import asyncio
            await asyncio.get_running_loop().run_in_executor(None, warm_up)

    return WarmUp()


# --------------------------------------------------------------------------- results file

def _format(x):
    if x is None:
        return ""
    if isinstance(x, float):
        return repr(x)
    return str(x).replace("\r", " ").replace("\n", " ")


def _parser(name):
    if name in OPTIONS:
        kind = OPTIONS[name][0]
        base = {"int": int, "bool": lambda s: s == "True", "choice": str}.get(kind, float)
    elif name in MEASUREMENT_INFO:
        typ = MEASUREMENT_INFO[name][0]
        base = (lambda s: s == "True") if typ is bool else typ
    elif name == "run_time":
        base = float
    else:
        return str
    return lambda s: None if s == "" else base(s)


class ResultsFile:
    """A CSV results file opened for resuming: rows already there, append, lock.

    ``with ResultsFile(path, cols) as store``: creates the file with a header row, or
    checks the header of an existing one (InputError if it differs), cuts off a partial
    last line, and locks it (InputError if another sweep holds the lock)."""

    def __init__(self, path, cols):
        self.path, self.columns = os.fspath(path), list(cols)
        self.fh = None

    def __enter__(self):
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise InputError(f"folder {folder} does not exist")
        self.created = not os.path.exists(self.path)
        self.appended = False
        self.fh = open(self.path, "a+b")
        try:
            self._lock()
            self.fh.seek(0)
            data = self.fh.read()
            if data and not data.endswith(b"\n"):  # a writer died in the middle of a line
                data = data[:data.rfind(b"\n") + 1]
                self.fh.truncate(len(data))
            if not data:
                self._write([self.columns])
            else:
                header = next(csv.reader(io.StringIO(data[:data.find(b"\n") + 1].decode())), [])
                if header != self.columns:
                    raise InputError(f"{self.path} is not a results file of this sweep (its columns differ: "
                                     f"other measurements?); choose another results file")
            self._data = data
        except BaseException:
            self.fh.close()
            raise
        return self

    def _lock(self):
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"{self.path} is being written by another sweep") from None

    def rows(self, wanted=None):
        """{key: row} of the rows in the file (only keys in `wanted` when given); also the set of all keys."""
        parsers = [_parser(c) for c in self.columns]
        reader = csv.reader(io.StringIO(self._data.decode()))
        next(reader, None)
        found, keys = {}, set()
        for line, fields in enumerate(reader, start=2):
            if len(fields) != len(self.columns):
                raise InputError(f"{self.path}: line {line} has {len(fields)} fields, expected {len(self.columns)}")
            key = fields[0]
            keys.add(key)
            if (wanted is None or key in wanted) and key not in found:
                found[key] = {c: f(x) for c, f, x in zip(self.columns, parsers, fields)}
        self._data = b""
        return found, keys

    def _write(self, records):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(records)
        self.fh.write(buf.getvalue().encode())  # one write per chunk, then flush
        self.fh.flush()

    def append(self, rows):
        self._write([[_format(row.get(c)) for c in self.columns] for row in rows])
        self.appended = True

    def __exit__(self, *exc):
        self.fh.close()
        if self.created and not self.appended:  # nothing ran: leave no header-only file behind
            os.unlink(self.path)


class _NoFile:
    """Stand-in for ResultsFile when no results file is wanted."""

    def __enter__(self):
        return self

    def rows(self, wanted=None):
        return {}, set()

    def append(self, rows):
        pass

    def __exit__(self, *exc):
        pass


def read_results(path):
    """All rows of a results file as a list of dicts (typed), in file order."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        cols = next(reader)
        parsers = [_parser(c) for c in cols]
        return [{c: f(x) for c, f, x in zip(cols, parsers, fields)} for fields in reader if len(fields) == len(cols)]


# --------------------------------------------------------------------------- statistics

@dataclass
class SweepStats:
    """What a run_points call did and how well the workers were used.

    compute: Σ task compute time (s); dispatch: wall time from the first task sent to the
    last result (s); startup: time to start the local cluster and load the kernels on the
    workers (s); gaps: per worker, the idle time between the end of one task and the
    start of its next (the per-task scheduling overhead while work is queued)."""

    n_points: int = 0
    n_skipped: int = 0
    n_run: int = 0
    n_unfinished: int = 0
    n_tasks: int = 0
    slots: int = 1
    startup: float = 0.0
    dispatch: float = 0.0
    compute: float = 0.0
    gap_total: float = 0.0
    n_gaps: int = 0
    status: dict = field(default_factory=dict)
    _spans: dict = field(default_factory=dict, repr=False)

    @property
    def overhead_per_task(self):
        """Mean idle time of a worker between two of its tasks (s)."""
        return self.gap_total / self.n_gaps if self.n_gaps else math.nan

    @property
    def overhead_fraction(self):
        """Scheduling overhead as a fraction of compute: Σ gaps / Σ task compute."""
        return self.gap_total / self.compute if self.compute > 0 else math.nan

    @property
    def utilisation(self):
        """Σ task compute / (worker threads × dispatch wall time): 1 is perfect."""
        return self.compute / (self.slots * self.dispatch) if self.dispatch > 0 else math.nan

    def _task(self, start, stop, worker, n):
        self.n_tasks += 1
        self.compute += stop - start
        self._spans.setdefault(worker, []).append((start, stop))

    def _finish(self):
        for spans in self._spans.values():
            spans.sort()
            for (_, a), (b, _) in zip(spans, spans[1:]):
                self.gap_total += max(0.0, b - a)
                self.n_gaps += 1
        self._spans = {}

    def summary(self):
        parts = [f"{self.n_points} points: {self.n_skipped} already done, {self.n_run} run"]
        if self.status:
            parts.append(", ".join(f"{n} {s}" for s, n in sorted(self.status.items())))
        if self.n_unfinished:
            parts.append(f"{self.n_unfinished} unfinished")
        lines = ["sweep: " + "; ".join(parts)]
        if self.n_tasks:
            lines.append(f"  {self.n_tasks} tasks on {self.slots} worker thread(s): compute {self.compute:.3g} s, "
                         f"wall {self.dispatch:.3g} s (+ {self.startup:.3g} s start-up), "
                         f"utilisation {100 * self.utilisation:.0f} %")
            if self.n_gaps:
                lines.append(f"  scheduling overhead {1e3 * self.overhead_per_task:.3g} ms per task "
                             f"= {100 * self.overhead_fraction:.2g} % of compute")
        return "\n".join(lines)


class Rows(list):
    """The rows returned by run_points (a list), with ``.stats`` (SweepStats)."""

    stats: SweepStats


# --------------------------------------------------------------------------- chunking

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


PRELOAD = ["distributed", "odetheory.engine", "odetheory.ode", "odetheory.plateaus", "simulate"]


def _local_config():
    """Dask config for the local cluster's workers: no statistical profiler (it samples
    every 10 ms; a local cluster here has no dashboard to show it), and forkserver where
    there is one and the user has not chosen otherwise. The fork server imports Dask and
    odetheory once and forks the workers from that clean, single-threaded process, so
    they start without importing them again and stop faster than spawned ones."""
    import multiprocessing

    import dask
    settings = {"distributed.worker.profile.enabled": False}
    key = "distributed.worker.multiprocessing-method"
    if dask.config.get(key) == "spawn" and "forkserver" in multiprocessing.get_all_start_methods():
        settings[key] = "forkserver"
    return settings


def _set_preload():
    from distributed.utils import get_mp_context
    ctx = get_mp_context()  # sets Dask's own preload list (once); ours replaces it
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)


def _connect(address):
    """Client of the scheduler at `address` (tcp://host:port) or described by a scheduler file."""
    from distributed import Client
    is_file = address.endswith(".json") or os.path.isfile(address)
    if is_file and not os.path.isfile(address):
        raise InputError(f"scheduler file {address} does not exist")
    try:
        if is_file:
            return Client(scheduler_file=address, timeout=10)
        return Client(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler {address}: {exc}") from None


class _Connection:
    """Context manager giving a distributed.Client for `scheduler` (see run_points)."""

    def __init__(self, scheduler, workers, local):
        self.scheduler, self.workers, self.local = scheduler, workers, local or {}
        self.client = self.cluster = self.config = None
        self.own_client = True

    def __enter__(self):
        import logging

        import dask
        from distributed import Client, LocalCluster
        s = self.scheduler
        try:
            if s is None:
                n = self.workers or os.cpu_count() or 1
                options = dict(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0", silence_logs=logging.ERROR)
                options.update(self.local)
                self.config = dask.config.set(_local_config())  # also for restarts, until __exit__
                _set_preload()
                self.cluster = LocalCluster(**options)
                self.client = Client(self.cluster)
            elif isinstance(s, Client):
                self.client, self.own_client = s, False
            elif hasattr(s, "scheduler_address"):  # a cluster object (LocalCluster, dask-jobqueue, ...)
                self.client = Client(s)
            else:
                self.client = _connect(str(s))
            self.client.register_plugin(_warm_up_plugin(), name=PLUGIN_NAME)
        except BaseException:
            self.__exit__()
            raise
        return self.client

    def __exit__(self, *exc):
        if self.own_client and self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        if self.config is not None:
            self.config.__exit__(None, None, None)


# --------------------------------------------------------------------------- the entry point

def run_points(points, results_path=None, scheduler=None, workers=None, chunk_size=None, progress=True,
               local=None, measure=MEASUREMENTS, desc="sweep"):
    """Run every point and return one row per point, in the order of `points`.

    points: list of dicts of options (``odetheory.measure.normalise``); all are checked
        (InputError naming the option) before anything runs.
    results_path: CSV file the rows are appended to as they finish; rows whose key is
        already there are not run again (resume). None: no file.
    scheduler: None (local cluster), an address or scheduler file, a Client or cluster
        object, or "serial" (in this process); see the module docstring.
    workers: processes of the local cluster (default: one per core); ignored otherwise.
    chunk_size: points per task (default: adaptive, about TASK_SECONDS of compute).
    progress: show a progress bar of finished points (stderr).
    local: extra keyword arguments for ``distributed.LocalCluster``.
    measure: the measurement columns to keep (default: all of MEASUREMENTS).

    A row is a dict: key, the options, the measurements, run_time (s), status ("ok",
    "diverged", "error", or "unfinished" for a point that could not be run this time and
    is not in the file) and error. The returned list has ``.stats`` (SweepStats).
    """
    cols = columns(measure)
    normal = [normalise(p) for p in points]
    keys = [point_key(p) for p in normal]
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise InputError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be an integer >= 1, got {workers!r}")
    unique = dict(zip(keys, normal))
    stats = SweepStats(n_points=len(unique))
    store = ResultsFile(results_path, cols) if results_path is not None else _NoFile()
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
            stats._task(start, stop, worker, len(rows))
            chunker.update(len(rows), stop - start)
            bar.update(len(rows))

        chunker = _Chunker(chunk_size)
        try:
            if not jobs:
                pass
            elif isinstance(scheduler, str) and scheduler == "serial":
                warm_up()
                start_bar()
                _run_serial(jobs, chunker, deliver, stats)
            else:
                t0 = time.perf_counter()
                with _Connection(scheduler, workers, local) as client:
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
