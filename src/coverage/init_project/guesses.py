"""What ``coverage init`` guesses for a field or a layer, and the settings of the guessing.

A :class:`ColumnGuess` is the header proposed for one field of a layer, a :class:`SystemGuess` the
coordinate system proposed for one layer; each says how it was found and writes its own comment
for ``project.toml`` in English and Chinese. The constants below tune the guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: Layers in the order they are read and written (communities first: they fix the study CRS).
LAYER_ORDER = ("migrants", "sites", "communities", "network", "registered_points", "candidates")
#: Readings of coordinates in degrees that are tested against the roads.
READINGS = ("wgs84", "gcj02", "bd09")
#: A point "fits" a reading when it lies within this distance of a road …
NEAR_ROAD_M = 60.0
#: … and, when communities are known, within this distance of one (the loader's default).
NEAR_AREA_M = 500.0
#: Points of a layer measured against the roads (a random sample of larger layers).
SAMPLE_POINTS = 5_000
#: Rows kept to check values against the fields (a random sample of larger layers).
SAMPLE_ROWS = 2_000
#: CSV files larger than this are proposed from their first bytes only (validation reads all).
HEAD_BYTES = 64 << 20
#: Similarity from which a close match is accepted, and from which a header is named as a
#: candidate for a field it was not given to.
ACCEPT_SCORE = 0.75
CANDIDATE_SCORE = 0.4
#: Share of a sample's non-empty cells that must convert for a close match to be accepted.
COMPATIBLE_SHARE = 0.5
#: What a masked cell shows.
MASK = "•••"
#: Comments longer than this (in terminal columns) are split into English and Chinese lines.
LINE_WIDTH = 100

How = Literal["name", "alias", "close", "values", "user"]
SystemHow = Literal["file", "network", "default", "user", "none"]


@dataclass
class ColumnGuess:
    """The header proposed for one field of a layer.

    Attributes
    ----------
    field
        Canonical field name (:mod:`coverage.io.schema`).
    header
        Header in the file, or ``None`` when nothing matched.
    how
        ``name`` (the canonical name), ``alias`` (a recognised header), ``close`` (a close match),
        ``values`` (chosen from the values: coordinates), ``user`` (chosen by the user).
    score
        Similarity of the header to the field's names (1 for recognised headers).
    via
        The name or alias the header resembles most.
    compatible
        Share of the sampled non-empty cells that convert to the field's kind (``None`` when the
        column is empty or the field is text).
    candidates
        The closest other headers with their scores, best first (for fields without a match).
    note
        Anything else the comment should say (e.g. two headers matched), English and Chinese.
    """

    field: str
    header: str | None = None
    how: How = "name"
    score: float = 0.0
    via: str = ""
    compatible: float | None = None
    candidates: list[tuple[str, float]] = field(default_factory=list)
    note: tuple[str, str] | None = None

    def comment(self) -> tuple[str, str]:
        """Return the TOML comment for this guess, in English and in Chinese."""
        if self.how == "user":
            en, zh = "chosen by the user", "用户选择"
        elif self.how in ("name", "alias"):
            en, zh = "recognised header", "可自动识别的表头"
        elif self.how == "values":
            en, zh = f"guessed from the values ({self.via})", f"根据取值推断（{self.via}）"
        else:
            en = f"close match ({self.score:.2f}) for {self.field}, like {self.via!r}"
            zh = f"近似匹配（相似度 {self.score:.2f}，接近“{self.via}”）"
        if self.note:
            en, zh = f"{en}; {self.note[0]}", f"{zh}；{self.note[1]}"
        return en, zh


@dataclass
class SystemGuess:
    """The coordinate system proposed for one layer.

    Attributes
    ----------
    system
        ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``, ``EPSG:nnnn`` or ``None``: write no ``crs``
        (the file's own projected CRS, or a system that must be settled by the user).
    how
        ``file`` (the file's own CRS), ``network`` (tested against the roads), ``default``
        (no evidence: taken as WGS-84), ``user`` (chosen by the user), ``none`` (unknown).
    evidence
        English and Chinese sentences saying why.
    confident
        Whether the evidence is strong enough to rely on.
    near
        Reading → points within :data:`NEAR_ROAD_M` of a road (network test only).
    n_points
        Points measured.
    p_value
        Exact paired (McNemar) test of the best reading against the runner-up.
    """

    system: str | None
    how: SystemHow
    evidence: tuple[str, str]
    confident: bool = True
    near: dict[str, int] = field(default_factory=dict)
    n_points: int = 0
    p_value: float | None = None

    def comment(self) -> tuple[str, str]:
        """Return the TOML comment for this guess, in English and in Chinese."""
        if self.how == "user":
            return "chosen by the user", "用户选择"
        en, zh = self.evidence
        if self.how == "network":
            tag = ("guessed", "猜测") if self.confident else ("uncertain guess", "推断依据不足")
            return f"{tag[0]}: {en}", f"{tag[1]}：{zh}"
        return en, zh
