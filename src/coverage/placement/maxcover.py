"""Maximal covering (MCLP): open ``p`` sites covering the most demand within a radius.

Holds :func:`max_coverage` and its private helpers: the capacitated model
(:func:`_max_coverage_capacitated`), the uncapacitated one, exact or heuristic
(:func:`_max_coverage_uncapacitated`), and :func:`_mclp`, the uncapacitated MIP after exact
reductions. Notation, constants and the helpers shared with the other models:
:mod:`~coverage.placement._common`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coverage.placement import heuristics
from coverage.placement._common import (
    Method,
    _assignment,
    _capacitated_assignment,
    _capacitated_outcome,
    _check_method,
    _check_time_limit,
    _cover_matrix,
    _covered_by_fixed,
    _fixed_mask,
    _gap_options,
    _mip_failed,
    _nearest_within,
    _remaining,
    _result,
    _use_heuristic,
)
from coverage.placement._highs import INF, MipOutcome, solve_mip
from coverage.placement.costs import Instance, capacities, prepare
from coverage.placement.result import PlacementResult

__all__ = ["max_coverage"]


def max_coverage(
    costs: pd.DataFrame | np.ndarray,
    weights: pd.Series | np.ndarray | None,
    p: int,
    *,
    max_cost: float,
    fixed: Iterable[Any] = (),
    capacity: float | pd.Series | np.ndarray | None = None,
    time_limit: float | None = None,
    method: Method = "auto",
) -> PlacementResult:
    r"""Open ``p`` sites covering the most demand weight within ``max_cost`` (MCLP).

    Formulation (uncapacitated; Church & ReVelle 1974), ``y_i`` = demand ``i`` is covered::

        max   Σ_i w_i y_i
        s.t.  y_i ≤ Σ_{j ∈ N_i} x_j          (N_i = {j : c_ij ≤ max_cost})
              Σ_j x_j = p,  x_j = 1 (j ∈ F),  x_j ∈ {0, 1},  0 ≤ y_i ≤ 1

    (``y_i`` can be continuous: with integer ``x`` an optimum has ``y_i ∈ {0, 1}``.) Demand
    already covered by a fixed site is counted as a constant and left out of the model.

    Capacitated (``capacity`` given), ``y_ij`` = share of demand ``i`` served by site ``j``::

        max   Σ_i Σ_{j ∈ N_i} w_i y_ij
        s.t.  Σ_{j ∈ N_i} y_ij ≤ 1,  Σ_i w_i y_ij ≤ cap_j x_j,  y_ij ≤ x_j,
              Σ_j x_j = p,  x_j = 1 (j ∈ F),  x_j ∈ {0, 1},  0 ≤ y_ij ≤ 1

    Shares are fractional: an origin may be partly served (by one or several sites in reach).

    Parameters
    ----------
    costs, weights, p, fixed, time_limit
        As in :func:`p_median`.
    max_cost
        Coverage radius ``S`` in the unit of the costs (a pair at exactly ``S`` is covered).
    capacity
        Weight each site can serve within ``max_cost``; see :func:`p_median`.
    method
        As in :func:`p_median` (the heuristic is greedy + swaps with a Lagrangian bound;
        uncapacitated only).

    Returns
    -------
    PlacementResult
        ``objective`` = ``coverage`` = weight covered (capacitated: weight served);
        ``assignment`` = nearest open site within ``max_cost`` (missing when uncovered;
        capacitated: the site with the largest share, the split in ``allocation``).
    """
    t0 = time.perf_counter()
    problems: list[str] = []
    _check_method(method, problems)
    _check_time_limit(time_limit, problems)
    inst = prepare(
        costs, weights, fixed=fixed, p=p, max_cost=max_cost, within_only=True, problems=problems
    )
    within = inst.reach(max_cost) & (inst.weights[inst.rows] > 0)
    if capacity is not None:
        return _max_coverage_capacitated(inst, within, capacity, p, time_limit=time_limit, t0=t0)
    return _max_coverage_uncapacitated(
        inst, within, p, max_cost, method=method, time_limit=time_limit, t0=t0
    )


def _max_coverage_capacitated(
    inst: Instance,
    within: np.ndarray,
    capacity: float | pd.Series | np.ndarray,
    p: int,
    *,
    time_limit: float | None,
    t0: float,
) -> PlacementResult:
    """Solve the capacitated MCLP on the pairs ``within`` the radius (fractional shares)."""
    pr, pc, pcost = inst.rows[within], inst.cols[within], inst.cost[within]
    cap = capacities(capacity, inst.candidates)
    out = _capacitated_assignment(
        inst, pr, pc, pcost, cap, p,
        objective=inst.weights[pr],
        assign_rows=(-INF, 1.0),
        maximize=True,
        single_source=False,
        time_limit=_remaining(t0, time_limit),
    )
    open_cols, _, alloc, assignment = _capacitated_outcome(
        out, inst, pr, pc, pcost, "max_coverage", time_limit)
    served = float(alloc["weight"].sum())
    return _result(
        "capacitated_max_coverage",
        inst,
        open_cols,
        objective=served,
        assignment=assignment,
        coverage=served,
        status=out.status,
        bound=max(out.bound, served),
        seconds=time.perf_counter() - t0,
        solver="highs",
        allocation=alloc,
    )


def _max_coverage_uncapacitated(
    inst: Instance,
    within: np.ndarray,
    p: int,
    max_cost: float,
    *,
    method: Method,
    time_limit: float | None,
    t0: float,
) -> PlacementResult:
    """Solve the MCLP exactly (started from the heuristic under a time limit) or heuristically."""
    a = _cover_matrix(inst, within)
    heur = _use_heuristic(method, int(within.sum()))
    start_cols = None
    if heur or time_limit is not None:
        start_cols, h_obj = heuristics.max_coverage_heuristic(a, inst.weights, p, inst.fixed)
    if heur:
        bound = heuristics.max_coverage_lagrangian(a, inst.weights, p, inst.fixed, lower=h_obj)
        open_cols, status, solver = start_cols, "heuristic", "greedy+interchange"
    else:
        open_cols, out = _mclp(inst, a, p, start_cols, _remaining(t0, time_limit))
        _mip_failed(out, "max_coverage", time_limit)
        status, bound, solver = out.status, out.bound, "highs"
        if status != "optimal":  # the Lagrangian bound is often tighter than HiGHS's so far
            value = float(inst.weights @ ((a @ np.isin(np.arange(inst.m), open_cols)) > 0))
            bound = min(bound, heuristics.max_coverage_lagrangian(
                a, inst.weights, p, inst.fixed, lower=value))
    col = _nearest_within(inst, open_cols, max_cost)
    covered = float(inst.weights[col >= 0].sum())
    return _result(
        "max_coverage",
        inst,
        open_cols,
        objective=covered,
        assignment=_assignment(inst, col),
        coverage=covered,
        status=status,
        bound=max(bound, covered),
        seconds=time.perf_counter() - t0,
        solver=solver,
    )


def _mclp(
    inst: Instance, a: sp.csr_array, p: int, start_cols: np.ndarray | None,
    time_limit: float | None,
) -> tuple[np.ndarray, MipOutcome]:
    """Build and solve the uncapacitated MCLP after exact reductions; return open columns.

    Reductions (none changes the optimum): demand covered by a fixed site is a constant; demand
    rows with the same set ``N_i`` are merged (weights summed); a candidate whose covered
    demand is a subset of another's (ties: the later one) is dropped, and ``Σ x_j ≤ p`` replaces
    ``= p`` — the answer is then completed to ``p`` sites by the largest coverage.
    """
    m = inst.m
    is_fixed = _fixed_mask(inst)
    by_fixed = _covered_by_fixed(a, is_fixed)
    offset = float(inst.weights[by_fixed].sum())
    rows_live = np.flatnonzero(~by_fixed & (np.diff(a.indptr) > 0) & (inst.weights > 0))
    b = sp.csr_array(a[rows_live])
    # merge identical rows: two random projections identify a set (sums in CSR order)
    rng = np.random.default_rng(12345)
    keys = np.c_[b @ rng.random(m), b @ rng.random(m), np.diff(b.indptr)]
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    w = np.bincount(group, weights=inst.weights[rows_live], minlength=len(first))
    b = sp.csr_array(b[first])
    # drop dominated candidates: column j's rows ⊆ column k's rows
    bb = sp.csr_array(b, dtype=np.float64)
    size = np.asarray(bb.sum(axis=0)).ravel()
    over = (bb.T @ bb).tocoo()
    j, k, v = over.row, over.col, over.data
    dom = (j != k) & (v >= size[j]) & ((size[k] > size[j]) | (k < j))
    dominated = np.zeros(m, dtype=bool)
    dominated[j[dom]] = True
    dominated |= size == 0
    dominated &= ~is_fixed
    keep_cols = np.flatnonzero(~dominated)
    mk = len(keep_cols)
    sub = sp.csr_array(bb[:, keep_cols]).tocoo()
    ny = b.shape[0]
    a_rows = np.r_[sub.row, np.arange(ny), np.full(mk, ny)]
    a_cols = np.r_[sub.col, mk + np.arange(ny), np.arange(mk)]
    a_vals = np.r_[-np.ones(sub.nnz), np.ones(ny), np.ones(mk)]
    col_lower = np.zeros(mk + ny)
    col_lower[:mk] = is_fixed[keep_cols]
    start = None
    if start_cols is not None and np.isin(start_cols, keep_cols).all():
        is_open = np.isin(keep_cols, start_cols).astype(float)
        start = np.r_[is_open, (sp.csr_array(bb[:, keep_cols]) @ is_open) > 0]
    out = solve_mip(
        cost=np.r_[np.zeros(mk), w],
        col_lower=col_lower,
        col_upper=np.ones(mk + ny),
        integer=np.r_[np.ones(mk, dtype=bool), np.zeros(ny, dtype=bool)],
        a_rows=a_rows,
        a_cols=a_cols,
        a_vals=a_vals,
        row_lower=np.r_[np.full(ny, -INF), 0.0],
        row_upper=np.r_[np.zeros(ny), p],
        maximize=True,
        offset=offset,
        time_limit=time_limit,
        start=start,
        options=_gap_options(inst.weights),
    )
    if out.x is None:
        return np.zeros(0, dtype=np.int64), out
    is_open = np.zeros(m, dtype=bool)
    is_open[keep_cols[out.x[:mk] > 0.5]] = True
    if is_open.sum() < p:  # complete to p sites, largest total coverage first
        score = np.asarray(sp.csr_array(a, dtype=np.float64).T @ inst.weights).ravel()
        score[is_open] = -np.inf
        extra = np.argsort(-score, kind="stable")[: p - int(is_open.sum())]
        is_open[extra] = True
    return np.flatnonzero(is_open), out
