"""Sweep points of ``method = "deep"``: options in, measurements out.

A deep point is a dict of the options of ``odetheory.experiments.deep.OPTIONS`` (those
of ``odetheory deep``, ``_`` or ``-`` in names) plus ``method = "deep"``; it trains one
network and measures, on the training set:

loss_final      loss at the last epoch (½|ŷ − y|² or cross-entropy, mean over examples)
accuracy_final  training accuracy at the last epoch (NaN for regression)
wa_final        global weight alignment WA (paper Eq. 18) at the last epoch
ga_final        global gradient alignment GA at the last epoch
wa_max          largest WA over the recorded epochs
wa_max_epoch    the epoch of wa_max
wa_rise_epoch   first recorded epoch at which WA reaches half of wa_max
ga_rise_epoch   first recorded epoch at which GA reaches half of its largest value

A run whose loss becomes non-finite has status "diverged" and NaN measurements.
"""
import math
import time

import numpy as np

from ..errors import InputError
from ..options import Option
from . import deep

# name: Option (kind, default, bound, strict, help), the records of odetheory.options
OPTIONS = {"method": Option("choice", "deep", ("deep",), help="a deep network (odetheory deep)"), **deep.OPTIONS}
MEASUREMENT_INFO = {
    "loss_final": (float, "final training loss"),
    "accuracy_final": (float, "final training accuracy"),
    "wa_final": (float, "final weight alignment WA"),
    "ga_final": (float, "final gradient alignment GA"),
    "wa_max": (float, "largest weight alignment WA"),
    "wa_max_epoch": (float, "epoch of the largest WA"),
    "wa_rise_epoch": (float, "epoch at which WA reaches half its largest value"),
    "ga_rise_epoch": (float, "epoch at which GA reaches half its largest value"),
}
MEASUREMENTS = tuple(MEASUREMENT_INFO)
# axis labels of heat maps
LABELS = {"alpha": "second target's standard deviation α", "beta": "β (target correlation 1 − β)",
          "corrupt": "fraction p of shuffled labels", "layers": "weight layers L", "width": "hidden width",
          "epochs": "epochs", "batch": "batch size", "init_scale": "initial weight scale",
          "feedback_scale": "feedback scale"}


def check_option(name, x):
    """The value x of deep option `name`, checked; InputError naming the option."""
    if name == "method":
        if x != "deep":
            raise InputError(f"method: deep points cannot be mixed with ode or sim points, got {x!r}")
        return x
    if name not in deep.OPTIONS:
        raise InputError(f"unknown option {name!r} for method deep; known: {', '.join(OPTIONS)}")
    return deep.check_option(name, x)


def normalise(point):
    """Full, checked copy of a deep point (method = "deep", defaults filled in)."""
    if point.get("method") != "deep":
        raise InputError(f"method must be deep, got {point.get('method')!r}")
    out = deep.normalise({k: v for k, v in point.items() if k != "method"})
    return {"method": "deep", **out}


def _rise(epochs, values):
    good = np.isfinite(values)
    if not good.any():
        return math.nan
    top = np.max(values[good])
    if top <= 0:
        return math.nan
    return float(epochs[np.argmax(good & (values >= 0.5 * top))])


def measurements(result):
    """Measurements (module docstring) of a DeepResult, with status and error."""
    out = dict.fromkeys(MEASUREMENTS, math.nan)
    r = result.run
    if not r.success:
        return {**out, "status": "diverged", "error": r.message}
    out.update(loss_final=float(r.loss[-1]), accuracy_final=float(r.accuracy[-1]), wa_final=float(r.wa[-1]),
               ga_final=float(r.ga[-1]))
    if np.any(np.isfinite(r.wa)):
        k = int(np.nanargmax(r.wa))
        out.update(wa_max=float(r.wa[k]), wa_max_epoch=float(r.epochs[k]))
    out.update(wa_rise_epoch=_rise(r.epochs, r.wa), ga_rise_epoch=_rise(r.epochs, r.ga))
    return {**out, "status": "ok", "error": ""}


def measure_point(point):
    """Run one deep point; its measurements, status, error and run_time (wall s)."""
    p = normalise(point)
    start = time.perf_counter()
    out = measurements(deep.run_deep(**{k: v for k, v in p.items() if k != "method"}))
    out["run_time"] = time.perf_counter() - start
    return out
