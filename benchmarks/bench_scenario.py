"""What-if evaluation: adding one service point, incrementally and from scratch.

Run with ``python benchmarks/bench_scenario.py [--size default] [--repeat 5]``. Builds the demo
city (``coverage.demo``) when missing, prepares the baseline once, then times adding one service
point (a new station with 3 staff at a random place in the city, different each repeat) with
:meth:`ScenarioModel.evaluate` (incremental: one search from the new point) and with
:meth:`ScenarioModel.full` (everything routed again), and checks that both give the same table.
Target: < 200 ms per added site on the default demo city.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyproj

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_network as bn  # a sibling script, not a package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", choices=["small", "default", "large"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--demo-dir", type=Path, default=None)
    args = parser.parse_args()

    from coverage.engine.scenario import Edit, ScenarioModel

    project = bn.demo_project(args.size, args.seed, args.demo_dir)
    start = time.perf_counter()
    model = ScenarioModel(project)
    print(f"baseline prepared in {time.perf_counter() - start:.2f} s "
          f"({model.n_m:,} migrants, {len(model.baseline.sites)} sites)")
    to_wgs = pyproj.Transformer.from_crs(model.study.crs, 4326, always_xy=True)
    homes = model.study.migrants.geometry
    rng = np.random.default_rng(args.seed)
    inc, full = [], []
    for k in range(args.repeat):
        p = homes.iloc[int(rng.integers(len(homes)))]
        lon, lat = to_wgs.transform(p.x, p.y)
        edits = [Edit("add", f"NEW{k}", lon=lon, lat=lat, staff=3.0)]
        t = time.perf_counter()
        a = model.evaluate(edits)
        inc.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = model.full(edits)
        full.append(time.perf_counter() - t)
        same = np.array_equal(a.select_dtypes("number").to_numpy(),
                              b.select_dtypes("number").to_numpy(), equal_nan=True)
        print(f"  add site {k + 1}: incremental {inc[-1] * 1000:6.1f} ms | full "
              f"{full[-1] * 1000:7.1f} ms | identical: {same}")
    print(f"median: incremental {statistics.median(inc) * 1000:.1f} ms, full "
          f"{statistics.median(full) * 1000:.1f} ms (target < 200 ms on default)")


if __name__ == "__main__":
    main()
