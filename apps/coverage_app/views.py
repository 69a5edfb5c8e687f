"""The app's panels: controls, indicator cards, tables, recommendation, scenarios, downloads.

Each is a Panel ``Viewer`` over the shared :class:`~coverage_app.state.AppState`; they hold
widgets only, every figure comes from the library through the state. Texts come from the
message catalogue's ``[app]`` group, so switching the language rebuilds the panels' widgets.

What the cards and tables show of the unedited scenario is the same for every session with the
same choices: it is made once per server process (:meth:`coverage.engine.session.PlanningSession.
cached`), so that a new visitor's page costs little.
"""

from __future__ import annotations

import html
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import panel as pn
import shapely

from coverage.engine.session import COMPARISON_COST_COLUMNS, PlanningSession
from coverage.publish.labels import (
    column_label,
    coverage_column,
    indicator_names,
    reason_text,
    report_filename,
    site_places,
)
from coverage.report import make_report  # an output the app offers for download

from .state import BASEMAPS, INDICATORS, LAYERS, AppState

T = TypeVar("T")
DATAFRAME_CSS = f"{pn.io.resources.CDN_DIST}css/dataframe.css"
"""The style sheet of Panel's ``DataFrame`` pane, for tables written into an HTML pane."""


def _pct(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.2%}"


def _pp(value: object) -> str:
    """A difference of two shares, in percentage points."""
    return "—" if value is None or pd.isna(value) else f"{100 * float(value):+.2f} pp"


def _heading_html(label: str, *, small: bool = False) -> str:
    """A heading's HTML (escaped)."""
    tag = ('<b class="cov-label">{}</b>' if small else '<h4 class="cov-heading" style="margin:'
           '8px 0 4px 0">{}</h4>')
    return tag.format(html.escape(label))


def _heading(label: str, *, small: bool = False) -> pn.pane.HTML:
    """A heading above a group of widgets (HTML, escaped: cheaper to make than Markdown)."""
    return pn.pane.HTML(_heading_html(label, small=small), margin=(0, 5) if small else (5, 10))


def _frame_html(frame: pd.DataFrame) -> str:
    """A table as Panel's ``DataFrame`` pane writes it (its style sheet: ``DATAFRAME_CSS``),
    every cell escaped."""
    if frame.empty and not len(frame.columns):
        return ""
    return frame.to_html(index=False, classes=["panel-df"], border=0, escape=True)


def _unedited_once(state: AppState, name: str, make: Callable[[], T]) -> T:
    """``make()``, kept once per process while the scenario has no edits.

    ``name`` must hold every choice the result depends on besides the scenario (and the
    travel mode, which the session's cache keys on).
    """
    if state.session.edits:
        return make()
    return state.session.cached(f"{name}:{state.ready}", make)


def _sites_in(state: AppState) -> int:
    """Service points of the scenario in the chosen district (all of them for the city)."""
    sites = state.session.sites()
    if not state.district:
        return len(sites)
    comm = state.session.layers["community_summary"]
    area = comm.geometry[comm["district"].astype(str) == state.district].to_numpy()
    inside = shapely.STRtree(area).query(sites.geometry.to_numpy(), predicate="intersects")[0]
    return len(np.unique(inside))


WIDGET_WIDTH = 250
"""Width of the side panel's drop-downs and inputs (pixels): within its 290 with margins."""


class Controls(pn.viewable.Viewer):
    """The choices: language, district, kind, mode, threshold, shading, base map, layers."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state

    def __panel__(self) -> pn.viewable.Viewable:
        s = self.state
        comm = s.session.layers["community_summary"]
        districts = sorted(comm["district"].astype(str).unique())
        kinds = sorted(s.session.layers["site_catchments"]["kind"].astype(str).unique())
        labels = column_label  # result kinds have map labels
        lang = pn.widgets.RadioButtonGroup(name=s.t("language"), options={"中文": "zh",
                                                                          "English": "en"},
                                           value=s.lang, button_type="primary")
        district = pn.widgets.Select(name=s.t("district"),
                                     options={s.t("all_districts"): "", **{d: d for d in
                                                                          districts}},
                                     value=s.district, width=WIDGET_WIDTH)
        kind = pn.widgets.Select(name=s.t("kind"), options={s.t("all_kinds"): "", **{
            labels(k, lang=s.lang): k for k in kinds}}, value=s.kind, width=WIDGET_WIDTH)
        mode = pn.widgets.RadioButtonGroup(name=s.t("mode"), options={
            s.t("mode_walk"): "walk", s.t("mode_ebike"): "ebike"}, value=s.mode)
        threshold = pn.widgets.RadioButtonGroup(
            name=s.t("threshold"), options={f"{t:g}": t for t in s.session.thresholds},
            value=s.threshold)
        indicator = pn.widgets.Select(name=s.t("indicator"), options={
            s.t(f"ind_{k}"): k for k in INDICATORS}, value=s.indicator, width=WIDGET_WIDTH)
        basemap = pn.widgets.Select(name=s.t("basemap"), options={
            s.t(f"base_{k}"): k for k in BASEMAPS}, value=s.basemap, width=WIDGET_WIDTH)
        unavailable = s.unavailable_layers()
        layers = pn.widgets.CheckBoxGroup(name=s.t("layers"), options={
            s.t(f"layer_{k}"): k for k in LAYERS if k not in unavailable},
            value=[k for k in s.layers if k not in unavailable])
        why = "".join(f"<br>{html.escape(s.t(f'layer_{k}'))}: {html.escape(reason)}"
                      for k, reason in unavailable.items())
        not_shown = [pn.pane.HTML(
            f'<small class="cov-unavailable">{html.escape(s.t("layers_unavailable"))}:{why}'
            "</small>", margin=(0, 5))] if why else []
        click = pn.widgets.RadioBoxGroup(name=s.t("click"), options={
            s.t("click_add"): "add", s.t("click_choose"): "choose",
            s.t("click_move"): "move", s.t("click_none"): "none"},
            value=s.click)
        staff = pn.widgets.FloatInput(name=s.t("new_staff"), value=s.new_staff, step=0.5,
                                      start=0.0, end=100.0, width=WIDGET_WIDTH)
        for widget, name in ((lang, "lang"), (district, "district"), (kind, "kind"),
                             (threshold, "threshold"), (indicator, "indicator"),
                             (basemap, "basemap"), (layers, "layers"), (click, "click"),
                             (staff, "new_staff")):
            widget.link(s, value=name, bidirectional=True)
        mode.param.watch(lambda e: self._mode(e.new), "value")
        return pn.Column(
            _heading(s.t("language"), small=True), lang,
            district, kind,
            _heading(s.t("mode"), small=True), mode,
            _heading(s.t("threshold"), small=True), threshold,
            indicator, basemap,
            _heading(s.t("layers"), small=True), layers, *not_shown,
            _heading(s.t("click"), small=True), click, staff,
            sizing_mode="stretch_width")

    def _mode(self, mode: str) -> None:
        """Switch the travel mode: another session (results and model for that mode)."""
        s = self.state
        s.busy = True
        s.ready = False
        try:
            s.session = PlanningSession.open(s.session.project, mode=mode, shared=True)
            s.mode = mode
            s.load_model()
            s.version += 1
        finally:
            s.busy = False


class Cards(pn.viewable.Viewer):
    """Indicator cards: coverage, registered coverage, the gap, the shortfall, indicators met."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.pane = pn.pane.HTML(sizing_mode="stretch_width")
        state.param.watch(self.update, ["version", "ready", "threshold", "district", "lang"])
        self.update()

    def _row(self, districts: pd.DataFrame) -> pd.Series:
        s = self.state
        if s.district:
            rows = districts[(districts["level"] == "district")
                             & (districts["district"] == s.district)]
            if len(rows):
                return rows.iloc[0]
        return districts[districts["level"] == "city"].iloc[0]

    def update(self, *_: Any) -> None:
        s = self.state
        self.pane.object = _unedited_once(
            s, f"cards:{s.threshold!r}:{s.district}:{s.lang}", self._html)

    def _html(self) -> str:
        s = self.state
        districts, _ = s.published()
        row = self._row(districts)
        base = s.baseline_city() if not s.district else row
        col = s.coverage_column
        t = f"{s.threshold:g}"
        gap_col = coverage_column(s.threshold, "gap")
        reg_col = coverage_column(s.threshold, "registered")
        value = row[col]
        delta = (float(value) - float(base[col])) if not pd.isna(value) else np.nan
        change = (s.t("card_change", delta=_pp(delta))
                  if np.isfinite(delta) and not s.district else "")
        n_sites = _sites_in(s) if s.ready else None
        ind = s.indicators()
        # the indicators of the area shown, as the indicator table lists them
        level, unit = ("district", s.district) if s.district else ("city", "city")
        shown = ind[(ind["level"] == level) & (ind["unit"] == unit)]
        met = int(shown["met"].astype("boolean").fillna(False).sum())
        skipped = s.session.skipped
        not_computed = [k for k in shown["indicator"] if f"indicator:{k}" in skipped]
        ind_note = s.t("card_not_computed", n=len(not_computed)) if not_computed else ""
        reg_note = s.t("card_estimated") if s.session.estimated else ""
        cards = [
            ("coverage", s.t("card_coverage", t=t), _pct(value), value, change),
            ("registered", s.t("card_registered", t=t), _pct(row[reg_col]), row[reg_col],
             reg_note),
            ("gap", s.t("card_gap"), _pp(row[gap_col]), row[gap_col], ""),
            ("shortfall", s.t("card_shortfall"), "—" if pd.isna(row["staff_shortfall"]) else
             f"{float(row['staff_shortfall']):,.1f}", row["staff_shortfall"], ""),
            ("sites", s.t("card_sites"), "…" if n_sites is None else f"{n_sites:,}",
             n_sites, ""),
            ("indicators", s.t("card_indicators"),
             f"{met} / {len(shown) - len(not_computed)}", met, ind_note),
        ]
        parts = []
        for key, title, text, raw, note in cards:
            data = "" if raw is None or pd.isna(raw) else repr(float(raw))
            parts.append(
                f'<div class="cov-card" data-key="{key}" data-value="{data}">'
                f'<div class="cov-card-title">{html.escape(title)}</div>'
                f'<div class="cov-card-value">{html.escape(text)}</div>'
                f'<div class="cov-card-note">{html.escape(note)}</div></div>')
        return (
            "<style>.cov-cards{display:flex;flex-wrap:wrap;gap:8px}"
            ".cov-card{border:1px solid #c8d6e5;border-radius:6px;padding:6px 10px;"
            "min-width:150px;background:#f7fbff}.cov-card-title{font-size:12px;color:#555}"
            ".cov-card-value{font-size:22px;font-weight:600;color:#08519c}"
            ".cov-card-note{font-size:11px;color:#777}</style>"
            f'<div class="cov-cards">{"".join(parts)}</div>')

    def __panel__(self) -> pn.viewable.Viewable:
        return self.pane


class Tables(pn.viewable.Viewer):
    """The plan's indicators and the communities ranked by shortfall (published figures)."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.ranking = self.indicators = pd.DataFrame()
        # Both headings and both tables in one pane: a page's every pane costs it about a
        # hundredth of its making (Panel's and Bokeh's models, serialized for the browser).
        self.pane = pn.pane.HTML(sizing_mode="stretch_width", stylesheets=[DATAFRAME_CSS])
        state.param.watch(self.update, ["version", "ready", "district", "lang", "threshold"])
        self.update()

    def update(self, *_: Any) -> None:
        s = self.state
        self.ranking, self.indicators, self.pane.object = _unedited_once(
            s, f"tables:{s.threshold!r}:{s.district}:{s.lang}", self._content)

    def _content(self) -> tuple[pd.DataFrame, pd.DataFrame, str]:
        """The ranking, the indicators and the pane's HTML (written once, with the tables)."""
        s = self.state
        ranking, indicators = self._frames()
        return ranking, indicators, (
            f"{_heading_html(s.t('indicators_table'))}{_frame_html(indicators)}"
            f"{_heading_html(s.t('ranking'))}<div class=\"cov-ranking\" style=\"max-height:"
            f"320px;overflow-y:auto\">{_frame_html(ranking)}</div>")

    def _frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The communities ranked by shortfall and the indicators, as shown."""
        s = self.state
        _, comm = s.published()
        comm = pd.DataFrame(comm.drop(columns="geometry"))
        if s.district:
            comm = comm[comm["district"] == s.district]
        comm = comm[comm["staff_shortfall"].notna()].sort_values(
            "staff_shortfall", ascending=False).head(15)
        cols = ["name", "district", "migrants", "staff", "staff_shortfall", s.coverage_column]
        frame = comm[cols].copy()
        frame["staff_shortfall"] = frame["staff_shortfall"].map(lambda v: f"{v:,.1f}")
        frame[s.coverage_column] = frame[s.coverage_column].map(_pct)
        ranking = frame.rename(columns={c: column_label(c, lang=s.lang) for c in cols})
        ind = s.indicators()
        level, unit = ("district", s.district) if s.district else ("city", "city")
        rows = ind[(ind["level"] == level) & (ind["unit"] == unit)]
        names = indicator_names(s.lang)
        met = {True: "✔", False: "✘"}
        skipped = s.session.skipped
        why = [reason_text(skipped[f"indicator:{k}"], s.lang) if f"indicator:{k}" in skipped
               else "—" if pd.isna(v) else met[bool(v)]
               for k, v in zip(rows["indicator"], rows["met"], strict=True)]
        return ranking, pd.DataFrame({
            s.t("indicator_name"): rows["indicator"].map(names).to_numpy(),
            s.t("achieved"): rows["value"].map(_pct).to_numpy(),
            s.t("target"): rows["target"].map(_pct).to_numpy(),
            "": why,
        })

    def __panel__(self) -> pn.viewable.Viewable:
        return self.pane


class Recommend(pn.viewable.Viewer):
    """K new sites and N new staff: computed, shown, and applied to the scenario on request."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.result: pn.pane.DataFrame | None = None  # made with the tab
        state.param.watch(self._show, ["recommendation", "lang"])

    def _show(self, *_: Any) -> None:
        rec = self.state.recommendation
        if self.result is None:
            return
        if rec is None:
            self.result.object = None
            return
        s = self.state
        parts = []
        # people counted (the newly covered migrants): small counts come suppressed (missing)
        sites = s.session.recommended_sites(rec)
        if sites is not None:
            newly = [c for c in sites.columns if c.startswith("migrants_newly_within")]
            # where a planner finds it: its name or nearest named road, and its community
            sites["place"] = site_places(sites, lang=s.lang).to_numpy()
            sites = sites[["rank", "candidate_id", "place", "staff", *newly]].copy()
            sites["rank"] = sites["rank"].astype("int64").astype(str)  # not 1.0 after concat
            for column in newly:
                sites[column] = [s.t("suppressed") if pd.isna(v) else f"{int(v):,}"
                                 for v in sites[column]]
            parts.append(sites)
        if "recommended_staff" in rec.layers:
            staff = rec.layers["recommended_staff"]
            parts.append(staff[["site_id", "name", "new_staff", "staff_before",
                                "staff_after"]])
        table = pd.concat(parts, ignore_index=True) if parts else None
        if table is not None:
            # new points and staff in one table: a row has only its own kind's cells
            table = table.astype(object).where(table.notna(), "").rename(
                columns={c: column_label(c, lang=s.lang) for c in table.columns})
        self.result.object = table

    def __panel__(self) -> pn.viewable.Viewable:
        s = self.state
        k = pn.widgets.IntInput(name=s.t("rec_sites"), value=3, start=0, end=50)
        n = pn.widgets.IntInput(name=s.t("rec_staff"), value=10, start=0, end=1000)
        run = pn.widgets.Button(name=s.t("rec_run"), button_type="primary")
        apply = pn.widgets.Button(name=s.t("rec_apply"), button_type="success")
        run.on_click(lambda _e: s.recommend(k.value, n.value))
        apply.on_click(lambda _e: s.apply_recommendation())
        if self.result is None:
            self.result = pn.pane.DataFrame(index=False, sizing_mode="stretch_width",
                                            css_classes=["cov-recommend"])
        self._show()
        return pn.Column(pn.Row(k, n), pn.Row(run, apply), self.result,
                         sizing_mode="stretch_width")


class Scenarios(pn.viewable.Viewer):
    """The current scenario's edits, undo/remove, saved scenarios side by side, JSON in/out.

    Scenarios are saved in the project's store, shared by every planner: the list of saved
    scenarios (the store's, refreshed on request and after each save) loads one to go on with.
    """

    MAX_UPLOAD = 1_000_000
    """Largest scenario file accepted (bytes); the server also caps websocket messages."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        # The edits and the comparison, made with the tab and only then updated (the
        # comparison costs an evaluation).
        self.tables: tuple[pn.pane.DataFrame, pn.pane.DataFrame] | None = None
        # The store's saved scenarios (escaped by the pane) and the choice of one to load.
        self.saved: pn.pane.DataFrame | None = None
        self.choice: pn.widgets.Select | None = None
        state.param.watch(self.update, ["version", "ready", "lang"])
        state.param.watch(self.show_saved, ["saved"])

    def show_saved(self, *_: Any) -> None:
        """Show the saved scenarios the state last listed, and offer them to load."""
        if self.saved is None or self.choice is None:
            return
        s = self.state
        saved = s.saved
        if saved is None or saved.empty:
            self.saved.object, self.choice.options = None, []
            return
        self.saved.object = pd.DataFrame({
            s.t("saved_name"): saved["name"].to_numpy(),
            s.t("saved_version"): saved["version"].to_numpy(),
            s.t("saved_by"): saved["saved_by"].to_numpy(),
            s.t("saved_at"): saved["saved_at"].dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
        })
        self.choice.options = [str(name) for name in saved["name"]]

    def update(self, *_: Any) -> None:
        if self.tables is None:
            return
        edits_pane, compare_pane = self.tables
        s = self.state
        edits = s.session.edits
        table = pd.DataFrame([{
            "#": i + 1, "action": s.t(f"action_{e.action}"), "site_id": e.site_id,
            "lon": None if e.lon is None else round(e.lon, 6),
            "lat": None if e.lat is None else round(e.lat, 6), "staff": e.staff}
            for i, e in enumerate(edits)]) if edits else None
        edits_pane.object = None if table is None else table.rename(
            columns={c: column_label(c, lang=s.lang) for c in table.columns})
        if s.ready:
            table = s.session.comparison()
            keep = [c for c in table.index if c.startswith(("coverage_", "staff"))]
            keep += list(COMPARISON_COST_COLUMNS)  # each scenario's cost beside its effect
            shown = table.loc[keep].astype(float)
            text = pd.DataFrame({
                col: [_pp(v) if row.startswith("coverage_gap") else
                      _pct(v) if row.startswith("coverage_") else
                      f"{v:,.0f}" if row == "new_sites" or row.endswith("yuan")
                      or row.endswith("per_year") else f"{v:,.1f}"
                      for row, v in shown[col].items()] for col in shown.columns},
                index=[column_label(c, lang=s.lang) for c in keep])
            names = {"baseline": s.t("scenario_today"), "current": s.t("scenario_current")}
            compare_pane.object = text.rename(columns=names)

    def _download(self) -> io.StringIO:
        return io.StringIO(self.state.session.scenario("current").to_json())

    def __panel__(self) -> pn.viewable.Viewable:
        if self.tables is None:
            self.tables = (pn.pane.DataFrame(index=False, sizing_mode="stretch_width"),
                           pn.pane.DataFrame(sizing_mode="stretch_width",
                                             css_classes=["cov-compare"]))
        self.update()
        s = self.state
        undo = pn.widgets.Button(name=s.t("undo"))
        remove = pn.widgets.Button(name=s.t("remove"), button_type="danger")
        name = pn.widgets.TextInput(name=s.t("save_as"), value="A")
        save = pn.widgets.Button(name=s.t("save"))
        download = pn.widgets.FileDownload(callback=self._download, filename="scenario.json",
                                           label=s.t("download_scenario"),
                                           button_type="primary", embed=False)
        upload = pn.widgets.FileInput(accept=".json")
        if self.saved is None:
            self.saved = pn.pane.DataFrame(index=False, sizing_mode="stretch_width",
                                           css_classes=["cov-saved"])
        self.choice = pn.widgets.Select(name=s.t("saved_scenarios"), options=[])
        load_saved = pn.widgets.Button(name=s.t("load_saved"))
        refresh = pn.widgets.Button(name=s.t("refresh_saved"))
        s.list_saved()
        self.show_saved()
        undo.on_click(lambda _e: s.undo())
        remove.on_click(lambda _e: s.remove_chosen())
        save.on_click(lambda _e: s.save(name.value))
        load_saved.on_click(lambda _e, c=self.choice: s.load_saved(c.value) if c.value else None)
        refresh.on_click(lambda _e: s.list_saved())

        def load(event: Any) -> None:
            data = event.new
            if data is None:
                return
            if len(data) > self.MAX_UPLOAD:
                s.message = s.t("error", message=f"scenario file larger than "
                                f"{self.MAX_UPLOAD:,} bytes; upload a smaller one")
                return
            s.load(data, label=str(upload.filename or "scenario")[:80])  # bytes, parsed as JSON

        upload.param.watch(load, "value")
        return pn.Column(
            _heading(s.t("edits")), self.tables[0], pn.Row(undo, remove),
            pn.Row(name, save), _heading(s.t("saved_scenarios")), self.saved,
            pn.Row(self.choice, load_saved, refresh), _heading(s.t("compare")), self.tables[1],
            download, _heading(s.t("upload_scenario"), small=True), upload,
            sizing_mode="stretch_width")


class Downloads(pn.viewable.Viewer):
    """The report of the current scenario in HTML, XLSX and PDF."""

    def __init__(self, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self._buttons: dict[str, pn.widgets.FileDownload] = {}
        state.param.watch(self._names, ["district"])

    def _report(self, fmt: str) -> io.BytesIO:
        """The report of the session's results, written in a private folder and read back."""
        s = self.state
        with s._lock:
            layers = s.session.report_layers()
        with tempfile.TemporaryDirectory() as tmp:
            path = make_report(s.session.project, layers=layers, district=s.district or None,
                               lang=s.lang, formats=[fmt], out=tmp)[fmt]
            return io.BytesIO(Path(path).read_bytes())

    def _names(self, *_: Any) -> None:
        """The files' names say the language and the district, as ``coverage report``'s."""
        s = self.state
        for fmt, button in self._buttons.items():
            button.filename = report_filename(fmt, lang=s.lang, district=s.district or None)

    def __panel__(self) -> pn.viewable.Viewable:
        s = self.state
        self._buttons = {f: pn.widgets.FileDownload(callback=lambda f=f: self._report(f),
                                                    label=s.t(f"report_{f}"), embed=False,
                                                    button_type="light")
                         for f in ("html", "xlsx", "pdf")}
        self._names()
        buttons = list(self._buttons.values())
        return pn.Column(_heading(s.t("download")), *buttons,
                         sizing_mode="stretch_width")
