"""The 1-d Price-path integral of J4 for four distinct, pairwise non-parallel fields:
Gauss–Legendre rules, the integrand's pair terms, and the accurate (double-double) invariants."""
import math

import numpy as np
from numba import njit

from .atan import atan2p
from .doubledouble import dd_add, dd_det2, dd_det3, dd_mul_d, one_minus_rho2
from .elementary import DELTA_FLOOR, INV_FOUR_PI2, INV_TWO_PI, PI

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


@njit(cache=True, error_model="numpy")
def j4_accurate(S):
    """J for a 4x4 covariance S (slots a, b, c, d) with the invariants of the
    correlation matrix computed from double-double minors of S (see j4_integrate)."""
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
        dpair[p] = one_minus_rho2(v[i], v[j], S[i, j])
        h, lo = dd_det3(S[i, i], S[i, j], S[i, l], S[j, i], S[j, j], S[j, l], S[k, i], S[k, j], S[k, l])
        n3[p] = (h + lo) / (v[i] * v[j] * sd[k] * sd[l])
        h1, l1 = dd_det2(S[i, i], S[i, l], S[k, i], S[k, l])
        h2, l2 = dd_det2(S[j, j], S[j, l], S[k, j], S[k, l])
        n2[p] = (h1 + l1) / (v[i] * sd[k] * sd[l]) + (h2 + l2) / (v[j] * sd[k] * sd[l])
    ti = (0, 0, 0, 1)
    tj = (1, 1, 2, 2)
    tk = (2, 3, 3, 3)
    for m in range(4):
        i, j, k = ti[m], tj[m], tk[m]
        h, lo = dd_det3(S[i, i], S[i, j], S[i, k], S[j, i], S[j, j], S[j, k], S[k, i], S[k, j], S[k, k])
        t[m] = max((h + lo) / (v[i] * v[j] * v[k]), 0.0)
    # det S by Laplace expansion along row 0 (double-double 3x3 minors)
    h, lo = dd_det3(S[1, 1], S[1, 2], S[1, 3], S[2, 1], S[2, 2], S[2, 3], S[3, 1], S[3, 2], S[3, 3])
    h, lo = dd_mul_d(h, lo, S[0, 0])
    mh, ml = dd_det3(S[1, 0], S[1, 2], S[1, 3], S[2, 0], S[2, 2], S[2, 3], S[3, 0], S[3, 2], S[3, 3])
    mh, ml = dd_mul_d(mh, ml, -S[0, 1])
    h, lo = dd_add(h, lo, mh, ml)
    mh, ml = dd_det3(S[1, 0], S[1, 1], S[1, 3], S[2, 0], S[2, 1], S[2, 3], S[3, 0], S[3, 1], S[3, 3])
    mh, ml = dd_mul_d(mh, ml, S[0, 2])
    h, lo = dd_add(h, lo, mh, ml)
    mh, ml = dd_det3(S[1, 0], S[1, 1], S[1, 2], S[2, 0], S[2, 1], S[2, 2], S[3, 0], S[3, 1], S[3, 2])
    mh, ml = dd_mul_d(mh, ml, -S[0, 3])
    h, lo = dd_add(h, lo, mh, ml)
    det = max((h + lo) / (v[0] * v[1] * v[2] * v[3]), 0.0)
    return j4_integrate(r[0], r[1], r[2], r[3], r[4], r[5],
                         dpair[0], dpair[1], dpair[2], dpair[3], dpair[4], dpair[5],
                         t[0], t[1], t[2], t[3], n3[0], n3[1], n3[2], n3[3], n3[4], n3[5],
                         n2[0], n2[1], n2[2], n2[3], n2[4], n2[5], det)


# Coefficients of atan(w) = w + w x g(x), x = w², |w| <= tan(π/8) (abs error < 3e-18).


# --------------------------------------------------------------------------------------
# Four distinct, pairwise non-parallel fields.
@njit(cache=True, error_model="numpy", inline="always")
def _pair_terms(q, ps, q2, p2, sdet4, d, n3, n2, n1):
    """Per pair (i,j) at q = 1-s: Δ_ij(s), 1/√Δ_ij, Δ_ij c_kl, asin r_{kl|ij}."""
    dl = p2 * d + q * (1.0 + ps)
    w = 1.0 / math.sqrt(dl)
    cd = ps * (ps * (ps * n3 + q * n2) + q2 * n1)
    a = atan2p(cd, sdet4 * dl * w)
    return dl, w, cd, a


@njit(cache=True, error_model="numpy")
def j4_distinct(r01, r02, r03, r12, r13, r23, d01, d02, d03, d12, d13, d23):
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
    return j4_integrate(r01, r02, r03, r12, r13, r23, d01, d02, d03, d12, d13, d23,
                         t012, t013, t023, t123, n3_01, n3_02, n3_03, n3_12, n3_13, n3_23,
                         n2_01, n2_02, n2_03, n2_12, n2_13, n2_23, det)


@njit(cache=True, error_model="numpy")
def j4_integrate(r01, r02, r03, r12, r13, r23, d01, d02, d03, d12, d13, d23,
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
        if v > DELTA_FLOOR:
            ds = min(ds, v)
    v = det / e3 if e3 > 0.0 else 0.0
    if v > DELTA_FLOOR:
        ds = min(ds, v)
    v = e3 / e2
    if v > DELTA_FLOOR:
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
        g01 = w01 * (0.25 + a01 * INV_TWO_PI)
        g02 = w02 * (0.25 + a02 * INV_TWO_PI)
        g03 = w03 * (0.25 + a03 * INV_TWO_PI)
        g12 = w12 * (0.25 + a12 * INV_TWO_PI)
        g13 = w13 * (0.25 + a13 * INV_TWO_PI)
        g23 = w23 * (0.25 + a23 * INV_TWO_PI)
        # (0,1): δ0 δ1 relu2 relu3
        h = r01 * INV_FOUR_PI2 * w01 * w01 * (sdet4 + c01 * w01 * (0.5 * PI + a01))
        # (0,2), (0,3), (1,2), (1,3): one delta, 3-d conditional by Stein's lemma
        h += r02 * INV_TWO_PI * (ps * (r13 - ps * r03 * r01) * g01
                              + ps * (r23 - ps * r03 * r02) * g02 + dl03 * g03)
        h += r03 * INV_TWO_PI * (ps * (r12 - ps * r02 * r01) * g01 + dl02 * g02
                              + ps * (r23 - ps * r02 * r03) * g03)
        h += r12 * INV_TWO_PI * (ps * (r03 - ps * r13 * r01) * g01
                              + ps * (r23 - ps * r13 * r12) * g12 + dl13 * g13)
        h += r13 * INV_TWO_PI * (ps * (r02 - ps * r12 * r01) * g01 + dl12 * g12
                              + ps * (r23 - ps * r12 * r13) * g13)
        # (2,3): ρ23 (1-s) P4'(s) after the integration by parts
        h += r23 * q * INV_TWO_PI * (r01 * g01 + r02 * g02 + r03 * g03
                                  + r12 * g12 + r13 * g13 + r23 * g23)
        hs[k] = h
    total = 0.0
    for k in range(n):
        total += wqs[k] * hs[k]
    return 1.0 / (8.0 * PI) + r23 / 16.0 + total
