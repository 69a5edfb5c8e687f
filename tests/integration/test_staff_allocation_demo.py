"""New staff on the demo city: no service point, new site or recommendation over its cap."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coverage.engine.recommend import recommend, recommend_staff, staff_caps
from coverage.engine.scenario import Edit, ScenarioModel

# ------------------------------------------------------------------------------------------
# on the small demo city
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(small_demo):
    return ScenarioModel(small_demo)


def test_no_service_point_gets_more_than_its_cap(model):
    cap = model.study.project.parameters.max_new_staff_per_site
    out = recommend_staff(model, 20)
    assert out["new_staff"].sum() == 20
    assert (out["new_staff"] <= out["new_staff_cap"]).all()
    assert (out["new_staff_cap"] == cap).all()
    assert out["new_staff"].max() <= cap
    # staff spread by need: every site given staff stands in a community that had a shortfall
    assert (out["community_shortfall_before"] >= 1).all()
    one = recommend_staff(model, 5, max_per_site=1)
    assert len(one) == 5 and (one["new_staff"] == 1).all()
    many = recommend_staff(model, 10_000, max_per_site=1)
    assert (many["new_staff"] == 1).all()
    assert many.attrs["unallocated"] == 10_000 - len(model.baseline.sites)


def test_a_new_site_holds_no_more_than_its_room(model, small_demo):
    truth = json.loads((small_demo / "ground_truth.json").read_text(encoding="utf-8"))
    lon, lat = truth["underserved_areas"][0]["centroid"]
    add = Edit("add", "NEW1", lon=lon, lat=lat, staff=0.5, name="新站")
    state = model.state_for([add])
    caps = staff_caps(model, state.sites, limits={"NEW1": 1.5})
    assert caps[list(state.sites.index).index("NEW1")] == 1
    # by staff per 1,000 served, the new site (half an FTE for a whole planted area) is the
    # neediest: without a room limit it takes more than one new staff member
    free = recommend_staff(model, 6, objective="maxmin", edits=[add], max_per_site=6)
    assert free.set_index("site_id").loc["NEW1", "new_staff"] >= 2
    out = recommend_staff(model, 6, objective="maxmin", edits=[add], limits={"NEW1": 1.5})
    row = out.set_index("site_id").loc["NEW1"]
    assert row["new_staff"] == 1 and row["staff_after"] == 1.5
    assert out["new_staff"].sum() == 6 and (out["new_staff"] <= out["new_staff_cap"]).all()


def test_a_whole_recommendation_respects_the_caps(model):
    rec = recommend(model, new_sites=2, new_staff=20)
    sites = rec.layers["recommended_sites"]
    staff = rec.layers["recommended_staff"].set_index("site_id")
    cap = model.study.project.parameters.max_new_staff_per_site
    assert staff["new_staff"].max() <= cap
    for edit, room in zip(rec.scenario.edits, sites["max_staff"], strict=False):
        if edit.site_id in staff.index and np.isfinite(room):
            assert staff.loc[edit.site_id, "staff_after"] <= room
    with pytest.raises(ValueError, match="max_per_site"):
        recommend_staff(model, 1, max_per_site=0)
