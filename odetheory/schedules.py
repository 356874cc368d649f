"""Learning-rate schedules η(α) for η and η_v (THEORY.md §10), shared by the ODE and the simulator.

    constant             η(α) = η0                                  (the default)
    power:α0:γ           η(α) = η0 (1 + α/α0)^(−γ)
    steps:t1=η1,t2=η2    η(α) = η0 for α < t1, η1 for t1 ≤ α < t2, ...

The ODE evaluates a power law pointwise in α (``learning.rate``) and integrates a step
schedule piece by piece, landing on every step time; the simulator uses η(s/N) at step s.
"""
import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError


@dataclass(frozen=True)
class Schedule:
    """A schedule: kind "constant", "power" (alpha0 > 0, gamma) or "steps" (times increasing,
    values the rates from each time on)."""

    kind: str = "constant"
    alpha0: float = 1.0
    gamma: float = 0.0
    times: tuple = ()
    values: tuple = ()

    def __str__(self):
        if self.kind == "power":
            return f"power:{self.alpha0:g}:{self.gamma:g}"
        if self.kind == "steps":
            return "steps:" + ",".join(f"{t:g}={v:g}" for t, v in zip(self.times, self.values))
        return "constant"

    @property
    def power_law(self):
        """(alpha0, gamma) for the compiled rate (gamma = 0 unless this is a power law)."""
        return (self.alpha0, self.gamma) if self.kind == "power" else (1.0, 0.0)

    def rate(self, base, t):
        """η(t) for base rate η0 (t scalar or array)."""
        t = np.asarray(t, dtype=float)
        if self.kind == "power":
            return base * (1.0 + t / self.alpha0) ** (-self.gamma)
        out = np.full(t.shape, float(base))
        for time, value in zip(self.times, self.values):
            out = np.where(t >= time, value, out)
        return out if out.ndim else float(out)

    def pieces(self, base, t_max):
        """[(t_start, t_end, rate)] of the constant pieces of a step schedule on [0, t_max]
        (one piece, the base rate, for the other kinds)."""
        edges = [0.0] + [t for t in self.times if 0.0 < t < t_max] + [t_max]
        return [(a, b, float(self.rate(base, a))) for a, b in zip(edges[:-1], edges[1:])]


CONSTANT = Schedule()


def schedule(spec, flag="--eta-schedule"):
    """A Schedule from a Schedule, None (constant) or text (see the module docstring);
    InputError naming `flag` otherwise."""
    if spec is None or isinstance(spec, Schedule):
        return spec or CONSTANT
    if not isinstance(spec, str):
        raise InputError(f"{flag} must be constant, power:ALPHA0:GAMMA or steps:T1=ETA1,..., got {spec!r}")
    text = spec.strip()
    try:
        kind, _, rest = text.partition(":")
        if kind == "constant" and not rest:
            return CONSTANT
        if kind == "power":
            alpha0, gamma = (float(x) for x in rest.split(":"))
            if not (alpha0 > 0 and math.isfinite(alpha0) and gamma >= 0 and math.isfinite(gamma)):
                raise ValueError
            return Schedule("power", alpha0, gamma)
        if kind == "steps":
            pairs = [item.split("=") for item in rest.split(",")]
            times = tuple(float(t) for t, _ in pairs)
            values = tuple(float(v) for _, v in pairs)
            if (any(not math.isfinite(t) or t <= 0 for t in times) or any(not math.isfinite(v) or v < 0 for v in values)
                    or any(b <= a for a, b in zip(times, times[1:]))):
                raise ValueError
            return Schedule("steps", times=times, values=values)
    except ValueError:
        pass
    raise InputError(f"{flag} must be constant, power:ALPHA0:GAMMA (ALPHA0 > 0, GAMMA >= 0) or "
                     f"steps:T1=ETA1,T2=ETA2,... (times > 0 increasing, rates >= 0), got {spec!r}")
