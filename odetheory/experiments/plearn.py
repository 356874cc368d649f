"""P(learn): how often a ReLU student learns its teacher under DFA (THEORY.md §6, paper Fig. 4).

Trials are independent (teacher, student and feedback F ~ N(0,1) drawn from the
trial's seed, ``trial_seed``); each is one point of a sweep run by ``engine.run_points``, so plearn
resumes and scales exactly like ``odetheory sweep``. A trial counts as learned
when its final ε_g is below ``threshold``.
"""
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, check_integer, check_number
from ..initial import draw_network
from ..io import atomic_write
from ..options import defaults
from ..plotting import figure_and_axes, figure_and_panels
from ..sweep.engine import run_points
from .plearn_formulas import p_learn_as_printed, p_learn_sign_count, wilson_interval

METHODS = ("sim", "ode")
D = defaults("plearn")
DEFAULT_THRESHOLD, DEFAULT_T_MAX = D["threshold"], D["t_max"]


# LSODA because most of a trial is spent next to a fixed point (plateau or learned),
# where DOP853's steps are limited by stability (at K = 8 LSODA needs 3-5x fewer
# evaluations). The tolerances are ample for classifying ε_g against a threshold of
# order 1e-3: over the 350 default trials the final ε_g moves by < 5e-6 (absolute)
# against rtol = 1e-6, atol = 1e-8, and no trial changes class.
ODE_INTEGRATOR, ODE_RTOL, ODE_ATOL = "lsoda", 1e-5, 1e-7


def trial_seed(seed, K, trial):
    """The seed of trial `trial` at student size K: its own stream for every (seed, K, trial), so
    that trials at different K never share their draws (with seed = trial, the feedback F of
    a K + 1 trial would extend that of the K trial by one entry). A 32-bit integer."""
    return int(np.random.SeedSequence([int(seed), int(K), int(trial)]).generate_state(1)[0])


def trial_points(Ks, M, trials, methods, N, eta, sigma0, t_max, threshold, sampler="reduced", seed=0):
    """One sweep point (dict) per method, K and trial, with the seed ``trial_seed(seed, K, trial)``
    (the same for both methods, so the simulation and the ODE of a trial start alike)."""
    points = []
    for method in methods:
        for K in Ks:
            for trial in range(trials):
                p = dict(method=method, activation="relu", rule="dfa", K=int(K), M=int(M), N=int(N),
                         seed=trial_seed(seed, K, trial), eta=float(eta), sigma0=float(sigma0), t_max=float(t_max),
                         teacher_second_layer="ones", feedback="gaussian", threshold=float(threshold))
                if method == "sim":
                    p.update(sampler=sampler)
                if method == "ode":
                    p.update(integrator=ODE_INTEGRATOR, rtol=ODE_RTOL, atol=ODE_ATOL)
                points.append(p)
    return points


@dataclass
class PlearnResult:
    rows: list
    M: int
    threshold: float

    def table(self):
        """One dict per (method, K): trials, learned, fraction, Wilson interval, both formulas,
        and the cross-table learned[n_positive] / trials[n_positive] by number of positive F_k."""
        out = []
        keys = sorted({(r["method"], r["K"]) for r in self.rows})
        for method, K in keys:
            rows = [r for r in self.rows if r["method"] == method and r["K"] == K and r["status"] == "ok"]
            n, k = len(rows), sum(bool(r["learned"]) for r in rows)
            lo, hi = wilson_interval(k, n)
            cross = {}
            for j in range(K + 1):
                sel = [r for r in rows if r["n_positive_F"] == j]
                if sel:
                    cross[j] = (sum(bool(r["learned"]) for r in sel), len(sel))
            failed = sum(1 for r in self.rows if r["method"] == method and r["K"] == K and r["status"] != "ok")
            out.append(dict(method=method, K=K, trials=n, learned=k, fraction=k / n if n else np.nan,
                            wilson_low=lo, wilson_high=hi, sign_count_formula=p_learn_sign_count(K, self.M),
                            paper_formula=p_learn_as_printed(K, self.M), failed=failed, cross=cross))
        return out

    def exceptions(self):
        """Trials whose outcome contradicts the sign-count rule (learned iff ≥ M positive F_k)."""
        return [r for r in self.rows if r["status"] == "ok" and bool(r["learned"]) != (r["n_positive_F"] >= self.M)]

    def summary(self):
        lines = [f"P(learn), ReLU DFA, M = {self.M}, A_m = 1, learned when final ε_g < {self.threshold:g}",
                 " method   K  trials  learned  fraction  95% Wilson       2^-K Σ_{j=M..K}  paper (Σ_{j=0..M})"]
        for row in self.table():
            lines.append(f" {row['method']:6s} {row['K']:3d} {row['trials']:6d} {row['learned']:8d}  "
                         f"{row['fraction']:8.3f}  [{row['wilson_low']:.3f}, {row['wilson_high']:.3f}]"
                         f"  {row['sign_count_formula']:14.3f}  {row['paper_formula']:18.3f}"
                         + (f"  ({row['failed']} failed)" if row["failed"] else ""))
        lines.append(" learned / trials by number of positive entries of F:")
        for row in self.table():
            cells = "  ".join(f"{j}+: {k}/{n}" for j, (k, n) in row["cross"].items())
            lines.append(f" {row['method']:6s} K={row['K']}: {cells}")
        exc = self.exceptions()
        agree = 1 - len(exc) / max(1, sum(r["status"] == "ok" for r in self.rows))
        lines.append(f" trials following the sign-count rule (learned iff >= M positive F_k): {100 * agree:.1f} %")
        for r in exc:
            F = ", ".join(f"{x:+.3f}" for x in self.feedback(r))
            lines.append(f"   exception: {r['method']} K={r['K']} seed={r['seed']} F=[{F}] final eg={r['eg_final']:.3g} "
                         f"({'learned' if r['learned'] else 'not learned'})")
        return "\n".join(lines)

    @staticmethod
    def feedback(row):
        """The feedback vector F (K,) of a trial, redrawn from its seed."""
        return draw_network(row["K"], row["M"], row["N"], row["sigma0"], row["seed"]).F

    def to_csv(self, path, overwrite=False):
        cols = ["method", "K", "trials", "learned", "fraction", "wilson_low", "wilson_high",
                "sign_count_formula", "paper_formula", "failed"]
        with atomic_write(path, overwrite) as fh:
            fh.write(",".join(cols + ["cross_learned_over_trials_by_n_positive"]) + "\n")
            for row in self.table():
                cross = " ".join(f"{j}:{k}/{n}" for j, (k, n) in row["cross"].items())
                fh.write(",".join(str(row[c]) for c in cols) + f",{cross}\n")

    def plot_on(self, ax=None, small=False):
        """Measured fractions with Wilson error bars against both formulas, on one axis (a new
        figure without one); small: the sizes of an inset. Returns the figure."""
        fig, ax = figure_and_axes(ax)
        table = self.table()
        Ks = np.arange(min(r["K"] for r in table), max(r["K"] for r in table) + 1)
        ax.plot(Ks, [p_learn_sign_count(K, self.M) for K in Ks], "k-", label="2^-K Σ_{j≥M} C(K,j)")
        ax.plot(Ks, [p_learn_as_printed(K, self.M) for K in Ks], "k:", label="as printed (Σ_{j≤M})")
        for method, marker in (("sim", "x"), ("ode", "o")):
            rows = [r for r in table if r["method"] == method]
            if rows:
                f = np.array([r["fraction"] for r in rows])
                err = np.array([[r["fraction"] - r["wilson_low"], r["wilson_high"] - r["fraction"]] for r in rows]).T
                ax.errorbar([r["K"] for r in rows], f, yerr=err, fmt=marker, capsize=3, mfc="none",
                            label=f"measured ({'simulation' if method == 'sim' else 'ODE'})")
        ax.set_xlabel("K", fontsize=9 if small else 10, labelpad=1 if small else None)
        ax.set_ylabel("P(learn)", fontsize=9 if small else 10, labelpad=1 if small else None)
        ax.set_xticks(Ks)
        ax.tick_params(labelsize=8 if small else 9, pad=1.5 if small else 3.5)
        if small:  # an inset: the legend above the data, where it hides no curve
            ax.set_ylim(-0.05, 1.6)
            ax.set_yticks([0, 0.5, 1])
            ax.legend(fontsize=7.5, loc="upper left", ncol=1, borderpad=0.3, labelspacing=0.25, handlelength=1.8,
                      frameon=False)
        else:
            ax.set_ylim(-0.05, 1.05)
            ax.legend(fontsize=8, loc="lower right")
        return fig

    def plot(self, axes=None):
        """Figure: P(learn) against K, and the distribution of final ε_g split by the threshold.
        axes: optional 2 axes to draw on. Returns the figure."""
        fig, (a, b) = figure_and_panels(axes, 2, figsize=(11, 4.2))
        self.plot_on(a)
        a.set_title(f"ReLU DFA, M = {self.M}, A_m = 1: probability to learn")
        eg = np.array([r["eg_final"] for r in self.rows if r["status"] == "ok"])
        b.hist(np.log10(np.maximum(eg, 1e-16)), bins=40, color="gray")
        b.axvline(np.log10(self.threshold), color="r", ls="--", label=f"threshold {self.threshold:g}")
        b.set_xlabel("log10 final ε_g")
        b.set_ylabel("trials")
        b.set_title("final ε_g of all trials")
        b.legend(fontsize=8)
        fig.tight_layout()
        return fig


def plearn(Ks=D["Ks"], M=D["M"], trials=D["trials"], method=D["method"], N=D["N"], eta=D["eta"],
           sigma0=D["sigma0"], t_max=D["t_max"], threshold=D["threshold"], results_path=None, scheduler=None,
           workers=D["workers"], progress=True, sampler=D["sampler"], seed=D["seed"]):
    """Run the P(learn) trials (method sim, ode or both) and return a PlearnResult.

    Ks: student sizes (each >= M); trials per K; N, eta, sigma0, t_max as for simulate;
    results_path: CSV of finished trials, kept and reused when the command runs again.
    sampler: reduced (default; the same SGD chain at a cost independent of N) or full
    (N-dimensional weights and inputs), see ``simulate.simulate``. seed: the base seed; trial
    i at size K runs with ``trial_seed(seed, K, i)``. Defaults: ``odetheory.options.defaults("plearn")``.
    """
    Ks = [check_integer("K", K, lowest=1) for K in Ks]
    M = check_integer("M", M, lowest=1)
    if not Ks:
        raise InputError("plearn needs at least one K")
    if min(Ks) < M:
        raise InputError(f"Ks: every K must be >= M = {M}, got K = {min(Ks)}", option="Ks")
    check_integer("trials", trials, lowest=1)
    check_number("threshold", threshold)
    methods = list(METHODS) if method == "both" else [method]
    if any(m not in METHODS for m in methods):
        raise InputError(f"unknown method {method!r}; choose sim, ode or both", option="method")
    check_integer("seed", seed, lowest=0)
    points = trial_points(Ks, M, trials, methods, N, eta, sigma0, t_max, threshold, sampler, seed)
    rows = run_points(points, results_path=results_path, scheduler=scheduler, workers=workers, progress=progress)
    return PlearnResult(rows=rows, M=M, threshold=threshold)
