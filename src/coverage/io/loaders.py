"""Load a project's layers into checked GeoDataFrames in one projected metric CRS.

Each table layer goes through the same steps, all vectorized:

1. read the file as it is (:mod:`coverage.io.readers`);
2. match headers to the data model (:mod:`coverage.io.schema`): the project's ``columns`` mapping
   first, then the canonical names and their Chinese and English aliases;
3. check and convert every column (numbers, yes/no, dates, categories, division codes, ids);
   national ID numbers (18 or 15 digits, however written) in id columns are replaced by salted
   hashes
   (:mod:`coverage.io.privacy`);
4. check coordinates (empty, non-numeric, swapped, out of range) and geometries (validity, type),
   reconcile the declared coordinate system with the file's own, convert to WGS-84
   (:mod:`coverage.crs`), recording the conversion;
5. project to the study CRS, quarantine points outside the study area (the communities plus a
   tolerance) and assign points to communities.

Every problem is collected (:mod:`coverage.io.validation`); :func:`load_study` raises one
:class:`~coverage.io.validation.ValidationError` if any is an error, :func:`validate_project`
returns them all.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage import crs as crsmod
from coverage.io.boundaries import FAR_FACTOR, MIN_LABELLED_SHARE, voronoi_boundaries
from coverage.io.privacy import (
    hash_ids,
    load_salt,
    looks_like_national_id,
    normalize_national_ids,
)
from coverage.io.project import LayerConfig, Project, load_project
from coverage.io.readers import RawTable, read_table
from coverage.io.schema import BOOL_FALSE, BOOL_TRUE, LAYERS, Column, Layer, category_lookup
from coverage.io.validation import Problems

ROW = "source_row"
"""Column holding each record's spreadsheet row (or feature number) in its source file."""

_GEOGRAPHIC = {"wgs84", "cgcs2000", "gcj02", "bd09"}


@dataclass
class StudyData:
    """All layers of a project, checked and in the study CRS.

    Attributes
    ----------
    project
        The parsed project file.
    crs
        The projected metric CRS every layer is in.
    layers
        GeoDataFrames by layer name (``migrants``, ``sites``, ``communities`` and, when declared,
        ``registered_points`` and ``candidates``), canonical columns plus :data:`ROW`.
    network_path
        The road-network file (read by the routing layer).
    conversions
        Layer name → the coordinate conversion applied.
    quarantined
        Layer name → number of points set aside for lying outside the study area.
    problems
        Warnings and notes found while loading (errors raise instead).
    approximate_boundaries
        Whether the communities came as a table without geometry and their boundaries are
        approximated from the migrants' residences (:mod:`coverage.io.boundaries`).
    """

    project: Project
    crs: pyproj.CRS
    layers: dict[str, gpd.GeoDataFrame]
    network_path: Path
    conversions: dict[str, str] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)
    approximate_boundaries: bool = False

    def __getattr__(self, name: str) -> gpd.GeoDataFrame:
        layers = self.__dict__.get("layers", {})
        if name in layers:
            return layers[name]
        if name in LAYERS:
            msg = f"the project declares no {name!r} layer"
        else:
            msg = f"{type(self).__name__!r} object has no attribute {name!r}"
        raise AttributeError(msg)


def _norm(header: str) -> str:
    """Normalise a header for matching: trim, case-fold, drop spaces, asterisks and BOMs."""
    return "".join(header.replace("\ufeff", "").split()).strip("*＊").casefold()


def headers_shown(headers: list[str], layer: Layer, config: LayerConfig) -> bool:
    """Return whether a message may list the file's headers.

    In a layer about people, a file whose header row holds none of the layer's header names
    may have no header row at all: its "headers" would be a person's values.
    """
    if not layer.personal:
        return True
    names = {_norm(n) for c in layer.columns for n in (c.name, *c.aliases)}
    mapped = set(config.columns.values())
    return any(_norm(h) in names or h in mapped for h in headers)


def resolve_columns(
    raw: RawTable, layer: Layer, config: LayerConfig, problems: Problems
) -> dict[str, str]:
    """Match the file's headers to the layer's columns.

    Returns
    -------
    dict
        Canonical name → header in the file, for the columns found.
    """
    headers = list(raw.frame.columns)
    listed = (f"its headers are: {', '.join(headers)}"
              if headers_shown(headers, layer, config) else
              f"none of its {len(headers):,} headers is a column of the {layer.name} layer (is "
              "its header row missing?)")
    by_norm: dict[str, list[str]] = {}
    for h in headers:
        by_norm.setdefault(_norm(h), []).append(h)
    found: dict[str, str] = {}
    for col in layer.columns:
        if col.name in config.columns:
            header = config.columns[col.name]
            if header in headers:
                found[col.name] = header
            else:
                problems.add(
                    raw.file,
                    raw.header_row,
                    col.name,
                    "missing-column",
                    f"project.toml maps {col.name} to the header {header!r}, which the "
                    f"file does not have; {listed}",
                )
            continue
        names = [col.name, *col.aliases]
        matches = [h for n in names for h in by_norm.get(_norm(n), [])]
        matches = list(dict.fromkeys(matches))
        if len(matches) == 1:
            found[col.name] = matches[0]
        elif len(matches) > 1:
            problems.add(
                raw.file,
                raw.header_row,
                col.name,
                "ambiguous-column",
                f"headers {', '.join(map(repr, matches))} all match {col.name}; map "
                f"the right one in [layers.{layer.name}.columns]",
            )
    return found


def _empty(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return values.isna().to_numpy()
    text = values.astype("string")
    return (text.isna() | (text.str.strip() == "")).to_numpy(dtype=bool)


def _as_text(values: pd.Series) -> pd.Series:
    """Text of each cell, ``<NA>`` where empty; integral floats from vector files lose ``.0``."""
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.dropna()
        if (whole == np.round(whole)).all() and (whole.abs() < 2.0**53).all():  # exact integers
            values = values.astype("Int64")
    return values.astype("string")


def _numeric(values: pd.Series) -> pd.Series:
    """Numbers of a column; empty, non-numeric and non-finite (``inf``, ``1e400``) cells → NaN."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        num = values.astype(float)
    else:
        num = _arrow_numbers(values)
        if num is None:  # some cell is not a plain number: parse cell by cell
            text = values.astype("string").str.strip().str.replace(",", "", regex=False)
            num = pd.to_numeric(text, errors="coerce").astype(float)
    return num.where(np.isfinite(num.to_numpy()))


def _arrow_numbers(values: pd.Series) -> pd.Series | None:
    """Parse a text column with pyarrow (fast); ``None`` when any non-empty cell is not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pc.utf8_trim_whitespace(pa.array(values.astype("str"), type=pa.large_string()))
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
        parsed = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None
    return pd.Series(parsed, index=values.index, dtype=float)


def _by_value(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``convert`` to the distinct values only, then spread the result over the rows.

    Categories, yes/no answers, dates and codes repeat a few hundred values over a million rows;
    converting each distinct value once is what makes loading a big file fast.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    converted = convert(pd.Series(uniques))
    return pd.Series(converted.array.take(codes, allow_fill=True), index=values.index)


def _dates(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.normalize()
    return _by_value(values.astype("string"), _parse_dates)


def _parse_dates(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    text = text.str.replace(r"[年月/.]", "-", regex=True).str.replace("日", "", regex=False)
    text = text.str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True)
    text = text.str.replace(r"[ T]00:00(:00)?$", "", regex=True)
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def coerce_column(
    values: pd.Series,
    col: Column,
    rows: np.ndarray,
    *,
    file: str,
    layer: Layer,
    problems: Problems,
    salt: Callable[[], bytes],
) -> pd.Series:
    """Check and convert one column; add a problem for every bad cell.

    Returns
    -------
    pandas.Series
        Converted values (missing where empty or bad).
    """
    empty = _empty(values)
    if col.required and col.kind not in ("lon", "lat"):  # _check_coordinates reports those
        problems.add_rows(
            file, rows[empty], col.name, "empty-value", f"{col.name} is required; fill it in"
        )
    show = not (layer.personal or col.personal)

    def bad(mask: np.ndarray, rule: str, hint: str, severity: str = "error") -> None:
        problems.add_rows(file, rows[mask], col.name, rule, hint, severity)  # type: ignore[arg-type]

    kind = col.kind
    if kind in ("id", "text"):
        out = _as_text(values)
        if kind == "id":
            out = out.str.strip()
            national = looks_like_national_id(out)
            if national.any() and not (layer.personal or col.personal):
                # in a layer about places, a 15-digit code is a place's code, not a person's
                digits = normalize_national_ids(out).str.len()
                national &= (digits == 18).fillna(False).to_numpy(dtype=bool)
            if national.any():
                out = out.copy()
                # one writing of each number (no separators, no apostrophe, upper-case X),
                # so that every writing of it gives the same hash
                plain = normalize_national_ids(out[national])
                out[national] = hash_ids(plain, salt()).to_numpy()
                problems.add(
                    file,
                    None,
                    col.name,
                    "national-id-hashed",
                    f"{int(national.sum()):,} values look like national ID numbers (18 or "
                    "15 digits); they were replaced by salted hashes and are not stored",
                    "warning",
                )
        return out.where(~empty)
    if kind in ("float", "int", "lon", "lat"):
        num = _numeric(values)
        nan = num.isna().to_numpy() & ~empty
        if kind in ("lon", "lat"):
            return num  # coordinates are checked together in _check_coordinates
        bad(
            nan,
            "not-a-number",
            f"{col.name} must be a number" + ("" if not show else "; remove units and text"),
        )
        if kind == "int":
            frac = (num.notna() & (num != np.round(num))).to_numpy()
            bad(frac, "not-an-integer", f"{col.name} must be a whole number")
            huge = (num.abs() >= 2.0**53).to_numpy()  # beyond exact integers (and Int64)
            bad(huge & ~frac, "not-an-integer", f"{col.name} is too large for a whole number")
            num = num.where(~huge)
        if col.minimum is not None:
            low = (num < col.minimum).to_numpy()
            bad(low, "below-minimum", f"{col.name} must be ≥ {col.minimum:g}")
        if col.maximum is not None:
            high = (num > col.maximum).to_numpy()
            bad(high, "above-maximum", f"{col.name} must be ≤ {col.maximum:,g}; a larger value "
                "is a typo or a unit mistake")
            num = num.where(~high)
        return num.astype("Int64") if kind == "int" and not (num.dropna() % 1).any() else num
    if kind == "bool":
        mapping = {v.casefold(): True for v in BOOL_TRUE} | {
            v.casefold(): False for v in BOOL_FALSE
        }
        if pd.api.types.is_bool_dtype(values.dtype):
            out = values.astype("boolean")
        else:
            out = _by_value(
                values.astype("string"),
                lambda u: u.str.strip().str.casefold().map(mapping).astype("boolean"),
            )
        unknown = out.isna().to_numpy() & ~empty
        bad(unknown, "not-a-boolean", f"{col.name} must be 是/否 (yes/no, 1/0)")
        return out
    if kind == "date":
        out = _dates(values)
        bad(
            out.isna().to_numpy() & ~empty,
            "not-a-date",
            f"{col.name} must be a date such as 2024-03-01",
        )
        return out
    if kind == "category":
        lookup = category_lookup(col)
        out = _by_value(
            values.astype("string"),
            lambda u: u.str.strip().str.casefold().map(lookup).astype("string"),
        )
        unknown = out.isna().to_numpy() & ~empty
        allowed = ", ".join(f"{k} ({v[0]})" if v else k for k, v in col.values.items())
        if show and unknown.any():
            for value, mask in _group_masks(values.astype("string").str.strip(), unknown):
                bad(mask, "unknown-category", f"{value!r} is not allowed; use one of {allowed}")
        else:
            bad(unknown, "unknown-category", f"use one of {allowed}")
        return out
    if kind == "code":
        text = _as_text(values).str.strip()
        ok = text.str.fullmatch(r"\d{6}").fillna(False).to_numpy(dtype=bool)
        malformed = ~ok & ~empty
        bad(
            malformed,
            "malformed-code",
            f"{col.name} must be a six-digit GB/T 2260 code; the rows are kept and counted "
            "as unknown origin",
            "warning",
        )
        return text.where(ok)
    msg = f"no converter for column kind {kind!r}"
    raise AssertionError(msg)


def _absent(
    col: Column, layer: Layer, index: pd.Index, rows: np.ndarray, salt: Callable[[], bytes]
) -> pd.Series:
    """Return an optional column the file lacks: all empty, with the dtype of a blank column.

    Every layer then has the same columns whatever the file holds, so an analysis asks whether
    a column has values (:mod:`coverage.measures.availability`), never whether it exists.
    """
    blank = pd.Series(pd.NA, index=index, dtype="string")
    return coerce_column(blank, col, rows, file="", layer=layer, problems=Problems(), salt=salt)


def _group_masks(values: pd.Series, mask: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Split ``mask`` by distinct value (for non-personal categories only; few values)."""
    sub = values[mask]
    return [(str(v), mask & (values == v).to_numpy(dtype=bool)) for v in sub.unique()[:10]]


def _check_coordinates(
    lon: pd.Series,
    lat: pd.Series,
    rows: np.ndarray,
    *,
    file: str,
    names: tuple[str, str],
    problems: Problems,
    geographic: bool,
) -> np.ndarray:
    """Check a pair of coordinate columns; return the mask of usable rows."""
    x, y = lon.to_numpy(dtype=float), lat.to_numpy(dtype=float)
    missing = np.isnan(x) | np.isnan(y)
    problems.add_rows(
        file,
        rows[missing],
        f"{names[0]}/{names[1]}",
        "missing-coordinate",
        "give both coordinates as decimal degrees (e.g. 113.75, 23.02)",
    )
    if not geographic:
        return ~missing
    valid = (np.abs(x) <= 180) & (np.abs(y) <= 90)
    in_china = crsmod.in_china(x, y)
    swapped_china = crsmod.in_china(y, x) & ~in_china
    swapped = ~missing & ((~valid & (np.abs(x) <= 90) & (np.abs(y) <= 180)) | swapped_china)
    problems.add_rows(
        file,
        rows[swapped],
        f"{names[0]}/{names[1]}",
        "swapped-coordinates",
        f"{names[1]} looks like a longitude and {names[0]} like a latitude; swap "
        "the two columns (or map them in project.toml)",
    )
    out = ~missing & ~valid & ~swapped
    problems.add_rows(
        file,
        rows[out],
        f"{names[0]}/{names[1]}",
        "coordinate-range",
        "longitude must be within ±180 and latitude within ±90 degrees; for "
        "projected x/y declare the layer's crs as an EPSG code",
    )
    return ~missing & valid & ~swapped


def _layer_system(
    raw: RawTable, config: LayerConfig, problems: Problems
) -> tuple[str | None, pyproj.CRS | None]:
    """Reconcile the declared system with the file's; return (system, file CRS to undo)."""
    declared, file_crs = config.crs, raw.file_crs
    if file_crs is None:
        if declared is None:
            problems.add(
                raw.file,
                None,
                "crs",
                "crs-missing",
                f'declare the coordinate system: crs = "wgs84", "gcj02", "bd09", '
                f'"cgcs2000" or "EPSG:nnnn" under [layers.{config.name}]',
            )
        return declared, None
    epsg = file_crs.to_epsg()
    if declared is None:
        return ("wgs84" if epsg == 4326 else "cgcs2000" if epsg == 4490 else None), file_crs
    if declared in _GEOGRAPHIC:
        if file_crs.is_geographic:
            return declared, None  # GCJ-02/BD-09 data is commonly labelled EPSG:4326
        problems.add(
            raw.file,
            None,
            "crs",
            "crs-conflict",
            f"the file is in {file_crs.name} (EPSG:{epsg}) but project.toml declares "
            f"{declared}; remove the declaration or reproject the file",
        )
        return None, None
    if pyproj.CRS.from_user_input(declared) != file_crs:
        problems.add(
            raw.file,
            None,
            "crs",
            "crs-conflict",
            f"the file is in {file_crs.name} (EPSG:{epsg}) but project.toml declares "
            f"{declared}; make them agree",
        )
        return None, None
    return declared, None


def _apply_lonlat(geoms: np.ndarray, system: str) -> np.ndarray:
    """Convert every vertex of ``geoms`` from ``system`` to WGS-84 (vectorized)."""

    def convert(xy: np.ndarray) -> np.ndarray:
        x, y = crsmod.to_wgs84(xy[:, 0], xy[:, 1], system)
        return np.column_stack([x, y])

    return shapely.transform(geoms, convert)


def read_layer(
    config: LayerConfig,
    *,
    problems: Problems,
    salt: Callable[[], bytes],
) -> tuple[pd.DataFrame | None, np.ndarray | None, str]:
    """Read and check one table layer, converted to WGS-84 (see :func:`_to_study`).

    Returns
    -------
    (DataFrame or None, array or None, str)
        The attributes (``None`` when the file could not be read at all); the geometries in
        WGS-84, or ``None`` for a point layer read from coordinate columns, whose ``lon`` and
        ``lat`` columns then hold WGS-84 degrees (NaN where unusable), or for a polygon layer
        read from a table without geometry (communities whose boundaries :func:`_load`
        approximates); a description of the coordinate conversion.
    """
    layer = LAYERS[config.name]
    raw = read_table(
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
    if raw is None:
        return None, None, ""
    if not len(raw.frame):
        problems.add(raw.file, None, None, "empty-layer",
                     f"the {layer.name} file holds a header but no rows; fill it in or remove "
                     f"the layer from project.toml" if not layer.required else
                     f"the {layer.name} file holds a header but no rows; the layer is required")
        return None, None, ""
    found = resolve_columns(raw, layer, config, problems)
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
    _check_duplicates(frame, layer, raw.file, rows, problems)
    if layer.geometry == "polygon" and not has_geometry:
        # a table of communities: boundaries are approximated from the migrants (_load)
        return frame, None, ""
    system, undo = _layer_system(raw, config, problems)
    usable = np.ones(len(frame), dtype=bool)
    if layer.geometry == "point" and "lon" in found and "lat" in found:
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
        if "work_lon" in frame and "work_lat" in frame:
            given = frame["work_lon"].notna() | frame["work_lat"].notna()
            sub = given.to_numpy()
            ok = _check_coordinates(
                frame["work_lon"][sub],
                frame["work_lat"][sub],
                rows[sub],
                file=raw.file,
                names=(found["work_lon"], found["work_lat"]),
                problems=problems,
                geographic=geographic,
            )
            del ok
        lon = np.where(usable, frame["lon"].to_numpy(dtype=float), np.nan)
        lat = np.where(usable, frame["lat"].to_numpy(dtype=float), np.nan)
        conversion = ""
        if system is not None:
            lon, lat = crsmod.to_wgs84(lon, lat, system)
            conversion = crsmod.describe_conversion(system)
            if "work_lon" in frame and "work_lat" in frame:
                wlon, wlat = crsmod.to_wgs84(
                    frame["work_lon"].to_numpy(float), frame["work_lat"].to_numpy(float), system
                )
                frame["work_lon"], frame["work_lat"] = wlon, wlat
        frame["lon"], frame["lat"] = lon, lat
        return frame, None, conversion
    if has_geometry:
        geoms = np.asarray(raw.geometry.values, dtype=object)
        if undo is not None:
            geoms = np.asarray(gpd.GeoSeries(geoms, crs=undo).to_crs(4326).values, dtype=object)
        usable = _check_geometries(geoms, layer, config, raw.file, rows, problems)
        if layer.geometry == "polygon" and config.repair:
            geoms = _repair(geoms, usable, raw.file, rows, problems)
    else:
        geoms = np.full(len(frame), None, dtype=object)
        usable[:] = False
    conversion = ""
    if system is not None and usable.any():
        ok_geoms = geoms[usable]
        if system not in ("wgs84", "cgcs2000"):
            geoms[usable] = _apply_lonlat(ok_geoms, system)
        conversion = crsmod.describe_conversion(system)
    elif undo is not None:
        conversion = f"{undo.name} → WGS-84 (PROJ)"
    frame = frame.drop(columns=[c for c in ("lon", "lat") if c in frame])
    return frame, geoms, conversion


def _to_study(frame: pd.DataFrame, geoms: np.ndarray | None, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Project a layer from WGS-84 to the study CRS.

    Point layers read from coordinate columns arrive as ``lon``/``lat`` arrays: they are
    projected as arrays and turned into points once (making shapely points is the costly part
    for a million rows). Workplace coordinates become ``work_x``/``work_y`` in the study CRS.
    """
    to_study = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    if geoms is None:
        x, y = to_study.transform(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
        frame = frame.drop(columns=["lon", "lat"])
        geometry = gpd.GeoSeries(shapely.points(x, y), index=frame.index, crs=crs)
    else:
        geometry = gpd.GeoSeries(geoms, index=frame.index, crs=4326).to_crs(crs)
    if "work_lon" in frame and "work_lat" in frame:
        wx, wy = to_study.transform(
            frame["work_lon"].to_numpy(float), frame["work_lat"].to_numpy(float)
        )
        at = frame.columns.get_loc("work_lon")
        frame = frame.drop(columns=["work_lon", "work_lat"])
        frame.insert(at, "work_x", wx)
        frame.insert(at + 1, "work_y", wy)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


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


def _check_geometries(
    geoms: np.ndarray,
    layer: Layer,
    config: LayerConfig,
    file: str,
    rows: np.ndarray,
    problems: Problems,
) -> np.ndarray:
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems.add_rows(
        file, rows[missing], "geometry", "missing-geometry", "every record needs a geometry"
    )
    types = shapely.get_type_id(geoms)
    wanted = (0, 4) if layer.geometry == "point" else (3, 6)
    wrong = ~missing & ~np.isin(types, wanted)
    what = "points" if layer.geometry == "point" else "polygons"
    problems.add_rows(
        file, rows[wrong], "geometry", "wrong-geometry", f"the {layer.name} layer holds {what}"
    )
    usable = ~missing & ~wrong
    if layer.geometry == "point":
        multi = usable & (types == 4)
        several = multi & (shapely.get_num_geometries(geoms) != 1)
        problems.add_rows(
            file,
            rows[several],
            "geometry",
            "wrong-geometry",
            "a multipoint must hold exactly one point",
        )
        usable &= ~several
        geoms[multi & ~several] = shapely.get_geometry(geoms[multi & ~several], 0)
        return usable
    valid = shapely.is_valid(geoms)
    invalid = usable & ~valid
    if invalid.any() and not config.repair:
        reasons = shapely.is_valid_reason(geoms[invalid])
        for r, reason in zip(rows[invalid][:20], reasons[:20], strict=False):
            problems.add(
                file,
                int(r),
                "geometry",
                "invalid-polygon",
                f"{reason}; fix it in a GIS or set repair = true for the layer",
            )
        if invalid.sum() > 20:
            problems.add_rows(
                file,
                rows[invalid][20:],
                "geometry",
                "invalid-polygon",
                "fix the polygons or set repair = true",
            )
    return usable if config.repair else usable & valid


def _repair(
    geoms: np.ndarray, usable: np.ndarray, file: str, rows: np.ndarray, problems: Problems
) -> np.ndarray:
    invalid = usable & ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    before = shapely.area(geoms[invalid])
    fixed = shapely.make_valid(geoms[invalid])
    # make_valid may return a collection with lines; keep only the polygonal part
    fixed = np.array(
        [
            shapely.union_all(
                shapely.get_parts(g)[np.isin(shapely.get_type_id(shapely.get_parts(g)), (3, 6))]
            )
            for g in fixed
        ],
        dtype=object,
    )
    after = shapely.area(fixed)
    geoms = geoms.copy()
    geoms[invalid] = fixed
    # A self-crossing ring's loops cancel in the shoelace area (a bow-tie has area 0), so give
    # the areas themselves and a percentage only where the original area is positive.
    for r, a, b in zip(rows[invalid], before, after, strict=False):
        change = (
            f"{(b - a) / a * 100:+.3f} %"
            if a > 1e-9 * b
            else "the original rings cross and enclose no net area"
        )
        problems.add(
            file,
            int(r),
            "geometry",
            "repaired-polygon",
            f"repaired with make_valid; area changed from {a:.4g} to {b:.4g} in the "
            f"file's units² ({change}); check the boundary",
            "warning",
        )
    return geoms


def _study_crs(project: Project, communities: gpd.GeoDataFrame) -> pyproj.CRS:
    if project.study_crs != "auto":
        return pyproj.CRS.from_user_input(project.study_crs)
    pts = communities.geometry.representative_point()
    return crsmod.study_crs(pts.x.to_numpy(), pts.y.to_numpy())


MAX_COMMUNITY_SPAN_M = 200_000.0
"""Widest plausible community (m): a village of the steppe is a few tens of kilometres across."""
MAX_COMMUNITY_GAP_M = 100_000.0
"""Farthest a community may lie from every other one (m) before it is taken for a mistake."""


def _communities_in_place(
    communities: gpd.GeoDataFrame, file: str, problems: Problems
) -> bool:
    """Report communities wider than a city or far from all the others; return whether none is.

    Such a polygon (coordinates swapped or in another system, a province's boundary) would make
    the study area a continent: every later step works on its extent.
    """
    geoms = communities.geometry.to_numpy()
    rows = communities[ROW].to_numpy()
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        span = np.fmax(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    has = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    large = has & ~(span <= MAX_COMMUNITY_SPAN_M)
    problems.add_rows(file, rows[large], "geometry", "community-out-of-place",
                      f"the community spans more than {MAX_COMMUNITY_SPAN_M / 1000:g} km, more "
                      "than a community can; check its coordinates and the layer's crs (or "
                      "whether the layer holds communities)")
    far = np.zeros(len(geoms), dtype=bool)
    kept = np.flatnonzero(has & ~large)
    if len(kept) >= 2:
        tree = shapely.STRtree(geoms[kept])
        a, b = tree.query(geoms[kept], predicate="intersects")
        touching = np.zeros(len(kept), dtype=bool)
        touching[a[a != b]] = True
        alone = np.flatnonzero(~touching)
        if len(alone):
            (src, _), dist = tree.query_nearest(geoms[kept[alone]], exclusive=True,
                                                return_distance=True, all_matches=False)
            nearest = np.full(len(alone), np.inf)
            np.minimum.at(nearest, src, dist)
            far[kept[alone[nearest > MAX_COMMUNITY_GAP_M]]] = True
    problems.add_rows(file, rows[far], "geometry", "community-out-of-place",
                      f"the community lies more than {MAX_COMMUNITY_GAP_M / 1000:g} km from "
                      "every other community; check its coordinates and the layer's crs")
    return not (large.any() or far.any())


def _study_crs_fits(
    project: Project, study: pyproj.CRS, communities: gpd.GeoDataFrame, problems: Problems
) -> bool:
    """Return whether a study CRS given in the project covers the communities.

    A UTM zone on the other side of the world distorts every distance; a ``bad-project-key``
    error says so.
    """
    area = study.area_of_use
    if project.study_crs == "auto" or area is None or communities.empty:
        return True
    lon0, lat0, lon1, lat1 = communities.to_crs(4326).total_bounds
    margin = 3.0  # degrees: a zone is still usable a little beyond its edge
    if (lon0 >= area.west - margin and lon1 <= area.east + margin
            and lat0 >= area.south - margin and lat1 <= area.north + margin):
        return True
    problems.add("project.toml", None, "study_crs", "bad-project-key",
                 f"study_crs {project.study_crs} covers {area.west:g}° to {area.east:g}° E, "
                 f"{area.south:g}° to {area.north:g}° N, not the communities at "
                 f"{(lon0 + lon1) / 2:.2f}° E, {(lat0 + lat1) / 2:.2f}° N; use \"auto\" or the "
                 "UTM or Gauss–Krüger zone of the city")
    return False


def _place_points(
    name: str,
    gdf: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    tolerance: float,
    file: str,
    problems: Problems,
) -> tuple[gpd.GeoDataFrame, int]:
    """Quarantine points outside the study area; check or assign ``community_id``."""
    area = shapely.buffer(shapely.union_all(communities.geometry.values), tolerance)
    shapely.prepare(area)
    geoms = gdf.geometry.values
    has = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    inside = np.zeros(len(gdf), dtype=bool)
    inside[has] = shapely.contains_xy(area, x[has], y[has])
    outside = has & ~inside
    rows = gdf[ROW].to_numpy()
    if has.sum() and outside.sum() * 2 > has.sum():  # mostly outside: a wrong crs, not a typo
        problems.add(
            file,
            None,
            "geometry",
            "layer-outside-study-area",
            f"{int(outside.sum()):,} of {int(has.sum()):,} points lie more than "
            f"{tolerance:g} m outside the communities; the declared crs is probably "
            "wrong (e.g. GCJ-02 or BD-09 data declared as WGS-84, or x/y in metres)",
        )
        return gdf.iloc[0:0], 0
    problems.add_rows(
        file,
        rows[outside],
        "geometry",
        "outside-study-area",
        f"the point lies more than {tolerance:g} m outside every community; it is "
        "set aside (quarantined) and counted",
        "warning",
    )
    gdf = gdf.loc[inside]
    if len(gdf):
        known = set(communities["community_id"].dropna())
        if "community_id" in gdf:
            given = gdf["community_id"].notna().to_numpy()
            unknown = given & ~gdf["community_id"].isin(known).to_numpy()
            problems.add_rows(
                file,
                gdf[ROW].to_numpy()[unknown],
                "community_id",
                "unknown-reference",
                "no community has this community_id; check the communities layer",
            )
        else:
            given = np.zeros(len(gdf), dtype=bool)
        if (~given).any():
            gdf = gdf.copy()
            gdf["community_id"] = (
                gdf["community_id"]
                if "community_id" in gdf
                else pd.Series(pd.NA, index=gdf.index, dtype="string")
            )
            todo = gdf.loc[~given, [gdf.geometry.name]]
            joined = gpd.sjoin_nearest(
                todo,
                communities[["community_id", "geometry"]],
                how="left",
                max_distance=tolerance or None,
            )
            joined = joined[~joined.index.duplicated(keep="first")]
            gdf.loc[~given, "community_id"] = joined[
                "community_id_right" if "community_id_right" in joined else "community_id"
            ].to_numpy()
    return gdf, int(outside.sum())


def _residences(loaded: dict[str, tuple[pd.DataFrame, np.ndarray | None]]
                ) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """WGS-84 longitudes and latitudes (NaN where unusable) and community ids of the migrants."""
    frame, geoms = loaded["migrants"]
    if geoms is None:
        lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    else:
        lon, lat = shapely.get_x(geoms), shapely.get_y(geoms)
    cid = (frame["community_id"] if "community_id" in frame
           else pd.Series(pd.NA, index=frame.index, dtype="string"))
    return lon, lat, cid


_BOUNDARY_FORMATS = "a GeoPackage, GeoJSON, Shapefile or GeoParquet file"


def _check_community_ids(
    loaded: dict[str, tuple[pd.DataFrame, np.ndarray | None]],
    sources: dict[str, str],
    problems: Problems,
) -> None:
    """Report when a communities table comes with too few migrants naming their community."""
    lon, lat, cid = _residences(loaded)
    usable = np.isfinite(lon) & np.isfinite(lat)
    given = int((cid.notna().to_numpy() & usable).sum())
    total = int(usable.sum())
    if total and given >= MIN_LABELLED_SHARE * total:
        return
    comm, mig = sources["communities"], sources["migrants"]
    what = (f"{mig} has no migrant with usable coordinates" if total == 0 else
            f"{mig} gives no community_id (社区编码) for any migrant" if given == 0 else
            f"only {given:,} of the {total:,} migrants in {mig} give a community_id (社区编码); "
            f"at least {MIN_LABELLED_SHARE:.0%} must")
    problems.add(
        comm,
        None,
        "geometry",
        "communities-without-geometry",
        f"{comm} holds no boundaries, so they are approximated from the residences of each "
        f"community's migrants, but {what}; add a 社区编码 column to {mig} (filled in for the "
        f"migrants), or give the communities with their boundaries as {_BOUNDARY_FORMATS}",
    )


def _approximate_communities(
    project: Project,
    loaded: dict[str, tuple[pd.DataFrame, np.ndarray | None]],
    sources: dict[str, str],
    problems: Problems,
) -> tuple[gpd.GeoDataFrame, pyproj.CRS] | None:
    """Communities from a table: boundaries from the migrants' residences (Voronoi cells).

    The study CRS is chosen from the residences. Communities no migrant names keep their row
    (and registered population) with an empty polygon. See :mod:`coverage.io.boundaries`.
    """
    frame, _ = loaded["communities"]
    comm, mig = sources["communities"], sources["migrants"]
    tolerance = project.parameters.study_area_tolerance_m
    lon, lat, cid = _residences(loaded)
    usable = np.isfinite(lon) & np.isfinite(lat)
    known = cid.isin(set(frame["community_id"].dropna())).to_numpy() & usable
    if not known.any():
        problems.add(
            comm,
            None,
            "community_id",
            "communities-without-geometry",
            f"{comm} holds no boundaries and no migrant in {mig} names one of its "
            f"{len(frame):,} communities (community_id), so no boundary can be approximated; "
            "use the same community codes in both files, or give the communities with their "
            f"boundaries as {_BOUNDARY_FORMATS}",
        )
        return None
    if project.study_crs != "auto":
        study = pyproj.CRS.from_user_input(project.study_crs)
    else:
        study = crsmod.study_crs(lon[usable], lat[usable])
    x, y = pyproj.Transformer.from_crs(4326, study, always_xy=True).transform(lon, lat)
    built = voronoi_boundaries(np.asarray(x)[known], np.asarray(y)[known],
                               cid.to_numpy()[known], frame["community_id"], margin=tolerance)
    communities = gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(built.geometry, index=frame.index, crs=study), crs=study
    )
    unlabelled = int((usable & cid.isna().to_numpy()).sum())
    problems.add(
        comm,
        None,
        "geometry",
        "approximate-boundaries",
        f"{comm} holds no boundaries: each community's boundary is approximated by the "
        f"Voronoi cells (泰森多边形) of its migrants' residences in {mig} (by community_id), "
        f"dissolved per community and clipped to the convex hull of the residences buffered "
        f"by {tolerance:g} m ({built.residences:,} distinct residences)"
        + (f"; migrants without a community_id ({unlabelled:,}) are placed in the cell they "
           "lie in" if unlabelled else "")
        + "; areas, maps and places assigned by location are approximate: give the "
        f"boundaries as {_BOUNDARY_FORMATS} for exact ones",
        "warning",
    )
    empty = shapely.is_empty(built.geometry)
    problems.add_rows(
        comm,
        frame[ROW].to_numpy()[empty],
        "community_id",
        "community-without-migrants",
        f"{int(empty.sum()):,} of the {len(frame):,} communities have no migrant in {mig}, so "
        "no boundary can be approximated for them; they keep their registered population "
        "(staffing and totals) but have no area on maps; check their community_id",
        "warning",
    )
    problems.add_rows(
        mig,
        loaded["migrants"][0][ROW].to_numpy()[known][built.far],
        "community_id",
        "far-from-community",
        f"the residence lies far from the other residences of its community (over "
        f"{FAR_FACTOR:g} times their 90th-percentile distance from their median centre, plus "
        f"{tolerance:g} m); it does not shape the community's approximate boundary; check "
        "its coordinates and community_id",
        "warning",
    )
    return communities, study


def _load(
    project: Project, problems: Problems, progress: Callable[[str], None] | None
) -> StudyData | None:
    salt_cache: list[bytes] = []

    def salt() -> bytes:
        if not salt_cache:
            try:
                salt_cache.append(load_salt(project.salt_file))
            except (OSError, ValueError) as exc:
                # reported as an error, so nothing hashed with this stand-in is ever kept
                problems.add(project.salt_file.name, None, None, "unreadable-file",
                             " ".join(str(exc).split()))
                salt_cache.append(secrets.token_bytes(16))
        return salt_cache[0]

    loaded: dict[str, tuple[pd.DataFrame, np.ndarray | None]] = {}
    conversions: dict[str, str] = {}
    sources: dict[str, str] = {}
    order = ["communities", *(n for n in LAYERS if n != "communities")]
    for name in order:
        if name not in project.layers:
            continue
        if progress:
            progress(f"reading {name}")
        config = project.layers[name]
        frame, geoms, conversion = read_layer(config, problems=problems, salt=salt)
        if frame is not None:
            loaded[name] = (frame, geoms)
            conversions[name], sources[name] = conversion, config.source
    net = project.layers["network"]
    try:
        net_missing = not net.path.exists()
    except OSError as exc:  # a name too long for the file system
        problems.add(net.source, None, None, "unreadable-network",
                     f"cannot open it ({exc.strerror or type(exc).__name__}); check the path in "
                     "project.toml")
        net_missing = False
    if net_missing:
        problems.add(
            net.source,
            None,
            None,
            "missing-file",
            "no road-network file there; check the path in project.toml",
        )
    approximate = "communities" in loaded and loaded["communities"][1] is None
    if approximate and "migrants" in loaded:
        _check_community_ids(loaded, sources, problems)
    if "communities" not in loaded or problems.errors:
        return None
    frame, geoms = loaded["communities"]
    if approximate:
        if progress:
            progress("approximating community boundaries")
        built = _approximate_communities(project, loaded, sources, problems)
        if built is None:
            return None
        communities, study = built
    else:
        communities = gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=4326
        )
        communities = communities[communities.geometry.notna()]
        if communities.empty:
            problems.add(
                sources["communities"],
                None,
                "geometry",
                "missing-geometry",
                "the layer holds no boundaries; the study area is the union of the communities",
            )
            return None
        study = _study_crs(project, communities)
        communities = communities.to_crs(study)
        if not _communities_in_place(communities, sources["communities"], problems):
            return None
    if not _study_crs_fits(project, study, communities, problems):
        return None
    layers = {"communities": communities}
    quarantined: dict[str, int] = {}
    for name, (frame, geoms) in loaded.items():
        if name == "communities":
            continue
        if progress:
            progress(f"placing {name} in the study area")
        gdf = _to_study(frame, geoms, study)
        layers[name], quarantined[name] = _place_points(
            name,
            gdf,
            communities,
            tolerance=project.parameters.study_area_tolerance_m,
            file=sources[name],
            problems=problems,
        )
    return StudyData(
        project=project,
        crs=study,
        layers=layers,
        network_path=net.path,
        conversions=conversions,
        quarantined=quarantined,
        problems=problems,
        approximate_boundaries=approximate,
    )


def load_checked(
    project: Project, problems: Problems, progress: Callable[[str], None] | None = None
) -> StudyData | None:
    """Load a project's layers, adding every problem to ``problems`` instead of raising.

    Returns
    -------
    StudyData or None
        The layers, or None when a required layer could not be read at all. With errors in
        ``problems`` the layers may be incomplete: use them only for further checks.
    """
    return _load(project, problems, progress)


def validate_project(
    project: Project | str | Path, *, progress: Callable[[str], None] | None = None
) -> Problems:
    """Check every layer of a project and return all problems found (errors and warnings).

    Raises
    ------
    coverage.io.project.ProjectError
        When the project file itself is invalid.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    problems = Problems()
    load_checked(project, problems, progress)
    return problems


def load_study(
    project: Project | str | Path, *, progress: Callable[[str], None] | None = None
) -> StudyData:
    """Load every layer of a project, checked and projected to the study CRS.

    Parameters
    ----------
    project
        A :class:`~coverage.io.project.Project` or the path of its ``project.toml`` (or folder).
    progress
        Called with a short description at the start of each step.

    Raises
    ------
    coverage.io.validation.ValidationError
        When any input breaks a rule; its message is the first problem, ``.problems`` all.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    problems = Problems()
    study = _load(project, problems, progress)
    problems.raise_if_errors()
    assert study is not None  # no errors means every required layer loaded
    return study
