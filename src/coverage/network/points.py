"""Point inputs of a road network and points snapped once for reuse.

The methods of :class:`~coverage.network.graph.RoadNetwork` take :data:`Points`: a
GeoSeries/GeoDataFrame in any CRS, ``x, y`` in the network CRS, or :class:`SnappedPoints`
(points attached to a network already). :func:`point_xy` reads the coordinates of any of them
in the network CRS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.network.snap import Snapped

__all__ = ["Points", "SnappedPoints", "point_xy"]


@dataclass(frozen=True)
class SnappedPoints:
    """Points already attached to a network (from :meth:`RoadNetwork.snap_points`).

    Snapping a million residences takes a second or two; a layer snapped once can be passed to
    :meth:`RoadNetwork.nearest`, :meth:`RoadNetwork.cost_table` and
    :meth:`RoadNetwork.service_areas` any number of times (for every scenario of sites) instead
    of the raw points.

    Attributes
    ----------
    index
        Index of the original points.
    snapped
        Link, position, distance and attachment point of each point.
    reason
        Why each point is unreachable (None when it is reachable).
    nearer_component, nearer_m
        Component and distance of a nearer road outside the routing component (-2 / NaN when
        there is none).
    """

    index: pd.Index
    snapped: Snapped
    reason: np.ndarray
    nearer_component: np.ndarray
    nearer_m: np.ndarray
    network: object = field(repr=False, compare=False, default=None)
    #: Arrays derived from the snap by the cost functions (where each point leaves or enters
    #: the graph), kept so that a layer reused for several queries computes them once.
    derived: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)


#: Point inputs: a GeoSeries/GeoDataFrame (any CRS), x, y in the network CRS, or points snapped
#: already.
Points = (
    gpd.GeoSeries
    | gpd.GeoDataFrame
    | np.ndarray
    | tuple[Sequence[float], Sequence[float]]
    | SnappedPoints
)


def point_xy(points: Points, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Return the coordinates in the network CRS and the index of any point input.

    Parameters
    ----------
    points
        A GeoSeries/GeoDataFrame in any CRS (reprojected to ``crs``; other shapes count by their
        centroid, missing and empty ones are NaN), or ``x, y`` in ``crs`` as an ``(n, 2)`` array
        or an ``(x, y)`` pair of arrays.
    crs
        The network CRS.

    Returns
    -------
    x, y, index : tuple
        Coordinates as float64 arrays, and the index of ``points`` (a ``RangeIndex`` for arrays).

    Raises
    ------
    ValueError
        For an array that is not of shape ``(n, 2)``.
    """
    if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geo.crs is not None and not pyproj.CRS.from_user_input(geo.crs).equals(crs):
            geo = geo.to_crs(crs)
        x, y = _geometry_xy(np.asarray(geo.values))
        return x, y, points.index
    if isinstance(points, tuple) and len(points) == 2:
        x = np.asarray(points[0], dtype=np.float64)
        y = np.asarray(points[1], dtype=np.float64)
    else:
        arr = np.asarray(points, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2:
            msg = (
                "points must be a GeoSeries/GeoDataFrame, an (n, 2) array or an (x, y) pair "
                f"of arrays in the network CRS; got an array of shape {arr.shape}"
            )
            raise ValueError(msg)
        x, y = arr[:, 0], arr[:, 1]
    return x, y, pd.RangeIndex(len(x))


def _geometry_xy(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of points (centroids of other shapes; NaN for missing or empty ones)."""
    try:
        # NaN for missing and non-point geometries, which then get a second look; GEOS
        # refuses empty points, so a layer holding any takes the careful way.
        x = shapely.get_x(values).astype(np.float64, copy=False)
        y = shapely.get_y(values).astype(np.float64, copy=False)
    except shapely.errors.GEOSException:
        x = np.full(len(values), np.nan)
        y = np.full(len(values), np.nan)
        look = np.arange(len(values))
    else:
        look = np.flatnonzero(np.isnan(x) | np.isnan(y))
    if len(look):
        other = values[look]
        shape = ~np.isin(shapely.get_type_id(other), (-1, 0))
        other[shape] = shapely.centroid(other[shape])
        keep = ~(shapely.is_missing(other) | shapely.is_empty(other))
        x[look[keep]] = shapely.get_x(other[keep])
        y[look[keep]] = shapely.get_y(other[keep])
    return x, y
