"""Synthetic point layers on a real road network, for checks and benchmarks.

Points beside random roads, communities as Voronoi cells, and a layer "written in one
coordinate system and loaded as if declared in another" (what a wrong ``crs`` in
``project.toml`` does to it). Used by the coordinate-system check's tests and benchmark.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from coverage.crs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from coverage.network import RoadNetwork

__all__ = ["as_declared", "near_roads", "own_ids", "voronoi_communities"]

_FROM = {"wgs84": lambda lo, la: (lo, la), "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
_TO = {"wgs84": lambda lo, la: (lo, la), "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


def as_declared(x: np.ndarray, y: np.ndarray, crs: pyproj.CRS, true: str,
                declared: str) -> gpd.GeoSeries:
    """Points truly at (x, y), written in ``true`` and loaded as if in ``declared``."""
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    raw = _FROM[true](np.asarray(lon), np.asarray(lat))
    lo, la = _TO[declared](*raw)
    px, py = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lo, la)
    return gpd.GeoSeries(shapely.points(px, py), crs=crs)


def near_roads(net: RoadNetwork, n: int, rng: np.random.Generator,
               lo: float = 5.0, hi: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points ``lo``–``hi`` m to either side of random points of the routing roads."""
    links = net.links_frame()
    geoms = links.geometry.to_numpy()[links["component"].to_numpy() == 0]
    length = shapely.length(geoms)
    pick = rng.choice(len(geoms), size=n, p=length / length.sum())
    at = rng.uniform(0.0, 1.0, n) * length[pick]
    ahead = shapely.line_interpolate_point(geoms[pick], np.minimum(at + 1.0, length[pick]))
    back = shapely.line_interpolate_point(geoms[pick], np.maximum(at - 1.0, 0.0))
    mid = shapely.line_interpolate_point(geoms[pick], at)
    dx = shapely.get_x(ahead) - shapely.get_x(back)
    dy = shapely.get_y(ahead) - shapely.get_y(back)
    norm = np.maximum(np.hypot(dx, dy), 1e-9)
    off = rng.uniform(lo, hi, n) * rng.choice([-1.0, 1.0], n)
    return shapely.get_x(mid) - dy / norm * off, shapely.get_y(mid) + dx / norm * off


def voronoi_communities(x: np.ndarray, y: np.ndarray, k: int, rng: np.random.Generator,
                        crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """``k`` communities: Voronoi cells of ``k`` of the points, cut to their hull + 300 m."""
    seeds = rng.choice(len(x), size=k, replace=False)
    hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(np.column_stack([x, y]))), 300)
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(np.column_stack([x[seeds], y[seeds]])), extend_to=hull))
    cells = shapely.intersection(cells, hull)
    return gpd.GeoDataFrame({"community_id": [f"C{i:03d}" for i in range(len(cells))]},
                            geometry=cells, crs=crs)


def own_ids(x: np.ndarray, y: np.ndarray, communities: gpd.GeoDataFrame) -> np.ndarray:
    """Return the id of the community each point lies in (None outside all)."""
    pts = shapely.points(x, y)
    left, right = shapely.STRtree(communities.geometry.to_numpy()).query(pts, predicate="within")
    ids = np.full(len(pts), None, dtype=object)
    ids[left] = communities["community_id"].to_numpy()[right]
    return ids
