"""The p-median: open ``p`` sites minimising the total weighted cost to the assigned sites.

Holds :func:`p_median` and its private helpers: Elloumi's (2010) formulation, truncated near a
heuristic solution and extended until exact (:func:`_elloumi`, :func:`_kth_nearest`,
:func:`_p_median_exact`), the uncapacitated run, exact or heuristic
(:func:`_p_median_uncapacitated`), and the capacitated p-median (:func:`_p_median_capacitated`).
Notation, constants and the helpers shared with the other models:
:mod:`~coverage.placement._common`.

Elloumi's form of the uncapacitated p-median is equivalent and much smaller than Hakimi's: for
demand ``i`` let ``D_i^1 < … < D_i^K`` be its distinct finite costs (its *levels*) and
``z_i^k ∈ [0, 1]`` mean "no open site within ``D_i^k``"::

    min   Σ_i w_i (D_i^1 + Σ_{k<K} (D_i^{k+1} − D_i^k) z_i^k)
    s.t.  z_i^1 + Σ_{j: c_ij = D_i^1} x_j ≥ 1
          z_i^k − z_i^{k−1} + Σ_{j: c_ij = D_i^k} x_j ≥ 0      (1 < k < K)
          −z_i^{K−1} + Σ_{j: c_ij = D_i^K} x_j ≥ 0
          Σ_j x_j = p,  x_j = 1 (j ∈ F),  x_j ∈ {0, 1}

A demand's levels stop at the first level holding ``m − p + 1`` candidates or a fixed site (an
open site certainly lies within it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from coverage.placement import heuristics
from coverage.placement._common import (
    HEURISTIC_MAX_CELLS,
    KTH_NEAREST,
    TOL,
    Method,
    _assignment,
    _capacitated_assignment,
    _capacitated_outcome,
    _check_method,
    _check_time_limit,
    _fixed_mask,
    _gap_options,
    _mip_failed,
    _remaining,
    _result,
    _unreachable_error,
    _unreached,
    _use_heuristic,
)
from coverage.placement._highs import INF, MipOutcome, solve_mip
from coverage.placement.costs import Instance, capacities, prepare
from coverage.placement.result import PlacementResult

__all__ = ["p_median"]


class _Levels(NamedTuple):
    """Each weighted row's distinct finite costs (its levels), in the order of the pairs."""

    j: np.ndarray  # candidate of each pair of a weighted row
    level: np.ndarray  # level id of each pair
    row: np.ndarray  # row of each level
    d: np.ndarray  # cost of each level
    first: np.ndarray  # whether the level is its row's first
    count: np.ndarray  # candidates with cost at most the level's, per level


def _levels(inst: Instance) -> _Levels:
    """Find the levels of the rows with positive weight (pairs are sorted by row, then cost)."""
    keep = inst.weights[inst.rows] > 0
    r, j, c = inst.rows[keep], inst.cols[keep], inst.cost[keep]
    k = len(r)
    new_row = np.r_[True, r[1:] != r[:-1]]
    new_level = new_row | np.r_[True, c[1:] != c[:-1]]
    level = np.cumsum(new_level) - 1  # global level id per pair
    row_start = np.maximum.accumulate(np.where(new_row, np.arange(k), 0))
    count_upto = np.arange(k) - row_start + 1  # candidates with cost <= this pair's cost
    n_lev = int(level[-1]) + 1 if k else 0
    lev_count = np.zeros(n_lev, dtype=np.int64)
    np.maximum.at(lev_count, level, count_upto)
    return _Levels(j, level, r[new_level], c[new_level], new_row[new_level], lev_count)


def _kept_levels(
    inst: Instance, lv: _Levels, p: int, limit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the levels the model keeps and each row's truncation threshold ``T_i``.

    A row's levels stop at its first cut: a hard one (the level surely holds an open site) is
    kept, a soft one (beyond ``limit``) is dropped and its cost becomes ``T_i`` (``inf`` when the
    row is not truncated).
    """
    n_lev = len(lv.row)
    lev_fixed = np.zeros(n_lev, dtype=bool)
    lev_fixed[lv.level[_fixed_mask(inst)[lv.j]]] = True
    # hard cut: an open site surely lies within this level (m − p + 1 candidates or a fixed one)
    hard = (lv.count >= inst.m - p + 1) | lev_fixed
    soft = (lv.d > limit[lv.row]) & ~lv.first & ~hard
    cut = hard | soft
    cs = np.cumsum(cut) - cut
    first_idx = np.maximum.accumulate(np.where(lv.first, np.arange(n_lev), 0))
    before = (cs - cs[first_idx]) == 0  # no cut earlier in the row
    threshold = np.full(inst.n, np.inf)
    threshold[lv.row[before & soft]] = lv.d[before & soft]
    return np.flatnonzero(before & ~soft), threshold


def _elloumi_matrix(
    inst: Instance,
    j: np.ndarray,
    pair_lev: np.ndarray,
    k_first: np.ndarray,
    zmask: np.ndarray,
    z_col: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the constraint triplets: one row per kept level, then ``Σ x = p``.

    Level ``k`` of demand ``i`` gives ``z_i^k − z_i^{k−1} + Σ_{j: c_ij = D_i^k} x_j`` (the
    formulation in the module docstring; ``z`` only where the level has one).
    """
    nk = len(k_first)
    on = pair_lev >= 0
    own = np.flatnonzero(zmask)
    prev = np.flatnonzero(~k_first)
    a_rows = np.r_[pair_lev[on], own, prev, np.full(inst.m, nk)]
    a_cols = np.r_[j[on], z_col[own], z_col[prev - 1], np.arange(inst.m)]
    a_vals = np.r_[np.ones(int(on.sum())), np.ones(len(own)), -np.ones(len(prev)), np.ones(inst.m)]
    return a_rows, a_cols, a_vals


def _elloumi_start(
    inst: Instance,
    start_cols: np.ndarray | None,
    k_row: np.ndarray,
    k_d: np.ndarray,
    zmask: np.ndarray,
) -> np.ndarray | None:
    """Return the model's values for known sites (``z`` = 1 where their nearest lies farther)."""
    if start_cols is None:
        return None
    _, d1 = inst.nearest(start_cols)
    start = np.zeros(inst.m + int(zmask.sum()))
    start[start_cols] = 1.0
    start[inst.m :] = (d1[k_row] > k_d)[zmask].astype(float)
    return start


def _elloumi(
    inst: Instance,
    p: int,
    limit: np.ndarray,
    start_cols: np.ndarray | None,
    time_limit: float | None,
) -> tuple[MipOutcome, np.ndarray]:
    """Build and solve the uncapacitated p-median in Elloumi's (2010) formulation.

    ``limit`` (per row) truncates the levels: a row keeps its levels up to ``limit`` only, and
    its last kept ``z`` pays up to the next level ``T_i`` (returned, ``inf`` when not truncated).
    The truncated model is a relaxation, exact for any solution whose cost for each row is at
    most ``T_i``.
    """
    lv = _levels(inst)
    kept, threshold = _kept_levels(inst, lv, p, limit)
    new_id = np.full(len(lv.row), -1, dtype=np.int64)
    new_id[kept] = np.arange(len(kept))
    k_row, k_d, k_first = lv.row[kept], lv.d[kept], lv.first[kept]
    k_last = np.r_[k_row[1:] != k_row[:-1], True]
    nk = len(kept)
    # columns: x_0..x_{m-1}, then z for kept levels that have a next level in the model's cost
    zmask = ~k_last | np.isfinite(threshold[k_row])
    nz = int(zmask.sum())
    z_col = np.full(nk, -1, dtype=np.int64)
    z_col[zmask] = inst.m + np.arange(nz)
    nxt_d = np.r_[lv.d, 0.0][kept + 1]
    z_cost = (inst.weights[k_row] * (nxt_d - k_d))[zmask]
    offset = float((inst.weights[k_row] * k_d)[k_first].sum())
    # rows: one per kept level, then Σ x = p
    a_rows, a_cols, a_vals = _elloumi_matrix(inst, lv.j, new_id[lv.level], k_first, zmask, z_col)
    col_lower = np.zeros(inst.m + nz)
    col_lower[inst.fixed] = 1.0
    start = _elloumi_start(inst, start_cols, k_row, k_d, zmask)
    out = solve_mip(
        cost=np.r_[np.zeros(inst.m), z_cost],
        col_lower=col_lower,
        col_upper=np.ones(inst.m + nz),
        integer=np.r_[np.ones(inst.m, dtype=bool), np.zeros(nz, dtype=bool)],
        a_rows=a_rows,
        a_cols=a_cols,
        a_vals=a_vals,
        row_lower=np.r_[k_first.astype(float), p],
        row_upper=np.r_[np.full(nk, INF), p],
        offset=offset,
        time_limit=time_limit,
        start=start,
        options=_gap_options(inst.weights[k_row] * k_d, {"mip_heuristic_effort": 0.0}
                             if start is not None else {}),
    )
    return out, threshold


def _kth_nearest(inst: Instance, is_open: np.ndarray, k: int) -> np.ndarray:
    """Return each row's cost to its k-th nearest open site (1-based; ``inf`` if none)."""
    sel = np.flatnonzero(is_open[inst.cols])  # pairs sorted by row, then cost
    r = inst.rows[sel]
    start = np.r_[True, r[1:] != r[:-1]]
    rank = np.arange(len(r)) - np.maximum.accumulate(np.where(start, np.arange(len(r)), 0))
    hit = rank == k - 1
    out = np.full(inst.n, np.inf)
    out[r[hit]] = inst.cost[sel[hit]]
    return out


def _p_median_exact(
    inst: Instance,
    p: int,
    start_cols: np.ndarray | None,
    *,
    time_limit: float | None,
    t0: float,
) -> tuple[np.ndarray, str, float, int]:
    """Solve Elloumi's model, truncated near a known solution and extended until exact.

    Returns the open columns, status, lower bound and the number of MIPs solved.
    """
    w = inst.weights
    active = w > 0
    limit = np.full(inst.n, np.inf)
    best_cols, best = None, np.inf
    if start_cols is not None:
        _, d1 = inst.nearest(start_cols)
        best_cols, best = start_cols, float(w[active] @ d1[active])
        # keep each demand's levels up to its KTH_NEAREST-th nearest site of the known solution
        is_open = np.zeros(inst.m, dtype=bool)
        is_open[start_cols] = True
        limit = _kth_nearest(inst, is_open, KTH_NEAREST)
    rounds = 0
    while True:
        rounds += 1
        out, threshold = _elloumi(inst, p, limit, best_cols, _remaining(t0, time_limit))
        if best_cols is None:
            _mip_failed(out, "p_median", time_limit)
        if out.x is not None:
            cols = np.flatnonzero(out.x[: inst.m] > 0.5)
            _, d = inst.nearest(cols)
            value = float(w[active] @ d[active])
            if value < best:
                best_cols, best = cols, value
            short = active & (d > threshold)
        else:
            short = np.zeros(inst.n, dtype=bool)
        if out.status != "optimal":
            return best_cols, "time_limit", min(out.bound, best), rounds
        if not short.any():  # the relaxation's optimum is exact: proven optimal
            return best_cols, "optimal", min(out.bound, best), rounds
        limit = np.where(short, d, limit)


def p_median(
    costs: pd.DataFrame | np.ndarray,
    weights: pd.Series | np.ndarray | None,
    p: int,
    *,
    fixed: Iterable[Any] = (),
    capacity: float | pd.Series | np.ndarray | None = None,
    single_source: bool = False,
    time_limit: float | None = None,
    method: Method = "auto",
) -> PlacementResult:
    r"""Open ``p`` sites minimising the total weighted cost from each demand to its site.

    Formulation (uncapacitated; Hakimi's p-median)::

        min   Σ_i Σ_j w_i c_ij y_ij
        s.t.  Σ_j y_ij = 1            for every i with w_i > 0
              y_ij ≤ x_j,  Σ_j x_j = p,  x_j = 1 (j ∈ F),  x_j ∈ {0, 1},  y_ij ≥ 0

    It is solved exactly in Elloumi's (2010) much smaller equivalent form (module docstring).
    Origins of weight 0 are left out of the model and assigned to their nearest open site.

    Capacitated (``capacity`` given; the capacitated p-median)::

        min   Σ_ij w_i c_ij y_ij
        s.t.  Σ_j y_ij = 1 (w_i > 0),  Σ_i w_i y_ij ≤ cap_j x_j,  y_ij ≤ x_j,
              Σ_j x_j = p,  x_j = 1 (j ∈ F),  x_j ∈ {0, 1},  0 ≤ y_ij ≤ 1

    ``y_ij`` is **fractional** by default (an origin's weight may be split between sites, the
    LP-friendly standard form; ``y_ij`` is the share of origin ``i`` served by ``j``); with
    ``single_source=True`` each origin goes to one site (``y_ij ∈ {0, 1}``, harder).

    Parameters
    ----------
    costs
        Cost table (``origin``, ``destination``, ``cost``; absent pairs are unreachable) or a
        dense demand × candidate array (``inf``/``nan``: unreachable).
    weights
        Demand weights: Series indexed by origin, array aligned with the rows, or ``None`` (1).
    p
        Number of open sites, fixed ones included.
    fixed
        Candidate ids that must be open (existing sites).
    capacity
        Weight each site can serve (e.g. staff × service norm): a number, a Series indexed by
        candidate id or an array aligned with the candidates; ``inf`` for unlimited.
    single_source
        Capacitated only: serve each origin from a single site.
    time_limit
        Seconds for the whole call; the solver stops at the limit with its best solution.
    method
        ``"exact"`` (HiGHS), ``"heuristic"`` (greedy + Teitz–Bart with a Lagrangian bound,
        uncapacitated only) or ``"auto"`` (exact unless the instance has more than
        :data:`EXACT_MAX_PAIRS` finite pairs).

    Returns
    -------
    PlacementResult
        ``objective`` = Σ w_i × cost to the assigned site(s); ``assignment`` = nearest open site
        (capacitated: the site with the largest share; the split is in ``allocation``);
        ``coverage`` = weight assigned (the total weight when solved).

    Raises
    ------
    ValueError
        Bad inputs (see :mod:`coverage.placement.costs`), a weighted origin that reaches no
        candidate, or a capacitated instance that cannot serve all demand.
    """
    t0 = time.perf_counter()
    inst = _p_median_instance(costs, weights, p, fixed, method=method, time_limit=time_limit)
    if capacity is not None:
        return _p_median_capacitated(inst, p, capacities(capacity, inst.candidates),
                                     single_source=single_source, time_limit=time_limit, t0=t0)
    return _p_median_uncapacitated(inst, p, method=method, time_limit=time_limit, t0=t0)


def _p_median_instance(
    costs: pd.DataFrame | np.ndarray,
    weights: pd.Series | np.ndarray | None,
    p: int,
    fixed: Iterable[Any],
    *,
    method: Method,
    time_limit: float | None,
) -> Instance:
    """Check the inputs of :func:`p_median`; every weighted origin must reach a candidate."""
    problems: list[str] = []
    _check_method(method, problems)
    _check_time_limit(time_limit, problems)
    inst = prepare(costs, weights, fixed=fixed, p=p, problems=problems)
    _unreachable_error(
        inst,
        np.flatnonzero(_unreached(inst) & (inst.weights > 0)),
        "costs",
        "the p-median assigns every weighted origin: give them weight 0 or add their pairs",
    )
    return inst


def _p_median_start(inst: Instance, p: int, heur: bool) -> tuple[np.ndarray | None, float]:
    """Return the heuristic's sites and cost; ``(None, inf)`` if not run or demand left out.

    The heuristic runs when asked for, or first (to start HiGHS) when the dense cost array is
    small enough.
    """
    if not (heur or inst.n * inst.m <= HEURISTIC_MAX_CELLS):
        return None, np.inf
    start_cols, h_obj = heuristics.p_median_heuristic(inst.dense(), inst.weights, p, inst.fixed)
    _, d1 = inst.nearest(start_cols)
    if not np.isfinite(d1[inst.weights > 0]).all():
        return None, np.inf  # the heuristic left demand unreached
    return start_cols, h_obj


def _lagrangian_bound(inst: Instance, p: int, *, upper: float) -> float:
    """Lagrangian lower bound of the uncapacitated p-median over the weighted rows' pairs."""
    act = inst.weights[inst.rows] > 0
    return heuristics.p_median_lagrangian(
        inst.rows[act], inst.cols[act], inst.cost[act], inst.weights, inst.m, p, inst.fixed,
        upper=upper,
    )


def _p_median_uncapacitated(
    inst: Instance, p: int, *, method: Method, time_limit: float | None, t0: float
) -> PlacementResult:
    """Solve the uncapacitated p-median exactly (from the heuristic's sites) or heuristically."""
    heur = _use_heuristic(method, len(inst.rows))
    start_cols, h_obj = _p_median_start(inst, p, heur)
    rounds = 0
    if heur:
        if start_cols is None:
            msg = "p_median: the heuristic found no site set reaching every weighted origin"
            raise ValueError(msg)
        bound = _lagrangian_bound(inst, p, upper=h_obj)
        open_cols, status, solver = start_cols, "heuristic", "greedy+interchange"
    else:
        open_cols, status, bound, rounds = _p_median_exact(
            inst, p, start_cols, time_limit=time_limit, t0=t0
        )
        solver = "highs"
        if status != "optimal":  # the Lagrangian bound is often tighter than HiGHS's so far
            _, d = inst.nearest(open_cols)
            bound = max(bound, _lagrangian_bound(
                inst, p, upper=float(inst.weights[inst.weights > 0] @ d[inst.weights > 0])))
    col, dist = inst.nearest(open_cols)
    objective = float(inst.weights[inst.weights > 0] @ dist[inst.weights > 0])
    return _result(
        "p_median",
        inst,
        open_cols,
        objective=objective,
        assignment=_assignment(inst, col),
        coverage=float(inst.weights[col >= 0].sum()),
        status=status,
        bound=min(bound, objective),
        seconds=time.perf_counter() - t0,
        solver=solver,
        info={"mip_rounds": rounds},
    )


def _p_median_capacitated(
    inst: Instance,
    p: int,
    cap: np.ndarray,
    *,
    single_source: bool,
    time_limit: float | None,
    t0: float,
) -> PlacementResult:
    act = inst.weights[inst.rows] > 0
    pr, pc, pcost = inst.rows[act], inst.cols[act], inst.cost[act]
    biggest = np.sort(np.where(np.isfinite(cap), cap, np.inf))[::-1][:p].sum()
    if biggest < inst.total_weight * (1 - TOL):
        msg = (
            f"capacity: the {p} largest capacities sum to {biggest:g}, less than the total "
            f"weight {inst.total_weight:g}; raise capacities or p"
        )
        raise ValueError(msg)
    out = _capacitated_assignment(
        inst, pr, pc, pcost, cap, p,
        objective=inst.weights[pr] * pcost,
        assign_rows=(1.0, 1.0),
        maximize=False,
        single_source=single_source,
        time_limit=_remaining(t0, time_limit),
    )
    open_cols, share, alloc, assignment = _capacitated_outcome(
        out, inst, pr, pc, pcost, "p_median", time_limit)
    objective = float((inst.weights[pr] * pcost * share).sum())
    return _result(
        "capacitated_p_median",
        inst,
        open_cols,
        objective=objective,
        assignment=assignment,
        coverage=float(alloc["weight"].sum()),
        status=out.status,
        bound=min(out.bound, objective),
        seconds=time.perf_counter() - t0,
        solver="highs",
        allocation=alloc,
        info={"single_source": single_source},
    )
