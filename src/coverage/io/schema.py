"""The data model: one schema per input layer.

Every layer the tool reads is described here once: its columns, their types, whether they are
required, the values a category may take, and the header names (Chinese and English) that are
recognised without any column mapping. ``docs/data.md`` documents the same tables for users; a
test keeps the two in step.

Column kinds
------------
``id``        text identifier, kept exactly as written (never parsed as a number)
``text``      free text, kept exactly (a cell starting with ``= + - @`` stays text)
``float``     a number (``int`` for whole numbers); optional ``minimum``
``bool``      yes / no: ``是 否 有 无 1 0 true false yes no y n``
``date``      a calendar date (``2024-03-01``, ``2024/3/1``, ``20240301``, Excel dates)
``category``  one of a fixed set of values; Chinese names are accepted and mapped
``code``      a GB/T 2260 six-digit administrative division code
``lon/lat``   a coordinate in the layer's declared coordinate system

A layer's ``geometry`` is ``point``, ``polygon`` or ``table`` (a plain table without places,
such as the districts' budgets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["id", "text", "float", "int", "bool", "date", "category", "code", "lon", "lat"]

#: Largest plausible staff of one service point or community (FTE): a city's largest
#: family-planning technical station has a few dozen.
MAX_SITE_STAFF = 1_000.0
#: Largest plausible registered population of one community or population point.
MAX_COMMUNITY_POP = 1_000_000.0


@dataclass(frozen=True)
class Column:
    """One column of a layer.

    Parameters
    ----------
    name
        Canonical (English, snake_case) name used throughout the library.
    kind
        Value kind; see the module docstring.
    required
        Whether a file must contain the column.
    aliases
        Other header names recognised automatically (Chinese first).
    values
        For categories: canonical value → accepted spellings (Chinese and English).
    minimum
        Smallest allowed number (inclusive) for numeric kinds.
    maximum
        Largest plausible number (inclusive): beyond it a value is a typo or a unit mistake
        (staff of 1e9), an error naming the range.
    personal
        Whether a value may identify a person; such values never appear in messages.
    doc
        English description; ``doc_zh`` the Chinese one.
    """

    name: str
    kind: Kind
    required: bool = False
    aliases: tuple[str, ...] = ()
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    minimum: float | None = None
    personal: bool = False
    maximum: float | None = None
    doc: str = ""
    doc_zh: str = ""


@dataclass(frozen=True)
class Layer:
    """A layer of the data model.

    Parameters
    ----------
    name
        Layer key used in ``project.toml`` (``migrants``, ``sites`` …).
    title_zh
        Chinese name of the layer.
    columns
        The columns, in documentation order.
    geometry
        ``point`` (longitude/latitude columns or a point geometry), ``polygon``, or ``table``
        (no places: the rows are read as they are and never placed in the study area).
    id_column
        The column whose values must be unique (``""``: none is; the budgets' rows are unique
        by district and year, checked by :mod:`coverage.io.budgets`).
    required
        Whether a project must declare the layer.
    personal
        Whether rows describe individual people (PIPL-sensitive).
    """

    name: str
    title_zh: str
    columns: tuple[Column, ...]
    geometry: Literal["point", "polygon", "table"]
    id_column: str
    required: bool = True
    personal: bool = False
    doc: str = ""

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        msg = f"layer {self.name!r} has no column {name!r}"
        raise KeyError(msg)

    @property
    def names(self) -> tuple[str, ...]:
        """Canonical column names in order."""
        return tuple(c.name for c in self.columns)


LON_ALIASES = ("经度", "lng", "long", "longitude", "x", "lon_gcj02", "lon_bd09", "东经")
LAT_ALIASES = ("纬度", "latitude", "y", "lat_gcj02", "lat_bd09", "北纬")

SEX = {
    "male": ("男", "m", "1", "男性"),
    "female": ("女", "f", "2", "女性"),
}
MARITAL = {
    "unmarried": ("未婚", "single", "never_married"),
    "married": ("已婚", "初婚", "再婚", "复婚", "有配偶"),
    "divorced": ("离婚", "离异"),
    "widowed": ("丧偶",),
}
SITE_KINDS = {
    "technical_station": ("计划生育技术服务站", "计生技术服务站", "技术服务站", "计划生育服务站"),
    "health_centre": ("社区卫生服务中心", "卫生服务中心", "health_center"),
    "health_station": ("社区卫生服务站", "卫生服务站"),
    "fp_room": ("社区计生服务室", "计生服务室", "计划生育服务室", "family_planning_room"),
    "migrant_centre": ("流动人口服务中心", "流动人口一站式服务中心", "migrant_center"),
    "enterprise_association": ("企业计生协会", "企业计划生育协会", "enterprise"),
}
SERVICES = {
    "advocacy": ("宣传倡导", "宣传"),
    "contraceptives": ("免费药具", "药具"),
    "pregnancy_check": ("孕情环情检查", "孕检", "环情检查"),
    "prepregnancy": ("孕前优生", "孕前优生咨询", "孕前优生健康检查"),
    "rh_check": ("生殖保健", "生殖健康检查", "生殖保健检查"),
    "rewards": ("奖励优待", "奖励"),
}


def _lonlat(prefix: str = "", zh: str = "", *, required: bool = True) -> tuple[Column, Column]:
    lon_alias = (f"{zh}经度",) if zh else LON_ALIASES
    lat_alias = (f"{zh}纬度",) if zh else LAT_ALIASES
    return (
        Column(
            f"{prefix}lon",
            "lon",
            required=required,
            aliases=lon_alias,
            doc=f"{'Workplace l' if prefix else 'L'}ongitude in the layer's coordinate system.",
            doc_zh=f"{zh or ''}经度（按图层声明的坐标系）",
        ),
        Column(
            f"{prefix}lat",
            "lat",
            required=required,
            aliases=lat_alias,
            doc=f"{'Workplace l' if prefix else 'L'}atitude in the layer's coordinate system.",
            doc_zh=f"{zh or ''}纬度（按图层声明的坐标系）",
        ),
    )


_RECORD_DOC = "Service record: {}; empty when unknown."

MIGRANTS = Layer(
    name="migrants",
    title_zh="流动人口",
    geometry="point",
    id_column="person_id",
    personal=True,
    doc="One row per migrant (floating-population member) at the place of residence.",
    columns=(
        Column(
            "person_id",
            "id",
            required=True,
            personal=True,
            aliases=("人员编号", "人员ID", "编号", "身份证号", "公民身份号码", "证件号码", "id"),
            doc="Unique person identifier. A national ID number (18 or 15 digits, however "
            "written) is replaced on load by a salted hash and never stored.",
            doc_zh="人员唯一编号；公民身份号码（18位或15位，无论写法）在读入时即替换为加盐哈希，"
            "不保存原值",
        ),
        *_lonlat(),
        Column(
            "community_id",
            "id",
            aliases=("社区编码", "社区代码", "社区编号", "居委会编码", "村居编码"),
            doc="Community of residence; must exist in the communities layer. Assigned from the "
            "polygons when absent.",
            doc_zh="居住社区编码，须见于社区图层；缺省时按社区边界自动归属",
        ),
        Column(
            "sex", "category", aliases=("性别",), values=SEX, personal=True, doc="Sex.",
            doc_zh="性别",
        ),
        Column(
            "birth_year",
            "int",
            aliases=("出生年份", "出生年"),
            minimum=1900,
            personal=True,
            doc="Year of birth.",
            doc_zh="出生年份",
        ),
        Column(
            "marital_status",
            "category",
            aliases=("婚姻状况", "婚姻状态"),
            values=MARITAL,
            personal=True,
            doc="Marital status.",
            doc_zh="婚姻状况",
        ),
        Column(
            "hukou_code",
            "code",
            aliases=("户籍地代码", "户籍地区划代码", "户籍地", "户籍所在地代码"),
            personal=True,
            doc="GB/T 2260 six-digit code of the place of household registration (origin).",
            doc_zh="户籍地行政区划代码（GB/T 2260，六位）",
        ),
        Column(
            "arrived_on",
            "date",
            aliases=("来本地日期", "到达日期", "流入日期", "登记日期"),
            personal=True,
            doc="Date of arrival in the city.",
            doc_zh="来本地日期",
        ),
        *_lonlat("work_", "工作地", required=False),
        Column(
            "has_marriage_cert",
            "bool",
            aliases=("婚育证明", "持婚育证明", "婚育证明持有"),
            personal=True,
            doc="Holds a marriage-and-childbearing certificate (婚育证明).",
            doc_zh="是否持有婚育证明",
        ),
        Column(
            "policy_aware",
            "bool",
            aliases=("政策知晓", "知晓政策"),
            personal=True,
            doc=_RECORD_DOC.format("knows the family-planning policy"),
            doc_zh="服务记录：是否知晓政策",
        ),
        Column(
            "free_service_local",
            "bool",
            aliases=("流入地免费服务", "本地免费服务", "接受免费服务"),
            personal=True,
            doc=_RECORD_DOC.format("received free services where they live"),
            doc_zh="服务记录：是否在流入地接受免费服务",
        ),
        Column(
            "pregnancy_check",
            "bool",
            aliases=("孕情环情检查", "孕检", "免费孕检"),
            personal=True,
            doc=_RECORD_DOC.format("free pregnancy / IUD check where they live (married women)"),
            doc_zh="服务记录：是否在流入地接受免费孕情环情检查（已婚育龄妇女）",
        ),
        Column(
            "contraceptive_access",
            "bool",
            aliases=("免费药具", "药具获得", "免费药具获得"),
            personal=True,
            doc=_RECORD_DOC.format("obtained free contraceptives"),
            doc_zh="服务记录：是否获得免费药具",
        ),
        Column(
            "prepregnancy_consult",
            "bool",
            aliases=("孕前优生咨询", "孕前优生", "孕前优生健康检查"),
            personal=True,
            doc=_RECORD_DOC.format("free pre-pregnancy eugenic consultation or check"),
            doc_zh="服务记录：是否接受孕前优生咨询/检查",
        ),
        Column(
            "recorded_on",
            "date",
            aliases=("服务日期", "记录日期", "随访日期", "服务记录日期"),
            personal=True,
            doc="Date of the service record (the latest visit); when given, the plan's "
            "indicators are also reported by quarter.",
            doc_zh="服务记录日期（最近一次随访）；填写后规划指标另按季度统计",
        ),
        Column(
            "rh_checks_year",
            "int",
            aliases=("生殖保健检查次数", "生殖健康检查次数", "年度生殖保健检查"),
            minimum=0,
            maximum=52,
            personal=True,
            doc=_RECORD_DOC.format("reproductive-health checks received this year"),
            doc_zh="服务记录：本年度生殖保健检查次数",
        ),
    ),
)

SITES = Layer(
    name="sites",
    title_zh="服务网点",
    geometry="point",
    id_column="site_id",
    doc="Existing service points with their staff.",
    columns=(
        Column(
            "site_id",
            "id",
            required=True,
            aliases=("站点编码", "网点编码", "机构编码", "编号", "id"),
            doc="Unique site identifier.",
            doc_zh="网点唯一编码",
        ),
        Column(
            "name", "text", required=True, aliases=("名称", "机构名称", "网点名称", "站点名称"),
            doc="Name.", doc_zh="名称",
        ),
        Column(
            "kind",
            "category",
            required=True,
            aliases=("类型", "机构类型", "网点类型"),
            values=SITE_KINDS,
            doc="Kind of service point.",
            doc_zh="网点类型",
        ),
        *_lonlat(),
        Column(
            "staff",
            "float",
            required=True,
            minimum=0,
            maximum=MAX_SITE_STAFF,
            aliases=("人员", "工作人员", "人员数", "在岗人员", "编制人数", "专干人数"),
            doc="Staff in full-time equivalents (FTE ≥ 0).",
            doc_zh="在岗工作人员（折合全职，≥0）",
        ),
        Column(
            "services",
            "text",
            aliases=("服务项目", "服务内容"),
            doc="Services offered, separated by ; or 、 (advocacy, contraceptives, "
            "pregnancy_check, prepregnancy, rh_check, rewards or their Chinese names); "
            "empty means all.",
            doc_zh="提供的服务项目，以“;”或“、”分隔；空表示全部",
        ),
        Column(
            "opening_hours", "text", aliases=("开放时间", "服务时间"),
            doc="Opening hours as free text.", doc_zh="开放时间",
        ),
    ),
)

COMMUNITIES = Layer(
    name="communities",
    title_zh="社区",
    geometry="polygon",
    id_column="community_id",
    doc="Community (社区 / 村居委会) boundaries with registered population.",
    columns=(
        Column(
            "community_id",
            "id",
            required=True,
            aliases=("社区编码", "社区代码", "社区编号", "村居编码"),
            doc="Unique community identifier.",
            doc_zh="社区编码",
        ),
        Column("name", "text", required=True, aliases=("社区名称", "名称"), doc="Name.",
               doc_zh="社区名称"),
        Column(
            "district", "text", required=True, aliases=("区县", "所属区", "区", "县区"),
            doc="District (区/县).", doc_zh="所属区县",
        ),
        Column("street", "text", aliases=("街道", "街道办事处", "乡镇街道"),
               doc="Street office (街道).", doc_zh="所属街道"),
        Column(
            "registered_pop",
            "int",
            required=True,
            minimum=0,
            maximum=MAX_COMMUNITY_POP,
            aliases=("户籍人口", "户籍人口数"),
            doc="Registered (hukou) residents.",
            doc_zh="户籍人口数",
        ),
        Column(
            "fp_staff",
            "float",
            minimum=0,
            maximum=MAX_SITE_STAFF,
            aliases=("社区计生专干", "计生专干", "计生专干人数"),
            doc="Community family-planning staff (社区计生专干), FTE.",
            doc_zh="社区计生专干人数（折合全职）",
        ),
    ),
)

REGISTERED_POINTS = Layer(
    name="registered_points",
    title_zh="户籍人口分布点",
    geometry="point",
    id_column="point_id",
    required=False,
    doc="Population-weighted points for registered residents (e.g. residential buildings).",
    columns=(
        Column("point_id", "id", required=True, aliases=("编号", "楼栋编码", "id"),
               doc="Unique point identifier.", doc_zh="编号"),
        *_lonlat(),
        Column("population", "float", required=True, minimum=0, maximum=MAX_COMMUNITY_POP,
               aliases=("人口", "户籍人口", "人数"),
               doc="Registered residents represented by the point.", doc_zh="代表的户籍人口数"),
        Column("community_id", "id", aliases=("社区编码", "社区代码"),
               doc="Community; assigned from the polygons when absent.", doc_zh="所属社区编码"),
    ),
)

CANDIDATES = Layer(
    name="candidates",
    title_zh="候选网点",
    geometry="point",
    id_column="candidate_id",
    required=False,
    doc="Possible locations for new service points (e.g. vacant community rooms).",
    columns=(
        Column("candidate_id", "id", required=True, aliases=("候选编码", "编号", "id"),
               doc="Unique candidate identifier.", doc_zh="候选点编码"),
        Column("name", "text", aliases=("名称", "地址"), doc="Name or address.",
               doc_zh="名称或地址"),
        *_lonlat(),
        Column("max_staff", "float", minimum=0, maximum=MAX_SITE_STAFF,
               aliases=("最大人员", "可容纳人员"),
               doc="Most staff the place can hold (FTE); empty means no limit.",
               doc_zh="可容纳的最大人员数"),
    ),
)

#: Largest plausible family-planning budget of one district and year (yuan): ten billion.
MAX_BUDGET_YUAN = 1e10

BUDGETS = Layer(
    name="budgets",
    title_zh="计划生育经费",
    geometry="table",
    id_column="",
    required=False,
    doc="The family-planning budget of each district and year, for registered residents and "
    "for migrants (yuan).",
    columns=(
        Column("district", "text", required=True, aliases=("区", "区县", "所属区", "县区"),
               doc="District (区/县), as named in the communities layer.", doc_zh="区县"),
        Column("year", "int", required=True, minimum=1949, maximum=2100,
               aliases=("年度", "年份", "预算年度"), doc="Budget year.", doc_zh="预算年度"),
        Column("budget_registered", "float", required=True, minimum=0,
               maximum=MAX_BUDGET_YUAN,
               aliases=("户籍人口经费", "户籍人口计生经费", "户籍人口计划生育经费"),
               doc="Family-planning budget for registered residents, yuan.",
               doc_zh="户籍人口计划生育经费（元）"),
        Column("budget_migrant", "float", required=True, minimum=0,
               maximum=MAX_BUDGET_YUAN,
               aliases=("流动人口经费", "流动人口计生经费", "流动人口计划生育经费"),
               doc="Family-planning budget for migrants, yuan.",
               doc_zh="流动人口计划生育经费（元）"),
    ),
)

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (MIGRANTS, SITES, COMMUNITIES, REGISTERED_POINTS, CANDIDATES, BUDGETS)
}
"""Table layers by name. The road network is a file layer read by :mod:`coverage.network`."""

BOOL_TRUE = ("是", "有", "1", "true", "yes", "y", "t", "已", "√")
BOOL_FALSE = ("否", "无", "0", "false", "no", "n", "f", "未", "×")


def category_lookup(column: Column) -> dict[str, str]:
    """Map every accepted spelling (case-folded) of a category column to its canonical value.

    Parameters
    ----------
    column
        A ``category`` column.

    Returns
    -------
    dict
        Spelling → canonical value; canonical values map to themselves.
    """
    lookup: dict[str, str] = {}
    for canonical, spellings in column.values.items():
        lookup[canonical.casefold()] = canonical
        for spelling in spellings:
            lookup[spelling.casefold()] = canonical
    return lookup
