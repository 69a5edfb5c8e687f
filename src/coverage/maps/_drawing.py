"""What every web map draws around its layer: the frame, tooltips, legends, names and outlines.

A map reads without base-map tiles: a scale bar, a legend, and the names of the places printed
on it (districts, or the communities of one district; recommended sites; provinces). Every text
written here is HTML-escaped, since Leaflet writes tooltips, layer names and legends into the
page as HTML.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Element

from coverage.cartography import place_labels
from coverage.maps._tables import _plain, _wgs84


def _map(
    table: gpd.GeoDataFrame, m: folium.Map | None, tiles: str | None, attr: str | None
) -> tuple[folium.Map, bool]:
    """Return ``m`` or a new map fitted to ``table`` (WGS-84), and whether it is new."""
    if m is not None:
        return m, False
    new = folium.Map(tiles=tiles, attr=attr, control_scale=True, prefer_canvas=True)
    if len(table):
        x0, y0, x1, y1 = table.total_bounds
        new.fit_bounds([[float(y0), float(x0)], [float(y1), float(x1)]])
    else:
        new.location = [35.0, 105.0]
        new.options["zoom"] = 4
    return new, True


def _finish(m: folium.Map, created: bool, layer_control: bool | None) -> folium.Map:
    if layer_control or (layer_control is None and created):
        folium.LayerControl(collapsed=False).add_to(m)
    return m


class _Tooltip(folium.GeoJsonTooltip):
    """A tooltip that also renders on a layer with no features.

    folium checks the fields against the first feature and fails on an empty layer (an
    analysis that found nothing, e.g. no under-served cluster); with no feature there is
    nothing to show a tooltip for.
    """

    def render(self, **kwargs: object) -> None:
        data = getattr(self._parent, "data", None)
        if isinstance(data, dict) and not data.get("features"):
            self.fields, self.aliases = [], []
        super().render(**kwargs)


def _tooltip(fields: list[str], aliases: list[str]) -> folium.GeoJsonTooltip:
    """Return a tooltip of ``fields`` (escaped by :func:`_plain`) under escaped ``aliases``."""
    aliases = [html.escape(str(a)) for a in aliases]
    return _Tooltip(fields=fields, aliases=aliases, localize=True, sticky=True)


def _layer_name(text: str) -> str:
    """Return a layer's name for the layer control (Leaflet writes it into the page as HTML)."""
    return html.escape(str(text))


#: Where the legends of one map go, in order (the scale bar is at the bottom left, the
#: attribution at the bottom right, the zoom buttons at the top left).
_LEGEND_PLACES = ("bottom:26px;right:10px", "bottom:58px;left:10px", "top:84px;left:10px")


def _legend(m: folium.Map, title: str, items: list[tuple[str, str]], *, note: str = "",
            lines: list[tuple[str, float]] | None = None) -> None:
    """Add a legend box of coloured squares (and line widths) to ``m``; texts are escaped.

    ``items`` are (text, colour) pairs; ``lines`` (text, width in pixels) pairs drawn as line
    samples; ``note`` a small line under them (how the classes were made).
    """
    count = getattr(m, "_coverage_legends", 0)
    m._coverage_legends = count + 1  # type: ignore[attr-defined]
    where = _LEGEND_PLACES[min(count, len(_LEGEND_PLACES) - 1)]
    rows = "".join(
        '<div><span style="display:inline-block;width:12px;height:12px;'
        f'background:{html.escape(str(color))};border:1px solid #555;margin-right:6px"></span>'
        f"{html.escape(str(text))}</div>"
        for text, color in items
    )
    rows += "".join(
        '<div><span style="display:inline-block;width:24px;vertical-align:middle;'
        f'border-top:{float(width):.1f}px solid #d95f0e;margin-right:6px"></span>'
        f"{html.escape(str(text))}</div>"
        for text, width in (lines or [])
    )
    if note:
        rows += f'<div style="color:#555;max-width:220px">{html.escape(note)}</div>'
    box = (
        f'<div class="coverage-legend" style="position:fixed;{where};z-index:9999;'
        "background:white;padding:6px 8px;border:1px solid #999;border-radius:4px;"
        f'font-size:12px"><b>{html.escape(str(title))}</b>{rows}</div>'
    )
    m.get_root().html.add_child(Element(box))


_PLACE_STYLE = ("transform:translate(-50%,-50%);white-space:nowrap;font-weight:bold;"
                "color:#222;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff;")


_ANCHORS = {"center": "", "right": "transform:translate(7px,-50%);",
            "below": "transform:translate(-50%,6px);"}


def _place_names(m: folium.Map, places: gpd.GeoDataFrame, labels: dict[str, str], *,
                 size: int = 13, anchor: str | list[str] = "center") -> None:
    """Print names on the map (districts, communities, sites) as text, escaped; no tiles needed.

    ``places`` holds ``name`` and points (any CRS); ``anchor`` puts each name on its point
    (``center``), right of it or below it (one for all, or one per place).
    """
    if not len(places):
        return
    places = places.to_crs(4326)
    anchors = [anchor] * len(places) if isinstance(anchor, str) else anchor
    group = folium.FeatureGroup(name=_layer_name(labels["place_names"])).add_to(m)
    for name, point, where in zip(places["name"].astype(str), places.geometry, anchors,
                                  strict=True):
        folium.Marker(
            [point.y, point.x], interactive=False,
            icon=folium.DivIcon(html=f'<div class="coverage-place" style="{_PLACE_STYLE}'
                                f'{_ANCHORS[where]}font-size:{size}px">{html.escape(name)}</div>',
                                icon_size=(0, 0), icon_anchor=(0, 0)),
        ).add_to(group)


def _district_lines(m: folium.Map, table: gpd.GeoDataFrame) -> None:
    """Draw the districts' boundaries (heavier than the communities'), when there are several."""
    if "district" not in table or table["district"].nunique() < 2:
        return
    districts = table[["district", table.geometry.name]].dissolve(by="district")
    folium.GeoJson(
        _plain(districts, {}), control=False, interactive=False,
        style_function=lambda f: {"fill": False, "color": "#333333", "weight": 2},
    ).add_to(m)


def _outlines(m: folium.Map, areas: gpd.GeoDataFrame | None, labels: dict[str, str], *,
              names: bool = True) -> None:
    """Draw community outlines (and district or community names) under a layer.

    With no base-map tiles (offline) these are what tells a reader where things are.
    """
    if areas is None or not len(areas):
        return
    table = _wgs84(areas, "areas")
    folium.GeoJson(
        _plain(table, {}),
        name=_layer_name(labels["community_outlines"]),
        style_function=lambda f: {"fill": False, "color": "#777777", "weight": 0.8},
        interactive=False,
    ).add_to(m)
    _district_lines(m, table)
    if names:
        _place_names(m, place_labels(table), labels)


def _approximate_note(m: folium.Map, table: pd.DataFrame, labels: dict[str, str]) -> None:
    """Say on the map, once, that the community boundaries are approximate (Voronoi cells).

    Shown when ``table`` has a true ``boundary_approximate`` (communities given as a table).
    """
    flag = table.get("boundary_approximate")
    if flag is None or not flag.fillna(False).astype(bool).any():
        return
    if getattr(m, "_coverage_approximate", False):
        return
    m._coverage_approximate = True  # type: ignore[attr-defined]
    box = (
        '<div class="coverage-note" style="position:fixed;bottom:24px;right:12px;z-index:9999;'
        "background:white;padding:4px 8px;border:1px solid #999;border-radius:4px;"
        f'font-size:12px">{html.escape(labels["approximate_boundaries"])}</div>'
    )
    m.get_root().html.add_child(Element(box))
