"""The sympy derivation against THEORY.md §4 (transcribed here independently) and
the compiled kernels against the derivation, at random points and repeated fields."""
import math

import numpy as np
import pytest
import sympy as sp

from gaussian import random_covariance
from odetheory.integrals import symbolic as S
from odetheory.integrals import kernels
from odetheory.integrals.activations import CLOSED_FORM as ACTIVATIONS

PATTERNS3 = [(0, 1, 2), (0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 0, 0)]
PATTERNS4 = [(0, 1, 2, 3), (0, 0, 1, 2), (0, 1, 2, 2), (0, 1, 0, 1), (0, 0, 1, 1), (0, 1, 1, 2),
             (0, 0, 0, 0), (1, 0, 0, 2)]


def covariances():
    rng = np.random.default_rng(1)
    return [random_covariance(4, rng=rng) for _ in range(6)] + [random_covariance(4, rank=2, rng=rng)
                                                                  for _ in range(3)]


# THEORY.md §4, transcribed as plain Python for comparison
def theory_i2(act, C, a, b):
    if act == "erf":
        return 2 / math.pi * math.asin(C[a, b] / math.sqrt((1 + C[a, a]) * (1 + C[b, b])))
    if act == "relu":
        rho = np.clip(C[a, b] / math.sqrt(C[a, a] * C[b, b]), -1, 1)
        return math.sqrt(C[a, a] * C[b, b]) / (2 * math.pi) * (math.sqrt(1 - rho**2) + rho * (math.pi - math.acos(rho)))
    return C[a, b]


def theory_j2(act, C, a, b):
    if act == "erf":
        return 2 / math.pi / math.sqrt((1 + C[a, a]) * (1 + C[b, b]) - C[a, b]**2)
    if act == "relu":
        return 0.25 + math.asin(np.clip(C[a, b] / math.sqrt(C[a, a] * C[b, b]), -1, 1)) / (2 * math.pi)
    return 1.0


def theory_i3(act, C, a, b, c):
    if act == "erf":
        lam3 = (1 + C[a, a]) * (1 + C[c, c]) - C[a, c]**2
        return 2 / math.pi / math.sqrt(lam3) * (C[b, c] * (1 + C[a, a]) - C[a, b] * C[a, c]) / (1 + C[a, a])
    if act == "relu":
        rho = np.clip(C[a, c] / math.sqrt(C[a, a] * C[c, c]), -1, 1)
        return (C[a, b] * math.sqrt(max(C[a, a] * C[c, c] - C[a, c]**2, 0)) / (2 * math.pi * C[a, a])
                + C[b, c] * (0.25 + math.asin(rho) / (2 * math.pi)))
    return C[b, c]


def theory_i4(act, C, a, b, c, d):
    if act == "linear":
        return C[c, d]
    lam4 = (1 + C[a, a]) * (1 + C[b, b]) - C[a, b]**2
    lam0 = (lam4 * C[c, d] - C[b, c] * C[b, d] * (1 + C[a, a]) - C[a, c] * C[a, d] * (1 + C[b, b])
            + C[a, b] * C[a, c] * C[b, d] + C[a, b] * C[a, d] * C[b, c])
    lam1 = (lam4 * (1 + C[c, c]) - C[b, c]**2 * (1 + C[a, a]) - C[a, c]**2 * (1 + C[b, b])
            + 2 * C[a, b] * C[a, c] * C[b, c])
    lam2 = (lam4 * (1 + C[d, d]) - C[b, d]**2 * (1 + C[a, a]) - C[a, d]**2 * (1 + C[b, b])
            + 2 * C[a, b] * C[a, d] * C[b, d])
    return 4 / math.pi**2 / math.sqrt(lam4) * math.asin(np.clip(lam0 / math.sqrt(lam1 * lam2), -1, 1))


def entries(C, idx):
    """Keyword covariance entries for fields named a, b, c, d = idx."""
    names = "abcd"
    return {f"C_{names[i]}{names[j]}": C[idx[i], idx[j]]
            for i in range(len(idx)) for j in range(i, len(idx))}


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_two_routes_to_j2_agree_symbolically(act):
    assert sp.simplify(S.j2(act) - S.j2_price(act)) == 0


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_derived_forms_match_theory(act):
    i2, j2, i3 = S.numeric(S.i2(act)), S.numeric(S.j2(act)), S.numeric(S.i3(act))
    i4 = S.numeric(S.i4(act)) if act != "relu" else None
    for C in covariances():
        for a, b in [(0, 1), (0, 0), (2, 3)]:
            assert i2(**entries(C, (a, b))) == pytest.approx(theory_i2(act, C, a, b), abs=1e-12)
            assert j2(**entries(C, (a, b))) == pytest.approx(theory_j2(act, C, a, b), abs=1e-12)
        for idx in PATTERNS3:
            assert i3(**entries(C, idx)) == pytest.approx(theory_i3(act, C, *idx), abs=1e-12)
        if i4 is not None:
            for idx in PATTERNS4:
                assert i4(**entries(C, idx)) == pytest.approx(theory_i4(act, C, *idx), abs=1e-12)


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_kernels_match_derivation(act):
    code = ACTIVATIONS[act].code
    i2, j2, i3 = S.numeric(S.i2(act)), S.numeric(S.j2(act)), S.numeric(S.i3(act))
    i4 = S.numeric(S.i4(act)) if act != "relu" else None
    for C in covariances():
        for a, b in [(0, 1), (0, 0), (1, 3)]:
            assert kernels.i2(code, C[a, a], C[b, b], C[a, b]) == pytest.approx(i2(**entries(C, (a, b))), abs=1e-12)
            assert kernels.j2(code, C[a, a], C[b, b], C[a, b]) == pytest.approx(j2(**entries(C, (a, b))), abs=1e-12)
        for a, b, c in PATTERNS3:
            got = kernels.i3(code, C[a, a], C[b, b], C[c, c], C[a, b], C[a, c], C[b, c])
            assert got == pytest.approx(i3(**entries(C, (a, b, c))), abs=1e-12)
        if i4 is not None:
            for idx in PATTERNS4:
                assert kernels.i4(code, C, *idx) == pytest.approx(i4(**entries(C, idx)), abs=1e-12)


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_symmetries(act):
    code = ACTIVATIONS[act].code
    for C in covariances():
        assert kernels.i2(code, C[0, 0], C[1, 1], C[0, 1]) == kernels.i2(code, C[1, 1], C[0, 0], C[1, 0])
        base = kernels.i4(code, C, 0, 1, 2, 3)
        assert kernels.i4(code, C, 1, 0, 2, 3) == pytest.approx(base, abs=1e-13)
        assert kernels.i4(code, C, 0, 1, 3, 2) == pytest.approx(base, abs=1e-13)
