"""The web app in a real browser (Playwright driving Debian's Chromium) and its parts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appserver import SCRIPT, run_app
from browser import ARGS, CHROMIUM


@pytest.fixture(scope="module")
def server(app_url: str) -> str:
    """``coverage app`` on the small demo city, in its own process (the session's)."""
    return app_url + "/"


def _card(page, key: str) -> tuple[str, str]:
    loc = page.locator(f".cov-card[data-key={key}]")
    return loc.get_attribute("data-value") or "", loc.locator(".cov-card-value").inner_text()


def _screenshot(page, name: str) -> None:
    """Save a screenshot when ``COVERAGE_SCREENSHOTS`` names a folder (the README's images)."""
    folder = os.environ.get("COVERAGE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(1500)  # let the map finish drawing
        page.screenshot(path=str(Path(folder) / name))


def _map_box(page) -> dict:
    """Bounding box of the map's plotting canvas (the largest canvas on the page)."""
    boxes = [c.bounding_box() for c in page.locator("canvas").all()]
    boxes = [b for b in boxes if b]
    return max(boxes, key=lambda b: b["width"] * b["height"])


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run does)")
def test_app_in_a_browser(server: str, demo_city: Path, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    from coverage.engine.scenario import Scenario, ScenarioModel
    from coverage.engine.session import PlanningSession

    session = PlanningSession.open(demo_city)
    column = session.coverage_key()
    baseline = float(session.city([])[column])
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000},
                                    accept_downloads=True)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("http*://*.openstreetmap.org/**", lambda route: route.abort())
            page.goto(server)
            # the demo city and its indicator cards
            page.wait_for_selector(".cov-card[data-key=coverage]", timeout=60_000)
            expect(page.locator(".cov-card[data-key=sites] .cov-card-value")).not_to_have_text(
                "…", timeout=60_000)
            value, text = _card(page, "coverage")
            assert float(value) == pytest.approx(baseline, abs=0)
            assert "流动人口" in page.locator(".cov-card[data-key=coverage]").inner_text()
            # clicks on the map add service points until the coverage figure changes
            box = _map_box(page)
            spots = [(0.15, 0.2), (0.85, 0.8), (0.2, 0.85), (0.85, 0.2), (0.5, 0.5),
                     (0.3, 0.3), (0.7, 0.7)]
            changed = False
            status = page.locator(".cov-status")
            for fx, fy in spots:
                before = status.inner_text()
                page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
                try:
                    expect(status).not_to_have_text(before, timeout=10_000)
                except AssertionError:
                    continue  # off the map or the city: nothing added
                value, text = _card(page, "coverage")
                if float(value) != baseline:
                    changed = True
                    break
            assert changed, "no click changed the coverage"
            _screenshot(page, "app-zh.png")
            # the same scenario, computed by the library, gives exactly the figure shown
            page.get_by_text("情景", exact=True).first.click()
            with page.expect_download() as download:
                page.get_by_role("button", name="下载情景 JSON").click()
            scenario_file = tmp_path / "scenario.json"
            download.value.save_as(scenario_file)
            scenario = Scenario.from_text(scenario_file.read_bytes())
            assert scenario.edits and {e.action for e in scenario.edits} == {"add"}
            table = ScenarioModel(demo_city).evaluate(scenario)
            expected = float(table[table["level"] == "city"].iloc[0][column])
            assert float(value) == expected
            assert text == f"{expected:.2%}"
            # the comparison: today and the current scenario, in percent, in Chinese
            compare = page.locator(".cov-compare")
            expect(compare).to_contain_text("现状")
            expect(compare).to_contain_text("当前情景")
            expect(compare).to_contain_text(f"{baseline:.2%}")
            expect(compare).to_contain_text(text)
            expect(compare).to_contain_text(" pp")  # the gaps, in percentage points
            expect(compare).not_to_contain_text("baseline")
            # a threshold of 10 minutes: the ranking's coverage column follows
            page.get_by_text("规划指标", exact=True).first.click()
            ranking = page.locator(".cov-ranking")
            expect(ranking).to_contain_text("15分钟")
            page.get_by_role("button", name="10", exact=True).click()
            expect(ranking).to_contain_text("10分钟", timeout=20_000)
            page.get_by_role("button", name="15", exact=True).click()
            expect(ranking).to_contain_text("15分钟", timeout=20_000)
            # English labels
            page.get_by_role("button", name="English").click()
            expect(page.locator(".cov-card[data-key=coverage]")).to_contain_text(
                "Migrants within", timeout=20_000)
            expect(page.get_by_text("Migrant family-planning service coverage")).to_be_visible()
            assert "Migrants within" in page.locator(".cov-card[data-key=coverage]").inner_text()
            assert "流动人口" not in page.locator(".cov-card[data-key=coverage]").inner_text()
            _screenshot(page, "app-en.png")
            # a recommendation, computed and applied: three more service points
            sites_before = int(float(_card(page, "sites")[0]))
            page.locator(".bk-tab", has_text="Recommend").click()
            page.get_by_role("button", name="Recommend", exact=True).click()
            result = page.locator(".cov-recommend")
            expect(result).to_contain_text("Migrants newly within 15 min", timeout=120_000)
            expect(result).to_contain_text("Rank")
            expect(result).not_to_contain_text("migrants_newly")
            page.get_by_role("button", name="Apply to the scenario").click()
            expect(page.locator(".cov-card[data-key=sites]")).to_have_attribute(
                "data-value", repr(float(sites_before + 3)), timeout=60_000)
            expect(status).not_to_contain_text("rror")
            # the report of the current scenario downloads as valid files
            page.get_by_text("Download the report", exact=True).first.click()
            with page.expect_download(timeout=120_000) as download:
                page.get_by_role("button", name="Report HTML").click()
            html_file = tmp_path / "report.html"
            download.value.save_as(html_file)
            with page.expect_download(timeout=120_000) as download:
                page.get_by_role("button", name="Report XLSX").click()
            xlsx_file = tmp_path / "report.xlsx"
            assert download.value.suggested_filename == "report-city-en.xlsx"
            download.value.save_as(xlsx_file)
        finally:
            browser.close()
    assert not errors, errors
    page_text = html_file.read_text(encoding="utf-8")
    assert page_text.startswith("<!DOCTYPE html>") and "staffing recommendations" in page_text
    import openpyxl

    wb = openpyxl.load_workbook(xlsx_file)
    # the scenario's new points are the recommendation (sheet names in the report's language)
    assert "New service points" in wb.sheetnames
    assert json.loads(scenario_file.read_text(encoding="utf-8"))["edits"]


def test_library_never_imports_panel():
    code = ("import importlib, pkgutil, sys, coverage\n"
            "for m in pkgutil.walk_packages(coverage.__path__, 'coverage.'):\n"
            "    importlib.import_module(m.name)\n"
            "assert 'panel' not in sys.modules, 'panel imported'\n"
            "assert 'coverage_app' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_hashed_passwords(tmp_path: Path):
    from coverage_app.auth import HashedAuthProvider, add_user, verify_password

    users = tmp_path / "users.json"
    add_user(users, "planner", "s3cret-规划-密码")
    stored = json.loads(users.read_text("utf-8"))["planner"]
    assert "s3cret" not in stored and stored.startswith("scrypt$")
    assert verify_password("s3cret-规划-密码", stored)
    assert not verify_password("s3cret", stored)
    assert oct(users.stat().st_mode & 0o777) == "0o600"
    handler = HashedAuthProvider(users).login_handler
    assert handler._validate(None, "planner", "s3cret-规划-密码")
    assert not handler._validate(None, "planner", "wrong")
    assert not handler._validate(None, "nobody", "s3cret-规划-密码")
    with pytest.raises(ValueError, match="no users file"):
        HashedAuthProvider(tmp_path / "missing.json")


@pytest.fixture
def state(demo_city: Path, tmp_path: Path):
    """The app's state on the demo city, its model loaded (no browser).

    Its planner, ``li``, saves scenarios in a store folder of the test's own.
    """
    from coverage.engine.session import PlanningSession
    from coverage.store.gpkg import GeoPackageStore
    from coverage_app.state import AppState

    session = PlanningSession.open(demo_city)
    session.store = GeoPackageStore(tmp_path / "store")
    state = AppState(session, user="li")
    state.load_model()
    return state


def test_state_add_site_matches_library(demo_city: Path, state):
    from coverage.engine.scenario import ScenarioModel

    lon, lat = state.to_lonlat(*_mercator(113.75, 23.03))
    state.add_site(lon, lat)
    shown = state.published()[0]
    city = shown[shown["level"] == "city"].iloc[0]
    truth = ScenarioModel(demo_city).evaluate(state.session.edits)
    expected = truth[truth["level"] == "city"].iloc[0]
    assert float(city[state.coverage_column]) == float(expected[state.coverage_column])
    state.undo()
    assert state.session.edits == []


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    import pyproj

    return pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)


def test_state_choose_move_remove(state):
    sites = state.session.sites().to_crs(4326)
    target = sites.iloc[0]
    state.choose_near(target.geometry.x + 0.0005, target.geometry.y)
    assert state.chosen == target["site_id"]
    state.click = "move"
    state.click_at(*_mercator(target.geometry.x + 0.003, target.geometry.y))
    assert [e.action for e in state.session.edits] == ["move"]
    state.remove_chosen()
    assert [e.action for e in state.session.edits] == ["move", "close"]
    assert target["site_id"] not in set(state.session.sites()["site_id"])


def test_state_saves_compares_and_loads_scenarios(state):
    state.add_site(*state.to_lonlat(*_mercator(113.755, 23.025)))
    state.save("A")
    text = state.session.scenario("A").to_json()
    state.undo()
    assert state.session.edits == []
    table = state.session.comparison()
    assert list(table.columns) == ["baseline", "A", "current"]
    assert table.loc["staff", "A"] == table.loc["staff", "baseline"] + state.new_staff
    state.load(text)
    assert [e.site_id for e in state.session.edits] == ["new-1"]
    state.load("{not json")
    assert state.message.startswith(("错误", "Error"))


def test_two_planners_saving_at_once_lose_nothing(state):
    """Two planners' app states on one store: both load version 1 and save; the second is
    refused, told who saved which version when in the app's language, and keeps their edits;
    a refresh lists the other's saves, and comparing side by side goes on working."""
    from coverage.engine.scenario import Scenario
    from coverage.engine.session import PlanningSession
    from coverage.store.gpkg import GeoPackageStore
    from coverage_app.state import AppState

    li = state
    wang = AppState(PlanningSession(project=li.session.project, layers=li.session.layers,
                                    store=GeoPackageStore(li.session.store.folder)),
                    lang="en", user="wang")
    wang.load_model()
    name = "东城方案"
    li.add_site(*li.to_lonlat(*_mercator(113.755, 23.025)))
    li.save(name)
    assert li.message == f"已保存情景「{name}」（第 1 版）"
    wang.list_saved()  # the list as a refresh shows it
    assert wang.saved[["name", "version", "saved_by"]].values.tolist() == [[name, 1, "li"]]
    wang.load_saved(name)
    assert wang.message == f"Loaded scenario “{name}” (version 1)"
    assert wang.session.edits == li.session.edits
    # both on version 1: li saves first, then wang
    li.add_site(*li.to_lonlat(*_mercator(113.75, 23.03)))
    li.save(name)
    assert li.session.versions[name] == 2
    wang.new_staff = 5.0
    wang.add_site(*wang.to_lonlat(*_mercator(113.75, 23.03)))
    mine = list(wang.session.edits)
    wang.save(name)
    at = wang.saved.set_index("name").loc[name, "saved_at"].strftime("%Y-%m-%d %H:%M:%S")
    assert wang.message == (
        f"Not saved: scenario “{name}” was saved by li as version 2 at {at} UTC, after you "
        "loaded version 1. Reload it to see their changes, or save yours under another name")
    assert wang.session.edits == mine and wang.session.versions[name] == 1
    text, version = li.session.store.read_scenario(name)
    assert version == 2 and Scenario.from_text(text).edits == li.session.edits  # li's, whole
    wang.lang = "zh"
    wang.save(name)
    assert wang.message == (f"未保存：情景「{name}」已由 li 于 {at}（UTC）保存为第 2 版，晚于您载入"
                            "的第 1 版。请重新载入查看其修改，或以其他名称保存您的情景")
    # wang keeps theirs under another name; li sees it after a refresh
    wang.save(f"{name}（王）")
    assert wang.message == f"已保存情景「{name}（王）」（第 1 版）"
    li.list_saved()
    assert li.saved[["name", "version", "saved_by"]].values.tolist() == [
        [name, 2, "li"], [f"{name}（王）", 1, "wang"]]
    table = wang.session.comparison()
    assert list(table.columns) == ["baseline", name, f"{name}（王）", "current"]
    staff = table.loc["staff"]
    assert staff[name] == pytest.approx(staff["baseline"] + 2.0)  # li's version 1
    assert staff[f"{name}（王）"] == staff["current"] == pytest.approx(staff[name] + 5.0)
    # a new name that exists is refused too
    li.lang = "en"
    li.session.versions.clear()
    li.save(f"{name}（王）")
    assert li.message.startswith(f"Not saved: scenario “{name}（王）” exists already "
                                 "(version 1, saved by wang at ")
    # wang reloads li's version 2, and saves on it
    wang.load_saved(name)
    assert wang.session.edits == li.session.edits
    wang.save(name)
    assert wang.session.versions[name] == 3 and wang.message == f"已保存情景「{name}」（第 3 版）"


def test_log_in_with_hashed_passwords(demo_city: Path, tmp_path: Path):
    """``coverage app --users``: the page needs a log-in; a wrong password is refused.

    More in ``test_app_auth.py`` (limits, timing, sessions, XSRF, cookies, address).
    """
    import http.cookiejar
    import secrets
    import urllib.error
    import urllib.parse

    from coverage_app.auth import add_user

    users = tmp_path / "users.json"
    add_user(users, "planner", "right-规划-密码")
    jar = http.cookiejar.CookieJar()
    with run_app(demo_city, "--users", str(users),
              env={"COVERAGE_COOKIE_SECRET": secrets.token_urlsafe(32)}) as base:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(base + "/", timeout=30) as response:
            first = response.geturl()
        assert "/login" in first  # sent to the log-in page

        def log_in(password: str) -> str:
            xsrf = next(c.value for c in jar if c.name == "_xsrf")  # set by the log-in page
            data = urllib.parse.urlencode({"username": "planner", "password": password,
                                           "_xsrf": xsrf}).encode()
            with opener.open(base + "/login", data=data, timeout=30) as response:
                return response.geturl()

        assert "error" in log_in("wrong")
        assert "/login" not in log_in("right-规划-密码")
        with opener.open(base + "/", timeout=30) as response:
            assert response.status == 200 and "/login" not in response.geturl()


def test_log_in_needs_a_cookie_secret(demo_city: Path, tmp_path: Path):
    from coverage_app.auth import add_user

    users = tmp_path / "users.json"
    add_user(users, "planner", "right-规划-密码")
    env = {k: v for k, v in os.environ.items() if k != "COVERAGE_COOKIE_SECRET"}
    done = subprocess.run([str(SCRIPT), "app", str(demo_city), "--no-show", "--users",
                           str(users)], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert done.returncode == 2
    assert "cookie secret" in done.stderr


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_models_pass_bokehs_checks(demo_city: Path, lang: str):
    """The server skips Bokeh's per-page model checks for speed; they run here instead."""
    import panel as pn
    from bokeh.core.validation import check_integrity
    from bokeh.document import Document

    from coverage_app.app import CoverageApp

    doc = Document()
    pn.panel(CoverageApp(demo_city, lang=lang)).server_doc(doc)
    issues = check_integrity(list(doc.models))
    assert not issues.error, issues.error
    # The tabs not yet opened are empty on purpose (made when opened, a spinner meanwhile).
    waiting = [i for i in issues.warning if i.name == "EMPTY_LAYOUT"
               and "pn-loading" in doc.get_model_by_id(
                   re.search(r"id='([^']+)'", i.extra)[1]).css_classes]
    assert len(waiting) == 6  # recommend, scenarios, downloads, scorecard, funding, runs
    assert not [i for i in issues.warning if i not in waiting], issues.warning
    header = next(m for m in doc.models if "cov-import-link" in str(getattr(m, "text", "")))
    assert f'href=&quot;import?lang={lang}&quot;' in header.text  # escaped for the page


def test_several_server_processes(demo_city: Path):
    """``--processes 2``: pages and their websockets work in any worker, and stopping the
    first process stops the workers."""
    import asyncio
    import signal
    import urllib.request

    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    import bench_load
    from appserver import free_port

    port = free_port()
    log = open(os.devnull, "w")  # noqa: SIM115
    proc, _ = bench_load.start_server(demo_city / "project.toml", port, log, processes=2)
    try:
        workers = bench_load.tree(proc.pid)[1:]
        assert len(workers) == 2

        async def visits() -> list:
            found = await asyncio.gather(*(bench_load.visit(
                f"http://localhost:{port}/", settle=0.5, timeout=120) for _ in range(6)))
            bench_load.close_all(list(found))
            return found

        loop = asyncio.new_event_loop()  # (not asyncio.run: it leaves no loop for the rest)
        try:
            done = loop.run_until_complete(visits())
        finally:
            loop.close()
        assert [v.error for v in done if v.error] == []
        assert all(v.doc_bytes > 50_000 for v in done)
        with urllib.request.urlopen(f"http://localhost:{port}/import?lang=en", timeout=30) as r:
            assert r.status == 200
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() and
                                                  "zombie" not in _state(w) for w in workers):
            time.sleep(0.2)
        assert not [w for w in workers if Path(f"/proc/{w}").exists() and
                    "zombie" not in _state(w)]
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (OSError, IndexError):
        return "zombie"


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run does)")
@pytest.mark.parametrize("tiles", ["fail", "never answer"])
def test_tabs_open_without_base_map_tiles(server: str, tiles: str):
    """Offline or behind a firewall the base map's tiles fail or never come: the page still
    reports itself shown, so a tab opened at once (made on first opening) fills."""
    from playwright.sync_api import expect, sync_playwright

    held: list = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("http*://*.openstreetmap.org/**",
                       (lambda route: route.abort()) if tiles == "fail" else
                       (lambda route: held.append(route)))
            page.goto(server)
            page.wait_for_selector(".cov-card[data-key=coverage]", timeout=60_000)
            page.locator(".bk-tab", has_text="推荐").click()  # before the map is drawn
            expect(page.get_by_role("button", name="计算推荐")).to_be_visible(timeout=20_000)
            page.locator(".bk-tab", has_text="下载报告").click()
            expect(page.get_by_role("button", name="报告 PDF")).to_be_visible(timeout=20_000)
        finally:
            for route in held:
                route.abort()
            browser.close()
    assert not errors, errors


def test_map_legend_follows_the_shading_and_the_district_view(demo_city: Path):
    """The communities' colours and legend are the reports' classes for each shading; the map
    fits the communities drawn (a chosen district's)."""
    from coverage.publish.labels import color_scale
    from coverage_app.app import CoverageApp

    app = CoverageApp(demo_city, lang="en")
    view, state = app.map, app.state
    for indicator, column in (("coverage", state.coverage_column),
                              ("gap", "coverage_gap_15min")):
        state.indicator = indicator
        scale = color_scale(column, view.src["communities"].data["value"], lang="en")
        mapper = view.colorbar.color_mapper
        assert list(mapper.factors)[:-1] == list(scale.labels)
        assert view.r["communities"].glyph.fill_color["transform"] is mapper
        shown = set(view.src["communities"].data["cls"])
        assert shown <= set(mapper.factors)
    assert "pp" in " ".join(view.colorbar.color_mapper.factors)
    district = sorted(state.session.layers["community_summary"]["district"].unique())[0]
    state.district = district
    assert view.fig.x_range.renderers == [view.r["communities"]]
    comm = state.session.layers["community_summary"]
    assert len(view.src["communities"].data["cls"]) == int((comm["district"] == district).sum())


def test_the_indicator_card_counts_the_area_shown(demo_city: Path):
    """The card of plan indicators met counts what the indicator table beside it marks met
    (✔): the district's when a district is chosen (it counted the city's)."""
    import re

    from coverage_app.app import CoverageApp

    app = CoverageApp(demo_city, lang="en")
    state = app.state
    layer = state.session.layers["indicators"]
    counts = set()
    for district in ["", *sorted(layer.loc[layer["level"] == "district", "unit"].unique())]:
        state.district = district
        table = app.tables.indicators
        ticks = int((table[""] == "✔").sum())
        card = re.search(r'data-key="indicators" data-value="([^"]*)"', app.cards.pane.object)
        assert card is not None and float(card[1]) == ticks, (district, card, ticks)
        counts.add(ticks)
    assert len(counts) > 1  # the districts differ: the card followed them


def test_a_click_fades_nothing(demo_city: Path):
    """The map's layers draw selected and other shapes alike: a click is an action, and no
    tool selects (the rest would be drawn with Bokeh's first copy of their glyph, whose
    colours do not follow the language or the shading: ``test_app_map_colours.py``)."""
    from bokeh.models.tools import SelectTool

    from coverage_app.app import CoverageApp

    view = CoverageApp(demo_city).map
    assert not [t for t in view.fig.tools if isinstance(t, SelectTool)]
    view.state.layers = [*view.state.layers, "catchments"]
    assert view.r, "no layer drawn"
    for name, renderer in view.r.items():
        assert renderer.nonselection_glyph is None, name
        assert renderer.selection_glyph is None, name


def test_density_has_its_own_legend(demo_city: Path):
    """The density hexagons' legend shows with them, in the page's language."""
    from coverage_app.app import CoverageApp

    app = CoverageApp(demo_city, lang="en")
    view, state = app.map, app.state
    assert view.density_bar is None  # made when the density is first shown
    state.layers = [*state.layers, "density"]
    assert view.density_bar.visible and view.density_bar.title == "Migrants per hexagon"
    assert view.density_bar.color_mapper is view.r["density"].glyph.fill_color["transform"]
    assert view.density_bar.color_mapper.high > 0
    state.lang = "zh"
    assert view.density_bar.title.startswith("流动人口")
    state.layers = [k for k in state.layers if k != "density"]
    assert not view.density_bar.visible
