"""Online SGD in the span of the weights: the same Markov chain as ``sgd``, at a cost independent of N.

Write the rows of [B; W]/√N (teacher first, then student; n = M + K vectors of
length N) in an orthonormal basis of their span, ordered by Gram–Schmidt, so that
their coordinates form a lower-triangular n × n matrix with a non-negative diagonal:

    teacher  L_T (M, M)   fixed,
    student  [P (K, M), S (K, K)],   S lower triangular,

and Q = P Pᵀ + S Sᵀ, R = P L_Tᵀ, T = L_T L_Tᵀ. A fresh input x ~ N(0, I_N) has
independent N(0, 1) coordinates z = (z_T (M), z_S (K)) in this basis and an
orthogonal remainder of squared length s² ~ χ²_{N−n}, independent of z. The fields
are ν = L_T z_T, λ = P z_T + S z_S, exactly Gaussian with covariance [[Q, R], [Rᵀ, T]],
and the update W_k ← W_k + c_k x of ``sgd`` becomes, with u_k = c_k/√N,

    P ← P + u z_Tᵀ,    [S | 0] ← [S + u z_Sᵀ | s u]  (K, K+1),

after which a Householder LQ step rotates the last K+1 basis vectors so that the
student block is K × K lower triangular again. No approximation is made: given the
same initial weights, the order parameters (Q, R, v) follow the same law as in the
N-dimensional simulation, while a step costs O(K³ + M K) instead of O((K+M) N).
What the reduced chain cannot give is anything that needs the N-dimensional inputs
themselves (a fixed Monte-Carlo test set).

Draws per step: one row of Z (n + 1): z_T, z_S and the output-noise ζ (last column),
and one χ²_{N−n} value.
"""
import math

import numpy as np
from numba import njit

from odetheory.integrals.activations import g

from .sgd import learning_step, step_rates


def coordinates(B, W):
    """(L_T (M,M), P (K,M), S (K,K)): the coordinates described in the module docstring
    of the rows of B (M,N) and W (K,N), divided by √N. Needs N ≥ M + K."""
    M, N = B.shape
    _, R = np.linalg.qr(np.vstack((B, W)).T / math.sqrt(N))
    L = R.T * np.where(np.diag(R) < 0, -1.0, 1.0)  # flip basis vectors: diagonal >= 0
    return (np.ascontiguousarray(L[:M, :M]), np.ascontiguousarray(L[M:, :M]),
            np.ascontiguousarray(L[M:, M:]))


@njit(cache=True)
def lower_triangularise(X):
    """Rotate the columns of X (K, K+1) in place (Householder reflections acting from
    the right) so that X[:, :K] is lower triangular with a non-negative diagonal and
    X[:, K] = 0; X Xᵀ is unchanged."""
    K = X.shape[0]
    width = X.shape[1]
    h = np.empty(width)
    for i in range(K):
        tail = 0.0  # squared length of X[i, i+1:], the part to rotate away
        for j in range(i + 1, width):
            tail += X[i, j] * X[i, j]
        if tail > 0.0:
            norm = math.sqrt(X[i, i] * X[i, i] + tail)
            alpha = -norm if X[i, i] >= 0.0 else norm  # X[i] is reflected onto alpha e_i
            h[i] = X[i, i] - alpha
            for j in range(i + 1, width):
                h[j] = X[i, j]
            hh = h[i] * h[i] + tail
            for r in range(i, K):
                dot = 0.0
                for j in range(i, width):
                    dot += X[r, j] * h[j]
                scale = 2.0 * dot / hh
                for j in range(i, width):
                    X[r, j] -= scale * h[j]
            for j in range(i + 1, width):
                X[i, j] = 0.0
        if X[i, i] < 0.0:  # flip basis vector i
            for r in range(i, K):
                X[r, i] = -X[r, i]


@njit(cache=True, nogil=True)
def reduced_steps(L_T, P, S, v, A, F, Z, chi2, start, stop, p, step0, N):
    """Run the steps on rows Z[start:stop] (M+K+1 columns) and chi2[start:stop].

    P (K,M), S (K,K), v (K,) are updated in place; L_T (M,M), A (M,), F (K,) fixed;
    p: ``sgd.SGDParams``; step0: steps done before row `start`; N the input dimension.
    Weight decay scales the student's coordinates, w ← (1 − ηλ/N) w + c x. Returns the
    number of steps done: stop − start, or fewer if the error became non-finite (that
    step is not applied).
    """
    K, M = P.shape
    lam = np.empty(K)
    gl = np.empty(K)
    u = np.empty(K)
    X = np.empty((K, K + 1))
    for s in range(start, stop):
        eta, eta_v = step_rates(p, step0 + s - start, N)
        keep = 1.0 - eta * p.weight_decay / N
        label = p.sigma * Z[s, M + K]
        for m in range(M):
            nu = 0.0
            for j in range(m + 1):
                nu += L_T[m, j] * Z[s, j]
            label += A[m] * g(p.teacher_activation, nu)
        for k in range(K):
            x = 0.0
            for j in range(M):
                x += P[k, j] * Z[s, j]
            for j in range(k + 1):
                x += S[k, j] * Z[s, M + j]
            lam[k] = x
        # u_k = c_k/√N with c_k = −(η/√N) f_k g'(λ_k) e
        if not learning_step(lam, label, v, F, p.activation, p.rule, eta / N, eta_v / N, p.weight_decay_v, gl, u):
            return s - start
        rest = math.sqrt(chi2[s])
        for k in range(K):
            for j in range(M):
                P[k, j] = keep * P[k, j] + u[k] * Z[s, j]
            for j in range(K):
                X[k, j] = (keep * S[k, j] if j <= k else 0.0) + u[k] * Z[s, M + j]
            X[k, K] = u[k] * rest
        lower_triangularise(X)
        for k in range(K):
            for j in range(K):
                S[k, j] = X[k, j]
    return stop - start
