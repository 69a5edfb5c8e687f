"""Backup and moving: ``coverage db export`` writes a project's runs (a recommendation added to
one included) into one GeoPackage file, ``coverage db import`` puts them into another PostGIS
schema under their ids, and every layer, the runs table and each row's district come back
exactly; exporting the copy gives the same file contents; identical runs are skipped, a run
held with other contents is refused, and bad files and stores are one-line errors."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from rich.console import Console
from typer.testing import CliRunner

from coverage import cli
from coverage._cli import db, db_backup
from coverage.store.backup import read_export
from coverage.store.gpkg import GeoPackageStore
from coverage.store.migrations import migrate
from coverage.store.postgis import PostGISStore
from exact_frames import assert_identical
from store_samples import awkward_frames

_DISTRICTS = ("东城区", "西城区")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for module in (db, db_backup):
        monkeypatch.setattr(module, "console", Console(width=300, highlight=False))
        monkeypatch.setattr(module, "err", Console(width=300, stderr=True, highlight=False))
    return CliRunner()


@pytest.fixture
def schemas(postgis_url: str) -> Iterator[list[str]]:
    """Names of new schemas (made on demand by the tests), dropped afterwards."""
    import psycopg

    names = [f"b_{secrets.token_hex(4)}" for _ in range(3)]
    yield names
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _info(project: str, mode: str) -> pd.DataFrame:
    return pd.DataFrame({"key": ["project", "mode", "parameters_digest", "tool_version",
                                 "input_sha256:migrants", "walk_minutes"],
                         "value": [project, mode, "0123456789abcdef", "9.9.9", "ab" * 32,
                                   "15"]})


def _district_layers() -> dict[str, pd.DataFrame]:
    """A run's community and district layers: two communities, one in each district."""
    communities = gpd.GeoDataFrame(
        {"community_id": ["c1", "c2"], "district": list(_DISTRICTS),
         "migrants": pd.array([120, None], dtype="Int64"),
         "geometry": [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)]},
        geometry="geometry", crs="EPSG:32650")
    districts = pd.DataFrame({"district": [*_DISTRICTS, "全市"], "staff": [2.5, -0.0, 2.5]})
    return {"community_summary": communities, "district_summary": districts}


def _recommendation(shift: float = 0.0) -> dict[str, pd.DataFrame]:
    """A recommendation's sites: one in each community (placed by its point), one outside."""
    return {"recommended_sites": gpd.GeoDataFrame(
        {"site": ["甲", "乙", "丙"], "score": [0.1 + 0.2, float("nan"), 1.0 + shift],
         "geometry": [shapely.Point(5, 5), shapely.Point(15, 5), shapely.Point(50, 50)]},
        geometry="geometry", crs="EPSG:32650")}


def _source(url: str, schema: str) -> tuple[PostGISStore, list[str]]:
    """A store with two runs of project ``tiny`` (a recommendation added to the second) and
    one of another project."""
    migrate(url, schema)
    store = PostGISStore(url, schema=schema)
    first = store.write_run(awkward_frames(time_unit="us"), _info("tiny", "walk"))
    store.write_run({"district_summary": pd.DataFrame({"district": ["x"]})},
                    _info("other", "walk"))
    second = store.write_run(_district_layers(), _info("tiny", "ebike"))
    store.add_layers(second, _recommendation())
    return store, [first, second]


def _districts(store: PostGISStore) -> dict[str, list[tuple]]:
    """Each layer's rows as kept: run, position and district, for the runs of ``tiny``."""
    import psycopg

    with psycopg.connect(store._url) as conn:
        tables = conn.execute(
            f'SELECT layer, table_name FROM "{store.schema}".layer_tables').fetchall()
        return {layer: conn.execute(
            f'SELECT t.run_id, t._row, t._district FROM "{store.schema}"."{table}" t '
            f'JOIN "{store.schema}".runs r ON r.id = t.run_id WHERE r.project = %s '
            "ORDER BY 1, 2", ("tiny",)).fetchall() for layer, table in tables}


def _invoke(runner: CliRunner, *args: str, code: int = 0):
    done = runner.invoke(cli.app, ["db", *args])
    assert done.exit_code == code, done.output
    return done


def _same_files(a: Path, b: Path) -> None:
    """Assert two export files hold the same runs, tables and layers (not when or whence)."""
    first, second = read_export(a), read_export(b)
    skip = ("exported_at", "source")
    assert {k: v for k, v in first.meta.items() if k not in skip} == {
        k: v for k, v in second.meta.items() if k not in skip}
    assert [name for name, _ in pyogrio.list_layers(a)] == [
        name for name, _ in pyogrio.list_layers(b)]
    for table in ("coverage_runs", "coverage_layers"):
        pd.testing.assert_frame_equal(pyogrio.read_dataframe(a, layer=table),
                                      pyogrio.read_dataframe(b, layer=table), check_exact=True)
    for x, y in zip(first.runs(), second.runs(), strict=True):
        assert (x.run_id, x.own, list(x.layers)) == (y.run_id, y.own, list(y.layers))
        for name in x.layers:
            assert_identical(x.layers[name], y.layers[name], name)


def test_export_and_import_round_trip_exactly(postgis_url: str, schemas: list[str],
                                              tiny_project: Path, runner: CliRunner,
                                              tmp_path: Path):
    source, ids = _source(postgis_url, schemas[0])
    backups = tmp_path / "backups"
    backups.mkdir()
    file = backups / "tiny.gpkg"
    done = _invoke(runner, "export", postgis_url, str(tiny_project), str(file),
                   "--schema", schemas[0])
    assert "2 runs of project tiny" in done.output
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    assert [p.name for p in backups.iterdir()] == ["tiny.gpkg"]  # no temporary file left
    exported = read_export(file)
    assert exported.run_ids == ids
    assert "recommended_sites" not in exported.run(ids[1]).own

    _invoke(runner, "init", postgis_url, "--schema", schemas[1])
    done = _invoke(runner, "import", str(file), postgis_url, "--schema", schemas[1])
    assert "2 runs imported, 0 already there" in done.output
    target = PostGISStore(postgis_url, schema=schemas[1])
    mine = source.runs()
    mine = mine[mine["project"] == "tiny"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, target.runs(), check_exact=True)
    for run_id in ids:
        kept, copied = source.read_layers(run_id), target.read_layers(run_id)
        assert list(kept) == list(copied)
        for name, frame in kept.items():
            assert_identical(frame, copied[name], name)
            pd.testing.assert_frame_equal(frame, copied[name], check_exact=True)
    assert list(target.read_layers(ids[1])) == [
        "community_summary", "district_summary", "run_info", "recommended_sites"]
    assert _districts(target) == _districts(source)
    placed = [row[2] for row in _districts(target)["recommended_sites"]]
    assert placed == [*_DISTRICTS, None]

    again = backups / "again.gpkg"
    _invoke(runner, "export", postgis_url, str(tiny_project), str(again),
            "--schema", schemas[1])
    _same_files(file, again)

    done = _invoke(runner, "import", str(file), postgis_url, "--schema", schemas[1])
    assert "0 runs imported, 2 already there" in done.output
    assert all(f"note: run {run_id} is already kept there, identical" in done.output
               for run_id in ids)
    pd.testing.assert_frame_equal(mine, target.runs(), check_exact=True)

    target.add_layers(ids[1], _recommendation(shift=1e-12))
    done = _invoke(runner, "import", str(file), postgis_url, "--schema", schemas[1], code=1)
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and f"already holds run {ids[1]} with other contents" in lines[0]


def test_a_geopackage_folder_exports_into_postgis(postgis_url: str, schemas: list[str],
                                                  tiny_project: Path, runner: CliRunner,
                                                  tmp_path: Path):
    folder = GeoPackageStore(tiny_project / "results")
    ids = [folder.write_run(awkward_frames(time_unit="ms"), _info("tiny", mode))
           for mode in ("walk", "ebike")]
    file = tmp_path / "folder.gpkg"
    _invoke(runner, "export", str(folder.folder), str(tiny_project), str(file))
    migrate(postgis_url, schemas[0])
    _invoke(runner, "import", str(file), postgis_url, "--schema", schemas[0])
    target = PostGISStore(postgis_url, schema=schemas[0])
    pd.testing.assert_frame_equal(folder.runs(), target.runs(), check_exact=True)
    for run_id in ids:
        kept, copied = folder.read_layers(run_id), target.read_layers(run_id)
        assert list(kept) == list(copied)
        for name, frame in kept.items():
            assert_identical(frame, copied[name], name)


def test_bad_files_and_stores_are_one_line_errors(postgis_url: str, schemas: list[str],
                                                  tiny_project: Path, runner: CliRunner,
                                                  tmp_path: Path):
    other = tmp_path / "other.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"a": [1]}), other, layer="a", driver="GPKG")
    text = tmp_path / "text.gpkg"
    text.write_text("not a database", encoding="utf-8")
    for file, words in ((other, "not a coverage export"), (text, "not a coverage export"),
                        (tmp_path / "missing.gpkg", "no such file")):
        done = _invoke(runner, "import", str(file), postgis_url, "--schema", schemas[0],
                       code=2)
        lines = done.output.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in done.output

    _source(postgis_url, schemas[0])
    file = tmp_path / "tiny.gpkg"
    _invoke(runner, "export", postgis_url, str(tiny_project), str(file), "--schema",
            schemas[0])
    done = _invoke(runner, "import", str(file), postgis_url, "--schema", schemas[1], code=1)
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and "not set up" in lines[0] and "coverage db init" in lines[0]

    secret = postgis_url.replace("user=postgres", "user=postgres&password=s3cret-pw")
    for args, code in ((["export", secret, str(tiny_project), str(tmp_path / "x.csv")], 2),
                       (["export", "db.example.org", str(tiny_project), str(file)], 2),
                       (["export", secret, str(tmp_path / "nowhere"), str(file)], 2),
                       (["export", secret, str(tiny_project), str(file), "--schema",
                         schemas[2]], 1),
                       (["import", str(file), secret, "--schema", "Bad-Name"], 2)):
        done = _invoke(runner, *args, code=code)
        assert len(done.output.strip().splitlines()) == 1, done.output
        assert "s3cret-pw" not in done.output and "Traceback" not in done.output
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _invoke(runner, "export", str(empty), str(tiny_project), str(file), code=1)
    assert "holds no run of project 'tiny'" in done.output
    assert read_export(file).run_ids  # the file written before is left whole
