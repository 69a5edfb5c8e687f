"""Web maps of service points: the existing sites over their catchments, and recommended sites.

Existing sites are circles coloured by kind (:data:`coverage.cartography.KIND_COLORS`), their
area by staff; recommended sites are numbered circles labelled with where they are.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.cartography import KIND_COLORS, site_places
from coverage.maps._drawing import (
    _PLACE_STYLE,
    _finish,
    _layer_name,
    _legend,
    _map,
    _outlines,
    _tooltip,
)
from coverage.maps._tables import _labels, _plain, _require, _wgs84, safe_link


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
    points = _site_points(table, sites)
    m, created = _map(table if len(table) else points, m, tiles, attr)
    if catchments and len(polygons):
        _draw_catchments(m, polygons, labels)
    present = _draw_sites(m, points, labels)
    _legend(
        m, labels["sites"], [(labels.get(k, k), KIND_COLORS.get(k, "#7f7f7f")) for k in present]
    )
    return _finish(m, created, layer_control)


def _site_points(table: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Return the sites' marker points (WGS-84): from ``sites``, else inside the catchment."""
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
    return points[points.geom_type == "Point"]


def _draw_catchments(m: folium.Map, polygons: gpd.GeoDataFrame, labels: dict[str, str]) -> None:
    """Draw the catchment polygons, faintly filled in the colour of their site's kind."""
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


def _draw_sites(m: folium.Map, points: gpd.GeoDataFrame, labels: dict[str, str]) -> list[str]:
    """Draw the sites as circles, one layer per kind; return the kinds drawn, in legend order."""
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
    return present


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
