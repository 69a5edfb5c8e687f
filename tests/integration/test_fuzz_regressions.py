"""Regressions found by fuzzing (``tests/integration/test_fuzz.py``, ``benchmarks/fuzz_long.py``).

Each test is one input the fuzzer broke the tool with, reduced by hand: an uncaught exception,
a hang, a personal value quoted in a message or a message that was not one line. The projects
are the fuzzer's tiny project, whose migrants table carries planted personal values
(``fuzzing.SENTINELS``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import fuzzing
from coverage.engine.preflight import check_project
from coverage.io.project import ProjectError, load_project
from coverage.io.readers import read_table
from coverage.io.validation import Problems
from fuzzing import MIGRANT_ROWS, SENTINELS, Case, deadline


def project(tmp_path: Path, *, toml: str | None = None, **files: bytes) -> Path:
    """Write the fuzzer's tiny project with ``files`` (name with ``.`` as ``_``) replaced."""
    named = {name.replace("_", ".", 1) if "_" in name else name: data
             for name, data in files.items()}
    return Case("csv", "regression", files=named, project=toml).write(tmp_path / "p")


def table(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def validate_cli(folder: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """What ``coverage validate`` prints (wide consoles: no value is cut by wrapping)."""
    from rich.console import Console
    from typer.testing import CliRunner

    from coverage import cli

    monkeypatch.setattr(cli, "console", Console(width=1000, highlight=False))
    monkeypatch.setattr(cli, "err", Console(width=1000, stderr=True, highlight=False))
    result = CliRunner().invoke(cli.app, ["validate", str(folder), "--lang", "en"])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stdout + result.stderr


def said(problems: Problems) -> str:
    return "\n".join(str(p) for p in problems)


def assert_no_personal_value(text: str) -> None:
    leaked = [s for s in SENTINELS if s in text]
    assert not leaked, (leaked, text)


# --- personal values in messages -------------------------------------------------------------


def test_migrants_without_a_header_row_say_so_without_quoting_a_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known leak: the first data row was printed as the file's "headers"."""
    folder = project(tmp_path, migrants_csv=table(MIGRANT_ROWS))
    problems = check_project(folder)
    first = problems.errors[0]
    assert (first.file, first.row, first.rule) == ("migrants.csv", 1, "missing-column")
    assert "lack a header row" in first.hint and "人员编号 (person_id)" in first.hint
    assert "经度 (lon)" in first.hint
    assert_no_personal_value(said(problems))
    printed = validate_cli(folder, monkeypatch)
    assert "lack a header row" in printed
    assert_no_personal_value(printed)


def test_a_repeated_value_in_a_headerless_row_is_not_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known leak: ``ambiguous-column`` quoted the repeated cells of the first data row."""
    rows = [[*r[:10], r[0], r[0]] for r in MIGRANT_ROWS]  # the id twice more in every row
    folder = project(tmp_path, migrants_csv=table(rows))
    problems = check_project(folder)
    assert [p.rule for p in problems.errors] == ["missing-column"]
    assert_no_personal_value(said(problems))
    assert_no_personal_value(validate_cli(folder, monkeypatch))


def test_ambiguous_column_of_a_text_row_names_columns_not_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known leak: a first row of text only (no number gives it away) with a repeated value."""
    rows = [[r[0], r[11] or "某某", r[0]] for r in MIGRANT_ROWS]
    folder = project(tmp_path, migrants_csv=table(rows))
    first = check_project(folder).errors[0]
    assert first.rule == "ambiguous-column" and "columns A (1) and C (3)" in first.hint
    printed = validate_cli(folder, monkeypatch)
    assert "[ambiguous-column]" in printed
    assert_no_personal_value(printed)


def test_repeated_headers_of_a_personal_file_are_named_by_column(tmp_path: Path) -> None:
    """Repeated headers that are not the data model's are values: named by their columns."""
    path = tmp_path / "m.csv"
    path.write_bytes(table([["M7Q93XZ", "欧阳震华", "M7Q93XZ"], ["a", "b", "c"]]))
    problems = Problems()
    assert read_table(path, problems=problems, personal=True) is None
    (p,) = problems
    assert p.rule == "ambiguous-column" and "A (1) and C (3)" in p.hint
    assert_no_personal_value(str(p))
    problems = Problems()  # the data model's own headers are no one's values
    path.write_bytes(table([["人员编号", "经度", "经度"], ["a", "1", "2"]]))
    read_table(path, problems=problems, personal=True, known={"经度"})
    assert "'经度'" in str(problems.items[0])
    problems = Problems()  # a layer about places quotes its headers as before
    path.write_bytes(table([["名称", "名称"], ["a", "b"]]))
    read_table(path, problems=problems)
    assert "'名称'" in str(problems.items[0])


def test_a_headerless_file_read_with_the_wrong_delimiter(tmp_path: Path) -> None:
    """A whole row became one "header", listed among the ignored columns."""
    toml = fuzzing.toml_text(fuzzing.project_with("migrants", delimiter=";"))
    problems = check_project(project(tmp_path, toml=toml, migrants_csv=table(MIGRANT_ROWS)))
    assert problems.errors[0].rule == "missing-column"
    assert "lack a header row" in problems.errors[0].hint
    assert_no_personal_value(said(problems))


def test_a_first_row_of_text_values_is_not_listed(tmp_path: Path) -> None:
    """No number to give the missing header row away: the unknown "headers" are not listed."""
    rows = [[r[0], r[11] or "某某"] for r in MIGRANT_ROWS]
    toml = fuzzing.toml_text(fuzzing.project_with(
        "migrants", columns={"person_id": "人员编号"}))
    problems = check_project(project(tmp_path, toml=toml, migrants_csv=table(rows)))
    assert {p.rule for p in problems} >= {"missing-column", "ignored-columns"}
    assert any("headers are not shown" in p.hint for p in problems)
    assert any("is its header row missing?" in p.hint for p in problems)
    assert_no_personal_value(said(problems))


def test_known_headers_are_still_listed(tmp_path: Path) -> None:
    """A file with its header row lists the columns outside the data model, as before."""
    problems = check_project(project(tmp_path))
    ignored = next(p for p in problems if p.rule == "ignored-columns")
    assert "姓名, 联系电话" in ignored.hint
    assert not problems.errors


# --- messages on one line ---------------------------------------------------------------------


def test_a_line_break_in_a_file_name_stays_on_one_line(tmp_path: Path) -> None:
    toml = fuzzing.toml_text(fuzzing.project_with("sites", path="line\nbreak.csv"))
    problems = check_project(project(tmp_path, toml=toml))
    first = problems.errors[0]
    assert first.file == "line\\nbreak.csv" and first.rule == "missing-file"
    assert "\n" not in str(first)


# --- files that are not files -----------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_project_file_that_is_a_folder_or_a_fifo(tmp_path: Path, kind: str) -> None:
    """A folder raised IsADirectoryError; a FIFO waited for a writer for ever."""
    target = tmp_path / "project.toml"
    target.mkdir() if kind == "folder" else os.mkfifo(target)
    with deadline(10), pytest.raises(ProjectError, match="not a regular file"):
        load_project(tmp_path)


def test_a_file_name_too_long_for_the_file_system(tmp_path: Path) -> None:
    """``Path.exists`` raised OSError (ENAMETOOLONG)."""
    toml = fuzzing.toml_text(fuzzing.project_with("sites", path="x" * 300 + ".csv"))
    first = check_project(project(tmp_path, toml=toml)).errors[0]
    assert first.rule == "unreadable-file" and "too long" in first.hint


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs /proc/self/mem")
def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    """Reading failed with OSError (EIO) after the file's checks passed."""
    folder = project(tmp_path)
    (folder / "sites.csv").unlink()
    (folder / "sites.csv").symlink_to("/proc/self/mem")
    first = check_project(folder).errors[0]
    assert (first.file, first.rule) == ("sites.csv", "unreadable-file")


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(),
                    reason="FIFOs and /dev/zero are POSIX")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_network_file_that_is_a_fifo_or_a_device(tmp_path: Path, kind: str) -> None:
    """Hashing the network for its cache waited on the FIFO, or read /dev/zero, for ever."""
    folder = project(tmp_path)
    (folder / "network.gpkg").unlink()
    if kind == "fifo":
        os.mkfifo(folder / "network.gpkg")
    else:
        (folder / "network.gpkg").symlink_to("/dev/zero")
    with deadline(10):
        first = check_project(folder).errors[0]
    assert (first.file, first.rule) == ("network.gpkg", "unreadable-network")
    assert "not a regular file" in first.hint


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("kind", ["fifo", "loop"])
def test_a_salt_file_that_is_a_fifo_or_a_link_loop(tmp_path: Path, kind: str) -> None:
    """Reading the salt from a FIFO waited for ever (the migrants hold an ID number to hash)."""
    data = fuzzing.project_with()
    data["privacy"] = {"salt_file": "salt"}
    folder = project(tmp_path, toml=fuzzing.toml_text(data))
    if kind == "fifo":
        os.mkfifo(folder / "salt")
    else:
        (folder / "salt").symlink_to("salt")
    with deadline(10):
        first = check_project(folder).errors[0]
    assert (first.file, first.rule) == ("salt", "unreadable-file")
    assert "not a salt file" in first.hint


def test_a_network_file_name_too_long(tmp_path: Path) -> None:
    toml = fuzzing.toml_text(fuzzing.project_with("network", path="x" * 300 + ".osm"))
    first = check_project(project(tmp_path, toml=toml)).errors[0]
    assert first.rule == "unreadable-network" and "too long" in first.hint


# --- broken GeoPackages and networks ----------------------------------------------------------


def _communities_gpkg(tmp_path: Path) -> Path:
    path = tmp_path / "c.gpkg"
    from conftest import communities

    communities().to_file(path, layer="communities", driver="GPKG")
    return path


def test_a_geopackage_without_layers(tmp_path: Path) -> None:
    """pyogrio raised IndexError (no default layer) out of the reader."""
    path = _communities_gpkg(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM gpkg_contents")
        db.execute("DROP TABLE communities")
    problems = Problems()
    assert read_table(path, problems=problems) is None
    assert [p.rule for p in problems] == ["unreadable-file"]


def test_a_geopackage_table_without_geometry(tmp_path: Path) -> None:
    """A table the GeoPackage does not register as spatial: AttributeError on ``.geometry``."""
    path = _communities_gpkg(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM gpkg_contents")
    problems = Problems()
    raw = read_table(path, problems=problems)
    assert raw is not None and raw.geometry is None and len(raw.frame) == 2


def test_huge_whole_numbers_in_a_vector_text_column(tmp_path: Path) -> None:
    """1e300 in a float column read as text: Int64 cast raised TypeError."""
    from conftest import communities

    comm = communities().assign(社区名称=[1e300, 2.0**62])
    comm.to_file(tmp_path / "communities.geojson", driver="GeoJSON")
    folder = project(tmp_path, communities_geojson=(tmp_path / "communities.geojson")
                     .read_bytes())
    assert not check_project(folder).errors


def test_edge_geometries_must_run_between_their_nodes(tmp_path: Path) -> None:
    """An edge drawn to (0, 0): validate passed, run tried to allocate 1.76 TiB."""
    nodes, edges = fuzzing.network_frames()
    geoms = list(edges.geometry)
    geoms[3] = shapely.LineString([(0, 0), (180, 90)])
    edges = edges.set_geometry(geoms)
    path = tmp_path / "network.gpkg"
    nodes.to_file(path, layer="nodes", driver="GPKG")
    edges.to_file(path, layer="edges", driver="GPKG")
    problems = check_project(project(tmp_path, network_gpkg=path.read_bytes()))
    first = problems.errors[0]
    assert first.rule == "unreadable-network"
    assert "does not run between its two nodes" in first.hint


def test_an_osm_node_at_longitude_zero(tmp_path: Path) -> None:
    """A road to (0, 23°): 7 s cutting 11,000 km into 10 m snapping pieces (more: a hang)."""
    text = fuzzing.osm_xml().replace('lon="113.754"', 'lon="0"', 1)
    toml = fuzzing.toml_text(fuzzing.project_with("network", path="network.osm"))
    folder = project(tmp_path, toml=toml, network_osm=text.encode("utf-8"))
    with deadline(10):
        first = check_project(folder).errors[0]
    assert (first.file, first.rule) == ("network.osm", "unreadable-network")
    assert "km in a straight line" in first.hint and "a node is misplaced" in first.hint


@pytest.mark.parametrize("how", ["far", "huge"])
def test_a_community_far_away_or_as_large_as_a_province(tmp_path: Path, how: str) -> None:
    """Validate passed; run gridded the bounding box at 100 m and asked for 8 GiB."""
    from conftest import communities

    comm = communities()
    x0, y0, x1, y1 = comm.geometry.iloc[1].bounds
    comm.loc[1, "geometry"] = (shapely.box(x0 + 50, y0 + 20, x1 + 50, y1 + 20) if how == "far"
                               else shapely.box(100, 15, 125, 35))
    comm.to_file(tmp_path / "c.geojson", driver="GeoJSON")
    folder = project(tmp_path, communities_geojson=(tmp_path / "c.geojson").read_bytes())
    first = check_project(folder).errors[0]
    assert (first.file, first.field, first.rule) == ("communities.geojson", "geometry",
                                                     "community-out-of-place")
    assert ("100 km from every other" if how == "far" else "spans more than 200 km") in str(first)


def test_an_empty_path(tmp_path: Path) -> None:
    """``path = ""`` named the project folder: a problem of file "" (a message naming none)."""
    toml = fuzzing.toml_text(fuzzing.project_with("network", path=""))
    with pytest.raises(ProjectError, match=r"\[layers.network\] path: is empty"):
        load_project(project(tmp_path, toml=toml))


def test_a_path_with_a_nul_character(tmp_path: Path) -> None:
    """``Path.resolve`` raised ValueError (embedded null byte) out of ``load_project``."""
    toml = fuzzing.toml_text(fuzzing.project_with("sites", path="nul\x00.csv"))
    with pytest.raises(ProjectError, match=r"\[layers.sites\] path: 'nul\\x00.csv' holds a NUL"):
        load_project(project(tmp_path, toml=toml))


def test_init_with_a_self_intersecting_community(tmp_path: Path) -> None:
    """``init`` raised GEOSException uniting the communities (twice: study area, CRS check)."""
    from conftest import communities
    from coverage.init_project import init_project

    comm = communities()
    x0, y0, x1, y1 = comm.geometry.iloc[0].bounds
    comm.loc[0, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    folder = project(tmp_path)
    comm.to_file(folder / "communities.gpkg", layer="communities", driver="GPKG")
    files = {"migrants": folder / "migrants.csv", "sites": folder / "sites.csv",
             "communities": folder / "communities.gpkg", "network": folder / "network.gpkg"}
    result = init_project(tmp_path / "init", files)
    assert [p.rule for p in result.problems.errors] == ["invalid-polygon"]
    assert_no_personal_value(said(result.problems))


def test_init_with_a_community_of_nan_coordinates(tmp_path: Path) -> None:
    """``init`` raised GEOSException: an empty centroid's x, then mending the polygon."""
    import math

    from conftest import communities
    from coverage.init_project import init_project

    comm = communities()
    comm.loc[1, "geometry"] = shapely.Polygon([(113.76, 23.02), (math.nan, 23.03),
                                               (113.77, 23.03)])
    folder = project(tmp_path)
    comm.to_file(folder / "communities.gpkg", layer="communities", driver="GPKG")
    files = {"migrants": folder / "migrants.csv", "sites": folder / "sites.csv",
             "communities": folder / "communities.gpkg", "network": folder / "network.gpkg"}
    result = init_project(tmp_path / "init", files)
    assert "invalid-polygon" in {p.rule for p in result.problems.errors}


# --- slow inputs ------------------------------------------------------------------------------


def test_a_stray_cell_far_below_a_workbook_table(tmp_path: Path) -> None:
    """A value at A1048576 made the reader build a million rows of empty cells (minutes)."""
    from openpyxl import Workbook

    book = Workbook()
    for row in [fuzzing.SITE_HEADER, *fuzzing.SITE_ROWS]:
        book.active.append(row)
    book.active.cell(1_048_576, 1, "x")
    book.active.cell(3, 16_384, "far right")
    book.save(tmp_path / "sites.xlsx")
    problems = Problems()
    with deadline(10):
        raw = read_table(tmp_path / "sites.xlsx", problems=problems)
    assert list(raw.rows) == [2, 3, 1_048_576]
    assert list(raw.frame.columns) == fuzzing.SITE_HEADER
    empty = [p for p in problems if p.rule == "empty-rows"]
    assert empty[0].row == 4 and sum(p.count for p in empty) == 1_048_576 - 4


def test_a_stray_header_cell_at_the_last_column(tmp_path: Path) -> None:
    """A header cell at XFD1 made 16,384 columns: 12 s to read, 90 s in ``init``."""
    from openpyxl import Workbook

    from coverage.init_project import init_project

    book = Workbook()
    for row in [fuzzing.MIGRANT_HEADER, *MIGRANT_ROWS]:
        book.active.append(row)
    book.active.cell(1, 16_384, "备注")
    folder = project(tmp_path)
    book.save(folder / "migrants.xlsx")
    problems = Problems()
    with deadline(10):
        raw = read_table(folder / "migrants.xlsx", problems=problems, personal=True)
    assert list(raw.frame.columns) == [*fuzzing.MIGRANT_HEADER, "备注"]
    files = {"migrants": folder / "migrants.xlsx", "sites": folder / "sites.csv",
             "communities": folder / "communities.geojson", "network": folder / "network.gpkg"}
    with deadline(30):
        result = init_project(tmp_path / "init", files)
    assert not result.problems.errors, said(result.problems)


# --- scenarios --------------------------------------------------------------------------------


def test_edit_errors_name_the_edit() -> None:
    """"add: a service point 'S1' already exists" did not say which edit."""
    from coverage.engine.scenario import Edit

    model = fuzzing.scenario_model()
    with pytest.raises(ValueError, match=r"^edit 2 \(add 'S1'\): a service point with this"):
        model.evaluate([Edit("set_staff", "S2", staff=1.0),
                        Edit("add", "S1", lon=113.755, lat=23.025, staff=1.0)])
    with pytest.raises(ValueError, match=r"^edit 1 \(close 'N9'\): no service point"):
        model.evaluate([Edit("close", "N9")])


@pytest.mark.parametrize("where", ["site_id", "name", "scenario name", "inputs"])
def test_lone_surrogates_in_a_scenario(where: str) -> None:
    """``"\\ud800"`` in the JSON: evaluating failed in pyarrow with UnicodeEncodeError."""
    from coverage.engine.scenario import Scenario

    edit = {"action": "add", "site_id": "N1", "lon": 113.755, "lat": 23.025, "staff": 1}
    data: dict[str, object] = {"name": "x", "edits": [edit]}
    if where == "scenario name":
        data["name"] = "\ud800"
    elif where == "inputs":
        data["inputs"] = {"migrants": "\ud800"}
    else:
        edit[where] = "\ud800"
    field = {"scenario name": "name"}.get(where, where)
    with pytest.raises(ValueError, match=f"field '{field}'") as info:
        Scenario.from_text(json.dumps(data))
    str(info.value).encode("utf-8")  # the message itself can be printed


def test_placements_per_scenario_are_limited() -> None:
    """1,000 added sites took 18 s on the tiny project (200 moves 14 s)."""
    from coverage.engine.scenario import MAX_PLACEMENTS, Scenario

    def text(n: int) -> str:
        return json.dumps({"name": "x", "edits": [
            {"action": "add", "site_id": f"N{k}", "lon": 113.755, "lat": 23.025, "staff": 1}
            for k in range(n)]})

    assert len(Scenario.from_text(text(MAX_PLACEMENTS)).edits) == MAX_PLACEMENTS
    with pytest.raises(ValueError, match="101 edits add or move a service point, more than "
                                         "the 100 allowed"):
        Scenario.from_text(text(MAX_PLACEMENTS + 1))


def test_the_base_project_is_valid_and_runs() -> None:
    """The fuzzer's starting point: valid, with its planted values hidden."""
    outcome = fuzzing.check_one(Case("csv", "unchanged", run=True))
    assert outcome.status == "ok" and outcome.stage == "run", outcome


def test_the_oracle_sees_a_leak(tmp_path: Path) -> None:
    """The leak detector works: a planted value printed by the tool is caught."""
    import logging

    with fuzzing.captured() as texts:
        logging.getLogger("coverage").warning("row of %s", SENTINELS[0])
        print(SENTINELS[4])
    assert fuzzing.leaked(texts) == (SENTINELS[0], SENTINELS[4])


def test_communities_in_a_geopackage_table_without_geometry(tmp_path: Path) -> None:
    """Communities as a table in a GeoPackage (no geometry) are approximated, not a crash."""
    from conftest import communities

    gpd.GeoDataFrame(communities()).to_file(tmp_path / "c.gpkg", layer="c", driver="GPKG")
    with sqlite3.connect(tmp_path / "c.gpkg") as db:
        db.execute("DELETE FROM gpkg_contents")
    toml = fuzzing.toml_text(fuzzing.project_with("communities", path="c.gpkg"))
    folder = project(tmp_path, toml=toml, c_gpkg=(tmp_path / "c.gpkg").read_bytes())
    problems = check_project(folder)
    assert all(p.rule != "unreadable-file" for p in problems)


def test_run_with_every_migrant_in_one_hexagon(tmp_path: Path) -> None:
    """Inflow trends with all arrivals in one hexagon: no hot-spot pattern, not a crash."""
    rows = [[*row[:1], "113.7581234", "23.0251234", *row[3:]] for row in MIGRANT_ROWS]
    header = fuzzing.MIGRANT_HEADER
    outcome = fuzzing.check_one(Case("csv", "one hexagon", run=True,
                                     files={"migrants.csv": table([header, *rows])}))
    assert outcome.status == "ok", (outcome.message, outcome.detail)
    assert outcome.stage == "run"
