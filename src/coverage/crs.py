"""Coordinate systems used for Chinese map data: WGS-84, CGCS2000, GCJ-02 and BD-09.

Facility lists and addresses geocoded in China usually come in one of three systems:

* **WGS-84 / CGCS2000** -- GPS, OpenStreetMap, official surveying. CGCS2000 (EPSG:4490) is a
  realisation of ITRF97 at epoch 2000.0 and agrees with WGS-84 to well under a metre.
* **GCJ-02** ("火星坐标", "Mars coordinates") -- the legally required obfuscated system used by
  AMap/Gaode (高德), Tencent and most Chinese web maps. It shifts points by a few hundred metres.
* **BD-09** -- Baidu's (百度) system: GCJ-02 plus a further shift of several hundred metres.

This module reads the coordinate system declared for an input layer (:func:`parse_system`),
converts a layer's coordinates to WGS-84 (:func:`to_wgs84`, :func:`describe_conversion`) and
chooses the study's metric CRS (:func:`study_crs`). The GCJ-02 and BD-09 conversions, which
PROJ does not know, are the vectorized public formulas of :mod:`coverage.gcj02`, exported here
too.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pyproj
from numpy.typing import ArrayLike

from coverage.gcj02 import (
    CHINA_LAT_MAX,
    CHINA_LAT_MIN,
    CHINA_LON_MAX,
    CHINA_LON_MIN,
    INVERSE_MAX_ITERATIONS,
    INVERSE_TOLERANCE_M,
    FloatArray,
    _finish,
    _prepare,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

__all__ = [
    "CHINA_LAT_MAX",
    "CHINA_LAT_MIN",
    "CHINA_LON_MAX",
    "CHINA_LON_MIN",
    "INVERSE_MAX_ITERATIONS",
    "INVERSE_TOLERANCE_M",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "describe_conversion",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "parse_system",
    "study_crs",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]


# --------------------------------------------------------------------------------------------
# Declared coordinate systems of input layers
# --------------------------------------------------------------------------------------------

_ALIASES: dict[str, str] = {
    "wgs84": "wgs84",
    "epsg:4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "amap": "gcj02",
    "高德": "gcj02",
    "火星坐标": "gcj02",
    "bd09": "bd09",
    "baidu": "bd09",
    "百度": "bd09",
}

_ACCEPTED = (
    "wgs84 (WGS-84, EPSG:4326), cgcs2000 (EPSG:4490), gcj02 (GCJ-02, gcj, amap, 高德, 火星坐标), "
    "bd09 (BD-09, baidu, 百度) or an EPSG code such as EPSG:32650"
)

_EPSG_RE = re.compile(r"epsg:(\d+)")


@functools.lru_cache(maxsize=256)
def _known_epsg(code: int) -> bool:
    """Return whether PROJ's database knows ``EPSG:code``."""
    try:
        pyproj.CRS.from_epsg(code)
    except pyproj.exceptions.CRSError:
        return False
    return True


def parse_system(text: str) -> str:
    """Normalise the declared coordinate system of an input layer.

    Matching ignores case, surrounding white space, hyphens, underscores and inner spaces, so
    ``"WGS-84"``, ``"wgs 84"`` and ``"WGS84"`` are the same.

    Parameters
    ----------
    text : str
        The declared system: ``wgs84`` (aliases ``WGS-84``, ``EPSG:4326``), ``cgcs2000``
        (``EPSG:4490``), ``gcj02`` (``GCJ-02``, ``gcj``, ``amap``, ``高德``, ``火星坐标``),
        ``bd09`` (``BD-09``, ``baidu``, ``百度``) or any ``EPSG:nnnn`` code known to PROJ.

    Returns
    -------
    str
        One of ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"``, or ``"EPSG:nnnn"``.

    Raises
    ------
    ValueError
        If the text is none of the above; the message names the value and the accepted ones.

    Examples
    --------
    >>> parse_system("GCJ-02"), parse_system("百度"), parse_system("epsg:32650")
    ('gcj02', 'bd09', 'EPSG:32650')
    """
    if not isinstance(text, str):
        msg = f"coordinate system must be a string, got {text!r}; accepted: {_ACCEPTED}"
        raise ValueError(msg)
    key = re.sub(r"[\s_\-]+", "", text.strip().casefold())
    if key in _ALIASES:
        return _ALIASES[key]
    match = _EPSG_RE.fullmatch(key)
    if match:
        code = int(match.group(1))
        if _known_epsg(code):
            return f"EPSG:{code}"
        msg = f"unknown EPSG code {text!r}: PROJ does not know EPSG:{code}; accepted: {_ACCEPTED}"
        raise ValueError(msg)
    msg = f"unknown coordinate system {text!r}; accepted: {_ACCEPTED}"
    raise ValueError(msg)


@functools.lru_cache(maxsize=64)
def _transformer_to_wgs84(code: str) -> pyproj.Transformer:
    """Return a cached PROJ transformer from ``code`` to WGS-84 lon/lat."""
    return pyproj.Transformer.from_crs(code, "EPSG:4326", always_xy=True)


def to_wgs84(x: ArrayLike, y: ArrayLike, system: str) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates from a declared system to WGS-84 longitude/latitude.

    Parameters
    ----------
    x, y : array_like
        Longitude/latitude in degrees for the geographic systems, or easting/northing (in the
        CRS's axis units, x first) for projected EPSG codes.
    system : str
        Declared system, anything :func:`parse_system` accepts.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS-84 longitude and latitude in degrees, float64, broadcast shape of the input.

    Notes
    -----
    * ``wgs84`` is copied unchanged.
    * ``cgcs2000`` (and ``EPSG:4490``) is treated as WGS-84 without any shift: the two agree to
      centimetres at epoch 2000.0 and to well under a metre today (plate motion since 2000),
      far below the accuracy of geocoded addresses.
    * ``gcj02`` and ``bd09`` use :func:`gcj02_to_wgs84` and :func:`bd09_to_wgs84` (iterative
      inverses to 1 cm of the public formula).
    * Other EPSG codes go through PROJ (``pyproj.Transformer`` with ``always_xy=True``); the
      accuracy is whatever transformation PROJ picks (for old Chinese datums such as Beijing
      1954 or Xi'an 1980 without local parameters this can be a ballpark of tens of metres).

    Raises
    ------
    ValueError
        If ``system`` is not accepted by :func:`parse_system`.
    """
    name = parse_system(system)
    if name in ("wgs84", "cgcs2000"):
        lon_f, lat_f, shape = _prepare(x, y)
        return _finish(lon_f, lat_f, shape)
    if name == "gcj02":
        return gcj02_to_wgs84(x, y)
    if name == "bd09":
        return bd09_to_wgs84(x, y)
    x_f, y_f, shape = _prepare(x, y)
    lon, lat = _transformer_to_wgs84(name).transform(x_f, y_f)
    return _finish(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64), shape)


def describe_conversion(system: str) -> str:
    """Describe in one short English sentence what :func:`to_wgs84` applies for ``system``.

    Parameters
    ----------
    system : str
        Declared system, anything :func:`parse_system` accepts.

    Returns
    -------
    str
        For example ``"GCJ-02 → WGS-84 (iterative inverse, ≤ 1 cm)"``.

    Raises
    ------
    ValueError
        If ``system`` is not accepted by :func:`parse_system`.
    """
    name = parse_system(system)
    tol_cm = f"{INVERSE_TOLERANCE_M * 100:g} cm"
    if name == "wgs84":
        return "WGS-84 (no conversion)"
    if name == "cgcs2000":
        return "CGCS2000 taken as WGS-84 (no shift; they agree to well under 1 m)"
    if name == "gcj02":
        return f"GCJ-02 → WGS-84 (iterative inverse, ≤ {tol_cm})"
    if name == "bd09":
        return f"BD-09 → WGS-84 (iterative inverse of BD-09 and GCJ-02, ≤ {tol_cm})"
    crs_name = pyproj.CRS.from_user_input(name).name
    return f"{name} ({crs_name}) → WGS-84 via PROJ (pyproj, x/y = lon/lat order)"


# --------------------------------------------------------------------------------------------
# Study projection
# --------------------------------------------------------------------------------------------


def study_crs(lon: ArrayLike, lat: ArrayLike) -> pyproj.CRS:
    """Choose a projected metric CRS for a study area: the WGS-84 UTM zone of its median point.

    The zone is ``floor((median_lon + 180) / 6) + 1`` (standard 6° zones, without the
    Norway/Svalbard exceptions); the CRS is ``EPSG:326zz`` when the median latitude is >= 0
    and ``EPSG:327zz`` otherwise. Distances within a city or prefecture are then accurate to
    well under 0.1 %. NaN points are ignored. A study straddling the antimeridian is not
    handled (medians of longitudes near ±180 are meaningless); users can override the CRS with
    an explicit EPSG code.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitudes and latitudes in degrees of the study's points (demand, facilities).

    Returns
    -------
    pyproj.CRS
        The WGS-84 / UTM CRS.

    Raises
    ------
    ValueError
        If there is no finite point or the median is outside the valid lon/lat range.

    Examples
    --------
    >>> study_crs([116.3, 116.5], [39.9, 40.0]).to_epsg()
    32650
    """
    lon_a, lat_a, _ = _prepare(lon, lat)
    ok = np.isfinite(lon_a) & np.isfinite(lat_a)
    if not ok.any():
        msg = "study_crs needs at least one point with finite lon/lat; got none"
        raise ValueError(msg)
    med_lon = float(np.median(lon_a[ok]))
    med_lat = float(np.median(lat_a[ok]))
    if not (-180.0 <= med_lon <= 180.0 and -90.0 <= med_lat <= 90.0):
        msg = (
            f"median point ({med_lon}, {med_lat}) is not a WGS-84 lon/lat; "
            "convert the points to WGS-84 degrees (lon first) before choosing the study CRS"
        )
        raise ValueError(msg)
    zone = min(int(np.floor((med_lon + 180.0) / 6.0)) + 1, 60)
    code = (32600 if med_lat >= 0.0 else 32700) + zone
    return pyproj.CRS.from_epsg(code)
