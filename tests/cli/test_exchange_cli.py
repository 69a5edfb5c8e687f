"""``coverage exchange``: the packs as files (openpyxl, Chinese headers, modes) and its errors."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from coverage import cli
from coverage._cli import exchange as exchange_cli
from coverage.io.loaders import load_study
from coverage.messages import catalogue
from coverage.publish.disclosure import PERSONAL_COLUMNS

MIN_CELL = 10
ZH = catalogue("exchange", "zh")
#: Chinese headers of the count columns of each sheet (beside the bands of the districts sheet).
COUNT_HEADERS = {ZH[k] for k in ("migrants", "male", "female", "unknown", "total", "achieved",
                                 "not_achieved", "population", "arrivals_recent",
                                 "arrivals_earlier")}


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for module in (cli, exchange_cli):
        monkeypatch.setattr(module, "console", Console(width=300, highlight=False))
        monkeypatch.setattr(module, "err", Console(width=300, stderr=True, highlight=False))
    return CliRunner()


@pytest.fixture(scope="module")
def written(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exchange") / "packs"
    result = CliRunner().invoke(cli.app, ["exchange", str(small_demo), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _is_count(header: str) -> bool:
    return header in COUNT_HEADERS or (header.endswith("分钟") and "比例" not in header) or (
        header.startswith("超过"))


def test_every_pack_opens_with_chinese_headers_and_no_small_count(written: Path):
    books = sorted(written.glob("exchange-*-zh.xlsx"))
    assert books and len(sorted(written.glob("exchange-*-zh.csv"))) == len(books)
    checked = 0
    for path in [*books, written / "cooperation_list-zh.xlsx"]:
        book = openpyxl.load_workbook(path, read_only=True)
        assert book.sheetnames[0] == ZH["sheet_readme"]
        for ws in book.worksheets[1:]:
            rows = list(ws.iter_rows(values_only=True))
            header = [str(h) for h in rows[0]]
            assert header[0] in (ZH["district"], ZH["age_band"], ZH["indicator"])
            assert not {h.lower() for h in header} & PERSONAL_COLUMNS
            counts = [j for j, h in enumerate(header) if _is_count(h)]
            assert counts, f"{path.name}: {ws.title} has count columns"
            values = np.array([[r[j] if r[j] is not None else np.nan for j in counts]
                               for r in rows[1:]], dtype=float)
            assert not ((values > 0) & (values < MIN_CELL)).any(), (path.name, ws.title)
            checked += values.size
    assert checked > 0
    names = {p.name for p in books}
    assert "exchange-430000-湖南省-zh.xlsx" in names  # the demo's largest origin province


def test_files_are_private_and_csv_is_utf8_with_bom(written: Path):
    assert stat.S_IMODE(written.stat().st_mode) == 0o700
    for path in written.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    data = (written / "exchange-430000-湖南省-zh.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
    assert set(rows[0]) == {"origin_code", "table", "row", "column", "column_label", "value",
                            "status"}
    suppressed = [r for r in rows if r["status"] == "suppressed"]
    assert all(r["value"] == "" for r in suppressed)
    assert any(r["column_label"] == ZH["migrants"] for r in rows)


def test_no_person_id_or_coordinate_in_any_file(written: Path, small_demo: Path):
    study = load_study(small_demo)
    ids = set(study.migrants["person_id"].astype(str))
    raw = pd.read_csv(small_demo / "migrants.csv", dtype=str, encoding="utf-8-sig",
                      keep_default_na=False)
    ids = (ids | set(raw["人员编号"])) - {""}
    coordinates = (set(raw["经度"]) | set(raw["纬度"]) | set(raw["工作地经度"])) - {""}
    for path in written.glob("*.csv"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        cells = set(np.ravel(table.to_numpy()))
        assert not cells & ids, path.name
        assert not cells & coordinates, path.name
        assert not {c.lower() for c in table.columns} & PERSONAL_COLUMNS


def test_english_headers_and_prefecture_packs(small_demo: Path, tmp_path: Path,
                                              runner: CliRunner):
    out = tmp_path / "en"
    result = runner.invoke(cli.app, ["exchange", str(small_demo), "--out", str(out),
                                     "--lang", "en", "--level", "prefecture"])
    assert result.exit_code == 0, result.output
    books = sorted(out.glob("exchange-*-en.xlsx"))
    assert any(p.name.split("-")[1][2:4] != "00" for p in books)
    sheet = openpyxl.load_workbook(books[0], read_only=True).worksheets[1]
    header = next(sheet.iter_rows(values_only=True))
    assert header[:2] == (catalogue("exchange", "en")["district"],
                          catalogue("exchange", "en")["migrants"])


def test_project_without_origin_codes_says_so_and_exits_2(tiny_project: Path, tmp_path: Path,
                                                         runner: CliRunner):
    path = tiny_project / "migrants.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.drop(columns=["户籍地代码"]).to_csv(path, index=False)
    out = tmp_path / "packs"
    result = runner.invoke(cli.app, ["exchange", str(tiny_project), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "hukou" in result.output and "缺少户籍地代码" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_an_unexpected_error_names_the_exchange_step(small_demo: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]):
    import sys

    import coverage.report.exchange

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("M0000001")  # what a bug could put in a message: never shown

    monkeypatch.setattr(coverage.report.exchange, "write_exchange", broken)
    monkeypatch.setenv("COVERAGE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(sys, "argv", ["coverage", "exchange", str(small_demo), "--out",
                                      str(tmp_path / "packs")])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "unexpected KeyError in step “exchange: writing packs”" in err, err
    assert "M0000001" not in err and "Traceback" not in err
