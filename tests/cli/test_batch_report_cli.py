"""``coverage batch``'s own output: the table of the cities, and the province report written.

The table's numbers are right-aligned; the report is written into ``--out`` beside the CSV
files, in ``--lang``, and its paths printed as theirs are, also when no city has results.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from typer.testing import CliRunner

from coverage import cli
from coverage._cli.batch import _table
from coverage.engine.batch import (
    FAILURES_FILE,
    SUMMARY_FILE,
    BatchResult,
    CityOutcome,
    province_summary,
)


def _row(name: str, migrants: int, coverage: float, shortfall: float) -> pd.DataFrame:
    return pd.DataFrame([{"city": name, "folder": name, "districts": 1, "migrants": migrants,
                          "registered_pop": 1000, "threshold": "15min",
                          "coverage_migrant": coverage, "coverage_registered": 0.9,
                          "coverage_gap": 0.9 - coverage, "staff": 10.0,
                          "staff_shortfall": shortfall}])


def test_the_cities_table_right_aligns_its_numbers():
    outcomes = [CityOutcome("a", "甲市", True, 12.3, row=_row("甲市", 123_456, 0.5, 1234.5)),
                CityOutcome("b", "乙市", True, 1.0, row=_row("乙市", 789, np.nan, 2.0)),
                CityOutcome("c", "丙市", False, 0.5, error="bad")]
    result = BatchResult(Path("p"), outcomes, province_summary(outcomes), 13.8)
    console = Console(width=200, record=True, color_system=None)
    console.print(_table(result, "en"))
    lines = console.export_text().splitlines()
    big = next(line for line in lines if "甲市" in line)
    small = next(line for line in lines if "乙市" in line)
    for wide, narrow in (("123,456", "789"), ("50.0%", "—"), ("1,234.5", "2.0"), ("12.3", "1.0")):
        end = big.index(wide) + len(wide)
        assert small[end - len(narrow):end] == narrow, (wide, big, small)
    assert big.index("甲市") == small.index("乙市")  # names stay left-aligned


def test_the_command_line_writes_the_province_report(tmp_path: Path):
    city = tmp_path / "province" / "<b>&城"
    city.mkdir(parents=True)
    (city / "project.toml").write_text("[project\nname = 1\n", encoding="utf-8")
    out = tmp_path / "out"
    done = CliRunner().invoke(cli.app, ["batch", str(tmp_path / "province"), "--workers", "1",
                                        "--out", str(out), "--lang", "en"],
                              env={"COLUMNS": "400"})
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output
    files = [SUMMARY_FILE, FAILURES_FILE, *(f"province-report-en.{f}" for f in
                                           ("html", "xlsx", "pdf"))]
    for name in files:
        assert (out / name).is_file(), name
        assert str(out / name) in done.output
    assert not list(out.glob("province-report-zh.*"))
    page = (out / "province-report-en.html").read_text(encoding="utf-8")
    assert "No city has results" in page and "Run on " in page
    assert html.escape("<b>&城") in page and "<b>&" not in page
    assert "project.toml" in page  # the reason, one line


def test_the_help_names_the_province_report():
    done = CliRunner().invoke(cli.app, ["batch", "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0
    assert "全省汇总报告" in done.output and "province report" in done.output
