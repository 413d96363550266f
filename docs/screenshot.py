"""Makes docs/demo-scorecard.png, docs/demo-trend.png and docs/demo-flow.png,
the README's pictures: the Scorecard, Trend and Flow tabs of the workbook `make demo` wrote
(out/demo.xlsx), as LibreOffice draws them.

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
from pathlib import Path

import openpyxl

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


def picture(tab: str, png: Path) -> None:
    """One tab of out/demo.xlsx, alone, as a PNG."""
    with tempfile.TemporaryDirectory() as tmp:
        wb = openpyxl.load_workbook(BOOK)
        for name in wb.sheetnames:
            if name != tab:
                del wb[name]
        ws = wb[tab]
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
