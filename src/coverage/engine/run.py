"""The main job: access, staffing, equalization and indicators for a whole project.

:func:`run_study` chains the layers below it and returns a :class:`RunResults`;
:func:`write_results` writes ``results.gpkg`` (the layers of :data:`RESULT_LAYERS`) and a CSV
copy of each. Every column is documented in ``docs/outputs.md``, ``docs/patterns.md`` and
``docs/flows.md``.

Steps (each timed in ``RunResults.timings``):

1. load and check the inputs (:mod:`coverage.io.loaders`);
2. read the road network for the travel mode (:mod:`coverage.network`, cached on disk) and check
   that layers declared WGS-84 sit on the roads (a GCJ-02 or BD-09 layer is named);
3. snap migrants, registered-resident points and sites to the roads once;
4. nearest service point for every migrant (overall and per kind of service point) and every
   registered-resident point;
5. the cost table within the largest time threshold, and the E2SFCA score of every migrant and
   registered-resident point against the sites' staff (both groups compete for the same staff);
6. staffing per community and per site catchment, equalization per community and district,
   funding per district (with a ``budgets`` layer), the plan's indicators, catchment polygons;
7. the patterns (:mod:`coverage.patterns`): under-served clusters, hot spots of unmet demand,
   inflow trends and early warnings, origin and commuting flows, workplaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.engine import _run_steps
from coverage.engine.baseline import Baseline
from coverage.engine.preflight import read_network, suspect_declarations
from coverage.engine.provenance import data_quality, run_info, with_layers
from coverage.engine.scorecard import scorecard
from coverage.engine.writing import (
    PERSON_LAYER,
    RECOMMENDATION_FILES,
    RECOMMENDATION_LAYERS,
    RESULT_LAYERS,
    SIMULATION_PREFIX,
    simulation_layer,
    write_layers,
    write_results,
)
from coverage.io.loaders import StudyData, load_study
from coverage.io.project import Parameters, Project
from coverage.measures.access import e2sfca_steps, enhanced_two_step_fca
from coverage.measures.availability import estimated_analyses, skipped_analyses
from coverage.measures.equalization import allocate_registered
from coverage.measures.funding import funding_table
from coverage.measures.indicators import indicator_quarters, indicator_table
from coverage.measures.staffing import PER, catchment_staffing
from coverage.network import RoadNetwork
from coverage.network.graph import SnappedPoints
from coverage.patterns import (
    commute_flows,
    hot_spots,
    inflow_trends,
    origin_flows,
    poor_access,
    underserved_clusters,
    workplace_clusters,
)
from coverage.patterns.hotspots import TooFewCellsError

# The writers live in coverage.engine.writing; the main job's module is where users take them from.
__all__ = ["PERSON_LAYER", "RECOMMENDATION_FILES", "RECOMMENDATION_LAYERS", "RESULT_LAYERS",
           "SIMULATION_PREFIX", "RunResults", "run_study", "simulation_layer", "write_layers",
           "write_results"]


@dataclass
class RunResults:
    """Everything :func:`run_study` computes.

    Attributes
    ----------
    study
        The loaded inputs.
    mode
        Travel mode used.
    migrant_access
        One row per migrant: ids and numbers only (no coordinates).
    site_catchments
        One row per service point with its catchment polygon at the largest threshold.
    community_summary
        One row per community with its polygon.
    district_summary
        One row per district and one for the whole city.
    funding
        Per-capita funding of migrants and registered residents, the gap and the budget
        needed per district and for the city (:func:`coverage.measures.funding.funding_table`);
        ``None`` without a ``budgets`` layer (reason in :attr:`skipped`).
    indicators
        The plan's indicators by city, district and community.
    scorecard
        The district scorecard (:func:`coverage.engine.scorecard.scorecard`, published
        figures, the project's ``[assessment]``).
    indicator_quarters
        The indicators by quarter of the service record (city and districts), or ``None`` when
        the records carry no date.
    underserved_clusters, hotspots, inflow_trends, origin_flows, commute_flows, \
    workplace_clusters
        The patterns (:mod:`coverage.patterns`), aggregates only; ``None`` for an analysis
        the data does not allow (its reason is in :attr:`skipped`).
    run_info, data_quality
        Provenance (parameters, input hashes, conversions, skipped analyses) and the input
        problems counted (:mod:`coverage.engine.provenance`).
    baseline
        The routing the run did (:class:`~coverage.engine.baseline.Baseline`), for a scenario
        model built in the same process; not a result layer.
    skipped, estimated
        Analysis → reason code for the analyses the data does not allow, and for those
        computed from an approximation (:mod:`coverage.measures.availability`).
    notes
        Warnings for the user (coordinate-system suspicions, unreachable sites ...).
    timings
        Step → seconds.
    """

    study: StudyData
    mode: str
    migrant_access: pd.DataFrame
    site_catchments: gpd.GeoDataFrame
    community_summary: gpd.GeoDataFrame
    district_summary: pd.DataFrame
    indicators: pd.DataFrame
    underserved_clusters: gpd.GeoDataFrame
    hotspots: gpd.GeoDataFrame | None
    inflow_trends: gpd.GeoDataFrame | None
    origin_flows: gpd.GeoDataFrame | None
    commute_flows: gpd.GeoDataFrame | None
    workplace_clusters: gpd.GeoDataFrame | None
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    indicator_quarters: pd.DataFrame | None = None
    run_info: pd.DataFrame | None = None
    data_quality: pd.DataFrame | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    estimated: dict[str, str] = field(default_factory=dict)
    baseline: Baseline | None = field(default=None, repr=False)
    funding: pd.DataFrame | None = None
    scorecard: pd.DataFrame | None = None

    def layers(self, *, person_level: bool = False) -> dict[str, pd.DataFrame]:
        """Return the result layers by name, in :data:`RESULT_LAYERS` order.

        ``indicator_quarters`` follows ``indicators`` when the service records carry dates.
        With ``person_level``, ``migrant_access`` (one row per migrant) comes first.
        """
        out = {PERSON_LAYER: self.migrant_access} if person_level else {}
        for name in RESULT_LAYERS:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
            if name == "indicators" and self.indicator_quarters is not None:
                out["indicator_quarters"] = self.indicator_quarters
        return out


class _Clock:
    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}
        self._name: str | None = None
        self._start = 0.0

    def step(self, name: str) -> None:
        self.stop()
        self._name, self._start = name, time.perf_counter()
        if self.progress:
            self.progress(name)

    def stop(self) -> None:
        if self._name is not None:
            self.timings[self._name] = time.perf_counter() - self._start
            self._name = None


def run_study(
    study: StudyData | Project | str | Path,
    *,
    mode: str = "walk",
    network: RoadNetwork | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunResults:
    """Compute access, staffing, equalization and indicators for a project.

    Parameters
    ----------
    study
        Loaded inputs, a project or the path of a project.
    mode
        ``walk`` (default) or ``ebike``.
    network
        An already-read network for ``mode`` in the study CRS (read from the project otherwise).
    progress
        Called with a short description at the start of each step.

    Returns
    -------
    RunResults
        The result tables, notes and step timings.
    """
    clock = _Clock(progress)
    if not isinstance(study, StudyData):
        clock.step("loading inputs")
        study = load_study(study, progress=None)
    params = study.project.parameters
    thresholds = params.thresholds_min
    notes: list[str] = [str(p) for p in study.problems.warnings]
    clock.step(f"reading the {mode} network")
    net = network or read_network(study, mode)
    clock.step("checking coordinate systems against the roads")
    notes += [message for _file, message in suspect_declarations(study, net)]
    migrants, sites, communities = study.migrants, study.sites, study.communities
    skipped = skipped_analyses(study.layers)
    estimated = estimated_analyses(study.layers)
    registered = study.layers.get("registered_points")
    if registered is None:
        registered = allocate_registered(communities)
    clock.step("snapping points to the roads")
    snap_m, snap_r, sites_idx, snap_s = _snap_all(net, migrants, registered, sites, notes)
    clock.step("nearest service point")
    access, near_r = _nearest_sites(net, sites, sites_idx, migrants, snap_m, snap_r, snap_s)
    clock.step("cost table and E2SFCA")
    demand, costs, migrant_score, registered_score = _e2sfca_scores(
        net, sites_idx, migrants, registered, snap_m, snap_r, snap_s, thresholds)
    access["e2sfca"] = migrant_score  # accessible staff per 1,000 people
    clock.step("staffing, equalization and indicators")
    community_summary, district_summary = _run_steps.summaries(
        study, access, near_r, registered, registered_score)
    indicators = indicator_table(migrants, communities, sites=sites, targets=params.targets)
    quarters = indicator_quarters(migrants, communities, targets=params.targets)
    funding, scores = funding_and_scores(study, skipped, district_summary, community_summary,
                                         indicators)
    clock.step("site catchments")
    site_catchments = _site_catchments(net, sites_idx, snap_s, access, near_r, registered,
                                       demand, costs, params)
    patterns = _patterns(study, net, access, skipped, clock)
    clock.stop()
    baseline = Baseline(
        network=net, registered=registered, sites=sites_idx, snap_m=snap_m, snap_r=snap_r,
        snap_s=snap_s, near_m=access[["site_id", "time_min"]].rename(
            columns={"site_id": "destination"}),
        near_r=near_r, costs=costs, max_t=max(thresholds))
    results = RunResults(study=study, mode=mode, migrant_access=access,
                         run_info=run_info(study, mode, clock.timings, skipped=skipped,
                                           estimated=estimated),
                         skipped=skipped, estimated=estimated,
                         data_quality=data_quality(study),
                         site_catchments=site_catchments, community_summary=community_summary,
                         district_summary=district_summary, funding=funding,
                         indicators=indicators, **patterns,
                         notes=notes, timings=clock.timings, indicator_quarters=quarters,
                         baseline=baseline, scorecard=scores)
    results.run_info = with_layers(results.run_info, list(results.layers()))
    return results


def funding_and_scores(study: StudyData, skipped: dict[str, str],
                        district_summary: pd.DataFrame, community_summary: pd.DataFrame,
                        indicators: pd.DataFrame) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """Return the funding table (``None`` without budgets) and the district scorecard."""
    params = study.project.parameters
    funding = None if "funding" in skipped else funding_table(
        study.budgets, district_summary, standard=params.funding.standard,
        year=params.funding.year)
    scored = {"district_summary": district_summary, "indicators": indicators,
              "community_summary": community_summary}
    if funding is not None:  # the scorecard's funding equality
        scored["funding"] = funding
    return funding, scorecard(scored, study.project.assessment,
                              min_cell=study.project.min_cell)


def _snap_all(
    net: RoadNetwork, migrants: gpd.GeoDataFrame, registered: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame, notes: list[str],
) -> tuple[SnappedPoints, SnappedPoints, gpd.GeoDataFrame, SnappedPoints]:
    """Snap migrants, registered-resident points and sites to the roads once.

    Appends a note to ``notes`` when some service points cannot be reached from the roads.

    Returns
    -------
    snap_m, snap_r : SnappedPoints
        The migrants and the registered-resident points on the roads.
    sites_idx : geopandas.GeoDataFrame
        The sites indexed by ``site_id``.
    snap_s : SnappedPoints
        The sites on the roads, in the order of ``sites_idx``.
    """
    snap_m = net.snap_points(migrants)
    snap_r = net.snap_points(registered)
    sites_idx = sites.set_index("site_id", drop=False)
    snap_s = net.snap_points(sites_idx)
    unreachable_sites = snap_s.reason[pd.notna(snap_s.reason)]
    if len(unreachable_sites):
        notes.append(f"{len(unreachable_sites)} service points cannot be reached from the road "
                     "network (too far from a road or on a cut-off part); they serve nobody here")
    return snap_m, snap_r, sites_idx, snap_s


def _nearest_sites(
    net: RoadNetwork, sites: gpd.GeoDataFrame, sites_idx: gpd.GeoDataFrame,
    migrants: gpd.GeoDataFrame, snap_m: SnappedPoints, snap_r: SnappedPoints,
    snap_s: SnappedPoints,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Find the nearest service point of every migrant and registered-resident point.

    Returns
    -------
    access : pandas.DataFrame
        One row per migrant: ids, distance, time and snap distance to the nearest service
        point, why it is unreachable, then ``time_min_<kind>`` for each kind of service point.
    near_r : pandas.DataFrame
        The nearest service point of each registered-resident point (``net.nearest``).
    """
    access = access_table(migrants, net.nearest(snap_m, snap_s))
    for kind in sorted(sites["kind"].dropna().unique()):
        of_kind = sites_idx[sites_idx["kind"] == kind]
        access[f"time_min_{kind}"] = net.nearest(snap_m, net.snap_points(of_kind))[
            "time_min"].to_numpy()
    near_r = net.nearest(snap_r, snap_s)
    return access, near_r


def access_table(migrants: pd.DataFrame, near: pd.DataFrame) -> pd.DataFrame:
    """Return the first columns of ``migrant_access``: ids and the nearest service point.

    ``near``: :meth:`RoadNetwork.nearest` of the migrants, in their order.
    """
    return pd.DataFrame({
        "person_id": migrants["person_id"].to_numpy(),
        "community_id": migrants["community_id"].to_numpy(),
        "site_id": near["destination"].to_numpy(),
        "distance_m": near["distance_m"].to_numpy(),
        "time_min": near["time_min"].to_numpy(),
        "snap_m": near["snap_m"].to_numpy(),
        "unreachable_reason": near["reason"].to_numpy(),
    })


def _e2sfca_scores(
    net: RoadNetwork, sites_idx: gpd.GeoDataFrame, migrants: gpd.GeoDataFrame,
    registered: gpd.GeoDataFrame, snap_m: SnappedPoints, snap_r: SnappedPoints,
    snap_s: SnappedPoints, thresholds: tuple[float, ...],
) -> tuple[pd.Series, pd.DataFrame, np.ndarray, np.ndarray]:
    """Build the cost table and score migrants and registered residents with E2SFCA.

    Migrants (weight 1 each) and registered-resident points (weighted by population) compete
    for the same staff, within the largest time threshold.

    Returns
    -------
    demand : pandas.Series
        The people of each origin: the migrants first, then the registered-resident points.
    costs : pandas.DataFrame
        The cost table, its origins given as positions in ``demand``.
    migrant_score, registered_score : numpy.ndarray
        Accessible staff per 1,000 people of each migrant and registered-resident point.
    """
    max_t = max(thresholds)
    n_m = len(migrants)
    demand = pd.concat([
        pd.Series(1.0, index=pd.RangeIndex(n_m)),
        pd.Series(registered["population"].to_numpy(float),
                  index=pd.RangeIndex(n_m, n_m + len(registered))),
    ])
    cost_m = net.cost_table(snap_m, snap_s, max_cost=max_t)
    cost_r = net.cost_table(snap_r, snap_s, max_cost=max_t)
    cost_m["origin"] = _positions(cost_m["origin"], migrants.index)
    cost_r["origin"] = _positions(cost_r["origin"], registered.index) + n_m
    costs = pd.concat([cost_m, cost_r], ignore_index=True)
    supply = sites_idx["staff"].astype(float)
    score = enhanced_two_step_fca(demand, supply, costs, steps=e2sfca_steps(thresholds))
    return demand, costs, score.to_numpy()[:n_m] * PER, score.to_numpy()[n_m:] * PER


def _site_catchments(
    net: RoadNetwork, sites_idx: gpd.GeoDataFrame, snap_s: SnappedPoints,
    access: pd.DataFrame, near_r: pd.DataFrame, registered: gpd.GeoDataFrame,
    demand: pd.Series, costs: pd.DataFrame, params: Parameters,
) -> gpd.GeoDataFrame:
    """Compute the staffing of each service point's catchment, with its catchment polygon.

    Catchments count the people whose nearest service point it is; the E2SFCA columns weigh
    the ``demand`` within reach in ``costs`` by travel-time zone. The polygon is the area
    reachable within the largest time threshold.
    """
    thresholds = params.thresholds_min
    max_t = max(thresholds)
    catch = catchment_staffing(
        sites_idx, pd.Series(access["site_id"].to_numpy()),
        pd.Series(near_r["destination"].to_numpy()),
        pd.Series(registered["population"].to_numpy(float)),
        min_population=params.rate_min_population)
    served = costs.assign(w=_zone_weight(costs["cost"].to_numpy(), thresholds))
    served["w"] *= demand.to_numpy()[served["origin"].to_numpy()]
    weighted_demand = served.groupby("destination")["w"].sum().reindex(sites_idx.index,
                                                                        fill_value=0.0)
    areas = net.service_areas(snap_s, [max_t])
    area_geom = areas.set_index("site")["geometry"].reindex(sites_idx.index)
    return catchment_layer(sites_idx, catch, weighted_demand.to_numpy(), area_geom.to_numpy(),
                           snap_s.reason, max_t, crs=net.crs)


def catchment_layer(sites_idx: gpd.GeoDataFrame, catch: pd.DataFrame,
                    weighted_demand: np.ndarray, areas: np.ndarray, reason: np.ndarray,
                    max_t: float, *, crs: object) -> gpd.GeoDataFrame:
    """Make the ``site_catchments`` layer from its parts, in the sites' order.

    ``catch``: the people whose nearest service point each site is and the staff ratios
    (:func:`coverage.measures.staffing.catchment_staffing`); ``weighted_demand``: each site's
    E2SFCA weighted demand; ``areas``: its catchment polygon within ``max_t`` minutes;
    ``reason``: why it cannot be reached from the roads (missing when it can).
    """
    return gpd.GeoDataFrame(
        {
            "site_id": sites_idx["site_id"].to_numpy(),
            "name": sites_idx["name"].to_numpy(),
            "kind": sites_idx["kind"].to_numpy(),
            "community_id": sites_idx["community_id"].to_numpy(),
            **{c: catch[c].to_numpy() for c in catch.columns},
            "weighted_demand_e2sfca": weighted_demand,
            "staff_per_1000_e2sfca": np.where(
                weighted_demand > 0,
                sites_idx["staff"].to_numpy(float) / np.where(weighted_demand > 0,
                                                              weighted_demand, 1) * PER,
                np.nan),
            "unreachable_reason": reason,
            "catchment_min": max_t,
        },
        geometry=gpd.GeoSeries(areas, crs=crs),
        crs=crs,
    )


def _patterns(
    study: StudyData, net: RoadNetwork, access: pd.DataFrame, skipped: dict[str, str],
    clock: _Clock,
) -> dict[str, gpd.GeoDataFrame | None]:
    """Find the patterns, each analysis a timed step of ``clock``.

    Analyses named in ``skipped`` are left out (``None``); when there are too few cells for
    hot spots, ``hotspots`` is added to ``skipped``. Returns the pattern layers by their
    :class:`RunResults` field name.
    """
    migrants, sites, communities = study.migrants, study.sites, study.communities
    params = study.project.parameters
    min_cell = study.project.min_cell
    clock.step("under-served clusters")
    clusters = underserved_clusters(migrants, access, network=net, min_cell=min_cell)
    clock.step("hot spots")
    try:
        spots = hot_spots(migrants, poor_access(access), min_cell=min_cell)
    except TooFewCellsError:
        spots = None
        skipped["hotspots"] = "too-few-cells"
    trends = origins = commutes = workplaces = None
    if "inflow_trends" not in skipped:
        clock.step("inflow trends")
        trends = inflow_trends(migrants, communities, sites=sites,
                               standard=params.staffing_standard, min_cell=min_cell)
    clock.step("origin and commuting flows")
    if "origin_flows" not in skipped:
        origins = origin_flows(migrants, communities, min_cell=min_cell)
    if "commute_flows" not in skipped:
        commutes = commute_flows(migrants, communities=communities, min_cell=min_cell)
    if "workplace_clusters" not in skipped:
        workplaces = workplace_clusters(migrants, sites=sites, communities=communities,
                                        min_cell=min_cell)
    return {"underserved_clusters": clusters, "hotspots": spots, "inflow_trends": trends,
            "origin_flows": origins, "commute_flows": commutes, "workplace_clusters": workplaces}


def _positions(labels: pd.Series, index: pd.Index) -> np.ndarray:
    """Positions of ``labels`` in ``index`` (cost tables carry index labels)."""
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return labels.to_numpy(dtype=np.int64)
    return index.get_indexer(labels)


def _zone_weight(cost: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    steps = e2sfca_steps(thresholds)
    bounds = np.array(list(steps))
    weights = np.array(list(steps.values()))
    zone = np.searchsorted(bounds, cost, side="left")
    return np.where(zone < len(bounds), weights[np.minimum(zone, len(bounds) - 1)], 0.0)
