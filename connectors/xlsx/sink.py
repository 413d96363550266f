"""The local sink: a .xlsx workbook with the same tabs as the Google Sheet.

The workbook is built with openpyxl and saved to a temporary file that
replaces the old one in one rename, so a failed sync leaves the previous
workbook as it was.  Metrics and tabs we do not own are carried over.  The
two big tabs' rows are written into the saved file as XML (`xlsx_stream`).
(openpyxl does not keep charts or images it did not draw, so charts people
add to their own tabs in Excel are lost on the next sync: documented.)
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import field_validator

from connectors.files.source import beside_config
from connectors.xlsx import stream as xlsx_stream
from connectors.xlsx.book import (load_shell, metric_rows, openpyxl, ours, read_rows, read_rows_cached,
                                  save_replacing, seed_rows, sheet_paths, typed)
from connectors.xlsx.charts import draw_charts
from connectors.xlsx.columns import read_columns
from connectors.xlsx.tabs import MAX_LINKS, MAX_TEXT, add_metric_rows, fill_tab, replace_tab
from sync.core.assess.choices import HEADER as CHOICE_HEADER
from sync.core.config import FilePath
from sync.core.strict import SinkBlock
from sync.core.errors import ConfigError
from sync.core.inputs import computed, gather
from sync.core.model import SheetInputs
from sync.core.present.report import HEADERS, OWNED, Report, Table, cell_text, iso
from sync.worker.progress import QUIET, Progress

# The tabs a write replaces whole: loaded empty (their rows come from `read`).
# Owners is left parsed: whether a tab of that name is ours is read off it.
REWRITTEN = {name for name in OWNED if name != "Owners"} | {"History"}

if TYPE_CHECKING:
    from openpyxl import Workbook


@dataclass(frozen=True)
class Basis:
    """What a read saw that its write builds on: the file's stamp (None: no
    file yet) and History's rows (or the seed's, for a new workbook).  The
    write loads the tabs it rewrites empty only while the stamp still holds."""
    stamp: tuple | None
    history: list[list]


def _rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)] if ws is not None else []


class XlsxSinkConfig(SinkBlock):
    type: Literal["xlsx"]
    path: FilePath
    metrics_seed: FilePath | None = None   # CSV (Date,Metric,Value,Note) for a new workbook's Metrics
    history_seed: FilePath | None = None   # CSV of History's columns for a new workbook's History

    @field_validator("path")
    @classmethod
    def _xlsx(cls, path: str) -> str:
        # openpyxl reads a workbook back only under an Excel file name, so a
        # path without `.xlsx` would work once and fail on every later sync.
        if not path.lower().endswith(".xlsx"):
            raise ValueError(f"expected a file name ending in .xlsx, got {path!r}")
        return path


class XlsxSink:
    def __init__(self, config: XlsxSinkConfig, base_dir: Path | None = None,
                 progress: Progress = QUIET):
        self.config = config
        self.progress = progress          # 100k Tickets rows take ~3 s to write
        self.path = Path(config.path)
        self.location = str(self.path)
        self.seed = beside_config(config.metrics_seed, base_dir) if config.metrics_seed else None
        self.history_seed = beside_config(config.history_seed, base_dir) if config.history_seed else None

    def _stamp(self) -> tuple:
        st = os.stat(self.path)
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _open(self) -> Workbook | None:
        """The whole workbook, every tab parsed (for `write_error` and `check`)."""
        if not self.path.exists():
            return None
        try:
            return openpyxl().load_workbook(self.path)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise ConfigError(f"sink xlsx {self.path}: cannot open as a workbook ({exc}); "
                              "move it away or point `sink.path` elsewhere")

    def _shell(self, basis: Basis | None) -> tuple[Workbook | None, Basis | None]:
        """For `write`: the workbook with the tabs it rewrites loaded empty,
        when the read `basis` came from saw this very file (it holds History's
        rows); else whole, and no basis (the file changed since)."""
        if not self.path.exists():
            return None, basis
        if basis is None or basis.stamp != self._stamp():
            return self._open(), None
        try:
            return load_shell(self.path, REWRITTEN), basis
        except Exception as exc:
            raise ConfigError(f"sink xlsx {self.path}: cannot open as a workbook ({exc}); "
                              "move it away or point `sink.path` elsewhere")

    def read(self) -> SheetInputs:
        if not self.path.exists():
            # A new workbook starts from the seeds; write() keeps the History seed.
            history = self._history_seed_rows()
            inputs = gather(self._seed_rows(), [], history)
            inputs.basis = Basis(None, history) if history else None
            return inputs
        stamp = self._stamp()
        try:
            tabs = read_rows(self.path, ("Metrics", "Tickets", "History", "Review"),
                                    header_only_if={"Tickets": HEADERS["Tickets"]})
            if tabs.get("Tickets") == [HEADERS["Tickets"]]:
                # Nobody's columns: only the Set lever cells (people's choices) and their keys.
                tabs["Tickets"] = read_columns(self.path, "Tickets", HEADERS["Tickets"],
                                               ("Key", CHOICE_HEADER))
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise ConfigError(f"sink xlsx {self.path}: cannot open as a workbook ({exc}); "
                              "move it away or point `sink.path` elsewhere")
        metrics = metric_rows(tabs["Metrics"]) if "Metrics" in tabs else self._seed_rows()
        if computed(metrics):
            # A computed metric: take the value Excel cached when it last saved
            # the file (openpyxl cannot compute formulas).
            metrics = metric_rows(read_rows_cached(self.path))
        history = (tabs.get("History") or [[]])[1:]
        inputs = gather(metrics, tabs.get("Tickets", []), history, (tabs.get("Review") or [[]])[1:])
        inputs.basis = Basis(stamp, history)
        return inputs

    def _seed_rows(self) -> list[list]:
        # Values become numbers, as a person typing them into the tab would
        # get; a row too short is kept, so reading it says what it lacks.
        seed = seed_rows(self.seed, "metrics_seed", HEADERS["Metrics"][:3])
        return [[r[0], r[1], typed(r[2], seed.decimal_comma)] + r[3:4]
                for r in (r + [""] * (3 - len(r)) for r in seed.rows)]

    def _history_seed_rows(self) -> list[list]:
        """Earlier snapshots for a new workbook (the demo's eight weeks), so
        Trend draws a curve from the first sync."""
        width = len(HEADERS["History"])
        seed = seed_rows(self.history_seed, "history_seed", HEADERS["History"][:2])
        for n, r in enumerate(seed.rows, 2):
            if len(r) != width:
                raise ConfigError(f"sink.history_seed {self.history_seed}: line {n}: expected "
                                  f"{width} columns ({', '.join(HEADERS['History'])}), got {len(r)}")
        return [[r[0], r[1]] + [typed(v, seed.decimal_comma) for v in r[2:]] for r in seed.rows]

    def check(self) -> str:
        folder = self.path.parent if str(self.path.parent) else Path(".")
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise ConfigError(f"sink xlsx: folder {folder} is not writable")
        self._open()
        return f"{self.path} is writable"

    def write(self, report: Report, basis: Basis | None) -> None:
        """`basis`: the `read` this report was built from (None: the whole
        workbook is loaded here)."""
        self._writable()
        step = self.progress.step(f"sink xlsx: writing {self.path}")
        wb, basis = self._shell(basis)
        wb = wb or openpyxl().Workbook()
        fresh = wb.sheetnames == ["Sheet"] and wb["Sheet"].max_row == 1
        streamed: dict[str, Table] = {}
        for table in report.tables:
            if xlsx_stream.streamable(table):
                streamed[table.name] = table       # its rows go in after the save
                replace_tab(wb, table, probe=True)
            else:
                replace_tab(wb, table)
        if basis is not None:
            old_history = basis.history            # read this sync (the shell holds none)
        else:
            old_history = _rows(wb["History"])[1:] if "History" in wb.sheetnames else []
        replace_tab(wb, Table("History", HEADERS["History"], old_history + report.history))
        if "Metrics" not in wb.sheetnames:
            ws = wb.create_sheet("Metrics")
            fill_tab(ws, Table("Metrics", HEADERS["Metrics"], self._seed_rows()))
        if report.metrics:
            add_metric_rows(wb["Metrics"], report.metrics)
        if fresh:
            del wb["Sheet"]
        for name in ("Owners",):  # a tab switched off in config is removed, not left stale
            if not any(t.name == name for t in report.tables) and name in wb.sheetnames \
                    and ours(wb[name], name, HEADERS):
                del wb[name]
        draw_charts(wb)
        step.update(tabs=len(report.tables) + 1)
        self._save(wb, streamed, step)
        step.done()

    def write_error(self, message: str, when: datetime, basis: Basis | None = None) -> None:
        """The workbook is opened whole whatever was read (`basis` unused)."""
        self._writable()
        wb = self._open()
        if wb is None or "Summary" not in wb.sheetnames:
            return
        ws = wb["Summary"]
        for row in ws.iter_rows(min_row=2):
            if row[0].value == "Last error":
                row[1].value = cell_text(f"{iso(when)}: {message}", MAX_TEXT)
                row[1].data_type = "s"
        self._save(wb)

    def _stream(self, tmp: str, streamed: dict[str, Table], step=None) -> None:
        """The streamed tabs' rows into the saved file (`xlsx_stream`)."""
        with zipfile.ZipFile(tmp) as archive:
            paths = sheet_paths(archive)
        parts = {paths[name]: xlsx_stream.Spliced(
                     table, MAX_TEXT, MAX_LINKS,
                     (lambda n, tab=name: step.update(**{f"{tab} rows": n})) if step else (lambda n: None))
                 for name, table in streamed.items()}
        spliced = tmp + ".rows"
        try:
            xlsx_stream.splice(Path(tmp), Path(spliced), parts)
            os.replace(spliced, tmp)
        finally:
            if os.path.exists(spliced):
                os.unlink(spliced)

    def _target(self) -> Path:
        """Where the bytes go: through a symlink to the file it names, so a
        shared target is updated and the link stays a link."""
        return Path(os.path.realpath(self.path))

    def _writable(self) -> None:
        target = self._target()
        if target.exists() and not target.stat().st_mode & 0o222:
            # Root may write anyway; a workbook someone made read-only is theirs.
            raise ConfigError(f"sink xlsx {self.path}: the workbook is read-only; nothing was "
                              "written", hint="make it writable (chmod u+w) or point `sink.path` elsewhere")

    def _save(self, wb: Workbook, streamed: dict[str, Table] | None = None, step=None) -> None:
        def write(tmp: str) -> None:
            wb.save(tmp)
            if streamed:
                self._stream(tmp, streamed, step)
        save_replacing(self._target(), f"sink xlsx {self.path}", write)


def register(registry) -> None:
    registry.add("sink", "xlsx", XlsxSinkConfig, lambda config, runtime: XlsxSink(config, runtime.base_dir,
                                                                     runtime.progress), secrets=())

