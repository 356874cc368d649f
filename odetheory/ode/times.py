"""Output times of a run: t = 0, a log-spaced grid up to t_max, and extra times landed on exactly.

Shared by the ODE and the simulators, so that both report on the same grid.
"""
import numpy as np

from ..errors import InputError, check_number
from ..options import DEFAULTS

N_DEFAULT_TIMES = DEFAULTS["n_times"]


def default_times(t_max, n=N_DEFAULT_TIMES):
    """t = 0 followed by n log-spaced times from t_max·1e-4 to t_max (just 0, t_max if n < 2)."""
    if n < 2:
        return np.array([0.0, t_max])
    return np.concatenate(([0.0], np.geomspace(t_max * 1e-4, t_max, n)))


def output_times(t_max, times=None, n_times=N_DEFAULT_TIMES):
    """(t_out, exact): sorted unique output times, the default grid plus any extra
    ``times`` ≤ t_max, and a mask of those the adaptive integrator must land on
    (the extra times and t_max; the default grid uses dense output)."""
    check_number("t_max", t_max)
    if n_times is None or int(n_times) != n_times or n_times < 0:
        raise InputError(f"n_times must be an integer >= 0, got {n_times}", option="n_times")
    grid = default_times(t_max, int(n_times))
    extra = np.zeros(0)
    if times is not None:
        extra = np.atleast_1d(np.asarray(times, dtype=float))
        if not np.all(np.isfinite(extra)) or np.any(extra < 0) or np.any(extra > t_max):
            raise InputError(f"times: output times must lie in [0, t_max={t_max:g}]", option="times")
    t_out = np.unique(np.concatenate((grid, extra)))
    exact = np.isin(t_out, extra) | (t_out == t_max)
    return t_out, exact
