"""The store's commands: ``coverage db init URL`` and ``coverage runs PROJECT``, in-process."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage import cli
from coverage.store.gpkg import GeoPackageStore
from coverage.store.migrations import LATEST_VERSION
from coverage.store.postgis import PostGISStore
from store_roles import wide_runner


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return wide_runner(monkeypatch)


@pytest.fixture
def schema(postgis_url: str) -> Iterator[str]:
    import psycopg

    name = f"c_{secrets.token_hex(4)}"
    yield name
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _info(mode: str) -> pd.DataFrame:
    return pd.DataFrame({"key": ["project", "mode", "parameters_digest", "tool_version",
                                 "input_sha256:migrants"],
                         "value": ["tiny", mode, "0123456789abcdef", "9.9.9", "ab" * 32]})


def _two_runs(store) -> list[str]:
    layers = {"district_summary": pd.DataFrame({"district": ["东城区"], "staff": [2.5]})}
    return [store.write_run(layers, _info(mode)) for mode in ("walk", "ebike")]


def test_db_init_creates_the_schema_once(postgis_url: str, schema: str, runner: CliRunner):
    for _ in range(2):
        done = runner.invoke(cli.app, ["db", "init", postgis_url, "--schema", schema])
        assert done.exit_code == 0, done.output
        assert f"schema version {LATEST_VERSION}" in done.output and schema in done.output
    assert PostGISStore(postgis_url, schema=schema).runs().empty


def test_runs_lists_the_folder_history_newest_first(tiny_project: Path, runner: CliRunner):
    done = runner.invoke(cli.app, ["runs", str(tiny_project), "--lang", "en"])
    assert done.exit_code == 0 and "holds no run yet" in done.output
    first, second = _two_runs(GeoPackageStore(tiny_project / "results"))
    done = runner.invoke(cli.app, ["runs", str(tiny_project), "--lang", "en"])
    assert done.exit_code == 0, done.output
    out = done.output
    assert "tiny: runs (2)" in out and "Run" in out and "Params" in out
    assert max(len(line) for line in out.splitlines()[:4]) <= 80  # one line per run
    assert out.index(second) < out.index(first)
    row = next(line for line in out.splitlines() if second in line)
    assert "e-bike" in row and "01234567" in row
    done = runner.invoke(cli.app, ["runs", str(tiny_project)])
    assert "运行编号" in done.output and "2 次运行" in done.output


def test_runs_lists_a_postgis_store(postgis_url: str, schema: str, tiny_project: Path,
                                    runner: CliRunner):
    assert runner.invoke(cli.app, ["db", "init", postgis_url, "--schema", schema]).exit_code == 0
    first, second = _two_runs(PostGISStore(postgis_url, schema=schema))
    done = runner.invoke(cli.app, ["runs", str(tiny_project), "--store", postgis_url,
                                   "--schema", schema, "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert done.output.index(second) < done.output.index(first)
    assert f"schema {schema}" in done.output


def test_store_errors_are_one_line(tiny_project: Path, tmp_path: Path, runner: CliRunner):
    pytest.importorskip("psycopg")
    url = f"postgresql://planner:s3cret-pw@/coverage?host={tmp_path}"
    for args in (["db", "init", url], ["runs", str(tiny_project), "--store", url]):
        done = runner.invoke(cli.app, args)
        assert done.exit_code == 1, done.output
        lines = done.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: PostGIS store"), done.output
        assert "server not reachable" in lines[0] and "s3cret-pw" not in done.output
        assert "planner:***@" in lines[0] and "Traceback" not in done.output
    for args in (["db", "init", "mysql://planner:s3cret-pw@db/x"],
                 ["runs", str(tiny_project), "--store", "db.example.org"],
                 ["db", "init", url, "--schema", "Bad-Name"]):
        done = runner.invoke(cli.app, args)
        assert done.exit_code == 2, done.output
        assert len(done.output.strip().splitlines()) == 1 and "s3cret-pw" not in done.output
