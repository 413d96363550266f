"""A team's Jira export the tool has never seen: thousands of issues on the
realistic Cloud issue of tests/fixtures/, with epics of uneven size and
weight, labels from broad to narrow (one on hundreds of one-point tickets),
a component on most tickets (a team, not a lever), missing estimates, done
work and titles of their own.  Seeded, so a failure can be replayed.
"""
from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta, timezone

from .conftest import fixture

POINTS = [1, 2, 3, 5, 8, 13]
WORDS = ["checkout", "invoice", "search", "export", "dashboard", "sso", "webhook", "billing",
         "mobile", "onboarding", "report", "api", "audit", "alerts", "sharing", "comments"]


def team_export(n: int = 3000, seed: int = 7, key: str = "ACME", names: bool = True,
                epic_field: str = "parent") -> dict:
    rng = random.Random(seed)
    template = fixture("jira_search_jql_page1.json")["issues"][0]
    url = "https://acme.atlassian.net"
    start = datetime(2026, 9, 1, tzinfo=timezone.utc)
    epics = [(f"{key}-{i + 1}", f"Epic {i + 1}: {rng.choice(WORDS)} {rng.choice(WORDS)}")
             for i in range(30)]
    weights = [1 / (i + 1) ** 0.9 for i in range(len(epics))]
    labels = [f"{w}-{k}" for w in WORDS for k in ("ux", "perf")] + ["quick-win", "tech-debt"]
    issues = []

    def issue(number: int, summary: str, kind: str) -> dict:
        item = copy.deepcopy(template)
        item["id"] = str(40000 + number)
        item["key"] = f"{key}-{number}"
        item["self"] = f"{url}/rest/api/3/issue/{40000 + number}"
        f = item["fields"]
        f["summary"] = summary
        f["issuetype"] = {"name": kind, "subtask": False}
        f.pop("parent", None)
        f["labels"], f["components"] = [], []
        f["updated"] = (start + timedelta(minutes=number)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        return item

    for number, (ekey, ename) in enumerate(epics, 1):
        e = issue(number, ename, "Epic")
        e["fields"]["customfield_10016"] = None
        issues.append(e)
    for number in range(len(epics) + 1, n + 1):
        word = rng.choice(WORDS)
        item = issue(number, f"{word.title()}: {rng.choice(['add', 'rework', 'speed up'])} "
                             f"{rng.choice(WORDS)} step {number}", "Story")
        f = item["fields"]
        quick = rng.random() < 0.12
        if quick:                            # many one-point tickets under one label
            f["labels"] = ["quick-win"]
            f["customfield_10016"] = 1
        else:
            f["customfield_10016"] = rng.choice(POINTS) if rng.random() > 0.1 else None
            if rng.random() < 0.55:
                ekey, ename = rng.choices(epics, weights)[0]
                if epic_field == "parent":
                    f["parent"] = {"id": "1", "key": ekey, "fields": {"summary": ename}}
                else:
                    f[epic_field] = ekey
            if rng.random() < 0.6:
                f["labels"] = rng.sample(labels, rng.choice([1, 1, 2]))
        if rng.random() < 0.7:
            f["components"] = [{"name": "Platform team"}]
        elif rng.random() < 0.5:
            f["components"] = [{"name": rng.choice(["Mobile", "Web", "Data"])}]
        done = rng.random() < 0.35
        f["status"] = {"name": "Done" if done else rng.choice(["To Do", "In Progress"]),
                       "statusCategory": {"key": "done" if done else "indeterminate"}}
        issues.append(item)
    page = {"issues": issues, "isLast": True}
    if names:
        page["names"] = {"customfield_10016": "Story point estimate", "summary": "Summary",
                         "labels": "Labels", "components": "Components"}
    return page


def active_effort(page: dict, default: float = 1.0):
    """(key → effort, key → labels, key → epic) of the active issues, read
    from the JSON alone (not through align-sync), for the checks."""
    effort, labels, epic = {}, {}, {}
    for i in page["issues"]:
        f = i["fields"]
        if f["status"]["statusCategory"]["key"] == "done":
            continue
        points = f.get("customfield_10016")
        effort[i["key"]] = float(points) if points is not None else default
        labels[i["key"]] = {x.lower() for x in f.get("labels") or []}
        epic[i["key"]] = (f.get("parent") or {}).get("key")
    return effort, labels, epic


def best_k(groups: dict[str, set[str]], effort: dict[str, float], k: int = 6) -> float:
    """The most effort k groups cover, as well as a checker could find it:
    the k heaviest groups, and greedy by marginal effort; the larger."""
    def cover(chosen):
        keys = set().union(*chosen) if chosen else set()
        return sum(effort[x] for x in keys)
    heaviest = sorted(groups.values(), key=lambda g: -sum(effort[x] for x in g))[:k]
    chosen: list[set[str]] = []
    for _ in range(k):
        covered = set().union(*chosen) if chosen else set()
        best = max(groups.values(), key=lambda g: sum(effort[x] for x in g - covered), default=None)
        if best is None:
            break
        chosen.append(best)
    return max(cover(heaviest), cover(chosen))
