"""Every compiled kernel against a 10^7-sample Monte Carlo average (within 4 standard
errors), for random, repeated-field and singular covariances."""
import numpy as np
import pytest

from gaussian import g, g_prime, mc_average, random_covariance
from odetheory.integrals import kernels
from odetheory.integrals.activations import CLOSED_FORM as ACTIVATIONS

PAIRS = [(0, 1), (0, 0), (2, 3)]
TRIPLES = [(0, 1, 2), (0, 0, 1), (0, 1, 0), (0, 1, 1), (3, 3, 3)]
QUADS = [(0, 1, 2, 3), (0, 0, 1, 2), (0, 1, 2, 2), (0, 1, 0, 1), (0, 0, 1, 1), (2, 2, 2, 2), (0, 1, 1, 3)]

CASES = {"full-rank": random_covariance(4, rng=11), "rank-2": random_covariance(4, rank=2, rng=12)}


def _estimates(act, x):
    G, D = g(act, x), g_prime(act, x)
    cols = [G[:, a] * G[:, b] for a, b in PAIRS]
    cols += [D[:, a] * D[:, b] for a, b in PAIRS]
    cols += [D[:, a] * x[:, b] * G[:, c] for a, b, c in TRIPLES]
    cols += [D[:, a] * D[:, b] * G[:, c] * G[:, d] for a, b, c, d in QUADS]
    return np.column_stack(cols)


def _kernel_values(act, C):
    code = ACTIVATIONS[act].code
    vals = [kernels.i2(code, C[a, a], C[b, b], C[a, b]) for a, b in PAIRS]
    vals += [kernels.j2(code, C[a, a], C[b, b], C[a, b]) for a, b in PAIRS]
    vals += [kernels.i3(code, C[a, a], C[b, b], C[c, c], C[a, b], C[a, c], C[b, c]) for a, b, c in TRIPLES]
    vals += [kernels.i4(code, C, *q) for q in QUADS]
    return np.array(vals)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_kernels_against_monte_carlo(act, case):
    C = CASES[case]
    mean, se = mc_average(C, lambda x: _estimates(act, x), seed=hash((act, case)) % 2**32)
    got = _kernel_values(act, C)
    if act == "linear":  # exact identities: the MC error is only from sampling
        se = np.maximum(se, 1e-12)
    z = np.abs(got - mean) / np.maximum(se, 1e-15)
    labels = ([f"I2{p}" for p in PAIRS] + [f"J2{p}" for p in PAIRS] + [f"I3{t}" for t in TRIPLES]
              + [f"I4{q}" for q in QUADS])
    assert np.all(np.isfinite(got))
    bad = [(labels[i], got[i], mean[i], se[i]) for i in np.nonzero(~(z <= 4))[0]]
    assert not bad, bad
