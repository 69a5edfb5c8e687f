"""The log-in to a project's PostGIS store, and the page of a district office's log-in.

When the project keeps its runs in PostGIS (``[store] url``), a page starts with a log-in
form: the user's database name and password, checked by the database itself
(:func:`coverage.engine.session.log_in`). A district's log-in then gets
:class:`DistrictPage`, built only from what the database hands that log-in (its district's
rows of any run, as published): the cards, the change since the previous run, its
communities and indicators, a map of its communities and its report. Whatever this page
does, it holds nothing of another district. A city or writer log-in gets the planning app
(:class:`~coverage_app.app.CoverageApp`), whose scenarios need the whole city's input data.

Failed log-ins are limited per user name and client address (:class:`LoginLimiter`), as the
server's own log-in is; the password is kept only in the page's store object (its database
connections), never shown, logged or sent back to the browser.
"""

from __future__ import annotations

import html
import io
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool
from bokeh.plotting import figure

from coverage.engine.session import Project, Reader, StoreError, log_in, to_web_mercator
from coverage.publish.labels import (
    color_scale,
    column_label,
    indicator_names,
    report_filename,
    text,
)
from coverage.report import make_report  # an output the page offers for download
from coverage.report.content import fmt_value
from coverage.report.progress import measure_label, met_words, row_formats, trend_mark

from .login_limits import LoginLimiter
from .views import DATAFRAME_CSS, _frame_html, _heading_html, _pct

__all__ = ["DistrictPage", "RunsView", "StoreLogin"]

LIMITER = LoginLimiter()
"""Failed log-ins to the store, per user name and client address (this process)."""

_HEADER = ('<div style="background:#08519c;color:white;padding:8px 14px;font-size:20px">'
           '{title}<span class="cov-who" style="float:right;font-size:15px;margin-top:4px">'
           '{who}</span></div>')


def _t(key: str, lang: str, **fields: object) -> str:
    return text("app_store", key, lang, **fields)


def _client() -> str:
    """The browser's address (for the log-in limits)."""
    try:
        request = pn.state.curdoc.session_context.request
        return str(getattr(request, "remote_ip", "") or "")
    except AttributeError:
        return ""


class StoreLogin(pn.viewable.Viewer):
    """The page of a project kept in PostGIS: a log-in form, then the user's page."""

    def __init__(self, project: Project, *, lang: str,
                 planning_page: Callable[[Reader], pn.viewable.Viewable],
                 **params: Any) -> None:
        super().__init__(**params)
        self.project, self.lang, self._planning = project, lang, planning_page
        self.reader: Reader | None = None
        self.user = pn.widgets.TextInput(name=_t("user", lang), width=260,
                                         css_classes=["cov-login-user"])
        self.password = pn.widgets.PasswordInput(name=_t("password", lang), width=260,
                                                 css_classes=["cov-login-password"])
        self.button = pn.widgets.Button(name=_t("log_in", lang), button_type="primary",
                                        width=120, css_classes=["cov-login-button"])
        self.message = pn.pane.HTML("", css_classes=["cov-login-message"])
        self.button.on_click(self._log_in)
        self.body = pn.Column(self._form(), sizing_mode="stretch_both")

    def _form(self) -> pn.viewable.Viewable:
        title = html.escape(f"{text('app', 'title', self.lang)} — {self.project.name}")
        note = html.escape(_t("intro", self.lang))
        return pn.Column(
            pn.pane.HTML(_HEADER.format(title=title, who=""), sizing_mode="stretch_width"),
            pn.Column(pn.pane.HTML(f"<p>{note}</p>", width=420), self.user, self.password,
                      self.button, self.message, margin=(20, 30)),
            sizing_mode="stretch_width")

    def _say(self, key: str, **fields: object) -> None:
        self.message.object = (f'<span style="color:#b30000">'
                               f'{html.escape(_t(key, self.lang, **fields))}</span>')

    def _log_in(self, *_: Any) -> None:
        name, secret, address = self.user.value.strip(), self.password.value, _client()
        self.password.value = ""  # never kept in the widget, nor sent back to the browser
        wait = LIMITER.retry_after(name, address)
        if wait > 0:
            self._say("wait", seconds=int(np.ceil(wait)))
            return
        when = LIMITER.attempt(name, address)
        try:
            reader = log_in(self.project, name, secret)
        except StoreError as exc:
            refused = "log-in refused" in str(exc) or "none of the store" in str(exc)
            self._say("refused" if refused else "store_error",
                      error=str(exc).split(": ", 1)[-1])
            return
        LIMITER.succeeded(name, address, when)
        self.reader = reader
        page = (DistrictPage(reader, lang=self.lang, on_log_out=self.log_out)
                if reader.scope == "district" else self._planning(reader))
        self.body.objects = [page]

    def log_out(self) -> None:
        """Forget the log-in (its store and password) and show the form again."""
        self.reader = None
        self.user.value = ""
        self.message.object = html.escape(_t("logged_out", self.lang))
        self.body.objects = [self._form()]

    def __panel__(self) -> pn.viewable.Viewable:
        return self.body


class RunsView(pn.viewable.Viewer):
    """Any run the reader may read: its cards, the change since the previous run, the
    communities, a map and the report, of one district or the whole city.

    A district's log-in sees its district only; a reader of the whole city chooses the city
    or a district (``unit``).
    """

    def __init__(self, reader: Reader, *, lang: str, **params: Any) -> None:
        super().__init__(**params)
        self.reader, self.lang = reader, lang
        self._lock = threading.Lock()
        runs = reader.runs()
        self.run_ids = [str(r) for r in runs["run_id"]]
        options = {f"{pd.Timestamp(t):%Y-%m-%d %H:%M} UTC · {r}": r
                   for r, t in zip(self.run_ids, runs["time"], strict=True)}
        self.run = pn.widgets.Select(name=_t("run", lang), options=options, width=520,
                                     css_classes=["cov-run"])
        self.unit = pn.widgets.Select(name=text("app", "district", lang), width=200,
                                      css_classes=["cov-unit"], visible=False)
        self.cards = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cov-cards"])
        self.change = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[DATAFRAME_CSS],
                                   css_classes=["cov-change"])
        self.tables = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[DATAFRAME_CSS],
                                   css_classes=["cov-district-tables"])
        self.map = pn.pane.Bokeh(sizing_mode="stretch_width", height=460)
        self.legend = pn.pane.HTML("", width=220, css_classes=["cov-legend"])
        self.downloads = pn.Row(*[pn.widgets.FileDownload(
            callback=lambda f=f: self._report(f), label=text("app", f"report_{f}", lang),
            filename=report_filename(f, lang=lang, district=reader.district), embed=False,
            button_type="light") for f in ("html", "xlsx", "pdf")])
        self.shown: str | None = reader.district  # the district shown (None: the city)
        self.run.param.watch(self._show, ["value"])
        self.unit.param.watch(self._show, ["value"])
        self._show()

    # -- what a run shows -----------------------------------------------------------------

    def _units(self, districts: pd.DataFrame) -> str:
        """Offer the run's units to a reader of the whole city; return the one shown."""
        if self.reader.district is not None:
            return self.reader.district
        city = districts.loc[districts["level"] == "city", "district"].astype(str).tolist()
        units = city + sorted(districts.loc[districts["level"] == "district", "district"]
                              .astype(str))
        with param.parameterized.discard_events(self.unit):  # no second _show
            if list(self.unit.options) != units:
                self.unit.options = units
            if self.unit.value not in units:
                self.unit.value = units[0]
        self.unit.visible = True
        return self.unit.value

    def _show(self, *_: Any) -> None:
        run_id = self.run.value
        if run_id is None:
            self.cards.object = html.escape(_t("no_runs", self.lang))
            return
        with self._lock:
            published = self.reader.published(run_id)
            indicators = self.reader.indicators(run_id)
            try:
                progress = self.reader.progress(run_id)
                problem = None
            except ValueError as exc:  # runs of another travel mode or thresholds
                progress, problem = None, str(exc)
        if published is None:
            self.cards.object = html.escape(_t("not_published", self.lang))
            self.change.object = self.tables.object = ""
            self.map.object, self.legend.object = None, ""
            return
        districts, communities = published
        unit = self._units(districts)
        row = districts[districts["district"] == unit]
        city = bool(len(row)) and row["level"].iloc[0] == "city"
        if not city:
            communities = communities[communities["district"] == unit]
        if progress is not None:
            attrs = dict(progress.attrs)
            progress = progress[progress["unit"] == unit].reset_index(drop=True)
            progress.attrs.update(attrs)
        self.shown = None if city else unit
        for fmt, button in zip(("html", "xlsx", "pdf"), self.downloads, strict=True):
            button.filename = report_filename(fmt, lang=self.lang, district=self.shown)
        if indicators is not None:
            level = "city" if city else "district"
            indicators = indicators[(indicators["level"] == level)
                                    & ((indicators["unit"] == unit) | city)]
        self.cards.object = self._cards(row, progress)
        self.change.object = self._change(progress, problem)
        self.tables.object = self._tables(communities, indicators)
        self.map.object, self.legend.object = self._map(communities)

    def _figures(self) -> list[str]:
        column = f"coverage_{max(self.reader.thresholds(self.run.value)):g}min_migrant"
        return ["migrants", column, "staff", "staff_shortfall"]

    def _cards(self, row: pd.DataFrame, progress: pd.DataFrame | None) -> str:
        changes = ({} if progress is None else
                   dict(zip(progress["measure"], progress["change"], strict=True)))
        cards = []
        for column in self._figures():
            share = column.startswith("coverage_")
            value = row[column].iloc[0] if len(row) else np.nan
            kind = "pct" if share else ("int" if column == "migrants" else "f1")
            shown = fmt_value(value, kind, self.lang)
            change = ""
            if column in changes:
                diff = changes[column]
                change = (f'<div style="font-size:12px;color:#555">'
                          f'{html.escape(_t("since_previous", self.lang))} '
                          f'{html.escape(fmt_value(diff, "pp" if share else "f1+", self.lang))}'
                          f'</div>')
            cards.append(
                f'<div class="cov-card" data-key="{html.escape(column)}" '
                f'data-value="{html.escape(repr(float(value)))}" '
                f'style="display:inline-block;min-width:170px;margin:6px;'
                f'padding:8px 12px;border:1px solid #ddd;border-radius:6px">'
                f'<div style="font-size:12px;color:#555">'
                f'{html.escape(column_label(column, lang=self.lang))}</div>'
                f'<div class="cov-card-value" style="font-size:22px">{html.escape(shown)}</div>'
                f'{change}</div>')
        return "".join(cards)

    def _change(self, progress: pd.DataFrame | None, problem: str | None) -> str:
        """The progress table since the previous run (the district's measures)."""
        heading = _heading_html(_t("change", self.lang))
        if progress is None:
            return heading + html.escape(problem or _t("first_run", self.lang))
        lang = self.lang
        kinds = row_formats(progress)
        change_kinds = ["pp" if k in ("pct", "pp") else f"{k}+" if k in ("f1", "f2") else k
                        for k in kinds]
        frame = pd.DataFrame({
            _t("figure", lang): [measure_label(m, lang) for m in progress["measure"]],
            _t("previous_run", lang, run=progress.attrs["run_before"]): [
                fmt_value(v, k, lang) for v, k in zip(progress["value_before"], kinds,
                                                      strict=True)],
            _t("this_run", lang): [fmt_value(v, k, lang)
                                   for v, k in zip(progress["value_after"], kinds, strict=True)],
            _t("change_column", lang): [
                "—" if pd.isna(v) else f"{mark} {fmt_value(v, k, lang)}" for mark, v, k in zip(
                    trend_mark(progress["change"]), progress["change"], change_kinds,
                    strict=True)],
            text("app", "target", lang): [fmt_value(v, k, lang) if pd.notna(v) else ""
                                          for v, k in zip(progress["target"], kinds,
                                                          strict=True)],
            _t("met_column", lang): met_words(progress["met_after"], progress["target"],
                                              lang).to_numpy(),
        })
        return heading + _frame_html(frame)

    def _tables(self, communities: pd.DataFrame, indicators: pd.DataFrame | None) -> str:
        coverage = self._figures()[1]
        cols = ["name", "migrants", "staff", coverage, "staff_shortfall"]
        comm = pd.DataFrame(communities.drop(columns="geometry"))[cols].sort_values(
            "staff_shortfall", ascending=False, na_position="last")
        comm[coverage] = comm[coverage].map(_pct)
        for column in ("migrants", "staff", "staff_shortfall"):
            comm[column] = comm[column].map(_number)
        comm = comm.rename(columns={c: column_label(c, lang=self.lang) for c in cols})
        out = _heading_html(_t("communities", self.lang)) + _frame_html(comm)
        if indicators is not None:
            rows = indicators
            names = indicator_names(self.lang)
            met = {True: "✔", False: "✘"}
            frame = pd.DataFrame({
                text("app", "indicator_name", self.lang): rows["indicator"].map(names),
                text("app", "achieved", self.lang): rows["value"].map(_pct),
                text("app", "target", self.lang): rows["target"].map(_pct),
                "": ["—" if pd.isna(v) else met[bool(v)] for v in rows["met"]]})
            out += _heading_html(text("app", "indicators_table", self.lang)) + _frame_html(frame)
        return out

    def _map(self, communities: pd.DataFrame) -> tuple[Any, str]:
        """The district's communities shaded by coverage, and the legend's HTML."""
        coverage = self._figures()[1]
        values = communities[coverage].to_numpy(float)
        scale = color_scale(coverage, values, lang=self.lang)
        merc = to_web_mercator(communities.geometry.to_numpy(), communities.crs)
        xs, ys = [], []
        for geom in merc:  # one polygon's outer ring each: a district holds tens of them
            ring = np.asarray((geom.geoms[0] if hasattr(geom, "geoms") else geom).exterior.coords)
            xs.append(ring[:, 0])
            ys.append(ring[:, 1])
        colors = scale.colors_of(values)
        source = ColumnDataSource({"xs": xs, "ys": ys, "color": colors,
                                   "name": communities["name"].astype(str).to_numpy(),
                                   "share": [_pct(v) for v in values]})
        fig = figure(match_aspect=True, sizing_mode="stretch_width", height=460,
                     x_axis_type="mercator", y_axis_type="mercator",
                     tools="pan,wheel_zoom,reset", toolbar_location="right",
                     title=column_label(coverage, lang=self.lang))
        fig.patches("xs", "ys", source=source, fill_color="color", line_color="#666",
                    fill_alpha=0.85)
        fig.add_tools(HoverTool(tooltips=[("", "@name"), ("", "@share")]))
        entries = [*scale.items(), (column_label("suppressed", lang=self.lang).format(
            n=self.reader.project.min_cell), scale.missing)]
        legend = "".join(
            f'<div><span style="display:inline-block;width:14px;height:14px;background:'
            f'{html.escape(color)};border:1px solid #999;margin-right:6px"></span>'
            f'{html.escape(label)}</div>' for label, color in entries)
        return fig, f"<b>{html.escape(scale.title)}</b>{legend}"

    def _report(self, fmt: str) -> io.BytesIO:
        """The district's report of the chosen run (its rows only), written in a private
        temporary folder and read back."""
        r = self.reader
        with self._lock:
            layers = r.layers(self.run.value)
        with tempfile.TemporaryDirectory() as tmp:
            path = make_report(r.project, layers=layers, district=self.shown, lang=self.lang,
                               formats=[fmt], out=tmp)[fmt]
            return io.BytesIO(Path(path).read_bytes())

    def __panel__(self) -> pn.viewable.Viewable:
        tabs = pn.Tabs((_t("change", self.lang), self.change),
                       (_t("communities", self.lang), self.tables),
                       (_t("map", self.lang), pn.Row(self.map, self.legend,
                                                     sizing_mode="stretch_width")),
                       (text("app", "download", self.lang), self.downloads),
                       sizing_mode="stretch_width", dynamic=False)
        return pn.Column(pn.Row(self.run, self.unit), self.cards, tabs,
                         sizing_mode="stretch_width")


class DistrictPage(pn.viewable.Viewer):
    """A district office's page: its district's figures of any run, read as its log-in."""

    def __init__(self, reader: Reader, *, lang: str, on_log_out: Callable[[], None],
                 **params: Any) -> None:
        super().__init__(**params)
        self.reader, self.lang = reader, lang
        self.runs = RunsView(reader, lang=lang)
        self.out = pn.widgets.Button(name=_t("log_out", lang), width=100,
                                     css_classes=["cov-log-out"])
        self.out.on_click(lambda _e: on_log_out())

    def __panel__(self) -> pn.viewable.Viewable:
        r = self.reader
        title = html.escape(f"{text('app', 'title', self.lang)} — {r.project.name}")
        who = html.escape(_t("who", self.lang, district=r.district, user=r.user))
        header = pn.pane.HTML(_HEADER.format(title=title, who=who), sizing_mode="stretch_width")
        return pn.Column(header, self.out, self.runs, sizing_mode="stretch_width")


def _number(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):,.1f}".removesuffix(".0")


