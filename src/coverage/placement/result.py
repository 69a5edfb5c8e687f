"""The result object every location model returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["PlacementResult"]

#: Solver statuses a result can carry.
STATUSES = ("optimal", "time_limit", "heuristic")


@dataclass(frozen=True, repr=False)
class PlacementResult:
    """A solved location model (spopt-like).

    Attributes
    ----------
    model
        ``"p_median"``, ``"max_coverage"``, ``"set_cover"`` or ``"p_center"``, with a
        ``"capacitated_"`` prefix when capacities apply.
    objective
        The objective value of the returned sites, recomputed from the data (not the solver's
        rounded value): total weighted cost (p-median), covered weight (maximal coverage),
        number of **new** sites (set cover) or the largest cost to the nearest site (p-center).
    sites
        Chosen candidate ids, fixed ones included, in candidate order.
    fixed
        The fixed (existing) sites among ``sites``.
    assignment
        Indexed by origin: the site each origin is assigned to (missing when none). Uncapacitated
        models assign each origin to its nearest open site (within ``max_cost`` for the coverage
        models). Capacitated models may split an origin; ``assignment`` then names the site with
        the largest share and ``allocation`` holds the split.
    allocation
        Capacitated models only: columns ``origin``, ``site``, ``share`` (fraction of the
        origin's weight, 0–1), ``weight`` (weight served) and ``cost``. ``None`` otherwise.
    coverage
        Covered weight: weight within ``max_cost`` of an open site (set cover, uncapacitated
        maximal coverage), weight served within ``max_cost`` (capacitated maximal coverage), or
        the weight assigned to a site (p-median, p-center: every reachable origin).
    coverage_share
        ``coverage`` divided by the total weight (0–1; 1 when the total is 0).
    status
        ``"optimal"`` (proven within HiGHS's default relative gap 1e-4, usually 0),
        ``"time_limit"`` (best solution found when the time limit stopped the solver) or
        ``"heuristic"`` (the exact model was not run; heuristic solution with a bound).
    bound
        A valid bound on the optimal objective: lower for minimisation, upper for maximisation.
    gap
        Relative gap ``|objective − bound| / max(|objective|, 1e-9)``; 0 when proven optimal.
    seconds
        Wall-clock time of the whole call (input checks, building and solving).
    solver
        What produced the solution, e.g. ``"highs"`` or ``"greedy+interchange"``.
    """

    model: str
    objective: float
    sites: list
    fixed: list
    assignment: pd.Series
    coverage: float
    coverage_share: float
    status: str
    bound: float
    gap: float
    seconds: float
    solver: str
    allocation: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)

    @property
    def new_sites(self) -> list:
        """Chosen sites that are not fixed."""
        fixed = set(self.fixed)
        return [s for s in self.sites if s not in fixed]

    def __repr__(self) -> str:
        shown = ", ".join(repr(s) for s in self.sites[:8])
        shown += ", ..." if len(self.sites) > 8 else ""
        return (
            f"PlacementResult(model={self.model!r}, objective={self.objective:.6g}, "
            f"sites=[{shown}] ({len(self.sites)}), coverage_share={self.coverage_share:.4f}, "
            f"status={self.status!r}, gap={self.gap:.3g}, seconds={self.seconds:.3f})"
        )


def relative_gap(objective: float, bound: float) -> float:
    """Return ``|objective − bound| / max(|objective|, 1e-9)`` (``inf`` without a bound)."""
    if not np.isfinite(bound):
        return float("inf")
    return float(abs(objective - bound) / max(abs(objective), 1e-9))
