"""Optional means optional: any subset of the optional columns and layers runs every command.

Hypothesis draws which optional columns of each layer and which optional layers a project has
(cut from the small demo city by :mod:`minimal`), then checks that a project ``validate``
passes never makes ``run`` raise, that the required result layers are there, and that each
analysis is skipped exactly when its data is missing, with the reason recorded in ``run_info``.
A second property runs the rest of the chain (recommend, report in HTML and XLSX, one add-site
in a planning session) on fewer drawn projects. Besides the drawn projects the first property
always runs the two ends, every optional column and layer and none of them, so that each check
is seen both ways, and the second the project with none; the numbers of drawn examples can be
raised with ``COVERAGE_PROPERTY_EXAMPLES`` (the long run: 200 and more).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from minimal import (
    COMMUNITIES_OPTIONAL,
    MIGRANTS_OPTIONAL,
    OPTIONAL_LAYERS,
    SITES_OPTIONAL,
    partial_project,
)

EXAMPLES = int(os.environ.get("COVERAGE_PROPERTY_EXAMPLES", "0"))
RUN_EXAMPLES = EXAMPLES or 10  # drawn, besides EVERYTHING and NOTHING
CHAIN_EXAMPLES = max(EXAMPLES // 10, 3)
GUIXI_EXAMPLES = max(EXAMPLES // 4, 3)  # drawn, besides the four explicit ones
REQUIRED_RESULTS = ("site_catchments", "community_summary", "district_summary", "indicators",
                    "underserved_clusters", "hotspots", "run_info", "data_quality")
SCRIPT = Path(sys.executable).with_name("coverage")

#: Analysis → the optional migrant columns it needs (all of them).
NEEDS = {
    "inflow_trends": {"arrived_on"},
    "origin_flows": {"hukou_code"},
    "commute_flows": {"work"},
    "workplace_clusters": {"work"},
    "indicator_quarters": {"recorded_on"},
}

choices = st.fixed_dictionaries({
    "migrant_columns": st.sets(st.sampled_from(sorted(MIGRANTS_OPTIONAL))),
    "site_columns": st.sets(st.sampled_from(sorted(SITES_OPTIONAL))),
    "community_columns": st.sets(st.sampled_from(sorted(COMMUNITIES_OPTIONAL))),
    "layers": st.sets(st.sampled_from(OPTIONAL_LAYERS)),
})
#: The two ends of ``choices``: each check of the properties holds one way on each.
EVERYTHING = {"migrant_columns": set(MIGRANTS_OPTIONAL), "site_columns": set(SITES_OPTIONAL),
              "community_columns": set(COMMUNITIES_OPTIONAL), "layers": set(OPTIONAL_LAYERS)}
NOTHING = {"migrant_columns": set(), "site_columns": set(), "community_columns": set(),
           "layers": set()}


def _expected_skips(migrant_columns: set[str], layers: set[str]) -> set[str]:
    skips = {a for a, need in NEEDS.items() if not need <= migrant_columns}
    return skips if "budgets" in layers else skips | {"funding"}


def _recorded(info: pd.DataFrame, prefix: str) -> set[str]:
    keys = info["key"].astype(str)
    return {k.split(":", 1)[1] for k in keys if k.startswith(prefix + ":")}


@settings(max_examples=RUN_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # shrinking reruns whole jobs
@given(choice=choices)
@example(choice=EVERYTHING)
@example(choice=NOTHING)
def test_validate_then_run_never_raises(small_demo: Path, choice: dict) -> None:
    from coverage.engine.run import run_study
    from coverage.io.loaders import validate_project

    with tempfile.TemporaryDirectory() as tmp:
        project = partial_project(small_demo, Path(tmp) / "p", communities=5, **choice)
        problems = validate_project(project)
        assert not problems.errors, [str(p) for p in problems.errors]
        results = run_study(project)
    layers = results.layers()
    for name in REQUIRED_RESULTS:
        assert name in layers, name
    expected = _expected_skips(set(choice["migrant_columns"]), set(choice["layers"]))
    skipped = _recorded(layers["run_info"], "skipped")
    assert {a for a in skipped if not a.startswith("indicator:")} == expected
    for analysis in NEEDS:
        if analysis == "indicator_quarters":
            continue
        assert (analysis in layers) == (analysis not in expected), analysis
    assert ("funding" in layers) == ("budgets" in choice["layers"])
    records = {"policy_awareness": "policy_aware", "free_service_local": "free_service_local",
               "contraceptive_access": "contraceptive_access"}  # indicator → its record
    for key, record in records.items():
        assert (f"indicator:{key}" in skipped) == (record not in choice["migrant_columns"])
    estimated = _recorded(layers["run_info"], "estimated")
    assert ("registered_comparison" in estimated) == ("registered_points" not in
                                                       choice["layers"])
    city = layers["indicators"].query("level == 'city'").set_index("indicator")["value"]
    for key, record in records.items():
        if record in choice["migrant_columns"]:
            assert pd.notna(city[key]), key  # what can be computed is computed


@settings(max_examples=CHAIN_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # shrinking reruns whole jobs
@given(choice=choices)
@example(choice=NOTHING)  # (the demo city itself is the other end)
def test_recommend_report_and_session_work_on_any_subset(small_demo: Path, choice: dict) -> None:
    from coverage.engine.recommend import recommend
    from coverage.engine.run import run_study, write_results
    from coverage.engine.scenario import ScenarioModel
    from coverage.engine.session import PlanningSession
    from coverage.measures.availability import analysis_name
    from coverage.report import make_report

    with tempfile.TemporaryDirectory() as tmp:
        project = partial_project(small_demo, Path(tmp) / "p", communities=5, **choice)
        write_results(run_study(project))
        rec = recommend(ScenarioModel(project), new_sites=1, new_staff=2)
        assert "recommended_sites" in rec.layers and "recommended_staff" in rec.layers
        paths = make_report(project, formats=["html", "xlsx"], lang="zh")
        page = paths["html"].read_text(encoding="utf-8")
        skips = _expected_skips(set(choice["migrant_columns"]), set(choice["layers"]))
        for analysis in skips - {"indicator_quarters"}:
            assert analysis_name(analysis, "zh") in page, analysis
        if "arrived_on" not in choice["migrant_columns"]:
            assert "未计算：缺少来本地日期" in page
        session = PlanningSession.open(project)
        sites = session.sites().to_crs(4326)
        before = len(sites)
        x, y = float(sites.geometry.x.mean()), float(sites.geometry.y.mean())
        session.add_site(x, y, staff=2.0)
        assert len(session.sites()) == before + 1
        assert pd.notna(session.city()["e2sfca_mean_migrant"])


def test_minimal_project_through_the_cli(small_demo: Path, tmp_path: Path) -> None:
    """Required columns only: every command works and says what it did not compute."""
    project = partial_project(small_demo, tmp_path / "minimal", communities=8)
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env,
                              timeout=600, check=False)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        assert "Traceback" not in done.stdout + done.stderr
        return done

    cli("validate", str(project))
    run = cli("run", str(project)).stdout
    assert "未计算或估算的分析" in run
    assert "流入趋势与预警: 未计算：缺少来本地日期" in run
    assert "通勤流向: 未计算：缺少工作地坐标" in run
    assert "流动人口与户籍人口对比: 估算" in run
    assert "经费同等标准投入: 未计算：缺少各区计划生育经费" in run
    english = cli("run", str(project), "--lang", "en").stdout
    assert "Inflow trends and early warning: not computed: no arrival dates" in english
    cli("recommend", str(project), "--new-sites", "1", "--new-staff", "2")
    scenario = tmp_path / "scenario.json"
    scenario.write_text('{"name": "none", "edits": []}', encoding="utf-8")
    cli("simulate", str(project), str(scenario))
    for lang in ("zh", "en"):
        out = tmp_path / f"report-{lang}"
        cli("report", str(project), "--format", "html,xlsx", "--lang", lang, "--out", str(out))
        page = (out / f"report-city-{lang}.html").read_text(encoding="utf-8")
        reason = "未计算：缺少户籍地代码" if lang == "zh" else "not computed: no hukou origin codes"
        assert reason in page
    from openpyxl import load_workbook

    about = load_workbook(tmp_path / "report-en" / "report-city-en.xlsx").worksheets[0]
    cells = [str(c.value) for row in about.iter_rows() for c in row if c.value]
    assert "Analyses not computed or estimated" in cells
    assert any(c.startswith("Commuting flows: not computed") for c in cells)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_minimal_project_pdf(small_demo: Path, tmp_path: Path, lang: str) -> None:
    """The PDF says which sections were not computed, in the section where they would be."""
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    from coverage.report import ReportError, make_report

    project = partial_project(small_demo, tmp_path / "minimal", communities=8)
    try:
        path = make_report(project, formats=["pdf"], lang=lang)["pdf"]
    except ReportError as exc:  # no CJK font on this machine
        pytest.skip(str(exc))
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(path).pages]
    trends = "未计算：缺少来本地日期" if lang == "zh" else "not computed: no arrival dates"
    origins = "未计算：缺少户籍地代码" if lang == "zh" else "not computed: no hukou origin codes"
    # each in its own section (trends, then origins), and again in the methods' list
    assert sum(trends in p for p in pages) >= 1 and sum(origins in p for p in pages) >= 1
    assert any(trends in p and origins in p for p in pages[-3:])


@pytest.mark.browser
def test_app_on_a_minimal_project(small_demo: Path, tmp_path: Path) -> None:
    """The app opens a project with required columns only, says what it lacks, and edits."""
    from appserver import run_app
    from browser import ARGS, CHROMIUM
    from test_app import _card, _map_box

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run does)")
    from playwright.sync_api import expect, sync_playwright

    project = partial_project(small_demo, tmp_path / "minimal", communities=8)
    errors: list[str] = []
    with run_app(project) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("http*://*.openstreetmap.org/**", lambda route: route.abort())
            page.goto(url + "/")
            page.wait_for_selector(".cov-card[data-key=indicators]", timeout=60_000)
            expect(page.locator(".cov-card[data-key=sites] .cov-card-value")).not_to_have_text(
                "…", timeout=60_000)
            indicators = page.locator(".cov-card[data-key=indicators]")
            assert indicators.locator(".cov-card-value").inner_text().endswith("/ 1")
            assert "6 项未计算" in indicators.inner_text()
            assert "估算" in page.locator(".cov-card[data-key=registered]").inner_text()
            unavailable = page.locator(".cov-unavailable")
            expect(unavailable).to_contain_text("户籍地流向: 未计算：缺少户籍地代码")
            assert page.get_by_role("checkbox", name="户籍地流向").count() == 0
            table = page.locator("table").filter(has_text="政策知晓率").first
            expect(table).to_contain_text("未计算：缺少该项服务记录")
            page.get_by_role("button", name="5", exact=True).click()  # 15 min reaches all here
            expect(page.locator(".cov-card[data-key=coverage]")).to_contain_text("5 分钟")
            baseline, _ = _card(page, "coverage")
            box = _map_box(page)
            status = page.locator(".cov-status")
            changed = False
            for fx, fy in ((0.5, 0.5), (0.3, 0.3), (0.7, 0.7), (0.2, 0.8), (0.8, 0.2)):
                before = status.inner_text()
                page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
                try:
                    expect(status).not_to_have_text(before, timeout=10_000)
                except AssertionError:
                    continue
                if _card(page, "coverage")[0] != baseline:
                    changed = True
                    break
            page.screenshot(path=str(tmp_path / "minimal-app.png"))
            assert changed, (status.inner_text(), str(tmp_path / "minimal-app.png"))
            if os.environ.get("COVERAGE_SCREENSHOTS"):
                page.screenshot(path=str(Path(os.environ["COVERAGE_SCREENSHOTS"])
                                         / "app-minimal.png"))
            page.get_by_role("button", name="English").click()
            expect(page.locator(".cov-unavailable")).to_contain_text(
                "not computed: no hukou origin codes", timeout=20_000)
            assert "6 not computed" in page.locator(
                ".cov-card[data-key=indicators]").inner_text()
        finally:
            browser.close()
    assert not errors, errors


# ------------------------------------------------------------------------------------------
# the same on a real OpenStreetMap extract (Guixi), with synthetic optional columns


def _add_migrant_columns(folder: Path, chosen: set[str], seed: int) -> None:
    """Give the Guixi project's migrants some optional columns, with plausible values."""
    import numpy as np

    rng = np.random.default_rng(seed)
    path = folder / "migrants.csv"
    frame = pd.read_csv(path, dtype=str, encoding="utf-8", keep_default_na=False)
    n = len(frame)
    if "sex" in chosen:
        frame["性别"] = rng.choice(["男", "女"], n)
    if "birth_year" in chosen:
        frame["出生年份"] = rng.integers(1960, 2010, n).astype(str)
    if "marital_status" in chosen:
        frame["婚姻状况"] = rng.choice(["已婚", "未婚"], n)
    if "hukou_code" in chosen:
        frame["户籍地代码"] = rng.choice(["360600", "430100", "350100", "440300"], n)
    if "arrived_on" in chosen:
        days = rng.integers(0, 3 * 365, n)
        frame["来本地日期"] = (pd.Timestamp("2023-01-01") + pd.to_timedelta(days, "D")).strftime(
            "%Y-%m-%d")
    if "work" in chosen:
        lon = frame["经度"].astype(float).to_numpy()
        lat = frame["纬度"].astype(float).to_numpy()
        frame["工作地经度"] = (lon + rng.normal(0, 0.01, n)).round(6).astype(str)
        frame["工作地纬度"] = (lat + rng.normal(0, 0.01, n)).round(6).astype(str)
    if "policy_aware" in chosen:
        frame["政策知晓"] = rng.choice(["是", "否", ""], n)
    frame.to_csv(path, index=False, encoding="utf-8")


guixi_choices = st.fixed_dictionaries({
    "seed": st.integers(0, 10_000),
    "n_migrants": st.integers(30, 1500),
    "n_sites": st.integers(2, 16),
    "communities_as_table": st.booleans(),
    "columns": st.sets(st.sampled_from(["sex", "birth_year", "marital_status", "hukou_code",
                                        "arrived_on", "work", "policy_aware"])),
    "objective": st.sampled_from(["coverage", "distance", "target"]),
})


@settings(max_examples=GUIXI_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(choice=guixi_choices)
@example(choice={"seed": 8758, "n_migrants": 127, "n_sites": 14, "communities_as_table": False,
                 "columns": {"arrived_on", "birth_year", "policy_aware", "work", "sex",
                             "marital_status", "hukou_code"},
                 "objective": "coverage"})  # a site reaching nobody used to stop recommend
@example(choice={"seed": 756, "n_migrants": 296, "n_sites": 5, "communities_as_table": False,
                 "columns": {"work"}, "objective": "distance"})  # people beyond every reach
@example(choice={"seed": 11, "n_migrants": 30, "n_sites": 11, "communities_as_table": True,
                 "columns": {"hukou_code", "policy_aware", "work"},
                 "objective": "distance"})  # 8 people needed: derived, not a small cell
@example(choice={"seed": 3, "n_migrants": 400, "n_sites": 4, "communities_as_table": True,
                 "columns": set(), "objective": "target"})  # no optional column, a target
def test_guixi_projects_validate_run_recommend_and_report(choice: dict) -> None:
    from coverage.engine.preflight import check_project
    from coverage.engine.recommend import recommend
    from coverage.engine.run import run_study, write_results
    from coverage.engine.scenario import ScenarioModel
    from coverage.engine.session import PlanningSession
    from coverage.report import make_report
    from realdata import GUIXI_OSM, build_guixi_project

    if not Path(GUIXI_OSM).exists():
        pytest.skip(f"reference data not found at {GUIXI_OSM}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_guixi_project(Path(tmp) / "g", seed=choice["seed"],
                                     n_migrants=choice["n_migrants"], n_sites=choice["n_sites"],
                                     communities_as_table=choice["communities_as_table"])
        _add_migrant_columns(folder, choice["columns"], choice["seed"])
        problems = check_project(folder)
        if problems.errors:  # e.g. too few residences to approximate every community
            assert all(p.rule in {"communities-without-geometry", "community-without-migrants"}
                       for p in problems.errors), [str(p) for p in problems.errors]
            return
        results = run_study(folder)
        layers = results.layers()
        for name in REQUIRED_RESULTS:
            assert name in layers, name
        skipped = _recorded(layers["run_info"], "skipped")
        assert ("inflow_trends" in skipped) == ("arrived_on" not in choice["columns"])
        assert ("origin_flows" in skipped) == ("hukou_code" not in choice["columns"])
        assert ("commute_flows" in skipped) == ("work" not in choice["columns"])
        write_results(results)
        rec = recommend(ScenarioModel(folder), new_sites=1, new_staff=1,
                        objective=choice["objective"])
        assert "recommended_sites" in rec.layers
        paths = make_report(folder, formats=["html", "xlsx"], lang="en")
        assert paths["html"].stat().st_size > 0
        session = PlanningSession.open(folder)
        sites = session.sites().to_crs(4326)
        session.add_site(float(sites.geometry.x.mean()), float(sites.geometry.y.mean()))
        assert len(session.sites()) == len(sites) + 1


def _edit_csv(path: Path, encoding: str, change) -> None:
    frame = pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)
    change(frame).to_csv(path, index=False, encoding=encoding)


@pytest.mark.parametrize("case", ["no-staff", "one-migrant", "one-site", "no-registered"])
def test_extreme_but_valid_projects_run(small_demo: Path, tmp_path: Path, case: str) -> None:
    """Valid extremes (all staff 0, a single migrant or site, no registered residents) run."""
    import geopandas as gpd

    from coverage.engine.preflight import check_project
    from coverage.engine.recommend import recommend
    from coverage.engine.run import run_study, write_results
    from coverage.engine.scenario import ScenarioModel
    from coverage.report import make_report

    project = partial_project(small_demo, tmp_path / "p", communities=6)
    if case == "no-staff":
        _edit_csv(project / "sites.csv", "gb18030", lambda f: f.assign(人员="0"))
    elif case == "one-migrant":
        _edit_csv(project / "migrants.csv", "utf-8-sig", lambda f: f.iloc[:1])
    elif case == "one-site":
        _edit_csv(project / "sites.csv", "gb18030", lambda f: f.iloc[:1])
    else:
        comm = gpd.read_file(project / "communities.gpkg")
        comm.assign(registered_pop=0).to_file(project / "communities.gpkg", driver="GPKG")
    assert not check_project(project).errors
    results = run_study(project)
    write_results(results)
    if case == "one-migrant":
        assert results.skipped["hotspots"] == "too-few-cells"
        assert "hotspots" not in results.layers()
    recommend(ScenarioModel(project), new_sites=1, new_staff=1)
    page = make_report(project, formats=["html"], lang="en")["html"].read_text(encoding="utf-8")
    if case == "one-migrant":
        assert "not computed: migrants live in fewer than 2 hexagons" in page
