"""Chinese names for the demo city: districts, street offices, places, roads.

All names are synthetic. District and street names borrow the flavour of Dongguan's place names,
but the demo's districts, streets and communities do not match any real boundary.
"""

from __future__ import annotations

import numpy as np

DISTRICTS: tuple[tuple[str, float | None], ...] = (
    ("莞城区", None),
    ("东城区", 0.0),
    ("石碣区", 90.0),
    ("万江区", 180.0),
    ("南城区", 270.0),
    ("寮步区", 45.0),
    ("厚街区", 225.0),
)
"""District names with their preferred bearing (degrees counter-clockwise from east) from the
city centre; ``None`` marks the central district."""

MORE_DISTRICTS: tuple[tuple[str, float], ...] = (
    ("虎门区", 135.0),
    ("长安区", 315.0),
    ("常平区", 22.5),
    ("塘厦区", 67.5),
    ("清溪区", 112.5),
    ("大朗区", 157.5),
    ("黄江区", 202.5),
    ("麻涌区", 247.5),
    ("中堂区", 292.5),
    ("高埗区", 337.5),
)
"""More district names with their bearings, for a city of more districts than
:data:`DISTRICTS` names (the larger table is used only then, so smaller cities keep theirs)."""

STREET_ROOTS: tuple[str, ...] = (
    "光明", "桥头", "新基", "榕城", "篁村", "石井", "湖景", "沙田", "樟村", "立新",
    "牛山", "温塘", "周溪", "罗沙", "旗峰", "黄旗", "峡口", "柏洲", "博厦", "可园",
    "运河", "西平", "宏远", "胜和", "莞龙", "白马", "景湖", "鸿福", "同沙", "火炼",
    "主山", "余屋", "高田", "石鼓", "新锡", "大塘", "花山", "竹园", "桑园", "黎贝",
    "元岭", "沙塘", "鳌峙", "莲塘", "下桥", "上桥", "金鳌", "银湖", "凤岗", "水濂",
)
"""Roots of street-office names (``…街道``), beyond the one named after each district."""

ROAD_WORDS: tuple[str, ...] = (
    "东纵", "莞太", "八达", "旗峰", "鸿福", "元美", "莞龙", "环城", "振兴", "体育",
    "学院", "新城", "胜和", "银丰", "东湖", "莞樟", "宏图", "石龙", "莞深", "松山",
    "育华", "金牛", "罗沙", "光大", "榴花", "岭南", "文化", "和平", "建设", "新华",
    "人民", "中山", "解放", "东江", "迎宾", "花园", "富民", "兴业", "同德", "南湖",
    "西湖", "北环", "南环", "东环", "西环", "长安", "黄旗", "水濂", "峡口", "白马",
    "景湖", "星河", "华阳", "阳光", "金菊", "银湖", "凤凰", "龙华", "振华", "腾飞",
)
"""Words for arterial road names (``…路``, ``…大道``)."""

MORE_ROAD_WORDS: tuple[str, ...] = tuple(w + d for d in "北南西东" for w in ROAD_WORDS)
"""Words for the arterials of a city with more lines than :data:`ROAD_WORDS` has words
(``莞太东路``, ``体育西路``); taken only after those, so smaller cities keep their names."""

COMPOUND_SUFFIXES: tuple[str, ...] = (
    "花园", "华庭", "雅苑", "名都", "豪庭", "新城", "嘉园", "御景", "山庄", "公馆",
)
"""Suffixes of gated-compound (小区) names."""

RIVER_NAME = "莞河"
"""Name of the (synthetic) river crossing the city."""

_FIRST = "东南西北新上下大中长金银龙凤石水桥莲花榕荔柏樟竹兴福富和安宁黄白青翠"
_SECOND = "湖村塘岭园山坑坊洲围田沙头浦埔岗湾涌基苑"
_DIGITS = "零一二三四五六七八九"


def numeral(n: int) -> str:
    """Write ``n`` (1–99) in Chinese numerals: ``1 → 一``, ``12 → 十二``, ``40 → 四十``.

    Parameters
    ----------
    n
        A whole number from 1 to 99.

    Returns
    -------
    str
        The numeral.
    """
    if not 1 <= n <= 99:
        msg = f"numeral {n} is outside 1–99"
        raise ValueError(msg)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def road_words(rng: np.random.Generator) -> list[str]:
    """Return the words of the arterials' names, to be taken from the end of the list.

    :data:`ROAD_WORDS` in a random order come first; a city with more arterials than that
    goes on with :data:`MORE_ROAD_WORDS`, in a fixed order.
    """
    return [*MORE_ROAD_WORDS, *(str(w) for w in rng.permutation(ROAD_WORDS))]


def _two_character() -> list[str]:
    return [a + b for a in _FIRST for b in _SECOND]


def place_names(rng: np.random.Generator, n: int) -> list[str]:
    """Draw ``n`` distinct place names.

    Up to 720 names are two characters long (``樟坑``); more are drawn from those and the
    three-character names (``金银岭``), for the city of thousands of communities.

    Parameters
    ----------
    rng
        Random generator.
    n
        How many names (at most 720 + 25,920).

    Returns
    -------
    list of str
        Distinct names such as ``樟坑``.
    """
    names = _two_character()
    if n > len(names):
        names += [a + b + c for a in _FIRST for b in _FIRST if b != a for c in _SECOND]
    pool = np.array(names)
    if n > len(pool):
        msg = f"{n} place names asked for, only {len(pool)} exist"
        raise ValueError(msg)
    return [str(name) for name in rng.choice(pool, size=n, replace=False)]


def more_street_roots() -> list[str]:
    """Roots of street-office names beyond :data:`STREET_ROOTS`, in a fixed order.

    Two-character place names that are neither a root nor a district's name, spread over the
    alphabet of :func:`place_names` by a fixed stride: a city with more street offices than
    :data:`STREET_ROOTS` takes them after those (no random draw, so that smaller cities keep
    their names and their draws).
    """
    taken = set(STREET_ROOTS) | {d.removesuffix("区") for d, _ in (*DISTRICTS, *MORE_DISTRICTS)}
    pool = [name for name in _two_character() if name not in taken]
    stride = 337  # coprime to the pool's size: every name once, neighbours far apart
    while np.gcd(stride, len(pool)) != 1:
        stride += 2
    return [pool[k * stride % len(pool)] for k in range(len(pool))]
