"""Origin-area exchange packs: every table protected, nothing recoverable, ranks as by hand.

The packs of the small demo city are checked against counts made here from the migrants with
pandas: published cells are the true counts, no non-zero count under ``min_cell`` is shown, and
solving the rows and columns of a table one unknown at a time ("peeling") recovers no hidden
cell. The cooperation list is ranked on tiny tables whose ranks are worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage.engine.exchange import (
    TOTAL,
    ExchangeError,
    band_keys,
    cooperation_list,
    exchange_packs,
)
from coverage.patterns.origins import classify_origins
from coverage.publish.disclosure import PERSONAL_COLUMNS
from coverage.publish.naming import exchange_stem

MIN_CELL = 10


@pytest.fixture(scope="module")
def packs(small_run):
    study = small_run.study
    return exchange_packs(study.migrants, study.communities,
                          small_run.migrant_access["time_min"].to_numpy(),
                          thresholds=study.project.parameters.thresholds_min,
                          targets=study.project.parameters.targets, min_cell=MIN_CELL)


def _true_districts(small_run, code: str, thresholds: tuple[float, ...]) -> pd.DataFrame:
    """The origin's migrants by district and time band, counted here with pandas."""
    study = small_run.study
    province = classify_origins(study.migrants["hukou_code"])["province_code"]
    mine = (province == code[:2]).fillna(False).to_numpy(bool)
    district = study.migrants["community_id"].map(
        study.communities.set_index("community_id")["district"]).to_numpy()[mine]
    times = small_run.migrant_access["time_min"].to_numpy()[mine]
    edges = [0.0, *thresholds]
    band = pd.cut(pd.Series(times).fillna(np.inf), [-np.inf, *edges[1:], np.inf],
                  labels=band_keys(thresholds), right=True)
    table = pd.crosstab(pd.Series(district, name="district"), band, dropna=False)
    return table.reindex(columns=band_keys(thresholds), fill_value=0)


def _lines(values: np.ndarray) -> list[np.ndarray]:
    """Index arrays of every protected line of a table with margins (cells, then total)."""
    n, m = values.shape
    rows = [np.ravel_multi_index((np.full(m, i), np.arange(m)), (n, m)) for i in range(n)]
    cols = [np.ravel_multi_index((np.arange(n), np.full(n, j)), (n, m)) for j in range(m)]
    return rows + cols


def _peel(published: np.ndarray) -> int:
    """Solve lines with one unknown until none is left; return how many cells were solved."""
    values = published.astype(float).ravel()
    solved = 0
    changed = True
    while changed:
        changed = False
        for line in _lines(published):
            unknown = line[np.isnan(values[line])]
            if len(unknown) != 1:
                continue
            cells, total = line[:-1], line[-1]
            if unknown[0] == total:
                values[total] = np.nansum(values[cells])
            else:
                values[unknown[0]] = values[total] - np.nansum(values[cells])
            solved += 1
            changed = True
    return solved


def test_published_counts_are_true_and_none_is_small(packs, small_run):
    thresholds = packs.thresholds
    assert packs.packs, "the demo city's migrants have origin codes"
    for pack in packs.packs:
        assert pack.migrants >= MIN_CELL
        table = pack.districts
        truth = _true_districts(small_run, pack.code, thresholds)
        counts = table.drop(index=TOTAL)[band_keys(thresholds)]
        shown = counts.notna().to_numpy()
        assert (counts.to_numpy(dtype=float, na_value=np.nan)[shown]
                == truth.reindex(counts.index, fill_value=0).to_numpy()[shown]).all()
        assert int(table.loc[TOTAL, TOTAL]) == pack.migrants == int(truth.to_numpy().sum())
        for frame in (pack.districts, pack.age_sex, pack.services):
            ints = frame.select_dtypes("Int64").to_numpy(dtype=float, na_value=np.nan)
            assert not ((ints > 0) & (ints < MIN_CELL)).any(), pack.code


def test_no_hidden_cell_is_recovered_from_rows_and_columns(packs):
    hidden_somewhere = 0
    for pack in packs.packs:
        for frame in (pack.districts, pack.age_sex):
            cells = [c for c in frame.columns if not str(c).startswith("coverage_")]
            published = frame[cells].to_numpy(dtype=float, na_value=np.nan)
            hidden_somewhere += int(np.isnan(published).sum())
            assert _peel(published) == 0, pack.code
        services = pack.services[["achieved", "not_achieved", "population"]]
        for row in services.to_numpy(dtype=float, na_value=np.nan):
            assert np.isnan(row).sum() != 1, pack.code
    assert hidden_somewhere > 0, "the demo city's packs hide some cells: the check ran"


def test_shares_come_from_published_counts_only(packs):
    for pack in packs.packs:
        table = pack.districts
        bands = band_keys(packs.thresholds)
        first = table[bands[0]].to_numpy(dtype=float, na_value=np.nan)
        total = table[TOTAL].to_numpy(dtype=float, na_value=np.nan)
        share = table[f"coverage_{packs.thresholds[0]:g}"].to_numpy()
        beyond = table[bands[1:]].to_numpy(dtype=float, na_value=np.nan).sum(axis=1)
        computable = (~np.isnan(first) | ~np.isnan(beyond)) & (total > 0)
        assert np.isnan(share[~computable]).all()
        assert np.allclose(share[~np.isnan(first) & (total > 0)],
                           (first / total)[~np.isnan(first) & (total > 0)])


def test_no_personal_columns_or_small_origins(packs):
    for pack in packs.packs:
        for frame in (pack.districts, pack.age_sex, pack.services, pack.partners):
            names = {str(c).lower() for c in [*frame.columns, frame.index.name]}
            assert not names & PERSONAL_COLUMNS
    listed = set(packs.cooperation["origin_code"])
    assert listed <= {p.code for p in packs.packs}
    assert (packs.cooperation["migrants"].to_numpy(dtype=float) >= MIN_CELL).all()


def test_prefecture_packs_are_named_by_six_digit_codes(small_run):
    study = small_run.study
    result = exchange_packs(study.migrants, study.communities,
                            small_run.migrant_access["time_min"].to_numpy(),
                            thresholds=study.project.parameters.thresholds_min,
                            level="prefecture")
    codes = [p.code for p in result.packs]
    assert all(len(c) == 6 and c.isdigit() and c.endswith("00") for c in codes)
    known = classify_origins(study.migrants["hukou_code"])["prefecture_code"].dropna()
    sizes = known.value_counts()
    expected = sorted(f"{c}00" for c, n in sizes.items() if n >= MIN_CELL)
    assert sorted(c for c in codes if c[2:4] != "00") == expected


def test_without_origin_codes_no_pack_is_made(small_run):
    study = small_run.study
    migrants = study.migrants.assign(hukou_code=pd.Series(pd.NA, index=study.migrants.index,
                                                          dtype="string"))
    with pytest.raises(ExchangeError, match="hukou") as info:
        exchange_packs(migrants, study.communities, np.zeros(len(migrants)),
                       thresholds=(5.0, 10.0, 15.0))
    assert info.value.reason == "no-origin-codes"


def _tiny(rows: dict[str, list[int]], origins: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=origins).T.rename_axis("district")


def test_cooperation_list_ranks_by_size_and_growth_as_by_hand():
    origins = ["430000", "450000", "510000"]
    counts = _tiny({"A区": [50, 30, 20], "B区": [15, 40, 25]}, origins)
    recent = _tiny({"A区": [10, 20, 12], "B区": [10, 20, 10]}, origins)
    earlier = _tiny({"A区": [20, 10, 12], "B区": [0, 10, 10]}, origins)
    out = cooperation_list(counts, recent, earlier, min_cell=MIN_CELL, partners=1)
    got = {(r.district, r.origin_code): r for r in out.itertuples()}
    # A区: 50 > 30 > 20; B区: 40 > 25 > 15
    assert [got["A区", o].rank_in_district for o in origins] == [1, 2, 3]
    assert [got["B区", o].rank_in_district for o in origins] == [3, 1, 2]
    # 430000 lives mostly in A区, 450000 and 510000 in B区
    assert [got["A区", o].rank_in_origin for o in origins] == [1, 2, 2]
    assert [got["B区", o].rank_in_origin for o in origins] == [2, 1, 1]
    assert got["A区", "430000"].share == pytest.approx(0.5)
    assert got["B区", "510000"].share == pytest.approx(25 / 80)
    # growth = recent / earlier − 1: A区 −0.5, +1.0, 0.0; B区 none (earlier 0), +1.0, 0.0
    assert got["A区", "450000"].growth == pytest.approx(1.0)
    assert got["A区", "430000"].growth == pytest.approx(-0.5)
    assert pd.isna(got["B区", "430000"].growth)
    assert [got["A区", o].growth_rank for o in origins] == [3, 1, 2]
    assert got["A区", "430000"].partner == "size"
    assert got["A区", "450000"].partner == "growth"
    assert got["B区", "450000"].partner == "size+growth"
    assert got["B区", "510000"].partner == ""
    assert list(out["district"]) == ["A区"] * 3 + ["B区"] * 3


def test_cooperation_list_leaves_out_hidden_pairs():
    origins = ["430000", "450000", "520000"]
    counts = _tiny({"A区": [50, 30, 3], "B区": [45, 40, 12]}, origins)
    out = cooperation_list(counts, min_cell=MIN_CELL)
    assert ("A区", "520000") not in set(zip(out["district"], out["origin_code"], strict=True))
    assert (out["migrants"].to_numpy(dtype=float) >= MIN_CELL).all()
    assert out["growth"].isna().all() and out["growth_rank"].isna().all()
    assert (out["partner"].isin(["size", ""])).all()


def test_exchange_file_names_are_safe():
    assert exchange_stem("430100", "湖南省长沙市", lang="zh") == "exchange-430100-湖南省长沙市-zh"
    stem = exchange_stem("430000", "../湖南", lang="en")
    assert "/" not in stem and stem.startswith("exchange-430000-") and stem.endswith("-en")
    with pytest.raises(ValueError, match="six digits"):
        exchange_stem("../x", "湖南省", lang="zh")
