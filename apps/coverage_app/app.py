"""Assembling the page: header, controls, cards, map and the tabs, in the chosen language.

A server builds one page per browser session, many at once: the map's layers other than the
default ones are made when first shown, and what all sessions show alike is computed once per
process (see :meth:`coverage.session.PlanningSession.cached`). Every tab is in the page from
the start: until the browser reports the page shown (``document_ready``, once the map's tiles
are in), Panel drops changes to the page, so a tab made when opened could stay empty. The
import page has an address of its own (:class:`~coverage_app.import_view.ImportPage`), linked
from the header.
"""

from __future__ import annotations

import gc
import html
from pathlib import Path
from typing import Any

import panel as pn

from coverage.messages import text
from coverage.project import Project, load_project
from coverage.session import PlanningSession, model_loaded, scenario_model

from .mapview import MapView
from .state import AppState
from .views import Cards, Controls, Downloads, Recommend, Scenarios, Tables


def warm(project: Project, mode: str = "walk") -> None:
    """Read the results and build the analysis model before the first visitor comes.

    A page is made once too (not shown), so that what every page shows alike is ready.
    Then what the process holds so far (the libraries, the results, the model) is left out of
    the garbage collector's full passes (:func:`gc.freeze`): it lives as long as the server,
    and walking it took a few hundred milliseconds a pass, a pass every few new sessions.
    """
    PlanningSession.open(project, mode=mode, shared=True)
    scenario_model(project, mode)
    CoverageApp(project)
    gc.collect()
    gc.freeze()


class CoverageApp(pn.viewable.Viewer):
    """The whole page of one browser session."""

    def __init__(self, project: Project | str | Path, *, lang: str | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        project = project if isinstance(project, Project) else load_project(project)
        self.state = AppState(PlanningSession.open(project, shared=True),
                              lang=lang if lang in ("zh", "en") else project.language or "zh")
        if model_loaded(project, self.state.session.mode):
            self.state.ready = True  # before the views are made: each draws once
        self.map = MapView(self.state)
        self.cards = Cards(self.state)
        self.tables = Tables(self.state)
        self.recommend = Recommend(self.state)
        self.scenarios = Scenarios(self.state)
        self.downloads = Downloads(self.state)
        self.status = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10))
        self.header = pn.pane.HTML("", sizing_mode="stretch_width")
        self.sidebar = pn.Column(width=290)
        self.tabs = pn.Tabs(sizing_mode="stretch_width", dynamic=False)
        self.state.param.watch(self._relabel, ["lang"])
        self.state.param.watch(self._status, ["message", "busy", "ready"])
        self._relabel()
        if not self.state.ready:
            pn.state.onload(self.state.load_model)

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
        self.tabs[:] = [
            (s.t("indicators_table"), self.tables),
            (s.t("recommend"), self.recommend),
            (s.t("scenario"), self.scenarios),
            (s.t("download"), self.downloads),
        ]
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
