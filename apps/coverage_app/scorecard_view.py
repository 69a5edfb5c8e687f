"""The scorecard and funding tabs: the districts ranked, a district's score, the budgets.

:class:`ScorecardView` shows the run's district scorecard as the run published it (the
districts ranked, with the change of each one's score and rank since the run kept before, or
why there is none) and the parts of the score of the district chosen: each indicator's value,
target, weight, points, whether it is met and the people still needed, with a bar of the points
earned of the weight. :class:`FundingView` shows the budgets per person of migrants and
registered residents by district, their gap and the budget lacking (or the one sentence saying
that funding needs a ``budgets`` layer), and what the current scenario costs, updated with
every edit. Every figure comes from the planning session
(:meth:`~coverage.engine.session.PlanningSession.scorecard`, ``scorecard_trend``, ``funding``,
``scenario_cost``); the tables are written here as HTML, every text escaped, each row carrying
its figures as ``data-`` attributes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import panel as pn

from coverage.engine.session import Trend
from coverage.publish.labels import column_label, scorecard_names, text
from coverage.report.content import fmt_value
from coverage.report.progress import trend_mark

from .state import AppState
from .views import DATAFRAME_CSS, _heading_html

__all__ = ["FundingView", "ScorecardView"]

_STYLE = (
    "<style>.cov-bar{height:12px;background:#e3e8ef;border-radius:2px;min-width:2px}"
    ".cov-bar-fill{height:12px;background:#2171b5;border-radius:2px}"
    ".cov-bar-reg{height:8px;background:#9aa3ad;border-radius:2px;margin-top:2px}"
    ".cov-bar-mig{height:8px;background:#2171b5;border-radius:2px}"
    ".cov-note{font-size:12px;color:#555;margin:4px 0 8px 0}"
    ".cov-sentence{font-size:14px;color:#7a4b00;background:#fff7e6;padding:6px 10px;"
    "margin:6px 0;border-radius:4px}"
    "table.panel-df{width:auto;min-width:520px;margin:0}"
    "table.panel-df td,table.panel-df th{white-space:nowrap;padding:4px 10px}"
    "table.panel-df th{white-space:normal;max-width:10em;vertical-align:bottom}"
    "table.panel-df td:first-child,table.panel-df th:first-child{text-align:left}"
    ".cov-ranking-table td:nth-child(2),.cov-ranking-table th:nth-child(2){text-align:left}"
    "</style>")
"""The bars' and notes' style (inline styles: the page's policy allows them)."""


def _t(key: str, lang: str, **fields: object) -> str:
    return text("app_scorecard", key, lang, **fields)


def _e(value: object) -> str:
    return html.escape(str(value))


def _data(value: object) -> str:
    """A figure as a ``data-`` attribute: ``repr`` of the float, empty when missing."""
    return "" if value is None or pd.isna(value) else repr(float(value))


def _table(headers: Sequence[str], rows: Sequence[tuple[dict[str, object], list[str]]],
           css: str) -> str:
    """An HTML table: escaped headers; rows of their ``data-`` attributes and cells' HTML."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for attrs, cells in rows:
        data = "".join(f' data-{key}="{_e(value)}"' for key, value in attrs.items())
        body.append(f"<tr{data}>{''.join(f'<td>{c}</td>' for c in cells)}</tr>")
    return (f'<table class="panel-df {css}" border="0"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _bar(share: float, width: float, css: str = "cov-bar-fill") -> str:
    """A horizontal bar ``width`` % wide, filled to ``share`` of it."""
    share = 0.0 if not np.isfinite(share) else min(max(share, 0.0), 1.0)
    return (f'<div class="cov-bar" style="width:{max(width, 0.0):.1f}%">'
            f'<div class="{css}" style="width:{100 * share:.1f}%"></div></div>')


def _value_text(indicator: str, value: object, lang: str, *, target: bool = False) -> str:
    """An indicator's value (or target) as shown: shares in %, the gap in points, yuan."""
    if value is None or pd.isna(value):
        return "—"
    if indicator == "funding":
        return _t("yuan_per_person", lang, v=fmt_value(value, "f2", lang))
    if indicator == "migrant_gap":
        return fmt_value(value, "pp", lang)
    if target and indicator == "rh_checks" and float(value) > 1:
        return f"{float(value):g}"
    return fmt_value(value, "pct", lang)


class ScorecardView(pn.viewable.Viewer):
    """The districts ranked by their score, and the parts of a chosen district's score."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.ranking = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[DATAFRAME_CSS],
                                    css_classes=["cov-scorecard-ranking"])
        self.parts = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[DATAFRAME_CSS],
                                  css_classes=["cov-scorecard-parts"])
        self._made = False
        state.param.watch(self._show_parts, ["scored"])
        state.param.watch(self._refresh, ["ready"])  # another travel mode: another run

    def _refresh(self, *_: Any) -> None:
        if self._made and self.state.ready:
            self.ranking.object = self._ranking_html()
            self._show_parts()

    # -- the districts ranked ---------------------------------------------------------------

    def _trend_note(self, trend: Trend) -> str:
        lang = self.state.lang
        if trend.table is not None:
            time = f"{pd.Timestamp(trend.time_before):%Y-%m-%d %H:%M} UTC"
            return (f'<div class="cov-note cov-trend-note">'
                    f'{_e(_t("trend_since", lang, time=time, run=trend.run_before))}</div>')
        key = {"first-run": "first_run", "not-kept": "not_kept",
               "not-comparable": "not_comparable"}.get(str(trend.reason), "store_unreadable")
        return (f'<div class="cov-sentence cov-trend-note" data-reason="{_e(trend.reason)}">'
                f'{_e(_t(key, lang, detail=trend.detail))}</div>')

    def _ranking_html(self) -> str:
        s = self.state
        lang = s.lang
        table = s.session.scorecard()
        if not len(table):
            return _e(_t("no_scorecard", lang))
        trend = s.session.scorecard_trend()
        districts = table.drop_duplicates("district")
        headers = [_t(k, lang) for k in ("col_rank", "col_district", "col_score", "col_met")]
        change = None
        if trend.table is not None:
            headers += [_t("col_trend", lang), _t("col_rank_change", lang)]
            change = trend.table.set_index("district").reindex(districts["district"])
            change["score_mark"] = trend_mark(change["score_change"]).to_numpy()
            change["rank_mark"] = trend_mark(change["rank_change"].astype(float)).to_numpy()
        rows = []
        for r in districts.itertuples(index=False):  # a row per district: a few
            ranked = not pd.isna(r.rank)
            attrs: dict[str, object] = {
                "district": r.district, "rank": "" if not ranked else int(r.rank),
                "score": _data(r.score), "met": int(r.met_count),
                "assessed": int(r.assessed_count)}
            cells = [_e(int(r.rank)) if ranked else _e(_t("not_ranked", lang)), _e(r.district),
                     _e(fmt_value(r.score, "f1", lang)),
                     _e(f"{int(r.met_count)} / {int(r.assessed_count)}")]
            if change is not None:
                c = change.loc[r.district]
                attrs.update({"score-change": _data(c["score_change"]),
                              "rank-change": _data(c["rank_change"])})
                rank_change = ("—" if pd.isna(c["rank_change"]) else "= 0"
                               if c["rank_change"] == 0
                               else f"{c['rank_mark']} {int(c['rank_change']):+d}")
                cells += [_e("—" if pd.isna(c["score_change"]) else
                             f"{c['score_mark']} {fmt_value(c['score_change'], 'f1+', lang)}"),
                          _e(rank_change.replace("-", "−"))]
            rows.append((attrs, cells))
        return (f"{_STYLE}{_heading_html(_t('ranking', lang))}"
                f"{_table(headers, rows, 'cov-ranking-table')}"
                f'<div class="cov-note">{_e(_t("ranking_note", lang))}</div>'
                f"{self._trend_note(trend)}")

    # -- one district's parts ---------------------------------------------------------------

    def _parts_html(self, district: str) -> str:
        s = self.state
        lang = s.lang
        table = s.session.scorecard()
        rows = table[table["district"] == district]
        if not len(rows):
            return ""
        names = scorecard_names(lang)
        widest = float(rows["weight"].max()) or 1.0
        out = []
        for r in rows.itertuples(index=False):  # a row per indicator: eleven
            if not bool(r.assessed):
                met = _t(f"reason_{r.reason}", lang)
            else:
                met = _t("met_yes" if bool(r.met) else "met_no", lang)
            needed = ("—" if pd.isna(r.people_needed) or not bool(r.assessed)
                      else fmt_value(r.people_needed, "int", lang))
            share = float(r.points) / float(r.weight) if r.weight and not pd.isna(
                r.points) else 0.0
            out.append(({"indicator": r.indicator, "value": _data(r.value),
                         "target": _data(r.target), "weight": _data(r.weight),
                         "points": _data(r.points), "needed": _data(r.people_needed),
                         "met": "" if not bool(r.assessed) else str(bool(r.met)).lower()},
                        [_e(names.get(r.indicator, r.indicator)),
                         _e(_value_text(r.indicator, r.value, lang)),
                         _e(_value_text(r.indicator, r.target, lang, target=True)),
                         _e(f"{float(r.weight):g}"),
                         _e(fmt_value(r.points, "f1", lang)), _e(met), _e(needed),
                         _bar(share, 100 * float(r.weight) / widest)]))
        first = rows.iloc[0]
        headers = [_t(k, lang) for k in ("col_indicator", "col_value", "col_target",
                                         "col_weight", "col_points", "col_met_one",
                                         "col_needed", "col_bar")]
        summary = (f"{_t('col_score', lang)} {fmt_value(first['score'], 'f1', lang)} · "
                   f"{_t('col_rank', lang)} "
                   f"{'—' if pd.isna(first['rank']) else int(first['rank'])} · "
                   f"{_t('col_met', lang)} {int(first['met_count'])} / "
                   f"{int(first['assessed_count'])}")
        return (f"{_STYLE}{_heading_html(_t('parts', lang, district=district))}"
                f'<div class="cov-note cov-parts-summary">{_e(summary)}</div>'
                f"{_table(headers, out, 'cov-parts-table')}"
                f'<div class="cov-note">{_e(_t("needed_note", lang))}</div>')

    def _show_parts(self, *_: Any) -> None:
        self.parts.object = self._parts_html(self.state.scored)

    def __panel__(self) -> pn.viewable.Viewable:
        s = self.state
        districts = list(dict.fromkeys(s.session.scorecard()["district"].astype(str)))
        if s.scored not in districts:
            s.scored = districts[0] if districts else ""
        choice = pn.widgets.Select(name=_t("choose", s.lang), options=districts, value=s.scored,
                                   width=250, css_classes=["cov-scorecard-district"])
        choice.link(s, value="scored", bidirectional=True)
        self._made = True
        self.ranking.object = self._ranking_html()
        self._show_parts()
        return pn.Column(self.ranking, choice, self.parts, sizing_mode="stretch_width")


class FundingView(pn.viewable.Viewer):
    """The budgets per person by district, and what the current scenario costs."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.funding = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[DATAFRAME_CSS],
                                    css_classes=["cov-funding"])
        self.cost = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[DATAFRAME_CSS],
                                 css_classes=["cov-scenario-cost"])
        self._made = False  # the cost is evaluated once the tab is made
        state.param.watch(self._show_cost, ["version", "ready", "lang"])

    def _funding_html(self) -> str:
        s = self.state
        lang = s.lang
        table = s.session.funding()
        if table is None:
            reason = s.session.funding_reason()
            return (f'{_STYLE}<div class="cov-sentence cov-no-budgets" data-reason="'
                    f'{_e(reason)}">{_e(_t("no_budgets", lang))}</div>')
        columns = ["funding_migrant_per_capita", "funding_registered_per_capita",
                   "funding_gap_per_capita", "funding_standard_per_capita",
                   "funding_migrant_yuan", "funding_needed_yuan"]
        widest = np.nanmax(np.r_[table["funding_migrant_per_capita"].to_numpy(float),
                                 table["funding_registered_per_capita"].to_numpy(float), 1e-9])
        rows = []
        for r in table.itertuples(index=False):  # a row per district: a few
            city = r.level == "city"
            mig, reg = float(r.funding_migrant_per_capita), float(r.funding_registered_per_capita)
            bars = (f'<div style="width:160px"><div class="cov-bar-mig" style="width:'
                    f'{100 * np.nan_to_num(mig) / widest:.1f}%"></div><div class="cov-bar-reg" '
                    f'style="width:{100 * np.nan_to_num(reg) / widest:.1f}%"></div></div>')
            cells = [_e(s.t("all_districts") if city else r.district)]
            cells += [_e(fmt_value(getattr(r, c), "f2" if c.endswith("capita") else "yuan",
                                   lang)) for c in columns]
            rows.append(({"district": r.district, "level": r.level, "migrant": _data(mig),
                          "registered": _data(reg), "gap": _data(r.funding_gap_per_capita),
                          "standard": _data(r.funding_standard_per_capita),
                          "budget-migrant": _data(r.funding_migrant_yuan),
                          "needed": _data(r.funding_needed_yuan)}, [*cells, bars]))
        headers = [_t("col_unit", lang), *(column_label(c, lang=lang) for c in columns),
                   _t("col_compare", lang)]
        year = int(table["funding_year"].iloc[0])
        return (f"{_STYLE}{_heading_html(_t('funding_title', lang, year=year))}"
                f"{_table(headers, rows, 'cov-funding-table')}"
                f'<div class="cov-note">{_e(_t("funding_note", lang))}</div>')

    def _cost_html(self) -> str:
        s = self.state
        lang = s.lang
        heading = _heading_html(_t("cost_title", lang))
        if not s.ready:
            return f'{heading}<div class="cov-note">{_e(_t("cost_waiting", lang))}</div>'
        cost = s.scenario_cost()
        first = cost.iloc[0]
        note = _t("cost_note", lang, site=fmt_value(first["site_cost_yuan"], "yuan", lang),
                  staff=fmt_value(first["staff_cost_yuan_per_year"], "yuan", lang))
        if not s.session.edits:
            return (f'{_STYLE}{heading}<div class="cov-note cov-no-edits">'
                    f'{_e(_t("no_edits", lang))}</div><div class="cov-note">{_e(note)}</div>')
        columns = ["new_sites", "new_staff", "cost_sites_yuan", "cost_staff_yuan_per_year",
                   "budget_needed_yuan"]
        kinds = {"new_sites": "int", "new_staff": "f1"}
        rows = [({"district": r["district"], "level": r["level"],
                  **{c.replace("_", "-"): _data(r[c]) for c in columns}},
                 [_e(s.t("all_districts") if r["level"] == "city" else r["district"]),
                  *(_e(fmt_value(r[c], kinds.get(c, "yuan"), lang)) for c in columns)])
                for _, r in cost.iterrows()]
        headers = [_t("col_unit", lang), *(column_label(c, lang=lang) for c in columns)]
        return (f"{_STYLE}{heading}{_table(headers, rows, 'cov-cost-table')}"
                f'<div class="cov-note">{_e(note)}</div>')

    def _show_cost(self, event: Any = None) -> None:
        if not self._made:
            return
        if event is not None and event.name == "ready":  # another travel mode: another run
            self.funding.object = self._funding_html()
        self.cost.object = self._cost_html()

    def __panel__(self) -> pn.viewable.Viewable:
        self._made = True
        self.funding.object = self._funding_html()
        self._show_cost()
        return pn.Column(self.funding, self.cost, sizing_mode="stretch_width")
