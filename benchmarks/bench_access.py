"""The main job and its routing and access steps, side by side with the usual tools, in one run.

Run with ``python benchmarks/bench_access.py [--size large] [--also default]``. Prints:

1. ``coverage run`` on the demo city: wall time and peak memory of every step and in total
   (in a fresh process, network cache cold and then warm), and the same for each ``--also`` size;
2. the routing steps of :mod:`coverage.network` against OSMnx + NetworkX on the same network
   file (load, snap, nearest site for every residence, cost table within 15 minutes, service
   areas) — see ``benchmarks/bench_network.py``, whose functions this script calls;
3. 2SFCA on the cost table of the run (every residence–site pair within 15 minutes' walk,
   demand 1 per migrant, supply the sites' staff): :func:`coverage.measures.access.two_step_fca`
   against
   PySAL ``access`` (``Access.two_stage_fca``) on the same table, with the largest difference.

Targets (the routing issue): whole ``coverage run`` on ``large`` < 60 s and < 6 GB; nearest
site ≥ 5× and cost table ≥ 10× faster than OSMnx + NetworkX; 2SFCA ≥ 3× faster than PySAL with
equal results; ``coverage run`` on ``default`` < 15 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_network as bn  # a sibling script, not a package

RUN_SCRIPT = r"""
import json, os, sys, threading, time
PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE
peaks, current = {}, ["start"]
def sample():
    while True:
        peaks[current[0]] = max(peaks.get(current[0], 0), rss())
        time.sleep(0.005)
threading.Thread(target=sample, daemon=True).start()
from coverage.engine.run import run_study, write_results
start = time.perf_counter()
def step(name):
    current[0] = name
results = run_study(sys.argv[1], progress=step)
current[0] = "writing results"
t = time.perf_counter()
write_results(results, sys.argv[2])
timings = dict(results.timings)
timings["writing results"] = time.perf_counter() - t
total = time.perf_counter() - start
print(json.dumps({"timings": timings, "peaks_mb": {k: v / 2**20 for k, v in peaks.items()},
                  "total_s": total}))
"""


def run_main_job(project: Path, cache: Path) -> dict:
    """Run ``coverage run`` in a fresh process; return timings, peaks and the process's peak."""
    out = Path(tempfile.mkdtemp(prefix="coverage-bench-results-"))
    env = {**os.environ, "COVERAGE_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", RUN_SCRIPT, str(project), str(out)],
        capture_output=True, text=True, env=env, check=False,
    )
    wall = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:])
        msg = f"coverage run failed on {project}"
        raise RuntimeError(msg)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["wall_s"] = wall
    data["process_peak_mb"] = max(data["peaks_mb"].values())
    return data


def print_main_job(label: str, data: dict) -> None:
    print(f"\n{label}: coverage run, wall {data['wall_s']:.1f} s with interpreter start and "
          f"imports ({data['total_s']:.1f} s without), peak memory "
          f"{data['process_peak_mb']:,.0f} MB")
    print(f"  {'step':<48} {'seconds':>8} {'peak RSS MB':>12}")
    for name, seconds in data["timings"].items():
        peak = data["peaks_mb"].get(name, float("nan"))
        print(f"  {name:<48} {seconds:8.2f} {peak:12.0f}")


def access_comparison(project: Path) -> None:
    """2SFCA ours vs PySAL access on the run's 15-minute cost table."""
    from access import Access

    from coverage.io.loaders import load_study
    from coverage.measures.access import two_step_fca
    from coverage.network import RoadNetwork

    study = load_study(project)
    net = RoadNetwork.from_study(study)
    homes = net.snap_points(study.migrants)
    sites_idx = study.sites.set_index("site_id", drop=False)
    sites = net.snap_points(sites_idx)
    costs = net.cost_table(homes, sites, max_cost=15.0)
    demand = pd.Series(1.0, index=pd.RangeIndex(len(study.migrants)))
    supply = sites_idx["staff"].astype(float)
    print(f"\n2SFCA on the 15-minute cost table: {len(costs):,} pairs, {len(demand):,} origins, "
          f"{len(supply):,} sites")

    def ours() -> pd.Series:
        return two_step_fca(demand, supply, costs, max_cost=15.0)

    demand_df = pd.DataFrame({"origin": demand.index, "pop": demand.to_numpy()})
    supply_df = pd.DataFrame({"destination": supply.index, "staff": supply.to_numpy()})
    cost_df = costs.rename(columns={"cost": "minutes"})

    def pysal() -> pd.Series:
        acc = Access(demand_df=demand_df, demand_index="origin", demand_value="pop",
                     supply_df=supply_df, supply_index="destination", supply_value="staff",
                     cost_df=cost_df, cost_origin="origin", cost_dest="destination",
                     cost_name="minutes")
        out = acc.two_stage_fca(name="2sfca", max_cost=15.0, normalize=False)
        return out.iloc[:, 0]

    # Alternating runs, the fastest of each side (as for the routing steps).
    mine, step_ours, theirs, step_theirs = bn.duel(ours, pysal)
    theirs = theirs.reindex(demand.index).fillna(0.0)
    diff = float(np.max(np.abs(theirs.to_numpy() - mine.to_numpy())))
    best, t_theirs = step_ours.seconds, step_theirs.seconds
    print(f"  {'2SFCA':<10} ours {best:.3f} s | PySAL access {t_theirs:.3f} s | "
          f"{t_theirs / best:.1f}× | max abs difference {diff:.2e} "
          f"(best of {bn.SETTINGS['repeat']} alternating runs each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "default", "large"])
    parser.add_argument("--also", action="append", default=[], choices=["small", "default"],
                        help="also time coverage run on this size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demo-dir", type=Path, default=None)
    parser.add_argument("--skip-routing", action="store_true",
                        help="skip the OSMnx + NetworkX comparison")
    args = parser.parse_args()

    project = bn.demo_project(args.size, args.seed, args.demo_dir)
    cache = Path(tempfile.mkdtemp(prefix="coverage-bench-cache-"))
    try:
        cold = run_main_job(project, cache)
        print_main_job(f"{args.size} (network cache cold)", cold)
        warm = run_main_job(project, cache)
        print_main_job(f"{args.size} (network cache warm)", warm)
        for size in args.also:
            other = bn.demo_project(size, args.seed, None)
            run_main_job(other, cache)  # fill the cache
            print_main_job(f"{size} (network cache warm)", run_main_job(other, cache))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if not args.skip_routing:
        print("\nRouting steps against OSMnx + NetworkX:")
        sys.argv = [sys.argv[0], "--size", args.size, "--seed", str(args.seed),
                    "--demo-dir", str(project.parent)]
        bn.main()
    access_comparison(project)


if __name__ == "__main__":
    main()
