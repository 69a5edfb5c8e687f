"""Fuzzing: random and broken project inputs, and the oracle judging what the tool made of them.

Shared by ``tests/integration/test_fuzz.py`` (hypothesis, a bounded budget in CI) and
``benchmarks/fuzz_long.py`` (the long run: thousands of inputs on several processes).

A :class:`Case` is the tiny project of ``conftest`` (two communities, a street grid, two service
points) with one input replaced by a random or broken version: the migrants or sites table as CSV
or XLSX, the communities or the migrants as a GeoPackage (or GeoJSON), the road network as a
GeoPackage, OSM XML/PBF or GraphML, the project file itself, or a scenario's JSON text.
:func:`make_case` builds one from a :class:`random.Random`: a seeded one in the long run, the one
hypothesis draws (``st.randoms``) in the tests, so that hypothesis can shrink a failing input.

The migrants table carries planted personal values (:data:`SENTINELS`: person ids, a national ID
number, telephone numbers, names and a residence's coordinates), in its personal columns and in
columns outside the data model. Whatever happens to the input, none of them may appear in a
message, a warning, a log record or printed output.

:func:`check_one` runs a case as a user would: ``validate``
(:func:`coverage.engine.preflight.check_project`) and, when that finds no error, ``run``
(:func:`coverage.engine.run.run_study`) for some cases; ``init``
(:func:`coverage.init_project.init_project`) on the files for a few; a scenario is parsed and
evaluated (``simulate``). The :class:`Outcome` is one of:

``ok``
    The input was accepted.
``designed``
    The tool refused it with its own error (:class:`~coverage.io.project.ProjectError`, a problem
    of :mod:`coverage.io.validation`, a scenario's ``ValueError``) in one clean line.
``uncaught``
    Any other exception: the command line would print "unexpected error".
``hang``
    Still running after :data:`TIMEOUT_S` seconds.
``leak``
    A planted personal value appeared in what the tool said.
``message``
    A designed error whose message is not one clean line naming its file.
``known``
    An uncaught exception listed in :data:`KNOWN_ISSUES` (reported, to be fixed elsewhere).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import csv
import datetime as dt
import functools
import gzip
import io
import json
import logging
import math
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
import tomllib
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from conftest import LAT0, LON0, PROJECT_TOML, communities, sites_csv, tiny_network

TIMEOUT_S = 10.0
"""An input that keeps the tool busy longer than this is a hang."""

FORMATS = ("csv", "xlsx", "gpkg", "osm", "graphml", "toml", "scenario")
"""Input families, as counted by the long run."""

WEIGHTS = {"csv": 30, "xlsx": 12, "gpkg": 15, "osm": 9, "graphml": 5, "toml": 19, "scenario": 10}
"""How often each family is drawn when none is asked for."""

FAILURES = ("uncaught", "hang", "leak", "message")
"""Outcomes that are bugs."""

KNOWN_ISSUES: dict[str, str] = {}
"""Uncaught exceptions already reported, to be fixed outside the inputs' modules (regular
expression on the traceback → note). They are counted as ``known``, apart from the failures."""

# --------------------------------------------------------------------------------------------
# The base project and its planted personal values
# --------------------------------------------------------------------------------------------

SENTINELS = (
    "M7Q93XZ", "110105194912310021", "13912345678", "13987654321", "欧阳震华", "上官婉儿",
    "113.7531234", "23.0221234",
)
"""Personal values planted in the migrants table; none may ever appear in a message."""

MIGRANT_HEADER = ["人员编号", "经度", "纬度", "社区编码", "性别", "出生年份", "婚姻状况",
                  "户籍地代码", "来本地日期", "婚育证明", "政策知晓", "姓名", "联系电话"]
MIGRANT_ROWS = [
    ["M7Q93XZ", "113.7531234", "23.0221234", "C1", "女", "1990", "已婚", "430100",
     "2024-03-01", "是", "是", "欧阳震华", "13912345678"],
    ["110105194912310021", "113.755", "23.025", "C1", "男", "1985", "未婚", "450100",
     "2024/5/2", "否", "否", "上官婉儿", "13987654321"],
    ["13912345678", "113.763", "23.024", "C2", "女", "1995", "已婚", "510100", "20250110",
     "是", "是", "", ""],
    ["欧阳震华", "113.765", "23.027", "", "女", "1992", "未婚", "", "2025年6月1日", "", "",
     "", ""],
    ["M0000005", "113.752", "23.028", "C1", "男", "1979", "离婚", "360600", "2023-11-30",
     "是", "否", "", ""],
    ["M0000006", "113.768", "23.021", "C2", "女", "2001", "已婚", "440300", "2024-08-15",
     "否", "是", "", ""],
    ["M0000007", "113.758", "23.029", "", "男", "1988", "丧偶", "350100", "2024-01-09", "", "是",
     "", ""],
    ["M0000008", "113.761", "23.022", "C2", "女", "1999", "已婚", "430100", "2022-12-31", "是",
     "", "", ""],
]
PERSONAL_COLUMNS = (0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12)
"""Positions of the migrants columns holding personal values (all but the community)."""


def _records(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row]


_SITES = _records(sites_csv())
SITE_HEADER, SITE_ROWS = _SITES[0], _SITES[1:]

BASE_PROJECT = tomllib.loads(PROJECT_TOML)
"""The tiny project's settings (``conftest.PROJECT_TOML``) as a dictionary."""


def table_csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def _grid() -> tuple[list[tuple[int, float, float]], list[tuple[int, int, int]]]:
    """Nodes ``(id, lon, lat)`` and two-way streets ``(way, u, v)`` of conftest's street grid."""
    nodes, ids = [], {}
    lons = [round(LON0 - 0.002 + 0.002 * i, 6) for i in range(13)]
    lats = [round(LAT0 - 0.002 + 0.002 * j, 6) for j in range(8)]
    for i, lon in enumerate(lons):
        for j, lat in enumerate(lats):
            ids[i, j] = len(ids) + 1
            nodes.append((ids[i, j], lon, lat))
    streets = []
    for (i, j), u in ids.items():
        for v in (ids.get((i + 1, j)), ids.get((i, j + 1))):
            if v is not None:
                streets.append((len(streets) + 1, u, v))
    return nodes, streets


@functools.cache
def base_files() -> dict[str, bytes]:
    """Files of the valid tiny project with planted personal values, built once per process."""
    with tempfile.TemporaryDirectory(prefix="fuzz-base-") as tmp:
        folder = Path(tmp)
        communities().to_file(folder / "communities.geojson", driver="GeoJSON")
        tiny_network(folder / "network.gpkg")
        return {
            "project.toml": PROJECT_TOML.encode("utf-8"),
            "migrants.csv": table_csv(MIGRANT_HEADER, MIGRANT_ROWS).encode("utf-8"),
            "sites.csv": sites_csv().encode("gb18030"),
            "communities.geojson": (folder / "communities.geojson").read_bytes(),
            "network.gpkg": (folder / "network.gpkg").read_bytes(),
        }


# --------------------------------------------------------------------------------------------
# Cases and outcomes
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One fuzzing input: the tiny project with some files replaced, or a scenario text.

    Attributes
    ----------
    fmt
        Input family (one of :data:`FORMATS`).
    what
        What was done to the input, in words.
    files
        Files written over the base project's (relative name → bytes).
    project
        The ``project.toml`` text (``None``: the base project's).
    scenario
        A scenario's JSON text or bytes (only for ``fmt == "scenario"``).
    links, folders, fifos, remove
        Symbolic links (name → target), folders, FIFOs to create, and base files to delete.
    run, init
        Also run the study when validation passes; or propose a project from the files with
        ``init`` instead of validating them.
    """

    fmt: str
    what: str
    files: dict[str, bytes] = field(default_factory=dict)
    project: str | bytes | None = None
    scenario: str | bytes | None = None
    links: dict[str, str] = field(default_factory=dict)
    folders: tuple[str, ...] = ()
    fifos: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    run: bool = False
    init: bool = False

    def write(self, folder: Path) -> Path:
        """Write the project into ``folder`` (created) and return it."""
        folder.mkdir(parents=True, exist_ok=True)
        files = {**base_files(), **self.files}
        if self.project is not None:
            text = self.project
            files["project.toml"] = text.encode("utf-8") if isinstance(text, str) else text
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        specials = [*self.remove, *self.folders, *self.fifos, *self.links]
        for name in specials:
            path = folder / name
            if path.is_symlink() or path.is_file():
                path.unlink()
        for name in self.folders:
            (folder / name).mkdir(parents=True, exist_ok=True)
        for name in self.fifos:
            os.mkfifo(folder / name)
        for name, target in self.links.items():
            os.symlink(target, folder / name)
        return folder

    def save(self, folder: Path) -> None:
        """Save the case for :meth:`load` (``case.json``) with its project written beside it."""
        folder.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["files"] = {k: base64.b64encode(v).decode() for k, v in self.files.items()}
        for key in ("project", "scenario"):
            if isinstance(data[key], bytes):
                data[key] = {"base64": base64.b64encode(data[key]).decode()}
        (folder / "case.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
        if self.fmt != "scenario":
            with contextlib.suppress(OSError):
                self.write(folder / "project")
        elif self.scenario is not None:
            raw = self.scenario
            (folder / "scenario.json").write_bytes(raw.encode("utf-8", "surrogatepass")
                                                   if isinstance(raw, str) else raw)

    @classmethod
    def load(cls, folder: Path) -> Case:
        """Read a case saved by :meth:`save`."""
        data = json.loads((folder / "case.json").read_text(encoding="utf-8"))
        data["files"] = {k: base64.b64decode(v) for k, v in data["files"].items()}
        for key in ("project", "scenario"):
            if isinstance(data[key], dict):
                data[key] = base64.b64decode(data[key]["base64"])
        for key in ("folders", "fifos", "remove"):
            data[key] = tuple(data[key])
        return cls(**data)


@dataclass
class Outcome:
    """What the tool made of a case (see the module docstring for the statuses)."""

    status: str
    stage: str
    message: str = ""
    seconds: float = 0.0
    detail: str = ""
    leaked: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether the outcome is a bug."""
        return self.status in FAILURES

    def __str__(self) -> str:
        text = f"{self.status} in {self.stage} ({self.seconds:.2f} s)"
        if self.message:
            text += f": {self.message}"
        if self.leaked:
            text += f" [leaked: {', '.join(self.leaked)}]"
        return text


class FuzzTimeout(BaseException):
    """Raised by the alarm when a case runs too long (not an ``Exception``: nothing catches it)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block with :class:`FuzzTimeout` after ``seconds`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"):
        yield
        return

    def expire(*_: object) -> None:
        raise FuzzTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(record.getMessage())
        except Exception:  # a library's malformed record is not the tool's message
            self.texts.append(str(record.msg))


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """Collect what the block says: log records, warnings, printed output (also C-level).

    Yields a list that holds the texts once the block has ended.
    """
    texts: list[str] = []
    handler = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    sink = tempfile.TemporaryFile()  # noqa: SIM115  (closed in the finally clause)
    os.dup2(sink.fileno(), 1)
    os.dup2(sink.fileno(), 2)
    out, err = io.StringIO(), io.StringIO()
    try:
        with warnings_recorded() as warned, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            yield texts
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        root.removeHandler(handler)
        root.setLevel(level)
        sink.seek(0)
        texts += [out.getvalue(), err.getvalue(), sink.read().decode("utf-8", "replace")]
        sink.close()
        texts += handler.texts
        texts += [f"{w.category.__name__}: {w.message}" for w in warned]


@contextlib.contextmanager
def warnings_recorded() -> Iterator[list]:
    """Record every warning issued in the block (``warnings.catch_warnings``, always shown)."""
    import warnings

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        yield warned


_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def message_fault(message: str, *, names: tuple[str, ...] = ()) -> str | None:
    """Why a designed error's message is not a clean line naming its file, or ``None``."""
    if not message.strip():
        return "empty message"
    if _BREAKS.search(message):
        return "line break or control character in the message"
    try:
        message.encode("utf-8")
    except UnicodeEncodeError:
        return "the message cannot be printed (lone surrogate)"
    if names and not any(n in message for n in names):
        return f"the message names none of {', '.join(names)}"
    return None


def leaked(texts: list[str]) -> tuple[str, ...]:
    """The planted personal values that appear in ``texts``."""
    return tuple(s for s in SENTINELS if any(s in t for t in texts))


@functools.cache
def scenario_model() -> object:
    """The scenario model of the base project (built once per process)."""
    import atexit
    import shutil

    from coverage.engine.scenario import ScenarioModel

    folder = Path(tempfile.mkdtemp(prefix="fuzz-model-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    Case("scenario", "base").write(folder)
    return ScenarioModel(folder)


def _result_texts(results: object) -> list[str]:
    """Notes and every result table as text (they are published: no personal value there)."""
    texts = [str(n) for n in results.notes]  # type: ignore[attr-defined]
    for table in results.layers().values():  # type: ignore[attr-defined]
        plain = table.drop(columns="geometry", errors="ignore")
        texts.append(plain.to_csv(index=False))
    return texts


@dataclass
class _Trace:
    """Where a case got to, and the names its designed error's message must mention."""

    stage: str = "write"
    names: tuple[str, ...] = ()
    texts: list[str] = field(default_factory=list)


def _first_error(problems: object, trace: _Trace) -> str:
    """The message of the first error among ``problems`` (``""`` for none); it names its file."""
    errors = problems.errors  # type: ignore[attr-defined]
    if not errors:
        return ""
    trace.names = (errors[0].file.strip() or "(no file named)",)
    return str(errors[0])


def _init(project: object, work: Path, trace: _Trace) -> str:
    """Propose a project from the case's files with ``init``; the designed message or ``""``."""
    from coverage.init_project import init_project

    files = {name: layer.path for name, layer in project.layers.items()}  # type: ignore[attr-defined]
    trace.stage = "init"
    try:
        result = init_project(work / "init", files)
    except ValueError as exc:
        return str(exc)
    trace.texts += [str(p) for p in result.problems]
    trace.texts.append(result.path.read_text(encoding="utf-8"))
    return _first_error(result.problems, trace)


def _simulate(case: Case, trace: _Trace) -> str:
    """Parse and evaluate the case's scenario; the designed message or ``""``."""
    from coverage.engine.scenario import Scenario

    trace.stage, trace.names = "scenario", ("scenario.json",)
    try:
        scenario = Scenario.from_text(case.scenario or "", label="scenario.json")
    except ValueError as exc:
        return str(exc)
    model = scenario_model()
    trace.stage, trace.names = "simulate", ("edit ",)
    try:
        table = model.evaluate(scenario)  # type: ignore[attr-defined]
    except ValueError as exc:
        return str(exc)
    trace.texts.append(table.to_csv())
    return ""


def _exercise(case: Case, work: Path, trace: _Trace) -> str:
    """Run ``case`` as the command line would; return the designed error's message or ``""``.

    Raises whatever the tool raises beyond its designed errors.
    """
    from coverage.engine.preflight import check_project
    from coverage.engine.run import run_study
    from coverage.io.project import ProjectError, load_project

    if case.fmt == "scenario":
        return _simulate(case, trace)
    folder = case.write(work / "project")
    trace.stage, trace.names = "project", ("project.toml",)
    try:
        project = load_project(folder)
    except ProjectError as exc:
        return str(exc)
    if case.init:  # init reads the files as they are and validates what it proposes
        return _init(project, work, trace)
    trace.stage = "validate"
    problems = check_project(project)
    trace.texts += [str(p) for p in problems]
    if problems.errors:
        return _first_error(problems, trace)
    if case.run:
        trace.stage = "run"
        trace.texts += _result_texts(run_study(project))
    return ""


@functools.cache
def warm_up() -> None:
    """Import what the checks use and build the base project once, outside any case's time.

    A hang is a case taking too long, not the first case of a process importing OSMnx.
    """
    import openpyxl  # noqa: F401
    import osmium  # noqa: F401
    import osmnx  # noqa: F401


    base_files()
    scenario_model()


def check_one(case: Case, *, timeout: float = TIMEOUT_S) -> Outcome:
    """Run ``case`` and classify what happened (see the module docstring)."""
    warm_up()
    start = time.perf_counter()
    trace = _Trace()
    status, message, detail = "ok", "", ""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp, captured() as said:
        try:
            with deadline(timeout):
                message = _exercise(case, Path(tmp), trace)
        except FuzzTimeout:
            status, detail = "hang", f"stopped after {timeout:g} s"
        except Exception as exc:
            status = "uncaught"
            message = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            detail = "".join(traceback.format_exception(exc))
    texts = [*trace.texts, *said]
    seconds = time.perf_counter() - start
    note = next((n for p, n in KNOWN_ISSUES.items() if status == "uncaught"
                 and re.search(p, detail)), None)
    if note:
        status, detail = "known", f"{note}\n{detail}"
    if status == "ok" and seconds > timeout:
        status, detail = "hang", f"took {seconds:.1f} s"
    if status == "ok" and message:
        status = "designed"
        texts.append(message)
        fault = message_fault(message, names=trace.names)
        if fault:
            status, detail = "message", fault
    found = leaked(texts) if status != "hang" else ()
    if found and status in ("ok", "designed", "message"):
        status = "leak"
        detail = next(t for t in texts if any(s in t for s in found))[:2000]
    return Outcome(status, trace.stage, message, seconds, detail, found)


# --------------------------------------------------------------------------------------------
# Pools of values
# --------------------------------------------------------------------------------------------

JUNK_TEXT = [
    "", " ", "\t", "\u3000", "\ufeff", "\x00", "\r", "\n", "\r\n", '"', '""', "'", ",", ";", "|",
    "\\", "=1+2", "=HYPERLINK(\"x\")", "@SUM(A1)", "+86 139", "-", "NULL", "null", "None", "N/A",
    "#N/A", "#VALUE!", "\u202e", "\u200b", "𠀀", "䶮", "😀", "\x1b[31m", "<b>x</b>", "{", "}",
    "[", "]", "é", "Ω", "ß", "İ", "ǅ", "ﬁ", "\ud7ff", "男", "女", "是", "否", "C1", "C2", "C9",
    "S1", "S2", "0", "-0", "1", "00000", "２０２４", "１１３．７５",
]
ODD_NUMBERS = [
    "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e400", "-1e400",
    "1e-400", "4.9e-324", "9" * 30, "-" + "9" * 30, "9" * 400, "0x10", "1_000", "1,000",
    "1.2.3", "１２３", "113.75°", "23°01′", "2.5人", "+23.02", " 23.02 ", "23,02", ".5", "5.",
    "1e", "e5", "--1", "0", "-0.0", "18446744073709551616", "9007199254740993", "1e15",
]
ODD_DATES = [
    "2024-02-30", "0000-00-00", "9999-12-31", "99999999", "2024/13/45", "1900-01-01",
    "1899-12-31", "45000", "45000.5", "2024-03-01T25:61:00", "2024年13月1日", "24-3-1", "3/1/2024",
    "2024-03-01 00:00:00", "20240301000000", "昨天", "1e5", "-2024-01-01", "2024--01",
]
HEADER_VARIANTS = {
    "人员编号": ["人员编号", " 人员编号 ", "*人员编号", "人员ID", "编号", "ID", "Person_ID",
                 "人员\u3000编号", "\ufeff人员编号", "＊人员编号"],
    "经度": ["经度", "lng", "LONG", "Longitude", "x", "X", "东经", "lon_gcj02", " 经 度 "],
    "纬度": ["纬度", "latitude", "Y", "lat_gcj02", "北纬", "LAT"],
    "社区编码": ["社区编码", "社区代码", "村居编码", "community_id", "COMMUNITY_ID"],
    "性别": ["性别", "sex", "SEX"],
    "出生年份": ["出生年份", "出生年", "birth_year"],
    "婚姻状况": ["婚姻状况", "婚姻状态", "marital_status"],
    "户籍地代码": ["户籍地代码", "户籍地", "户籍所在地代码", "hukou_code"],
    "来本地日期": ["来本地日期", "到达日期", "流入日期", "arrived_on"],
    "站点编码": ["站点编码", "网点编码", "机构编码", "site_id"],
    "名称": ["名称", "网点名称", "站点名称", "name"],
    "类型": ["类型", "机构类型", "kind"],
    "人员": ["人员", "工作人员", "在岗人员", "staff", "STAFF"],
}
OTHER_HEADERS = [
    "", " ", "备注", "column", "Unnamed: 0", "123", "2024", "姓名", "身份证号", "编号", "id", "x",
    "y", "lat", "lon", "经度", "纬度", "人员", "名称", "\ufeff", "a,b", 'a"b', "a\nb", "列" * 200,
    "工作地经度", "工作地纬度", "服务日期", "孕检", "生殖保健检查次数", "社区编码",
]
CRS_VALUES = [
    "wgs84", "WGS84", "gcj02", "GCJ-02", "bd09", "cgcs2000", "EPSG:4326", "epsg:4490",
    "EPSG:3857", "EPSG:32650", "EPSG:2154", "EPSG:0", "EPSG:99999999", "EPSG:", "4326",
    "urn:ogc:def:crs:EPSG::4326", "+proj=longlat +datum=WGS84", "+proj=utm +zone=50",
    "GEOGCS[", "mars", "", " ", "wgs84 ", "ＷＧＳ８４", "EPSG:4326\n", "EPSG:-1", "ESRI:102100",
    "IAU_2015:30100", "EPSG:4479", "EPSG:5514",
]
ENCODINGS = [
    "auto", "utf-8", "UTF8", "utf-8-sig", "gb18030", "gbk", "gb2312", "big5", "utf-16",
    "utf-32", "latin-1", "ascii", "cp037", "idna", "punycode", "unicode_escape",
    "raw_unicode_escape", "utf-7", "hz", "rot13", "base64", "zlib", "uu", "mbcs", "", "auto ",
    "utf_8", "shift_jis", "cp1252", "koi8-r", "charmap",
]
DELIMITERS = [",", ";", "\t", "|", " ", "，", "\x00", "a", "'", "\\", "\x1f", "、", "😀", "\u3000",
              ",,", "", "\n", '"']


def _pick(rng: random.Random, pool: list) -> object:
    return pool[rng.randrange(len(pool))]


def random_text(rng: random.Random, size: int = 12) -> str:
    """Random text: printable, control, CJK, astral and combining characters."""
    ranges = [(0x20, 0x7E), (0x00, 0x1F), (0x4E00, 0x9FFF), (0x3000, 0x303F), (0xFF00, 0xFFEF),
              (0x0300, 0x036F), (0x1F600, 0x1F64F), (0x20000, 0x2A6DF), (0x80, 0x24F)]
    out = []
    for _ in range(rng.randrange(size + 1)):
        low, high = ranges[rng.randrange(len(ranges))]
        out.append(chr(rng.randint(low, high)))
    return "".join(out)


def random_cell(rng: random.Random) -> str:
    """A random cell: junk, an odd number or date, random text or a plausible value."""
    kind = rng.randrange(5)
    if kind == 0:
        return str(_pick(rng, JUNK_TEXT))
    if kind == 1:
        return str(_pick(rng, ODD_NUMBERS))
    if kind == 2:
        return str(_pick(rng, ODD_DATES))
    if kind == 3:
        return random_text(rng)
    return f"{rng.uniform(-200, 200):.{rng.randrange(8)}f}"


# --------------------------------------------------------------------------------------------
# Tables: mutations of the migrants and sites tables
# --------------------------------------------------------------------------------------------


@dataclass
class Table:
    """A table being broken: its layer, header (``None`` for none) and rows of text cells."""

    layer: str
    header: list[str] | None
    rows: list[list[str]]

    @property
    def width(self) -> int:
        """Number of columns (of the header, else of the first row)."""
        if self.header is not None:
            return len(self.header)
        return len(self.rows[0]) if self.rows else 0

    def column(self, names: tuple[str, ...]) -> int | None:
        """Position of the first column whose base header is one of ``names``."""
        base = MIGRANT_HEADER if self.layer == "migrants" else SITE_HEADER
        for i, h in enumerate(base):
            if h in names and i < self.width:
                return i
        return None

    def cells(self, rng: random.Random, k: int, columns: tuple[int, ...] | None = None
              ) -> Iterator[tuple[list[str], int]]:
        """``k`` random (row, column) positions, in ``columns`` when given."""
        if not self.rows or not self.width:
            return
        for _ in range(k):
            row = self.rows[rng.randrange(len(self.rows))]
            if not row:
                continue
            cols = [c for c in (columns or range(len(row))) if c < len(row)]
            if cols:
                yield row, cols[rng.randrange(len(cols))]


def base_table(layer: str) -> Table:
    """The base migrants or sites table (a deep copy)."""
    if layer == "migrants":
        return Table(layer, list(MIGRANT_HEADER), copy.deepcopy(MIGRANT_ROWS))
    return Table(layer, list(SITE_HEADER), copy.deepcopy(SITE_ROWS))


def _t_headerless(rng: random.Random, t: Table) -> str:
    t.header = None
    return "no header row"


def _t_drop_column(rng: random.Random, t: Table) -> str:
    if not t.width:
        return "no column to drop"
    i = rng.randrange(t.width)
    if t.header is not None:
        del t.header[i]
    for row in t.rows:
        if i < len(row):
            del row[i]
    return f"column {i + 1} dropped"


def _t_duplicate_column(rng: random.Random, t: Table) -> str:
    if not t.width:
        return "no column to duplicate"
    i, at = rng.randrange(t.width), rng.randrange(t.width + 1)
    if t.header is not None:
        name = t.header[i]
        variants = HEADER_VARIANTS.get(name, [name])
        t.header.insert(at, str(_pick(rng, [name, *variants])))
    for row in t.rows:
        row.insert(min(at, len(row)), row[i] if i < len(row) else "")
    return f"column {i + 1} duplicated at {at + 1}"


def _t_extra_column(rng: random.Random, t: Table) -> str:
    at = rng.randrange(t.width + 1)
    name = str(_pick(rng, OTHER_HEADERS)) if rng.random() < 0.8 else random_text(rng)
    if t.header is not None:
        t.header.insert(at, name)
    for row in t.rows:
        row.insert(min(at, len(row)), random_cell(rng))
    return f"extra column {name!r} at {at + 1}"


def _t_rename(rng: random.Random, t: Table) -> str:
    if t.header is None or not t.header:
        return "no header to rename"
    i = rng.randrange(len(t.header))
    pool = [*OTHER_HEADERS, *(v for vs in HEADER_VARIANTS.values() for v in vs)]
    t.header[i] = str(_pick(rng, pool)) if rng.random() < 0.8 else random_text(rng)
    return f"header {i + 1} renamed to {t.header[i]!r}"


def _t_header_variants(rng: random.Random, t: Table) -> str:
    if t.header is None:
        return "no header"
    t.header = [str(_pick(rng, HEADER_VARIANTS.get(h, [h]))) for h in t.header]
    return "Chinese/English header variants"


def _t_empty(rng: random.Random, t: Table) -> str:
    k = rng.randint(1, 6)
    for row, c in t.cells(rng, k):
        row[c] = str(_pick(rng, ["", " ", "\t", "\u3000"]))
    return f"{k} cells emptied"


def _t_numbers(rng: random.Random, t: Table) -> str:
    base = MIGRANT_HEADER if t.layer == "migrants" else SITE_HEADER
    cols = tuple(i for i, h in enumerate(base) if h in ("经度", "纬度", "出生年份", "人员",
                                                          "户籍地代码"))
    k = rng.randint(1, 5)
    for row, c in t.cells(rng, k, cols):
        row[c] = str(_pick(rng, ODD_NUMBERS))
    return f"{k} huge, NaN or odd numbers"


def _t_long_cell(rng: random.Random, t: Table) -> str:
    n = _pick(rng, [1_000, 70_000, 140_000, 300_000])
    for row, c in t.cells(rng, 1):
        row[c] = _pick(rng, ["x", "长", "1", ","]) * n  # type: ignore[operator]
    return f"a cell of {n:,} characters"


def _t_junk(rng: random.Random, t: Table) -> str:
    k = rng.randint(1, 6)
    for row, c in t.cells(rng, k):
        row[c] = random_cell(rng)
    return f"{k} junk cells"


def _t_dup_rows(rng: random.Random, t: Table) -> str:
    if not t.rows:
        return "no row to repeat"
    for _ in range(rng.randint(1, 3)):
        t.rows.insert(rng.randrange(len(t.rows) + 1), list(_pick(rng, t.rows)))  # type: ignore[arg-type]
    return "rows repeated"


def _t_swap(rng: random.Random, t: Table) -> str:
    if t.width < 2:
        return "nothing to swap"
    i, j = rng.sample(range(t.width), 2)
    if rng.random() < 0.5 and t.column(("经度",)) is not None:
        i, j = t.column(("经度",)), t.column(("纬度",))  # type: ignore[assignment]
    for row in t.rows:
        if i is not None and j is not None and max(i, j) < len(row):
            row[i], row[j] = row[j], row[i]
    return f"values of columns {i} and {j} swapped"


def _t_coordinates(rng: random.Random, t: Table) -> str:
    lon, lat = t.column(("经度",)), t.column(("纬度",))
    if lon is None or lat is None:
        return "no coordinates"
    how = str(_pick(rng, ["far", "range", "metres", "gcj", "same", "zero", "some-far", "bd"]))
    for n, row in enumerate(t.rows):
        if max(lon, lat) >= len(row):
            continue
        try:
            x, y = float(row[lon]), float(row[lat])
        except ValueError:
            continue
        if how == "some-far" and n % 3:
            continue
        x, y = {"far": (x + 30, y + 10), "range": (x + 200, y + 100),
                "metres": (x * 1e5, y * 1e5), "gcj": (x + 0.0051, y - 0.0025),
                "same": (113.755, 23.025), "zero": (0.0, 0.0), "some-far": (x + 1, y),
                "bd": (x + 0.0117, y + 0.0035)}[how]
        row[lon], row[lat] = repr(x), repr(y)
    return f"coordinates moved ({how})"


def _t_ragged(rng: random.Random, t: Table) -> str:
    for row, _ in t.cells(rng, rng.randint(1, 3)):
        if rng.random() < 0.5:
            row.extend(random_cell(rng) for _ in range(rng.randint(1, 3)))
        elif row:
            del row[rng.randrange(len(row))]
    return "rows with too many or too few fields"


def _t_many(rng: random.Random, t: Table) -> str:
    # service points cost ~25 ms each in ``run`` (catchment polygons): a few dozen at most
    n = int(_pick(rng, [50, 300, 1_000] if t.layer == "migrants" else [10, 40]))
    base = list(t.rows)
    if not base:
        return "no row to repeat"
    for k in range(n):
        row = list(base[k % len(base)])
        if row:
            row[0] = f"P{k:06d}"
        t.rows.append(row)
    return f"{n:,} more rows"


def _t_no_rows(rng: random.Random, t: Table) -> str:
    t.rows = []
    return "header only"


def _t_plant(rng: random.Random, t: Table) -> str:
    if t.layer != "migrants":
        return "nothing planted (not a personal layer)"
    k = rng.randint(1, 6)
    for row, c in t.cells(rng, k, PERSONAL_COLUMNS):
        row[c] = str(_pick(rng, SENTINELS))
    return f"{k} personal values planted in personal columns"


def _t_dates(rng: random.Random, t: Table) -> str:
    c = t.column(("来本地日期",))
    if c is None:
        return "no date column"
    for row, col in t.cells(rng, rng.randint(1, 4), (c,)):
        row[col] = str(_pick(rng, ODD_DATES))
    return "odd dates"


def _t_categories(rng: random.Random, t: Table) -> str:
    cols = tuple(c for c in (t.column(("性别",)), t.column(("婚姻状况",)), t.column(("婚育证明",)),
                             t.column(("类型",))) if c is not None)
    if not cols:
        return "no category column"
    pool = [*JUNK_TEXT, *SENTINELS] if t.layer == "migrants" else JUNK_TEXT
    for row, col in t.cells(rng, rng.randint(1, 4), cols):
        row[col] = str(_pick(rng, pool))
    return "values outside the categories"


TABLE_MUTATIONS: dict[str, Callable[[random.Random, Table], str]] = {
    "headerless": _t_headerless, "drop": _t_drop_column, "duplicate": _t_duplicate_column,
    "extra": _t_extra_column, "rename": _t_rename, "variants": _t_header_variants,
    "empty": _t_empty, "numbers": _t_numbers, "long": _t_long_cell, "junk": _t_junk,
    "dup-rows": _t_dup_rows, "swap": _t_swap, "coordinates": _t_coordinates,
    "ragged": _t_ragged, "many": _t_many, "no-rows": _t_no_rows, "plant": _t_plant,
    "dates": _t_dates, "categories": _t_categories,
}
_TABLE_WEIGHTS = {"headerless": 4, "many": 1, "long": 1, "no-rows": 1, "plant": 4, "variants": 3}


def mutate_table(rng: random.Random, t: Table, k: int | None = None) -> list[str]:
    """Apply ``k`` (1 to 3 when ``None``) random table mutations; return what was done."""
    names = list(TABLE_MUTATIONS)
    weights = [_TABLE_WEIGHTS.get(n, 2) for n in names]
    done = []
    for _ in range(rng.randint(1, 3) if k is None else k):
        name = rng.choices(names, weights)[0]
        done.append(TABLE_MUTATIONS[name](rng, t))
    return done


# --------------------------------------------------------------------------------------------
# Bytes: encodings and byte-level damage
# --------------------------------------------------------------------------------------------


def encode_text(rng: random.Random, text: str) -> tuple[bytes, str]:
    """Encode ``text`` in a random encoding (some wrong or lossy); return the bytes and how."""
    how = str(_pick(rng, ["utf-8", "utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "big5",
                          "latin-1-mojibake", "mixed", "utf-8-sig-twice"]))
    if how in ("gbk", "big5"):
        return text.encode(how, errors="replace"), how
    if how == "latin-1-mojibake":
        return text.encode("utf-8").decode("latin-1").encode("utf-8"), how
    if how == "mixed":  # one line in GB18030, the rest UTF-8
        lines = text.splitlines(keepends=True)
        k = rng.randrange(len(lines)) if lines else 0
        return b"".join(line.encode("gb18030" if i == k else "utf-8")
                        for i, line in enumerate(lines)), how
    if how == "utf-8-sig-twice":
        return b"\xef\xbb\xbf" + text.encode("utf-8-sig"), how
    return text.encode(how, errors="surrogatepass"), how


def mutate_bytes(rng: random.Random, data: bytes, k: int | None = None) -> tuple[bytes, list[str]]:
    """Damage ``data``: flipped bytes, truncation, inserted junk, deleted or repeated spans."""
    done = []
    for _ in range(rng.randint(1, 2) if k is None else k):
        n = len(data)
        at = rng.randrange(n + 1)
        how = str(_pick(rng, ["flip", "truncate", "junk", "delete", "repeat", "nul", "bom",
                              "cr"]))
        if how == "flip" and n:
            buf = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(n)] = rng.randrange(256)
            data = bytes(buf)
        elif how == "truncate":
            data = data[:at]
        elif how == "junk":
            data = data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at:]
        elif how == "delete":
            data = data[:at] + data[at + rng.randint(1, 200):]
        elif how == "repeat":
            data = data[:at] + data[at:at + rng.randint(1, 300)] * rng.randint(2, 5) + data[at:]
        elif how == "nul":
            data = data[:at] + b"\x00" * rng.randint(1, 4) + data[at:]
        elif how == "bom":
            data = data[:at] + b"\xef\xbb\xbf" + data[at:]
        else:
            data = data[:at] + b"\r" + data[at:]
        done.append(f"bytes: {how} at {at:,}")
    return data, done


# --------------------------------------------------------------------------------------------
# project.toml
# --------------------------------------------------------------------------------------------


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    return json.dumps(str(value))


def toml_text(data: dict) -> str:
    """Write ``data`` as TOML text (tables as ``[a.b]`` headers, arrays and inline tables)."""
    lines: list[str] = []

    def table(prefix: list[str], body: dict) -> None:
        simple = [(k, v) for k, v in body.items() if not isinstance(v, dict)]
        nested = [(k, v) for k, v in body.items() if isinstance(v, dict)]
        if prefix and (simple or not nested):
            lines.append("[" + ".".join(_toml_key(p) for p in prefix) + "]")
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in simple)
        for k, v in nested:
            table([*prefix, k], v)

    table([], data)
    return "\n".join(lines) + "\n"


def project_with(name: str | None = None, /, **settings: object) -> dict:
    """The base project's settings, with ``settings`` replacing those of layer ``name``."""
    data = copy.deepcopy(BASE_PROJECT)
    if name is not None:
        data["layers"][name] = {**data["layers"].get(name, {}), **settings}
    return data


PATHS = [
    "", ".", "..", "/", "missing.csv", "sub/", "migrants.csv", "sites.csv", "communities.geojson",
    "network.gpkg", "project.toml", "folder.csv", "loop.csv", "fifo.csv", "mem.csv",
    "x" * 300 + ".csv", "a/" * 60 + "m.csv", "nul\u0000.csv", "line\nbreak.csv",
    "C:\\data\\m.csv", "http://example.com/m.csv", "~/m.csv", "migrants.CSV", "m.xls",
    "m.csv.gz", "junk.parquet", "junk.json", "junk.shp", "junk.kml", "m.tsv", "m.txt",
    "junk.fgb", "junk.xlsx", "junk.gpkg", "dangling.csv", "../outside.csv", "空 格.csv",
    "sub/../migrants.csv", "./migrants.csv", "loop.gpkg", "fifo.gpkg", "folder.gpkg",
]
NETWORK_PATHS = [
    "network.gpkg", "fifo.osm", "fifo.gpkg", "zero.gpkg", "loop.osm", "folder.osm", "mem.gpkg",
    "junk.osm", "junk.pbf", "junk.osm.gz", "junk.osm.bz2", "junk.graphml", "junk.gpkg",
    "network.GPKG", "network.shp", "migrants.csv", "", "x" * 300 + ".osm", "dangling.osm",
    "communities.geojson",
]


def _special_files(rng: random.Random, case: Case) -> None:
    """Give the paths of :data:`PATHS` something behind them (folders, links, FIFOs, junk)."""
    case.folders += ("folder.csv", "folder.gpkg", "folder.osm", "sub")
    case.fifos += ("fifo.csv", "fifo.gpkg", "fifo.osm")
    case.links.update({"loop.csv": "loop2.csv", "loop2.csv": "loop.csv",
                       "loop.gpkg": "loop.gpkg", "loop.osm": "loop.osm",
                       "dangling.csv": "nowhere.csv", "dangling.osm": "nowhere.osm",
                       "mem.csv": "/proc/self/mem", "mem.gpkg": "/proc/self/mem",
                       "zero.gpkg": "/dev/zero"})
    for name in ("junk.parquet", "junk.json", "junk.shp", "junk.kml", "junk.fgb", "junk.xlsx",
                 "junk.gpkg", "junk.osm", "junk.pbf", "junk.osm.gz", "junk.osm.bz2",
                 "junk.graphml", "m.tsv", "m.txt", "migrants.CSV", "m.xls", "m.csv.gz"):
        case.files[name] = rng.randbytes(rng.randint(0, 400)) if rng.random() < 0.7 else (
            base_files()["migrants.csv"])


def random_value(rng: random.Random, depth: int = 0) -> object:
    """A random TOML value: any type, odd numbers, paths, codes, nested arrays and tables."""
    kind = rng.randrange(12 if depth < 2 else 9)
    if kind == 0:
        return rng.choice([0, 1, -1, 5, 2**31, 2**63 - 1, -(2**63), 10**9, 120, 121])
    if kind == 1:
        return rng.choice([0.0, -0.0, 0.5, 1e-300, 1e308, math.nan, math.inf, -math.inf, 4.5,
                           15.0, 1e-9, 0.9, 1.5])
    if kind == 2:
        return rng.random() < 0.5
    if kind in (3, 4):
        return str(_pick(rng, [*PATHS, *CRS_VALUES, *ENCODINGS, *DELIMITERS, "zh", "en", "auto",
                               "district_registered_ratio", "Sheet1", "nodes", "edges"]))
    if kind == 5:
        return random_text(rng, 20)
    if kind == 6:
        return dt.datetime(2024, 3, 1, 8, 0)
    if kind == 7:
        return str(_pick(rng, JUNK_TEXT))
    if kind == 8:
        return [rng.choice([5, 10, 15, 0, -5, 1e-9, 121, 5.5]) for _ in range(rng.randrange(9))]
    if kind == 9:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(_pick(rng, ["walk", "ebike", "standard", "person_id", "lon", "x", "", "a b"])):
            random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


_KEYS = {
    "project": ["name", "study_crs", "language", "nme", "crs"],
    "layer": ["path", "crs", "encoding", "sheet", "header_row", "layer", "columns", "repair",
              "delimiter", "pth", "kind", "type"],
    "parameters": ["speeds_kmh", "thresholds_min", "max_snap_m", "study_area_tolerance_m",
                   "staffing", "targets", "threshold"],
    "staffing": ["standard", "rate_min_population", "max_new_staff_per_site", "ratio"],
    "privacy": ["min_cell", "salt_file", "salt"],
    "outputs": ["dir", "folder"],
    "top": ["project", "layers", "parameters", "privacy", "outputs", "extra"],
    "layers": ["migrants", "sites", "communities", "network", "registered_points", "candidates",
               "people"],
}
_FIELDS = ["person_id", "lon", "lat", "community_id", "sex", "site_id", "staff", "name", "kind",
           "registered_pop", "unknown_field", ""]


def _edit_toml(rng: random.Random, data: dict) -> str:
    """One random edit of the project settings ``data`` (in place); return what was done."""
    layers = data.setdefault("layers", {})
    if not isinstance(layers, dict):  # an earlier edit replaced the table: edit a detached one
        layers = {}
    how = rng.randrange(12)
    if how == 0:  # a setting of a layer
        name = str(_pick(rng, list(layers) or ["migrants"]))
        if not isinstance(layers.get(name), dict):
            layers[name] = {}
        key = str(_pick(rng, _KEYS["layer"]))
        layers[name][key] = random_value(rng)
        return f"[layers.{name}] {key} = {layers[name][key]!r}"
    if how == 1:  # a path
        name = str(_pick(rng, ["migrants", "sites", "communities", "registered_points",
                                "candidates"]))
        layers.setdefault(name, {"crs": "wgs84"})
        if isinstance(layers[name], dict):
            layers[name]["path"] = str(_pick(rng, PATHS))
            return f"[layers.{name}] path = {layers[name]['path']!r}"
    if how == 2:
        layers.setdefault("network", {})
        if isinstance(layers["network"], dict):
            layers["network"]["path"] = str(_pick(rng, NETWORK_PATHS))
            return f"[layers.network] path = {layers['network']['path']!r}"
    if how == 3:  # delete something
        table = str(_pick(rng, ["top", "layers", "layer"]))
        if table == "layer" and layers:
            name = str(_pick(rng, list(layers)))
            if isinstance(layers[name], dict) and layers[name]:
                key = str(_pick(rng, list(layers[name])))
                del layers[name][key]
                return f"[layers.{name}] {key} removed"
        target = data if table == "top" else layers
        if target:
            key = str(_pick(rng, list(target)))
            del target[key]
            return f"{key} removed"
    if how == 4:  # an odd value for a whole table
        key = str(_pick(rng, _KEYS["top"]))
        data[key] = random_value(rng)
        return f"{key} = {data[key]!r}"
    if how == 5:
        params = data.setdefault("parameters", {})
        if isinstance(params, dict) and rng.random() < 0.3:
            staffing = params.setdefault("staffing", {})
            if isinstance(staffing, dict):
                key = str(_pick(rng, _KEYS["staffing"]))
                staffing[key] = random_value(rng)
                return f"[parameters.staffing] {key} = {staffing[key]!r}"
        if isinstance(params, dict):
            key = str(_pick(rng, _KEYS["parameters"]))
            params[key] = random_value(rng)
            return f"[parameters] {key} = {params[key]!r}"
    if how == 6:
        privacy = data.setdefault("privacy", {})
        if isinstance(privacy, dict):
            key = str(_pick(rng, _KEYS["privacy"]))
            privacy[key] = (str(_pick(rng, ["salt", "sub/deeper/salt", "folder.csv", "fifo.csv",
                                            "loop.csv", "", ".", "project.toml", "migrants.csv",
                                            "dangling.csv"]))
                            if key == "salt_file" and rng.random() < 0.7 else random_value(rng))
            return f"[privacy] {key} = {privacy[key]!r}"
    if how == 7:
        head = data.setdefault("project", {})
        if isinstance(head, dict):
            key = str(_pick(rng, _KEYS["project"]))
            head[key] = (str(_pick(rng, CRS_VALUES)) if key == "study_crs" and rng.random() < 0.6
                         else random_value(rng))
            return f"[project] {key} = {head[key]!r}"
    if how == 8:  # a column mapping
        name = str(_pick(rng, ["migrants", "sites"]))
        if isinstance(layers.get(name), dict):
            columns = layers[name].setdefault("columns", {})
            if isinstance(columns, dict):
                fld = str(_pick(rng, _FIELDS))
                columns[fld] = str(_pick(rng, [*MIGRANT_HEADER, *SITE_HEADER, *OTHER_HEADERS]))
                return f"[layers.{name}.columns] {fld} = {columns[fld]!r}"
    if how == 9:  # a coordinate system
        name = str(_pick(rng, list(layers) or ["migrants"]))
        if isinstance(layers.get(name), dict):
            layers[name]["crs"] = str(_pick(rng, CRS_VALUES))
            return f"[layers.{name}] crs = {layers[name]['crs']!r}"
    if how == 10:  # encoding or delimiter of a CSV layer
        name = str(_pick(rng, ["migrants", "sites"]))
        if isinstance(layers.get(name), dict):
            key = str(_pick(rng, ["encoding", "delimiter"]))
            layers[name][key] = str(_pick(rng, ENCODINGS if key == "encoding" else DELIMITERS))
            return f"[layers.{name}] {key} = {layers[name][key]!r}"
    # an unknown key somewhere
    key = random_text(rng, 6) if rng.random() < 0.3 else str(_pick(rng, [
        "pth", "crs ", "Path", "threshold", "paramters", "layer", "列", "min-cell"]))
    where = str(_pick(rng, ["top", "project", "layer"]))
    if where == "layer" and isinstance(layers.get("migrants"), dict):
        layers["migrants"][key] = random_value(rng)
    elif where == "project" and isinstance(data.get("project"), dict):
        data["project"][key] = random_value(rng)
    else:
        data[key] = random_value(rng)
    return f"unknown key {key!r} in {where}"


def _text_edit(rng: random.Random, text: str) -> tuple[str | bytes, str]:
    """Damage the TOML text itself (lines swapped, repeated, removed, bytes broken)."""
    lines = text.splitlines()
    how = rng.randrange(5)
    if how == 0 and lines:
        del lines[rng.randrange(len(lines))]
        return "\n".join(lines), "a line removed"
    if how == 1 and lines:
        lines.insert(rng.randrange(len(lines) + 1), str(_pick(rng, lines)))
        return "\n".join(lines), "a line repeated"
    if how == 2:
        return text.encode("gb18030"), "saved as GB18030"
    if how == 3:
        return "\ufeff" + text, "with a byte-order mark"
    data, done = mutate_bytes(rng, text.encode("utf-8"))
    return data, "; ".join(done)


EXTREME_PARAMETERS: dict[str, list[object]] = {
    "thresholds_min": [[0.001], [120], [1e-9, 5.0], [5, 10, 15, 30, 60, 120], [15, 5], [7.5]],
    "speeds_kmh": [{"walk": 1.0}, {"walk": 8.0, "ebike": 40.0}, {"ebike": 5.0}],
    "max_snap_m": [1e-6, 0.5, 1e6, 1e300],
    "study_area_tolerance_m": [0, 1e-9, 1e6, 1e300],
    "staffing": [{"standard": 1e-300}, {"standard": 1e300}, {"standard": "city_registered_ratio"},
                 {"rate_min_population": 1}, {"rate_min_population": 2**63 - 1},
                 {"max_new_staff_per_site": 1}],
    "targets": [{"policy_awareness": 0}, {"free_service_local": 1}, {"rh_checks_per_year": 1e300},
                {"community_management": 0.0}],
}
"""Unusual but valid parameters: the project validates, and ``run`` must then work."""


def _extreme_parameters(rng: random.Random, data: dict) -> str:
    """Set one unusual but valid parameter, privacy or project setting; return which."""
    how = rng.randrange(10)
    if how < 7:
        key = str(_pick(rng, list(EXTREME_PARAMETERS)))
        value = copy.deepcopy(_pick(rng, EXTREME_PARAMETERS[key]))
        data.setdefault("parameters", {})[key] = value
        return f"[parameters] {key} = {value!r}"
    if how == 7:
        data.setdefault("privacy", {})["min_cell"] = rng.choice([1, 2, 2**63 - 1])
        return f"[privacy] min_cell = {data['privacy']['min_cell']}"
    if how == 8:
        data["project"]["study_crs"] = rng.choice(["EPSG:32649", "EPSG:32650", "EPSG:4547",
                                                   "EPSG:2383", "EPSG:32601"])
        return f"[project] study_crs = {data['project']['study_crs']!r}"
    data["project"]["language"] = "en"
    data["project"]["name"] = random_text(rng, 40)
    return "[project] language = 'en' and an odd name"


def toml_case(rng: random.Random, *, run_share: float = 0.25) -> Case:
    """The tiny project with random edits of its ``project.toml`` (some valid, unusual ones)."""
    case = Case("toml", "")
    _special_files(rng, case)
    data = copy.deepcopy(BASE_PROJECT)
    if rng.random() < 0.35:
        case.what = "; ".join(_extreme_parameters(rng, data) for _ in range(rng.randint(1, 3)))
        case.project = toml_text(data)
        case.run = rng.random() < max(run_share, 0.5)
        return case
    what = [_edit_toml(rng, data) for _ in range(rng.randint(1, 3))]
    text: str | bytes = toml_text(data)
    if rng.random() < 0.2:
        text, how = _text_edit(rng, text)  # type: ignore[arg-type]
        what.append(how)
    special = rng.random()
    if special < 0.03:
        case.remove += ("project.toml",)
        case.folders += ("project.toml",)
        what.append("project.toml is a folder")
    elif special < 0.06:
        case.remove += ("project.toml",)
        case.links["project.toml"] = "project.toml"
        what.append("project.toml is a link to itself")
    elif special < 0.08:
        case.remove += ("project.toml",)
        case.fifos += ("project.toml",)
        what.append("project.toml is a FIFO")
    elif special < 0.1:
        text = (text if isinstance(text, str) else "") + "# " + "x" * 3_000_000 + "\n"
        what.append("3 MB of comment")
    case.project = text
    case.what = "; ".join(what)
    case.run = rng.random() < run_share
    return case


# --------------------------------------------------------------------------------------------
# CSV and XLSX cases
# --------------------------------------------------------------------------------------------


def _csv_text(rng: random.Random, t: Table) -> tuple[str, str, list[str]]:
    """The table as CSV text with a random delimiter, quoting and line ends."""
    delimiter = str(_pick(rng, [",", ",", ",", ",", ";", "\t", "|"]))
    end = str(_pick(rng, ["\n", "\n", "\r\n", "\r"]))
    records = ([t.header] if t.header is not None else []) + t.rows
    what = []
    if rng.random() < 0.75:
        quoting = _pick(rng, [csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=end).writerows(
            records)
        text = out.getvalue()
    else:
        text = "".join(delimiter.join(r) + end for r in records)
        what.append("written without quoting")
    if rng.random() < 0.1:
        lines = text.split(end)
        lines.insert(rng.randrange(len(lines) + 1), "")
        text = end.join(lines)
        what.append("a blank line")
    if rng.random() < 0.1:
        text = text.rstrip("\r\n")
        what.append("no final line break")
    if delimiter != ",":
        what.append(f"delimiter {delimiter!r}")
    return text, delimiter, what


def table_bytes_csv(rng: random.Random, t: Table) -> tuple[bytes, dict, list[str]]:
    """CSV bytes of ``t`` (random encoding, maybe damaged) and the layer's settings."""
    text, delimiter, what = _csv_text(rng, t)
    data, how = encode_text(rng, text)
    what.append(f"encoded as {how}")
    settings: dict[str, object] = {}
    if delimiter != "," and rng.random() < 0.75:
        settings["delimiter"] = delimiter
    elif delimiter != "," or rng.random() < 0.05:
        settings["delimiter"] = str(_pick(rng, DELIMITERS))
    if rng.random() < 0.15:
        settings["encoding"] = str(_pick(rng, ["auto", "utf-8", "gb18030", "gbk", "utf-16",
                                               "big5", "latin-1", "idna", "utf-32"]))
    if rng.random() < 0.15:
        data, done = mutate_bytes(rng, data)
        what += done
    if settings:
        what.append(f"declared {settings}")
    return data, settings, what


def _typed(value: str) -> object:
    """The cell as Excel would store it when typed in: numbers as numbers, dates as dates."""
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if math.isfinite(number) and value.strip() == value and len(value) < 20:
            return int(number) if number.is_integer() and "." not in value else number
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(value)
    return value


def _xlsx_cell(value: str) -> str:
    """Text openpyxl can store (no control characters but tab and line breaks)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("?", value)[:32_000]


def table_bytes_xlsx(rng: random.Random, t: Table) -> tuple[bytes, dict, list[str]]:
    """An XLSX workbook of ``t`` with odd sheets, and the layer's settings."""
    from openpyxl import Workbook

    book = Workbook()
    what: list[str] = []
    settings: dict[str, object] = {}
    sheet = book.active
    if rng.random() < 0.2:
        sheet.title = "说明"
        sheet["A1"] = "这是说明页"
        sheet = book.create_sheet(str(_pick(rng, ["数据", "Sheet 2", "流动人口(2024)", "'x'"])))
        what.append(f"data on a second sheet {sheet.title!r}")
        choice = rng.random()
        if choice < 0.5:
            settings["sheet"] = sheet.title
        elif choice < 0.7:
            settings["sheet"] = rng.choice([1, 2, 5, "Sheet9", "说明"])
    typed = rng.random() < 0.5
    top = 0
    if rng.random() < 0.25:
        top = rng.randint(1, 3)
        sheet.cell(1, 1, "2024年流动人口登记表")
        if top > 1 and rng.random() < 0.5:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=4)
        what.append(f"{top} title rows")
        if rng.random() < 0.7:
            settings["header_row"] = top + 1 if rng.random() < 0.8 else top
    records = ([t.header] if t.header is not None else []) + t.rows
    for r, record in enumerate(records, start=top + 1):
        for c, value in enumerate(record, start=1):
            cell = _typed(value) if typed and r > top + 1 else value
            sheet.cell(r, c, _xlsx_cell(cell) if isinstance(cell, str) else cell)
    n = top + len(records)
    odd = rng.random()
    if odd < 0.08 and n > top + 2:
        sheet.merge_cells(start_row=top + 2, start_column=1, end_row=top + 3, end_column=1)
        what.append("merged cells in the data")
    elif odd < 0.14:
        sheet.merge_cells(start_row=top + 1, start_column=2, end_row=top + 1, end_column=3)
        what.append("merged header cells")
    elif odd < 0.2:
        sheet.cell(top + 2, 2, "=1/0")
        sheet.cell(top + 3, 3, "=A1&B1")
        what.append("formulas")
    elif odd < 0.24:
        row, col = rng.choice([(n + 5, 1), (n + 500, 30), (n + 20_000, 200), (1_048_576, 1),
                               (1_048_576, 16_384), (top + 1, 16_384)])
        sheet.cell(row, col, "x")
        what.append(f"a stray cell at row {row:,}, column {col:,}")
    elif odd < 0.28:
        sheet.sheet_state = "hidden"
        book.create_sheet("visible")
        what.append("the data sheet hidden")
    elif odd < 0.31:
        book.create_chartsheet("chart", 0)
        what.append("a chart sheet first")
    if typed:
        what.append("typed cells")
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    damage = rng.random()
    if damage < 0.1:
        data, done = mutate_bytes(rng, data)
        what += done
    elif damage < 0.15:
        data = _drop_zip_member(rng, data)
        what.append("a part of the workbook removed")
    elif damage < 0.17:
        data = table_csv(t.header or [], t.rows).encode("utf-8")
        what.append("CSV text named .xlsx")
    if settings:
        what.append(f"declared {settings}")
    return data, settings, what


def _drop_zip_member(rng: random.Random, data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        names = zin.namelist()
        drop = str(_pick(rng, names))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zout:
            for name in names:
                if name != drop:
                    zout.writestr(name, zin.read(name))
    return out.getvalue()


def table_case(rng: random.Random, fmt: str = "csv", *, run_share: float = 0.25,
               init_share: float = 0.04) -> Case:
    """The migrants (mostly) or sites table as a random, broken CSV or XLSX file."""
    layer = "migrants" if rng.random() < 0.7 else "sites"
    t = base_table(layer)
    what = [f"{layer}.{fmt}", *mutate_table(rng, t, k=rng.choice([0, 1, 1, 2, 3]))]
    if fmt == "csv":
        data, settings, more = table_bytes_csv(rng, t)
    else:
        data, settings, more = table_bytes_xlsx(rng, t)
    name = f"{layer}.{fmt}"
    project = project_with(layer, path=name, **settings) if settings or fmt != "csv" else None
    case = Case(fmt, "; ".join(what + more), files={name: data},
                project=None if project is None else toml_text(project))
    case.init = rng.random() < init_share
    case.run = not case.init and rng.random() < run_share
    return case


# --------------------------------------------------------------------------------------------
# GeoPackage and GeoJSON cases: communities, migrants, the road network
# --------------------------------------------------------------------------------------------


def _write_vector(gdf: object, suffix: str, layer: str | None = None,
                  more: dict[str, object] | None = None) -> bytes:
    """Bytes of ``gdf`` written as a ``suffix`` file (plus ``more`` layers for a GeoPackage)."""
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="fuzz-vec-") as tmp:
        path = Path(tmp) / f"data{suffix}"
        if suffix == ".parquet":
            gdf.to_parquet(path)  # type: ignore[attr-defined]
        else:
            driver = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".fgb": "FlatGeobuf"}[suffix]
            pyogrio.write_dataframe(gdf, path, layer=layer, driver=driver)
            for name, other in (more or {}).items():
                pyogrio.write_dataframe(other, path, layer=name, driver=driver)
        return path.read_bytes()


def _mutate_polygons(rng: random.Random, gdf: object) -> list[str]:
    """Break the communities' geometries or attributes in place."""
    import numpy as np
    import shapely

    what = []
    geoms = np.asarray(gdf.geometry.values, dtype=object)  # type: ignore[attr-defined]
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(geoms))
        how = str(_pick(rng, ["bowtie", "empty", "none", "point", "line", "huge", "nan",
                              "collection", "3d", "tiny", "hole", "far", "multi"]))
        x0, y0, x1, y1 = shapely.bounds(geoms[i]) if geoms[i] is not None and not \
            shapely.is_empty(geoms[i]) else (LON0, LAT0, LON0 + 0.01, LAT0 + 0.01)
        geoms[i] = {
            "bowtie": shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)]),
            "empty": shapely.Polygon(),
            "none": None,
            "point": shapely.Point(x0, y0),
            "line": shapely.LineString([(x0, y0), (x1, y1)]),
            "huge": shapely.box(-1e300, -1e300, 1e300, 1e300),
            "nan": shapely.Polygon([(x0, y0), (math.nan, y1), (x1, y1)]),
            "collection": shapely.GeometryCollection([shapely.box(x0, y0, x1, y1),
                                                      shapely.Point(x0, y0)]),
            "3d": shapely.Polygon([(x0, y0, 5), (x1, y0, 5), (x1, y1, 5), (x0, y1, 5)]),
            "tiny": shapely.box(x0, y0, x0 + 1e-12, y0 + 1e-12),
            "hole": shapely.box(x0, y0, x1, y1).difference(shapely.box(x0, y0, x1, y1)
                                                            .buffer(-0.001)),
            "far": shapely.box(x0 + 50, y0 + 20, x1 + 50, y1 + 20),
            "multi": shapely.MultiPolygon([shapely.box(x0, y0, x1, y1),
                                           shapely.box(x0, y0, x1, y1)]),
        }[how]
        what.append(f"community {i + 1}: {how} geometry")
    gdf.geometry = list(geoms)  # type: ignore[attr-defined]
    return what


def _mutate_attributes(rng: random.Random, gdf: object) -> list[str]:
    """Break some attributes of a vector layer in place."""
    what = []
    columns = [c for c in gdf.columns if c != "geometry"]  # type: ignore[attr-defined]
    for _ in range(rng.randint(1, 2)):
        if not columns:
            break
        col = str(_pick(rng, columns))
        how = rng.randrange(6)
        if how == 0:
            gdf.drop(columns=[col], inplace=True)  # type: ignore[attr-defined]
            columns.remove(col)
            what.append(f"column {col!r} dropped")
        elif how == 1:
            new = str(_pick(rng, [*OTHER_HEADERS[1:4], "名称", "区"]))
            gdf.rename(columns={col: new}, inplace=True)  # type: ignore[attr-defined]
            columns = [new if c == col else c for c in columns]
            what.append(f"column {col!r} renamed to {new!r}")
        elif how == 2:
            values = [random_cell(rng) for _ in range(len(gdf))]  # type: ignore[arg-type]
            gdf[col] = values  # type: ignore[index]
            what.append(f"column {col!r}: junk text")
        elif how == 3:
            gdf[col] = [rng.choice([-1.0, math.nan, 1e300, 0.5, 2**62]) for _ in range(len(gdf))]  # type: ignore[arg-type,index]
            what.append(f"column {col!r}: odd numbers")
        elif how == 4:
            if len(gdf):  # type: ignore[arg-type]
                gdf[col] = gdf[col].iloc[0]  # type: ignore[index]
            what.append(f"column {col!r}: one value repeated")
        else:
            gdf[col] = [rng.random() < 0.5 for _ in range(len(gdf))]  # type: ignore[arg-type,index]
            what.append(f"column {col!r}: booleans")
    return what


def _migrant_points(rng: random.Random) -> tuple[object, list[str]]:
    """The migrants (with planted values) as a point layer, attributes broken at random."""
    import geopandas as gpd

    t = base_table("migrants")
    what = mutate_table(rng, t, k=rng.choice([0, 1, 2]))
    header = t.header or [f"field_{i}" for i in range(t.width)]
    header = [h if h.strip() else f"field_{i}" for i, h in enumerate(header)]
    seen: dict[str, int] = {}
    unique = []
    for h in header:  # a file cannot hold two fields of one name
        seen[h] = seen.get(h, 0) + 1
        unique.append(h if seen[h] == 1 else f"{h}_{seen[h]}")
    rows = [r + [""] * (len(unique) - len(r)) if len(r) < len(unique) else r[:len(unique)]
            for r in t.rows]
    frame = gpd.pd.DataFrame(rows, columns=unique)

    def number(value: str) -> float:
        try:
            return float(value)
        except ValueError:
            return math.nan

    lon = frame[unique[1]].map(number) if len(unique) > 1 else gpd.pd.Series(dtype=float)
    lat = frame[unique[2]].map(number) if len(unique) > 2 else gpd.pd.Series(dtype=float)
    gdf = gpd.GeoDataFrame(frame.drop(columns=unique[1:3]),
                           geometry=gpd.points_from_xy(lon, lat), crs=4326)
    return gdf, what


def gpkg_case(rng: random.Random, *, run_share: float = 0.25, init_share: float = 0.04) -> Case:
    """Communities or migrants as a random, broken GeoPackage (or GeoJSON), or a broken network."""
    target = str(_pick(rng, ["communities", "communities", "migrants", "network", "network"]))
    if target == "network":
        return network_gpkg_case(rng, run_share=run_share)
    if target == "communities":
        gdf = communities()
        what = ["communities"]
        if rng.random() < 0.6:
            what += _mutate_polygons(rng, gdf)
        if rng.random() < 0.5:
            what += _mutate_attributes(rng, gdf)
    else:
        gdf, what = _migrant_points(rng)
        what.insert(0, "migrants as points")
        if rng.random() < 0.3:
            what += _mutate_attributes(rng, gdf)
    if rng.random() < 0.2:
        code = rng.choice([3857, 4490, 32650, 2154])
        gdf = gdf.to_crs(code) if rng.random() < 0.7 else gdf.set_crs(code, allow_override=True)
        what.append(f"in EPSG:{code}")
    elif rng.random() < 0.05:
        gdf = gdf.set_crs(None, allow_override=True)
        what.append("without a CRS")
    suffix = str(_pick(rng, [".gpkg", ".gpkg", ".gpkg", ".geojson", ".fgb", ".parquet"]))
    more = {}
    settings: dict[str, object] = {}
    if suffix == ".gpkg" and rng.random() < 0.15:
        more["other"] = gdf.iloc[:1]
        what.append("a second layer 'other'")
        if rng.random() < 0.6:
            settings["layer"] = rng.choice([target, "other", "missing", 0])
    if rng.random() < 0.05:
        gdf = gdf.iloc[:0]
        what.append("no features")
    try:
        data = _write_vector(gdf, suffix, layer=target, more=more)
    except Exception as exc:  # a layer the format cannot hold: write its base layer instead
        what.append(f"(not written: {type(exc).__name__}; base layer instead)")
        data = _write_vector(communities() if target == "communities" else
                             _migrant_points(random.Random(0))[0], suffix, layer=target)
    if rng.random() < 0.15:
        data, done = mutate_bytes(rng, data)
        what += done
    name = f"{target}{suffix}"
    if rng.random() < 0.1:
        settings["crs"] = str(_pick(rng, CRS_VALUES))
    project = project_with(target, path=name, **settings)
    if target == "migrants" and rng.random() < 0.3:
        del project["layers"]["migrants"]["crs"]  # the file's own CRS
    if settings:
        what.append(f"declared {settings}")
    case = Case("gpkg", "; ".join(what), files={name: data}, project=toml_text(project),
                remove=() if target == "migrants" else ("communities.geojson",))
    case.init = suffix == ".gpkg" and rng.random() < init_share
    case.run = not case.init and rng.random() < run_share
    return case


def network_frames() -> tuple[object, object]:
    """Nodes and edges of the street grid in OSMnx's GeoPackage layout (GeoDataFrames)."""
    import geopandas as gpd
    import shapely

    from coverage.network.readers import great_circle_m

    nodes, streets = _grid()
    pos = {n: (x, y) for n, x, y in nodes}
    node_frame = gpd.GeoDataFrame(
        {"osmid": [n for n, _, _ in nodes], "x": [x for _, x, _ in nodes],
         "y": [y for _, _, y in nodes], "street_count": 4},
        geometry=gpd.points_from_xy([x for _, x, _ in nodes], [y for _, _, y in nodes]),
        crs=4326)
    rows = []
    for way, u, v in streets:
        (x0, y0), (x1, y1) = pos[u], pos[v]
        length = float(great_circle_m(x0, y0, x1, y1))
        for s, t in ((u, v), (v, u)):
            a, b = pos[s], pos[t]
            rows.append({"u": s, "v": t, "key": 0, "osmid": way, "highway": "residential",
                         "oneway": False, "reversed": s != u, "length": length,
                         "geometry": shapely.LineString([a, b])})
    edges = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    return node_frame, edges


def network_gpkg_case(rng: random.Random, *, run_share: float = 0.25) -> Case:
    """The road network as a GeoPackage in OSMnx's layout, broken at random."""
    import shapely

    nodes, edges = network_frames()
    what = ["network.gpkg"]
    for _ in range(rng.randint(1, 3)):
        try:
            how = rng.randrange(14)
            n = len(edges)  # type: ignore[arg-type]
            pick = [rng.randrange(n) for _ in range(rng.randint(1, 5))] if n else []
            if how == 0:
                col = str(_pick(rng, ["length", "u", "v", "highway", "oneway", "geometry_", "key"]))
                edges = edges.drop(columns=[col], errors="ignore")  # type: ignore[attr-defined]
                what.append(f"edges without {col!r}")
            elif how == 1:
                edges.loc[pick, "length"] = rng.choice([0.0, -5.0, math.nan, math.inf, 1e300])  # type: ignore[attr-defined]
                what.append("odd edge lengths")
            elif how == 2:
                edges.loc[pick, "u"] = rng.choice([999_999, -1, 2**62, 0])  # type: ignore[attr-defined]
                what.append("edges to missing nodes")
            elif how == 3:
                nodes.loc[rng.randrange(len(nodes)), "osmid"] = int(nodes["osmid"].iloc[0])  # type: ignore[attr-defined,index,arg-type]
                what.append("a repeated node id")
            elif how == 4:
                nodes = nodes.drop(columns=[str(_pick(rng, ["x", "y", "osmid"]))])  # type: ignore[attr-defined]
                what.append("nodes without a column")
            elif how == 5:
                nodes.loc[rng.randrange(len(nodes)), ["x", "y"]] = [  # type: ignore[attr-defined,arg-type]
                    rng.choice([math.nan, 1e300, 500.0]), rng.choice([math.nan, -1e300, 95.0])]
                what.append("odd node coordinates")
            elif how == 6:
                edges["highway"] = str(_pick(rng, ["motorway", "construction", "", "footway",  # type: ignore[index]
                                                   "proposed", "residential;footway"]))
                what.append(f"every edge highway={edges['highway'].iloc[0]!r}")  # type: ignore[index]
            elif how == 7:
                edges["oneway"] = str(_pick(rng, ["yes", "-1", "reversible", "1", "banana"]))  # type: ignore[index]
                what.append("odd oneway values")
            elif how == 8:
                geoms = list(edges.geometry)  # type: ignore[attr-defined]
                for i in pick:
                    geoms[i] = rng.choice([None, shapely.LineString(), shapely.Point(0, 0),
                                           shapely.LineString([(0, 0), (180, 90)])])
                edges = edges.set_geometry(geoms)  # type: ignore[attr-defined]
                what.append("odd edge geometries")
            elif how == 9:
                edges = edges.iloc[:0]  # type: ignore[attr-defined]
                what.append("no edges")
            elif how == 10:
                nodes = nodes.to_crs(32650)  # type: ignore[attr-defined]
                nodes["x"], nodes["y"] = nodes.geometry.x, nodes.geometry.y  # type: ignore[index]
                what.append("nodes in EPSG:32650")
            elif how == 11:
                nodes["osmid"] = nodes["osmid"].astype(str) + "n"  # type: ignore[index]
                what.append("text node ids")
            elif how == 12:
                edges = edges.to_crs(3857)  # type: ignore[attr-defined]
                what.append("edges in EPSG:3857")
            else:
                edges["u"] = edges["u"].astype(float) + 0.5  # type: ignore[index]
                what.append("fractional node references")
        except (KeyError, ValueError, IndexError, TypeError):  # an earlier step removed it
            what.append("(a step that no longer applied)")
    layers = {"nodes": nodes, "edges": edges}
    drop = rng.random()
    if drop < 0.08:
        del layers[str(_pick(rng, ["nodes", "edges"]))]
        what.append("a layer missing")
    try:
        first, *rest = list(layers.items())
        data = _write_vector(first[1], ".gpkg", layer=first[0], more=dict(rest))
    except Exception as exc:  # pyogrio cannot write it: the network as it was
        what.append(f"(not written: {type(exc).__name__}; base network instead)")
        data = base_files()["network.gpkg"]
    if rng.random() < 0.2:
        data, done = mutate_bytes(rng, data)
        what += done
    case = Case("gpkg", "; ".join(what), files={"network.gpkg": data})
    case.run = rng.random() < run_share
    return case


# --------------------------------------------------------------------------------------------
# OSM XML / PBF and GraphML cases
# --------------------------------------------------------------------------------------------


def osm_xml() -> str:
    """The street grid as OSM XML: one node per line, ways along the grid's rows and columns."""
    nodes, _ = _grid()
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="fuzz">']
    lines += [f'  <node id="{n}" version="1" lat="{y}" lon="{x}"/>' for n, x, y in nodes]
    by_pos = {(round(x, 6), round(y, 6)): n for n, x, y in nodes}
    xs = sorted({x for _, x, _ in nodes})
    ys = sorted({y for _, _, y in nodes})
    way = 0
    for fixed, along in ((ys, xs), (xs, ys)):
        for f in fixed:
            way += 1
            refs = [by_pos.get((a, f)) or by_pos.get((f, a)) for a in along]
            lines.append(f'  <way id="{way}" version="1">')
            lines += [f'    <nd ref="{r}"/>' for r in refs if r]
            lines.append('    <tag k="highway" v="residential"/>')
            lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def _entity_bomb(levels: int) -> str:
    """A DOCTYPE whose entity ``&e<levels>;`` expands to ``10 ** levels`` characters."""
    parts = ['<!ENTITY e0 "xxxxxxxxxx">']
    parts += [f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, levels)]
    return "<!DOCTYPE root [" + "".join(parts) + "]>"


def _mutate_xml(rng: random.Random, text: str) -> tuple[str, list[str]]:
    """Break XML written one element per line: lines, attribute values, entities, nesting."""
    lines = text.splitlines()
    what = []
    for _ in range(rng.randint(1, 3)):
        how = rng.randrange(9)
        i = rng.randrange(2, max(3, len(lines) - 1))
        if how == 0:
            del lines[i:i + rng.randint(1, 20)]
            what.append("lines removed")
        elif how == 1:
            lines[i:i] = lines[i:i + rng.randint(1, 10)] * rng.randint(1, 3)
            what.append("lines repeated")
        elif how == 2:
            key = str(_pick(rng, ["lat", "lon", "id", "ref", "v", "k", "source", "target",
                                  "key"]))
            value = str(_pick(rng, [*ODD_NUMBERS, "", "abc", "-1", "9223372036854775807",
                                    "1e3", "男", "motorway", "yes"]))
            pattern = re.compile(f'{key}="[^"]*"')
            hits = [j for j, line in enumerate(lines) if pattern.search(line)]
            for j in rng.sample(hits, min(len(hits), rng.randint(1, 5))):
                lines[j] = pattern.sub(f'{key}="{value}"', lines[j], count=1)
            what.append(f"{key}={value!r} in some elements")
        elif how == 3:
            levels = rng.randint(2, 6)
            lines.insert(1, _entity_bomb(levels))
            j = next((k for k, line in enumerate(lines) if 'v="' in line or "<data" in line),
                     len(lines) - 1)
            lines[j] = re.sub(r'v="[^"]*"', f'v="&e{levels - 1};"', lines[j])
            what.append(f"an entity expanding to 10^{levels} characters")
        elif how == 4:
            depth = rng.choice([100, 5_000, 50_000])
            lines.insert(i, "<x>" * depth + "</x>" * depth)
            what.append(f"{depth:,} nested elements")
        elif how == 5:
            lines.insert(i, rng.choice(["<", "&", "]]>", "<!-- ", "\x00", "<node/>",
                                        '<node id="1"/>', "<way id='7'><nd ref='1'/></way>",
                                        '<?xml version="1.0"?>']))
            what.append("junk markup")
        elif how == 6:
            highway = _pick(rng, ["motorway", "footway", "construction", ""])
            lines = [line.replace('v="residential"', f'v="{highway}"') for line in lines]
            what.append("other highway values")
        elif how == 7:
            lines = lines[:1] + lines[-1:]
            what.append("no elements")
        else:
            rng.shuffle(lines)
            what.append("lines shuffled")
    return "\n".join(lines), what


def osm_case(rng: random.Random, *, run_share: float = 0.25) -> Case:
    """The road network as broken OSM XML (plain, gzip, bzip2) or junk named ``.pbf``."""
    import bz2

    text = osm_xml()
    what: list[str] = []
    if rng.random() < 0.8:
        text, what = _mutate_xml(rng, text)
    data = text.encode("utf-8")
    if rng.random() < 0.2:
        data, done = mutate_bytes(rng, data)
        what += done
    suffix = str(_pick(rng, [".osm", ".osm", ".osm", ".osm.gz", ".osm.bz2", ".pbf", ".osm.pbf"]))
    if suffix == ".osm.gz":
        data = gzip.compress(data) if rng.random() < 0.8 else data
    elif suffix == ".osm.bz2":
        data = bz2.compress(data) if rng.random() < 0.8 else data
    elif suffix.endswith(".pbf"):
        data = rng.choice([data, rng.randbytes(rng.randint(0, 2_000)),
                           b"\x00\x00\x00\x0d\n\tOSMHeader" + rng.randbytes(200)])
    name = f"network{suffix}"
    project = project_with("network", path=name)
    case = Case("osm", "; ".join([name, *what]), files={name: data}, project=toml_text(project),
                remove=("network.gpkg",))
    case.run = rng.random() < run_share
    return case


@functools.cache
def graphml_text() -> str:
    """The street grid as GraphML written by OSMnx."""
    import networkx as nx
    import osmnx as ox

    from coverage.network.readers import great_circle_m

    nodes, streets = _grid()
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for n, x, y in nodes:
        graph.add_node(n, x=x, y=y)
    pos = {n: (x, y) for n, x, y in nodes}
    for way, u, v in streets:
        length = float(great_circle_m(*pos[u], *pos[v]))
        for s, t in ((u, v), (v, u)):
            graph.add_edge(s, t, osmid=way, highway="residential", length=length,
                           oneway=False, reversed=s != u)
    with tempfile.TemporaryDirectory(prefix="fuzz-graphml-") as tmp:
        path = Path(tmp) / "network.graphml"
        ox.save_graphml(graph, path)
        return path.read_text(encoding="utf-8")


def graphml_case(rng: random.Random, *, run_share: float = 0.25) -> Case:
    """The road network as broken GraphML."""
    text, what = _mutate_xml(rng, graphml_text()) if rng.random() < 0.85 else (
        graphml_text(), [])
    if rng.random() < 0.3:
        odd = [*ODD_NUMBERS, "", "abc", "LINESTRING ("]
        found = list(re.finditer(r'<data key="(d\d+)">([^<]*)</data>', text))
        for m in sorted(rng.sample(found, min(len(found), rng.randint(1, 8))),
                        key=lambda m: -m.start()):
            value = f'<data key="{m.group(1)}">{_pick(rng, odd)}</data>'
            text = text[:m.start()] + value + text[m.end():]
        what.append("odd data values")
    data = text.encode("utf-8")
    if rng.random() < 0.15:
        data, done = mutate_bytes(rng, data)
        what += done
    project = project_with("network", path="network.graphml")
    case = Case("graphml", "; ".join(["network.graphml", *what]),
                files={"network.graphml": data}, project=toml_text(project),
                remove=("network.gpkg",))
    case.run = rng.random() < run_share
    return case


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------

INSIDE = [(113.755, 23.025), (113.765, 23.027), (113.7501, 23.0201), (113.77, 23.03)]


def _json_junk(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 1, 10**30, -(10**30), 2**63, 1000, 1001, 1000.0000001])
    if kind == 3:
        return rng.choice([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324, 113.755, 23.025])
    if kind == 4:
        return random_text(rng, 10)
    if kind == 5:
        return str(_pick(rng, [*JUNK_TEXT, "add", "move", "close", "set_staff", "S1", "S2",
                               "health_station", "fp_room", "x" * 300]))
    if kind in (6, 7):
        return [_json_junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(_pick(rng, ["action", "site_id", "lon", "lat", "staff", "kind", "name", "x",
                            ""])): _json_junk(rng, depth + 1) for _ in range(rng.randrange(4))}


def random_edit(rng: random.Random, k: int = 0) -> dict[str, object]:
    """A plausible edit, perhaps with a wrong field."""
    action = str(_pick(rng, ["add", "add", "move", "close", "set_staff"]))
    edit: dict[str, object] = {"action": action,
                               "site_id": str(_pick(rng, ["S1", "S2", f"N{k}", "N1"]))}
    lon, lat = _pick(rng, INSIDE)  # type: ignore[misc]
    if action in ("add", "move"):
        edit |= {"lon": lon + rng.uniform(-0.003, 0.003), "lat": lat + rng.uniform(-0.003, 0.003)}
    if action in ("add", "set_staff"):
        edit["staff"] = rng.choice([0, 1, 2.5, 1000])
    if action == "add" and rng.random() < 0.3:
        edit["kind"] = str(_pick(rng, ["health_station", "fp_room", "technical_station"]))
    if rng.random() < 0.25:
        key = str(_pick(rng, ["action", "site_id", "lon", "lat", "staff", "kind", "name",
                              "extra"]))
        edit[key] = _json_junk(rng)
    if rng.random() < 0.05:
        edit.pop(str(_pick(rng, list(edit))), None)
    return edit


def scenario_case(rng: random.Random) -> Case:
    """A scenario's JSON text: plausible edits, wrong types, deep nesting, huge lists, junk."""
    edits = [random_edit(rng, k) for k in range(rng.choice([0, 1, 2, 3, 5, 10]))]
    data: dict[str, object] = {"name": str(_pick(rng, ["plan", "", "方案一", "x" * 201])),
                               "edits": edits}
    what = [f"{len(edits)} edits"]
    if rng.random() < 0.2:
        key = str(_pick(rng, ["version", "name", "inputs", "edits", "extra"]))
        data[key] = _json_junk(rng)
        what.append(f"{key} = {data[key]!r:.40}")
    if rng.random() < 0.05:
        n = rng.choice([300, 1000, 1001])
        data["edits"] = [{"action": "add", "site_id": f"N{k}", "lon": 113.755 + k * 1e-6,
                          "lat": 23.025, "staff": 1} for k in range(n)]
        what.append(f"{n} added sites")
    text = json.dumps(data, ensure_ascii=rng.random() < 0.5, allow_nan=True)
    raw: str | bytes = text
    how = rng.random()
    if how < 0.05:
        depth = rng.choice([17, 1000, 100_000])
        raw = "[" * depth + "]" * depth
        what.append(f"nested {depth:,} deep")
    elif how < 0.1:
        raw = text.replace('"edits"', '"name": "again", "edits"', 1)
        what.append("a key twice")
    elif how < 0.15:
        raw = text[: rng.randrange(len(text) + 1)]
        what.append("truncated")
    elif how < 0.2:
        raw = text.replace("113.", "1" + "0" * 5_000 + ".", 1)
        what.append("a number of 5,000 digits")
    elif how < 0.25:
        raw = text.encode(str(_pick(rng, ["utf-16", "gb18030", "utf-8-sig", "latin-1"])),
                          errors="replace")
        what.append("another encoding")
    elif how < 0.3:
        raw, done = mutate_bytes(rng, text.encode("utf-8"))
        what += done
    elif how < 0.33:
        raw = text.replace('"S1"', '"\\ud800"')
        what.append("a lone surrogate")
    elif how < 0.35:
        raw = " " * 1_000_001
        what.append("more than 1 MB")
    elif how < 0.38:
        raw = text.replace("113.", "1e999", 1)
        what.append("1e999")
    return Case("scenario", "; ".join(what), scenario=raw)


# --------------------------------------------------------------------------------------------
# Drawing a case
# --------------------------------------------------------------------------------------------


def make_case(rng: random.Random, fmt: str | None = None, *, run_share: float = 0.25,
              init_share: float = 0.04) -> Case:
    """Draw one case of family ``fmt`` (drawn by :data:`WEIGHTS` when ``None``)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what the writers say about broken data is expected
        return _make_case(rng, fmt, run_share=run_share, init_share=init_share)


def _make_case(rng: random.Random, fmt: str | None, *, run_share: float,
               init_share: float) -> Case:
    if fmt is None:
        fmt = rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0]
    if fmt in ("csv", "xlsx"):
        return table_case(rng, fmt, run_share=run_share, init_share=init_share)
    if fmt == "gpkg":
        return gpkg_case(rng, run_share=run_share, init_share=init_share)
    if fmt == "osm":
        return osm_case(rng, run_share=run_share)
    if fmt == "graphml":
        return graphml_case(rng, run_share=run_share)
    if fmt == "toml":
        return toml_case(rng, run_share=run_share)
    if fmt == "scenario":
        return scenario_case(rng)
    msg = f"unknown input family {fmt!r}; use one of {', '.join(FORMATS)}"
    raise ValueError(msg)


def seeded_case(seed: int, index: int, fmt: str | None = None, **shares: float) -> Case:
    """Case number ``index`` of the run with ``seed`` (the same pair gives the same case)."""
    return make_case(random.Random(f"{seed}:{index}"), fmt, **shares)
