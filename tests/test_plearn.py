"""P(learn) formulas against hand-checked values; a small ODE run of plearn trial by trial."""
import numpy as np
import pytest

from odetheory.experiments.plearn_formulas import p_learn_as_printed, p_learn_sign_count, wilson_interval
from odetheory.experiments.plearn import plearn, trial_seed
from odetheory.initial import draw_network


@pytest.mark.parametrize("K,M,expected", [(2, 2, 1 / 4), (3, 2, 4 / 8), (4, 2, 11 / 16), (8, 2, 247 / 256),
                                          (5, 1, 31 / 32), (3, 3, 1 / 8)])
def test_sign_count_formula(K, M, expected):
    assert p_learn_sign_count(K, M) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("K,M,expected", [(2, 2, 1.0), (3, 2, 7 / 8), (4, 2, 11 / 16), (8, 2, 37 / 256)])
def test_formula_as_printed_in_the_paper(K, M, expected):
    assert p_learn_as_printed(K, M) == pytest.approx(expected, abs=1e-15)


def test_sign_count_is_a_binomial_tail():
    rng = np.random.default_rng(0)
    signs = rng.standard_normal((200_000, 6)) > 0
    assert np.mean(signs.sum(axis=1) >= 2) == pytest.approx(p_learn_sign_count(6, 2), abs=0.004)


@pytest.mark.parametrize("k,n,low,high", [(5, 10, 0.2366, 0.7634), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0),
                                          (45, 50, 0.7864, 0.9565)])
def test_wilson_interval(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-4) and hi == pytest.approx(high, abs=5e-4)


def test_plearn_ode_follows_the_sign_count_rule_trial_by_trial(tmp_path, capsys):
    """Each trial: learned iff at least M entries of F are positive (≥ 95 % of trials);
    the exceptions are listed with their F. Runs on the sweep engine (serial here)."""
    trials_file = tmp_path / "trials.csv"
    result = plearn(Ks=[2, 3, 4], M=2, trials=8, method="ode", t_max=3000.0, results_path=str(trials_file),
                    scheduler="serial", progress=False)
    ok = [r for r in result.rows if r["status"] == "ok"]
    assert len(ok) == 24
    follow = 1 - len(result.exceptions()) / len(ok)
    text = result.summary()
    assert follow >= 0.95, text
    assert text.count("exception:") == len(result.exceptions())
    table = {row["K"]: row for row in result.table()}
    assert sum(sum(n for _, n in row["cross"].values()) for row in table.values()) == 24
    # resumed: a second call recomputes nothing and gives the same rows
    again = plearn(Ks=[2, 3, 4], M=2, trials=8, method="ode", t_max=3000.0, results_path=str(trials_file),
                   scheduler="serial", progress=False)
    assert [r["eg_final"] for r in again.rows] == [r["eg_final"] for r in result.rows]
    assert len(trials_file.read_text().strip().splitlines()) == 1 + 24


def test_plearn_simulation_agrees_with_the_ode_trial_by_trial(tmp_path):
    """--method both on the reduced sampler (N = 500): each trial's simulation and ODE,
    from the same finite-N initial condition, reach the same outcome (≥ 11 of 12), and
    both follow the sign-count rule."""
    result = plearn(Ks=[2, 3], M=2, trials=6, method="both", t_max=3000.0, results_path=str(tmp_path / "t.csv"),
                    scheduler="serial", progress=False)
    rows = {(r["method"], r["K"], r["seed"]): r for r in result.rows}
    assert len(rows) == 24 and all(r["status"] == "ok" for r in rows.values())
    assert {r["sampler"] for r in result.rows if r["method"] == "sim"} == {"reduced"}
    seeds = {K: [trial_seed(0, K, s) for s in range(6)] for K in (2, 3)}
    same = sum(rows["sim", K, s]["learned"] == rows["ode", K, s]["learned"] for K in (2, 3) for s in seeds[K])
    assert same >= 11
    assert len(result.exceptions()) <= 2, result.summary()
    assert any(r["learned"] for r in result.rows) and not all(r["learned"] for r in result.rows)


def test_every_K_and_trial_has_its_own_stream():
    """Trials at different K must not share feedback draws: with seed = trial index the F of a
    K + 1 trial extended the F of the K trial by one entry, so every K was low together."""
    Ks, trials = range(2, 9), 50
    seeds = [trial_seed(0, K, i) for K in Ks for i in range(trials)]
    assert len(set(seeds)) == len(seeds)
    assert trial_seed(0, 3, 1) == trial_seed(0, 3, 1) != trial_seed(1, 3, 1)  # reproducible, base seed matters
    nested = sum(np.array_equal(draw_network(K + 1, 2, 500, seed=trial_seed(0, K + 1, i)).F[:K],
                                draw_network(K, 2, 500, seed=trial_seed(0, K, i)).F)
                 for K in range(2, 8) for i in range(trials))
    assert nested == 0
    # the fraction of F with at least M = 2 positive entries follows 2^-K Σ_{j>=M} C(K, j) at every K
    # jointly: a χ² over the 7 sizes of 200 draws each
    chi2 = 0.0
    for K in Ks:
        hits = sum(np.sum(draw_network(K, 2, 500, seed=trial_seed(0, K, i)).F > 0) >= 2 for i in range(200))
        p = p_learn_sign_count(K, 2)
        chi2 += (hits - 200 * p) ** 2 / (200 * p * (1 - p))
    assert chi2 < 24.3  # 99.9 % point of χ² with 7 degrees of freedom
