"""Propose a project from its data files, without writing TOML by hand.

``coverage init DIR --migrants FILE --sites FILE --communities FILE --network FILE`` reads each
file, and proposes what a user would otherwise write into ``project.toml``
(:func:`propose_project`, :mod:`~coverage.init_project.propose`):

* the **encoding** of CSV files (UTF-8, UTF-8 with a byte-order mark, GB18030) and their
  delimiter (:mod:`~coverage.init_project._reading`);
* the **column mapping** (:mod:`~coverage.init_project.matching`): headers the data model
  recognises (:mod:`coverage.io.schema`: canonical names and their Chinese and English aliases)
  first, then close matches (a normalised similarity over the canonical names and aliases, whole
  words and contained Chinese terms), accepted only when the column's values fit the field
  (numbers for coordinates, six-digit codes, known categories …). A field never gets two headers,
  nor a header two fields; a required field without a match is a problem naming the file, the
  field and the closest headers;
* the **coordinate system** of each point layer (:mod:`~coverage.init_project.systems`): degrees
  or metres from the values (a projected CRS cannot be guessed: it is left as a problem to
  settle), then which reading of the degrees — WGS-84, GCJ-02 (Amap, Tencent) or BD-09 (Baidu) —
  puts the points next to the roads and in their communities (:func:`guess_system`, confirmed by
  :func:`coverage.network.offsets.check_declaration`; a guess it cannot confirm is written but
  flagged ``crs-uncertain``). Polygon layers keep their file's own CRS.
* for workbooks, the **header row** below any title rows; for GeoPackages of several layers,
  the one layer with the right geometry.

Large CSV files (over :data:`~coverage.init_project.guesses.HEAD_BYTES`) are proposed from their
head; validation reads them whole.

:func:`write_project` writes ``project.toml`` with a comment on every guess (English and
Chinese) and the default parameters of :data:`coverage.io.project.TEMPLATE`
(:mod:`~coverage.init_project.writing`); :func:`init_project` does both and validates the result
(:func:`coverage.io.loaders.validate_project`).

Personal values (migrants' ids, coordinates, answers) never appear in a comment or a problem:
only headers, counts and shares do. :func:`masked_preview` shows the first rows of a layer with
every personal cell replaced by ``•••`` (:mod:`~coverage.init_project.proposal`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from coverage.init_project.guesses import LAYER_ORDER, MASK, ColumnGuess, SystemGuess
from coverage.init_project.matching import match_columns, similarity
from coverage.init_project.proposal import (
    InitResult,
    LayerProposal,
    ProjectProposal,
    masked_preview,
)
from coverage.init_project.propose import _check_layer_names, propose_project
from coverage.init_project.systems import guess_system
from coverage.init_project.writing import render_project, write_project
from coverage.io.loaders import validate_project
from coverage.io.project import FILE_LAYERS, PROJECT_FILE
from coverage.io.schema import LAYERS
from coverage.io.validation import Problems

__all__ = [
    "LAYER_ORDER",
    "MASK",
    "ColumnGuess",
    "InitResult",
    "LayerProposal",
    "ProjectProposal",
    "SystemGuess",
    "guess_system",
    "init_project",
    "masked_preview",
    "match_columns",
    "merge_problems",
    "propose_project",
    "render_project",
    "similarity",
    "write_project",
]


def merge_problems(first: Problems, then: Problems) -> Problems:
    """``first``, then the problems of ``then`` on another file, field or rule."""
    seen = {(p.file, p.field, p.rule) for p in first}
    # A field left to the user among equally close headers is missing for the loader.
    seen |= {(p.file, p.field, "missing-column") for p in first if p.rule == "ambiguous-column"}
    out = Problems(list(first.items))
    out.items += [p for p in then if (p.file, p.field, p.rule) not in seen]
    return out


def init_project(
    folder: str | Path,
    files: Mapping[str, str | Path],
    *,
    overwrite: bool = False,
    language: str = "zh",
    progress: Callable[[str], None] | None = None,
) -> InitResult:
    """Propose a project from ``files``, write its ``project.toml`` and validate it.

    Parameters
    ----------
    folder
        Project folder (created when missing).
    files
        Layer name → file (see :func:`propose_project`).
    overwrite
        Replace an existing ``project.toml``.
    language
        Report language written into the project (``zh`` or ``en``).
    progress
        Called with a short description at the start of each step.

    Returns
    -------
    InitResult
        The proposal, the file written and every problem: the proposal's first (they say what
        to map or declare), then the validation's.

    Raises
    ------
    ValueError
        When a required layer has no file, or a layer name is unknown (checked first).
    FileExistsError
        When ``folder`` has a ``project.toml`` and ``overwrite`` is false (checked before any
        file is read).
    """
    _check_layer_names(files)
    missing = [n for n in LAYER_ORDER
               if n not in files and (n in FILE_LAYERS or LAYERS[n].required)]
    if missing:
        options = " ".join(f"--{n.replace('_', '-')} FILE" for n in missing)
        msg = (f"the {', '.join(missing)} layer(s) are required but no file was given; "
               f"give {options} as well")
        raise ValueError(msg)
    folder = Path(folder)
    target = folder / PROJECT_FILE
    if target.exists() and not overwrite:
        msg = f"{target} already exists; pass --force to overwrite it"
        raise FileExistsError(msg)
    proposal = propose_project(folder, files, progress=progress)
    path = write_project(proposal, overwrite=overwrite, language=language)
    step = progress or (lambda _text: None)
    start = time.perf_counter()
    step("validating")
    checked = validate_project(path, progress=step)
    proposal.seconds["validate"] = time.perf_counter() - start
    return InitResult(proposal, path, merge_problems(proposal.problems, checked))
