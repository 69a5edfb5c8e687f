"""A run's ``run_info`` table read as the store's record of the run.

``run_info`` is the key/value table the main job writes beside its results
(:func:`coverage.engine.provenance.run_info`). The stores keep it as one of the run's layers
and read from it what they list for each run: the project, the travel mode, the parameters and
their digest, the input files' hashes, the code version and the layers written.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["RUN_INFO", "listed_layers", "run_record", "with_layers"]

RUN_INFO = "run_info"
"""Name of the layer holding a run's provenance."""

#: Keys of ``run_info`` listed in a run's record by themselves, not among its parameters.
_OWN_KEYS = ("project", "mode", "parameters_digest", "tool_version", "layers")


def with_layers(info: pd.DataFrame, names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Return ``info`` with its ``layers`` row set to ``names`` (comma-separated, in order).

    The row lists every layer a run writes (``run_info`` included), so that a reader can tell
    a complete set of results from an incomplete one (:func:`listed_layers`).
    """
    kept = info[info["key"].astype(str) != "layers"]
    row = pd.DataFrame([("layers", ", ".join(names))], columns=["key", "value"])
    return pd.concat([kept, row], ignore_index=True)


def listed_layers(info: pd.DataFrame) -> list[str] | None:
    """Return the layers ``run_info`` says the run wrote (``None`` when it does not say)."""
    rows = info.loc[info["key"].astype(str) == "layers", "value"]
    if not len(rows):
        return None
    return [name.strip() for name in str(rows.iloc[0]).split(",") if name.strip()]


def run_record(info: pd.DataFrame | None) -> dict[str, object]:
    """Return what a store lists about a run, read from its ``run_info`` table.

    Parameters
    ----------
    info
        The run's ``run_info`` (``key``/``value`` text), or ``None`` for a run without one.

    Returns
    -------
    dict
        ``project``, ``mode``, ``parameters_digest`` and ``code_version`` (text or ``None``),
        ``input_sha256`` (input layer → SHA-256), ``parameters`` (every other key → its
        text, ``run_at`` and the row counts included) and ``layers`` (the names listed, in
        order; empty when not listed).
    """
    saved: dict[str, str] = {}
    if info is not None and len(info):
        saved = dict(zip(info["key"].astype(str), info["value"].astype(str), strict=True))
    hashes = {key.split(":", 1)[1]: value for key, value in saved.items()
              if key.startswith("input_sha256:")}
    parameters = {key: value for key, value in saved.items()
                  if key not in _OWN_KEYS and not key.startswith("input_sha256:")}
    listed = listed_layers(info) if info is not None and len(info) else None
    return {
        "project": saved.get("project"),
        "mode": saved.get("mode"),
        "parameters_digest": saved.get("parameters_digest"),
        "input_sha256": hashes,
        "code_version": saved.get("tool_version"),
        "parameters": parameters,
        "layers": list(listed or []),
    }
