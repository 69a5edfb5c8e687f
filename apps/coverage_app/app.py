"""Assembling the page: header, controls, cards, map and the tabs, in the chosen language.

A server builds one page per browser session, many at once: the map's layers other than the
default ones are made when first shown, and what all sessions show alike is computed once per
process (see :meth:`coverage.engine.session.PlanningSession.cached`). A tab other than the first is
made when first opened, once the browser has reported the page shown (``document_ready``):
Panel drops what the server changes in a page before then, so a tab opened earlier is made at
that moment (:meth:`CoverageApp._open_tab`). The import page has an address of its own
(:class:`~coverage_app.import_view.ImportPage`), linked from the header.
"""

from __future__ import annotations

import gc
import html
from pathlib import Path
from typing import Any

import panel as pn

from coverage.engine.session import (
    PlanningSession,
    Project,
    Reader,
    load_project,
    model_loaded,
    project_reader,
)
from coverage.publish.labels import text

from .mapview import MapView
from .reader_view import RunsView
from .scorecard_view import FundingView, ScorecardView
from .state import AppState
from .views import Cards, Controls, Downloads, Recommend, Scenarios, Tables


def warm(project: Project, mode: str = "walk") -> None:
    """Read the results and build the analysis model before the first visitor comes.

    The recommendation's candidate sites and the road names that name places are found then
    too (seconds on a whole city, the same for every visitor). A page is made once too (not
    shown), so that what every page shows alike is ready. Then what the process holds so far
    (the libraries, the results, the model) is left out of the garbage collector's full
    passes (:func:`gc.freeze`): it lives as long as the server, and walking it took a few
    hundred milliseconds a pass, a pass every few new sessions.
    """
    PlanningSession.open(project, mode=mode, shared=True).prepare()
    CoverageApp(project)
    gc.collect()
    gc.freeze()


class CoverageApp(pn.viewable.Viewer):
    """The whole page of one browser session."""

    def __init__(self, project: Project | str | Path, *, lang: str | None = None,
                 reader: Reader | None = None, **params: Any) -> None:
        super().__init__(**params)
        project = project if isinstance(project, Project) else load_project(project)
        self.state = AppState(PlanningSession.open(project, shared=True),
                              lang=lang if lang in ("zh", "en") else project.language or "zh",
                              user=pn.state.user or "")  # the log-in, who saves scenarios
        if model_loaded(project, self.state.session.mode):
            self.state.ready = True  # before the views are made: each draws once
        self.map = MapView(self.state)
        self.cards = Cards(self.state)
        self.tables = Tables(self.state)
        self.recommend = Recommend(self.state)
        self.scenarios = Scenarios(self.state)
        self.downloads = Downloads(self.state)
        self.scorecard = ScorecardView(self.state)
        self.funding = FundingView(self.state)
        self.status = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10))
        self.header = pn.pane.HTML("", sizing_mode="stretch_width")
        self.sidebar = pn.Column(width=290)
        self.tabs = pn.Tabs(sizing_mode="stretch_width", dynamic=False)
        self.runs = _Runs(reader or project_reader(project), self.state)
        self._views = [self.tables, self.recommend, self.scenarios, self.downloads,
                       self.scorecard, self.funding, self.runs]
        self._boxes: list[pn.Column] = []  # each tab's contents, made by _relabel
        self._made = {0}  # the first tab is shown at once
        self.state.param.watch(self._relabel, ["lang"])
        self.state.param.watch(self._status, ["message", "busy", "ready"])
        self.tabs.param.watch(self._open_tab, ["active"])
        self._relabel()
        pn.state.onload(self._page_shown)

    def _page_shown(self) -> None:
        """The browser shows the page: load the model if needed, make the tab open now."""
        if not self.state.ready:
            self.state.load_model()
        self._open_tab(shown=True)  # (Panel counts the page loaded after these callbacks)

    def _open_tab(self, *_: Any, shown: bool = False) -> None:
        """Make the open tab's contents the first time it is opened (once the page is shown)."""
        i = self.tabs.active
        if i in self._made or not (shown or pn.state.loaded):
            return  # not shown yet: made when the browser reports the page shown
        self._made.add(i)
        self._boxes[i].objects = [self._views[i].__panel__()]
        self._boxes[i].loading = False

    def _relabel(self, *_: Any) -> None:
        s = self.state
        s.message = ""  # it was written in the other language
        note = (f'<div class="cov-approx" style="background:#fff7e6;color:#7a4b00;'
                f'padding:3px 14px;font-size:13px">'
                f'{html.escape(text("maps", "approximate_boundaries", s.lang))}</div>'
                if s.session.approximate_boundaries else "")
        self.header.object = (
            f'<div style="background:#08519c;color:white;padding:8px 14px;font-size:20px">'
            f'{html.escape(s.t("title"))} — {html.escape(s.session.project.name)}'
            f'<a class="cov-import-link" href="import?lang={s.lang}" style="color:white;'
            f'float:right;font-size:15px;margin-top:4px">'
            f'{html.escape(text("app_import", "tab", s.lang))}</a></div>{note}')
        self.sidebar.objects = [Controls(s)]
        titles = [*(s.t(k) for k in ("indicators_table", "recommend", "scenario", "download")),
                  text("app_scorecard", "tab", s.lang), text("app_scorecard", "funding_tab",
                                                             s.lang), s.t("runs")]
        # New boxes: Panel keeps a tab's title while its contents are the same object. A tab
        # not yet made shows Panel's loading spinner (a style, no pane to make for the page).
        self._boxes = [pn.Column(*([view.__panel__()] if i in self._made else []),
                                 loading=i not in self._made, min_height=60,
                                 sizing_mode="stretch_width")
                       for i, view in enumerate(self._views)]
        self.tabs[:] = list(zip(titles, self._boxes, strict=True))
        self._status()

    def _status(self, *_: Any) -> None:
        s = self.state
        line = s.t("loading") if not s.ready else (s.t("rec_running") if s.busy else
                                                   (s.message or s.t("ready")))
        self.status.object = f'<span class="cov-status">{html.escape(line)}</span>'

    def __panel__(self) -> pn.viewable.Viewable:
        main = pn.Column(self.cards, self.status, self.map, self.tabs,
                         sizing_mode="stretch_both")
        return pn.Column(self.header, pn.Row(self.sidebar, main, sizing_mode="stretch_both"),
                         sizing_mode="stretch_both")


class _Runs(pn.viewable.Viewer):
    """The runs tab: any kept run and the change since the previous (read when first shown).

    ``reader``: the logged-in user's (a PostGIS store), else the project's own store.
    """

    def __init__(self, reader: Reader, state: AppState, **params: Any) -> None:
        super().__init__(**params)
        self.reader, self.state = reader, state
        self.view: RunsView | None = None

    def __panel__(self) -> pn.viewable.Viewable:
        if self.view is None or self.view.lang != self.state.lang:
            self.view = RunsView(self.reader, lang=self.state.lang)
        return self.view
