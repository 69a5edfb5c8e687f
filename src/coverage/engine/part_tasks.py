"""What a worker does with one part of a city's migrants, round by round.

The tasks :mod:`coverage.engine.partitioned_run` sends to the workers: each reads or receives
its part, routes it on the worker's copy of the road network (read once per worker process,
:func:`worker_network`), keeps the part's routing between rounds (:class:`Part`) and hands the
driver sums and counts only (:class:`PartCounts`), never a person's record. The round each
task belongs to: :mod:`coverage.engine.partitioned_run`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.engine import partitioned as pt
from coverage.engine.preflight import read_network, suspect_declarations
from coverage.engine.summary import Units
from coverage.io.layers import ROW
from coverage.io.loaders import StudyData
from coverage.measures import indicators as ind
from coverage.measures.availability import columns_with_values
from coverage.patterns import cluster_parts as cp
from coverage.patterns.commutes import GridCounts, commute_cells, workplace_cells
from coverage.patterns.hotspots import unmet_demand_cells
from coverage.patterns.inflow_counts import InflowCounts, inflow_counts
from coverage.patterns.origins import origin_counts
from coverage.patterns.underserved import describe_clusters, poor_access

__all__ = ["Part", "PartCounts", "access_rows", "cluster_members", "count_part", "describe",
           "hash_ids", "id_at", "id_hashes", "part_migrants", "raw_labels", "route_part",
           "route_registered", "sample_points", "service_areas", "worker_network"]

#: Per worker process: (network file, mode, study CRS) → (network, sites on the roads).
_NETWORKS: dict[tuple[str, str, str], tuple[Any, pt.SiteRoutes]] = {}


def worker_network(context: StudyData, mode: str) -> tuple[Any, pt.SiteRoutes]:
    """Return the network and the sites on it, read once per worker process."""
    key = (str(context.network_path), mode, context.crs.to_string())
    if key not in _NETWORKS:
        net = read_network(context, mode)
        _NETWORKS.clear()  # one city at a time per worker
        _NETWORKS[key] = (net, pt.site_routes(net, context.sites))
    return _NETWORKS[key]


@dataclass
class Part:
    """What a part keeps on its worker between rounds: its routing, not its people.

    The part's rows are read again (or taken again from the worker's memory, when they were
    sent) to be counted; only the poor-access residents' rows, the under-served clusters'
    candidates, stay. A worker's memory thus grows by a part's routing, not by its people.
    """

    source: gpd.GeoDataFrame | str
    reach: pt.Reach
    poor_rows: np.ndarray
    poor_points: np.ndarray
    poor: gpd.GeoDataFrame
    id_hashes: np.ndarray


@dataclass
class PartCounts:
    """What a part hands back after scoring: sums and counts only."""

    sums: dict[str, pd.DataFrame]
    unreachable: int
    indicators: pd.DataFrame
    quarters: pd.DataFrame | None
    cells: pd.DataFrame
    origins: pd.DataFrame | None
    inflow: InflowCounts | None
    commutes: GridCounts | None
    workplaces: GridCounts | None


def part_migrants(context: StudyData, source: gpd.GeoDataFrame | str
                 ) -> tuple[gpd.GeoDataFrame, list[Any], int]:
    """Return a part's migrants: given, or read from its file (a part of a partitioned layer)."""
    if not isinstance(source, str):
        return source, [], 0
    from coverage.io.loaders import place_part

    migrants, problems, quarantined = place_part(context, source)
    return migrants, list(problems.items), quarantined


def route_part(context: StudyData, mode: str, source: gpd.GeoDataFrame | str,
               check: bool = False) -> tuple[Part, dict[str, Any]]:
    """Round 1: route one part; return it (kept) and what the driver adds up.

    ``check``: also check the declared coordinate systems against the roads, the migrants
    by this part (done for the first part, while its rows are at hand): ``suspects``.
    """
    migrants, problems, quarantined = part_migrants(context, source)
    net, routes = worker_network(context, mode)
    thresholds = context.project.parameters.thresholds_min
    reach = pt.reach(net, routes, migrants, thresholds)
    times = pd.DataFrame({"time_min": reach.nearest["time_min"].to_numpy()})
    rows, points = cp.poor_points(migrants, poor_access(times).to_numpy())
    ids = hash_ids(migrants) if isinstance(source, str) else np.zeros(0, np.uint64)
    part = Part(source, reach, rows, points, migrants.iloc[rows], ids)
    suspects = []
    if check:
        probe = replace(context, layers=context.layers | {"migrants": migrants})
        suspects = [message for _file, message in suspect_declarations(probe, net)]
    return part, {"demand": reach.demand, "nearest": reach.nearest_people,
                  "poor": len(rows), "year": ind.latest_arrival_year(migrants),
                  "schema": migrants.iloc[:0], "present": columns_with_values(migrants),
                  "problems": problems, "suspects": suspects,
                  "quarantined": quarantined, "rows": len(migrants)}


def access_rows(migrants: gpd.GeoDataFrame, reach: pt.Reach, ratio: np.ndarray,
                rows: np.ndarray | None = None) -> pd.DataFrame:
    """Return the part's rows of ``migrant_access``, the E2SFCA score included.

    ``rows``: the positions in the part of ``migrants`` when they are some of its people
    (the frame is then indexed by them).
    """
    from coverage.engine.run import access_table

    pick = slice(None) if rows is None else rows
    access = access_table(migrants, reach.nearest.iloc[pick])
    for kind, values in reach.kind_times.items():
        access[f"time_min_{kind}"] = values[pick]
    access["e2sfca"] = pt.score(reach, ratio)[pick]
    return access if rows is None else access.set_axis(rows)


def count_part(part: Part, context: StudyData, ratio: np.ndarray, year: int,
               skipped: dict[str, str]) -> PartCounts:
    """Round 2: score one part and count it."""
    params = context.project.parameters
    migrants, _, _ = part_migrants(context, part.source)
    targets = params.targets
    access = access_rows(migrants, part.reach, ratio)
    units = Units.of(context.communities, [], [])
    poor = np.zeros(len(migrants), bool)
    poor[part.poor_rows] = True
    return PartCounts(
        sums=pt.part_sums(units, params.thresholds_min, migrants=access),
        unreachable=int(access["unreachable_reason"].notna().sum()),
        indicators=ind.indicator_counts(migrants, targets=targets, year=year),
        quarters=(ind.indicator_counts(migrants, targets=targets, year=year, by_quarter=True)
                  if "recorded_on" in migrants else None),
        cells=unmet_demand_cells(migrants, poor_access(access).to_numpy()),
        origins=(None if "origin_flows" in skipped
                 else origin_counts(migrants, context.communities)),
        inflow=None if "inflow_trends" in skipped else inflow_counts(migrants),
        commutes=None if "commute_flows" in skipped else commute_cells(migrants),
        workplaces=None if "workplace_clusters" in skipped else workplace_cells(migrants),
    )


def route_registered(context: StudyData, mode: str, registered: gpd.GeoDataFrame
                    ) -> pt.Reach:
    """Route the registered-resident points (one more part, weighted by population)."""
    net, routes = worker_network(context, mode)
    return pt.reach(net, routes, registered, context.project.parameters.thresholds_min,
                    population=registered["population"].to_numpy(float))


def hash_ids(migrants: pd.DataFrame) -> np.ndarray:
    """Return a 64-bit hash of each of the part's person ids (missing ids: none)."""
    ids = migrants["person_id"]
    return pd.util.hash_array(ids[ids.notna()].astype(str).to_numpy(dtype=object))


def id_hashes(part: Part) -> np.ndarray:
    """Return the hashes of the part's person ids (:func:`hash_ids`, made in round 1)."""
    return part.id_hashes


def id_at(part: Part, context: StudyData, position: int) -> tuple[str, int]:
    """Return the id and the source row of the part's ``position``-th id (read again)."""
    migrants, _, _ = part_migrants(context, part.source)
    known = migrants[migrants["person_id"].notna()]
    return str(known["person_id"].iloc[position]), int(known[ROW].iloc[position])


def service_areas(context: StudyData, mode: str, max_t: float, lo: int, hi: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Sites ``lo:hi``'s catchment polygons within ``max_t`` minutes, and why unreachable.

    Each site's polygon is its own (:func:`coverage.network.areas.service_areas`), so the
    sites are drawn in chunks on the workers, side by side.
    """
    net, routes = worker_network(context, mode)
    sites = routes.sites.iloc[lo:hi]
    areas = net.service_areas(sites, [max_t])
    return (areas.set_index("site")["geometry"].reindex(sites.index).to_numpy(),
            routes.snapped.reason[lo:hi])


def sample_points(part: Part, local: np.ndarray | None) -> np.ndarray:
    """Round 3a: the part's sampled poor points (all of them when ``local`` is None)."""
    return part.poor_points if local is None else part.poor_points[local]


def raw_labels(part: Part, sample: np.ndarray | None, fitted: np.ndarray, lo: int,
               hi: int) -> np.ndarray:
    """Round 3b: the raw cluster label of each of the part's poor points."""
    if sample is None:
        return fitted[lo:hi]
    return cp.nearest_labels(part.poor_points, sample, fitted)


def cluster_members(part: Part, raw: np.ndarray, rank: np.ndarray, ratio: np.ndarray
                    ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, np.ndarray]:
    """Round 3c: the part's members of clusters, their access rows and labels."""
    label = np.full(len(raw), -1, dtype=np.int64)
    keep = raw >= 0
    label[keep] = rank[raw[keep]]
    rows = part.poor_rows[keep]
    access = access_rows(part.poor.iloc[np.flatnonzero(keep)], part.reach, ratio, rows)
    return part.poor.iloc[np.flatnonzero(keep)], access, label[keep]


def describe(members: list[tuple[gpd.GeoDataFrame, pd.DataFrame, np.ndarray]],
             context: StudyData, mode: str, totals: pd.Series) -> gpd.GeoDataFrame:
    """Describe the clusters from their members, gathered in the parts' order (a worker)."""
    net, _ = worker_network(context, mode)
    frames = [m for m, _, _ in members]
    people = pd.concat(frames) if frames else gpd.GeoDataFrame(
        {"community_id": pd.Series([], dtype=object)}, geometry=[], crs=context.crs)
    access = pd.concat([a for _, a, _ in members]) if members else pd.DataFrame(
        {"time_min": []})
    labels = np.concatenate([lab for _, _, lab in members]) if members else np.zeros(0, int)
    return describe_clusters(gpd.GeoDataFrame(people, crs=context.crs), access, labels,
                             network=net, min_cell=context.project.min_cell,
                             community_totals=totals)
