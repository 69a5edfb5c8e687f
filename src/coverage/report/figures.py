"""Static figures of a report (matplotlib): maps for the PDF and the quarterly chart.

Chinese text needs a CJK font. :func:`cjk_font` finds one (``COVERAGE_CJK_FONT``, then the
Noto CJK fonts that Debian's ``fonts-noto-cjk`` installs, then any font fontconfig knows for
Chinese) and the same file is used by matplotlib and by the PDF (:mod:`coverage.report.pdf`).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl

mpl.use("Agg")  # no screen: render to files only
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager

from coverage.disclosure import shown_rows
from coverage.maps import HOTSPOT_COLORS, column_label
from coverage.messages import catalogue

__all__ = ["FontMissingError", "chart_svg", "cjk_font", "map_png", "png", "quarter_chart"]

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


def png(fig: plt.Figure) -> bytes:
    """Return a figure as PNG bytes (150 dpi) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def chart_svg(fig: plt.Figure) -> str:
    """Return a figure as inline SVG whose text stays text (the browser's fonts draw it)."""
    buf = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def quarter_chart(table: pd.DataFrame, title: str) -> plt.Figure:
    """Line chart of the indicators' published shares by quarter (targets dashed).

    ``table`` holds ``quarter``, ``indicator_name`` (the legend), ``value`` and ``target``.
    """
    with mpl.rc_context({"font.family": _font_family(), "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=(8, 3.6))
        for i, (name, rows) in enumerate(table.groupby("indicator_name", sort=False)):
            color = plt.cm.tab10(i % 10)
            values = pd.to_numeric(rows["value"], errors="coerce").astype(float)
            ax.plot(rows["quarter"].astype(str), values * 100, marker="o", color=color,
                    label=name)
            ax.axhline(float(rows["target"].iloc[0]) * 100, color=color, ls=":", lw=0.8)
        ax.set_ylabel("%")
        ax.set_title(title)
        ax.legend(fontsize=7, loc="lower left", ncol=2)
        ax.grid(alpha=0.3)
        fig.tight_layout()
    return fig


def _base(background: gpd.GeoDataFrame | None, ax: plt.Axes, crs: object) -> None:
    if background is not None and len(background):
        background.to_crs(crs).boundary.plot(ax=ax, color="#999", linewidth=0.4)


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
        Areas drawn as grey outlines under the layer.
    min_cell
        Units of fewer people are left blank.
    """
    labels = catalogue("maps", lang)
    with mpl.rc_context({"font.family": _font_family(), "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=(8, 6.2))
        ax.set_axis_off()
        ax.set_title(title, fontsize=11)
        crs = layer.crs if kind != "origins" else "EPSG:4326"
        if kind == "community":
            _community(ax, layer, column or "", lang, min_cell)
        elif kind == "underserved":
            _base(background, ax, crs)
            if len(layer):
                layer.plot(ax=ax, color="#d7301f", alpha=0.6, edgecolor="#7f0000", linewidth=0.6)
        elif kind == "hotspots":
            _hotspots(ax, layer, labels)
        elif kind == "recommended":
            _base(background, ax, crs)
            if len(layer):
                layer.plot(ax=ax, color="#d7301f", marker="*", markersize=260,
                           edgecolor="black", linewidth=0.5, zorder=3)
                for x, y, r in zip(layer.geometry.x, layer.geometry.y, layer["rank"],
                                   strict=True):
                    ax.annotate(str(r), (x, y), xytext=(6, 6), textcoords="offset points",
                                fontsize=9)
        elif kind == "origins":
            _origins(ax, layer, lang)
        else:
            msg = f"unknown map kind {kind!r}"
            raise ValueError(msg)
        return png(fig)


def _community(ax: plt.Axes, layer: gpd.GeoDataFrame, column: str, lang: str,
               min_cell: int) -> None:
    values = pd.to_numeric(layer[column], errors="coerce").astype(float)
    shown = values.notna() & (pd.to_numeric(layer["migrants"], errors="coerce") >= min_cell)
    layer[~shown].plot(ax=ax, color="#eeeeee", edgecolor="#bbb", linewidth=0.3, hatch="///")
    if shown.any():
        pct = column.startswith("coverage")
        data = layer[shown].assign(_v=values[shown] * (100 if pct else 1))
        extra = {}
        if "gap" in column:  # diverging around "no gap"; red where migrants are worse off
            from matplotlib.colors import TwoSlopeNorm

            v = data["_v"].to_numpy(float)
            lim = max(float(np.nanmax(np.abs(v))), 1e-9)
            extra = {"cmap": "RdBu_r", "norm": TwoSlopeNorm(0.0, -lim, lim)}
        else:
            worse_high = "shortfall" in column
            extra = {"cmap": "OrRd" if worse_high else "YlGnBu"}
        data.plot(ax=ax, column="_v", legend=True, edgecolor="white", linewidth=0.3, **extra,
                  legend_kwds={"shrink": 0.6,
                               "label": column_label(column, lang=lang) + (" (%)" if pct else "")})


def _hotspots(ax: plt.Axes, layer: gpd.GeoDataFrame, labels: dict[str, str]) -> None:
    from matplotlib.patches import Patch

    column = next((c for c in ("class", "hotspot") if c in layer.columns), None)
    if column is None or not len(layer):
        return
    classes = layer[column].astype(str)
    handles = []
    for name, color in HOTSPOT_COLORS.items():
        sel = classes == name
        if sel.any():
            layer[sel.to_numpy()].plot(ax=ax, color=color, edgecolor="none")
            handles.append(Patch(color=color, label=labels.get(name, name)))
    ax.legend(handles=handles, fontsize=7, loc="lower left")


def _origins(ax: plt.Axes, layer: gpd.GeoDataFrame, lang: str) -> None:
    if not len(layer):
        return
    data = layer[shown_rows(layer[["suppressed"]])].to_crs(4326)
    migrants = pd.to_numeric(data["migrants"], errors="coerce").fillna(0).to_numpy(float)
    width = 0.4 + 5 * np.sqrt(migrants / max(migrants.max(), 1))
    data.plot(ax=ax, linewidth=width, color="#2c7fb8", alpha=0.6)
    name = "origin_name_zh" if lang == "zh" else "origin_name_en"
    per_origin = data.assign(_m=migrants).groupby(name)
    top = per_origin["_m"].sum().sort_values(ascending=False).head(8).index
    for origin in top:
        line = data.loc[data[name] == origin].geometry.iloc[0]
        x, y = line.coords[0]
        ax.annotate(str(origin), (x, y), fontsize=8)
    ax.set_aspect("equal")
