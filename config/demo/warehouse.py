"""Builds the demo's warehouse: a SQLite file holding the weekly KPI table
that the demo config's `metrics:` source queries, from warehouse.csv beside
this script (text in the repository, the database made on the spot).

    python config/demo/warehouse.py [PATH]      # default: config/demo/warehouse.db

`make demo` runs it before the sync, and the tests before they run the demo
(the database is not kept in git: warehouse.csv is).  The file is rebuilt
whole each time.
"""
from __future__ import annotations

import csv
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE / "warehouse.db"


def build(target: Path = DEFAULT, rows: Path = HERE / "warehouse.csv") -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    partial.unlink(missing_ok=True)
    with open(rows, newline="", encoding="utf-8") as fh:
        records = [(r["day"], r["kpi"], float(r["value"]), r["comment"] or None)
                   for r in csv.DictReader(fh)]
    db = sqlite3.connect(partial)
    try:
        with db:
            db.execute("CREATE TABLE kpi_weekly (day TEXT NOT NULL, kpi TEXT NOT NULL, "
                       "value REAL NOT NULL, comment TEXT)")
            db.executemany("INSERT INTO kpi_weekly VALUES (?, ?, ?, ?)", records)
    finally:
        db.close()
    partial.replace(target)        # a sync reading the old file never sees half a table
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
