"""Shared base of the location models: notation, constants and private helpers.

Notation shared by the docstrings: demand ``i`` (an origin, weight ``w_i ≥ 0``), candidate site
``j``, cost ``c_ij`` (only the finite pairs of the cost table exist), ``x_j ∈ {0, 1}`` opens site
``j``, ``F`` is the set of fixed (existing) sites with ``x_j = 1``, ``N_i = {j : c_ij ≤ S}`` the
sites within the coverage radius ``S`` (``max_cost``) of ``i``. ``p`` counts **all** open sites,
fixed ones included (spopt's and ArcGIS's convention): to add ``k`` sites to ``|F|`` existing
ones, pass ``p = |F| + k``.

Every model is built from numpy arrays (COO triplets → one ``passModel`` call), never with one
Python call per variable. ``time_limit`` (seconds) bounds the solver; when it stops the solver the
result carries ``status="time_limit"``, the best solution found and HiGHS's bound. p-median and
maximal covering can also run as heuristics (``method="heuristic"``, or ``"auto"`` when the model
would have more than :data:`EXACT_MAX_PAIRS` pairs): greedy + vertex substitution with a
Lagrangian bound (:mod:`coverage.placement.heuristics`), ``status="heuristic"``. With a time limit
the heuristic solution is computed first and handed to HiGHS as its first incumbent, so a time
limit never returns something worse than the heuristic.

This module holds what several models share: the :data:`Method` choices, the constants, the input
checks, the result and allocation builders, the capacitated pair-variable model (p-median and
maximal covering) and the set-covering MIP (set cover and p-center). The models themselves live
in :mod:`~coverage.placement.pmedian`, :mod:`~coverage.placement.maxcover`,
:mod:`~coverage.placement.setcover` and :mod:`~coverage.placement.pcenter`.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coverage.placement._highs import INF, MipOutcome, solve_mip
from coverage.placement.costs import Instance, _listed
from coverage.placement.result import PlacementResult, relative_gap

Method = Literal["auto", "exact", "heuristic"]

#: ``method="auto"`` runs the heuristic instead of the exact model above this many finite pairs.
EXACT_MAX_PAIRS = 20_000_000
#: p-median: a heuristic solution (dense n × m arrays) is computed first up to this many cells; it
#: starts HiGHS and truncates the model (see :func:`~coverage.placement.pmedian.p_median`).
HEURISTIC_MAX_CELLS = 25_000_000
#: p-median: each demand's levels are first kept up to its k-th nearest site of the heuristic
#: solution (then extended where the optimum lies farther).
KTH_NEAREST = 3
#: Relative MIP gap at which HiGHS stops (its default, 1e-4, is too loose for objectives in the
#: billions such as population × metres).
REL_GAP = 1e-9
#: Relative tolerance on coverage targets.
TOL = 1e-9


# ---------------------------------------------------------------------------------------------
# shared helpers


def _check_method(method: str, problems: list[str]) -> None:
    if method not in ("auto", "exact", "heuristic"):
        problems.append(f"method: must be 'auto', 'exact' or 'heuristic' (got {method!r})")


def _check_time_limit(time_limit: float | None, problems: list[str]) -> None:
    if time_limit is not None and not (
        isinstance(time_limit, int | float) and not isinstance(time_limit, bool) and time_limit > 0
    ):
        problems.append(f"time_limit: must be a number of seconds > 0 or None (got {time_limit!r})")


def _use_heuristic(method: str, n_pairs: int) -> bool:
    """Whether to run the heuristic: asked for, or chosen by ``"auto"`` for a large model."""
    return method == "heuristic" or (method == "auto" and n_pairs > EXACT_MAX_PAIRS)


def _gap_options(values: np.ndarray, extra: dict | None = None) -> dict:
    """Solve to a 1e-9 relative gap; with integral objective values, stop within 1 unit."""
    opts = {"mip_rel_gap": REL_GAP, **(extra or {})}
    if np.all(values == np.round(values)):
        opts["mip_abs_gap"] = 1 - 1e-6
    return opts


def _remaining(t0: float, time_limit: float | None) -> float | None:
    if time_limit is None:
        return None
    return max(time_limit - (time.perf_counter() - t0), 0.01)


def _fixed_mask(inst: Instance) -> np.ndarray:
    """Boolean mask of the candidates that are fixed (existing) sites."""
    is_fixed = np.zeros(inst.m, dtype=bool)
    is_fixed[inst.fixed] = True
    return is_fixed


def _unreached(inst: Instance) -> np.ndarray:
    """Boolean mask of the demand rows that reach no candidate."""
    reached = np.zeros(inst.n, dtype=bool)
    reached[inst.rows] = True
    return ~reached


def _cover_matrix(inst: Instance, pairs: np.ndarray) -> sp.csr_array:
    """Demand × candidate matrix with a 1 for each pair the boolean mask ``pairs`` selects."""
    return sp.csr_array(
        (np.ones(int(pairs.sum())), (inst.rows[pairs], inst.cols[pairs])),
        shape=(inst.n, inst.m),
    )


def _covered_by_fixed(a: sp.csr_array, is_fixed: np.ndarray) -> np.ndarray:
    """Boolean mask of the demand rows of the cover matrix ``a`` that a fixed site covers."""
    return (a @ is_fixed.astype(float)) > 0


def _nearest_within(inst: Instance, open_cols: np.ndarray, max_cost: float) -> np.ndarray:
    """Each row's nearest open column if within ``max_cost``, else −1."""
    col, dist = inst.nearest(open_cols)
    return np.where(dist <= max_cost, col, -1)


def _assignment(inst: Instance, col: np.ndarray) -> pd.Series:
    ids = inst.candidates.to_numpy(dtype=object)
    values = np.where(col >= 0, ids[np.maximum(col, 0)], None)
    return pd.Series(values, index=inst.origins, name="site", dtype=object)


def _result(
    model: str,
    inst: Instance,
    open_cols: np.ndarray,
    *,
    objective: float,
    assignment: pd.Series,
    coverage: float,
    status: str,
    bound: float,
    seconds: float,
    solver: str,
    allocation: pd.DataFrame | None = None,
    info: dict | None = None,
) -> PlacementResult:
    open_cols = np.sort(np.asarray(open_cols, dtype=np.int64))
    total = inst.total_weight
    gap = 0.0 if status == "optimal" else relative_gap(objective, bound)
    return PlacementResult(
        model=model,
        objective=float(objective),
        sites=list(inst.candidates[open_cols]),
        fixed=list(inst.candidates[inst.fixed]),
        assignment=assignment,
        coverage=float(coverage),
        coverage_share=float(coverage / total) if total > 0 else 1.0,
        status=status,
        bound=float(bound),
        gap=gap,
        seconds=seconds,
        solver=solver,
        allocation=allocation,
        info=info or {},
    )


def _mip_failed(out: MipOutcome, what: str, time_limit: float | None) -> None:
    if out.status == "infeasible":
        msg = f"{what}: no choice of sites satisfies the model (infeasible); {_HINT}"
        raise ValueError(msg)
    if out.x is None:
        msg = (
            f"{what}: HiGHS found no feasible solution (status {out.status!r}, "
            f"time_limit={time_limit}); raise time_limit or use method='heuristic'"
        )
        raise RuntimeError(msg)


_HINT = (
    "check that every weighted origin reaches a candidate and that capacities and p can serve "
    "the demand"
)


def _unreachable_error(inst: Instance, rows: np.ndarray, what: str, rule: str) -> None:
    if len(rows):
        msg = (
            f"{what}: {len(rows)} origin(s) with positive weight reach no candidate "
            f"({_listed(list(inst.origins[rows]))}); {rule}"
        )
        raise ValueError(msg)


def _capacitated_outcome(
    out: Any, inst: Instance, pr: np.ndarray, pc: np.ndarray, pcost: np.ndarray, model: str,
    time_limit: float | None,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, pd.Series]:
    """Open sites, served shares, allocation and assignment of a solved capacitated model.

    Raises, through :func:`_mip_failed`, when the solver found no solution.
    """
    _mip_failed(out, model, time_limit)
    open_cols = np.flatnonzero(out.x[: inst.m] > 0.5)
    share = np.clip(out.x[inst.m :], 0.0, 1.0)
    alloc, assignment = _allocation(inst, pr, pc, pcost, share)
    return open_cols, share, alloc, assignment


def _allocation(
    inst: Instance, pr: np.ndarray, pc: np.ndarray, pcost: np.ndarray, share: np.ndarray
) -> tuple[pd.DataFrame, pd.Series]:
    """Allocation table and largest-share assignment from pair shares."""
    keep = share > 1e-9
    pr, pc, pcost, share = pr[keep], pc[keep], pcost[keep], np.minimum(share[keep], 1.0)
    alloc = pd.DataFrame(
        {
            "origin": inst.origins[pr],
            "site": inst.candidates[pc],
            "share": share,
            "weight": inst.weights[pr] * share,
            "cost": pcost,
        }
    )
    col = np.full(inst.n, -1, dtype=np.int64)
    if len(pr):
        order = np.lexsort((-share, pr))
        first = order[np.r_[True, pr[order][1:] != pr[order][:-1]]]
        col[pr[first]] = pc[first]
    return alloc, _assignment(inst, col)


# ---------------------------------------------------------------------------------------------
# capacitated models (p-median, maximal covering)


def _capacitated_assignment(
    inst: Instance,
    pr: np.ndarray,
    pc: np.ndarray,
    pcost: np.ndarray,
    cap: np.ndarray,
    p: int,
    *,
    objective: np.ndarray,
    assign_rows: tuple[float, float],
    maximize: bool,
    single_source: bool,
    time_limit: float | None,
) -> MipOutcome:
    """Solve a model with pair variables y_ij, capacity rows and y_ij ≤ x_j."""
    m, k = inst.m, len(pr)
    act, act_row = np.unique(pr, return_inverse=True)
    n_act = len(act)
    y = m + np.arange(k)
    capped = np.flatnonzero(np.isfinite(cap[pc]))  # pairs whose site has a finite capacity
    fin = np.flatnonzero(np.isfinite(cap))
    cap_row = np.full(m, -1, dtype=np.int64)
    cap_row[fin] = n_act + np.arange(len(fin))
    link0 = n_act + len(fin)
    prow = link0 + k
    a_rows = np.r_[act_row, cap_row[pc[capped]], cap_row[fin], link0 + np.arange(k),
                   link0 + np.arange(k), np.full(m, prow)]
    a_cols = np.r_[y, y[capped], fin, y, pc, np.arange(m)]
    a_vals = np.r_[np.ones(k), inst.weights[pr[capped]], -cap[fin], np.ones(k), -np.ones(k),
                   np.ones(m)]
    row_lower = np.r_[np.full(n_act, assign_rows[0]), np.full(len(fin), -INF),
                      np.full(k, -INF), p]
    row_upper = np.r_[np.full(n_act, assign_rows[1]), np.zeros(len(fin)), np.zeros(k), p]
    col_lower = np.zeros(m + k)
    col_lower[inst.fixed] = 1.0
    integer = np.r_[np.ones(m, dtype=bool), np.full(k, single_source)]
    return solve_mip(
        cost=np.r_[np.zeros(m), objective],
        col_lower=col_lower,
        col_upper=np.ones(m + k),
        integer=integer,
        a_rows=a_rows,
        a_cols=a_cols,
        a_vals=a_vals,
        row_lower=row_lower,
        row_upper=row_upper,
        maximize=maximize,
        time_limit=time_limit,
        options=_gap_options(objective),
    )


# ---------------------------------------------------------------------------------------------
# covering MIP (set cover, p-center)


def _cover_mip(
    inst: Instance,
    a: sp.csr_array,
    need_rows: np.ndarray,
    *,
    target_weight: float | None,
    time_limit: float | None,
) -> MipOutcome:
    """Fewest new sites covering ``need_rows`` (all) or ``target_weight`` of the live rows."""
    m = inst.m
    col_lower = np.zeros(m)
    col_lower[inst.fixed] = 1.0
    cost = np.ones(m)
    cost[inst.fixed] = 0.0
    sub = a[need_rows].tocoo()
    if target_weight is None:  # every row in need_rows covered
        nr = len(need_rows)
        return solve_mip(
            cost=cost, col_lower=col_lower, col_upper=np.ones(m), integer=np.ones(m, dtype=bool),
            a_rows=sub.row, a_cols=sub.col, a_vals=np.ones(sub.nnz),
            row_lower=np.ones(nr), row_upper=np.full(nr, INF), time_limit=time_limit,
            options=_gap_options(cost),
        )
    ny = len(need_rows)
    a_rows = np.r_[sub.row, np.arange(ny), np.full(ny, ny)]
    a_cols = np.r_[sub.col, m + np.arange(ny), m + np.arange(ny)]
    a_vals = np.r_[-np.ones(sub.nnz), np.ones(ny), inst.weights[need_rows]]
    return solve_mip(
        cost=np.r_[cost, np.zeros(ny)],
        col_lower=np.r_[col_lower, np.zeros(ny)],
        col_upper=np.ones(m + ny),
        integer=np.r_[np.ones(m, dtype=bool), np.zeros(ny, dtype=bool)],
        a_rows=a_rows, a_cols=a_cols, a_vals=a_vals,
        row_lower=np.r_[np.full(ny, -INF), target_weight],
        row_upper=np.r_[np.zeros(ny), INF],
        time_limit=time_limit,
        options=_gap_options(cost),
    )
