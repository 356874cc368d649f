"""The compiled right-hand side for an activation pair (student g, teacher g*).

``rhs_functions(activation, teacher_activation)`` returns a namespace with
``derivatives``, ``state_status``, ``jacobian_without_eta2`` and ``generalisation_error``
of ``rhs``: the module's own functions for built-in activations, copies bound to a user
expression's compiled functions otherwise (``integrals.pairs``).
"""
from ..integrals import averages, mehler, numerical
from ..integrals.pairs import functions
from . import rhs

ODE_MODULES = (numerical, mehler, averages, rhs)


def rhs_functions(activation, teacher_activation=None):
    """Compiled functions of ``rhs`` for the pair (see the module docstring)."""
    return functions(ODE_MODULES, activation, teacher_activation)
