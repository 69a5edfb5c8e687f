"""The main job on the small demo city: result tables, files and their consistency."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from coverage.cli import app
from coverage.engine.run import RESULT_LAYERS, write_results
from coverage.measures.access import e2sfca_steps

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
DOCS = [DOCS_DIR / "outputs.md", DOCS_DIR / "patterns.md", DOCS_DIR / "flows.md"]


def test_recommendation_columns_are_documented(small_demo):
    from coverage.engine.recommend import recommend, recommend_sites, recommend_staff
    from coverage.engine.scenario import ScenarioModel, scenario_layer

    model = ScenarioModel(small_demo)
    text = (DOCS_DIR / "outputs.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Za-z0-9_{}<>-]+)`", text))
    sites = recommend_sites(model, 1).sites
    staff = recommend_staff(model, 1)
    comparison = scenario_layer(model, {})
    cost = recommend(model, new_sites=0, new_staff=1).layers["recommendation_cost"]
    for name, table in (("recommended_sites", sites), ("recommended_staff", staff),
                        ("scenario_comparison", comparison), ("recommendation_cost", cost)):
        assert f"`{name}`" in text
        for col in table.columns:
            generic = re.sub(r"_\d+(\.\d+)?min", "_{t}", col)
            assert col == "geometry" or col in documented or generic in documented, (name, col)


def test_every_result_column_is_documented(small_run):
    text = "\n".join(d.read_text(encoding="utf-8") for d in DOCS)
    documented = set(re.findall(r"`([A-Za-z0-9_{}<>]+)`", text))
    for name, table in small_run.layers(person_level=True).items():
        assert f"`{name}`" in text
        for col in table.columns:
            if col == "geometry":
                continue
            generic = re.sub(r"_\d+(\.\d+)?min", "_{t}", col)
            generic = re.sub(r"^(gini|theil)_\{t\}", r"\1_{T}", generic)
            kind = re.sub(r"^time_min_[a-z_]+$", "time_min_{kind}", col)
            kind = re.sub(r"^arrivals_\d{4}Q\d$", "arrivals_<YYYY>Q<n>", kind)
            assert col in documented or generic in documented or kind in documented, (name, col)


def test_required_community_columns(small_run):
    required = ["community_id", "district", "migrants", "registered_pop", "staff",
                "staff_per_1000_migrants", "staff_per_1000_registered", "staffing_standard",
                "staff_shortfall", "coverage_15min_migrant", "coverage_15min_registered",
                "coverage_gap_15min", "coverage_5min_migrant", "coverage_gap_10min",
                "e2sfca_mean_migrant", "unreachable_migrants"]
    assert set(required) <= set(small_run.community_summary.columns)


def test_community_coverage_matches_migrant_times(small_run):
    access = small_run.migrant_access
    direct = (access["time_min"] <= 15).groupby(access["community_id"]).mean()
    summary = small_run.community_summary.set_index("community_id")
    np.testing.assert_allclose(summary.loc[direct.index, "coverage_15min_migrant"],
                               direct.to_numpy(), rtol=0, atol=1e-12)
    counts = access.groupby("community_id").size()
    assert (summary.loc[counts.index, "migrants"] == counts).all()
    assert summary["migrants"].sum() == len(access)


def test_district_rows_add_up(small_run):
    d = small_run.district_summary
    city = d[d.level == "city"].iloc[0]
    parts = d[d.level == "district"]
    assert parts["migrants"].sum() == city["migrants"] == len(small_run.migrant_access)
    assert parts["staff_shortfall"].sum() == pytest.approx(city["staff_shortfall"])
    within = (small_run.migrant_access["time_min"] <= 10).mean()
    assert city["coverage_10min_migrant"] == pytest.approx(within)
    assert (d["gini_15min_migrant"].dropna().between(0, 1)).all()


def test_planted_underserved_areas_are_worse(small_run, small_demo):
    truth = gpd.read_file(small_demo / "ground_truth.gpkg", layer="underserved_areas")
    truth = truth.to_crs(small_run.study.crs)
    homes = small_run.study.migrants.geometry.to_numpy()
    inside = shapely.contains(shapely.union_all(truth.geometry.to_numpy()), homes)
    times = small_run.migrant_access["time_min"].to_numpy()
    assert inside.sum() > 100
    assert np.nanmedian(times[inside]) > 20
    assert np.nanmedian(times[~inside]) < 10


def test_the_main_job_tells_the_planted_story_of_unequal_service(small_run, small_demo):
    story = json.loads((small_demo / "ground_truth.json").read_text(encoding="utf-8"))[
        "equalization"]
    equal = set(story["equal_districts"])
    d = small_run.district_summary.set_index("district")
    city = d.loc["全市"]
    d = d[d["level"] == "district"]
    comm = small_run.community_summary
    staff = comm.assign(m=comm["e2sfca_mean_migrant"] * comm["migrants"],
                        r=comm["e2sfca_mean_registered"] * comm["registered_pop"]).groupby(
        "district")[["m", "r", "migrants", "registered_pop"]].sum()
    staff_gap = staff["r"] / staff["registered_pop"] - staff["m"] / staff["migrants"]
    for district in d.index:
        sign = -1 if district in equal else 1
        # within 5 minutes of a service point, and accessible staff per 1,000 (E2SFCA)
        assert sign * d.loc[district, "coverage_gap_5min"] > 0, district
        assert sign * staff_gap[district] > 0, district
    # city-wide, migrants are the worse covered, as the plan finds
    assert city["coverage_gap_15min"] > 0 and city["coverage_gap_10min"] > 0


def test_indicators_match_the_records(small_run, small_demo):
    raw = pd.read_csv(small_demo / "migrants.csv", encoding="utf-8-sig", dtype=str,
                      keep_default_na=False)
    known = raw["政策知晓"] != ""
    share = (raw.loc[known, "政策知晓"] == "是").mean()
    ind = small_run.indicators
    city = ind[(ind.level == "city") & (ind.indicator == "policy_awareness")].iloc[0]
    assert city["value"] == pytest.approx(share)
    assert city["population"] == known.sum()


def test_migrant_access_holds_no_coordinates(small_run):
    cols = set(small_run.migrant_access.columns)
    assert not cols & {"geometry", "lon", "lat", "x", "y", "work_x", "work_y"}


def test_e2sfca_conserves_staff(small_run):
    # Σ over demand of score × population = staff of every site with someone in reach.
    sites = small_run.site_catchments
    in_reach = sites["weighted_demand_e2sfca"] > 0
    migrants_part = small_run.migrant_access["e2sfca"].sum() / 1000
    assert migrants_part <= sites.loc[in_reach, "staff"].sum() + 1e-9
    assert migrants_part > 0


def test_e2sfca_steps():
    assert e2sfca_steps((5, 10, 15)) == {5.0: 1.0, 10.0: 0.68, 15.0: 0.22}
    assert e2sfca_steps((15,)) == {15.0: 1.0}
    assert list(e2sfca_steps((5, 10, 15, 20)).values())[-1] == pytest.approx(0.22)


def test_write_results(small_run, tmp_path):
    target = write_results(small_run, tmp_path)
    layers = [row[0] for row in pyogrio.list_layers(target)]
    assert sorted(layers) == sorted([*RESULT_LAYERS, "indicator_quarters"])
    assert sorted(small_run.layers()) == sorted(layers)
    for name in layers:
        csv = tmp_path / f"{name}.csv"
        assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
        back = pd.read_csv(csv, encoding="utf-8-sig")
        assert len(back) == len(small_run.layers()[name])
    summary = pyogrio.read_dataframe(target, layer="community_summary")
    assert summary.geometry.notna().all()
    assert summary["staff_shortfall"].sum() == pytest.approx(
        small_run.community_summary["staff_shortfall"].sum())


def test_cli_run(small_demo, tmp_path):
    result = CliRunner().invoke(app, ["run", str(small_demo), "--out", str(tmp_path), "--lang",
                                      "en"])
    assert result.exit_code == 0, result.output
    assert "City summary" in result.output
    assert (tmp_path / "results.gpkg").exists()
    truth = json.loads((small_demo / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth  # the demo's planted truth travels with the project
