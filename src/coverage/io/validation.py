"""Collect every problem found in the inputs, then report them once.

A :class:`Problem` names the file, the row as a spreadsheet user counts it (the header is row 1
of a CSV file, so the first record is row 2), the field, the rule broken and a hint. It never
holds a personal value: values from layers that describe people are not quoted.

Loaders add problems to a :class:`Problems` collector while they read; nothing stops at the first
problem. :meth:`Problems.raise_if_errors` raises a single :class:`ValidationError` whose message
is one line (the first error and how many more there are); ``coverage validate`` prints the whole
table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Severity = Literal["error", "warning", "info"]

#: How many rows of the same problem (same file, field and rule) are listed one by one; the rest
#: are counted in a single summary line.
MAX_LISTED = 20

#: The rules, with their English and Chinese descriptions. Codes are stable (tests and users may
#: filter on them); texts may improve.
RULES: dict[str, tuple[str, str]] = {
    "missing-file": ("file not found", "文件不存在"),
    "unreadable-file": ("file cannot be read", "文件无法读取"),
    "missing-table": ("database table or schema not found", "数据库表或模式不存在"),
    "unreadable-table": ("database table cannot be read", "数据库表无法读取"),
    "undecodable-bytes": ("bytes that are not valid text", "无法解码的字节"),
    "malformed-row": ("row does not match the header", "行的字段数与表头不符"),
    "merged-header": ("merged cells in the header", "表头含合并单元格"),
    "merged-cells": ("merged cells in the data", "数据区含合并单元格"),
    "missing-column": ("required column missing", "缺少必需的列"),
    "ambiguous-column": ("two columns match one field", "两列对应同一字段"),
    "empty-value": ("required value is empty", "必填值为空"),
    "unknown-category": ("value not among the allowed ones", "取值不在允许范围内"),
    "duplicate-id": ("identifier used more than once", "编号重复"),
    "not-a-number": ("value is not a number", "不是数字"),
    "not-an-integer": ("value is not a whole number", "不是整数"),
    "below-minimum": ("value below the allowed minimum", "数值小于允许的最小值"),
    "not-a-date": ("value is not a date", "不是有效日期"),
    "not-a-boolean": ("value is not yes/no", "不是“是/否”"),
    "malformed-code": ("not a six-digit division code", "不是六位行政区划代码"),
    "missing-coordinate": ("coordinate empty or not a number", "坐标为空或不是数字"),
    "swapped-coordinates": ("latitude and longitude swapped", "经纬度颠倒"),
    "coordinate-range": ("coordinate outside the valid range", "坐标超出有效范围"),
    "outside-study-area": ("point outside the study area", "点位于研究区外"),
    "layer-outside-study-area": ("layer lies outside the study area", "图层整体位于研究区外"),
    "missing-geometry": ("geometry empty or missing", "几何为空"),
    "wrong-geometry": ("geometry of the wrong type", "几何类型错误"),
    "invalid-polygon": ("invalid polygon", "多边形无效"),
    "repaired-polygon": ("invalid polygon repaired", "已修复无效多边形"),
    "crs-missing": ("coordinate system not declared", "未声明坐标系"),
    "crs-conflict": ("file and declaration disagree on the CRS", "文件坐标系与声明不一致"),
    "crs-uncertain": ("coordinate system guessed on weak evidence", "坐标系推断依据不足"),
    "unknown-reference": ("refers to an id that does not exist", "引用的编号不存在"),
    "national-id-hashed": ("national ID numbers replaced by hashes", "身份证号已替换为哈希值"),
    "ignored-columns": ("columns not in the data model ignored", "未使用的列已忽略"),
    "empty-rows": ("empty rows ignored", "空行已忽略"),
    "bad-project-key": ("invalid project setting", "项目文件设置无效"),
    "empty-layer": ("the layer holds no rows", "图层没有数据行"),
    "above-maximum": ("value above the plausible maximum", "数值超出合理上限"),
    "unreadable-network": ("the road network cannot be read", "路网文件无法读取"),
    "empty-network": ("the road network has no usable roads", "路网没有可用道路"),
    "network-reach": ("points too far from a usable road", "点距可用道路过远"),
    "crs-suspect": ("another coordinate system fits much better", "另一坐标系明显更吻合"),
    "communities-without-geometry": (
        "communities without boundaries cannot be approximated",
        "社区无边界且无法近似生成",
    ),
    "approximate-boundaries": (
        "community boundaries approximated from residences",
        "社区边界为按居住点生成的近似边界",
    ),
    "community-without-migrants": (
        "no migrant to approximate the community's boundary from",
        "社区无流动人口，无法生成近似边界",
    ),
    "far-from-community": (
        "residence far from the rest of its community",
        "居住点远离所属社区的其他居住点",
    ),
    "community-out-of-place": (
        "community far from the others or larger than a city",
        "社区远离其他社区或大于一座城市",
    ),
}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    """Escape control characters (line breaks from a file's headers) so a message stays one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _name(text: str | None) -> str | None:
    """Return a file's or field's name on one line (``None`` stays ``None``)."""
    return None if text is None else _one_line(text)


@dataclass(frozen=True)
class Problem:
    """One problem in the inputs.

    Parameters
    ----------
    file
        File name as the user wrote it in the project (or the file's name).
    row
        Row number as a spreadsheet user counts it (``None`` for whole-file problems).
    field
        Column (canonical name or file header) concerned, or ``None``.
    rule
        Rule code, a key of :data:`RULES`.
    hint
        What to do about it. Never contains a personal value.
    severity
        ``error`` stops loading; ``warning`` is reported; ``info`` only listed.
    count
        How many rows this line stands for (``> 1`` for a summary line).
    """

    file: str
    row: int | None
    field: str | None
    rule: str
    hint: str
    severity: Severity = "error"
    count: int = 1

    def describe(self, lang: str = "en") -> str:
        """Return the rule's description in ``lang`` (``en`` or ``zh``)."""
        en, zh = RULES.get(self.rule, (self.rule, self.rule))
        return zh if lang == "zh" else en

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field {self.field!r}"
        more = f" (and {self.count - 1:,} more rows)" if self.count > 1 else ""
        return f"{where}: {self.describe()} [{self.rule}]{more}; {self.hint}"


class ValidationError(ValueError):
    """The inputs break one or more rules; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        first = errors[0] if errors else problems[0]
        total = sum(p.count for p in errors)
        rest = f" (and {total - first.count:,} more errors; run `coverage validate` for the list)"
        super().__init__(str(first) + (rest if total > first.count else ""))


@dataclass
class Problems:
    """A collector of problems; add while reading, report once at the end."""

    items: list[Problem] = field(default_factory=list)

    def add(
        self,
        file: str,
        row: int | None,
        field_: str | None,
        rule: str,
        hint: str,
        severity: Severity = "error",
    ) -> None:
        """Add one problem."""
        if rule not in RULES:
            msg = f"unknown rule code {rule!r}; add it to coverage.io.validation.RULES"
            raise KeyError(msg)
        self.items.append(Problem(_one_line(file), row, _name(field_), rule, _one_line(hint),
                                  severity))

    def add_rows(
        self,
        file: str,
        rows: Iterable[int] | np.ndarray,
        field_: str | None,
        rule: str,
        hint: str,
        severity: Severity = "error",
    ) -> None:
        """Add the same problem for many rows: the first rows one by one, then one summary.

        Parameters
        ----------
        file, field_, rule, hint, severity
            As for :meth:`add`.
        rows
            Spreadsheet row numbers concerned (any order); nothing is added when empty.
        """
        rows = np.sort(np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows))
        if rows.size == 0:
            return
        for r in rows[:MAX_LISTED]:
            self.add(file, int(r), field_, rule, hint, severity)
        if rows.size > MAX_LISTED:
            rest = rows[MAX_LISTED:]
            self.items.append(
                Problem(_one_line(file), int(rest[0]), _name(field_), rule, _one_line(hint),
                        severity, count=int(rest.size))
            )

    def add_rows_of(
        self,
        files: np.ndarray,
        rows: np.ndarray,
        field_: str | None,
        rule: str,
        hint: str,
        severity: Severity = "error",
    ) -> None:
        """Add the same problem for rows of several files: row ``rows[i]`` of ``files[i]``.

        The rows of a layer read from parts (:mod:`coverage.io.partitioned`) come from
        several files; each file's rows are added as by :meth:`add_rows`, files in order of
        first appearance.
        """
        files, rows = np.asarray(files, dtype=object), np.asarray(rows)
        for name in dict.fromkeys(files.tolist()):
            self.add_rows(str(name), rows[files == name], field_, rule, hint, severity)

    def extend(self, other: Problems) -> None:
        """Append the problems of another collector."""
        self.items.extend(other.items)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def errors(self) -> list[Problem]:
        """Problems of severity ``error``."""
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems of severity ``warning``."""
        return [p for p in self.items if p.severity == "warning"]

    def raise_if_errors(self) -> None:
        """Raise :class:`ValidationError` if any problem is an error."""
        if self.errors:
            raise ValidationError(self.items)
