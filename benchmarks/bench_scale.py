"""Beyond one process: a province of cities on a Dask cluster, against one process in turn.

Run with ``python benchmarks/bench_scale.py --batch 10 [--size default] [--workers 1,2]``.
The cities are demo cities of ``--size`` with seeds ``0 … N-1`` (each a different city),
built once into ``<tmp>/coverage-bench/province-<size>-<N>`` (``--folder`` to choose).

Side by side, in one run:

* **one process, city after city** (what a province does without a cluster: ``coverage run``
  for each project, in this process): the wall time, and the peak resident memory of this
  process;
* **``coverage batch`` on a local cluster** of 1, then 2, … worker processes
  (:func:`coverage.engine.batch.run_batch`): the wall time, and the peak of the summed resident
  memory of the whole process tree (driver, scheduler, nannies, workers), sampled every 50 ms.

Every city's results are written (each run kept in its own history), as the commands do; the
province table of each batch run is checked equal to the sequential runs' rows (published
figures, 1e-9 relative for floats). The machine is shared: each figure is the best of
``--repeat`` runs (1 by default: a batch is long).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil


class TreeMemory:
    """Sample the summed resident memory of this process and all its descendants."""

    def __enter__(self) -> TreeMemory:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.start = time.perf_counter()
        return self

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.05):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        self._stop.set()
        self._thread.join()


def build_province(folder: Path, size: str, cities: int) -> Path:
    from coverage.demo import build_demo

    for seed in range(cities):
        city = folder / f"city-{seed:02d}"
        if not (city / "project.toml").is_file():
            print(f"building demo city {seed} ({size}) …", flush=True)
            build_demo(city, size=size, seed=seed)
    return folder


def clean_results(folder: Path) -> None:
    for results in folder.glob("city-*/results"):
        shutil.rmtree(results)


def sequential(folder: Path) -> tuple[pd.DataFrame, TreeMemory]:
    from coverage.engine.batch import city_row, find_projects
    from coverage.engine.run import run_study
    from coverage.engine.writing import save_results
    from coverage.io.project import load_project

    rows = []
    with TreeMemory() as memory:
        for path in find_projects(folder):
            project = load_project(path)
            results = run_study(project)
            save_results(results)
            rows.append(city_row(results.layers(), project,
                                 path.parent.relative_to(folder).as_posix()))
    return pd.concat(rows, ignore_index=True), memory


def batch(folder: Path, workers: int) -> tuple[pd.DataFrame, TreeMemory]:
    from coverage.engine.batch import run_batch

    with TreeMemory() as memory:
        result = run_batch(folder, workers=workers)
    failed = [f"{o.folder}: {o.error}" for o in result.failed]
    if failed:
        raise SystemExit("cities failed: " + "; ".join(failed))
    return result.summary.iloc[:-1].reset_index(drop=True), memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=10, help="cities in the province")
    parser.add_argument("--size", default="default", choices=("small", "default", "large"))
    parser.add_argument("--workers", default="1,2", help="local cluster sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.gettempdir()) / "coverage-bench" / (
        f"province-{args.size}-{args.batch}")
    build_province(folder, args.size, args.batch)
    print(f"province: {args.batch} demo cities ({args.size}) in {folder}; "
          f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB")
    rows: list[tuple[str, float, float]] = []
    best: dict[str, tuple[pd.DataFrame, TreeMemory]] = {}
    plans = [("one process, city after city", None)] + [
        (f"coverage batch, local cluster of {n}", n) for n in map(int, args.workers.split(","))]
    for _ in range(args.repeat):
        for label, workers in plans:
            clean_results(folder)
            out = sequential(folder) if workers is None else batch(folder, workers)
            if label not in best or out[1].seconds < best[label][1].seconds:
                best[label] = out
    reference = best[plans[0][0]][0]
    for label, _ in plans:
        table, memory = best[label]
        pd.testing.assert_frame_equal(table, reference, check_dtype=False, rtol=1e-9)
        rows.append((label, memory.seconds, memory.peak / 2**30))
    first = rows[0][1]
    print(f"\n{'':38} {'wall s':>8} {'per city s':>11} {'speed-up':>9} {'peak GB':>8}")
    for label, seconds, peak in rows:
        print(f"{label:38} {seconds:8.1f} {seconds / args.batch:11.1f} {first / seconds:8.2f}× "
              f"{peak:8.2f}")
    print("\nevery batch's province table equals the sequential runs' rows")


if __name__ == "__main__":
    main()
