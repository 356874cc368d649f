"""Fixed points, their spectra and the plateau length against N, checked by independent routes.

The reference right-hand side below is written from THEORY.md §3–4 directly (numpy, no
compiled code, no clipping), in complex arithmetic, so that its Jacobian can be taken by
the complex step Im f(x + ih e_j)/h, exact to rounding: an independent route to the
Jacobian that the module computes by central differences of the compiled code.
"""
import math

import numpy as np
import pytest
from scipy.optimize import fsolve

from cli_runner import run_cli as run
from odetheory import State, draw_network, integrate
from odetheory.experiments import fixedpoints as fx
from odetheory.initial import network_from_state
from odetheory.plateaus import plateau, plateaus


# ---------------------------------------------------------------- the independent reference

def _I2(act, C, a, b):
    if act == "linear":
        return C[a, b]
    return 2 / np.pi * np.arcsin(C[a, b] / np.sqrt((1 + C[a, a]) * (1 + C[b, b])))


def _J2(act, C, a, b):
    if act == "linear":
        return 1.0
    return 2 / np.pi / np.sqrt((1 + C[a, a]) * (1 + C[b, b]) - C[a, b] ** 2)


def _I3(act, C, a, b, c):
    if act == "linear":
        return C[b, c]
    lam3 = (1 + C[a, a]) * (1 + C[c, c]) - C[a, c] ** 2
    return 2 / np.pi / np.sqrt(lam3) * (C[b, c] * (1 + C[a, a]) - C[a, b] * C[a, c]) / (1 + C[a, a])


def _I4(act, C, a, b, c, d):
    if act == "linear":
        return C[c, d]
    l4 = (1 + C[a, a]) * (1 + C[b, b]) - C[a, b] ** 2
    l0 = (l4 * C[c, d] - C[b, c] * C[b, d] * (1 + C[a, a]) - C[a, c] * C[a, d] * (1 + C[b, b])
          + C[a, b] * C[a, c] * C[b, d] + C[a, b] * C[a, d] * C[b, c])
    l1 = l4 * (1 + C[c, c]) - C[b, c] ** 2 * (1 + C[a, a]) - C[a, c] ** 2 * (1 + C[b, b]) + 2 * C[a, b] * C[a, c] * C[b, c]
    l2 = l4 * (1 + C[d, d]) - C[b, d] ** 2 * (1 + C[a, a]) - C[a, d] ** 2 * (1 + C[b, b]) + 2 * C[a, b] * C[a, d] * C[b, d]
    return 4 / np.pi ** 2 / np.sqrt(l4) * np.arcsin(l0 / np.sqrt(l1 * l2))


def reference_rhs(Q, R, v, T, A, F, act="erf", rule="bp", eta=0.1, eta_v=None, sigma=0.0):
    """(dQ, dR, dv) of THEORY.md §3 for erf or linear, any dtype (complex for the complex step)."""
    eta_v = eta if eta_v is None else eta_v
    K, M = R.shape
    n = K + M
    C = np.zeros((n, n), dtype=np.result_type(Q, R, v, float))
    C[:K, :K], C[:K, K:], C[K:, :K], C[K:, K:] = Q, R, R.T, T
    u = np.concatenate((v, -np.asarray(A, float)))
    f = v if rule == "bp" else np.asarray(F, float)
    S = [[sum(u[c] * _I3(act, C, k, b, c) for c in range(n)) for b in range(n)] for k in range(K)]
    dR = np.array([[-eta * f[k] * S[k][K + m] for m in range(M)] for k in range(K)])
    dv = np.array([-eta_v * sum(u[c] * _I2(act, C, k, c) for c in range(n)) for k in range(K)])
    dQ = np.zeros((K, K), dtype=C.dtype)
    for k in range(K):
        for l in range(K):
            s4 = sum(u[c] * u[d] * _I4(act, C, k, l, c, d) for c in range(n) for d in range(n))
            dQ[k, l] = (-eta * (f[k] * S[k][l] + f[l] * S[l][k])
                        + eta ** 2 * f[k] * f[l] * (s4 + sigma ** 2 * _J2(act, C, k, l)))
    return dQ, dR, dv


def _coordinates(K, M, trained=True):
    """Independent packing: list of (kind, i, j) for x = [Q_kl (k <= l), R_km, v_k]."""
    out = [("Q", k, l) for k in range(K) for l in range(k, K)] + [("R", k, m) for k in range(K) for m in range(M)]
    return out + ([("v", k, 0) for k in range(K)] if trained else [])


def _reference_flow(state, **model):
    """x -> dx/dα from the reference, with its own packing (any dtype)."""
    K, M = state.K, state.M
    coords = _coordinates(K, M)

    def unpack(x):
        Q = np.zeros((K, K), dtype=x.dtype)
        R = np.zeros((K, M), dtype=x.dtype)
        v = np.zeros(K, dtype=x.dtype)
        for value, (kind, i, j) in zip(x, coords):
            if kind == "Q":
                Q[i, j] = Q[j, i] = value
            elif kind == "R":
                R[i, j] = value
            else:
                v[i] = value
        return Q, R, v

    def fun(x):
        dQ, dR, dv = reference_rhs(*unpack(x), state.T, state.A, state.F, **model)
        return np.array([{"Q": dQ, "R": dR}[kind][i, j] if kind != "v" else dv[i] for kind, i, j in coords])

    def pack(Q, R, v):
        return np.array([Q[i, j] if kind == "Q" else R[i, j] if kind == "R" else v[i] for kind, i, j in coords])

    return fun, pack, unpack


def complex_step_jacobian(fun, x, h=1e-30):
    x = np.asarray(x, complex)
    J = np.empty((len(x), len(x)))
    for j in range(len(x)):
        e = x.copy()
        e[j] += 1j * h
        J[:, j] = fun(e).imag / h
    return J


def _random_state(K, M, seed, scale=0.6):
    st = draw_network(K, M, N=300, sigma0=scale, seed=seed).state()
    rng = np.random.default_rng(seed + 100)
    return State.checked(st.Q, st.R, st.T, st.A, rng.normal(0, 0.8, K), rng.normal(0, 1, K))


def _symmetric_problem(seed=0):
    """erf, K = M = 2, T = I, A = 1, broken-symmetry start (small weights drawn at N = 500)."""
    st = draw_network(2, 2, 500, 1e-2, seed).state()
    return State(Q=st.Q, R=st.R, T=np.eye(2), A=np.ones(2), v=st.v, F=st.F)


def _canonical(Q, R, v):
    """Flip (w_k, v_k) -> (-w_k, -v_k) so that every v_k >= 0 (erf is odd: same network)."""
    s = np.where(v < 0, -1.0, 1.0)
    return Q * np.outer(s, s), R * s[:, None], v * s


# ---------------------------------------------------------------- residual and Jacobian

@pytest.mark.parametrize("act,rule,K,M", [("erf", "dfa", 3, 2), ("erf", "bp", 2, 2), ("linear", "bp", 2, 3)])
def test_rhs_and_jacobian_against_complex_step_of_the_reference(act, rule, K, M):
    st = _random_state(K, M, seed=K + M)
    model = dict(act=act, rule=rule, eta=0.3, eta_v=0.2, sigma=0.2)
    fun, pack, _ = fx._rhs_function(st, activation=act, rule=rule, eta=0.3, eta_v=0.2, sigma=0.2)
    ref, ref_pack, _ = _reference_flow(st, **model)
    x = pack(st.Q, st.R, st.v)
    assert np.allclose(x, ref_pack(st.Q, st.R, st.v), rtol=0, atol=0)
    f_ref = ref(x.astype(complex)).real
    assert np.max(np.abs(fun(x) - f_ref)) < 1e-13 * max(1.0, np.max(np.abs(f_ref)))
    J_exact = complex_step_jacobian(ref, x)
    J, estimate = fx.jacobian(fun, x)
    error = np.max(np.abs(J - J_exact)) / np.max(np.abs(J_exact))
    assert error < 1e-8, error
    assert error < 30 * estimate + 1e-13  # the error estimate is of the right size
    # the step is chosen for accuracy: a forward difference with the textbook step √ε is far worse
    h = 1.5e-8 * np.maximum(np.abs(x), 1.0)
    J_fwd = np.column_stack([(fun(x + h[j] * np.eye(len(x))[j]) - fun(x)) / h[j] for j in range(len(x))])
    assert np.max(np.abs(J_fwd - J_exact)) / np.max(np.abs(J_exact)) > 10 * error


@pytest.mark.parametrize("eta", [0.1, 0.02])
def test_symmetric_plateau_from_broken_symmetry_is_the_fixed_point_of_the_symmetric_subspace(eta):
    """erf BP, K = M = 2, T = I, A = 1: the plateau of a run from random small weights is
    refined to the unspecialised fixed point (Q_11 = Q_22, all R_km equal, v_1 = v_2 up to
    the sign flips of erf), which is also solved for, independently, in the 4 variables
    (Q_11, Q_12, R, v) of the symmetric subspace with the reference right-hand side. Its
    λ₊ equals the rate of the one-dimensional sector δR ∝ [[1, -1], [-1, 1]] (odd under
    exchanging the students and under exchanging the teachers), from the complex step."""
    st = _symmetric_problem()
    result = fx.fixed_points(st, rule="bp", eta=eta, t_max=400.0 / eta, integrator="lsoda")
    fp = result.points[0]
    assert fp.label.startswith("plateau") and fp.converged and fp.residual < fx.RESIDUAL_MAX
    assert fp.n_unstable == 1 and fp.n_zero == 0
    Q, R, v = _canonical(fp.Q, fp.R, fp.v)
    assert abs(Q[0, 0] - Q[1, 1]) < 1e-9 and np.ptp(R) < 1e-9 and abs(v[0] - v[1]) < 1e-9

    def symmetric(z):
        q, c, r, w = z
        dQ, dR, dv = reference_rhs(np.array([[q, c], [c, q]]), np.full((2, 2), r), np.array([w, w]),
                                   np.eye(2), np.ones(2), None, "erf", "bp", eta)
        return [dQ[0, 0], dQ[0, 1], dR[0, 0], dv[0]]

    z, info, ok, msg = fsolve(symmetric, [0.5, 0.45, 0.5, 1.0], xtol=1e-14, full_output=True)
    assert ok == 1, msg
    assert np.max(np.abs(symmetric(z))) < 1e-14
    assert np.allclose([Q[0, 0], Q[0, 1], R[0, 0], v[0]], z, rtol=0, atol=1e-9)
    # λ₊ from the reference, in the specialisation sector at the independent fixed point
    e = np.array([[1.0, -1.0], [-1.0, 1.0]])
    Qs, Rs, vs = np.array([[z[0], z[1]], [z[1], z[0]]]), np.full((2, 2), z[2]), np.array([z[3], z[3]])
    h = 1e-30
    _, dR, _ = reference_rhs(Qs.astype(complex), Rs + 1j * h * e, vs.astype(complex), np.eye(2), np.ones(2), None,
                             "erf", "bp", eta)
    rate = np.sum(dR.imag / h * e) / np.sum(e * e)
    assert abs(fp.lambda_plus - rate) < 1e-7 * rate
    # the reported direction is that sector (in the run's own signs)
    s = np.where(fp.v < 0, -1.0, 1.0)
    pattern = np.zeros(len(fp.names))
    for i, name in enumerate(fp.names):
        if name.startswith("R_"):
            k, m = int(name[2]) - 1, int(name[4]) - 1
            pattern[i] = s[k] * e[k, m]
    assert abs(abs(fp.lead_vector @ pattern) / np.linalg.norm(pattern) - 1) < 1e-6


def test_lambda_plus_is_the_growth_rate_of_a_small_perturbation_under_the_ode():
    st = _symmetric_problem()
    fp = fx.fixed_points(st, rule="bp", eta=0.1, t_max=3000.0).points[0]
    lam = fp.lambda_plus
    fun, pack, unpack = fx._rhs_function(st, rule="bp", eta=0.1)
    x_star = pack(fp.Q, fp.R, fp.v)
    delta = 1e-7
    Q, R, v = unpack(x_star + delta * fp.lead_vector)
    start = State(Q=Q, R=R, T=st.T, A=st.A, v=v, F=st.F)
    t1, t2 = 1.0 / lam, 5.0 / lam
    tr = integrate(start, rule="bp", eta=0.1, t_max=t2, times=[t1, t2], n_times=0, rtol=1e-12, atol=1e-16)
    d = [np.linalg.norm(pack(tr.Q[i], tr.R[i], tr.v[i]) - x_star) for i in (1, 2)]
    growth = math.log(d[1] / d[0]) / (t2 - t1)
    assert abs(growth / lam - 1) < 0.01, (growth, lam)
    assert d[1] < 1e-3  # still in the linear regime


# ---------------------------------------------------------------- zero modes

def test_zero_modes_of_a_linear_student_on_its_manifold_of_minima():
    """Linear BP, K = 2, M = 1, σ = 0: every zero-error state w_1 = a_1 B + z, w_2 = a_2 B −
    (v_1/v_2) z with v_1 a_1 + v_2 a_2 = A is a fixed point (e ≡ 0). In order parameters that
    set is 4-dimensional (a_1, v_1, v_2, |z|²), so the Jacobian has exactly 4 zero modes,
    and they span the tangent space of this parametrisation."""
    T, A = np.array([[1.3]]), np.array([1.0])

    def point(p):
        a1, v1, v2, zz = p
        a2 = (A[0] - v1 * a1) / v2
        Q = np.array([[a1 * a1 * T[0, 0] + zz, a1 * a2 * T[0, 0] - v1 / v2 * zz],
                      [a1 * a2 * T[0, 0] - v1 / v2 * zz, a2 * a2 * T[0, 0] + (v1 / v2) ** 2 * zz]])
        return Q, np.array([[a1], [a2]]) * T[0, 0], np.array([v1, v2])

    p0 = np.array([0.7, 0.8, 0.5, 0.3])
    Q, R, v = point(p0)
    st = State.checked(Q, R, T, A, v, F=v)
    fp = fx.refine_state(st, activation="linear", rule="bp", eta=0.2)
    assert fp.converged and fp.residual < 1e-14
    assert fp.n_zero == 4 and fp.n_unstable == 0
    _, pack, _ = fx._rhs_function(st, activation="linear", rule="bp", eta=0.2)
    tangent = np.column_stack([(pack(*point(p0 + 1e-6 * e)) - pack(*point(p0 - 1e-6 * e))) / 2e-6
                               for e in np.eye(4)])
    basis = np.linalg.qr(tangent)[0]
    for z in fp.zero_vectors:
        assert np.linalg.norm(z - basis @ (basis.T @ z)) < 1e-5
    assert np.linalg.matrix_rank(fp.zero_vectors, tol=1e-3) == 4
    nonzero = np.abs(fp.eigenvalues[np.abs(fp.eigenvalues) > fp.zero_tol])
    assert np.min(nonzero) > 1e3 * fp.zero_tol


def test_zero_modes_of_coinciding_units():
    """erf BP, K = 2, M = 1, both students equal to the teacher, v_1 + v_2 = A: a line of
    fixed points along v_1 − v_2 (only v_1 + v_2 matters to the output). At coinciding
    units the weight changes with v_1 δw_1 + v_2 δw_2 = 0 leave the output unchanged to first
    order, which adds two more zero modes that are not continua of fixed points. Checked:
    3 zero modes; their span is the null space of the complex-step Jacobian of the reference;
    it contains v_1 − v_2, along which the residual stays at rounding for a finite step,
    while along the other two it grows like the square of the step."""
    T, A = np.array([[1.0]]), np.array([1.0])
    st = State.checked(np.ones((2, 2)), np.ones((2, 1)), T, A, np.array([0.3, 0.7]), F=np.ones(2))
    fp = fx.refine_state(st, activation="erf", rule="bp", eta=0.1)
    assert fp.converged and fp.residual < 1e-15 and fp.on_boundary
    assert fp.n_zero == 3 and fp.n_unstable == 0 and len(fp.zero_vectors) == 3
    ref, ref_pack, _ = _reference_flow(st, act="erf", rule="bp", eta=0.1)
    x = ref_pack(st.Q, st.R, st.v)
    _, sv, Vt = np.linalg.svd(complex_step_jacobian(ref, x))
    assert np.sum(sv < 1e-12 * sv[0]) == 3 and sv[-4] > 1e-4 * sv[0]
    null = Vt[-3:].T
    for z in fp.zero_vectors:
        assert np.linalg.norm(z - null @ (null.T @ z)) < 1e-6
    line = np.zeros(len(x))
    line[fp.names.index("v_1")], line[fp.names.index("v_2")] = 1.0, -1.0
    line /= np.linalg.norm(line)
    basis = fp.zero_vectors.T
    assert np.linalg.norm(line - basis @ (basis.T @ line)) < 1e-6
    fun, _, _ = fx._rhs_function(st, activation="erf", rule="bp", eta=0.1)
    assert np.max(np.abs(fun(x + 0.1 * line))) < 1e-15
    other = np.linalg.svd(basis - np.outer(line, line @ basis))[0][:, :2]  # the two flat directions
    for d in other.T:
        r1, r2 = (np.max(np.abs(ref((x + h * d).astype(complex)).real)) for h in (1e-3, 2e-3))
        assert r1 > 1e-11 and 3.0 < r2 / r1 < 5.0  # quadratic in the step (far above rounding)


def test_no_zero_modes_at_an_isolated_fixed_point():
    """The learned erf K = M = 2 student is an isolated fixed point (only discrete sign flips):
    no zero mode, all eigenvalues stable — so the zero-mode count is not a constant."""
    st = draw_network(2, 2, 500, 1e-2, 0).state()
    result = fx.fixed_points(st, rule="bp", eta=0.5, t_max=600.0)
    end = result.points[-1]
    assert end.label == "end state" and end.converged and end.eg < 1e-12
    assert end.n_zero == 0 and end.n_unstable == 0 and end.classification == "stable"


# ---------------------------------------------------------------- the report and the CLI

def test_plateaus_lists_the_plateau_of_the_summary():
    st = draw_network(2, 2, 500, 1e-2, 0).state()
    tr = integrate(st, rule="bp", eta=0.5, t_max=600.0)
    assert plateaus(tr.t, tr.eg)[0] == plateau(tr.t, tr.eg)


def test_cli_writes_the_report_and_reads_a_trajectory(tmp_path, capsys):
    out, js, png, npz = (tmp_path / n for n in ("f.csv", "f.json", "f.png", "run.npz"))
    code, stdout, _ = run(["fixedpoints", "--rule", "bp", "--eta", "0.5", "--t-max", "600", "-o", str(out),
                           "--json", str(js), "--png", str(png)], capsys)
    assert code == 0 and "saddle (1 unstable)" in stdout and "lambda+ =" in stdout
    header = out.read_text().splitlines()[0].split(",")
    assert header[:4] == ["index", "label", "t_start", "t_end"] and "lambda_plus" in header
    import json
    report = json.loads(js.read_text())
    saddle = report["fixed_points"][0]
    assert saddle["converged"] and saddle["residual"] < 1e-12 and saddle["n_unstable"] == 1
    assert png.stat().st_size > 1000
    code, _, _ = run(["integrate", "--rule", "bp", "--eta", "0.5", "--t-max", "600", "-o", str(tmp_path / "r.csv"),
                      "--npz", str(npz), "--save-init", str(tmp_path / "init.npz")], capsys)
    assert code == 0
    for source in ([str(npz)], [str(tmp_path / "r.csv"), "--init", str(tmp_path / "init.npz")]):
        code, _, err = run(["fixedpoints", "--trajectory", *source, "--rule", "bp", "--eta", "0.5", "--force",
                                "-o", str(tmp_path / "g.csv"), "--json", str(tmp_path / "g.json"), "--png", ""],
                               capsys)
        assert code == 0, err
        other = json.loads((tmp_path / "g.json").read_text())["fixed_points"][0]
        assert other["label"] == saddle["label"] and other["classification"] == saddle["classification"]
        assert abs(other["lambda_plus"] / saddle["lambda_plus"] - 1) < 1e-9 and abs(other["eg"] - saddle["eg"]) < 1e-12
    code, _, err = run(["fixedpoints", "--trajectory", str(tmp_path / "r.csv"), "--rule", "bp",
                        "-o", str(tmp_path / "k.csv")], capsys)
    assert code == 2 and "--init" in err and "--trajectory" in err
    code, _, err = run(["fixedpoints", "--trajectory", str(npz), "--rule", "bp", "--eta", "0.5",
                        "--activation", "relu", "-o", str(tmp_path / "h.csv")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--trajectory" in err


def test_bad_input_one_line_exit_2(tmp_path, capsys):
    st = draw_network(2, 2, 100, 0.1, 0).state().as_dict()
    st["R"] = np.full((2, 2), 5.0)  # C not PSD
    bad = tmp_path / "bad.npz"
    np.savez(bad, **st)
    out = ["-o", str(tmp_path / "x.csv"), "--json", str(tmp_path / "x.json"), "--png", str(tmp_path / "x.png")]
    for argv, word in ((["fixedpoints", "--init", str(bad)], "--init"),
                       (["fixedpoints", "--t-max", "100"], "--t-max"),
                       (["fixedpoints", "--rule", "bp", "--eta", "0.5", "--t-max", "600", "--N", "200",
                         "--fixed-point", "7"], "--fixed-point")):
        code, _, err = run(argv + out, capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and word in err, err
        assert word != "--init" or "positive semi-definite" in err
        assert not (tmp_path / "x.csv").exists()
    for cmd in ("simulate", "compare"):
        extra = ["--png", str(tmp_path / "y.png")] if cmd == "compare" else []
        code, _, err = run([cmd, "--init", str(bad), "-o", str(tmp_path / "y.csv"), *extra], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "--init" in err and "semi-definite" in err


# ---------------------------------------------------------------- weights with given overlaps

@pytest.mark.parametrize("N", [5, 64, 3000])
def test_network_from_state_has_exactly_the_given_overlaps(N):
    st = _random_state(3, 2, seed=11)
    net = network_from_state(st, N, seed=4)
    drawn = net.state()
    for name in ("Q", "R", "T"):
        assert np.max(np.abs(getattr(drawn, name) - getattr(st, name))) < 1e-12 * max(1, np.max(np.abs(getattr(st, name))))
    assert np.array_equal(drawn.v, st.v) and np.array_equal(drawn.F, st.F) and np.array_equal(drawn.A, st.A)
    again, other = network_from_state(st, N, seed=4), network_from_state(st, N, seed=5)
    assert np.array_equal(again.W, net.W) and not np.allclose(other.W, net.W)


def test_network_from_a_singular_state_and_simulate_init(tmp_path, capsys):
    """A learned student (C singular) can be drawn too; simulate --init starts from the file's
    overlaps exactly, with either sampler."""
    T = np.array([[1.0, 0.2], [0.2, 0.9]])
    st = State.checked(T.copy(), T.copy(), T, np.ones(2), np.ones(2), F=np.array([0.5, -1.0]))
    drawn = network_from_state(st, 50, seed=1).state()
    assert np.max(np.abs(drawn.Q - T)) < 1e-12 and np.max(np.abs(drawn.R - T)) < 1e-12
    init = tmp_path / "init.npz"
    st2 = _random_state(2, 2, seed=3)
    np.savez(init, **st2.as_dict())
    for sampler in ("full", "reduced"):
        out = tmp_path / f"{sampler}.csv"
        code, _, _ = run(["simulate", "--init", str(init), "--N", "300", "--t-max", "1", "--sampler", sampler,
                          "-o", str(out)], capsys)
        assert code == 0
        row = np.loadtxt(out, delimiter=",", skiprows=1)[0]
        assert np.allclose(row[3:7], st2.Q.ravel(), atol=1e-12) and np.allclose(row[7:11], st2.R.ravel(), atol=1e-12)


# ---------------------------------------------------------------- plateau length against N

def _study(Ns, seeds):
    st = draw_network(2, 2, 500, 1e-2, 0).state()
    result = fx.fixed_points(st, rule="bp", eta=0.5, t_max=600.0)
    saddle = result.saddles()[0]
    return saddle, fx.plateau_length(saddle, st, Ns, seeds, rule="bp", eta=0.5, sampler="reduced")


def test_plateau_length_grows_with_ln_N():
    """Started exactly at the saddle, a finite-N run leaves it only through its own
    fluctuations: the time grows with N (fast version of the slow test below)."""
    saddle, res = _study([250, 8000], range(6))
    assert np.all(np.isfinite(res.escape))
    mean = res.escape.mean(axis=1)
    predicted = res.predicted_slope * math.log(8000 / 250)
    assert 0.4 * predicted < mean[1] - mean[0] < 2.5 * predicted
    assert "1/(2 lambda+)" in res.summary()


@pytest.mark.slow
def test_plateau_length_slope_is_one_over_two_lambda_plus():
    saddle, res = _study([250, 500, 1000, 2000, 4000, 8000], range(16))
    slopes = res.seed_slopes()
    se = np.std(slopes, ddof=1) / math.sqrt(len(slopes))
    assert abs(res.slope - res.predicted_slope) < 3 * se + 0.1 * res.predicted_slope


def test_relu_rescaling_maps_fixed_points_only_at_zero_error():
    """w_k -> c w_k, v_k -> v_k / c keeps the network function; it is no symmetry of the
    flow (v has its own learning rate), but at ε_g = 0 it maps fixed points to fixed points.
    At such a boundary point the ReLU flow is not smooth, and the report says so."""
    T, A = np.eye(2), np.ones(2)

    def rescaled(Q, R, v, c):
        return Q * np.outer(c, c), R * c[:, None], v / c

    learned = (T.copy(), T.copy(), A.copy())
    st = State.checked(Q=learned[0], R=learned[1], T=T, A=A, v=learned[2], F=np.array([0.9, 1.4]))
    fun, pack, _ = fx._rhs_function(st, activation="relu", rule="dfa", eta=0.1)
    assert np.max(np.abs(fun(pack(*learned)))) < 1e-15
    assert np.max(np.abs(fun(pack(*rescaled(*learned, np.array([2.0, 0.7])))))) < 1e-15
    other = _random_state(2, 2, seed=8)
    x0, x1 = pack(other.Q, other.R, other.v), pack(*rescaled(other.Q, other.R, other.v, np.array([2.0, 0.7])))
    assert np.max(np.abs(fun(x1) - fun(x0))) > 1e-3
    fp = fx.refine_state(st, activation="relu", rule="dfa", eta=0.1)
    assert fp.converged and fp.on_boundary and not fp.smooth and fp.kink > 0
    assert "not smooth" in fp.classification


def test_printed_digits_do_not_depend_on_rounding():
    """Residuals and ε_g at rounding level print as '< 1e-14', and components equal to the
    printed digits keep index order, so the summary does not change with the order of sums."""
    assert fx._above_rounding(5.3e-17, ".1e") == fx._above_rounding(-9.3e-17, ".1e") == "< 1e-14"
    assert fx._above_rounding(2.7e-4, ".1e") == "2.7e-04"
    assert fx._above_rounding(0.0115733, ".6g") == "0.0115733"
    names = ["R_1_1", "R_2_1", "R_1_2"]
    assert fx._direction_text([0.52, 0.5200001, -0.48], names) == "+0.52 R_1_1 +0.52 R_2_1 -0.48 R_1_2"
    assert fx._direction_text([0.1, 0.9, -0.5], names) == "+0.90 R_2_1 -0.50 R_1_2 +0.10 R_1_1"
