"""The reader of a project's store (what the app's runs views show): on a GeoPackage folder it
publishes each run's tables as a PostGIS run keeps them, and its change since the previous run
is the progress table of ``coverage report --compare``, figure for figure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from coverage import cli
from coverage.engine.progress import progress_between
from coverage.engine.reader import PUBLISHED, project_reader, published_layers
from coverage.io.project import load_project
from exact_frames import assert_identical


def _two_runs(small_demo: Path, folder: Path) -> None:
    shutil.copytree(small_demo, folder, ignore=shutil.ignore_patterns("results"))
    for extra in (0, 3):
        sites = folder / "sites.csv"
        frame = pd.read_csv(sites, encoding="gbk", dtype=str)
        staff = frame.columns[5]
        frame[staff] = (frame[staff].astype(float) + extra).map(lambda v: f"{v:g}")
        frame.to_csv(sites, index=False, encoding="gbk")
        done = CliRunner().invoke(cli.app, ["run", str(folder), "--lang", "en"])
        assert done.exit_code == 0, done.output


def test_a_folder_reader_publishes_and_compares_like_the_report(small_demo: Path,
                                                              tmp_path: Path):
    folder = tmp_path / "city"
    _two_runs(small_demo, folder)
    project = load_project(folder)
    reader = project_reader(project)
    runs = reader.runs()
    latest, older = runs["run_id"]
    assert reader.previous(latest) == older and reader.previous(older) is None
    layers = reader.layers(latest)
    raw = {n: f for n, f in layers.items() if n not in PUBLISHED.values()}
    for name, frame in published_layers(raw, project).items():
        assert_identical(frame, layers[name], name)
    districts, communities = reader.published(latest)
    assert set(districts["level"]) == {"city", "district"}
    assert len(communities) == len(raw["community_summary"])
    mine = reader.progress(latest)
    report = progress_between(project, older, latest)
    assert mine.attrs["run_before"] == older and mine.attrs["run_after"] == latest
    pd.testing.assert_frame_equal(mine, report, check_exact=True)
    staff = mine[(mine["level"] == "city") & (mine["measure"] == "staff")]
    assert staff["change"].item() > 0  # three more staff at every service point
    assert reader.progress(older) is None
