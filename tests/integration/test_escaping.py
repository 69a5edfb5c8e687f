"""Text from the data never runs as script in a map or the HTML report.

A community, site or candidate named ``<img src=x onerror=...>`` or ``"><script>...</script>``
must be shown as that text: the maps escape every property of their tooltips, their layer names
and legends, the report escapes its text, and the report's Content-Security-Policy lets only
its own inline scripts run (no inline event handler, whatever reaches the page).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from browser import HOVER_ALL, IMG, SCRIPT, launch, needs_chromium, open_offline

#: Page coordinates of the first drawn polygon named one of ``names`` (``IMG`` as written or
#: escaped), after scrolling its map into view (for a real pointer hover).
FIND_IMG_POLYGON = """(names) => {
  for (const key of Object.keys(window).filter(k => k.startsWith('map_'))) {
    const m = window[key];
    if (!(m instanceof L.Map)) continue;
    let found = null;
    m.eachLayer(l => {
      if (!found && l instanceof L.Polygon && l.feature
          && names.includes(l.feature.properties.name)) found = l;
    });
    if (!found) continue;
    m.getContainer().scrollIntoView({block: 'center'});
    m.setView(found.getCenter(), 16, {animate: false});
    const box = m.getContainer().getBoundingClientRect();
    const p = m.latLngToContainerPoint(found.getCenter());
    return {x: box.left + p.x, y: box.top + p.y};
  }
  return null;
}"""


def _console_errors(messages: list) -> list[str]:
    """Console errors, but the base-map tiles this test keeps offline."""
    return [m.text for m in messages if m.type == "error"
            and "openstreetmap.org" not in (m.location or {}).get("url", "")]


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of the small demo city whose names carry script."""
    from coverage.demo import build_demo
    from coverage.engine.run import run_study, write_results
    from coverage.report import make_report

    root = tmp_path_factory.mktemp("hostile")
    project = build_demo(root / "city", size="small", seed=0)
    city = project.parent
    communities = gpd.read_file(city / "communities.gpkg")
    communities.loc[communities.index[:5], "name"] = IMG
    communities.loc[communities.index[5:10], "name"] = SCRIPT
    communities.to_file(city / "communities.gpkg", layer="communities", driver="GPKG")
    sites = pd.read_csv(city / "sites.csv", encoding="gb18030", dtype=str)
    sites.iloc[0, 1], sites.iloc[1, 1] = SCRIPT, IMG  # the name column (名称)
    sites.to_csv(city / "sites.csv", encoding="gb18030", index=False)
    candidates = gpd.read_file(city / "candidates.geojson")
    candidates["name"] = [IMG if i % 2 else SCRIPT for i in range(len(candidates))]
    candidates.to_file(city / "candidates.geojson", driver="GeoJSON")

    write_results(run_study(project), city / "results")
    return make_report(project, formats=["html"], out=root / "report")["html"]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with launch() as chromium:
        yield chromium


# --- the report -------------------------------------------------------------------------------


def test_report_holds_the_names_as_text_only(hostile_report: Path) -> None:
    text = hostile_report.read_text(encoding="utf-8")
    assert "<img src=x" not in text and "<script>window" not in text
    # the escaped names are there: in tables as HTML text, in map data as JSON of HTML text
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in text
    assert "\\u0026lt;img src=x onerror=" in text
    assert "\\u0026lt;script\\u0026gt;window.__pwned=2" in text


def test_report_has_a_content_security_policy(hostile_report: Path) -> None:
    text = hostile_report.read_text(encoding="utf-8")
    metas = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', text)
    assert len(metas) == 1
    policy = dict(d.strip().split(" ", 1) for d in metas[0].split(";"))
    assert policy["default-src"] == "'none'"
    scripts = policy["script-src"].split()
    assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", s) for s in scripts), scripts
    assert "unsafe" not in metas[0].replace("style-src 'unsafe-inline'", "")
    assert set(policy["img-src"].split()) == {"data:", "https://tile.openstreetmap.org"}
    # the policy comes before any script, so it governs them all
    assert text.index("Content-Security-Policy") < text.index("<script")
    inline = re.findall(r"<script\b[^>]*>", text)
    assert len(inline) >= len(scripts) > 3


@needs_chromium
def test_report_names_do_not_run_in_a_browser(hostile_report: Path, browser) -> None:
    text = hostile_report.read_text(encoding="utf-8")
    n_maps = text.count('<figure class="map"')
    page, errors, console = open_offline(browser, hostile_report)
    page.wait_for_function(
        f"document.querySelectorAll('.leaflet-container').length === {n_maps}")
    hovered = page.evaluate(HOVER_ALL)
    # a real pointer over a community named IMG shows the name as text
    at = page.evaluate(FIND_IMG_POLYGON, [IMG, html.escape(IMG)])
    assert at is not None
    page.mouse.move(at["x"], at["y"])
    page.wait_for_selector(".leaflet-tooltip", timeout=10_000)
    # (a tooltip of another map may still be open from the hovering above: read them all)
    shown = "\n".join(page.locator(".leaflet-tooltip").all_inner_texts())
    page.wait_for_timeout(500)  # let any image error fire
    pwned = page.evaluate("window.__pwned")
    violations = page.evaluate("window.__csp")
    page.close()

    assert pwned is None
    assert IMG in shown
    assert not errors, errors
    assert not violations, violations  # the report's own scripts all run under its policy
    assert not _console_errors(console), _console_errors(console)
    assert len(hovered["layers"]) == n_maps and all(n > 0 for n in hovered["layers"]), hovered
    assert hovered["hovered"] >= sum(hovered["layers"])
    texts = "\n".join(hovered["texts"])
    assert IMG in texts and SCRIPT in texts  # shown, as text


@needs_chromium
def test_policy_stops_an_inline_handler_in_the_page(hostile_report: Path, browser) -> None:
    page, errors, _ = open_offline(browser, hostile_report)
    page.wait_for_selector(".leaflet-container")
    page.evaluate("""() => { const d = document.createElement('div');
        d.innerHTML = '<img src="data:," onerror="window.__pwned=3">'
                    + '<img src=x onerror="window.__pwned=4">';
        document.body.appendChild(d); }""")
    page.wait_for_timeout(500)
    pwned = page.evaluate("window.__pwned")
    violations = page.evaluate("window.__csp")
    page.close()
    assert pwned is None
    assert not errors, errors
    assert any(v.startswith("script-src") for v in violations), violations
