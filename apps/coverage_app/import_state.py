"""The import page's state: uploaded files, the proposed project, the user's choices.

:class:`ImportState` holds no widget: it saves uploads into a staging folder inside the
server-side import folder the app is configured with (the upload's name only gives the file
type: its path is never used), proposes the project (:func:`coverage.engine.session.
propose_project`, the import wizard of :mod:`coverage.init_project`), applies the column and
coordinate-system choices, validates, and saves the project into
``<import folder>/<project name>/`` (:func:`coverage.engine.session.validate_new_project`,
:func:`~coverage.engine.session.save_new_project`). Tests drive it directly; the view only
shows it.

What reaches the browser: headers, counts, the guesses' comments and the validation table
(whose hints never quote a personal value), and a preview whose personal cells are masked
(:func:`coverage.engine.session.masked_preview`).
"""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import param

from coverage.engine.session import (
    LAYER_ORDER,
    Problems,
    ProjectProposal,
    has_project,
    masked_preview,
    missing_layers,
    propose_project,
    save_new_project,
    validate_new_project,
)
from coverage.publish.labels import text

from . import MAX_MESSAGE_BYTES

#: Largest file accepted. An upload travels base64-encoded in one websocket message, which the
#: server caps at :data:`coverage_app.MAX_MESSAGE_BYTES`: three quarters of it, less a margin.
MAX_UPLOAD_BYTES = MAX_MESSAGE_BYTES * 3 // 4 - 64 * 1024

_TABLES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".gpkg", ".geojson", ".json", ".fgb",
           ".parquet", ".geoparquet")
#: File types accepted per layer (a Shapefile needs several files: upload a GeoPackage).
SUFFIXES: dict[str, tuple[str, ...]] = {
    **{name: _TABLES for name in LAYER_ORDER if name != "network"},
    "network": (".osm", ".osm.pbf", ".pbf", ".graphml", ".gpkg"),
}
#: Coordinate systems offered (``""``: none declared, the file's own CRS).
SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")


def _suffix(filename: str) -> str:
    """The file type of an uploaded file's name (the name itself is never used)."""
    name = Path(str(filename).replace("\\", "/")).name.lower()
    return ".osm.pbf" if name.endswith(".osm.pbf") else Path(name).suffix


def project_folder_name(name: str) -> str:
    """A safe folder name for a project name: letters (Chinese too), digits, ``-``, ``_``.

    Raises
    ------
    ValueError
        When nothing usable is left.
    """
    safe = re.sub(r"[^\w\-]+", "_", name.strip(), flags=re.UNICODE).strip("._")[:60]
    if not safe:
        msg = f"{name!r} is not usable as a project name; use letters, digits, - or _"
        raise ValueError(msg)
    return safe


class ImportState(param.Parameterized):
    """Files uploaded, the proposal, and the user's choices for a new project."""

    lang = param.Selector(default="zh", objects=["zh", "en"])
    project_name = param.String(default="", doc="Name of the new project (its folder).")
    layer = param.Selector(default="migrants", objects=list(LAYER_ORDER),
                           doc="Layer shown in the preview and the mapping.")
    use_project_network = param.Boolean(default=True, doc=(
        "Use the current project's road network when none is uploaded."))
    version = param.Integer(default=0, doc="Changes whenever the proposal does.")
    busy = param.Boolean(default=False)
    message = param.String(default="")
    saved = param.String(default="", doc="Folder name of the project last saved.")

    GROUP: ClassVar[str] = "app_import"

    def __init__(self, folder: str | Path, *, network: str | Path | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        self.folder = Path(folder).resolve()
        self.staging = self.folder / ".staging" / uuid.uuid4().hex
        self.project_network = None if network is None else Path(network)
        self.files: dict[str, Path] = {}
        self.proposal: ProjectProposal | None = None
        self.problems = Problems()
        self.validated = False
        self._lock = threading.RLock()

    # -- texts ------------------------------------------------------------------------------

    def t(self, key: str, **fields: object) -> str:
        """Text of the import page in the chosen language."""
        return text(self.GROUP, key, self.lang, **fields)

    def _error(self, message: str) -> None:
        self.message = self.t("error", message=message)

    # -- files ------------------------------------------------------------------------------

    def upload(self, layer: str, filename: str, data: bytes) -> bool:
        """Keep an uploaded file for ``layer`` and propose the project again.

        Only the type of ``filename`` is used: the file is saved as ``<layer><suffix>`` in this
        session's staging folder. Returns whether the file was accepted.
        """
        if layer not in SUFFIXES:
            self._error(f"unknown layer {layer!r}")
            return False
        if len(data) > MAX_UPLOAD_BYTES:
            self._error(self.t("too_large", size=f"{len(data) / 1e6:.1f}",
                               limit=f"{MAX_UPLOAD_BYTES / 1e6:.1f}"))
            return False
        suffix = _suffix(filename)
        if suffix not in SUFFIXES[layer]:
            self._error(self.t("wrong_type", layer=layer, types=", ".join(SUFFIXES[layer])))
            return False
        with self._lock:
            self.staging.mkdir(parents=True, exist_ok=True)
            old = self.files.get(layer)
            if old is not None and old.exists():
                old.unlink()
            target = self.staging / f"{layer}{suffix}"
            target.write_bytes(data)
            self.files[layer] = target
        self.propose(notify=False)
        shown = layer if self.proposal is not None and layer in self.proposal.layers and \
            layer != "network" else self.layer
        self.param.update(layer=shown, version=self.version + 1)  # views update once
        return True

    def file_set(self) -> dict[str, Path]:
        """Layer → file: the uploads, and the project's network when none is uploaded."""
        files = dict(self.files)
        if ("network" not in files and self.use_project_network
                and self.project_network is not None):
            files["network"] = self.project_network
        return files

    # -- the proposal -----------------------------------------------------------------------

    def propose(self, *, notify: bool = True) -> None:
        """Read every file and propose the project (encodings, columns, coordinate systems).

        ``notify`` false leaves ``version`` to the caller.
        """
        files = self.file_set()
        if not files:
            return
        self.busy = True
        try:
            with self._lock:
                self.proposal = propose_project(self.staging, files)
                self.problems = Problems(list(self.proposal.problems.items))
                self.validated = False
            self.message = self.t("proposed", n=len(self.proposal.layers))
        except (ValueError, OSError) as exc:
            self._error(str(exc))
        finally:
            self.busy = False
            if notify:
                self.version += 1

    def layers(self) -> list[str]:
        """Layers with a proposal, in the project's order."""
        return [] if self.proposal is None else list(self.proposal.layers)

    def set_column(self, layer: str, field: str, header: str) -> None:
        """Map ``field`` of ``layer`` to ``header`` (``""``: no column)."""
        if self.proposal is None or layer not in self.proposal.layers:
            return
        with self._lock:
            proposal = self.proposal.layers[layer]
            try:
                proposal.set_column(field, header or None)
            except KeyError as exc:
                self._error(str(exc.args[0]))
                return
            if field in ("lon", "lat") and (proposal.system is None
                                            or proposal.system.how != "user"):
                self.proposal.reguess_system(layer)
            self.validated = False
        self.version += 1

    def set_system(self, layer: str, system: str) -> None:
        """Declare the coordinate system of ``layer`` (``""``: none, the file's own)."""
        if self.proposal is None or layer not in self.proposal.layers:
            return
        try:
            with self._lock:
                # the proposal reads the name: an unknown one is a ValueError
                self.proposal.layers[layer].set_system(system or None)
                self.validated = False
        except ValueError as exc:
            self._error(str(exc))
            return
        self.version += 1

    # -- checking and saving ----------------------------------------------------------------

    def missing_layers(self) -> list[str]:
        """Required layers without a file."""
        return missing_layers(self.file_set())

    def validate(self) -> Problems:
        """Write the project into the staging folder and validate it; the problems."""
        missing = self.missing_layers()
        if self.proposal is None or missing:
            self._error(self.t("missing_layers", layers=", ".join(missing or LAYER_ORDER[:4])))
            return self.problems
        self.busy = True
        try:
            with self._lock:
                self.problems = validate_new_project(
                    self.proposal, name=self.project_name or None, language=self.lang)
                self.validated = True
            self.message = self._counts()
        finally:
            self.busy = False
            self.version += 1
        return self.problems

    def _counts(self) -> str:
        n_err = sum(p.count for p in self.problems.errors)
        n_warn = sum(p.count for p in self.problems.warnings)
        return self.t("counts", errors=f"{n_err:,}", warnings=f"{n_warn:,}")

    def save(self) -> Path | None:
        """Save the project into ``<import folder>/<project name>/``; its ``project.toml``.

        The uploaded files are copied there, the project file written (paths relative to it)
        and validated. An existing project of that name is never overwritten.
        """
        missing = self.missing_layers()
        if self.proposal is None or missing:
            self._error(self.t("missing_layers", layers=", ".join(missing or LAYER_ORDER[:4])))
            return None
        try:
            name = project_folder_name(self.project_name)
        except ValueError:
            self._error(self.t("need_name"))
            return None
        target = self.folder / name
        if has_project(target):
            self._error(self.t("exists", name=name))
            return None
        self.busy = True
        try:
            with self._lock:
                path, self.problems = save_new_project(
                    self.proposal, target, self.files, name=self.project_name.strip(),
                    language=self.lang)
                self.validated = True
                # The next upload starts another project: never write into a saved one.
                shutil.rmtree(self.staging, ignore_errors=True)
                self.staging = self.folder / ".staging" / uuid.uuid4().hex
                self.files = {}
            self.saved = name
            self.message = self.t("saved", name=name) + " " + self._counts()
            return path
        finally:
            self.busy = False
            self.version += 1

    # -- what the view shows ----------------------------------------------------------------

    def summary(self) -> pd.DataFrame:
        """One row per layer: file, rows, encoding, coordinate system, columns found."""
        if self.proposal is None:
            return pd.DataFrame()
        frame = self.proposal.summary(self.lang)
        # Staged files are named after their layer; the network may be the project's.
        frame.iloc[:, 1] = [self.t("project_network") if n == "network" and
                            "network" not in self.files else Path(f).name
                            for n, f in zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True)]
        return frame

    def preview(self, layer: str | None = None, rows: int = 5) -> pd.DataFrame:
        """The first rows of a layer, personal cells masked."""
        layer = layer or self.layer
        if self.proposal is None or layer not in self.proposal.layers:
            return pd.DataFrame()
        return masked_preview(self.proposal.layers[layer], rows)

    def mapping(self, layer: str | None = None) -> list[dict[str, Any]]:
        """The fields of a layer: name, required, chosen header, how it was found, options."""
        layer = layer or self.layer
        if self.proposal is None or layer not in self.proposal.layers:
            return []
        proposal = self.proposal.layers[layer]
        schema = proposal.schema
        if schema is None:
            return []
        zh = self.lang == "zh"
        rows = []
        for f, guess in proposal.columns.items():
            col = schema.column(f)
            shown = guess.header is not None or guess.how == "user"
            how = guess.comment()[1 if zh else 0] if shown else ""
            rows.append({"field": f, "required": col.required, "header": guess.header or "",
                         "how": how, "label": col.doc_zh.split("（")[0].split("；")[0] if zh
                         else col.doc.split(".")[0], "options": ["", *proposal.headers]})
        return rows

    def system(self, layer: str | None = None) -> tuple[str, str]:
        """The declared coordinate system of a layer (``""``: none) and why, in the language."""
        layer = layer or self.layer
        if self.proposal is None or layer not in self.proposal.layers:
            return "", ""
        guess = self.proposal.layers[layer].system
        if guess is None:
            return "", ""
        why = guess.comment()[1 if self.lang == "zh" else 0]
        return guess.system or "", why

    def problem_frame(self) -> pd.DataFrame:
        """The problems as a table: severity, file, row, field, rule, hint."""
        zh = self.lang == "zh"
        names = {"error": "错误", "warning": "警告", "info": "提示"}
        rows = [{
            "severity": names[p.severity] if zh else p.severity,
            "file": p.file,
            "row": "" if p.row is None else (f"{p.row} (+{p.count - 1:,})" if p.count > 1
                                             else str(p.row)),
            "field": p.field or "",
            "rule": f"{p.describe(self.lang)} [{p.rule}]",
            "hint": p.hint,
        } for p in self.problems]
        frame = pd.DataFrame(rows, columns=["severity", "file", "row", "field", "rule", "hint"])
        if zh:
            frame.columns = ["级别", "文件", "行", "字段", "规则", "说明"]
        return frame
