"""Boundaries approximated from the residences: cells by majority, strays ignored, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from coverage.io.boundaries import voronoi_boundaries

# --- the approximation itself -----------------------------------------------------------------


def test_voronoi_cells_of_two_groups() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(0, 1000, 200), rng.uniform(1000, 2000, 200)])
    y = rng.uniform(0, 1000, 400)
    ids = np.repeat(["A", "B"], 200)
    built = voronoi_boundaries(x, y, ids, ["B", "A", "C"], margin=100)
    b, a, c = built.geometry
    assert shapely.is_empty(c) and not built.far.any()
    assert shapely.intersects_xy(a, x[:200], y[:200]).all()
    assert shapely.intersects_xy(b, x[200:], y[200:]).all()
    assert shapely.area(shapely.intersection(a, b)) == pytest.approx(0, abs=1e-6)
    assert shapely.area(a) + shapely.area(b) == pytest.approx(shapely.area(built.study_area))
    assert built.study_area.contains(shapely.box(0, 0, 2000, 1000).buffer(-20))


def test_a_shared_address_goes_to_the_community_most_residents_name() -> None:
    x = np.array([0.0, 0.0, 0.0, 100.0, 200.0])
    y = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
    built = voronoi_boundaries(x, y, ["A", "A", "B", "B", "B"], ["A", "B"], margin=10)
    assert built.residences == 3
    assert shapely.intersects_xy(built.geometry[0], 0.0, 0.0)
    assert not shapely.intersects_xy(built.geometry[1], -5.0, 0.0)


def test_a_stray_residence_does_not_shape_the_boundaries() -> None:
    rng = np.random.default_rng(1)
    x = np.append(rng.uniform(0, 1000, 50), 50_000.0)  # one geocode in another town
    y = np.append(rng.uniform(0, 1000, 50), 0.0)
    built = voronoi_boundaries(x, y, np.full(51, "A"), ["A"], margin=200)
    assert built.far.tolist() == [False] * 50 + [True]
    assert shapely.bounds(built.study_area)[2] < 1_300


def test_a_single_residence() -> None:
    built = voronoi_boundaries(np.array([5.0]), np.array([5.0]), ["A"], ["A", "B"], margin=50)
    assert shapely.area(built.geometry[0]) == pytest.approx(np.pi * 50**2, rel=0.01)
    assert shapely.is_empty(built.geometry[1])


def test_bad_input_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="not among the communities"):
        voronoi_boundaries(np.array([0.0]), np.array([0.0]), ["X"], ["A"], margin=10)
    with pytest.raises(ValueError, match="no residence"):
        voronoi_boundaries(np.array([]), np.array([]), [], ["A"], margin=10)
