"""The XLSX report: one sheet per published table (openpyxl).

Values are written as numbers with number formats (shares as percentages, differences of
shares as signed percentages), so a sheet's values are the result layers' values; suppressed
cells are left empty and grey. Sheet names and headers are in the report's language; web
addresses (a new site's place in a web map) are links. Headers are frozen. Text cells
starting with ``=``, ``+``, ``-`` or ``@`` are written as
text, never as formulas (names come from users' files), on every sheet including the index
sheet's project name and notes. The first sheet lists, for every other sheet, its source layer
and the result column behind each header.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from coverage.maps import safe_link
from coverage.messages import catalogue
from coverage.report.content import Report, Table
from coverage.report.layout import text_width_em

__all__ = ["write_xlsx"]

_NUMBER_FORMATS = {"pct": "0.0%", "pp": "+0.0%;-0.0%;0.0%", "int": "#,##0", "f1": "#,##0.0",
                   "f2": "#,##0.00", "yuan": "#,##0", "f1+": "+#,##0.0;-#,##0.0;0.0",
                   "f2+": "+#,##0.00;-#,##0.00;0.00", "int+": "+#,##0;-#,##0;0",
                   "coord": "0.00000"}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_HEAD_FILL = PatternFill("solid", fgColor="E8F1F8")
_SUPPRESSED_FILL = PatternFill("solid", fgColor="F2F2F2")


def _cell_value(value: object, kind: str, lang: str) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if kind in _NUMBER_FORMATS:
        number = float(value)
        return (int(number) if kind in {"int", "int+"} and number.is_integer()
                else number)
    if kind == "bool":
        return catalogue("report", lang)["met" if bool(value) else "not_met"]
    if kind == "link":
        return safe_link(value) or None
    return str(value)


def _append(ws: object, values: list[object]) -> None:
    """Append a row to ``ws`` with its text cells as text, never formulas."""
    ws.append(values)
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def _sheet_name(table: Table, lang: str, used: set[str]) -> str:
    """Return the sheet's name in the report's language (31 characters at most, unique)."""
    texts = catalogue("report", lang)
    chosen = table.sheet or texts.get(f"sheet_{table.key}", table.title)
    base = _BAD_SHEET_CHARS.sub(" ", chosen).strip()
    name = base[:31] or table.key[:31]
    i = 2
    while name in used:
        name = f"{base[:28]} {i}"
        i += 1
    used.add(name)
    return name


def _write_table(ws: object, table: Table, lang: str) -> None:
    columns = list(table.frame.columns)
    _append(ws, [table.labels[c] for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, (_, row) in enumerate(table.frame.iterrows(), start=2):
        for j, c in enumerate(columns, start=1):
            kind = table.format_of(i - 2, c)
            value = _cell_value(row[c], kind, lang)
            cell = ws.cell(row=i, column=j)
            if isinstance(value, str):
                cell.value = value
                cell.data_type = "s"  # never a formula, whatever the first character
                if kind == "link":
                    cell.hyperlink = value
                    cell.style = "Hyperlink"
            else:
                cell.value = value
            if value is None:
                cell.fill = _SUPPRESSED_FILL
            elif kind in _NUMBER_FORMATS:
                cell.number_format = _NUMBER_FORMATS[kind]
    ws.freeze_panes = "A2"
    for j, c in enumerate(columns, start=1):
        width = max([text_width_em(str(table.labels[c]))] + [
            text_width_em(str(v)) for v in table.frame[c].head(200).tolist()])
        ws.column_dimensions[get_column_letter(j)].width = min(max(10, width * 2.0 + 2), 60)


def write_xlsx(report: Report, path: str | Path) -> Path:
    """Write the report's tables, one per sheet, with an index sheet first; return the path."""
    texts = catalogue("report", report.lang)
    wb = Workbook()
    about = wb.active
    about.title = texts["sheet_about"][:31]
    _append(about, [report.title])
    about["A1"].font = Font(bold=True, size=13)
    for k, v in report.meta:
        _append(about, [k, v])
    _append(about, [report.privacy_note])
    notes = [(table, note) for table in report.tables() for note in table.notes]
    if notes:
        about.append([])
        for table, note in notes:
            _append(about, [table.title, note])
    if report.not_computed:
        about.append([])
        _append(about, [catalogue("availability", report.lang)["title"]])
        about[f"A{about.max_row}"].font = Font(bold=True)
        for line in report.not_computed:
            _append(about, [line])
    about.append([])
    _append(about, [texts["col_sheet"], texts["col_layer"], texts["col_label"],
                    texts["col_column"]])
    header_row = about.max_row
    for cell in about[header_row]:
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
    used = {about.title}
    for table in report.tables():
        name = _sheet_name(table, report.lang, used)
        ws = wb.create_sheet(name)
        _write_table(ws, table, report.lang)
        for c in table.frame.columns:
            about.append([name, table.source, table.labels[c], str(c)])
            for cell in about[about.max_row]:
                cell.data_type = "s"
    about.column_dimensions["A"].width = 18
    about.column_dimensions["B"].width = 22
    about.column_dimensions["C"].width = 36
    about.column_dimensions["D"].width = 32
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
