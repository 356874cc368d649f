"""Activation functions g, their derivatives g', and the integer codes the kernels use.

    erf:    g(x) = erf(x/√2)          g'(x) = √(2/π) exp(−x²/2)
    linear: g(x) = x                  g'(x) = 1
    relu:   g(x) = max(0, x)          g'(x) = θ(x), with θ(0) = 0
"""
import math

import numpy as np
from numba import njit

from .errors import InputError

LINEAR, ERF, RELU = 0, 1, 2
ACTIVATIONS = {"linear": LINEAR, "erf": ERF, "relu": RELU}

BP, DFA, SIGN = 0, 1, 2
RULES = {"bp": BP, "dfa": DFA, "sign": SIGN}

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def activation_code(name):
    """Integer code of an activation name; InputError for an unknown one."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


def rule_code(name):
    """Integer code of a learning rule name (bp, dfa, sign); InputError otherwise."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown rule {name!r}; choose one of {', '.join(RULES)}") from None


@njit(cache=True)
def g(act, x):
    """Activation g(x) for a scalar x."""
    if act == ERF:
        return math.erf(x / math.sqrt(2.0))
    if act == RELU:
        return x if x > 0.0 else 0.0
    return x


@njit(cache=True)
def g_prime(act, x):
    """Derivative g'(x) for a scalar x (ReLU: θ(x) with θ(0) = 0)."""
    if act == ERF:
        return _SQRT_2_OVER_PI * math.exp(-0.5 * x * x)
    if act == RELU:
        return 1.0 if x > 0.0 else 0.0
    return 1.0


@njit(cache=True)
def feedback(rule, v, F):
    """Feedback f (K,) that scales each unit's first-layer update: v (BP), F (DFA), sign(v)."""
    if rule == BP:
        return v.copy()
    if rule == DFA:
        return F.copy()
    return np.sign(v)
