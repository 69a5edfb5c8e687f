"""The ``budgets`` layer and ``[parameters.funding]``: Chinese headers, checks, funding in a run.

The tiny project of ``conftest`` gets a GB18030 budgets CSV with the headers
区、年度、户籍人口经费、流动人口经费; each bad-input test breaks it in one way and checks the
one-line problem (file, row, field, rule) that ``coverage validate`` reports. Without the
layer, funding is skipped with its reason, and nothing fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from coverage import cli
from coverage.io.funding_settings import DEFAULT_SITE_COST_YUAN, FundingParameters
from coverage.io.loaders import load_study, validate_project
from coverage.io.project import ProjectError, load_project
from coverage.io.validation import Problem

BUDGETS_CSV = """\
区,年度,户籍人口经费,流动人口经费
东城区,2024,60000,4
东城区,2025,80000,8
"""
LAYER = '\n[layers.budgets]\npath = "budgets.csv"\n'


def _with_budgets(folder: Path, text: str = BUDGETS_CSV, settings: str = "") -> Path:
    (folder / "budgets.csv").write_bytes(text.encode("gb18030"))
    with (folder / "project.toml").open("a", encoding="utf-8") as toml:
        toml.write(LAYER + settings)
    return folder


def _only(folder: Path, rule: str) -> Problem:
    errors = [p for p in validate_project(folder) if p.severity == "error"]
    assert [p.rule for p in errors] == [rule], [str(p) for p in errors]
    return errors[0]


def _validate_says(folder: Path, problem: Problem, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "console", Console(width=400, highlight=False))
    monkeypatch.setattr(cli, "err", Console(width=400, stderr=True, highlight=False))
    result = CliRunner().invoke(cli.app, ["validate", str(folder), "--lang", "en"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {problem}"


def test_chinese_headers_are_mapped(tiny_project: Path) -> None:
    folder = _with_budgets(tiny_project)
    assert list(validate_project(folder)) == []
    budgets = load_study(folder).budgets
    assert list(budgets["district"]) == ["东城区", "东城区"]
    assert list(budgets["year"]) == [2024, 2025]
    assert list(budgets["budget_registered"]) == [60000.0, 80000.0]
    assert list(budgets["budget_migrant"]) == [4.0, 8.0]


def test_district_not_in_the_communities(tiny_project: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _with_budgets(tiny_project, BUDGETS_CSV.replace("东城区,2025", "西城区,2025"))
    problem = _only(folder, "unknown-reference")
    assert (problem.file, problem.row, problem.field) == ("budgets.csv", 3, "district")
    assert "东城区" in str(problem) and "\n" not in str(problem)
    _validate_says(folder, problem, monkeypatch)


def test_negative_budget(tiny_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _with_budgets(tiny_project, BUDGETS_CSV.replace(",8\n", ",-8\n"))
    problem = _only(folder, "below-minimum")
    assert (problem.file, problem.row, problem.field) == ("budgets.csv", 3, "budget_migrant")
    _validate_says(folder, problem, monkeypatch)


def test_missing_year(tiny_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _with_budgets(tiny_project, BUDGETS_CSV.replace("东城区,2024", "东城区,"))
    problem = _only(folder, "empty-value")
    assert (problem.file, problem.row, problem.field) == ("budgets.csv", 2, "year")
    _validate_says(folder, problem, monkeypatch)


def test_a_district_has_one_row_per_year(tiny_project: Path) -> None:
    folder = _with_budgets(tiny_project, BUDGETS_CSV + "东城区,2025,1,1\n")
    problem = _only(folder, "duplicate-id")
    assert (problem.file, problem.row, problem.field) == ("budgets.csv", 4, "year")


def test_the_year_set_must_be_in_the_layer(tiny_project: Path) -> None:
    folder = _with_budgets(tiny_project, settings="\n[parameters.funding]\nyear = 2023\n")
    problem = _only(folder, "unknown-reference")
    assert (problem.file, problem.field) == ("budgets.csv", "year")
    assert "2023" in str(problem)


def test_funding_settings_are_checked(tiny_project: Path) -> None:
    toml = tiny_project / "project.toml"
    base = toml.read_text(encoding="utf-8")
    assert load_project(tiny_project).parameters.funding == FundingParameters()
    assert FundingParameters().site_cost_yuan == DEFAULT_SITE_COST_YUAN
    for bad, said in (("site_cost = 1", "did you mean 'site_cost_yuan'"),
                      ("staff_cost_yuan_per_year = -5", "must be ≥ 0"),
                      ('standard = "registered"', "is not a standard"),
                      ("year = 1800", "must be a year")):
        toml.write_text(base + f"\n[parameters.funding]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ProjectError, match=r"\[parameters\.funding\]") as info:
            load_project(tiny_project)
        assert said in str(info.value)
        assert "\n" not in str(info.value)
    toml.write_text(base + '\n[parameters.funding]\nstandard = 25\nyear = 2024\n'
                    "site_cost_yuan = 1000\n", encoding="utf-8")
    funding = load_project(tiny_project).parameters.funding
    assert (funding.standard, funding.year, funding.site_cost_yuan) == (25.0, 2024, 1000.0)


def test_a_run_computes_funding_or_says_why_not(tiny_project: Path) -> None:
    from coverage.engine.run import run_study
    from coverage.measures.availability import from_run_info

    plain = run_study(tiny_project)
    assert plain.funding is None and "funding" not in plain.layers()
    assert from_run_info(plain.run_info)["funding"] == "no-budgets"
    assert not plain.run_info["key"].str.startswith("funding_").any()

    results = run_study(_with_budgets(tiny_project))
    assert "funding" not in results.skipped
    funding = results.layers()["funding"].set_index("district")
    row = funding.loc["东城区"]
    migrants = int(results.district_summary.set_index("district").loc["东城区", "migrants"])
    assert row["funding_year"] == 2025
    assert row["registered_pop"] == 8000
    assert row["funding_registered_per_capita"] == 10.0  # 80,000 / 8,000
    assert row["funding_migrant_per_capita"] == 8 / migrants
    assert row["funding_needed_yuan"] == 10.0 * migrants - 8
    info = dict(zip(results.run_info["key"], results.run_info["value"], strict=True))
    assert info["funding_standard"] == "district_registered_per_capita"
    # the other layers do not depend on the budgets
    for name in ("district_summary", "community_summary", "indicators"):
        a, b = plain.layers()[name], results.layers()[name]
        assert a.drop(columns="geometry", errors="ignore").equals(
            b.drop(columns="geometry", errors="ignore")), name
