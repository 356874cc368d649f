"""Degeneracy breaking (THEORY.md §6): which of the equivalent global minima DFA ends in.

For an odd activation (erf) the sign flips (w_k, v_k) → (−w_k, −v_k) of any subset of
hidden units leave the network function unchanged, so a learned student has 2^K
images with the same ε_g. Their alignments are v·F with some v_k F_k negated; the
largest is Σ_k |v_k F_k|, reached when every v_k F_k > 0. DFA ends in that image; BP,
whose gradient does not see F, ends in any.
"""
import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import InputError, check_integer
from ..initial import draw_network
from ..io import atomic_write
from ..ode.integrate import integrate
from ..options import defaults
from .parallel import map_parallel

D = defaults("degeneracy")


def flip_images(v, F):
    """v·F of every sign-flip image of v, (2^K,); entry 0 is the unflipped v itself."""
    K = len(v)
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=K)))
    return signs @ (v * F)


@dataclass
class Outcome:
    seed: int
    rule: str
    eg_final: float
    v: np.ndarray
    F: np.ndarray

    @property
    def images(self):
        return flip_images(self.v, self.F)

    @property
    def rank(self):
        """Rank of the learned solution's v·F among its images (1 = largest)."""
        vals = self.images
        return int(np.sum(vals > vals[0] + 1e-12 * np.max(np.abs(vals)))) + 1

    @property
    def at_largest(self):
        return self.rank == 1


def _run(job):
    rule, seed, K, N, eta, t_max = job
    net = draw_network(K, K, N, D["sigma0"], seed)
    traj = integrate(net.state(), "erf", rule, eta=eta, t_max=t_max, n_times=20)
    return Outcome(seed, rule, float(traj.eg[-1]), traj.v[-1], net.F)


class DegeneracyResult(NamedTuple):
    """outcomes: {"dfa": [Outcome], "bp": [Outcome]}, one per seed; converged: the ε_g threshold
    below which a run counts as converged (unpacks as ``outcomes, converged``)."""

    outcomes: dict
    converged: float


def degeneracy(K=D["K"], seeds=D["seeds"], N=D["N"], eta=D["eta"], t_max=D["t_max"], converged=D["converged"],
               workers=D["workers"]):
    """erf, K = M: final v·F of each seed's learned solution against its sign-flip images, DFA and BP.

    Returns a DegeneracyResult (outcomes {rule: [Outcome]}, converged); runs whose final ε_g
    is not below `converged` are kept but marked as not converged in the report.
    Defaults: ``odetheory.options.defaults("degeneracy")``.
    """
    K = check_integer("K", K, lowest=1)
    seeds = list(seeds)
    if not seeds:
        raise InputError("degeneracy needs at least one seed", option="seeds")
    jobs = [(rule, s, K, N, eta, t_max) for rule in ("dfa", "bp") for s in seeds]
    outcomes = map_parallel(_run, jobs, workers=workers, desc="degeneracy")
    return DegeneracyResult({rule: [o for o in outcomes if o.rule == rule] for rule in ("dfa", "bp")}, converged)


def report(result):
    """Text of a DegeneracyResult: per seed the images' v·F and the learned one's rank; the
    fraction at the largest."""
    outcomes, converged = result
    lines = []
    for rule in ("dfa", "bp"):
        runs = outcomes[rule]
        ok = [o for o in runs if o.eg_final < converged]
        lines.append(f"{rule.upper()}: learned solution against its sign-flip images (erf, K = M = {len(runs[0].v)})")
        for o in runs:
            imgs = ", ".join(f"{x:+.3f}" for x in sorted(o.images, reverse=True))
            flag = "" if o.eg_final < converged else f"  (not converged: ε_g = {o.eg_final:.2g})"
            lines.append(f"  seed {o.seed:3d}: v·F = {o.images[0]:+.3f}, rank {o.rank} of {len(o.images)}"
                         f"  [images: {imgs}]{flag}")
        frac = np.mean([o.at_largest for o in ok]) if ok else float("nan")
        lines.append(f"  {rule.upper()} ended in the image with the largest v·F in {sum(o.at_largest for o in ok)}"
                     f" of {len(ok)} converged runs ({100 * frac:.0f} %); chance level 1/2^K = "
                     f"{100 / 2 ** len(runs[0].v):.0f} %")
    return "\n".join(lines)


def to_csv(result, path, overwrite=False):
    """One row per rule and seed: rule, seed, eg_final, converged, vF (the learned solution's
    v·F), vF_max (largest over its sign-flip images), rank, images (2^K)."""
    outcomes, converged = result
    with atomic_write(path, overwrite) as fh:
        fh.write("rule,seed,eg_final,converged,vF,vF_max,rank,images\n")
        for rule in ("dfa", "bp"):
            for o in outcomes[rule]:
                fh.write(f"{rule},{o.seed},{o.eg_final:.10g},{o.eg_final < converged},{o.images[0]:.10g},"
                         f"{np.max(o.images):.10g},{o.rank},{len(o.images)}\n")
