"""Each row's district for the PostGIS store's district-level access: by its district column
(the city's total row and unknown names left to the city), its community, an indicator's level
and unit, or the community holding a point of its shape (in another CRS, missing or empty
shapes); shared and person-level layers by table."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, Polygon, box

from coverage.store.districts import PERSON_LAYER, layer_access, row_districts


def _communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"community_id": ["c1", "c2", "c3"], "district": ["东城区", "万江区",
                                                                          None]},
                            geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000),
                                      box(0, 1000, 1000, 2000)], crs=32649)


def test_rows_take_the_first_rule_that_places_them():
    shapes = gpd.GeoSeries([box(100, 100, 300, 300), None, Polygon(), box(1200, 200, 1400, 400),
                            box(5000, 5000, 6000, 6000), box(100, 1100, 200, 1200)], crs=32649)
    layers = {
        "community_summary": _communities(),
        "district_summary": pd.DataFrame({"level": ["district", "district", "city"],
                                          "district": ["万江区", "南城区", "全市"]}),
        "sites": pd.DataFrame({"community_id": ["c2", "c9", None, "c1"]}),
        "indicators": pd.DataFrame({"level": ["city", "district", "community", "community"],
                                    "unit": ["city", "东城区", "c2", "c3"]}),
        "commute_flows": pd.DataFrame({"home_district": ["万江区"], "work_district": ["东城区"],
                                       "home_community_id": ["c1"]}),
        # in degrees: placed once brought to the communities' CRS
        "hotspots": gpd.GeoDataFrame({"v": range(6)}, geometry=shapes.to_crs(4326)),
        "inflow_trends": gpd.GeoDataFrame({"district": ["东城区", None]},
                                          geometry=[box(1200, 200, 1300, 300),
                                                    box(1200, 200, 1300, 300)], crs=32649),
        "data_quality": pd.DataFrame({"file": ["sites"], "rows": [3]}),
        "run_info": pd.DataFrame({"key": ["mode"], "value": ["walk"]}),
        PERSON_LAYER: pd.DataFrame({"district": ["东城区"]}),
    }
    got = {name: list(values) for name, values in row_districts(layers).items()}
    assert got["community_summary"] == ["东城区", "万江区", None]
    assert got["district_summary"] == ["万江区", None, None]  # no such district; the city's row
    assert got["sites"] == ["万江区", None, None, "东城区"]
    assert got["indicators"] == [None, "东城区", "万江区", None]
    assert got["commute_flows"] == ["万江区"]  # where its migrants live
    assert got["hotspots"] == ["东城区", None, None, "万江区", None, None]
    assert got["inflow_trends"] == ["东城区", "万江区"]  # its district first, then its shape
    assert got["data_quality"] == got["run_info"] == got[PERSON_LAYER] == [None]
    assert [layer_access(n) for n in ("run_info", PERSON_LAYER, "hotspots")] == [
        "shared", "private", "district"]


def test_ids_held_as_whole_floats_find_their_community():
    layers = {"community_summary": pd.DataFrame({"community_id": ["7", "8"],
                                                 "district": ["东城区", "万江区"]}),
              "sites": pd.DataFrame({"community_id": [8.0, None, 7.0]})}
    assert list(row_districts(layers)["sites"]) == ["万江区", None, "东城区"]


def test_without_communities_any_district_name_places_a_row():
    layers = {"district_summary": pd.DataFrame({"district": ["东城区", None, "  "]}),
              "points": gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=32649)}
    got = row_districts(layers)
    assert list(got["district_summary"]) == ["东城区", None, None]
    assert list(got["points"]) == [None]
