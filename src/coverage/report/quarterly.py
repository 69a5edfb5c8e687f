"""The quarterly progress report of the districts (季度进展报告): ``--kind progress``.

For the city office: every district's scorecard ranked (rank, district, score 0–100,
indicators met and assessed, and the change since the previous quarter: score, rank and their
arrows), how many districts met each target in both quarters, the plan's indicators met by
the city and its districts, then each district's scorecard in its parts (indicator, value,
target, weight, rule, points, met, people still needed). Without a previous run the report
says so and shows this quarter's scorecard.

It shows a :class:`coverage.engine.quarter.Quarter` and computes nothing of its own; the
writers are the report's (HTML, XLSX, PDF), so everything from the data is escaped and the
privacy note is printed as in every report.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from coverage.engine.quarter import Quarter
from coverage.publish.disclosure import DEFAULT_MIN_CELL, assert_no_personal
from coverage.report._scorecard import (
    arrows,
    indicator_name,
    parts_table,
    previous_words,
    run_meta,
)
from coverage.report.content import Report, Section, Table, _Text, fmt_value

__all__ = ["build_quarterly_report"]

_RANK_NOW = ("rank", "district", "score", "met_count", "assessed_count")
_RANK_CHANGE = ("score_before", "score_change", "score_trend", "rank_before", "rank_change",
                "rank_trend")
_RANK_FORMATS = {"rank": "int", "district": "text", "score": "f1", "met_count": "int",
                 "assessed_count": "int", "score_before": "f1", "score_change": "f2+",
                 "score_trend": "text", "rank_before": "int", "rank_change": "int+",
                 "rank_trend": "text"}
_TARGET_NOW = ("indicator_name", "assessed", "met")
_TARGET_CHANGE = ("met_before", "met_change", "met_trend")
_TARGET_FORMATS = {"indicator_name": "text", "assessed": "int", "met": "int",
                   "met_before": "int", "met_change": "int+", "met_trend": "text"}


def _ranking_table(t: _Text, quarter: Quarter) -> Table:
    """Return the districts ranked, with the change since the previous quarter if compared."""
    ranking = quarter.ranking
    frame = ranking[list(_RANK_NOW)].copy()
    columns = list(_RANK_NOW)
    if quarter.compared:
        frame = frame.assign(score_before=ranking["score_before"],
                             score_change=ranking["score_change"],
                             score_trend=arrows(ranking["score_change"]),
                             rank_before=ranking["rank_before"],
                             rank_change=ranking["rank_change"],
                             rank_trend=arrows(ranking["rank_change"]))
        columns += list(_RANK_CHANGE)
    assert_no_personal(frame)
    return Table(key="ranking", title=t("tab_sc_ranking"), frame=frame[columns],
                 labels={c: t(f"col_sc_{c}") for c in columns},
                 formats={c: _RANK_FORMATS[c] for c in columns}, source="scorecard",
                 notes=[t("txt_sc_rank_note")], sheet=t("sheet_sc_ranking"))


def _targets_table(t: _Text, quarter: Quarter) -> Table:
    """How many districts met each target, this quarter and the previous."""
    targets = quarter.targets
    frame = pd.DataFrame({"indicator_name": [indicator_name(t, i)
                                             for i in targets["indicator"]],
                          "assessed": targets["assessed"], "met": targets["met"]})
    columns = list(_TARGET_NOW)
    if quarter.compared:
        frame = frame.assign(met_before=targets["met_before"],
                             met_change=targets["met_change"],
                             met_trend=arrows(targets["met_change"]))
        columns += list(_TARGET_CHANGE)
    return Table(key="targets", title=t("tab_sc_targets"), frame=frame[columns],
                 labels={c: t(f"col_sc_{c}") for c in columns},
                 formats={c: _TARGET_FORMATS[c] for c in columns}, source="scorecard",
                 sheet=t("sheet_sc_targets"))


def _overview(t: _Text, quarter: Quarter) -> Section:
    """Return the quarter in a few sentences, the ranking and the targets met."""
    now, before = quarter.every_target
    s = Section("overview", t("sec_sc_overview"))
    s.paragraphs.append(t("sum_sc_city", n=len(quarter.districts), ranked=quarter.ranked,
                          all=now))
    why = previous_words(t, quarter)
    if why is not None:
        s.paragraphs.append(why)
    else:
        s.paragraphs.append(t("sum_sc_city_before", all=before))
        plan = quarter.plan()
        if plan is not None:
            s.paragraphs.append(t("sum_progress", scope=t("sum_progress_scope_city"), **plan))
    s.paragraphs.append(t("txt_sc_score"))
    s.tables += [_ranking_table(t, quarter), _targets_table(t, quarter)]
    return s


def _parts_section(t: _Text, quarter: Quarter) -> Section:
    """Each district's scorecard in its parts, in the order of the ranking."""
    s = Section("parts", t("sec_sc_parts"), paragraphs=[t("txt_sc_parts")])
    card = quarter.scorecard
    for k, row in enumerate(quarter.ranking.itertuples(index=False)):
        rows = card[card["district"] == row.district]
        if pd.isna(row.rank):
            title = t("tab_sc_parts_unranked", district=row.district)
        else:
            title = t("tab_sc_parts", district=row.district,
                      score=fmt_value(row.score, "f1", t.lang), rank=int(row.rank),
                      met=int(row.met_count), assessed=int(row.assessed_count))
        s.tables.append(parts_table(t, rows, key=f"parts-{k}", title=title,
                                    sheet=str(row.district)))
    return s


def build_quarterly_report(
    quarter: Quarter,
    *,
    project_name: str,
    lang: str = "zh",
    min_cell: int = DEFAULT_MIN_CELL,
    date: dt.date | None = None,
) -> Report:
    """Assemble the quarterly progress report of the districts from a quarter.

    Parameters
    ----------
    quarter
        :func:`coverage.engine.quarter.read_quarter`.
    project_name
        Name printed above the heading.
    lang
        ``zh`` (default) or ``en``.
    min_cell
        Smallest published count, said in the privacy note.
    date
        Date printed on the report (default today).

    Returns
    -------
    Report
        Sections: the overview (the ranking and the targets met) and each district's
        scorecard.
    """
    t = _Text(lang)
    return Report(lang=lang, title=t("title_sc_quarterly", name=project_name),
                  meta=run_meta(t, quarter, t("scope_city"), date),
                  sections=[_overview(t, quarter), _parts_section(t, quarter)],
                  min_cell=min_cell, privacy_note=t("meta_privacy", n=min_cell),
                  project=project_name, heading=t("heading_sc_quarterly"))
