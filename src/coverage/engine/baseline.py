"""The routed baseline of a project: its people and service points on the roads, once.

Routing is most of the main job's time: every migrant and registered-resident point snapped to
the roads, the nearest service point of each, and every person–site pair within the largest
time threshold. The main job (:func:`coverage.engine.run.run_study`) computes them once into a
:class:`Baseline`; the analysis model of scenarios
(:class:`coverage.engine.scenario.ScenarioModel`) starts from the same object when it is built
in the same process (``ScenarioModel(study, baseline=results.baseline)``), instead of snapping
and routing again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.network import RoadNetwork
from coverage.network.graph import SnappedPoints

__all__ = ["Baseline"]


@dataclass(frozen=True)
class Baseline:
    """What routing gives for a project's people and service points in one travel mode.

    Attributes
    ----------
    network
        The road network routed on.
    registered
        The registered-resident points (allocated from the communities when the project has
        none), in the main job's order.
    sites
        The service points, indexed by ``site_id``.
    snap_m, snap_r, snap_s
        The migrants, the registered-resident points and the service points on the roads.
    near_m, near_r
        The nearest service point of every migrant and registered-resident point
        (:meth:`~coverage.network.RoadNetwork.nearest`: ``destination`` is a ``site_id``).
    costs
        Every pair within ``max_t`` minutes: ``origin`` the position of the person among the
        demand rows (the migrants first, then the registered-resident points),
        ``destination`` the ``site_id``, ``cost`` in minutes.
    max_t
        The largest time threshold (minutes).
    """

    network: RoadNetwork
    registered: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    snap_m: SnappedPoints
    snap_r: SnappedPoints
    snap_s: SnappedPoints
    near_m: pd.DataFrame
    near_r: pd.DataFrame
    costs: pd.DataFrame
    max_t: float

    @staticmethod
    def by_position(snapped: SnappedPoints) -> SnappedPoints:
        """Label the snapped points 0 … n-1 (the scenario model's row numbers).

        The attachment arrays the cost functions derived from the snap are shared, not
        computed again.
        """
        if snapped.index.equals(pd.RangeIndex(len(snapped))):
            return snapped
        return dataclasses.replace(snapped, index=pd.RangeIndex(len(snapped)),
                                   derived=snapped.derived)

    def nearest_of(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the nearest service point of migrants or registered-resident points.

        ``which`` is ``"m"`` (migrants) or ``"r"`` (registered-resident points); returned are
        the minutes to it and its ``site_id`` (None: unreachable), one of each per person.
        """
        near = self.near_m if which == "m" else self.near_r
        dest = near["destination"].to_numpy(dtype=object)
        site = np.full(len(dest), None, dtype=object)
        ok = pd.notna(dest)
        site[ok] = dest[ok]
        return near["time_min"].to_numpy(float), site

    def pairs(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Pairs within ``max_t`` by service point: ``site_id`` → (demand rows, minutes).

        Each site's rows are in the order of :attr:`costs` (the migrants first), as the
        scenario model routes them itself.
        """
        position = self.sites.index.get_indexer(self.costs["destination"].to_numpy())
        orig = self.costs["origin"].to_numpy(np.int64)
        cost = self.costs["cost"].to_numpy(float)
        order = np.argsort(position, kind="stable")
        position, orig, cost = position[order], orig[order], cost[order]
        bounds = np.searchsorted(position, np.arange(len(self.sites) + 1))
        return {sid: (orig[bounds[k]:bounds[k + 1]], cost[bounds[k]:bounds[k + 1]])
                for k, sid in enumerate(self.sites.index)}
