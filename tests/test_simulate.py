"""Tests of the finite-N online-SGD simulator (package ``simulate``)."""
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from gaussian import g, g_prime

import simulate as sim
from odetheory import integrate
from odetheory.integrals.activations import ERF, activation_code
from odetheory.rules import DFA, rule_code
from odetheory.errors import InputError
from odetheory.initial import draw_network
from odetheory.status import NONFINITE, STATUS_MESSAGES
from simulate import simulate as run
from simulate.sgd import SGDParams, sgd_steps


# ---------------------------------------------------------------- plain-numpy reference
def reference_step(W, v, B, A, F, x, zeta, name, rule, eta, eta_v, sigma):
    """One SGD step written directly from THEORY.md §1; returns new (W, v)."""
    N = x.size
    lam, nu = W @ x / np.sqrt(N), B @ x / np.sqrt(N)
    e = v @ g(name, lam) - A @ g(name, nu) - sigma * zeta
    f = {"bp": v, "dfa": F, "sign": np.sign(v)}[rule]
    W_new = W - (eta / np.sqrt(N)) * np.outer(f * g_prime(name, lam) * e, x)
    v_new = v - (eta_v / N) * g(name, lam) * e
    return W_new, v_new


@pytest.mark.parametrize("name", ["erf", "linear", "relu"])
@pytest.mark.parametrize("rule", ["bp", "dfa", "sign"])
@pytest.mark.parametrize("train_v", [True, False])
def test_steps_match_numpy_reference(name, rule, train_v):
    K, M, N, n_steps = 3, 2, 60, 6
    net = draw_network(K, M, N, sigma0=1.0, seed=3)
    X = np.random.default_rng(7).standard_normal((n_steps, N + 1))
    eta, eta_v, sigma = 0.7, (0.4 if train_v else 0.0), 0.3
    # a single step, then several consecutive steps (the fused update-and-field path)
    for stop in (1, n_steps):
        W, v = net.W.copy(), net.v.copy()
        code = activation_code(name)
        done = sgd_steps(W, v, net.B, net.A, net.F, X, 0, stop,
                         SGDParams(code, code, rule_code(rule), eta, eta_v, sigma), 0)
        W_ref, v_ref = net.W.copy(), net.v.copy()
        for s in range(stop):
            W_ref, v_ref = reference_step(W_ref, v_ref, net.B, net.A, net.F, X[s, :N], X[s, N],
                                          name, rule, eta, eta_v, sigma)
        assert done == stop
        np.testing.assert_allclose(W, W_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(v, v_ref, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(W - net.W)) > 1e-3  # the steps did move the weights
    if not train_v:
        np.testing.assert_array_equal(v, net.v)


P = SGDParams(ERF, ERF, DFA, 0.5, 0.5, 0.1)


def test_steps_start_inside_a_block():
    net = draw_network(2, 1, 40, sigma0=1.0, seed=0)
    X = np.random.default_rng(1).standard_normal((5, 41))
    args = (net.B, net.A, net.F)
    W1, v1 = net.W.copy(), net.v.copy()
    sgd_steps(W1, v1, *args, X, 0, 5, P, 0)
    W2, v2 = net.W.copy(), net.v.copy()
    sgd_steps(W2, v2, *args, X, 0, 2, P, 0)
    sgd_steps(W2, v2, *args, X, 2, 5, P, 2)
    np.testing.assert_allclose(W1, W2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(v1, v2, rtol=1e-13, atol=1e-15)


def test_steps_stop_at_non_finite_error():
    net = draw_network(2, 1, 30, sigma0=1.0, seed=0)
    X = np.random.default_rng(2).standard_normal((5, 31))
    X[3, 30] = np.inf  # the noise draw of step 3 makes e non-finite
    W, v = net.W.copy(), net.v.copy()
    done = sgd_steps(W, v, net.B, net.A, net.F, X, 0, 5, P, 0)
    W3, v3 = net.W.copy(), net.v.copy()
    sgd_steps(W3, v3, net.B, net.A, net.F, X, 0, 3, P, 0)
    assert done == 3
    np.testing.assert_array_equal(W, W3)
    np.testing.assert_array_equal(v, v3)


# ---------------------------------------------------------------- reproducibility
def test_same_seed_same_trajectory_any_blocking(monkeypatch):
    net = draw_network(2, 2, 100, 1e-2, seed=4)
    a = run(net, "erf", "dfa", eta=0.5, sigma=0.1, t_max=5.0, seed=4)
    b = run(net, "erf", "dfa", eta=0.5, sigma=0.1, t_max=5.0, seed=4)
    for name in ("t", "eg", "Q", "R", "v"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # tiny blocks and extra output times consume the same data stream
    monkeypatch.setattr(sim, "BLOCK_BYTES", 3 * 8 * 101)
    c = run(net, "erf", "dfa", eta=0.5, sigma=0.1, t_max=5.0, seed=4, times=[0.37, 2.5])
    common = np.isin(c.t, a.t)
    assert common.sum() == len(a.t)
    np.testing.assert_allclose(c.Q[common], a.Q, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(c.v[common], a.v, rtol=1e-13, atol=1e-15)
    d = run(net, "erf", "dfa", eta=0.5, sigma=0.1, t_max=5.0, seed=5)
    assert not np.allclose(d.Q[-1], a.Q[-1])


def test_different_seeds_different_networks():
    a, b = draw_network(2, 2, 200, 1e-2, seed=0), draw_network(2, 2, 200, 1e-2, seed=1)
    for name in ("B", "W", "v", "F"):
        assert not np.allclose(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("seed", range(8))
def test_student_is_not_a_copy_of_the_teacher(seed):
    N = 500
    s = draw_network(3, 3, N, 1e-2, seed=seed).state()
    overlap = np.abs(s.R) / np.sqrt(np.outer(np.diag(s.Q), np.diag(s.T)))
    assert overlap.max() < 5.0 / math.sqrt(N)  # independent vectors: O(1/√N), here ≤ 5 std


def test_output_times_are_whole_steps():
    N = 300
    traj = run(draw_network(2, 2, N, 1e-2, seed=0), t_max=3.0, times=[1.0 / 7])
    steps = traj.t * N
    np.testing.assert_allclose(steps, np.rint(steps), atol=1e-9)
    assert traj.t[0] == 0.0 and traj.t[-1] == 3.0 and np.all(np.diff(traj.t) > 0)
    assert traj.settings["steps"] == 900 and traj.success


# ---------------------------------------------------------------- theory agreement
ETA, T_MAX, K_M = 0.5, 50.0, 2


def relative_gaps(N, rule, seed, t_max=T_MAX):
    """|ε_g(sim) − ε_g(ODE)| / ε_g(ODE) at the simulation's output times (n,), the ODE
    started from the simulation's own initial order parameters (network.state())."""
    net = draw_network(K_M, K_M, N, 1e-2, seed=seed)
    s = run(net, "erf", rule, eta=ETA, t_max=t_max, seed=seed)
    o = integrate(net.state(), "erf", rule, eta=ETA, t_max=t_max, times=s.t)
    assert s.success and o.success
    idx = np.searchsorted(o.t, s.t)
    np.testing.assert_array_equal(o.t[idx], s.t)
    return np.abs(s.eg - o.eg[idx]) / o.eg[idx]


def gaps_over_seeds(N, rule, seeds, t_max=T_MAX):
    """relative_gaps for each seed, run in two threads (drawing and the SGD loop release the GIL)."""
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda seed: relative_gaps(N, rule, seed, t_max), seeds))


# The simulation fluctuates around the ODE by O(1/√N) (THEORY.md §1), so the relative
# gap in ε_g is c/√N. Its maximum over time is reached during the plateau escape, where
# ε_g falls fast and a small shift in the escape time gives a large relative gap.
# Measured at N = 2000, η = 0.5, K = M = 2, α ≤ 50 over seeds 0–12: BP up to 0.12
# (c = 5.4, seed 11; seeds 0–2: 0.044, 0.029, 0.021), DFA up to 0.066 (c = 3.0).
# Tolerance 6/√N = 0.134: above every measured value (margin 1.1 on the worst seed,
# 3 on the seeds tested). Comparing instead with an ODE at η/2, at 2η or with the other
# rule gave maximal gaps of 0.74 to 14 (seed 0), and a missing ½ in ε_g gives 1.
# At α = 50 the runs sit on a slowly decaying tail whose ε_g the η² (SGD-noise) terms
# raise by 13–15 %; there the measured gap over seeds 0–12 is ≤ 0.0125 (c ≤ 0.56), so
# a tolerance of 2/√N = 0.045 checks the finite-learning-rate terms too.
MAX_GAP_TOL, FINAL_GAP_TOL = 6.0 / math.sqrt(2000), 2.0 / math.sqrt(2000)


@pytest.mark.parametrize("rule", ["bp", "dfa"])
def test_simulation_tracks_ode_at_n2000(rule):
    gaps = gaps_over_seeds(2000, rule, range(3))
    assert max(g.max() for g in gaps) < MAX_GAP_TOL, [g.max() for g in gaps]
    assert max(g[-1] for g in gaps) < FINAL_GAP_TOL, [g[-1] for g in gaps]


def test_gap_shrinks_with_n():
    # DFA escapes its plateau by α ≈ 3–7 at η = 0.5, so α ≤ 10 covers the largest gaps.
    # Measured (seeds 0–9): mean max gap 0.061 at N = 500, 0.020 at N = 4000 (√8 = 2.8).
    small = np.mean([g.max() for g in gaps_over_seeds(500, "dfa", range(3), t_max=10.0)])
    large = np.mean([g.max() for g in gaps_over_seeds(4000, "dfa", range(3), t_max=10.0)])
    assert large < small, (small, large)


def test_monte_carlo_test_error_matches_exact():
    net = draw_network(2, 2, 200, 1e-2, seed=2)
    traj = run(net, "erf", "bp", eta=0.5, sigma=0.2, t_max=30.0, seed=2, mc_test=20_000)
    assert traj.eg_mc.shape == traj.eg.shape == traj.eg_mc_se.shape
    pick = slice(None, None, 10)  # the test set is fixed, so neighbouring times are correlated
    z = (traj.eg_mc[pick] - traj.eg[pick]) / traj.eg_mc_se[pick]
    assert np.max(np.abs(z)) < 4.0, z
    assert traj.eg[-1] < 0.5 * traj.eg[0]  # it learned, so the check covered a range of ε_g
    # the standard error itself: not inflated (z of order 1, not ≈ 0) ...
    assert np.mean(z ** 2) > 0.05, z
    # ... and equal to std/√n of the half squared errors, recomputed here at t = 0 from the
    # initial weights and the same test inputs with numpy
    from scipy.special import erf
    X = sim.test_stream(2).standard_normal((20_000, net.N))
    g = lambda h: erf(h / np.sqrt(2.0))
    h = 0.5 * (g(X @ net.W.T / np.sqrt(net.N)) @ net.v - g(X @ net.B.T / np.sqrt(net.N)) @ net.A) ** 2
    assert traj.eg_mc[0] == pytest.approx(h.mean(), rel=1e-10)
    assert traj.eg_mc_se[0] == pytest.approx(h.std(ddof=1) / np.sqrt(len(h)), rel=1e-10)


def test_divergence_stops_with_status():
    net = draw_network(2, 1, 100, 1.0, seed=0)
    traj = run(net, "linear", "bp", eta=50.0, t_max=50.0)
    assert traj.status == 1 and not traj.success
    assert traj.message.startswith("stopped at t = ") and traj.message.endswith(STATUS_MESSAGES[NONFINITE])
    assert len(traj.t) >= 1 and np.all(np.isfinite(traj.Q)) and traj.t[-1] < 50.0


# ---------------------------------------------------------------- bad input
NET = draw_network(2, 2, 50, 1e-2, seed=0)


@pytest.mark.parametrize("kwargs", [
    dict(eta=0.0), dict(eta=-1.0), dict(eta=float("nan")), dict(eta="fast"),
    dict(eta_v=0.0), dict(eta_v=-0.1), dict(eta_v=float("inf")),
    dict(sigma=-0.1), dict(sigma=float("nan")),
    dict(t_max=0.0), dict(t_max=-5.0), dict(t_max=float("inf")),
    dict(activation="tanhh"), dict(activation="x + y"), dict(rule="fa"), dict(mc_test=-1), dict(seed=-3),
    dict(times=[200.0]), dict(times=[float("nan")]),
])
def test_bad_input_raises_one_line(kwargs):
    with pytest.raises(InputError) as info:
        run(NET, **{"t_max": 1.0, **kwargs})
    assert "\n" not in str(info.value) and str(info.value)


def test_bad_network_raises():
    with pytest.raises(InputError):
        run("not a network")
