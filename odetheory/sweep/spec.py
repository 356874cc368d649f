"""Sweep specifications: read and check a grid, expand it into points, draw heat maps.

A spec is a small TOML (or JSON) file::

    measure = ["eg_final", "plateau_height", "plateau_escape", "cos_final", "learned"]

    [grid]
    method = "ode"                                  # a single value: fixed
    rule = ["bp", "dfa"]                            # a list: each value
    eta = {start = 0.1, stop = 5.0, num = 20, scale = "log"}   # a range
    seed = {start = 0, stop = 19, num = 20}

``[grid]`` takes any option of ``odetheory.sweep.measure.OPTIONS`` (those of ``integrate``
and ``simulate``, ``-`` or ``_`` in names; ``fix_second_layer`` as in the CLI), and
``method`` = "ode" or "sim"; a spec with ``method = "deep"`` takes the options of
``odetheory deep`` instead (``odetheory.experiments.deep_sweep``; deep points cannot
share a spec with ode or sim points). A range {start, stop, num, scale} holds num
values from start to stop inclusive, evenly spaced (scale = "lin", default) or
geometrically ("log"); for integer options they must come out whole. The points are every
combination of the values. ``measure`` (optional, default all) picks the measurement
columns. Everything is checked before anything runs: an unknown option, an empty list
or range or a value of the wrong type is an InputError naming the key.
"""
import itertools
import json
import math
import os
import signal
import tomllib
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..experiments import deep_sweep
from ..io import check_writable
from .engine import run_points
from .heatmap import write_heat_map
from .measure import ALL_MEASUREMENT_INFO, MEASUREMENTS, OPTIONS, check_option, normalise, schema
from .store import columns

MAX_POINTS = 10_000_000
RANGE_KEYS = ("start", "stop", "num", "scale")
ALIASES = {"fix_second_layer": "train_second_layer"}
LABELS = {
    "eta": "learning rate η", "eta_v": "second-layer learning rate η_v", "sigma": "teacher output noise σ",
    "t_max": "final time α", "K": "student hidden units K", "M": "teacher hidden units M",
    "N": "input dimension N", "seed": "seed", "sigma0": "initial weight scale σ0", "rtol": "rtol",
    "atol": "atol", "dt": "time step dt", "threshold": "threshold on ε_g", "run_time": "run time (s)",
    **deep_sweep.LABELS,
}


@dataclass
class Spec:
    """A checked sweep: grid {option: [values]} and the measurement columns."""

    source: str
    grid: dict
    measure: tuple = MEASUREMENTS
    method: str = None  # "deep" for a sweep of deep points (their own options), None otherwise

    @property
    def size(self):
        return math.prod(len(v) for v in self.grid.values())

    @property
    def varied(self):
        """Options with more than one value."""
        return [k for k, v in self.grid.items() if len(v) > 1]

    def points(self):
        """Every combination of the grid's values, the last option varying fastest."""
        names = list(self.grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*self.grid.values())]


def _scalar(x):
    return isinstance(x, (str, bool, int, float))


def _range(src, name, table, method=None):
    key = f"{src}: grid.{name}"
    for k in table:
        if k not in RANGE_KEYS:
            raise InputError(f"{key}.{k}: unknown range key; a range has {', '.join(RANGE_KEYS)}")
    missing = [k for k in ("start", "stop", "num") if k not in table]
    if missing:
        raise InputError(f"{key}: a range needs start, stop and num (missing {', '.join(missing)})")
    kind = schema(method)[0][name][0].rstrip("?")
    if kind not in ("int", "float", "fraction"):
        raise InputError(f"{key}: a range needs a numeric option; give a list of values")
    num = table["num"]
    if isinstance(num, bool) or not isinstance(num, int) or num < 0:
        raise InputError(f"{key}.num must be an integer >= 1, got {num!r}")
    if num == 0:
        raise InputError(f"{key}: empty range (num = 0)")
    scale = table.get("scale", "lin")
    if scale not in ("lin", "log"):
        raise InputError(f"{key}.scale must be lin or log, got {scale!r}")
    ends = []
    for k in ("start", "stop"):
        x = table[k]
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise InputError(f"{key}.{k} must be a number, got {x!r}")
        if scale == "log" and x <= 0:
            raise InputError(f"{key}.{k} must be > 0 on a log scale, got {x!r}")
        ends.append(float(x))
    values = (np.geomspace if scale == "log" else np.linspace)(ends[0], ends[1], num)
    if kind == "int":
        whole = np.rint(values)
        if np.any(np.abs(values - whole) > 1e-9 * np.maximum(1, np.abs(values))):
            raise InputError(f"{key}: the range gives non-integer values; choose num so that the step is whole")
        return [int(v) for v in whole]
    return [float(f"{v:.12g}") for v in values]  # 0.30000000000000004 -> 0.3


def _values(src, name, value, method=None):
    if isinstance(value, dict):
        values = _range(src, name, value, method)
    elif isinstance(value, list):
        if not value:
            raise InputError(f"{src}: grid.{name}: empty list")
        values = value
    else:
        values = [value]
    out = []
    for v in values:
        if not _scalar(v):
            raise InputError(f"{src}: grid.{name}: expected a value, a list of values or a range table, "
                             f"got {v!r}")
        try:
            out.append(check_option(name, v, method))
        except InputError as exc:
            hint = ("; the ODE integrator is the option integrator"
                    if name == "method" and v in OPTIONS["integrator"][2] else "")
            raise InputError(f"{src}: grid.{exc}{hint}") from None
    return out


def parse_spec(data, source="spec"):
    """Spec from the parsed content of a spec file (dict); InputError naming the bad key."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: the spec must be a table with a [grid] section")
    for k in data:
        if k not in ("grid", "measure"):
            raise InputError(f"{source}: {k}: unknown key; a spec has [grid] and measure")
    grid_in = data.get("grid")
    if not isinstance(grid_in, dict) or not grid_in:
        raise InputError(f"{source}: grid: missing or empty; give at least one option, e.g. eta = [0.1, 0.5]")
    method = _deep_or_none(source, grid_in.get("method"))
    options, default_measure, _ = schema(method)
    aliases = {} if method == "deep" else ALIASES
    grid = {}
    for raw, value in grid_in.items():
        name = str(raw).replace("-", "_")
        if name not in options and name not in aliases:
            raise InputError(f"{source}: grid.{raw}: unknown option; known: {', '.join(options)}"
                             f"{'' if method == 'deep' else ', fix_second_layer'}")
        target = aliases.get(name, name)
        if target in grid:
            raise InputError(f"{source}: grid.{raw}: given twice (also as {target})")
        values = _values(source, target, value, method)
        if name == "fix_second_layer":
            values = [not v for v in values]
        grid[target] = values
    measure = data.get("measure", list(default_measure))
    if measure == "all":
        measure = list(default_measure)
    if not isinstance(measure, list) or not measure:
        raise InputError(f"{source}: measure: expected a non-empty list of names from {', '.join(default_measure)}")
    for m in measure:
        if m not in default_measure:
            raise InputError(f"{source}: measure: unknown measurement {m!r}; known: {', '.join(default_measure)}")
    if len(set(measure)) != len(measure):
        raise InputError(f"{source}: measure: a measurement is listed twice")
    spec = Spec(source, grid, tuple(measure), method)
    if spec.size > MAX_POINTS:
        raise InputError(f"{source}: grid: {spec.size} points, more than {MAX_POINTS}")
    # cross-option checks (dt needed by rk4/euler, ...) on one point per combination of
    # the options involved: cheap, and before any work
    probe = {k: v for k, v in grid.items() if k in ("method", "integrator", "dt")}
    for combo in itertools.product(*probe.values()):
        try:
            normalise(dict(zip(probe, combo)))
        except InputError as exc:
            raise InputError(f"{source}: grid.{exc}") from None
    return spec


def _deep_or_none(source, method):
    """"deep" if the grid's method is deep, None otherwise; deep and other methods do not mix."""
    values = method if isinstance(method, list) else [method]
    if "deep" not in values:
        return None
    if any(v != "deep" for v in values):
        raise InputError(f"{source}: grid.method: deep points cannot share a spec with ode or sim points "
                         f"(their options differ); use one spec each")
    return "deep"


def load_spec(path):
    """Read and check a spec file: JSON if it ends in .json, TOML otherwise."""
    path = os.fspath(path)
    name = os.path.basename(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the spec: {exc.strerror}") from None
    try:
        if path.endswith(".json"):
            data = json.loads(raw)
        else:
            data = tomllib.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.endswith(".json") else "TOML"
        raise InputError(f"{name}: invalid {kind}: {' '.join(str(exc).split())}") from None
    return parse_spec(data, name)


# --------------------------------------------------------------------------- heat map

def default_results(spec_path):
    """SPEC's stem + .csv, beside SPEC."""
    return os.path.splitext(os.fspath(spec_path))[0] + ".csv"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(args):
    """``odetheory sweep`` (args from the parser in odetheory.cli); returns the exit code."""
    spec = load_spec(args.spec)
    results = args.results or default_results(args.spec)
    if os.path.abspath(results) == os.path.abspath(args.spec):
        raise InputError("the results file cannot be the spec itself")
    if args.workers is not None and args.scheduler is not None:
        raise InputError("--workers sets the size of the local cluster; with --scheduler the cluster decides")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise InputError(f"--chunk-size must be >= 1, got {args.chunk_size}")
    png = None
    if args.plot:
        x, y, z = args.plot
        options = schema(spec.method)[0]
        for axis, name in (("X", x), ("Y", y)):
            if name not in options:
                raise InputError(f"--plot {axis}: {name!r} is not an option; choose from {', '.join(options)}")
        if x == y:
            raise InputError("--plot: X and Y must be different options")
        if z not in [*spec.measure, "run_time"]:
            raise InputError(f"--plot Z: {z!r} is not a measurement of this spec; choose from "
                             f"{', '.join([*spec.measure, 'run_time'])}")
        png = args.png or f"{os.path.splitext(results)[0]}_{z}_{x}_{y}.png"
        check_writable(png, args.force)
    columns(spec.measure, spec.method)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # kill = Ctrl-C: stop cleanly, rows kept
    try:
        rows = run_points(spec.points(), results, scheduler=args.scheduler, workers=args.workers,
                          chunk_size=args.chunk_size, progress=not args.no_progress, measure=spec.measure)
    except KeyboardInterrupt:
        print(f"odetheory: interrupted; finished points are in {results}; run the same command to resume")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(rows.stats.summary())
    print(f"  results in {results}")
    if png:
        write_heat_map(rows, x, y, z, png, args.force, title=f"{os.path.basename(args.spec)}: {z}", labels=LABELS)
        print(f"  wrote {png}")
    return 1 if rows.stats.n_unfinished else 0
