"""Gaussian averages by compiled quadrature, for activations without closed forms (THEORY.md §9).

Fields are written through the Cholesky factor of their covariance, a = σ_a z_1,
b = β z_1 + s z_2 (β = C_ab/σ_a, s² = C_bb − β², z standard normal), and every
average becomes an iterated integral over z, taken with the trapezoid rule on
[−L, L]. For an integrand analytic in the strip |Im z| < δ the rule's error falls like
exp(−2πδ/h) (and the cut-off's like exp(−L²/2)); g analytic in |Im x| < d
(``activations.strip``: π/2 for tanh, π for sigmoid and softplus, ∞ for entire g) makes
g(σ z) analytic in |Im z| < d/σ, so the step is h = min(h_max, c·d/σ). Measured against
30-digit quadrature this beats Gauss–Hermite at equal cost for tanh (whose poles at
±iπ/2 slow Gauss–Hermite down; README, "Activations").

* ``pair``: the 2-d averages of the right-hand side, E[g(a) h(b)], E[g''(a) h(b)],
  E[g'(a) h'(b)] (I2, and I3 through Stein's lemma), h = the other field's activation.
  A ReLU student field is integrated with Gauss–Legendre on the half-line where it is
  linear, and its g'' = δ(a) term is the density at a = 0 times a 1-d average; a ReLU
  teacher field's inner average is in closed form, and the kink it leaves in the outer
  integrand (smoothed over s/|β|) gets a graded Gauss–Legendre rule.
* ``i4``: E[g'(a) g'(b) h_c(c) h_d(d)] (the η² term) with a nested rule over the
  Cholesky factor of the four fields (pivots at zero drop their dimension, so repeated
  fields cost fewer dimensions); its innermost average is tabulated and interpolated,
  which makes the cost that of a 3-d rule.
"""
import math

import numpy as np
from numba import njit

from .activations import RELU, g, g_prime, g_second, g_values, strip

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# 2-d averages: |z| ≤ L, h = min(H_MAX, STEP·d/σ) → error ~ exp(−2π/STEP) ≈ 1e-16 (times the size of g near its poles)
L, H_MAX, STEP, N_MAX = 8.5, 0.4, 0.17, 2001
# η² term: |z| ≤ I4_L, h = min(I4_H_MAX, I4_STEP·d/σ): about 1e-7 relative for tanh (README)
I4_L, I4_H_MAX, I4_STEP, I4_N_MAX = 6.5, 0.36, 0.2, 201
# table of the innermost average in the η² term: spacing min(TABLE_H_MAX, TABLE_STEP·d)
TABLE_H_MAX, TABLE_STEP = 0.05, 0.025

# Gauss–Legendre on [0, 1] for the half-lines of ReLU
_GL_X, _GL_W = np.polynomial.legendre.leggauss(80)
GL_X, GL_W = (_GL_X + 1.0) / 2.0, _GL_W / 2.0
_GLS_X, _GLS_W = np.polynomial.legendre.leggauss(24)
GL_SMALL_X, GL_SMALL_W = (_GLS_X + 1.0) / 2.0, _GLS_W / 2.0
_GLK_X, _GLK_W = np.polynomial.legendre.leggauss(64)
GL_KINK_X, GL_KINK_W = (_GLK_X + 1.0) / 2.0, _GLK_W / 2.0


@njit(cache=True)
def n_nodes(scale, d, cutoff, h_max, step, n_max):
    """Number of trapezoid nodes on [−cutoff, cutoff] for a function of scale·z analytic in
    |Im x| < d (odd, so that z = 0 is a node)."""
    h = h_max
    if scale > 0.0 and d < np.inf:
        h = min(h_max, step * d / scale)
    n = int(math.ceil(2.0 * cutoff / h)) + 1
    n += 1 - n % 2
    return min(n, n_max)


@njit(cache=True)
def smooth_strip(act):
    d = strip(act)
    return d if d > 0.0 else np.inf  # ReLU's kink is handled by splitting, not by the step


@njit(cache=True)
def _inner_rule(tb, s):
    """Trapezoid nodes and weights in z_2 for the inner average of field b's h(β z_1 + s z_2)."""
    return trapezoid(n_nodes(s, smooth_strip(tb), L, H_MAX, STEP, N_MAX), L)


@njit(cache=True)
def _inner(tb, beta_z, s, z, w):
    """(E[h(β z_1 + s z_2)], E[h'(β z_1 + s z_2)]) over z_2 by the rule (z, w) of ``_inner_rule``,
    for field b with activation tb (ReLU in closed form: μ Φ(μ/s) + s φ(μ/s) and Φ(μ/s))."""
    if s <= 0.0:
        return g(tb, beta_z), g_prime(tb, beta_z)
    if tb == RELU:
        r = beta_z / s
        cdf = 0.5 * math.erfc(-r / math.sqrt(2.0))
        return beta_z * cdf + s * _INV_SQRT_2PI * math.exp(-0.5 * r * r), cdf
    m0, m1 = 0.0, 0.0
    for i in range(z.shape[0]):
        value, slope, _ = g_values(tb, beta_z + s * z[i])
        m0 += w[i] * value
        m1 += w[i] * slope
    return m0, m1


@njit(cache=True)
def _graded_rule(width):
    """Nodes and weights (standard normal weight included) on [−L, L] for an integrand with a
    smoothed kink of the given width at 0: Gauss–Legendre on pieces with edges 0, ±width·3^k."""
    edges = [0.0]
    e = 3.0 * max(width, 1e-14)
    while e < L:
        edges.append(e)
        e *= 3.0
    edges.append(L)
    m = len(edges) - 1
    n = GL_SMALL_X.shape[0]
    z = np.empty(2 * m * n)
    w = np.empty(2 * m * n)
    k = 0
    for p in range(m):
        lo, hi = edges[p], edges[p + 1]
        for i in range(n):
            x = lo + (hi - lo) * GL_SMALL_X[i]
            wt = (hi - lo) * GL_SMALL_W[i] * _INV_SQRT_2PI * math.exp(-0.5 * x * x)
            z[k], w[k] = x, wt
            z[k + 1], w[k + 1] = -x, wt
            k += 2
    return z, w


@njit(cache=True)
def trapezoid(n, cutoff):
    """n equally spaced nodes z on [−cutoff, cutoff] and trapezoid weights times the standard
    normal density (its tails beyond the cut-off are below the rule's error)."""
    h = 2.0 * cutoff / (n - 1)
    z = np.empty(n)
    w = np.empty(n)
    for i in range(n):
        z[i] = -cutoff + i * h
        w[i] = h * _INV_SQRT_2PI * math.exp(-0.5 * z[i] * z[i])
    return z, w


@njit(cache=True)
def _outer_rule(sigma, beta, s, sa, tb):
    """Nodes and weights in z_1 for a smooth g(σ z_1) times the inner average of field b:
    the trapezoid rule, or, when b is a ReLU field that depends on z_1, the graded rule
    around its smoothed kink at z_1 = 0 (width s/|β|)."""
    if tb == RELU and beta != 0.0:
        return _graded_rule(s / abs(beta))
    d = min(smooth_strip(sa), smooth_strip(tb) if beta != 0.0 else np.inf)
    return trapezoid(n_nodes(max(sigma, abs(beta)), d, L, H_MAX, STEP, N_MAX), L)


@njit(cache=True)
def pair(sa, tb, C_aa, C_bb, C_ab):
    """(E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)]) for g = activation sa on field a and
    h = tb on field b, covariance entries C_aa, C_bb, C_ab (any PSD 2×2, singular included)."""
    sigma = math.sqrt(max(C_aa, 0.0))
    if sigma <= 0.0:  # a ≡ 0
        s = math.sqrt(max(C_bb, 0.0))
        m0, m1 = _inner(tb, 0.0, s, *_inner_rule(tb, s))
        return g(sa, 0.0) * m0, g_second(sa, 0.0) * m0, g_prime(sa, 0.0) * m1
    beta = C_ab / sigma
    s = math.sqrt(max(C_bb - beta * beta, 0.0))
    z2, w2 = _inner_rule(tb, s)
    I2, A1, A2 = 0.0, 0.0, 0.0
    if sa == RELU:  # g = z σ, g' = 1 on z > 0; g'' = δ(a): density of a at 0 times E[h(b) | a = 0]
        for i in range(GL_X.shape[0]):
            z = L * GL_X[i]
            w = L * GL_W[i] * _INV_SQRT_2PI * math.exp(-0.5 * z * z)
            m0, m1 = _inner(tb, beta * z, s, z2, w2)
            I2 += w * sigma * z * m0
            A2 += w * m1
        A1 = _INV_SQRT_2PI / sigma * _inner(tb, 0.0, s, z2, w2)[0]
        return I2, A1, A2
    z, w = _outer_rule(sigma, beta, s, sa, tb)
    for i in range(z.shape[0]):
        m0, m1 = _inner(tb, beta * z[i], s, z2, w2)
        value, slope, curvature = g_values(sa, sigma * z[i])
        I2 += w[i] * value * m0
        A1 += w[i] * curvature * m0
        A2 += w[i] * slope * m1
    return I2, A1, A2


@njit(cache=True)
def field_i2(ta, tb, C_aa, C_bb, C_ab):
    """E[g_a(a) g_b(b)] for any two fields with activations ta, tb (e.g. two teacher fields)."""
    sigma = math.sqrt(max(C_aa, 0.0))
    if sigma <= 0.0:
        s = math.sqrt(max(C_bb, 0.0))
        return g(ta, 0.0) * _inner(tb, 0.0, s, *_inner_rule(tb, s))[0]
    beta = C_ab / sigma
    s = math.sqrt(max(C_bb - beta * beta, 0.0))
    z2, w2 = _inner_rule(tb, s)
    total = 0.0
    if ta == RELU:
        for i in range(GL_X.shape[0]):
            z = L * GL_X[i]
            w = L * GL_W[i] * _INV_SQRT_2PI * math.exp(-0.5 * z * z)
            total += w * sigma * z * _inner(tb, beta * z, s, z2, w2)[0]
        return total
    z, w = _outer_rule(sigma, beta, s, ta, tb)
    for i in range(z.shape[0]):
        total += w[i] * g(ta, sigma * z[i]) * _inner(tb, beta * z[i], s, z2, w2)[0]
    return total


@njit(cache=True)
def _cholesky4(C4):
    """Lower-triangular L (4,4) with L Lᵀ = C4 for a PSD C4; a pivot below 1e-12 of the
    largest variance counts as zero and its column is dropped (repeated fields)."""
    Lc = np.zeros((4, 4))
    scale = max(1e-300, max(C4[0, 0], C4[1, 1], C4[2, 2], C4[3, 3]))
    for j in range(4):
        s = C4[j, j]
        for k in range(j):
            s -= Lc[j, k] * Lc[j, k]
        if s <= 1e-12 * scale:
            continue
        Lc[j, j] = math.sqrt(s)
        for i in range(j + 1, 4):
            t = C4[i, j]
            for k in range(j):
                t -= Lc[i, k] * Lc[j, k]
            Lc[i, j] = t / Lc[j, j]
    return Lc


@njit(cache=True)
def _rule(Lc, level, acts):
    """Trapezoid nodes and weights for z_level: a single node when the pivot is zero."""
    if Lc[level, level] == 0.0:
        return np.zeros(1), np.ones(1)
    scale, d = 0.0, np.inf
    for j in range(level, 4):
        if Lc[j, level] != 0.0:
            scale = max(scale, abs(Lc[j, level]))
            d = min(d, smooth_strip(acts[j]))
    return trapezoid(n_nodes(scale, d, I4_L, I4_H_MAX, I4_STEP, I4_N_MAX), I4_L)


@njit(cache=True)
def _smoothed_table(act, z, w, scale, lo, hi, spacing):
    """G(x) = Σ_i w_i h(x + scale·z_i) (the innermost average, a function of the other fields'
    contribution x only) on a uniform grid from lo with the given spacing, covering [lo, hi]
    with room for 6-point interpolation."""
    n = int(math.ceil((hi - lo) / spacing)) + 6
    table = np.empty(n)
    for j in range(n):
        x = lo + (j - 2) * spacing
        acc = 0.0
        for i in range(z.shape[0]):
            acc += w[i] * g(act, x + scale * z[i])
        table[j] = acc
    return table


@njit(cache=True)
def _interpolate(table, lo, spacing, x):
    """6-point Lagrange interpolation of a table built by ``_smoothed_table`` at x."""
    u = (x - lo) / spacing + 2.0
    j = min(max(int(math.floor(u)) - 2, 0), table.shape[0] - 6)
    t = u - j
    p = (t - 0.0) * (t - 1.0) * (t - 2.0) * (t - 3.0) * (t - 4.0) * (t - 5.0)
    if p == 0.0:
        return table[j + int(round(t))]
    total = 0.0
    for m in range(6):
        total += table[j + m] * LAGRANGE[m] / (t - m)
    return p * total


# 1/Π_{m≠j}(j − m) of the 6-point Lagrange basis on 0..5
LAGRANGE = np.array([-1.0 / 120.0, 1.0 / 24.0, -1.0 / 12.0, 1.0 / 12.0, -1.0 / 24.0, 1.0 / 120.0])


@njit(cache=True)
def _determined_at(Lc, j):
    """The last coordinate field j depends on (−1 for a field that is identically 0)."""
    for i in range(j, -1, -1):
        if Lc[j, i] != 0.0:
            return i
    return -1


@njit(cache=True)
def _piecewise_rule(cuts, n_cuts):
    """Gauss–Legendre nodes and weights (standard normal weight included) on [−L, L] split at
    the cuts (64 nodes per piece): for an integrand with kinks or steps at the cuts."""
    edges = np.empty(n_cuts + 2)
    edges[0] = -L
    m = 1
    for i in range(n_cuts):
        if -L < cuts[i] < L:
            edges[m] = cuts[i]
            m += 1
    edges[m] = L
    edges[:m + 1].sort()
    n = GL_KINK_X.shape[0]
    z = np.empty(m * n)
    w = np.empty(m * n)
    for p in range(m):
        lo, hi = edges[p], edges[p + 1]
        for i in range(n):
            x = lo + (hi - lo) * GL_KINK_X[i]
            z[p * n + i] = x
            w[p * n + i] = (hi - lo) * GL_KINK_W[i] * _INV_SQRT_2PI * math.exp(-0.5 * x * x)
    return z, w


@njit(cache=True)
def _level_rule(Lc, level, acts, zs, smooth_z, smooth_w):
    """Nodes of z_level given the outer coordinates zs[:level]: one node for a zero pivot;
    Gauss–Legendre pieces split where a ReLU field determined at this level crosses 0;
    otherwise the smooth rule."""
    if Lc[level, level] == 0.0:
        return np.zeros(1), np.ones(1)
    cuts = np.empty(4)
    n_cuts = 0
    for j in range(level, 4):
        if acts[j] == RELU and _determined_at(Lc, j) == level:
            offset = 0.0
            for i in range(level):
                offset += Lc[j, i] * zs[i]
            cuts[n_cuts] = -offset / Lc[j, level]
            n_cuts += 1
    if n_cuts == 0:
        return smooth_z, smooth_w
    return _piecewise_rule(cuts, n_cuts)


@njit(cache=True)
def _i4_kinked(s, tc, td, Lc):
    """``i4`` when a ReLU field takes part: the same nested rule, each level split where a ReLU
    field it determines has its kink (or θ its step), and the innermost ReLU average in
    closed form, E[relu(x + s z)] = x Φ(x/s) + s φ(x/s)."""
    acts = np.array([s, s, tc, td])
    rules = [_rule(Lc, lv, acts) for lv in range(4)]
    zs = np.zeros(4)
    total = 0.0
    z0, w0 = _level_rule(Lc, 0, acts, zs, rules[0][0], rules[0][1])
    for i0 in range(z0.shape[0]):
        zs[0] = z0[i0]
        f0 = w0[i0] * g_prime(s, Lc[0, 0] * z0[i0])
        if f0 == 0.0:
            continue
        z1, w1 = _level_rule(Lc, 1, acts, zs, rules[1][0], rules[1][1])
        for i1 in range(z1.shape[0]):
            zs[1] = z1[i1]
            f1 = f0 * w1[i1] * g_prime(s, Lc[1, 0] * zs[0] + Lc[1, 1] * zs[1])
            if f1 == 0.0:
                continue
            z2, w2 = _level_rule(Lc, 2, acts, zs, rules[2][0], rules[2][1])
            for i2 in range(z2.shape[0]):
                zs[2] = z2[i2]
                f2 = f1 * w2[i2] * g(tc, Lc[2, 0] * zs[0] + Lc[2, 1] * zs[1] + Lc[2, 2] * zs[2])
                if f2 == 0.0:
                    continue
                x3 = Lc[3, 0] * zs[0] + Lc[3, 1] * zs[1] + Lc[3, 2] * zs[2]
                sd = Lc[3, 3]
                if sd == 0.0:
                    inner = g(td, x3)
                elif td == RELU:
                    r = x3 / sd
                    inner = x3 * 0.5 * math.erfc(-r / math.sqrt(2.0)) + sd * _INV_SQRT_2PI * math.exp(-0.5 * r * r)
                else:
                    z3, w3 = rules[3]
                    inner = 0.0
                    for i3 in range(z3.shape[0]):
                        inner += w3[i3] * g(td, x3 + sd * z3[i3])
                total += f2 * inner
    return total


@njit(cache=True)
def i4(s, tc, td, C, a, b, c, d):
    """E[g'(a) g'(b) h_c(c) h_d(d)]: g = activation s on the student fields a, b; h_c = tc,
    h_d = td; a, b, c, d index into C (n, n) and may repeat (ReLU fields: ``_i4_kinked``).

    The innermost average, over z_3, depends on the other three coordinates only through
    x = L30 z0 + L31 z1 + L32 z2; it is tabulated once on a grid of x (spacing TABLE_STEP·d,
    d the strip half-width of h_d) and read off by 6-point interpolation, so the cost is
    that of a 3-d rule (plus the table) instead of a 4-d one."""
    idx = (a, b, c, d)
    C4 = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            C4[i, j] = C[idx[i], idx[j]]
    Lc = _cholesky4(C4)
    if s == RELU or tc == RELU or td == RELU:
        return _i4_kinked(s, tc, td, Lc)
    acts = np.array([s, s, tc, td])
    z0, w0 = _rule(Lc, 0, acts)
    z1, w1 = _rule(Lc, 1, acts)
    z2, w2 = _rule(Lc, 2, acts)
    z3, w3 = _rule(Lc, 3, acts)
    tabulate = z3.shape[0] > 1
    reach = I4_L * (abs(Lc[3, 0]) + abs(Lc[3, 1]) + abs(Lc[3, 2])) + 1e-12
    spacing = min(TABLE_H_MAX, TABLE_STEP * smooth_strip(td))
    table = _smoothed_table(td, z3, w3, Lc[3, 3], -reach, reach, spacing) if tabulate else np.zeros(1)
    total = 0.0
    for i0 in range(z0.shape[0]):
        f0 = w0[i0] * g_prime(s, Lc[0, 0] * z0[i0])
        for i1 in range(z1.shape[0]):
            f1 = f0 * w1[i1] * g_prime(s, Lc[1, 0] * z0[i0] + Lc[1, 1] * z1[i1])
            x2 = Lc[2, 0] * z0[i0] + Lc[2, 1] * z1[i1]
            x3 = Lc[3, 0] * z0[i0] + Lc[3, 1] * z1[i1]
            for i2 in range(z2.shape[0]):
                x3b = x3 + Lc[3, 2] * z2[i2]
                inner = _interpolate(table, -reach, spacing, x3b) if tabulate else g(td, x3b)
                total += f1 * w2[i2] * g(tc, x2 + Lc[2, 2] * z2[i2]) * inner
    return total
