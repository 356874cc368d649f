"""Deep networks: train one network and observe its weight and gradient alignment (THEORY.md §12).

``run_deep(**options)`` builds the data set, draws the network and its feedback from
independent streams, trains it (``simulate.deep``) and returns a ``DeepResult`` with the
observables at the recorded epochs: loss, accuracy, global WA and GA (paper Eq. 18),
layerwise WA_l (l = 2..L) and GA_l (l = 1..L−1, Eq. 19). The options, their defaults
and units are in ``OPTIONS`` (the ``odetheory deep`` flags and the sweep options of
``method = "deep"`` are made from it). ``dataset`` may also be a
``simulate.deep_data.Dataset`` built from any arrays.

Plots (``plot_training``, ``plot_alignment``, ``plot_layerwise``) draw on a given
matplotlib ``ax`` or on a new ``matplotlib.figure.Figure`` and return the figure.
"""
from dataclasses import dataclass, field

import numpy as np

from simulate import deep as trainer
from simulate import deep_data
from simulate.deep_alignment import stacked_cosine

from ..errors import InputError
from ..io import atomic_write
from ..plotting import figure_and_axes
from .deep_options import GAUSSIAN_ONLY, OPTIONS, SEEDS, check_option

__all__ = ["GAUSSIAN_ONLY", "OPTIONS", "SEEDS", "DeepResult", "check_option", "normalise", "record_epochs",
           "build_dataset", "run_deep", "weight_cosine", "figure_and_axes", "plot_training", "plot_alignment",
           "plot_layerwise"]


def normalise(options, label=None):
    """Complete, checked copy of `options` (dict): defaults filled in for None or missing;
    the gaussian-only options (alpha, beta, input_dim) None for other data sets.
    label(name) gives the name used in error messages (e.g. the CLI flag)."""
    if not isinstance(options, dict):
        raise InputError(f"options must be a dict, got {type(options).__name__}")
    for name in options:
        if name not in OPTIONS:
            raise InputError(f"unknown option {name!r}; known: {', '.join(OPTIONS)}")
    lab = label or (lambda name: name)
    out = {}
    for name, opt in OPTIONS.items():
        x = options.get(name)
        if name == "dataset" and isinstance(x, deep_data.Dataset):
            out[name] = x
            continue
        out[name] = opt.default if x is None else check_option(name, x, lab(name))
    gaussian = isinstance(out["dataset"], str) and out["dataset"] == "gaussian"
    if gaussian:
        defaults = dict(alpha=1.0, beta=1.0, input_dim=10, n_examples=1000)
        out.update({k: v for k, v in defaults.items() if out[k] is None})
    else:
        out.update(dict.fromkeys(GAUSSIAN_ONLY))
    return out


def record_epochs(epochs, n_out):
    """Recorded epochs: 0, n_out log-spaced integers in [1, epochs] (duplicates merged), epochs."""
    inner = np.rint(np.geomspace(1, epochs, n_out)).astype(int) if n_out else np.array([], int)
    return sorted({0, epochs, *inner.tolist()})


def build_dataset(opts, rng):
    """The Dataset of normalised options: built in, read from FILE.npz, or given; then cut to
    n_examples and label-corrupted with the data-set stream rng."""
    name = opts["dataset"]
    if isinstance(name, deep_data.Dataset):
        data = name
    elif name == "gaussian":
        data = deep_data.gaussian_targets(opts["alpha"], opts["beta"], rng, opts["n_examples"], opts["input_dim"])
    else:
        data = deep_data.digits() if name == "digits" else deep_data.load_npz(name)
    n = opts["n_examples"]
    if n is not None and n < data.n:
        labels = None if data.labels is None else data.labels[:n]
        data = deep_data.Dataset(data.X[:n], data.Y[:n], labels, data.task, data.name)
    return deep_data.corrupt(data, opts["corrupt"], rng)


@dataclass
class DeepResult:
    """Observables of one run at the recorded epochs (see ``simulate.deep.DeepRun``), with the
    normalised options, the widths (n_0, ..., n_L), the data set's description and the
    network after training."""

    options: dict
    widths: tuple
    data_name: str
    task: str
    run: trainer.DeepRun
    network: trainer.DeepNetwork = field(repr=False, default=None)

    epochs = property(lambda self: self.run.epochs, doc="recorded epochs (n_rec,)")
    loss = property(lambda self: self.run.loss, doc="training loss (n_rec,)")
    accuracy = property(lambda self: self.run.accuracy, doc="training accuracy (n_rec,), NaN for regression")
    wa = property(lambda self: self.run.wa, doc="global weight alignment WA (n_rec,)")
    ga = property(lambda self: self.run.ga, doc="global gradient alignment GA (n_rec,)")
    wa_layers = property(lambda self: self.run.wa_layers, doc="WA_l (n_rec, L−1), l = 2..L")
    ga_layers = property(lambda self: self.run.ga_layers, doc="GA_l (n_rec, L−1), l = 1..L−1")
    weights = property(lambda self: self.run.weights, doc="[W_1..W_L] per recorded epoch (keep_weights)")

    @property
    def L(self):
        return len(self.widths) - 1

    def columns(self):
        """(header names, table (n_rec, columns)): epoch, loss, accuracy, WA, GA, WA_2..WA_L, GA_1..GA_{L−1}."""
        L = self.L
        names = ["epoch", "loss", "accuracy", "WA", "GA"]
        names += [f"WA_{l}" for l in range(2, L + 1)] + [f"GA_{l}" for l in range(1, L)]
        r = self.run
        table = np.column_stack((r.epochs, r.loss, r.accuracy, r.wa, r.ga, r.wa_layers, r.ga_layers))
        return names, table

    def to_csv(self, path, overwrite=False):
        """Write the per-epoch observables as CSV (header row; NaN where undefined), atomically."""
        names, table = self.columns()
        with atomic_write(path, overwrite) as fh:
            np.savetxt(fh, table, delimiter=",", header=",".join(names), comments="", fmt="%.10g")

    def label(self):
        o = self.options
        return (f"{o['rule'].upper()} {o['activation']}  widths {'-'.join(map(str, self.widths))}  "
                f"eta={o['eta']:g} batch={o['batch']} epochs={o['epochs']}  seed={o['seed']}")

    def summary(self):
        r = self.run
        lines = [f"deep {self.label()}", f"  data: {self.data_name}, {self.task}"]
        if len(r.epochs):
            acc = f", accuracy {r.accuracy[-1]:.4f}" if self.task == "classification" else ""
            lines.append(f"  epoch {r.epochs[-1]}: loss {r.loss[-1]:.6g}{acc}")
            lines.append(f"  WA = {r.wa[-1]:.4f}  (layers 2..L: {_fmt(r.wa_layers[-1])})")
            lines.append(f"  GA = {r.ga[-1]:.4f}  (layers 1..L-1: {_fmt(r.ga_layers[-1])})")
            if r.wa.size > 1 and np.any(np.isfinite(r.wa)):
                k = int(np.nanargmax(r.wa))
                lines.append(f"  largest WA {r.wa[k]:.4f} at epoch {r.epochs[k]}")
        if not r.success:
            lines.append(f"  stopped: {r.message}")
        done = int(r.epochs[-1]) if len(r.epochs) else 0
        per_epoch = f" ({1e3 * r.train_time / done:.3g} ms per epoch of training)" if done else ""
        lines.append(f"  run time {r.wall_time:.3g} s{per_epoch}")
        return "\n".join(lines)


def _fmt(values):
    return " ".join(f"{v:.3f}" for v in values)


def run_deep(keep_weights=False, **options):
    """Train one network (options: ``OPTIONS``, None for a default) and return a DeepResult.

    keep_weights: also keep W_1..W_L at every recorded epoch (``result.weights``), e.g. for
    ``weight_cosine``."""
    opts = normalise(options)
    rngs = trainer.streams(opts["seed"], **{k: opts[k] for k in SEEDS})
    data = build_dataset(opts, rngs["data"])
    widths = (data.n_in, *([opts["width"]] * (opts["layers"] - 1)), data.n_out)
    loss = "cross_entropy" if data.task == "classification" else "squared"
    net = trainer.draw_network(widths, opts["activation"], opts["rule"], loss, rngs["weights"], rngs["feedback"],
                               opts["init_scale"], opts["feedback_scale"])
    run = trainer.train(net, data, opts["eta"], opts["batch"], opts["epochs"], rngs["order"],
                        record_epochs(opts["epochs"], opts["n_out"]), keep_weights=keep_weights)
    return DeepResult(options=opts, widths=widths, data_name=data.name, task=data.task, run=run, network=net)


def weight_cosine(a, b):
    """Cosine similarity of the stacked weights of two results (kept with keep_weights=True)
    at their common recorded epochs: (epochs, cosines)."""
    if not a.weights or not b.weights:
        raise InputError("weight_cosine needs results run with keep_weights=True")
    common = [e for e in a.epochs if e in set(b.epochs.tolist())]
    ia = {e: i for i, e in enumerate(a.epochs.tolist())}
    ib = {e: i for i, e in enumerate(b.epochs.tolist())}
    cos = [stacked_cosine(a.weights[ia[e]], b.weights[ib[e]]) for e in common]
    return np.array(common, dtype=np.int64), np.array(cos)


# --------------------------------------------------------------------------- plots

def _epochs_axis(ax, epochs):
    if len(epochs) > 2 and epochs[-1] > 10:
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(0, epochs[-1])
    ax.set_xlabel("epoch")


def plot_training(results, ax=None, what="accuracy", labels=None):
    """Training accuracy (or loss, what="loss") against epoch, one line per result."""
    fig, ax = figure_and_axes(ax)
    results = list(results) if isinstance(results, (list, tuple)) else [results]
    for i, r in enumerate(results):
        y = r.accuracy if what == "accuracy" else r.loss
        ax.plot(r.epochs, y, label=labels[i] if labels else r.label())
    _epochs_axis(ax, results[0].epochs)
    if what == "loss":
        ax.set_yscale("log")
    ax.set_ylabel("training accuracy" if what == "accuracy" else "training loss")
    ax.legend(fontsize=7)
    return fig


def plot_alignment(results, ax=None, labels=None):
    """Global WA (solid) and GA (dashed) against epoch, one colour per result."""
    fig, ax = figure_and_axes(ax)
    results = list(results) if isinstance(results, (list, tuple)) else [results]
    for i, r in enumerate(results):
        line, = ax.plot(r.epochs, r.wa, label=f"WA {labels[i] if labels else r.label()}")
        ax.plot(r.epochs, r.ga, ls="--", color=line.get_color(), label="GA")
    _epochs_axis(ax, results[0].epochs)
    ax.set_ylabel("alignment")
    ax.legend(fontsize=7)
    return fig


def plot_layerwise(result, ax=None):
    """Layerwise WA_l (l = 2..L, solid) and GA_l (l = 1..L−1, dashed) against epoch."""
    fig, ax = figure_and_axes(ax)
    r = result
    for j in range(r.wa_layers.shape[1]):
        line, = ax.plot(r.epochs, r.wa_layers[:, j], label=f"WA_{j + 2}")
        ax.plot(r.epochs, r.ga_layers[:, j], ls="--", color=line.get_color(), label=f"GA_{j + 1}")
    _epochs_axis(ax, r.epochs)
    ax.set_ylabel("layerwise alignment")
    ax.legend(fontsize=7, ncol=2)
    return fig
