"""Folium maps of the result layers: labels by language, and nothing personal in the HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage import maps
from coverage.patterns import commute_flows, origin_flows, workplace_clusters

NUMBER_PAIR = re.compile(r"(-?\d{2,3}\.\d{5,})\s*,\s*(-?\d{2,3}\.\d{5,})")


@pytest.fixture(scope="module")
def demo(small_demo: Path):
    from coverage.io.loaders import load_study

    return load_study(small_demo)


@pytest.fixture(scope="module")
def residences(demo) -> set[tuple[float, float]]:
    """Every migrant's residence and workplace, WGS-84, rounded to 7 decimals (1 cm)."""
    m = demo.migrants
    homes = m.geometry.to_crs(4326)
    work = gpd.GeoSeries(gpd.points_from_xy(m["work_x"], m["work_y"]), crs=m.crs)
    work = work[m["work_x"].notna().to_numpy()].to_crs(4326)
    xy = np.vstack([shapely.get_coordinates(homes), shapely.get_coordinates(work)])
    xy = np.round(xy, 7)
    return {(x, y) for x, y in xy} | {(y, x) for x, y in xy}


@pytest.fixture(scope="module")
def tables(demo) -> dict[str, gpd.GeoDataFrame]:
    """Result-shaped tables built from the demo's layers (no routing needed)."""
    rng = np.random.default_rng(0)
    comm = demo.communities.copy()
    counts = demo.migrants["community_id"].value_counts()
    comm["migrants"] = comm["community_id"].map(counts).fillna(0).astype(int).to_numpy()
    comm["coverage_15min_migrant"] = rng.uniform(0.4, 1.0, len(comm))
    comm["coverage_gap_15min"] = rng.normal(0.05, 0.05, len(comm))
    comm["staff_per_1000_migrants"] = rng.uniform(0.1, 2.0, len(comm))
    sites = demo.sites
    catch = gpd.GeoDataFrame(
        {
            "site_id": sites["site_id"].to_numpy(),
            "name": sites["name"].to_numpy(),
            "kind": sites["kind"].to_numpy(),
            "staff": sites["staff"].to_numpy(),
        },
        geometry=sites.geometry.buffer(600).to_numpy(),
        crs=sites.crs,
    )
    cells = comm[["community_id", "geometry"]].copy()
    cells["gi_star"] = rng.normal(0, 2.5, len(cells))
    cells["p_fdr"] = rng.uniform(0, 0.2, len(cells))
    classes = np.array(list(maps.HOTSPOT_COLORS))
    cells["class"] = classes[np.arange(len(cells)) % len(classes)]
    cells["growth_rate"] = rng.normal(0.05, 0.1, len(cells))
    cells["projected_migrants"] = rng.integers(50, 900, len(cells))
    cells["early_warning"] = cells["growth_rate"] > 0.12
    under = comm[["geometry"]].head(6).copy()
    under["cluster_id"] = np.arange(1, 7)
    under["migrants"] = [5, 40, 60, 120, 200, 9]
    under["mean_time_min"] = [21.0, 24.5, 19.0, 30.0, 26.0, 40.0]
    under["max_time_min"] = under["mean_time_min"] + 10
    return {
        "community_summary": comm,
        "site_catchments": catch,
        "sites": sites,
        "hotspots": cells,
        "inflow_trends": cells,
        "underserved": under,
        "origin_flows": origin_flows(demo.migrants, demo.communities),
        "commute_flows": commute_flows(demo.migrants, communities=demo.communities),
        "workplaces": workplace_clusters(demo.migrants, sites=sites),
    }


def _draw(name: str, tables: dict[str, gpd.GeoDataFrame], lang: str, **kw) -> folium.Map:
    if name == "community":
        return maps.community_map(tables["community_summary"], lang=lang, **kw)
    if name == "sites":
        return maps.sites_map(tables["site_catchments"], sites=tables["sites"], lang=lang, **kw)
    if name == "underserved":
        return maps.underserved_map(tables["underserved"], lang=lang, **kw)
    if name == "hotspots":
        return maps.hotspot_map(tables["hotspots"], lang=lang, **kw)
    if name == "inflow":
        return maps.inflow_map(tables["inflow_trends"], lang=lang, **kw)
    if name == "origin_flows":
        return maps.origin_flow_map(tables["origin_flows"], lang=lang, **kw)
    return maps.commute_map(tables["commute_flows"], workplaces=tables["workplaces"], lang=lang,
                            **kw)  # fmt: skip


# layer name keys each map must show, by map
EXPECTED = {
    "community": ["community", "coverage_min_migrant"],
    "sites": ["catchments", "sites", "health_station", "enterprise_association"],
    "underserved": ["underserved", "mean_time_min"],
    "hotspots": ["hotspots", "hot_99", "cold_90", "not_significant"],
    "inflow": ["inflow", "early_warning", "projected_migrants"],
    "origin_flows": ["origin_flows", "origins", "migrants"],
    "commute_flows": ["commute_flows", "workplaces", "corridor_id"],
}


def _has(html: str, text: str) -> bool:
    """Text appears in the HTML as is or JSON-escaped (folium escapes non-ASCII in scripts)."""
    return text in html or json.dumps(text)[1:-1] in html


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", list(EXPECTED))
def test_map_labels_and_privacy(
    name: str, lang: str, tables: dict[str, gpd.GeoDataFrame], demo, residences
) -> None:
    m = _draw(name, tables, lang)
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    other = "en" if lang == "zh" else "zh"
    for key in EXPECTED[name]:
        label = maps.LABELS[lang][key].format(t="15", n=10)
        assert _has(html, label), (name, lang, label)
        if key in ("hotspots", "origin_flows", "commute_flows", "inflow", "underserved"):
            assert not _has(html, maps.LABELS[other][key].format(t="15", n=10))
    # no person id, no residence or workplace
    assert re.search(r"M\d{7}", html) is None
    assert "person_id" not in html
    pairs = {(round(float(a), 7), round(float(b), 7)) for a, b in NUMBER_PAIR.findall(html)}
    assert pairs, "the map has coordinates"
    assert not pairs & residences


def test_origin_flow_labels_follow_language(tables: dict[str, gpd.GeoDataFrame]) -> None:
    zh = maps.origin_flow_map(tables["origin_flows"], lang="zh").get_root().render()
    en = maps.origin_flow_map(tables["origin_flows"], lang="en").get_root().render()
    assert _has(zh, "湖南省")
    assert "Hunan" in en
    assert not _has(en, "湖南省")


def test_small_cells_are_not_drawn(tables: dict[str, gpd.GeoDataFrame]) -> None:
    html = maps.underserved_map(tables["underserved"], lang="en").get_root().render()
    assert '"cluster_id": 2.0' in html
    assert '"cluster_id": 1.0' not in html  # 5 migrants
    assert '"cluster_id": 6.0' not in html  # 9 migrants
    flows = tables["origin_flows"]
    drawn = flows[
        (flows.origin_level == "province")
        & (flows.dest_level == "district")
        & (flows.origin_status == "known")
    ]
    small = drawn[drawn["suppressed"]]
    assert len(small)
    html = maps.origin_flow_map(flows, lang="en").get_root().render()
    assert html.count('"_w"') == (~drawn["suppressed"]).sum()
    comm = tables["community_summary"].copy()
    comm.loc[comm.index[0], "migrants"] = 3
    html = maps.community_map(comm, lang="en").get_root().render()
    assert "fewer than 10 people, not shown" in html


def test_maps_add_to_a_given_map(tables: dict[str, gpd.GeoDataFrame]) -> None:
    base = maps.community_map(tables["community_summary"], column="staff_per_1000_migrants")
    same = maps.hotspot_map(tables["hotspots"], m=base)
    assert same is base
    html = base.get_root().render()
    assert _has(html, maps.LABELS["zh"]["staff_per_1000_migrants"])
    assert _has(html, maps.LABELS["zh"]["hotspots"])
    assert html.count("L.control.layers") == 1


def test_hotspot_classes_derived_from_gi_and_p(tables: dict[str, gpd.GeoDataFrame]) -> None:
    cells = tables["hotspots"].drop(columns=["class"])
    html = maps.hotspot_map(cells, lang="en", show_not_significant=False).get_root().render()
    p = cells["p_fdr"]
    n_sig = int((p <= 0.10).sum())
    assert html.count('"_fill"') == n_sig
    layer = tables["hotspots"].rename(columns={"class": "hotspot", "gi_star": "z_score"})
    html = maps.hotspot_map(layer, lang="en").get_root().render()
    assert "Hot spot (99 % confidence)" in html
    assert "z-score" in html
    derived = cells.rename(columns={"gi_star": "z_score", "p_fdr": "p_value"})
    html = maps.hotspot_map(derived, show_not_significant=False).get_root().render()
    assert html.count('"_fill"') == n_sig
    with pytest.raises(ValueError, match="p_value"):
        maps.hotspot_map(cells.drop(columns=["p_fdr"]))
    with pytest.raises(ValueError, match="hot_99"):
        maps.hotspot_map(tables["hotspots"].assign(**{"class": "warm"}))


def test_map_options(tables: dict[str, gpd.GeoDataFrame]) -> None:
    with pytest.raises(ValueError, match="lang"):
        maps.community_map(tables["community_summary"], lang="fr")
    with pytest.raises(ValueError, match="no_such_column"):
        maps.community_map(tables["community_summary"], column="no_such_column")
    html = maps.community_map(tables["community_summary"], tiles=None).get_root().render()
    assert "openstreetmap" not in html.lower()
    html = maps.community_map(tables["community_summary"]).get_root().render()
    assert "openstreetmap" in html.lower()
    assert maps.column_label("coverage_10min_registered", lang="en") == (
        "Coverage within 10 min (registered residents)"
    )
    assert maps.column_label("coverage_gap_5min") == "5分钟覆盖率差距（户籍−流动）"
    no_crs = gpd.GeoDataFrame(tables["underserved"].drop(columns="geometry"),
                              geometry=tables["underserved"].geometry.to_numpy())  # fmt: skip
    with pytest.raises(ValueError, match="CRS"):
        maps.underserved_map(no_crs)
    with pytest.raises(TypeError, match="GeoDataFrame"):
        maps.underserved_map(pd.DataFrame(tables["underserved"]))


@pytest.mark.slow
def test_maps_of_a_real_run(small_run) -> None:
    html = maps.community_map(small_run.community_summary, lang="en").get_root().render()
    assert "Coverage within 15 min (migrants)" in html
    m = maps.sites_map(small_run.site_catchments, sites=small_run.study.sites, lang="en")
    assert "Enterprise family-planning association" in m.get_root().render()


def test_hotspot_map_with_nothing_significant(tables: dict[str, gpd.GeoDataFrame]) -> None:
    quiet = tables["hotspots"].assign(**{"class": "not_significant"})
    m = maps.hotspot_map(quiet, lang="en", show_not_significant=False)
    html = m.get_root().render()
    assert html.count('"_fill"') == 0
    assert "Hot spot (99 % confidence)" not in html


@pytest.mark.parametrize("name", ["community", "sites", "underserved", "hotspots", "inflow",
                                  "origin_flows"])
def test_a_layer_with_nothing_in_scope_still_draws(
        name: str, tables: dict[str, gpd.GeoDataFrame]) -> None:
    """A district report's maps: a layer may have no feature there (no cluster, no flow)."""
    key = {"community": "community_summary", "sites": "site_catchments",
           "underserved": "underserved", "hotspots": "hotspots", "inflow": "inflow_trends",
           "origin_flows": "origin_flows"}[name]
    empty = {**tables, key: tables[key].iloc[:0]}
    html = _draw(name, empty, "zh").get_root().render()
    assert "<html" in html.lower()
