"""The map: a Bokeh figure on Web Mercator tiles, redrawn from the state.

Bokeh (not folium) because a click must reach Python: the Tap event carries the position, the
state adds a service point there, and the sources are updated in place. Everything drawn is
published data: communities (suppressed figures grey), hexagon counts, clusters drawn with a
buffer, public service points.

Base maps: OpenStreetMap; Tianditu (needs a key in ``TIANDITU_KEY``); Amap, whose tiles are
drawn in GCJ-02, so the overlays are shifted to GCJ-02 and clicks shifted back.

What the map draws of the baseline (polygons in Web Mercator, their colours and widths) is
built once per server process and base-map datum, through the session's shared cache, and
every browser session's sources hold the same lists and arrays. A layer is sent to the
browser when it is first shown, not before: the page opens with the communities, the service
points and the underserved clusters only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import panel as pn
import shapely
from bokeh.events import Tap
from bokeh.models import (
    CategoricalColorMapper,
    ColorBar,
    ColumnDataSource,
    Glyph,
    GlyphRenderer,
    HoverTool,
    LinearColorMapper,
    MultiLine,
    MultiPolygons,
    Scatter,
    WMTSTileSource,
)
from bokeh.palettes import Category10, Purples9
from bokeh.plotting import figure
from pandas import Index

from coverage.engine.session import to_web_mercator
from coverage.publish.labels import (
    HOTSPOT_COLORS,
    KIND_COLORS,
    MISSING_COLOR,
    color_scale,
    coverage_column,
)

from .state import AppState

TILES = {
    "osm": ("https://tile.openstreetmap.org/{Z}/{X}/{Y}.png",
            "© OpenStreetMap contributors"),
    "tianditu": ("https://t0.tianditu.gov.cn/DataServer?T=vec_w&x={X}&y={Y}&l={Z}&tk={key}",
                 "© 天地图 Tianditu"),
    "amap": ("https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
             "&x={X}&y={Y}&z={Z}", "© 高德地图 Amap"),
}


LONG_RING = 64
"""Rings (and lines) with more points go to the browser as binary arrays, shorter ones as
lists: a list costs a little per number, an array a websocket message of its own."""

STATIC = ("catchments", "underserved", "hotspots", "flows", "density")
"""Layers drawn from the baseline's results alone (the same whatever the scenario)."""

ORDER = ("communities", "density", "catchments", "underserved", "hotspots", "flows", "sites",
         "recommended")
"""Drawing order of the layers, bottom first."""


def _ring(values: np.ndarray) -> np.ndarray | list[float]:
    return values if len(values) > LONG_RING else values.tolist()


def _polygons(geoms: np.ndarray) -> tuple[list, list]:
    """Nested coordinates for Bokeh's ``multi_polygons``: row → polygon → ring."""
    geoms = np.asarray(geoms, dtype=object)
    xs: list[list] = [[] for _ in range(len(geoms))]
    ys: list[list] = [[] for _ in range(len(geoms))]
    present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    polys, row = shapely.get_parts(geoms[present], return_index=True)
    rings, poly = shapely.get_rings(polys, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    cuts = np.cumsum(np.bincount(ring, minlength=len(rings)))[:-1]
    ring_x = np.split(np.ascontiguousarray(coords[:, 0]), cuts)
    ring_y = np.split(np.ascontiguousarray(coords[:, 1]), cuts)
    for k, p in enumerate(poly):
        r = present[row[p]]
        if not k or poly[k - 1] != p:  # the exterior ring: a new polygon
            xs[r].append([])
            ys[r].append([])
        xs[r][-1].append(_ring(ring_x[k]))
        ys[r][-1].append(_ring(ring_y[k]))
    return xs, ys


def _lines(geoms: np.ndarray) -> tuple[list, list]:
    coords, line = shapely.get_coordinates(np.asarray(geoms, dtype=object), return_index=True)
    cuts = np.cumsum(np.bincount(line, minlength=len(geoms)))[:-1]
    xs = [_ring(x) for x in np.split(np.ascontiguousarray(coords[:, 0]), cuts)]
    ys = [_ring(y) for y in np.split(np.ascontiguousarray(coords[:, 1]), cuts)]
    return xs, ys


class MapView(pn.viewable.Viewer):
    """The map of the app; a click applies the state's click action."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        layers = state.session.layers
        self.crs = layers["community_summary"].crs
        # no axes: the base map shows where things are (hidden axes would cost as much).
        # No tap tool: a click is an action, never a selection (the Tap event comes without
        # one). A selection would draw the other communities with Bokeh's copy of their
        # glyph, made when the map was first drawn, whose colour mapper is that moment's:
        # after a change of language or shading they would all be grey.
        fig = figure(x_axis_type=None, y_axis_type=None, title=None, match_aspect=True,
                     tools="pan,wheel_zoom,reset,save", active_scroll="wheel_zoom",
                     sizing_mode="stretch_both", min_height=560, output_backend="webgl")
        spec = self._tiles_spec()
        self.tiles = fig.add_tile(WMTSTileSource(url=spec[0], attribution=spec[1]) if spec
                                  else WMTSTileSource(), visible=spec is not None)
        self.fig = fig
        # the communities' classes are the reports' (coverage.publish.labels.color_scale)
        self.mapper = CategoricalColorMapper(factors=["—"], palette=[MISSING_COLOR],
                                             nan_color=MISSING_COLOR)
        # migrants' density in purples, with its own legend (not to be read on the
        # communities' scale): both made when the density is first shown
        self.density_mapper: LinearColorMapper | None = None
        self.density_bar: ColorBar | None = None
        # the other layers' sources and renderers are made when the layer is first shown
        self.src: dict[str, ColumnDataSource] = {}
        self.r: dict[str, GlyphRenderer] = {}
        self._source("communities", {})
        self._source("sites", {})
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
        self._drawn: dict[str, str] = {}  # static layer → datum it was drawn for
        self._redraw_all()

    # -- events -----------------------------------------------------------------------------

    def _on_tap(self, event: Tap) -> None:
        if event.x is None or event.y is None:
            return
        self.state.click_at(float(event.x), float(event.y))

    # -- drawing ----------------------------------------------------------------------------

    def _style(self, layer: str) -> tuple[type[Glyph], dict[str, Any]]:
        """The glyph of a layer and its visuals."""
        if layer == "density":
            return (MultiPolygons, {
                "fill_alpha": 0.6, "line_alpha": 0,
                "fill_color": {"field": "migrants", "transform": self._density_legend()}})
        return {
            "communities": (MultiPolygons, {
                "fill_alpha": 0.65, "line_color": "white", "line_width": 0.6,
                "fill_color": {"field": "cls", "transform": self.mapper}}),
            "catchments": (MultiPolygons, {
                "fill_alpha": 0.08, "fill_color": "#2c7fb8", "line_color": "#2c7fb8",
                "line_alpha": 0.4}),
            "underserved": (MultiPolygons, {
                "fill_color": "#d7301f", "fill_alpha": 0.45, "line_color": "#7f0000"}),
            "hotspots": (MultiPolygons, {
                "fill_color": "color", "fill_alpha": 0.6, "line_alpha": 0}),
            "flows": (MultiLine, {
                "line_width": "width", "line_color": "#2c7fb8", "line_alpha": 0.6}),
            "sites": (Scatter, {
                "size": "size", "fill_color": "color", "line_color": "line",
                "line_width": 1.5, "fill_alpha": 0.9}),
            "recommended": (Scatter, {
                "marker": "star", "size": 22, "fill_color": "#e31a1c",
                "line_color": "black"}),
        }[layer]

    def _density_legend(self) -> LinearColorMapper:
        """The density's colour mapper, made with its legend the first time it is needed."""
        if self.density_mapper is None:
            self.density_mapper = LinearColorMapper(palette=list(Purples9[::-1])[2:],
                                                    nan_color="#eeeeee")
            self.density_bar = ColorBar(color_mapper=self.density_mapper, width=10,
                                        location=(0, 0), visible=False,
                                        title=self.state.t("density_legend"))
            self.fig.add_layout(self.density_bar, "right")
        return self.density_mapper

    def _source(self, layer: str, data: dict[str, Any]) -> None:
        """Set a layer's columns; its source and renderer are made the first time."""
        if layer in self.src:
            self.src[layer].data = data
            return
        glyph, visuals = self._style(layer)
        coords = {"x": "x", "y": "y"} if glyph is Scatter else {"xs": "xs", "ys": "ys"}
        self.src[layer] = source = ColumnDataSource(data=data)
        # The renderer made here, not by the figure's glyph methods: they make three glyphs
        # (selected, not selected, muted) that the map does not use. A click adds, chooses or
        # moves a point; it does not select: nothing fades. Muting is for legends, which the
        # map has none of.
        self.r[layer] = GlyphRenderer(data_source=source, glyph=glyph(**coords, **visuals),
                                      selection_glyph=None, nonselection_glyph=None,
                                      muted_glyph="auto", visible=layer in self.state.layers)
        self.fig.renderers = [self.tiles, *(self.r[n] for n in ORDER if n in self.r)]

    @property
    def _datum(self) -> str:
        """Datum the overlays are drawn in: GCJ-02 under the Amap base map, else WGS-84."""
        return "gcj02" if self.state.basemap == "amap" else "wgs84"

    def _web(self, geoms: np.ndarray) -> np.ndarray:
        return to_web_mercator(geoms, self.crs, gcj02=self.state.basemap == "amap")

    def _shared(self, name: str, build: Callable[[], Any]) -> Any:
        """What the map draws of the baseline, built once per process and datum."""
        return self.state.session.cached(f"map:{name}:{self._datum}", build)

    def _redraw_all(self, *_: Any) -> None:
        self._set_tiles()
        self._redraw_scenario()
        self._toggle()
        self._fit()

    def _communities(self) -> dict[str, Any]:
        """The communities' polygons, ids, names and extent on the map."""

        def build() -> dict[str, Any]:
            comm = self.state.session.layers["community_summary"]
            geoms = self._web(comm.geometry.to_numpy())
            xs, ys = _polygons(geoms)
            return {"xs": xs, "ys": ys, "ids": Index(comm["community_id"]),
                    "bounds": tuple(shapely.total_bounds(geoms))}

        return self._shared("communities", build)

    def _fit(self) -> None:
        """Fit the map to the communities drawn: the chosen district's, or the whole city's.

        The ranges follow the communities' data in the browser (``DataRange1d`` limited to
        their renderer, keeping the map's aspect), so choosing a district zooms to it until
        the user pans or zooms (then the reset tool goes back to it). Bounds set from here
        would be ignored by the browser after the first drawing.
        """
        for r in (self.fig.x_range, self.fig.y_range):
            r.renderers = [self.r["communities"]]
            r.range_padding = 0.03

    def _tiles_spec(self) -> tuple[str, str] | None:
        """The chosen base map's tiles, URL and attribution (None: no base map)."""
        name = self.state.basemap
        if name == "none":
            return None
        url, attribution = TILES[name]
        return url.replace("{key}", os.environ.get("TIANDITU_KEY", "")), attribution

    def _set_tiles(self) -> None:
        spec = self._tiles_spec()
        self.tiles.visible = spec is not None
        if spec is not None and spec[0] != self.tiles.tile_source.url:
            self.tiles.tile_source = WMTSTileSource(url=spec[0], attribution=spec[1])

    def _polygon_data(self, frame: gpd.GeoDataFrame, **columns: Any) -> dict[str, Any]:
        xs, ys = _polygons(self._web(frame.geometry.to_numpy()))
        return {"xs": xs, "ys": ys, **columns}

    def _static_data(self, layer: str) -> dict[str, Any] | None:
        """Columns of a layer drawn from the baseline's results (None: nothing to draw)."""
        session = self.state.session
        layers = session.layers
        if layer == "catchments":
            catch = layers["site_catchments"]
            return self._polygon_data(
                catch[catch.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()])
        if layer == "underserved":
            clusters = session.shown_layer("underserved_clusters")
            return None if clusters is None else self._polygon_data(clusters)
        if layer == "hotspots":
            spots = layers.get("hotspots")
            if spots is None:
                return None
            spots = spots[spots["hotspot"].astype(str) != "not_significant"]
            colors = [HOTSPOT_COLORS.get(str(c), "#cccccc") for c in spots["hotspot"]]
            return self._polygon_data(spots, color=colors)
        if layer == "density":
            hexes = session.density()
            values = hexes["migrants"].astype("Float64").to_numpy(dtype=float,
                                                                  na_value=np.nan)
            return self._polygon_data(hexes, migrants=values)
        sel = session.province_flows()
        if sel is None:
            return None
        xs, ys = _lines(self._web(sel.geometry.to_numpy()))
        m = sel["migrants"].to_numpy(float)
        return {"xs": xs, "ys": ys, "width": 1 + 8 * np.sqrt(m / max(m.max(initial=0), 1))}

    def _draw_static(self) -> None:
        """Send the static layers that are shown and not yet drawn in the current datum."""
        for layer in STATIC:
            if (layer not in self.state.layers or self._drawn.get(layer) == self._datum
                    or (layer == "density" and not self.state.ready)):
                continue
            data = self._shared(layer, lambda layer=layer: self._static_data(layer))
            if data is not None:
                self._source(layer, dict(data))
            if layer == "density" and data is not None:
                finite = data["migrants"][np.isfinite(data["migrants"])]
                if len(finite):
                    mapper = self._density_legend()
                    mapper.low, mapper.high = 0, float(finite.max())
            self._drawn[layer] = self._datum

    def _redraw_scenario(self, *_: Any) -> None:
        self._redraw_communities()
        self._redraw_sites()
        self._draw_static()  # the density comes with the model
        if "recommended" in self.r:
            self._draw_recommended()

    def _draw_recommended(self) -> None:
        rec = self.state.session.layers.get("recommended_sites")
        pending = self.state.recommendation
        if pending is not None and "recommended_sites" in pending.layers:
            rec = pending.layers["recommended_sites"]  # shown until applied or replaced
        if rec is not None and len(rec):
            pts = self._web(rec.geometry.to_numpy())
            self._source("recommended", {"x": shapely.get_x(pts), "y": shapely.get_y(pts)})

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
        scale = color_scale(column, values, lang=self.state.lang)
        missing = self.state.t("no_value")
        classes = np.array([*scale.labels, missing], dtype=object)[scale.classify(values)]
        shape = (self._datum, self.state.district)
        if getattr(self, "_comm_shape", None) == shape:
            # same polygons: send only the changed columns to the browser
            self.src["communities"].data.update(value=values, label=labels,
                                                cls=list(classes))
        else:
            shared = self._communities()
            rows = shared["ids"].get_indexer(comm["community_id"])
            self.src["communities"].data = {
                "xs": [shared["xs"][i] for i in rows], "ys": [shared["ys"][i] for i in rows],
                "value": values, "name": list(comm["name"]), "label": labels,
                "cls": list(classes)}
            self._comm_shape = shape
        factors, palette = [*scale.labels, missing], [*scale.colors, MISSING_COLOR]
        if list(self.mapper.factors) != factors or list(self.mapper.palette) != palette:
            # A new mapper: the browser's legend does not redraw when a mapper's classes
            # change, only when it is given another one.
            self.mapper = CategoricalColorMapper(factors=factors, palette=palette,
                                                 nan_color=MISSING_COLOR)
            self.r["communities"].glyph.fill_color = {"field": "cls",
                                                      "transform": self.mapper}
            self.colorbar.color_mapper = self.mapper
        labels_text = {"coverage": "ind_coverage", "staff": "ind_staff", "gap": "ind_gap",
                       "e2sfca": "ind_e2sfca"}
        self.colorbar.title = scale.title or self.state.t(labels_text[self.state.indicator])
        if self.density_bar is not None:
            self.density_bar.title = self.state.t("density_legend")

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
            "size": 6 + 3 * np.sqrt(np.maximum(staff, 0)),
            "color": ["#e31a1c" if a else c for a, c in zip(added, colors, strict=True)],
            "line": ["black" if c else "white" for c in chosen],
            "site_id": list(sites["site_id"]), "name": list(sites["name"].astype(str)),
            "staff_text": [f"{s:g} FTE" for s in staff],
        }

    def _toggle(self, *_: Any) -> None:
        self._draw_static()  # a layer shown for the first time
        if "recommended" in self.state.layers and "recommended" not in self.r:
            self._draw_recommended()
        for name, renderer in self.r.items():
            renderer.visible = name in self.state.layers
        if self.density_bar is not None:
            self.density_bar.visible = "density" in self.state.layers and "density" in self.r
            self.density_bar.title = self.state.t("density_legend")

    def __panel__(self) -> pn.viewable.Viewable:
        return self.pane
