"""Argument checks shared by the modules: one rule, one message.

Each check raises `ValueError` naming the argument, what was expected and what was given.
`bool` is never accepted as a number (``True`` is an `int` to Python, not to a user).
"""

from __future__ import annotations

import math
import numbers
from typing import Any


def is_integer(value: Any) -> bool:
    """Whether `value` is an integer (Python or numpy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """Whether `value` is a real number (int or float, Python or numpy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """`value` as an int; ValueError unless it is an integer (not a bool) >= `minimum`."""
    if not is_integer(value):
        raise ValueError(f"{name}: expected an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        wanted = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}"
        )
        raise ValueError(f"{name}: expected {wanted}, got {value!r}")
    return int(value)


def check_real(name: str, value: Any) -> float:
    """`value` as a float; ValueError unless it is a real number (int or float, not bool)."""
    if not is_real(value):
        raise ValueError(f"{name}: expected a number, got {value!r} ({type(value).__name__})")
    return float(value)


_TYPE_CHECKS = {
    "int": is_integer,
    "float": lambda v: is_real(v) and math.isfinite(v),  # an int is a valid float
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "None": lambda v: v is None,
}


def check_field_types(obj: Any) -> None:
    """Check every field of a dataclass instance against its annotation.

    Annotations made of ``int``, ``float``, ``str``, ``bool`` and ``None`` joined by
    ``|`` are checked (``int`` accepted for ``float``; a ``float`` must be finite); other
    annotations are skipped.
    """
    import dataclasses

    for field in dataclasses.fields(obj):
        names = [part.strip() for part in str(field.type).split("|")]
        if not names or any(n not in _TYPE_CHECKS for n in names):
            continue
        value = getattr(obj, field.name)
        if not any(_TYPE_CHECKS[n](value) for n in names):
            wanted = " or ".join("finite float" if n == "float" else n for n in names)
            raise ValueError(
                f"{type(obj).__name__}.{field.name}: expected {wanted}, "
                f"got {value!r} ({type(value).__name__})"
            )
