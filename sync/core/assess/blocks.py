"""Match blocks compiled (docs/config.md): each condition a predicate that
says which of its patterns held, a block (`Rule`) all of its conditions, and
the `Index` that checks a ticket only against the blocks that could hold for
it.  Which block wins is the RuleSet's precedence (`sync.core.assess.rules`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import translate
from typing import Callable

from sync.core.assess.matching import Pattern
from sync.core.model import Ticket
from sync.core.outcomes import GLOB_FIELDS, MatchBlock

_GLOB_CHARS = re.compile(r"[*?\[]")


def ticket_values(ticket: Ticket, name: str) -> tuple[str, ...]:
    """The ticket's values for a condition; `epic` and `project` match key or name."""
    if name == "labels":
        return ticket.labels
    if name == "components":
        return ticket.components
    if name == "epic":      # the condition reads "parent or epic", as it always did
        return ticket.epic + ticket.parent if ticket.parent else ticket.epic
    if name == "project":
        return tuple(v for v in (ticket.project, ticket.project_name) if v)
    if name == "assignee":
        return (ticket.owner,) if ticket.owner else ()
    value = getattr(ticket, name)
    return (value,) if value else ()


def _text(ticket: Ticket, name: str) -> str:
    return ticket.title if name == "title" else f"{ticket.title}\n{ticket.description}"


@dataclass(frozen=True)
class Condition:
    field: str
    patterns: tuple[str, ...]
    test: Callable[[Ticket], str | None]   # returns the pattern that held, or None

    def describe(self) -> str:
        return f"{self.field}={'|'.join(self.patterns)}"


def _glob_condition(name: str, patterns: list[str]) -> Condition:
    exact = {p.lower() for p in patterns if not _GLOB_CHARS.search(p)}
    globs = [(p, re.compile(translate(p.lower()))) for p in patterns if _GLOB_CHARS.search(p)]
    by_lower = {p.lower(): p for p in patterns}

    def test(ticket: Ticket) -> str | None:
        for value in ticket_values(ticket, name):
            low = value.lower()
            if low in exact:
                return by_lower[low]
            for pattern, rx in globs:
                if rx.match(low):
                    return pattern
        return None
    return Condition(name, tuple(patterns), test)


def _regex_condition(name: str, patterns: list[str], where: str = "rule") -> Condition:
    compiled = [Pattern(p) for p in patterns]

    def test(ticket: Ticket) -> str | None:
        text = _text(ticket, name)
        for rx in compiled:
            if rx.search(text, f"{where} {name}", ticket):
                return rx.pattern
        return None
    return Condition(name, tuple(patterns), test)


@dataclass(frozen=True, eq=False)   # identity hash: rules are compiled once
class Rule:
    """One compiled match block of a lever (or of `ignore`)."""
    index: int                 # position among all blocks, for the Rules tab
    outcome_id: str | None     # None for ignore blocks
    lever_id: str | None
    conditions: tuple[Condition, ...]

    def holds(self, ticket: Ticket) -> str | None:
        """`field=pattern, ...` of what held, or None when the block does not match."""
        held = []
        for cond in self.conditions:
            pattern = cond.test(ticket)
            if pattern is None:
                return None
            held.append(f"{cond.field}={pattern}")
        return ", ".join(held)

    def describe(self) -> str:
        return ", ".join(c.describe() for c in self.conditions)


def compile_rule(block: MatchBlock, index: int, outcome_id: str | None, lever_id: str | None) -> Rule:
    where = f"lever {lever_id}" if lever_id else "ignore"
    conds = [_glob_condition(name, values) if name in GLOB_FIELDS
             else _regex_condition(name, values, where) for name, values in block.conditions()]
    return Rule(index, outcome_id, lever_id, tuple(conds))


def compile_block(block: dict, where: str) -> Rule:
    """One match block given as data (a proposal of `suggest`), checked as
    the config checks it, compiled as the levers' blocks are."""
    return compile_rule(MatchBlock.model_validate(block), 0, None, where)


def _prefix(pattern: str) -> str:
    """The literal text a glob starts with (`lifecycle*` → `lifecycle`)."""
    match = _GLOB_CHARS.search(pattern)
    return pattern[:match.start()].lower() if match else pattern.lower()


class Index:
    """Blocks keyed by a value they require: an exact value, or the literal
    prefix of every glob of one condition.  Blocks with neither (regex only,
    or a glob starting with `*`) are checked against every ticket."""

    def __init__(self, rules: list[Rule]):
        self.exact: dict[tuple[str, str], list[Rule]] = {}
        self.prefixed: dict[tuple[str, int, str], list[Rule]] = {}
        self.lengths: dict[str, set[int]] = {}
        self.scan: list[Rule] = []
        for rule in rules:
            globs = [c for c in rule.conditions if c.field in GLOB_FIELDS]
            exact = next((c for c in globs if not any(_GLOB_CHARS.search(p) for p in c.patterns)), None)
            prefixed = next((c for c in globs if all(_prefix(p) for p in c.patterns)), None)
            if exact is not None:
                for value in {p.lower() for p in exact.patterns}:
                    self.exact.setdefault((exact.field, value), []).append(rule)
            elif prefixed is not None:
                for pre in {_prefix(p) for p in prefixed.patterns}:
                    self.prefixed.setdefault((prefixed.field, len(pre), pre), []).append(rule)
                    self.lengths.setdefault(prefixed.field, set()).add(len(pre))
            else:
                self.scan.append(rule)
        self.exact_fields = sorted({f for f, _ in self.exact})
        self.prefix_fields = sorted(self.lengths.items())

    def candidates(self, ticket: Ticket) -> list[Rule]:
        """Rules that may hold, unordered and possibly repeated (callers sort hits)."""
        found = list(self.scan)
        for name in self.exact_fields:
            for value in ticket_values(ticket, name):
                found.extend(self.exact.get((name, value.lower()), ()))
        for name, lengths in self.prefix_fields:
            for value in ticket_values(ticket, name):
                low = value.lower()
                for n in lengths:
                    found.extend(self.prefixed.get((name, n, low[:n]), ()))
        return found

    def matches(self, ticket: Ticket) -> list[tuple[Rule, str]]:
        """Every rule that holds, in file order, with what held."""
        held: dict[int, tuple[Rule, str]] = {}
        for rule in self.candidates(ticket):
            if rule.index not in held:
                why = rule.holds(ticket)
                if why is not None:
                    held[rule.index] = (rule, why)
        if len(held) > 1:
            return [held[i] for i in sorted(held)]
        return list(held.values())
