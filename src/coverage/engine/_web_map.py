"""Positions on a web map: the result layers in Web Mercator, and a click back to WGS-84.

Web map tiles are drawn in Web Mercator; Amap's in GCJ-02, China's encrypted datum, so what is
drawn over them is shifted to GCJ-02 and a click on them shifted back (:mod:`coverage.crs`).
:mod:`coverage.engine.session` hands these to the web app's map.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyproj
import shapely

from coverage.crs import gcj02_to_wgs84, wgs84_to_gcj02

__all__ = ["from_web_mercator", "to_web_mercator", "transformer"]


@functools.lru_cache(maxsize=16)
def transformer(src: Any, dst: Any) -> pyproj.Transformer:
    """Return a PROJ transformer (x, y order), built once per pair of coordinate systems."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def to_web_mercator(geoms: np.ndarray, crs: Any, *, gcj02: bool = False) -> np.ndarray:
    """Return geometries in Web Mercator, the system of a web map's tiles.

    Parameters
    ----------
    geoms
        Geometries (an array of shapely objects; missing ones stay missing).
    crs
        Their coordinate system (the study's, for the result layers).
    gcj02
        Shift them to GCJ-02 on the way (:func:`coverage.crs.wgs84_to_gcj02`): the datum of
        tiles drawn in China's encrypted system, e.g. Amap's.

    Returns
    -------
    numpy.ndarray
        The geometries in EPSG:3857.
    """
    to_lonlat = transformer(crs, 4326)
    to_web = transformer(4326, 3857)

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
        if gcj02:
            lon, lat = wgs84_to_gcj02(lon, lat)
        x, y = to_web.transform(lon, lat)
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), move)


def from_web_mercator(x: float, y: float, *, gcj02: bool = False) -> tuple[float, float]:
    """Return the WGS-84 longitude and latitude of a point of a web map.

    Parameters
    ----------
    x, y
        The point in Web Mercator (e.g. a click on the map).
    gcj02
        The map's tiles are drawn in GCJ-02 (Amap): shift the point back
        (:func:`coverage.crs.gcj02_to_wgs84`).
    """
    lon, lat = transformer(3857, 4326).transform(x, y)
    if gcj02:
        glon, glat = gcj02_to_wgs84(np.array([lon]), np.array([lat]))
        lon, lat = float(glon[0]), float(glat[0])
    return float(lon), float(lat)
