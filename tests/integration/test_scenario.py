"""What-if scenarios: incremental evaluation equals recomputation from scratch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coverage.engine.scenario import Edit, Scenario, ScenarioModel, compare, scenario_layer


@pytest.fixture(scope="module")
def model(small_demo):
    return ScenarioModel(small_demo)


@pytest.fixture(scope="module")
def planted(small_demo):
    truth = json.loads((small_demo / "ground_truth.json").read_text(encoding="utf-8"))
    return truth["underserved_areas"][0]


def _numbers(table):
    return table.select_dtypes("number").to_numpy()


def _same(a, b):
    assert list(a["unit"]) == list(b["unit"])
    np.testing.assert_array_equal(_numbers(a), _numbers(b))


def test_baseline_matches_the_main_job(model, small_run):
    """One aggregation: the scenario model's baseline holds the main job's figures exactly."""
    base = model.evaluate()
    shared = ["migrants", *[c for c in base.columns if c.startswith("coverage_")], "staff",
              "staff_shortfall", "staff_per_1000_total"]
    comm = base[base.level == "community"].set_index("unit")
    run = small_run.community_summary.set_index("community_id")
    for col in [*shared, "e2sfca_mean_migrant", "e2sfca_mean_registered"]:
        np.testing.assert_array_equal(comm.loc[run.index, col].to_numpy(float),
                                      run[col].to_numpy(float), err_msg=col)
    units = base[base.level != "community"].set_index("unit")
    rows = small_run.district_summary.set_index("district")
    assert list(units.index) == [rows.index[-1], *rows.index[:-1]]  # the city row first
    for col in shared:
        np.testing.assert_array_equal(units.loc[rows.index, col].to_numpy(float),
                                      rows[col].to_numpy(float), err_msg=col)


@pytest.mark.parametrize("edits", [
    "add", "close", "move", "staff", "sequence",
])
def test_incremental_equals_full(model, planted, edits):
    lon, lat = planted["centroid"]
    add = Edit("add", "NEW1", lon=lon, lat=lat, staff=3.0, kind="health_station", name="新站")
    first = model.baseline.sites.index[0]
    second = model.baseline.sites.index[1]
    plans = {
        "add": [add],
        "close": [Edit("close", first)],
        "move": [Edit("move", second, lon=lon + 0.002, lat=lat)],
        "staff": [Edit("set_staff", first, staff=25.0)],
        "sequence": [add, Edit("set_staff", "NEW1", staff=6.0), Edit("close", first),
                     Edit("move", second, lon=lon - 0.003, lat=lat + 0.002),
                     Edit("close", "NEW1")],
    }[edits]
    _same(model.evaluate(plans), model.full(plans))


def test_adding_a_site_in_the_planted_area_helps_there(model, planted):
    lon, lat = planted["centroid"]
    before = model.evaluate()
    after = model.evaluate([Edit("add", "NEW1", lon=lon, lat=lat, staff=3.0)])
    comm = planted["community_ids"]
    b = before.set_index("unit").loc[comm, "coverage_15min_migrant"]
    a = after.set_index("unit").loc[comm, "coverage_15min_migrant"]
    assert (a >= b).all() and (a - b).max() > 0.2
    city_b = before[before.level == "city"].iloc[0]
    city_a = after[after.level == "city"].iloc[0]
    assert city_a["staff"] == city_b["staff"] + 3.0
    # the baseline is not modified by evaluating a scenario
    _same(model.evaluate(), before)


def test_scenario_json_round_trip(model, tmp_path):
    scen = Scenario("加站", [Edit("add", "N1", lon=113.76, lat=23.02, staff=2.0),
                            Edit("set_staff", "N1", staff=3.0)], inputs=model.inputs)
    path = tmp_path / "s.json"
    scen.to_json(path)
    back = Scenario.from_text(path.read_bytes())
    assert back == scen
    assert set(back.inputs) >= {"migrants", "sites", "communities", "network"}
    assert "加站" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "not valid JSON"),
    ('{"name": "x"}', "edits"),
    ('{"edits": [{"action": "build", "site_id": "a"}]}', "unknown action"),
    ('{"edits": [{"action": "add", "site_id": "a", "staff": 1}]}', "needs lon and lat"),
    ('{"edits": [{"action": "add", "site_id": "a", "lon": 1, "lat": 2, "staff": -1}]}',
     "staff ≥ 0"),
    ('{"edits": [{"action": "add", "site_id": "a", "lon": 1, "lat": 2, "staff": 1, '
     '"colour": "red"}]}', "unknown keys"),
])
def test_bad_scenarios_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        Scenario.from_text(text)


def test_bad_edits_name_the_site(model):
    with pytest.raises(ValueError, match="NOPE"):
        model.evaluate([Edit("close", "NOPE")])
    first = model.baseline.sites.index[0]
    with pytest.raises(ValueError, match="already exists"):
        model.evaluate([Edit("add", first, lon=113.76, lat=23.02, staff=1.0)])


def test_compare_and_layer(model):
    base = model.evaluate()
    more = model.evaluate([Edit("set_staff", model.baseline.sites.index[0], staff=50.0)])
    table = compare({"baseline": base, "more staff": more})
    delta = table["more staff − baseline"].iloc[0]
    assert delta["staff"] > 0
    assert delta["migrants"] == 0
    layer = scenario_layer(model, {"more": Scenario("more", [Edit(
        "set_staff", model.baseline.sites.index[0], staff=50.0)])})
    assert set(layer["scenario"]) == {"baseline", "more"}
    assert "community" not in set(layer["level"])
