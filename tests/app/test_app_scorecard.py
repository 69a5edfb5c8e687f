"""The scorecard and funding tabs in a real browser (Playwright driving Debian's Chromium).

Every figure the tabs show is checked against the run's own layers, read from the project's
store with the library: the districts' ranking, scores, targets met and each district's parts
(the ``scorecard`` layer), the change since the run before (``scorecard_between``), the
budgets (the ``funding`` layer) and the cost of a service point added on the map (the unit
costs of ``[parameters.funding]``). Two projects: a copy of the demo city whose second run
changes the districts' budgets for migrants (so that some scores go up and some down), and a
project of the required columns only (no budgets, one run).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from appserver import run_app
from browser import ARGS, CHROMIUM
from minimal import partial_project

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


@pytest.fixture(scope="module")
def two_runs(demo_city: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo city (its first run kept) with new budgets for migrants.

    In the latest year, a district whose migrants got less per person than its registered
    residents gets three times its budget for migrants, the others a third of theirs: the
    funding target flips in every district, so the next run's scores go up and down.
    """
    folder = tmp_path_factory.mktemp("two_runs") / "city"
    shutil.copytree(demo_city, folder)
    funding = pd.read_csv(folder / "results" / "funding.csv")
    gaps = funding[funding["level"] == "district"].set_index("district")[
        "funding_gap_per_capita"]
    assert (gaps > 0).any() and (gaps <= 0).any()  # both kinds: arrows up and down
    budgets = pd.read_csv(folder / "budgets.csv", encoding="gb18030")
    latest = budgets["年度"] == budgets["年度"].max()
    factor = np.where(budgets["区"].map(gaps) > 0, 3.0, 1 / 3)
    budgets.loc[latest, "流动人口经费"] = (budgets["流动人口经费"] * factor)[latest].round()
    budgets.to_csv(folder / "budgets.csv", index=False, encoding="gb18030")
    return folder


@pytest.fixture(scope="module")
def no_budgets(demo_city: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project of the required columns only: no budgets, and one run."""
    return partial_project(demo_city, tmp_path_factory.mktemp("no_budgets") / "project")


def _latest(folder: Path) -> tuple[str, dict[str, pd.DataFrame]]:
    """The latest run of the project's store and its scorecard and funding layers."""
    from coverage.io.project import load_project
    from coverage.store import open_store

    with open_store(load_project(folder)) as store:
        run_id = str(store.runs()["run_id"].iloc[-1])
        names = [n for n in ("scorecard", "funding") if n in store.runs()["layers"].iloc[-1]]
        return run_id, store.read_layers(run_id, names)


def _screenshot(page, name: str) -> None:
    """Save a screenshot when ``COVERAGE_SCREENSHOTS`` names a folder."""
    folder = os.environ.get("COVERAGE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(2000)  # let the map finish drawing
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _rows(page, selector: str) -> list[dict[str, str]]:
    """Each row of a table: its ``data-`` attributes and its cells' text (``cells``)."""
    return page.eval_on_selector_all(selector, """rows => rows.map(r => {
        const out = {};
        for (const name of r.getAttributeNames().filter(n => n.startsWith('data-')))
            out[name.slice(5)] = r.getAttribute(name);
        out.cells = [...r.cells].map(c => c.innerText.trim());
        return out;
    })""")


def _number(value: str) -> float:
    return np.nan if value == "" else float(value)


def _open(browser, url: str, errors: list[str]):
    """Open the app's page; its script errors go to ``errors``."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("http*://*.openstreetmap.org/**", lambda route: route.abort())
    page.goto(url)
    page.wait_for_selector(".cov-card[data-key=coverage]", timeout=60_000)
    return page


def _check_ranking(page, scorecard: pd.DataFrame) -> list[dict[str, str]]:
    """The ranking shown is the layer's: its districts by rank, scores and targets met."""
    shown = _rows(page, ".cov-ranking-table tbody tr")
    first = scorecard.drop_duplicates("district").set_index("district")
    assert sorted(r["district"] for r in shown) == sorted(first.index)
    ranks = [int(r["rank"]) for r in shown]
    assert ranks == sorted(ranks)  # the best first
    for row in shown:
        truth = first.loc[row["district"]]
        assert int(row["rank"]) == int(truth["rank"]), row
        assert float(row["score"]) == float(truth["score"]), row
        assert (int(row["met"]), int(row["assessed"])) == (int(truth["met_count"]),
                                                           int(truth["assessed_count"]))
        assert row["cells"][2] == f"{float(truth['score']):,.1f}"
        assert row["cells"][3] == f"{int(truth['met_count'])} / {int(truth['assessed_count'])}"
    return shown


def _check_parts(page, scorecard: pd.DataFrame, district: str, names: dict[str, str]) -> None:
    """The parts shown for ``district`` are its rows of the layer, with the names asked."""
    from playwright.sync_api import expect

    truth = scorecard[scorecard["district"] == district].set_index("indicator")
    expect(page.locator(".cov-scorecard-parts h4")).to_contain_text(district, timeout=20_000)
    shown = _rows(page, ".cov-parts-table tbody tr")
    assert [r["indicator"] for r in shown] == list(truth.index)
    for row in shown:
        t = truth.loc[row["indicator"]]
        assert row["cells"][0] == names[row["indicator"]]
        for key, column in (("value", "value"), ("target", "target"), ("weight", "weight"),
                            ("points", "points"), ("needed", "people_needed")):
            expected = float(t[column]) if pd.notna(t[column]) else np.nan
            assert _number(row[key]) == pytest.approx(expected, nan_ok=True, abs=0), (row, key)
        assert row["met"] == ("" if not bool(t["assessed"]) else str(bool(t["met"])).lower())
        bar = page.locator(f".cov-parts-table tr[data-indicator={row['indicator']}] "
                           ".cov-bar-fill").get_attribute("style")
        share = 0.0 if pd.isna(t["points"]) else 100 * float(t["points"]) / float(t["weight"])
        assert bar == f"width:{share:.1f}%"


def test_scorecard_and_funding_tabs_show_the_runs_figures(two_runs: Path):
    from playwright.sync_api import expect, sync_playwright

    from coverage.engine.scorecard import scorecard_between
    from coverage.io.project import load_project
    from coverage.publish.labels import column_label, scorecard_names

    project = load_project(two_runs)
    errors: list[str] = []
    with run_app(two_runs, log_on_error=True) as url, sync_playwright() as p:
        run_id, layers = _latest(two_runs)  # the run the server made at start
        scorecard, funding = layers["scorecard"], layers["funding"]
        trend = scorecard_between(project, run_id).set_index("district")
        assert (trend["score_change"] > 0).any() and (trend["score_change"] < 0).any()
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = _open(browser, url + "/", errors)
            page.locator(".bk-tab", has_text="考核评分").click()
            page.wait_for_selector(".cov-ranking-table tbody tr", timeout=60_000)
            shown = _check_ranking(page, scorecard)
            # the change since the run before: arrows and changes as scorecard_between's
            for row in shown:
                change = trend.loc[row["district"], "score_change"]
                assert float(row["score-change"]) == pytest.approx(change, abs=1e-9)
                mark = "▲" if change > 1e-12 else "▼" if change < -1e-12 else "="
                assert row["cells"][4].startswith(mark), row
                assert _number(row["rank-change"]) == trend.loc[row["district"], "rank_change"]
            assert {r["cells"][4][0] for r in shown} >= {"▲", "▼"}
            expect(page.locator(".cov-trend-note")).to_contain_text(
                trend.attrs["run_before"])
            # every district's parts, chosen in the drop-down
            select = page.locator(".cov-scorecard-district select")
            for row in shown:
                select.select_option(row["district"])
                _check_parts(page, scorecard, row["district"], scorecard_names("zh"))
            _screenshot(page, "scorecard-zh.png")
            # the funding tab: the layer's figures, district by district and the city
            page.locator(".bk-tab", has_text="经费").click()
            page.wait_for_selector(".cov-funding-table tbody tr", timeout=60_000)
            rows = _rows(page, ".cov-funding-table tbody tr")
            truth = funding.set_index("district")
            assert [r["district"] for r in rows] == list(truth.index)
            for row in rows:
                t = truth.loc[row["district"]]
                for key, column in (("migrant", "funding_migrant_per_capita"),
                                    ("registered", "funding_registered_per_capita"),
                                    ("gap", "funding_gap_per_capita"),
                                    ("needed", "funding_needed_yuan")):
                    assert float(row[key]) == float(t[column]), (row, key)
                assert row["cells"][1] == f"{float(t['funding_migrant_per_capita']):,.2f}"
                assert row["cells"][6] == f"{round(float(t['funding_needed_yuan'])):,}"
            expect(page.locator(".cov-no-edits")).to_be_visible(timeout=60_000)
            # a service point added on the map costs one site and its staff at the unit costs
            _add_a_site(page)
            cost = page.locator(".cov-cost-table tr[data-level=city]")
            expect(cost).to_have_attribute("data-new-sites", "1.0", timeout=30_000)
            unit = project.parameters.funding
            staff = float(cost.get_attribute("data-new-staff"))
            assert staff == 2.0  # the staff of a new point, as the side panel says
            assert float(cost.get_attribute("data-cost-sites-yuan")) == unit.site_cost_yuan
            assert float(cost.get_attribute("data-cost-staff-yuan-per-year")) == (
                staff * unit.staff_cost_yuan_per_year)
            assert float(cost.get_attribute("data-budget-needed-yuan")) == (
                unit.site_cost_yuan + staff * unit.staff_cost_yuan_per_year)
            _screenshot(page, "funding-zh.png")
            # the scenario comparison shows each scenario's cost beside its coverage
            page.locator(".bk-tab", has_text="情景").click()
            compare = page.locator(".cov-compare")
            expect(compare).to_contain_text(column_label("budget_needed_yuan", lang="zh"),
                                            timeout=30_000)
            expect(compare).to_contain_text(
                f"{unit.site_cost_yuan + staff * unit.staff_cost_yuan_per_year:,.0f}")
            _screenshot(page, "scenario-zh.png")
            # in English: the same figures, the English names
            page.get_by_role("button", name="English").click()
            page.locator(".bk-tab", has_text="Scorecard").click()
            expect(page.locator(".cov-scorecard-ranking")).to_contain_text(
                "The districts ranked", timeout=30_000)
            _check_ranking(page, scorecard)
            select = page.locator(".cov-scorecard-district select")
            select.select_option(shown[-1]["district"])
            _check_parts(page, scorecard, shown[-1]["district"], scorecard_names("en"))
            _screenshot(page, "scorecard-en.png")
            page.locator(".bk-tab", has_text="Funding").click()
            expect(page.locator(".cov-cost-table")).to_contain_text("Budget needed",
                                                                    timeout=30_000)
            _screenshot(page, "funding-en.png")
        finally:
            browser.close()
    assert not errors, errors


def _add_a_site(page) -> None:
    """Click the map until a service point is added (off the city, a click adds none)."""
    from playwright.sync_api import expect

    boxes = [c.bounding_box() for c in page.locator("canvas").all()]
    box = max((b for b in boxes if b), key=lambda b: b["width"] * b["height"])
    status = page.locator(".cov-status")
    for fx, fy in ((0.5, 0.5), (0.3, 0.3), (0.7, 0.7), (0.15, 0.2), (0.85, 0.8)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        try:
            expect(status).to_contain_text("new-", timeout=10_000)
            return
        except AssertionError:
            continue
    pytest.fail("no click on the map added a service point")


def test_a_project_without_budgets_says_so_and_has_no_earlier_run(no_budgets: Path):
    from playwright.sync_api import expect, sync_playwright

    from coverage.messages import text

    errors: list[str] = []
    with run_app(no_budgets, log_on_error=True) as url, sync_playwright() as p:
        _, layers = _latest(no_budgets)
        assert "funding" not in layers
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = _open(browser, url + "/", errors)
            page.locator(".bk-tab", has_text="经费").click()
            sentence = page.locator(".cov-no-budgets")
            expect(sentence).to_have_text(text("app_scorecard", "no_budgets", "zh"),
                                          timeout=60_000)
            assert "docs/data.md" in sentence.inner_text()
            expect(page.locator(".cov-funding-table")).to_have_count(0)
            expect(page.locator(".cov-no-edits")).to_be_visible(timeout=60_000)
            _screenshot(page, "funding-no-budgets-zh.png")
            page.locator(".bk-tab", has_text="考核评分").click()
            page.wait_for_selector(".cov-ranking-table tbody tr", timeout=60_000)
            _check_ranking(page, layers["scorecard"])
            note = page.locator(".cov-trend-note")
            expect(note).to_have_attribute("data-reason", "first-run")
            expect(note).to_have_text(text("app_scorecard", "first_run", "zh"))
            funding_rows = page.locator(".cov-parts-table tr[data-indicator=funding]")
            expect(funding_rows).to_contain_text(
                text("app_scorecard", "reason_no-funding-figures", "zh"))
            _screenshot(page, "scorecard-no-budgets-zh.png")
            page.get_by_role("button", name="English").click()
            page.locator(".bk-tab", has_text="Funding").click()
            expect(page.locator(".cov-no-budgets")).to_have_text(
                text("app_scorecard", "no_budgets", "en"), timeout=30_000)
        finally:
            browser.close()
    assert not errors, errors
