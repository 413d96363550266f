"""The offline source: a saved tracker export on disk.

Recognises, by content: a Jira search response (a `/search/jql` page with
`nextPageToken`, a legacy `/search` page with `startAt`/`total`, or a JSON
list of such pages), a Trello board JSON export, and a Jira CSV export
(with its repeated `Labels` / `Component/s` columns).  Here: the file
(where it is, its encoding, whether it can be streamed) and which export it
holds; `jira_json` and `jira_csv` turn a Jira export into tickets,
`connectors.trello.board` a Trello board.
"""
from __future__ import annotations

import codecs
import json
from pathlib import Path

from typing import Literal

import structlog
from pydantic import Field

from sync.core.config import FilePath, Strict
from sync.core.errors import ConfigError
from sync.core.model import Ticket
from sync.worker.progress import QUIET, Progress

from connectors import field_guess
from connectors.files import jira_csv, jira_json

from connectors.jira import export as jira_export
from connectors.jira.hierarchy import inherit_epics
from connectors.jira.issue import JiraFields
from connectors.trello.board import archived_cards, board_tickets, require_estimate_field

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
        reader = self._issues(None, step)
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
        ids = jira_json.field_ids(self.config.fields, reader.names, reader.present, self._where())
        if ids != reader.ids:
            reader = self._issues(ids, step)
            self._export(text, reader)
        self.notices = jira_export.partial_notice(found, len(reader.tickets))
        return list(inherit_epics(reader.tickets).values())

    def draft_fields(self) -> tuple[dict, list[str]]:
        """For `init`: the source keys this export's fields call for."""
        text = self.read_text()
        if self._is_csv(text):
            return field_guess.csv_fields(jira_csv.rows(text, self.name, self._where(),
                                                        str(self.config.path))[0])
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return {}, []               # fetch says what is wrong with it
        if isinstance(data, dict) and "cards" in data and "lists" in data:
            return field_guess.trello_fields([data])
        pages = [p for p in (data if isinstance(data, list) else [data]) if isinstance(p, dict)]
        return field_guess.export_fields(pages)

    def _issues(self, ids, step) -> jira_json.Issues:
        return jira_json.Issues(self.config.fields, self.name, self.config.url or "", self._where(),
                                ids, step)

    def _csv(self, text: str) -> tuple[list[Ticket], list[int]]:
        """The export's tickets, and the lines of rows skipped for want of a key."""
        tickets, keyless = jira_csv.tickets(text, self.name, self._where(), str(self.config.path),
                                            self.config.fields, self.config.url)
        self.notices = jira_csv.limit_notice(len(tickets))
        return tickets, keyless


def register(registry) -> None:
    registry.add("source", "file", FileSourceConfig,
                 lambda config, name, runtime: FileSource(config, name, runtime.base_dir,
                                                                 runtime.progress),
                 probe=lambda source: source.probe(), secrets=())
