"""The main job and the reports through a project's store: the small demo city run with the
GeoPackage folder and with PostGIS gives the same layers, value for value; ``coverage report``
reads a PostGIS store's layers (``--store`` or ``[store] url``), keeps its recommendation with
the run it was made on, and ``--run ID`` reports an older run, in either store."""

from __future__ import annotations

import html
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from psycopg import sql
from rich.console import Console
from typer.testing import CliRunner

from coverage import cli
from coverage.engine.reader import published_layers
from coverage.engine.run import PERSON_LAYER, RECOMMENDATION_LAYERS
from coverage.engine.workspace import forget
from coverage.io.project import load_project
from coverage.messages import text
from coverage.report import build_report
from coverage.store import StoreError, open_store
from coverage.store.migrations import migrate
from exact_frames import assert_identical

# Keys of run_info that time the run itself: two runs of the same project differ there only.
TIMING_KEYS = ("run_at", "seconds")


@pytest.fixture(scope="module")
def runner() -> Iterator[CliRunner]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "console", Console(width=300, highlight=False))
        patch.setattr(cli, "err", Console(width=300, stderr=True, highlight=False))
        yield CliRunner()


@pytest.fixture(scope="module")
def schema(postgis_url: str) -> Iterator[str]:
    """A new store schema of the session's database, set up by migrate, dropped afterwards."""
    import psycopg

    name = f"r_{secrets.token_hex(4)}"
    migrate(postgis_url, name)
    yield name
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(scope="module")
def both(small_demo: Path, postgis_url: str, schema: str, runner: CliRunner,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small demo city copied twice and run: into its folder, and into PostGIS."""
    root = tmp_path_factory.mktemp("both_stores")
    folders = {kind: root / kind for kind in ("gpkg", "postgis")}
    for folder in folders.values():
        shutil.copytree(small_demo, folder, ignore=shutil.ignore_patterns("results"))
    done = runner.invoke(cli.app, ["run", str(folders["gpkg"]), "--lang", "en"])
    assert done.exit_code == 0, done.output
    done = runner.invoke(cli.app, ["run", str(folders["postgis"]), "--store", postgis_url,
                                   "--schema", schema, "--person-level", "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert f"(schema {schema}); run " in done.output
    return folders


def _read_all(folder: Path, url: str | None = None, schema: str | None = None,
              run_id: str | None = None) -> dict[str, pd.DataFrame]:
    with open_store(folder, url, schema=schema) as store:
        return store.read_layers(run_id)


def test_the_same_project_run_with_both_stores_gives_identical_layers(
        both: dict[str, Path], postgis_url: str, schema: str):
    from_gpkg = _read_all(both["gpkg"])
    from_postgis = _read_all(both["postgis"], postgis_url, schema)
    # PostGIS keeps the run's published tables too, which district log-ins read: the very
    # tables every output of the run publishes
    published = published_layers(from_gpkg, load_project(both["gpkg"]))
    assert list(from_postgis) == [*from_gpkg, *published]
    for name, frame in published.items():
        assert_identical(frame, from_postgis.pop(name), name)
    assert len(from_gpkg) >= 10 and "community_summary" in from_gpkg
    rows = values = 0
    for name, frame in from_gpkg.items():
        other = from_postgis[name]
        if name == "run_info":  # the same provenance but for when the run was made and took
            timed = frame["key"].isin(TIMING_KEYS)
            assert timed.sum() == len(TIMING_KEYS)
            held = [f.loc[f["key"] == "layers", "value"].item() for f in (frame, other)]
            assert held[1] == ", ".join([held[0], *published])  # the layers each run holds
            frame, other = (f[~f["key"].isin([*TIMING_KEYS, "layers"])].reset_index(drop=True)
                            for f in (frame, other))
        assert_identical(frame, other, name)
        pd.testing.assert_frame_equal(frame, other, check_exact=True)
        rows, values = rows + len(frame), values + frame.size
    assert rows > 1000
    print(f"\n{len(from_gpkg)} layers, {rows:,} rows, {values:,} values identical in both stores")


def test_a_postgis_run_leaves_the_output_folder_and_keeps_personal_data_out(
        both: dict[str, Path], postgis_url: str, schema: str):
    import psycopg

    results = load_project(both["postgis"]).output_dir
    assert not (results / "results.gpkg").exists() and not (results / "runs").exists()
    assert (results / "private" / f"{PERSON_LAYER}.csv").is_file()  # asked for: kept local
    with psycopg.connect(postgis_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,))}
    assert "community_summary" in tables and PERSON_LAYER not in tables


def _summary_sentence(layers: dict[str, pd.DataFrame], project: Path) -> str:
    """The report's sentence on the city's coverage, as built from ``layers``."""
    parsed = load_project(project)
    report = build_report(layers, project_name=parsed.name, lang="en",
                          min_cell=parsed.min_cell)
    return report.section("summary").paragraphs[1]


def _slower_walk(project: Path, url: str | None = None, schema: str | None = None) -> None:
    """Change the walking speed in ``project.toml``, naming the store there when given."""
    toml = project / "project.toml"
    toml_text = toml.read_text(encoding="utf-8").replace("walk = 4.5", "walk = 3.0")
    assert "walk = 3.0" in toml_text
    if url is not None:
        toml_text += f'\n[store]\nurl = "{url}"\nschema = "{schema}"\n'
    toml.write_text(toml_text, encoding="utf-8")
    forget(load_project(project))  # this process's model was made on the former speed


def _report(runner: CliRunner, project: Path, out: Path, *args: str) -> str:
    done = runner.invoke(cli.app, ["report", str(project), "--format", "html", "--lang", "en",
                                   "--out", str(out), *args])
    assert done.exit_code == 0, done.output
    return html.unescape((out / "report-city-en.html").read_text(encoding="utf-8"))


def test_reports_from_postgis_and_of_an_older_run(both: dict[str, Path], postgis_url: str,
                                                  schema: str, runner: CliRunner,
                                                  tmp_path: Path):
    project = both["postgis"]
    store = ["--store", postgis_url, "--schema", schema]
    first = open_store(project, postgis_url, schema=schema).latest_run()
    page = _report(runner, project, tmp_path / "first", *store)
    with open_store(project, postgis_url, schema=schema) as opened:
        kept = opened.read_layers(first)
        listed = opened.runs()
    assert _summary_sentence(kept, project) in page
    # the report's recommendation is kept with the run, after its own layers
    assert set(RECOMMENDATION_LAYERS) <= set(kept)
    assert list(kept)[:len(listed["layers"].iloc[-1])] == list(listed["layers"].iloc[-1])
    assert not set(RECOMMENDATION_LAYERS) & set(listed["layers"].iloc[-1])
    assert not (load_project(project).output_dir / "results.gpkg").exists()
    # coverage recommend replaces the run's recommendation whole; the run's own layers stay
    done = runner.invoke(cli.app, ["recommend", str(project), *store, "--new-sites", "1",
                                   "--lang", "en"])
    assert done.exit_code == 0, done.output
    with open_store(project, postgis_url, schema=schema) as opened:
        again = opened.read_layers(first)
        with pytest.raises(StoreError, match="never changes"):
            opened.add_layers(first, {"district_summary": kept["district_summary"]})
    assert len(again["recommended_sites"]) == 1 and "recommended_staff" not in again
    # an added layer's rows are placed in their districts as the run's own rows are
    with psycopg.connect(postgis_url) as conn:
        table = conn.execute(sql.SQL("SELECT table_name FROM {} WHERE layer = %s").format(
            sql.Identifier(schema, "layer_tables")), ("recommended_sites",)).fetchone()[0]
        placed = conn.execute(sql.SQL("SELECT count(_district) FROM {} WHERE run_id = %s").format(
            sql.Identifier(schema, table)), (first,)).fetchone()[0]
    assert placed == 1
    for name in listed["layers"].iloc[-1]:
        assert_identical(kept[name], again[name], name)
    assert (load_project(project).output_dir / "recommended_scenario.json").is_file()

    _slower_walk(project, postgis_url, schema)  # now in project.toml: no --store needed
    done = runner.invoke(cli.app, ["run", str(project), "--lang", "en"])
    assert done.exit_code == 0, done.output
    with open_store(project) as opened:
        second = opened.latest_run()
        newer = opened.read_layers(second)
    assert second != first
    old, new = _summary_sentence(kept, project), _summary_sentence(newer, project)
    assert old != new
    latest = _report(runner, project, tmp_path / "latest")
    assert new in latest and old not in latest
    older = _report(runner, project, tmp_path / "older", "--run", first)
    assert old in older and new not in older


def test_an_older_run_of_the_folder_and_unknown_runs(both: dict[str, Path], runner: CliRunner,
                                                     tmp_path: Path):
    project = both["gpkg"]
    first = open_store(project).latest_run()
    kept = _read_all(project, run_id=first)
    _slower_walk(project)
    done = runner.invoke(cli.app, ["run", str(project), "--lang", "en"])
    assert done.exit_code == 0, done.output
    older = _report(runner, project, tmp_path / "older", "--run", first)
    newer = _read_all(project)
    assert _summary_sentence(kept, project) in older
    assert _summary_sentence(newer, project) not in older
    # the latest run reported by id carries its recommendation, kept in results.gpkg
    _report(runner, project, tmp_path / "latest")
    latest = open_store(project).latest_run()
    page = _report(runner, project, tmp_path / "by-id", "--run", latest)
    assert _summary_sentence(newer, project) in page
    assert text("report", "txt_no_recommend", "en") not in page
    assert text("report", "txt_no_recommend", "en") in older

    unknown = "20000101T000000.000000Z-0000"
    done = runner.invoke(cli.app, ["report", str(project), "--run", unknown])
    assert done.exit_code == 1
    assert f"no run {unknown}" in done.output and "coverage runs" in done.output
    assert len(done.output.strip().splitlines()) == 1
    done = runner.invoke(cli.app, ["report", str(project), "--run", "last-quarter"])
    assert done.exit_code == 2 and "coverage runs PROJECT" in done.output
