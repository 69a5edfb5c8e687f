"""The local metric frame the demo city is built in, and its conversion to WGS-84.

The city is laid out in metres around its centre on an axis-aligned grid, then rotated by
:data:`ROTATION_DEG` (so that streets do not all run north-south) and placed in UTM zone 50N
(EPSG:32650) at :data:`ORIGIN_LON`, :data:`ORIGIN_LAT`, near Dongguan, Guangdong.
"""

from __future__ import annotations

import functools

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

ORIGIN_LON = 113.75
"""Longitude (WGS-84) of the city centre."""
ORIGIN_LAT = 23.02
"""Latitude (WGS-84) of the city centre."""
METRIC_CRS = "EPSG:32650"
"""The projected CRS the layout is built in (UTM zone 50N)."""
ROTATION_DEG = 12.0
"""Counter-clockwise rotation (degrees) of the street grid against grid north."""

FloatArray = NDArray[np.float64]


@functools.cache
def _transformers() -> tuple[pyproj.Transformer, pyproj.Transformer]:
    forward = pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    inverse = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    return forward, inverse


@functools.cache
def _origin() -> tuple[float, float]:
    forward, _ = _transformers()
    east, north = forward.transform(ORIGIN_LON, ORIGIN_LAT)
    return float(east), float(north)


def to_metric(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert local layout coordinates to UTM 50N easting and northing.

    Parameters
    ----------
    x, y
        Local coordinates (m) relative to the city centre, before rotation.

    Returns
    -------
    easting, northing : numpy.ndarray
        Coordinates in :data:`METRIC_CRS`.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    angle = np.deg2rad(ROTATION_DEG)
    cos, sin = np.cos(angle), np.sin(angle)
    east0, north0 = _origin()
    return east0 + cos * x - sin * y, north0 + sin * x + cos * y


def to_lonlat(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert local layout coordinates to WGS-84 longitude and latitude.

    Parameters
    ----------
    x, y
        Local coordinates (m) relative to the city centre, before rotation.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS-84 degrees.
    """
    east, north = to_metric(x, y)
    _, inverse = _transformers()
    lon, lat = inverse.transform(east, north)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def geometries_to_lonlat(geometries: ArrayLike) -> NDArray[np.object_]:
    """Convert shapely geometries from local coordinates to WGS-84.

    Parameters
    ----------
    geometries
        Shapely geometries in local layout coordinates.

    Returns
    -------
    numpy.ndarray
        The same geometries in WGS-84 longitude/latitude.
    """

    def convert(coords: FloatArray) -> FloatArray:
        lon, lat = to_lonlat(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geometries, dtype=object), convert)
