"""Propose a project from its data files, without writing TOML by hand.

``coverage init DIR --migrants FILE --sites FILE --communities FILE --network FILE`` reads each
file, and proposes what a user would otherwise write into ``project.toml``:

* the **encoding** of CSV files (UTF-8, UTF-8 with a byte-order mark, GB18030) and their
  delimiter;
* the **column mapping**: headers the data model recognises (:mod:`coverage.io.schema`: canonical
  names and their Chinese and English aliases) first, then close matches (a normalised
  similarity over the canonical names and aliases, whole words and contained Chinese terms),
  accepted only when the column's values fit the field (numbers for coordinates, six-digit codes,
  known categories …). A field never gets two headers, nor a header two fields; a required field
  without a match is a problem naming the file, the field and the closest headers;
* the **coordinate system** of each point layer: degrees or metres from the values (a projected
  CRS cannot be guessed: it is left as a problem to settle), then which reading of the degrees —
  WGS-84, GCJ-02 (Amap, Tencent) or BD-09 (Baidu) — puts the points next to the roads and in
  their communities (:func:`guess_system`, confirmed by
  :func:`coverage.network.offsets.check_declaration`; a guess it cannot confirm is written but
  flagged ``crs-uncertain``). Polygon layers keep their file's own CRS.
* for workbooks, the **header row** below any title rows; for GeoPackages of several layers,
  the one layer with the right geometry.

Large CSV files (over :data:`HEAD_BYTES`) are proposed from their head; validation reads them
whole.

:func:`write_project` writes ``project.toml`` with a comment on every guess (English and
Chinese) and the default parameters of :data:`coverage.io.project.TEMPLATE`; :func:`init_project`
does both and validates the result (:func:`coverage.io.loaders.validate_project`).

Personal values (migrants' ids, coordinates, answers) never appear in a comment or a problem:
only headers, counts and shares do. :func:`masked_preview` shows the first rows of a layer with
every personal cell replaced by ``•••``.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyproj

from coverage import crs as crsmod
from coverage.io.loaders import coerce_column
from coverage.io.project import FILE_LAYERS, PROJECT_FILE, TEMPLATE
from coverage.io.readers import RawTable, decode_text, read_table
from coverage.io.schema import LAYERS, Column, Layer
from coverage.io.validation import RULES, Problems

__all__ = [
    "LAYER_ORDER",
    "MASK",
    "ColumnGuess",
    "InitResult",
    "LayerProposal",
    "ProjectProposal",
    "SystemGuess",
    "guess_system",
    "init_project",
    "masked_preview",
    "match_columns",
    "merge_problems",
    "propose_project",
    "render_project",
    "similarity",
    "write_project",
]

#: Layers in the order they are read and written (communities first: they fix the study CRS).
LAYER_ORDER = ("migrants", "sites", "communities", "network", "registered_points", "candidates")
#: Readings of coordinates in degrees that are tested against the roads.
READINGS = ("wgs84", "gcj02", "bd09")
#: A point "fits" a reading when it lies within this distance of a road …
NEAR_ROAD_M = 60.0
#: … and, when communities are known, within this distance of one (the loader's default).
NEAR_AREA_M = 500.0
#: Points of a layer measured against the roads (a random sample of larger layers).
SAMPLE_POINTS = 5_000
#: Rows kept to check values against the fields (a random sample of larger layers).
SAMPLE_ROWS = 2_000
#: CSV files larger than this are proposed from their first bytes only (validation reads all).
HEAD_BYTES = 64 << 20
#: Similarity from which a close match is accepted, and from which a header is named as a
#: candidate for a field it was not given to.
ACCEPT_SCORE = 0.75
CANDIDATE_SCORE = 0.4
#: Share of a sample's non-empty cells that must convert for a close match to be accepted.
COMPATIBLE_SHARE = 0.5
#: What a masked cell shows.
MASK = "•••"
#: Comments longer than this (in terminal columns) are split into English and Chinese lines.
LINE_WIDTH = 100

_LABELS = {"wgs84": "WGS-84", "cgcs2000": "CGCS2000", "gcj02": "GCJ-02", "bd09": "BD-09"}
_DELIMITERS = (",", "\t", ";", "|")

How = Literal["name", "alias", "close", "values", "user"]
SystemHow = Literal["file", "network", "default", "user", "none"]


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class ColumnGuess:
    """The header proposed for one field of a layer.

    Attributes
    ----------
    field
        Canonical field name (:mod:`coverage.io.schema`).
    header
        Header in the file, or ``None`` when nothing matched.
    how
        ``name`` (the canonical name), ``alias`` (a recognised header), ``close`` (a close match),
        ``values`` (chosen from the values: coordinates), ``user`` (chosen by the user).
    score
        Similarity of the header to the field's names (1 for recognised headers).
    via
        The name or alias the header resembles most.
    compatible
        Share of the sampled non-empty cells that convert to the field's kind (``None`` when the
        column is empty or the field is text).
    candidates
        The closest other headers with their scores, best first (for fields without a match).
    note
        Anything else the comment should say (e.g. two headers matched), English and Chinese.
    """

    field: str
    header: str | None = None
    how: How = "name"
    score: float = 0.0
    via: str = ""
    compatible: float | None = None
    candidates: list[tuple[str, float]] = field(default_factory=list)
    note: tuple[str, str] | None = None

    def comment(self) -> tuple[str, str]:
        """Return the TOML comment for this guess, in English and in Chinese."""
        if self.how == "user":
            en, zh = "chosen by the user", "用户选择"
        elif self.how in ("name", "alias"):
            en, zh = "recognised header", "可自动识别的表头"
        elif self.how == "values":
            en, zh = f"guessed from the values ({self.via})", f"根据取值推断（{self.via}）"
        else:
            en = f"close match ({self.score:.2f}) for {self.field}, like {self.via!r}"
            zh = f"近似匹配（相似度 {self.score:.2f}，接近“{self.via}”）"
        if self.note:
            en, zh = f"{en}; {self.note[0]}", f"{zh}；{self.note[1]}"
        return en, zh


@dataclass
class SystemGuess:
    """The coordinate system proposed for one layer.

    Attributes
    ----------
    system
        ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``, ``EPSG:nnnn`` or ``None``: write no ``crs``
        (the file's own projected CRS, or a system that must be settled by the user).
    how
        ``file`` (the file's own CRS), ``network`` (tested against the roads), ``default``
        (no evidence: taken as WGS-84), ``user`` (chosen by the user), ``none`` (unknown).
    evidence
        English and Chinese sentences saying why.
    confident
        Whether the evidence is strong enough to rely on.
    near
        Reading → points within :data:`NEAR_ROAD_M` of a road (network test only).
    n_points
        Points measured.
    p_value
        Exact paired (McNemar) test of the best reading against the runner-up.
    """

    system: str | None
    how: SystemHow
    evidence: tuple[str, str]
    confident: bool = True
    near: dict[str, int] = field(default_factory=dict)
    n_points: int = 0
    p_value: float | None = None

    def comment(self) -> tuple[str, str]:
        """Return the TOML comment for this guess, in English and in Chinese."""
        if self.how == "user":
            return "chosen by the user", "用户选择"
        en, zh = self.evidence
        if self.how == "network":
            tag = ("guessed", "猜测") if self.confident else ("uncertain guess", "推断依据不足")
            return f"{tag[0]}: {en}", f"{tag[1]}：{zh}"
        return en, zh


@dataclass
class LayerProposal:
    """What is proposed for one layer.

    Attributes
    ----------
    name
        Layer key (``migrants`` … ``network``).
    path
        Absolute path of the file.
    source
        The path as written into ``project.toml`` (relative to the project folder when it can
        be) and used in messages.
    encoding
        ``auto``, ``utf-8`` or ``gb18030`` for CSV files, else ``None``; ``encoding_note`` says
        why (English, Chinese).
    delimiter
        CSV delimiter when it is not a comma.
    layer
        Layer inside a multi-layer file (GeoPackage), when one had to be chosen.
    header_row
        Row of a workbook holding the headers, when it is not the first.
    label
        The file's name in messages (with the sheet for a workbook: ``sites.xlsx[Sheet1]``).
    headers
        The file's headers, in order.
    columns
        Field → guess, for every field of the layer (``header`` ``None`` when not found).
    system
        Coordinate system guess (``None`` for layers that need none).
    rows
        Records read (of the head only for very large CSV files; ``partial`` is then true).
    head
        The first rows as read (unmasked: keep it on the server, show :func:`masked_preview`).
    sample
        A random sample of rows, for checking values when the mapping changes.
    lonlat
        Sampled coordinates as read (``x``, ``y``) and the community ids written in the same rows
        (``None`` when the layer has none), for guessing the coordinate system.
    file_crs
        The spatial file's own CRS.
    """

    name: str
    path: Path
    source: str
    encoding: str | None = None
    encoding_note: tuple[str, str] | None = None
    delimiter: str | None = None
    layer: str | None = None
    header_row: int | None = None
    label: str = ""
    headers: list[str] = field(default_factory=list)
    columns: dict[str, ColumnGuess] = field(default_factory=dict)
    system: SystemGuess | None = None
    rows: int = 0
    partial: bool = False
    head: pd.DataFrame | None = None
    sample: pd.DataFrame | None = None
    lonlat: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
    file_crs: pyproj.CRS | None = None

    @property
    def schema(self) -> Layer | None:
        """The layer's schema (``None`` for the road network)."""
        return LAYERS.get(self.name)

    @property
    def mapping(self) -> dict[str, str]:
        """Field → header for the fields found."""
        return {f: g.header for f, g in self.columns.items() if g.header is not None}

    def set_column(self, field_name: str, header: str | None) -> None:
        """Map ``field_name`` to ``header`` (``None`` unmaps it); a header serves one field only.

        Raises
        ------
        KeyError
            When the layer has no such field or the file no such header.
        """
        if field_name not in self.columns:
            msg = f"the {self.name} layer has no field {field_name!r}"
            raise KeyError(msg)
        if header is not None and header not in self.headers:
            msg = f"{self.source} has no header {header!r}; its headers: {', '.join(self.headers)}"
            raise KeyError(msg)
        for other in self.columns.values():
            if header is not None and other.header == header and other.field != field_name:
                other.header, other.how = None, "user"
        guess = self.columns[field_name]
        guess.header, guess.how, guess.note = header, "user", None
        guess.compatible = None
        schema = self.schema
        if header is not None and schema is not None and self.sample is not None:
            guess.compatible = _compatibility(self.sample[header], schema.column(field_name),
                                              schema)

    def set_system(self, system: str | None) -> None:
        """Declare the coordinate system (anything :func:`coverage.crs.parse_system` accepts)."""
        value = None if system is None else crsmod.parse_system(system)
        self.system = SystemGuess(value, "user", ("chosen by the user", "用户选择"))


@dataclass
class ProjectProposal:
    """Everything proposed for a project folder.

    Attributes
    ----------
    folder
        The project folder (``project.toml`` goes there).
    layers
        Layer name → proposal, in :data:`LAYER_ORDER`.
    problems
        What the user must settle or check (file, row, field, rule and the fix).
    study_crs
        The metric CRS the network was read in (UTM zone of the communities).
    network
        The road network read for the coordinate-system test (``None`` when unreadable).
    area
        The communities merged and buffered by :data:`NEAR_AREA_M`, in ``study_crs``.
    communities
        The community polygons in WGS-84 (with ``community_id`` when that column was found).
    seconds
        Time taken by each step.
    """

    folder: Path
    layers: dict[str, LayerProposal] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)
    study_crs: pyproj.CRS | None = None
    network: object | None = field(default=None, repr=False)
    area: object | None = field(default=None, repr=False)
    communities: object | None = field(default=None, repr=False)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self, lang: str = "en") -> pd.DataFrame:
        """One row per layer: file, rows, encoding, coordinate system and columns found.

        Parameters
        ----------
        lang
            ``en`` or ``zh`` for the column titles and the words in the cells.
        """
        zh = lang == "zh"
        rows = []
        for layer in self.layers.values():
            guess = layer.system
            crs = ""
            if guess is not None:
                crs = guess.system or ""
                if not crs:
                    own = guess.how == "file"
                    crs = ("文件自带" if own else "待定") if zh else (
                        "the file's own" if own else "TODO")
                if guess.how == "network":
                    crs += ("（推断）" if zh else " (guessed)") if guess.confident else (
                        "（不确定）" if zh else " (uncertain)")
            found = [g for g in layer.columns.values() if g.header is not None]
            close = sum(g.how in ("close", "values") for g in found)
            schema = layer.schema
            missing = [] if schema is None else [
                f for f, g in layer.columns.items()
                if g.header is None and schema.column(f).required]
            cols = ""
            if schema is not None:
                cols = (f"{len(found)} 个字段（近似匹配 {close} 个）" if zh else
                        f"{len(found)} fields ({close} close matches)")
                if missing:
                    cols += ("；缺少 " if zh else "; missing ") + ", ".join(missing)
            rows.append({
                "layer": layer.name,
                "file": layer.source,
                "rows": f"{layer.rows:,}{'+' if layer.partial else ''}" if schema else "",
                "encoding": layer.encoding or "",
                "crs": crs,
                "columns": cols,
            })
        frame = pd.DataFrame(rows, columns=["layer", "file", "rows", "encoding", "crs",
                                            "columns"])
        if zh:
            frame.columns = ["图层", "文件", "行数", "编码", "坐标系", "字段"]
        return frame

    def rebase(self, folder: str | Path, paths: Mapping[str, str | Path] | None = None) -> None:
        """Move the proposal to another project folder (its files copied there first).

        Parameters
        ----------
        folder
            The new project folder.
        paths
            Layer → the file's new place (layers not listed keep theirs); every path written
            into the project file is then made relative to ``folder`` again.
        """
        self.folder = Path(folder).resolve()
        for name, layer in self.layers.items():
            old = layer.source
            if paths and name in paths:
                layer.path = Path(paths[name]).resolve()
            layer.source = _source(layer.path, self.folder)
            if layer.label.startswith(old):
                layer.label = layer.source + layer.label[len(old):]

    def reguess_system(self, name: str) -> SystemGuess | None:
        """Guess the coordinate system of a point layer again (after its mapping changed)."""
        proposal = self.layers[name]
        proposal.lonlat = _coordinates(proposal)
        proposal.system = _system_for(proposal, self)
        return proposal.system


@dataclass
class InitResult:
    """What :func:`init_project` did: the proposal, the file written, all problems."""

    proposal: ProjectProposal
    path: Path
    problems: Problems

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not self.problems.errors


# --------------------------------------------------------------------------------------------
# Column matching
# --------------------------------------------------------------------------------------------


def _exact_key(text: str) -> str:
    """Normalise a header as the loader does (:func:`coverage.io.loaders.resolve_columns`)."""
    return "".join(text.replace("\ufeff", "").split()).strip("*＊").casefold()


def _loose_key(text: str) -> str:
    """Case-folded letters and digits only (Chinese characters are letters)."""
    return re.sub(r"[\W_]+", "", text.replace("\ufeff", "").casefold())


def _tokens(text: str) -> set[str]:
    """Latin words and digit runs of a header (``POINT_X`` → ``point``, ``x``)."""
    return set(re.findall(r"[a-z]+|[0-9]+", text.casefold()))


def _is_cjk(text: str) -> bool:
    return bool(text) and all("\u3400" <= ch <= "\u9fff" for ch in text)


def similarity(header: str, name: str) -> float:
    """How much ``header`` looks like the field name or alias ``name``, from 0 to 1.

    The largest of: difflib's ratio of the normalised texts; for a Chinese name of two or more
    characters contained in the header (``编号`` in ``流动人口编号``), 0.7 plus 0.3 times the
    share of the header it covers; for Latin names, the same when every word of the name is a
    word of the header (``x`` in ``POINT_X``). Identical texts after dropping case, spaces and
    punctuation score 0.95 (they are not recognised by the loader without a mapping).
    """
    h, n = _loose_key(header), _loose_key(name)
    if not h or not n:
        return 0.0
    if h == n:
        return 0.95
    score = difflib.SequenceMatcher(None, h, n, autojunk=False).ratio()
    if _is_cjk(n) and len(n) >= 2 and n in h:
        score = max(score, 0.7 + 0.3 * len(n) / len(h))
    elif _is_cjk(h) and len(h) >= 2 and h in n:
        score = max(score, 0.55 + 0.3 * len(h) / len(n))
    name_words = _tokens(name)
    if name_words and not _is_cjk(n) and name_words <= _tokens(header):
        score = max(score, 0.7 + 0.3 * len(n) / len(h))
    return min(score, 0.95)


def _best_name(header: str, col: Column) -> tuple[float, str]:
    return max((similarity(header, n), n) for n in (col.name, *col.aliases))


def _compatibility(values: pd.Series, col: Column, layer: Layer) -> float | None:
    """Share of non-empty cells that convert to ``col``'s kind (``None``: empty or text)."""
    if col.kind in ("id", "text"):
        return None
    text = values.astype("string").str.strip()
    sample = values[(text.notna() & (text != "")).to_numpy()]
    if not len(sample):
        return None
    sample = sample.iloc[:SAMPLE_ROWS].reset_index(drop=True)
    out = coerce_column(sample, col, np.arange(len(sample)), file="", layer=layer,
                        problems=Problems(), salt=lambda: bytes(16))
    return float(out.notna().mean())


def _numbers(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float)
    text = values.astype("string").str.strip().str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


def _coordinate_like(values: pd.Series) -> str | None:
    """``lon`` or ``lat`` when a column holds decimal degrees within China's, else None."""
    num = _numbers(values)
    num = num[np.isfinite(num)]
    if len(num) < 1 or len(num) < 0.9 * len(values):
        return None
    if np.mean(num != np.round(num)) < 0.8 or np.ptp(num) > 10:
        return None
    if np.mean((num >= crsmod.CHINA_LON_MIN) & (num <= crsmod.CHINA_LON_MAX)) >= 0.9:
        return "lon"
    if np.mean((num >= crsmod.CHINA_LAT_MIN) & (num <= crsmod.CHINA_LAT_MAX)) >= 0.9:
        return "lat"
    return None


def match_columns(
    headers: list[str],
    layer: Layer,
    sample: pd.DataFrame | None = None,
    *,
    skip: frozenset[str] = frozenset(),
) -> dict[str, ColumnGuess]:
    """Propose a header for every field of ``layer``.

    Parameters
    ----------
    headers
        The file's headers.
    layer
        The layer's schema.
    sample
        Rows of the file (for checking that a close match's values fit the field, and for
        finding coordinate columns by their values); ``None`` skips those checks.
    skip
        Fields not to look for (``lon``/``lat`` of a file with point geometries).

    Returns
    -------
    dict
        Field → :class:`ColumnGuess` for every field not skipped, in the schema's order.
    """
    guesses = {c.name: ColumnGuess(c.name) for c in layer.columns if c.name not in skip}
    used: set[str] = set()
    by_key: dict[str, list[str]] = {}
    for h in headers:
        by_key.setdefault(_exact_key(h), []).append(h)
    # 1. What the loader recognises: the canonical name, then the aliases in their order.
    for col in layer.columns:
        if col.name not in guesses:
            continue
        found: list[tuple[str, str]] = []
        for n in (col.name, *col.aliases):
            found += [(h, n) for h in by_key.get(_exact_key(n), []) if h not in used]
        found = list(dict.fromkeys(found))
        if found:
            header, via = found[0]
            guess = guesses[col.name]
            guess.header, guess.via, guess.score = header, via, 1.0
            guess.how = "name" if via == col.name else "alias"
            others = sorted({h for h, _ in found[1:]} - {header})
            if others:
                guess.note = (
                    f"also recognised: {', '.join(others)}; the first alias wins",
                    f"另有可识别的表头：{'、'.join(others)}；按别名顺序取第一个",
                )
            used.add(header)
    # 2. Close matches whose values fit, greedily by score, one header per field.
    pairs: list[tuple[float, int, str, str, str]] = []
    order = {c.name: i for i, c in enumerate(layer.columns)}
    for col in layer.columns:
        if col.name not in guesses or guesses[col.name].header is not None:
            continue
        for h in headers:
            if h in used:
                continue
            score, via = _best_name(h, col)
            if score >= CANDIDATE_SCORE:
                pairs.append((score, order[col.name], col.name, h, via))
    pairs.sort(key=lambda p: (-p[0], not layer.column(p[2]).required, p[1]))
    compat_cache: dict[tuple[str, str], float | None] = {}

    def compatible(field_name: str, header: str) -> float | None:
        key = (field_name, header)
        if key not in compat_cache:
            compat_cache[key] = (None if sample is None or header not in sample else
                                 _compatibility(sample[header], layer.column(field_name), layer))
        return compat_cache[key]

    for score, _, name, header, via in pairs:
        guess = guesses[name]
        if score >= ACCEPT_SCORE and guess.header is None and header not in used:
            share = compatible(name, header)
            if share is not None and share < COMPATIBLE_SHARE:
                continue
            rivals = [p for p in pairs if p[2] == name and p[3] != header and p[3] not in used
                      and p[0] == score and compatible(name, p[3]) != 0.0]
            if rivals:
                guess.candidates = [(header, score), *((p[3], p[0]) for p in rivals)]
                guess.note = ("several headers are equally close: map one",
                              "多个表头同样接近：请指定其一")
                continue
            guess.header, guess.how, guess.score, guess.via = header, "close", score, via
            guess.compatible = share
            used.add(header)
    # 3. Coordinates by their values: decimal degrees within China's range.
    if sample is not None:
        for axis in ("lon", "lat"):
            if axis in guesses and guesses[axis].header is None:
                like = [h for h in headers if h not in used and h in sample
                        and _coordinate_like(sample[h]) == axis]
                if len(like) == 1:
                    what = "longitudes" if axis == "lon" else "latitudes"
                    g = guesses[axis]
                    g.header, g.how, g.via, g.score = like[0], "values", what, 0.0
                    used.add(like[0])
    # Candidates for fields still without a header.
    for col in layer.columns:
        guess = guesses.get(col.name)
        if guess is None or guess.header is not None or guess.candidates:
            continue
        scored = sorted(((_best_name(h, col)[0], h) for h in headers if h not in used),
                        reverse=True)
        guess.candidates = [(h, round(s, 2)) for s, h in scored[:3] if s > 0]
    return guesses


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _sniff_delimiter(first_line: str) -> str | None:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    if counts[","] or not any(counts.values()):
        return None
    return max(counts, key=counts.__getitem__)


def _read_csv_head(
    path: Path, *, source: str, delimiter: str, problems: Problems
) -> tuple[RawTable, bool] | None:
    """Read the first :data:`HEAD_BYTES` of a large CSV file; ``(table, ascii_only)``."""
    with path.open("rb") as fh:
        data = fh.read(HEAD_BYTES)
    data = data[: data.rfind(b"\n") + 1] or data
    decoded = decode_text(data, problems=problems, name=source)
    if decoded is None:
        return None
    text, used = decoded
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            na_filter=False)
    except (pd.errors.ParserError, ValueError) as exc:
        problems.add(source, None, None, "unreadable-file",
                     f"the first {len(data):,} bytes cannot be parsed as CSV ({exc}); check the "
                     "delimiter and the quoting")
        return None
    frame.columns = [str(c) for c in frame.columns]
    rows = np.arange(2, len(frame) + 2)
    return RawTable(frame, rows, source, encoding=used), data.isascii()


def _choose_gpkg_layer(path: Path, name: str) -> tuple[str | None, list[str]]:
    """Choose the layer of a multi-layer GeoPackage for ``name``; ``(choice, all names)``."""
    import pyogrio

    listed = pyogrio.list_layers(path)
    names = [str(n) for n in listed[:, 0]]
    if len(names) <= 1:
        return None, names
    wanted = ("Polygon", "MultiPolygon") if LAYERS[name].geometry == "polygon" else (
        "Point", "MultiPoint")
    fitting = [str(n) for n, g in listed if str(g).removesuffix(" Z") in wanted]
    for n in fitting:
        if n.casefold() == name:
            return n, names
    return (fitting[0], names) if len(fitting) == 1 else (None, names)


def _privacy(schema: Layer | None) -> dict[str, object]:
    """Return what the readers need to keep a personal layer's cells out of messages."""
    if schema is None:
        return {}
    return {"personal": schema.personal,
            "known": {n for c in schema.columns for n in (c.name, *c.aliases)}}


def _read(proposal: LayerProposal, problems: Problems) -> RawTable | None:
    """Read a table layer as the loader will, noting encoding, delimiter and layer choices."""
    path, source = proposal.path, proposal.source
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"} and path.exists():
        with path.open("rb") as fh:
            start = fh.read(65_536)
        bom = start.startswith(b"\xef\xbb\xbf")
        first = start.split(b"\n", 1)[0].decode("utf-8", errors="replace")
        delimiter = "\t" if suffix == ".tsv" else (_sniff_delimiter(first) or ",")
        if delimiter != ("\t" if suffix == ".tsv" else ","):
            proposal.delimiter = delimiter
        ascii_only = False
        if path.stat().st_size > HEAD_BYTES:
            read = _read_csv_head(path, source=source, delimiter=delimiter, problems=problems)
            if read is None:
                return None
            raw, ascii_only = read
            proposal.partial = True
        else:
            raw = read_table(path, problems=problems, name=source, delimiter=delimiter,
                             **_privacy(proposal.schema))
            if raw is None:
                return None
        if ascii_only:
            proposal.encoding = "auto"
            proposal.encoding_note = (
                f"the first {HEAD_BYTES >> 20} MB are plain ASCII: UTF-8 or GB18030 is "
                "decided when the whole file is read",
                f"前 {HEAD_BYTES >> 20} MB 均为 ASCII 字符，读取全文时自动判断编码")
        elif raw.encoding == "utf-8":
            proposal.encoding = "utf-8"
            proposal.encoding_note = (
                ("detected: UTF-8 with a byte-order mark (Excel's CSV UTF-8)",
                 "检测到：带 BOM 的 UTF-8（Excel 的“CSV UTF-8”）") if bom else
                ("detected: UTF-8", "检测到：UTF-8"))
        else:
            proposal.encoding = raw.encoding
            proposal.encoding_note = (
                "detected: GB18030/GBK (Excel's CSV on Chinese Windows)",
                "检测到：GB18030/GBK（中文 Windows 下 Excel 保存的 CSV）")
        return raw
    if suffix in {".xlsx", ".xlsm"} and path.exists():
        return _read_xlsx(proposal, problems)
    layer = None
    if suffix == ".gpkg" and path.exists():
        try:
            layer, names = _choose_gpkg_layer(path, proposal.name)
        except Exception as exc:  # pyogrio raises several types for a broken file
            problems.add(source, None, None, "unreadable-file", f"cannot list its layers ({exc})")
            return None
        if layer is None and len(names) > 1:
            problems.add(source, None, "layer", "unreadable-file",
                         f"the GeoPackage holds several layers ({', '.join(names)}) and none is "
                         f"clearly the {proposal.name} layer; set layer = \"name\" under "
                         f"[layers.{proposal.name}]")
            return None
        proposal.layer = layer
    return read_table(path, problems=problems, name=source, layer=layer)


#: Rows of a workbook tried as the header row when the first one is not it.
HEADER_ROWS_TRIED = 6


def _read_xlsx(proposal: LayerProposal, problems: Problems) -> RawTable | None:
    """Read the first sheet, finding the header row below any title rows.

    Row 1 is taken when it reads and holds at least half of the layer's required fields;
    otherwise rows 2 to :data:`HEADER_ROWS_TRIED` are tried and the row matching most fields
    wins (``header_row`` is then written, with a comment).
    """
    schema = proposal.schema
    assert schema is not None
    required = [c.name for c in schema.columns if c.required]
    best: tuple[int, int, RawTable, Problems] | None = None
    first_problems = None
    for row in range(1, HEADER_ROWS_TRIED + 1):
        trial = Problems()
        raw = read_table(proposal.path, problems=trial, name=proposal.source, header_row=row,
                         **_privacy(schema))
        if row == 1:
            first_problems = trial
        if raw is None:
            if any(p.rule in ("unreadable-file", "missing-file") for p in trial):
                problems.extend(trial)
                return None
            continue
        guesses = match_columns([str(h) for h in raw.frame.columns], schema)
        found = sum(g.header is not None for g in guesses.values())
        if best is None or found > best[1]:
            best = (row, found, raw, trial)
        hits = sum(guesses[f].header is not None for f in required if f in guesses)
        if row == 1 and hits * 2 >= len(required):
            break
    if best is None or best[1] == 0:
        problems.extend(first_problems or Problems())
        return None if best is None else best[2]
    row, _, raw, trial = best
    problems.extend(trial)
    if row != 1:
        proposal.header_row = row
    return raw


def _coordinates(
    proposal: LayerProposal,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """Return the sampled x, y of a point layer as the file holds them, and the community ids.

    The ids are those written in the same rows (``None`` when the layer has no such column); the
    result is ``None`` when the layer has no coordinates.
    """
    sample = proposal.sample
    if sample is None:
        return None
    if "__geometry__" in sample:
        import shapely

        geoms = np.asarray(sample["__geometry__"].to_numpy(), dtype=object)
        centres = np.full(len(geoms), None, dtype=object)
        has = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        centres[has] = shapely.centroid(geoms[has])
        # a geometry with NaN coordinates has an empty centroid: no coordinate to read
        ok = has & ~shapely.is_empty(centres)
        x, y = shapely.get_x(centres[ok]), shapely.get_y(centres[ok])
    else:
        lon, lat = proposal.columns.get("lon"), proposal.columns.get("lat")
        if lon is None or lat is None or lon.header is None or lat.header is None:
            return None
        x, y = _numbers(sample[lon.header]), _numbers(sample[lat.header])
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
    ids = None
    guess = proposal.columns.get("community_id")
    if guess is not None and guess.header is not None:
        text = sample[guess.header].astype("string").str.strip()
        text = text.where(text != "")
        ids = np.asarray(text.astype(object).where(text.notna(), None).to_numpy(),
                         dtype=object)[ok]
    return x, y, ids


# --------------------------------------------------------------------------------------------
# Coordinate systems
# --------------------------------------------------------------------------------------------


def _p_text(p: float) -> str:
    return "p < 1e-9" if p < 1e-9 else f"p = {p:.1g}"


def _fits(
    net: object, lon: np.ndarray, lat: np.ndarray, area: object | None
) -> dict[str, np.ndarray]:
    """Tell, per reading, whether each point lies near a road (and the communities) read so."""
    import shapely

    to_net = pyproj.Transformer.from_crs(4326, net.crs, always_xy=True)  # type: ignore[attr-defined]
    out: dict[str, np.ndarray] = {}
    for system in READINGS:
        lo, la = crsmod.to_wgs84(lon, lat, system)
        x, y = (np.asarray(v, dtype=np.float64) for v in to_net.transform(lo, la))
        snapped = net.snap_index.query(x, y, max_distance=2 * NEAR_ROAD_M)  # type: ignore[attr-defined]
        fit = np.asarray(snapped.distance) <= NEAR_ROAD_M
        if area is not None:
            fit &= shapely.contains_xy(area, x, y)
        out[system] = fit
    return out


def guess_system(
    net: object,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    name: str,
    area: object | None = None,
    communities: object | None = None,
    community_ids: np.ndarray | None = None,
    seed: int = 0,
) -> SystemGuess:
    """Which reading of degrees — WGS-84, GCJ-02 or BD-09 — puts the points next to the roads.

    Each sampled point is read three ways and converted to WGS-84; a reading *fits* a point when
    the point then lies within :data:`NEAR_ROAD_M` of a road of the network (and within the
    buffered communities, ``area``, when given). The reading fitting most points is the
    candidate (WGS-84 when it ties); an exact paired (McNemar) test against the runner-up gives
    its p-value. The candidate is then checked by
    :func:`coverage.network.offsets.check_declaration` (roads and, with ``communities``, the
    points' own communities): the guess is confident when that check finds a reading that fits
    clearly better than every other (which it then names), and flagged as uncertain when it
    cannot tell.

    Parameters
    ----------
    net
        A :class:`coverage.network.RoadNetwork` (in a metric CRS).
    lon, lat
        Coordinates in degrees as the file holds them.
    name
        The file's name (for messages).
    area
        Communities buffered by :data:`NEAR_AREA_M`, in the network's CRS.
    communities
        The community polygons (a GeoDataFrame with ``community_id`` when known), any CRS.
    community_ids
        Each point's community id as written in its file (aligned with ``lon``), or ``None``.
    seed
        Seed of the sample of at most :data:`SAMPLE_POINTS` points.

    Returns
    -------
    SystemGuess
    """
    from scipy.stats import binomtest

    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    if len(ok) > SAMPLE_POINTS:
        ok = np.sort(np.random.default_rng(seed).choice(ok, SAMPLE_POINTS, replace=False))
    lon, lat = lon[ok], lat[ok]
    ids = None if community_ids is None else np.asarray(community_ids, dtype=object)[ok]
    n = len(lon)
    if n == 0:
        return SystemGuess(None, "none", ("no coordinates to test", "没有可检验的坐标"),
                           confident=False)
    fits = _fits(net, lon, lat, area)
    near = {s: int(f.sum()) for s, f in fits.items()}
    ranked = sorted(READINGS, key=lambda s: (-near[s], READINGS.index(s)))
    best, second = ranked[0], ranked[1]
    b = int((fits[best] & ~fits[second]).sum())
    c = int((fits[second] & ~fits[best]).sum())
    p = float(binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0
    if near[best] == near[second] and "wgs84" in (best, second):
        best = "wgs84"
    check = _declaration_check(net, lon, lat, reading=best, name=name,
                               communities=communities, community_ids=ids)
    if check.verdict == "fits" or check.likely_system is not None:
        system = check.likely_system or best
        en, zh = _check_sentences(check, system)
        return SystemGuess(system, "network", (en, zh), confident=True, near=near,
                           n_points=n, p_value=p)
    within = f"within {NEAR_ROAD_M:g} m of a road" + (" inside the study area" if area else "")
    others_en = ", ".join(f"{near[s]:,} as {_LABELS[s]}" for s in ranked if s != best)
    others_zh = "，".join(f"按{_LABELS[s]} {near[s]:,} 个" for s in ranked if s != best)
    en = (f"{near[best]:,} of {n:,} points lie {within} read as {_LABELS[best]}, {others_en} "
          f"(McNemar {_p_text(p)}), but the road-and-community check cannot tell the readings "
          "apart clearly")
    zh = (f"{n:,} 个点按{_LABELS[best]}解读时 {near[best]:,} 个距道路不超过 {NEAR_ROAD_M:g} 米，"
          f"{others_zh}（McNemar {_p_text(p)}），但道路与社区检验无法明确区分")
    return SystemGuess(best, "network", (en, zh), confident=False, near=near, n_points=n,
                       p_value=p)


def _declaration_check(
    net: object,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    reading: str,
    name: str,
    communities: object | None,
    community_ids: np.ndarray | None,
) -> object:
    """Check the candidate ``reading`` with :func:`coverage.network.offsets.check_declaration`."""
    import geopandas as gpd

    from coverage.network.offsets import check_declaration

    wlon, wlat = crsmod.to_wgs84(lon, lat, reading)
    points = gpd.GeoSeries(gpd.points_from_xy(wlon, wlat), crs=4326)
    use_ids = (community_ids is not None and communities is not None
               and "community_id" in communities)  # type: ignore[operator]
    return check_declaration(net, points, declared=reading, name=name,  # type: ignore[arg-type]
                             communities=communities,  # type: ignore[arg-type]
                             community_ids=community_ids if use_ids else None)


def _check_sentences(check: object, system: str) -> tuple[str, str]:
    """English and Chinese sentences from a conclusive ``check_declaration`` result."""
    ev: dict = getattr(check, "evidence", {}) or {}
    share = ev.get("near_road_share", {})
    tol = ev.get("road_tolerance_m", 40.0)
    n = getattr(check, "n_points", 0)
    if system not in share:
        summary = (getattr(check, "summary", ""), getattr(check, "summary_zh", ""))
        return summary
    others = [s for s in share if s != system]
    p_values = []
    for key, entry in ev.get("comparisons", {}).items():
        pair = key.split(" vs ")
        if system not in pair or entry.get("winner") != system:
            continue
        # One-sided tests give "p" for the first reading of the pair and "p_other" for the
        # second; a two-sided test gives "p" only.
        own = "p" if pair[0] == system else "p_other"
        ps = [t.get(own, t.get("p")) for t in entry.values() if isinstance(t, dict)]
        ps = [float(v) for v in ps if v is not None]
        if ps:
            p_values.append(min(ps))
    p = f" ({_p_text(max(p_values))})" if p_values else ""
    en = (f"read as {_LABELS[system]}, {share[system]:.0%} of {n:,} points lie within {tol:g} m "
          "of a road, " + ", ".join(f"{share[s]:.0%} as {_LABELS[s]}" for s in others))
    zh = (f"按{_LABELS[system]}解读，{n:,} 个点中 {share[system]:.0%} 距道路不超过 {tol:g} 米，"
          + "，".join(f"按{_LABELS[s]}为 {share[s]:.0%}" for s in others))
    inside = ev.get("in_community_share") or {}
    if inside.get(system) is not None:
        own = ev.get("community_test") == "own"
        en += (f"; {inside[system]:.0%} inside their {'own ' if own else ''}community, "
               + ", ".join(f"{inside[s]:.0%} as {_LABELS[s]}" for s in others
                           if inside.get(s) is not None))
        zh += (f"；{inside[system]:.0%} 落在{'本' if own else ''}社区内，"
               + "，".join(f"按{_LABELS[s]}为 {inside[s]:.0%}" for s in others
                          if inside.get(s) is not None))
    return en + p, zh + p


def _system_for(proposal: LayerProposal, project: ProjectProposal | None) -> SystemGuess | None:
    """Guess the coordinate system of one layer (see the module docstring)."""
    net = None if project is None else project.network
    schema = proposal.schema
    if schema is None:
        return SystemGuess("wgs84", "file", ("road networks are read as WGS-84 (OpenStreetMap)",
                                             "路网按 WGS-84 读取（OpenStreetMap）"))
    file_crs = proposal.file_crs
    if file_crs is not None and not file_crs.is_geographic:
        label = f"EPSG:{file_crs.to_epsg()}" if file_crs.to_epsg() else file_crs.name
        return SystemGuess(None, "file", (f"the file's own CRS, {label} ({file_crs.name})",
                                          f"采用文件自带的坐标系 {label}"))
    own = None
    if file_crs is not None:
        own = "cgcs2000" if file_crs.to_epsg() == 4490 else "wgs84"
    if schema.geometry == "polygon" and own is not None:
        assert file_crs is not None
        return SystemGuess(own, "file", (f"the file declares {file_crs.name}",
                                         f"文件自带坐标系 {file_crs.name}"))
    coords = proposal.lonlat
    if coords is None or not len(coords[0]):
        return None
    x, y, ids = coords
    degrees = np.mean((np.abs(x) <= 180) & (np.abs(y) <= 90))
    if degrees < 0.5:
        return SystemGuess(None, "none", (
            "TODO: the coordinates are not degrees but metres of a projected CRS, which cannot "
            "be guessed: set crs = \"EPSG:nnnn\"",
            "待办：坐标不是经纬度而是投影坐标（米），无法推断：请填写 crs = \"EPSG:nnnn\""),
            confident=False)
    if schema.geometry == "polygon" or net is None:
        base = own or "wgs84"
        why_en, why_zh = (("no road network to test against", "没有可用于检验的路网")
                          if net is None else ("polygons are not tested", "多边形不作检验"))
        return SystemGuess(base, "default", (
            f"{why_en}: taken as {_LABELS[base]}; check it",
            f"{why_zh}：按{_LABELS[base]}处理，请核对"), confident=own is not None)
    assert project is not None
    guess = guess_system(net, x, y, name=proposal.source, area=project.area,
                         communities=project.communities, community_ids=ids)
    if guess.system == "wgs84" and own == "cgcs2000":
        guess.system = own  # the file says CGCS2000, which the roads cannot tell from WGS-84
    return guess


# --------------------------------------------------------------------------------------------
# Proposing
# --------------------------------------------------------------------------------------------


def _source(path: Path, folder: Path) -> str:
    """``path`` as written into the project file: relative to ``folder`` when possible."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive (Windows): only an absolute path works
        return path.as_posix()


def _table_problems(proposal: LayerProposal, schema: Layer, raw: RawTable,
                    problems: Problems) -> None:
    """Problems for required fields without a header, ties and swapped coordinates."""
    for col in schema.columns:
        guess = proposal.columns.get(col.name)
        if guess is None or guess.header is not None or not col.required:
            continue
        close = ", ".join(f"{h!r} ({s:.2f})" for h, s in guess.candidates) or "none"
        what = ("several headers are equally close" if guess.note else
                "no header of the file matches it")
        problems.add(
            raw.file, raw.header_row, col.name,
            "ambiguous-column" if guess.note else "missing-column",
            f"{col.name} ({col.doc_zh.split('（')[0].split('；')[0]}) is required but {what} "
            f"(closest: {close}); add {col.name} = \"your header\" under "
            f"[layers.{schema.name}.columns] in {PROJECT_FILE}, or rename the column",
        )


def _swap_if_needed(proposal: LayerProposal) -> None:
    lon, lat = proposal.columns.get("lon"), proposal.columns.get("lat")
    if proposal.sample is None or lon is None or lat is None or not lon.header or not lat.header:
        return
    x, y = _numbers(proposal.sample[lon.header]), _numbers(proposal.sample[lat.header])
    if not (np.isfinite(x).any() and np.isfinite(y).any()):
        return
    mx, my = np.nanmedian(x), np.nanmedian(y)
    if bool(crsmod.in_china(my, mx)) and not bool(crsmod.in_china(mx, my)):
        lon.header, lat.header = lat.header, lon.header
        for g in (lon, lat):
            g.note = ("the two coordinate columns were swapped: their values say so",
                      "两列坐标按取值互换（经纬度颠倒）")


def _propose_table(
    proposal: LayerProposal, problems: Problems
) -> RawTable | None:
    schema = proposal.schema
    assert schema is not None
    raw = _read(proposal, problems)
    if raw is None:
        return None
    frame = raw.frame
    proposal.headers = [str(h) for h in frame.columns]
    proposal.label = raw.file
    proposal.rows = len(frame)
    proposal.file_crs = raw.file_crs
    proposal.head = frame.head(20).copy()
    pick = np.arange(len(frame))
    if len(frame) > SAMPLE_POINTS:
        pick = np.sort(np.random.default_rng(0).choice(len(frame), SAMPLE_POINTS, replace=False))
    sample = frame.iloc[pick].reset_index(drop=True)
    if raw.geometry is not None:
        sample["__geometry__"] = np.asarray(raw.geometry.values, dtype=object)[pick]
    proposal.sample = sample
    skip = frozenset({"lon", "lat"}) if raw.geometry is not None and schema.geometry == "point" \
        else frozenset()
    proposal.columns = match_columns(proposal.headers, schema, proposal.sample, skip=skip)
    _swap_if_needed(proposal)
    _table_problems(proposal, schema, raw, problems)
    proposal.lonlat = _coordinates(proposal)
    return raw


def _study_area(
    layer: LayerProposal, raw: RawTable | None
) -> tuple[pyproj.CRS | None, object | None]:
    """Return the study CRS and the communities in WGS-84, from the communities' file.

    The communities are a GeoDataFrame, with ``community_id`` when its column was found.
    """
    import geopandas as gpd

    if raw is None or raw.geometry is None:
        return None, None
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(raw.geometry.values,
                                                    crs=raw.file_crs or 4326))
    guess = layer.columns.get("community_id")
    if guess is not None and guess.header is not None:
        frame["community_id"] = raw.frame[guess.header].astype("string").str.strip().to_numpy()
    frame = frame[~(frame.geometry.is_empty | frame.geometry.isna())]
    if not len(frame):
        return None, None
    try:
        if not frame.crs.equals(pyproj.CRS.from_epsg(4326)):
            frame = frame.to_crs(4326)
        pts = frame.geometry.representative_point()
        study = crsmod.study_crs(pts.x.to_numpy(), pts.y.to_numpy())
    except (ValueError, pyproj.exceptions.CRSError):
        return None, None
    return study, frame


def _near_area(polygons: np.ndarray) -> object | None:
    """Return the communities' union within :data:`NEAR_AREA_M` (None if GEOS cannot unite).

    Invalid polygons (reported when the project is validated) are mended here only to draw the
    area the guesses are checked against; NaN coordinates leave no area at all.
    """
    import shapely

    try:
        area = shapely.buffer(shapely.union_all(shapely.make_valid(polygons)), NEAR_AREA_M)
    except shapely.errors.GEOSException:
        return None
    shapely.prepare(area)
    return area


def _check_layer_names(files: Mapping[str, object]) -> None:
    unknown = sorted(set(files) - set(LAYER_ORDER))
    if unknown:
        msg = (f"unknown layer(s) {', '.join(map(repr, unknown))}; the layers are "
               f"{', '.join(LAYER_ORDER)}")
        raise ValueError(msg)


def propose_project(
    folder: str | Path,
    files: Mapping[str, str | Path],
    *,
    progress: Callable[[str], None] | None = None,
    cache: bool = True,
) -> ProjectProposal:
    """Read the data files and propose the project: encodings, columns, coordinate systems.

    Parameters
    ----------
    folder
        The project folder (paths are written relative to it).
    files
        Layer name (``migrants``, ``sites``, ``communities``, ``network``,
        ``registered_points``, ``candidates``) → file.
    progress
        Called with a short description at the start of each step.
    cache
        Use the road-network cache (:meth:`coverage.network.RoadNetwork.from_file`).

    Returns
    -------
    ProjectProposal
        The proposal; its ``problems`` list what the user must settle (a required layer without a
        file, a required field without a header, a coordinate system that cannot be guessed).

    Raises
    ------
    ValueError
        For a layer name that is not one of the above.
    """
    step = progress or (lambda _text: None)
    _check_layer_names(files)
    folder = Path(folder).resolve()
    proposal = ProjectProposal(folder=folder)
    problems = proposal.problems
    for name in LAYER_ORDER:
        required = name in FILE_LAYERS or LAYERS[name].required
        if name not in files and required:
            problems.add(PROJECT_FILE, None, name, "missing-file",
                         f"the {name} layer is required but no file was given; pass "
                         f"--{name.replace('_', '-')} FILE")
    for name in LAYER_ORDER:
        if name in files:
            path = Path(files[name]).expanduser().resolve()
            proposal.layers[name] = LayerProposal(name, path, _source(path, folder))
    raws: dict[str, RawTable | None] = {}
    for name in ("communities", *(n for n in LAYER_ORDER if n != "communities")):
        if name not in proposal.layers or name in FILE_LAYERS:
            continue
        start = time.perf_counter()
        step(f"reading {name}")
        raws[name] = _propose_table(proposal.layers[name], problems)
        proposal.seconds[f"read {name}"] = time.perf_counter() - start
        if name == "communities":
            study, wgs = _study_area(proposal.layers[name], raws[name])
            proposal.study_crs, proposal.communities = study, wgs
            if wgs is not None and study is not None:
                proposal.area = _near_area(wgs.to_crs(study).geometry.to_numpy())
        if name == "communities" and "network" in proposal.layers:
            _read_network(proposal, cache=cache, step=step)
    if "network" in proposal.layers and proposal.network is None and \
            "read network" not in proposal.seconds:
        _read_network(proposal, cache=cache, step=step)
    start = time.perf_counter()
    for name, layer in proposal.layers.items():
        if name in FILE_LAYERS:
            continue
        step(f"guessing the coordinate system of {name}")
        layer.system = _system_for(layer, proposal)
        _system_problems(layer, problems)
    proposal.seconds["guess coordinate systems"] = time.perf_counter() - start
    # Problems in the order of the layers, as the table reads best.
    rank = {p.source: i for i, p in enumerate(proposal.layers.values())}
    rank |= {p.label: i for i, p in enumerate(proposal.layers.values()) if p.label}
    problems.items.sort(key=lambda p: rank.get(p.file, -1))
    return proposal


def _read_network(proposal: ProjectProposal, *, cache: bool,
                  step: Callable[[str], None]) -> None:
    from coverage.network import RoadNetwork

    layer = proposal.layers["network"]
    start = time.perf_counter()
    step("reading the road network")
    layer.system = _system_for(layer, None)
    if not layer.path.exists():
        proposal.problems.add(layer.source, None, None, "missing-file",
                              "no road-network file there; check the path")
    else:
        try:
            proposal.network = RoadNetwork.from_file(layer.path, mode="walk",
                                                     crs=proposal.study_crs, cache=cache)
        except Exception as exc:  # the readers raise many types for a broken file
            proposal.problems.add(
                layer.source, None, None,
                "unreadable-network" if "unreadable-network" in RULES else "unreadable-file",
                f"cannot read the road network ({exc}); give an OSM .osm/.osm.pbf file, a "
                "GraphML or an OSMnx GeoPackage (layers nodes and edges)")
        else:
            if proposal.study_crs is None:
                proposal.study_crs = proposal.network.crs  # type: ignore[attr-defined]
    proposal.seconds["read network"] = time.perf_counter() - start


def _system_problems(layer: LayerProposal, problems: Problems) -> None:
    guess = layer.system
    schema = layer.schema
    if schema is None or guess is None:
        return
    if guess.system is None and guess.how == "none":
        problems.add(
            layer.label or layer.source, None, "crs", "crs-missing",
            f"{guess.evidence[0].removeprefix('TODO: ')} under [layers.{layer.name}] in "
            f"{PROJECT_FILE} (e.g. EPSG:4547 for CGCS2000 / 3-degree Gauss-Kruger CM 114E)",
        )
    elif guess.how in ("network", "default") and not guess.confident:
        problems.add(
            layer.label or layer.source, None, "crs", "crs-uncertain",
            f"{guess.evidence[0]}; the guess {guess.system} is uncertain: check a few points "
            f"on a map and correct crs under [layers.{layer.name}] if needed", "warning",
        )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _toml_str(text: str) -> str:
    """Quote ``text`` as a TOML basic string (JSON escapes are valid TOML escapes)."""
    return json.dumps(text, ensure_ascii=False)


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _line(assignment: str, comment: tuple[str, str] | str | None = None,
          width: int = 26) -> str:
    """Write ``assignment`` with its comment aligned at ``width``.

    A bilingual comment that does not fit in :data:`LINE_WIDTH` columns goes on two lines,
    English first.
    """
    if not comment:
        return assignment
    pad = " " * max(width - _width(assignment), 2)
    if isinstance(comment, str):
        return f"{assignment}{pad}# {_one_line(comment)}"
    en, zh = (_one_line(c) for c in comment)
    first = f"{assignment}{pad}# {en}"
    if _width(f"{first}; {zh}") <= LINE_WIDTH:
        return f"{first}; {zh}"
    return f"{first}\n{' ' * (_width(assignment) + len(pad))}# {zh}"


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", text)


_TITLES = {
    "migrants": "流动人口 (必需 / required)",
    "sites": "服务网点 (必需 / required)",
    "communities": "社区边界 (必需 / required)",
    "network": "路网 (必需 / required)",
    "registered_points": "户籍人口分布点 (可选 / optional)",
    "candidates": "候选网点 (可选 / optional)",
}


def _layer_lines(layer: LayerProposal) -> list[str]:
    lines = [_line(f"[layers.{layer.name}]", _TITLES[layer.name])]
    lines.append(f"path = {_toml_str(layer.source)}")
    guess = layer.system
    if guess is not None:
        if guess.system is not None:
            lines.append(_line(f"crs = {_toml_str(guess.system)}", guess.comment()))
        else:
            lines.append(_line('# crs = "EPSG:nnnn"', guess.comment()))
    if layer.encoding is not None:
        note = layer.encoding_note
        lines.append(_line(f"encoding = {_toml_str(layer.encoding)}", note))
    if layer.delimiter is not None:
        lines.append(_line(f"delimiter = {_toml_str(layer.delimiter)}",
                           ("guessed from the header row", "根据表头行推断的分隔符")))
    if layer.header_row is not None:
        lines.append(_line(f"header_row = {layer.header_row}", (
            "guessed: the row matching most fields; the rows above are titles",
            "推断：与字段匹配最多的一行，其上为标题行")))
    if layer.layer is not None:
        lines.append(_line(f"layer = {_toml_str(layer.layer)}",
                           ("guessed: the only layer with the right geometry",
                            "推断：唯一几何类型相符的图层")))
    if layer.columns:
        lines += ["", f"[layers.{layer.name}.columns]"]
        missing = []
        schema = layer.schema
        assert schema is not None
        for f, g in layer.columns.items():
            if g.header is not None:
                lines.append(_line(f"{f} = {_toml_str(g.header)}", g.comment()))
            elif schema.column(f).required:
                close = ", ".join(f"{h} ({s:.2f})" for h, s in g.candidates) or "none"
                what = ("several headers are equally close" if g.note else
                        "no header matches")
                lines.append(_line(f'# {f} = ""', (
                    f"TODO: required, {what} (closest: {close})",
                    "待办：必填字段，请填写对应的表头")))
            else:
                missing.append(f)
        if missing:
            lines.append(f"# not found (optional) / 未找到（可选）: {', '.join(missing)}")
        used = set(layer.mapping.values())
        unused = [h for h in layer.headers if h not in used]
        if unused:
            lines.append(f"# not used / 未使用的列: {_one_line(', '.join(unused))}")
    return lines


def render_project(proposal: ProjectProposal, *, name: str | None = None,
                   language: str = "zh") -> str:
    """Return the text of ``project.toml`` for ``proposal`` (see :func:`write_project`)."""
    head, tail = TEMPLATE.split("\n[project]\n", 1)
    defaults = tail[tail.index("[parameters]"):]
    title = name or proposal.folder.name
    lines = [
        head.rstrip("\n"),
        "# 由 coverage init 根据数据文件生成，每一处推断都附有注释，请核对。",
        "# Written by coverage init from the data files: every guess carries a comment; check "
        "them.",
        "",
        "[project]",
        f"name = {_toml_str(title)}",
        _line('study_crs = "auto"', "自动选择 UTM 投影 / automatic UTM zone; or e.g. "
              '"EPSG:32650"'),
        _line(f"language = {_toml_str(language)}", "报告语言 / report language: zh | en"),
        "",
    ]
    for layer in proposal.layers.values():
        lines += [*_layer_lines(layer), ""]
    return "\n".join(lines) + "\n" + defaults


def write_project(
    proposal: ProjectProposal,
    *,
    overwrite: bool = False,
    name: str | None = None,
    language: str = "zh",
) -> Path:
    """Write ``project.toml`` for ``proposal`` into its folder and return its path.

    Paths are relative to the folder; every guess (encoding, coordinate system, column) carries
    a comment; the parameters, privacy and output settings are the defaults of
    :data:`coverage.io.project.TEMPLATE`.

    Raises
    ------
    FileExistsError
        When the folder has a ``project.toml`` already and ``overwrite`` is false.
    """
    target = proposal.folder / PROJECT_FILE
    if target.exists() and not overwrite:
        msg = f"{target} already exists; pass --force to overwrite it"
        raise FileExistsError(msg)
    text = render_project(proposal, name=name, language=language)
    proposal.folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def merge_problems(first: Problems, then: Problems) -> Problems:
    """``first``, then the problems of ``then`` on another file, field or rule."""
    seen = {(p.file, p.field, p.rule) for p in first}
    # A field left to the user among equally close headers is missing for the loader.
    seen |= {(p.file, p.field, "missing-column") for p in first if p.rule == "ambiguous-column"}
    out = Problems(list(first.items))
    out.items += [p for p in then if (p.file, p.field, p.rule) not in seen]
    return out


def init_project(
    folder: str | Path,
    files: Mapping[str, str | Path],
    *,
    overwrite: bool = False,
    language: str = "zh",
    progress: Callable[[str], None] | None = None,
) -> InitResult:
    """Propose a project from ``files``, write its ``project.toml`` and validate it.

    Parameters
    ----------
    folder
        Project folder (created when missing).
    files
        Layer name → file (see :func:`propose_project`).
    overwrite
        Replace an existing ``project.toml``.
    language
        Report language written into the project (``zh`` or ``en``).
    progress
        Called with a short description at the start of each step.

    Returns
    -------
    InitResult
        The proposal, the file written and every problem: the proposal's first (they say what
        to map or declare), then the validation's.

    Raises
    ------
    ValueError
        When a required layer has no file, or a layer name is unknown (checked first).
    FileExistsError
        When ``folder`` has a ``project.toml`` and ``overwrite`` is false (checked before any
        file is read).
    """
    from coverage.io.loaders import validate_project

    _check_layer_names(files)
    missing = [n for n in LAYER_ORDER
               if n not in files and (n in FILE_LAYERS or LAYERS[n].required)]
    if missing:
        options = " ".join(f"--{n.replace('_', '-')} FILE" for n in missing)
        msg = (f"the {', '.join(missing)} layer(s) are required but no file was given; "
               f"give {options} as well")
        raise ValueError(msg)
    folder = Path(folder)
    target = folder / PROJECT_FILE
    if target.exists() and not overwrite:
        msg = f"{target} already exists; pass --force to overwrite it"
        raise FileExistsError(msg)
    proposal = propose_project(folder, files, progress=progress)
    path = write_project(proposal, overwrite=overwrite, language=language)
    step = progress or (lambda _text: None)
    start = time.perf_counter()
    step("validating")
    checked = validate_project(path, progress=step)
    proposal.seconds["validate"] = time.perf_counter() - start
    return InitResult(proposal, path, merge_problems(proposal.problems, checked))


# --------------------------------------------------------------------------------------------
# Preview
# --------------------------------------------------------------------------------------------


def masked_preview(layer: LayerProposal, rows: int = 5) -> pd.DataFrame:
    """Return the first ``rows`` rows of a layer as text, personal cells replaced by ``•••``.

    In a layer describing people (``migrants``) every column is masked except those mapped to a
    field that is not personal (``community_id``): an unmapped column may hold anything (names,
    telephone numbers). In other layers nothing is personal.
    """
    if layer.head is None:
        return pd.DataFrame(columns=layer.headers)
    frame = layer.head.head(rows).astype("string").fillna("")
    schema = layer.schema
    if schema is None or not schema.personal:
        return frame
    shown = {h for f, h in layer.mapping.items() if not schema.column(f).personal
             and schema.column(f).kind not in ("lon", "lat")}
    for h in frame.columns:
        if h not in shown:
            frame[h] = pd.Series([MASK if v != "" else "" for v in frame[h]], index=frame.index,
                                 dtype="string")
    return frame
