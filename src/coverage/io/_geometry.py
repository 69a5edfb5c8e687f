"""A layer's coordinates and geometries checked, and its coordinate system reconciled.

Coordinate columns are checked for empty, non-numeric, swapped and out-of-range values;
geometries for emptiness, type and validity (invalid polygons repaired when the project asks
for it). The coordinate system declared in ``project.toml`` is reconciled with the file's own
before everything is converted to WGS-84 (:mod:`coverage.crs`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage import crs as crsmod
from coverage.io.project import LayerConfig
from coverage.io.readers import RawTable
from coverage.io.schema import Layer
from coverage.io.validation import Problems

_GEOGRAPHIC = {"wgs84", "cgcs2000", "gcj02", "bd09"}


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
