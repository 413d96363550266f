"""The `Set lever` dropdown of the Tickets tab in a workbook: one list data
validation over the column's data rows, written the same way whether the
tab goes through openpyxl or is streamed as XML (`connectors.xlsx.stream`).

Excel holds an inline list (`"a,b,ignore"`) of at most 255 characters; a
longer one (many levers) points at the Levers tab's Lever ID column instead,
and then accepts a value off the list (`ignore`) with a warning, not a stop.
Lever ids are letters, digits, `-`, `_` and `.` (the config checks), so
they need no quoting inside the list.
"""
from __future__ import annotations

from sync.core.assess.choices import IGNORE
from sync.core.present.report import Table, column_letter

INLINE_MAX = 255


def _formula(values: list[str]) -> tuple[str, bool]:
    """The list's formula, and whether it lists every value."""
    inline = '"' + ",".join(values) + '"'
    if len(inline) - 2 <= INLINE_MAX:
        return inline, True
    levers = [v for v in values if v != IGNORE]
    return f"Levers!$B$2:$B${len(levers) + 1}", False


def _sqref(table: Table) -> str:
    col = column_letter(table.dropdown[0] + 1)
    return f"{col}2:{col}{max(len(table.rows), 1) + 1}"


def add(ws, table: Table) -> None:
    """On an openpyxl sheet."""
    if not table.dropdown:
        return
    # lazy: openpyxl (about 0.2 s to import) loads only when an xlsx workbook is read or written
    from openpyxl.worksheet.datavalidation import DataValidation
    formula, whole = _formula(table.dropdown[1])
    dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                        errorStyle=None if whole else "warning")
    dv.add(_sqref(table))
    ws.add_data_validation(dv)


def xml(table: Table) -> str:
    """The `<dataValidations>` element of a streamed sheet (after sheetData,
    before hyperlinks, as the schema orders them)."""
    if not table.dropdown:
        return ""
    formula, whole = _formula(table.dropdown[1])
    style = "" if whole else ' errorStyle="warning"'
    return (f'<dataValidations count="1"><dataValidation type="list"{style} allowBlank="1" '
            f'showErrorMessage="1" sqref="{_sqref(table)}"><formula1>{formula}</formula1>'
            "</dataValidation></dataValidations>")
