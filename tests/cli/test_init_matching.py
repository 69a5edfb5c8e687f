"""``coverage init``: headers matched to fields, coordinates found, a masked preview."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from coverage import cli
from coverage.crs import wgs84_to_gcj02
from coverage.init_project import (
    MASK,
    masked_preview,
    match_columns,
    propose_project,
    similarity,
    write_project,
)
from coverage.io.project import PROJECT_FILE, TEMPLATE
from coverage.io.schema import MIGRANTS, SITES


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cli, "console", Console(width=300, highlight=False))
    monkeypatch.setattr(cli, "err", Console(width=300, stderr=True, highlight=False))
    return CliRunner()


def _options(files: dict[str, Path]) -> list[str]:
    return [a for name, path in files.items() for a in (f"--{name.replace('_', '-')}",
                                                        str(path))]


def test_without_files_init_writes_the_template(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["init", str(tmp_path)])
    assert result.exit_code == 0
    assert (tmp_path / PROJECT_FILE).read_text(encoding="utf-8") == TEMPLATE


# --- column matching --------------------------------------------------------------------------


def test_similarity() -> None:
    assert similarity("流动人口编号", "编号") == pytest.approx(0.8)
    assert similarity("Person ID", "person_id") == pytest.approx(0.95)
    assert similarity("POINT_X", "x") >= 0.75
    assert similarity("Longitude (GCJ-02)", "longitude") > 0.85
    assert similarity("max_staff", "x") < 0.5  # a letter inside a word is not the word
    assert similarity("出生日期", "出生年份") < 0.75


def test_one_header_per_field_and_one_field_per_header() -> None:
    headers = ["编号", "身份证号", "Lng (WGS84)", "Lat (WGS84)", "户籍地详细地址", "性别"]
    sample = pd.DataFrame({"编号": ["1", "2"], "身份证号": ["a", "b"],
                           "Lng (WGS84)": ["113.1", "113.2"], "Lat (WGS84)": ["23.1", "23.2"],
                           "户籍地详细地址": ["湖南省长沙市", "广西南宁市"], "性别": ["男", "女"]})
    guesses = match_columns(headers, MIGRANTS, sample)
    assert guesses["person_id"].header == "编号"
    assert guesses["person_id"].note is not None  # 身份证号 is recognised too: said so
    assert guesses["lon"].header == "Lng (WGS84)" and guesses["lon"].how == "close"
    assert guesses["lat"].header == "Lat (WGS84)"
    # An address resembles 户籍地 but its values are not six-digit codes: not mapped.
    assert guesses["hukou_code"].header is None
    mapped = [g.header for g in guesses.values() if g.header is not None]
    assert len(mapped) == len(set(mapped))


def test_equally_close_headers_are_left_to_the_user() -> None:
    guesses = match_columns(["网点人员A", "网点人员B", "站点编码", "名称", "类型", "经度", "纬度"],
                            SITES)
    staff = guesses["staff"]
    assert staff.header is None
    assert {h for h, _ in staff.candidates} == {"网点人员A", "网点人员B"}


def test_coordinates_found_by_their_values_and_swapped_back(tmp_path: Path) -> None:
    lon, lat = wgs84_to_gcj02([113.753, 113.764], [23.021, 23.026])
    (tmp_path / "sites.csv").write_text(
        "站点编码,名称,类型,东西,南北,人员\n"
        f"S1,东城站,社区卫生服务站,{lon[0]:.6f},{lat[0]:.6f},2\n"
        f"S2,西城站,社区计生服务室,{lon[1]:.6f},{lat[1]:.6f},1\n", encoding="utf-8")
    (tmp_path / "swapped.csv").write_text(
        "站点编码,名称,类型,经度,纬度,人员\n"
        f"S1,东城站,社区卫生服务站,{lat[0]:.6f},{lon[0]:.6f},2\n"
        f"S2,西城站,社区计生服务室,{lat[1]:.6f},{lon[1]:.6f},1\n", encoding="utf-8")
    proposal = propose_project(tmp_path, {"sites": tmp_path / "sites.csv",
                                          "candidates": tmp_path / "swapped.csv"})
    by_values = proposal.layers["sites"].columns
    assert (by_values["lon"].header, by_values["lat"].header) == ("东西", "南北")
    assert by_values["lon"].how == "values"
    swapped = proposal.layers["candidates"].columns
    assert (swapped["lon"].header, swapped["lat"].header) == ("纬度", "经度")
    assert "swapped" in swapped["lon"].comment()[0]


# --- coordinate systems, encodings, privacy ---------------------------------------------------


def test_metres_need_a_declared_epsg_code(tiny_project: Path, tmp_path: Path,
                                          runner: CliRunner) -> None:
    import pyproj

    to_utm = pyproj.Transformer.from_crs(4326, 32649, always_xy=True)
    x, y = to_utm.transform([113.752, 113.755], [23.022, 23.025])
    (tmp_path / "migrants.csv").write_text(
        f"人员编号,经度,纬度\nM1,{x[0]:.1f},{y[0]:.1f}\nM2,{x[1]:.1f},{y[1]:.1f}\n",
        encoding="utf-8")
    (tmp_path / "broken.gpkg").write_bytes(b"")
    files = {"migrants": tmp_path / "migrants.csv", "sites": tiny_project / "sites.csv",
             "communities": tiny_project / "communities.geojson",
             "network": tmp_path / "broken.gpkg"}
    folder = tmp_path / "project"
    result = runner.invoke(cli.app, ["init", str(folder), *_options(files), "--lang", "en"])
    assert result.exit_code == 2
    assert "field 'crs': coordinate system not declared [crs-missing]" in result.stderr
    assert "EPSG:nnnn" in result.stderr
    text = (folder / PROJECT_FILE).read_text("utf-8")
    assert re.search(r'# crs = "EPSG:nnnn" +# TODO: the coordinates are not degrees', text)
    # The empty network file is reported, naming the file.
    assert "broken.gpkg" in result.stdout and "[unreadable-" in result.stdout


def test_without_a_network_the_guess_is_flagged(tiny_project: Path, tmp_path: Path) -> None:
    files = {"migrants": tiny_project / "migrants.csv", "sites": tiny_project / "sites.csv",
             "communities": tiny_project / "communities.geojson"}
    proposal = propose_project(tmp_path, files)
    assert proposal.layers["sites"].encoding == "gb18030"
    assert proposal.layers["migrants"].encoding == "utf-8"
    guess = proposal.layers["sites"].system
    assert guess is not None and guess.system == "wgs84" and not guess.confident
    rules = {(p.file, p.rule) for p in proposal.problems}
    assert ("project.toml", "missing-file") in rules  # no network given
    assert (proposal.layers["sites"].source, "crs-uncertain") in rules


def test_masked_preview_shows_no_personal_value(tiny_project: Path, tmp_path: Path) -> None:
    proposal = propose_project(tmp_path, {"migrants": tiny_project / "migrants.csv",
                                          "sites": tiny_project / "sites.csv"})
    preview = masked_preview(proposal.layers["migrants"])
    assert list(preview.columns) == proposal.layers["migrants"].headers
    assert set(preview["人员编号"]) == {MASK}
    assert set(preview["经度"]) == {MASK}
    assert set(preview["性别"]) == {MASK}
    assert list(preview["社区编码"][:3]) == ["C1", "C1", "C2"]  # not personal
    assert "M001" not in preview.to_string()
    sites = masked_preview(proposal.layers["sites"])
    assert sites.iloc[0]["站点编码"] == "S1"  # sites describe no one


def test_user_choices_are_written_with_their_comment(tiny_project: Path, tmp_path: Path) -> None:
    files = {"migrants": tiny_project / "migrants.csv", "sites": tiny_project / "sites.csv",
             "communities": tiny_project / "communities.geojson",
             "network": tiny_project / "network.gpkg"}
    proposal = propose_project(tmp_path / "new", files)
    migrants = proposal.layers["migrants"]
    migrants.set_column("community_id", None)
    migrants.set_system("GCJ-02")
    with pytest.raises(KeyError, match="no header"):
        migrants.set_column("sex", "gender")
    path = write_project(proposal)
    text = path.read_text("utf-8")
    assert re.search(r'crs = "gcj02" +# chosen by the user; 用户选择', text)
    assert "community_id" in text.split("[layers.migrants.columns]")[1].split("[layers")[0]
    with pytest.raises(FileExistsError, match="--force"):
        write_project(proposal)
