"""The base of every config model: unknown keys are errors, values frozen.

A typo such as `labelz` must fail loudly, not silently match nothing; and
NaN or infinity is no baseline, target or estimate anyone meant.  Its own
module so the config schema and the notify targets it lists can both build
on it without importing each other.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
