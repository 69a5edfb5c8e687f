"""Benchmark the placement models.

1. OR-Library pmed1–pmed20: p_median time per instance against the published optimum
   (target < 60 s each).
2. Maximal covering on a 2,000-demand × 500-candidate instance: ours (HiGHS) against spopt's
   ``MCLP.from_cost_matrix`` + CBC, end to end (build + solve), same data, side by side.

Run: ``python benchmarks/bench_placement.py [--skip-orlib] [--skip-spopt]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

from coverage.placement import max_coverage, p_median
from coverage.placement.orlib import read_pmed

REFERENCE = Path(
    os.environ.get("COVERAGE_REFERENCE")
    or Path(__file__).resolve().parents[2] / "shared" / "reference"
)


def bench_orlib() -> None:
    folder = REFERENCE / "orlib"
    if not folder.is_dir():
        print(f"OR-Library folder not found at {folder}; skipping")
        return
    optimal = json.loads((folder / "optimal.json").read_text())["pmed_optimal"]
    print(f"{'instance':>8} {'n':>4} {'p':>4} {'ours':>8} {'optimum':>8} {'status':>8} {'s':>7}")
    worst = 0.0
    for k in range(1, 21):
        dist, p = read_pmed(folder / f"pmed{k}.txt")
        t0 = time.perf_counter()
        res = p_median(dist, None, p)
        sec = time.perf_counter() - t0
        worst = max(worst, sec)
        ok = "" if round(res.objective) == optimal[str(k)] else "  MISMATCH"
        print(
            f"{'pmed' + str(k):>8} {len(dist):>4} {p:>4} {res.objective:>8.0f} "
            f"{optimal[str(k)]:>8} {res.status:>8} {sec:>7.2f}{ok}",
            flush=True,
        )
    print(f"slowest instance: {worst:.2f} s (target < 60 s)")


def mclp_instance(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """2,000 demand points and 500 candidates in a 20 km square, Euclidean metres."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 20_000, (2000, 2))
    sites = rng.uniform(0, 20_000, (500, 2))
    return cdist(demand, sites), rng.integers(1, 500, 2000).astype(float)


def bench_mclp(*, spopt: bool) -> None:
    cost, weights = mclp_instance()
    radius, p = 1500.0, 30
    print(f"\nMCLP 2000 x 500, S = {radius:g} m, p = {p}")
    t0 = time.perf_counter()
    ours = max_coverage(cost, weights, p, max_cost=radius)
    t_ours = time.perf_counter() - t0
    print(f"  ours  (HiGHS): {ours.objective:>12,.0f} covered  {t_ours:8.2f} s  {ours.status}")
    if not spopt:
        return
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        print("  spopt/pulp not installed; skipping the comparison")
        return
    t0 = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, weights, service_radius=radius, p_facilities=p)
    t_build = time.perf_counter() - t0
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    t_spopt = time.perf_counter() - t0
    covered = float(weights @ (model.aij @ np.array([v.value() for v in model.fac_vars]) > 0.5))
    print(
        f"  spopt (CBC):   {covered:>12,.0f} covered  {t_spopt:8.2f} s "
        f"(build {t_build:.2f} s)"
    )
    same = abs(covered - ours.objective) <= 1e-6 * max(covered, 1.0)
    print(f"  same objective: {same}; speed-up {t_spopt / t_ours:.1f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-orlib", action="store_true")
    parser.add_argument("--skip-spopt", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_orlib:
        bench_orlib()
    bench_mclp(spopt=not args.skip_spopt)


if __name__ == "__main__":
    main(sys.argv[1:])
