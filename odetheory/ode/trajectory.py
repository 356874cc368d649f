"""``Trajectory``: order parameters and observables at output times, from the ODE or a simulation.

Fields: t (n,), eg (n,), cos_vF (n,), Q (n,K,K), R (n,K,M), v (n,K); the constant
T (M,M), A (M,), F (K,); status, message, nfev, wall_time (s) and the settings.
The CSV layout has a header row and the columns t, eg, cos_vF, Q_k_l, R_k_m, v_k
(indices from 1).
"""
import copy
from dataclasses import dataclass, field

import numpy as np

from ..integrals.pairs import codes
from ..io import atomic_write
from ..state import State
from .model import rhs_functions
from .rhs import covariance, error_weights


def eg_of(activation, Q, R, T, A, v, teacher_activation=None):
    """ε_g = ½ E[(ŷ − y)²] from order parameters (one time point); the teacher's activation
    defaults to the student's."""
    student, teacher = codes(activation, teacher_activation)
    eg = rhs_functions(activation, teacher_activation).generalisation_error
    return eg(student, teacher, covariance(Q, R, T), error_weights(v, A), Q.shape[0])


def cosine(v, F):
    """cos(v, F) = v·F / (|v| |F|); 0 when either vector vanishes."""
    norm = np.linalg.norm(v) * np.linalg.norm(F)
    return float(v @ F / norm) if norm > 0 else 0.0


@dataclass(repr=False)
class Trajectory:
    """A run of the ODE (``integrate``) or of SGD (``simulate.simulate``) at its output times.

    t (n,): times α = steps/N; eg (n,): generalisation error ε_g; cos_vF (n,): cos(v, F);
    Q (n,K,K), R (n,K,M), v (n,K): order parameters; T (M,M), A (M,), F (K,): the
    constant teacher overlaps, teacher second layer and feedback. status (0 = success,
    see ``odetheory.status``), message, nfev (right-hand-side evaluations, 0 for a
    simulation), wall_time (s, compiling excluded), settings (the options of the run,
    with K, M, N and seed when known, and compile_time). ``success``, ``K``, ``M``;
    ``columns()``, ``to_csv``, ``to_npz``, ``final_state()``.
    """

    t: np.ndarray
    eg: np.ndarray
    cos_vF: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    T: np.ndarray
    A: np.ndarray
    F: np.ndarray
    status: int = 0
    message: str = ""
    nfev: int = 0
    wall_time: float = 0.0
    settings: dict = field(default_factory=dict)

    @property
    def success(self):
        return self.status == 0

    def __repr__(self):
        s = self.settings
        what = {"ode": "ODE", "sim": "SGD"}.get(s.get("method"), "run")
        sizes = f"K={self.K}, M={self.M}" + (f", N={s['N']}" if s.get("N") is not None else "")
        seed = f", seed={s['seed']}" if s.get("seed") is not None else ""
        end = (f"t = {self.t[-1]:.6g}, eg = {self.eg[-1]:.6g}" if len(self.t) else "no rows")
        state = "ok" if self.success else f"status {self.status}: {self.message}"
        return (f"Trajectory({what}, {sizes}{seed}; {len(self.t)} times, Q {self.Q.shape}, R {self.R.shape}, "
                f"v {self.v.shape}; final {end}; {state})")

    @classmethod
    def from_order_parameters(cls, t, Q, R, v, state0, activation, teacher_activation=None, **info):
        """Build from Q (n,K,K), R (n,K,M), v (n,K) and the constant T, A, F of state0."""
        eg = np.array([eg_of(activation, Q[i], R[i], state0.T, state0.A, v[i], teacher_activation)
                       for i in range(len(t))])
        cos = np.array([cosine(v[i], state0.F) for i in range(len(t))])
        return cls(t=np.asarray(t, float), eg=eg, cos_vF=cos, Q=Q, R=R, v=v,
                   T=state0.T, A=state0.A, F=state0.F, **info)

    @classmethod
    def from_packed(cls, t, Y, state0, activation, teacher_activation=None, **info):
        """Build from packed ODE states Y (n, K·K + K·M + K)."""
        K, M = state0.K, state0.M
        n = len(t)
        Q = Y[:, :K * K].reshape(n, K, K)
        R = Y[:, K * K:K * K + K * M].reshape(n, K, M)
        v = Y[:, K * K + K * M:]
        return cls.from_order_parameters(t, Q, R, v, state0, activation, teacher_activation, **info)

    PER_TIME = ("t", "eg", "cos_vF", "Q", "R", "v", "eg_mc", "eg_mc_se")  # eg_mc*: simulations with mc_test

    def truncated(self, n):
        """A copy with the first n output times: every per-time array (``PER_TIME``, those a
        simulation adds included) cut to n, everything else (T, A, F, status, settings, ...) kept."""
        out = copy.copy(self)
        for name in self.PER_TIME:
            value = getattr(self, name, None)
            if value is not None and len(value) == len(self.t):
                setattr(out, name, value[:n])
        return out

    @property
    def K(self):
        return self.v.shape[1]

    @property
    def M(self):
        return self.A.shape[0]

    def columns(self):
        """(header names, table (n, columns)) in the CSV layout."""
        K, M, n = self.K, self.M, len(self.t)
        names = ["t", "eg", "cos_vF"]
        names += [f"Q_{k + 1}_{l + 1}" for k in range(K) for l in range(K)]
        names += [f"R_{k + 1}_{m + 1}" for k in range(K) for m in range(M)]
        names += [f"v_{k + 1}" for k in range(K)]
        table = np.column_stack((self.t, self.eg, self.cos_vF, self.Q.reshape(n, -1),
                                 self.R.reshape(n, -1), self.v.reshape(n, -1)))
        return names, table

    def to_csv(self, path, overwrite=False):
        names, table = self.columns()
        with atomic_write(path, overwrite) as fh:
            np.savetxt(fh, table, delimiter=",", header=",".join(names), comments="", fmt="%.12g")

    def to_npz(self, path, overwrite=False):
        with atomic_write(path, overwrite, mode="wb") as fh:
            np.savez(fh, t=self.t, eg=self.eg, cos_vF=self.cos_vF, Q=self.Q, R=self.R, v=self.v,
                     T=self.T, A=self.A, F=self.F, status=self.status, message=self.message)

    def final_state(self):
        """Order parameters at the last output time, as an (unchecked) State."""
        return State(Q=self.Q[-1], R=self.R[-1], T=self.T, A=self.A, v=self.v[-1], F=self.F)
