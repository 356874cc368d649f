"""The reduced sampler (``simulate.reduced``): the same Markov chain as the N-dimensional SGD.

Routes: step by step it reproduces N-dimensional weights moved by an independent numpy
step when fed the same input; over many seeds its order parameters have the law of the
full simulation at small N (where the χ²_{N−K−M} remainder matters); at large N it
follows the ODE like the full simulation does.
"""
import numpy as np
import pytest
from test_simulate import reference_step

import simulate as sim
from odetheory import integrate
from odetheory.integrals.activations import activation_code
from odetheory.rules import rule_code
from odetheory.errors import InputError
from odetheory.initial import draw_network
from simulate import simulate as run
from simulate.reduced import coordinates, lower_triangularise, reduced_steps
from simulate.sgd import SGDParams


def gram_schmidt(B, W):
    """Orthonormal basis (N, n) of the rows of [B; W] in order, and their coordinates (n, n)."""
    V = np.vstack((B, W)).T / np.sqrt(B.shape[1])
    basis, R = np.linalg.qr(V)
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    return basis * signs, (R.T * signs)


def test_lower_triangularise_keeps_the_gram_matrix():
    rng = np.random.default_rng(0)
    for K in (1, 2, 5, 8):
        X = rng.standard_normal((K, K + 1))
        G = X @ X.T
        lower_triangularise(X)
        np.testing.assert_allclose(X @ X.T, G, rtol=1e-12, atol=1e-12)
        assert np.all(np.triu(X[:, :K], 1) == 0) and np.all(X[:, K] == 0)
        assert np.all(np.diag(X) >= 0)
        np.testing.assert_allclose(X[:, :K], np.linalg.cholesky(G), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["erf", "linear", "relu"])
@pytest.mark.parametrize("rule", ["bp", "dfa", "sign"])
def test_reduced_steps_follow_the_full_weights(name, rule):
    """Fed the coordinates z of the same x and s² = |x_⊥|², every reduced step lands on
    the Gram–Schmidt coordinates of the N-dimensional weights after the numpy step."""
    K, M, N = 3, 2, 40
    net = draw_network(K, M, N, sigma0=1.0, seed=5)
    rng = np.random.default_rng(11)
    eta, eta_v, sigma = 0.7, 0.4, 0.3
    W, v = net.W.copy(), net.v.copy()
    L_T, P, S = coordinates(net.B, net.W)
    v_red = net.v.copy()
    for step in range(8):
        basis, L = gram_schmidt(net.B, W)
        np.testing.assert_allclose(L_T, L[:M, :M], atol=1e-10)
        np.testing.assert_allclose(P, L[M:, :M], atol=1e-10)
        np.testing.assert_allclose(S, L[M:, M:], atol=1e-10)
        np.testing.assert_allclose(v_red, v, atol=1e-12)
        x, zeta = rng.standard_normal(N), rng.standard_normal()
        z = basis.T @ x
        rest = x - basis @ z
        Z = np.append(z, zeta)[None, :]
        code = activation_code(name)
        done = reduced_steps(L_T, P, S, v_red, net.A, net.F, Z, np.array([rest @ rest]), 0, 1,
                             SGDParams(code, code, rule_code(rule), eta, eta_v, sigma), 0, N)
        assert done == 1
        W, v = reference_step(W, v, net.B, net.A, net.F, x, zeta, name, rule, eta, eta_v, sigma)
    assert np.max(np.abs(W - net.W)) > 1e-2  # the weights did move


def final_order_parameters(sampler, seeds, K, N, sigma0, **kw):
    """Per seed (M = 1): final Q (upper triangle), R, v and the squared length of
    student 0 orthogonal to the teacher, Q00 − R00²/T."""
    out = []
    for seed in seeds:
        net = draw_network(K, 1, N, sigma0=sigma0, seed=seed)
        tr = run(net, seed=seed, sampler=sampler, **kw)
        Q, R = tr.Q[-1], tr.R[-1]
        perp = Q[0, 0] - R[0, 0] ** 2 / net.state().T[0, 0]
        out.append(np.concatenate((Q[np.triu_indices(K)], R[:, 0], tr.v[-1], [perp])))
    return np.array(out)


@pytest.mark.parametrize("K, N, sigma0, kw", [
    (2, 10, 0.5, dict(activation="erf", rule="dfa", eta=2.0, t_max=4.0)),
    (3, 12, 0.5, dict(activation="relu", rule="bp", eta=1.0, t_max=3.0, sigma=0.5)),
])
def test_reduced_has_the_law_of_the_full_simulation_at_small_N(K, N, sigma0, kw):
    """M = 1, 500 seeds per sampler (same initial weights and feedback per seed,
    different data draws): the mean paired difference of each final order parameter
    and the difference of their variances are within 4.5 standard errors."""
    seeds = range(500)
    full = final_order_parameters("full", seeds, K, N, sigma0, **kw)
    red = final_order_parameters("reduced", seeds, K, N, sigma0, **kw)
    for j in range(full.shape[1]):
        a, b = full[:, j], red[:, j]
        d = a - b
        if np.any(d != 0):  # v0 is fixed in the second case
            assert abs(d.mean()) < 4.5 * d.std(ddof=1) / np.sqrt(d.size), j
        da, db = (a - a.mean()) ** 2, (b - b.mean()) ** 2
        se2 = np.sqrt(da.var(ddof=1) / da.size + db.var(ddof=1) / db.size)
        assert abs(da.mean() - db.mean()) < 4.5 * se2, j


def test_reduced_inputs_have_the_norm_of_N_dimensional_inputs():
    """|x|² = |z|² + s² of the reduced sampler's own draws is χ²_N: mean N and variance 2N over 5·10^4
    steps (4.5 standard errors); s² alone has mean N − K − M."""
    K, M, N, rows = 3, 2, 9, 50_000
    params = SGDParams(activation_code("erf"), activation_code("erf"), rule_code("dfa"), 0.1, 0.1, 0.0)
    chain = sim.SAMPLERS["reduced"](draw_network(K, M, N), np.random.default_rng(3), params, rows,
                                    sim.sampler_kernels("erf"))
    blocks = chain.inputs
    assert blocks.available() == rows
    norm2 = np.sum(blocks.buf[:, :K + M] ** 2, axis=1) + blocks.chi2
    assert abs(norm2.mean() - N) < 4.5 * np.sqrt(2 * N / rows)
    assert abs(norm2.var() - 2 * N) < 4.5 * np.sqrt((48 * N + 8 * N * N) / rows)
    assert abs(blocks.chi2.mean() - (N - K - M)) < 4.5 * np.sqrt(2 * (N - K - M) / rows)


def test_reduced_follows_the_ode_at_large_N():
    """ReLU DFA, K = 3, M = 2, N = 2000, α ≤ 30: the same tolerance as the full simulation."""
    N = 2000
    for seed in range(3):
        net = draw_network(3, 2, N, seed=seed)
        tr = run(net, activation="relu", rule="dfa", eta=0.5, t_max=30.0, seed=seed, sampler="reduced")
        ode = integrate(net.state(), activation="relu", rule="dfa", eta=0.5, t_max=30.0, times=tr.t)
        eg_ode = np.interp(tr.t, ode.t, ode.eg)
        assert np.max(np.abs(tr.eg / eg_ode - 1)) < 6 / np.sqrt(N)
        assert tr.eg[-1] < 0.5 * tr.eg[0]  # it did learn something


def test_reduced_is_reproducible_and_independent_of_blocking(monkeypatch):
    net = draw_network(3, 2, 300, seed=4)
    kw = dict(activation="relu", rule="dfa", eta=0.5, seed=4, sampler="reduced", times=[3.0])
    a = run(net, t_max=6.0, **kw)
    b = run(net, t_max=6.0, **kw)
    np.testing.assert_array_equal(a.Q, b.Q)
    longer = run(net, t_max=9.0, **kw)
    monkeypatch.setattr(sim, "BLOCK_BYTES", 8 * 7 * 37)  # 37 rows per block
    small = run(net, t_max=6.0, **kw)
    i, j = np.flatnonzero(a.t == 3.0)[0], np.flatnonzero(longer.t == 3.0)[0]
    np.testing.assert_array_equal(a.Q[i], longer.Q[j])
    np.testing.assert_array_equal(a.Q, small.Q)
    other = run(net, t_max=6.0, **{**kw, "seed": 5})
    assert np.max(np.abs(other.Q[-1] - a.Q[-1])) > 1e-6


@pytest.mark.parametrize("kw, message", [
    (dict(sampler="sparse"), "unknown sampler"),
    (dict(sampler="reduced", mc_test=100), "test set needs"),
])
def test_reduced_bad_input(kw, message):
    with pytest.raises(InputError, match=message):
        run(draw_network(2, 1, 50), t_max=1.0, **kw)


def test_reduced_needs_N_above_K_plus_M():
    with pytest.raises(InputError, match="N > K \\+ M"):
        run(draw_network(3, 2, 5), t_max=1.0, sampler="reduced")
