"""The planners' web app (Panel): coverage maps, recommendations and click-to-simulate.

``coverage app [PROJECT]`` calls :func:`serve`. The app is thin: state in
:class:`~coverage_app.state.AppState` (``param``, no widgets), views as Panel ``Viewer``s, and
every figure from the library (:class:`coverage.session.PlanningSession`), which never imports
``panel``. Security options (log-in, listening address, allowed origins, upload size) are
described in ``docs/app.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["serve"]

MAX_MESSAGE_BYTES = 5 * 1024 * 1024
"""Largest websocket message the server accepts (uploads come this way)."""


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
    start
        Start the server's loop (blocking); False returns the server for tests.
    """
    import panel as pn

    from coverage.project import load_project

    from .app import CoverageApp, warm
    from .auth import LocalOnlyAuthProvider, guard_autoload, is_local_address
    from .csp import transforms

    logged_in = users_file is not None or bool(
        kwargs.get("oauth_provider") or kwargs.get("basic_auth") or kwargs.get("auth_provider"))
    if not logged_in and not is_local_address(address):
        msg = (f"--address {address or '(all interfaces)'} opens the app to other machines: "
               "add a log-in with --users USERS.json, or keep the default 127.0.0.1")
        raise ValueError(msg)
    parsed = load_project(project)
    origins = allow_origins or [f"localhost:{port}", f"127.0.0.1:{port}"]
    options: dict[str, Any] = {
        "websocket_max_message_size": MAX_MESSAGE_BYTES,
        "title": parsed.name,
        "transforms": transforms(kwargs),  # security headers and the pages' CSP (docs/app.md)
    }
    if users_file is not None:
        from .auth import HashedAuthProvider, check_cookie_secret

        options["cookie_secret"] = check_cookie_secret(cookie_secret)
        options["auth_provider"] = HashedAuthProvider(Path(users_file),
                                                      secure_cookies=secure_cookies)
    elif not logged_in:
        options["auth_provider"] = LocalOnlyAuthProvider()
    guard_autoload()
    warm(parsed)  # after the options are checked: it takes seconds on a whole city
    pn.extension(notifications=False)
    return pn.serve({"/": lambda: CoverageApp(parsed, import_dir=import_dir)}, port=port,
                    address=address, show=show, websocket_origin=origins, start=start,
                    **options, **kwargs)
