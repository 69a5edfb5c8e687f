"""One test per class of bad input: the problem names the file, row, field and rule.

Each fixture breaks the tiny project of ``conftest`` in exactly one way. The tests check the
:class:`~coverage.io.validation.Problem` found by :func:`~coverage.io.loaders.validate_project`, its
one-line message, what :func:`~coverage.io.loaders.load_study` does with it, and the exit code and
error line of ``coverage validate`` (run through typer's ``CliRunner``; ``test_cli.py`` runs the
real console script).

Row numbers are counted as a spreadsheet user counts them: the CSV header is row 1, so the first
record is row 2; XLSX rows are the sheet's row numbers; vector features are numbered from 1.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from rich.console import Console
from typer.testing import CliRunner

from conftest import MIGRANTS_CSV, communities, sites_csv
from coverage import cli
from coverage.io.loaders import load_study, validate_project
from coverage.io.privacy import hash_ids, load_salt
from coverage.io.validation import RULES, Problem, Problems, ValidationError

# --- helpers ----------------------------------------------------------------------------------


def edit(path: Path, old: str, new: str, *, count: int = 1, encoding: str = "utf-8") -> None:
    """Replace ``old`` by ``new`` in a text file, insisting that ``old`` is there."""
    text = path.read_bytes().decode(encoding)
    assert old in text, f"{old!r} not in {path.name}"
    path.write_bytes(text.replace(old, new, count).encode(encoding))


def edit_project(folder: Path, old: str, new: str) -> None:
    edit(folder / "project.toml", old, new)


def write_sites(folder: Path, text: str) -> None:
    (folder / "sites.csv").write_bytes(text.encode("gb18030"))


def find(problems: Problems | list[Problem], rule: str) -> list[Problem]:
    return [p for p in problems if p.rule == rule]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CliRunner whose rich consoles are wide, so table cells are not wrapped."""
    monkeypatch.setattr(cli, "console", Console(width=400, highlight=False))
    monkeypatch.setattr(cli, "err", Console(width=400, stderr=True, highlight=False))
    return CliRunner()


def run_validate(runner: CliRunner, folder: Path, *extra: str):
    return runner.invoke(cli.app, ["validate", str(folder), "--lang", "en", *extra])


def assert_reported(
    folder: Path,
    runner: CliRunner,
    *,
    file: str,
    row: int | None,
    field: str | None,
    rule: str,
    severity: str = "error",
    first: bool = True,
) -> Problem:
    """Check that one problem is found, said in one line, and ends ``coverage validate``.

    ``first``: the problem is the first error, so the CLI's one-line error message is it.
    """
    problems = validate_project(folder)
    matches = [p for p in problems if (p.file, p.row, p.field, p.rule) == (file, row, field, rule)]
    listed = "\n".join(map(str, problems))
    assert matches, f"no {rule} at {file} row {row} field {field}; found:\n{listed}"
    problem = matches[0]
    assert problem.severity == severity
    assert rule in RULES
    line = str(problem)
    assert "\n" not in line
    assert line.startswith(file)
    assert f"[{rule}]" in line
    if row is not None:
        assert f"row {row}" in line
    if field is not None:
        assert repr(field) in line

    result = run_validate(runner, folder)
    assert f"[{rule}]" in result.stdout  # the table lists every problem
    if severity == "error":
        assert result.exit_code == 2, result.output
        error_lines = result.stderr.strip().splitlines()
        assert len(error_lines) == 1, result.stderr
        if first:
            assert error_lines[0] == f"error: {line}"
        with pytest.raises(ValidationError) as info:
            load_study(folder)
        assert problem in info.value.problems
        assert "\n" not in str(info.value)
        if first:
            assert str(info.value).startswith(line)
    else:
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        study = load_study(folder)
        assert problem in list(study.problems)
    return problem


def test_tiny_project_is_valid(tiny_project: Path, runner: CliRunner) -> None:
    # Every test below breaks this project in one way; unbroken it has no problem at all.
    assert list(validate_project(tiny_project)) == []
    result = run_validate(runner, tiny_project)
    assert result.exit_code == 0
    assert "0 errors, 0 warnings" in result.stdout


# --- missing required column ------------------------------------------------------------------


def drop_csv_column(path: Path, header: str, encoding: str = "utf-8") -> None:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))
    i = rows[0].index(header)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:i] + r[i + 1:] for r in rows])
    path.write_bytes(out.getvalue().encode(encoding))


@pytest.fixture
def missing_column(tiny_project: Path) -> Path:
    drop_csv_column(tiny_project / "migrants.csv", "纬度")
    return tiny_project


def test_missing_required_column(missing_column: Path, runner: CliRunner) -> None:
    p = assert_reported(missing_column, runner, file="migrants.csv", row=1, field="lat",
                        rule="missing-column")
    assert "纬度" in p.hint  # the Chinese header the user could add


def test_missing_required_column_in_vector_file_has_no_row(
    tiny_project: Path, runner: CliRunner
) -> None:
    gdf = communities().drop(columns=["户籍人口"])
    gdf.to_file(tiny_project / "communities.geojson", driver="GeoJSON")
    # a vector file has no header row: the problem is about the file, not about feature 1
    assert_reported(tiny_project, runner, file="communities.geojson", row=None,
                    field="registered_pop", rule="missing-column")


def test_mapped_column_missing_from_file(tiny_project: Path, runner: CliRunner) -> None:
    edit_project(tiny_project, 'path = "sites.csv"',
                 'path = "sites.csv"\ncolumns = { staff = "在编人数" }')
    p = assert_reported(tiny_project, runner, file="sites.csv", row=1, field="staff",
                        rule="missing-column")
    assert "在编人数" in p.hint and "人员" in p.hint  # the mapped header and the real ones


# --- unknown category values ------------------------------------------------------------------


@pytest.fixture
def unknown_site_kind(tiny_project: Path) -> Path:
    write_sites(tiny_project, sites_csv().replace(",社区计生服务室,", ",乡镇卫生院,"))
    return tiny_project


def test_unknown_site_kind_shows_the_value(unknown_site_kind: Path, runner: CliRunner) -> None:
    p = assert_reported(unknown_site_kind, runner, file="sites.csv", row=3, field="kind",
                        rule="unknown-category")
    assert "乡镇卫生院" in str(p)  # sites are not personal: the bad value helps the user
    assert "health_station" in p.hint and "社区卫生服务站" in p.hint  # the allowed values


@pytest.fixture
def unknown_sex(tiny_project: Path) -> Path:
    edit(tiny_project / "migrants.csv", ",男,", ",Xq9z,")
    return tiny_project


def test_unknown_sex_hides_the_value(unknown_sex: Path, runner: CliRunner) -> None:
    p = assert_reported(unknown_sex, runner, file="migrants.csv", row=3, field="sex",
                        rule="unknown-category")
    assert "Xq9z" not in str(p)  # personal: the value never appears
    result = run_validate(runner, unknown_sex)
    assert "Xq9z" not in result.output
    with pytest.raises(ValidationError) as info:
        load_study(unknown_sex)
    assert "Xq9z" not in str(info.value)


# --- duplicate ids ----------------------------------------------------------------------------


@pytest.fixture
def duplicate_ids(tiny_project: Path) -> Path:
    edit(tiny_project / "migrants.csv", "M003,", "M001,")
    return tiny_project


def test_duplicate_ids(duplicate_ids: Path, runner: CliRunner) -> None:
    p = assert_reported(duplicate_ids, runner, file="migrants.csv", row=4, field="person_id",
                        rule="duplicate-id")
    assert p.hint.endswith("row 2")  # where the id was first used
    assert "M001" not in str(p)  # migrants' ids are personal
    assert len(find(validate_project(duplicate_ids), "duplicate-id")) == 1  # not the first use


def test_duplicate_site_ids(tiny_project: Path, runner: CliRunner) -> None:
    write_sites(tiny_project, sites_csv().replace("S2,", "S1,"))
    assert_reported(tiny_project, runner, file="sites.csv", row=3, field="site_id",
                    rule="duplicate-id")


# --- empty, NaN and non-numeric coordinates ---------------------------------------------------


@pytest.fixture
def bad_coordinates(tiny_project: Path) -> Path:
    path = tiny_project / "migrants.csv"
    edit(path, "113.752,23.022", ",23.022")  # row 2: empty longitude
    edit(path, "113.755,23.025", "113.755,NaN")  # row 3: NaN latitude
    edit(path, "113.763,23.024", "东经113度,23.024")  # row 4: text
    return tiny_project


def test_empty_nan_and_text_coordinates(bad_coordinates: Path, runner: CliRunner) -> None:
    for row in (2, 3, 4):
        assert_reported(bad_coordinates, runner, file="migrants.csv", row=row,
                        field="经度/纬度", rule="missing-coordinate", first=row == 2)
    problems = validate_project(bad_coordinates)
    # one problem per bad row, not an extra "empty value" for the same cell
    assert [p.row for p in problems.errors] == [2, 3, 4]


def test_non_numeric_coordinates_of_sites(tiny_project: Path, runner: CliRunner) -> None:
    text = sites_csv()
    lat = text.splitlines()[2].split(",")[4]
    write_sites(tiny_project, text.replace(lat, "inf"))
    assert_reported(tiny_project, runner, file="sites.csv", row=3, field="经度/纬度",
                    rule="missing-coordinate")


# --- latitude and longitude swapped -----------------------------------------------------------


@pytest.fixture
def swapped(tiny_project: Path) -> Path:
    edit(tiny_project / "migrants.csv", "113.755,23.025", "23.025,113.755")
    return tiny_project


def test_swapped_coordinates(swapped: Path, runner: CliRunner) -> None:
    p = assert_reported(swapped, runner, file="migrants.csv", row=3, field="经度/纬度",
                        rule="swapped-coordinates")
    assert "swap" in p.hint


# --- coordinates outside the valid range ------------------------------------------------------


@pytest.fixture
def out_of_range(tiny_project: Path) -> Path:
    path = tiny_project / "migrants.csv"
    edit(path, "113.752,23.022", "213.752,23.022")
    edit(path, "113.763,23.024", "113.763,-93.024")
    return tiny_project


def test_coordinates_out_of_range(out_of_range: Path, runner: CliRunner) -> None:
    assert_reported(out_of_range, runner, file="migrants.csv", row=2, field="经度/纬度",
                    rule="coordinate-range")
    p = assert_reported(out_of_range, runner, file="migrants.csv", row=4, field="经度/纬度",
                        rule="coordinate-range", first=False)
    assert "±180" in p.hint and "±90" in p.hint


# --- points outside the study area ------------------------------------------------------------


@pytest.fixture
def one_point_outside(tiny_project: Path) -> Path:
    # 0.01° east of the communities' east edge: about 1 km out, beyond the 500 m tolerance
    edit(tiny_project / "migrants.csv", "113.765,23.027", "113.780,23.027")
    return tiny_project


def test_a_few_points_outside_are_quarantined(one_point_outside: Path, runner: CliRunner) -> None:
    p = assert_reported(one_point_outside, runner, file="migrants.csv", row=5, field="geometry",
                        rule="outside-study-area", severity="warning")
    assert "500 m" in p.hint  # the tolerance
    study = load_study(one_point_outside)
    assert study.quarantined["migrants"] == 1
    assert study.quarantined["sites"] == 0
    assert sorted(study.migrants["source_row"]) == [2, 3, 4]
    result = run_validate(runner, one_point_outside)
    assert "0 errors, 1 warnings" in result.stdout


def test_tolerance_comes_from_the_project(one_point_outside: Path, runner: CliRunner) -> None:
    edit_project(one_point_outside, "[layers.migrants]",
                 "[parameters]\nstudy_area_tolerance_m = 2000\n[layers.migrants]")
    study = load_study(one_point_outside)  # 1 km out is within 2 km
    assert study.quarantined["migrants"] == 0
    edit_project(one_point_outside, "study_area_tolerance_m = 2000",
                 "study_area_tolerance_m = 100")
    p = assert_reported(one_point_outside, runner, file="migrants.csv", row=5, field="geometry",
                        rule="outside-study-area", severity="warning")
    assert "100 m" in p.hint


def test_zero_tolerance(tiny_project: Path) -> None:
    edit_project(tiny_project, "[layers.migrants]",
                 "[parameters]\nstudy_area_tolerance_m = 0\n[layers.migrants]")
    study = load_study(tiny_project)
    assert study.quarantined == {"migrants": 0, "sites": 0}
    assert study.migrants.set_index("source_row").loc[5, "community_id"] == "C2"


def test_one_of_two_sites_outside_is_not_mostly(tiny_project: Path, runner: CliRunner) -> None:
    rows = sites_csv().splitlines(keepends=True)
    lon = rows[2].split(",")[3]
    rows[2] = rows[2].replace(lon, f"{float(lon) + 0.05:.7f}")  # about 5 km east
    write_sites(tiny_project, "".join(rows))
    assert_reported(tiny_project, runner, file="sites.csv", row=3, field="geometry",
                    rule="outside-study-area", severity="warning")
    study = load_study(tiny_project)
    assert study.quarantined["sites"] == 1
    assert list(study.sites["site_id"]) == ["S1"]


@pytest.fixture
def layer_outside(tiny_project: Path) -> Path:
    edit(tiny_project / "migrants.csv", ",113.7", ",114.7", count=-1)  # every point ~100 km east
    return tiny_project


def test_layer_mostly_outside_is_an_error(layer_outside: Path, runner: CliRunner) -> None:
    p = assert_reported(layer_outside, runner, file="migrants.csv", row=None, field="geometry",
                        rule="layer-outside-study-area")
    assert "4 of 4" in p.hint and "crs" in p.hint
    assert find(validate_project(layer_outside), "outside-study-area") == []  # one line, not 4


def test_declared_system_is_undone(tiny_project: Path) -> None:
    # conftest wrote the sites at these WGS-84 positions, converted to GCJ-02
    truth = gpd.GeoSeries(gpd.points_from_xy([113.753, 113.764], [23.021, 23.026]), crs=4326)
    study = load_study(tiny_project)
    assert "GCJ-02" in study.conversions["sites"]
    err = study.sites.geometry.distance(truth.to_crs(study.crs), align=False)
    assert err.max() < 0.05  # metres
    # declared as WGS-84, the same file lands a few hundred metres off: still inside the
    # tolerance, so no problem is reported; only the declaration can prevent it
    edit_project(tiny_project, 'path = "sites.csv"\ncrs = "gcj02"',
                 'path = "sites.csv"\ncrs = "wgs84"')
    wrong = load_study(tiny_project)
    off = wrong.sites.geometry.distance(truth.to_crs(wrong.crs), align=False)
    assert ((off > 200) & (off < 1000)).all()
    assert wrong.quarantined["sites"] == 0


# --- negative or non-numeric staff and population ---------------------------------------------


@pytest.fixture
def bad_staff(tiny_project: Path) -> Path:
    write_sites(tiny_project, sites_csv().replace(",2.5,", ",-1,").replace(",1,,", ",两人,,"))
    return tiny_project


def test_negative_and_text_staff(bad_staff: Path, runner: CliRunner) -> None:
    p = assert_reported(bad_staff, runner, file="sites.csv", row=2, field="staff",
                        rule="below-minimum", first=False)
    assert "≥ 0" in p.hint
    assert_reported(bad_staff, runner, file="sites.csv", row=3, field="staff",
                    rule="not-a-number", first=False)


@pytest.fixture
def bad_population(tiny_project: Path) -> Path:
    gdf = communities()
    gdf["户籍人口"] = ["-5", "三千"]
    gdf.to_file(tiny_project / "communities.geojson", driver="GeoJSON")
    return tiny_project


def test_negative_and_text_population(bad_population: Path, runner: CliRunner) -> None:
    assert_reported(bad_population, runner, file="communities.geojson", row=1,
                    field="registered_pop", rule="below-minimum", first=False)
    assert_reported(bad_population, runner, file="communities.geojson", row=2,
                    field="registered_pop", rule="not-a-number", first=False)


def test_huge_and_infinite_numbers(tiny_project: Path, runner: CliRunner) -> None:
    edit(tiny_project / "migrants.csv", ",1990,", ",1e400,")
    write_sites(tiny_project, sites_csv().replace(",2.5,", ",inf,"))
    assert_reported(tiny_project, runner, file="migrants.csv", row=2, field="birth_year",
                    rule="not-a-number")
    assert_reported(tiny_project, runner, file="sites.csv", row=2, field="staff",
                    rule="not-a-number", first=False)


# --- invalid polygons -------------------------------------------------------------------------

BOW_TIE = shapely.Polygon([(113.76, 23.02), (113.77, 23.03), (113.77, 23.02), (113.76, 23.03)])


@pytest.fixture
def bow_tie(tiny_project: Path) -> Path:
    gdf = communities()
    gdf.loc[1, "geometry"] = BOW_TIE
    gdf.to_file(tiny_project / "communities.geojson", driver="GeoJSON")
    return tiny_project


def test_self_intersecting_polygon(bow_tie: Path, runner: CliRunner) -> None:
    p = assert_reported(bow_tie, runner, file="communities.geojson", row=2, field="geometry",
                        rule="invalid-polygon")
    reason = shapely.is_valid_reason(BOW_TIE)
    assert reason.startswith("Self-intersection")
    assert reason in p.hint
    assert "repair = true" in p.hint


def test_repair_loads_and_states_the_area_change(bow_tie: Path, runner: CliRunner) -> None:
    edit_project(bow_tie, 'path = "communities.geojson"',
                 'path = "communities.geojson"\nrepair = true')
    p = assert_reported(bow_tie, runner, file="communities.geojson", row=2, field="geometry",
                        rule="repaired-polygon", severity="warning")
    repaired = shapely.make_valid(BOW_TIE)
    assert re.search(r"area changed from 0 to ([\d.e+-]+)", p.hint)
    after = float(re.search(r"to ([\d.e+-]+) in", p.hint).group(1))
    assert after == pytest.approx(repaired.area, rel=1e-3)
    study = load_study(bow_tie)
    assert study.communities.geometry.is_valid.all()
    assert list(study.communities["community_id"]) == ["C1", "C2"]


def test_repair_states_a_percentage_when_there_was_area(tiny_project: Path,
                                                         runner: CliRunner) -> None:
    # a square with a spike folded back over it: invalid, positive area before and after
    spiky = shapely.Polygon([(113.75, 23.02), (113.76, 23.02), (113.76, 23.03), (113.75, 23.03),
                             (113.75, 23.025), (113.752, 23.025), (113.75, 23.0251)])
    assert not spiky.is_valid and spiky.area > 0
    gdf = communities()
    gdf.loc[0, "geometry"] = spiky
    gdf.to_file(tiny_project / "communities.geojson", driver="GeoJSON")
    edit_project(tiny_project, 'path = "communities.geojson"',
                 'path = "communities.geojson"\nrepair = true')
    p = assert_reported(tiny_project, runner, file="communities.geojson", row=1,
                        field="geometry", rule="repaired-polygon", severity="warning")
    assert re.search(r"\([+-]\d+\.\d{3} %\)", p.hint)


def test_polygon_layer_from_a_csv(tiny_project: Path, runner: CliRunner) -> None:
    # a communities table without geometry needs migrants that name their community
    (tiny_project / "communities.csv").write_text(
        "社区编码,社区名称,区县,户籍人口\nC1,东一社区,东城区,5000\n", encoding="utf-8")
    edit_project(tiny_project, "communities.geojson", "communities.csv")
    edit(tiny_project / "migrants.csv", "社区编码", "居住地址")
    p = assert_reported(tiny_project, runner, file="communities.csv", row=None,
                        field="geometry", rule="communities-without-geometry")
    assert "migrants.csv" in p.hint and "社区编码" in p.hint


def test_wrong_and_missing_geometries(tiny_project: Path, runner: CliRunner) -> None:
    gdf = communities()
    gdf.loc[0, "geometry"] = None
    gdf.loc[1, "geometry"] = shapely.Point(113.765, 23.025)
    gdf.to_file(tiny_project / "communities.gpkg", driver="GPKG")
    edit_project(tiny_project, "communities.geojson", "communities.gpkg")
    assert_reported(tiny_project, runner, file="communities.gpkg", row=1, field="geometry",
                    rule="missing-geometry")
    assert_reported(tiny_project, runner, file="communities.gpkg", row=2, field="geometry",
                    rule="wrong-geometry", first=False)


def test_empty_community_layer(tiny_project: Path, runner: CliRunner) -> None:
    communities().iloc[0:0].to_file(tiny_project / "communities.gpkg", driver="GPKG")
    edit_project(tiny_project, "communities.geojson", "communities.gpkg")
    assert_reported(tiny_project, runner, file="communities.gpkg", row=None, field=None,
                    rule="empty-layer")


# --- coordinate systems -----------------------------------------------------------------------


@pytest.fixture
def crs_conflict(tiny_project: Path) -> Path:
    communities().to_crs(32650).to_file(tiny_project / "communities.gpkg", driver="GPKG")
    edit_project(tiny_project, "communities.geojson", "communities.gpkg")  # still crs = "wgs84"
    return tiny_project


def test_crs_conflict(crs_conflict: Path, runner: CliRunner) -> None:
    p = assert_reported(crs_conflict, runner, file="communities.gpkg", row=None, field="crs",
                        rule="crs-conflict")
    assert "32650" in p.hint and "wgs84" in p.hint


def test_projected_file_without_declaration_is_converted(crs_conflict: Path) -> None:
    edit_project(crs_conflict, 'path = "communities.gpkg"\ncrs = "wgs84"',
                 'path = "communities.gpkg"')
    study = load_study(crs_conflict)
    assert "UTM zone 50N" in study.conversions["communities"]
    expected = communities().to_crs(study.crs)
    got = study.communities.geometry.values
    assert shapely.equals_exact(got, expected.geometry.values, tolerance=0.01).all()


def test_matching_epsg_declaration(crs_conflict: Path) -> None:
    edit_project(crs_conflict, 'path = "communities.gpkg"\ncrs = "wgs84"',
                 'path = "communities.gpkg"\ncrs = "EPSG:32650"')
    study = load_study(crs_conflict)
    expected = communities().to_crs(study.crs)
    assert shapely.equals_exact(study.communities.geometry.values, expected.geometry.values,
                                tolerance=0.01).all()


@pytest.fixture
def crs_missing(tiny_project: Path) -> Path:
    edit_project(tiny_project, 'path = "sites.csv"\ncrs = "gcj02"\n', 'path = "sites.csv"\n')
    return tiny_project


def test_crs_missing(crs_missing: Path, runner: CliRunner) -> None:
    p = assert_reported(crs_missing, runner, file="sites.csv", row=None, field="crs",
                        rule="crs-missing")
    assert "[layers.sites]" in p.hint and "gcj02" in p.hint


# --- undecodable bytes ------------------------------------------------------------------------


@pytest.fixture
def undecodable(tiny_project: Path) -> Path:
    data = sites_csv().encode("gb18030").split(b"\n")
    data[2] = data[2].replace(b"S2", b"S\xff2")  # 0xFF is neither UTF-8 nor GB18030
    (tiny_project / "sites.csv").write_bytes(b"\n".join(data))
    return tiny_project


def test_undecodable_bytes(undecodable: Path, runner: CliRunner) -> None:
    p = assert_reported(undecodable, runner, file="sites.csv", row=3, field=None,
                        rule="undecodable-bytes")
    assert "line 3" in p.hint


def test_undecodable_bytes_in_a_utf8_file(tiny_project: Path, runner: CliRunner) -> None:
    data = MIGRANTS_CSV.encode("utf-8").split(b"\n")
    data[4] = b"\xff" + data[4]
    (tiny_project / "migrants.csv").write_bytes(b"\n".join(data))
    p = assert_reported(tiny_project, runner, file="migrants.csv", row=5, field=None,
                        rule="undecodable-bytes")
    assert "line 5" in p.hint


# --- Excel merged header cells ----------------------------------------------------------------


def sites_workbook(path: Path, *, title_rows: int = 0) -> openpyxl.Workbook:
    """Write the tiny sites table to ``path`` as XLSX with numbers as numbers."""
    rows = list(csv.reader(io.StringIO(sites_csv())))
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "网点"
    for i in range(title_rows):
        ws.append([f"东城区服务网点（第{i + 1}行标题）"])
    ws.append(rows[0])
    for r in rows[1:]:
        ws.append([r[0], r[1], r[2], float(r[3]), float(r[4]), float(r[5]), r[6] or None,
                   r[7] or None])
    book.save(path)
    return book


@pytest.fixture
def merged_header(tiny_project: Path) -> Path:
    book = sites_workbook(tiny_project / "sites.xlsx")
    ws = book.active
    ws.insert_rows(1)
    for col, text in ((1, "网点"), (4, "坐标"), (6, "人员与服务")):
        ws.cell(1, col).value = text
    ws.merge_cells("A1:C1")
    ws.merge_cells("D1:E1")
    ws.merge_cells("F1:H1")
    book.save(tiny_project / "sites.xlsx")
    edit_project(tiny_project, 'path = "sites.csv"', 'path = "sites.xlsx"')
    return tiny_project


def test_merged_header_cells(merged_header: Path, runner: CliRunner) -> None:
    p = assert_reported(merged_header, runner, file="sites.xlsx[网点]", row=1, field=None,
                        rule="merged-header")
    for cells in ("A1:C1", "D1:E1", "F1:H1"):
        assert cells in p.hint


def test_merged_title_above_the_header_row_is_fine(merged_header: Path) -> None:
    # the same sheet, told that the headers are in row 2, loads
    edit_project(merged_header, 'path = "sites.xlsx"', 'path = "sites.xlsx"\nheader_row = 2')
    study = load_study(merged_header)
    assert list(study.sites["source_row"]) == [3, 4]


# --- text that looks like a formula -----------------------------------------------------------

FORMULA_LIKE = ['=HYPERLINK("x")', "+86 123", "-abc", "@home"]


def test_formula_like_text_in_csv(tiny_project: Path) -> None:
    rows = list(csv.reader(io.StringIO(sites_csv())))
    body = [[f"S{i}", name, *rows[1 + i % 2][2:]] for i, name in enumerate(FORMULA_LIKE)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([rows[0], *body])
    write_sites(tiny_project, out.getvalue())
    study = load_study(tiny_project)
    assert list(study.sites["name"]) == FORMULA_LIKE
    assert list(study.sites["source_row"]) == [2, 3, 4, 5]


def test_formula_like_text_and_formula_cells_in_xlsx(tiny_project: Path) -> None:
    book = sites_workbook(tiny_project / "sites.xlsx")
    ws = book.active
    template = [c.value for c in ws[2]]
    ws.delete_rows(2, 2)
    for i, name in enumerate(FORMULA_LIKE):
        ws.append([f"S{i}", name, *template[2:]])
    ws["B2"] = '=HYPERLINK("x")'  # a real formula cell, not text
    book.save(tiny_project / "sites.xlsx")
    check = openpyxl.load_workbook(tiny_project / "sites.xlsx")
    assert check.active["B2"].data_type == "f"
    assert check.active["B3"].data_type == "s"
    edit_project(tiny_project, 'path = "sites.csv"', 'path = "sites.xlsx"')
    study = load_study(tiny_project)
    assert list(study.sites["name"]) == FORMULA_LIKE
    assert list(study.sites["source_row"]) == [2, 3, 4, 5]


# --- national ID numbers ----------------------------------------------------------------------

NATIONAL_IDS = ("44190019900101123X", "441900198501014321")


@pytest.fixture
def national_ids(tiny_project: Path) -> Path:
    path = tiny_project / "migrants.csv"
    edit(path, "M001,", f"{NATIONAL_IDS[0]},")
    edit(path, "M002,", f"{NATIONAL_IDS[1]},")
    return tiny_project


def test_national_ids_are_hashed(national_ids: Path, runner: CliRunner) -> None:
    salt_file = national_ids / ".coverage-salt"
    assert not salt_file.exists()
    p = assert_reported(national_ids, runner, file="migrants.csv", row=None, field="person_id",
                        rule="national-id-hashed", severity="warning")
    assert "2 values" in p.hint
    assert salt_file.exists()

    first = load_study(national_ids)
    ids = list(first.migrants.sort_values("source_row")["person_id"])
    assert ids[0].startswith("h") and ids[1].startswith("h")
    assert ids[2:] == ["M003", "M004"]
    assert len(ids[0]) == 17 and ids[0] != ids[1]
    second = load_study(national_ids)
    assert list(second.migrants.sort_values("source_row")["person_id"]) == ids

    # the number itself is nowhere: not in the frame, the problems or the CLI output
    frame_text = first.migrants.to_csv() + repr(first.migrants.to_dict())
    problems_text = "\n".join(map(str, validate_project(national_ids)))
    result = run_validate(runner, national_ids)
    zh = runner.invoke(cli.app, ["validate", str(national_ids)])
    for number in NATIONAL_IDS:
        for tail in (number, number[:17], number[-8:]):
            assert tail not in frame_text
            assert tail not in problems_text
            assert tail not in result.output
            assert tail not in zh.output
    # the hash is the project's keyed hash; a lower-case check letter gives the same one
    salt = load_salt(salt_file)
    assert ids[0] == hash_ids(pd.Series([NATIONAL_IDS[0].lower()]), salt)[0]


def test_new_salt_gives_new_hashes(national_ids: Path) -> None:
    before = set(load_study(national_ids).migrants["person_id"])
    (national_ids / ".coverage-salt").unlink()
    after = set(load_study(national_ids).migrants["person_id"])
    assert before & after == {"M003", "M004"}


def test_duplicate_national_ids_stay_hidden(national_ids: Path, runner: CliRunner) -> None:
    edit(national_ids / "migrants.csv", "M003,", f"{NATIONAL_IDS[0]},")
    p = assert_reported(national_ids, runner, file="migrants.csv", row=4, field="person_id",
                        rule="duplicate-id")
    result = run_validate(runner, national_ids)
    assert NATIONAL_IDS[0] not in str(p) and NATIONAL_IDS[0] not in result.output


# --- malformed rows, unknown references, malformed hukou codes --------------------------------


@pytest.fixture
def malformed_row(tiny_project: Path) -> Path:
    edit(tiny_project / "migrants.csv", "M003,", "M003,extra,")
    return tiny_project


def test_malformed_row(malformed_row: Path, runner: CliRunner) -> None:
    p = assert_reported(malformed_row, runner, file="migrants.csv", row=4, field=None,
                        rule="malformed-row")
    assert "12 fields" in p.hint and "11" in p.hint


def test_repeated_header(tiny_project: Path, runner: CliRunner) -> None:
    edit(tiny_project / "migrants.csv", "社区编码", "经度")
    p = assert_reported(tiny_project, runner, file="migrants.csv", row=1, field=None,
                        rule="ambiguous-column")
    assert "'经度'" in p.hint


@pytest.fixture
def unknown_reference(tiny_project: Path) -> Path:
    edit(tiny_project / "migrants.csv", ",C2,", ",C9,")
    return tiny_project


def test_unknown_community_reference(unknown_reference: Path, runner: CliRunner) -> None:
    assert_reported(unknown_reference, runner, file="migrants.csv", row=4, field="community_id",
                    rule="unknown-reference")


def test_missing_community_is_assigned(tiny_project: Path) -> None:
    study = load_study(tiny_project)
    row5 = study.migrants.set_index("source_row").loc[5]
    assert row5["community_id"] == "C2"  # empty in the file; assigned from the polygons


@pytest.fixture
def malformed_hukou(tiny_project: Path) -> Path:
    edit(tiny_project / "migrants.csv", ",450100,", ",45A1,")
    return tiny_project


def test_malformed_hukou_code_is_a_warning(malformed_hukou: Path, runner: CliRunner) -> None:
    p = assert_reported(malformed_hukou, runner, file="migrants.csv", row=3, field="hukou_code",
                        rule="malformed-code", severity="warning")
    assert "45A1" not in str(p)
    study = load_study(malformed_hukou)
    by_row = study.migrants.set_index("source_row")
    assert len(by_row) == 4  # the row is kept
    assert pd.isna(by_row.loc[3, "hukou_code"])
    assert by_row.loc[2, "hukou_code"] == "430100"


# --- the problem collector itself -------------------------------------------------------------


def test_many_rows_are_summarised() -> None:
    problems = Problems()
    problems.add_rows("f.csv", range(100, 1, -1), "staff", "not-a-number", "fix it")
    assert len(problems) == 21
    assert [p.row for p in problems][:3] == [2, 3, 4]
    summary = list(problems)[-1]
    assert summary.count == 79 and summary.row == 22
    assert "(and 78 more rows)" in str(summary)
    with pytest.raises(ValidationError) as info:
        problems.raise_if_errors()
    assert "and 98 more errors" in str(info.value)


def test_unknown_rule_code_is_refused() -> None:
    with pytest.raises(KeyError, match="no-such-rule"):
        Problems().add("f.csv", 2, None, "no-such-rule", "hint")


def test_hints_stay_on_one_line() -> None:
    problems = Problems()
    problems.add("f.csv", 1, None, "ignored-columns", "headers: a\nb, c\r\nd")
    (p,) = problems
    assert "\n" not in str(p) and "\r" not in str(p)
    assert "a\\nb" in p.hint


def test_every_rule_has_both_languages() -> None:
    for code, (en, zh) in RULES.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code)
        assert en and zh and en != zh
