"""A saved Jira search response read one issue at a time.

`json.loads` of a 100k-issue export builds every issue's dicts at once
(310 MB for a 68 MB file) before the first `Ticket` exists.  Here the
decoder's own C scanner (`raw_decode`) reads one value at a time from the
text: the page's small keys (`names`, `isLast`, ...) whole, and the
`issues` array element by element, so each issue's dicts are garbage as
soon as its `Ticket` is built.  The result is what `json.loads` would give,
error positions included.
"""
from __future__ import annotations

import json
import re
from typing import Any, Protocol

from sync.core.errors import ConfigError, DataError

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class BadJson(Exception):
    def __init__(self, text: str, pos: int, msg: str):
        self.line = text.count("\n", 0, pos) + 1
        self.msg = msg


class Reader(Protocol):
    """Where `pages` hands what it reads, in the order of the file."""
    def meta(self, key: str, value: Any) -> None: ...
    def issue(self, issue: dict) -> None: ...


class Page:
    """One search page: its keys other than `issues`, and whether it had them."""

    def __init__(self):
        self.meta: dict[str, Any] = {}
        self.has_issues = False


def _decode(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise BadJson(text, exc.pos, exc.msg)
    except RecursionError:
        raise BadJson(text, pos, "nested too deeply")


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()


def _expect(text: str, pos: int, chars: str, what: str) -> int:
    if pos >= len(text) or text[pos] not in chars:
        raise BadJson(text, pos, f"Expecting {what}")
    return pos


def pages(text: str, where: str, reader: Reader) -> list[Page]:
    """Each page of the export (one object, or a list of them); every issue
    goes to `reader.issue` as it is read, checked as `issue_list` checks it,
    and each other key of a page to `reader.meta` (so `names` given before
    `issues` is known when the first issue arrives)."""
    pos = _skip(text, 0)
    out: list[Page] = []
    if text.startswith("[", pos):
        pos = _skip(text, pos + 1)
        if text.startswith("]", pos):
            return out
        while True:
            if not text.startswith("{", pos):
                value, pos = _decode(text, pos)     # not a page: says so below
                out.append(Page())
            else:
                page, pos = _page(text, pos, where, reader)
                out.append(page)
            pos = _skip(text, pos)
            pos = _expect(text, pos, ",]", "',' delimiter")
            if text[pos] == "]":
                pos += 1
                break
            pos = _skip(text, pos + 1)
    else:
        _expect(text, pos, "{", "value")
        page, pos = _page(text, pos, where, reader)
        out.append(page)
    if _skip(text, pos) != len(text):
        raise BadJson(text, _skip(text, pos), "Extra data")
    return out


def _page(text: str, pos: int, where: str, reader) -> tuple[Page, int]:
    page = Page()
    pos = _skip(text, pos + 1)
    if text.startswith("}", pos):
        return page, pos + 1
    while True:
        _expect(text, pos, '"', "property name enclosed in double quotes")
        key, pos = _decode(text, pos)
        pos = _expect(text, _skip(text, pos), ":", "':' delimiter")
        pos = _skip(text, pos + 1)
        if key == "issues" and text.startswith("[", pos):
            page.has_issues = True
            pos = _issues(text, pos, where, reader)
        else:
            value, pos = _decode(text, pos)
            if key == "issues":
                page.has_issues = True
                if value is not None:
                    raise DataError(f"{where}: `issues`: expected a list, got "
                                    f"{type(value).__name__} {repr(value)[:40]}")
            else:
                page.meta[key] = value
                reader.meta(key, value)
        pos = _expect(text, _skip(text, pos), ",}", "',' delimiter")
        if text[pos] == "}":
            return page, pos + 1
        pos = _skip(text, pos + 1)


def _issues(text: str, pos: int, where: str, reader) -> int:
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return pos + 1
    n = 0
    while True:
        issue, pos = _decode(text, pos)
        if not isinstance(issue, dict) or not (issue.get("id") or issue.get("key")):
            shown = "null" if issue is None else f"{type(issue).__name__} {repr(issue)[:40]}"
            raise DataError(f"{where}: issues[{n}]: expected an issue object with an `id`, "
                            f"got {shown}", hint="the tracker or export sent a damaged page")
        reader.issue(issue)
        n += 1
        pos = _expect(text, _skip(text, pos), ",]", "',' delimiter")
        if text[pos] == "]":
            return pos + 1
        pos = _skip(text, pos + 1)


def read(text: str, where: str, reader: Reader) -> list[Page]:
    """`pages`, with JSON errors as the config error the file source gives."""
    try:
        return pages(text, where, reader)
    except BadJson as exc:
        raise ConfigError(f"{where}: not valid JSON (line {exc.line}): {exc.msg}")



def partial_notice(found: list[Page], issues: int) -> list[str]:
    """What says a saved search is not the whole result: a `total` above the
    issues the file holds, a first page that does not start at 0, or a last
    page that says more follow (`isLast: false`, a `nextPageToken`)."""
    if not found:
        return []
    metas = [p.meta for p in found]
    totals = [m["total"] for m in metas if isinstance(m.get("total"), int)
              and not isinstance(m.get("total"), bool)]
    last = metas[-1]
    if totals and max(totals) > issues:
        starts = sorted({m["startAt"] for m in metas if isinstance(m.get("startAt"), int)})
        at = f" (saved from startAt {', '.join(map(str, starts))})" if starts else ""
        return [f"partial export: the search matched {max(totals)} issues and the file holds "
                f"{issues}{at}; save every page (a JSON list of the pages) for a whole figure"]
    if last.get("isLast") is False or last.get("nextPageToken"):
        return [f"partial export: the last saved page says more issues follow ("
                f"{'nextPageToken' if last.get('nextPageToken') else 'isLast: false'}); the file "
                f"holds {issues}; save every page for a whole figure"]
    first = metas[0].get("startAt")
    if isinstance(first, int) and first > 0 and not isinstance(first, bool):
        return [f"partial export: the first saved page starts at issue {first}, not 0; the "
                f"file holds {issues}"]
    return []
