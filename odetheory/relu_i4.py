"""ReLU I4 = E[θ(x_a) θ(x_b) relu(x_c) relu(x_d)] for a zero-mean Gaussian x ~ N(0, C).

Public kernel: ``relu_i4(C, a, b, c, d)`` (numba, ``C`` a 2-D float64 array, indices
int64, any repeat pattern, any positive semi-definite C, singular or not).  Conventions:
θ(0) = 0, so a field with zero variance makes I4 vanish.

Reduction of exact repeats
--------------------------
The four slots are grouped by equal index or by exactly parallel fields (the compensated
2x2 determinant C_ii C_jj - C_ij^2 is below 1e-20 C_ii C_jj).  An anti-parallel pair
gives 0 (one of x, -x is <= 0).  For a parallel pair x_j = α x_i (α > 0): θ(x_j) = θ(x_i),
relu(x_j) = α relu(x_i); then θθ = θ, θ relu = relu, relu relu = x^2 θ(x).  With fewer
than four distinct fields the average is elementary (Stein's lemma
E[x_k h(x)] = Σ_j C_kj E[∂_j h] and the orthant probabilities
P2 = 1/4 + asin ρ/(2π), P3 = 1/8 + Σ asin ρ_ij/(4π)):

* E[q(x)] = C_xx/2, with q(x) = x^2 θ(x);
* E[relu relu] = σ1 σ2 (√(1-ρ²) + ρ(π - acos ρ))/(2π);
* E[θ(x1) q(x2)] = σ2² (P2(ρ) + ρ√(1-ρ²)/(2π));
* E[θ1 relu2 relu3] = σ2σ3 ((√(1-ρ23²) + ρ12√(1-ρ13²) + ρ13√(1-ρ12²))/(4π) + ρ23 P3);
* E[θ1 θ2 q3] = σ3² ((ρ13√(1-ρ13²) + ρ23√(1-ρ23²))/(4π)
  + (2ρ13ρ23 - ρ12(ρ13²+ρ23²))/(4π√(1-ρ12²)) + P3).

Four distinct fields: Price's theorem along a path plus one integration by parts
-----------------------------------------------------------------------------
With R the correlation matrix of (x_a, x_b, x_c, x_d) =: (x0, x1, x2, x3) and
J = I4/√(C_cc C_dd), take R(s) = (1-s) I + s R, s in [0, 1].  Price's theorem gives
dJ/ds = Σ_{i<j} ρ_ij E_s[∂_i ∂_j F], F = θ0 θ1 relu2 relu3, and at s = 0 the fields are
independent: J(0) = (1/2)^2 (1/√(2π))^2 = 1/(8π).  Every E_s[∂_i∂_j F] is elementary
except the (2,3) term E_s[θ0θ1θ2θ3] = P4(s), the 4-d orthant probability.  Integrating
that term by parts, ∫_0^1 P4 ds = P4(0) + ∫_0^1 (1-s) P4'(s) ds with P4(0) = 1/16 and
Plackett's identity P4'(s) = Σ_{i<j} ρ_ij φ2(0, 0; sρ_ij) P2(r_{kl|ij}(s)), gives

    J = 1/(8π) + ρ23/16 + ∫_0^1 h(s) ds,

where h is a sum of elementary terms built from the six pair-conditional correlations
r_{kl|ij}(s) of (x_k, x_l) given x_i = x_j = 0 (one arctangent each), the densities
1/√(1 - s²ρ_ij²) and conditional covariances (the cross terms such as
E_s[δ0 θ1 θ2 relu3] are 3-d conditional averages, reduced once more by Stein's lemma to
the same six r's).  Everything along the path is written through invariants of R and
polynomials in q = 1 - s, p = 1 - q:

    det R(s)          = q^4 + 4 q^3 p + q^2 p^2 e2 + q p^3 e3 + p^4 det R,
    Δ_ij(s)           = 1 - s²ρ_ij² = p² (1 - ρ_ij²) + q (1 + p),
    Δ_ij c_kl|ij(s)   = p^3 N3_ij + p^2 q N2_ij + p q^2 ρ_kl,
    asin r_{kl|ij}(s) = atan2(Δ_ij c_kl|ij, √(det R(s) Δ_ij(s))),

with e_k the sums of principal k x k minors of R and N3_ij = det R[{i,j,k},{i,j,l}],
N2_ij = det R[{i,k},{i,l}] + det R[{j,k},{j,l}].  The positive polynomials have no
cancellation, R(s) is positive definite for every s < 1 (also for singular R), and the
quadrature never evaluates s = 1 itself.

Quadrature
----------
h is analytic in s except on the real rays s <= -1/3 and s >= 1 + δ, where δ ≈ the
smallest eigenvalue of R (or of a sub-block), and near s = 1 it behaves like
√(1 + δ - s) or 1/√(1 + δ - s) (the latter only for nearly parallel pairs).  The
interval is split at s = 1/2:

* s in [0, 1/2]: 10-point Gauss–Legendre (the singularities are >= 1/2 away);
* s in [1/2, 1]: q = 1 - s = δ* sinh²(t), t in [0, T], T = asinh(√(1/(2δ*))),
  Gauss–Legendre in t with n >= 3.5 T + 9 nodes (16 for well-conditioned C, 20 for
  δ* ~ 1e-2, 40 for 1e-6, 72 for 1e-15, 96 at most).  The substitution makes
  √(q + δ*) = √δ* cosh t and √q analytic, maps the cut s >= 1 + δ* to Im t = ±π/2, and
  so gives geometric convergence uniformly in δ* with a node count growing only like
  log(1/δ*).

δ* is a cheap lower estimate of δ: min over pairs of (1-|ρ|)/|ρ|, over triples of
det R_ijk / e2(R_ijk), and det R/e3(R), e3/e2 (values below 1e-14 are treated as exact
zeros; the √q behaviour they produce is analytic in t).  The node rule was tuned against
refined rules on near-singular families so that the quadrature error stays below
~1e-13 (absolute, in units of √(C_cc C_dd)).  The arctangents use a branch-free
polynomial (degree 10 in w², error < 3e-18 on |w| <= tan(π/8)); with
error_model="numpy" (no zero-division checks) the node loop is SIMD-vectorised.

Nearly parallel fields
----------------------
When some 1 - ρ_ij² < 1e-3, the weights 1/√Δ_ij would amplify the ~1e-16 absolute
rounding of invariants computed from rounded ρ's to ~1e-16/√(1-ρ²).  Then all
invariants are computed from double-double minors of C itself (1 - ρ² always is,
from a compensated 2x2 determinant), so they are accurate relative to their size.

Accuracy and cost (AMD EPYC, numba 0.6x): against a 75-digit mpmath reference the
error is ~1e-16..1e-14 in units of √(C_cc C_dd), including exactly singular C and
nearly parallel pairs down to 1 - ρ² ~ 1e-15.  About 1.6 µs per call for generic
distinct fields, 3-4 µs for nearly singular ones, 0.2-0.3 µs with a repeated index.
"""
import math

import numpy as np
from numba import njit

__all__ = [
    "relu_i4",
    "orthant2",
    "orthant3",
    "relu_relu",
    "step_sq",
    "step_relu_relu",
    "step_step_sq",
]

_PI = math.pi
_TWO_PI = 2.0 * math.pi
_FOUR_PI = 4.0 * math.pi
_FOUR_PI2 = 4.0 * math.pi * math.pi
_INV_TWO_PI = 1.0 / _TWO_PI
_INV_FOUR_PI2 = 1.0 / _FOUR_PI2

# Pairs whose compensated 1 - ρ² is below this are treated as exactly parallel.
_PARALLEL_TOL = 1e-20
# Near-singularity scales below this are treated as exact zeros (see docstring).
_DELTA_FLOOR = 1e-14
# Below this 1 - ρ² of some pair, the invariants are computed in double-double.
_ACCURATE_BELOW = 1e-3


# --------------------------------------------------------------------------------------
# Gauss–Legendre rules on [0, 1], packed into one array (numba freezes module globals).
def _gl_table(sizes):
    off, xs, ws = [0], [], []
    for n in sizes:
        x, w = np.polynomial.legendre.leggauss(n)
        xs.append(0.5 * (x + 1.0))
        ws.append(0.5 * w)
        off.append(off[-1] + n)
    return (np.array(sizes, dtype=np.int64), np.array(off, dtype=np.int64),
            np.concatenate(xs), np.concatenate(ws))


_GL_N, _GL_OFF, _GL_X, _GL_W = _gl_table([10, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 72, 80, 96])
_NA = 10  # nodes on s in [0, 1/2]


@njit(cache=True, error_model="numpy")
def _rule(n):
    """Offset and size of the smallest tabulated rule with >= n nodes."""
    for i in range(_GL_N.size):
        if _GL_N[i] >= n:
            return _GL_OFF[i], _GL_N[i]
    i = _GL_N.size - 1
    return _GL_OFF[i], _GL_N[i]


# --------------------------------------------------------------------------------------
# Elementary helpers.
@njit(cache=True, error_model="numpy")
def _two_prod(a, b):
    """a*b = p + e exactly (Dekker), returns (p, e)."""
    p = a * b
    c = 134217729.0 * a
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


@njit(cache=True, error_model="numpy")
def _one_minus_rho2(cii, cjj, cij):
    """1 - ρ² = (c_ii c_jj - c_ij²)/(c_ii c_jj) with a compensated numerator (no
    cancellation for nearly parallel fields).  Clamped to [0, 1]."""
    p1, e1 = _two_prod(cii, cjj)
    p2, e2 = _two_prod(cij, cij)
    v = ((p1 - p2) + (e1 - e2)) / p1
    if v < 0.0:
        return 0.0
    if v > 1.0:
        return 1.0
    return v


# Double-double arithmetic (value = hi + lo), used for the minors of C when a pair of
# fields is nearly parallel: the invariants must then be accurate *relative* to their
# (small) size, not just to 1e-16 absolutely, or the 1/√(1-ρ²) weights amplify the
# inconsistency between them to ~1e-16/(1-ρ²)^(1/2).
@njit(cache=True, error_model="numpy", inline="always")
def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True, error_model="numpy", inline="always")
def _dd_add(ah, al, bh, bl):
    s, e = _two_sum(ah, bh)
    e += al + bl
    h = s + e
    return h, e - (h - s)


@njit(cache=True, error_model="numpy", inline="always")
def _dd_mul_d(ah, al, b):
    p, e = _two_prod(ah, b)
    e += al * b
    h = p + e
    return h, e - (h - p)


@njit(cache=True, error_model="numpy", inline="always")
def _dd_mul(ah, al, bh, bl):
    p, e = _two_prod(ah, bh)
    e += ah * bl + al * bh
    h = p + e
    return h, e - (h - p)


@njit(cache=True, error_model="numpy")
def _dd_det2(a, b, c, d):
    """a d - b c in double-double."""
    p1, e1 = _two_prod(a, d)
    p2, e2 = _two_prod(b, c)
    return _dd_add(p1, e1, -p2, -e2)


@njit(cache=True, error_model="numpy")
def _dd_det3(x0, x1, x2, y0, y1, y2, z0, z1, z2):
    """det [[x0,x1,x2],[y0,y1,y2],[z0,z1,z2]] in double-double."""
    mh, ml = _dd_det2(y1, y2, z1, z2)
    h, l = _dd_mul_d(mh, ml, x0)
    mh, ml = _dd_det2(y0, y2, z0, z2)
    th, tl = _dd_mul_d(mh, ml, -x1)
    h, l = _dd_add(h, l, th, tl)
    mh, ml = _dd_det2(y0, y1, z0, z1)
    th, tl = _dd_mul_d(mh, ml, x2)
    return _dd_add(h, l, th, tl)


@njit(cache=True, error_model="numpy")
def _j4_accurate(S):
    """J for a 4x4 covariance S (slots a, b, c, d) with the invariants of the
    correlation matrix computed from double-double minors of S (see _j4_integrate)."""
    v = np.empty(4)
    sd = np.empty(4)
    for i in range(4):
        v[i] = S[i, i]
        sd[i] = math.sqrt(v[i])
    r = np.empty(6)
    dpair = np.empty(6)
    n3 = np.empty(6)
    n2 = np.empty(6)
    t = np.empty(4)
    # pair p = (i, j) with complement (k, l); order 01, 02, 03, 12, 13, 23
    pi = (0, 0, 0, 1, 1, 2)
    pj = (1, 2, 3, 2, 3, 3)
    pk = (2, 1, 1, 0, 0, 0)
    pl = (3, 3, 2, 3, 2, 1)
    for p in range(6):
        i, j, k, l = pi[p], pj[p], pk[p], pl[p]
        r[p] = max(-1.0, min(1.0, S[i, j] / (sd[i] * sd[j])))
        dpair[p] = _one_minus_rho2(v[i], v[j], S[i, j])
        h, lo = _dd_det3(S[i, i], S[i, j], S[i, l], S[j, i], S[j, j], S[j, l], S[k, i], S[k, j], S[k, l])
        n3[p] = (h + lo) / (v[i] * v[j] * sd[k] * sd[l])
        h1, l1 = _dd_det2(S[i, i], S[i, l], S[k, i], S[k, l])
        h2, l2 = _dd_det2(S[j, j], S[j, l], S[k, j], S[k, l])
        n2[p] = (h1 + l1) / (v[i] * sd[k] * sd[l]) + (h2 + l2) / (v[j] * sd[k] * sd[l])
    ti = (0, 0, 0, 1)
    tj = (1, 1, 2, 2)
    tk = (2, 3, 3, 3)
    for m in range(4):
        i, j, k = ti[m], tj[m], tk[m]
        h, lo = _dd_det3(S[i, i], S[i, j], S[i, k], S[j, i], S[j, j], S[j, k], S[k, i], S[k, j], S[k, k])
        t[m] = max((h + lo) / (v[i] * v[j] * v[k]), 0.0)
    # det S by Laplace expansion along row 0 (double-double 3x3 minors)
    h, lo = _dd_det3(S[1, 1], S[1, 2], S[1, 3], S[2, 1], S[2, 2], S[2, 3], S[3, 1], S[3, 2], S[3, 3])
    h, lo = _dd_mul_d(h, lo, S[0, 0])
    mh, ml = _dd_det3(S[1, 0], S[1, 2], S[1, 3], S[2, 0], S[2, 2], S[2, 3], S[3, 0], S[3, 2], S[3, 3])
    mh, ml = _dd_mul_d(mh, ml, -S[0, 1])
    h, lo = _dd_add(h, lo, mh, ml)
    mh, ml = _dd_det3(S[1, 0], S[1, 1], S[1, 3], S[2, 0], S[2, 1], S[2, 3], S[3, 0], S[3, 1], S[3, 3])
    mh, ml = _dd_mul_d(mh, ml, S[0, 2])
    h, lo = _dd_add(h, lo, mh, ml)
    mh, ml = _dd_det3(S[1, 0], S[1, 1], S[1, 2], S[2, 0], S[2, 1], S[2, 2], S[3, 0], S[3, 1], S[3, 2])
    mh, ml = _dd_mul_d(mh, ml, -S[0, 3])
    h, lo = _dd_add(h, lo, mh, ml)
    det = max((h + lo) / (v[0] * v[1] * v[2] * v[3]), 0.0)
    return _j4_integrate(r[0], r[1], r[2], r[3], r[4], r[5],
                         dpair[0], dpair[1], dpair[2], dpair[3], dpair[4], dpair[5],
                         t[0], t[1], t[2], t[3], n3[0], n3[1], n3[2], n3[3], n3[4], n3[5],
                         n2[0], n2[1], n2[2], n2[3], n2[4], n2[5], det)


# Coefficients of atan(w) = w + w x g(x), x = w², |w| <= tan(π/8) (abs error < 3e-18).
_ATAN_C = (-0.3333333333333333, 0.1999999999999552, -0.14285714284666542,
           0.11111111015256361, -0.09090904578123903, 0.07692183190826087,
           -0.06664511447381948, 0.0585814891280221, -0.0508544973794026,
           0.03923165829558719, -0.01917688711906226)


@njit(cache=True, error_model="numpy", inline="always")
def _atan2p(y, x):
    """atan2(y, x) for x >= 0 (result in [-π/2, π/2]).  Branch-free: fold to
    w in [-tan(π/8), tan(π/8)] with one division, then the odd polynomial."""
    ay = abs(y)
    num = min(ay, x)
    den = max(ay, x)
    big = num > 0.41421356237309503 * den
    wn = num - den if big else num
    wd = num + den if big else den
    w = wn / max(wd, 1e-300)
    t = w * w
    g = _ATAN_C[10]
    g = g * t + _ATAN_C[9]
    g = g * t + _ATAN_C[8]
    g = g * t + _ATAN_C[7]
    g = g * t + _ATAN_C[6]
    g = g * t + _ATAN_C[5]
    g = g * t + _ATAN_C[4]
    g = g * t + _ATAN_C[3]
    g = g * t + _ATAN_C[2]
    g = g * t + _ATAN_C[1]
    g = g * t + _ATAN_C[0]
    a = w + w * t * g + (0.25 * _PI if big else 0.0)
    a = 0.5 * _PI - a if ay > x else a
    return math.copysign(a, y)


@njit(cache=True, error_model="numpy")
def _asin_rd(r, d):
    """asin(r) given d = 1 - r² (accurate near |r| = 1)."""
    return math.atan2(r, math.sqrt(d))


@njit(cache=True, error_model="numpy")
def orthant2(rho):
    """P(x1 > 0, x2 > 0) for unit-variance fields with correlation rho (scalar)."""
    return 0.25 + math.asin(max(-1.0, min(1.0, rho))) / _TWO_PI


@njit(cache=True, error_model="numpy")
def orthant3(r12, r13, r23):
    """P(x1 > 0, x2 > 0, x3 > 0) for correlations r12, r13, r23 (scalars)."""
    s = (math.asin(max(-1.0, min(1.0, r12))) + math.asin(max(-1.0, min(1.0, r13)))
         + math.asin(max(-1.0, min(1.0, r23))))
    return 0.125 + s / _FOUR_PI


@njit(cache=True, error_model="numpy")
def _orthant3_d(r12, r13, r23, d12, d13, d23):
    """orthant3 with the 1 - ρ² supplied (accurate for nearly parallel pairs)."""
    return 0.125 + (_asin_rd(r12, d12) + _asin_rd(r13, d13) + _asin_rd(r23, d23)) / _FOUR_PI


@njit(cache=True, error_model="numpy")
def relu_relu(r, d):
    """E[relu(x1) relu(x2)] for unit variances, correlation r, d = 1 - r²."""
    return (math.sqrt(d) + r * (0.5 * _PI + _asin_rd(r, d))) / _TWO_PI


@njit(cache=True, error_model="numpy")
def step_sq(r, d):
    """E[θ(x1) x2² θ(x2)] for unit variances, correlation r, d = 1 - r²."""
    return 0.25 + (_asin_rd(r, d) + r * math.sqrt(d)) / _TWO_PI


@njit(cache=True, error_model="numpy")
def step_relu_relu(r12, r13, r23, d12, d13, d23):
    """E[θ(x1) relu(x2) relu(x3)] for unit variances (d_ij = 1 - r_ij²)."""
    lin = (math.sqrt(d23) + r12 * math.sqrt(d13) + r13 * math.sqrt(d12)) / _FOUR_PI
    return lin + r23 * _orthant3_d(r12, r13, r23, d12, d13, d23)


@njit(cache=True, error_model="numpy")
def step_step_sq(r12, r13, r23, d12, d13, d23):
    """E[θ(x1) θ(x2) x3² θ(x3)] for unit variances (d_ij = 1 - r_ij², d12 > 0)."""
    lin = (r13 * math.sqrt(d13) + r23 * math.sqrt(d23)) / _FOUR_PI
    lin += (2.0 * r13 * r23 - r12 * (r13 * r13 + r23 * r23)) / (_FOUR_PI * math.sqrt(d12))
    return lin + _orthant3_d(r12, r13, r23, d12, d13, d23)


@njit(cache=True, error_model="numpy")
def _step_step_sq_cov(c11, c22, c33, c12, c13, c23):
    """step_step_sq from covariances; the numerator 2ρ13ρ23 - ρ12(ρ13²+ρ23²), which is
    O(1-ρ12²) when x1 and x2 are nearly parallel, is evaluated in double-double as the
    polynomial 2 c11 c22 c13 c23 - c12 (c22 c13² + c11 c23²).  Unit-variance value."""
    s1 = math.sqrt(c11)
    s2 = math.sqrt(c22)
    s3 = math.sqrt(c33)
    r12 = max(-1.0, min(1.0, c12 / (s1 * s2)))
    r13 = max(-1.0, min(1.0, c13 / (s1 * s3)))
    r23 = max(-1.0, min(1.0, c23 / (s2 * s3)))
    d12 = _one_minus_rho2(c11, c22, c12)
    d13 = _one_minus_rho2(c11, c33, c13)
    d23 = _one_minus_rho2(c22, c33, c23)
    ah, al = _two_prod(c11, c22)
    bh, bl = _two_prod(c13, c23)
    th, tl = _dd_mul(ah, al, bh, bl)
    ah, al = _two_prod(c22, c13)
    ah, al = _dd_mul_d(ah, al, c13)
    bh, bl = _two_prod(c11, c23)
    bh, bl = _dd_mul_d(bh, bl, c23)
    ah, al = _dd_add(ah, al, bh, bl)
    ah, al = _dd_mul_d(ah, al, c12)
    ph, pl = _dd_add(2.0 * th, 2.0 * tl, -ah, -al)
    num = (ph + pl) / (c11 * c22 * c33 * s1 * s2)
    lin = (r13 * math.sqrt(d13) + r23 * math.sqrt(d23)) / _FOUR_PI
    lin += num / (_FOUR_PI * math.sqrt(d12))
    return lin + _orthant3_d(r12, r13, r23, d12, d13, d23)


# --------------------------------------------------------------------------------------
# Four distinct, pairwise non-parallel fields.
@njit(cache=True, error_model="numpy", inline="always")
def _pair_terms(q, ps, q2, p2, sdet4, d, n3, n2, n1):
    """Per pair (i,j) at q = 1-s: Δ_ij(s), 1/√Δ_ij, Δ_ij c_kl, asin r_{kl|ij}."""
    dl = p2 * d + q * (1.0 + ps)
    w = 1.0 / math.sqrt(dl)
    cd = ps * (ps * (ps * n3 + q * n2) + q2 * n1)
    a = _atan2p(cd, sdet4 * dl * w)
    return dl, w, cd, a


@njit(cache=True, error_model="numpy")
def _j4_distinct(r01, r02, r03, r12, r13, r23, d01, d02, d03, d12, d13, d23):
    """J = E[θ0 θ1 relu2 relu3] for unit variances, correlations r_ij, d_ij = 1 - r_ij²
    (all d_ij > 0).  See the module docstring."""
    # principal 3x3 minors of R and their e2 (sum of 2x2 minors)
    x = r12 - r01 * r02
    t012 = max(d01 * d02 - x * x, 0.0)
    x = r13 - r01 * r03
    t013 = max(d01 * d03 - x * x, 0.0)
    x = r23 - r02 * r03
    t023 = max(d02 * d03 - x * x, 0.0)
    x = r23 - r12 * r13
    t123 = max(d12 * d13 - x * x, 0.0)
    # non-principal minors N3 = det R[{i,j,k},{i,j,l}] and N2 (sums of 2x2 ones), per pair
    n3_01 = r23 * d01 + r02 * (r01 * r13 - r03) - r12 * (r13 - r01 * r03)
    n3_02 = r13 * d02 + r01 * (r02 * r23 - r03) - r12 * (r23 - r02 * r03)
    n3_03 = r12 * d03 + r01 * (r03 * r23 - r02) - r13 * (r23 - r03 * r02)
    n3_12 = r03 * d12 + r01 * (r12 * r23 - r13) - r02 * (r23 - r12 * r13)
    n3_13 = r02 * d13 + r01 * (r13 * r23 - r12) - r03 * (r23 - r13 * r12)
    n3_23 = r01 * d23 + r02 * (r23 * r13 - r12) - r03 * (r13 - r23 * r12)
    n2_01 = (r23 - r02 * r03) + (r23 - r12 * r13)
    n2_02 = (r13 - r01 * r03) + (r13 - r12 * r23)
    n2_03 = (r12 - r01 * r02) + (r12 - r13 * r23)
    n2_12 = (r03 - r01 * r13) + (r03 - r02 * r23)
    n2_13 = (r02 - r01 * r12) + (r02 - r03 * r23)
    n2_23 = (r01 - r02 * r12) + (r01 - r03 * r13)
    # det R by Sylvester's identity on the best-conditioned pair:
    # det R * Δ_ij = M_ijk M_ijl - N3_ij^2
    dmax = max(d01, d02, d03, d12, d13, d23)
    if d01 == dmax:
        det = (t012 * t013 - n3_01 * n3_01) / d01
    elif d23 == dmax:
        det = (t023 * t123 - n3_23 * n3_23) / d23
    elif d02 == dmax:
        det = (t012 * t023 - n3_02 * n3_02) / d02
    elif d13 == dmax:
        det = (t013 * t123 - n3_13 * n3_13) / d13
    elif d03 == dmax:
        det = (t013 * t023 - n3_03 * n3_03) / d03
    else:
        det = (t012 * t123 - n3_12 * n3_12) / d12
    det = max(det, 0.0)
    return _j4_integrate(r01, r02, r03, r12, r13, r23, d01, d02, d03, d12, d13, d23,
                         t012, t013, t023, t123, n3_01, n3_02, n3_03, n3_12, n3_13, n3_23,
                         n2_01, n2_02, n2_03, n2_12, n2_13, n2_23, det)


@njit(cache=True, error_model="numpy")
def _j4_integrate(r01, r02, r03, r12, r13, r23, d01, d02, d03, d12, d13, d23,
                  t012, t013, t023, t123, n3_01, n3_02, n3_03, n3_12, n3_13, n3_23,
                  n2_01, n2_02, n2_03, n2_12, n2_13, n2_23, det):
    """J from the invariants of R: correlations r, d = 1 - r², principal 3x3 minors t,
    per pair (i,j) the non-principal minors n3 = det R[{i,j,k},{i,j,l}] and
    n2 = det R[{i,k},{i,l}] + det R[{j,k},{j,l}], and det R."""
    e2 = d01 + d02 + d03 + d12 + d13 + d23
    e3 = t012 + t013 + t023 + t123

    # lower estimate of the distance δ of the nearest singularity beyond s = 1
    ds = 0.5
    for r, d in ((r01, d01), (r02, d02), (r03, d03), (r12, d12), (r13, d13), (r23, d23)):
        a = abs(r)
        if a > 0.0:  # pair singularity at s = 1/|ρ|: δ = (1 - |ρ|)/|ρ|, from the accurate d
            ds = min(ds, d / (a * (1.0 + a)))
    ds = max(ds, 1e-300)
    for t, d1, d2, d3 in ((t012, d01, d02, d12), (t013, d01, d03, d13),
                          (t023, d02, d03, d23), (t123, d12, d13, d23)):
        v = t / (d1 + d2 + d3)
        if v > _DELTA_FLOOR:
            ds = min(ds, v)
    v = det / e3 if e3 > 0.0 else 0.0
    if v > _DELTA_FLOOR:
        ds = min(ds, v)
    v = e3 / e2
    if v > _DELTA_FLOOR:
        ds = min(ds, v)

    tmax = math.asinh(math.sqrt(0.5 / ds))
    offb, nb = _rule(int(3.5 * tmax + 9.0))
    n = _NA + nb
    work = np.empty(3 * n)
    qs = work[:n]
    wqs = work[n:2 * n]
    hs = work[2 * n:]
    for k in range(_NA):  # s in [0, 1/2]: q in [1/2, 1]
        qs[k] = 0.5 + 0.5 * _GL_X[k]
        wqs[k] = 0.5 * _GL_W[k]
    for k in range(nb):  # s in [1/2, 1]: q = ds sinh^2 t
        t = tmax * _GL_X[offb + k]
        sh = math.sinh(t)
        qs[_NA + k] = ds * sh * sh
        wqs[_NA + k] = tmax * _GL_W[offb + k] * 2.0 * ds * sh * math.sqrt(1.0 + sh * sh)
    # integrand at all nodes (straight-line body: the loop vectorises)
    for k in range(n):
        q = qs[k]
        ps = 1.0 - q
        q2 = q * q
        p2 = ps * ps
        det4 = q2 * (q2 + 4.0 * q * ps + p2 * e2) + p2 * ps * (q * e3 + ps * det)
        sdet4 = math.sqrt(det4)
        dl01, w01, c01, a01 = _pair_terms(q, ps, q2, p2, sdet4, d01, n3_01, n2_01, r23)
        dl02, w02, c02, a02 = _pair_terms(q, ps, q2, p2, sdet4, d02, n3_02, n2_02, r13)
        dl03, w03, c03, a03 = _pair_terms(q, ps, q2, p2, sdet4, d03, n3_03, n2_03, r12)
        dl12, w12, c12, a12 = _pair_terms(q, ps, q2, p2, sdet4, d12, n3_12, n2_12, r03)
        dl13, w13, c13, a13 = _pair_terms(q, ps, q2, p2, sdet4, d13, n3_13, n2_13, r02)
        dl23, w23, c23, a23 = _pair_terms(q, ps, q2, p2, sdet4, d23, n3_23, n2_23, r01)
        # w_ij P2(r_{kl|ij}): density factor times conditional orthant probability
        g01 = w01 * (0.25 + a01 * _INV_TWO_PI)
        g02 = w02 * (0.25 + a02 * _INV_TWO_PI)
        g03 = w03 * (0.25 + a03 * _INV_TWO_PI)
        g12 = w12 * (0.25 + a12 * _INV_TWO_PI)
        g13 = w13 * (0.25 + a13 * _INV_TWO_PI)
        g23 = w23 * (0.25 + a23 * _INV_TWO_PI)
        # (0,1): δ0 δ1 relu2 relu3
        h = r01 * _INV_FOUR_PI2 * w01 * w01 * (sdet4 + c01 * w01 * (0.5 * _PI + a01))
        # (0,2), (0,3), (1,2), (1,3): one delta, 3-d conditional by Stein's lemma
        h += r02 * _INV_TWO_PI * (ps * (r13 - ps * r03 * r01) * g01
                              + ps * (r23 - ps * r03 * r02) * g02 + dl03 * g03)
        h += r03 * _INV_TWO_PI * (ps * (r12 - ps * r02 * r01) * g01 + dl02 * g02
                              + ps * (r23 - ps * r02 * r03) * g03)
        h += r12 * _INV_TWO_PI * (ps * (r03 - ps * r13 * r01) * g01
                              + ps * (r23 - ps * r13 * r12) * g12 + dl13 * g13)
        h += r13 * _INV_TWO_PI * (ps * (r02 - ps * r12 * r01) * g01 + dl12 * g12
                              + ps * (r23 - ps * r12 * r13) * g13)
        # (2,3): ρ23 (1-s) P4'(s) after the integration by parts
        h += r23 * q * _INV_TWO_PI * (r01 * g01 + r02 * g02 + r03 * g03
                                  + r12 * g12 + r13 * g13 + r23 * g23)
        hs[k] = h
    total = 0.0
    for k in range(n):
        total += wqs[k] * hs[k]
    return 1.0 / (8.0 * _PI) + r23 / 16.0 + total


# --------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def relu_i4(C, a, b, c, d):
    """E[θ(x_a) θ(x_b) relu(x_c) relu(x_d)], x ~ N(0, C).

    C: (n, n) float64 covariance (positive semi-definite, may be singular);
    a, b, c, d: int64 indices into C, repeats allowed.  Returns a float64."""
    idx = (a, b, c, d)
    n = C.shape[0]
    var = np.empty(4)
    for k in range(4):
        if idx[k] < 0 or idx[k] >= n:
            raise IndexError("relu_i4: index out of range")
        var[k] = C[idx[k], idx[k]]
        if not var[k] > 0.0:
            return 0.0
    # pairwise correlations and 1 - ρ²; group exactly parallel slots
    rho = np.empty((4, 4))
    dd = np.empty((4, 4))
    parent = np.arange(4)
    for k in range(4):
        rho[k, k] = 1.0
        dd[k, k] = 0.0
        for m in range(k):
            if idx[k] == idx[m]:
                r = 1.0
                dv = 0.0
            else:
                cij = C[idx[k], idx[m]]
                dv = _one_minus_rho2(var[k], var[m], cij)
                r = cij / math.sqrt(var[k] * var[m])
                r = max(-1.0, min(1.0, r))
            rho[k, m] = rho[m, k] = r
            dd[k, m] = dd[m, k] = dv
            if dv <= _PARALLEL_TOL:
                if r < 0.0:
                    return 0.0  # θ or relu of x and of -αx: product vanishes a.s.
                # union (root = smallest slot)
                rk = k
                while parent[rk] != rk:
                    rk = parent[rk]
                rm = m
                while parent[rm] != rm:
                    rm = parent[rm]
                if rk != rm:
                    parent[max(rk, rm)] = min(rk, rm)
    for k in range(4):
        rk = k
        while parent[rk] != rk:
            rk = parent[rk]
        parent[k] = rk
    ngroups = 0
    for k in range(4):
        if parent[k] == k:
            ngroups += 1

    if ngroups == 4:
        dmin = min(dd[0, 1], dd[0, 2], dd[0, 3], dd[1, 2], dd[1, 3], dd[2, 3])
        if dmin < _ACCURATE_BELOW:  # nearly parallel pair: invariants in double-double
            S = np.empty((4, 4))
            for k in range(4):
                for m in range(4):
                    S[k, m] = C[idx[k], idx[m]]
            j = _j4_accurate(S)
        else:
            j = _j4_distinct(rho[0, 1], rho[0, 2], rho[0, 3], rho[1, 2], rho[1, 3], rho[2, 3],
                             dd[0, 1], dd[0, 2], dd[0, 3], dd[1, 2], dd[1, 3], dd[2, 3])
        return j * math.sqrt(var[2] * var[3])

    # Merge: group g has representative slot rep[g] and relu-degree deg[g] (0: θ,
    # 1: relu, 2: x²θ).  With x_slot = α x_rep, relu(x_slot) = σ_slot relu(u_rep) for the
    # unit-variance u_rep, so the product of scale factors is always σ_c σ_d.
    rep = np.empty(4, dtype=np.int64)
    deg = np.zeros(4, dtype=np.int64)
    scale = 1.0
    ng = 0
    for k in range(4):
        if parent[k] == k:
            rep[ng] = k
            ng += 1
    for k in range(2, 4):  # relu slots
        for g in range(ng):
            if rep[g] == parent[k]:
                deg[g] += 1
        scale *= math.sqrt(var[k])
    if ng == 1:
        return 0.5 * scale  # E[x² θ(x)] / σ²  = 1/2
    if ng == 2:  # relu relu, or θ and x²θ (symmetric in the two fields)
        s0, s1 = rep[0], rep[1]
        if deg[0] == 1:
            return scale * relu_relu(rho[s0, s1], dd[s0, s1])
        return scale * step_sq(rho[s0, s1], dd[s0, s1])
    # ng == 3: degrees {0, 1, 1} (θ relu relu) or {0, 0, 2} (θ θ x²θ)
    i2 = 0
    for g in range(3):
        if deg[g] > deg[i2]:
            i2 = g
    if deg[i2] == 2:
        i0 = 1 if i2 == 0 else 0
        i1 = 3 - i0 - i2
        s0, s1, s2 = rep[i0], rep[i1], rep[i2]
        i, j, k = idx[s0], idx[s1], idx[s2]
        return scale * _step_step_sq_cov(C[i, i], C[j, j], C[k, k], C[i, j], C[i, k], C[j, k])
    i0 = 0
    for g in range(3):
        if deg[g] == 0:
            i0 = g
    i1 = 1 if i0 == 0 else 0
    i2 = 3 - i0 - i1
    s0, s1, s2 = rep[i0], rep[i1], rep[i2]
    return scale * step_relu_relu(rho[s0, s1], rho[s0, s2], rho[s1, s2],
                                  dd[s0, s1], dd[s0, s2], dd[s1, s2])
