"""A new project from uploaded files, for the web app's import page (no session exists yet).

The import page proposes the project (:func:`~coverage.init_project.propose_project`), shows
its layers with every personal cell masked (:func:`~coverage.init_project.masked_preview`),
lets the user settle the guesses, then writes, validates and saves it with the functions here.
:mod:`coverage.engine.session`, the web app's one door into the library, hands them to the app;
this module is the one place where the engine calls the import wizard (a layer above it, named
in the contracts of ``pyproject.toml``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from coverage.init_project import (
    LAYER_ORDER,
    ProjectProposal,
    masked_preview,
    merge_problems,
    propose_project,
    write_project,
)
from coverage.io.loaders import validate_project
from coverage.io.project import FILE_LAYERS, PROJECT_FILE, ProjectError
from coverage.io.schema import LAYERS
from coverage.io.validation import Problems

__all__ = ["LAYER_ORDER", "ProjectProposal", "has_project", "masked_preview", "missing_layers",
           "propose_project", "save_new_project", "validate_new_project"]


def missing_layers(present: Iterable[str]) -> list[str]:
    """Return the required layers without a file, in the project's order.

    Parameters
    ----------
    present
        Names of the layers that have a file.

    Returns
    -------
    list of str
        The road network and every layer the schema requires (:data:`coverage.io.schema.
        LAYERS`) that is not in ``present``.
    """
    have = set(present)
    return [n for n in LAYER_ORDER
            if n not in have and (n in FILE_LAYERS or LAYERS[n].required)]


def has_project(folder: Path) -> bool:
    """Return whether ``folder`` holds a project already (its ``project.toml``)."""
    return (Path(folder) / PROJECT_FILE).exists()


def _unsettled(proposal: ProjectProposal) -> Problems:
    """Return the proposal's problems that the user's choices have not settled."""
    out = Problems()
    for p in proposal.problems:
        layer = next((lay for lay in proposal.layers.values()
                      if p.file in (lay.source, lay.label)), None)
        if layer is not None and p.field in layer.columns and \
                layer.columns[p.field].header is not None:
            continue  # the user mapped the field
        if (layer is not None and p.field == "crs" and layer.system is not None
                and layer.system.how == "user"):
            continue  # the user declared the system
        out.items.append(p)
    return out


def _check(proposal: ProjectProposal, path: Path) -> Problems:
    """Return the proposal's unsettled problems, then the validation's of ``path``."""
    try:
        checked = validate_project(path)
    except ProjectError as exc:
        checked = Problems()
        checked.add(PROJECT_FILE, None, None, "bad-project-key", str(exc))
    return merge_problems(_unsettled(proposal), checked)


def validate_new_project(proposal: ProjectProposal, *, name: str | None = None,
                         language: str = "zh") -> Problems:
    """Write a proposed project into its own folder and validate it.

    Parameters
    ----------
    proposal
        The proposal (:func:`coverage.init_project.propose_project`), with the user's column
        and coordinate-system choices; its ``project.toml`` is written over any earlier one.
    name
        The project's name (default: the proposal's).
    language
        Report language written into the project (``zh`` or ``en``).

    Returns
    -------
    Problems
        The proposal's problems the user's choices have not settled (a mapped field, a
        declared system), then the validation's on another file, field or rule; a project
        file the loader refuses is one ``bad-project-key`` error.
    """
    path = write_project(proposal, overwrite=True, name=name, language=language)
    return _check(proposal, path)


def save_new_project(proposal: ProjectProposal, folder: Path, files: Mapping[str, Path], *,
                     name: str, language: str = "zh") -> tuple[Path, Problems]:
    """Copy a proposed project's files into ``folder``, write its ``project.toml``, validate it.

    Parameters
    ----------
    proposal
        The proposal; it is moved to ``folder`` (:meth:`~coverage.init_project.
        ProjectProposal.rebase`).
    folder
        The new project's folder (created when missing); check first that it holds no project
        (:func:`has_project`): the project file is not written over.
    files
        Layer → file to copy into ``folder`` (under the file's own name); layers not given keep
        their path (a network used where it is).
    name
        The project's name.
    language
        Report language written into the project (``zh`` or ``en``).

    Returns
    -------
    tuple of (Path, Problems)
        The ``project.toml`` written and its problems, as :func:`validate_new_project`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    moved = {}
    for layer, path in files.items():
        moved[layer] = folder / path.name
        shutil.copy2(path, moved[layer])
    proposal.rebase(folder, moved)
    path = write_project(proposal, name=name, language=language)
    return path, _check(proposal, path)
