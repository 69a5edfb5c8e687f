"""The main job's access steps by partitions of the people: map, reduce, finish.

A city too large for one process is cut into partitions of its residences; each partition is
routed where it is (a worker holding the road network), and only sums per site and per unit
travel back. The steps, for a set of partitions (migrants in parts; the registered-resident
points as one more part, weighted by their population):

1. **reach** (:func:`reach`, per part): snap the part's people to the roads, find each one's
   nearest service point (overall and per kind), list the people–site pairs within the
   largest threshold with their E2SFCA zone weight, and add up, per site, the part's weighted
   demand (``Σ P_i w(c_ij)``) and the people whose nearest site it is;
2. **reduce** (:func:`site_ratios`): the parts' weighted demands are added per site, and each
   site's staff is divided by its total: ``R_j = S_j / Σ_i P_i w(c_ij)``;
3. **score** (:func:`score`, per part): each person's E2SFCA score ``A_i = Σ_j R_j w(c_ij)``
   from the part's own pairs (which stayed where they were made);
4. **sums** (:func:`part_sums`, per part): the part's people added up per community, per
   district and for the city (:func:`coverage.engine._run_steps.level_sums`); the parts'
   tables are added (:func:`add_sums`) and the summary layers made from them
   (:func:`coverage.engine._run_steps.summaries_of_sums`), as the one-process run makes them.

Every figure is the one-process run's: the same snapping, routing and zone weights, person by
person; sums over people are added part by part, so a float may differ from the one-process
run's in its last digits (addition in another order), never more than 1e-12 relative.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.engine._run_steps import level_sums
from coverage.engine.summary import Units
from coverage.measures.access import e2sfca_steps, step_weights
from coverage.measures.staffing import PER
from coverage.network import RoadNetwork
from coverage.network.graph import SnappedPoints

__all__ = ["Reach", "SiteRoutes", "add_sums", "part_sums", "reach", "score", "site_ratios",
           "site_routes"]


@dataclass(frozen=True)
class SiteRoutes:
    """The service points on the roads: what every part is routed to (made once per worker).

    Attributes
    ----------
    sites
        The sites indexed by ``site_id`` (the run's order).
    snapped
        The sites on the roads, in that order.
    by_kind
        Kind of service point → those sites on the roads.
    """

    sites: gpd.GeoDataFrame
    snapped: SnappedPoints
    by_kind: dict[str, SnappedPoints]


def site_routes(net: RoadNetwork, sites: gpd.GeoDataFrame) -> SiteRoutes:
    """Snap the sites, and each kind of them, to the roads once."""
    table = sites.set_index("site_id", drop=False)
    kinds = sorted(sites["kind"].dropna().unique())
    return SiteRoutes(table, net.snap_points(table),
                      {str(k): net.snap_points(table[table["kind"] == k]) for k in kinds})


@dataclass
class Reach:
    """One part's routing (step 1): kept where it was made, for its scores (step 3).

    Attributes
    ----------
    nearest
        Per person: ``destination`` (site id), ``distance_m``, ``time_min``, ``snap_m``,
        ``reason`` (why unreachable), as :meth:`RoadNetwork.nearest` gives them.
    kind_times
        Kind of service point → each person's minutes to the nearest of that kind.
    origins, sites, zones
        The pairs within the largest threshold: the person (position in the part), the site
        (position in :attr:`SiteRoutes.sites`), both 32-bit, and the pair's E2SFCA zone (its
        weight ``levels[zone]``, :attr:`weights`): a part's routing is kept on its worker
        between rounds, and a pair takes 9 bytes rather than 24.
    levels
        The zones' weights, in increasing order.
    demand
        Per site: the part's weighted demand ``Σ P_i w(c_ij)``.
    nearest_people
        Per site: the part's people (population for points) whose nearest site it is.
    """

    nearest: pd.DataFrame
    kind_times: dict[str, np.ndarray]
    origins: np.ndarray
    sites: np.ndarray
    zones: np.ndarray
    levels: np.ndarray
    demand: np.ndarray
    nearest_people: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        """Each pair's E2SFCA zone weight."""
        return self.levels[self.zones]


def reach(net: RoadNetwork, routes: SiteRoutes, people: gpd.GeoDataFrame,
          thresholds: tuple[float, ...], population: np.ndarray | None = None) -> Reach:
    """Route one part's people to the service points (step 1).

    ``population``: each point's people (registered-resident points); 1 each by default.
    """
    n_sites = len(routes.sites)
    pop = np.ones(len(people)) if population is None else np.asarray(population, float)
    snapped = net.snap_points(people)
    near = net.nearest(snapped, routes.snapped)
    kind_times = {kind: net.nearest(snapped, of_kind)["time_min"].to_numpy()
                  for kind, of_kind in routes.by_kind.items()}
    costs = net.cost_table(snapped, routes.snapped, max_cost=max(thresholds))
    origins = _positions(costs["origin"], people.index)
    sites = routes.sites.index.get_indexer(costs["destination"])
    steps = e2sfca_steps(thresholds)
    weights = step_weights(steps)(costs["cost"].to_numpy(float))
    keep = weights > 0
    origins, sites, weights = origins[keep], sites[keep], weights[keep]
    levels = np.unique(np.fromiter(steps.values(), float))  # every weight kept is one of them
    nearest_site = routes.sites.index.get_indexer(near["destination"])
    assigned = nearest_site >= 0
    return Reach(
        nearest=near.reset_index(drop=True), kind_times=kind_times,
        origins=origins.astype(np.int32), sites=sites.astype(np.int32),
        zones=np.searchsorted(levels, weights).astype(np.min_scalar_type(len(levels))),
        levels=levels,
        demand=np.bincount(sites, weights=pop[origins] * weights, minlength=n_sites),
        nearest_people=np.bincount(nearest_site[assigned], weights=pop[assigned],
                                   minlength=n_sites))


def site_ratios(demands: list[np.ndarray], staff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add the parts' weighted demands per site; return it and ``R_j`` (step 2).

    ``R_j = S_j / Σ_i P_i w(c_ij)``, 0 for a site nobody reaches.
    """
    total = np.sum(demands, axis=0) if demands else np.zeros(len(staff))
    staff = np.asarray(staff, dtype=float)
    ratio = np.divide(staff, total, out=np.zeros_like(staff), where=total > 0)
    return total, ratio


def score(part: Reach, ratio: np.ndarray) -> np.ndarray:
    """Each person's E2SFCA score, staff per 1,000 people (step 3)."""
    n = len(part.nearest)
    return np.bincount(part.origins, weights=ratio[part.sites] * part.weights,
                       minlength=n) * PER


def part_sums(units: Units, thresholds: tuple[float, ...], *,
              migrants: pd.DataFrame | None = None, registered: pd.DataFrame | None = None,
              ) -> dict[str, pd.DataFrame]:
    """Add one part's people up per community, per district and for the city (step 4).

    ``migrants``: the part's access rows (``community_id``, ``time_min``, ``e2sfca``,
    ``unreachable_reason``); ``registered``: the registered-resident points' rows
    (``community_id``, ``population``, ``time_min``, ``e2sfca``). ``units`` holds the
    whole city's communities; the people are placed in them here.
    """
    empty_m = pd.DataFrame({"community_id": pd.Series([], dtype=object), "time_min": [],
                            "e2sfca": [], "unreachable_reason": pd.Series([], dtype=object)})
    empty_r = pd.DataFrame({"community_id": pd.Series([], dtype=object), "population": [],
                            "time_min": [], "e2sfca": []})
    m = empty_m if migrants is None else migrants
    r = empty_r if registered is None else registered
    placed = Units(units.community_id, units.districts, units.community_district,
                   pd.Index(units.community_id).get_indexer(m["community_id"].to_numpy()),
                   pd.Index(units.community_id).get_indexer(r["community_id"].to_numpy()))
    return level_sums(placed, thresholds, m, r[["time_min"]], r,
                      r["e2sfca"].to_numpy(float))


def add_sums(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Add the parts' tables of :func:`part_sums`, level by level."""
    levels = parts[0].keys()
    return {level: sum((p[level] for p in parts[1:]), start=parts[0][level])
            for level in levels}


def _positions(labels: pd.Series, index: pd.Index) -> np.ndarray:
    """Positions of ``labels`` in ``index`` (cost tables carry index labels)."""
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return labels.to_numpy(dtype=np.int64)
    return index.get_indexer(labels)
