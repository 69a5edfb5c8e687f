"""What is proposed for a project folder, layer by layer, and what may be shown of it.

A :class:`ProjectProposal` holds a :class:`LayerProposal` per layer (file, encoding, column
mapping, coordinate system) and the problems the user must settle; either can be changed before
the project file is written (:meth:`LayerProposal.set_column`,
:meth:`LayerProposal.set_system`). :func:`masked_preview` shows a layer's first rows with every
personal cell replaced by :data:`~coverage.init_project.guesses.MASK`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from coverage import crs as crsmod
from coverage.init_project._reading import _coordinates
from coverage.init_project.guesses import MASK, ColumnGuess, SystemGuess
from coverage.init_project.matching import _compatibility
from coverage.init_project.systems import _system_for
from coverage.io.schema import LAYERS, Layer
from coverage.io.validation import Problems


@dataclass
class LayerProposal:
    """What is proposed for one layer.

    Attributes
    ----------
    name
        Layer key (``migrants`` … ``network``).
    path
        Absolute path of the file.
    source
        The path as written into ``project.toml`` (relative to the project folder when it can
        be) and used in messages.
    encoding
        ``auto``, ``utf-8`` or ``gb18030`` for CSV files, else ``None``; ``encoding_note`` says
        why (English, Chinese).
    delimiter
        CSV delimiter when it is not a comma.
    layer
        Layer inside a multi-layer file (GeoPackage), when one had to be chosen.
    header_row
        Row of a workbook holding the headers, when it is not the first.
    label
        The file's name in messages (with the sheet for a workbook: ``sites.xlsx[Sheet1]``).
    headers
        The file's headers, in order.
    columns
        Field → guess, for every field of the layer (``header`` ``None`` when not found).
    system
        Coordinate system guess (``None`` for layers that need none).
    rows
        Records read (of the head only for very large CSV files; ``partial`` is then true).
    head
        The first rows as read (unmasked: keep it on the server, show :func:`masked_preview`).
    sample
        A random sample of rows, for checking values when the mapping changes.
    lonlat
        Sampled coordinates as read (``x``, ``y``) and the community ids written in the same rows
        (``None`` when the layer has none), for guessing the coordinate system.
    file_crs
        The spatial file's own CRS.
    """

    name: str
    path: Path
    source: str
    encoding: str | None = None
    encoding_note: tuple[str, str] | None = None
    delimiter: str | None = None
    layer: str | None = None
    header_row: int | None = None
    label: str = ""
    headers: list[str] = field(default_factory=list)
    columns: dict[str, ColumnGuess] = field(default_factory=dict)
    system: SystemGuess | None = None
    rows: int = 0
    partial: bool = False
    head: pd.DataFrame | None = None
    sample: pd.DataFrame | None = None
    lonlat: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
    file_crs: pyproj.CRS | None = None

    @property
    def schema(self) -> Layer | None:
        """The layer's schema (``None`` for the road network)."""
        return LAYERS.get(self.name)

    @property
    def mapping(self) -> dict[str, str]:
        """Field → header for the fields found."""
        return {f: g.header for f, g in self.columns.items() if g.header is not None}

    def set_column(self, field_name: str, header: str | None) -> None:
        """Map ``field_name`` to ``header`` (``None`` unmaps it); a header serves one field only.

        Raises
        ------
        KeyError
            When the layer has no such field or the file no such header.
        """
        if field_name not in self.columns:
            msg = f"the {self.name} layer has no field {field_name!r}"
            raise KeyError(msg)
        if header is not None and header not in self.headers:
            msg = f"{self.source} has no header {header!r}; its headers: {', '.join(self.headers)}"
            raise KeyError(msg)
        for other in self.columns.values():
            if header is not None and other.header == header and other.field != field_name:
                other.header, other.how = None, "user"
        guess = self.columns[field_name]
        guess.header, guess.how, guess.note = header, "user", None
        guess.compatible = None
        schema = self.schema
        if header is not None and schema is not None and self.sample is not None:
            guess.compatible = _compatibility(self.sample[header], schema.column(field_name),
                                              schema)

    def set_system(self, system: str | None) -> None:
        """Declare the coordinate system (anything :func:`coverage.crs.parse_system` accepts)."""
        value = None if system is None else crsmod.parse_system(system)
        self.system = SystemGuess(value, "user", ("chosen by the user", "用户选择"))


@dataclass
class ProjectProposal:
    """Everything proposed for a project folder.

    Attributes
    ----------
    folder
        The project folder (``project.toml`` goes there).
    layers
        Layer name → proposal, in :data:`~coverage.init_project.guesses.LAYER_ORDER`.
    problems
        What the user must settle or check (file, row, field, rule and the fix).
    study_crs
        The metric CRS the network was read in (UTM zone of the communities).
    network
        The road network read for the coordinate-system test (``None`` when unreadable).
    area
        The communities merged and buffered by :data:`~coverage.init_project.guesses.NEAR_AREA_M`,
        in ``study_crs``.
    communities
        The community polygons in WGS-84 (with ``community_id`` when that column was found).
    seconds
        Time taken by each step.
    """

    folder: Path
    layers: dict[str, LayerProposal] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)
    study_crs: pyproj.CRS | None = None
    network: object | None = field(default=None, repr=False)
    area: object | None = field(default=None, repr=False)
    communities: object | None = field(default=None, repr=False)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self, lang: str = "en") -> pd.DataFrame:
        """One row per layer: file, rows, encoding, coordinate system and columns found.

        Parameters
        ----------
        lang
            ``en`` or ``zh`` for the column titles and the words in the cells.
        """
        zh = lang == "zh"
        rows = []
        for layer in self.layers.values():
            guess = layer.system
            crs = ""
            if guess is not None:
                crs = guess.system or ""
                if not crs:
                    own = guess.how == "file"
                    crs = ("文件自带" if own else "待定") if zh else (
                        "the file's own" if own else "TODO")
                if guess.how == "network":
                    crs += ("（推断）" if zh else " (guessed)") if guess.confident else (
                        "（不确定）" if zh else " (uncertain)")
            found = [g for g in layer.columns.values() if g.header is not None]
            close = sum(g.how in ("close", "values") for g in found)
            schema = layer.schema
            missing = [] if schema is None else [
                f for f, g in layer.columns.items()
                if g.header is None and schema.column(f).required]
            cols = ""
            if schema is not None:
                cols = (f"{len(found)} 个字段（近似匹配 {close} 个）" if zh else
                        f"{len(found)} fields ({close} close matches)")
                if missing:
                    cols += ("；缺少 " if zh else "; missing ") + ", ".join(missing)
            rows.append({
                "layer": layer.name,
                "file": layer.source,
                "rows": f"{layer.rows:,}{'+' if layer.partial else ''}" if schema else "",
                "encoding": layer.encoding or "",
                "crs": crs,
                "columns": cols,
            })
        frame = pd.DataFrame(rows, columns=["layer", "file", "rows", "encoding", "crs",
                                            "columns"])
        if zh:
            frame.columns = ["图层", "文件", "行数", "编码", "坐标系", "字段"]
        return frame

    def rebase(self, folder: str | Path, paths: Mapping[str, str | Path] | None = None) -> None:
        """Move the proposal to another project folder (its files copied there first).

        Parameters
        ----------
        folder
            The new project folder.
        paths
            Layer → the file's new place (layers not listed keep theirs); every path written
            into the project file is then made relative to ``folder`` again.
        """
        self.folder = Path(folder).resolve()
        for name, layer in self.layers.items():
            old = layer.source
            if paths and name in paths:
                layer.path = Path(paths[name]).resolve()
            layer.source = _source(layer.path, self.folder)
            if layer.label.startswith(old):
                layer.label = layer.source + layer.label[len(old):]

    def reguess_system(self, name: str) -> SystemGuess | None:
        """Guess the coordinate system of a point layer again (after its mapping changed)."""
        proposal = self.layers[name]
        proposal.lonlat = _coordinates(proposal)
        proposal.system = _system_for(proposal, self)
        return proposal.system


@dataclass
class InitResult:
    """What :func:`coverage.init_project.init_project` did: the proposal, the file, all problems."""

    proposal: ProjectProposal
    path: Path
    problems: Problems

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not self.problems.errors


def _source(path: Path, folder: Path) -> str:
    """``path`` as written into the project file: relative to ``folder`` when possible."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive (Windows): only an absolute path works
        return path.as_posix()


def masked_preview(layer: LayerProposal, rows: int = 5) -> pd.DataFrame:
    """Return the first ``rows`` rows of a layer as text, personal cells replaced by ``•••``.

    In a layer describing people (``migrants``) every column is masked except those mapped to a
    field that is not personal (``community_id``): an unmapped column may hold anything (names,
    telephone numbers). In other layers nothing is personal.
    """
    if layer.head is None:
        return pd.DataFrame(columns=layer.headers)
    frame = layer.head.head(rows).astype("string").fillna("")
    schema = layer.schema
    if schema is None or not schema.personal:
        return frame
    shown = {h for f, h in layer.mapping.items() if not schema.column(f).personal
             and schema.column(f).kind not in ("lon", "lat")}
    for h in frame.columns:
        if h not in shown:
            frame[h] = pd.Series([MASK if v != "" else "" for v in frame[h]], index=frame.index,
                                 dtype="string")
    return frame
