"""The study area: its metric CRS, its communities checked, every point placed in it.

The study CRS is the project's or the UTM zone of the communities (:mod:`coverage.crs`); the
communities come with their boundaries, which are checked for a size and a place a community can
have, or as a table whose boundaries are approximated from the migrants' residences
(:mod:`coverage.io.boundaries`). Point layers are projected from WGS-84 to the study CRS, points
outside the communities (plus a tolerance) are quarantined, and the others are given the
community they lie in unless they name one.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage import crs as crsmod
from coverage.io.boundaries import FAR_FACTOR, MIN_LABELLED_SHARE, voronoi_boundaries
from coverage.io.layers import ROW, row_files
from coverage.io.project import Project
from coverage.io.validation import Problems


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


def _communities(
    project: Project,
    loaded: dict[str, tuple[pd.DataFrame, np.ndarray | None]],
    sources: dict[str, str],
    problems: Problems,
    progress: Callable[[str], None] | None,
) -> tuple[gpd.GeoDataFrame, pyproj.CRS] | None:
    """Return the communities in the study CRS, and that CRS; ``None`` when they are unusable.

    Communities given as a table get boundaries approximated from the migrants' residences.
    """
    frame, geoms = loaded["communities"]
    if geoms is None:
        if progress:
            progress("approximating community boundaries")
        return _approximate_communities(project, loaded, sources, problems)
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
    return communities, study


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
    rows, files = gdf[ROW].to_numpy(), row_files(gdf, file)
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
    problems.add_rows_of(
        files[outside],
        rows[outside],
        "geometry",
        "outside-study-area",
        f"the point lies more than {tolerance:g} m outside every community; it is "
        "set aside (quarantined) and counted",
        "warning",
    )
    gdf = gdf.loc[inside]
    if len(gdf):
        gdf = _assign_communities(gdf, communities, tolerance=tolerance, file=file,
                                  problems=problems)
    return gdf, int(outside.sum())


def _assign_communities(
    gdf: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    tolerance: float,
    file: str,
    problems: Problems,
) -> gpd.GeoDataFrame:
    """Check the ``community_id`` points give; give the others the community they lie in."""
    known = set(communities["community_id"].dropna())
    if "community_id" in gdf:
        given = gdf["community_id"].notna().to_numpy()
        unknown = given & ~gdf["community_id"].isin(known).to_numpy()
        problems.add_rows_of(
            row_files(gdf, file)[unknown],
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
    return gdf


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
    problems.add_rows_of(
        row_files(loaded["migrants"][0], mig)[known][built.far],
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
