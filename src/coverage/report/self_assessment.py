"""A district's self-assessment (自查自评报告): ``--kind self-assessment --district NAME``.

For one district's office: its score and rank among the districts, the targets it met (with
their values), those it did not (the distance to the target and the people still needed),
the change since the previous quarter where there is one, its funding figures where the run
has them (else why not), and the actions the run recommends for it (new service points, staff
added or moved, and their cost), then its whole scorecard. Nothing of another district is
shown but the district's own rank among them.

It shows a :class:`coverage.engine.quarter.DistrictQuarter` and computes nothing of its own;
the writers are the report's (HTML, XLSX, PDF).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from coverage.engine.quarter import DistrictQuarter, Quarter
from coverage.measures.availability import reason_text
from coverage.publish.disclosure import DEFAULT_MIN_CELL, assert_no_personal
from coverage.report._scorecard import (
    arrows,
    indicator_name,
    met_words,
    parts_table,
    previous_words,
    run_meta,
    value_format,
)
from coverage.report._self_actions import actions_section
from coverage.report.content import Report, Section, Table, _Text, fmt_value

__all__ = ["build_self_assessment"]


def _standing(t: _Text, part: DistrictQuarter) -> list[str]:
    """Return the district's score and rank, and their change since the previous quarter."""
    row = part.standing
    if pd.isna(row["rank"]):
        return [t("sum_sa_no_score", district=part.district)]
    out = [t("sum_sa_score", district=part.district, score=fmt_value(row["score"], "f1", t.lang),
             n=part.ranked, rank=int(row["rank"]), assessed=int(row["assessed_count"]),
             met=int(row["met_count"]))]
    if part.changes is None:
        return out
    if pd.isna(row["score_before"]):
        out.append(t("sum_sa_new"))
        return out
    score_change, rank_change = pd.Series([row["score_change"]]), pd.Series([row["rank_change"]])
    out.append(t(
        "sum_sa_change", before=fmt_value(row["score_before"], "f1", t.lang),
        after=fmt_value(row["score"], "f1", t.lang),
        change=fmt_value(row["score_change"], "f2+", t.lang), arrow=arrows(score_change)[0],
        rank_before=fmt_value(row["rank_before"], "int", t.lang), rank=int(row["rank"]),
        rank_change=fmt_value(row["rank_change"], "int+", t.lang),
        rank_arrow=arrows(rank_change)[0],
        met_before=fmt_value(row["met_count_before"], "int", t.lang),
        met=int(row["met_count"])))
    return out


def _overview(t: _Text, quarter: Quarter, part: DistrictQuarter) -> Section:
    s = Section("overview", t("sec_sa_overview"), paragraphs=_standing(t, part))
    why = previous_words(t, quarter)
    if why is not None:
        s.paragraphs.append(why)
    elif part.plan is not None:
        s.paragraphs.append(t("sum_progress", scope=part.district, **part.plan))
    s.paragraphs.append(t("txt_sc_score"))
    return s


def _rows_table(t: _Text, rows: pd.DataFrame, columns: dict[str, tuple[pd.Series, str]],
                key: str) -> Table:
    """Return a table of scorecard rows; ``columns``: column → (values, format)."""
    frame = pd.DataFrame({"indicator_name": [indicator_name(t, i) for i in rows["indicator"]]}
                         | {c: v.to_numpy() for c, (v, _) in columns.items()})
    assert_no_personal(frame)
    formats = {"indicator_name": "text"} | {c: f for c, (_, f) in columns.items()}
    return Table(key=key, title=t(f"tab_sa_{key}"), frame=frame,
                 labels={c: t(f"col_sc_{c}") for c in frame.columns},
                 formats=formats, source="scorecard",
                 row_formats=[value_format(i) for i in rows["indicator"]],
                 sheet=t(f"sheet_sa_{key}"))


def _achieved(t: _Text, part: DistrictQuarter) -> Section:
    s = Section("achieved", t("sec_sa_achieved"))
    card = part.card
    met = card[card["met"].astype("boolean").fillna(False).to_numpy(bool)]
    if not len(met):
        s.paragraphs.append(t("txt_sa_none_met"))
        return s
    s.tables.append(_rows_table(t, met, {
        "value": (met["value"], "row"), "target": (met["target"], "row"),
        "points": (met["points"], "f2"), "weight": (met["weight"], "f1")}, "achieved"))
    return s


def _missing(t: _Text, part: DistrictQuarter) -> Section:
    s = Section("missing", t("sec_sa_missing"))
    card = part.card
    short = card[(~card["met"].astype("boolean").fillna(True)).to_numpy(bool)]
    if not len(short):
        s.paragraphs.append(t("txt_sa_all_met"))
    else:
        s.paragraphs.append(t("txt_sa_missing"))
        s.tables.append(_rows_table(t, short, {
            "value": (short["value"], "row"), "target": (short["target"], "row"),
            "to_target": (short["to_target"], "row_change"),
            "people_needed": (pd.array(short["people_needed"], dtype="Float64"), "int")},
            "missing"))
    skipped = card[~card["assessed"].to_numpy(bool)]
    if len(skipped):
        names = [t("not_assessed_item", indicator=indicator_name(t, i),
                   reason=t(f"reason_{r}") if isinstance(r, str) else t("none"))
                 for i, r in zip(skipped["indicator"], skipped["reason"], strict=True)]
        s.paragraphs.append(t("txt_sa_not_assessed", items=t("list_sep").join(names)))
    return s


def _changes(t: _Text, quarter: Quarter, part: DistrictQuarter) -> Section:
    s = Section("changes", t("sec_sa_changes"))
    why = previous_words(t, quarter)
    if why is not None or part.changes is None:
        s.paragraphs.append(why or t("txt_no_previous"))
        return s
    rows = part.changes
    frame = pd.DataFrame({
        "indicator_name": [indicator_name(t, i) for i in rows["indicator"]],
        "value_before": rows["value_before"].to_numpy(float),
        "value_after": rows["value_after"].to_numpy(float),
        "change": rows["change"].to_numpy(float), "trend": arrows(rows["change"]).to_numpy(),
        "met_before_text": met_words(t, rows["met_before"]),
        "met_after_text": met_words(t, rows["met_after"])})
    assert_no_personal(frame)
    formats = {c: "text" for c in frame.columns} | {
        "value_before": "row", "value_after": "row", "change": "row_change"}
    s.paragraphs.append(t("txt_sa_changes"))
    s.tables.append(Table(key="changes", title=t("tab_sa_changes"), frame=frame,
                          labels={c: t(f"col_sc_{c}") for c in frame.columns},
                          formats=formats, source="scorecard",
                          row_formats=[value_format(i) for i in rows["indicator"]],
                          sheet=t("sheet_sa_changes")))
    return s


_FUNDING_COLUMNS = ("funding_registered_per_capita", "funding_migrant_per_capita",
                    "funding_gap_per_capita", "funding_standard_per_capita",
                    "funding_migrant_yuan", "funding_needed_yuan")


def _funding(t: _Text, quarter: Quarter, part: DistrictQuarter) -> Section:
    s = Section("funding", t("sec_sa_funding"))
    if part.funding is None:
        s.paragraphs.append(reason_text(part.funding_reason, t.lang) if part.funding_reason
                            else t("txt_sa_no_funding"))
        return s
    row = part.funding
    info = quarter.layers.get("run_info")
    saved = ({} if info is None else
             dict(zip(info["key"].astype(str), info["value"].astype(str), strict=True)))
    standard = saved.get("funding_standard", "district_registered_per_capita")
    words = t(f"std_{standard}") if f"std_{standard}" in t.m else t("std_yuan", n=standard)
    s.paragraphs.append(t("txt_funding", year=int(row["funding_year"].iloc[0]), standard=words))
    columns = [c for c in _FUNDING_COLUMNS if c in row]
    frame = row[columns].reset_index(drop=True)
    s.tables.append(Table(key="funding", title=t("tab_sa_funding"), frame=frame,
                          labels={c: t.col(c) for c in columns},
                          formats={c: ("yuan" if c.endswith("_yuan") else "f2")
                                   for c in columns},
                          source="funding", sheet=t("sheet_sa_funding")))
    return s


def build_self_assessment(
    quarter: Quarter,
    district: str,
    *,
    project_name: str,
    lang: str = "zh",
    min_cell: int = DEFAULT_MIN_CELL,
    date: dt.date | None = None,
) -> Report:
    """Assemble a district's self-assessment report from a quarter.

    Parameters
    ----------
    quarter
        :func:`coverage.engine.quarter.read_quarter`.
    district
        The district (its name as in the run's scorecard).
    project_name
        Name printed above the heading.
    lang
        ``zh`` (default) or ``en``.
    min_cell
        Smallest published count, said in the privacy note.
    date
        Date printed on the report (default today).

    Raises
    ------
    ValueError
        When the district is not in the run's scorecard (naming those that are).
    """
    t = _Text(lang)
    part = quarter.district(district)
    whole = parts_table(t, part.card, key="card", title=t("tab_sa_card"),
                        sheet=t("sheet_sa_card"))
    sections = [_overview(t, quarter, part), _achieved(t, part), _missing(t, part),
                _changes(t, quarter, part), _funding(t, quarter, part),
                actions_section(t, part),
                Section("card", t("sec_sa_card"), paragraphs=[t("txt_sc_parts")],
                        tables=[whole])]
    return Report(lang=lang, title=t("title_sa", name=project_name, district=district),
                  meta=run_meta(t, quarter, district, date), sections=sections,
                  min_cell=min_cell, privacy_note=t("meta_privacy", n=min_cell),
                  district=district, project=project_name,
                  heading=t("heading_sa", district=district))
