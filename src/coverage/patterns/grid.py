r"""A metric hexagonal grid in the study CRS, and its contiguity weights.

Hot spots and inflow trends are counted on hexagons rather than on communities because
communities differ a hundredfold in area and population, and a statistic on unequal units
mixes the pattern with the unit sizes (the modifiable-areal-unit problem). We use a **metric**
hex grid instead of H3: the study CRS is already metric (UTM), H3 cells are not exactly equal in
area and need another dependency, and a metric grid gives round numbers a planner can read
("hexagons of 150 m side").

The grid
--------
Pointy-top hexagons of side ``edge_m`` (the centre-to-corner distance), anchored at the origin
of the study CRS, so that the same point falls in the same cell in every run and scenario.
A cell is named by its axial coordinates ``(q, r)``; its centre is

.. math::

    x = s\sqrt{3}\,(q + r/2), \qquad y = \tfrac{3}{2}\,s\,r,

adjacent centres are :math:`s\sqrt{3}` apart and a cell covers :math:`\tfrac{3\sqrt{3}}{2}s^2`
(0.058 km² for ``s = 150`` m). A point goes to the cell whose centre is nearest (cube-coordinate
rounding, exact up to ties on cell borders).

Weights
-------
:func:`hex_weights` joins every cell to the cells within ``rings`` steps (6 neighbours for one
ring, 18 for two) among the cells given, plus itself (the Getis–Ord :math:`G_i^*` convention).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

__all__ = [
    "DEFAULT_EDGE_M",
    "hex_cells",
    "hex_centres",
    "hex_frame",
    "hex_ids",
    "hex_keys",
    "hex_polygons",
    "hex_weights",
    "point_cells",
]

#: Default hexagon side (m): 0.058 km² cells, 260 m between centres; a two-ring neighbourhood
#: (19 cells, 1.1 km², reaching about 520 m) is about the area of the 15-minute life circle of
#: GB 50180-2018.
DEFAULT_EDGE_M = 150.0

_SQRT3 = np.sqrt(3.0)
#: Axial coordinates are packed into one int64 key: (q + OFFSET) * SPAN + (r + OFFSET).
_OFFSET = 1 << 30
_SPAN = 1 << 31


def _check_edge(edge_m: float) -> float:
    edge = float(edge_m)
    if not (np.isfinite(edge) and edge > 0):
        msg = f"edge_m must be a positive number of metres, got {edge_m!r}"
        raise ValueError(msg)
    return edge


def hex_cells(
    x: np.ndarray, y: np.ndarray, *, edge_m: float = DEFAULT_EDGE_M
) -> tuple[np.ndarray, np.ndarray]:
    """Return the axial coordinates ``(q, r)`` of the hexagon holding each point.

    Parameters
    ----------
    x, y
        Coordinates in a metric CRS (metres). Points must be finite.
    edge_m
        Side of the hexagons (m).

    Returns
    -------
    q, r : numpy.ndarray
        int64 axial coordinates.

    Raises
    ------
    ValueError
        For a non-positive ``edge_m`` or non-finite coordinates.
    """
    edge = _check_edge(edge_m)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        bad = int(np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))[0])
        msg = f"point {bad} has a non-finite coordinate; drop points without a location first"
        raise ValueError(msg)
    qf = (_SQRT3 / 3.0 * x - y / 3.0) / edge
    rf = (2.0 / 3.0 * y) / edge
    sf = -qf - rf
    q, r, s = np.rint(qf), np.rint(rf), np.rint(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)


def hex_centres(
    q: np.ndarray, r: np.ndarray, *, edge_m: float = DEFAULT_EDGE_M
) -> tuple[np.ndarray, np.ndarray]:
    """Return the centres (x, y) of hexagons given by axial coordinates (see module docstring)."""
    edge = _check_edge(edge_m)
    q = np.asarray(q, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    return edge * _SQRT3 * (q + r / 2.0), edge * 1.5 * r


def hex_keys(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Pack axial coordinates into sortable int64 keys (for joins and neighbour look-ups)."""
    q = np.asarray(q, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    return (q + _OFFSET) * _SPAN + (r + _OFFSET)


def point_cells(
    points: gpd.GeoSeries | gpd.GeoDataFrame, *, edge_m: float = DEFAULT_EDGE_M
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hexagons holding a layer's points.

    Returns
    -------
    cell : numpy.ndarray
        For each point (by position), its hexagon's position in the occupied hexagons; -1 for a
        point without a location.
    q, r : numpy.ndarray
        Axial coordinates of the occupied hexagons, sorted by :func:`hex_keys`.
    count : numpy.ndarray
        Points in each occupied hexagon (int64).
    """
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    x = geo.x.to_numpy(dtype=np.float64, na_value=np.nan)
    y = geo.y.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    q, r = hex_cells(x[ok], y[ok], edge_m=edge_m)
    uniq, first, inverse = np.unique(hex_keys(q, r), return_index=True, return_inverse=True)
    cell = np.full(len(x), -1, dtype=np.int64)
    cell[ok] = inverse
    return cell, q[first], r[first], np.bincount(inverse, minlength=len(uniq)).astype(np.int64)


def hex_ids(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Return the published cell names ``"<q>_<r>"`` (text, stable across runs)."""
    q = np.asarray(q, dtype=np.int64).astype(str)
    r = np.asarray(r, dtype=np.int64).astype(str)
    return np.char.add(np.char.add(q, "_"), r).astype(object)


def hex_polygons(q: np.ndarray, r: np.ndarray, *, edge_m: float = DEFAULT_EDGE_M) -> np.ndarray:
    """Return the hexagons as shapely polygons (study CRS), built in one vectorized call."""
    cx, cy = hex_centres(q, r, edge_m=edge_m)
    angles = np.deg2rad(30.0 + 60.0 * np.arange(7))  # closed ring, pointy-top
    px = cx[:, None] + float(edge_m) * np.cos(angles)[None, :]
    py = cy[:, None] + float(edge_m) * np.sin(angles)[None, :]
    return shapely.polygons(np.stack([px, py], axis=-1))


def _ring_offsets(rings: int) -> tuple[np.ndarray, np.ndarray]:
    dq, dr = np.meshgrid(np.arange(-rings, rings + 1), np.arange(-rings, rings + 1))
    dq, dr = dq.ravel(), dr.ravel()
    keep = np.maximum.reduce([np.abs(dq), np.abs(dr), np.abs(dq + dr)]) <= rings
    return dq[keep], dr[keep]


def hex_weights(
    q: np.ndarray, r: np.ndarray, *, rings: int = 1, self_weight: bool = True
) -> sp.csr_array:
    """Binary contiguity weights between the given hexagons.

    Parameters
    ----------
    q, r
        Axial coordinates of distinct cells (the rows and columns of the matrix, in this order).
    rings
        Cells at most this many steps apart are neighbours (1: the 6 adjacent cells).
    self_weight
        Put 1 on the diagonal (each cell is its own neighbour, as :math:`G_i^*` needs).

    Returns
    -------
    scipy.sparse.csr_array
        ``n × n`` float64 matrix of 0/1 weights.

    Raises
    ------
    ValueError
        For ``rings < 1`` or repeated cells.
    """
    if int(rings) != rings or rings < 1:
        msg = f"rings must be a whole number >= 1, got {rings!r}"
        raise ValueError(msg)
    keys = hex_keys(q, r)
    n = len(keys)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    if n > 1 and (sorted_keys[1:] == sorted_keys[:-1]).any():
        msg = "hex_weights needs distinct cells; aggregate points per cell first"
        raise ValueError(msg)
    dq, dr = _ring_offsets(int(rings))
    if not self_weight:
        keep = (dq != 0) | (dr != 0)
        dq, dr = dq[keep], dr[keep]
    q = np.asarray(q, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    nq = (q[:, None] + dq[None, :]).ravel()
    nr = (r[:, None] + dr[None, :]).ravel()
    rows = np.repeat(np.arange(n), len(dq))
    nk = hex_keys(nq, nr)
    pos = np.clip(np.searchsorted(sorted_keys, nk), 0, max(n - 1, 0))
    found = sorted_keys[pos] == nk if n else np.zeros(0, dtype=bool)
    cols = order[pos[found]]
    rows = rows[found]
    data = np.ones(len(rows))
    return sp.csr_array(sp.coo_array((data, (rows, cols)), shape=(n, n)))


def hex_frame(
    q: np.ndarray, r: np.ndarray, *, edge_m: float = DEFAULT_EDGE_M, crs: object = None
) -> gpd.GeoDataFrame:
    """Return ``hex_id``, ``hex_q``, ``hex_r`` and the hexagon polygons as a GeoDataFrame."""
    return gpd.GeoDataFrame(
        {"hex_id": hex_ids(q, r), "hex_q": np.asarray(q, dtype=np.int64),
         "hex_r": np.asarray(r, dtype=np.int64)},
        geometry=hex_polygons(q, r, edge_m=edge_m), crs=crs, index=pd.RangeIndex(len(q)),
    )
