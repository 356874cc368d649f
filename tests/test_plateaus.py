"""The plateau detector on noisy simulations and on exact curves."""
import numpy as np
import pytest

from odetheory import draw_network, integrate, plateau
from odetheory.plateaus import local_slopes
from simulate import simulate


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plateau_found_in_simulation_at_N_500(seed):
    """K = 3, M = 2, η = 0.5: ε_g sits near 0.013 from α ≈ 15 to 100; a simulation at
    N = 500 fluctuates by about 1 % around it and must show the plateau the ODE shows."""
    net = draw_network(3, 2, 500, 1e-2, seed)
    sim = simulate(net, eta=0.5, t_max=300, seed=seed, sampler="reduced")
    ode = integrate(net.state(), eta=0.5, t_max=300)
    found, expected = plateau(sim.t, sim.eg), plateau(ode.t, ode.eg)
    assert found is not None and expected is not None
    assert found[0] == pytest.approx(expected[0], rel=0.1)
    assert found[1] == pytest.approx(expected[1], rel=0.5)
    assert found[1] < 30 and (np.isnan(found[2]) or found[2] > 80)


def test_exact_power_law_and_exact_plateau():
    t = np.geomspace(1e-2, 1e3, 200)
    assert plateau(t, t ** -1.0) is None                       # slope −1 everywhere: no plateau
    assert local_slopes(t, 3 * t ** -0.7) == pytest.approx(np.full(200, -0.7))
    eg = 0.5 / (1 + t) ** 2 + 0.01 / (1 + (t / 100) ** 8)       # falls, sits at ≈ 0.01, drops at 100
    height, start, escape = plateau(t, eg)
    assert height == pytest.approx(0.0102, rel=0.02) and 15 < start < 40 and escape == pytest.approx(100, rel=0.05)
