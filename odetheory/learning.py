"""How the student learns, as one value the ODE and the SGD loops share (THEORY.md §1, §10).

``Learning`` holds the integer codes of the student's and the teacher's activation and of
the rule, the learning rates η, η_v (η_v = 0 keeps v fixed), the teacher's output noise
σ, the weight decays λ, λ_v, and the power-law schedules (α0, γ) of η and η_v (γ = 0:
constant); ``rates(p, t)`` gives (η, η_v) at time α = t. The ODE's ``Problem`` carries
one, and so does every step of the SGD loops. A step schedule is not in it: the ODE and
the simulator run such a schedule piece by piece, each piece with its own constant η.
"""
from typing import NamedTuple

from numba import njit

from .integrals.pairs import codes
from .rules import rule_code
from .schedules import schedule


class Learning(NamedTuple):
    activation: int
    teacher_activation: int
    rule: int
    eta: float
    eta_v: float
    sigma: float
    weight_decay: float = 0.0
    weight_decay_v: float = 0.0
    eta_alpha0: float = 1.0
    eta_gamma: float = 0.0
    eta_v_alpha0: float = 1.0
    eta_v_gamma: float = 0.0


def learning(activation, rule, eta, eta_v, sigma, teacher_activation=None, weight_decay=0.0, weight_decay_v=0.0,
             eta_schedule=None, eta_v_schedule=None):
    """The Learning for these options: activations as names, expressions or Activations
    (codes from ``pairs.codes``), the rule by name, schedules as ``Schedule``s or text (only a
    power law's (α0, γ) enters; see the module docstring)."""
    student, teacher = codes(activation, teacher_activation)
    (a0, g0), (a1, g1) = schedule(eta_schedule).power_law, schedule(eta_v_schedule, "--eta-v-schedule").power_law
    return Learning(student, teacher, rule_code(rule), float(eta), float(eta_v), float(sigma), float(weight_decay),
                    float(weight_decay_v), float(a0), float(g0), float(a1), float(g1))


@njit(cache=True)
def rate(base, alpha0, gamma, t):
    """Learning rate at time t: base·(1 + t/α0)^(−γ) (γ = 0: constant)."""
    if gamma == 0.0:
        return base
    return base * (1.0 + t / alpha0) ** (-gamma)


@njit(cache=True)
def rates(p, t):
    """(η, η_v) at time t for the Learning p."""
    return rate(p.eta, p.eta_alpha0, p.eta_gamma, t), rate(p.eta_v, p.eta_v_alpha0, p.eta_v_gamma, t)
