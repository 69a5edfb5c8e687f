"""The demo city's summaries and indicators, published with small cells protected."""

from __future__ import annotations

import numpy as np
import pytest

from coverage.publish.tables import publish_indicators, publish_summaries

MIN_CELL = 10


def test_summaries_of_the_demo_city(small_run):
    thresholds = small_run.study.project.parameters.thresholds_min
    districts, communities = publish_summaries(small_run.district_summary,
                                               small_run.community_summary, thresholds)
    assert len(districts) == len(small_run.district_summary)
    counts = communities["migrants"].astype("Float64")
    assert not ((counts > 0) & (counts < MIN_CELL)).fillna(False).any()
    # a hidden population hides everything computed from it
    hidden = communities["registered_pop"].isna()
    for col in ("staff_per_1000_registered", "staff_needed", "e2sfca_mean_registered"):
        assert communities.loc[hidden, col].isna().all(), col
    # published values are the results' values
    truth = small_run.community_summary.set_index("community_id")
    shown = communities.set_index("community_id")["coverage_15min_migrant"].dropna()
    np.testing.assert_allclose(shown.to_numpy(float),
                               truth.loc[shown.index, "coverage_15min_migrant"].to_numpy(float))
    # the within-15 share is the sum of the time bands: published only when no band is revealed
    comm = small_run.community_summary.set_index("community_id")
    within = np.rint(comm["coverage_15min_migrant"] * comm["migrants"])
    beyond = comm["migrants"] - within
    small = ((within > 0) & (within < MIN_CELL)) | ((beyond > 0) & (beyond < MIN_CELL))
    published = communities.set_index("community_id")["coverage_15min_migrant"].notna()
    assert not (small & published.reindex(comm.index)).any()


def test_indicators_of_the_demo_city(small_run):
    comm_district = small_run.community_summary.set_index("community_id")["district"]
    out = publish_indicators(small_run.indicators, comm_district)
    assert len(out) == len(small_run.indicators)
    people = out[out["indicator"] != "community_management"]
    for col in ("group_size", "unknown", "population", "achieved"):
        v = people[col].astype("Float64")
        assert not ((v > 0) & (v < MIN_CELL)).fillna(False).any(), col
    not_served = (people["population"] - people["achieved"]).astype("Float64")
    assert not ((not_served > 0) & (not_served < MIN_CELL)).fillna(False).any()
    assert people.loc[people["achieved"].isna(), "value"].isna().all()
    city = out[out["level"] == "city"]
    assert city["value"].notna().all()  # the whole city is never small


@pytest.mark.parametrize("bad", [-1, 0])
def test_min_cell_must_be_positive(small_run, bad):
    comm_district = small_run.community_summary.set_index("community_id")["district"]
    with pytest.raises(ValueError, match="min_cell"):
        publish_indicators(small_run.indicators, comm_district, min_cell=bad)
