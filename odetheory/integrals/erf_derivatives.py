"""Averages of derivatives of two erf-type fields, and the η² average of a polynomial student
over two erf-type fields (THEORY.md §9).

For f = A·erf(s·x/√2), f^(m)(x) = A s^m √(2/π) (−1)^(m−1) He_{m−1}(s x) e^(−s²x²/2) (m ≥ 1):
a Hermite polynomial times a Gaussian factor, which ``reweight`` moves into the covariance.
So E[f^(i)(c) h^(j)(d)] is a polynomial average on C' when i, j ≥ 1, a Price series that
stops at the polynomial's degree when one of them is 0, and the closed I2 when both are.

A polynomial student with erf-type c and d: Price's expansion in the covariances of the
edges that touch a or b (finite: g' is a polynomial) leaves, for each term, the 2-field
average above with C_cd kept whole:

    E[g'(a) g'(b) f(c) h(d)] = Σ Π_{e ∋ a or b} C_e^(n_e)/n_e! μ_a(n_ab + n_ac + n_ad)
                               μ_b(n_ab + n_bc + n_bd) E[f^(n_ac + n_bc)(c) h^(n_ad + n_bd)(d)].
"""
import math

import numpy as np
from numba import njit

from ._generated import i2
from .activations import ERF
from .means import base_mean

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@njit(cache=True)
def _hermite_mean(k, var):
    """E[He_k(u)], u ~ N(0, var): (k − 1)!! (var − 1)^(k/2) for even k, 0 for odd."""
    if k % 2 == 1:
        return 0.0
    value = 1.0
    for i in range(1, k // 2 + 1):
        value *= (2 * i - 1) * (var - 1.0)
    return value


@njit(cache=True)
def _hermite_derivative_mean(p, n, var):
    """E[d^n/du^n He_p(u)] = p!/(p − n)! E[He_{p−n}(u)], u ~ N(0, var)."""
    if n > p:
        return 0.0
    falling = 1.0
    for m in range(p - n + 1, p + 1):
        falling *= m
    return falling * _hermite_mean(p - n, var)


@njit(cache=True)
def _factor(i, A, s):
    """The constant of f^(i) = constant · He_{i−1}(s x) e^(−s²x²/2), i ≥ 1."""
    return A * s ** i * _SQRT_2_OVER_PI * (-1.0 if i % 2 == 0 else 1.0)


@njit(cache=True)
def pair_average(i, j, A_c, s_c, A_d, s_d, C_cc, C_dd, C_cd):
    """E[f^(i)(c) h^(j)(d)] for f = A_c erf(s_c x/√2), h = A_d erf(s_d x/√2)."""
    if i == 0 and j == 0:
        return A_c * A_d * i2(ERF, s_c * s_c * C_cc, s_d * s_d * C_dd, s_c * s_d * C_cd)
    if i == 0:  # put the differentiated field first
        return pair_average(j, i, A_d, s_d, A_c, s_c, C_dd, C_cc, C_cd)
    # ``reweight`` for two fields, written out: C' = C (I + W C)⁻¹, W = diag(w_c, w_d)
    w_c, w_d = s_c * s_c, (s_d * s_d if j > 0 else 0.0)
    det = (1.0 + w_c * C_cc) * (1.0 + w_d * C_dd) - w_c * w_d * C_cd * C_cd
    Cp_cc = (C_cc * (1.0 + w_d * C_dd) - w_d * C_cd * C_cd) / det
    Cp_dd = (C_dd * (1.0 + w_c * C_cc) - w_c * C_cd * C_cd) / det
    Cp_cd = C_cd / det
    factor = _factor(i, A_c, s_c) / math.sqrt(det)
    # Price's series in C'_cd: the He_{i−1}(s_c c) side stops it at degree i − 1
    total, power = 0.0, 1.0
    for n in range(i):
        left = s_c ** n * _hermite_derivative_mean(i - 1, n, s_c * s_c * Cp_cc)
        if j > 0:
            right = s_d ** n * _hermite_derivative_mean(j - 1, n, s_d * s_d * Cp_dd)
        else:
            right = A_d * s_d ** n * base_mean(ERF, s_d * s_d * Cp_dd, n)
        total += power * left * right
        power *= Cp_cd / (n + 1)
    if j > 0:
        factor *= _factor(j, A_d, s_d)
    return factor * total


@njit(cache=True)
def i4(mu_a, da, mu_b, db, C4, A_c, s_c, A_d, s_d):
    """E[g'(a) g'(b) f(c) h(d)] for a polynomial g' (derivative means mu_a, mu_b at C4[0, 0],
    C4[1, 1]; degrees da, db) and erf-type f, h; C4 (4, 4) the covariance of (a, b, c, d)."""
    ab, ac, ad, bc, bd = C4[0, 1], C4[0, 2], C4[0, 3], C4[1, 2], C4[1, 3]
    table = np.full((da + db + 1, da + db + 1), np.nan)  # E[f^(i)(c) h^(j)(d)], filled when first needed
    total = 0.0
    p_ab = 1.0
    for n_ab in range(min(da, db) + 1):
        p_ac = p_ab
        for n_ac in range(da - n_ab + 1):
            p_ad = p_ac
            for n_ad in range(da - n_ab - n_ac + 1):
                m_a = mu_a[n_ab + n_ac + n_ad]
                if m_a != 0.0:
                    p_bc = p_ad * m_a
                    for n_bc in range(db - n_ab + 1):
                        p_bd = p_bc
                        for n_bd in range(db - n_ab - n_bc + 1):
                            m_b = mu_b[n_ab + n_bc + n_bd]
                            if m_b != 0.0:
                                i, j = n_ac + n_bc, n_ad + n_bd
                                if np.isnan(table[i, j]):
                                    table[i, j] = pair_average(i, j, A_c, s_c, A_d, s_d, C4[2, 2], C4[3, 3], C4[2, 3])
                                total += p_bd * m_b * table[i, j]
                            p_bd *= bd / (n_bd + 1)
                        p_bc *= bc / (n_bc + 1)
                p_ad *= ad / (n_ad + 1)
            p_ac *= ac / (n_ac + 1)
        p_ab *= ab / (n_ab + 1)
    return total
