"""Python layer over the compiled integrator: check input, run, collect observables.

``integrate(state, ...)`` returns a ``Trajectory`` (the way scipy's ``solve_ivp``
returns a result object): times, ε_g, cos(v, F), Q, R, v at the output times, plus
the status of the run.
"""
import time as _time

import numpy as np

from .activations import activation_code, rule_code
from .errors import InputError, check_number
from .solvers import STATUS_MESSAGES, SUCCESS, dop853, fixed_step
from .state import State
from .stiff import lsoda
from .trajectory import Trajectory

ADAPTIVE = {"dop853": dop853, "lsoda": lsoda}  # method -> solver with rtol/atol
METHODS = (*ADAPTIVE, "rk4", "euler")
N_DEFAULT_TIMES = 200


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
        raise InputError(f"n_times must be an integer >= 0, got {n_times}")
    grid = default_times(t_max, int(n_times))
    extra = np.zeros(0)
    if times is not None:
        extra = np.atleast_1d(np.asarray(times, dtype=float))
        if not np.all(np.isfinite(extra)) or np.any(extra < 0) or np.any(extra > t_max):
            raise InputError(f"output times must lie in [0, t_max={t_max:g}]")
    t_out = np.unique(np.concatenate((grid, extra)))
    exact = np.isin(t_out, extra) | (t_out == t_max)
    return t_out, exact


def problem_tuple(state, activation, rule, eta, eta_v, sigma, eta2_terms):
    """The parameter tuple P of ``rhs.derivatives``."""
    return (state.K, state.M, np.ascontiguousarray(state.T), np.ascontiguousarray(state.A),
            np.ascontiguousarray(state.F), activation_code(activation), rule_code(rule),
            float(eta), float(eta_v), float(sigma), 1.0 if eta2_terms else 0.0)


def pack(state):
    """State vector y = [Q.ravel(), R.ravel(), v] of ``rhs``."""
    return np.concatenate((state.Q.ravel(), state.R.ravel(), state.v))


def integrate(state, activation="erf", rule="dfa", eta=0.1, eta_v=None, sigma=0.0, t_max=100.0,
              times=None, n_times=N_DEFAULT_TIMES, method="dop853", rtol=1e-8, atol=1e-10, dt=None,
              train_second_layer=True, eta2_terms=True, max_steps=10_000_000):
    """Integrate the order-parameter ODEs of THEORY.md §3 from ``state``.

    state: ``State`` (Q (K,K), R (K,M), T (M,M), A (M,), v (K,), F (K,)).
    activation: erf, linear or relu. rule: bp, dfa or sign.
    eta, eta_v: learning rates of the first and second layer (eta_v defaults to eta);
    train_second_layer=False keeps v fixed. sigma: teacher output noise (std).
    t_max: final time α (steps/N). times: extra output times, landed on exactly
    (the default grid, t = 0 and n_times log-spaced times, uses dense output).
    method: dop853 (adaptive explicit, rtol/atol), lsoda (adaptive, switches to BDF near
    fixed points; fewer evaluations on long runs, see ``stiff``) or euler/rk4 (fixed step dt).
    eta2_terms=False drops the η² and σ² terms (only for checking conservation laws).
    Returns a Trajectory; a run that diverges stops early with success=False and a
    message naming the time, keeping the rows computed until then.
    """
    if not isinstance(state, State):
        raise InputError("state must be an odetheory State (see State.checked)")
    check_number("eta", eta)
    eta_v = eta if eta_v is None else eta_v
    check_number("eta_v", eta_v)
    check_number("sigma", sigma, 0.0, strict=False)
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    t_out, exact = output_times(t_max, times, n_times)
    P = problem_tuple(state, activation, rule, eta, eta_v if train_second_layer else 0.0, sigma, eta2_terms)
    y0 = pack(state)
    start = _time.perf_counter()
    if method in ADAPTIVE:
        check_number("rtol", rtol)
        check_number("atol", atol)
        Y, n, nfev, status, t_stop = ADAPTIVE[method](y0, t_out, exact, P, float(rtol), float(atol), int(max_steps))
    else:
        check_number("dt", dt)
        Y, n, nfev, status, t_stop = fixed_step(y0, t_out, P, float(dt), 1 if method == "euler" else 4)
    wall = _time.perf_counter() - start
    message = STATUS_MESSAGES[status]
    if status != SUCCESS:
        message = f"stopped at t = {t_stop:.6g}: {message}"
    settings = dict(activation=activation, rule=rule, eta=eta, eta_v=eta_v, sigma=sigma,
                    train_second_layer=train_second_layer, eta2_terms=eta2_terms, method=method,
                    rtol=rtol, atol=atol, dt=dt, t_max=t_max)
    return Trajectory.from_packed(t_out[:n], Y[:n], state, activation, status=status, message=message,
                                  nfev=nfev, wall_time=wall, settings=settings)
