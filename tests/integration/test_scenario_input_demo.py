"""Scenario input on the demo city: sites far away refused, the app's upload and status line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coverage.engine.scenario import Edit, Scenario, ScenarioModel


def _text(*edits: object, **top: object) -> str:
    return json.dumps({"name": "t", "edits": list(edits), **top}, allow_nan=True)


# --- the study area, where a scenario is evaluated ---------------------------------------------


@pytest.fixture(scope="module")
def model(small_demo: Path) -> ScenarioModel:
    return ScenarioModel(small_demo)


def _demo_inside(model: ScenarioModel) -> dict[str, float]:
    import pyproj

    point = model.communities.geometry.union_all().representative_point()
    lon, lat = pyproj.Transformer.from_crs(model.study.crs, 4326, always_xy=True).transform(
        point.x, point.y)
    return {"lon": float(lon), "lat": float(lat)}


def test_sites_far_outside_the_study_area_are_refused(model: ScenarioModel):
    inside = _demo_inside(model)
    far = {"lon": inside["lon"], "lat": inside["lat"] + 18.0}  # ≈ 2,000 km north
    first = str(model.baseline.sites.index[0])
    ok = Edit("add", "N0", staff=1.0, **inside)
    assert len(model.evaluate([ok]))
    tolerance = model.study.project.parameters.study_area_tolerance_m
    with pytest.raises(ValueError, match=rf"^edit 2 \(add 'N9'\): lon .* is [\d,]+\.\d km "
                                         rf"outside the study area .*{tolerance:,.0f} m "
                                         r"allowed \(study_area_tolerance_m\)"):
        model.evaluate([ok, Edit("add", "N9", staff=1.0, **far)])
    with pytest.raises(ValueError, match=rf"^edit 1 \(move '{first}'\): .* km outside"):
        model.evaluate(Scenario("s", [Edit("move", first, **far)]))
    with pytest.raises(ValueError, match=r"^edit 1 \(add 'N9'\): .* outside"):
        model.full([Edit("add", "N9", staff=1.0, **far)])
    # the baseline is untouched by a refused scenario
    assert first in model.baseline.sites.index and "N9" not in model.baseline.sites.index


# --- the app -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(demo_city: Path):
    pytest.importorskip("panel")
    from coverage_app.app import CoverageApp

    page = CoverageApp(demo_city)
    page.state.load_model()
    return page


@pytest.mark.skipif(not Path("/etc/hostname").is_file(), reason="no /etc/hostname here")
def test_app_upload_of_a_path_is_parsed_as_json(app):
    state = app.state
    before = list(state.session.edits)
    state.load(b"/etc/hostname", label="upload.json")
    assert "upload.json: not valid JSON" in state.message
    assert state.session.edits == before


def test_app_status_line_escapes_error_text(app):
    state = app.state
    state.load(_text({"action": "<img src=x onerror=alert(1)>", "site_id": "S1"}).encode(),
               label="<b>bad</b>.json")
    assert "unknown action" in state.message
    shown = app.status.object
    assert "<img" not in shown and "<b>" not in shown
    assert "&lt;img" in shown and "&lt;b&gt;bad&lt;/b&gt;.json" in shown


def test_app_status_line_escapes_a_chosen_site_id(app):
    state = app.state
    inside = state.session.sites().to_crs(4326).geometry.iloc[0]
    lon, lat = inside.x + 0.002, inside.y + 0.002
    hostile = '<img src=x onerror="window.__pwned=1">'
    state.load(_text({"action": "add", "site_id": hostile, "lon": lon, "lat": lat,
                      "staff": 1}).encode(), label="hostile.json")
    try:
        assert hostile in set(state.session.sites()["site_id"])
        state.choose_near(lon, lat, within_m=5)
        assert state.chosen == hostile
        shown = app.status.object
        assert "<img" not in shown and "&lt;img src=x onerror=&quot;" in shown
    finally:
        state.load(_text().encode(), label="empty.json")
