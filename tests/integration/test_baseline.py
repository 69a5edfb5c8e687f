"""The routed baseline: the scenario model built on the main job's routing is the same model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj

from coverage.engine.scenario import Edit, ScenarioModel


def test_the_model_on_the_runs_routing_equals_the_model_routed_again(small_run):
    """Every array of the baseline state, and a scenario's every figure, are identical."""
    baseline = small_run.baseline
    assert baseline is not None
    again = ScenarioModel(small_run.study, network=baseline.network)
    shared = ScenarioModel(small_run.study, baseline=baseline)
    a, b = again.baseline, shared.baseline
    pd.testing.assert_frame_equal(a.sites, b.sites)
    for left, right in ((a.m_time, b.m_time), (a.r_time, b.r_time)):
        np.testing.assert_array_equal(left, right)  # NaN where unreachable, in both
    assert list(a.m_site) == list(b.m_site)
    assert list(a.r_site) == list(b.r_site)
    assert list(a.pairs) == list(b.pairs)
    for site in a.pairs:
        for left, right in zip(a.pairs[site], b.pairs[site], strict=True):
            np.testing.assert_array_equal(left, right)
            assert left.dtype == right.dtype
    assert sum(len(rows) for rows, _ in b.pairs.values()) == len(baseline.costs) > 0
    # a scenario: the busiest point closed, another's staff doubled, a point added
    busiest = small_run.site_catchments.sort_values("migrants", ascending=False).iloc[0]
    other = a.sites.index[a.sites.index != busiest["site_id"]][0]
    centre = small_run.study.communities.geometry.union_all().centroid
    lon, lat = pyproj.Transformer.from_crs(small_run.study.crs, 4326, always_xy=True).transform(
        centre.x, centre.y)
    edits = [Edit("close", str(busiest["site_id"])),
             Edit("set_staff", str(other), staff=2 * float(a.sites.loc[other, "staff"]) + 1),
             Edit("add", "NEW-1", lon=lon, lat=lat, staff=3.0)]
    pd.testing.assert_frame_equal(again.evaluate(edits), shared.evaluate(edits))
    pd.testing.assert_frame_equal(again.evaluate(), shared.evaluate())


def test_the_run_keeps_its_routing_out_of_the_result_layers(small_run):
    """The baseline is for the engine in the same process, never a layer written out."""
    assert "baseline" not in small_run.layers(person_level=True)
    baseline = small_run.baseline
    n_m, n_r = len(small_run.study.migrants), len(baseline.registered)
    assert len(baseline.near_m) == n_m and len(baseline.near_r) == n_r
    assert baseline.costs["origin"].between(0, n_m + n_r - 1).all()
    assert baseline.costs["cost"].max() <= baseline.max_t
