"""Activation pairs (student g, teacher g*): their codes in compiled code and the compiled functions that serve them.

``codes(student, teacher)`` gives the integer codes the Problem and the SGD loops carry;
``functions(modules, student, teacher)`` the compiled functions of `modules` for the pair:
the modules' own for built-in activations, copies bound to a user expression's compiled
g, g', g'' otherwise (``binding``).
"""
from functools import lru_cache

from ..errors import InputError
from .activations import USER_STUDENT, USER_TEACHER
from .binding import bind, dispatchers
from .expressions import activation


def _named(spec, option):
    try:
        return activation(spec)
    except InputError as exc:
        raise InputError(str(exc) if option == "activation" else f"{option}: {exc}", option=option) from None


def resolve(student, teacher=None):
    """(student Activation, teacher Activation); the teacher defaults to the student's.
    An unreadable one is an InputError naming activation or teacher_activation."""
    s = _named(student, "activation")
    return s, (s if teacher is None else _named(teacher, "teacher_activation"))


def codes(student, teacher=None):
    """(student code, teacher code) for compiled code: built-ins keep their codes, a user
    expression gets USER_STUDENT, or USER_TEACHER for a teacher expression that differs."""
    s, t = resolve(student, teacher)
    sc = s.code if s.builtin else USER_STUDENT
    if t.builtin:
        return sc, t.code
    return sc, USER_STUDENT if (not s.builtin and t.expression == s.expression) else USER_TEACHER


@lru_cache(maxsize=None)
def _bound(modules, s, t):
    sc, tc = codes(s, t)
    user = {}
    if not s.builtin:
        user[sc] = s
    if not t.builtin:
        user[tc] = t
    if not user:
        return bind(modules)
    return bind(modules, *dispatchers(user))


def functions(modules, student, teacher=None):
    """Namespace of the compiled functions of `modules` (a tuple) for the pair (see above)."""
    return _bound(tuple(modules), *resolve(student, teacher))
