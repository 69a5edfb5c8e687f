"""Everything the web app sends to a browser in a planner's session, checked for privacy.

The real server (``coverage app`` on the small demo city) runs in its own process; the test
is the browser, at the protocol level (:mod:`bokeh_client`): it reads the page, opens the
websocket, pulls the document and then uses the page as a planner would, in Chinese and then
in English: every map layer switched on, every shading, threshold and district, a kind of
service point, the Amap base map, every tab, a recommendation computed and applied, a
service point added by a click on the map, a scenario saved and downloaded, the report
downloaded as a spreadsheet. Every message the server sends (JSON frames and binary buffers,
decoded to numpy arrays by the dtype and shape their references give) is recorded, and then:

* no person id (of the migrants file, or of the registered residents' buildings) appears in
  any text, downloaded files included;
* no pair of numbers sent together (a data source's columns row by row, a table's columns,
  neighbours in an array or a text) equals a migrant's residence or workplace or a registered
  residents' building, in WGS-84, GCJ-02, Web Mercator of either or the study's projected
  CRS, to the precision of the file;
* every published count of people (hexagon densities, the tables' and the spreadsheet's
  migrant, resident and indicator-group columns, the newly covered migrants of a new service
  point) is 0, at least the project's ``min_cell``, or suppressed; every map column and
  indicator card is known to count people or not;
* under the Amap base map the service points are drawn at ``wgs84_to_gcj02`` of their WGS-84
  position (the sites file's GCJ-02 through :mod:`coverage.crs`), in Web Mercator.

Each check can fail: ``COVERAGE_WIRE_SABOTAGE=suppression`` (no small-cell suppression),
``person`` (a service point named by a person id, at the person's residence) or ``shift``
(no GCJ-02 shift) starts the server with that protection removed, through a
``sitecustomize`` module written for the run; the matching test then fails.
:func:`test_checks_find_planted_leaks` shows the same on a made-up message, without a server.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import sys
import textwrap
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import pytest

from appserver import run_app
from bokeh_client import BokehClient, Message, Model, decode
from coverage.crs import gcj02_to_wgs84, wgs84_to_gcj02

SABOTAGE = os.environ.get("COVERAGE_WIRE_SABOTAGE", "")

#: Columns (and, through :func:`coverage.maps.column_label`, their labels) that count people.
COUNT_COLUMNS = ("migrants", "registered_pop", "unreachable_migrants", "people_needed",
                 "population", "achieved", "migrants_newly_within")
#: Columns of the map's data sources and what they hold: a new one must be classified here.
SOURCE_COLUMNS = {
    "xs": "coordinates", "ys": "coordinates", "x": "coordinates", "y": "coordinates",
    "value": "indicator of a community (share, staff per 1,000, gap, accessibility)",
    "label": "the value as text", "cls": "the colour class of the value (legend text)",
    "name": "name of a community or service point",
    "size": "marker size from staff", "color": "colour", "line": "outline colour",
    "site_id": "service point id", "staff_text": "staff of a service point",
    "width": "line width of an origin flow", "migrants": "people per hexagon (a count)",
}
#: The indicator cards and what they show: none counts people; a new card must be added here.
CARD_KINDS = {
    "coverage": "share of migrants", "registered": "share of registered residents",
    "gap": "difference of shares", "shortfall": "staff (FTE)", "sites": "service points",
    "indicators": "plan indicators met",
}
SUPPRESSED_TEXT = {"", "—", "-", "<NA>", "NA", "NaN", "nan", "None", "*", "…"}

# -- the server -----------------------------------------------------------------------------


_SITECUSTOMIZE = {
    # no small-cell suppression anywhere: every mask says "publish"
    "suppression": """
        import numpy as np
        import coverage.publish.disclosure as d

        def suppression_mask(counts, *, min_cell=10, hidden=None, **_):
            n, m = np.shape(counts)
            return np.zeros((n + 1, m + 1), dtype=bool)

        d.suppression_mask = suppression_mask
        d.shown_rows = lambda table, min_cell=10: np.ones(len(table), dtype=bool)
    """,
    # a service point that is a person: named by the first migrant's id, at their residence
    "person": """
        import pandas as pd
        import geopandas as gpd
        from coverage.engine import session as s

        _sites = s.PlanningSession._sites

        def _leaky(self, edits):
            sites = _sites(self, edits)
            person = self.model.study.migrants.iloc[[0]]
            row = gpd.GeoDataFrame({
                "site_id": ["S-leak"], "name": [str(person["person_id"].iloc[0])],
                "kind": [sites["kind"].iloc[0]], "staff": [1.0], "added": [False]},
                geometry=person.geometry.to_numpy(), crs=person.crs).to_crs(sites.crs)
            return pd.concat([sites, row], ignore_index=True)

        s.PlanningSession._sites = _leaky
    """,
    # overlays left in WGS-84 under the Amap base map
    "shift": """
        import coverage.crs as c

        c.wgs84_to_gcj02 = lambda lon, lat: (lon, lat)
    """,
}


def _sabotage_env(folder: Path) -> dict[str, str]:
    """``PYTHONPATH`` with a ``sitecustomize`` removing the protection ``SABOTAGE`` names."""
    if not SABOTAGE:
        return {}
    unknown = set(SABOTAGE.split(",")) - set(_SITECUSTOMIZE)
    if unknown:
        msg = (f"COVERAGE_WIRE_SABOTAGE={SABOTAGE!r}: unknown {sorted(unknown)}; use "
               f"{', '.join(_SITECUSTOMIZE)} (comma-separated)")
        raise ValueError(msg)
    code = "\n".join(textwrap.dedent(_SITECUSTOMIZE[k]) for k in SABOTAGE.split(","))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(code, encoding="utf-8")
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path}


# -- driving the page -----------------------------------------------------------------------


@dataclass
class Capture:
    """What the browser was sent, and what it saw at a few moments."""

    messages: list[Message]
    frames: list[str | bytes]
    page: str
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)  # base map → sites data
    tiles: dict[str, str] = field(default_factory=dict)  # base map → tile URL
    steps: list[tuple[str, float]] = field(default_factory=list)  # what was done, seconds
    layers: list[str] = field(default_factory=list)  # the map's layers with data at the end
    retried: list[str] = field(default_factory=list)  # changes the page missed the first time
    seconds: float = 0.0


def _options(model: Model) -> list[str]:
    return [o[0] if isinstance(o, list | tuple) else o for o in model.get("options", [])]


class Page:
    """The app's controls as the browser knows them, found by what they hold, not by label."""

    def __init__(self, client: BokehClient, thresholds: list[float],
                 districts: list[str]) -> None:
        self.client = client
        self.doc = client.doc
        self.thresholds = [f"{t:g}" for t in thresholds]
        self.districts = sorted(districts)

    def language(self) -> Model:
        return next(m for m in self.doc.find("RadioButtonGroup")
                    if "English" in m.get("labels", []))

    def threshold(self) -> Model:
        return next(m for m in self.doc.find("RadioButtonGroup")
                    if m.get("labels") == self.thresholds)

    def layers(self) -> Model:
        (group,) = self.doc.find("CheckboxGroup")
        return group

    def select(self, kind: str) -> Model:
        from coverage.publish.labels import KIND_COLORS

        holds = {
            "indicator": lambda values: "e2sfca" in values and "coverage" in values,
            "basemap": lambda values: "amap" in values and "osm" in values,
            "district": lambda values: values == ["", *self.districts],
            "kind": lambda values: values[:1] == [""] and set(values[1:]) <= set(KIND_COLORS),
        }[kind]
        found = [m for m in self.doc.find("CustomSelect") if holds(_options(m))]
        assert len(found) == 1, f"{len(found)} {kind} selects on the page"
        return found[0]

    def tabs(self) -> Model:
        (tabs,) = self.doc.find("Tabs")
        return tabs

    def tab_shown(self, i: int) -> bool:
        """Whether the ``i``-th tab's content has come (hidden tabs hold a spacer)."""
        panel = self.doc.resolve(self.tabs().get("tabs", [])[i])
        child = self.doc.resolve(panel.get("child")) if isinstance(panel, Model) else None
        return isinstance(child, Model) and bool(child.get("children"))

    def button(self, label: str) -> Model:
        found = [m for m in self.doc.find("Button") if m.get("label") == label]
        assert found, f"no button {label!r} on the page"
        return found[0]

    def download(self, label: str) -> Model:
        found = [m for m in self.doc.find("FileDownload") if m.get("label") == label]
        assert found, f"no download {label!r} on the page"
        return found[0]

    def source(self, column: str) -> Model:
        return next(m for m in self.doc.find("ColumnDataSource")
                    if column in (m.get("data") or {}))

    def texts(self) -> str:
        return " ".join(str(m.get("text", "")) for m in self.doc.find("HTML"))

    def figure(self) -> Model:
        (fig,) = self.doc.find("Figure")
        return fig


def _drawn(client: BokehClient) -> list[str]:
    """The map's layers with data: glyph and columns of each renderer's source."""
    drawn = []
    for renderer in client.doc.find("GlyphRenderer"):
        source = client.doc.resolve(renderer.get("data_source"))
        glyph = client.doc.resolve(renderer.get("glyph"))
        data = (source.get("data") or {}) if isinstance(source, Model) else {}
        if any(len(v) for v in data.values()):
            drawn.append(f"{glyph.name if isinstance(glyph, Model) else '?'}"
                         f"({', '.join(data)})")
    return drawn


def _n_sites(page: Page) -> int:
    return len(page.source("site_id").get("data")["site_id"])


def _drive(client: BokehClient, thresholds: list[float], districts: list[str],
           capture: Capture) -> None:
    """Use every part of the page, in Chinese then in English.

    Each step waits for the page's answer (or, where it is known, for what it must show) and
    then for a short calm, so that the next change is not folded into it.
    """
    from coverage.publish.labels import column_label, text

    page = Page(client, thresholds, districts)
    calm = 0.25

    def do(what: str, action: Any, *args: Any, **kwargs: Any) -> None:
        start = time.monotonic()
        try:
            action(*args, quiet=kwargs.pop("quiet", calm), **kwargs)
        except AssertionError as exc:
            msg = f"step {what!r} (after {[s for s, _ in capture.steps]}): {exc}"
            raise AssertionError(msg) from exc
        capture.steps.append((what, time.monotonic() - start))

    def in_language(lang: str) -> None:
        def t(key: str) -> str:
            return text("app", key, lang)

        if lang == "en":
            do("language English", client.change, page.language(), "active", 1,
               until=lambda: t("card_gap") in html.unescape(page.texts())
               and t("layer_communities") in page.layers().get("labels", []))
        # every layer, every shading, every threshold, every district
        layers = page.layers()
        every = list(range(len(layers.get("labels"))))
        if sorted(layers.get("active", [])) != every:
            do("all layers", client.change, layers, "active", every,
               until=lambda: len(_drawn(client)) == len(every))
        for value in [*(v for v in _options(page.select("indicator")) if v != "coverage"),
                      "coverage"]:
            do(f"shading {value}", client.change, page.select("indicator"), "value", value)
        for i in [*range(len(thresholds) - 1), len(thresholds) - 1]:
            do(f"threshold {thresholds[i]:g}", client.change, page.threshold(), "active", i)
        for district in [*_options(page.select("district"))[1:], ""]:
            do(f"district {district or 'all'}", client.change, page.select("district"),
               "value", district, previous="")
        tabs = page.tabs()
        if lang == "zh":
            kinds = _options(page.select("kind"))
            do(f"kind {kinds[1]}", client.change, page.select("kind"), "value", kinds[1],
               previous="")
            do("kind all", client.change, page.select("kind"), "value", "")
            # the Amap base map, then back
            for base, tiles in (("amap", "autonavi"), ("osm", "openstreetmap")):

                def redrawn(tiles: str = tiles, since: int = len(client.messages)) -> bool:
                    url = str(client.doc.find("WMTSTileSource")[0].get("url"))
                    return tiles in url and client.doc.changed.get(
                        page.source("site_id").id, -1) >= since

                do(f"base map {base}", client.change, page.select("basemap"), "value", base,
                   until=redrawn)
                data = page.source("site_id").get("data")
                capture.sites[base] = {k: np.array(data[k]) for k in ("x", "y", "site_id")}
                capture.tiles[base] = str(client.doc.find("WMTSTileSource")[0].get("url"))
            # a click on the map adds a service point there
            ring = page.source("value").get("data")
            x = float(np.mean(np.asarray(ring["xs"][0][0][0], dtype=float)))
            y = float(np.mean(np.asarray(ring["ys"][0][0][0], dtype=float)))
            before = _n_sites(page)
            do("click on the map", client.event, "tap", page.figure(), sx=300.0, sy=300.0,
               x=x, y=y, modifiers={"shift": False, "ctrl": False, "alt": False},
               until=lambda: _n_sites(page) > before)
            # a recommendation, computed (applied later, in English)
            do("tab recommend", client.change, tabs, "active", 1,
               until=lambda: page.tab_shown(1), answered=False)
            do("recommend", client.event, "button_click", page.button(t("rec_run")),
               timeout=180, until=lambda: column_label("candidate_id", lang=lang)
               in html.unescape(page.texts()))
            do("tab scenarios", client.change, tabs, "active", 2,
               until=lambda: page.tab_shown(2), answered=False)
            do("save scenario", client.event, "button_click", page.button(t("save")))
            download = page.download(t("download_scenario"))
            do("download scenario", client.change, download, "clicks", 1, retry_after=60,
               until=lambda d=download: bool(d.get("data")))
        else:
            do("tab recommend", client.change, tabs, "active", 1,
               until=lambda: page.tab_shown(1) and column_label("candidate_id", lang=lang)
               in html.unescape(page.texts()),
               answered=False)
            before = _n_sites(page)
            do("apply recommendation", client.event, "button_click",
               page.button(t("rec_apply")), timeout=120, until=lambda: _n_sites(page) > before)
            do("tab scenarios", client.change, tabs, "active", 2,
               until=lambda: page.tab_shown(2), answered=False)
            do("tab downloads", client.change, tabs, "active", 3,
               until=lambda: page.tab_shown(3), answered=False)
            download = page.download(t("report_xlsx"))
            do("report xlsx", client.change, download, "clicks", 1, timeout=180,
               retry_after=180, until=lambda d=download: bool(d.get("data")))
        for i, name in ((0, "indicators"),):  # (the import page has its own address)
            do(f"tab {name}", client.change, tabs, "active", i, answered=False,
               until=lambda i=i: page.tab_shown(i))

    client.settle(quiet=calm)
    in_language("zh")
    in_language("en")
    client.settle(quiet=1.0)  # the last answers
    capture.layers = _drawn(client)


@pytest.fixture(scope="module")
def project(demo_city: Path):
    from coverage.io.project import load_project

    return load_project(demo_city)


@pytest.fixture(scope="module")
def capture(demo_city: Path, project, tmp_path_factory: pytest.TempPathFactory) -> Capture:
    """A planner's session on the demo city, every message the server sent recorded."""
    env = _sabotage_env(tmp_path_factory.mktemp("sabotage"))
    start = time.monotonic()
    with (run_app(demo_city, env=env, log_on_error=True) as url,
          BokehClient(url + "/", timeout=60) as client):
        capture = Capture(client.messages, client.frames, client.page)
        _drive(client, list(project.parameters.thresholds_min), _districts(demo_city),
               capture)
        capture.retried = client.retried
    capture.seconds = time.monotonic() - start
    return capture


# -- what was sent ------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The ``<table>``s of an HTML text: header cells and rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._head = False
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append(([], []))
        elif tag == "thead":
            self._head = True
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            header, rows = self.tables[-1]
            if self._head and not header:
                header.extend(self._row)
            elif not self._head:
                rows.append(self._row)
            self._row = None
        elif tag == "thead":
            self._head = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    if "<table" not in text:
        return []
    parser = _Tables()
    parser.feed(text)
    return parser.tables


NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _number(cell: str) -> float | None:
    cell = cell.strip().replace(",", "")
    try:
        return float(cell)
    except ValueError:
        return None


def _cell_number(cell: Any) -> float | None:
    """A table cell's number (a spreadsheet's number, or text such as ``1,234``)."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, int | float):
        return float(cell)
    return _number(str(cell))


def _flat_numbers(value: Any) -> np.ndarray:
    """The numbers of a (nested) column, in order; other values skipped."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return value.astype(float).ravel()
    out: list[np.ndarray] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, np.ndarray) and v.dtype.kind in "fiub":
            out.append(v.astype(float).ravel())
        elif isinstance(v, list | tuple) or (isinstance(v, np.ndarray) and v.dtype == object):
            stack.extend(reversed(list(v)))
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out.append(np.array([float(v)]))
    return np.concatenate(out) if out else np.empty(0)


def _xlsx_tables(raw: bytes) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The sheets of a report's XLSX file, headers as result columns where its index says.

    The first sheet lists every other sheet's columns: sheet, source layer, header, column.
    """
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
    rows = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}
    book.close()
    index = next(iter(rows.values()), [])
    names = {(str(r[0]), str(r[2])): str(r[3]) for r in index if len(r) >= 4 and r[3]}
    return [(sheet, [names.get((sheet, str(h)), str(h)) for h in body[0]], body[1:])
            for sheet, body in list(rows.items())[1:] if body]


def _download(value: str) -> tuple[list[str], list[tuple[str, list[str], list[list[Any]]]]]:
    """A ``data:`` URL's file: its texts (each member's, for a zip) and tables (XLSX)."""
    head, _, data = value.partition(",")
    if not head.startswith("data:") or ";base64" not in head:
        return [], []
    raw = base64.b64decode(data)
    if raw[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            texts = [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        return texts, _xlsx_tables(raw) if "[Content_Types].xml" in z.namelist() else []
    if raw[:4] == b"%PDF":
        return [], []  # compressed streams: the session does not download the PDF
    return [raw.decode("utf-8", "replace")], []


@dataclass
class Seen:
    """The texts, tables and numbers of a capture, each with where it was."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    raw: list[tuple[str, str]] = field(default_factory=list)  # the JSON frames as sent
    sources: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # map columns
    tables: list[tuple[str, list[str], list[list[Any]]]] = field(default_factory=list)
    vectors: list[tuple[str, np.ndarray]] = field(default_factory=list)
    models: Counter = field(default_factory=Counter)


def seen(messages: list[Message], page: str = "") -> Seen:
    """Everything the messages hold, decoded (models' attributes included)."""
    out = Seen()
    if page:
        out.texts.append(("the page", page))
    for i, message in enumerate(messages):
        where = f"message {i} ({message.msgtype})"
        models: list[dict[str, Any]] = []
        content = decode(message.content, message.buffers, models.append)
        _collect(where, content, out)
        for rep in models:
            out.models[rep["name"]] += 1
            at = f"{where} {rep['name']} {rep['id']}"
            if rep["name"] == "ColumnDataSource" and isinstance(rep["attributes"].get("data"),
                                                                dict):
                out.sources.append((at, rep["attributes"]["data"]))
            _collect(at, rep["attributes"], out)
        events = content.get("events", []) if isinstance(content, dict) else []
        for k, event in enumerate(events):
            data = event.get("new") if event.get("attr") == "data" else None
            if event.get("kind") in ("ColumnDataChanged", "ColumnsStreamed"):
                data = event.get("data")
            if isinstance(data, dict):  # a data source's columns (a download's data is text)
                out.sources.append((f"{where} event {k} {event.get('kind')}", data))
        for frame in message.frames:
            if isinstance(frame, str):
                out.raw.append((f"{where} raw frame", frame))
    for where, text in out.texts:
        out.tables.extend((where, header, rows) for header, rows in html_tables(text))
    return out


def _collect(base: str, value: Any, out: Seen) -> None:
    stack: list[tuple[str, Any]] = [(base, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, dict):
            stack.extend((f"{where}.{k}", x) for k, x in v.items())
        elif isinstance(v, list | tuple):
            numbers = _flat_numbers(v)
            if len(numbers) > 1:
                out.vectors.append((where, numbers))
            stack.extend((f"{where}[{j}]", x) for j, x in enumerate(v)
                         if not isinstance(x, int | float))
        elif isinstance(v, np.ndarray):
            if v.dtype.kind in "fiub":
                out.vectors.append((where, v.astype(float).ravel()))
            else:
                stack.extend((f"{where}[{j}]", x) for j, x in enumerate(v.ravel()))
        elif isinstance(v, str):
            out.texts.append((where, html.unescape(v)))
            if v.startswith("data:"):
                texts, tables = _download(v)
                out.texts.extend((f"{where} (downloaded file)", t) for t in texts)
                out.tables.extend((f"{where} (downloaded sheet {sheet!r})", header, rows)
                                  for sheet, header, rows in tables)


# -- the people of the demo city -----------------------------------------------------------


@dataclass
class People:
    ids: set[str]
    places: dict[str, np.ndarray]  # "residence, Web Mercator of GCJ-02" → (n, 2)
    tolerance: dict[str, float]  # half the last digit of the file, in the same units
    rows: dict[str, np.ndarray]  # the rows of the file the places are of


def _decimals(values: pd.Series) -> int:
    return int(values.astype(str).str.partition(".")[2].str.len().max())


@pytest.fixture(scope="module")
def people(demo_city: Path, project) -> People:
    """The migrants' ids, residences and workplaces, as the file holds them and converted."""
    return read_people(project, _study_crs(demo_city))


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV file as text, UTF-8 (with or without BOM) or else GB18030, as exported."""
    try:
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    except UnicodeDecodeError:
        return pd.read_csv(path, dtype=str, encoding="gb18030")


def _columns(frame: pd.DataFrame, layer: str, names: tuple[str, ...]) -> dict[str, str]:
    """The file's header of each canonical column present (through the schema's aliases)."""
    from coverage.io.schema import LAYERS

    columns = {c.name: c for c in LAYERS[layer].columns}
    found = {n: next((a for a in (n, *columns[n].aliases) if a in frame.columns), None)
             for n in names}
    return {n: h for n, h in found.items() if h is not None}


def read_people(project: Any, study_crs: str) -> People:
    """The people's ids and places, as the files hold them and in every system a map uses.

    The migrants' residences and workplaces; the registered residents' buildings (a few
    people each) when the project has them.
    """
    config = project.layers["migrants"]
    assert config.crs in ("wgs84", "EPSG:4326"), config.crs
    frame = _read_csv(config.path)
    header = _columns(frame, "migrants", ("person_id", "lon", "lat", "work_lon", "work_lat"))
    ids = set(frame[header["person_id"]].dropna().str.strip())
    found: list[tuple[str, np.ndarray, np.ndarray, float]] = []  # what, lon, lat, precision
    for what, (lon_col, lat_col) in {"residence": ("lon", "lat"),
                                     "workplace": ("work_lon", "work_lat")}.items():
        if lon_col in header and lat_col in header:
            half = 0.5 * 10.0 ** -_decimals(frame[header[lon_col]].dropna())
            found.append((what, pd.to_numeric(frame[header[lon_col]], errors="coerce").to_numpy(),
                          pd.to_numeric(frame[header[lat_col]], errors="coerce").to_numpy(),
                          half))
    registered = project.layers.get("registered_points")
    if registered is not None and registered.path.suffix.lower() in (".gpkg", ".geojson"):
        import geopandas as gpd

        points = gpd.read_file(registered.path).to_crs(4326)
        found.append(("registered residents' building", points.geometry.x.to_numpy(),
                      points.geometry.y.to_numpy(), 0.5e-6))  # full precision: a tenth of a metre
        if "point_id" in points:
            ids |= set(points["point_id"].dropna().astype(str).str.strip())
    to_web = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
    to_study = pyproj.Transformer.from_crs(4326, pyproj.CRS(study_crs), always_xy=True)
    places: dict[str, np.ndarray] = {}
    tolerance: dict[str, float] = {}
    rows: dict[str, np.ndarray] = {}
    for what, lon, lat, half in found:
        ok = np.isfinite(lon) & np.isfinite(lat)
        lon, lat = lon[ok], lat[ok]
        metres = half * 111_320.0 / np.cos(np.radians(float(np.max(np.abs(lat)))))
        glon, glat = wgs84_to_gcj02(lon, lat)
        systems = {}
        for datum, (a, b) in {"WGS-84": (lon, lat), "GCJ-02": (glon, glat)}.items():
            systems[f"{datum} degrees"] = (np.column_stack([a, b]), half * 1.001)
            systems[f"Web Mercator of {datum}"] = (np.column_stack(to_web.transform(a, b)),
                                                   metres)
        systems["study CRS"] = (np.column_stack(to_study.transform(lon, lat)), metres)
        for system, (xy, tol) in systems.items():
            places[f"{what}, {system}"] = xy
            tolerance[f"{what}, {system}"] = tol
            rows[f"{what}, {system}"] = np.flatnonzero(ok)
    return People(ids, places, tolerance, rows)


def _results(demo_city: Path) -> Path:
    return next((demo_city / "results").glob("*.gpkg"))


def _study_crs(demo_city: Path) -> str:
    import pyogrio

    return str(pyogrio.read_info(_results(demo_city), layer="community_summary")["crs"])


def _districts(demo_city: Path) -> list[str]:
    import pyogrio

    table = pyogrio.read_dataframe(_results(demo_city), layer="community_summary",
                                   columns=["district"], read_geometry=False)
    return sorted(table["district"].dropna().astype(str).unique())


# -- the checks (each returns its findings, empty when all is well) --------------------------


def find_ids(found: Seen, ids: set[str]) -> list[str]:
    """Texts holding a person id (anywhere in a text, not only as a whole word)."""
    chars = "".join(sorted({c for i in ids for c in i}))
    runs = re.compile(f"[{re.escape(chars)}]+")
    lengths = sorted({len(i) for i in ids})
    hits = []
    for where, text in [*found.texts, *found.raw]:
        for run in runs.findall(text):
            for n in lengths:
                for k in range(len(run) - n + 1):
                    if run[k:k + n] in ids:
                        hits.append(f"{where}: person id {run[k:k + n]!r}")
                        break
    return hits


def _pairs(found: Seen) -> Iterator[tuple[str, np.ndarray]]:
    """Pairs of numbers sent together: a source's columns row by row, neighbours in an array
    or a text."""
    for where, source in found.sources:
        columns = {k: _flat_numbers(v) for k, v in source.items()}
        columns = {k: v for k, v in columns.items() if len(v)}
        for a, x in columns.items():
            for b, y in columns.items():
                if a != b and len(x) == len(y):
                    yield f"{where} columns {a!r}, {b!r}", np.column_stack([x, y])
    for where, header, rows in found.tables:
        columns = {}
        for c, name in enumerate(header):
            cells = [_cell_number(r[c]) if c < len(r) else None for r in rows]
            if cells and any(v is not None for v in cells):
                columns[f"{c}:{name}"] = np.array([np.nan if v is None else v for v in cells])
        for a, x in columns.items():
            for b, y in columns.items():
                if a != b:
                    yield f"{where} table columns {a!r}, {b!r}", np.column_stack([x, y])
    for where, vector in found.vectors:
        if len(vector) > 1:
            yield f"{where} (neighbours)", np.column_stack([vector[:-1], vector[1:]])
    for where, text in found.texts:
        numbers = [_number(n) for n in NUMBER.findall(text)]
        values = np.array([n for n in numbers if n is not None], dtype=float)
        if len(values) > 1:
            pairs = np.column_stack([values[:-1], values[1:]])
            yield f"{where} (numbers in the text)", np.vstack([pairs, pairs[:, ::-1]])


def find_places(found: Seen, people: People) -> list[str]:
    """Pairs of numbers equal to a person's residence or workplace, in any coordinate system."""
    from scipy.spatial import cKDTree

    names, chunks = [], []
    for where, pairs in _pairs(found):
        names.append(where)
        chunks.append(pairs)
    if not chunks:
        return []
    pairs = np.vstack(chunks)
    source = np.repeat(np.arange(len(chunks)), [len(c) for c in chunks])
    hits = []
    for kind, places in people.places.items():
        tol = people.tolerance[kind]
        low, high = places.min(axis=0) - tol, places.max(axis=0) + tol
        inside = np.flatnonzero(((pairs >= low) & (pairs <= high)).all(axis=1))
        if not len(inside):
            continue
        dist, idx = cKDTree(places).query(pairs[inside], k=1, p=np.inf,
                                          distance_upper_bound=tol)
        near = inside[np.isfinite(dist)]
        person = idx[np.isfinite(dist)]
        for k in np.unique(source[near]):
            rows = np.flatnonzero(source[near] == k)
            j = rows[0]
            x, y = (float(v) for v in pairs[near[j]])
            row = people.rows[kind][person[j]]
            hits.append(f"{names[k]}: {len(rows)} pair(s) at a {kind}, e.g. ({x!r}, {y!r}) = "
                        f"record {row} of the file")
    return hits


def count_labels() -> set[str]:
    from coverage.publish.labels import column_label

    names = set(COUNT_COLUMNS)
    return names | {column_label(c, lang=lang) for c in COUNT_COLUMNS for lang in ("zh", "en")}


def _is_count(column: str, labels: set[str]) -> bool:
    column = column.strip()
    return column in labels or any(column.startswith(f"{c}_") for c in COUNT_COLUMNS)


def _small(values: np.ndarray, min_cell: int) -> np.ndarray:
    values = values[np.isfinite(values)]
    return values[(values > 0) & (values < min_cell)]


def find_small_counts(found: Seen, min_cell: int) -> tuple[list[str], Counter]:
    """Published counts of people between 1 and ``min_cell`` - 1; and what was checked."""
    labels = count_labels()
    hits: list[str] = []
    checked: Counter = Counter()
    for where, source in found.sources:
        for column, values in source.items():
            if not _is_count(column, labels):
                continue
            numbers = _flat_numbers(values)
            checked[f"map source column {column!r}"] += len(numbers)
            small = _small(numbers, min_cell)
            if len(small):
                hits.append(f"{where} column {column!r}: counts "
                            f"{sorted(set(small.tolist()))[:10]}")
    for where, header, rows in found.tables:
        for c, column in enumerate(header):
            if not _is_count(str(column), labels):
                continue
            cells = [row[c] for row in rows if c < len(row)]
            numbers = [_cell_number(v) for v in cells]
            odd = [v for v, n in zip(cells, numbers, strict=True)
                   if n is None and v is not None and str(v).strip() not in SUPPRESSED_TEXT]
            if odd:
                hits.append(f"{where} table column {column!r}: not a count {odd[:5]}")
            values = np.array([n for n in numbers if n is not None], dtype=float)
            checked[f"table column {column!r}"] += len(cells)
            small = _small(values, min_cell)
            if len(small):
                hits.append(f"{where} table column {column!r}: counts "
                            f"{sorted(set(small.tolist()))[:10]}")
    return hits, checked


CARD = re.compile(r'class="cov-card" data-key="([^"]*)" data-value="([^"]*)"')


def find_unknown_fields(found: Seen) -> list[str]:
    """Map columns and cards nobody has said whether they count people."""
    hits = set()
    for where, source in found.sources:
        for column in source:
            if column not in SOURCE_COLUMNS:
                hits.add(f"{where}: map column {column!r} is not in SOURCE_COLUMNS")
    for where, text in found.texts:
        for key, _ in CARD.findall(text):
            if key not in CARD_KINDS:
                hits.add(f"{where}: card {key!r} is not in CARD_KINDS")
    return sorted(hits)


# -- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def found(capture: Capture) -> Seen:
    return seen(capture.messages, capture.page)


def _fail_on(hits: list[str], what: str) -> None:
    assert not hits, f"{len(hits)} {what}:\n" + "\n".join(hits[:20])


@pytest.mark.slow
def test_the_session_sent_every_view(capture: Capture, found: Seen):
    """The session saw what it should have: both languages, every layer, tab and table."""
    kinds = Counter(m.msgtype for m in capture.messages)
    assert kinds["PULL-DOC-REPLY"] == 1 and kinds["PATCH-DOC"] > 50, kinds
    # every frame received belongs to a whole message (none left half-read)
    assert sum(len(m.frames) for m in capture.messages) == len(capture.frames)
    texts = "\n".join(t for _, t in found.texts)
    assert "流动人口" in texts and "Migrants within" in texts  # both languages
    # every layer drawn: the tiles and one renderer with data per layer the page offers
    from coverage_app.state import LAYERS

    assert len(capture.layers) == len(LAYERS), capture.layers
    # the tables: ranking (both languages), recommendation, scenario edits and comparison
    flat = {str(c) for _, header, _ in found.tables for c in header}
    # (the recommendation's columns by their labels: 候选点编号 in Chinese, Candidate in English;
    # where each new point is, 位置 / Where)
    assert {"流动人口", "Migrants", "候选点编号", "Candidate", "服务点编号", "Service point",
            "操作", "Action", "位置", "Where"} <= flat, flat
    assert {"新进入15分钟圈的流动人口", "Migrants newly within 15 min"} <= flat, flat
    assert capture.sites.keys() == {"amap", "osm"}
    assert any("report" in s for s, _ in capture.steps)
    sizes = Counter()
    for m in capture.messages:
        sizes[m.msgtype] += m.size
    print(f"{len(capture.messages)} messages, {sum(sizes.values()):,} bytes {dict(sizes)}, "
          f"{sum(len(m.buffers) for m in capture.messages)} binary buffers, "
          f"{len(capture.steps)} steps in {capture.seconds:.0f} s (server start included), "
          f"changes made twice: {capture.retried}; models: {dict(found.models)}")


@pytest.mark.slow
def test_no_person_id_is_sent(found: Seen, people: People):
    assert len(people.ids) > 20_000  # the migrants and the registered residents' buildings
    _fail_on(find_ids(found, people.ids), "texts with a person id")


@pytest.mark.slow
def test_no_residence_is_sent(found: Seen, people: People):
    assert {k.split(",")[0] for k in people.places} == {
        "residence", "workplace", "registered residents' building"}
    _fail_on(find_places(found, people), "residences or workplaces sent")


@pytest.mark.slow
def test_no_small_count_is_sent(found: Seen, project):
    min_cell = project.min_cell
    assert min_cell > 1
    hits, checked = find_small_counts(found, min_cell)
    # the counts were there to be checked: hexagons, the ranking in both languages, the
    # recommendation's newly covered migrants
    assert checked["map source column 'migrants'"] > 100, checked
    assert checked["table column '流动人口'"] and checked["table column 'Migrants'"], checked
    assert any(k.startswith("table column 'migrants_newly_within") for k in checked), checked
    # and the report's spreadsheet: migrants and registered residents, indicator groups
    assert {"table column 'migrants'", "table column 'registered_pop'",
            "table column 'population'", "table column 'achieved'"} <= set(checked), checked
    _fail_on(hits, "published counts below min_cell")


@pytest.mark.slow
def test_every_published_field_is_classified(found: Seen):
    _fail_on(find_unknown_fields(found), "fields of unknown kind")


@pytest.mark.slow
def test_amap_positions_are_shifted_to_gcj02(capture: Capture, project):
    """Service points under the Amap tiles sit at GCJ-02 positions (Web Mercator)."""
    assert "autonavi" in capture.tiles["amap"] and "openstreetmap" in capture.tiles["osm"]
    config = project.layers["sites"]
    assert config.crs == "gcj02"
    frame = _read_csv(config.path)
    col = _columns(frame, "sites", ("site_id", "lon", "lat"))
    gcj = np.column_stack([frame[col["lon"]].astype(float), frame[col["lat"]].astype(float)])
    lon, lat = gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])  # the sites' WGS-84 positions
    to_web = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
    expected = {
        "osm": np.column_stack(to_web.transform(lon, lat)),
        "amap": np.column_stack(to_web.transform(*wgs84_to_gcj02(lon, lat))),
    }
    ids = frame[col["site_id"]].str.strip().to_numpy()
    for base, want in expected.items():
        sent = capture.sites[base]
        shown = pd.DataFrame({"x": sent["x"], "y": sent["y"]}, index=sent["site_id"])
        assert set(ids) <= set(shown.index), "a service point of the file is not on the map"
        got = shown.loc[ids, ["x", "y"]].to_numpy(float)
        error = np.abs(got - want).max()
        assert error < 0.01, f"{base}: service points off by up to {error:.3f} m"
    # the shift is real: hundreds of metres (GCJ-02 is 260-670 m from WGS-84 in China)
    shift = np.hypot(*(expected["amap"] - expected["osm"]).T)
    assert shift.min() > 200
    # and the Amap positions are those of the file (GCJ-02 as Amap gave them)
    file_web = np.column_stack(to_web.transform(gcj[:, 0], gcj[:, 1]))
    assert np.abs(expected["amap"] - file_web).max() < 0.05


# -- the checks themselves, on a made-up message ---------------------------------------------


def _made_up_message(people: People, person: int, count: int, *, leak: bool) -> Message:
    """A PATCH-DOC with a hexagon count, a table row and a point sent as binary buffers."""
    x, y = people.places["residence, Web Mercator of GCJ-02"][person]
    pid = sorted(people.ids)[person] if leak else "Z-1"
    if not leak:  # farther than the file's precision
        x, y = x + 500.0, y - 400.0
    xs = np.array([x + 5.0, x], dtype=np.float64)
    ys = np.array([y - 5.0, y], dtype=np.float64)

    def ref(buffer: str, a: np.ndarray) -> dict[str, Any]:
        return {"type": "ndarray", "array": {"type": "bytes", "data": {"id": buffer}},
                "shape": list(a.shape), "dtype": a.dtype.name, "order": sys.byteorder}

    data = {"type": "map", "entries": [["x", ref("b1", xs)], ["y", ref("b2", ys)],
                                       ["migrants", [float(count), float("nan")]]]}
    table = (f"<table><thead><tr><th>name</th><th>流动人口</th></tr></thead><tbody>"
             f"<tr><td>{pid}</td><td>{count}</td></tr></tbody></table>")
    content = {"events": [
        {"kind": "ModelChanged", "model": {"id": "p1"}, "attr": "data", "new": data},
        {"kind": "ModelChanged", "model": {"id": "p2"}, "attr": "text",
         "new": html.escape(table)}]}
    return Message({"msgtype": "PATCH-DOC", "msgid": "1", "num_buffers": 2}, {}, content,
                   {"b1": xs.tobytes(), "b2": ys.tobytes()}, [json.dumps(content)])


def test_checks_find_planted_leaks(tiny_project: Path):
    """The checks on a message made up to leak: each finds its leak, and none on a clean one."""
    from coverage.io.project import load_project

    people = read_people(load_project(tiny_project), "EPSG:32649")
    leaky = seen([_made_up_message(people, person=2, count=3, leak=True)])
    assert any("person id" in h for h in find_ids(leaky, people.ids))
    assert any("Web Mercator of GCJ-02" in h and "columns 'x', 'y'" in h
               for h in find_places(leaky, people))
    hits, _ = find_small_counts(leaky, 10)
    assert any("'migrants'" in h for h in hits) and any("'流动人口'" in h for h in hits)
    clean = seen([_made_up_message(people, person=2, count=12, leak=False)])
    assert not find_ids(clean, people.ids)
    assert not find_places(clean, people)
    assert not find_small_counts(clean, 10)[0]
