"""Scenarios as data: the edits to the service points, their checks, the scenario file.

A :class:`Scenario` is a name and a list of :class:`Edit` s — add a service point with staff,
move one, close one, change its staff — saved to and loaded from JSON together with the hashes
of the project's input files, so that a run can be reproduced and a scenario is never silently
applied to other data. A scenario file comes from users (the web app's upload, the command
line): it is read as text only, within the size, nesting and count limits below, and every bad
field is a one-line error naming it. The scenario model that evaluates them is
:class:`coverage.engine.scenario.ScenarioModel`.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from coverage.engine import provenance
from coverage.io.loaders import StudyData
from coverage.io.schema import SITE_KINDS

Action = Literal["add", "move", "close", "set_staff"]
ACTIONS: tuple[str, ...] = ("add", "move", "close", "set_staff")
SCENARIO_VERSION = 1

MAX_SCENARIO_BYTES = 1_000_000
"""Largest scenario read (UTF-8 bytes of its JSON text, or the size of its file)."""
MAX_JSON_DEPTH = 16
"""Deepest nesting of JSON arrays and objects read (a scenario needs 3)."""
MAX_EDITS = 1_000
"""Most edits in one scenario."""
MAX_PLACEMENTS = 100
"""Most edits of one scenario that place a service point (add or move): each routes everyone
from the new place (about 20 to 70 ms on the smallest network), so they bound the time a
scenario takes; staff changes are not limited beyond :data:`MAX_EDITS`."""
MAX_STAFF = 1_000.0
"""Most staff (FTE) one service point may have in a scenario."""
MAX_NAME_CHARS = 200
"""Longest scenario name or service-point name (characters)."""
MAX_ID_CHARS = 100
"""Longest service-point id (characters)."""
MAX_INPUTS = 100
"""Most entries in a scenario's ``inputs`` (layer name → SHA-256 hex digest)."""

_REQUIRED: dict[str, tuple[str, ...]] = {
    "add": ("lon", "lat", "staff"), "move": ("lon", "lat"), "close": (), "set_staff": ("staff",)}
_TOP_KEYS = ("version", "name", "inputs", "edits")
_RANGES = {"lon": (-180.0, 180.0, "a longitude; give WGS-84 degrees, a finite number from -180 "
                                   "to 180"),
           "lat": (-90.0, 90.0, "a latitude; give WGS-84 degrees, a finite number from -90 to 90"),
           "staff": (0.0, MAX_STAFF, f"a staff count; give FTE staff ≥ 0 and at most "
                                     f"{MAX_STAFF:,.0f} for one service point")}


def shown_value(value: Any, limit: int = 40) -> str:
    """``repr`` of a value, cut to ``limit`` characters for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any) -> bool:
    """Whether ``value`` is a string that can be written out (no lone surrogate from JSON)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # "\\ud800" in the JSON text
        return False
    return True


def _json_type(value: Any) -> str:
    """Name the JSON type of a parsed value (an object, an array, a string, a number, null)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    names = {dict: "an object", list: "an array", str: "a string"}
    return next((n for t, n in names.items() if isinstance(value, t)), "a number")


@dataclass
class Edit:
    """One change to the service points.

    Attributes
    ----------
    action
        ``add``, ``move``, ``close`` or ``set_staff``.
    site_id
        The point concerned (a new id for ``add``).
    lon, lat
        WGS-84 position for ``add`` and ``move``.
    staff
        Staff (FTE) for ``add`` and ``set_staff``.
    kind
        Kind of a new point (default ``health_station``).
    name
        Name of a new point.
    """

    action: str
    site_id: str
    lon: float | None = None
    lat: float | None = None
    staff: float | None = None
    kind: str = "health_station"
    name: str = ""

    def check(self, number: int | None = None) -> None:
        """Raise ``ValueError`` when the edit is incomplete or invalid.

        Parameters
        ----------
        number
            The edit's position in its scenario (from 1), named in the message when given.

        Raises
        ------
        ValueError
            One line naming the edit and the field: an unknown action or kind, a missing
            field the action needs, a position that is not finite WGS-84 degrees, staff that
            is not finite, negative or above :data:`MAX_STAFF`, or an over-long id or name.
        """
        sid = shown_value(self.site_id)
        where = f"edit {sid}" if number is None else f"edit {number} ({sid})"
        if not isinstance(self.action, str) or self.action not in ACTIONS:
            msg = (f"{where}: unknown action {shown_value(self.action)}; "
                   f"use one of {', '.join(ACTIONS)}")
            raise ValueError(msg)
        if (not _text(self.site_id) or not self.site_id.strip()
                or len(self.site_id) > MAX_ID_CHARS):
            msg = (f"{where}, field 'site_id': {shown_value(self.site_id)} is not a service-point "
                   f"id; give a non-empty string of at most {MAX_ID_CHARS} characters (no lone "
                   "surrogates)")
            raise ValueError(msg)
        missing = [k for k in _REQUIRED[self.action] if getattr(self, k) is None]
        if "lon" in missing or "lat" in missing:
            msg = f"{where}: {self.action} needs lon and lat (WGS-84 degrees); add both fields"
            raise ValueError(msg)
        if missing:
            msg = (f"{where}: {self.action} needs staff ≥ 0 (FTE); add the field 'staff', "
                   f"at most {MAX_STAFF:,.0f}")
            raise ValueError(msg)
        for key, (low, high, what) in _RANGES.items():
            value = getattr(self, key)
            if value is None:
                continue
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            try:
                ok = ok and math.isfinite(float(value)) and low <= float(value) <= high
            except (OverflowError, ValueError):
                ok = False
            if not ok:
                msg = f"{where}, field {key!r}: {shown_value(value)} is not {what}"
                raise ValueError(msg)
        if not isinstance(self.kind, str) or self.kind not in SITE_KINDS:
            kinds = ", ".join(SITE_KINDS)
            msg = (f"{where}, field 'kind': unknown kind {shown_value(self.kind)}; "
                   f"use one of {kinds}")
            raise ValueError(msg)
        if not _text(self.name) or len(self.name) > MAX_NAME_CHARS:
            got = (f"{len(self.name):,} characters is too long" if _text(self.name)
                   else f"{_json_type(self.name)} is not a name" if not isinstance(self.name, str)
                   else "a string with a lone surrogate is not text")
            msg = (f"{where}, field 'name': {got}; give a string of at most "
                   f"{MAX_NAME_CHARS} characters")
            raise ValueError(msg)


@dataclass
class Scenario:
    """A named, ordered list of edits, with the hashes of the inputs it was made on."""

    name: str
    edits: list[Edit] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)

    def to_json(self, path: str | Path | None = None) -> str:
        """Return the scenario as JSON text, and write it to ``path`` when given."""
        text = json.dumps({"version": SCENARIO_VERSION, "name": self.name,
                           "inputs": self.inputs, "edits": [asdict(e) for e in self.edits]},
                          ensure_ascii=False, indent=2)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_text(cls, text: str | bytes, *, label: str = "scenario") -> Scenario:
        """Parse a scenario from its JSON text (or UTF-8 bytes); never reads a file.

        The format is described in ``docs/scenarios.md``. Text that looks like a file name is
        parsed as JSON like any other text (and fails as JSON): use :meth:`from_file` to read
        a file the user named.

        Parameters
        ----------
        text
            The JSON text, or its bytes in UTF-8 (a byte-order mark is allowed).
        label
            What to call the scenario in messages (e.g. the uploaded file's name).

        Returns
        -------
        Scenario
            The scenario, every edit checked with :meth:`Edit.check`.

        Raises
        ------
        ValueError
            One line naming what was wrong: more than :data:`MAX_SCENARIO_BYTES`, not UTF-8,
            not JSON, nested deeper than :data:`MAX_JSON_DEPTH`, an unknown or wrongly typed
            field, more than :data:`MAX_EDITS` edits (or :data:`MAX_PLACEMENTS` that add or move
            a service point), or an invalid edit (its number and field).
        TypeError
            When ``text`` is neither text nor bytes (e.g. a :class:`~pathlib.Path`).
        """
        if isinstance(text, bytes | bytearray | memoryview):
            raw = bytes(text)
            size = len(raw)
            if size <= MAX_SCENARIO_BYTES:
                try:
                    text = raw.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    msg = (f"{label}: not UTF-8 text (byte {exc.start:,}); save the scenario "
                           "as UTF-8 JSON")
                    raise ValueError(msg) from None
        elif isinstance(text, str):
            size = len(text) if len(text) > MAX_SCENARIO_BYTES else len(text.encode("utf-8"))
            text = text.removeprefix("\ufeff")
        else:
            msg = (f"{label}: a scenario is parsed from JSON text or bytes, not "
                   f"{type(text).__name__}; read a file with Scenario.from_file")
            raise TypeError(msg)
        if size > MAX_SCENARIO_BYTES:
            msg = (f"{label}: {size:,} bytes is more than the {MAX_SCENARIO_BYTES:,} bytes a "
                   f"scenario may have; keep it to at most {MAX_EDITS:,} edits")
            raise ValueError(msg)
        return cls._from_data(_parse_json(text, label), label)

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """Read a scenario JSON file named by a user (the command line's ``simulate``).

        Only a regular file of at most :data:`MAX_SCENARIO_BYTES` is read: a folder, FIFO,
        device or socket is refused before anything is read from it, and so is a larger file.

        Parameters
        ----------
        path
            The scenario file.

        Returns
        -------
        Scenario
            As :meth:`from_text`, named after the file in messages.

        Raises
        ------
        ValueError
            One line naming the file and what was wrong with it.
        """
        path = Path(path)
        label = path.name or str(path)
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                msg = (f"{label}: not a regular file ({_file_kind(info.st_mode)}); give the "
                       "path of a scenario JSON file")
                raise ValueError(msg)
            _check_size(label, info.st_size)
            # Non-blocking: should the path become a FIFO after the check, opening it must not
            # wait for a writer; the open file is checked again below.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            msg = f"{label}: no scenario file at {path}; check the path"
            raise ValueError(msg) from None
        except OSError as exc:
            msg = f"{label}: cannot read the scenario file ({exc.strerror}); check its permissions"
            raise ValueError(msg) from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                msg = (f"{label}: not a regular file ({_file_kind(info.st_mode)}); give the "
                       "path of a scenario JSON file")
                raise ValueError(msg)
            _check_size(label, info.st_size)
            raw = handle.read(MAX_SCENARIO_BYTES + 1)
        _check_size(label, len(raw))
        return cls.from_text(raw, label=label)

    @classmethod
    def _from_data(cls, data: Any, label: str) -> Scenario:
        """Check parsed JSON against the scenario format and build the scenario."""
        if not isinstance(data, dict):
            msg = (f"{label}: expected a JSON object with \"name\" and \"edits\", got "
                   f"{_json_type(data)}; see docs/scenarios.md for the format")
            raise ValueError(msg)
        extra = sorted(set(data) - set(_TOP_KEYS))
        if extra:
            msg = (f"{label}: unknown keys {shown_value(extra, 80)}; a scenario has only "
                   f"{', '.join(_TOP_KEYS)}")
            raise ValueError(msg)
        if "edits" not in data:
            msg = f"{label}: expected an object with \"name\" and \"edits\"; add \"edits\": []"
            raise ValueError(msg)
        version = data.get("version", SCENARIO_VERSION)
        if isinstance(version, bool) or version != SCENARIO_VERSION:
            msg = (f"{label}, field 'version': {shown_value(version)} is not supported; this "
                   f"version reads scenario version {SCENARIO_VERSION}")
            raise ValueError(msg)
        name = data.get("name", label)
        if not _text(name) or len(name) > MAX_NAME_CHARS:
            got = (f"{len(name):,} characters is too long" if _text(name)
                   else f"{_json_type(name)} is not a name" if not isinstance(name, str)
                   else "a string with a lone surrogate is not text")
            msg = (f"{label}, field 'name': {got}; give a string of at most {MAX_NAME_CHARS} "
                   "characters")
            raise ValueError(msg)
        inputs = data.get("inputs", {})
        if (not isinstance(inputs, dict) or len(inputs) > MAX_INPUTS
                or not all(_text(k) and _text(v) and len(v) <= 128 for k, v in inputs.items())):
            msg = (f"{label}, field 'inputs': expected an object of at most {MAX_INPUTS} "
                   "layer names → SHA-256 hex digests (strings); remove the field or keep the "
                   "one the scenario was saved with")
            raise ValueError(msg)
        raw_edits = data["edits"]
        if not isinstance(raw_edits, list):
            msg = (f"{label}, field 'edits': expected an array of edits, got "
                   f"{_json_type(raw_edits)}; write \"edits\": [{{\"action\": ..., "
                   "\"site_id\": ...}, ...]")
            raise ValueError(msg)
        if len(raw_edits) > MAX_EDITS:
            msg = (f"{label}, field 'edits': {len(raw_edits):,} edits is more than the "
                   f"{MAX_EDITS:,} allowed; split the scenario")
            raise ValueError(msg)
        known = set(Edit.__dataclass_fields__)
        edits = []
        for i, raw in enumerate(raw_edits, start=1):
            if not isinstance(raw, dict):
                msg = (f"{label}: edit {i} is {_json_type(raw)}, not an object; write each "
                       "edit as {\"action\": ..., \"site_id\": ...}")
                raise ValueError(msg)
            extra = sorted(set(raw) - known)
            if extra:
                msg = (f"{label}: edit {i} has unknown keys {shown_value(extra, 80)}; keys: "
                       f"{', '.join(sorted(known))}")
                raise ValueError(msg)
            absent = [k for k in ("action", "site_id") if raw.get(k) is None]
            if absent:
                msg = (f"{label}: edit {i} has no {' and no '.join(map(repr, absent))}; every "
                       "edit needs \"action\" and \"site_id\"")
                raise ValueError(msg)
            edit = Edit(**{k: v for k, v in raw.items() if v is not None})
            try:
                edit.check(i)
            except ValueError as exc:
                raise ValueError(f"{label}: {exc}") from None
            edits.append(edit)
        placed = sum(e.action in ("add", "move") for e in edits)
        if placed > MAX_PLACEMENTS:
            msg = (f"{label}, field 'edits': {placed:,} edits add or move a service point, more "
                   f"than the {MAX_PLACEMENTS:,} allowed (each routes everyone from a new "
                   "place); split the scenario")
            raise ValueError(msg)
        return cls(name=name if name.strip() else label, edits=edits, inputs=dict(inputs))


_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _nesting(text: str) -> int:
    """Deepest nesting of arrays and objects in JSON text (brackets inside strings skipped)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text)).encode("ascii")
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


class _DuplicateKeyError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) < len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _DuplicateKeyError(twice)
    return data


def _parse_json(text: str, label: str) -> Any:
    """Parse JSON text with a nesting limit and without repeated keys."""
    if _nesting(text) > MAX_JSON_DEPTH:
        msg = (f"{label}: nested too deeply (more than {MAX_JSON_DEPTH} levels of arrays and "
               "objects); a scenario needs 3")
        raise ValueError(msg)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        msg = f"{label}: nested too deeply; a scenario needs 3 levels of arrays and objects"
        raise ValueError(msg) from None
    except _DuplicateKeyError as exc:
        msg = f"{label}: key {shown_value(str(exc))} appears twice in one object; keep one"
        raise ValueError(msg) from None
    except json.JSONDecodeError as exc:
        msg = (f"{label}: not valid JSON ({exc.msg}: line {exc.lineno} column {exc.colno}); "
               "give the scenario's JSON text, as the app or `coverage recommend` saves it")
        raise ValueError(msg) from None
    except ValueError:  # an integer of more digits than Python converts
        msg = f"{label}: not valid JSON (a number has more digits than can be read); fix it"
        raise ValueError(msg) from None


def _check_size(label: str, size: int) -> None:
    if size > MAX_SCENARIO_BYTES:
        msg = (f"{label}: {size:,} bytes is more than the {MAX_SCENARIO_BYTES:,} bytes a "
               f"scenario file may have; keep it to at most {MAX_EDITS:,} edits")
        raise ValueError(msg)


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a file")


def input_hashes(study: StudyData) -> dict[str, str]:
    """SHA-256 of every input file of the project (layer name → hex digest)."""
    return provenance.input_hashes(study.project)
