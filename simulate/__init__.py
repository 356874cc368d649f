"""Finite-N online SGD of the two-layer student on its teacher (THEORY.md §1).

``simulate(network, ...)`` runs BP, DFA or sign-feedback SGD with one fresh Gaussian
input per step and returns an ``odetheory.trajectory.Trajectory`` with the order
parameters Q, R, v at the output times (α = steps/N), so that ε_g and cos(v, F) come
from the same code as the ODE theory. Two samplers of the same process: ``full``
(N-dimensional weights and inputs, ``sgd``) and ``reduced`` (the weights in their own
span, ``reduced``; exact in law, cost independent of N).
"""
import math
import time as _time

import numpy as np
from tqdm import tqdm

from odetheory.integrals.pairs import codes, functions, resolve
from odetheory.learning import learning
from odetheory.once import OncePerKey
from odetheory.rules import rule_code
from odetheory.schedules import schedule
from odetheory.errors import InputError, check_integer, check_number
from odetheory.initial import STREAMS, Network, draw_network, random_streams
from odetheory.options import OPTIONS, defaults
from odetheory.ode.times import output_times
from odetheory.status import BLOWUP, INTERRUPTED, NONFINITE, STATUS_MESSAGES, SUCCESS
from odetheory.ode.trajectory import Trajectory

from . import reduced, sgd
from .reduced import coordinates
from .sgd import local_fields

__all__ = ["simulate", "step_times", "test_stream", "warm_up", "BLOCK_BYTES", "SAMPLERS"]

BLOCK_BYTES = 4 << 20  # size of one block of drawn inputs (bytes)


def step_times(N, t_max, times=None, n_times=None):
    """Output steps (n,) int64: the grid of ``output_times`` rounded to the nearest whole
    step, unique; capped at floor(t_max·N) so that every step/N stays ≤ t_max."""
    t_out, _ = output_times(t_max, times, defaults()["n_times"] if n_times is None else n_times)
    last = math.floor(t_max * N + 1e-9)
    return np.unique(np.minimum(np.rint(t_out * N), last).astype(np.int64))


def test_stream(seed):
    """Generator for the Monte-Carlo test set, independent of the streams of ``random_streams``."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(len(STREAMS) + 1)[-1])


class _Blocks:
    """Blocks of standard normal rows (at most ``rows``, width ``width``) from the data
    stream, ``total`` rows in all; with ``chi2_dof``, also one χ²(chi2_dof) value per
    row from a child stream of the data stream. Each sequence is read in order, so the
    numbers of a step do not depend on how the run is cut into blocks or on t_max."""

    def __init__(self, rng, rows, width, total, chi2_dof=None):
        self.rng, self.left, self.dof = rng, total, chi2_dof
        self.chi2_rng = rng.spawn(1)[0] if chi2_dof is not None else None
        self.buf = np.empty((max(1, min(rows, total)), width))
        self.chi2 = np.zeros(self.buf.shape[0]) if chi2_dof is not None else None
        self.pos = self.filled = 0

    def available(self):
        """Rows ready for use; draws a new block when the current one is used up."""
        if self.pos == self.filled:
            n = min(self.buf.shape[0], self.left)
            self.rng.standard_normal(out=self.buf[:n])
            if self.dof is not None:
                self.chi2[:n] = self.chi2_rng.chisquare(self.dof, n)
            self.left -= n
            self.pos, self.filled = 0, n
        return self.filled - self.pos


def sampler_kernels(activation, teacher_activation=None):
    """Compiled SGD loops (``sgd``, ``reduced``) for the activation pair: the modules' own
    for built-ins, copies bound to a user expression's compiled g, g' otherwise."""
    return functions((sgd, reduced), activation, teacher_activation)


class _Chain:
    """What both samplers keep: second layer v (K,), teacher A (M,), feedback F (K,), the
    kernel parameters (``SGDParams``) and compiled loops, N, their input blocks and the
    number of steps done."""

    def __init__(self, network, params, inputs, kernels):
        self.v = np.array(network.v, dtype=float)
        self.A = np.ascontiguousarray(network.A, dtype=float)
        self.F = np.ascontiguousarray(network.F, dtype=float)
        self.params, self.N, self.inputs, self.kernels, self.done = params, network.N, inputs, kernels, 0

    def advance(self, n):
        """Up to n steps (fewer at the end of a block or when the error is non-finite);
        returns (steps done, True if the error became non-finite)."""
        x = self.inputs
        n = min(x.available(), n)
        k = self._steps(x, n)
        x.pos += k
        self.done += k
        return k, k < n


class _FullSGD(_Chain):
    """N-dimensional weights W (K,N) and inputs x (N,) (kernel ``sgd.sgd_steps``)."""

    def __init__(self, network, rng, params, total, kernels):
        N = network.N
        super().__init__(network, params, _Blocks(rng, BLOCK_BYTES // (8 * (N + 1)), N + 1, total), kernels)
        self.W = np.array(network.W, dtype=float, order="C")
        self.B = np.ascontiguousarray(network.B, dtype=float)

    def _steps(self, x, n):
        return self.kernels.sgd_steps(self.W, self.v, self.B, self.A, self.F, x.buf, x.pos, x.pos + n, self.params,
                                      self.done)

    def order_parameters(self):
        with np.errstate(invalid="ignore", over="ignore"):
            q, r = self.W @ self.W.T / self.N, self.W @ self.B.T / self.N
        return 0.5 * (q + q.T), r, self.v.copy()


class _ReducedSGD(_Chain):
    """The same chain in the span of the weights (kernel ``reduced.reduced_steps``)."""

    def __init__(self, network, rng, params, total, kernels):
        K, M, N = network.W.shape[0], network.B.shape[0], network.N
        super().__init__(network, params,
                         _Blocks(rng, BLOCK_BYTES // (8 * (M + K + 2)), M + K + 1, total, chi2_dof=N - M - K),
                         kernels)
        self.L_T, self.P, self.S = coordinates(network.B, network.W)

    def _steps(self, x, n):
        return self.kernels.reduced_steps(self.L_T, self.P, self.S, self.v, self.A, self.F, x.buf, x.chi2, x.pos,
                                          x.pos + n, self.params, self.done, self.N)

    def order_parameters(self):
        with np.errstate(invalid="ignore", over="ignore"):
            q = self.P @ self.P.T + self.S @ self.S.T
            r = self.P @ self.L_T.T
        return 0.5 * (q + q.T), r, self.v.copy()


SAMPLERS = {"full": _FullSGD, "reduced": _ReducedSGD}
assert tuple(SAMPLERS) == OPTIONS["sampler"].bound
D = defaults()
_warm = OncePerKey()


def warm_up(activation="erf", sampler="full", mc_test=False, teacher_activation=None):
    """Compile (or load from numba's disk cache) the SGD kernels of these activations and
    sampler, once per process; returns the seconds it took (0.0 when already done).
    ``simulate`` calls it first and reports the time as settings["compile_time"], apart
    from its wall_time."""
    student, teacher = resolve(activation, teacher_activation)
    return _warm((student, teacher, sampler, bool(mc_test)), lambda: _simulate(
        draw_network(1, 1, 4, 0.1, 0), student, "dfa", 0.1, None, 0.0, 0.5, None, 4, True, 0, 2 if mc_test else 0,
        sampler, False, 0.0, teacher, 0.0, 0.0, schedule(None), schedule(None)))


def _check(network, rule, eta, eta_v, sigma, t_max, seed, mc_test, sampler):
    if not isinstance(network, Network):
        raise InputError("network must be an odetheory.initial.Network (see draw_network)")
    for name in ("B", "A", "W", "v", "F"):
        if not np.all(np.isfinite(getattr(network, name))):
            raise InputError(f"network.{name} has non-finite entries")
    if sampler not in SAMPLERS:
        raise InputError(f"unknown sampler {sampler!r}; choose full or reduced")
    K, M, N = network.W.shape[0], network.B.shape[0], network.N
    if sampler == "reduced" and N <= K + M:
        raise InputError(f"the reduced sampler needs N > K + M = {K + M}, got N = {N}; use sampler full")
    mc_test = check_integer("mc_test", mc_test)
    if sampler == "reduced" and mc_test:
        raise InputError("mc_test: a Monte-Carlo test set needs the N-dimensional inputs: use sampler full",
                         option="mc_test")
    eta = check_number("eta", eta, 0.0, True)
    eta_v = eta if eta_v is None else check_number("eta_v", eta_v, 0.0, True)
    return (rule_code(rule), eta, eta_v, check_number("sigma", sigma, 0.0, False),
            check_number("t_max", t_max, 0.0, True), check_integer("seed", seed), mc_test)


def simulate(network, activation=D["activation"], rule=D["rule"], eta=D["eta"], eta_v=D["eta_v"], sigma=D["sigma"],
             t_max=D["t_max"], times=D["times"], train_second_layer=D["train_second_layer"], seed=D["seed"],
             mc_test=D["mc_test"], sampler=D["sampler"], progress=False, n_times=D["n_times"],
             teacher_activation=D["teacher_activation"], weight_decay=D["weight_decay"],
             weight_decay_v=D["weight_decay_v"], eta_schedule=D["eta_schedule"], eta_v_schedule=D["eta_v_schedule"]):
    """Online SGD of ``network`` (``odetheory.initial.Network``, sizes K, M, N) up to α = t_max.

    activation, teacher_activation: the student's and the teacher's g (names or
    expressions in x, as in ``odetheory.integrate``; the teacher's defaults to the
    student's); rule: bp, dfa or sign. eta, eta_v: learning rates
    (eta_v defaults to eta; train_second_layer=False keeps v fixed). sigma: std of the
    teacher's output noise. weight_decay, weight_decay_v: λ, λ_v (THEORY.md §10);
    eta_schedule, eta_v_schedule: ``odetheory.schedules`` (η at step s is η(s/N)). Inputs x (N,) and noise ζ come from
    ``random_streams(seed)["data"]``. Output times: the grid of
    ``odetheory.ode.output_times(t_max, times, n_times)``, rounded to whole steps.
    sampler: ``full`` moves the N-dimensional weights (``sgd``); ``reduced`` runs the
    same Markov chain of the order parameters in the span of the weights (``reduced``;
    exact in law, cost independent of N, needs N > K + M, no mc_test).
    mc_test = n > 0 adds ``traj.eg_mc`` (n_out,): ½ mean(e²) with noise-free labels on
    n test inputs drawn once from ``test_stream(seed)``, and its standard error
    ``traj.eg_mc_se``. Returns a Trajectory; a run whose error becomes non-finite, or
    whose Q, R or v exceed ``odetheory.status.BLOWUP`` at an output time, stops with
    status NONFINITE (1) and keeps the rows recorded until then (as the ODE does); so does
    a run interrupted by Ctrl-C (status INTERRUPTED). progress: a progress bar in t on
    stderr (on a terminal, for runs longer than 2 s). Defaults: ``odetheory.options.DEFAULTS``.
    The first run of an activation and sampler in a process compiles (or loads) the kernels
    first: ``settings["compile_time"]``, not part of ``wall_time``.
    """
    _check(network, rule, eta, eta_v, sigma, t_max, seed, mc_test, sampler)
    step_times(network.N, t_max, times, n_times)  # bad output times are reported before any compiling
    check_number("weight_decay", weight_decay, 0.0, False)
    check_number("weight_decay_v", weight_decay_v, 0.0, False)
    eta_schedule, eta_v_schedule = schedule(eta_schedule), schedule(eta_v_schedule, "--eta-v-schedule")
    student, teacher = resolve(activation, teacher_activation)
    compile_time = warm_up(student, sampler, mc_test, teacher)
    return _simulate(network, student, rule, eta, eta_v, sigma, t_max, times, n_times, train_second_layer, seed,
                     mc_test, sampler, progress, compile_time, teacher, weight_decay, weight_decay_v, eta_schedule,
                     eta_v_schedule)


def _simulate(network, student, rule, eta, eta_v, sigma, t_max, times, n_times, train_second_layer, seed,
              mc_test, sampler, progress, compile_time, teacher, weight_decay, weight_decay_v, eta_schedule,
              eta_v_schedule):
    _, eta, eta_v, sigma, t_max, seed, mc_test = _check(network, rule, eta, eta_v, sigma, t_max, seed, mc_test,
                                                        sampler)
    weight_decay = check_number("weight_decay", weight_decay, 0.0, False)
    weight_decay_v = check_number("weight_decay_v", weight_decay_v, 0.0, False)
    act, teacher_act = codes(student, teacher)
    kernels = sampler_kernels(student, teacher)
    N = network.N
    steps = step_times(N, t_max, times, n_times)
    if mc_test:
        X_test = test_stream(seed).standard_normal((mc_test, N))
        y_test = kernels.outputs(local_fields(X_test, network.B), network.A, teacher_act)
    base = learning(student, rule, eta, eta_v, sigma, teacher, weight_decay, weight_decay_v, eta_schedule,
                    eta_v_schedule)
    # a step schedule changes η at step ceil(t_i N) (η at step s is η(s/N))
    breaks = sorted({math.ceil(t * N - 1e-9) for t in (*eta_schedule.times, *eta_v_schedule.times)
                     if 0 < t * N < steps[-1]})

    def params_at(step):
        t = step / N
        rate_w = eta_schedule.rate(eta, t) if eta_schedule.kind == "steps" else eta
        rate_v = eta_v_schedule.rate(eta_v, t) if eta_v_schedule.kind == "steps" else eta_v
        return base._replace(eta=float(rate_w), eta_v=float(rate_v) if train_second_layer else 0.0)

    start = _time.perf_counter()
    chain = SAMPLERS[sampler](network, random_streams(seed)["data"], params_at(0), int(steps[-1]), kernels)
    rows = []  # (q, r, v, eg_mc, eg_mc_se) per output time
    done, status = 0, SUCCESS
    bar = tqdm(total=float(t_max), disable=None if progress else True, delay=2.0, unit="α",
               bar_format="{l_bar}{bar}| t = {n:.4g} of {total:.4g} [{elapsed}<{remaining}]")
    try:
        for target in steps:
            while done < target and status == SUCCESS:
                upto = min([target] + [b for b in breaks if b > done])
                k, stopped = chain.advance(upto - done)
                done += k
                if done in breaks:
                    chain.params = params_at(done)
                bar.update(done / N - bar.n)
                if stopped:
                    status = NONFINITE
            if status != SUCCESS:
                break
            q, r, v = chain.order_parameters()
            if not all(np.all(np.abs(x) < BLOWUP) for x in (q, r, v)):  # also catches NaN
                status = NONFINITE
                break
            mc = (np.nan, np.nan)
            if mc_test:
                h = kernels.half_squared_errors(local_fields(X_test, chain.W), v, y_test, act)
                mc = (h.mean(), h.std(ddof=1) / math.sqrt(mc_test) if mc_test > 1 else np.nan)
            rows.append((q, r, v, *mc))
    except KeyboardInterrupt:  # Ctrl-C: keep the rows recorded so far
        status = INTERRUPTED
    finally:
        bar.close()
    wall = _time.perf_counter() - start

    message = STATUS_MESSAGES[status]
    t_last = steps[len(rows) - 1] / N if rows else 0.0
    if status == INTERRUPTED:
        message = f"interrupted at t = {t_last:.6g}"
    elif status != SUCCESS:
        message = f"stopped at t = {done / N:.6g}: {message}"
    n_out = len(rows)
    Q, R, V, eg_mc, eg_mc_se = (list(x) for x in zip(*rows)) if rows else ([], [], [], [], [])
    if not mc_test:
        eg_mc, eg_mc_se = [], []
    K, M = network.W.shape[0], network.B.shape[0]
    settings = dict(method="sim", activation=student.name, teacher_activation=teacher.name, rule=rule, eta=eta,
                    eta_v=eta_v, sigma=sigma, t_max=t_max, train_second_layer=train_second_layer, K=K, M=M, N=N,
                    seed=seed, mc_test=mc_test, steps=done, sampler=sampler, compile_time=compile_time,
                    weight_decay=weight_decay, weight_decay_v=weight_decay_v, eta_schedule=str(eta_schedule),
                    eta_v_schedule=str(eta_v_schedule))
    traj = Trajectory.from_order_parameters(
        steps[:n_out] / N, np.array(Q).reshape(n_out, K, K), np.array(R).reshape(n_out, K, M),
        np.array(V).reshape(n_out, K), network.state(), student, teacher,
        status=status, message=message, nfev=0, wall_time=wall, settings=settings)
    traj.eg_mc = np.array(eg_mc)
    traj.eg_mc_se = np.array(eg_mc_se)
    return traj
