"""Branch-free atan2 for x >= 0 by one fold and an odd polynomial, and asin from (r, 1 - r²)."""
import math

from numba import njit

_QUARTER_PI, _HALF_PI = 0.25 * math.pi, 0.5 * math.pi
# Coefficients of atan(w) = w + w x g(x), x = w², |w| <= tan(π/8) (abs error < 3e-18).
_ATAN_C = (-0.3333333333333333, 0.1999999999999552, -0.14285714284666542,
           0.11111111015256361, -0.09090904578123903, 0.07692183190826087,
           -0.06664511447381948, 0.0585814891280221, -0.0508544973794026,
           0.03923165829558719, -0.01917688711906226)


@njit(cache=True, error_model="numpy", inline="always")
def atan2p(y, x):
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
    a = w + w * t * g + (_QUARTER_PI if big else 0.0)
    a = _HALF_PI - a if ay > x else a
    return math.copysign(a, y)


@njit(cache=True, error_model="numpy")
def asin_rd(r, d):
    """asin(r) given d = 1 - r² (accurate near |r| = 1)."""
    return math.atan2(r, math.sqrt(d))
