"""Whole right-hand sides and trajectories for other activations, weight decay and schedules
(THEORY.md §9, §10), each against an independent route:

* the right-hand side against the same ODE with every average taken directly over the
  joint Gaussian of all K + M fields by a tensor Gauss–Hermite rule (written here);
* finite-N simulations from the same initial state (gap below 6/√N at N = 2000);
* exact solutions of the linear student with weight decay and schedules (matrix exponential).
"""
import math

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.special import erf

from odetheory import State, draw_network, integrate
from odetheory.ode.model import rhs_functions
from odetheory.ode.problem import make_problem, pack
from odetheory.schedules import schedule
from simulate import simulate

G = {  # (g, g') written out
    "erf": (lambda x: erf(x / math.sqrt(2)), lambda x: math.sqrt(2 / math.pi) * np.exp(-x * x / 2)),
    "he3": (lambda x: x ** 3 - 3 * x, lambda x: 3 * x * x - 3),
    "he2": (lambda x: x * x - 1, lambda x: 2 * x),
    "linear": (lambda x: x, lambda x: np.ones_like(x)),
    "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    "x**3 + x**2/2": (lambda x: x ** 3 + x * x / 2, lambda x: 3 * x * x + x),
}


def tensor_rhs(st, student, teacher, rule, eta, eta_v, sigma, n=40):
    """dy/dα of THEORY.md §3 with every average over the joint Gaussian of all K+M fields,
    by an n-point-per-dimension tensor Gauss–Hermite rule on the eigen-factor of C:
    E[g'(λ_k) x_b e], E[g(λ_k) e], E[g'(λ_k) g'(λ_l) e²] with e = Σ v g(λ) − Σ A g*(ν)."""
    K, M = st.K, st.M
    C = st.covariance()
    w, V = np.linalg.eigh(C)
    Lf = V * np.sqrt(np.clip(w, 0, None))
    z, wz = np.polynomial.hermite_e.hermegauss(n)
    wz = wz / wz.sum()
    grids = np.meshgrid(*([z] * (K + M)), indexing="ij")
    Z = np.stack([g.ravel() for g in grids], axis=1)
    W = np.prod(np.stack([wz[np.searchsorted(z, g.ravel())] for g in grids], axis=1), axis=1)
    X = Z @ Lf.T
    lam, nu = X[:, :K], X[:, K:]
    gs, gps = G[student][0](lam), G[student][1](lam)
    e = gs @ st.v - G[teacher][0](nu) @ st.A
    f = {"bp": st.v, "dfa": st.F}[rule]
    dR = np.empty((K, M))
    dQ = np.empty((K, K))
    for k in range(K):
        for m in range(M):
            dR[k, m] = -eta * f[k] * W @ (gps[:, k] * nu[:, m] * e)
        for l in range(K):
            first = -eta * (f[k] * W @ (gps[:, k] * lam[:, l] * e) + f[l] * W @ (gps[:, l] * lam[:, k] * e))
            noise = eta ** 2 * f[k] * f[l] * W @ (gps[:, k] * gps[:, l] * (e * e + sigma ** 2))
            dQ[k, l] = first + noise
    dv = -eta_v * np.array([W @ (gs[:, k] * e) for k in range(K)])
    return np.concatenate((dQ.ravel(), dR.ravel(), dv))


def _state(K, M, seed):
    st = draw_network(K, M, 500, 0.6, seed).state()
    return State.checked(st.Q, st.R, st.T, st.A, st.v, F=st.F)


@pytest.mark.parametrize("student,teacher,tol", [
    ("he3", "he3", 1e-10), ("he2", "linear", 1e-10),
    pytest.param("x**3 + x**2/2", "he2", 1e-10, marks=pytest.mark.slow),  # a user polynomial: its compile
    ("erf", "he3", 1e-10), ("erf", "linear", 1e-10), ("he3", "erf", 1e-10),
    ("tanh", "tanh", 2e-6), ("tanh", "he3", 2e-6),
])
@pytest.mark.parametrize("rule", ["bp", "dfa"])
def test_rhs_against_tensor_gauss_hermite(student, teacher, tol, rule):
    """K = 2, M = 1, with σ > 0. Polynomial pairs and mixed erf/polynomial pairs take exact
    routes: 1e-10. tanh takes the numerical route, whose η² term is accurate to ~1e-7–1e-6
    (README);
    the tensor rule is exact for polynomials, converged for erf at 40 nodes, and for tanh its
    own error (refining 40 → 60 nodes per dimension) is ~1e-7: bound 2e-6 of the largest entry."""
    st = _state(2, 1, 4)
    eta, eta_v, sigma = 0.7, 0.4, 0.3
    P = make_problem(st, student, rule, eta, eta_v, sigma, True, teacher)
    got = rhs_functions(student, teacher).derivatives(0.0, pack(st), P)
    want = tensor_rhs(st, student, teacher, rule, eta, eta_v, sigma)
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale)


def test_tensor_route_error_for_tanh_is_what_the_tolerance_allows():
    st = _state(2, 1, 4)
    a, b = (tensor_rhs(st, "tanh", "tanh", "dfa", 0.7, 0.4, 0.3, n) for n in (40, 60))
    assert np.max(np.abs(a - b)) < 5e-7 * np.max(np.abs(b))


@pytest.mark.parametrize("kw", [dict(activation="tanh"), dict(activation="erf", teacher_activation="he3"),
                                dict(activation="sigmoid")])
def test_simulation_against_ode_at_N_2000(kw):
    """Finite-N SGD (reduced sampler) from the ODE's initial state: largest relative ε_g gap below
    6/√N at N = 2000, K = M = 2 (sigmoid: not odd, E[g] ≠ 0)."""
    N = 2000
    net = draw_network(2, 2, N, 0.5, 3)
    ode = integrate(net.state(), eta=0.5, t_max=10.0, n_times=40, **kw)
    sim = simulate(net, eta=0.5, t_max=10.0, n_times=40, sampler="reduced", seed=1, **kw)
    assert ode.success and sim.success
    gap = np.max(np.abs(sim.eg / np.interp(sim.t, ode.t, ode.eg) - 1))
    assert gap < 6 / math.sqrt(N)
    assert np.max(np.abs(ode.Q[-1] - ode.Q[0])) > 0.1  # the run did move


def test_user_expression_compiles_once_and_reuses():
    """A user expression runs in the ODE and in both samplers; the same text gives the same
    compiled functions (no second compile in this process)."""
    st = _state(1, 1, 0)
    a = integrate(st, activation="tanh(2*x)", teacher_activation="erf", eta=0.3, t_max=1.0, n_times=5)
    b = integrate(st, activation="tanh(2*x)", teacher_activation="erf", eta=0.3, t_max=1.0, n_times=5)
    assert a.success and b.settings["compile_time"] == 0.0
    np.testing.assert_array_equal(a.eg, b.eg)
    net = draw_network(1, 1, 50, 0.5, 0)
    for sampler in ("full", "reduced"):
        s = simulate(net, activation="tanh(2*x)", teacher_activation="erf", eta=0.3, t_max=1.0, n_times=5,
                     sampler=sampler)
        assert s.success and abs(s.eg[-1] - a.eg[-1]) < 0.5


# ------------------------------------------------------------ weight decay and schedules

def _linear_generator(eta, lam, f, v, A=1.0):
    """Matrix L with d(Q, R, 1)/dα = L (Q, R, 1) for the linear K = M = 1 student (T = 1, v fixed,
    σ = 0): dR = −η f (v R − A) − η λ R, dQ = −2 η f (v Q − A R) − 2 η λ Q + η² f² (v² Q − 2 v A R + A²)."""
    return np.array([
        [-2 * eta * f * v - 2 * eta * lam + eta ** 2 * f ** 2 * v ** 2, 2 * eta * f * A - 2 * eta ** 2 * f ** 2 * v * A,
         eta ** 2 * f ** 2 * A ** 2],
        [0.0, -eta * f * v - eta * lam, eta * f * A],
        [0.0, 0.0, 0.0]])


def _linear_state():
    return State.checked(np.array([[0.3]]), np.array([[0.1]]), np.array([[1.0]]), np.array([1.0]),
                         np.array([0.8]), F=np.array([0.6]))


def test_weight_decay_against_the_exact_linear_solution():
    st = _linear_state()
    eta, lam = 0.4, 0.25
    tr = integrate(st, activation="linear", rule="dfa", eta=eta, weight_decay=lam, weight_decay_v=0.7,
                   train_second_layer=False, t_max=20.0, n_times=10, rtol=1e-11, atol=1e-13)
    L = _linear_generator(eta, lam, 0.6, 0.8)
    for t, Q, R in zip(tr.t, tr.Q[:, 0, 0], tr.R[:, 0, 0]):
        want = expm(L * t) @ np.array([0.3, 0.1, 1.0])
        assert abs(Q - want[0]) < 1e-9 and abs(R - want[1]) < 1e-9
    # the decay matters: without it the solution is another
    plain = integrate(st, activation="linear", rule="dfa", eta=eta, train_second_layer=False, t_max=20.0, n_times=10)
    assert abs(plain.R[-1, 0, 0] - tr.R[-1, 0, 0]) > 0.1


def test_second_layer_decay_shrinks_v_exactly():
    """With η = tiny first-layer learning and a teacher the student cannot reach (A = 0), the
    second layer obeys dv/dα = −η_v (E[g e] + λ_v v) = −η_v (Q + λ_v) v for a linear student."""
    st = State.checked(np.array([[0.5]]), np.array([[0.0]]), np.array([[1.0]]), np.array([0.0]), np.array([0.9]),
                       F=np.array([1.0]))
    tr = integrate(st, activation="linear", rule="dfa", eta=1e-12, eta_v=0.3, weight_decay_v=0.4, t_max=5.0,
                   n_times=5, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tr.v[:, 0], 0.9 * np.exp(-0.3 * (0.5 + 0.4) * tr.t), rtol=1e-8)


def test_power_law_schedule_against_the_exact_linear_solution():
    """η(α) = η0 (1 + α/α0)^(−γ) without the η² terms: R − R* decays as exp(−(f v + λ) ∫η)."""
    st = _linear_state()
    eta0, a0, gam, lam, f, v = 0.5, 3.0, 0.7, 0.1, 0.6, 0.8
    tr = integrate(st, activation="linear", eta=eta0, eta_schedule=f"power:{a0}:{gam}", weight_decay=lam,
                   train_second_layer=False, eta2_terms=False, t_max=30.0, n_times=10, rtol=1e-11, atol=1e-13)
    integral = eta0 * a0 * ((1 + tr.t / a0) ** (1 - gam) - 1) / (1 - gam)
    R_star = f * 1.0 / (f * v + lam)
    np.testing.assert_allclose(tr.R[:, 0, 0], R_star + (0.1 - R_star) * np.exp(-(f * v + lam) * integral),
                               rtol=1e-9, atol=1e-11)


def test_step_schedule_lands_on_the_steps_and_matches_the_exact_solution():
    st = _linear_state()
    sched = schedule("steps:4=0.2,9=0.05")
    tr = integrate(st, activation="linear", eta=0.5, eta_schedule=sched, train_second_layer=False, t_max=15.0,
                   n_times=6, rtol=1e-11, atol=1e-13)
    assert 4.0 in tr.t and 9.0 in tr.t
    y = np.array([0.3, 0.1, 1.0])
    edges, rates = [0.0, 4.0, 9.0, 15.0], [0.5, 0.2, 0.05]
    for a, b, eta in zip(edges[:-1], edges[1:], rates):
        y = expm(_linear_generator(eta, 0.0, 0.6, 0.8) * (b - a)) @ y
        i = int(np.argmin(np.abs(tr.t - b)))
        assert abs(tr.Q[i, 0, 0] - y[0]) < 1e-9 and abs(tr.R[i, 0, 0] - y[1]) < 1e-9


@pytest.mark.parametrize("kw", [dict(weight_decay=0.3, weight_decay_v=0.5), dict(eta_schedule="power:2:0.5"),
                                dict(eta_schedule="steps:3=0.1", eta_v_schedule="steps:5=0.05")])
@pytest.mark.parametrize("sampler", ["full", "reduced"])
def test_decay_and_schedules_simulation_against_ode(kw, sampler):
    N = 1000
    net = draw_network(2, 2, N, 0.5, 2)
    ode = integrate(net.state(), eta=0.5, t_max=8.0, n_times=30, **kw)
    sim = simulate(net, eta=0.5, t_max=8.0, n_times=30, sampler=sampler, seed=0, **kw)
    plain = integrate(net.state(), eta=0.5, t_max=8.0, n_times=30)
    gap = np.max(np.abs(sim.eg / np.interp(sim.t, ode.t, ode.eg) - 1))
    assert gap < 6 / math.sqrt(N)
    assert np.max(np.abs(np.interp(ode.t, plain.t, plain.eg) / ode.eg - 1)) > 0.05  # the option changed the dynamics


G["sigmoid"] = (lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2)
G["gelu"] = (lambda x: x * 0.5 * (1 + erf(x / math.sqrt(2))),
             lambda x: 0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi))


def _reference_trajectory(st, act, t_out, n):
    """ε_g(t) from the tensor Gauss–Hermite right-hand side integrated by scipy's DOP853
    (rtol 1e-11), ε_g = ½ E[e²] by the same rule."""
    from scipy.integrate import solve_ivp

    K, M = st.K, st.M

    def state_of(y):
        Q = y[:K * K].reshape(K, K)
        return State(Q=0.5 * (Q + Q.T), R=y[K * K:K * K + K * M].reshape(K, M), T=st.T, A=st.A, v=y[-K:], F=st.F)

    def rhs(t, y):
        return tensor_rhs(state_of(y), act, act, "dfa", 0.5, 0.5, 0.0, n)

    y0 = np.concatenate((st.Q.ravel(), st.R.ravel(), st.v))
    sol = solve_ivp(rhs, (0.0, t_out[-1]), y0, method="DOP853", t_eval=t_out, rtol=1e-11, atol=1e-13)
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    out = []
    for y in sol.y.T:
        s = state_of(y)
        ev, V = np.linalg.eigh(s.covariance())
        Lf = V * np.sqrt(np.clip(ev, 0, None))
        grids = np.meshgrid(*([z] * (K + M)), indexing="ij")
        Z = np.stack([g.ravel() for g in grids], axis=1)
        W = np.prod(np.stack([w[np.searchsorted(z, g.ravel())] for g in grids], axis=1), axis=1)
        X = Z @ Lf.T
        e = G[act][0](X[:, :K]) @ s.v - G[act][0](X[:, K:]) @ s.A
        out.append(0.5 * W @ (e * e))
    return np.array(out)


def _trajectory_check(act, refine):
    st = _state(2, 1, 7)
    ours = integrate(st, activation=act, rule="dfa", eta=0.5, t_max=4.0, times=[1.0, 2.0, 3.0], n_times=0,
                     rtol=1e-11, atol=1e-13)
    ref = _reference_trajectory(st, act, ours.t, 40)
    if refine:  # refined until it stops moving on the scale of the bound
        finer = _reference_trajectory(st, act, ours.t, 56)
        assert np.max(np.abs(finer - ref)) < 3e-7 * ref[0]
        ref = finer
    assert np.max(np.abs(ours.eg - ref)) < 1e-6 * ref[0]
    assert abs(ours.eg[-1] - ours.eg[0]) > 0.05 * ours.eg[0]


def test_tanh_trajectory_against_converged_reference():
    """A whole tanh trajectory (K = 2, M = 1) within 1e-6 of ε_g(0) of the independent route."""
    _trajectory_check("tanh", refine=False)


@pytest.mark.slow
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "gelu"])
def test_trajectories_against_refined_reference(act):
    _trajectory_check(act, refine=True)
