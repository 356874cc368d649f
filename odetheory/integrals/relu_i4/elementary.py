"""Elementary Gaussian averages of θ and relu for two and three fields (orthant probabilities
and their 3-d reductions), for unit variances."""
import math

from numba import njit

from .atan import asin_rd
from .doubledouble import dd_add, dd_mul, dd_mul_d, one_minus_rho2, two_prod

PI = math.pi
TWO_PI = 2.0 * math.pi
FOUR_PI = 4.0 * math.pi
FOUR_PI2 = 4.0 * math.pi * math.pi
INV_TWO_PI = 1.0 / TWO_PI
INV_FOUR_PI2 = 1.0 / FOUR_PI2

# Pairs whose compensated 1 - ρ² is below this are treated as exactly parallel.
PARALLEL_TOL = 1e-20
# Near-singularity scales below this are treated as exact zeros (see docstring).
DELTA_FLOOR = 1e-14
# Below this 1 - ρ² of some pair, the invariants are computed in double-double.
ACCURATE_BELOW = 1e-3


@njit(cache=True, error_model="numpy")
def orthant2(rho):
    """P(x1 > 0, x2 > 0) for unit-variance fields with correlation rho (scalar)."""
    return 0.25 + math.asin(max(-1.0, min(1.0, rho))) / TWO_PI


@njit(cache=True, error_model="numpy")
def orthant3(r12, r13, r23):
    """P(x1 > 0, x2 > 0, x3 > 0) for correlations r12, r13, r23 (scalars)."""
    s = (math.asin(max(-1.0, min(1.0, r12))) + math.asin(max(-1.0, min(1.0, r13)))
         + math.asin(max(-1.0, min(1.0, r23))))
    return 0.125 + s / FOUR_PI


@njit(cache=True, error_model="numpy")
def orthant3_d(r12, r13, r23, d12, d13, d23):
    """orthant3 with the 1 - ρ² supplied (accurate for nearly parallel pairs)."""
    return 0.125 + (asin_rd(r12, d12) + asin_rd(r13, d13) + asin_rd(r23, d23)) / FOUR_PI


@njit(cache=True, error_model="numpy")
def relu_relu(r, d):
    """E[relu(x1) relu(x2)] for unit variances, correlation r, d = 1 - r²."""
    return (math.sqrt(d) + r * (0.5 * PI + asin_rd(r, d))) / TWO_PI


@njit(cache=True, error_model="numpy")
def step_sq(r, d):
    """E[θ(x1) x2² θ(x2)] for unit variances, correlation r, d = 1 - r²."""
    return 0.25 + (asin_rd(r, d) + r * math.sqrt(d)) / TWO_PI


@njit(cache=True, error_model="numpy")
def step_relu_relu(r12, r13, r23, d12, d13, d23):
    """E[θ(x1) relu(x2) relu(x3)] for unit variances (d_ij = 1 - r_ij²)."""
    lin = (math.sqrt(d23) + r12 * math.sqrt(d13) + r13 * math.sqrt(d12)) / FOUR_PI
    return lin + r23 * orthant3_d(r12, r13, r23, d12, d13, d23)


@njit(cache=True, error_model="numpy")
def step_step_sq_cov(c11, c22, c33, c12, c13, c23):
    """step_step_sq from covariances; the numerator 2ρ13ρ23 - ρ12(ρ13²+ρ23²), which is
    O(1-ρ12²) when x1 and x2 are nearly parallel, is evaluated in double-double as the
    polynomial 2 c11 c22 c13 c23 - c12 (c22 c13² + c11 c23²).  Unit-variance value."""
    s1 = math.sqrt(c11)
    s2 = math.sqrt(c22)
    s3 = math.sqrt(c33)
    r12 = max(-1.0, min(1.0, c12 / (s1 * s2)))
    r13 = max(-1.0, min(1.0, c13 / (s1 * s3)))
    r23 = max(-1.0, min(1.0, c23 / (s2 * s3)))
    d12 = one_minus_rho2(c11, c22, c12)
    d13 = one_minus_rho2(c11, c33, c13)
    d23 = one_minus_rho2(c22, c33, c23)
    ah, al = two_prod(c11, c22)
    bh, bl = two_prod(c13, c23)
    th, tl = dd_mul(ah, al, bh, bl)
    ah, al = two_prod(c22, c13)
    ah, al = dd_mul_d(ah, al, c13)
    bh, bl = two_prod(c11, c23)
    bh, bl = dd_mul_d(bh, bl, c23)
    ah, al = dd_add(ah, al, bh, bl)
    ah, al = dd_mul_d(ah, al, c12)
    ph, pl = dd_add(2.0 * th, 2.0 * tl, -ah, -al)
    num = (ph + pl) / (c11 * c22 * c33 * s1 * s2)
    lin = (r13 * math.sqrt(d13) + r23 * math.sqrt(d23)) / FOUR_PI
    lin += num / (FOUR_PI * math.sqrt(d12))
    return lin + orthant3_d(r12, r13, r23, d12, d13, d23)
