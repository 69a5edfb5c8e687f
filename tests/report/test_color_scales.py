"""Colour scales of the maps: gaps around zero, staff robust to outliers, used by notebooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coverage.cartography import GAP_EDGES, color_scale

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


# ------------------------------------------------------------------------------------------
# colour scales


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])


@pytest.mark.parametrize("values", [np.linspace(-0.7, 0.1, 40), np.linspace(-0.05, 0.3, 40),
                                    np.zeros(10)])
def test_gap_scale_diverges_around_zero(values):
    scale = color_scale("coverage_gap_15min", values, lang="en")
    edges = np.asarray(scale.edges)
    assert scale.center == 0.0
    np.testing.assert_array_equal(edges, -edges[::-1])  # symmetric around zero
    assert tuple(edges) == GAP_EDGES  # the same classes whatever the values
    middle = scale.classify([0.0])[0]
    assert middle == len(scale.colors) // 2
    r, g, b = _rgb(scale.colors[middle])
    assert max(r, g, b) - min(r, g, b) < 20  # neutral: no gap is not alarming
    for k, color in enumerate(scale.colors):
        r, _, b = _rgb(color)
        if k > middle:
            assert r > b  # red: migrants worse off (registered − migrants > 0)
        elif k < middle:
            assert b > r
    assert "no real gap" in scale.labels[middle]
    assert "red" in scale.note


def test_staff_scale_is_robust_to_an_outlier():
    rng = np.random.default_rng(0)
    values = np.r_[rng.uniform(0.2, 4.0, 99), 62.0]
    scale = color_scale("staff_per_1000_total", values, lang="zh")
    colors = scale.colors_of(values[:-1])
    assert len(set(colors)) == 5  # not one pale colour for everyone but the outlier
    counts = pd.Series(scale.classify(values)).value_counts()
    assert counts.max() <= 2 * counts.min()  # classes of about equal size
    assert "分位数" in scale.note
    assert scale.labels[-1].endswith("62.00")  # the legend shows where the top class ends


def test_notebooks_draw_maps_with_the_library_scales():
    for path in NOTEBOOKS.glob("*.ipynb"):
        code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text("utf-8"))
                         ["cells"] if c["cell_type"] == "code")
        assert not re.search(r"LinearColormap|linear\.\w+_\d+|StepColormap", code), path.name
