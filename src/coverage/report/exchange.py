"""Writing the origin-area exchange packs: one XLSX and one CSV per origin, and the city's list.

Each origin's pack (:class:`coverage.engine.exchange.OriginPack`) becomes
``exchange-<code>-<name>-<lang>.xlsx`` (sheets: README, districts and access, age and sex,
service indicators, partner districts) and a ``.csv`` of the same figures in long form (one row
per cell); the cooperation list becomes ``cooperation_list-<lang>.xlsx`` and ``.csv``. Every
table is checked before it is written (:func:`coverage.publish.disclosure.check_published`,
:func:`~coverage.publish.disclosure.assert_no_personal`); a table that fails stops the writing.

CSV files are UTF-8 with a byte-order mark: Excel (Chinese Windows included) opens them with the
Chinese intact, and UTF-8 holds every name GBK cannot. Their header row is the stable English
keys of ``docs/exchange.md``; the labels of the chosen language are in columns of their own.
Files are replaced whole (:mod:`coverage.io.atomic`) and readable by their owner only (0600, in
a folder of mode 0700): the packs are for the origin areas' services, sent on purpose. Text
cells are written as text, never formulas (district names come from users' files).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from coverage.engine.exchange import (
    PARTNERS_PER_DISTRICT,
    SEXES,
    TOTAL,
    UNASSIGNED,
    Exchange,
    OriginPack,
    band_keys,
)
from coverage.io.atomic import atomic_file, private_folder
from coverage.measures.availability import reason_text
from coverage.measures.indicators import indicator_names
from coverage.messages import catalogue
from coverage.publish.disclosure import assert_no_personal, check_published
from coverage.publish.naming import exchange_stem

__all__ = ["CSV_COLUMNS", "LIST_STEM", "write_exchange"]

#: Columns of a pack's CSV (one row per cell of its tables).
CSV_COLUMNS = ["origin_code", "table", "row", "column", "column_label", "value", "status"]
#: File stem of the cooperation list (the language is appended).
LIST_STEM = "cooperation_list"

_HEAD_FILL = PatternFill("solid", fgColor="E8F1F8")
_HIDDEN_FILL = PatternFill("solid", fgColor="D9D9D9")
# kinds of column: counts of people ("int", checked and hidden when suppressed), ranks, shares
_FORMATS = {"int": "#,##0", "rank": "0", "pct": "0.0%", "pct+": "+0.0%;-0.0%;0.0%"}
_LIST_COLUMNS = {
    "district": "text", "origin_code": "text", "origin_name": "text", "migrants": "int",
    "share": "pct", "rank_in_district": "rank", "rank_in_origin": "rank",
    "arrivals_recent": "int", "arrivals_earlier": "int", "growth": "pct+",
    "growth_rank": "rank", "partner": "text",
}


@dataclass
class _Sheet:
    """One published table: stable column keys, their kinds and labels, its rows."""

    key: str
    frame: pd.DataFrame  # first column: the row's label; count columns Int64
    kinds: dict[str, str]
    labels: dict[str, str]


# --------------------------------------------------------------------------------------------
# tables → sheets


def _row_labels(index: pd.Index, texts: dict[str, str], fmt: Callable[[str], str]) -> list[str]:
    special = {TOTAL: texts["total"], UNASSIGNED: texts["unassigned"], "unknown": texts["unknown"]}
    return [special.get(str(v), fmt(str(v))) for v in index]


def _districts_sheet(pack: OriginPack, thresholds: tuple[float, ...], lang: str) -> _Sheet:
    t = catalogue("exchange", lang)
    bands = band_keys(thresholds)
    edges = [0.0, *thresholds]
    labels = {"district": t["district"], "migrants": t["migrants"]}
    labels |= {b: t["band"].format(a=f"{edges[i]:g}", b=f"{edges[i + 1]:g}")
               for i, b in enumerate(bands[:-1])}
    labels[bands[-1]] = t["band_over"].format(t=f"{edges[-1]:g}")
    cover = [f"coverage_{m:g}" for m in thresholds]
    labels |= {c: t["coverage"].format(t=f"{m:g}") for c, m in zip(cover, thresholds,
                                                                        strict=True)}
    table = pack.districts
    frame = table[[TOTAL, *bands, *cover]].rename(columns={TOTAL: "migrants"})
    frame.insert(0, "district", _row_labels(table.index, t, str))
    kinds = {"district": "text", "migrants": "int"} | dict.fromkeys(bands, "int")
    return _Sheet("districts", frame.reset_index(drop=True),
                  kinds | dict.fromkeys(cover, "pct"), labels)


def _age_sex_sheet(pack: OriginPack, lang: str) -> _Sheet | None:
    if pack.age_sex is None:
        return None
    t = catalogue("exchange", lang)
    table = pack.age_sex
    frame = table[[*SEXES, TOTAL]].rename(columns={TOTAL: "total"})
    frame.insert(0, "age_band", _row_labels(table.index, t,
                                            lambda b: t["years"].format(band=b)))
    labels = {"age_band": t["age_band"], "male": t["male"], "female": t["female"],
              "unknown": t["unknown"], "total": t["total"]}
    kinds = {"age_band": "text"} | dict.fromkeys([*SEXES, "total"], "int")
    return _Sheet("age_sex", frame.reset_index(drop=True), kinds, labels)


def _services_sheet(pack: OriginPack, lang: str) -> _Sheet | None:
    if pack.services is None:
        return None
    t = catalogue("exchange", lang)
    names = indicator_names(lang)
    table = pack.services
    frame = table[["achieved", "not_achieved", "population", "rate", "target"]].copy()
    frame.insert(0, "indicator", [names[k] for k in table.index])
    kinds = {"indicator": "text", "achieved": "int", "not_achieved": "int",
             "population": "int", "rate": "pct", "target": "pct"}
    return _Sheet("services", frame.reset_index(drop=True), kinds,
                  {k: t[k] for k in kinds})


def _list_sheet(rows: pd.DataFrame, key: str, lang: str) -> _Sheet:
    t = catalogue("exchange", lang)
    frame = rows.copy()
    frame["origin_name"] = frame[f"origin_name_{lang}"]
    frame["district"] = _row_labels(pd.Index(frame["district"]), t, str)
    frame["partner"] = [t[f"partner_{p}"] if p else "" for p in frame["partner"]]
    frame = frame[list(_LIST_COLUMNS)]
    return _Sheet(key, frame.reset_index(drop=True), dict(_LIST_COLUMNS),
                  {k: t[k] for k in _LIST_COLUMNS})


def _pack_sheets(pack: OriginPack, exchange: Exchange, lang: str) -> list[_Sheet]:
    sheets = [_districts_sheet(pack, exchange.thresholds, lang), _age_sex_sheet(pack, lang),
              _services_sheet(pack, lang), _list_sheet(pack.partners, "partners", lang)]
    return [s for s in sheets if s is not None]


def _check(sheet: _Sheet, min_cell: int) -> None:
    """Refuse a table with a small published count or a personal column."""
    counts = [c for c, kind in sheet.kinds.items() if kind == "int"]
    for c in counts:
        if not pd.api.types.is_integer_dtype(sheet.frame[c].dtype):
            msg = f"{sheet.key}: column {c!r} must hold counts (integers)"
            raise TypeError(msg)
    check_published(sheet.frame, min_cell=min_cell, columns=counts)
    assert_no_personal(sheet.frame)


# --------------------------------------------------------------------------------------------
# XLSX and CSV


def _cell(value: object, kind: str) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if kind in ("int", "rank"):
        return int(value)
    if kind in _FORMATS:
        return float(value)
    return str(value)


def _append_text(ws: object, values: list[object], *, bold: bool = False) -> None:
    """Append a row with its text cells as text, never formulas."""
    ws.append(values)
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
        if bold:
            cell.font = Font(bold=True)


def _write_sheet(ws: object, sheet: _Sheet) -> None:
    columns = list(sheet.frame.columns)
    _append_text(ws, [sheet.labels[c] for c in columns], bold=True)
    for cell in ws[1]:
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for values in sheet.frame.itertuples(index=False):
        _append_text(ws, [_cell(v, sheet.kinds[c]) for c, v in zip(columns, values,
                                                                      strict=True)])
        for j, c in enumerate(columns):
            cell = ws.cell(row=ws.max_row, column=j + 1)
            kind = sheet.kinds[c]
            if kind in _FORMATS:
                cell.number_format = _FORMATS[kind]
            if kind == "int" and cell.value is None:
                cell.fill = _HIDDEN_FILL  # a hidden count, not a missing one
    for j, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(10, 2 * len(sheet.labels[c]) + 2)
    ws.freeze_panes = "B2"


def _readme(ws: object, title: str, lines: list[str], sheets: list[_Sheet],
            lang: str) -> None:
    """Write the first sheet: what the file is, the rules, every column in both languages."""
    t = catalogue("exchange", lang)
    zh, en = catalogue("exchange", "zh"), catalogue("exchange", "en")
    _append_text(ws, [title])
    ws["A1"].font = Font(bold=True, size=13)
    for line in lines:
        _append_text(ws, [line])
    _append_text(ws, [])
    _append_text(ws, [t["col_sheet"], t["col_column"], t["col_zh"], t["col_en"]], bold=True)
    for sheet in sheets:
        other = {"zh": zh, "en": en}
        for c in sheet.frame.columns:
            both = {k: _label_in(c, texts) for k, texts in other.items()}
            _append_text(ws, [t[f"sheet_{sheet.key}"], c, both["zh"], both["en"]])
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 20
    ws.column_dimensions["C"].width = 28
    ws.column_dimensions["D"].width = 34


def _label_in(column: str, texts: dict[str, str]) -> str:
    """Return a column's header in ``texts``' language (same rules as the sheet's)."""
    if column in texts:
        return texts[column]
    if column.startswith("coverage_"):
        return texts["coverage"].format(t=column.removeprefix("coverage_"))
    if column.startswith("over-"):
        return texts["band_over"].format(t=column.removeprefix("over-"))
    a, _, b = column.partition("-")
    return texts["band"].format(a=a, b=b) if b else column


def _write_xlsx(path: Path, title: str, lines: list[str], sheets: list[_Sheet],
                lang: str) -> None:
    t = catalogue("exchange", lang)
    book = Workbook()
    _readme(book.active, title, lines, sheets, lang)
    book.active.title = t["sheet_readme"]
    for sheet in sheets:
        _write_sheet(book.create_sheet(t[f"sheet_{sheet.key}"]), sheet)
    with atomic_file(path, private=True) as fh:
        book.save(fh)


def _csv_text(value: object) -> object:
    """Give a text cell Excel would take for a formula a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _csv_bytes(rows: list[list[object]], header: list[str]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_csv_text(v) for v in row] for row in rows])
    return text.getvalue().encode("utf-8-sig")


def _long_rows(code: str, sheets: list[_Sheet]) -> list[list[object]]:
    """One row per cell: the row's label, the column's key and label, value and status."""
    rows = []
    for sheet in sheets:
        _first, *columns = sheet.frame.columns
        for values in sheet.frame.itertuples(index=False):
            for c, v in zip(columns, values[1:], strict=True):
                value = _csv_cell(v, sheet.kinds[c])
                status = ("published" if value != "" else
                          "suppressed" if sheet.kinds[c] == "int" else "empty")
                rows.append([code, sheet.key, values[0], c, sheet.labels[c], value, status])
    return rows


def _csv_cell(value: object, kind: str) -> object:
    """Return a CSV cell: empty when missing, shares to four decimals."""
    out = _cell(value, kind)
    if out is None:
        return ""
    return round(out, 4) if kind.startswith("pct") else out


def _write_csv(path: Path, data: bytes) -> None:
    with atomic_file(path, private=True) as fh:
        fh.write(data)


def _about(exchange: Exchange, lang: str, mode: str, *, growth: bool) -> list[str]:
    """Return the README's sentences: the tables' rules and what is not included."""
    t = catalogue("exchange", lang)
    lines = [t["about_counts"], t["about_suppressed"].format(n=exchange.min_cell),
             t["about_shares"], t["about_access"].format(mode=mode)]
    if growth and exchange.reference_date is not None:
        lines.append(t["about_growth"].format(date=exchange.reference_date.date().isoformat()))
    lines.append(t["about_partner"].format(n=PARTNERS_PER_DISTRICT))
    what = {"age_sex": t["sheet_age_sex"], "services": t["sheet_services"],
            "growth": t["growth"]}
    lines += [t["about_skipped"].format(what=what[k], reason=reason_text(r, lang))
              for k, r in exchange.skipped.items()]
    return [*lines, t["about_columns"]]


def write_exchange(
    exchange: Exchange,
    out: str | Path,
    *,
    lang: str = "zh",
    mode: str = "walk",
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write every origin's pack and the cooperation list into ``out``.

    Parameters
    ----------
    exchange
        The packs (:func:`coverage.engine.exchange.exchange_packs`).
    out
        Folder for the files, created readable by its owner only (0700) when missing.
    lang
        ``zh`` or ``en``: sheet names, headers and labels.
    mode
        The travel mode of the times, named in the README.
    progress
        Called with ``(files written, files in all)`` before each pair of files (a pack's,
        then the list's) and once at the end.

    Returns
    -------
    list of pathlib.Path
        The files written: each pack's XLSX and CSV, then the list's.

    Raises
    ------
    ValueError
        When a table holds a published count under ``min_cell`` or a personal column (nothing
        of that table is written).
    """
    step = progress or (lambda _done, _total: None)
    total = 2 * (len(exchange.packs) + 1)
    folder = private_folder(out)
    t = catalogue("exchange", lang)
    growth = "growth" not in exchange.skipped
    written: list[Path] = []
    for i, pack in enumerate(exchange.packs, start=1):
        step(2 * (i - 1), total)
        sheets = _pack_sheets(pack, exchange, lang)
        for sheet in sheets:
            _check(sheet, exchange.min_cell)
        stem = exchange_stem(pack.code, pack.name_zh, lang=lang)
        name = pack.name_zh if lang == "zh" else pack.name_en
        title = t["title"].format(origin=name, code=pack.code)
        _write_xlsx(folder / f"{stem}.xlsx", title, _about(exchange, lang, mode, growth=growth),
                    sheets, lang)
        _write_csv(folder / f"{stem}.csv", _csv_bytes(_long_rows(pack.code, sheets),
                                                      CSV_COLUMNS))
        written += [folder / f"{stem}.xlsx", folder / f"{stem}.csv"]
    step(total - 2, total)
    sheet = _list_sheet(exchange.cooperation, "cooperation", lang)
    _check(sheet, exchange.min_cell)
    stem = f"{LIST_STEM}-{lang}"
    _write_xlsx(folder / f"{stem}.xlsx", t["title_list"],
                _about(exchange, lang, mode, growth=growth), [sheet], lang)
    rows = [[_csv_cell(v, sheet.kinds[c]) for c, v in zip(sheet.frame.columns, values,
                                                          strict=True)]
            for values in sheet.frame.itertuples(index=False)]
    _write_csv(folder / f"{stem}.csv", _csv_bytes(rows, list(sheet.frame.columns)))
    step(total, total)
    return [*written, folder / f"{stem}.xlsx", folder / f"{stem}.csv"]
