"""Builders of projects that hold only some of the optional columns and layers.

A planner's data rarely has every column of the data model. These builders cut the small demo
city down to the required columns plus any chosen optional ones (and optional layers), so that
tests can run every command on the inputs a real office has, not only on the demo's full schema.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd

#: Headers of the demo city's files: required ones, then the optional ones by canonical name.
MIGRANTS_REQUIRED = ("人员编号", "经度", "纬度")
MIGRANTS_OPTIONAL = {
    "community_id": ("社区编码",), "sex": ("性别",), "birth_year": ("出生年份",),
    "marital_status": ("婚姻状况",), "hukou_code": ("户籍地代码",), "arrived_on": ("来本地日期",),
    "work": ("工作地经度", "工作地纬度"), "has_marriage_cert": ("婚育证明",),
    "policy_aware": ("政策知晓",), "free_service_local": ("流入地免费服务",),
    "pregnancy_check": ("孕情环情检查",), "contraceptive_access": ("免费药具",),
    "prepregnancy_consult": ("孕前优生咨询",), "recorded_on": ("服务日期",),
    "rh_checks_year": ("生殖保健检查次数",),
}
SITES_REQUIRED = ("站点编码", "名称", "类型", "经度", "纬度", "人员")
SITES_OPTIONAL = {"services": ("服务项目",), "opening_hours": ("开放时间",)}
COMMUNITIES_REQUIRED = ("community_id", "name", "district", "registered_pop", "geometry")
COMMUNITIES_OPTIONAL = {"street": ("street",), "fp_staff": ("fp_staff",)}
OPTIONAL_LAYERS = ("registered_points", "candidates", "budgets")

_TOML = """\
[project]
name = "部分字段项目 Partial project"

[layers.migrants]
path = "migrants.csv"
crs = "wgs84"

[layers.sites]
path = "sites.csv"
crs = "gcj02"

[layers.communities]
path = "communities.gpkg"
crs = "wgs84"

[layers.network]
path = "network.gpkg"
crs = "wgs84"
"""


def _headers(optional: dict[str, tuple[str, ...]], chosen: Iterable[str]) -> list[str]:
    return [h for name in chosen for h in optional[name]]


def partial_project(
    demo: Path,
    folder: Path,
    *,
    migrant_columns: Iterable[str] = (),
    site_columns: Iterable[str] = (),
    community_columns: Iterable[str] = (),
    layers: Iterable[str] = (),
    communities: int | None = None,
) -> Path:
    """Write a project from the demo city ``demo`` with only the chosen optional data.

    Parameters
    ----------
    demo
        Folder of a demo city (``coverage demo`` or ``build_demo``).
    folder
        Folder of the new project (created).
    migrant_columns, site_columns, community_columns
        Optional columns to keep, by the keys of :data:`MIGRANTS_OPTIONAL`,
        :data:`SITES_OPTIONAL` and :data:`COMMUNITIES_OPTIONAL`.
    layers
        Optional layers to keep (:data:`OPTIONAL_LAYERS`).
    communities
        Keep only the first this many communities (and the people and points in them), for
        faster runs; all when None.

    Returns
    -------
    pathlib.Path
        The new project's folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    comm = gpd.read_file(demo / "communities.gpkg")
    if communities is not None:
        comm = comm.iloc[:communities]
    keep_ids = set(comm["community_id"].astype(str))
    cols = [*COMMUNITIES_REQUIRED[:-1], *_headers(COMMUNITIES_OPTIONAL, community_columns),
            "geometry"]
    comm[cols].to_file(folder / "communities.gpkg", driver="GPKG")

    migrants = pd.read_csv(demo / "migrants.csv", dtype=str, encoding="utf-8-sig",
                           keep_default_na=False)
    migrants = migrants[migrants["社区编码"].isin(keep_ids)]
    migrants[[*MIGRANTS_REQUIRED, *_headers(MIGRANTS_OPTIONAL, migrant_columns)]].to_csv(
        folder / "migrants.csv", index=False, encoding="utf-8-sig")

    sites = pd.read_csv(demo / "sites.csv", dtype=str, encoding="gb18030", keep_default_na=False)
    if communities is not None:
        from coverage.crs import gcj02_to_wgs84

        lon, lat = gcj02_to_wgs84(sites["经度"].astype(float).to_numpy(),
                                  sites["纬度"].astype(float).to_numpy())
        points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(comm.crs)
        area = comm.geometry.union_all().buffer(0.003)
        sites = sites[points.within(area).to_numpy()]
    sites[[*SITES_REQUIRED, *_headers(SITES_OPTIONAL, site_columns)]].to_csv(
        folder / "sites.csv", index=False, encoding="gb18030")

    shutil.copyfile(demo / "network.gpkg", folder / "network.gpkg")
    toml = _TOML
    layers = list(layers)
    if "registered_points" in layers:
        reg = gpd.read_file(demo / "registered_points.gpkg")
        if communities is not None:
            reg = reg[reg["community_id"].astype(str).isin(keep_ids)]
        reg.to_file(folder / "registered_points.gpkg", driver="GPKG")
        toml += '\n[layers.registered_points]\npath = "registered_points.gpkg"\ncrs = "wgs84"\n'
    if "candidates" in layers:
        cand = gpd.read_file(demo / "candidates.geojson")
        if communities is not None:
            cand = cand[cand.within(comm.geometry.union_all().buffer(0.003)).to_numpy()]
        cand.to_file(folder / "candidates.geojson", driver="GeoJSON")
        toml += '\n[layers.candidates]\npath = "candidates.geojson"\ncrs = "wgs84"\n'
    if "budgets" in layers:
        budgets = pd.read_csv(demo / "budgets.csv", dtype=str, encoding="gb18030",
                              keep_default_na=False)
        budgets = budgets[budgets["区"].isin(set(comm["district"].astype(str)))]
        budgets.to_csv(folder / "budgets.csv", index=False, encoding="gb18030")
        toml += '\n[layers.budgets]\npath = "budgets.csv"\n'
    (folder / "project.toml").write_text(toml, encoding="utf-8")
    return folder
