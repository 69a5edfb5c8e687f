"""The evidence of :func:`coverage.network.offsets.check_declaration` and how it is told.

Two readings of the same points are compared point by point: by their distances to the roads
(Wilcoxon signed-rank test, :func:`road_test`) and by their communities (exact McNemar test,
:func:`membership_test`); :func:`combine` decides whether one reading wins clearly at a
:class:`Level`. :class:`Report` collects the figures and writes the sentences of the result, in
English and Chinese. The thresholds are described with the method in
:mod:`coverage.network.offsets`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

__all__ = ["GUARD", "STRONG", "Level", "Report", "Test", "Verdict", "combine", "membership_test",
           "road_test"]

#: The readings tried (CGCS2000 reads as WGS-84).
SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")
#: A point within this distance (m) of a road is "at a road"; nearer distances are not compared.
ROAD_TOLERANCE_M = 40.0
#: Significance level of the one-sided tests against the declared reading.
ALPHA = 1e-3
#: Smallest effect for a clear win: rank-biserial correlation (roads) or balance of the
#: discordant points (communities), from -1 to 1.
MIN_EFFECT = 0.8
#: Smallest rise of the share of points at a road (or in their community) for a clear win.
MIN_GAIN = 0.10
#: Readings moving the points less than this (median, m) from the declared one are left out.
MIN_SHIFT_M = 50.0
#: Fewest informative points with which a one-sided exact test can reach :data:`ALPHA`.
MIN_INFORMATIVE = math.ceil(math.log2(1.0 / ALPHA))
#: Thresholds of the guard comparisons (the named reading against the other readings and the
#: placebos): one-sided p-value, effect and gain.
GUARD_ALPHA = 0.01
GUARD_EFFECT = 0.5
GUARD_GAIN = 0.05
#: Clipped distances closer than this (m) are a tie.
_TIE_M = 0.5

Verdict = Literal["fits", "other", "unclear", "too_few", "not_applicable"]

_NAMES_EN = {
    "wgs84": "WGS-84", "cgcs2000": "CGCS2000", "gcj02": "GCJ-02", "bd09": "BD-09",
}
_KINDS_EN = {
    "wgs84": "WGS-84 (GPS, OpenStreetMap)",
    "gcj02": "GCJ-02 (Amap, Tencent)",
    "bd09": "BD-09 (Baidu)",
}
_KINDS_ZH = {
    "wgs84": "WGS-84（GPS、OpenStreetMap）",
    "gcj02": "GCJ-02（高德、腾讯）",
    "bd09": "BD-09（百度）",
}


@dataclass(frozen=True)
class Level:
    """Thresholds of a clear win: one-sided p-value, effect and gain."""

    alpha: float
    effect: float
    gain: float


#: A clear win over the declared reading (the evidence for naming another system).
STRONG = Level(ALPHA, MIN_EFFECT, MIN_GAIN)
#: A win over the other readings and the placebos (the check that the named one is special).
GUARD = Level(GUARD_ALPHA, GUARD_EFFECT, GUARD_GAIN)


@dataclass(frozen=True)
class Test:
    """One paired comparison of reading ``a`` with reading ``b`` by one kind of evidence.

    ``n`` points differ between the readings, ``wins`` of them in favour of ``a``; ``p_a`` and
    ``p_b`` are the one-sided p-values of "``a`` is better" and "``b`` is better"; ``effect``
    runs from -1 (all evidence for ``b``) to 1 (all for ``a``); ``share_a`` and ``share_b`` are
    the shares of points at a road (or in their community).
    """

    n: int
    wins: int
    p_a: float
    p_b: float
    effect: float
    share_a: float
    share_b: float

    def favours(self, level: Level) -> int:
        """1 when ``a`` wins clearly at ``level``, -1 when ``b`` does, else 0."""
        gain = self.share_a - self.share_b
        if self.p_a < level.alpha and self.effect >= level.effect and gain >= level.gain:
            return 1
        if self.p_b < level.alpha and -self.effect >= level.effect and -gain >= level.gain:
            return -1
        return 0

    def figures(self) -> dict[str, float | int]:
        """Return the figures as plain numbers (for the evidence of a declaration check)."""
        return {"points": self.n, "wins": self.wins, "p": self.p_a, "p_other": self.p_b,
                "effect": round(self.effect, 4), "share": round(self.share_a, 4),
                "share_other": round(self.share_b, 4)}


def road_test(da: NDArray[np.float64], db: NDArray[np.float64]) -> Test:
    """Compare distances to the nearest road under readings ``a`` and ``b``, point by point."""
    ca = np.maximum(da, ROAD_TOLERANCE_M)
    cb = np.maximum(db, ROAD_TOLERANCE_M)
    z = (np.log(cb) - np.log(ca))[np.abs(cb - ca) > _TIE_M]  # > 0: nearer a road under a
    share_a = float(np.mean(da <= ROAD_TOLERANCE_M)) if len(da) else 0.0
    share_b = float(np.mean(db <= ROAD_TOLERANCE_M)) if len(db) else 0.0
    if len(z) == 0:
        return Test(0, 0, 1.0, 1.0, 0.0, share_a, share_b)
    ranks = stats.rankdata(np.abs(z))
    total = float(ranks.sum())
    effect = (2.0 * float(ranks[z > 0].sum()) - total) / total
    with warnings.catch_warnings():
        # Older SciPy warns that the exact p-value ignores tied ranks; they are rare here.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        p_a = float(stats.wilcoxon(z, alternative="greater").pvalue)
        p_b = float(stats.wilcoxon(z, alternative="less").pvalue)
    return Test(len(z), int(np.count_nonzero(z > 0)), p_a, p_b, effect, share_a, share_b)


def membership_test(ina: NDArray[np.bool_], inb: NDArray[np.bool_]) -> Test:
    """Compare community membership under readings ``a`` and ``b`` (exact McNemar test)."""
    wins = int(np.count_nonzero(ina & ~inb))
    losses = int(np.count_nonzero(inb & ~ina))
    n = wins + losses
    share_a = float(ina.mean()) if len(ina) else 0.0
    share_b = float(inb.mean()) if len(inb) else 0.0
    if n == 0:
        return Test(0, 0, 1.0, 1.0, 0.0, share_a, share_b)
    p_a = float(stats.binomtest(wins, n, 0.5, alternative="greater").pvalue)
    p_b = float(stats.binomtest(wins, n, 0.5, alternative="less").pvalue)
    return Test(n, wins, p_a, p_b, (wins - losses) / n, share_a, share_b)


def combine(tests: dict[str, Test], level: Level) -> int:
    """1 when some evidence favours ``a`` at ``level`` and none favours ``b``; -1 mirrored."""
    votes = {t.favours(level) for t in tests.values()}
    if 1 in votes and -1 not in votes:
        return 1
    if -1 in votes and 1 not in votes:
        return -1
    return 0


def _p_text(p: float) -> str:
    """Format a p-value for a message."""
    return "p < 1e-300" if p <= 0.0 else f"p = {p:.1g}"


class Report:
    """Collects the evidence of a declaration check and writes the sentences of its result."""

    def __init__(self, name: str, system: str, reading: str, n: int, n_total: int) -> None:
        self.name, self.system, self.reading, self.n = name, system, reading, n
        self.evidence: dict[str, Any] = {
            "points": n, "points_in_layer": n_total, "road_tolerance_m": ROAD_TOLERANCE_M,
            "alpha": ALPHA, "min_effect": MIN_EFFECT, "min_gain": MIN_GAIN,
        }
        self.tests: dict[str, dict[str, Test]] = {}

    def measure(self, dist: dict[str, NDArray[np.float64]],
                member: dict[str, NDArray[np.bool_]], kind: str | None) -> None:
        """Record each reading's distances to the roads and community shares."""
        self.evidence["median_road_m"] = {s: round(float(np.median(d)), 1)
                                          for s, d in dist.items()}
        self.evidence["near_road_share"] = {s: round(float(np.mean(d <= ROAD_TOLERANCE_M)), 4)
                                            for s, d in dist.items()}
        self.evidence["community_test"] = kind
        if kind:
            self.evidence["community_points"] = len(next(iter(member.values())))
            self.evidence["in_community_share"] = {
                s: round(float(m.mean()), 4) if len(m) else None for s, m in member.items()
            }

    def add(self, key: str, verdict: int, tests: dict[str, Test], *,
            guard: bool = False) -> None:
        """Record one comparison of two readings (``key`` is ``"a vs b"``)."""
        self.tests[key] = tests
        entry: dict[str, Any] = {kind: t.figures() for kind, t in tests.items()}
        a, b = key.split(" vs ")
        entry["winner"] = a if verdict > 0 else b if verdict < 0 else None
        self.evidence.setdefault("guard" if guard else "comparisons", {})[key] = entry

    def alarm(self, likely: str) -> tuple[str, str]:
        """Write the alarm in English and Chinese."""
        declared = _NAMES_EN[self.system]
        tests = self.tests[f"{likely} vs {self.reading}"]
        roads, comm = tests["roads"], tests.get("communities")
        tol = f"{ROAD_TOLERANCE_M:g}"
        own = self.evidence.get("community_test") == "own"
        extra_en = extra_zh = ""
        if comm is not None and comm.favours(STRONG) > 0:
            where_en = "inside their own community" if own else "inside a community"
            where_zh = "落在本社区内" if own else "落在社区范围内"
            extra_en = (f", and {comm.share_a:.0%} fall {where_en} against {comm.share_b:.0%} "
                        f"(exact McNemar test, {_p_text(comm.p_a)})")
            extra_zh = (f"，{comm.share_a:.0%} 的点{where_zh}，按声明读取为 {comm.share_b:.0%}"
                        f"（精确 McNemar 检验 {_p_text(comm.p_a)}）")
        message = (
            f"{self.name}: the points look like {_KINDS_EN[likely]} coordinates, not the "
            f"declared {declared}: read as {_NAMES_EN[likely]}, {roads.share_a:.0%} of "
            f"{self.n:,} points lie within {tol} m of a road against {roads.share_b:.0%} as "
            f"declared (Wilcoxon signed-rank test, {_p_text(roads.p_a)}){extra_en}; "
            f'write crs = "{likely}" for this layer in project.toml'
        )
        message_zh = (
            f"{self.name}：点位更像{_KINDS_ZH[likely]}坐标，而不是声明的 {declared}：按 "
            f"{_NAMES_EN[likely]} 读取时，{self.n:,} 个点中 {roads.share_a:.0%} 距道路 {tol} 米"
            f"以内，按声明读取仅 {roads.share_b:.0%}（Wilcoxon 符号秩检验 {_p_text(roads.p_a)}）"
            f"{extra_zh}；请在 project.toml 中将该图层改为 crs = \"{likely}\"。"
        )
        return message, message_zh

    def summary(self, verdict: Verdict, winner: str | None) -> tuple[str, str]:
        """Write the one-sentence outcome in English and Chinese."""
        name, declared = self.name, _NAMES_EN.get(self.system, self.system)
        if verdict == "not_applicable":
            if self.reading not in SYSTEMS:
                return (f"{name}: declared {declared}, not a WGS-84/GCJ-02/BD-09 declaration; "
                        "the coordinate system was not checked",
                        f"{name}：声明为 {declared}，不是 WGS-84/GCJ-02/BD-09，未检查坐标系")
            return (f"{name}: no other reading moves the points by {MIN_SHIFT_M:g} m or more "
                    "(or the network has no roads); the coordinate system was not checked",
                    f"{name}：换用其他坐标系读取时点位移动不足 {MIN_SHIFT_M:g} 米（或路网为空），"
                    "未检查坐标系")
        if verdict == "too_few":
            most = max((t.n for tests in self.tests.values() for t in tests.values()),
                       default=0)
            return (f"{name}: too few points to tell the coordinate systems apart ({self.n:,} "
                    f"points, of which at most {most} sit differently towards the roads or "
                    f"communities under another reading; at least {MIN_INFORMATIVE} are "
                    f"needed); the declared {declared} is kept",
                    f"{name}：点数太少，无法判断坐标系（{self.n:,} 个点，换用其他坐标系读取时最多 "
                    f"{most} 个点与道路或社区的关系发生变化，至少需要 {MIN_INFORMATIVE} 个）；"
                    f"保留声明的 {declared}")
        near = self.evidence.get("near_road_share", {})
        others = [s for s in SYSTEMS if s in near and s != self.reading]
        if verdict == "fits":
            best = max(near[s] for s in others)
            return (f"{name}: the declared {declared} fits: {near[self.reading]:.0%} of "
                    f"{self.n:,} points lie within {ROAD_TOLERANCE_M:g} m of a road, at most "
                    f"{best:.0%} read as {' or '.join(_NAMES_EN[s] for s in others)}",
                    f"{name}：声明的 {declared} 与数据相符：{self.n:,} 个点中 "
                    f"{near[self.reading]:.0%} 距道路 {ROAD_TOLERANCE_M:g} 米以内，按 "
                    f"{' 或 '.join(_NAMES_EN[s] for s in others)} 读取最多 {best:.0%}")
        if verdict == "other":
            assert winner is not None
            return (f"{name}: the data look like {_NAMES_EN[winner]}, not the declared "
                    f"{declared}", f"{name}：数据更像 {_NAMES_EN[winner]}，而不是声明的 {declared}")
        if winner is not None:
            return (f"{name}: read as {_NAMES_EN[winner]} the points sit nearer the roads than "
                    f"as declared ({declared}), but not clearly nearer than read otherwise or "
                    "shifted as far in another direction; the declaration is kept (check a few "
                    "points on a map)",
                    f"{name}：按 {_NAMES_EN[winner]} 读取时点位比按声明（{declared}）更靠近道路，"
                    "但并不明显优于其他读法或向其他方向平移同样距离；保留声明（请在地图上核对几个点）")
        conflict = any(
            {t.favours(STRONG) for t in tests.values()} >= {1, -1}
            for tests in self.tests.values()
        )
        if conflict:
            return (f"{name}: the roads and the communities favour different coordinate "
                    f"systems; the declared {declared} is kept (check the crs of the "
                    "communities layer and of the network)",
                    f"{name}：道路与社区边界支持的坐标系不一致；保留声明的 {declared}"
                    "（请检查社区图层和路网的坐标系）")
        return (f"{name}: no reading fits the roads or communities clearly better than another; "
                f"the declared {declared} is kept",
                f"{name}：没有哪种读法明显更贴合道路或社区；保留声明的 {declared}")

