"""Staff ratios on small denominators are left empty and flagged, the same in every table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import PROJECT_TOML
from coverage.engine.scenario import ScenarioModel
from coverage.io.loaders import load_study
from coverage.io.project import (
    DEFAULT_MAX_NEW_STAFF_PER_SITE,
    DEFAULT_RATE_MIN_POPULATION,
    ProjectError,
    load_project,
)
from coverage.measures.staffing import (
    RATE_COLUMNS,
    catchment_staffing,
    community_staffing,
    staff_rate,
)


def test_staff_rate_leaves_small_denominators_empty():
    staff = np.array([3.5, 3.5, 1.0, 2.0, 0.0])
    people = np.array([2.0, 99.0, 100.0, 0.0, 500.0])
    rate, flag = staff_rate(staff, people, min_population=100)
    assert flag.tolist() == [True, True, False, True, False]
    assert np.isnan(rate[[0, 1, 3]]).all()
    assert rate[2] == pytest.approx(10.0)  # 1 staff for 100 people: 10 per 1,000
    assert rate[4] == 0.0
    rate, flag = staff_rate(staff, people, min_population=1)
    assert rate[0] == pytest.approx(1750.0) and not flag[0]
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="min_population"):
            staff_rate(staff, people, min_population=bad)


def _tables():
    communities = pd.DataFrame({
        "community_id": ["A", "B", "C"], "district": ["d", "d", "d"],
        "registered_pop": [2, 5000, 60], "fp_staff": [0.5, 2.0, 0.0]})
    migrants = pd.DataFrame({"community_id": ["A"] * 150 + ["B"] * 40 + ["C"] * 30})
    sites = pd.DataFrame({"community_id": ["A", "B"], "staff": [3.0, 4.0]})
    return communities, migrants, sites


def test_community_staffing_flags_each_ratio_on_its_own_denominator():
    communities, migrants, sites = _tables()
    t = community_staffing(communities, migrants, sites, min_population=100)
    # A: 2 registered (empty), 150 migrants and 152 people (published)
    assert np.isnan(t.loc["A", "staff_per_1000_registered"])
    assert t.loc["A", "staff_per_1000_registered_suppressed"]
    assert t.loc["A", "staff_per_1000_migrants"] == pytest.approx(3.5 / 150 * 1000)
    assert t.loc["A", "staff_per_1000_total"] == pytest.approx(3.5 / 152 * 1000)
    assert not t.loc["A", "staff_per_1000_total_suppressed"]
    # B: 40 migrants (empty), 5,000 registered (published)
    assert np.isnan(t.loc["B", "staff_per_1000_migrants"])
    assert t.loc["B", "staff_per_1000_registered"] == pytest.approx(6.0 / 5000 * 1000)
    # C: 90 people in all, no ratio at all; its need and shortfall are still computed
    assert t.loc["C", [c + "_suppressed" for c in RATE_COLUMNS]].all()
    assert t.loc["C", "staff_shortfall"] > 0
    for col in RATE_COLUMNS:
        assert (t[col].isna() == t[col + "_suppressed"]).all()
    # the standard comes from the district's totals, not from the small communities' ratios
    assert t["staffing_standard"].iloc[0] == pytest.approx(9.5 / 5062 * 1000)


def test_catchment_staffing_flags_small_catchments():
    sites = pd.DataFrame({"staff": [2.0, 5.0]}, index=["s1", "s2"])
    migrant_site = pd.Series(["s1"] * 3 + ["s2"] * 400)
    t = catchment_staffing(sites, migrant_site, min_population=100)
    assert np.isnan(t.loc["s1", "staff_per_1000_migrants"])
    assert t.loc["s1", "staff_per_1000_migrants_suppressed"]
    assert t.loc["s2", "staff_per_1000_migrants"] == pytest.approx(12.5)


def _project(tmp_path, staffing: str):
    text = PROJECT_TOML + "[parameters.staffing]\n" + staffing
    (tmp_path / "project.toml").write_text(text, encoding="utf-8")
    return load_project(tmp_path)


def test_parameters_have_documented_defaults_and_are_checked(tmp_path):
    params = _project(tmp_path, "").parameters
    assert params.rate_min_population == DEFAULT_RATE_MIN_POPULATION == 100
    assert params.max_new_staff_per_site == DEFAULT_MAX_NEW_STAFF_PER_SITE == 4
    params = _project(tmp_path, "rate_min_population = 30\nmax_new_staff_per_site = 2\n"
                      ).parameters
    assert (params.rate_min_population, params.max_new_staff_per_site) == (30, 2)
    for line in ("rate_min_population = 0", "rate_min_population = 50.5",
                 "max_new_staff_per_site = -1", 'max_new_staff_per_site = "4"'):
        with pytest.raises(ProjectError, match=r"\[parameters.staffing\].*whole number"):
            _project(tmp_path, line + "\n")
    with pytest.raises(ProjectError, match="rate_min_population"):
        _project(tmp_path, "rate_min_populaton = 10\n")


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
