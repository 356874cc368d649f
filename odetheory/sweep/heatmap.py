"""Heat map of one sweep measurement over two options.

``heat_map(rows, x, y, z, ax=None)`` draws and returns the figure; ``write_heat_map`` saves
it (``odetheory.plotting.save_figure``: atomic, never over an existing file unless asked).
Cells are centred on the grid values, which are the ticks; a log-spaced option gets a log
axis. Errors (ε_g, losses, plateau heights) are coloured on a log scale, P(learn) on [0, 1].
"""
import math

import numpy as np

from ..errors import InputError
from ..plotting import figure_and_axes, save_figure
from .measure import ALL_MEASUREMENT_INFO

LOG_COLOURS = ("eg_final", "plateau_height", "loss_final")  # errors: orders of magnitude apart
MAX_LABELS = 12  # tick labels on an axis; with more grid values every k-th is labelled


def _numeric(values):
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _sort_key(v):
    return (0, v, "") if _numeric([v]) else (1, 0, str(v))


def _is_log(values):
    """Positive values spaced more evenly in log than in linear scale."""
    if len(values) < 3 or not _numeric(values) or min(values) <= 0:
        return False
    d_log, d_lin = np.diff(np.log(values)), np.diff(np.asarray(values, float))
    return np.std(d_log) / np.mean(d_log) < np.std(d_lin) / np.mean(d_lin) - 1e-9


def _axis(values):
    """(cell edges, tick positions, tick labels, log scale?) for the grid values of one option."""
    if len(values) < 2 or not _numeric(values):
        pos = np.arange(len(values), dtype=float)
        labels = [f"{v:g}" if _numeric([v]) else str(v) for v in values]
        return np.arange(len(values) + 1) - 0.5, pos, labels, False
    x = np.asarray(values, float)
    log = _is_log(values)
    u = np.log(x) if log else x
    mid = 0.5 * (u[1:] + u[:-1])
    edges = np.concatenate(([u[0] - (mid[0] - u[0])], mid, [u[-1] + (u[-1] - mid[-1])]))
    step = math.ceil(len(x) / MAX_LABELS)
    labels = [f"{v:.3g}" if i % step == 0 else "" for i, v in enumerate(x)]
    return (np.exp(edges) if log else edges), x, labels, log


def _short(value):
    """A cell's value in about five characters: 0.012, 0.7, 3.6e-4, 230, 1.2e5."""
    if 100 <= abs(value) < 1e5:
        return f"{value:.0f}"
    text = f"{value:.2g}"
    if "e" in text or len(text) > 5:
        mantissa, exponent = f"{value:.1e}".split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def cell_means(rows, x, y, z):
    """(x values, y values, masked array (len(y), len(x)) of the mean finite z per cell, points per cell)."""
    rows = [r for r in rows if r.get("status") != "unfinished"]
    if not rows:
        raise InputError("nothing to plot: no finished points")
    xs = sorted({r[x] for r in rows}, key=_sort_key)
    ys = sorted({r[y] for r in rows}, key=_sort_key)
    total = np.zeros((len(ys), len(xs)))
    count = np.zeros((len(ys), len(xs)), int)
    ix, iy = {v: i for i, v in enumerate(xs)}, {v: i for i, v in enumerate(ys)}
    for r in rows:
        v = r.get(z)
        if v is None or isinstance(v, str):
            continue
        v = float(v)
        if math.isfinite(v):
            total[iy[r[y]], ix[r[x]]] += v
            count[iy[r[y]], ix[r[x]]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        Z = np.ma.masked_invalid(total / count)
    return xs, ys, Z, max(1, round(len(rows) / (len(xs) * len(ys))))


def colour_scale(z, Z):
    """Norm of the colour bar: log for errors with positive values, [0, 1] for P(learn), linear otherwise."""
    from matplotlib.colors import LogNorm, Normalize
    good = Z.compressed()
    if z == "learned":
        return Normalize(0.0, 1.0)
    if z in LOG_COLOURS and len(good) and good.min() > 0:
        low, high = good.min(), good.max()
        if high <= low * 1.0001:
            low, high = low / 2, high * 2
        return LogNorm(low, high)
    return None


def heat_map(rows, x, y, z, ax=None, title=None, labels=None):
    """Heat map of measurement z over options x and y; returns the figure.

    rows: result rows (dicts). Several rows in one (x, y) cell (other options varied, e.g.
    seeds) are averaged over those with a finite z; for z = learned that mean is P(learn).
    Cells with no finite z (diverged or failed runs, no plateau, ...) are grey; with at most
    100 cells each shows its value. labels: {option: axis label}. ax: optional axis."""
    labels = labels or {}
    xs, ys, Z, per_cell = cell_means(rows, x, y, z)
    fig, ax = figure_and_axes(ax, figsize=(6.4, 4.8))
    ax.set_facecolor("0.85")
    xe, xt, xl, xlog = _axis(xs)
    ye, yt, yl, ylog = _axis(ys)
    norm = colour_scale(z, Z)
    mesh = ax.pcolormesh(xe, ye, Z, cmap="viridis", norm=norm, shading="flat")
    if xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    ax.set_xticks(xt, xl)
    ax.set_yticks(yt, yl)
    ax.minorticks_off()
    if Z.size <= 100 and Z.count():
        mask = np.ma.getmaskarray(Z)
        for i, yv in enumerate(yt):
            for j, xv in enumerate(xt):
                if not mask[i, j]:
                    dark = mesh.norm(Z[i, j]) < 0.5
                    ax.text(xv, yv, _short(Z[i, j]), ha="center", va="center", fontsize=7,
                            color="w" if dark else "k")
    ax.set_xlabel(labels.get(x, x))
    ax.set_ylabel(labels.get(y, y))
    what = "P(learn) = fraction with ε_g < threshold" if z == "learned" else \
        ALL_MEASUREMENT_INFO.get(z, (None, labels.get(z, z)))[1]
    if per_cell > 1 and z != "learned":
        what = f"mean {what}"
    bar = fig.colorbar(mesh, ax=ax)
    bar.set_label(what + (f" ({per_cell} points per cell)" if per_cell > 1 else ""))
    if title is None:
        title = f"{z} over {x} and {y}"
    if np.any(Z.mask):
        title += " (grey: no finite value)"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def write_heat_map(rows, x, y, z, path, overwrite=False, title=None, labels=None):
    """Draw ``heat_map`` and save it to path (an existing path only with overwrite); returns path."""
    return save_figure(heat_map(rows, x, y, z, title=title, labels=labels), path, overwrite, dpi=120)
