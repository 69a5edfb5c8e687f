"""Where results come from: run parameters, input hashes and data quality, as tables.

:func:`run_info` and :func:`data_quality` turn a run into two small tables written next to the
results (layers ``run_info`` and ``data_quality`` of ``results.gpkg``). Reports print them in
their methods section, and :func:`is_current` tells whether saved results still match the
project's inputs and parameters (so a report can reuse them instead of running again).
:func:`with_layers` and :func:`listed_layers` (the ``layers`` row: which layers a run wrote) are
the store's (:mod:`coverage.store.runinfo`), named here too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import pandas as pd

from coverage import __version__
from coverage.io.assessment import default_assessment
from coverage.io.db_tables import table_sha256
from coverage.io.funding_settings import FundingParameters
from coverage.io.loaders import StudyData
from coverage.io.project import Project
from coverage.io.validation import RULES
from coverage.network.cache import file_sha256
from coverage.store.runinfo import listed_layers, with_layers

__all__ = ["data_quality", "input_hashes", "is_current", "listed_layers", "parameters_digest",
           "run_info", "with_layers"]


def input_hashes(project: Project) -> dict[str, str]:
    """SHA-256 of every input of the project (layer name → hex digest).

    A file's digest is that of its bytes; a database table's that of its columns and rows
    (:func:`coverage.io.db_tables.table_sha256`).
    """
    return {name: (file_sha256(config.path) if config.path is not None
                   else table_sha256(config, project.store_url))
            for name, config in sorted(project.layers.items())}


def parameters_digest(project: Project, mode: str) -> str:
    """Short digest of everything besides the inputs that changes results.

    The parameters, the travel mode, ``min_cell``, the study CRS and ``[assessment]`` when the
    project sets one.
    """
    params = dataclasses.asdict(project.parameters)
    if project.parameters.funding == FundingParameters():
        # a project that sets no funding keeps the digest it had before funding was added, so
        # that its saved results stay current
        del params["funding"]
    state = {"parameters": params, "mode": mode, "min_cell": project.min_cell,
             "study_crs": project.study_crs}
    if project.assessment != default_assessment():
        # the scorecard layer follows [assessment]; a project without one keeps its digest
        state["assessment"] = dataclasses.asdict(project.assessment)
    text = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_info(
    study: StudyData,
    mode: str,
    timings: dict[str, float] | None = None,
    *,
    skipped: dict[str, str] | None = None,
    estimated: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Return the run's provenance as a ``key``/``value`` table (all values text).

    Keys: ``tool_version``, ``run_at`` (UTC, ISO 8601), ``project``, ``mode``, ``study_crs``,
    ``approximate_boundaries`` (``true`` when the communities came without boundaries and theirs
    are approximated from the migrants' residences, else ``false``),
    ``thresholds_min``, ``speeds_kmh``, ``max_snap_m``, ``staffing_standard``, ``targets``,
    ``min_cell``, ``parameters_digest``, with a ``budgets`` layer ``funding_standard``,
    ``funding_year``, ``site_cost_yuan`` and ``staff_cost_yuan_per_year``,
    ``input_sha256:<layer>``, ``rows:<layer>``,
    ``conversion:<layer>``, ``quarantined:<layer>``, ``skipped:<analysis>`` and
    ``estimated:<analysis>`` (reason codes of :mod:`coverage.measures.availability`) and ``seconds``
    (total run time). ``layers`` (the layers the run wrote, see :func:`with_layers`) is added
    when the results are assembled.
    """
    project = study.project
    p = project.parameters
    rows: list[tuple[str, str]] = [
        ("tool_version", __version__),
        ("run_at", dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()),
        ("project", project.name),
        ("mode", mode),
        ("study_crs", study.crs.to_string()),
        ("approximate_boundaries", str(study.approximate_boundaries).lower()),
        ("thresholds_min", ", ".join(f"{t:g}" for t in p.thresholds_min)),
        ("speeds_kmh", ", ".join(f"{k} {v:g}" for k, v in sorted(p.speeds_kmh.items()))),
        ("max_snap_m", f"{p.max_snap_m:g}"),
        ("staffing_standard", str(p.staffing_standard)),
        ("targets", ", ".join(f"{k} {v:g}" for k, v in sorted(p.targets.items()))),
        ("min_cell", str(project.min_cell)),
        ("parameters_digest", parameters_digest(project, mode)),
    ]
    if "budgets" in study.layers:
        funding = p.funding
        rows += [("funding_standard", str(funding.standard)),
                 ("funding_year", "latest" if funding.year is None else str(funding.year)),
                 ("site_cost_yuan", f"{funding.site_cost_yuan:g}"),
                 ("staff_cost_yuan_per_year", f"{funding.staff_cost_yuan_per_year:g}")]
    rows += [(f"input_sha256:{k}", v) for k, v in input_hashes(project).items()]
    rows += [(f"rows:{k}", str(len(v))) for k, v in sorted(study.layers.items())]
    rows += [(f"conversion:{k}", v) for k, v in sorted(study.conversions.items())]
    rows += [(f"quarantined:{k}", str(v)) for k, v in sorted(study.quarantined.items())]
    rows += [(f"skipped:{k}", v) for k, v in (skipped or {}).items()]
    rows += [(f"estimated:{k}", v) for k, v in (estimated or {}).items()]
    if timings:
        rows.append(("seconds", f"{sum(timings.values()):.1f}"))
    return pd.DataFrame(rows, columns=["key", "value"])


def data_quality(study: StudyData) -> pd.DataFrame:
    """Return the problems found in the inputs, counted by file, field, rule and severity.

    Columns ``file``, ``field``, ``rule``, ``severity``, ``rows``, ``description_en`` and
    ``description_zh``. Only counts and rule texts: no value from the inputs.
    """
    items = study.problems.items
    columns = ["file", "field", "rule", "severity", "rows", "description_en", "description_zh"]
    if not items:
        return pd.DataFrame({c: pd.Series(dtype=object if c != "rows" else "int64")
                             for c in columns})
    frame = pd.DataFrame({
        "file": [p.file for p in items],
        "field": [p.field or "" for p in items],
        "rule": [p.rule for p in items],
        "severity": [p.severity for p in items],
        "rows": [p.count for p in items],
    })
    out = frame.groupby(["file", "field", "rule", "severity"], as_index=False, sort=True)[
        "rows"].sum()
    out["description_en"] = [RULES.get(r, (r, r))[0] for r in out["rule"]]
    out["description_zh"] = [RULES.get(r, (r, r))[1] for r in out["rule"]]
    return out[columns]


def is_current(info: pd.DataFrame, project: Project, mode: str) -> bool:
    """Whether saved ``run_info`` matches the project's current inputs, parameters and mode."""
    saved = dict(zip(info["key"].astype(str), info["value"].astype(str), strict=True))
    if saved.get("parameters_digest") != parameters_digest(project, mode):
        return False
    current = input_hashes(project)
    stored = {k.split(":", 1)[1]: v for k, v in saved.items() if k.startswith("input_sha256:")}
    return stored == current
