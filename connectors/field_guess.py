"""Which tracker fields hold the estimate and the acceptance metric, and
which Trello lists mean done, guessed for `align-sync init` from what the
tracker itself shows: Jira's field names (a `/field` list, a search page's
`names`, a CSV header), or, with no names at all, the custom fields that
carry numbers; a Trello board's custom fields and list names.

Each guess returns the keys to write into the source block and a note
saying what was found, so the person reading the drafted file can check it.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

from connectors import vocabulary
from connectors.trello.board import done_list_guess
from sync.core import numbers, values

# Names in the order a team would mean them; the first found wins.
ESTIMATE_NAMES = ("story point estimate", "story points", "story point", "points", "estimate",
                  "effort", "size",
                  # The same fields as a Portuguese, Spanish, French, German or
                  # Japanese site names them (a page's `names`, a CSV header).
                  "estimativa de pontos da história", "pontos da história", "pontos de história",
                  "estimación de puntos de historia", "puntos de historia",
                  "estimation des points d'histoire", "points d'histoire", "story-point-schätzung",
                  "story-punkte", "ストーリーポイントの見積もり", "ストーリーポイント", "故事点估算", "故事点",
                  "pontos", "puntos", "punkte", "ポイント", "estimativa", "estimación", "estimation",
                  "schätzung", "見積もり", "esforço", "esfuerzo", "aufwand")
ACCEPTANCE_NAMES = ("acceptance criteria", "acceptance criterion", "success metric",
                    "acceptance", "definition of done")
# Custom field ids Jira sites commonly give "Story point estimate" / "Story Points".
KNOWN_ESTIMATE_IDS = ("customfield_10016", "customfield_10026", "customfield_10002",
                      "customfield_10004", "customfield_10106", "customfield_10028")


def by_name(names: dict[str, str], wanted: Iterable[str],
            empty: Iterable[str] = ()) -> tuple[str, str] | None:
    """(id, name) of the first field whose name is one of `wanted`, skipping
    the ids in `empty` (a field no issue of the export fills)."""
    skip = set(empty)
    low = {(v or "").strip().lower(): (k, v) for k, v in names.items() if k not in skip}
    for w in wanted:
        if w in low:
            return low[w]
    return None


def jira_fields(names: dict[str, str], numeric: Counter, issues: int,
                use_names: bool = True) -> tuple[dict, list[str]]:
    """`fields:` for a Jira source or a Jira JSON export.  `names`: field id →
    name (may be empty); `numeric`: how many issues carry a number in each
    custom field.  `use_names`: write the field's name (a live Jira resolves
    it) rather than its id (an export may not carry names on every page)."""
    out: dict = {}
    notes: list[str] = []
    # An export shows which fields hold numbers; one empty on every issue is
    # no estimate, whatever it is called.
    empty = [k for k, v in names.items() if issues and not numeric.get(k)
             and (v or "").strip().lower() in ESTIMATE_NAMES]
    for k in empty:
        notes.append(f"estimate: field {names[k]!r} is empty on all {issues} issues; not used")
    hit = by_name(names, ESTIMATE_NAMES, empty)
    if hit:
        out["estimate"] = hit[1] if use_names else hit[0]
        notes.append(f"estimate: field {hit[1]!r} ({hit[0]})")
    else:
        known = [f for f in KNOWN_ESTIMATE_IDS if numeric.get(f)]
        guess = known[0] if known else next((f for f, n in numeric.most_common()
                                             if issues and n >= 0.1 * issues), None)
        if guess:
            out["estimate"] = guess
            notes.append(f"estimate: {guess} guessed (a number on {numeric[guess]} of {issues} "
                         "issues, no field names in the export); check it")
        else:
            notes.append("estimate: no story-point field found; every ticket counts as "
                         "review.default_estimate")
    hit = by_name(names, ACCEPTANCE_NAMES)
    if hit:
        out["acceptance"] = hit[1] if use_names else hit[0]
        notes.append(f"acceptance: field {hit[1]!r} ({hit[0]})")
    return ({"fields": out} if out else {}), notes


def export_fields(pages: list[dict]) -> tuple[dict, list[str]]:
    names: dict[str, str] = {}
    numeric: Counter = Counter()
    keys: set[str] = set()
    issues = 0
    for page in pages:
        if isinstance(page.get("names"), dict):
            names.update({k: str(v) for k, v in page["names"].items() if v is not None})
        for issue in page.get("issues") or ():
            fields = issue.get("fields") if isinstance(issue, dict) else None
            if not isinstance(fields, dict):
                continue
            issues += 1
            keys.update(fields)
            for key, value in fields.items():
                if key.startswith("customfield_") and isinstance(value, (int, float)) \
                        and not isinstance(value, bool) and 0 <= value <= 1000:
                    numeric[key] += 1
    # Only names of fields the issues carry, or the guess would name nothing.
    present = {k: v for k, v in names.items() if k in keys}
    return jira_fields(present, numeric, issues, use_names=False)


def csv_fields(rows: list[list[str]]) -> tuple[dict, list[str]]:
    """Jira CSV columns are `Custom field (Story Points)`: the name inside
    counts, if any row holds a number there.  The site's address, which a
    CSV does not state, is read from the links its cells carry."""
    header = rows[0] if rows else []
    names: dict[str, str] = {}
    numeric: Counter = Counter()
    for col, h in enumerate(header):
        low = h.strip()
        if vocabulary.csv_header(low).startswith("custom field (") and low.endswith(")"):
            inner = low[low.index("(") + 1:-1]
            names[inner] = inner
            numeric[inner] += sum(1 for r in rows[1:] if col < len(r) and _is_number(r[col]))
    issues = sum(1 for r in rows[1:] if any(c.strip() for c in r))
    out, notes = jira_fields(names, numeric, issues)
    site = site_url(rows[1:])
    if site:
        out["url"] = site
        notes.append(f"url: {site}, read from the export's own links (ticket links in the sheet); "
                     "check it")
    return out, notes


def _is_number(cell: str) -> bool:
    try:
        return numbers.number(cell) is not None
    except values.Unreadable:
        return False


_SITE = re.compile(r"(https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~-]+)?)/(?:browse|rest|secure)/")


def site_url(rows: list[list[str]]) -> str | None:
    """The Jira address most links in these cells start with (`.../browse/`,
    `.../rest/...`, `.../secure/...`): a context path such as `/jira` kept."""
    found: Counter = Counter()
    for row in rows:
        for cell in row:
            if "://" in cell:
                found.update(m.group(1) for m in _SITE.finditer(cell))
    return found.most_common(1)[0][0] if found else None


def trello_fields(boards: list[dict]) -> tuple[dict, list[str]]:
    out: dict = {}
    notes: list[str] = []
    custom = {}
    lists: list[str] = []
    reasons: list[str] = []
    empty: set[str] = set()
    for board in boards:
        filled = {item.get("idCustomField") for card in board.get("cards") or ()
                  if isinstance(card, dict) for item in card.get("customFieldItems") or ()
                  if isinstance(item, dict) and (item.get("value") or item.get("idValue"))}
        for cf in board.get("customFields") or ():
            if isinstance(cf, dict) and isinstance(cf.get("name"), str) \
                    and cf.get("type") in ("number", "list", "text"):
                if cf.get("id") in filled or "cards" not in board:
                    custom.setdefault(cf["name"], cf["name"])
                else:
                    empty.add(cf["name"])
        names, why = done_list_guess(board)
        lists += [n for n in names if n not in lists]
        reasons += why
    for name in sorted(empty - set(custom)):
        if name.strip().lower() in ESTIMATE_NAMES:
            notes.append(f"estimate: custom field {name!r} is empty on every card; not used")
    hit = by_name(custom, ESTIMATE_NAMES)
    if hit:
        out["estimate_field"] = hit[1]
        notes.append(f"estimate: custom field {hit[1]!r}")
    else:
        notes.append("estimate: no Points custom field; a leading (N) in a card title counts")
    if lists:
        out["done_lists"] = lists
        notes.append(f"done lists guessed: {'; '.join(reasons)}; correct done_lists if wrong")
    else:
        notes.append("done lists: no list says done in a language we know; set done_lists to "
                     "your done columns")
    return out, notes
