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
the test oracle: ``tests/measures/test_access.py`` checks every measure it has against it on random
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

from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np
import pandas as pd

from coverage.measures._tables import (
    COST_COLUMNS,
    WeightFunction,
    catchment,
    finish,
    is_real,
    parse_steps,
    prepare,
    sums,
    times,
    two_step,
)

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
    bounds, values = parse_steps(steps)
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
    if not is_real(bandwidth) or not np.isfinite(bandwidth) or bandwidth <= 0:
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
    if not is_real(beta) or not np.isfinite(beta) or beta < 0:
        msg = f"beta must be a finite number >= 0, got {beta!r}"
        raise ValueError(msg)
    if min_cost is not None and (
        not is_real(min_cost) or not np.isfinite(min_cost) or min_cost <= 0
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
    inputs = prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = catchment(inputs, max_cost, weight)
    return finish(two_step(w, w.weights, w.weights, inputs), inputs, "2sfca", normalize)


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
    max_cost = float(parse_steps(steps)[0][-1])
    inputs = prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = catchment(inputs, max_cost, weight)
    return finish(two_step(w, w.weights, w.weights, inputs), inputs, "e2sfca", normalize)


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
    inputs = prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = catchment(inputs, max_cost, weight)
    n_origins = inputs.population.size
    if selection == "catchment":
        totals = sums(w.origins, w.weights, n_origins)
    else:
        table = catchment(inputs, np.inf, weight)
        totals = sums(table.origins, table.weights, n_origins)
    weights, totals = w.values(), totals[w.origins]
    g = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    wg = g * weights
    return finish(two_step(w, wg, wg, inputs), inputs, "3sfca", normalize)


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
    inputs = prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = catchment(inputs, max_cost, weight)
    i, j, weights = w.origins, w.destinations, w.values()
    by_origin = sums(i, w.weights, inputs.population.size)[i]
    by_destination = sums(j, w.weights, inputs.supply.size)[j]
    zeros = np.zeros_like(weights)
    w_demand = np.divide(weights, by_origin, out=zeros.copy(), where=by_origin > 0)
    w_supply = np.divide(weights, by_destination, out=zeros, where=by_destination > 0)
    access = two_step(w, w_demand, w_supply, inputs)
    return finish(access, inputs, "b2sfca", normalize)


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
    inputs = prepare(demand, supply, costs, max_cost=limit, weight=weight, weight_required=True)
    w = catchment(inputs, limit, weight)
    return finish(two_step(w, w.weights, w.weights, inputs), inputs, "gravity", normalize)


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
    inputs = prepare(demand, supply, costs, max_cost=max_cost, weight=weight)
    w = catchment(inputs, max_cost, weight)
    reachable = np.bincount(
        w.origins,
        weights=times(inputs.supply[w.destinations], w.weights),
        minlength=inputs.population.size,
    )
    return finish(reachable, inputs, "cumulative", normalize=False)


# --------------------------------------------------------------------------------------------
# E2SFCA zones
# --------------------------------------------------------------------------------------------


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
