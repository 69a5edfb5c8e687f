"""Assembling a report: :func:`build_report` turns the result layers into a :class:`Report`.

The sections are written by :mod:`coverage.report._sections` and
:mod:`coverage.report._recommend` from the tables published by :mod:`coverage.publish.tables`;
this module checks the layers and the district asked for, and adds the title and the facts
printed under it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from coverage.publish.disclosure import DEFAULT_MIN_CELL
from coverage.publish.tables import publish_indicators, publish_summaries, summary_thresholds
from coverage.report._recommend import _actions, _recommend_section
from coverage.report._sections import (
    _equal_section,
    _indicator_section,
    _maps_section,
    _methods,
    _origin_section,
    _rank_section,
    _summary,
    _trend_section,
)
from coverage.report.content import (
    Report,
    ReportError,
    ReportUsageError,
    Section,
    _Context,
    _reasons,
    _Text,
)

__all__ = ["build_report"]


def _require(layers: dict[str, pd.DataFrame], names: Sequence[str]) -> None:
    missing = [n for n in names if n not in layers]
    if missing:
        msg = (f"the results lack the layer(s) {', '.join(missing)}; run `coverage run` on the "
               "project first")
        raise ReportError(msg)


def _info(layers: dict[str, pd.DataFrame]) -> dict[str, str]:
    info = layers.get("run_info")
    if info is None:
        return {}
    return dict(zip(info["key"].astype(str), info["value"].astype(str), strict=True))


def _thresholds(info: dict[str, str], summary: pd.DataFrame) -> tuple[float, ...]:
    if "thresholds_min" in info:
        return tuple(float(v) for v in info["thresholds_min"].split(","))
    return summary_thresholds(summary.columns)


def _prepare(ctx: _Context) -> None:
    layers = ctx.layers
    kept = [layers.get(f"published_{n}")
            for n in ("district_summary", "community_summary", "indicators")]
    if all(k is not None for k in kept):
        # a run kept with its published tables (a PostGIS store; a district's log-in reads
        # its rows of them only): the city's one publication, used as it is
        ctx.districts, ctx.communities, ctx.indicators = kept
        return
    ctx.districts, ctx.communities = publish_summaries(
        layers["district_summary"], layers["community_summary"], ctx.thresholds,
        min_cell=ctx.min_cell)
    comm_district = layers["community_summary"].set_index("community_id")["district"]
    ctx.indicators = publish_indicators(layers["indicators"], comm_district,
                                        min_cell=ctx.min_cell)


def build_report(
    layers: dict[str, pd.DataFrame],
    *,
    project_name: str,
    district: str | None = None,
    lang: str = "zh",
    min_cell: int = DEFAULT_MIN_CELL,
    date: dt.date | None = None,
) -> Report:
    """Assemble a report from result layers.

    Parameters
    ----------
    layers
        Result layers by name, as in ``results.gpkg`` (``community_summary``,
        ``district_summary``, ``indicators`` and ``site_catchments`` are required; the pattern
        layers, ``run_info``, ``data_quality`` and the recommendation layers are used when
        present).
    project_name
        Name shown in the title.
    district
        Report on one district (its name as in the results) instead of the whole city.
    lang
        ``zh`` (default) or ``en``.
    min_cell
        Smallest published count (privacy).
    date
        Date printed on the report (default today).

    Returns
    -------
    Report

    Raises
    ------
    ReportError
        If a required layer is missing or the district is not in the results.
    """
    _require(layers, ("community_summary", "district_summary", "indicators",
                      "site_catchments"))
    t = _Text(lang)
    info = _info(layers)
    thresholds = _thresholds(info, layers["district_summary"])
    if district is not None:
        _check_district(layers, district)
    ctx = _Context(t, layers, info, district, thresholds, min_cell)
    _prepare(ctx)
    sections = _sections(ctx)
    name = project_name
    title = (t("title_district", name=name, district=district) if district
             else t("title_city", name=name))
    heading = t("heading_district", district=district) if district else t("heading_city")
    return Report(lang=lang, title=title, meta=_meta(t, info, district, date), sections=sections,
                  min_cell=min_cell, privacy_note=t("meta_privacy", n=min_cell),
                  district=district, not_computed=_reasons(ctx), project=name, heading=heading)


def _check_district(layers: dict[str, pd.DataFrame], district: str) -> None:
    """Refuse a district that is not in the results, naming those that are."""
    known = set(layers["district_summary"].query("level == 'district'")["district"])
    if district not in known:
        msg = (f"district {district!r} is not in the results; districts: "
               f"{', '.join(sorted(map(str, known)))}")
        raise ReportUsageError(msg)


def _sections(ctx: _Context) -> list[Section]:
    """Write every section, in the report's order.

    The recommendations are written before the action list, which lists their new sites and
    staff; the trends and origins before the summary and the action list, which count and
    name their early warnings and partners.
    """
    rec = {k: ctx.layers[k] for k in ("recommended_sites", "recommended_staff",
                                      "scenario_comparison", "recommendation_cost")
           if k in ctx.layers}
    trends, warn = _trend_section(ctx)
    origins, partners = _origin_section(ctx)
    recommend = _recommend_section(ctx, rec)
    ctx.section_tables = {tb.key: [tb] for tb in recommend.tables}
    return [
        _summary(ctx, rec, len(warn)),
        _actions(ctx, rec, warn, partners),
        _indicator_section(ctx),
        _equal_section(ctx),
        _maps_section(ctx),
        _rank_section(ctx),
        recommend,
        trends,
        origins,
        _methods(ctx),
    ]


def _meta(t: _Text, info: dict[str, str], district: str | None,
          date: dt.date | None) -> list[tuple[str, str]]:
    """Return the facts printed under the title: scope, date, when the results were computed."""
    meta = [(t("meta_scope"), district or t("scope_city")),
            (t("meta_date"), (date or dt.date.today()).isoformat())]
    if "run_at" in info:
        meta.append((t("meta_run_at"), info["run_at"]))
    if "mode" in info:
        meta.append((t("meta_mode"), t(f"mode_{info['mode']}")))
    return meta
