"""The planners' web app (Panel): coverage maps, recommendations and click-to-simulate.

``coverage app [PROJECT]`` calls :func:`serve`. The app is thin: state in
:class:`~coverage_app.state.AppState` (``param``, no widgets), views as Panel ``Viewer``s, and
every figure from the library (:class:`coverage.session.PlanningSession`), which never imports
``panel``. Security options (login, allowed origins, upload size) are described in
``docs/app.md``.
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
    address: str | None = None,
    show: bool = True,
    allow_origins: list[str] | None = None,
    users_file: str | Path | None = None,
    cookie_secret: str | None = None,
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
        Where to listen (``address`` None: all interfaces Tornado chooses, localhost by
        default in Bokeh).
    show
        Open a browser tab.
    allow_origins
        Hosts (``host:port``) allowed to open the app's websocket; default only this
        machine's ``localhost:port`` and ``127.0.0.1:port``.
    users_file
        JSON file of ``{user: hash}`` made with ``coverage app-user``: log-in required.
    cookie_secret
        Secret for signing log-in cookies (required with ``users_file``).
    import_dir
        Server-side folder where the import page saves new projects (default ``imports/`` in
        the project's folder).
    start
        Start the server's loop (blocking); False returns the server for tests.
    """
    import panel as pn

    from coverage.project import load_project

    from .app import CoverageApp, warm

    parsed = load_project(project)
    origins = allow_origins or [f"localhost:{port}", f"127.0.0.1:{port}"]
    options: dict[str, Any] = {
        "websocket_max_message_size": MAX_MESSAGE_BYTES,
        "title": parsed.name,
    }
    if users_file is not None:
        from .auth import HashedAuthProvider

        if not cookie_secret:
            msg = "a log-in needs a cookie secret (--cookie-secret or COVERAGE_COOKIE_SECRET)"
            raise ValueError(msg)
        options["auth_provider"] = HashedAuthProvider(Path(users_file))
        options["cookie_secret"] = cookie_secret
    warm(parsed)  # after the options are checked: it takes seconds on a whole city
    pn.extension(notifications=False)
    return pn.serve({"/": lambda: CoverageApp(parsed, import_dir=import_dir)}, port=port,
                    address=address, show=show, websocket_origin=origins, start=start,
                    **options, **kwargs)
