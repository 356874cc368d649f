"""Learning rules: the feedback f (K,) that scales each unit's first-layer update (THEORY.md §3).

    bp:   f = v         back-propagation
    dfa:  f = F         direct feedback alignment (a fixed random vector)
    sign: f = sign(v)   sign feedback

BP, DFA and sign feedback differ only in this function; the ODE's right-hand side and
both SGD samplers call it. A rule travels into compiled code as its integer code.
"""
import numpy as np
from numba import njit

from .errors import InputError

BP, DFA, SIGN = 0, 1, 2
RULES = {"bp": BP, "dfa": DFA, "sign": SIGN}


def rule_code(name):
    """Integer code of a learning rule name (bp, dfa, sign); InputError otherwise."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown rule {name!r}; choose one of {', '.join(RULES)}") from None


@njit(cache=True)
def feedback(rule, v, F):
    """Feedback f (K,) that scales each unit's first-layer update: v (BP), F (DFA), sign(v)."""
    if rule == BP:
        return v.copy()
    if rule == DFA:
        return F.copy()
    return np.sign(v)
