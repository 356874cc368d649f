"""Tests of odetheory.relu_i4.relu_i4 = E[θ(x_a) θ(x_b) relu(x_c) relu(x_d)], x ~ N(0, C).

Reference (independent of the kernel's route): `reference_i4` below, in mpmath at
60 digits.  It uses Stein's lemma on x_d at the end point,
    J = Σ_j R_dj E[∂_j(θ_a θ_b θ_d relu_c)],
i.e. three closed-form 3-d conditional averages plus R_cd times the 4-d orthant
probability, which it integrates with Plackett's identity along a *different* path than
the kernel (only the (a,b)-(c,d) cross block scaled by s), in w = -log(1-s) with
16-point Gauss–Legendre panels up to 1 - s = e^-93, at 75 digits.  Exact repeats and
singular covariances need no special cases there: C is replaced by C + τ diag(C),
τ = 1e-30, which moves the result by O(√τ) ~ 1e-15 (the working precision absorbs the
ill-conditioning this creates).  The reference reproduces P4 = 1/5 for equicorrelation
1/2 and E[x²θ(x)] = C/2 for a = b = c = d, and its node count was checked by doubling.

Tolerance: 1e-10 * sqrt(C_cc C_dd); the reference is good to ~1e-15, the kernel
typically to 1e-15..1e-13.
The `slow` test sweeps 200 covariances (run with `pytest -m slow -s` to see the max
error printed).
"""
import time
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest

from odetheory.integrals.relu_i4 import orthant2, orthant3, relu_i4

TOL = 1e-10

# Every repeat pattern of (a, b, c, d) up to the symmetries a<->b, c<->d.
PATTERNS = [
    (0, 1, 2, 3),
    (0, 0, 2, 3), (0, 1, 2, 2), (0, 2, 2, 3), (2, 1, 2, 3), (0, 3, 2, 3),
    (0, 0, 2, 2), (0, 2, 0, 2), (0, 3, 3, 0),
    (0, 0, 0, 3), (0, 0, 2, 0), (0, 2, 2, 2), (2, 1, 2, 2),
    (1, 1, 1, 1),
    (0, 1, 1, 3),
]


# --------------------------------------------------------------------------------------
# High-precision reference.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_W_PANELS = [0.0, 0.25, 0.75, 1.5, 3.0, 6.0, 10.0, 15.0] + [15.0 + 6.0 * k for k in range(1, 14)]
_CROSS = ((0, 2), (0, 3), (1, 2), (1, 3))


def _p2(r):
    return mp.mpf(1) / 4 + mp.asin(r) / (2 * mp.pi)


def _cond(S, keep, given):
    """Covariance of S[keep] given S[given] = 0 (nested lists of mpf; 1 or 2 given)."""
    if len(given) == 1:
        g = given[0]
        return [[S[i][j] - S[i][g] * S[g][j] / S[g][g] for j in keep] for i in keep]
    g, h = given
    det = S[g][g] * S[h][h] - S[g][h] ** 2
    out = []
    for i in keep:
        row = []
        for j in keep:
            quad = (S[i][g] * (S[h][h] * S[g][j] - S[g][h] * S[h][j])
                    + S[i][h] * (S[g][g] * S[h][j] - S[g][h] * S[g][j])) / det
            row.append(S[i][j] - quad)
        out.append(row)
    return out


def _theta_theta_relu(S):
    """E[θ(y0) θ(y1) relu(y2)], y ~ N(0, S), S 3x3: Stein on y2, then P2 of the rest."""
    tot = mp.mpf(0)
    for m in range(3):
        p, q = [t for t in range(3) if t != m]
        Sc = _cond(S, [p, q], [m])
        r = Sc[0][1] / mp.sqrt(Sc[0][0] * Sc[1][1])
        tot += S[2][m] / mp.sqrt(2 * mp.pi * S[m][m]) * _p2(r)
    return tot


def _orthant4(R):
    """P(x > 0) for a 4x4 correlation matrix R (lists of mpf): Plackett's identity along
    the path that scales the (0,1)-(2,3) cross block by s, integrated in w = -log(1-s)."""
    val = _p2(R[0][1]) * _p2(R[2][3]) + sum(mp.asin(R[i][j]) for i, j in _CROSS) / (8 * mp.pi)

    def integrand(w):
        e = mp.exp(-w)
        s = 1 - e
        Rs = [[R[i][j] * s if (i < 2) != (j < 2) else R[i][j] for j in range(4)] for i in range(4)]
        tot = mp.mpf(0)
        for i, j in _CROSS:
            k, l = [m for m in range(4) if m not in (i, j)]
            Sc = _cond(Rs, [k, l], [i, j])
            if Sc[0][0] <= 0 or Sc[1][1] <= 0:  # only in the far tail, below precision
                continue
            r = max(-1, min(1, Sc[0][1] / mp.sqrt(Sc[0][0] * Sc[1][1])))
            rho = R[i][j]
            tot += rho * mp.asin(r) / mp.sqrt((1 - s * rho) * (1 + s * rho))
        return tot * e / (4 * mp.pi ** 2)

    acc = mp.mpf(0)
    for lo, hi in zip(_W_PANELS[:-1], _W_PANELS[1:]):
        h = (hi - lo) / 2
        acc += mp.fsum(wt * h * integrand(mp.mpf(lo + h * (x + 1))) for x, wt in zip(_GL_X, _GL_W))
    return val + acc


def _exact(v):
    f = Fraction(v)
    return mp.mpf(f.numerator) / f.denominator


def reference_i4(C, a, b, c, d, tau="1e-30", dps=75):
    """High-precision E[θ(x_a)θ(x_b)relu(x_c)relu(x_d)].  C: a float array (its entries
    taken as exact) or nested lists of Fractions/ints (an exact covariance)."""
    idx = [a, b, c, d]
    with mp.workdps(dps):
        tau = mp.mpf(tau)
        S = [[_exact(C[i][j]) for j in idx] for i in idx]
        if any(S[i][i] <= 0 for i in range(4)):
            return 0.0
        for i in range(4):
            S[i][i] *= 1 + tau
        sd = [mp.sqrt(S[i][i]) for i in range(4)]
        R = [[S[i][j] / (sd[i] * sd[j]) for j in range(4)] for i in range(4)]
        phi0 = 1 / mp.sqrt(2 * mp.pi)
        J = R[3][0] * phi0 * _theta_theta_relu(_cond(R, [1, 3, 2], [0]))
        J += R[3][1] * phi0 * _theta_theta_relu(_cond(R, [0, 3, 2], [1]))
        J += phi0 * _theta_theta_relu(_cond(R, [0, 1, 2], [3]))
        J += R[3][2] * _orthant4(R)
        return float(J * sd[2] * sd[3] / (1 + tau))


def scale(C, a, b, c, d):
    return float(np.sqrt(C[c, c] * C[d, d])) or 1.0


# --------------------------------------------------------------------------------------
# Random covariances; every one is exactly positive semi-definite as stored (exact
# integer Gram matrices for the singular kinds, smallest eigenvalue >~ 1e-10 otherwise).
KINDS = ["generic", "near-parallel", "two-near-parallel", "near-coplanar", "near-rank-3",
         "singular-int", "parallel-int", "near-rank-2", "common-direction", "zero-field"]


def make_covariance(kind, rng, n=5):
    """(n, n) covariance of the given kind; fields 0..3 carry the structure."""
    k = n + int(rng.integers(0, 3))
    V = rng.standard_normal((n, k)) * rng.uniform(0.3, 2.0, size=(n, 1))
    eta = lambda lo, hi: 10.0 ** rng.uniform(lo, hi)
    if kind == "near-parallel":
        i, j = rng.choice(4, 2, replace=False)
        V[j] = rng.uniform(0.3, 3) * rng.choice([-1, 1]) * V[i] + eta(-5, -1) * rng.standard_normal(k)
    elif kind == "two-near-parallel":
        p = rng.permutation(4)
        V[p[1]] = V[p[0]] + eta(-5, -1) * rng.standard_normal(k)
        V[p[3]] = -1.7 * V[p[2]] + eta(-5, -1) * rng.standard_normal(k)
    elif kind == "near-coplanar":
        i, j, m = rng.choice(4, 3, replace=False)
        V[m] = rng.standard_normal() * V[i] + rng.standard_normal() * V[j] + eta(-5, -1) * rng.standard_normal(k)
    elif kind == "near-rank-3":
        V[3] = rng.standard_normal(3) @ V[:3] + eta(-5, -1) * rng.standard_normal(k)
    elif kind == "near-rank-2":
        V = rng.standard_normal((n, 2)) @ rng.standard_normal((2, k)) + eta(-5, -2) * rng.standard_normal((n, k))
    elif kind == "common-direction":
        V = rng.standard_normal(k)[None, :] + eta(-3, 0) * rng.standard_normal((n, k))
    elif kind in ("singular-int", "parallel-int", "zero-field"):
        r = int(rng.integers(2, 4)) if kind == "singular-int" else 4
        V = rng.integers(-3, 4, size=(n, r)).astype(float)
        while np.any(np.sum(V * V, axis=1) == 0):
            V = rng.integers(-3, 4, size=(n, r)).astype(float)
        if kind == "parallel-int":
            i, j = rng.choice(4, 2, replace=False)
            V[j] = rng.choice([-2.0, -1.0, 1.0, 2.0, 3.0]) * V[i]
        if kind == "zero-field":
            V[rng.integers(0, 4)] = 0.0
    return V @ V.T


def make_cases(seed, count):
    """[(kind, C, pattern)]: kinds cycle; even cases use distinct fields, odd cases cycle
    through the repeat patterns (a random field permutation is applied)."""
    rng = np.random.default_rng(seed)
    cases = []
    for t in range(count):
        kind = KINDS[t % len(KINDS)]
        C = make_covariance(kind, rng)
        base = PATTERNS[0] if t % 2 == 0 else PATTERNS[1 + (t // 2) % (len(PATTERNS) - 1)]
        perm = rng.permutation(4)
        cases.append((kind, C, tuple(int(perm[i]) for i in base)))
    return cases


def sweep_errors(cases):
    """[(kind, pattern, |kernel - reference| / scale)]."""
    out = []
    for kind, C, pat in cases:
        got = relu_i4(C, *pat)
        ref = reference_i4(C, *pat)
        out.append((kind, pat, abs(got - ref) / scale(C, *pat)))
    return out


# --------------------------------------------------------------------------------------
def test_reference_self_checks():
    """The reference reproduces known values (guards the reference, not the kernel)."""
    C = np.full((4, 4), 0.5) + 0.5 * np.eye(4)
    with mp.workdps(40):
        R = [[mp.mpf(C[i, j]) for j in range(4)] for i in range(4)]
        assert abs(_orthant4(R) - mp.mpf(1) / 5) < 1e-18
    C = np.array([[2.0, 0.3], [0.3, 1.0]])
    assert abs(reference_i4(C, 0, 0, 0, 0) - 1.0) < 1e-12  # E[x² θ(x)] = C/2


CI_CASES = make_cases(seed=2024, count=30)


@pytest.mark.parametrize("kind,C,pat", CI_CASES, ids=[f"{i}-{c[0]}-{''.join(map(str, c[2]))}"
                                                      for i, c in enumerate(CI_CASES)])
def test_against_reference(kind, C, pat):
    got = relu_i4(C, *pat)
    ref = reference_i4(C, *pat)
    assert abs(got - ref) <= TOL * scale(C, *pat), (kind, pat, got, ref)


def test_every_pattern_on_singular_integer_covariance():
    """All repeat patterns on one exactly rank-3 (integer) covariance with an exactly
    parallel and an exactly anti-parallel pair of distinct fields (fields 4, 5)."""
    V = np.array([[1, 2, 0], [0, 1, -1], [2, -1, 1], [1, 1, 1], [2, 4, 0], [0, -2, 2]], float)
    C = V @ V.T
    for i, pat in enumerate(PATTERNS):
        a, b, c, d = pat
        for p in [pat, (4, b, c, 0), (a, 5, c, d)][i % 3:i % 3 + 2]:
            got = relu_i4(C, *p)
            ref = reference_i4(C, *p)
            assert abs(got - ref) <= TOL * scale(C, *p), (p, got, ref)


def test_rounded_singular_input():
    """Float C that is singular only up to rounding (may be slightly indefinite) against
    the reference on the exact rational covariance it approximates."""
    rng = np.random.default_rng(7)
    for rank in (2, 3):
        Vi = rng.integers(-4, 5, size=(4, rank))
        exact = [[Fraction(int(Vi[i] @ Vi[j]), 9) for j in range(4)] for i in range(4)]
        C = (Vi / 3.0) @ (Vi / 3.0).T
        for pat in ((0, 1, 2, 3), (0, 0, 2, 3), (0, 1, 3, 3)):
            got = relu_i4(C, *pat)
            ref = reference_i4(exact, *pat)
            assert abs(got - ref) <= TOL * scale(C, *pat), (rank, pat, got, ref)


def test_symmetries():
    rng = np.random.default_rng(3)
    for kind in KINDS:
        C = make_covariance(kind, rng)
        for pat in PATTERNS:
            a, b, c, d = pat
            v = relu_i4(C, a, b, c, d)
            tol = 1e-14 * scale(C, *pat)
            assert abs(relu_i4(C, b, a, c, d) - v) <= tol
            assert abs(relu_i4(C, a, b, d, c) - v) <= tol
            assert abs(relu_i4(C, b, a, d, c) - v) <= tol


def test_factorised_limits():
    rng = np.random.default_rng(4)
    for _ in range(10):
        # diagonal C: 1/2 * 1/2 * sqrt(C_cc/2π) * sqrt(C_dd/2π)
        D = np.diag(rng.uniform(0.1, 5.0, size=5))
        expect = 0.25 * np.sqrt(D[2, 2] * D[3, 3]) / (2 * np.pi)
        assert abs(relu_i4(D, 0, 1, 2, 3) - expect) <= 1e-14 * expect
        # (a, b) independent of (c, d): P2(ρ_ab) * E[relu relu]
        A = rng.standard_normal((2, 3))
        B = rng.standard_normal((2, 3))
        C = np.zeros((4, 4))
        C[:2, :2] = A @ A.T
        C[2:, 2:] = B @ B.T
        rab = C[0, 1] / np.sqrt(C[0, 0] * C[1, 1])
        rcd = C[2, 3] / np.sqrt(C[2, 2] * C[3, 3])
        i2 = np.sqrt(C[2, 2] * C[3, 3]) / (2 * np.pi) * (np.sqrt(1 - rcd ** 2) + rcd * (np.pi - np.arccos(rcd)))
        expect = (0.25 + np.arcsin(rab) / (2 * np.pi)) * i2
        assert abs(relu_i4(C, 0, 1, 2, 3) - expect) <= 1e-13 * np.sqrt(C[2, 2] * C[3, 3])


def test_degenerate_fields():
    V = np.array([[1.0, 0.5, -0.2], [0.3, 1.0, 0.4], [-0.6, 0.2, 1.0]])
    C = V @ V.T
    Z = np.zeros((4, 4))
    Z[:3, :3] = C  # field 3 has zero variance
    for pat in ((3, 0, 1, 2), (0, 1, 3, 2), (0, 1, 2, 3), (3, 3, 3, 3)):
        assert relu_i4(Z, *pat) == 0.0
    # exactly parallel (x3 = 2 x0) and anti-parallel (x4 = -x0) copies
    W = np.vstack([V, 2.0 * V[0], -V[0]])
    C = W @ W.T
    for a, b, c, d in ((0, 1, 2, 1), (1, 2, 0, 0), (0, 0, 1, 2)):
        base = relu_i4(C, a, b, c, d)
        sub = lambda s: 3 if s == 0 else s
        n_relu = (c == 0) + (d == 0)
        assert abs(relu_i4(C, sub(a), sub(b), sub(c), sub(d)) - 2.0 ** n_relu * base) <= 1e-14 * (1 + base)
    assert relu_i4(C, 0, 4, 1, 2) == 0.0
    assert relu_i4(C, 0, 1, 4, 2) == 0.0
    assert relu_i4(C, 3, 1, 4, 2) == 0.0
    with pytest.raises(IndexError):
        relu_i4(C, 0, 1, 2, 5)


def test_elementary_helpers():
    assert abs(orthant2(0.3) - (0.25 + np.arcsin(0.3) / (2 * np.pi))) < 1e-16
    assert abs(orthant3(0.5, 0.5, 0.5) - 0.25) < 1e-15  # P3 = 1/4 for equicorrelation 1/2


def _mc(C, patterns, n=10**7, chunk=10**6, seed=0):
    """Monte Carlo means and standard errors of θθ relu relu for each pattern."""
    rng = np.random.default_rng(seed)
    w, U = np.linalg.eigh(C)
    L = U * np.sqrt(np.clip(w, 0.0, None))
    s1 = np.zeros(len(patterns))
    s2 = np.zeros(len(patterns))
    for _ in range(n // chunk):
        x = rng.standard_normal((chunk, C.shape[0])) @ L.T
        step = x > 0.0
        relu = np.maximum(x, 0.0)
        for k, (a, b, c, d) in enumerate(patterns):
            y = (step[:, a] & step[:, b]) * relu[:, c] * relu[:, d]
            s1[k] += y.sum()
            s2[k] += (y * y).sum()
    mean = s1 / n
    return mean, np.sqrt((s2 / n - mean ** 2) / n)


@pytest.mark.parametrize("which", ["full-rank", "singular"])
def test_monte_carlo(which):
    rng = np.random.default_rng(11)
    if which == "full-rank":
        V = rng.standard_normal((5, 6))
    else:  # rank 3, with a nearly parallel pair (0, 4)
        V = rng.standard_normal((5, 3))
        V[4] = V[0] + 0.05 * rng.standard_normal(3)
    C = V @ V.T
    patterns = [(0, 1, 2, 3), (0, 4, 2, 3), (4, 1, 0, 3), (0, 0, 2, 3), (0, 1, 2, 2),
                (0, 2, 2, 3), (0, 1, 0, 1), (2, 2, 2, 2)]
    mean, se = _mc(C, patterns, seed=5 if which == "full-rank" else 6)
    got = np.array([relu_i4(C, *p) for p in patterns])
    assert np.all(np.abs(got - mean) <= 4 * se), (got, mean, se)


@pytest.mark.slow
def test_reference_sweep_200():
    t0 = time.perf_counter()
    errs = sweep_errors(make_cases(seed=99, count=200))
    worst = max(errs, key=lambda e: e[2])
    by_kind = {k: max(e[2] for e in errs if e[0] == k) for k in KINDS}
    print(f"\nrelu_i4 sweep: {len(errs)} covariances, max |error|/sqrt(C_cc C_dd) = {worst[2]:.2e} "
          f"({worst[0]}, pattern {worst[1]}); {time.perf_counter() - t0:.0f} s")
    for k, v in by_kind.items():
        print(f"  {k:18s} {v:.2e}")
    assert worst[2] <= TOL
