"""Reading and saving an existing workbook's parts for the xlsx sink.

Opening it fast (issue 11: a second sync of a 40k-ticket
workbook took 161 s against 24 s for the first, nearly all in openpyxl
parsing tabs that the sync then throws away).

- `read_rows`: the tabs a sync reads, streamed (`read_only`), values only.
- `load_shell`: the workbook with the tabs align-sync rewrites emptied in the
  file's bytes before openpyxl parses it, so only the team's own tabs
  (Metrics, any other tab, with their formats) are parsed in full.
"""
from __future__ import annotations

import csv
import glob
import io
import os
import posixpath
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple
from xml.etree import ElementTree

from sync.core.errors import ConfigError, RemoteError
from sync.core.numbers import parse_number
from sync.core.present.report import SEVERITY_COLOURS


if TYPE_CHECKING:
    from openpyxl import Workbook


def openpyxl():
    """openpyxl, imported when a workbook is opened or saved: a sync into
    Google Sheets, or a dry run before the first workbook, never pays its
    0.1 s import."""
    # lazy: as said above
    import openpyxl as module
    return module


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               b'<sheetData/></worksheet>')


def read_rows(path: Path, names: tuple[str, ...],
              header_only_if: dict[str, list] | None = None) -> dict[str, list]:
    """Rows of the named tabs (absent ones missing); the Metrics tab's cells come back as cells (its number formats matter).
    `header_only_if`: a tab whose header row is exactly the one given, and
    whose recorded size (the sheet's `dimension`, which Excel and openpyxl
    keep) is no wider, is read no further (Tickets holds nobody's columns,
    headed or not: its rows would be thrown away)."""
    wb = open_read_only(path)
    try:
        out: dict[str, list] = {}
        for name in names:
            if name not in wb.sheetnames:
                continue
            ws = wb[name]
            if name == "Metrics":
                out[name] = [list(r) for r in ws.iter_rows()]
                continue
            wanted = (header_only_if or {}).get(name)
            if wanted is not None:
                first = list(next(ws.iter_rows(max_row=1, values_only=True), ()))
                while first and first[-1] in (None, ""):
                    first.pop()
                if first == wanted and (ws.max_column or len(wanted) + 1) <= len(wanted):
                    out[name] = [first]
                    continue
            out[name] = [list(r) for r in ws.iter_rows(values_only=True)]
        return out
    finally:
        wb.close()


def open_read_only(path: Path, data_only: bool = False) -> Workbook:
    """`load_workbook(read_only=True)`, minus parsing each sheet's rels: the
    read-only reader parses them and throws them away, and the Tickets
    tab's 65k hyperlinks made that 0.4 s of every sync's read."""
    # lazy: openpyxl (about 0.2 s to import) loads only when an xlsx workbook is read or written
    from openpyxl.reader.excel import ExcelReader
    reader = ExcelReader(path, read_only=True, data_only=data_only)
    reader.valid_files = [f for f in reader.valid_files if not f.startswith("xl/worksheets/_rels/")]
    reader.read()
    return reader.wb


def sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{_PKG}Relationship")}
    paths = {}
    for sheet in book.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        paths[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join("xl", target))
    return paths


def load_shell(path: Path, emptied: set[str]) -> Workbook:
    """The workbook with the tabs named in `emptied` loaded empty."""
    with zipfile.ZipFile(path) as archive:
        paths = sheet_paths(archive)
        skip = {paths[name] for name in emptied if name in paths}
        # An emptied tab's rels (its hyperlinks, its chart) go too: the tab
        # is rewritten, and 65k links were parsed for nothing.
        drop = {rels_path(p) for p in skip}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            for item in archive.infolist():
                if item.filename not in drop:
                    out.writestr(item, EMPTY_SHEET if item.filename in skip
                                 else archive.read(item.filename))
    buffer.seek(0)
    return openpyxl().load_workbook(buffer)


def rels_path(sheet: str) -> str:
    """`xl/worksheets/sheet4.xml` → `xl/worksheets/_rels/sheet4.xml.rels`."""
    folder, name = sheet.rsplit("/", 1)
    return f"{folder}/_rels/{name}.rels"


def metric_rows(cell_rows) -> list[list]:
    """Metrics rows (header excluded), from rows of cells.  A value typed
    `7.8%` in Excel is stored as 0.078 with a percent format; read it as the
    7.8 the person typed."""
    rows = []
    for cells in list(cell_rows)[1:]:
        row = [c.value for c in cells]
        if len(cells) > 2 and isinstance(row[2], (int, float)) and not isinstance(row[2], bool) \
                and "%" in (cells[2].number_format or ""):
            row[2] = round(row[2] * 100, 10)
        rows.append(row)
    return rows


def read_rows_cached(path: Path) -> list[list]:
    """Metrics as Excel last computed it (`data_only`), as rows of cells."""
    wb = open_read_only(path, data_only=True)
    try:
        return [list(r) for r in wb["Metrics"].iter_rows()]
    finally:
        wb.close()

def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ours(ws, name: str, headers: dict) -> bool:
    """A tab of that name that align-sync wrote (its header is ours): a
    person's own tab that happens to share the name is never removed."""
    first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
    return list(first[:len(headers[name])]) == headers[name]


def typed(value: str, decimal_comma: bool = False):
    number = parse_number(value, decimal_comma)
    return number if number is not None else (value or None)


class Seed(NamedTuple):
    rows: list[list[str]]       # after the header
    decimal_comma: bool         # separated by semicolons: `6,5` is 6.5


def seed_rows(seed: Path | None, key: str, headers: list[str]) -> Seed:
    """A seed CSV's rows after its header.  Commas, semicolons (what a
    spreadsheet in a decimal-comma locale saves) or tabs: the separator is
    the one that splits the first line into the tab's headers; a file in
    which none does is refused, naming it, rather than read as nothing."""
    if not seed:
        return Seed([], False)
    try:
        with open(seed, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"sink.{key} {seed}: not UTF-8 text (byte "
                          f"0x{exc.object[exc.start]:02x} at offset {exc.start})",
                          hint="save the CSV as UTF-8")
    except OSError as exc:
        where = f"no file {seed.resolve()}" if isinstance(exc, FileNotFoundError) else exc.strerror
        raise ConfigError(f"sink.{key} {seed}: cannot read ({where}; a relative path is taken "
                          "from the working directory, then from the config file's folder)")
    first = text.splitlines()[0] if text.strip() else ""
    wanted = [h.lower() for h in headers]
    for delimiter in (",", ";", "\t"):
        head = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter), [])]
        if head[:len(wanted)] == wanted:
            rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))[1:]
            return Seed(rows, delimiter == ";")
    raise ConfigError(f"sink.{key} {seed}: " + (f"the first line is not the header "
                      f"{', '.join(headers)} (got {first[:80]!r})" if first else "the file is empty"),
                      hint=f"start the CSV with the line {','.join(headers)}; commas, semicolons "
                           "or tabs may separate the columns")


# The Scorecard's column name is fixed; what it measures is said on its header.
ALIGNED_NOTE = ("This outcome's share of the team's active effort: effort of its active tickets "
                "divided by the effort of all in-scope active tickets, so the outcomes add up "
                "to the team's Aligned effort % (Summary).")


def note_aligned_effort(ws, headers: list[str]) -> None:
    # lazy: openpyxl (about 0.2 s to import) loads only when an xlsx workbook is read or written
    from openpyxl.comments import Comment
    cell = ws.cell(row=1, column=headers.index("Aligned effort") + 1)
    cell.comment = Comment(ALIGNED_NOTE, "align-sync", width=260, height=90)


def colour_severity(ws) -> None:
    """Warnings' Severity coloured as in Google Sheets.  A rule on the column,
    not a fill per cell: the tab's rows are streamed in after openpyxl saved it."""
    # lazy: openpyxl (about 0.2 s to import) loads only when an xlsx workbook is read or written
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill
    for severity, colour in SEVERITY_COLOURS.items():
        ws.conditional_formatting.add("A2:A1048576", CellIsRule(
            operator="equal", formula=[f'"{severity}"'],
            fill=PatternFill("solid", start_color=colour, end_color=colour)))


LEFTOVER_AGE = 3600       # seconds untouched before a temp file is taken for a dead save's


def remove_leftovers(target: Path, now: float | None = None) -> None:
    """The temp files of earlier saves that a kill cut short.  Only those
    untouched for an hour: a save under way (another process writing the same
    workbook by mistake) keeps writing its own, and must not lose them."""
    name = glob.escape(target.name)
    now = time.time() if now is None else now
    # (`.rows`: the rows a save streams beside its temp file before splicing them in)
    for pattern in (f".{name}.*.tmp", f".{name}.*.tmp.rows"):
        for stale in target.parent.glob(pattern):
            try:
                if now - stale.stat().st_mtime > LEFTOVER_AGE:
                    stale.unlink()
            except FileNotFoundError:
                pass


def save_replacing(target: Path, what: str, write: Callable[[str], None]) -> None:
    """`write(tmp)` into a temp file beside `target`, then one rename: a
    reader (or a kill -9) sees the old workbook or the new one, never half of
    one.  The new file keeps the old one's mode and, where allowed, its owner."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        old = target.stat() if target.exists() else None
        remove_leftovers(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise RemoteError(f"{what}: cannot write in {target.parent} ({exc.strerror})")
    try:
        os.close(fd)
        write(tmp)
        mode = old.st_mode & 0o7777 if old else 0o666 & ~umask()
        os.chmod(tmp, mode)
        if old and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(tmp, old.st_uid, old.st_gid)
            except PermissionError:      # only root may give a file away
                pass
        with open(tmp, "rb") as fh:      # on disk before it replaces the old one
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise RemoteError(f"{what}: cannot save ({exc.strerror})")
    except Exception as exc:             # openpyxl refusing a value: say so, keep the old file
        raise RemoteError(f"{what}: cannot save the workbook ({type(exc).__name__}: {exc})")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
