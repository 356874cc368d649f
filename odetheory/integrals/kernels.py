"""Compiled Gaussian integrals I2, J2, I3, I4 (THEORY.md §2, §4).

The local fields are jointly Gaussian with zero mean and covariance C. Each kernel
takes the activation code first (see ``activations``). I2, J2 and I3 take the
covariance entries they need; I4 takes the full covariance matrix C (n, n) and four
field indices, so that exactly repeated fields can be recognised.

    I2(a,b)     = E[g(a) g(b)]
    J2(a,b)     = E[g'(a) g'(b)]
    I3(a,b,c)   = E[g'(a) b g(c)]
    I4(a,b,c,d) = E[g'(a) g'(b) g(c) g(d)]

These closed forms are checked against the sympy derivation in ``symbolic`` and
against Monte Carlo averages in the tests. ReLU I4 lives in ``relu_i4``.
"""
import math

from numba import njit

from .activations import ERF, RELU
from .relu_i4 import relu_i4

_TWO_OVER_PI = 2.0 / math.pi
_FOUR_OVER_PI2 = 4.0 / math.pi**2


@njit(cache=True)
def _clip1(x):
    """Clip a correlation to [-1, 1] (rounding can push it just outside)."""
    return min(1.0, max(-1.0, x))


@njit(cache=True)
def _corr(caa, cbb, cab):
    """Correlation coefficient; 0 when either field has zero variance."""
    s = caa * cbb
    if s <= 0.0:
        return 0.0
    return _clip1(cab / math.sqrt(s))


@njit(cache=True)
def i2(act, caa, cbb, cab):
    """E[g(a) g(b)]."""
    if act == ERF:
        return _TWO_OVER_PI * math.asin(_clip1(cab / math.sqrt((1.0 + caa) * (1.0 + cbb))))
    if act == RELU:
        if caa <= 0.0 or cbb <= 0.0:
            return 0.0
        rho = _corr(caa, cbb, cab)
        return math.sqrt(caa * cbb) / (2.0 * math.pi) * (
            math.sqrt(1.0 - rho * rho) + rho * (math.pi - math.acos(rho)))
    return cab


@njit(cache=True)
def j2(act, caa, cbb, cab):
    """E[g'(a) g'(b)]."""
    if act == ERF:
        return _TWO_OVER_PI / math.sqrt((1.0 + caa) * (1.0 + cbb) - cab * cab)
    if act == RELU:
        if caa <= 0.0 or cbb <= 0.0:
            return 0.0
        return 0.25 + math.asin(_corr(caa, cbb, cab)) / (2.0 * math.pi)
    return 1.0


@njit(cache=True)
def i3(act, caa, cbb, ccc, cab, cac, cbc):
    """E[g'(a) b g(c)]: the middle field b enters linearly."""
    if act == ERF:
        lam3 = (1.0 + caa) * (1.0 + ccc) - cac * cac
        return _TWO_OVER_PI / math.sqrt(lam3) * (cbc * (1.0 + caa) - cab * cac) / (1.0 + caa)
    if act == RELU:
        if caa <= 0.0 or ccc <= 0.0:
            return 0.0
        det = max(0.0, caa * ccc - cac * cac)
        return (cab * math.sqrt(det) / (2.0 * math.pi * caa)
                + cbc * (0.25 + math.asin(_corr(caa, ccc, cac)) / (2.0 * math.pi)))
    return cbc


@njit(cache=True)
def i4(act, C, a, b, c, d):
    """E[g'(a) g'(b) g(c) g(d)] for fields a, b, c, d (indices into C, may repeat)."""
    if act == ERF:
        caa, cbb, cab = C[a, a], C[b, b], C[a, b]
        cac, cad, cbc, cbd = C[a, c], C[a, d], C[b, c], C[b, d]
        lam4 = (1.0 + caa) * (1.0 + cbb) - cab * cab
        lam0 = (lam4 * C[c, d] - cbc * cbd * (1.0 + caa) - cac * cad * (1.0 + cbb)
                + cab * cac * cbd + cab * cad * cbc)
        lam1 = (lam4 * (1.0 + C[c, c]) - cbc * cbc * (1.0 + caa) - cac * cac * (1.0 + cbb)
                + 2.0 * cab * cac * cbc)
        lam2 = (lam4 * (1.0 + C[d, d]) - cbd * cbd * (1.0 + caa) - cad * cad * (1.0 + cbb)
                + 2.0 * cab * cad * cbd)
        return _FOUR_OVER_PI2 / math.sqrt(lam4) * math.asin(_clip1(lam0 / math.sqrt(lam1 * lam2)))
    if act == RELU:
        return relu_i4(C, a, b, c, d)
    return C[c, d]
