"""A saved Jira search response read one issue at a time.

`json.loads` of a 100k-issue export builds every issue's dicts at once
(310 MB for a 68 MB file) before the first `Ticket` exists.  Here the
decoder's own C scanner (`raw_decode`) reads one value at a time from the
text: the page's small keys (`names`, `isLast`, ...) whole, and the
`issues` array element by element, so each issue's dicts are garbage as
soon as its `Ticket` is built.  The result is what `json.loads` would give,
error positions included.

A file is read a window at a time (`Text`), not whole: reading a 228 MB
export into one string holds its bytes and its text at once (460 MB)
before anything is parsed.  A value cut by the window's end fails to
decode (or, a number, ends exactly there) and is decoded again once the
window has moved on and grown.
"""
from __future__ import annotations

import codecs
import json
import re
from typing import IO, Any, Protocol

from sync.core.errors import ConfigError, DataError

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
WINDOW = 4 << 20       # characters read at a time: a few thousand issues
AHEAD = 64 << 10       # left in the window before a value: read on first (most issues are smaller)


class Text:
    """The export's text: all of it (a string), or a window on a file that
    moves forward.  Positions are in `buf`; `more` moves the window and
    says where the old position now is."""

    def __init__(self, source: str | IO[bytes]):
        self.file = None if isinstance(source, str) else source
        # UTF-8 (a BOM dropped) decoded a window at a time: one C call per
        # window, where a text file's reader decodes 8 kB at a time.
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.eof = self.file is None
        self.buf = source if isinstance(source, str) else self._read(WINDOW)
        self.dropped = 0            # characters the window has left behind

    def _read(self, size: int) -> str:
        while not self.eof:
            data = self.file.read(size)
            self.eof = not data
            text = self.decoder.decode(data, final=self.eof)
            if text:
                return text
        return ""

    def more(self, pos: int) -> int:
        """Drop what is before `pos`, read on (at least as much as is kept,
        so a long value costs no more than twice its reading); -> new pos."""
        left = self.buf[pos:]
        chunk = self._read(max(WINDOW, len(left)))
        self.dropped += pos
        self.buf = left + chunk
        return 0

    def line(self, pos: int) -> int:
        """The line of `pos`.  Only an error asks, so the lines left behind
        are counted then, by reading the file again from its start."""
        lines = self.buf.count("\n", 0, pos) + 1
        if self.dropped:
            self.file.seek(0)
            again, seen = Text(self.file), 0
            while seen < self.dropped and again.buf:
                part = again.buf[:self.dropped - seen]
                lines, seen = lines + part.count("\n"), seen + len(part)
                again.buf = again._read(WINDOW)
        return lines


class BadJson(Exception):
    def __init__(self, text: Text, pos: int, msg: str):
        self.line = text.line(pos)
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


def _issues(text: Text, pos: int, where: str, reader) -> int:
    pos = _skip(text, pos + 1)
    if text.buf.startswith("]", pos):
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
