"""Origins (户籍地) of the demo city's migrants: real GB/T 2260 prefecture-level codes.

The codes and names are the reference table's (:data:`coverage.reference.PREFECTURES`); this
module holds only how many migrants each sends.

The mix follows the Pearl River Delta pattern: Hunan, Guangxi, Sichuan, Jiangxi, Henan, Hubei,
Guizhou and Chongqing send most migrants, together with other prefectures of Guangdong. Weights are
illustrative, not statistics. Chongqing has no prefectures, so its entries are district and
county codes.
"""

from __future__ import annotations

import numpy as np

from coverage.reference import PREFECTURE_NAMES

_WEIGHTS: tuple[tuple[str, float], ...] = (
    # Hunan 湖南 43
    ("430100", 1.5),
    ("430200", 1.2),
    ("430300", 0.8),
    ("430400", 2.6),
    ("430500", 3.0),
    ("430600", 1.4),
    ("430700", 1.6),
    ("430900", 1.3),
    ("431000", 1.8),
    ("431100", 2.3),
    ("431200", 1.5),
    ("431300", 1.4),
    ("433100", 0.6),
    # Guangxi 广西 45
    ("450100", 1.3),
    ("450200", 0.9),
    ("450300", 1.4),
    ("450400", 1.0),
    ("450800", 2.6),
    ("450900", 3.2),
    ("451000", 1.2),
    ("451100", 1.3),
    ("451200", 1.5),
    ("451300", 0.8),
    # Sichuan 四川 51
    ("510100", 0.8),
    ("510300", 0.6),
    ("510500", 1.0),
    ("510700", 0.6),
    ("511000", 0.8),
    ("511300", 1.8),
    ("511500", 1.0),
    ("511600", 1.0),
    ("511700", 1.5),
    ("511900", 0.9),
    ("512000", 0.6),
    # Jiangxi 江西 36
    ("360100", 0.7),
    ("360300", 0.6),
    ("360700", 4.0),
    ("360800", 1.5),
    ("360900", 1.0),
    ("361000", 0.8),
    ("361100", 0.9),
    # Henan 河南 41
    ("410100", 0.6),
    ("411300", 1.8),
    ("411400", 1.3),
    ("411500", 1.8),
    ("411600", 2.2),
    ("411700", 1.6),
    # Hubei 湖北 42
    ("420100", 0.8),
    ("420600", 1.0),
    ("420900", 1.4),
    ("421000", 1.8),
    ("421100", 2.6),
    # Guizhou 贵州 52
    ("520100", 0.6),
    ("520300", 1.6),
    ("520500", 1.5),
    ("522600", 1.3),
    ("522700", 1.0),
    # Chongqing 重庆 50
    ("500101", 1.2),
    ("500102", 0.6),
    ("500230", 0.7),
    ("500235", 0.9),
    ("500236", 0.8),
    ("500237", 0.5),
    # Guangdong 广东, other prefectures 44
    ("440200", 1.0),
    ("440500", 0.9),
    ("440800", 2.6),
    ("440900", 3.0),
    ("441400", 1.6),
    ("441500", 0.8),
    ("441600", 1.2),
    ("441700", 0.8),
    ("441800", 1.0),
    ("445100", 0.5),
    ("445200", 1.4),
    ("445300", 0.7),
    # others
    ("340100", 0.4),
    ("341200", 0.6),
    ("530100", 0.3),
    ("530300", 0.5),
    ("610100", 0.3),
)
"""``(code, weight)``: the origins' relative weights, in the order the demo draws them."""

ORIGINS: tuple[tuple[str, str, float], ...] = tuple(
    (code, PREFECTURE_NAMES[code], weight) for code, weight in _WEIGHTS)
"""``(code, name, weight)``: GB/T 2260 codes of the origins and their relative weights."""

UNKNOWN_SHARE = 0.015
"""Share of migrants whose origin is unknown (empty cell)."""


def draw_origins(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw the origin codes of ``n`` migrants.

    Parameters
    ----------
    rng
        Random generator.
    n
        Number of migrants.

    Returns
    -------
    numpy.ndarray
        Six-digit code strings; ``""`` for an unknown origin (share :data:`UNKNOWN_SHARE`).
    """
    codes = np.array([code for code, _, _ in ORIGINS] + [""])
    weights = np.array([w for _, _, w in ORIGINS])
    p = np.append(weights / weights.sum() * (1.0 - UNKNOWN_SHARE), UNKNOWN_SHARE)
    return codes[rng.choice(len(codes), size=n, p=p)]
