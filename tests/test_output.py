"""The output layer: every plot draws on a given axis and returns its figure, no plot picks a
matplotlib backend or registers figures with pyplot, and one helper saves figures atomically
without overwriting unless asked."""
import dataclasses
import os

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import odetheory
from odetheory import InputError, draw_network, integrate
from odetheory.experiments import compare as compare_mod
from odetheory.experiments import deep, figures, plearn
from odetheory.plotting import save_figure
from odetheory.sweep.heatmap import heat_map, write_heat_map

from simulate import simulate


@pytest.fixture
def other_backend():
    """Switch to a backend no library code would pick, and give it back afterwards."""
    before = matplotlib.get_backend()
    matplotlib.use("svg", force=True)
    yield "svg"
    matplotlib.use(before, force=True)


def _pyplot_figures():
    import sys
    plt = sys.modules.get("matplotlib.pyplot")
    return set(plt.get_fignums()) if plt is not None else set()


def _axes(n=1):
    fig = Figure()
    return fig, fig.subplots(1, n, squeeze=False)[0]


def _drawn(ax):
    return len(ax.lines) + len(ax.collections) + len(ax.patches) + len(ax.images) > 0


# --------------------------------------------------------------------------- cheap results to plot

@pytest.fixture(scope="module")
def pair():
    """(simulation, ODE) of a small erf DFA network, as the figures and compare use them."""
    net = draw_network(2, 2, 60, 1e-2, 0)
    return compare_mod.simulate_and_integrate(net, 0, 8.0, activation="erf", rule="dfa", eta=0.5)


def _compare_result(pair, Ns):
    sim, ode = pair
    runs = [compare_mod.Comparison(N, seed, sim, ode) for N in Ns for seed in (0, 1)]
    settings = dict(K=2, M=2, Ns=list(Ns), seeds=[0, 1], t_max=8.0, activation="erf", rule="dfa", eta=0.5,
                    gap_until=None)
    return compare_mod.CompareResult(runs, settings)


def _plearn_result():
    rows = [dict(method="ode", K=K, M=2, N=100, sigma0=1e-2, seed=i, status="ok", learned=i < K,
                 n_positive_F=min(i, K), eg_final=1e-6 if i < K else 0.08) for K in (2, 3, 4) for i in range(5)]
    return plearn.PlearnResult(rows=rows, M=2, threshold=1e-3)


def _sweep_rows():
    return [dict(eta=eta, rule=rule, seed=seed, status="ok", eg_final=1e-2 * eta ** 3 * (1 + seed),
                 learned=eta > 0.3) for eta in (0.1, 0.3, 1.0, 3.0) for rule in ("bp", "dfa") for seed in (0, 1)]


# --------------------------------------------------------------------------- onto the user's axes

def test_compare_plot_lands_on_the_given_axes(pair):
    one = _compare_result(pair, [60])
    fig, axes = _axes(one.n_panels)
    assert one.n_panels == 2 and one.plot(axes=axes) is fig
    assert all(_drawn(ax) for ax in axes)
    several = _compare_result(pair, [60, 120, 240])
    assert several.n_panels == 3  # ε_g, cos(v, F), gap against N
    fig, axes = _axes(3)
    assert several.plot(axes=axes) is fig and all(_drawn(ax) for ax in axes)
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert labels == ["N = 60", "N = 120", "N = 240", "ODE from the same start"]  # one entry per N
    assert axes[2].get_xscale() == "log" and axes[2].get_xlabel() == "N"
    assert isinstance(several.plot(), Figure)  # without axes: a new figure


def test_plearn_plots_land_on_the_given_axes():
    result = _plearn_result()
    fig, axes = _axes(2)
    assert result.plot(axes=axes) is fig and all(_drawn(ax) for ax in axes)
    fig, (ax,) = _axes()
    assert result.plot_on(ax) is fig and _drawn(ax)


def test_paper_figures_land_on_the_given_axes(pair, monkeypatch):
    monkeypatch.setattr(figures, "map_parallel", lambda f, jobs, **kw: [pair for _ in jobs])
    monkeypatch.setattr(figures, "run_pair", lambda job: pair)
    fig, axes = _axes(3)
    assert figures.fig2(quick=True, axes=axes) is fig and all(_drawn(ax) for ax in axes)
    assert axes[0].get_ylim() == figures.EG_RANGE
    for maker in (figures.fig3a, figures.fig3b):
        fig, (ax,) = _axes()
        assert maker(quick=True, ax=ax) is fig and _drawn(ax)
    fig, (ax,) = _axes()
    assert figures.fig4(quick=True, ax=ax, plearn_result=_plearn_result()) is fig and _drawn(ax)
    assert len(ax.child_axes) == 1 and _drawn(ax.child_axes[0])  # the P(learn) inset


def test_fig4_inset_labels_stay_inside_the_main_axes(pair, monkeypatch):
    monkeypatch.setattr(figures, "map_parallel", lambda f, jobs, **kw: [pair for _ in jobs])
    fig = figures.fig4(quick=True, plearn_result=_plearn_result())
    fig.canvas.draw()
    ax = fig.axes[0]
    inset = ax.child_axes[0]
    box = ax.get_window_extent()
    for label in (inset.xaxis.label, inset.yaxis.label, *inset.get_xticklabels(), *inset.get_yticklabels()):
        if label.get_text():
            b = label.get_window_extent()
            assert box.x0 <= b.x0 and b.x1 <= box.x1 and box.y0 <= b.y0 and b.y1 <= box.y1, label.get_text()
    legend = inset.get_legend()
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 7.5  # was 6: unreadable
    inset_box = inset.get_window_extent()
    lb = legend.get_window_extent()
    assert inset_box.x0 <= lb.x0 and lb.x1 <= inset_box.x1 and inset_box.y0 <= lb.y0 and lb.y1 <= inset_box.y1
    # the legend sits above the data: no measured point or formula value under it
    for line in inset.lines:
        xy = inset.transData.transform(line.get_xydata())
        assert not np.any((xy[:, 0] > lb.x0) & (xy[:, 0] < lb.x1) & (xy[:, 1] > lb.y0) & (xy[:, 1] < lb.y1))


def test_heat_map_lands_on_the_given_axis_with_log_colours_and_grid_ticks(tmp_path):
    from matplotlib.colors import LogNorm
    rows = _sweep_rows()
    fig, (ax,) = _axes()
    assert heat_map(rows, "eta", "rule", "eg_final", ax=ax) is fig
    mesh = ax.collections[0]
    assert isinstance(mesh.norm, LogNorm)  # ε_g spans orders of magnitude
    assert np.allclose(ax.get_xticks(), [0.1, 0.3, 1.0, 3.0])  # ticks at the grid values, not at cell edges
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1", "0.3", "1", "3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["bp", "dfa"]
    fig, (ax,) = _axes()
    heat_map(rows, "eta", "rule", "learned", ax=ax)
    assert not isinstance(ax.collections[0].norm, LogNorm) and ax.collections[0].norm.vmax == 1.0
    path = tmp_path / "h.png"
    write_heat_map(rows, "eta", "seed", "eg_final", path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="exists"):
        write_heat_map(rows, "eta", "seed", "eg_final", path)


def test_deep_and_fixed_point_plots_land_on_the_given_axes():
    from odetheory.experiments.fixedpoints import PlateauLengthResult
    r = deep.run_deep(dataset="gaussian", layers=3, width=8, epochs=3, n_examples=64, n_out=2)
    for plot in (deep.plot_training, deep.plot_alignment, deep.plot_layerwise):
        fig, (ax,) = _axes()
        assert plot(r, ax) is fig and _drawn(ax)
    lengths = PlateauLengthResult(Ns=[100, 200, 400], seeds=[0, 1], escape=np.array([[10., 12], [14, 15], [18, 19]]),
                                  lambda_plus=0.03, eg_star=0.01, settings=dict(sampler="reduced"))
    fig, (ax,) = _axes()
    assert lengths.plot(ax) is fig and _drawn(ax)


def test_plots_leave_the_backend_and_pyplot_alone(pair, other_backend):
    before = _pyplot_figures()
    _compare_result(pair, [60, 120]).plot()
    _plearn_result().plot()
    heat_map(_sweep_rows(), "eta", "rule", "eg_final")
    state = draw_network(2, 2, 100, 1e-2, 0).state()
    odetheory.fixed_points(state, activation="erf", rule="bp", eta=0.5, t_max=300).plot()
    assert matplotlib.get_backend() == other_backend
    assert _pyplot_figures() == before  # nothing registered with pyplot (no figure to close, no window)


# --------------------------------------------------------------------------- the one saving helper

def test_save_figure_is_atomic_and_refuses_to_overwrite(tmp_path):
    fig, (ax,) = _axes()
    ax.plot([0, 1], [0, 1])
    path = tmp_path / "f.png"
    assert save_figure(fig, path) == path
    first = path.read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="exists"):
        save_figure(fig, path)
    assert path.read_bytes() == first
    ax.plot([0, 1], [1, 0])
    save_figure(fig, path, overwrite=True)
    assert path.read_bytes() != first
    save_figure(fig, tmp_path / "f.svg")
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(InputError, match="does not exist"):
        save_figure(fig, tmp_path / "missing" / "f.png")

    class Broken(Figure):
        def savefig(self, fh, **kw):
            fh.write(b"half a file")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_figure(Broken(), path, overwrite=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the old file is untouched
    assert sorted(os.listdir(tmp_path)) == ["f.png", "f.svg"]  # no temporary file left behind


def test_no_library_module_saves_figures_itself():
    """PNG writing lives in odetheory.plotting.save_figure only."""
    root = os.path.dirname(odetheory.__file__)
    offenders = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and path != os.path.join(root, "plotting.py"):
                text = open(path, encoding="utf-8").read()
                if ".savefig(" in text or "plt.subplots(" in text or "matplotlib.use(" in text:
                    offenders.append(os.path.relpath(path, root))
    assert offenders == []


# --------------------------------------------------------------------------- API and small defects

def test_experiments_are_importable_from_the_package():
    from odetheory import compare, degeneracy, plearn as plearn_fn
    assert callable(compare) and callable(degeneracy) and callable(plearn_fn)
    assert {"compare", "plearn", "degeneracy"} <= set(dir(odetheory))


def test_truncated_trajectory_keeps_every_field():
    net = draw_network(2, 2, 50, 1e-2, 0)
    sim = simulate(net, t_max=4.0, seed=0, mc_test=200, eta=0.5)
    n = len(sim.t)
    short = sim.truncated(n - 3)
    for name in ("t", "eg", "cos_vF", "Q", "R", "v", "eg_mc", "eg_mc_se"):
        assert np.array_equal(getattr(short, name), getattr(sim, name)[:n - 3]), name
    for f in dataclasses.fields(sim):
        if f.name not in short.PER_TIME:
            assert getattr(short, f.name) is getattr(sim, f.name), f.name
    assert len(sim.t) == n  # the original is unchanged
    ode = integrate(net.state(), eta=0.5, t_max=4.0, n_times=10)
    assert not hasattr(ode, "eg_mc") and len(ode.truncated(4).t) == 4


def test_degeneracy_returns_what_its_docstring_says():
    from odetheory.experiments.degeneracy import DegeneracyResult, degeneracy, flip_images, report
    v, F = np.array([0.5, -1.0]), np.array([1.0, 1.0])
    images = flip_images(v, F)
    assert isinstance(images, np.ndarray) and images.shape == (4,) and images[0] == pytest.approx(v @ F)
    result = degeneracy(K=2, seeds=range(1), t_max=50.0, workers=1)
    assert isinstance(result, DegeneracyResult) and set(result.outcomes) == {"dfa", "bp"}
    outcomes, converged = result
    assert converged == result.converged == 1e-4 and outcomes is result.outcomes
    assert "DFA" in report(result)


def test_sweep_task_statistics_take_no_unused_count():
    from odetheory.sweep.stats import SweepStats
    stats = SweepStats()
    stats._task(1.0, 3.0, "w")
    stats._task(4.0, 5.0, "w")
    stats._finish()
    assert stats.n_tasks == 2 and stats.compute == 3.0 and stats.gap_total == 1.0
