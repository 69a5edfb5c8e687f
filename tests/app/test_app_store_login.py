"""The web app on a PostGIS store, in a real browser: each user logs in with their database
account and the database decides what the page holds. Two district users, each in their own
browser, see their own district's figures of any run and the change since the previous run,
and nothing of the other district anywhere in the page (its text, its map's data, its report);
a wrong password is refused; the city's log-in gets the planning app, whose runs tab shows
any district's change since the previous run."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from appserver import run_app
from browser import needs_chromium
from coverage import cli
from coverage.store.postgis import PostGISStore
from store_roles import drop_store

# the page's every text and attribute, shadow roots included (Panel draws in them)
_ALL_TEXT = """() => { const out = [];
  const walk = n => { if (n.shadowRoot) walk(n.shadowRoot);
    for (const c of n.childNodes) {
      if (c.nodeType === 3) out.push(c.textContent);
      else if (c.nodeType === 1) {
        for (const a of c.getAttributeNames()) out.push(c.getAttribute(a));
        walk(c); } } };
  walk(document.documentElement); return out.join('\\n'); }"""
# every model of the page's Bokeh documents, hidden tabs and the map's data among them
_DOCUMENT = """() => Bokeh.documents.map(d => JSON.stringify(d.to_json(false))).join('\\n')"""


@dataclass
class Shared:
    """A project kept in PostGIS with two runs, and its log-ins (name → password)."""

    folder: Path
    url: str
    schema: str
    runs: list[str] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)
    districts: dict[str, str] = field(default_factory=dict)


def _cli(*args: str, stdin: str | None = None) -> str:
    done = CliRunner().invoke(cli.app, list(args), input=stdin)
    assert done.exit_code == 0, done.output
    return done.output


@pytest.fixture(scope="module")
def shared(postgis_url: str, small_demo: Path, tmp_path_factory) -> Iterator[Shared]:
    """The small demo city run twice into a PostGIS store (more staff the second time)."""

    folder = tmp_path_factory.mktemp("shared") / "city"
    shutil.copytree(small_demo, folder, ignore=shutil.ignore_patterns("results"))
    schema = f"app_{secrets.token_hex(3)}"
    _cli("db", "init", postgis_url, "--schema", schema)
    with (folder / "project.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[store]\nurl = "{postgis_url}"\nschema = "{schema}"\n')
    store = Shared(folder, postgis_url, schema)
    _cli("run", str(folder), "--lang", "en")
    sites = folder / "sites.csv"
    frame = pd.read_csv(sites, encoding="gbk", dtype=str)
    staff = frame.columns[5]  # 人员
    frame[staff] = (frame[staff].astype(float) + 4).map(lambda v: f"{v:g}")
    frame.to_csv(sites, index=False, encoding="gbk")
    _cli("run", str(folder), "--lang", "en")
    admin = PostGISStore(postgis_url, schema=schema)
    store.runs = list(admin.runs()["run_id"])
    districts = sorted(set(admin.read_layers(store.runs[-1], ["community_summary"])[
        "community_summary"]["district"]))
    tag = secrets.token_hex(2)
    for name, scope in ((f"a{tag}", districts[0]), (f"b{tag}", districts[1]),
                        (f"c{tag}", None)):
        password = store.users[name] = secrets.token_hex(8)
        _cli("db", "user", "add", postgis_url, name,
             *(["--district", scope] if scope else ["--city"]), "--schema", schema,
             "--password-stdin", stdin=password + "\n")
        if scope:
            store.districts[name] = scope
    yield store
    drop_store(postgis_url, schema, store.users)


def _published(shared: Shared, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    layers = PostGISStore(shared.url, schema=shared.schema).read_layers(
        run_id, ["published_district_summary", "published_community_summary"])
    return layers["published_district_summary"], layers["published_community_summary"]


def _log_in(page, url: str, user: str, password: str) -> None:
    page.goto(url + "/?lang=en")
    page.locator(".cov-login-user input").fill(user)
    page.locator(".cov-login-password input").fill(password)
    page.locator(".cov-login-button button").click()


def _card(page, key: str) -> float:
    return float(page.locator(f'.cov-card[data-key="{key}"]').get_attribute("data-value"))


@needs_chromium
def test_two_district_users_each_see_only_their_district(shared: Shared, tmp_path: Path):
    from playwright.sync_api import expect

    from browser import launch

    latest, older = shared.runs[-1], shared.runs[0]
    districts, communities = _published(shared, latest)
    old_districts, _ = _published(shared, older)
    errors: list[str] = []
    with run_app(shared.folder, log_on_error=True) as url, launch() as browser:
        for user, district in shared.districts.items():
            others = [d for d in districts["district"] if d not in (district, "全市")]
            other_names = set(communities.loc[communities["district"] != district, "name"])
            own = communities[communities["district"] == district]
            row = districts[districts["district"] == district].iloc[0]
            context = browser.new_context(viewport={"width": 1300, "height": 1000},
                                          accept_downloads=True)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            # a wrong password is refused with one line, and the form stays
            _log_in(page, url, user, "not-" + shared.users[user])
            expect(page.locator(".cov-login-message")).to_contain_text("Log-in refused",
                                                                        timeout=30_000)
            assert page.locator(".cov-cards").count() == 0
            _log_in(page, url, user, shared.users[user])
            expect(page.locator(".cov-who")).to_have_text(f"{district} · {user}",
                                                          timeout=60_000)
            # the cards: the district's published figures of the latest run
            assert _card(page, "migrants") == row["migrants"]
            assert _card(page, "staff") == row["staff"]
            assert _card(page, "staff_shortfall") == row["staff_shortfall"]
            # the change since the previous run: the staff added to the district's sites
            change = page.locator(".cov-change")
            old_staff = old_districts.loc[old_districts["district"] == district, "staff"].item()
            expect(change).to_contain_text(older, timeout=30_000)
            assert f"▲ {row['staff'] - old_staff:+,.1f}" in page.locator(
                ".cov-change table").inner_text()
            # its communities, in the table and on the map; nothing of another district
            page.locator(".bk-tab", has_text="Communities of the district").click()
            tables = page.locator(".cov-district-tables")
            expect(tables).to_contain_text(own["name"].iloc[0], timeout=30_000)
            shown = page.locator(".cov-district-tables table").first.inner_text()
            assert all(name in shown for name in own["name"])
            page.locator(".bk-tab", has_text="Map").click()
            page.wait_for_timeout(1000)
            data = page.evaluate(_DOCUMENT)
            assert all(name in data for name in own["name"])
            page_text = page.evaluate(_ALL_TEXT) + data
            assert all(name in page_text for name in own["name"])
            assert not [n for n in other_names if n in page_text]
            assert not [d for d in others if d in page_text]
            # an older run: its figures
            option = page.locator(".cov-run option", has_text=older)
            page.locator(".cov-run select").select_option(option.get_attribute("value"))
            expect(page.locator('.cov-card[data-key="staff"]')).to_have_attribute(
                "data-value", repr(float(old_staff)), timeout=30_000)
            expect(change).to_contain_text("first run")
            # the district's report: its own rows only
            page.locator(".bk-tab", has_text="Download the report").click()
            with page.expect_download(timeout=120_000) as download:
                page.get_by_role("button", name="Report HTML").click()
            report = tmp_path / f"{user}.html"
            download.value.save_as(report)
            assert download.value.suggested_filename.startswith("report-district-")
            written = report.read_text(encoding="utf-8")
            assert district in written and not [d for d in others if d in written]
            assert not [n for n in other_names if n in written]
            # logging out forgets the log-in
            page.get_by_role("button", name="Log out").click()
            expect(page.locator(".cov-login-user input")).to_be_visible(timeout=30_000)
            assert page.locator(".cov-cards").count() == 0
            context.close()
        # the city's log-in gets the planning app of the whole city
        city = next(u for u in shared.users if u not in shared.districts)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.route("http*://*.openstreetmap.org/**", lambda route: route.abort())
        _log_in(page, url, city, shared.users[city])
        page.wait_for_selector(".cov-card[data-key=coverage]", timeout=120_000)
        # its runs tab: the whole city's runs, then one district's change since the last
        page.locator(".bk-tab", has_text="Runs").click()
        city_row = districts[districts["level"] == "city"].iloc[0]
        expect(page.locator('.cov-card[data-key="staff"]')).to_have_attribute(
            "data-value", repr(float(city_row["staff"])), timeout=60_000)
        district = districts.loc[districts["level"] == "district", "district"].iloc[-1]
        page.locator(".cov-unit select").select_option(district)
        row = districts[districts["district"] == district].iloc[0]
        expect(page.locator('.cov-card[data-key="staff"]')).to_have_attribute(
            "data-value", repr(float(row["staff"])), timeout=30_000)
        old_staff = old_districts.loc[old_districts["district"] == district, "staff"].item()
        expect(page.locator(".cov-change table")).to_contain_text(
            f"▲ {row['staff'] - old_staff:+,.1f}")
    assert not errors, errors
