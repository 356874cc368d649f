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

from .doubledouble import one_minus_rho2
from .elementary import ACCURATE_BELOW, PARALLEL_TOL, relu_relu, step_relu_relu, step_sq, step_step_sq_cov
from .elementary import orthant2, orthant3  # noqa: F401  (public: the 2-d and 3-d orthant probabilities)
from .quadrature import j4_accurate, j4_distinct


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
                dv = one_minus_rho2(var[k], var[m], cij)
                r = cij / math.sqrt(var[k] * var[m])
                r = max(-1.0, min(1.0, r))
            rho[k, m] = rho[m, k] = r
            dd[k, m] = dd[m, k] = dv
            if dv <= PARALLEL_TOL:
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
        if dmin < ACCURATE_BELOW:  # nearly parallel pair: invariants in double-double
            S = np.empty((4, 4))
            for k in range(4):
                for m in range(4):
                    S[k, m] = C[idx[k], idx[m]]
            j = j4_accurate(S)
        else:
            j = j4_distinct(rho[0, 1], rho[0, 2], rho[0, 3], rho[1, 2], rho[1, 3], rho[2, 3],
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
        return scale * step_step_sq_cov(C[i, i], C[j, j], C[k, k], C[i, j], C[i, k], C[j, k])
    i0 = 0
    for g in range(3):
        if deg[g] == 0:
            i0 = g
    i1 = 1 if i0 == 0 else 0
    i2 = 3 - i0 - i1
    s0, s1, s2 = rep[i0], rep[i1], rep[i2]
    return scale * step_relu_relu(rho[s0, s1], rho[s0, s2], rho[s1, s2],
                                  dd[s0, s1], dd[s0, s2], dd[s1, s2])
