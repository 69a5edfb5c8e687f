"""What the browser tests share: Debian's Chromium driven by Playwright, and hostile texts.

Imported by name from any test folder (``pythonpath`` in ``pyproject.toml``).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

#: Names that would run script if a page took them for HTML.
IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = '"><script>window.__pwned=2</script>'

#: Hover every feature of every map on the page (each map is a global ``map_…`` of folium):
#: a mouseover on each drawn layer opens its tooltip (or its group's) as a pointer would.
HOVER_ALL = """() => {
  const out = {hovered: 0, layers: [], texts: []};
  for (const key of Object.keys(window).filter(k => k.startsWith('map_'))) {
    const m = window[key];
    if (!(m instanceof L.Map)) continue;
    let drawn = 0;
    m.eachLayer(l => {
      if (l instanceof L.Path) drawn++;
      if (l instanceof L.LayerGroup) return;  // its members are hovered one by one
      const at = l.getLatLng ? l.getLatLng() : (l.getBounds ? l.getBounds().getCenter() : null);
      if (!at) return;  // tiles
      l.fire('mouseover', {latlng: at, layerPoint: m.latLngToLayerPoint(at),
                           containerPoint: m.latLngToContainerPoint(at)}, true);
      out.hovered++;
      document.querySelectorAll('.leaflet-tooltip').forEach(t => out.texts.push(t.textContent));
      l.fire('mouseout', {latlng: at}, true);
    });
    out.layers.push(drawn);
  }
  return out;
}"""


def needs_chromium(test: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``test`` as driving Chromium, skipped where it is not installed."""
    skip = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
    return pytest.mark.browser(skip(test))


@contextlib.contextmanager
def launch() -> Iterator[Any]:
    """Start Chromium headless (Playwright); yield the browser, closed at the end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_offline(browser: Any, page_file: Path) -> tuple[Any, list[str], list]:
    """Open ``page_file`` offline; return the page, its script errors and console messages.

    Violations of the page's Content-Security-Policy are collected in ``window.__csp``.
    """
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    console: list = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(m))
    page.add_init_script("""window.__csp = [];
        document.addEventListener('securitypolicyviolation',
            e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));""")
    page.route("http*://**", lambda route: route.abort())  # the tiles: offline here
    page.goto(page_file.as_uri())
    return page, errors, console
