"""Pass a MIP built from numpy arrays to HiGHS in one call, solve it, read the answer."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

__all__ = ["MipOutcome", "solve_mip"]

INF = highspy.kHighsInf


@dataclass(frozen=True)
class MipOutcome:
    """What HiGHS returned.

    ``status`` is ``"optimal"``, ``"time_limit"`` (with or without a solution), ``"infeasible"``
    or another HiGHS model status name. ``x`` is ``None`` without a feasible solution; ``bound``
    is HiGHS's dual bound (``objective`` for a solved LP).
    """

    status: str
    x: np.ndarray | None
    objective: float
    bound: float
    seconds: float


def solve_mip(
    *,
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    integer: np.ndarray | None,
    a_rows: np.ndarray,
    a_cols: np.ndarray,
    a_vals: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    maximize: bool = False,
    offset: float = 0.0,
    time_limit: float | None = None,
    start: np.ndarray | None = None,
    options: dict | None = None,
) -> MipOutcome:
    """Solve ``min/max cost·x + offset`` s.t. ``row_lower <= A x <= row_upper`` and integrality.

    ``A`` is given as COO triplets; it is converted to compressed columns once and passed with
    ``passModel``. ``integer`` is a boolean mask of integer columns (``None``: an LP). ``start``
    is an optional feasible solution handed to HiGHS as its first incumbent.
    """
    t0 = time.perf_counter()
    n_col, n_row = len(cost), len(row_lower)
    a = sp.csc_array((a_vals, (a_rows, a_cols)), shape=(n_row, n_col))
    a.sum_duplicates()
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    is_mip = integer is not None and bool(np.any(integer))
    h = _quiet_highs()
    if time_limit is not None:
        h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    h.passModel(lp)
    if is_mip:
        idx = np.flatnonzero(integer).astype(np.int32)
        kind = np.full(len(idx), int(highspy.HighsVarType.kInteger.value), dtype=np.uint8)
        h.changeColsIntegrality(len(idx), idx, kind)
    if start is not None and is_mip:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=np.float64)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if has_x else None
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif model_status == highspy.HighsModelStatus.kTimeLimit:
        status = "time_limit"
    elif model_status == highspy.HighsModelStatus.kInfeasible:
        status = "infeasible"
    else:
        status = h.modelStatusToString(model_status)
    objective = float(info.objective_function_value) if has_x else float("nan")
    if is_mip:
        bound = float(info.mip_dual_bound)
    else:
        bound = objective if status == "optimal" else float("nan")
    return MipOutcome(status, x, objective, bound, time.perf_counter() - t0)


def _quiet_highs() -> highspy.Highs:
    """Return a HiGHS instance that prints nothing.

    HiGHS writes its banner to the C-level standard output when an instance is created, before
    any option can be set; it is silenced here by pointing file descriptor 1 at ``/dev/null``
    for the duration of the construction.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h
