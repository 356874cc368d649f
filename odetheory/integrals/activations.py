"""Activations as values: name, compiled g, g', g'', oddness and the closed forms they have.

    erf:    g(x) = erf(x/√2)          g'(x) = √(2/π) exp(−x²/2)    g''(x) = −x g'(x)
    linear: g(x) = x                  g'(x) = 1                     g''(x) = 0
    relu:   g(x) = max(0, x)          g'(x) = θ(x), θ(0) = 0        g''(x) = δ(x) (0 off x = 0)

Compiled code receives an activation as its integer ``code`` (numba cannot cache a
function that takes another compiled function as an argument, so the kernels and the
SGD loops dispatch on the code at compile time instead); ``g(code, x)`` etc. are the
scalar functions behind ``Activation.g``.
"""
import math
from dataclasses import dataclass

from numba import njit

from ..errors import InputError

LINEAR, ERF, RELU = 0, 1, 2

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


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
def g_second(act, x):
    """Second derivative g''(x) for a scalar x (ReLU: 0 away from the δ at x = 0)."""
    if act == ERF:
        return -x * _SQRT_2_OVER_PI * math.exp(-0.5 * x * x)
    return 0.0


@dataclass(frozen=True)
class Activation:
    """An activation g: its name, compiled-code tag, formula, oddness and closed forms.

    ``closed_forms`` names the integrals with an exact closed form (generated from the
    sympy derivation into ``_generated``); ReLU I4 is numerical (``relu_i4``)."""

    name: str
    code: int
    formula: str
    odd: bool
    closed_forms: tuple

    def g(self, x):
        return g(self.code, float(x))

    def g_prime(self, x):
        return g_prime(self.code, float(x))

    def g_second(self, x):
        return g_second(self.code, float(x))


ACTIVATIONS = {
    "linear": Activation("linear", LINEAR, "g(x) = x", True, ("I2", "J2", "I3", "I4")),
    "erf": Activation("erf", ERF, "g(x) = erf(x/√2)", True, ("I2", "J2", "I3", "I4")),
    "relu": Activation("relu", RELU, "g(x) = max(0, x)", False, ("I2", "J2", "I3")),
}


def activation(name):
    """The Activation called `name` (an Activation passes through); InputError otherwise."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


def activation_code(name):
    """Integer code of an activation (name or value); InputError for an unknown one."""
    return activation(name).code
