"""Fixed-step Euler (order 1) and classical RK4 (order 4), landing on each output time.

``fixed_step(fun, check, y0, t_out, args, dt, order, check_tol, control)``: a step
that would pass an output time is shortened to end on it. Finiteness is checked after
every step, ``check`` at the output times; ``control`` as in ``dop853``. Returns
(Y, n_out, nfev, status, t_stop, y_stop) like ``dop853``.
"""
import numpy as np

from ...status import BLOWUP, INTERRUPTED, NONFINITE, SUCCESS
from .base import FLOAT, INT, VECTOR, compiled, new_control


def _fixed_step(fun, check, y0, t_out, args, dt, order, check_tol, control):
    n_out, ny = t_out.shape[0], y0.shape[0]
    Y = np.full((n_out, ny), np.nan)
    Y[0] = y0
    t, y = t_out[0], y0.copy()
    nfev = 0
    i_out = 1
    while i_out < n_out:
        gap = t_out[i_out] - t
        if gap <= 1e-12 * max(1.0, abs(t)):
            t = t_out[i_out]
            Y[i_out] = y
            i_out += 1
            continue
        if control[0] > 0.0:
            return Y, i_out, nfev, INTERRUPTED, t, y
        h = min(dt, gap)
        k1 = fun(t, y, args)
        if order == 1:
            y = y + h * k1
            nfev += 1
        else:
            k2 = fun(t + 0.5 * h, y + 0.5 * h * k1, args)
            k3 = fun(t + 0.5 * h, y + 0.5 * h * k2, args)
            k4 = fun(t + h, y + h * k3, args)
            y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            nfev += 4
        t = t + h
        control[1] = t
        if not np.all(np.abs(y) < BLOWUP):
            return Y, i_out, nfev, NONFINITE, t, y
        if h == gap:  # landed on an output time: full check there
            code = check(y, args, check_tol)
            if code != SUCCESS:
                return Y, i_out, nfev, code, t, y
    return Y, i_out, nfev, SUCCESS, t, y


_KINDS = ("fun", "check", VECTOR, VECTOR, "args", FLOAT, INT, FLOAT, VECTOR)


def fixed_step(fun, check, y0, t_out, args, dt, order, check_tol, control=None):
    """See the module docstring; order 1 is Euler, 4 is RK4."""
    run = compiled(_fixed_step, _KINDS, args)
    return run(fun, check, np.ascontiguousarray(y0, dtype=float), np.ascontiguousarray(t_out, dtype=float),
               args, float(dt), int(order), float(check_tol), new_control() if control is None else control)
