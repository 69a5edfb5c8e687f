"""The communities' colours on the map in a real browser, after an edit, across languages.

A planner adds a service point by clicking the map, then switches the language and the
shading: the communities must stay coloured by their figures, in the classes of the reports
(:func:`coverage.publish.labels.color_scale`). The colours are read off the page as drawn
(a screenshot's pixel inside each community), not from the models sent to the browser, which
were right all along when the map turned grey.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
import pytest
import shapely

from browser import ARGS, CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]

THRESHOLD = 15.0
"""The app's default threshold (minutes), the demo city's largest."""

FILL_ALPHA = 0.65
"""The communities' fill opacity on the map (over a white plot: the tiles are not fetched)."""

#: The communities as the map draws them: figures, classes' legend, polygons (exterior rings
#: in Web Mercator) and where they are on the page (a linear map of each axis, in CSS pixels).
_COMMUNITIES = """() => {
  for (const v of Bokeh.index.all_views()) {
    if (v.constructor.__name__ !== 'GlyphRendererView') continue;
    const data = v.model.data_source.data;
    if (data.cls === undefined) continue;
    const box = v.plot_view.canvas_view.el.getBoundingClientRect();
    const {x_scale, y_scale} = v.coordinates;
    const [x0, x1, y0, y1] = [x_scale.compute(0), x_scale.compute(1), y_scale.compute(0),
                              y_scale.compute(1)];
    return {
      value: Array.from(data.value, x => (x === null || Number.isNaN(x)) ? null : x),
      rings: Array.from(data.xs, (polys, i) => polys.map((rings, j) => Array.from(
        rings[0], (x, k) => [x, data.ys[i][j][0][k]]))),
      factors: v.model.glyph.properties.fill_color.get_value().transform.factors,
      x: [box.left + x0, x1 - x0], y: [box.top + y0, y1 - y0],
    };
  }
  return null;
}"""


@pytest.fixture(scope="module")
def server(app_url: str) -> str:
    """``coverage app`` on the small demo city, in its own process (the session's)."""
    return app_url + "/"


def _screenshot(page, name: str) -> None:
    """Save a screenshot when ``COVERAGE_SCREENSHOTS`` names a folder."""
    folder = os.environ.get("COVERAGE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def _hex(rgb: np.ndarray) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _drawn(page) -> tuple[np.ndarray, list[np.ndarray | None], list[str]]:
    """The communities' figures, the pixel each is drawn in and the legend's classes.

    The pixel is a screenshot's, at a point well inside each community; ``None`` for a
    community too small on the screen to hold a clear point.
    """
    from PIL import Image

    page.mouse.move(1, 1)  # no tooltip over the map
    shown = page.evaluate(_COMMUNITIES)
    image = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"), dtype=float)
    (x0, dx), (y0, dy) = shown["x"], shown["y"]
    pixels: list[np.ndarray | None] = []
    for polys in shown["rings"]:
        screen = shapely.MultiPolygon([shapely.Polygon([(x0 + dx * x, y0 + dy * y)
                                                        for x, y in ring]) for ring in polys])
        inner = screen.buffer(-4)  # at least 4 pixels from the edges (lines, neighbours)
        point = None if inner.is_empty else inner.representative_point()
        pixels.append(None if point is None else image[int(point.y), int(point.x)])
    values = np.array([np.nan if v is None else v for v in shown["value"]], dtype=float)
    return values, pixels, list(shown["factors"])


def _named(pixels: list[np.ndarray | None], palette: list[str]) -> list[str]:
    """The class colour of ``palette`` each pixel shows through the fill's opacity (``?`` and
    the pixel when none is near; ``""`` for no pixel)."""
    blended = {c: FILL_ALPHA * _rgb(c) + (1 - FILL_ALPHA) * 255 for c in palette}
    out = []
    for pixel in pixels:
        near = [] if pixel is None else [c for c, rgb in blended.items()
                                         if np.abs(rgb - pixel).max() <= 4]
        out.append("" if pixel is None else near[0] if near else "?" + _hex(pixel))
    return out


def _settled(page, column: str, lang: str, *, timeout: float = 30.0) -> dict:
    """What the map draws once it shows ``column``'s classes in ``lang`` (or at the timeout).

    ``expected``: the colour of each community's figure in the reports' classes.
    """
    from coverage.publish.labels import MISSING_COLOR, color_scale

    deadline = time.monotonic() + timeout
    while True:
        values, pixels, factors = _drawn(page)
        scale = color_scale(column, values, lang=lang)
        drawn = _named(pixels, [*scale.colors, MISSING_COLOR])
        expected = [c if p is not None else "" for c, p in zip(scale.colors_of(values),
                                                                pixels, strict=True)]
        found = {"values": values, "drawn": drawn, "expected": expected, "factors": factors,
                 "labels": [*scale.labels]}
        if (drawn == expected and factors[:-1] == found["labels"]) or (
                time.monotonic() > deadline):
            return found
        page.wait_for_timeout(500)


def _check(found: dict, *, missing: str) -> None:
    """The map draws each community in its figure's class colour, and not all of them grey."""
    drawn, expected = found["drawn"], found["expected"]
    assert found["factors"][:-1] == found["labels"], found["factors"]
    assert sum(1 for c in drawn if c) >= 0.8 * len(drawn), "communities too small to read"
    wrong = [(i, d, e) for i, (d, e) in enumerate(zip(drawn, expected, strict=True)) if d != e]
    assert not wrong, f"{len(wrong)} of {len(drawn)} communities drawn wrong: {wrong[:5]}"
    assert {c for c in drawn if c} - {missing}, "every community drawn grey (no value)"


def _add_site(page, before: np.ndarray) -> np.ndarray:
    """Click the map until a new service point changes some community's figure."""
    boxes = [b for b in (c.bounding_box() for c in page.locator("canvas").all()) if b]
    box = max(boxes, key=lambda b: b["width"] * b["height"])
    status = page.locator(".cov-status")
    for fx, fy in ((0.5, 0.5), (0.3, 0.3), (0.7, 0.7), (0.35, 0.65), (0.65, 0.35)):
        text = status.inner_text()
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        deadline = time.monotonic() + 30
        while status.inner_text() == text and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        settle = time.monotonic() + 10  # the map's figures may reach the page after the line
        while True:
            values = np.array([np.nan if v is None else v for v in page.evaluate(
                _COMMUNITIES)["value"]], dtype=float)
            if not np.array_equal(values, before, equal_nan=True):
                return values
            if time.monotonic() > settle:
                break
            page.wait_for_timeout(250)
    pytest.fail("no click on the map changed a community's figure")


def test_communities_keep_their_colours_across_languages_and_shadings(server: str):
    """After a service point is added on the map, switching to English (and back) and
    changing the shading keep the communities in the colours of their figures; the same
    figures keep the same colours in either language."""
    from playwright.sync_api import expect, sync_playwright

    from coverage.publish.labels import MISSING_COLOR, coverage_column

    share, gap = coverage_column(THRESHOLD), coverage_column(THRESHOLD, "gap")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("http*://*.openstreetmap.org/**", lambda route: route.abort())
            page.goto(server)
            expect(page.locator(".cov-card[data-key=sites] .cov-card-value")).not_to_have_text(
                "…", timeout=60_000)  # the model is loaded: a click adds a service point
            # only the communities on the map, so that each one's colour can be read
            for layer in ("服务点", "服务薄弱区"):
                page.get_by_role("checkbox", name=layer, exact=True).uncheck()
            today = _settled(page, share, "zh")
            _check(today, missing=MISSING_COLOR)
            _screenshot(page, "map-colours-zh-today.png")
            values = _add_site(page, today["values"])
            edited = _settled(page, share, "zh")
            _check(edited, missing=MISSING_COLOR)
            assert np.array_equal(edited["values"], values, equal_nan=True)
            _screenshot(page, "map-colours-zh-edited.png")
            # English: the same figures, the same colours, the legend in English
            page.get_by_role("button", name="English").click()
            english = _settled(page, share, "en")
            _check(english, missing=MISSING_COLOR)
            assert np.array_equal(english["values"], values, equal_nan=True)
            assert english["drawn"] == edited["drawn"]
            assert english["factors"] != edited["factors"]
            _screenshot(page, "map-colours-en-edited.png")
            # the shading: the gap's diverging classes, then back to Chinese
            page.get_by_label("Shade communities by").select_option(
                label="Coverage gap (registered − migrants)")
            english_gap = _settled(page, gap, "en")
            _check(english_gap, missing=MISSING_COLOR)
            assert any("pp" in f for f in english_gap["factors"])
            _screenshot(page, "map-colours-en-gap.png")
            page.get_by_role("button", name="中文").click()
            chinese_gap = _settled(page, gap, "zh")
            _check(chinese_gap, missing=MISSING_COLOR)
            assert chinese_gap["drawn"] == english_gap["drawn"]
            page.get_by_label("社区着色指标").select_option(label="覆盖率（流动人口）")
            again = _settled(page, share, "zh")
            _check(again, missing=MISSING_COLOR)
            assert again["drawn"] == edited["drawn"] and again["factors"] == edited["factors"]
            assert np.array_equal(again["values"], values, equal_nan=True)
            _screenshot(page, "map-colours-zh-again.png")
        finally:
            browser.close()
    assert not errors, errors
