"""One point of a sweep: options in, measurements out.

A *point* is a plain dict of options, the same as those of ``odetheory integrate``
and ``odetheory simulate`` (with the same defaults), plus ``method`` ("ode" for the
ODEs, "sim" for finite-N SGD) and ``threshold``. Points of ``method = "deep"`` (deep
networks, ``odetheory deep``) have options and measurements of their own, defined in
``odetheory.experiments.deep_sweep``; ``schema(method)`` gives either table.
``normalise(point)`` checks a point and fills in the defaults; ``measure_point(point)``
draws the network, runs it and returns the measurements:

eg_final        ε_g at the final time t_max
plateau_height  median ε_g over the plateau (definition in ``odetheory.plateaus``)
plateau_start   first time α of the plateau
plateau_escape  first time α after the plateau's start with ε_g < ½ height (the α at
                which ε_g leaves it); NaN when there is no plateau or it is never left
cos_final       cos(v, F) at t_max
learned         eg_final < threshold (default 1e-3), False for a run that diverged
n_positive_F    number of feedback entries F_k > 0 (a property of the initial draw)

A run that diverges has status "diverged", its message in ``error``, NaN for every
measurement of the trajectory and learned = False. Runs that succeed have status "ok".

``warm_up()`` loads the compiled kernels (numba's on-disk cache) into this process,
once; sweep workers call it when they start.
"""
import hashlib
import json
import math
import threading
import time

import numpy as np
from simulate import simulate

from .. import options
from ..errors import InputError
from ..experiments import deep_sweep
from ..initial import draw_network
from ..ode.integrate import integrate
from ..plateaus import plateau

# the options of a point, in the order of the results file's columns; kind, default, bound
# and help of each come from the one schema, odetheory.options
SWEEP_OPTIONS = ("method", "activation", "rule", "eta", "eta_v", "train_second_layer", "sigma", "t_max", "K", "M",
                 "N", "seed", "sigma0", "teacher_second_layer", "feedback", "sampler", "integrator", "rtol", "atol",
                 "dt", "threshold", "teacher_activation", "weight_decay", "weight_decay_v", "eta_schedule",
                 "eta_v_schedule")
OPTIONS = {name: options.OPTIONS[name] for name in SWEEP_OPTIONS}
# options added later: left out of a point's key while at their defaults, so that results
# files written before them still resume
LATER = {"teacher_activation": None, "weight_decay": 0.0, "weight_decay_v": 0.0, "eta_schedule": None,
         "eta_v_schedule": None}
ODE_ONLY = ("integrator", "rtol", "atol", "dt")
SIM_ONLY = ("sampler",)
MEASUREMENTS = ("eg_final", "plateau_height", "plateau_start", "plateau_escape", "cos_final", "learned",
                "n_positive_F")
# measurement -> (type, description with units), for column types, help and plot labels
MEASUREMENT_INFO = {
    "eg_final": (float, "final generalisation error ε_g"),
    "plateau_height": (float, "plateau height (median ε_g on the plateau)"),
    "plateau_start": (float, "start of the plateau, α"),
    "plateau_escape": (float, "α at which ε_g leaves the plateau"),
    "cos_final": (float, "final alignment cos(v, F)"),
    "learned": (bool, "learned (ε_g < threshold)"),
    "n_positive_F": (int, "number of F_k > 0"),
}
# every option and measurement name of either schema, for reading results files
ALL_OPTIONS = {**deep_sweep.OPTIONS, **OPTIONS}
ALL_MEASUREMENT_INFO = {**MEASUREMENT_INFO, **deep_sweep.MEASUREMENT_INFO}


def schema(method=None):
    """(options, measurements, measurement info) of the points of `method`: the deep
    tables for "deep", those of this module otherwise."""
    if method == "deep":
        return deep_sweep.OPTIONS, deep_sweep.MEASUREMENTS, deep_sweep.MEASUREMENT_INFO
    return OPTIONS, MEASUREMENTS, MEASUREMENT_INFO


def check_option(name, x, method=None):
    """The value x of option `name` (of points of `method`), checked and converted; InputError
    naming the option."""
    if method == "deep":
        return deep_sweep.check_option(name, x)
    if name not in OPTIONS:
        raise InputError(f"unknown option {name!r}; known: {', '.join(OPTIONS)}")
    return options.check(name, x)


def normalise(point):
    """Full, checked copy of a point: every option present, defaults filled in.

    A value None stands for the default. eta_v defaults to eta; for method "sim" the
    ODE-only options (integrator, rtol, atol, dt) are None, for method "ode" the
    simulation-only option (sampler) is None; dt is None unless the
    integrator is rk4 or euler (which need it). normalise(normalise(p)) == normalise(p).
    """
    if not isinstance(point, dict):
        raise InputError(f"a point must be a dict of options, got {type(point).__name__}")
    if point.get("method") == "deep":
        return deep_sweep.normalise(point)
    for name in point:
        if name not in OPTIONS:
            raise InputError(f"unknown option {name!r}; known: {', '.join(OPTIONS)}")
    out = {name: opt.default if point.get(name) is None else check_option(name, point[name])
           for name, opt in OPTIONS.items()}
    if out["eta_v"] is None:
        out["eta_v"] = out["eta"]
    for name in ODE_ONLY if out["method"] == "sim" else SIM_ONLY:
        out[name] = None
    if out["method"] == "ode":
        if out["integrator"] in ("dop853", "lsoda"):
            out["dt"] = None
        elif out["dt"] is None:
            raise InputError(f"dt: required for integrator {out['integrator']}", option="dt")
    return out


def point_key(point):
    """Stable 16-hex-digit key of a point: a hash of its normalised options (sorted)."""
    full = normalise(point)
    full = {k: v for k, v in full.items() if not (k in LATER and v == LATER[k])}
    text = json.dumps(full, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_point(p):
    """The Trajectory of one normalised point."""
    net = draw_network(p["K"], p["M"], p["N"], p["sigma0"], p["seed"], p["teacher_second_layer"], p["feedback"])
    common = dict(activation=p["activation"], rule=p["rule"], eta=p["eta"], eta_v=p["eta_v"], sigma=p["sigma"],
                  t_max=p["t_max"], train_second_layer=p["train_second_layer"], **{k: p[k] for k in LATER})
    if p["method"] == "sim":
        return simulate(net, seed=p["seed"], sampler=p["sampler"], **common)
    return integrate(net.state(), integrator=p["integrator"], rtol=p["rtol"], atol=p["atol"], dt=p["dt"], **common)


def measurements(traj, threshold=1e-3):
    """Measurements of a Trajectory (see the module docstring) with status and error."""
    out = dict.fromkeys(MEASUREMENTS, math.nan)
    out["n_positive_F"] = int(np.sum(traj.F > 0))
    out["learned"] = False
    if not traj.success:
        return {**out, "status": "diverged", "error": traj.message}
    out["eg_final"] = float(traj.eg[-1])
    out["cos_final"] = float(traj.cos_vF[-1])
    out["learned"] = bool(out["eg_final"] < threshold)
    pl = plateau(traj.t, traj.eg)
    if pl is not None:
        out["plateau_height"], out["plateau_start"], out["plateau_escape"] = pl
    return {**out, "status": "ok", "error": ""}


def measure_point(point):
    """Run one point and return its measurements, status ("ok" or "diverged"), error
    message ("" when ok) and run_time (wall seconds, drawing included).

    Bad options raise InputError; anything else a run raises propagates (the sweep
    engine records it as status "error")."""
    p = normalise(point)
    if p["method"] == "deep":
        return deep_sweep.measure_point(p)
    start = time.perf_counter()
    out = measurements(run_point(p), p["threshold"])
    out["run_time"] = time.perf_counter() - start
    return out


_warm_lock = threading.Lock()
_warm_count = 0


def warm_up():
    """Load the compiled ODE and SGD kernels into this process (once; later calls are free).

    Returns the number of times this process actually warmed up (1 after the first call)."""
    global _warm_count
    with _warm_lock:
        if _warm_count == 0:
            tiny = {"K": 1, "M": 1, "N": 8, "t_max": 0.5}
            for extra in ({"method": "ode"}, {"method": "ode", "integrator": "euler", "dt": 0.25},
                          {"method": "sim"}):
                run_point(normalise({**tiny, **extra}))
            _warm_count += 1
    return _warm_count


def warm_count():
    """How many times this process has warmed up (0 or 1)."""
    return _warm_count
