"""The Gaussian averages the right-hand side needs, each by the route its activations allow.

    pair(sa, tb, C_aa, C_bb, C_ab) -> (E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)])
        a a student field (activation code sa), b any field (code tb); with Stein's lemma
        these give I2, J2 and I3(a, ·, b) = C_a· E[g''(a) h(b)] + C_·b E[g'(a) h'(b)].
    field_i2(ta, tb, C_aa, C_bb, C_ab) -> E[g_a(a) g_b(b)] for any two fields.
    i4(s, tc, td, C, a, b, c, d) -> E[g'(a) g'(b) h_c(c) h_d(d)] (a, b student fields).
    eta2_sum(codes, C, u, k, l) -> Σ_cd u_c u_d I4(k, l, c, d), the η² term of dQ_kl.

Routes (THEORY.md §9), decided from the codes: the closed forms generated from the
sympy derivation when all activations involved are erf, relu or linear at any amplitude
and scale, the same base for all (``_generated``, on the covariance of the scaled fields;
ReLU I4 numerical in ``relu_i4``); exact Gaussian moments when all are
polynomials (``polynomial``); compiled quadrature otherwise (``numerical``).
"""
import numpy as np
from numba import njit

from ._generated import a1, i2, i4 as closed_i4, j2
from .numerical import field_i2 as numerical_field_i2, i4 as numerical_i4, pair as numerical_pair
from .polynomial import MAX_TERMS, average2 as polynomial_average2, eta2_sum as polynomial_eta2_sum, \
    i4 as polynomial_i4, pair as polynomial_pair
from .activations import affine, poly_coefficients, poly_degree


@njit(cache=True)
def closed(act):
    """True for the activations with closed forms when every field shares their base
    (erf, relu or linear, at any amplitude and scale: ``activations.affine``)."""
    return affine(act)[0] >= 0


@njit(cache=True)
def _scaled(C_aa, C_bb, C_ab, s_a, s_b):
    return s_a * s_a * C_aa, s_b * s_b * C_bb, s_a * s_b * C_ab


@njit(cache=True)
def _coefficients(act):
    c = poly_coefficients(act)
    return c[:poly_degree(act) + 1]


@njit(cache=True)
def pair(sa, tb, C_aa, C_bb, C_ab):
    """(E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)]), see the module docstring."""
    base, A_a, s_a = affine(sa)
    base_b, A_b, s_b = affine(tb)
    if base >= 0 and base == base_b:  # g = A_a f(s_a x), h = A_b f(s_b x): f's closed forms
        C = _scaled(C_aa, C_bb, C_ab, s_a, s_b)
        return (A_a * A_b * i2(base, *C), A_a * s_a * s_a * A_b * a1(base, *C),
                A_a * s_a * A_b * s_b * j2(base, *C))
    if poly_degree(sa) >= 0 and poly_degree(tb) >= 0:
        return polynomial_pair(_coefficients(sa), _coefficients(tb), C_aa, C_bb, C_ab)
    return numerical_pair(sa, tb, C_aa, C_bb, C_ab)


@njit(cache=True)
def field_i2(ta, tb, C_aa, C_bb, C_ab):
    """E[g_a(a) g_b(b)] for fields with activations ta, tb."""
    base, A_a, s_a = affine(ta)
    base_b, A_b, s_b = affine(tb)
    if base >= 0 and base == base_b:
        return A_a * A_b * i2(base, *_scaled(C_aa, C_bb, C_ab, s_a, s_b))
    if poly_degree(ta) >= 0 and poly_degree(tb) >= 0:
        return polynomial_average2(_coefficients(ta), _coefficients(tb), C_aa, C_bb, C_ab)
    return numerical_field_i2(ta, tb, C_aa, C_bb, C_ab)


@njit(cache=True)
def i4(s, tc, td, C, a, b, c, d):
    """E[g'(a) g'(b) h_c(c) h_d(d)], see the module docstring."""
    base, A, scale = affine(s)
    base_c, A_c, s_c = affine(tc)
    base_d, A_d, s_d = affine(td)
    if base >= 0 and base == base_c and base == base_d:
        if A == A_c == A_d == 1.0 and scale == s_c == s_d == 1.0:
            return closed_i4(base, C, a, b, c, d)
        idx, scales = (a, b, c, d), (scale, scale, s_c, s_d)
        C4 = np.empty((4, 4))
        for i in range(4):
            for j in range(4):
                C4[i, j] = scales[i] * scales[j] * C[idx[i], idx[j]]
        return A * scale * A * scale * A_c * A_d * closed_i4(base, C4, 0, 1, 2, 3)
    if poly_degree(s) >= 0 and poly_degree(tc) >= 0 and poly_degree(td) >= 0:
        return polynomial_i4(_coefficients(s), _coefficients(tc), _coefficients(td), C, a, b, c, d)
    return numerical_i4(s, tc, td, C, a, b, c, d)


@njit(cache=True)
def eta2_sum(codes, C, u, k, l):
    """Σ_cd u_c u_d I4(k, l, c, d) over all fields c, d (codes: the activation of each field);
    the route is decided once when every field has the same closed-form base (at any
    amplitude and scale), or when all are polynomials."""
    n = u.shape[0]
    base = affine(codes[k])[0]
    same, unit, polynomials = base >= 0, True, True
    for c in range(n):
        b, A, scale = affine(codes[c])
        same, unit = same and b == base, unit and A == 1.0 and scale == 1.0
        polynomials = polynomials and poly_degree(codes[c]) >= 0
    if same:  # one closed-form base: in the scaled fields s_c x_c, with weights u_c A_c
        factor, Cs, us = 1.0, C, u
        if not unit:
            Cs, us = np.empty_like(C), np.empty_like(u)
            for c in range(n):
                _, A, s_c = affine(codes[c])
                us[c] = u[c] * A
                for d in range(n):
                    Cs[c, d] = s_c * affine(codes[d])[2] * C[c, d]
            _, A, scale = affine(codes[k])
            factor = (A * scale) ** 2
        total = 0.0
        for c in range(n):
            total += us[c] * us[c] * closed_i4(base, Cs, k, l, c, c)
            for d in range(c + 1, n):
                total += 2.0 * us[c] * us[d] * closed_i4(base, Cs, k, l, c, d)
        return factor * total
    if polynomials:
        coefficients, degrees = np.zeros((n, MAX_TERMS)), np.empty(n, dtype=np.int64)
        for c in range(n):
            degrees[c] = poly_degree(codes[c])
            coefficients[c, :degrees[c] + 1] = _coefficients(codes[c])
        return polynomial_eta2_sum(coefficients, degrees, C, u, k, l)
    total = 0.0
    for c in range(n):
        total += u[c] * u[c] * i4(codes[k], codes[c], codes[c], C, k, l, c, c)
        for d in range(c + 1, n):
            total += 2.0 * u[c] * u[d] * i4(codes[k], codes[c], codes[d], C, k, l, c, d)
    return total
