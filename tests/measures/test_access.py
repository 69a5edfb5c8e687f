"""Access measures against reference answers, PySAL ``access`` and hand-checkable invariants."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED
from coverage.measures import _tables as access_module  # internals, for the fast-path tests
from coverage.measures.access import (
    balanced_two_step_fca,
    cumulative_coverage,
    enhanced_two_step_fca,
    gaussian_weights,
    gravity_access,
    gravity_weights,
    step_weights,
    three_step_fca,
    two_step_fca,
)

REFERENCE = SHARED
if os.environ.get("COVERAGE_REFERENCE"):
    REFERENCE = Path(os.environ["COVERAGE_REFERENCE"])
ACCESS_REFERENCE = REFERENCE / "access"

STEPS = {20: 1.0, 40: 0.68, 60: 0.22}
RTOL, ATOL = 1e-9, 1e-12


def assert_close(actual, expected) -> None:
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=RTOL, atol=ATOL)


def load_reference(name: str) -> dict:
    path = ACCESS_REFERENCE / name
    if not path.is_file():
        pytest.skip(
            f"reference file {path} is absent (clone ../shared next to the project or set "
            "COVERAGE_REFERENCE to its reference/ folder)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def matrix_inputs(cost_rows, population, supply):
    """Consumers x providers cost matrix -> (demand, supply, long cost table)."""
    cost_rows = np.asarray(cost_rows, dtype=float)
    n_o, n_d = cost_rows.shape
    origin, destination = np.meshgrid(np.arange(n_o), np.arange(n_d), indexing="ij")
    costs = pd.DataFrame(
        {
            "origin": origin.ravel(),
            "destination": destination.ravel(),
            "cost": cost_rows.ravel(),
        }
    )
    return pd.Series(population, dtype=float), pd.Series(supply, dtype=float), costs


# --------------------------------------------------------------------------------------------
# Reference: hospital example (PySAL access's test_hospital_example)
# --------------------------------------------------------------------------------------------

SCENARIOS = {  # (into3, outof3, cross)
    "scenario_0": (40, 40, 80),
    "scenario_1": (20, 40, 80),
    "scenario_2": (40, 20, 80),
    "scenario_3": (20, 20, 40),
}


def hospital_inputs(scenario: str):
    into3, outof3, cross = SCENARIOS[scenario]
    rows = [
        (1, 1, 1), (2, 2, 1), (3, 3, 1),
        (1, 3, into3), (2, 3, into3),
        (3, 1, outof3), (3, 2, outof3),
        (1, 2, cross), (2, 1, cross),
    ]  # fmt: skip
    costs = pd.DataFrame(rows, columns=["origin", "destination", "cost"])
    tracts = pd.Index([1, 2, 3], name="geoid")
    demand = pd.Series([100.0, 50.0, 10.0], index=tracts, name="pop")
    supply = pd.Series([15.0, 20.0, 100.0], index=tracts, name="doc")
    return demand, supply, costs


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_hospital_2sfca(scenario):
    expected = load_reference("hospital_example_expected.json")[scenario]["2sfca"]
    demand, supply, costs = hospital_inputs(scenario)
    result = two_step_fca(demand, supply, costs, max_cost=61, weight=gravity_weights(1.0))
    assert_close(result, [expected[str(k)] for k in demand.index])


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_hospital_3sfca(scenario):
    # The reference normalises the selection weights over every destination in the table.
    expected = load_reference("hospital_example_expected.json")[scenario]["3sfca"]
    demand, supply, costs = hospital_inputs(scenario)
    result = three_step_fca(
        demand, supply, costs, max_cost=61, weight=gravity_weights(1.0), selection="table"
    )
    assert_close(result, [expected[str(k)] for k in demand.index])


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_hospital_3sfca_catchment_selection(scenario):
    """Wan et al.'s selection over the catchment = 'table' selection on the cut table."""
    demand, supply, costs = hospital_inputs(scenario)
    weight = gravity_weights(1.0)
    wan = three_step_fca(demand, supply, costs, max_cost=61, weight=weight)
    cut = costs[costs["cost"] <= 61]
    assert_close(
        wan, three_step_fca(demand, supply, cut, max_cost=61, weight=weight, selection="table")
    )
    table = three_step_fca(demand, supply, costs, max_cost=61, weight=weight, selection="table")
    if (costs["cost"] > 61).any():
        assert not np.allclose(wan, table)
    else:
        assert_close(wan, table)


# --------------------------------------------------------------------------------------------
# Reference: tiny worked examples (R package `catchment`, tests and manual)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def tiny():
    ref = load_reference("tiny_examples_expected.json")
    return ref, matrix_inputs(ref["cost_matrix_rows_consumers"], ref["P"], ref["S"])


@pytest.fixture
def manual():
    ref = load_reference("tiny_examples_expected.json")
    return ref, matrix_inputs(ref["man_cost_matrix"], ref["man_P"], ref["man_S"])


def test_tiny_2sfca_strict_cutoff(tiny):
    ref, (demand, supply, costs) = tiny
    strict = np.nextafter(30.0, 0.0)  # cost < 30
    assert_close(two_step_fca(demand, supply, costs, max_cost=strict), ref["test_2sfca_cost_lt_30"])


def test_tiny_2sfca_normalized(tiny):
    ref, (demand, supply, costs) = tiny
    result = two_step_fca(demand, supply, costs, max_cost=np.nextafter(30.0, 0.0), normalize=True)
    assert_close(result, ref["test_2sfca_norm"])
    assert np.average(result, weights=demand) == pytest.approx(1.0)


def test_tiny_kd2sfca_gaussian(tiny):
    ref, (demand, supply, costs) = tiny
    result = two_step_fca(demand, supply, costs, max_cost=np.inf, weight=gaussian_weights(2.0))
    assert_close(result, ref["test_kd2sfca_gaussian_exp(-c^2/8)"])


def test_tiny_e2sfca(tiny):
    ref, (demand, supply, costs) = tiny
    result = enhanced_two_step_fca(demand, supply, costs, steps=STEPS)
    assert_close(result, ref["test_e2sfca_steps_20_1_40_.68_60_.22"])
    # the same steps given as a sequence of pairs, in any order
    pairs = [(60, 0.22), (20, 1.0), (40, 0.68)]
    assert_close(enhanced_two_step_fca(demand, supply, costs, steps=pairs), result)


@pytest.mark.parametrize("selection", ["catchment", "table"])
def test_tiny_3sfca(tiny, selection):
    ref, (demand, supply, costs) = tiny
    result = three_step_fca(
        demand, supply, costs, max_cost=60, weight=step_weights(STEPS), selection=selection
    )
    assert_close(result, ref["test_3sfca_steps_normalized"])


def test_tiny_balanced_2sfca(tiny):
    ref, (demand, supply, costs) = tiny
    result = balanced_two_step_fca(demand, supply, costs, max_cost=60, weight=step_weights(STEPS))
    assert_close(result, ref["test_balanced_2sfca"])


def test_manual_2sfca_strict_vs_inclusive(manual):
    ref, (demand, supply, costs) = manual
    strict = two_step_fca(demand, supply, costs, max_cost=np.nextafter(30.0, 0.0))
    assert_close(strict, ref["man_2sfca_30_(strict <)"])
    # max_cost is inclusive: consumer 3 -> provider 2 costs exactly 30 and now counts
    inclusive = two_step_fca(demand, supply, costs, max_cost=30)
    assert_close(inclusive, [50 / 55, 0.0, 50 / 55 + 100 / 50])


def test_manual_e2sfca_and_gaussian(manual):
    ref, (demand, supply, costs) = manual
    assert_close(enhanced_two_step_fca(demand, supply, costs, steps=STEPS), ref["man_e2sfca_steps"])
    gauss = two_step_fca(demand, supply, costs, max_cost=np.inf, weight=gaussian_weights(2.0))
    assert_close(gauss, ref["man_kd2sfca_gaussian"])


# --------------------------------------------------------------------------------------------
# Conventions
# --------------------------------------------------------------------------------------------


def test_asymmetric_costs_are_not_symmetrised():
    # a -> b is quick (10), b -> a is slow (50); both places are origin and destination.
    costs = pd.DataFrame(
        {
            "origin": ["a", "a", "b", "b"],
            "destination": ["a", "b", "b", "a"],
            "cost": [0.0, 10.0, 0.0, 50.0],
        }
    )
    demand = pd.Series({"a": 100.0, "b": 100.0})
    supply = pd.Series({"a": 10.0, "b": 10.0})
    result = two_step_fca(demand, supply, costs, max_cost=30)
    # R_a = 10 / 100 (only a reaches a), R_b = 10 / 200; A_a = R_a + R_b, A_b = R_b
    assert_close(result, [0.15, 0.05])
    assert_close(cumulative_coverage(demand, supply, costs, max_cost=30), [20.0, 10.0])


def test_result_index_unknown_ids_and_no_warnings():
    demand = pd.Series(
        [30.0, 10.0, 5.0, 0.0],
        index=pd.Index(["z", "x", "lonely", "empty"], name="community"),
        name="migrants",
    )
    supply = pd.Series({"s1": 2.0, "s2": 1.0, "idle": 4.0})
    costs = pd.DataFrame(
        {
            "origin": ["x", "z", "z", "ghost", "x", "lonely", "empty"],
            "destination": ["s1", "s1", "s2", "s1", "nowhere", "idle", "s2"],
            "cost": [5.0, 7.0, 9.0, 1.0, 1.0, 99.0, 3.0],
        }
    )
    before = costs.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = [
            two_step_fca(demand, supply, costs, max_cost=10),
            enhanced_two_step_fca(demand, supply, costs, steps={5: 1.0, 10: 0.5}),
            three_step_fca(demand, supply, costs, max_cost=10),
            three_step_fca(demand, supply, costs, max_cost=10, selection="table"),
            balanced_two_step_fca(demand, supply, costs, max_cost=10),
            gravity_access(demand, supply, costs, weight=gravity_weights(1.0), max_cost=10),
            cumulative_coverage(demand, supply, costs, max_cost=10),
        ]
    names = ["2sfca", "e2sfca", "3sfca", "3sfca", "b2sfca", "gravity", "cumulative"]
    for result, name in zip(results, names, strict=True):
        assert result.name == name
        assert result.index.equals(demand.index) and result.index.name == "community"
        assert result.dtype == np.float64
        assert np.isfinite(result).all()
        assert result["lonely"] == 0.0  # only a site beyond the catchment
    pd.testing.assert_frame_equal(costs, before)  # the caller's table is not modified
    # 'ghost' (not in demand) and 'nowhere' (not in supply) are ignored; 'idle' has nobody in
    # reach; 'empty' has zero population: s2 is shared by z (30) and empty (0)
    assert_close(results[0], [2 / 40 + 1 / 30, 2 / 40, 0.0, 1 / 30])
    assert_close(results[-1], [3.0, 2.0, 0.0, 1.0])


def test_destination_with_only_zero_population_in_reach():
    demand = pd.Series({"a": 0.0, "b": 10.0})
    supply = pd.Series({"s": 5.0, "t": 5.0})
    costs = pd.DataFrame({"origin": ["a", "b"], "destination": ["s", "t"], "cost": [1.0, 1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = two_step_fca(demand, supply, costs, max_cost=5, normalize=True)
    assert_close(result, [0.0, 1.0])


def test_infinite_cost_is_unreachable():
    demand = pd.Series({"a": 1.0, "b": 1.0})
    supply = pd.Series({"s": 2.0})
    costs = pd.DataFrame({"origin": ["a", "b"], "destination": ["s", "s"], "cost": [np.inf, 4.0]})
    assert_close(two_step_fca(demand, supply, costs, max_cost=np.inf), [0.0, 2.0])
    assert_close(cumulative_coverage(demand, supply, costs, max_cost=np.inf), [0.0, 2.0])


def test_no_demand_at_all_normalizes_to_zero():
    demand = pd.Series({"a": 0.0})
    supply = pd.Series({"s": 5.0})
    costs = pd.DataFrame({"origin": ["a"], "destination": ["s"], "cost": [1.0]})
    assert_close(two_step_fca(demand, supply, costs, max_cost=5, normalize=True), [0.0])


def test_weight_factories_match_pysal_definitions():
    pysal_weights = pytest.importorskip("access.weights")
    costs = np.array([0.0, 1.0, 10.0, 19.9, 20.0, 20.5, 40.0, 59.0, 60.0, 60.1, 120.0])
    step = pysal_weights.step_fn(STEPS)
    assert_close(step_weights(STEPS)(costs), [step(c) for c in costs])
    gauss = pysal_weights.gaussian(7.5)
    assert_close(gaussian_weights(7.5)(costs), [gauss(c) for c in costs])
    grav = pysal_weights.gravity(scale=1, alpha=-1.5, min_dist=0.5)
    assert_close(gravity_weights(1.5, min_cost=0.5)(costs), [grav(c) for c in costs])
    assert gaussian_weights(2.0)(np.array([3.0]))[0] == pytest.approx(np.exp(-9 / 8))
    assert gravity_weights(2.0)(np.array([np.inf]))[0] == 0.0


def test_gravity_weight_at_zero_cost_needs_min_cost():
    with pytest.raises(ValueError, match=r"infinite at cost 0.*min_cost"):
        gravity_weights(1.0)(np.array([0.0, 2.0]))
    assert gravity_weights(0.0)(np.array([0.0]))[0] == 1.0


# --------------------------------------------------------------------------------------------
# Agreement with PySAL access on random asymmetric instances
# --------------------------------------------------------------------------------------------

MAX_COST = 30.0


def random_instance(seed: int):
    """Random sparse, asymmetric cost table with awkward cases.

    Ids 0..49 are both origins and destinations, and the table holds (a, b) and (b, a) with
    independent costs. Origins 200..209 have nothing within MAX_COST, origins 300..309 are not
    in the table at all, origins 220..229 are in the table but not in demand; destinations
    45..49 have nobody within MAX_COST, 50..54 are in the table but not in supply. Costs are
    multiples of 0.5, so many equal MAX_COST exactly (checks the inclusive cut-off).
    """
    rng = np.random.default_rng(seed)
    origins, destinations = np.arange(230), np.arange(55)
    o, d = np.meshgrid(origins, destinations, indexing="ij")
    o, d = o.ravel(), d.ravel()
    cost = rng.integers(1, 120, o.size) * 0.5
    far = np.isin(o, np.arange(200, 210)) | np.isin(d, np.arange(45, 50))
    cost[far] = rng.integers(62, 180, far.sum()) * 0.5
    cost[(o == d) & ~far] = 0.0
    keep = rng.random(o.size) < 0.6
    keep[o == d] = True
    costs = pd.DataFrame({"origin": o[keep], "destination": d[keep], "cost": cost[keep]})
    costs = costs.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    demand_ids = np.concatenate([np.arange(220), np.arange(300, 310)])
    demand = pd.Series(rng.integers(1, 1000, demand_ids.size).astype(float), index=demand_ids)
    demand = demand.sample(frac=1.0, random_state=seed)  # any order
    supply = pd.Series(rng.integers(0, 20, 50).astype(float), index=np.arange(50))
    return demand, supply, costs


def pysal_frames(demand, supply, costs):
    demand_df = pd.DataFrame({"geoid": demand.index, "demand": demand.to_numpy()})
    supply_df = pd.DataFrame({"supply": supply.to_numpy()}, index=pd.Index(supply.index))
    supply_df.index.name = "geoid"
    cost_df = costs.rename(columns={"destination": "dest"})
    return demand_df, supply_df, cost_df


def pysal_two_stage(demand, supply, costs, **kwargs):
    fca = pytest.importorskip("access.fca")
    demand_df, supply_df, cost_df = pysal_frames(demand, supply, costs)
    series = fca.two_stage_fca(
        demand_df, supply_df, cost_df, demand_index="geoid", demand_name="demand",
        supply_name="supply", cost_origin="origin", cost_dest="dest", cost_name="cost", **kwargs,
    )  # fmt: skip
    return series.reindex(demand.index).fillna(0.0)


def pysal_three_stage(demand, supply, costs, **kwargs):
    fca = pytest.importorskip("access.fca")
    demand_df, supply_df, cost_df = pysal_frames(demand, supply, costs)
    with warnings.catch_warnings():  # PySAL's own pandas deprecations
        warnings.simplefilter("ignore")
        series = fca.three_stage_fca(
            demand_df, supply_df, cost_df.copy(), demand_index="geoid", demand_name="demand",
            supply_name="supply", cost_origin="origin", cost_dest="dest", cost_name="cost",
            **kwargs,
        )  # fmt: skip
    return series.reindex(demand.index).fillna(0.0)


SEEDS = [0, 1, 2, 3, 4]


@pytest.fixture(params=SEEDS)
def instance(request):
    pytest.importorskip("access")
    demand, supply, costs = random_instance(request.param)
    in_reach = costs["cost"] <= MAX_COST
    # the awkward cases are really there
    assert not in_reach[costs["destination"].between(45, 49)].any()
    assert not in_reach[costs["origin"].between(200, 209)].any()
    assert (costs["cost"] == MAX_COST).sum() > 10
    both = costs.merge(costs, left_on=["origin", "destination"], right_on=["destination", "origin"])
    assert (both["cost_x"] != both["cost_y"]).mean() > 0.9
    return demand, supply, costs


def test_pysal_2sfca(instance):
    demand, supply, costs = instance
    ours = two_step_fca(demand, supply, costs, max_cost=MAX_COST)
    assert_close(ours, pysal_two_stage(demand, supply, costs, max_cost=MAX_COST))
    assert (ours.loc[[*range(200, 210), *range(300, 310)]] == 0).all()


def test_pysal_2sfca_gaussian(instance):
    pysal_weights = pytest.importorskip("access.weights")
    demand, supply, costs = instance
    ours = two_step_fca(demand, supply, costs, max_cost=MAX_COST, weight=gaussian_weights(15))
    theirs = pysal_two_stage(
        demand, supply, costs, max_cost=MAX_COST, weight_fn=pysal_weights.gaussian(15)
    )
    assert_close(ours, theirs)


def test_pysal_e2sfca(instance):
    pysal_weights = pytest.importorskip("access.weights")
    demand, supply, costs = instance
    ours = enhanced_two_step_fca(demand, supply, costs, steps=STEPS)
    assert_close(
        ours, pysal_two_stage(demand, supply, costs, weight_fn=pysal_weights.step_fn(STEPS))
    )


def test_pysal_3sfca(instance):
    pysal_weights = pytest.importorskip("access.weights")
    demand, supply, costs = instance
    # PySAL's selection weights span every destination of the table, also those missing from
    # supply; ours ignore those rows, so give PySAL the table without them.
    known = costs[costs["destination"].isin(supply.index)]
    kwargs = {"max_cost": MAX_COST, "weight_fn": pysal_weights.gaussian(20)}
    weight = gaussian_weights(20)
    table = three_step_fca(
        demand, supply, costs, max_cost=MAX_COST, weight=weight, selection="table"
    )
    assert_close(table, pysal_three_stage(demand, supply, known, **kwargs))
    wan = three_step_fca(demand, supply, costs, max_cost=MAX_COST, weight=weight)
    cut = known[known["cost"] <= MAX_COST]
    assert_close(wan, pysal_three_stage(demand, supply, cut, **kwargs))
    assert not np.allclose(wan, table)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_pysal_gravity(instance, beta):
    pysal_weights = pytest.importorskip("access.weights")
    demand, supply, costs = instance
    ours = gravity_access(demand, supply, costs, weight=gravity_weights(beta, min_cost=0.5))
    theirs = pysal_two_stage(
        demand, supply, costs, weight_fn=pysal_weights.gravity(1, -beta, min_dist=0.5)
    )
    assert_close(ours, theirs)


def test_pysal_cumulative(instance):
    fca = pytest.importorskip("access.fca")
    demand, supply, costs = instance
    _, supply_df, cost_df = pysal_frames(demand, supply, costs)
    theirs = fca.weighted_catchment(
        supply_df, cost_df, MAX_COST, cost_source="dest", cost_dest="origin", cost_cost="cost",
        loc_index=True, loc_value="supply",
    )  # fmt: skip
    ours = cumulative_coverage(demand, supply, costs, max_cost=MAX_COST)
    assert_close(ours, theirs.reindex(demand.index).fillna(0.0))


# --------------------------------------------------------------------------------------------
# Invariants
# --------------------------------------------------------------------------------------------


INVARIANT_MEASURES = {
    "2sfca": (lambda d, s, c: two_step_fca(d, s, c, max_cost=MAX_COST), MAX_COST),
    "kd2sfca": (
        lambda d, s, c: two_step_fca(d, s, c, max_cost=MAX_COST, weight=gaussian_weights(10)),
        MAX_COST,
    ),
    "e2sfca": (lambda d, s, c: enhanced_two_step_fca(d, s, c, steps=STEPS), max(STEPS)),
    "3sfca": (
        lambda d, s, c: three_step_fca(d, s, c, max_cost=MAX_COST, weight=gaussian_weights(10)),
        MAX_COST,
    ),
    "gravity": (
        lambda d, s, c: gravity_access(d, s, c, weight=gravity_weights(1.0, min_cost=0.5)),
        np.inf,
    ),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(INVARIANT_MEASURES))
def test_population_weighted_mean_is_supply_over_demand_inside_catchments(seed, name):
    measure, limit = INVARIANT_MEASURES[name]
    demand, supply, costs = random_instance(seed)
    result = measure(demand, supply, costs)
    rows = costs[(costs["cost"] <= limit) & costs["origin"].isin(demand.index)]
    reached = supply[supply.index.isin(rows["destination"])].sum()
    assert np.average(result, weights=demand) == pytest.approx(reached / demand.sum(), rel=1e-12)


def test_every_catchment_covers_everyone():
    rng = np.random.default_rng(7)
    demand = pd.Series(rng.integers(1, 500, 40).astype(float), index=[f"o{i}" for i in range(40)])
    supply = pd.Series(rng.uniform(0, 9, 12), index=[f"d{j}" for j in range(12)])
    _, _, costs = matrix_inputs(rng.uniform(0, 25, (40, 12)), demand, supply)
    costs["origin"] = demand.index[costs["origin"]]
    costs["destination"] = supply.index[costs["destination"]]
    ratio = supply.sum() / demand.sum()
    assert_close(two_step_fca(demand, supply, costs, max_cost=25), np.full(40, ratio))
    assert_close(three_step_fca(demand, supply, costs, max_cost=25), np.full(40, ratio))
    # balanced: each person counted once (1/12 per site), each site's ratio shared by all 40
    balanced = balanced_two_step_fca(demand, supply, costs, max_cost=25)
    assert_close(balanced, np.full(40, ratio * 12 / 40))
    assert_close(cumulative_coverage(demand, supply, costs, max_cost=25), np.full(40, supply.sum()))


def test_balanced_2sfca_by_hand():
    demand = pd.Series({"a": 10.0, "b": 30.0, "c": 5.0})
    supply = pd.Series({"s": 4.0, "t": 1.0})
    costs = pd.DataFrame(
        {
            "origin": ["a", "b", "c", "a"],
            "destination": ["s", "s", "t", "t"],
            "cost": [3.0, 8.0, 1.0, 50.0],
        }
    )
    # R_s = 4 / (10 + 30), R_t = 1 / 5; s is shared by a and b (1/2 each), t only by c
    result = balanced_two_step_fca(demand, supply, costs, max_cost=10)
    assert_close(result, [0.1 / 2, 0.1 / 2, 0.2])
    assert_close(two_step_fca(demand, supply, costs, max_cost=10), [0.1, 0.1, 0.2])


# --------------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------------


def good_inputs():
    demand = pd.Series({"a": 10.0, "b": 20.0})
    supply = pd.Series({"s": 1.0, "t": 2.0})
    costs = pd.DataFrame(
        {
            "origin": ["a", "a", "b"],
            "destination": ["s", "t", "t"],
            "cost": [1.0, 2.0, 3.0],
        }
    )
    return demand, supply, costs


def _set(frame_or_series, where, value):
    out = frame_or_series.copy()
    out.loc[where] = value
    return out


BAD_INPUTS = {
    "demand negative": (
        lambda d, s, c: (_set(d, "a", -1.0), s, c),
        r"demand: 1 value\(s\) negative \(first at origin 'a': -1.0\); values must be >= 0",
    ),
    "demand NaN": (
        lambda d, s, c: (_set(d, "b", np.nan), s, c),
        r"demand: 1 value\(s\) missing \(NaN\) \(first at origin 'b'",
    ),
    "demand infinite": (lambda d, s, c: (_set(d, "b", np.inf), s, c), r"demand: .* infinite"),
    "demand frame": (
        lambda d, s, c: (d.to_frame("pop"), s, c),
        r"demand must be a pandas Series .* got DataFrame",
    ),
    "demand text": (lambda d, s, c: (d.astype(str), s, c), r"demand: values must be numbers"),
    "demand duplicate id": (
        lambda d, s, c: (pd.Series([1.0, 2.0], index=["a", "a"]), s, c),
        r"demand: the index must hold each origin id once, but 'a' is repeated",
    ),
    "supply negative": (
        lambda d, s, c: (d, _set(s, "t", -2.0), c),
        r"supply: 1 value\(s\) negative \(first at destination 't': -2.0\)",
    ),
    "supply NaN": (lambda d, s, c: (d, _set(s, "s", np.nan), c), r"supply: .* missing \(NaN\)"),
    "cost negative": (
        lambda d, s, c: (d, s, _set(c, (1, "cost"), -5.0)),
        r"costs\['cost'\]: 1 value\(s\) negative \(first at row 1: -5.0\); values must be >= 0",
    ),
    "cost NaN": (
        lambda d, s, c: (d, s, _set(c, (2, "cost"), np.nan)),
        r"costs\['cost'\]: 1 value\(s\) missing \(NaN\) \(first at row 2",
    ),
    "cost text": (
        lambda d, s, c: (d, s, c.astype({"cost": str})),
        r"costs\['cost'\]: values must be numbers",
    ),
    "origin NaN": (
        lambda d, s, c: (d, s, _set(c, (0, "origin"), None)),
        r"costs\['origin'\]: 1 id\(s\) missing \(first at row 0\)",
    ),
    "missing column": (
        lambda d, s, c: (d, s, c.rename(columns={"destination": "dest"})),
        r"costs: missing column\(s\) \['destination'\] .*rename",
    ),
    "columns in index": (
        lambda d, s, c: (d, s, c.set_index(["origin", "destination"])),
        r"costs: missing column\(s\) \['origin', 'destination'\].*reset_index",
    ),
    "costs not a frame": (
        lambda d, s, c: (d, s, c.to_numpy()),
        r"costs must be a pandas DataFrame",
    ),
    "duplicate pair": (
        lambda d, s, c: (d, s, pd.concat([c, c.iloc[[1]]], ignore_index=True)),
        r"1 \(origin, destination\) pair\(s\) appear more than once \(first: \('a', 't'\)\)",
    ),
    "id dtype mismatch": (
        lambda d, s, c: (pd.Series([1.0, 2.0], index=[1, 2]), s, c),
        r"no id in costs\['origin'\] \(dtype .*\) matches the index of demand",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_raise_value_error(case):
    breaker, message = BAD_INPUTS[case]
    demand, supply, costs = breaker(*good_inputs())
    with pytest.raises(ValueError, match=message):
        two_step_fca(demand, supply, costs, max_cost=10)


def test_all_problems_reported_at_once():
    demand, supply, costs = good_inputs()
    demand["a"] = -1.0
    supply["s"] = np.nan
    costs.loc[0, "cost"] = -3.0
    with pytest.raises(ValueError, match="invalid access inputs") as info:
        three_step_fca(demand, supply, costs, max_cost=10)
    text = str(info.value)
    assert "demand:" in text and "supply:" in text and "costs['cost']" in text


@pytest.mark.parametrize("max_cost", [-1.0, np.nan, "30", None, True])
def test_bad_max_cost(max_cost):
    with pytest.raises(ValueError, match=r"max_cost must be a number >= 0"):
        two_step_fca(*good_inputs(), max_cost=max_cost)


def test_bad_weights():
    demand, supply, costs = good_inputs()
    with pytest.raises(ValueError, match=r"weight returned 3 value\(s\) that are negative"):
        two_step_fca(demand, supply, costs, max_cost=10, weight=lambda c: -c)
    with pytest.raises(ValueError, match=r"one weight per cost"):
        two_step_fca(demand, supply, costs, max_cost=10, weight=lambda c: 1.0)
    with pytest.raises(ValueError, match=r"weight must be a function"):
        two_step_fca(demand, supply, costs, max_cost=10, weight=2.0)
    with pytest.raises(ValueError, match=r"weight is required"):
        gravity_access(demand, supply, costs, weight=None)
    with pytest.raises(ValueError, match=r"selection must be 'catchment' or 'table'"):
        three_step_fca(demand, supply, costs, max_cost=10, selection="all")


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ({}, "at least one"),
        ({20: 1.0, 40: -0.5}, "every weight must be a finite number >= 0"),
        ([(20, 1.0), (20, 0.5)], "bounds must be distinct"),
        ({np.inf: 1.0}, "every bound must be a finite cost >= 0"),
        ("20:1", "mapping"),
    ],
)
def test_bad_steps(steps, message):
    with pytest.raises(ValueError, match=message):
        step_weights(steps)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: gaussian_weights(0), "bandwidth must be a finite number > 0"),
        (lambda: gaussian_weights(np.nan), "bandwidth"),
        (lambda: gravity_weights(-1.0), "beta must be a finite number >= 0"),
        (lambda: gravity_weights(1.0, min_cost=0.0), "min_cost must be a finite number > 0"),
    ],
)
def test_bad_weight_parameters(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


# --------------------------------------------------------------------------------------------
# Fast paths: each one against the general path (get_indexer, sorted duplicate check)
# --------------------------------------------------------------------------------------------

FAST_PATH_MEASURES = {
    "2sfca": lambda d, s, c: two_step_fca(d, s, c, max_cost=MAX_COST),
    "2sfca normalized": lambda d, s, c: two_step_fca(d, s, c, max_cost=MAX_COST, normalize=True),
    "kd2sfca": lambda d, s, c: two_step_fca(
        d, s, c, max_cost=MAX_COST, weight=gaussian_weights(10)
    ),
    "e2sfca": lambda d, s, c: enhanced_two_step_fca(d, s, c, steps=STEPS),
    "3sfca catchment": lambda d, s, c: three_step_fca(
        d, s, c, max_cost=MAX_COST, weight=gaussian_weights(10)
    ),
    "3sfca table": lambda d, s, c: three_step_fca(
        d, s, c, max_cost=MAX_COST, weight=gaussian_weights(10), selection="table"
    ),
    "3sfca unweighted": lambda d, s, c: three_step_fca(d, s, c, max_cost=MAX_COST),
    "balanced": lambda d, s, c: balanced_two_step_fca(d, s, c, max_cost=MAX_COST),
    "balanced gaussian": lambda d, s, c: balanced_two_step_fca(
        d, s, c, max_cost=MAX_COST, weight=gaussian_weights(10)
    ),
    "gravity": lambda d, s, c: gravity_access(d, s, c, weight=gravity_weights(1.0, min_cost=0.5)),
    "cumulative": lambda d, s, c: cumulative_coverage(d, s, c, max_cost=MAX_COST),
    "cumulative gaussian": lambda d, s, c: cumulative_coverage(
        d, s, c, max_cost=MAX_COST, weight=gaussian_weights(10)
    ),
}


def object_ids(values) -> pd.Index:
    """Ids as Python strings in an object array: only get_indexer can map them."""
    return pd.Index([f"id{v}" for v in values], dtype=object)


def general_path(demand, supply, costs):
    """The same instance with object string ids and shuffled rows: no fast path applies."""
    costs = pd.DataFrame(
        {
            "origin": pd.Series(object_ids(costs["origin"]), dtype=object),
            "destination": pd.Series(object_ids(costs["destination"]), dtype=object),
            "cost": costs["cost"].to_numpy(),
        }
    ).sample(frac=1.0, random_state=11)
    assert costs["origin"].dtype == object and demand.size
    return (
        demand.set_axis(object_ids(demand.index)),
        supply.set_axis(object_ids(supply.index)),
        costs.reset_index(drop=True),
    )


def sorted_instance(seed: int, *, shift: int = 0):
    """random_instance with demand 0..219 (a RangeIndex when ``shift`` is 0) and supply 0..49,
    rows sorted by origin then destination. The table still has unknown origins (220..229) and
    destinations (50..54), beyond the ends of the indexes; all ids are moved by ``shift``."""
    demand, supply, costs = random_instance(seed)
    demand = demand.sort_index().iloc[:220]
    costs = costs.sort_values(["origin", "destination"], ignore_index=True)
    costs[["origin", "destination"]] += shift
    demand.index = pd.RangeIndex(shift, shift + 220)
    supply.index = pd.RangeIndex(shift, shift + 50)
    return demand, supply, costs


def _layout_range(seed):
    return sorted_instance(seed)


def _layout_range_shifted(seed):
    return sorted_instance(seed, shift=-7_000)


def _layout_arange_index(seed):  # integer Index equal to 1000..1219, not a RangeIndex
    demand, supply, costs = sorted_instance(seed, shift=1_000)
    demand.index = pd.Index(np.asarray(demand.index))
    supply.index = pd.Index(np.asarray(supply.index))
    assert not isinstance(demand.index, pd.RangeIndex)
    return demand, supply, costs


def _layout_lookup_table(seed):  # shuffled demand with a gap (300..309): lookup table
    return random_instance(seed)


def _layout_narrow_ids(seed):  # int32 origins, uint16 destinations, lookup table for demand
    demand, supply, costs = random_instance(seed)
    return demand, supply, costs.astype({"origin": np.int32, "destination": np.uint16})


def _layout_uint64(seed):
    demand, supply, costs = sorted_instance(seed)
    return demand, supply, costs.astype({"origin": np.uint64, "destination": np.uint64})


def _layout_sparse_ids(seed):  # ids spread far apart: hashed by get_indexer
    demand, supply, costs = random_instance(seed)
    spread = 10**12
    costs[["origin", "destination"]] *= spread
    return demand.set_axis(demand.index * spread), supply.set_axis(supply.index * spread), costs


def _layout_categorical(seed):  # categories with unknown and unused ids
    demand, supply, costs = random_instance(seed)
    costs["origin"] = pd.Categorical(costs["origin"], categories=np.arange(-5, 240))
    costs["destination"] = pd.Categorical(costs["destination"])
    return demand, supply, costs


def _layout_arrow_strings(seed):  # pandas 3's default str dtype, stored by pyarrow
    demand, supply, costs = random_instance(seed)
    strings = pd.StringDtype("pyarrow")
    costs = costs.astype({"origin": str, "destination": str}).astype(
        {"origin": strings, "destination": strings}
    )
    demand = demand.set_axis(demand.index.astype(str).astype(strings))
    supply = supply.set_axis(supply.index.astype(str).astype(strings))
    return demand, supply, costs


LAYOUTS = {  # name: (builder, whether ids go through get_indexer)
    "RangeIndex, sorted": (_layout_range, False),
    "RangeIndex from -7000, sorted": (_layout_range_shifted, False),
    "integer index = arange, sorted": (_layout_arange_index, False),
    "shuffled integer index": (_layout_lookup_table, False),
    "int32 and uint16 ids": (_layout_narrow_ids, False),
    "uint64 ids": (_layout_uint64, False),
    "sparse integer ids": (_layout_sparse_ids, True),
    "categorical ids": (_layout_categorical, False),
    "pyarrow strings": (_layout_arrow_strings, False),
}


@pytest.fixture
def get_indexer_calls(monkeypatch):
    """Count the calls of pandas.Index.get_indexer."""
    calls = []
    original = pd.Index.get_indexer

    def spy(self, target, *args, **kwargs):
        calls.append(len(target))
        return original(self, target, *args, **kwargs)

    monkeypatch.setattr(pd.Index, "get_indexer", spy)
    return calls


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("seed", [0, 1])
def test_fast_paths_match_general_path(layout, seed, get_indexer_calls):
    build, hashed = LAYOUTS[layout]
    demand, supply, costs = build(seed)
    before = costs.copy()
    for name, measure in FAST_PATH_MEASURES.items():
        get_indexer_calls.clear()
        fast = measure(demand, supply, costs)
        assert bool(get_indexer_calls) == hashed, (layout, name)
        slow = measure(*general_path(demand, supply, costs))
        assert fast.index.equals(demand.index) and fast.name == slow.name
        assert_close(fast, slow)
    pd.testing.assert_frame_equal(costs, before)


@pytest.mark.parametrize("index", [
    pd.RangeIndex(10), pd.RangeIndex(-3, 7), pd.RangeIndex(0, 20, 2), pd.RangeIndex(9, -1, -1),
    pd.RangeIndex(5, 6), pd.Index(np.arange(4, 14)), pd.Index([7, 3, 12, 5, 9, 4]),
    pd.Index(np.array([2, 5, 8], dtype=np.uint8)), pd.Index([3, 10**15]), pd.Index([-(2**63)]),
    pd.Index([-(2**63), 2**63 - 1]),
])  # fmt: skip
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint64])
def test_integer_id_codes_match_get_indexer(index, dtype):
    candidates = [0, 1, 3, 4, 5, 7, 9, 10, 12, 13, 14, 19, 20, -1, -3, -4, 10**15, 2**62]
    candidates += [2**63 - 1, -(2**63), 2**64 - 1]
    limits = np.iinfo(dtype)
    ids_all = pd.Series([v for v in candidates if limits.min <= v <= limits.max], dtype=dtype)
    known = ids_all[index.get_indexer(ids_all) >= 0]
    for ids in (ids_all, known, ids_all.iloc[:0], ids_all.iloc[::-1]):
        codes, complete = access_module.id_codes(ids, index)
        expected = index.get_indexer(ids)
        np.testing.assert_array_equal(codes, expected)
        assert complete == bool((expected >= 0).all())


def test_categorical_and_string_id_codes_match_get_indexer():
    index = pd.Index(["b", "a", "d"])
    for values in (["a", "d", "x", "a"], ["d", "a"], []):
        for ids in (
            pd.Series(values, dtype=object),
            pd.Series(values, dtype=pd.StringDtype("pyarrow")),
            pd.Series(values, dtype=pd.StringDtype("python")),
            pd.Series(pd.Categorical(values, categories=["a", "d", "x", "zz"])),
            pd.Series(pd.Categorical(values)),
        ):
            for idx in (index, index.astype(pd.StringDtype("pyarrow")), index.astype(object)):
                codes, complete = access_module.id_codes(ids, idx)
                expected = idx.get_indexer(pd.Series(values, dtype=object))
                np.testing.assert_array_equal(codes, expected)
                assert complete == bool((expected >= 0).all())


def test_fast_path_rejects_unmatched_integer_ids():
    demand = pd.Series([1.0, 2.0])  # RangeIndex(2)
    supply = pd.Series([1.0])
    costs = pd.DataFrame({"origin": [5, 7], "destination": [0, 0], "cost": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"no id in costs\['origin'\] \(dtype int64\) matches"):
        two_step_fca(demand, supply, costs, max_cost=10)
    costs["origin"] = pd.Categorical(["x", "y"])
    with pytest.raises(ValueError, match=r"no id in costs\['origin'\] \(dtype category\)"):
        two_step_fca(demand, supply, costs, max_cost=10)
    costs["origin"] = pd.Categorical([0, None])
    with pytest.raises(ValueError, match=r"costs\['origin'\]: 1 id\(s\) missing \(first at row 1"):
        two_step_fca(demand, supply, costs, max_cost=10)


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value


@pytest.mark.parametrize("layout", ["RangeIndex, sorted", "categorical ids", "pyarrow strings"])
@pytest.mark.parametrize("where", ["adjacent", "apart"])
def test_duplicate_pairs_same_message_on_every_path(layout, where):
    demand, supply, costs = LAYOUTS[layout][0](0)
    known = costs["origin"].isin(demand.index) & costs["destination"].isin(supply.index)
    rows = np.flatnonzero(known.to_numpy())
    if where == "adjacent":  # two more copies right after a row: a sorted table stays sorted
        at, extra = rows[3] + 1, costs.iloc[[rows[3], rows[3]]]
    else:  # one copy at the end
        at, extra = len(costs), costs.iloc[[rows[-2]]]
    doubled = pd.concat([costs.iloc[:at], extra, costs.iloc[at:]], ignore_index=True)
    for table in (doubled, doubled.sample(frac=1.0, random_state=3)):
        pairs = table.loc[
            table["origin"].isin(demand.index) & table["destination"].isin(supply.index),
            ["origin", "destination"],
        ]
        first = pairs[pairs.duplicated(keep=False)].iloc[0]
        expected = (
            f"costs: {int(pairs.duplicated().sum())} (origin, destination) pair(s) appear more "
            f"than once (first: ({_scalar(first['origin'])!r}, "
            f"{_scalar(first['destination'])!r}))"
        )
        with pytest.raises(ValueError, match=r"pair\(s\) appear more than once") as info:
            two_step_fca(demand, supply, table, max_cost=MAX_COST)
        assert expected in str(info.value)
        assert expected.startswith(f"costs: {2 if where == 'adjacent' else 1} ")


def _duplicates_by_pandas(i, j) -> bool:
    return bool(pd.DataFrame({"i": i, "j": j}).duplicated().any())


@pytest.mark.parametrize("block", [1, 2, 3, 7, 1 << 17])
def test_duplicate_check_blocks_and_orders(monkeypatch, block):
    monkeypatch.setattr(access_module, "KEY_BLOCK", block)
    sorts = []
    original_sort = np.sort
    monkeypatch.setattr(
        access_module.np, "sort", lambda a, *args, **kw: sorts.append(1) or original_sort(a)
    )
    rng = np.random.default_rng(block)
    n_o, n_d = 40, 9
    pairs = np.unique(rng.integers(0, n_o * n_d, 60))
    i, j = pairs // n_d, pairs % n_d
    check = access_module.has_duplicate_pairs
    assert check(i, j, n_o, n_d) is False and not sorts  # sorted, no duplicate: one pass
    for k in (0, 1, 17, len(i) - 2):  # sorted with an adjacent duplicate anywhere
        ii, jj = np.insert(i, k + 1, i[k]), np.insert(j, k + 1, j[k])
        assert check(ii, jj, n_o, n_d) is True and not sorts
    order = rng.permutation(len(i))
    assert check(i[order], j[order], n_o, n_d) is False and sorts  # unsorted: sorted once
    for _ in range(20):
        ii, jj = rng.integers(0, 6, 25), rng.integers(0, 4, 25)
        assert check(ii, jj, 6, 4) is _duplicates_by_pandas(ii, jj)
    assert check(i[:1], j[:1], n_o, n_d) is False and check(i[:0], j[:0], n_o, n_d) is False
    # more pairs than int64 keys can hold: pandas hashes the pairs
    big = np.array([0, 5, 0]), np.array([1, 2, 1])
    assert check(*big, 2**62, 8) is True and check(big[0][:2], big[1][:2], 2**62, 8) is False


def test_weight_validation_counts_nan_and_infinite():
    demand, supply, costs = good_inputs()
    with pytest.raises(
        ValueError, match=r"weight returned 2 value\(s\) .* \(first: w\(2.0\) = nan"
    ):
        two_step_fca(
            demand, supply, costs, max_cost=10, weight=lambda c: np.where(c > 1, np.nan, 1.0)
        )
    with pytest.raises(ValueError, match=r"weight returned 1 value\(s\) .* w\(1.0\) = inf"):
        two_step_fca(
            demand, supply, costs, max_cost=10, weight=lambda c: np.where(c == 1, np.inf, 1.0)
        )
