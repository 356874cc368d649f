"""The paper's deep-network figures (Figs. 5–9 of Refinetti et al., ICML 2021).

MNIST and CIFAR-10 cannot be downloaded here; scikit-learn's digits set stands in for
them, and every figure says so. Shared settings (``Setting``): fully connected networks
without biases, 100 units per hidden layer, mini-batches of 32, η = 0.032 (the paper's
code: learning rate 10⁻³ on the loss summed over a batch of 32), initial weights and
feedback entries with standard deviation 0.577/√fan-in and 0.577/√n_l (the spread of
PyTorch's default uniform initialisation, used by the paper's code), 1,000 epochs.

Runs go to local processes through Dask's multiprocessing scheduler (the trainer is
numpy on small matrices and holds the GIL between BLAS calls, so threads would not run
in parallel); Fig. 8's grid runs on the sweep engine and keeps its points in
``fig8_points.csv`` beside the figure, so a second call only draws. ``quick=True``
uses fewer epochs, seeds and grid points and writes ``*_quick.png``.
"""
import os
from dataclasses import dataclass

import numpy as np

from ..plotting import figure_and_panels
from ..sweep.engine import run_points
from .deep import run_deep, weight_cosine

STAND_IN = "digits (scikit-learn) standing in for MNIST/CIFAR-10"
COLORS = {"tanh": "tab:blue", "relu": "tab:orange"}
P_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


@dataclass(frozen=True)
class Setting:
    """Parameters shared by the deep figures; ``quick`` gives the small versions."""

    width: int = 100
    batch: int = 32
    eta: float = 0.032
    init_scale: float = 0.577
    feedback_scale: float = 0.577
    epochs: int = 1000
    seeds: int = 3
    n_out: int = 40
    fig7_epochs: int = 3000
    fig8_values: tuple = (0.2, 0.4, 0.6, 0.8, 1.0)
    fig8_seeds: int = 5
    fig9_p: tuple = (0.0, 0.1, 0.2, 0.5, 0.9)
    quick: bool = False

    @classmethod
    def paper(cls, quick=False):
        if quick:
            return cls(epochs=60, seeds=1, n_out=12, fig7_epochs=120, fig8_values=(0.2, 0.6, 1.0), fig8_seeds=1,
                       fig9_p=(0.0, 0.5, 0.9), quick=True)
        return cls()

    def options(self, **extra):
        return dict(width=self.width, batch=self.batch, eta=self.eta, init_scale=self.init_scale,
                    feedback_scale=self.feedback_scale, epochs=self.epochs, n_out=self.n_out, **extra)


# --------------------------------------------------------------------------- running

_CACHE = {}  # options -> DeepResult, shared by the figures of one process (fig5 and fig6)


def _key(options):
    return tuple(sorted(options.items()))


def _job(job):
    options, keep = job
    return run_deep(keep_weights=keep, **options)


def run_many(option_list, keep_weights=False, workers=None):
    """DeepResults for a list of option dicts, in order; runs not in the cache go to local
    processes (serially for a single run)."""
    need = []
    for opts in option_list:
        hit = _CACHE.get(_key(opts))
        if hit is None or (keep_weights and not hit.weights):
            need.append(opts)
    unique = list({_key(o): o for o in need}.values())
    if len(unique) == 1:
        results = [_job((unique[0], keep_weights))]
    elif unique:
        import dask
        tasks = [dask.delayed(_job, pure=False)((o, keep_weights)) for o in unique]
        results = dask.compute(*tasks, scheduler="processes", num_workers=workers or os.cpu_count() or 1)
    else:
        results = []
    for opts, res in zip(unique, results):
        _CACHE[_key(opts)] = res
    return [_CACHE[_key(o)] for o in option_list]


def _band(ax, x, ys, color, label=None, ls="-", final=True):
    """Mean of the rows of ys (runs × epochs) as a line and their min..max as a shaded band;
    the label ends with the final mean."""
    ys = np.asarray(ys, dtype=float)
    mean = np.nanmean(ys, axis=0)
    if label is not None and final:
        label = f"{label}: {mean[-1]:.3g} at the end"
    ax.plot(x, mean, color=color, ls=ls, lw=1.5, label=label)
    if len(ys) > 1:
        ax.fill_between(x, np.nanmin(ys, axis=0), np.nanmax(ys, axis=0), color=color, alpha=0.2, lw=0)


def _epoch_axis(ax, last):
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(0, last)
    ax.set_xlabel("epoch")


def _new_figure(axes, n_panels, size=(6.0, 4.2)):
    """(figure, n axes): the given axes or a new figure of n panels side by side."""
    return figure_and_panels(axes, n_panels, figsize=(size[0] * n_panels, size[1]))


def _runs_text(s, n):
    return f"{n} run{'s' if n > 1 else ''}" + (" (mean, band: min–max)" if n > 1 else "")


# --------------------------------------------------------------------------- figures

def _fig5_options(s, activation, rule, seed, weights_seed):
    return s.options(dataset="digits", layers=4, activation=activation, rule=rule, seed=seed,
                     weights_seed=weights_seed)


def fig5(out_dir=None, quick=False, axes=None):
    """4-layer MLPs (100 units) with tanh and ReLU trained by BP and DFA: training accuracy,
    and the cosine similarity of the stacked weights of two networks from different initial
    weights (same data order and, for DFA, the same feedback matrices)."""
    s = Setting.paper(quick)
    cases = [(act, rule) for act in ("tanh", "relu") for rule in ("bp", "dfa")]
    jobs = [_fig5_options(s, act, rule, seed, ws) for act, rule in cases for seed in range(s.seeds)
            for ws in (seed, 1000 + seed)]
    results = iter(run_many(jobs, keep_weights=True))
    fig, (acc_ax, cos_ax) = _new_figure(axes, 2)
    for act, rule in cases:
        pairs = [(next(results), next(results)) for _ in range(s.seeds)]
        epochs = pairs[0][0].epochs
        ls = "-" if rule == "dfa" else "--"
        label = f"{rule.upper()}, {act}"
        _band(acc_ax, epochs, [a.accuracy for a, _ in pairs], COLORS[act], label, ls, final=False)
        _band(cos_ax, epochs, [weight_cosine(a, b)[1] for a, b in pairs], COLORS[act], label, ls)
    for ax in (acc_ax, cos_ax):
        _epoch_axis(ax, s.epochs)
        ax.legend(fontsize=8)
    acc_ax.set_ylabel("training accuracy")
    cos_ax.set_ylabel("cosine similarity of stacked weights")
    cos_ax.set_yscale("symlog", linthresh=1e-2)
    cos_ax.set_ylim(-1e-2, 1)
    cos_ax.set_yticks([-1e-2, 0, 1e-2, 1e-1, 1], ["−0.01", "0", "0.01", "0.1", "1"])
    cos_ax.axhline(1e-2, color="gray", lw=0.6, ls=":")
    fig.suptitle(f"Fig. 5: degeneracy breaking, 4-layer MLPs (width {s.width}) on {STAND_IN}; "
                 f"{s.seeds} pair{'s' if s.seeds > 1 else ''} of runs (mean, band: min–max), η = {s.eta:g}",
                 fontsize=9)
    fig.tight_layout()
    return fig


def fig6(out_dir=None, quick=False, axes=None):
    """Global WA and GA (Eq. 18) of DFA over training, tanh and ReLU 4-layer MLPs."""
    s = Setting.paper(quick)
    jobs = [_fig5_options(s, act, "dfa", seed, seed) for act in ("tanh", "relu") for seed in range(s.seeds)]
    results = iter(run_many(jobs))
    fig, (wa_ax, ga_ax) = _new_figure(axes, 2)
    for act in ("tanh", "relu"):
        runs = [next(results) for _ in range(s.seeds)]
        _band(wa_ax, runs[0].epochs, [r.wa for r in runs], COLORS[act], act)
        _band(ga_ax, runs[0].epochs, [r.ga for r in runs], COLORS[act], act)
    for ax, name in ((wa_ax, "weight alignment WA"), (ga_ax, "gradient alignment GA")):
        _epoch_axis(ax, s.epochs)
        ax.set_ylabel(name)
        ax.legend(fontsize=8)
    fig.suptitle(f"Fig. 6: global alignment of DFA, 4-layer MLPs (width {s.width}) on {STAND_IN}; "
                 f"{_runs_text(s, s.seeds)}", fontsize=9)
    fig.tight_layout()
    return fig


def fig7(out_dir=None, quick=False, axes=None):
    """Layerwise WA_l (l = 2..4) and GA_l (l = 1..3) of a 4-layer ReLU network trained by DFA
    with 10 % of the labels shuffled; dotted lines mark each WA_l's largest value (if before the end)."""
    s = Setting.paper(quick)
    jobs = [{**s.options(dataset="digits", layers=4, activation="relu", rule="dfa", corrupt=0.1, seed=seed),
             "epochs": s.fig7_epochs} for seed in range(s.seeds)]
    runs = run_many(jobs)
    epochs = runs[0].epochs
    fig, (wa_ax, ga_ax) = _new_figure(axes, 2)
    colors = ("tab:blue", "tab:orange", "tab:green")
    for j, color in enumerate(colors):
        wa = np.array([r.wa_layers[:, j] for r in runs])
        peak = epochs[int(np.nanargmax(np.nanmean(wa, axis=0)))]
        _band(wa_ax, epochs, wa, color, f"WA_{j + 2} (largest at epoch {peak})", final=False)
        if peak < epochs[-1]:
            wa_ax.axvline(peak, color=color, ls=":", lw=1)
        _band(ga_ax, epochs, [r.ga_layers[:, j] for r in runs], color, f"GA_{j + 1}")
    for ax, name in ((wa_ax, "layerwise weight alignment WA_l"), (ga_ax, "layerwise gradient alignment GA_l")):
        _epoch_axis(ax, s.fig7_epochs)
        ax.set_ylabel(name)
        ax.legend(fontsize=8)
    fig.suptitle(f"Fig. 7: layerwise alignment, 4-layer ReLU DFA (width {s.width}), 10 % of labels shuffled, "
                 f"on {STAND_IN}; {_runs_text(s, s.seeds)}", fontsize=9)
    fig.tight_layout()
    return fig


def fig8_points(s):
    """The sweep points of Fig. 8: 3-layer ReLU DFA on the Gaussian task over α, β and seeds."""
    return [dict(method="deep", dataset="gaussian", alpha=a, beta=b, layers=3, activation="relu", rule="dfa",
                 seed=seed, **{**s.options(), "n_out": 0})
            for a in s.fig8_values for b in s.fig8_values for seed in range(s.fig8_seeds)]


def fig8(out_dir=None, quick=False, axes=None, scheduler=None):
    """Final WA and GA over α and β of the Fig. 8 task (Eq. 20), a 3-layer ReLU network (width
    100) trained by DFA for 1,000 epochs, mean over seeds; the points run on the sweep engine
    (local Dask cluster by default) and are kept in fig8_points.csv beside the figure."""
    s = Setting.paper(quick)
    results = None if quick or out_dir is None else os.path.join(out_dir, "fig8_points.csv")
    rows = run_points(fig8_points(s), results, scheduler="serial" if quick else scheduler,
                      measure=("wa_final", "ga_final", "loss_final"), progress=not quick, desc="fig8")
    vals = list(s.fig8_values)
    fig, axes = _new_figure(axes, 2, size=(5.2, 4.4))
    for ax, name, title in zip(axes, ("wa_final", "ga_final"), ("final WA", "final GA")):
        Z = np.full((len(vals), len(vals)), np.nan)
        for i, b in enumerate(vals):
            for j, a in enumerate(vals):
                z = [r[name] for r in rows if r["alpha"] == a and r["beta"] == b and r["status"] == "ok"]
                Z[i, j] = np.mean(z) if z else np.nan
        edges = np.concatenate(([vals[0] - 0.1], 0.5 * (np.array(vals[1:]) + vals[:-1]), [vals[-1] + 0.1]))
        mesh = ax.pcolormesh(edges, edges, Z, cmap="viridis", shading="flat")
        for i, b in enumerate(vals):
            for j, a in enumerate(vals):
                ax.text(a, b, f"{Z[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="w" if Z[i, j] < np.nanmean(Z) else "k")
        ax.set_xticks(vals)
        ax.set_yticks(vals)
        ax.set_xlabel("α (standard deviation of the second target)")
        ax.set_ylabel("β (target correlation 1 − β)")
        ax.set_title(title, fontsize=10)
        fig.colorbar(mesh, ax=ax)
    fig.suptitle(f"Fig. 8: 3-layer ReLU DFA (width {s.width}) on x ∈ R^10, y ~ N(0, Σ(α, β)), 1000 examples, "
                 f"{s.epochs} epochs; mean of {s.fig8_seeds} seed{'s' if s.fig8_seeds > 1 else ''}", fontsize=9)
    fig.tight_layout()
    return fig


def fig9(out_dir=None, quick=False, axes=None):
    """Global WA and GA over training of a 3-layer ReLU network trained by DFA for several
    fractions p of shuffled labels."""
    s = Setting.paper(quick)
    jobs = [s.options(dataset="digits", layers=3, activation="relu", rule="dfa", corrupt=p, seed=seed)
            for p in s.fig9_p for seed in range(s.seeds)]
    results = iter(run_many(jobs))
    fig, (wa_ax, ga_ax) = _new_figure(axes, 2)
    for p, color in zip(s.fig9_p, P_COLORS):
        runs = [next(results) for _ in range(s.seeds)]
        _band(wa_ax, runs[0].epochs, [r.wa for r in runs], color, f"p = {p:g}")
        _band(ga_ax, runs[0].epochs, [r.ga for r in runs], color, f"p = {p:g}")
    for ax, name in ((wa_ax, "weight alignment WA"), (ga_ax, "gradient alignment GA")):
        _epoch_axis(ax, s.epochs)
        ax.set_ylabel(name)
        ax.legend(fontsize=8)
    fig.suptitle(f"Fig. 9: label corruption p, 3-layer ReLU DFA (width {s.width}) on {STAND_IN}; "
                 f"{_runs_text(s, s.seeds)}", fontsize=9)
    fig.tight_layout()
    return fig


FIGURES = {"fig5": fig5, "fig6": fig6, "fig7": fig7, "fig8": fig8, "fig9": fig9}
