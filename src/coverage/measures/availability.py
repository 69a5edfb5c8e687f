"""Which analyses a project's data allows, and why the others are not computed.

Every optional column and optional layer of the data model (``docs/data.md``) may be absent. The
loader gives every layer all of its columns (an absent optional column is all empty, see
:mod:`coverage.io.layers`), so the question here is only whether a column *has values*. An
analysis whose data is missing is not computed, and its reason is recorded once, in the
``run_info`` layer (keys ``skipped:<analysis>`` and ``estimated:<analysis>``). The CLI summary,
the reports and the web app read the reasons from there; nothing else decides what was skipped.

Reasons are stable codes (``no-arrival-dates`` ...); their texts are in the message catalogue
(group ``availability``), in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from coverage.measures.indicators import INDICATORS, indicator_names
from coverage.messages import text

__all__ = [
    "ANALYSES",
    "Requirement",
    "analysis_name",
    "columns_with_values",
    "describe",
    "estimated_analyses",
    "from_run_info",
    "reason_text",
    "skipped_analyses",
    "skipped_of_columns",
]


@dataclass(frozen=True)
class Requirement:
    """An analysis and the columns it needs values in.

    Attributes
    ----------
    analysis
        The analysis (usually the name of the result layer it fills).
    layer
        The input layer the columns belong to.
    columns
        Columns that must each hold at least one value.
    reason
        Reason code recorded when one of them is empty.
    """

    analysis: str
    layer: str
    columns: tuple[str, ...]
    reason: str


_GROUP_COLUMNS = {
    "all": (),
    "married_women": ("sex", "marital_status", "birth_year"),
    "certified_women": ("sex", "marital_status", "birth_year", "has_marriage_cert"),
}

ANALYSES: tuple[Requirement, ...] = (
    Requirement("inflow_trends", "migrants", ("arrived_on",), "no-arrival-dates"),
    Requirement("origin_flows", "migrants", ("hukou_code",), "no-origin-codes"),
    Requirement("commute_flows", "migrants", ("work_x", "work_y"), "no-workplaces"),
    Requirement("workplace_clusters", "migrants", ("work_x", "work_y"), "no-workplaces"),
    Requirement("indicator_quarters", "migrants", ("recorded_on",), "no-record-dates"),
    *(Requirement(f"indicator:{i.key}", "migrants", (i.record,), "no-service-records")
      for i in INDICATORS),
    *(Requirement(f"indicator:{i.key}", "migrants", _GROUP_COLUMNS[i.group], "no-target-group")
      for i in INDICATORS if _GROUP_COLUMNS[i.group]),
    Requirement("funding", "budgets", ("budget_migrant",), "no-budgets"),
)
"""Every analysis that needs optional data, with what it needs (first unmet reason wins)."""


def _has_values(frame: pd.DataFrame | None, column: str) -> bool:
    return frame is not None and column in frame and bool(frame[column].notna().any())


def skipped_analyses(layers: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Return analysis → reason code for every analysis the data does not allow.

    Parameters
    ----------
    layers
        The loaded input layers by name (``StudyData.layers``).

    Returns
    -------
    dict
        In :data:`ANALYSES` order; an analysis with several unmet needs gets its first reason.
    """
    return skipped_of_columns({name: columns_with_values(frame)
                               for name, frame in layers.items()})


def columns_with_values(frame: pd.DataFrame | None) -> set[str]:
    """Return the columns of a layer that hold at least one value.

    For a layer read in parts, the union of the parts' sets is the whole layer's.
    """
    if frame is None:
        return set()
    return {str(c) for c in frame.columns if _has_values(frame, c)}


def skipped_of_columns(present: dict[str, set[str]]) -> dict[str, str]:
    """Return :func:`skipped_analyses` from the columns with values of each layer."""
    out: dict[str, str] = {}
    for req in ANALYSES:
        if req.analysis in out:
            continue
        if not all(c in present.get(req.layer, set()) for c in req.columns):
            out[req.analysis] = req.reason
    return out


def estimated_analyses(layers: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Return analysis → reason code for analyses computed from an approximation.

    Without a ``registered_points`` layer, registered residents are spread evenly over each
    community (their count is the required ``registered_pop``), so the migrant–registered
    comparisons are estimates rather than skipped.
    """
    out: dict[str, str] = {}
    if layers.get("registered_points") is None:
        out["registered_comparison"] = "no-registered-points"
    return out


def reason_text(reason: str, lang: str = "zh") -> str:
    """Return the sentence for a reason code, e.g. ``未计算：缺少来本地日期``."""
    return text("availability", reason, lang)


def from_run_info(info: pd.DataFrame | None, prefix: str = "skipped") -> dict[str, str]:
    """Read the reasons recorded in a ``run_info`` table (``prefix`` ``skipped`` or ``estimated``).

    Returns
    -------
    dict
        Analysis → reason code; empty when ``info`` is None.
    """
    if info is None or not len(info):
        return {}
    keys = info["key"].astype(str)
    mark = f"{prefix}:"
    chosen = keys.str.startswith(mark)
    return dict(zip(keys[chosen].str.slice(len(mark)), info["value"].astype(str)[chosen],
                    strict=True))


def analysis_name(analysis: str, lang: str = "zh") -> str:
    """Display name of an analysis (an indicator's name for ``indicator:<key>``)."""
    if analysis.startswith("indicator:"):
        return indicator_names(lang)[analysis.split(":", 1)[1]]
    return text("analyses", analysis, lang)


def describe(reasons: dict[str, str], lang: str = "zh") -> list[str]:
    """One line per analysis: ``<name>: <reason>`` (for the CLI summary and the reports)."""
    return [f"{analysis_name(a, lang)}: {reason_text(r, lang)}" for a, r in reasons.items()]
