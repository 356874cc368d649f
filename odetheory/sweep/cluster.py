"""Where a sweep runs: a local Dask cluster started here, an existing scheduler, or a given client.

Each worker loads the compiled kernels once, when it starts (a worker plugin), not
once per task. The local cluster forks its workers from a fork server that has
imported Dask and odetheory already (where the platform has one), and turns off the
workers' statistical profiler.
"""
import os

from ..errors import InputError
from .measure import warm_up

PLUGIN_NAME = "odetheory-warm-up"


def _warm_up_plugin():
    from distributed import WorkerPlugin

    class WarmUp(WorkerPlugin):
        """Load odetheory's compiled kernels once per worker process, at start-up."""

        name = PLUGIN_NAME

        async def setup(self, worker):
            import asyncio
            await asyncio.get_running_loop().run_in_executor(None, warm_up)

    return WarmUp()


PRELOAD = ["distributed", "odetheory.sweep.engine", "odetheory.ode.integrate", "odetheory.sweep.measure", "simulate"]


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


class Connection:
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
