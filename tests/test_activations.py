"""Any activation (THEORY.md §9): parsing, routes, and every average against independent routes.

References written here, independently of the package: activations from scipy/numpy (and
mpmath for the 30-digit check), 2-d averages by nested Gauss–Legendre on [−12, 12] split
at ReLU's kink (float64, error far below 1e-12), the η² term's 4-d averages by a fine
trapezoid rule in numpy and by 10^7-sample Monte Carlo.
"""
import math

import mpmath as mp
import numpy as np
import pytest
from gaussian import mc_average
from scipy.special import erf, expit

from odetheory.errors import InputError
from odetheory.integrals import activations, averages, numerical
from odetheory.integrals.binding import dispatchers
from odetheory.integrals.activations import BUILTINS, CLOSED_FORM_ROUTE, NUMERICAL_ROUTE, POLYNOMIAL_ROUTE
from odetheory.integrals.expressions import activation
from odetheory.integrals.pairs import codes, functions
from odetheory.ode.model import ODE_MODULES

SQ2 = math.sqrt(2.0)
PHI = lambda x: 0.5 * (1.0 + erf(x / SQ2))  # noqa: E731
PDF = lambda x: np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # noqa: E731

# (g, g', g'') of every built-in, written out with numpy/scipy
REFERENCE = {
    "erf": (lambda x: erf(x / SQ2), lambda x: math.sqrt(2 / math.pi) * np.exp(-x * x / 2),
            lambda x: -x * math.sqrt(2 / math.pi) * np.exp(-x * x / 2)),
    "linear": (lambda x: x, lambda x: np.ones_like(x), lambda x: np.zeros_like(x)),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float), lambda x: np.zeros_like(x)),
    "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2, lambda x: -2 * np.tanh(x) / np.cosh(x) ** 2),
    "sigmoid": (expit, lambda x: expit(x) * expit(-x), lambda x: expit(x) * expit(-x) * (1 - 2 * expit(x))),
    "softplus": (lambda x: np.logaddexp(0.0, x), expit, lambda x: expit(x) * expit(-x)),
    "gelu": (lambda x: x * PHI(x), lambda x: PHI(x) + x * PDF(x), lambda x: PDF(x) * (2 - x * x)),
    "he2": (lambda x: x * x - 1, lambda x: 2 * x, lambda x: 2 * np.ones_like(x)),
    "he3": (lambda x: x ** 3 - 3 * x, lambda x: 3 * x * x - 3, lambda x: 6 * x),
    "tanh(2*x)": (lambda x: np.tanh(2 * x), lambda x: 2 / np.cosh(2 * x) ** 2,
                  lambda x: -8 * np.tanh(2 * x) / np.cosh(2 * x) ** 2),
    "x**3 + x**2/2": (lambda x: x ** 3 + x * x / 2, lambda x: 3 * x * x + x, lambda x: 6 * x + 1),
    "erf(2*x)": (lambda x: erf(2 * x), lambda x: 4 / math.sqrt(math.pi) * np.exp(-4 * x * x),
                 lambda x: -32 * x / math.sqrt(math.pi) * np.exp(-4 * x * x)),
    "erf(x)": (erf, lambda x: 2 / math.sqrt(math.pi) * np.exp(-x * x), lambda x: -4 * x / math.sqrt(math.pi) * np.exp(-x * x)),
    "3*relu(-x)": (lambda x: 3 * np.maximum(-x, 0.0), lambda x: -3.0 * (x < 0), lambda x: np.zeros_like(x)),
    "relu(2*x)": (lambda x: np.maximum(2 * x, 0.0), lambda x: 2.0 * (x > 0), lambda x: np.zeros_like(x)),
}
# the kinked activations and the jump of g' at their kink (the weight of g'' = jump · δ)
KINKED = {"relu": 1.0, "3*relu(-x)": 3.0, "relu(2*x)": 2.0}

_X, _W = np.polynomial.legendre.leggauss(400)


def _legendre(lo, hi):
    return (hi - lo) / 2 * _X + (hi + lo) / 2, (hi - lo) / 2 * _W


def reference_pair(ga, gb, C_aa, C_bb, C_ab, kink_a=0.0, kink_b=False):
    """(E[g(a) h(b)], E[g''(a) h(b)], E[g'(a) h'(b)]) by nested Gauss–Legendre on z ∈ [−12, 12]
    (a = σ z1, b = β z1 + s z2), split at z1 = 0 for a kinked g and at b = 0 for a kinked h.
    For a kinked g (kink_a: the jump of g' at 0) the g'' = kink_a δ term is kink_a times the
    density at a = 0 times E[h(b) | a = 0]."""
    sa = math.sqrt(C_aa)
    beta, s = C_ab / sa, math.sqrt(max(C_bb - C_ab ** 2 / C_aa, 0.0))
    if kink_b:  # b's kink, smoothed over s/|β|, sits at z1 = 0: graded pieces around it
        edges = [0.0, 1e-7, 1e-5, 1e-3, 1e-1, 1.0, 12.0]
        parts = [(a, b) for a, b in zip(edges[:-1], edges[1:])] + [(-b, -a) for a, b in zip(edges[:-1], edges[1:])]
    elif kink_a:
        parts = [(-12.0, 0.0), (0.0, 12.0)]
    else:
        parts = [(-12.0, 12.0)]
    z1 = np.concatenate([_legendre(*p)[0] for p in parts])
    w1 = np.concatenate([_legendre(*p)[1] for p in parts]) * PDF(z1)

    def inner(fun, z):
        if s == 0.0:
            return fun(beta * z)
        out = np.empty_like(z)
        for i, zi in enumerate(z):
            cut = -beta * zi / s
            ps = [(-12.0, cut), (cut, 12.0)] if kink_b and -12 < cut < 12 else [(-12.0, 12.0)]
            x = np.concatenate([_legendre(*p)[0] for p in ps])
            w = np.concatenate([_legendre(*p)[1] for p in ps]) * PDF(x)
            out[i] = w @ fun(beta * zi + s * x)
        return out

    h0, h1 = inner(gb[0], z1), inner(gb[1], z1)
    I2 = w1 @ (ga[0](sa * z1) * h0)
    A2 = w1 @ (ga[1](sa * z1) * h1)
    if kink_a:
        A1 = kink_a * inner(gb[0], np.zeros(1))[0] / (math.sqrt(2 * math.pi) * sa)
    else:
        A1 = w1 @ (ga[2](sa * z1) * h0)
    return np.array([I2, A1, A2])


def covariances():
    """(C_aa, C_bb, C_ab): generic, weakly and strongly correlated, nearly singular, singular,
    repeated field (a = b) and large variance."""
    return [(0.8, 1.3, 0.4), (0.3, 0.5, -0.05), (1.0, 1.0, 0.999), (0.7, 0.7, 0.7 * (1 - 1e-9)),
            (0.6, 1.5, math.sqrt(0.6 * 1.5)), (0.9, 0.9, 0.9), (2.5, 1.0, -1.2)]


PAIRS = [("tanh", "tanh"), ("sigmoid", "sigmoid"), ("softplus", "softplus"), ("gelu", "gelu"),
         ("erf", "he3"), ("tanh", "he3"), ("he3", "he3"), ("he2", "linear"), ("he3", "erf"),
         ("relu", "tanh"), ("sigmoid", "relu"), ("tanh(2*x)", "tanh(2*x)"), ("x**3 + x**2/2", "he2"),
         ("erf", "erf"), ("relu", "relu"), ("linear", "linear"), ("erf(2*x)", "erf"),
         pytest.param("3*relu(-x)", "relu(2*x)", marks=pytest.mark.slow),  # each new user pair compiles its
         ("relu", "he2"), ("he3", "relu"), pytest.param("erf(x)", "linear", marks=pytest.mark.slow),  # copies
         ("linear", "relu"), ("erf", "relu"), ("3*relu(-x)", "erf")]


def _exact_pair(student, teacher):
    """True where the pair averages are exact: both activations share a closed-form base, or
    one is a polynomial and the other a polynomial or of a closed-form base (Price's expansion
    stops at the polynomial's degree; ``means``), or one is erf-type and the other relu-type
    (the expansion's terms beyond the first vanish by parity)."""
    s, t = activation(student), activation(teacher)
    if NUMERICAL_ROUTE in (s.route, t.route):
        return False
    return True  # closed-form bases and polynomials: every combination is exact


def _pair_function(student, teacher):
    return functions(ODE_MODULES, student, teacher).pair


@pytest.mark.parametrize("student,teacher", PAIRS)
def test_pair_averages_against_gauss_legendre(student, teacher):
    """I2, E[g'' h], E[g' h'] on every covariance: within 1e-10 (closed forms, polynomials) or
    1e-9 (quadrature), relative, or absolute near zero."""
    pair = _pair_function(student, teacher)
    sc, tc = codes(student, teacher)
    tol = 1e-10 if _exact_pair(student, teacher) else 1e-9
    for C in covariances():
        got = np.array(pair(sc, tc, *C))
        want = reference_pair(REFERENCE[student], REFERENCE[teacher], *C, kink_a=KINKED.get(student, 0.0),
                              kink_b=teacher in KINKED)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"{student}/{teacher} at C = {C}")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "gelu"])
def test_gauss_legendre_reference_against_30_digit_mpmath(name):
    """The float64 reference itself against 30-digit mpmath quadrature (E[g(a) g(b)])."""
    mp.mp.dps = 30
    fun = {"tanh": mp.tanh, "sigmoid": lambda x: 1 / (1 + mp.exp(-x)),
           "gelu": lambda x: x * (1 + mp.erf(x / mp.sqrt(2))) / 2}[name]
    C_aa, C_bb, C_ab = mp.mpf("0.8"), mp.mpf("1.3"), mp.mpf("0.4")
    sa = mp.sqrt(C_aa)
    beta, s = C_ab / sa, mp.sqrt(C_bb - C_ab ** 2 / C_aa)
    pdf = lambda z: mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
    exact = mp.quad(lambda z1, z2: pdf(z1) * pdf(z2) * fun(sa * z1) * fun(beta * z1 + s * z2), [-14, 0, 14],
                    [-14, 0, 14])
    ref = reference_pair(REFERENCE[name], REFERENCE[name], 0.8, 1.3, 0.4)[0]
    assert abs(ref - float(exact)) < 1e-13


def _fine_i4(gs, gc, gd, C4, h=0.25, cutoff=7.0):
    """E[g'(a) g'(b) h_c(c) h_d(d)] by a trapezoid rule with step h on [−cutoff, cutoff] in each
    coordinate of the eigen-factor of C4 (zero eigenvalues dropped), summed slice by slice."""
    w, V = np.linalg.eigh(C4)
    keep = w > 1e-12 * w.max()
    Lf = (V * np.sqrt(np.clip(w, 0, None)))[:, keep]
    z = np.arange(-cutoff, cutoff + h / 2, h)
    wz = h * PDF(z)
    rest = Lf.shape[1] - 1
    grids = np.meshgrid(*([z] * rest), indexing="ij") if rest else []
    Z = np.stack([g.ravel() for g in grids], axis=1) if rest else np.zeros((1, 0))
    W = np.prod(np.stack([h * PDF(g.ravel()) for g in grids], axis=1), axis=1) if rest else np.ones(1)
    total = 0.0
    for z0, w0 in zip(z, wz):
        X = z0 * Lf[:, 0] + Z @ Lf[:, 1:].T
        vals = gs[1](X[:, 0]) * gs[1](X[:, 1]) * gc[0](X[:, 2]) * gd[0](X[:, 3])
        total += w0 * (W @ vals)
    return float(total)


def _i4_cases():
    rng = np.random.default_rng(5)
    out = []
    B = rng.standard_normal((4, 4)) * 0.45
    out.append(("distinct", B @ B.T + 0.05 * np.eye(4), (0, 1, 2, 3)))
    B3 = rng.standard_normal((3, 3)) * 0.5
    C3 = B3 @ B3.T
    out.append(("c = a", C3, (0, 1, 0, 2)))
    out.append(("a = b, c = d", C3, (0, 0, 1, 1)))
    out.append(("all equal", np.array([[0.8]]), (0, 0, 0, 0)))
    return out


@pytest.mark.parametrize("student,teacher", [("tanh", "tanh"), ("sigmoid", "sigmoid"), ("gelu", "he3"),
                                             ("softplus", "tanh")])
def test_numerical_eta2_average_against_fine_trapezoid(student, teacher):
    """The η² term's 4-d average (numerical route) within 1e-6 relative (the accuracy its rule
    is set for; README) of a 4-d trapezoid rule with a 2.5× finer step, on four fields, on a
    repeated field and on all fields equal."""
    sc, tc = codes(student, teacher)
    fn = functions(ODE_MODULES, student, teacher).i4
    for label, C, idx in _i4_cases():
        C4 = C[np.ix_(idx, idx)]
        got = fn(sc, sc, tc, np.ascontiguousarray(C), *idx)
        want = _fine_i4(REFERENCE[student], REFERENCE[student], REFERENCE[teacher], C4)
        assert abs(got - want) <= 1e-6 * max(abs(want), 1e-3), (label, got, want)


def test_numerical_eta2_average_against_monte_carlo():
    """The same average against 10^7-sample Monte Carlo, within 4 standard errors."""
    label, C, idx = _i4_cases()[0]
    sc, tc = codes("tanh", "sigmoid")
    got = functions(ODE_MODULES, "tanh", "sigmoid").i4(sc, sc, tc, np.ascontiguousarray(C), *idx)
    gs, gt = REFERENCE["tanh"], REFERENCE["sigmoid"]
    mean, se = mc_average(C, lambda x: gs[1](x[:, 0]) * gs[1](x[:, 1]) * gs[0](x[:, 2]) * gt[0](x[:, 3]))
    assert abs(got - mean) < 4 * se and se < 2e-3 * abs(mean)


def test_kinked_eta2_average_against_the_relu_kernel():
    """The quadrature's ReLU handling (levels split at the kinks, closed-form innermost average)
    against the semi-analytic ReLU I4 kernel on random covariances and repeated fields: 1e-8."""
    from odetheory.integrals.activations import RELU
    from odetheory.integrals._generated import i4 as closed_i4

    rng = np.random.default_rng(11)
    for trial in range(4):
        B = rng.standard_normal((5, 5)) * 0.6
        C = np.ascontiguousarray(B @ B.T + 0.02 * np.eye(5))
        for idx in [(0, 1, 2, 3), (0, 1, 3, 4), (0, 0, 2, 3), (0, 1, 0, 2), (0, 1, 2, 2)]:
            got = numerical.i4(RELU, RELU, RELU, C, *idx)
            want = closed_i4(RELU, C, *idx)
            assert abs(got - want) <= 1e-8 * max(abs(want), 1e-2), (trial, idx, got, want)


def test_mixed_relu_eta2_average_against_monte_carlo():
    """ReLU student, tanh teacher (and the reverse): the η² average within 4 standard errors of
    10^7-sample Monte Carlo."""
    label, C, idx = _i4_cases()[0]
    for s, t in (("relu", "tanh"), ("tanh", "relu")):
        sc, tc = codes(s, t)
        got = functions(ODE_MODULES, s, t).i4(sc, sc, tc, np.ascontiguousarray(C), *idx)
        gs, gt = REFERENCE[s], REFERENCE[t]
        mean, se = mc_average(C, lambda x: gs[1](x[:, 0]) * gs[1](x[:, 1]) * gs[0](x[:, 2]) * gt[0](x[:, 3]))
        assert abs(got - mean) < 4 * se, (s, t, got, mean, se)


def test_polynomial_eta2_average_is_exact():
    """Exact Gaussian moments: E[g'(a) g'(b) h(c) h(d)] for He3 students and He2 teachers equals
    the trapezoid value to rounding (the rule is exact for polynomials times a Gaussian up to
    tiny cut-off terms)."""
    sc, tc = codes("he3", "he2")
    fn = functions(ODE_MODULES, "he3", "he2").i4
    for label, C, idx in _i4_cases():
        got = fn(sc, sc, tc, np.ascontiguousarray(C), *idx)
        want = _fine_i4(REFERENCE["he3"], REFERENCE["he3"], REFERENCE["he2"], C[np.ix_(idx, idx)], cutoff=9.0)
        assert abs(got - want) <= 1e-10 * max(1.0, abs(want)), label


def test_gaussian_factor_absorbed_into_the_covariance():
    """reweight: C' = C (I + W C)⁻¹ and det(I + W C)^(−1/2) by numpy's inverse and determinant
    (and C' = (C⁻¹ + W)⁻¹ on an invertible C), for weights on two fields or twice on one; the
    factor on a singular C against Monte Carlo of E[e^(−w (x_k² + x_l²)/2)]."""
    from odetheory.integrals.reweight import absorb

    rng = np.random.default_rng(4)
    B = rng.standard_normal((5, 5)) * 0.7
    for C in (B @ B.T + 0.1 * np.eye(5), B[:, :3] @ B[:, :3].T):
        for k, l in ((0, 1), (3, 1), (2, 2)):
            w, out = 1.7, np.empty((5, 5))
            W = np.zeros((5, 5))
            W[k, k] += w
            W[l, l] += w
            factor = absorb(C, k, l, w, out)
            np.testing.assert_allclose(out, C @ np.linalg.inv(np.eye(5) + W @ C), rtol=1e-12, atol=1e-14)
            assert factor == pytest.approx(np.linalg.det(np.eye(5) + W @ C) ** -0.5, rel=1e-13)
            if np.linalg.matrix_rank(C) == 5:
                np.testing.assert_allclose(out, np.linalg.inv(np.linalg.inv(C) + W), rtol=1e-10, atol=1e-12)
        mean, se = mc_average(C, lambda x: np.exp(-0.5 * w * (x[:, 3] ** 2 + x[:, 1] ** 2)))
        assert abs(absorb(C, 3, 1, w, out) - mean) < 4 * se


@pytest.mark.parametrize("student,teacher", [("erf", "he3"), pytest.param("erf(x)", "linear", marks=pytest.mark.slow),
                                             ("he3", "erf"),
                                             ("linear", "erf"), ("he2", "erf"), ("erf", "tanh"), ("erf", "sigmoid")])
def test_erf_type_beside_other_fields_eta2_average_is_exact(student, teacher):
    """E[g'(a) g'(b) h_c(c) h_d(d)] for an erf-type student with polynomial fields, or a
    polynomial student with erf-type fields: exact (the Gaussian factor of erf' absorbed into
    the covariance, then Price's expansion; over two erf-type fields the expansion in the
    edges of a and b, ``erf_derivatives``), so within 1e-10 of the fine trapezoid rule (exact
    to rounding for these entire functions unless g' is narrow: erf(x), not erf(2*x), for the
    scaled student) on every field pattern (four distinct fields for one pattern of c, d).
    An erf-type student of a teacher that takes the quadrature: its Gaussian factor absorbed
    the same way leaves a 2-d average, within the 1e-9 of the 2-d quadrature."""
    tol = 1e-9 if activation(teacher).route == NUMERICAL_ROUTE else 1e-10
    sc, tc = codes(student, teacher)
    fn = functions(ODE_MODULES, student, teacher).i4
    gs, gt = REFERENCE[student], REFERENCE[teacher]
    for n, ((hc, cc), (hd, cd)) in enumerate([((gs, sc), (gt, tc)), ((gt, tc), (gs, sc)), ((gt, tc), (gt, tc))]):
        for label, C, idx in _i4_cases()[(0 if n == 0 else 1):]:  # four distinct fields (slow) once
            got = fn(sc, cc, cd, np.ascontiguousarray(C), *idx)
            want = _fine_i4(gs, hc, hd, C[np.ix_(idx, idx)], cutoff=9.0)
            assert abs(got - want) <= tol * max(abs(want), 1e-3), (label, cc, cd, got, want)


def test_erf_student_of_a_relu_teacher_eta2_average_against_the_kinked_quadrature():
    """An erf student of a ReLU teacher: the η² average is exact (Gaussian factor absorbed,
    then the closed erf/relu, relu/relu and erf/erf pair averages) and agrees with the 4-d
    quadrature, which splits its levels at the kinks (itself within 1e-8 of the ReLU kernel),
    to 1e-8 on the field patterns of the right-hand side (a field shared by two slots has one
    activation)."""
    from odetheory.integrals.activations import ERF, RELU

    fn = functions(ODE_MODULES, "erf", "relu").i4
    cases = _i4_cases()
    patterns = [(cases[0], (ERF, RELU)), (cases[0], (RELU, ERF)), (cases[0], (RELU, RELU)),
                (cases[1], (ERF, RELU)), (cases[2], (RELU, RELU))]
    for (label, C, idx), (tc, td) in patterns:
        C = np.ascontiguousarray(C)
        got, want = fn(ERF, tc, td, C, *idx), numerical.i4(ERF, tc, td, C, *idx)
        assert abs(got - want) <= 1e-8 * max(abs(want), 1e-2), (label, tc, td, got, want)


@pytest.mark.parametrize("student,teacher", [("erf", "tanh"), ("erf", "he3"), ("he2", "erf")])
def test_mixed_eta2_sum_against_the_sum_of_four_field_averages(student, teacher):
    """The η² sum of an erf-type student (one C' per (k, l) on all fields) and of a polynomial
    student over erf-type fields against Σ_cd u_c u_d of the four-field averages checked
    above, on a nearly singular covariance: 1e-12."""
    sc, tc = codes(student, teacher)
    fn = functions(ODE_MODULES, student, teacher)
    rng = np.random.default_rng(6)
    B = rng.standard_normal((5, 5)) * 0.5
    C, u = np.ascontiguousarray(B @ B.T + 1e-9 * np.eye(5)), rng.standard_normal(5)
    field_codes = np.array([sc, sc, sc, tc, tc])
    for k, l in [(0, 1), (2, 2)]:
        want = sum(u[c] * u[d] * fn.i4(sc, field_codes[c], field_codes[d], C, k, l, c, d)
                   for c in range(5) for d in range(5))
        assert abs(fn.eta2_sum(field_codes, C, u, k, l) - want) <= 1e-12 * max(1.0, abs(want)), (k, l)


# ---------------------------------------------------------------- parsing and routes

@pytest.mark.parametrize("text,word", [
    ("x +", "parse"), ("x*y", "free symbols"), ("1/x", "not finite"), ("log(x)", "not finite"),
    ("exp(x**2)", "not finite"), ("3", "does not depend"), ("foo(x)", "compiler"),
])
def test_bad_expressions_are_one_line_errors(text, word):
    with pytest.raises(InputError) as info:
        activation(text)
    assert word in str(info.value) and "\n" not in str(info.value)


def test_expressions_equal_to_a_builtin_are_the_builtin():
    assert activation("x**3 - 3*x") is BUILTINS["he3"]
    assert activation("tanh(x)") is BUILTINS["tanh"]
    assert activation(" ReLU ") is BUILTINS["relu"]


def test_routes():
    assert activation("x**3 + x**2/2").route == POLYNOMIAL_ROUTE
    assert activation("x**3 + x**2/2").coefficients == (0.0, 0.0, 0.5, 1.0)
    t2 = activation("tanh(2*x)")
    assert t2.route == NUMERICAL_ROUTE and t2.odd
    assert 0.5 < t2.strip < math.pi / 4 + 0.05  # poles of tanh(2x) at ±iπ/4
    assert not activation("sigmoid(x) + x").odd
    e2, r3 = activation("erf(2*x)"), activation("3*relu(-x)")  # A·base(s·x): the base's closed forms
    assert e2.route == r3.route == CLOSED_FORM_ROUTE and (e2.base, e2.amplitude) == (BUILTINS["erf"].code, 1.0)
    assert e2.scale == pytest.approx(2 * SQ2) and (r3.amplitude, r3.scale) == (3.0, -1.0)
    assert activation("erf(2*x) + x").route == activation("relu(x) + 1").route == NUMERICAL_ROUTE


@pytest.mark.parametrize("name", list(BUILTINS) + ["tanh(2*x)", "x**3 + x**2/2"])
def test_scalar_functions_against_numpy(name):
    act = activation(name)
    x = np.linspace(-6, 6, 61)
    for order, fun in enumerate((act.g, act.g_prime, act.g_second)):
        got = np.array([fun(t) for t in x])
        want = REFERENCE[name][order](x)
        if name == "relu" and order > 0:
            got, want = got[x != 0], want[x != 0]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=f"{name} order {order}")
    # g_values, the three at once for the quadrature loops (a user expression's through its dispatcher)
    code, = codes(name, "erf")[:1]
    if act.builtin:
        values = activations.g_values
    else:
        values = dispatchers({code: act})[0].g_values
    got = np.array([values(code, t) for t in x]).T
    for order in range(3):
        want = REFERENCE[name][order](x)
        keep = x != 0 if name == "relu" and order > 0 else slice(None)
        np.testing.assert_allclose(got[order][keep], want[keep], rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name} g_values order {order}")


def test_numerical_rule_beats_gauss_hermite_for_tanh():
    """The choice of rule, measured: for E[tanh(σz)²] at σ = 1.5 the trapezoid rule with the
    node count the kernel uses is more accurate than Gauss–Hermite with the same count."""
    sigma = 1.5
    n = numerical.n_nodes(sigma, math.pi / 2, numerical.L, numerical.H_MAX, numerical.STEP, numerical.N_MAX)
    ref = reference_pair(REFERENCE["tanh"], REFERENCE["tanh"], sigma ** 2, sigma ** 2, sigma ** 2)[0]
    z = np.linspace(-numerical.L, numerical.L, n)
    trap = (z[1] - z[0]) * PDF(z) @ np.tanh(sigma * z) ** 2
    x, w = np.polynomial.hermite_e.hermegauss(n)
    gh = w @ np.tanh(sigma * x) ** 2 / math.sqrt(2 * math.pi)
    assert abs(trap - ref) < 1e-12 < abs(gh - ref)
    assert averages.closed(0) and not averages.closed(3)


def _isserlis_moments(C4, dims):
    """Table m[n] = E[x_1^n_1 … x_4^n_4] (n < dims) by Isserlis' recursion, pairing the first
    x_i with n_i > 0 with each of the others: E[x_i x^m] = Σ_j C_ij m_j E[x^(m − e_j)],
    m = n − e_i, filled in lexicographic order (plain Python)."""
    m = {}
    for n in np.ndindex(*dims):
        if sum(n) == 0:
            m[n] = 1.0
            continue
        i = next(k for k in range(4) if n[k] > 0)
        rest = list(n)
        rest[i] -= 1
        total = 0.0
        for j in range(4):
            if rest[j] > 0:
                less = list(rest)
                less[j] -= 1
                total += C4[i][j] * rest[j] * m[tuple(less)]
        m[n] = total
    return m


def _isserlis_average(polys, C4):
    """E[Π_i p_i(x_i)] for coefficient vectors p_1..p_4, moment by moment."""
    dims = tuple(len(p) for p in polys)
    m = _isserlis_moments(C4, dims)
    return sum(np.prod([p[k] for p, k in zip(polys, n)]) * m[n] for n in np.ndindex(*dims))


def test_price_expansion_against_isserlis_recursion():
    """The polynomial route (Price's expansion in the off-diagonal covariances) against the
    Isserlis recursion over every monomial, for random polynomials up to the highest degree
    admitted, on random, singular and repeated-field covariances: 1e-11 relative."""
    from odetheory.integrals import polynomial
    from odetheory.integrals.expressions import MAX_DEGREE

    rng = np.random.default_rng(3)
    deriv = lambda p: np.array([j * p[j] for j in range(1, len(p))]) if len(p) > 1 else np.zeros(1)  # noqa: E731
    for trial in range(12):
        degs = rng.integers(1, MAX_DEGREE + 1, size=3) if trial < 8 else (MAX_DEGREE, MAX_DEGREE, MAX_DEGREE)
        gs, gc, gd = (rng.standard_normal(d + 1) for d in degs)
        B = rng.standard_normal((4, 4 - trial % 2)) * 0.6  # odd trials: rank 3, singular
        C = B @ B.T
        for idx in [(0, 1, 2, 3), (0, 0, 1, 2), (0, 1, 0, 1), (2, 2, 2, 2)]:
            C4 = C[np.ix_(idx, idx)]
            want = _isserlis_average([deriv(gs), deriv(gs), gc, gd], C4.tolist())
            got = polynomial.i4(gs, gc, gd, C, *idx)
            assert abs(got - want) <= 1e-11 * max(1.0, abs(want)), (trial, idx, got, want)
        Ca, Cb, Cab = C[0, 0], C[1, 1], C[0, 1]
        C2 = [[Ca, Cab, 0, 0], [Cab, Cb, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
        one = np.ones(1)
        want = [_isserlis_average([gs, gc, one, one], C2), _isserlis_average([deriv(deriv(gs)), gc, one, one], C2),
                _isserlis_average([deriv(gs), deriv(gc), one, one], C2)]
        np.testing.assert_allclose(polynomial.pair(gs, gc, Ca, Cb, Cab), want, rtol=1e-11, atol=1e-11)


def test_polynomial_eta2_sum_against_the_sum_of_four_field_averages():
    """The regrouped η² sum (fields meet only through C_cd^m/m!) against the plain double sum
    Σ_cd u_c u_d E[g'(k) g'(l) h_c h_d] of the four-field averages checked above, for a
    student and a teacher polynomial of different degrees and a singular covariance: 1e-11."""
    from odetheory.integrals import polynomial

    rng = np.random.default_rng(8)
    K, M = 3, 2
    gs, gt = rng.standard_normal(5), rng.standard_normal(4)
    coefficients = np.zeros((K + M, polynomial.MAX_TERMS))
    coefficients[:K, :5], coefficients[K:, :4] = gs, gt
    degrees = np.array([4] * K + [3] * M)
    B = rng.standard_normal((K + M, K + M - 1)) * 0.5
    C, u = B @ B.T, rng.standard_normal(K + M)
    for k, l in [(0, 0), (0, 2), (1, 2)]:
        want = sum(u[c] * u[d] * polynomial.i4(gs, gs if c < K else gt, gs if d < K else gt, C, k, l, c, d)
                   for c in range(K + M) for d in range(K + M))
        got = polynomial.eta2_sum(coefficients, degrees, C, u, k, l)
        assert abs(got - want) <= 1e-11 * max(1.0, abs(want)), (k, l, got, want)
        every_pair = polynomial.eta2_sums(coefficients, degrees, C, u, K)  # shared per-field work
        assert abs(every_pair[k, l] - want) <= 1e-11 * max(1.0, abs(want)) and every_pair[l, k] == every_pair[k, l]


@pytest.mark.parametrize("student,teacher", [("he3", "he2"), ("erf", "he3"), ("tanh", "tanh"), ("relu", "he2")])
def test_eta2_sums_are_the_pairwise_eta2_sums(student, teacher):
    """averages.eta2_sums (the right-hand side's call) against eta2_sum pair by pair on every
    route it dispatches to: the polynomial route shares its per-field work, the others loop."""
    from odetheory.integrals import averages

    K, M = 3, 2
    sc, tc = codes(student, teacher)
    rng = np.random.default_rng(4)
    B = rng.standard_normal((K + M, K + M)) * 0.5
    C, u = np.ascontiguousarray(B @ B.T + 0.05 * np.eye(K + M)), rng.standard_normal(K + M)
    field_codes = np.array([sc] * K + [tc] * M)
    got = averages.eta2_sums(field_codes, C, u, K)
    for k in range(K):
        for l in range(K):
            want = averages.eta2_sum(field_codes, C, u, min(k, l), max(k, l))
            assert abs(got[k, l] - want) <= 1e-12 * max(1.0, abs(want)), (k, l, got[k, l], want)


@pytest.mark.parametrize("student,teacher", [("erf(2*x)", "erf"),
                                             pytest.param("3*relu(-x)", "relu(2*x)", marks=pytest.mark.slow)])
def test_scaled_closed_forms_eta2_average(student, teacher):
    """A·base(s·x) fields through their base's closed forms on the scaled covariance: the
    four-field average against the fine trapezoid rule (1e-8; for ReLU, whose kinks the rule
    does not resolve, against 10^7-sample Monte Carlo within 4 standard errors), and the η²
    sum against the sum of those averages (1e-12)."""
    sc, tc = codes(student, teacher)
    fn = functions(ODE_MODULES, student, teacher)
    gs, gt = REFERENCE[student], REFERENCE[teacher]
    for label, C, idx in _i4_cases()[:2]:
        got = fn.i4(sc, sc, tc, np.ascontiguousarray(C), *idx)
        if student in KINKED:
            mean, se = mc_average(C[np.ix_(idx, idx)],
                                  lambda x: gs[1](x[:, 0]) * gs[1](x[:, 1]) * gs[0](x[:, 2]) * gt[0](x[:, 3]))
            assert abs(got - mean) < 4 * se, (label, got, mean, se)
        else:
            want = _fine_i4(gs, gs, gt, C[np.ix_(idx, idx)])
            assert abs(got - want) <= 1e-8 * max(abs(want), 1e-3), (label, got, want)
    rng = np.random.default_rng(2)
    B = rng.standard_normal((4, 4)) * 0.5
    C, u = np.ascontiguousarray(B @ B.T + 0.1 * np.eye(4)), rng.standard_normal(4)
    field_codes = np.array([sc, sc, tc, tc])
    want = sum(u[c] * u[d] * fn.i4(sc, field_codes[c], field_codes[d], C, 0, 1, c, d) for c in range(4) for d in range(4))
    assert abs(fn.eta2_sum(field_codes, C, u, 0, 1) - want) <= 1e-12 * max(1.0, abs(want))


# ------------------------------------------------- steps times polynomials (ReLU beside polynomials)

def _wedge_average(C4, s_ab, p_c, p_d, n_theta=96, n_r=160, n_gh=12):
    """E[s_ab θ(a) θ(b) p_c(c) p_d(d)] for a, b not parallel and polynomial p_c, p_d (coefficient
    lists), by a route without Stein's lemma: (a, b) = L z in polar coordinates, the wedge
    a, b > 0 cut out exactly, Gauss–Legendre in the angle and in r on [0, 12], and the
    conditional average of p_c(c) p_d(d) given (a, b) by Gauss–Hermite (exact for polynomials)."""
    Cab = C4[:2, :2]
    L = np.linalg.cholesky(Cab)
    # directions with a = L00 cos t > 0 and b = L10 cos t + L11 sin t > 0
    lo, hi = max(-math.pi / 2, math.atan2(-L[1, 0], L[1, 1])), math.pi / 2
    xt, wt = np.polynomial.legendre.leggauss(n_theta)
    t, wt = (hi - lo) / 2 * xt + (hi + lo) / 2, (hi - lo) / 2 * wt
    xr, wr = np.polynomial.legendre.leggauss(n_r)
    r, wr = 6.0 * (xr + 1.0), 6.0 * wr
    T, Rr = np.meshgrid(t, r, indexing="ij")
    W = np.outer(wt, wr * r * np.exp(-r * r / 2)) / (2 * math.pi)
    ab = np.stack([L[0, 0] * Rr * np.cos(T), Rr * (L[1, 0] * np.cos(T) + L[1, 1] * np.sin(T))], axis=-1)
    B = C4[2:, :2] @ np.linalg.inv(Cab)  # conditional mean of (c, d): B (a, b)
    S = C4[2:, 2:] - B @ C4[:2, 2:]
    w, V = np.linalg.eigh(S)
    F = V * np.sqrt(np.clip(w, 0.0, None))
    xh, wh = np.polynomial.hermite_e.hermegauss(n_gh)
    wh = wh / wh.sum()
    mean = ab @ B.T  # (n_theta, n_r, 2)
    cond = np.zeros(T.shape)
    for i, u in enumerate(xh):
        for j, v in enumerate(xh):
            noise = F @ np.array([u, v])
            c, d = mean[..., 0] + noise[0], mean[..., 1] + noise[1]
            cond += wh[i] * wh[j] * np.polyval(p_c[::-1], c) * np.polyval(p_d[::-1], d)
    return s_ab * float(np.sum(W * cond))


def _one_step_average(C4, p_a, p_b, p_c, n_gh=10, n_z=200):
    """E[p_a(a) p_b(b) p_c(c) relu(d)] for polynomials p (coefficient lists) on fields that may
    repeat: the conditional average given d by Gauss–Hermite (exact for polynomials), then
    Gauss–Legendre on the half-line d > 0 (z ∈ [0, 12])."""
    m, vd = C4[:3, 3] / C4[3, 3], C4[3, 3]
    w, V = np.linalg.eigh(C4[:3, :3] - np.outer(C4[:3, 3], C4[:3, 3]) / vd)
    F = V * np.sqrt(np.clip(w, 0.0, None))
    xh, wh = np.polynomial.hermite_e.hermegauss(n_gh)
    wh = wh / wh.sum()
    xg, wg = np.polynomial.legendre.leggauss(n_z)
    z = 6.0 * (xg + 1.0)
    wz, d = 6.0 * wg * PDF(z), math.sqrt(vd) * z
    total = 0.0
    for i in np.ndindex(n_gh, n_gh, n_gh):
        noise = F @ xh[list(i)]
        x = np.outer(m, d) + noise[:, None]
        total += np.prod(wh[list(i)]) * np.sum(wz * d * np.polyval(p_a[::-1], x[0]) * np.polyval(p_b[::-1], x[1])
                                               * np.polyval(p_c[::-1], x[2]))
    return float(total)


def test_polynomial_student_beside_one_relu_field_eta2_average_is_exact():
    """A He3 or linear student beside one ReLU field (one step): against the conditional route
    above, to 1e-12, on the patterns of the right-hand side (c a student or a teacher field)."""
    from odetheory.integrals.activations import HE3, LINEAR, RELU

    rng = np.random.default_rng(8)
    B = rng.standard_normal((5, 5)) * 0.5
    C = np.ascontiguousarray(B @ B.T + 0.05 * np.eye(5))  # fields 0–2 students, 3–4 teachers
    poly = {HE3: ([-3.0, 0.0, 3.0], [0.0, -3.0, 0.0, 1.0]), LINEAR: ([1.0], [0.0, 1.0])}  # (g', g)
    for s in (HE3, LINEAR):
        for idx in ((0, 1, 0, 3), (1, 1, 2, 4), (0, 2, 2, 3)):
            got = averages.i4(s, s, RELU, C, *idx)
            want = _one_step_average(C[np.ix_(idx, idx)], poly[s][0], poly[s][0], poly[s][1])
            assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), (s, idx, got, want)


def test_relu_student_beside_polynomial_fields_eta2_average_is_exact():
    """A ReLU student beside He2/He3 fields (the average goes to ``orthant``: Stein's lemma
    down to orthant probabilities) against the wedge route above, to 1e-12, on random
    covariances with c = d, with c a copy of d and with a, b strongly correlated; and for a, b
    (or a, c under three steps) nearly parallel, within 1e-8 of the exact repeat they tend to
    (the wedge route itself loses digits there)."""
    from odetheory.integrals.activations import HE2, HE3, RELU

    rng = np.random.default_rng(21)
    he = {"he2": [-1.0, 0.0, 1.0], "he3": [0.0, -3.0, 0.0, 1.0]}
    for trial in range(3):
        B = rng.standard_normal((4, 4)) * 0.6
        C4 = B @ B.T + 0.05 * np.eye(4)
        if trial == 2:  # a, b strongly correlated; d a copy of c
            B[1] = B[0] + 1e-2 * B[1]
            B[3] = B[2]
            C4 = B @ B.T
        for tc, td in (("he2", "he3"), ("he3", "he3")):
            sc, (ccode, dcode) = codes("relu", tc)[0], (codes("relu", tc)[1], codes("relu", td)[1])
            for idx in ((0, 1, 2, 3), (0, 1, 3, 3)):
                got = averages.i4(sc, ccode, dcode if idx[2] != idx[3] else ccode, np.ascontiguousarray(C4), *idx)
                C = C4[np.ix_(idx, idx)]
                want = _wedge_average(C, 1.0, he[tc], he[td] if idx[2] != idx[3] else he[tc])
                assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), (trial, tc, td, idx, got, want)
    B[1] = B[0] + 1e-9 * B[1]
    C = np.ascontiguousarray(B @ B.T)
    for s_, c_, d_, near, repeat in ((RELU, HE2, HE3, (0, 1, 2, 3), (0, 0, 2, 3)),
                                     (RELU, RELU, HE3, (0, 2, 1, 3), (0, 2, 0, 3))):
        got, want = averages.i4(s_, c_, d_, C, *near), averages.i4(s_, c_, d_, C, *repeat)
        assert abs(got - want) <= 1e-8 * max(1.0, abs(want)), (near, got, want)


@pytest.mark.parametrize("student,teacher", [("relu", "he2"), ("relu", "he3"), ("he3", "relu"), ("linear", "relu")])
def test_step_polynomial_eta2_average_against_the_kinked_quadrature(student, teacher):
    """ReLU-type beside polynomial fields (any amplitude, scale and sign): the exact route
    against the 4-d quadrature that splits its levels at the kinks, to 1e-5 (the quadrature's
    accuracy for the high-degree He3 integrands: up to 2e-6 on this covariance, where the
    exact route agrees with the exact references above to 1e-14), on the field
    patterns of the right-hand side that take this route (three student and two teacher
    fields, c or d a teacher field, a field shared by two slots with one activation), and one case
    against 10^7-sample Monte Carlo within 4 standard errors."""
    sc, tc = codes(student, teacher)
    fn, quadrature = functions(ODE_MODULES, student, teacher), functions((numerical,), student, teacher).i4
    rng = np.random.default_rng(8)
    B = rng.standard_normal((5, 5)) * 0.5
    C = np.ascontiguousarray(B @ B.T + 0.05 * np.eye(5))
    field = [sc, sc, sc, tc, tc]
    for k, l in ((0, 1), (1, 1), (2, 0)):
        for c, d in ((1, 3), (2, 4), (0, 3), (3, 4), (4, 4), (3, 3)):
            got = fn.i4(sc, field[c], field[d], C, k, l, c, d)
            want = quadrature(sc, field[c], field[d], C, k, l, c, d)
            assert abs(got - want) <= 1e-5 * max(abs(want), 1e-2), (k, l, c, d, got, want)
    gs, gt = REFERENCE[student], REFERENCE[teacher]
    got = fn.i4(sc, sc, tc, C, 0, 1, 2, 3)
    mean, se = mc_average(C[np.ix_((0, 1, 2, 3), (0, 1, 2, 3))],
                          lambda x: gs[1](x[:, 0]) * gs[1](x[:, 1]) * gs[0](x[:, 2]) * gt[0](x[:, 3]))
    assert abs(got - mean) < 4 * se, (got, mean, se)


def test_scaled_relu_beside_polynomial_fields_by_reflection():
    """g = 3 relu(−x) beside He2/He3 fields: the average equals, field by field reflected
    (x → −x on the student's fields; g' = −3 θ(−x), g = 3 relu(−x)), 9 (times 3 for a
    student field in a value slot) times the plain ReLU average on the reflected covariance,
    to 1e-13 (an exact identity, which checks the route's handling of scale and sign)."""
    from odetheory.integrals.activations import HE2, HE3, RELU, USER_STUDENT

    fn = functions(ODE_MODULES, "3*relu(-x)", "erf")  # compiled for the pair tests already
    rng = np.random.default_rng(12)
    B = rng.standard_normal((5, 5)) * 0.5
    C = np.ascontiguousarray(B @ B.T + 0.05 * np.eye(5))
    flip = np.diag([-1.0, -1.0, -1.0, 1.0, 1.0])  # fields 0–2 students
    Cf = np.ascontiguousarray(flip @ C @ flip)
    for (tc, td), idx, factor in ((((HE2, HE3)), (0, 1, 3, 4), 9.0), ((HE3, HE3), (1, 1, 4, 4), 9.0),
                                  ((USER_STUDENT, HE2), (0, 1, 2, 3), 27.0), ((USER_STUDENT, HE3), (0, 2, 0, 4), 27.0)):
        got = fn.i4(USER_STUDENT, tc, td, C, *idx)
        want = factor * averages.i4(RELU, RELU if tc == USER_STUDENT else tc, td, Cf, *idx)
        assert abs(got - want) <= 1e-13 * max(1.0, abs(want)), (idx, got, want)
