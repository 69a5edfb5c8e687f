"""``coverage report PROJECT --kind progress|self-assessment``: the files written for a run, the
two runs of ``--compare``, ``--kind staffing`` as before, and one-line errors (exit 2)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coverage import cli
from coverage.publish.naming import assessment_stem, progress_stem
from progress_runs import EAST, two_run_project

UNKNOWN = "20000101T000000.000000Z-0000"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


def _report(runner: CliRunner, project: Path, *args: str):
    return runner.invoke(cli.app, ["report", str(project), "--format", "html,xlsx",
                                   "--out", str(project / "out"), *args])


def test_the_quarterly_progress_report_of_a_run(tmp_path: Path, runner: CliRunner):
    first, second = two_run_project(tmp_path)
    done = _report(runner, tmp_path, "--kind", "progress", "--run", second)
    assert done.exit_code == 0, done.output
    stem = assessment_stem("progress", second, first, lang="en")  # the project's language
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{stem}.html",
                                                                    f"{stem}.xlsx"]
    page = (tmp_path / "out" / f"{stem}.html").read_text(encoding="utf-8")
    assert "Quarterly progress of the districts' assessment" in html.unescape(page)
    assert first in page and second in page


def test_compare_names_the_two_runs_for_both_kinds(tmp_path: Path, runner: CliRunner):
    first, second = two_run_project(tmp_path)
    done = _report(runner, tmp_path, "--kind", "self-assessment", "--district", EAST,
                   "--compare", second, first, "--lang", "zh")
    assert done.exit_code == 0, done.output
    stem = assessment_stem("self-assessment", second, first, lang="zh", district=EAST)
    assert (tmp_path / "out" / f"{stem}.xlsx").exists()
    page = (tmp_path / "out" / f"{stem}.html").read_text(encoding="utf-8")
    assert "东城区自查自评报告" in page and "与上一期相比：得分" in page


def test_a_first_run_is_reported_without_a_previous_quarter(tmp_path: Path, runner: CliRunner):
    first, _ = two_run_project(tmp_path)
    done = _report(runner, tmp_path, "--kind", "progress", "--run", first, "--lang", "zh")
    assert done.exit_code == 0, done.output
    page = (tmp_path / "out" / f"{assessment_stem('progress', first, lang='zh')}.html"
            ).read_text(encoding="utf-8")
    assert "没有上一期可比较" in page


def test_kind_staffing_with_compare_is_the_progress_report_as_before(tmp_path: Path,
                                                                    runner: CliRunner):
    first, second = two_run_project(tmp_path)
    done = _report(runner, tmp_path, "--kind", "staffing", "--compare", first, second)
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / f"{progress_stem(first, second, lang='en')}.html").exists()


@pytest.mark.parametrize(("args", "words"), [
    (("--kind", "self-assessment", "--run", "{second}"),
     "--kind self-assessment needs --district NAME; districts: 东城区, 南城区, 西<城>区"),
    (("--kind", "self-assessment", "--district", "北城区", "--run", "{second}"),
     "district '北城区' is not in the run's results; districts: 东城区, 南城区, 西<城>区"),
    (("--kind", "progress", "--district", EAST, "--run", "{second}"),
     "--kind progress covers every district"),
    (("--kind", "progress", "--run", UNKNOWN), "coverage runs PROJECT"),
    (("--kind", "progress", "--compare", "{first}", "{first}"), "two different runs"),
    (("--kind", "progress", "--compare", "{first}", "{second}", "--run", "{first}"),
     "--compare and --run cannot be used together"),
    (("--kind", "ranking"), "'ranking' is not one of"),
])
def test_bad_requests_are_one_line_errors(tmp_path: Path, runner: CliRunner, args, words):
    first, second = two_run_project(tmp_path)
    done = _report(runner, tmp_path, *(a.format(first=first, second=second) for a in args))
    assert done.exit_code == 2, done.output
    line = " ".join(done.output.split())
    assert words in line, line
    if "'ranking'" not in words:  # typer's own usage box for an unknown choice
        assert done.output.startswith("error:")
        assert len(done.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
