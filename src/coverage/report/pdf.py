"""The PDF report: the HTML report with static maps, laid out for A4 by WeasyPrint.

Chinese needs a CJK font on the machine; :func:`coverage.report.figures.cjk_font` finds it
and the same font is embedded in the PDF and used by the charts. Without one, writing the PDF
fails with one message, in Chinese and English, saying how to install one (Debian/Ubuntu:
``fonts-noto-cjk``) or how to point ``COVERAGE_CJK_FONT`` at a font file.

Wide tables are printed on landscape pages (named page ``landscape`` of ``print.css``), or cut
into parts (:mod:`coverage.report.layout`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from coverage.messages import catalogue
from coverage.report.content import Report, ReportError
from coverage.report.figures import FontMissingError, cjk_font
from coverage.report.html import render_html

__all__ = ["write_pdf"]


def _font_css() -> str:
    path, family = cjk_font()
    families = f'"Noto Sans CJK SC", "{family}", "CoverageCJK", sans-serif'
    return (f'@font-face {{ font-family: "CoverageCJK"; src: url("{path.as_uri()}"); }}\n'
            f"body {{ font-family: {families}; }}\n"
            f"@page {{ @bottom-center {{ font-family: {families}; }} }}")


def _no_font_message(lang: str) -> str:
    """Say that a CJK font is missing and how to install one, in both languages.

    Who installs fonts may not read the report's language: the report's language first.
    """
    other = "en" if lang == "zh" else "zh"
    return "\n".join(catalogue("report", x)["pdf_no_font"] for x in (lang, other))


def write_pdf(report: Report, path: str | Path) -> Path:
    """Write the report as a PDF (A4, static maps, embedded CJK font); return the path.

    Raises
    ------
    ReportError
        If no CJK font is installed (the message says how to install one).
    """
    try:
        font_css = _font_css()
    except FontMissingError as exc:
        raise ReportError(_no_font_message(report.lang)) from exc
    from weasyprint import CSS, HTML  # lazy: only the PDF needs it, slow to load

    # WeasyPrint logs every CSS property it does not support; the report's CSS is shared with
    # the HTML version, so those warnings are expected and not the user's concern.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    page = render_html(report, static=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=page).write_pdf(path, stylesheets=[CSS(string=font_css)])
    return path
