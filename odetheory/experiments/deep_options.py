"""The options of a deep-network run (``odetheory deep``, ``run_deep``, sweeps with
``method = "deep"``): kind, default, bound and help with units, and their checks.

Kept apart from the trainer so that the command line can build its parser without
loading numerical code.
"""
import math
import os
import numpy as np

from ..errors import InputError
from ..options import Option  # kind, default, bound, strict, help: the one schema's record

GAUSSIAN_ONLY = ("alpha", "beta", "input_dim")
SEEDS = ("data_seed", "order_seed", "weights_seed", "feedback_seed")


OPTIONS = {
    "dataset": Option("str", "digits", None, False,
                      "digits: scikit-learn's 1,797 8×8 digit images, 10 classes, softmax cross-entropy (the "
                      "stand-in for MNIST/CIFAR-10); gaussian: the Fig. 8 regression task, squared error; or a "
                      "FILE.npz with X (examples × inputs) and labels (integers) or Y (real targets)"),
    "n_examples": Option("int?", None, 1, False,
                         "examples used: drawn for gaussian (default 1000), the first n of digits or FILE "
                         "(default: all)"),
    "input_dim": Option("int?", None, 1, False, "input dimension of the gaussian task (default: 10)"),
    "alpha": Option("fraction?", None, None, False,
                    "gaussian task: standard deviation α of the second target, in [0, 1] (default: 1)"),
    "beta": Option("fraction?", None, None, False,
                   "gaussian task: the targets' correlation is 1 − β, in [0, 1] (default: 1, uncorrelated)"),
    "corrupt": Option("fraction", 0.0, None, False,
                      "fraction p of examples whose labels (targets) are shuffled among themselves, in [0, 1]"),
    "layers": Option("int", 4, 2, False, "number L of weight layers (L − 1 hidden layers), >= 2"),
    "width": Option("int", 100, 1, False, "units per hidden layer"),
    "activation": Option("choice", "tanh", ("tanh", "relu", "linear"), False, "activation g of the hidden layers"),
    "rule": Option("choice", "dfa", ("bp", "fa", "dfa"), False,
                   "learning rule: bp (back-propagation), fa (feedback alignment, B_l in place of W_{l+1}ᵀ), "
                   "dfa (direct feedback alignment, F_l e)"),
    "eta": Option("float", 0.05, 0.0, True, "learning rate η (update −η × batch mean of δa_l h_{l−1}ᵀ), > 0"),
    "batch": Option("int", 32, 1, False, "mini-batch size (examples per SGD step)"),
    "epochs": Option("int", 100, 1, False, "training epochs (passes over the data set)"),
    "n_out": Option("int", 30, 0, False,
                    "recorded epochs besides 0 and the last: this many log-spaced between 1 and epochs"),
    "init_scale": Option("float", 1.0, 0.0, False,
                         "initial weights W_l ~ N(0, s²/n_{l−1}) with this s; 0: all-zero weights"),
    "feedback_scale": Option("float", 1.0, 0.0, True, "feedback entries ~ N(0, s²/n_l) with this s, > 0"),
    "seed": Option("int", 0, 0, False,
                   "seed of the four independent streams: data set, mini-batch order, weights, feedback"),
    "data_seed": Option("int?", None, 0, False, "own seed of the data-set stream (default: --seed)"),
    "order_seed": Option("int?", None, 0, False, "own seed of the mini-batch order (default: --seed)"),
    "weights_seed": Option("int?", None, 0, False, "own seed of the initial weights (default: --seed)"),
    "feedback_seed": Option("int?", None, 0, False, "own seed of the feedback matrices (default: --seed)"),
}


def check_option(name, x, label=None):
    """The value x of option `name`, checked; InputError naming `label` (default: the name)."""
    if name not in OPTIONS:
        raise InputError(f"unknown option {name!r}; known: {', '.join(OPTIONS)}")
    opt, label = OPTIONS[name], label or name
    kind = opt.kind.rstrip("?")
    if x is None and opt.kind.endswith("?"):
        return None
    if kind in ("choice", "str"):
        if not isinstance(x, str) or (kind == "choice" and x not in opt.bound):
            choices = ", ".join(opt.bound) if kind == "choice" else "digits, gaussian or a FILE.npz"
            raise InputError(f"{label} must be one of {choices}, got {x!r}")
        if kind == "str" and x not in ("digits", "gaussian"):
            if not x.endswith(".npz"):
                raise InputError(f"{label} must be digits, gaussian or a FILE.npz, got {x!r}")
            if not os.path.isfile(x):
                raise InputError(f"{label}: file {x} does not exist")
        return x
    if kind == "int":
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < opt.bound:
            raise InputError(f"{label} must be an integer >= {opt.bound}, got {x!r}")
        return int(x)
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(x):
        raise InputError(f"{label} must be a finite number, got {x!r}")
    x = float(x)
    if kind == "fraction":
        if not 0.0 <= x <= 1.0:
            raise InputError(f"{label} must be in [0, 1], got {x:g}")
    elif x < opt.bound or (opt.strict and x == opt.bound):
        raise InputError(f"{label} must be {'>' if opt.strict else '>='} {opt.bound:g}, got {x:g}")
    return x
