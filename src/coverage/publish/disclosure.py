"""Disclosure control: the one gate every published table goes through.

Residence points with hukou origin and health-service records are sensitive personal data (PIPL
art. 28). Nothing that leaves the tool (report, export, map layer shown to a browser) may reveal
an individual, so published tables hold aggregates only and every published non-zero count
covers at least ``min_cell`` (10) people.

The rule
--------
**Primary suppression.** A count ``c`` with ``0 < c < min_cell`` is not published (it becomes
missing, ``pd.NA``). **Zeros are published**: a zero identifies nobody, and publishing it keeps
the table readable. A published total below ``min_cell`` (and above zero) is suppressed as well.

**Complementary suppression.** A table with its margins is a set of *lines*: every row (its cells
and the row total), every column (its cells and the column total), the row-total column and the
column-total row (both with the grand total). Each line satisfies one equation, *sum of the cells
= total*. After primary suppression, every line that holds a suppressed entry is made to satisfy

1. it holds **at least two** suppressed entries (a suppressed total counts as one), and
2. if its total is published, its suppressed cells **add up to at least** ``min_cell`` people,

by suppressing more entries of the line, the smallest published positive count first (then a
zero, then the line's total; ties go to the first position), over all lines until nothing
changes. The heuristic is cheap (array operations per sweep, at most one entry per line and
sweep) and deterministic; it does not minimise the information lost.

What this guarantees
--------------------
* No published non-zero cell or total is below ``min_cell``.
* No suppressed entry equals *published total − published cells* of any of its lines, so no
  suppressed value can be recovered by subtraction; since no line has a single unknown, solving
  lines one after another ("peeling") cannot start either.
* What one line does reveal, the sum of its suppressed cells, covers at least ``min_cell``
  people (or zero people, when the total itself is suppressed).

What it does not guarantee
--------------------------
Suppression per line does not defeat **linear-programming attacks**: an attacker who combines
all equations of the table with non-negativity can compute an interval for each suppressed cell,
which may be narrow (in rare patterns, a single value). Audit such intervals with an LP solver
when a table is both small and sensitive; publishing coarser categories is the robust fix.
Tables published separately that share cells (two tables of the same people by different
categories) are protected separately here, not jointly.

Personal columns
----------------
:func:`assert_no_personal` refuses frames that hold a person id, a name, a residence or work
coordinate, or individual point geometries (see :data:`PERSONAL_COLUMNS`); :func:`check_published`
refuses a table with a published count below ``min_cell``. Writers call both before writing.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd
import shapely

__all__ = [
    "DEFAULT_MIN_CELL",
    "PERSONAL_COLUMNS",
    "TOTAL_LABEL",
    "assert_no_personal",
    "check_min_cell",
    "check_published",
    "shown_rows",
    "suppress_series",
    "suppress_table",
    "suppression_mask",
]

#: Smallest number of people in a published non-zero count.
DEFAULT_MIN_CELL = 10
#: Label of the row-total column and the column-total row added by :func:`suppress_table`.
TOTAL_LABEL = "total"

#: Column names (compared lower-cased and stripped) that must never be published: identifiers of
#: a person, a person's name or identity number, and coordinates of a residence or workplace.
PERSONAL_COLUMNS: frozenset[str] = frozenset({
    # identifiers
    "person_id", "migrant_id", "resident_id", "patient_id", "record_id", "household_id",
    "national_id", "id_number", "id_card", "hukou_id", "phone", "mobile",
    "身份证号", "身份证", "证件号码", "手机", "电话",
    # names
    "person_name", "full_name", "姓名",
    # coordinates of individuals
    "lon", "lat", "lng", "longitude", "latitude", "x", "y",
    "home_x", "home_y", "home_lon", "home_lat", "res_x", "res_y", "res_lon", "res_lat",
    "residence_x", "residence_y", "residence_lon", "residence_lat",
    "work_x", "work_y", "work_lon", "work_lat", "address", "住址", "地址",
})

# Geometry type ids of shapely for points and multi-points.
_POINT_TYPES = (0, 4)


# ------------------------------------------------------------------------------------------
# The core: suppression mask of a table with margins
# ------------------------------------------------------------------------------------------


def _fix_lines(
    values: np.ndarray,
    hidden: np.ndarray,
    enforce: np.ndarray,
    fixed: np.ndarray,
    min_cell: int,
) -> bool:
    """Suppress one more entry in every enforced line that breaks the rule; return if any did.

    Each row of ``values`` is a line whose last entry is its total. ``hidden`` is updated in
    place (it may be a transposed view). ``fixed`` entries are known and never suppressed.
    """
    cells = values[:, :-1]
    n_hidden = hidden.sum(axis=1)
    total_hidden = hidden[:, -1]
    hidden_sum = np.where(hidden[:, :-1], cells, 0).sum(axis=1)
    bad = (n_hidden > 0) & ((n_hidden < 2) | (~total_hidden & (hidden_sum < min_cell)))
    bad &= enforce
    if not bad.any():
        return False
    # Cost of suppressing each entry: positive counts by size, then zeros, then the total.
    big = float(max(values.max(initial=0), 0)) + 1.0
    cost = np.where(cells > 0, cells.astype(np.float64), big)
    cost = np.concatenate([cost, np.full((len(values), 1), big + 1.0)], axis=1)
    cost[hidden | fixed] = np.inf
    best = cost.argmin(axis=1)
    lines = np.flatnonzero(bad & np.isfinite(cost.min(axis=1)))
    if len(lines) == 0:
        return False
    hidden[lines, best[lines]] = True
    return True


def _protect(
    values: np.ndarray,
    hidden: np.ndarray,
    enforce_rows: np.ndarray,
    enforce_cols: np.ndarray,
    fixed: np.ndarray,
    min_cell: int,
) -> np.ndarray:
    """Run complementary suppression on an augmented table (last row and column are margins)."""
    for _ in range(values.size + 1):
        changed = _fix_lines(values, hidden, enforce_rows, fixed, min_cell)
        changed |= _fix_lines(values.T, hidden.T, enforce_cols, fixed.T, min_cell)
        if not changed:
            break
    return hidden


def check_min_cell(min_cell: int) -> int:
    """Return ``min_cell`` if it is at least 1, else raise ``ValueError``."""
    if min_cell < 1:
        msg = f"min_cell must be at least 1, got {min_cell}"
        raise ValueError(msg)
    return min_cell


def _augment(cells: np.ndarray) -> np.ndarray:
    """Append the row totals as a last column and the column totals as a last row."""
    rows = np.concatenate([cells, cells.sum(axis=1, keepdims=True)], axis=1)
    return np.concatenate([rows, rows.sum(axis=0, keepdims=True)], axis=0)


def suppression_mask(
    counts: np.ndarray,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    row_totals: bool = True,
    column_totals: bool = True,
    totals_known: bool = False,
    hidden: np.ndarray | None = None,
) -> np.ndarray:
    """Return which entries of a count table, with its margins, must not be published.

    Applies the rule of the module: primary suppression of counts ``0 < c < min_cell``, then
    complementary suppression until every protected line holding a suppressed entry holds at
    least two, and (when its total is published) its suppressed cells add up to at least
    ``min_cell``.

    Parameters
    ----------
    counts
        2-D array of non-negative integer counts (rows × columns).
    min_cell
        Smallest published non-zero count.
    row_totals
        Row totals are published (so every row is a protected line).
    column_totals
        Column totals are published (so every column is a protected line).
    totals_known
        The totals are published elsewhere, unsuppressed: they are never suppressed here and the
        margins' own lines are not protected (this is the setting of
        :func:`coverage.patterns.hotspots.suppress_counts`). When false, the totals are
        published with the table and protected like cells; the row-total column and the
        column-total row are protected lines when both kinds of totals are published.
    hidden
        Entries already suppressed for another reason (shape ``(rows + 1, columns + 1)``, like
        the result): they stay suppressed and the lines holding them are protected too. This
        is how tables that share cells or totals are protected together.

    Returns
    -------
    numpy.ndarray
        Boolean array of shape ``(rows + 1, columns + 1)``: the cells, then the row totals in
        the last column, the column totals in the last row and the grand total in the corner.
    """
    check_min_cell(min_cell)
    cells = np.asarray(counts)
    if cells.ndim != 2:
        msg = f"counts must be a 2-D table, got {cells.ndim} dimension(s); pass rows × columns"
        raise ValueError(msg)
    values = _augment(cells.astype(np.int64))
    n, m = cells.shape
    primary = (values > 0) & (values < min_cell)
    if hidden is not None:
        if np.shape(hidden) != values.shape:
            msg = f"hidden must have shape {values.shape} (the table with its margins)"
            raise ValueError(msg)
        primary |= np.asarray(hidden, dtype=bool)
    hidden = primary
    fixed = np.zeros_like(hidden)
    enforce_rows = np.full(n + 1, row_totals)
    enforce_cols = np.full(m + 1, column_totals)
    both = row_totals and column_totals
    enforce_rows[n] = both and not totals_known
    enforce_cols[m] = both and not totals_known
    if totals_known:
        fixed[n, :] = True
        fixed[:, m] = True
        hidden[n, :] = False
        hidden[:, m] = False
    return _protect(values, hidden, enforce_rows, enforce_cols, fixed, min_cell)


# ------------------------------------------------------------------------------------------
# Public tables
# ------------------------------------------------------------------------------------------


def _count_values(counts: pd.DataFrame | pd.Series, what: str) -> np.ndarray:
    """Validate a table of counts and return its values as int64, collecting every problem."""
    problems = []
    try:
        values = counts.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        msg = f"{what} must hold numbers only; convert the count columns to integers"
        raise ValueError(msg) from None
    if np.isnan(values).any():
        problems.append(f"{int(np.isnan(values).sum())} missing value(s)")
    finite = np.where(np.isfinite(values), values, 0.0)
    if (finite < 0).any():
        problems.append(f"{int((finite < 0).sum())} negative count(s)")
    if (finite != np.rint(finite)).any():
        problems.append(f"{int((finite != np.rint(finite)).sum())} non-integer count(s)")
    if problems:
        msg = f"{what} must hold non-negative integer counts; found " + ", ".join(problems)
        msg += "; fill missing counts with 0 and round or fix the others"
        raise ValueError(msg)
    return np.rint(finite).astype(np.int64)


def _check_label(labels: pd.Index, label: Hashable, what: str) -> None:
    if label in labels:
        msg = f"the {what} already holds a {label!r} label; pass another total_label"
        raise ValueError(msg)


def suppress_table(
    counts: pd.DataFrame,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    totals: bool = True,
    total_label: Hashable = TOTAL_LABEL,
) -> pd.DataFrame:
    """Return a 2-D count table safe to publish: small cells and their complements suppressed.

    Primary suppression hides every count ``0 < c < min_cell``; zeros are published. Then
    complementary suppression makes every row, column and margin line that holds a suppressed
    entry hold at least two, with the suppressed cells of a line whose total is published adding
    up to at least ``min_cell`` people (see the module's docstring for the guarantee and its
    limits). Published totals are the true totals; a total below ``min_cell`` is suppressed.

    Parameters
    ----------
    counts
        Non-negative integer counts, rows × columns (e.g. districts × origin provinces).
    min_cell
        Smallest published non-zero count.
    totals
        Add a row-total column and a column-total row, both labelled ``total_label``. Without
        them the cells are suppressed exactly as with them, so the true totals may still be
        published next to the table.
    total_label
        Label of the total column and row.

    Returns
    -------
    pandas.DataFrame
        Nullable ``Int64`` counts on the input's index and columns (plus the totals), suppressed
        entries missing.

    Raises
    ------
    ValueError
        If a count is missing, negative or not an integer.
    """
    check_min_cell(min_cell)
    cells = _count_values(counts, "the table")
    n, m = cells.shape
    index, columns = counts.index, counts.columns
    if totals:
        _check_label(index, total_label, "index")
        _check_label(columns, total_label, "columns")
    hidden = suppression_mask(cells, min_cell=min_cell)
    values = _augment(cells)
    data = pd.DataFrame(
        {j: pd.array(values[:, j], dtype="Int64") for j in range(m + 1)})
    data = data.mask(hidden)
    data.index = index.append(pd.Index([total_label]))
    data.columns = columns.append(pd.Index([total_label]))
    if not totals:
        data = data.iloc[:n, :m]
    return data


def suppress_series(
    counts: pd.Series,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    total: bool = True,
    total_label: Hashable = TOTAL_LABEL,
) -> pd.Series:
    """Return a 1-D count table safe to publish: one line with its total.

    Counts ``0 < c < min_cell`` are suppressed (zeros are published). If any entry is
    suppressed, at least two are, and while the total is published the suppressed counts add up
    to at least ``min_cell``: the smallest published positive counts are suppressed next, then
    zeros, then the total. A total below ``min_cell`` is suppressed.

    Parameters
    ----------
    counts
        Non-negative integer counts (e.g. migrants per origin province).
    min_cell
        Smallest published non-zero count.
    total
        Append the total, labelled ``total_label``. Without it the counts are suppressed exactly
        as with it.
    total_label
        Label of the total.

    Returns
    -------
    pandas.Series
        Nullable ``Int64`` counts on the input's index (plus the total), suppressed entries
        missing.
    """
    check_min_cell(min_cell)
    cells = _count_values(counts, "the series")
    if total:
        _check_label(counts.index, total_label, "index")
    # One protected line: the counts and their total (a one-row table, no column totals).
    hidden = suppression_mask(cells[np.newaxis, :], min_cell=min_cell, column_totals=False)[0]
    out = pd.Series(pd.array(np.append(cells, cells.sum()), dtype="Int64"),
                    index=counts.index.append(pd.Index([total_label])), name=counts.name)
    out = out.mask(hidden)
    return out if total else out.iloc[:-1]


def shown_rows(table: pd.DataFrame, min_cell: int = DEFAULT_MIN_CELL) -> np.ndarray:
    """Rows of a published layer that may be drawn or listed, as a boolean array.

    A row is hidden when it is flagged ``suppressed`` (or the flag is missing), or when its
    ``migrants`` count is below ``min_cell`` (or missing). Tables without these columns
    hide nothing by them. Maps, reports and the web app all filter their rows with this.
    """
    shown = np.ones(len(table), dtype=bool)
    if "suppressed" in table:
        shown &= ~table["suppressed"].fillna(True).to_numpy(dtype=bool)
    if "migrants" in table:
        shown &= pd.to_numeric(table["migrants"], errors="coerce").to_numpy(dtype=float) >= min_cell
    return shown


# ------------------------------------------------------------------------------------------
# Guards for writers
# ------------------------------------------------------------------------------------------


def check_published(
    table: pd.DataFrame | pd.Series,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    columns: Sequence[Hashable] | None = None,
) -> None:
    """Raise if a table about to be published holds a non-zero count below ``min_cell``.

    Parameters
    ----------
    table
        The table (or series) to publish; missing values are suppressed cells and pass.
    min_cell
        Smallest published non-zero count.
    columns
        Count columns to check; by default every integer column (counts are integers; rates and
        scores in float columns are not checked).

    Raises
    ------
    ValueError
        Naming the row and column of every offending count (the first ten).
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    if columns is None:
        columns = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c].dtype)]
    problems = []
    for c in columns:
        v = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero((v > 0) & (v < min_cell))
        problems += [f"row {frame.index[i]!r}, column {c!r}" for i in bad]
    if problems:
        more = f" and {len(problems) - 10} more" if len(problems) > 10 else ""
        msg = f"published counts below min_cell={min_cell}: " + "; ".join(problems[:10]) + more
        msg += "; pass the table through coverage.publish.disclosure.suppress_table first"
        raise ValueError(msg)


def assert_no_personal(
    frame: pd.DataFrame,
    *,
    allow: Iterable[str] = (),
    allow_points: bool = False,
) -> None:
    """Raise if a frame about to be published holds personal columns or individual points.

    A column is personal when its name, lower-cased and stripped, is in
    :data:`PERSONAL_COLUMNS` (person ids, names, identity numbers, residence and work
    coordinates). Geometry columns holding points or multi-points are refused too: published
    geometries are areas (hexagons, communities, districts).

    Parameters
    ----------
    frame
        The frame to publish.
    allow
        Column names deliberately published although they match (e.g. ``lon``/``lat`` of
        service points, which are public places, not people).
    allow_points
        Allow point geometries (service points), after checking they are not people.

    Raises
    ------
    ValueError
        Naming every offending column.
    """
    allowed = {str(a).strip().lower() for a in allow}
    problems = [
        repr(c) for c in frame.columns
        if str(c).strip().lower() in PERSONAL_COLUMNS and str(c).strip().lower() not in allowed
    ]
    if not allow_points:
        for c in frame.columns:
            if str(frame[c].dtype) != "geometry":
                continue
            kinds = shapely.get_type_id(np.asarray(frame[c], dtype=object))
            if np.isin(kinds, _POINT_TYPES).any():
                problems.append(f"{c!r} (point geometries)")
    if problems:
        msg = "a published frame must not hold personal data; found " + ", ".join(problems)
        msg += "; aggregate to areas (suppress_table) and drop these columns, or list public "
        msg += "ones in allow="
        raise ValueError(msg)
