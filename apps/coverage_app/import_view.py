"""The import page: upload, preview (masked), column mapping, coordinate system, check, save.

A Panel ``Viewer`` over :class:`~coverage_app.import_state.ImportState`; it holds widgets only.
Served at its own address (``/import``) by :class:`ImportPage`.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import panel as pn

from .import_state import MAX_UPLOAD_BYTES, SUFFIXES, SYSTEMS, ImportState

_STYLE = (
    "<style>.cov-import-table table{border-collapse:collapse;font-size:13px}"
    ".cov-import-table th,.cov-import-table td{border:1px solid #d9e2ec;padding:2px 8px;"
    "text-align:left;white-space:nowrap}.cov-import-table th{background:#eef4fa}"
    ".cov-import-table{overflow-x:auto;max-width:100%}</style>"
)


def _table(frame: Any, css: str) -> str:
    """An HTML table of ``frame`` (text escaped) in a scrolling box."""
    body = frame.to_html(index=False, border=0, escape=True)
    return f'{_STYLE}<div class="cov-import-table {css}">{body}</div>'


class ImportView(pn.viewable.Viewer):
    """Upload the data files of a new project, check the guesses, validate and save.

    Widgets are made once and updated in place; the mapping's drop-downs are made again only
    when another layer, file or language is shown (replacing widgets while the browser still
    talks to them loses its messages).
    """

    def __init__(self, state: ImportState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.body = pn.Column(sizing_mode="stretch_width")
        self.summary = pn.pane.HTML(sizing_mode="stretch_width")
        self.preview = pn.pane.HTML(sizing_mode="stretch_width")
        self.mapping = pn.FlexBox(sizing_mode="stretch_width")
        self.why = pn.pane.HTML(sizing_mode="stretch_width")
        self.problems = pn.pane.HTML(sizing_mode="stretch_width")
        self.status = pn.pane.HTML(sizing_mode="stretch_width")
        self._fields: dict[str, tuple[pn.widgets.Select, pn.pane.HTML]] = {}
        self._mapping_key: tuple[Any, ...] | None = None
        self._quiet = False  # True while the view sets widgets from the state
        state.param.watch(self._build, ["lang"])
        state.param.watch(self._update, ["version", "layer"])
        state.param.watch(self._status, ["message", "busy"])
        self._build()

    @property
    def title(self) -> str:
        """The tab's label in the state's language."""
        return self.state.t("tab")

    # -- building ---------------------------------------------------------------------------

    def _build(self, *_: Any) -> None:
        s = self.state
        name = pn.widgets.TextInput(name=s.t("project_name"), value=s.project_name,
                                    placeholder="city-2025", css_classes=["cov-import-name"])
        name.link(s, value="project_name", bidirectional=True)
        uploads = []
        for layer, suffixes in SUFFIXES.items():
            widget = pn.widgets.FileInput(accept=",".join(suffixes),
                                          css_classes=[f"cov-upload-{layer}"])
            widget.param.watch(lambda _e, lay=layer, w=widget: self._upload(lay, w), "value")
            uploads.append(pn.Column(pn.pane.Markdown(f"**{s.t(f'layer_{layer}')}**",
                                                      margin=(0, 5)), widget, width=260))
        own = pn.widgets.Checkbox(name=s.t("use_project_network"), value=s.use_project_network)
        own.link(s, value="use_project_network", bidirectional=True)
        own.param.watch(lambda _e: s.propose(), "value")
        self.layer_choice = pn.widgets.RadioButtonGroup(options={}, button_type="default",
                                                        css_classes=["cov-import-layer"])
        self.layer_choice.param.watch(self._choose_layer, "value")
        self.crs = pn.widgets.Select(name=s.t("crs"), options={}, width=320,
                                     css_classes=["cov-import-crs"])
        self.crs.param.watch(self._choose_system, "value")
        check = pn.widgets.Button(name=s.t("validate"), button_type="primary",
                                  css_classes=["cov-import-validate"])
        save = pn.widgets.Button(name=s.t("save"), button_type="success",
                                 css_classes=["cov-import-save"])
        check.on_click(lambda _e: s.validate())
        save.on_click(lambda _e: s.save())
        limit = f"{MAX_UPLOAD_BYTES / 1e6:.1f}"
        self._mapping_key = None
        self.body.objects = [
            pn.pane.Markdown(s.t("intro", limit=limit), sizing_mode="stretch_width"),
            name,
            pn.pane.Markdown(f"#### {s.t('files')}"),
            pn.FlexBox(*uploads, sizing_mode="stretch_width"), own,
            pn.pane.Markdown(f"#### {s.t('summary')}"), self.summary,
            self.layer_choice,
            pn.pane.Markdown(f"#### {s.t('preview')}"), self.preview,
            pn.pane.Markdown(f"#### {s.t('mapping')}"), self.mapping,
            pn.pane.Markdown(f"#### {s.t('crs')}"), self.crs, self.why,
            pn.Row(check, save), self.status,
            pn.pane.Markdown(f"#### {s.t('problems')}"), self.problems,
        ]
        self._update()
        self._status()

    def _upload(self, layer: str, widget: pn.widgets.FileInput) -> None:
        if widget.value is None:
            return
        filename = widget.filename if isinstance(widget.filename, str) else ""
        self.state.upload(layer, filename, widget.value)

    def _choose_layer(self, event: Any) -> None:
        if not self._quiet and event.new:
            self.state.layer = event.new

    def _choose_system(self, event: Any) -> None:
        if not self._quiet:
            self.state.set_system(self.state.layer, event.new)

    def _choose_column(self, layer: str, field: str, event: Any) -> None:
        if not self._quiet:
            self.state.set_column(layer, field, event.new)

    # -- showing the state ------------------------------------------------------------------

    def _update(self, *_: Any) -> None:
        s = self.state
        self._quiet = True
        try:
            with pn.io.hold():
                summary = s.summary()
                self.summary.object = _table(summary, "cov-import-summary") if len(summary) \
                    else ""
                layers = [n for n in s.layers() if n != "network"]
                self.layer_choice.options = {s.t(f"layer_{n}"): n for n in layers}
                self.layer_choice.value = s.layer if s.layer in layers else None
                self.layer_choice.visible = bool(layers)
                preview = s.preview()
                self.preview.object = (_table(preview, "cov-import-preview")
                                       if len(preview.columns) else "")
                self._show_mapping()
                self._show_system()
                self._show_problems()
        finally:
            self._quiet = False

    def _show_mapping(self) -> None:
        s = self.state
        rows = s.mapping()
        key = (s.layer, s.lang, id(s.proposal), tuple(r["field"] for r in rows))
        if key != self._mapping_key:
            self._fields = {}
            cells = []
            for row in rows:
                select = pn.widgets.Select(
                    name=f"{row['field']}{' *' if row['required'] else ''} · {row['label']}",
                    options={}, css_classes=[f"cov-map-{row['field']}"], width=300)
                select.param.watch(lambda e, lay=s.layer, f=row["field"]:
                                   self._choose_column(lay, f, e), "value")
                note = pn.pane.HTML("", margin=(0, 10), width=300)
                self._fields[row["field"]] = (select, note)
                cells.append(pn.Column(select, note, width=320))
            self.mapping.objects = cells
            self._mapping_key = key
        for row in rows:
            select, note = self._fields[row["field"]]
            select.options = {s.t("no_column"): "", **{h: h for h in row["options"][1:]}}
            select.value = row["header"]
            note.object = f'<small style="color:#666">{html.escape(row["how"])}</small>'

    def _show_system(self) -> None:
        s = self.state
        value, why = s.system()
        shown = s.proposal is not None and s.layer in s.proposal.layers
        options = {s.t("crs_none"): "", **{k: k for k in SYSTEMS}}
        if value and value not in options.values():
            options[value] = value  # an EPSG code
        self.crs.options = options
        self.crs.value = value
        self.crs.visible = shown
        self.why.object = (f'<small class="cov-import-why" style="color:#666">'
                           f"{html.escape(why)}</small>") if shown else ""

    def _show_problems(self) -> None:
        s = self.state
        frame = s.problem_frame()
        if not len(frame):
            self.problems.object = (f'<p class="cov-import-problems">{s.t("no_problems")}</p>'
                                    if s.validated else "")
            return
        self.problems.object = _table(frame, "cov-import-problems")

    def _status(self, *_: Any) -> None:
        s = self.state
        text = "…" if s.busy else s.message
        self.status.object = f'<span class="cov-import-status">{html.escape(text)}</span>'

    def __panel__(self) -> pn.viewable.Viewable:
        return self.body


class ImportPage(pn.viewable.Viewer):
    """The import page at its own address (``/import``), apart from the map page.

    The map page links here (``import?lang=…``, carrying its language) instead of holding the
    import's widgets in a tab: they were two fifths of every page's making, and most visitors
    never import.
    """

    def __init__(self, import_dir: str | Path, *, network: str | Path | None = None,
                 lang: str = "zh", **params: Any) -> None:
        super().__init__(**params)
        self.state = ImportState(import_dir, network=network, lang=lang)
        self.view = ImportView(self.state)
        self.header = pn.pane.HTML("", sizing_mode="stretch_width")
        self.lang = pn.widgets.RadioButtonGroup(options={"中文": "zh", "English": "en"},
                                                value=lang, button_type="primary", width=160)
        self.lang.link(self.state, value="lang", bidirectional=True)
        self.state.param.watch(self._relabel, ["lang"])
        self._relabel()

    def _relabel(self, *_: Any) -> None:
        s = self.state
        back = f"./?lang={s.lang}"  # relative: the app may be served under a prefix
        self.header.object = (
            '<div style="background:#08519c;color:white;padding:8px 14px;font-size:20px">'
            f'{html.escape(s.t("page_title"))}'
            f'<a class="cov-back" href="{html.escape(back)}" style="color:white;float:right;'
            f'font-size:15px;margin-top:4px">{html.escape(s.t("back"))}</a></div>')

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.header, self.lang, self.view, sizing_mode="stretch_width",
                         margin=(0, 10))
