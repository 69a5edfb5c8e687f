"""Road networks, snapping and network cost tables.

This layer knows roads and points, nothing of migrants or services::

    from coverage.network import RoadNetwork

    net = RoadNetwork.from_file("guixi.osm", mode="walk")         # or .osm.pbf, .gpkg, .graphml
    print(net.report())                                           # components and sizes
    near = net.nearest(migrants, sites)                           # destination, distance_m, ...
    table = net.cost_table(migrants, sites, max_cost=15)          # pairs within 15 minutes
    areas = net.service_areas(sites, [5, 10, 15])                 # catchment polygons

Modules: :mod:`~coverage.network.modes` (travel modes, tag filters, speeds),
:mod:`~coverage.network.arrays` (the network as arrays, and their checks),
:mod:`~coverage.network.readers` (file and graph readers; OSM files in
:mod:`~coverage.network.osm`), :mod:`~coverage.network.cache` (on-disk cache),
:mod:`~coverage.network.graph` (:class:`RoadNetwork`), :mod:`~coverage.network.components`
(connected components), :mod:`~coverage.network.points` (point inputs, points snapped once),
:mod:`~coverage.network.snap` (exact nearest-segment snapping),
:mod:`~coverage.network.snap_grid` (the snapping grid of a cached network: most snaps in one
lookup, and which points may have a road of another component nearer),
:mod:`~coverage.network.costs` (nearest, cost tables), :mod:`~coverage.network.areas` (service
areas),
:mod:`~coverage.network.offsets` (is a layer's declared GCJ-02/BD-09/WGS-84 right?) and
:mod:`~coverage.network.offset_medians` (the earlier GCJ-02/BD-09 check).
"""

from __future__ import annotations

from coverage.network.areas import service_areas
from coverage.network.costs import cost_table, nearest
from coverage.network.graph import DEFAULT_MAX_SNAP_M, RoadNetwork
from coverage.network.modes import DEFAULT_SPEEDS_KMH, MODES
from coverage.network.offset_medians import CoordinateSystemWarning, OffsetCheck, check_offset
from coverage.network.readers import FILE_TYPES, NetworkArrays
from coverage.network.snap import (
    REASON_DISCONNECTED,
    REASON_FAR,
    REASON_MISSING,
    REASON_NONE_REACHABLE,
)

__all__ = [
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_SPEEDS_KMH",
    "FILE_TYPES",
    "MODES",
    "REASON_DISCONNECTED",
    "REASON_FAR",
    "REASON_MISSING",
    "REASON_NONE_REACHABLE",
    "CoordinateSystemWarning",
    "NetworkArrays",
    "OffsetCheck",
    "RoadNetwork",
    "check_offset",
    "cost_table",
    "nearest",
    "service_areas",
]
