"""The project's data conventions, each written once (CONTRIBUTING.md, 'Conventions').

Every module checks its inputs with these functions, so that one rule gives one behaviour
and one kind of message:

* :class:`DataValidationError` (a ``ValueError``): the one exception for invalid data
  (:class:`DataIntegrityError` when a file's bytes differ from its recorded hash). Its
  message names the file or argument, the row, what was expected and what was found.
* :func:`validate_triplets`: the triplet format: ``int64 (n, 3)``, 0-based object indices,
  three distinct objects per row, the **last column is the odd one out**.
* :func:`triplet_keys`: one ``int64`` key per unordered triplet (its colex rank).
* :func:`as_float_matrix`: a finite, non-empty float64 matrix (weights, features, X/Y).
* :func:`column_correlation`: Pearson r between every column of two matrices.
* the argument checks (:func:`check_int`, :func:`check_real`, :func:`is_integer`,
  :func:`is_real`, :func:`check_field_types`): a number or a config field of the wrong
  type is a ``ValueError`` naming it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "N_OBJECTS",
    "DataIntegrityError",
    "DataValidationError",
    "as_float_matrix",
    "column_correlation",
    "describe_rows",
    "sorted_triplets",
    "triplet_keys",
    "validate_triplets",
]


N_OBJECTS = 1854
"""Number of THINGS object concepts (1,854-row arrays are in the order of
`data/things/metadata/unique_id.txt`)."""


class DataValidationError(ValueError):
    """A data file (or array) does not have the content its loader expects."""


class DataIntegrityError(DataValidationError):
    """A file's bytes differ from the SHA-256 recorded for it."""


# --------------------------------------------------------------------------- triplets

_BASE_NOTE = (
    "; triplet files are read as 0-based: convert a 1-based file first (the loader cannot "
    "tell the base of a file that never uses index 0 or n_objects)"
)


def describe_rows(rows: np.ndarray, limit: int = 10) -> str:
    """The first `limit` row numbers, comma-separated, and how many more there are."""
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{shown}{more}"


def sorted_triplets(
    triplets: Any,
    n_objects: int | None = None,
    *,
    name: str = "triplets",
    allow_empty: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate once; return the C-contiguous int64 array and the columns ``a < b < c`` of
    its row-sorted form (see :func:`validate_triplets` for the checks)."""
    return _checked(triplets, n_objects, name, "row", 0, allow_empty, False)


def _checked(
    triplets: Any,
    n_objects: int | None,
    name: str,
    row_label: str,
    first_row: int,
    allow_empty: bool,
    whole_floats: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    array = np.asarray(triplets)

    def fail(row: int, problem: str, bad: np.ndarray | None = None) -> DataValidationError:
        rows = "" if bad is None else f" (offending {row_label}s {describe_rows(bad + first_row)})"
        return DataValidationError(f"{name}: {row_label} {row + first_row}: {problem}{rows}")

    if array.ndim != 2 or array.shape[1] != 3:
        found = f"{array.shape[1]} columns" if array.ndim == 2 else "another shape"
        raise fail(
            0,
            f"expected 3 columns (i, j, odd one out), an array of shape (n, 3); found {found}, "
            f"shape {array.shape}",
        )
    if array.shape[0] == 0:
        if not allow_empty:
            raise fail(0, "empty; expected at least one triplet")
        empty = np.empty(0, dtype=np.int64)
        return np.empty((0, 3), dtype=np.int64), empty, empty, empty
    if not np.issubdtype(array.dtype, np.integer):
        whole = np.zeros(len(array), dtype=bool)
        if np.issubdtype(array.dtype, np.floating):
            whole = (np.isfinite(array) & (array == np.round(array))).all(axis=1)
        if not (whole_floats and whole.all()):
            bad = np.flatnonzero(~whole)
            row = int(bad[0]) if bad.size else 0
            raise fail(
                row,
                "expected integer object indices (an integer dtype), found "
                f"{array[row].tolist()} (dtype {array.dtype})",
            )
    # Cheap whole-array reductions first; the per-row search only runs on failure. The range
    # is checked before the cast to int64, which would wrap a uint64 above int64.
    upper = np.iinfo(np.int64).max if n_objects is None else n_objects
    if array.min() < 0 or array.max() >= upper:
        bad = np.flatnonzero(((array < 0) | (array >= upper)).any(axis=1))
        row = int(bad[0])
        which = "negative index" if (array[row] < 0).any() else "index >= n_objects"
        expected = (
            "non-negative indices below 2**63"
            if n_objects is None
            else f"0-based indices in [0, {n_objects - 1}]"
        )
        raise fail(
            row,
            f"index out of range ({which}): expected {expected} (n_objects={n_objects}), "
            f"found {array[row].tolist()}{_BASE_NOTE if n_objects is not None else ''}",
            bad,
        )
    array = np.ascontiguousarray(array, dtype=np.int64)
    x, y, z = array.T.copy()  # contiguous columns: the arithmetic below is faster
    if ((x < y) & (y < z)).all():  # already sorted and distinct (e.g. from the sampler)
        return array, x, y, z
    lo, hi = np.minimum(x, y), np.maximum(x, y)
    a, c = np.minimum(lo, z), np.maximum(hi, z)
    b = x + y + z - a - c
    distinct = (a < b) & (b < c)
    if not distinct.all():
        bad = np.flatnonzero(~distinct)
        row = int(bad[0])
        raise fail(
            row,
            "the same object twice in a triplet: expected three distinct indices, found "
            f"{array[row].tolist()}",
            bad,
        )
    return array, a, b, c


def validate_triplets(
    triplets: Any,
    n_objects: int | None = None,
    *,
    name: str = "triplets",
    row_label: str = "row",
    first_row: int = 0,
    allow_empty: bool = False,
    whole_floats: bool = False,
) -> np.ndarray:
    """Return ``triplets`` as a C-contiguous ``int64 (n, 3)`` array after checking it.

    Checks: 2-D with 3 columns; at least one row (unless ``allow_empty``); an integer dtype
    (a float array is refused, unless ``whole_floats`` and every value is a whole number, as
    in a numpy file written from floats: a file loader's choice); ``0 <= index < n_objects``
    (``None``: only non-negative); three distinct objects per row. Raises
    :class:`DataValidationError` naming ``name`` (an argument or a file), the first
    offending row (``first_row`` is the number of row 0 in messages: 0 for arrays, 1 for
    the lines of a file) and, for row-wise problems, all offending rows.
    """
    return _checked(triplets, n_objects, name, row_label, first_row, allow_empty, whole_floats)[0]


def triplet_keys(
    triplets: Any, n_objects: int | None = None, *, allow_empty: bool = False
) -> np.ndarray:
    """``int64`` key of each row's unordered triplet: the colex rank ``C(c,3)+C(b,2)+a``.

    ``a < b < c`` is the sorted row; the key is the same for every column order, distinct
    for distinct unordered triplets, and in ``[0, C(n_objects, 3))``. Exact in int64 for
    up to about 3.8 million objects. The rows are checked as by :func:`validate_triplets`.
    """
    _, a, b, c = sorted_triplets(triplets, n_objects, allow_empty=allow_empty)
    return c * (c - 1) * (c - 2) // 6 + b * (b - 1) // 2 + a


# --------------------------------------------------------------------------- matrices


def as_float_matrix(
    x: Any,
    name: str,
    *,
    allow_1d: bool = False,
    min_rows: int = 1,
    what: str = "(rows × columns)",
    first_row: int = 0,
) -> np.ndarray:
    """``x`` as a finite, non-empty float64 2-D array (a 1-D one becomes a column when
    ``allow_1d``); :class:`DataValidationError` naming ``name``, the shape or dtype, or the
    first non-finite cell (``first_row``: the number of row 0 in messages, 1 for a file)."""
    arr = np.asarray(x)
    if arr.dtype == object:  # e.g. a list of numbers mixing Python ints and floats
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(f"{name}: expected real numbers ({exc})") from exc
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise DataValidationError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim == 1 and allow_1d:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] == 0 or arr.shape[0] < max(min_rows, 1):
        kind = "1-D or 2-D" if allow_1d else "2-D"
        rows = f" with at least {min_rows} rows" if min_rows > 1 else ""
        raise DataValidationError(
            f"{name}: expected a {kind} {what} matrix, non-empty{rows}, got shape {arr.shape}"
        )
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        object_note = f" (0-based object {row})" if first_row else ""
        raise DataValidationError(
            f"{name}: row {row + first_row}{object_note}, column {col}: non-finite value "
            f"{float(arr[row, col])} ({int(bad.sum())} non-finite values in all); expected "
            "finite numbers"
        )
    return arr


def column_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between every column of a and every column of b; 0 where a column is
    constant (no variance means no evidence of correspondence)."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    na = np.sqrt((a * a).sum(0))
    nb = np.sqrt((b * b).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a.T @ b) / np.outer(na, nb)
    r[~np.isfinite(r)] = 0.0
    return np.clip(r, -1.0, 1.0)


# ------------------------------------------------------------------ argument checks
# One rule, one message: each check raises `ValueError` naming the argument, what was
# expected and what was given. `bool` is never accepted as a number (``True`` is an `int`
# to Python, not to a user).


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
        # a string under `from __future__ import annotations`, else the type itself
        annotation = getattr(field.type, "__name__", field.type)
        names = [part.strip() for part in str(annotation).split("|")]
        if not names or any(n not in _TYPE_CHECKS for n in names):
            continue
        value = getattr(obj, field.name)
        if not any(_TYPE_CHECKS[n](value) for n in names):
            wanted = " or ".join("finite float" if n == "float" else n for n in names)
            raise ValueError(
                f"{type(obj).__name__}.{field.name}: expected {wanted}, "
                f"got {value!r} ({type(value).__name__})"
            )
