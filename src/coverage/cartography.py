"""What every map shares, whichever library draws it: colour classes, place labels, scale bars.

The interactive maps (:mod:`coverage.maps`, folium), the static maps of the PDF report
(:mod:`coverage.report.figures`, matplotlib) and the notebooks take their colours from
:func:`color_scale`, so that one community has the same colour, and one legend the same
classes, in every output:

* **coverage gaps** (``coverage_gap_*``: registered residents' share minus migrants') diverge
  around zero with fixed classes in percentage points: a grey middle class for "no real gap"
  (within ±1 point), red where migrants are worse off, blue where they are better off;
* **coverage shares** (``coverage_*``) have fixed classes (below 50 %, 50–70, 70–85, 85–95,
  95 % and more), the same in every city and district;
* **other measures** (staff per 1,000 people, accessibility scores, shortfalls ...) have
  quantile classes (five by default, each holding about as many areas), so that one outlier
  does not wash the map out; the legend says so.

:data:`KIND_COLORS` colours the service points by kind and :data:`HOTSPOT_COLORS` the hot spot
classes, on every map alike. :func:`place_labels` names the districts (or, within one district,
the communities) at a point inside each; :func:`site_places` says in words where a service point
is; :func:`scale_bar_length` picks a round length for a scale bar. Nothing here draws, and this
module imports nothing of the library but the message catalogue: the published labels
(:mod:`coverage.publish.labels`) hand its colours and words on to the web app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.messages import catalogue, check_lang, column_label

__all__ = ["GAP_EDGES", "HOTSPOT_COLORS", "KIND_COLORS", "MISSING_COLOR", "SHARE_EDGES",
           "ColorScale", "color_scale", "place_labels", "scale_bar_length", "site_places"]

#: Class boundaries of a coverage gap (shares; ±1, ±5 and ±15 percentage points).
GAP_EDGES = (-np.inf, -0.15, -0.05, -0.01, 0.01, 0.05, 0.15, np.inf)
#: Class boundaries of a coverage share.
SHARE_EDGES = (0.0, 0.5, 0.7, 0.85, 0.95, np.inf)

# ColorBrewer palettes, low class first
_DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f0f0f0", "#fddbc7", "#ef8a62", "#b2182b")
_BETTER_HIGH = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")  # YlGnBu
_WORSE_HIGH = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")  # YlOrRd
_WORSE_IS_HIGHER = ("shortfall", "unreachable", "time")
MISSING_COLOR = "#d9d9d9"
"""Colour of areas without a value (suppressed or not computed)."""

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


@dataclass(frozen=True)
class ColorScale:
    """Colour classes of one choropleth.

    Attributes
    ----------
    edges
        Class boundaries, ascending (``len(colors) + 1``; the first may be ``-inf``, the last
        ``inf``). A value ``v`` is in class ``i`` when ``edges[i] <= v < edges[i + 1]``.
    colors
        Fill colour of each class (hex).
    labels
        Legend text of each class.
    title
        Legend title (the column's label).
    note
        How the classes were made, printed under the legend.
    center
        The value the scale diverges around (``0`` for gaps), else ``None``.
    """

    edges: tuple[float, ...]
    colors: tuple[str, ...]
    labels: tuple[str, ...]
    title: str
    note: str = ""
    center: float | None = None
    missing: str = MISSING_COLOR

    def classify(self, values: object) -> np.ndarray:
        """Return the class of each value (``-1`` where it is missing)."""
        v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float,
                                                                        na_value=np.nan)
        inner = np.asarray(self.edges[1:-1], dtype=float)
        out = np.searchsorted(inner, v, side="right")
        out[~np.isfinite(v)] = -1
        return out

    def colors_of(self, values: object) -> list[str]:
        """Return the fill colour of each value (:attr:`missing` where it is missing)."""
        palette = [*self.colors, self.missing]
        return [palette[i] for i in self.classify(values)]

    def items(self) -> list[tuple[str, str]]:
        """Legend entries: (text, colour) of each class."""
        return list(zip(self.labels, self.colors, strict=True))


def _pick(palette: tuple[str, ...], n: int) -> tuple[str, ...]:
    if n >= len(palette):
        return palette
    index = np.round(np.linspace(0, len(palette) - 1, n)).astype(int)
    return tuple(palette[i] for i in index)


def _digits(values: np.ndarray) -> int:
    """Decimals that tell class boundaries apart (2 for typical values below 10, 0 above 100)."""
    finite = np.abs(values[np.isfinite(values)])
    typical = float(np.median(finite)) if len(finite) else 1.0
    return 2 if typical < 10 else 1 if typical < 100 else 0


def _number(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def _gap_scale(title: str, m: dict[str, str]) -> ColorScale:
    labels = []
    for lo, hi in pairwise(GAP_EDGES):
        a, b = (f"{100 * x:+g}".replace("-", "−") for x in (lo, hi))
        if np.isinf(lo):
            labels.append(m["class_below"].format(b=b, unit=m["unit_pp"]))
        elif np.isinf(hi):
            labels.append(m["class_at_least"].format(a=a, unit=m["unit_pp"]))
        elif lo < 0 < hi:
            labels.append(m["class_no_gap"].format(a=a, b=b, unit=m["unit_pp"]))
        else:
            labels.append(m["class_range"].format(a=a, b=b, unit=m["unit_pp"]))
    return ColorScale(GAP_EDGES, _DIVERGING, tuple(labels), title, m["scale_note_gap"],
                      center=0.0)


def _share_scale(title: str, m: dict[str, str]) -> ColorScale:
    labels = []
    for lo, hi in pairwise(SHARE_EDGES):
        a, b = f"{100 * lo:g}", f"{100 * hi:g}"
        if lo == 0:
            labels.append(m["class_below"].format(b=b, unit="%"))
        elif np.isinf(hi):
            labels.append(m["class_at_least"].format(a=a, unit="%"))
        else:
            labels.append(m["class_range"].format(a=a, b=b, unit="%"))
    return ColorScale(SHARE_EDGES, _BETTER_HIGH, tuple(labels), title,
                      m["scale_note_share"])


def _quantile_scale(values: np.ndarray, title: str, m: dict[str, str], *, classes: int,
                    worse_high: bool) -> ColorScale:
    finite = values[np.isfinite(values)]
    palette = _WORSE_HIGH if worse_high else _BETTER_HIGH
    if len(finite) == 0:
        return ColorScale((-np.inf, np.inf), (palette[0],), (m["class_none"],), title)
    digits = _digits(finite)
    cuts = np.quantile(finite, np.linspace(0, 1, classes + 1))
    # boundaries as shown, so that a value and its legend class always agree
    cuts = np.unique(np.round(cuts, digits))
    if len(cuts) < 2:
        only = _number(float(cuts[0]), digits)
        return ColorScale((-np.inf, np.inf), (palette[-1],), (only,), title)
    inner = tuple(float(c) for c in cuts[1:-1])
    edges = (-np.inf, *inner, np.inf)
    shown = [float(finite.min()), *inner, float(finite.max())]
    labels = tuple(m["class_range"].format(a=_number(lo, digits), b=_number(hi, digits),
                                           unit="")
                   for lo, hi in pairwise(shown))
    n = len(labels)
    return ColorScale(edges, _pick(palette, n), labels, title,
                      m["scale_note_quantiles"].format(n=n))


def color_scale(column: str, values: object, *, lang: str = "zh", title: str | None = None,
                classes: int = 5) -> ColorScale:
    """Return the colour classes of a choropleth of ``column`` (the one place that decides).

    Parameters
    ----------
    column
        Result column, e.g. ``coverage_gap_15min``, ``coverage_15min_migrant``,
        ``staff_per_1000_total``.
    values
        The values drawn (published values; suppressed ones missing). Only quantile classes
        depend on them; gaps and shares have fixed classes.
    lang
        ``zh`` or ``en`` (legend texts).
    title
        Legend title (default: the column's label, :func:`coverage.messages.column_label`).
    classes
        Number of quantile classes.

    Returns
    -------
    ColorScale
    """
    m = catalogue("maps", check_lang(lang))
    if title is None:
        title = column_label(column, lang=lang)
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float,
                                                                    na_value=np.nan)
    if re.fullmatch(r"coverage_gap_.*", column):
        return _gap_scale(title, m)
    if column.startswith("coverage_"):
        return _share_scale(title, m)
    worse_high = any(w in column for w in _WORSE_IS_HIGHER)
    return _quantile_scale(v, title, m, classes=classes, worse_high=worse_high)


def place_labels(areas: gpd.GeoDataFrame, *, level: str | None = None) -> gpd.GeoDataFrame:
    """Return the names to print on a map of ``areas`` and a point inside each.

    Parameters
    ----------
    areas
        Community polygons with ``district`` (and ``name``).
    level
        ``district`` (one label per district, at a point inside the district's union) or
        ``community`` (one per community). Default: districts when ``areas`` holds more than
        one, else communities.

    Returns
    -------
    geopandas.GeoDataFrame
        ``name`` and a point geometry, in the CRS of ``areas``.
    """
    empty = gpd.GeoDataFrame({"name": pd.Series(dtype=object)}, geometry=[], crs=areas.crs)
    if not len(areas):
        return empty
    if level is None:
        many = "district" in areas and areas["district"].nunique() > 1
        level = "district" if many or "name" not in areas else "community"
    if level == "district":
        if "district" not in areas:
            return empty
        shapes = areas[["district", areas.geometry.name]].dissolve(by="district")
        names = shapes.index.astype(str).to_numpy()
        points = shapes.geometry.representative_point().to_numpy()
    else:
        names = areas["name"].astype(str).to_numpy()
        points = areas.geometry.representative_point().to_numpy()
    return gpd.GeoDataFrame({"name": names}, geometry=points, crs=areas.crs)


def _text(values: pd.Series | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, "", dtype=object)
    out = values.astype("string").fillna("").str.strip().to_numpy(dtype=object)
    return out


def site_places(sites: pd.DataFrame, *, lang: str = "zh") -> pd.Series:
    """Return where each site is, in words that find it on the ground.

    A named site is given with its community ("兴湾村旧址（白基社区）"); an unnamed one as
    near its nearest named road in its community ("白基社区东城路附近" / "near Dongcheng Road,
    Baiji"), in its community when no road is named, and by its candidate id when nothing
    else is known (results written before roads and communities were recorded). The English
    texts carry their preposition ("at ...", "near ...", "in ..."), so that they follow a
    verb: "Open a service point near Dongcheng Road, Baiji".

    Parameters
    ----------
    sites
        Sites with any of ``name``, ``road_name``, ``community_name`` and ``candidate_id``
        (or ``site_id``); missing columns are taken as empty.
    lang
        ``zh`` or ``en``.

    Returns
    -------
    pandas.Series
        Text on the index of ``sites``.
    """
    m = catalogue("maps", check_lang(lang))
    n = len(sites)
    name = _text(sites.get("name"), n)
    road = _text(sites.get("road_name"), n)
    comm = _text(sites.get("community_name"), n)
    ident = _text(sites.get("candidate_id", sites.get("site_id")), n)
    out = []
    for nm, rd, cm, i in zip(name, road, comm, ident, strict=True):
        if nm:
            out.append(m["place_named"].format(name=nm, community=cm) if cm
                       else m["place_name"].format(name=nm))
        elif rd and cm:
            out.append(m["place_near_road"].format(road=rd, community=cm))
        elif rd:
            out.append(m["place_road"].format(road=rd))
        elif cm:
            out.append(m["place_community"].format(community=cm))
        else:
            out.append(m["place_candidate"].format(id=i))
    return pd.Series(out, index=sites.index, dtype=object)


def scale_bar_length(width_m: float, *, fraction: float = 0.2) -> float:
    """Return a round length (1, 2 or 5 × 10ⁿ metres) near ``fraction`` of ``width_m``."""
    target = max(float(width_m) * fraction, 1.0)
    power = 10 ** np.floor(np.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return float(step * power)
    return float(power)
