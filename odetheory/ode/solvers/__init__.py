"""Solvers that take any right-hand side ``fun(t, y, args)`` (see ``base``), one file per method:
``dop853`` (adaptive, explicit, compiled), ``lsoda`` (adaptive, switches to BDF near fixed
points) and ``fixed`` (Euler, RK4). Each returns (Y, n_out, nfev, status, t_stop)."""
from .base import finite_check, new_control, run_controlled
from .dop853 import dop853
from .fixed import fixed_step
from .lsoda import lsoda

__all__ = ["dop853", "finite_check", "fixed_step", "lsoda", "new_control", "run_controlled"]
