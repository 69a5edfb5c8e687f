"""Disclosure control: small-cell suppression that totals cannot undo, and personal-data guards."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from coverage.patterns.hotspots import suppress_counts
from coverage.publish.disclosure import (
    PERSONAL_COLUMNS,
    assert_no_personal,
    check_published,
    shown_rows,
    suppress_series,
    suppress_table,
    suppression_mask,
)

MIN = 10

# Skewed counts: many zeros and small cells, some large ones.
COUNT = st.one_of(st.integers(0, 12), st.integers(0, 30), st.integers(0, 500))


@st.composite
def tables(draw, max_rows: int = 8, max_cols: int = 8) -> pd.DataFrame:
    n = draw(st.integers(1, max_rows))
    m = draw(st.integers(1, max_cols))
    flat = draw(st.lists(COUNT, min_size=n * m, max_size=n * m))
    return pd.DataFrame(np.array(flat, dtype=np.int64).reshape(n, m),
                        index=[f"d{i}" for i in range(n)], columns=[f"p{j}" for j in range(m)])


def augmented(counts: pd.DataFrame) -> np.ndarray:
    v = counts.to_numpy()
    rows = np.column_stack([v, v.sum(axis=1)])
    return np.vstack([rows, rows.sum(axis=0)])


def lines(values: np.ndarray, hidden: np.ndarray):
    """Yield (values, hidden) of every line of an augmented table; the last entry is the total."""
    for i in range(values.shape[0]):
        yield values[i], hidden[i]
    for j in range(values.shape[1]):
        yield values[:, j], hidden[:, j]


def peel(hidden: np.ndarray) -> np.ndarray:
    """Attacker: solve every line with a single unknown entry, again and again.

    Returns the suppressed entries the attacker recovers.
    """
    unknown = hidden.copy()
    while True:
        solved = False
        for i in range(unknown.shape[0]):
            if unknown[i].sum() == 1:
                unknown[i] = False
                solved = True
        for j in range(unknown.shape[1]):
            if unknown[:, j].sum() == 1:
                unknown[:, j] = False
                solved = True
        if not solved:
            return hidden & ~unknown


# ------------------------------------------------------------------------------------------
# Property tests
# ------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(tables())
def test_suppress_table_properties(counts: pd.DataFrame):
    out = suppress_table(counts, min_cell=MIN)
    n, m = counts.shape
    assert out.shape == (n + 1, m + 1)
    assert (out.dtypes == "Int64").all()
    values = augmented(counts)
    hidden = out.isna().to_numpy()
    published = out.to_numpy(dtype=np.float64, na_value=np.nan)

    # No published non-zero cell or total below min_cell; published values (totals included)
    # are the true values.
    assert not ((published > 0) & (published < MIN)).any()
    assert np.array_equal(published[~hidden], values[~hidden].astype(np.float64))
    # Every primary cell is suppressed.
    assert hidden[(values > 0) & (values < MIN)].all()

    for line, hid in lines(values, hidden):
        if hid.any():
            # At least two suppressed entries per line (a suppressed total counts as one)...
            assert hid.sum() >= 2
            # ...and, with the total published, the recoverable group covers >= MIN people.
            if not hid[-1]:
                assert line[:-1][hid[:-1]].sum() >= MIN

    # Attacker 1: published total − published cells of a row or column of the table.
    for i, j in zip(*np.nonzero(hidden[:n, :m]), strict=True):
        for line, hid in ((values[i], hidden[i]), (values[:, j], hidden[:, j])):
            if hid[-1]:
                continue  # the total is suppressed: nothing to subtract from
            remainder = line[-1] - line[:-1][~hid[:-1]].sum()
            # The remainder is the sum of all suppressed cells of the line: never this cell alone.
            assert hid[:-1].sum() >= 2, f"cell ({i}, {j}) = {remainder} = total − published"
    # Attacker 2: solving lines with one unknown one after another recovers nothing.
    assert not peel(hidden).any()

    # Without totals: the same cells.
    bare = suppress_table(counts, min_cell=MIN, totals=False)
    pd.testing.assert_frame_equal(bare, out.iloc[:n, :m])
    check_published(out, min_cell=MIN)


@settings(max_examples=200, deadline=None)
@given(st.lists(COUNT, min_size=1, max_size=12))
def test_suppress_series_properties(raw: list[int]):
    counts = pd.Series(raw, name="migrants")
    out = suppress_series(counts, min_cell=MIN)
    assert len(out) == len(raw) + 1 and out.dtype == "Int64"
    values = np.append(raw, sum(raw))
    hidden = out.isna().to_numpy()
    published = out.to_numpy(dtype=np.float64, na_value=np.nan)
    assert not ((published > 0) & (published < MIN)).any()
    assert np.array_equal(published[~hidden], values[~hidden].astype(np.float64))
    if hidden.any():
        assert hidden.sum() >= 2
        if not hidden[-1]:
            assert values[:-1][hidden[:-1]].sum() >= MIN
    pd.testing.assert_series_equal(suppress_series(counts, min_cell=MIN, total=False), out[:-1])


@settings(max_examples=200, deadline=None)
@given(tables(), st.booleans())
def test_suppress_counts_delegates_with_known_totals(counts: pd.DataFrame, rows: bool):
    out = suppress_counts(counts, list(counts.columns), min_cell=MIN, rows_have_totals=rows)
    hidden = out.isna().to_numpy()
    values = counts.to_numpy()
    assert hidden[(values > 0) & (values < MIN)].all()
    pairs = [(values.T, hidden.T)] + ([(values, hidden)] if rows else [])
    for vals, hid in pairs:
        for line, h in zip(vals, hid, strict=True):
            if h.any() and not h.all():  # all hidden: nothing left to suppress
                assert h.sum() >= 2
                assert line[h].sum() >= MIN or (line[~h] == 0).all()


# ------------------------------------------------------------------------------------------
# Hand-made examples
# ------------------------------------------------------------------------------------------


def test_suppress_table_known_answer():
    counts = pd.DataFrame({"湖南": [120, 4, 30], "四川": [80, 60, 25], "广西": [15, 70, 40]},
                          index=["宝安", "龙岗", "南山"])
    out = suppress_table(counts)
    # 4 is primary; its row partner is the smallest other positive count of 龙岗 (60), its
    # column partner the smallest of 湖南 (30); 四川 then needs a second (25, row 南山).
    expected = pd.DataFrame(
        {"湖南": [120, pd.NA, pd.NA, 154], "四川": [80, pd.NA, pd.NA, 165],
         "广西": [15, 70, 40, 125], "total": [215, 134, 95, 444]},
        index=["宝安", "龙岗", "南山", "total"], dtype="Int64")
    pd.testing.assert_frame_equal(out, expected)


def test_suppress_table_nothing_small():
    counts = pd.DataFrame({"a": [10, 0], "b": [25, 11]})
    out = suppress_table(counts)
    assert out.notna().all().all()  # zeros are published
    assert out.loc["total", "total"] == 46


def test_suppress_table_small_total_is_suppressed():
    counts = pd.DataFrame({"a": [3, 50], "b": [4, 60]}, index=["x", "y"])
    out = suppress_table(counts)
    assert out.loc["x"].isna().all()  # 3, 4 and their total 7
    # The row-total column now holds one suppressed entry: a second is needed there.
    assert out["total"].isna().sum() >= 2 or pd.isna(out.loc["total", "total"])
    assert not peel(out.isna().to_numpy()).any()


def test_suppress_table_single_column():
    # Each cell equals its row total: a suppressed cell needs its row total suppressed too.
    counts = pd.DataFrame({"n": [5, 40, 30]})
    out = suppress_table(counts)
    assert pd.isna(out.loc[0, "n"]) and pd.isna(out.loc[0, "total"])
    assert not peel(out.isna().to_numpy()).any()


def test_suppress_table_rejects_bad_input():
    with pytest.raises(ValueError, match="negative"):
        suppress_table(pd.DataFrame({"a": [-1, 20]}))
    with pytest.raises(ValueError, match="missing"):
        suppress_table(pd.DataFrame({"a": [np.nan, 20]}))
    with pytest.raises(ValueError, match="non-integer"):
        suppress_table(pd.DataFrame({"a": [1.5, 20]}))
    with pytest.raises(ValueError, match="total_label"):
        suppress_table(pd.DataFrame({"total": [1, 20]}))
    with pytest.raises(ValueError, match="min_cell"):
        suppress_table(pd.DataFrame({"a": [1, 20]}), min_cell=0)
    with pytest.raises(ValueError, match="2-D"):
        suppression_mask(np.arange(3))


def test_suppress_series_known_answers():
    s = pd.Series([3, 50, 40, 0], index=["湖南", "四川", "广西", "江西"])
    out = suppress_series(s)
    assert out.isna().tolist() == [True, False, True, False, False]
    assert out["total"] == 93
    # One line of one cell: the total goes too.
    one = suppress_series(pd.Series([4], index=["a"]))
    assert one.isna().all()
    # A total below min_cell is suppressed: it is the small cell's partner.
    z = suppress_series(pd.Series([7, 0]))
    assert z.isna().tolist() == [True, False, True]
    assert suppress_series(pd.Series([15, 0, 12])).notna().all()


def test_check_published_names_row_and_column():
    table = pd.DataFrame({"a": pd.array([12, 3], dtype="Int64"), "b": [0, 40],
                          "rate": [0.5, 0.2]}, index=["宝安", "龙岗"])
    with pytest.raises(ValueError, match=r"row '龙岗', column 'a'"):
        check_published(table)
    check_published(table, columns=["b"])
    check_published(suppress_table(table[["a", "b"]].astype("int64")))
    check_published(pd.Series([0, 10, pd.NA], dtype="Int64"))


def test_assert_no_personal():
    areas = gpd.GeoDataFrame({"community_id": ["c1"], "name": ["新安"], "migrants": [120]},
                             geometry=[box(0, 0, 1, 1)], crs="EPSG:32650")
    assert_no_personal(areas)
    assert {"person_id", "work_x", "lon"} <= PERSONAL_COLUMNS
    with pytest.raises(ValueError, match=r"'Person_ID'.*'work_x'"):
        assert_no_personal(pd.DataFrame({"Person_ID": [1], "work_x": [0.0], "n": [20]}))
    points = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(0, 0)], crs="EPSG:32650")
    with pytest.raises(ValueError, match="point geometries"):
        assert_no_personal(points)
    sites = pd.DataFrame({"site_id": ["s1"], "lon": [114.0], "lat": [22.5]})
    assert_no_personal(sites, allow=["lon", "lat"])
    assert_no_personal(points, allow_points=True)


def test_shown_rows_hide_flagged_small_and_missing():
    table = pd.DataFrame({
        "migrants": [25, 9, np.nan, 40, 12],
        "suppressed": pd.array([False, False, False, True, pd.NA], dtype="boolean"),
    })
    np.testing.assert_array_equal(shown_rows(table, 10), [True, False, False, False, False])
    np.testing.assert_array_equal(shown_rows(table[["migrants"]], 9), [True, True, False, True,
                                                                       True])
    assert shown_rows(pd.DataFrame({"x": [1, 2]})).all()
