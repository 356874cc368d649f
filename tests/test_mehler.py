"""The η² sum of smooth activations by conditioning on the student pair and Mehler's series
(``integrals.mehler``) against independent routes: the whole average E[g'(λ_k) g'(λ_l) Δ²]
over four fields by a 4-d trapezoid rule written here in numpy, and the sum over pairs of the
nested-quadrature four-field averages (``numerical.i4``, checked in test_activations)."""
import numpy as np
import pytest
from test_activations import PDF, REFERENCE

from odetheory.integrals import mehler, numerical
from odetheory.integrals.activations import GELU, HE3, SIGMOID, SOFTPLUS, TANH

CODES = {"tanh": TANH, "sigmoid": SIGMOID, "he3": HE3, "gelu": GELU, "softplus": SOFTPLUS}


def _direct(C, u, names, k, l, h=0.25, cutoff=7.0):
    """E[g'(x_k) g'(x_l) (Σ_c u_c h_c(x_c))²] for four fields with covariance C, by the trapezoid
    rule with step h on [−cutoff, cutoff] in each coordinate of C's eigen-factor."""
    w, V = np.linalg.eigh(C)
    Lf = V * np.sqrt(np.clip(w, 0, None))
    z = np.arange(-cutoff, cutoff + h / 2, h)
    grids = np.meshgrid(z, z, z, indexing="ij")
    Z = np.stack([x.ravel() for x in grids], axis=1)
    W = np.prod(h * PDF(Z), axis=1)
    total = 0.0
    for z0 in z:
        X = z0 * Lf[:, 0] + Z @ Lf[:, 1:].T
        D = sum(u[c] * REFERENCE[names[c]][0](X[:, c]) for c in range(4))
        total += h * PDF(z0) * (W @ (REFERENCE[names[k]][1](X[:, k]) * REFERENCE[names[k]][1](X[:, l]) * D * D))
    return float(total)


def _covariance(corr23, var=1.0):
    """Four fields whose last two (variance ≈ var) keep a conditional correlation ρ given the
    first two: corr23 = 1.4 at var = 3: ρ = 0.42, 27 terms of the series; 0.45: ρ = 0.40;
    0.75: ρ = 0.68, beyond the series (the nested quadrature)."""
    return np.ascontiguousarray([[0.9, 0.1, 0.2, 0.1], [0.1, 1.1, 0.1, 0.25], [0.2, 0.1, var, corr23],
                                 [0.1, 0.25, corr23, 1.2 * var]])


@pytest.mark.parametrize("names,k,l,C,tol", [
    (("tanh", "tanh", "tanh", "tanh"), 0, 1, _covariance(1.4, 3.0), 3e-9),
    (("tanh", "tanh", "sigmoid", "he3"), 1, 1, _covariance(0.45), 1e-7),
    (("gelu", "gelu", "tanh", "softplus"), 0, 1, _covariance(0.75), 1e-7),
])
def test_mehler_eta2_sum_against_the_direct_four_field_average(names, k, l, C, tol):
    """Against the 4-d trapezoid rule (its own error here below 1e-10): a long series of wide
    tanh fields within 3e-9 (cut where |ρ|^(N+1) ≤ 1e-4 instead of 1e-10 it is off by 1.1e-7), a
    diagonal student pair beside a He3 field (whose series stops at n = 3) and a pair left to
    the nested quadrature within 1e-7."""
    u = np.array([0.7, -1.1, 1.0, 0.6])
    got = mehler.eta2_sum(np.array([CODES[x] for x in names]), C, u, k, l)
    want = _direct(C, u, names, k, l)
    assert abs(got - want) <= tol * abs(want), (got, want)


def test_mehler_eta2_sum_against_the_sum_of_nested_quadratures():
    """Six fields: a teacher equal to a student (determined by the conditioning), two nearly
    equal teachers (|ρ| → 1: nested quadrature), two equal students (λ_l ∝ λ_k: a 1-d outer
    rule), a nearly singular covariance; every (k, l) pattern, within 1e-6 relative (the
    accuracy of ``numerical.i4``) of Σ_cd u_c u_d I4(k, l, c, d)."""
    rng = np.random.default_rng(8)
    B = rng.standard_normal((6, 4)) * 0.5
    B[3] = B[0]  # teacher 3 = student 0
    B[5] = B[4] + 1e-4 * rng.standard_normal(4)  # teachers 4, 5 nearly equal
    B[2] = B[1]  # students 1, 2 equal
    C = np.ascontiguousarray(B @ B.T + 1e-9 * np.eye(6))
    u = rng.standard_normal(6)
    codes = np.array([TANH, TANH, TANH, SIGMOID, TANH, SIGMOID])
    for k, l in [(0, 1), (1, 2), (0, 0), (2, 2)]:
        want = sum(u[c] * u[d] * numerical.i4(TANH, codes[c], codes[d], C, k, l, c, d)
                   for c in range(6) for d in range(6))
        got = mehler.eta2_sum(codes, C, u, k, l)
        assert abs(got - want) <= 1e-6 * abs(want), (k, l, got, want)

