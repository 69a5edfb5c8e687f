"""The main job on a local Dask cluster of two workers, by parts, equals the one-process run.

Every layer the one-process run makes from its people, value for value (floats to 1e-9
relative, geometries exactly), from three parts of the small demo city's migrants.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from coverage.engine.partitioned_run import run_by_parts

pytestmark = pytest.mark.slow

LAYERS = ("community_summary", "district_summary", "site_catchments", "indicators",
          "indicator_quarters", "hotspots", "inflow_trends", "origin_flows", "commute_flows",
          "workplace_clusters", "underserved_clusters")


@pytest.fixture(scope="module")
def on_cluster(small_run):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        return run_by_parts(small_run.study, client, parts=3)


def assert_same_layer(mine: pd.DataFrame, theirs: pd.DataFrame, name: str) -> None:
    assert list(mine.columns) == list(theirs.columns), name
    assert len(mine) == len(theirs), name
    geometry = getattr(theirs, "geometry", None) if "geometry" in theirs else None
    if geometry is not None:
        a, b = np.asarray(mine.geometry), np.asarray(theirs.geometry)
        empty = shapely.is_missing(a) & shapely.is_missing(b)
        assert (shapely.equals_exact(a, b, tolerance=1e-6) | empty).all(), name
        mine, theirs = (pd.DataFrame(t.drop(columns="geometry")) for t in (mine, theirs))
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9, atol=1e-12, obj=name)


@pytest.mark.parametrize("name", LAYERS)
def test_every_layer_equals_the_one_process_run(small_run, on_cluster, name):
    theirs = getattr(small_run, name)
    assert theirs is not None and len(theirs)
    assert_same_layer(on_cluster[name], theirs, name)
