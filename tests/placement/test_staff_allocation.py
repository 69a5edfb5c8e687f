"""New staff respect a cap per service point and go where the need is (checked by brute force)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from coverage.placement.staff import allocate_maxmin, allocate_shortfall


def _allocations(caps, n):
    """Every whole allocation of min(n, Σ caps) staff under the caps."""
    total = min(n, int(sum(caps)))
    for x in itertools.product(*(range(int(c) + 1) for c in caps)):
        if sum(x) == total:
            yield np.array(x, dtype=float)


def _left(shortfall, site_unit, x):
    return shortfall - np.bincount(site_unit, weights=x, minlength=len(shortfall))


def test_shortfall_allocation_by_hand():
    # unit 0 needs 5 FTE and has sites a (serving 100) and b (serving 300); unit 1 needs 2.5
    # and has site c; unit 2 needs nothing (site d). At most 2 new staff per site.
    shortfall = np.array([5.0, 2.5, 0.0])
    site_unit = np.array([0, 0, 1, 2])
    served = np.array([100.0, 300.0, 50.0, 80.0])
    got = allocate_shortfall(shortfall, site_unit, 6, caps=2, order=served)
    # b, b (full), a, then c (2.5 > 2), a (full), c: unit 0 keeps 1, unit 1 keeps 0.5
    assert got.tolist() == [2.0, 2.0, 2.0, 0.0]
    # without caps, all would go to the unit with the largest shortfall first
    free = allocate_shortfall(shortfall, site_unit, 6, order=served)
    assert free.tolist() == [0.0, 4.0, 2.0, 0.0]
    # no room left: fewer than asked
    assert allocate_shortfall(shortfall, site_unit, 20, caps=2).sum() == 8


@pytest.mark.parametrize("seed", range(25))
def test_shortfall_allocation_is_the_brute_force_optimum(seed):
    rng = np.random.default_rng(seed)
    n_units, n_sites = 3, 5
    shortfall = np.round(rng.uniform(0, 5, n_units) * 2) / 2
    site_unit = rng.integers(0, n_units, n_sites)
    caps = rng.integers(0, 4, n_sites).astype(float)
    n = int(rng.integers(1, 9))
    got = allocate_shortfall(shortfall, site_unit, n, caps=caps, order=rng.random(n_sites))
    assert (got <= caps).all() and got.sum() == min(n, caps.sum())

    def total(x):
        return np.maximum(_left(shortfall, site_unit, x), 0).sum()

    best = min(total(x) for x in _allocations(caps, n))
    assert total(got) == pytest.approx(best)
    # and, of the optimal allocations, it leaves the largest remaining need smallest
    # (lexicographically, largest first): staff go where the need is greatest
    key = sorted(_left(shortfall, site_unit, got), reverse=True)
    brute = min(sorted(_left(shortfall, site_unit, x), reverse=True)
                for x in _allocations(caps, n))
    np.testing.assert_allclose(key, brute)


def test_maxmin_allocation_by_hand():
    staff = np.array([1.0, 2.0, 0.0])
    people = np.array([1000.0, 1000.0, 500.0])
    got = allocate_maxmin(staff, people, 3, caps=np.array([np.inf, 1, np.inf]))
    # ratios 1, 2, 0 per 1,000: the third to 2, the first to 2, then the tie goes first
    assert got.tolist() == [2.0, 0.0, 1.0]
    capped = allocate_maxmin(staff, people, 3, caps=np.array([1, 1, 0]))
    assert capped.tolist() == [1.0, 1.0, 0.0]  # only two places had room


@pytest.mark.parametrize("seed", range(25))
def test_maxmin_allocation_is_the_brute_force_leximin(seed):
    rng = np.random.default_rng(100 + seed)
    staff = rng.integers(0, 4, 4).astype(float)
    people = rng.integers(1, 6, 4) * 200.0
    caps = rng.integers(0, 4, 4).astype(float)
    n = int(rng.integers(1, 8))
    got = allocate_maxmin(staff, people, n, caps=caps)
    assert (got <= caps).all() and got.sum() == min(n, caps.sum())

    def ratios(x):  # exact, so that ties are ties
        return sorted(Fraction(int(s + a)) / int(p) for s, a, p in zip(staff, x, people,
                                                                        strict=True))

    assert ratios(got) == max(ratios(x) for x in _allocations(caps, n))
