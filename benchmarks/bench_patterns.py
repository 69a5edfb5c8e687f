"""Wall time and peak memory of every pattern step on the large demo city (1.2M migrants).

Run with ``python benchmarks/bench_patterns.py [demo_folder]``. Without a folder it uses the
large demo city that the other benchmarks build (``<tmp>/coverage-bench/demo-large-0``), and
builds it there with :func:`coverage.demo.build_demo` when missing (about 20 s).

The inputs of the patterns (loading the study, reading the network, each migrant's walking time
to the nearest service point) are prepared first and reported as "setup", not counted in the
pattern total. Then each step is timed on its own, with the peak of memory allocated during the
step (``tracemalloc``, which sees NumPy buffers; memory held before the step is not counted):

- ``poor_access``: the 20-minute rule;
- ``cluster_labels``: HDBSCAN (fitted on a 20,000-residence sample) and labels for everyone;
- ``describe_clusters``: per-cluster summaries, hulls and the network node minimising each
  cluster's total walking time (shortlist + one multi-source Dijkstra per cluster);
- ``hot_spots``: hexagon counts, Gi* with 9,999 conditional permutations, FDR, classes;
- ``inflow_trends``: arrivals per quarter (communities and hexagons), Theil–Sen,
  Mann–Kendall, emerging hot spots (12 quarterly Gi*), projection and early warning;
- ``origin_flows``, ``commute_flows``, ``workplace_clusters``: origins by province and
  prefecture to districts and communities, commuting corridors, workplaces.

Target: all pattern steps together under 60 s.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from coverage.io.loaders import load_study
from coverage.network import RoadNetwork
from coverage.patterns import (
    cluster_labels,
    commute_flows,
    describe_clusters,
    hot_spots,
    inflow_trends,
    origin_flows,
    poor_access,
    workplace_clusters,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_network as bn  # a sibling script, not a package

TARGET_S = 60.0


def find_demo(argv: list[str]) -> Path:
    if len(argv) > 1:
        folder = Path(argv[1])
        truth = folder / "ground_truth.json"
        if truth.exists() and json.loads(truth.read_text("utf-8")).get("size") != "large":
            print(f"note: {folder} is not the large demo city")
        return folder
    return bn.demo_project("large", 0, None).parent


def measure(name: str, func: Callable[[], Any], rows: list[tuple[str, float, float]]) -> Any:
    tracemalloc.start()
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows.append((name, seconds, peak / 2**20))
    print(f"  {name:<20} {seconds:8.2f} s  {peak / 2**20:9.1f} MB", flush=True)
    return result


def main(argv: list[str]) -> int:
    folder = find_demo(argv)
    print(f"demo city: {folder}")
    t0 = time.perf_counter()
    study = load_study(folder)
    net = RoadNetwork.from_study(study)
    migrants = study.migrants
    near = net.nearest(net.snap_points(migrants),
                       net.snap_points(study.sites.set_index("site_id", drop=False)))
    access = pd.DataFrame({"time_min": near["time_min"].to_numpy(),
                           "community_id": migrants["community_id"].to_numpy()})
    print(f"setup (load, network, nearest site): {time.perf_counter() - t0:.1f} s; "
          f"{len(migrants):,} migrants, {net.n_nodes:,} nodes")

    rows: list[tuple[str, float, float]] = []
    poor = measure("poor_access", lambda: poor_access(access), rows)
    labels = measure("cluster_labels", lambda: cluster_labels(migrants, poor.to_numpy()), rows)
    clusters = measure("describe_clusters", lambda: describe_clusters(
        migrants, access, labels.to_numpy(), network=net), rows)
    spots = measure("hot_spots", lambda: hot_spots(migrants, poor.to_numpy()), rows)
    trends = measure("inflow_trends", lambda: inflow_trends(
        migrants, study.communities, sites=study.sites), rows)
    measure("origin_flows", lambda: origin_flows(migrants, study.communities), rows)
    measure("commute_flows", lambda: commute_flows(migrants, communities=study.communities),
            rows)
    measure("workplace_clusters", lambda: workplace_clusters(
        migrants, sites=study.sites, communities=study.communities), rows)

    total = sum(r[1] for r in rows)
    print()
    print("| step | wall time (s) | peak memory (MB) |")
    print("|---|---:|---:|")
    for name, seconds, peak in rows:
        print(f"| {name} | {seconds:.2f} | {peak:.0f} |")
    print(f"| **all pattern steps** | **{total:.2f}** | {max(r[2] for r in rows):.0f} |")
    print()
    print(f"{int(poor.sum()):,} migrants with poor access; {len(clusters)} clusters "
          f"({int(clusters['migrants'].sum()):,} people); {len(spots):,} hexagons, "
          f"{int((spots['gi_bin'] >= 2).sum())} hot at >= 95 %; "
          f"{int(trends['emerging'].fillna(False).sum())} emerging units")
    ok = total < TARGET_S
    print(f"target < {TARGET_S:.0f} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
