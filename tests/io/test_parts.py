"""A layer as partitioned GeoParquet: a folder of parts read, checked and listed.

The tiny project of ``conftest`` with its migrants split into two GeoParquet parts (west and
east, partition key ``tile``): read like the CSV they came from (same frame, Chinese headers
mapped, GCJ-02 shifted back), every problem of a bad part said in one line naming the part,
row, field and rule; one part read on its own; the parts listed from their footers alone.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from conftest import MIGRANTS_CSV
from coverage.crs import wgs84_to_gcj02
from coverage.engine.provenance import input_hashes
from coverage.io.loaders import load_study, read_parts, validate_project
from coverage.io.parts import INDEX_FILE, PartsError, list_parts, write_index, write_parts
from coverage.io.project import load_project
from coverage.io.validation import Problem, ValidationError
from exact_frames import assert_identical

WORK = {"M001": (113.7585, 23.0233), "M003": (113.7611, 23.0262)}
"""Workplaces of two migrants (WGS-84)."""


def migrants_table() -> pd.DataFrame:
    """The tiny migrants as text cells, with workplaces and a partition key (west, east)."""
    table = pd.read_csv(io.StringIO(MIGRANTS_CSV), dtype=str, keep_default_na=False)
    table["工作地经度"] = [f"{WORK[p][0]}" if p in WORK else "" for p in table["人员编号"]]
    table["工作地纬度"] = [f"{WORK[p][1]}" if p in WORK else "" for p in table["人员编号"]]
    table["tile"] = np.where(table["经度"].astype(float) < 113.76, "W", "E")
    return table


def as_layer(table: pd.DataFrame) -> gpd.GeoDataFrame:
    """The table as a point layer, as the documented recipe makes it (Chinese headers kept)."""
    points = gpd.points_from_xy(table["经度"].astype(float), table["纬度"].astype(float))
    return gpd.GeoDataFrame(table.drop(columns=["经度", "纬度"]), geometry=points,
                            crs="EPSG:4326")


def use_parts(project: Path) -> Path:
    """Point the project's migrants at the folder ``migrants/``; return the folder."""
    toml = project / "project.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'path = "migrants.csv"', 'path = "migrants/"'), encoding="utf-8")
    (project / "migrants.csv").unlink(missing_ok=True)
    return project / "migrants"


@pytest.fixture
def csv_project(tiny_project: Path) -> Path:
    """The tiny project, its migrants.csv holding the workplaces too."""
    table = migrants_table().drop(columns=["tile"])
    table.to_csv(tiny_project / "migrants.csv", index=False, encoding="utf-8")
    return tiny_project


@pytest.fixture
def parts_project(tmp_path: Path, csv_project: Path) -> Path:
    """The same project with its migrants as two GeoParquet parts (key ``tile``)."""
    folder = tmp_path / "parts_project"
    shutil.copytree(csv_project, folder)
    write_parts(as_layer(migrants_table()), use_parts(folder), key="tile")
    return folder


def find(folder: Path, rule: str) -> list[Problem]:
    return [p for p in validate_project(folder) if p.rule == rule]


def assert_one_line(folder: Path, *, file: str, row: int | None, field: str | None,
                    rule: str) -> None:
    """The problem is found, and loading stops with a one-line error naming it."""
    problems = validate_project(folder)
    listed = "\n".join(map(str, problems))
    assert any((p.file, p.row, p.field, p.rule) == (file, row, field, rule) for p in problems), (
        listed)
    with pytest.raises(ValidationError) as info:
        load_study(folder)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(file), message
    assert f"[{rule}]" in message
    if row is not None:
        assert f"row {row}" in message
    if field is not None:
        assert repr(field) in message


# --- read like the CSV ---------------------------------------------------------------------


def test_parts_read_as_the_csv(csv_project: Path, parts_project: Path) -> None:
    from_csv, from_parts = load_study(csv_project), load_study(parts_project)
    a, b = from_csv.migrants, from_parts.migrants
    # the same layer, value for value, in the CSV's order; only the rows' numbers in their
    # files differ (the CSV's header is row 1, a part's first feature is 1)
    assert_identical(a.drop(columns="source_row"), b.drop(columns="source_row"), "migrants")
    assert a["source_row"].tolist() == [2, 3, 4, 5]
    assert b["source_row"].tolist() == [1, 2, 1, 2]
    assert b["work_x"].notna().sum() == 2
    assert from_parts.conversions["migrants"] == from_csv.conversions["migrants"]


def test_rows_keep_the_order_of_the_table_they_came_from(csv_project: Path,
                                                           parts_project: Path) -> None:
    # part 000 (east) holds M003 and M004, part 001 (west) M001 and M002
    assert [p.key for p in list_parts(parts_project / "migrants")] == ["E", "W"]
    assert load_study(parts_project).migrants["person_id"].tolist() == [
        "M001", "M002", "M003", "M004"]
    # parts written without their index are read part by part, in the order of their names
    for path in sorted((parts_project / "migrants").glob("*.parquet")):
        gpd.read_parquet(path).reset_index(drop=True).to_parquet(path, index=False)
    assert load_study(parts_project).migrants["person_id"].tolist() == [
        "M003", "M004", "M001", "M002"]


def test_the_recipe_of_the_docs(csv_project: Path, tmp_path: Path) -> None:
    # docs/data.md: split a CSV by a key column with geopandas, one part per value
    project = tmp_path / "recipe"
    shutil.copytree(csv_project, project)
    migrants = pd.read_csv(project / "migrants.csv", dtype=str, keep_default_na=False)
    migrants["district"] = np.where(migrants["社区编码"] == "C1", "东城区", "南城区")
    points = gpd.points_from_xy(migrants["经度"].astype(float), migrants["纬度"].astype(float))
    layer = gpd.GeoDataFrame(migrants.drop(columns=["经度", "纬度"]), geometry=points,
                             crs="EPSG:4326")
    folder = use_parts(project)
    folder.mkdir()
    for k, (_, part) in enumerate(layer.groupby("district", sort=True)):
        part.to_parquet(folder / f"part-{k:03d}.parquet")
    write_index(folder, key="district")
    study = load_study(project)
    expected = load_study(csv_project).migrants
    assert_identical(expected.drop(columns="source_row"),
                     study.migrants.drop(columns="source_row"), "migrants")
    # the key is the parts' bookkeeping, not a column of the layer, nor an ignored one
    assert not [p for p in study.problems if p.rule == "ignored-columns"]


def test_a_single_parquet_file(csv_project: Path) -> None:
    as_layer(migrants_table().drop(columns=["tile"])).to_parquet(
        csv_project / "migrants.parquet")
    toml = csv_project / "project.toml"
    expected = load_study(csv_project).migrants
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'path = "migrants.csv"', 'path = "migrants.parquet"'), encoding="utf-8")
    got = load_study(csv_project).migrants
    assert_identical(expected.drop(columns="source_row"), got.drop(columns="source_row"))


def test_chinese_and_mapped_headers(parts_project: Path) -> None:
    folder = parts_project / "migrants"
    # a header the data model does not know, mapped in project.toml
    for path in folder.glob("*.parquet"):
        gpd.read_parquet(path).rename(columns={"政策知晓": "知道政策没"}).to_parquet(path)
    toml = parts_project / "project.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'path = "migrants/"\ncrs = "wgs84"',
        'path = "migrants/"\ncrs = "wgs84"\ncolumns = { policy_aware = "知道政策没" }'),
        encoding="utf-8")
    migrants = load_study(parts_project).migrants
    assert migrants["policy_aware"].tolist()[:3] == [True, False, True]
    assert migrants["arrived_on"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-01", "2024-05-02", "2025-01-10", "2025-06-01"]
    assert migrants["marital_status"].tolist() == ["married", "unmarried", "married",
                                                   "unmarried"]


def test_gcj02_parts_are_shifted_back(csv_project: Path, parts_project: Path) -> None:
    table = migrants_table()
    glon, glat = wgs84_to_gcj02(table["经度"].astype(float).to_numpy(),
                                table["纬度"].astype(float).to_numpy())
    table["经度"], table["纬度"] = [f"{v:.7f}" for v in glon], [f"{v:.7f}" for v in glat]
    work = table["工作地经度"] != ""
    wlon, wlat = wgs84_to_gcj02(table.loc[work, "工作地经度"].astype(float).to_numpy(),
                                table.loc[work, "工作地纬度"].astype(float).to_numpy())
    table.loc[work, "工作地经度"] = [f"{v:.7f}" for v in wlon]
    table.loc[work, "工作地纬度"] = [f"{v:.7f}" for v in wlat]
    write_parts(as_layer(table), parts_project / "migrants", key="tile")
    toml = parts_project / "project.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'path = "migrants/"\ncrs = "wgs84"', 'path = "migrants/"\ncrs = "gcj02"'),
        encoding="utf-8")
    truth, shifted = load_study(csv_project), load_study(parts_project)
    assert "GCJ-02" in shifted.conversions["migrants"]
    a, b = truth.migrants, shifted.migrants
    assert (a.geometry.distance(b.geometry, align=False) < 0.05).all()  # metres
    assert np.nanmax(np.hypot(a["work_x"] - b["work_x"], a["work_y"] - b["work_y"])) < 0.05
    # GCJ-02 read as WGS-84 lands hundreds of metres off
    toml.write_text(toml.read_text(encoding="utf-8").replace('crs = "gcj02"', 'crs = "wgs84"',
                                                             1), encoding="utf-8")
    off = load_study(parts_project).migrants
    assert (a.geometry.distance(off.geometry, align=False) > 200).all()


# --- one-line errors naming the part ---------------------------------------------------------


def test_missing_column_in_a_part(parts_project: Path) -> None:
    path = parts_project / "migrants" / "part-001.parquet"
    gpd.read_parquet(path).drop(columns=["人员编号"]).to_parquet(path)
    assert_one_line(parts_project, file="migrants/part-001.parquet", row=None,
                    field="person_id", rule="missing-column")


def test_bad_geometry_in_a_part(parts_project: Path) -> None:
    path = parts_project / "migrants" / "part-000.parquet"
    part = gpd.read_parquet(path)
    part.loc[part.index[1], "geometry"] = shapely.box(113.76, 23.02, 113.77, 23.03)
    part.to_parquet(path)
    assert_one_line(parts_project, file="migrants/part-000.parquet", row=2, field="geometry",
                    rule="wrong-geometry")
    part.loc[part.index[1], "geometry"] = None
    part.to_parquet(path)
    assert_one_line(parts_project, file="migrants/part-000.parquet", row=2, field="geometry",
                    rule="missing-geometry")


def test_part_in_another_crs(parts_project: Path) -> None:
    path = parts_project / "migrants" / "part-001.parquet"
    gpd.read_parquet(path).to_crs(3857).to_parquet(path)
    assert_one_line(parts_project, file="migrants/part-001.parquet", row=None, field="crs",
                    rule="crs-conflict")
    # without a declaration, each part is converted from its own CRS
    toml = parts_project / "project.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'path = "migrants/"\ncrs = "wgs84"\n', 'path = "migrants/"\n'), encoding="utf-8")
    assert len(load_study(parts_project).migrants) == 4


def test_part_that_is_not_parquet(parts_project: Path) -> None:
    folder = parts_project / "migrants"
    (folder / "part-001.parquet").write_text(MIGRANTS_CSV, encoding="utf-8")
    assert_one_line(parts_project, file="migrants/part-001.parquet", row=None, field=None,
                    rule="unreadable-file")
    with pytest.raises(PartsError, match=r"^part-001\.parquet: not a Parquet file"):
        list_parts(folder)


def test_stray_file_in_the_folder(parts_project: Path) -> None:
    (parts_project / "migrants" / "part-002.csv").write_text(MIGRANTS_CSV, encoding="utf-8")
    assert_one_line(parts_project, file="migrants/part-002.csv", row=None, field=None,
                    rule="unreadable-file")


def test_bad_cell_and_repeated_id_across_parts(parts_project: Path) -> None:
    path = parts_project / "migrants" / "part-001.parquet"
    part = gpd.read_parquet(path)
    part.loc[part.index[1], "出生年份"] = "一九八五"
    part.to_parquet(path)
    assert_one_line(parts_project, file="migrants/part-001.parquet", row=2,
                    field="birth_year", rule="not-a-number")
    part.loc[part.index[1], "出生年份"] = "1985"
    part.loc[part.index[0], "人员编号"] = "M003"  # the id of the other part's first row
    part.to_parquet(path)
    [repeat] = find(parts_project, "duplicate-id")
    assert (repeat.file, repeat.row, repeat.field) == ("migrants/part-001.parquet", 1,
                                                       "person_id")
    assert "row 1 of migrants/part-000.parquet" in repeat.hint


def test_empty_folder(parts_project: Path) -> None:
    for path in (parts_project / "migrants").glob("*.parquet"):
        path.unlink()
    assert_one_line(parts_project, file="migrants", row=None, field=None, rule="empty-layer")


def test_points_outside_are_named_by_part(parts_project: Path) -> None:
    path = parts_project / "migrants" / "part-001.parquet"
    part = gpd.read_parquet(path)
    part.loc[part.index[1], "geometry"] = shapely.Point(113.80, 23.10)  # ~9 km away
    part.to_parquet(path)
    [outside] = find(parts_project, "outside-study-area")
    assert (outside.file, outside.row) == ("migrants/part-001.parquet", 2)
    study = load_study(parts_project)
    assert study.quarantined["migrants"] == 1
    assert "source_file" not in study.migrants  # the parts are named in messages only


# --- one part on its own; the parts listed from their footers -------------------------------


def test_one_part_read_on_its_own(parts_project: Path) -> None:
    west = read_parts(parts_project, ["part-001.parquet"])
    assert west["person_id"].tolist() == ["M001", "M002"]
    assert west.crs.to_epsg() == 4326
    assert set(west["source_file"]) == {"migrants/part-001.parquet"}
    both = read_parts(parts_project)
    assert both["person_id"].tolist() == ["M001", "M002", "M003", "M004"]
    # a bad part stops only the reading of that part
    path = parts_project / "migrants" / "part-000.parquet"
    gpd.read_parquet(path).drop(columns=["人员编号"]).to_parquet(path)
    assert read_parts(parts_project, ["part-001.parquet"])["person_id"].tolist() == [
        "M001", "M002"]
    with pytest.raises(ValidationError, match=r"^migrants/part-000\.parquet, field "
                       r"'person_id': required column missing \[missing-column\]"):
        read_parts(parts_project, ["part-000.parquet"])
    with pytest.raises(ValidationError, match=r"^migrants/part-009\.parquet: file not found"):
        read_parts(parts_project, ["part-009.parquet"])


def test_list_parts_from_the_footers(parts_project: Path) -> None:
    folder = parts_project / "migrants"
    parts = list_parts(folder)
    assert [(p.file, p.key, p.rows, p.crs) for p in parts] == [
        ("part-000.parquet", "E", 2, "EPSG:4326"), ("part-001.parquet", "W", 2, "EPSG:4326")]
    for p in parts:
        layer = gpd.read_parquet(folder / p.file)
        assert p.bounds == pytest.approx(tuple(layer.total_bounds))
        assert p.size == (folder / p.file).stat().st_size
    index = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
    assert index["key"] == "tile"
    assert index["rows"] == 4
    assert [(q["file"], q["key"], q["rows"], q["bytes"]) for q in index["parts"]] == [
        (p.file, p.key, p.rows, p.size) for p in parts]
    # the rows are not read: a part whose data pages are broken is still listed
    path = folder / "part-000.parquet"
    data = bytearray(path.read_bytes())
    footer = pq.read_metadata(path).serialized_size + 8
    data[8:len(data) - footer - 8] = bytes(len(data) - footer - 16)
    path.write_bytes(bytes(data))
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises for broken pages
        gpd.read_parquet(path)
    assert list_parts(folder)[0] == parts[0]


def test_parts_are_valid_geoparquet(parts_project: Path) -> None:
    path = parts_project / "migrants" / "part-000.parquet"
    geo = json.loads(pq.read_metadata(path).metadata[b"geo"])
    assert geo["version"] in ("1.0.0", "1.1.0")
    assert geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB"
    assert column["geometry_types"] == ["Point"]
    assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
    assert len(column["bbox"]) == 4
    # each row group's bounds in the file's statistics, through a bbox covering column that
    # readers drop
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    assert "bbox" in pq.read_schema(path).names
    assert "bbox" not in gpd.read_parquet(path).columns


def test_input_hash_follows_the_parts(parts_project: Path) -> None:
    project = load_project(parts_project)
    before = input_hashes(project)["migrants"]
    assert input_hashes(project)["migrants"] == before
    path = parts_project / "migrants" / "part-001.parquet"
    part = gpd.read_parquet(path)
    part.loc[part.index[0], "政策知晓"] = "否"
    part.to_parquet(path)
    assert input_hashes(project)["migrants"] != before


def test_write_parts_needs_a_key(tmp_path: Path) -> None:
    layer = as_layer(migrants_table())
    with pytest.raises(ValueError, match="no column 'district'"):
        write_parts(layer, tmp_path / "m", key="district")
    layer.loc[0, "tile"] = None
    with pytest.raises(ValueError, match="empty in 1 rows"):
        write_parts(layer, tmp_path / "m", key="tile")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
