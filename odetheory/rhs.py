"""Right-hand side of the order-parameter ODEs (THEORY.md §3), compiled with numba.

The state is packed into one vector y = [Q.ravel() (K·K), R.ravel() (K·M), v (K)].
The problem parameters travel as one tuple

    P = (K, M, T (M,M), A (M,), F (K,), act, rule, eta, eta_v, sigma, eta2)

with ``eta2`` = 1.0 to keep the η² (SGD noise) and σ² terms, 0.0 to drop them (only
for checking conservation laws). BP, DFA and sign feedback share this one function:
they differ only in the feedback f (``activations.feedback``).
"""
import numpy as np
from numba import njit

from .activations import feedback
from .kernels import i2, i3, i4, j2


@njit(cache=True)
def unpack(y, K, M):
    """Views Q (K,K), R (K,M), v (K,) into the state vector y."""
    Q = y[:K * K].reshape((K, K))
    R = y[K * K:K * K + K * M].reshape((K, M))
    v = y[K * K + K * M:K * K + K * M + K]
    return Q, R, v


@njit(cache=True)
def covariance(Q, R, T):
    """C = [[Q, R], [Rᵀ, T]] of the K+M local fields (λ_1..λ_K, ν_1..ν_M)."""
    K, M = R.shape
    C = np.empty((K + M, K + M))
    C[:K, :K] = Q
    C[:K, K:] = R
    C[K:, :K] = R.T
    C[K:, K:] = T
    return C


@njit(cache=True)
def error_weights(v, A):
    """u = (v_1..v_K, −A_1..−A_M), so that e = Σ_c u_c g(c)."""
    K, M = v.shape[0], A.shape[0]
    u = np.empty(K + M)
    u[:K] = v
    u[K:] = -A
    return u


@njit(cache=True)
def generalisation_error(act, C, u):
    """ε_g = ½ Σ_cd u_c u_d I2(c, d) (noise-free test labels)."""
    n = u.shape[0]
    total = 0.0
    for c in range(n):
        total += 0.5 * u[c] * u[c] * i2(act, C[c, c], C[c, c], C[c, c])
        for d in range(c + 1, n):
            total += u[c] * u[d] * i2(act, C[c, c], C[d, d], C[c, d])
    return total


@njit(cache=True)
def derivatives(y, P):
    """dy/dα for the packed state y (see module docstring)."""
    K, M, T, A, F, act, rule, eta, eta_v, sigma, eta2 = P
    n = K + M
    Q, R, v = unpack(y, K, M)
    C = covariance(Q, R, T)
    u = error_weights(v, A)
    f = feedback(rule, v, F)

    # S[k, b] = Σ_c u_c I3(k, b, c) for student field k and any field b
    S = np.zeros((K, n))
    for k in range(K):
        for b in range(n):
            s = 0.0
            for c in range(n):
                s += u[c] * i3(act, C[k, k], C[b, b], C[c, c], C[k, b], C[k, c], C[b, c])
            S[k, b] = s

    dy = np.empty_like(y)
    dQ, dR, dv = unpack(dy, K, M)
    for k in range(K):
        for m in range(M):
            dR[k, m] = -eta * f[k] * S[k, K + m]
        s = 0.0
        for c in range(n):
            s += u[c] * i2(act, C[k, k], C[c, c], C[k, c])
        dv[k] = -eta_v * s
    for k in range(K):
        for l in range(k, K):
            q = -eta * (f[k] * S[k, l] + f[l] * S[l, k])
            if eta2 != 0.0:
                s4 = 0.0
                for c in range(n):
                    s4 += u[c] * u[c] * i4(act, C, k, l, c, c)
                    for d in range(c + 1, n):
                        s4 += 2.0 * u[c] * u[d] * i4(act, C, k, l, c, d)
                noise = sigma * sigma * j2(act, C[k, k], C[l, l], C[k, l])
                q += eta2 * eta * eta * f[k] * f[l] * (s4 + noise)
            dQ[k, l] = q
            dQ[l, k] = q
    return dy
