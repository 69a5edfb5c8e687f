"""Tests for coverage.network.costs: the columns of the nearest-destination table.

The table's columns are the ones pandas makes of the same values given as Python objects
(text labels as ``str``, a reason column of None as ``object``), whichever way they are built.
The network is a 3 × 3 grid of 100 m blocks; the sites are named by text.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage.network import REASON_FAR, REASON_NONE_REACHABLE, RoadNetwork

X0, Y0 = 500_000.0, 3_000_000.0
UTM = "EPSG:32650"


@pytest.fixture(scope="module")
def net() -> RoadNetwork:
    g = nx.MultiDiGraph(crs=UTM)
    for i in range(4):
        for j in range(4):
            g.add_node(i * 4 + j, x=X0 + j * 100.0, y=Y0 + i * 100.0)
    for i in range(4):
        for j in range(4):
            u = i * 4 + j
            for v in ([u + 1] if j < 3 else []) + ([u + 4] if i < 3 else []):
                for a, b in ((u, v), (v, u)):
                    g.add_edge(a, b, length=100.0, highway="residential", oneway=False)
    return RoadNetwork.from_graph(g, crs=UTM, max_snap_m=150.0)


def as_objects(values: pd.Series) -> pd.Series:
    """The column pandas makes of the values as Python objects (None where missing)."""
    objects = np.array([None if pd.isna(v) else v for v in values], dtype=object)
    return pd.Series(objects, index=values.index, name=values.name)


def sites(dx: float = 0.0) -> gpd.GeoDataFrame:
    """Two sites named in Chinese (a ``str`` index, as a layer indexed by ``site_id``)."""
    return gpd.GeoDataFrame(
        geometry=shapely.points([[X0 + 10.0 + dx, Y0 + 5.0], [X0 + 290.0 + dx, Y0 + 295.0]]),
        index=pd.Index(["甲站", "乙站"], name="site_id"), crs=UTM)


def test_text_labels_and_an_empty_reason_column(net: RoadNetwork) -> None:
    homes = np.array([[X0 + 20.0, Y0 + 40.0], [X0 + 280.0, Y0 + 250.0], [X0 + 150.0, Y0]])
    near = net.nearest(homes, sites())
    assert near["destination"].tolist() == ["甲站", "乙站", "甲站"]
    pd.testing.assert_series_equal(near["destination"], as_objects(near["destination"]))
    assert near["reason"].dtype == object
    assert near["reason"].isna().all()
    pd.testing.assert_series_equal(near["reason"], as_objects(near["reason"]))


def test_missing_labels_and_reasons_keep_their_columns(net: RoadNetwork) -> None:
    homes = np.array([[X0 + 20.0, Y0 + 40.0], [X0 + 900.0, Y0 + 900.0], [X0 + 150.0, Y0]])
    near = net.nearest(homes, sites())
    assert near["destination"].isna().tolist() == [False, True, False]
    assert near["reason"].tolist()[1] == REASON_FAR
    for column in ("destination", "reason"):
        pd.testing.assert_series_equal(near[column], as_objects(near[column]))
    # No site on the roads: nobody has one, and the column of None stays as pandas keeps it.
    none = net.nearest(homes, sites(dx=5_000.0))
    assert none["destination"].dtype == object
    assert none["destination"].isna().all()
    assert none["reason"].tolist() == [REASON_NONE_REACHABLE, REASON_FAR, REASON_NONE_REACHABLE]
    for column in ("destination", "reason"):
        pd.testing.assert_series_equal(none[column], as_objects(none[column]))
