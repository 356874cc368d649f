"""odetheory: ODE theory of online learning in two-layer teacher-student networks.

Python API (see README.md):

    from odetheory import draw_network, integrate
    state = draw_network(K=3, M=2, N=500, sigma0=1e-2, seed=0).state()
    traj = integrate(state, activation="erf", rule="dfa", eta=0.1, t_max=100)
    traj.t, traj.eg, traj.cos_vF, traj.Q, traj.R, traj.v

Names are imported lazily so that ``odetheory --help`` does not load the compiled kernels.
"""
import importlib

__version__ = "0.1.0"

_API = {
    "State": "state", "load_state": "state",
    "Network": "initial", "draw_network": "initial", "random_streams": "initial",
    "integrate": "ode.integrate", "Trajectory": "ode.trajectory", "Problem": "ode.problem",
    "plateau": "plateaus", "InputError": "errors",
    "Activation": "integrals.activations", "activation": "integrals.activations",
    "compare": "experiments.compare", "plearn": "experiments.plearn", "degeneracy": "experiments.degeneracy",
    "fixed_points": "experiments.fixedpoints", "network_from_state": "initial",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'odetheory' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
