"""Closed-form Gaussian integrals, generated from the sympy derivation by ``odetheory.integrals.codegen``.

Do not edit: run ``python -m odetheory.integrals.codegen`` to regenerate (a test checks
that this file is what the generator writes).
"""


import math

from numba import njit

from .relu_i4 import relu_i4


@njit(cache=True)
def _asin(x):
    return math.asin(min(1.0, max(-1.0, x)))


@njit(cache=True)
def _sqrt(x):
    return math.sqrt(max(0.0, x))


@njit(cache=True)
def i2_linear(C_aa, C_bb, C_ab):
    """E[g(a) g(b)], g = linear."""
    return C_ab


@njit(cache=True)
def i2_erf(C_aa, C_bb, C_ab):
    """E[g(a) g(b)], g = erf."""
    P_a = C_aa + 1
    P_b = C_bb + 1
    return 2*_asin(C_ab/_sqrt(P_a*P_b))/math.pi


@njit(cache=True)
def i2_relu(C_aa, C_bb, C_ab):
    """E[g(a) g(b)], g = relu."""
    if C_aa <= 0.0 or C_bb <= 0.0:
        return 0.0
    x0 = C_aa*C_bb
    return (1/4)*(2*C_ab*_asin(C_ab/_sqrt(x0)) + math.pi*C_ab + 2*_sqrt(-C_ab**2 + x0))/math.pi


@njit(cache=True)
def i2(act, C_aa, C_bb, C_ab):
    """E[g(a) g(b)]."""
    if act == 0:  # linear
        return i2_linear(C_aa, C_bb, C_ab)
    if act == 1:  # erf
        return i2_erf(C_aa, C_bb, C_ab)
    return i2_relu(C_aa, C_bb, C_ab)  # relu


@njit(cache=True)
def j2_linear(C_aa, C_bb, C_ab):
    """E[g'(a) g'(b)], g = linear."""
    return 1.0


@njit(cache=True)
def j2_erf(C_aa, C_bb, C_ab):
    """E[g'(a) g'(b)], g = erf."""
    P_a = C_aa + 1
    P_b = C_bb + 1
    return 2/(math.pi*_sqrt(-C_ab**2 + P_a*P_b))


@njit(cache=True)
def j2_relu(C_aa, C_bb, C_ab):
    """E[g'(a) g'(b)], g = relu."""
    if C_aa <= 0.0 or C_bb <= 0.0:
        return 0.0
    return (1/4)*(2*_asin(C_ab/_sqrt(C_aa*C_bb)) + math.pi)/math.pi


@njit(cache=True)
def j2(act, C_aa, C_bb, C_ab):
    """E[g'(a) g'(b)]."""
    if act == 0:  # linear
        return j2_linear(C_aa, C_bb, C_ab)
    if act == 1:  # erf
        return j2_erf(C_aa, C_bb, C_ab)
    return j2_relu(C_aa, C_bb, C_ab)  # relu


@njit(cache=True)
def a1_linear(C_aa, C_bb, C_ab):
    """E[g''(a) g(b)], g = linear."""
    return 0.0


@njit(cache=True)
def a1_erf(C_aa, C_bb, C_ab):
    """E[g''(a) g(b)], g = erf."""
    P_a = C_aa + 1
    P_b = C_bb + 1
    return -2*C_ab/(math.pi*P_a*_sqrt(-C_ab**2 + P_a*P_b))


@njit(cache=True)
def a1_relu(C_aa, C_bb, C_ab):
    """E[g''(a) g(b)], g = relu."""
    if C_aa <= 0.0 or C_bb <= 0.0:
        return 0.0
    return (1/2)*_sqrt(C_aa*C_bb - C_ab**2)/(math.pi*C_aa)


@njit(cache=True)
def a1(act, C_aa, C_bb, C_ab):
    """E[g''(a) g(b)]."""
    if act == 0:  # linear
        return a1_linear(C_aa, C_bb, C_ab)
    if act == 1:  # erf
        return a1_erf(C_aa, C_bb, C_ab)
    return a1_relu(C_aa, C_bb, C_ab)  # relu


@njit(cache=True)
def i3_linear(C_aa, C_bb, C_cc, C_ab, C_ac, C_bc):
    """E[g'(a) b g(c)]: the middle field b enters linearly, g = linear."""
    return C_bc


@njit(cache=True)
def i3_erf(C_aa, C_bb, C_cc, C_ab, C_ac, C_bc):
    """E[g'(a) b g(c)]: the middle field b enters linearly, g = erf."""
    P_a = C_aa + 1
    P_c = C_cc + 1
    return -2*(C_ab*C_ac - C_bc*P_a)/(math.pi*P_a*_sqrt(-C_ac**2 + P_a*P_c))


@njit(cache=True)
def i3_relu(C_aa, C_bb, C_cc, C_ab, C_ac, C_bc):
    """E[g'(a) b g(c)]: the middle field b enters linearly, g = relu."""
    if C_aa <= 0.0 or C_cc <= 0.0:
        return 0.0
    x0 = C_aa*C_cc
    x1 = 2/math.pi
    return (1/4)*C_bc*x1*_asin(C_ac/_sqrt(x0)) + (1/4)*C_bc + (1/4)*C_ab*x1*_sqrt(-C_ac**2 + x0)/C_aa


@njit(cache=True)
def i3(act, C_aa, C_bb, C_cc, C_ab, C_ac, C_bc):
    """E[g'(a) b g(c)]: the middle field b enters linearly."""
    if act == 0:  # linear
        return i3_linear(C_aa, C_bb, C_cc, C_ab, C_ac, C_bc)
    if act == 1:  # erf
        return i3_erf(C_aa, C_bb, C_cc, C_ab, C_ac, C_bc)
    return i3_relu(C_aa, C_bb, C_cc, C_ab, C_ac, C_bc)  # relu


@njit(cache=True)
def i4_linear(C, a, b, c, d):
    """E[g'(a) g'(b) g(c) g(d)] for fields a, b, c, d (indices into C, may repeat), g = linear."""
    C_cd = C[c, d]
    return C_cd


@njit(cache=True)
def i4_erf(C, a, b, c, d):
    """E[g'(a) g'(b) g(c) g(d)] for fields a, b, c, d (indices into C, may repeat), g = erf."""
    C_aa = C[a, a]
    C_bb = C[b, b]
    C_cc = C[c, c]
    C_dd = C[d, d]
    C_ab = C[a, b]
    C_ac = C[a, c]
    C_ad = C[a, d]
    C_bc = C[b, c]
    C_bd = C[b, d]
    C_cd = C[c, d]
    x0 = C_bb + 1
    x1 = C_aa*C_bb + C_aa - C_ab**2 + x0
    x2 = C_ab*C_bc - C_ac*x0
    x3 = 1/x1
    x4 = C_ad*x3
    x5 = C_aa + 1
    x6 = C_ab*C_ac - C_bc*x5
    x7 = C_bd*x3
    x8 = C_ac*x3
    x9 = C_ab*C_bd - C_ad*x0
    x10 = C_bc*x3
    x11 = C_ab*C_ad - C_bd*x5
    return 4*_asin((C_cd + x2*x4 + x6*x7)/_sqrt(C_cc + C_dd + x10*x6 + x11*x7 + x2*x8 + x4*x9 + (-C_cc - x10*x6 - x2*x8)*(-C_dd - x11*x7 - x4*x9) + 1))/(math.pi**2*_sqrt(x1))


@njit(cache=True)
def i4(act, C, a, b, c, d):
    """E[g'(a) g'(b) g(c) g(d)] for fields a, b, c, d (indices into C, may repeat)."""
    if act == 2:  # relu
        return relu_i4(C, a, b, c, d)
    if act == 0:  # linear
        return i4_linear(C, a, b, c, d)
    return i4_erf(C, a, b, c, d)  # erf
