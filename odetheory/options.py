"""The options schema: every option of the ODE and simulation commands, declared once.

Each entry of ``OPTIONS`` gives an option's kind, default, bound (the choices, or the
lowest value), unit and help text. The command line (``odetheory.cli``) builds its flags
from it, the sweep points (``odetheory.sweep.measure``) check their values with it, and
the API functions take their defaults from ``DEFAULTS`` (or ``defaults(context)`` for a
command whose defaults differ, e.g. ``compare`` runs at η = 0.5); a test checks that the
three agree. Adding an option is one entry here, plus its use in the code that needs it.

Names are those of the Python API (``t_max``); the CLI flag is ``--t-max`` (``flag``).
``method`` is what a run computes (``ode``, ``sim``; ``both`` in plearn, ``deep`` in
sweeps); the ODE integrator is ``integrator`` everywhere.

Kept free of numerical imports so that the command line can build its parser quickly.
"""
import math
from typing import NamedTuple

import numpy as np

from .errors import InputError


class Option(NamedTuple):
    """kind: choice, bool, int, float, fraction (a float in [0, 1]), str, floats or ints
    (comma-separated lists on the command line); a trailing ? allows None (the default
    then depends on other options, said in help). bound: the choices (choice) or the lowest
    value (numbers; excluded when strict). flag: the CLI flag when it is not --name with
    _ as -; for a bool, the flag that turns the option off (``negate``). aliases: extra,
    hidden CLI flags kept for old command lines."""

    kind: str
    default: object
    bound: object = None
    strict: bool = False
    help: str = ""
    unit: str = ""
    flag: str = None
    negate: bool = False
    aliases: tuple = ()

    @property
    def base(self):
        return self.kind.rstrip("?")

    @property
    def optional(self):
        return self.kind.endswith("?")


OPTIONS = {
    "method": Option("choice", "ode", ("ode", "sim", "deep"),
                     help="what a point computes: ode (the order-parameter ODEs), sim (finite-N SGD), deep "
                          "(a deep network, options of odetheory deep)"),
    "activation": Option("str", "erf",
                         help="student activation g: erf (= erf(x/√2)), relu, linear, tanh, sigmoid, softplus, "
                              "gelu, he2 (x²−1), he3 (x³−3x), or any expression in x that sympy reads, e.g. "
                              "'tanh(2*x)'"),
    "teacher_activation": Option("str?", None,
                                 help="teacher activation g*: a name or expression as for --activation "
                                      "(default: the student's)"),
    "rule": Option("choice", "dfa", ("bp", "dfa", "sign"),
                   help="feedback f of the first-layer update: bp (f = v), dfa (f = F), sign (f = sign v)"),
    "eta": Option("float", 0.1, 0.0, True, "first-layer learning rate η, > 0"),
    "eta_v": Option("float?", None, 0.0, True, "second-layer learning rate η_v, > 0 (default: same as --eta)"),
    "train_second_layer": Option("bool", True, help="keep the student's second layer v fixed",
                                 flag="--fix-second-layer", negate=True),
    "sigma": Option("float", 0.0, 0.0, False, "standard deviation σ of the teacher's output noise, >= 0"),
    "weight_decay": Option("float", 0.0, 0.0, False,
                           "first-layer weight decay λ >= 0: every step also takes w ← w − (η λ/N) w"),
    "weight_decay_v": Option("float", 0.0, 0.0, False,
                             "second-layer weight decay λ_v >= 0: every step also takes v ← v − (η_v λ_v/N) v"),
    "eta_schedule": Option("str?", None,
                           help="schedule of η in α: constant, power:ALPHA0:GAMMA for η (1 + α/ALPHA0)^−GAMMA, or "
                                "steps:T1=ETA1,T2=ETA2,... for η until T1, ETA1 from T1, ... (default: constant)"),
    "eta_v_schedule": Option("str?", None,
                             help="schedule of η_v, as for --eta-schedule (default: constant)"),
    "t_max": Option("float", 100.0, 0.0, True, "final time α = steps/N, > 0", unit="α"),
    "times": Option("floats?", None, 0.0, False,
                    "extra output times α, comma-separated, in [0, t-max]; the run lands on them exactly "
                    "(default output: t = 0 and --n-times log-spaced times from t-max·1e-4 to t-max)", unit="α"),
    "n_times": Option("int", 200, 0, False,
                      "number of log-spaced output times; 0 for none besides t = 0, t-max and --times"),
    "K": Option("int", 2, 1, False, "student hidden units K >= 1"),
    "M": Option("int", 2, 1, False, "teacher hidden units M >= 1"),
    "N": Option("int", 500, 1, False, "input dimension N >= 1 of the drawn weights"),
    "Ns": Option("ints", (500,), 1, False,
                 "input dimension(s) N >= 1, comma-separated, e.g. 250,500,1000,2000 to see the gap shrink with N",
                 flag="--N"),
    "Ks": Option("ints", tuple(range(2, 9)), 1, False, "student sizes, comma-separated (a..b for a range), each >= M",
                 flag="--K"),
    "seed": Option("int", 0, 0, False, "seed, split into independent teacher/student/feedback/data streams"),
    "seeds": Option("ints", (0, 1, 2), 0, False,
                    "seeds, comma-separated, a..b for a range (e.g. 0..19), one run each"),
    "sigma0": Option("float", 1e-2, 0.0, False, "standard deviation of the student's initial weights w and v"),
    "teacher_second_layer": Option("choice", "ones", ("ones", "gaussian"),
                                   help="teacher second layer A: all ones or N(0,1)"),
    "feedback": Option("choice", "gaussian", ("gaussian", "matched", "positive"),
                       help="DFA feedback F: N(0,1), matched = v(0), positive = |N(0,1)|"),
    "sampler": Option("choice", "full", ("full", "reduced"),
                      help="full: N-dimensional weights and inputs; reduced: the same SGD chain with the weights "
                           "written in their own span, exact in law, cost independent of N, needs N > K+M"),
    "integrator": Option("choice", "dop853", ("dop853", "lsoda", "rk4", "euler"),
                         help="dop853: adaptive 8th-order Runge-Kutta with error control; lsoda: adaptive, "
                              "switches to BDF near fixed points (fewer evaluations on long runs that settle); "
                              "rk4, euler: fixed step --dt", aliases=("--method",)),
    "rtol": Option("float", 1e-8, 0.0, True, "relative tolerance of dop853/lsoda"),
    "atol": Option("float", 1e-10, 0.0, True, "absolute tolerance of dop853/lsoda"),
    "dt": Option("float?", None, 0.0, True, "time step for euler and rk4 (required by them)", unit="α"),
    "eta2_terms": Option("bool", True, help="drop the η² (SGD noise) and σ² terms; only for checking "
                                            "conservation laws", flag="--drop-eta2-terms", negate=True),
    "threshold": Option("float", 1e-3, 0.0, True, "a run is learned when its final ε_g is below this"),
    "mc_test": Option("int", 0, 0, False, "also report a Monte-Carlo test error on this many fixed test inputs "
                                          "(0: off; needs --sampler full)", flag="--mc-test"),
    "trials": Option("int", 50, 1, False, "trials per K and method (50 as in the paper)"),
    "converged": Option("float", 1e-4, 0.0, True, "runs with final ε_g below this count as converged"),
    "gap_until": Option("float?", None, 0.0, True, "measure gaps over α <= this time only (default: the whole run)",
                        unit="α"),
    "workers": Option("int?", None, 1, False, "parallel worker processes or threads (default: number of cores)"),
}

DEFAULTS = {name: opt.default for name, opt in OPTIONS.items()}

# commands (and API functions) whose defaults differ from DEFAULTS
CONTEXTS = {
    "compare": {"eta": 0.5, "t_max": 300.0},
    "plearn": {"t_max": 3000.0, "sampler": "reduced", "method": "sim"},
    "degeneracy": {"eta": 0.5, "t_max": 3000.0, "seeds": tuple(range(20))},
    "fixedpoints": {"t_max": 3000.0, "sampler": "reduced", "seeds": tuple(range(8))},
    # the API's fixed_points refines on a tighter integration than the command's default
    "fixed_points": {"t_max": 3000.0, "rtol": 1e-10, "atol": 1e-12},
    "sweep": {},
}


def defaults(context=None):
    """{name: default} of every option, with the overrides of `context` (a command name)."""
    out = {name: opt.default for name, opt in OPTIONS.items()}
    out.update({k: v for k, v in CONTEXTS.get(context, {}).items() if k in OPTIONS})
    return out


def default(name, context=None):
    """The default of option `name` in `context`."""
    return defaults(context)[name]


def flag(name):
    """The CLI flag of option `name` (e.g. --t-max)."""
    opt = OPTIONS.get(name)
    if opt is not None and opt.flag:
        return opt.flag
    return "--" + name.replace("_", "-")


def check(name, x, label=None):
    """The value x of option `name` checked and converted; InputError naming `label`
    (default: the name). Numbers must be numbers (no strings: a spec's types are checked)."""
    if name not in OPTIONS:
        raise InputError(f"unknown option {name!r}; known: {', '.join(OPTIONS)}")
    opt, label = OPTIONS[name], label or name
    if x is None and opt.optional:
        return None
    kind = opt.base
    if kind == "choice":
        if not isinstance(x, str) or x not in opt.bound:
            raise InputError(f"{label} must be one of {', '.join(opt.bound)}, got {x!r}", option=name)
        return x
    if kind == "str":
        if not isinstance(x, str):
            raise InputError(f"{label} must be a string, got {x!r}", option=name)
        return x
    if kind == "bool":
        if not isinstance(x, (bool, np.bool_)):
            raise InputError(f"{label} must be true or false, got {x!r}", option=name)
        return bool(x)
    if kind in ("floats", "ints"):
        values = list(np.atleast_1d(x))
        return [check_value(kind[:-1], v, opt.bound, opt.strict, label, name) for v in values]
    return check_value(kind, x, opt.bound, opt.strict, label, name)


def check_value(kind, x, bound, strict, label, name=None):
    """One number of kind int, float or fraction against its lower bound."""
    if kind == "int":
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) or x < bound:
            raise InputError(f"{label} must be an integer >= {bound}, got {x!r}", option=name)
        return int(x)
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise InputError(f"{label} must be a number, got {x!r}", option=name)
    y = float(x)
    if kind == "fraction":
        if not (math.isfinite(y) and 0.0 <= y <= 1.0):
            raise InputError(f"{label} must be in [0, 1], got {x!r}", option=name)
        return y
    if not math.isfinite(y) or (bound is not None and (y <= bound if strict else y < bound)):
        side = "" if bound is None else f" {'>' if strict else '>='} {bound:g}"
        raise InputError(f"{label} must be a finite number{side}, got {x}", option=name)
    return y


def parse_list(text, kind="int"):
    """'0,1,2' or '0..19' (inclusive range, integers only) or a mix: the list of numbers."""
    out = []
    convert = int if kind == "int" else float
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        if kind == "int" and ".." in part:
            lo, hi = part.split("..", 1)
            lo, hi = int(lo), int(hi)
            if hi < lo:
                raise ValueError(part)
            out.extend(range(lo, hi + 1))
        else:
            out.append(convert(part))
    return out
