"""Disclosure control of the report tables over the city → district → community hierarchy."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage.publish.tables import Partition, _sum_hidden, protect_levels

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
