"""The planners' web app (Panel): coverage maps, recommendations and click-to-simulate.

``coverage app [PROJECT]`` calls :func:`serve`. The app is thin: state in
:class:`~coverage_app.state.AppState` (``param``, no widgets), views as Panel ``Viewer``s, and
every figure from the library through :mod:`coverage.engine.session` (the planning session,
which never imports ``panel``), every word and colour through :mod:`coverage.publish.labels`:
the app imports nothing else of the library (a contract in ``pyproject.toml``). Security
options (log-in, listening address, allowed origins, upload size) are described in
``docs/app.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coverage.engine.session import Project

__all__ = ["serve"]

STATIC = str(Path(__file__).with_name("static"))
"""The app's own static files (served at ``/coverage-static/``)."""

MAX_MESSAGE_BYTES = 5 * 1024 * 1024
"""Largest websocket message the server accepts (uploads come this way)."""


def _exit_with_parent() -> None:
    """In a forked worker: be stopped when the first process goes (Linux), as with Ctrl-C."""
    import ctypes
    import ctypes.util
    import signal

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the workers outlive a killed parent
        pass


def serve(
    project: str | Path,
    *,
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = True,
    allow_origins: list[str] | None = None,
    users_file: str | Path | None = None,
    cookie_secret: str | None = None,
    secure_cookies: bool = False,
    import_dir: str | Path | None = None,
    processes: int = 1,
    start: bool = True,
    **kwargs: Any,
) -> Any:
    """Serve the app on ``port`` for ``project`` (a folder or ``project.toml``).

    Parameters
    ----------
    project
        The project.
    port, address
        Where to listen: this machine only by default. Any address other than
        ``127.0.0.1``, ``::1`` or ``localhost`` (e.g. ``0.0.0.0``, all interfaces) needs a
        log-in (``users_file``, or Panel's ``oauth_provider``); without one, only connections
        from this machine are accepted.
    show
        Open a browser tab.
    allow_origins
        Hosts (``host:port``) allowed to open the app's websocket; default only this
        machine's ``localhost:port`` and ``127.0.0.1:port``.
    users_file
        JSON file of ``{user: hash}`` made with ``coverage app-user``: log-in required.
    cookie_secret
        Secret for signing log-in cookies (required with ``users_file``; at least 32 random
        characters).
    secure_cookies
        Mark the log-in cookies ``Secure`` (served over HTTPS by a proxy that does not send
        ``X-Forwarded-Proto: https``; with that header, or TLS, they are marked anyway).
    import_dir
        Server-side folder where the import page saves new projects (default ``imports/`` in
        the project's folder).
    processes
        Server processes (forked once the results are read and the analysis model is built,
        so that they share it). A page is made by the process that takes its websocket (the
        first request of a page answers with the same page shell for everyone:
        ``reuse_sessions``), so no session has to stay with one process. Log-in attempt
        limits are kept per process and divided among them.
    start
        Start the server's loop (blocking); False returns the server for tests.
    """
    import panel as pn

    from coverage.engine.session import load_project

    from .app import warm
    from .auth import guard_autoload

    logged_in = _check_address(address, users_file, kwargs)
    parsed = load_project(project)
    origins = allow_origins or [f"localhost:{port}", f"127.0.0.1:{port}"]
    options = _options(parsed.name, kwargs, logged_in=logged_in, users_file=users_file,
                       cookie_secret=cookie_secret, secure_cookies=secure_cookies,
                       processes=processes)
    guard_autoload()
    _skip_document_checks()
    warm(parsed)  # after the options are checked: it takes seconds on a whole city
    pn.extension(notifications=False)
    _add_static_files(options, kwargs)
    if processes > 1:
        _share_among_processes(options, processes, start=start)
    return pn.serve(_pages(parsed, import_dir), port=port, address=address, show=show,
                    websocket_origin=origins, start=start, **options, **kwargs)


def _check_address(address: str, users_file: str | Path | None, kwargs: dict[str, Any]) -> bool:
    """Whether a log-in is asked for; refuse to listen beyond this machine without one."""
    from .auth import is_local_address

    logged_in = users_file is not None or bool(
        kwargs.get("oauth_provider") or kwargs.get("basic_auth") or kwargs.get("auth_provider"))
    if not logged_in and not is_local_address(address):
        msg = (f"--address {address or '(all interfaces)'} opens the app to other machines: "
               "add a log-in with --users USERS.json, or keep the default 127.0.0.1")
        raise ValueError(msg)
    return logged_in


def _options(title: str, kwargs: dict[str, Any], *, logged_in: bool,
             users_file: str | Path | None, cookie_secret: str | None, secure_cookies: bool,
             processes: int) -> dict[str, Any]:
    """The server's options: message size, title, security headers and the log-in."""
    from .auth import LocalOnlyAuthProvider
    from .csp import transforms

    options: dict[str, Any] = {
        "websocket_max_message_size": MAX_MESSAGE_BYTES,
        "title": title,
        "transforms": transforms(kwargs),  # security headers and the pages' CSP (docs/app.md)
        # No URL syncing (pn.state.location): the pages read their ?lang= from the request.
        # Its first report from the browser also made Panel drop the page's style-sheet
        # cache, so the first update of every pane re-sent and re-applied its style sheets
        # (a quarter of a second more for a page's first click on the map).
        "location": False,
    }
    if users_file is not None:
        from .auth import HashedAuthProvider, LoginLimiter, check_cookie_secret

        options["cookie_secret"] = check_cookie_secret(cookie_secret)
        options["auth_provider"] = HashedAuthProvider(
            Path(users_file), secure_cookies=secure_cookies,
            limiter=LoginLimiter.shared_by(processes))
    elif not logged_in:
        options["auth_provider"] = LocalOnlyAuthProvider()
    return options


def _skip_document_checks() -> None:
    """Turn off Bokeh's checks of every new page's models.

    They look for programming mistakes (tens of milliseconds a page, a tenth of its making);
    the test suite builds the pages with the checks on.
    """
    from bokeh.settings import settings as bokeh_settings

    bokeh_settings.perform_document_validation.set_value(False)


def _add_static_files(options: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """Serve the app's static files, with a fix for maps whose base-map tiles fail to load.

    ``static/tiles.js`` says why; static folders passed in ``kwargs`` are kept beside it.
    """
    import panel as pn

    options["static_dirs"] = {**kwargs.pop("static_dirs", {}), "coverage-static": STATIC}
    pn.config.js_files = {**pn.config.js_files, "coverage_tiles": "coverage-static/tiles.js"}


def _share_among_processes(options: dict[str, Any], processes: int, *, start: bool) -> None:
    """Set the server up to run in ``processes`` forked processes sharing one socket."""
    import panel as pn

    if not start:
        msg = "several processes need the server started here (start=True)"
        raise ValueError(msg)
    # The page shell answered to a GET is the same for every session; the session
    # itself is made when its websocket arrives, in whichever process takes it.
    pn.config.reuse_sessions = True
    options["num_procs"] = processes
    os.register_at_fork(after_in_child=_exit_with_parent)
    # The workers share one listening socket. Tornado accepts up to 128 waiting
    # connections each time a worker wakes, so one worker took most of a burst while the
    # other idled; accepting one at a time hands each connection to a worker that is
    # free to take it. (The listen backlog, set when the socket was made, is unchanged.)
    import tornado.netutil

    tornado.netutil._DEFAULT_BACKLOG = 1


def _pages(parsed: Project, import_dir: str | Path | None) -> dict[str, Callable[[], Any]]:
    """The app's pages by path: the map (``/``) and the import of a new project.

    With a PostGIS store the map's page starts with the database log-in
    (:class:`~coverage_app.reader_view.StoreLogin`).
    """
    import panel as pn

    from .app import CoverageApp
    from .import_view import ImportPage
    from .reader_view import StoreLogin

    imports = Path(import_dir) if import_dir is not None else parsed.folder / "imports"
    network = parsed.layers["network"].path

    def page_language() -> str | None:
        """The language a link asked for (``?lang=en``), else the project's."""
        asked = (pn.state.session_args or {}).get("lang") or [b""]
        return asked[0].decode("ascii", "replace") if asked[0] in (b"zh", b"en") else None

    def map_page() -> pn.viewable.Viewer:
        lang = page_language()
        if parsed.store_url is None:
            return CoverageApp(parsed, lang=lang)
        # a PostGIS store: the database's log-in decides what the page may read
        return StoreLogin(parsed, lang=lang or parsed.language or "zh",
                          planning_page=lambda reader: CoverageApp(parsed, lang=lang,
                                                                   reader=reader))

    def import_page() -> ImportPage:
        return ImportPage(imports, network=network,
                          lang=page_language() or parsed.language or "zh")

    return {"/": map_page, "/import": import_page}
