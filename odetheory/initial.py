"""Initial conditions drawn as actual weights at finite N.

One seed is split with ``numpy.random.SeedSequence`` into independent streams for
the teacher, the student, the feedback and the data (THEORY.md §8): re-seeding after
the teacher would make a K = M student start as a scaled copy of it.
"""
from dataclasses import dataclass

import numpy as np

from .errors import InputError, check_integer, check_number
from .state import State

STREAMS = ("teacher", "student", "feedback", "data")
TEACHER_SECOND_LAYERS = ("ones", "gaussian")
FEEDBACKS = ("gaussian", "matched", "positive")


def random_streams(seed):
    """Independent generators {teacher, student, feedback, data} from one integer seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


@dataclass(frozen=True)
class Network:
    """Weights at finite N: teacher B (M,N), A (M,); student W (K,N), v (K,); feedback F (K,)."""

    B: np.ndarray
    A: np.ndarray
    W: np.ndarray
    v: np.ndarray
    F: np.ndarray

    @property
    def N(self):
        return self.B.shape[1]

    def state(self):
        """Order parameters Q = W Wᵀ/N, R = W Bᵀ/N, T = B Bᵀ/N with v, A, F."""
        N = self.N
        Q = self.W @ self.W.T / N
        return State(Q=0.5 * (Q + Q.T), R=self.W @ self.B.T / N, T=self.B @ self.B.T / N,
                     A=self.A.copy(), v=self.v.copy(), F=self.F.copy())


def check_sizes(K, M, N):
    """InputError unless K, M, N are integers >= 1."""
    for name, x in (("K", K), ("M", M), ("N", N)):
        check_integer(name, x, lowest=1)


def draw_network(K, M, N=500, sigma0=1e-2, seed=0, teacher_second_layer="ones", feedback="gaussian"):
    """Draw teacher, student and feedback weights from independent streams.

    Teacher first layer B_mi ~ N(0, 1); A_m = 1 (``ones``) or N(0, 1) (``gaussian``).
    Student W_ki, v_k ~ N(0, sigma0²). Feedback F ~ N(0, 1) (``gaussian``), F = v(0)
    (``matched``) or |N(0, 1)| (``positive``).
    """
    check_sizes(K, M, N)
    check_number("sigma0", sigma0, 0.0, strict=False)
    if teacher_second_layer not in TEACHER_SECOND_LAYERS:
        raise InputError(f"unknown teacher second layer {teacher_second_layer!r}; choose ones or gaussian")
    if feedback not in FEEDBACKS:
        raise InputError(f"unknown feedback {feedback!r}; choose one of {', '.join(FEEDBACKS)}")
    rng = random_streams(seed)
    B = rng["teacher"].standard_normal((M, N))
    A = np.ones(M) if teacher_second_layer == "ones" else rng["teacher"].standard_normal(M)
    W = sigma0 * rng["student"].standard_normal((K, N))
    v = sigma0 * rng["student"].standard_normal(K)
    if feedback == "gaussian":
        F = rng["feedback"].standard_normal(K)
    elif feedback == "positive":
        F = np.abs(rng["feedback"].standard_normal(K))
    else:
        F = v.copy()
    return Network(B=B, A=A, W=W, v=v, F=F)
