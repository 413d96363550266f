"""A Jira issue (REST v2 or v3 JSON) → `Ticket`, shared by the live Jira
source and the file source that reads saved search responses.

v3 returns rich text as Atlassian Document Format (nested JSON), v2 as wiki
text; both become plain text here so the acceptance pattern can scan it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sync.model import Ticket


@dataclass(frozen=True)
class JiraFieldIds:
    """Resolved field ids (customfield_NNNNN) the mapping reads, when configured."""
    estimate: str | None = None
    acceptance: str | None = None
    epic_link: str | None = None      # Data Center's "Epic Link" custom field


def adf_text(node: Any) -> str:
    """Atlassian Document Format → plain text, one line per block."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(adf_text(n) for n in node)
    if not isinstance(node, dict):
        return str(node)
    kind = node.get("type")
    if kind == "text":
        return node.get("text", "")
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status", "inlineCard", "date"):
        attrs = node.get("attrs") or {}
        return str(attrs.get("text") or attrs.get("shortName") or attrs.get("url") or "")
    inner = adf_text(node.get("content") or [])
    block = kind in ("paragraph", "heading", "listItem", "codeBlock", "blockquote", "rule",
                     "tableRow", "panel")
    return inner + "\n" if block and not inner.endswith("\n") else inner


def parse_time(value: Any) -> datetime | None:
    """Jira's `2024-12-13T22:51:23.858+0200` (and variants), as UTC."""
    if not value or not isinstance(value, str):
        return None
    parsed = None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            parsed = datetime.strptime(value, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else None


def number(value: Any) -> float | None:
    """A numeric field value: a number, numeric text, or an option whose value is numeric."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return number(value.get("value"))
    try:
        return float(str(value).strip())
    except ValueError:
        return None


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


def to_ticket(issue: dict, source: str, ids: JiraFieldIds, url: str = "") -> Ticket:
    f = issue.get("fields") or {}
    status = f.get("status") or {}
    category = (status.get("statusCategory") or {}).get("key", "")
    assignee = f.get("assignee") or {}
    project = f.get("project") or {}
    epic: list[str] = []
    parent = f.get("parent") or {}
    if parent.get("key"):
        epic += [parent["key"], (parent.get("fields") or {}).get("summary") or ""]
    agile_epic = f.get("epic") or {}          # the Agile API's own epic object
    if isinstance(agile_epic, dict) and agile_epic.get("key"):
        epic += [agile_epic["key"], agile_epic.get("name") or agile_epic.get("summary") or ""]
    if ids.epic_link and isinstance(f.get(ids.epic_link), str):
        epic.append(f[ids.epic_link])
    key = issue.get("key") or str(issue.get("id", ""))
    root = (url or base_url(issue)).rstrip("/")
    return Ticket(
        key=key, source=source, title=f.get("summary") or "",
        url=f"{root}/browse/{key}" if root else "",
        type=(f.get("issuetype") or {}).get("name", ""),
        status=status.get("name", ""),
        done=category == "done",
        owner=assignee.get("displayName") or assignee.get("name") or None,
        estimate=number(f.get(ids.estimate)) if ids.estimate else None,
        labels=tuple(str(x) for x in f.get("labels") or ()),
        components=tuple(c.get("name", "") for c in f.get("components") or () if isinstance(c, dict)),
        project=project.get("key") or issue.get("projectKey") or (key.rsplit("-", 1)[0] if "-" in key else None),
        project_name=project.get("name"),
        epic=tuple(dict.fromkeys(e for e in epic if e)),
        description=field_text(f.get("description")),
        acceptance=field_text(f.get(ids.acceptance)) if ids.acceptance else "",
        updated=parse_time(f.get("updated") or issue.get("updated")),
        done_at=parse_time(f.get("resolutiondate")),
    )
