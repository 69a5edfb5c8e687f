"""The quarterly progress report and a district's self-assessment, read back from their files:
the figures are the scorecard's and its change's, the districts in rank order with their
arrows, a self-assessment holds its district only, both languages, a first run said plainly."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from coverage.engine.quarter import read_quarter
from coverage.engine.scorecard import scorecard, scorecard_between
from coverage.messages import catalogue
from coverage.publish.naming import assessment_stem
from coverage.report import ReportUsageError, make_assessment_report
from coverage.store.gpkg import GeoPackageStore
from progress_runs import EAST, SOUTH, WEST, later, two_run_project


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, str, str]:
    first, second = two_run_project(tmp_path)
    return tmp_path, first, second


def _cells(page: str) -> list[list[str]]:
    """The text of every table row of an HTML page (tags dropped, entities unescaped)."""
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell))
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
            for row in rows]


def _sheet(path: Path, name: str) -> pd.DataFrame:
    """A sheet of the XLSX report: its header row and the values under it."""
    rows = list(openpyxl.load_workbook(path)[name].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def _write(folder: Path, kind: str, lang: str, **options: object) -> dict[str, Path]:
    return make_assessment_report(folder, kind, formats=("html", "xlsx"), lang=lang,
                                  out=folder / "out", **options)


def test_the_ranking_read_back_is_the_scorecard_and_its_change(runs):
    folder, first, second = runs
    files = _write(folder, "progress", "en", run=second)
    assert files["html"].name == f"{assessment_stem('progress', second, first, lang='en')}.html"
    sheet = _sheet(files["xlsx"], "Ranking")
    change = scorecard_between(folder, second).set_index("district")
    card = scorecard(later()).drop_duplicates("district").set_index("district")
    assert sheet["District"].tolist() == [WEST, EAST, SOUTH]
    assert sheet["Rank"].tolist() == [1, 2, 3]
    by = sheet.set_index("District")
    assert by["Score"].to_numpy(float) == pytest.approx(card.loc[by.index, "score"].to_numpy())
    assert by["Targets met"].tolist() == card.loc[by.index, "met_count"].tolist()
    assert by["Indicators assessed"].tolist() == card.loc[by.index, "assessed_count"].tolist()
    assert by["Score change"].to_numpy(float) == pytest.approx(
        change.loc[by.index, "score_change"].to_numpy(float), nan_ok=True)
    assert by.loc[[WEST, EAST], "Rank change"].tolist() == [0, 0]
    assert pd.isna(by.loc[SOUTH, "Previous rank"])  # new this quarter: no earlier figure
    rows = _cells(files["html"].read_text(encoding="utf-8"))
    ranked = [r for r in rows if len(r) == 11 and r[1] in (EAST, WEST, SOUTH)]
    assert [r[1] for r in ranked] == [WEST, EAST, SOUTH]
    east = ranked[1]
    assert east[2] == f"{card.loc[EAST, 'score']:.1f}"
    assert east[5:] == [f"{change.loc[EAST, 'score_before']:.1f}",
                        f"{change.loc[EAST, 'score_change']:+.2f}", "▲", "2", "0", "="]
    assert ranked[2][5:] == ["—"] * 6  # 南城区: no earlier run to compare with


def test_each_district_s_scorecard_and_the_targets_met(runs):
    folder, _, second = runs
    files = _write(folder, "progress", "en", run=second)
    card = scorecard(later())
    east = _sheet(files["xlsx"], EAST)
    expected = card[card["district"] == EAST]
    assert east["Points"].to_numpy(float) == pytest.approx(expected["points"].to_numpy(float),
                                                            nan_ok=True)
    assert east["Value"].to_numpy(float) == pytest.approx(expected["value"].to_numpy(float),
                                                           nan_ok=True)
    needed = expected["people_needed"].astype("Float64").to_numpy(float, na_value=np.nan)
    assert east["Still needed"].to_numpy(float) == pytest.approx(needed, nan_ok=True)
    assert east["Met"].tolist()[2] == "met" and "not assessed" in east["Met"].tolist()[1]
    targets = _sheet(files["xlsx"], "Targets met").set_index("Indicator")
    counts = read_quarter(folder, second).targets.set_index("indicator")
    assert targets.loc["Free pregnancy check where they live",
                       ["Districts meeting it", "Previous quarter", "Change"]].tolist() == [
        counts.loc["pregnancy_check", "met"], counts.loc["pregnancy_check", "met_before"], 1]
    page = files["html"].read_text(encoding="utf-8")
    assert "西<城>区" not in page and html.escape(WEST) in page  # escaped wherever shown
    assert "newly met" in page  # the plan's indicators met by the city and its districts


def test_the_chinese_quarterly_report(runs):
    folder, _first, second = runs
    files = _write(folder, "progress", "zh", run=second)
    page = files["html"].read_text(encoding="utf-8")
    texts = catalogue("report", "zh")
    assert texts["heading_sc_quarterly"] in page and "▲" in page
    assert openpyxl.load_workbook(files["xlsx"]).sheetnames[:3] == [
        "说明", texts["sheet_sc_ranking"], texts["sheet_sc_targets"]]
    visible = re.sub(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", " ", page, flags=re.S)
    words = set(re.findall(r"[A-Za-z][A-Za-z_]+", html.unescape(visible)))
    stray = {w for w in words if not re.fullmatch(r"[a-f0-9]+|UTC|tiny|city", w)}
    assert not stray, sorted(stray)


def test_a_first_run_says_there_is_no_previous_quarter(runs):
    folder, first, _ = runs
    for lang in ("zh", "en"):
        files = _write(folder, "progress", lang, run=first)
        assert files["html"].name.startswith(f"quarterly-{first}-city")
        page = files["html"].read_text(encoding="utf-8")
        assert html.escape(catalogue("report", lang)["txt_no_previous"]) in page
        sheet = _sheet(files["xlsx"], catalogue("report", lang)["sheet_sc_ranking"])
        assert len(sheet.columns) == 5  # no change columns


def test_the_self_assessment_holds_its_district_only(runs):
    folder, _first, second = runs
    files = _write(folder, "self-assessment", "en", run=second, district=EAST)
    page = files["html"].read_text(encoding="utf-8")
    assert EAST in page and html.escape(WEST) not in page and SOUTH not in page
    assert "rank 2 of the 3 districts" in page
    card = scorecard(later())
    east = card[card["district"] == EAST].set_index("indicator")
    missing = _sheet(files["xlsx"], "Not yet met").set_index("Indicator")
    assert list(missing.index) == ["Share of the standard's staff missing"]
    row = missing.iloc[0]
    assert row["Value"] == pytest.approx(east.loc["staffing", "value"])
    assert row["Short of the target"] == pytest.approx(2 / 14)
    assert row["Still needed"] == east.loc["staffing", "people_needed"]
    met = _sheet(files["xlsx"], "Met").set_index("Indicator")
    assert len(met) == int(east["met"].fillna(False).sum())
    changes = _sheet(files["xlsx"], "Since the previous").set_index("Indicator")
    check = changes.loc["Free pregnancy check where they live"]
    assert (check["Previous quarter"], check["This quarter"]) == pytest.approx((0.60, 0.72))
    assert check["Trend"] == "▲" and check["Met before"] == "not met"
    assert "no funding figures" in page.lower()
    assert html.escape(catalogue("report", "en")["txt_no_recommend"]) in page
    assert {s for s in openpyxl.load_workbook(files["xlsx"]).sheetnames} >= {"Scorecard"}


def test_the_chinese_self_assessment_and_its_file_name(runs):
    folder, first, second = runs
    files = _write(folder, "self-assessment", "zh", run=second, district=WEST)
    stem = assessment_stem("self-assessment", second, first, lang="zh", district=WEST)
    assert files["xlsx"].name == f"{stem}.xlsx"
    page = files["html"].read_text(encoding="utf-8")
    assert f"{html.escape(WEST)}自查自评报告" in page
    assert "在 3 个有得分的区中排名第 1" in page
    assert EAST not in page and SOUTH not in page


def test_funding_is_shown_where_the_run_has_it_and_why_not_where_it_does_not(tmp_path: Path):
    two_run_project(tmp_path)
    layers = later()
    info = layers["run_info"]
    layers["run_info"] = pd.concat([info, pd.DataFrame({"key": ["skipped:funding"],
                                                        "value": ["no-budgets"]})])
    run = GeoPackageStore(tmp_path / "results").write_run(layers)
    files = _write(tmp_path, "self-assessment", "zh", run=run, district=EAST)
    page = files["html"].read_text(encoding="utf-8")
    assert "未计算：缺少各区计划生育经费" in page
    layers = later()
    layers["funding"] = pd.DataFrame({
        "level": ["district"], "district": [EAST], "funding_year": [2025],
        "funding_registered_per_capita": [40.0], "funding_migrant_per_capita": [31.5],
        "funding_gap_per_capita": [8.5], "funding_standard_per_capita": [40.0],
        "funding_migrant_yuan": [6300.0], "funding_needed_yuan": [1700.0]})
    run = GeoPackageStore(tmp_path / "results").write_run(layers)
    files = _write(tmp_path, "self-assessment", "en", run=run, district=EAST)
    sheet = _sheet(files["xlsx"], "Funding")
    assert sheet.iloc[0].tolist() == [40.0, 31.5, 8.5, 40.0, 6300, 1700]


def test_bad_requests_are_usage_errors_naming_the_districts(runs):
    folder, _, second = runs
    with pytest.raises(ReportUsageError, match="needs --district NAME; districts: 东城区, 南城区"):
        _write(folder, "self-assessment", "en", run=second)
    with pytest.raises(ReportUsageError, match="'北城区' is not in the run's results; districts"):
        _write(folder, "self-assessment", "en", run=second, district="北城区")
    with pytest.raises(ReportUsageError, match="--kind progress covers every district"):
        _write(folder, "progress", "en", run=second, district=EAST)
    with pytest.raises(ReportUsageError, match="unknown report kind"):
        _write(folder, "ranking", "en", run=second)
    assert not (folder / "out").exists()


def test_file_names_of_the_kinds_never_meet():
    run, previous = "20250701T020315.204518Z-9c1e", "20250401T013002.118733Z-04fa"
    names = {assessment_stem("progress", run, previous, lang="zh"),
             assessment_stem("progress", run, None, lang="zh"),
             assessment_stem("progress", run, previous, lang="en"),
             assessment_stem("self-assessment", run, previous, lang="zh", district="万江区"),
             assessment_stem("self-assessment", run, previous, lang="zh", district="东城区")}
    assert len(names) == 5
    assert not any(n.startswith(("report-", "progress-")) for n in names)
    with pytest.raises(ValueError, match="unknown kind"):
        assessment_stem("staffing", run, lang="zh")
    assert np.all([" " not in n for n in names])
