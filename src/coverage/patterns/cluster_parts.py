"""The steps of clustering the under-served, each on what parts of a city can hand over.

:func:`coverage.patterns.underserved.cluster_labels` fits HDBSCAN on a seeded sample of the
residences with poor access and gives every other residence the label of its nearest sampled
one. The steps here are that procedure cut where a city computed by parts
(:mod:`coverage.engine.partitioned`) exchanges data, and the one-process run takes the same
steps with one part, so both give the same clusters:

1. :func:`poor_points`: a part's residences with poor access (its own order);
2. :func:`sample_positions`: which of all of them are fitted: positions in the city's order
   (the parts' points one after another), drawn from the total alone;
3. :func:`fit_labels`: HDBSCAN on the sampled points;
4. :func:`nearest_labels`: every point's label, that of its nearest sampled point;
5. :func:`size_ranks`: labels renumbered 1, 2, … by decreasing size, from the sizes added
   over the parts.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree
from sklearn.cluster import HDBSCAN

__all__ = ["fit_labels", "nearest_labels", "poor_points", "sample_positions", "size_ranks"]


def poor_points(migrants: gpd.GeoDataFrame | gpd.GeoSeries, poor: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows (positions) and ``(k, 2)`` points of the located poor-access residences."""
    geo = migrants.geometry if isinstance(migrants, gpd.GeoDataFrame) else migrants
    x = geo.x.to_numpy(dtype=np.float64, na_value=np.nan)
    y = geo.y.to_numpy(dtype=np.float64, na_value=np.nan)
    poor = np.asarray(poor, dtype=bool)
    if len(poor) != len(x):
        msg = f"poor has {len(poor)} values for {len(x)} migrants; align them by position"
        raise ValueError(msg)
    rows = np.flatnonzero(poor & np.isfinite(x) & np.isfinite(y))
    return rows, np.column_stack([x[rows], y[rows]])


def sample_positions(total: int, max_fit: int, seed: int) -> np.ndarray | None:
    """Return the sorted positions HDBSCAN is fitted on, ``None`` for all ``total`` points.

    A seeded uniform sample of ``max_fit`` when there are more (HDBSCAN's cost grows faster
    than linearly).
    """
    if total <= max_fit:
        return None
    return np.sort(np.random.default_rng(seed).choice(total, max_fit, replace=False))


def fit_labels(points: np.ndarray, *, min_cluster_size: int,
               min_samples: int | None) -> np.ndarray:
    """Return HDBSCAN's label of every point (−1 for noise), Euclidean distance in metres."""
    model = HDBSCAN(min_cluster_size=int(min_cluster_size),
                    min_samples=None if min_samples is None else int(min_samples), copy=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return model.fit_predict(points)


def nearest_labels(points: np.ndarray, sample: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return the label of each point's nearest sampled point (``sample``, fitted ``labels``)."""
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    _, nearest = cKDTree(sample).query(points)
    return np.asarray(labels)[nearest]


def size_ranks(sizes: np.ndarray) -> np.ndarray:
    """Rank of each raw label 0, 1, … by decreasing size (ties by label), starting at 1."""
    sizes = np.asarray(sizes)
    order = np.lexsort((np.arange(len(sizes)), -sizes))  # largest first, stable
    rank = np.empty(len(sizes), dtype=np.int64)
    rank[order] = np.arange(1, len(sizes) + 1)
    return rank
