"""The config file's schema (docs/config.md) as strict pydantic models.

Every model forbids unknown keys: a typo such as `labelz` must fail loudly,
not silently match nothing.  Loading, `${ENV}` interpolation and the error
report live in `sync.worker.configfile`.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Optional
from zoneinfo import ZoneInfo

import regex
from croniter import croniter
from pydantic import (AfterValidator, BaseModel, BeforeValidator, Field,
                      field_validator, model_validator)
from pydantic import TypeAdapter, ValidationError, create_model

from sync.core.outcomes import Blocks, Lever, Outcome
from sync.core.registry import CONNECTORS
from sync.core import schema
from sync.core.strict import Strict, accepted  # noqa: F401 (Strict re-exported: connectors' models build on it)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and value.startswith("P"):
        # ISO 8601 (`P1D`), as a dumped config writes durations back.
        try:
            return TypeAdapter(timedelta).validate_python(value)
        except ValidationError:
            pass
    match = _DURATION.match(str(value))
    if not match or isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30s, 15m, 2h or 7d, got {value!r}")
    # Past ten years no duration is meant (and dates overflow): capped here, refused below.
    return timedelta(seconds=min(int(match[1]) * _UNITS[match[2]], 3651 * 86400))


def _positive(delta: timedelta) -> timedelta:
    if delta <= timedelta(0) or delta > timedelta(days=3650):
        raise ValueError("expected a duration above zero and at most 3650d, such as 30s, 15m, 2h or 7d")
    return delta


Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]


_URL = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")     # (a key file's JSON holds URLs: not one)


def _expand_home(path: str) -> str:
    if _URL.match(path):    # a pasted link (a webhook's holds its secret): said without it
        raise ValueError("expected a file path, not a URL")
    return os.path.expanduser(path)


# A file path: `~` means the home folder, as in a shell; never a URL.
FilePath = Annotated[str, Field(min_length=1), AfterValidator(_expand_home)]

class Schedule(Strict):
    every: Duration | None = None
    cron: str | None = None
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _one_of(self) -> "Schedule":
        if self.every is not None and self.cron is not None:
            raise ValueError("give `every` or `cron`, not both")
        return self

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, cron: str | None) -> str | None:
        if cron is not None and not croniter.is_valid(cron):
            raise ValueError(f"expected a cron expression of five fields (minute hour day month "
                             f"weekday), such as \"*/15 7-19 * * 1-5\", got {cron!r}")
        return cron

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return accepted(name, ZoneInfo, f"expected an IANA time zone such as UTC or Europe/Berlin, "
                                        f"got {name!r}")


class TagPrefixes(Strict):
    # An empty prefix would make every label a tag.
    lever: str = Field(default="lever:", min_length=1)
    outcome: str = Field(default="outcome:", min_length=1)


DEFAULT_ACCEPTANCE = r"(?im)^\s*(acceptance|success metric|metric)\b[^:\n]*:"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Review(Strict):
    cadence: Duration = timedelta(days=7)
    max_goals_per_person: int = Field(default=5, ge=1)
    levers_per_outcome: tuple[int, int] = (3, 6)
    acceptance_pattern: str = DEFAULT_ACCEPTANCE
    default_estimate: float = Field(default=1, ge=0, le=1e6)   # as an estimate: sums stay finite
    tag_prefixes: TagPrefixes = Field(default_factory=TagPrefixes)
    history_every: Duration = timedelta(days=1)
    day: str = "monday"                  # the weekly review (docs/sheet.md)
    time: str = "09:00"                  # in schedule.timezone
    notify: list[Any] = Field(default_factory=list)   # the registered notify targets, checked below

    @field_validator("day")
    @classmethod
    def _weekday(cls, day: str) -> str:
        if day.strip().lower() not in WEEKDAYS:
            raise ValueError(f"expected a weekday such as monday, got {day!r}")
        return day.strip().lower()

    @field_validator("time")
    @classmethod
    def _clock(cls, value: str) -> str:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
        if not match:
            raise ValueError(f"expected a time of day HH:MM such as \"09:00\", got {value!r}")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("notify", mode="before")
    @classmethod
    def _targets(cls, value):
        return schema.targets("notify", value)

    @field_validator("acceptance_pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        return accepted(pattern, regex.compile,
                        lambda exc: f"expected a Python regular expression ({exc})", regex.error)

    @field_validator("levers_per_outcome")
    @classmethod
    def _ordered(cls, pair: tuple[int, int]) -> tuple[int, int]:
        if pair[0] > pair[1]:
            raise ValueError("expected [min, max] with min <= max")
        return pair


def _whole_weeks(delta: timedelta) -> timedelta:
    if delta.total_seconds() % (7 * 86400):
        raise ValueError("expected whole weeks, such as 8w (Flow counts done work week by week)")
    return delta


class FlowSettings(Strict):
    """The Flow tab: how far back done work counts."""
    window: Annotated[Duration, AfterValidator(_whole_weeks)] = timedelta(weeks=8)


def _duration_or_zero(value: Any) -> timedelta:
    return timedelta(0) if value in (0, "0") else parse_duration(value)


class Alerts(Strict):
    """Telling the people who run the sync that it keeps failing (sync.core.present.alerts)."""
    notify: list[Any] | None = None      # the registered alert targets; None: review.notify
    after_failures: int = Field(default=2, ge=1)
    remind: Annotated[timedelta, BeforeValidator(_duration_or_zero)] = timedelta(hours=24)   # 0: never

    @field_validator("notify", mode="before")
    @classmethod
    def _targets(cls, value):
        return None if value is None else schema.targets("alert", value)


class ConfigBase(Strict):
    """Everything but the connector blocks, whose models come from the
    registry (`config_model()` adds `source`, `sources` and `sink`)."""
    name: str | None = None              # the workspace's name (default: the file's stem)
    schedule: Schedule = Field(default_factory=Schedule)
    state: FilePath = ".align-sync/state.db"
    health_port: int | None = Field(default=None, ge=1, le=65535)
    review: Review = Field(default_factory=Review)
    alerts: Alerts = Field(default_factory=Alerts)
    outcomes: list[Outcome] = Field(min_length=1)
    ignore: Blocks = Field(default_factory=list)
    flow: FlowSettings = Field(default_factory=FlowSettings)
    # A saved export is a snapshot of one day: scored against the wall clock
    # it ages (every ticket turns stale, every outcome runs out of time).
    # `as_of` scores it as seen that day, on every run (the bundled demo).
    as_of: Optional[datetime] = None

    @field_validator("as_of")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)     # a time without zone: UTC
        return value.astimezone(timezone.utc) if value is not None else None

    def scoring_time(self, wall: datetime) -> datetime:
        """The `now` a sync scores against: `as_of` when pinned, else the clock."""
        return self.as_of or wall

    @model_validator(mode="after")
    def _consistent(self) -> "ConfigBase":
        if (self.source is None) == (self.sources is None):
            raise ValueError("give exactly one of `source` (one tracker) or `sources` (a list)")
        if self.sources is not None:
            if not self.sources:
                raise ValueError("`sources` needs at least one source")
            names = [s.name for s in self.sources]
            if any(n is None for n in names):
                raise ValueError("every entry of `sources` needs a `name`")
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        live = [s.type for s in self.source_list() if s.type != "file"]
        if self.as_of is not None and live:
            raise ValueError(f"as_of pins the clock for saved exports (type: file); a {live[0]} "
                             "source is read live, so its tickets are scored against now: "
                             "remove as_of")
        seen: dict[str, str] = {}
        for outcome in self.outcomes:
            for ident, what in [(outcome.id, "outcome")] + [(lv.id, "lever") for lv in outcome.levers]:
                if ident in seen:
                    raise ValueError(f"id {ident!r} is used twice ({seen[ident]} and {what}); "
                                     "ids must be unique because tags name them")
                seen[ident] = what
        return self

    @model_validator(mode="after")
    def _metric_names(self) -> "ConfigBase":
        # A source's rows are told apart by their Note, `from <name>`.
        names = [m.name for m in getattr(self, "metrics", None) or ()]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metric source names must be unique; repeated: {', '.join(dupes)}")
        return self

    def source_list(self) -> list[Any]:
        """Sources with their display names filled in (the Source column: name, or type when alone)."""
        if self.sources is not None:
            return list(self.sources)
        src = self.source
        return [src if src.name else src.model_copy(update={"name": src.type})]

    def levers(self) -> list[tuple[Outcome, Lever]]:
        return [(o, lv) for o in self.outcomes for lv in o.levers]


# Where each role's blocks sit in a file ("*": every entry); secrets are found through it.
BLOCKS = (("source", ("source",)), ("source", ("sources", "*")), ("sink", ("sink",)),
          ("metric", ("metrics", "*")), ("notify", ("review", "notify", "*")),
          ("alert", ("alerts", "notify", "*")))

def config_model(data: Any = None) -> type[BaseModel]:
    """The whole config schema: `ConfigBase` plus the registered connectors'
    blocks as discriminated unions on `type` (an unknown type lists the known).

    Given the document about to be validated, the unions hold only the types
    it names, so a run imports its own connectors and no other; it validates
    that document exactly as the whole schema does.  A document that names
    a type no connector registered, or a block that is not a mapping with a
    `type`, gets the whole schema (and its message listing the known types)."""
    named = schema.named_types(data) if data is not None else None
    key = "Config" if named is None else ("Config", named)
    model = schema.MODELS.get(key)
    if model is not None:
        return model
    with schema.BUILDING:
        if key not in schema.MODELS:
            if named is None:
                source = schema.union(CONNECTORS.models("source"))
                sink = schema.union(CONNECTORS.models("sink"))
                metrics = CONNECTORS.models("metric")
                metric = schema.union(metrics) if metrics else Any
            else:
                source, sink, metric = (schema.part(role, types) for role, types in named)
            schema.MODELS[key] = create_model("Config", __base__=ConfigBase,
                                       source=(Optional[source], None),
                                       sources=(Optional[list[source]], None),
                                       sink=(sink, ...),
                                       metrics=(list[metric], Field(default_factory=list)))
        return schema.MODELS[key]


def __getattr__(name: str):
    # `from sync.core.config import Config` works as before, built on first use.
    if name == "Config":
        return config_model()
    raise AttributeError(name)
