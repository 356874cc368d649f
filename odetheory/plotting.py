"""The output layer for figures: new figures without pyplot, and the one function that saves them.

Every plotting function of the package takes an optional matplotlib axis (``ax``, or
``axes`` for several panels) and returns the figure it drew on. Without one it draws on
a new ``matplotlib.figure.Figure`` that is not registered with pyplot: nothing here picks
a backend or opens a window, a notebook shows the returned figure, and a script that
wants a window passes axes from ``plt.subplots()``. ``save_figure`` writes a figure to a
file the way every other output of the package is written (``odetheory.io``): atomically
through a temporary file, never over an existing file unless asked.
"""
import os

import numpy as np

from .io import atomic_write

DPI = 110


def new_figure(nrows=1, ncols=1, figsize=(6.0, 4.2), **subplots_kw):
    """(figure, axes): a new Figure (no pyplot) and its subplots, as ``Figure.subplots`` returns them."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **subplots_kw)


def figure_and_axes(ax=None, figsize=(6.0, 4.2)):
    """(figure, ax): the given ax and its figure, or a new Figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    return new_figure(figsize=figsize)


def figure_and_panels(axes, n, figsize):
    """(figure, list of n axes): the given axes (a sequence of n) and their figure, or a new
    Figure with n panels side by side."""
    if axes is None:
        fig, axes = new_figure(1, n, figsize=figsize, squeeze=False)
        return fig, list(axes[0])
    axes = list(np.ravel(axes))
    if len(axes) != n:
        raise ValueError(f"this plot draws {n} panel(s); got {len(axes)} axes")
    return axes[0].figure, axes


def cycle_colors():
    """The colours of matplotlib's property cycle (the user's rcParams)."""
    import matplotlib
    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def save_figure(fig, path, overwrite=False, dpi=DPI):
    """Write fig to path (format from the extension, PNG by default) through a temporary
    file renamed onto path; an existing path is an InputError unless overwrite. Returns path."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    with atomic_write(path, overwrite, mode="wb") as fh:
        fig.savefig(fh, format=fmt, dpi=dpi)
    return path
