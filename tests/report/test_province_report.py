"""The province report of ``coverage batch``: the cities side by side, as a commission reads it.

One province, run once: the small demo city (budgets, every indicator), a user's project with
only the required columns (its migrants' coverage suppressed, no budgets) and a city that
fails, whose folder, name and missing migrants file carry ``<b>&``. The report must show
``province_summary``'s figures as they are (the XLSX read back, cell by cell), every city and
the failure's reason escaped in the HTML, and no English word of its own in the Chinese PDF.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from coverage.engine.batch import PROVINCE, BatchResult, failures_table, run_batch
from coverage.messages import catalogue
from coverage.publish.labels import column_label
from coverage.report import build_province_report, write_province_report
from coverage.report.content import fmt_value
from minimal import partial_project

pytestmark = pytest.mark.slow

#: Latin words a Chinese report may print (units, standards, method and software names), as
#: in tests/integration/test_report_pdf.py.
TECHNICAL = {"UTC", "EPSG", "GCJ", "WGS", "SHA", "CGCS", "BD", "PROJ", "E2SFCA", "SFCA",
             "HiGHS", "Luo", "Qi", "HTML", "PDF", "CJK", "Noto", "cm", "km", "pp"}
CJK = re.compile(r"[\u4e00-\u9fff]+")
BROKEN = "<b>&城"


@pytest.fixture(scope="module")
def province(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("province")
    shutil.copytree(small_demo, root / "demo", ignore=shutil.ignore_patterns("results", "runs"))
    partial_project(small_demo, root / "minimal", communities=12)
    shutil.copytree(root / "minimal", root / BROKEN)
    toml = (root / BROKEN / "project.toml").read_text(encoding="utf-8")
    toml = re.sub(r'name = ".*"', f'name = "{BROKEN}"', toml, count=1)
    toml = toml.replace('path = "migrants.csv"', 'path = "<b>&migrants.csv"')
    (root / BROKEN / "project.toml").write_text(toml, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def result(province: Path) -> BatchResult:
    return run_batch(province, workers=2)


@pytest.fixture(scope="module")
def written(result: BatchResult, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, dict[str, Path]]:
    out = tmp_path_factory.mktemp("province-out")
    return {lang: write_province_report(result, out, lang=lang) for lang in ("zh", "en")}


def _data_words(result: BatchResult) -> set[str]:
    """Latin words of the data: city names, folders, the failures' reasons, the province."""
    texts = [result.folder.name, *[str(v) for v in failures_table(result).to_numpy().ravel()],
             *result.summary["city"].astype(str)]
    return set(re.findall(r"[A-Za-z]+", " ".join(texts)))


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_the_files_are_named_by_language(written):
    for lang, paths in written.items():
        assert {f: p.name for f, p in paths.items()} == {
            f: f"province-report-{lang}.{f}" for f in ("html", "xlsx", "pdf")}
        assert all(p.stat().st_size > 0 for p in paths.values())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_xlsx_holds_the_province_table_row_by_row(result, written, lang: str):
    summary = result.summary
    wb = openpyxl.load_workbook(written[lang]["xlsx"])
    about = list(wb.worksheets[0].iter_rows(values_only=True))
    index = [row for row in about if row[1] == "province_summary"]  # sheet, layer, head, column
    assert index, "the index sheet names no column of the province table"
    shown = {column for *_, column in index}
    assert set(summary.columns) - shown == {"folder", "threshold", "communities"}
    province_name = catalogue("report", lang)["province_row"]
    for sheet in dict.fromkeys(name for name, *_ in index):
        ws = wb[sheet]
        rows = list(ws.iter_rows(values_only=True))
        heads = {head: column for name, _, head, column in index if name == sheet}
        columns = [heads[h] for h in rows[0]]
        assert columns[0] == "city"
        names = [r[0] for r in rows[1:]]
        assert names[-1] == province_name
        assert sorted(names[:-1]) == sorted(summary["city"].iloc[:-1])
        by_city = summary.assign(city=summary["city"].replace(PROVINCE, province_name))
        by_city = by_city.set_index("city")
        for k, row in enumerate(rows[1:], start=2):
            expected = by_city.loc[row[0]]
            for j, (column, value) in enumerate(zip(columns[1:], row[1:], strict=True), 2):
                want = expected[column]
                if pd.isna(want):
                    assert value is None, (sheet, k, column, value)
                else:
                    assert isinstance(value, int | float), (sheet, k, column, value)
                    assert value == pytest.approx(float(want), rel=1e-12), (sheet, k, column)
                    assert ws.cell(row=k, column=j).number_format != "General"
    if lang == "zh":
        first = wb.worksheets[1]
        heads = [c.value for c in first[1]]
        assert heads[:4] == ["城市", "区县数", "流动人口", "户籍人口"]
        assert column_label("coverage_15min_migrant", lang="zh") in heads
        assert all(CJK.search(h) for h in heads)


def test_cities_are_ordered_by_coverage_gap_worst_first(result):
    report = build_province_report(result, lang="en")
    frame = report.section("coverage").tables[0].frame
    cities = result.summary.iloc[:-1].set_index("city")
    gaps = pd.to_numeric(cities.loc[frame["city"].iloc[:-1], "coverage_gap"]).to_numpy(float)
    published = gaps[~pd.isna(gaps)]
    assert list(published) == sorted(published, reverse=True)
    assert pd.isna(gaps).sum() == 1 and pd.isna(gaps[-1])  # the suppressed gap after
    assert frame["city"].iloc[-1] == "Province"
    note = " ".join(report.section("coverage").tables[0].notes)
    assert "largest first" in note


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_html_holds_every_city_and_the_reason_escaped(result, written, lang: str):
    page = written[lang]["html"].read_text(encoding="utf-8")
    [failed] = result.failed
    assert failed.name == BROKEN and "<b>&migrants.csv" in failed.error
    for city in result.summary["city"].iloc[:-1]:
        assert html.escape(city) in page
    assert html.escape(failed.error) in page and html.escape(BROKEN) in page
    assert "<b>&" not in page  # neither the name, the folder nor the reason unescaped
    assert '<figure class="chart"><svg' in page
    # numbers right-aligned, a suppressed one too
    cells = re.findall(r'<td class="([^"]*)">([^<]*)</td>', page)
    numbers = [(classes, text) for classes, text in cells
               if re.fullmatch(r"[+−-]?[\d,.]+%?|—", text)]
    assert numbers and all("num" in classes.split() for classes, _ in numbers)
    assert any(text == "—" for _, text in numbers)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_title_and_lead_paragraph_are_the_province_row(result, lang: str):
    report = build_province_report(result, lang=lang)
    total = result.summary.iloc[-1]
    assert total["city"] == PROVINCE
    day = result.finished.date().isoformat()
    assert day in report.subtitle and day in report.title
    assert report.subtitle == catalogue("report", lang)["subtitle_province"].format(
        date=day, done=2, failed=1)
    lead = " ".join(report.section("overview").paragraphs)
    for column, kind in (("migrants", "int"), ("staff", "f1"), ("staff_shortfall", "f1"),
                         ("coverage_registered", "pct")):
        assert fmt_value(total[column], kind, lang) in lead, column
    assert pd.isna(total["coverage_migrant"])  # the minimal city's is suppressed
    [failures] = report.section("failures").tables
    assert failures.frame.to_dict("records") == [
        {"city": BROKEN, "folder": BROKEN, "error": result.failed[0].error}]


def test_the_chinese_pdf_has_no_english_ui_words(result, written):
    text = _pdf_text(written["zh"]["pdf"])
    assert "全省流动人口计划生育服务汇总报告" in text
    words = set(re.findall(r"[A-Za-z][A-Za-z_]+", text))
    stray = words - TECHNICAL - _data_words(result)
    assert not stray, sorted(stray)


def test_the_english_pdf_has_no_chinese_outside_data_values(result, written):
    text = _pdf_text(written["en"]["pdf"])
    assert "Province summary" in text
    data = " ".join([*result.summary["city"].iloc[:-1], BROKEN, result.failed[0].error])
    stray = {run for run in CJK.findall(text) if run not in data}
    assert not stray, sorted(stray)
