"""The Gaussian averages the right-hand side needs, each by the route its activations allow.

    pair(sa, tb, C_aa, C_bb, C_ab) -> (E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)])
        a a student field (activation code sa), b any field (code tb); with Stein's lemma
        these give I2, J2 and I3(a, ·, b) = C_a· E[g''(a) h(b)] + C_·b E[g'(a) h'(b)].
    field_i2(ta, tb, C_aa, C_bb, C_ab) -> E[g_a(a) g_b(b)] for any two fields.
    i4(s, tc, td, C, a, b, c, d) -> E[g'(a) g'(b) h_c(c) h_d(d)] (a, b student fields).
    eta2_sum(codes, C, u, k, l) -> Σ_cd u_c u_d I4(k, l, c, d), the η² term of dQ_kl.

Routes (THEORY.md §9), decided from the codes: the closed forms generated from the
sympy derivation when all activations involved are the same erf, relu or linear
(``_generated``; ReLU I4 numerical in ``relu_i4``); exact Gaussian moments when all are
polynomials (``polynomial``); compiled quadrature otherwise (``numerical``).
"""
from numba import njit

from ._generated import a1, i2, i4 as closed_i4, j2
from .numerical import field_i2 as numerical_field_i2, i4 as numerical_i4, pair as numerical_pair
from .polynomial import average2 as polynomial_average2, i4 as polynomial_i4, pair as polynomial_pair
from .activations import ERF, LINEAR, RELU, poly_coefficients, poly_degree


@njit(cache=True)
def closed(act):
    """True for the activations with closed forms when every field shares them."""
    return act == LINEAR or act == ERF or act == RELU


@njit(cache=True)
def _coefficients(act):
    c = poly_coefficients(act)
    return c[:poly_degree(act) + 1]


@njit(cache=True)
def pair(sa, tb, C_aa, C_bb, C_ab):
    """(E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)]), see the module docstring."""
    if sa == tb and closed(sa):
        return i2(sa, C_aa, C_bb, C_ab), a1(sa, C_aa, C_bb, C_ab), j2(sa, C_aa, C_bb, C_ab)
    if poly_degree(sa) >= 0 and poly_degree(tb) >= 0:
        return polynomial_pair(_coefficients(sa), _coefficients(tb), C_aa, C_bb, C_ab)
    return numerical_pair(sa, tb, C_aa, C_bb, C_ab)


@njit(cache=True)
def field_i2(ta, tb, C_aa, C_bb, C_ab):
    """E[g_a(a) g_b(b)] for fields with activations ta, tb."""
    if ta == tb and closed(ta):
        return i2(ta, C_aa, C_bb, C_ab)
    if poly_degree(ta) >= 0 and poly_degree(tb) >= 0:
        return polynomial_average2(_coefficients(ta), _coefficients(tb), C_aa, C_bb, C_ab)
    return numerical_field_i2(ta, tb, C_aa, C_bb, C_ab)


@njit(cache=True)
def i4(s, tc, td, C, a, b, c, d):
    """E[g'(a) g'(b) h_c(c) h_d(d)], see the module docstring."""
    if s == tc and s == td and closed(s):
        return closed_i4(s, C, a, b, c, d)
    if poly_degree(s) >= 0 and poly_degree(tc) >= 0 and poly_degree(td) >= 0:
        return polynomial_i4(_coefficients(s), _coefficients(tc), _coefficients(td), C, a, b, c, d)
    return numerical_i4(s, tc, td, C, a, b, c, d)


@njit(cache=True)
def eta2_sum(codes, C, u, k, l):
    """Σ_cd u_c u_d I4(k, l, c, d) over all fields c, d (codes: the activation of each field);
    the route is decided once when every field shares a closed-form activation."""
    n = u.shape[0]
    same = closed(codes[k])
    for c in range(n):
        same = same and codes[c] == codes[k]
    total = 0.0
    if same:
        act = codes[k]
        for c in range(n):
            total += u[c] * u[c] * closed_i4(act, C, k, l, c, c)
            for d in range(c + 1, n):
                total += 2.0 * u[c] * u[d] * closed_i4(act, C, k, l, c, d)
        return total
    for c in range(n):
        total += u[c] * u[c] * i4(codes[k], codes[c], codes[c], C, k, l, c, c)
        for d in range(c + 1, n):
            total += 2.0 * u[c] * u[d] * i4(codes[k], codes[c], codes[d], C, k, l, c, d)
    return total
