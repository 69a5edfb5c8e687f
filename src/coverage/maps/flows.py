"""Web maps of movements: where migrants come from, and where they commute.

Flows are lines whose width grows with the square root of the migrants on them (the legend
gives the widths of round numbers); rows below the smallest cell that may be shown are not
drawn.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.maps._drawing import _finish, _layer_name, _legend, _map, _place_names, _tooltip
from coverage.maps._tables import _labels, _largest, _plain, _require, _wgs84
from coverage.publish.disclosure import shown_rows
from coverage.reference import load_provinces


def _width(values: pd.Series, *, max_px: float = 12.0) -> np.ndarray:
    v = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    top = np.nanmax(v) if len(v) and np.isfinite(v).any() else 1.0
    return np.round(1.0 + (max_px - 1.0) * np.sqrt(np.clip(v, 0, None) / top), 2)


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
        The ``origin_flows`` layer (:func:`coverage.patterns.origins.origin_flows`).
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
    labels = _labels(lang)
    table = _known_flows(origin_flows, origin_level, dest_level)
    table = _wgs84(_largest(table, min_cell, top), "origin_flows")
    points = _origin_points(table)
    m, created = _map(
        pd.concat([table[["geometry"]], points[["geometry"]]]) if len(points) else table,
        m,
        tiles,
        attr,
    )
    _draw_flow_lines(m, table, dest_level, lang, labels)
    pname = "name_en" if lang == "en" else "name_zh"
    _draw_origins(m, points, pname, labels)
    if place_names and len(table):
        _name_ends(m, table, points, pname, labels)
    if len(table):
        _legend(m, labels["origin_flows"], [], lines=_width_legend(table["migrants"]),
                note=labels["flow_width"])
    return _finish(m, created, layer_control)


def _known_flows(origin_flows: gpd.GeoDataFrame, origin_level: str,
                 dest_level: str) -> gpd.GeoDataFrame:
    """Return the flows between the two levels whose origin is known (not unknown or malformed)."""
    cols = ["origin_level", "dest_level", "origin_status", "province_code", "district", "migrants"]
    _require(origin_flows, cols, "origin_flows")
    return origin_flows[
        (origin_flows["origin_level"] == origin_level).to_numpy(dtype=bool)
        & (origin_flows["dest_level"] == dest_level).to_numpy(dtype=bool)
        & (origin_flows["origin_status"] == "known").to_numpy(dtype=bool)
    ]


def _origin_points(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the points (WGS-84) of the provinces the drawn flows come from."""
    provinces = load_provinces()
    provinces = provinces[provinces["code"].isin(table["province_code"])]
    return gpd.GeoDataFrame(
        provinces, geometry=gpd.points_from_xy(provinces["lon"], provinces["lat"]), crs=4326
    )


def _draw_flow_lines(m: folium.Map, table: gpd.GeoDataFrame, dest_level: str, lang: str,
                     labels: dict[str, str]) -> None:
    """Draw the flows as lines, width by migrants, named by origin and destination."""
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


def _draw_origins(m: folium.Map, points: gpd.GeoDataFrame, pname: str,
                  labels: dict[str, str]) -> None:
    """Draw the origin provinces as small circles named in their ``pname`` column."""
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


def _name_ends(m: folium.Map, table: gpd.GeoDataFrame, points: gpd.GeoDataFrame, pname: str,
               labels: dict[str, str]) -> None:
    """Print the provinces' names beside them and "this city" below the flows' mean end."""
    ends = shapely.get_point(table.geometry.to_numpy(), -1)  # the destinations
    city = shapely.Point(float(np.mean(shapely.get_x(ends))),
                         float(np.mean(shapely.get_y(ends))))
    names = gpd.GeoDataFrame({"name": [*points[pname].astype(str), labels["this_city"]]},
                             geometry=[*points.geometry, city], crs=4326)
    _place_names(m, names, labels, size=12,
                 anchor=["right"] * len(points) + ["below"])


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
        The ``commute_flows`` layer (:func:`coverage.patterns.commutes.commute_flows`): lines with
        ``migrants`` (and ``corridor_id``, ``home_district``, ``work_district`` if present).
    workplaces
        Workplace clusters (:func:`coverage.patterns.commutes.workplace_clusters`): points with
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
