"""Finite-N online SGD of the two-layer student on its teacher (THEORY.md §1).

``simulate(network, ...)`` runs BP, DFA or sign-feedback SGD with one fresh Gaussian
input per step and returns an ``odetheory.trajectory.Trajectory`` with the order
parameters Q, R, v at the output times (α = steps/N), so that ε_g and cos(v, F) come
from the same code as the ODE theory.
"""
import math
import time as _time

import numpy as np

from odetheory.activations import activation_code, rule_code
from odetheory.errors import InputError, check_integer, check_number
from odetheory.initial import STREAMS, Network, random_streams
from odetheory.ode import output_times
from odetheory.solvers import BLOWUP, NONFINITE, STATUS_MESSAGES, SUCCESS
from odetheory.trajectory import Trajectory

from .sgd import half_squared_errors, local_fields, outputs, sgd_steps

__all__ = ["simulate", "step_times", "test_stream", "BLOCK_BYTES"]

BLOCK_BYTES = 4 << 20  # size of one block of drawn inputs (bytes)


def step_times(N, t_max, times=None):
    """Output steps (n,) int64: the grid of ``output_times`` rounded to the nearest whole
    step, unique; capped at floor(t_max·N) so that every step/N stays ≤ t_max."""
    t_out, _ = output_times(t_max, times)
    last = math.floor(t_max * N + 1e-9)
    return np.unique(np.minimum(np.rint(t_out * N), last).astype(np.int64))


def test_stream(seed):
    """Generator for the Monte-Carlo test set, independent of the streams of ``random_streams``."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(len(STREAMS) + 1)[-1])


class _Inputs:
    """Blocks (rows, N+1) of the data stream: x in the first N columns, ζ in the last."""

    def __init__(self, rng, N, total):
        self.rng, self.left = rng, total
        rows = max(1, min(BLOCK_BYTES // (8 * (N + 1)), total))
        self.buf = np.empty((rows, N + 1))
        self.pos = self.filled = 0

    def available(self):
        """Rows ready for use; draws a new block when the current one is used up."""
        if self.pos == self.filled:
            n = min(self.buf.shape[0], self.left)
            self.rng.standard_normal(out=self.buf[:n])
            self.left -= n
            self.pos, self.filled = 0, n
        return self.filled - self.pos


def _check(network, activation, rule, eta, eta_v, sigma, t_max, seed, mc_test):
    if not isinstance(network, Network):
        raise InputError("network must be an odetheory.initial.Network (see draw_network)")
    for name in ("B", "A", "W", "v", "F"):
        if not np.all(np.isfinite(getattr(network, name))):
            raise InputError(f"network.{name} has non-finite entries")
    eta = check_number("eta", eta, 0.0, True)
    eta_v = eta if eta_v is None else check_number("eta_v", eta_v, 0.0, True)
    return (activation_code(activation), rule_code(rule), eta, eta_v, check_number("sigma", sigma, 0.0, False),
            check_number("t_max", t_max, 0.0, True), check_integer("seed", seed), check_integer("mc_test", mc_test))


def simulate(network, activation="erf", rule="dfa", eta=0.1, eta_v=None, sigma=0.0, t_max=100.0,
             times=None, train_second_layer=True, seed=0, mc_test=0):
    """Online SGD of ``network`` (``odetheory.initial.Network``, sizes K, M, N) up to α = t_max.

    activation: erf, linear or relu; rule: bp, dfa or sign. eta, eta_v: learning rates
    (eta_v defaults to eta; train_second_layer=False keeps v fixed). sigma: std of the
    teacher's output noise. Inputs x (N,) and noise ζ come from
    ``random_streams(seed)["data"]``. Output times: the grid of
    ``odetheory.ode.output_times(t_max, times)``, rounded to whole steps.
    mc_test = n > 0 adds ``traj.eg_mc`` (n_out,): ½ mean(e²) with noise-free labels on
    n test inputs drawn once from ``test_stream(seed)``, and its standard error
    ``traj.eg_mc_se``. Returns a Trajectory; a run whose error becomes non-finite, or
    whose Q, R or v exceed ``odetheory.solvers.BLOWUP`` at an output time, stops with
    status NONFINITE (1) and keeps the rows recorded until then (as the ODE does).
    """
    act, rl, eta, eta_v, sigma, t_max, seed, mc_test = _check(
        network, activation, rule, eta, eta_v, sigma, t_max, seed, mc_test)
    N = network.N
    steps = step_times(N, t_max, times)
    W = np.array(network.W, dtype=float, order="C")
    v = np.array(network.v, dtype=float)
    B = np.ascontiguousarray(network.B, dtype=float)
    A = np.ascontiguousarray(network.A, dtype=float)
    F = np.ascontiguousarray(network.F, dtype=float)
    if mc_test:
        X_test = test_stream(seed).standard_normal((mc_test, N))
        y_test = outputs(local_fields(X_test, B), A, act)
    eta_v_run = eta_v if train_second_layer else 0.0

    start = _time.perf_counter()
    inputs = _Inputs(random_streams(seed)["data"], N, int(steps[-1]))
    Q, R, V, eg_mc, eg_mc_se = [], [], [], [], []
    done, status = 0, SUCCESS
    for target in steps:
        while done < target and status == SUCCESS:
            n = min(inputs.available(), target - done)
            k = sgd_steps(W, v, B, A, F, inputs.buf, inputs.pos, inputs.pos + n,
                          act, rl, eta, eta_v_run, sigma)
            done += k
            inputs.pos += k
            if k < n:
                status = NONFINITE
        if status != SUCCESS:
            break
        with np.errstate(invalid="ignore", over="ignore"):
            q, r = W @ W.T / N, W @ B.T / N
        if not all(np.all(np.abs(x) < BLOWUP) for x in (q, r, v)):  # also catches NaN
            status = NONFINITE
            break
        Q.append(0.5 * (q + q.T))
        R.append(r)
        V.append(v.copy())
        if mc_test:
            h = half_squared_errors(local_fields(X_test, W), v, y_test, act)
            eg_mc.append(h.mean())
            eg_mc_se.append(h.std(ddof=1) / math.sqrt(mc_test) if mc_test > 1 else np.nan)
    wall = _time.perf_counter() - start

    message = STATUS_MESSAGES[status]
    if status != SUCCESS:
        message = f"stopped at t = {done / N:.6g}: {message}"
    n_out = len(Q)
    K, M = W.shape[0], B.shape[0]
    settings = dict(activation=activation, rule=rule, eta=eta, eta_v=eta_v, sigma=sigma, t_max=t_max,
                    train_second_layer=train_second_layer, seed=seed, mc_test=mc_test, N=N,
                    steps=done, method="sgd")
    traj = Trajectory.from_order_parameters(
        steps[:n_out] / N, np.array(Q).reshape(n_out, K, K), np.array(R).reshape(n_out, K, M),
        np.array(V).reshape(n_out, K), network.state(), activation,
        status=status, message=message, nfev=0, wall_time=wall, settings=settings)
    traj.eg_mc = np.array(eg_mc)
    traj.eg_mc_se = np.array(eg_mc_se)
    return traj
