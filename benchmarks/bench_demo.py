"""Benchmark the demo city: build each size in its own process and report time and memory.

Usage::

    python benchmarks/bench_demo.py [--sizes small,default,large] [--seed 0]

Each size is built by a child process into a temporary folder, so the peak memory reported
(the child's own maximum resident set size) belongs to that size alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = """
import json, resource, sys, time
from pathlib import Path
from coverage.demo import build_demo

size, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
start = time.perf_counter()
project = build_demo(out, size=size, seed=seed)
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
counts = json.loads((Path(project).parent / "ground_truth.json").read_text("utf-8"))["counts"]
print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024, "counts": counts}))
"""

TARGETS = {"small": 30.0, "default": 120.0, "large": 300.0}
"""Time budget (s) of each size."""


def run(size: str, seed: int) -> dict:
    """Build one size in a child process and return its measurements."""
    with tempfile.TemporaryDirectory(prefix=f"demo_{size}_") as out:
        done = subprocess.run([sys.executable, "-c", CHILD, size, str(seed), out],
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"building size {size!r} failed:\n{done.stderr}"
        raise RuntimeError(msg)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,default,large",
                        help="comma-separated sizes (default: small,default,large)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    header = (f"{'size':<8} {'seconds':>8} {'peak MB':>8} {'migrants':>10} {'nodes':>8} "
              f"{'edges':>8} {'sites':>6} {'communities':>11}  target")
    print(header)
    print("-" * len(header))
    slow = False
    for size in sizes:
        r = run(size, args.seed)
        c = r["counts"]
        budget = TARGETS.get(size, float("inf"))
        ok = r["seconds"] < budget
        slow |= not ok
        print(f"{size:<8} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f} {c['migrants']:>10,} "
              f"{c['network_nodes']:>8,} {c['network_edges']:>8,} {c['sites']:>6} "
              f"{c['communities']:>11}  {'ok' if ok else 'SLOW'} (< {budget:g} s)",
              flush=True)
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
