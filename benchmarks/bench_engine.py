"""The main job, a recommendation and the report, with the routing done once or twice.

Run with ``python benchmarks/bench_engine.py [--size default] [--repeat 2]``.

What ``coverage demo`` and ``coverage report`` on a project without current results do (the
project's workspace, :func:`coverage.engine.workspace.load_results`): run the main job, build
the analysis model of scenarios, recommend new service points and staff, write the report. The
model used to snap and route every person again right after the main job had; it now starts
from the main job's routing (:class:`coverage.engine.baseline.Baseline`). Both ways are run
here, alternately, on the same inputs and network, step by step:

* **routed twice**: ``ScenarioModel(study, network=net)``, as before;
* **routed once**: ``ScenarioModel(study, baseline=results.baseline)``.

The two recommendations (their every layer) must be identical; the script stops otherwise.

With ``--before REV`` it also times what a planner types, ``coverage run``, ``coverage
recommend --new-sites 3 --new-staff 10`` and ``coverage report`` (three processes), with this
checkout's code and with the code of the commit REV (e.g. the commit before the engine was
restructured), alternately, each on its own copy of the demo city, after a warm-up round of
each; then ``coverage report`` on the project without results, which runs the main job,
recommends and writes the report in one process. The median of the rounds.

Wall-clock seconds on a shared machine: the best of ``--repeat`` rounds is shown.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_network as bn  # a sibling script, not a package

STEPS = ("load inputs and network", "main job", "analysis model", "recommend", "report")
#: What a planner types, after ``coverage``.
COMMANDS = {"run": ["run"], "recommend": ["recommend", "--new-sites", "3", "--new-staff", "10"],
            "report": ["report"]}
#: ``coverage report`` on a project without results: main job, recommendation, report.
ONE_PROCESS = "report, no results yet"
ROOT = Path(__file__).resolve().parent.parent


def one_round(project: Path, shared: bool, out: Path) -> tuple[dict[str, float], Any]:
    """Time each step of run + recommend + report; the recommendation's layers too."""
    from coverage.engine.recommend import recommend
    from coverage.engine.run import run_study
    from coverage.engine.scenario import ScenarioModel
    from coverage.io.loaders import load_study
    from coverage.network import RoadNetwork
    from coverage.report import make_report

    times: dict[str, float] = {}

    def step(name: str, work: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = work()
        times[name] = time.perf_counter() - start
        return value

    study, net = step("load inputs and network", lambda: (
        (s := load_study(project)), RoadNetwork.from_study(s, mode="walk")))
    results = step("main job", lambda: run_study(study, network=net))
    model = step("analysis model", lambda: (
        ScenarioModel(study, baseline=results.baseline) if shared
        else ScenarioModel(study, network=net)))
    rec = step("recommend", lambda: recommend(model, new_sites=3, new_staff=10))
    step("report", lambda: make_report(project, layers={**results.layers(), **rec.layers},
                                       formats=("html", "xlsx", "pdf"), out=out))
    return times, rec.layers


def same_layers(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    """Stop unless both recommendations hold the same layers with the same values."""
    if list(a) != list(b):
        raise SystemExit(f"different layers: {list(a)} and {list(b)}")
    for name in a:
        pd.testing.assert_frame_equal(pd.DataFrame(a[name]), pd.DataFrame(b[name]),
                                      check_exact=True, obj=name)


def source_of(rev: str, into: Path) -> Path:
    """Extract the library's source of commit ``rev`` into ``into``; return its ``src``."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src"],
                         check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return into / "src"


def command_round(project: Path, src: Path) -> dict[str, float]:
    """Time ``coverage run``, ``recommend`` and ``report`` with the library in ``src``.

    Then ``coverage report`` again on the project without results: one process runs the
    main job, recommends and writes the report (:data:`ONE_PROCESS`).
    """
    env = {**os.environ, "PYTHONPATH": str(src)}
    times = {}
    for name, args in [*COMMANDS.items(), (ONE_PROCESS, ["report"])]:
        if name == ONE_PROCESS:
            shutil.rmtree(project / "results")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "coverage.cli", *args, str(project)],
                              env=env, capture_output=True, text=True)
        times[name] = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(f"coverage {name} failed with {src}:\n{done.stderr[-2000:]}")
    return times


def compare_commands(project: Path, rev: str, repeat: int) -> None:
    """Print the three commands' times with this checkout's code and with ``rev``'s."""
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": source_of(rev, Path(tmp) / "before"), "now": ROOT / "src"}
        copies = {}
        for name in trees:
            copies[name] = Path(tmp) / f"project-{name}"
            shutil.copytree(project.parent if project.is_file() else project, copies[name],
                            ignore=shutil.ignore_patterns("results"))
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        # round 0 is not counted: it writes each version's road-network and grid caches
        for k in range(repeat + 1):
            for name, src in trees.items():
                shutil.rmtree(copies[name] / "results", ignore_errors=True)
                times = command_round(copies[name], src)
                if k:
                    rounds[name].append(times)
                print(f"round {k}{' (warm-up)' if not k else ''}, {name}: "
                      f"{sum(times[c] for c in COMMANDS):.1f} s + {times[ONE_PROCESS]:.1f} s",
                      flush=True)
    median = {name: {c: statistics.median(r[c] for r in rows) for c in rows[0]}
              for name, rows in rounds.items()}
    print(f"\ncoverage run + recommend + report (three processes), median of {repeat} (s):")
    print(f"  {'command':26}{'before ' + rev[:10]:>18}{'now':>10}")
    for c in COMMANDS:
        print(f"  {c:26}{median['before'][c]:>18.2f}{median['now'][c]:>10.2f}")
    before, now = (sum(median[x][c] for c in COMMANDS) for x in ("before", "now"))
    print(f"  {'total':26}{before:>18.2f}{now:>10.2f}   ({100 * (1 - now / before):.0f} % less)")
    before, now = (median[x][ONE_PROCESS] for x in ("before", "now"))
    print(f"  {ONE_PROCESS:26}{before:>18.2f}{now:>10.2f}   ({100 * (1 - now / before):.0f} % less)"
          "   (one process: main job, recommendation, report)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", choices=["small", "default", "large"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demo-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=2, help="Rounds of each way (2).")
    parser.add_argument("--before", default=None, metavar="REV",
                        help="Also time the three commands with the code of commit REV.")
    args = parser.parse_args()
    project = bn.demo_project(args.size, args.seed, args.demo_dir)
    if args.before:
        compare_commands(project, args.before, args.repeat)
    best: dict[bool, dict[str, float]] = {}
    layers: dict[bool, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            for shared in (False, True):
                times, layers[shared] = one_round(project, shared, Path(tmp) / f"{k}{shared}")
                best[shared] = {s: min(t, best.get(shared, {}).get(s, t))
                                for s, t in times.items()}
                print(f"round {k + 1}, routed {'once' if shared else 'twice'}: "
                      f"{sum(times.values()):.1f} s", flush=True)
    same_layers(layers[False], layers[True])
    print(f"\nrun + recommend + report, {args.size} demo city, best of {args.repeat} (s):")
    print(f"  {'step':26}{'routed twice':>14}{'routed once':>14}")
    for s in STEPS:
        print(f"  {s:26}{best[False][s]:>14.2f}{best[True][s]:>14.2f}")
    twice, once = (sum(best[x].values()) for x in (False, True))
    print(f"  {'total':26}{twice:>14.2f}{once:>14.2f}   ({100 * (1 - once / twice):.0f} % less)")
    print("  the two recommendations are identical (every layer, every value)")


if __name__ == "__main__":
    main()
