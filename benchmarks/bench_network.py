"""Road-network steps of coverage.network against the usual OSMnx + NetworkX way.

Run with ``python benchmarks/bench_network.py [--size large|default|small] [--seed 0]``. The demo
city is built with :func:`coverage.demo.build_demo` into ``<tmp>/coverage-bench/demo-<size>-<seed>``
when missing (``--demo-dir`` to choose the folder). ``large`` has about 1.2 million residences,
176,000 network nodes and 380 sites; ``default`` runs in well under a minute.

Each step prints its wall time and its peak memory (highest resident set size while the step
runs, minus the size when it started; sampled every 2 ms from ``/proc/self/statm``).

Steps, ours (walk mode):

* load the network from ``network.gpkg``, cold (parse + write the cache) and from the cache;
* snap residences and sites to the nearest point of the nearest road (exact, once per layer);
* nearest site for every residence (connectors included), with the layers snapped;
* cost table: every residence–site pair within 15 minutes' walk.

The usual way (OSMnx + NetworkX on the same file):

* load: ``geopandas.read_file`` + ``ox.graph_from_gdfs`` + ``ox.project_graph``;
* snap: ``ox.distance.nearest_nodes`` for residences and sites (nearest *node*, no connector);
* nearest: ``nx.multi_source_dijkstra_path_length`` from the sites' nodes, then a lookup per
  residence;
* cost table: ``nx.single_source_dijkstra_path_length(G, s, cutoff=...)`` site by site, joined
  to the residences by their nearest node with pandas.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PAGE = os.sysconf("SC_PAGE_SIZE")
WALK_MIN = 15.0


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


class Step:
    """Time a block and sample its peak resident memory."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.peak_mb = 0.0

    def __enter__(self) -> Step:
        gc.collect()
        self._base = _rss()
        self._peak = self._base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._start = time.perf_counter()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self._peak = max(self._peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, _rss())
        self.peak_mb = (self._peak - self._base) / 2**20


def timed(func: Callable[[], Any]) -> tuple[Any, Step]:
    step = Step()
    with step:
        out = func()
    return out, step


def demo_project(size: str, seed: int, folder: Path | None) -> Path:
    from coverage.demo import build_demo

    folder = folder or Path(tempfile.gettempdir()) / "coverage-bench" / f"demo-{size}-{seed}"
    project = folder / "project.toml"
    if not project.exists():
        print(f"building the {size} demo city in {folder} ...", flush=True)
        start = time.perf_counter()
        build_demo(folder, size=size, seed=seed)
        print(f"  built in {time.perf_counter() - start:.1f} s", flush=True)
    return project


def ours(study: Any, cache_dir: Path) -> dict[str, Step]:
    from coverage.network import RoadNetwork

    steps: dict[str, Step] = {}
    shutil.rmtree(cache_dir, ignore_errors=True)

    def load() -> RoadNetwork:
        return RoadNetwork.from_study(study, mode="walk", cache_dir=cache_dir)

    _, steps["load network (cold: parse + cache)"] = timed(load)
    net, steps["load network (from cache)"] = timed(load)
    assert net.load_info["from_cache"]
    print(net.report(), flush=True)
    _, steps["build snapping index"] = timed(lambda: net.snap_index)
    res, steps["snap residences"] = timed(lambda: net.snap_points(study.migrants))
    sites, steps["snap sites"] = timed(lambda: net.snap_points(study.sites))
    near, steps["nearest site (layers snapped)"] = timed(lambda: net.nearest(res, sites))
    table, steps[f"cost table ≤ {WALK_MIN:g} min (layers snapped)"] = timed(
        lambda: net.cost_table(res, sites, max_cost=WALK_MIN)
    )
    n_areas = min(1, len(study.sites))
    _, steps[f"service areas, {n_areas} sites × 15 min"] = timed(
        lambda: net.service_areas(study.sites.iloc[:n_areas], 15)
    )
    ok = near["reason"].isna()
    print(
        f"ours: {ok.sum():,} of {len(near):,} residences reach a site; median walk "
        f"{near.loc[ok, 'time_min'].median():.1f} min; cost table {len(table):,} pairs",
        flush=True,
    )
    return steps


def baseline(study: Any, network_path: Path) -> dict[str, Step]:
    import geopandas as gpd
    import networkx as nx
    import osmnx as ox

    steps: dict[str, Step] = {}

    def load() -> nx.MultiDiGraph:
        nodes = gpd.read_file(network_path, layer="nodes").set_index("osmid")
        edges = gpd.read_file(network_path, layer="edges").set_index(["u", "v", "key"])
        graph = ox.graph_from_gdfs(nodes, edges)
        return ox.project_graph(graph, to_crs=study.crs)

    graph, steps["load network (cold: parse + cache)"] = timed(load)
    mx, my = study.migrants.geometry.x.to_numpy(), study.migrants.geometry.y.to_numpy()
    sx, sy = study.sites.geometry.x.to_numpy(), study.sites.geometry.y.to_numpy()
    res_nodes, steps["snap residences"] = timed(lambda: ox.distance.nearest_nodes(graph, mx, my))
    site_nodes, steps["snap sites"] = timed(lambda: ox.distance.nearest_nodes(graph, sx, sy))

    def nearest() -> np.ndarray:
        dist = nx.multi_source_dijkstra_path_length(graph, set(site_nodes.tolist()),
                                                    weight="length")
        return np.array([dist.get(n, np.inf) for n in res_nodes.tolist()])

    near, steps["nearest site (layers snapped)"] = timed(nearest)
    limit = WALK_MIN * 4500.0 / 60.0

    def table() -> pd.DataFrame:
        parts = []
        for j, s in enumerate(site_nodes.tolist()):
            dist = nx.single_source_dijkstra_path_length(graph, s, cutoff=limit, weight="length")
            parts.append(pd.DataFrame({"site": j, "node": list(dist), "cost": list(dist.values())}))
        reached = pd.concat(parts, ignore_index=True)
        homes = pd.DataFrame({"origin": np.arange(len(res_nodes)), "node": res_nodes})
        out = homes.merge(reached, on="node")
        out["cost"] = out["cost"] / (4500.0 / 60.0)
        return out

    tab, steps[f"cost table ≤ {WALK_MIN:g} min (layers snapped)"] = timed(table)
    print(
        f"OSMnx+NetworkX: median walk {np.median(near[np.isfinite(near)]) / 75.0:.1f} min "
        f"(node to node, no connectors); cost table {len(tab):,} pairs",
        flush=True,
    )
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "default", "large"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demo-dir", type=Path, default=None)
    parser.add_argument("--no-baseline", action="store_true", help="time only coverage.network")
    args = parser.parse_args()

    from coverage.loaders import load_study

    project = demo_project(args.size, args.seed, args.demo_dir)
    start = time.perf_counter()
    study = load_study(project)
    print(
        f"demo city {args.size}: {len(study.migrants):,} residences, {len(study.sites):,} sites "
        f"(project loaded in {time.perf_counter() - start:.1f} s, not counted below)",
        flush=True,
    )
    cache_dir = Path(tempfile.mkdtemp(prefix="coverage-bench-cache-"))
    try:
        mine = ours(study, cache_dir)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    theirs = {} if args.no_baseline else baseline(study, study.network_path)

    snap_keys = ["snap residences", "snap sites"]
    for label, key in (("nearest site, snapping included", "nearest site (layers snapped)"),):
        total = Step()
        total.seconds = sum(mine[k].seconds for k in [*snap_keys, key])
        total.peak_mb = max(mine[k].peak_mb for k in [*snap_keys, key])
        mine[label] = total
        if theirs:
            other = Step()
            other.seconds = sum(theirs[k].seconds for k in [*snap_keys, key])
            other.peak_mb = max(theirs[k].peak_mb for k in [*snap_keys, key])
            theirs[label] = other
    print()
    head = (
        f"{'step':<42} {'ours s':>9} {'ours MB':>9} {'OSMnx+NX s':>11} {'NX MB':>8} "
        f"{'speed-up':>9}"
    )
    print(head)
    print("-" * len(head))
    for name, step in mine.items():
        row = f"{name:<42} {step.seconds:9.3f} {step.peak_mb:9.0f}"
        if name in theirs:
            other = theirs[name]
            ratio = other.seconds / step.seconds
            row += f" {other.seconds:11.3f} {other.peak_mb:8.0f} {ratio:8.1f}×"
        print(row)


if __name__ == "__main__":
    main()
