"""Reports (HTML, XLSX, PDF) of the demo city, and that nothing personal leaves the tool."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from scipy.spatial import cKDTree

from browser import CHROMIUM
from console_script import run_here
from coverage.measures.indicators import indicator_names
from coverage.messages import catalogue
from coverage.report import FORMATS, ReportError, build_report, report_filename, write_report

SCRIPT = Path(sys.executable).with_name("coverage")
CJK = re.compile(r"[\u4e00-\u9fff]")
CITY_ZH = {f: report_filename(f, lang="zh") for f in FORMATS}
"""The files ``coverage demo`` writes: the city report in Chinese."""


@pytest.fixture(scope="module")
def demo_run(demo_city: Path) -> Path:
    """The demo city after ``coverage demo`` (results and reports written)."""
    return demo_city


@pytest.fixture(scope="module")
def layers(demo_run: Path) -> dict[str, pd.DataFrame]:
    gpkg = demo_run / "results" / "results.gpkg"
    return {name: pyogrio.read_dataframe(gpkg, layer=name) for name, _ in
            pyogrio.list_layers(gpkg)}


def test_demo_writes_the_three_reports(demo_run: Path):
    for f in FORMATS:
        path = demo_run / "results" / CITY_ZH[f]
        assert path.name == f"report-city-zh.{f}"
        assert path.stat().st_size > 10_000, path
    assert (demo_run / "results" / "recommended_scenario.json").exists()


def test_pdf_embeds_a_cjk_font_and_holds_chinese(demo_run: Path):
    from pypdf import PdfReader

    reader = PdfReader(demo_run / "results" / CITY_ZH["pdf"])
    fonts = set()
    for page in reader.pages:
        for font in (page.get("/Resources") or {}).get("/Font", {}).values():
            font = font.get_object()
            for desc in font.get("/DescendantFonts", [font]):
                desc = desc.get_object()
                fd = desc.get("/FontDescriptor")
                if fd is not None:
                    fd = fd.get_object()
                    embedded = any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                    fonts.add((str(desc.get("/BaseFont")), embedded))
    assert any("CJK" in name and embedded for name, embedded in fonts), fonts
    text = reader.pages[0].extract_text()
    assert "流动人口" in text and "报告" in text
    assert len(reader.pages) >= 5


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) missing")
def test_pdf_pages_render(demo_run: Path, tmp_path: Path):
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2",
                    str(demo_run / "results" / CITY_ZH["pdf"]), str(tmp_path / "p")], check=True)
    from PIL import Image

    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 2
    ink = np.asarray(Image.open(pages[0]).convert("L")) < 128
    assert 0.002 < ink.mean() < 0.5  # text on a white page


def test_html_is_self_contained(demo_run: Path):
    page = (demo_run / "results" / CITY_ZH["html"]).read_text(encoding="utf-8")
    # nothing the browser loads comes from the network, but the base-map tiles
    assert not re.search(r"<(script|link|img|iframe)\b[^>]+(src|href)=\"https?://", page)
    assert not re.search(r"url\(\s*['\"]?https?://", page)
    assert "Leaflet 1.9.3" in page  # bundled, inline
    tiles = re.findall(r"L\.tileLayer\(\s*\"([^\"]+)\"", page)
    assert tiles and {re.sub(r"^https?://([^/]+)/.*", r"\1", t) for t in tiles} == {
        "tile.openstreetmap.org"}


def test_report_languages(layers):
    zh = build_report(layers, project_name="Demo", lang="zh")
    en = build_report(layers, project_name="Demo", lang="en")
    assert CJK.search(zh.title) and not CJK.search(en.title)
    assert [s.key for s in zh.sections] == [s.key for s in en.sections]
    for tz, te in zip(zh.tables(), en.tables(), strict=True):
        assert tz.key == te.key
        heads = list(te.labels.values())
        assert not any(CJK.search(h) for h in heads), (te.key, heads)
        numbers = [c for c in tz.frame.columns if tz.formats.get(c) in {
            "int", "pct", "pp", "f1", "f2", "coord", "row", "row_change"}]
        pd.testing.assert_frame_equal(tz.frame[numbers], te.frame[numbers])


def test_district_report_and_unknown_district(layers):
    district = layers["district_summary"].query("level == 'district'")["district"].iloc[0]
    report = build_report(layers, project_name="Demo", district=district, lang="en")
    assert district in report.title
    ranking = report.section("rankings").tables[0].frame
    assert set(ranking["district"]) == {district}
    with pytest.raises(ReportError, match="not in the results; districts:"):
        build_report(layers, project_name="Demo", district="no such district")


def test_cli_report_district(demo_run: Path, layers, tmp_path: Path,
                             capfd: pytest.CaptureFixture[str]):
    district = layers["district_summary"].query("level == 'district'")["district"].iloc[0]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run([str(SCRIPT), "report", str(demo_run), "--district", district,
                           "--format", "html,xlsx", "--lang", "en", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"report-district-{district}-en.html").exists()
    assert (tmp_path / f"report-district-{district}-en.xlsx").exists()
    # the usage errors through the console script's entry point, here
    bad = run_here(capfd, "report", str(demo_run), "--district", "nowhere", "--format", "html",
                   "--out", str(tmp_path))
    assert bad.returncode == 2  # a usage error
    assert "nowhere" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    fmt = run_here(capfd, "report", str(demo_run), "--format", "docx")
    assert fmt.returncode == 2 and "docx" in fmt.stderr


# ------------------------------------------------------------------------------------------
# XLSX values are the results' values

#: table → (result layer, [(sheet column, layer column)] identifying a row, row filter)
_KEYS = {
    "shortfall": ("community_summary", [("community_id", "community_id")], None),
    "gap": ("community_summary", [("community_id", "community_id")], None),
    "new_sites": ("recommended_sites", [("candidate_id", "candidate_id")], None),
    "new_staff": ("recommended_staff", [("site_id", "site_id")], None),
    "warnings": ("inflow_trends", [("community_id", "unit_id")], ("unit", "community")),
    "districts": ("district_summary", [("unit_name", "district")], None),
}


def _sheet(wb: openpyxl.Workbook, key: str, lang: str = "zh") -> pd.DataFrame:
    """The sheet of table ``key`` (sheet names are in the report's language)."""
    rows = list(wb[catalogue("report", lang)[f"sheet_{key}"]].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def _columns_of(wb: openpyxl.Workbook) -> dict[str, dict[str, str]]:
    """Sheet → header → result column, from the index sheet."""
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] in {"工作表", "Sheet"})
    out: dict[str, dict[str, str]] = {}
    for sheet, _layer, header, column in rows[start + 1:]:
        out.setdefault(sheet, {})[header] = column
    return out


def test_xlsx_values_equal_results_gpkg(demo_run: Path, layers):
    wb = openpyxl.load_workbook(demo_run / "results" / CITY_ZH["xlsx"])
    columns = _columns_of(wb)
    names = catalogue("report", "zh")
    assert wb.sheetnames[0] == names["sheet_about"]
    assert not [n for n in wb.sheetnames if re.search(r"[A-Za-z]", n)], wb.sheetnames
    checked = 0
    for sheet, (layer, keys, where) in _KEYS.items():
        if names[f"sheet_{sheet}"] not in wb.sheetnames:
            continue
        frame = _sheet(wb, sheet).rename(columns=columns[names[f"sheet_{sheet}"]])
        source = pd.DataFrame(layers[layer])
        if where:
            source = source[source[where[0]] == where[1]]
        if sheet == "districts":
            frame["unit_name"] = frame["unit_name"].replace({"全市": "全市"})
        source = source.set_index([k for _, k in keys])
        for _, row in frame.iterrows():
            key = tuple(row[s] for s, _ in keys)
            key = key[0] if len(key) == 1 else key
            if key not in source.index:
                assert sheet == "districts" and key in {"全市", "whole city"}, (sheet, key)
                continue
            truth = source.loc[key]
            for col in frame.columns:
                if col in {k for k, _ in keys} or col not in source.columns:
                    continue
                value = row[col]
                if value is None or (isinstance(value, float) and np.isnan(value)):
                    continue  # suppressed, or an empty text
                expected = truth[col]
                if isinstance(value, (int, float)):
                    assert float(value) == pytest.approx(float(expected), rel=1e-12,
                                                         abs=1e-12), (sheet, key, col)
                else:
                    assert str(value) == str(expected), (sheet, key, col)
                checked += 1
    indicators = _sheet(wb, "indicators").rename(columns=columns[names["sheet_indicators"]])
    names = {v: k for k, v in indicator_names("zh").items()}
    city = layers["indicators"].query("level == 'city'").set_index("indicator")
    for _, row in indicators.iterrows():
        truth = city.loc[names[row["indicator_name"]]]
        for col in ("population", "achieved", "value", "target", "people_needed"):
            if row[col] is not None:
                assert float(row[col]) == pytest.approx(float(truth[col]), rel=1e-12)
                checked += 1
    assert checked > 200


def test_pdf_without_a_cjk_font_says_how_to_install_one(layers, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    from coverage.report import figures

    monkeypatch.setenv("COVERAGE_CJK_FONT", str(tmp_path / "missing.otf"))
    figures.cjk_font.cache_clear()
    try:
        report = build_report(layers, project_name="Demo", lang="zh")
        with pytest.raises(ReportError, match="fonts-noto-cjk"):
            write_report(report, tmp_path, ["pdf"])
    finally:
        monkeypatch.delenv("COVERAGE_CJK_FONT")
        figures.cjk_font.cache_clear()


# ------------------------------------------------------------------------------------------
# Nothing personal in any output file


def _text_of(path: Path) -> str:
    """All the text of an output file, whatever its format."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from pypdf import PdfReader

        return "\n".join(p.extract_text() or "" for p in PdfReader(path).pages)
    if suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    if suffix == ".gpkg":
        parts = []
        for name, _ in pyogrio.list_layers(path):
            frame = pyogrio.read_dataframe(path, layer=name)
            plain = frame.drop(columns="geometry", errors="ignore")
            parts.append(plain.to_csv(index=False))
        return "\n".join(parts)
    return path.read_text(encoding="utf-8", errors="replace")


def _vertices(path: Path) -> np.ndarray:
    """Every geometry vertex of a GeoPackage (study CRS), or (lon, lat) pairs of an HTML file."""
    if path.suffix == ".gpkg":
        out = [np.empty((0, 2))]
        for name, geom_type in pyogrio.list_layers(path):
            if geom_type:
                frame = pyogrio.read_dataframe(path, layer=name)
                out.append(shapely.get_coordinates(frame.geometry.to_numpy()))
        return np.vstack(out)
    if path.suffix == ".html":
        pairs = re.findall(r"\[\s*(-?\d+\.\d+)\s*,\s*(-?\d+\.\d+)\s*\]", _text_of(path))
        return np.array(pairs, dtype=float).reshape(-1, 2)
    return np.empty((0, 2))


def test_no_output_file_holds_person_ids_or_residences(demo_run: Path):
    from coverage.io.loaders import load_study

    migrants_csv = pd.read_csv(demo_run / "migrants.csv", dtype=str, encoding="utf-8-sig")
    ids = set(migrants_csv["人员编号"])
    lon_text = set(migrants_csv["经度"]) | set(migrants_csv["纬度"])
    lonlat = migrants_csv[["经度", "纬度"]].astype(float).to_numpy()
    study = load_study(demo_run)
    xy = shapely.get_coordinates(study.migrants.geometry.to_numpy())
    trees = {"lonlat": cKDTree(lonlat), "xy": cKDTree(xy)}
    outputs = [p for p in (demo_run / "results").rglob("*") if p.is_file()]
    assert {p.suffix for p in outputs} >= {".gpkg", ".csv", ".html", ".xlsx", ".pdf", ".json"}
    id_pattern = re.compile(r"M\d{7}")
    number = re.compile(r"-?\d+\.\d+")
    # the coordinates of the recommended service points (public places, shown so they can be
    # found, also inside their web-map links) are no residence, whatever digits they share
    public: set[str] = set()
    for layer in ("recommended_sites", "recommended_staff"):
        sites = pyogrio.read_dataframe(demo_run / "results" / "results.gpkg", layer=layer)
        place = [c for c in sites.columns if c.startswith(("lon_", "lat_", "map_link"))]
        public |= set(number.findall(sites[place].astype(str).to_csv(index=False)))
        public |= {f"{float(v):.5f}" for c in place if c != "map_link" for v in sites[c]}
    for path in outputs:
        text = _text_of(path)
        leaked = ids & set(id_pattern.findall(text))
        assert not leaked, (path.name, sorted(leaked)[:3])
        exact = (lon_text & set(number.findall(text))) - public
        # a residence's own coordinate text, as a whole number in a table cell or a JSON value
        assert not exact, (path.name, sorted(exact)[:3])
        vertices = _vertices(path)
        if len(vertices):
            tree, tol = (trees["xy"], 0.01) if path.suffix == ".gpkg" else (
                trees["lonlat"], 1e-7)
            dist, _ = tree.query(vertices, k=1)
            assert (dist > tol).all(), (path.name, int((dist <= tol).sum()))


def test_private_layer_only_on_request(demo_run: Path, tmp_path: Path):
    assert not (demo_run / "results" / "private").exists()
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run([str(SCRIPT), "run", str(demo_run), "--person-level", "--out",
                           str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    private = pd.read_csv(tmp_path / "private" / "migrant_access.csv", encoding="utf-8-sig")
    assert len(private) == 20_000 and private["person_id"].str.match(r"M\d{7}").all()
    public = [name for name, _ in pyogrio.list_layers(tmp_path / "results.gpkg")]
    assert "migrant_access" not in public




@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run does)")
def test_html_maps_draw_in_a_browser(demo_run: Path):
    from playwright.sync_api import sync_playwright

    page_file = demo_run / "results" / CITY_ZH["html"]
    n_maps = page_file.read_text(encoding="utf-8").count('<figure class="map"')
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("http*://**", lambda route: route.abort())  # tiles: offline here
            page.goto(page_file.as_uri())
            page.wait_for_function(
                f"document.querySelectorAll('.leaflet-container').length === {n_maps}")
            drawn = page.evaluate("""() => [...document.querySelectorAll('.leaflet-container')]
                .map(m => m.querySelectorAll('path, canvas').length)""")
            legends = page.evaluate("""() => [...document.querySelectorAll('.leaflet-container')]
                .map(m => m.querySelectorAll('.legend svg').length)""")
        finally:
            browser.close()
    assert not errors, errors
    assert n_maps >= 6 and all(n > 0 for n in drawn), drawn
    assert max(legends) <= 1, legends  # each colour scale sits on its own map


def test_results_are_reused_only_while_inputs_and_parameters_match(demo_run: Path, tmp_path):
    from coverage.engine.provenance import is_current
    from coverage.io.project import load_project

    info = pyogrio.read_dataframe(demo_run / "results" / "results.gpkg", layer="run_info")
    project = load_project(demo_run)
    assert is_current(info, project, "walk")
    assert not is_current(info, project, "ebike")
    copy = tmp_path / "city"
    shutil.copytree(demo_run, copy, ignore=shutil.ignore_patterns("results"))
    assert is_current(info, load_project(copy), "walk")
    sites = copy / "sites.csv"
    sites.write_bytes(sites.read_bytes() + b"\n")
    assert not is_current(info, load_project(copy), "walk")
    toml = copy / "project.toml"
    shutil.copy(demo_run / "sites.csv", sites)
    text = toml.read_text(encoding="utf-8")
    assert "max_snap_m = 500" in text
    toml.write_text(text.replace("max_snap_m = 500", "max_snap_m = 400"), encoding="utf-8")
    assert not is_current(info, load_project(copy), "walk")


def test_a_report_for_every_district_of_the_demo_city(demo_city: Path, tmp_path: Path):
    """Each district of the unchanged demo city, one without under-served clusters among them
    (莞城区), gets its report."""
    import pyogrio

    from coverage.report import make_report

    summary = pyogrio.read_dataframe(demo_city / "results" / "results.gpkg",
                                     layer="community_summary", read_geometry=False)
    districts = sorted(summary["district"].astype(str).unique())
    assert "莞城区" in districts
    for district in districts:
        made = make_report(demo_city, district=district, formats=["html"],
                           out=tmp_path / district)
        page = Path(made["html"]).read_text(encoding="utf-8")
        assert district in page and len(page) > 10_000
