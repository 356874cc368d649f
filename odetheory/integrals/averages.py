"""The Gaussian averages the right-hand side needs, each by the route its activations allow.

    pair(sa, tb, C_aa, C_bb, C_ab) -> (E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)])
        a a student field (activation code sa), b any field (code tb); with Stein's lemma
        these give I2, J2 and I3(a, ·, b) = C_a· E[g''(a) h(b)] + C_·b E[g'(a) h'(b)].
    field_i2(ta, tb, C_aa, C_bb, C_ab) -> E[g_a(a) g_b(b)] for any two fields.
    i4(s, tc, td, C, a, b, c, d) -> E[g'(a) g'(b) h_c(c) h_d(d)] (a, b student fields).
    eta2_sum(codes, C, u, k, l) -> Σ_cd u_c u_d I4(k, l, c, d), the η² term of dQ_kl;
    eta2_sums(codes, C, u, K) -> all of them (K, K), per-field work shared between pairs.

Routes (THEORY.md §9), decided from the codes: the closed forms generated from the
sympy derivation when all activations involved are erf, relu or linear at any amplitude
and scale, the same base for all (``_generated``, on the covariance of the scaled fields;
ReLU I4 numerical in ``relu_i4``); Price's expansion, exact, when all are polynomials
(``polynomial``), for a pair of a polynomial with an erf- or ReLU-type field (the series
stops at the polynomial's degree; derivative means in ``means``) and for an erf-type
field beside a ReLU-type one (all terms beyond the first vanish by parity), and for the η² average
of a polynomial student over polynomial and erf-type fields (over two erf-type fields by
``erf_derivatives``); the η² average over ReLU-type and polynomial fields, not all of one kind,
as steps times polynomials by Stein's lemma down to orthant probabilities (``orthant``, exact,
while at most three distinct steps remain); for an erf-type student beside any other activation, its Gaussian
factor g' absorbed into the covariance (``reweight``) turns the η² average into a 2-field
one, taken by that pair's route; compiled quadrature otherwise (``numerical``), the η² sum of
smooth activations on it by one 2-d rule over the student pair and Mehler's series (``mehler``).
"""
import math

import numpy as np
from numba import njit

from ._generated import a1, i2, i4 as closed_i4, j2
from .activations import ERF, RELU, affine, poly_coefficients, poly_degree
from .erf_derivatives import i4 as erf_pair_i4
from .means import closed_means
from .mehler import eta2_sum as mehler_eta2_sum
from .orthant import MAX_DEGREE as ORTHANT_MAX_DEGREE, average as orthant_average
from .numerical import field_i2 as numerical_field_i2, i4 as numerical_i4, pair as numerical_pair
from .polynomial import MAX_TERMS, derivative_means, eta2_sum as polynomial_eta2_sum, \
    eta2_sums as polynomial_eta2_sums, i4 as polynomial_i4, series4, series_pair
from .reweight import absorb

_WIDTH = 3 * MAX_TERMS  # derivative means kept for a field that is not a polynomial
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


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
def _means(act, var, shift, out):
    """out[m] = E[g^(m + shift)(x)], x ~ N(0, var), for a polynomial or closed-base g (out
    zeros, length _WIDTH); returns the degree of g^(shift), or _WIDTH − 1 for a non-polynomial."""
    if poly_degree(act) >= 0:
        return derivative_means(_coefficients(act), var, shift, out)
    base, A, s = affine(act)
    closed_means(base, A, s, var, shift, out)
    return _WIDTH - 1


@njit(cache=True)
def _price(sa, tb):
    """True when Price's expansion of a pair average stops: one activation a polynomial and
    the other a polynomial or of a closed-form base; or one erf-type and the other relu-type
    (erf's derivative means vanish at even orders, relu's at odd orders from 3 on, so no
    term beyond C_ab^1 survives)."""
    pa, pb = poly_degree(sa) >= 0, poly_degree(tb) >= 0
    ba, bb = affine(sa)[0], affine(tb)[0]
    if not (pa or pb):
        return (ba == ERF and bb == RELU) or (ba == RELU and bb == ERF)
    return (pa or ba >= 0) and (pb or bb >= 0)


@njit(cache=True)
def _price_pair(sa, tb, C_aa, C_bb, C_ab):
    mu = np.zeros((2, _WIDTH))
    da, db = _means(sa, C_aa, 0, mu[0]), _means(tb, C_bb, 0, mu[1])
    if poly_degree(sa) < 0 and poly_degree(tb) < 0:  # erf beside relu: the terms n ≤ 1 (``_price``)
        da = db = 3
    return series_pair(mu[0], da, mu[1], db, C_ab)


@njit(cache=True)
def pair(sa, tb, C_aa, C_bb, C_ab):
    """(E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)]), see the module docstring."""
    base, A_a, s_a = affine(sa)
    base_b, A_b, s_b = affine(tb)
    if base >= 0 and base == base_b:  # g = A_a f(s_a x), h = A_b f(s_b x): f's closed forms
        C = _scaled(C_aa, C_bb, C_ab, s_a, s_b)
        return (A_a * A_b * i2(base, *C), A_a * s_a * s_a * A_b * a1(base, *C),
                A_a * s_a * A_b * s_b * j2(base, *C))
    if _price(sa, tb):
        return _price_pair(sa, tb, C_aa, C_bb, C_ab)
    return numerical_pair(sa, tb, C_aa, C_bb, C_ab)


@njit(cache=True)
def field_i2(ta, tb, C_aa, C_bb, C_ab):
    """E[g_a(a) g_b(b)] for fields with activations ta, tb."""
    base, A_a, s_a = affine(ta)
    base_b, A_b, s_b = affine(tb)
    if base >= 0 and base == base_b:
        return A_a * A_b * i2(base, *_scaled(C_aa, C_bb, C_ab, s_a, s_b))
    if _price(ta, tb):
        return _price_pair(ta, tb, C_aa, C_bb, C_ab)[0]
    return numerical_field_i2(ta, tb, C_aa, C_bb, C_ab)


@njit(cache=True)
def _fields(C, a, b, c, d):
    """The covariance (4, 4) of the fields a, b, c, d (indices into C; they may repeat)."""
    idx, C4 = (a, b, c, d), np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            C4[i, j] = C[idx[i], idx[j]]
    return C4


@njit(cache=True)
def i4(s, tc, td, C, a, b, c, d):
    """E[g'(a) g'(b) h_c(c) h_d(d)], see the module docstring."""
    base, A, scale = affine(s)
    base_c, A_c, s_c = affine(tc)
    base_d, A_d, s_d = affine(td)
    if base >= 0 and base == base_c and base == base_d:
        if A == A_c == A_d == 1.0 and scale == s_c == s_d == 1.0:
            return closed_i4(base, C, a, b, c, d)
        C4 = _scale_fields(_fields(C, a, b, c, d), (scale, scale, s_c, s_d))
        return A * scale * A * scale * A_c * A_d * closed_i4(base, C4, 0, 1, 2, 3)
    if poly_degree(s) >= 0 and poly_degree(tc) >= 0 and poly_degree(td) >= 0:
        return polynomial_i4(_coefficients(s), _coefficients(tc), _coefficients(td), C, a, b, c, d)
    if base == ERF:
        return _erf_student_i4(s, tc, td, C, a, b, c, d)
    if poly_degree(s) >= 0 and _polynomial_or(tc, ERF) and _polynomial_or(td, ERF):
        return _polynomial_student_i4(s, tc, td, C, a, b, c, d)
    if _polynomial_or(s, RELU) and _polynomial_or(tc, RELU) and _polynomial_or(td, RELU):
        value = _step_polynomial_i4(s, tc, td, C, a, b, c, d)
        if not math.isnan(value):
            return value
    return numerical_i4(s, tc, td, C, a, b, c, d)


@njit(cache=True)
def _scale_fields(C4, scales):
    """C4 (4, 4) of the fields x_i, in place, to that of the scaled fields scales[i] x_i
    (scales: 4 floats, a tuple or an array)."""
    for i in range(4):
        for j in range(4):
            C4[i, j] *= scales[i] * scales[j]
    return C4


@njit(cache=True)
def _numerical(act):
    """True for an activation on the quadrature route (neither a polynomial nor of a closed-form base)."""
    return poly_degree(act) < 0 and affine(act)[0] < 0


@njit(cache=True)
def _polynomial_or(act, base):
    """True for a polynomial, or for an activation of that closed-form base at any amplitude
    and scale (``activations.affine``)."""
    return poly_degree(act) >= 0 or affine(act)[0] == base


@njit(cache=True)
def _step_polynomial_i4(s, tc, td, C, a, b, c, d):
    """E[g'(a) g'(b) h_c(c) h_d(d)] when every activation is polynomial or ReLU-type (not all
    of one kind): in the scaled fields y = s x, A relu(s x) = A y θ(y) and its derivative is
    A s θ(y), so the average is one of steps times polynomials (``orthant``); NaN when four
    distinct steps remain."""
    acts, C4 = (s, s, tc, td), _fields(C, a, b, c, d)
    polys, degrees = np.zeros((4, ORTHANT_MAX_DEGREE + 1)), np.zeros(4, dtype=np.int64)
    scales, steps = np.ones(4), 0
    for i in range(4):
        shift = 1 if i < 2 else 0
        if poly_degree(acts[i]) >= 0:
            coefficients = _coefficients(acts[i])
            degrees[i] = len(coefficients) - 1 - shift
            for m in range(degrees[i] + 1):
                polys[i, m] = coefficients[m + shift] * (m + 1 if shift else 1)
            if degrees[i] < 0:  # g' of a constant
                return 0.0
        else:
            _, A, scale = affine(acts[i])
            scales[i], steps = scale, steps | 1 << i
            degrees[i] = 1 - shift
            polys[i, degrees[i]] = A * scale if shift else A
    return orthant_average(_scale_fields(C4, scales), steps, polys, degrees)


@njit(cache=True)
def _erf_student_i4(s, tc, td, C, a, b, c, d):
    """E[g'(a) g'(b) h_c(c) h_d(d)] for an erf-type student, any h_c, h_d: g' = A s √(2/π)
    e^(−s²x²/2) is a Gaussian factor, absorbed into the covariance (``reweight``), which
    leaves the 2-field average E'[h_c(c) h_d(d)] on C' by its own route."""
    C4, Cp = _fields(C, a, b, c, d), np.empty((4, 4))
    _, A, scale = affine(s)
    det_factor = absorb(C4, 0, 1, scale * scale, Cp)
    return (A * scale * _SQRT_2_OVER_PI) ** 2 * det_factor * field_i2(tc, td, Cp[2, 2], Cp[3, 3], Cp[2, 3])


@njit(cache=True)
def _polynomial_student_i4(s, tc, td, C, a, b, c, d):
    """E[g'(a) g'(b) h_c(c) h_d(d)] for a polynomial student and polynomial or erf-type h_c, h_d
    (not all polynomials): Price's expansion with erf's closed derivative means, which stops
    at the polynomials' degrees with at most one erf-type field; over two, ``erf_derivatives``."""
    acts, C4 = (s, s, tc, td), _fields(C, a, b, c, d)
    mu, deg = np.zeros((4, _WIDTH)), np.zeros(4, dtype=np.int64)
    for i in range(4):
        deg[i] = _means(acts[i], C4[i, i], 1 if i < 2 else 0, mu[i])
    if poly_degree(tc) < 0 and poly_degree(td) < 0:  # two erf-type fields
        _, A_c, s_c = affine(tc)
        _, A_d, s_d = affine(td)
        return erf_pair_i4(mu[0], deg[0], mu[1], deg[1], C4, A_c, s_c, A_d, s_d)
    return series4(mu, deg, C4[0, 1], C4[0, 2], C4[0, 3], C4[1, 2], C4[1, 3], C4[2, 3])


# routes of the η² sum (``eta2_route``)
SAME_BASE, ERF_STUDENT, POLYNOMIALS, MEHLER, PAIRWISE = range(5)


@njit(cache=True)
def eta2_route(codes, C, u, k):
    """How the η² sum of student field k is taken: SAME_BASE when every field has the same
    closed-form base (at any amplitude and scale), ERF_STUDENT for an erf-type student (its
    Gaussian factors absorbed once, then 2-field averages), POLYNOMIALS when all are
    polynomials, MEHLER for smooth fields on the quadrature route, PAIRWISE otherwise."""
    n = u.shape[0]
    base = affine(codes[k])[0]
    same, polynomials = base >= 0, True
    for c in range(n):
        same = same and affine(codes[c])[0] == base
        polynomials = polynomials and poly_degree(codes[c]) >= 0
    if same:
        return SAME_BASE
    if base == ERF:
        return ERF_STUDENT
    if polynomials:
        return POLYNOMIALS
    smooth, numerical = base != RELU, _numerical(codes[k])
    for c in range(n):
        if u[c] != 0.0:
            smooth, numerical = smooth and affine(codes[c])[0] != RELU, numerical or _numerical(codes[c])
    return MEHLER if smooth and numerical and C[k, k] > 0.0 else PAIRWISE


@njit(cache=True)
def _polynomial_table(codes):
    """(coefficients (n, MAX_TERMS), degrees (n,)) of the fields' polynomials."""
    n = codes.shape[0]
    coefficients, degrees = np.zeros((n, MAX_TERMS)), np.empty(n, dtype=np.int64)
    for c in range(n):
        degrees[c] = poly_degree(codes[c])
        coefficients[c, :degrees[c] + 1] = _coefficients(codes[c])
    return coefficients, degrees


@njit(cache=True)
def eta2_sums(codes, C, u, K):
    """(K, K) symmetric: eta2_sum for every pair of the K student fields (the first K), with
    the work that does not depend on the pair done once where the route allows it."""
    if eta2_route(codes, C, u, 0) == POLYNOMIALS:  # the students share one code, hence one route
        coefficients, degrees = _polynomial_table(codes)
        return polynomial_eta2_sums(coefficients, degrees, C, u, K)
    out = np.empty((K, K))
    for k in range(K):
        for l in range(k, K):
            out[k, l] = out[l, k] = eta2_sum(codes, C, u, k, l)
    return out


@njit(cache=True)
def eta2_sum(codes, C, u, k, l):
    """Σ_cd u_c u_d I4(k, l, c, d) over all fields c, d (codes: the activation of each field),
    by the route ``eta2_route`` decides once for all (c, d)."""
    n = u.shape[0]
    route = eta2_route(codes, C, u, k)
    if route == SAME_BASE:  # one closed-form base: in the scaled fields s_c x_c, with weights u_c A_c
        base = affine(codes[k])[0]
        unit = True
        for c in range(n):
            _, A, scale = affine(codes[c])
            unit = unit and A == 1.0 and scale == 1.0
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
    if route == ERF_STUDENT:  # an erf-type student beside other fields: one C' per (k, l) (``reweight``)
        _, A, scale = affine(codes[k])
        Cp = np.empty_like(C)
        factor = (A * scale * _SQRT_2_OVER_PI) ** 2 * absorb(C, k, l, scale * scale, Cp)
        total = 0.0
        for c in range(n):
            if u[c] != 0.0:
                total += u[c] * u[c] * field_i2(codes[c], codes[c], Cp[c, c], Cp[c, c], Cp[c, c])
                for d in range(c + 1, n):
                    total += 2.0 * u[c] * u[d] * field_i2(codes[c], codes[d], Cp[c, c], Cp[d, d], Cp[c, d])
        return factor * total
    if route == POLYNOMIALS:
        coefficients, degrees = _polynomial_table(codes)
        return polynomial_eta2_sum(coefficients, degrees, C, u, k, l)
    if route == MEHLER:  # quadrature, no kinks: one 2-d rule over (λ_k, λ_l), Mehler
        return mehler_eta2_sum(codes, C, u, k, l)
    total = 0.0
    for c in range(n):
        total += u[c] * u[c] * i4(codes[k], codes[c], codes[c], C, k, l, c, c)
        for d in range(c + 1, n):
            total += 2.0 * u[c] * u[d] * i4(codes[k], codes[c], codes[d], C, k, l, c, d)
    return total
