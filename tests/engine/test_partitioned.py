"""The access steps by partitions of the migrants give the one-process run's figures.

The small demo city's migrants are cut into three parts (by rows, so that every part holds
people of many communities and a community's people sit in several parts) and the
registered-resident points make a fourth; routed, reduced and scored part by part, then
added up, every access figure must equal the one-process run's (1e-12 relative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage.engine._run_steps import summaries_of_sums
from coverage.engine.partitioned import (
    add_sums,
    part_sums,
    reach,
    score,
    site_ratios,
    site_routes,
)
from coverage.engine.summary import Units
from coverage.measures.equalization import allocate_registered
from coverage.measures.indicators import (
    add_counts,
    indicator_counts,
    indicators_of_counts,
    latest_arrival_year,
    quarters_of_counts,
)

RTOL = 1e-12


@pytest.fixture(scope="module")
def by_parts(small_run):
    study, net = small_run.study, small_run.baseline.network
    thresholds = study.project.parameters.thresholds_min
    registered = study.layers.get("registered_points")
    if registered is None:
        registered = allocate_registered(study.communities)
    routes = site_routes(net, study.sites)
    migrants = study.migrants
    cuts = np.array_split(np.arange(len(migrants)), 3)
    parts = [reach(net, routes, migrants.iloc[rows], thresholds) for rows in cuts]
    points = reach(net, routes, registered, thresholds,
                   population=registered["population"].to_numpy(float))
    demand, ratio = site_ratios([p.demand for p in [*parts, points]],
                                routes.sites["staff"].to_numpy(float))
    units = Units.of(study.communities, [], [])
    sums, access = [], []
    for rows, part in zip(cuts, parts, strict=True):
        rows_access = pd.DataFrame({
            "community_id": migrants["community_id"].to_numpy()[rows],
            "site_id": part.nearest["destination"].to_numpy(),
            "time_min": part.nearest["time_min"].to_numpy(),
            "unreachable_reason": part.nearest["reason"].to_numpy(),
            "e2sfca": score(part, ratio),
            **{f"time_min_{k}": v for k, v in part.kind_times.items()}})
        access.append(rows_access)
        sums.append(part_sums(units, thresholds, migrants=rows_access))
    sums.append(part_sums(units, thresholds, registered=pd.DataFrame({
        "community_id": registered["community_id"].to_numpy(),
        "population": registered["population"].to_numpy(float),
        "time_min": points.nearest["time_min"].to_numpy(),
        "e2sfca": score(points, ratio)})))
    communities, districts = summaries_of_sums(study, add_sums(sums))
    return {"access": pd.concat(access, ignore_index=True), "communities": communities,
            "districts": districts, "demand": demand, "parts": [*parts, points]}


def test_every_migrant_has_the_one_process_nearest_site_times_and_score(small_run, by_parts):
    mine, theirs = by_parts["access"], small_run.migrant_access
    for column in ("site_id", "unreachable_reason"):
        assert mine[column].equals(theirs[column]) or (
            mine[column].fillna("∅").to_numpy() == theirs[column].fillna("∅").to_numpy()).all()
    kinds = [c for c in theirs.columns if c.startswith("time_min")]
    assert len(kinds) >= 3
    for column in kinds:
        np.testing.assert_array_equal(mine[column].to_numpy(), theirs[column].to_numpy())
    np.testing.assert_allclose(mine["e2sfca"], theirs["e2sfca"], rtol=RTOL, atol=1e-12)
    assert (mine["e2sfca"] > 0).mean() > 0.5  # a real score, not zeros on both sides


def test_the_summaries_equal_the_one_process_run(small_run, by_parts):
    for mine, theirs in ((by_parts["communities"], small_run.community_summary),
                         (by_parts["districts"], small_run.district_summary)):
        assert list(mine.columns) == list(theirs.columns)
        pd.testing.assert_frame_equal(pd.DataFrame(mine.drop(columns="geometry", errors="ignore")),
                                      pd.DataFrame(theirs.drop(columns="geometry",
                                                               errors="ignore")),
                                      check_exact=False, rtol=RTOL, atol=1e-12)


def test_site_demand_and_catchments_add_up(small_run, by_parts):
    catch = small_run.site_catchments
    np.testing.assert_allclose(by_parts["demand"], catch["weighted_demand_e2sfca"], rtol=RTOL)
    migrants = np.sum([p.nearest_people for p in by_parts["parts"][:-1]], axis=0)
    np.testing.assert_array_equal(migrants, catch["migrants"].to_numpy(float))
    np.testing.assert_allclose(by_parts["parts"][-1].nearest_people,
                               catch["registered"].to_numpy(float), rtol=RTOL)


def test_indicators_from_the_parts_counts_equal_the_one_process_run(small_run):
    study = small_run.study
    migrants, targets = study.migrants, study.project.parameters.targets
    cuts = np.array_split(np.arange(len(migrants)), 3)
    years = [latest_arrival_year(migrants.iloc[rows]) for rows in cuts]
    year = max(y for y in years if y is not None)
    counts = add_counts([indicator_counts(migrants.iloc[rows], targets=targets, year=year)
                         for rows in cuts])
    table = indicators_of_counts(counts, study.communities, sites=study.sites, targets=targets)
    pd.testing.assert_frame_equal(table, small_run.indicators, check_exact=True)
    quarters = add_counts([indicator_counts(migrants.iloc[rows], targets=targets, year=year,
                                            by_quarter=True) for rows in cuts])
    pd.testing.assert_frame_equal(quarters_of_counts(quarters, study.communities,
                                                     targets=targets),
                                  small_run.indicator_quarters, check_exact=True)
    assert small_run.indicator_quarters["quarter"].nunique() > 1


def test_hot_spots_from_the_parts_cells_equal_the_one_process_run(small_run):
    from coverage.patterns import poor_access
    from coverage.patterns.hotspots import add_cells, hot_spots_of_cells, unmet_demand_cells

    study = small_run.study
    poor = poor_access(small_run.migrant_access).to_numpy()
    cuts = np.array_split(np.arange(len(study.migrants)), 3)
    cells = add_cells([unmet_demand_cells(study.migrants.iloc[rows], poor[rows])
                       for rows in cuts])
    pd.testing.assert_frame_equal(cells, unmet_demand_cells(study.migrants, poor),
                                  check_exact=True)
    mine = hot_spots_of_cells(cells, crs=study.migrants.crs, min_cell=study.project.min_cell)
    pd.testing.assert_frame_equal(mine, small_run.hotspots, check_exact=True)
    assert (mine["hotspot"] != mine["hotspot"].iloc[0]).any()


def test_origin_flows_from_the_parts_counts_equal_the_one_process_run(small_run):
    from coverage.patterns.origins import add_origin_counts, origin_counts, origin_flows_of_counts

    study = small_run.study
    cuts = np.array_split(np.arange(len(study.migrants)), 3)
    counts = add_origin_counts([origin_counts(study.migrants.iloc[rows], study.communities)
                                for rows in cuts])
    mine = origin_flows_of_counts(counts, study.communities, min_cell=study.project.min_cell)
    pd.testing.assert_frame_equal(mine, small_run.origin_flows, check_exact=True)
    assert mine.attrs["origin_status_counts"] == small_run.origin_flows.attrs[
        "origin_status_counts"]
    assert len(mine) > 50


def test_inflow_trends_from_the_parts_counts_equal_the_one_process_run(small_run):
    from coverage.patterns.inflow_counts import add_inflow_counts, inflow_counts
    from coverage.patterns.trends import inflow_trends_of_counts

    study = small_run.study
    params = study.project.parameters
    cuts = np.array_split(np.arange(len(study.migrants)), 3)
    counts = add_inflow_counts([inflow_counts(study.migrants.iloc[rows]) for rows in cuts])
    mine = inflow_trends_of_counts(counts, study.communities, crs=study.migrants.crs,
                                   sites=study.sites, standard=params.staffing_standard,
                                   min_cell=study.project.min_cell)
    pd.testing.assert_frame_equal(mine, small_run.inflow_trends, check_exact=True)
    assert mine.attrs == small_run.inflow_trends.attrs
    assert (mine["unit"] == "hexagon").sum() > 100 and mine["growth_rate"].notna().sum() > 20


def test_commuting_and_workplaces_from_the_parts_cells_equal_the_one_process_run(small_run):
    from coverage.patterns.commutes import (
        add_grid_counts,
        commute_cells,
        commute_flows_of_cells,
        workplace_cells,
        workplace_clusters_of_cells,
    )

    study = small_run.study
    min_cell, crs = study.project.min_cell, study.migrants.crs
    cuts = np.array_split(np.arange(len(study.migrants)), 3)
    parts = [study.migrants.iloc[rows] for rows in cuts]
    flows = commute_flows_of_cells(add_grid_counts([commute_cells(p) for p in parts]), crs=crs,
                                   communities=study.communities, min_cell=min_cell)
    pd.testing.assert_frame_equal(flows, small_run.commute_flows, check_exact=True)
    assert flows.attrs == small_run.commute_flows.attrs and len(flows) > 5
    places = workplace_clusters_of_cells(add_grid_counts([workplace_cells(p) for p in parts]),
                                         crs=crs, sites=study.sites,
                                         communities=study.communities, min_cell=min_cell)
    pd.testing.assert_frame_equal(places, small_run.workplace_clusters, check_exact=True)
    assert places.attrs == small_run.workplace_clusters.attrs and len(places) > 2


@pytest.mark.parametrize("max_fit", [None, 400])
def test_underserved_clusters_from_the_parts_equal_the_one_process_run(small_run, max_fit):
    from coverage.patterns import poor_access, underserved_clusters
    from coverage.patterns.cluster_parts import (
        fit_labels,
        nearest_labels,
        poor_points,
        sample_positions,
        size_ranks,
    )
    from coverage.patterns.underserved import (
        DEFAULT_MAX_FIT,
        DEFAULT_MIN_CLUSTER_SIZE,
        describe_clusters,
    )

    study, access, net = small_run.study, small_run.migrant_access, small_run.baseline.network
    migrants, min_cell = study.migrants, study.project.min_cell
    fit_at_most = max_fit or DEFAULT_MAX_FIT
    expected = (small_run.underserved_clusters if max_fit is None else underserved_clusters(
        migrants, access, network=net, min_cell=min_cell, max_fit=max_fit))
    poor = poor_access(access).to_numpy()
    cuts = np.array_split(np.arange(len(migrants)), 3)
    found = [poor_points(migrants.iloc[rows], poor[rows]) for rows in cuts]
    sizes = [len(points) for _, points in found]
    offsets = np.r_[0, np.cumsum(sizes)]
    fit = sample_positions(int(offsets[-1]), fit_at_most, seed=0)
    if max_fit is not None:
        assert fit is not None  # the sample is drawn: more poor points than max_fit
    picked = [points if fit is None else points[fit[(fit >= lo) & (fit < hi)] - lo]
              for (_, points), lo, hi in zip(found, offsets[:-1], offsets[1:], strict=True)]
    sample = np.concatenate(picked)
    fitted = fit_labels(sample, min_cluster_size=DEFAULT_MIN_CLUSTER_SIZE, min_samples=None)
    raw = [fitted[lo:hi] if fit is None else nearest_labels(points, sample, fitted)
           for (_, points), lo, hi in zip(found, offsets[:-1], offsets[1:], strict=True)]
    counts = np.sum([np.bincount(r[r >= 0], minlength=fitted.max() + 1) for r in raw], axis=0)
    rank = size_ranks(counts)
    members, labels = [], []
    for rows, (poor_rows, _), r in zip(cuts, found, raw, strict=True):
        label = np.where(r >= 0, rank[np.maximum(r, 0)], -1)
        keep = label >= 0
        members.append(rows[poor_rows[keep]])
        labels.append(label[keep])
    member_rows = np.concatenate(members)
    totals = migrants["community_id"].astype("string").value_counts()
    mine = describe_clusters(migrants.iloc[member_rows], access.iloc[member_rows],
                             np.concatenate(labels), network=net, min_cell=min_cell,
                             community_totals=totals)
    assert len(mine) >= 2
    pd.testing.assert_frame_equal(mine, expected, check_exact=False, rtol=1e-12)
