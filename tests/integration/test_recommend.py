"""Recommendations of new service points and staff, and the recommend/simulate commands."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from coverage.cli import app
from coverage.engine.recommend import candidate_sites, recommend_sites, recommend_staff
from coverage.engine.scenario import Edit, ScenarioModel
from minimal import (
    COMMUNITIES_OPTIONAL,
    MIGRANTS_OPTIONAL,
    OPTIONAL_LAYERS,
    SITES_OPTIONAL,
    partial_project,
)


@pytest.fixture(scope="module")
def model(small_demo):
    return ScenarioModel(small_demo)


@pytest.fixture(scope="module")
def planted(small_demo, model):
    areas = gpd.read_file(small_demo / "ground_truth.gpkg", layer="underserved_areas")
    return shapely.union_all(areas.to_crs(model.study.crs).geometry.to_numpy())


def _city(table):
    return table[table["level"] == "city"].iloc[0]


def test_candidates_from_every_source(model):
    clusters = gpd.GeoDataFrame({"cluster_id": [1], "node_x": [model.net.x[0]],
                                 "node_y": [model.net.y[0]]}, geometry=[None],
                                crs=model.study.crs)
    cands = candidate_sites(model, clusters=clusters, spacing_m=500)
    assert set(cands["source"]) == {"user", "cluster", "grid"}
    assert cands["candidate_id"].is_unique
    grid = cands[cands["source"] == "grid"]
    cells = np.floor(grid.geometry.x / 500).astype(int) * 100000 + np.floor(
        grid.geometry.y / 500).astype(int)
    assert cells.is_unique  # one candidate per 500 m square
    with pytest.raises(ValueError, match="spacing_m"):
        candidate_sites(model, spacing_m=0)


def test_coverage_recommendation_goes_to_the_planted_areas(model, planted):
    rec = recommend_sites(model, 2, objective="coverage")
    assert rec.result.status == "optimal"
    assert len(rec.sites) == 2
    near = shapely.dwithin(rec.sites.geometry.to_numpy(), planted, 500.0)
    assert near.all()
    effect = rec.effect.iloc[0]
    assert effect[("after − before", "coverage_15min_migrant")] > 0.05
    base = _city(model.evaluate())
    new = _city(model.evaluate(rec.edits))
    assert new["coverage_15min_migrant"] > base["coverage_15min_migrant"] + 0.05
    assert rec.sites["migrants_newly_within_15min"].min() > 0


def test_target_objective_reaches_the_target(model):
    rec = recommend_sites(model, 1, objective="target", target=0.9)
    assert rec.result.coverage_share >= 0.9
    new = _city(model.evaluate(rec.edits))
    assert new["coverage_15min_migrant"] >= 0.9 - 0.01  # node aggregation vs people


def test_distance_objective_lowers_walking(small_demo, tmp_path):
    # On half the city (its first 24 communities, with all their data): the whole city's
    # exact p-median takes the solver about a minute and proves nothing more here.
    half = partial_project(small_demo, tmp_path / "half", communities=24,
                           migrant_columns=MIGRANTS_OPTIONAL, site_columns=SITES_OPTIONAL,
                           community_columns=COMMUNITIES_OPTIONAL, layers=OPTIONAL_LAYERS)
    model = ScenarioModel(half)
    rec = recommend_sites(model, 1, objective="distance")
    state = model.state_for(rec.edits)
    assert np.nanmean(state.m_time) < np.nanmean(model.baseline.m_time)


def test_staff_shortfall_falls_by_the_staff_added(model):
    base = _city(model.evaluate())
    out = recommend_staff(model, 6)
    assert out["new_staff"].sum() == 6
    after = _city(model.evaluate(out.attrs["edits"]))
    assert after["staff"] == base["staff"] + 6
    assert after["staff_shortfall"] == pytest.approx(base["staff_shortfall"] - 6)
    assert (out["community_shortfall_after"] < out["community_shortfall_before"]).all()


def test_staff_maxmin_raises_the_lowest_ratio(model):
    out = recommend_staff(model, 4, objective="maxmin")
    assert out["new_staff"].sum() == 4
    assert (out["staff_per_1000_served_after"] > out["staff_per_1000_served_before"]).all()
    with pytest.raises(ValueError, match="objective"):
        recommend_staff(model, 1, objective="fairest")
    with pytest.raises(ValueError, match="whole number"):
        recommend_staff(model, -1)


def test_cli_recommend_and_simulate(small_demo, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["recommend", str(small_demo), "--new-sites", "2",
                                 "--new-staff", "3", "--out", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 0, result.output
    layers = {row[0] for row in pyogrio.list_layers(tmp_path / "results.gpkg")}
    assert {"recommended_sites", "recommended_staff", "scenario_comparison"} <= layers
    comp = pyogrio.read_dataframe(tmp_path / "results.gpkg", layer="scenario_comparison")
    assert set(comp["scenario"]) == {"baseline", "recommended"}
    scenario = tmp_path / "recommended_scenario.json"
    data = json.loads(scenario.read_text(encoding="utf-8"))
    assert len(data["edits"]) >= 3 and data["inputs"]["migrants"]
    result = runner.invoke(app, ["simulate", str(small_demo), str(scenario), "--out",
                                 str(tmp_path)])
    assert result.exit_code == 0, result.output
    # The simulation is kept by its scenario's name, beside the recommendation's comparison.
    layers = {row[0] for row in pyogrio.list_layers(tmp_path / "results.gpkg")}
    assert {"recommended_sites", "scenario_comparison", "simulation_recommended"} <= layers
    comp = pyogrio.read_dataframe(tmp_path / "results.gpkg", layer="scenario_comparison")
    assert set(comp["scenario"]) == {"baseline", "recommended"}
    assert (tmp_path / "simulation_recommended.csv").is_file()
    # A staff-only recommendation replaces the whole recommendation: no older sites stay.
    result = runner.invoke(app, ["recommend", str(small_demo), "--new-sites", "0",
                                 "--new-staff", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    layers = {row[0] for row in pyogrio.list_layers(tmp_path / "results.gpkg")}
    assert "recommended_sites" not in layers and "recommended_staff" in layers
    assert not (tmp_path / "recommended_sites.csv").exists()
    assert "simulation_recommended" in layers
    staff = pyogrio.read_dataframe(tmp_path / "results.gpkg", layer="recommended_staff")
    assert staff["new_staff"].sum() == pytest.approx(2)
    # More new or moved points than a scenario may hold is refused before any work.
    result = runner.invoke(app, ["recommend", str(small_demo), "--new-sites", "60",
                                 "--relocate", "41", "--out", str(tmp_path / "many")])
    assert result.exit_code == 2
    assert "101" in result.output and "100" in result.output
    assert not (tmp_path / "many").exists()
    bad = tmp_path / "bad.json"
    bad.write_text('{"edits": [{"action": "close", "site_id": "NOPE"}]}', encoding="utf-8")
    result = runner.invoke(app, ["simulate", str(small_demo), str(bad)])
    assert result.exit_code == 2
    assert "NOPE" in result.output


def test_scenario_edit_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown kind"):
        Edit("add", "x", lon=1.0, lat=2.0, staff=1.0, kind="hospital").check()


def test_relocation_keeps_staff_and_lowers_shortfall(model):
    base = _city(model.evaluate())
    out = recommend_staff(model, 0, relocate=4)
    assert out["new_staff"].sum() == 0
    assert (out["new_staff"] < 0).any()
    assert (out["staff_after"] >= 1).all()
    after = _city(model.evaluate(out.attrs["edits"]))
    assert after["staff"] == base["staff"]
    assert after["staff_shortfall"] == pytest.approx(base["staff_shortfall"] - 4)


def test_relocation_maxmin_raises_the_minimum(model):
    state = model.baseline
    out = recommend_staff(model, 0, objective="maxmin", relocate=3)
    gained = out["new_staff"] > 0
    lost = out["new_staff"] < 0
    # the ratios recomputed from staff and people: a donor may serve too few people for its
    # published ratio (empty below the project's rate_min_population)
    ratio = out["staff_after"] / out["people_served"] * 1000
    assert ratio[gained].max() <= ratio[lost].min()
    published = out["people_served"] >= model.rate_min_population
    np.testing.assert_allclose(out.loc[published, "staff_per_1000_served_after"],
                               ratio[published])
    assert out.loc[~published, "staff_per_1000_served_after"].isna().all()
    assert len(state.sites) == len(model.baseline.sites)
    with pytest.raises(ValueError, match="nothing to recommend"):
        recommend_staff(model, 0)


def test_recommendation_tables_equal_a_fresh_evaluation(model):
    from coverage.engine.recommend import recommend

    rec = recommend(model, new_sites=2, new_staff=3)
    assert len(rec.scenario.edits) > 2  # two sites, then their staff
    pd.testing.assert_frame_equal(rec.tables["baseline"], model.evaluate())
    pd.testing.assert_frame_equal(rec.tables["recommended"], model.evaluate(rec.scenario))
