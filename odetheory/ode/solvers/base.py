"""What every solver shares: the calling convention, compiled per problem type, and status checks.

A solver takes the right-hand side the way ``scipy.integrate`` takes ``fun``:

    fun(t, y, args) -> dy/dt        t float, y (n,) float64 contiguous, args any
                                    numba-typeable value (e.g. a NamedTuple)
    check(y, args, tol) -> status   after every accepted step: SUCCESS, or the code
                                    that stops the run (``odetheory.status``)

``fun`` and ``check`` are numba-compiled functions. They reach the compiled solver as
first-class function values (``numba.types.FunctionType``), so one compiled solver
serves every right-hand side with the same argument types, and numba's on-disk cache
keeps it (a solver typed by the identity of the function it calls could not be cached).
``compiled(impl, arg_kinds, args)`` compiles ``impl`` once per type of ``args``, as a
copy of its own name: numba keeps one cache index per function and unpickles every
signature in it, so a problem type defined in a test or a notebook must not share the
index of the project's own ``Problem``. The solvers' inner helpers are compiled into
the solver (no cache of their own, for the same reason).
"""
import math
import re
import threading
import types as pytypes

import numpy as np
from numba import njit, typeof, types
from tqdm import tqdm

from ...status import BLOWUP, NONFINITE, SUCCESS

_f8, _i8, _vec = types.float64, types.int64, types.float64[::1]


def function_types(args_type):
    """(fun type, check type) for a problem whose args have numba type `args_type`."""
    return (types.FunctionType(_vec(_f8, _vec, args_type)),
            types.FunctionType(_i8(_vec, args_type, _f8)))


_COMPILED = {}


def compiled(impl, arg_kinds, args):
    """``impl`` compiled for the type of ``args``.

    arg_kinds: the numba types of impl's arguments, with the strings "fun", "check"
    and "args" standing for the function and problem types."""
    args_type = typeof(args)
    key = (impl, args_type)
    if key not in _COMPILED:
        fun_t, check_t = function_types(args_type)
        kinds = {"fun": fun_t, "check": check_t, "args": args_type}
        sig = tuple(kinds.get(k, k) if isinstance(k, str) else k for k in arg_kinds)
        cls = type(args)
        tag = re.sub(r"\W", "_", f"{cls.__module__}.{cls.__qualname__}")
        copy = pytypes.FunctionType(impl.__code__, impl.__globals__, impl.__name__, impl.__defaults__,
                                    impl.__closure__)
        copy.__qualname__ = f"{impl.__qualname__}__{tag}"
        _COMPILED[key] = njit(sig, cache=True, nogil=True)(copy)
    return _COMPILED[key]


@njit  # no cache: it is compiled for the argument types of foreign problems (see above)
def finite_check(y, args, tol):
    """The default check: every |y_i| < BLOWUP (NaN fails too)."""
    for x in y:
        if not abs(x) < BLOWUP:
            return NONFINITE
    return SUCCESS


@njit
def rms(x):
    return math.sqrt(np.mean(x * x))


VECTOR, MATRIX, BOOLS = _vec, types.float64[:, ::1], types.boolean[::1]
FLOAT, INT, BOOLEAN = _f8, _i8, types.boolean


def new_control():
    """The array a solver shares with its caller: [stop request (> 0 stops), current time]."""
    return np.zeros(2)


def run_controlled(solve, control, t_end, progress=False, poll=0.1):
    """Run ``solve()`` (a solver call that uses ``control``) in a worker thread, so that the
    caller's thread stays responsive: Ctrl-C (KeyboardInterrupt, or SIGTERM turned into one
    by the CLI) sets the stop request, and the solver returns within one step with status
    INTERRUPTED and everything computed until then. The compiled solvers release the GIL.
    progress: show a progress bar in t (stderr, only on a terminal, after 2 s)."""
    result, done = {}, threading.Event()

    def target():
        try:
            result["value"] = solve()
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc
        finally:
            done.set()

    # wait on an Event, not Thread.join: a join interrupted by KeyboardInterrupt can leave
    # the thread looking finished while it still runs (a known CPython problem)
    worker = threading.Thread(target=target, daemon=True)
    bar = tqdm(total=float(t_end), disable=None if progress else True, delay=2.0, unit="α",
               bar_format="{l_bar}{bar}| t = {n:.4g} of {total:.4g} [{elapsed}<{remaining}]")
    worker.start()
    while not done.is_set():
        try:
            done.wait(poll)
            bar.update(float(control[1]) - bar.n)
        except KeyboardInterrupt:
            control[0] = 1.0
    worker.join()
    bar.close()
    if "error" in result:
        raise result["error"]
    return result["value"]
