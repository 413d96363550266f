"""The big tabs (Tickets, Warnings) written as sheet XML straight into the
saved workbook, not as openpyxl cells (issue 15).

openpyxl keeps ~400 bytes per cell and saves them one object at a time: at
100k tickets, 2.5M cells, 1 GB and most of a 33 s sync.  So the workbook
is built by openpyxl as always (the team's tabs, styles, charts), with each
big tab holding only its header and one probe cell; after the save, those
tabs' XML parts are replaced in the zip by rows written here: inline
strings (never formulas), numbers, the header and link styles openpyxl
chose for the probe, the key column's hyperlinks in the sheet's rels.

A tab is streamed only when every value is plain (text, number, boolean);
a people's column holding dates or other typed cells sends the tab through
openpyxl as before.  People's formulas (`=...` in their columns) stay
formulas, as openpyxl would write them.
"""
from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sync.core.present.report import Table, cell_text

from connectors.xlsx import dropdown
from connectors.xlsx.book import rels_path
from sync.core.present.report import column_letter

STREAMED = ("Tickets", "Warnings")
_SPECIAL = re.compile(r"[&<>]")
_EDGE_SPACE = re.compile(r"^\s|\s$|\n")
# What needs the careful path: markup, control characters (cell_text drops
# most), lone surrogates, edge spaces.
_CAREFUL = re.compile("[&<>\x00-\x1f\x7f\ud800-\udfff]|^\\s|\\s$")
_STYLE = re.compile(r'<c r="(A[12])"[^>]*?\ss="(\d+)"')
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_HYPERLINK = f"{_REL_NS}/hyperlink"
_RELS_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
              'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">')
CHUNK = 5000               # rows per write into the zip entry


@dataclass
class Spliced:
    table: Table
    max_text: int
    max_links: int
    tick: Callable[[int], None] = lambda rows: None     # rows written so far (progress)


def streamable(table: Table) -> bool:
    """Our columns hold text and checked numbers by construction (estimates
    are finite, scores are ints); people's columns are looked at."""
    if table.name not in STREAMED:
        return False
    owned = table.owned_columns          # Table sets it: all columns when none are people's
    if owned >= len(table.headers):
        return True
    for row in table.rows:
        for value in row[owned:]:
            if not (value is None or isinstance(value, (str, bool))
                    or (isinstance(value, (int, float)) and math.isfinite(value))):
                return False
    return True


def _esc(text: str) -> str:
    if _SPECIAL.search(text):
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _attr(text: str) -> str:
    return _esc(text).replace('"', "&quot;")


class _Strings:
    """A text value as an inline string's XML: the common text (no markup
    characters, control characters or edge spaces, short enough) as it is,
    anything else through `cell_text` and escaping; short values (statuses,
    ids, yes/no) remembered, as they repeat on every row."""

    def __init__(self, max_text: int):
        self.max_text = max_text
        self.known: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        got = self.known.get(text)
        if got is not None:
            return got
        if len(text) <= self.max_text and not _CAREFUL.search(text):
            got = f"<is><t>{text}</t></is>"
        else:
            clean = cell_text(text, self.max_text)
            space = ' xml:space="preserve"' if _EDGE_SPACE.search(clean) else ""
            got = f"<is><t{space}>{_esc(clean)}</t></is>"
        if len(text) <= 40:
            self.known[text] = got
        return got


def _rows_xml(spliced: Spliced, styles: dict[str, str]) -> Iterator[str]:
    table = spliced.table
    letters = [column_letter(c) for c in range(1, len(table.headers) + 1)]
    owned = table.owned_columns          # Table sets it: all columns when none are people's
    head = f' s="{styles["A1"]}"' if "A1" in styles else ""
    link = f' s="{styles["A2"]}"' if "A2" in styles else ""
    linked = table.links[:spliced.max_links] if table.links else []
    text = _Strings(spliced.max_text)
    cells = [f'<c r="{col}1"{head} t="inlineStr">{text(str(h))}</c>'
             for col, h in zip(letters, table.headers) if h != ""]   # a headerless people's column
    out = ['<row r="1">' + "".join(cells) + "</row>"]
    for r, row in enumerate(table.rows, start=2):
        n = str(r)
        cells = [f'<row r="{n}">']
        for c, value in enumerate(row):
            if value is None or value == "":    # a blank cell, as openpyxl leaves it
                continue
            kind = value.__class__
            if kind is str:
                if c >= owned and value.startswith("="):        # a person's formula
                    formula = cell_text(value, spliced.max_text)[1:]
                    cells.append(f'<c r="{letters[c]}{n}"><f>{_esc(formula)}</f></c>')
                elif c == 0 and r - 2 < len(linked) and linked[r - 2]:
                    cells.append(f'<c r="A{n}"{link} t="inlineStr">{text(value)}</c>')
                else:
                    cells.append(f'<c r="{letters[c]}{n}" t="inlineStr">{text(value)}</c>')
            elif kind is bool:
                cells.append(f'<c r="{letters[c]}{n}" t="b"><v>{int(value)}</v></c>')
            else:
                cells.append(f'<c r="{letters[c]}{n}"><v>{value!r}</v></c>')
        cells.append("</row>")
        out.append("".join(cells))
        if len(out) >= CHUNK:
            yield "".join(out)
            out = []
            spliced.tick(r - 1)
    yield "".join(out)


def _hyperlinks(spliced: Spliced, first_id: int) -> tuple[str, list[str]]:
    links = spliced.table.links[:spliced.max_links] if spliced.table.links else []
    refs, rels = [], []
    for n, url in enumerate(links):
        if url:
            rid = f"rIdL{first_id + len(rels)}"
            refs.append(f'<hyperlink ref="A{n + 2}" r:id="{rid}"/>')
            rels.append(f'<Relationship Id="{rid}" Type="{_HYPERLINK}" Target="{_attr(url)}" '
                        'TargetMode="External"/>')
    if not refs:
        return "", []
    return "<hyperlinks>" + "".join(refs) + "</hyperlinks>", rels


def splice(saved: Path, out: Path, parts: dict[str, Spliced]) -> None:
    """Copy the workbook `saved` to `out`, each sheet part in `parts` (its
    zip path → what to write there) replaced by streamed rows."""
    held = {rels_path(p) for p in parts}
    links: dict[str, list[str]] = {}
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename in parts:
                links[item.filename] = _write_sheet(src, dst, item, parts[item.filename])
            elif item.filename not in held:
                dst.writestr(item, src.read(item.filename))
        # A streamed sheet's rels are written after it, with its hyperlinks added.
        for sheet in parts:
            rels = rels_path(sheet)
            old = src.read(rels).decode() if rels in src.namelist() else _RELS_HEAD + "</Relationships>"
            extra = links.get(sheet, [])
            if extra:
                old = old.replace("</Relationships>", "".join(extra) + "</Relationships>")
            if extra or rels in src.namelist():
                dst.writestr(rels, old.encode())


def _write_sheet(src: zipfile.ZipFile, dst: zipfile.ZipFile, item, spliced: Spliced) -> list[str]:
    """Write one streamed sheet; its hyperlinks' relationships, for its rels part."""
    xml = src.read(item.filename).decode()
    start, end = xml.index("<sheetData"), xml.index("</sheetData>") + len("</sheetData>")
    if xml.find("<sheetData/>") == start:
        end = start + len("<sheetData/>")
    styles = dict(_STYLE.findall(xml[start:end]))
    head, tail = xml[:start], xml[end:]
    table = spliced.table
    last = f"{column_letter(max(len(table.headers), 1))}{len(table.rows) + 1}"
    head = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:{last}"/>', head, count=1)
    links, rels = _hyperlinks(spliced, 1)
    if links and "xmlns:r=" not in head:
        head = head.replace("<worksheet ", f'<worksheet xmlns:r="{_REL_NS}" ', 1)
    info = zipfile.ZipInfo(item.filename, item.date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    # Level 1: a 60 MB sheet deflates 3x faster, for a file a third larger.
    for attr in ("compress_level", "_compresslevel"):
        if hasattr(info, attr):
            setattr(info, attr, 1)
            break
    with dst.open(info, "w") as fh:
        fh.write(head.encode())
        fh.write(b"<sheetData>")
        for chunk in _rows_xml(spliced, styles):
            fh.write(chunk.encode())
        fh.write(b"</sheetData>")
        fh.write(dropdown.xml(table).encode())     # the schema's order: data validations, then links
        fh.write(links.encode())
        fh.write(tail.encode())
    return rels
