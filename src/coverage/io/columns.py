"""A layer's columns: the file's headers matched to the data model, every cell checked.

Headers match the project's ``columns`` mapping first, then the canonical names and their
Chinese and English aliases (:mod:`coverage.io.schema`). Each column is then converted by its
kind (numbers, yes/no, dates, categories, division codes, ids), all vectorized, with a problem
for every bad cell; national ID numbers (18 or 15 digits, however written) in id columns are
replaced by salted hashes (:mod:`coverage.io.privacy`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from coverage.io.privacy import hash_ids, looks_like_national_id, normalize_national_ids
from coverage.io.project import LayerConfig
from coverage.io.readers import RawTable
from coverage.io.schema import BOOL_FALSE, BOOL_TRUE, Column, Layer, category_lookup
from coverage.io.validation import Problems

_Report = Callable[..., None]
"""Adds a problem for the rows of a mask: ``(mask, rule, hint[, severity])``."""


def header_key(header: str) -> str:
    """Normalise a header for matching: trim, case-fold, drop spaces, asterisks and BOMs."""
    return "".join(header.replace("\ufeff", "").split()).strip("*＊").casefold()


def headers_shown(headers: list[str], layer: Layer, config: LayerConfig) -> bool:
    """Return whether a message may list the file's headers.

    In a layer about people, a file whose header row holds none of the layer's header names
    may have no header row at all: its "headers" would be a person's values.
    """
    if not layer.personal:
        return True
    names = {header_key(n) for c in layer.columns for n in (c.name, *c.aliases)}
    mapped = set(config.columns.values())
    return any(header_key(h) in names or h in mapped for h in headers)


def resolve_columns(
    raw: RawTable, layer: Layer, config: LayerConfig, problems: Problems
) -> dict[str, str]:
    """Match the file's headers to the layer's columns.

    Returns
    -------
    dict
        Canonical name → header in the file, for the columns found.
    """
    headers = list(raw.frame.columns)
    listed = (f"its headers are: {', '.join(headers)}"
              if headers_shown(headers, layer, config) else
              f"none of its {len(headers):,} headers is a column of the {layer.name} layer (is "
              "its header row missing?)")
    by_norm: dict[str, list[str]] = {}
    for h in headers:
        by_norm.setdefault(header_key(h), []).append(h)
    found: dict[str, str] = {}
    for col in layer.columns:
        if col.name in config.columns:
            header = config.columns[col.name]
            if header in headers:
                found[col.name] = header
            else:
                problems.add(
                    raw.file,
                    raw.header_row,
                    col.name,
                    "missing-column",
                    f"project.toml maps {col.name} to the header {header!r}, which the "
                    f"file does not have; {listed}",
                )
            continue
        names = [col.name, *col.aliases]
        matches = [h for n in names for h in by_norm.get(header_key(n), [])]
        matches = list(dict.fromkeys(matches))
        if len(matches) == 1:
            found[col.name] = matches[0]
        elif len(matches) > 1:
            problems.add(
                raw.file,
                raw.header_row,
                col.name,
                "ambiguous-column",
                f"headers {', '.join(map(repr, matches))} all match {col.name}; map "
                f"the right one in [layers.{layer.name}.columns]",
            )
    return found


def _empty(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return values.isna().to_numpy()
    if pd.api.types.is_string_dtype(values.dtype):
        return _blank(values)
    # dates and yes/no of a typed file (GeoParquet's Arrow types): pandas turns them into text
    # one cell at a time (14 s for a million dates), so only their distinct values are
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if not len(uniques):
        return np.ones(len(values), dtype=bool)
    return np.where(codes < 0, True, _blank(pd.Series(uniques))[np.maximum(codes, 0)])


def _blank(values: pd.Series) -> np.ndarray:
    text = values.astype("string")
    return (text.isna() | (text.str.strip() == "")).to_numpy(dtype=bool)


def _as_text(values: pd.Series) -> pd.Series:
    """Text of each cell, ``<NA>`` where empty; integral floats from vector files lose ``.0``."""
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.dropna()
        if (whole == np.round(whole)).all() and (whole.abs() < 2.0**53).all():  # exact integers
            values = values.astype("Int64")
    return values.astype("string")


def _numeric(values: pd.Series) -> pd.Series:
    """Numbers of a column; empty, non-numeric and non-finite (``inf``, ``1e400``) cells → NaN."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        num = values.astype(float)
    else:
        num = _arrow_numbers(values)
        if num is None:  # some cell is not a plain number: parse cell by cell
            text = values.astype("string").str.strip().str.replace(",", "", regex=False)
            num = pd.to_numeric(text, errors="coerce").astype(float)
    return num.where(np.isfinite(num.to_numpy()))


def _arrow_numbers(values: pd.Series) -> pd.Series | None:
    """Parse a text column with pyarrow (fast); ``None`` when any non-empty cell is not a number."""
    try:
        text = pc.utf8_trim_whitespace(pa.array(values.astype("str"), type=pa.large_string()))
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
        parsed = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None
    return pd.Series(parsed, index=values.index, dtype=float)


def _by_value(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``convert`` to the distinct values only, then spread the result over the rows.

    Categories, yes/no answers, dates and codes repeat a few hundred values over a million rows;
    converting each distinct value once is what makes loading a big file fast.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    converted = convert(pd.Series(uniques))
    return pd.Series(converted.array.take(codes, allow_fill=True), index=values.index)


def _dates(values: pd.Series) -> pd.Series:
    """Dates of a column: datetimes at midnight; text and dates (GeoParquet's) parsed as text.

    Arrow dates and datetimes (a GeoParquet file's) go through their text, so that they give
    the values and type a CSV file's dates give.
    """
    if (pd.api.types.is_datetime64_any_dtype(values.dtype)
            and not isinstance(values.dtype, pd.ArrowDtype)):
        return values.dt.normalize()
    return _by_value(values, _parse_dates)  # each distinct value made text once


def _parse_dates(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    text = text.str.replace(r"[年月/.]", "-", regex=True).str.replace("日", "", regex=False)
    text = text.str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True)
    text = text.str.replace(r"[ T]00:00(:00)?$", "", regex=True)
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def coerce_column(
    values: pd.Series,
    col: Column,
    rows: np.ndarray,
    *,
    file: str,
    layer: Layer,
    problems: Problems,
    salt: Callable[[], bytes],
) -> pd.Series:
    """Check and convert one column; add a problem for every bad cell.

    Returns
    -------
    pandas.Series
        Converted values (missing where empty or bad).
    """
    empty = _empty(values)
    if col.required and col.kind not in ("lon", "lat"):  # _check_coordinates reports those
        problems.add_rows(
            file, rows[empty], col.name, "empty-value", f"{col.name} is required; fill it in"
        )
    show = not (layer.personal or col.personal)

    def bad(mask: np.ndarray, rule: str, hint: str, severity: str = "error") -> None:
        problems.add_rows(file, rows[mask], col.name, rule, hint, severity)  # type: ignore[arg-type]

    kind = col.kind
    if kind in ("id", "text"):
        out = _as_text(values)
        if kind == "id":
            out = _hash_national_ids(out.str.strip(), col, layer, file=file, problems=problems,
                                     salt=salt)
        return out.where(~empty)
    if kind in ("lon", "lat"):
        return _numeric(values)  # coordinates are checked together in _check_coordinates
    if kind in ("float", "int"):
        return _number_column(values, col, empty, bad, show=show)
    if kind == "bool":
        return _bool_column(values, col, empty, bad)
    if kind == "date":
        out = _dates(values)
        bad(
            out.isna().to_numpy() & ~empty,
            "not-a-date",
            f"{col.name} must be a date such as 2024-03-01",
        )
        return out
    if kind == "category":
        return _category_column(values, col, empty, bad, show=show)
    if kind == "code":
        return _code_column(values, col, empty, bad)
    msg = f"no converter for column kind {kind!r}"
    raise AssertionError(msg)


def _hash_national_ids(
    out: pd.Series,
    col: Column,
    layer: Layer,
    *,
    file: str,
    problems: Problems,
    salt: Callable[[], bytes],
) -> pd.Series:
    """Replace the ids that look like national ID numbers by their salted hashes."""
    national = looks_like_national_id(out)
    if national.any() and not (layer.personal or col.personal):
        # in a layer about places, a 15-digit code is a place's code, not a person's
        digits = normalize_national_ids(out).str.len()
        national &= (digits == 18).fillna(False).to_numpy(dtype=bool)
    if not national.any():
        return out
    out = out.copy()
    # one writing of each number (no separators, no apostrophe, upper-case X),
    # so that every writing of it gives the same hash
    plain = normalize_national_ids(out[national])
    out[national] = hash_ids(plain, salt()).to_numpy()
    problems.add(
        file,
        None,
        col.name,
        "national-id-hashed",
        f"{int(national.sum()):,} values look like national ID numbers (18 or "
        "15 digits); they were replaced by salted hashes and are not stored",
        "warning",
    )
    return out


def _number_column(
    values: pd.Series, col: Column, empty: np.ndarray, bad: _Report, *, show: bool
) -> pd.Series:
    """Convert a column of numbers (``float`` or ``int``), checking the column's range."""
    num = _numeric(values)
    nan = num.isna().to_numpy() & ~empty
    bad(
        nan,
        "not-a-number",
        f"{col.name} must be a number" + ("" if not show else "; remove units and text"),
    )
    if col.kind == "int":
        frac = (num.notna() & (num != np.round(num))).to_numpy()
        bad(frac, "not-an-integer", f"{col.name} must be a whole number")
        huge = (num.abs() >= 2.0**53).to_numpy()  # beyond exact integers (and Int64)
        bad(huge & ~frac, "not-an-integer", f"{col.name} is too large for a whole number")
        num = num.where(~huge)
    if col.minimum is not None:
        low = (num < col.minimum).to_numpy()
        bad(low, "below-minimum", f"{col.name} must be ≥ {col.minimum:g}")
    if col.maximum is not None:
        high = (num > col.maximum).to_numpy()
        bad(high, "above-maximum", f"{col.name} must be ≤ {col.maximum:,g}; a larger value "
            "is a typo or a unit mistake")
        num = num.where(~high)
    return num.astype("Int64") if col.kind == "int" and not (num.dropna() % 1).any() else num


def _bool_column(values: pd.Series, col: Column, empty: np.ndarray, bad: _Report) -> pd.Series:
    """Convert a column of yes/no answers (是/否, yes/no, 1/0)."""
    mapping = {v.casefold(): True for v in BOOL_TRUE} | {
        v.casefold(): False for v in BOOL_FALSE
    }
    if pd.api.types.is_bool_dtype(values.dtype):
        out = values.astype("boolean")
    else:
        out = _by_value(
            values.astype("string"),
            lambda u: u.str.strip().str.casefold().map(mapping).astype("boolean"),
        )
    unknown = out.isna().to_numpy() & ~empty
    bad(unknown, "not-a-boolean", f"{col.name} must be 是/否 (yes/no, 1/0)")
    return out


def _category_column(
    values: pd.Series, col: Column, empty: np.ndarray, bad: _Report, *, show: bool
) -> pd.Series:
    """Convert a column of categories to their canonical values."""
    lookup = category_lookup(col)
    out = _by_value(
        values.astype("string"),
        lambda u: u.str.strip().str.casefold().map(lookup).astype("string"),
    )
    unknown = out.isna().to_numpy() & ~empty
    allowed = ", ".join(f"{k} ({v[0]})" if v else k for k, v in col.values.items())
    if show and unknown.any():
        for value, mask in _group_masks(values.astype("string").str.strip(), unknown):
            bad(mask, "unknown-category", f"{value!r} is not allowed; use one of {allowed}")
    else:
        bad(unknown, "unknown-category", f"use one of {allowed}")
    return out


def _code_column(values: pd.Series, col: Column, empty: np.ndarray, bad: _Report) -> pd.Series:
    """Convert a column of six-digit division codes; malformed ones become empty."""
    text = _as_text(values).str.strip()
    ok = text.str.fullmatch(r"\d{6}").fillna(False).to_numpy(dtype=bool)
    malformed = ~ok & ~empty
    bad(
        malformed,
        "malformed-code",
        f"{col.name} must be a six-digit GB/T 2260 code; the rows are kept and counted "
        "as unknown origin",
        "warning",
    )
    return text.where(ok)


def _group_masks(values: pd.Series, mask: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Split ``mask`` by distinct value (for non-personal categories only; few values)."""
    sub = values[mask]
    return [(str(v), mask & (values == v).to_numpy(dtype=bool)) for v in sub.unique()[:10]]
