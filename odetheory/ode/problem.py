"""The problem the ODE solves: the constant parameters, with named fields, and the state vector.

``Problem`` is a NamedTuple, which numba passes to compiled code as a typed record
(fields read by name, no boxing). The state vector of the solvers is

    y = [Q.ravel() (K·K), R.ravel() (K·M), v (K)]

and ``Problem`` holds everything that stays constant: sizes K, M; teacher T (M,M),
A (M,); feedback F (K,); how the student learns (``learning.Learning``: activation and
rule codes, η, η_v, σ, weight decays, power-law schedules, shared with the SGD loops);
and eta2 = 1.0 to keep the η² (SGD noise) and σ² terms, 0.0 to drop them (only for
checking conservation laws).
"""
from typing import NamedTuple

import numpy as np

from ..learning import Learning, learning


class Problem(NamedTuple):
    K: int
    M: int
    T: np.ndarray
    A: np.ndarray
    F: np.ndarray
    learning: Learning
    eta2: float


def make_problem(state, activation, rule, eta, eta_v, sigma, eta2_terms=True, teacher_activation=None,
                 weight_decay=0.0, weight_decay_v=0.0, eta_schedule=None, eta_v_schedule=None):
    """The Problem of ``state`` (its T, A, F) under the given model and learning rule.

    activation, teacher_activation: the student's g and the teacher's g* (names, expressions
    or Activations; the teacher's defaults to the student's). weight_decay, weight_decay_v:
    λ, λ_v of THEORY.md §10. eta_schedule, eta_v_schedule: ``schedules.Schedule``s; the
    Problem holds a power law's (α0, γ), a step schedule is integrated piece by piece by
    the caller."""
    return Problem(K=int(state.K), M=int(state.M), T=np.ascontiguousarray(state.T, dtype=float),
                   A=np.ascontiguousarray(state.A, dtype=float), F=np.ascontiguousarray(state.F, dtype=float),
                   learning=learning(activation, rule, eta, eta_v, sigma, teacher_activation, weight_decay,
                                     weight_decay_v, eta_schedule, eta_v_schedule),
                   eta2=1.0 if eta2_terms else 0.0)


def pack(state):
    """State vector y = [Q.ravel(), R.ravel(), v] of ``rhs``."""
    return np.concatenate((state.Q.ravel(), state.R.ravel(), state.v))
