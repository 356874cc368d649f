"""Exact Gaussian averages of polynomial activations (Isserlis / Wick; THEORY.md §9).

For polynomials every average is a Gaussian moment, a polynomial in the entries of the
covariance. The moments of up to four fields x_1..x_4 (covariance C4, any PSD matrix,
singular ones and repeated fields included) follow from Isserlis' recursion

    E[x_1^{n_1} … x_4^{n_4}] = Σ_j C4[i, j] (n_j − δ_ij) E[x^{n − e_i − e_j}]

with i the first index where n_i > 0, filled into a table in lexicographic order (every
term on the right comes earlier). An activation enters as its coefficients c (g = Σ c_j x^j,
``activations.poly_coefficients``); g' and g'' are their derivatives.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def derivative(c):
    """Coefficients of p' for p = Σ c_j x^j."""
    n = c.shape[0]
    if n <= 1:
        return np.zeros(1)
    out = np.empty(n - 1)
    for j in range(1, n):
        out[j - 1] = j * c[j]
    return out


@njit(cache=True)
def moments(C4, D):
    """Table m (D_0+1, …, D_3+1) with m[n] = E[x_1^{n_1} … x_4^{n_4}] for x ~ N(0, C4 (4,4))."""
    m = np.zeros((D[0] + 1, D[1] + 1, D[2] + 1, D[3] + 1))
    n = np.zeros(4, dtype=np.int64)
    for n0 in range(D[0] + 1):
        for n1 in range(D[1] + 1):
            for n2 in range(D[2] + 1):
                for n3 in range(D[3] + 1):
                    n[0], n[1], n[2], n[3] = n0, n1, n2, n3
                    if n0 + n1 + n2 + n3 == 0:
                        m[0, 0, 0, 0] = 1.0
                        continue
                    i = 0
                    while n[i] == 0:
                        i += 1
                    n[i] -= 1
                    total = 0.0
                    for j in range(4):
                        if n[j] > 0:
                            n[j] -= 1
                            total += C4[i, j] * (n[j] + 1) * m[n[0], n[1], n[2], n[3]]
                            n[j] += 1
                    n[i] += 1
                    m[n0, n1, n2, n3] = total
    return m


@njit(cache=True)
def _pair_moments(C_aa, C_bb, C_ab, da, db):
    C4 = np.zeros((4, 4))
    C4[0, 0], C4[1, 1], C4[0, 1], C4[1, 0] = C_aa, C_bb, C_ab, C_ab
    D = np.zeros(4, dtype=np.int64)
    D[0], D[1] = da, db
    return moments(C4, D)


@njit(cache=True)
def _contract2(m, p, q):
    total = 0.0
    for i in range(p.shape[0]):
        for j in range(q.shape[0]):
            total += p[i] * q[j] * m[i, j, 0, 0]
    return total


@njit(cache=True)
def average2(p, q, C_aa, C_bb, C_ab):
    """E[p(a) q(b)] for polynomial coefficient vectors p, q."""
    m = _pair_moments(C_aa, C_bb, C_ab, p.shape[0] - 1, q.shape[0] - 1)
    return _contract2(m, p, q)


@njit(cache=True)
def pair(ca, cb, C_aa, C_bb, C_ab):
    """(E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)]) for polynomials g = ca, h = cb."""
    d1a, d1b = derivative(ca), derivative(cb)
    d2a = derivative(d1a)
    m = _pair_moments(C_aa, C_bb, C_ab, ca.shape[0] - 1, cb.shape[0] - 1)
    return _contract2(m, ca, cb), _contract2(m, d2a, cb), _contract2(m, d1a, d1b)


@njit(cache=True)
def i4(cs, cc, cd, C, a, b, c, d):
    """E[g'(a) g'(b) h_c(c) h_d(d)] for the student polynomial g = cs and the polynomials
    of fields c and d; a, b, c, d index into C (n, n) and may repeat."""
    ps = derivative(cs)
    idx = (a, b, c, d)
    C4 = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            C4[i, j] = C[idx[i], idx[j]]
    D = np.empty(4, dtype=np.int64)
    D[0], D[1], D[2], D[3] = ps.shape[0] - 1, ps.shape[0] - 1, cc.shape[0] - 1, cd.shape[0] - 1
    m = moments(C4, D)
    total = 0.0
    for i in range(ps.shape[0]):
        for j in range(ps.shape[0]):
            pij = ps[i] * ps[j]
            if pij == 0.0:
                continue
            for k in range(cc.shape[0]):
                for l in range(cd.shape[0]):
                    total += pij * cc[k] * cd[l] * m[i, j, k, l]
    return total
