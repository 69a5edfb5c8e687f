"""Interactive web maps (folium / Leaflet) of the result layers, in Chinese or English.

One function per result layer; each takes the layer's table (a GeoDataFrame in any CRS; it is
reprojected to WGS-84) and returns a :class:`folium.Map` — a new one, or ``m`` with the layer
added. Options shared by all functions (keyword-only):

* ``lang`` — ``"zh"`` (default) or ``"en"``; every label comes from :data:`LABELS`;
* ``tiles`` — base map, default ``"OpenStreetMap"``; any folium tile name or URL template (then
  give ``attr``), or ``None`` for no base map (offline use, or add Tianditu yourself);
* ``m`` — an existing map to draw on (no layer control is added then unless asked for);
* ``min_cell`` — rows with a ``suppressed`` flag, or a ``migrants`` count below ``min_cell``
  (default 10), are not drawn: a map shown in a browser is published data (PIPL), and cells of
  fewer than 10 people must not be shown.

Every map reads without base-map tiles: a scale bar, a legend, and the names of the places
printed on it (districts, or the communities of one district; recommended sites; provinces).
The maps of other layers take ``areas`` (community polygons) to draw as outlines under them.
Choropleth colours come from :func:`coverage.cartography.color_scale`, as in the PDF report.

Only the columns a map shows are written into its HTML: no person id or individual point ever
enters a map (the inputs are aggregate tables). Every text that may come from the data (names,
districts, kinds, ids) is HTML-escaped before it reaches a tooltip, a layer name or a legend,
which Leaflet writes into the page as HTML (:func:`escape_text`). This module never imports
``panel``; the web app embeds these maps.

Column assumptions for the pattern layers (reconcile with ``docs/patterns.md``):

* ``underserved`` clusters: polygons with ``cluster_id``, ``migrants``, ``mean_time_min``,
  ``max_time_min``;
* ``hotspots``: polygons (hexagons) with ``class`` or ``hotspot`` — ``hot_99``, ``hot_95``,
  ``hot_90``, ``cold_99``, ``cold_95``, ``cold_90``, ``not_significant`` — or, without it,
  ``gi_star``/``z_score`` and ``p_fdr``/``p_value`` (the class is derived: p ≤ 0.01, 0.05, 0.10
  and the sign of the statistic);
* ``inflow_trends``: polygons with ``growth_rate`` (a share per period, 0.1 = +10 %),
  ``projected_migrants`` and ``early_warning`` (bool).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import branca.colormap as bcm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element

from coverage.messages import check_lang
from coverage.publish.disclosure import shown_rows
from coverage.publish.labels import LABELS, column_label

KIND_COLORS = {
    "technical_station": "#1f77b4",
    "health_centre": "#2ca02c",
    "health_station": "#74c476",
    "fp_room": "#ff7f0e",
    "migrant_centre": "#d62728",
    "enterprise_association": "#9467bd",
    "other": "#7f7f7f",
}
"""Marker colour of each service-point kind."""

HOTSPOT_COLORS = {
    "hot_99": "#b2182b",
    "hot_95": "#ef8a62",
    "hot_90": "#fddbc7",
    "cold_99": "#2166ac",
    "cold_95": "#67a9cf",
    "cold_90": "#d1e5f0",
    "not_significant": "#f7f7f7",
}
"""Fill colour of each hot spot class (ColorBrewer RdBu)."""

SIMPLIFY_M = 5.0
"""Tolerance (metres) for simplifying geometries in a projected CRS before drawing them."""


# --------------------------------------------------------------------------------------------
# helpers


def _labels(lang: str) -> dict[str, str]:
    """Every text a map shows in ``lang`` (:mod:`coverage.publish.labels`)."""
    return LABELS[check_lang(lang)]


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what} lacks the column(s) {', '.join(missing)}; it has: "
        msg += f"{', '.join(map(str, frame.columns))}"
        raise ValueError(msg)


def _wgs84(table: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(table, gpd.GeoDataFrame):
        msg = f"{what} must be a GeoDataFrame, got {type(table).__name__}"
        raise TypeError(msg)
    if table.crs is None:
        msg = f"{what} has no CRS; set it (e.g. table.set_crs(...)) before mapping"
        raise ValueError(msg)
    geoms = table.geometry
    table = table[~(pd.isna(geoms.to_numpy()) | geoms.is_empty.to_numpy())]  # no None, no empty
    if table.crs.is_projected and len(table):
        # drawing detail below ~5 m is invisible in a city map and only bloats the HTML
        table = table.set_geometry(table.geometry.simplify(SIMPLIFY_M, preserve_topology=True))
    return table.to_crs(4326)


def _largest(table: gpd.GeoDataFrame, min_cell: int, top: int | None) -> gpd.GeoDataFrame:
    """Rows that may be shown, by ``migrants`` descending; the ``top`` first if given.

    Filtering comes before :func:`_wgs84`, so that only drawn rows are reprojected.
    """
    table = table[shown_rows(table, min_cell)].sort_values("migrants", ascending=False)
    return table if top is None else table.head(top)


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


_HTML_SPECIAL = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))


def escape_text(values: pd.Series) -> pd.Series:
    """Return ``values`` as HTML-escaped text (what :func:`html.escape` does, vectorized).

    Leaflet writes tooltips, layer names and legends into the page as HTML, so every text
    that may come from the data (names of communities, districts and sites, kinds, ids) is
    escaped first: a name such as ``<img src=x onerror=...>`` is then shown, not run.

    Parameters
    ----------
    values
        Values of any type; missing values stay missing.

    Returns
    -------
    pandas.Series
        Escaped text (``string`` dtype) on the same index.
    """
    text = pd.Series(values).astype("string")
    for char, entity in _HTML_SPECIAL:
        text = text.str.replace(char, entity, regex=False)
    return text


def _plain(table: gpd.GeoDataFrame, columns: dict[str, pd.Series]) -> gpd.GeoDataFrame:
    """Return a GeoDataFrame of only ``columns`` (JSON-safe values) and the geometry.

    Text values are HTML-escaped (:func:`escape_text`): folium's tooltips put the properties
    into the page as HTML.
    """
    data = {}
    for name, values in columns.items():
        values = pd.Series(values, index=table.index)
        if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values):
            values = values.astype(float).round(3).astype(object)
        else:
            values = escape_text(values.astype(object)).astype(object)
        data[name] = values.where(pd.notna(values), None).to_numpy(dtype=object)
    return gpd.GeoDataFrame(data, geometry=table.geometry.to_numpy(), crs=table.crs)


def _fmt(values: pd.Series, column: str) -> pd.Series:
    """Display text of a numeric column (shares as percentages)."""
    num = pd.to_numeric(values, errors="coerce").astype(float)
    if column.startswith("coverage") or column in ("growth_rate", "share"):
        text = (num * 100).round(1).astype(str) + " %"
    else:
        text = num.round(2).astype(str)
    return text.where(num.notna(), "—")


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


def _colormap(values: pd.Series, caption: str, *, worse_high: bool = False) -> bcm.LinearColormap:
    num = pd.to_numeric(values, errors="coerce").astype(float)
    finite = num[np.isfinite(num)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    base = bcm.linear.YlOrRd_09 if worse_high else bcm.linear.YlGnBu_09
    cmap = base.scale(lo, hi)
    cmap.caption = caption
    return cmap


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
        from coverage.cartography import place_labels

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


def _width(values: pd.Series, *, max_px: float = 12.0) -> np.ndarray:
    v = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    top = np.nanmax(v) if len(v) and np.isfinite(v).any() else 1.0
    return np.round(1.0 + (max_px - 1.0) * np.sqrt(np.clip(v, 0, None) / top), 2)


# --------------------------------------------------------------------------------------------
# one map per layer


def community_map(
    community_summary: gpd.GeoDataFrame,
    *,
    column: str = "coverage_15min_migrant",
    lang: str = "zh",
    tiles: str | None = "OpenStreetMap",
    attr: str | None = None,
    m: folium.Map | None = None,
    min_cell: int = 10,
    layer_control: bool | None = None,
    place_names: bool = True,
) -> folium.Map:
    """Choropleth of one column of ``community_summary``.

    Parameters
    ----------
    community_summary
        The ``community_summary`` layer (polygons, ``name``, ``district``, ``migrants`` and
        ``column``).
    column
        The column to map, e.g. ``coverage_15min_migrant``, ``staff_per_1000_migrants``,
        ``coverage_gap_15min``. The colour classes are those of
        :func:`coverage.cartography.color_scale`, as in the PDF report: gaps diverge around
        zero (red where migrants are worse off), shares have fixed classes, other measures
        quantile classes; the legend lists the classes and says how they were made.
    lang, tiles, attr, m, min_cell, layer_control
        See the module docstring. Communities with fewer than ``min_cell`` migrants are drawn
        grey, without their value. When ``boundary_approximate`` is true (communities given
        as a table), a note says that the boundaries are approximate.
    place_names
        Print the names of the districts (of the communities, for one district) on the map.

    Returns
    -------
    folium.Map
    """
    from coverage.cartography import color_scale, place_labels

    labels = _labels(lang)
    _require(community_summary, ["name", "district", column], "community_summary")
    table = _wgs84(community_summary, "community_summary")
    title = column_label(column, lang=lang)
    hidden = (~shown_rows(table[["migrants"]], min_cell) if "migrants" in table
              else np.zeros(len(table), dtype=bool))
    values = pd.to_numeric(table[column], errors="coerce").astype(float).mask(hidden)
    scale = color_scale(column, values, lang=lang, title=title)
    fill = scale.colors_of(values)
    text = _fmt(values, column).where(~hidden, labels["suppressed"].format(n=min_cell))
    data = _plain(
        table,
        {"name": table["name"], "district": table["district"], "value": text, "_fill": fill},
    )
    m, created = _map(table, m, tiles, attr)
    folium.GeoJson(
        data,
        name=_layer_name(f"{labels['community']}: {title}"),
        style_function=lambda f: {
            "fillColor": f["properties"]["_fill"],
            "color": "#555555",
            "weight": 0.6,
            "fillOpacity": 0.75,
        },
        tooltip=_tooltip(
            ["name", "district", "value"], [labels["name"], labels["district"], title]
        ),
    ).add_to(m)
    items = scale.items()
    if (~np.isfinite(values.to_numpy(float))).any():
        items.append((labels["suppressed"].format(n=min_cell), scale.missing))
    _legend(m, title, items, note=scale.note)
    _district_lines(m, table)
    if place_names:
        _place_names(m, place_labels(table), labels)
    _approximate_note(m, table, labels)
    return _finish(m, created, layer_control)


def sites_map(
    site_catchments: gpd.GeoDataFrame,
    *,
    sites: gpd.GeoDataFrame | None = None,
    catchments: bool = True,
    lang: str = "zh",
    tiles: str | None = "OpenStreetMap",
    attr: str | None = None,
    m: folium.Map | None = None,
    layer_control: bool | None = None,
) -> folium.Map:
    """Service points as circles (colour by kind, area by staff) over their catchment polygons.

    Parameters
    ----------
    site_catchments
        The ``site_catchments`` layer (``site_id``, ``name``, ``kind``, ``staff``; catchment
        polygons, or points).
    sites
        The sites layer (``site_id`` and points) giving the markers' positions. Without it,
        point geometries of ``site_catchments`` are used, and for polygons a point inside the
        catchment (an approximation; pass ``sites`` for exact positions).
    catchments
        Draw the catchment polygons.
    lang, tiles, attr, m, layer_control
        See the module docstring.

    Returns
    -------
    folium.Map
    """
    labels = _labels(lang)
    _require(site_catchments, ["site_id", "name", "kind", "staff"], "site_catchments")
    table = _wgs84(site_catchments, "site_catchments")
    polygons = table[table.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()]
    if sites is not None:
        _require(sites, ["site_id"], "sites")
        where = _wgs84(sites, "sites").drop_duplicates("site_id").set_index("site_id").geometry
        points = table.drop(columns=table.geometry.name).merge(
            where.rename("geometry").reset_index(), on="site_id", how="inner"
        )
        points = gpd.GeoDataFrame(points, geometry="geometry", crs=4326)
    else:
        points = table.copy()
        poly = points.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        points.loc[poly, points.geometry.name] = points.geometry[poly].representative_point()
    points = points[points.geom_type == "Point"]
    m, created = _map(table if len(table) else points, m, tiles, attr)
    if catchments and len(polygons):
        data = _plain(
            polygons,
            {
                "name": polygons["name"],
                "kind": polygons["kind"].map(lambda k: labels.get(k, k)),
                "_fill": polygons["kind"].map(lambda k: KIND_COLORS.get(k, KIND_COLORS["other"])),
            },
        )
        folium.GeoJson(
            data,
            name=_layer_name(labels["catchments"]),
            style_function=lambda f: {
                "fillColor": f["properties"]["_fill"],
                "color": f["properties"]["_fill"],
                "weight": 1,
                "fillOpacity": 0.12,
            },
            tooltip=_tooltip(["name", "kind"], [labels["name"], labels["kind"]]),
        ).add_to(m)
    kinds = points["kind"].astype("string").fillna("other")
    staff = pd.to_numeric(points["staff"], errors="coerce").astype(float)
    radius = np.round(4.0 + 3.0 * np.sqrt(staff.fillna(0).clip(lower=0)), 2)
    present = [k for k in KIND_COLORS if (kinds == k).any()]
    present += sorted(set(kinds.dropna()) - set(present))
    for kind in present:
        rows = (kinds == kind).to_numpy(dtype=bool)
        color = KIND_COLORS.get(kind, KIND_COLORS["other"])
        group = points[rows]
        data = _plain(
            group,
            {
                "name": group["name"],
                "kind": pd.Series(labels.get(kind, kind), index=group.index),
                "staff": staff[rows],
                "_r": radius[rows],
            },
        )
        folium.GeoJson(
            data,
            name=_layer_name(f"{labels['sites']}: {labels.get(kind, kind)}"),
            marker=folium.CircleMarker(radius=5, fill=True),
            style_function=lambda f, c=color: {
                "radius": f["properties"]["_r"],
                "color": "#333333",
                "weight": 1,
                "fillColor": c,
                "fillOpacity": 0.85,
            },
            tooltip=_tooltip(
                ["name", "kind", "staff"],
                [labels["name"], labels["kind"], labels["staff"]],
            ),
        ).add_to(m)
    _legend(
        m, labels["sites"], [(labels.get(k, k), KIND_COLORS.get(k, "#7f7f7f")) for k in present]
    )
    return _finish(m, created, layer_control)


def underserved_map(
    clusters: gpd.GeoDataFrame,
    *,
    areas: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
    tiles: str | None = "OpenStreetMap",
    attr: str | None = None,
    m: folium.Map | None = None,
    min_cell: int = 10,
    layer_control: bool | None = None,
) -> folium.Map:
    """Under-served clusters, coloured by mean travel time.

    Parameters
    ----------
    clusters
        Polygons with ``cluster_id``, ``migrants``, ``mean_time_min``, ``max_time_min``.
    areas
        Community polygons (with ``district`` and ``name``) drawn as outlines with the
        names of the districts (or communities), so that the map reads without tiles.
    lang, tiles, attr, m, min_cell, layer_control
        See the module docstring; clusters below ``min_cell`` migrants are not drawn.

    Returns
    -------
    folium.Map
    """
    labels = _labels(lang)
    cols = ["cluster_id", "migrants", "mean_time_min", "max_time_min"]
    _require(clusters, cols, "underserved clusters")
    table = _wgs84(clusters, "underserved clusters")
    table = table[shown_rows(table, min_cell)]
    cmap = _colormap(table["mean_time_min"], labels["mean_time_min"], worse_high=True)
    fill = [
        cmap(v) if np.isfinite(v) else "#cccccc"
        for v in pd.to_numeric(table["mean_time_min"], errors="coerce").astype(float)
    ]
    data = _plain(table, {**{c: table[c] for c in cols}, "_fill": fill})
    m, created = _map(table if areas is None else _wgs84(areas, "areas"), m, tiles, attr)
    folium.GeoJson(
        data,
        name=_layer_name(labels["underserved"]),
        style_function=lambda f: {
            "fillColor": f["properties"]["_fill"],
            "color": "#800026",
            "weight": 1.5,
            "fillOpacity": 0.6,
        },
        tooltip=_tooltip(cols, [labels[c] for c in cols]),
    ).add_to(m)
    cmap.add_to(m)
    _outlines(m, areas, labels)
    return _finish(m, created, layer_control)


def safe_link(url: object) -> str:
    """Return ``url`` if it is an ``http``/``https`` address, else ``""`` (never a script)."""
    if not isinstance(url, str):
        return ""
    url = url.strip()
    return url if re.fullmatch(r"https?://[^\s\"'<>]+", url) else ""


def recommended_map(
    recommended_sites: gpd.GeoDataFrame,
    *,
    areas: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
    tiles: str | None = "OpenStreetMap",
    attr: str | None = None,
    m: folium.Map | None = None,
    min_cell: int = 10,
    layer_control: bool | None = None,
) -> folium.Map:
    """Recommended new service points (``recommended_sites``) as numbered, labelled circles.

    Each point is labelled with its rank and where it is (:func:`coverage.cartography.
    site_places`: its name, or the nearest named road and its community); clicking the label
    opens its ``map_link`` (a web map at the point) when the layer has one.

    Parameters
    ----------
    recommended_sites
        The ``recommended_sites`` layer (points with ``rank``, ``candidate_id``, ``name``,
        ``staff`` and ``migrants_newly_within_{t}``; ``road_name``, ``community_name`` and
        ``map_link`` when present).
    areas
        Community polygons drawn as outlines with the district (or community) names.
    lang, tiles, attr, m, min_cell, layer_control
        See the module docstring. A count of migrants newly within reach below ``min_cell``
        is not shown.

    Returns
    -------
    folium.Map
    """
    from coverage.cartography import site_places

    labels = _labels(lang)
    _require(recommended_sites, ["rank", "candidate_id", "name", "staff"], "recommended_sites")
    table = _wgs84(recommended_sites, "recommended_sites")
    newly = next((c for c in table.columns if str(c).startswith("migrants_newly_within_")), None)
    places = site_places(table, lang=lang)
    m, created = _map(table if areas is None else _wgs84(areas, "areas"), m, tiles, attr)
    _outlines(m, areas, labels)
    group = folium.FeatureGroup(name=_layer_name(labels["recommended"])).add_to(m)
    for (_, row), place in zip(table.iterrows(), places, strict=True):
        lines = [f"{labels['rank']}: {row['rank']}", f"{labels['candidate_id']}: "
                 f"{row['candidate_id']}", f"{labels['staff']}: {row['staff']:g}"]
        lines.insert(1, f"{labels['name']}: {place}")
        if newly is not None:
            n = pd.to_numeric(pd.Series([row[newly]]), errors="coerce").iloc[0]
            t = newly.removeprefix("migrants_newly_within_").removesuffix("min")
            shown = f"{int(n):,}" if np.isfinite(n) and n >= min_cell else "—"
            lines.append(f"{labels['migrants_newly_within'].format(t=t)}: {shown}")
        point = row.geometry
        folium.CircleMarker(
            location=[point.y, point.x], radius=10, color="#67000d", weight=2,
            fill=True, fill_color="#e31a1c", fill_opacity=0.9,
            tooltip=folium.Tooltip("<br>".join(html.escape(x) for x in lines)),
        ).add_to(group)
        folium.Marker(
            location=[point.y, point.x], interactive=False,
            icon=folium.DivIcon(html=f'<div style="font-weight:bold;color:white;'
                                f'transform:translate(-4px,-9px)">{int(row["rank"])}</div>'),
        ).add_to(group)
        text = html.escape(labels["recommended_place"].format(rank=int(row["rank"]),
                                                             place=place))
        link = safe_link(row.get("map_link"))
        if link:  # the label opens the point in a web map
            text = (f'<a href="{html.escape(link)}" target="_blank" rel="noopener noreferrer" '
                    f'title="{html.escape(labels["open_map"])}">{text} ↗</a>')
        folium.Marker(
            location=[point.y, point.x], interactive=bool(link),
            icon=folium.DivIcon(html=f'<div class="coverage-place" style="{_PLACE_STYLE}'
                                f'transform:translate(14px,-50%);font-size:12px">{text}</div>',
                                icon_size=(0, 0), icon_anchor=(0, 0)),
        ).add_to(group)
    _legend(m, labels["legend"], [(labels["recommended"], "#e31a1c")])
    return _finish(m, created, layer_control)


def _hotspot_classes(table: pd.DataFrame, column: str | None) -> pd.Series:
    """Class of each cell: ``column``, else ``class`` or ``hotspot``, else derived."""
    if column is None:
        column = next((c for c in ("class", "hotspot") if c in table), None)
    elif column not in table:
        _require(table, [column], "hotspots")
    if column is not None:
        return table[column].astype("string").fillna("not_significant")
    stat = next((c for c in ("gi_star", "z_score") if c in table), None)
    pcol = next((c for c in ("p_fdr", "p_value") if c in table), None)
    if stat is None or pcol is None:
        msg = "hotspots needs a class column (class or hotspot), or gi_star/z_score and "
        msg += f"p_fdr/p_value to derive it; it has: {', '.join(map(str, table.columns))}"
        raise ValueError(msg)
    from coverage.patterns.hotspots import classify

    p = pd.to_numeric(table[pcol], errors="coerce").astype(float)
    side = np.sign(pd.to_numeric(table[stat], errors="coerce").astype(float).to_numpy())
    return classify(p, side, fdr=False)["hotspot"].astype("string")


def hotspot_map(
    hotspots: gpd.GeoDataFrame,
    *,
    column: str | None = None,
    show_not_significant: bool = True,
    areas: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
    tiles: str | None = "OpenStreetMap",
    attr: str | None = None,
    m: folium.Map | None = None,
    layer_control: bool | None = None,
) -> folium.Map:
    """Getis–Ord Gi* hot and cold spots at 99, 95 and 90 % confidence.

    Parameters
    ----------
    hotspots
        Polygons (hexagons) with a class column (values in :data:`HOTSPOT_COLORS`), or a
        statistic (``gi_star`` or ``z_score``) and a p-value (``p_fdr`` or ``p_value``) to derive
        it (p ≤ 0.01, 0.05, 0.10 → 99, 95, 90 %; no further multiple-testing correction).
    column
        The class column; default ``class``, else ``hotspot`` (the ``hotspots`` layer of
        :mod:`coverage.patterns.hotspots`).
    show_not_significant
        Draw the cells that are not significant (light grey).
    areas
        Community polygons drawn as outlines with the district (or community) names.
    lang, tiles, attr, m, layer_control
        See the module docstring.

    Returns
    -------
    folium.Map
    """
    labels = _labels(lang)
    table = _wgs84(hotspots, "hotspots")
    classes = _hotspot_classes(table, column)
    unknown = sorted(set(classes) - set(HOTSPOT_COLORS))
    if unknown:
        msg = f"hot spot classes {', '.join(unknown)} are unknown; use {', '.join(HOTSPOT_COLORS)}"
        raise ValueError(msg)
    m, created = _map(table, m, tiles, attr)  # framed on every hexagon, shown or not
    if not show_not_significant:
        keep = (classes != "not_significant").to_numpy(dtype=bool)
        table, classes = table[keep], classes[keep]
        if table.empty:  # nothing significant: the map has no hot-spot layer
            return _finish(m, created, layer_control)
    columns: dict[str, pd.Series] = {
        "class": classes.map(lambda c: labels[c]),
        "_fill": classes.map(HOTSPOT_COLORS),
    }
    fields = ["class"]
    for extra in ("gi_star", "z_score"):
        if extra in table:
            columns[extra] = table[extra]
            fields.append(extra)
    data = _plain(table, columns)
    folium.GeoJson(
        data,
        name=_layer_name(labels["hotspots"]),
        style_function=lambda f: {
            "fillColor": f["properties"]["_fill"],
            "color": f["properties"]["_fill"],
            "weight": 0.3,
            "fillOpacity": 0.7,
        },
        tooltip=_tooltip(fields, [labels[c] for c in fields]),
    ).add_to(m)
    _legend(m, labels["hotspots"], [(labels[c], HOTSPOT_COLORS[c]) for c in HOTSPOT_COLORS])
    _outlines(m, areas, labels)  # over the hexagons
    return _finish(m, created, layer_control)


def inflow_map(
    inflow_trends: gpd.GeoDataFrame,
    *,
    column: str = "growth_rate",
    lang: str = "zh",
    tiles: str | None = "OpenStreetMap",
    attr: str | None = None,
    m: folium.Map | None = None,
    layer_control: bool | None = None,
) -> folium.Map:
    """Inflow growth by area, with early-warning areas outlined in red.

    Parameters
    ----------
    inflow_trends
        Polygons with ``column`` (default ``growth_rate``), and optionally
        ``projected_migrants`` and ``early_warning`` (bool).
    column
        The column to colour by.
    lang, tiles, attr, m, layer_control
        See the module docstring.

    Returns
    -------
    folium.Map
    """
    labels = _labels(lang)
    _require(inflow_trends, [column], "inflow_trends")
    table = _wgs84(inflow_trends, "inflow_trends")
    title = column_label(column, lang=lang)
    values = pd.to_numeric(table[column], errors="coerce").astype(float)
    cmap = _colormap(values, title, worse_high=True)
    fill = [cmap(v) if np.isfinite(v) else "#cccccc" for v in values.to_numpy()]
    columns: dict[str, pd.Series] = {"value": _fmt(values, column), "_fill": fill}
    fields, aliases = ["value"], [title]
    if "name" in table:
        columns = {"name": table["name"], **columns}
        fields, aliases = ["name", *fields], [labels["name"], *aliases]
    if "projected_migrants" in table:
        columns["projected_migrants"] = table["projected_migrants"].round(0)
        fields.append("projected_migrants")
        aliases.append(labels["projected_migrants"])
    warn = (
        table["early_warning"].fillna(False).to_numpy(dtype=bool)
        if "early_warning" in table
        else np.zeros(len(table), dtype=bool)
    )
    if "early_warning" in table:
        columns["early_warning"] = pd.Series(
            np.where(warn, labels["yes"], labels["no"]), index=table.index
        )
        fields.append("early_warning")
        aliases.append(labels["early_warning"])
    data = _plain(table, columns)
    m, created = _map(table, m, tiles, attr)
    folium.GeoJson(
        data,
        name=_layer_name(f"{labels['inflow']}: {title}"),
        style_function=lambda f: {
            "fillColor": f["properties"]["_fill"],
            "color": "#666666",
            "weight": 0.4,
            "fillOpacity": 0.7,
        },
        tooltip=_tooltip(fields, aliases),
    ).add_to(m)
    if warn.any():
        folium.GeoJson(
            _plain(table[warn], {"value": columns["value"][warn]}),
            name=_layer_name(labels["early_warning"]),
            style_function=lambda f: {
                "fill": False,
                "color": "#e31a1c",
                "weight": 3,
                "dashArray": "6 4",
            },
            tooltip=_tooltip(["value"], [f"{labels['early_warning']} · {title}"]),
        ).add_to(m)
    cmap.add_to(m)
    return _finish(m, created, layer_control)


def origin_flow_map(
    origin_flows: gpd.GeoDataFrame,
    *,
    origin_level: str = "province",
    dest_level: str = "district",
    top: int | None = None,
    lang: str = "zh",
    tiles: str | None = "OpenStreetMap",
    attr: str | None = None,
    m: folium.Map | None = None,
    min_cell: int = 10,
    layer_control: bool | None = None,
    place_names: bool = True,
) -> folium.Map:
    """Lines from the origin provinces to the districts (or communities), width by migrants.

    The provinces and the city are named on the map and a legend gives the line widths, so
    that the map reads without base-map tiles.

    Parameters
    ----------
    origin_flows
        The ``origin_flows`` layer (:func:`coverage.patterns.flows.origin_flows`).
    origin_level, dest_level
        The pair of levels to draw (``province``/``prefecture``, ``district``/``community``).
        Prefecture flows start at their province's representative point.
    top
        Draw only the ``top`` largest flows.
    lang, tiles, attr, m, min_cell, layer_control
        See the module docstring; flows below ``min_cell`` are not drawn, nor unknown or
        malformed origins.
    place_names
        Print the provinces' names and "this city" on the map.

    Returns
    -------
    folium.Map
    """
    from coverage.reference import load_provinces

    labels = _labels(lang)
    cols = ["origin_level", "dest_level", "origin_status", "province_code", "district", "migrants"]
    _require(origin_flows, cols, "origin_flows")
    table = origin_flows[
        (origin_flows["origin_level"] == origin_level).to_numpy(dtype=bool)
        & (origin_flows["dest_level"] == dest_level).to_numpy(dtype=bool)
        & (origin_flows["origin_status"] == "known").to_numpy(dtype=bool)
    ]
    table = _wgs84(_largest(table, min_cell, top), "origin_flows")
    name_col = "origin_name_en" if lang == "en" else "origin_name_zh"
    origin = table[name_col] if name_col in table else table["province_code"]
    dest = table["district"].astype("string")
    if dest_level == "community" and "community_name" in table:
        dest = dest + " " + table["community_name"].astype("string").fillna("")
    data = _plain(
        table,
        {
            "origin": origin,
            "destination": dest,
            "migrants": table["migrants"],
            "_w": _width(table["migrants"]),
        },
    )
    provinces = load_provinces()
    provinces = provinces[provinces["code"].isin(table["province_code"])]
    points = gpd.GeoDataFrame(
        provinces, geometry=gpd.points_from_xy(provinces["lon"], provinces["lat"]), crs=4326
    )
    m, created = _map(
        pd.concat([table[["geometry"]], points[["geometry"]]]) if len(points) else table,
        m,
        tiles,
        attr,
    )
    folium.GeoJson(
        data,
        name=_layer_name(labels["origin_flows"]),
        style_function=lambda f: {
            "color": "#d95f0e",
            "weight": f["properties"]["_w"],
            "opacity": 0.6,
        },
        tooltip=_tooltip(
            ["origin", "destination", "migrants"],
            [labels["origin"], labels["destination"], labels["migrants"]],
        ),
    ).add_to(m)
    pname = "name_en" if lang == "en" else "name_zh"
    folium.GeoJson(
        _plain(points, {"origin": points[pname]}),
        name=_layer_name(labels["origins"]),
        marker=folium.CircleMarker(radius=4, fill=True),
        style_function=lambda f: {
            "color": "#7f2704",
            "fillColor": "#fdae6b",
            "fillOpacity": 0.9,
            "weight": 1,
        },
        tooltip=_tooltip(["origin"], [labels["origin"]]),
    ).add_to(m)
    if place_names and len(table):
        ends = shapely.get_point(table.geometry.to_numpy(), -1)  # the destinations
        city = shapely.Point(float(np.mean(shapely.get_x(ends))),
                             float(np.mean(shapely.get_y(ends))))
        names = gpd.GeoDataFrame({"name": [*points[pname].astype(str), labels["this_city"]]},
                                 geometry=[*points.geometry, city], crs=4326)
        _place_names(m, names, labels, size=12,
                     anchor=["right"] * len(points) + ["below"])
    if len(table):
        _legend(m, labels["origin_flows"], [], lines=_width_legend(table["migrants"]),
                note=labels["flow_width"])
    return _finish(m, created, layer_control)


def _width_legend(values: pd.Series, *, max_px: float = 12.0) -> list[tuple[str, float]]:
    """Line samples of :func:`_width` for round numbers of migrants (largest flow first)."""
    v = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return []
    top = float(v.max())
    out = []
    for share in (1.0, 0.25, 0.04):
        n = top * share
        power = 10 ** np.floor(np.log10(n))
        n = float(np.floor(n / power) * power)
        width = 1.0 + (max_px - 1.0) * np.sqrt(n / top)
        out.append((f"{n:,.0f}", round(float(width), 1)))
    return list(dict(out).items())


def commute_map(
    commute_flows: gpd.GeoDataFrame,
    *,
    workplaces: gpd.GeoDataFrame | None = None,
    top: int | None = None,
    lang: str = "zh",
    tiles: str | None = "OpenStreetMap",
    attr: str | None = None,
    m: folium.Map | None = None,
    min_cell: int = 10,
    layer_control: bool | None = None,
) -> folium.Map:
    """Commuting corridors (home → work lines, width by migrants) and workplace clusters.

    Parameters
    ----------
    commute_flows
        The ``commute_flows`` layer (:func:`coverage.patterns.flows.commute_flows`): lines with
        ``migrants`` (and ``corridor_id``, ``home_district``, ``work_district`` if present).
    workplaces
        Workplace clusters (:func:`coverage.patterns.flows.workplace_clusters`): points with
        ``migrants``, drawn as circles (area by migrants).
    top
        Draw only the ``top`` largest corridors.
    lang, tiles, attr, m, min_cell, layer_control
        See the module docstring; rows below ``min_cell`` are not drawn.

    Returns
    -------
    folium.Map
    """
    labels = _labels(lang)
    _require(commute_flows, ["migrants"], "commute_flows")
    table = _wgs84(_largest(commute_flows, min_cell, top), "commute_flows")
    fields = [
        c
        for c in ("corridor_id", "home_district", "work_district", "migrants", "length_m")
        if c in table
    ]
    data = _plain(table, {**{c: table[c] for c in fields}, "_w": _width(table["migrants"])})
    m, created = _map(table, m, tiles, attr)
    folium.GeoJson(
        data,
        name=_layer_name(labels["commute_flows"]),
        style_function=lambda f: {
            "color": "#2c7fb8",
            "weight": f["properties"]["_w"],
            "opacity": 0.7,
        },
        tooltip=_tooltip(fields, [labels[c] for c in fields]),
    ).add_to(m)
    if workplaces is not None:
        _require(workplaces, ["migrants"], "workplaces")
        wp = _wgs84(workplaces, "workplaces")
        wp = wp[shown_rows(wp, min_cell)]
        wp = wp.assign(geometry=wp.geometry.representative_point())
        wfields = [c for c in ("cluster_id", "district", "migrants", "nearest_site_m") if c in wp]
        folium.GeoJson(
            _plain(
                wp, {**{c: wp[c] for c in wfields}, "_r": _width(wp["migrants"], max_px=20) + 2}
            ),
            name=_layer_name(labels["workplaces"]),
            marker=folium.CircleMarker(radius=5, fill=True),
            style_function=lambda f: {
                "radius": f["properties"]["_r"],
                "color": "#54278f",
                "fillColor": "#9e9ac8",
                "fillOpacity": 0.6,
                "weight": 1,
            },
            tooltip=_tooltip(wfields, [labels[c] for c in wfields]),
        ).add_to(m)
    return _finish(m, created, layer_control)
