"""Security headers on the app's responses: a Content-Security-Policy on every HTML page.

Every response carries ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy:
no-referrer``; every HTML page (the app, the log-in page, error pages) also carries
``X-Frame-Options: DENY`` and the policy of :func:`content_security_policy`. The page's
scripts are allowed by a nonce, a random value new with each response: :class:`SecurityHeaders`,
a tornado output transform installed with :func:`transforms`, writes it into the page's
``<script>`` tags as the page leaves the server (Bokeh's inline scripts change with each
session, so no fixed list of them could be allowed) and into the policy. Without
``'unsafe-inline'``, the browser refuses inline event handlers (``onerror=``, ``onclick=``
...), ``javascript:`` URLs and any script written into the page later (through
``innerHTML``, say): a name that slipped past the escaping still cannot run. The nonce
goes on every script of the page as the server wrote it (Bokeh's and Panel's templates,
which escape what they insert): the policy guards the page against what reaches it later,
in the browser.
"""

from __future__ import annotations

import functools
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from tornado.httputil import HTTPHeaders, HTTPServerRequest
from tornado.web import GZipContentEncoding, OutputTransform

__all__ = ["SecurityHeaders", "add_nonce", "content_security_policy", "tile_origins",
           "transforms"]

_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_TYPE = re.compile(rb"""(?:^|\s)type\s*=\s*["']?\s*([^"'\s>;]*)""", re.IGNORECASE)
_RUNS = {b"", b"module", b"text/javascript", b"application/javascript",
         b"text/ecmascript", b"application/ecmascript"}
"""Types of ``<script>`` that the browser runs; others (``application/json``) are data."""
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
"""A ``Host`` header that may be written into the policy (no spaces, quotes or ``;``)."""

PAGE_HEADERS = {"X-Frame-Options": "DENY"}
"""Headers of every HTML page besides the policy."""
ALL_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
"""Headers of every response."""


def add_nonce(page: bytes, nonce: str) -> tuple[bytes, int]:
    """Write ``nonce="..."`` into every ``<script>`` tag of a page that the browser runs.

    Scripts loaded from the server carry it too (es-module-shims, loaded by Panel, reads it
    from its own tag to allow the scripts it makes); data blocks
    (``type="application/json"``) and the text inside scripts are left alone.

    Parameters
    ----------
    page
        The HTML page, as sent.
    nonce
        The nonce (letters, digits, ``-`` and ``_``).

    Returns
    -------
    bytes
        The page with the nonces.
    int
        How many scripts got one.
    """
    count = 0

    def tag(found: re.Match[bytes]) -> bytes:
        nonlocal count
        kind = _TYPE.search(found.group(1))
        if kind is not None and kind.group(1).lower() not in _RUNS:
            return found.group(0)
        count += 1
        return b'<script nonce="' + nonce.encode("ascii") + b'"' + found.group(0)[7:]

    return _SCRIPT.sub(tag, page), count


@functools.cache
def tile_origins() -> tuple[str, ...]:
    """The origins of the base-map tile servers the map may draw (its image sources).

    Returns
    -------
    tuple of str
        ``https://host`` of every tile source of the map.
    """
    from .mapview import TILES

    return tuple(sorted({f"{p.scheme}://{p.netloc}"
                         for p in (urlsplit(url) for url, _ in TILES.values())}))


def content_security_policy(nonce: str | None = None, *, host: str | None = None) -> str:
    """Return the Content-Security-Policy of one HTML page of the app.

    Parameters
    ----------
    nonce
        The nonce of the page's scripts (:func:`add_nonce`); None: only scripts loaded from
        the server run.
    host
        The request's ``Host`` (``host:port``), for the websocket's address; ignored unless
        it is a plain host name or IP with an optional port.

    Returns
    -------
    str
        The policy.
    """
    # 'self': BokehJS, Panel and their extensions are files served by the app itself.
    # 'unsafe-eval': Panel renders the templates of its ReactiveHTML components, and BokehJS
    # compiles CustomJS callbacks and tick formatters, with `new Function`; it lets scripts
    # that already run evaluate strings, and allows no inline handler or `javascript:` URL.
    scripts = ["'self'", "'unsafe-eval'"]
    if nonce:
        scripts.append(f"'nonce-{nonce}'")
    # The websocket Bokeh opens to this server: 'self' covers ws:/wss: in current browsers,
    # the explicit addresses cover older ones.
    connect = ["'self'"]
    if host and _HOST.fullmatch(host):
        connect += [f"ws://{host}", f"wss://{host}"]
    directives = {
        "default-src": ["'none'"],
        "script-src": scripts,
        # Bokeh and Panel set styles inline, in attributes and in <style> blocks.
        "style-src": ["'self'", "'unsafe-inline'"],
        # icons are data: URLs; the base map's tiles come from the tile servers.
        "img-src": ["'self'", "data:", *tile_origins()],
        "connect-src": connect,
        "base-uri": ["'none'"],
        "form-action": ["'self'"],  # the log-in form posts to the app
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class SecurityHeaders(OutputTransform):
    """Add the security headers to a response; the policy and its nonce to an HTML page.

    Parameters
    ----------
    request
        The request answered.
    """

    def __init__(self, request: HTTPServerRequest) -> None:
        super().__init__(request)
        self.host = request.host

    def transform_first_chunk(self, status_code: int, headers: HTTPHeaders, chunk: bytes,
                              finishing: bool) -> tuple[int, HTTPHeaders, bytes]:
        """Add the headers, and the nonce to the page's scripts.

        Parameters
        ----------
        status_code, headers, chunk
            The response's status, headers and the first part of its body.
        finishing
            Whether ``chunk`` is the whole body (else no script of the page gets a nonce).

        Returns
        -------
        tuple
            The status, the headers and the body.
        """
        if status_code < 200 or status_code in (204, 304):
            return status_code, headers, chunk  # no page: a websocket, or the cached one
        for name, value in ALL_HEADERS.items():
            headers[name] = value
        kind = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "text/html":
            return status_code, headers, chunk
        for name, value in PAGE_HEADERS.items():
            headers[name] = value
        nonce = None
        if finishing:
            nonce = secrets.token_urlsafe(18)
            chunk, count = add_nonce(chunk, nonce)
            if not count:
                nonce = None
            if "Content-Length" in headers:
                headers["Content-Length"] = str(len(chunk))
        headers["Content-Security-Policy"] = content_security_policy(nonce, host=self.host)
        return status_code, headers, chunk


def transforms(kwargs: dict[str, Any]) -> list[type[OutputTransform]]:
    """The output transforms of the app's tornado application, :class:`SecurityHeaders` first.

    Takes ``transforms`` out of ``kwargs`` (options passed on to tornado) and keeps them
    after it, so it sees the body before any compression; with ``compress_response`` and
    no transforms given, tornado's gzip follows, as tornado would add it.

    Parameters
    ----------
    kwargs
        The server's further options; ``transforms`` is removed from it.

    Returns
    -------
    list of type
        The value of the application's ``transforms``.
    """
    given = kwargs.pop("transforms", None)
    if given is None:
        compress = kwargs.get("compress_response") or kwargs.get("gzip")
        given = [GZipContentEncoding] if compress else []
    return [SecurityHeaders, *given]
