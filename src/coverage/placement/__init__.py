"""Location models: where to open service points (p-median, maximal covering, set cover, p-center).

::

    from coverage.placement import max_coverage, p_median, set_cover

    table = net.cost_table(migrants, candidates, max_cost=30)      # origin, destination, cost
    best = max_coverage(table, weights, p=12, max_cost=15, fixed=existing)
    best.sites, best.objective, best.coverage_share, best.status, best.gap

Every model takes the routing layer's long cost table (or a dense demand × candidate array),
builds a sparse MIP with numpy arrays and solves it with HiGHS (:mod:`highspy`); each returns a
:class:`PlacementResult`. Modules: :mod:`~coverage.placement.costs` (input checks, sparse
arrays), one module per model, capacitated variants included (:mod:`~coverage.placement.pmedian`,
:mod:`~coverage.placement.maxcover`, :mod:`~coverage.placement.setcover`,
:mod:`~coverage.placement.pcenter`) on the notation, constants and helpers they share
(:mod:`~coverage.placement._common`), :mod:`~coverage.placement.heuristics` (greedy + vertex
substitution, Lagrangian bounds) and :mod:`~coverage.placement.result`. Beside the location
models: :mod:`~coverage.placement.staff` (new staff to service points, under a cap per point) and
:mod:`~coverage.placement.places` (naming a point: community, road, coordinates, map link).
"""

from __future__ import annotations

from coverage.placement.maxcover import max_coverage
from coverage.placement.pcenter import p_center
from coverage.placement.pmedian import p_median
from coverage.placement.result import PlacementResult
from coverage.placement.setcover import set_cover

__all__ = ["PlacementResult", "max_coverage", "p_center", "p_median", "set_cover"]
