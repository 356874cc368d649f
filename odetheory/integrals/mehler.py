"""The η² sum for smooth activations: condition on the two student fields, expand the rest by Mehler.

Σ_cd u_c u_d E[g'(λ_k) g'(λ_l) h_c(x_c) h_d(x_d)] = E[g'(λ_k) g'(λ_l) E[Δ² | λ_k, λ_l]] with
Δ = Σ_c u_c h_c(x_c) (THEORY.md §9). Write λ_k = σ_k z_0, λ_l = A_l0 z_0 + A_l1 z_1 (Cholesky)
and every field x_c = m_c + ξ_c with m_c = A_c0 z_0 + A_c1 z_1; the ξ are Gaussian with the
conditional covariance S = C − A Aᵀ, the same at every (z_0, z_1). Mehler's formula gives, for
two fields with conditional correlation ρ = S_cd / (σ_c σ_d) (σ_c² = S_cc),

    E[h_c(x_c) h_d(x_d) | z] = Σ_n ρⁿ a_n^c(m_c) a_n^d(m_d),  a_n^c(m) = E[h_c(m + σ_c ζ) He_n(ζ)] / √n!,

whose terms beyond n = N sum to at most |ρ|^(N+1) (E[h_c²] E[h_d²])^½ (Cauchy–Schwarz, Σ_n a_n² =
E[h²]). So one outer 2-d rule over (z_0, z_1) serves every pair (c, d): each field's
coefficients a_0..a_N and its E[h_c²(m + σ_c ζ)] (the diagonal) are tabulated once over m and
interpolated, and a pair costs N + 1 products per node instead of a 2-d average. A pair whose
|ρ| is too close to 1 for the series (more than MAX_TERMS terms) takes the nested quadrature
of ``numerical.i4``. Fields determined by (λ_k, λ_l) (σ_c = 0) enter through h_c(m_c) alone.
For activations without kinks (ReLU fields take ``numerical.i4``'s kink splitting).
"""
import math

import numpy as np
from numba import njit

from .activations import g, g_prime
from .numerical import I4_H_MAX, I4_L, I4_N_MAX, I4_STEP, LAGRANGE, TABLE_H_MAX, TABLE_STEP, i4 as numerical_i4, \
    n_nodes, smooth_strip, trapezoid

# the series is cut where |ρ|^(N+1) ≤ TOL; a pair needing more than MAX_TERMS terms (|ρ| ≳ 0.5)
# goes to the nested quadrature
TOL, MAX_TERMS = 1e-10, 32
# |ζ| ≤ ZETA_L for the coefficients a_n (He_n(ζ) φ(ζ) is negligible beyond it for n ≤ MAX_TERMS)
ZETA_L = 11.0
# a field whose conditional variance is below this fraction of its variance counts as determined
DETERMINED = 1e-12


@njit(cache=True)
def _coefficient_table(act, sigma, n_terms, lo, spacing, n_grid):
    """table (n_grid, n_terms + 2): at m = lo + (j − 2)·spacing, columns a_0..a_{n_terms}(m) and
    E[h(m + σ ζ)²] (the diagonal), for activation act; ζ by the trapezoid rule on |ζ| ≤ ZETA_L."""
    n_z = n_nodes(sigma, smooth_strip(act), ZETA_L, I4_H_MAX, I4_STEP, 4 * I4_N_MAX)
    zeta, w = trapezoid(n_z, ZETA_L)
    width = n_terms + 2
    psi = np.empty((n_z, n_terms + 1))  # w_i He_n(ζ_i)/√n!, by the normalised recurrence
    for i in range(n_z):
        psi[i, 0] = w[i]
        if n_terms >= 1:
            psi[i, 1] = w[i] * zeta[i]
        for n in range(1, n_terms):
            psi[i, n + 1] = (zeta[i] * psi[i, n] - math.sqrt(n) * psi[i, n - 1]) / math.sqrt(n + 1.0)
    values = np.empty((n_grid, n_z))
    table = np.empty((n_grid, width))
    for j in range(n_grid):
        m = lo + (j - 2) * spacing
        diagonal = 0.0
        for i in range(n_z):
            v = g(act, m + sigma * zeta[i])
            values[j, i] = v
            diagonal += w[i] * v * v
        table[j, width - 1] = diagonal
    table[:, :width - 1] = values @ psi  # the coefficients at every grid point, as one product
    return table


@njit(cache=True)
def _interpolate_row(table, lo, spacing, x, weights, out):
    """out[:] = the table's columns at x, by 6-point Lagrange interpolation on its grid
    (weights: a buffer of 6)."""
    u = (x - lo) / spacing + 2.0
    j = min(max(int(math.floor(u)) - 2, 0), table.shape[0] - 6)
    t = u - j
    p = t * (t - 1.0) * (t - 2.0) * (t - 3.0) * (t - 4.0) * (t - 5.0)
    for m in range(6):
        if p == 0.0:
            weights[m] = 1.0 if abs(t - m) < 0.5 else 0.0
        else:
            weights[m] = p * LAGRANGE[m] / (t - m)
    for c in range(out.shape[0]):
        acc = 0.0
        for m in range(6):
            acc += weights[m] * table[j + m, c]
        out[c] = acc


@njit(cache=True)
def eta2_sum(codes, C, u, k, l):
    """Σ_cd u_c u_d E[g'(λ_k) g'(λ_l) h_c(x_c) h_d(x_d)] over all fields c, d (C (n, n) their
    covariance, codes (n,) their activations, g = codes[k]), by conditioning on (λ_k, λ_l)
    and Mehler's series (module docstring). No field may be ReLU-type; C[k, k] > 0."""
    n = u.shape[0]
    s = codes[k]
    # coordinates: λ_k = A[k, 0] z_0; λ_l = A[l, 0] z_0 + A[l, 1] z_1 (z_1 absent when λ_l ∝ λ_k)
    A = np.zeros((n, 2))
    sigma_k = math.sqrt(C[k, k])
    for c in range(n):
        A[c, 0] = C[c, k] / sigma_k
    two_d = False
    if l != k:
        s2 = C[l, l] - A[l, 0] * A[l, 0]
        if s2 > DETERMINED * C[l, l]:
            two_d = True
            s1 = math.sqrt(s2)
            for c in range(n):
                A[c, 1] = (C[c, l] - A[l, 0] * A[c, 0]) / s1
    active = np.zeros(n, dtype=np.bool_)
    sigma = np.zeros(n)
    for c in range(n):
        active[c] = u[c] != 0.0
        var = C[c, c] - A[c, 0] * A[c, 0] - A[c, 1] * A[c, 1]
        if var > DETERMINED * C[c, c]:
            sigma[c] = math.sqrt(var)
    # pairs: the number of Mehler terms each needs, or −1 for the nested quadrature
    terms = np.zeros(n, dtype=np.int64)  # the most terms any pair of field c needs
    pair_terms = np.zeros((n, n), dtype=np.int64)
    rho = np.zeros((n, n))
    fallback = 0.0
    for c in range(n):
        for d in range(c + 1, n):
            if not (active[c] and active[d]) or sigma[c] == 0.0 or sigma[d] == 0.0:
                continue
            r = (C[c, d] - A[c, 0] * A[d, 0] - A[c, 1] * A[d, 1]) / (sigma[c] * sigma[d])
            r = min(1.0, max(-1.0, r))
            rho[c, d] = r
            N = 0 if abs(r) <= TOL else int(math.ceil(math.log(TOL) / math.log(abs(r)))) - 1
            if N > MAX_TERMS:
                pair_terms[c, d] = -1
                fallback += 2.0 * u[c] * u[d] * numerical_i4(s, codes[c], codes[d], C, k, l, c, d)
            else:
                pair_terms[c, d] = N
                terms[c], terms[d] = max(terms[c], N), max(terms[d], N)
    # each random field's table over the range of m_c on the outer grid
    d_all = smooth_strip(s)
    scale0, scale1 = abs(A[k, 0]), abs(A[l, 1])
    for c in range(n):
        if active[c] or c == l:
            d_all = min(d_all, smooth_strip(codes[c]))
            scale0, scale1 = max(scale0, abs(A[c, 0])), max(scale1, abs(A[c, 1]))
    lo = np.zeros(n)
    spacing = np.ones(n)
    tables = []
    for c in range(n):
        if active[c] and sigma[c] > 0.0:
            reach = I4_L * (abs(A[c, 0]) + abs(A[c, 1])) + 1e-12
            spacing[c] = min(TABLE_H_MAX, TABLE_STEP * smooth_strip(codes[c]))
            lo[c] = -reach
            n_grid = int(math.ceil(2.0 * reach / spacing[c])) + 6
            tables.append(_coefficient_table(codes[c], sigma[c], terms[c], lo[c], spacing[c], n_grid))
        else:
            tables.append(np.zeros((6, 1)))
    z0, w0 = trapezoid(n_nodes(scale0, d_all, I4_L, I4_H_MAX, I4_STEP, I4_N_MAX), I4_L)
    z1, w1 = trapezoid(n_nodes(scale1, d_all, I4_L, I4_H_MAX, I4_STEP, I4_N_MAX), I4_L) if two_d \
        else (np.zeros(1), np.ones(1))
    # the series' powers ρⁿ
    powers = np.zeros((n, n, MAX_TERMS + 1))
    for c in range(n):
        for d in range(c + 1, n):
            p = 1.0
            for m in range(pair_terms[c, d] + 1):
                powers[c, d, m] = p
                p *= rho[c, d]
    a = np.zeros((n, MAX_TERMS + 2))  # a_0..a_N and the diagonal of each field at a node
    diagonal = np.zeros(n)
    weights = np.empty(6)
    total = 0.0
    for i0 in range(z0.shape[0]):
        f0 = w0[i0] * g_prime(s, A[k, 0] * z0[i0])
        for i1 in range(z1.shape[0]):
            if z0[i0] * z0[i0] + z1[i1] * z1[i1] > I4_L * I4_L:
                continue  # beyond the disc of radius I4_L: below the rule's error
            f = f0 * w1[i1] * g_prime(s, A[l, 0] * z0[i0] + A[l, 1] * z1[i1])
            if f == 0.0:
                continue
            for c in range(n):
                if not active[c]:
                    continue
                m = A[c, 0] * z0[i0] + A[c, 1] * z1[i1]
                if sigma[c] > 0.0:
                    width = terms[c] + 2
                    _interpolate_row(tables[c], lo[c], spacing[c], m, weights, a[c, :width])
                    diagonal[c] = a[c, width - 1]
                else:
                    a[c, 0] = g(codes[c], m)
                    diagonal[c] = a[c, 0] * a[c, 0]
            second = 0.0
            for c in range(n):
                if not active[c]:
                    continue
                second += u[c] * u[c] * diagonal[c]
                for d in range(c + 1, n):
                    if not active[d] or pair_terms[c, d] < 0:
                        continue
                    acc = 0.0
                    for m in range(pair_terms[c, d] + 1):
                        acc += powers[c, d, m] * a[c, m] * a[d, m]
                    second += 2.0 * u[c] * u[d] * acc
            total += f * second
    return total + fallback
