"""One naming rule for report files (scope and language), and one clear hint without a font."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest

from coverage.report import make_report, report_filename, report_stem

SCRIPT = Path(sys.executable).with_name("coverage")


def test_names_hold_scope_and_language():
    assert report_filename("pdf", lang="zh") == "report-city-zh.pdf"
    assert report_filename("xlsx", lang="en") == "report-city-en.xlsx"
    assert report_filename("html", lang="zh", district="万江区") == "report-district-万江区-zh.html"
    names = {report_stem(lang=lang, district=d) for lang in ("zh", "en")
             for d in (None, "万江区", "city", "a/b", "a:b", "..")}
    assert len(names) == 12  # never two reports in one file
    for name in names:
        assert not set(name) & set('/\\:*?"<>|') and not name.endswith(".")
    with pytest.raises(ValueError, match="lang"):
        report_stem(lang="fr")


def test_english_report_does_not_overwrite_the_chinese_one(demo_city: Path, tmp_path: Path):
    gpkg = demo_city / "results" / "results.gpkg"
    layers = {n: pyogrio.read_dataframe(gpkg, layer=n) for n, _ in pyogrio.list_layers(gpkg)}
    district = layers["community_summary"]["district"].iloc[0]
    written = {}
    for lang in ("zh", "en"):
        for scope in (None, district):
            paths = make_report(demo_city, layers=layers, lang=lang, district=scope,
                                formats=["xlsx"], out=tmp_path)
            written[lang, scope] = paths["xlsx"]
            assert paths["xlsx"].name == report_filename("xlsx", lang=lang, district=scope)
    assert len({p.name for p in written.values()}) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written.values())
    # the demo named its reports by the same rule
    for f in ("html", "xlsx", "pdf"):
        assert (demo_city / "results" / report_filename(f, lang="zh")).exists()


def test_without_a_cjk_font_one_hint_in_both_languages(demo_city: Path, tmp_path: Path):
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1",
           "COVERAGE_CJK_FONT": str(tmp_path / "no-such-font.otf")}
    done = subprocess.run([str(SCRIPT), "report", str(demo_city), "--format", "html,pdf",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "Glyph" not in output and "warn" not in output.lower()
    assert len(done.stderr.strip().splitlines()) == 2  # the hint, in Chinese and in English
    assert "未找到中文字体" in done.stderr and "no CJK font found" in done.stderr
    assert "fonts-noto-cjk" in done.stderr
    assert (tmp_path / "out" / report_filename("html", lang="zh")).exists()  # written before
