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


def plateau(t, eg):
    """(height, start, escape) of the plateau, or None when there is none."""
    t, eg = np.asarray(t, float), np.asarray(eg, float)
    keep = (t > 0) & (eg > 0) & np.isfinite(eg)
    t, eg = t[keep], eg[keep]
    if len(t) < 3:
        return None
    below = np.nonzero(eg < 0.5 * eg[0])[0]
    if len(below) == 0:
        return None
    first = below[0]
    flat = np.abs(local_slopes(t, eg)) < SLOPE_MAX
    best, best_span = None, np.log(SPAN_MIN)
    i = first
    while i < len(flat):
        if not flat[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(flat) and flat[j + 1]:
            j += 1
        span = np.log(t[j] / t[i])
        if span >= best_span:
            best, best_span = (i, j), span
        i = j + 1
    if best is None:
        return None
    i, j = best
    height = float(np.median(eg[i:j + 1]))
    after = np.nonzero((t > t[i]) & (eg < 0.5 * height))[0]
    escape = float(t[after[0]]) if len(after) else float("nan")
    return height, float(t[i]), escape
