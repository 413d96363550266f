"""The plan in the config: outcomes with their metric, baseline, target and
checkpoints, the levers that should move them (with a leading indicator),
guardrails, and the match blocks that tie tickets to levers.  Strict
pydantic models like the rest of the schema (sync.core.config)."""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import regex
from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from sync.core.strict import Strict, accepted

# Ids are named by tags (`lever:<id>`) and written as sheet cells: letters,
# digits and - _ . only, so no id can start a formula or hide in a label.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError("expected an id of letters, digits, `-`, `_` or `.` "
                         f"(tags name it as lever:<id>), got {value!r}")
    return value


Ident = Annotated[str, AfterValidator(_id)]


def _listify(value: Any) -> Any:
    # "one value or a list (any of them)": normalise to a list of strings.
    if value is None:
        return value
    items = value if isinstance(value, list) else [value]
    for v in items:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            # YAML has already turned 1.10 into 1.1 and 0012 into 10: the text
            # the person meant is gone, so say how to keep it.
            raise ValueError(f"expected text; YAML read this value as the number {v!r}: "
                             "put it in quotes (\"1.10\") to match it as written")
    return items


Values = Annotated[list[str], BeforeValidator(_listify), Field(min_length=1)]


def _metric_scale(value: float) -> float:
    # A metric reading past ±1e15 is refused (sync/core/numbers.py), so a plan
    # figure past it could never be met; and -1e308..1e308 would overflow
    # every progress figure (the span is past any float).
    if abs(value) > 1e15:
        raise ValueError(f"expected a number between -1e15 and 1e15 (a metric's range), got {value:g}")
    return value


MetricValue = Annotated[float, AfterValidator(_metric_scale)]


GLOB_FIELDS = ("labels", "components", "project", "board", "list", "epic",
               "type", "status", "assignee")
REGEX_FIELDS = ("title", "text")


class MatchBlock(Strict):
    labels: Values | None = None
    components: Values | None = None
    project: Values | None = None
    board: Values | None = None
    list: Values | None = None
    epic: Values | None = None
    type: Values | None = None
    status: Values | None = None
    assignee: Values | None = None
    title: Values | None = None
    text: Values | None = None

    @field_validator("title", "text")
    @classmethod
    def _regex_compiles(cls, patterns: list[str] | None) -> list[str] | None:
        for pattern in patterns or []:
            accepted(pattern, regex.compile, lambda exc: "expected a Python regular expression, "
                     f"got {pattern!r} ({exc})", regex.error)
        return patterns

    @model_validator(mode="after")
    def _not_empty(self) -> "MatchBlock":
        if not self.conditions():
            raise ValueError("a match block needs at least one condition "
                             f"({', '.join(GLOB_FIELDS + REGEX_FIELDS)})")
        return self

    def conditions(self) -> list[tuple[str, list[str]]]:
        return [(name, getattr(self, name)) for name in GLOB_FIELDS + REGEX_FIELDS
                if getattr(self, name) is not None]


def _blocks(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


Blocks = Annotated[list[MatchBlock], BeforeValidator(_blocks)]


class Leading(Strict):
    """What a lever should move first: its leading indicator (read like any metric)."""
    metric: str = Field(min_length=1)
    baseline: MetricValue
    target: MetricValue

    @model_validator(mode="after")
    def _sane(self) -> "Leading":
        if self.target == self.baseline:
            raise ValueError("`target` must differ from `baseline`")
        return self


class Checkpoint(Strict):
    """A planned value of the outcome's metric on a day between start and deadline."""
    date: date
    value: MetricValue


class Lever(Strict):
    id: Ident
    name: str
    impact: float | None = Field(default=None, ge=1, le=10)
    effort: float | None = Field(default=None, ge=1, le=10)
    confidence: float = Field(default=1.0, ge=0, le=1)
    owner: str | None = None
    match: Blocks = Field(default_factory=list)
    leading: Leading | None = None          # the lever's leading indicator
    experiment_until: date | None = None    # a time-boxed experiment ends that day


class Guardrail(Strict):
    metric: str
    max: MetricValue | None = None
    min: MetricValue | None = None

    @model_validator(mode="after")
    def _has_bound(self) -> "Guardrail":
        if self.max is None and self.min is None:
            raise ValueError("a guardrail needs `max` or `min`")
        return self


class Outcome(Strict):
    id: Ident
    name: str
    metric: str
    unit: str = ""
    baseline: MetricValue
    target: MetricValue
    start: date
    deadline: date
    owner: str | None = None
    guardrails: list[Guardrail] = Field(default_factory=list)
    levers: list[Lever] = Field(default_factory=list)
    # After start and deadline: the validator below reads them.
    checkpoints: list[Checkpoint] = Field(default_factory=list)

    @field_validator("checkpoints")
    @classmethod
    def _within_plan(cls, points: list[Checkpoint], info) -> list[Checkpoint]:
        start, deadline = info.data.get("start"), info.data.get("deadline")
        if start is None or deadline is None:
            return points          # start or deadline is wrong already, and named
        previous = start
        # `[i].date: …` names the entry; the config report appends it to the key path.
        for i, cp in enumerate(points):
            if not start < cp.date < deadline:
                raise ValueError(f"[{i}].date: {cp.date.isoformat()} must lie strictly between "
                                 f"start {start.isoformat()} and deadline {deadline.isoformat()}")
            if cp.date <= previous:
                raise ValueError(f"[{i}].date: {cp.date.isoformat()} must come after the checkpoint "
                                 f"before it ({previous.isoformat()}); list checkpoints in date order")
            previous = cp.date
        return points

    @model_validator(mode="after")
    def _sane(self) -> "Outcome":
        if self.target == self.baseline:
            raise ValueError("`target` must differ from `baseline`")
        if self.deadline <= self.start:
            raise ValueError("`deadline` must be after `start`")
        return self
