"""The district scorecard's settings (考核评估): ``[assessment]`` in ``project.toml``.

The plan puts the pilot under the city's target-responsibility assessment: "将试点工作纳入市人口
计生工作目标管理责任制考核，与各区、县(市)签订目标管理责任状，定期开展专项督查和考核评估". The
scorecard (:mod:`coverage.engine.scorecard`) scores each district on the indicators below, each
with a target, a weight and a scoring rule; every one can be changed in
``[assessment.indicators.<name>]``. ``docs/assessment.md`` gives each default with the plan's
sentence it comes from.

Rules (the share of an indicator's weight a district earns):

``ratio``
    ``min(1, value / target)``: partial credit for the way to the target (shares only).
``threshold``
    all or nothing: the whole weight when the target is met, none otherwise.
``gap``
    ``max(0, 1 − distance / tolerance)``, the distance being how far the value falls short of
    the target (or, for a gap where 0 is best, exceeds it): nothing at ``tolerance`` or beyond.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULTS", "INDICATOR_NAMES", "PLAN_INDICATORS", "RULES", "Assessment",
           "AssessmentError", "Default", "Scored", "default_assessment", "parse_assessment"]

RULES = ("ratio", "threshold", "gap")
"""Scoring rules, see the module's description."""

PLAN_INDICATORS = ("policy_awareness", "free_service_local", "pregnancy_check",
                   "contraceptive_access", "prepregnancy_consult", "rh_checks",
                   "community_management")
"""The plan's seven indicators (the ``indicators`` layer); their default targets are the run's
``[parameters.targets]``."""

#: Indicators whose value is a share of people (a target above 1 is a typo).
_SHARES = (*PLAN_INDICATORS, "coverage", "migrant_gap", "staffing")
#: Indicators measured at a time threshold (``threshold_min``).
_AT_THRESHOLD = ("coverage", "migrant_gap")
_KEYS = {"target", "weight", "rule", "tolerance"}


@dataclass(frozen=True)
class Default:
    """One indicator's default setting and where in the plan it comes from.

    Attributes
    ----------
    higher_is_better
        ``True`` for a share to raise (met at or above the target), ``False`` for a gap or a
        shortfall (met at or below it, 0 best).
    target
        Default target; ``None`` for the plan's indicators: the run's ``[parameters.targets]``.
    weight, rule, tolerance
        Default weight, rule and tolerance (``None``: none; the ``gap`` rule then needs one).
    plan
        The plan's sentence the target comes from.
    """

    higher_is_better: bool
    target: float | None
    weight: float
    rule: str
    tolerance: float | None
    plan: str


DEFAULTS: dict[str, Default] = {
    "policy_awareness": Default(True, None, 10.0, "ratio", None,
                                "流动人口计划生育政策知晓率达到90%以上。"),
    "free_service_local": Default(True, None, 10.0, "ratio", None,
                                  "流动人口在流入地接受免费服务的比例逐年提高,2012年达到95%以上。"),
    "pregnancy_check": Default(True, None, 10.0, "ratio", None,
                               "流动已婚育龄妇女在现居住地免费接受孕检率达到90%以上。"),
    "contraceptive_access": Default(True, None, 10.0, "ratio", None,
                                    "流动人口免费药具获得率达到90%以上。"),
    "prepregnancy_consult": Default(True, None, 10.0, "ratio", None,
                                    "流动已婚育龄妇女获得免费孕前优生咨询等项目服务率达到80%以上。"),
    "rh_checks": Default(True, None, 10.0, "ratio", None,
                         "对持有《婚育证明》的流入已婚育龄妇女及时免费发放《生殖保健服务证》,"
                         "每年2次免费为其提供生殖健康检查。"),
    "community_management": Default(True, None, 10.0, "ratio", None,
                                    "社区流动人口计划生育服务管理落实率达到100%。"),
    "coverage": Default(True, 1.0, 10.0, "ratio", None,
                        "到2012年,全市计划生育基本公共服务覆盖全部流动人口"),
    "staffing": Default(False, 0.0, 10.0, "gap", 1.0,
                        "社区合理配备计划生育工作人员,满足流动人口服务管理需要"),
    # the plan names no figure for "clearly narrowed" (明显缩小): the tolerance of 20
    # percentage points is the scorecard's own setting, not the plan's (said so in the docs)
    "migrant_gap": Default(False, 0.0, 10.0, "gap", 0.2,
                           "流动人口与当地户籍人口计划生育基本公共服务差距明显缩小"),
    "funding": Default(False, 0.0, 10.0, "threshold", None,
                       "流动人口计划生育工作所需经费纳入财政预算,并实现与户籍人口同等标准投入。"),
}
"""Every indicator's defaults, in the scorecard's order."""

INDICATOR_NAMES = tuple(DEFAULTS)
"""The scorecard's indicators, in order."""


class AssessmentError(ValueError):
    """A bad ``[assessment]`` setting: ``where`` (the table and key) and the problem."""

    def __init__(self, where: str, text: str) -> None:
        super().__init__(f"{where}: {text}")
        self.where, self.text = where, text


@dataclass(frozen=True)
class Scored:
    """One indicator of the scorecard as set.

    Attributes
    ----------
    name
        The indicator (:data:`INDICATOR_NAMES`).
    target
        Its target (``None``: the run's target for the plan's indicators).
    weight
        Its weight (relative: a district's score is 100 × points / weights assessed).
    rule
        ``ratio``, ``threshold`` or ``gap`` (:data:`RULES`).
    tolerance
        The distance from the target that scores nothing under ``gap`` (``None`` otherwise).
    threshold_min
        The time threshold of ``coverage`` and ``migrant_gap`` (``None``: the run's largest).
    """

    name: str
    target: float | None
    weight: float
    rule: str
    tolerance: float | None = None
    threshold_min: float | None = None

    @property
    def higher_is_better(self) -> bool:
        """Whether the value is a share to raise (else a gap or shortfall, 0 best)."""
        return DEFAULTS[self.name].higher_is_better


@dataclass(frozen=True)
class Assessment:
    """The scorecard's indicators as set (:func:`parse_assessment`), in order."""

    indicators: tuple[Scored, ...]

    def __getitem__(self, name: str) -> Scored:
        """Return the setting of indicator ``name``."""
        return {s.name: s for s in self.indicators}[name]


def default_assessment() -> Assessment:
    """Return the scorecard's default settings (:data:`DEFAULTS`)."""
    return Assessment(tuple(Scored(name, d.target, d.weight, d.rule, d.tolerance)
                            for name, d in DEFAULTS.items()))


def _check_keys(table: Any, allowed: set[str] | tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise AssessmentError(f"[{where}]", f"{table!r} must be a table of settings, written as "
                              f"[{where}] with key = value lines below it")
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = (f"did you mean {close[0]!r}?" if close
                    else f"valid keys: {', '.join(sorted(allowed))}")
            raise AssessmentError(f"[{where}]", f"unknown key {key!r}; {hint}")
    return table


def _number(where: str, value: Any, *, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AssessmentError(where, f"{value!r} is not a number")
    if value < 0 or (strict and value == 0):
        raise AssessmentError(where, f"{value!r} must be {'>' if strict else '≥'} 0")
    return float(value)


def _indicator(name: str, table: Any, thresholds: tuple[float, ...]) -> Scored:
    where = f"assessment.indicators.{name}"
    default = DEFAULTS[name]
    allowed = _KEYS | ({"threshold_min"} if name in _AT_THRESHOLD else set())
    table = _check_keys(table, allowed, where)
    target = default.target
    if "target" in table:
        target = _number(f"[{where}] target", table["target"])
        if name in _SHARES and target > 1:
            raise AssessmentError(f"[{where}] target",
                                  f"{target:g} is a share and must be ≤ 1 (write 0.9 for 90 %)")
    weight = _number(f"[{where}] weight", table.get("weight", default.weight))
    rule = table.get("rule", default.rule)
    if rule not in RULES:
        raise AssessmentError(f"[{where}] rule",
                              f"{rule!r} is not a rule; use one of {', '.join(RULES)}")
    if rule == "ratio" and not default.higher_is_better:
        raise AssessmentError(f"[{where}] rule", f'"ratio" scores a share against its target; '
                              f"{name} is a gap (0 is best): use gap or threshold")
    tolerance = default.tolerance
    if "tolerance" in table:
        tolerance = _number(f"[{where}] tolerance", table["tolerance"], strict=True)
    if rule == "gap" and tolerance is None:
        raise AssessmentError(f"[{where}]", 'rule "gap" needs a tolerance: the distance from '
                              "the target that scores nothing, e.g. tolerance = 0.1")
    minutes = None
    if "threshold_min" in table:
        minutes = _number(f"[{where}] threshold_min", table["threshold_min"], strict=True)
        if thresholds and minutes not in thresholds:
            shown = ", ".join(f"{t:g}" for t in thresholds)
            raise AssessmentError(f"[{where}] threshold_min", f"{minutes:g} is not one of the "
                                  f"thresholds of [parameters] thresholds_min ({shown})")
    return Scored(name, target, weight, rule, tolerance if rule == "gap" else None, minutes)


def parse_assessment(table: Any, thresholds: tuple[float, ...] = ()) -> Assessment:
    """Read and check ``[assessment]``: the defaults, with the settings given.

    Parameters
    ----------
    table
        The ``[assessment]`` table of the project file (``{}`` when absent).
    thresholds
        The project's time thresholds (minutes), which ``threshold_min`` must be one of.

    Returns
    -------
    Assessment
        Every indicator of :data:`INDICATOR_NAMES`, in order.

    Raises
    ------
    AssessmentError
        For an unknown key (named, with the closest valid one) or a bad value.
    """
    table = _check_keys(table, {"indicators"}, "assessment")
    given = _check_keys(table.get("indicators", {}), INDICATOR_NAMES, "assessment.indicators")
    scored = tuple(_indicator(name, given.get(name, {}), thresholds) for name in DEFAULTS)
    if not any(s.weight > 0 for s in scored):
        raise AssessmentError("[assessment.indicators]",
                              "every weight is 0; give at least one indicator a weight")
    return Assessment(scored)
