"""Location models solved exactly with HiGHS: p-median, maximal covering, set cover, p-center.

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
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from coverage.placement import heuristics
from coverage.placement._highs import INF, MipOutcome, solve_mip
from coverage.placement.costs import Instance, _listed, capacities, prepare
from coverage.placement.result import PlacementResult, relative_gap

__all__ = ["max_coverage", "p_center", "p_median", "set_cover"]

Method = Literal["auto", "exact", "heuristic"]

#: ``method="auto"`` runs the heuristic instead of the exact model above this many finite pairs.
EXACT_MAX_PAIRS = 20_000_000
#: p-median: a heuristic solution (dense n × m arrays) is computed first up to this many cells; it
#: starts HiGHS and truncates the model (see :func:`p_median`).
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
# p-median


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
    keep = inst.weights[inst.rows] > 0
    r, j, c = inst.rows[keep], inst.cols[keep], inst.cost[keep]
    k = len(r)
    new_row = np.r_[True, r[1:] != r[:-1]]
    new_level = new_row | np.r_[True, c[1:] != c[:-1]]
    level = np.cumsum(new_level) - 1  # global level id per pair
    row_start = np.maximum.accumulate(np.where(new_row, np.arange(k), 0))
    count_upto = np.arange(k) - row_start + 1  # candidates with cost <= this pair's cost
    n_lev = int(level[-1]) + 1 if k else 0
    lev_row, lev_d, lev_first = r[new_level], c[new_level], new_row[new_level]
    lev_count = np.zeros(n_lev, dtype=np.int64)
    np.maximum.at(lev_count, level, count_upto)
    is_fixed = np.zeros(inst.m, dtype=bool)
    is_fixed[inst.fixed] = True
    lev_fixed = np.zeros(n_lev, dtype=bool)
    lev_fixed[level[is_fixed[j]]] = True
    # hard cut: an open site surely lies within this level (m − p + 1 candidates or a fixed one)
    hard = (lev_count >= inst.m - p + 1) | lev_fixed
    soft = (lev_d > limit[lev_row]) & ~lev_first & ~hard
    cut = hard | soft
    cs = np.cumsum(cut) - cut
    first_idx = np.maximum.accumulate(np.where(lev_first, np.arange(n_lev), 0))
    before = (cs - cs[first_idx]) == 0  # no cut earlier in the row
    threshold = np.full(inst.n, np.inf)
    threshold[lev_row[before & soft]] = lev_d[before & soft]
    kept = np.flatnonzero(before & ~soft)
    new_id = np.full(n_lev, -1, dtype=np.int64)
    new_id[kept] = np.arange(len(kept))
    k_row, k_d, k_first = lev_row[kept], lev_d[kept], lev_first[kept]
    k_last = np.r_[k_row[1:] != k_row[:-1], True]
    nk = len(kept)
    # columns: x_0..x_{m-1}, then z for kept levels that have a next level in the model's cost
    zmask = ~k_last | np.isfinite(threshold[k_row])
    nz = int(zmask.sum())
    z_col = np.full(nk, -1, dtype=np.int64)
    z_col[zmask] = inst.m + np.arange(nz)
    nxt_d = np.r_[lev_d, 0.0][kept + 1]
    z_cost = (inst.weights[k_row] * (nxt_d - k_d))[zmask]
    offset = float((inst.weights[k_row] * k_d)[k_first].sum())
    # rows: one per kept level, then Σ x = p
    pair_lev = new_id[level]
    on = pair_lev >= 0
    own = np.flatnonzero(zmask)
    prev = np.flatnonzero(~k_first)
    a_rows = np.r_[pair_lev[on], own, prev, np.full(inst.m, nk)]
    a_cols = np.r_[j[on], z_col[own], z_col[prev - 1], np.arange(inst.m)]
    a_vals = np.r_[np.ones(int(on.sum())), np.ones(len(own)), -np.ones(len(prev)), np.ones(inst.m)]
    col_lower = np.zeros(inst.m + nz)
    col_lower[inst.fixed] = 1.0
    start = None
    if start_cols is not None:
        _, d1 = inst.nearest(start_cols)
        start = np.zeros(inst.m + nz)
        start[start_cols] = 1.0
        start[inst.m :] = (d1[k_row] > k_d)[zmask].astype(float)
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
        # keep each demand's levels up to its second-nearest site of the known solution
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

    It is solved in Elloumi's (2010) equivalent, much smaller form: for demand ``i`` let
    ``D_i^1 < … < D_i^K`` be its distinct finite costs and ``z_i^k ∈ [0, 1]`` mean "no open
    site within ``D_i^k``"::

        min   Σ_i w_i (D_i^1 + Σ_{k<K} (D_i^{k+1} − D_i^k) z_i^k)
        s.t.  z_i^1 + Σ_{j: c_ij = D_i^1} x_j ≥ 1
              z_i^k − z_i^{k−1} + Σ_{j: c_ij = D_i^k} x_j ≥ 0      (1 < k < K)
              −z_i^{K−1} + Σ_{j: c_ij = D_i^K} x_j ≥ 0
              Σ_j x_j = p,  x_j = 1 (j ∈ F),  x_j ∈ {0, 1}

    A demand's levels stop at the first level holding ``m − p + 1`` candidates or a fixed site
    (an open site certainly lies within it). Origins of weight 0 are left out of the model and
    assigned to their nearest open site.

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
    problems: list[str] = []
    _check_method(method, problems)
    _check_time_limit(time_limit, problems)
    inst = prepare(costs, weights, fixed=fixed, p=p, problems=problems)
    reached = np.zeros(inst.n, dtype=bool)
    reached[inst.rows] = True
    _unreachable_error(
        inst,
        np.flatnonzero(~reached & (inst.weights > 0)),
        "costs",
        "the p-median assigns every weighted origin: give them weight 0 or add their pairs",
    )
    if capacity is not None:
        return _p_median_capacitated(inst, p, capacities(capacity, inst.candidates),
                                     single_source=single_source, time_limit=time_limit, t0=t0)
    heur = method == "heuristic" or (method == "auto" and len(inst.rows) > EXACT_MAX_PAIRS)
    start_cols, h_obj, rounds = None, np.inf, 0
    if heur or inst.n * inst.m <= HEURISTIC_MAX_CELLS:
        start_cols, h_obj = heuristics.p_median_heuristic(
            inst.dense(), inst.weights, p, inst.fixed
        )
        _, d1 = inst.nearest(start_cols)
        if not np.isfinite(d1[inst.weights > 0]).all():
            start_cols, h_obj = None, np.inf  # the heuristic left demand unreached
    if heur:
        if start_cols is None:
            msg = "p_median: the heuristic found no site set reaching every weighted origin"
            raise ValueError(msg)
        act = inst.weights[inst.rows] > 0
        bound = heuristics.p_median_lagrangian(
            inst.rows[act], inst.cols[act], inst.cost[act], inst.weights, inst.m, p, inst.fixed,
            upper=h_obj,
        )
        open_cols, status, solver = start_cols, "heuristic", "greedy+interchange"
    else:
        open_cols, status, bound, rounds = _p_median_exact(
            inst, p, start_cols, time_limit=time_limit, t0=t0
        )
        solver = "highs"
        if status != "optimal":  # the Lagrangian bound is often tighter than HiGHS's so far
            act = inst.weights[inst.rows] > 0
            _, d = inst.nearest(open_cols)
            bound = max(bound, heuristics.p_median_lagrangian(
                inst.rows[act], inst.cols[act], inst.cost[act], inst.weights, inst.m, p,
                inst.fixed, upper=float(inst.weights[inst.weights > 0] @ d[inst.weights > 0])))
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


# ---------------------------------------------------------------------------------------------
# maximal covering


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
    pr, pc, pcost = inst.rows[within], inst.cols[within], inst.cost[within]
    if capacity is not None:
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
    a = sp.csr_array((np.ones(len(pr)), (pr, pc)), shape=(inst.n, inst.m))
    heur = method == "heuristic" or (method == "auto" and len(pr) > EXACT_MAX_PAIRS)
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
    col, dist = inst.nearest(open_cols)
    col = np.where(dist <= max_cost, col, -1)
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
    is_fixed = np.zeros(m, dtype=bool)
    is_fixed[inst.fixed] = True
    by_fixed = (a @ is_fixed.astype(float)) > 0
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


# ---------------------------------------------------------------------------------------------
# set cover


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
    within = inst.reach(max_cost) & (inst.weights[inst.rows] > 0)
    a = sp.csr_array(
        (np.ones(int(within.sum())), (inst.rows[within], inst.cols[within])),
        shape=(inst.n, inst.m),
    )
    reachable = np.diff(a.indptr) > 0
    total = inst.total_weight
    is_fixed = np.zeros(inst.m, dtype=bool)
    is_fixed[inst.fixed] = True
    by_fixed = (a @ is_fixed.astype(float)) > 0
    if target >= 1:
        _unreachable_error(
            inst,
            np.flatnonzero(~reachable & (inst.weights > 0)),
            "target",
            f"no candidate lies within max_cost={max_cost}, so target=1 cannot be met; lower "
            "target or raise max_cost",
        )
        need = np.flatnonzero(reachable & ~by_fixed)
        out = _cover_mip(inst, a, need, target_weight=None, time_limit=time_limit)
    else:
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
        out = _cover_mip(inst, a, need, target_weight=max(rest, 0.0), time_limit=time_limit)
    _mip_failed(out, "set_cover", time_limit)
    open_cols = np.flatnonzero(out.x[: inst.m] > 0.5)
    col, dist = inst.nearest(open_cols)
    col = np.where(dist <= max_cost, col, -1)
    new = float(len(open_cols) - len(inst.fixed))
    return _result(
        "set_cover",
        inst,
        open_cols,
        objective=new,
        assignment=_assignment(inst, col),
        coverage=float(inst.weights[col >= 0].sum()),
        status=out.status,
        bound=min(np.ceil(out.bound - 1e-6), new),
        seconds=time.perf_counter() - t0,
        solver="highs",
        info={"target": target, "max_cost": max_cost},
    )


# ---------------------------------------------------------------------------------------------
# p-center


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
    reached = np.zeros(inst.n, dtype=bool)
    reached[inst.rows] = True
    _unreachable_error(
        inst, np.flatnonzero(~reached), "costs", "every origin of a p-center must reach a site"
    )
    first = np.r_[True, inst.rows[1:] != inst.rows[:-1]]
    lower = float(inst.cost[first].max())
    radii = np.unique(inst.cost)
    radii = radii[radii >= lower]

    def cover(radius: float) -> tuple[np.ndarray | None, bool]:
        """Return a cover of ≤ p sites at ``radius`` (or None) and whether the answer is proven."""
        keep = inst.cost <= radius
        a = sp.csr_array(
            (np.ones(int(keep.sum())), (inst.rows[keep], inst.cols[keep])),
            shape=(inst.n, inst.m),
        )
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

    hi_cols, _ = cover(float(radii[-1]))
    if hi_cols is None:
        msg = "p: no choice of p sites (fixed included) reaches every origin; raise p"
        raise ValueError(msg)
    lo, hi = 0, len(radii) - 1  # radii[hi] is feasible
    low = 0  # radii below radii[low] are proven infeasible
    while lo < hi:
        mid = (lo + hi) // 2
        cols, sure = cover(float(radii[mid]))
        if cols is not None:
            hi, hi_cols = mid, cols
        else:
            lo = mid + 1
            low = max(low, lo) if sure else low
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    proven = low >= hi
    # complete to p sites, greedily reducing the total cost to the nearest site
    is_open = np.zeros(inst.m, dtype=bool)
    is_open[hi_cols] = True
    _, d1 = inst.nearest(hi_cols)
    while is_open.sum() < p:
        gain = np.bincount(inst.cols, weights=np.maximum(d1[inst.rows] - inst.cost, 0.0),
                           minlength=inst.m)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        _, d1 = inst.nearest(np.flatnonzero(is_open))
    open_cols = np.flatnonzero(is_open)
    col, dist = inst.nearest(open_cols)
    objective = float(dist.max())
    status = "optimal" if proven else "time_limit"
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
