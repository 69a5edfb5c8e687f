"""Set cover: open the fewest new sites so that a share of the demand is within a radius.

Holds :func:`set_cover` (full and partial covering) and :func:`_set_cover_mip`, which checks the
target and solves the covering MIP, :func:`_cover_mip`; the MIP is shared with the p-center and
lives in :mod:`~coverage.placement._common` with the notation and constants.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coverage.placement._common import (
    TOL,
    _assignment,
    _check_time_limit,
    _cover_matrix,
    _cover_mip,
    _covered_by_fixed,
    _fixed_mask,
    _mip_failed,
    _nearest_within,
    _result,
    _unreachable_error,
)
from coverage.placement._highs import MipOutcome
from coverage.placement.costs import Instance, prepare
from coverage.placement.result import PlacementResult

__all__ = ["set_cover"]


def set_cover(
    costs: pd.DataFrame | np.ndarray,
    *,
    max_cost: float,
    weights: pd.Series | np.ndarray | None = None,
    target: float = 1.0,
    fixed: Iterable[Any] = (),
    time_limit: float | None = None,
) -> PlacementResult:
    r"""Open the fewest new sites so that a share ``target`` of the demand is within ``max_cost``.

    Formulation (``target = 1``: the location set covering problem, Toregas et al. 1971)::

        min   Σ_{j ∉ F} x_j
        s.t.  Σ_{j ∈ N_i} x_j ≥ 1             for every i with w_i > 0
              x_j = 1 (j ∈ F),  x_j ∈ {0, 1}

    With ``target < 1`` (partial covering; e.g. the plan's 95 %), ``y_i`` = ``i`` is covered::

        min   Σ_{j ∉ F} x_j
        s.t.  y_i ≤ Σ_{j ∈ N_i} x_j,   Σ_i w_i y_i ≥ target · Σ_i w_i,
              x_j = 1 (j ∈ F),  x_j ∈ {0, 1},  0 ≤ y_i ≤ 1

    Demand covered by a fixed site needs no variable.

    Parameters
    ----------
    costs
        As in :func:`p_median`.
    max_cost
        Coverage radius (a pair at exactly ``max_cost`` is covered).
    weights
        Demand weights (``None``: every origin counts 1, so ``target`` is a share of origins).
    target
        Share of the total weight to cover, in (0, 1].
    fixed
        Existing sites (open, not counted in the objective).
    time_limit
        Seconds for the solver.

    Returns
    -------
    PlacementResult
        ``objective`` = number of **new** sites (``len(new_sites)``); ``sites`` includes the
        fixed ones; ``coverage`` = weight within ``max_cost`` of an open site;
        ``assignment`` = nearest open site within ``max_cost``.

    Raises
    ------
    ValueError
        Bad inputs, ``target`` outside (0, 1], or a target that no set of sites can reach (some
        demand has no candidate within ``max_cost``).
    """
    t0 = time.perf_counter()
    problems: list[str] = []
    _check_time_limit(time_limit, problems)
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
        problems.append(f"target: must be a share in (0, 1] (got {target!r})")
    inst = prepare(
        costs, weights, fixed=fixed, max_cost=max_cost, within_only=True, problems=problems
    )
    a = _cover_matrix(inst, inst.reach(max_cost) & (inst.weights[inst.rows] > 0))
    out = _set_cover_mip(inst, a, max_cost=max_cost, target=target, time_limit=time_limit)
    _mip_failed(out, "set_cover", time_limit)
    open_cols = np.flatnonzero(out.x[: inst.m] > 0.5)
    col = _nearest_within(inst, open_cols, max_cost)
    new = float(len(open_cols) - len(inst.fixed))
    return _result(
        "set_cover", inst, open_cols, objective=new, assignment=_assignment(inst, col),
        coverage=float(inst.weights[col >= 0].sum()), status=out.status,
        bound=min(np.ceil(out.bound - 1e-6), new), seconds=time.perf_counter() - t0,
        solver="highs", info={"target": target, "max_cost": max_cost},
    )


def _set_cover_mip(
    inst: Instance, a: sp.csr_array, *, max_cost: float, target: float,
    time_limit: float | None,
) -> MipOutcome:
    """Solve the covering MIP for the demand no fixed site covers, after checking ``target``.

    Raises a ValueError when the target cannot be met: with ``target = 1``, some weighted demand
    reaches no candidate; below 1, less than the target is within reach.
    """
    reachable = np.diff(a.indptr) > 0
    total = inst.total_weight
    by_fixed = _covered_by_fixed(a, _fixed_mask(inst))
    if target >= 1:
        _unreachable_error(
            inst,
            np.flatnonzero(~reachable & (inst.weights > 0)),
            "target",
            f"no candidate lies within max_cost={max_cost}, so target=1 cannot be met; lower "
            "target or raise max_cost",
        )
        need = np.flatnonzero(reachable & ~by_fixed)
        return _cover_mip(inst, a, need, target_weight=None, time_limit=time_limit)
    best = float(inst.weights[reachable].sum())
    goal = target * total
    if best < goal * (1 - TOL):
        msg = (
            f"target: {target:g} of the weight cannot be covered within max_cost={max_cost}; "
            f"at most {best / total:.6g} is reachable. Lower target or raise max_cost"
        )
        raise ValueError(msg)
    need = np.flatnonzero(reachable & ~by_fixed)
    rest = goal * (1 - TOL) - float(inst.weights[by_fixed].sum())
    return _cover_mip(inst, a, need, target_weight=max(rest, 0.0), time_limit=time_limit)
