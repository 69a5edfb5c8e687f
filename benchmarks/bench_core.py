"""Snapping and the nearest-site query at scale, against OSMnx + NetworkX, in one run.

Run with ``python benchmarks/bench_core.py [--residences 1000000] [--side 290] [--sites 150]
[--repeat 5] [--seed 0]``. The street grid and its network cache are built once into
``<tmp>/coverage-bench/core-<side>-<seed>`` (``--folder`` to choose).

The city is synthetic and built to look like a real one rather than a lattice: a grid of
``--side`` × ``--side`` intersections (80 m blocks, about 23 km across) bent by a gentle warp
and jittered by a few metres, one street side in eight missing, a diagonal footway across one
block in twenty, a bend drawn in one street piece in four, main roads every tenth line, and a
gated compound in one block in 56 (about 1,500): a ring road of four nodes with a spur inside
the block, joined to no street (small disconnected components, nearer than the street to the
people living in them). 91,544 nodes in all, written in the OSMnx GeoPackage layout (layers
``nodes`` and ``edges``, one edge per direction, WGS-84), the form ``coverage`` reads.

Two cases of ``--residences`` (a million) residences, each with ``--sites`` (150) sites drawn
from its residences:

* **uniform**: scattered uniformly over the city;
* **clustered**: as in the demo city, residences spread over the lots between the streets,
  the lots weighted by a few hundred neighbourhoods of different sizes, with dense urban
  villages and empty blocks (parks, factories).

Ours is what the main job does (``coverage.engine.run``): the network loaded from the disk
cache (before timing; with its snapping index and grid), then ``RoadNetwork.snap_points`` for
the residences and for the sites and ``RoadNetwork.nearest`` (nearest site by network
distance, connectors included, with why a residence has none). Theirs is the usual way on the
same file: ``ox.distance.nearest_nodes`` for residences and sites, then
``nx.multi_source_dijkstra_path_length`` from the sites' nodes and a lookup per residence (as
in ``benchmarks/bench_network.py``). Both read the coordinates from the layers' geometries
inside the timed step. Each step runs ``--repeat`` times, **ours and theirs alternating**;
the fastest run of each side is shown, with its peak memory (see ``bench_network.py``).

The answers are then compared: the nearest site of each residence (theirs from
``nx.multi_source_dijkstra``, untimed), over the residences both sides route and over those
away from the edges of catchments (the 8 graph nodes nearest the residence all closest to one
site). Theirs attaches a site inside a compound to one of the compound's nodes, from which it
reaches nobody outside; the residences ours routes to such sites are counted apart.

``--save FILE`` keeps ours' answers (every snapped array, the nearest-site table) in a pickle;
``--check FILE`` compares them with a saved file exactly (``np.array_equal``,
``DataFrame.equals``), for a change to the code that must not change a result.

Measured
--------
On this machine (2 cores, shared with other work: load average 6 to 8 during the runs),
``--repeat 7``, network loaded from the cache in 0.7 s (cold: 29 s, the snapping grid built
and kept):

=========================  ========  ==============  ========  =========================
residences                 ours s    OSMnx + NX s    ratio     ratio, three runs
=========================  ========  ==============  ========  =========================
1,000,000 uniform          0.584     4.657           8.0×      5.7× to 8.0×
1,000,000 clustered        0.843     4.536           5.4×      5.0× to 6.0×
=========================  ========  ==============  ========  =========================

Ours: snap residences 0.37 s and 0.68 s, snap sites 2 to 4 ms, nearest site 0.21 s and
0.16 s; peak memory 162 MB and 45 MB (theirs 53 MB and 23 MB). Before the changes that came
with this benchmark (the search for nearer roads of other components on every point, see
``docs/scale.md``), ours took 6.27 s and 4.79 s (0.8× and 0.9×) with 690 MB; the answers are
the same to the last bit (``--check``). Both sides' answers agree: the same nearest site for
97.1 % and 96.2 % of the residences both route, 99.6 % and 99.5 % of those away from the
edges of catchments (the rest: connectors and nearest-node attachment). Ours uses both
cores where it can (snapping and the per-residence steps of the nearest query in chunks on
two threads); on a busy machine it mostly has one, and its times vary more than theirs.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_network as bn  # a sibling script, not a package

CRS = "EPSG:32650"  # UTM 50N, the study's metric system
ORIGIN = (700_000.0, 2_480_000.0)  # south-west corner of the city, UTM metres
SPACING_M = 80.0
#: Blocks per gated compound (1,500 compounds on the default grid).
BLOCKS_PER_COMPOUND = 56
SNAP_RES, SNAP_SITES, NEAREST, TOTAL = (
    "snap residences", "snap sites", "nearest site, layers snapped", "snap + nearest site")


# ---------------------------------------------------------------------------------------------
# The city
# ---------------------------------------------------------------------------------------------


def _warp(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bend the city's straight lines gently (by up to 35 m over a few kilometres)."""
    return x + 35.0 * np.sin(y / 1_700.0), y + 35.0 * np.sin(x / 2_300.0)


def _streets(side: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Jittered, warped grid nodes and its street pieces (u, v, kind: 0 minor, 1 main, 2 foot)."""
    i, j = np.meshgrid(np.arange(side), np.arange(side))
    x, y = _warp(i.ravel() * SPACING_M, j.ravel() * SPACING_M)
    x += rng.normal(0, 6.0, x.size)
    y += rng.normal(0, 6.0, y.size)
    node = np.arange(side * side).reshape(side, side)  # [row j, column i]
    u = np.r_[node[:, :-1].ravel(), node[:-1, :].ravel()]
    v = np.r_[node[:, 1:].ravel(), node[1:, :].ravel()]
    main = np.r_[(np.arange(side)[:, None] % 10 == 0).repeat(side - 1, axis=1).ravel(),
                 (np.arange(side)[None, :] % 10 == 0).repeat(side - 1, axis=0).ravel()]
    keep = main | (rng.random(u.size) > 0.125)  # one minor street side in eight missing
    u, v, kind = u[keep], v[keep], main[keep].astype(np.int64)
    cells = rng.choice((side - 1) ** 2, size=(side - 1) ** 2 // 20, replace=False)
    ci, cj = cells % (side - 1), cells // (side - 1)
    flip = rng.random(cells.size) < 0.5
    du = np.where(flip, node[cj, ci + 1], node[cj, ci])
    dv = np.where(flip, node[cj + 1, ci], node[cj + 1, ci + 1])
    return x, y, np.r_[u, du], np.r_[v, dv], np.r_[kind, np.full(cells.size, 2)]


def _compounds(side: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Gated compounds: a ring of four nodes and a spur inside a block, joined to no street."""
    n = (side - 1) ** 2 // BLOCKS_PER_COMPOUND
    cells = rng.choice((side - 1) ** 2, size=n, replace=False)
    cx = (cells % (side - 1) + 0.5) * SPACING_M + rng.normal(0, 3.0, n)
    cy = (cells // (side - 1) + 0.5) * SPACING_M + rng.normal(0, 3.0, n)
    half = rng.uniform(10.0, 18.0, n)
    corner_x = np.array([-1.0, 1.0, 1.0, -1.0, 0.0])
    corner_y = np.array([-1.0, -1.0, 1.0, 1.0, 0.0])
    x, y = _warp((cx[:, None] + corner_x * half[:, None]).ravel(),
                 (cy[:, None] + corner_y * half[:, None]).ravel())
    first = 5 * np.arange(n)[:, None]
    u = (first + np.array([0, 1, 2, 3, 0])).ravel()
    v = (first + np.array([1, 2, 3, 0, 4])).ravel()
    return x, y, u, v


def _bends(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
           rng: np.random.Generator) -> shapely.Geometry:
    """Street geometries: straight, or (one in four) bent by a few metres at the middle."""
    bent = rng.random(u.size) < 0.25
    ax, ay, bx, by = x[u], y[u], x[v], y[v]
    length = np.hypot(bx - ax, by - ay)
    off = rng.normal(0.0, 4.0, u.size) * bent
    mx = (ax + bx) / 2 - off * (by - ay) / length
    my = (ay + by) / 2 + off * (bx - ax) / length
    n_vert = np.where(bent, 3, 2)
    coords = np.column_stack([ax, ay, mx, my, bx, by]).reshape(-1, 3, 2)
    keep = np.ones((u.size, 3), dtype=bool)
    keep[:, 1] = bent
    return shapely.linestrings(coords[keep], indices=np.repeat(np.arange(u.size), n_vert))


def build_city(path: Path, side: int, seed: int) -> dict[str, Any]:
    """Write the street grid as an OSMnx-layout GeoPackage; return its counts and blocks."""
    rng = np.random.default_rng(seed)
    x, y, u, v, kind = _streets(side, rng)
    cx, cy, cu, cv = _compounds(side, rng)
    base = x.size
    x, y = np.r_[x, cx], np.r_[y, cy]
    u, v = np.r_[u, base + cu], np.r_[v, base + cv]
    kind = np.r_[kind, np.full(cu.size, 3)]
    used = np.zeros(x.size, dtype=bool)
    used[u] = used[v] = True  # nodes left without a street are dropped, as in OSM
    new = np.cumsum(used) - 1
    x, y, u, v = x[used], y[used], new[u], new[v]
    x, y = x + ORIGIN[0], y + ORIGIN[1]
    lines = _bends(x, y, u, v, rng)
    to_wgs = pyproj.Transformer.from_crs(CRS, 4326, always_xy=True)
    lon, lat = to_wgs.transform(x, y)
    lines = shapely.transform(lines, lambda c: np.column_stack(to_wgs.transform(c[:, 0], c[:, 1])))
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    seg = pyproj.Geod(ellps="WGS84").inv(coords[:-1, 0], coords[:-1, 1],
                                         coords[1:, 0], coords[1:, 1])[2]
    seg[owner[1:] != owner[:-1]] = 0.0
    length = np.bincount(owner[:-1], weights=seg, minlength=u.size)
    osmid = np.arange(1, x.size + 1, dtype=np.int64)
    degree = np.bincount(np.r_[u, v], minlength=x.size)
    nodes = gpd.GeoDataFrame({"osmid": osmid, "y": lat, "x": lon, "street_count": degree},
                             geometry=shapely.points(lon, lat), crs="EPSG:4326")
    highway = np.array(["residential", "primary", "footway", "service"], dtype=object)[kind]
    both = np.r_[np.arange(u.size), np.arange(u.size)]
    rev = np.r_[np.zeros(u.size, dtype=bool), np.ones(u.size, dtype=bool)]
    geoms = np.r_[lines, shapely.reverse(lines)]
    edges = gpd.GeoDataFrame(
        {"u": osmid[np.r_[u, v]], "v": osmid[np.r_[v, u]], "key": np.zeros(both.size, np.int64),
         "osmid": both + 1, "highway": highway[both], "oneway": False, "reversed": rev,
         "length": np.round(length[both], 3)},
        geometry=geoms, crs="EPSG:4326")
    order = np.lexsort((edges["v"].to_numpy(), edges["u"].to_numpy()))
    edges = edges.iloc[order].reset_index(drop=True)
    nodes.to_file(path, layer="nodes", driver="GPKG")
    edges.to_file(path, layer="edges", driver="GPKG")
    return {"nodes": int(x.size), "edges": int(u.size), "side": side}


def residences(case: str, n: int, side: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` residences of ``case`` (uniform or clustered) in the study CRS."""
    rng = np.random.default_rng(seed + (1 if case == "uniform" else 2))
    span = (side - 1) * SPACING_M
    if case == "uniform":
        x, y = rng.uniform(0, span, n), rng.uniform(0, span, n)
    else:
        blocks = (side - 1) ** 2
        bx = (np.arange(blocks) % (side - 1) + 0.5) * SPACING_M
        by = (np.arange(blocks) // (side - 1) + 0.5) * SPACING_M
        weight = np.full(blocks, 0.02)
        for _ in range(300):  # neighbourhoods: a centre, a reach and a size
            px, py = rng.uniform(0, span, 2)
            reach = rng.uniform(250.0, 1_200.0)
            weight += rng.lognormal(0.0, 1.0) * np.exp(
                -((bx - px) ** 2 + (by - py) ** 2) / (2 * reach**2))
        weight[rng.random(blocks) < 0.05] *= 8.0  # urban villages
        weight[rng.random(blocks) < 0.25] = 0.0  # parks, factories, water
        lot = rng.choice(blocks, size=n, p=weight / weight.sum())
        half = 0.4 * SPACING_M
        x = bx[lot] + rng.uniform(-half, half, n)
        y = by[lot] + rng.uniform(-half, half, n)
    x, y = _warp(x, y)  # follow the streets
    x, y = x + ORIGIN[0], y + ORIGIN[1]
    return gpd.GeoDataFrame(geometry=shapely.points(np.round(x, 2), np.round(y, 2)), crs=CRS)


def sites_of(homes: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` sites at residences drawn at random, indexed by ``site_id`` as in the main job."""
    rng = np.random.default_rng(seed + 3)
    pick = np.sort(rng.choice(len(homes), size=n, replace=False))
    ids = pd.Index([f"S{k:04d}" for k in range(n)], name="site_id")
    return gpd.GeoDataFrame({"site_id": ids}, geometry=homes.geometry.to_numpy()[pick],
                            crs=CRS, index=ids)


# ---------------------------------------------------------------------------------------------
# Ours, theirs, and their answers compared
# ---------------------------------------------------------------------------------------------


def load_ours(path: Path, cache: Path) -> Any:
    """Load the network twice (cold, then from the disk cache, as the main job does)."""
    from coverage.network import RoadNetwork

    shutil.rmtree(cache, ignore_errors=True)
    for name in ("cold", "from cache"):
        start = time.perf_counter()
        net = RoadNetwork.from_file(path, mode="walk", crs=CRS, cache_dir=cache)
        print(f"  ours: network loaded {name} in {time.perf_counter() - start:.1f} s", flush=True)
    assert net.load_info["from_cache"] and net.grid_info["from_cache"]
    return net


def load_theirs(path: Path) -> Any:
    import osmnx as ox

    start = time.perf_counter()
    nodes = gpd.read_file(path, layer="nodes").set_index("osmid")
    edges = gpd.read_file(path, layer="edges").set_index(["u", "v", "key"])
    graph = ox.project_graph(ox.graph_from_gdfs(nodes, edges), to_crs=CRS)
    print(f"  OSMnx: graph built and projected in {time.perf_counter() - start:.1f} s",
          flush=True)
    return graph


def run_case(net: Any, graph: Any, homes: gpd.GeoDataFrame, sites: gpd.GeoDataFrame
             ) -> tuple[dict[str, bn.Step], dict[str, bn.Step], dict[str, Any], np.ndarray]:
    """Ours and theirs, alternating: snap residences, snap sites, nearest site."""
    import networkx as nx
    import osmnx as ox

    mine: dict[str, bn.Step] = {}
    theirs: dict[str, bn.Step] = {}

    def snap(layer: gpd.GeoDataFrame) -> Any:
        return lambda: ox.distance.nearest_nodes(graph, layer.geometry.x.to_numpy(),
                                                 layer.geometry.y.to_numpy())

    res, mine[SNAP_RES], res_nodes, theirs[SNAP_RES] = bn.duel(
        lambda: net.snap_points(homes), snap(homes))
    st, mine[SNAP_SITES], site_nodes, theirs[SNAP_SITES] = bn.duel(
        lambda: net.snap_points(sites), snap(sites))

    def fresh() -> None:  # the first query derives arrays from the snaps: so does every repeat
        res.derived.clear()
        st.derived.clear()

    def their_nearest() -> np.ndarray:
        dist = nx.multi_source_dijkstra_path_length(graph, set(site_nodes.tolist()),
                                                    weight="length")
        return np.array([dist.get(n, np.inf) for n in res_nodes.tolist()])

    near, mine[NEAREST], _, theirs[NEAREST] = bn.duel(
        lambda: net.nearest(res, st), their_nearest, fresh)
    for side in (mine, theirs):
        side[TOTAL] = bn.combine(side, [SNAP_RES, SNAP_SITES, NEAREST])
    answers = {"residences": _snap_arrays(res), "sites": _snap_arrays(st), "nearest": near}
    return mine, theirs, answers, np.asarray(res_nodes)


def _snap_arrays(snapped: Any) -> dict[str, np.ndarray]:
    s = snapped.snapped
    return {"link": s.link, "t": s.t, "distance": s.distance, "x": s.x, "y": s.y,
            "reason": snapped.reason, "nearer_component": snapped.nearer_component,
            "nearer_m": snapped.nearer_m}


def agreement(graph: Any, near: pd.DataFrame, homes: gpd.GeoDataFrame,
              sites: gpd.GeoDataFrame, res_nodes: np.ndarray) -> str:
    """Share of residences with the same nearest site on both sides (theirs untimed).

    Theirs attaches a site to its nearest node, which for a site inside a gated compound is
    one of the compound's: such a site serves only the compound. The shares are given over
    the residences whose nearest site (ours) is one of the others, all of them and those away
    from the edges of catchments (their 8 nearest nodes all nearest to one site, theirs).
    """
    import networkx as nx
    import osmnx as ox
    from scipy.spatial import cKDTree

    site_nodes = ox.distance.nearest_nodes(graph, sites.geometry.x.to_numpy(),
                                           sites.geometry.y.to_numpy())
    site_of = {int(n): label for n, label in zip(site_nodes.tolist(), sites.index, strict=True)}
    _, paths = nx.multi_source_dijkstra(graph, set(site_of), weight="length")
    ids = np.array(list(graph.nodes))
    owner = pd.Series({n: site_of[p[0]] for n, p in paths.items()}).reindex(ids).to_numpy()
    theirs = pd.Series(owner, index=ids).reindex(res_nodes).to_numpy()
    ours = near["destination"].to_numpy(dtype=object)
    main = max(nx.weakly_connected_components(graph), key=len)
    cut_off = sites.index[[n not in main for n in site_nodes.tolist()]]
    both = pd.notna(theirs) & pd.notna(ours) & ~pd.Series(ours).isin(cut_off).to_numpy()
    same = both & (theirs == ours)
    xy = np.column_stack([[graph.nodes[n]["x"] for n in ids], [graph.nodes[n]["y"] for n in ids]])
    hx, hy = homes.geometry.x.to_numpy(), homes.geometry.y.to_numpy()
    eight = cKDTree(xy).query(np.column_stack([hx, hy]), k=8)[1]
    codes = pd.factorize(owner)[0][eight]  # -1: a node no site reaches
    inside = both & (codes == codes[:, :1]).all(axis=1)
    return (
        f"theirs puts {len(cut_off)} sites on a compound's node (ours routes "
        f"{pd.Series(ours).isin(cut_off).mean():.1%} of residences to them). Over the other "
        f"{both.sum():,} residences both sides route, same nearest site for "
        f"{same.sum() / both.sum():.1%}; {same[inside].sum() / inside.sum():.2%} of the "
        f"{inside.sum():,} away from catchment edges. Unreachable: ours "
        f"{(~pd.notna(ours)).sum():,}, theirs {(~pd.notna(theirs)).sum():,} (their nearest "
        "node is a compound's)"
    )


def same_answers(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Names of the saved answers that differ from ``now`` (exact comparison)."""
    differ = []
    for case, layers in saved.items():
        for layer, arrays in layers.items():
            if layer == "nearest":
                if not arrays.equals(now[case][layer]):
                    differ.append(f"{case} nearest")
                continue
            for name, values in arrays.items():
                other = now[case][layer][name]
                equal = (values.dtype == other.dtype and values.shape == other.shape
                         and (values.tobytes() == other.tobytes() if values.dtype != object
                              else np.array_equal(values, other)))
                if not equal:
                    differ.append(f"{case} {layer}.{name}")
    return differ


def table(case: str, mine: dict[str, bn.Step], theirs: dict[str, bn.Step]) -> None:
    head = (f"{case:<30} {'ours s':>8} {'ours MB':>8} {'OSMnx+NX s':>11} {'NX MB':>7} "
            f"{'speed-up':>9}")
    print(head)
    print("-" * len(head))
    for name in (SNAP_RES, SNAP_SITES, NEAREST, TOTAL):
        a, b = mine[name], theirs[name]
        print(f"{name:<30} {a.seconds:8.3f} {a.peak_mb:8.0f} {b.seconds:11.3f} {b.peak_mb:7.0f} "
              f"{b.seconds / a.seconds:8.1f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residences", type=int, default=1_000_000)
    parser.add_argument("--side", type=int, default=290, help="intersections per grid side")
    parser.add_argument("--sites", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=bn.SETTINGS["repeat"])
    parser.add_argument("--cases", default="uniform,clustered")
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--save", type=Path, default=None, help="keep ours' answers here")
    parser.add_argument("--check", type=Path, default=None,
                        help="compare ours' answers with a file written by --save")
    args = parser.parse_args()
    bn.SETTINGS["repeat"] = max(1, args.repeat)
    folder = args.folder or (Path(tempfile.gettempdir()) / "coverage-bench"
                             / f"core-{args.side}-{args.seed}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "network.gpkg"
    if not path.exists():
        start = time.perf_counter()
        counts = build_city(path, args.side, args.seed)
        print(f"built {counts['nodes']:,} nodes, {counts['edges']:,} street pieces in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    net = load_ours(path, folder / "cache")
    print(net.report(), flush=True)
    graph = load_theirs(path)
    answers = {}
    for case in args.cases.split(","):
        homes = residences(case, args.residences, args.side, args.seed)
        sites = sites_of(homes, args.sites, args.seed)
        print(f"\n{case}: {len(homes):,} residences, {len(sites)} sites", flush=True)
        mine, theirs, answers[case], res_nodes = run_case(net, graph, homes, sites)
        print(agreement(graph, answers[case]["nearest"], homes, sites, res_nodes), flush=True)
        print()
        table(case, mine, theirs)
    if args.save:
        with open(args.save, "wb") as handle:
            pickle.dump(answers, handle)
    if args.check:
        with open(args.check, "rb") as handle:
            differ = same_answers(pickle.load(handle), answers)
        print("\nours' answers " + ("identical to the saved ones" if not differ
                                    else "DIFFER from the saved ones: " + ", ".join(differ)))


if __name__ == "__main__":
    main()
