"""Exceptions of the package."""


class InputError(ValueError):
    """Bad user input: the message is one line and names the problem."""
