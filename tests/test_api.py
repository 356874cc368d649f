"""The Python API a newcomer meets: short reprs, docstrings, dir(), settings, compile time apart."""
import subprocess
import sys

import numpy as np
import pytest

import odetheory
import simulate
from odetheory import Trajectory, draw_network, integrate


def test_short_reprs():
    net = draw_network(3, 2, 2000, seed=4)
    text = repr(net)
    assert len(text) < 200 and "K=3" in text and "M=2" in text and "N=2000" in text and "seed=4" in text
    traj = integrate(net.state(), t_max=20.0)
    text = repr(traj)
    assert len(text) < 300 and "K=3" in text and "N=2000" in text and f"{traj.eg[-1]:.6g}" in text
    assert "(201, 3, 3)" in text
    assert len(repr(net.state())) < 100


def test_trajectory_docstring_and_dir():
    assert Trajectory.__doc__ and "eg" in Trajectory.__doc__ and "settings" in Trajectory.__doc__
    names = dir(odetheory)
    for name in ("integrate", "draw_network", "State", "Trajectory", "compare", "plearn", "degeneracy"):
        assert name in names


def test_settings_hold_sizes_and_seed():
    net = draw_network(2, 3, 300, seed=7)
    ode = integrate(net.state(), t_max=5.0)
    assert {k: ode.settings[k] for k in ("K", "M", "N", "seed", "method")} == dict(K=2, M=3, N=300, seed=7,
                                                                                   method="ode")
    assert ode.settings["integrator"] == "dop853"
    sim = simulate.simulate(net, t_max=2.0, seed=5)
    assert {k: sim.settings[k] for k in ("K", "M", "N", "seed", "method")} == dict(K=2, M=3, N=300, seed=5,
                                                                                   method="sim")


def test_simulate_takes_n_times():
    net = draw_network(2, 2, 1000, seed=1)
    sim = simulate.simulate(net, t_max=10.0, n_times=20)
    ode = integrate(net.state(), t_max=10.0, n_times=20)
    assert len(sim.t) == len(ode.t) == 21 and np.allclose(sim.t, ode.t, atol=1e-3)
    assert len(simulate.simulate(net, t_max=10.0, n_times=0).t) == 2


def test_integrate_method_is_the_old_name_of_integrator():
    st = draw_network(2, 2, 100, seed=0).state()
    with pytest.warns(DeprecationWarning):
        old = integrate(st, t_max=5.0, method="lsoda")
    assert old.settings["integrator"] == "lsoda"
    new = integrate(st, t_max=5.0, integrator="lsoda")
    assert np.array_equal(old.eg, new.eg)


SCRIPT = """
from odetheory import draw_network, integrate
import simulate
st = draw_network(2, 2, 200, seed=0).state()
a = integrate(st, t_max=5.0)
b = integrate(st, t_max=5.0)
s1 = simulate.simulate(draw_network(2, 2, 200, seed=0), t_max=1.0)
s2 = simulate.simulate(draw_network(2, 2, 200, seed=0), t_max=1.0)
print(a.settings["compile_time"], b.settings["compile_time"], a.wall_time, b.wall_time,
      s1.settings["compile_time"], s2.settings["compile_time"])
"""


def test_compile_time_reported_apart_from_the_run():
    """The first run of a process compiles (or loads) the kernels; that time is
    settings["compile_time"], not wall_time, and later runs report 0."""
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    c1, c2, w1, w2, s1, s2 = map(float, res.stdout.split())
    assert c1 > 0 and c2 == 0 and s1 > 0 and s2 == 0
    assert w1 < c1 and w1 < 10 * w2 + 0.05  # the first run's own time is that of the second, not the compile


def test_compare_summary_reports_compiling_apart():
    code = ("from odetheory.experiments.compare import compare\n"
            "r = compare(Ns=[100], seeds=[0], t_max=5.0, workers=1)\n"
            "print(r.summary())")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = next(x for x in res.stdout.splitlines() if "compute time" in x)
    assert "compiling or loading the kernels first" in line
