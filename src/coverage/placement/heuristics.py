"""Heuristic solutions and Lagrangian bounds for the p-median and maximal covering problems.

Used when the exact model would not finish within the time limit (or is too large), and as the
first incumbent handed to HiGHS. Everything is vectorized over demand × candidate arrays:

* :func:`p_median_heuristic`: greedy addition, then vertex substitution (Teitz & Bart 1968) with
  best improvement, evaluating **every** (site in, site out) swap at once with Whitaker's (1983)
  fast-interchange bookkeeping: with ``d1``/``d2`` the costs to the nearest and second-nearest
  open site, the cost after swapping ``r`` out and ``j`` in is
  ``A_j + L[r, j]`` where ``A_j = Σ_i w_i min(c_ij, d1_i)`` and
  ``L[r, j] = Σ_{i: nearest(i) = r} w_i (min(c_ij, d2_i) − min(c_ij, d1_i))``.
* :func:`p_median_lagrangian`: the Lagrangian relaxation of the assignment constraints
  ``Σ_j y_ij = 1`` (multipliers ``λ_i``) gives the lower bound
  ``Σ_i λ_i + min_{|S| = p, S ⊇ F} Σ_{j ∈ S} Σ_i min(0, w_i c_ij − λ_i)``, improved by
  subgradient steps.
* :func:`max_coverage_heuristic`: greedy addition then best-improvement swaps for maximal
  covering (same bookkeeping with cover counts).
* :func:`max_coverage_lagrangian`: relaxing ``y_i ≤ Σ_{j ∈ N_i} x_j`` with ``λ_i ≥ 0`` gives the
  upper bound ``Σ_i max(0, w_i − λ_i) + max_{|S| = p, S ⊇ F} Σ_{j ∈ S} Σ_{i ∈ N_j} λ_i``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "max_coverage_heuristic",
    "max_coverage_lagrangian",
    "p_median_heuristic",
    "p_median_lagrangian",
]

#: Largest number of improving swaps made before stopping.
MAX_SWAPS = 10_000


def _big(cost: np.ndarray, weights: np.ndarray) -> float:
    """Return a finite stand-in for an unreachable pair, larger than any finite solution."""
    top = float(np.max(cost[np.isfinite(cost)], initial=0.0)) + 1.0
    smallest = max(float(np.min(weights[weights > 0], initial=1.0)), 1e-12)
    return top * (float(weights.sum()) + 1.0) * 10.0 / smallest


def _pick(values: np.ndarray, fixed: np.ndarray, p: int, *, largest: bool) -> np.ndarray:
    """Return the fixed columns plus the best ``p − |fixed|`` others by ``values``."""
    chosen = np.zeros(len(values), dtype=bool)
    chosen[fixed] = True
    k = p - len(fixed)
    if k > 0:
        score = np.where(chosen, np.inf, -values if largest else values)
        chosen[np.argpartition(score, k - 1)[:k]] = True
    return chosen


def p_median_heuristic(
    dense: np.ndarray, weights: np.ndarray, p: int, fixed: np.ndarray
) -> tuple[np.ndarray, float]:
    """Return open columns and objective from greedy addition plus Teitz–Bart swaps.

    Parameters
    ----------
    dense
        n × m costs, ``inf`` for unreachable pairs.
    weights
        Demand weights.
    p
        Sites to open (fixed included).
    fixed
        Columns that stay open.
    """
    n, m = dense.shape
    big = _big(dense, weights)
    c = np.where(np.isfinite(dense), dense, big)
    w = weights[:, None]
    is_open = np.zeros(m, dtype=bool)
    is_open[fixed] = True
    d1 = c[:, fixed].min(axis=1) if len(fixed) else np.full(n, big * 10)
    while is_open.sum() < p:  # greedy addition
        gain = (w * np.maximum(d1[:, None] - c, 0.0)).sum(axis=0)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        d1 = np.minimum(d1, c[:, j])
    is_fixed = np.zeros(m, dtype=bool)
    is_fixed[fixed] = True
    for _ in range(MAX_SWAPS):  # vertex substitution, best improvement
        cols = np.flatnonzero(is_open)
        if len(cols) < 2 or len(cols) == m or is_fixed[cols].all():
            break
        sub = c[:, cols]
        near = np.argmin(sub, axis=1)
        d1 = sub[np.arange(n), near]
        d2 = np.partition(sub, 1, axis=1)[:, 1]
        current = float(weights @ d1)
        m1 = np.minimum(c, d1[:, None])
        a = weights @ m1
        t = w * (np.minimum(c, d2[:, None]) - m1)
        g = sp.csr_array((np.ones(n), (near, np.arange(n))), shape=(len(cols), n))
        f = a[None, :] + g @ t  # f[r, j]: cost after swapping cols[r] out, j in
        f[:, is_open] = np.inf
        f[is_fixed[cols], :] = np.inf
        r, j = np.unravel_index(int(np.argmin(f)), f.shape)
        if not f[r, j] < current - 1e-9 * max(abs(current), 1.0):
            break
        is_open[cols[r]] = False
        is_open[j] = True
    cols = np.flatnonzero(is_open)
    return cols, float(weights @ c[:, cols].min(axis=1))


def p_median_lagrangian(
    rows: np.ndarray,
    cols: np.ndarray,
    cost: np.ndarray,
    weights: np.ndarray,
    m: int,
    p: int,
    fixed: np.ndarray,
    *,
    upper: float,
    iterations: int = 300,
) -> float:
    """Return a lower bound on the p-median optimum by subgradient optimisation.

    Parameters
    ----------
    rows, cols, cost
        Finite pairs (demand rows with positive weight only).
    weights
        Weight per demand row.
    m, p, fixed
        Number of candidates, sites to open, fixed columns.
    upper
        Objective of a feasible solution (drives the step size).
    iterations
        Subgradient iterations.
    """
    n = len(weights)
    wc = weights[rows] * cost
    lam = np.zeros(n)
    first = np.r_[True, rows[1:] != rows[:-1]]
    lam[rows[first]] = wc[first]  # start at each demand's nearest-candidate cost
    best, theta, stall = -np.inf, 2.0, 0
    for _ in range(iterations):
        red = np.minimum(wc - lam[rows], 0.0)
        rho = np.bincount(cols, weights=red, minlength=m)
        chosen = _pick(rho, fixed, p, largest=False)
        value = float(lam.sum() + rho[chosen].sum())
        if not np.isfinite(best) or value > best + 1e-12 * max(abs(best), 1.0):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
        assigned = np.bincount(rows, weights=((red < 0) & chosen[cols]).astype(float),
                               minlength=n)
        grad = 1.0 - assigned
        norm = float(grad @ grad)
        if norm == 0 or theta < 1e-6 or upper - best <= 1e-9 * max(abs(upper), 1.0):
            break
        lam = lam + theta * (upper - value) / norm * grad
    return best


def max_coverage_heuristic(
    a: sp.csr_array, weights: np.ndarray, p: int, fixed: np.ndarray
) -> tuple[np.ndarray, float]:
    """Return open columns and covered weight from greedy addition plus best swaps.

    Parameters
    ----------
    a
        n × m boolean coverage matrix (``a[i, j]``: candidate ``j`` covers demand ``i``).
    weights
        Demand weights.
    p, fixed
        Sites to open (fixed included) and columns that stay open.
    """
    n, m = a.shape
    a = sp.csr_array(a, dtype=np.float64)
    at = a.T.tocsr()
    is_open = np.zeros(m, dtype=bool)
    is_open[fixed] = True
    cnt = a @ is_open.astype(float)
    while is_open.sum() < p:
        gain = at @ (weights * (cnt == 0))
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        cnt = cnt + a[:, [j]].toarray().ravel()
    is_fixed = np.zeros(m, dtype=bool)
    is_fixed[fixed] = True
    for _ in range(MAX_SWAPS):
        cols = np.flatnonzero(is_open)
        if len(cols) == m or is_fixed[cols].all():
            break
        cnt = a @ is_open.astype(float)
        current = float(weights @ (cnt > 0))
        add = at @ (weights * (cnt == 0))
        once = np.flatnonzero(cnt == 1)  # demand covered by exactly one open site
        sub = a[once][:, cols]
        coverer = sub.tocsr().indices if sub.nnz else np.zeros(0, dtype=np.int64)
        g = sp.csr_array((weights[once], (coverer, once)), shape=(len(cols), n))
        loss = g.sum(axis=1)
        overlap = (g @ a).toarray()
        f = current + add[None, :] - loss[:, None] + overlap
        f[:, is_open] = -np.inf
        f[is_fixed[cols], :] = -np.inf
        r, j = np.unravel_index(int(np.argmax(f)), f.shape)
        if not f[r, j] > current + 1e-9 * max(abs(current), 1.0):
            break
        is_open[cols[r]] = False
        is_open[j] = True
    cols = np.flatnonzero(is_open)
    return cols, float(weights @ ((a @ is_open.astype(float)) > 0))


def max_coverage_lagrangian(
    a: sp.csr_array,
    weights: np.ndarray,
    p: int,
    fixed: np.ndarray,
    *,
    lower: float,
    iterations: int = 300,
) -> float:
    """Return an upper bound on the maximal-covering optimum by subgradient optimisation.

    Parameters
    ----------
    a
        n × m boolean coverage matrix.
    weights
        Demand weights.
    p, fixed
        Sites to open (fixed included) and columns that stay open.
    lower
        Covered weight of a feasible solution (drives the step size).
    iterations
        Subgradient iterations.
    """
    a = sp.csr_array(a, dtype=np.float64)
    at = a.T.tocsr()
    lam = weights * 0.5
    best, theta, stall = np.inf, 2.0, 0
    for _ in range(iterations):
        rho = at @ lam
        chosen = _pick(rho, fixed, p, largest=True)
        y = weights > lam
        value = float(np.maximum(weights - lam, 0.0).sum() + rho[chosen].sum())
        if not np.isfinite(best) or value < best - 1e-12 * max(abs(best), 1.0):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
        grad = a @ chosen.astype(float) - y
        norm = float(grad @ grad)
        if norm == 0 or theta < 1e-6 or best - lower <= 1e-9 * max(abs(lower), 1.0):
            break
        lam = np.maximum(lam - theta * (value - lower) / norm * grad, 0.0)
    return best
