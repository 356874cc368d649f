"""Compiled time steppers for the order-parameter ODEs.

* ``dop853``: the adaptive embedded Runge–Kutta scheme of Dormand & Prince, order 8
  with 5th- and 3rd-order error estimators (Hairer, Nørsett & Wanner, *Solving ODEs I*),
  with the step-size control of scipy's ``DOP853``. Its Butcher tableau is read from
  scipy at import time, so it is the same tableau scipy uses.
* ``fixed_step``: Euler (order 1) or classical RK4 with a user-chosen dt.

All run entirely in compiled code. Fixed-step runs land exactly on every output
time (a step that would pass one is shortened to end on it); ``dop853`` lands on the
times marked exact and reads the others off its 7th-order dense output. After every
accepted step the state is checked: non-finite entries or a covariance
C = [[Q, R], [Rᵀ, T]] that has left the positive semi-definite cone stop the run.

Each returns (Y, n_out, nfev, status, t_stop): Y (len(t_out), len(y0)) holds the
states at the first n_out output times; status is one of the codes below.
"""
import importlib.util
import math
import os

import numpy as np
from numba import njit

from .rhs import covariance, derivatives, unpack


def _load_dop853_tableau():
    """scipy's DOP853 coefficient module, loaded from its file: importing it the usual way
    runs scipy.integrate's __init__, which costs about 0.6 s at every start-up."""
    scipy_dir = os.path.dirname(importlib.util.find_spec("scipy").origin)
    path = os.path.join(scipy_dir, "integrate", "_ivp", "dop853_coefficients.py")
    spec = importlib.util.spec_from_file_location("_odetheory_dop853_tableau", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_dop = _load_dop853_tableau()

SUCCESS, NONFINITE, NOT_PSD, STEP_FAILURE = 0, 1, 2, 3
STATUS_MESSAGES = {
    SUCCESS: "reached the final time",
    NONFINITE: "the state blew up (an entry became non-finite or exceeded 1e10 in size)",
    NOT_PSD: "the covariance C = [[Q, R], [R^T, T]] left the positive semi-definite cone",
    STEP_FAILURE: "the step size fell below machine precision or the step limit was reached",
}

_NS = _dop.N_STAGES  # 12 stages; stage 13 is the FSAL derivative at the new point
_A = np.ascontiguousarray(_dop.A[:_NS, :_NS])
_B = np.ascontiguousarray(_dop.A[_NS, :_NS])
_C = np.ascontiguousarray(_dop.C[:_NS])
_E3 = np.ascontiguousarray(_dop.E3)
_E5 = np.ascontiguousarray(_dop.E5)
_NS_EXT = _dop.N_STAGES_EXTENDED  # 16: three extra stages for the dense output
_A_FULL = np.ascontiguousarray(_dop.A)
_D = np.ascontiguousarray(_dop.D)
_POWER = _dop.INTERPOLATOR_POWER
_SAFETY, _MIN_FACTOR, _MAX_FACTOR, _EXPONENT = 0.9, 0.2, 10.0, -1.0 / 8.0
# A covariance counts as PSD while its lowest eigenvalue is above −tolerance × (largest
# variance). It must allow for integration error: a K = M student that has learned its
# teacher has an exactly singular C, which the integrator only approximates. dop853 uses
# max(PSD_TOLERANCE, 100·rtol), the fixed-step methods PSD_TOLERANCE_FIXED.
PSD_TOLERANCE, PSD_TOLERANCE_FIXED = 1e-8, 1e-6
BLOWUP = 1e10  # an order parameter this large means the run has diverged


@njit(cache=True)
def state_ok(y, P, psd_tol):
    """(True, SUCCESS) when every |y_i| < BLOWUP and the covariance is PSD within
    psd_tol (relative); otherwise (False, NONFINITE or NOT_PSD)."""
    for x in y:
        if not abs(x) < BLOWUP:  # also catches NaN
            return False, NONFINITE
    K, M, T = P[0], P[1], P[2]
    Q, R, _ = unpack(y, K, M)
    C = covariance(Q, R, T)
    scale = max(1.0, np.max(np.diag(C)))
    if np.linalg.eigvalsh(C)[0] < -psd_tol * scale:
        return False, NOT_PSD
    return True, SUCCESS


@njit(cache=True)
def _rms(x):
    return math.sqrt(np.mean(x * x))


@njit(cache=True)
def _initial_step(y, f, P, rtol, atol):
    """Starting step from the size of y, f and a trial Euler step (Hairer's recipe)."""
    scale = atol + np.abs(y) * rtol
    d0, d1 = _rms(y / scale), _rms(f / scale)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    f1 = derivatives(y + h0 * f, P)
    d2 = _rms((f1 - f) / scale) / h0
    if max(d1, d2) <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / 8.0)
    return min(100.0 * h0, h1)


@njit(cache=True)
def _dop853_step(y, f, h, P, rtol, atol, Ks):
    """One DOP853 step of size h; returns (y_new, f_new, error norm)."""
    Ks[0] = f
    for s in range(1, _NS):
        dy = np.zeros_like(y)
        for j in range(s):
            dy += _A[s, j] * Ks[j]
        Ks[s] = derivatives(y + h * dy, P)
    incr = np.zeros_like(y)
    for j in range(_NS):
        incr += _B[j] * Ks[j]
    y_new = y + h * incr
    f_new = derivatives(y_new, P)
    Ks[_NS] = f_new
    scale = atol + np.maximum(np.abs(y), np.abs(y_new)) * rtol
    err5 = np.zeros_like(y)
    err3 = np.zeros_like(y)
    for j in range(_NS + 1):
        err5 += _E5[j] * Ks[j]
        err3 += _E3[j] * Ks[j]
    err5 /= scale
    err3 /= scale
    n5, n3 = np.sum(err5 * err5), np.sum(err3 * err3)
    if n5 == 0.0 and n3 == 0.0:
        return y_new, f_new, 0.0
    err = abs(h) * n5 / math.sqrt((n5 + 0.01 * n3) * y.shape[0])
    return y_new, f_new, err


@njit(cache=True)
def _dense_coefficients(y_old, f_old, y_new, f_new, h, P, Ks):
    """Coefficients (7, ny) of the 7th-order DOP853 interpolant over the last step.

    Needs the 13 stages of that step in Ks[:13]; evaluates the 3 extra stages.
    """
    for s in range(_NS + 1, _NS_EXT):
        dy = np.zeros_like(y_old)
        for j in range(s):
            dy += _A_FULL[s, j] * Ks[j]
        Ks[s] = derivatives(y_old + h * dy, P)
    ny = y_old.shape[0]
    Fd = np.zeros((_POWER, ny))
    delta = y_new - y_old
    Fd[0] = delta
    Fd[1] = h * f_old - delta
    Fd[2] = 2.0 * delta - h * (f_new + f_old)
    for i in range(_POWER - 3):
        for j in range(_NS_EXT):
            Fd[3 + i] += h * _D[i, j] * Ks[j]
    return Fd


@njit(cache=True)
def _dense_value(Fd, y_old, x):
    """Interpolant at the fraction x in [0, 1] of the step."""
    y = np.zeros_like(y_old)
    for i in range(_POWER):
        y += Fd[_POWER - 1 - i]
        if i % 2 == 0:
            y *= x
        else:
            y *= 1.0 - x
    return y + y_old


@njit(cache=True, nogil=True)
def dop853(y0, t_out, exact, P, rtol, atol, max_steps):
    """Adaptive DOP853 from t_out[0] through every time in t_out (increasing).

    Steps land exactly on the times with exact[i] True (and on the last time); the
    others are read off the 7th-order dense output of the step that covers them,
    whose error is of the order of the tolerance.
    """
    n_out, ny = t_out.shape[0], y0.shape[0]
    Y = np.full((n_out, ny), np.nan)
    Y[0] = y0
    t, y = t_out[0], y0.copy()
    f = derivatives(y, P)
    nfev = 1
    h = _initial_step(y, f, P, rtol, atol)
    nfev += 1
    Ks = np.empty((_NS_EXT, ny))
    i_out, steps, rejected = 1, 0, False
    while i_out < n_out:
        j = i_out  # next time the integrator must land on
        while j < n_out - 1 and not exact[j]:
            j += 1
        gap = t_out[j] - t
        if gap <= 0.0:
            Y[i_out] = y
            i_out += 1
            continue
        landing = h >= gap
        h_try = gap if landing else h
        if h_try < 1e-14 * max(1.0, abs(t)) or steps >= max_steps:
            return Y, i_out, nfev, STEP_FAILURE, t
        y_new, f_new, err = _dop853_step(y, f, h_try, P, rtol, atol, Ks)
        nfev += _NS
        steps += 1
        if math.isfinite(err) and err < 1.0:
            factor = _MAX_FACTOR if err == 0.0 else min(_MAX_FACTOR, _SAFETY * err ** _EXPONENT)
            if rejected:
                factor = min(1.0, factor)
            t_new = t_out[j] if landing else t + h_try
            ok, code = state_ok(y_new, P, max(PSD_TOLERANCE, 100.0 * rtol))
            if not ok:
                return Y, i_out, nfev, code, t_new
            if t_out[i_out] < t_new:  # output times inside this step: dense output
                Fd = _dense_coefficients(y, f, y_new, f_new, h_try, P, Ks)
                nfev += _NS_EXT - _NS - 1
                while i_out < n_out and t_out[i_out] < t_new:
                    Y[i_out] = _dense_value(Fd, y, (t_out[i_out] - t) / h_try)
                    i_out += 1
            t, y, f = t_new, y_new, f_new
            if landing:
                Y[i_out] = y
                i_out += 1
                h = max(h, h_try * factor)  # a step cut short to land keeps its proposal
            else:
                h = h_try * factor
            rejected = False
        else:
            shrink = _MIN_FACTOR if not math.isfinite(err) else max(_MIN_FACTOR, _SAFETY * err ** _EXPONENT)
            h = h_try * shrink
            rejected = True
    return Y, i_out, nfev, SUCCESS, t


@njit(cache=True, nogil=True)
def fixed_step(y0, t_out, P, dt, order):
    """Euler (order 1) or RK4 (order 4) with step dt, landing on each output time.

    Finiteness is checked after every step, the PSD cone at the output times.
    """
    n_out, ny = t_out.shape[0], y0.shape[0]
    Y = np.full((n_out, ny), np.nan)
    Y[0] = y0
    t, y = t_out[0], y0.copy()
    nfev = 0
    i_out = 1
    while i_out < n_out:
        gap = t_out[i_out] - t
        if gap <= 1e-12 * max(1.0, abs(t)):
            t = t_out[i_out]
            Y[i_out] = y
            i_out += 1
            continue
        h = min(dt, gap)
        k1 = derivatives(y, P)
        if order == 1:
            y = y + h * k1
            nfev += 1
        else:
            k2 = derivatives(y + 0.5 * h * k1, P)
            k3 = derivatives(y + 0.5 * h * k2, P)
            k4 = derivatives(y + h * k3, P)
            y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            nfev += 4
        t = t + h
        if not np.all(np.abs(y) < BLOWUP):
            return Y, i_out, nfev, NONFINITE, t
        if h == gap:  # landed on an output time: full check there
            ok, code = state_ok(y, P, PSD_TOLERANCE_FIXED)
            if not ok:
                return Y, i_out, nfev, code, t
    return Y, i_out, nfev, SUCCESS, t
