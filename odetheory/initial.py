"""Initial conditions drawn as actual weights at finite N.

One seed is split with ``numpy.random.SeedSequence`` into independent streams for
the teacher, the student, the feedback and the data (THEORY.md §8): re-seeding after
the teacher would make a K = M student start as a scaled copy of it.

``network_from_state`` goes the other way: weights at N whose overlaps are exactly
given order parameters (``simulate --init``), from a stream of its own.
"""
import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError, check_integer, check_number
from .options import DEFAULTS, OPTIONS
from .state import State

STREAMS = ("teacher", "student", "feedback", "data")
TEACHER_SECOND_LAYERS = OPTIONS["teacher_second_layer"].bound
FEEDBACKS = OPTIONS["feedback"].bound


def random_streams(seed):
    """Independent generators {teacher, student, feedback, data} from one integer seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


def frame_stream(seed):
    """Generator of the random frame of ``network_from_state``: child len(STREAMS) + 1 of
    the seed (child len(STREAMS) is the Monte-Carlo test set of ``simulate``), so it is
    independent of every other stream of that seed."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(len(STREAMS) + 2)[-1])


@dataclass(frozen=True)
class Network:
    """Weights at finite N: teacher B (M,N), A (M,); student W (K,N), v (K,); feedback F (K,).
    seed: the seed they were drawn from (None when not known)."""

    B: np.ndarray
    A: np.ndarray
    W: np.ndarray
    v: np.ndarray
    F: np.ndarray
    seed: int = None

    @property
    def N(self):
        return self.B.shape[1]

    @property
    def K(self):
        return self.W.shape[0]

    @property
    def M(self):
        return self.B.shape[0]

    def __repr__(self):
        seed = "" if self.seed is None else f", seed={self.seed}"
        return f"Network(K={self.K}, M={self.M}, N={self.N}{seed}; W {self.W.shape}, B {self.B.shape})"

    def state(self):
        """Order parameters Q = W Wᵀ/N, R = W Bᵀ/N, T = B Bᵀ/N with v, A, F (and N, seed)."""
        N = self.N
        Q = self.W @ self.W.T / N
        return State(Q=0.5 * (Q + Q.T), R=self.W @ self.B.T / N, T=self.B @ self.B.T / N,
                     A=self.A.copy(), v=self.v.copy(), F=self.F.copy(), N=N, seed=self.seed)


def check_sizes(K, M, N):
    """InputError unless K, M, N are integers >= 1."""
    for name, x in (("K", K), ("M", M), ("N", N)):
        check_integer(name, x, lowest=1)


def draw_network(K, M, N=DEFAULTS["N"], sigma0=DEFAULTS["sigma0"], seed=DEFAULTS["seed"],
                 teacher_second_layer=DEFAULTS["teacher_second_layer"], feedback=DEFAULTS["feedback"]):
    """Draw teacher, student and feedback weights from independent streams.

    Teacher first layer B_mi ~ N(0, 1); A_m = 1 (``ones``) or N(0, 1) (``gaussian``).
    Student W_ki, v_k ~ N(0, sigma0²). Feedback F ~ N(0, 1) (``gaussian``), F = v(0)
    (``matched``) or |N(0, 1)| (``positive``).
    """
    check_sizes(K, M, N)
    check_number("sigma0", sigma0, 0.0, strict=False)
    if teacher_second_layer not in TEACHER_SECOND_LAYERS:
        raise InputError(f"unknown teacher second layer {teacher_second_layer!r}; choose ones or gaussian",
                         option="teacher_second_layer")
    if feedback not in FEEDBACKS:
        raise InputError(f"unknown feedback {feedback!r}; choose one of {', '.join(FEEDBACKS)}", option="feedback")
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
    return Network(B=B, A=A, W=W, v=v, F=F, seed=seed)


def covariance_factor(C):
    """L (n, n) with L Lᵀ = C for a PSD C (n, n): the Cholesky factor, or for a singular C
    (a fixed point on the boundary of the cone, e.g. a learned student) V √max(Λ, 0) from
    C = V Λ Vᵀ."""
    try:
        return np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        lam, V = np.linalg.eigh(C)
        return V * np.sqrt(np.maximum(lam, 0.0))


def network_from_state(state, N, seed=0):
    """Weights at input size N whose overlaps are the order parameters of ``state``.

    With C' = [[T, Rᵀ], [R, Q]] (teacher first) = L Lᵀ and O (N, K+M) a random orthonormal
    frame of R^N (QR of a Gaussian matrix from ``frame_stream(seed)``), the rows of
    [B; W] = √N L Oᵀ give B Bᵀ/N = T, W Bᵀ/N = R, W Wᵀ/N = Q up to rounding; v, A and F
    are copied. Needs N >= K + M.
    """
    K, M = state.K, state.M
    check_integer("N", N, lowest=1)
    if N < K + M:
        raise InputError(f"N must be at least K + M = {K + M} to hold the given overlaps, got N = {N}")
    C = np.block([[state.T, state.R.T], [state.R, state.Q]])
    L = covariance_factor(0.5 * (C + C.T))
    frame, upper = np.linalg.qr(frame_stream(seed).standard_normal((N, K + M)))
    frame = frame * np.where(np.diag(upper) < 0, -1.0, 1.0)  # the Haar-distributed frame
    rows = math.sqrt(N) * L @ frame.T
    return Network(B=np.ascontiguousarray(rows[:M]), A=np.array(state.A, float),
                   W=np.ascontiguousarray(rows[M:]), v=np.array(state.v, float), F=np.array(state.F, float),
                   seed=seed)
