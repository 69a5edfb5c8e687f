"""Origin flows (hukou origin → residence) and home → work commuting corridors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from coverage.patterns import commute_flows, origin_flows, workplace_clusters
from coverage.patterns.origins import classify_origins, origin_status_counts
from coverage.reference import load_provinces, prefecture_names

CRS = "EPSG:32649"
X0, Y0 = 780_000.0, 2_546_000.0


def _communities() -> gpd.GeoDataFrame:
    """Three 1 km squares: C1 and C2 in district A, C3 in district B."""
    return gpd.GeoDataFrame(
        {
            "community_id": ["C1", "C2", "C3"],
            "name": ["一社区", "二社区", "三社区"],
            "district": ["甲区", "甲区", "乙区"],
        },
        geometry=[shapely.box(X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000) for i in range(3)],
        crs=CRS,
    )


def _migrants(rows: list[tuple[str, object, int]]) -> pd.DataFrame:
    """Expand (community, code, count) into one row per person."""
    community = [c for c, _, n in rows for _ in range(n)]
    code = [k for _, k, n in rows for _ in range(n)]
    return pd.DataFrame({"community_id": community, "hukou_code": pd.Series(code, dtype=object)})


# --------------------------------------------------------------------------------------------
# province table and codes


def test_province_table_has_all_34_divisions_inside_china() -> None:
    prov = load_provinces()
    assert len(prov) == 34
    assert prov["code"].is_unique
    assert prov["code"].str.fullmatch(r"\d{2}").all()
    assert {"11", "43", "44", "50", "65", "71", "81", "82"} <= set(prov["code"])
    assert prov["lon"].between(73.5, 135.1).all()
    assert prov["lat"].between(18.1, 53.6).all()
    assert prov[["name_zh", "name_en", "short_zh"]].notna().all().all()
    hunan = prov.set_index("code").loc["43"]
    assert hunan["name_zh"] == "湖南省"
    assert abs(hunan["lon"] - 112.94) < 0.1
    assert abs(hunan["lat"] - 28.23) < 0.1


def test_prefecture_names_come_from_the_reference_table() -> None:
    names = prefecture_names()
    assert names["4301"] == "长沙市"
    assert names["4331"] == "湘西土家族苗族自治州"
    assert names["5002"] == "县"


def test_classify_origins_raw_strings() -> None:
    codes = pd.Series(
        ["430100", " 450900 ", "", None, "43010", "abc", "990100", "440000", "4301001", "500235"],
        index=list("abcdefghij"),
        dtype=object,
    )
    out = classify_origins(codes)
    assert list(out.index) == list("abcdefghij")
    assert out["origin_status"].tolist() == [
        "known", "known", "unknown", "unknown", "malformed", "malformed", "malformed", "known",
        "malformed", "known",
    ]  # fmt: skip
    assert out["province_code"].tolist()[:2] == ["43", "45"]
    assert out["province_code"].tolist()[7] == "44"
    assert out["prefecture_code"].tolist()[0] == "4301"
    assert pd.isna(out["prefecture_code"].iloc[7])  # 440000 names only the province
    assert out["prefecture_code"].iloc[9] == "5002"
    assert out.loc[["c", "d", "e", "f", "g", "i"], "province_code"].isna().all()
    counts = origin_status_counts(codes)
    assert counts.to_dict() == {"known": 4, "unknown": 2, "malformed": 4}


def test_classify_origins_numbers() -> None:
    out = classify_origins(pd.Series([430100.0, np.nan, 4.5]))
    assert out["origin_status"].tolist() == ["known", "unknown", "malformed"]
    out = classify_origins(pd.Series([430100, 441900], dtype="Int64"))
    assert out["prefecture_code"].tolist() == ["4301", "4419"]


# --------------------------------------------------------------------------------------------
# origin flows on a hand-made table


def test_origin_flows_hand_made_counts_are_exact() -> None:
    migrants = _migrants(
        [
            ("C1", "430100", 12),
            ("C1", "430500", 3),
            ("C2", "430100", 20),
            ("C2", "450900", 15),
            ("C3", "450900", 9),
            ("C3", "440000", 11),
            ("C3", "", 4),
            ("C1", "43x100", 2),
            ("C2", "990100", 1),
            ("ZZ", "510100", 5),  # community not in the table
        ]
    )
    flows = origin_flows(migrants, _communities(), min_cell=10)
    assert flows.attrs["origin_status_counts"] == {"known": 75, "unknown": 4, "malformed": 3}
    known = flows[flows["origin_status"] == "known"]
    for _, rows in known.groupby(["origin_level", "dest_level"]):
        assert rows["migrants"].sum() == 75
    for _, rows in flows.groupby(["origin_level", "dest_level"]):
        assert rows["migrants"].sum() == len(migrants)

    pd_ = known[(known.origin_level == "province") & (known.dest_level == "district")]
    got = {
        (r.province_code, None if pd.isna(r.district) else r.district): r.migrants
        for r in pd_.itertuples()
    }
    assert got == {
        ("43", "甲区"): 35, ("45", "甲区"): 15, ("45", "乙区"): 9, ("44", "乙区"): 11,
        ("51", None): 5,
    }  # fmt: skip
    hunan = pd_[(pd_.province_code == "43")].iloc[0]
    assert hunan["origin_name_zh"] == "湖南省"
    assert hunan["share"] == pytest.approx(35 / 50)
    assert not hunan["suppressed"]
    assert hunan.geometry.geom_type == "LineString"
    assert bool(
        pd_.loc[pd_.province_code == "45"].query("district == '乙区'")["suppressed"].iloc[0]
    )

    pref = known[(known.origin_level == "prefecture") & (known.dest_level == "community")]
    c1 = pref[pref.community_id == "C1"].set_index("origin_code")["migrants"].to_dict()
    assert c1 == {"4301": 12, "4305": 3}
    guangdong = pref[pref.province_code == "44"].iloc[0]
    assert pd.isna(guangdong["prefecture_code"])
    assert guangdong["origin_code"] == "44"
    assert pref[pref.origin_code == "4301"]["origin_name_zh"].iloc[0] == "湖南省长沙市"

    other = flows[(flows.origin_level == "province") & (flows.dest_level == "community")]
    unknown = other[other.origin_status == "unknown"]
    assert unknown[["community_id", "migrants"]].values.tolist() == [["C3", 4]]
    malformed = other[other.origin_status == "malformed"].set_index("community_id")["migrants"]
    assert malformed.to_dict() == {"C1": 2, "C2": 1}
    assert other[other.origin_status != "known"].geometry.isna().all()
    assert "person_id" not in flows.columns


def test_origin_flows_wgs84_lines_end_at_the_capital() -> None:
    migrants = _migrants([("C1", "430100", 12)])
    flows = origin_flows(
        migrants, _communities(), crs=4326, origin_levels=("province",), dest_levels=("district",)
    )
    line = flows.geometry.iloc[0]
    x, y = shapely.get_coordinates(line)[0]
    assert (x, y) == pytest.approx((112.94, 28.23), abs=1e-6)
    assert flows.crs.to_epsg() == 4326


def test_origin_flows_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="origin_levels"):
        origin_flows(_migrants([("C1", "430100", 1)]), _communities(), origin_levels=("city",))
    with pytest.raises(ValueError, match="hukou_code"):
        origin_flows(pd.DataFrame({"community_id": ["C1"]}), _communities())


# --------------------------------------------------------------------------------------------
# commuting


def _planted_od(seed: int = 0) -> tuple[gpd.GeoDataFrame, dict[str, tuple[float, ...]]]:
    """Two planted corridors (300 and 180 people) in background noise."""
    rng = np.random.default_rng(seed)
    plants = {
        "a": (X0 + 1_250.0, Y0 + 1_000.0, X0 + 6_000.0, Y0 + 5_500.0, 300),  # crosses cell lines
        "b": (X0 + 8_200.0, Y0 + 2_300.0, X0 + 3_300.0, Y0 + 8_700.0, 180),
    }
    parts = []
    for hx, hy, wx, wy, n in plants.values():
        parts.append(
            np.column_stack(
                [
                    hx + rng.uniform(-150, 150, n),
                    hy + rng.uniform(-150, 150, n),
                    wx + rng.uniform(-150, 150, n),
                    wy + rng.uniform(-150, 150, n),
                ]
            )
        )
    noise = rng.uniform(0, 10_000, (3_000, 4)) + np.array([X0, Y0, X0, Y0])
    near = np.zeros(len(noise), dtype=bool)
    for hx, hy, wx, wy, _ in plants.values():
        near |= (
            (np.abs(noise[:, 0] - hx) < 2_000)
            & (np.abs(noise[:, 1] - hy) < 2_000)
            & (np.abs(noise[:, 2] - wx) < 2_000)
            & (np.abs(noise[:, 3] - wy) < 2_000)
        )
    od = np.vstack([*parts, noise[~near]])
    od = np.vstack([od, [[X0 + 500, Y0 + 500, np.nan, np.nan]] * 7])  # no workplace
    frame = gpd.GeoDataFrame(
        {
            "person_id": [f"P{i:06d}" for i in range(len(od))],
            "work_x": od[:, 2],
            "work_y": od[:, 3],
        },
        geometry=gpd.points_from_xy(od[:, 0], od[:, 1]),
        crs=CRS,
    )
    return frame, plants


def test_commute_flows_recovers_planted_corridors() -> None:
    migrants, plants = _planted_od()
    flows = commute_flows(migrants, cell_m=500.0, min_migrants=10)
    assert flows["migrants"].tolist()[:2] == [300, 180]
    assert flows["corridor_id"].tolist()[:2] == [1, 2]
    assert (flows["migrants"].iloc[2:] < 20).all()  # the rest is noise
    for row, (hx, hy, wx, wy, _) in zip(flows.head(2).itertuples(), plants.values(), strict=True):
        (x0, y0), (x1, y1) = shapely.get_coordinates(row.geometry)
        assert np.hypot(x0 - hx, y0 - hy) < 250
        assert np.hypot(x1 - wx, y1 - wy) < 250
        assert row.length_m == pytest.approx(np.hypot(wx - hx, wy - hy), abs=400)
    counts = flows.attrs["commute_counts"]
    assert counts["no_workplace"] == 7
    assert counts["commuters"] == len(migrants) - 7
    assert counts["in_corridors"] + counts["local"] + counts["small"] == counts["commuters"]
    assert set(flows.columns).isdisjoint({"person_id", "work_x", "work_y"})
    # no end of a corridor is a person's home or workplace
    ends = shapely.get_coordinates(flows.geometry.to_numpy())
    homes = shapely.get_coordinates(migrants.geometry.to_numpy())
    assert not np.isin(np.round(ends[:, 0], 3), np.round(homes[:, 0], 3)).any()
    top = commute_flows(migrants, top=1, min_migrants=10)
    assert len(top) == 1
    assert top.attrs["commute_counts"]["beyond_top"] >= 180


def test_commute_flows_suppression_flag_and_communities() -> None:
    migrants, _ = _planted_od(1)
    flows = commute_flows(migrants, min_migrants=1, communities=_communities())
    assert (flows["suppressed"] == (flows["migrants"] < 10)).all()
    assert flows["suppressed"].any()
    first = flows.iloc[0]
    assert first["home_district"] == "甲区"  # planted corridor a starts in C2
    assert first["home_community_id"] == "C2"
    assert pd.isna(first["work_district"])


def test_workplace_clusters_find_planted_workplaces() -> None:
    rng = np.random.default_rng(3)
    big = rng.normal([X0 + 2_000, Y0 + 2_000], 80, (400, 2))
    small = rng.normal([X0 + 7_000, Y0 + 7_000], 80, (150, 2))
    noise = rng.uniform(0, 10_000, (300, 2)) + np.array([X0, Y0])
    noise = noise[
        (np.hypot(*(noise - big.mean(0)).T) > 1_500)
        & (np.hypot(*(noise - small.mean(0)).T) > 1_500)
    ]
    work = np.vstack([big, small, noise])
    migrants = gpd.GeoDataFrame(
        {"work_x": work[:, 0], "work_y": work[:, 1]},
        geometry=gpd.points_from_xy(work[:, 0] - 300, work[:, 1]),
        crs=CRS,
    )
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2"], "kind": ["enterprise_association", "health_station"]},
        geometry=[shapely.Point(X0 + 2_000, Y0 + 2_500), shapely.Point(X0 + 7_000, Y0 + 7_100)],
        crs=CRS,
    )
    clusters = workplace_clusters(migrants, cell_m=250.0, min_migrants=50, sites=sites)
    assert clusters["migrants"].tolist() == [400, 150]
    assert clusters.attrs["workers"] == len(work)
    first, second = clusters.iloc[0], clusters.iloc[1]
    assert first.geometry.distance(shapely.Point(X0 + 2_000, Y0 + 2_000)) < 100
    assert first["nearest_site_id"] == "S1"
    assert first["nearest_site_m"] == pytest.approx(
        first.geometry.distance(sites.geometry[0]), abs=0.1
    )
    assert second["nearest_site_kind"] == "health_station"
    assert second["nearest_enterprise_association_m"] > 5_000
    assert not clusters["suppressed"].any()


def test_grid_errors() -> None:
    migrants, _ = _planted_od()
    with pytest.raises(ValueError, match="cell_m"):
        commute_flows(migrants, cell_m=0)
    with pytest.raises(ValueError, match="work_x"):
        workplace_clusters(migrants.drop(columns=["work_x"]))
