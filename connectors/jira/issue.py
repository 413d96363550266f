"""A Jira issue (REST v2 or v3 JSON) → `Ticket`, shared by the live Jira
source and the file source that reads saved search responses.

v3 returns rich text as Atlassian Document Format (nested JSON), v2 as wiki
text; both become plain text here so the acceptance pattern can scan it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sync.core.config import Strict
from sync.core.errors import DataError
from sync.core.model import Ticket
from sync.core.numbers import estimate as read_estimate
from sync.core.values import read_time
# The live source reads its cursor (the newest `updated` of a page) with it.

from connectors.jira import hierarchy


class JiraFields(Strict):
    """`fields:` of a Jira source or of a file source reading a Jira export."""
    estimate: str | None = None
    acceptance: str | None = None


@dataclass(frozen=True)
class JiraFieldIds:
    """Resolved field ids (customfield_NNNNN) the mapping reads, when configured."""
    estimate: str | None = None
    acceptance: str | None = None
    epic_link: str | None = None      # Data Center's "Epic Link" custom field


_INLINE = frozenset(("mention", "emoji", "status", "inlineCard", "date"))
_BLOCKS = frozenset(("paragraph", "heading", "listItem", "codeBlock", "blockquote", "rule",
                     "tableRow", "panel"))


def adf_text(node: Any) -> str:
    """Atlassian Document Format → plain text, one line per block."""
    if node is None:
        return ""
    if node.__class__ is str:
        return node
    if node.__class__ is list:
        return "".join([adf_text(n) for n in node])
    if node.__class__ is not dict:
        return str(node)
    kind = node.get("type")
    if kind == "text":
        return node.get("text", "")
    if kind == "hardBreak":
        return "\n"
    if kind in _INLINE:
        attrs = node.get("attrs") or {}
        return str(attrs.get("text") or attrs.get("shortName") or attrs.get("url") or "")
    content = node.get("content")
    if content.__class__ is list and len(content) == 1 and content[0].__class__ is dict \
            and content[0].get("type") == "text":
        inner = content[0].get("text", "")       # a paragraph of one run: most of them
    else:
        inner = adf_text(content or [])
    return inner + "\n" if kind in _BLOCKS and not inner.endswith("\n") else inner


class Shape:
    """Reads one issue's fields defensively.  What is harmless is coerced (a
    number where text belongs, a status given as its name, one label given
    as a string); what would need a guess raises a `DataError` naming the
    source, the ticket and the field."""

    def __init__(self, source: str, key: str):
        self.source, self.key = source, key

    def fail(self, field: str, expected: str, got: Any) -> DataError:
        return DataError(f"source {self.source}: ticket {self.key}: field `{field}`: expected "
                         f"{expected}, got {_kind(got)}",
                         hint="fix the ticket or the export; align-sync will not guess")

    def text(self, value: Any, field: str) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{value:g}" if isinstance(value, float) else str(value)
        raise self.fail(field, "text", value)

    def named(self, value: Any, field: str, *names: str) -> dict:
        """An object such as `status` or `assignee`; its bare name is taken too."""
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return {n: self.text(value, field) for n in names}
        raise self.fail(field, "an object or a name", value)

    def names(self, value: Any, field: str, attr: str | None = None) -> tuple[str, ...]:
        """A list of names (labels) or of objects with a name (components)."""
        if value is None:
            return ()
        if isinstance(value, (str, dict)):
            value = [value]          # one label given alone, not a list of its letters
        if not isinstance(value, list):
            raise self.fail(field, "a list", value)
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict) and attr:
                item = item.get(attr)
            if item is None:
                continue             # an empty entry maps nothing
            out.append(self.text(item, f"{field}[{i}]" + (f".{attr}" if attr else "")))
        return tuple(x for x in out if x)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"


def issue_list(page: Any, where: str) -> list[dict]:
    """A search page's `issues`, each an object with an `id` (or a key)."""
    issues = page.get("issues") if isinstance(page, dict) else None
    if issues is None:
        return []
    if not isinstance(issues, list):
        raise DataError(f"{where}: `issues`: expected a list, got {_kind(issues)}")
    for i, issue in enumerate(issues):
        if not isinstance(issue, dict) or not (issue.get("id") or issue.get("key")):
            raise DataError(f"{where}: issues[{i}]: expected an issue object with an `id`, "
                            f"got {_kind(issue)}", hint="the tracker or export sent a damaged page")
    return issues


def field_text(value: Any) -> str:
    """Any field value as text: ADF, wiki text, an option, a list of them."""
    if value is None:
        return ""
    if isinstance(value, dict) and value.get("type") == "doc":
        return adf_text(value).strip()
    if isinstance(value, dict):
        return str(value.get("value") or value.get("name") or "")
    if isinstance(value, list):
        return "\n".join(filter(None, (field_text(v) for v in value)))
    return str(value).strip()


def base_url(issue: dict) -> str:
    link = issue.get("self") or ""
    return link.split("/rest/", 1)[0] if "/rest/" in link else ""


def _labels(value: Any, shape: Shape) -> tuple[str, ...]:
    # The usual shape, a list of non-empty strings, without Shape's per-item checks.
    if value.__class__ is list:
        if not value:
            return ()
        if len(value) == 1 and value[0].__class__ is str and value[0]:
            return (value[0],)
        if all(x.__class__ is str and x for x in value):
            return tuple(value)
    return shape.names(value, "labels")


def _description(value: Any) -> str:
    """`field_text` of the description; the usual ADF document (paragraphs and
    headings of text runs) read in one pass, anything else by the general
    walker (which gives the same text, four times slower)."""
    if value.__class__ is dict and value.get("type") == "doc":
        parts = []
        for block in value.get("content") or ():
            runs = block.get("content") if block.__class__ is dict and block.get("type") in _BLOCKS \
                else None
            if runs.__class__ is not list:
                return adf_text(value).strip()
            texts = []
            for r in runs:
                if r.__class__ is not dict or r.get("type") != "text":
                    return adf_text(value).strip()
                texts.append(r.get("text", ""))
            inner = "".join(texts)
            parts.append(inner if inner.endswith("\n") else inner + "\n")
        return "".join(parts).strip()
    return field_text(value)


def _text(value: Any, shape: Shape, field: str) -> str:
    return value if value.__class__ is str else shape.text(value, field)


def _object(value: Any, shape: Shape, field: str, name: str) -> dict:
    return value if value.__class__ is dict else shape.named(value, field, name)


def _parents(f: dict, shape: Shape, ids: JiraFieldIds) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(epic, other parent) of an issue, each its key and name (`hierarchy`)."""
    parent = f.get("parent")
    if not ids.epic_link and not f.get("epic"):
        # The usual shapes, with the general path's result: no parent, or one
        # with a text key and summary (a blank or repeated summary left out).
        if parent is None:
            return (), ()
        if parent.__class__ is dict:
            key, parent_fields = parent.get("key"), parent.get("fields")
            if key and key.__class__ is str and parent_fields.__class__ is dict:
                summary = parent_fields.get("summary")
                if summary.__class__ is str:
                    pair = (key, summary) if summary and summary != key else (key,)
                    return (pair, ()) if hierarchy.parent_is_epic(f, parent_fields) else ((), pair)
    epic: list[str] = []
    other: list[str] = []
    parent = _object(f.get("parent"), shape, "parent", "key")
    if parent.get("key"):
        parent_fields = _object(parent.get("fields"), shape, "parent.fields", "summary")
        (epic if hierarchy.parent_is_epic(f, parent_fields) else other).extend(
            [_text(parent["key"], shape, "parent.key"),
             _text(parent_fields.get("summary"), shape, "parent.fields.summary")])
    agile_epic = f.get("epic") or {}          # the Agile API's own epic object
    if isinstance(agile_epic, dict) and agile_epic.get("key"):
        epic += [shape.text(agile_epic["key"], "epic.key"),
                 shape.text(agile_epic.get("name") or agile_epic.get("summary"), "epic.name")]
    if ids.epic_link and isinstance(f.get(ids.epic_link), str):
        epic.append(f[ids.epic_link])
    return tuple(dict.fromkeys(filter(None, epic))), tuple(dict.fromkeys(filter(None, other)))


def _nested_text(read: Callable[[Any], str], value: Any, field: str, problems: list[str]) -> str:
    """A rich-text field as text; one nested past Python's recursion limit
    (valid JSON, hundreds of levels deep) is this ticket's problem, not the sync's."""
    try:
        return read(value)
    except RecursionError:
        problems.append(f"{field} is nested too deeply to read; taken as empty")
        return ""


def to_ticket(issue: dict, source: str, ids: JiraFieldIds, url: str = "") -> Ticket:
    """One issue; what has the usual shape is read without a check per field
    (100k issues), anything else goes through `Shape`, which coerces or names it."""
    raw_key = issue.get("key") if issue.get("key") not in (None, "") else issue.get("id", "")
    shape = Shape(source, str(raw_key))
    key = _text(raw_key, shape, "key")
    f = issue.get("fields") or {}
    if f.__class__ is not dict:
        raise shape.fail("fields", "an object", f)
    status = _object(f.get("status"), shape, "status", "name")
    category = _text(_object(status.get("statusCategory"), shape, "status.statusCategory",
                             "key").get("key"), shape, "status.statusCategory.key")
    assignee = _object(f.get("assignee"), shape, "assignee", "displayName")
    project = _object(f.get("project"), shape, "project", "key")
    epic, parent = _parents(f, shape, ids)
    root = (url or base_url(issue)).rstrip("/")
    problems: list[str] = []
    estimate = None
    if ids.estimate:
        estimate, problem = read_estimate(f.get(ids.estimate), f"estimate `{ids.estimate}`")
        if problem:
            problems.append(problem)
    updated = read_time(f.get("updated") or issue.get("updated"), "`updated`", problems,
                        "taken as never updated")
    done_at = read_time(f.get("resolutiondate"), "`resolutiondate`", problems,
                        "taken as no resolution date")
    created = read_time(f.get("created"), "`created`", problems, "taken as no creation date")
    owner = assignee.get("displayName") or assignee.get("name")
    components = f.get("components")
    description = _nested_text(_description, f.get("description"), "`description`", problems)
    acceptance = _nested_text(field_text, f.get(ids.acceptance), f"`{ids.acceptance}`",
                              problems) if ids.acceptance else ""
    return Ticket(
        key=key, source=source, title=_text(f.get("summary"), shape, "summary"),
        url=f"{root}/browse/{key}" if root else "",
        type=_text(_object(f.get("issuetype"), shape, "issuetype", "name").get("name"), shape,
                   "issuetype.name"),
        status=_text(status.get("name"), shape, "status.name"),
        # No status category (a trimmed export): a resolution says done.
        done=category == "done" if category else bool(f.get("resolutiondate") or f.get("resolution")),
        owner=_text(owner, shape, "assignee.displayName") or None,
        estimate=estimate,
        labels=_labels(f.get("labels"), shape),
        components=() if components in (None, []) else shape.names(components, "components", "name"),
        project=(_text(project.get("key") or issue.get("projectKey"), shape, "project.key")
                 or (key.rsplit("-", 1)[0] if "-" in key else None)),
        project_name=_text(project.get("name"), shape, "project.name") or None,
        epic=epic, parent=parent,
        description=description, acceptance=acceptance,
        updated=updated, done_at=done_at, created=created,
        in_progress=category == "indeterminate",      # the category Jira shows as "In Progress"
        problems=tuple(problems),
    )
