"""Run independent jobs over the local cores, with a progress bar.

The compiled ODE and SGD loops release the GIL, so a thread pool keeps both cores
busy without starting new processes (which would each load the compiled code again).
The bar appears only when the jobs take more than two seconds.
"""
import os
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm


def map_parallel(fn, items, workers=None, desc=None):
    """[fn(item) for item in items], run on `workers` threads (default: all cores), in order."""
    items = list(items)
    workers = workers or os.cpu_count() or 1
    with tqdm(total=len(items), desc=desc, delay=2.0, leave=False) as bar:
        if workers == 1 or len(items) == 1:
            results = []
            for item in items:
                results.append(fn(item))
                bar.update()
            return results
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(fn, item) for item in items]
            for f in futures:
                f.add_done_callback(lambda _: bar.update())
            return [f.result() for f in futures]
