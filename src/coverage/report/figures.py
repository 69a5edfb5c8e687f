"""Static figures of a report (matplotlib): maps for the PDF, the quarterly chart, shares by city.

Every map reads without base-map tiles: community outlines (district boundaries heavier), the
names of the districts (of the communities, in a district report) and of the recommended
sites, a scale bar and a legend. Choropleth classes come from
:func:`coverage.cartography.color_scale`, as in the HTML report's interactive maps.

Chinese text needs a CJK font. :func:`cjk_font` finds one (``COVERAGE_CJK_FONT``, then the
Noto CJK fonts that Debian's ``fonts-noto-cjk`` installs, then any font fontconfig knows for
Chinese) and the same file is used by matplotlib and by the PDF (:mod:`coverage.report.pdf`).
Without one, matplotlib's warnings about each missing glyph are silenced: the report says once
that a font is missing (:mod:`coverage.report.pdf`).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import textwrap
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl

mpl.use("Agg")  # no screen: render to files only
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager, patheffects
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from shapely import Point

from coverage.cartography import (
    HOTSPOT_COLORS,
    color_scale,
    place_labels,
    scale_bar_length,
    site_places,
)
from coverage.messages import catalogue
from coverage.publish.disclosure import shown_rows
from coverage.publish.labels import column_label
from coverage.reference import load_provinces

__all__ = ["FontMissingError", "chart_svg", "cjk_font", "map_png", "png", "quarter_chart",
           "share_bars"]

_CANDIDATES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
               "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC")


class FontMissingError(RuntimeError):
    """No font with Chinese characters is installed."""


@cache
def cjk_font() -> tuple[Path, str]:
    """Return the file and family name of a CJK font, or raise :class:`FontMissingError`."""
    env = os.environ.get("COVERAGE_CJK_FONT")
    if env:
        path = Path(env)
        if not path.is_file():
            msg = f"COVERAGE_CJK_FONT={env} is not a file"
            raise FontMissingError(msg)
        font_manager.fontManager.addfont(str(path))
        return path, font_manager.FontProperties(fname=str(path)).get_name()
    if shutil.which("fc-match"):
        for family in _CANDIDATES:
            out = subprocess.run(["fc-match", "-f", "%{file}\t%{family}", f"{family}:lang=zh"],
                                 capture_output=True, text=True, check=False).stdout
            file, _, families = out.partition("\t")
            if file and any(family.lower() == f.strip().lower() for f in families.split(",")):
                font_manager.fontManager.addfont(file)
                return Path(file), font_manager.FontProperties(fname=file).get_name()
    for entry in font_manager.fontManager.ttflist:
        if entry.name in _CANDIDATES or "CJK" in entry.name:
            return Path(entry.fname), entry.name
    raise FontMissingError(catalogue("report", "en")["pdf_no_font"])


def _font_family() -> list[str]:
    try:
        return [cjk_font()[1], "DejaVu Sans"]
    except FontMissingError:
        return ["DejaVu Sans"]


@contextmanager
def _drawing() -> Iterator[None]:
    """Draw with the CJK font, without matplotlib's warning for every glyph it lacks."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        with mpl.rc_context({"font.family": _font_family(), "axes.unicode_minus": False}):
            yield


def png(fig: plt.Figure) -> bytes:
    """Return a figure as PNG bytes (150 dpi) and close it."""
    buf = io.BytesIO()
    with _drawing():
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def chart_svg(fig: plt.Figure) -> str:
    """Return a figure as inline SVG whose text stays text (the browser's fonts draw it)."""
    buf = io.StringIO()
    with _drawing(), mpl.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def quarter_chart(table: pd.DataFrame, title: str, *, lang: str = "zh") -> plt.Figure:
    """Line chart of the indicators' published shares by quarter (targets dotted).

    ``table`` holds ``quarter``, ``indicator_name`` (the legend), ``value`` and ``target``.
    The legend sits under the plot, where it covers no line.
    """
    texts = catalogue("report", lang)
    with _drawing():
        fig, ax = plt.subplots(figsize=(8, 4.2))
        handles = []
        for i, (name, rows) in enumerate(table.groupby("indicator_name", sort=False)):
            color = plt.cm.tab10(i % 10)
            values = pd.to_numeric(rows["value"], errors="coerce").astype(float)
            (line,) = ax.plot(rows["quarter"].astype(str), values * 100, marker="o",
                              color=color, label=name)
            handles.append(line)
            ax.axhline(float(rows["target"].iloc[0]) * 100, color=color, ls=":", lw=0.9)
        handles.append(Line2D([], [], color="#555", ls=":", lw=0.9,
                              label=texts["chart_target_line"]))
        ax.set_ylabel(texts["chart_share_pct"])
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(handles=handles, fontsize=7.5, loc="upper center", ncol=3,
                  bbox_to_anchor=(0.5, -0.1), frameon=False)
        fig.tight_layout()
    return fig


#: Colours of the series of :func:`share_bars`: migrants first, then registered residents.
_BAR_COLORS = ("#2c7fb8", "#a6bddb", "#fdae6b", "#756bb1")


def share_bars(names: list[str], shares: dict[str, list[float]], *, title: str, xlabel: str,
               missing: str, mark: str = "—", total: bool = False) -> plt.Figure:
    """Horizontal bars of shares (0–1): one group per name, top to bottom, one bar per series.

    Each bar is labelled with its percentage; a share not published (missing) has no bar and
    is labelled ``mark``, which ``missing`` explains in the legend, above the plot with the
    series' names. With ``total``, the last group (a total) is set apart by a line.
    """
    n, k = len(names), max(len(shares), 1)
    height = 0.8 / k
    with _drawing():
        fig, ax = plt.subplots(figsize=(8, 1.4 + 0.22 * n * k))
        y = np.arange(n)
        for j, (series, values) in enumerate(shares.items()):
            v = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
            pos = y + (j - (k - 1) / 2) * height
            ax.barh(pos, np.nan_to_num(v) * 100, height=height * 0.92, label=series,
                    color=_BAR_COLORS[j % len(_BAR_COLORS)])
            for p, value in zip(pos, v, strict=True):
                shown = not np.isnan(value)
                ax.text(value * 100 + 0.8 if shown else 0.8, p,
                        f"{value:.1%}" if shown else mark, va="center", fontsize=7,
                        color="#333" if shown else "#999")
        if total and n > 1:
            ax.axhline(n - 1.5, color="#888", lw=0.7)
        ax.set_yticks(y, ["\n".join(textwrap.wrap(name, 22, break_long_words=False))
                          for name in names], fontsize=8)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(0, 112)
        ax.set_xticks(range(0, 101, 20))
        ax.set_xlabel(xlabel)
        ax.set_title(title, pad=24)
        ax.grid(axis="x", alpha=0.3)
        handles = [*ax.get_legend_handles_labels()[0],
                   Patch(facecolor="none", edgecolor="none", label=missing)]
        ax.legend(handles=handles, fontsize=7.5, loc="lower center", frameon=False,
                  ncol=len(handles), bbox_to_anchor=(0.5, 1.0), borderaxespad=0.2)
        fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------
# maps

#: Albers equal-area projection for China (origin flows span the country).
CHINA_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m"
_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


def _wrap(text: str, width: int = 30) -> str:
    """Wrap a legend note: Chinese after its punctuation, then by characters; else by words."""
    if not any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "\n".join(textwrap.wrap(text, width))
    lines, step = [], 2 * width // 3  # a Chinese character is about two Latin letters wide
    for clause in re.split(r"(?<=[；，。])|(?=（)", text):
        lines += [clause[i:i + step] for i in range(0, len(clause), step)]
    return "\n".join(line for line in lines if line)


def _legend(ax: plt.Axes, handles: list, title: str, note: str = "") -> None:
    """Put a legend right of the map, its title and note left-aligned."""
    if not handles:
        return
    head = title if not note else f"{title}\n{_wrap(note)}"
    leg = ax.legend(handles=handles, title=head, fontsize=7.5, title_fontsize=8,
                    loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False,
                    alignment="left")
    leg.get_title().set_multialignment("left")


def _outlines(ax: plt.Axes, areas: gpd.GeoDataFrame | None, crs: object, *,
              fill: bool = False, communities: bool = True) -> None:
    """Draw community outlines, district boundaries heavier (when there are several)."""
    if areas is None or not len(areas):
        return
    areas = areas.to_crs(crs)
    if fill:
        areas.plot(ax=ax, color="#f7f7f7", edgecolor="none")
    if communities:
        areas.boundary.plot(ax=ax, color="#9a9a9a", linewidth=0.35)
    if "district" in areas and areas["district"].nunique() > 1:
        areas[["district", areas.geometry.name]].dissolve(by="district").boundary.plot(
            ax=ax, color="#444", linewidth=0.9)


def _names(ax: plt.Axes, areas: gpd.GeoDataFrame | None, crs: object) -> None:
    """Names of the districts (of the communities, within one district), haloed."""
    if areas is None or not len(areas):
        return
    places = place_labels(areas.to_crs(crs))
    size = 9 if areas["district"].nunique() > 1 else 6.5
    for name, point in zip(places["name"], places.geometry, strict=True):
        ax.text(point.x, point.y, str(name), ha="center", va="center", fontsize=size,
                fontweight="bold", color="#222", path_effects=_HALO, zorder=6)


def _scale_bar(ax: plt.Axes, lang: str) -> None:
    """Draw a scale bar in the lower left (the axes are in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = scale_bar_length(x1 - x0)
    m = catalogue("maps", lang)
    text = (m["scale_km"].format(n=f"{length / 1000:g}") if length >= 1000
            else m["scale_m"].format(n=f"{length:g}"))
    left, bottom = x0 + 0.03 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    height = 0.012 * (y1 - y0)
    for k, color in enumerate(("#222", "white")):
        ax.add_patch(Rectangle((left + k * length / 2, bottom), length / 2, height,
                               facecolor=color, edgecolor="#222", linewidth=0.6, zorder=7))
    ax.text(left + length / 2, bottom + 2.2 * height, text, ha="center", va="bottom",
            fontsize=7.5, path_effects=_HALO, zorder=7)


def map_png(kind: str, layer: gpd.GeoDataFrame, *, column: str | None, title: str,
            lang: str, background: gpd.GeoDataFrame | None = None, min_cell: int = 10
            ) -> bytes:
    """Render one report map as a PNG (the PDF's counterpart of the interactive maps).

    Parameters
    ----------
    kind
        ``community``, ``underserved``, ``hotspots``, ``recommended`` or ``origins``.
    layer
        The published layer.
    column
        Column shaded (``community``).
    title
        Caption drawn above the map.
    lang
        ``zh`` or ``en`` (legend texts).
    background
        Community polygons drawn as outlines, with the names of the districts (or of the
        communities in a one-district map).
    min_cell
        Units of fewer people are left blank.
    """
    labels = catalogue("maps", lang)
    with _drawing():
        fig, ax = plt.subplots(figsize=(9, 5.8))
        ax.set_axis_off()
        ax.set_aspect("equal")
        if title:
            ax.set_title(title, fontsize=11)
        if kind == "origins":
            _origins(ax, layer, background, lang)
            return png(fig)
        crs = layer.crs if background is None else background.crs
        if kind == "community":
            _community(ax, layer, column or "", lang, min_cell)
            _outlines(ax, layer, crs, communities=False)  # the districts' boundaries
        elif kind == "underserved":
            _outlines(ax, background, crs, fill=True)
            if len(layer):
                layer.to_crs(crs).plot(ax=ax, color="#d7301f", alpha=0.6, edgecolor="#7f0000",
                                       linewidth=0.6, zorder=3)
            _legend(ax, [Patch(facecolor="#d7301f", alpha=0.6, edgecolor="#7f0000",
                               label=labels["underserved"])], labels["legend"])
        elif kind == "hotspots":
            _hotspots(ax, layer.to_crs(crs), labels)
            _outlines(ax, background, crs)
        elif kind == "recommended":
            _outlines(ax, background, crs, fill=True)
            _recommended(ax, layer.to_crs(crs), labels, lang)
        else:
            msg = f"unknown map kind {kind!r}"
            raise ValueError(msg)
        _names(ax, background if background is not None else
               (layer if kind == "community" else None), crs)
        _scale_bar(ax, lang)
        return png(fig)


def _community(ax: plt.Axes, layer: gpd.GeoDataFrame, column: str, lang: str,
               min_cell: int) -> None:
    labels = catalogue("maps", lang)
    values = pd.to_numeric(layer[column], errors="coerce").astype(float)
    shown = values.notna() & (pd.to_numeric(layer["migrants"], errors="coerce") >= min_cell)
    values = values.where(shown)
    scale = color_scale(column, values, lang=lang)
    colors = scale.colors_of(values)
    drawn = layer.assign(_c=colors)
    if shown.any():
        drawn[shown.to_numpy()].plot(ax=ax, color=drawn.loc[shown.to_numpy(), "_c"].tolist(),
                                     edgecolor="white", linewidth=0.3)
    handles = [Patch(facecolor=c, edgecolor="#888", linewidth=0.4, label=t)
               for t, c in scale.items()]
    if (~shown).any():
        layer[~shown.to_numpy()].plot(ax=ax, color=scale.missing, edgecolor="white",
                                      linewidth=0.3, hatch="///")
        handles.append(Patch(facecolor=scale.missing, edgecolor="#888", hatch="///",
                             linewidth=0.4, label=labels["suppressed"].format(n=min_cell)))
    _legend(ax, handles, column_label(column, lang=lang), scale.note)


def _hotspots(ax: plt.Axes, layer: gpd.GeoDataFrame, labels: dict[str, str]) -> None:
    column = next((c for c in ("class", "hotspot") if c in layer.columns), None)
    if column is None or not len(layer):
        return
    classes = layer[column].astype(str)
    handles = []
    for name, color in HOTSPOT_COLORS.items():
        sel = classes == name
        if sel.any():
            layer[sel.to_numpy()].plot(ax=ax, color=color, edgecolor="none")
            handles.append(Patch(facecolor=color, edgecolor="#888", linewidth=0.4,
                                 label=labels.get(name, name)))
    _legend(ax, handles, labels["hotspots"])


def _recommended(ax: plt.Axes, layer: gpd.GeoDataFrame, labels: dict[str, str],
                 lang: str) -> None:
    if not len(layer):
        return
    layer.plot(ax=ax, color="#d7301f", marker="*", markersize=260, edgecolor="black",
               linewidth=0.5, zorder=5)
    places = site_places(layer, lang=lang)
    handles = []
    for x, y, rank, place in zip(layer.geometry.x, layer.geometry.y, layer["rank"], places,
                                 strict=True):
        ax.annotate(str(rank), (x, y), xytext=(7, 5), textcoords="offset points", fontsize=10,
                    fontweight="bold", path_effects=_HALO, zorder=8)
        handles.append(Line2D([], [], marker="*", color="#d7301f", markeredgecolor="black",
                              markersize=11, ls="none",
                              label=labels["recommended_place"].format(rank=rank, place=place)))
    _legend(ax, handles, labels["recommended"])


def _origins(ax: plt.Axes, layer: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None,
             lang: str) -> None:
    """Flow lines from the provinces to the city, in an equal-area projection of China."""
    labels = catalogue("maps", lang)
    if not len(layer):
        return
    data = layer[shown_rows(layer[["suppressed"]])].to_crs(CHINA_ALBERS)
    migrants = pd.to_numeric(data["migrants"], errors="coerce").fillna(0).to_numpy(float)
    top = max(float(migrants.max()), 1.0) if len(migrants) else 1.0
    data.plot(ax=ax, linewidth=0.4 + 5 * np.sqrt(migrants / top), color="#d95f0e", alpha=0.6)
    provinces = load_provinces()
    provinces = provinces[provinces["code"].isin(data.get("province_code", []))]
    points = gpd.GeoDataFrame(provinces, crs=4326, geometry=gpd.points_from_xy(
        provinces["lon"], provinces["lat"])).to_crs(CHINA_ALBERS)
    points.plot(ax=ax, color="#fdae6b", edgecolor="#7f2704", markersize=18, zorder=4)
    pname = "name_zh" if lang == "zh" else "name_en"
    for name, point in zip(points[pname], points.geometry, strict=True):
        ax.annotate(str(name), (point.x, point.y), xytext=(4, 3), textcoords="offset points",
                    fontsize=8, path_effects=_HALO, zorder=6)
    if areas is not None and len(areas):
        city = areas.to_crs(CHINA_ALBERS)
        city.dissolve().plot(ax=ax, color="#444", edgecolor="#222", linewidth=0.5, zorder=5)
        where = city.union_all().representative_point()
    else:
        ends = data.geometry.apply(lambda g: g.coords[-1])
        where = Point(np.mean([e[0] for e in ends]), np.mean([e[1] for e in ends]))
    ax.annotate(labels["this_city"], (where.x, where.y), xytext=(6, -10),
                textcoords="offset points", fontsize=9, fontweight="bold", path_effects=_HALO,
                zorder=6)
    handles = []
    for n in _round_flows(top):
        handles.append(Line2D([], [], color="#d95f0e", alpha=0.6,
                              lw=0.4 + 5 * np.sqrt(n / top), label=f"{n:,.0f}"))
    _legend(ax, handles, labels["origin_flows"], labels["flow_width"])
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    pad = 0.08 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    _scale_bar(ax, lang)


def _round_flows(top: float) -> list[float]:
    """Round numbers of migrants for the line-width legend (largest first)."""
    out = []
    for share in (1.0, 0.25, 0.04):
        n = top * share
        power = 10 ** np.floor(np.log10(max(n, 1.0)))
        out.append(float(np.floor(n / power) * power))
    return list(dict.fromkeys(v for v in out if v > 0))
