"""The funding part of the report: shown for the city and a district, or why it is missing.

Built from the small demo city's run (which has budgets); the "without budgets" case drops the
layer and records the reason in ``run_info`` as a run without a ``budgets`` layer does.
"""

from __future__ import annotations

import pandas as pd
import pytest

from coverage.report.build import build_report
from coverage.report.content import fmt_value


def test_city_report_shows_funding_by_district(small_run) -> None:
    report = build_report(small_run.layers(), project_name="demo", lang="zh")
    section = report.section("equal")
    table = next(t for t in section.tables if t.key == "funding")
    funding = small_run.funding
    assert len(table.frame) == len(funding)
    assert table.source == "funding"
    assert table.formats["funding_needed_yuan"] == "yuan"
    assert table.formats["funding_gap_per_capita"] == "f2"
    city = funding[funding["level"] == "city"].iloc[0]
    needed = fmt_value(city["funding_needed_yuan"], "yuan", "zh")
    assert any("同等标准投入" in p for p in section.paragraphs)
    assert any(needed in p for p in section.paragraphs)


def test_district_report_shows_the_district_and_the_city(small_run) -> None:
    district = str(small_run.funding["district"].iloc[1])
    report = build_report(small_run.layers(), project_name="demo", district=district,
                          lang="en")
    table = next(t for t in report.section("equal").tables if t.key == "funding")
    assert list(table.frame["unit_name"]) == [district, "whole city"]
    expected = small_run.funding.set_index("district").loc[district, "funding_gap_per_capita"]
    assert table.frame["funding_gap_per_capita"].iloc[0] == pytest.approx(expected)


def test_without_budgets_the_report_says_why(small_run) -> None:
    layers = {k: v for k, v in small_run.layers().items() if k != "funding"}
    info = layers["run_info"]
    layers["run_info"] = pd.concat([info, pd.DataFrame(
        {"key": ["skipped:funding"], "value": ["no-budgets"]})], ignore_index=True)
    for lang, reason in (("zh", "未计算：缺少各区计划生育经费"),
                         ("en", "not computed: no family-planning budgets")):
        report = build_report(layers, project_name="demo", lang=lang)
        section = report.section("equal")
        assert not any(t.key == "funding" for t in section.tables)
        assert any(p.startswith(reason) for p in section.paragraphs)
        assert any(reason in line for line in report.not_computed)
