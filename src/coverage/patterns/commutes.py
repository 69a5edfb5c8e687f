"""Where migrants work: home → work commuting corridors and workplace clusters.

**Commuting corridors** (居住地 → 工作地). :func:`commute_flows` grids both ends of every
home → work pair on a square grid (``cell_m``, default 500 m), counts the people of each occupied
4-D cell (home cell × work cell), smooths the counts with a 3 × 3 × 3 × 3 box sum and lets every
occupied cell climb to its highest neighbour (steepest ascent on the grid, the grid analogue of
mean-shift mode seeking). A corridor is the set of cells that climb to the same peak: a bundle of
people living in one area and working in another, whatever the grid boundaries, without the
chaining of single-linkage methods. Why not DBSCAN or HDBSCAN on the 4-D points: a dormitory puts
thousands of people within metres of each other, so radius queries are quadratic in dense cells
and do not finish on 1.2 million migrants, and the result would still have to be aggregated to
publish it. The grid is linear in the number of people (one sort), deterministic, vectorized
(81 sorted look-ups per occupied cell) and already an aggregate: a corridor's ends are the
count-weighted means of its cell centres, never a person's point. :func:`workplace_clusters` does
the same in 2-D on workplaces (default 250 m cells) to find the places where most migrants work —
candidates for enterprise-based service (企业计生协会, "依附企业建协会").

Privacy: every table holds aggregates only (no person ids, no individual home or work points).
Counts are exact; rows with fewer than ``min_cell`` people (default 10) are flagged
``suppressed``, to be left out of anything published (complementary suppression is the report's
job). Column documentation: ``docs/flows.md``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.patterns.origins import _check_columns

__all__ = ["GridCounts", "add_grid_counts", "commute_cells", "commute_flows",
           "commute_flows_of_cells", "workplace_cells", "workplace_clusters",
           "workplace_clusters_of_cells"]


def _grid_modes(cells: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Assign occupied grid cells to density peaks by steepest ascent.

    Parameters
    ----------
    cells
        ``(m, d)`` integer indices of distinct occupied cells.
    counts
        People in each cell.

    Returns
    -------
    numpy.ndarray
        For every cell, the index (into ``cells``) of the peak it climbs to.
    """
    m, d = cells.shape
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    lo = cells.min(axis=0) - 1
    span = cells.max(axis=0) - lo + 2
    if float(np.prod(span.astype(float))) >= 2.0**62:
        msg = "the grid is too large for 64-bit cell keys; use a larger cell size"
        raise ValueError(msg)
    strides = np.cumprod(np.concatenate([[1], span[::-1][:-1]]))[::-1].astype(np.int64)
    keys = ((cells - lo) * strides).sum(axis=1)
    order = np.argsort(keys, kind="stable")
    skeys = keys[order]
    scounts = counts[order].astype(np.int64)
    offsets = np.array(list(itertools.product((-1, 0, 1), repeat=d)), dtype=np.int64) @ strides
    offsets = offsets[offsets != 0]

    def neighbours(offset: np.int64) -> tuple[np.ndarray, np.ndarray]:
        query = skeys + offset  # sorted: a fast search
        pos = np.minimum(np.searchsorted(skeys, query), m - 1)
        return pos, skeys[pos] == query

    density = scounts.copy()
    for off in offsets:
        pos, hit = neighbours(off)
        density += np.where(hit, scounts[pos], 0)
    score = density * m + np.arange(m)  # unique: ties broken by key order
    best = np.arange(m)
    best_score = score.copy()
    for off in offsets:
        pos, hit = neighbours(off)
        cand = np.where(hit, score[pos], -1)
        better = cand > best_score
        best[better] = pos[better]
        best_score[better] = cand[better]
    while True:
        nxt = best[best]
        if np.array_equal(nxt, best):
            break
        best = nxt
    out = np.empty(m, dtype=np.int64)
    out[order] = order[best]
    return out


def _cells_of(xy: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct cells of points ``(n, d)``, their counts and each point's cell index."""
    idx = np.floor(xy / cell_m).astype(np.int64)
    cells, inverse, counts = np.unique(idx, axis=0, return_inverse=True, return_counts=True)
    return cells, counts, inverse.reshape(-1)


def _locate(points: np.ndarray, communities: gpd.GeoDataFrame | None) -> dict[str, np.ndarray]:
    """District and community id containing each point (``<NA>`` outside)."""
    n = len(points)
    district = pd.array([pd.NA] * n, dtype="string")
    community = pd.array([pd.NA] * n, dtype="string")
    if communities is not None and n:
        hit_pt, hit_poly = communities.sindex.query(points, predicate="within")
        first = np.unique(hit_pt, return_index=True)[1]
        hit_pt, hit_poly = hit_pt[first], hit_poly[first]
        district[hit_pt] = communities["district"].astype("string").to_numpy()[hit_poly]
        community[hit_pt] = communities["community_id"].astype("string").to_numpy()[hit_poly]
    return {"district": district, "community_id": community}


def _home_work(migrants: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    _check_columns(migrants, ("work_x", "work_y"), "migrants")
    hx = shapely.get_x(migrants.geometry.to_numpy())
    hy = shapely.get_y(migrants.geometry.to_numpy())
    wx = migrants["work_x"].to_numpy(dtype=float)
    wy = migrants["work_y"].to_numpy(dtype=float)
    ok = np.isfinite(hx) & np.isfinite(hy) & np.isfinite(wx) & np.isfinite(wy)
    return np.column_stack([hx, hy])[ok], np.column_stack([wx, wy])[ok], int((~ok).sum())


@dataclass(frozen=True)
class GridCounts:
    """People per occupied grid cell, which the corridors and workplace clusters group.

    What :func:`commute_flows` and :func:`workplace_clusters` group, and what parts of a
    city's migrants add up (:func:`add_grid_counts`).

    Attributes
    ----------
    cells
        ``(m, d)`` distinct occupied cells (integer indices, sorted as :func:`numpy.unique`
        sorts rows): home × work cells (d = 4) or workplace cells (d = 2).
    counts
        People in each cell.
    cell_m
        Cell size, metres.
    people
        Migrants counted (for the commuting table: all the part's migrants).
    missing
        Those left out for want of a residence or workplace.
    """

    cells: np.ndarray
    counts: np.ndarray
    cell_m: float
    people: int
    missing: int


def commute_cells(migrants: gpd.GeoDataFrame, *, cell_m: float = 500.0) -> GridCounts:
    """Count the migrants per home cell × work cell (:func:`commute_flows`' grid)."""
    _check_cell(cell_m)
    home, work, no_work = _home_work(migrants)
    cells, counts, _ = _cells_of(np.column_stack([home, work]), cell_m)
    return GridCounts(cells, counts.astype(np.int64), float(cell_m), len(migrants), no_work)


def workplace_cells(migrants: gpd.GeoDataFrame, *, cell_m: float = 250.0) -> GridCounts:
    """Count the migrants per workplace cell (:func:`workplace_clusters`' grid)."""
    _check_cell(cell_m)
    _check_columns(migrants, ("work_x", "work_y"), "migrants")
    wx = migrants["work_x"].to_numpy(dtype=float)
    wy = migrants["work_y"].to_numpy(dtype=float)
    ok = np.isfinite(wx) & np.isfinite(wy)
    cells, counts, _ = _cells_of(np.column_stack([wx[ok], wy[ok]]), cell_m)
    return GridCounts(cells, counts.astype(np.int64), float(cell_m), len(migrants),
                      int((~ok).sum()))


def add_grid_counts(parts: list[GridCounts]) -> GridCounts:
    """Add the cell counts of parts of the migrants up (cells sorted as one part's are)."""
    d = parts[0].cells.shape[1] if parts[0].cells.ndim == 2 else 0
    stacked = np.concatenate([p.cells.reshape(-1, d) for p in parts])
    cells, inverse = np.unique(stacked, axis=0, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=np.concatenate([p.counts for p in parts]),
                         minlength=len(cells)).astype(np.int64)
    return GridCounts(cells, counts, parts[0].cell_m, sum(p.people for p in parts),
                      sum(p.missing for p in parts))


def _check_cell(cell_m: float) -> None:
    if not cell_m > 0:
        msg = f"cell_m must be a positive number of metres, got {cell_m!r}"
        raise ValueError(msg)


def _grid_groups(cells: np.ndarray, counts: np.ndarray, cell_m: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group occupied cells (``(m, d)``, with their people) by grid hill climbing.

    Returns each group's size, its count-weighted mean of cell centres (one column per
    coordinate) and its number of cells (see :func:`_grid_modes`).
    """
    label = _grid_modes(cells, counts)
    peaks, group = np.unique(label, return_inverse=True)
    centre = (cells + 0.5) * cell_m
    size = np.bincount(group, weights=counts, minlength=len(peaks)).astype(np.int64)
    means = np.column_stack([
        np.bincount(group, weights=counts * centre[:, k], minlength=len(peaks))
        for k in range(cells.shape[1])
    ]) / np.maximum(size, 1)[:, None]
    return size, means, np.bincount(group, minlength=len(peaks))


def commute_flows(
    migrants: gpd.GeoDataFrame,
    *,
    cell_m: float = 500.0,
    min_migrants: int = 10,
    min_length_m: float | None = None,
    top: int | None = None,
    communities: gpd.GeoDataFrame | None = None,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    """Find home → work commuting corridors (the ``commute_flows`` layer).

    Both ends of every migrant with a known residence and workplace are put on a square grid of
    ``cell_m``; the occupied 4-D cells (home cell × work cell) are smoothed by a 3⁴ box sum and
    grouped by steepest ascent to their density peak (see the module docstring). Each group is a
    corridor; its ends are the count-weighted means of its cells' centres.

    Parameters
    ----------
    migrants
        Migrants in a metric CRS: residence points and ``work_x``/``work_y`` (NaN when unknown).
    cell_m
        Grid cell size, metres.
    min_migrants
        Corridors with fewer people are left out (counted in ``attrs``).
    min_length_m
        Corridors shorter than this (home and work end closer, metres) are left out and counted
        as ``local`` — people who live where they work (dormitories in factory parks); default
        ``cell_m``. See :func:`workplace_clusters` for them.
    top
        Keep only the ``top`` largest corridors.
    communities
        When given, the district and community at each end are added.
    min_cell
        Corridors with fewer people are flagged ``suppressed``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``corridor_id`` (1 = largest), ``migrants``, ``cells``, ``length_m``, ``home_district``,
        ``home_community_id``, ``work_district``, ``work_community_id``, ``suppressed``; a line
        from the home end to the work end, in the migrants' CRS; by decreasing ``migrants``.
        ``attrs["commute_counts"]``: ``migrants``, ``no_workplace``, ``commuters``,
        ``in_corridors``, ``local``, ``small`` (in groups below ``min_migrants``),
        ``beyond_top``.
    """
    return commute_flows_of_cells(commute_cells(migrants, cell_m=cell_m), crs=migrants.crs,
                                  min_migrants=min_migrants, min_length_m=min_length_m,
                                  top=top, communities=communities, min_cell=min_cell)


def commute_flows_of_cells(
    grid: GridCounts,
    *,
    crs: Any,
    min_migrants: int = 10,
    min_length_m: float | None = None,
    top: int | None = None,
    communities: gpd.GeoDataFrame | None = None,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    """Return :func:`commute_flows` from the people per home × work cell (:func:`commute_cells`).

    ``crs``: the study CRS of the lines; the other parameters as for :func:`commute_flows`.
    """
    cell_m = grid.cell_m
    min_length_m = cell_m if min_length_m is None else min_length_m
    size, ends, ncells = _grid_groups(grid.cells.reshape(-1, 4), grid.counts, cell_m)
    length = np.hypot(ends[:, 2] - ends[:, 0], ends[:, 3] - ends[:, 1])
    big = size >= min_migrants
    far = length >= min_length_m
    keep = np.flatnonzero(big & far)
    keep = keep[
        np.lexsort((ends[keep, 3], ends[keep, 2], ends[keep, 1], ends[keep, 0], -size[keep]))
    ]
    beyond = int(size[keep[top:]].sum()) if top is not None else 0
    keep = keep[:top] if top is not None else keep
    out = _corridor_table(size[keep], ends[keep], ncells[keep], length[keep], communities,
                          min_cell=min_cell, crs=crs)
    out.attrs["commute_counts"] = {
        "migrants": grid.people,
        "no_workplace": grid.missing,
        "commuters": grid.people - grid.missing,
        "in_corridors": int(size[keep].sum()),
        "local": int(size[big & ~far].sum()),
        "small": int(size[~big].sum()),
        "beyond_top": beyond,
    }
    out.attrs["cell_m"] = cell_m
    out.attrs["min_cell"] = min_cell
    return out


def _corridor_table(
    size: np.ndarray,
    ends: np.ndarray,
    ncells: np.ndarray,
    length: np.ndarray,
    communities: gpd.GeoDataFrame | None,
    *,
    min_cell: int,
    crs: Any,
) -> gpd.GeoDataFrame:
    """Make the corridors' table: a line from the home end to the work end of each, in order."""
    home_pts = shapely.points(ends[:, 0], ends[:, 1])
    work_pts = shapely.points(ends[:, 2], ends[:, 3])
    at_home = _locate(home_pts, communities)
    at_work = _locate(work_pts, communities)
    return gpd.GeoDataFrame(
        {
            "corridor_id": np.arange(1, len(size) + 1),
            "migrants": size,
            "cells": ncells,
            "length_m": np.round(length, 1),
            "home_district": at_home["district"],
            "home_community_id": at_home["community_id"],
            "work_district": at_work["district"],
            "work_community_id": at_work["community_id"],
            "suppressed": size < min_cell,
        },
        geometry=shapely.linestrings(np.stack([ends[:, :2], ends[:, 2:]], axis=1).reshape(-1, 2, 2))
        if len(size)
        else np.array([], dtype=object),
        crs=crs,
    )


def workplace_clusters(
    migrants: gpd.GeoDataFrame,
    *,
    cell_m: float = 250.0,
    min_migrants: int = 50,
    top: int | None = None,
    sites: gpd.GeoDataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    """Find where most migrants work: candidates for enterprise-based service (企业计生协会).

    Workplaces are gridded (``cell_m``), smoothed by a 3 × 3 box sum and grouped by steepest
    ascent to their density peak, as in :func:`commute_flows`.

    Parameters
    ----------
    migrants
        Migrants with ``work_x``/``work_y`` in a metric CRS (NaN when unknown).
    cell_m
        Grid cell size, metres.
    min_migrants
        Clusters with fewer workers are left out.
    top
        Keep only the ``top`` largest clusters.
    sites
        Service points (``site_id``, ``kind``) in the same CRS: when given, the nearest one
        (straight-line distance) and the nearest enterprise association are added.
    communities
        When given, the district and community of each centroid are added.
    min_cell
        Clusters with fewer workers are flagged ``suppressed``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cluster_id`` (1 = largest), ``migrants``, ``cells``, ``area_km2`` (area of its cells),
        ``district``, ``community_id``, ``nearest_site_id``, ``nearest_site_kind``,
        ``nearest_site_m``, ``nearest_enterprise_association_m``, ``suppressed``; the centroid
        (count-weighted mean of cell centres) as a point; by decreasing ``migrants``.
        ``attrs["workers"]`` counts migrants with a known workplace.
    """
    return workplace_clusters_of_cells(workplace_cells(migrants, cell_m=cell_m),
                                       crs=migrants.crs, min_migrants=min_migrants, top=top,
                                       sites=sites, communities=communities,
                                       min_cell=min_cell)


def workplace_clusters_of_cells(
    grid: GridCounts,
    *,
    crs: Any,
    min_migrants: int = 50,
    top: int | None = None,
    sites: gpd.GeoDataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    """Return :func:`workplace_clusters` from the workers per cell (:func:`workplace_cells`).

    ``crs``: the study CRS of the centroids; the other parameters as for
    :func:`workplace_clusters`.
    """
    cell_m = grid.cell_m
    size, centre, ncells = _grid_groups(grid.cells.reshape(-1, 2), grid.counts, cell_m)
    cx, cy = centre[:, 0], centre[:, 1]
    keep = np.flatnonzero(size >= min_migrants)
    keep = keep[np.lexsort((cy[keep], cx[keep], -size[keep]))][:top]
    points = shapely.points(cx[keep], cy[keep])
    at = _locate(points, communities)
    out = gpd.GeoDataFrame(
        {
            "cluster_id": np.arange(1, len(keep) + 1),
            "migrants": size[keep],
            "cells": ncells[keep],
            "area_km2": ncells[keep] * cell_m**2 / 1e6,
            "district": at["district"],
            "community_id": at["community_id"],
        },
        geometry=points,
        crs=crs,
    )
    _add_nearest_sites(out, points, sites)
    out["suppressed"] = out["migrants"] < min_cell
    out.attrs["workers"] = grid.people - grid.missing
    out.attrs["cell_m"] = cell_m
    out.attrs["min_cell"] = min_cell
    return out


def _add_nearest_sites(
    out: gpd.GeoDataFrame, points: np.ndarray, sites: gpd.GeoDataFrame | None
) -> None:
    """Add, in place, the nearest service point and enterprise association of each cluster.

    Straight-line distances (m) from the cluster centroids ``points``; the columns stay empty
    without ``sites``.
    """
    out["nearest_site_id"] = pd.array([pd.NA] * len(out), dtype="string")
    out["nearest_site_kind"] = pd.array([pd.NA] * len(out), dtype="string")
    out["nearest_site_m"] = np.nan
    out["nearest_enterprise_association_m"] = np.nan
    if sites is not None and len(sites) and len(out):
        (src, dst), dist = sites.sindex.nearest(points, return_distance=True, return_all=False)
        ids = sites["site_id"].astype("string").to_numpy()
        kinds = sites["kind"].astype("string").to_numpy()
        out.loc[out.index[src], "nearest_site_id"] = ids[dst]
        out.loc[out.index[src], "nearest_site_kind"] = kinds[dst]
        out.loc[out.index[src], "nearest_site_m"] = np.round(dist, 1)
        ea = sites[(sites["kind"] == "enterprise_association").to_numpy(dtype=bool)]
        if len(ea):
            (src, _), dist = ea.sindex.nearest(points, return_distance=True, return_all=False)
            out.loc[out.index[src], "nearest_enterprise_association_m"] = np.round(dist, 1)
