"""Steps times polynomials: E[Π_{i ∈ S} θ(y_i) Π_i p_i(y_i)] for y ~ N(0, C), four slots, |S| ≤ 3.

The η² average E[g'(a) g'(b) h_c(c) h_d(d)] of a ReLU-type student beside polynomial fields
(or of a polynomial student beside ReLU-type fields) is of this form: in the scaled field
y = s x, A·relu(s x) = A y θ(y) and its derivative A s θ(y) (THEORY.md §9). Stein's lemma,
with θ' = δ, gives for a monomial y^β (β' = β − e_i, i a slot with β_i > 0)

    E_S[y^β] = Σ_j C_ij β'_j E_S[y^(β' − e_j)] + Σ_{j ∈ S, β'_j = 0} C_ij φ_j(0) E_{S∖j}[y^β' | y_j = 0],

where φ_j(0) = 1/√(2π C_jj) and the average given y_j = 0 is over the zero-mean Gaussian
with the Schur complement C − C_·j C_j· / C_jj. It ends at the orthant probabilities
P1 = 1/2, P2 = 1/4 + asin ρ/(2π), P3 = 1/8 + Σ_{i<j} asin ρ_ij/(4π) (Sheppard; the 4-field
one is not elementary, which is why four steps go to ``relu_i4``). Only δ itself appears,
never its derivatives, and every conditioning is at zero, so no term grows when fields
are nearly parallel (C_ij φ_j(0) ≤ √(C_ii/2π)): exact repeats and exactly parallel step
fields are merged first (θ(y)θ(α y) = θ(y), α > 0), anti-parallel ones give zero.

The recursion lowers β componentwise, so the table of E_R[y^β] (R the slots conditioned
to zero) needs only β ≤ the slots' degrees: Π_i (deg p_i + 1) entries per subset R ⊆ S.
"""
import math

import numpy as np
from numba import njit

from .relu_i4.doubledouble import dd_det2

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
PARALLEL = 1e-20  # C_ii C_jj − C_ij² below this times C_ii C_jj: parallel (``relu_i4``'s test)
MAX_DEGREE = 24  # total degree of the merged slots' polynomials


@njit(cache=True)
def _orthant(C, mask):
    """P(y_i > 0 for the slots i in mask) for y ~ N(0, C), at most three slots."""
    idx, n = np.empty(3, dtype=np.int64), 0
    for i in range(4):
        if mask >> i & 1:
            idx[n] = i
            n += 1
    if n == 0:
        return 1.0
    if n == 1:
        return 0.5
    total = 0.125 if n == 3 else 0.25
    scale = 0.25 if n == 3 else 0.5
    for p in range(n):
        for q in range(p + 1, n):
            i, j = idx[p], idx[q]
            rho = max(-1.0, min(1.0, C[i, j] / math.sqrt(C[i, i] * C[j, j])))
            total += scale * math.asin(rho) / math.pi
    return total


@njit(cache=True)
def _condition(C, j, out):
    """out = the covariance of y given y_j = 0 (row and column j zero); each entry is the
    2×2 minor (C_pq C_jj − C_pj C_jq) / C_jj, its numerator compensated (no cancellation
    for nearly parallel fields)."""
    for p in range(4):
        for q in range(p, 4):
            out[p, q] = out[q, p] = dd_det2(C[p, q], C[p, j], C[j, q], C[j, j])[0] / C[j, j]
    for p in range(4):
        out[p, j] = out[j, p] = 0.0


@njit(cache=True)
def moment_table(C, steps, degrees):
    """T[β] = E[Π_{i in steps} θ(y_i) Π_i y_i^β_i], β_i ≤ degrees[i], y ~ N(0, C) (4, 4);
    steps a bit mask of at most three slots with C_ii > 0, no two of them parallel.
    Returns T (d_0 + 1, d_1 + 1, d_2 + 1, d_3 + 1), NaN when a step field is determined by
    the others it is conditioned on (zero conditional variance: a singular covariance)."""
    d0, d1, d2, d3 = degrees[0], degrees[1], degrees[2], degrees[3]
    tables = np.zeros((16, d0 + 1, d1 + 1, d2 + 1, d3 + 1))
    covs = np.zeros((16, 4, 4))
    covs[0] = C
    for R in range(1, 16):  # C given y_R = 0, built from R without its highest slot
        if R & ~steps == 0:
            j = 3
            while not R >> j & 1:
                j -= 1
            _condition(covs[R & ~(1 << j)], j, covs[R])
    for R in range(16):
        for j in range(4):
            if R & ~steps == 0 and (steps & ~R) >> j & 1 and not covs[R][j, j] > 0.0:
                tables[0, :, :, :, :] = np.nan
                return tables[0]
    beta = np.empty(4, dtype=np.int64)
    for size in range(4, -1, -1):  # larger R first: E_R needs E_{R ∪ j}
        for R in range(16):
            if R & ~steps != 0 or _popcount(R) != size:
                continue
            Cr, T = covs[R], tables[R]
            free = steps & ~R
            for b0 in range(d0 + 1 if not R & 1 else 1):
                for b1 in range(d1 + 1 if not R & 2 else 1):
                    for b2 in range(d2 + 1 if not R & 4 else 1):
                        for b3 in range(d3 + 1 if not R & 8 else 1):
                            beta[0], beta[1], beta[2], beta[3] = b0, b1, b2, b3
                            T[b0, b1, b2, b3] = _entry(Cr, free, R, beta, T, tables)
    return tables[0]


@njit(cache=True)
def _popcount(m):
    return (m & 1) + (m >> 1 & 1) + (m >> 2 & 1) + (m >> 3 & 1)


@njit(cache=True)
def _entry(Cr, free, R, beta, T, tables):
    """One step of the recursion in the module docstring (lower entries already filled)."""
    i = 0
    while i < 4 and beta[i] == 0:
        i += 1
    if i == 4:
        return _orthant(Cr, free)
    beta[i] -= 1  # β'
    total = 0.0
    for j in range(4):
        if Cr[i, j] == 0.0:
            continue
        if beta[j] > 0:
            m = beta[j]
            beta[j] -= 1
            total += Cr[i, j] * m * T[beta[0], beta[1], beta[2], beta[3]]
            beta[j] += 1
        elif free >> j & 1:
            phi = _INV_SQRT_2PI / math.sqrt(Cr[j, j])
            total += Cr[i, j] * phi * tables[R | 1 << j][beta[0], beta[1], beta[2], beta[3]]
    beta[i] += 1
    return total


@njit(cache=True)
def _multiply(p, dp, q, dq, out):
    """out[:dp + dq + 1] = coefficients of p·q."""
    out[:dp + dq + 1] = 0.0
    for m in range(dp + 1):
        for n in range(dq + 1):
            out[m + n] += p[m] * q[n]


@njit(cache=True)
def average(C4, steps, polys, degrees):
    """E[Π_{i in steps} θ(y_i) Π_i p_i(y_i)] for y ~ N(0, C4) (4, 4), slots that may repeat
    (C4 rows equal). polys (4, ≥ MAX_DEGREE + 1) coefficients p_i[0..degrees[i]]; θ(0) = 0 (a
    step on a field of zero variance gives 0). NaN when more than three distinct steps
    remain or the degrees exceed MAX_DEGREE: the caller takes another route."""
    C, p, deg = C4.copy(), polys.copy(), degrees.copy()
    mask, work = steps, np.empty(p.shape[1])
    for i in range(4):
        if mask >> i & 1 and C[i, i] <= 0.0:
            return 0.0
    for j in range(4):  # merge slot j into an earlier slot i carrying the same field (up to a factor α > 0)
        for i in range(j):
            if deg[i] < 0 or C[i, i] <= 0.0 or C[j, j] <= 0.0:
                continue
            gap = dd_det2(C[i, i], C[i, j], C[i, j], C[j, j])[0]
            if gap > PARALLEL * C[i, i] * C[j, j]:
                continue
            if C[i, j] < 0.0:
                if mask >> i & 1 and mask >> j & 1:
                    return 0.0  # θ(y) θ(−α y) = 0
                continue
            if deg[i] + deg[j] > MAX_DEGREE:
                return np.nan
            alpha, power = math.sqrt(C[j, j] / C[i, i]), 1.0
            for m in range(deg[j] + 1):  # p_j(α y)
                p[j, m] *= power
                power *= alpha
            _multiply(p[i], deg[i], p[j], deg[j], work)
            deg[i] += deg[j]
            p[i, :deg[i] + 1] = work[:deg[i] + 1]
            mask |= (mask >> j & 1) << i
            mask &= ~(1 << j)
            deg[j] = -1  # slot j is gone
            break
    if _popcount(mask) > 3:
        return np.nan
    for j in range(4):
        if deg[j] < 0:  # an empty slot: constant 1, never stepped, zero variance
            deg[j], p[j, 0] = 0, 1.0
            C[j, :] = 0.0
            C[:, j] = 0.0
    T = moment_table(C, mask, deg)
    total = 0.0
    for b0 in range(deg[0] + 1):
        for b1 in range(deg[1] + 1):
            f1 = p[0, b0] * p[1, b1]
            if f1 == 0.0:
                continue
            for b2 in range(deg[2] + 1):
                for b3 in range(deg[3] + 1):
                    total += f1 * p[2, b2] * p[3, b3] * T[b0, b1, b2, b3]
    return total
