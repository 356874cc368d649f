"""LSODA for the order-parameter ODEs: for long runs that settle near fixed points.

Near a fixed point (a plateau, or a student that has learned) the explicit DOP853
step is limited by stability, not accuracy: over α ~ 10^3 it spends most of its
right-hand-side evaluations standing still. LSODA (ODEPACK, through scipy's ``LSODA``
class) switches to BDF there and takes steps set by accuracy alone.

Its Newton iterations need a Jacobian. We pass the finite-difference Jacobian of the
O(η) part of the right-hand side only (the η² and σ² terms dropped): those terms carry
the I4 averages, which cost K⁴ kernel calls and dominate an evaluation (for ReLU at
K = 8 about 99 % of it), while the O(η) part costs O(K³). The solution does not depend on
the Jacobian, only the number of Newton iterations does; the right-hand side itself
is always the full one.

``lsoda`` has the signature and return value of ``solvers.dop853``. All output times
are read off LSODA's interpolant except the ones marked exact (and t_max), which the
integration reaches by ending a segment there.
"""
import numpy as np
from numba import njit

from .rhs import derivatives
from .solvers import PSD_TOLERANCE, STEP_FAILURE, SUCCESS, state_ok


@njit(cache=True)
def jacobian_without_eta2(y, P):
    """Forward-difference Jacobian (len(y), len(y)) of dy/dα with the η² and σ² terms dropped.

    P is the parameter tuple of ``rhs.derivatives``; its eta2 flag is ignored."""
    K, M, T, A, F, act, rule, eta, eta_v, sigma, _ = P
    P0 = (K, M, T, A, F, act, rule, eta, eta_v, sigma, 0.0)
    n = y.shape[0]
    f0 = derivatives(y, P0)
    J = np.empty((n, n))
    shifted = y.copy()
    for j in range(n):
        h = 1.5e-8 * max(1.0, abs(y[j]))
        shifted[j] = y[j] + h
        J[:, j] = (derivatives(shifted, P0) - f0) / h
        shifted[j] = y[j]
    return J


def lsoda(y0, t_out, exact, P, rtol, atol, max_steps):
    """LSODA from t_out[0] through every time in t_out (increasing); see the module docstring.

    Returns (Y, n_out, nfev, status, t_stop) like ``solvers.dop853``; nfev counts
    evaluations of the full right-hand side (not the cheaper Jacobian ones)."""
    from scipy.integrate import LSODA  # imported here: scipy.integrate is slow to import

    def fun(t, y):
        return derivatives(np.ascontiguousarray(y), P)

    def jac(t, y):
        return jacobian_without_eta2(np.ascontiguousarray(y), P)

    n_out = t_out.shape[0]
    Y = np.full((n_out, y0.shape[0]), np.nan)
    Y[0] = y0
    t, y = float(t_out[0]), y0.copy()
    i_out, nfev, steps = 1, 0, 0
    psd_tol = max(PSD_TOLERANCE, 100.0 * rtol)
    while i_out < n_out:
        j = i_out  # end of this segment: the next exact time, or the last one
        while j < n_out - 1 and not exact[j]:
            j += 1
        if t_out[j] <= t:
            Y[i_out] = y
            i_out += 1
            continue
        solver = LSODA(fun, t, y, float(t_out[j]), rtol=rtol, atol=atol, jac=jac)
        while i_out <= j:
            if steps >= max_steps:
                return Y, i_out, nfev + solver.nfev, STEP_FAILURE, solver.t
            solver.step()
            steps += 1
            if solver.status == "failed":
                return Y, i_out, nfev + solver.nfev, STEP_FAILURE, solver.t
            ok, code = state_ok(np.ascontiguousarray(solver.y), P, psd_tol)
            if not ok:
                return Y, i_out, nfev + solver.nfev, code, solver.t
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
    return Y, i_out, nfev, SUCCESS, t
