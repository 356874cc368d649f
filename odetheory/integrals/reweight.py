"""Gaussian factors absorbed into the covariance (THEORY.md §9).

The derivative of g = A·erf(s·x/√2) is a Gaussian factor, g'(x) = A s √(2/π) e^(−s² x²/2).
For x ~ N(0, C) and weights w_i = s_i² on the fields that carry such a factor (0 elsewhere),

    E[Π_i e^(−w_i x_i²/2) F(x)] = det(I + W C)^(−1/2) E'[F(x)],   x ~ N(0, C'),
    C' = C (I + W C)^(−1) = (C⁻¹ + W)⁻¹,   W = diag(w),

valid for singular C as well (W C has non-negative eigenvalues, so I + W C is invertible).
An η² average E[g'(a) g'(b) h_c(c) h_d(d)] with an erf-type student thus becomes the
average of h_c(c) h_d(d) alone on C', which Price's expansion sums exactly when h_c, h_d
are polynomials, or one is a polynomial and the other erf-type (``averages.i4``).
"""
import numpy as np
from numba import njit


@njit(cache=True)
def absorb(C, weights):
    """(C', det(I + W C)^(−1/2)) for the covariance C (n, n) and Gaussian-factor weights (n,)."""
    n = C.shape[0]
    M = np.eye(n)
    for i in range(n):
        for j in range(n):
            M[i, j] += weights[i] * C[i, j]
    Cp = np.linalg.solve(M.T, C.T).T  # C M⁻¹
    for i in range(n):  # symmetric in exact arithmetic: remove the rounding asymmetry
        for j in range(i + 1, n):
            Cp[i, j] = Cp[j, i] = 0.5 * (Cp[i, j] + Cp[j, i])
    return Cp, 1.0 / np.sqrt(np.linalg.det(M))
