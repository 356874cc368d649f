"""Plateau of ε_g(α): where it is, how high, when the dynamics leave it.

Definition (used by the summaries and sweeps):
* the local slope s = Δ ln ε_g / Δ ln α between consecutive output times;
* the plateau is the longest run (in ln α) of consecutive intervals with |s| < 0.2,
  starting after ε_g has first fallen below ½ ε_g(0) (so the flat start of a run
  from small weights does not count) and spanning at least a factor 2 in α;
* its height is the median ε_g over the run; the escape time is the first output
  time after the run's start at which ε_g < ½ height (NaN if it never happens).
"""
import numpy as np

SLOPE_MAX, SPAN_MIN = 0.2, 2.0


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
    slope = np.diff(np.log(eg)) / np.diff(np.log(t))
    flat = np.abs(slope) < SLOPE_MAX
    best, best_span = None, np.log(SPAN_MIN)
    i = first
    while i < len(flat):
        if not flat[i]:
            i += 1
            continue
        j = i
        while j < len(flat) and flat[j]:
            j += 1
        span = np.log(t[j] / t[i])
        if span >= best_span:
            best, best_span = (i, j), span
        i = j
    if best is None:
        return None
    i, j = best
    height = float(np.median(eg[i:j + 1]))
    after = np.nonzero((t > t[i]) & (eg < 0.5 * height))[0]
    escape = float(t[after[0]]) if len(after) else float("nan")
    return height, float(t[i]), escape
