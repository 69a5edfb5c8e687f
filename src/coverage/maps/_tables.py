"""The tables behind the web maps: checked, reprojected, filtered and made safe for the page.

Each map draws only the columns it shows, as JSON-safe values, with every text that may come
from the data HTML-escaped (:func:`escape_text`); links are kept only when they are web
addresses (:func:`safe_link`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from coverage.messages import check_lang
from coverage.publish.disclosure import shown_rows
from coverage.publish.labels import LABELS

SIMPLIFY_M = 5.0
"""Tolerance (metres) for simplifying geometries in a projected CRS before drawing them."""


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


def safe_link(url: object) -> str:
    """Return ``url`` if it is an ``http``/``https`` address, else ``""`` (never a script)."""
    if not isinstance(url, str):
        return ""
    url = url.strip()
    return url if re.fullmatch(r"https?://[^\s\"'<>]+", url) else ""
