"""The base of every config model: unknown keys are errors, values frozen;
and `accepted`, the body of a validator that hands a value to its parser.

A typo such as `labelz` must fail loudly, not silently match nothing; and
NaN or infinity is no baseline, target or estimate anyone meant.  Its own
module so the config schema and the connectors' blocks (notify
targets among them) can all build on it without importing each other.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SinkBlock(Strict):
    """What every `sink:` block holds besides its own keys: what the core
    reads of it, so a new sink's config cannot lack it."""
    owners_tab: bool = True          # write the per-person Owners tab


def accepted(value: T, parse: Callable[[T], object], expected: str | Callable[[Exception], str],
             errors: type[Exception] | tuple[type[Exception], ...] = Exception) -> T:
    """`value` as it came when `parse` reads it; otherwise a ValueError saying
    what was expected (pydantic puts the key before it).  The parser's own
    words appear only where `expected`, a function of the error, quotes
    them: some may repeat a secret the value holds (a database URL's password)."""
    try:
        parse(value)
    except errors as exc:
        raise ValueError(expected(exc) if callable(expected) else expected) from None
    return value
