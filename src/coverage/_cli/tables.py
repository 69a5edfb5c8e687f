"""The tables the command line prints, with headers in the language asked for.

Each function returns a :class:`rich.table.Table` (the command prints it); every text that
comes from the inputs is escaped, so that rich prints it as it is.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from coverage.io.validation import Problems
from coverage.messages import catalogue

# pandas and the analysis and report modules are imported inside the functions that print
# them: the command line starts (and ``coverage --help`` answers) without loading them.


def texts(lang: str) -> dict[str, str]:
    """Texts of the command line's tables in ``lang`` (the ``[cli]`` messages)."""
    return catalogue("cli", lang)


def problem_table(problems: Problems, lang: str) -> Table:
    """Return the input problems, one row each (a run of rows on one line)."""
    m = texts(lang)
    table = Table(title=m["input_check"], show_lines=False)
    for head in ("severity", "file", "row", "field", "rule", "hint"):
        table.add_column(m[head], overflow="fold")
    colour = {"error": "red", "warning": "yellow", "info": "dim"}
    names = catalogue("report", lang)
    for p in problems:
        row = "" if p.row is None else str(p.row)
        if p.count > 1:
            row += f" (+{p.count - 1:,})"
        level = names.get(f"severity_{p.severity}", p.severity)
        table.add_row(
            f"[{colour[p.severity]}]{level}[/]",
            escape(p.file),
            row,
            escape(p.field or ""),
            escape(f"{p.describe(lang)} [{p.rule}]"),
            escape(p.hint),
        )
    return table


def layers_table(study: object, title: str, lang: str) -> Table:
    """Return the study's input layers: rows read and how the coordinates were converted."""
    from coverage.report.content import layer_name, setting_text

    m = texts(lang)
    table = Table(title=title)
    table.add_column(m["layer"])
    table.add_column(m["rows"], justify="right")
    table.add_column(m["coordinates"])
    for name, gdf in study.layers.items():  # type: ignore[attr-defined]
        conversion = study.conversions.get(name, "")  # type: ignore[attr-defined]
        table.add_row(layer_name(name, lang), f"{len(gdf):,}",
                      setting_text("conversion", conversion, lang) if conversion else "")
    return table


def frame_table(frame: object, title: str) -> Table:
    """Return a small data frame as it is, every cell escaped."""
    table = Table(title=title)
    for column in frame.columns:  # type: ignore[attr-defined]
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):  # type: ignore[attr-defined]
        table.add_row(*(escape(str(v)) for v in row))
    return table


def _pct(value: object) -> str:
    """Return a share as a percentage, "—" when missing."""
    import pandas as pd

    return "—" if value is None or pd.isna(value) else f"{float(value):.1%}"


def city_table(results: object, lang: str) -> Table:
    """Return the city's people, coverage by threshold and staff per 1,000, both groups."""
    m = texts(lang)
    city = results.district_summary.iloc[-1]  # type: ignore[attr-defined]
    table = Table(title=m["city_summary"])
    table.add_column(m["measure"])
    table.add_column(m["migrants"], justify="right")
    table.add_column(m["registered"], justify="right")
    table.add_row(m["people"], f"{int(city['migrants']):,}", f"{int(city['registered_pop']):,}")
    thresholds = results.study.project.parameters.thresholds_min  # type: ignore[attr-defined]
    for t in thresholds:
        table.add_row(m["within"].format(t=f"{t:g}"), _pct(city[f"coverage_{t:g}min_migrant"]),
                      _pct(city[f"coverage_{t:g}min_registered"]))
    table.add_row(
        m["staff_per_1000"],
        f"{city['staff_per_1000_migrants']:.2f}",
        f"{city['staff_per_1000_registered']:.2f}",
    )
    return table


def indicator_table(results: object, lang: str) -> Table:
    """Return the city's indicators: value, target, whether met, the people still needed."""
    import pandas as pd

    from coverage.measures.indicators import indicator_names
    m = texts(lang)
    yes_no = catalogue("report", lang)
    ind = results.indicators  # type: ignore[attr-defined]
    ind = ind[ind["level"] == "city"]
    names = indicator_names(lang)
    table = Table(title=m["indicators"])
    table.add_column(m["indicator"])
    for head in ("value", "target", "met", "people_needed"):
        table.add_column(m[head], justify="right")
    for _, r in ind.iterrows():
        met = r["met"]
        mark = "—" if pd.isna(met) else (yes_no["yes"] if met else yes_no["no"])
        target = (f"{r['target']:g}" if r["indicator"] == "rh_checks" and r["target"] > 1
                  else f"{r['target']:.0%}")
        needed = "—" if pd.isna(r["people_needed"]) else f"{int(r['people_needed']):,}"
        table.add_row(names[r["indicator"]], _pct(r["value"]), target, mark, needed)
    return table


def new_sites_table(sites: object, lang: str, max_t: float) -> Table:
    """Return the recommended sites: where each is, its staff, the migrants newly in reach."""
    from coverage.cartography import site_places
    from coverage.report.content import column_heading

    m = texts(lang)
    newly = f"migrants_newly_within_{max_t:g}min"
    columns = ["rank", "place", "source", "staff", newly]
    table = Table(title=m["new_sites"])
    for col in columns:
        table.add_column(column_heading(col, lang), overflow="fold",
                         justify="left" if col in {"place", "source"} else "right")
    places = site_places(sites, lang=lang)  # type: ignore[arg-type]
    for (_, r), place in zip(sites.iterrows(), places, strict=True):  # type: ignore[attr-defined]
        source = m.get(f"source_{r.get('source')}", str(r.get("source", "")))
        table.add_row(str(r["rank"]), escape(place), escape(source), f"{float(r['staff']):g}",
                      f"{int(r[newly]):,}" if newly in r else "—")
    return table


def new_staff_table(staff: object, lang: str) -> Table:
    """Return the recommended new staff by service point."""
    from coverage.report.content import column_heading

    columns = ["site_id", "name", "district", "new_staff", "staff_before", "staff_after"]
    table = Table(title=texts(lang)["new_staff"])
    for col in columns:
        table.add_column(column_heading(col, lang), overflow="fold",
                         justify="right" if col.endswith(("staff", "before", "after")) else "left")
    for _, r in staff.iterrows():  # type: ignore[attr-defined]
        table.add_row(*(escape(str(r[c])) if c in columns[:3] else f"{float(r[c]):g}"
                        for c in columns))
    return table


def _scenario_heading(name: str, m: dict[str, str]) -> str:
    """Return the header of a scenario's column: today, the recommendation, or its name."""
    if " − " in name:
        a, b = name.rsplit(" − ", 1)
        return m["change"].format(a=_scenario_heading(a, m), b=_scenario_heading(b, m))
    return m.get(f"scenario_{name}", name)


def _comparison_kind(measure: str, change: bool) -> str:
    """Format of a comparison's figure (:func:`coverage.report.content.fmt_value`)."""
    if measure.startswith("coverage_gap") or (change and measure.startswith("coverage")):
        return "pp"
    if measure.startswith("coverage"):
        return "pct"
    if measure == "new_sites":
        return "int"
    if measure.endswith("_yuan") or measure.endswith("_yuan_per_year"):
        return "yuan"
    kind = "f1" if measure.startswith(("staff", "new_staff")) else "f2"
    return kind + "+" if change else kind


def comparison_table(table: object, lang: str, thresholds: tuple[float, ...]) -> Table:
    """Return a scenario comparison: shares in %, differences of shares in percentage points.

    Each scenario's cost follows its effect when the comparison holds it (new service points,
    new staff, the points' one-off cost, the staff's cost a year and the first year's budget
    needed, in yuan: :func:`coverage.engine.scenario.compare` with ``costs``).
    """
    from coverage.engine.costs import COMPARISON_COST_COLUMNS
    from coverage.measures.equalization import coverage_column
    from coverage.report.content import column_heading, fmt_value

    m = texts(lang)
    out = Table(title=m["comparison"])
    names = list(dict.fromkeys(table.columns.get_level_values(0)))  # type: ignore[attr-defined]
    out.add_column(m["measure"])
    for n in names:
        out.add_column(escape(_scenario_heading(str(n), m)), justify="right")
    row = table.iloc[0]  # type: ignore[attr-defined]
    measures = [coverage_column(t) for t in thresholds] + [
        coverage_column(max(thresholds), "gap"), "e2sfca_mean_migrant", "staff",
        "staff_shortfall"]
    measures += [c for c in COMPARISON_COST_COLUMNS if (names[0], c) in row.index]
    for measure in measures:
        cells = []
        for n in names:
            value, change = row[(n, measure)], " − " in str(n)
            cell = fmt_value(value, _comparison_kind(measure, change), lang)
            if measure in COMPARISON_COST_COLUMNS:  # a change signed, as the others
                cell = cell.replace("-", "−")
                cell = f"+{cell}" if change and cell[0].isdigit() and float(value) else cell
            cells.append(cell)
        out.add_row(column_heading(measure, lang), *cells)
    return out
