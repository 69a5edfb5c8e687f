"""The data files read as the loader will read them, noting what ``project.toml`` must say.

For CSV files the encoding (UTF-8, UTF-8 with a byte-order mark, GB18030) and the delimiter; for
workbooks the header row below any title rows; for GeoPackages of several layers the one layer
with the right geometry. Large CSV files (over :data:`~coverage.init_project.guesses.HEAD_BYTES`)
are read from their head only.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyogrio
import shapely

from coverage.init_project.guesses import HEAD_BYTES
from coverage.init_project.matching import _numbers, match_columns
from coverage.io.readers import RawTable, decode_text, read_table
from coverage.io.schema import LAYERS, Layer
from coverage.io.validation import Problems

if TYPE_CHECKING:
    from coverage.init_project.proposal import LayerProposal

_DELIMITERS = (",", "\t", ";", "|")


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
