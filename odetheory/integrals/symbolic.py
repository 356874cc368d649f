"""Symbolic derivation of the Gaussian integrals I2, J2, I3, I4 (sympy).

Nothing here is transcribed from a table: each integral is derived from a small
set of elementary facts, and the compiled kernels in ``kernels`` are checked
against these expressions in the tests.

Facts used (x Gaussian, zero mean, covariance C; THEORY.md §4):

* Price's theorem: ∂E[F(a,b)]/∂C_ab = E[∂_a ∂_b F]; ∂E[F]/∂C_aa = ½ E[∂_a² F].
* Stein's lemma: E[b h(a,c)] = C_ab E[∂_a h] + C_bc E[∂_c h].
* Gaussian factors: for D = diag(β, β) on fields (a, b),
  E[exp(−½ xᵀ D x) h(x)] = det(I + D C_ab)^(−½) E'[h], where E' is the Gaussian
  average with covariance C' = C − C_·,ab D (I + C_ab D)^(−1) C_ab,· (no inverse of
  C needed, so singular C is fine).

Route per activation:

* erf (g' = √(2/π) e^{−x²/2}) and linear (g' = 1): g' is a Gaussian factor
  κ exp(−β x²/2). J2 follows from the Gaussian-factor fact; I2 is J2 integrated
  over C_ab from 0 (Price), where I2 = E[g]² = 0 because g is odd.
* relu: g'' = δ, so E[g''(a) g''(b)] is the bivariate density at the origin,
  1/(2π√(C_aa C_bb − C_ab²)). Integrating over C_ab from 0, where the average
  factorises (E[θ] = ½, E[relu(a)] = √(C_aa/2π)), gives J2 and then I2.
* all: J2 is re-derived as ∂I2/∂C_ab (Price) as a consistency check, and
  I3(a,b,c) = 2 C_ab ∂I2(a,c)/∂C_aa + C_bc ∂I2(a,c)/∂C_ac (Stein, then Price).
* erf, linear: I4(a,b,c,d) = κ² det(I + D C_ab)^(−½) I2 evaluated on C'.
  ReLU I4 has no closed form (see ``relu_i4``).
"""
from functools import lru_cache

import sympy as sp

# covariance entries of four fields a, b, c, d
caa, cbb, ccc, cdd = sp.symbols("C_aa C_bb C_cc C_dd", positive=True)
cab, cac, cad, cbc, cbd, ccd = sp.symbols("C_ab C_ac C_ad C_bc C_bd C_cd", real=True)
_s = sp.Symbol("s", real=True)

GAUSSIAN_DERIVATIVE = {  # g'(x) = κ exp(−β x²/2), g odd
    "erf": (sp.sqrt(2 / sp.pi), sp.Integer(1)),
    "linear": (sp.Integer(1), sp.Integer(0)),
}
CLOSED_FORM = ("erf", "linear", "relu")


def gaussian_factor(kappa, beta, C2):
    """E[κ e^{−βa²/2} κ e^{−βb²/2}] and the map C ↦ C' for the 2×2 block C2 of (a, b)."""
    D = sp.eye(2) * beta
    P = sp.eye(2) + C2 * D
    return kappa**2 / sp.sqrt(P.det()), D * P.inv()


def _integrate_from_zero(derivative, value_at_zero, var):
    """value_at_zero + ∫_0^var derivative(var → s) ds (Price's theorem along C_ab)."""
    primitive = sp.integrate(derivative.subs(var, _s), (_s, 0, var))
    return sp.simplify(value_at_zero + primitive)


@lru_cache(maxsize=None)
def derive_pair(activation):
    """(I2, J2) as expressions in C_aa, C_bb, C_ab, derived along the Price ladder."""
    if activation in GAUSSIAN_DERIVATIVE:
        kappa, beta = GAUSSIAN_DERIVATIVE[activation]
        J2, _ = gaussian_factor(kappa, beta, sp.Matrix([[caa, cab], [cab, cbb]]))
        J2 = sp.simplify(J2)
        I2 = _integrate_from_zero(J2, sp.Integer(0), cab)
    elif activation == "relu":
        density_at_zero = 1 / (2 * sp.pi * sp.sqrt(caa * cbb - cab**2))
        J2 = _integrate_from_zero(density_at_zero, sp.Rational(1, 4), cab)
        I2 = _integrate_from_zero(J2, sp.sqrt(caa * cbb) / (2 * sp.pi), cab)
    else:
        raise ValueError(f"unknown activation {activation!r}")
    return I2, J2


def i2(activation):
    """E[g(a) g(b)] in C_aa, C_bb, C_ab."""
    return derive_pair(activation)[0]


def j2(activation):
    """E[g'(a) g'(b)] in C_aa, C_bb, C_ab (from the ladder)."""
    return derive_pair(activation)[1]


def j2_price(activation):
    """E[g'(a) g'(b)] = ∂I2/∂C_ab: the second route to J2."""
    return sp.simplify(sp.diff(i2(activation), cab))


@lru_cache(maxsize=None)
def a1(activation):
    """E[g''(a) g(b)] = 2 ∂I2/∂C_aa (Price) in C_aa, C_bb, C_ab: with a2 = J2, Stein's lemma
    gives I3(a,b,c) = C_ab a1(a,c) + C_bc a2(a,c), the form the right-hand side uses."""
    return sp.simplify(2 * sp.diff(i2(activation), caa))


@lru_cache(maxsize=None)
def i3(activation):
    """E[g'(a) b g(c)] in C_aa, C_cc, C_ab, C_ac, C_bc (Stein's lemma, then Price)."""
    I2ac = i2(activation).subs({cbb: ccc, cab: cac}, simultaneous=True)
    return sp.simplify(2 * cab * sp.diff(I2ac, caa) + cbc * sp.diff(I2ac, cac))


@lru_cache(maxsize=None)
def i4(activation):
    """E[g'(a) g'(b) g(c) g(d)] in the ten entries of C (erf and linear only)."""
    if activation not in GAUSSIAN_DERIVATIVE:
        raise ValueError(f"I4 has no closed form for {activation!r}")
    kappa, beta = GAUSSIAN_DERIVATIVE[activation]
    weight, DPinv = gaussian_factor(kappa, beta, sp.Matrix([[caa, cab], [cab, cbb]]))
    X = sp.Matrix([[cac, cad], [cbc, cbd]])  # Cov((a, b), (c, d))
    Cp = sp.Matrix([[ccc, ccd], [ccd, cdd]]) - X.T * DPinv * X
    I2cd = i2(activation).subs({caa: sp.Symbol("p"), cbb: sp.Symbol("q"), cab: sp.Symbol("r")})
    I2cd = I2cd.subs({sp.Symbol("p"): Cp[0, 0], sp.Symbol("q"): Cp[1, 1], sp.Symbol("r"): Cp[0, 1]},
                     simultaneous=True)
    return weight * I2cd


SYMBOLS = {"C_aa": caa, "C_bb": cbb, "C_cc": ccc, "C_dd": cdd, "C_ab": cab, "C_ac": cac,
           "C_ad": cad, "C_bc": cbc, "C_bd": cbd, "C_cd": ccd}


def numeric(expr):
    """A float function of keyword covariance entries (C_aa=..., C_ab=..., ...).

    Evaluated with mpmath; at singular covariances rounding can leave an imaginary
    part of the order of machine precision, which is dropped.
    """
    names = sorted(str(x) for x in expr.free_symbols)
    f = sp.lambdify([SYMBOLS[n] for n in names], expr, modules="mpmath")

    def evaluate(**entries):
        value = complex(f(*(entries[n] for n in names)))
        if abs(value.imag) > 1e-7:
            raise ValueError(f"complex value {value} at {entries}")
        return value.real
    return evaluate
