"""Spatial and temporal patterns: under-served clusters, hot spots, inflow trends (and flows).

Every function takes tables and returns tables; the ``results.gpkg`` layers are::

    from coverage.patterns import hot_spots, inflow_trends, poor_access, underserved_clusters

    clusters = underserved_clusters(study.migrants, results.migrant_access, network=net)
    spots = hot_spots(study.migrants, poor_access(results.migrant_access))
    trends = inflow_trends(study.migrants, study.communities, sites=study.sites)
    origins = origin_flows(study.migrants, study.communities)
    commutes = commute_flows(study.migrants, communities=study.communities)
    workplaces = workplace_clusters(study.migrants, sites=study.sites)

Modules: :mod:`~coverage.patterns.grid` (metric hexagonal grid and its weights),
:mod:`~coverage.patterns.underserved` (poor access, HDBSCAN clusters, network median),
:mod:`~coverage.patterns.hotspots` (Getis–Ord Gi*, permutation inference, FDR, suppression of
small counts), :mod:`~coverage.patterns.timeseries` (Theil–Sen, Mann–Kendall),
:mod:`~coverage.patterns.emerging` (emerging hot spots), :mod:`~coverage.patterns.trends`
(arrivals per quarter, growth, projection, early warning),
:mod:`~coverage.patterns.origins` (origin provinces and prefectures, cooperation partners) and
:mod:`~coverage.patterns.commutes` (commuting corridors, workplaces). The building blocks (the
grid, Gi*, the trend tests, ...) are imported from their module. Column documentation:
``docs/patterns.md`` and ``docs/flows.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name → module that defines it; imported when first used, so that a module needing
#: one pattern (a report needs the cooperation partners) does not import them all (the hot
#: spots' statistics libraries take a second).
_NAMES = {
    "commute_flows": "commutes",
    "workplace_clusters": "commutes",
    "hot_spots": "hotspots",
    "cooperation_partners": "origins",
    "origin_flows": "origins",
    "top_corridors": "origins",
    "inflow_trends": "trends",
    "cluster_labels": "underserved",
    "describe_clusters": "underserved",
    "poor_access": "underserved",
    "underserved_clusters": "underserved",
}

#: ``results.gpkg`` layers made by this package.
PATTERN_LAYERS = (
    "underserved_clusters",
    "hotspots",
    "inflow_trends",
    "origin_flows",
    "commute_flows",
    "workplace_clusters",
)

__all__ = [
    "PATTERN_LAYERS",
    "cluster_labels",
    "commute_flows",
    "cooperation_partners",
    "describe_clusters",
    "hot_spots",
    "inflow_trends",
    "origin_flows",
    "poor_access",
    "top_corridors",
    "underserved_clusters",
    "workplace_clusters",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _NAMES.get(name)
    if module is None:
        msg = f"module 'coverage.patterns' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"coverage.patterns.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
