"""Bad input: the exception and the checks that raise it with a one-line message."""
import math

import numpy as np


class InputError(ValueError):
    """Bad user input: the message is one line and names the problem.

    option: the name of the option at fault (API spelling, e.g. t_max), when there is
    one, so that the command line can name its flag instead."""

    def __init__(self, message, option=None):
        super().__init__(message)
        self.option = option


def check_number(name, x, lowest=0.0, strict=True):
    """float(x), finite and > lowest (strict) or >= lowest; InputError otherwise."""
    try:
        y = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {x!r}", option=name) from None
    if not math.isfinite(y) or (y <= lowest if strict else y < lowest):
        raise InputError(f"{name} must be a finite number {'>' if strict else '>='} {lowest:g}, got {x}", option=name)
    return y


def check_integer(name, x, lowest=0):
    """int(x) for an integer x >= lowest; InputError otherwise."""
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lowest:
        raise InputError(f"{name} must be an integer >= {lowest}, got {x!r}", option=name)
    return int(x)
