"""Web maps of the layers drawn over areas: communities, under-served clusters, hot spots, inflow.

Each colours polygons by one value: a column of ``community_summary`` (the classes of
:func:`coverage.cartography.color_scale`, as in the PDF report), the mean travel time of an
under-served cluster, the Gi* class of a hexagon, or the inflow growth of an area.
"""

from __future__ import annotations

import branca.colormap as bcm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.cartography import HOTSPOT_COLORS, color_scale, place_labels
from coverage.maps._drawing import (
    _approximate_note,
    _district_lines,
    _finish,
    _layer_name,
    _legend,
    _map,
    _outlines,
    _place_names,
    _tooltip,
)
from coverage.maps._tables import _labels, _plain, _require, _wgs84
from coverage.publish.disclosure import shown_rows
from coverage.publish.labels import column_label


def _fmt(values: pd.Series, column: str) -> pd.Series:
    """Display text of a numeric column (shares as percentages)."""
    num = pd.to_numeric(values, errors="coerce").astype(float)
    if column.startswith("coverage") or column in ("growth_rate", "share"):
        text = (num * 100).round(1).astype(str) + " %"
    else:
        text = num.round(2).astype(str)
    return text.where(num.notna(), "—")


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
    # Lazy: the hot spots' module loads scipy.stats, slow to load and needed only here, for a
    # table without its classes.
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
