"""The p-center: open ``p`` sites minimising the largest cost to the nearest open site.

Holds :func:`p_center`, solved by a binary search over set covers (:func:`_search_radius`, each
radius tried by :func:`_greedy_cover`, then the covering MIP, in :func:`_cover_at`), and the
completion of the cover to ``p`` sites (:func:`_complete_sites`). The covering MIP, notation and
constants shared with the other models: :mod:`~coverage.placement._common`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coverage.placement._common import (
    _assignment,
    _check_time_limit,
    _cover_matrix,
    _cover_mip,
    _remaining,
    _result,
    _unreachable_error,
    _unreached,
)
from coverage.placement.costs import Instance, prepare
from coverage.placement.result import PlacementResult

__all__ = ["p_center"]


def _greedy_cover(a: sp.csr_array, fixed: np.ndarray, limit: int) -> np.ndarray | None:
    """Greedy set cover of all rows of ``a``; ``None`` if it needs more than ``limit`` sites."""
    at = a.T.tocsr()
    is_open = np.zeros(a.shape[1], dtype=bool)
    is_open[fixed] = True
    cnt = a @ is_open.astype(float)
    while (cnt == 0).any():
        if is_open.sum() >= limit:
            return None
        gain = at @ (cnt == 0).astype(float)
        gain[is_open] = -1
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            return None
        is_open[j] = True
        cnt = cnt + a[:, [j]].toarray().ravel()
    return np.flatnonzero(is_open)


def p_center(
    costs: pd.DataFrame | np.ndarray,
    p: int,
    *,
    fixed: Iterable[Any] = (),
    time_limit: float | None = None,
) -> PlacementResult:
    r"""Open ``p`` sites minimising the largest cost from any origin to its nearest open site.

    Formulation (the vertex p-center, unweighted)::

        min   r
        s.t.  Σ_j y_ij = 1,  y_ij ≤ x_j,  Σ_j c_ij y_ij ≤ r     for every origin i
              Σ_j x_j = p,  x_j = 1 (j ∈ F),  x_j, y_ij ∈ {0, 1}

    Solved exactly by its set-covering characterisation (Minieka 1970): the optimum ``r*`` is
    one of the distinct finite costs ``R``, and a radius ``R`` is feasible iff the set cover
    ``min Σ_j x_j s.t. Σ_{j: c_ij ≤ R} x_j ≥ 1 ∀i, x_j = 1 (j ∈ F)`` needs at most ``p`` sites.
    A binary search over the sorted costs (from ``max_i min_j c_ij``, a lower bound) finds the
    smallest feasible ``R``; each test first tries a greedy cover, then HiGHS. If the cover
    found uses fewer than ``p`` sites, the remaining ones are added greedily to reduce the total
    cost to the nearest site (the optimum ``r*`` is unchanged).

    Parameters
    ----------
    costs
        As in :func:`p_median`; every origin counts (there are no weights).
    p
        Number of open sites, fixed ones included.
    fixed
        Candidate ids that must be open.
    time_limit
        Seconds for the whole search; when reached, the best radius proven so far is returned
        with ``status="time_limit"`` and ``bound`` the largest radius not proven infeasible.

    Returns
    -------
    PlacementResult
        ``objective`` = largest cost to the nearest open site; ``assignment`` = nearest open
        site; ``coverage`` = number of origins assigned (all).
    """
    t0 = time.perf_counter()
    problems: list[str] = []
    _check_time_limit(time_limit, problems)
    inst = prepare(costs, None, fixed=fixed, p=p, problems=problems)
    _unreachable_error(
        inst, np.flatnonzero(_unreached(inst)), "costs",
        "every origin of a p-center must reach a site",
    )
    radii = _radii(inst)
    hi_cols, low, hi = _search_radius(inst, p, radii, time_limit=time_limit, t0=t0)
    open_cols = _complete_sites(inst, hi_cols, p)
    col, dist = inst.nearest(open_cols)
    objective = float(dist.max())
    status = "optimal" if low >= hi else "time_limit"
    return _result(
        "p_center",
        inst,
        open_cols,
        objective=objective,
        assignment=_assignment(inst, col),
        coverage=float(inst.weights[col >= 0].sum()),
        status=status,
        bound=float(radii[low]) if status != "optimal" else objective,
        seconds=time.perf_counter() - t0,
        solver="highs",
    )


def _radii(inst: Instance) -> np.ndarray:
    """Distinct finite costs from the lower bound ``max_i min_j c_ij`` up, in increasing order."""
    first = np.r_[True, inst.rows[1:] != inst.rows[:-1]]
    lower = float(inst.cost[first].max())
    radii = np.unique(inst.cost)
    return radii[radii >= lower]


def _cover_at(
    inst: Instance, p: int, radius: float, *, time_limit: float | None, t0: float
) -> tuple[np.ndarray | None, bool]:
    """Return a cover of ≤ p sites at ``radius`` (or None) and whether the answer is proven."""
    a = _cover_matrix(inst, inst.cost <= radius)
    greedy = _greedy_cover(a, inst.fixed, p)
    if greedy is not None:
        return greedy, True
    out = _cover_mip(inst, a, np.arange(inst.n), target_weight=None,
                     time_limit=_remaining(t0, time_limit))
    if out.x is not None and round(out.objective) + len(inst.fixed) <= p:
        return np.flatnonzero(out.x > 0.5), True
    if out.status == "optimal" or out.bound + len(inst.fixed) > p + 1e-6:
        return None, True
    return None, False


def _search_radius(
    inst: Instance, p: int, radii: np.ndarray, *, time_limit: float | None, t0: float
) -> tuple[np.ndarray, int, int]:
    """Binary search for the smallest radius that ``p`` sites cover.

    Returns the cover at ``radii[hi]``, the smallest feasible radius found, and ``low``: radii
    below ``radii[low]`` are proven infeasible (``low >= hi``: the radius is optimal).
    """
    hi_cols, _ = _cover_at(inst, p, float(radii[-1]), time_limit=time_limit, t0=t0)
    if hi_cols is None:
        msg = "p: no choice of p sites (fixed included) reaches every origin; raise p"
        raise ValueError(msg)
    lo, hi = 0, len(radii) - 1  # radii[hi] is feasible
    low = 0  # radii below radii[low] are proven infeasible
    while lo < hi:
        mid = (lo + hi) // 2
        cols, sure = _cover_at(inst, p, float(radii[mid]), time_limit=time_limit, t0=t0)
        if cols is not None:
            hi, hi_cols = mid, cols
        else:
            lo = mid + 1
            low = max(low, lo) if sure else low
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    return hi_cols, low, hi


def _complete_sites(inst: Instance, cols: np.ndarray, p: int) -> np.ndarray:
    """Complete a cover to ``p`` sites, greedily reducing the total cost to the nearest site."""
    is_open = np.zeros(inst.m, dtype=bool)
    is_open[cols] = True
    _, d1 = inst.nearest(cols)
    while is_open.sum() < p:
        gain = np.bincount(inst.cols, weights=np.maximum(d1[inst.rows] - inst.cost, 0.0),
                           minlength=inst.m)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        _, d1 = inst.nearest(np.flatnonzero(is_open))
    return np.flatnonzero(is_open)
