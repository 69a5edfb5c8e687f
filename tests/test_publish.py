"""Disclosure control of the report tables over the city → district → community hierarchy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage.publish.tables import (
    Partition,
    _sum_hidden,
    protect_levels,
    publish_indicators,
    publish_summaries,
)

MIN_CELL = 10


@st.composite
def hierarchies(draw: st.DrawFn) -> tuple[list[pd.DataFrame], list[pd.Series], Partition]:
    n_parts = draw(st.integers(2, 4))
    parts = tuple(f"p{i}" for i in range(n_parts))
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    cells = draw(st.lists(st.lists(st.integers(0, 40), min_size=n_parts, max_size=n_parts),
                          min_size=sum(sizes), max_size=sum(sizes)))
    comm = pd.DataFrame(cells, columns=list(parts),
                        index=[f"c{i}" for i in range(sum(sizes))])
    comm["total"] = comm[list(parts)].sum(axis=1)
    district_of = pd.Series(np.repeat([f"d{j}" for j in range(len(sizes))], sizes),
                            index=comm.index)
    districts = comm.groupby(district_of).sum()
    city = pd.DataFrame(districts.sum()).T.set_axis(["city"])
    parents = [pd.Series("city", index=districts.index), district_of]
    return [city, districts, comm], parents, Partition("total", parts, {"first": parts[:1]})


def _check_line(values: np.ndarray, hidden: np.ndarray) -> None:
    """A line (cells then total): no single unknown; hidden cells sum ≥ MIN_CELL if total known."""
    n_hidden = int(hidden.sum())
    assert n_hidden != 1, (values, hidden)
    if n_hidden and not hidden[-1]:
        assert values[:-1][hidden[:-1]].sum() >= MIN_CELL, (values, hidden)


@settings(max_examples=150, deadline=None)
@given(hierarchies())
def test_protect_levels_properties(case):
    levels, parents, partition = case
    masks = protect_levels(levels, parents, [partition], min_cell=MIN_CELL)
    cols = [*partition.parts, partition.total]
    for level, mask in zip(levels, masks, strict=True):
        values = level[cols].to_numpy()
        hidden = mask[cols].to_numpy()
        published = values[~hidden]
        assert not ((published > 0) & (published < MIN_CELL)).any()
        for v, h in zip(values, hidden, strict=True):  # each unit's row line
            _check_line(v, h)
    for depth in (1, 2):  # each parent's column lines over its children
        units, above = levels[depth], levels[depth - 1]
        for parent, members in parents[depth - 1].groupby(parents[depth - 1]).groups.items():
            for c in cols:
                values = np.append(units.loc[members, c].to_numpy(), above.loc[parent, c])
                hidden = np.append(masks[depth].loc[members, c].to_numpy(),
                                   masks[depth - 1].loc[parent, c])
                _check_line(values, hidden)


@settings(max_examples=100, deadline=None)
@given(hierarchies())
def test_published_sums_reveal_no_part(case):
    levels, parents, partition = case
    masks = protect_levels(levels, parents, [partition], min_cell=MIN_CELL)
    for mask in masks:
        unsafe = _sum_hidden(mask, partition, partition.parts[:1])
        inside = mask[partition.parts[0]]
        outside = mask[list(partition.parts[1:])].any(axis=1) | mask[partition.total]
        # published ⇔ the sum is already known: all its parts published, or all others and total
        assert (~unsafe == (~inside | ~outside)).all()


def test_summaries_of_the_demo_city(small_run):
    thresholds = small_run.study.project.parameters.thresholds_min
    districts, communities = publish_summaries(small_run.district_summary,
                                               small_run.community_summary, thresholds)
    assert len(districts) == len(small_run.district_summary)
    counts = communities["migrants"].astype("Float64")
    assert not ((counts > 0) & (counts < MIN_CELL)).fillna(False).any()
    # a hidden population hides everything computed from it
    hidden = communities["registered_pop"].isna()
    for col in ("staff_per_1000_registered", "staff_needed", "e2sfca_mean_registered"):
        assert communities.loc[hidden, col].isna().all(), col
    # published values are the results' values
    truth = small_run.community_summary.set_index("community_id")
    shown = communities.set_index("community_id")["coverage_15min_migrant"].dropna()
    np.testing.assert_allclose(shown.to_numpy(float),
                               truth.loc[shown.index, "coverage_15min_migrant"].to_numpy(float))
    # the within-15 share is the sum of the time bands: published only when no band is revealed
    comm = small_run.community_summary.set_index("community_id")
    within = np.rint(comm["coverage_15min_migrant"] * comm["migrants"])
    beyond = comm["migrants"] - within
    small = ((within > 0) & (within < MIN_CELL)) | ((beyond > 0) & (beyond < MIN_CELL))
    published = communities.set_index("community_id")["coverage_15min_migrant"].notna()
    assert not (small & published.reindex(comm.index)).any()


def test_indicators_of_the_demo_city(small_run):
    comm_district = small_run.community_summary.set_index("community_id")["district"]
    out = publish_indicators(small_run.indicators, comm_district)
    assert len(out) == len(small_run.indicators)
    people = out[out["indicator"] != "community_management"]
    for col in ("group_size", "unknown", "population", "achieved"):
        v = people[col].astype("Float64")
        assert not ((v > 0) & (v < MIN_CELL)).fillna(False).any(), col
    not_served = (people["population"] - people["achieved"]).astype("Float64")
    assert not ((not_served > 0) & (not_served < MIN_CELL)).fillna(False).any()
    assert people.loc[people["achieved"].isna(), "value"].isna().all()
    city = out[out["level"] == "city"]
    assert city["value"].notna().all()  # the whole city is never small


@pytest.mark.parametrize("bad", [-1, 0])
def test_min_cell_must_be_positive(small_run, bad):
    comm_district = small_run.community_summary.set_index("community_id")["district"]
    with pytest.raises(ValueError, match="min_cell"):
        publish_indicators(small_run.indicators, comm_district, min_cell=bad)
