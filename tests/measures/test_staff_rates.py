"""Staff ratios on small denominators are left empty and flagged, the same in every table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import PROJECT_TOML
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
