"""Python layer over the solvers: check input, build the Problem, run a solver, collect a Trajectory.

``integrate(state, ...)`` returns a ``Trajectory`` (the way scipy's ``solve_ivp``
returns a result object): times, ε_g, cos(v, F), Q, R, v at the output times, plus
the status of the run.
"""
import time as _time
import warnings
from functools import partial

import numpy as np

from ..errors import InputError, check_number
from ..integrals.pairs import resolve
from ..once import OncePerKey
from ..options import OPTIONS as _OPTIONS
from ..options import defaults
from ..schedules import schedule
from ..state import State
from ..status import INTERRUPTED, STATUS_MESSAGES, STIFF, SUCCESS
from .model import rhs_functions
from .problem import make_problem, pack
from .rhs import PSD_TOLERANCE, PSD_TOLERANCE_FIXED
from .solvers import dop853, fixed_step, lsoda, new_control, run_controlled
from .times import output_times
from .trajectory import Trajectory

# adaptive solvers (rtol, atol); LSODA's Newton iterations get the cheap O(η) Jacobian
ADAPTIVE = ("dop853", "lsoda")
# dop853 evaluations after which a stiff run hands over to LSODA (with stiff_switch): short
# runs, and every run of the README and the tests below this, keep their dop853 numbers
STIFF_AFTER = 20_000
INTEGRATORS = _OPTIONS["integrator"].bound
assert set(INTEGRATORS) == {*ADAPTIVE, "rk4", "euler"}
METHODS = INTEGRATORS  # the old name of INTEGRATORS
D = defaults()

_warm = OncePerKey()
_TINY = State(Q=np.array([[0.5]]), R=np.array([[0.1]]), T=np.array([[1.0]]), A=np.array([1.0]), v=np.array([0.1]),
              F=np.array([1.0]))


def warm_up(activation="erf", integrator="dop853", teacher_activation=None):
    """Compile (or load from numba's disk cache) what a run with these activations and this
    integrator needs, once per process; returns the seconds it took (0.0 when already done).
    ``integrate`` calls it first and reports the time as settings["compile_time"], apart
    from its wall_time."""
    student, teacher = resolve(activation, teacher_activation)

    def work():
        # dop853 runs hand stiff problems to lsoda: compile both, so that neither compiles
        # (holding the interpreter, deaf to Ctrl-C) in the middle of a run
        for name in ("dop853", "lsoda") if integrator == "dop853" else (integrator,):
            _integrate(_TINY, student, "dfa", 0.1, 0.1, 0.0, 1e-3, None, 0, name, 1e-6, 1e-8,
                       None if name in ADAPTIVE else 1e-3, True, True, 1000, True, False, 0.0, teacher, 0.0, 0.0,
                       schedule(None), schedule(None))

    return _warm((student, teacher, integrator), work)


def integrate(state, activation=D["activation"], rule=D["rule"], eta=D["eta"], eta_v=D["eta_v"], sigma=D["sigma"],
              t_max=D["t_max"], times=D["times"], n_times=D["n_times"], integrator=D["integrator"], rtol=D["rtol"],
              atol=D["atol"], dt=D["dt"], train_second_layer=D["train_second_layer"], eta2_terms=D["eta2_terms"],
              max_steps=10_000_000, stiff_switch=True, progress=False, method=None,
              teacher_activation=D["teacher_activation"], weight_decay=D["weight_decay"],
              weight_decay_v=D["weight_decay_v"], eta_schedule=D["eta_schedule"], eta_v_schedule=D["eta_v_schedule"]):
    """Integrate the order-parameter ODEs of THEORY.md §3 from ``state``.

    state: ``State`` (Q (K,K), R (K,M), T (M,M), A (M,), v (K,), F (K,)).
    activation: the student's g, a built-in name (``integrals.activations``) or an
    expression in x; teacher_activation: the teacher's g* (default: the student's).
    rule: bp, dfa or sign.
    eta, eta_v: learning rates of the first and second layer (eta_v defaults to eta);
    train_second_layer=False keeps v fixed. sigma: teacher output noise (std).
    weight_decay, weight_decay_v: λ, λ_v of THEORY.md §10 (steps −(ηλ/N) w, −(η_v λ_v/N) v).
    eta_schedule, eta_v_schedule: ``schedules.Schedule`` or its text (power:α0:γ,
    steps:t1=η1,...); a step schedule's times are landed on and become output times.
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
    Defaults: ``odetheory.options.DEFAULTS``. The first run of an activation pair and integrator
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
    check_number("weight_decay", weight_decay, 0.0, strict=False)
    check_number("weight_decay_v", weight_decay_v, 0.0, strict=False)
    eta_schedule, eta_v_schedule = schedule(eta_schedule), schedule(eta_v_schedule, "--eta-v-schedule")
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
    student, teacher = resolve(activation, teacher_activation)
    compile_time = warm_up(student, integrator, teacher)
    return _integrate(state, student, rule, eta, eta_v, sigma, t_max, times, n_times, integrator, rtol, atol, dt,
                      train_second_layer, eta2_terms, max_steps, stiff_switch, progress, compile_time, teacher,
                      weight_decay, weight_decay_v, eta_schedule, eta_v_schedule)


def _integrate(state, student, rule, eta, eta_v, sigma, t_max, times, n_times, method, rtol, atol, dt,
               train_second_layer, eta2_terms, max_steps, stiff_switch, progress, compile_time, teacher,
               weight_decay, weight_decay_v, eta_schedule, eta_v_schedule):
    breaks = sorted({t for t in (*eta_schedule.times, *eta_v_schedule.times) if 0.0 < t < t_max})
    extra = np.concatenate((np.atleast_1d(np.asarray(times, dtype=float)) if times is not None else [], breaks))
    t_out, exact = output_times(t_max, extra if len(extra) else None, n_times)
    fns = rhs_functions(student, teacher)

    def problem_at(t):  # the Problem of the constant piece of a step schedule that starts at t
        return make_problem(state, student, rule, eta_schedule.rate(eta, t) if eta_schedule.kind == "steps" else eta,
                            (eta_v_schedule.rate(eta_v, t) if eta_v_schedule.kind == "steps" else eta_v)
                            if train_second_layer else 0.0, sigma, eta2_terms, teacher, weight_decay,
                            weight_decay_v, eta_schedule, eta_v_schedule)
    y0 = pack(state)
    control = new_control()
    psd_tol = max(PSD_TOLERANCE, 100.0 * rtol) if method in ADAPTIVE else PSD_TOLERANCE_FIXED

    def adaptive(name, problem, y_start, times, land, **kw):
        solver = dop853 if name == "dop853" else partial(lsoda, jac=fns.jacobian_without_eta2)
        return lambda: solver(fns.derivatives, fns.state_status, y_start, times, land, problem, float(rtol),
                              float(atol), int(max_steps), psd_tol, control, **kw)

    def piece(problem, y_start, times, land):
        """Solve over times[0]..times[-1]: (Y, n, nfev, status, t_stop, y_stop, switched_at)."""
        if method == "dop853":
            solve = adaptive("dop853", problem, y_start, times, land, stiff_after=STIFF_AFTER if stiff_switch else -1)
        elif method in ADAPTIVE:
            solve = adaptive(method, problem, y_start, times, land)
        else:
            def solve():
                return fixed_step(fns.derivatives, fns.state_status, y_start, times, problem, float(dt),
                                  1 if method == "euler" else 4, psd_tol, control)
        Y, n, nfev, status, t_stop, y_stop = run_controlled(solve, control, t_max, progress)
        switched = None
        if status == STIFF:  # LSODA takes over from the last accepted state
            switched = t_stop
            rest = adaptive("lsoda", problem, y_stop, np.concatenate(([t_stop], times[n:])),
                            np.concatenate(([False], land[n:])))
            Y_rest, n_rest, nfev_rest, status, t_stop, y_stop = run_controlled(rest, control, t_max, progress)
            Y[n:n + n_rest - 1] = Y_rest[1:n_rest]
            n, nfev = n + n_rest - 1, nfev + nfev_rest
        return Y, n, nfev, status, t_stop, y_stop, switched

    start = _time.perf_counter()
    edges = [0.0, *breaks, float(t_out[-1])]
    Y = np.empty((len(t_out), len(y0)))
    n, nfev, status, t_stop, y_start, switched_at = 0, 0, SUCCESS, 0.0, y0, None
    for a, b in zip(edges[:-1], edges[1:]):
        first = int(np.searchsorted(t_out, a))
        last = int(np.searchsorted(t_out, b)) + 1
        Y_p, n_p, nfev_p, status, t_stop, y_start, switched = piece(problem_at(a), y_start, t_out[first:last],
                                                                    exact[first:last])
        skip = 1 if first > 0 else 0  # the first row of a later piece repeats the last of the previous
        Y[n:n + n_p - skip] = Y_p[skip:n_p]
        n, nfev = n + n_p - skip, nfev + nfev_p
        switched_at = switched_at if switched is None else switched
        if status != SUCCESS:
            break
    wall = _time.perf_counter() - start
    message = STATUS_MESSAGES[status]
    if status == INTERRUPTED:
        message = f"interrupted at t = {t_stop:.6g}"
    elif status != SUCCESS:
        message = f"stopped at t = {t_stop:.6g}: {message}"
    if switched_at is not None:
        message += f" (DOP853 found the problem stiff at t = {switched_at:.6g}; LSODA continued from there)"
    settings = dict(method="ode", activation=student.name, teacher_activation=teacher.name, rule=rule, eta=eta,
                    eta_v=eta_v, sigma=sigma, train_second_layer=train_second_layer, eta2_terms=eta2_terms,
                    integrator=method, rtol=rtol, atol=atol, dt=dt, t_max=t_max, K=state.K, M=state.M, N=state.N,
                    seed=state.seed, switched_to_lsoda_at=switched_at, compile_time=compile_time,
                    weight_decay=weight_decay, weight_decay_v=weight_decay_v, eta_schedule=str(eta_schedule),
                    eta_v_schedule=str(eta_v_schedule))
    return Trajectory.from_packed(t_out[:n], Y[:n], state, student, status=status, message=message,
                                  nfev=nfev, wall_time=wall, settings=settings, teacher_activation=teacher)
