"""How a table goes onto A4 pages in the PDF: font size, orientation and parts.

Numbers and short Chinese names are never broken across lines (a cell ``46,472`` or ``万江区``
stays whole); other texts and headers wrap between words only, never inside one. So each
column has a smallest width, from its content. :func:`plan_table` estimates those widths and
picks the first layout the table fits: portrait, portrait in a smaller font, landscape,
landscape in a smaller font; a table wider than that is cut into parts of columns, each
repeating the columns that name its rows. The widths are estimates from character classes
(the report's font is Noto Sans CJK: a Chinese character is one em, Latin letters and digits
about half), with a margin for padding and borders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LONG_TEXT_EM", "TableLayout", "plan_table", "segments", "text_width_em",
           "unbreakable"]

#: Usable width of an A4 page with the report's margins (mm): portrait, landscape.
PAGE_MM = {"portrait": 182.0, "landscape": 267.0}
#: Font sizes of table text (pt): normal, small.
FONT_PT = {"normal": 8.0, "small": 6.8}
#: A text cell wider than this (em) wraps between words instead of staying on one line.
LONG_TEXT_EM = 16.0
_PAD_EM = 0.8  # cell padding and borders
_MM_PER_PT = 25.4 / 72
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


def text_width_em(text: str) -> float:
    """Estimated width of ``text`` on one line, in em (a Chinese character is 1)."""
    width = 0.0
    for ch in text:
        if _CJK.match(ch):
            width += 1.0
        elif ch.isdigit() or ch in "+−-$":
            width += 0.56
        elif ch in " .,:;'|!il()[]":
            width += 0.3
        elif ch.isupper() or ch in "mwMW%@":
            width += 0.72
        else:
            width += 0.55
    return width


_SEGMENT = re.compile(r"(\s+)|(?<=[）)，、；：。])(?=\S)|(?<=\S)(?=[（(])")


def segments(text: str) -> list[tuple[str, str]]:
    """Pieces of a long cell text that stay on one line, each with the space after it.

    Latin texts break between words; Chinese texts between phrases (before an opening
    bracket, after a closing one or a comma), never inside a name: "兴湾村村民委员会旧址2号
    （白基社区）" breaks only before "（".
    """
    parts = _SEGMENT.split(text)  # pieces, with the spaces captured in between
    out: list[tuple[str, str]] = []
    for part in parts:
        if part is None or part == "":
            continue
        if part.isspace():
            if out:
                out[-1] = (out[-1][0], part)
            continue
        out.append((part, ""))
    return out


def unbreakable(text: str, *, numeric: bool) -> bool:
    """Whether a cell must stay on one line.

    Numbers always; Chinese texts up to :data:`LONG_TEXT_EM` too, as a line may break between
    any two Chinese characters ("万江│区"). Other texts wrap between words only.
    """
    return numeric or (bool(_CJK.search(text)) and text_width_em(text) <= LONG_TEXT_EM)


def _min_width(head: str, cells: list[str], *, numeric: bool) -> float:
    """Smallest width (em) of a column: its widest piece that does not break."""
    head_min = max((min(text_width_em(w), LONG_TEXT_EM) for w, _ in segments(head)),
                   default=0.0)
    body = 0.0
    for cell in cells:
        if unbreakable(cell, numeric=numeric):
            body = max(body, text_width_em(cell))
        else:
            body = max(body, max((min(text_width_em(w), LONG_TEXT_EM)
                                  for w, _ in segments(cell)), default=0.0),
                       min(text_width_em(cell), 8.0))
    return max(head_min, body) + _PAD_EM


@dataclass(frozen=True)
class TableLayout:
    """Where and how a table is printed.

    Attributes
    ----------
    orientation
        ``portrait`` or ``landscape``.
    size
        ``normal`` or ``small`` font.
    parts
        Column indices of each part (one part when the table fits).
    """

    orientation: str
    size: str
    parts: tuple[tuple[int, ...], ...]


def _fits(widths: list[float], orientation: str, size: str) -> bool:
    return sum(widths) * FONT_PT[size] * _MM_PER_PT <= PAGE_MM[orientation]


def plan_table(heads: list[str], cells: list[list[str]], *, numeric: list[bool],
               keys: int = 1) -> TableLayout:
    """Choose the layout of a table from its headers and cell texts.

    Parameters
    ----------
    heads
        Header of each column.
    cells
        Rows of cell texts, as printed.
    numeric
        Whether each column holds numbers (never broken).
    keys
        Number of leading columns that name a row; a table cut into parts repeats them.

    Returns
    -------
    TableLayout
    """
    n = len(heads)
    columns = [[row[j] for row in cells] for j in range(n)]
    widths = [_min_width(heads[j], columns[j], numeric=numeric[j]) for j in range(n)]
    every = tuple(range(n))
    for orientation, size in (("portrait", "normal"), ("portrait", "small"),
                              ("landscape", "normal"), ("landscape", "small")):
        if _fits(widths, orientation, size):
            return TableLayout(orientation, size, (every,))
    keys = min(keys, n - 1)
    parts: list[tuple[int, ...]] = []
    current = list(range(keys))
    for j in range(keys, n):
        if len(current) > keys and not _fits([widths[i] for i in [*current, j]], "landscape",
                                             "small"):
            parts.append(tuple(current))
            current = list(range(keys))
        current.append(j)
    parts.append(tuple(current))
    return TableLayout("landscape", "small", tuple(parts))
