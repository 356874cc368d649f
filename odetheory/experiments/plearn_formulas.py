"""Closed-form P(learn) for a ReLU student under DFA, and the Wilson interval (THEORY.md §6).

A ReLU student with teacher weights A_m = 1 reaches ε_g = 0 only if at least M
entries of F are positive; for F_k symmetric about 0,
    P(learn) = 2^(−K) Σ_{j=M}^{K} C(K, j).
The paper prints the sum from 0 to M, shown next to it for comparison.
"""
import math


def p_learn_sign_count(K, M):
    """2^(−K) Σ_{j=M}^{K} C(K, j): probability that at least M of K signs are positive."""
    return sum(math.comb(K, j) for j in range(M, K + 1)) / 2**K


def p_learn_as_printed(K, M):
    """2^(−K) Σ_{j=0}^{M} C(K, j), the formula as printed in the paper."""
    return sum(math.comb(K, j) for j in range(0, min(M, K) + 1)) / 2**K


def wilson_interval(successes, trials, z=1.959963984540054):
    """95 % (z = 1.96) Wilson score interval (low, high) for a binomial fraction."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
