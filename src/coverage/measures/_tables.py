"""The access measures' arithmetic: tables checked, turned into flat arrays once, and summed.

Private to :mod:`coverage.measures.access`. A measure's ``demand`` and ``supply`` Series and its
long cost table are checked (one message listing every problem), and the ids of the table are
mapped to integer codes (positions in the index of ``demand`` and of ``supply``) by the fastest
way their type allows: a subtraction for integer ids over a range index, a lookup table for
integer ids over a small span, the categories of a Categorical once, pyarrow's dictionary
encoding for its strings, else a hash join (:func:`id_codes`). Repeated pairs are refused
(:func:`has_duplicate_pairs`, sorting keys in blocks of :data:`KEY_BLOCK`). The measures'
steps are then sums over those codes (:func:`catchment`, :func:`two_step`, :func:`finish`), each
one :func:`numpy.bincount`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: A distance-decay weight: maps an array of costs to an array of non-negative weights.
WeightFunction = Callable[[np.ndarray], np.ndarray]

#: Columns the long cost table must have.
COST_COLUMNS = ("origin", "destination", "cost")


@dataclass(frozen=True)
class Inputs:
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
class Pairs:
    """The pairs of a catchment: codes and weights ``w(c_ij)`` (``None`` means all 1)."""

    origins: np.ndarray
    destinations: np.ndarray
    weights: np.ndarray | None

    def values(self) -> np.ndarray:
        """Return the weights as an array (ones when ``weights`` is ``None``)."""
        return np.ones(self.origins.size) if self.weights is None else self.weights


def plain(value: object) -> object:
    """Return numpy scalars as Python scalars, so that messages read ``3``, not ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def parse_steps(
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
        dup = plain(series.index[series.index.duplicated()][0])
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
                f"{plain(labels[first])!r}: {float(values[first])!r}); {fix}"
            )


def _missing_ids(column: pd.Series) -> np.ndarray | None:
    """Return where ``column`` has missing ids, or ``None`` when its dtype cannot hold any."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return None  # plain integers and booleans have no missing value: skip the pass
    return column.isna().to_numpy()


def prepare(
    demand: pd.Series,
    supply: pd.Series,
    costs: pd.DataFrame,
    *,
    max_cost: float,
    weight: WeightFunction | None,
    weight_required: bool = False,
) -> Inputs:
    """Validate every argument, collect all problems, raise once; code the known pairs."""
    problems: list[str] = []
    population = _amounts(demand, "demand", "origin", problems)
    capacity = _amounts(supply, "supply", "destination", problems)
    if not is_real(max_cost) or np.isnan(max_cost) or max_cost < 0:
        problems.append(f"max_cost must be a number >= 0 (np.inf for no limit), got {max_cost!r}")
    if weight_required and weight is None:
        problems.append("weight is required, e.g. weight=gravity_weights(1.0)")
    elif weight is not None and not callable(weight):
        problems.append(
            f"weight must be a function of a cost array (e.g. gaussian_weights(10)) or None, "
            f"got {type(weight).__name__}"
        )
    cost_values = _cost_values(costs, problems)
    if problems:
        msg = "invalid access inputs: " + "; ".join(problems)
        raise ValueError(msg)
    # From here on, every argument is well formed.
    i, j, rows = _pair_codes(demand, supply, costs)
    if rows is not None:
        cost_values = cost_values[rows]
    if has_duplicate_pairs(i, j, len(demand), len(supply)):
        _refuse_duplicates(costs, rows)
    return Inputs(demand.index, population, capacity, i, j, cost_values)


def _cost_values(costs: object, problems: list[str]) -> np.ndarray | None:
    """Return the cost table's costs as floats (None: unusable); its problems go to ``problems``."""
    if not isinstance(costs, pd.DataFrame):
        problems.append(
            f"costs must be a pandas DataFrame with columns {list(COST_COLUMNS)}, "
            f"got {type(costs).__name__}"
        )
        return None
    missing = [c for c in COST_COLUMNS if c not in costs.columns]
    if missing:
        hint = "rename them, e.g. costs.rename(columns={'dest': 'destination'})"
        if any(c in (costs.index.names or []) for c in missing):
            hint = "they are in the index: call costs.reset_index()"
        problems.append(
            f"costs: missing column(s) {missing} (has {list(costs.columns)}); {hint}"
        )
        return None
    for column in ("origin", "destination"):
        na = _missing_ids(costs[column])
        if na is not None and na.any():
            problems.append(
                f"costs['{column}']: {int(na.sum()):,} id(s) missing (first at row "
                f"{plain(costs.index[np.flatnonzero(na)[0]])!r}); drop those rows"
            )
    dtype = costs["cost"].dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        problems.append(
            f"costs['cost']: values must be numbers, got dtype {dtype}; "
            "convert with pd.to_numeric"
        )
        return None
    values = costs["cost"].to_numpy(dtype=float, na_value=np.nan)
    _check_numbers(values, costs.index, "costs['cost']", "row", problems, allow_inf=True)
    return values


def _pair_codes(demand: pd.Series, supply: pd.Series,
                costs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return the codes of the known pairs' origins and destinations, and their rows.

    The rows are None when every row is known; a table none of whose ids match is refused.
    """
    i, all_i = id_codes(costs["origin"], demand.index)
    j, all_j = id_codes(costs["destination"], supply.index)
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
    if all_i and all_j:
        return i, j, None
    rows = np.flatnonzero((i >= 0) & (j >= 0))
    return i[rows], j[rows], rows


def _refuse_duplicates(costs: pd.DataFrame, rows: np.ndarray | None) -> None:
    """Raise the message for a cost table that repeats (origin, destination) pairs."""
    pairs = costs[["origin", "destination"]]
    pairs = pairs if rows is None else pairs.iloc[rows]
    first = pairs[pairs.duplicated(keep=False)].iloc[0]
    count = int(pairs.duplicated().sum())
    msg = (
        f"invalid access inputs: costs: {count:,} (origin, destination) pair(s) appear more "
        f"than once (first: ({plain(first['origin'])!r}, {plain(first['destination'])!r})); "
        "keep one cost per pair, e.g. "
        "costs.groupby(['origin', 'destination'], as_index=False)['cost'].min()"
    )
    raise ValueError(msg)


#: An integer index whose ids span at most this many times its length (plus the constant below)
#: maps ids through a lookup table instead of a hash table.
_TABLE_SPAN_FACTOR = 4
_TABLE_SPAN_SLACK = 1024
_INT64_MAX = np.iinfo(np.int64).max
#: Pairs per block when checking that the (origin, destination) keys increase.
KEY_BLOCK = 1 << 17


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


def id_codes(ids: pd.Series, index: pd.Index) -> tuple[np.ndarray, bool]:
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
        table, _ = id_codes(pd.Series(ids.cat.categories), index)
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
    values, labels = pa.array(ids), pa.array(index)
    if isinstance(labels, pa.ChunkedArray):
        labels = labels.combine_chunks()
    if values.type != labels.type:
        return None
    found = pc.index_in(values, value_set=labels).fill_null(-1)
    return np.asarray(found, dtype=np.int64)


def _integer_codes(values: np.ndarray, index: pd.Index) -> tuple[np.ndarray, bool] | None:
    """Fast paths of :func:`id_codes` for int64 ids; ``None`` when the index allows none."""
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


def has_duplicate_pairs(i: np.ndarray, j: np.ndarray, n_origins: int, n_destinations: int) -> bool:
    """Whether some (origin code, destination code) pair occurs more than once.

    With ``key = i * n_destinations + j``, a table sorted by origin then destination (in the
    order of demand's and supply's index) has non-decreasing keys: one linear pass shows it, and
    duplicates are then adjacent. Other tables sort the keys first.
    """
    if i.size < 2:
        return False
    if n_origins * n_destinations > _INT64_MAX:  # keys would overflow: let pandas hash the pairs
        return bool(pd.DataFrame({"i": i, "j": j}).duplicated().any())
    for start in range(0, i.size - 1, KEY_BLOCK):  # block by block: the keys stay in cache
        stop = start + KEY_BLOCK + 1  # blocks overlap by one key
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


def catchment(inputs: Inputs, max_cost: float, weight: WeightFunction | None) -> Pairs:
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
        return Pairs(origins, destinations, None)
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
    return Pairs(origins, destinations, weights)


def sums(codes: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    """Sum ``weights`` (1 each when ``None``) per code: per origin or per destination."""
    sums = np.bincount(codes, weights=weights, minlength=size)
    return sums if weights is not None else sums.astype(float)


def times(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    return values if weights is None else values * weights


def two_step(
    pairs: Pairs,
    demand_weights: np.ndarray | None,
    supply_weights: np.ndarray | None,
    inputs: Inputs,
) -> np.ndarray:
    """Compute ``A_i = sum_j Ws_ij S_j / sum_k Wd_kj P_k`` (0 where nobody is in reach).

    ``Wd`` and ``Ws`` are weights on the pairs of ``pairs`` (``None`` for 1).
    """
    i, j = pairs.origins, pairs.destinations
    reached = np.bincount(
        j, weights=times(inputs.population[i], demand_weights), minlength=inputs.supply.size
    )
    ratio = np.divide(inputs.supply, reached, out=np.zeros_like(inputs.supply), where=reached > 0)
    return np.bincount(
        i, weights=times(ratio[j], supply_weights), minlength=inputs.population.size
    )


def finish(values: np.ndarray, inputs: Inputs, name: str, normalize: bool) -> pd.Series:
    if normalize:
        total = inputs.population.sum()
        mean = (inputs.population @ values) / total if total > 0 else 0.0
        if mean > 0:
            values = values / mean
    return pd.Series(values, index=inputs.index, name=name, dtype=float)
