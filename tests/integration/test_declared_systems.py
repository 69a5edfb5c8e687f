"""Tests for coverage.network.offsets.check_declaration: is a layer's declared crs right?

Points are written in a true system T and loaded as if declared D (the loader's conversion from
D to WGS-84, then the study projection); the check must name T when D is wrong and stay silent
when D is right, on the small demo city (dense: arterials, streets, alleys and footpaths) and on
a real OpenStreetMap extract of Guixi, Jiangxi.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from itertools import product
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from conftest import SHARED
from coverage.crs import wgs84_to_gcj02
from coverage.demo.synthetic import as_declared, near_roads, own_ids, voronoi_communities
from coverage.io.loaders import load_study
from coverage.network import RoadNetwork
from coverage.network.offsets import (
    MIN_INFORMATIVE,
    SYSTEMS,
    DeclarationCheck,
    check_declaration,
)

GUIXI = SHARED / "osm" / "guixi_jiangxi.osm"
needs_guixi = pytest.mark.skipif(
    not GUIXI.exists(),
    reason=f"reference OSM extract {GUIXI} is absent (set COVERAGE_REFERENCE to its folder)",
)

WRONG = [(t, d) for t, d in product(SYSTEMS, SYSTEMS) if t != d]


@dataclasses.dataclass
class Layer:
    """True positions (network CRS) of one layer and what the check is given besides."""

    net: RoadNetwork
    x: np.ndarray
    y: np.ndarray
    communities: gpd.GeoDataFrame | None = None
    ids: np.ndarray | None = None

    def check(self, true: str, declared: str, **kwargs) -> DeclarationCheck:
        pts = as_declared(self.x, self.y, self.net.crs, true, declared)
        return check_declaration(self.net, pts, declared=declared, name="layer.csv",
                                 communities=self.communities, community_ids=self.ids,
                                 **kwargs)


@pytest.fixture(scope="module")
def demo(small_demo: Path):
    study = load_study(small_demo)
    return study, RoadNetwork.from_study(study, mode="walk")


@pytest.fixture(scope="module")
def layers(demo) -> dict[str, Layer]:
    """The four layers, built once: demo migrants and sites, Guixi residences and sites."""
    study, net = demo
    m, s = study.migrants, study.sites
    out = {
        # migrants.csv carries each person's community code: the own-community test applies
        "demo migrants": Layer(net, m.geometry.x.to_numpy(), m.geometry.y.to_numpy(),
                               study.communities, m["community_id"].to_numpy()),
        # sites.csv has no community column: roads and "inside any community" only
        "demo sites": Layer(net, s.geometry.x.to_numpy(), s.geometry.y.to_numpy(),
                            study.communities),
    }
    if GUIXI.exists():
        guixi = RoadNetwork.from_file(GUIXI, mode="walk", cache=False)
        rng = np.random.default_rng(7)
        rx, ry = near_roads(guixi, 4_000, rng)
        communities = voronoi_communities(rx, ry, 40, rng, guixi.crs)
        sx, sy = near_roads(guixi, 30, rng)
        out["guixi residences"] = Layer(guixi, rx, ry, communities,
                                        own_ids(rx, ry, communities))
        out["guixi sites"] = Layer(guixi, sx, sy)
    return out


def get(layers: dict[str, Layer], name: str) -> Layer:
    if name not in layers:
        pytest.skip(f"reference OSM extract {GUIXI} is absent (set COVERAGE_REFERENCE)")
    return layers[name]


@pytest.fixture(scope="module")
def guixi(layers) -> RoadNetwork:
    return get(layers, "guixi sites").net


LAYERS = ["demo migrants", "demo sites", "guixi residences", "guixi sites"]


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize(("true", "declared"), WRONG)
def test_wrong_declaration_names_the_true_system(layers, layer, true, declared) -> None:
    check = get(layers, layer).check(true, declared)
    assert check.verdict == "other", check.summary
    assert check.likely_system == true
    assert not check.ok
    assert check.declared == declared
    assert f'crs = "{true}"' in check.message
    assert f'crs = "{true}"' in check.message_zh
    near = check.evidence["near_road_share"]
    assert near[true] > near[declared] + 0.1


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("system", SYSTEMS)
def test_correct_declaration_raises_no_alarm(layers, layer, system) -> None:
    check = get(layers, layer).check(system, system)
    assert check.likely_system is None and check.ok
    assert check.message is None and check.message_zh is None
    assert check.verdict == "fits", check.summary
    assert "fits" in check.summary


def test_alarm_sentence_gives_the_evidence(layers) -> None:
    check = layers["demo migrants"].check("gcj02", "wgs84")
    assert check.evidence["community_test"] == "own"
    assert check.message.startswith("layer.csv: the points look like GCJ-02")
    assert "Wilcoxon signed-rank" in check.message
    assert "own community" in check.message
    assert check.message.endswith('write crs = "gcj02" for this layer in project.toml')
    assert "高德" in check.message_zh and "project.toml" in check.message_zh
    # the figures behind it: per-point tests of the named reading against the declared one
    test = check.evidence["comparisons"]["gcj02 vs wgs84"]
    assert test["winner"] == "gcj02"
    assert test["roads"]["p"] < 1e-10 and test["roads"]["effect"] > 0.9
    assert test["communities"]["share"] > 0.95 > test["communities"]["share_other"]
    # and against the other reading and the two placebo shifts
    assert set(check.evidence["guard"]) == {"gcj02 vs bd09", "gcj02 vs gcj02 +90°",
                                            "gcj02 vs gcj02 -90°"}
    assert dataclasses.is_dataclass(check)
    with pytest.raises(dataclasses.FrozenInstanceError):
        check.likely_system = None  # type: ignore[misc]


def test_roads_alone_suffice_on_a_dense_network(layers) -> None:
    migrants = layers["demo migrants"]
    roads_only = dataclasses.replace(migrants, communities=None, ids=None)
    for true, declared in WRONG:
        check = roads_only.check(true, declared)
        assert check.likely_system == true, check.summary
        assert check.evidence["community_test"] is None


def test_cgcs2000_is_read_as_wgs84(layers) -> None:
    check = layers["demo sites"].check("wgs84", "wgs84")
    pts = as_declared(layers["demo sites"].x, layers["demo sites"].y,
                      layers["demo sites"].net.crs, "gcj02", "wgs84")
    named = check_declaration(layers["demo sites"].net, pts, declared="CGCS2000", name="s.csv")
    assert check.verdict == "fits"
    assert named.declared == "cgcs2000" and named.likely_system == "gcj02"
    assert "not the declared CGCS2000" in named.message


def test_mis_declared_sites_found_through_the_loader(small_demo: Path, tmp_path: Path) -> None:
    # The demo writes sites.csv in GCJ-02; a project declaring it WGS-84 loads it 500 m off.
    shutil.copytree(small_demo, tmp_path / "city")
    toml = tmp_path / "city" / "project.toml"
    text = toml.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith('crs = "gcj02"')]
    assert len(lines) == 1
    toml.write_text(text.replace(lines[0], 'crs = "wgs84"'), encoding="utf-8")
    study = load_study(tmp_path / "city")
    net = RoadNetwork.from_study(study, mode="walk")
    layer = study.project.layers["sites"]
    check = check_declaration(net, study.sites, declared=layer.crs, name=layer.source,
                              communities=study.communities)
    assert check.likely_system == "gcj02"
    assert check.message.startswith("sites.csv: the points look like GCJ-02")
    migrants = study.project.layers["migrants"]
    fine = check_declaration(net, study.migrants, declared=migrants.crs, name=migrants.source,
                             communities=study.communities,
                             community_ids=study.migrants["community_id"])
    assert fine.verdict == "fits" and fine.message is None


def test_too_few_points_to_tell(layers) -> None:
    sites = layers["demo sites"]
    few = dataclasses.replace(sites, x=sites.x[:6], y=sites.y[:6])
    for true, declared in [("gcj02", "wgs84"), ("wgs84", "wgs84")]:
        check = few.check(true, declared)
        assert check.verdict == "too_few" and check.likely_system is None
        assert "too few points" in check.summary and str(MIN_INFORMATIVE) in check.summary
        assert "点数太少" in check.summary_zh
    empty = check_declaration(sites.net, np.empty((0, 2)), declared="wgs84", name="none.csv")
    assert empty.verdict == "too_few" and empty.n_points == 0


@needs_guixi
def test_points_far_from_the_roads_raise_no_alarm(guixi) -> None:
    # Villages whose lanes are not mapped: true points 100-400 m from any mapped road.
    rng = np.random.default_rng(11)
    far = Layer(guixi, *near_roads(guixi, 3_000, rng, lo=100.0, hi=400.0))
    for true in SYSTEMS:
        check = far.check(true, true)
        assert check.likely_system is None, check.summary


@needs_guixi
def test_conflicting_communities_decide_nothing(layers) -> None:
    # Residences truly GCJ-02 and declared so, but the communities are GCJ-02 data declared
    # WGS-84 (shifted like the residences read as WGS-84): roads and communities disagree.
    res = get(layers, "guixi residences")
    crs = res.net.crs
    to_ll = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    to_xy = pyproj.Transformer.from_crs(4326, crs, always_xy=True)

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
        return np.column_stack(to_xy.transform(*wgs84_to_gcj02(lon, lat)))

    moved = res.communities.copy()
    moved.geometry = shapely.transform(moved.geometry.to_numpy(), shift)
    check = dataclasses.replace(res, communities=moved).check("gcj02", "gcj02")
    assert check.likely_system is None
    assert check.verdict == "unclear"
    assert "communities" in check.summary


def test_projected_declarations_are_not_checked(layers) -> None:
    sites = layers["demo sites"]
    pts = gpd.GeoSeries(shapely.points(sites.x, sites.y), crs=sites.net.crs)
    check = check_declaration(sites.net, pts, declared="EPSG:32649", name="sites.csv")
    assert check.verdict == "not_applicable" and check.likely_system is None
    assert "not checked" in check.summary


def test_bad_arguments_say_what_to_do(layers) -> None:
    sites = layers["demo sites"]
    pts = gpd.GeoSeries(shapely.points(sites.x, sites.y), crs=sites.net.crs)
    with pytest.raises(ValueError, match="unknown coordinate system"):
        check_declaration(sites.net, pts, declared="mars", name="s")
    with pytest.raises(ValueError, match=r"community_ids has 3 values .* one id per point"):
        check_declaration(sites.net, pts, declared="wgs84", name="s",
                          communities=layers["demo migrants"].communities,
                          community_ids=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"pass communities=study\.communities"):
        check_declaration(sites.net, pts, declared="wgs84", name="s",
                          community_ids=np.full(len(pts), "x"))
    with pytest.raises(ValueError, match="sample must be"):
        check_declaration(sites.net, pts, declared="wgs84", name="s", sample=0)


def test_sample_and_speed(layers) -> None:
    migrants = layers["demo migrants"]
    start = time.perf_counter()
    check = migrants.check("bd09", "wgs84", sample=5_000, seed=3)
    assert time.perf_counter() - start < 2.0
    assert check.n_points == 5_000 and check.evidence["points_in_layer"] == len(migrants.x)
    assert check.likely_system == "bd09"
    again = migrants.check("bd09", "wgs84", sample=5_000, seed=3)
    assert again.evidence["near_road_share"] == check.evidence["near_road_share"]
