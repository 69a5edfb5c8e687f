"""``project.toml`` written from a proposal, with a comment on every guess.

Comments are in English and Chinese (:data:`~coverage.init_project.guesses.LINE_WIDTH` columns at
most, else on two lines); the parameters, privacy and output settings are the defaults of
:data:`coverage.io.project.TEMPLATE`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from coverage.init_project.guesses import LINE_WIDTH
from coverage.init_project.proposal import LayerProposal, ProjectProposal
from coverage.io.project import PROJECT_FILE, TEMPLATE


def _toml_str(text: str) -> str:
    """Quote ``text`` as a TOML basic string (JSON escapes are valid TOML escapes)."""
    return json.dumps(text, ensure_ascii=False)


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _line(assignment: str, comment: tuple[str, str] | str | None = None,
          width: int = 26) -> str:
    """Write ``assignment`` with its comment aligned at ``width``.

    A bilingual comment that does not fit in :data:`LINE_WIDTH` columns goes on two lines,
    English first.
    """
    if not comment:
        return assignment
    pad = " " * max(width - _width(assignment), 2)
    if isinstance(comment, str):
        return f"{assignment}{pad}# {_one_line(comment)}"
    en, zh = (_one_line(c) for c in comment)
    first = f"{assignment}{pad}# {en}"
    if _width(f"{first}; {zh}") <= LINE_WIDTH:
        return f"{first}; {zh}"
    return f"{first}\n{' ' * (_width(assignment) + len(pad))}# {zh}"


def _one_line(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", text)


_TITLES = {
    "migrants": "流动人口 (必需 / required)",
    "sites": "服务网点 (必需 / required)",
    "communities": "社区边界 (必需 / required)",
    "network": "路网 (必需 / required)",
    "registered_points": "户籍人口分布点 (可选 / optional)",
    "candidates": "候选网点 (可选 / optional)",
}


def _layer_lines(layer: LayerProposal) -> list[str]:
    lines = [_line(f"[layers.{layer.name}]", _TITLES[layer.name])]
    lines.append(f"path = {_toml_str(layer.source)}")
    guess = layer.system
    if guess is not None:
        if guess.system is not None:
            lines.append(_line(f"crs = {_toml_str(guess.system)}", guess.comment()))
        else:
            lines.append(_line('# crs = "EPSG:nnnn"', guess.comment()))
    if layer.encoding is not None:
        note = layer.encoding_note
        lines.append(_line(f"encoding = {_toml_str(layer.encoding)}", note))
    if layer.delimiter is not None:
        lines.append(_line(f"delimiter = {_toml_str(layer.delimiter)}",
                           ("guessed from the header row", "根据表头行推断的分隔符")))
    if layer.header_row is not None:
        lines.append(_line(f"header_row = {layer.header_row}", (
            "guessed: the row matching most fields; the rows above are titles",
            "推断：与字段匹配最多的一行，其上为标题行")))
    if layer.layer is not None:
        lines.append(_line(f"layer = {_toml_str(layer.layer)}",
                           ("guessed: the only layer with the right geometry",
                            "推断：唯一几何类型相符的图层")))
    if layer.columns:
        lines += ["", f"[layers.{layer.name}.columns]"]
        missing = []
        schema = layer.schema
        assert schema is not None
        for f, g in layer.columns.items():
            if g.header is not None:
                lines.append(_line(f"{f} = {_toml_str(g.header)}", g.comment()))
            elif schema.column(f).required:
                close = ", ".join(f"{h} ({s:.2f})" for h, s in g.candidates) or "none"
                what = ("several headers are equally close" if g.note else
                        "no header matches")
                lines.append(_line(f'# {f} = ""', (
                    f"TODO: required, {what} (closest: {close})",
                    "待办：必填字段，请填写对应的表头")))
            else:
                missing.append(f)
        if missing:
            lines.append(f"# not found (optional) / 未找到（可选）: {', '.join(missing)}")
        used = set(layer.mapping.values())
        unused = [h for h in layer.headers if h not in used]
        if unused:
            lines.append(f"# not used / 未使用的列: {_one_line(', '.join(unused))}")
    return lines


def render_project(proposal: ProjectProposal, *, name: str | None = None,
                   language: str = "zh") -> str:
    """Return the text of ``project.toml`` for ``proposal`` (see :func:`write_project`)."""
    head, tail = TEMPLATE.split("\n[project]\n", 1)
    defaults = tail[tail.index("[parameters]"):]
    title = name or proposal.folder.name
    lines = [
        head.rstrip("\n"),
        "# 由 coverage init 根据数据文件生成，每一处推断都附有注释，请核对。",
        "# Written by coverage init from the data files: every guess carries a comment; check "
        "them.",
        "",
        "[project]",
        f"name = {_toml_str(title)}",
        _line('study_crs = "auto"', "自动选择 UTM 投影 / automatic UTM zone; or e.g. "
              '"EPSG:32650"'),
        _line(f"language = {_toml_str(language)}", "报告语言 / report language: zh | en"),
        "",
    ]
    for layer in proposal.layers.values():
        lines += [*_layer_lines(layer), ""]
    return "\n".join(lines) + "\n" + defaults


def write_project(
    proposal: ProjectProposal,
    *,
    overwrite: bool = False,
    name: str | None = None,
    language: str = "zh",
) -> Path:
    """Write ``project.toml`` for ``proposal`` into its folder and return its path.

    Paths are relative to the folder; every guess (encoding, coordinate system, column) carries
    a comment; the parameters, privacy and output settings are the defaults of
    :data:`coverage.io.project.TEMPLATE`.

    Raises
    ------
    FileExistsError
        When the folder has a ``project.toml`` already and ``overwrite`` is false.
    """
    target = proposal.folder / PROJECT_FILE
    if target.exists() and not overwrite:
        msg = f"{target} already exists; pass --force to overwrite it"
        raise FileExistsError(msg)
    text = render_project(proposal, name=name, language=language)
    proposal.folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
