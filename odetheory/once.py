"""Work done once per key and process, safely across threads: compiling kernels before a run."""
import threading
import time


class OncePerKey:
    """``once(key, work)`` runs ``work()`` the first time it sees ``key`` and returns the
    seconds it took; 0.0 for a key already done (or being done by another thread, which
    it waits for)."""

    def __init__(self):
        self._done, self._lock = set(), threading.Lock()

    def __call__(self, key, work):
        if key in self._done:
            return 0.0
        with self._lock:
            if key in self._done:
                return 0.0
            start = time.perf_counter()
            work()
            self._done.add(key)
            return time.perf_counter() - start
