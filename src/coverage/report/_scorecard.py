"""What the quarterly progress report and the self-assessment share: scorecard words and tables.

The names of the scorecard's indicators, rules and reasons in the report's language, each
indicator's number format, the arrows of a change, the facts under the title (the run and the
previous one) and the table of a district's scorecard (indicator, value, target, weight, rule,
points, met, people still needed). Nothing here computes a figure: the figures are those of
:mod:`coverage.engine.quarter`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from coverage.engine.quarter import Quarter
from coverage.publish.disclosure import assert_no_personal
from coverage.report.content import Table, _Text, fmt_value
from coverage.report.progress import trend_mark

#: Number format of each indicator's value that is no share: a gap of shares, yuan per person.
_VALUE_FORMATS = {"migrant_gap": "pp", "funding": "f2"}

_PART_COLUMNS = ("indicator_name", "value", "target", "weight", "rule_text", "points",
                 "met_text", "people_needed")


def value_format(indicator: str) -> str:
    """Return the number format of an indicator's value (:func:`fmt_value`): a share ``pct``."""
    return _VALUE_FORMATS.get(indicator, "pct")


def indicator_name(t: _Text, indicator: str) -> str:
    """Return the name of a scorecard indicator in the report's language."""
    return t.ind.get(indicator) or t(f"score_ind_{indicator}")


def _amount(t: _Text, value: float, kind: str) -> str:
    """Return a tolerance in words: shares in %, differences of shares in percentage points."""
    if kind == "pp":
        return t("pp", v=f"{100 * value:g}")
    return fmt_value(value, kind, t.lang).replace(".0%", "%")


def rule_text(t: _Text, rows: pd.DataFrame) -> list[str]:
    """Return each row's scoring rule in words (with the tolerance of ``gap``)."""
    out = []
    for name, rule, tolerance in zip(rows["indicator"], rows["rule"], rows["tolerance"],
                                     strict=True):
        if rule == "gap" and pd.notna(tolerance):
            out.append(t("rule_gap", tol=_amount(t, float(tolerance), value_format(name))))
        else:
            out.append(t(f"rule_{rule}"))
    return out


def met_text(t: _Text, rows: pd.DataFrame) -> list[str]:
    """Return met, not met, or not assessed with the reason, for each scorecard row."""
    out = []
    for assessed, met, reason in zip(rows["assessed"], rows["met"], rows["reason"],
                                     strict=True):
        if not bool(assessed):
            out.append(t("not_assessed", reason=t(f"reason_{reason}")) if isinstance(reason, str)
                       else t("not_assessed_plain"))
        else:
            out.append(t("met") if bool(met) else t("not_met"))
    return out


def met_words(t: _Text, met: pd.Series) -> list[str]:
    """Return met / not met, ``—`` where unknown (not assessed or no such run)."""
    values = met.astype("boolean")
    return ["—" if pd.isna(m) else t("met") if bool(m) else t("not_met") for m in values]


def parts_table(t: _Text, rows: pd.DataFrame, *, key: str, title: str, sheet: str = "") -> Table:
    """Return the table of a district's scorecard: one row per indicator.

    ``rows`` are the district's rows of the scorecard (:attr:`Quarter.scorecard`).
    """
    frame = pd.DataFrame({
        "indicator_name": [indicator_name(t, i) for i in rows["indicator"]],
        "value": rows["value"].to_numpy(float), "target": rows["target"].to_numpy(float),
        "weight": rows["weight"].to_numpy(float), "rule_text": rule_text(t, rows),
        "points": rows["points"].to_numpy(float), "met_text": met_text(t, rows),
        "people_needed": pd.array(rows["people_needed"], dtype="Float64").astype("Int64"),
    })
    assert_no_personal(frame)
    labels = {c: t(f"col_sc_{c}") for c in _PART_COLUMNS}
    kinds = {c: "text" for c in _PART_COLUMNS} | {
        "value": "row", "target": "row", "weight": "f1", "points": "f2", "people_needed": "int"}
    return Table(key=key, title=title, frame=frame, labels=labels, formats=kinds,
                 source="scorecard", row_formats=[value_format(i) for i in rows["indicator"]],
                 sheet=sheet)


def arrows(change: pd.Series) -> pd.Series:
    """Return the arrow of each change: ``▲`` up, ``▼`` down, ``=`` none, ``—`` unknown."""
    return trend_mark(pd.Series(pd.to_numeric(change, errors="coerce").to_numpy(
        dtype=float, na_value=np.nan), index=change.index))


def _when(t: _Text, run_id: str | None, time: pd.Timestamp | None) -> str:
    """Return a run's id and when it was written (UTC); "none" without a run."""
    if run_id is None:
        return t("none")
    if time is None:
        return run_id
    return t("run_and_time", id=run_id, time=time.strftime("%Y-%m-%d %H:%M UTC"))


def run_meta(t: _Text, quarter: Quarter, scope: str, date: dt.date | None
             ) -> list[tuple[str, str]]:
    """Return the facts under the title: scope, date, the run and the previous one."""
    info = quarter.layers.get("run_info")
    mode = None
    if info is not None:
        saved = dict(zip(info["key"].astype(str), info["value"].astype(str), strict=True))
        mode = saved.get("mode")
    meta = [(t("meta_scope"), scope),
            (t("meta_date"), (date or dt.date.today()).isoformat()),
            (t("meta_run_this"), _when(t, quarter.run, quarter.run_time("run"))),
            (t("meta_run_previous"), _when(t, quarter.previous, quarter.run_time("previous")))]
    if mode and f"mode_{mode}" in t.m:
        meta.append((t("meta_mode"), t(f"mode_{mode}")))
    return meta


def previous_words(t: _Text, quarter: Quarter) -> str | None:
    """Return why no change is shown (no earlier run, or it cannot be compared); else ``None``."""
    if quarter.previous is None:
        return t("txt_no_previous")
    if not quarter.compared:
        return t("txt_previous_refused", id=quarter.previous)
    return None
