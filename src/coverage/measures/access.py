"""Spatial-accessibility measures on origin-destination cost tables.

Floating-catchment-area (FCA) measures (2SFCA, E2SFCA, 3SFCA, balanced 2SFCA), the
demand-adjusted gravity model and cumulative opportunities, written as plain functions on
tables: ``demand`` is a :class:`pandas.Series` of population indexed by origin id, ``supply`` a
Series of capacity (e.g. staff) indexed by destination id, and ``costs`` a long
:class:`pandas.DataFrame` with columns ``origin``, ``destination`` and ``cost``. Each measure
returns a named Series indexed exactly like ``demand``. Analysts can therefore bring their own
cost matrices (from :mod:`coverage`'s routing, Amap or any other source).

Why not call PySAL ``access``? It computes each step with :func:`pandas.merge` and ``groupby`` on
fresh copies of the whole cost table, applies distance-decay weights one pair at a time
(``Series.apply``), adds (then drops) helper columns in the caller's cost table during
``three_stage_fca``, leaves NaN for origins with nothing in reach and inf or NaN ratios where a
catchment holds no demand, and needs its ``Access`` object or column-name arguments for every
table. Here the cost table is turned once per call into flat arrays -- origin code, destination
code (positions in the index of ``demand`` and ``supply``) and cost --, weights are vectorized
numpy functions, and every sum over origins or destinations is one :func:`numpy.bincount`; there
is no Python loop over origins, destinations or pairs. On the same cost tables plain 2SFCA runs
about 10-20 times faster than PySAL and the distance-weighted measures 30-150 times, validation
included (``benchmarks/bench_access_measures.py``, 1 and 5 million pairs). PySAL ``access`` stays
the test oracle: ``tests/test_access.py`` checks every measure it has against it on random
asymmetric instances, and all of them against the reference data in ``shared/reference/access``.

Fast paths (same results, checked against the general path by the tests):

- Integer ids with a ``demand`` or ``supply`` index that is a ``RangeIndex`` (or the integers
  ``start, start + 1, ...`` in increasing order) map to codes by a subtraction and a bounds
  check; integer indexes in any order whose ids span a small range use a lookup table; pandas
  Categorical id columns map each category once; ``str`` ids stored by pyarrow (the default in
  pandas 3) on both sides are looked up by pyarrow. Any other ids go through
  :meth:`pandas.Index.get_indexer`.
- A cost table sorted by origin then destination, in the order of ``demand``'s and ``supply``'s
  index (as :func:`coverage.network.costs.cost_table` returns it when ``demand`` and ``supply``
  are indexed like the origins and destinations it was given), is checked for repeated pairs in
  one linear pass; any other order costs a sort of the pair keys.

Conventions (shared by every measure)
-------------------------------------
- Costs are directed: a row is the cost of travelling from ``origin`` to ``destination``. The
  table is never symmetrised; cost(a -> b) and cost(b -> a) may differ.
- ``max_cost`` is inclusive: a pair is in the catchment when ``cost <= max_cost``. For a strict
  cut-off (``cost < 30``, as in the R ``catchment`` package's single-number catchments) pass
  ``max_cost=np.nextafter(30, 0)``. ``max_cost=np.inf`` keeps every pair with a finite cost.
- Rows whose origin is not in ``demand``'s index, or whose destination is not in ``supply``'s
  index, are ignored (a destination without a supply entry contributes nothing).
- An origin with no destination in reach scores 0.0; a destination with nobody (or only zero
  population) in reach contributes 0 -- never NaN, inf or a RuntimeWarning.
- Each (origin, destination) pair may appear at most once; ``cost`` must be >= 0 and not NaN
  (``inf`` is allowed and means unreachable: such a pair is never in reach). Amounts must be
  finite and >= 0. Every problem found is reported in one :class:`ValueError` naming the
  argument, the column and the rule.
- ``normalize=True`` divides the scores by their population-weighted mean
  (``A_i / (sum_k P_k A_k / sum_k P_k)``, PySAL ``access``'s ``normalize`` and the R
  ``catchment`` package's ``return_type="norm"``), so 1.0 means "the average level of access".

Notation in the formulas below: ``P_i`` demand at origin ``i``, ``S_j`` supply at destination
``j``, ``c_ij`` the cost from ``i`` to ``j``, ``w`` the distance-decay weight and
``[c_ij <= max_cost]`` the catchment indicator (1 inside, 0 outside).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "COST_COLUMNS",
    "LUO_QI_WEIGHTS",
    "WeightFunction",
    "balanced_two_step_fca",
    "cumulative_coverage",
    "e2sfca_steps",
    "enhanced_two_step_fca",
    "gaussian_weights",
    "gravity_access",
    "gravity_weights",
    "step_weights",
    "three_step_fca",
    "two_step_fca",
]

#: A distance-decay weight: maps an array of costs to an array of non-negative weights.
WeightFunction = Callable[[np.ndarray], np.ndarray]

#: Columns the long cost table must have.
COST_COLUMNS = ("origin", "destination", "cost")


# --------------------------------------------------------------------------------------------
# Distance-decay weight factories
# --------------------------------------------------------------------------------------------


def step_weights(steps: Mapping[float, float] | Iterable[tuple[float, float]]) -> WeightFunction:
    """Return a step (zonal) weight, as in the enhanced 2SFCA of Luo and Qi (2009).

    Parameters
    ----------
    steps
        Upper cost bounds and their weights, as a mapping ``{20: 1.0, 40: 0.68, 60: 0.22}`` or a
        sequence of ``(bound, weight)`` pairs in any order.

    Returns
    -------
    WeightFunction
        ``w(c)`` = the weight of the smallest bound ``b`` with ``c <= b`` (bounds are
        inclusive), and 0 beyond the largest bound. With the example above ``w(20) = 1``,
        ``w(20.5) = 0.68``, ``w(60) = 0.22`` and ``w(61) = 0``; the same as PySAL ``access``'s
        ``weights.step_fn``.

    Raises
    ------
    ValueError
        If there is no step, a bound is repeated, negative or not finite, or a weight is negative
        or not finite.
    """
    bounds, values = _parse_steps(steps)
    table = np.append(values, 0.0)

    def weight(cost: np.ndarray) -> np.ndarray:
        return table[np.searchsorted(bounds, np.asarray(cost, dtype=float), side="left")]

    return weight


def gaussian_weights(bandwidth: float) -> WeightFunction:
    """Return a Gaussian kernel weight (kernel-density 2SFCA, Dai 2010).

    Parameters
    ----------
    bandwidth
        Width ``sigma`` of the kernel, in cost units; must be > 0.

    Returns
    -------
    WeightFunction
        ``w(c) = exp(-c**2 / (2 * bandwidth**2))``, so ``w(0) = 1`` (no ``1 / sqrt(2 pi)``
        factor; it cancels out of every FCA ratio). ``bandwidth=2`` gives ``exp(-c**2 / 8)``.
        Same as PySAL ``access``'s ``weights.gaussian(sigma=bandwidth)``.

    Raises
    ------
    ValueError
        If ``bandwidth`` is not a finite number > 0.
    """
    if not _is_real(bandwidth) or not np.isfinite(bandwidth) or bandwidth <= 0:
        msg = f"bandwidth must be a finite number > 0, got {bandwidth!r}"
        raise ValueError(msg)
    scale = 2.0 * float(bandwidth) ** 2

    def weight(cost: np.ndarray) -> np.ndarray:
        c = np.asarray(cost, dtype=float)
        return np.exp(-(c * c) / scale)

    return weight


def gravity_weights(beta: float, *, min_cost: float | None = None) -> WeightFunction:
    """Return a power (gravity) weight ``c**-beta``.

    Parameters
    ----------
    beta
        Friction exponent, a finite number >= 0 (``beta=1`` gives ``1 / c``).
    min_cost
        Costs below ``min_cost`` are raised to it before the power is taken, so a zero cost (the
        same place as origin and destination) gets the finite weight ``min_cost**-beta``. When
        ``None`` (default) a zero cost with ``beta > 0`` raises :class:`ValueError` instead of
        silently giving an infinite weight.

    Returns
    -------
    WeightFunction
        ``w(c) = max(c, min_cost) ** -beta``; ``w(inf) = 0``. Same as PySAL ``access``'s
        ``weights.gravity(scale=1, alpha=-beta, min_dist=min_cost)``.

    Raises
    ------
    ValueError
        If ``beta`` is not finite and >= 0 or ``min_cost`` is not finite and > 0; the returned
        function raises it on a zero cost when ``min_cost`` is ``None``.
    """
    if not _is_real(beta) or not np.isfinite(beta) or beta < 0:
        msg = f"beta must be a finite number >= 0, got {beta!r}"
        raise ValueError(msg)
    if min_cost is not None and (
        not _is_real(min_cost) or not np.isfinite(min_cost) or min_cost <= 0
    ):
        msg = f"min_cost must be a finite number > 0 or None, got {min_cost!r}"
        raise ValueError(msg)
    exponent = -float(beta)

    def weight(cost: np.ndarray) -> np.ndarray:
        c = np.asarray(cost, dtype=float)
        if min_cost is not None:
            c = np.maximum(c, float(min_cost))
        elif exponent < 0 and (c == 0).any():
            msg = (
                f"gravity weight c**-{beta} is infinite at cost 0; pass "
                "gravity_weights(beta, min_cost=...) with the smallest meaningful cost"
            )
            raise ValueError(msg)
        return np.power(c, exponent)

    return weight


# --------------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------------


def two_step_fca(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    *,
    max_cost: float,
    weight: WeightFunction | None = None,
    normalize: bool = False,
) -> pd.Series:
    """Two-step floating catchment area (Luo and Wang 2003), optionally distance-weighted.

    Step 1, supply-to-demand ratio per destination::

        R_j = S_j / sum_i P_i w(c_ij) [c_ij <= max_cost]      (R_j = 0 when the sum is 0)

    Step 2, access per origin::

        A_i = sum_j R_j w(c_ij) [c_ij <= max_cost]

    With ``weight=None`` (``w = 1``) this is the classic 2SFCA; a step weight gives the E2SFCA,
    a Gaussian the kernel-density 2SFCA. ``sum_i P_i A_i`` equals the total supply of the
    destinations that have somebody in reach. Matches PySAL ``access``'s ``two_stage_fca``.

    Parameters
    ----------
    demand
        Population (or other demand) per origin, indexed by origin id.
    supply
        Supply (staff, service capacity) per destination, indexed by destination id.
    costs
        Long table with columns ``origin``, ``destination``, ``cost`` (origin -> destination).
    max_cost
        Catchment size, inclusive (``cost <= max_cost``); see the module docstring for a strict
        cut-off. ``np.inf`` keeps every pair with a finite cost.
    weight
        Distance-decay weight applied in both steps, e.g. :func:`gaussian_weights`; ``None`` for
        none.
    normalize
        Divide the scores by their population-weighted mean.

    Returns
    -------
    pandas.Series
        Supply per unit of demand reachable from each origin, named ``"2sfca"``, indexed like
        ``demand``.
    """
    inputs = _prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = _catchment(inputs, max_cost, weight)
    return _finish(_two_step(w, w.weights, w.weights, inputs), inputs, "2sfca", normalize)


def enhanced_two_step_fca(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    *,
    steps: Mapping[float, float] | Iterable[tuple[float, float]],
    normalize: bool = False,
) -> pd.Series:
    """Enhanced two-step floating catchment area (E2SFCA, Luo and Qi 2009).

    The 2SFCA of :func:`two_step_fca` with ``weight=step_weights(steps)`` and ``max_cost`` equal
    to the largest bound::

        R_j = S_j / sum_i P_i w(c_ij),   A_i = sum_j R_j w(c_ij)

    where ``w(c)`` is the weight of the first bound ``b`` (in increasing order) with ``c <= b``.

    Parameters
    ----------
    demand, supply, costs
        As in :func:`two_step_fca`.
    steps
        Upper cost bounds and weights, e.g. ``{20: 1.0, 40: 0.68, 60: 0.22}`` (Luo and Qi's
        weights for 20-minute zones).
    normalize
        Divide the scores by their population-weighted mean.

    Returns
    -------
    pandas.Series
        Named ``"e2sfca"``, indexed like ``demand``.
    """
    weight = step_weights(steps)
    max_cost = float(_parse_steps(steps)[0][-1])
    inputs = _prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = _catchment(inputs, max_cost, weight)
    return _finish(_two_step(w, w.weights, w.weights, inputs), inputs, "e2sfca", normalize)


def three_step_fca(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    *,
    max_cost: float,
    weight: WeightFunction | None = None,
    selection: Literal["catchment", "table"] = "catchment",
    normalize: bool = False,
) -> pd.Series:
    """Three-step floating catchment area (3SFCA, Wan, Zou and Sternberg 2012).

    Step 1, selection weights: an origin's demand is shared among the destinations it can
    choose, in proportion to their distance-decay weights::

        G_ij = w(c_ij) / sum_k w(c_ik)

    Steps 2 and 3 are the 2SFCA with ``G_ij w(c_ij)`` in place of ``w(c_ij)`` in both steps::

        R_j = S_j / sum_i P_i G_ij w(c_ij) [c_ij <= max_cost]
        A_i = sum_j R_j G_ij w(c_ij) [c_ij <= max_cost]

    (``G_ij = 0`` when the sum is 0.) The sum over ``k`` is what ``selection`` chooses:

    - ``"catchment"`` (default, Wan et al. 2012 and the R ``catchment`` package): the
      destinations with ``c_ik <= max_cost``, so ``sum_j G_ij = 1`` for every origin with
      something in reach, and the result does not depend on how far the cost table extends.
    - ``"table"``: every destination listed for the origin in ``costs`` (and present in
      ``supply``), whatever its cost. This is what PySAL ``access``'s ``three_stage_fca`` and the
      reference hospital example compute; far destinations then dilute the near ones.

    Parameters
    ----------
    demand, supply, costs
        As in :func:`two_step_fca`.
    max_cost
        Catchment size, inclusive.
    weight
        Distance-decay weight ``w``; ``None`` for ``w = 1`` (demand split evenly among the
        destinations in reach). Wan et al. use a Gaussian (:func:`gaussian_weights`).
    selection
        Destinations that share an origin's selection weight: ``"catchment"`` or ``"table"``.
    normalize
        Divide the scores by their population-weighted mean.

    Returns
    -------
    pandas.Series
        Named ``"3sfca"``, indexed like ``demand``.
    """
    if selection not in ("catchment", "table"):
        msg = f"selection must be 'catchment' or 'table', got {selection!r}"
        raise ValueError(msg)
    inputs = _prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = _catchment(inputs, max_cost, weight)
    n_origins = inputs.population.size
    if selection == "catchment":
        totals = _sums(w.origins, w.weights, n_origins)
    else:
        table = _catchment(inputs, np.inf, weight)
        totals = _sums(table.origins, table.weights, n_origins)
    weights, totals = w.values(), totals[w.origins]
    g = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    wg = g * weights
    return _finish(_two_step(w, wg, wg, inputs), inputs, "3sfca", normalize)


def balanced_two_step_fca(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    *,
    max_cost: float,
    weight: WeightFunction | None = None,
    normalize: bool = False,
) -> pd.Series:
    """Balanced floating catchment area (BFCA, Paez, Higgins and Vivona 2019).

    Removes the demand and supply inflation of the 2SFCA (a person in reach of two sites counted
    twice): weights are standardized by origin in the demand step and by destination in the
    supply step::

        R_j = S_j / sum_i P_i w(c_ij) / sum_k w(c_ik)
        A_i = sum_j R_j w(c_ij) / sum_k w(c_kj)

    with every sum over pairs with ``c <= max_cost`` (a zero sum gives a zero weight). The demand
    weights of an origin sum to 1 (each person is counted once in step 1) and the supply weights
    of a destination sum to 1 (each ratio ``R_j`` is handed out once, so ``sum_i A_i`` is the
    sum of ``R_j`` over the destinations with somebody in reach); ``sum_i P_i A_i`` is then in
    general no longer the total supply. Matches the R ``catchment`` package's
    ``catchment_ratio`` with ``adjust_consumers = w / rowSums(w)`` and
    ``adjust_providers = w / colSums(w)``; PySAL ``access`` has no balanced measure.

    Parameters
    ----------
    demand, supply, costs
        As in :func:`two_step_fca`.
    max_cost
        Catchment size, inclusive.
    weight
        Distance-decay weight; ``None`` for ``w = 1``.
    normalize
        Divide the scores by their population-weighted mean.

    Returns
    -------
    pandas.Series
        Named ``"b2sfca"``, indexed like ``demand``.
    """
    inputs = _prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = _catchment(inputs, max_cost, weight)
    i, j, weights = w.origins, w.destinations, w.values()
    by_origin = _sums(i, w.weights, inputs.population.size)[i]
    by_destination = _sums(j, w.weights, inputs.supply.size)[j]
    zeros = np.zeros_like(weights)
    w_demand = np.divide(weights, by_origin, out=zeros.copy(), where=by_origin > 0)
    w_supply = np.divide(weights, by_destination, out=zeros, where=by_destination > 0)
    access = _two_step(w, w_demand, w_supply, inputs)
    return _finish(access, inputs, "b2sfca", normalize)


def gravity_access(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    *,
    weight: WeightFunction,
    max_cost: float | None = None,
    normalize: bool = False,
) -> pd.Series:
    """Gravity (Hansen-type potential) access with demand adjustment.

    The potential of each destination is divided by the demand competing for it (Joseph and
    Bantock 1982; Luo and Wang 2003)::

        A_i = sum_j S_j w(c_ij) / V_j,   V_j = sum_k P_k w(c_kj)

    (a destination with ``V_j = 0`` contributes 0). This is the 2SFCA without a catchment, with
    a continuous decay such as ``gravity_weights(beta)`` (``c**-beta``). PySAL ``access`` 1.1.10
    has no separate gravity measure; its ``two_stage_fca`` with
    ``weight_fn=weights.gravity(1, -beta)`` and ``max_cost=None`` computes the same quantity.

    Parameters
    ----------
    demand, supply, costs
        As in :func:`two_step_fca`.
    weight
        Distance-decay weight, e.g. :func:`gravity_weights` or :func:`gaussian_weights`.
    max_cost
        Optional inclusive cut-off; ``None`` uses every pair in the table.
    normalize
        Divide the scores by their population-weighted mean.

    Returns
    -------
    pandas.Series
        Named ``"gravity"``, indexed like ``demand``.
    """
    limit = np.inf if max_cost is None else max_cost
    inputs = _prepare(demand, supply, costs, max_cost=limit, weight=weight, weight_required=True)
    w = _catchment(inputs, limit, weight)
    return _finish(_two_step(w, w.weights, w.weights, inputs), inputs, "gravity", normalize)


def cumulative_coverage(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    *,
    max_cost: float,
    weight: WeightFunction | None = None,
) -> pd.Series:
    """Cumulative opportunities: the supply reachable from each origin within ``max_cost``.

    ::

        A_i = sum_j S_j w(c_ij) [c_ij <= max_cost]

    With ``weight=None`` it is the total supply (e.g. staff) within reach, with no competition
    for it; to count service points instead, pass a ``supply`` of ones. With a weight it is a
    Hansen potential without demand adjustment. ``demand`` only gives the origins (and the
    index) of the result. Matches PySAL ``access``'s ``weighted_catchment`` (PySAL's
    ``fca_ratio`` is a different, demand-relative ratio).

    Parameters
    ----------
    demand, supply, costs
        As in :func:`two_step_fca`; the values of ``demand`` are not used.
    max_cost
        Catchment size, inclusive.
    weight
        Optional distance-decay weight.

    Returns
    -------
    pandas.Series
        Named ``"cumulative"``, indexed like ``demand``.
    """
    inputs = _prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = _catchment(inputs, max_cost, weight)
    reachable = np.bincount(
        w.origins,
        weights=_times(inputs.supply[w.destinations], w.weights),
        minlength=inputs.population.size,
    )
    return _finish(reachable, inputs, "cumulative", normalize=False)


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    """Validated inputs: amounts in the order of their index and the known pairs as flat arrays.

    ``origins`` and ``destinations`` are integer codes (positions in the index of ``demand`` and
    of ``supply``) and ``cost`` the cost of each pair, for the rows of the cost table whose two
    ids are known, in table order. They may be read-only views of the caller's columns: never
    written to.
    """

    index: pd.Index
    population: np.ndarray
    supply: np.ndarray
    origins: np.ndarray
    destinations: np.ndarray
    cost: np.ndarray


@dataclass(frozen=True)
class _Pairs:
    """The pairs of a catchment: codes and weights ``w(c_ij)`` (``None`` means all 1)."""

    origins: np.ndarray
    destinations: np.ndarray
    weights: np.ndarray | None

    def values(self) -> np.ndarray:
        """Return the weights as an array (ones when ``weights`` is ``None``)."""
        return np.ones(self.origins.size) if self.weights is None else self.weights


def _plain(value: object) -> object:
    """Return numpy scalars as Python scalars, so that messages read ``3``, not ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _parse_steps(
    steps: Mapping[float, float] | Iterable[tuple[float, float]],
) -> tuple[np.ndarray, np.ndarray]:
    """Return the step bounds (increasing) and their weights, or raise one ValueError."""
    try:
        pairs = list(steps.items()) if isinstance(steps, Mapping) else [tuple(p) for p in steps]
        array = np.array(pairs, dtype=float)
    except (TypeError, ValueError):
        msg = (
            f"steps must be a mapping {{bound: weight}} or a sequence of (bound, weight) pairs "
            f"of numbers, e.g. {{20: 1.0, 40: 0.68, 60: 0.22}}; got {steps!r}"
        )
        raise ValueError(msg) from None
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != 2:
        msg = f"steps must hold at least one (bound, weight) pair, got {steps!r}"
        raise ValueError(msg)
    array = array[np.argsort(array[:, 0], kind="stable")]
    bounds, values = array[:, 0], array[:, 1]
    problems = []
    if not np.isfinite(bounds).all() or (bounds < 0).any():
        problems.append("every bound must be a finite cost >= 0")
    if (np.diff(bounds) == 0).any():
        problems.append("bounds must be distinct")
    if not np.isfinite(values).all() or (values < 0).any():
        problems.append("every weight must be a finite number >= 0")
    if problems:
        msg = f"steps {steps!r}: " + "; ".join(problems)
        raise ValueError(msg)
    return bounds, values


def _amounts(series: object, name: str, ids: str, problems: list[str]) -> np.ndarray | None:
    """Check a Series of amounts (demand or supply); return its values as floats."""
    if not isinstance(series, pd.Series):
        kind = type(series).__name__
        problems.append(
            f"{name} must be a pandas Series of amounts indexed by {ids} id, got {kind}; "
            f"pass one column, e.g. table.set_index('{ids}')['value']"
        )
        return None
    dtype = series.dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        problems.append(
            f"{name}: values must be numbers, got dtype {dtype}; convert with pd.to_numeric"
        )
        return None
    if not series.index.is_unique:
        dup = _plain(series.index[series.index.duplicated()][0])
        problems.append(
            f"{name}: the index must hold each {ids} id once, but {dup!r} is repeated; "
            f"aggregate first, e.g. {name}.groupby(level=0).sum()"
        )
    values = series.to_numpy(dtype=float, na_value=np.nan)
    _check_numbers(values, series.index, f"{name}", ids, problems, allow_inf=False)
    return values


def _check_numbers(
    values: np.ndarray,
    labels: pd.Index,
    where: str,
    label_kind: str,
    problems: list[str],
    *,
    allow_inf: bool,
) -> None:
    """Add a problem for NaN, negative and (unless allowed) infinite values."""
    # One reduction (two without inf) settles the usual all-valid case: min() propagates NaN,
    # so ``min >= 0`` is false for a NaN as for a negative value. Only then look for details.
    if values.size == 0 or (values.min() >= 0 and (allow_inf or values.max() < np.inf)):
        return
    rules = [
        (np.isnan(values), "missing (NaN)", "fill or drop them"),
        (values < 0, "negative", "values must be >= 0"),
    ]
    if not allow_inf:
        rules.append((np.isposinf(values), "infinite", "values must be finite"))
    for bad, what, fix in rules:
        if bad.any():
            positions = np.flatnonzero(bad)
            first = positions[0]
            problems.append(
                f"{where}: {positions.size:,} value(s) {what} (first at {label_kind} "
                f"{_plain(labels[first])!r}: {float(values[first])!r}); {fix}"
            )


def _missing_ids(column: pd.Series) -> np.ndarray | None:
    """Return where ``column`` has missing ids, or ``None`` when its dtype cannot hold any."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return None  # plain integers and booleans have no missing value: skip the pass
    return column.isna().to_numpy()


def _prepare(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    *,
    max_cost: float,
    weight: WeightFunction | None,
    weight_required: bool = False,
) -> _Inputs:
    """Validate every argument, collect all problems, raise once; code the known pairs."""
    problems: list[str] = []
    population = _amounts(demand, "demand", "origin", problems)
    capacity = _amounts(supply, "supply", "destination", problems)
    if not _is_real(max_cost) or np.isnan(max_cost) or max_cost < 0:
        problems.append(f"max_cost must be a number >= 0 (np.inf for no limit), got {max_cost!r}")
    if weight_required and weight is None:
        problems.append("weight is required, e.g. weight=gravity_weights(1.0)")
    elif weight is not None and not callable(weight):
        problems.append(
            f"weight must be a function of a cost array (e.g. gaussian_weights(10)) or None, "
            f"got {type(weight).__name__}"
        )

    cost_values = None
    if not isinstance(costs, pd.DataFrame):
        problems.append(
            f"costs must be a pandas DataFrame with columns {list(COST_COLUMNS)}, "
            f"got {type(costs).__name__}"
        )
    else:
        missing = [c for c in COST_COLUMNS if c not in costs.columns]
        if missing:
            hint = "rename them, e.g. costs.rename(columns={'dest': 'destination'})"
            if any(c in (costs.index.names or []) for c in missing):
                hint = "they are in the index: call costs.reset_index()"
            problems.append(
                f"costs: missing column(s) {missing} (has {list(costs.columns)}); {hint}"
            )
        else:
            for column in ("origin", "destination"):
                na = _missing_ids(costs[column])
                if na is not None and na.any():
                    problems.append(
                        f"costs['{column}']: {int(na.sum()):,} id(s) missing (first at row "
                        f"{_plain(costs.index[np.flatnonzero(na)[0]])!r}); drop those rows"
                    )
            dtype = costs["cost"].dtype
            if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                problems.append(
                    f"costs['cost']: values must be numbers, got dtype {dtype}; "
                    "convert with pd.to_numeric"
                )
            else:
                cost_values = costs["cost"].to_numpy(dtype=float, na_value=np.nan)
                _check_numbers(
                    cost_values, costs.index, "costs['cost']", "row", problems, allow_inf=True
                )
    if problems:
        msg = "invalid access inputs: " + "; ".join(problems)
        raise ValueError(msg)

    # From here on, every argument is well formed.
    i, all_i = _id_codes(costs["origin"], demand.index)
    j, all_j = _id_codes(costs["destination"], supply.index)
    for codes, complete, column, arg in (
        (i, all_i, "origin", demand),
        (j, all_j, "destination", supply),
    ):
        if not complete and len(costs) and len(arg) and not (codes >= 0).any():
            msg = (
                f"invalid access inputs: no id in costs['{column}'] (dtype "
                f"{costs[column].dtype}) matches the index of "
                f"{'demand' if column == 'origin' else 'supply'} (dtype {arg.index.dtype}); "
                "make both the same type, e.g. with .astype(str)"
            )
            raise ValueError(msg)
    rows = None  # positions of the known rows; None when every row is known
    if not (all_i and all_j):
        rows = np.flatnonzero((i >= 0) & (j >= 0))
        i, j, cost_values = i[rows], j[rows], cost_values[rows]
    if _has_duplicate_pairs(i, j, len(demand), len(supply)):
        pairs = costs[["origin", "destination"]]
        pairs = pairs if rows is None else pairs.iloc[rows]
        first = pairs[pairs.duplicated(keep=False)].iloc[0]
        count = int(pairs.duplicated().sum())
        msg = (
            f"invalid access inputs: costs: {count:,} (origin, destination) pair(s) appear more "
            f"than once (first: ({_plain(first['origin'])!r}, {_plain(first['destination'])!r})); "
            "keep one cost per pair, e.g. "
            "costs.groupby(['origin', 'destination'], as_index=False)['cost'].min()"
        )
        raise ValueError(msg)
    return _Inputs(demand.index, population, capacity, i, j, cost_values)


#: An integer index whose ids span at most this many times its length (plus the constant below)
#: maps ids through a lookup table instead of a hash table.
_TABLE_SPAN_FACTOR = 4
_TABLE_SPAN_SLACK = 1024
_INT64_MAX = np.iinfo(np.int64).max
#: Pairs per block when checking that the (origin, destination) keys increase.
_KEY_BLOCK = 1 << 17


def _as_int64(ids: pd.Series | pd.Index) -> np.ndarray | None:
    """Return integer ids as int64 (no copy when they already are), or ``None`` if they aren't."""
    dtype = ids.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "iu":
        return None  # checked first: to_numpy() of strings or extension arrays is not free
    values = ids.to_numpy()
    if dtype.kind == "u" and values.size and values.max() > _INT64_MAX:
        return None
    return values.astype(np.int64, copy=False)


def _is_arrow_string(dtype: object) -> bool:
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _id_codes(ids: pd.Series, index: pd.Index) -> tuple[np.ndarray, bool]:
    """Position in ``index`` (unique) of every id, -1 where absent; and whether none is absent.

    Integer ids against an integer index are mapped without hashing: by arithmetic when the
    index is contiguous and increasing (a ``RangeIndex``, or ``start, start + 1, ...``), through
    a lookup table when its ids span a small range, with a bounds check either way. A
    categorical column maps each category once, then its codes. Strings stored by pyarrow (the
    default ``str`` dtype of pandas 3) on both sides are looked up by pyarrow's ``index_in``
    (several times faster than ``get_indexer``, which first converts them to Python objects).
    Anything else uses :meth:`pandas.Index.get_indexer`.
    """
    if isinstance(ids.dtype, pd.CategoricalDtype):
        table, _ = _id_codes(pd.Series(ids.cat.categories), index)
        codes = table[ids.cat.codes.to_numpy()]  # missing ids (code -1) were rejected before
        complete = table.size == 0 or table.min() >= 0 or codes.size == 0 or codes.min() >= 0
        return codes, bool(complete)
    if len(ids) and len(index):
        values = _as_int64(ids)
        if values is not None:
            found = _integer_codes(values, index)
            if found is not None:
                return found
        elif _is_arrow_string(ids.dtype) and _is_arrow_string(index.dtype):
            codes = _arrow_codes(ids, index)
            if codes is not None:
                return codes, bool(codes.min() >= 0)
    codes = index.get_indexer(ids)
    return codes, bool(codes.size == 0 or codes.min() >= 0)


def _arrow_codes(ids: pd.Series, index: pd.Index) -> np.ndarray | None:
    """Codes of pyarrow-backed string ids by ``pyarrow.compute.index_in``; None if types differ."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values, labels = pa.array(ids), pa.array(index)
    if isinstance(labels, pa.ChunkedArray):
        labels = labels.combine_chunks()
    if values.type != labels.type:
        return None
    found = pc.index_in(values, value_set=labels).fill_null(-1)
    return np.asarray(found, dtype=np.int64)


def _integer_codes(values: np.ndarray, index: pd.Index) -> tuple[np.ndarray, bool] | None:
    """Fast paths of :func:`_id_codes` for int64 ids; ``None`` when the index allows none."""
    n = len(index)
    if isinstance(index, pd.RangeIndex) and (index.step == 1 or n == 1):
        start = index.start
    else:
        labels = _as_int64(index)
        if labels is None:
            return None
        if index.is_monotonic_increasing and int(labels[-1]) - int(labels[0]) == n - 1:
            start = int(labels[0])  # unique and increasing: start, start + 1, ...
        else:
            low, high = int(labels.min()), int(labels.max())
            span = high - low + 1
            if span > _TABLE_SPAN_FACTOR * n + _TABLE_SPAN_SLACK:
                return None
            table = np.full(span, -1, dtype=np.int64)
            table[labels - low] = np.arange(n)
            shifted = values - low if low else values
            if values.min() >= low and values.max() <= high:
                codes = table[shifted]
                return codes, bool(n == span or codes.min() >= 0)
            inside = shifted.view(np.uint64) < span  # negative offsets wrap to huge values
            codes = np.full(values.size, -1, dtype=np.int64)
            codes[inside] = table[shifted[inside]]
            return codes, False
    if values.min() >= start and values.max() < start + n:
        return (values - start if start else values), True
    # values - start can wrap around for ids far outside the index, but never into [0, n)
    codes = values - start
    codes[codes.view(np.uint64) >= n] = -1
    return codes, False


def _has_duplicate_pairs(i: np.ndarray, j: np.ndarray, n_origins: int, n_destinations: int) -> bool:
    """Whether some (origin code, destination code) pair occurs more than once.

    With ``key = i * n_destinations + j``, a table sorted by origin then destination (in the
    order of demand's and supply's index) has non-decreasing keys: one linear pass shows it, and
    duplicates are then adjacent. Other tables sort the keys first.
    """
    if i.size < 2:
        return False
    if n_origins * n_destinations > _INT64_MAX:  # keys would overflow: let pandas hash the pairs
        return bool(pd.DataFrame({"i": i, "j": j}).duplicated().any())
    for start in range(0, i.size - 1, _KEY_BLOCK):  # block by block: the keys stay in cache
        stop = start + _KEY_BLOCK + 1  # blocks overlap by one key
        key = i[start:stop] * n_destinations + j[start:stop]
        if not (key[1:] > key[:-1]).all():
            break
    else:
        return False  # strictly increasing: sorted and no duplicate
    key = i * n_destinations + j
    before, after = key[:-1], key[1:]
    if not (after >= before).all():
        key = np.sort(key)  # unsorted table: faster than pandas' hash-based duplicated()
        before, after = key[:-1], key[1:]
    return bool((after == before).any())


def _catchment(inputs: _Inputs, max_cost: float, weight: WeightFunction | None) -> _Pairs:
    """Return the pairs with ``c_ij <= max_cost`` and their weights ``w(c_ij)``.

    The weight function only ever sees costs within the catchment.
    """
    cost = inputs.cost
    keep = cost <= max_cost if np.isfinite(max_cost) else cost < np.inf
    origins, destinations, values = inputs.origins, inputs.destinations, cost
    rows = None if keep.all() else np.flatnonzero(keep)  # take: faster than a boolean mask
    if rows is not None:
        origins, destinations = origins[rows], destinations[rows]
    if weight is None:
        return _Pairs(origins, destinations, None)
    if rows is not None:
        values = cost[rows]
    weights = np.asarray(weight(values), dtype=float)
    if weights.shape != values.shape:
        msg = (
            f"weight must return one weight per cost (shape {values.shape}), got shape "
            f"{weights.shape}; write it with numpy operations on the whole array"
        )
        raise ValueError(msg)
    if weights.size and not (weights.min() >= 0 and weights.max() < np.inf):
        bad = ~(np.isfinite(weights) & (weights >= 0))
        first = np.flatnonzero(bad)[0]
        msg = (
            f"weight returned {int(bad.sum()):,} value(s) that are negative, NaN or "
            f"infinite (first: w({float(values[first])!r}) = {float(weights[first])!r}); "
            "weights must be finite and >= 0"
        )
        raise ValueError(msg)
    return _Pairs(origins, destinations, weights)


def _sums(codes: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    """Sum ``weights`` (1 each when ``None``) per code: per origin or per destination."""
    sums = np.bincount(codes, weights=weights, minlength=size)
    return sums if weights is not None else sums.astype(float)


def _times(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    return values if weights is None else values * weights


def _two_step(
    pairs: _Pairs,
    demand_weights: np.ndarray | None,
    supply_weights: np.ndarray | None,
    inputs: _Inputs,
) -> np.ndarray:
    """Compute ``A_i = sum_j Ws_ij S_j / sum_k Wd_kj P_k`` (0 where nobody is in reach).

    ``Wd`` and ``Ws`` are weights on the pairs of ``pairs`` (``None`` for 1).
    """
    i, j = pairs.origins, pairs.destinations
    reached = np.bincount(
        j, weights=_times(inputs.population[i], demand_weights), minlength=inputs.supply.size
    )
    ratio = np.divide(inputs.supply, reached, out=np.zeros_like(inputs.supply), where=reached > 0)
    return np.bincount(
        i, weights=_times(ratio[j], supply_weights), minlength=inputs.population.size
    )


def _finish(values: np.ndarray, inputs: _Inputs, name: str, normalize: bool) -> pd.Series:
    if normalize:
        total = inputs.population.sum()
        mean = (inputs.population @ values) / total if total > 0 else 0.0
        if mean > 0:
            values = values / mean
    return pd.Series(values, index=inputs.index, name=name, dtype=float)


#: E2SFCA zone weights for the three default thresholds (Luo & Qi 2009).
LUO_QI_WEIGHTS = (1.0, 0.68, 0.22)


def e2sfca_steps(thresholds: tuple[float, ...]) -> dict[float, float]:
    """Zone weights for E2SFCA: Luo & Qi's 1.00/0.68/0.22 for three zones, else a linear fall.

    With other than three thresholds, weights fall linearly from 1.00 in the first zone to 0.22
    in the last (a single threshold gets 1.00: plain 2SFCA).
    """
    n = len(thresholds)
    weights = LUO_QI_WEIGHTS if n == 3 else tuple(np.linspace(1.0, 0.22, n)) if n > 1 else (1.0,)
    return {float(t): float(w) for t, w in zip(thresholds, weights, strict=True)}
