"""The map: a Bokeh figure on Web Mercator tiles, redrawn from the state.

Bokeh (not folium) because a click must reach Python: the Tap event carries the position, the
state adds a service point there, and the sources are updated in place. Everything drawn is
published data: communities (suppressed figures grey), hexagon counts, clusters drawn with a
buffer, public service points.

Base maps: OpenStreetMap; Tianditu (needs a key in ``TIANDITU_KEY``); Amap, whose tiles are
drawn in GCJ-02, so the overlays are shifted to GCJ-02 and clicks shifted back.
"""

from __future__ import annotations

import os
from typing import Any

import geopandas as gpd
import numpy as np
import panel as pn
import shapely
from bokeh.events import Tap
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    HoverTool,
    LinearColorMapper,
    WMTSTileSource,
)
from bokeh.palettes import Category10, RdBu11, YlGnBu9
from bokeh.plotting import figure

from coverage.crs import wgs84_to_gcj02
from coverage.disclosure import shown_rows
from coverage.equalization import coverage_column
from coverage.maps import HOTSPOT_COLORS, KIND_COLORS

from .state import AppState, transformer

TILES = {
    "osm": ("https://tile.openstreetmap.org/{Z}/{X}/{Y}.png",
            "© OpenStreetMap contributors"),
    "tianditu": ("https://t0.tianditu.gov.cn/DataServer?T=vec_w&x={X}&y={Y}&l={Z}&tk={key}",
                 "© 天地图 Tianditu"),
    "amap": ("https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
             "&x={X}&y={Y}&z={Z}", "© 高德地图 Amap"),
}


def _mercator(geoms: np.ndarray, crs: Any, gcj: bool) -> np.ndarray:
    """Geometries from ``crs`` to Web Mercator (through GCJ-02 for the Amap base map)."""
    to_lonlat = transformer(crs, 4326)
    to_web = transformer(4326, 3857)

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
        if gcj:
            lon, lat = wgs84_to_gcj02(lon, lat)
        x, y = to_web.transform(lon, lat)
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), move)


def _polygons(geoms: np.ndarray) -> tuple[list, list]:
    """Nested coordinate lists for Bokeh's ``multi_polygons`` (display only, not a hot path)."""
    xs, ys = [], []
    for g in geoms:
        parts = list(getattr(g, "geoms", [g])) if g is not None and not g.is_empty else []
        px, py = [], []
        for poly in parts:
            rings = [poly.exterior, *poly.interiors]
            px.append([list(np.asarray(r.xy[0])) for r in rings])
            py.append([list(np.asarray(r.xy[1])) for r in rings])
        xs.append(px)
        ys.append(py)
    return xs, ys


def _lines(geoms: np.ndarray) -> tuple[list, list]:
    xs = [list(np.asarray(g.xy[0])) for g in geoms]
    ys = [list(np.asarray(g.xy[1])) for g in geoms]
    return xs, ys


class MapView(pn.viewable.Viewer):
    """The map of the app; a click applies the state's click action."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        layers = state.session.layers
        self.crs = layers["community_summary"].crs
        fig = figure(x_axis_type="mercator", y_axis_type="mercator", match_aspect=True,
                     tools="pan,wheel_zoom,reset,tap,save", active_scroll="wheel_zoom",
                     sizing_mode="stretch_both", min_height=560, output_backend="webgl")
        fig.xaxis.visible = fig.yaxis.visible = False
        fig.grid.visible = False
        self.tiles = fig.add_tile(WMTSTileSource(url=TILES["osm"][0],
                                                 attribution=TILES["osm"][1]))
        self.fig = fig
        self.src: dict[str, ColumnDataSource] = {n: ColumnDataSource() for n in (
            "communities", "density", "catchments", "underserved", "hotspots", "sites",
            "recommended", "flows")}
        self.mapper = LinearColorMapper(palette=list(YlGnBu9[::-1]), nan_color="#cccccc")
        self.density_mapper = LinearColorMapper(palette=list(YlGnBu9[::-1])[2:],
                                                nan_color="#eeeeee")
        self.r: dict[str, Any] = {}
        self.r["communities"] = fig.multi_polygons(
            "xs", "ys", source=self.src["communities"], fill_alpha=0.65, line_color="white",
            line_width=0.6, fill_color={"field": "value", "transform": self.mapper})
        self.r["density"] = fig.multi_polygons(
            "xs", "ys", source=self.src["density"], fill_alpha=0.6, line_alpha=0,
            fill_color={"field": "migrants", "transform": self.density_mapper})
        self.r["catchments"] = fig.multi_polygons(
            "xs", "ys", source=self.src["catchments"], fill_alpha=0.08, fill_color="#2c7fb8",
            line_color="#2c7fb8", line_alpha=0.4)
        self.r["underserved"] = fig.multi_polygons(
            "xs", "ys", source=self.src["underserved"], fill_color="#d7301f", fill_alpha=0.45,
            line_color="#7f0000")
        self.r["hotspots"] = fig.multi_polygons(
            "xs", "ys", source=self.src["hotspots"], fill_color="color", fill_alpha=0.6,
            line_alpha=0)
        self.r["flows"] = fig.multi_line("xs", "ys", source=self.src["flows"],
                                         line_width="width", line_color="#2c7fb8",
                                         line_alpha=0.6)
        self.r["sites"] = fig.scatter("x", "y", source=self.src["sites"], size="size",
                                      fill_color="color", line_color="line", line_width=1.5,
                                      fill_alpha=0.9)
        self.r["recommended"] = fig.scatter("x", "y", source=self.src["recommended"],
                                            marker="star", size=22, fill_color="#e31a1c",
                                            line_color="black")
        self.colorbar = ColorBar(color_mapper=self.mapper, width=10, location=(0, 0))
        fig.add_layout(self.colorbar, "right")
        fig.add_tools(HoverTool(renderers=[self.r["communities"]],
                                tooltips=[("", "@name"), ("", "@label")]))
        fig.add_tools(HoverTool(renderers=[self.r["sites"]],
                                tooltips=[("", "@name (@site_id)"), ("", "@staff_text")]))
        fig.on_event(Tap, self._on_tap)
        self.pane = pn.pane.Bokeh(fig, sizing_mode="stretch_both", min_height=560)
        state.param.watch(self._redraw_all, ["basemap"])
        state.param.watch(self._redraw_scenario, ["version", "ready", "recommendation"])
        state.param.watch(self._redraw_communities, ["indicator", "threshold", "district",
                                                     "lang"])
        state.param.watch(self._redraw_sites, ["kind", "chosen"])
        state.param.watch(self._toggle, ["layers"])
        self._redraw_all()

    # -- events -----------------------------------------------------------------------------

    def _on_tap(self, event: Tap) -> None:
        if event.x is None or event.y is None:
            return
        self.state.click_at(float(event.x), float(event.y))

    # -- drawing ----------------------------------------------------------------------------

    def _web(self, geoms: np.ndarray) -> np.ndarray:
        return _mercator(geoms, self.crs, self.state.basemap == "amap")

    def _redraw_all(self, *_: Any) -> None:
        self._set_tiles()
        self._redraw_static()
        self._redraw_scenario()
        self._toggle()
        self._fit()

    def _fit(self) -> None:
        comm = self.state.session.layers["community_summary"]
        geoms = self._web(comm.geometry.to_numpy())
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        pad = 0.03 * max(x1 - x0, y1 - y0)
        self.fig.x_range.start, self.fig.x_range.end = x0 - pad, x1 + pad
        self.fig.y_range.start, self.fig.y_range.end = y0 - pad, y1 + pad

    def _set_tiles(self) -> None:
        name = self.state.basemap
        if name == "none":
            self.tiles.visible = False
            return
        url, attribution = TILES[name]
        url = url.replace("{key}", os.environ.get("TIANDITU_KEY", ""))
        self.tiles.tile_source = WMTSTileSource(url=url, attribution=attribution)
        self.tiles.visible = True

    def _set_polygons(self, layer: str, frame: gpd.GeoDataFrame, **columns: Any) -> None:
        xs, ys = _polygons(self._web(frame.geometry.to_numpy()))
        self.src[layer].data = {"xs": xs, "ys": ys, **columns}

    def _redraw_static(self) -> None:
        """Layers of the baseline's results: catchments, clusters, hot spots, flows."""
        layers = self.state.session.layers
        catch = layers["site_catchments"]
        catch = catch[catch.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()]
        self._set_polygons("catchments", catch)
        clusters = layers.get("underserved_clusters")
        if clusters is not None:
            self._set_polygons("underserved",
                               clusters[shown_rows(clusters, self.state.session.min_cell)])
        spots = layers.get("hotspots")
        if spots is not None:
            spots = spots[spots["hotspot"].astype(str) != "not_significant"]
            colors = [HOTSPOT_COLORS.get(str(c), "#cccccc") for c in spots["hotspot"]]
            self._set_polygons("hotspots", spots, color=colors)
        self._redraw_density()
        flows = layers.get("origin_flows")
        if flows is not None and len(flows):
            sel = flows[(flows["origin_level"] == "province") & (flows["dest_level"] == "city")]
            if not len(sel):
                sel = flows[(flows["origin_level"] == "province")
                            & (flows["dest_level"] == "district")]
            sel = sel[shown_rows(sel, self.state.session.min_cell) & sel.geometry.notna()]
            xs, ys = _lines(self._web(sel.geometry.to_numpy()))
            m = sel["migrants"].to_numpy(float)
            width = list(1 + 8 * np.sqrt(m / max(m.max(), 1)))
            self.src["flows"].data = {"xs": xs, "ys": ys, "width": width}

    def _redraw_density(self) -> None:
        if not self.state.ready:
            return
        hexes = self.state.session.density()
        values = hexes["migrants"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        self._set_polygons("density", hexes, migrants=values)
        finite = values[np.isfinite(values)]
        if len(finite):
            self.density_mapper.low, self.density_mapper.high = 0, float(finite.max())

    def _redraw_scenario(self, *_: Any) -> None:
        self._redraw_communities()
        self._redraw_sites()
        if self.state.ready and not len(self.src["density"].data.get("xs", [])):
            self._redraw_density()
        rec = self.state.session.layers.get("recommended_sites")
        pending = self.state.recommendation
        if pending is not None and "recommended_sites" in pending.layers:
            rec = pending.layers["recommended_sites"]  # shown until applied or replaced
        if rec is not None and len(rec):
            pts = self._web(rec.geometry.to_numpy())
            self.src["recommended"].data = {"x": shapely.get_x(pts), "y": shapely.get_y(pts)}

    def _value_column(self) -> tuple[str, bool]:
        lab = self.state.coverage_column
        return {
            "coverage": (lab, True),
            "staff": ("staff_per_1000_total", False),
            "gap": (coverage_column(self.state.threshold, "gap"), True),
            "e2sfca": ("e2sfca_mean_migrant", False),
        }[self.state.indicator]

    def _redraw_communities(self, *_: Any) -> None:
        _, comm = self.state.published()
        if self.state.district:
            comm = comm[comm["district"] == self.state.district]
        column, pct = self._value_column()
        values = (comm[column].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
                  if column in comm else np.full(len(comm), np.nan))
        labels = ["—" if not np.isfinite(v) else (f"{v:.1%}" if pct else f"{v:.2f}")
                  for v in values]
        shape = (self.state.basemap, self.state.district)
        if getattr(self, "_comm_shape", None) == shape:
            # same polygons: send only the changed columns to the browser
            self.src["communities"].data.update(value=values, label=labels)
        else:
            self._set_polygons("communities", comm, value=values, name=list(comm["name"]),
                               label=labels)
            self._comm_shape = shape
        finite = values[np.isfinite(values)]
        if self.state.indicator == "gap":
            lim = float(np.abs(finite).max()) if len(finite) else 1.0
            self.mapper.palette = list(RdBu11)
            self.mapper.low, self.mapper.high = -lim, lim
        else:
            self.mapper.palette = list(YlGnBu9[::-1])
            lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
            self.mapper.low, self.mapper.high = lo, max(hi, lo + 1e-9)
        labels_text = {"coverage": "ind_coverage", "staff": "ind_staff", "gap": "ind_gap",
                       "e2sfca": "ind_e2sfca"}
        self.colorbar.title = self.state.t(labels_text[self.state.indicator])

    def _redraw_sites(self, *_: Any) -> None:
        if not self.state.ready:  # the positions come with the model, a moment later
            self.src["sites"].data = {k: [] for k in (
                "x", "y", "size", "color", "line", "site_id", "name", "staff_text")}
            return
        sites = self.state.session.sites()
        if self.state.kind:
            sites = sites[sites["kind"] == self.state.kind]
        pts = self._web(sites.geometry.to_numpy())
        staff = sites["staff"].to_numpy(float)
        added = sites["added"].to_numpy(bool) if "added" in sites else np.zeros(len(sites), bool)
        chosen = sites["site_id"].to_numpy() == self.state.chosen
        palette = Category10[10]
        colors = [KIND_COLORS.get(k, palette[7]) for k in sites["kind"]]
        self.src["sites"].data = {
            "x": shapely.get_x(pts), "y": shapely.get_y(pts),
            "size": list(6 + 3 * np.sqrt(np.maximum(staff, 0))),
            "color": ["#e31a1c" if a else c for a, c in zip(added, colors, strict=True)],
            "line": ["black" if c else "white" for c in chosen],
            "site_id": list(sites["site_id"]), "name": list(sites["name"].astype(str)),
            "staff_text": [f"{s:g} FTE" for s in staff],
        }

    def _toggle(self, *_: Any) -> None:
        for name, renderer in self.r.items():
            renderer.visible = name in self.state.layers

    def __panel__(self) -> pn.viewable.Viewable:
        return self.pane
