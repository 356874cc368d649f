"""Gaussian factors absorbed into the covariance (THEORY.md §9).

The derivative of g = A·erf(s·x/√2) is a Gaussian factor, g'(x) = A s √(2/π) e^(−s² x²/2).
For x ~ N(0, C) and weights w_i = s_i² on the fields that carry such a factor (0 elsewhere),

    E[Π_i e^(−w_i x_i²/2) F(x)] = det(I + W C)^(−1/2) E'[F(x)],   x ~ N(0, C'),
    C' = C (I + W C)^(−1) = (C⁻¹ + W)⁻¹,   W = diag(w),

valid for singular C as well (W C has non-negative eigenvalues, so I + W C is invertible).
An η² average E[g'(a) g'(b) h_c(c) h_d(d)] with an erf-type student thus becomes the
2-field average of h_c(c) h_d(d) alone on C', by whatever route that pair takes (closed
forms, Price's expansion or 2-d quadrature; ``averages``), and the η² sum over c, d needs
one C' per (k, l).
"""
import numpy as np
from numba import njit


@njit(cache=True)
def absorb(C, k, l, w, out):
    """C' for the weight w on the fields k and l (an η² average's two student fields; k = l
    puts 2w on one field), written into out (n, n); returns det(I + W C)^(−1/2). With
    U = [e_k, e_l] (n, 2), W = w U Uᵀ, and by Woodbury's identity and Sylvester's
    determinant theorem, with S = Uᵀ C U (2, 2) and P = I + w S,

        C' = C − w (C U) P⁻¹ (C U)ᵀ,   det(I + W C) = det P."""
    n = C.shape[0]
    p00, p01, p10, p11 = 1.0 + w * C[k, k], w * C[k, l], w * C[l, k], 1.0 + w * C[l, l]
    det = p00 * p11 - p01 * p10
    i00, i01, i10, i11 = p11 / det, -p01 / det, -p10 / det, p00 / det  # P⁻¹
    for r in range(n):
        a, b = C[r, k], C[r, l]
        for col in range(r, n):
            x, y = C[col, k], C[col, l]
            out[r, col] = out[col, r] = C[r, col] - w * (a * (i00 * x + i01 * y) + b * (i10 * x + i11 * y))
    return 1.0 / np.sqrt(det)
