"""The reports as a planner reads them: tables fit the page, no number or name is split, and
every text is in the report's language (data values aside). The staffing report of the demo
city, and the quarterly progress report and a district's self-assessment of the demo city run
again a quarter later (more staff at some service points, fewer migrants recorded)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest

from coverage.engine.quarter import read_quarter
from coverage.engine.scorecard import scorecard_between
from coverage.messages import catalogue
from coverage.publish.naming import assessment_stem
from coverage.report import (
    Report,
    build_assessment_report,
    build_report,
    report_filename,
    write_report,
)
from coverage.report.content import Section, Table, fmt_value
from coverage.report.layout import plan_table, segments, unbreakable
from coverage.store.gpkg import GeoPackageStore

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="pdftotext (poppler-utils) missing")

CJK = re.compile(r"[\u4e00-\u9fff]+")
NUMERIC = {"pct", "pp", "int", "f1", "f2", "f1+", "f2+", "coord"}
#: Latin words a Chinese report may print: units, standards, method and software names.
TECHNICAL = {"UTC", "EPSG", "GCJ", "WGS", "SHA", "CGCS", "BD", "PROJ", "E2SFCA", "SFCA",
             "HiGHS", "Luo", "Qi", "HTML", "PDF", "CJK", "Noto", "cm", "km", "pp"}


NAME = "演示城市 Demo city (synthetic)"
#: The reports of the quarter after the demo's: the quarterly progress report, a district's
#: self-assessment, in both languages.
QUARTER_KEYS = ("quarterly-zh", "quarterly-en", "self-zh", "self-en")


def _read(gpkg: Path) -> dict[str, pd.DataFrame]:
    return {name: pyogrio.read_dataframe(gpkg, layer=name)
            for name, _ in pyogrio.list_layers(gpkg)}


@pytest.fixture(scope="module")
def layers(demo_city: Path) -> dict[str, pd.DataFrame]:
    return _read(demo_city / "results" / "results.gpkg")


@pytest.fixture(scope="module")
def next_quarter(demo_city: Path, tmp_path_factory) -> Path:
    """The demo city a quarter later, its new run kept beside the demo's: one more staff
    member at the first twenty service points, the first fifth of the migrants gone."""
    folder = tmp_path_factory.mktemp("quarters") / "city"
    shutil.copytree(demo_city, folder)
    sites = pd.read_csv(folder / "sites.csv", dtype=str, encoding="gb18030",
                        keep_default_na=False)
    sites.loc[:19, "人员"] = (sites.loc[:19, "人员"].astype(float) + 1).map(lambda v: f"{v:g}")
    sites.to_csv(folder / "sites.csv", index=False, encoding="gb18030")
    migrants = pd.read_csv(folder / "migrants.csv", dtype=str, encoding="utf-8-sig",
                           keep_default_na=False)
    migrants.iloc[len(migrants) // 5:].to_csv(folder / "migrants.csv", index=False,
                                              encoding="utf-8-sig")
    return folder


@dataclass
class Written:
    report: Report
    files: dict[str, Path]
    layers: dict[str, pd.DataFrame] | None = None
    """The results the report was made of (data values), when not the demo's."""


def _quarter_reports(folder: Path) -> dict[str, Written]:
    """The reports of the assessment cycle on the quarter after the demo's, in both languages."""
    quarter = read_quarter(folder)  # runs the main job on the new inputs and keeps it
    assert quarter.previous is not None and quarter.compared
    current = _read(folder / "results" / "results.gpkg")
    cost = current["recommendation_cost"]
    district = str(cost.loc[cost["level"] == "district", "district"].iloc[0])
    out = {}
    for key in QUARTER_KEYS:
        kind, lang = key.split("-")
        kind = "progress" if kind == "quarterly" else "self-assessment"
        scope = district if kind == "self-assessment" else None
        report = build_assessment_report(quarter, kind, project_name=NAME, lang=lang,
                                         district=scope)
        stem = assessment_stem(kind, quarter.run, quarter.previous, lang=lang, district=scope)
        out[key] = Written(report, write_report(report, folder / "results",
                                                ["html", "xlsx", "pdf"], stem=stem), current)
    return out


@pytest.fixture(scope="module")
def written(demo_city: Path, layers, next_quarter: Path, tmp_path_factory) -> dict[str, Written]:
    """The city report in Chinese (as ``coverage demo`` wrote it), in English, and the report
    of the district with the most communities in Chinese; the reports of the next quarter."""
    out = tmp_path_factory.mktemp("reports")
    district = layers["community_summary"]["district"].value_counts().index[0]
    zh = build_report(layers, project_name=NAME, lang="zh")
    result = {"zh": Written(zh, {f: demo_city / "results" / report_filename(f, lang="zh")
                                 for f in ("html", "xlsx", "pdf")})}
    for key, lang, scope in (("en", "en", None), ("zh-district", "zh", district)):
        report = build_report(layers, project_name=NAME, lang=lang, district=scope)
        result[key] = Written(report, write_report(report, out, ["html", "xlsx", "pdf"]))
    return result | _quarter_reports(next_quarter)


# ------------------------------------------------------------------------------------------
# the PDF's words, with where they are


@dataclass(frozen=True)
class Word:
    page: int
    left: float
    top: float
    right: float
    height: float
    text: str


def _words(pdf: Path) -> tuple[list[Word], dict[int, tuple[float, float]]]:
    """Every word of a PDF (``pdftotext -tsv``) and each page's width and height."""
    out = subprocess.run(["pdftotext", "-tsv", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    words, pages = [], {}
    for line in out.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 12:
            continue
        level, page = int(cols[0]), int(cols[1])
        left, top, width, height = map(float, cols[6:10])
        if level == 1:
            pages[page] = (width, height)
        elif level == 5:
            words.append(Word(page, left, top, left + width, height, cols[11]))
    return words, pages


def _cell_texts(report: Report) -> list[tuple[str, str]]:
    """(text, format) of every table cell of a report, as printed."""
    out = []
    for table in report.tables():
        for i, (_, row) in enumerate(table.frame.iterrows()):
            for c in table.frame.columns:
                kind = table.format_of(i, c)
                out.append((fmt_value(row[c], kind, report.lang), kind))
    return out


def _whole_tokens(report: Report) -> set[str]:
    """Tokens that must never be split: numbers and short Chinese names in the cells."""
    tokens = set()
    for text, kind in _cell_texts(report):
        if text == "—":
            continue
        if unbreakable(text, numeric=kind in NUMERIC):
            tokens |= set(text.split())
    return tokens


def _breaks(token: str) -> set[int]:
    """Where a text may break: between its phrases (:func:`coverage.report.layout.segments`)."""
    out, at = set(), 0
    for piece, space in segments(token):
        at += len(piece) + len(space)
        out.add(at - len(space))
    return out


def _split_tokens(words: list[Word], tokens: set[str]) -> list[str]:
    """Tokens printed in pieces on successive lines of one table column, broken inside a
    number, a word or a name (not between phrases)."""
    found = []
    by_page: dict[int, list[Word]] = {}
    for w in words:
        by_page.setdefault(w.page, []).append(w)
    for page_words in by_page.values():
        for a in page_words:
            if a.text in tokens:
                continue
            chain, last, cuts = a.text, a, set()
            for _ in range(3):  # a token in up to four pieces
                below = [b for b in page_words
                         if 0 < b.top - last.top <= 2.2 * last.height
                         and min(b.right, last.right) - max(b.left, last.left) > -2]
                if not below:
                    break
                last = min(below, key=lambda b: b.top)
                cuts.add(len(chain))
                chain += last.text
                if chain in tokens and not cuts <= _breaks(chain):
                    found.append(f"p{a.page}: {chain}")
                    break
    return found


@pytest.mark.parametrize("key", ["zh", "en", "zh-district", *QUARTER_KEYS])
def test_no_number_or_name_is_split_across_lines(written, key: str):
    report, pdf = written[key].report, written[key].files["pdf"]
    words, _ = _words(pdf)
    tokens = _whole_tokens(report)
    assert len(tokens) > 30
    assert not _split_tokens(words, tokens)
    printed = {w.text for w in words}
    missing = [t for t in tokens if not any(t in p for p in printed)]
    assert not missing, missing[:10]
    if report.lang == "en":  # headers break between words, never inside one
        heads = {w for t in report.tables() for h in t.labels.values()
                 for w in re.findall(r"[A-Za-z]{3,}", h)}
        assert not _split_tokens(words, heads)
        assert not [h for h in heads if not any(h in p for p in printed)]


@pytest.mark.parametrize("key", ["zh", "en", "zh-district", *QUARTER_KEYS])
def test_tables_fit_the_page(written, key: str):
    words, pages = _words(written[key].files["pdf"])
    margin = 20.0  # points: the text stays well inside the paper
    outside = [(w.page, w.text) for w in words
               if w.left < margin or w.right > pages[w.page][0] - margin]
    assert not outside, outside[:10]


def test_wide_tables_go_landscape_or_in_parts(tmp_path: Path):
    rng = np.random.default_rng(1)
    wide = pd.DataFrame({"community_id": [f"4419000{i:05d}" for i in range(12)],
                         "name": [f"第{i}社区" for i in range(12)]})
    for j in range(22):
        wide[f"m{j}"] = rng.integers(10_000, 2_000_000, 12)
    labels = {c: c for c in wide.columns} | {f"m{j}": f"Migrants {j}" for j in range(22)}
    formats = {"community_id": "text", "name": "text"} | {f"m{j}": "int" for j in range(22)}
    table = Table("wide", "A wide table", wide, labels, formats)
    medium = Table("medium", "A medium table", wide.iloc[:, :13], labels, formats)
    report = Report("en", "Wide", [("Scope", "test")],
                    [Section("s", "Tables", tables=[medium, table])], 10, "note")
    path = write_report(report, tmp_path, ["pdf"])["pdf"]
    words, pages = _words(path)
    sizes = {size for size in pages.values()}
    assert any(w > h for w, h in sizes), sizes  # a landscape page
    assert not [w.text for w in words if w.right > pages[w.page][0] - 20]
    tokens = {fmt_value(v, "int", "en") for v in wide.iloc[:, 2:].to_numpy().ravel()}
    assert not _split_tokens(words, tokens)
    # the wide table comes in parts, each naming its rows
    assert sum(w.text == "(part" for w in words) >= 2
    heads = [labels[c] for c in wide.columns]
    cells = [[fmt_value(v, formats[c], "en") for c, v in row.items()] for _, row in wide.iterrows()]
    plan = plan_table(heads, cells, numeric=[formats[c] == "int" for c in wide.columns], keys=2)
    assert len(plan.parts) >= 2 and all(p[:2] == (0, 1) for p in plan.parts)
    assert sorted({j for p in plan.parts for j in p}) == list(range(len(heads)))


# ------------------------------------------------------------------------------------------
# one language


class _Visible(HTMLParser):
    """The text a browser shows (no scripts, styles or SVG metadata)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in {"script", "style", "metadata", "title"}:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "metadata", "title"}:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _texts(files: dict[str, Path]) -> dict[str, str]:
    """The visible text of each written file (HTML, PDF, XLSX without the About sheet)."""
    visible = _Visible()
    visible.feed(files["html"].read_text(encoding="utf-8"))
    pdf = subprocess.run(["pdftotext", str(files["pdf"]), "-"], capture_output=True,
                         text=True, check=True).stdout
    wb = openpyxl.load_workbook(files["xlsx"])
    cells = [wb.worksheets[0].title] + [
        str(v) for ws in wb.worksheets[1:] for row in ws.iter_rows(values_only=True)
        for v in row if isinstance(v, str)] + [ws.title for ws in wb.worksheets]
    return {"html": " ".join(visible.parts), "pdf": pdf, "xlsx": "\n".join(cells)}


def _data_values(layers: dict[str, pd.DataFrame], lang: str) -> list[str]:
    """Texts from the data: names of places, sites and candidates, the project's name."""
    values = {NAME}
    for layer, columns in {
            "community_summary": ["name", "district", "community_id"],
            "district_summary": ["district"], "site_catchments": ["name", "site_id"],
            "recommended_sites": ["name", "community_name", "road_name", "candidate_id",
                                  "map_link"],
            "recommended_staff": ["name", "site_id", "district", "community_name", "road_name",
                                  "map_link"],
            "inflow_trends": ["name", "district"],
            "origin_flows": [f"origin_name_{lang}"], "run_info": []}.items():
        frame = layers.get(layer)
        for c in columns:
            if frame is not None and c in frame:
                values |= set(frame[c].dropna().astype(str))
    return sorted(values, key=len, reverse=True)


@pytest.mark.parametrize("key", ["en", "quarterly-en", "self-en"])
def test_english_report_has_no_chinese_outside_data_values(written, layers, key: str):
    data = _data_values(written[key].layers or layers, "en")
    for where, text in _texts(written[key].files).items():
        stray = {run for run in CJK.findall(text) if not any(run in v for v in data)}
        assert not stray, (where, sorted(stray)[:10])


@pytest.mark.parametrize("key", ["zh", "zh-district", "quarterly-zh", "self-zh"])
def test_chinese_report_has_no_english_ui_words(written, layers, key: str):
    data = " ".join(_data_values(written[key].layers or layers, "zh"))
    data_words = set(re.findall(r"[A-Za-z]+", data))
    for where, text in _texts(written[key].files).items():
        words = set(re.findall(r"[A-Za-z][A-Za-z_]+", text))
        stray = {w for w in words - TECHNICAL - data_words
                 if not re.fullmatch(r"[a-f0-9]+", w)}  # parts of SHA-256 digests
        assert not stray, (where, sorted(stray)[:20])


def test_parameters_and_sheet_names_are_translated(written):
    zh = written["zh"].report.section("methods").tables[0].frame
    values = " ".join(zh["setting"].astype(str))
    assert "步行" in values and "walk" not in values
    assert "district_registered_ratio" not in values and "按本区户籍人口人均配置" in values
    assert "政策知晓率 90%" in values
    wb = openpyxl.load_workbook(written["zh"].files["xlsx"])
    assert wb.sheetnames[:3] == [catalogue("report", "zh")[k]
                                 for k in ("sheet_about", "sheet_indicators", "sheet_quarters")]
    en = openpyxl.load_workbook(written["en"].files["xlsx"])
    assert en.sheetnames[0] == "About" and "Indicators" in en.sheetnames


def test_the_title_keeps_the_project_name_apart(written):
    page = written["zh"].files["html"].read_text(encoding="utf-8")
    assert '<p class="project">演示城市 Demo city (synthetic)</p>' in page
    assert "<h1>流动人口计划生育服务人员配置建议报告</h1>" in page
    assert written["zh"].report.title.startswith("演示城市 Demo city (synthetic)：")


def test_the_next_quarter_s_reports_show_its_scorecard_and_change(written, next_quarter: Path):
    store = GeoPackageStore(next_quarter / "results")
    first, second = store.runs()["run_id"].astype(str).tolist()[-2:]
    card = store.read_layers(second, ["scorecard"])["scorecard"].drop_duplicates("district")
    change = scorecard_between(next_quarter, second).set_index("district")
    for key, sheet in (("quarterly-zh", "排名"), ("quarterly-en", "Ranking")):
        assert written[key].files["xlsx"].name.startswith(f"quarterly-{first}-{second}-city")
        rows = list(openpyxl.load_workbook(written[key].files["xlsx"])[sheet].iter_rows(
            values_only=True))
        shown = pd.DataFrame(rows[1:], columns=range(len(rows[0])))
        ranked = card.sort_values(["rank", "district"], kind="stable")
        assert shown[0].tolist() == ranked["rank"].tolist()
        assert shown[2].to_numpy(float) == pytest.approx(
            card.set_index("district").loc[shown[1], "score"].to_numpy(float))
        assert shown[6].to_numpy(float) == pytest.approx(
            change.loc[shown[1], "score_change"].to_numpy(float))
        assert shown[9].tolist() == change.loc[shown[1], "rank_change"].tolist()
    self_zh = written["self-zh"]
    page = self_zh.files["html"].read_text(encoding="utf-8")
    others = set(card["district"]) - {self_zh.report.district}
    assert not [d for d in others if d in page]
