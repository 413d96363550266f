"""A saved Jira search response read as it streams.

`json.loads` of a 100k-issue export builds every issue's dicts at once
(310 MB for a 68 MB file) before the first `Ticket` exists.  Here the page's
small keys (`names`, `isLast`, ...) are read whole by the decoder's own C
scanner (`raw_decode`), and the `issues` array a run of issues at a time
(`runs.Runs`: the whole issues of about 32 kB in one call) or, where a run
cannot be taken, one issue at a time, so each issue's dicts are garbage
soon after its `Ticket` is built.  The result is what `json.loads` would
give, error positions included.

The file is read a window at a time (`window.Text`).  A value cut by the
window's end fails to decode (or, a number, ends exactly there) and is
decoded again once the window has moved on and grown.
"""
from __future__ import annotations

import json
import re
from typing import IO, Any, Protocol

from sync.core.errors import ConfigError, DataError

from connectors.jira.runs import Runs
from connectors.jira.window import BadJson, Text

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
AHEAD = 64 << 10       # left in the window before a value: read on first (most issues are smaller)


class Reader(Protocol):
    """Where `pages` hands what it reads, in the order of the file."""
    def meta(self, key: str, value: Any) -> None: ...
    def issue(self, issue: dict) -> None: ...


class Page:
    """One search page: its keys other than `issues`, and whether it had them."""

    def __init__(self):
        self.meta: dict[str, Any] = {}
        self.has_issues = False


def _decode(text: Text, pos: int) -> tuple[Any, int]:
    if len(text.buf) - pos < AHEAD and not text.eof:
        # Read on before a value is cut: a failed decode costs an exception
        # whose message counts the lines of the whole window (a 4 MB scan).
        pos = text.more(pos)
    while True:
        try:
            value, end = _DECODER.raw_decode(text.buf, pos)
        except json.JSONDecodeError as exc:
            if not text.eof:            # cut by the window's end, perhaps: read on
                pos = text.more(pos)
                continue
            raise BadJson(text, exc.pos, exc.msg)
        except RecursionError:
            raise BadJson(text, pos, "nested too deeply")
        except ValueError:          # an integer past Python's 4,300 digits: no number anyone meant
            raise BadJson(text, pos, "a number with thousands of digits")
        if end < len(text.buf) or text.eof:
            return value, end
        pos = text.more(pos)            # a number may go on past the window


def _skip(text: Text, pos: int) -> int:
    """Past whitespace, to a character (or the end of the file)."""
    pos = _WS.match(text.buf, pos).end()
    while pos >= len(text.buf) and not text.eof:
        pos = text.more(pos)            # (first: it replaces `buf`)
        pos = _WS.match(text.buf, pos).end()
    return pos


def _expect(text: Text, pos: int, chars: str, what: str) -> int:
    if pos >= len(text.buf) or text.buf[pos] not in chars:
        raise BadJson(text, pos, f"Expecting {what}")
    return pos


def pages(text: Text, where: str, reader: Reader) -> list[Page]:
    """Each page of the export (one object, or a list of them); every issue
    goes to `reader.issue` as it is read, checked as `issue_list` checks it,
    and each other key of a page to `reader.meta` (so `names` given before
    `issues` is known when the first issue arrives)."""
    pos = _skip(text, 0)
    out: list[Page] = []
    if text.buf.startswith("[", pos):
        pos = _skip(text, pos + 1)
        if text.buf.startswith("]", pos):
            return out
        while True:
            if not text.buf.startswith("{", pos):
                value, pos = _decode(text, pos)     # not a page: says so below
                out.append(Page())
            else:
                page, pos = _page(text, pos, where, reader)
                out.append(page)
            pos = _skip(text, pos)
            pos = _expect(text, pos, ",]", "',' delimiter")
            if text.buf[pos] == "]":
                pos += 1
                break
            pos = _skip(text, pos + 1)
    else:
        _expect(text, pos, "{", "value")
        page, pos = _page(text, pos, where, reader)
        out.append(page)
    pos = _skip(text, pos)
    if pos != len(text.buf):
        raise BadJson(text, pos, "Extra data")
    return out


def _page(text: Text, pos: int, where: str, reader) -> tuple[Page, int]:
    page = Page()
    pos = _skip(text, pos + 1)
    if text.buf.startswith("}", pos):
        return page, pos + 1
    while True:
        _expect(text, pos, '"', "property name enclosed in double quotes")
        key, pos = _decode(text, pos)
        pos = _expect(text, _skip(text, pos), ":", "':' delimiter")
        pos = _skip(text, pos + 1)
        if key == "issues" and text.buf.startswith("[", pos):
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
        if text.buf[pos] == "}":
            return page, pos + 1
        pos = _skip(text, pos + 1)


def _issue(issue: Any, n: int, where: str, reader) -> None:
    if issue.__class__ is not dict or not (issue.get("id") or issue.get("key")):
        shown = "null" if issue is None else f"{type(issue).__name__} {repr(issue)[:40]}"
        raise DataError(f"{where}: issues[{n}]: expected an issue object with an `id`, "
                        f"got {shown}", hint="the tracker or export sent a damaged page")
    reader.issue(issue)


def _issues(text: Text, pos: int, where: str, reader) -> int:
    pos = _skip(text, pos + 1)
    if text.buf.startswith("]", pos):
        return pos + 1
    n = 0
    runs = Runs()
    while True:
        batch, end = runs.take(text, pos)
        if batch is not None:
            for issue in batch:
                _issue(issue, n, where, reader)
                n += 1
            pos = end
        else:
            first = runs.first_key(text, pos)
            issue, end = _decode(text, pos)
            runs.learn(text, first, end)
            _issue(issue, n, where, reader)
            pos = end
            n += 1
        # The usual separator between issues, read without the general steps
        # (which would find the same: a comma, one space or none, an object).
        if text.buf.startswith(", {", pos):
            pos += 2
            continue
        if text.buf.startswith(",{", pos):
            pos += 1
            continue
        pos = _expect(text, _skip(text, pos), ",]", "',' delimiter")
        if text.buf[pos] == "]":
            return pos + 1
        pos = _skip(text, pos + 1)


def read(source: str | IO[bytes], where: str, reader: Reader) -> list[Page]:
    """`pages` of a text or of a file open for reading bytes (UTF-8), with
    JSON errors as the config error the file source gives."""
    try:
        return pages(Text(source), where, reader)
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
