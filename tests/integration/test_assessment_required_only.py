"""The quarterly progress report and a district's self-assessment on projects with the required
columns only (no budgets, no origin codes, no service records): a cut of the small demo city
and the real-data project of central Guixi. Their first run is reported as such, and the
funding part says why it is absent, in both languages."""

from __future__ import annotations

import html
import re
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from coverage.engine.quarter import read_quarter
from coverage.measures.availability import reason_text
from coverage.messages import catalogue
from coverage.report import make_assessment_report
from minimal import partial_project
from realdata import build_guixi_project


def _visible(page: str) -> str:
    return html.unescape(re.sub(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", " ", page, flags=re.S))


def _check(folder: Path, district: str) -> None:
    """Both kinds in both languages: a first run, funding absent with its reason."""
    for lang in ("zh", "en"):
        texts = catalogue("report", lang)
        files = make_assessment_report(folder, "self-assessment", district=district, lang=lang,
                                       formats=("html", "xlsx"))
        page = _visible(files["html"].read_text(encoding="utf-8"))
        assert reason_text("no-budgets", lang) in page
        assert texts["txt_no_previous"] in page
        assert texts["sec_sa_funding"] in page and texts["sec_sa_actions"] in page
        others = set(read_quarter(folder).districts) - {district}
        assert not [d for d in others if d in page]
        files = make_assessment_report(folder, "progress", lang=lang, formats=("html", "xlsx"))
        sheet = list(openpyxl.load_workbook(files["xlsx"])[texts["sheet_sc_ranking"]]
                     .iter_rows(values_only=True))
        card = read_quarter(folder).scorecard.drop_duplicates("district").set_index("district")
        shown = pd.DataFrame(sheet[1:], columns=sheet[0])
        assert len(shown) == len(card) and len(shown.columns) == 5  # nothing to compare
        scores = shown.set_index(texts["col_sc_district"])[texts["col_sc_score"]]
        assert scores.to_numpy(float) == pytest.approx(
            card.loc[scores.index, "score"].to_numpy(float), nan_ok=True)
        if lang == "zh":  # no English word but the data's (ids of service points)
            layers = read_quarter(folder).layers
            data = " ".join(str(v) for name in ("recommended_sites", "recommended_staff")
                            if name in layers for c in layers[name].columns
                            if layers[name][c].dtype.kind in "OT"
                            for v in layers[name][c].dropna())
            words = set(re.findall(r"[A-Za-z][A-Za-z_]+", page))
            stray = words - set(re.findall(r"[A-Za-z][A-Za-z_]+", data)) - {"UTC", "Partial",
                                                                            "project"}
            assert not {w for w in stray if not re.fullmatch(r"[a-f0-9]+", w)}, sorted(stray)


def test_the_small_demo_with_the_required_columns_only(small_demo: Path, tmp_path: Path):
    folder = partial_project(small_demo, tmp_path / "partial", communities=16)
    district = str(gpd.read_file(folder / "communities.gpkg")["district"].iloc[0])
    _check(folder, district)


def test_central_guixi(tmp_path: Path):
    folder = build_guixi_project(tmp_path / "guixi", n_migrants=400)
    district = str(pd.read_csv(folder / "communities.csv", dtype=str)["区县"].iloc[0])
    _check(folder, district)
