"""Python layer over the solvers: check input, build the Problem, run a solver, collect a Trajectory.

``integrate(state, ...)`` returns a ``Trajectory`` (the way scipy's ``solve_ivp``
returns a result object): times, ε_g, cos(v, F), Q, R, v at the output times, plus
the status of the run.
"""
import threading
import time as _time
import warnings
from functools import partial

import numpy as np

from ..errors import InputError, check_number
from ..options import OPTIONS as _OPTIONS
from ..options import defaults
from ..state import State
from ..status import INTERRUPTED, STATUS_MESSAGES, STIFF, SUCCESS
from .problem import make_problem, pack
from .rhs import PSD_TOLERANCE, PSD_TOLERANCE_FIXED, derivatives, jacobian_without_eta2, state_status
from .solvers import dop853, fixed_step, lsoda, new_control, run_controlled
from .times import output_times
from .trajectory import Trajectory

# adaptive solvers (rtol, atol); LSODA's Newton iterations get the cheap O(η) Jacobian
ADAPTIVE = {"dop853": dop853, "lsoda": partial(lsoda, jac=jacobian_without_eta2)}
# dop853 evaluations after which a stiff run hands over to LSODA (with stiff_switch): short
# runs, and every run of the README and the tests below this, keep their dop853 numbers
STIFF_AFTER = 20_000
INTEGRATORS = _OPTIONS["integrator"].bound
assert set(INTEGRATORS) == {*ADAPTIVE, "rk4", "euler"}
METHODS = INTEGRATORS  # the old name of INTEGRATORS
D = defaults()

_warm = set()
_warm_lock = threading.Lock()
_TINY = State(Q=np.array([[0.5]]), R=np.array([[0.1]]), T=np.array([[1.0]]), A=np.array([1.0]), v=np.array([0.1]),
              F=np.array([1.0]))


def warm_up(activation="erf", integrator="dop853"):
    """Compile (or load from numba's disk cache) what a run with this activation and
    integrator needs, once per process; returns the seconds it took (0.0 when already done).
    ``integrate`` calls it first and reports the time as settings["compile_time"], apart
    from its wall_time."""
    key = (activation, integrator)
    if key in _warm:
        return 0.0
    with _warm_lock:
        if key in _warm:
            return 0.0
        start = _time.perf_counter()
        _integrate(_TINY, activation, "dfa", 0.1, 0.1, 0.0, 1e-3, None, 0, integrator, 1e-6, 1e-8,
                   None if integrator in ADAPTIVE else 1e-3, True, True, 1000, True, False, 0.0)
        _warm.add(key)
        return _time.perf_counter() - start


def integrate(state, activation=D["activation"], rule=D["rule"], eta=D["eta"], eta_v=D["eta_v"], sigma=D["sigma"],
              t_max=D["t_max"], times=D["times"], n_times=D["n_times"], integrator=D["integrator"], rtol=D["rtol"],
              atol=D["atol"], dt=D["dt"], train_second_layer=D["train_second_layer"], eta2_terms=D["eta2_terms"],
              max_steps=10_000_000, stiff_switch=True, progress=False, method=None):
    """Integrate the order-parameter ODEs of THEORY.md §3 from ``state``.

    state: ``State`` (Q (K,K), R (K,M), T (M,M), A (M,), v (K,), F (K,)).
    activation: erf, linear or relu. rule: bp, dfa or sign.
    eta, eta_v: learning rates of the first and second layer (eta_v defaults to eta);
    train_second_layer=False keeps v fixed. sigma: teacher output noise (std).
    t_max: final time α (steps/N). times: extra output times, landed on exactly
    (the default grid, t = 0 and n_times log-spaced times, uses dense output).
    integrator: dop853 (adaptive explicit, rtol/atol), lsoda (adaptive, switches to BDF near
    fixed points; fewer evaluations on long runs, see ``stiff``) or euler/rk4 (fixed step dt).
    method: the old name of integrator (deprecated; ``method`` now means ode or sim everywhere).
    eta2_terms=False drops the η² and σ² terms (only for checking conservation laws).
    stiff_switch: when a dop853 run that has used STIFF_AFTER evaluations becomes stiff
    (its steps limited by stability, Hairer & Wanner's test), LSODA continues it from
    there (the message says where); False keeps dop853 to the end.
    progress: a progress bar in t on stderr (on a terminal, for runs longer than 2 s).
    Returns a Trajectory; a run that diverges, or is interrupted (Ctrl-C), stops early
    with success=False and a message naming the time, keeping the rows computed until then.
    Defaults: ``odetheory.options.DEFAULTS``. The first run of an activation and integrator
    in a process compiles (or loads) the kernels first: ``settings["compile_time"]``, not
    part of ``wall_time``.
    """
    if method is not None:
        warnings.warn("integrate(method=...) is now integrate(integrator=...)", DeprecationWarning, stacklevel=2)
        integrator = method
    if not isinstance(state, State):
        raise InputError("state must be an odetheory State (see State.checked)")
    check_number("eta", eta)
    eta_v = eta if eta_v is None else eta_v
    check_number("eta_v", eta_v)
    check_number("sigma", sigma, 0.0, strict=False)
    if integrator not in INTEGRATORS:
        raise InputError(f"unknown integrator {integrator!r}; choose one of {', '.join(INTEGRATORS)}",
                         option="integrator")
    if integrator not in ADAPTIVE and dt is None:
        raise InputError(f"dt is required by the fixed-step integrator {integrator}", option="dt")
    if integrator in ADAPTIVE:
        check_number("rtol", rtol)
        check_number("atol", atol)
    else:
        check_number("dt", dt)
    output_times(t_max, times, n_times)  # bad input is reported before any compiling
    compile_time = warm_up(activation, integrator)
    return _integrate(state, activation, rule, eta, eta_v, sigma, t_max, times, n_times, integrator, rtol, atol, dt,
                      train_second_layer, eta2_terms, max_steps, stiff_switch, progress, compile_time)


def _integrate(state, activation, rule, eta, eta_v, sigma, t_max, times, n_times, method, rtol, atol, dt,
               train_second_layer, eta2_terms, max_steps, stiff_switch, progress, compile_time):
    t_out, exact = output_times(t_max, times, n_times)
    problem = make_problem(state, activation, rule, eta, eta_v if train_second_layer else 0.0, sigma, eta2_terms)
    y0 = pack(state)
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
    settings = dict(method="ode", activation=activation, rule=rule, eta=eta, eta_v=eta_v, sigma=sigma,
                    train_second_layer=train_second_layer, eta2_terms=eta2_terms, integrator=method,
                    rtol=rtol, atol=atol, dt=dt, t_max=t_max, K=state.K, M=state.M, N=state.N, seed=state.seed,
                    switched_to_lsoda_at=switched_at, compile_time=compile_time)
    return Trajectory.from_packed(t_out[:n], Y[:n], state, activation, status=status, message=message,
                                  nfev=nfev, wall_time=wall, settings=settings)
