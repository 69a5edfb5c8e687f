"""Reference tables of China's administrative divisions (GB/T 2260), used by analyses and demo.

* :func:`load_provinces`: the 34 province-level divisions with a representative point (the
  provincial capital's city centre, approximate to ~0.01°, from public knowledge / Wikipedia
  coordinates; ``coverage/data/provinces.csv``, see its README). It anchors flow lines on a
  map and nothing else.
* :data:`PREFECTURES`: prefecture-level codes and full names (real GB/T 2260 names) of the
  provinces that send most migrants to the Pearl River Delta, and
  :func:`prefecture_names`: those names by four-digit code, plus the municipal
  pseudo-prefectures (``xx01`` 市辖区, ``5002`` 县). Other prefectures are reported by code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

__all__ = ["CITY", "MUNICIPALITIES", "PREFECTURES", "PREFECTURE_NAMES", "PROVINCES_CSV",
           "load_provinces", "prefecture_names"]

CITY = "全市"
"""The name of the whole city's row in every table of districts (and of its unit in reports)."""

PROVINCES_CSV = Path(__file__).resolve().parent / "data" / "provinces.csv"
"""The province table (see ``coverage/data/README.md``)."""

MUNICIPALITIES = ("11", "12", "31", "50")
"""Beijing, Tianjin, Shanghai and Chongqing: province-level cities whose codes ``xx01``/``xx02``
are pseudo-prefectures (市辖区, 县)."""

PREFECTURES: tuple[tuple[str, str], ...] = (
    ("430100", "湖南省长沙市"),
    ("430200", "湖南省株洲市"),
    ("430300", "湖南省湘潭市"),
    ("430400", "湖南省衡阳市"),
    ("430500", "湖南省邵阳市"),
    ("430600", "湖南省岳阳市"),
    ("430700", "湖南省常德市"),
    ("430900", "湖南省益阳市"),
    ("431000", "湖南省郴州市"),
    ("431100", "湖南省永州市"),
    ("431200", "湖南省怀化市"),
    ("431300", "湖南省娄底市"),
    ("433100", "湖南省湘西土家族苗族自治州"),
    ("450100", "广西壮族自治区南宁市"),
    ("450200", "广西壮族自治区柳州市"),
    ("450300", "广西壮族自治区桂林市"),
    ("450400", "广西壮族自治区梧州市"),
    ("450800", "广西壮族自治区贵港市"),
    ("450900", "广西壮族自治区玉林市"),
    ("451000", "广西壮族自治区百色市"),
    ("451100", "广西壮族自治区贺州市"),
    ("451200", "广西壮族自治区河池市"),
    ("451300", "广西壮族自治区来宾市"),
    ("510100", "四川省成都市"),
    ("510300", "四川省自贡市"),
    ("510500", "四川省泸州市"),
    ("510700", "四川省绵阳市"),
    ("511000", "四川省内江市"),
    ("511300", "四川省南充市"),
    ("511500", "四川省宜宾市"),
    ("511600", "四川省广安市"),
    ("511700", "四川省达州市"),
    ("511900", "四川省巴中市"),
    ("512000", "四川省资阳市"),
    ("360100", "江西省南昌市"),
    ("360300", "江西省萍乡市"),
    ("360700", "江西省赣州市"),
    ("360800", "江西省吉安市"),
    ("360900", "江西省宜春市"),
    ("361000", "江西省抚州市"),
    ("361100", "江西省上饶市"),
    ("410100", "河南省郑州市"),
    ("411300", "河南省南阳市"),
    ("411400", "河南省商丘市"),
    ("411500", "河南省信阳市"),
    ("411600", "河南省周口市"),
    ("411700", "河南省驻马店市"),
    ("420100", "湖北省武汉市"),
    ("420600", "湖北省襄阳市"),
    ("420900", "湖北省孝感市"),
    ("421000", "湖北省荆州市"),
    ("421100", "湖北省黄冈市"),
    ("520100", "贵州省贵阳市"),
    ("520300", "贵州省遵义市"),
    ("520500", "贵州省毕节市"),
    ("522600", "贵州省黔东南苗族侗族自治州"),
    ("522700", "贵州省黔南布依族苗族自治州"),
    ("500101", "重庆市万州区"),
    ("500102", "重庆市涪陵区"),
    ("500230", "重庆市丰都县"),
    ("500235", "重庆市云阳县"),
    ("500236", "重庆市奉节县"),
    ("500237", "重庆市巫山县"),
    ("440200", "广东省韶关市"),
    ("440500", "广东省汕头市"),
    ("440800", "广东省湛江市"),
    ("440900", "广东省茂名市"),
    ("441400", "广东省梅州市"),
    ("441500", "广东省汕尾市"),
    ("441600", "广东省河源市"),
    ("441700", "广东省阳江市"),
    ("441800", "广东省清远市"),
    ("445100", "广东省潮州市"),
    ("445200", "广东省揭阳市"),
    ("445300", "广东省云浮市"),
    ("340100", "安徽省合肥市"),
    ("341200", "安徽省阜阳市"),
    ("530100", "云南省昆明市"),
    ("530300", "云南省曲靖市"),
    ("610100", "陕西省西安市"),
)
"""``(code, full name)``: six-digit GB/T 2260 codes of prefecture-level divisions (Chongqing,
which has none, by district and county codes)."""

PREFECTURE_NAMES: dict[str, str] = dict(PREFECTURES)
"""Full names by six-digit code."""


@lru_cache(maxsize=1)
def provinces() -> pd.DataFrame:
    """Return the province table, read once (shared: never modify it; :func:`load_provinces`)."""
    frame = pd.read_csv(PROVINCES_CSV, encoding="utf-8", dtype={"code": "string"})
    for col in ("name_zh", "short_zh", "name_en", "capital_zh", "capital_en"):
        frame[col] = frame[col].astype("string")
    return frame


def load_provinces() -> pd.DataFrame:
    """Return the table of the 34 province-level divisions.

    Returns
    -------
    pandas.DataFrame
        ``code`` (two digits), ``name_zh``, ``short_zh``, ``name_en``, ``capital_zh``,
        ``capital_en``, ``lon``, ``lat`` (WGS-84; the capital's city centre, ~0.01°).
    """
    return provinces().copy()


@lru_cache(maxsize=1)
def _prefecture_names() -> dict[str, str]:
    province = dict(zip(provinces()["code"], provinces()["name_zh"], strict=True))
    names = {
        code[:4]: name.removeprefix(province.get(code[:2], ""))
        for code, name in PREFECTURES
        if code.endswith("00") and code[2:4] != "00"
    }
    names.update({f"{p}01": "市辖区" for p in MUNICIPALITIES})
    names["5002"] = "县"
    return names


def prefecture_names() -> dict[str, str]:
    """Return the known prefecture names (without their province) by four-digit code."""
    return dict(_prefecture_names())
