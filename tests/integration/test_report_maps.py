"""Maps and charts of the reports: one colour scale for every output, readable without tiles."""

from __future__ import annotations

import io
import json
import re
import shutil
from itertools import pairwise
from pathlib import Path

import folium
import matplotlib as mpl
import numpy as np
import pandas as pd
import pyogrio
import pytest
from matplotlib.colors import to_hex

from coverage import maps
from coverage.cartography import color_scale, place_labels, site_places
from coverage.messages import catalogue
from coverage.report import build_report, figures
from coverage.report.html import folium_map


@pytest.fixture(scope="module")
def layers(demo_city: Path) -> dict[str, pd.DataFrame]:
    gpkg = demo_city / "results" / "results.gpkg"
    return {name: pyogrio.read_dataframe(gpkg, layer=name)
            for name, _ in pyogrio.list_layers(gpkg)}


@pytest.fixture(scope="module")
def report(layers):
    return build_report(layers, project_name="Demo", lang="zh")


def _specs(report) -> dict[str, object]:
    return {m.key: m for s in report.sections for m in s.maps}


def test_every_output_uses_the_one_scale(report, monkeypatch: pytest.MonkeyPatch):
    """The HTML map's fills and the PDF map's colours are the classes of color_scale."""
    spec = _specs(report)["gap"]
    values = pd.to_numeric(spec.layer[spec.column], errors="coerce").astype(float)
    shown = values.notna() & (spec.layer["migrants"] >= report.min_cell)
    scale = color_scale(spec.column, values.where(shown), lang="zh")
    # HTML (folium)
    m = folium_map(spec, "zh", tiles=None, min_cell=report.min_cell)
    layer = next(c for c in m._children.values() if isinstance(c, folium.GeoJson)
                 and "_fill" in json.dumps(c.data)[:100_000])
    fills = [f["properties"]["_fill"] for f in layer.data["features"]]
    assert fills == scale.colors_of(values.where(shown))
    # PDF (matplotlib)
    captured = []
    monkeypatch.setattr(figures, "png", lambda fig: captured.append(fig) or b"")
    figures.map_png(spec.kind, spec.layer, column=spec.column, title="", lang="zh",
                    min_cell=report.min_cell)
    ax = captured[0].axes[0]
    drawn = {to_hex(c) for coll in ax.collections for c in coll.get_facecolors()}
    used = set(scale.colors_of(values[shown]))
    assert used <= drawn
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:len(scale.labels)] == list(scale.labels)
    mpl.pyplot.close("all")


# ------------------------------------------------------------------------------------------
# every map reads without tiles: outlines, names, scale bar, legend


@pytest.mark.parametrize("key", ["coverage", "staff", "gap", "underserved", "hotspots",
                                 "recommended", "origins"])
def test_static_maps_have_outlines_names_scale_and_legend(report, key: str,
                                                          monkeypatch: pytest.MonkeyPatch):
    specs = _specs(report)
    if key not in specs:
        pytest.skip(f"no {key} map in this run")
    spec = specs[key]
    captured = []
    monkeypatch.setattr(figures, "png", lambda fig: captured.append(fig) or b"")
    figures.map_png(spec.kind, spec.layer, column=spec.column, title="", lang="zh",
                    background=spec.background, min_cell=report.min_cell)
    ax = captured[0].axes[0]
    texts = [t.get_text() for t in ax.texts]
    scale_bar = [t for t in texts if re.fullmatch(r"[\d.]+ (公里|米)", t)]
    assert scale_bar, texts
    assert ax.get_legend() is not None and ax.get_legend().get_texts()
    districts = set(report.section("equal").tables[0].frame["unit_name"]) - {"全市"}
    if key == "origins":
        assert catalogue("maps", "zh")["this_city"] in texts
        assert any(t.endswith(("省", "市", "区")) for t in texts)
    else:
        assert districts <= set(texts)  # the districts are named
        outlines = [c for c in ax.collections if c.get_linewidths().size
                    and type(c).__name__ == "LineCollection"]
        assert outlines  # community or district boundaries
    if key == "recommended":
        places = site_places(spec.layer, lang="zh")
        legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
        assert all(p in legend for p in places)
    mpl.pyplot.close("all")


def test_recommended_map_png_shows_the_communities_offline(report):
    """Rendered: without the community outlines the map would be three stars on white."""
    from PIL import Image

    spec = _specs(report)["recommended"]
    with_areas = figures.map_png(spec.kind, spec.layer, column=None, title="", lang="zh",
                                 background=spec.background)
    without = figures.map_png(spec.kind, spec.layer, column=None, title="", lang="zh")

    def outline_pixels(data: bytes) -> int:
        """Pixels of the grey outlines (#9a9a9a and the darker district lines)."""
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
        grey = (rgb.max(axis=2) - rgb.min(axis=2) < 12) & (rgb.mean(axis=2) > 50)
        return int((grey & (rgb.mean(axis=2) < 200)).sum())

    assert outline_pixels(with_areas) > 5 * outline_pixels(without)
    assert outline_pixels(with_areas) > 5_000


@pytest.mark.parametrize("key", ["coverage", "underserved", "hotspots", "recommended",
                                 "origins"])
def test_html_maps_have_outlines_names_scale_and_legend(report, key: str):
    specs = _specs(report)
    if key not in specs:
        pytest.skip(f"no {key} map in this run")
    spec = specs[key]
    page = folium_map(spec, "zh", tiles=None, min_cell=report.min_cell).get_root().render()
    assert "L.control.scale" in page
    assert 'class="coverage-legend"' in page or ".legend = L.control(" in page
    assert page.count("coverage-place") >= 3  # names printed on the map
    if key in {"underserved", "hotspots", "recommended"}:
        assert json.dumps(catalogue("maps", "zh")["community_outlines"])[1:-1] in page
    if key == "recommended":
        for place in site_places(spec.layer, lang="zh"):
            assert json.dumps(place)[1:-1] in page or place in page


def test_place_labels_name_districts_or_communities(layers):
    comm = layers["community_summary"]
    city = place_labels(comm)
    assert set(city["name"]) == set(comm["district"])
    one = comm[comm["district"] == comm["district"].iloc[0]]
    assert set(place_labels(one)["name"]) == set(one["name"])
    assert (city.geometry.geom_type == "Point").all()


def test_maps_legend_boxes_do_not_sit_on_the_scale_bar(layers):
    m = maps.community_map(layers["community_summary"], column="coverage_gap_15min", tiles=None)
    maps.hotspot_map(layers["hotspots"], m=m)
    page = m.get_root().render()
    places = re.findall(r'class="coverage-legend" style="position:fixed;([^;]+;[^;]+);', page)
    assert len(places) == 2 and len(set(places)) == 2
    assert not any("bottom:24px;left" in p.replace(" ", "") for p in places)


# ------------------------------------------------------------------------------------------
# the quarterly chart


def test_quarter_chart_legend_covers_no_line(report):
    table = next(t for t in report.tables() if t.key == "quarters").frame
    fig = figures.quarter_chart(table, "各季度指标完成率", lang="zh")
    fig.canvas.draw()
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent()
    for line in ax.lines:  # the indicators' lines and their dotted targets
        xy = line.get_transform().transform(line.get_xydata())
        dense = np.vstack([np.linspace(a, b, 50) for a, b in pairwise(xy)])
        inside = ((dense[:, 0] > box.x0) & (dense[:, 0] < box.x1)
                  & (dense[:, 1] > box.y0) & (dense[:, 1] < box.y1))
        assert not inside.any(), line.get_label()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert catalogue("report", "zh")["chart_target_line"] in labels
    mpl.pyplot.close(fig)


@pytest.mark.browser
@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="Debian's chromium is not installed")
def test_recommended_html_map_draws_outlines_offline(report, tmp_path: Path):
    """Opened with the network cut: the map shows community outlines and names, not only
    three dots on grey."""
    from playwright.sync_api import sync_playwright

    from coverage.report.content import Report
    from coverage.report.html import render_html

    sections = [s for s in report.sections if any(m.key == "recommended" for m in s.maps)]
    small = Report(report.lang, report.title, report.meta, sections, report.min_cell,
                   report.privacy_note)
    page_file = tmp_path / "map.html"
    page_file.write_text(render_html(small, tiles=None), encoding="utf-8")
    shot = tmp_path / "map.png"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.route("http*://**", lambda route: route.abort())
            page.goto(page_file.as_uri())
            page.wait_for_selector("#map-recommended .coverage-place", state="attached")
            page.wait_for_timeout(500)
            page.locator("#map-recommended .frame").screenshot(path=str(shot))
            names = page.locator("#map-recommended .coverage-place").all_inner_texts()
        finally:
            browser.close()
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    outline = (np.abs(pixels - 119).max(axis=2) < 25).mean()  # #777 outlines
    assert outline > 0.003
    districts = set(report.section("equal").tables[0].frame["unit_name"]) - {"全市"}
    assert districts <= set(names)
