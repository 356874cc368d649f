"""Alignment observables of deep networks (THEORY.md §12, paper Eqs. 18, 19).

∠(A, B) = vec(A)·vec(B) / (|A| |B|) for arrays (or lists of arrays, stacked) of equal
shapes; NaN when either has zero norm (the angle is undefined, e.g. zero weights).

Weight alignment, with F_l (n_l, n_L) the direct feedback matrices:
    WA_l = ∠(F_l F_{l−1}ᵀ, W_l) for 2 <= l < L,  WA_L = ∠(F_{L−1}ᵀ, W_L),
    WA = ∠((F_2 F_1ᵀ, ..., F_{L−1}ᵀ), (W_2, ..., W_L)).
Gradient alignment of error signals δa_l (B, n_l), l = 1..L−1, against BP's at the
same weights and examples: GA_l = ∠(δa_l, δa_l^BP), GA = ∠((δa_1, ...), (δa_1^BP, ...)).
"""
import numpy as np


def angle(A, B):
    """∠(A, B) for arrays or lists of arrays (stacked in order); NaN if a norm is zero."""
    if isinstance(A, (list, tuple)):
        dot = sum(float(np.vdot(a, b)) for a, b in zip(A, B, strict=True))
        na = np.sqrt(sum(float(np.vdot(a, a)) for a in A))
        nb = np.sqrt(sum(float(np.vdot(b, b)) for b in B))
    else:
        dot, na, nb = float(np.vdot(A, B)), float(np.linalg.norm(A)), float(np.linalg.norm(B))
    return dot / (na * nb) if na > 0 and nb > 0 else float("nan")


def alignment_targets(F):
    """(F_2 F_1ᵀ, ..., F_{L−1} F_{L−2}ᵀ, F_{L−1}ᵀ), the matrices W_2, ..., W_L align with,
    from the direct feedback F = [F_1, ..., F_{L−1}]."""
    return [F[l] @ F[l - 1].T for l in range(1, len(F))] + ([F[-1].T] if F else [])


def weight_alignment(W, F):
    """(WA, [WA_2, ..., WA_L]) of weights W = [W_1, ..., W_L] against direct feedback F."""
    T = alignment_targets(F)
    if not T:
        return float("nan"), []
    return angle(T, W[1:]), [angle(t, w) for t, w in zip(T, W[1:])]


def gradient_alignment(delta, delta_bp):
    """(GA, [GA_1, ..., GA_{L−1}]) of error signals [δa_1, ..., δa_{L−1}] against BP's."""
    if not delta:
        return float("nan"), []
    return angle(delta, delta_bp), [angle(d, b) for d, b in zip(delta, delta_bp)]


def stacked_cosine(W_a, W_b):
    """∠ between the stacked weights [W_1, ..., W_L] of two networks (paper Fig. 5)."""
    return angle(W_a, W_b)


def accuracy(a_L, labels):
    """Fraction of rows whose largest output a_L (B, n_L) is at the label (B,)."""
    return float(np.mean(np.argmax(a_L, axis=1) == labels))
