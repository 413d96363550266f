"""Clusters of work a lever could be drawn around (docs/config.md): tickets
sharing a label, a component, an epic, a Trello list, or a title word, with
the match block that would claim exactly them.  Pure: tickets and efforts
in, clusters out; `init` and `suggest` decide what to do with them.

Membership is computed the way the rules compare (case-insensitive, exact
value), and every value is escaped so the glob characters a label may hold
(`*`, `?`, `[`) match themselves, not other labels.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from sync.core.model import Ticket
from sync.drafting import language

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]{3,}")
_GLOB = re.compile(r"([*?\[])")

# Words that say nothing about what a ticket is for, in the titles teams write.
STOPWORDS = frozenset("""
a an and are as at be by for from has have in into is it its of on or that the this to
was were will with without not no new add added adds update updated updates fix fixed fixes
make use using via when where which who why how what all any can should must need needs per
our your their we you they than then also only more less out off up down over under after
before about get set into onto task tasks story stories bug bugs issue issues ticket tickets
todo wip draft misc support improve improvement improvements change changes work working
""".split())


def glob_literal(value: str) -> str:
    """A value the rules' glob comparison matches literally (`a*b` → `a[*]b`)."""
    return _GLOB.sub(r"[\1]", value)


@dataclass(frozen=True)
class Cluster:
    kind: str                  # labels | components | epic | parent | list | title
    value: str                 # the label, component, epic or parent key, list name or phrase
    name: str                  # how a person calls it (the epic's summary, the phrase)
    members: frozenset[int]    # indices into the tickets it was built from
    partition: bool = False    # a component or list on most active tickets: a team or a stage

    def block(self) -> dict:
        if self.kind == "title":
            words = [re.escape(w) for w in self.value.split()]
            return {"title": r"(?i)\b" + r"\W+".join(words) + r"\b"}
        if self.kind in ("epic", "parent"):    # the `epic` condition matches parents too
            return {"epic": glob_literal(self.value)}
        return {self.kind: [glob_literal(self.value)]}

    def describe(self) -> str:
        what = {"labels": "label", "components": "component", "epic": "epic", "list": "list",
                "title": "title words", "parent": "parent (not an epic)"}[self.kind]
        if self.kind in ("epic", "parent") and self.name and self.name != self.value:
            return f"{what} {self.value} {self.name!r}"
        return f"{what} {self.value!r}"


def epic_of(ticket: Ticket, field: str = "epic") -> tuple[str, str] | None:
    """(value, name) of the ticket's epic (or other parent, `field="parent"`):
    matched by its key when it has one, else by its name (a CSV may give only
    the parent's numeric id and its summary: the summary reads better)."""
    refs = getattr(ticket, field)
    if not refs:
        return None
    key = next((e for e in refs if _KEY.match(e)), None)
    name = next((e for e in refs if e != key and not e.isdecimal()), "")
    if key:
        return key, name
    return (name, name) if name else (refs[0], refs[0])


def tag_label(label: str, prefixes: Sequence[str]) -> bool:
    low = label.lower()
    return any(low.startswith(p.lower()) for p in prefixes)


def field_clusters(tickets: Sequence[Ticket], pool: Iterable[int], tag_prefixes: Sequence[str],
                   partition_share: float = 0.4) -> list[Cluster]:
    """Label, component, epic and list clusters over the tickets at `pool`.
    A component or list on at least `partition_share` of them is marked a
    partition: it names who or where, not what for."""
    pool = list(pool)
    groups: dict[tuple[str, str], set[int]] = {}
    shown: dict[tuple[str, str], tuple[str, str]] = {}

    def add(kind: str, value: str, name: str, i: int) -> None:
        key = (kind, value.lower())
        groups.setdefault(key, set()).add(i)
        shown.setdefault(key, (value, name))
    for i in pool:
        t = tickets[i]
        for label in t.labels:
            if not tag_label(label, tag_prefixes):
                add("labels", label, label, i)
        for component in t.components:
            add("components", component, component, i)
        for kind in ("epic", "parent"):
            found = epic_of(t, kind)
            if found:
                add(kind, found[0], found[1], i)
        if t.list:
            add("list", t.list, t.list, i)
    out = []
    for key, members in groups.items():
        kind = key[0]
        value, name = shown[key]
        partition = kind in ("components", "list") and len(members) >= partition_share * len(pool) \
            and len(pool) >= 10
        out.append(Cluster(kind, value, name, frozenset(members), partition))
    return out


def title_words(title: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(title)]


def title_language(tickets: Sequence[Ticket], pool: Iterable[int]) -> str:
    """ISO code of the language the titles at `pool` are written in (a guess)."""
    return language.guess(w for i in pool for w in title_words(tickets[i].title))[0]


def title_clusters(tickets: Sequence[Ticket], pool: Iterable[int], min_tickets: int = 2,
                   max_share: float = 0.5, lang: str | None = None) -> list[Cluster]:
    """Frequent non-stopword words and two-word phrases among the titles at
    `pool` (and only those: words common to all titles say nothing).  A word
    in more than `max_share` of these titles is a house style, not a theme.
    Stopwords are those of `lang`, guessed from these titles when not given."""
    pool = list(pool)
    stop = language.function_words(lang or title_language(tickets, pool), STOPWORDS)
    ceiling = max_share * len(pool) if len(pool) >= 10 else len(pool)
    members: dict[str, set[int]] = {}
    for i in pool:
        words = title_words(tickets[i].title)
        grams = {w for w in words if w not in stop and len(w) >= 3}
        grams |= {f"{a} {b}" for a, b in zip(words, words[1:])
                  if a not in stop and b not in stop}
        for g in grams:
            members.setdefault(g, set()).add(i)
    return [Cluster("title", g, g, frozenset(found))
            for g, found in members.items() if min_tickets <= len(found) <= ceiling]


def effort_of(members: Iterable[int], effort: Sequence[float]) -> float:
    return sum(effort[i] for i in members)


def greedy(candidates: Sequence[Cluster], effort: Sequence[float], k: int,
           covered: frozenset[int] = frozenset()) -> list[Cluster]:
    """Up to k clusters, each the one adding the most uncovered effort (ties:
    more tickets, then fewer already covered)."""
    chosen: list[Cluster] = []
    covered = set(covered)
    left = list(candidates)
    while len(chosen) < k and left:
        def gain(c: Cluster) -> tuple:
            new = c.members - covered
            return (effort_of(new, effort), len(new), -len(c.members))
        best = max(left, key=gain)
        if not best.members - covered:
            break                         # nothing left that any cluster adds
        chosen.append(best)
        covered |= best.members
        left.remove(best)
    return chosen


def coverage(chosen: Iterable[Cluster], effort: Sequence[float]) -> float:
    union: set[int] = set()
    for c in chosen:
        union |= c.members
    return effort_of(union, effort)


def improve(chosen: list[Cluster], candidates: Sequence[Cluster], effort: Sequence[float],
            rounds: int = 3) -> list[Cluster]:
    """Swap one cluster for another while that covers more effort: greedy
    alone can be beaten by a set it never tries."""
    chosen = list(chosen)
    best = coverage(chosen, effort)
    for _ in range(rounds):
        better = False
        for pos in range(len(chosen)):
            for cand in candidates:
                if cand in chosen:
                    continue
                trial = chosen[:pos] + [cand] + chosen[pos + 1:]
                value = coverage(trial, effort)
                if value > best + 1e-9:
                    chosen, best, better = trial, value, True
        if not better:
            break
    return chosen


def single_kind_covers(candidates: Sequence[Cluster], kind: str, effort: Sequence[float],
                       k: int) -> list[list[Cluster]]:
    """The k heaviest clusters of one kind, and greedy over that kind alone."""
    mine = [c for c in candidates if c.kind == kind]
    heaviest = sorted(mine, key=lambda c: -effort_of(c.members, effort))[:k]
    return [t for t in (heaviest, greedy(mine, effort, k)) if t]


def best_cover(candidates: Sequence[Cluster], effort: Sequence[float], k: int) -> list[Cluster]:
    """The k clusters that cover the most effort we can find: greedy over all
    of them, and over each kind alone, then improved by swaps; the best wins."""
    shortlist = sorted(candidates, key=lambda c: -effort_of(c.members, effort))[:60]
    trials = [greedy(candidates, effort, k)]      # swaps among the largest; the tail cannot win
    for kind in {c.kind for c in candidates}:
        trials += single_kind_covers(candidates, kind, effort, k)
    trials = [improve(t, shortlist, effort) for t in trials if t]
    if not trials:
        return []
    best = max(trials, key=lambda t: coverage(t, effort))
    # File order is greedy order, so each lever's comment states what it adds.
    return greedy(best, effort, k)
