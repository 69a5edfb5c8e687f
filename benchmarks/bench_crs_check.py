"""False alarms, detection rate and speed of the declared-coordinate-system check.

Run with ``python benchmarks/bench_crs_check.py [--seeds 20] [--no-default]``.

For every seed, correctly declared layers are built on two data sets and each is checked as
declared WGS-84, GCJ-02 and BD-09 while truly in that system (a *false alarm* is any system
named), then under the six wrong declarations (true system T, declared D ≠ T; *detected* when T
is named):

* the small demo city (built once, seed 0): its migrants (20,000, community ids from the file,
  each point jittered by 3 m and 15,000 sampled per seed), its service sites (51, jittered by
  5 m, roads and "inside any community" only) and its candidate sites (20, likewise);
* Guixi, Jiangxi (a real OpenStreetMap extract, walking network): 5,000 residences 5–60 m from
  random roads in 40 synthetic communities, and 30 and 20 service sites 5–60 m from random
  roads (roads only); new points for every seed.

Last, the check's time per layer is measured on the default demo city (200,000 migrants).
The OSM extract is read from the shared reference folder (``COVERAGE_REFERENCE`` or
``../shared/reference`` next to the project); without it the Guixi rows are skipped.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from coverage.demo import build_demo
from coverage.demo.synthetic import as_declared, near_roads, own_ids, voronoi_communities
from coverage.io.loaders import load_study
from coverage.network import RoadNetwork
from coverage.network.offsets import SYSTEMS, check_declaration

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("COVERAGE_REFERENCE", ROOT.parent / "shared" / "reference"))
GUIXI = SHARED / "osm" / "guixi_jiangxi.osm"



@dataclass
class Tally:
    """Outcomes of one layer over all seeds."""

    correct: int = 0
    false_alarms: int = 0
    seeds_with_alarm: set[int] = field(default_factory=set)
    wrong: int = 0
    detected: int = 0
    misnamed: int = 0
    missed: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def add(self, seed: int, true: str, declared: str, named: str | None, verdict: str,
            seconds: float) -> None:
        self.seconds.append(seconds)
        if true == declared:
            self.correct += 1
            if named is not None:
                self.false_alarms += 1
                self.seeds_with_alarm.add(seed)
        else:
            self.wrong += 1
            self.detected += named == true
            self.misnamed += named is not None and named != true
            if named is None:
                self.missed[verdict] = self.missed.get(verdict, 0) + 1


def check_all(tally: Tally, seed: int, net: RoadNetwork, x: np.ndarray, y: np.ndarray,
              **kwargs: object) -> None:
    """Check the points under all nine (true, declared) pairs."""
    for true in SYSTEMS:
        for declared in SYSTEMS:
            pts = as_declared(x, y, net.crs, true, declared)
            start = time.perf_counter()
            result = check_declaration(net, pts, declared=declared, name="layer", seed=seed,
                                       **kwargs)  # type: ignore[arg-type]
            tally.add(seed, true, declared, result.likely_system, result.verdict,
                      time.perf_counter() - start)


def report(label: str, tally: Tally, seeds: int) -> None:
    times = np.array(tally.seconds)
    missed = ", ".join(f"{k} {v}" for k, v in sorted(tally.missed.items())) or "-"
    print(f"  {label:<22} false alarms {tally.false_alarms}/{tally.correct} "
          f"(seeds with any: {len(tally.seeds_with_alarm)}/{seeds})  detected "
          f"{tally.detected}/{tally.wrong} ({tally.detected / max(tally.wrong, 1):.1%}; "
          f"missed as: {missed})  wrong name {tally.misnamed}  time/layer median "
          f"{np.median(times):.3f} s, max {times.max():.3f} s")


def bench_demo(seeds: int, folder: Path) -> None:
    build_demo(folder / "small", size="small", seed=0)
    study = load_study(folder / "small")
    net = RoadNetwork.from_study(study, mode="walk", cache=False)
    migrants, sites = study.migrants, study.sites
    mx, my = shapely.get_x(migrants.geometry.values), shapely.get_y(migrants.geometry.values)
    sx, sy = shapely.get_x(sites.geometry.values), shapely.get_y(sites.geometry.values)
    cand = study.layers["candidates"].geometry.values
    cx, cy = shapely.get_x(cand), shapely.get_y(cand)
    ids = migrants["community_id"].to_numpy()
    t_m, t_s, t_c = Tally(), Tally(), Tally()
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        keep = np.sort(rng.choice(len(mx), size=15_000, replace=False))
        jx, jy = rng.normal(0.0, 3.0, (2, len(keep)))
        check_all(t_m, seed, net, mx[keep] + jx, my[keep] + jy,
                  communities=study.communities, community_ids=ids[keep])
        jx, jy = rng.normal(0.0, 5.0, (2, len(sx)))
        check_all(t_s, seed, net, sx + jx, sy + jy, communities=study.communities)
        jx, jy = rng.normal(0.0, 5.0, (2, len(cx)))
        check_all(t_c, seed, net, cx + jx, cy + jy, communities=study.communities)
    print(f"small demo city ({net.n_links:,} links), {seeds} seeds:")
    report(f"migrants ({len(keep):,})", t_m, seeds)
    report(f"sites ({len(sx)})", t_s, seeds)
    report(f"candidate sites ({len(cx)})", t_c, seeds)


def bench_guixi(seeds: int) -> None:
    if not GUIXI.exists():
        print(f"Guixi skipped: {GUIXI} is absent (set COVERAGE_REFERENCE)")
        return
    net = RoadNetwork.from_file(GUIXI, mode="walk", cache=False)
    t_r, t_s, t_small = Tally(), Tally(), Tally()
    for seed in range(seeds):
        rng = np.random.default_rng(2000 + seed)
        rx, ry = near_roads(net, 5_000, rng)
        communities = voronoi_communities(rx, ry, 40, rng, net.crs)
        check_all(t_r, seed, net, rx, ry, communities=communities,
                  community_ids=own_ids(rx, ry, communities))
        check_all(t_s, seed, net, *near_roads(net, 30, rng))
        check_all(t_small, seed, net, *near_roads(net, 20, rng))
    print(f"Guixi, Jiangxi (OSM, {net.n_links:,} links), {seeds} seeds:")
    report("residences (5,000)", t_r, seeds)
    report("sites (30)", t_s, seeds)
    report("sites (20)", t_small, seeds)


def bench_default(folder: Path) -> None:
    build_demo(folder / "default", size="default", seed=0)
    study = load_study(folder / "default")
    net = RoadNetwork.from_study(study, mode="walk", cache=False)
    migrants = study.migrants
    mx, my = shapely.get_x(migrants.geometry.values), shapely.get_y(migrants.geometry.values)
    ids = migrants["community_id"].to_numpy()
    print(f"default demo city ({len(migrants):,} migrants, {len(study.sites)} sites, "
          f"{net.n_links:,} links), time per layer (sample 20,000):")
    for true, declared in (("wgs84", "wgs84"), ("gcj02", "wgs84"), ("wgs84", "bd09")):
        pts = as_declared(mx, my, net.crs, true, declared)
        for kwargs in ({}, {"communities": study.communities, "community_ids": ids}):
            start = time.perf_counter()
            result = check_declaration(net, pts, declared=declared, name="migrants.csv",
                                       **kwargs)  # type: ignore[arg-type]
            seconds = time.perf_counter() - start
            extra = "with own communities" if kwargs else "roads only"
            print(f"  migrants true {true:<5} declared {declared:<5} {extra:<21} "
                  f"{seconds:6.3f} s -> {result.verdict} {result.likely_system or ''}")
    start = time.perf_counter()
    result = check_declaration(net, study.sites, declared="gcj02", name="sites.csv",
                               communities=study.communities)
    print(f"  sites    true gcj02 declared gcj02 {'roads + communities':<21} "
          f"{time.perf_counter() - start:6.3f} s -> {result.verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--no-default", action="store_true",
                        help="skip the timing on the default demo city (builds it, ~15 s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-crs-check-") as tmp:
        os.environ.setdefault("COVERAGE_CACHE_DIR", str(Path(tmp) / "cache"))
        bench_demo(args.seeds, Path(tmp))
        bench_guixi(args.seeds)
        if not args.no_default:
            bench_default(Path(tmp))


if __name__ == "__main__":
    main()
