"""Turn the inputs of a location model into sparse arrays, checking every rule once.

A model sees :class:`Instance`: the demand ids (``origins``), the candidate ids
(``candidates``), the weights and the **finite** demand–candidate costs as parallel arrays
``rows, cols, cost`` sorted by row then cost. A pair absent from the cost table (or ``inf`` /
``nan`` in a dense array) is unreachable and never becomes a variable.

Input rules (all problems are collected, then one :class:`ValueError` lists them):

* ``costs``: a long table with columns ``origin``, ``destination``, ``cost`` (the routing layer's
  :func:`coverage.network.cost_table`) or a dense demand × candidate numpy array. Costs must not
  be negative; a table must not repeat a pair nor hold a missing cost (``inf`` means
  unreachable and is dropped).
* ``weights``: ``None`` (every origin weighs 1), a Series indexed by origin id, or an array
  aligned with the rows of a dense ``costs`` (a Series with a dense array is read in order and
  its index names the rows). Weights must be finite and not negative. Origins of the weight
  Series absent from the table are demand that no candidate reaches.
* ``fixed``: candidate ids that must be open (existing sites); each must be a candidate.
* ``p``: a whole number, at least the number of fixed sites and at most the number of candidates.
* ``capacity``: a number (every site), a Series indexed by candidate id or an array aligned with
  the candidates; finite or ``inf`` (unlimited), not negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Instance", "prepare"]

#: How many bad ids an error message lists before it just counts them.
MAX_LISTED = 5


def _listed(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:MAX_LISTED])
    more = len(values) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class Instance:
    """A location problem's data as sparse arrays.

    Attributes
    ----------
    origins
        Demand ids, one per row.
    candidates
        Candidate site ids, one per column.
    weights
        Demand weight per row (float64).
    rows, cols, cost
        The finite pairs, sorted by row then cost then column.
    fixed
        Column positions of the sites that must be open (sorted).
    """

    origins: pd.Index
    candidates: pd.Index
    weights: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    cost: np.ndarray
    fixed: np.ndarray

    @property
    def n(self) -> int:
        """Number of demand rows."""
        return len(self.origins)

    @property
    def m(self) -> int:
        """Number of candidate sites."""
        return len(self.candidates)

    @property
    def total_weight(self) -> float:
        """Sum of the weights."""
        return float(self.weights.sum())

    def reach(self, max_cost: float) -> np.ndarray:
        """Return a boolean mask of the pairs with cost at most ``max_cost``."""
        return self.cost <= max_cost

    def dense(self, fill: float = np.inf) -> np.ndarray:
        """Return the n × m cost matrix with ``fill`` for unreachable pairs."""
        out = np.full((self.n, self.m), fill)
        out[self.rows, self.cols] = self.cost
        return out

    def nearest(self, open_cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's nearest open column (−1 if none) and its cost (``inf`` if none)."""
        is_open = np.zeros(self.m, dtype=bool)
        is_open[open_cols] = True
        keep = np.flatnonzero(is_open[self.cols])  # pairs are sorted by row, then cost
        r = self.rows[keep]
        first = keep[np.r_[True, r[1:] != r[:-1]]] if len(keep) else keep
        col = np.full(self.n, -1, dtype=np.int64)
        dist = np.full(self.n, np.inf)
        col[self.rows[first]] = self.cols[first]
        dist[self.rows[first]] = self.cost[first]
        return col, dist


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # ids of mixed types cannot be sorted
        codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64), pd.Index(uniques)


def _from_table(
    costs: pd.DataFrame, weights: Any, problems: list[str]
) -> tuple[pd.Index, pd.Index, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    missing = [c for c in ("origin", "destination", "cost") if c not in costs.columns]
    if missing:
        problems.append(
            f"costs: columns {missing} missing; a cost table needs 'origin', 'destination' and "
            f"'cost' (got {list(costs.columns)})"
        )
        raise ValueError("; ".join(problems))
    cost = pd.to_numeric(costs["cost"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(cost).any():
        problems.append(
            f"costs: {int(np.isnan(cost).sum())} cost(s) missing or not numbers; drop unreachable "
            "pairs from the table (or use inf)"
        )
    if (cost < 0).any():
        problems.append(f"costs: {int((cost < 0).sum())} negative cost(s); costs must be >= 0")
    dup = costs.duplicated(["origin", "destination"])
    if dup.any():
        pairs = list(zip(costs["origin"][dup], costs["destination"][dup], strict=True))
        problems.append(
            f"costs: {int(dup.sum())} repeated origin–destination pair(s) ({_listed(pairs)}); "
            "keep one cost per pair"
        )
    c_codes, candidates = _factorize(costs["destination"])
    w = None
    if weights is None:
        r_codes, origins = _factorize(costs["origin"])
    elif isinstance(weights, pd.Series):
        origins = pd.Index(weights.index)
        if origins.has_duplicates:
            dups = origins[origins.duplicated()].unique()
            problems.append(f"weights: origin ids repeated in the index ({_listed(dups)})")
            origins = origins.drop_duplicates()
        r_codes = origins.get_indexer(costs["origin"])
        absent = costs["origin"][r_codes < 0].unique()
        if len(absent):
            problems.append(
                f"weights: no weight for {len(absent)} origin(s) of the cost table "
                f"({_listed(absent)}); give every origin a weight (0 to ignore it)"
            )
        w = weights.to_numpy()
    else:
        problems.append(
            f"weights: with a cost table, weights must be a pandas Series indexed by origin id "
            f"(got {type(weights).__name__})"
        )
        r_codes, origins = _factorize(costs["origin"])
    ok = np.isfinite(cost) & (r_codes >= 0)
    return origins, candidates, r_codes[ok], c_codes[ok], cost[ok], w


def _from_array(
    costs: Any, weights: Any, problems: list[str]
) -> tuple[pd.Index, pd.Index, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    try:
        arr = np.asarray(costs, dtype=float)
    except (TypeError, ValueError):
        msg = (
            "costs: must be a DataFrame with columns origin, destination, cost or a numeric "
            f"2-D array (got {type(costs).__name__})"
        )
        raise ValueError(msg) from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        msg = f"costs: a dense cost array must be 2-D and non-empty (got shape {arr.shape})"
        raise ValueError(msg)
    if (arr < 0).any():
        problems.append(f"costs: {int((arr < 0).sum())} negative cost(s); costs must be >= 0")
    origins: pd.Index = pd.RangeIndex(arr.shape[0])
    w = None
    if weights is not None:
        w = np.asarray(weights)
        if w.ndim != 1 or len(w) != arr.shape[0]:
            problems.append(
                f"weights: need one weight per row of costs ({arr.shape[0]}), got shape {w.shape}"
            )
            w = None
        elif isinstance(weights, pd.Series):
            origins = pd.Index(weights.index)
    r, c = np.nonzero(np.isfinite(arr))
    return origins, pd.RangeIndex(arr.shape[1]), r, c, arr[r, c], w


def prepare(
    costs: pd.DataFrame | np.ndarray,
    weights: pd.Series | np.ndarray | None = None,
    *,
    fixed: Iterable[Any] = (),
    p: int | None = None,
    max_cost: float | None = None,
    within_only: bool = False,
    problems: list[str] | None = None,
) -> Instance:
    """Check the inputs of a location model and return them as an :class:`Instance`.

    Parameters
    ----------
    costs
        Long cost table (``origin``, ``destination``, ``cost``) or dense demand × candidate array.
    weights
        Demand weights (see the module docstring); ``None`` gives every origin weight 1.
    fixed
        Candidate ids that must be open.
    p
        Number of sites to open, fixed ones included (checked when given).
    max_cost
        Coverage radius (checked when given).
    within_only
        Keep only the pairs with cost at most ``max_cost`` (coverage models need no others).
    problems
        Problems already found by the caller; all are raised together.

    Raises
    ------
    ValueError
        Listing every rule the inputs break.
    """
    problems = [] if problems is None else problems
    if isinstance(costs, pd.DataFrame):
        origins, candidates, rows, cols, cost, w = _from_table(costs, weights, problems)
    else:
        origins, candidates, rows, cols, cost, w = _from_array(costs, weights, problems)
    wv = _weight_values(w, origins, problems)
    fpos = _fixed_positions(fixed, candidates, problems)
    _check_p(p, len(candidates), len(fpos), problems)
    _check_max_cost(max_cost, problems)
    if problems:
        raise ValueError("; ".join(problems))
    if within_only and max_cost is not None:
        near = cost <= max_cost
        rows, cols, cost = rows[near], cols[near], cost[near]
    order = np.lexsort((cols, cost, rows))
    return Instance(
        origins=origins,
        candidates=candidates,
        weights=wv,
        rows=rows[order].astype(np.int64),
        cols=cols[order].astype(np.int64),
        cost=cost[order].astype(float),
        fixed=np.sort(fpos.astype(np.int64)),
    )


def _weight_values(w: np.ndarray | None, origins: pd.Index, problems: list[str]) -> np.ndarray:
    """One finite weight per origin (1 when none are given); bad weights are noted and zeroed."""
    if w is None:
        return np.ones(len(origins))
    wv = pd.to_numeric(pd.Series(w), errors="coerce").to_numpy(dtype=float)
    if len(wv) != len(origins):  # the table reader dropped a repeated Series index
        wv = np.ones(len(origins))
    bad = ~np.isfinite(wv)
    if bad.any():
        problems.append(
            f"weights: {int(bad.sum())} weight(s) missing, not numbers or infinite "
            f"(origins {_listed(list(origins[bad]))}); weights must be finite numbers"
        )
    if (wv < 0).any():
        neg = list(origins[wv < 0])
        problems.append(
            f"weights: {len(neg)} negative weight(s) (origins {_listed(neg)}); "
            "weights must be >= 0"
        )
    return np.where(np.isfinite(wv), wv, 0.0)


def _fixed_positions(
    fixed: Iterable[Any], candidates: pd.Index, problems: list[str]
) -> np.ndarray:
    """Column positions of the fixed sites (each once); ids that are not candidates are noted."""
    fixed_ids = list(dict.fromkeys(fixed.tolist() if isinstance(fixed, np.ndarray) else fixed))
    fpos = candidates.get_indexer(fixed_ids) if fixed_ids else np.zeros(0, dtype=np.int64)
    if (fpos < 0).any():
        bad_ids = [f for f, k in zip(fixed_ids, fpos, strict=True) if k < 0]
        problems.append(
            f"fixed: {len(bad_ids)} id(s) not among the candidates ({_listed(bad_ids)}); a fixed "
            "site must be a destination of the cost table (column of the cost array)"
        )
        fpos = fpos[fpos >= 0]
    return fpos


def _check_p(p: Any, n_candidates: int, n_fixed: int, problems: list[str]) -> None:
    """Note a ``p`` that is not a whole number between the fixed sites and the candidates."""
    if p is None:
        return
    if isinstance(p, bool) or not isinstance(p, Integral):
        problems.append(f"p: must be a whole number of sites (got {p!r})")
    elif p < 1:
        problems.append(f"p: must be at least 1 (got {p})")
    elif p > n_candidates:
        problems.append(
            f"p: {p} sites requested but there are only {n_candidates} candidates; "
            "p must not exceed the number of candidates"
        )
    elif p < n_fixed:
        problems.append(
            f"p: {p} is less than the {n_fixed} fixed sites; p counts the fixed sites too"
        )


def _check_max_cost(max_cost: Any, problems: list[str]) -> None:
    """Note a coverage radius that is not a finite number >= 0."""
    if max_cost is not None and (
        isinstance(max_cost, bool)
        or not isinstance(max_cost, Real)
        or not np.isfinite(max_cost)
        or max_cost < 0
    ):
        problems.append(f"max_cost: must be a finite number >= 0 (got {max_cost!r})")


def capacities(capacity: Any, candidates: pd.Index) -> np.ndarray:
    """Return one capacity per candidate, or raise a ValueError naming the rule broken.

    Parameters
    ----------
    capacity
        A number (every site), a Series indexed by candidate id, or an array aligned with the
        candidates. ``inf`` means unlimited.
    candidates
        Candidate ids.
    """
    if isinstance(capacity, pd.Series):
        missing = candidates.difference(capacity.index)
        if len(missing):
            msg = (
                f"capacity: no capacity for {len(missing)} candidate(s) ({_listed(list(missing))});"
                " give every candidate a capacity (inf for unlimited)"
            )
            raise ValueError(msg)
        if capacity.index.has_duplicates:
            msg = "capacity: candidate ids repeated in the index"
            raise ValueError(msg)
        cap = pd.to_numeric(capacity.reindex(candidates), errors="coerce").to_numpy(dtype=float)
    elif np.ndim(capacity) == 0:
        try:
            cap = np.full(len(candidates), float(capacity))
        except (TypeError, ValueError):
            msg = f"capacity: must be a number, a Series or an array (got {capacity!r})"
            raise ValueError(msg) from None
    else:
        cap = np.asarray(capacity, dtype=float)
        if cap.shape != (len(candidates),):
            msg = (
                f"capacity: need one capacity per candidate ({len(candidates)}), "
                f"got shape {cap.shape}"
            )
            raise ValueError(msg)
    if np.isnan(cap).any() or (cap < 0).any():
        msg = "capacity: capacities must be numbers >= 0 (inf for unlimited)"
        raise ValueError(msg)
    return cap
