"""The main job on a local Dask cluster of two workers, by parts, equals the one-process run.

Every layer the one-process run makes from its people, value for value (floats to 1e-9
relative, geometries exactly): the small demo city with its migrants as GeoParquet parts read
on the workers, and a user's project (central Guixi) whose migrants the driver cuts into
parts, through the command line.
"""

from __future__ import annotations

import pytest

from same_layers import LAYERS, assert_same_layer, written_layers

pytestmark = pytest.mark.slow

def test_coverage_run_on_a_cluster_writes_the_one_process_results(tmp_path):
    """A user's project (central Guixi: real OSM, GCJ-02 sites, Chinese headers)."""
    from typer.testing import CliRunner

    from coverage import cli
    from realdata import build_guixi_project

    project = build_guixi_project(tmp_path / "gx", n_migrants=2000)
    runner = CliRunner()
    plain = runner.invoke(cli.app, ["run", str(project), "--out", str(tmp_path / "one")])
    assert plain.exit_code == 0, plain.output
    parted = runner.invoke(cli.app, ["run", str(project), "--out", str(tmp_path / "parts"),
                                     "--cluster", "local", "--workers", "2", "--parts", "3"])
    assert parted.exit_code == 0, parted.output
    mine, theirs = (written_layers(tmp_path / run / "results.gpkg") for run in ("parts", "one"))
    assert list(mine) == list(theirs)
    for name in theirs:
        if name == "run_info":
            keys = dict(zip(mine[name]["key"], mine[name]["value"], strict=True))
            assert keys["partitions"] == "3" and keys["layers"] == dict(zip(
                theirs[name]["key"], theirs[name]["value"], strict=True))["layers"]
            continue
        assert_same_layer(mine[name], theirs[name], name)


def test_cluster_errors_on_the_command_line(small_demo, tmp_path):
    from typer.testing import CliRunner

    from coverage import cli

    runner = CliRunner()
    done = runner.invoke(cli.app, ["run", str(small_demo), "--cluster", "here"])
    assert done.exit_code == 2 and "tcp://host:port" in done.output
    done = runner.invoke(cli.app, ["run", str(small_demo), "--cluster", "local",
                                   "--person-level"])
    assert done.exit_code == 2 and "--person-level" in done.output


def test_a_partitioned_migrants_layer_is_read_part_by_part_on_the_workers(small_run, tmp_path):
    """Migrants as GeoParquet parts: the driver never reads them, the results are the same."""
    from coverage.demo import build_demo
    from coverage.engine.partitioned_run import run_on_cluster

    project = build_demo(tmp_path / "parts", size="small", seed=0, partitioned=True)
    got = run_on_cluster(project, workers=2)
    assert "migrants" in got.study.layers and len(got.study.migrants) == 0  # columns only
    info = dict(zip(got.run_info["key"], got.run_info["value"], strict=True))
    assert int(info["partitions"]) == 4  # one part per district
    for name in LAYERS:
        assert_same_layer(getattr(got, name), getattr(small_run, name), name)
    assert got.data_quality.equals(small_run.data_quality)


def test_a_bad_part_is_one_line_naming_the_part_row_and_field(tmp_path):
    """A refused row in one part: the command's one line, exit 2, no worker's traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import geopandas as gpd

    from coverage.demo import build_demo

    project = build_demo(tmp_path / "parts", size="small", seed=0, partitioned=True).parent
    part = project / "migrants" / "part-002.parquet"
    table = gpd.read_parquet(part)
    table.loc[table.index[5], "性别"] = "不知道"
    table.to_parquet(part)
    script = Path(sys.executable).with_name("coverage")
    done = subprocess.run([str(script), "run", str(project), "--cluster", "local",
                           "--workers", "2"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"}, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr[-2000:]
    assert "part-002.parquet, row 6, field 'sex'" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout


def test_an_id_repeated_in_another_part_is_refused(tmp_path):
    """Each part is read alone; an id found in two parts is still the layer's one-line error."""
    import geopandas as gpd

    from coverage.demo import build_demo
    from coverage.engine.partitioned_run import run_on_cluster
    from coverage.io.validation import ValidationError

    project = build_demo(tmp_path / "parts", size="small", seed=0, partitioned=True).parent
    donor = gpd.read_parquet(project / "migrants" / "part-000.parquet")
    part = project / "migrants" / "part-003.parquet"
    table = gpd.read_parquet(part)
    table.loc[table.index[7], "人员编号"] = donor["人员编号"].iloc[2]
    table.to_parquet(part)
    with pytest.raises(ValidationError) as refused:
        run_on_cluster(project, workers=2)
    assert str(refused.value).startswith(
        "migrants/part-003.parquet, row 8, field 'person_id'"), str(refused.value)
    assert "row 3 of migrants/part-000.parquet" in str(refused.value)
