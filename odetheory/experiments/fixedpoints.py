"""Fixed points of the order-parameter ODEs, their spectra, and how long a plateau lasts (THEORY.md §11).

``fixed_points(state, ...)`` integrates the ODE (or takes a trajectory), finds every
plateau (``odetheory.plateaus.plateaus``) and the end state, and refines each to a zero
of the full right-hand side (η² and σ² terms included).

Coordinates: x = [Q_kl for k ≤ l, R_km, v_k] (n = K(K+1)/2 + KM + K; v only when the
second layer is trained). T, A, F are parameters and stay fixed.

Newton's method. From several states of the stretch to explain (up to ``STARTS``,
spread evenly in ln α), a damped Newton iteration solves dx/dα = 0 twice: in x
(trial points must keep C = [[Q, R], [Rᵀ, T]] positive semi-definite), and in weight
coordinates z = (P (K,M), S (K,K) lower triangular, v) with Q = PPᵀ + SSᵀ, R = P L_Tᵀ,
T = L_T L_Tᵀ, where every point is a valid covariance by construction (this is how
Newton reaches fixed points on the boundary of the cone, e.g. a learned student or
coinciding units). Each step is the least-squares (pseudo-inverse) solution of
J d = −f, so a singular Jacobian (a continuum of fixed points) does not stop it, and is
halved until |f|₂ decreases. A point is a fixed point when max_i |dy_i/dα| <
RESIDUAL_MAX = 1e-12 on the packed state y = [Q, R, v] (typically 1e-17 is reached).
A plateau is explained by the converged point nearest to its stretch of the
trajectory whose ε_g lies within a factor 2 of the plateau's height (the factor of the
plateau definition); the end state by the converged point nearest to it. When none
converges, the entry says so ("not a fixed point") and describes the slowest state of
the stretch instead: its speed max|dy/dα|, the direction it drifts in, and its local
spectrum.

Jacobian: J (n, n) = ∂(dx/dα)/∂x by central differences of the compiled right-hand
side, step h_j = ε^(1/3) max(|x_j|, 0.1 max|x|) (truncation and rounding both about
ε^(2/3) ≈ 4e-11 relative); the same at 2h gives an error estimate. Spectrum: the
eigenvalues of J sorted by real part, largest first. |λ| ≤ ZERO_RTOL · max|λ| = 10⁻⁶ max|λ|
is a zero mode (a direction along a continuum of fixed points: a unit with v_k = 0 under BP, a
ReLU or linear student at ε_g = 0, the second layers of coinciding units); Re λ above
that is unstable. λ₊ is the largest unstable real part; the leading eigenvector is
written in coordinate names ("+0.50 R_1_1 -0.50 R_1_2 ..."). For ReLU on the boundary
of the PSD cone the right-hand side is not differentiable (√det terms): the spectrum
there is marked as only indicative, with the jump of the one-sided slopes (``kink``),
the scale below which its eigenvalues are not resolved.

``plateau_length(...)`` starts finite-N simulations at a saddle's order parameters
(``odetheory.initial.network_from_state``) and measures when they leave it; the time
grows like (1/λ₊) ln(c √N), so its slope against ln N is 1/(2λ₊).

Every call of the right-hand side goes through ``_rhs_function``.
"""
import json
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from simulate import SAMPLERS, simulate

from ..errors import InputError, check_integer, check_number
from ..initial import network_from_state
from ..integrals.activations import RELU, activation_code
from ..io import atomic_write, check_writable
from ..ode.integrate import integrate
from ..ode.problem import make_problem
from ..ode.rhs import derivatives
from ..ode.trajectory import Trajectory, eg_of
from ..options import defaults
from ..plateaus import SPAN_MIN, plateaus
from ..plotting import cycle_colors, figure_and_axes, figure_and_panels, save_figure
from ..rules import rule_code
from ..state import PSD_RTOL, State
from .parallel import map_parallel

RESIDUAL_MAX = 1e-12  # max |dy/dα| of a converged fixed point
ZERO_RTOL = 1e-6      # |λ| ≤ ZERO_RTOL · max|λ|: a zero mode
ROUNDING = 1e-14      # printed residuals and ε_g below this are rounding error: printed as "< 1e-14"
BOUNDARY_RTOL = 1e-9  # lowest eigenvalue of C below this (relative): on the boundary of the PSD cone
SAME_RTOL = 1e-7      # refined points closer than this (relative, max norm) are one fixed point
STARTS = 8            # Newton starts per stretch of the trajectory
_EPS3 = np.finfo(float).eps ** (1.0 / 3.0)


# ---------------------------------------------------------------- the right-hand side

def coordinate_names(K, M, trained=True):
    """Names of the coordinates x: Q_k_l (k ≤ l), R_k_m, v_k (indices from 1)."""
    names = [f"Q_{k + 1}_{l + 1}" for k in range(K) for l in range(k, K)]
    names += [f"R_{k + 1}_{m + 1}" for k in range(K) for m in range(M)]
    if trained:
        names += [f"v_{k + 1}" for k in range(K)]
    return names


def _rhs_function(state, activation="erf", rule="dfa", eta=0.1, eta_v=None, sigma=0.0,
                  train_second_layer=True, eta2_terms=True):
    """(fun, pack, unpack) of the flow in the coordinates x of the module docstring.

    fun(x (n,)) -> dx/dα (n,), the full right-hand side (η² and σ² terms unless
    eta2_terms=False; NaN where the compiled code divides by zero, far outside the
    physical region); pack(Q (K,K), R (K,M), v (K,)) -> x; unpack(x) -> (Q, R, v), with
    v = state.v when the second layer is fixed. T, A, F are those of ``state``. The one
    place that builds the problem parameters and calls the compiled right-hand side.
    """
    eta_v = eta if eta_v is None else eta_v
    problem = make_problem(state, activation, rule, eta, eta_v if train_second_layer else 0.0, sigma, eta2_terms)
    K, M = state.K, state.M
    iu = np.triu_indices(K)
    nq, nr = len(iu[0]), K * M
    v_fixed = np.array(state.v, dtype=float)

    def pack(Q, R, v):
        parts = [np.asarray(Q, float)[iu], np.asarray(R, float).ravel()]
        if train_second_layer:
            parts.append(np.asarray(v, float))
        return np.concatenate(parts)

    def unpack(x):
        Q = np.zeros((K, K))
        Q[iu] = x[:nq]
        Q = Q + np.triu(Q, 1).T
        R = np.array(x[nq:nq + nr]).reshape(K, M)
        v = np.array(x[nq + nr:]) if train_second_layer else v_fixed.copy()
        return Q, R, v

    def fun(x):
        Q, R, v = unpack(np.asarray(x, float))
        try:
            dy = derivatives(0.0, np.concatenate((Q.ravel(), R.ravel(), v)), problem)
        except ZeroDivisionError:  # far outside the physical region (a Newton trial step)
            return np.full(len(x), np.nan)
        return pack(dy[:K * K].reshape(K, K), dy[K * K:K * K + K * M].reshape(K, M), dy[K * K + K * M:])

    return fun, pack, unpack


def _weight_coordinates(state, pack, unpack):
    """(z_of, x_of): weight coordinates z = [P.ravel(), S[lower], v] of the module
    docstring and back; x_of(z) is always a valid covariance."""
    K, M = state.K, state.M
    L_T = np.linalg.cholesky(state.T)
    il = np.tril_indices(K)
    ns = len(il[0])

    def z_of(x):
        Q, R, v = unpack(x)
        P = np.linalg.solve(L_T, R.T).T
        lam, V = np.linalg.eigh(Q - P @ P.T)
        S = V * np.sqrt(np.maximum(lam, 0.0))
        S = np.linalg.qr(S.T)[1].T  # the same S Sᵀ, lower triangular
        return np.concatenate((P.ravel(), S[il], x[ns + K * M:]))  # x[ns + KM:] is v (or empty)

    def x_of(z):
        P = z[:K * M].reshape(K, M)
        S = np.zeros((K, K))
        S[il] = z[K * M:K * M + ns]
        return np.concatenate((pack(P @ P.T + S @ S.T, P @ L_T.T, np.zeros(K))[:ns + K * M], z[K * M + ns:]))

    return z_of, x_of


def _steps(x):
    return _EPS3 * np.maximum(np.abs(x), 0.1 * max(np.max(np.abs(x)), 1e-3))


def central_jacobian(fun, x, h=None):
    """J (n, n), J[i, j] = ∂fun_i/∂x_j by central differences with steps h (n,) (default:
    ε^(1/3) max(|x_j|, 0.1 max|x|))."""
    x = np.asarray(x, float)
    h = _steps(x) if h is None else h
    J = np.empty((len(x), len(x)))
    for j in range(len(x)):
        up, down = x.copy(), x.copy()
        up[j] += h[j]
        down[j] -= h[j]
        J[:, j] = (fun(up) - fun(down)) / (2.0 * h[j])
    return J


def jacobian(fun, x):
    """(J, error): the central-difference Jacobian and an estimate of its largest error
    relative to max|J|: |J(h) − J(2h)|/3 (the O(h²) truncation), at least ε."""
    h = _steps(np.asarray(x, float))
    J = central_jacobian(fun, x, h)
    J2 = central_jacobian(fun, x, 2.0 * h)
    scale = max(np.max(np.abs(J)), 1e-300)
    return J, float(max(np.max(np.abs(J - J2)) / 3.0 / scale, np.finfo(float).eps))


def _lowest_eigenvalue(unpack, T, x):
    """(lowest eigenvalue of C, largest variance) at x."""
    Q, R, _ = unpack(x)
    C = np.block([[Q, R], [R.T, T]])
    return np.linalg.eigvalsh(C)[0], max(1.0, np.max(np.diag(C)))


def _psd(unpack, T):
    """x -> True when C at x is PSD within the tolerance of State.checked."""
    def valid(x):
        if not np.all(np.isfinite(x)):
            return False
        low, scale = _lowest_eigenvalue(unpack, T, x)
        return low >= -PSD_RTOL * scale
    return valid


def newton(fun, x0, valid=None, max_iter=60, rcond=1e-10):
    """Damped Newton iteration for fun(x) = 0 from x0 (staying where valid(x), if given).

    Step: least-squares solution of J d = −f (singular values below rcond·max dropped),
    halved (down to 2^-30) until |f|₂ decreases. Stops at max|f| < 1e-16, after
    max_iter steps, or when no step decreases |f|₂. Returns (x, f(x), iterations)."""
    x = np.array(x0, float)
    f = fun(x)
    it = 0
    if not np.all(np.isfinite(f)):
        return x, f, it
    for it in range(1, max_iter + 1):
        if np.max(np.abs(f)) < 1e-16:
            break
        J = central_jacobian(fun, x)
        if not np.all(np.isfinite(J)):
            break
        d = -np.linalg.lstsq(J, f, rcond=rcond)[0]
        norm, t, accepted = np.linalg.norm(f), 1.0, False
        while t >= 2.0 ** -30:
            trial = x + t * d
            if valid is None or valid(trial):
                f_trial = fun(trial)
                if np.all(np.isfinite(f_trial)) and np.linalg.norm(f_trial) < (1.0 - 1e-4 * t) * norm:
                    x, f, accepted = trial, f_trial, True
                    break
            t *= 0.5
        if not accepted:
            break
    return x, f, it


def _direction_text(vector, names, most=8):
    """'+0.71 R_1_1 -0.71 R_2_1': components of a vector, largest first, those above a
    tenth of the largest (at most `most`)."""
    vector = np.asarray(vector, float)
    big = np.max(np.abs(vector)) if len(vector) else 0.0
    if big == 0:
        return "0"
    order = np.argsort(-np.round(np.abs(vector), 2), kind="stable")  # ties as printed: in index order
    return " ".join(f"{vector[i]:+.2f} {names[i]}" for i in order[:most] if abs(vector[i]) >= 0.1 * big)


def _above_rounding(value, spec):
    """`value` in format `spec`, or '< 1e-14' where it is rounding error (a residual or ε_g of
    order one quantities that vanish at the fixed point), so that printed digits never
    depend on the order of floating-point sums."""
    return f"< {ROUNDING:g}" if abs(value) < ROUNDING else format(value, spec)


def _unit(vector):
    """Real unit vector along a (possibly complex) eigenvector, largest component positive."""
    vector = np.asarray(vector)
    if np.iscomplexobj(vector):
        vector = vector * np.exp(-1j * np.angle(vector[np.argmax(np.abs(vector))]))  # largest entry real
        vector = vector.real
    norm = np.linalg.norm(vector)
    if norm == 0:
        return vector
    vector = vector / norm
    return vector if vector[np.argmax(np.abs(vector))] >= 0 else -vector


# ---------------------------------------------------------------- one fixed point

@dataclass
class FixedPoint:
    """A refined fixed point (or, if not converged, the slowest state of its stretch).

    Q (K,K), R (K,M), v (K,); eigenvalues (n,) complex, sorted by real part, largest
    first, rates in 1/α; residual: max |dy/dα| there (1/α); lead: the eigenvalue of
    largest real part that is not a zero mode, lead_vector (n,) its eigenvector in the
    coordinates ``names``; zero_vectors (z, n): an orthonormal basis of the null space of the
    Jacobian (z ≤ n_zero); drift (n,): f/|f| at the point (the direction it moves in);
    kink (1/α): where the right-hand side is not smooth (ReLU on the boundary of the PSD
    cone), the jump of its one-sided slopes, the scale below which eigenvalues are not
    resolved (0 where it is smooth).
    """

    label: str
    t_start: float
    t_end: float
    converged: bool
    residual: float
    eg: float
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    eigenvalues: np.ndarray
    zero_tol: float
    jacobian_error: float
    n_unstable: int
    n_zero: int
    lead: complex
    lead_vector: np.ndarray
    zero_vectors: np.ndarray
    drift: np.ndarray
    names: list
    on_boundary: bool
    smooth: bool
    kink: float = 0.0
    distance: float = float("nan")
    alternatives: int = 0
    x: np.ndarray = field(repr=False, default=None)

    @property
    def lambda_plus(self):
        """Largest unstable real part (1/α); NaN when there is none or the point is not a fixed
        point (its local leading eigenvalue is ``lead``)."""
        return float(self.lead.real) if self.n_unstable and self.converged else float("nan")

    @property
    def classification(self):
        if not self.converged:
            return "not a fixed point"
        n = len(self.eigenvalues)
        if self.n_unstable == 0:
            kind = "stable"
        elif self.n_unstable + self.n_zero == n:
            kind = "unstable"
        else:
            kind = f"saddle ({self.n_unstable} unstable)"
        if self.n_zero:
            kind += f", {self.n_zero} zero mode{'s' if self.n_zero > 1 else ''}"
        if not self.smooth:
            kind += " (not smooth: spectrum indicative)"
        return kind

    def lead_text(self):
        return _direction_text(self.lead_vector, self.names)

    def zero_texts(self):
        return [_direction_text(z, self.names) for z in self.zero_vectors]

    def drift_text(self):
        return _direction_text(self.drift, self.names)

    def as_dict(self):
        """JSON-ready description (rates in 1/α, eigenvalues as [re, im])."""
        return {
            "label": self.label, "t_start": self.t_start, "t_end": self.t_end, "converged": bool(self.converged),
            "classification": self.classification, "residual": self.residual, "eg": self.eg,
            "n_unstable": self.n_unstable, "n_zero": self.n_zero, "zero_tol": self.zero_tol,
            "lambda_plus": None if math.isnan(self.lambda_plus) else self.lambda_plus,
            "lead_eigenvalue": [float(self.lead.real), float(self.lead.imag)], "lead_direction": self.lead_text(),
            "lead_vector": dict(zip(self.names, map(float, self.lead_vector))),
            "zero_directions": self.zero_texts(), "drift_direction": None if self.converged else self.drift_text(),
            "eigenvalues": [[float(z.real), float(z.imag)] for z in self.eigenvalues],
            "jacobian_error": self.jacobian_error, "on_psd_boundary": bool(self.on_boundary),
            "smooth": bool(self.smooth), "kink": self.kink, "distance_from_trajectory": self.distance,
            "other_fixed_points_found": self.alternatives,
            "Q": self.Q.tolist(), "R": self.R.tolist(), "v": self.v.tolist(),
        }


class _Flow:
    """The flow of one problem: right-hand side, coordinates, Newton in x and in z."""

    def __init__(self, state, activation, rule, eta, eta_v, sigma, train_second_layer, eta2_terms):
        self.state, self.activation = state, activation
        self.fun, self.pack, self.unpack = _rhs_function(state, activation, rule, eta, eta_v, sigma,
                                                          train_second_layer, eta2_terms)
        self.names = coordinate_names(state.K, state.M, train_second_layer)
        self.z_of, self.x_of = _weight_coordinates(state, self.pack, self.unpack)
        self.valid = _psd(self.unpack, state.T)

    def residual(self, x):
        return float(np.max(np.abs(self.fun(x))))

    def solve(self, x0):
        """Converged fixed points (list of x) reached from x0 by Newton in x and in z."""
        found = []
        x, f, _ = newton(self.fun, x0, self.valid)
        if np.max(np.abs(f)) < RESIDUAL_MAX and self.valid(x):
            found.append(x)
        z, f, _ = newton(lambda z: self.fun(self.x_of(z)), self.z_of(x0))
        x = self.x_of(z)
        if np.max(np.abs(f)) < RESIDUAL_MAX and self.valid(x):
            found.append(x)
        return found

    def analyse(self, x):
        """Spectrum at x: dict of the FixedPoint fields it determines."""
        J, err = jacobian(self.fun, x)
        lam, V = np.linalg.eig(J)
        order = np.argsort(-lam.real, kind="stable")
        lam, V = lam[order], V[:, order]
        zero_tol = ZERO_RTOL * max(np.max(np.abs(lam)), 1e-300)
        zero = np.abs(lam) <= zero_tol
        unstable = (lam.real > zero_tol) & ~zero
        rest = np.nonzero(~zero)[0]
        i = rest[0] if len(rest) else 0
        low, scale = _lowest_eigenvalue(self.unpack, self.state.T, x)
        on_boundary = low <= BOUNDARY_RTOL * scale
        f = self.fun(x)
        smooth = not (on_boundary and activation_code(self.activation) == RELU)
        Q, R, v = self.unpack(x)
        return dict(kink=0.0 if smooth else _kink(self.fun, x, f),
            residual=float(np.max(np.abs(f))), Q=Q, R=R, v=v,
            eg=float(eg_of(self.activation, Q, R, self.state.T, self.state.A, v)),
            eigenvalues=lam, zero_tol=float(zero_tol), jacobian_error=err, n_unstable=int(unstable.sum()),
            n_zero=int(zero.sum()), lead=complex(lam[i]), lead_vector=_unit(V[:, i]),
            zero_vectors=_null_space(J, zero_tol),
            drift=f / np.linalg.norm(f) if np.linalg.norm(f) > 0 else np.zeros_like(f), names=self.names,
            on_boundary=bool(on_boundary), smooth=smooth, x=x)


def _kink(fun, x, f0):
    """Spectral norm of (forward − backward difference Jacobian): O(h) where fun is smooth,
    the jump of its one-sided slopes where it has a kink (1/α)."""
    h = _steps(x)
    jump = np.empty((len(x), len(x)))
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = h[j]
        jump[:, j] = (fun(x + e) - 2.0 * f0 + fun(x - e)) / h[j]
    return float(np.linalg.norm(jump, 2))


def _null_space(J, tol):
    """Orthonormal rows spanning the directions d with |J d| ≤ tol |d| (right singular vectors):
    the tangent directions of a continuum of fixed points."""
    _, sv, Vt = np.linalg.svd(J)
    return np.array([_unit(Vt[i]) for i in np.nonzero(sv <= tol)[0]]).reshape(-1, J.shape[1])


def _spread(indices, times, n=STARTS):
    """Up to n of the indices, spread evenly in ln t."""
    indices = np.asarray(indices)
    if len(indices) <= n:
        return list(indices)
    lt = np.log(np.maximum(times[indices], 1e-300))
    targets = np.linspace(lt[0], lt[-1], n)
    return sorted({int(indices[np.argmin(np.abs(lt - g))]) for g in targets})


def _explain(flow, X, times, indices, label, t_start, t_end, height=None):
    """FixedPoint for the stretch X[indices] of a trajectory (see the module docstring)."""
    starts = _spread(indices, times)
    found = []
    for i in starts:
        for x in flow.solve(X[i]):
            if not any(np.max(np.abs(x - y)) <= SAME_RTOL * max(1.0, np.max(np.abs(y))) for y in found):
                found.append(x)

    def distance(x):
        return float(np.min(np.max(np.abs(X[indices] - x), axis=1)))

    def explains(x):
        if height is None:
            return True
        Q, R, v = flow.unpack(x)
        eg = eg_of(flow.activation, Q, R, flow.state.T, flow.state.A, v)
        return height / SPAN_MIN <= eg <= height * SPAN_MIN

    good = sorted((x for x in found if explains(x)), key=distance)
    if good:
        fp = FixedPoint(label=label, t_start=t_start, t_end=t_end, converged=True, **flow.analyse(good[0]))
        fp.distance, fp.alternatives = distance(good[0]), len(found) - 1
        return fp
    slowest = min(indices, key=lambda i: flow.residual(X[i]))
    fp = FixedPoint(label=label, t_start=t_start, t_end=t_end, converged=False, **flow.analyse(X[slowest]))
    fp.distance, fp.alternatives = 0.0, len(found)
    return fp


def refine_state(state, activation="erf", rule="dfa", eta=0.1, eta_v=None, sigma=0.0, train_second_layer=True,
                 eta2_terms=True, label="from state"):
    """FixedPoint refined (Newton in x and in z) from the order parameters of ``state``."""
    flow = _Flow(state, activation, rule, eta, eta if eta_v is None else eta_v, sigma, train_second_layer,
                 eta2_terms)
    x0 = flow.pack(state.Q, state.R, state.v)
    return _explain(flow, x0[None, :], np.ones(1), [0], label, float("nan"), float("nan"))


# ---------------------------------------------------------------- the whole analysis

@dataclass
class FixedPointResult:
    """Fixed points explaining a trajectory: ``points`` (FixedPoint list, in time order),
    the ``trajectory`` and the ``settings``."""

    points: list
    trajectory: Trajectory
    settings: dict

    def saddles(self):
        return [p for p in self.points if p.converged and p.n_unstable > 0]

    def summary(self):
        s = self.settings
        lines = [f"fixed points: {s['activation']} {s['rule'].upper()}  K={s['K']} M={s['M']}  eta={s['eta']:g}"
                 f"  t_max={s['t_max']:g}" + ("" if s["eta2_terms"] else "  (eta^2 terms dropped)"),
                 f"  converged: max|dy/da| < {RESIDUAL_MAX:g}; zero mode: |lambda| <= {ZERO_RTOL:g} max|lambda|;"
                 f" rates in 1/alpha",
                 "  #  explains                  residual    eg          class"]
        for n, p in enumerate(self.points, 1):
            span = f"{p.label} {p.t_start:.4g}-{p.t_end:.4g}" if p.t_end > p.t_start else f"{p.label} {p.t_end:.4g}"
            lines.append(f"  {n}  {span:24s}  {_above_rounding(p.residual, '.1e')}    "
                         f"{_above_rounding(p.eg, '.6g')}  {p.classification}")
            if p.converged:
                lead = p.lead
                rate = (f"lambda+ = {p.lambda_plus:.5g}" if p.n_unstable
                        else f"slowest rate {lead.real:.4g}")
                if abs(lead.imag) > p.zero_tol:
                    rate += f" (complex pair, +/-{abs(lead.imag):.3g}i)"
                lines.append(f"       {rate}: {p.lead_text()}")
                for z in p.zero_texts():
                    lines.append(f"       zero mode: {z}")
                if p.on_boundary:
                    note = ("" if p.smooth else f"; the ReLU right-hand side is not differentiable there: its "
                            f"one-sided slopes jump by {p.kink:.2g}, eigenvalues below that are not resolved")
                    lines.append(f"       on the boundary of the PSD cone (C singular){note}")
            else:
                lines.append(f"       no zero of dy/da near this stretch: its slowest state (speed "
                             f"{p.residual:.2g}) drifts along {p.drift_text()}")
                lines.append(f"       local spectrum there: leading {p.lead.real:.4g}, {p.n_unstable} unstable, "
                             f"{p.n_zero} near-zero")
            eig = ", ".join(_format_eigenvalue(z) for z in p.eigenvalues)
            lines.append(f"       eigenvalues: {eig}")
            lines.append(f"       Q = {_fmt(p.Q)}  R = {_fmt(p.R)}  v = {_fmt(p.v)}")
        return "\n".join(lines)

    def columns(self):
        """(header, rows) of the CSV: one row per fixed point."""
        K, M = self.settings["K"], self.settings["M"]
        n = max(len(p.eigenvalues) for p in self.points)
        header = ["index", "label", "t_start", "t_end", "converged", "classification", "residual", "eg",
                  "lambda_plus", "n_unstable", "n_zero", "lead_re", "lead_im", "lead_direction", "on_psd_boundary"]
        header += [f"Q_{k + 1}_{l + 1}" for k in range(K) for l in range(K)]
        header += [f"R_{k + 1}_{m + 1}" for k in range(K) for m in range(M)]
        header += [f"v_{k + 1}" for k in range(K)]
        header += [f"eig{i + 1}_{part}" for i in range(n) for part in ("re", "im")]
        rows = []
        for i, p in enumerate(self.points, 1):
            row = [i, p.label, p.t_start, p.t_end, int(p.converged), p.classification, p.residual, p.eg,
                   p.lambda_plus, p.n_unstable, p.n_zero, p.lead.real, p.lead.imag, p.lead_text(),
                   int(p.on_boundary)]
            row += list(p.Q.ravel()) + list(p.R.ravel()) + list(p.v)
            for z in p.eigenvalues:
                row += [z.real, z.imag]
            rows.append(row)
        return header, rows

    def to_csv(self, path, overwrite=False):
        header, rows = self.columns()
        with atomic_write(path, overwrite) as fh:
            fh.write(",".join(header) + "\n")
            for row in rows:
                fh.write(",".join(_csv_cell(c) for c in row) + "\n")

    def as_dict(self):
        return {"settings": self.settings, "residual_max": RESIDUAL_MAX, "zero_rtol": ZERO_RTOL,
                "fixed_points": [p.as_dict() for p in self.points]}

    def to_json(self, path, overwrite=False):
        with atomic_write(path, overwrite) as fh:
            json.dump(_jsonable(self.as_dict()), fh, indent=1)

    def plot(self, axes=None, lengths=None):
        """Figure: ε_g(α) with the fixed points marked, their spectra beside it, and (with
        ``lengths``, a PlateauLengthResult) the time near the saddle against ln N.
        axes: optional sequence of 2 (or 3) matplotlib axes to draw on. Returns the figure."""
        n_panels = 3 if lengths is not None else 2
        fig, axes = figure_and_panels(axes, n_panels, figsize=(5.2 * n_panels, 4.3))
        colors = cycle_colors()
        tr, s = self.trajectory, self.settings
        ax = axes[0]
        keep = (tr.t > 0) & (tr.eg > 0)
        floor = max(np.min(tr.eg[keep]) / 3.0, 1e-14) if keep.any() else 1e-14
        ax.loglog(tr.t[keep], np.maximum(tr.eg[keep], floor), color="k", lw=1.2, label="ODE")
        for i, p in enumerate(self.points):
            c = colors[i % len(colors)]
            t0 = p.t_start if p.t_end > p.t_start else p.t_end
            y = max(p.eg, floor)
            ax.plot([t0, p.t_end], [y, y], "-" if p.converged else ":", color=c, lw=3, alpha=0.6)
            zero = " (ε_g ≈ 0, drawn at the bottom)" if p.eg < floor else ""
            ax.plot([math.sqrt(t0 * p.t_end)], [y], "o" if p.converged else "x", color=c, ms=7,
                    label=f"{i + 1}: {p.classification}{zero}")
        ax.set_xlabel("time α (steps / N)")
        ax.set_ylabel("ε_g = ½E[(ŷ−y)²]")
        ax.set_title(f"{s['activation']} {s['rule'].upper()}, K={s['K']}, M={s['M']}, η={s['eta']:g}", fontsize=10)
        ax.legend(fontsize=7, loc="lower left")
        ax = axes[1]
        for i, p in enumerate(self.points):
            c = colors[i % len(colors)]
            real = p.eigenvalues.imag == 0
            ax.plot(p.eigenvalues.real[real], np.full(real.sum(), i + 1.0), "|" if p.converged else "x",
                    color=c, ms=14, mew=2)
            ax.plot(p.eigenvalues.real[~real], i + 1.0 + 0.15 * np.sign(p.eigenvalues.imag[~real]), "o",
                    color=c, mfc="none", ms=6)
        ax.axvline(0, color="0.5", lw=0.8)
        re = np.abs(np.concatenate([p.eigenvalues.real for p in self.points]))
        ax.set_xscale("symlog", linthresh=max(0.5 * np.min(re[re > 0]), 1e-9) if (re > 0).any() else 1e-5)
        ax.margins(x=0.08)
        ax.set_yticks(range(1, len(self.points) + 1))
        ax.set_ylim(len(self.points) + 0.6, 0.4)
        ax.set_ylabel("fixed point (as numbered)")
        ax.set_xlabel("Re λ (1/α), symmetric log scale")
        ax.set_title("Jacobian spectra (x: not a fixed point; o: complex pairs)", fontsize=10)
        if lengths is not None:
            lengths.plot(axes[2])
        fig.tight_layout()
        return fig


def _format_eigenvalue(z):
    return f"{z.real:.4g}" if z.imag == 0 else f"{z.real:.4g}{z.imag:+.3g}i"


def _fmt(a):
    return np.array2string(np.asarray(a), precision=4, separator=", ", suppress_small=True).replace("\n", "")


def _csv_cell(c):
    if isinstance(c, str):
        return '"' + c.replace('"', "'") + '"'
    if isinstance(c, (int, np.integer)):
        return str(int(c))
    return f"{float(c):.12g}"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


D = defaults("fixed_points")


def fixed_points(state=None, trajectory=None, activation=D["activation"], rule=D["rule"], eta=D["eta"],
                 eta_v=D["eta_v"], sigma=D["sigma"], t_max=D["t_max"], train_second_layer=D["train_second_layer"],
                 eta2_terms=D["eta2_terms"], integrator=D["integrator"], rtol=D["rtol"], atol=D["atol"],
                 times=D["times"], n_times=D["n_times"], allow_no_plateau=False, method=None):
    """Fixed points behind every plateau and the end state of a run (module docstring).

    state: initial ``State`` (integrated to t_max with ``integrate``: integrator, rtol, atol),
    with output times ``times``, ``n_times`` as there), or trajectory: a ``Trajectory``
    (its T, A, F; activation etc. must be those it was computed with). A run without a plateau is an InputError unless allow_no_plateau
    (then only its end state is refined). Returns a FixedPointResult. Defaults:
    ``odetheory.options.defaults("fixed_points")``; method: the old name of integrator.
    """
    if method is not None:
        warnings.warn("fixed_points(method=...) is now fixed_points(integrator=...)", DeprecationWarning,
                      stacklevel=2)
        integrator = method
    check_number("eta", eta)
    eta_v = eta if eta_v is None else check_number("eta_v", eta_v)
    check_number("sigma", sigma, 0.0, strict=False)
    activation_code(activation)
    rule_code(rule)
    if trajectory is None:
        if not isinstance(state, State):
            raise InputError("fixed_points needs an initial State (see State.checked) or a trajectory")
        trajectory = integrate(state, activation=activation, rule=rule, eta=eta, eta_v=eta_v, sigma=sigma,
                               t_max=t_max, times=times, n_times=n_times, integrator=integrator, rtol=rtol, atol=atol,
                               train_second_layer=train_second_layer, eta2_terms=eta2_terms)
        if not trajectory.success:
            raise InputError(f"the run did not reach t_max: {trajectory.message}")
    tr = trajectory
    state0 = State(Q=tr.Q[0], R=tr.R[0], T=tr.T, A=tr.A, v=tr.v[0], F=tr.F)
    flow = _Flow(state0, activation, rule, eta, eta_v, sigma, train_second_layer, eta2_terms)
    X = np.array([flow.pack(tr.Q[i], tr.R[i], tr.v[i]) for i in range(len(tr.t))])
    found = plateaus(tr.t, tr.eg)
    if not found and not allow_no_plateau:
        raise InputError(f"the run has no plateau up to t_max = {tr.t[-1]:g} (no stretch with |d ln eg/d ln t| < 0.2"
                         f" over a factor 2 in t after eg fell below half its start); raise --t-max, or pass "
                         f"--end-state to refine the end state only")
    points = []
    for n, (height, start, escape) in enumerate(found, 1):
        end = escape if math.isfinite(escape) else float(tr.t[-1])
        indices = np.nonzero((tr.t >= start) & (tr.t <= end))[0]
        points.append(_explain(flow, X, tr.t, indices, f"plateau {n}", start, end, height))
    last = len(tr.t) - 1
    end_fp = _explain(flow, X, tr.t, [last - 2, last - 1, last] if last >= 2 else [last], "end state",
                      float(tr.t[-1]), float(tr.t[-1]))
    duplicate = next((p for p in points if p.converged and end_fp.converged
                      and np.max(np.abs(p.x - end_fp.x)) <= SAME_RTOL * max(1.0, np.max(np.abs(p.x)))), None)
    if duplicate is not None:
        duplicate.label += " + end state"
        duplicate.t_end = float(tr.t[-1])
    else:
        points.append(end_fp)
    settings = dict(activation=activation, rule=rule, K=int(state0.K), M=int(state0.M), eta=float(eta),
                    eta_v=float(eta_v), sigma=float(sigma), t_max=float(tr.t[-1]),
                    train_second_layer=bool(train_second_layer), eta2_terms=bool(eta2_terms))
    return FixedPointResult(points, tr, settings)


# ---------------------------------------------------------------- plateau length against N

@dataclass
class PlateauLengthResult:
    """Time near a saddle of finite-N simulations started on it.

    escape (len(Ns), len(seeds)): first time α with ε_g < ½ ε_g* (NaN if not by t_max);
    lambda_plus (1/α) of the saddle; slope of the mean escape time against ln N and its
    spread over seeds (per-seed slopes: mean and standard deviation)."""

    Ns: list
    seeds: list
    escape: np.ndarray
    lambda_plus: float
    eg_star: float
    settings: dict

    @property
    def predicted_slope(self):
        return 1.0 / (2.0 * self.lambda_plus)

    def _fit(self, y):
        ok = np.isfinite(y)
        if ok.sum() < 2:
            return float("nan")
        return float(np.polyfit(np.log(np.asarray(self.Ns, float)[ok]), y[ok], 1)[0])

    @property
    def slope(self):
        """Slope of the mean escape time (over seeds that escaped) against ln N."""
        return self._fit(np.array([np.nanmean(row) if np.isfinite(row).any() else np.nan for row in self.escape]))

    def seed_slopes(self):
        return np.array([self._fit(self.escape[:, j]) for j in range(len(self.seeds))])

    def summary(self):
        s = self.settings
        lines = [f"plateau length against N: {s['activation']} {s['rule'].upper()}  K={s['K']} M={s['M']}  "
                 f"eta={s['eta']:g}  {s['sampler']} sampler, {len(self.seeds)} seeds, started at the saddle "
                 f"(eg* = {self.eg_star:.6g}, lambda+ = {self.lambda_plus:.5g}); escape: first alpha with "
                 f"eg < eg*/2",
                 "       N   ln N    escape time (mean +/- std over seeds)   escaped"]
        for N, row in zip(self.Ns, self.escape):
            ok = np.isfinite(row)
            mean = np.mean(row[ok]) if ok.any() else float("nan")
            std = np.std(row[ok], ddof=1) if ok.sum() > 1 else float("nan")
            lines.append(f"  {N:6d}  {math.log(N):5.2f}    {mean:10.2f} +/- {std:7.2f}"
                         f"{'':20s}{ok.sum()}/{len(row)}")
        per_seed = self.seed_slopes()
        ok = np.isfinite(per_seed)
        if ok.sum() > 1:
            sd = np.std(per_seed[ok], ddof=1)
            spread = (f"per-seed fits {np.mean(per_seed[ok]):.4g} +/- {sd:.2g} (std), standard error of the "
                      f"slope {sd / math.sqrt(ok.sum()):.2g}")
        else:
            spread = "one seed: no spread"
        lines.append(f"  slope d(escape)/d(ln N): {self.slope:.4g} (fit of the means); {spread}")
        lines.append(f"  predicted 1/(2 lambda+) = {self.predicted_slope:.4g}; ratio measured/predicted "
                     f"{self.slope / self.predicted_slope:.3f}")
        return "\n".join(lines)

    def to_csv(self, path, overwrite=False):
        with atomic_write(path, overwrite) as fh:
            fh.write("N,seed,escape,lambda_plus,predicted_slope\n")
            for N, row in zip(self.Ns, self.escape):
                for seed, t in zip(self.seeds, row):
                    fh.write(f"{N},{seed},{t:.10g},{self.lambda_plus:.12g},{self.predicted_slope:.12g}\n")

    def plot(self, ax=None):
        """Escape time against ln N (each seed, means, the fit and the slope 1/(2λ₊)). Returns the figure."""
        fig, ax = figure_and_axes(ax, figsize=(5.2, 4.3))
        lnN = np.log(np.asarray(self.Ns, float))
        for j in range(len(self.seeds)):
            ax.plot(lnN, self.escape[:, j], ".", color="0.6", ms=4)
        means = np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan for r in self.escape])
        ax.plot(lnN, means, "o", color="tab:blue", label="mean over seeds")
        ok = np.isfinite(means)
        if ok.sum() >= 2:
            b = np.polyfit(lnN[ok], means[ok], 1)
            ax.plot(lnN, np.polyval(b, lnN), "-", color="tab:blue", lw=1, label=f"fit: slope {b[0]:.1f}")
            centre = np.mean(lnN[ok])
            ax.plot(lnN, np.mean(means[ok]) + self.predicted_slope * (lnN - centre), "--", color="k", lw=1,
                    label=f"slope 1/(2λ₊) = {self.predicted_slope:.1f}")
        ax.set_xlabel("ln N")
        ax.set_ylabel("time near the saddle (α)")
        ax.set_title(f"leaving the plateau at finite N ({self.settings['sampler']} sampler)", fontsize=10)
        ax.legend(fontsize=7)
        return fig


def plateau_length(point, state, Ns, seeds, activation=D["activation"], rule=D["rule"], eta=D["eta"],
                   eta_v=D["eta_v"], sigma=D["sigma"], train_second_layer=D["train_second_layer"],
                   sampler=defaults("fixedpoints")["sampler"], t_max=None, workers=D["workers"]):
    """Finite-N SGD started at the order parameters of the saddle ``point`` (a FixedPoint;
    T, A, F from ``state``), for every N in Ns and seed in seeds; returns a PlateauLengthResult.

    Each run draws weights at N with exactly the saddle's overlaps (``network_from_state``,
    frame and data streams from the seed) and records ε_g on a grid of 2000 times; its
    escape time is the first with ε_g < ½ ε_g*. t_max (α) defaults to
    (ln N_max / 2 + 8)/λ₊."""
    if not isinstance(point, FixedPoint) or not point.converged or point.n_unstable == 0:
        raise InputError("the plateau-length study needs a converged saddle (a fixed point with an unstable "
                         "direction) to start from")
    Ns = [check_integer("N", int(N), lowest=1) for N in Ns]
    seeds = [check_integer("seed", int(s)) for s in seeds]
    if not Ns or not seeds:
        raise InputError("the plateau-length study needs at least one N and one seed")
    if sampler not in SAMPLERS:
        raise InputError(f"unknown sampler {sampler!r}; choose full or reduced")
    lam = point.lambda_plus
    if t_max is None:
        t_max = (0.5 * math.log(max(Ns)) + 8.0) / lam
    check_number("t_max", t_max)
    start = State(Q=point.Q, R=point.R, T=state.T, A=state.A, v=point.v, F=state.F)
    times = np.linspace(0.0, t_max, 2001)[1:]
    eg_star = point.eg

    def one(job):
        N, seed = job
        net = network_from_state(start, N, seed)
        tr = simulate(net, activation=activation, rule=rule, eta=eta, eta_v=eta_v, sigma=sigma, t_max=t_max,
                      times=times, train_second_layer=train_second_layer, seed=seed, sampler=sampler)
        below = np.nonzero((tr.t > 0) & (tr.eg < 0.5 * eg_star))[0]
        return float(tr.t[below[0]]) if len(below) else float("nan")

    jobs = [(N, s) for N in Ns for s in seeds]
    escape = np.array(map_parallel(one, jobs, workers=workers, desc="plateau length")).reshape(len(Ns), len(seeds))
    settings = dict(activation=activation, rule=rule, K=int(state.K), M=int(state.M), eta=float(eta),
                    sampler=sampler, t_max=float(t_max))
    return PlateauLengthResult(Ns, seeds, escape, float(lam), float(eg_star), settings)


# ---------------------------------------------------------------- the command line

def load_trajectory(path, init, activation):
    """Trajectory from a file: the .npz of ``integrate --npz``, or its CSV with ``init``
    (the run's initial State, for T, A, F). Errors name --trajectory."""
    try:
        if str(path).endswith(".npz"):
            with np.load(path) as d:
                fields = {k: d[k] for k in ("t", "eg", "Q", "R", "v", "T", "A", "F")}
        else:
            if init is None:
                raise InputError(f"--trajectory {path}: a CSV has no T, A, F; pass the run's --init FILE.npz too "
                                 "(or the .npz written by integrate --npz)")
            table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
            K, M = init.K, init.M
            if table.shape[1] != 3 + K * K + K * M + K:
                raise InputError(f"--trajectory {path}: {table.shape[1]} columns do not fit K={K}, M={M} of --init")
            n = len(table)
            fields = dict(t=table[:, 0], eg=table[:, 1], Q=table[:, 3:3 + K * K].reshape(n, K, K),
                          R=table[:, 3 + K * K:3 + K * K + K * M].reshape(n, K, M), v=table[:, 3 + K * K + K * M:],
                          T=init.T, A=init.A, F=init.F)
        start = State.checked(Q=fields["Q"][0], R=fields["R"][0], T=fields["T"], A=fields["A"], v=fields["v"][0],
                              F=fields["F"])
    except InputError as exc:
        message = str(exc)
        raise InputError(message if message.startswith("--trajectory") else f"--trajectory {path}: {message}") from None
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"--trajectory {path}: cannot read it ({exc})") from None
    traj = Trajectory.from_order_parameters(fields["t"], fields["Q"], fields["R"], fields["v"], start, activation)
    if not np.allclose(traj.eg, fields["eg"], rtol=1e-6, atol=1e-12):
        raise InputError(f"--trajectory {path}: its eg column does not match --activation {activation}")
    return traj


def run_command(args, state, init):
    """``odetheory fixedpoints``: analyse, print, write. state: the initial State (None with
    --trajectory); init: the --init State or None. Returns the exit code."""
    study = args.N_list is not None
    for path in [args.out, args.json, args.png] + ([args.lengths] if study else []):
        check_writable(path or None, args.force)
    opts = dict(activation=args.activation, rule=args.rule, eta=args.eta, eta_v=args.eta_v, sigma=args.sigma,
                train_second_layer=args.train_second_layer)
    if args.trajectory:
        traj = load_trajectory(args.trajectory, init, args.activation)
        result = fixed_points(trajectory=traj, eta2_terms=args.eta2_terms,
                              allow_no_plateau=args.end_state, **opts)
        state = State(Q=traj.Q[0], R=traj.R[0], T=traj.T, A=traj.A, v=traj.v[0], F=traj.F)
    else:
        result = fixed_points(state, t_max=args.t_max, integrator=args.integrator, rtol=args.rtol, atol=args.atol,
                              eta2_terms=args.eta2_terms, allow_no_plateau=args.end_state,
                              times=args.times, n_times=args.n_times, **opts)
    print(result.summary())
    lengths = None
    if study:
        if args.fixed_point is not None:
            if not 1 <= args.fixed_point <= len(result.points):
                raise InputError(f"--fixed-point must be between 1 and {len(result.points)}, got {args.fixed_point}")
            index = args.fixed_point - 1
        else:
            saddles = [i for i, p in enumerate(result.points) if p.converged and p.n_unstable > 0]
            if not saddles:
                raise InputError("--N: no saddle among the fixed points to start the simulations from")
            index = saddles[0]
        lengths = plateau_length(result.points[index], state, args.N_list, args.seeds, sampler=args.sampler,
                                 t_max=args.sim_t_max, workers=args.workers, **opts)
        print(f"  starting at fixed point {index + 1}")
        print(lengths.summary())
    result.to_csv(args.out, args.force)
    result.to_json(args.json, args.force)
    written = [args.out, args.json]
    if lengths is not None:
        lengths.to_csv(args.lengths, args.force)
        written.append(args.lengths)
    if args.png:
        save_figure(result.plot(lengths=lengths), args.png, args.force, dpi=120)
        written.append(args.png)
    print("  wrote " + ", ".join(written))
    return 0
