r"""A layer's rows as PostgreSQL ``COPY`` text, column by column, and its columns' SQL types.

The PostGIS store writes every layer with ``COPY ... FROM STDIN`` in PostgreSQL's text format:
one line per row, cells separated by tabs, ``\N`` for ``NULL``, backslash escapes in text.
Each column is turned into its cells at once (numpy and Arrow), never cell by cell:

* floats as their shortest exact decimal (numpy's, which reads back to the same double:
  ``0.30000000000000004``, ``1e-300``, ``-0.0``), ``nan``, ``inf`` and ``-inf``;
* whole numbers as digits; true/false as ``t``/``f``;
* text with ``\``, tab, newline and carriage return escaped;
* times to the microsecond (UTC with ``+00`` for zoned ones);
* geometry as hex EWKB carrying the column's SRID.

A missing value of a nullable dtype (``pd.NA``, ``None``, ``NaN`` in text) is ``NULL``; a float
``NaN`` of a ``float64`` column stays ``NaN`` (a value, not a missing one).

psycopg, the PostgreSQL driver, is an optional extra (``store``): it is imported inside the
functions that talk to the server, so that this module imports without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from coverage.store.columns import ColumnSpec, LayerSpec

if TYPE_CHECKING:
    import psycopg

__all__ = ["CHUNK_ROWS", "copy_chunks", "sql_type"]

CHUNK_ROWS = 50_000
"""Rows sent to the server per chunk of ``COPY`` data."""

NULL = "\\N"
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def sql_type(spec: ColumnSpec) -> psycopg.sql.Composable:
    """Return the SQL type of a column of the layer's table.

    ``boolean``, ``bigint``, ``double precision``, ``text``, ``timestamp`` (naive times),
    ``timestamptz`` (zoned ones) and ``geometry(Geometry, <SRID>)`` (the EPSG code of the
    column's CRS; 0 when it has none).
    """
    from psycopg import sql

    dtype = spec.dtype
    if dtype == "geometry":
        return sql.SQL("geometry(Geometry, {})").format(sql.Literal(spec.srid))
    if dtype.startswith("datetime64"):
        return sql.SQL("timestamptz" if ", " in dtype else "timestamp")
    names = {"bool": "boolean", "boolean": "boolean", "int64": "bigint", "Int64": "bigint",
             "float64": "double precision", "Float64": "double precision"}
    return sql.SQL(names.get(dtype, "text"))


def _text(values: pa.Array) -> pa.Array:
    """Escape text cells for ``COPY`` (``NULL`` cells stay null)."""
    for old, new in _ESCAPES:
        values = pc.replace_substring(values, old, new)
    return values


def _masked(cells: np.ndarray, missing: np.ndarray) -> pa.Array:
    """Return text cells as an Arrow array, null where ``missing``."""
    return pa.array(cells.astype(object), type=pa.string(), mask=missing)


def _cells(series: pd.Series, spec: ColumnSpec) -> pa.Array:
    """Return one column's ``COPY`` cells (null for ``NULL``)."""
    dtype = spec.dtype
    missing = series.isna().to_numpy(dtype=bool) if dtype != "float64" else None
    if dtype == "float64":
        return pa.array(series.to_numpy(dtype=np.float64).astype(str), type=pa.string())
    if dtype in ("int64", "Int64", "Float64"):
        target = np.float64 if dtype == "Float64" else np.int64
        values = series.to_numpy(dtype=target, na_value=0)
        return _masked(values.astype(str), missing)
    if dtype in ("bool", "boolean"):
        values = series.to_numpy(dtype=bool, na_value=False)
        return _masked(np.where(values, "t", "f"), missing)
    if dtype.startswith("datetime64"):
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        text = np.datetime_as_string(series.to_numpy().astype("datetime64[us]"), unit="us")
        suffix = "+00" if ", " in dtype else ""
        return _masked(np.char.add(text.astype(str), suffix), missing)
    if dtype == "geometry":
        geoms = shapely.set_srid(np.asarray(series.array, dtype=object), spec.srid)
        hexes = shapely.to_wkb(geoms, hex=True, include_srid=True)
        return pa.array(hexes, type=pa.string())
    values = np.array(series.to_numpy(dtype=object), dtype=object)
    values[missing] = None
    return _text(pa.array(values, type=pa.string()))


def copy_chunks(frame: pd.DataFrame, spec: LayerSpec, run_id: str,
                districts: np.ndarray | None = None) -> Iterator[bytes]:
    """Yield a layer's ``COPY`` text in chunks: ``run_id``, the row number, then its columns.

    Parameters
    ----------
    frame
        The layer.
    spec
        Its catalogue (:func:`coverage.store.columns.describe`).
    run_id
        The run's id (text without tabs or backslashes), the first cell of every row.
    districts
        Each row's district (``None`` for the city's rows), sent after the row number when
        given (:mod:`coverage.store.districts`).
    """
    rows = len(frame)
    for start in range(0, rows, CHUNK_ROWS):
        part = frame.iloc[start:start + CHUNK_ROWS]
        n = len(part)
        cells = [pa.array(np.full(n, run_id, dtype=object), type=pa.string()),
                 pa.array(np.arange(start, start + n).astype(str), type=pa.string())]
        if districts is not None:
            cells.append(pc.fill_null(_text(pa.array(districts[start:start + n],
                                                     type=pa.string())), NULL))
        cells += [pc.fill_null(_cells(part.iloc[:, i], c), NULL)
                  for i, c in enumerate(spec.columns)]
        lines = pc.binary_join_element_wise(*cells, "\t")
        yield ("\n".join(lines.to_pylist()) + "\n").encode("utf-8")
