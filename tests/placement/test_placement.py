"""Location models: published optima (OR-Library, spopt's San Francisco case), spopt agreement,
capacities, fixed sites and input errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED
from coverage.placement import PlacementResult, max_coverage, p_center, p_median, set_cover
from coverage.placement.orlib import read_pmed

REFERENCE = SHARED
ORLIB = REFERENCE / "orlib"
SF = REFERENCE / "spopt_sf"
needs_orlib = pytest.mark.skipif(
    not ORLIB.is_dir(), reason=f"OR-Library reference folder not found at {ORLIB}"
)
needs_sf = pytest.mark.skipif(
    not SF.is_dir(), reason=f"spopt San Francisco reference folder not found at {SF}"
)


FAST = [1, 2, 3, 4, 5, 7, 8, 9, 10, 13, 14, 15, 18, 19, 20]
SLOW = [6, 11, 12, 16, 17]


@needs_orlib
@pytest.mark.parametrize(
    "k", [*FAST, *(pytest.param(k, marks=pytest.mark.slow) for k in SLOW)]
)
def test_orlib_pmed_published_optimum(k):
    optimal = json.loads((ORLIB / "optimal.json").read_text())["pmed_optimal"]
    dist, p = read_pmed(ORLIB / f"pmed{k}.txt")
    res = p_median(dist, None, p)
    assert res.objective == optimal[str(k)]
    assert res.status == "optimal"
    assert len(res.sites) == p
    assert res.objective - 1 < res.bound <= res.objective  # integral objective: proven optimal


@needs_orlib
def test_orlib_trap_values_differ():
    trap = json.loads((ORLIB / "optimal.json").read_text())["trap_if_min_of_duplicate_edges"]
    dist, p = read_pmed(ORLIB / "pmed1.txt")
    assert p_median(dist, None, p).objective != trap["pmed1"]


@needs_orlib
def test_heuristic_reports_valid_bound():
    optimal = json.loads((ORLIB / "optimal.json").read_text())["pmed_optimal"]
    for k in (6, 20):
        dist, p = read_pmed(ORLIB / f"pmed{k}.txt")
        res = p_median(dist, None, p, method="heuristic")
        assert res.status == "heuristic"
        assert res.bound <= optimal[str(k)] <= res.objective
        assert res.gap < 0.02
        assert res.gap == pytest.approx((res.objective - res.bound) / res.objective)


# --- San Francisco (spopt's real-world example) -------------------------------------------


@pytest.fixture(scope="module")
def sf():
    if not SF.is_dir():
        pytest.skip(f"spopt San Francisco reference folder not found at {SF}")
    d = pd.read_csv(
        SF / "SF_network_distance_candidateStore_16_censusTract_205_new.csv",
        dtype={"DestinationName": str},
    )
    table = d.rename(columns={"DestinationName": "origin", "name": "destination",
                              "distance": "cost"})[["origin", "destination", "cost"]]
    weights = d.groupby("DestinationName")["demand"].first()
    expected = json.loads((SF / "expected.json").read_text())
    return table, weights, expected


def test_sf_set_cover(sf):
    table, _, exp = sf
    res = set_cover(table, max_cost=5000)
    assert res.objective == exp["LSCP_min_facilities"] == len(res.sites)
    assert res.coverage_share == 1.0
    assert set_cover(table, max_cost=8000).objective == exp["LSCP_S8000"]


def test_sf_max_coverage(sf):
    table, w, exp = sf
    res = max_coverage(table, w, 4, max_cost=5000)
    assert res.objective == exp["MCLP_covered_pop"]
    assert sorted(res.sites) == ["Store_11", "Store_12", "Store_15", "Store_2"]
    assert res.assignment.isna().sum() == 21
    assert res.coverage_share == pytest.approx(exp["MCLP_covered_pop"] / exp["MCLP_total_pop"])


def test_sf_p_median(sf):
    table, w, exp = sf
    res = p_median(table, w, 4)
    assert res.objective == pytest.approx(exp["pmedian_objective"], rel=1e-6)
    assert res.objective / w.sum() == pytest.approx(exp["pmedian_mean_dist"], rel=1e-6)
    assert res.assignment.notna().all()


def test_sf_p_center(sf):
    table, _, exp = sf
    res = p_center(table, 4)
    assert res.objective == pytest.approx(exp["pcenter_objective"], rel=1e-9)
    assert len(res.sites) == 4


def test_sf_heuristics_match(sf):
    table, w, exp = sf
    assert max_coverage(table, w, 4, max_cost=5000, method="heuristic").objective == (
        exp["MCLP_covered_pop"]
    )
    res = p_median(table, w, 4, method="heuristic")
    assert res.objective == pytest.approx(exp["pmedian_objective"], rel=1e-6)
    assert res.bound <= res.objective


def test_sf_fixed_sites_in_answer(sf):
    table, w, _ = sf
    res = max_coverage(table, w, 5, max_cost=5000, fixed=["Store_1"])
    assert "Store_1" in res.sites and res.fixed == ["Store_1"] and len(res.sites) == 5
    free = max_coverage(table, w, 5, max_cost=5000)
    assert res.objective <= free.objective
    cover = set_cover(table, max_cost=5000, fixed=["Store_1", "Store_5"])
    assert {"Store_1", "Store_5"} <= set(cover.sites)
    assert cover.objective == len(cover.new_sites)
    assert "Store_3" in p_median(table, w, 4, fixed=["Store_3"]).sites
    assert "Store_3" in p_center(table, 4, fixed=["Store_3"]).sites


def test_sf_partial_cover_target(sf):
    table, w, _ = sf
    res = set_cover(table, max_cost=5000, weights=w, target=0.95)
    assert res.coverage_share >= 0.95
    assert res.objective < 8
    assert set_cover(table, max_cost=5000, weights=w, target=0.8).objective <= res.objective


# --- spopt agreement on random instances ---------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_coverage_matches_spopt(seed):
    pulp = pytest.importorskip("pulp")
    spopt_locate = pytest.importorskip("spopt.locate")
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 100, (60, 20))
    w = rng.integers(1, 50, 60).astype(float)
    model = spopt_locate.MCLP.from_cost_matrix(cost, w, service_radius=25, p_facilities=4)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    assert max_coverage(cost, w, 4, max_cost=25).objective == pytest.approx(
        pulp.value(model.problem.objective)
    )


# --- capacities ----------------------------------------------------------------------------


def _line():
    # 6 demand points on a line, 3 candidates; candidate 1 sits among the heavy demand
    pos_d = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 10.0])
    pos_c = np.array([1.5, 3.5, 10.0])
    cost = np.abs(pos_d[:, None] - pos_c[None, :])
    w = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 1.0])
    return cost, w


def test_capacitated_max_coverage_binds():
    cost, w = _line()
    free = max_coverage(cost, w, 1, max_cost=3)
    assert free.objective == 50
    cap = max_coverage(cost, w, 1, max_cost=3, capacity=[20.0, 20.0, 100.0])
    assert cap.objective == pytest.approx(20)
    assert cap.model == "capacitated_max_coverage"
    served = cap.allocation.groupby("site")["weight"].sum()
    assert (served <= 20 + 1e-6).all()
    both = max_coverage(cost, w, 2, max_cost=3, capacity=[30.0, 30.0, 100.0])
    assert both.objective == pytest.approx(50)
    served = both.allocation.groupby("site")["weight"].sum()
    caps = pd.Series([30.0, 30.0, 100.0])
    assert (served <= caps.reindex(served.index) + 1e-6).all()


def test_capacitated_p_median_respects_capacity():
    cost, w = _line()
    free = p_median(cost, w, 2)
    cap = p_median(cost, w, 2, capacity=pd.Series([20.0, 40.0, 40.0]))
    served = cap.allocation.groupby("site")["weight"].sum()
    assert (served <= pd.Series([20.0, 40.0, 40.0]).reindex(served.index) + 1e-6).all()
    assert cap.objective > free.objective
    assert cap.allocation.groupby("origin")["share"].sum().to_numpy() == pytest.approx(1.0)
    single = p_median(cost, w, 2, capacity=[20.0, 40.0, 40.0], single_source=True)
    assert single.allocation.groupby("origin").size().max() == 1
    assert single.objective >= cap.objective - 1e-9
    with pytest.raises(ValueError, match="capacity"):
        p_median(cost, w, 2, capacity=[10.0, 10.0, 10.0])


# --- tables, sparsity, time limit ------------------------------------------------------------


def test_table_with_missing_pairs_and_labels():
    table = pd.DataFrame(
        {"origin": ["a", "a", "b", "b", "c"], "destination": ["X", "Y", "Y", "Z", "Z"],
         "cost": [1.0, 5.0, 2.0, 1.0, 2.0]}
    )
    w = pd.Series({"a": 1.0, "b": 2.0, "c": 1.0, "d": 4.0})  # d reaches nothing
    res = max_coverage(table, w, 1, max_cost=2)
    assert res.sites == ["Z"] and res.objective == 3.0
    assert res.assignment.to_dict() == {"a": None, "b": "Z", "c": "Z", "d": None}
    with pytest.raises(ValueError, match="reach no candidate"):
        p_median(table, w, 2)
    res = p_median(table, w.drop("d"), 2)
    assert isinstance(res, PlacementResult)
    assert res.sites == ["X", "Z"]
    assert res.objective == 1 * 1 + 2 * 1 + 1 * 2


def test_time_limit_returns_solution_and_bound():
    rng = np.random.default_rng(3)
    cost = rng.uniform(0, 100, (600, 150))
    w = rng.integers(1, 100, 600).astype(float)
    res = max_coverage(cost, w, 8, max_cost=10, time_limit=1.0)
    assert res.status in {"optimal", "time_limit"}
    assert res.bound >= res.objective - 1e-6
    assert len(res.sites) == 8
    assert res.seconds < 10


# --- input errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p": 5}, "p: 5 sites requested but there are only 3 candidates"),
        ({"p": 0}, "p: must be at least 1"),
        ({"p": 1.5}, "p: must be a whole number"),
        ({"p": 1, "fixed": [7]}, "fixed: 1 id"),
        ({"p": 1, "fixed": [0, 1]}, "p: 1 is less than the 2 fixed sites"),
        ({"p": 1, "weights": [1, -1, 1, 1]}, "weights: 1 negative"),
        ({"p": 1, "weights": [1, np.nan, 1, 1]}, "weights: 1 weight"),
        ({"p": 1, "weights": [1, 1]}, "weights: need one weight per row"),
        ({"p": 1, "max_cost": -1}, "max_cost: must be a finite number"),
        ({"p": 1, "time_limit": 0}, "time_limit"),
    ],
)
def test_bad_inputs_name_argument_and_rule(kwargs, match):
    cost = np.arange(12, dtype=float).reshape(4, 3)
    kw = {"weights": None, "max_cost": 5.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        max_coverage(cost, kw.pop("weights"), kw.pop("p"), **kw)


def test_bad_cost_inputs():
    with pytest.raises(ValueError, match="costs: 1 negative"):
        p_median(np.array([[1.0, -2.0]]), None, 1)
    with pytest.raises(ValueError, match="columns"):
        p_median(pd.DataFrame({"o": [1], "d": [2], "c": [3]}), None, 1)
    dup = pd.DataFrame({"origin": [1, 1], "destination": [2, 2], "cost": [3.0, 4.0]})
    with pytest.raises(ValueError, match="repeated origin"):
        p_median(dup, None, 1)
    with pytest.raises(ValueError, match="weights: no weight for 1 origin"):
        p_median(pd.DataFrame({"origin": [1, 2], "destination": [5, 5], "cost": [1.0, 2.0]}),
                 pd.Series({1: 1.0}), 1)
    with pytest.raises(ValueError, match="target: must be a share"):
        set_cover(np.ones((2, 2)), max_cost=1, target=1.5)
    with pytest.raises(ValueError, match=r"target: 0\.9 of the weight cannot be covered"):
        set_cover(np.array([[1.0], [9.0]]), max_cost=2, target=0.9)
    with pytest.raises(ValueError, match="no candidate lies within max_cost"):
        set_cover(np.array([[1.0], [9.0]]), max_cost=2)
    with pytest.raises(ValueError, match="method"):
        p_median(np.ones((2, 2)), None, 1, method="fast")
    with pytest.raises(ValueError, match="capacity: need one capacity per candidate"):
        max_coverage(np.ones((2, 2)), None, 1, max_cost=1, capacity=[1.0])
