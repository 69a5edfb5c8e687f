"""Location models: where to open service points (p-median, maximal covering, set cover, p-center).

::

    from coverage.placement import max_coverage, p_median, set_cover

    table = net.cost_table(migrants, candidates, max_cost=30)      # origin, destination, cost
    best = max_coverage(table, weights, p=12, max_cost=15, fixed=existing)
    best.sites, best.objective, best.coverage_share, best.status, best.gap

Every model takes the routing layer's long cost table (or a dense demand × candidate array),
builds a sparse MIP with numpy arrays and solves it with HiGHS (:mod:`highspy`); each returns a
:class:`PlacementResult`. Modules: :mod:`~coverage.placement.costs` (input checks, sparse
arrays), :mod:`~coverage.placement.models` (the four models and their capacitated variants),
:mod:`~coverage.placement.heuristics` (greedy + vertex substitution, Lagrangian bounds) and
:mod:`~coverage.placement.result`. Beside the location models: :mod:`~coverage.placement.staff`
(new staff to service points, under a cap per point) and :mod:`~coverage.placement.places`
(naming a point: community, road, coordinates, map link).
"""

from __future__ import annotations

from coverage.placement.models import max_coverage, p_center, p_median, set_cover
from coverage.placement.result import PlacementResult

__all__ = ["PlacementResult", "max_coverage", "p_center", "p_median", "set_cover"]
