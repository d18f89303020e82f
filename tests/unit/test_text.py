import unicodedata

from kubetm.text import pad, table, width


def test_width_counts_korean_as_two_columns():
    assert width("pod") == 3
    assert width("파드") == 4
    assert width("Pod 파드, 라벨") == 14
    assert width("e\u0301") == 1  # a combining accent takes no column


def test_pad_fills_to_display_width():
    assert pad("파드", 6) == "파드  "
    assert pad("toolong", 3) == "toolong"


def test_table_aligns_korean_titles_by_display_width():
    out = table([["pod", "파드 - 컨테이너"], ["service", "서비스"]], ["lab", "title"])
    lines = out.splitlines()
    # the second column starts at the same display column on every line
    starts = [
        width(line[: line.index(cell)]) for line, cell in zip(lines, ["TITLE", "파드", "서비스"])
    ]
    assert len(set(starts)) == 1, lines
    # and a Korean cell before another column pushes it by display width, not by len()
    out = table([["파드", "x"], ["pod", "y"]], ["a", "b"])
    rows = out.splitlines()[1:]
    assert width(rows[0][: rows[0].index("x")]) == width(rows[1][: rows[1].index("y")])


def _cols(text: str) -> int:
    """Display width computed here, independently of kubetm.text."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _starts(line: str) -> set[int]:
    """Display columns where a cell starts (a non-space after a space, or at 0)."""
    out, col, prev = set(), 0, " "
    for ch in line:
        if ch != " " and prev == " ":
            out.add(col)
        col += _cols(ch)
        prev = ch
    return out


def _misaligned(text: str) -> list[str]:
    """Lines with content past a header column but no cell starting exactly at it."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    columns = _starts(lines[0])
    return [
        ln for ln in lines[1:] for c in columns if c < _cols(ln.rstrip()) and c not in _starts(ln)
    ]


def test_lab_and_demo_tables_align():
    from kubetm.demos import list_demos
    from kubetm.demos import render_list as render_demos
    from kubetm.labs.runner import list_labs
    from kubetm.labs.runner import render_list as render_labs

    for text in (render_labs(list_labs()), render_demos(list_demos())):
        assert _misaligned(text) == []


def test_the_alignment_check_sees_len_based_padding():
    rows = [["파드파드", "x"], ["pod", "y"]]
    by_len = "\n".join(f"{a.ljust(8)}   {b}" for a, b in [["A", "B"], *rows])  # len(), not width
    assert _misaligned(by_len)
    assert _misaligned(table(rows, ["a", "b"])) == []
