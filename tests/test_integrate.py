"""The ODE right-hand side and the integrators against independent routes."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from gaussian import g, g_prime, mc_average
from odetheory import draw_network, integrate
from odetheory.ode.problem import make_problem, pack
from odetheory.ode.times import default_times
from odetheory.ode.rhs import derivatives, jacobian_without_eta2, unpack
from odetheory.state import State


def _state(K=3, M=2, seed=3, scale=0.5):
    """A state away from the origin, so that every term of the ODE matters."""
    net = draw_network(K, M, N=400, sigma0=scale, seed=seed)
    st = net.state()
    rng = np.random.default_rng(seed)
    return State.checked(st.Q, st.R, st.T, st.A, rng.normal(0, 0.7, K), rng.normal(0, 1, K))


@pytest.mark.parametrize("act", ["erf", "linear", "relu"])
@pytest.mark.parametrize("rule", ["bp", "dfa", "sign"])
def test_rhs_equals_expected_sgd_increment(act, rule):
    """dy/dα equals N × the expected one-step change of the order parameters, averaged
    by Monte Carlo over the Gaussian fields (λ, ν) and the label noise."""
    st = _state()
    K, M = st.K, st.M
    eta, eta_v, sigma = 0.7, 0.4, 0.3
    dy = derivatives(0.0, pack(st), make_problem(st, act, rule, eta, eta_v, sigma, True))
    dQ, dR, dv = unpack(dy, K, M)
    f = {"bp": st.v, "dfa": st.F, "sign": np.sign(st.v)}[rule]
    C = st.covariance()

    def increments(x):
        lam, nu = x[:, :K], x[:, K:]
        e = g(act, lam) @ st.v - g(act, nu) @ st.A
        gp = g_prime(act, lam)
        cols = []
        for k in range(K):
            for l in range(K):  # E[f_k g'_k e λ_l], and η² E[f_k f_l g'_k g'_l (e² + σ²)]
                cols.append(-eta * (f[k] * gp[:, k] * e * lam[:, l] + f[l] * gp[:, l] * e * lam[:, k])
                            + eta**2 * f[k] * f[l] * gp[:, k] * gp[:, l] * (e * e + sigma**2))
            for m in range(M):
                cols.append(-eta * f[k] * gp[:, k] * e * nu[:, m])
            cols.append(-eta_v * g(act, lam[:, k]) * e)
        return np.column_stack(cols)

    mean, se = mc_average(C, increments, n=4 * 10**6, seed=7)
    expected = np.concatenate([np.concatenate((dQ[k], dR[k], [dv[k]])) for k in range(K)])
    z = np.abs(expected - mean) / se
    assert np.all(np.isfinite(expected))
    assert np.all(z < 4.5), (z.max(), expected, mean)


def test_dop853_matches_scipy_dop853():
    st = _state(seed=5)
    P = make_problem(st, "erf", "dfa", 0.5, 0.5, 0.1, True)
    ours = integrate(st, "erf", "dfa", eta=0.5, sigma=0.1, t_max=30.0, rtol=1e-11, atol=1e-13)
    ref = solve_ivp(lambda t, y: derivatives(t, y, P), (0, 30.0), pack(st), method="DOP853",
                    t_eval=ours.t, rtol=1e-11, atol=1e-13)
    Y = ref.y.T
    K, M = st.K, st.M
    assert np.allclose(ours.Q.reshape(len(ours.t), -1), Y[:, :K * K], atol=1e-8)
    assert np.allclose(ours.v, Y[:, K * K + K * M:], atol=1e-8)


@pytest.mark.parametrize("method,dt,order", [("euler", 1e-2, 1), ("rk4", 0.2, 4)])
def test_fixed_step_methods_converge_at_their_order(method, dt, order):
    st = _state(seed=6)
    ref = integrate(st, "erf", "bp", eta=0.5, t_max=10.0, n_times=0, rtol=1e-13, atol=1e-15)
    errs = []
    for h in (dt, dt / 2):
        run = integrate(st, "erf", "bp", eta=0.5, t_max=10.0, n_times=0, integrator=method, dt=h)
        errs.append(np.max(np.abs(run.Q[-1] - ref.Q[-1])))
    assert errs[0] / errs[1] == pytest.approx(2**order, rel=0.15)


def test_requested_times_are_landed_on_exactly_and_agree_with_dense_output():
    st = _state(seed=8)
    extra = [0.37, 3.3, 17.0]
    dense = integrate(st, "erf", "dfa", eta=0.3, t_max=20.0, rtol=1e-12, atol=1e-14)
    exact = integrate(st, "erf", "dfa", eta=0.3, t_max=20.0, times=extra + list(default_times(20.0)),
                      rtol=1e-12, atol=1e-14)
    for t in extra:
        assert t in exact.t
    common = np.isin(exact.t, dense.t)
    assert np.allclose(exact.Q[common], dense.Q, atol=1e-10)


def _conserved(traj, rule, eta, eta_v):
    Qkk = np.einsum("tkk->tk", traj.Q)
    if rule == "dfa":
        return Qkk - 2 * eta / eta_v * traj.F * traj.v
    if rule == "bp":
        return Qkk - eta / eta_v * traj.v**2
    return Qkk - 2 * eta / eta_v * np.abs(traj.v)


@pytest.mark.parametrize("act", ["linear", "relu"])
@pytest.mark.parametrize("rule", ["dfa", "bp", "sign"])
def test_conservation_law_for_homogeneous_activations(act, rule):
    """THEORY.md §5: without the η² terms Q_kk − (η/η_v)·(feedback term) is conserved."""
    st = _state(seed=9, scale=0.3)
    eta, eta_v = 0.2, 0.5
    traj = integrate(st, act, rule, eta=eta, eta_v=eta_v, t_max=20.0, eta2_terms=False, rtol=1e-11, atol=1e-13)
    assert traj.success
    c = _conserved(traj, rule, eta, eta_v)
    assert np.max(np.abs(c - c[0])) < 1e-8
    # the same run for erf is not conserved
    erf = integrate(st, "erf", rule, eta=eta, eta_v=eta_v, t_max=20.0, eta2_terms=False)
    c = _conserved(erf, rule, eta, eta_v)
    assert np.max(np.abs(c - c[0])) > 1e-4


@pytest.mark.parametrize("act", ["linear", "relu"])
def test_with_eta2_terms_the_drift_is_their_integral(act):
    """With the η² terms on, d/dα of the conserved quantity equals exactly those terms:
    compare its change with the integral of the η² part of dQ_kk/dα along the run."""
    st = _state(seed=10, scale=0.3)
    eta, eta_v, sigma = 0.3, 0.5, 0.2
    t = np.linspace(0, 10.0, 2001)
    traj = integrate(st, act, "dfa", eta=eta, eta_v=eta_v, sigma=sigma, t_max=10.0, times=t,
                     rtol=1e-11, atol=1e-13)
    on = make_problem(st, act, "dfa", eta, eta_v, sigma, True)
    off = make_problem(st, act, "dfa", eta, eta_v, sigma, False)
    K = st.K
    rate = []
    for i, ti in enumerate(traj.t):
        y = np.concatenate((traj.Q[i].ravel(), traj.R[i].ravel(), traj.v[i]))
        d_on, d_off = derivatives(0.0, y, on), derivatives(0.0, y, off)
        rate.append(np.diag(unpack(d_on - d_off, K, st.M)[0]))
    rate = np.array(rate)
    from scipy.integrate import simpson
    sel = np.isin(traj.t, t)
    drift_integral = simpson(rate[sel], x=traj.t[sel], axis=0)
    c = _conserved(traj, "dfa", eta, eta_v)
    assert np.allclose(c[-1] - c[0], drift_integral, rtol=1e-6, atol=1e-10)
    assert np.all(np.abs(drift_integral) > 1e-4)


def test_divergence_stops_with_time_and_keeps_rows():
    st = draw_network(2, 2, N=100, sigma0=0.5, seed=1).state()
    traj = integrate(st, "linear", "dfa", eta=3.0, sigma=0.5, t_max=100.0, train_second_layer=False)
    assert not traj.success
    assert "stopped at t =" in traj.message
    assert len(traj.t) >= 2 and np.all(np.isfinite(traj.eg))
    assert traj.t[-1] < 100.0


def test_plateau_of_erf_dfa():
    from odetheory import plateau
    st = draw_network(3, 2, N=500, sigma0=1e-2, seed=0).state()
    traj = integrate(st, "erf", "dfa", eta=0.5, t_max=200.0)
    height, start, escape = plateau(traj.t, traj.eg)
    assert 0.005 < height < 0.03 and start < escape < 200
    assert traj.eg[-1] < 0.5 * height


# --------------------------------------------------------------------------------- LSODA

@pytest.mark.parametrize("act", ["erf", "relu"])
def test_lsoda_agrees_with_a_tight_dop853_run(act):
    """LSODA at rtol 1e-8 against DOP853 at rtol 1e-12, through a plateau and its escape;
    the requested times are landed on exactly."""
    st = draw_network(3, 2, N=500, sigma0=1e-2, seed=2).state()
    kw = dict(activation=act, rule="dfa", eta=0.5, t_max=300.0, times=[7.5, 150.0])
    ref = integrate(st, rtol=1e-12, atol=1e-14, **kw)
    run = integrate(st, integrator="lsoda", rtol=1e-8, atol=1e-10, **kw)
    assert run.success and np.array_equal(run.t, ref.t)
    assert 7.5 in run.t and 150.0 in run.t
    assert np.max(np.abs(run.eg / ref.eg - 1)) < 1e-4
    assert np.max(np.abs(run.Q - ref.Q)) < 1e-6


def test_lsoda_jacobian_is_that_of_the_order_eta_part():
    """The Newton Jacobian against central differences of the RHS without η² terms (numpy
    route); it differs from the full Jacobian by terms of order η²."""
    st = _state(seed=4)
    y = pack(st)
    P0 = make_problem(st, "relu", "dfa", 0.3, 0.3, 0.2, False)
    P = make_problem(st, "relu", "dfa", 0.3, 0.3, 0.2, True)
    J = jacobian_without_eta2(0.0, y, P)
    h = 1e-6
    central = np.column_stack([(derivatives(0.0, y + h * e, P0) - derivatives(0.0, y - h * e, P0)) / (2 * h)
                               for e in np.eye(y.size)])
    assert np.max(np.abs(J - central)) < 1e-5 * max(1.0, np.max(np.abs(central)))
    full = np.column_stack([(derivatives(0.0, y + h * e, P) - derivatives(0.0, y - h * e, P)) / (2 * h)
                            for e in np.eye(y.size)])
    assert 1e-4 < np.max(np.abs(full - central)) < 0.3 ** 2 * 10


def test_lsoda_divergence_stops_with_time_and_keeps_rows():
    st = draw_network(2, 2, N=100, sigma0=0.5, seed=1).state()
    traj = integrate(st, "linear", "dfa", eta=3.0, sigma=0.5, t_max=100.0, train_second_layer=False,
                     integrator="lsoda")
    assert not traj.success and "stopped at t =" in traj.message
    assert len(traj.t) >= 2 and np.all(np.isfinite(traj.eg)) and traj.t[-1] < 100.0
