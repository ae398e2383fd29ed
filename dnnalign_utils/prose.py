"""Numbers inside sentences: the right form of the word beside a computed count.

A chapter glues these phrases instead of writing "time(s)" or "1 dimensions".
"""

from __future__ import annotations

from dnnalign_utils.conventions import check_int


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`n` with the noun in the form that agrees with it: "1 dimension", "2,171 triplets",
    "0 pairs" (`plural` defaults to the singular + "s")."""
    n = check_int("n", n, 0)
    word = singular if n == 1 else (plural if plural is not None else f"{singular}s")
    return f"{n:,} {word}"


def times(n: int) -> str:
    """How often, in words: "never", "once", "twice", "3 times"."""
    n = check_int("n", n, 0)
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n:,} times")
