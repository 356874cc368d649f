"""LSODA (ODEPACK, through scipy's ``LSODA`` class): for long runs that settle near fixed points.

Near a fixed point (a plateau, or a student that has learned) an explicit step is
limited by stability, not accuracy; LSODA switches to BDF there and takes steps set by
accuracy alone. ``lsoda(fun, check, y0, t_out, exact, args, rtol, atol, max_steps,
check_tol, control=None, jac=None)`` has the calling convention and return value of ``dop853``;
``jac(t, y, args)`` (optional) gives the Jacobian for the Newton iterations — any
approximation serves, the solution depends only on ``fun``. All output times are read
off LSODA's interpolant except the ones marked exact (and the last), which the
integration reaches by ending a segment there. ``nfev`` counts evaluations of ``fun``.
"""
import numpy as np

from ...status import INTERRUPTED, STEP_FAILURE, SUCCESS
from .base import new_control


def lsoda(fun, check, y0, t_out, exact, args, rtol, atol, max_steps, check_tol, control=None, jac=None):
    """See the module docstring."""
    control = new_control() if control is None else control
    from scipy.integrate import LSODA  # imported here: scipy.integrate is slow to import

    def rhs(t, y):
        return fun(t, np.ascontiguousarray(y), args)

    jacobian = None if jac is None else (lambda t, y: jac(t, np.ascontiguousarray(y), args))
    n_out = t_out.shape[0]
    Y = np.full((n_out, y0.shape[0]), np.nan)
    Y[0] = y0
    t, y = float(t_out[0]), y0.copy()
    i_out, nfev, steps = 1, 0, 0
    while i_out < n_out:
        j = i_out  # end of this segment: the next exact time, or the last one
        while j < n_out - 1 and not exact[j]:
            j += 1
        if t_out[j] <= t:
            Y[i_out] = y
            i_out += 1
            continue
        solver = LSODA(rhs, t, y, float(t_out[j]), rtol=rtol, atol=atol, jac=jacobian)
        while i_out <= j:
            if steps >= max_steps:
                return Y, i_out, nfev + solver.nfev, STEP_FAILURE, solver.t, solver.y.copy()
            if control[0] > 0.0:
                return Y, i_out, nfev + solver.nfev, INTERRUPTED, solver.t, solver.y.copy()
            solver.step()
            steps += 1
            if solver.status == "failed":
                return Y, i_out, nfev + solver.nfev, STEP_FAILURE, solver.t, solver.y.copy()
            control[1] = solver.t
            code = check(np.ascontiguousarray(solver.y), args, check_tol)
            if code != SUCCESS:
                return Y, i_out, nfev + solver.nfev, code, solver.t, solver.y.copy()
            if i_out < j and t_out[i_out] <= solver.t:  # output times inside this step
                dense = solver.dense_output()
                while i_out < j and t_out[i_out] <= solver.t:
                    Y[i_out] = dense(t_out[i_out])
                    i_out += 1
            if solver.status == "finished":  # landed on t_out[j]
                Y[j] = solver.y
                i_out = j + 1
        nfev += solver.nfev
        t, y = float(t_out[j]), Y[j].copy()
    return Y, i_out, nfev, SUCCESS, t, y
