"""The planning session's module as the web app's door: map positions and a new project's checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import shapely

from coverage.crs import wgs84_to_gcj02
from coverage.engine.session import (
    LAYER_ORDER,
    from_web_mercator,
    has_project,
    missing_layers,
    to_web_mercator,
)
from coverage.io.schema import LAYERS

UTM = "EPSG:32649"  # the study's metric system of a city in Guangdong


def test_map_positions_go_to_web_mercator_and_a_click_comes_back():
    """A result layer's point drawn on the map and clicked there is the same WGS-84 place,
    on OpenStreetMap's tiles and on Amap's (drawn in GCJ-02); missing geometries stay missing."""
    lon, lat = np.array([113.75, 113.70]), np.array([23.02, 22.98])
    x, y = pyproj.Transformer.from_crs(4326, UTM, always_xy=True).transform(lon, lat)
    geoms = np.array([*shapely.points(x, y), None], dtype=object)
    plain = to_web_mercator(geoms, UTM)
    shifted = to_web_mercator(geoms, UTM, gcj02=True)
    assert plain[2] is None and shifted[2] is None
    for i in range(2):
        back = from_web_mercator(plain[i].x, plain[i].y)
        np.testing.assert_allclose(back, (lon[i], lat[i]), atol=1e-9)
        back = from_web_mercator(shifted[i].x, shifted[i].y, gcj02=True)
        np.testing.assert_allclose(back, (lon[i], lat[i]), atol=1e-6)
    # under Amap's tiles the point is drawn where GCJ-02 puts it, hundreds of metres away
    glon, glat = wgs84_to_gcj02(lon, lat)
    gx, gy = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(glon, glat)
    np.testing.assert_allclose(shapely.get_x(shifted[:2]), gx, atol=1e-3)
    np.testing.assert_allclose(shapely.get_y(shifted[:2]), gy, atol=1e-3)
    assert np.all(shapely.distance(plain[:2], shifted[:2]) > 100)


def test_a_new_project_needs_its_required_layers_and_never_replaces_one(tiny_project: Path,
                                                                          tmp_path: Path):
    """The import page's checks: the required layers and the network, and a saved project."""
    required = [n for n in LAYER_ORDER if n == "network" or LAYERS[n].required]
    assert missing_layers([]) == required
    assert missing_layers(reversed(required)) == []
    assert missing_layers(["sites", "candidates"]) == [n for n in required if n != "sites"]
    assert has_project(tiny_project)
    assert not has_project(tmp_path / "new")
