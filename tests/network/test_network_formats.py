"""The same OpenStreetMap data read from XML and from PBF gives the same network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED
from coverage.network import RoadNetwork

GUIXI = SHARED / "osm" / "guixi_jiangxi.osm"


@pytest.fixture(scope="module")
def guixi_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not GUIXI.exists():
        pytest.skip(f"reference extract not found at {GUIXI}")
    osmium = pytest.importorskip("osmium")
    target = tmp_path_factory.mktemp("pbf") / "guixi.osm.pbf"
    writer = osmium.SimpleWriter(str(target))
    try:
        for obj in osmium.FileProcessor(str(GUIXI)):
            if obj.is_node():
                writer.add_node(obj)
            elif obj.is_way():
                writer.add_way(obj)
            elif obj.is_relation():
                writer.add_relation(obj)
    finally:
        writer.close()
    return target


@pytest.mark.parametrize("mode", ["walk", "ebike"])
def test_pbf_equals_xml(guixi_pbf: Path, mode: str) -> None:
    xml = RoadNetwork.from_file(GUIXI, mode=mode, cache=False)
    pbf = RoadNetwork.from_file(guixi_pbf, mode=mode, cache=False)
    assert pbf.n_nodes == xml.n_nodes > 300
    assert pbf.n_links == xml.n_links
    np.testing.assert_array_equal(pbf.arrays.node_ids, xml.arrays.node_ids)
    np.testing.assert_allclose(pbf.arrays.length, xml.arrays.length, rtol=0, atol=1e-9)
    sites = (xml.x[:5], xml.y[:5])
    homes = (xml.x[::7] + 30.0, xml.y[::7] - 20.0)
    a = xml.nearest(homes, sites)
    b = pbf.nearest(homes, sites)
    np.testing.assert_allclose(a["distance_m"], b["distance_m"], rtol=0, atol=1e-9)
