"""Column matching: which header of a file holds which field of the data model.

Headers the data model recognises (:mod:`coverage.io.schema`: canonical names and their Chinese
and English aliases) come first, then close matches (a normalised similarity over the canonical
names and aliases, whole words and contained Chinese terms), accepted only when the column's
values fit the field (numbers for coordinates, six-digit codes, known categories …), then
coordinate columns found by their values. A field never gets two headers, nor a header two
fields.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from coverage import crs as crsmod
from coverage.init_project.guesses import (
    ACCEPT_SCORE,
    CANDIDATE_SCORE,
    COMPATIBLE_SHARE,
    SAMPLE_ROWS,
    ColumnGuess,
)
from coverage.io.columns import coerce_column, header_key
from coverage.io.schema import Column, Layer
from coverage.io.validation import Problems


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
    _recognised(guesses, headers, layer, used)
    _close_matches(guesses, headers, layer, sample, used)
    if sample is not None:
        _coordinates_by_values(guesses, headers, sample, used)
    # Candidates for fields still without a header.
    for col in layer.columns:
        guess = guesses.get(col.name)
        if guess is None or guess.header is not None or guess.candidates:
            continue
        scored = sorted(((_best_name(h, col)[0], h) for h in headers if h not in used),
                        reverse=True)
        guess.candidates = [(h, round(s, 2)) for s, h in scored[:3] if s > 0]
    return guesses


def _recognised(
    guesses: dict[str, ColumnGuess], headers: list[str], layer: Layer, used: set[str]
) -> None:
    """Map what the loader recognises: the canonical name, then the aliases in their order."""
    by_key: dict[str, list[str]] = {}
    for h in headers:
        by_key.setdefault(header_key(h), []).append(h)
    for col in layer.columns:
        if col.name not in guesses:
            continue
        found: list[tuple[str, str]] = []
        for n in (col.name, *col.aliases):
            found += [(h, n) for h in by_key.get(header_key(n), []) if h not in used]
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


def _close_matches(
    guesses: dict[str, ColumnGuess],
    headers: list[str],
    layer: Layer,
    sample: pd.DataFrame | None,
    used: set[str],
) -> None:
    """Map close matches whose values fit, greedily by score, one header per field."""
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


def _coordinates_by_values(
    guesses: dict[str, ColumnGuess], headers: list[str], sample: pd.DataFrame, used: set[str]
) -> None:
    """Map coordinates by their values: the one column of decimal degrees within China's."""
    for axis in ("lon", "lat"):
        if axis in guesses and guesses[axis].header is None:
            like = [h for h in headers if h not in used and h in sample
                    and _coordinate_like(sample[h]) == axis]
            if len(like) == 1:
                what = "longitudes" if axis == "lon" else "latitudes"
                g = guesses[axis]
                g.header, g.how, g.via, g.score = like[0], "values", what, 0.0
                used.add(like[0])
