"""The solvers on problems with known solutions, at several tolerances.

The solvers take any right-hand side fun(t, y, args) (odetheory.ode.solvers.base); here
a linear system dy/dt = L y + f cos(ω t), whose exact solution is known, serves as
exponential decay, harmonic oscillator, a forced (time-dependent) problem and a stiff
system for LSODA.
"""
from typing import NamedTuple

import _thread
import threading
import time

import numpy as np
import pytest
from numba import njit
from scipy.linalg import expm

from odetheory.ode.solvers import dop853, finite_check, fixed_step, lsoda, new_control, run_controlled
from odetheory.ode.solvers import dop853_tableau as tableau
from odetheory.status import INTERRUPTED, NONFINITE, SUCCESS
from odetheory.status import STIFF as STIFF_STATUS


class Linear(NamedTuple):
    L: np.ndarray      # (n, n)
    f: np.ndarray      # (n,) forcing amplitude
    omega: float       # forcing frequency


@njit(cache=True)
def linear_rhs(t, y, p):
    return p.L @ y + p.f * np.cos(p.omega * t)


def exact_unforced(L, y0, t):
    return np.array([expm(L * s) @ y0 for s in t])


DECAY = Linear(np.array([[-0.7]]), np.zeros(1), 0.0)
OSCILLATOR = Linear(np.array([[0.0, 1.0], [-4.0, 0.0]]), np.zeros(2), 0.0)
STIFF = Linear(np.array([[-1.0, 0.0], [998.0, -1000.0]]), np.zeros(2), 0.0)


def run(solver, p, y0, t_out, rtol, exact=None, **kw):
    t_out = np.asarray(t_out, dtype=float)
    exact = np.zeros(len(t_out), dtype=bool) if exact is None else exact
    return solver(linear_rhs, finite_check, np.asarray(y0, float), t_out, exact, p, rtol, rtol * 1e-3,
                  1_000_000, 0.0, **kw)


@pytest.mark.parametrize("rtol", [1e-4, 1e-7, 1e-10])
@pytest.mark.parametrize("p, y0", [(DECAY, [1.3]), (OSCILLATOR, [1.0, 0.0])], ids=["decay", "oscillator"])
def test_dop853_known_solutions(p, y0, rtol):
    t_out = np.linspace(0.0, 10.0, 41)
    Y, n, nfev, status, t_stop, _ = run(dop853, p, y0, t_out, rtol)
    assert status == SUCCESS and n == len(t_out) and t_stop == 10.0
    err = np.max(np.abs(Y - exact_unforced(p.L, np.asarray(y0, float), t_out)))
    assert err < 50 * rtol  # global error tracks the tolerance (dense output included)
    if rtol == 1e-10:
        assert err > 1e-15  # the run does not merely return the exact solution by accident


def test_dop853_error_shrinks_with_tolerance_and_costs_few_evaluations():
    t_out = np.array([0.0, 10.0])
    errs, counts = [], []
    for rtol in (1e-5, 1e-8, 1e-11):
        Y, n, nfev, status, *_ = run(dop853, OSCILLATOR, [1.0, 0.0], t_out, rtol)
        errs.append(np.max(np.abs(Y[-1] - exact_unforced(OSCILLATOR.L, np.array([1.0, 0.0]), [10.0])[0])))
        counts.append(nfev)
    assert errs[0] > errs[1] > errs[2]
    # an 8th-order method: a 10^6 times tighter tolerance costs about (10^6)^(1/8) = 5.6 times
    # the steps (a 4th-order one would need 31 times)
    assert counts[2] < 8 * counts[0]


def test_dop853_matches_scipy_evaluation_count():
    from scipy.integrate import solve_ivp
    y0 = np.array([1.0, 0.0])
    Y, n, nfev, status, *_ = run(dop853, OSCILLATOR, y0, [0.0, 20.0], 1e-8)
    ref = solve_ivp(lambda t, y: OSCILLATOR.L @ y, (0, 20.0), y0, method="DOP853", rtol=1e-8, atol=1e-11)
    # same tableau and step control: the same number of evaluations up to the start-up step
    assert abs(nfev - ref.nfev) <= 0.1 * ref.nfev
    assert np.allclose(Y[-1], ref.y[:, -1], rtol=0, atol=1e-7)


def test_time_dependent_forcing_uses_stage_times():
    p = Linear(np.array([[-1.0]]), np.array([1.0]), 1.0)   # y' = -y + cos t
    t_out = np.linspace(0.0, 8.0, 17)
    y0 = 2.0
    exact = (np.cos(t_out) + np.sin(t_out)) / 2 + (y0 - 0.5) * np.exp(-t_out)
    for solver, tol in ((dop853, 1e-6), (lsoda, 1e-4)):
        Y, n, nfev, status, *_ = run(solver, p, [y0], t_out, 1e-9)
        assert status == SUCCESS and np.max(np.abs(Y[:, 0] - exact)) < tol
    Y, n, nfev, status, *_ = fixed_step(linear_rhs, finite_check, np.array([y0]), t_out, p, 1e-2, 4, 0.0)
    assert np.max(np.abs(Y[:, 0] - exact)) < 1e-8  # RK4 at h = 0.01: error ~ h^4


@pytest.mark.parametrize("rtol", [1e-4, 1e-6, 1e-8])
def test_lsoda_stiff_system(rtol):
    y0 = np.array([1.0, 0.0])
    t_out = np.array([0.0, 0.01, 0.1, 1.0, 10.0])
    exact = np.zeros(len(t_out), dtype=bool)
    exact[1:] = True
    Y, n, nfev, status, *_ = run(lsoda, STIFF, y0, t_out, rtol, exact)
    assert status == SUCCESS and n == len(t_out)
    ref = exact_unforced(STIFF.L, y0, t_out)
    assert np.max(np.abs(Y - ref)) < 100 * rtol
    # the stiff part (rate 1000) decays at once; an explicit method needs h < ~3/1000 for
    # 10 time units, LSODA a few hundred evaluations at most
    assert nfev < 1500
    Y, n, nfev_explicit, status, *_ = run(dop853, STIFF, y0, t_out, rtol, exact)
    assert nfev_explicit > 2 * nfev


@pytest.mark.parametrize("order, dt, factor", [(1, 1e-3, 2.0), (4, 2e-2, 16.0)])
def test_fixed_step_convergence_order(order, dt, factor):
    y0, t_out = np.array([1.0, 0.0]), np.array([0.0, 3.0])
    ref = exact_unforced(OSCILLATOR.L, y0, [3.0])[0]
    errs = [np.max(np.abs(fixed_step(linear_rhs, finite_check, y0, t_out, OSCILLATOR, h, order, 0.0)[0][-1] - ref))
            for h in (dt, dt / 2)]
    assert errs[0] / errs[1] == pytest.approx(factor, rel=0.15)


def test_blow_up_stops_with_status_and_keeps_rows():
    p = Linear(np.array([[3.0]]), np.zeros(1), 0.0)  # y = e^{3t}: above 1e10 at t ≈ 7.7
    t_out = np.linspace(0.0, 20.0, 21)
    Y, n, nfev, status, t_stop, _ = run(dop853, p, [1.0], t_out, 1e-8)
    assert status == NONFINITE and 7.0 < t_stop < 8.5 and n == 8
    assert np.allclose(Y[:n, 0], np.exp(3 * t_out[:n]), rtol=1e-6) and np.all(np.isnan(Y[n:]))


def test_vendored_tableau_equals_scipy_and_satisfies_order_conditions():
    from scipy.integrate._ivp import dop853_coefficients as ref
    for name in ("C", "A", "B", "E3", "E5", "D"):
        assert np.array_equal(getattr(tableau, name), getattr(ref, name)), name
    A, B, C = tableau.A[:12, :12], tableau.B, tableau.C[:12]
    assert np.allclose(A.sum(axis=1), C, atol=1e-14)          # row sums are the nodes
    for q in range(1, 9):                                     # quadrature order 8: Σ b_i c_i^(q-1) = 1/q
        assert B @ C ** (q - 1) == pytest.approx(1.0 / q, abs=1e-13)
    assert sum(tableau.E5) == pytest.approx(0.0, abs=1e-14)   # error estimators of consistent pairs


def test_stiffness_detected_by_hairer_wanner_test():
    y0, t_out = np.array([1.0, 0.0]), np.array([0.0, 10.0])
    Y, n, nfev, status, t_stop, y_stop = run(dop853, STIFF, y0, t_out, 1e-6, stiff_after=0)
    assert status == STIFF_STATUS and 0 < t_stop < 10.0 and nfev < 2000
    assert np.allclose(y_stop, expm(STIFF.L * t_stop) @ y0, atol=1e-5)  # the state to continue from
    # the same test stays silent on a non-stiff problem (eigenvalues ±2i, h|λ| small)
    *_, status, _, _ = run(dop853, OSCILLATOR, y0, t_out, 1e-6, stiff_after=0)
    assert status == SUCCESS


@pytest.mark.parametrize("solver", [dop853, lsoda])
def test_stop_request_returns_rows_so_far(solver):
    """A stop request set while the solver runs (as Ctrl-C does through run_controlled)
    ends it within a step with INTERRUPTED, keeping the rows computed until then."""
    t_out = np.linspace(0.0, 2e5, 2001)
    control = new_control()
    threading.Timer(0.3, lambda: control.__setitem__(0, 1.0)).start()
    start = time.perf_counter()
    Y, n, nfev, status, t_stop, y_stop = run(solver, OSCILLATOR, [1.0, 0.0], t_out, 1e-12, control=control)
    assert time.perf_counter() - start < 10.0
    assert status == INTERRUPTED and 1 <= n < len(t_out) and t_out[n - 1] <= t_stop == pytest.approx(control[1])
    assert np.all(np.isfinite(Y[:n])) and np.all(np.isnan(Y[n:]))


def test_keyboard_interrupt_in_caller_stops_the_solver():
    t_out = np.linspace(0.0, 1e6, 11)
    control = new_control()
    run(dop853, OSCILLATOR, [1.0, 0.0], t_out[:2] * 1e-5, 1e-12, control=new_control())  # compiled before timing
    threading.Timer(0.5, _thread.interrupt_main).start()  # Ctrl-C, delivered to this thread
    start = time.perf_counter()
    Y, n, nfev, status, t_stop, _ = run_controlled(
        lambda: run(dop853, OSCILLATOR, [1.0, 0.0], t_out, 1e-12, control=control), control, 1e6)
    assert status == INTERRUPTED and time.perf_counter() - start < 5.0 and 0.0 < t_stop < 1e6
