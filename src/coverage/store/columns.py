"""The catalogue of a layer's columns: what a store keeps so a layer reads back exactly.

A GeoPackage or a PostgreSQL table holds values, not pandas dtypes: a nullable ``Int64``, a
``str`` column and an ``object`` column of text all become one column type there, and a missing
value becomes ``NULL`` whatever it was. :func:`describe` records, for every column of a frame in
order, its dtype (:data:`DTYPES`), which missing value an ``object`` column holds (``None``,
``pd.NA`` or ``NaN``) and where, the geometry's CRS, and which floats are ``-0.0`` (a
GeoPackage's SQLite stores them as ``0``); :func:`restore` rebuilds the frame from the stored
values as Arrow arrays. The stores keep the catalogue beside the values: as layer metadata in a
GeoPackage, in a catalogue table in PostGIS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from coverage.store.base import StoreError

__all__ = ["DTYPES", "OPAQUE", "ColumnSpec", "LayerSpec", "arrow_type", "describe", "restore"]

DTYPES = ("bool", "int64", "float64", "boolean", "Int64", "Float64", "str[python]",
          "str[pyarrow]", "string[python]", "string[pyarrow]", "object", "datetime64[<unit>]",
          "datetime64[<unit>, <tz>]", "geometry")
"""The dtypes a store keeps exactly (``object``: text with one kind of missing value)."""

OPAQUE = "opaque"
"""The dtype recorded for a column a GeoPackage keeps only as GDAL reads it back."""

_MISSING = {"None": None, "NA": pd.NA, "NaN": np.nan}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a layer as written.

    Attributes
    ----------
    name
        The column's name.
    dtype
        One of :data:`DTYPES` (with its unit and time zone for times), or :data:`OPAQUE`.
    missing
        For an ``object`` column holding missing values: ``None``, ``NA`` or ``NaN``.
    crs
        For a geometry column: its CRS as PROJJSON (``None`` when it has none).
    negative_zero
        Rows holding ``-0.0`` in a float column.
    missing_rows
        Rows holding a missing value in an ``object`` column (GDAL writes ``pd.NA`` there as
        the text ``<NA>``).
    """

    name: str
    dtype: str
    missing: str | None = None
    crs: str | None = None
    negative_zero: tuple[int, ...] = ()
    missing_rows: tuple[int, ...] = ()

    @property
    def srid(self) -> int:
        """The EPSG code of a geometry column's CRS (0 when it has none or no code)."""
        if self.crs is None:
            return 0
        return pyproj.CRS.from_json(self.crs).to_epsg() or 0


@dataclass(frozen=True)
class LayerSpec:
    """A layer as written: its columns in order, its rows and its kind.

    Attributes
    ----------
    columns
        The columns, in order.
    rows
        Number of rows.
    geometry
        The active geometry column of a geo data frame; ``None`` for a plain data frame.
    """

    columns: tuple[ColumnSpec, ...]
    rows: int
    geometry: str | None = None

    def to_json(self) -> str:
        """Return the catalogue as JSON text (what a GeoPackage keeps as layer metadata)."""
        data = {"rows": self.rows, "geometry": self.geometry,
                "columns": [{k: v for k, v in asdict(c).items() if v not in (None, ())}
                            for c in self.columns]}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LayerSpec:
        """Read a catalogue written by :meth:`to_json`."""
        data = json.loads(text)
        columns = tuple(ColumnSpec(**{**c, "negative_zero": tuple(c.get("negative_zero", ())),
                                      "missing_rows": tuple(c.get("missing_rows", ()))})
                        for c in data["columns"])
        return cls(columns, int(data["rows"]), data.get("geometry"))


def _fail(layer: str, column: object, text: str) -> StoreError:
    return StoreError(f"layer {layer!r}, column {column!r}: {text}")


def _object_missing(values: pd.Series) -> tuple[bool, str | None]:
    """Whether an object column is text, and the one kind of missing value it holds."""
    kinds: set[str] = set()
    for value in values:
        if isinstance(value, str):
            continue
        if value is None:
            kinds.add("None")
        elif value is pd.NA:
            kinds.add("NA")
        elif isinstance(value, float) and np.isnan(value):
            kinds.add("NaN")
        else:
            return False, None
    if len(kinds) > 1:
        return False, None
    return True, next(iter(kinds), None)


def _times_fit(series: pd.Series, unit: str) -> bool:
    """Whether every time of a column is a whole number of ``unit`` (``us`` or ``ms``)."""
    values = series.dt.tz_localize(None) if isinstance(series.dtype, pd.DatetimeTZDtype) else series
    ticks = values.to_numpy().astype("datetime64[ns]").astype(np.int64)[values.notna().to_numpy()]
    step = 1_000 if unit == "us" else 1_000_000
    return bool((ticks % step == 0).all())


def _dtype(series: pd.Series, time_unit: str) -> tuple[str | None, str | None]:
    """Return a column's dtype spec and missing-value kind (spec ``None``: not kept exactly)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        base = "str" if dtype.na_value is np.nan else "string"
        return f"{base}[{dtype.storage}]", None
    if isinstance(dtype, pd.Int64Dtype | pd.Float64Dtype | pd.BooleanDtype):
        return dtype.name, None
    if isinstance(dtype, pd.DatetimeTZDtype) or (
            isinstance(dtype, np.dtype) and dtype.kind == "M"):
        return (str(dtype), None) if _times_fit(series, time_unit) else (None, None)
    if isinstance(dtype, np.dtype) and dtype.name in ("bool", "int64", "float64"):
        return dtype.name, None
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        text, missing = _object_missing(series)
        return ("object", missing) if text else (None, None)
    if getattr(dtype, "name", None) == "geometry":
        return "geometry", None
    return None, None


def describe(frame: pd.DataFrame, layer: str, *, strict: bool = True,
             time_unit: str = "us") -> LayerSpec:
    """Return the catalogue of ``frame``'s columns (see the module's description).

    Parameters
    ----------
    frame
        The layer (a data frame or a geo data frame).
    layer
        Its name, for messages.
    strict
        Raise for a column that cannot be kept exactly; else record it as :data:`OPAQUE`.
    time_unit
        The finest time the store keeps (``us``: PostgreSQL; ``ms``: a GeoPackage, GDAL's);
        a time column with finer times cannot be kept exactly.

    Raises
    ------
    StoreError
        For a column name that is not text or is repeated, and (``strict``) a column of
        another dtype than :data:`DTYPES`, an ``object`` column holding other values than
        text and one kind of missing value, or times finer than ``time_unit``.
    """
    names = list(frame.columns)
    for name in names:
        if not isinstance(name, str):
            raise _fail(layer, name, "column names must be text")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise _fail(layer, twice, "the name is used by two columns")
    columns = []
    for position, name in enumerate(names):
        series = frame.iloc[:, position]
        spec, missing = _dtype(series, time_unit)
        if spec is None:
            if strict:
                raise _fail(layer, name, f"{series.dtype} values cannot be kept exactly; "
                            "store text, whole numbers, floats, true/false, times (to the "
                            f"{'microsecond' if time_unit == 'us' else 'millisecond'}) or "
                            "geometry")
            spec = OPAQUE
        crs = None
        if spec == "geometry" and series.crs is not None:
            crs = series.crs.to_json()
        zeros: tuple[int, ...] = ()
        if spec in ("float64", "Float64"):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            zeros = tuple(int(i) for i in np.flatnonzero((values == 0) & np.signbit(values)))
        gaps: tuple[int, ...] = ()
        if spec == "object":
            gaps = tuple(int(i) for i in np.flatnonzero(series.isna().to_numpy()))
        columns.append(ColumnSpec(name, spec, missing, crs, zeros, gaps))
    geometry = None
    if hasattr(frame, "geometry") and getattr(frame, "_geometry_column_name", None) in names:
        geometry = frame._geometry_column_name
    return LayerSpec(tuple(columns), len(frame), geometry)


def arrow_type(spec: ColumnSpec) -> pa.DataType:
    """Return the Arrow type a column's stored values are read into."""
    dtype = spec.dtype
    if dtype in ("bool", "boolean"):
        return pa.bool_()
    if dtype in ("int64", "Int64"):
        return pa.int64()
    if dtype in ("float64", "Float64"):
        return pa.float64()
    if dtype == "geometry":
        return pa.binary()
    if dtype.startswith("datetime64"):
        tz = dtype[:-1].split(", ", 1)[1] if ", " in dtype else None
        return pa.timestamp("us", tz="UTC" if tz else None)
    return pa.string()


def _at(positions: tuple[int, ...], rows: np.ndarray | None) -> list[int] | np.ndarray:
    """Return where rows of the whole layer (``positions``) are among the rows read."""
    if rows is None:
        return list(positions)
    wanted = np.asarray(positions, dtype=np.int64)
    found = np.searchsorted(rows, wanted)
    inside = found < len(rows)
    inside[inside] = rows[found[inside]] == wanted[inside]
    return found[inside]


def _column(spec: ColumnSpec, values: pa.Array, rows: np.ndarray | None = None) -> pd.Series:
    """Return one column rebuilt from its stored values (nulls for missing values).

    ``rows``: the positions in the whole layer of the rows read, when only some were (a
    district's log-in reads its district's rows); ``None`` when all were.
    """
    dtype = spec.dtype
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if dtype == OPAQUE:
        return pd.Series(values.to_pandas())
    if dtype == "geometry":
        geoms = shapely.from_wkb(np.asarray(values.to_pylist(), dtype=object))
        crs = None
        if spec.crs is not None:
            crs = pyproj.CRS.from_json(spec.crs)
        return gpd.GeoSeries(geoms, crs=crs, name=spec.name)
    if dtype == "object":
        out = np.asarray(values.to_pylist(), dtype=object)
        if spec.missing is not None:
            out[values.is_null().to_numpy(zero_copy_only=False)] = _MISSING[spec.missing]
            out[_at(spec.missing_rows, rows)] = _MISSING[spec.missing]
        return pd.Series(out, dtype=object)
    if dtype.startswith(("str[", "string[")):
        storage = dtype.split("[", 1)[1][:-1]
        na = np.nan if dtype.startswith("str[") else pd.NA
        return pd.Series(pd.array(values.cast(pa.string()),
                                  dtype=pd.StringDtype(storage, na_value=na)))
    if dtype.startswith("datetime64"):
        # stored as UTC instants (zoned) or wall-clock times (naive), which a GeoPackage's
        # reader hands back marked as UTC too
        target = pd.api.types.pandas_dtype(dtype)
        series = pd.Series(values.to_pandas())
        if isinstance(target, pd.DatetimeTZDtype):
            if series.dt.tz is None:
                series = series.dt.tz_localize("UTC")
            series = series.dt.tz_convert(target.tz)
        elif series.dt.tz is not None:
            series = series.dt.tz_localize(None)
        return series.astype(target)
    mask = values.is_null().to_numpy(zero_copy_only=False)
    fill = {"bool": False, "boolean": False, "int64": 0, "Int64": 0}.get(dtype, np.nan)
    data = values.fill_null(fill).to_numpy(zero_copy_only=False)
    if dtype in ("float64", "Float64"):
        data = data.astype(np.float64, copy=True)
        data[_at(spec.negative_zero, rows)] = -0.0
    if dtype == "Int64":
        return pd.Series(pd.arrays.IntegerArray(data.astype(np.int64), mask))
    if dtype == "Float64":
        return pd.Series(pd.arrays.FloatingArray(data, mask))
    if dtype == "boolean":
        return pd.Series(pd.arrays.BooleanArray(data.astype(bool), mask))
    return pd.Series(data.astype(dtype))


def restore(spec: LayerSpec, values: Mapping[str, pa.Array],
            rows: np.ndarray | None = None) -> pd.DataFrame:
    """Return the layer rebuilt from its stored values: the frame :func:`describe` was given.

    Parameters
    ----------
    spec
        The layer's catalogue.
    values
        Column name → its stored values in row order (``NULL`` for a missing value; WKB for
        geometry; a time as an Arrow timestamp).
    rows
        When only some of the layer's rows were read (a district's log-in under row-level
        security): their positions in the whole layer, ascending; the frame holds those rows,
        numbered from 0. ``None`` (the default): every row was read.
    """
    columns = {c.name: _column(c, values[c.name], rows) for c in spec.columns}
    count = spec.rows if rows is None else len(rows)
    frame = pd.DataFrame(columns) if columns else pd.DataFrame(index=pd.RangeIndex(count))
    if spec.geometry is None:
        return frame
    crs = columns[spec.geometry].crs
    return gpd.GeoDataFrame(frame, geometry=spec.geometry, crs=crs)
