"""Tag rules (docs/config.md): which lever and outcome a ticket serves.

`RuleSet.compile(config)` turns the config's match blocks into compiled
predicates once; `RuleSet.map(ticket)` applies the precedence (tag, the
sheet's `Set lever` choice, ignore, first lever in file order, unmapped)
and says why.  The blocks themselves, compiled and indexed, are in
`sync.core.assess.blocks`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Iterable, TYPE_CHECKING

from sync.core.assess import choices as sheet_choices
from sync.core.assess.blocks import Index, Rule, compile_rule, ticket_values
from sync.core.outcomes import GLOB_FIELDS
from sync.core.model import Mapping, Ticket

if TYPE_CHECKING:
    from sync.core.config import Config

_ATTRS = {"assignee": "owner"}      # condition → the Ticket field it reads


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
                self.rules.append(compile_rule(block, len(self.rules), outcome.id, lever.id))
        for block in config.ignore:
            self.ignore_rules.append(compile_rule(block, len(self.rules) + len(self.ignore_rules), None, None))
        self._levers_index = Index(self.rules)
        self._ignore_index = Index(self.ignore_rules)

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
        """Every ticket's mapping by uid; `choices`: the sheet's `Set lever` cells by ticket key."""
        tickets = list(tickets)
        mappings, hits = self.map_each(tickets, choices)
        return {t.uid: m for t, m in zip(tickets, mappings)}, hits

    def map_each(self, tickets: list[Ticket],
                 choices: dict[str, str] | None = None) -> tuple[list[Mapping], RuleHits]:
        """`map_all` as a list in the tickets' order: `assess` pairs each ticket
        with its mapping without building a uid string per ticket to look it up."""
        hits: dict[int, list[Ticket]] = {}
        choices = choices or {}
        signature = self._signature()
        if signature is None:
            return [self.map(t, hits, choices.get(t.key)) for t in tickets], RuleHits(hits)
        # Without title/text rules a mapping depends only on the fields the
        # rules read (and the labels, for tags): 100k tickets share a few
        # hundred such signatures, so each is mapped once.
        memo: dict[tuple, tuple[Mapping, tuple[int, ...]]] = {}
        mappings: list[Mapping] = []
        for t in tickets:
            choice = choices.get(t.key)
            if choice:             # a hand-set ticket is mapped on its own, never memoised
                mappings.append(self.map(t, hits, choice))
                continue
            key = signature(t)
            got = memo.get(key)
            if got is None:
                held: dict[int, list[Ticket]] = {}
                got = memo[key] = (self.map(t, held), tuple(held))
            mapping, indices = got
            for index in indices:
                hit = hits.get(index)
                if hit is None:
                    hits[index] = [t]
                else:
                    hit.append(t)
            mappings.append(mapping)
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
                have = ", ".join(ticket_values(ticket, failed.field)) if failed.field in GLOB_FIELDS \
                    else "(text did not match)"
                lines.append(f"lever {rule.lever_id}: {failed.describe()} did not hold "
                             f"(ticket has: {have or 'nothing'})")
        return lines
