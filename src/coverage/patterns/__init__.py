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
small counts) and :mod:`~coverage.patterns.trends` (arrivals per quarter, Theil–Sen,
Mann–Kendall, emerging hot spots, projection, early warning) and
:mod:`~coverage.patterns.flows` (origin provinces and prefectures, commuting corridors,
workplaces). Column documentation: ``docs/patterns.md`` and ``docs/flows.md``.
"""

from __future__ import annotations

from coverage.patterns.flows import (
    commute_flows,
    cooperation_partners,
    origin_flows,
    top_corridors,
    workplace_clusters,
)
from coverage.patterns.grid import (
    DEFAULT_EDGE_M,
    hex_cells,
    hex_centres,
    hex_frame,
    hex_ids,
    hex_keys,
    hex_polygons,
    hex_weights,
    point_cells,
)
from coverage.patterns.hotspots import (
    CONFIDENCE_LEVELS,
    DEFAULT_PERMUTATIONS,
    DEFAULT_RINGS,
    classify,
    fdr_threshold,
    gi_star,
    hot_spots,
    suppress_counts,
    unmet_demand_cells,
)
from coverage.patterns.trends import (
    DEFAULT_HORIZON,
    DEFAULT_MIN_GROWTH,
    DEFAULT_QUARTERS,
    PROJECTION_METHODS,
    arrivals_by_quarter,
    community_weights,
    emerging_hot_spots,
    inflow_trends,
    mann_kendall,
    project_migrants,
    quarter_label,
    theil_sen,
)
from coverage.patterns.underserved import (
    DEFAULT_MAX_TIME_MIN,
    DEFAULT_MIN_CLUSTER_SIZE,
    cluster_labels,
    describe_clusters,
    network_median,
    poor_access,
    underserved_clusters,
)
from coverage.reference import load_provinces

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
    "CONFIDENCE_LEVELS",
    "DEFAULT_EDGE_M",
    "DEFAULT_HORIZON",
    "DEFAULT_MAX_TIME_MIN",
    "DEFAULT_MIN_CLUSTER_SIZE",
    "DEFAULT_MIN_GROWTH",
    "DEFAULT_PERMUTATIONS",
    "DEFAULT_QUARTERS",
    "DEFAULT_RINGS",
    "PATTERN_LAYERS",
    "PROJECTION_METHODS",
    "arrivals_by_quarter",
    "classify",
    "cluster_labels",
    "community_weights",
    "commute_flows",
    "cooperation_partners",
    "describe_clusters",
    "emerging_hot_spots",
    "fdr_threshold",
    "gi_star",
    "hex_cells",
    "hex_centres",
    "hex_frame",
    "hex_ids",
    "hex_keys",
    "hex_polygons",
    "hex_weights",
    "hot_spots",
    "inflow_trends",
    "load_provinces",
    "mann_kendall",
    "network_median",
    "origin_flows",
    "point_cells",
    "poor_access",
    "project_migrants",
    "quarter_label",
    "suppress_counts",
    "theil_sen",
    "top_corridors",
    "underserved_clusters",
    "unmet_demand_cells",
    "workplace_clusters",
]
