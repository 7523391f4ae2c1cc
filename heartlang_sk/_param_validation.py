"""Declared parameter checks: each estimator states its parameters' allowed values once.

An estimator lists, in ``_parameter_constraints``, one constraint (or a tuple of alternatives) per
``__init__`` parameter; :func:`validate_params` checks them all at ``fit`` and raises one
``ValueError`` naming the estimator, the parameter, what is allowed and what was given. Booleans
are never accepted where a number is expected (``True`` is an ``int`` to Python, not to a user).

Examples
--------
>>> from heartlang_sk._param_validation import Integer, Options, validate_params
>>> class Model:
...     _parameter_constraints = {"depth": Integer(1), "size": Options("tiny", "small")}
...     def __init__(self, depth=2, size="tiny"):
...         self.depth, self.size = depth, size
...     def get_params(self):
...         return {"depth": self.depth, "size": self.size}
>>> validate_params(Model(depth=True))
Traceback (most recent call last):
    ...
ValueError: Model: depth must be an integer >= 1, got True
"""

from __future__ import annotations

import numbers
from pathlib import PurePath

import numpy as np

__all__ = ["Boolean", "Estimator", "Integer", "Options", "PathLike", "Real", "RandomState", "validate_params"]


class _Constraint:
    def is_satisfied_by(self, value):  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self):  # pragma: no cover - interface
        raise NotImplementedError


class Integer(_Constraint):
    """An integer (not a bool) in ``[low, high]``; either bound may be ``None``."""

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def is_satisfied_by(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self):
        return "an integer" + _bounds(self.low, self.high, "[", "]")


class Real(_Constraint):
    """A real number (not a bool) between ``low`` and ``high``; ``closed`` says which ends count."""

    def __init__(self, low=None, high=None, closed="both"):
        self.low, self.high, self.closed = low, high, closed

    def is_satisfied_by(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or np.isnan(value):
            return False
        low_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        high_ok = self.high is None or (value <= self.high if self.closed in ("both", "right")
                                        else value < self.high)
        return low_ok and high_ok

    def describe(self):
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return "a number" + _bounds(self.low, self.high, left, right)


class Options(_Constraint):
    """One of the given values (strings, ``None``, ...)."""

    def __init__(self, *options):
        self.options = options

    def is_satisfied_by(self, value):
        return any(value is option or (type(value) is type(option) and value == option)
                   for option in self.options)

    def describe(self):
        return "one of " + ", ".join(repr(option) for option in self.options)


class Boolean(_Constraint):
    """``True`` or ``False``."""

    def is_satisfied_by(self, value):
        return isinstance(value, (bool, np.bool_))

    def describe(self):
        return "True or False"


class PathLike(_Constraint):
    """A folder or file path: ``str`` or :class:`os.PathLike`."""

    def is_satisfied_by(self, value):
        return isinstance(value, (str, PurePath)) or hasattr(value, "__fspath__")

    def describe(self):
        return "a path"


class RandomState(_Constraint):
    """A seed (integer), a :class:`numpy.random.RandomState` or ``None``."""

    def is_satisfied_by(self, value):
        return value is None or isinstance(value, np.random.RandomState) or Integer(0).is_satisfied_by(value)

    def describe(self):
        return "an integer >= 0, a numpy RandomState or None"


class Estimator(_Constraint):
    """An instance of one of the given classes (checked by name, so no import is needed)."""

    def __init__(self, *class_names):
        self.class_names = class_names

    def is_satisfied_by(self, value):
        return any(klass.__name__ in self.class_names for klass in type(value).__mro__)

    def describe(self):
        return "an instance of " + " or ".join(self.class_names)


def _bounds(low, high, left, right):
    if low is not None and high is not None:
        return f" in {left}{low}, {high}{right}"
    if low is not None:
        return f" {'>=' if left == '[' else '>'} {low}"
    if high is not None:
        return f" {'<=' if right == ']' else '<'} {high}"
    return ""


def validate_params(estimator):
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``.

    A parameter may be given one constraint or a tuple of alternatives; ``None`` in the tuple allows
    ``None``. Parameters without a declared constraint are reported as a programming error, so that
    a new parameter cannot go unchecked.
    """
    constraints = getattr(type(estimator), "_parameter_constraints", {})
    name = type(estimator).__name__
    for param, value in estimator.get_params(deep=False).items() if _takes_deep(estimator) \
            else estimator.get_params().items():
        if param not in constraints:
            raise TypeError(f"{name}: parameter {param!r} has no declared constraint")
        allowed = constraints[param]
        allowed = allowed if isinstance(allowed, tuple) else (allowed,)
        if any(rule is None and value is None or rule is not None and rule.is_satisfied_by(value)
               for rule in allowed):
            continue
        described = " or ".join("None" if rule is None else rule.describe() for rule in allowed)
        raise ValueError(f"{name}: {param} must be {described}, got {value!r}")


def _takes_deep(estimator):
    import inspect

    return "deep" in inspect.signature(estimator.get_params).parameters
