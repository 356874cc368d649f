"""Adaptive DOP853 (Dormand & Prince 8(5,3), Hairer, Nørsett & Wanner, *Solving ODEs I*),
with the step-size control of scipy's ``DOP853`` and its 7th-order dense output.

``dop853(fun, check, y0, t_out, exact, args, rtol, atol, max_steps, check_tol, control,
stiff_after)`` integrates dy/dt = fun(t, y, args) from t_out[0] through every time
in t_out (increasing), entirely in compiled code. Steps land exactly on the times with
exact[i] True (and on the last time); the others are read off the dense output of the
step that covers them. After every accepted step ``check(y, args, check_tol)`` must
return SUCCESS, or the run stops with its code; the step writes its time into
control[1] and stops with INTERRUPTED when control[0] > 0 (see ``base.run_controlled``).

Stiffness: once the run has used ``stiff_after`` evaluations (never if negative), the
test of Hairer & Wanner's DOP853 code runs after every accepted step: h·|f(y_new) − f(y_12)| / |y_new − y_12| (y_12 the argument of the
last stage, both at t + h) estimates h|λ| of the dominant eigenvalue; when it exceeds
6.1 (the edge of the method's stability region on the negative real axis) in 15 steps
before 6 steps in a row fall below it, the steps are limited by stability and the run
stops with STIFF.

Returns (Y, n_out, nfev, status, t_stop, y_stop): Y (len(t_out), len(y0)) holds the
states at the first n_out output times; y_stop is the last accepted state, at t_stop.
"""
import math

import numpy as np
from numba import njit

from ...status import INTERRUPTED, STEP_FAILURE, STIFF, SUCCESS
from .dop853_tableau import A, B, C, D, E3, E5, INTERPOLATOR_POWER, N_STAGES, N_STAGES_EXTENDED
from .base import BOOLS, FLOAT, INT, VECTOR, compiled, new_control, rms

_NS = N_STAGES  # 12 stages; stage 13 is the FSAL derivative at the new point
_A = np.ascontiguousarray(A[:_NS, :_NS])
_B = np.ascontiguousarray(B)
_C = np.ascontiguousarray(C)
_E3 = np.ascontiguousarray(E3)
_E5 = np.ascontiguousarray(E5)
_NS_EXT = N_STAGES_EXTENDED  # 16: three extra stages for the dense output
_A_FULL = np.ascontiguousarray(A)
_D = np.ascontiguousarray(D)
_POWER = INTERPOLATOR_POWER
_SAFETY, _MIN_FACTOR, _MAX_FACTOR, _EXPONENT = 0.9, 0.2, 10.0, -1.0 / 8.0
_STIFF_HLAMBDA, _STIFF_COUNT, _NONSTIFF_COUNT = 6.1, 15, 6  # Hairer & Wanner's DOP853 values


@njit
def _initial_step(fun, t, y, f, args, rtol, atol):
    """Starting step from the size of y, f and a trial Euler step (Hairer's recipe)."""
    scale = atol + np.abs(y) * rtol
    d0, d1 = rms(y / scale), rms(f / scale)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    f1 = fun(t + h0, y + h0 * f, args)
    d2 = rms((f1 - f) / scale) / h0
    if max(d1, d2) <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / 8.0)
    return min(100.0 * h0, h1)


@njit
def _step(fun, t, y, f, h, args, rtol, atol, Ks):
    """One DOP853 step of size h; returns (y_new, f_new, error norm, h|λ| estimate)."""
    Ks[0] = f
    y_last = y
    for s in range(1, _NS):
        dy = np.zeros_like(y)
        for j in range(s):
            dy += _A[s, j] * Ks[j]
        y_last = y + h * dy
        Ks[s] = fun(t + _C[s] * h, y_last, args)
    incr = np.zeros_like(y)
    for j in range(_NS):
        incr += _B[j] * Ks[j]
    y_new = y + h * incr
    f_new = fun(t + h, y_new, args)
    Ks[_NS] = f_new
    den = np.sum((y_new - y_last) ** 2)
    h_lambda = abs(h) * math.sqrt(np.sum((f_new - Ks[_NS - 1]) ** 2) / den) if den > 0.0 else 0.0
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
        return y_new, f_new, 0.0, h_lambda
    err = abs(h) * n5 / math.sqrt((n5 + 0.01 * n3) * y.shape[0])
    return y_new, f_new, err, h_lambda


@njit
def _dense_coefficients(fun, t, y_old, f_old, y_new, f_new, h, args, Ks):
    """Coefficients (7, ny) of the 7th-order interpolant over the last step.

    Needs the 13 stages of that step in Ks[:13]; evaluates the 3 extra stages.
    """
    for s in range(_NS + 1, _NS_EXT):
        dy = np.zeros_like(y_old)
        for j in range(s):
            dy += _A_FULL[s, j] * Ks[j]
        Ks[s] = fun(t + _C[s] * h, y_old + h * dy, args)
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


@njit
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


def _dop853(fun, check, y0, t_out, exact, args, rtol, atol, max_steps, check_tol, control, stiff_after):
    n_out, ny = t_out.shape[0], y0.shape[0]
    Y = np.full((n_out, ny), np.nan)
    Y[0] = y0
    t, y = t_out[0], y0.copy()
    f = fun(t, y, args)
    nfev = 1
    h = _initial_step(fun, t, y, f, args, rtol, atol)
    nfev += 1
    Ks = np.empty((_NS_EXT, ny))
    i_out, steps, rejected = 1, 0, False
    stiff_steps, nonstiff_steps = 0, 0
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
            return Y, i_out, nfev, STEP_FAILURE, t, y
        if control[0] > 0.0:
            return Y, i_out, nfev, INTERRUPTED, t, y
        y_new, f_new, err, h_lambda = _step(fun, t, y, f, h_try, args, rtol, atol, Ks)
        nfev += _NS
        steps += 1
        if math.isfinite(err) and err < 1.0:
            factor = _MAX_FACTOR if err == 0.0 else min(_MAX_FACTOR, _SAFETY * err ** _EXPONENT)
            if rejected:
                factor = min(1.0, factor)
            t_new = t_out[j] if landing else t + h_try
            code = check(y_new, args, check_tol)
            if code != SUCCESS:
                return Y, i_out, nfev, code, t_new, y_new
            if t_out[i_out] < t_new:  # output times inside this step: dense output
                Fd = _dense_coefficients(fun, t, y, f, y_new, f_new, h_try, args, Ks)
                nfev += _NS_EXT - _NS - 1
                while i_out < n_out and t_out[i_out] < t_new:
                    Y[i_out] = _dense_value(Fd, y, (t_out[i_out] - t) / h_try)
                    i_out += 1
            t, y, f = t_new, y_new, f_new
            control[1] = t
            if landing:
                Y[i_out] = y
                i_out += 1
                h = max(h, h_try * factor)  # a step cut short to land keeps its proposal
            else:
                h = h_try * factor
            rejected = False
            if 0 <= stiff_after <= nfev and i_out < n_out:
                if h_lambda > _STIFF_HLAMBDA:
                    nonstiff_steps = 0
                    stiff_steps += 1
                    if stiff_steps == _STIFF_COUNT:
                        return Y, i_out, nfev, STIFF, t, y
                else:
                    nonstiff_steps += 1
                    if nonstiff_steps == _NONSTIFF_COUNT:
                        stiff_steps = 0
        else:
            shrink = _MIN_FACTOR if not math.isfinite(err) else max(_MIN_FACTOR, _SAFETY * err ** _EXPONENT)
            h = h_try * shrink
            rejected = True
    return Y, i_out, nfev, SUCCESS, t, y


_KINDS = ("fun", "check", VECTOR, VECTOR, BOOLS, "args", FLOAT, FLOAT, INT, FLOAT, VECTOR, INT)


def dop853(fun, check, y0, t_out, exact, args, rtol, atol, max_steps, check_tol, control=None, stiff_after=-1):
    """See the module docstring; compiled once per type of ``args`` (and cached on disk).

    control: float64 array (2,) shared with the caller (``base.new_control()`` if None)."""
    run = compiled(_dop853, _KINDS, args)
    return run(fun, check, np.ascontiguousarray(y0, dtype=float), np.ascontiguousarray(t_out, dtype=float),
               np.ascontiguousarray(exact, dtype=np.bool_), args, float(rtol), float(atol), int(max_steps),
               float(check_tol), new_control() if control is None else control, int(stiff_after))
