"""Plain-text helpers shared by every layer: tables aligned by display width.

Korean (and other East Asian wide) characters take two terminal columns, so columns are padded by
display width, not by ``len`` — the course's titles ("파드 - 컨테이너, 라벨, 노드 스케줄") line up.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any


def width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide/fullwidth = 2, combining marks = 0."""
    cols = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        cols += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return cols


def pad(text: str, cols: int) -> str:
    """``text`` padded with spaces to ``cols`` display columns."""
    return text + " " * max(0, cols - width(text))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain aligned text table (like kubectl get), aligned by display width."""
    cells = [[str(h).upper() for h in headers]] + [
        ["" if c is None else str(c) for c in r] for r in rows
    ]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["   ".join(pad(c, w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)
