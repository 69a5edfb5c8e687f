"""The HTML report: one self-contained file with interactive maps.

Leaflet, d3 (the colour-scale legends) and the styles are written into the file from
``coverage/report/assets`` instead of being loaded from a CDN, so the report opens offline;
only the base-map tiles come from the network. The folium maps of :mod:`coverage.maps` are
embedded in the page itself (not as one iframe each, which would copy the libraries into every
map). The same template, with static images instead of the interactive maps, is the source of
the PDF (:mod:`coverage.report.pdf`).

Every text from the data is escaped before it reaches the page (the template is rendered with
autoescape; the maps escape their tooltips, layer names and legends, :mod:`coverage.maps`), and
the page carries a Content-Security-Policy as a second guard: only the report's own inline
scripts run, each allowed by its SHA-256 hash computed when the page is written, so an inline
event handler (``onerror=...``) or a ``<script>`` that slipped into the page does not run.
Images may come only from ``data:`` URLs and the base-map tile servers.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import folium
import jinja2

from coverage import __version__, maps
from coverage.messages import catalogue
from coverage.report.content import MapSpec, Report, Table, fmt_value

__all__ = ["content_security_policy", "render_html", "write_html"]

_LINK = re.compile(r'\s*<(script|link)\b[^>]*?(?:src|href)="(https?://[^"]+)"[^>]*>(?:</script>)?')
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_CSP_MARK = "coverage-content-security-policy"


@cache
def _asset(name: str) -> str:
    return resources.files("coverage.report").joinpath(f"assets/{name}").read_text("utf-8")


@cache
def _template(name: str) -> str:
    return resources.files("coverage.report").joinpath(f"templates/{name}").read_text("utf-8")


def _library_tags() -> str:
    """Return the bundled libraries as inline tags, once per page."""
    return (f"<style>{_asset('leaflet.css')}</style>\n"
            f"<script>{_asset('leaflet.js')}</script>\n"
            f"<script>{_asset('d3.min.js')}</script>")


def _embed(m: folium.Map) -> tuple[str, str]:
    """Split a rendered folium map into (head extras, body) without its CDN links.

    The fixed-position legends of :mod:`coverage.maps` are made absolute so that each stays
    on its own map inside the page, and branca's colour-scale legend, which draws into the
    first legend of the document, is pointed at its own map.
    """
    page = m.get_root().render()
    head = page[page.index("<head>") + 6: page.index("</head>")]
    body = page[page.index("<body>") + 6: page.index("</body>")]
    tail = page[page.index("</body>") + 7: page.rindex("</html>")]
    head = _LINK.sub("", head)  # the libraries come once, bundled (_library_tags)
    head = re.sub(r"<meta[^>]*>", "", head)
    body = body.replace("position:fixed", "position:absolute")
    own = f'd3.select(document.getElementById("{m.get_name()}")).select(".legend.leaflet-control")'
    tail = tail.replace('d3.select(".legend.leaflet-control")', own)
    return head, f'<div class="frame">{body}</div>{tail}'


def _tile_sources(m: folium.Map) -> set[str]:
    """CSP sources of the base-map tile servers of ``m`` (``https://tile.openstreetmap.org``).

    A tile URL template's placeholder in the host (``{s}.tile.example.org``) becomes a
    wildcard (``*.tile.example.org``); where that is not a valid source the scheme alone is
    allowed (``https:``).
    """
    out = set()
    for child in m._children.values():
        if not isinstance(child, folium.TileLayer) or not isinstance(child.tiles, str):
            continue
        parts = urlsplit(child.tiles)
        if parts.scheme not in ("http", "https"):
            continue
        host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
        if "*" in host.removeprefix("*.") or host == "*":
            out.add(f"{parts.scheme}:")
        else:
            out.add(f"{parts.scheme}://{host}")
    return out


def content_security_policy(page: str, img_sources: set[str] | frozenset[str] = frozenset()
                            ) -> str:
    """Return the Content-Security-Policy of an HTML page whose scripts are all inline.

    Each inline ``<script>`` of ``page`` is allowed by the SHA-256 hash of its text; nothing
    else runs (no inline event handlers, no ``javascript:`` URLs, no other script). Styles may
    be inline (folium and the legends set them); images come from ``data:`` URLs and
    ``img_sources`` (the tile servers); nothing is fetched, framed or submitted.

    Parameters
    ----------
    page
        The HTML page.
    img_sources
        Further CSP sources of images.
    """
    hashes = []
    for attrs, body in _SCRIPT.findall(page):
        if re.search(r"\bsrc\s*=", attrs):
            continue  # a linked script: none in a report, and not allowed by the policy
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        hashes.append(f"'sha256-{digest}'")
    scripts = " ".join(dict.fromkeys(hashes)) or "'none'"
    images = " ".join(["data:", *sorted(img_sources)])
    return (f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; "
            f"img-src {images}; font-src data:; object-src 'none'; base-uri 'none'; "
            "form-action 'none'")


def folium_map(spec: MapSpec, lang: str, *, tiles: str | None = "OpenStreetMap",
               min_cell: int = 10) -> folium.Map:
    """Return the interactive map of a report map specification."""
    kw = {"lang": lang, "tiles": tiles}
    if spec.kind == "community":
        return maps.community_map(spec.layer, column=spec.column or "", min_cell=min_cell, **kw)
    if spec.kind == "underserved":
        return maps.underserved_map(spec.layer, min_cell=min_cell, **kw)
    if spec.kind == "hotspots":
        return maps.hotspot_map(spec.layer, **kw)
    if spec.kind == "recommended":
        return maps.recommended_map(spec.layer, min_cell=min_cell, **kw)
    if spec.kind == "origins":
        return maps.origin_flow_map(spec.layer, origin_level="province", dest_level="district",
                                    **kw)
    msg = f"unknown map kind {spec.kind!r}"
    raise ValueError(msg)


def table_html(table: Table, lang: str) -> str:
    """Return a published table as an HTML table (suppressed cells shown as "—")."""
    heads = "".join(f"<th>{html.escape(table.labels[c])}</th>" for c in table.frame.columns)
    rows = []
    for i, (_, row) in enumerate(table.frame.iterrows()):
        cells = []
        for c in table.frame.columns:
            kind = table.format_of(i, c)
            value = row[c]
            text = fmt_value(value, kind, lang)
            cls = "sup" if text == "—" else ("num" if kind in {"pct", "int", "f1", "f2"}
                                             else "")
            if kind == "bool" and text != "—":
                cls = "good" if bool(value) else "bad"
            cells.append(f'<td class="{cls}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    wide = ' class="wide"' if len(table.frame.columns) > 8 else ""
    return (f"<table{wide}><thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _charts(report: Report, *, static: bool) -> dict[str, str]:
    from coverage.report import figures

    out = {}
    for table in report.tables():
        if table.key == "quarters" and len(table.frame):
            fig = figures.quarter_chart(table.frame,
                                        catalogue("report", report.lang)["chart_quarters"])
            out[table.key] = _img(figures.png(fig)) if static else figures.chart_svg(fig)
    return out


def _img(png: bytes) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="">'


def render_html(
    report: Report,
    *,
    static: bool = False,
    tiles: str | None = "OpenStreetMap",
) -> str:
    """Return the report as one HTML document.

    Parameters
    ----------
    report
        The report (:func:`coverage.report.build_report`).
    static
        Static PNG maps and charts instead of the interactive maps (the PDF's source).
    tiles
        Base map of the interactive maps (``None``: none, fully offline).
    """
    from coverage.report import figures

    texts = catalogue("report", report.lang)
    head_parts: list[str] = [] if static else [_library_tags()]
    rendered: dict[str, str] = {}
    tile_sources: set[str] = set()
    for section in report.sections:
        for spec in section.maps:
            if static:
                png = figures.map_png(spec.kind, spec.layer, column=spec.column,
                                      title="", lang=report.lang, background=spec.background,
                                      min_cell=report.min_cell)
                rendered[spec.key] = _img(png)
            else:
                m = folium_map(spec, report.lang, tiles=tiles, min_cell=report.min_cell)
                tile_sources |= _tile_sources(m)
                head, body = _embed(m)
                head_parts.append(head)
                rendered[spec.key] = body
    css = _template("report.css") + ("\n" + _template("print.css") if static else "")
    # autoescape: every text of the report is escaped; "| safe" only takes the HTML built
    # here (tables of escaped cells, folium maps of escaped properties, charts, the styles)
    env = jinja2.Environment(autoescape=True)
    page = env.from_string(_template("report.html.j2")).render(
        report=report, head="\n".join(head_parts), css=css, static=static,
        maps=rendered, tables={t.key: table_html(t, report.lang) for t in report.tables()},
        charts=_charts(report, static=static), toc=texts["toc"],
        static_note=texts["map_static_note"], version=__version__, csp=_CSP_MARK)
    policy = content_security_policy(page, tile_sources)
    return page.replace(f'content="{_CSP_MARK}"', f'content="{policy}"', 1)


def write_html(report: Report, path: str | Path, *, tiles: str | None = "OpenStreetMap"
               ) -> Path:
    """Write the self-contained HTML report; return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, tiles=tiles), encoding="utf-8")
    return path

