"""New staff respect a cap per service point and go where the need is (checked by brute force)."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest

from coverage.engine.recommend import recommend, recommend_staff, staff_caps
from coverage.engine.scenario import Edit, ScenarioModel
from coverage.placement.staff import allocate_maxmin, allocate_shortfall


def _allocations(caps, n):
    """Every whole allocation of min(n, Σ caps) staff under the caps."""
    total = min(n, int(sum(caps)))
    for x in itertools.product(*(range(int(c) + 1) for c in caps)):
        if sum(x) == total:
            yield np.array(x, dtype=float)


def _left(shortfall, site_unit, x):
    return shortfall - np.bincount(site_unit, weights=x, minlength=len(shortfall))


def test_shortfall_allocation_by_hand():
    # unit 0 needs 5 FTE and has sites a (serving 100) and b (serving 300); unit 1 needs 2.5
    # and has site c; unit 2 needs nothing (site d). At most 2 new staff per site.
    shortfall = np.array([5.0, 2.5, 0.0])
    site_unit = np.array([0, 0, 1, 2])
    served = np.array([100.0, 300.0, 50.0, 80.0])
    got = allocate_shortfall(shortfall, site_unit, 6, caps=2, order=served)
    # b, b (full), a, then c (2.5 > 2), a (full), c: unit 0 keeps 1, unit 1 keeps 0.5
    assert got.tolist() == [2.0, 2.0, 2.0, 0.0]
    # without caps, all would go to the unit with the largest shortfall first
    free = allocate_shortfall(shortfall, site_unit, 6, order=served)
    assert free.tolist() == [0.0, 4.0, 2.0, 0.0]
    # no room left: fewer than asked
    assert allocate_shortfall(shortfall, site_unit, 20, caps=2).sum() == 8


@pytest.mark.parametrize("seed", range(25))
def test_shortfall_allocation_is_the_brute_force_optimum(seed):
    rng = np.random.default_rng(seed)
    n_units, n_sites = 3, 5
    shortfall = np.round(rng.uniform(0, 5, n_units) * 2) / 2
    site_unit = rng.integers(0, n_units, n_sites)
    caps = rng.integers(0, 4, n_sites).astype(float)
    n = int(rng.integers(1, 9))
    got = allocate_shortfall(shortfall, site_unit, n, caps=caps, order=rng.random(n_sites))
    assert (got <= caps).all() and got.sum() == min(n, caps.sum())

    def total(x):
        return np.maximum(_left(shortfall, site_unit, x), 0).sum()

    best = min(total(x) for x in _allocations(caps, n))
    assert total(got) == pytest.approx(best)
    # and, of the optimal allocations, it leaves the largest remaining need smallest
    # (lexicographically, largest first): staff go where the need is greatest
    key = sorted(_left(shortfall, site_unit, got), reverse=True)
    brute = min(sorted(_left(shortfall, site_unit, x), reverse=True)
                for x in _allocations(caps, n))
    np.testing.assert_allclose(key, brute)


def test_maxmin_allocation_by_hand():
    staff = np.array([1.0, 2.0, 0.0])
    people = np.array([1000.0, 1000.0, 500.0])
    got = allocate_maxmin(staff, people, 3, caps=np.array([np.inf, 1, np.inf]))
    # ratios 1, 2, 0 per 1,000: the third to 2, the first to 2, then the tie goes first
    assert got.tolist() == [2.0, 0.0, 1.0]
    capped = allocate_maxmin(staff, people, 3, caps=np.array([1, 1, 0]))
    assert capped.tolist() == [1.0, 1.0, 0.0]  # only two places had room


@pytest.mark.parametrize("seed", range(25))
def test_maxmin_allocation_is_the_brute_force_leximin(seed):
    rng = np.random.default_rng(100 + seed)
    staff = rng.integers(0, 4, 4).astype(float)
    people = rng.integers(1, 6, 4) * 200.0
    caps = rng.integers(0, 4, 4).astype(float)
    n = int(rng.integers(1, 8))
    got = allocate_maxmin(staff, people, n, caps=caps)
    assert (got <= caps).all() and got.sum() == min(n, caps.sum())

    def ratios(x):  # exact, so that ties are ties
        return sorted(Fraction(int(s + a)) / int(p) for s, a, p in zip(staff, x, people,
                                                                        strict=True))

    assert ratios(got) == max(ratios(x) for x in _allocations(caps, n))


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
