"""Patterns: hexagonal grid, under-served clusters, Gi* hot spots, inflow trends."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from scipy import stats

from coverage.patterns import hot_spots, poor_access
from coverage.patterns.emerging import emerging_hot_spots
from coverage.patterns.grid import hex_cells, hex_centres, hex_keys, hex_polygons, hex_weights
from coverage.patterns.hotspots import classify, fdr_threshold, gi_star, suppress_counts
from coverage.patterns.timeseries import mann_kendall, theil_sen
from coverage.patterns.trends import arrivals_by_quarter, project_migrants

CRS = "EPSG:32650"


def points_frame(x: np.ndarray, y: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=CRS)


# ------------------------------------------------------------------------------------------
# Grid
# ------------------------------------------------------------------------------------------


def test_hex_cells_take_the_nearest_centre():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-5000, 5000, 20_000), rng.uniform(-5000, 5000, 20_000)
    q, r = hex_cells(x, y, edge_m=150.0)
    cx, cy = hex_centres(q, r, edge_m=150.0)
    d_own = np.hypot(x - cx, y - cy)
    assert d_own.max() <= 150.0 + 1e-9  # inside the circumscribed circle
    for dq, dr in ((1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1)):
        nx, ny = hex_centres(q + dq, r + dr, edge_m=150.0)
        assert (d_own <= np.hypot(x - nx, y - ny) + 1e-9).all()
    poly = hex_polygons(q[:50], r[:50], edge_m=150.0)
    assert shapely.contains_xy(poly, x[:50], y[:50]).all()
    assert np.allclose(shapely.area(poly), 1.5 * np.sqrt(3) * 150.0**2)


def test_hex_weights_rings_and_symmetry():
    q, r = np.meshgrid(np.arange(-5, 6), np.arange(-5, 6))
    q, r = q.ravel(), r.ravel()
    w1, w2 = hex_weights(q, r, rings=1), hex_weights(q, r, rings=2)
    centre = int(np.flatnonzero((q == 0) & (r == 0))[0])
    assert w1[[centre], :].sum() == 7 and w2[[centre], :].sum() == 19
    assert (w1 != w1.T).nnz == 0 and (w2 != w2.T).nnz == 0
    assert w1.diagonal().min() == 1
    assert hex_weights(q, r, rings=1, self_weight=False).diagonal().max() == 0
    with pytest.raises(ValueError, match="distinct cells"):
        hex_weights(np.r_[q, 0], np.r_[r, 0])
    with pytest.raises(ValueError, match="rings"):
        hex_weights(q, r, rings=0)
    with pytest.raises(ValueError, match="edge_m"):
        hex_cells(np.zeros(2), np.zeros(2), edge_m=-1)


# ------------------------------------------------------------------------------------------
# Gi*, FDR, classes, suppression
# ------------------------------------------------------------------------------------------


def random_cells(seed: int, n_points: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    q, r = hex_cells(rng.uniform(0, 4000, n_points), rng.uniform(0, 3000, n_points))
    _, first = np.unique(hex_keys(q, r), return_index=True)
    return q[first], r[first]


@pytest.mark.parametrize("rings", [1, 2])
def test_gi_star_equals_esda(rings):
    import esda
    from libpysal.weights import WSP

    q, r = random_cells(0)
    w = hex_weights(q, r, rings=rings)
    values = np.random.default_rng(1).gamma(2.0, 3.0, len(q))
    ours = gi_star(values, w, permutations=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(values, WSP(sp.csr_matrix(w)).to_W(silence_warnings=True),
                           transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours["gi_star"], ref.Gs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours["z_score"], ref.Zs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours["p_normal"], 2 * stats.norm.sf(np.abs(ref.Zs)), atol=1e-12)


def test_permutation_p_values_match_esda_within_monte_carlo_error():
    import esda
    from libpysal.weights import WSP

    q, r = random_cells(2, 1500)
    w = hex_weights(q, r, rings=1)
    rng = np.random.default_rng(5)
    values = rng.gamma(1.0, 1.0, len(q)) + 3.0 * (np.hypot(q - q.mean(), r - r.mean()) < 3)
    ours = gi_star(values, w, permutations=9999, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(values, WSP(sp.csr_matrix(w)).to_W(silence_warnings=True),
                           transform="B", star=True, permutations=9999, seed=1)
    two_sided = np.minimum(1.0, 2.0 * ref.p_sim)  # esda's p_sim is folded one-sided
    assert np.abs(ours["p_sim"].to_numpy() - two_sided).max() < 0.03
    assert ours["p_sim"].min() < 0.01  # the planted centre is significant
    again = gi_star(values, w, permutations=9999, seed=1)
    assert again["p_sim"].equals(ours["p_sim"])  # seeded


def test_fdr_threshold_is_benjamini_hochberg():
    rng = np.random.default_rng(0)
    p = np.r_[rng.uniform(0, 0.002, 20), rng.uniform(0, 1, 480)]
    cut = fdr_threshold(p, 0.05)
    adjusted = stats.false_discovery_control(p, method="bh")
    assert set(np.flatnonzero(p <= cut)) == set(np.flatnonzero(adjusted <= 0.05))
    assert fdr_threshold(np.full(10, 0.5), 0.05) == 0.0
    classes = classify(np.array([0.0001, 0.02, 0.07, 0.5]), np.array([1, -1, 1, 1]), fdr=False)
    assert classes["hotspot"].tolist() == ["hot_99", "cold_95", "hot_90", "not_significant"]
    assert classes["gi_bin"].tolist() == [3, -2, 1, 0]


def test_no_false_hot_spots_on_spatially_random_data():
    false_seeds = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        x, y = rng.uniform(0, 4000, 8000), rng.uniform(0, 3000, 8000)
        spots = hot_spots(points_frame(x, y), rng.random(8000) < 0.15, seed=seed)
        false_seeds += bool((spots["gi_bin"].abs() >= 2).any())
    assert false_seeds <= 1  # >= 95 % of 20 seeds have no hexagon significant at 95 % (FDR)


def test_planted_hot_spot_is_found():
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0, 4000, 8000), rng.uniform(0, 3000, 8000)
    near_patch = np.hypot(x - 1500, y - 1800) < 400
    poor = np.where(near_patch, rng.random(8000) < 0.8, rng.random(8000) < 0.05)
    spots = hot_spots(points_frame(x, y), poor)
    hot = spots[spots["gi_bin"] >= 2]
    assert len(hot) >= 5
    centre = hot.geometry.centroid
    assert (np.hypot(centre.x - 1500, centre.y - 1800) < 800).all()
    holder = spots[spots.contains(shapely.Point(1500, 1800))]
    assert holder["hotspot"].iloc[0] == "hot_99"
    assert (spots["gi_bin"] < 0).sum() == 0 or (
        np.hypot(spots[spots["gi_bin"] < 0].centroid.x - 1500,
                 spots[spots["gi_bin"] < 0].centroid.y - 1800) > 800).all()


def test_suppress_counts_primary_and_complementary():
    table = pd.DataFrame({"a": [3, 50, 40, 0], "b": [20, 12, 30, 15]})
    out = suppress_counts(table, ["a", "b"], min_cell=10)
    assert pd.isna(out.loc[0, "a"])  # primary
    assert pd.isna(out.loc[2, "a"]) and out.loc[1, "a"] == 50  # smallest partner in column a
    assert out.loc[3, "a"] == 0 and out["b"].notna().all()
    rows = suppress_counts(table, ["a", "b"], min_cell=10, rows_have_totals=True)
    assert pd.isna(rows.loc[0, "b"])  # row 0 total would reveal the 3 otherwise
    hidden = rows[["a", "b"]].isna().to_numpy()
    values = table.to_numpy()
    for axis in (0, 1):
        s = np.where(hidden, values, 0).sum(axis=axis)
        assert ((s == 0) | (s >= 10)).all()


# ------------------------------------------------------------------------------------------
# Under-served clusters
# ------------------------------------------------------------------------------------------


def test_poor_access_rules():
    access = pd.DataFrame({"time_min": [5.0, 25.0, np.nan, 18.0],
                           "e2sfca": [9.0, 1.0, np.nan, 0.5]})
    assert poor_access(access).tolist() == [False, True, True, False]
    assert poor_access(access, include_unreachable=False).tolist() == [False, True, False, False]
    score = poor_access(access, max_time_min=None, score_quantile=0.5)
    assert score.tolist() == [False, True, True, True]
    both = poor_access(access, score_quantile=0.5, combine="and")
    assert both.tolist() == [False, True, True, False]
    with pytest.raises(ValueError, match="max_time_min, score_quantile"):
        poor_access(access, max_time_min=None)
    with pytest.raises(ValueError, match="score column"):
        poor_access(access, score_quantile=0.2, score_column="nope")


# ------------------------------------------------------------------------------------------
# Trends
# ------------------------------------------------------------------------------------------


def test_arrivals_by_quarter_counts():
    dates = pd.to_datetime(["2025-01-05", "2025-03-31", "2025-04-01", "2025-12-31", None,
                            "2023-01-01"])
    units = ["A", "A", "B", "A", "B", "A"]
    arr = arrivals_by_quarter(dates, units, quarters=4)
    assert list(arr.columns) == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert arr.loc["A"].tolist() == [2, 0, 0, 1] and arr.loc["B"].tolist() == [0, 1, 0, 0]
    assert arrivals_by_quarter(dates, units, quarters=3, through="2025Q2").loc[
        "A"].tolist() == [0, 2, 0]
    with pytest.raises(ValueError, match="2026Q3"):
        arrivals_by_quarter(dates, units, through="2025-06")


def test_theil_sen_and_mann_kendall_against_scipy():
    rng = np.random.default_rng(0)
    y = rng.poisson(30, (40, 12)).astype(float) + np.arange(12) * rng.uniform(-2, 4, (40, 1))
    ts = theil_sen(y)
    mk = mann_kendall(y)
    for i in range(0, 40, 7):
        ref = stats.theilslopes(y[i], np.arange(12))
        assert ts["slope"][i] == pytest.approx(ref.slope)
        assert ts["intercept"][i] == pytest.approx(ref.intercept)
        s = sum(np.sign(y[i, j] - y[i, k]) for k in range(12) for j in range(k + 1, 12))
        assert mk["s"][i] == s
        _, counts = np.unique(y[i], return_counts=True)
        var = (12 * 11 * 29 - (counts * (counts - 1) * (2 * counts + 5)).sum()) / 18
        assert mk["var_s"][i] == pytest.approx(var)
        z = (s - np.sign(s)) / np.sqrt(var)
        assert mk["p_value"][i] == pytest.approx(2 * stats.norm.sf(abs(z)))
    flat = mann_kendall(np.full((1, 12), 5.0))
    assert flat["p_value"][0] == 1.0 and flat["s"][0] == 0


def test_projection_of_a_planted_linear_trend():
    rng = np.random.default_rng(11)
    t = np.arange(16)
    truth = 200 + 15 * t  # arrivals per quarter
    noisy = truth[None, :12] + rng.normal(0, 12, (200, 12))
    noisy[:, 5] += 150 * (rng.random(200) < 0.2)  # a registration drive in some units
    stock = noisy.sum(axis=1) + 500
    proj = project_migrants(noisy, stock, horizon=4)
    expected = stock + truth[12:].sum()
    error = np.abs(proj["projected_migrants"].to_numpy() / expected - 1)
    assert error.max() < 0.05
    exact = project_migrants(truth[None, :12].astype(float), np.array([1000.0]), horizon=4)
    assert exact["projected_migrants"][0] == pytest.approx(1000 + truth[12:].sum())
    growth = 50 * 1.15 ** np.arange(16)
    log_fit = project_migrants(growth[None, :12], np.array([0.0]), method="theil_sen_log")
    assert log_fit["projected_arrivals"][0] == pytest.approx(growth[12:].sum(), rel=0.05)
    with pytest.raises(ValueError, match="method"):
        project_migrants(noisy, stock, method="holt")


def test_emerging_hot_spot_categories():
    q, r = np.meshgrid(np.arange(12), np.arange(12))
    q, r = q.ravel(), r.ravel()
    w = hex_weights(q, r, rings=1)
    rng = np.random.default_rng(4)
    v = rng.poisson(20, (len(q), 12)).astype(float)
    spot = {name: np.hypot(q - cq, r - cr) <= 1.5
            for name, (cq, cr) in {"a": (3, 3), "b": (8, 8), "c": (9, 2)}.items()}
    v[spot["a"], -1] += 80  # hot only in the last quarter
    v[spot["b"], :] += np.linspace(15, 45, 12)  # hot throughout, getting hotter
    steady = np.repeat(rng.poisson(20, (len(q), 1)).astype(float), 12, axis=1)
    steady[spot["c"], :] += 40  # the same every quarter (alone: Gi* is relative to the rest)
    out = emerging_hot_spots(v, w)
    out_steady = emerging_hot_spots(steady, w)
    centre = {name: int(np.flatnonzero((q == cq) & (r == cr))[0])
              for name, (cq, cr) in {"a": (3, 3), "b": (8, 8), "c": (9, 2)}.items()}
    assert out["hotspot_trend"][centre["a"]] == "new"
    assert out["hotspot_trend"][centre["b"]] == "intensifying"
    assert out_steady["hotspot_trend"][centre["c"]] == "persistent"
    assert out["quarters_hot"][centre["b"]] == 12
    far = np.ones(len(q), dtype=bool)
    for cq, cr in ((3, 3), (8, 8), (9, 2)):
        far &= np.hypot(q - cq, r - cr) > 4
    assert (out["hotspot_trend"][far] == "none").all()
    assert (out_steady["hotspot_trend"][far] == "none").all()
