"""The problem the ODE solves: the constant parameters, with named fields, and the state vector.

``Problem`` is a NamedTuple, which numba passes to compiled code as a typed record
(fields read by name, no boxing). The state vector of the solvers is

    y = [Q.ravel() (K·K), R.ravel() (K·M), v (K)]

and ``Problem`` holds everything that stays constant: sizes K, M; teacher T (M,M),
A (M,); feedback F (K,); the student's and the teacher's activation and the rule (their
integer codes, see ``integrals.activations`` and ``rules``); learning rates η, η_v (η_v = 0
keeps v fixed); the teacher's output noise σ; eta2 = 1.0 to keep the η² (SGD noise) and
σ² terms, 0.0 to drop them (only for checking conservation laws); the weight decays λ, λ_v;
and the power-law schedules (α0, γ) of η and η_v (γ = 0: constant).
"""
from typing import NamedTuple

import numpy as np

from ..integrals.pairs import codes
from ..schedules import schedule
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
    weight_decay: float
    weight_decay_v: float
    eta_alpha0: float
    eta_gamma: float
    eta_v_alpha0: float
    eta_v_gamma: float


def make_problem(state, activation, rule, eta, eta_v, sigma, eta2_terms=True, teacher_activation=None,
                 weight_decay=0.0, weight_decay_v=0.0, eta_schedule=None, eta_v_schedule=None):
    """The Problem of ``state`` (its T, A, F) under the given model and learning rule.

    activation, teacher_activation: the student's g and the teacher's g* (names, expressions
    or Activations; the teacher's defaults to the student's); their codes come from
    ``binding.codes``. weight_decay, weight_decay_v: λ, λ_v of THEORY.md §10.
    eta_schedule, eta_v_schedule: ``schedules.Schedule``s; the Problem holds a power law's
    (α0, γ), a step schedule is integrated piece by piece by the caller."""
    student, teacher = codes(activation, teacher_activation)
    (a0, g0), (a1, g1) = schedule(eta_schedule).power_law, schedule(eta_v_schedule, "--eta-v-schedule").power_law
    return Problem(K=int(state.K), M=int(state.M), T=np.ascontiguousarray(state.T, dtype=float),
                   A=np.ascontiguousarray(state.A, dtype=float), F=np.ascontiguousarray(state.F, dtype=float),
                   activation=student, teacher_activation=teacher, rule=rule_code(rule), eta=float(eta),
                   eta_v=float(eta_v), sigma=float(sigma), eta2=1.0 if eta2_terms else 0.0,
                   weight_decay=float(weight_decay), weight_decay_v=float(weight_decay_v),
                   eta_alpha0=float(a0), eta_gamma=float(g0), eta_v_alpha0=float(a1), eta_v_gamma=float(g1))


def pack(state):
    """State vector y = [Q.ravel(), R.ravel(), v] of ``rhs``."""
    return np.concatenate((state.Q.ravel(), state.R.ravel(), state.v))
