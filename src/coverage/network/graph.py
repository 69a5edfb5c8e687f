"""The road network of one travel mode as compact arrays: :class:`RoadNetwork`.

A :class:`RoadNetwork` holds graph nodes (projected to a metric CRS), links (road pieces between
two nodes with length, geometry and allowed directions), the directed graph of the mode as a
SciPy CSR matrix (parallel arcs reduced to the shortest), and its connected components. Routing
uses only the largest component: the largest *connected* component for ``walk`` (every road is
two-way on foot) and the largest *strongly connected* component for ``ebike`` (one-way streets
kept, so every node of it can reach every other; see :mod:`coverage.network.components`).
Points (:mod:`coverage.network.points`) are snapped to that component only;
:meth:`RoadNetwork.snap` reports those that would have been nearer to another one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from coverage.crs import study_crs
from coverage.network import areas as areasmod
from coverage.network import cache as cachemod
from coverage.network import costs as costsmod
from coverage.network import offset_medians
from coverage.network.components import components_report, components_table, node_components
from coverage.network.modes import DEFAULT_SPEEDS_KMH, check_mode
from coverage.network.points import Points, SnappedPoints, point_xy
from coverage.network.readers import NetworkArrays, file_kind, graph_arrays, read_file
from coverage.network.snap import REASON_DISCONNECTED, REASON_FAR, REASON_MISSING, SegmentIndex
from coverage.network.snap_grid import SnapGrid

if TYPE_CHECKING:
    from coverage.io.loaders import StudyData
    from coverage.network.offset_medians import OffsetCheck

__all__ = ["DEFAULT_MAX_SNAP_M", "Points", "RoadNetwork", "SnappedPoints", "csr_min"]

#: Default largest distance from a point to its road; farther points are unreachable.
DEFAULT_MAX_SNAP_M = 500.0


def csr_min(
    rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n: int
) -> sp.csr_array:
    """Build an ``n × n`` CSR matrix keeping the smallest weight of duplicate entries.

    SciPy sums duplicates when building a sparse matrix; for road graphs the shortest of
    parallel edges is wanted. Explicit zero weights are kept as edges (SciPy's csgraph treats
    stored zeros in sparse input as zero-cost edges).
    """
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])]
    rows, cols, weights = rows[first], cols[first], weights[first]
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))].astype(np.int64)
    return sp.csr_array((weights, cols.astype(np.int32), indptr), shape=(n, n))


def _project(lon: np.ndarray, lat: np.ndarray, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


class RoadNetwork:
    """A road network for one travel mode, ready for snapping and cost tables.

    Build one with :meth:`from_file`, :meth:`from_graph` or :meth:`from_study`; the constructor
    takes already-read :class:`~coverage.network.readers.NetworkArrays`.

    Parameters
    ----------
    arrays
        Nodes and links in WGS-84.
    mode
        ``"walk"`` or ``"ebike"``.
    speed_kmh
        Travel speed; default 4.5 (walk) or 15 (ebike). Times are lengths divided by it, for the
        path and the connectors alike.
    crs
        Metric CRS for node coordinates and snapping; default the UTM zone of the nodes
        (:func:`coverage.crs.study_crs`). Pass the study CRS so points need no reprojection.
    max_snap_m
        Points farther than this from every road of the routing component are unreachable.

    Raises
    ------
    ValueError
        For an unknown mode, a non-positive speed or maximum snap distance, a geographic
        ``crs``, or a link with a zero or negative length.
    """

    def __init__(
        self,
        arrays: NetworkArrays,
        *,
        mode: str = "walk",
        speed_kmh: float | None = None,
        crs: Any = None,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
    ) -> None:
        self.mode = check_mode(mode)
        speed = DEFAULT_SPEEDS_KMH[mode] if speed_kmh is None else float(speed_kmh)
        if not speed > 0:
            msg = f"speed_kmh must be positive, got {speed_kmh!r}"
            raise ValueError(msg)
        if not max_snap_m > 0:
            msg = f"max_snap_m must be positive, got {max_snap_m!r}"
            raise ValueError(msg)
        self.speed_kmh = speed
        self.max_snap_m = float(max_snap_m)
        self.arrays = arrays
        self.source = arrays.source
        bad = ~(np.isfinite(arrays.length) & (arrays.length > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            u = arrays.node_ids[arrays.link_a[i]].tolist()
            v = arrays.node_ids[arrays.link_b[i]].tolist()
            msg = (
                f"{arrays.source}: edge ({u!r}, {v!r}) has length {float(arrays.length[i])!r}; "
                "every edge needs a positive 'length' in metres"
            )
            raise ValueError(msg)
        if crs is None:
            crs = study_crs(arrays.lon, arrays.lat)
        self.crs = pyproj.CRS.from_user_input(crs)
        if not self.crs.is_projected:
            msg = f"crs must be a projected CRS in metres (e.g. a UTM zone), got {self.crs.name!r}"
            raise ValueError(msg)
        self.x, self.y = _project(arrays.lon, arrays.lat, self.crs)
        self.vertex_x, self.vertex_y = _project(arrays.vertex_lon, arrays.vertex_lat, self.crs)
        self._build_graph()
        self._index: SegmentIndex | None = None
        self._other_index: SegmentIndex | None = None
        #: Prove every snap exact (about 5 times slower); by default a snap may be up to
        #: 5 m longer than the exact one, for a few points in ten thousand (see
        #: :mod:`coverage.network.snap`). Set before snapping.
        self.exact_snap = False
        #: Snap with a precomputed lookup grid (:class:`~coverage.network.snap_grid.SnapGrid`):
        #: proven-exact answers for most points, the KD-tree search for the rest, never a
        #: worse snap than the KD-tree search alone, in about two thirds of its time. It
        #: takes seconds to build for a city, so it is on only where it is kept: networks read
        #: by :meth:`from_file` with the disk cache switch it on and build it on their first
        #: load (then load it in milliseconds). Set to True or False before snapping to force.
        self.snap_grid = False
        #: Seconds spent building (or loading) the snapping grid, and whether it was cached.
        self.grid_info: dict[str, Any] = {}
        self._grid: SnapGrid | None = None
        #: Seconds spent reading (and whether the cache was used), filled by ``from_file``.
        self.load_info: dict[str, Any] = {}

    # ----------------------------------------------------------------------------------------
    # Construction
    # ----------------------------------------------------------------------------------------

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        mode: str = "walk",
        speed_kmh: float | None = None,
        crs: Any = None,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        cache: bool = True,
        cache_dir: str | Path | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> RoadNetwork:
        """Read a road network from a file, choosing the reader by file type.

        Parameters
        ----------
        path
            ``.osm`` / ``.osm.pbf`` (also ``.osm.gz``, ``.osm.bz2``) OpenStreetMap data, or a
            ``.gpkg`` / ``.graphml`` written by OSMnx (the demo city's ``network.gpkg`` too).
        mode, speed_kmh, crs, max_snap_m
            See :class:`RoadNetwork`.
        cache
            Use and fill the on-disk cache (:mod:`coverage.network.cache`), keyed by the file's
            SHA-256 and the mode. With the cache the network also snaps with a lookup grid
            (:attr:`snap_grid`), built on the first load (a few seconds for a city of
            300 km²) and kept next to the arrays.
        cache_dir
            Cache folder; default ``$COVERAGE_CACHE_DIR`` or ``~/.cache/coverage-planner``.
        progress
            Called with a short description at the start of each long step.

        Raises
        ------
        ValueError
            For an unknown file type (the message lists the accepted ones) or invalid lengths.
        FileNotFoundError
            If the file does not exist.
        """
        check_mode(mode)
        file_kind(path)
        path = Path(path)
        if not path.exists():
            msg = f"road-network file {str(path)!r} does not exist; check the path"
            raise FileNotFoundError(msg)
        start = time.perf_counter()
        arrays = None
        entry = None
        if cache:
            if progress:
                progress(f"hashing {path.name}")
            entry = cachemod.cache_path(path, mode, cache_dir_=cache_dir)
            arrays = cachemod.load(entry, source=str(path))
        from_cache = arrays is not None
        if arrays is None:
            arrays = read_file(path, mode=mode, progress=progress)
            if entry is not None:
                cachemod.save(entry, arrays)
        read_s = time.perf_counter() - start
        if progress:
            progress(f"building the {mode} graph")
        net = cls(arrays, mode=mode, speed_kmh=speed_kmh, crs=crs, max_snap_m=max_snap_m)
        net.load_info = {
            "from_cache": from_cache,
            "read_s": read_s,
            "cache_file": str(entry) if entry else None,
        }
        # The snapping index (and, with the cache, the grid) is part of a loaded network:
        # every use of a network snaps points to it.
        if progress:
            progress("preparing the snapping index")
        graph_done = time.perf_counter()
        net.snap_grid = entry is not None
        net.prepare_snapping()
        net.load_info["snapping_s"] = time.perf_counter() - graph_done
        net.load_info["total_s"] = time.perf_counter() - start
        return net

    @classmethod
    def from_graph(
        cls,
        graph: nx.Graph,
        *,
        mode: str = "walk",
        speed_kmh: float | None = None,
        crs: Any = None,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
    ) -> RoadNetwork:
        """Build from an OSMnx/NetworkX graph in memory (lengths from ``length`` attributes).

        See :func:`coverage.network.readers.graph_arrays` for what the graph needs.
        """
        arrays = graph_arrays(graph, mode=mode, source=graph.graph.get("name", "graph"))
        return cls(arrays, mode=mode, speed_kmh=speed_kmh, crs=crs, max_snap_m=max_snap_m)

    @classmethod
    def from_study(
        cls,
        study: StudyData,
        *,
        mode: str = "walk",
        cache: bool = True,
        cache_dir: str | Path | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> RoadNetwork:
        """Read a project's network in its study CRS, with the project's speeds and snap limit."""
        params = study.project.parameters
        return cls.from_file(
            study.network_path, mode=mode, speed_kmh=params.speeds_kmh.get(mode),
            crs=study.crs, max_snap_m=params.max_snap_m, cache=cache, cache_dir=cache_dir,
            progress=progress,
        )

    # ----------------------------------------------------------------------------------------
    # Graph and components
    # ----------------------------------------------------------------------------------------

    def _build_graph(self) -> None:
        a = self.arrays
        n = a.n_nodes
        fwd, bwd = a.forward, a.backward
        rows = np.r_[a.link_a[fwd], a.link_b[bwd]]
        cols = np.r_[a.link_b[fwd], a.link_a[bwd]]
        w = np.r_[a.length[fwd], a.length[bwd]]
        keep = rows != cols  # self-loops never shorten a path
        rows, cols, w = rows[keep], cols[keep], w[keep]
        #: Directed graph of the mode: ``graph[u, v]`` is the shortest arc from u to v.
        self.graph = csr_min(rows, cols, w, n)
        #: The reversed graph (every arc turned around), for costs *to* destinations.
        self.graph_reversed = csr_min(cols, rows, w, n)
        labels, n_comp = node_components(self.graph, self.mode)
        #: Component of each node; 0 is the largest, the one used for routing.
        self.node_component = labels
        ca, cb = self.node_component[a.link_a], self.node_component[a.link_b]
        #: Component of each link (-1 for a one-way link joining two components).
        self.link_component = np.where(ca == cb, ca, -1)
        self.main_links = np.flatnonzero(self.link_component == 0)
        self.n_components = n_comp

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return self.arrays.n_nodes

    @property
    def n_links(self) -> int:
        """Number of links (road pieces between nodes)."""
        return self.arrays.n_links

    @property
    def speed_m_per_min(self) -> float:
        """Speed in metres per minute."""
        return self.speed_kmh * 1000.0 / 60.0

    @property
    def components(self) -> pd.DataFrame:
        """Connected components, largest first, as a DataFrame.

        Columns: ``component``, ``nodes``, ``links``, ``length_km`` and ``routing`` (True for
        the component used for routing). Components are connected (walk) or strongly
        connected (ebike) sets of nodes; a link belongs to a component when both its ends do.
        One-way links joining two components (ebike) are counted in the row
        ``component = -1``.
        """
        return components_table(self)

    def report(self) -> str:
        """Describe the network and its components in a few lines of plain text."""
        return components_report(self)

    def __repr__(self) -> str:
        return (
            f"RoadNetwork(mode={self.mode!r}, nodes={self.n_nodes}, links={self.n_links}, "
            f"components={self.n_components}, crs={self.crs.to_string()!r})"
        )

    def to_networkx(self, *, routing_only: bool = False) -> nx.MultiDiGraph:
        """Return the mode's directed graph as a NetworkX MultiDiGraph.

        Nodes are labelled by their ids (OSM ids) with ``x``, ``y`` in the network CRS; every
        allowed direction of every link is one edge with ``length`` and ``link`` (its position).
        Self-loops are left out. Shortest paths on it equal those of this network.

        Parameters
        ----------
        routing_only
            Keep only the routing (largest) component.
        """
        a = self.arrays
        g = nx.MultiDiGraph(crs=self.crs)
        nodes = np.arange(self.n_nodes)
        links = np.arange(self.n_links)
        if routing_only:
            nodes = nodes[self.node_component == 0]
            links = self.main_links
        ids = a.node_ids.tolist()
        g.add_nodes_from((ids[i], {"x": float(self.x[i]), "y": float(self.y[i])}) for i in nodes)
        for flag, u, v in ((a.forward, a.link_a, a.link_b), (a.backward, a.link_b, a.link_a)):
            sel = links[flag[links] & (u[links] != v[links])]
            g.add_edges_from(
                (ids[u[i]], ids[v[i]], {"length": float(a.length[i]), "link": int(i)})
                for i in sel
            )
        return g

    def links_frame(self) -> gpd.GeoDataFrame:
        """Return the links as a GeoDataFrame (for maps and checks), in the network CRS."""
        a = self.arrays
        counts = np.diff(a.offsets)
        geoms = shapely.linestrings(
            np.column_stack([self.vertex_x, self.vertex_y]),
            indices=np.repeat(np.arange(self.n_links), counts),
        )
        return gpd.GeoDataFrame(
            {
                "u": a.node_ids[a.link_a],
                "v": a.node_ids[a.link_b],
                "length": a.length,
                "forward": a.forward,
                "backward": a.backward,
                "component": self.link_component,
            },
            geometry=geoms,
            crs=self.crs,
        )

    # ----------------------------------------------------------------------------------------
    # Points and snapping
    # ----------------------------------------------------------------------------------------

    @property
    def snap_index(self) -> SegmentIndex:
        """Nearest-segment index over the routing component's links (built on first use)."""
        if self._index is None:
            self._index = SegmentIndex(
                self.vertex_x, self.vertex_y, self.arrays.offsets, self.main_links
            )
        return self._index

    def prepare_snapping(self) -> None:
        """Build the snapping index now rather than on the first snap.

        With :attr:`snap_grid` on, also load the snapping grid from the disk cache, or build
        it and save it there (:attr:`grid_info` says which, and how long it took).
        :meth:`from_file` calls this, so that a loaded network is ready to snap.
        """
        _ = self.snap_index
        if self.snap_grid and not self.exact_snap:
            self._attach_grid()

    def _attach_grid(self) -> None:
        """Load, or build and save, the snapping grid of the routing component's index.

        The grid also bounds the distance to the roads of the other components, so that
        :meth:`snap_points` searches those only for the points near them.
        """
        index = self.snap_index
        if self._grid is not None or self.grid_info.get("built") is False:
            return
        start = time.perf_counter()
        entry = self.load_info.get("cache_file")
        side = None
        key = (f"{self.crs.to_wkt()}|{self.max_snap_m!r}|{index.n_segments}|"
               f"{float(index.x0.sum())!r}|{float(index.y1.sum())!r}")
        grid = None
        if entry:
            side = cachemod.grid_path(Path(entry), key)
            data = cachemod.load_grid(side)
            if data is not None:
                try:
                    grid = SnapGrid.from_dict(data)
                except (KeyError, ValueError):
                    grid = None
        cached = grid is not None
        if grid is None:
            grid = SnapGrid.build(index, self.max_snap_m, other=self._other())
            if grid is not None and side is not None:
                cachemod.save_grid(side, grid.to_dict())
        self._grid = grid
        self.grid_info = {"built": grid is not None, "from_cache": cached,
                          "seconds": time.perf_counter() - start,
                          "cache_file": str(side) if side else None}

    def _other(self) -> SegmentIndex | None:
        if self._other_index is None:
            other = np.flatnonzero(self.link_component != 0)
            if len(other) == 0:
                return None
            self._other_index = SegmentIndex(
                self.vertex_x, self.vertex_y, self.arrays.offsets, other
            )
        return self._other_index

    def snap_points(self, points: Points, *, exact: bool | None = None) -> SnappedPoints:
        """Snap points once for reuse in :meth:`nearest`, :meth:`cost_table`, ...

        See :meth:`snap` for the rules; a :class:`SnappedPoints` is returned unchanged (after
        checking it belongs to this network). ``exact`` defaults to :attr:`exact_snap`.
        """
        if isinstance(points, SnappedPoints):
            if points.network is not self:
                msg = "these SnappedPoints were snapped to another network; snap them again"
                raise ValueError(msg)
            return points
        x, y, index = point_xy(points, self.crs)
        exact = self.exact_snap if exact is None else exact
        if self.snap_grid and not exact:
            self._attach_grid()
        snapped = self.snap_index.query(x, y, max_distance=self.max_snap_m, exact=exact,
                                        grid=self._grid if self.snap_grid else None)
        n = len(x)
        reason = np.full(n, None, dtype=object)
        other_comp = np.full(n, -2, dtype=np.int64)
        other_d = np.full(n, np.nan)
        idx = self._other()
        if idx is not None:
            # Only points that may have a road of another component nearer than their snap
            # are searched: the grid, where there is one, proves the others clear of them.
            look = (slice(None) if self._grid is None
                    else np.flatnonzero(~self._grid.clear_of(x, y, snapped.distance)))
            o = idx.query(x[look], y[look], max_distance=self.max_snap_m, far=False)
            ok = o.link >= 0
            nearer = ok & ~(o.distance >= snapped.distance[look])
            at = np.arange(n)[look][nearer]
            other_comp[at] = self.link_component[o.link[nearer]]
            other_d[at] = o.distance[nearer]
        missing = snapped.link < 0
        far = ~missing & (snapped.distance > self.max_snap_m)
        disconnected = far & (other_d <= self.max_snap_m)
        reason[missing] = REASON_MISSING
        reason[far] = REASON_FAR
        reason[disconnected] = REASON_DISCONNECTED
        return SnappedPoints(index, snapped, reason, other_comp, other_d, network=self)

    def snap(self, points: Points, *, exact: bool | None = None) -> pd.DataFrame:
        """Attach points to the nearest point of the nearest road of the routing component.

        Parameters
        ----------
        points
            A GeoSeries/GeoDataFrame in any CRS (reprojected to the network's; polygons use their
            centroid), ``x, y`` in the network CRS, or :class:`SnappedPoints`.
        exact
            Prove each attachment nearest (see :mod:`coverage.network.snap`); default
            :attr:`exact_snap`.

        Returns
        -------
        pandas.DataFrame
            Indexed like ``points``: ``link``, ``t`` (0–1 along the link from ``u`` to ``v``),
            ``x``, ``y`` (the attachment), ``snap_m`` (straight distance to it), ``reason``
            (missing, or why the point is unreachable: ``"too far from a road"`` — no road
            within ``max_snap_m``; ``"disconnected component"`` — the only roads within
            ``max_snap_m`` are cut off from the routing component; ``"missing geometry"``),
            ``nearer_component`` and ``nearer_component_m`` (set when a road of another
            component is nearer than the attachment: that component and its distance; -1 for a
            one-way link joining components; the point is still routed from the routing
            component when that is within ``max_snap_m``).

        The attachment is the nearest point of the nearest road up to a bounded error (at
        most 5 m too far, rarely); ``exact=True`` proves it nearest.
        """
        sp_ = self.snap_points(points, exact=exact)
        s = sp_.snapped
        comp = sp_.nearer_component
        nearer = pd.array(comp, dtype="Int64")
        nearer[comp < -1] = pd.NA
        return pd.DataFrame(
            {
                "link": s.link,
                "t": s.t,
                "x": s.x,
                "y": s.y,
                "snap_m": s.distance,
                "reason": sp_.reason,
                "nearer_component": nearer,
                "nearer_component_m": sp_.nearer_m,
            },
            index=sp_.index,
        )

    # ----------------------------------------------------------------------------------------
    # Costs (see coverage.network.costs)
    # ----------------------------------------------------------------------------------------

    def nearest(self, origins: Points, destinations: Points) -> pd.DataFrame:
        """Find every origin's nearest destination (:func:`coverage.network.costs.nearest`)."""
        return costsmod.nearest(self, origins, destinations)

    def cost_table(
        self,
        origins: Points,
        destinations: Points,
        *,
        max_cost: float,
        cost: str = "time_min",
    ) -> pd.DataFrame:
        """List pairs within ``max_cost`` (:func:`coverage.network.costs.cost_table`)."""
        return costsmod.cost_table(self, origins, destinations, max_cost=max_cost, cost=cost)

    def service_areas(
        self, sites: Points, minutes: float | Sequence[float], *, buffer_m: float = 50.0
    ) -> gpd.GeoDataFrame:
        """Catchment polygons of sites; see :func:`coverage.network.areas.service_areas`."""
        return areasmod.service_areas(self, sites, minutes, buffer_m=buffer_m)

    def check_offset(
        self, points: Points, *, name: str = "points", warn: bool = True
    ) -> OffsetCheck:
        """Detect a GCJ-02/BD-09 layer (:func:`coverage.network.offset_medians.check_offset`)."""
        return offset_medians.check_offset(self, points, name=name, warn=warn)

