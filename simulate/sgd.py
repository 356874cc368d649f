"""Compiled inner loops of online SGD for the two-layer student (THEORY.md §1).

Inputs arrive as rows of a block X (n, N+1): X[s, :N] is the input x of step s and
X[s, N] the output-noise draw ζ of the same step, so the data consumed does not
depend on how the stream is cut into blocks. Fields are λ = W x/√N, ν = B x/√N.
Each step updates W (K, N) and v (K,) in place from the same pre-update quantities:

    e = Σ_k v_k g(λ_k) − Σ_m A_m g*(ν_m) − σ ζ
    W_k ← W_k − (η/√N) f_k g'(λ_k) e x − (η λ/N) W_k,    v_k ← v_k − (η_v/N) (g(λ_k) e + λ_v v_k)

with f = v (bp), F (dfa) or sign(v) (sign); g* the teacher's activation; λ, λ_v the weight
decays (THEORY.md §10); η_v = 0 keeps v fixed. With a power-law schedule η and η_v are
η(s/N) at step s (``SGDParams``; a step schedule is run piece by piece by the caller).
The first-layer update of step s is fused with the student fields of step s+1 (one pass
over W). The loops release the GIL, so independent runs can share a thread pool.
"""
import math

import numpy as np
from numba import njit

from odetheory.integrals.activations import g, g_prime
from odetheory.learning import Learning, rates
from odetheory.rules import feedback


SGDParams = Learning  # what the loops need besides the weights (``odetheory.learning``)

# Reassociation lets LLVM vectorise the dot products; no-NaN/no-Inf flags are left
# out on purpose, so that a diverging run is still detected.
_FAST = {"reassoc", "contract", "nsz"}


@njit(cache=True, fastmath=_FAST)
def _dot(a, X, s, N):
    """a · X[s, :N] for a vector a (N,)."""
    acc = 0.0
    for i in range(N):
        acc += a[i] * X[s, i]
    return acc


@njit(cache=True, fastmath=_FAST)
def _update_and_field(w, keep, c, X, s, N):
    """w ← keep·w + c X[s, :N] in place; returns the new w · X[s+1, :N]."""
    acc = 0.0
    for i in range(N):
        wi = keep * w[i] + c * X[s, i]
        w[i] = wi
        acc += wi * X[s + 1, i]
    return acc


@njit(cache=True, fastmath=_FAST)
def _update(w, keep, c, X, s, N):
    """w ← keep·w + c X[s, :N] in place."""
    for i in range(N):
        w[i] = keep * w[i] + c * X[s, i]


@njit(cache=True)
def learning_step(lam, label, v, F, act, rule, step_w, step_v, decay_v, gl, c):
    """The learning rule for one input, shared by both samplers.

    lam (K,): student fields; label: teacher output Σ_m A_m g*(ν_m) + σ ζ. Sets
    gl = g(λ) and c_k = −step_w f_k g'(λ_k) e (the factor of the input in the first-layer
    update) with e = Σ_k v_k g(λ_k) − label, then v_k ← v_k − step_v (g(λ_k) e + decay_v v_k)
    in place.
    Returns False, changing nothing, when e is not finite.
    """
    K = lam.shape[0]
    e = -label
    for k in range(K):
        gl[k] = g(act, lam[k])
        e += v[k] * gl[k]
    if not math.isfinite(e):
        return False
    f = feedback(rule, v, F)
    for k in range(K):
        c[k] = -step_w * f[k] * g_prime(act, lam[k]) * e
    if step_v != 0.0:
        for k in range(K):
            v[k] -= step_v * (gl[k] * e + decay_v * v[k])
    return True


@njit(cache=True)
def step_rates(p, step, N):
    """(η, η_v) at step `step` (time step/N) for SGDParams p."""
    return rates(p, step / N)


@njit(cache=True, nogil=True)
def sgd_steps(W, v, B, A, F, X, start, stop, p, step0):
    """Run the steps on rows X[start:stop] (see module docstring), W (K,N), v (K,) in place.

    B (M,N), A (M,), F (K,); p: ``SGDParams``; step0: the number of steps done before
    row `start` (the time of the schedule). Returns the number of steps done: stop − start,
    or fewer if the error became non-finite (that step is not applied).
    """
    K, N = W.shape
    M = B.shape[0]
    if stop <= start:
        return 0
    root = math.sqrt(N)
    lam = np.empty(K)
    gl = np.empty(K)
    c = np.empty(K)
    for k in range(K):
        lam[k] = _dot(W[k], X, start, N) / root
    for s in range(start, stop):
        eta, eta_v = step_rates(p, step0 + s - start, N)
        keep = 1.0 - eta * p.weight_decay / N
        label = p.sigma * X[s, N]
        for m in range(M):
            label += A[m] * g(p.teacher_activation, _dot(B[m], X, s, N) / root)
        if not learning_step(lam, label, v, F, p.activation, p.rule, eta / root, eta_v / N, p.weight_decay_v,
                             gl, c):
            return s - start
        if s + 1 < stop:
            for k in range(K):
                lam[k] = _update_and_field(W[k], keep, c[k], X, s, N) / root
        else:
            for k in range(K):
                _update(W[k], keep, c[k], X, s, N)
    return stop - start


@njit(cache=True, nogil=True, fastmath=_FAST)
def local_fields(X, W):
    """Fields X Wᵀ/√N (n, K) of inputs X (n, N) for first-layer weights W (K, N)."""
    n, N = X.shape
    K = W.shape[0]
    root = math.sqrt(N)
    out = np.empty((n, K))
    for j in range(n):
        for k in range(K):
            acc = 0.0
            for i in range(N):
                acc += X[j, i] * W[k, i]
            out[j, k] = acc / root
    return out


@njit(cache=True)
def outputs(fields, weights, act):
    """Network outputs Σ_k weights_k g(fields[:, k]) for fields (n, K); returns (n,)."""
    n, K = fields.shape
    out = np.zeros(n)
    for j in range(n):
        for k in range(K):
            out[j] += weights[k] * g(act, fields[j, k])
    return out


@njit(cache=True)
def half_squared_errors(fields, v, y, act):
    """½ (ŷ − y)² per test input, for student fields (n, K), v (K,), labels y (n,)."""
    e = outputs(fields, v, act) - y
    return 0.5 * e * e
