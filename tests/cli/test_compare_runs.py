"""``coverage report PROJECT --compare A B``: the progress report and table of two kept runs,
escaped names, one district, and one-line errors for bad, unknown or incomparable runs."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from coverage import cli
from coverage.publish.naming import progress_stem
from progress_runs import EAST, SOUTH, WEST, two_run_project

UNKNOWN = "20000101T000000.000000Z-0000"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


def _compare(runner: CliRunner, project: Path, *args: str):
    return runner.invoke(cli.app, ["report", str(project), "--format", "html,xlsx",
                                   "--out", str(project / "out"), *args])


def _cells(page: str) -> list[list[str]]:
    """The text of every table row of an HTML page (tags dropped, entities kept)."""
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    return [[re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>",
                                                                  row, flags=re.S)]
            for row in rows]


def test_compare_writes_the_progress_report_and_prints_the_table(tmp_path: Path,
                                                                  runner: CliRunner):
    first, second = two_run_project(tmp_path)
    done = _compare(runner, tmp_path, "--compare", second, first, "--lang", "en")
    assert done.exit_code == 0, done.output
    stem = progress_stem(first, second, lang="en")
    page = (tmp_path / "out" / f"{stem}.html").read_text(encoding="utf-8")
    assert "Progress between two runs" in page
    assert first in page and second in page
    # 西<城>区 stays escaped wherever it is shown; never as markup
    assert "西<城>区" not in page and html.escape(WEST) in page
    rows = _cells(page)
    # 东城区's pregnancy checks: 60% → 72% against 70%, +12 points, not met → met
    east = ["Indicators", "Free pregnancy check where they live", "60.0%", "72.0%",
            "+12.0 pp", "▲", "70.0%", "not met", "met"]
    west = ["Indicators", "Free pregnancy check where they live", "80.0%", "65.0%",
            "−15.0 pp", "▼", "70.0%", "met", "not met"]
    assert east in rows and west in rows
    assert ["Staffing", "Staff shortfall (FTE)", "1.0", "0.0", "−1.0", "▼", "0.0", "not met",
            "met"] in rows
    # 南城区, new in the later run: its earlier side and change are empty
    assert ["Coverage", "Coverage within 10 min (migrants)", "—", "50.0%", "—", "—", "", "",
            ""] in rows
    sheets = load_workbook(tmp_path / "out" / f"{stem}.xlsx").sheetnames
    assert len(sheets) == 5  # the index, the city and three districts
    # the printed table: the same figures, with the arrows
    out = done.output
    tables = _printed_tables(out)
    assert re.search(r"│ Free pregnancy check where they live +│ +60\.0% │ +72\.0% │ "
                     r"+▲ \+12\.0 │ +70\.0% │ ✘ → ✔", tables["东城区"]), out
    assert re.search(r"│ Policy awareness +│ +90\.0% │ +92\.8% │ +▲ \+2\.8 ", tables["whole city"])
    assert list(tables) == ["whole city", "东城区", WEST, SOUTH]
    assert "percentage points" in out


def test_one_district_and_chinese(tmp_path: Path, runner: CliRunner):
    first, second = two_run_project(tmp_path)
    done = _compare(runner, tmp_path, "--compare", first, second, "--district", EAST,
                    "--lang", "zh")
    assert done.exit_code == 0, done.output
    page = (tmp_path / "out" / f"{progress_stem(first, second, lang='zh', district=EAST)}"
            ".html").read_text(encoding="utf-8")
    assert "东城区两期进展对比" in page
    assert ["规划指标", "孕检率", "60.0%", "72.0%", "+12.0 个百分点", "▲", "70.0%", "未达标",
            "达标"] in _cells(page)
    # that district only: no other district's rows, nor the city's
    assert html.escape(WEST) not in page and SOUTH not in page
    assert "全市" not in done.output and WEST not in done.output
    assert list(_printed_tables(done.output)) == ["东城区"]
    assert _printed_tables(done.output)["东城区"].count("│") == 7 * 12  # a row per measure


@pytest.mark.parametrize("args", [
    ("--compare", UNKNOWN, "{second}"),
    ("--compare", "last-quarter", "{second}"),
    ("--compare", "{first}", "{second}", "--run", "{first}"),
    ("--compare", "{first}", "{second}", "--district", "北城区"),
])
def test_bad_comparisons_are_one_line_errors(tmp_path: Path, runner: CliRunner, args):
    first, second = two_run_project(tmp_path)
    done = _compare(runner, tmp_path, *(a.format(first=first, second=second) for a in args))
    assert done.exit_code == 2, done.output
    assert done.output.startswith("error:")
    assert len(done.output.strip().splitlines()) == 1
    if args[1] in (UNKNOWN, "last-quarter"):
        assert "coverage runs" in done.output
    assert not (tmp_path / "out").exists()


def test_runs_of_other_thresholds_are_refused(tmp_path: Path, runner: CliRunner):
    first, second = two_run_project(tmp_path, thresholds="5, 10, 15")
    done = _compare(runner, tmp_path, "--compare", first, second)
    assert done.exit_code == 2
    line = done.output.strip()
    assert len(line.splitlines()) == 1
    assert f"runs {first} and {second} cannot be compared" in line
    assert "10, 15" in line and "5, 10, 15" in line


def _printed_tables(out: str) -> dict[str, str]:
    """The printed tables by their title (a unit's name on a line of its own before one)."""
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines[:-1]) if lines[i + 1].startswith("┏")]
    ends = [*starts[1:], len(lines)]
    return {lines[i].strip(): "\n".join(lines[i + 1:j]) for i, j in zip(starts, ends,
                                                                      strict=True)}
