"""Log-in with a file of hashed passwords (Panel's basic auth stores them in plain text).

The users file is JSON, ``{"user": "scrypt$16384$8$1$<salt hex>$<hash hex>"}``, written by
``coverage app-user FILE NAME``. Passwords are checked with :func:`hashlib.scrypt` and
:func:`hmac.compare_digest` in a thread pool (never on the server's event loop); an unknown
user name is checked against a dummy hash, so both take the same time. Failed log-ins are
limited per user name and per client address (:class:`LoginLimiter`, from
:mod:`coverage_app.login_limits`). The log-in form carries an XSRF token; every cookie the
log-in sets is ``HttpOnly`` and ``SameSite=Lax`` (``Secure`` behind TLS). The session cookie
holds a fingerprint of the user's stored hash, checked against the users file on every
request: removing a user or changing their password ends their sessions. The log-in page and
signed cookies are otherwise Panel's.

Without a users file, :class:`LocalOnlyAuthProvider` accepts connections from this machine
only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bokeh.server.auth_provider import AuthProvider
from panel.auth import BasicAuthProvider, BasicLoginHandler, LogoutHandler
from tornado.escape import url_escape
from tornado.web import HTTPError, RequestHandler

from .login_limits import LoginLimiter

__all__ = [
    "HashedAuthProvider",
    "LocalOnlyAuthProvider",
    "LoginLimiter",
    "add_user",
    "check_cookie_secret",
    "check_password",
    "check_user_name",
    "guard_autoload",
    "hash_password",
    "is_local_address",
    "verify_password",
]

log = logging.getLogger(__name__)

_N, _R, _P = 2**14, 8, 1

MIN_PASSWORD_LENGTH = 10
"""Fewest characters of a password set with ``coverage app-user``."""
MAX_PASSWORD_LENGTH = 1024
"""Most characters of a password (longer ones are refused unhashed)."""
MAX_USER_NAME_LENGTH = 100
"""Most characters of a user name."""
MIN_COOKIE_SECRET_LENGTH = 32
"""Fewest characters of the cookie secret."""
TOKEN_COOKIE = "user_token"
"""Signed cookie holding the fingerprint of the user's stored hash."""
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'

_HASH_EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="login-hash")
"""Password hashing runs here: two threads, so a flood of log-ins queues instead of taking
every core, and never blocks the event loop (scrypt releases the GIL)."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return the scrypt hash of a password, with its parameters and salt.

    Parameters
    ----------
    password
        The password.
    salt
        16 random bytes by default.

    Returns
    -------
    str
        ``scrypt$N$r$p$<salt hex>$<hash hex>``.
    """
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password`.

    Parameters
    ----------
    password
        The password typed.
    stored
        The stored hash.

    Returns
    -------
    bool
        True when they match; False for a malformed hash.
    """
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n),
                             r=int(r), p=int(p), dklen=len(digest) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


_DUMMY_HASH = hash_password(os.urandom(16).hex())
"""Checked instead of a real hash for an unknown user name, so it takes as long."""


def check_user_name(name: str) -> str:
    """Return ``name`` if it can be a user name, else raise :class:`ValueError`.

    Parameters
    ----------
    name
        Not empty, no spaces around it, no control characters, at most 100 characters.

    Returns
    -------
    str
        The name.
    """
    if not name.strip():
        raise ValueError("the user name is empty; give a name, e.g. `coverage app-user "
                         "users.json planner`")
    if name != name.strip() or len(name) > MAX_USER_NAME_LENGTH or any(
            unicodedata.category(c).startswith("C") for c in name):
        msg = (f"user name {name!r} is not allowed; use at most {MAX_USER_NAME_LENGTH} "
               "characters, without control characters or spaces around it")
        raise ValueError(msg)
    return name


def check_password(password: str) -> str:
    """Return ``password`` if it is long enough, else raise :class:`ValueError`.

    Parameters
    ----------
    password
        At least 10 and at most 1024 characters.

    Returns
    -------
    str
        The password.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = (f"the password has {len(password)} characters; use at least "
               f"{MIN_PASSWORD_LENGTH} (a phrase of several words is easiest)")
        raise ValueError(msg)
    if len(password) > MAX_PASSWORD_LENGTH:
        msg = f"the password is longer than {MAX_PASSWORD_LENGTH} characters; use a shorter one"
        raise ValueError(msg)
    return password


def check_cookie_secret(secret: str | None) -> str:
    """Return ``secret`` if it is strong enough to sign log-in cookies, else raise ValueError.

    Parameters
    ----------
    secret
        At least 32 characters, at least 10 different ones, not one short piece repeated.

    Returns
    -------
    str
        The secret.
    """
    if not secret:
        msg = ("a log-in needs a cookie secret (--cookie-secret or COVERAGE_COOKIE_SECRET); "
               f"generate one with: {GENERATE_SECRET}")
        raise ValueError(msg)
    repeated = any(len(secret) % k == 0 and secret == secret[:k] * (len(secret) // k)
                   for k in range(1, len(secret) // 2 + 1))
    if len(secret) < MIN_COOKIE_SECRET_LENGTH or len(set(secret)) < 10 or repeated:
        msg = (f"the cookie secret is too weak (at least {MIN_COOKIE_SECRET_LENGTH} random "
               f"characters needed); generate one with: {GENERATE_SECRET}")
        raise ValueError(msg)
    return secret


def is_local_address(address: str | None) -> bool:
    """Whether ``address`` (a host to listen on, or a client's IP) is this machine only.

    Parameters
    ----------
    address
        ``localhost``, a loopback IP (``127.0.0.0/8``, ``::1``), or anything else.

    Returns
    -------
    bool
        True for loopback only; False for ``0.0.0.0``, ``::``, empty or other hosts.
    """
    if not address:
        return False
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _read_users(users_file: Path) -> dict[str, str]:
    users = json.loads(users_file.read_text("utf-8")) if users_file.exists() else {}
    if not isinstance(users, dict):
        raise ValueError(f"{users_file}: not a users file (a JSON object of user: hash)")
    return users


def add_user(users_file: Path, name: str, password: str) -> None:
    """Add or replace a user in the users file (created when missing, file mode 600).

    Replacing a user's password ends their open log-in sessions.

    Parameters
    ----------
    users_file
        The JSON users file.
    name
        The user name (see :func:`check_user_name`).
    password
        The password (see :func:`check_password`).
    """
    check_user_name(name)
    check_password(password)
    users_file = Path(users_file)
    users = _read_users(users_file)
    users[name] = hash_password(password)
    users_file.write_text(json.dumps(users, indent=2, ensure_ascii=False) + "\n", "utf-8")
    users_file.chmod(0o600)


class _Users:
    """The users file, read again whenever it changes on disk."""

    def __init__(self, users_file: Path) -> None:
        self.path = users_file
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self) -> dict[str, str]:
        try:
            st = self.path.stat()
        except OSError:
            log.warning("%s: users file missing; every log-in is refused", self.path)
            return {}
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                try:
                    users = _read_users(self.path)
                except ValueError as exc:  # JSONDecodeError included
                    log.warning("%s: unreadable users file (%s); every log-in is refused",
                                self.path, exc)
                    users = {}
                self._users = {k: v for k, v in users.items()
                               if isinstance(k, str) and isinstance(v, str)}
                self._stamp = stamp
            return self._users


def _fingerprint(user: str, stored: str) -> str:
    """What the session cookie holds of the stored hash: changes with the password."""
    return hashlib.sha256(f"{user}\0{stored}".encode()).hexdigest()[:32]


def _secure_request(handler: RequestHandler, always: bool) -> bool:
    forwarded = handler.request.headers.get("X-Forwarded-Proto", "").split(",")[0]
    return always or handler.request.protocol == "https" or forwarded.strip() == "https"


class _SafeCookies(RequestHandler):
    """Every cookie set by the handler is HttpOnly, SameSite=Lax and Secure behind TLS."""

    secure_cookies = False

    def set_cookie(self, name: str, value: str | bytes, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("httponly", True)
        kwargs.setdefault("samesite", "Lax")
        if _secure_request(self, self.secure_cookies):
            kwargs["secure"] = True
        super().set_cookie(name, value, *args, **kwargs)


class HashedAuthProvider(BasicAuthProvider):
    """Panel's log-in page and cookies, with passwords checked against scrypt hashes.

    Parameters
    ----------
    users_file
        The JSON users file written by :func:`add_user`.
    secure_cookies
        Always mark cookies ``Secure`` (the app is reached over HTTPS through a proxy that
        does not send ``X-Forwarded-Proto: https``).
    limiter
        Limits on failed log-ins (:class:`LoginLimiter` defaults).
    **kwargs
        Panel's :class:`~panel.auth.BasicAuthProvider` options.
    """

    def __init__(self, users_file: Path, *, secure_cookies: bool = False,
                 limiter: LoginLimiter | None = None, **kwargs: Any) -> None:
        self.users_file = Path(users_file)
        if not self.users_file.is_file():
            msg = f"{self.users_file}: no users file; create one with `coverage app-user`"
            raise ValueError(msg)
        self.users = _Users(self.users_file)
        self.secure_cookies = secure_cookies
        self.limiter = limiter or LoginLimiter()
        super().__init__(**kwargs)

    def session_valid(self, user: str, token: bytes) -> bool:
        """Whether a session cookie's token still matches the user in the users file.

        Parameters
        ----------
        user, token
            The signed cookies' user name and token.

        Returns
        -------
        bool
            False once the user is removed or their password changed.
        """
        stored = self.users.get().get(user)
        return stored is not None and hmac.compare_digest(
            _fingerprint(user, stored).encode("ascii"), token)

    def check(self, user: str, password: str) -> str | None:
        """The user's stored hash if the password is right (blocking: runs in a thread).

        An unknown user is checked against a dummy hash, to take as long.

        Parameters
        ----------
        user, password
            As typed.

        Returns
        -------
        str or None
            The stored hash, or None for a wrong password or an unknown user.
        """
        stored = self.users.get().get(user)
        ok = verify_password(password, stored or _DUMMY_HASH)
        return stored if ok and stored is not None else None

    @property
    def get_user(self) -> Callable[[RequestHandler], str | None]:
        base = super().get_user
        from panel.config import config

        def get_user(handler: RequestHandler) -> str | None:
            user = handler.get_signed_cookie("user", max_age_days=config.oauth_expiry)
            token = handler.get_signed_cookie(TOKEN_COOKIE, max_age_days=config.oauth_expiry)
            if not user or not token or not self.session_valid(
                    user.decode("utf-8", "replace"), token):
                return None
            return base(handler)

        return get_user

    @property
    def login_handler(self) -> type[BasicLoginHandler]:
        provider = self
        base = super().login_handler

        class Handler(_SafeCookies, base):  # type: ignore[misc, valid-type]
            secure_cookies = provider.secure_cookies
            _login_template = _LocalImages(base._login_template)

            def _validate(self, username: str, password: str) -> bool:
                """Whether the password is right (blocking)."""
                return provider.check(username, password) is not None

            def _page(self, error: str, status: int) -> None:
                from panel.auth import CDN_DIST

                self.set_status(status)
                xsrf = self.xsrf_form_html()  # a custom template may place it itself
                html = self._login_template.render(login_endpoint=self._login_endpoint,
                                                   errormessage=error, PANEL_CDN=CDN_DIST,
                                                   xsrf_form_html=xsrf)
                self.finish(_with_xsrf(html, xsrf))

            def get(self) -> None:
                from panel.auth import _validate_next_url
                from panel.io.state import state

                next_url = _validate_next_url(self.get_argument("next", state.base_url))
                if next_url:
                    self.set_cookie("next_url", next_url)
                self._page(self.get_argument("error", ""), 200)

            async def post(self) -> None:
                self.check_xsrf_cookie()  # 403 without the form's token
                username = self.get_argument("username", "")
                password = self.get_argument("password", "")
                if not username or not password:
                    self._page("Enter a user name and a password.", 400)
                    return
                address = self.request.remote_ip or ""
                wait = provider.limiter.retry_after(username, address)
                if wait > 0:
                    seconds = math.ceil(wait)
                    self.set_header("Retry-After", str(seconds))
                    span = f"{seconds} s" if seconds <= 90 else f"{math.ceil(seconds / 60)} min"
                    self._page(f"Too many failed log-ins: wait {span} and try again.", 429)
                    return
                when = provider.limiter.attempt(username, address)
                stored = None
                if len(username) <= MAX_USER_NAME_LENGTH and len(password) <= MAX_PASSWORD_LENGTH:
                    stored = await asyncio.get_running_loop().run_in_executor(
                        _HASH_EXECUTOR, provider.check, username, password)
                if stored is None:
                    log.warning("failed log-in for %r from %s", username[:100], address)
                    self.redirect(self.request.path + "?error="
                                  + url_escape("Invalid username or password!"))
                    return
                provider.limiter.succeeded(username, address, when)
                self.set_current_user(username)
                self.set_signed_cookie(TOKEN_COOKIE, _fingerprint(username, stored),
                                       expires_days=_expiry(), path=_cookie_path())
                from panel.auth import _validate_next_url
                from panel.io.state import state

                self.redirect(_validate_next_url(self.get_cookie("next_url", state.base_url)))

        return Handler

    @property
    def logout_handler(self) -> type[LogoutHandler]:
        provider = self
        base = super().logout_handler

        class Handler(_SafeCookies, base):  # type: ignore[misc, valid-type]
            secure_cookies = provider.secure_cookies
            _logout_template = _LocalImages(base._logout_template)

            def get(self) -> None:
                self.clear_cookie(TOKEN_COOKIE, path=_cookie_path())
                super().get()

        return Handler


def _expiry() -> float:
    from panel.config import config

    return config.oauth_expiry


def _cookie_path() -> str:
    from panel.config import config

    return config.cookie_path


class _LocalImages:
    """A log-in or log-out page template showing Panel's logo and icon served by the app.

    Panel's pages take them from its CDN, which the pages' Content-Security-Policy does not
    allow (and which a server without internet access cannot reach).
    """

    def __init__(self, template: Any) -> None:
        self.template = template

    def render(self, **kwargs: Any) -> str:
        from panel.io.resources import LOCAL_DIST

        # relative to /login and /logout, like the app page's own links to static files
        return self.template.render(**{**kwargs, "PANEL_CDN": LOCAL_DIST})


def _with_xsrf(html: str, field_html: str) -> str:
    """The log-in page with the XSRF token's hidden field in its form."""
    if "_xsrf" in html:
        return html
    return html.replace("</form>", field_html + "</form>", 1)


class LocalOnlyAuthProvider(AuthProvider):
    """No log-in, but connections from this machine only (the app served without users).

    Any other client gets 403, page and websocket alike, whatever ``Origin`` it sends.
    """

    @property
    def get_user(self) -> Callable[[RequestHandler], str | None]:
        def get_user(handler: RequestHandler) -> str | None:
            return "local" if is_local_address(handler.request.remote_ip) else None

        return get_user

    @property
    def get_login_url(self) -> Callable[[RequestHandler], str]:
        def refuse(handler: RequestHandler) -> str:
            raise HTTPError(403, "%s: the app accepts connections from this machine only "
                            "(serve it with --users to open it to others)",
                            handler.request.remote_ip)

        return refuse


def guard_autoload() -> None:
    """Make ``/autoload.js`` answer 403 without a log-in (Panel's raises an error instead).

    Replaces Panel's handler in Bokeh's per-application routes, for servers made afterwards.
    """
    from bokeh.server.urls import per_app_patterns
    from panel.io.server import AutoloadJsHandler

    class GuardedAutoloadJsHandler(AutoloadJsHandler):
        async def get(self, *args: Any, **kwargs: Any) -> None:
            if not self.current_user:
                raise HTTPError(403, "autoload.js without a log-in")
            await super().get(*args, **kwargs)

    for i, (pattern, handler, *rest) in enumerate(per_app_patterns):
        if handler is AutoloadJsHandler:
            per_app_patterns[i] = (pattern, GuardedAutoloadJsHandler, *rest)
