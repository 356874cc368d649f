"""The problem the ODE solves: the constant parameters, with named fields, and the state vector.

``Problem`` is a NamedTuple, which numba passes to compiled code as a typed record
(fields read by name, no boxing). The state vector of the solvers is

    y = [Q.ravel() (K·K), R.ravel() (K·M), v (K)]

and ``Problem`` holds everything that stays constant: sizes K, M; teacher T (M,M),
A (M,); feedback F (K,); the student's and the teacher's activation and the rule (their
integer codes, see ``integrals.activations`` and ``rules``; the kernels so far need the
two activations equal); learning rates η, η_v (η_v = 0 keeps v
fixed); the teacher's output noise σ; and eta2 = 1.0 to keep the η² (SGD noise) and
σ² terms, 0.0 to drop them (only for checking conservation laws).
"""
from typing import NamedTuple

import numpy as np

from ..errors import InputError
from ..integrals.activations import activation_code
from ..rules import rule_code


class Problem(NamedTuple):
    K: int
    M: int
    T: np.ndarray
    A: np.ndarray
    F: np.ndarray
    activation: int
    teacher_activation: int
    rule: int
    eta: float
    eta_v: float
    sigma: float
    eta2: float


def make_problem(state, activation, rule, eta, eta_v, sigma, eta2_terms=True, teacher_activation=None):
    """The Problem of ``state`` (its T, A, F) under the given model and learning rule.

    teacher_activation: the teacher's g (default: the student's); the closed-form kernels
    take one activation for all fields, so a different one is refused for now."""
    student = activation_code(activation)
    teacher = student if teacher_activation is None else activation_code(teacher_activation)
    if teacher != student:
        raise InputError("a teacher activation different from the student's is not supported yet")
    return Problem(K=int(state.K), M=int(state.M), T=np.ascontiguousarray(state.T, dtype=float),
                   A=np.ascontiguousarray(state.A, dtype=float), F=np.ascontiguousarray(state.F, dtype=float),
                   activation=student, teacher_activation=teacher, rule=rule_code(rule), eta=float(eta),
                   eta_v=float(eta_v), sigma=float(sigma), eta2=1.0 if eta2_terms else 0.0)


def pack(state):
    """State vector y = [Q.ravel(), R.ravel(), v] of ``rhs``."""
    return np.concatenate((state.Q.ravel(), state.R.ravel(), state.v))
