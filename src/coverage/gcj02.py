"""GCJ-02 and BD-09: the public offset formulas of Chinese web maps, vectorized, and inverses.

* **GCJ-02** ("火星坐标", "Mars coordinates") -- the legally required obfuscated system used by
  AMap/Gaode (高德), Tencent and most Chinese web maps. It shifts points by a few hundred metres.
* **BD-09** -- Baidu's (百度) system: GCJ-02 plus a further shift of several hundred metres.

Declared coordinate systems of input layers, conversions through PROJ and the study's metric
CRS are in :mod:`coverage.crs`, which also exports the conversions of this module.

Why this is written by hand
---------------------------
PROJ (and therefore pyproj, GeoPandas) has no definition for GCJ-02 or BD-09: they are not
geodetic datums but a published obfuscation formula. The PyPI packages that implement the public
formula (``coordTransform_py``, ``eviltransform``, ``coord-convert`` and similar) are scalar
(one Python call per point, far too slow for a million grid cells), mostly unmaintained, and
mostly use the one-step approximate inverse, which is off by up to about 5 m. An iterative
"exact" inverse needs a hard iteration cap: next to the "outside China" rectangle the forward
function is discontinuous, a GCJ-02 point there may have no WGS-84 pre-image at all, and an
iteration that waits for convergence loops forever. This module implements the same public
formula vectorized with NumPy, inverts it iteratively to 1 cm with a hard iteration cap, and
works on arrays of any shape.

Accuracy statements in this module are relative to the public formula (the de-facto standard
used by every open implementation), not to any official specification, which is not published.

The "outside China" rule
------------------------
The public formula leaves points outside China unchanged. As in the other open implementations
the test is a bounding rectangle (see :func:`in_china`), so it also covers parts of neighbouring
countries (Mongolia, Korea, Japan, Vietnam, ...), whose points are shifted as if in China. BD-09
applies its own offset everywhere, as Baidu does; only the GCJ-02 part follows the rectangle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CHINA_LAT_MAX",
    "CHINA_LAT_MIN",
    "CHINA_LON_MAX",
    "CHINA_LON_MIN",
    "INVERSE_MAX_ITERATIONS",
    "INVERSE_TOLERANCE_M",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = NDArray[np.float64]
_Forward = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

#: Semi-major axis (m) of the Krasovsky 1940 ellipsoid used by the public GCJ-02 formula.
GCJ_A = 6378245.0
#: First eccentricity squared of the Krasovsky 1940 ellipsoid.
GCJ_EE = 0.00669342162296594323
#: ``pi * 3000 / 180``, the angular frequency of the BD-09 perturbation terms.
BD_X_PI = np.pi * 3000.0 / 180.0

#: Western edge (degrees longitude) of the "in China" rectangle of the public rule.
CHINA_LON_MIN = 72.004
#: Eastern edge (degrees longitude) of the "in China" rectangle.
CHINA_LON_MAX = 137.8347
#: Southern edge (degrees latitude) of the "in China" rectangle.
CHINA_LAT_MIN = 0.8293
#: Northern edge (degrees latitude) of the "in China" rectangle.
CHINA_LAT_MAX = 55.8271

#: Accuracy (m) of the iterative inverses: returned points are this close to the exact inverse.
INVERSE_TOLERANCE_M = 0.01
#: Hard cap on the number of fixed-point iterations of the inverses; they never loop forever.
INVERSE_MAX_ITERATIONS = 30
#: Residual (m) at which the iteration stops: half the tolerance, see :func:`_invert`.
_STOP_RESIDUAL_M = 0.5 * INVERSE_TOLERANCE_M

#: Metres per degree of latitude on a sphere of mean Earth radius (used for error checks only).
_M_PER_DEG = 6371008.8 * np.pi / 180.0


# --------------------------------------------------------------------------------------------
# Array plumbing
# --------------------------------------------------------------------------------------------


def _prepare(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray, tuple[int, ...]]:
    """Broadcast ``lon`` and ``lat`` to one shape and return flat float64 copies and the shape."""
    lon_a, lat_a = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    shape = lon_a.shape
    return lon_a.ravel().copy(), lat_a.ravel().copy(), shape


def _finish(
    lon: FloatArray, lat: FloatArray, shape: tuple[int, ...]
) -> tuple[FloatArray, FloatArray]:
    """Reshape flat results back to the input shape (0-d arrays for scalar input)."""
    return lon.reshape(shape), lat.reshape(shape)


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Test whether points fall inside the "China" rectangle of the public GCJ-02 rule.

    The rectangle is ``72.004 <= lon <= 137.8347`` and ``0.8293 <= lat <= 55.8271``. It is the
    bounding rectangle used by the open implementations of the public formula, so it also
    contains parts of neighbouring countries; it is *not* a border test. NaN coordinates count
    as inside (the conversion then propagates the NaN).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (broadcast against each other).

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where the point is inside the rectangle, with the broadcast input shape.
    """
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    outside = (
        (lon_a < CHINA_LON_MIN)
        | (lon_a > CHINA_LON_MAX)
        | (lat_a < CHINA_LAT_MIN)
        | (lat_a > CHINA_LAT_MAX)
    )
    return ~outside


# --------------------------------------------------------------------------------------------
# Forward formulas (flat float64 arrays in, flat arrays out)
# --------------------------------------------------------------------------------------------


def _transform_lat(x: FloatArray, y: FloatArray) -> FloatArray:
    """Latitude polynomial of the public formula; ``x = lon - 105``, ``y = lat - 35``."""
    pi = np.pi
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: FloatArray, y: FloatArray) -> FloatArray:
    """Longitude polynomial of the public formula; ``x = lon - 105``, ``y = lat - 35``."""
    pi = np.pi
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    return ret


def _wgs_to_gcj_flat(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 forward on flat arrays, identity outside the China rectangle."""
    with np.errstate(invalid="ignore", over="ignore"):
        dlat = _transform_lat(lon - 105.0, lat - 35.0)
        dlon = _transform_lon(lon - 105.0, lat - 35.0)
        radlat = lat / 180.0 * np.pi
        magic = np.sin(radlat)
        magic = 1.0 - GCJ_EE * magic * magic
        sqrtmagic = np.sqrt(magic)
        dlat = (dlat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrtmagic) * np.pi)
        dlon = (dlon * 180.0) / (GCJ_A / sqrtmagic * np.cos(radlat) * np.pi)
        inside = in_china(lon, lat)
        return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _gcj_to_bd_flat(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """BD-09 forward from GCJ-02 on flat arrays (applied everywhere)."""
    with np.errstate(invalid="ignore", over="ignore"):
        z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * BD_X_PI)
        theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * BD_X_PI)
        return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_closed_flat(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Apply the standard closed-form approximate inverse of :func:`_gcj_to_bd_flat`."""
    with np.errstate(invalid="ignore", over="ignore"):
        x = lon - 0.0065
        y = lat - 0.006
        z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * BD_X_PI)
        theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD_X_PI)
        return z * np.cos(theta), z * np.sin(theta)


def _wgs_to_bd_flat(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """BD-09 forward from WGS-84 on flat arrays."""
    return _gcj_to_bd_flat(*_wgs_to_gcj_flat(lon, lat))


# --------------------------------------------------------------------------------------------
# Iterative inverse
# --------------------------------------------------------------------------------------------


def _error_m(dlon: FloatArray, dlat: FloatArray, lat: FloatArray) -> FloatArray:
    """Length in metres of a small (dlon, dlat) step at latitude ``lat`` (local approximation)."""
    return np.hypot(dlon * np.cos(np.radians(lat)), dlat) * _M_PER_DEG


def _invert(
    forward: _Forward,
    target_lon: FloatArray,
    target_lat: FloatArray,
    start_lon: FloatArray,
    start_lat: FloatArray,
) -> tuple[FloatArray, FloatArray, int]:
    """Invert ``forward`` by vectorized fixed-point iteration ``w <- w - (f(w) - target)``.

    All points are iterated together; points whose forward image is within
    ``_STOP_RESIDUAL_M`` (half of :data:`INVERSE_TOLERANCE_M`) of the target are frozen, the
    rest are updated, until none is left or :data:`INVERSE_MAX_ITERATIONS` updates have been
    made. Each point returns the iterate with the smallest residual seen (the converged one
    when it converged). Non-finite targets are returned as NaN without iterating.

    Inside the China rectangle the offsets of GCJ-02 and BD-09 change slowly: the Jacobian of
    ``f - identity`` has norm ``L`` below 0.01 for GCJ-02 and below 0.04 for BD-09 (measured
    numerically over China). The iteration therefore contracts by a factor ``L`` per step and
    the returned point is within ``residual / (1 - L)`` of the exact inverse; stopping at half
    the tolerance keeps that distance, and not only the residual, within
    :data:`INVERSE_TOLERANCE_M`.

    Returns
    -------
    lon, lat : numpy.ndarray
        Flat arrays of the inverse.
    iterations : int
        Number of update steps made (0 when the start point already met the tolerance).
    """
    n = target_lon.size
    best_lon = np.full(n, np.nan)
    best_lat = np.full(n, np.nan)
    best_err = np.full(n, np.inf)
    idx = np.flatnonzero(np.isfinite(target_lon) & np.isfinite(target_lat))
    w_lon = start_lon[idx].copy()
    w_lat = start_lat[idx].copy()
    t_lon = target_lon[idx]
    t_lat = target_lat[idx]
    iterations = 0
    while idx.size:
        f_lon, f_lat = forward(w_lon, w_lat)
        r_lon = f_lon - t_lon
        r_lat = f_lat - t_lat
        err = _error_m(r_lon, r_lat, t_lat)
        # The start point is always recorded; later iterates only when strictly better.
        better = np.ones(idx.size, dtype=bool) if iterations == 0 else err < best_err[idx]
        best_lon[idx[better]] = w_lon[better]
        best_lat[idx[better]] = w_lat[better]
        best_err[idx[better]] = err[better]
        todo = err > _STOP_RESIDUAL_M  # a NaN residual stops too (comparison is False)
        if not todo.any() or iterations >= INVERSE_MAX_ITERATIONS:
            break
        idx = idx[todo]
        w_lon = w_lon[todo] - r_lon[todo]
        w_lat = w_lat[todo] - r_lat[todo]
        t_lon = t_lon[todo]
        t_lat = t_lat[todo]
        iterations += 1
    return best_lon, best_lat, iterations


def _approximate_start(
    forward: _Forward, lon: FloatArray, lat: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Approximate inverse ``p - (f(p) - p)`` used as the iteration start."""
    f_lon, f_lat = forward(lon, lat)
    return lon - (f_lon - lon), lat - (f_lat - lat)


# --------------------------------------------------------------------------------------------
# Public conversions
# --------------------------------------------------------------------------------------------


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 longitude/latitude to GCJ-02 with the public formula.

    Points outside the China rectangle (``lon < 72.004``, ``lon > 137.8347``,
    ``lat < 0.8293`` or ``lat > 55.8271``, see :func:`in_china`) are returned unchanged; the
    rectangle includes parts of neighbouring countries, which are shifted, as in every
    implementation of the public rule.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude in degrees, same shape as the input.

    Notes
    -----
    Inputs are broadcast against each other; outputs are new float64 arrays of the broadcast
    shape. A scalar input gives 0-d arrays (use ``float(...)`` for Python floats). NaN in gives
    NaN out.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(lon), 7), round(float(lat), 7)
    (116.4102445, 39.9164043)
    """
    lon_f, lat_f, shape = _prepare(lon, lat)
    return _finish(*_wgs_to_gcj_flat(lon_f, lat_f), shape)


@overload
def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, return_iterations: Literal[False] = ...
) -> tuple[FloatArray, FloatArray]: ...
@overload
def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, return_iterations: Literal[True]
) -> tuple[FloatArray, FloatArray, int]: ...
def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, return_iterations: bool = False
) -> tuple[FloatArray, FloatArray] | tuple[FloatArray, FloatArray, int]:
    """Convert GCJ-02 longitude/latitude to WGS-84 by iterating the public formula.

    Starts from the one-step approximate inverse ``p - (f(p) - p)`` and iterates
    ``w <- w - (f(w) - p)`` for all points at once until every point is within
    :data:`INVERSE_TOLERANCE_M` (1 cm) of the exact inverse (forward residual at most 0.5 cm),
    or :data:`INVERSE_MAX_ITERATIONS` (30) iterations have been made. Inside China it converges
    in two or three iterations.

    Points outside the China rectangle (see :func:`in_china`) are returned unchanged. Close to
    the rectangle's edges the forward function is discontinuous (shifted inside, unchanged
    outside), so a GCJ-02 point there may have no exact WGS-84 pre-image, or two. The iteration
    then stops at the cap and each such point gets the best iterate found (the one whose GCJ-02
    image is closest to the input), which can be off by up to the local offset (~hundreds of m).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.
    return_iterations : bool, default False
        Also return the number of iterations used (the maximum over all points).

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS-84 longitude and latitude in degrees, same shape as the input.
    iterations : int
        Only when ``return_iterations`` is true.

    Notes
    -----
    Inputs are broadcast against each other; outputs are new float64 arrays of the broadcast
    shape. A scalar input gives 0-d arrays (use ``float(...)`` for Python floats). NaN in gives
    NaN out.
    """
    lon_f, lat_f, shape = _prepare(lon, lat)
    start = _approximate_start(_wgs_to_gcj_flat, lon_f, lat_f)
    out_lon, out_lat, n_iter = _invert(_wgs_to_gcj_flat, lon_f, lat_f, *start)
    res_lon, res_lat = _finish(out_lon, out_lat, shape)
    if return_iterations:
        return res_lon, res_lat, n_iter
    return res_lon, res_lat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu).

    ``z = sqrt(x² + y²) + 0.00002 sin(y·x_pi)``, ``θ = atan2(y, x) + 0.000003 cos(x·x_pi)``,
    ``bd = (z cos θ + 0.0065, z sin θ + 0.006)`` with ``x_pi = π·3000/180``. Applied everywhere,
    including outside China, as Baidu does.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 longitude and latitude in degrees, same shape as the input.

    Notes
    -----
    Inputs are broadcast against each other; outputs are new float64 arrays of the broadcast
    shape. A scalar input gives 0-d arrays (use ``float(...)`` for Python floats). NaN in gives
    NaN out.
    """
    lon_f, lat_f, shape = _prepare(lon, lat)
    return _finish(*_gcj_to_bd_flat(lon_f, lat_f), shape)


@overload
def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, return_iterations: Literal[False] = ...
) -> tuple[FloatArray, FloatArray]: ...
@overload
def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, return_iterations: Literal[True]
) -> tuple[FloatArray, FloatArray, int]: ...
def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, return_iterations: bool = False
) -> tuple[FloatArray, FloatArray] | tuple[FloatArray, FloatArray, int]:
    """Convert BD-09 longitude/latitude to GCJ-02 with an iterative inverse.

    Starts from the standard closed-form approximate inverse and refines it by fixed-point
    iteration on :func:`gcj02_to_bd09` until the result is within :data:`INVERSE_TOLERANCE_M`
    (1 cm) of the exact inverse (forward residual at most 0.5 cm), with at most
    :data:`INVERSE_MAX_ITERATIONS` iterations (it typically needs one or two). The BD-09 offset
    applies everywhere, so there is no "outside China" exception.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.
    return_iterations : bool, default False
        Also return the number of iterations used (the maximum over all points).

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude in degrees, same shape as the input.
    iterations : int
        Only when ``return_iterations`` is true.

    Notes
    -----
    Inputs are broadcast against each other; outputs are new float64 arrays of the broadcast
    shape. A scalar input gives 0-d arrays (use ``float(...)`` for Python floats). NaN in gives
    NaN out.
    """
    lon_f, lat_f, shape = _prepare(lon, lat)
    start = _bd_to_gcj_closed_flat(lon_f, lat_f)
    out_lon, out_lat, n_iter = _invert(_gcj_to_bd_flat, lon_f, lat_f, *start)
    res_lon, res_lat = _finish(out_lon, out_lat, shape)
    if return_iterations:
        return res_lon, res_lat, n_iter
    return res_lon, res_lat


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 longitude/latitude to BD-09 (GCJ-02 first, then the BD-09 offset).

    The GCJ-02 step follows the "outside China" rule (points outside the rectangle of
    :func:`in_china` are not shifted by it); the BD-09 offset is applied everywhere, as Baidu
    does, so even points outside China move by roughly 0.5--1 km.

    Parameters
    ----------
    lon, lat : array_like
        WGS-84 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 longitude and latitude in degrees, same shape as the input.

    Notes
    -----
    Inputs are broadcast against each other; outputs are new float64 arrays of the broadcast
    shape. A scalar input gives 0-d arrays (use ``float(...)`` for Python floats). NaN in gives
    NaN out.
    """
    lon_f, lat_f, shape = _prepare(lon, lat)
    return _finish(*_wgs_to_bd_flat(lon_f, lat_f), shape)


@overload
def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, return_iterations: Literal[False] = ...
) -> tuple[FloatArray, FloatArray]: ...
@overload
def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, return_iterations: Literal[True]
) -> tuple[FloatArray, FloatArray, int]: ...
def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, return_iterations: bool = False
) -> tuple[FloatArray, FloatArray] | tuple[FloatArray, FloatArray, int]:
    """Convert BD-09 longitude/latitude to WGS-84 by iterating the composite forward formula.

    Inverts :func:`wgs84_to_bd09` directly (not in two approximate steps): start from
    ``p - (f(p) - p)`` and iterate ``w <- w - (f(w) - p)`` until the result is within
    :data:`INVERSE_TOLERANCE_M` (1 cm) of the exact inverse (forward residual at most 0.5 cm),
    with at most :data:`INVERSE_MAX_ITERATIONS` iterations. Only the GCJ-02 part follows the
    "outside China" rule; the BD-09 offset is removed everywhere. Near the edges of the China
    rectangle the forward function is discontinuous; points without an exact pre-image get the
    best iterate found (see :func:`gcj02_to_wgs84`).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.
    return_iterations : bool, default False
        Also return the number of iterations used (the maximum over all points).

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS-84 longitude and latitude in degrees, same shape as the input.
    iterations : int
        Only when ``return_iterations`` is true.

    Notes
    -----
    Inputs are broadcast against each other; outputs are new float64 arrays of the broadcast
    shape. A scalar input gives 0-d arrays (use ``float(...)`` for Python floats). NaN in gives
    NaN out.
    """
    lon_f, lat_f, shape = _prepare(lon, lat)
    start = _approximate_start(_wgs_to_bd_flat, lon_f, lat_f)
    out_lon, out_lat, n_iter = _invert(_wgs_to_bd_flat, lon_f, lat_f, *start)
    res_lon, res_lat = _finish(out_lon, out_lat, shape)
    if return_iterations:
        return res_lon, res_lat, n_iter
    return res_lon, res_lat

