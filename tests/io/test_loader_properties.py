"""Property tests: malformed input never crashes the loaders, it becomes problems.

Hypothesis writes broken rows (random text, numbers, empties, unicode, delimiters, quotes,
swapped columns, extra or missing fields, random bytes) into the migrants and sites CSVs of the
tiny project, and random settings into its project file. Whatever it writes, ``load_study``
either returns data or raises :class:`~coverage.io.validation.ValidationError`,
``validate_project`` returns problems (or raises :class:`~coverage.io.project.ProjectError` for a
broken project file), and every problem has a known rule and a row that is ``None`` or ≥ 1.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MIGRANTS_CSV, PROJECT_TOML, communities, sites_csv
from coverage.io.loaders import load_study, validate_project
from coverage.io.project import ProjectError, load_project
from coverage.io.validation import RULES, Problem, ValidationError


def _communities_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "communities.geojson"
        communities().to_file(path, driver="GeoJSON")
        return path.read_bytes()


COMMUNITIES_GEOJSON = _communities_bytes()
SITES_CSV = sites_csv()

SETTINGS = settings(
    max_examples=int(os.environ.get("COVERAGE_FUZZ_EXAMPLES", "60")),  # raise it to hunt bugs
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def write_tiny(
    folder: Path,
    *,
    migrants: bytes | None = None,
    sites: bytes | None = None,
    project: str = PROJECT_TOML,
) -> Path:
    """Write the tiny project of ``conftest`` into ``folder``, optionally with other files."""
    (folder / "project.toml").write_text(project, encoding="utf-8")
    (folder / "migrants.csv").write_bytes(
        MIGRANTS_CSV.encode("utf-8") if migrants is None else migrants
    )
    (folder / "sites.csv").write_bytes(SITES_CSV.encode("gb18030") if sites is None else sites)
    (folder / "communities.geojson").write_bytes(COMMUNITIES_GEOJSON)
    (folder / "network.gpkg").write_bytes(b"")  # the loaders only check that it exists
    return folder


def check_problems(problems: list[Problem]) -> None:
    for p in problems:
        assert p.rule in RULES, p
        assert p.row is None or (isinstance(p.row, int) and p.row >= 1), p
        assert p.severity in ("error", "warning", "info"), p
        assert p.count >= 1, p
        assert "\n" not in str(p), p


def load_either_way(folder: Path) -> None:
    """Validate and load ``folder``; only problems, data or ValidationError are allowed."""
    problems = list(validate_project(folder))
    check_problems(problems)
    errors = [p for p in problems if p.severity == "error"]
    try:
        study = load_study(folder)
    except ValidationError as exc:
        assert errors, "load_study raised although validate_project found no error"
        check_problems(exc.problems)
        assert "\n" not in str(exc)
        assert str(exc).startswith(str(errors[0]))
    else:
        assert not errors, f"load_study returned data despite {errors[0]}"
        check_problems(list(study.problems))
        for name, gdf in study.layers.items():
            assert gdf.crs == study.crs, name
            assert gdf["source_row"].min() >= 1 if len(gdf) else True


# --- cell and row strategies ------------------------------------------------------------------

text_cells = st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), max_size=12
)
number_cells = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e400", "1,000", "0x10", "１２３", "2.5人"]),
)
special_cells = st.sampled_from([
    "", " ", "=HYPERLINK(\"x\")", "+86 123", "-abc", "@home", "\"", "\"\"", "'", "\\", "\n",
    "\r\n", ",", ";", "\t", "男", "女", "已婚", "社区卫生服务站", "C1", "C2", "C9", "430100",
    "4301", "2024-03-01", "2024/13/45", "是", "否", "M001", "S1", "110101199003071234",
    "11010119900307123X", "113.752", "23.022", "23.022,113.752", "\ufeff", "䶮", "\x00",
])
cells = st.one_of(text_cells, number_cells, special_cells)


def _records(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row]


MIGRANT_ROWS = _records(MIGRANTS_CSV)
SITE_ROWS = _records(SITES_CSV)


near_cells = st.one_of(  # coordinates in or near the study area, so rows get far
    st.floats(113.70, 113.80).map(lambda v: f"{v:.6f}"),
    st.floats(22.98, 23.06).map(lambda v: f"{v:.6f}"),
)


@st.composite
def broken_table(draw: st.DrawFn, rows: list[list[str]]) -> tuple[str, str]:
    """A CSV text made from ``rows`` (header first) with random damage, and its delimiter."""
    header, body = rows[0], [list(r) for r in rows[1:]]
    if draw(st.integers(0, 4)) == 0:
        header = list(header)
        i = draw(st.integers(0, len(header) - 1))
        header[i] = draw(cells)
    body = body[: draw(st.integers(0, len(body)))]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["random", "swap", "extra", "missing", "cell", "near"]))
        if kind == "random" or not body:
            body.append(draw(st.lists(cells, max_size=len(header) + 2)))
            continue
        row = list(draw(st.sampled_from(body)))
        if kind == "swap" and len(row) > 1:
            i, j = draw(st.integers(0, len(row) - 1)), draw(st.integers(0, len(row) - 1))
            row[i], row[j] = row[j], row[i]
        elif kind == "extra":
            row.extend(draw(st.lists(cells, min_size=1, max_size=3)))
        elif kind == "missing" and row:
            del row[draw(st.integers(0, len(row) - 1))]
        elif kind == "near" and len(row) > 2:
            row[0] = draw(st.text("MS0123456789", min_size=1, max_size=4))
            i = draw(st.sampled_from([1, 2, 3, 4] if len(row) > 4 else [1, 2]))
            row[i] = draw(near_cells)
        elif row:
            row[draw(st.integers(0, len(row) - 1))] = draw(cells)
        body.insert(draw(st.integers(0, len(body))), row)
    delimiter = draw(st.sampled_from([",", ",", ",", ",", ";", "\t", "|"]))
    out = io.StringIO()
    if draw(st.booleans()):
        quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
        writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(body)
        return out.getvalue(), delimiter
    # written by hand, without any quoting: delimiters and quotes inside cells break the rows
    text = "".join(delimiter.join(r) + draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
                   for r in [header, *body])
    return text, delimiter


@st.composite
def encoded(draw: st.DrawFn, text: str) -> bytes:
    """Encode ``text`` in a random encoding, maybe with random bytes spliced in."""
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    data = text.encode(encoding)
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


@st.composite
def broken_file(draw: st.DrawFn, rows: list[list[str]]) -> tuple[bytes, str]:
    """Bytes of a damaged CSV and the delimiter the project declares for it."""
    text, delimiter = draw(broken_table(rows))
    declared = delimiter if draw(st.integers(0, 3)) else ","  # sometimes declared wrongly
    return draw(encoded(text)), declared


def with_delimiters(**delimiters: str) -> str:
    """The tiny project file with a ``delimiter`` declared for the named layers."""
    text = PROJECT_TOML
    for layer, delimiter in delimiters.items():
        escaped = delimiter.replace("\t", "\\t")
        text = text.replace(f'path = "{layer}.csv"',
                            f'path = "{layer}.csv"\ndelimiter = "{escaped}"')
    return text


# --- properties -------------------------------------------------------------------------------


@SETTINGS
@given(migrants=broken_file(MIGRANT_ROWS), sites=st.one_of(st.none(), broken_file(SITE_ROWS)))
def test_broken_csv_rows_become_problems(
    migrants: tuple[bytes, str], sites: tuple[bytes, str] | None
) -> None:
    delimiters = {"migrants": migrants[1]} | ({} if sites is None else {"sites": sites[1]})
    with tempfile.TemporaryDirectory() as tmp:
        load_either_way(write_tiny(Path(tmp), migrants=migrants[0],
                                   sites=None if sites is None else sites[0],
                                   project=with_delimiters(**delimiters)))


@SETTINGS
@given(sites=broken_file(SITE_ROWS))
def test_broken_site_rows_become_problems(sites: tuple[bytes, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        load_either_way(write_tiny(Path(tmp), sites=sites[0],
                                   project=with_delimiters(sites=sites[1])))


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_become_problems(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        load_either_way(write_tiny(Path(tmp), migrants=data))


# Settings a user might write under [layers.sites], good and bad.
layer_values = st.one_of(
    st.integers(-3, 5), st.booleans(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8),
    st.sampled_from(["utf-8", "gb18030", "auto", "latin-1", "wgs84", "gcj02", "bd09",
                     "EPSG:32650", "EPSG:4326", ",", ";", "\t", "Sheet1"]),
)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else (
            "nan" if value != value else ("inf" if value > 0 else "-inf"))
    if isinstance(value, int):
        return str(value)
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}"
                         if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in str(value)) + '"'


@SETTINGS
@given(
    settings_=st.dictionaries(
        st.sampled_from(["crs", "encoding", "sheet", "header_row", "layer", "repair",
                         "delimiter", "path", "columns", "kind"]),
        layer_values, max_size=3,
    ),
    parameters=st.dictionaries(
        st.sampled_from(["thresholds_min", "max_snap_m", "study_area_tolerance_m",
                         "speeds_kmh", "staffing", "targets", "threshold"]),
        layer_values, max_size=2,
    ),
)
def test_project_settings_give_project_errors(
    settings_: dict[str, object], parameters: dict[str, object]
) -> None:
    lines = PROJECT_TOML.replace('path = "sites.csv"\ncrs = "gcj02"\n', "").splitlines()
    at = lines.index("[layers.sites]") + 1
    given_ = {"path": "sites.csv", "crs": "gcj02", **settings_}
    lines[at:at] = [f"{k} = {_toml_value(v)}" for k, v in given_.items()]
    lines += ["[parameters]", *(f"{k} = {_toml_value(v)}" for k, v in parameters.items())]
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tiny(Path(tmp), project="\n".join(lines) + "\n")
        try:
            project = load_project(folder)
        except ProjectError as exc:
            assert "\n" not in str(exc).strip()
            assert str(exc).startswith("project.toml: ")
            with pytest.raises(ProjectError):
                validate_project(folder)
            return
        check_problems(list(validate_project(project)))


def test_valid_tiny_project_has_no_problems() -> None:
    # The generators above damage this project; undamaged it must load cleanly, or every
    # property above would pass vacuously through ValidationError.
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tiny(Path(tmp))
        assert [p for p in validate_project(folder) if p.severity != "info"] == []
        study = load_study(folder)
        assert len(study.migrants) == 4
        assert len(study.sites) == 2
