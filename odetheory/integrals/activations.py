"""Activations as values: name, compiled g, g', g'', oddness and the route their integrals take.

Built-in activations (THEORY.md §1, §9), each with the route of its Gaussian integrals:

    erf       g = erf(x/√2)           closed forms (generated from ``symbolic``)
    relu      g = max(0, x)           closed forms; I4 numerical (``relu_i4``)
    linear    g = x                   closed forms
    tanh      g = tanh(x)             numerical quadrature (``numerical``)
    sigmoid   g = 1/(1 + e^(−x))      numerical quadrature
    softplus  g = log(1 + e^x)        numerical quadrature
    gelu      g = x Φ(x)              numerical quadrature
    he2       g = x² − 1              polynomial: exact Gaussian moments (``polynomial``)
    he3       g = x³ − 3x             polynomial: exact Gaussian moments

Any other expression in x that sympy parses becomes an activation too (``expressions``):
a polynomial takes the polynomial route, anything else numerical quadrature.

Compiled code receives an activation as its integer ``code`` (numba cannot cache a
function that takes another compiled function as an argument, so the kernels and the
SGD loops dispatch on the code instead); ``g(code, x)`` etc. are the scalar functions
behind ``Activation.g``, ``g_values(code, x)`` all three at once. A user expression gets the codes ``USER_STUDENT`` /
``USER_TEACHER`` in compiled copies of those loops bound to its own functions
(``binding``).
"""
import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..errors import InputError

LINEAR, ERF, RELU, TANH, SIGMOID, SOFTPLUS, GELU, HE2, HE3 = range(9)
USER_STUDENT, USER_TEACHER = 100, 101
N_BUILTIN = 9

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# polynomial coefficients c_0..c_3 (g = Σ c_j x^j) of the built-in polynomial activations;
# a row of zeros with POLY_DEGREE[code] = −1 marks an activation that is not a polynomial
POLY_DEGREE = np.array([1, -1, -1, -1, -1, -1, -1, 2, 3], dtype=np.int64)
POLY_COEFFICIENTS = np.zeros((N_BUILTIN, 4))
POLY_COEFFICIENTS[LINEAR, 1] = 1.0
POLY_COEFFICIENTS[HE2, [0, 2]] = (-1.0, 1.0)
POLY_COEFFICIENTS[HE3, [1, 3]] = (-3.0, 1.0)
# half-width of the strip |Im x| < d in which g is analytic (distance of the nearest complex
# singularity from the real axis): it sets the step of the quadrature rule (``numerical``)
STRIP = np.array([np.inf, np.inf, 0.0, math.pi / 2, math.pi, math.pi, np.inf, np.inf, np.inf])


@njit(cache=True)
def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@njit(cache=True)
def g(act, x):
    """Activation g(x) for a scalar x."""
    if act == ERF:
        return math.erf(x / math.sqrt(2.0))
    if act == RELU:
        return x if x > 0.0 else 0.0
    if act == TANH:
        return math.tanh(x)
    if act == SIGMOID:
        return _sigmoid(x)
    if act == SOFTPLUS:
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    if act == GELU:
        return x * 0.5 * math.erfc(-x / math.sqrt(2.0))
    if act == HE2:
        return x * x - 1.0
    if act == HE3:
        return x * (x * x - 3.0)
    return x


@njit(cache=True)
def g_prime(act, x):
    """Derivative g'(x) for a scalar x (ReLU: θ(x) with θ(0) = 0)."""
    if act == ERF:
        return _SQRT_2_OVER_PI * math.exp(-0.5 * x * x)
    if act == RELU:
        return 1.0 if x > 0.0 else 0.0
    if act == TANH:
        t = math.tanh(x)
        return 1.0 - t * t
    if act == SIGMOID or act == SOFTPLUS:
        s = _sigmoid(x)
        return s * (1.0 - s) if act == SIGMOID else s
    if act == GELU:
        return 0.5 * math.erfc(-x / math.sqrt(2.0)) + x * _INV_SQRT_2PI * math.exp(-0.5 * x * x)
    if act == HE2:
        return 2.0 * x
    if act == HE3:
        return 3.0 * x * x - 3.0
    return 1.0


@njit(cache=True)
def g_second(act, x):
    """Second derivative g''(x) for a scalar x (ReLU: 0 away from the δ at x = 0)."""
    if act == ERF:
        return -x * _SQRT_2_OVER_PI * math.exp(-0.5 * x * x)
    if act == TANH:
        t = math.tanh(x)
        return -2.0 * t * (1.0 - t * t)
    if act == SIGMOID or act == SOFTPLUS:
        s = _sigmoid(x)
        return s * (1.0 - s) * (1.0 - 2.0 * s) if act == SIGMOID else s * (1.0 - s)
    if act == GELU:
        return _INV_SQRT_2PI * math.exp(-0.5 * x * x) * (2.0 - x * x)
    if act == HE2:
        return 2.0
    if act == HE3:
        return 6.0 * x
    return 0.0


@njit(cache=True)
def g_values(act, x):
    """(g(x), g'(x), g''(x)) for a scalar x from one evaluation of the costly part (one tanh,
    one exponential): what the quadrature loops call at each node."""
    if act == ERF:
        e = _SQRT_2_OVER_PI * math.exp(-0.5 * x * x)
        return math.erf(x / math.sqrt(2.0)), e, -x * e
    if act == RELU:
        return (x, 1.0, 0.0) if x > 0.0 else (0.0, 0.0, 0.0)
    if act == TANH:
        t = math.tanh(x)
        d = 1.0 - t * t
        return t, d, -2.0 * t * d
    if act == SIGMOID:
        s = _sigmoid(x)
        d = s * (1.0 - s)
        return s, d, d * (1.0 - 2.0 * s)
    if act == SOFTPLUS:
        s = _sigmoid(x)
        return max(x, 0.0) + math.log1p(math.exp(-abs(x))), s, s * (1.0 - s)
    if act == GELU:
        cdf, pdf = 0.5 * math.erfc(-x / math.sqrt(2.0)), _INV_SQRT_2PI * math.exp(-0.5 * x * x)
        return x * cdf, cdf + x * pdf, pdf * (2.0 - x * x)
    if act == HE2:
        return x * x - 1.0, 2.0 * x, 2.0
    if act == HE3:
        return x * (x * x - 3.0), 3.0 * x * x - 3.0, 6.0 * x
    return x, 1.0, 0.0


@njit(cache=True)
def poly_degree(act):
    """Degree of a polynomial activation, −1 for one that is not a polynomial."""
    return POLY_DEGREE[act] if act < N_BUILTIN else -1


@njit(cache=True)
def poly_coefficients(act):
    """Coefficients (4,) c_0..c_3 of a polynomial activation (zeros otherwise)."""
    return POLY_COEFFICIENTS[act] if act < N_BUILTIN else np.zeros(4)


@njit(cache=True)
def affine(act):
    """(base, amplitude, scale) with g(x) = amplitude · base(scale · x) for an activation whose
    integrals have closed forms (base ERF, RELU or LINEAR), (−1, 1, 1) for any other."""
    if act == LINEAR or act == ERF or act == RELU:
        return act, 1.0, 1.0
    return -1, 1.0, 1.0


@njit(cache=True)
def strip(act):
    """Half-width of g's strip of analyticity around the real axis (inf: entire)."""
    return STRIP[act] if act < N_BUILTIN else 1.0


CLOSED_FORM_ROUTE, POLYNOMIAL_ROUTE, NUMERICAL_ROUTE = "closed form", "polynomial", "numerical"


@dataclass(frozen=True)
class Activation:
    """An activation g: its name, compiled-code tag, formula, oddness and the route of its integrals.

    ``closed_forms`` names the integrals with an exact closed form when teacher and
    student share this activation (generated from the sympy derivation into
    ``_generated``; ReLU I4 is numerical, ``relu_i4``). ``expression`` is the sympy-readable
    formula in x; ``source`` holds the generated Python source of g, g', g'' for a user
    expression (None for a built-in, whose functions are the compiled ``g`` above);
    ``coefficients`` the polynomial coefficients c_0.. of a polynomial; ``strip`` the
    half-width of g's strip of analyticity (``STRIP``); ``functions`` the compiled scalar
    (g, g', g'') of a user expression; ``base``, ``amplitude``, ``scale``: g(x) =
    amplitude · base(scale · x) for the code ``base`` of erf, relu or linear (−1: none), which
    gives an expression such as erf(2*x) the closed forms of its base."""

    name: str
    code: int
    formula: str
    odd: bool
    closed_forms: tuple
    route: str
    expression: str
    source: str = field(default=None, compare=False, repr=False)
    coefficients: tuple = ()
    strip: float = math.inf
    functions: tuple = field(default=None, compare=False, repr=False)
    base: int = -1
    amplitude: float = 1.0
    scale: float = 1.0

    @property
    def builtin(self):
        return self.code < N_BUILTIN

    def g(self, x):
        return _scalar(self, 0, x)

    def g_prime(self, x):
        return _scalar(self, 1, x)

    def g_second(self, x):
        return _scalar(self, 2, x)


def _scalar(act, order, x):
    if act.builtin:
        return (g, g_prime, g_second)[order](act.code, float(x))
    return act.functions[order](float(x))


def _builtin(name, code, formula, expression, odd, route, closed=(), coefficients=()):
    return Activation(name, code, formula, odd, closed, route, expression, None, coefficients, float(STRIP[code]),
                      base=code if route == CLOSED_FORM_ROUTE else -1)


BUILTINS = {
    "linear": _builtin("linear", LINEAR, "g(x) = x", "x", True, CLOSED_FORM_ROUTE, ("I2", "J2", "A1", "I3", "I4"),
                       (0.0, 1.0)),
    "erf": _builtin("erf", ERF, "g(x) = erf(x/√2)", "erf(x/sqrt(2))", True, CLOSED_FORM_ROUTE,
                    ("I2", "J2", "A1", "I3", "I4")),
    "relu": _builtin("relu", RELU, "g(x) = max(0, x)", "Max(0, x)", False, CLOSED_FORM_ROUTE, ("I2", "J2", "A1", "I3")),
    "tanh": _builtin("tanh", TANH, "g(x) = tanh(x)", "tanh(x)", True, NUMERICAL_ROUTE),
    "sigmoid": _builtin("sigmoid", SIGMOID, "g(x) = 1/(1 + exp(−x))", "1/(1 + exp(-x))", False, NUMERICAL_ROUTE),
    "softplus": _builtin("softplus", SOFTPLUS, "g(x) = log(1 + exp(x))", "log(1 + exp(x))", False,
                         NUMERICAL_ROUTE),
    "gelu": _builtin("gelu", GELU, "g(x) = x Φ(x)", "x*(1 + erf(x/sqrt(2)))/2", False, NUMERICAL_ROUTE),
    "he2": _builtin("he2", HE2, "g(x) = x² − 1", "x**2 - 1", False, POLYNOMIAL_ROUTE, (), (-1.0, 0.0, 1.0)),
    "he3": _builtin("he3", HE3, "g(x) = x³ − 3x", "x**3 - 3*x", True, POLYNOMIAL_ROUTE, (), (0.0, -3.0, 0.0, 1.0)),
}
# the activations whose integrals are all closed forms when teacher and student share them
CLOSED_FORM = {name: act for name, act in BUILTINS.items() if act.route == CLOSED_FORM_ROUTE}


def builtin_activation(name):
    """The built-in Activation called `name` (an Activation passes through); InputError otherwise."""
    if isinstance(name, Activation):
        return name
    if isinstance(name, str) and name.strip().lower() in BUILTINS:
        return BUILTINS[name.strip().lower()]
    raise InputError(f"unknown activation {name!r}; choose one of {', '.join(BUILTINS)} or an expression in x")


def activation_code(name):
    """Integer code of a built-in activation (name or value); InputError for an unknown one."""
    act = builtin_activation(name)
    if not act.builtin:
        raise InputError(f"activation {act.name!r} is a user expression: it has no built-in code")
    return act.code
