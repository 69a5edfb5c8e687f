"""The commented ``project.toml`` that ``coverage init DIR`` writes.

:data:`TEMPLATE` names every setting of a project file (:mod:`coverage.io.project`) with its
default and a comment in Chinese and English; :func:`write_template` writes it into a folder.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROJECT_FILE", "TEMPLATE", "write_template"]

PROJECT_FILE = "project.toml"
"""The project file's name inside a project folder."""

TEMPLATE = """\
# coverage 项目文件 / project file
# 路径相对于本文件 / paths are relative to this file.
# 坐标系 crs: wgs84 | cgcs2000 | gcj02 (高德/腾讯 Amap, Tencent) | bd09 (百度 Baidu) | "EPSG:nnnn"
# 编码 encoding (CSV): auto (UTF-8, then GB18030) | utf-8 | gb18030
# 字段映射 columns: 规范字段名 = "文件中的表头" / field = "header in your file", only where the
# header is not recognised automatically (see docs/data.md for the recognised Chinese headers).

[project]
name = "我的城市 My city"
study_crs = "auto"        # 自动选择 UTM 投影 / automatic UTM zone; or e.g. "EPSG:32650"
language = "zh"           # 报告语言 / report language: zh | en

[layers.migrants]         # 流动人口 (必需 / required)
path = "migrants.csv"
crs = "gcj02"
encoding = "auto"
# [layers.migrants.columns]
# person_id = "人员编号"

[layers.sites]            # 服务网点 (必需 / required)
path = "sites.xlsx"
crs = "gcj02"
# table = "schema.sites"  # 或读取数据库表 / or a PostGIS table of [store] url, instead of path
# sheet = "Sheet1"
# header_row = 1          # 表头所在行 / row holding the headers

[layers.communities]      # 社区边界 (必需 / required)
path = "communities.gpkg"
crs = "wgs84"
# layer = "communities"
# repair = false          # 修复无效多边形并记录面积变化 / repair, logging the area change

[layers.network]          # 路网 (必需 / required): OSM .osm/.pbf, GraphML or OSMnx GeoPackage
path = "network.gpkg"
crs = "wgs84"

# [layers.registered_points]   # 户籍人口分布点 (可选 / optional)
# path = "registered_points.gpkg"
# crs = "wgs84"

# [layers.candidates]          # 候选网点 (可选 / optional)
# path = "candidates.csv"
# crs = "gcj02"

# [layers.budgets]             # 各区计划生育经费 (可选 / optional): 区、年度、户籍人口经费、
# path = "budgets.csv"         # 流动人口经费 (元) / district, year, budgets (yuan); no crs

[parameters]
speeds_kmh = { walk = 4.5, ebike = 15.0 }   # 步行与电动自行车速度 / travel speeds
thresholds_min = [5, 10, 15]                # 生活圈时间阈值 / life-circle thresholds (minutes)
max_snap_m = 500                            # 点到道路的最大距离 / farthest snap to a road
study_area_tolerance_m = 500                # 研究区外容差 / tolerance outside the communities

[parameters.staffing]
# 配置标准 / staffing standard: district_registered_ratio (同区户籍人口配比, 默认 default),
# city_registered_ratio, or staff per 1,000 people as a number
standard = "district_registered_ratio"
rate_min_population = 100    # 少于此人数不发布每千人人员比 / no staff ratio on fewer people
max_new_staff_per_site = 4   # 每个网点最多新增人员 / most new staff one site is given

# [parameters.funding]    # 经费 / funding (with a budgets layer)
# 同等投入标准 / standard: district_registered_per_capita (本区户籍人口人均经费, 默认 default),
# city_registered_per_capita, or yuan per person per year as a number
# standard = "district_registered_per_capita"
# year = 2025                   # 经费年度 / budget year; default the latest of the layer
# 单价为示意值，请按本市实际填写 / placeholders: set your city's own costs
# site_cost_yuan = 200000       # 新增服务点一次性费用 / one-off cost of a new service point
# staff_cost_yuan_per_year = 60000   # 新增人员年人均费用 / one staff member a year

[parameters.targets]      # 规划目标 / the plan's targets
policy_awareness = 0.90       # 政策知晓率
free_service_local = 0.95     # 流入地接受免费服务比例
pregnancy_check = 0.90        # 孕检率
contraceptive_access = 0.90   # 免费药具获得率
prepregnancy_consult = 0.80   # 孕前优生咨询服务率
community_management = 1.00   # 社区服务管理落实率
rh_checks_per_year = 2        # 生殖保健检查次数/年

# 考核评估 / the district scorecard (docs/assessment.md): indicators policy_awareness,
# free_service_local, pregnancy_check, contraceptive_access, prepregnancy_consult, rh_checks,
# community_management, coverage, staffing, migrant_gap, funding; defaults from the plan
# [assessment.indicators.coverage]   # 覆盖全部流动人口 / all migrants within the life circle
# target = 1.0          # 目标 / target (the plan's indicators: [parameters.targets])
# weight = 10           # 权重, 相对值 / relative weight (every default is 10)
# rule = "ratio"        # 计分规则 / scoring rule: ratio | threshold | gap
# [assessment.indicators.staffing]   # 人员缺编占标准的比例 / shortfall share of the standard
# rule = "gap"
# tolerance = 1.0       # 差距达此值得 0 分 / the distance from the target scoring nothing

[privacy]
min_cell = 10                 # 发布的最小单元人数 / smallest published cell
salt_file = ".coverage-salt"  # 身份证号哈希密钥 / key for hashing ID numbers (keep it private)

[outputs]
dir = "results"

# [store]                 # 共享数据库 / a shared PostGIS database (docs/store.md); default: dir
# url = "postgresql://planner@db-server/coverage"   # 密码放 ~/.pgpass / password in ~/.pgpass
# schema = "coverage"
"""


def write_template(folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write a commented ``project.toml`` template into ``folder`` and return its path.

    Raises
    ------
    FileExistsError
        When the folder already has a project file and ``overwrite`` is false.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / PROJECT_FILE
    if target.exists() and not overwrite:
        msg = f"{target} already exists; pass --force to overwrite it"
        raise FileExistsError(msg)
    target.write_text(TEMPLATE, encoding="utf-8")
    return target
