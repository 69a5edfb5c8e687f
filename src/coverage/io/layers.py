"""One table layer read, its columns mapped and converted, its places in WGS-84.

The file (or database table) is read as it is (:mod:`coverage.io.readers`,
:mod:`coverage.io.db_tables`), its headers matched and its cells
converted (:mod:`coverage.io.columns`), its ids checked for repeats, its coordinates or
geometries checked and converted to WGS-84 (:mod:`coverage.io._geometry`). Projecting to the
study CRS and placing the points in the study area come later (:mod:`coverage.io.loaders`).
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from coverage import crs as crsmod
from coverage.io._geometry import (
    _GEOGRAPHIC,
    _apply_lonlat,
    _check_coordinates,
    _check_geometries,
    _layer_system,
    _repair,
)
from coverage.io.columns import coerce_column, headers_shown, resolve_columns
from coverage.io.db_tables import read_db_table
from coverage.io.project import LayerConfig
from coverage.io.readers import RawTable, read_table
from coverage.io.schema import LAYERS, Column, Layer
from coverage.io.validation import Problems

ROW = "source_row"
"""Column holding each record's spreadsheet row (or feature number) in its source file."""
SOURCE_FILE = "source_file"
"""Column naming each record's part, in a layer read from a folder of parts (while it loads:
the study's layers hold the same columns whatever form they came in)."""


def read_layer(
    config: LayerConfig,
    *,
    problems: Problems,
    salt: Callable[[], bytes],
    store_url: str | None = None,
) -> tuple[pd.DataFrame | None, np.ndarray | None, str]:
    """Read and check one table layer, converted to WGS-84.

    A layer read from a database table (``config.table``) is read through ``store_url``, the
    project's store (:mod:`coverage.io.db_tables`), then checked like a file.

    Returns
    -------
    (DataFrame or None, array or None, str)
        The attributes (``None`` when the file could not be read at all); the geometries in
        WGS-84, or ``None`` for a point layer read from coordinate columns, whose ``lon`` and
        ``lat`` columns then hold WGS-84 degrees (NaN where unusable), or for a polygon layer
        read from a table without geometry (communities whose boundaries the loader
        approximates, :mod:`coverage.io.boundaries`), or for a layer without places
        (``table``, the budgets); a description of the coordinate conversion.
    """
    layer = LAYERS[config.name]
    raw = _read_raw(config, layer, problems, store_url)
    if raw is None:
        return None, None, ""
    return check_raw(raw, layer, config, problems=problems, salt=salt)


def check_raw(
    raw: RawTable,
    layer: Layer,
    config: LayerConfig,
    *,
    problems: Problems,
    salt: Callable[[], bytes],
) -> tuple[pd.DataFrame, np.ndarray | None, str]:
    """Check a table read as it is and convert it to WGS-84 (see :func:`read_layer`).

    Headers are matched, cells converted, ids checked for repeats, places checked and
    converted; every problem names ``raw.file`` (a part of a partitioned layer names itself).
    """
    found = resolve_columns(raw, layer, config, problems)
    _report_columns(raw, layer, config, found, problems)
    frame = _convert_columns(raw, layer, found, problems, salt)
    _check_duplicates(frame, layer, raw.file, raw.rows, problems)
    if layer.geometry == "table":  # no places to check or convert (a geometry is ignored)
        return frame, None, ""
    if layer.geometry == "polygon" and raw.geometry is None:
        # a table of communities: boundaries are approximated from the migrants (the loader)
        return frame, None, ""
    system, undo = _layer_system(raw, config, problems)
    if layer.geometry == "point" and "lon" in found and "lat" in found:
        frame, conversion = _from_coordinates(frame, found, raw, system, problems)
        return frame, None, conversion
    geoms, conversion = _from_geometries(raw, layer, config, system, undo, problems)
    frame = frame.drop(columns=[c for c in ("lon", "lat") if c in frame])
    if "work_lon" in found and "work_lat" in found:
        _work_to_wgs84(frame, found, raw, system, undo, problems)
    return frame, geoms, conversion


def row_files(frame: pd.DataFrame, file: str) -> np.ndarray:
    """Return the file of each row: its part (:data:`SOURCE_FILE`), else the layer's ``file``."""
    if SOURCE_FILE in frame:
        return frame[SOURCE_FILE].astype(str).to_numpy(dtype=object)
    return np.full(len(frame), file, dtype=object)


def _read_raw(
    config: LayerConfig, layer: Layer, problems: Problems, store_url: str | None
) -> RawTable | None:
    """Read the layer's file or table as it is; ``None`` when it cannot be read or holds no rows."""
    if config.table is not None:
        raw = read_db_table(config, store_url, problems=problems)
    else:
        raw = _read_file(config, layer, problems)
    if raw is None:
        return None
    if not len(raw.frame):
        empty = ("table holds no rows" if config.table is not None
                 else "file holds a header but no rows")
        problems.add(raw.file, None, None, "empty-layer",
                     f"the {layer.name} {empty}; fill it in or remove the layer from "
                     "project.toml" if not layer.required else
                     f"the {layer.name} {empty}; the layer is required")
        return None
    return raw


def _read_file(config: LayerConfig, layer: Layer, problems: Problems) -> RawTable | None:
    """Read the layer's file as it is (:func:`~coverage.io.readers.read_table`)."""
    assert config.path is not None
    return read_table(
        config.path,
        problems=problems,
        name=config.source,
        encoding=config.encoding,
        sheet=config.sheet,
        header_row=config.header_row,
        layer=config.layer,
        delimiter=config.delimiter,
        personal=layer.personal,
        expected=[f"{c.aliases[0]} ({c.name})" if c.aliases else c.name
                  for c in layer.columns if c.required],
        known={n for c in layer.columns for n in (c.name, *c.aliases)},
    )


def _report_columns(
    raw: RawTable, layer: Layer, config: LayerConfig, found: dict[str, str], problems: Problems
) -> None:
    """Report the required columns the file lacks and the columns that are not the layer's."""
    has_geometry = raw.geometry is not None
    geometry_cols = {"lon", "lat"} if layer.geometry == "point" else set()
    for col in layer.columns:
        if col.required and col.name not in found:
            if has_geometry and col.name in geometry_cols:
                continue
            aliases = "、".join(col.aliases[:3])
            problems.add(
                raw.file,
                raw.header_row,
                col.name,
                "missing-column",
                f"add a column {col.name!r} (or {aliases}), or map your header to it in "
                f"[layers.{layer.name}.columns]",
            )
    ignored = [h for h in raw.frame.columns if h not in set(found.values())]
    if ignored:
        shown = (", ".join(ignored) if headers_shown(list(raw.frame.columns), layer, config) else
                 f"{len(ignored):,} columns, whose headers are not shown: none is a header of "
                 "the layer, so the first row may hold a person's values")
        problems.add(
            raw.file,
            raw.header_row,
            None,
            "ignored-columns",
            f"not part of the {layer.name} layer: {shown}",
            "info",
        )


def _convert_columns(
    raw: RawTable,
    layer: Layer,
    found: dict[str, str],
    problems: Problems,
    salt: Callable[[], bytes],
) -> pd.DataFrame:
    """Convert every column found, add the optional ones the file lacks, and :data:`ROW`."""
    rows = raw.rows
    data: dict[str, pd.Series] = {}
    for col in layer.columns:
        if col.name in found:
            data[col.name] = coerce_column(
                raw.frame[found[col.name]],
                col,
                rows,
                file=raw.file,
                layer=layer,
                problems=problems,
                salt=salt,
            )
    for col in layer.columns:
        if col.name not in data and not col.required and col.kind not in ("lon", "lat"):
            data[col.name] = _absent(col, layer, raw.frame.index, rows, salt)
    frame = pd.DataFrame(data, index=raw.frame.index)
    frame[ROW] = rows
    return frame


def _absent(
    col: Column, layer: Layer, index: pd.Index, rows: np.ndarray, salt: Callable[[], bytes]
) -> pd.Series:
    """Return an optional column the file lacks: all empty, with the dtype of a blank column.

    Every layer then has the same columns whatever the file holds, so an analysis asks whether
    a column has values (:mod:`coverage.measures.availability`), never whether it exists.
    """
    blank = pd.Series(pd.NA, index=index, dtype="string")
    return coerce_column(blank, col, rows, file="", layer=layer, problems=Problems(), salt=salt)


def _check_duplicates(
    frame: pd.DataFrame, layer: Layer, file: str, rows: np.ndarray, problems: Problems
) -> None:
    key = layer.id_column
    if key not in frame:
        return
    ids = frame[key]
    dup = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    if dup.any():
        first_row = pd.Series(rows, index=frame.index).groupby(ids).transform("first")
        firsts = first_row[dup].to_numpy()
        hint = f"each {key} must be unique; this row repeats the id of row "
        for r, f in zip(rows[dup][:20], firsts[:20], strict=False):
            problems.add(file, int(r), key, "duplicate-id", hint + str(int(f)))
        if dup.sum() > 20:
            problems.add_rows(
                file, rows[dup][20:], key, "duplicate-id", f"each {key} must be unique"
            )


def _from_coordinates(
    frame: pd.DataFrame,
    found: dict[str, str],
    raw: RawTable,
    system: str | None,
    problems: Problems,
) -> tuple[pd.DataFrame, str]:
    """Check a point layer's coordinate columns and convert them to WGS-84 degrees.

    Unusable residences become NaN; workplace coordinates are checked where given and converted
    with the residences.
    """
    rows = raw.rows
    geographic = system is None or system in _GEOGRAPHIC
    usable = _check_coordinates(
        frame["lon"],
        frame["lat"],
        rows,
        file=raw.file,
        names=(found["lon"], found["lat"]),
        problems=problems,
        geographic=geographic,
    )
    work = "work_lon" in frame and "work_lat" in frame
    if work:
        given = frame["work_lon"].notna() | frame["work_lat"].notna()
        sub = given.to_numpy()
        _check_coordinates(
            frame["work_lon"][sub],
            frame["work_lat"][sub],
            rows[sub],
            file=raw.file,
            names=(found["work_lon"], found["work_lat"]),
            problems=problems,
            geographic=geographic,
        )
    lon = np.where(usable, frame["lon"].to_numpy(dtype=float), np.nan)
    lat = np.where(usable, frame["lat"].to_numpy(dtype=float), np.nan)
    conversion = ""
    if system is not None:
        lon, lat = crsmod.to_wgs84(lon, lat, system)
        conversion = crsmod.describe_conversion(system)
        if work:
            wlon, wlat = crsmod.to_wgs84(
                frame["work_lon"].to_numpy(float), frame["work_lat"].to_numpy(float), system
            )
            frame["work_lon"], frame["work_lat"] = wlon, wlat
    frame["lon"], frame["lat"] = lon, lat
    return frame, conversion


def _work_to_wgs84(
    frame: pd.DataFrame,
    found: dict[str, str],
    raw: RawTable,
    system: str | None,
    undo: pyproj.CRS | None,
    problems: Problems,
) -> None:
    """Check the workplace coordinates of a layer of geometries and convert them to WGS-84.

    They are in the layer's system, like the geometries: the declared one (GCJ-02 shifted
    back), else the file's own CRS.
    """
    given = (frame["work_lon"].notna() | frame["work_lat"].notna()).to_numpy()
    geographic = (system in _GEOGRAPHIC if system is not None
                  else undo is None or undo.is_geographic)
    _check_coordinates(frame["work_lon"][given], frame["work_lat"][given], raw.rows[given],
                       file=raw.file, names=(found["work_lon"], found["work_lat"]),
                       problems=problems, geographic=geographic)
    wx, wy = frame["work_lon"].to_numpy(float), frame["work_lat"].to_numpy(float)
    if system is not None:
        wx, wy = crsmod.to_wgs84(wx, wy, system)
    elif undo is not None:
        wx, wy = pyproj.Transformer.from_crs(undo, 4326, always_xy=True).transform(wx, wy)
    frame["work_lon"], frame["work_lat"] = wx, wy


def _from_geometries(
    raw: RawTable,
    layer: Layer,
    config: LayerConfig,
    system: str | None,
    undo: pyproj.CRS | None,
    problems: Problems,
) -> tuple[np.ndarray, str]:
    """Check the file's geometries (repairing polygons if asked) and convert them to WGS-84.

    A point layer without geometry or coordinate columns gets missing geometries.
    """
    if raw.geometry is not None:
        geoms = np.asarray(raw.geometry.values, dtype=object)
        if undo is not None:
            geoms = np.asarray(gpd.GeoSeries(geoms, crs=undo).to_crs(4326).values, dtype=object)
        usable = _check_geometries(geoms, layer, config, raw.file, raw.rows, problems)
        if layer.geometry == "polygon" and config.repair:
            geoms = _repair(geoms, usable, raw.file, raw.rows, problems)
    else:
        geoms = np.full(len(raw.frame), None, dtype=object)
        usable = np.zeros(len(raw.frame), dtype=bool)
    conversion = ""
    if system is not None and usable.any():
        ok_geoms = geoms[usable]
        if system not in ("wgs84", "cgcs2000"):
            geoms[usable] = _apply_lonlat(ok_geoms, system)
        conversion = crsmod.describe_conversion(system)
    elif undo is not None:
        conversion = f"{undo.name} → WGS-84 (PROJ)"
    return geoms, conversion
