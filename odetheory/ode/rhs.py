"""Right-hand side of the order-parameter ODEs (THEORY.md §3), compiled with numba.

``derivatives(t, y, problem)`` is dy/dα for the state vector y = [Q.ravel(), R.ravel(), v]
and a ``problem.Problem``, in the calling convention of the solvers (``solvers.base``).
BP, DFA and sign feedback share this one function: they differ only in the feedback f
(``rules.feedback``). The student's and the teacher's activation enter only through the
averages of ``integrals.averages``; weight decay (THEORY.md §10) adds −2ηλQ, −ηλR,
−η_v λ_v v, and a power-law schedule makes η and η_v functions of t (``learning.rates``). ``state_status`` is the check the solvers apply after each step
(finite, and C = [[Q, R], [Rᵀ, T]] positive semi-definite), and
``jacobian_without_eta2`` the cheap Jacobian that LSODA's Newton iterations use.
"""
import numpy as np
from numba import njit

from ..integrals.averages import eta2_sums, field_i2, pair
from ..learning import rates
from ..rules import feedback
from ..status import BLOWUP, NONFINITE, NOT_PSD, SUCCESS
from .problem import Problem

# A covariance counts as PSD while its lowest eigenvalue is above −tolerance × (largest
# variance). It must allow for integration error: a K = M student that has learned its
# teacher has an exactly singular C, which the integrator only approximates. The adaptive
# solvers use max(PSD_TOLERANCE, 100·rtol), the fixed-step ones PSD_TOLERANCE_FIXED.
PSD_TOLERANCE, PSD_TOLERANCE_FIXED = 1e-8, 1e-6


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
def field_activations(K, M, student, teacher):
    """Activation code of each of the K + M fields: the student's g on λ_k, the teacher's g* on ν_m."""
    codes = np.empty(K + M, dtype=np.int64)
    codes[:K] = student
    codes[K:] = teacher
    return codes


@njit(cache=True)
def generalisation_error(student, teacher, C, u, K):
    """ε_g = ½ Σ_cd u_c u_d I2(c, d) (noise-free test labels); the first K fields are the student's."""
    n = u.shape[0]
    codes = field_activations(K, n - K, student, teacher)
    total = 0.0
    for c in range(n):
        total += 0.5 * u[c] * u[c] * field_i2(codes[c], codes[c], C[c, c], C[c, c], C[c, c])
        for d in range(c + 1, n):
            total += u[c] * u[d] * field_i2(codes[c], codes[d], C[c, c], C[d, d], C[c, d])
    return total


@njit(cache=True)
def derivatives(t, y, problem):
    """dy/dα at time t for the state vector y (see module docstring)."""
    K, M, T, A, F, p = problem.K, problem.M, problem.T, problem.A, problem.F, problem.learning
    eta, eta_v = rates(p, t)
    sigma, eta2 = p.sigma, problem.eta2
    n = K + M
    Q, R, v = unpack(y, K, M)
    C = covariance(Q, R, T)
    u = error_weights(v, A)
    f = feedback(p.rule, v, F)
    codes = field_activations(K, M, p.activation, p.teacher_activation)

    # per student field k and any field c: I2 = E[g(k) g_c(c)], A1 = E[g''(k) g_c(c)],
    # A2 = E[g'(k) g_c'(c)]; Stein's lemma: I3(k, b, c) = C_kb A1[k, c] + C_bc A2[k, c]
    I2 = np.empty((K, n))
    A1 = np.empty((K, n))
    A2 = np.empty((K, n))
    for k in range(K):
        for c in range(n):
            I2[k, c], A1[k, c], A2[k, c] = pair(codes[k], codes[c], C[k, k], C[c, c], C[k, c])
    # S[k, b] = Σ_c u_c I3(k, b, c)
    S = np.empty((K, n))
    for k in range(K):
        p1 = 0.0
        for c in range(n):
            p1 += u[c] * A1[k, c]
        for b in range(n):
            s = C[k, b] * p1
            for c in range(n):
                s += u[c] * C[b, c] * A2[k, c]
            S[k, b] = s

    dy = np.empty_like(y)
    dQ, dR, dv = unpack(dy, K, M)
    for k in range(K):
        for m in range(M):
            dR[k, m] = -eta * f[k] * S[k, K + m] - eta * p.weight_decay * R[k, m]
        s = 0.0
        for c in range(n):
            s += u[c] * I2[k, c]
        dv[k] = -eta_v * (s + p.weight_decay_v * v[k])
    S4 = eta2_sums(codes, C, u, K) if eta2 != 0.0 else np.zeros((K, K))  # Σ_cd u_c u_d I4(k, l, c, d)
    for k in range(K):
        for l in range(k, K):
            q = -eta * (f[k] * S[k, l] + f[l] * S[l, k]) - 2.0 * eta * p.weight_decay * Q[k, l]
            if eta2 != 0.0:
                noise = sigma * sigma * A2[k, l]
                q += eta2 * eta * eta * f[k] * f[l] * (S4[k, l] + noise)
            dQ[k, l] = q
            dQ[l, k] = q
    return dy


@njit(cache=True)
def state_status(y, problem, psd_tol):
    """SUCCESS when every |y_i| < BLOWUP and C is PSD within psd_tol (relative to the largest
    variance); otherwise NONFINITE or NOT_PSD."""
    for x in y:
        if not abs(x) < BLOWUP:  # also catches NaN
            return NONFINITE
    Q, R, _ = unpack(y, problem.K, problem.M)
    C = covariance(Q, R, problem.T)
    scale = max(1.0, np.max(np.diag(C)))
    if np.linalg.eigvalsh(C)[0] < -psd_tol * scale:
        return NOT_PSD
    return SUCCESS


@njit(cache=True)
def jacobian_without_eta2(t, y, problem):
    """Forward-difference Jacobian (len(y), len(y)) of dy/dα with the η² and σ² terms dropped.

    Those terms carry the I4 averages (K⁴ kernel calls, for ReLU at K = 8 about 99 % of an
    evaluation), while the O(η) part costs O(K³); LSODA's Newton iterations converge with
    this approximation, and the solution itself depends only on the full right-hand side."""
    p = problem
    p0 = Problem(p.K, p.M, p.T, p.A, p.F, p.learning, 0.0)
    n = y.shape[0]
    f0 = derivatives(t, y, p0)
    J = np.empty((n, n))
    shifted = y.copy()
    for j in range(n):
        h = 1.5e-8 * max(1.0, abs(y[j]))
        shifted[j] = y[j] + h
        J[:, j] = (derivatives(t, shifted, p0) - f0) / h
        shifted[j] = y[j]
    return J
