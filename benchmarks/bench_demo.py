"""Benchmark the demo city: build each size in its own process and report time and memory.

Usage::

    python benchmarks/bench_demo.py [--sizes small,default,large] [--seed 0]
    python benchmarks/bench_demo.py --sizes xlarge      # ten million migrants: minutes, GBs

Each size is built by a child process into a temporary folder, so the peak memory reported
(the child's own maximum resident set size) belongs to that size alone. Besides the counts,
the migrants' GeoParquet parts (``xlarge``'s, one per district) and the bytes on disk are
reported; a size over its time budget, or ``xlarge`` over its memory budget (the city is
generated and written district by district so as to stay well under it), fails the run.
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
from coverage.demo import build_demo, project_figures

size, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
start = time.perf_counter()
project = build_demo(out, size=size, seed=seed)
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
counts = json.loads((Path(project).parent / "ground_truth.json").read_text("utf-8"))["counts"]
print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024, "counts": counts,
                  "figures": project_figures(Path(project).parent)}))
"""

TARGETS = {"small": 30.0, "default": 120.0, "large": 300.0, "xlarge": 1800.0}
"""Time budget (s) of each size (``xlarge`` on two shared cores)."""
MEMORY = {"xlarge": 8000.0}
"""Peak-memory budget (MB) of the sizes built in bounded memory."""


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
    header = (f"{'size':<8} {'seconds':>8} {'peak MB':>8} {'migrants':>10} {'nodes':>9} "
              f"{'edges':>9} {'sites':>6} {'communities':>11} {'parts':>5} {'MB on disk':>10}"
              "  target")
    print(header)
    print("-" * len(header))
    failed = False
    for size in sizes:
        r = run(size, args.seed)
        c, f = r["counts"], r["figures"]
        budget, memory = TARGETS.get(size, float("inf")), MEMORY.get(size, float("inf"))
        ok = r["seconds"] < budget and r["peak_mb"] < memory
        failed |= not ok
        within = f"< {budget:g} s" + (f", < {memory:g} MB" if size in MEMORY else "")
        print(f"{size:<8} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f} {c['migrants']:>10,} "
              f"{c['network_nodes']:>9,} {c['network_edges']:>9,} {c['sites']:>6} "
              f"{c['communities']:>11} {f['parts']:>5} {f['bytes'] / 1e6:>10,.0f}  "
              f"{'ok' if ok else 'OVER'} ({within})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
