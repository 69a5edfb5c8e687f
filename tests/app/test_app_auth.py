"""The web app's log-in and exposure: rate limits, timing, sessions, XSRF, cookies, address.

The server tests share one ``coverage app --users`` process on the small demo city. The limits
on failed log-ins count per user name and per client address (all tests come from
127.0.0.1): each test uses its own user names, and all of them together stay under the
address's 20 free failures.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import statistics
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from appserver import SCRIPT, run_app
from appserver import free_port as _free_port
from console_script import run_here

PASSWORD = "right-password-1"
FLOOD = 8


@dataclass
class Client:
    """An HTTP client of the app keeping its cookies (no redirect followed)."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, list[str], dict, str]:
        """Send one request; status, Set-Cookie headers, headers, body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            send = dict(headers or {})
            if self.cookies:
                send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                send["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=send)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            set_cookies = response.headers.get_all("Set-Cookie") or []
            for line in set_cookies:
                name, _, rest = line.partition("=")
                self.cookies[name] = rest.split(";")[0]
            return response.status, set_cookies, dict(response.headers), text
        finally:
            conn.close()

    def xsrf(self) -> str:
        """The log-in form's XSRF token (its cookie set on the way)."""
        status, _, _, page = self.request("GET", "/login")
        assert status == 200
        found = re.search(r'name="_xsrf" value="([^"]+)"', page)
        assert found, "no XSRF field in the log-in form"
        return found.group(1)

    def log_in(self, user: str, password: str) -> tuple[int, dict, str]:
        """POST the log-in form with its XSRF token; status, headers, body."""
        token = self.xsrf()
        status, _, headers, text = self.request(
            "POST", "/login", {"username": user, "password": password, "_xsrf": token})
        return status, headers, text


@dataclass
class Server:
    port: int
    users: Path
    log: Path

    def client(self) -> Client:
        return Client(self.port)


@contextlib.contextmanager
def _serve(demo_city: Path, folder: Path, *extra: str, env: dict[str, str] | None = None
           ) -> Iterator[tuple[int, Path]]:
    """``coverage app`` in its own process, its output in a file; its port and log."""
    log = folder / "app.log"
    with run_app(demo_city, *extra, env=env, ready="/login", log_file=log) as url:
        yield int(url.rsplit(":", 1)[1]), log


@pytest.fixture(scope="module")
def server(demo_city: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``coverage app --users`` on the small demo city, with a few users."""
    from coverage_app.auth import add_user

    folder = tmp_path_factory.mktemp("auth")
    users = folder / "users.json"
    for name in ("planner", "spare", "timing", "gone", "changed",
                 *(f"flood-{i}" for i in range(FLOOD))):
        add_user(users, name, PASSWORD)
    secret = secrets.token_urlsafe(32)
    with _serve(demo_city, folder, "--users", str(users),
                env={"COVERAGE_COOKIE_SECRET": secret}) as (port, log):
        yield Server(port, users, log)


# the log-in form


def test_log_in_post_without_xsrf_token_is_refused(server: Server):
    client = server.client()
    client.xsrf()  # the cookie alone is not enough: the form must carry the token
    status, _, _, _ = client.request("POST", "/login",
                                     {"username": "planner", "password": PASSWORD})
    assert status == 403
    status, _, _, _ = client.request("POST", "/login", {"username": "planner",
                                                        "password": PASSWORD, "_xsrf": "2|x"})
    assert status == 403
    assert "user" not in client.cookies
    status, headers, _ = client.log_in("planner", PASSWORD)
    assert status == 302 and headers["Location"] == "/"


def test_log_in_cookies_are_httponly_and_samesite(server: Server):
    client = server.client()
    token = client.xsrf()
    _, set_cookies, _, _ = client.request("POST", "/login", {
        "username": "planner", "password": PASSWORD, "_xsrf": token})
    names = {line.split("=")[0] for line in set_cookies}
    assert {"user", "user_token"} <= names
    for line in set_cookies:
        assert "HttpOnly" in line and "SameSite=" in line, line
        assert "Secure" not in line  # plain HTTP
    # behind a TLS-terminating proxy, they are Secure too
    _, set_cookies, _, _ = server.client().request(
        "GET", "/login", headers={"X-Forwarded-Proto": "https"})
    assert set_cookies and all("Secure" in line for line in set_cookies)


def test_log_in_refuses_empty_fields(server: Server):
    client = server.client()
    for user, password in (("", PASSWORD), ("planner", "")):
        token = client.xsrf()
        status, _, _, text = client.request("POST", "/login", {
            "username": user, "password": password, "_xsrf": token})
        assert status == 400 and "Enter a user name and a password" in text
    assert "user" not in client.cookies


# failed log-ins


def test_wrong_passwords_make_the_right_one_wait(server: Server):
    client = server.client()
    for _ in range(3):
        status, headers, _ = client.log_in("spare", "wrong-password")
        assert status == 302 and "error=" in headers["Location"]
    status, headers, text = client.log_in("spare", PASSWORD)
    assert status == 429
    assert "wait 1 s" in text and headers["Retry-After"] == "1"
    assert "user" not in client.cookies
    time.sleep(float(headers["Retry-After"]) + 0.2)
    status, headers, _ = client.log_in("spare", PASSWORD)
    assert status == 302 and headers["Location"] == "/"


def test_unknown_user_takes_as_long_as_a_wrong_password(server: Server):
    client = server.client()
    unknown, wrong = [], []
    for i in range(3):
        token = client.xsrf()
        for user, times in ((f"nobody-{i}", unknown), ("timing", wrong)):
            start = time.perf_counter()
            status, _, _, _ = client.request("POST", "/login", {
                "username": user, "password": "wrong-password", "_xsrf": token})
            times.append(time.perf_counter() - start)
            assert status == 302
    a, b = statistics.median(unknown), statistics.median(wrong)
    assert max(a, b) < 3 * min(a, b), (unknown, wrong)


def test_hashing_does_not_hold_up_other_requests(server: Server):
    """Eight wrong passwords at once (about 0.1 s of scrypt each) while other pages load."""
    results: list[int] = []
    ready = threading.Barrier(FLOOD + 1)

    def attempt(i: int) -> None:
        client = server.client()
        token = client.xsrf()
        ready.wait(timeout=30)
        results.append(client.request("POST", "/login", {
            "username": f"flood-{i}", "password": "wrong-password", "_xsrf": token})[0])

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(FLOOD)]
    for t in threads:
        t.start()
    ready.wait(timeout=30)
    time.sleep(0.02)
    delays: list[float] = []
    while any(t.is_alive() for t in threads) and len(delays) < 50:
        start = time.perf_counter()
        server.client().request("GET", "/favicon.ico")
        delays.append(time.perf_counter() - start)
    for t in threads:
        t.join(timeout=60)
    assert results == [302] * FLOOD
    assert delays and max(delays) < 0.08, delays


# sessions


def test_removed_or_changed_user_loses_the_session(server: Server):
    from coverage_app.auth import add_user

    gone, changed = server.client(), server.client()
    assert gone.log_in("gone", PASSWORD)[0] == 302
    assert changed.log_in("changed", PASSWORD)[0] == 302
    for client in (gone, changed):
        status, _, _, _ = client.request("GET", "/")
        assert status == 200
    users = json.loads(server.users.read_text("utf-8"))
    del users["gone"]
    server.users.write_text(json.dumps(users), "utf-8")
    add_user(server.users, "changed", "a-new-password-2")
    for client in (gone, changed):
        status, _, headers, _ = client.request("GET", "/")
        assert status == 302 and "/login" in headers["Location"]
        assert client.request("GET", "/ws")[0] == 403


def test_autoload_without_log_in_is_refused_cleanly(server: Server):
    client = server.client()
    for path in ("/autoload.js?bokeh-autoload-element=x", "/autoload.js"):
        status, _, _, _ = client.request("GET", path)
        assert status == 403
    status, _, _, _ = client.request("GET", "/ws")
    assert status == 403
    assert "Uncaught exception" not in server.log.read_text()


# limits, without a server


def test_limiter_backs_off_then_locks_out():
    from coverage_app.auth import LoginLimiter

    now = [0.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("planner", "10.0.0.1") == 0
        limiter.attempt("planner", "10.0.0.1")
    waits = []
    for _ in range(6):  # 1, 2, 4, 8, 16, 32 s after each failure
        wait = limiter.retry_after("planner", "10.0.0.1")
        waits.append(wait)
        now[0] += wait
        limiter.attempt("planner", "10.0.0.1")
    assert waits == [1, 2, 4, 8, 16, 32]
    now[0] += 64
    limiter.attempt("planner", "10.0.0.1")  # the 10th failure within 15 minutes
    assert limiter.retry_after("planner", "10.0.0.2") == pytest.approx(15 * 60 - now[0])
    assert limiter.retry_after("someone", "10.0.0.2") == 0  # other names are not locked
    now[0] = 15 * 60 + 0.5  # the first failures are 15 minutes old: 7 left, 16 s back-off past
    assert limiter.retry_after("planner", "10.0.0.2") == 0
    limiter.attempt("planner", "10.0.0.2")
    assert limiter.retry_after("planner", "10.0.0.2") == 32
    when = limiter.attempt("planner", "10.0.0.2")
    limiter.succeeded("planner", "10.0.0.2", when)
    assert limiter.retry_after("planner", "10.0.0.2") == 0
    # one address trying many names
    for i in range(20):
        limiter.attempt(f"name-{i}", "10.0.0.9")
    assert limiter.retry_after("new-name", "10.0.0.9") == 1
    for i in range(30):
        limiter.attempt(f"other-{i}", "10.0.0.9")
    assert limiter.retry_after("new-name", "10.0.0.9") == pytest.approx(15 * 60)


def test_cookie_secret_must_be_strong():
    from coverage_app.auth import check_cookie_secret

    for weak in ("x" * 32, "abcd" * 10, "0123456789abcdef" * 4, "short-secret", "", None):
        with pytest.raises(ValueError, match=r"secrets\.token_urlsafe\(32\)"):
            check_cookie_secret(weak)
    strong = secrets.token_urlsafe(32)
    assert check_cookie_secret(strong) == strong
    assert check_cookie_secret(secrets.token_hex(32))


def test_weak_cookie_secret_refused_by_the_app(demo_city: Path, tmp_path: Path):
    from coverage_app.auth import add_user

    users = tmp_path / "users.json"
    add_user(users, "planner", PASSWORD)
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "COVERAGE_COOKIE_SECRET": "x" * 32}
    done = subprocess.run([str(SCRIPT), "app", str(demo_city), "--no-show", "--users",
                           str(users), "--port", str(_free_port())], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    assert done.returncode == 2
    assert "cookie secret is too weak" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_local_only_without_users():
    from tornado.web import HTTPError

    from coverage_app.auth import LocalOnlyAuthProvider

    provider = LocalOnlyAuthProvider()

    def handler(ip: str) -> SimpleNamespace:
        return SimpleNamespace(request=SimpleNamespace(remote_ip=ip))

    for ip in ("127.0.0.1", "::1", "127.0.1.1"):
        assert provider.get_user(handler(ip)) == "local"
    for ip in ("10.1.2.3", "192.168.0.7", "fe80::1", ""):
        assert provider.get_user(handler(ip)) is None
        with pytest.raises(HTTPError) as raised:
            provider.get_login_url(handler(ip))
        assert raised.value.status_code == 403


def test_address_beyond_localhost_needs_users(demo_city: Path):
    from coverage_app import serve

    for address in ("0.0.0.0", "::", "192.168.1.10"):
        with pytest.raises(ValueError, match="--users"):
            serve(demo_city, address=address, show=False, start=False)
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run([str(SCRIPT), "app", str(demo_city), "--no-show", "--address",
                           "0.0.0.0"], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 2
    assert "--users" in done.stderr and len(done.stderr.strip().splitlines()) == 1


# coverage app-user


def _app_user(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([str(SCRIPT), "app-user", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_app_user_refuses_empty_names_and_short_passwords(tmp_path: Path,
                                                         capfd: pytest.CaptureFixture[str]):
    from coverage_app.auth import add_user

    users = tmp_path / "users.json"
    for name, password, message in (("", PASSWORD, "user name is empty"),
                                     ("  ", PASSWORD, "user name is empty"),
                                     ("planner", "short-pw", "at least 10"),
                                     ("planner", "", "at least 10")):
        # through the console script's entry point, here (the next test starts the script)
        done = run_here(capfd, "app-user", str(users), name, "--password-stdin",
                        stdin=password + "\n")
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
        with pytest.raises(ValueError, match=message):
            add_user(users, name, password)
    assert not users.exists()


def test_app_user_reads_the_password_never_from_the_command_line(tmp_path: Path):
    from coverage import cli
    from coverage_app.auth import verify_password

    users = tmp_path / "users.json"
    done = _app_user(str(users), "planner", "--password", PASSWORD)
    assert done.returncode == 2 and not users.exists()
    done = _app_user(str(users), "planner", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert verify_password(PASSWORD, json.loads(users.read_text("utf-8"))["planner"])
    # asked twice, hidden
    result = CliRunner().invoke(cli.app, ["app-user", str(users), "other"],
                                input="another-password\nanother-password\n")
    assert result.exit_code == 0, result.output
    assert "another-password" not in result.output
    assert verify_password("another-password", json.loads(users.read_text("utf-8"))["other"])


def test_limits_divided_among_server_processes():
    """With two processes each counts its own attempts: together about one process's limits."""
    from coverage_app.auth import LoginLimiter

    one, two = LoginLimiter.shared_by(1), LoginLimiter.shared_by(2)
    assert (one.user_free, one.user_lockout) == (LoginLimiter.user_free, LoginLimiter.user_lockout)
    assert 2 * two.user_lockout <= one.user_lockout + 1
    assert 2 * two.address_lockout <= one.address_lockout + 1
    clock = [0.0]
    limiter = LoginLimiter.shared_by(2)
    limiter.clock = lambda: clock[0]
    for _ in range(two.user_lockout):
        clock[0] += limiter.retry_after("ana", "10.0.0.1")
        limiter.attempt("ana", "10.0.0.1")
    # Locked: the wait is the rest of the window, not a back-off step.
    assert limiter.retry_after("ana", "10.0.0.1") > 5 * 60


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_the_app_listens_on_this_machine_only_by_default(app_url: str):
    """Without --address the app's listening sockets are on the loopback address only."""
    import inspect

    from coverage_app import serve

    assert inspect.signature(serve).parameters["address"].default == "127.0.0.1"
    port = int(app_url.rsplit(":", 1)[1])  # ``coverage app`` without --address
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: listening
                listening.append(address)
    assert listening, "the app's socket was not found"
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert set(listening) <= loopback, listening
