"""Staff ratios of the demo city: none on a small denominator, the same in the what-if model."""

from __future__ import annotations

import numpy as np
import pytest

from coverage.engine.scenario import ScenarioModel
from coverage.io.loaders import load_study
from coverage.io.project import load_project

# ------------------------------------------------------------------------------------------
# the main job and the what-if model on the small demo city
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(small_demo):
    return ScenarioModel(small_demo)


def test_no_staff_ratio_is_published_on_fewer_than_the_minimum(small_run):
    comm = small_run.community_summary.set_index("community_id")
    minimum = small_run.study.project.parameters.rate_min_population
    people = {"staff_per_1000_migrants": comm["migrants"],
              "staff_per_1000_registered": comm["registered_pop"],
              "staff_per_1000_total": comm["migrants"] + comm["registered_pop"]}
    small = comm["registered_pop"] < minimum
    assert small.any()  # the demo has communities of a few registered residents
    for col, n in people.items():
        few = n < minimum
        assert comm.loc[few, col].isna().all(), col
        assert comm.loc[~few, col].notna().all(), col
        assert (comm[col + "_suppressed"] == few).all(), col
        # every published ratio is the staff over the people, recomputed here
        np.testing.assert_allclose(comm.loc[~few, col],
                                   comm.loc[~few, "staff"] / n[~few] * 1000, rtol=1e-12)
    # no published ratio is the outlier of a handful of people
    assert comm["staff_per_1000_registered"].max() < 200
    catch = small_run.site_catchments
    few = catch["total"] < minimum
    assert catch.loc[few, "staff_per_1000_total"].isna().all()
    assert (catch["staff_per_1000_total_suppressed"] == few).all()


def test_the_what_if_model_gives_the_main_jobs_ratios(model, small_run):
    base = model.evaluate()
    comm = base[base["level"] == "community"].set_index("unit")
    run = small_run.community_summary.set_index("community_id")
    mine = comm.loc[run.index, "staff_per_1000_total"].to_numpy()
    theirs = run["staff_per_1000_total"].to_numpy()
    np.testing.assert_array_equal(np.isnan(mine), np.isnan(theirs))
    assert np.isnan(theirs).any()
    np.testing.assert_allclose(mine, theirs, rtol=1e-12)
    district = base[base["level"] == "district"].set_index("unit")
    d = small_run.district_summary
    d = d[d["level"] == "district"].set_index("district")
    np.testing.assert_allclose(district.loc[d.index, "staff_per_1000_total"],
                               d["staff_per_1000_total"], rtol=1e-12)
    city = base[base["level"] == "city"].iloc[0]
    run_city = small_run.district_summary.iloc[-1]
    assert city["staff_per_1000_total"] == pytest.approx(run_city["staff_per_1000_total"])


def test_the_what_if_model_reads_the_projects_minimum(small_demo, tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("min_rate") / "city"
    shutil.copytree(small_demo, folder, ignore=shutil.ignore_patterns("results"))
    toml = folder / "project.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("rate_min_population = 100", "rate_min_population = 2000"),
                    encoding="utf-8")
    model = ScenarioModel(folder)
    base = model.evaluate()
    comm = base[base["level"] == "community"]
    assert comm["staff_per_1000_total"].isna().sum() > 0
    table = model._community_table(model.baseline.sites)
    total = (table["migrants"] + table["registered_pop"]).to_numpy()
    expected = np.where(total >= 2000, table["staff"].to_numpy() / total * 1000, np.nan)
    np.testing.assert_allclose(comm["staff_per_1000_total"].to_numpy(), expected, rtol=1e-12)
    # The main job reads the same minimum: its community ratios equal the model's.
    from coverage.engine.run import run_study

    run = run_study(load_study(load_project(folder))).community_summary.set_index(
        "community_id")
    mine = comm.set_index("unit").loc[run.index, "staff_per_1000_total"].to_numpy()
    np.testing.assert_array_equal(np.isnan(mine), run["staff_per_1000_total"].isna().to_numpy())
    assert run["staff_per_1000_total_suppressed"].sum() == np.isnan(mine).sum() > 0
