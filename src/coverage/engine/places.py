"""Where a recommended service point is, for a person to find it.

The community it falls in, the nearest named road of the project's road network, its WGS-84 and
GCJ-02 coordinates and a map link (:mod:`coverage.placement.places`). The road names are read
from the network file once per analysis model.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.engine.scenario import ScenarioModel
from coverage.network.readers import read_road_names
from coverage.placement.places import ROAD_NAME_MAX_M, place_names

__all__ = ["named_roads", "site_places"]


def named_roads(model: ScenarioModel) -> gpd.GeoDataFrame | None:
    """Return the named roads of the network, read once per model (``None``: no names)."""
    def compute() -> gpd.GeoDataFrame | None:
        try:
            return read_road_names(model.study.network_path)
        except (OSError, ValueError, ImportError):
            return None  # no names: places are still named by community and coordinates

    return model.derived("named_roads", compute)


def site_places(model: ScenarioModel, points: gpd.GeoSeries,
                labels: list[str] | None = None) -> pd.DataFrame:
    """Return where each point is, for a person to find it (:mod:`coverage.placement.places`).

    The community it falls in, the nearest named road of the project's road network (read for
    the points' surroundings only; empty when the file keeps no names or cannot be read),
    WGS-84 and GCJ-02 coordinates and an Amap link labelled ``labels`` (default the community
    and road).

    Returns
    -------
    pandas.DataFrame
        ``community_name``, ``road_name``, ``lon_wgs84``, ``lat_wgs84``, ``lon_gcj02``,
        ``lat_gcj02``, ``map_link``, indexed like ``points``.
    """
    roads = None
    if len(points):
        wgs = points.to_crs(4326)
        pad_lat = 2 * ROAD_NAME_MAX_M / 111_000.0
        pad_lon = pad_lat / max(np.cos(np.radians(float(np.abs(wgs.y).max()))), 0.1)
        bbox = (float(wgs.x.min()) - pad_lon, float(wgs.y.min()) - pad_lat,
                float(wgs.x.max()) + pad_lon, float(wgs.y.max()) + pad_lat)
        roads = named_roads(model)
        if roads is not None:
            roads = roads.iloc[np.sort(roads.sindex.query(shapely.box(*bbox)))]
    return place_names(points, communities=model.communities, roads=roads, labels=labels)
