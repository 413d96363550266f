"""Reading a few columns of a big tab straight from the workbook's XML.

A sync needs only Key and Set lever of a Tickets tab that holds nobody's
columns; openpyxl, even read-only, builds every cell of every row, and at
10k tickets that was 6 s of each sync.  Here the sheet's XML is walked once
and only the wanted columns' cells are read, as openpyxl would give them.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

from sync.core.numbers import parse_number

from connectors.xlsx.book import sheet_paths
from sync.core.present.report import column_letter
from sync.core.assess.choices import ErrorValue

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{_MAIN}t")) for si in root.iter(f"{_MAIN}si")]


def _date_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indices of the cell styles that show a number as a date (openpyxl's test)."""
    # lazy: openpyxl (about 0.2 s to import) loads only when an xlsx workbook is read or written
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
    if "xl/styles.xml" not in archive.namelist():
        return set()
    root = ElementTree.fromstring(archive.read("xl/styles.xml"))
    custom = {int(n.get("numFmtId")): n.get("formatCode") or "" for n in root.iter(f"{_MAIN}numFmt")}
    xfs = root.find(f"{_MAIN}cellXfs")
    dated = set()
    for i, xf in enumerate(xfs if xfs is not None else ()):
        fmt_id = int(xf.get("numFmtId") or 0)
        if is_date_format(custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id) or ""):
            dated.add(i)
    return dated


def _column(ref: str) -> str:
    return ref.rstrip("0123456789")


def read_columns(path: Path, tab: str, headers: list[str], wanted: tuple[str, ...]) -> list[list]:
    """The tab's header and, per row, only the `wanted` columns' values (the
    rest None).  Values as openpyxl gives them: inline or shared strings, a
    formula as `=` and its text, a date cell as a datetime."""
    at = {column_letter(headers.index(name) + 1): headers.index(name) for name in wanted}
    rows: list[list] = [list(headers)]
    with zipfile.ZipFile(path) as archive:
        part = sheet_paths(archive)[tab]
        shared: list[str] | None = None
        dated: set[int] | None = None
        row: list | None = None
        seen = 0                          # rows so far: the first is the header
        with archive.open(part) as fh:
            for _, el in ElementTree.iterparse(fh, events=("end",)):
                tag = el.tag
                if tag == f"{_MAIN}c":
                    col = at.get(_column(el.get("r", "")))
                    if col is not None:
                        if row is None:
                            row = [None] * len(headers)
                        kind, v = el.get("t"), el.find(f"{_MAIN}v")
                        f = el.find(f"{_MAIN}f")
                        if f is not None and f.text:
                            row[col] = "=" + f.text
                        elif kind == "inlineStr":
                            row[col] = "".join(t.text or "" for t in el.iter(f"{_MAIN}t"))
                        elif v is not None and v.text is not None:
                            if kind == "s":
                                shared = shared if shared is not None else _shared_strings(archive)
                                row[col] = shared[int(v.text)]
                            elif kind == "e":        # #N/A, #REF!: an error, not a choice
                                row[col] = ErrorValue(v.text)
                            elif kind == "str":
                                row[col] = v.text
                            elif kind == "b":
                                row[col] = v.text == "1"
                            else:
                                row[col] = parse_number(v.text)
                                if el.get("s") and row[col] is not None:
                                    dated = dated if dated is not None else _date_styles(archive)
                                    if int(el.get("s")) in dated:
                                        # lazy: openpyxl (about 0.2 s to import) loads only when an xlsx workbook is read or written
                                        from openpyxl.utils.datetime import from_excel
                                        row[col] = from_excel(row[col])
                    el.clear()
                elif tag == f"{_MAIN}row":
                    seen += 1
                    if seen > 1:
                        rows.append(row or [None] * len(headers))
                    row = None
                    el.clear()
    return rows
