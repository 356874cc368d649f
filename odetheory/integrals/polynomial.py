"""Exact Gaussian averages of polynomial activations (Price's theorem; THEORY.md §9).

For jointly Gaussian fields x_1..x_n with covariance C, ∂E[Π f_i(x_i)]/∂C_ij =
E[∂_i ∂_j Π f_i] (i ≠ j, Price's theorem). Expanding in the off-diagonal entries about
C_ij = 0, where the fields are independent,

    E[Π_i f_i(x_i)] = Σ_{n_ij ≥ 0, i<j} Π_{i<j} C_ij^{n_ij} / n_ij!  Π_i μ_i(d_i),
    d_i = Σ_{j≠i} n_ij,   μ_i(d) = E[f_i^{(d)}(x)], x ~ N(0, C_ii).

For polynomials the sum is finite (μ_i(d) = 0 for d > deg f_i) and exact for every PSD
C, singular ones and repeated fields included (a polynomial identity in the entries). Two
fields need one index, the η² term's four fields six; each μ is a 1-d Gaussian moment.
An activation enters as its coefficients c (g = Σ c_j x^j, ``activations.poly_coefficients``).
"""
import numpy as np
from numba import njit

MAX_TERMS = 9  # coefficients c_0..c_8: polynomial activations have degree at most 8


@njit(cache=True)
def derivative_means(c, var, shift, out):
    """out[d] = E[p^(d + shift)(x)] for x ~ N(0, var), p = Σ c_j x^j, d = 0..deg p − shift;
    returns deg p − shift (the degree of p^(shift))."""
    top = c.shape[0] - 1
    for d in range(top - shift + 1):
        order = d + shift
        total, moment = 0.0, 1.0  # moment = E[x^j] = var^(j/2) (j − 1)!! for even j
        for j in range(0, top - order + 1, 2):
            falling = 1.0  # (j + order)! / j!, the factor of x^j in the order-th derivative
            for m in range(j + 1, j + order + 1):
                falling *= m
            total += c[j + order] * falling * moment
            moment *= var * (j + 1)
        out[d] = total
    return top - shift


@njit(cache=True)
def _series2(mu_a, sa, da, mu_b, sb, db, C_ab):
    """Σ_n C_ab^n/n! μ_a(n + sa) μ_b(n + sb): E[p^(sa)(a) q^(sb)(b)] from the derivative means
    μ_a, μ_b (of p, q, degrees da, db)."""
    total, power = 0.0, 1.0
    for n in range(min(da - sa, db - sb) + 1):
        total += power * mu_a[n + sa] * mu_b[n + sb]
        power *= C_ab / (n + 1)
    return total


@njit(cache=True)
def series_pair(mu_a, da, mu_b, db, C_ab):
    """(E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)]) from the derivative means μ_a(m) =
    E[g^(m)(a)], μ_b(m) = E[h^(m)(b)]; da, db: the degrees of g, h, or for a field that is not
    a polynomial the last index of its means (the series stops at the other's degree)."""
    return (_series2(mu_a, 0, da, mu_b, 0, db, C_ab), _series2(mu_a, 2, da, mu_b, 0, db, C_ab),
            _series2(mu_a, 1, da, mu_b, 1, db, C_ab))


@njit(cache=True)
def pair(ca, cb, C_aa, C_bb, C_ab):
    """(E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)]) for polynomials g = ca, h = cb."""
    mu = np.empty(2 * MAX_TERMS)
    mu_a, mu_b = mu[:MAX_TERMS], mu[MAX_TERMS:]
    da, db = derivative_means(ca, C_aa, 0, mu_a), derivative_means(cb, C_bb, 0, mu_b)
    return series_pair(mu_a, da, mu_b, db, C_ab)


@njit(cache=True)
def series4(mu, deg, c12, c13, c14, c23, c24, c34):
    """Σ over the six edge multiplicities of Price's expansion for four fields: E[Π_i f_i(x_i)]
    from the derivative means mu[i, m] = E[f_i^(m)(x_i)] and deg[i] (a polynomial's degree, or
    the last index of mu for a field whose edges stop at polynomial neighbours' degrees)."""
    total = 0.0
    p12 = 1.0
    for n12 in range(min(deg[0], deg[1]) + 1):
        p13 = p12
        for n13 in range(min(deg[0] - n12, deg[2]) + 1):
            p14 = p13
            for n14 in range(min(deg[0] - n12 - n13, deg[3]) + 1):
                m1 = mu[0, n12 + n13 + n14]
                if m1 != 0.0:
                    p23 = p14 * m1
                    for n23 in range(min(deg[1] - n12, deg[2] - n13) + 1):
                        p24 = p23
                        for n24 in range(min(deg[1] - n12 - n23, deg[3] - n14) + 1):
                            m2 = mu[1, n12 + n23 + n24]
                            if m2 != 0.0:
                                p34 = p24 * m2
                                for n34 in range(min(deg[2] - n13 - n23, deg[3] - n14 - n24) + 1):
                                    total += p34 * mu[2, n13 + n23 + n34] * mu[3, n14 + n24 + n34]
                                    p34 *= c34 / (n34 + 1)
                            p24 *= c24 / (n24 + 1)
                        p23 *= c23 / (n23 + 1)
                p14 *= c14 / (n14 + 1)
            p13 *= c13 / (n13 + 1)
        p12 *= c12 / (n12 + 1)
    return total


@njit(cache=True)
def i4(cs, cc, cd, C, a, b, c, d):
    """E[g'(a) g'(b) h_c(c) h_d(d)] for the student polynomial g = cs and the polynomials
    of fields c and d; a, b, c, d index into C (n, n) and may repeat."""
    mu = np.empty((4, MAX_TERMS))
    deg = (derivative_means(cs, C[a, a], 1, mu[0]), derivative_means(cs, C[b, b], 1, mu[1]),
           derivative_means(cc, C[c, c], 0, mu[2]), derivative_means(cd, C[d, d], 0, mu[3]))
    return series4(mu, deg, C[a, b], C[a, c], C[a, d], C[b, c], C[b, d], C[c, d])


@njit(cache=True)
def _powers(x, top, out):
    """out[n] = x^n / n!, n = 0..top."""
    out[0] = 1.0
    for n in range(1, top + 1):
        out[n] = out[n - 1] * x / n


@njit(cache=True)
def field_means(coefficients, degrees, C):
    """(μ, P) shared by every student pair: μ[c, m] = E[p_c^(m)(x_c)] (n, 3 MAX_TERMS) and the
    entrywise powers P[m] = C^{∘m}/m! (top + 1, n, n), top the largest degree."""
    n = C.shape[0]
    mu = np.zeros((n, 3 * MAX_TERMS))
    top = 0
    for c in range(n):
        derivative_means(coefficients[c, :degrees[c] + 1], C[c, c], 0, mu[c])
        top = max(top, degrees[c])
    P = np.empty((top + 1, n, n))
    P[0] = 1.0
    for m in range(1, top + 1):
        for c in range(n):
            for d in range(n):
                P[m, c, d] = P[m - 1, c, d] * C[c, d] / m
    return mu, P


@njit(cache=True)
def eta2_sum(coefficients, degrees, C, u, k, l):
    """Σ_cd u_c u_d E[g'(k) g'(l) h_c(c) h_d(d)] over all fields c, d. coefficients
    (n, MAX_TERMS), degrees (n,): the polynomial of each field (c_0..c_deg in its row), the
    student's at k and l.

    Price's sum, regrouped so that the fields c and d meet only through C_cd^m/m!: with
    X_m[c, (i, j)] = u_c C_kc^i/i! C_lc^j/j! μ_c(i + j + m) and W_n[(i, j), (i', j')] =
    μ'_k(n + i + i') μ'_l(n + j + j') (μ' the derivative means of g'),

        Σ_cd = Σ_{n, m} C_kl^n/n! Σ_{αβ} W_n[α, β] (X_mᵀ (C^{∘m}/m!) X_m)[α, β],

    O(n² (deg g)²) per (k, l) where the term-by-term sum costs O(n² (deg g)⁶)."""
    mu, P = field_means(coefficients, degrees, C)
    return pair_sum(coefficients, degrees, C, u, k, l, mu, P)


@njit(cache=True)
def eta2_sums(coefficients, degrees, C, u, K):
    """(K, K) symmetric: eta2_sum for every pair of the first K (student) fields, the
    per-field means and powers of C computed once for all pairs."""
    mu, P = field_means(coefficients, degrees, C)
    out = np.empty((K, K))
    for k in range(K):
        for l in range(k, K):
            out[k, l] = out[l, k] = pair_sum(coefficients, degrees, C, u, k, l, mu, P)
    return out


@njit(cache=True)
def pair_sum(coefficients, degrees, C, u, k, l, mu, P):
    """eta2_sum for the student pair (k, l), given ``field_means``' μ and P."""
    n = u.shape[0]
    dk, dl = degrees[k] - 1, degrees[l] - 1  # degrees of g' at k and at l
    mk, ml = np.zeros(3 * MAX_TERMS), np.zeros(3 * MAX_TERMS)
    derivative_means(coefficients[k, :degrees[k] + 1], C[k, k], 1, mk)
    derivative_means(coefficients[l, :degrees[l] + 1], C[l, l], 1, ml)
    width = (dk + 1) * (dl + 1)
    top = P.shape[0] - 1
    pk, pl = np.empty((n, MAX_TERMS)), np.empty((n, MAX_TERMS))
    for c in range(n):
        _powers(C[k, c], dk, pk[c])
        _powers(C[l, c], dl, pl[c])
    pkl = np.empty(MAX_TERMS)
    _powers(C[k, l], min(dk, dl), pkl)
    X, Y, G = np.empty((n, width)), np.empty((n, width)), np.zeros((width, width))
    for m in range(top + 1):
        for c in range(n):
            for i in range(dk + 1):
                for j in range(dl + 1):
                    X[c, i * (dl + 1) + j] = u[c] * pk[c, i] * pl[c, j] * mu[c, i + j + m]
        if m == 0:  # P = 1: G = s sᵀ with s the column sums of X
            for a in range(width):
                Y[0, a] = 0.0
                for c in range(n):
                    Y[0, a] += X[c, a]
            for a in range(width):
                for b in range(width):
                    G[a, b] += Y[0, a] * Y[0, b]
        else:
            for c in range(n):  # Y = P X
                for a in range(width):
                    Y[c, a] = 0.0
                for d in range(n):
                    w = P[m, c, d]
                    for a in range(width):
                        Y[c, a] += w * X[d, a]
            for a in range(width):  # G = Xᵀ Y
                for b in range(width):
                    acc = 0.0
                    for c in range(n):
                        acc += X[c, a] * Y[c, b]
                    G[a, b] += acc
    total = 0.0  # W does not depend on m: contract the sum over m once
    for n12 in range(min(dk, dl) + 1):
        for i in range(dk + 1):
            for j in range(dl + 1):
                for i2 in range(dk + 1):
                    for j2 in range(dl + 1):
                        total += pkl[n12] * mk[n12 + i + i2] * ml[n12 + j + j2] * \
                            G[i * (dl + 1) + j, i2 * (dl + 1) + j2]
    return total
