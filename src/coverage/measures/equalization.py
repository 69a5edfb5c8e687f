"""Equalization (均等化): migrants versus registered residents, per community and district.

For every travel-time threshold (5, 10 and 15 minutes by default) the share of each group living
within that time of a service point, and the gap:

    coverage_{t}min_migrant     = migrants within t minutes / migrants
    coverage_{t}min_registered  = registered residents within t minutes / registered residents
    coverage_gap_{t}min         = coverage_{t}min_registered − coverage_{t}min_migrant

A positive gap means migrants are worse served. People who cannot reach any service point (too far
from a road, or on a disconnected part of the network) count as not covered. Registered residents
are represented by population-weighted points (``registered_points``) when given, otherwise by
:func:`allocate_registered`, which spreads each community's registered population evenly over a
regular grid of points inside its polygon.

Inequality of access across communities is measured for each group by the population-weighted
Gini coefficient and Theil index of the community coverage shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def threshold_label(minutes: float) -> str:
    """Column-name form of a threshold: ``15`` → ``15min``, ``7.5`` → ``7.5min``."""
    return f"{minutes:g}min"


def coverage_column(minutes: float, group: str = "migrant") -> str:
    """Name of a coverage column: ``group`` is ``migrant``, ``registered`` or ``gap``.

    ``coverage_15min_migrant``, ``coverage_15min_registered``, ``coverage_gap_15min``.
    """
    lab = threshold_label(minutes)
    return f"coverage_gap_{lab}" if group == "gap" else f"coverage_{lab}_{group}"


def coverage_trio(migrant: Any, registered: Any, thresholds: Sequence[float]) -> dict[str, Any]:
    """Return the coverage trio of every threshold from ``within_<t>`` shares of both groups.

    ``migrant`` and ``registered`` are tables (or rows) with ``within_<t>`` columns (or
    entries), as :func:`coverage_shares` returns; the values are columns (or numbers), in
    threshold order: migrants', registered residents', and the gap (registered − migrants).
    """
    out: dict[str, Any] = {}
    for m in thresholds:
        within = f"within_{threshold_label(m)}"
        out[coverage_column(m)] = migrant[within]
        out[coverage_column(m, "registered")] = registered[within]
        out[coverage_column(m, "gap")] = registered[within] - migrant[within]
    return out


def coverage_shares(
    time_min: pd.Series,
    units: pd.Series,
    thresholds: Sequence[float],
    *,
    weights: pd.Series | None = None,
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """Share of people (or weights) within each threshold, per unit.

    Parameters
    ----------
    time_min
        Travel time to the nearest service point per person or point (NaN = unreachable).
    units
        The unit (community id) of each person, aligned with ``time_min``.
    thresholds
        Minutes.
    weights
        People per row (default 1).
    index
        Units to report (default: those present); absent units get NaN shares.

    Returns
    -------
    pandas.DataFrame
        Indexed by unit: ``people`` and one column ``within_{t}min`` per threshold (a share).
    """
    w = np.ones(len(time_min)) if weights is None else weights.to_numpy(float)
    t = time_min.to_numpy(float)
    keys = units.to_numpy()
    data = {"people": w}
    for m in thresholds:
        data[f"within_{threshold_label(m)}"] = np.where(t <= m, w, 0.0)  # NaN ≤ m is False
    sums = pd.DataFrame(data).groupby(keys, sort=True).sum()
    if index is not None:
        sums = sums.reindex(index)
    shares = sums.drop(columns="people").div(sums["people"].where(sums["people"] > 0), axis=0)
    shares.insert(0, "people", sums["people"])
    return shares


def equalization_table(
    migrant_time: pd.Series,
    migrant_units: pd.Series,
    registered_time: pd.Series,
    registered_units: pd.Series,
    thresholds: Sequence[float],
    *,
    registered_weights: pd.Series | None = None,
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """Coverage of migrants and registered residents within each threshold, and the gap.

    Returns
    -------
    pandas.DataFrame
        Indexed by unit, with ``coverage_{t}min_migrant``, ``coverage_{t}min_registered`` and
        ``coverage_gap_{t}min`` for every threshold (the trio in threshold order).
    """
    mig = coverage_shares(migrant_time, migrant_units, thresholds, index=index)
    reg = coverage_shares(registered_time, registered_units, thresholds,
                          weights=registered_weights, index=index if index is not None else
                          mig.index)
    reg = reg.reindex(mig.index)
    return pd.DataFrame(coverage_trio(mig, reg, thresholds), index=mig.index)


def gini(values: np.ndarray | pd.Series, weights: np.ndarray | pd.Series | None = None) -> float:
    """Population-weighted Gini coefficient of non-negative ``values`` (NaN rows ignored).

    ``G = Σ_i Σ_j w_i w_j |x_i − x_j| / (2 (Σ w)² x̄)`` with ``x̄`` the weighted mean; 0 is
    perfect equality. Computed in O(n log n) from the sorted values.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = ~np.isnan(x) & ~np.isnan(w) & (w > 0)
    x, w = x[keep], w[keep]
    if x.size == 0 or (x < 0).any():
        if x.size and (x < 0).any():
            msg = "the Gini coefficient needs non-negative values"
            raise ValueError(msg)
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    total_w = w.sum()
    mean = (w * x).sum() / total_w
    if mean == 0:
        return 0.0
    cum_w = np.cumsum(w) - w  # weight strictly below each value
    cum_wx = np.cumsum(w * x) - w * x
    # Σ_i w_i Σ_{j<i} w_j (x_i − x_j), doubled for both orders.
    pair_sum = (w * (x * cum_w - cum_wx)).sum()
    return float(pair_sum / (total_w**2 * mean))


def theil(values: np.ndarray | pd.Series, weights: np.ndarray | pd.Series | None = None) -> float:
    """Population-weighted Theil T index of non-negative ``values`` (NaN rows ignored).

    ``T = Σ_i s_i (x_i / x̄) ln(x_i / x̄)`` with population shares ``s_i`` and the convention
    ``0 ln 0 = 0``; 0 is perfect equality.
    """
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = ~np.isnan(x) & ~np.isnan(w) & (w > 0)
    x, w = x[keep], w[keep]
    if x.size == 0:
        return float("nan")
    if (x < 0).any():
        msg = "the Theil index needs non-negative values"
        raise ValueError(msg)
    s = w / w.sum()
    mean = (s * x).sum()
    if mean == 0:
        return 0.0
    r = x / mean
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(r > 0, r * np.log(np.where(r > 0, r, 1)), 0.0)
    return float((s * terms).sum())


def allocate_registered(
    communities: gpd.GeoDataFrame, *, spacing: float = 100.0
) -> gpd.GeoDataFrame:
    """Spread each community's registered population over a regular grid inside its polygon.

    Used when no ``registered_points`` layer is given. Grid points every ``spacing`` metres
    (in the communities' projected CRS) that fall inside a community share its
    ``registered_pop`` equally; a community too small to hold a grid point gets one point at its
    representative point.

    Returns
    -------
    geopandas.GeoDataFrame
        ``point_id``, ``community_id``, ``population`` and point geometry.
    """
    minx, miny, maxx, maxy = communities.total_bounds
    xs = np.arange(minx + spacing / 2, maxx, spacing)
    ys = np.arange(miny + spacing / 2, maxy, spacing)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    pts = shapely.points(gx, gy)
    tree = shapely.STRtree(communities.geometry.values)
    pt_idx, poly_idx = tree.query(pts, predicate="within")
    # A point on a shared edge may fall in none; one in two polygons keeps the first.
    first = ~pd.Series(pt_idx).duplicated().to_numpy()
    pt_idx, poly_idx = pt_idx[first], poly_idx[first]
    n_poly = len(communities)
    counts = np.bincount(poly_idx, minlength=n_poly)
    empty = np.flatnonzero(counts == 0)
    geoms = np.concatenate([pts[pt_idx],
                            shapely.point_on_surface(communities.geometry.values[empty])])
    owner = np.concatenate([poly_idx, empty])
    counts = np.bincount(owner, minlength=n_poly)
    pop = communities["registered_pop"].to_numpy(float)
    population = pop[owner] / counts[owner]
    ids = communities["community_id"].to_numpy()
    return gpd.GeoDataFrame({
        "point_id": np.char.add("grid", np.arange(len(owner)).astype(str)),
        "community_id": ids[owner],
        "population": population,
    }, geometry=geoms, crs=communities.crs)
