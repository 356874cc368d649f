"""Python layer over the solvers: check input, build the Problem, run a solver, collect a Trajectory.

``integrate(state, ...)`` returns a ``Trajectory`` (the way scipy's ``solve_ivp``
returns a result object): times, ε_g, cos(v, F), Q, R, v at the output times, plus
the status of the run.
"""
import time as _time
from functools import partial

from ..errors import InputError, check_number
from ..state import State
from ..status import STATUS_MESSAGES, SUCCESS
from .problem import make_problem, pack
from .rhs import PSD_TOLERANCE, PSD_TOLERANCE_FIXED, derivatives, jacobian_without_eta2, state_status
from .solvers import dop853, fixed_step, lsoda
from .times import N_DEFAULT_TIMES, output_times
from .trajectory import Trajectory

# adaptive solvers (rtol, atol); LSODA's Newton iterations get the cheap O(η) Jacobian
ADAPTIVE = {"dop853": dop853, "lsoda": partial(lsoda, jac=jacobian_without_eta2)}
METHODS = (*ADAPTIVE, "rk4", "euler")


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
    problem = make_problem(state, activation, rule, eta, eta_v if train_second_layer else 0.0, sigma, eta2_terms)
    y0 = pack(state)
    start = _time.perf_counter()
    if method in ADAPTIVE:
        check_number("rtol", rtol)
        check_number("atol", atol)
        psd_tol = max(PSD_TOLERANCE, 100.0 * rtol)
        common = (derivatives, state_status, y0, t_out, exact, problem, float(rtol), float(atol), int(max_steps),
                  psd_tol)
        Y, n, nfev, status, t_stop = ADAPTIVE[method](*common)
    else:
        check_number("dt", dt)
        Y, n, nfev, status, t_stop = fixed_step(derivatives, state_status, y0, t_out, problem, float(dt),
                                                1 if method == "euler" else 4, PSD_TOLERANCE_FIXED)
    wall = _time.perf_counter() - start
    message = STATUS_MESSAGES[status]
    if status != SUCCESS:
        message = f"stopped at t = {t_stop:.6g}: {message}"
    settings = dict(activation=activation, rule=rule, eta=eta, eta_v=eta_v, sigma=sigma,
                    train_second_layer=train_second_layer, eta2_terms=eta2_terms, method=method,
                    rtol=rtol, atol=atol, dt=dt, t_max=t_max)
    return Trajectory.from_packed(t_out[:n], Y[:n], state, activation, status=status, message=message,
                                  nfev=nfev, wall_time=wall, settings=settings)
