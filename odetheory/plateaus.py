"""Plateau of ε_g(α): where it is, how high, when the dynamics leave it.

Definition (used by the summaries and sweeps):
* the local slope s = d ln ε_g / d ln α at each output time, the least-squares slope of
  ln ε_g against ln α over the output times within a window of width SLOPE_WINDOW in
  ln α around it (a factor 1.65 in α): wide enough that the O(1/√N) fluctuations of a
  simulation (about 1 % of ε_g at N = 500) do not look like slopes, narrow enough to
  follow the ODE;
* the plateau is the longest run (in ln α) of consecutive output times with |s| < 0.2,
  starting after ε_g has first fallen below ½ ε_g(0) (so the flat start of a run
  from small weights does not count) and spanning at least a factor 2 in α;
* its height is the median ε_g over the run; the escape time is the first output
  time after the run's start at which ε_g < ½ height (NaN if it never happens).

``plateaus`` lists every run that qualifies (each spanning at least a factor 2), in
time order; the fixed-point analysis refines each of them.
"""
import numpy as np

SLOPE_MAX, SPAN_MIN, SLOPE_WINDOW = 0.2, 2.0, 0.5


def local_slopes(t, eg, window=SLOPE_WINDOW):
    """d ln ε_g / d ln α at each time (n,): least-squares slope over |ln t' − ln t| ≤ window/2.

    t (n,) > 0 increasing, eg (n,) > 0. Where the window holds fewer than two distinct
    times, the slope to the nearest neighbour is used."""
    x, y = np.log(t), np.log(eg)
    lo = np.searchsorted(x, x - window / 2, side="left")
    hi = np.searchsorted(x, x + window / 2, side="right")
    slopes = np.empty(len(x))
    for i, (a, b) in enumerate(zip(lo, hi)):
        if b - a < 3:
            a, b = max(0, min(a, i - 1)), min(len(x), max(b, i + 2))
        xs, ys = x[a:b], y[a:b]
        dx = xs - xs.mean()
        slopes[i] = np.dot(dx, ys - ys.mean()) / np.dot(dx, dx)
    return slopes


def _flat_runs(t, eg):
    """(t, eg, runs): the kept times, ε_g and every run (i, j) of consecutive output times
    with |local slope| < SLOPE_MAX after ε_g first fell below ½ ε_g(0), spanning ≥ SPAN_MIN in α."""
    t, eg = np.asarray(t, float), np.asarray(eg, float)
    keep = (t > 0) & (eg > 0) & np.isfinite(eg)
    t, eg = t[keep], eg[keep]
    if len(t) < 3:
        return t, eg, []
    below = np.nonzero(eg < 0.5 * eg[0])[0]
    if len(below) == 0:
        return t, eg, []
    flat = np.abs(local_slopes(t, eg)) < SLOPE_MAX
    runs = []
    i = below[0]
    while i < len(flat):
        if not flat[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(flat) and flat[j + 1]:
            j += 1
        if np.log(t[j] / t[i]) >= np.log(SPAN_MIN):
            runs.append((i, j))
        i = j + 1
    return t, eg, runs


def _describe(t, eg, run):
    i, j = run
    height = float(np.median(eg[i:j + 1]))
    after = np.nonzero((t > t[i]) & (eg < 0.5 * height))[0]
    escape = float(t[after[0]]) if len(after) else float("nan")
    return height, float(t[i]), escape


def plateaus(t, eg):
    """Every plateau in time order: a list of (height, start, escape), each a run of flat
    intervals as in the module docstring (``plateau`` is the longest of them)."""
    t, eg, runs = _flat_runs(t, eg)
    return [_describe(t, eg, run) for run in runs]


def plateau(t, eg):
    """(height, start, escape) of the plateau, or None when there is none."""
    t, eg, runs = _flat_runs(t, eg)
    if not runs:
        return None
    spans = [np.log(t[j] / t[i]) for i, j in runs]
    best = len(spans) - 1 - int(np.argmax(spans[::-1]))  # the last of the longest, as before
    return _describe(t, eg, runs[best])
