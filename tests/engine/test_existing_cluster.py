"""An existing Dask cluster, as on several machines: ``--cluster tcp://HOST:PORT``.

The scheduler and each worker are started on their own (``dask scheduler``, ``dask worker``),
as an administrator starts them on the machines of a cluster: every worker a process of its
own, in a working folder of its own, with no nanny to restart it, so that killing one is
losing a machine. The commands only connect to the scheduler's address. A city run by parts
read on those workers equals the one-process run; a province loses a worker in the middle of
a city and still ends with every city done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from coverage.engine.batch import SUMMARY_FILE, city_row
from coverage.io.project import load_project
from lost_worker import kill_a_busy_worker
from minimal import partial_project
from same_layers import LAYERS, assert_same_layer, written_layers

pytestmark = pytest.mark.slow

DASK = Path(sys.executable).with_name("dask")
COVERAGE = Path(sys.executable).with_name("coverage")


@contextmanager
def machines(folder: Path, workers: int) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """Start a scheduler and ``workers`` workers, each its own process and folder; yield the
    scheduler's address and the workers' processes; stop them all afterwards."""
    from distributed import Client

    folder.mkdir(parents=True)
    address_file = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    started = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard", "--scheduler-file", str(address_file)],
                                cwd=folder, **quiet)]
    try:
        deadline = time.monotonic() + 60
        while not address_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        for k in range(workers):
            home = folder / f"machine-{k}"
            home.mkdir()
            started.append(subprocess.Popen(
                [str(DASK), "worker", "--scheduler-file", str(address_file), "--nthreads", "1",
                 "--no-nanny", "--no-dashboard", "--local-directory", str(home)],
                cwd=home, **quiet))
        with Client(scheduler_file=str(address_file), timeout="30s") as client:
            client.wait_for_workers(workers, timeout=120)
            address = client.scheduler.address
        yield address, started[1:]
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_city_by_parts_on_separate_workers_equals_one_process(small_run, tmp_path: Path):
    """Its migrants as GeoParquet parts, each read by the worker that routes it."""
    from coverage.demo import build_demo
    from coverage.engine.partitioned_run import run_on_cluster

    project = build_demo(tmp_path / "city", size="small", seed=0, partitioned=True)
    with machines(tmp_path / "cluster", workers=2) as (address, _):
        got = run_on_cluster(project, cluster=address)
    info = dict(zip(got.run_info["key"], got.run_info["value"], strict=True))
    assert int(info["partitions"]) == 4
    for name in LAYERS:
        assert_same_layer(getattr(got, name), getattr(small_run, name), name)


def test_a_province_survives_a_lost_machine(small_demo: Path, tmp_path: Path):
    """``coverage batch --cluster tcp://…``: a worker killed while it runs a city."""
    from distributed import Client

    root = tmp_path / "province"
    shutil.copytree(small_demo, root / "demo", ignore=shutil.ignore_patterns("results", "runs"))
    partial_project(small_demo, root / "minimal", communities=12)
    with machines(tmp_path / "cluster", workers=2) as (address, started), \
            Client(address) as client:
        assert sorted(client.run(os.getpid).values()) == sorted(p.pid for p in started)
        with kill_a_busy_worker(client) as killed:
            done = subprocess.run([str(COVERAGE), "batch", str(root), "--cluster", address,
                                   "--lang", "en"], capture_output=True, text=True,
                                  timeout=900, env={**os.environ, "COLUMNS": "200"},
                                  check=False)
        assert killed, "no worker was killed"
        left = list(client.scheduler_info()["workers"])
        assert len(left) == 1 and killed[0] not in client.run(os.getpid).values()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "done 2 / 2" in done.stdout and "Traceback" not in done.stdout + done.stderr
    table = pd.read_csv(root / "province-results" / SUMMARY_FILE, encoding="utf-8-sig")
    assert table["folder"].fillna("").tolist() == ["demo", "minimal", ""]
    for k, folder in enumerate(("demo", "minimal")):  # each row is its city's kept run
        kept = city_row(written_layers(root / folder / "results" / "results.gpkg"),
                        load_project(root / folder), folder)
        got = table.iloc[[k]][kept.columns].reset_index(drop=True)
        # a figure not published is empty in the file (NaN once read) and pd.NA in the row
        pd.testing.assert_frame_equal(*(t.astype(object).where(t.notna(), None)
                                        for t in (got, kept)), check_dtype=False)
