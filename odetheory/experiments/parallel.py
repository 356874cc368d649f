"""Run a few independent jobs over the local cores, with a progress bar, on Dask.

``map_parallel`` serves the commands that run a handful of ODE + simulation pairs in
one process (compare, figures): it uses Dask's threaded scheduler. The compiled ODE
and SGD loops release the GIL, so threads keep every core busy without starting
processes (each of which would load the compiled code again) or a distributed
cluster. Large grids go through ``odetheory.engine`` (Dask distributed) instead;
both are Dask, so there is one parallel mechanism. The bar appears only when the jobs
take more than two seconds.
"""
import os

from tqdm import tqdm


def map_parallel(fn, items, workers=None, desc=None):
    """[fn(item) for item in items], run on `workers` threads (default: all cores), in order.

    The first exception raised by a job is raised here."""
    import dask
    import dask.local
    import dask.threaded
    from dask.callbacks import Callback

    items = list(items)
    if not items:
        return []
    workers = workers or os.cpu_count() or 1

    def job(i):
        return fn(items[i])

    # only the index goes through the task graph, so items of any type stay opaque to Dask
    tasks = [dask.delayed(job, pure=False)(i) for i in range(len(items))]
    names = {t.key for t in tasks}

    with tqdm(total=len(items), desc=desc, delay=2.0, leave=False) as bar:
        class _Progress(Callback):
            def _posttask(self, key, result, dsk, state, worker_id):
                if key in names:
                    bar.update()

        # the scheduler functions themselves: a name would make Dask import distributed to
        # look for a client (a quarter of a second)
        if workers == 1 or len(items) == 1:
            scheduler, options = dask.local.get_sync, {}
        else:
            scheduler, options = dask.threaded.get, {"num_workers": workers}
        with _Progress():
            return list(dask.compute(*tasks, scheduler=scheduler, **options))
