"""Python layer over the solvers: check input, build the Problem, run a solver, collect a Trajectory.

``integrate(state, ...)`` returns a ``Trajectory`` (the way scipy's ``solve_ivp``
returns a result object): times, ε_g, cos(v, F), Q, R, v at the output times, plus
the status of the run.
"""
import time as _time
from functools import partial

import numpy as np

from ..errors import InputError, check_number
from ..state import State
from ..status import INTERRUPTED, STATUS_MESSAGES, STIFF, SUCCESS
from .problem import make_problem, pack
from .rhs import PSD_TOLERANCE, PSD_TOLERANCE_FIXED, derivatives, jacobian_without_eta2, state_status
from .solvers import dop853, fixed_step, lsoda, new_control, run_controlled
from .times import N_DEFAULT_TIMES, output_times
from .trajectory import Trajectory

# adaptive solvers (rtol, atol); LSODA's Newton iterations get the cheap O(η) Jacobian
ADAPTIVE = {"dop853": dop853, "lsoda": partial(lsoda, jac=jacobian_without_eta2)}
# dop853 evaluations after which a stiff run hands over to LSODA (with stiff_switch): short
# runs, and every run of the README and the tests below this, keep their dop853 numbers
STIFF_AFTER = 20_000
METHODS = (*ADAPTIVE, "rk4", "euler")


def integrate(state, activation="erf", rule="dfa", eta=0.1, eta_v=None, sigma=0.0, t_max=100.0,
              times=None, n_times=N_DEFAULT_TIMES, method="dop853", rtol=1e-8, atol=1e-10, dt=None,
              train_second_layer=True, eta2_terms=True, max_steps=10_000_000, stiff_switch=True, progress=False):
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
    stiff_switch: when a dop853 run that has used STIFF_AFTER evaluations becomes stiff
    (its steps limited by stability, Hairer & Wanner's test), LSODA continues it from
    there (the message says where); False keeps dop853 to the end.
    progress: a progress bar in t on stderr (on a terminal, for runs longer than 2 s).
    Returns a Trajectory; a run that diverges, or is interrupted (Ctrl-C), stops early
    with success=False and a message naming the time, keeping the rows computed until then.
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
    problem = make_problem(state, activation, rule, eta, eta_v if train_second_layer else 0.0, sigma, eta2_terms)
    y0 = pack(state)
    if method in ADAPTIVE:
        check_number("rtol", rtol)
        check_number("atol", atol)
    else:
        check_number("dt", dt)
    control = new_control()
    psd_tol = max(PSD_TOLERANCE, 100.0 * rtol) if method in ADAPTIVE else PSD_TOLERANCE_FIXED

    def adaptive(name, y_start, times, land, **kw):
        return lambda: ADAPTIVE[name](derivatives, state_status, y_start, times, land, problem, float(rtol),
                                      float(atol), int(max_steps), psd_tol, control, **kw)

    if method == "dop853":
        solve = adaptive("dop853", y0, t_out, exact, stiff_after=STIFF_AFTER if stiff_switch else -1)
    elif method in ADAPTIVE:
        solve = adaptive(method, y0, t_out, exact)
    else:
        def solve():
            return fixed_step(derivatives, state_status, y0, t_out, problem, float(dt),
                              1 if method == "euler" else 4, psd_tol, control)
    start = _time.perf_counter()
    Y, n, nfev, status, t_stop, y_stop = run_controlled(solve, control, t_max, progress)
    switched_at = None
    if status == STIFF:  # LSODA takes over from the last accepted state
        switched_at = t_stop
        rest = adaptive("lsoda", y_stop, np.concatenate(([t_stop], t_out[n:])), np.concatenate(([False], exact[n:])))
        Y_rest, n_rest, nfev_rest, status, t_stop, _ = run_controlled(rest, control, t_max, progress)
        Y[n:n + n_rest - 1] = Y_rest[1:n_rest]
        n, nfev = n + n_rest - 1, nfev + nfev_rest
    wall = _time.perf_counter() - start
    message = STATUS_MESSAGES[status]
    if status == INTERRUPTED:
        message = f"interrupted at t = {t_stop:.6g}"
    elif status != SUCCESS:
        message = f"stopped at t = {t_stop:.6g}: {message}"
    if switched_at is not None:
        message += f" (DOP853 found the problem stiff at t = {switched_at:.6g}; LSODA continued from there)"
    settings = dict(activation=activation, rule=rule, eta=eta, eta_v=eta_v, sigma=sigma,
                    train_second_layer=train_second_layer, eta2_terms=eta2_terms, method=method,
                    rtol=rtol, atol=atol, dt=dt, t_max=t_max, switched_to_lsoda_at=switched_at)
    return Trajectory.from_packed(t_out[:n], Y[:n], state, activation, status=status, message=message,
                                  nfev=nfev, wall_time=wall, settings=settings)
