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
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import folium
import jinja2

from coverage import __version__, maps
from coverage.messages import catalogue
from coverage.report import figures
from coverage.report.content import MapSpec, Report, Table, fmt_value
from coverage.report.layout import (
    LONG_TEXT_EM,
    TableLayout,
    plan_table,
    segments,
    text_width_em,
    unbreakable,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
        return maps.underserved_map(spec.layer, areas=spec.background, min_cell=min_cell, **kw)
    if spec.kind == "hotspots":
        return maps.hotspot_map(spec.layer, areas=spec.background, **kw)
    if spec.kind == "recommended":
        return maps.recommended_map(spec.layer, areas=spec.background, min_cell=min_cell, **kw)
    if spec.kind == "origins":
        return maps.origin_flow_map(spec.layer, origin_level="province", dest_level="district",
                                    **kw)
    msg = f"unknown map kind {spec.kind!r}"
    raise ValueError(msg)


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_NUMERIC = frozenset({"pct", "pp", "int", "int+", "yuan", "f1", "f2", "f1+", "f2+", "coord"})


def _cells(table: Table, lang: str) -> list[list[tuple[str, str, object]]]:
    """(text, kind, value) of every cell, as printed."""
    out = []
    for i, (_, row) in enumerate(table.frame.iterrows()):
        out.append([(fmt_value(row[c], table.format_of(i, c), lang), table.format_of(i, c),
                     row[c]) for c in table.frame.columns])
    return out


def _td(text: str, kind: str, value: object) -> str:
    classes = (["sup"] if text == "—" else []) + (["num"] if kind in _NUMERIC else [])
    if kind == "bool" and text != "—":
        classes = ["good" if bool(value) else "bad"]
    if unbreakable(text, numeric=kind in _NUMERIC):
        classes.append("nowrap")
        body = html.escape(text)
    else:  # breaks between phrases only, never inside a name or a number
        body = _nowrap_pieces(text)
    if kind == "link" and text != "—":
        link = maps.safe_link(value)
        body = (f'<a href="{html.escape(link)}" target="_blank" rel="noopener noreferrer">'
                f"{body}</a>")
    return f'<td class="{" ".join(classes)}">{body}</td>'


def _keys(table: Table) -> int:
    """Leading columns that name a row (repeated in each part of a cut table)."""
    columns = list(table.frame.columns)
    if len(columns) > 1 and str(columns[0]).endswith("_id") and columns[1] in {"name", "place"}:
        return 2
    return 1


def _nowrap_pieces(text: str) -> str:
    """Escaped ``text`` that breaks between phrases only (:func:`layout.segments`).

    Chinese may break between any two characters, so its phrases are kept whole; other texts
    break between words anyway and are only escaped.
    """
    if not _CJK.search(text):
        return html.escape(text)
    pieces = segments(text)
    return "".join((f'<span class="nowrap">{html.escape(piece)}</span>'
                    if text_width_em(piece) <= LONG_TEXT_EM else html.escape(piece))
                   + (html.escape(space) or ("<wbr>" if k < len(pieces) - 1 else ""))
                   for k, (piece, space) in enumerate(pieces))


def table_layout(table: Table, lang: str) -> TableLayout:
    """Return how ``table`` goes onto A4 pages (:func:`coverage.report.layout.plan_table`)."""
    heads = [table.labels[c] for c in table.frame.columns]
    cells = _cells(table, lang)
    numeric = [any(row[j][1] in _NUMERIC for row in cells) for j in range(len(heads))]
    return plan_table(heads, [[c[0] for c in row] for row in cells], numeric=numeric,
                      keys=_keys(table))


def table_html(table: Table, lang: str, *, static: bool = False) -> str:
    """Return a published table as an HTML figure (suppressed cells shown as "—").

    With ``static`` (the PDF), the table is laid out for A4 (:func:`table_layout`): numbers
    and short texts never break, headers only between phrases, wide tables go on landscape
    pages or are cut into parts of columns, each repeating the columns that name the rows.
    """
    heads = [table.labels[c] for c in table.frame.columns]
    cells = _cells(table, lang)
    plan = table_layout(table, lang)
    if static:
        parts, classes = plan.parts, f"table {plan.orientation} {plan.size}"
    else:  # a browser scrolls a wide table
        parts, classes = (tuple(range(len(heads))),), "table"
    texts = catalogue("report", lang)
    out = [f'<figure class="{classes}" id="table-{html.escape(table.key)}">',
           f"<figcaption>{html.escape(table.title)}</figcaption>"]
    for k, part in enumerate(parts, start=1):
        if len(parts) > 1:
            part_text = texts["table_part"].format(k=k, n=len(parts))
            out.append(f'<p class="part">{html.escape(part_text)}</p>')
        head = "".join(f"<th>{_nowrap_pieces(heads[j])}</th>" for j in part)
        rows = "".join("<tr>" + "".join(_td(*row[j]) for j in part) + "</tr>"
                       for row in cells)
        out.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
                   f"<tbody>{rows}</tbody></table></div>")
    out += [f'<p class="table-note">{html.escape(note)}</p>' for note in table.notes]
    out.append("</figure>")
    return "\n".join(out)


def _quarter_chart(table: Table, lang: str) -> Figure:
    """Chart the indicators by quarter (the table ``quarters``)."""
    return figures.quarter_chart(table.frame, catalogue("report", lang)["chart_quarters"],
                                 lang=lang)


def _province_chart(table: Table, lang: str) -> Figure:
    """Chart each city's coverage of migrants and registered residents (table ``province``).

    The bars are the table's rows and shares, in its order, named by its headers; its last
    row, the province's, set apart.
    """
    texts = catalogue("report", lang)
    mark = texts["suppressed_mark"]
    shares = {table.labels[c]: table.frame[c].tolist() for c in table.frame.columns
              if table.formats.get(c) == "pct"}
    return figures.share_bars(table.frame[table.frame.columns[0]].astype(str).tolist(), shares,
                              title=texts["chart_province"],
                              xlabel=texts["chart_share_covered"],
                              missing=texts["chart_not_published"].format(mark=mark),
                              mark=mark, total=True)


#: The chart drawn under a table, by the table's key.
_CHARTS = {"quarters": _quarter_chart, "province": _province_chart}


def _charts(report: Report, *, static: bool) -> dict[str, str]:
    out = {}
    for table in report.tables():
        if table.key in _CHARTS and len(table.frame):
            fig = _CHARTS[table.key](table, report.lang)
            out[table.key] = _img(figures.png(fig)) if static else figures.chart_svg(fig)
    return out


def _landscape_sections(report: Report) -> set[str]:
    """Sections printed whole on landscape pages: tables only, all of them landscape.

    The heading and text then stay on the page of their table.
    """
    return {s.key for s in report.sections
            if s.tables and not s.maps and s.key != "actions"
            and all(table_layout(t, report.lang).orientation == "landscape" for t in s.tables)}


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
        maps=rendered, landscape=_landscape_sections(report) if static else set(),
        tables={t.key: table_html(t, report.lang, static=static) for t in report.tables()},
        charts=_charts(report, static=static), toc=texts["toc"], link_text=texts["link_text"],
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

