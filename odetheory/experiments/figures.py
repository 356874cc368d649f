"""The paper's figures (Refinetti et al., ICML 2021), regenerated from simulations and the ODEs.

Each figure function runs its simulations (finite N, online SGD) and the ODE from
each simulation's own initial condition, draws on the given axes (or a new figure) and
returns the figure; ``make_figures`` writes them as PNGs into a folder (``out_dir``,
where the figures that keep their points, Figs. 4 and 8, also keep them).
``quick=True`` uses smaller N, shorter runs and fewer trials so that a newcomer sees
every figure in under a minute.
"""
import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..initial import draw_network
from ..io import check_writable
from ..plateaus import plateau
from ..plotting import figure_and_axes, figure_and_panels, save_figure
from . import deep_figures
from .compare import simulate_and_integrate
from .parallel import map_parallel
from .plearn import plearn

FIGURES = ("fig2", "fig3a", "fig3b", "fig4", *deep_figures.FIGURES)  # fig5..fig9: deep networks
COLORS = {"erf": "tab:blue", "relu": "tab:orange"}


@dataclass(frozen=True)
class Setting:
    """Parameters shared by the figures (THEORY.md §7)."""

    N: int = 500
    M: int = 2
    eta: float = 0.1
    sigma0: float = 1e-2
    t_max: float = 1e4
    runs: int = 3
    trials: int = 50

    @classmethod
    def paper(cls, quick=False):
        return cls(N=200, t_max=2e3, runs=2, trials=8) if quick else cls()


def run_pair(job):
    """(simulation, ODE) for job = dict(activation, rule, K, seed, setting, F=None)."""
    s = job["setting"]
    net = draw_network(job["K"], s.M, s.N, s.sigma0, job["seed"])
    if job.get("F") is not None:
        net = type(net)(B=net.B, A=net.A, W=net.W, v=net.v, F=np.asarray(job["F"], float))
    return simulate_and_integrate(net, job["seed"], s.t_max, activation=job["activation"], rule=job["rule"],
                                  eta=s.eta)


def _plot_pair(ax, sim, ode, color, label=None, ode_label=None):
    t = sim.t[1:]
    ax.loglog(t, np.maximum(sim.eg[1:], 1e-12), color=color, lw=1.2, alpha=0.8, label=label)
    n = min(len(ode.t), len(sim.t))
    ax.loglog(ode.t[1:n], np.maximum(ode.eg[1:n], 1e-12), color="k", lw=0.9, ls="--", label=ode_label)


EG_RANGE = (1e-6, 1.0)  # ε_g axes: the plateaus, the escapes and the second plateau of Fig. 4; below, only the fall


def _axes_eg(ax, title):
    ax.set_xlabel("time α (steps / N)")
    ax.set_ylabel("ε_g = ½E[(ŷ−y)²]")
    ax.set_title(title, fontsize=10)
    ax.set_ylim(*EG_RANGE)


def fig2(out_dir=None, quick=False, axes=None):
    """BP with K = M (a), DFA with K = M (b), DFA with K = 4M (c); erf and ReLU, several runs each.
    axes: optional 3 axes to draw on. Returns the figure."""
    s = Setting.paper(quick)
    panels = [("a", "bp", s.M, "BP, K = M"), ("b", "dfa", s.M, "DFA, K = M"), ("c", "dfa", 4 * s.M, "DFA, K = 4M")]
    jobs = [dict(activation=act, rule=rule, K=K, seed=seed, setting=s)
            for _, rule, K, _ in panels for act in ("erf", "relu") for seed in range(s.runs)]
    results = iter(map_parallel(run_pair, jobs, desc="fig2"))
    fig, axes = figure_and_panels(axes, 3, figsize=(14, 4.2))
    for ax, (letter, rule, K, title) in zip(axes, panels):
        for act in ("erf", "relu"):
            for seed in range(s.runs):
                sim, ode = next(results)
                _plot_pair(ax, sim, ode, COLORS[act], label=f"{act} simulation" if seed == 0 else None,
                           ode_label="ODE" if (act == "erf" and seed == 0) else None)
        _axes_eg(ax, f"({letter}) {title}, M = {s.M}, N = {s.N}, η = {s.eta:g}")
        ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def fig3a(out_dir=None, quick=False, ax=None):
    """One BP and one DFA simulation (erf, K = M = 2) with their ODE curves on top. Returns the figure."""
    s = Setting.paper(quick)
    jobs = [dict(activation="erf", rule=rule, K=s.M, seed=0, setting=s) for rule in ("bp", "dfa")]
    fig, ax = figure_and_axes(ax, figsize=(6, 4.2))
    for (sim, ode), rule, color in zip(map_parallel(run_pair, jobs, desc="fig3a"), ("bp", "dfa"),
                                       ("tab:orange", "tab:blue")):
        ax.loglog(sim.t[1:], np.maximum(sim.eg[1:], 1e-12), color=color, lw=1.5, label=f"{rule.upper()} simulation")
        ax.loglog(ode.t[1::4], np.maximum(ode.eg[1::4], 1e-12), "o", ms=3, color=color, mfc="none",
                  label=f"{rule.upper()} ODE")
    _axes_eg(ax, f"erf, K = M = {s.M}, N = {s.N}, η = {s.eta:g}: theory against one simulation")
    ax.legend(fontsize=8, loc="lower left")  # early times at small ε_g: no curve there
    fig.tight_layout()
    return fig


def fig3b(out_dir=None, quick=False, ax=None):
    """cos(v, F) against α for DFA (erf, K = M = 2), with ε_g and its plateau marked. Returns the figure."""
    s = Setting.paper(quick)
    sim, ode = run_pair(dict(activation="erf", rule="dfa", K=s.M, seed=0, setting=s))
    fig, ax = figure_and_axes(ax, figsize=(6, 4.2))
    ax.semilogx(sim.t[1:], sim.cos_vF[1:], color="tab:green", lw=1.5, label="cos(v, F), simulation")
    ax.semilogx(ode.t[1:], ode.cos_vF[1:], "k--", lw=1, label="cos(v, F), ODE")
    ax.set_xlabel("time α (steps / N)")
    ax.set_ylabel("alignment cos(v, F)")
    twin = ax.twinx()
    twin.loglog(ode.t[1:], np.maximum(ode.eg[1:], 1e-12), color="tab:blue", lw=1, alpha=0.6)
    twin.set_ylabel("ε_g (ODE, blue)", color="tab:blue")
    pl = plateau(ode.t, ode.eg)
    if pl is not None:
        height, start, escape = pl
        ax.axvline(start, color="gray", ls=":", label=f"ε_g reaches its plateau (α ≈ {start:.3g})")
        if np.isfinite(escape):
            ax.axvline(escape, color="gray", ls="-.", label=f"ε_g leaves it (α ≈ {escape:.3g})")
    ax.set_title(f"align, then memorise: DFA, erf, K = M = {s.M}, η = {s.eta:g}", fontsize=10)
    # below the cos curve once it has risen, left of ε_g's fall: the start of the rise stays visible
    ax.legend(fontsize=8, loc="lower center", framealpha=0.95)
    fig.tight_layout()
    return fig


def fig4(out_dir=None, quick=False, ax=None, plearn_result=None):
    """ReLU, K = 3, M = 2, A_m = 1, F with 0, 1, 2 positive entries; inset P(learn) against K
    (the ODE from finite-N initial conditions, 50 trials per K, α ≤ 3000; --quick: 8 trials
    per K up to K = 5). The trials are the points of `odetheory plearn --method ode`, kept in
    out_dir/fig4_plearn_trials.csv (not with quick, nor without out_dir). Returns the figure."""
    s = Setting.paper(quick)
    rng = np.random.default_rng(4)
    magnitudes = np.abs(rng.standard_normal(3)) + 0.5
    jobs = []
    for n_positive in (0, 1, 2):
        F = -magnitudes.copy()
        F[:n_positive] *= -1
        jobs.append(dict(activation="relu", rule="dfa", K=3, seed=0, setting=s, F=F))
    fig, ax = figure_and_axes(ax, figsize=(7, 4.6))
    colors = ("tab:blue", "tab:orange", "tab:green")
    for (sim, ode), n_positive, color in zip(map_parallel(run_pair, jobs, desc="fig4"), (0, 1, 2), colors):
        _plot_pair(ax, sim, ode, color, label=f"{n_positive} positive entries of F",
                   ode_label="ODE" if n_positive == 0 else None)
    _axes_eg(ax, f"ReLU DFA, K = 3, M = 2, A_m = 1, N = {s.N}, η = {s.eta:g}")
    ax.legend(fontsize=9, loc="center right")
    # the inset's trials are kept beside the figure and reused when it is drawn again
    trials_file = None if quick or out_dir is None else os.path.join(out_dir, "fig4_plearn_trials.csv")
    result = plearn_result or plearn(Ks=range(2, 9 if not quick else 6), M=2, trials=s.trials, method="ode",
                                     N=s.N, eta=s.eta, sigma0=s.sigma0, results_path=trials_file,
                                     progress=not quick)
    # lower left, where no curve goes (small ε_g at early times), its labels inside the main axes
    inset = ax.inset_axes([0.11, 0.13, 0.4, 0.45])
    result.plot_on(inset, small=True)
    fig.tight_layout()
    return fig


def figure_path(out_dir, name, quick=False):
    """out_dir/name.png, or name_quick.png for the quick versions."""
    return os.path.join(out_dir, f"{name}{'_quick' if quick else ''}.png")


def make_figures(out_dir="figures", only=None, quick=False, overwrite=False):
    """Write the requested figures (default: all) into out_dir; returns their paths.
    Every path is checked before anything runs: an existing one is an error unless overwrite."""
    names = list(FIGURES) if not only else list(only)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise InputError(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
    if not os.path.isdir(out_dir):
        raise InputError(f"folder {out_dir} does not exist")
    for name in names:
        check_writable(figure_path(out_dir, name, quick), overwrite)
    makers = {"fig2": fig2, "fig3a": fig3a, "fig3b": fig3b, "fig4": fig4, **deep_figures.FIGURES}
    return [save_figure(makers[name](out_dir, quick=quick), figure_path(out_dir, name, quick), overwrite)
            for name in names]
