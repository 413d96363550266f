"""Tag rules (docs/config.md): which lever and outcome a ticket serves.

`RuleSet.compile(config)` turns the config's match blocks into compiled
predicates once; `RuleSet.map(ticket)` applies the precedence (tag, the
sheet's `Set lever` choice, ignore, first lever in file order, unmapped)
and says why.  Blocks with an exact
value on a glob field are indexed by that value, so a ticket is only checked
against blocks that could hold for it, not against every rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fnmatch import translate
from operator import attrgetter
from typing import Callable, Iterable, TYPE_CHECKING

from sync.core.assess import choices as sheet_choices
from sync.core.outcomes import GLOB_FIELDS, MatchBlock
from sync.core.assess.matching import Pattern
from sync.core.model import Mapping, Ticket

if TYPE_CHECKING:
    from sync.core.config import Config

_GLOB_CHARS = re.compile(r"[*?\[]")


def _values(ticket: Ticket, name: str) -> tuple[str, ...]:
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


_ATTRS = {"assignee": "owner"}      # condition → the Ticket field it reads


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
        for value in _values(ticket, name):
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


def _compile(block: MatchBlock, index: int, outcome_id: str | None, lever_id: str | None) -> Rule:
    where = f"lever {lever_id}" if lever_id else "ignore"
    conds = [_glob_condition(name, values) if name in GLOB_FIELDS
             else _regex_condition(name, values, where) for name, values in block.conditions()]
    return Rule(index, outcome_id, lever_id, tuple(conds))


def compile_block(block: dict, where: str) -> Rule:
    """One match block given as data (a proposal of `suggest`), checked as
    the config checks it, compiled as the levers' blocks are."""
    return _compile(MatchBlock.model_validate(block), 0, None, where)


def _prefix(pattern: str) -> str:
    """The literal text a glob starts with (`lifecycle*` → `lifecycle`)."""
    match = _GLOB_CHARS.search(pattern)
    return pattern[:match.start()].lower() if match else pattern.lower()


class _Index:
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
            for value in _values(ticket, name):
                found.extend(self.exact.get((name, value.lower()), ()))
        for name, lengths in self.prefix_fields:
            for value in _values(ticket, name):
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


@dataclass
class RuleHits:
    """Which blocks held for which tickets: feeds the Rules tab and `unused_rule`."""
    matched: dict[int, list[Ticket]]

    def tickets(self, rule: Rule) -> list[Ticket]:
        return self.matched.get(rule.index, [])


class RuleSet:
    def __init__(self, config: Config):
        review = config.review
        self.lever_prefix = review.tag_prefixes.lever.lower()
        self.outcome_prefix = review.tag_prefixes.outcome.lower()
        self.levers = {lv.id.lower(): (o.id, lv.id) for o, lv in config.levers()}
        self.outcomes = {o.id.lower(): o.id for o in config.outcomes}
        self.rules: list[Rule] = []
        self.ignore_rules: list[Rule] = []
        for outcome, lever in config.levers():
            for block in lever.match:
                self.rules.append(_compile(block, len(self.rules), outcome.id, lever.id))
        for block in config.ignore:
            self.ignore_rules.append(_compile(block, len(self.rules) + len(self.ignore_rules), None, None))
        self._levers_index = _Index(self.rules)
        self._ignore_index = _Index(self.ignore_rules)

    @classmethod
    def compile(cls, config: Config) -> "RuleSet":
        return cls(config)

    def all_rules(self) -> list[Rule]:
        return self.rules + self.ignore_rules

    def _tags(self, ticket: Ticket) -> tuple[Mapping | None, tuple[str, ...]]:
        first: dict[str, tuple] = {}      # "lever" / "outcome": (its ids, the label), the first tag
        unknown: list[str] = []
        for label in ticket.labels:
            low = label.lower()
            # The lever prefix first: a label that starts with it is never read as an outcome tag.
            for kind, prefix, known in (("lever", self.lever_prefix, self.levers),
                                        ("outcome", self.outcome_prefix, self.outcomes)):
                if low.startswith(prefix):
                    hit = known.get(low[len(prefix):].strip())
                    if hit is None:
                        unknown.append(label)
                    else:
                        first.setdefault(kind, (hit, label))
                    break
        lever, outcome = first.get("lever"), first.get("outcome")
        # A lever tag is more precise than an outcome tag, so it wins.
        if lever is not None:
            (outcome_id, lever_id), label = lever
            return Mapping("mapped", outcome_id, lever_id, f"tag {label}"), tuple(unknown)
        if outcome is not None:
            return Mapping("mapped", outcome[0], None, f"tag {outcome[1]}"), tuple(unknown)
        return None, tuple(unknown)

    def map(self, ticket: Ticket, hits: dict[int, list[Ticket]] | None = None,
            choice: str | None = None) -> Mapping:
        """Apply the precedence to one ticket; record block hits in `hits`.
        `choice`: the ticket's `Set lever` cell, which only its own tag overrides."""
        tagged, unknown = self._tags(ticket)
        if tagged is not None:
            return tagged if not unknown else replace(tagged, unknown_tags=unknown)
        if choice:
            return sheet_choices.mapping(choice, self.levers, unknown)
        ignored = self._ignore_index.matches(ticket)
        if ignored:
            rule, why = ignored[0]
            if hits is not None:
                hits.setdefault(rule.index, []).append(ticket)
            return Mapping("ignored", matched_by=f"ignore: {why}", unknown_tags=unknown)
        first: tuple[Rule, str] | None = None
        others: list[str] = []
        for rule, why in self._levers_index.matches(ticket):
            if hits is not None:
                hits.setdefault(rule.index, []).append(ticket)
            if first is None:
                first = (rule, why)
            elif rule.outcome_id != first[0].outcome_id and rule.outcome_id not in others:
                others.append(rule.outcome_id)
        if first is None:
            return Mapping("unmapped", unknown_tags=unknown)
        rule, why = first
        return Mapping("mapped", rule.outcome_id, rule.lever_id, f"lever {rule.lever_id}: {why}",
                       ambiguous_with=tuple(others), unknown_tags=unknown)

    def map_all(self, tickets: Iterable[Ticket],
                choices: dict[str, str] | None = None) -> tuple[dict[str, Mapping], RuleHits]:
        """Every ticket's mapping; `choices`: the sheet's `Set lever` cells by ticket key."""
        hits: dict[int, list[Ticket]] = {}
        choices = choices or {}
        signature = self._signature()
        if signature is None:
            return {t.uid: self.map(t, hits, choices.get(t.key)) for t in tickets}, RuleHits(hits)
        # Without title/text rules a mapping depends only on the fields the
        # rules read (and the labels, for tags): 100k tickets share a few
        # hundred such signatures, so each is mapped once.
        memo: dict[tuple, tuple[Mapping, tuple[int, ...]]] = {}
        mappings: dict[str, Mapping] = {}
        for t in tickets:
            choice = choices.get(t.key)
            if choice:             # a hand-set ticket is mapped on its own, never memoised
                mappings[t.uid] = self.map(t, hits, choice)
                continue
            key = signature(t)
            got = memo.get(key)
            if got is None:
                held: dict[int, list[Ticket]] = {}
                got = memo[key] = (self.map(t, held), tuple(held))
            mapping, indices = got
            for index in indices:
                hits.setdefault(index, []).append(t)
            mappings[t.uid] = mapping
        return mappings, RuleHits(hits)

    def _signature(self):
        """A getter of what the mapping of a ticket depends on; None when a
        regex rule reads its text (then every ticket is mapped on its own)."""
        used = {c.field for r in self.all_rules() for c in r.conditions}
        if used & {"title", "text"}:
            return None
        attrs = {"labels"} | {_ATTRS.get(f, f) for f in used if f != "project"}
        if "project" in used:
            attrs |= {"project", "project_name"}
        if "epic" in used:
            attrs.add("parent")          # `epic` reads parents too
        return attrgetter(*sorted(attrs)) if len(attrs) > 1 else (lambda t: t.labels)

    def why_not(self, ticket: Ticket) -> list[str]:
        """For `explain`: each lever block and the first condition that failed."""
        lines = []
        for rule in self.rules:
            failed = next((c for c in rule.conditions if c.test(ticket) is None), None)
            if failed is not None:
                have = ", ".join(_values(ticket, failed.field)) if failed.field in GLOB_FIELDS \
                    else "(text did not match)"
                lines.append(f"lever {rule.lever_id}: {failed.describe()} did not hold "
                             f"(ticket has: {have or 'nothing'})")
        return lines
