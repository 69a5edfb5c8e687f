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
which Leaflet writes into the page as HTML (:func:`escape_text`). This package never imports
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

The maps are grouped by what they draw: over areas (:mod:`~coverage.maps.areas`), service
points (:mod:`~coverage.maps.sites`) and movements (:mod:`~coverage.maps.flows`); all are
imported from here.
"""

from coverage.cartography import HOTSPOT_COLORS, KIND_COLORS
from coverage.maps._tables import SIMPLIFY_M, escape_text, safe_link
from coverage.maps.areas import community_map, hotspot_map, inflow_map, underserved_map
from coverage.maps.flows import commute_map, origin_flow_map
from coverage.maps.sites import recommended_map, sites_map
from coverage.publish.labels import LABELS, column_label

__all__ = [
    "HOTSPOT_COLORS",
    "KIND_COLORS",
    "LABELS",
    "SIMPLIFY_M",
    "column_label",
    "community_map",
    "commute_map",
    "escape_text",
    "hotspot_map",
    "inflow_map",
    "origin_flow_map",
    "recommended_map",
    "safe_link",
    "sites_map",
    "underserved_map",
]
