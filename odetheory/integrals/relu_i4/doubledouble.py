"""Double-double (compensated) arithmetic: products, sums and 2x2, 3x3 determinants
carried to about 32 digits, for the minors of nearly singular covariances."""
import math

from numba import njit

# --------------------------------------------------------------------------------------
# Elementary helpers.
@njit(cache=True, error_model="numpy")
def two_prod(a, b):
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
def one_minus_rho2(cii, cjj, cij):
    """1 - ρ² = (c_ii c_jj - c_ij²)/(c_ii c_jj) with a compensated numerator (no
    cancellation for nearly parallel fields).  Clamped to [0, 1]."""
    p1, e1 = two_prod(cii, cjj)
    p2, e2 = two_prod(cij, cij)
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
def two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True, error_model="numpy", inline="always")
def dd_add(ah, al, bh, bl):
    s, e = two_sum(ah, bh)
    e += al + bl
    h = s + e
    return h, e - (h - s)


@njit(cache=True, error_model="numpy", inline="always")
def dd_mul_d(ah, al, b):
    p, e = two_prod(ah, b)
    e += al * b
    h = p + e
    return h, e - (h - p)


@njit(cache=True, error_model="numpy", inline="always")
def dd_mul(ah, al, bh, bl):
    p, e = two_prod(ah, bh)
    e += ah * bl + al * bh
    h = p + e
    return h, e - (h - p)


@njit(cache=True, error_model="numpy")
def dd_det2(a, b, c, d):
    """a d - b c in double-double."""
    p1, e1 = two_prod(a, d)
    p2, e2 = two_prod(b, c)
    return dd_add(p1, e1, -p2, -e2)


@njit(cache=True, error_model="numpy")
def dd_det3(x0, x1, x2, y0, y1, y2, z0, z1, z2):
    """det [[x0,x1,x2],[y0,y1,y2],[z0,z1,z2]] in double-double."""
    mh, ml = dd_det2(y1, y2, z1, z2)
    h, l = dd_mul_d(mh, ml, x0)
    mh, ml = dd_det2(y0, y2, z0, z2)
    th, tl = dd_mul_d(mh, ml, -x1)
    h, l = dd_add(h, l, th, tl)
    mh, ml = dd_det2(y0, y1, z0, z1)
    th, tl = dd_mul_d(mh, ml, x2)
    return dd_add(h, l, th, tl)
