"""Reading files as they are: encodings, Excel sheets, text cells, row numbers."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from conftest import MIGRANTS_CSV, sites_csv
from coverage.io.loaders import load_study
from coverage.io.readers import decode_text, read_table
from coverage.io.validation import Problems, ValidationError

# 䶮 (U+4DAE) is the rare character of the brief; CPython's codec maps it to the two bytes
# FE 9F (the GB18030-2005 mapping), so 𠀀 (U+20000) and 㐀 (U+3400) add true four-byte
# sequences.
RARE = "䶮"
FOUR_BYTE = "𠀀㐀"


def edit_project(folder: Path, old: str, new: str) -> None:
    path = folder / "project.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def read(path: Path, **kwargs):
    problems = Problems()
    return read_table(path, problems=problems, **kwargs), problems


# --- CSV encodings ----------------------------------------------------------------------------


def test_gb18030_with_rare_characters_loads_exactly(tiny_project: Path) -> None:
    names = [f"{RARE}东城社区卫生服务站", f"东城计生服务室{FOUR_BYTE}"]
    assert len(FOUR_BYTE.encode("gb18030")) == 8  # two four-byte sequences
    text = sites_csv().replace("东城社区卫生服务站", names[0]).replace("东城计生服务室", names[1])
    data = text.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # so the reader must really fall back to GB18030
    (tiny_project / "sites.csv").write_bytes(data)

    raw, _ = read(tiny_project / "sites.csv")
    assert raw is not None and raw.encoding == "gb18030"
    assert list(raw.frame.columns) == ["站点编码", "名称", "类型", "经度", "纬度", "人员",
                                       "服务项目", "开放时间"]
    study = load_study(tiny_project)
    assert list(study.sites["name"]) == names
    assert list(study.sites["kind"]) == ["health_station", "fp_room"]


def test_utf8_with_bom_recognises_the_first_header(tiny_project: Path) -> None:
    (tiny_project / "migrants.csv").write_bytes(MIGRANTS_CSV.encode("utf-8-sig"))
    raw, _ = read(tiny_project / "migrants.csv")
    assert raw.frame.columns[0] == "人员编号"  # no BOM glued to it
    study = load_study(tiny_project)
    assert list(study.migrants.sort_values("source_row")["person_id"]) == [
        "M001", "M002", "M003", "M004"]


def test_explicit_gb18030_encoding(tiny_project: Path) -> None:
    text = sites_csv().replace("东城计生服务室", f"东城计生服务室{RARE}")
    (tiny_project / "sites.csv").write_bytes(text.encode("gb18030"))
    edit_project(tiny_project, 'path = "sites.csv"', 'path = "sites.csv"\nencoding = "gb18030"')
    study = load_study(tiny_project)
    assert list(study.sites["name"]) == ["东城社区卫生服务站", f"东城计生服务室{RARE}"]


def test_explicit_encoding_is_not_second_guessed(tiny_project: Path) -> None:
    # a GB18030 file declared as UTF-8 is an error, not a silent fallback
    edit_project(tiny_project, 'path = "sites.csv"', 'path = "sites.csv"\nencoding = "utf-8"')
    with pytest.raises(ValidationError) as info:
        load_study(tiny_project)
    (p,) = info.value.problems
    assert (p.file, p.row, p.rule) == ("sites.csv", 1, "undecodable-bytes")
    assert "utf-8" in p.hint


def test_gbk_file_reads_as_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("编号,名称\n1,东莞市\n".encode("gbk"))
    raw, problems = read(path)
    assert raw.encoding == "gb18030"
    assert raw.frame.to_dict("list") == {"编号": ["1"], "名称": ["东莞市"]}
    assert len(problems) == 0


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"a,b\n1,2\n3,\xff\n", 3),
        (b"\xffa,b\n1,2\n", 1),
        ("a,b\n东,莞\n".encode("gb18030") + b"x,\x80\n", 3),  # 0x80 alone: invalid in both
        ("a,b\n东,莞\n".encode() + b"\n\n\xfe\n", 5),
    ],
)
def test_undecodable_byte_line(data: bytes, line: int) -> None:
    problems = Problems()
    assert decode_text(data, problems=problems, name="t.csv") is None
    (p,) = problems
    assert (p.file, p.row, p.field, p.rule) == ("t.csv", line, None, "undecodable-bytes")
    assert f"line {line}" in p.hint


def test_no_replacement_characters(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1,\xff\n")
    raw, problems = read(path)
    assert raw is None
    assert [p.rule for p in problems] == ["undecodable-bytes"]


def test_unknown_encoding(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    raw, problems = read(path, encoding="klingon")
    assert raw is None
    (p,) = problems
    assert p.rule == "unreadable-file" and "klingon" in p.hint


# --- CSV cells and rows -----------------------------------------------------------------------


def test_csv_cells_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,name,n\n007,"=1+2",1.50\n0123,+86 123,\n', encoding="utf-8")
    raw, problems = read(path)
    assert raw.frame.to_dict("list") == {"id": ["007", "0123"], "name": ["=1+2", "+86 123"],
                                         "n": ["1.50", ""]}
    assert list(raw.rows) == [2, 3]
    assert len(problems) == 0


def test_empty_rows_are_skipped_and_rows_keep_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name\nA,x\n,\n\nB,y\n", encoding="utf-8")
    raw, problems = read(path)
    assert list(raw.frame["id"]) == ["A", "B"]
    assert list(raw.rows) == [2, 5]
    assert [(p.rule, p.row, p.severity) for p in problems] == [
        ("empty-rows", 3, "info"), ("empty-rows", 4, "info")]


def test_malformed_csv_row(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name\nA,x\nB,y,z\nC,w\n", encoding="utf-8")
    raw, problems = read(path)
    assert raw is None
    (p,) = problems
    assert (p.row, p.rule) == (3, "malformed-row")
    assert "3 fields" in p.hint and "2" in p.hint


def test_unclosed_quote(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,name\nA,"x\nB,y\n', encoding="utf-8")
    raw, problems = read(path)
    assert raw is None
    assert [p.rule for p in problems] == ["malformed-row"]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"")
    raw, problems = read(path)
    assert raw is None
    assert [p.rule for p in problems] == ["missing-column"]


def test_tsv_and_explicit_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("id\tname\nA\tx;y\n", encoding="utf-8")
    raw, _ = read(path)
    assert raw.frame.to_dict("list") == {"id": ["A"], "name": ["x;y"]}
    path = tmp_path / "t.csv"
    path.write_text("id;name\nA;x,y\n", encoding="utf-8")
    raw, _ = read(path, delimiter=";")
    assert raw.frame.to_dict("list") == {"id": ["A"], "name": ["x,y"]}


def test_semicolon_csv_with_declared_delimiter_loads(tiny_project: Path) -> None:
    rows = list(csv.reader(io.StringIO(MIGRANTS_CSV)))
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
    (tiny_project / "migrants.csv").write_text(out.getvalue(), encoding="utf-8")
    with pytest.raises(ValidationError, match="missing-column"):
        load_study(tiny_project)
    edit_project(tiny_project, 'path = "migrants.csv"', 'path = "migrants.csv"\ndelimiter = ";"')
    assert len(load_study(tiny_project).migrants) == 4


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    raw, problems = read(tmp_path / "nope.csv", name="data/nope.csv")
    assert raw is None
    (p,) = problems
    assert (p.file, p.rule) == ("data/nope.csv", "missing-file")
    (tmp_path / "t.dbf").write_bytes(b"x")
    raw, problems = read(tmp_path / "t.dbf")
    (p,) = problems
    assert p.rule == "unreadable-file" and ".dbf" in p.hint and ".xlsx" in p.hint


# --- XLSX -------------------------------------------------------------------------------------


def sites_rows() -> list[list[object]]:
    """The tiny sites table with numbers as numbers, ids with leading zeros."""
    rows = list(csv.reader(io.StringIO(sites_csv())))
    body = [["007", r[1], r[2], float(r[3]), float(r[4]), float(r[5]), r[6] or None,
             r[7] or None] for r in rows[1:]]
    body[1][0] = "0080"
    return [rows[0], *body]


def test_xlsx_with_title_rows_and_header_row(tiny_project: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "服务网点"
    ws.append(["东城区计划生育服务网点一览表"])
    ws.merge_cells("A1:H1")  # a merged title above the headers is fine
    ws.append(["填报日期", datetime(2025, 1, 31)])
    for r in sites_rows():
        ws.append(r)
    book.save(tiny_project / "sites.xlsx")
    edit_project(tiny_project, 'path = "sites.csv"', 'path = "sites.xlsx"\nheader_row = 3')

    raw, problems = read(tiny_project / "sites.xlsx", header_row=3)
    assert raw.file == "sites.xlsx[服务网点]"
    assert raw.header_row == 3
    assert list(raw.rows) == [4, 5]
    assert list(raw.frame["站点编码"]) == ["007", "0080"]
    assert all(isinstance(v, str) for v in raw.frame.to_numpy().ravel())
    assert len(problems) == 0

    study = load_study(tiny_project)
    assert list(study.sites["site_id"]) == ["007", "0080"]  # leading zeros kept
    assert list(study.sites["source_row"]) == [4, 5]
    assert list(study.sites["staff"]) == [2.5, 1.0]


def test_xlsx_without_header_row_setting_fails_clearly(tiny_project: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["东城区计划生育服务网点一览表"])
    ws.append([])
    for r in sites_rows():
        ws.append(r)
    book.save(tiny_project / "sites.xlsx")
    edit_project(tiny_project, 'path = "sites.csv"', 'path = "sites.xlsx"')
    with pytest.raises(ValidationError) as info:
        load_study(tiny_project)
    missing = [p for p in info.value.problems if p.rule == "missing-column"]
    assert {p.field for p in missing} >= {"site_id", "lon", "lat", "staff"}
    assert all(p.row == 1 and p.file == "sites.xlsx[Sheet]" for p in missing)


def test_xlsx_cell_values_as_text(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "n", "f", "d", "t", "b", "formula", "empty"])
    ws.append(["007", 12, 2.5, date(2024, 3, 1), datetime(2024, 3, 1, 8, 30), True,
               "=SUM(B2:C2)", None])
    ws.append([7, 1e20, -0.0, datetime(2024, 3, 2), None, False, "+86 123", "x"])
    book.save(tmp_path / "t.xlsx")
    raw, problems = read(tmp_path / "t.xlsx")
    assert len(problems) == 0
    assert raw.frame.iloc[0].to_list() == ["007", "12", "2.5", "2024-03-01",
                                           "2024-03-01T08:30:00", "1", "=SUM(B2:C2)", ""]
    assert raw.frame.iloc[1].to_list() == ["7", "1e+20", "0", "2024-03-02", "", "0",
                                           "+86 123", "x"]
    assert list(raw.rows) == [2, 3]


def test_xlsx_sheet_by_name_and_position(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["a"])
    book.active.append(["first"])
    other = book.create_sheet("网点")
    other.append(["a"])
    other.append(["second"])
    book.save(tmp_path / "t.xlsx")
    assert read(tmp_path / "t.xlsx", sheet="网点")[0].frame["a"].tolist() == ["second"]
    assert read(tmp_path / "t.xlsx", sheet=1)[0].frame["a"].tolist() == ["second"]
    raw, problems = read(tmp_path / "t.xlsx", sheet="Sheet9")
    assert raw is None
    (p,) = problems
    assert p.rule == "unreadable-file" and "网点" in p.hint


def test_xlsx_merged_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "a", "b"])
    ws.append(["1", "x", "y"])
    ws.append(["2", None, "z"])
    ws.merge_cells("B2:B3")
    book.save(tmp_path / "data.xlsx")
    raw, problems = read(tmp_path / "data.xlsx")
    assert raw is None
    (p,) = problems
    assert (p.rule, p.file) == ("merged-cells", "data.xlsx[Sheet]") and "B2:B3" in p.hint
    ws.unmerge_cells("B2:B3")
    ws.merge_cells("B1:C1")
    book.save(tmp_path / "head.xlsx")
    raw, problems = read(tmp_path / "head.xlsx")
    (p,) = problems
    assert (p.rule, p.row) == ("merged-header", 1) and "B1:C1" in p.hint


def test_xlsx_repeated_headers(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["编号", "经度", "纬度", "经度"])
    ws.append(["1", 113.7, 23.0, 114.0])
    book.save(tmp_path / "t.xlsx")
    raw, problems = read(tmp_path / "t.xlsx")
    assert raw is None
    (p,) = problems
    assert (p.rule, p.row) == ("ambiguous-column", 1) and "'经度'" in p.hint


def test_broken_xlsx(tmp_path: Path) -> None:
    (tmp_path / "t.xlsx").write_bytes(b"PK not really")
    raw, problems = read(tmp_path / "t.xlsx")
    assert raw is None
    assert [p.rule for p in problems] == ["unreadable-file"]


# --- vector files -----------------------------------------------------------------------------


def test_vector_rows_are_feature_numbers(tiny_project: Path) -> None:
    raw, problems = read(tiny_project / "communities.geojson")
    assert len(problems) == 0
    assert list(raw.rows) == [1, 2]
    assert raw.header_row is None
    assert raw.file_crs.to_epsg() == 4326
    assert raw.geometry is not None and len(raw.geometry) == 2
    assert np.issubdtype(raw.frame["户籍人口"].dtype, np.integer)


def test_geopackage_layer_choice(tiny_project: Path) -> None:
    from conftest import communities

    path = tiny_project / "two.gpkg"
    communities().to_file(path, layer="boundaries", driver="GPKG")
    communities().iloc[:1].to_file(path, layer="other", driver="GPKG")
    raw, _ = read(path, layer="other")
    assert len(raw.frame) == 1
    raw, problems = read(path, layer="nope")
    assert raw is None
    (p,) = problems
    assert p.rule == "unreadable-file"
    assert "boundaries, other" in p.hint  # the layers the user can choose from


def test_geopackage_with_several_layers_needs_a_layer_name(tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely

    from coverage.io.readers import read_table
    from coverage.io.validation import Problems

    path = tmp_path / "two.gpkg"
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=4326)
    gdf.to_file(path, layer="first")
    gdf.to_file(path, layer="second")
    problems = Problems()
    assert read_table(path, problems=problems) is None
    (p,) = problems.errors
    assert p.rule == "unreadable-file" and "first, second" in p.hint and "`layer`" in p.hint
    problems = Problems()
    raw = read_table(path, problems=problems, layer="second")
    assert raw is not None and not problems.errors


def test_hash_key_uses_the_whole_salt() -> None:
    import pandas as pd

    from coverage.io.privacy import hash_ids

    ids = pd.Series(["110105194912310021"])
    a = hash_ids(ids, bytes(16))
    b = hash_ids(ids, bytes(15) + b"\x01")  # differs only in the last byte
    assert a.iloc[0] != b.iloc[0]
