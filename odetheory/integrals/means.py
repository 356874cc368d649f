"""Gaussian means of the derivatives of the closed-form bases: μ(m) = E[g^(m)(x)], x ~ N(0, V).

Price's expansion of a pair average (``polynomial``) needs only these means; when the
other field is a polynomial the expansion stops at its degree, so an erf or ReLU field
paired with a polynomial one has an exact average whatever their covariance. For
g = A·f(s·x), μ(m) = A s^m μ_f(m) at variance s² V, with (THEORY.md §9)

    erf    f = erf(x/√2):  μ(0) = 0,  μ(2j + 1) = √(2/π) (−1)^j (2j − 1)!! (1 + V)^(−j − 1/2),
                           μ(2j + 2) = 0   (f^(m)(0) (1 + V)^(−m/2): f' = √(2/π) e^(−x²/2));
    relu   f = max(0, x):  μ(0) = √(V/2π),  μ(1) = 1/2,
                           μ(m ≥ 2) = E[δ^(m−2)(x)] = He_{m−2}(0) V^(−(m−1)/2) / √(2π);
    linear f = x:          μ(1) = 1, all others 0.
"""
import math

from numba import njit

from .activations import ERF, RELU

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@njit(cache=True)
def base_mean(base, var, m):
    """E[f^(m)(x)], x ~ N(0, var), for the base f of code ERF, RELU or LINEAR."""
    if base == ERF:
        if m % 2 == 0:
            return 0.0
        j = (m - 1) // 2
        value = math.sqrt(2.0 / math.pi) / math.sqrt(1.0 + var)
        for i in range(1, j + 1):  # (−1)^j (2j − 1)!! (1 + V)^(−j)
            value *= -(2 * i - 1) / (1.0 + var)
        return value
    if base == RELU:
        if m == 0:
            return math.sqrt(var) * _INV_SQRT_2PI
        if m == 1:
            return 0.5
        k = m - 2
        if k % 2 == 1:
            return 0.0
        value = _INV_SQRT_2PI / math.sqrt(var)  # He_k(0) = (−1)^(k/2) (k − 1)!!
        for i in range(1, k // 2 + 1):
            value *= -(2 * i - 1) / var
        return value
    return 1.0 if m == 1 else 0.0


@njit(cache=True)
def closed_means(base, amplitude, scale, var, shift, out):
    """out[m] = E[g^(m + shift)(x)], x ~ N(0, var), m = 0..len(out) − 1, for g = amplitude · f(scale · x)."""
    factor = amplitude * scale ** shift
    for m in range(out.shape[0]):
        out[m] = factor * base_mean(base, scale * scale * var, m + shift)
        factor *= scale
