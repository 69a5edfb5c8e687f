"""Load on the web app: many sessions at once, their first render and the server's memory.

Run with ``python benchmarks/bench_load.py [--sessions 20] [--repeat 3] [--browser 3]``.
Builds the demo city when missing (and its results, as ``coverage demo`` does), starts
``coverage app`` on it in its own process (the real server, which reads the results and
builds the analysis model before taking visitors), then opens ``--sessions`` sessions at the
same moment, each the way a browser opens one:

1. ``GET /``: the server builds the session's document and answers the page, which carries
   the session's token;
2. the websocket ``/ws`` with the subprotocols ``["bokeh", token]``; the server sends
   ``ACK``, the client asks ``PULL-DOC-REQ`` and the server answers ``PULL-DOC-REPLY`` with
   the whole document (JSON and binary buffers);
3. the client sends what BokehJS sends once the document is shown: a ``PATCH-DOC`` with the
   ``document_ready`` event, which runs the page's ``onload`` callbacks on the server;
4. whatever the server pushes afterwards (``PATCH-DOC``) is part of the first render while
   messages keep coming within the settle window (``--settle``, seconds without a message),
   and for as long as the page still shows no service-point count (the last card is filled
   once the analysis model is loaded: work the server defers to after the page counts).

**First render** is from the ``GET`` to the last message of step 4. It leaves out what
only a browser does (download the scripts, unless ``--assets``, and lay out and draw the
page): ``--browser K`` checks the figure against real Chromium pages (Debian's chromium,
driven by Playwright), ``K`` protocol sessions and ``K`` pages opened at once, alternately,
each page timed from opening to its websocket receiving the document (what the protocol
client times) and to the indicator cards and the map's service points shown (as
``bench_app.py`` does; this adds the browser's own work, drawing the page, which on a
two-core machine competes with the server).

**Server CPU per session**: the server's processor time (user + system, from ``/proc``) over
a round divided by its sessions. The server answers on one thread, so a burst of ``N``
sessions ends after about ``N`` times this when it has a core to itself: on a machine others
share, the wall-clock figures vary with their load (shown as the load average), this much
less.

**Memory**: the server's resident set size (RSS, from ``/proc``) when it is ready, after
one visit (opened and closed, so that what is built once per process is there: the rest
state), and with the ``--sessions`` sessions open; **per extra session** is the growth over
the rest state divided by the number of sessions. The sessions stay open while it is
measured. Each round opens new sessions in the same server. Between rounds the sessions are
closed and the server is left to rest (``--rest``, 35 s by default): Bokeh discards a closed
session's document up to 32 s later (15 s unused, checked every 17 s), and discarding costs
a full garbage collection each; the processor time of that rest, per session, is shown as
**discard CPU**. Each round thus starts from a server at rest, as the first does: a burst of
sessions, not the end of the previous burst. (``--rest 0`` measures bursts that overlap the
previous round's discards.)

Targets (the hardening issue): 20 concurrent sessions of the default demo city on two cores,
first render p95 < 3 s, each extra session < 30 MB. Base-map tiles are blocked (no network
needed); figures are wall-clock on a shared machine: repeat and compare medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_network as bn  # a sibling script, not a package

P95_TARGET_S = 3.0
MB_TARGET = 30.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')
ASSETS = re.compile(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+\.(?:js|css)[^"]*)"')
SITES_CARD = re.compile(rb'data-key=(?:\\+"|&quot;)sites(?:\\+"|&quot;) '
                        rb'data-value=(?:\\+"|&quot;)([^"&\\]*)')
"""The service-point card in the document's JSON: its value is empty until the model is in."""


# -- the server ----------------------------------------------------------------------------


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    """The process and its children (the server's worker processes with ``--processes``)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = [int(c) for c in handle.read().split()]
    except OSError:
        children = []
    return [pid, *children]


def rss_mb(pid: int) -> float:
    """Memory of the server (MB): its resident set size, or with worker processes the sum of
    their proportional set sizes (PSS: pages they share, forked from one parent, are
    counted once)."""
    pids = tree(pid)
    if len(pids) == 1:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_SIZE / 2**20
    total = 0
    for p in pids:
        with open(f"/proc/{p}/smaps_rollup") as handle:
            total += next(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
    return total / 1024


def cpu_s(pid: int) -> float:
    """Processor time the server has used so far, user and system, its workers included
    (seconds)."""
    total = 0
    for p in tree(pid):
        with open(f"/proc/{p}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def load_average() -> float:
    """The machine's load average over the last minute."""
    return os.getloadavg()[0]


class PeakRss:
    """Highest RSS of a process while the ``with`` block runs (sampled every 20 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> PeakRss:
        self.peak = rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def start_server(project: Path, port: int, log: Any,
                 processes: int = 1) -> tuple[subprocess.Popen, float]:
    """Start ``coverage app`` on ``project``; return the process once it answers, and when."""
    script = Path(sys.executable).with_name("coverage")
    proc = subprocess.Popen([str(script), "app", str(project.parent), "--port", str(port),
                             "--no-show", "--processes", str(processes)],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "NO_COLOR": "1"})
    url = f"http://localhost:{port}/"
    start = time.perf_counter()
    while time.perf_counter() - start < 900:
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                if r.status == 200:
                    return proc, time.perf_counter() - start
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the app stopped (see its log)") from None
            time.sleep(0.2)
    raise SystemExit("the app did not start")


# -- one session, the way a browser opens it -------------------------------------------------


@dataclass
class Visit:
    """Timings (seconds from the ``GET``) and sizes of one session's first render."""

    page_s: float = float("nan")
    doc_s: float = float("nan")
    done_s: float = float("nan")
    page_bytes: int = 0
    doc_bytes: int = 0
    patch_bytes: int = 0
    patches: int = 0
    complete: bool = False
    error: str = ""
    socket: Any = field(default=None, repr=False)


class Receiver:
    """Bokeh's message framing: header, metadata, content, then per buffer a header and bytes."""

    def __init__(self) -> None:
        self.parts: list[str | bytes] = []
        self.expected = 3

    def feed(self, fragment: str | bytes) -> tuple[dict, list[str | bytes]] | None:
        """Take one websocket message; return ``(header, parts)`` when a message is whole."""
        self.parts.append(fragment)
        if len(self.parts) == 1:
            header = json.loads(fragment)
            self.expected = 3 + 2 * int(header.get("num_buffers", 0))
        if len(self.parts) < self.expected:
            return None
        parts, self.parts = self.parts, []
        return json.loads(parts[0]), parts


def _size(parts: list[str | bytes]) -> int:
    return sum(len(p) for p in parts)


def _sites_shown(parts: list[str | bytes], shown: bool) -> bool:
    """Whether the service-point card has a value after this message (``shown`` before it)."""
    content = parts[2].encode() if isinstance(parts[2], str) else parts[2]
    values = SITES_CARD.findall(content)
    return bool(values[-1]) if values else shown


def document_ready() -> list[str]:
    """The ``PATCH-DOC`` BokehJS sends when the document is shown (``document_ready``)."""
    from bokeh.document import Document
    from bokeh.document.events import MessageSentEvent
    from bokeh.events import DocumentReady
    from bokeh.protocol import Protocol

    event = MessageSentEvent(Document(), "bokeh_event", DocumentReady())
    message = Protocol().create("PATCH-DOC", [event])
    return [message.header_json, message.metadata_json, message.content_json]


def pull_doc_req() -> list[str]:
    """The ``PULL-DOC-REQ`` message."""
    from bokeh.protocol import Protocol

    message = Protocol().create("PULL-DOC-REQ")
    return [message.header_json, message.metadata_json, message.content_json]


async def _assets(client: Any, base: str, page: str) -> None:
    """Download the page's scripts and style sheets, as a browser with an empty cache does."""
    urls = {base + u.lstrip("./") for u in ASSETS.findall(page) if "://" not in u}
    await asyncio.gather(*(client.fetch(u, raise_error=False) for u in urls))


async def visit(base: str, *, settle: float, timeout: float, assets: bool = False) -> Visit:
    """Open one session as a browser does (page, websocket, document, ready, patches)."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    out = Visit()
    client = AsyncHTTPClient(force_instance=True, max_clients=4)
    origin = base.rstrip("/")
    start = time.perf_counter()
    try:
        response = await client.fetch(base, request_timeout=timeout, connect_timeout=timeout)
        page = response.body.decode()
        out.page_s = time.perf_counter() - start
        out.page_bytes = len(response.body)
        found = TOKEN.search(page)
        if found is None:
            out.error = "no session token in the page"
            return out
        if assets:
            await _assets(client, base, page)
        ws_url = origin.replace("http", "ws", 1) + "/ws"
        request = HTTPRequest(ws_url, headers={"Origin": origin}, connect_timeout=timeout,
                              request_timeout=timeout)
        sock = await websocket_connect(request, subprotocols=["bokeh", found.group(1)],
                                       max_message_size=1 << 30)
        out.socket = sock
        receiver = Receiver()
        deadline = start + timeout
        shown = False

        async def message(wait: float) -> tuple[dict, list[str | bytes]] | None:
            while True:
                fragment = await asyncio.wait_for(sock.read_message(), wait)
                if fragment is None:
                    msg = "the server closed the websocket"
                    raise ConnectionError(msg)
                whole = receiver.feed(fragment)
                if whole is not None:
                    return whole

        header, parts = await message(deadline - time.perf_counter())
        if header["msgtype"] != "ACK":
            out.error = f"expected ACK, got {header['msgtype']}"
            return out
        for part in pull_doc_req():
            await sock.write_message(part)
        while True:
            header, parts = await message(deadline - time.perf_counter())
            if header["msgtype"] == "PULL-DOC-REPLY":
                break
            if header["msgtype"] == "ERROR":
                out.error = str(parts[2])[:200]
                return out
        out.doc_s = out.done_s = time.perf_counter() - start
        out.doc_bytes = _size(parts)
        shown = _sites_shown(parts, shown)
        for part in document_ready():
            await sock.write_message(part)
        while True:
            wait = settle if shown else deadline - time.perf_counter()
            try:
                header, parts = await message(max(wait, 0.001))
            except TimeoutError:
                break
            if header["msgtype"] == "PATCH-DOC":
                out.done_s = time.perf_counter() - start
                out.patches += 1
                out.patch_bytes += _size(parts)
                shown = _sites_shown(parts, shown)
        out.complete = shown
        if not shown:
            out.error = "the service-point card was still empty at the time limit"
    except (OSError, TimeoutError, ConnectionError, ValueError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        client.close()
    return out


def close_all(visits: list[Visit]) -> None:
    """Close the sessions' websockets."""
    for v in visits:
        if v.socket is not None:
            v.socket.close()
            v.socket = None


# -- rounds ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ``values``, linear between ranks (NumPy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Round:
    """One burst of sessions: their visits and the server's memory."""

    visits: list[Visit]
    rest_mb: float
    open_mb: float
    peak_mb: float
    wall_s: float
    cpu_s: float
    load: float
    discard_cpu_s: float = float("nan")

    @property
    def renders(self) -> list[float]:
        """First-render times of the sessions that completed."""
        return [v.done_s for v in self.visits if not v.error]

    @property
    def cpu_per_session_s(self) -> float:
        """Server processor time per session."""
        return self.cpu_s / max(len(self.visits), 1)

    @property
    def discard_cpu_per_session_s(self) -> float:
        """Server processor time per session in the rest after the round (its discarding)."""
        return self.discard_cpu_s / max(len(self.visits), 1)

    @property
    def per_session_mb(self) -> float:
        """Growth of the server's RSS per open session."""
        return (self.open_mb - self.rest_mb) / max(len(self.visits), 1)


async def burst(base: str, n: int, pid: int, args: argparse.Namespace) -> Round:
    """Open ``n`` sessions at once; measure them and the server's memory while they are open."""
    await asyncio.sleep(0.5)
    rest = rss_mb(pid)
    load = load_average()
    with PeakRss(pid) as peak:
        start, cpu = time.perf_counter(), cpu_s(pid)
        visits = await asyncio.gather(*(visit(base, settle=args.settle, timeout=args.timeout,
                                              assets=args.assets) for _ in range(n)))
        wall = time.perf_counter() - start
        cpu = cpu_s(pid) - cpu  # the settle windows are idle time, not work
        await asyncio.sleep(1.0)  # sessions open, nothing in flight
        opened = rss_mb(pid)
    return Round(list(visits), rest, opened, peak.peak, wall, cpu, load)


def show_round(label: str, r: Round) -> None:
    """Print one round's figures."""
    ok = r.renders
    errors = [v.error for v in r.visits if v.error]
    pages = [v.page_s for v in r.visits if not v.error]
    docs = [v.doc_s for v in r.visits if not v.error]
    mean = statistics.mean
    print(f"  {label}: {len(ok)}/{len(r.visits)} rendered; first render "
          f"p50 {pct(ok, 0.5):.2f} s, p95 {pct(ok, 0.95):.2f} s, max {max(ok, default=0):.2f} s"
          f" (page p50 {pct(pages, 0.5):.2f} s, document p50 {pct(docs, 0.5):.2f} s); server "
          f"CPU {1000 * r.cpu_per_session_s:.0f} ms per session; load average {r.load:.1f}",
          flush=True)
    if ok:
        good = [v for v in r.visits if not v.error]
        print(f"      per session: page {mean([v.page_bytes for v in good]) / 1e3:.0f} kB, "
              f"document {mean([v.doc_bytes for v in good]) / 1e6:.2f} MB, "
              f"{mean([v.patches for v in good]):.1f} patches "
              f"{mean([v.patch_bytes for v in good]) / 1e3:.0f} kB after it; RSS "
              f"{r.rest_mb:.0f} → {r.open_mb:.0f} MB (peak {r.peak_mb:.0f}), "
              f"{r.per_session_mb:.1f} MB per session", flush=True)
    for error in sorted(set(errors)):
        print(f"      error ×{errors.count(error)}: {error}", flush=True)


# -- the browser cross-check -----------------------------------------------------------------


async def browser_pages(url: str, k: int, chromium: str) -> list[tuple[float, ...]]:
    """Open ``k`` Chromium pages at once (each with an empty cache); seconds to three moments.

    The websocket opened (the page and its scripts loaded and run), the document received
    (the websocket gets ``PULL-DOC-REPLY``) and the document shown (the indicator cards have
    every figure and the map is drawn).
    """
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            pages = []
            for _ in range(k):
                context = await browser.new_context(viewport={"width": 1400, "height": 1000})
                page = await context.new_page()
                await page.route("http*://*.openstreetmap.org/**", lambda r: r.abort())
                pages.append(page)

            async def one(page: Any) -> tuple[float, ...]:
                opened: list[float] = []
                received: list[float] = []

                def frame(payload: str | bytes) -> None:
                    if isinstance(payload, str) and '"PULL-DOC-REPLY"' in payload[:200]:
                        received.append(time.perf_counter())

                def socket_opened(ws: Any) -> None:
                    opened.append(time.perf_counter())
                    ws.on("framereceived", frame)

                page.on("websocket", socket_opened)
                start = time.perf_counter()
                await page.goto(url)
                await expect(page.locator(".cov-card[data-key=sites] .cov-card-value")
                             ).not_to_have_text("…", timeout=120_000)
                await page.locator("canvas").first.wait_for(timeout=120_000)
                shown = time.perf_counter() - start
                first = [t[0] - start if t else float("nan") for t in (opened, received)]
                return (*first, shown)

            return list(await asyncio.gather(*(one(page) for page in pages)))
        finally:
            await browser.close()


async def cross_check(base: str, k: int, args: argparse.Namespace) -> None:
    """``k`` protocol sessions and ``k`` Chromium pages at once, alternately, side by side."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("  (no chromium: install Debian's chromium for the browser cross-check)")
        return
    protocol, opened, received, shown = [], [], [], []
    for _ in range(args.repeat):
        visits = await asyncio.gather(*(visit(base, settle=args.settle, timeout=args.timeout,
                                              assets=args.assets) for _ in range(k)))
        close_all(list(visits))
        protocol.extend(v.done_s for v in visits if not v.error)
        await asyncio.sleep(1.0)
        pages = await browser_pages(base, k, chromium)
        opened.extend(p[0] for p in pages)
        received.extend(p[1] for p in pages)
        shown.extend(p[2] for p in pages)
        await asyncio.sleep(1.0)
    print(f"  {k} at once, {args.repeat} rounds, p50 (max):", flush=True)
    print(f"    protocol client, first render         {pct(protocol, 0.5):6.2f} s "
          f"({max(protocol, default=0):.2f})", flush=True)
    print(f"    Chromium, websocket opened           {pct(opened, 0.5):6.2f} s "
          f"({max(opened, default=0):.2f})", flush=True)
    print(f"    Chromium, document received          {pct(received, 0.5):6.2f} s "
          f"({max(received, default=0):.2f})", flush=True)
    print(f"    Chromium, cards and map shown        {pct(shown, 0.5):6.2f} s "
          f"({max(shown, default=0):.2f})", flush=True)


# -- main ------------------------------------------------------------------------------------


async def run(base: str, pid: int, args: argparse.Namespace) -> list[Round]:
    """The warm-up visit, the rounds and the cross-check."""
    started = rss_mb(pid)
    warm = await visit(base, settle=args.settle, timeout=args.timeout, assets=args.assets)
    close_all([warm])
    if warm.error:
        raise SystemExit(f"the first visit failed: {warm.error}")
    print(f"first visit alone: first render {warm.done_s:.2f} s (page {warm.page_s:.2f} s, "
          f"document {warm.doc_s:.2f} s, {warm.doc_bytes / 1e6:.2f} MB, {warm.patches} "
          f"patches); server RSS ready {started:.0f} MB", flush=True)
    rounds = []
    print(f"{args.sessions} sessions at once:", flush=True)
    for k in range(args.repeat):
        r = await burst(base, args.sessions, pid, args)
        show_round(f"round {k + 1}", r)
        close_all(r.visits)
        if args.rest > 0:
            cpu = cpu_s(pid)
            await asyncio.sleep(args.rest)
            r.discard_cpu_s = cpu_s(pid) - cpu
            print(f"      closed; rest {args.rest:g} s: discard CPU "
                  f"{1000 * r.discard_cpu_per_session_s:.0f} ms per session", flush=True)
        rounds.append(r)
    if args.browser:
        print("browser cross-check:", flush=True)
        await cross_check(base, args.browser, args)
    return rounds


def summary(rounds: list[Round], n: int, processes: int = 1) -> None:
    """The medians over the rounds, beside the targets."""
    cpu = statistics.median(r.cpu_per_session_s for r in rounds)
    p50 = statistics.median(pct(r.renders, 0.5) for r in rounds)
    p95 = statistics.median(pct(r.renders, 0.95) for r in rounds)
    worst = statistics.median(max(r.renders, default=float("nan")) for r in rounds)
    failed = sum(len(r.visits) - len(r.renders) for r in rounds)
    first = rounds[0]
    note = f" ({failed} sessions failed)" if failed else ""
    print(f"\n{n} sessions at once, median of {len(rounds)} rounds{note}:")
    print(f"  {'':32}{'measured':>12}{'target':>12}")
    print(f"  {'first render p50':32}{p50:>10.2f} s")
    print(f"  {'first render p95':32}{p95:>10.2f} s{'< ' + f'{P95_TARGET_S:g} s':>12}  "
          f"{'ok' if p95 < P95_TARGET_S else 'MISSED'}")
    print(f"  {'first render max':32}{worst:>10.2f} s")
    per = f"{1000 * P95_TARGET_S * processes / n:.0f} ms"
    print(f"  {'server CPU per session':32}{1000 * cpu:>9.0f} ms{'< ' + per:>12}  "
          f"(p95 target × processes / sessions)")
    discard = statistics.median(r.discard_cpu_per_session_s for r in rounds)
    if discard == discard:  # not NaN: rested between rounds
        print(f"  {'discard CPU per closed session':32}{1000 * discard:>9.0f} ms")
    print(f"  {'MB per extra session (round 1)':32}{first.per_session_mb:>9.1f} MB"
          f"{'< ' + f'{MB_TARGET:g} MB':>12}  "
          f"{'ok' if first.per_session_mb < MB_TARGET else 'MISSED'}")
    print(f"  {'server RSS at rest → open':32}{first.rest_mb:>7.0f} → {first.open_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", choices=["small", "default", "large"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demo-dir", type=Path, default=None)
    parser.add_argument("--sessions", type=int, default=20, help="Sessions at once (20).")
    parser.add_argument("--processes", type=int, default=1,
                        help="The app's server processes (coverage app --processes).")
    parser.add_argument("--repeat", type=int, default=3, help="Rounds (3).")
    parser.add_argument("--rest", type=float, default=35.0,
                        help="Seconds between rounds for the server to discard the closed "
                             "sessions (35; 0: none).")
    parser.add_argument("--settle", type=float, default=1.0,
                        help="Seconds without a message that end a first render (1).")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="Longest wait for one session (s).")
    parser.add_argument("--assets", action="store_true",
                        help="Also download the page's scripts, as an empty browser cache does.")
    parser.add_argument("--browser", type=int, default=0, metavar="K",
                        help="Cross-check with K Chromium pages at once (0: none).")
    parser.add_argument("--log", type=Path, default=None, help="File for the server's output.")
    args = parser.parse_args()

    from coverage.engine.run import run_study, write_results

    project = bn.demo_project(args.size, args.seed, args.demo_dir)
    if not (project.parent / "results" / "results.gpkg").exists():
        print("computing the results ...", flush=True)
        write_results(run_study(project))
    port = _port()
    with open(args.log or os.devnull, "w") as log:
        proc, ready = start_server(project, port, log, args.processes)
        try:
            print(f"server ready (results read, model built) in {ready:.1f} s; "
                  f"{os.cpu_count()} cores", flush=True)
            rounds = asyncio.run(run(f"http://localhost:{port}/", proc.pid, args))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    summary(rounds, args.sessions, args.processes)


if __name__ == "__main__":
    main()
