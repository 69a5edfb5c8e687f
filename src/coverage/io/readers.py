"""Read a table file as it is: CSV, XLSX, GeoPackage, GeoJSON, Shapefile or GeoParquet.

Readers know nothing of the data model. They return a :class:`RawTable` whose attribute cells
are kept as the file holds them (CSV and XLSX cells as text, so an id like ``007`` or a cell
``=1+2`` stays exactly as written), the geometry when the file has one, the file's own CRS and
the spreadsheet row number of every record. Problems go to a
:class:`~coverage.io.validation.Problems` collector; a reader never repairs, guesses or drops a
record silently.

CSV encodings: UTF-8 (with or without a byte-order mark) is tried first, then GB18030 (a superset
of GBK and GB2312, which Chinese Excel writes). Both are decoded strictly: a byte that is valid in
neither is reported with its line number rather than replaced.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import pyproj

from coverage.io.validation import Problems

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".fgb", ".gml", ".kml"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
ENCODINGS = ("utf-8", "gb18030")


@dataclass
class RawTable:
    """A table as read from its file.

    Attributes
    ----------
    frame
        Attribute columns with the file's headers. CSV and XLSX cells are ``str`` (empty string
        for an empty cell); vector formats keep the file's types.
    rows
        Spreadsheet row number (or 1-based feature number) of each record, aligned with ``frame``.
    file
        The name used in messages.
    geometry
        Geometries from a vector file, else ``None``.
    file_crs
        The CRS the file declares, else ``None``.
    encoding
        The text encoding used (CSV), else ``None``.
    header_row
        The row holding the headers (for messages about columns); ``None`` for vector files,
        whose rows are features.
    labels
        The whole-number row labels a GeoParquet file keeps (the pandas index it was written
        with: a part's rows' positions in the table it was split from), else ``None``.
    """

    frame: pd.DataFrame
    rows: np.ndarray
    file: str
    geometry: object | None = None
    file_crs: pyproj.CRS | None = None
    encoding: str | None = None
    header_row: int | None = 1
    labels: np.ndarray | None = None


def read_table(
    path: Path,
    *,
    problems: Problems,
    name: str | None = None,
    encoding: str = "auto",
    sheet: str | int | None = None,
    header_row: int = 1,
    layer: str | None = None,
    delimiter: str | None = None,
    personal: bool = False,
    expected: Sequence[str] = (),
    known: Collection[str] = (),
) -> RawTable | None:
    r"""Read ``path`` by its suffix; return ``None`` (with problems added) when it cannot be read.

    Parameters
    ----------
    path
        File to read.
    problems
        Collector for what is wrong.
    name
        Name of the file in messages (default: the file name).
    encoding
        ``auto`` (UTF-8, then GB18030) or an explicit codec name, for CSV files.
    sheet
        XLSX sheet name or 0-based index (default: the first sheet).
    header_row
        XLSX row (1-based) holding the headers; rows above it are ignored.
    layer
        Layer name inside a GeoPackage or other multi-layer file.
    delimiter
        CSV delimiter; default ``,`` (``\\t`` for ``.tsv``).
    personal
        The cells describe people: no message quotes a cell, not even from the header row
        (which holds values when the file has no header row), unless it is one of ``known``.
    expected
        Headers the file should have, named when its header row holds values instead
        (:func:`check_header`).
    known
        Header names of the data model (safe to quote from a personal file).
    """
    path = Path(path)
    label = name or path.name
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as exc:  # a name too long for the file system, a broken mount
        problems.add(label, None, None, "unreadable-file",
                     f"cannot open {label} ({exc.strerror or type(exc).__name__}); check the "
                     "path in project.toml")
        return None
    if not exists:
        problems.add(label, None, None, "missing-file", f"no file at {label}; check the path "
                     "in project.toml (paths are relative to the project file)")
        return None
    suffix = path.suffix.lower()
    if not is_file:
        problems.add(label, None, None, "unreadable-file",
                     f"{label} is a folder or a device, not a data file; point the path in "
                     "project.toml at the file itself")
        return None
    if suffix in {".csv", ".txt", ".tsv"}:
        sep = delimiter or ("\t" if suffix == ".tsv" else ",")
        return read_csv(path, problems=problems, name=label, encoding=encoding, delimiter=sep,
                        personal=personal, expected=expected, known=known)
    if suffix in {".xlsx", ".xlsm"}:
        return read_xlsx(path, problems=problems, name=label, sheet=sheet, header_row=header_row,
                         personal=personal, expected=expected, known=known)
    if suffix in VECTOR_SUFFIXES or suffix in PARQUET_SUFFIXES:
        return read_vector(path, problems=problems, name=label, layer=layer, encoding=encoding)
    accepted = ", ".join(sorted(TABLE_SUFFIXES | VECTOR_SUFFIXES | PARQUET_SUFFIXES))
    problems.add(label, None, None, "unreadable-file",
                 f"unknown file type {suffix!r}; use one of {accepted}")
    return None


def decode_text(
    data: bytes, *, problems: Problems, name: str, encoding: str = "auto"
) -> tuple[str, str] | None:
    """Decode ``data`` strictly; return ``(text, encoding)`` or ``None`` with a problem added.

    With ``encoding="auto"`` a UTF-8 byte-order mark selects UTF-8; otherwise UTF-8 is tried, then
    GB18030. The problem for undecodable bytes names the line of the first bad byte under the
    encoding that read furthest.
    """
    if encoding != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError:
            problems.add(name, None, None, "unreadable-file",
                         f"unknown encoding {encoding!r}; use auto, utf-8 or gb18030")
            return None
        candidates: tuple[str, ...] = (encoding,)
    elif data.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
    else:
        candidates = ENCODINGS
    furthest = (-1, candidates[0])
    for enc in candidates:
        try:
            text = data.decode(enc)  # strict: never replacement characters
        except UnicodeDecodeError as exc:
            if exc.start > furthest[0]:
                furthest = (exc.start, enc)
            continue
        return text.removeprefix("\ufeff"), ("utf-8" if enc == "utf-8-sig" else enc)
    pos, enc = furthest
    line = data.count(b"\n", 0, max(pos, 0)) + 1
    tried = " or ".join(candidates)
    problems.add(name, line, None, "undecodable-bytes",
                 f"line {line} holds bytes that are not {tried} (byte offset {pos}); save the "
                 "file again as UTF-8 or GB18030, or set `encoding` for the layer")
    return None




def read_csv(
    path: Path,
    *,
    problems: Problems,
    name: str,
    encoding: str = "auto",
    delimiter: str = ",",
    personal: bool = False,
    expected: Sequence[str] = (),
    known: Collection[str] = (),
) -> RawTable | None:
    """Read a CSV file as text cells; see :func:`read_table`.

    The fast path parses with pyarrow (multi-threaded). A file with blank lines, or with rows
    whose field count differs from the header's, is parsed again with Python's ``csv`` module
    so that every bad row is reported with its spreadsheet row number.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.add(name, None, None, "unreadable-file",
                     f"cannot read {name} ({exc.strerror or type(exc).__name__}); check that "
                     "the file is a plain file the service may read")
        return None
    decoded = decode_text(data, problems=problems, name=name, encoding=encoding)
    if decoded is None:
        return None
    text, used = decoded
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        problems.add(name, 1, None, "malformed-row", f"the header row cannot be parsed ({exc})")
        return None
    if not header or all(not h.strip() for h in header):
        problems.add(name, None, None, "missing-column", "the file is empty; it needs a header "
                     "row and at least one record")
        return None
    if not check_header(header, name, 1, problems, personal=personal, expected=expected,
                        known=known):
        return None
    frame = None
    # Blank lines (rows in a spreadsheet) and an odd number of quotes (one left open) need the
    # record-by-record parser to report exact rows.
    if "\n\n" not in text and "\n\r\n" not in text and text.count('"') % 2 == 0:
        frame = _arrow_csv(text, data, used, header, delimiter)
    if frame is None:
        frame = _python_csv(text, header, delimiter, name, problems)
        if frame is None:
            return None
    rows = np.arange(2, len(frame) + 2)
    return _drop_empty(RawTable(frame, rows, name, encoding=used), problems)


def _arrow_csv(
    text: str, data: bytes, used: str, header: list[str], delimiter: str
) -> pd.DataFrame | None:
    """Parse with pyarrow, every column as text; ``None`` if any row has the wrong width."""
    raw = data.removeprefix(codecs.BOM_UTF8) if used == "utf-8" else text.encode("utf-8")
    invalid = 0

    def count(_row: object) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             invalid_row_handler=count),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    if invalid:
        return None
    frame = table.to_pandas()
    frame.columns = header
    return frame


def _python_csv(
    text: str, header: list[str], delimiter: str, name: str, problems: Problems
) -> pd.DataFrame | None:
    """Parse record by record (slow path): report every row whose width is wrong."""
    records: list[list[str]] = []
    width = len(header)
    bad_rows: list[tuple[int, int]] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        next(reader)
        for number, record in enumerate(reader, start=2):
            if not record:
                record = [""] * width  # a blank line: an empty row, as a spreadsheet shows it
            elif len(record) != width:
                bad_rows.append((number, len(record)))
            records.append(record)
    except csv.Error as exc:
        problems.add(name, None, None, "malformed-row", f"the CSV parser stopped: {exc}")
        return None
    for number, seen in bad_rows[:20]:
        problems.add(name, number, None, "malformed-row",
                     f"the row has {seen} fields where the header has {width}; check for an "
                     "unquoted delimiter, a stray line break or a missing field")
    if len(bad_rows) > 20:
        problems.add_rows(name, [r for r, _ in bad_rows[20:]], None, "malformed-row",
                          f"rows with a field count other than the header's {width}")
    if bad_rows:
        return None
    frame = pd.DataFrame(records, columns=range(width), dtype=str)
    frame.columns = header
    return frame


_VALUE = re.compile(
    r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?"  # a number: 113.75, 1,000, 1e5
    r"|\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"  # a date: 2024-03-01, 2024年3月1日
    r"|\d{17}[\dXx]"  # a national ID number
)
_VALUE_INSIDE = re.compile(r"\d+\.\d+|\d{5,}")
"""A decimal number or five digits and more inside a cell: coordinates, telephone numbers, ids."""


def check_header(
    header: list[str],
    name: str,
    row: int,
    problems: Problems,
    *,
    personal: bool = False,
    expected: Sequence[str] = (),
    known: Collection[str] = (),
) -> bool:
    """Check a table's header row; return whether it can be used.

    A header row holding a number or a date is a data row: the file has no header row (or
    ``header_row`` points at the wrong row). In a ``personal`` table, a header holding a decimal
    number or a long number (a row read with the wrong delimiter is one cell) is one too.
    Headers that occur more than once leave it open which column holds the data. Neither
    problem quotes a cell of a ``personal`` table (its "headers" may be a person's values)
    unless it is one of the ``known`` header names.
    """
    values = [i for i, h in enumerate(header) if _VALUE.fullmatch(h.strip())
              or (personal and _VALUE_INSIDE.search(h))]
    if values:
        columns = ("column " if len(values) == 1 else "columns ") + ", ".join(
            _column_name(i) for i in values[:3])
        wanted = f" (at least {', '.join(expected)})" if expected else ""
        problems.add(name, row, None, "missing-column",
                     f"row {row} holds values, not column headers ({columns}: a number or a "
                     "date), so the file seems to lack a header row: add a row naming the "
                     f"columns{wanted} above the data, or set `header_row` to the row holding "
                     "them")
        return False
    counts = Counter(h.strip() for h in header)  # one pass: a header may have many columns
    repeated = sorted(h for h, n in counts.items() if h and n > 1)
    if repeated and personal:
        names = {k.casefold() for k in known}
        where = [" and ".join(_column_name(i) for i, x in enumerate(header) if x.strip() == h)
                 + (f" (both {h!r})" if h.casefold() in names else "") for h in repeated[:3]]
        problems.add(name, row, None, "ambiguous-column",
                     f"columns {'; '.join(where)} have the same header; give every column a "
                     "header of its own")
    elif repeated:
        problems.add(name, row, None, "ambiguous-column",
                     f"the headers {', '.join(map(repr, repeated))} occur more than once; give "
                     "every column a header of its own")
    return not repeated


def _column_name(i: int) -> str:
    """Return the spreadsheet letter and number of the 0-based column ``i`` (``B (2)``)."""
    letters = ""
    n = i + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(ord("A") + r) + letters
    return f"{letters} ({i + 1})"


def _cell_text(value: object) -> str:
    """Text of an XLSX cell as a user would read it, without Excel's number formatting."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def read_xlsx(
    path: Path,
    *,
    problems: Problems,
    name: str,
    sheet: str | int | None = None,
    header_row: int = 1,
    personal: bool = False,
    expected: Sequence[str] = (),
    known: Collection[str] = (),
) -> RawTable | None:
    """Read one sheet of an Excel workbook as text cells; see :func:`read_table`.

    Formula cells are read as their formula text (``=...``), never evaluated. Merged cells in
    the header row are an error: each column needs a header of its own.
    """
    from openpyxl import load_workbook  # lazy: only XLSX users pay for it

    try:
        # Not read-only: merged cell ranges are only available on a full worksheet.
        book = load_workbook(path, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a broken file
        problems.add(name, None, None, "unreadable-file", f"not a readable XLSX workbook ({exc})")
        return None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, int):
            ws = book.worksheets[sheet]
        else:
            ws = book[sheet]
    except (KeyError, IndexError):
        problems.add(name, None, None, "unreadable-file",
                     f"no sheet {sheet!r}; the workbook has {', '.join(book.sheetnames)}")
        return None
    label = f"{name}[{ws.title}]"
    merged = [str(r) for r in ws.merged_cells.ranges if r.min_row <= header_row <= r.max_row]
    if merged:
        problems.add(label, header_row, None, "merged-header",
                     f"cells {', '.join(merged)} are merged; unmerge them and give every column "
                     "its own header in one row (set `header_row` if the headers are lower down)")
        return None
    in_data = [str(r) for r in ws.merged_cells.ranges if r.min_row > header_row]
    if in_data:
        problems.add(label, None, None, "merged-cells",
                     f"cells {', '.join(in_data[:5])} are merged; a merged cell keeps its value "
                     "only in the first row, so unmerge and fill every cell")
        return None
    cells = _sheet_cells(ws, header_row)
    if not cells:
        problems.add(label, header_row, None, "missing-column",
                     f"row {header_row} is empty; set `header_row` to the row with the headers")
        return None
    head = cells.pop(header_row, {})
    width = max((c for c, text in head.items() if text), default=0)
    header = [head.get(c, "") for c in range(1, width + 1)]
    if not check_header(header, label, header_row, problems, personal=personal,
                        expected=expected, known=known):
        return None
    numbers = np.array(sorted(r for r, row in cells.items() if any(
        text and c <= width for c, text in row.items())), dtype=np.int64)
    # a column with neither a header nor a value holds nothing: the gap up to a stray header
    # cell at XFD1 is not 16,000 columns
    filled = {c for r in numbers for c, text in cells[r].items() if text}
    columns = [c for c in range(1, width + 1) if head.get(c) or c in filled]
    header = [head.get(c) or f"column {c}" for c in columns]
    body = [[cells[r].get(c, "") for c in columns] for r in numbers]
    frame = pd.DataFrame(body, columns=header, dtype=object)
    if len(numbers):  # rows between the header and the last record that hold no value
        blank = np.setdiff1d(np.arange(header_row + 1, numbers[-1]), numbers)
        problems.add_rows(label, blank, None, "empty-rows",
                          "rows with no value in any column carry no data and are skipped",
                          "info")
    return RawTable(frame, numbers, label, header_row=header_row)


def _sheet_cells(ws: object, first_row: int) -> dict[int, dict[int, str]]:
    """Text of the cells holding a value from ``first_row`` down: row → column → text.

    Only the cells the file holds are visited: a stray cell at XFD1048576 does not make a
    sheet of seventeen billion empty cells (as iterating over the sheet's range would).
    """
    out: dict[int, dict[int, str]] = {}
    for (r, c), cell in ws._cells.items():  # type: ignore[attr-defined]  # openpyxl's store
        if r >= first_row and cell.value is not None:
            out.setdefault(r, {})[c] = _cell_text(cell.value)
    return out


def _drop_empty(table: RawTable, problems: Problems) -> RawTable:
    """Remove rows whose every cell is empty (they hold no data) and say how many."""
    if table.frame.empty:
        return table
    # one array comparison, not one per column (a sheet may have tens of thousands)
    empty = (table.frame.to_numpy(dtype=object) == "").all(axis=1)
    if empty.any():
        problems.add_rows(table.file, table.rows[empty], None, "empty-rows",
                          "rows with no value in any column carry no data and are skipped",
                          "info")
        table.frame = table.frame.loc[~empty].reset_index(drop=True)
        table.rows = table.rows[~empty]
    return table


def read_vector(
    path: Path,
    *,
    problems: Problems,
    name: str,
    layer: str | None = None,
    encoding: str = "auto",
) -> RawTable | None:
    """Read a GeoPackage, GeoJSON, Shapefile, FlatGeobuf or GeoParquet layer.

    See :func:`read_table`. A GeoPackage with several layers needs ``layer``: reading the first
    one silently could load the wrong data.
    """
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            gdf = gpd.read_parquet(path)
        else:
            kwargs: dict[str, object] = {}
            if layer is not None:
                kwargs["layer"] = layer
            elif path.suffix.lower() == ".gpkg":
                names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
                if len(names) > 1:
                    problems.add(name, None, None, "unreadable-file",
                                 f"the GeoPackage holds several layers ({', '.join(names)}); "
                                 "name the one to read with `layer`")
                    return None
            if encoding != "auto":
                kwargs["encoding"] = encoding
            gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
    except Exception as exc:  # pyogrio and pyarrow raise many types for a broken file
        hint = f"cannot read it ({exc or type(exc).__name__})"
        if path.suffix.lower() == ".gpkg":
            try:
                layers = ", ".join(pyogrio.list_layers(path)[:, 0])
                hint += f"; its layers are: {layers} (set `layer`)"
            except Exception:  # the file itself is broken; the first message says so
                pass
        problems.add(name, None, None, "unreadable-file", hint)
        return None
    # a table the file does not register as spatial is read without geometry (a DataFrame)
    column = gdf.active_geometry_name if isinstance(gdf, gpd.GeoDataFrame) else None
    geometry = gdf[column] if column in gdf.columns else None
    frame = pd.DataFrame(gdf.drop(columns=[column]) if geometry is not None else gdf)
    frame.columns = [str(c) for c in frame.columns]
    rows = np.arange(1, len(frame) + 1)
    labels = (gdf.index.to_numpy(dtype=np.int64)
              if path.suffix.lower() in PARQUET_SUFFIXES and pd.api.types.is_integer_dtype(
                  gdf.index.dtype) else None)
    return RawTable(frame.reset_index(drop=True), rows, name,
                    geometry=None if geometry is None else geometry.reset_index(drop=True),
                    file_crs=None if geometry is None else gdf.crs, header_row=None,
                    labels=labels)
