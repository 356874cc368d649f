"""Activations from expressions: sympy parses the text, checks it, differentiates it and picks the route.

``activation(spec)`` is the one entry point: an Activation passes through, a built-in
name gives the built-in, and any other text is read as an expression in ``x``
(sympy syntax: ``tanh(2*x)``, ``x**3 - 3*x``, ``log(1 + exp(x))``). An expression equal
to a built-in (e.g. ``x**3 - 3*x``) becomes that built-in. Otherwise:

* it must parse, have no free symbol but x, and be finite on the real line (checked,
  with g' and g'', on a grid of [−30, 30]; a g that grows like exp(x²) fails there);
* a polynomial takes the polynomial route (exact Gaussian moments); A·erf(s·x) and
  A·relu(s·x) (numbers A, s ≠ 0) the closed forms of erf and relu, with the covariance
  scaled by s; anything else the numerical one; the strip of analyticity that sets the quadrature step is estimated
  from where |g(x + iy)| first blows up (at most 3);
* g, g', g'' are printed as Python source (sympy's code printer; δ-functions of
  derivatives of kinks are dropped, as for ReLU) and compiled by ``binding``.
"""
import math
from functools import lru_cache

import numpy as np

from ..errors import InputError
from .activations import (BUILTINS, CLOSED_FORM_ROUTE, ERF, NUMERICAL_ROUTE, POLYNOMIAL_ROUTE, RELU, USER_STUDENT,
                          Activation, builtin_activation)
from .binding import user_functions
from .polynomial import MAX_TERMS

MAX_DEGREE = MAX_TERMS - 1  # highest polynomial degree of the polynomial route


def _sympy():
    import sympy  # deferred: heavy, and needed only for user expressions

    return sympy


def _parse(text):
    sp = _sympy()
    x = sp.Symbol("x", real=True)
    names = {"x": x, "Phi": lambda z: (1 + sp.erf(z / sp.sqrt(2))) / 2, "relu": lambda z: sp.Max(0, z),
             "sigmoid": lambda z: 1 / (1 + sp.exp(-z))}
    try:
        expr = sp.parse_expr(text, local_dict=names)
    except Exception as exc:  # sympy raises SyntaxError, TokenError, TypeError, ...
        raise InputError(f"activation {text!r} does not parse as an expression in x "
                         f"({type(exc).__name__})") from None
    if not isinstance(expr, sp.Expr):
        raise InputError(f"activation {text!r} is not an expression in x")
    extra = sorted(str(s) for s in expr.free_symbols - {x})
    if extra:
        raise InputError(f"activation {text!r} has free symbols other than x: {', '.join(extra)}")
    if x not in expr.free_symbols:
        raise InputError(f"activation {text!r} does not depend on x")
    return expr, x


class _Printer:
    """sympy's Python printer with the functions numba compiles (math module) and the
    derivatives of kinks: Heaviside(x) → 1.0 if x > 0 else 0.0, DiracDelta → 0."""

    def __init__(self):
        sp = _sympy()
        from sympy.printing.pycode import PythonCodePrinter

        class Printer(PythonCodePrinter):
            def _print_Heaviside(self, e):
                return f"(1.0 if ({self._print(e.args[0])}) > 0 else 0.0)"

            def _print_DiracDelta(self, e):
                return "0.0"

            def _print_sign(self, e):
                a = self._print(e.args[0])
                return f"(1.0 if ({a}) > 0 else (-1.0 if ({a}) < 0 else 0.0))"

            def _print_Max(self, e):
                return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

            def _print_Min(self, e):
                return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

        self.sp, self.printer = sp, Printer({"fully_qualified_modules": True, "standard": "python3"})

    def __call__(self, expr):
        text = self.printer.doprint(expr)
        if "Not supported" in text or "# " in text:
            text = self.printer.doprint(expr.rewrite(self.sp.exp))
        if "Not supported" in text or "# " in text:
            raise InputError(f"activation {expr} uses a function the compiler does not know")
        return text


def _finite(values):
    with np.errstate(all="ignore"):
        return bool(np.all(np.isfinite(values)))


def _affine(expr, x):
    """(base code, amplitude, scale) when expr = amplitude · base(scale · x) for the built-in
    erf (erf(x/√2)) or relu, None otherwise."""
    sp = _sympy()
    amplitude, rest = expr.as_coeff_Mul()
    if rest.func == sp.erf:
        base, arg, factor = ERF, rest.args[0], sp.sqrt(2)  # erf(s x) = erf((√2 s x)/√2)
    elif rest.func == sp.Max and len(rest.args) == 2 and sp.S.Zero in rest.args:
        base, arg, factor = RELU, next(a for a in rest.args if a != 0), 1
    else:
        return None
    scale = sp.simplify(arg / x)
    if scale.free_symbols or not scale.is_real or scale == 0:
        return None
    return base, float(amplitude), float(scale * factor)


def _strip(fun, scale):
    """Estimated half-width of g's strip of analyticity: the first y at which |g(x + iy)| on
    x ∈ [−10, 10] exceeds 30 times its real-axis scale (near a pole |g| grows like the inverse
    distance; an entire g such as erf passes this bound only at y ≈ 2.3), at most 3."""
    x = np.linspace(-10.0, 10.0, 4001)
    for y in np.arange(0.01, 3.0, 0.01):
        with np.errstate(all="ignore"):
            values = np.abs(np.asarray(fun(x + 1j * y), dtype=complex))
        if not _finite(values) or np.max(values) > 30.0 * scale:
            return max(0.01, y - 0.01)
    return 3.0


@lru_cache(maxsize=64)
def parse_activation(text):
    """The Activation for an expression in x (see the module docstring)."""
    sp = _sympy()
    expr, x = _parse(text)
    grid = np.linspace(-30.0, 30.0, 6001)
    # δ-functions from the derivatives of kinks are dropped (as for ReLU; the printer does the same)
    derivs = [e.replace(sp.DiracDelta, lambda *args: sp.S.Zero) for e in (expr, sp.diff(expr, x), sp.diff(expr, x, 2))]
    for order, e in enumerate(derivs):
        fun = sp.lambdify(x, e, modules=["scipy", "numpy"])
        try:
            with np.errstate(all="ignore"):
                values = np.broadcast_to(np.asarray(fun(grid), dtype=float), grid.shape)
        except (NameError, TypeError, ValueError):
            raise InputError(f"activation {text!r} uses a function the compiler does not know") from None
        if not _finite(values):
            bad = grid[~np.isfinite(values)][0]
            what = ("is", "g'", "g''")[order]
            raise InputError(f"activation {text!r} is not finite on the real line ({what} at x = {bad:g})"
                             if order == 0 else f"activation {text!r}: {what} is not finite at x = {bad:g}")
    real = sp.lambdify(x, expr, modules=["scipy", "numpy"])
    probe = np.linspace(-3.0, 3.0, 13)
    for builtin in BUILTINS.values():
        other = sp.lambdify(x, sp.sympify(builtin.expression, locals={"x": x}), modules=["scipy", "numpy"])
        with np.errstate(all="ignore"):
            close = np.allclose(np.asarray(real(probe), dtype=float), other(probe), rtol=1e-13, atol=1e-13)
        if close and sp.simplify(expr - sp.sympify(builtin.expression, locals={"x": x})) == 0:
            return builtin
    odd = sp.simplify(expr.subs(x, -x) + expr) == 0
    coefficients = ()
    if expr.is_polynomial(x):
        poly = sp.Poly(sp.expand(expr), x)
        if poly.degree() > MAX_DEGREE:
            raise InputError(f"activation {text!r}: polynomials of degree above {MAX_DEGREE} are not supported")
        coefficients = tuple(float(c) for c in reversed(poly.all_coeffs()))
        route, d = POLYNOMIAL_ROUTE, math.inf
    else:
        route = NUMERICAL_ROUTE
        scale = max(1.0, float(np.max(np.abs(real(np.linspace(-10, 10, 2001))))))
        d = _strip(sp.lambdify(x, expr, modules=["scipy", "numpy"]), scale)
    affine = _affine(expr, x)
    if affine is not None:
        route, closed = CLOSED_FORM_ROUTE, next(a for a in BUILTINS.values() if a.code == affine[0]).closed_forms
    else:
        affine, closed = (-1, 1.0, 1.0), ()
    printer = _Printer()
    bodies = [printer(e) for e in derivs]
    source = "\n".join(f"def {name}(x):\n    return {body}\n"
                       for name, body in zip(("g", "g_prime", "g_second"), bodies))
    name = str(expr)
    return Activation(name, USER_STUDENT, f"g(x) = {name}", bool(odd), closed, route, name, source, coefficients,
                      float(d), user_functions(source), *affine)


def activation(spec):
    """The Activation for `spec`: an Activation, a built-in name, or an expression in x."""
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str) and spec.strip().lower() in BUILTINS:
        return builtin_activation(spec)
    if not isinstance(spec, str):
        raise InputError(f"unknown activation {spec!r}; choose one of {', '.join(BUILTINS)} or an expression in x")
    return parse_activation(spec)
