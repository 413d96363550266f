"""The offline source: a saved tracker export on disk.

Recognises, by content: a Jira search response (a `/search/jql` page with
`nextPageToken`, a legacy `/search` page with `startAt`/`total`, or a JSON
list of such pages), a Trello board JSON export, and a Jira CSV export
(with its repeated `Labels` / `Component/s` columns).
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from pathlib import Path

from typing import Literal

import structlog
from pydantic import Field

from sync.core.config import FilePath, Strict
from sync.core.errors import ConfigError
from sync.core import numbers, values
from sync.core.model import Ticket
from sync.worker.progress import QUIET, Progress

from connectors import field_guess, vocabulary
from connectors.files import jira_csv

from connectors.jira import export as jira_export
from connectors.jira.hierarchy import inherit_epics
from connectors.jira.issue import JiraFieldIds, JiraFields, to_ticket
from connectors.trello.board import archived_cards, board_tickets, require_estimate_field

_FIELD_ID = re.compile(r"^customfield_\d+$")
log = structlog.get_logger("align_sync.files")


class FileSourceConfig(Strict):
    type: Literal["file"]
    name: str | None = None
    path: FilePath
    url: str | None = None        # Jira base URL, to link keys of a CSV export
    fields: JiraFields = Field(default_factory=JiraFields)
    done_lists: list[str] = Field(default_factory=lambda: ["Done"])
    wip_lists: list[str] | None = None     # a Trello export's lists of work under way
    estimate_field: str | None = None


def beside_config(path: str, base_dir: Path | None) -> Path:
    """Relative paths are taken from the working directory (as in the spec's
    example); a config kept elsewhere may also name its files relative to itself."""
    found = Path(path)
    if not found.is_absolute() and not found.exists() and base_dir is not None:
        found = base_dir / found
    return found


def looked_in(path: str, base_dir: Path | None) -> str:
    """Where `beside_config` looked, for a file that is in neither place."""
    found = Path(path)
    if found.is_absolute() or base_dir is None:
        return str(found.resolve())
    here, beside = (Path.cwd() / found).resolve(), (base_dir / found).resolve()
    # A config in the working directory: both places are one, named once.
    return str(here) if here == beside else f"{here} nor {beside}"


class FileSource:
    def __init__(self, config: FileSourceConfig, name: str, base_dir: Path | None = None,
                 progress: Progress = QUIET):
        self.progress = progress          # a 100k-issue export takes seconds to read
        self.config = config
        self.name = name
        self.path = beside_config(config.path, base_dir)
        self.base_dir = base_dir
        # What the last fetch found incomplete or left out, one line each:
        # `init` prints them, `run` turns them into `partial_export` warnings.
        self.notices: list[str] = []
        self.archived = 0              # Trello cards dropped as archived, for `init`

    def _where(self) -> str:
        return f"source {self.name} (file {self.config.path})"

    def read_text(self) -> str:
        """The file as text: UTF-8 (with or without a byte-order mark); a CSV
        that is not UTF-8 is read as Windows-1252 (what Excel on Windows
        saves), with a warning in the log.  An empty file is said to be empty."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"{self._where()}: file not found: no "
                              f"{looked_in(self.config.path, self.base_dir)}",
                              hint="a relative path is taken from the working directory, "
                                   "then from the config file's folder")
        except OSError as exc:
            raise ConfigError(f"{self._where()}: cannot read: {exc.strerror or exc}")
        if not data or data.isspace():          # isspace: no copy of a 70 MB export
            raise ConfigError(f"{self._where()}: the file is empty ({len(data)} bytes)",
                              hint="export the issues again (a Jira search response as JSON, "
                                   "a Trello board JSON export or a Jira CSV export)")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):    # Excel's "Unicode text": UTF-16, tabs
            try:
                return data.decode("utf-16")
            except UnicodeDecodeError as exc:
                raise ConfigError(f"{self._where()}: cannot read: broken UTF-16 text ({exc.reason})")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if self._is_csv(data.lstrip()[:1].decode("latin-1")):
                try:
                    text = data.decode("cp1252")
                except UnicodeDecodeError:
                    pass
                else:
                    log.warning("source.csv_encoding", source=self.name, file=str(self.config.path),
                                read_as="cp1252", hint="not UTF-8: read as Windows-1252; save the "
                                "export as UTF-8 to be sure of accents")
                    return text
            raise ConfigError(f"{self._where()}: cannot read: not UTF-8 text (byte "
                              f"0x{exc.object[exc.start]:02x} at offset {exc.start})",
                              hint="export it again, or save it as UTF-8")

    def _is_csv(self, text: str) -> bool:
        return self.path.suffix.lower() == ".csv" or not text.lstrip().startswith(("{", "["))

    writeback = None               # an export is read, never written to

    def check(self) -> str:
        return self.probe()

    def add_label(self, key: str, label: str) -> None:
        raise ConfigError(f"source {self.name}: ticket {key}: a saved export cannot take labels",
                          hint="writeback needs a live Jira or Trello source")

    def fetch(self, state=None, now=None) -> list[Ticket]:
        # A JSON export on disk is read a window at a time, never whole
        # (jira_export.Text): whole, a 228 MB export holds its bytes and its
        # text at once.  Anything else (a CSV, UTF-16, an empty file, a pipe
        # that can be read only once) is read whole, as read_text says.
        text = None if self._streams() else self.read_text()
        self.notices = []
        if text is not None and self._is_csv(text):
            tickets, keyless = self._csv(text)
            if keyless:
                log.warning("source.rows_skipped", source=self.name, file=str(self.config.path),
                            skipped=len(keyless), reason="no Issue key",
                            lines=keyless[:20], more=max(0, len(keyless) - 20))
            return tickets
        # One pass when the fields the config names can be resolved by the
        # first issue (ids, or `names` given before `issues`); else a first
        # pass learns the names and a second converts.
        step = self.progress.step(f"source {self.name}: reading {self.path.name}")
        try:
            return self._json(text, step)
        finally:
            step.done()

    def probe(self) -> str:
        """`check`: what the file holds, rows the sync would skip included."""
        text = self.read_text()
        tickets, keyless = self._csv(text) if self._is_csv(text) else (self._json(text, None), [])
        said = [f"{len(tickets)} tickets"]
        if keyless:
            said.append(f"{len(keyless)} rows without an Issue key skipped (lines "
                        f"{', '.join(map(str, keyless[:10]))}{', …' if len(keyless) > 10 else ''})")
        bad = [t for t in tickets if t.problems]
        if bad:
            said.append(f"{len(bad)} with fields that cannot be read (bad_data warnings; first: "
                        f"{bad[0].key}: {bad[0].problems[0]})")
        return "; ".join(said)

    def _streams(self) -> bool:
        """Whether the file is a UTF-8 JSON export on disk, to read a window at a time."""
        try:
            if self.path.suffix.lower() == ".csv" or not self.path.is_file():
                return False
            with self.path.open("rb") as file:
                head = file.read(4096)
        except OSError:
            return False                # read_text says what is wrong
        return head.removeprefix(codecs.BOM_UTF8).lstrip()[:1] in (b"{", b"[")

    def _export(self, text: str | None, reader) -> list:
        """The pages of the export: of `text`, or of the file, streamed."""
        if text is not None:
            return jira_export.read(text, self._where(), reader)
        try:
            with self.path.open("rb") as file:
                return jira_export.read(file, self._where(), reader)
        except (OSError, UnicodeDecodeError) as exc:
            self.read_text()            # says what is wrong, as for a file read whole
            raise ConfigError(f"{self._where()}: cannot read: {exc}") from None

    def _json(self, text: str | None, step) -> list[Ticket]:
        reader = _Issues(self, None, step)
        found = self._export(text, reader)
        if len(found) == 1 and not found[0].has_issues and "cards" in found[0].meta \
                and "lists" in found[0].meta:
            board = found[0].meta
            require_estimate_field(board, self.config.estimate_field, self._where())
            tickets = board_tickets(board, self.name, self.config.done_lists, self.config.estimate_field,
                                    self.config.wip_lists)
            self.archived = archived_cards(board)
            return tickets
        if not found or not all(p.has_issues for p in found):
            raise ConfigError(f"{self._where()}: not a Jira search response (no `issues`), "
                              "a Trello board export (no `cards`/`lists`) or a Jira CSV export")
        ids = self._field_ids(reader.names, reader.present)
        if ids != reader.ids:
            reader = _Issues(self, ids, step)
            self._export(text, reader)
        self.notices = jira_export.partial_notice(found, len(reader.tickets))
        return list(inherit_epics(reader.tickets).values())

    def draft_fields(self) -> tuple[dict, list[str]]:
        """For `init`: the source keys this export's fields call for."""
        text = self.read_text()
        if self._is_csv(text):
            return field_guess.csv_fields(self._csv_rows(text)[0])
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return {}, []               # fetch says what is wrong with it
        if isinstance(data, dict) and "cards" in data and "lists" in data:
            return field_guess.trello_fields([data])
        pages = [p for p in (data if isinstance(data, list) else [data]) if isinstance(p, dict)]
        return field_guess.export_fields(pages)

    def _field_ids(self, names: dict[str, str], present: set[str],
                   final: bool = True) -> JiraFieldIds | None:
        """The ids behind `fields:`.  Not `final` (the first issue is read,
        more names may follow): None where a name cannot be resolved yet."""
        by_name = {v.strip().lower(): k for k, v in names.items()}

        def resolve(key: str, wanted: str | None) -> str | None:
            if not wanted:
                return None
            if wanted in present or wanted in names or _FIELD_ID.match(wanted):
                return wanted
            if wanted.strip().lower() in by_name:
                return by_name[wanted.strip().lower()]
            if not final:
                raise _NotYet()
            have = ", ".join(sorted(f"{v} ({k})" for k, v in names.items())) or \
                ", ".join(sorted(x for x in present if x.startswith("customfield_"))) or "none"
            raise ConfigError(f"{self._where()}: fields.{key} {wanted!r} is not a field of this "
                              f"export; use a field id (fields seen: {have})")
        try:
            return JiraFieldIds(resolve("estimate", self.config.fields.estimate),
                                resolve("acceptance", self.config.fields.acceptance),
                                next((by_name[n] for n in vocabulary.EPIC_LINK_NAMES
                                      if n in by_name), None))
        except _NotYet:
            return None

    def _csv_rows(self, text: str) -> tuple[list[list[str]], list[int]]:
        """The export's records and the line each starts on.  Jira writes
        commas, but an export opened and saved again in a spreadsheet may use
        semicolons or tabs: the separator is the one that makes the first
        line hold an `Issue key` column (in any language Jira writes)."""
        def has_key(delimiter: str) -> bool:
            head = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
            return "issue key" in (vocabulary.csv_header(h) for h in head)
        delimiter = next((d for d in (",", ";", "\t", "|") if has_key(d)), None)
        if delimiter is None:
            first = next(csv.reader(io.StringIO(text)), [])
            raise ConfigError(f"{self._where()}: not a Jira CSV export (no `Issue key` column "
                              f"in the first line: {', '.join(first[:6])[:120]!r})",
                              hint="export from Jira with Export → CSV (all fields), separated "
                                   "by commas or semicolons")
        if delimiter != ",":
            log.warning("source.csv_separator", source=self.name, file=str(self.config.path),
                        separator=delimiter, hint="read; Jira itself writes commas")
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        rows, lines, start = [], [], 1
        for row in reader:
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
        return rows, lines

    def _csv(self, text: str) -> tuple[list[Ticket], list[int]]:
        """The export's tickets, and the lines of rows skipped for want of a key."""
        rows, lines = self._csv_rows(text)
        header = [vocabulary.csv_header(h) for h in rows[0]]
        shown = [h.strip() for h in rows[0]]
        estimate_col = self._csv_column(header, shown, "estimate", self.config.fields.estimate)
        accept_col = self._csv_column(header, shown, "acceptance", self.config.fields.acceptance)
        base = (self.config.url or "").rstrip("/")
        records, keyless = [], []
        for raw, line in zip(rows[1:], lines[1:]):
            if not any(cell.strip() for cell in raw):
                continue
            cols: dict[str, list[str]] = {}
            for name, cell in zip(header, raw):
                if cell.strip():
                    cols.setdefault(name, []).append(cell.strip())
            if not cols.get("issue key"):
                keyless.append(line)     # a ticket with no key could be no row of the sheet
                continue
            records.append(cols)
        parents = jira_csv.Parents(records)
        self.notices = jira_csv.limit_notice(len(records))
        order = values.day_order(v for cols in records for name in _CSV_DATES
                                 for v in cols.get(name, ()))
        return [_csv_ticket(cols, self.name, base, estimate_col, accept_col, parents, order)
                for cols in records], keyless

    def _csv_column(self, header: list[str], shown: list[str], key: str,
                    wanted: str | None) -> str | None:
        if not wanted:
            return None
        low = wanted.strip().lower()
        for hl in header:
            if hl == low or hl == f"custom field ({low})" or hl.endswith(f"[{low}]"):
                return hl
        custom = ", ".join(sorted({raw for raw, h in zip(shown, header)
                                   if h.startswith("custom field (")})) or "none"
        raise ConfigError(f"{self._where()}: fields.{key} {wanted!r} is not a column of this CSV "
                          f"export (custom field columns: {custom})")


class _NotYet(Exception):
    pass


class _Issues:
    """Receives an export's issues as they are read (`jira_export.Reader`):
    with `ids` given, converts each; without, decides at the first issue
    from the names seen so far, and converts only if it could."""

    def __init__(self, source: FileSource, ids: JiraFieldIds | None, step=None):
        self.source = source
        self.step = step
        self.seen = 0
        self.ids = ids
        self.decided = ids is not None
        self.names: dict[str, str] = {}
        self.present: set[str] = set()
        self.tickets: dict[str, Ticket] = {}

    def meta(self, key: str, value) -> None:
        if key == "names" and isinstance(value, dict):   # field id → name; anything else is no help
            self.names.update({k: str(v) for k, v in value.items() if v is not None})

    def issue(self, issue: dict) -> None:
        self.seen += 1
        if self.step is not None and not self.seen % 500:
            self.step.update(issues=self.seen)
        fields = issue.get("fields")
        if isinstance(fields, dict):
            self.present.update(fields)
        if not self.decided:
            self.decided = True
            self.ids = self.source._field_ids(self.names, self.present, final=False)
        if self.ids is not None:
            ticket = to_ticket(issue, self.source.name, self.ids, self.source.config.url or "")
            self.tickets[ticket.key] = ticket    # a key on two pages counts once


# The columns holding dates: together they show whether 03/04/2026 is day first.
_CSV_DATES = ("created", "updated", "resolved", "last viewed", "due date")


def _csv_ticket(cols: dict[str, list[str]], source: str, base: str,
                estimate_col: str | None, accept_col: str | None,
                parents: jira_csv.Parents, order: str | None) -> Ticket:
    def one(*names: str) -> str | None:
        for n in names:
            if cols.get(n):
                return cols[n][0]
        return None

    def when(name: str, when_blank: str):
        try:
            return values.export_date(one(name), order)
        except values.Unreadable as exc:
            problems.append(f"column `{name.title()}`: {exc}; {when_blank}")
            return None
    problems: list[str] = []
    key = one("issue key")
    estimate = None
    if estimate_col:
        estimate, problem = numbers.estimate(one(estimate_col), f"column `{estimate_col}`")
        if problem:
            problems.append(problem)
    epic, parent = parents.of(cols)
    updated = when("updated", "taken as never updated")
    done_at = when("resolved", "taken as no resolution date")
    return Ticket(
        key=key, source=source, title=one("summary") or "",
        url=f"{base}/browse/{key}" if base else "",
        type=one("issue type") or "", status=one("status") or "", done=jira_csv.is_done(cols),
        owner=one("assignee"), estimate=estimate,
        labels=tuple(cols.get("labels", [])), components=tuple(dict.fromkeys(cols.get("components", []))),
        project=one("project key") or (key.rsplit("-", 1)[0] if "-" in key else None),
        project_name=one("project name"), epic=epic, parent=parent,
        description=one("description") or "",
        acceptance=(one(accept_col) or "") if accept_col else "",
        updated=updated, done_at=done_at, created=when("created", "taken as no creation date"),
        in_progress=jira_csv.in_progress(cols), problems=tuple(problems),
    )


def register(registry) -> None:
    registry.add("source", "file", FileSourceConfig,
                 lambda config, name, runtime: FileSource(config, name, runtime.base_dir,
                                                                 runtime.progress),
                 probe=lambda source: source.probe())
