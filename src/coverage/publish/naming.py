r"""The names of report files: one rule for the command line, the demo and the web app.

A report file is named by its scope and language, so that reports of different districts or
languages never overwrite each other in one folder::

    report-city-zh.pdf                 the city, in Chinese
    report-city-en.xlsx                the city, in English
    report-district-万江区-zh.html      one district, in Chinese

A progress report compares two runs and carries both ids (``coverage report --compare``)::

    progress-20250401T013002.118733Z-04fa-20250701T020315.204518Z-9c1e-city-zh.html

The quarterly progress report of the districts and a district's self-assessment
(``coverage report --kind progress``, ``--kind self-assessment``) carry the run's id, after the
previous run's when one is compared::

    quarterly-20250401T013002.118733Z-04fa-20250701T020315.204518Z-9c1e-city-zh.pdf
    self-assessment-20250701T020315.204518Z-9c1e-district-万江区-en.xlsx   (a first run)

A district's name is kept as it is (Chinese included) unless it holds characters a file name
cannot (``/ \ : * ? " < > |``, control characters, leading or trailing dots and spaces); those
become ``_`` and a short hash of the original name is added, so that two districts never
share a file name.

An origin-area exchange pack (``coverage exchange``) is named by the origin's six-digit code
and its Chinese name, made safe the same way, and the language of its headers::

    exchange-430000-湖南省-zh.xlsx       a province, in Chinese
    exchange-430100-湖南省长沙市-en.csv   a prefecture, in English

The province report of ``coverage batch`` is named by its language only (one per output
folder)::

    province-report-zh.pdf
"""

from __future__ import annotations

import hashlib
import re

from coverage.messages import check_lang

__all__ = ["ASSESSMENT_PREFIXES", "assessment_stem", "exchange_stem", "progress_stem",
           "province_stem", "report_filename", "report_stem"]

ASSESSMENT_PREFIXES = {"progress": "quarterly", "self-assessment": "self-assessment"}
"""File-name prefix of each kind of assessment report (``coverage report --kind``)."""

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]|\s')


def _safe(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip(". _")
    if cleaned == name and cleaned:
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
    return f"{cleaned}-{digest}" if cleaned else digest


def report_stem(*, lang: str, district: str | None = None) -> str:
    """Return the file stem of a report: ``report-city-zh``, ``report-district-万江区-en``.

    Parameters
    ----------
    lang
        ``zh`` or ``en``.
    district
        The district of a district report (``None``: the city).
    """
    check_lang(lang)
    scope = "city" if district is None else f"district-{_safe(str(district))}"
    return f"report-{scope}-{lang}"


def report_filename(fmt: str, *, lang: str, district: str | None = None) -> str:
    """Return the file name of a report in format ``fmt`` (``html``, ``xlsx``, ``pdf``).

    For example ``report_filename("pdf", lang="en")`` is ``report-city-en.pdf``.
    """
    return f"{report_stem(lang=lang, district=district)}.{fmt}"


def progress_stem(run_before: str, run_after: str, *, lang: str,
                  district: str | None = None) -> str:
    """Return the file stem of a progress report between two runs.

    ``progress-<earlier run>-<later run>-city-zh`` (run ids hold no character a file name
    cannot), or ``-district-<name>-`` for one district.
    """
    scope = report_stem(lang=lang, district=district).removeprefix("report-")
    return f"progress-{_safe(run_before)}-{_safe(run_after)}-{scope}"


def assessment_stem(kind: str, run: str | None, previous: str | None = None, *, lang: str,
                    district: str | None = None) -> str:
    """Return the file stem of a quarterly progress report or a district's self-assessment.

    ``quarterly-<previous run>-<run>-city-zh``, ``self-assessment-<run>-district-<name>-en``
    (no previous run compared): never the name of another kind of report, of another run or
    of another comparison.

    Parameters
    ----------
    kind
        ``progress`` or ``self-assessment`` (:data:`ASSESSMENT_PREFIXES`).
    run, previous
        The run's id (``None``: ``latest``) and the previous run's compared (``None``: none).
    lang, district
        As for :func:`report_stem`.

    Raises
    ------
    ValueError
        For an unknown kind.
    """
    if kind not in ASSESSMENT_PREFIXES:
        msg = f"unknown kind {kind!r}; choose from {', '.join(ASSESSMENT_PREFIXES)}"
        raise ValueError(msg)
    scope = report_stem(lang=lang, district=district).removeprefix("report-")
    runs = [_safe(r) for r in (previous, run or "latest") if r is not None]
    return "-".join([ASSESSMENT_PREFIXES[kind], *runs, scope])


def exchange_stem(code: str, name: str, *, lang: str) -> str:
    """Return the file stem of an origin's exchange pack: ``exchange-430100-湖南省长沙市-zh``.

    Parameters
    ----------
    code
        The origin's six-digit GB/T 2260 code.
    name
        Its name (made safe for a file name, as a district's is).
    lang
        ``zh`` or ``en``: the language of the pack's headers.

    Raises
    ------
    ValueError
        If ``code`` is not six digits.
    """
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        msg = f"an origin code has six digits (GB/T 2260), got {code!r}"
        raise ValueError(msg)
    check_lang(lang)
    return f"exchange-{code}-{_safe(str(name))}-{lang}"


def province_stem(*, lang: str) -> str:
    """Return the file stem of the province report of ``coverage batch``: ``province-report-zh``.

    Raises
    ------
    ValueError
        For an unknown language.
    """
    return f"province-report-{check_lang(lang)}"
