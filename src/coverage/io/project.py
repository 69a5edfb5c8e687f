"""The project file, ``project.toml``: layers, parameters, privacy and outputs.

A project is a folder with a ``project.toml`` and the data files it names; paths resolve
relative to the project file; a layer may instead be a table of the project's PostGIS database
(``table = "schema.table"``, read by :mod:`coverage.io.db_tables`). ``coverage init DIR`` writes
a commented template (:data:`~coverage.io.template.TEMPLATE`). Every key is checked: a misspelt
key is an error that names the key, its table and the closest valid key, never silently ignored.
"""

from __future__ import annotations

import codecs
import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyproj

from coverage.crs import parse_system
from coverage.io.assessment import Assessment, AssessmentError, default_assessment, parse_assessment
from coverage.io.db_tables import table_source
from coverage.io.funding_settings import FundingParameters, funding_parameters
from coverage.io.schema import LAYERS
from coverage.io.store_url import DEFAULT_SCHEMA, check_schema, check_store_url
from coverage.io.template import PROJECT_FILE, TEMPLATE, write_template

__all__ = ["DEFAULT_MAX_NEW_STAFF_PER_SITE", "DEFAULT_RATE_MIN_POPULATION", "DEFAULT_SPEEDS_KMH",
           "DEFAULT_TARGETS", "FILE_LAYERS", "MAX_THRESHOLD_MIN", "PROJECT_FILE",
           "SPEED_RANGE_KMH", "STAFFING_STANDARDS", "TEMPLATE", "LayerConfig", "Parameters",
           "Project", "ProjectError", "load_project", "write_template"]

FILE_LAYERS = ("network",)

#: The plan's indicator targets (GUIDE.md); every one can be changed in ``[parameters.targets]``.
DEFAULT_TARGETS: dict[str, float] = {
    "policy_awareness": 0.90,
    "free_service_local": 0.95,
    "pregnancy_check": 0.90,
    "contraceptive_access": 0.90,
    "prepregnancy_consult": 0.80,
    "community_management": 1.00,
    "rh_checks_per_year": 2.0,
}
DEFAULT_SPEEDS_KMH = {"walk": 4.5, "ebike": 15.0}
#: Plausible speeds by travel mode (km/h): a walk of 4,000 km/h is a typo, not a parameter.
SPEED_RANGE_KMH = {"walk": (1.0, 8.0), "ebike": (5.0, 40.0)}
#: Largest time threshold (minutes); the plan's life circles are 5, 10 and 15 minutes.
MAX_THRESHOLD_MIN = 120.0
STAFFING_STANDARDS = ("district_registered_ratio", "city_registered_ratio")
#: Fewest people under a published staff ratio (staff per 1,000 people): a ratio on fewer is
#: left empty and flagged, not published as an outlier (see ``coverage.measures.staffing``).
DEFAULT_RATE_MIN_POPULATION = 100
#: Most new staff (FTE) one recommendation gives one service point (``coverage.engine.recommend``).
DEFAULT_MAX_NEW_STAFF_PER_SITE = 4
_STAFFING_KEYS = {"standard", "rate_min_population", "max_new_staff_per_site"}


class ProjectError(ValueError):
    """The project file is missing, malformed or holds an invalid setting."""


@dataclass(frozen=True)
class LayerConfig:
    """Where and how to read one layer.

    Attributes
    ----------
    name
        Layer key (``migrants``, ``sites``, ``communities``, ``registered_points``,
        ``candidates``, ``network``).
    path
        Absolute path of the file; ``None`` for a layer read from a database table.
    source
        The path as written in the project file, or ``[layers.NAME] table "schema.table"`` for
        a table (used in messages).
    crs
        Declared coordinate system (normalised by :func:`coverage.crs.parse_system`) or ``None``
        to use the file's own.
    encoding
        Text encoding of CSV files: ``auto`` (UTF-8, then GB18030) or a codec name.
    sheet, header_row
        XLSX sheet and the 1-based row with the headers.
    layer
        Layer name inside a multi-layer file (GeoPackage).
    columns
        Canonical column name → header in the file, for headers not recognised automatically.
    repair
        Repair invalid polygons (``make_valid``), logging the area change, instead of failing.
    table
        ``(schema, table)`` of a layer read from the project's PostGIS database, else ``None``.
    geometry
        The table's geometry column, when it has several (``None``: its only one, if any).
    """

    name: str
    path: Path | None
    source: str
    crs: str | None = None
    encoding: str = "auto"
    sheet: str | int | None = None
    header_row: int = 1
    layer: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    repair: bool = False
    delimiter: str | None = None
    table: tuple[str, str] | None = None
    geometry: str | None = None


@dataclass(frozen=True)
class Parameters:
    """Model parameters; defaults follow the plan and the planning norms in GUIDE.md."""

    speeds_kmh: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KMH))
    thresholds_min: tuple[float, ...] = (5.0, 10.0, 15.0)
    max_snap_m: float = 500.0
    study_area_tolerance_m: float = 500.0
    staffing_standard: str | float = "district_registered_ratio"
    targets: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    rate_min_population: int = DEFAULT_RATE_MIN_POPULATION
    max_new_staff_per_site: int = DEFAULT_MAX_NEW_STAFF_PER_SITE
    funding: FundingParameters = field(default_factory=FundingParameters)


@dataclass(frozen=True)
class Project:
    """A parsed project file.

    Attributes
    ----------
    path
        The ``project.toml`` file.
    name, language
        Display name and report language (``zh`` or ``en``).
    study_crs
        ``auto`` (UTM zone of the data) or an ``EPSG:nnnn`` code of a projected CRS in metres.
    layers
        Layer configurations by name.
    parameters
        Model parameters.
    min_cell
        Smallest published cell count (privacy).
    salt_file
        File holding the secret key for hashing national ID numbers.
    output_dir
        Folder for results.
    store_url, store_schema
        ``[store]``: the PostgreSQL database keeping the runs (``None``: the output folder)
        and its schema (see :mod:`coverage.io.store_url`).
    """

    path: Path
    name: str
    language: str
    study_crs: str
    layers: dict[str, LayerConfig]
    parameters: Parameters
    min_cell: int
    salt_file: Path
    output_dir: Path
    store_url: str | None = None
    store_schema: str = DEFAULT_SCHEMA
    assessment: Assessment = field(default_factory=default_assessment)

    @property
    def folder(self) -> Path:
        """The folder holding the project file."""
        return self.path.parent


_TOP_KEYS = {"project", "layers", "parameters", "privacy", "outputs", "store", "assessment"}
_PROJECT_KEYS = {"name", "study_crs", "language"}
_LAYER_KEYS = {"path", "crs", "encoding", "sheet", "header_row", "layer", "columns", "repair",
               "delimiter", "table", "geometry"}
_PARAM_KEYS = {"speeds_kmh", "thresholds_min", "max_snap_m", "study_area_tolerance_m", "staffing",
               "targets", "funding"}
_PRIVACY_KEYS = {"min_cell", "salt_file"}
_OUTPUT_KEYS = {"dir"}
_STORE_KEYS = {"url", "schema"}


def _fail(path: Path, where: str, text: str) -> ProjectError:
    return ProjectError(f"{path.name}: {where}: {text}")


def _check_keys(path: Path, table: dict[str, Any], allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise _fail(
            path,
            f"[{where}]",
            f"{table!r} must be a table of settings, written as "
            f"[{where}] with key = value lines below it",
        )
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else f"valid keys: {', '.join(sorted(allowed))}"
            )
            raise _fail(path, f"[{where}]", f"unknown key {key!r}; {hint}")


def _number(
    path: Path, where: str, value: Any, *, minimum: float = 0.0, strict: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(path, where, f"{value!r} is not a number")
    if value < minimum or (strict and value == minimum):
        rule = ">" if strict else "≥"
        raise _fail(path, where, f"{value!r} must be {rule} {minimum:g}")
    return float(value)


def _resolve(path: Path) -> Path:
    """Make a path absolute without following a broken link chain (a loop is read as missing)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: the reader reports the file unreadable
        return Path(os.path.abspath(path))


def _layer(path: Path, name: str, table: Any) -> LayerConfig:
    where = f"layers.{name}"
    if not isinstance(table, dict):
        raise _fail(path, f"[{where}]", "must be a table with at least `path`")
    _check_keys(path, table, _LAYER_KEYS, where)
    if "table" in table or "geometry" in table:
        try:
            where_read = table_source(name, table, FILE_LAYERS)
        except ValueError as exc:
            raise _fail(path, f"[{where}]", str(exc)) from None
    else:
        where_read = {"path": _file(path, where, table), "source": table["path"]}
    crs = table.get("crs")
    if crs is not None:
        try:
            crs = parse_system(str(crs))
        except ValueError as exc:
            raise _fail(path, f"[{where}] crs", str(exc)) from None
    columns = _layer_columns(path, name, table)
    return LayerConfig(name=name, crs=crs, columns=columns, **where_read,
                       **_reading_options(path, where, table))


def _file(path: Path, where: str, table: dict[str, Any]) -> Path:
    """Return the absolute path of a layer's file, its ``path`` checked."""
    if "path" not in table or not isinstance(table["path"], str):
        raise _fail(path, f"[{where}]", 'needs `path = "file"` (relative to the project file) '
                    'or `table = "schema.table"` (a table of the [store] database)')
    if not table["path"].strip():
        raise _fail(path, f"[{where}] path", 'is empty; give the file, e.g. path = "data.csv"')
    if "\x00" in table["path"]:
        raise _fail(path, f"[{where}] path", f"{table['path']!r} holds a NUL character, which "
                    "no file name can")
    return _resolve(path.parent / table["path"])


def _layer_columns(path: Path, name: str, table: dict[str, Any]) -> dict[str, str]:
    """Return a layer's ``columns`` mapping, checked: fields of the layer → headers as text."""
    where = f"layers.{name}"
    columns = table.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise _fail(path, f"[{where}.columns]",
                    'map field names to file headers as text, e.g. person_id = "人员编号"')
    if name in LAYERS:
        known = set(LAYERS[name].names)
        for key in columns:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = (f"did you mean {close[0]!r}?" if close
                        else f"fields: {', '.join(LAYERS[name].names)}")
                raise _fail(path, f"[{where}.columns]", f"unknown field {key!r}; {hint}")
    return dict(columns)


def _reading_options(path: Path, where: str, table: dict[str, Any]) -> dict[str, Any]:
    """Return how a layer's file is read (header row, repair, encoding, sheet, ...), checked."""
    header_row = table.get("header_row", 1)
    if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
        raise _fail(path, f"[{where}] header_row", f"{header_row!r} must be a whole number ≥ 1")
    repair = table.get("repair", False)
    if not isinstance(repair, bool):
        raise _fail(path, f"[{where}] repair", f"{repair!r} must be true or false")
    encoding = table.get("encoding", "auto")
    try:
        if not isinstance(encoding, str):
            raise LookupError
        if encoding != "auto" and not codecs.lookup(encoding)._is_text_encoding:
            raise LookupError
    except LookupError:
        raise _fail(path, f"[{where}] encoding",
                    f"{encoding!r} is not an encoding; use auto, utf-8 or gb18030") from None
    sheet = table.get("sheet")
    if sheet is not None and (
        isinstance(sheet, bool)
        or not isinstance(sheet, str | int)
        or (isinstance(sheet, int) and sheet < 0)
    ):
        raise _fail(
            path, f"[{where}] sheet", f"{sheet!r} must be a sheet name or its 0-based position"
        )
    delimiter = table.get("delimiter")
    if delimiter is not None and (
        not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n'
    ):
        raise _fail(path, f"[{where}] delimiter",
                    f'{delimiter!r} must be one character such as ",", ";" or "\\t"')
    layer_name = table.get("layer")
    if layer_name is not None and (
        isinstance(layer_name, bool) or not isinstance(layer_name, str | int)
    ):
        raise _fail(path, f"[{where}] layer", f"{layer_name!r} must be a layer name")
    return {"header_row": header_row, "repair": repair, "encoding": encoding, "sheet": sheet,
            "delimiter": delimiter, "layer": layer_name}


def _parameters(path: Path, table: dict[str, Any]) -> Parameters:
    _check_keys(path, table, _PARAM_KEYS, "parameters")
    defaults = Parameters()
    speeds = _speeds(path, table, defaults)
    thresholds = table.get("thresholds_min", list(defaults.thresholds_min))
    if not isinstance(thresholds, list) or not thresholds:
        raise _fail(
            path, "[parameters] thresholds_min", "write a list of minutes, e.g. [5, 10, 15]"
        )
    minutes = tuple(
        sorted(_number(path, "[parameters] thresholds_min", t, strict=True) for t in thresholds)
    )
    if len(set(minutes)) != len(minutes):
        raise _fail(path, "[parameters] thresholds_min",
                    f"{list(thresholds)!r} repeats a threshold; give distinct minutes, e.g. "
                    "[5, 10, 15]")
    if minutes[-1] > MAX_THRESHOLD_MIN or len(minutes) > 6:
        raise _fail(path, "[parameters] thresholds_min",
                    f"give at most 6 thresholds of at most {MAX_THRESHOLD_MIN:g} minutes "
                    "(the plan's life circles are 5, 10 and 15 minutes)")
    standard, whole = _staffing(path, table, defaults)
    targets = dict(DEFAULT_TARGETS)
    given_targets = table.get("targets", {})
    _check_keys(path, given_targets, set(DEFAULT_TARGETS), "parameters.targets")
    for key, value in given_targets.items():
        value = _number(path, f"[parameters.targets] {key}", value)
        if key != "rh_checks_per_year" and value > 1:
            raise _fail(path, f"[parameters.targets] {key}",
                        f"{value:g} is a share and must be ≤ 1 (write 0.9 for 90 %)")
        targets[key] = value
    max_snap_m = table.get("max_snap_m", defaults.max_snap_m)
    tolerance = table.get("study_area_tolerance_m", defaults.study_area_tolerance_m)
    try:
        funding = funding_parameters(table.get("funding", {}))
    except ValueError as exc:
        where, _, message = str(exc).partition(": ")
        raise _fail(path, where, message) from None
    return Parameters(
        speeds_kmh=speeds,
        thresholds_min=minutes,
        max_snap_m=_number(path, "[parameters] max_snap_m", max_snap_m, strict=True),
        study_area_tolerance_m=_number(path, "[parameters] study_area_tolerance_m", tolerance),
        staffing_standard=standard,
        targets=targets,
        funding=funding,
        **whole,
    )


def _speeds(path: Path, table: dict[str, Any], defaults: Parameters) -> dict[str, float]:
    """Return the travel speeds, the defaults for the modes not given; each checked."""
    speeds = dict(defaults.speeds_kmh)
    given = table.get("speeds_kmh", {})
    if not isinstance(given, dict):
        raise _fail(path, "[parameters] speeds_kmh", "write it as { walk = 4.5, ebike = 15.0 }")
    _check_keys(path, given, set(DEFAULT_SPEEDS_KMH), "parameters.speeds_kmh")
    for mode, speed in given.items():
        speeds[mode] = _number(path, f"[parameters.speeds_kmh] {mode}", speed, strict=True)
        low, high = SPEED_RANGE_KMH[mode]
        if not low <= speeds[mode] <= high:
            raise _fail(path, f"[parameters.speeds_kmh] {mode}",
                        f"{speeds[mode]:g} km/h is not a {mode} speed; use {low:g}–{high:g}")
    return speeds


def _staffing(
    path: Path, table: dict[str, Any], defaults: Parameters
) -> tuple[str | float, dict[str, int]]:
    """Return ``[parameters.staffing]``: the standard, and the whole-number settings by name."""
    staffing = table.get("staffing", {})
    _check_keys(path, staffing, _STAFFING_KEYS, "parameters.staffing")
    whole = {}
    for key in ("rate_min_population", "max_new_staff_per_site"):
        value = staffing.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _fail(path, f"[parameters.staffing] {key}",
                        f"{value!r} must be a whole number ≥ 1 (default "
                        f"{getattr(defaults, key)})")
        whole[key] = value
    standard = staffing.get("standard", defaults.staffing_standard)
    if isinstance(standard, str):
        if standard not in STAFFING_STANDARDS:
            raise _fail(path, "[parameters.staffing] standard",
                        f"{standard!r} is not a standard; use one of "
                        f"{', '.join(STAFFING_STANDARDS)} or staff per 1,000 people as a number")
    else:
        standard = _number(path, "[parameters.staffing] standard", standard, strict=True)
    return standard, whole


def load_project(path: str | Path) -> Project:
    """Read and check a project file.

    Parameters
    ----------
    path
        The ``project.toml`` file or the folder holding it.

    Returns
    -------
    Project
        The parsed project; data files are not read yet (see :mod:`coverage.io.loaders`).

    Raises
    ------
    ProjectError
        When the file is missing, is not valid TOML, or holds an unknown key or a bad value.
    """
    path, data = _read_toml(Path(path))
    _check_keys(path, data, _TOP_KEYS, "top level")
    head = data.get("project", {})
    _check_keys(path, head, _PROJECT_KEYS, "project")
    language = head.get("language", "zh")
    if language not in ("zh", "en"):
        raise _fail(path, "[project] language", f'{language!r} must be "zh" or "en"')
    study_crs = str(head.get("study_crs", "auto"))
    if study_crs != "auto":
        _check_study_crs(path, study_crs)
    layers_table = data.get("layers", {})
    allowed = set(LAYERS) | set(FILE_LAYERS)
    _check_keys(path, layers_table, allowed, "layers")
    layers = {name: _layer(path, name, table) for name, table in layers_table.items()}
    for name in [*(n for n, lay in LAYERS.items() if lay.required), *FILE_LAYERS]:
        if name not in layers:
            raise _fail(path, "[layers]", f"the {name!r} layer is required; add "
                        f"[layers.{name}] with its path and crs")
    privacy = data.get("privacy", {})
    _check_keys(path, privacy, _PRIVACY_KEYS, "privacy")
    min_cell = privacy.get("min_cell", 10)
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        raise _fail(path, "[privacy] min_cell", f"{min_cell!r} must be a whole number ≥ 1")
    outputs = data.get("outputs", {})
    _check_keys(path, outputs, _OUTPUT_KEYS, "outputs")
    out_dir = outputs.get("dir", "results")
    if not isinstance(out_dir, str) or not out_dir or "\x00" in out_dir:
        raise _fail(path, "[outputs] dir", f"{outputs.get('dir')!r} must be a folder name as "
                    'text, e.g. dir = "results"')
    salt_file = privacy.get("salt_file", ".coverage-salt")
    if not isinstance(salt_file, str) or "\x00" in salt_file:
        raise _fail(path, "[privacy] salt_file", "must be a file name as text")
    parameters = _parameters(path, data.get("parameters", {}))
    try:
        assessment = parse_assessment(data.get("assessment", {}), parameters.thresholds_min)
    except AssessmentError as exc:
        raise _fail(path, exc.where, exc.text) from None
    return Project(
        path=path,
        name=str(head.get("name", path.parent.name)),
        language=language,
        study_crs=study_crs,
        layers=layers,
        parameters=parameters,
        min_cell=min_cell,
        salt_file=path.parent / str(privacy.get("salt_file", ".coverage-salt")),
        output_dir=path.parent / str(outputs.get("dir", "results")),
        **_store(path, data.get("store", {})),
        assessment=assessment,
    )


def _store(path: Path, table: dict[str, Any]) -> dict[str, Any]:
    """Return ``[store]``: the database URL (``None``: the output folder) and schema, checked."""
    _check_keys(path, table, _STORE_KEYS, "store")
    try:
        url = None if "url" not in table else check_store_url(table["url"])
        return {"store_url": url, "store_schema": check_schema(table.get("schema", DEFAULT_SCHEMA))}
    except ValueError as exc:
        raise _fail(path, "[store]", str(exc)) from None


def _read_toml(path: Path) -> tuple[Path, dict[str, Any]]:
    """Find and parse the project file; return its resolved path and its tables."""
    if path.is_dir():
        path = path / PROJECT_FILE
    if not path.exists():
        msg = (
            f"{path}: no project file here; create one with `coverage init DIR` or `coverage demo`"
        )
        raise ProjectError(msg)
    if not path.is_file():  # a folder or a FIFO (reading one would wait for a writer)
        msg = f"{path}: not a regular file; give the project folder or its project.toml"
        raise ProjectError(msg)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _fail(path, "syntax", f"{exc}; the file must be UTF-8 TOML") from None
    except OSError as exc:
        msg = f"{path}: cannot read it ({exc.strerror or type(exc).__name__})"
        raise ProjectError(msg) from None
    return path.resolve(), data


def _check_study_crs(path: Path, study_crs: str) -> None:
    """Raise unless ``study_crs`` is a projected CRS in metres that is not a Mercator one."""
    try:
        crs = pyproj.CRS.from_user_input(study_crs)
    except pyproj.exceptions.CRSError:
        raise _fail(path, "[project] study_crs",
                    f'{study_crs!r} is not a CRS; use "auto" or e.g. "EPSG:32650"') from None
    if crs.to_epsg() in (3857, 3395, 900913, 54004):
        raise _fail(path, "[project] study_crs",
                    f"{study_crs!r} is a Mercator projection: its distances are too long "
                    'by 1/cos(latitude) (about 9 % in southern China); use "auto" or a '
                    "UTM or Gauss–Krüger zone")
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise _fail(path, "[project] study_crs",
                    f'{study_crs!r} must be a projected CRS in metres, e.g. "EPSG:32650"')
