"""Text from the data never runs as script in a map: tooltips, layer names and legends escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from browser import HOVER_ALL, IMG, SCRIPT, launch, needs_chromium, open_offline
from coverage import maps


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with launch() as chromium:
        yield chromium


# --- every map ----------------------------------------------------------------------------------


def _frame(geoms: list, **columns: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=4326)


def _boxes(n: int) -> list:
    return [shapely.box(113.70 + 0.01 * i, 23.0, 113.709 + 0.01 * i, 23.009) for i in range(n)]


def _points(n: int) -> list:
    return [shapely.Point(113.705 + 0.01 * i, 23.005) for i in range(n)]


def _lines(n: int) -> list:
    return [shapely.LineString([(113.70 + 0.01 * i, 23.0), (113.8, 23.1)]) for i in range(n)]


def _hostile_maps() -> dict[str, object]:
    """Every map of :mod:`coverage.maps`, drawn from layers whose texts carry script."""
    n = 2
    text = [IMG, SCRIPT]
    return {
        "community": maps.community_map(_frame(
            _boxes(n), name=text, district=text[::-1], migrants=[50, 60],
            coverage_15min_migrant=[0.5, 0.7]), tiles=None),
        "sites": maps.sites_map(_frame(
            _boxes(n), site_id=text, name=text, kind=[IMG, "fp_room"], staff=[1.0, 2.0]),
            tiles=None),
        "underserved": maps.underserved_map(_frame(
            _boxes(n), cluster_id=text, migrants=[50, 60], mean_time_min=[20.0, 25.0],
            max_time_min=[30.0, 40.0]), tiles=None),
        "recommended": maps.recommended_map(_frame(
            _points(n), rank=[1, 2], candidate_id=text, name=text, staff=[2.0, 3.0],
            migrants_newly_within_15min=[40, 50]), tiles=None),
        "hotspots": maps.hotspot_map(_frame(
            _boxes(n), hotspot=["hot_99", "cold_95"]), tiles=None),
        "inflow": maps.inflow_map(_frame(
            _boxes(n), name=text, growth_rate=[0.1, 0.2], projected_migrants=[100.0, 200.0],
            early_warning=[True, False]), tiles=None),
        "origins": maps.origin_flow_map(_frame(
            _lines(n), origin_level=["province"] * n, dest_level=["district"] * n,
            origin_status=["known"] * n, province_code=["43", "45"], district=text,
            migrants=[50, 60], origin_name_zh=text, origin_name_en=text), tiles=None),
        "commute": maps.commute_map(_frame(
            _lines(n), corridor_id=text, home_district=text, work_district=text[::-1],
            migrants=[50, 60]), workplaces=_frame(
            _points(n), cluster_id=text, district=text, migrants=[50, 60]), tiles=None),
    }


def _properties(m) -> Iterator[object]:
    """Every property value of every GeoJSON layer of ``m``."""
    import folium

    stack = [m]
    while stack:
        element = stack.pop()
        stack.extend(element._children.values())
        if isinstance(element, folium.GeoJson):
            for feature in element.data["features"]:
                yield from feature["properties"].values()


@pytest.mark.parametrize("kind", ["community", "sites", "underserved", "recommended",
                                  "hotspots", "inflow", "origins", "commute"])
def test_every_map_escapes_its_texts(kind: str) -> None:
    m = _hostile_maps()[kind]
    page = m.get_root().render()
    assert "<img src=x" not in page and "<script>window" not in page
    assert "window.__pwned" not in page.replace("\\u0026", "&").replace(
        "&quot;window.__pwned", "").replace("&gt;window.__pwned", "")
    texts = [v for v in _properties(m) if isinstance(v, str)]
    assert not [t for t in texts if re.search(r"[<>\"']", t)], texts


@needs_chromium
def test_sites_map_names_do_not_run_in_a_browser(tmp_path: Path, browser) -> None:
    """The sites map (not in the report) embedded as the report embeds its maps."""
    from coverage.report.html import _embed, _library_tags

    head, body = _embed(_hostile_maps()["sites"])
    page_file = tmp_path / "sites.html"
    page_file.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>{_library_tags()}"
                         f"{head}<style>.frame {{ position: relative; height: 460px; }}</style>"
                         f"</head><body>{body}</body></html>", encoding="utf-8")
    page, errors, _ = open_offline(browser, page_file)
    page.wait_for_selector(".leaflet-container")
    hovered = page.evaluate(HOVER_ALL)
    control = page.locator(".leaflet-control-layers").inner_text()
    legend = page.locator(".coverage-legend").inner_text()
    page.wait_for_timeout(500)
    pwned = page.evaluate("window.__pwned")
    page.close()
    assert pwned is None
    assert not errors, errors
    assert hovered["layers"] and all(n > 0 for n in hovered["layers"]), hovered
    texts = "\n".join(hovered["texts"])
    assert IMG in texts and SCRIPT in texts
    assert IMG in control and IMG in legend  # an unknown kind names a layer and a legend row
