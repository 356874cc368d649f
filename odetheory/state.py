"""Order parameters of the teacher-student problem and their validation.

``State`` holds Q (K,K), R (K,M), T (M,M), A (M,), v (K,) and the feedback F (K,).
``State.checked`` turns user arrays into a validated State or raises InputError
with a one-line message.
"""
from dataclasses import dataclass

import numpy as np

from .errors import InputError

PSD_RTOL = 1e-8  # eigenvalues above −PSD_RTOL·max(1, max variance) count as rounding


@dataclass(frozen=True)
class State:
    """Order parameters: Q = W Wᵀ/N, R = W Bᵀ/N, T = B Bᵀ/N, second layers v, A, feedback F.

    N and seed: the input size and seed of the weights they were computed from, when known
    (``Network.state()``); a run records them in its settings, they change nothing else."""

    Q: np.ndarray
    R: np.ndarray
    T: np.ndarray
    A: np.ndarray
    v: np.ndarray
    F: np.ndarray
    N: int = None
    seed: int = None

    @property
    def K(self):
        return self.v.shape[0]

    @property
    def M(self):
        return self.A.shape[0]

    def __repr__(self):
        where = "".join(f", {k}={getattr(self, k)}" for k in ("N", "seed") if getattr(self, k) is not None)
        return f"State(K={self.K}, M={self.M}{where})"

    def covariance(self):
        """C = [[Q, R], [Rᵀ, T]], shape (K+M, K+M)."""
        return np.block([[self.Q, self.R], [self.R.T, self.T]])

    @classmethod
    def checked(cls, Q, R, T, A, v, F=None):
        """Validated State from array-likes; F defaults to v (matched feedback)."""
        arrays = {}
        for name, x in (("Q", Q), ("R", R), ("T", T), ("A", A), ("v", v), ("F", v if F is None else F)):
            try:
                a = np.array(x, dtype=float)
            except (TypeError, ValueError):
                raise InputError(f"{name} is not a numeric array") from None
            if not np.all(np.isfinite(a)):
                raise InputError(f"{name} has non-finite entries")
            arrays[name] = a
        v, A = arrays["v"], arrays["A"]
        if v.ndim != 1 or v.size < 1:
            raise InputError(f"v must be a vector of K >= 1 entries, got shape {v.shape}")
        if A.ndim != 1 or A.size < 1:
            raise InputError(f"A must be a vector of M >= 1 entries, got shape {A.shape}")
        K, M = v.size, A.size
        for name, shape in (("Q", (K, K)), ("R", (K, M)), ("T", (M, M)), ("F", (K,))):
            if arrays[name].shape != shape:
                raise InputError(f"{name} has shape {arrays[name].shape}, expected {shape} for K={K}, M={M}")
        for name in ("Q", "T"):
            if not np.allclose(arrays[name], arrays[name].T, rtol=1e-10, atol=1e-12):
                raise InputError(f"{name} is not symmetric")
            arrays[name] = 0.5 * (arrays[name] + arrays[name].T)
        state = cls(**arrays)
        C = state.covariance()
        lowest = np.linalg.eigvalsh(C)[0]
        if lowest < -PSD_RTOL * max(1.0, np.max(np.diag(C))):
            raise InputError(f"C = [[Q, R], [R^T, T]] is not positive semi-definite (lowest eigenvalue {lowest:.3g})")
        return state

    def as_dict(self):
        return {"Q": self.Q, "R": self.R, "T": self.T, "A": self.A, "v": self.v, "F": self.F}


def load_state(path):
    """State from an .npz file with keys Q, R, T, A, v and optional F."""
    try:
        with np.load(path) as data:
            missing = [k for k in ("Q", "R", "T", "A", "v") if k not in data]
            if missing:
                raise InputError(f"{path}: missing key(s) {', '.join(missing)} (need Q, R, T, A, v; F optional)")
            arrays = {k: data[k] for k in ("Q", "R", "T", "A", "v", "F") if k in data}
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read initial state {path}: {exc}") from None
    return State.checked(**arrays)
