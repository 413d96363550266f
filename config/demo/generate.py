"""Writes the demo team's data: config/demo/jira-search.json (a Jira Cloud
`/rest/api/3/search/jql` page, v3 ADF descriptions, `names` expanded),
config/demo/metrics.csv (the Metrics tab's history) and
config/demo/history.csv (eight weekly History snapshots before the demo's
`now`, each assessed by align-sync itself on the tickets and metrics as
they stood that week, so the Trend chart draws a curve on the first run).

The data is invented for a quarter that runs 2026-10-01 → 2026-12-31, seen
from 2026-11-26.  Run it again only to change the demo; the output is
committed so the demo and its golden test never depend on this script.
"""
from __future__ import annotations

import csv
import json
import random
import sys
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[1]))     # run from a bare checkout: this repo's own packages

from sync.core.assess.assessment import assess  # noqa: E402 (after the path above)
from sync.core.inputs import gather  # noqa: E402
from sync.core.present.report import HEADERS, history_rows  # noqa: E402
from sync.worker import configfile  # noqa: E402
from sync.worker.runtime import Runtime  # noqa: E402
from sync.worker.workspace import build_sources  # noqa: E402

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
SITE = "https://growthco.atlassian.net"
rng = random.Random(20261126)

# (summary, type, labels, components, parent, assignee, points, status, days since update,
#  acceptance text or None)
T = "Task"
S = "Story"
PEOPLE = ["Dana Whitfield", "Priya Raman", "Marco Silva", "Lena Park", "Tom Okafor", "Aisha Bello"]
WORK = [
    # onboarding-emails (conversion)
    ("Day-3 nudge email for trials without a project", S, ["onboarding-email"], [], None, "Lena Park", 3, "In Progress", 1, "Success metric: day-3 email CTR +15%"),
    ("Rewrite welcome email subject lines", T, ["onboarding-email"], [], None, "Lena Park", 2, "Done", 4, "Metric: open rate 45% → 55%"),
    ("Lifecycle: trial-ending reminder at day 12", S, ["lifecycle-nurture"], [], None, "Lena Park", 5, "In Review", 2, "Acceptance: reminder sent to 100% of day-12 trials"),
    ("Lifecycle: win-back email for expired trials", S, ["lifecycle-winback"], [], None, "Aisha Bello", 3, "To Do", 3, None),
    ("Segment onboarding emails by signup source", T, ["onboarding-email"], [], None, "Lena Park", None, "To Do", 5, "Success metric: CTR by segment reported weekly"),
    ("A/B test plain-text vs designed onboarding email", T, ["onboarding-email"], [], None, "Aisha Bello", 2, "In Progress", 1, "Metric: trial-to-paid of variant vs control"),
    ("Fix broken unsubscribe link in nurture emails", "Bug", ["lifecycle-nurture"], [], None, "Tom Okafor", 1, "Done", 6, None),
    ("Onboarding email analytics dashboard", T, ["onboarding-email"], [], None, None, 3, "To Do", 12, None),
    ("Personalise onboarding emails with the user's first goal", S, ["onboarding-email"], [], None, "Lena Park", 5, "To Do", 9, "Success metric: goal-set rate +10%"),
    # pricing-test (conversion)
    ("Pricing page: annual toggle default on", S, [], ["Pricing"], None, "Marco Silva", 3, "In Progress", 2, "Acceptance: annual share of new paid plans +5pp"),
    ("Pricing page A/B test: three tiers vs four", S, [], ["Pricing"], None, "Marco Silva", 5, "In Progress", 1, "Metric: pricing → checkout click-through"),
    ("Add FAQ block under the pricing table", T, [], ["Pricing"], None, "Aisha Bello", 2, "Done", 8, None),
    ("Localise prices in EUR and GBP", S, [], ["Pricing"], None, "Tom Okafor", 8, "To Do", 4, "Acceptance: EU checkout conversion reported"),
    ("Pricing experiment readout", T, [], ["Pricing"], None, "Dana Whitfield", 1, "To Do", 3, None),
    ("Checkout: show savings for annual plan", T, ["lever:pricing-test"], ["Checkout"], None, "Marco Silva", 2, "In Progress", 2, "Metric: annual plan share"),
    ("Remove credit-card field from trial signup", S, ["lever:pricing-test"], ["Signup"], None, "Tom Okafor", 5, "Done", 5, "Success metric: trial starts +20%"),
    # upgrade-prompts (conversion), children of GROW-12
    ("Upgrade prompt when a trial hits the project limit", S, [], ["Web app"], "GROW-12", "Marco Silva", 5, "In Progress", 2, "Acceptance: prompt CTR ≥ 8%"),
    ("In-app banner: days left in trial", T, [], ["Web app"], "GROW-12", "Aisha Bello", 2, "Done", 3, None),
    ("Usage-based upgrade nudge for power users", S, [], ["Web app"], None, "Marco Silva", 3, "To Do", 6, None),
    ("Track upgrade prompt impressions", T, [], ["Analytics"], "GROW-12", "Tom Okafor", 1, "In Review", 1, "Metric: impressions logged for 100% of prompts"),
    # trial-extension (conversion): only old done work, so the lever is idle
    ("Self-serve trial extension (7 days)", S, ["trial-extension"], [], None, "Tom Okafor", 3, "Done", 40, None),
    # setup-wizard (activation)
    ("Setup wizard: import from CSV step", S, [], ["Setup wizard"], None, "Priya Raman", 5, "Done", 3, "Acceptance: 30% of new workspaces import data"),
    ("Setup wizard: invite teammates step", S, [], ["Setup wizard"], None, "Priya Raman", 3, "Done", 5, "Metric: invites per new workspace"),
    ("Setup wizard: skip button analytics", T, [], ["Setup wizard"], None, "Tom Okafor", 1, "Done", 6, None),
    ("Setup wizard: template picker", S, [], ["Setup wizard"], None, "Marco Silva", 5, "In Progress", 2, "Success metric: template chosen in 50% of signups"),
    ("Setup wizard copy review", T, [], ["Setup wizard"], None, "Priya Raman", None, "To Do", 11, None),
    ("Setup wizard: progress indicator", T, [], ["Setup wizard"], None, None, 2, "To Do", 15, None),
    ("Welcome email links into the setup wizard", T, ["onboarding-email"], ["Setup wizard"], None, "Lena Park", 2, "In Progress", 2, "Metric: wizard starts from email"),
    # sample-data (activation)
    ("Sample project for new workspaces", S, ["sample-data"], [], None, "Priya Raman", 5, "Done", 4, "Acceptance: first task created within 10 min for 40%"),
    ("Sample data: marketing team template", T, ["sample-data"], [], None, "Aisha Bello", 3, "In Progress", 1, None),
    ("Clear sample data in one click", T, ["sample-data"], [], None, "Tom Okafor", 2, "To Do", 4, "Metric: support tickets about sample data"),
    ("Sample data: engineering team template", T, ["sample-data"], [], None, "Aisha Bello", 3, "To Do", 8, None),
    # integrations-gallery (activation)
    ("Integrations gallery: Slack card", S, ["integrations"], [], None, "Marco Silva", 3, "In Progress", 3, "Success metric: Slack connects in week 1"),
    ("Integrations gallery: search", T, ["integrations"], [], None, "Tom Okafor", 2, "To Do", 5, None),
    ("Integrations gallery page layout", T, ["integrations"], [], None, "Aisha Bello", 3, "Done", 20, None),
    ("Activation checklist in the sidebar", S, ["outcome:activation"], ["Web app"], None, "Priya Raman", 5, "In Progress", 2, "Metric: checklist completion rate"),
    # seat-upsell / team-invites (expansion)
    ("Seat limit warning at 80% of plan", S, ["seats"], [], None, "Marco Silva", 3, "In Progress", 2, "Acceptance: seat upgrades +10%"),
    ("Admin page: buy more seats inline", S, ["seats"], ["Billing"], None, "Tom Okafor", 5, "To Do", 10, None),
    ("Invite flow: bulk invite by email list", S, ["invites"], [], None, "Aisha Bello", 3, "In Progress", 3, None),
    ("Invite reminder after 48h", T, ["invites"], [], None, None, 2, "To Do", 4, None),
    ("Seat usage report for admins", T, ["seats"], [], None, "Marco Silva", None, "To Do", 14, None),
    # a tag naming a lever that does not exist
    ("Referral programme landing page", S, ["lever:referral-program", "marketing-site"], [], None, "Lena Park", 3, "To Do", 2, None),
    # unmapped work
    ("SEO: rewrite blog category pages", T, ["seo"], [], None, "Lena Park", 3, "In Progress", 2, None),
    ("SEO: fix duplicate meta descriptions", T, ["seo"], [], None, "Lena Park", 1, "To Do", 3, None),
    ("SEO: schema markup for pricing page", T, ["seo"], [], None, "Aisha Bello", 2, "To Do", 5, None),
    ("SEO: sitemap for docs", T, ["seo"], [], None, None, 1, "To Do", 9, None),
    ("SEO: internal linking audit", T, ["seo"], [], None, "Lena Park", 2, "To Do", 4, None),
    ("Upgrade Postgres to 16", T, ["infra"], [], None, "Tom Okafor", 5, "In Progress", 1, None),
    ("Move CI to larger runners", T, ["infra"], [], None, "Tom Okafor", 3, "To Do", 6, None),
    ("Rotate TLS certificates", T, ["infra"], [], None, None, 1, "To Do", 18, None),
    ("Redesign the company About page", T, ["marketing-site"], [], None, "Aisha Bello", 3, "To Do", 7, None),
    ("Conference booth materials", T, [], [], None, "Dana Whitfield", None, "To Do", 12, None),
    ("=HYPERLINK(\"https://example.com\",\"Quarterly planning notes\")", T, [], [], None, "Dana Whitfield", 1, "To Do", 3, None),
    # out of scope
    ("Sub-task: QA the day-3 email", "Sub-task", ["onboarding-email"], [], None, "Lena Park", 1, "To Do", 1, None),
    ("Sub-task: copy for seat warning", "Sub-task", ["seats"], [], None, "Marco Silva", 1, "Done", 2, None),
    ("Sub-task: pricing FAQ translations", "Sub-task", [], ["Pricing"], None, "Aisha Bello", 1, "To Do", 5, None),
    ("Renew SOC 2 evidence", T, ["ktlo"], [], None, "Tom Okafor", 2, "In Progress", 3, None),
    ("Weekly dependency updates", T, ["ktlo"], [], None, "Tom Okafor", 1, "Done", 1, None),
    ("On-call handbook refresh", T, ["ktlo"], [], None, "Priya Raman", 1, "To Do", 20, None),
]
EPICS = [("GROW-12", "In-app upgrade prompts")]


def adf(text: str) -> dict:
    paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}]}
                  for line in text.split("\n") if line]
    return {"type": "doc", "version": 1, "content": paragraphs}


def status(name: str) -> dict:
    key = {"Done": "done", "To Do": "new"}.get(name, "indeterminate")
    cat = {"done": (3, "Done", "green"), "new": (2, "To Do", "blue-gray"),
           "indeterminate": (4, "In Progress", "yellow")}[key]
    return {"self": f"{SITE}/rest/api/3/status/1", "name": name, "id": str(zlib.crc32(name.encode()) % 10000),
            "statusCategory": {"self": f"{SITE}/rest/api/3/statuscategory/{cat[0]}", "id": cat[0],
                               "key": key, "colorName": cat[2], "name": cat[1]}}


def stamp(when: datetime) -> str:
    local = when.astimezone(timezone(timedelta(hours=1)))
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + "+0100"


def issue(n: int, row: tuple) -> dict:
    summary, kind, labels, comps, parent, who, points, state, age, accept = row
    updated = NOW - timedelta(days=age, hours=rng.randint(0, 8), minutes=rng.randint(0, 59))
    created = updated - timedelta(days=rng.randint(3, 30))
    key = f"GROW-{n}"
    desc = f"Part of the Q4 growth plan.\nContext: {summary.lower()}."
    fields = {
        "summary": summary,
        "issuetype": {"self": f"{SITE}/rest/api/3/issuetype/1", "id": "1", "name": kind,
                      "subtask": kind == "Sub-task", "hierarchyLevel": -1 if kind == "Sub-task" else 0},
        "project": {"self": f"{SITE}/rest/api/3/project/10000", "id": "10000", "key": "GROW",
                    "name": "Growth"},
        "status": status(state),
        "labels": labels,
        "components": [{"self": f"{SITE}/rest/api/3/component/1", "id": "1", "name": c} for c in comps],
        "assignee": None if who is None else {
            "self": f"{SITE}/rest/api/3/user?accountId=5b10a2844c20165700ede21g",
            "accountId": f"712020:{zlib.crc32(who.encode()) % 10**8:08d}", "displayName": who,
            "active": True, "timeZone": "Europe/London", "accountType": "atlassian"},
        "customfield_10016": points,
        "customfield_10050": adf(accept) if accept and n % 3 == 0 else None,
        "description": adf(desc + ("\n" + accept if accept and n % 3 else "")),
        "created": stamp(created),
        "updated": stamp(updated),
        "resolution": {"name": "Done"} if state == "Done" else None,
        "resolutiondate": stamp(updated) if state == "Done" else None,
    }
    if parent:
        name = dict(EPICS)[parent]
        fields["parent"] = {"id": "10012", "key": parent, "self": f"{SITE}/rest/api/3/issue/10012",
                            "fields": {"summary": name, "status": status("In Progress"),
                                       "issuetype": {"name": "Epic", "hierarchyLevel": 1}}}
    return {"expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
            "id": str(10000 + n), "self": f"{SITE}/rest/api/3/issue/{10000 + n}", "key": key,
            "fields": fields}


def main() -> None:
    rows = list(WORK)
    # Fill the quarter with more routine work so the numbers look like a real team's.
    fillers = [("Onboarding email: localise for {}", S, ["onboarding-email"], [], None),
               ("Pricing page copy test #{}", T, [], ["Pricing"], None),
               ("Setup wizard polish #{}", T, [], ["Setup wizard"], None),
               ("Seat upsell email #{}", T, ["seats"], [], None)]
    for i in range(80 - len(rows)):
        summary, kind, labels, comps, parent = fillers[i % len(fillers)]
        done = i % 3 == 0
        rows.append((summary.format(["German", "French", "Spanish", "Dutch", "Italian", "Polish",
                                     "Swedish", "Danish", "Finnish", "Czech", "Greek"][i % 11]
                                    if "{}" in summary and "localise" in summary else i + 1),
                     kind, labels, comps, parent, PEOPLE[(i + 2) % len(PEOPLE)], rng.choice([1, 2, 3, 5]),
                     "Done" if done else rng.choice(["To Do", "In Progress"]), rng.randint(0, 6),
                     "Success metric: tracked in the weekly review" if i % 2 else None))
    issues = [issue(n, row) for n, row in enumerate(rows, start=101)]
    page = {"issues": issues, "isLast": True,
            "names": {"summary": "Summary", "customfield_10016": "Story point estimate",
                      "customfield_10050": "Acceptance criteria", "labels": "Labels",
                      "components": "Components", "status": "Status", "assignee": "Assignee"}}
    (HERE / "jira-search.json").write_text(json.dumps(page, indent=1, ensure_ascii=False) + "\n")
    metrics = [("2026-10-01", "trial_to_paid_rate", 6.0, "quarter start"),
               ("2026-10-15", "trial_to_paid_rate", 6.4, ""),
               ("2026-11-01", "trial_to_paid_rate", 6.9, "annual toggle shipped"),
               ("2026-11-15", "trial_to_paid_rate", 7.1, ""),
               ("2026-11-24", "trial_to_paid_rate", 7.3, ""),
               ("2026-10-01", "churn_rate", 2.6, ""),
               ("2026-11-01", "churn_rate", 2.8, ""),
               ("2026-11-24", "churn_rate", 3.4, "price change fallout?"),
               ("2026-10-01", "week1_activation_rate", 35, "quarter start"),
               ("2026-10-20", "week1_activation_rate", 36, ""),
               ("2026-11-10", "week1_activation_rate", 36.5, ""),
               ("2026-11-24", "week1_activation_rate", 36.5, "wizard steps shipped, no lift yet"),
               ("2026-10-01", "net_expansion_rate", 2.0, "quarter start"),
               ("2026-10-20", "net_expansion_rate", 3.2, ""),
               # leading indicators (levers' `leading:`): one moves, one stays flat
               ("2026-10-01", "onboarding_email_ctr", 2.1, "quarter start"),
               ("2026-11-05", "onboarding_email_ctr", 2.3, ""),
               ("2026-11-20", "onboarding_email_ctr", 2.6, "subject-line rewrite live"),
               ("2026-10-01", "wizard_completion_rate", 40, "quarter start"),
               ("2026-11-10", "wizard_completion_rate", 41, ""),
               ("2026-11-24", "wizard_completion_rate", 41, "")]
    with open(HERE / "metrics.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["Date", "Metric", "Value", "Note"])
        out.writerows(metrics)
    history(issues)


SNAPSHOTS = [datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc) + timedelta(weeks=w) for w in range(8)]


def history(issues: list[dict]) -> None:
    """Each week: the tickets created by then, done only if done by then, and
    the metrics dated by then, through the real assessment."""
    config, _ = configfile.load(HERE.parent / "demo.yaml")
    source = build_sources(config, Runtime(base_dir=HERE.parents[1]))[0]
    source.path = HERE / "jira-search.json"
    tickets = source.fetch()
    created = {i["key"]: datetime.strptime(i["fields"]["created"], "%Y-%m-%dT%H:%M:%S.%f%z")
               for i in issues}
    with open(HERE / "metrics.csv", newline="", encoding="utf-8") as fh:
        metrics = [[r[0], r[1], float(r[2])] for r in list(csv.reader(fh))[1:]]
    rows = []
    for when in SNAPSHOTS:
        then = [t if not t.done or (t.done_at and t.done_at <= when)
                else replace(t, done=False, done_at=None, status="In Progress")
                for t in tickets if created[t.key] <= when]
        readings = gather([m for m in metrics if m[0] <= when.date().isoformat()], [], []).readings
        rows += history_rows(assess(then, config, readings, when))
    with open(HERE / "history.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(HEADERS["History"])
        out.writerows(["" if v is None else v for v in r] for r in rows)


if __name__ == "__main__":
    main()
