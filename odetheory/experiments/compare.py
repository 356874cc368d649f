"""Theory against simulation: the ODE started from a simulation's own initial order parameters.

``compare(...)`` draws one initial condition per (N, seed), runs the finite-N SGD
simulation and the ODE from exactly that simulation's initial overlaps, on the
simulation's output times, and measures the gaps. THEORY.md §5: the gap shrinks
like N^(−1/2).
"""
from dataclasses import dataclass

import numpy as np
from simulate import simulate
from simulate import warm_up as warm_up_sim

from ..errors import InputError
from ..initial import check_sizes, draw_network, network_from_state
from ..io import atomic_write
from ..ode.integrate import integrate
from ..ode.integrate import warm_up as warm_up_ode
from ..options import defaults
from ..plotting import figure_and_panels
from .parallel import map_parallel

BLOCKS = ("Q", "R", "v")


def gaps(sim, ode, until=None):
    """Largest gaps between two trajectories on the same times, over α ≤ until (default: all).

    eg: max_t |ε_sim − ε_ode| / ε_ode (relative at each time);
    Q, R, v: max_t max_entries |X_sim − X_ode| / max_t max_entries |X_ode|
    (relative to the block's scale over the window).
    """
    sel = slice(None) if until is None else sim.t <= until
    out = {"eg": float(np.max(np.abs(sim.eg[sel] - ode.eg[sel]) / np.abs(ode.eg[sel])))}
    for name in BLOCKS:
        x, y = getattr(sim, name)[sel], getattr(ode, name)[sel]
        out[name] = float(np.max(np.abs(x - y)) / np.max(np.abs(y)))
    return out


@dataclass
class Comparison:
    """One simulation (sim) and its ODE (ode) on the same times, at input size N."""

    N: int
    seed: int
    sim: object
    ode: object

    def gaps(self, until=None):
        return gaps(self.sim, self.ode, until)


@dataclass
class CompareResult:
    runs: list
    settings: dict

    @property
    def Ns(self):
        return sorted({r.N for r in self.runs})

    def gap_table(self):
        """{N: {block: (mean, std) over seeds}}."""
        table = {}
        for N in self.Ns:
            rows = [r.gaps(self.settings.get("gap_until")) for r in self.runs if r.N == N]
            table[N] = {k: (float(np.mean([g[k] for g in rows])), float(np.std([g[k] for g in rows])))
                        for k in ("eg",) + BLOCKS}
        return table

    def exponent(self, block="eg"):
        """Fitted p in (mean gap) ∝ N^p over the N values (None for a single N)."""
        if len(self.Ns) < 2:
            return None
        table = self.gap_table()
        return float(np.polyfit(np.log(self.Ns), np.log([table[N][block][0] for N in self.Ns]), 1)[0])

    def summary(self):
        s = self.settings
        lines = [f"compare: {s['activation']} {s['rule'].upper()}  K={s['K']} M={s['M']}  eta={s['eta']:g}  "
                 f"t_max={s['t_max']:g}  seeds={','.join(map(str, s['seeds']))}"]
        failed = [r for r in self.runs if not (r.sim.success and r.ode.success)]
        for r in failed:
            bad = r.sim if not r.sim.success else r.ode
            lines.append(f"  N={r.N} seed={r.seed}: {'simulation' if bad is r.sim else 'ODE'} {bad.message}")
        until = s.get("gap_until")
        window = "the whole run" if until is None else f"α ≤ {until:g}"
        lines.append(f"  largest gap simulation vs ODE over {window} (mean ± std over seeds):")
        lines.append("      N      eg (rel.)        Q               R               v")
        for N, row in self.gap_table().items():
            cells = "  ".join(f"{row[k][0]:.2e}±{row[k][1]:.0e}" for k in ("eg",) + BLOCKS)
            lines.append(f"  {N:6d}  {cells}")
        p = self.exponent()
        if p is not None:
            lines.append(f"  gap in eg ∝ N^{p:.2f} (theory: about -0.5); "
                         + ", ".join(f"{b}: N^{self.exponent(b):.2f}" for b in BLOCKS))
        sim_time = sum(r.sim.wall_time for r in self.runs)
        ode_time = sum(r.ode.wall_time for r in self.runs)
        lines.append(f"  compute time: simulations {sim_time:.2f} s, ODEs {ode_time:.2f} s (summed over runs)"
                     + (f"; compiling or loading the kernels first {s['compile_time']:.2f} s"
                        if s.get("compile_time") else ""))
        return "\n".join(lines)

    def to_csv(self, path, overwrite=False):
        """One row per (N, seed, t): sim_* and ode_* columns of the trajectory CSV layout."""
        blocks = []
        header = None
        for r in self.runs:
            names, sim = r.sim.columns()
            _, ode = r.ode.columns()
            n = len(r.sim.t)
            blocks.append(np.column_stack((np.full(n, r.N), np.full(n, r.seed), sim[:, 0], sim[:, 1:], ode[:, 1:])))
            header = ["N", "seed", "t"] + [f"sim_{x}" for x in names[1:]] + [f"ode_{x}" for x in names[1:]]
        with atomic_write(path, overwrite) as fh:
            np.savetxt(fh, np.vstack(blocks), delimiter=",", header=",".join(header), comments="", fmt="%.10g")

    @property
    def n_panels(self):
        """Panels of ``plot``: ε_g; cos(v, F) for DFA and sign; the gap against N with several N."""
        return 1 + (self.settings["rule"] in ("dfa", "sign")) + (len(self.Ns) > 1)

    def plot(self, axes=None):
        """Figure: ε_g against α (log-log), simulations coloured by N (by seed for a single N)
        with their ODEs dashed; cos(v, F) against α for DFA and sign; with several N, the
        largest gap against N (mean ± std over seeds) with the slope N^(−1/2).
        axes: optional sequence of ``n_panels`` axes to draw on. Returns the figure."""
        from matplotlib import colormaps
        from matplotlib.lines import Line2D
        show_cos = self.settings["rule"] in ("dfa", "sign")
        Ns = self.Ns
        fig, axes = figure_and_panels(axes, self.n_panels, figsize=(5.4 * self.n_panels, 4.2))
        ax_eg = axes[0]
        ax_cos = axes[1] if show_cos else None
        if len(Ns) > 1:
            cmap = colormaps["viridis"]
            shade = {N: cmap(0.9 * i / (len(Ns) - 1)) for i, N in enumerate(Ns)}
            color = lambda r: shade[r.N]  # noqa: E731
            handles = [Line2D([], [], color=shade[N], lw=1.5, label=f"N = {N}") for N in Ns]
        else:
            cycle = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                     "tab:olive", "tab:cyan", "tab:gray"]
            seeds = sorted({r.seed for r in self.runs})
            shade = {sd: cycle[i % len(cycle)] for i, sd in enumerate(seeds)}
            color = lambda r: shade[r.seed]  # noqa: E731
            handles = [Line2D([], [], color=shade[sd], lw=1.5, label=f"simulation, seed {sd}") for sd in seeds]
        handles.append(Line2D([], [], color="k", lw=1.2, ls="--", label="ODE from the same start"))
        for r in self.runs:
            t = r.sim.t
            ax_eg.loglog(t[1:], r.sim.eg[1:], color=color(r), lw=1, alpha=0.8)
            ax_eg.loglog(t[1:], r.ode.eg[1:], color="k", lw=1, ls="--", alpha=0.7)
            if show_cos:
                ax_cos.semilogx(t[1:], r.sim.cos_vF[1:], color=color(r), lw=1, alpha=0.8)
                ax_cos.semilogx(t[1:], r.ode.cos_vF[1:], color="k", lw=1, ls="--", alpha=0.7)
        s = self.settings
        ax_eg.set_xlabel("time α (steps / N)")
        ax_eg.set_ylabel("generalisation error ε_g = ½E[(ŷ−y)²]")
        where = f", N = {Ns[0]}" if len(Ns) == 1 else f", {len(self.runs) // len(Ns)} seeds per N"
        ax_eg.set_title(f"{s['activation']} {s['rule'].upper()}, K={s['K']}, M={s['M']}, η={s['eta']:g}{where}",
                        fontsize=10)
        ax_eg.legend(handles=handles, fontsize=8, ncol=2 if len(handles) > 6 else 1)
        if show_cos:
            ax_cos.set_xlabel("time α (steps / N)")
            ax_cos.set_ylabel("alignment cos(v, F)")
            ax_cos.set_title("weight alignment (dashed: ODE)", fontsize=10)
        if len(Ns) > 1:
            self._plot_gaps(axes[-1])
        fig.tight_layout()
        return fig

    def _plot_gaps(self, ax):
        """Largest gap against N, each block, mean ± std over seeds; the slope N^(−1/2) through ε_g's points."""
        table, Ns = self.gap_table(), np.asarray(self.Ns, float)
        styles = {"eg": ("o", "k", "ε_g (relative)"), "Q": ("s", "tab:blue", "Q"), "R": ("^", "tab:orange", "R"),
                  "v": ("v", "tab:green", "v")}
        for block, (marker, c, name) in styles.items():
            mean = np.array([table[N][block][0] for N in self.Ns])
            std = np.array([table[N][block][1] for N in self.Ns])
            p = self.exponent(block)
            ax.errorbar(Ns, mean, yerr=std, fmt=marker + "-", color=c, ms=5, lw=1, capsize=3,
                        mfc="none" if block != "eg" else c, label=f"{name}: N^{p:.2f}")
        eg = np.array([table[N]["eg"][0] for N in self.Ns])
        ref = np.exp(np.mean(np.log(eg))) * (Ns / np.exp(np.mean(np.log(Ns)))) ** -0.5
        ax.loglog(Ns, ref, ":", color="0.4", lw=1.5, label="∝ N^(−1/2)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(Ns, [f"{N:g}" for N in Ns])
        ax.minorticks_off()
        ax.set_xlabel("N")
        until = self.settings.get("gap_until")
        ax.set_ylabel("largest gap simulation vs ODE")
        ax.set_title("gap against N, mean ± std over seeds" + ("" if until is None else f" (α ≤ {until:g})"),
                     fontsize=10)
        ax.legend(fontsize=8)


D = defaults("compare")


def compare(K=D["K"], M=D["M"], Ns=D["Ns"], seeds=D["seeds"], activation=D["activation"], rule=D["rule"],
            eta=D["eta"], eta_v=D["eta_v"], sigma=D["sigma"], t_max=D["t_max"], times=D["times"], sigma0=D["sigma0"],
            teacher_second_layer=D["teacher_second_layer"], feedback=D["feedback"],
            train_second_layer=D["train_second_layer"], rtol=D["rtol"], atol=D["atol"], gap_until=D["gap_until"],
            workers=D["workers"], sampler=D["sampler"], init=None, n_times=D["n_times"],
            teacher_activation=D["teacher_activation"], weight_decay=D["weight_decay"],
            weight_decay_v=D["weight_decay_v"], eta_schedule=D["eta_schedule"], eta_v_schedule=D["eta_v_schedule"]):
    """Simulate and integrate from the same initial conditions for every N in Ns and seed in seeds.

    Returns a CompareResult (runs, gap table, exponent of the gap against N, CSV and PNG writers).
    Gaps are measured over α ≤ gap_until (default: the whole run). Near the escape from a
    plateau, finite-N fluctuations are amplified and the escape time itself fluctuates,
    so the N^(−1/2) law is cleanest on a window that ends before it.
    sampler: full or reduced (see ``simulate.simulate``); n_times: output times as there. Runs go
    in parallel over the local cores.
    init: a State to start every run from instead of drawing (weights at each N with exactly its
    overlaps, ``initial.network_from_state``; K, M, sigma0, teacher_second_layer, feedback unused).
    Defaults: ``odetheory.options.defaults("compare")``. The kernels are compiled (or loaded)
    once before the runs: settings["compile_time"], apart from the runs' times.
    """
    Ns, seeds = [int(n) for n in np.atleast_1d(Ns)], [int(s) for s in np.atleast_1d(seeds)]
    if not Ns or not seeds:
        raise InputError("compare needs at least one N and one seed")
    if init is not None:
        K, M = init.K, init.M
    for N in Ns:
        check_sizes(K, M, N)
    run_kw = dict(activation=activation, rule=rule, eta=eta, eta_v=eta_v, sigma=sigma,
                  train_second_layer=train_second_layer, teacher_activation=teacher_activation,
                  weight_decay=weight_decay, weight_decay_v=weight_decay_v, eta_schedule=eta_schedule,
                  eta_v_schedule=eta_v_schedule)

    def one(job):
        N, seed = job
        if init is None:
            net = draw_network(K, M, N, sigma0, seed, teacher_second_layer, feedback)
        else:
            net = network_from_state(init, N, seed)
        sim, ode = simulate_and_integrate(net, seed, t_max, times, rtol, atol, sampler, n_times=n_times, **run_kw)
        return Comparison(N, seed, sim, ode)

    jobs = [(N, s) for N in Ns for s in seeds]
    compile_time = (warm_up_sim(activation, sampler, teacher_activation=teacher_activation)
                    + warm_up_ode(activation, "dop853", teacher_activation))
    runs = map_parallel(one, jobs, workers=workers, desc="compare")
    settings = dict(K=K, M=M, Ns=Ns, seeds=seeds, t_max=t_max, sigma0=sigma0, gap_until=gap_until, sampler=sampler,
                    compile_time=compile_time, **run_kw)
    return CompareResult(runs, settings)


def simulate_and_integrate(net, seed, t_max, times=None, rtol=D["rtol"], atol=D["atol"], sampler=D["sampler"],
                           n_times=D["n_times"], **run_kw):
    """(simulation, ODE) of network `net` on the simulation's output times, the ODE started
    from the simulation's own initial order parameters. If the ODE stops early, the
    simulation is cut to the common times. run_kw: activation, rule, eta, ... of simulate."""
    sim = simulate(net, t_max=t_max, times=times, seed=seed, sampler=sampler, n_times=n_times, **run_kw)
    ode = integrate(net.state(), t_max=sim.t[-1], times=sim.t, n_times=0, rtol=rtol, atol=atol, **run_kw)
    if len(ode.t) < len(sim.t):
        sim = sim.truncated(len(ode.t))
    return sim, ode
