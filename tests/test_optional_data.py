"""Optional means optional: any subset of the optional columns and layers runs every command.

Hypothesis draws which optional columns of each layer and which optional layers a project has
(cut from the small demo city by :mod:`minimal`), then checks that a project ``validate``
passes never makes ``run`` raise, that the required result layers are there, and that each
analysis is skipped exactly when its data is missing, with the reason recorded in ``run_info``.
A second property runs the rest of the chain (recommend, report in HTML and XLSX, one add-site
in a planning session) on fewer drawn projects; both numbers of examples can be raised with
``COVERAGE_PROPERTY_EXAMPLES`` (the long run: 200 and more).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from minimal import (
    COMMUNITIES_OPTIONAL,
    MIGRANTS_OPTIONAL,
    OPTIONAL_LAYERS,
    SITES_OPTIONAL,
    partial_project,
)

EXAMPLES = int(os.environ.get("COVERAGE_PROPERTY_EXAMPLES", "0"))
RUN_EXAMPLES = EXAMPLES or 40
CHAIN_EXAMPLES = max(EXAMPLES // 10, 6)
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


def _expected_skips(migrant_columns: set[str]) -> set[str]:
    return {a for a, need in NEEDS.items() if not need <= migrant_columns}


def _recorded(info: pd.DataFrame, prefix: str) -> set[str]:
    keys = info["key"].astype(str)
    return {k.split(":", 1)[1] for k in keys if k.startswith(prefix + ":")}


@settings(max_examples=RUN_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # shrinking reruns whole jobs
@given(choice=choices)
def test_validate_then_run_never_raises(small_demo: Path, choice: dict) -> None:
    from coverage.loaders import validate_project
    from coverage.run import run_study

    with tempfile.TemporaryDirectory() as tmp:
        project = partial_project(small_demo, Path(tmp) / "p", communities=5, **choice)
        problems = validate_project(project)
        assert not problems.errors, [str(p) for p in problems.errors]
        results = run_study(project)
    layers = results.layers()
    for name in REQUIRED_RESULTS:
        assert name in layers, name
    expected = _expected_skips(set(choice["migrant_columns"]))
    skipped = _recorded(layers["run_info"], "skipped")
    assert {a for a in skipped if not a.startswith("indicator:")} == expected
    for analysis in NEEDS:
        if analysis == "indicator_quarters":
            continue
        assert (analysis in layers) == (analysis not in expected), analysis
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
def test_recommend_report_and_session_work_on_any_subset(small_demo: Path, choice: dict) -> None:
    from coverage.availability import analysis_name
    from coverage.recommend import recommend
    from coverage.report import make_report
    from coverage.run import run_study, write_results
    from coverage.scenario import ScenarioModel
    from coverage.session import PlanningSession

    with tempfile.TemporaryDirectory() as tmp:
        project = partial_project(small_demo, Path(tmp) / "p", communities=5, **choice)
        write_results(run_study(project))
        rec = recommend(ScenarioModel(project), new_sites=1, new_staff=2)
        assert "recommended_sites" in rec.layers and "recommended_staff" in rec.layers
        paths = make_report(project, formats=["html", "xlsx"], lang="zh")
        page = paths["html"].read_text(encoding="utf-8")
        for analysis in _expected_skips(set(choice["migrant_columns"])) - {"indicator_quarters"}:
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
    english = cli("run", str(project), "--lang", "en").stdout
    assert "Inflow trends and early warning: not computed: no arrival dates" in english
    cli("recommend", str(project), "--new-sites", "1", "--new-staff", "2")
    scenario = tmp_path / "scenario.json"
    scenario.write_text('{"name": "none", "edits": []}', encoding="utf-8")
    cli("simulate", str(project), str(scenario))
    for lang in ("zh", "en"):
        out = tmp_path / f"report-{lang}"
        cli("report", str(project), "--format", "html,xlsx", "--lang", lang, "--out", str(out))
        page = (out / "report.html").read_text(encoding="utf-8")
        reason = "未计算：缺少户籍地代码" if lang == "zh" else "not computed: no hukou origin codes"
        assert reason in page
    from openpyxl import load_workbook

    about = load_workbook(tmp_path / "report-en" / "report.xlsx").worksheets[0]
    cells = [str(c.value) for row in about.iter_rows() for c in row if c.value]
    assert "Analyses not computed or estimated" in cells
    assert any(c.startswith("Commuting flows: not computed") for c in cells)


@pytest.mark.slow
def test_minimal_project_pdf(small_demo: Path, tmp_path: Path) -> None:
    """The PDF says which sections were not computed, in the section where they would be."""
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    from coverage.report import ReportError, make_report

    project = partial_project(small_demo, tmp_path / "minimal", communities=8)
    try:
        path = make_report(project, formats=["pdf"], lang="zh")["pdf"]
    except ReportError as exc:  # no CJK font on this machine
        pytest.skip(str(exc))
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    text = text.replace("\n", "")
    assert "未计算：缺少来本地日期" in text
    assert "未计算：缺少户籍地代码" in text
