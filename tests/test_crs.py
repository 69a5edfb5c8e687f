"""Tests for coverage.crs: GCJ-02 / BD-09 conversions, declared systems and the study CRS."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage import crs, gcj02
from coverage.crs import (
    INVERSE_MAX_ITERATIONS,
    INVERSE_TOLERANCE_M,
    bd09_to_gcj02,
    bd09_to_wgs84,
    describe_conversion,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    parse_system,
    study_crs,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

EARTH_RADIUS_M = 6371008.8


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240601)
    n = 100_000
    return rng.uniform(73.0, 135.0, n), rng.uniform(18.0, 53.0, n)


# ------------------------------------------------------------------------------------------
# Published reference values
# ------------------------------------------------------------------------------------------


def test_reference_wgs84_to_gcj02_tiananmen() -> None:
    # wandergis/coordTransform README: wgs84togcj02(116.404, 39.915)
    # -> (116.41024449916938, 39.91640428150164); the same pair is in other implementations'
    # tests (e.g. geocraft README, several JS/Swift ports).
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert float(lon) == pytest.approx(116.4102445, abs=1e-7)
    assert float(lat) == pytest.approx(39.9164043, abs=1e-7)
    assert float(lon) == pytest.approx(116.41024449916938, abs=1e-9)
    assert float(lat) == pytest.approx(39.91640428150164, abs=1e-9)


def test_reference_gcj02_to_bd09_tiananmen() -> None:
    # wandergis/coordTransform README: gcj02tobd09(116.404, 39.915)
    # -> (116.41036949371029, 39.92133699351021); also in the geocraft README.
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert float(lon) == pytest.approx(116.4103695, abs=1e-7)
    assert float(lat) == pytest.approx(39.9213370, abs=1e-7)
    assert float(lon) == pytest.approx(116.41036949371029, abs=1e-9)
    assert float(lat) == pytest.approx(39.92133699351021, abs=1e-9)


def test_reference_wgs84_to_bd09_tiananmen() -> None:
    # geocraft README and coordtransform-derived tests: wgs84_to_bd09(116.404, 39.915)
    # -> (116.41662724378733, 39.922699552216216).
    lon, lat = wgs84_to_bd09(116.404, 39.915)
    assert float(lon) == pytest.approx(116.41662724378733, abs=1e-9)
    assert float(lat) == pytest.approx(39.922699552216216, abs=1e-9)


# googollee/eviltransform test suite (python/test.py, go/transform_test.go, c/test.c):
# (wgs_lat, wgs_lon, gcj_lat, gcj_lon); copied into many other projects' tests.
EVILTRANSFORM_VECTORS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM_VECTORS)
def test_reference_eviltransform_vectors(wlat, wlon, glat, glon) -> None:
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert float(lon) == pytest.approx(glon, abs=1e-9)
    assert float(lat) == pytest.approx(glat, abs=1e-9)
    # eviltransform's own exact inverse is tested to 0.5 m; ours must be within 1 cm.
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert haversine_m(back_lon, back_lat, wlon, wlat) <= INVERSE_TOLERANCE_M


def test_bd09_to_gcj02_improves_on_published_closed_form() -> None:
    # coordTransform README: bd09togcj02(116.404, 39.915) -> (116.39762729119315,
    # 39.90865673957631), the closed-form approximation. Our start point reproduces it; the
    # iterated result differs by centimetres and round-trips to BD-09 within 1 cm, which the
    # closed form does not.
    closed_lon, closed_lat = gcj02._bd_to_gcj_closed_flat(np.array([116.404]), np.array([39.915]))
    assert closed_lon[0] == pytest.approx(116.39762729119315, abs=1e-9)
    assert closed_lat[0] == pytest.approx(39.90865673957631, abs=1e-9)
    closed_error = haversine_m(*gcj02_to_bd09(closed_lon, closed_lat), 116.404, 39.915)[0]
    assert closed_error > INVERSE_TOLERANCE_M

    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert haversine_m(lon, lat, closed_lon[0], closed_lat[0]) < 0.5
    assert haversine_m(*gcj02_to_bd09(lon, lat), 116.404, 39.915) <= INVERSE_TOLERANCE_M


# ------------------------------------------------------------------------------------------
# Round trips
# ------------------------------------------------------------------------------------------


def test_round_trip_wgs_gcj_wgs(china_points) -> None:
    lon, lat = china_points
    back_lon, back_lat, n_iter = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat), return_iterations=True)
    assert haversine_m(lon, lat, back_lon, back_lat).max() <= 0.05
    assert haversine_m(lon, lat, back_lon, back_lat).max() <= INVERSE_TOLERANCE_M
    assert n_iter <= 5


def test_round_trip_wgs_bd_wgs(china_points) -> None:
    lon, lat = china_points
    back_lon, back_lat, n_iter = bd09_to_wgs84(*wgs84_to_bd09(lon, lat), return_iterations=True)
    assert haversine_m(lon, lat, back_lon, back_lat).max() <= 0.05
    assert haversine_m(lon, lat, back_lon, back_lat).max() <= INVERSE_TOLERANCE_M
    assert n_iter <= 5


def test_round_trip_gcj_bd_gcj(china_points) -> None:
    lon, lat = china_points
    back_lon, back_lat, n_iter = bd09_to_gcj02(*gcj02_to_bd09(lon, lat), return_iterations=True)
    assert haversine_m(lon, lat, back_lon, back_lat).max() <= 0.05
    assert haversine_m(lon, lat, back_lon, back_lat).max() <= INVERSE_TOLERANCE_M
    assert n_iter <= 5


def test_round_trip_bd_gcj_bd_within_1cm(china_points) -> None:
    lon, lat = china_points
    again_lon, again_lat = gcj02_to_bd09(*bd09_to_gcj02(lon, lat))
    assert haversine_m(lon, lat, again_lon, again_lat).max() <= 0.01


def test_iterative_inverse_beats_one_step_approximation(china_points) -> None:
    lon, lat = china_points
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    f_lon, f_lat = wgs84_to_gcj02(gcj_lon, gcj_lat)
    approx_lon, approx_lat = 2 * gcj_lon - f_lon, 2 * gcj_lat - f_lat
    # The one-step inverse used by most packages is off by metres; ours by < 1 cm.
    assert haversine_m(lon, lat, approx_lon, approx_lat).max() > 1.0


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(min_value=73.0, max_value=135.0, allow_nan=False),
    lat=st.floats(min_value=18.0, max_value=53.0, allow_nan=False),
)
def test_property_gcj_round_trip(lon: float, lat: float) -> None:
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert haversine_m(lon, lat, back_lon, back_lat) <= 0.05


@settings(max_examples=100, deadline=None)
@given(
    lon=st.floats(min_value=73.0, max_value=135.0, allow_nan=False),
    lat=st.floats(min_value=18.0, max_value=53.0, allow_nan=False),
)
def test_property_bd_round_trip(lon: float, lat: float) -> None:
    back_lon, back_lat = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert haversine_m(lon, lat, back_lon, back_lat) <= 0.05


# ------------------------------------------------------------------------------------------
# Outside China and the border
# ------------------------------------------------------------------------------------------

OUTSIDE = [(2.35, 48.85), (-74.0, 40.7), (151.2, -33.9), (-0.13, 51.5), (37.6, 55.75)]


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE)
def test_outside_china_unchanged_for_gcj(lon: float, lat: float) -> None:
    assert not in_china(lon, lat)
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        assert float(out_lon) == lon
        assert float(out_lat) == lat


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE)
def test_outside_china_bd_offset_still_applies(lon: float, lat: float) -> None:
    bd_lon, bd_lat = wgs84_to_bd09(lon, lat)
    assert 300.0 < haversine_m(lon, lat, bd_lon, bd_lat) < 1500.0
    back_lon, back_lat = bd09_to_wgs84(bd_lon, bd_lat)
    assert haversine_m(lon, lat, back_lon, back_lat) <= INVERSE_TOLERANCE_M


def test_in_china_rectangle_edges() -> None:
    assert in_china(116.4, 39.9)
    assert in_china(crs.CHINA_LON_MIN, 40.0)
    assert not in_china(crs.CHINA_LON_MIN - 1e-9, 40.0)
    assert not in_china(crs.CHINA_LON_MAX + 1e-9, 40.0)
    assert not in_china(100.0, crs.CHINA_LAT_MIN - 1e-9)
    assert not in_china(100.0, crs.CHINA_LAT_MAX + 1e-9)
    assert in_china([100.0, 0.0], [30.0, 30.0]).tolist() == [True, False]


def _border_points() -> tuple[np.ndarray, np.ndarray]:
    deltas = np.array([-0.01, -0.003, -1e-4, 1e-4, 5e-4, 0.003, 0.006, 0.01])
    lons = [crs.CHINA_LON_MIN + deltas, crs.CHINA_LON_MAX + deltas]
    lats = [np.full(deltas.size, 40.0)] * 2
    lons += [np.full(deltas.size, 100.0)] * 2
    lats += [crs.CHINA_LAT_MIN + deltas, crs.CHINA_LAT_MAX + deltas]
    return np.concatenate([[72.0045], *lons]), np.concatenate([[40.0], *lats])


@pytest.mark.parametrize("func", [gcj02_to_wgs84, bd09_to_wgs84, bd09_to_gcj02])
def test_inverse_at_border_returns_within_cap(func) -> None:
    lon, lat = _border_points()
    start = time.perf_counter()
    out_lon, out_lat, n_iter = func(lon, lat, return_iterations=True)
    assert time.perf_counter() - start < 5.0
    assert 0 <= n_iter <= INVERSE_MAX_ITERATIONS
    assert np.isfinite(out_lon).all()
    assert np.isfinite(out_lat).all()
    # Whatever happens at the discontinuity, the result stays near the input.
    assert haversine_m(lon, lat, out_lon, out_lat).max() < 2000.0


def test_border_point_without_preimage_hits_cap_and_returns_best_iterate() -> None:
    # GCJ-02 (72.0045, 40.0): WGS points just inside the west edge are shifted east by ~360 m,
    # points outside are not shifted, so no WGS-84 point maps exactly here.
    lon, lat, n_iter = gcj02_to_wgs84(72.0045, 40.0, return_iterations=True)
    assert n_iter == INVERSE_MAX_ITERATIONS
    residual = haversine_m(*wgs84_to_gcj02(lon, lat), 72.0045, 40.0)
    # The returned point is the best iterate: no worse than the one-step start point.
    f_lon, f_lat = wgs84_to_gcj02(72.0045, 40.0)
    start_lon, start_lat = 2 * 72.0045 - f_lon, 2 * 40.0 - f_lat
    start_residual = haversine_m(*wgs84_to_gcj02(start_lon, start_lat), 72.0045, 40.0)
    assert residual <= start_residual
    assert residual < 1000.0


def test_border_points_do_not_spoil_converged_points(china_points) -> None:
    lon, lat = china_points
    border_lon, border_lat = _border_points()
    all_lon = np.concatenate([lon[:1000], border_lon])
    all_lat = np.concatenate([lat[:1000], border_lat])
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(all_lon, all_lat))
    assert haversine_m(all_lon[:1000], all_lat[:1000], back_lon[:1000], back_lat[:1000]).max() <= (
        INVERSE_TOLERANCE_M
    )


# ------------------------------------------------------------------------------------------
# Shapes, NaN, inputs
# ------------------------------------------------------------------------------------------

ALL_FUNCS = [
    wgs84_to_gcj02,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    bd09_to_wgs84,
    gcj02_to_bd09,
    bd09_to_gcj02,
]


@pytest.mark.parametrize("func", ALL_FUNCS)
def test_scalar_in_gives_0d_arrays(func) -> None:
    lon, lat = func(116.404, 39.915)
    for value in (lon, lat):
        assert isinstance(value, np.ndarray)
        assert value.shape == ()
        assert value.dtype == np.float64


@pytest.mark.parametrize("func", ALL_FUNCS)
def test_shapes_preserved_and_broadcast(func) -> None:
    lon = np.linspace(100.0, 120.0, 12).reshape(3, 4)
    lat = np.linspace(25.0, 40.0, 12).reshape(3, 4)
    out_lon, out_lat = func(lon, lat)
    assert out_lon.shape == (3, 4)
    assert out_lat.shape == (3, 4)
    flat_lon, flat_lat = func(lon.ravel(), lat.ravel())
    np.testing.assert_array_equal(out_lon.ravel(), flat_lon)
    np.testing.assert_array_equal(out_lat.ravel(), flat_lat)
    # Lists are accepted; a scalar latitude broadcasts against a longitude array.
    list_lon, _ = func([100.0, 110.0], [30.0, 30.0])
    bc_lon, bc_lat = func(np.array([100.0, 110.0]), 30.0)
    assert bc_lat.shape == (2,)
    np.testing.assert_array_equal(list_lon, bc_lon)


@pytest.mark.parametrize("func", ALL_FUNCS)
def test_nan_in_nan_out_without_warnings(func) -> None:
    lon = np.array([116.4, np.nan, 116.4, np.nan])
    lat = np.array([39.9, 39.9, np.nan, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out_lon, out_lat = func(lon, lat)
    assert np.isfinite(out_lon[0])
    assert np.isfinite(out_lat[0])
    assert np.isnan(out_lon[1:]).all()
    assert np.isnan(out_lat[1:]).all()


@pytest.mark.parametrize("func", ALL_FUNCS)
def test_inputs_not_modified(func) -> None:
    lon = np.array([116.4, 2.35])
    lat = np.array([39.9, 48.85])
    func(lon, lat)
    np.testing.assert_array_equal(lon, [116.4, 2.35])
    np.testing.assert_array_equal(lat, [39.9, 48.85])


# ------------------------------------------------------------------------------------------
# Offset magnitudes
# ------------------------------------------------------------------------------------------


def test_gcj_offset_magnitude(china_points) -> None:
    lon, lat = china_points
    offset = haversine_m(lon, lat, *wgs84_to_gcj02(lon, lat))
    # Over the whole 73-135 E, 18-53 N rectangle this formula gives about 20-700 m (the minimum
    # is in the Qaidam basin, Qinghai); over the populated east 100-700 m.
    assert offset.min() > 10.0
    assert offset.max() < 720.0
    assert 350.0 < np.median(offset) < 500.0
    east = (lon >= 102) & (lon <= 122) & (lat >= 22) & (lat <= 41)
    assert offset[east].min() > 100.0
    assert offset[east].max() < 700.0


def test_bd_offset_magnitude(china_points) -> None:
    lon, lat = china_points
    offset = haversine_m(lon, lat, *wgs84_to_bd09(lon, lat))
    assert offset.min() > 600.0
    assert offset.max() < 1600.0
    assert 900.0 < np.median(offset) < 1400.0


# ------------------------------------------------------------------------------------------
# Declared systems
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wgs84", "wgs84"),
        ("WGS84", "wgs84"),
        ("WGS-84", "wgs84"),
        ("  wgs 84 ", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("cgcs2000", "cgcs2000"),
        ("CGCS2000", "cgcs2000"),
        ("EPSG:4490", "cgcs2000"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("gcj", "gcj02"),
        ("AMap", "gcj02"),
        ("高德", "gcj02"),
        ("火星坐标", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("Baidu", "bd09"),
        ("百度", "bd09"),
        ("EPSG:32650", "EPSG:32650"),
        ("epsg:3857", "EPSG:3857"),
        ("EPSG:4547", "EPSG:4547"),
    ],
)
def test_parse_system_accepted(text: str, expected: str) -> None:
    assert parse_system(text) == expected


@pytest.mark.parametrize("bad", ["utm", "", "gcj-03", "EPSG:999999", "4326", "bd11"])
def test_parse_system_rejects_with_helpful_message(bad: str) -> None:
    with pytest.raises(ValueError, match="accepted") as info:
        parse_system(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "\n" not in message
    for name in ("wgs84", "cgcs2000", "gcj02", "bd09", "EPSG:"):
        assert name in message


def test_parse_system_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="string"):
        parse_system(4326)  # type: ignore[arg-type]


def test_to_wgs84_dispatch() -> None:
    lon = np.array([116.404, 121.47])
    lat = np.array([39.915, 31.23])
    for system in ("wgs84", "cgcs2000", "EPSG:4490"):
        out_lon, out_lat = to_wgs84(lon, lat, system)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)
        assert out_lon is not lon
    np.testing.assert_array_equal(to_wgs84(lon, lat, "高德")[0], gcj02_to_wgs84(lon, lat)[0])
    np.testing.assert_array_equal(to_wgs84(lon, lat, "BD-09")[1], bd09_to_wgs84(lon, lat)[1])


def test_to_wgs84_epsg_via_pyproj() -> None:
    lon = np.array([116.404, 117.2])
    lat = np.array([39.915, 28.3])
    fwd = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    x, y = fwd.transform(lon, lat)
    out_lon, out_lat = to_wgs84(x, y, "epsg:32650")
    np.testing.assert_allclose(out_lon, lon, atol=1e-9)
    np.testing.assert_allclose(out_lat, lat, atol=1e-9)
    scalar_lon, _ = to_wgs84(x[0], y[0], "EPSG:32650")
    assert scalar_lon.shape == ()


def test_to_wgs84_bad_system() -> None:
    with pytest.raises(ValueError, match="'mars'"):
        to_wgs84([1.0], [2.0], "mars")


def test_describe_conversion() -> None:
    assert describe_conversion("GCJ-02") == "GCJ-02 → WGS-84 (iterative inverse, ≤ 1 cm)"
    assert describe_conversion("baidu").startswith("BD-09 → WGS-84")
    assert "no conversion" in describe_conversion("wgs84")
    assert "CGCS2000" in describe_conversion("EPSG:4490")
    assert "UTM zone 50N" in describe_conversion("EPSG:32650")


# ------------------------------------------------------------------------------------------
# Study CRS
# ------------------------------------------------------------------------------------------


def test_study_crs_beijing() -> None:
    lon = [116.30, 116.40, 116.50, np.nan]
    lat = [39.85, 39.90, 40.00, 40.0]
    assert study_crs(lon, lat).to_epsg() == 32650


def test_study_crs_guixi() -> None:
    assert study_crs(117.2, 28.3).to_epsg() == 32650


def test_study_crs_southern_hemisphere() -> None:
    assert study_crs([151.2, 151.3], [-33.9, -33.8]).to_epsg() == 32756
    assert study_crs(-47.9, -15.8).to_epsg() == 32723


def test_study_crs_is_projected_metric() -> None:
    result = study_crs(121.47, 31.23)
    assert result.is_projected
    assert result.axis_info[0].unit_name == "metre"
    assert result.to_epsg() == 32651


def test_study_crs_errors() -> None:
    with pytest.raises(ValueError, match="finite"):
        study_crs([np.nan], [np.nan])
    with pytest.raises(ValueError, match="WGS-84"):
        study_crs([500000.0], [4400000.0])
