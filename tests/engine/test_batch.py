"""A province on a Dask cluster: every city run, failures kept with their city, lost workers.

The province: the small demo city, a user's project with only the required columns, the
central-Guixi project (real OSM, GCJ-02 service points, Chinese headers) and a city whose
migrants file is broken. Each city's row of the province table must equal what its own kept
run gives; the broken city is reported with its one line and the others' results kept.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage import cli
from coverage.engine.batch import (
    FAILURES_FILE,
    PROVINCE,
    SUMMARY_FILE,
    city_row,
    find_projects,
    run_batch,
    write_province,
)
from coverage.engine.cluster import ClusterError, connect, parse_cluster
from coverage.io.project import load_project
from lost_worker import kill_a_busy_worker
from minimal import partial_project
from realdata import build_guixi_project
from same_layers import written_layers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def province(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("province")
    shutil.copytree(small_demo, root / "demo", ignore=shutil.ignore_patterns("results", "runs"))
    partial_project(small_demo, root / "user" / "minimal", communities=12)
    build_guixi_project(root / "user" / "guixi", n_migrants=1500)
    shutil.copytree(root / "user" / "minimal", root / "broken")
    migrants = (root / "broken" / "migrants.csv").read_text(encoding="utf-8-sig").splitlines()
    header = migrants[0].split(",")
    bad = migrants[3].split(",")
    bad[header.index("纬度")] = "北纬"  # a latitude that is no number on data row 3
    migrants[3] = ",".join(bad)
    (root / "broken" / "migrants.csv").write_text("\n".join(migrants) + "\n",
                                                  encoding="utf-8-sig")
    return root


@pytest.fixture(scope="module")
def ran(province: Path):
    return run_batch(province, workers=2)


def test_projects_are_found_once_each(province: Path):
    found = [p.parent.relative_to(province).as_posix() for p in find_projects(province)]
    assert found == ["broken", "demo", "user/guixi", "user/minimal"]


def test_every_good_city_runs_and_its_row_equals_its_own_kept_run(ran, province: Path):
    by_folder = {o.folder: o for o in ran.outcomes}
    assert [o.folder for o in ran.outcomes] == ["broken", "demo", "user/guixi", "user/minimal"]
    for folder in ("demo", "user/guixi", "user/minimal"):
        outcome = by_folder[folder]
        assert outcome.ok, outcome.error
        project = load_project(province / folder)
        expected = city_row(written_layers(province / folder / "results" / "results.gpkg"),
                            project, folder)
        pd.testing.assert_frame_equal(outcome.row.reset_index(drop=True), expected,
                                      check_dtype=False, rtol=1e-12)
        runs = sorted((province / folder / "results" / "runs").glob("*.gpkg"))
        assert [r.stem for r in runs] == [outcome.run_id]
    assert "funding_gap_per_capita" in by_folder["demo"].row  # budgets: funding figures
    assert by_folder["user/minimal"].row.get("funding_gap_per_capita") is None


def test_a_broken_city_is_reported_with_its_one_line_and_stops_no_other(ran, province: Path):
    [failed] = ran.failed
    assert failed.folder == "broken" and not failed.ok and failed.row is None
    assert "migrants.csv" in failed.error and "\n" not in failed.error
    assert "纬度" in failed.error or "lat" in failed.error
    assert failed.details is None  # refused inputs: no traceback to keep
    assert not (province / "broken" / "results" / "results.gpkg").exists()


def test_the_province_row_adds_the_cities_up(ran):
    table = ran.summary
    assert list(table["city"].iloc[:-1]) == [o.name for o in ran.outcomes if o.ok]
    cities, total = table.iloc[:-1], table.iloc[-1]
    assert total["city"] == PROVINCE
    for column in ("migrants", "registered_pop", "staff", "staff_shortfall"):
        assert total[column] == pytest.approx(cities[column].astype(float).sum(), rel=1e-12)
    shares = pd.to_numeric(cities["coverage_registered"]).to_numpy(float)
    people = cities["registered_pop"].to_numpy(float)
    assert total["coverage_registered"] == pytest.approx((shares * people).sum() / people.sum(),
                                                         rel=1e-12)
    # 6 of the minimal city's 7,552 migrants are beyond 15 minutes: its share is suppressed,
    # and the province's would give it back by subtraction, so it is suppressed too
    minimal = cities[cities["folder"] == "user/minimal"].iloc[0]
    assert pd.isna(minimal["coverage_migrant"]) and pd.isna(total["coverage_migrant"])
    assert pd.isna(total["funding_needed_yuan"])  # two of the three cities have no budgets
    assert pd.isna(total["indicator_policy_awareness"])


def test_the_province_files(ran, tmp_path: Path):
    paths = write_province(ran, tmp_path / "out")
    summary = pd.read_csv(paths[SUMMARY_FILE], encoding="utf-8-sig")
    assert list(summary["city"]) == list(ran.summary["city"])
    np.testing.assert_allclose(summary["migrants"], ran.summary["migrants"].astype(float))
    failures = pd.read_csv(paths[FAILURES_FILE], encoding="utf-8-sig")
    assert failures.to_dict("records") == [{"folder": "broken", "city": ran.failed[0].name,
                                            "step": ran.failed[0].step,
                                            "error": ran.failed[0].error}]
    assert not any(c in summary.columns for c in ("person_id", "lon", "lat", "x", "y"))


def test_a_lost_worker_is_survived(province: Path, tmp_path: Path):
    from distributed import Client, LocalCluster

    root = tmp_path / "two"
    for folder in ("user/minimal",):
        shutil.copytree(province / folder, root / folder.replace("/", "-"),
                        ignore=shutil.ignore_patterns("results"))
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as local, \
            Client(local) as client:
        with kill_a_busy_worker(client, timeout=120) as killed:
            result = run_batch(root, cluster=local.scheduler_address)
        assert killed, "no worker was killed"
        assert killed[0] not in client.run(os.getpid).values()  # the nanny started another
    assert [o.ok for o in result.outcomes] == [True], [o.error for o in result.outcomes]


def test_cluster_errors_are_one_line():
    assert parse_cluster("local") == "local"
    assert parse_cluster("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    for bad in ("localhost", "tcp://host", "http://a:1", "tcp://:8786"):
        with pytest.raises(ClusterError, match="tcp://host:port"):
            parse_cluster(bad)
    with pytest.raises(ClusterError, match="at least 1"), connect("local", workers=0):
        pass


def test_a_local_cluster_s_workers_keep_the_allocator_s_adaptive_threshold(
        monkeypatch: pytest.MonkeyPatch):
    """Dask's fixed ``MALLOC_TRIM_THRESHOLD_`` is left out of the workers' environment (with it,
    the main job ran 29 % slower in a worker), also when a cluster started earlier with Dask's
    settings left it in this process's environment; its one thread for the numerical
    libraries is kept, and a threshold set in Dask's configuration to another value too."""
    import dask

    from coverage.engine.cluster import worker_environ

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as an earlier nanny leaves it
    with connect("local", workers=1) as client:
        [env] = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                                    os.environ.get("OMP_NUM_THREADS"))).values()
    assert env == (None, "1")
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process's, given back
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 2**20}):
        assert worker_environ()["MALLOC_TRIM_THRESHOLD_"] == 2**20


def test_an_unreachable_scheduler_is_one_line(monkeypatch: pytest.MonkeyPatch):
    import coverage.engine.cluster as cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    with pytest.raises(ClusterError, match=r"no Dask scheduler answered at tcp://127\.0\.0\.1:9"), \
            connect("tcp://127.0.0.1:9"):
        pass


def test_the_command_line(province: Path, tmp_path: Path):
    runner = CliRunner()
    empty = tmp_path / "empty"
    empty.mkdir()
    done = runner.invoke(cli.app, ["batch", str(empty)])
    assert done.exit_code == 2 and "no project.toml" in done.output
    done = runner.invoke(cli.app, ["batch", str(province), "--cluster", "somewhere"])
    assert done.exit_code == 2 and "tcp://host:port" in done.output
    one = tmp_path / "one"
    shutil.copytree(province / "user" / "minimal", one / "minimal",
                    ignore=shutil.ignore_patterns("results"))
    shutil.copytree(province / "broken", one / "broken", ignore=shutil.ignore_patterns("results"))
    done = runner.invoke(cli.app, ["batch", str(one), "--workers", "1", "--lang", "en"],
                         env={"COLUMNS": "200"})
    assert done.exit_code == 1, done.output
    assert "done 1 / 2" in done.output and "broken:" in done.output
    assert "Traceback" not in done.output
    assert (one / "province-results" / SUMMARY_FILE).is_file()
