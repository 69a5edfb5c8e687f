"""The web app's security headers: a Content-Security-Policy on every HTML page.

The app page, the log-in and log-out pages and error pages carry a policy whose scripts are
allowed by a nonce new with each response: the app runs fully under it in Chromium, while an
inline event handler or a ``javascript:`` URL written into the page does not run.
"""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from appserver import run_app as _app
from browser import ARGS, CHROMIUM, needs_chromium

PASSWORD = "right-password-1"

#: Collects the page's CSP violations from its first script on.
WATCH_VIOLATIONS = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI), true);"""


@pytest.fixture(scope="module")
def server(app_url: str) -> str:
    """``coverage app`` on the small demo city, without a log-in (the session's)."""
    return app_url


@pytest.fixture(scope="module")
def login_server(demo_city: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``coverage app --users`` on the small demo city, with the user ``planner``."""
    from coverage_app.auth import add_user

    users = tmp_path_factory.mktemp("csp") / "users.json"
    add_user(users, "planner", PASSWORD)
    with _app(demo_city, "--users", str(users), ready="/login",
              env={"COVERAGE_COOKIE_SECRET": secrets.token_urlsafe(32)}) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _get(url: str, data: bytes | None = None) -> tuple[int, dict[str, str], str]:
    """Status, headers and body of one request (no redirect followed)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, data=data, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace")


def _policy(headers: dict[str, str]) -> dict[str, list[str]]:
    """The page's Content-Security-Policy as {directive: sources}."""
    assert "Content-Security-Policy" in headers, headers
    assert "Content-Security-Policy-Report-Only" not in headers
    directives = [d.split() for d in headers["Content-Security-Policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


def _assert_page_headers(headers: dict[str, str]) -> dict[str, list[str]]:
    """The headers every HTML page of the app carries; its policy."""
    policy = _policy(headers)
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts and "*" not in scripts
    assert not any(s.startswith(("http:", "https:", "data:", "blob:")) for s in scripts)
    return policy


# --- the headers --------------------------------------------------------------------------------


def test_app_page_has_a_policy_with_a_fresh_nonce(server: str) -> None:
    status, headers, page = _get(server + "/")
    assert status == 200
    policy = _assert_page_headers(headers)
    nonces = [s for s in policy["script-src"] if s.startswith("'nonce-")]
    assert len(nonces) == 1, policy["script-src"]
    nonce = nonces[0][len("'nonce-"):-1]
    # every script the browser runs carries it; the document's data block does not need it
    tags = re.findall(r"<script\b[^>]*>", page)
    runs = [t for t in tags if "application/json" not in t and "esms-options" not in t]
    assert len(runs) > 3 and all(f'nonce="{nonce}"' in t for t in runs), tags
    assert int(headers["Content-Length"]) == len(page.encode("utf-8"))
    assert "ws://localhost:" in " ".join(policy["connect-src"])
    assert "https://tile.openstreetmap.org" in policy["img-src"]
    # a new nonce with each page
    _, again, _ = _get(server + "/")
    assert _policy(again)["script-src"] != policy["script-src"]


def test_error_pages_and_files_have_the_headers(server: str) -> None:
    status, headers, _ = _get(server + "/no-such-page")
    assert status == 404
    policy = _assert_page_headers(headers)
    assert not any(s.startswith("'nonce-") for s in policy["script-src"])  # no script there
    status, headers, _ = _get(server + "/static/js/bokeh.min.js")
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in headers  # not a page


def test_log_in_and_log_out_pages_have_the_policy(login_server: str) -> None:
    status, headers, page = _get(login_server + "/")
    assert status == 302 and "/login" in headers["Location"]
    status, headers, page = _get(login_server + "/login")
    assert status == 200
    _assert_page_headers(headers)
    assert "cdn.holoviz.org" not in page  # Panel's logo and icon come from the app
    assert "static/extensions/panel/images/logo_stacked.png" in page
    status, headers, _ = _get(login_server + "/login", data=b"username=a&password=b")
    assert status == 403  # no XSRF token: an error page, with the policy too
    _assert_page_headers(headers)
    status, headers, page = _get(login_server + "/logout")
    assert status == 200
    _assert_page_headers(headers)
    assert "cdn.holoviz.org" not in page


# --- in a browser -------------------------------------------------------------------------------


def _open(chromium, url: str):
    """A new page watching CSP violations, script errors and the console; the lists."""
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(m.text))
    page.add_init_script(WATCH_VIOLATIONS)
    page.route("http*://*.openstreetmap.org/**", lambda route: route.abort())  # offline
    page.goto(url)
    return page, errors, console


def _csp_messages(messages: list[str]) -> list[str]:
    """Console messages or script errors of something the policy blocked."""
    return [m for m in messages if "Content Security Policy" in m or "EvalError" in m]


def _wait_for_cards(page) -> None:
    from playwright.sync_api import expect

    page.wait_for_selector(".cov-card[data-key=coverage]", timeout=60_000)
    expect(page.locator(".cov-card[data-key=sites] .cov-card-value")).not_to_have_text(
        "…", timeout=60_000)


@needs_chromium
def test_app_runs_under_the_policy_and_inline_handlers_do_not(server: str, chromium) -> None:
    from playwright.sync_api import expect

    page, errors, console = _open(chromium, server + "/")
    try:
        _wait_for_cards(page)
        coverage = page.locator(".cov-card[data-key=coverage]")
        before = coverage.get_attribute("data-value")
        assert before and float(before) > 0
        page.wait_for_timeout(1000)  # the map's first drawing
        assert page.evaluate("window.__csp") == [], "the app's own scripts were blocked"
        assert _csp_messages(console) == []
        # the app still works: a tab opens, a button changes the figures (through the server)
        tab = page.locator(".bk-tab").filter(has_text="情景").first
        tab.click()
        expect(tab).to_have_class(re.compile(r"\bbk-active\b"), timeout=30_000)
        page.get_by_role("button", name="5", exact=True).click()
        expect(coverage).to_contain_text("5 分钟", timeout=30_000)
        expect(coverage).not_to_have_attribute("data-value", before, timeout=30_000)
        assert float(coverage.get_attribute("data-value") or "nan") < float(before)
        assert page.evaluate("window.__csp") == []
        # every tab, made when first opened, in English too: nothing loaded from elsewhere
        page.get_by_role("button", name="English").click()
        expect(coverage).to_contain_text("Migrants within", timeout=30_000)
        for name, shows in (("Recommend", "New service points K"),
                            ("Scenario", "Download scenario JSON"),
                            ("Download the report", "Report PDF")):
            page.locator(".bk-tab").filter(has_text=name).first.click()
            expect(page.get_by_text(shows).first).to_be_visible(timeout=30_000)
        page.wait_for_timeout(500)
        assert page.evaluate("window.__csp") == [], "something the page needs was blocked"
        assert _csp_messages(console) == []
        # markup written into the page runs no script: an inline handler, a javascript: URL
        page.evaluate("""() => { const d = document.createElement('div');
            d.innerHTML = '<img src=x onerror="window.__pwned=1">'
                        + '<a id="pwn" href="javascript:window.__pwned=2">x</a>';
            document.body.appendChild(d); }""")
        page.wait_for_function("window.__csp.length > 0", timeout=10_000)
        page.locator("#pwn").click()
        page.wait_for_function("window.__csp.length > 1", timeout=10_000)
        page.wait_for_timeout(500)
        pwned = page.evaluate("window.__pwned")
        violations = page.evaluate("window.__csp")
    finally:
        page.close()
    assert pwned is None
    assert violations and all(v.startswith("script-src") for v in violations), violations
    assert any(v.endswith("inline") for v in violations), violations
    assert _csp_messages(errors) == []


@needs_chromium
def test_log_in_page_and_app_run_under_the_policy(login_server: str, chromium) -> None:
    page, errors, console = _open(chromium, login_server + "/")
    try:
        page.wait_for_selector("form.login-form", timeout=30_000)
        logo = page.locator("#logo")
        page.wait_for_function("document.getElementById('logo').complete", timeout=10_000)
        assert logo.evaluate("img => img.naturalWidth") > 0  # served by the app, allowed
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", PASSWORD)
        page.locator("form.login-form [type=submit]").click()
        _wait_for_cards(page)
        page.wait_for_timeout(1000)
        violations = page.evaluate("window.__csp")
    finally:
        page.close()
    assert violations == []
    assert _csp_messages(console) == [] and _csp_messages(errors) == []


# --- the policy itself --------------------------------------------------------------------------


def test_nonce_goes_on_scripts_that_run_only() -> None:
    from coverage_app.csp import add_nonce

    page = (b'<script src="a.js"></script><script type="application/json" id="d">'
            b'{"name": "<script>x</script>"}</script><SCRIPT>run()</SCRIPT>'
            b'<script data-type="x" type="module">m()</script><p>&lt;script&gt;</p>')
    out, count = add_nonce(page, "abc")
    assert count == 3
    assert out.count(b'nonce="abc"') == 3
    assert b'<script type="application/json" id="d">{"name": "<script>x</script>"}' in out
    assert out.endswith(b"<p>&lt;script&gt;</p>")


def test_policy_keeps_a_bad_host_out() -> None:
    from coverage_app.csp import content_security_policy, tile_origins

    policy = content_security_policy("n0nce", host="planning.example.gov.cn:443")
    assert "'nonce-n0nce'" in policy
    assert "wss://planning.example.gov.cn:443" in policy
    sneaky = content_security_policy(None, host="x.cn; script-src *")
    assert "x.cn" not in sneaky and "nonce" not in sneaky
    assert all(origin in policy for origin in tile_origins())
    assert "https://tile.openstreetmap.org" in tile_origins()


def test_transform_adds_the_headers_where_they_belong() -> None:
    from tornado.httputil import HTTPHeaders
    from tornado.web import GZipContentEncoding

    from coverage_app.csp import SecurityHeaders, transforms

    class Request:
        host = "localhost:5006"

    page = b"<html><script>go()</script></html>"
    _, headers, body = SecurityHeaders(Request()).transform_first_chunk(
        200, HTTPHeaders({"Content-Type": "text/html", "Content-Length": str(len(page))}),
        page, True)
    assert b"nonce=" in body and headers["Content-Length"] == str(len(body))
    assert "'nonce-" in headers["Content-Security-Policy"]
    # sent in pieces: no nonce, so no inline script runs
    _, headers, body = SecurityHeaders(Request()).transform_first_chunk(
        200, HTTPHeaders({"Content-Type": "text/html; charset=UTF-8"}), page, False)
    assert body == page and "'nonce-" not in headers["Content-Security-Policy"]
    # not a page: no policy; not modified: nothing (the cached page keeps its headers)
    _, headers, _ = SecurityHeaders(Request()).transform_first_chunk(
        200, HTTPHeaders({"Content-Type": "application/json"}), b"{}", True)
    assert "Content-Security-Policy" not in headers and headers["X-Content-Type-Options"]
    _, headers, _ = SecurityHeaders(Request()).transform_first_chunk(
        304, HTTPHeaders(), b"", True)
    assert "X-Content-Type-Options" not in headers
    # the transform sees the body before compression
    assert transforms({}) == [SecurityHeaders]
    options = {"compress_response": True}
    assert transforms(options) == [SecurityHeaders, GZipContentEncoding]
    options = {"transforms": [GZipContentEncoding]}
    assert transforms(options) == [SecurityHeaders, GZipContentEncoding] and not options
