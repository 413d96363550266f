"""Makes docs/demo-scorecard.png, docs/demo-trend.png and docs/demo-flow.png,
the README's pictures: the Scorecard, Trend and Flow tabs of the workbook `make demo` wrote
(out/demo.xlsx), as LibreOffice draws them; and docs/sheet-set-lever.png,
the Tickets tab after people picked levers in its Set lever column (the
demo synced again in a scratch folder, with three choices made between).

    make demo
    python docs/screenshot.py            # needs LibreOffice Calc and poppler:
                                         # apt install libreoffice-calc-nogui poppler-utils

The tab is copied alone into a scratch workbook (LibreOffice prints every tab
of a file), laid out one page wide, printed to PDF and rasterised; nothing in
out/demo.xlsx is changed.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import openpyxl

from sync.worker.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "out" / "demo.xlsx"
# The README's pictures: the tab, and where it goes.
TABS = {"Scorecard": ROOT / "docs" / "demo-scorecard.png", "Trend": ROOT / "docs" / "demo-trend.png",
        "Flow": ROOT / "docs" / "demo-flow.png"}


DPI = 150
PAD = 12          # points of white around the table


def crop(pdf: Path) -> list[str]:
    """pdftoppm's crop box around what is printed: the words' bounding box
    (pdftotext -bbox), padded, at the raster's resolution; the whole page
    when poppler cannot say."""
    done = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
                          capture_output=True, text=True, timeout=60)
    boxes = [[float(v) for v in (m.group(1), m.group(2), m.group(3), m.group(4))]
             for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                                  r'yMax="([\d.]+)"', done.stdout)]
    if done.returncode or not boxes:
        return []
    x0 = max(min(b[0] for b in boxes) - PAD, 0)
    y0 = max(min(b[1] for b in boxes) - PAD, 0)
    x1, y1 = max(b[2] for b in boxes) + PAD, max(b[3] for b in boxes) + PAD
    scale = DPI / 72
    return ["-x", str(int(x0 * scale)), "-y", str(int(y0 * scale)),
            "-W", str(int((x1 - x0) * scale)), "-H", str(int((y1 - y0) * scale))]


def picture(tab: str, png: Path, book: Path = BOOK, columns: list[str] | None = None,
            rows: int = 0) -> None:
    """One tab of a workbook (out/demo.xlsx), alone, as a PNG; only the named
    `columns` and the first `rows` rows when given."""
    with tempfile.TemporaryDirectory() as tmp:
        wb = openpyxl.load_workbook(book)
        for name in wb.sheetnames:
            if name != tab:
                del wb[name]
        ws = wb[tab]
        if columns:
            ws = _narrowed(wb, ws, columns, rows)
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 1
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = True
        ws.page_margins.left = ws.page_margins.right = ws.page_margins.top = 0.2
        ws.page_margins.bottom = 0.2
        scratch = Path(tmp) / "scorecard.xlsx"
        wb.save(scratch)
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "pdf", "--outdir", tmp, str(scratch)],
                       check=True, capture_output=True, timeout=180)
        pdf = Path(tmp) / "scorecard.pdf"
        subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-singlefile", *crop(pdf), str(pdf),
                        str(Path(tmp) / "page")], check=True, timeout=60)
        page = Path(tmp) / "page.png"
        shutil.copyfile(page, png)


def _narrowed(wb, ws, columns: list[str], rows: int):
    """The tab with only these columns and rows, in a new tab of the workbook."""
    head = [c.value for c in ws[1]]
    keep = [head.index(c) for c in columns]
    out = wb.create_sheet(ws.title + " ")
    for r, row in enumerate(ws.iter_rows(max_row=rows + 1, values_only=True), start=1):
        for c, i in enumerate(keep, start=1):
            out.cell(row=r, column=c, value=row[i]).data_type = "s" if isinstance(row[i], str) else "n"
            if r == 1:
                out.cell(row=r, column=c).font = openpyxl.styles.Font(bold=True)
        for c, i in enumerate(keep, start=1):
            width = max(len(str(v or "")) for v in [head[i]] + [x[i] for x in ws.iter_rows(
                min_row=2, max_row=rows + 1, values_only=True)])
            out.column_dimensions[openpyxl.utils.get_column_letter(c)].width = min(width, 46) + 2
    del wb[ws.title]
    return out


CHOICES = {"GROW-143": "pricing-test", "GROW-148": "ignore", "GROW-150": "setup-wizzard"}
SHOWN = ["Key", "Title", "Outcome ID", "Lever ID", "Matched by", "Flags", "Set lever"]


def set_lever_picture(png: Path) -> None:
    """The demo synced twice in a scratch folder, three Set lever choices made
    between (a lever, ignore, a typo); the Tickets rows around them."""
    with tempfile.TemporaryDirectory() as tmp:
        text = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
        text = text.replace(" demo/", f" {ROOT}/config/demo/")      # the data beside the config
        text = text.replace("path: out/demo.xlsx", f"path: {tmp}/demo.xlsx")
        text = text.replace("state: out/demo-state.db", f"state: {tmp}/state.db")
        config = Path(tmp) / "demo.yaml"
        config.write_text(text)
        Workspace(config).sync_once(datetime.now(timezone.utc))
        book = Path(tmp) / "demo.xlsx"
        wb = openpyxl.load_workbook(book)
        ws = wb["Tickets"]
        col = [c.value for c in ws[1]].index("Set lever")
        first = None
        for n, row in enumerate(ws.iter_rows(min_row=2), start=2):
            if row[0].value in CHOICES:
                row[col].value = CHOICES[row[0].value]
                first = first or n
        wb.save(book)
        Workspace(config).sync_once(datetime.now(timezone.utc))
        wb = openpyxl.load_workbook(book)
        ws = wb["Tickets"]
        ws.delete_rows(2, max(first - 3, 0))          # start a little above the first choice
        wb.save(book)
        picture("Tickets", png, book, SHOWN, 12)


def main() -> int:
    if not BOOK.exists():
        print(f"{BOOK.relative_to(ROOT)} not found: run `make demo` first", file=sys.stderr)
        return 2
    for tool in ("soffice", "pdftoppm", "pdftotext"):
        if not shutil.which(tool):
            print(f"{tool} not found: apt install libreoffice-calc-nogui poppler-utils",
                  file=sys.stderr)
            return 2
    for tab, png in TABS.items():
        picture(tab, png)
        print(f"wrote {png.relative_to(ROOT)}")
    set_lever_picture(ROOT / "docs" / "sheet-set-lever.png")
    print("wrote docs/sheet-set-lever.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
