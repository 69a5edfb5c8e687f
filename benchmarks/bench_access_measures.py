"""Our access measures against PySAL ``access`` on the same cost tables.

Run with ``python benchmarks/bench_access_measures.py [n_origins ...]``. The default runs two
sizes, each with 300 destinations and about 5 destinations per origin:

- 200,000 origins (about 1,000,000 origin-destination pairs), demand indexed by the integers
  ``0..n-1`` (a plain integer index);
- 1,000,000 origins (about 5,000,000 pairs), demand indexed by a ``RangeIndex``.

Both tables are sorted by origin then destination, as :func:`coverage.network.costs.cost_table`
returns them, so they take the fast paths of :mod:`coverage.measures.access` (ids mapped to codes by
arithmetic, duplicate pairs found in one linear pass). Two more 2SFCA rows per size show the
general paths on the same data: the rows shuffled (duplicate check by sorting) and the ids as
strings (ids mapped with :meth:`pandas.Index.get_indexer`); PySAL gets the same variant tables.

Each measure of :mod:`coverage.measures.access` is timed end to end (validation included) next to
PySAL ``access``'s equivalent, best of up to 3 runs (fewer once the runs of one side have taken
``BUDGET`` seconds: PySAL is slow), the two results are compared, and a table is printed:
measure, ours (s), PySAL (s), speed-up, max abs difference. PySAL ``access`` is a test-only
dependency (``pip install access``).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from coverage.measures import access as ours

SIZES = (200_000, 1_000_000)  # origins; the larger one uses a RangeIndex
N_DESTINATIONS = 300
PER_ORIGIN = 5
MAX_COST = 30.0
STEPS = {20: 1.0, 40: 0.68, 60: 0.22}
SEED = 20240601
BUDGET = 2.0  # seconds: no further repeat once one side's runs have taken this long


def make_instance(
    n_origins: int, *, range_index: bool = False
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Random directed costs, sorted by origin then destination; destination ids 0..299 are
    also origin ids (asymmetric costs). Demand is indexed by ``pd.RangeIndex(n_origins)`` with
    ``range_index``, else by the integer index ``np.arange(n_origins)``."""
    rng = np.random.default_rng(SEED)
    origin = np.repeat(np.arange(n_origins), PER_ORIGIN + 1)
    destination = rng.integers(0, N_DESTINATIONS, origin.size)
    _, first = np.unique(origin * N_DESTINATIONS + destination, return_index=True)
    origin, destination = origin[first], destination[first]  # one cost per pair, sorted
    keep = rng.random(origin.size) < PER_ORIGIN / (PER_ORIGIN + 1)
    costs = pd.DataFrame(
        {
            "origin": origin[keep],
            "destination": destination[keep],
            "cost": rng.uniform(0.5, 60.0, int(keep.sum())),
        }
    )
    index = pd.RangeIndex(n_origins) if range_index else pd.Index(np.arange(n_origins))
    demand = pd.Series(rng.integers(1, 2_000, n_origins).astype(float), index=index)
    supply = pd.Series(rng.integers(0, 30, N_DESTINATIONS).astype(float))
    return demand, supply, costs


def as_strings(
    demand: pd.Series, supply: pd.Series, costs: pd.DataFrame
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """The same instance with string ids (``"o17"``, ``"d3"``)."""
    demand = demand.set_axis("o" + demand.index.astype(str))
    supply = supply.set_axis("d" + supply.index.astype(str))
    costs = costs.assign(
        origin="o" + costs["origin"].astype(str),
        destination="d" + costs["destination"].astype(str),
    )
    return demand, supply, costs


def best_of(func: Callable[[], pd.Series], repeat: int = 3) -> tuple[float, pd.Series]:
    """Best time of up to ``repeat`` runs, stopping early once the runs took ``BUDGET`` s."""
    best, result, spent = float("inf"), None, 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - start
        best, spent = min(best, elapsed), spent + elapsed
        if spent >= BUDGET:
            break
    return best, result


PYSAL_COLUMNS = {
    "demand_index": "geoid",
    "demand_name": "demand",
    "supply_name": "supply",
    "cost_origin": "origin",
    "cost_dest": "dest",
    "cost_name": "cost",
}


def pysal_frames(
    demand: pd.Series, supply: pd.Series, costs: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The instance as PySAL ``access`` takes it."""
    demand_df = pd.DataFrame({"geoid": demand.index, "demand": demand.to_numpy()})
    supply_df = pd.DataFrame({"supply": supply.to_numpy()}, index=supply.index.rename("geoid"))
    return demand_df, supply_df, costs.rename(columns={"destination": "dest"})


def cases(demand: pd.Series, supply: pd.Series, costs: pd.DataFrame) -> list[tuple]:
    """(name, index, ours, PySAL) for every measure; ``index`` (demand's) indexes the results."""
    from access import fca, weights

    demand_df, supply_df, cost_df = pysal_frames(demand, supply, costs)

    def pysal_2sfca(**kwargs) -> pd.Series:
        return fca.two_stage_fca(demand_df, supply_df, cost_df, **PYSAL_COLUMNS, **kwargs)

    def pysal_3sfca(**kwargs) -> pd.Series:
        return fca.three_stage_fca(demand_df, supply_df, cost_df.copy(), **PYSAL_COLUMNS, **kwargs)

    def pysal_cumulative() -> pd.Series:
        return fca.weighted_catchment(
            supply_df,
            cost_df,
            MAX_COST,
            cost_source="dest",
            cost_dest="origin",
            cost_cost="cost",
            loc_index=True,
            loc_value="supply",
        )

    def variant(name: str, d: pd.Series, s: pd.Series, c: pd.DataFrame) -> tuple:
        """Plain 2SFCA, ours and PySAL's, on a variant of the instance."""
        d_df, s_df, c_df = pysal_frames(d, s, c)
        return (
            name,
            d.index,
            lambda: ours.two_step_fca(d, s, c, max_cost=MAX_COST),
            lambda: fca.two_stage_fca(d_df, s_df, c_df, **PYSAL_COLUMNS, max_cost=MAX_COST),
        )

    shuffled = costs.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    return [
        (
            "2SFCA",
            demand.index,
            lambda: ours.two_step_fca(demand, supply, costs, max_cost=MAX_COST),
            lambda: pysal_2sfca(max_cost=MAX_COST),
        ),
        variant("2SFCA, rows shuffled", demand, supply, shuffled),
        variant("2SFCA, str ids", *as_strings(demand, supply, costs)),
        (
            "2SFCA gaussian",
            demand.index,
            lambda: ours.two_step_fca(
                demand, supply, costs, max_cost=MAX_COST, weight=ours.gaussian_weights(15)
            ),
            lambda: pysal_2sfca(max_cost=MAX_COST, weight_fn=weights.gaussian(15)),
        ),
        (
            "E2SFCA steps",
            demand.index,
            lambda: ours.enhanced_two_step_fca(demand, supply, costs, steps=STEPS),
            lambda: pysal_2sfca(weight_fn=weights.step_fn(STEPS)),
        ),
        (
            "3SFCA gaussian (table)",
            demand.index,
            lambda: ours.three_step_fca(
                demand,
                supply,
                costs,
                max_cost=MAX_COST,
                weight=ours.gaussian_weights(15),
                selection="table",
            ),
            lambda: pysal_3sfca(max_cost=MAX_COST, weight_fn=weights.gaussian(15)),
        ),
        (
            "gravity beta=1",
            demand.index,
            lambda: ours.gravity_access(
                demand, supply, costs, weight=ours.gravity_weights(1.0, min_cost=0.5)
            ),
            lambda: pysal_2sfca(weight_fn=weights.gravity(1, -1.0, min_dist=0.5)),
        ),
        (
            "cumulative",
            demand.index,
            lambda: ours.cumulative_coverage(demand, supply, costs, max_cost=MAX_COST),
            pysal_cumulative,
        ),
    ]


def run(n_origins: int) -> None:
    """Time every measure on one instance and print the table."""
    range_index = n_origins >= 1_000_000
    demand, supply, costs = make_instance(n_origins, range_index=range_index)
    print(
        f"{len(demand):,} origins x {len(supply):,} destinations, {len(costs):,} pairs "
        f"(sorted; demand index: {'RangeIndex' if range_index else 'integers 0..n-1'}); "
        f"max_cost {MAX_COST:g}"
    )
    header = (
        f"{'measure':<24} {'ours (s)':>9} {'PySAL (s)':>10} {'speed-up':>9} {'max abs diff':>13}"
    )
    print(header)
    print("-" * len(header))
    for name, index, run_ours, run_pysal in cases(demand, supply, costs):
        ours_time, ours_result = best_of(run_ours)
        pysal_time, theirs = best_of(run_pysal)
        theirs = theirs.reindex(index).fillna(0.0).to_numpy()
        diff = float(np.max(np.abs(ours_result.to_numpy() - theirs)))
        flag = "" if diff <= 1e-9 * max(1.0, float(np.abs(theirs).max())) else "  MISMATCH"
        print(
            f"{name:<24} {ours_time:>9.3f} {pysal_time:>10.3f} {pysal_time / ours_time:>8.1f}x "
            f"{diff:>13.2e}{flag}"
        )


def main(sizes: list[int]) -> None:
    try:
        import access  # noqa: F401
    except ImportError:
        sys.exit("PySAL access is not installed: pip install access")
    warnings.simplefilter("ignore")  # PySAL's pandas deprecation warnings
    for number, n_origins in enumerate(sizes):
        if number:
            print()
        run(n_origins)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or list(SIZES))
