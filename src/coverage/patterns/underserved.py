"""Under-served neighbourhoods: clusters of migrants with poor access, and where to serve them.

Steps of :func:`underserved_clusters`:

1. :func:`poor_access` flags migrants whose walk to the nearest service point is longer than
   ``max_time_min`` (default 20 minutes), or who cannot reach one at all, and optionally those
   whose 2SFCA-family score is in the lowest ``score_quantile`` of all migrants;
2. :func:`cluster_labels` groups the flagged residences with HDBSCAN (scikit-learn) in metres;
3. :func:`describe_clusters` summarises each cluster (size, share of its communities'
   migrants, centroid, hull, communities, walking times) and finds the road-network node that
   minimises the members' total walking time (:func:`network_median`), a candidate site for a
   new service point.

Why 20 minutes by default: the 15-minute life circle (GB 50180-2018) is the service standard,
but its fringe (15–20 minutes) rings every catchment; a cluster analysis meant to point at
*neighbourhoods* the network does not serve uses a threshold a third beyond the standard, where
a new service point (not a longer opening time) is the remedy. Pass ``max_time_min=15`` to map
everyone outside the life circle.

Privacy: the result holds no person ids and no residence points. The hull of a cluster is
buffered by ``hull_buffer_m`` (50 m) so that no vertex is a residence, and clusters of fewer
than ``min_cell`` (10) people are **not published** (dropped from the table; their members
count as unclustered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from coverage.network._search import Ends
from coverage.patterns.cluster_parts import (
    fit_labels,
    nearest_labels,
    poor_points,
    sample_positions,
    size_ranks,
)

if TYPE_CHECKING:
    from coverage.network import RoadNetwork

__all__ = [
    "DEFAULT_MAX_TIME_MIN",
    "DEFAULT_MIN_CLUSTER_SIZE",
    "cluster_labels",
    "describe_clusters",
    "network_median",
    "poor_access",
    "underserved_clusters",
]

#: Walking time (minutes) beyond which access is poor (see the module docstring).
DEFAULT_MAX_TIME_MIN = 20.0
#: Smallest group of people HDBSCAN reports as a cluster.
DEFAULT_MIN_CLUSTER_SIZE = 50
#: Largest number of residences HDBSCAN is fitted on (a seeded sample beyond it).
DEFAULT_MAX_FIT = 20_000
#: Candidate nodes evaluated exactly by :func:`network_median`.
DEFAULT_CANDIDATES = 64
#: Columns of the ``underserved_clusters`` layer (``docs/patterns.md``), geometry aside.
_CLUSTER_COLUMNS = ["cluster_id", "migrants", "community_migrants", "share_of_community_migrants",
                    "communities", "community_ids", "centroid_x", "centroid_y", "area_km2",
                    "mean_time_min", "max_time_min", "unreachable", "node_id", "node_x", "node_y",
                    "node_mean_time_min"]


def poor_access(
    access: pd.DataFrame,
    *,
    max_time_min: float | None = DEFAULT_MAX_TIME_MIN,
    score_quantile: float | None = None,
    score_column: str = "e2sfca",
    combine: str = "or",
    include_unreachable: bool = True,
) -> pd.Series:
    """Flag migrants with poor access.

    A migrant has poor access when ``time_min > max_time_min`` (walking minutes to the nearest
    service point) and/or when ``score_column`` (a 2SFCA-family score, higher is better) is at or
    below its ``score_quantile`` quantile over all migrants. Migrants who reach no service
    point (``time_min`` missing) count as poor when ``include_unreachable``.

    Parameters
    ----------
    access
        One row per migrant, e.g. ``RunResults.migrant_access``: ``time_min`` and, for the
        score rule, ``score_column``.
    max_time_min
        Time threshold in minutes; None to use only the score.
    score_quantile
        Quantile (0–1) of the score below which access is poor; None (default) to use only the
        time.
    score_column
        Score column (``e2sfca``: accessible staff per 1,000 people).
    combine
        ``"or"`` (either rule) or ``"and"`` (both) when both rules are given.
    include_unreachable
        Treat migrants without a route to any service point as having poor access.

    Returns
    -------
    pandas.Series
        Boolean ``poor_access`` on the index of ``access``.

    Raises
    ------
    ValueError
        When neither rule is given, a parameter is out of range or a column is missing.
    """
    if max_time_min is None and score_quantile is None:
        msg = "give max_time_min, score_quantile or both to define poor access"
        raise ValueError(msg)
    if combine not in ("or", "and"):
        msg = f"combine must be 'or' or 'and', got {combine!r}"
        raise ValueError(msg)
    rules = []
    if max_time_min is not None:
        if not (np.isfinite(max_time_min) and max_time_min > 0):
            msg = f"max_time_min must be a positive number of minutes, got {max_time_min!r}"
            raise ValueError(msg)
        if "time_min" not in access:
            msg = "access needs a 'time_min' column (walking minutes to the nearest site)"
            raise ValueError(msg)
        t = access["time_min"].to_numpy(dtype=np.float64, na_value=np.nan)
        rules.append((t > max_time_min) | (np.isnan(t) & include_unreachable))
    if score_quantile is not None:
        if not 0 < score_quantile < 1:
            msg = f"score_quantile must be between 0 and 1, got {score_quantile!r}"
            raise ValueError(msg)
        if score_column not in access:
            msg = f"access has no score column {score_column!r}; pass score_column="
            raise ValueError(msg)
        s = access[score_column].to_numpy(dtype=np.float64, na_value=np.nan)
        cut = np.nanquantile(s, score_quantile) if np.isfinite(s).any() else -np.inf
        unreachable = np.isnan(s) & include_unreachable
        rules.append((s <= cut) | unreachable)
    flag = rules[0] if len(rules) == 1 else (
        (rules[0] | rules[1]) if combine == "or" else (rules[0] & rules[1]))
    return pd.Series(flag, index=access.index, name="poor_access")


def _xy(migrants: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    geo = migrants.geometry if isinstance(migrants, gpd.GeoDataFrame) else migrants
    return (geo.x.to_numpy(dtype=np.float64, na_value=np.nan),
            geo.y.to_numpy(dtype=np.float64, na_value=np.nan))


def cluster_labels(
    migrants: gpd.GeoDataFrame | gpd.GeoSeries,
    poor: pd.Series | np.ndarray,
    *,
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    min_samples: int | None = None,
    max_fit: int = DEFAULT_MAX_FIT,
    seed: int = 0,
) -> pd.Series:
    """Cluster the residences of migrants with poor access with HDBSCAN (metres).

    HDBSCAN (Campello et al. 2013; scikit-learn's implementation, Euclidean distance in the
    metric study CRS, excess-of-mass cluster selection) finds groups of residences denser than
    their surroundings at any scale, and leaves scattered ones as noise. ``min_samples``
    (default: ``min_cluster_size``) smooths the density so that single buildings do not split a
    neighbourhood into many clusters.

    When more than ``max_fit`` residences are flagged, HDBSCAN is fitted on a seeded uniform
    sample of ``max_fit`` of them (HDBSCAN's cost grows faster than linearly: ~1 s for 20,000
    points, ~30 s for 100,000), and every other residence takes the label of its nearest sampled
    residence. ``min_cluster_size`` and ``min_samples`` then count sampled people, so a
    cluster represents at least ``min_cluster_size / fraction`` people.

    Parameters
    ----------
    migrants
        Residence points in the study CRS.
    poor
        True for migrants with poor access (:func:`poor_access`), by position.
    min_cluster_size, min_samples
        HDBSCAN parameters.
    max_fit
        Largest number of residences HDBSCAN is fitted on.
    seed
        Seed of the sample.

    Returns
    -------
    pandas.Series
        ``cluster`` on the index of ``migrants``: 1, 2, ... by decreasing size, −1 for migrants
        in no cluster (good access, noise, or no location). Individual-level: for analysis
        only, never published.
    """
    _check_cluster_parameters(min_cluster_size, min_samples, max_fit)
    rows, points = poor_points(migrants, np.asarray(poor, dtype=bool))
    labels = np.full(len(migrants), -1, dtype=np.int64)
    if len(rows) >= min_cluster_size:
        fit = sample_positions(len(rows), max_fit, seed)
        fitted = fit_labels(points if fit is None else points[fit],
                            min_cluster_size=min_cluster_size, min_samples=min_samples)
        found = fitted if fit is None else nearest_labels(points, points[fit], fitted)
        if (found >= 0).any():
            rank = size_ranks(np.bincount(found[found >= 0]))
            labels[rows] = np.where(found >= 0, rank[np.maximum(found, 0)], -1)
    return pd.Series(labels, index=migrants.index, name="cluster")


def _check_cluster_parameters(min_cluster_size: int, min_samples: int | None, max_fit: int) -> None:
    """Raise on HDBSCAN parameters that are not whole numbers in range."""
    if int(min_cluster_size) != min_cluster_size or min_cluster_size < 2:
        msg = f"min_cluster_size must be a whole number >= 2, got {min_cluster_size!r}"
        raise ValueError(msg)
    if min_samples is not None and (int(min_samples) != min_samples or min_samples < 1):
        msg = f"min_samples must be a whole number >= 1 or None, got {min_samples!r}"
        raise ValueError(msg)
    if max_fit < min_cluster_size:
        msg = f"max_fit ({max_fit}) must be at least min_cluster_size ({min_cluster_size})"
        raise ValueError(msg)


def _weber_point(x: np.ndarray, y: np.ndarray, *, iterations: int = 100) -> tuple[float, float]:
    """Spatial median (Weiszfeld's algorithm), the point minimising the sum of distances."""
    cx, cy = float(np.mean(x)), float(np.mean(y))
    for _ in range(iterations):  # fixed-point iterations, each vectorized over the members
        d = np.maximum(np.hypot(x - cx, y - cy), 1e-6)
        nx, ny = float(np.sum(x / d) / np.sum(1 / d)), float(np.sum(y / d) / np.sum(1 / d))
        moved = np.hypot(nx - cx, ny - cy)
        cx, cy = nx, ny
        if moved < 0.01:
            break
    return cx, cy


def network_median(
    network: RoadNetwork,
    x: np.ndarray,
    y: np.ndarray,
    *,
    candidates: int = DEFAULT_CANDIDATES,
    node_tree: cKDTree | None = None,
) -> tuple[int, float, float, int]:
    """Find the network node with the least total walking time from a group of residences.

    Method: the spatial median (Weber point) of the residences is found by Weiszfeld's
    algorithm; the ``candidates`` routing-component nodes nearest to it form the shortlist. One
    multi-source Dijkstra (SciPy ``csgraph.dijkstra`` with ``min_only=False``, bounded by a
    limit that covers the group) from the shortlist over the reversed graph gives every
    candidate's exact network distance from every node; each residence then adds its connector
    and partial road to the better of its road's two end nodes, exactly as
    :func:`coverage.network.nearest` measures walking distance.

    Exactness: the total walking time of every shortlisted node is exact; the chosen node is the
    best of the shortlist. The optimum over all nodes (the network 1-median) lies near the
    spatial median when the streets are a connected grid, so it is in the shortlist unless a
    barrier (river, rail line) separates the Weber point from the members; the tests compare
    with an exhaustive search over all nodes of the cluster.

    Parameters
    ----------
    network
        The road network (study CRS).
    x, y
        Residences in the network CRS.
    candidates
        Size of the shortlist.
    node_tree
        A ``cKDTree`` over the routing-component nodes (built when None; pass one to reuse).

    Returns
    -------
    node, total_m, mean_min, reached : tuple
        Position of the best node in ``network`` (−1 when no residence can be snapped), the
        members' total walking distance to it (m), their mean walking time (minutes) and the
        number of members counted (those attached to the routing component).
    """
    if int(candidates) != candidates or candidates < 1:
        msg = f"candidates must be a whole number >= 1, got {candidates!r}"
        raise ValueError(msg)
    snapped = network.snap_points((np.asarray(x, dtype=float), np.asarray(y, dtype=float)))
    ok = np.flatnonzero(pd.isna(snapped.reason))
    if len(ok) == 0:
        return -1, np.nan, np.nan, 0
    ends = Ends(network, snapped.snapped, ok, origin=True)
    main = np.flatnonzero(network.node_component == 0)
    tree = node_tree if node_tree is not None else cKDTree(
        np.column_stack([network.x[main], network.y[main]]))
    px, py = np.asarray(x, dtype=float)[ok], np.asarray(y, dtype=float)[ok]
    wx, wy = _weber_point(px, py)
    k = int(min(candidates, len(main)))
    _, near = tree.query([wx, wy], k=k)
    cand = main[np.atleast_1d(near)]
    reach = float(np.hypot(px - wx, py - wy).max())
    limit = 3.0 * reach + 2.0 * float(ends.snap.max()) + 1000.0
    best_node, best_total = -1, np.inf
    for bound in (limit, np.inf):  # a second, unbounded pass only if the bound was too tight
        dist = dijkstra(network.graph_reversed, directed=True, indices=cand, limit=bound)
        cost = np.minimum(ends.cost_a[None, :] + dist[:, ends.node_a],
                          ends.cost_b[None, :] + dist[:, ends.node_b])
        total = cost.sum(axis=1)
        if np.isfinite(total).any():
            j = int(np.argmin(total))
            best_node, best_total = int(cand[j]), float(total[j])
            break
    if best_node < 0:
        return -1, np.nan, np.nan, len(ok)
    return best_node, best_total, best_total / len(ok) / network.speed_m_per_min, len(ok)


def describe_clusters(
    migrants: gpd.GeoDataFrame,
    access: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    *,
    network: RoadNetwork | None = None,
    min_cell: int = 10,
    hull_buffer_m: float = 50.0,
    candidates: int = DEFAULT_CANDIDATES,
    community_totals: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Summarise clusters of under-served migrants (the ``underserved_clusters`` layer).

    Parameters
    ----------
    migrants
        Migrants (``community_id`` and residence points in the study CRS).
    access
        Per-migrant access, by position: ``time_min``.
    labels
        Cluster of every migrant (:func:`cluster_labels`; −1 for none), by position.
    network
        Road network for the candidate node; None leaves the ``node_*`` columns empty.
    min_cell
        Clusters with fewer people are not published.
    hull_buffer_m
        Buffer (m) around the convex hull of the members, so no vertex is a residence.
    candidates
        Shortlist size of :func:`network_median`.
    community_totals
        Migrants per community (index: id as text) when ``migrants`` holds only the members
        (a city computed by parts); counted from ``migrants`` by default.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per published cluster, largest first, geometry = buffered hull (study CRS);
        the columns (:data:`_CLUSTER_COLUMNS`) are documented in ``docs/patterns.md``.
    """
    lab = np.asarray(labels, dtype=np.int64)
    x, y = _xy(migrants)
    _check_one_row_per_migrant(lab, access, len(x))
    ids, counts = np.unique(lab[lab >= 0], return_counts=True)
    ids = ids[counts >= min_cell]
    crs = migrants.crs
    if len(ids) == 0:
        return gpd.GeoDataFrame({c: [] for c in _CLUSTER_COLUMNS}, geometry=[], crs=crs)
    member, pos = _members(lab, ids)
    n = np.bincount(pos, minlength=len(ids))
    n_reach, mean_t, max_t = _walking_times(access, member, pos, len(ids))
    cx = np.bincount(pos, weights=x[member], minlength=len(ids)) / n
    cy = np.bincount(pos, weights=y[member], minlength=len(ids)) / n
    hull = _hulls(x[member], y[member], pos, hull_buffer_m)
    comm_total, share, comm_n, comm_ids = _cluster_communities(
        migrants, member, pos, n, community_totals)
    node_id, node_x, node_y, node_t = _candidate_nodes(network, x, y, member, n,
                                                       candidates=candidates)
    return gpd.GeoDataFrame(
        {
            "cluster_id": np.arange(1, len(ids) + 1, dtype=np.int64),
            "migrants": n.astype(np.int64),
            "community_migrants": comm_total.astype(np.int64),
            "share_of_community_migrants": share,
            "communities": comm_n.astype(np.int64),
            "community_ids": comm_ids,
            "centroid_x": cx,
            "centroid_y": cy,
            "area_km2": shapely.area(hull) / 1e6,
            "mean_time_min": mean_t,
            "max_time_min": max_t,
            "unreachable": (n - n_reach).astype(np.int64),
            "node_id": node_id,
            "node_x": node_x,
            "node_y": node_y,
            "node_mean_time_min": node_t,
        },
        geometry=hull, crs=crs,
    )


def _check_one_row_per_migrant(lab: np.ndarray, access: pd.DataFrame, n_migrants: int) -> None:
    """Raise unless the labels and the access table hold one row per migrant."""
    if len(lab) != n_migrants or len(access) != n_migrants:
        msg = (f"labels ({len(lab)}), access ({len(access)}) and migrants ({n_migrants}) must have "
               "one row per migrant in the same order")
        raise ValueError(msg)


def _members(lab: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Find the rows of the members of clusters ``ids`` (cluster by cluster) and their cluster.

    The cluster of a member is given by its position in ``ids``.
    """
    member = np.flatnonzero(np.isin(lab, ids))
    member = member[np.argsort(lab[member], kind="stable")]
    return member, np.searchsorted(ids, lab[member])


def _hulls(x: np.ndarray, y: np.ndarray, pos: np.ndarray, buffer_m: float) -> np.ndarray:
    """Convex hull of each cluster's members, buffered so that no vertex is a residence."""
    points = shapely.points(x, y)
    return shapely.buffer(shapely.convex_hull(shapely.multipoints(points, indices=pos)),
                          buffer_m, quad_segs=4)


def _walking_times(
    access: pd.DataFrame, member: np.ndarray, pos: np.ndarray, clusters: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count the members who reach a service point, and their mean and longest walk, per cluster.

    ``member`` holds the members' rows in ``access`` (``time_min``, NaN when unreachable) and
    ``pos`` their cluster.
    """
    t = access["time_min"].to_numpy(dtype=np.float64, na_value=np.nan)[member]
    reachable = np.isfinite(t)
    n_reach = np.bincount(pos, weights=reachable, minlength=clusters)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_t = np.bincount(pos, weights=np.where(reachable, t, 0.0), minlength=clusters) / \
            n_reach
    frame = pd.DataFrame({"pos": pos, "t": np.where(reachable, t, -np.inf)})
    max_t = frame.groupby("pos")["t"].max().reindex(np.arange(clusters)).to_numpy()
    return n_reach, mean_t, np.where(np.isfinite(max_t), max_t, np.nan)


def _cluster_communities(
    migrants: gpd.GeoDataFrame, member: np.ndarray, pos: np.ndarray, n: np.ndarray,
    totals: pd.Series | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count the communities each cluster touches and their migrants.

    Returns all migrants of those communities, the cluster's share of them (``n`` members; NaN
    when none), the number of communities and their ids.
    """
    clusters = len(n)
    comm = migrants["community_id"].astype("string").to_numpy(dtype=object, na_value=None)
    totals = pd.Series(comm).value_counts() if totals is None else totals
    pairs = pd.DataFrame({"pos": pos, "community": comm[member]}).dropna().drop_duplicates()
    pairs = pairs.sort_values(["pos", "community"])
    pairs["total"] = totals.reindex(pairs["community"]).to_numpy()
    grouped = pairs.groupby("pos")
    comm_total = grouped["total"].sum().reindex(np.arange(clusters), fill_value=0).to_numpy()
    comm_n = grouped.size().reindex(np.arange(clusters), fill_value=0).to_numpy()
    comm_ids = grouped["community"].agg(",".join).reindex(np.arange(clusters),
                                                          fill_value="").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(comm_total > 0, n / np.where(comm_total > 0, comm_total, 1), np.nan)
    return comm_total, share, comm_n, comm_ids


def _candidate_nodes(
    network: RoadNetwork | None,
    x: np.ndarray,
    y: np.ndarray,
    member: np.ndarray,
    n: np.ndarray,
    *,
    candidates: int,
) -> tuple[pd.api.extensions.ExtensionArray, np.ndarray, np.ndarray, np.ndarray]:
    """Id, position and members' mean walking time of each cluster's candidate node.

    ``member`` lists the members cluster by cluster, ``n`` the size of each cluster; every value
    is empty without a network or where no member can be snapped.
    """
    node_id = pd.array([pd.NA] * len(n), dtype="Int64")
    node_x = np.full(len(n), np.nan)
    node_y = np.full(len(n), np.nan)
    node_t = np.full(len(n), np.nan)
    if network is None:
        return node_id, node_x, node_y, node_t
    main = np.flatnonzero(network.node_component == 0)
    tree = cKDTree(np.column_stack([network.x[main], network.y[main]]))
    bounds = np.r_[0, np.cumsum(n)]
    for j in range(len(n)):  # one multi-source Dijkstra per cluster (a few clusters)
        sel = member[bounds[j]:bounds[j + 1]]
        node, _, mean_min, _ = network_median(network, x[sel], y[sel],
                                              candidates=candidates, node_tree=tree)
        if node >= 0:
            node_id[j] = int(network.arrays.node_ids[node])
            node_x[j], node_y[j], node_t[j] = network.x[node], network.y[node], mean_min
    return node_id, node_x, node_y, node_t


def underserved_clusters(
    migrants: gpd.GeoDataFrame,
    access: pd.DataFrame,
    *,
    network: RoadNetwork | None = None,
    max_time_min: float | None = DEFAULT_MAX_TIME_MIN,
    score_quantile: float | None = None,
    score_column: str = "e2sfca",
    combine: str = "or",
    include_unreachable: bool = True,
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    min_samples: int | None = None,
    max_fit: int = DEFAULT_MAX_FIT,
    seed: int = 0,
    min_cell: int = 10,
    hull_buffer_m: float = 50.0,
    candidates: int = DEFAULT_CANDIDATES,
) -> gpd.GeoDataFrame:
    """Find and describe under-served neighbourhoods (the ``underserved_clusters`` layer).

    Chains :func:`poor_access`, :func:`cluster_labels` and :func:`describe_clusters`; see
    those for the parameters. ``migrants`` and ``access`` hold one row per migrant in the same
    order (``StudyData.migrants`` and ``RunResults.migrant_access``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cluster (columns in ``docs/patterns.md``); ``attrs`` records the rule, the
        HDBSCAN parameters and the number of migrants with poor access.

    Examples
    --------
    >>> results = run_study("project/")                                   # doctest: +SKIP
    >>> net = RoadNetwork.from_study(results.study)                       # doctest: +SKIP
    >>> underserved_clusters(results.study.migrants, results.migrant_access,
    ...                      network=net)                                 # doctest: +SKIP
    """
    poor = poor_access(access, max_time_min=max_time_min, score_quantile=score_quantile,
                       score_column=score_column, combine=combine,
                       include_unreachable=include_unreachable)
    labels = cluster_labels(migrants, poor.to_numpy(), min_cluster_size=min_cluster_size,
                            min_samples=min_samples, max_fit=max_fit, seed=seed)
    out = describe_clusters(migrants, access, labels.to_numpy(), network=network,
                            min_cell=min_cell, hull_buffer_m=hull_buffer_m,
                            candidates=candidates)
    out.attrs.update({
        "max_time_min": max_time_min, "score_quantile": score_quantile,
        "score_column": score_column, "combine": combine,
        "include_unreachable": include_unreachable, "min_cluster_size": min_cluster_size,
        "min_samples": min_samples, "max_fit": max_fit, "seed": seed,
        "poor_access_migrants": int(poor.sum()),
        "clustered_migrants": int(out["migrants"].sum()) if len(out) else 0,
    })
    return out
