"""The offline source: a saved tracker export on disk.

Recognises, by content: a Jira search response (a `/search/jql` page with
`nextPageToken`, a legacy `/search` page with `startAt`/`total`, or a JSON
list of such pages), a Trello board JSON export, and a Jira CSV export
(with its repeated `Labels` / `Component/s` columns).
"""
from __future__ import annotations

import csv
import io
import json
import re
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from typing import Literal

from pydantic import Field

from sync.core.config import FilePath, Strict
from sync.core.errors import ConfigError
from sync.core.model import Ticket, checked_estimate
from sync.worker.progress import QUIET, Progress

from connectors import field_guess, vocabulary
from connectors.files import jira_csv

from connectors.jira import export as jira_export
from connectors.jira.hierarchy import inherit_epics
from connectors.jira.issue import JiraFieldIds, JiraFields, to_ticket
from connectors.trello.board import archived_cards, board_tickets, require_estimate_field

_FIELD_ID = re.compile(r"^customfield_\d+$")


class FileSourceConfig(Strict):
    type: Literal["file"]
    name: str | None = None
    path: FilePath
    url: str | None = None        # Jira base URL, to link keys of a CSV export
    fields: JiraFields = Field(default_factory=JiraFields)
    done_lists: list[str] = Field(default_factory=lambda: ["Done"])
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
    return f"{(Path.cwd() / found).resolve()} nor {(base_dir / found).resolve()}"


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
        with self._reading():
            return self.path.read_text(encoding="utf-8-sig")

    @contextmanager
    def _reading(self):
        """Reading the file, its failures said as config errors."""
        try:
            yield
        except FileNotFoundError:
            raise ConfigError(f"{self._where()}: file not found: no "
                              f"{looked_in(self.config.path, self.base_dir)}",
                              hint="a relative path is taken from the working directory, "
                                   "then from the config file's folder")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{self._where()}: cannot read: {exc}")

    def fetch(self, state=None, now=None) -> list[Ticket]:
        # A regular file is read a window at a time, never whole
        # (jira_export.Text), and opened again for a second pass; a pipe or
        # FIFO can be read only once, so it is read whole.
        text = None if self._seekable() else self.read_text()
        self.notices = []
        if text is None:
            with self._reading(), self.path.open(encoding="utf-8-sig") as file:
                start = file.read(4096).lstrip()
        else:
            start = text.lstrip()
        if self.path.suffix.lower() == ".csv" or not start.startswith(("{", "[")):
            return self._csv(self.read_text() if text is None else text)
        # One pass when the fields the config names can be resolved by the
        # first issue (ids, or `names` given before `issues`); else a first
        # pass learns the names and a second converts.
        step = self.progress.step(f"source {self.name}: reading {self.path.name}")
        try:
            return self._json(text, step)
        finally:
            step.done()

    def _seekable(self) -> bool:
        with self._reading():
            return self.path.is_file()

    def _export(self, text: str | None, reader) -> list:
        if text is not None:
            return jira_export.read(text, self._where(), reader)
        with self._reading(), self.path.open("rb") as file:
            return jira_export.read(file, self._where(), reader)

    def _json(self, text: str | None, step) -> list[Ticket]:
        reader = _Issues(self, None, step)
        found = self._export(text, reader)
        if len(found) == 1 and not found[0].has_issues and "cards" in found[0].meta \
                and "lists" in found[0].meta:
            board = found[0].meta
            require_estimate_field(board, self.config.estimate_field, self._where())
            tickets = board_tickets(board, self.name, self.config.done_lists, self.config.estimate_field)
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
        if self.path.suffix.lower() == ".csv" or not text.lstrip().startswith(("{", "[")):
            return field_guess.csv_fields(list(csv.reader(io.StringIO(text))))
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

    def _csv(self, text: str) -> list[Ticket]:
        rows = list(csv.reader(io.StringIO(text)))
        header = [vocabulary.csv_header(h) for h in rows[0]] if rows else []
        if "issue key" not in header:
            raise ConfigError(f"{self._where()}: not a Jira CSV export (no `Issue key` column)")
        shown = [h.strip() for h in rows[0]]
        estimate_col = self._csv_column(header, shown, "estimate", self.config.fields.estimate)
        accept_col = self._csv_column(header, shown, "acceptance", self.config.fields.acceptance)
        base = (self.config.url or "").rstrip("/")
        records = []
        for raw in rows[1:]:
            if not any(cell.strip() for cell in raw):
                continue
            cols: dict[str, list[str]] = {}
            for name, cell in zip(header, raw):
                if cell.strip():
                    cols.setdefault(name, []).append(cell.strip())
            records.append(cols)
        parents = jira_csv.Parents(records)
        self.notices = jira_csv.limit_notice(len(records))
        return [_csv_ticket(cols, self.name, base, estimate_col, accept_col, parents)
                for cols in records]

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


_CSV_TIMES = ("%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M",
              "%m/%d/%Y %H:%M", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z")


def _csv_time(value: str | None) -> datetime | None:
    """Jira CSV dates are in the exporting user's format and zone; read them as UTC."""
    if not value:
        return None
    for fmt in _CSV_TIMES:
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _csv_ticket(cols: dict[str, list[str]], source: str, base: str,
                estimate_col: str | None, accept_col: str | None,
                parents: jira_csv.Parents) -> Ticket:
    def one(*names: str) -> str | None:
        for n in names:
            if cols.get(n):
                return cols[n][0]
        return None
    key = one("issue key") or ""
    estimate = problem = None
    if estimate_col and one(estimate_col):
        try:
            estimate = float(one(estimate_col))
        except ValueError:
            problem = f"estimate {one(estimate_col)!r} is not a number; counted as no estimate"
        estimate, problem = checked_estimate(estimate) if problem is None else (None, problem)
    epic, parent = parents.of(cols)
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
        updated=_csv_time(one("updated")), done_at=_csv_time(one("resolved")),
        problems=(problem,) if problem else (),
    )


def register(registry) -> None:
    registry.add("source", "file", FileSourceConfig,
                 lambda config, name, runtime: FileSource(config, name, runtime.base_dir,
                                                                 runtime.progress),
                 probe=lambda source: f"{len(source.fetch())} tickets")
