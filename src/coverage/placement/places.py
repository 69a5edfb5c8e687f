"""Where a service point is, in words a person can find: community, road, coordinates, map link.

A recommended site is a point in the study CRS; a planner needs to find it. For each point:

- ``community_name``: the community the point falls in (the nearest one when it lies just
  outside them all, as a service point may within the study-area tolerance);
- ``road_name``: the nearest named road within :data:`ROAD_NAME_MAX_M` (straight line), empty
  when none is that near or the network keeps no names; at a crossing, the road with the most
  length nearby (the main road);
- ``lon_wgs84``, ``lat_wgs84``: WGS-84 (GPS, OpenStreetMap, Tianditu) degrees;
- ``lon_gcj02``, ``lat_gcj02``: GCJ-02 degrees, as Amap and Tencent maps show them
  (:func:`coverage.crs.wgs84_to_gcj02`);
- ``map_link``: an Amap marker link (:func:`amap_link`) that opens the point in a browser or
  the Amap app.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.crs import wgs84_to_gcj02

__all__ = ["AMAP_MARKER", "PLACE_COLUMNS", "ROAD_NAME_MAX_M", "amap_link", "place_names"]

#: The columns :func:`place_names` returns, in order.
PLACE_COLUMNS = ("community_name", "road_name", "lon_wgs84", "lat_wgs84", "lon_gcj02",
                 "lat_gcj02", "map_link")
#: Farthest a named road may be from a point to name it (metres, straight line): about a
#: block's depth, so that the road named is one a person would walk along to get there.
ROAD_NAME_MAX_M = 150.0
#: Amap's marker page (its URI API): ``position`` is ``lon,lat`` in GCJ-02.
AMAP_MARKER = "https://uri.amap.com/marker"


def amap_link(lon_gcj02: float, lat_gcj02: float, label: str = "") -> str:
    """Return an Amap link that opens a marker at a GCJ-02 position, labelled ``label``.

    ``https://uri.amap.com/marker?position=LON,LAT&name=LABEL&coordinate=gaode&callnative=0``
    with the label percent-encoded (UTF-8) and the coordinates to 6 decimals (about 0.1 m).
    """
    text = quote(str(label or ""), safe="")
    return (f"{AMAP_MARKER}?position={lon_gcj02:.6f},{lat_gcj02:.6f}&name={text}"
            "&coordinate=gaode&callnative=0")


def _metric(points: gpd.GeoSeries, crs: object) -> gpd.GeoSeries:
    """Return the points in ``crs`` when it is projected, else in their UTM zone."""
    out = points.to_crs(crs)
    return out if out.crs.is_projected else points.to_crs(points.estimate_utm_crs())


def _nearest_road(xy: np.ndarray, roads: gpd.GeoDataFrame, max_road_m: float) -> np.ndarray:
    """Return the nearest named road of each point within ``max_road_m`` (else ``""``).

    Roads within a metre of the nearest one (a point at a crossing) are ties: the name with
    the most length among ``roads`` wins (the main road), then the first name in code order.
    """
    geoms = roads.geometry.to_numpy()
    names = roads["name"].astype(str).to_numpy()
    out = np.full(len(xy), "", dtype=object)
    pt, line = shapely.STRtree(geoms).query(xy, predicate="dwithin", distance=max_road_m)
    if not len(pt):
        return out
    d = shapely.distance(xy[pt], geoms[line])
    nearest = np.full(len(xy), np.inf)
    np.minimum.at(nearest, pt, d)
    tie = d <= nearest[pt] + 1.0
    pt, line = pt[tie], line[tie]
    length = pd.Series(shapely.length(geoms)).groupby(names).sum()
    pairs = pd.DataFrame({"pt": pt, "name": names[line]}).drop_duplicates()
    pairs["length"] = length.reindex(pairs["name"]).to_numpy()
    best = pairs.sort_values(["pt", "length", "name"], ascending=[True, False, True])
    best = best.drop_duplicates("pt")
    out[best["pt"].to_numpy()] = best["name"].to_numpy()
    return out


def place_names(
    points: gpd.GeoSeries,
    *,
    communities: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    labels: Sequence[str] | None = None,
    max_road_m: float = ROAD_NAME_MAX_M,
) -> pd.DataFrame:
    """Name each point by its community and nearest named road; give its coordinates and link.

    Parameters
    ----------
    points
        Points with a CRS.
    communities
        The communities layer: polygons with ``name`` (else ``community_id``).
    roads
        Named roads (``name`` and lines, any CRS), e.g.
        :func:`coverage.network.readers.read_road_names`; None for none.
    labels
        The name each point's map marker shows (where empty or not given: its community and
        road).
    max_road_m
        Farthest named road (metres, straight line).

    Returns
    -------
    pandas.DataFrame
        The :data:`PLACE_COLUMNS`, indexed like ``points``.
    """
    if points.crs is None or communities.crs is None:
        msg = "points and communities need a CRS to be named; set it (e.g. the study CRS)"
        raise ValueError(msg)
    n = len(points)
    geoms = _metric(points, communities.crs)
    xy = geoms.to_numpy()
    polys = communities.to_crs(geoms.crs).geometry.to_numpy()
    col = "name" if "name" in communities else "community_id"
    names = communities[col].astype(str).to_numpy()
    tree = shapely.STRtree(polys)
    hit_pt, hit_poly = tree.query(xy, predicate="intersects")
    which = np.full(n, len(polys), dtype=np.int64)
    np.minimum.at(which, hit_pt, hit_poly)  # on a shared border: the first community
    outside = np.flatnonzero(which == len(polys))
    if len(outside) and len(polys):
        pt, poly = tree.query_nearest(xy[outside], all_matches=False)
        which[outside[pt]] = poly
    which[which == len(polys)] = -1
    community = np.where(which >= 0, names[np.maximum(which, 0)], "")
    road = np.full(n, "", dtype=object)
    if roads is not None and len(roads) and n:
        road[:] = _nearest_road(xy, roads.to_crs(geoms.crs), max_road_m)
    wgs = points.to_crs(4326)
    lon, lat = wgs.x.to_numpy(), wgs.y.to_numpy()
    glon, glat = wgs84_to_gcj02(lon, lat)
    glon, glat = np.atleast_1d(glon), np.atleast_1d(glat)
    own = [""] * n if labels is None else [str(t or "") for t in labels]
    labels = [t or " ".join(p for p in (c, r) if p)
              for t, c, r in zip(own, community, road, strict=True)]
    links = [amap_link(a, b, t) for a, b, t in zip(glon, glat, labels, strict=True)]
    return pd.DataFrame({
        "community_name": community.astype(object),
        "road_name": road,
        "lon_wgs84": lon,
        "lat_wgs84": lat,
        "lon_gcj02": glon,
        "lat_gcj02": glat,
        "map_link": links,
    }, index=points.index)
