"""Compiled Gaussian integrals I2, J2, I3, I4 (THEORY.md §2, §4), dispatched on the activation code.

The local fields are jointly Gaussian with zero mean and covariance C. Each kernel
takes the activation code first (``activations``). I2, J2 and I3 take the covariance
entries they need; I4 takes the full covariance matrix C (n, n) and four field
indices, so that exactly repeated fields can be recognised.

    I2(a,b)     = E[g(a) g(b)]
    J2(a,b)     = E[g'(a) g'(b)]
    I3(a,b,c)   = E[g'(a) b g(c)]
    I4(a,b,c,d) = E[g'(a) g'(b) g(c) g(d)]

The closed forms are generated from the sympy derivation (``symbolic``) by ``codegen``
into ``_generated``; ReLU I4, which has no closed form, is the numerical ``relu_i4``.
"""
from ._generated import i2, i3, i4, j2

__all__ = ["i2", "i3", "i4", "j2"]
