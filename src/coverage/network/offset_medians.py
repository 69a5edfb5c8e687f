"""The earlier coordinate-system check: median snap distances of a layer declared WGS-84.

:func:`check_offset` measures the median distance from the points to the nearest road as given,
converted from GCJ-02 and converted from BD-09, and names the system whose reading brings the
points clearly nearer the roads. It says nothing on dense networks, where any point is near some
road; :func:`coverage.network.offsets.check_declaration` is the check to use.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from coverage.crs import bd09_to_wgs84, gcj02_to_wgs84

if TYPE_CHECKING:
    from coverage.network.graph import RoadNetwork
    from coverage.network.points import Points

__all__ = ["MAX_MEDIAN_M", "MIN_FACTOR", "CoordinateSystemWarning", "OffsetCheck", "check_offset"]

#: :func:`check_offset`: a reading must bring the median snap distance down by at least this
#: factor ...
MIN_FACTOR = 3.0
#: ... and below this many metres to be named as the likely coordinate system.
MAX_MEDIAN_M = 60.0

_LABELS = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09"}


class CoordinateSystemWarning(UserWarning):
    """A point layer's coordinates look like another coordinate system than declared."""


@dataclass(frozen=True)
class OffsetCheck:
    """Result of :func:`check_offset`.

    Attributes
    ----------
    name
        Layer name used in the message.
    n_points
        Points measured (a random sample of at most ``sample``).
    median_m
        Reading → median distance from the points to the nearest road, metres
        (``wgs84`` is the coordinates as given).
    likely_system
        ``"gcj02"`` or ``"bd09"`` when that reading fits the roads much better, else None.
    message
        A sentence for the user when ``likely_system`` is set, else None.
    """

    name: str
    n_points: int
    median_m: dict[str, float] = field(default_factory=dict)
    likely_system: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        """True when no other coordinate system fits better."""
        return self.likely_system is None


def _lonlat(points: Points) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geo.crs is not None and not pyproj.CRS.from_user_input(geo.crs).equals(
            pyproj.CRS.from_epsg(4326), ignore_axis_order=True
        ):
            geo = geo.to_crs(4326)
        values = np.asarray(geo.values)
        values = values[~(shapely.is_missing(values) | shapely.is_empty(values))]
        values = np.where(shapely.get_type_id(values) == 0, values, shapely.centroid(values))
        return shapely.get_x(values), shapely.get_y(values)
    if isinstance(points, tuple) and len(points) == 2:
        return np.asarray(points[0], dtype=np.float64), np.asarray(points[1], dtype=np.float64)
    arr = np.asarray(points, dtype=np.float64)
    return arr[:, 0], arr[:, 1]


def check_offset(
    net: RoadNetwork,
    points: Points,
    *,
    name: str = "points",
    warn: bool = True,
    sample: int = 20_000,
    seed: int = 0,
) -> OffsetCheck:
    """Check whether points declared WGS-84 are really GCJ-02 or BD-09.

    The median distance from the points to the nearest road is measured three ways: the
    coordinates as given, converted from GCJ-02, and converted from BD-09. When a conversion
    brings the median down at least :data:`MIN_FACTOR` times and below :data:`MAX_MEDIAN_M`
    metres, that system is named as likely, e.g. "the points of migrants sit 480 m from the roads
    on median; read as GCJ-02 they sit 12 m away: declare crs = "gcj02"".

    Parameters
    ----------
    net
        The road network (WGS-84 / OSM based).
    points
        The layer as declared WGS-84: a GeoSeries/GeoDataFrame (any CRS; it is converted to
        WGS-84 lon/lat first), or lon/lat in degrees as an ``(n, 2)`` array or ``(lon, lat)``
        pair (unlike the other methods, arrays here are degrees, not network coordinates).
    name
        Layer name for the message (e.g. ``"migrants.csv"``).
    warn
        Also issue a :class:`CoordinateSystemWarning` when a likely system is found.
    sample
        Measure at most this many points (chosen at random with ``seed``).
    seed
        Random seed of the sample.

    Returns
    -------
    OffsetCheck
    """
    lon, lat = _lonlat(points)
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    if len(lon) > sample:
        pick = np.random.default_rng(seed).choice(len(lon), size=sample, replace=False)
        lon, lat = lon[pick], lat[pick]
    if len(lon) == 0:
        return OffsetCheck(name=name, n_points=0)
    to_net = pyproj.Transformer.from_crs(4326, net.crs, always_xy=True)
    readings = {
        "wgs84": (lon, lat),
        "gcj02": gcj02_to_wgs84(lon, lat),
        "bd09": bd09_to_wgs84(lon, lat),
    }
    medians: dict[str, float] = {}
    for system, (lo, la) in readings.items():
        x, y = to_net.transform(lo, la)
        snapped = net.snap_index.query(np.asarray(x), np.asarray(y))
        medians[system] = float(np.nanmedian(snapped.distance))
    given = medians["wgs84"]
    best = min(("gcj02", "bd09"), key=lambda s: medians[s])
    likely = None
    message = None
    if medians[best] * MIN_FACTOR <= given and medians[best] < MAX_MEDIAN_M:
        likely = best
        message = (
            f"the points of {name} sit {given:.0f} m from the roads on median; read as "
            f"{_LABELS[best]} they sit {medians[best]:.0f} m away: declare crs = \"{best}\""
        )
        if warn:
            warnings.warn(message, CoordinateSystemWarning, stacklevel=3)
    return OffsetCheck(name=name, n_points=len(lon), median_m=medians, likely_system=likely,
                       message=message)
