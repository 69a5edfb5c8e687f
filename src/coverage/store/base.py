"""The one interface of a project's result store, and what its two implementations share.

A store keeps a project's **runs**: each run is the set of result layers one ``coverage run``
made (tables and geo-tables by name, ``run_info`` among them), written whole or not at all,
and kept after later runs. :class:`Store` is the interface; the GeoPackage folder
(:class:`coverage.store.gpkg.GeoPackageStore`, the default) and PostGIS
(:class:`coverage.store.postgis.PostGISStore`) implement it, and
:func:`coverage.store.open_store` picks one for a project.

**Run ids** are text, sortable and unique: the UTC time of writing to the microsecond, then a
short random suffix (``20250314T083015.123456Z-a1b2``). Sorting them sorts the runs by time;
the suffix tells apart two runs written in the same microsecond. A store never gives a new run
an id below its latest one (should the clock go back, the new id is the latest's time plus one
microsecond), so the latest run is always the last id. Both stores use the same ids, so a run
keeps its id when it moves from one store to the other.

A store also keeps the planners' **saved scenarios** (:meth:`Store.save_scenario`): each a name,
the scenario's JSON text and a version that every save raises by one. A save says which version
it was made on and succeeds only while the store still holds that version (optimistic
concurrency): of two planners who loaded version 1, the first to save makes version 2 and the
second gets a :class:`ScenarioConflict` saying who saved which version when; nothing is lost.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import json
import re
import secrets
import unicodedata
from collections.abc import Mapping
from types import TracebackType

import pandas as pd

from coverage.store.runinfo import RUN_INFO, run_record, with_layers

__all__ = ["MAX_SCENARIO_NAME", "MAX_SCENARIO_TEXT", "RUN_COLUMNS", "SCENARIO_COLUMNS",
           "ScenarioConflict", "Store", "StoreError", "check_run_id", "check_scenario",
           "first_line", "inputs_digest", "new_run_id", "prepare_run", "run_time", "runs_frame",
           "scenarios_frame"]

RUN_COLUMNS = ("run_id", "time", "project", "mode", "parameters_digest", "input_sha256",
               "code_version", "layers")
"""Columns of :meth:`Store.runs`, in order."""

SCENARIO_COLUMNS = ("name", "version", "saved_at", "saved_by", "inputs")
"""Columns of :meth:`Store.scenarios`, in order."""

MAX_SCENARIO_NAME = 100
"""Most characters of a saved scenario's name."""

MAX_SCENARIO_TEXT = 1_000_000
"""Most bytes (UTF-8) of a saved scenario's text: the largest scenario file read."""

_RUN_ID = re.compile(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{4}")
_TIME_FORMAT = "%Y%m%dT%H%M%S.%f"


class StoreError(RuntimeError):
    """A store cannot be opened, read or written; the message is one line for a user.

    It names the store (its URL with the password masked, or its folder) and the problem:
    server not reachable, no PostGIS extension, schema newer than the code, permission denied,
    a run or a column that cannot be kept.
    """


class ScenarioConflict(StoreError):  # noqa: N818  (a conflict met in normal work, not a fault)
    """A scenario was saved (or deleted) by someone else since it was loaded; nothing changed.

    The message is one line: the scenario, who saved which version when, and what to do
    (reload it, or save under another name). The parts are attributes too, for a program that
    words it in its own language.

    Parameters
    ----------
    store
        The store's name.
    name
        The scenario.
    expected
        The version the save was made on (``None``: saved as a new scenario).
    current
        The version the store holds (``None``: it holds none of that name).
    saved_by, saved_at
        Who saved the store's version, and when (UTC).
    deleting
        The conflict was met deleting the scenario, not saving it.
    """

    def __init__(self, store: str, name: str, *, expected: int | None, current: int | None,
                 saved_by: str | None = None, saved_at: pd.Timestamp | None = None,
                 deleting: bool = False) -> None:
        self.name = name
        self.expected = expected
        self.current = current
        self.saved_by = saved_by
        self.saved_at = saved_at
        when = "" if saved_at is None else f" at {saved_at:%Y-%m-%d %H:%M:%S} UTC"
        undone = "nothing was deleted" if deleting else "yours was not saved"
        if current is None:
            text = (f"scenario {name!r} was deleted after you loaded version {expected}; "
                    f"{undone}: save yours as a new scenario or under another name")
        elif expected is None:
            text = (f"scenario {name!r} exists already (version {current}, saved by "
                    f"{saved_by}{when}); {undone}: load it first to change it, or save yours "
                    "under another name")
        else:
            text = (f"scenario {name!r} was saved by {saved_by} as version {current}{when} "
                    f"after you loaded version {expected}; {undone}: reload it to see their "
                    "changes, or save yours under another name")
        super().__init__(f"{store}: {text}")


def first_line(exc: BaseException) -> str:
    """Return the first line of an error's message (its kind when it has none)."""
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


def new_run_id(after: str | None = None) -> str:
    """Return a new run id: UTC time to the microsecond and a random suffix.

    Parameters
    ----------
    after
        The store's latest run id, if any: the new id sorts after it even when the clock went
        back.
    """
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if after is not None:
        latest = dt.datetime.strptime(after[:22], _TIME_FORMAT)
        now = max(now, latest + dt.timedelta(microseconds=1))
    return f"{now.strftime(_TIME_FORMAT)}Z-{secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it has the form of a run id, else raise ``ValueError``."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        msg = (f"{run_id!r} is not a run id (they look like 20250314T083015.123456Z-a1b2; "
               "`coverage runs PROJECT` lists them)")
        raise ValueError(msg)
    return run_id


def run_time(run_id: str) -> pd.Timestamp:
    """Return the time (UTC) a run was written, read from its id."""
    return pd.Timestamp(dt.datetime.strptime(check_run_id(run_id)[:22], _TIME_FORMAT),
                        tz="UTC")


def inputs_digest(hashes: Mapping[str, str]) -> str:
    """Return a short digest of input files' hashes (name → SHA-256): equal inputs, equal digests.

    What the saved scenarios list for the inputs a scenario was made on; ``""`` for none.
    """
    if not hashes:
        return ""
    return hashlib.sha256(json.dumps(dict(hashes), sort_keys=True).encode()).hexdigest()[:12]


def check_scenario(store: str, name: object, text: object = "") -> str:
    """Return a saved scenario's name if it and its text may be kept, else raise.

    A name is text of 1 to :data:`MAX_SCENARIO_NAME` characters, without control characters
    or blanks at either end; it is data (a value in a table), never part of a file's path.
    The text (the scenario's JSON) is at most :data:`MAX_SCENARIO_TEXT` bytes.

    Raises
    ------
    StoreError
        Naming the store and what is wrong.
    """
    if not isinstance(name, str) or not name.strip():
        msg = f"{store}: a scenario's name must be text, got {name!r}"
        raise StoreError(msg)
    if (len(name) > MAX_SCENARIO_NAME or name != name.strip()
            or any(unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
                   for ch in name)):
        msg = (f"{store}: scenario name {name[:MAX_SCENARIO_NAME]!r} is not allowed; use at "
               f"most {MAX_SCENARIO_NAME} characters, no control characters, no blanks at "
               "either end")
        raise StoreError(msg)
    if not isinstance(text, str) or len(text.encode("utf-8")) > MAX_SCENARIO_TEXT:
        msg = (f"{store}: scenario {name!r} is not text of at most {MAX_SCENARIO_TEXT:,} "
               "bytes")
        raise StoreError(msg)
    return name


def prepare_run(layers: Mapping[str, pd.DataFrame],
                info: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Return the layers of a new run as stored: ``run_info`` present and listing them all.

    ``info`` (the run's ``run_info`` table) replaces a ``run_info`` layer given among
    ``layers``; without either, the run gets an empty one. Its ``layers`` row is set to every
    layer of the run, in order (:func:`coverage.store.runinfo.with_layers`).

    Raises
    ------
    StoreError
        When a layer's name is empty or not text, or a layer is not a data frame.
    """
    out = dict(layers)
    for name, frame in out.items():
        if not isinstance(name, str) or not name.strip():
            msg = f"a layer's name must be text, got {name!r}"
            raise StoreError(msg)
        if not isinstance(frame, pd.DataFrame):
            msg = f"layer {name!r} is a {type(frame).__name__}, not a data frame"
            raise StoreError(msg)
    if info is None:
        info = out.get(RUN_INFO)
    if info is None:
        info = pd.DataFrame({"key": pd.Series([], dtype=object),
                             "value": pd.Series([], dtype=object)})
    out[RUN_INFO] = info
    out[RUN_INFO] = with_layers(info, list(out))
    return out


def runs_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Return the runs table of :meth:`Store.runs` from one record per run.

    Each record holds ``run_id`` and what :func:`coverage.store.runinfo.run_record` reads from
    the run's ``run_info``; the rows are sorted by id, oldest first.
    """
    rows = sorted(rows, key=lambda row: str(row["run_id"]))
    frame = pd.DataFrame({
        "run_id": pd.Series([r["run_id"] for r in rows], dtype=object),
        "time": pd.Series([run_time(str(r["run_id"])) for r in rows],
                          dtype="datetime64[us, UTC]"),
        **{key: pd.Series([r.get(key) for r in rows], dtype=object)
           for key in RUN_COLUMNS[2:] if key != "layers"},
        "layers": pd.Series([tuple(r.get("layers") or ()) for r in rows], dtype=object),
    })
    return frame[list(RUN_COLUMNS)]


def scenarios_frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """Return the table of :meth:`Store.scenarios` from one row per scenario, sorted by name.

    Each row holds the values of :data:`SCENARIO_COLUMNS` in order; ``saved_at`` a time (UTC,
    or naive UTC) or its ISO text.
    """
    rows = sorted(rows, key=lambda row: str(row[0]))
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in SCENARIO_COLUMNS]
    name, version, saved_at, saved_by, inputs = columns
    return pd.DataFrame({
        "name": pd.Series(list(name), dtype=object),
        "version": pd.Series(list(version), dtype="int64"),
        "saved_at": pd.Series(pd.to_datetime(list(saved_at), utc=True),
                              dtype="datetime64[us, UTC]"),
        "saved_by": pd.Series(list(saved_by), dtype=object),
        "inputs": pd.Series(list(inputs), dtype=object),
    })


class Store(abc.ABC):
    """Where a project's runs are kept: written whole, listed, read back exactly.

    A layer read back is the frame written: the same columns in the same order, the same
    dtypes (numpy and pandas' nullable ones, text, times, geometry with its CRS), the same
    values, a missing value of the same kind (``NaN``, ``None``, ``pd.NA``); the index is not
    kept (layers come back with a ``RangeIndex``). Use a store in a ``with`` block, or call
    :meth:`close` when done.

    Attributes
    ----------
    name
        How messages name the store: its kind and its place (URL with the password masked,
        or folder).
    """

    name: str

    @abc.abstractmethod
    def write_run(self, layers: Mapping[str, pd.DataFrame],
                  info: pd.DataFrame | None = None) -> str:
        """Write a new run, whole or not at all; return its id.

        Parameters
        ----------
        layers
            Layer name → data frame (or geo data frame), in the order to keep.
        info
            The run's ``run_info`` table (key/value text), kept as its ``run_info`` layer;
            default the ``run_info`` among ``layers``. See :func:`prepare_run`.

        Returns
        -------
        str
            The new run's id (see the module's description).

        Raises
        ------
        StoreError
            When the run cannot be written; the store then holds the runs it held before.
        """

    @abc.abstractmethod
    def runs(self) -> pd.DataFrame:
        """Return the runs, oldest first: one row each, columns :data:`RUN_COLUMNS`.

        ``run_id``, ``time`` (UTC, when written), ``project``, ``mode``,
        ``parameters_digest``, ``input_sha256`` (input layer → SHA-256), ``code_version``
        and ``layers`` (the names, in order).
        """

    @abc.abstractmethod
    def read_layers(self, run_id: str | None = None,
                    names: list[str] | tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
        """Return layers of a run exactly as written (name → frame, in the run's order).

        Parameters
        ----------
        run_id
            The run; ``None`` for the latest.
        names
            The layers wanted; ``None`` for all.

        Raises
        ------
        StoreError
            When the store holds no such run (or no run at all), or the run no such layer.
        """

    def latest_run(self) -> str | None:
        """Return the id of the latest run, ``None`` when the store holds none."""
        runs = self.runs()
        return None if runs.empty else str(runs["run_id"].iloc[-1])

    def run_info(self, run_id: str | None = None) -> pd.DataFrame:
        """Return a run's ``run_info`` table (``None``: the latest run)."""
        return self.read_layers(run_id, [RUN_INFO])[RUN_INFO]

    def add_layers(self, run_id: str, layers: Mapping[str, pd.DataFrame], *,
                   drop: tuple[str, ...] | list[str] = ()) -> None:
        """Add layers made on a kept run (a recommendation) to it; see the PostGIS store.

        The GeoPackage folder keeps them in ``results.gpkg`` beside the latest run instead
        (:func:`coverage.engine.writing.write_layers`), never in a run's history file.

        Raises
        ------
        StoreError
            Always, for a store that keeps no layers with a run after it was written.
        """
        msg = f"{self.name}: keeps no layers added to run {run_id} after it was written"
        raise StoreError(msg)

    def put_run(self, run_id: str, layers: Mapping[str, pd.DataFrame], *,
                own: tuple[str, ...] | list[str] | None = None) -> None:
        """Write a run moved from another store under its own id (``coverage db import``).

        Parameters
        ----------
        run_id
            The run's id, kept.
        layers
            Every layer of the run as the other store gave it, in order, ``run_info`` among
            them (its time, parameters, inputs and code version are the run's record).
        own
            The run's own layers (:meth:`runs`' ``layers``); the others, after them, were
            added to it later (:meth:`add_layers`). Default: all of them.

        Raises
        ------
        StoreError
            Always, for a store that keeps no run under a given id.
        """
        msg = f"{self.name}: cannot keep run {run_id} under its own id"
        raise StoreError(msg)

    @abc.abstractmethod
    def scenarios(self) -> pd.DataFrame:
        """Return the saved scenarios, by name: one row each, columns :data:`SCENARIO_COLUMNS`.

        ``name``, ``version`` (1 for the first save, one more for each save after),
        ``saved_at`` (UTC, the last save), ``saved_by`` (who saved it last) and ``inputs``
        (a short digest of the inputs it was made on, as given when saved).
        """

    @abc.abstractmethod
    def read_scenario(self, name: str) -> tuple[str, int]:
        """Return a saved scenario's text (its JSON) and its version.

        Raises
        ------
        StoreError
            When the store holds no scenario of that name.
        """

    @abc.abstractmethod
    def save_scenario(self, name: str, text: str, *, expected_version: int | None,
                      saved_by: str | None = None, inputs: str = "") -> int:
        """Save a scenario under ``name`` unless someone saved it since; return its new version.

        The check and the save are one transaction: of two saves made on the same version,
        one succeeds and the other raises, whatever the timing.

        Parameters
        ----------
        name
            The scenario's name (see :func:`check_scenario`).
        text
            The scenario's JSON text, kept as it is.
        expected_version
            The version the save was made on (the one last loaded or saved); ``None`` for a
            new name.
        saved_by
            Who saves it (e.g. the web app's log-in); default the store's user: the
            database's log-in, or the system user of the folder's store.
        inputs
            A short digest of the inputs the scenario was made on, listed with it.

        Returns
        -------
        int
            The version saved: 1 for a new scenario, ``expected_version + 1`` otherwise.

        Raises
        ------
        ScenarioConflict
            When the store holds another version than ``expected_version`` (for ``None``:
            when it holds the name already); nothing is changed then.
        StoreError
            When the name or text cannot be kept, or the store cannot be written.
        """

    @abc.abstractmethod
    def delete_scenario(self, name: str, expected_version: int) -> None:
        """Delete a saved scenario, unless someone saved it since ``expected_version``.

        Raises
        ------
        ScenarioConflict
            When the store holds another version, or none of that name; nothing is changed.
        """

    def close(self) -> None:  # noqa: B027  (a store holding nothing open has nothing to do)
        """Release what the store holds open (connections); it may not be used after."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _wanted(self, run_id: str | None, names: list[str] | tuple[str, ...] | None,
                 available: list[str]) -> list[str]:
        """Return the layers to read of a run holding ``available``, or raise for a missing one."""
        wanted = list(available) if names is None else list(names)
        absent = [name for name in wanted if name not in available]
        if absent:
            msg = (f"{self.name}: run {run_id} holds no layer {absent[0]!r} (it holds "
                   f"{', '.join(available)})")
            raise StoreError(msg)
        return wanted

    @staticmethod
    def _record(run_id: str, info: pd.DataFrame | None) -> dict[str, object]:
        """Return the runs-table record of a run from its ``run_info``."""
        return {"run_id": run_id, **run_record(info)}
