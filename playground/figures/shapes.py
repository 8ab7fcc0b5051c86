"""Outline shapes on a grid panel: a rectangle around cells, the two-colour outline of the current cell or
window, the empty output slots, and a dilated window's tapped cells.
"""

from __future__ import annotations

from collections.abc import Sequence

from playground.figures.common import (
    EMPTY_SLOT,
    WINDOW,
    WINDOW_UNDER,
)


def rect(
    refs: tuple[str, str],
    r0: float,
    r1: float,
    c0: float,
    c1: float,
    *,
    color: str,
    width: float = 3,
    dash: str = "solid",
    fill: str | None = None,
    kind: str = "rect",
) -> dict:
    """A rectangle around rows r0..r1 and columns c0..c1 (inclusive cell indices) of a grid panel."""
    line = dict(color=color, width=width) if dash == "solid" else dict(color=color, width=width, dash=dash)
    shape = dict(
        type=kind, xref=refs[0], yref=refs[1], x0=c0 - 0.5, x1=c1 + 0.5, y0=r0 - 0.5, y1=r1 + 0.5, line=line
    )  # compact: animations repeat these in every frame
    if fill:
        shape["fillcolor"] = fill
    return shape


def outline(refs: tuple[str, str], r0: int, r1: int, c0: int, c1: int, width: float = 4) -> list[dict]:
    """The highlight outline: orange over a wider black line, visible on any cell colour, drawn a
    little outside the cells so it does not hide their numbers."""
    g = 0.06
    return [
        rect(refs, r0 - g, r1 + g, c0 - g, c1 + g, color=WINDOW_UNDER, width=width + 3),
        rect(refs, r0 - g, r1 + g, c0 - g, c1 + g, color=WINDOW, width=width),
    ]


def slots(refs: tuple[str, str], rows: int, cols: int) -> dict:
    """A light background under a grid panel, so cells not yet computed show as empty slots."""
    return dict(
        type="rect",
        xref=refs[0],
        yref=refs[1],
        x0=-0.5,
        x1=cols - 0.5,
        y0=-0.5,
        y1=rows - 0.5,
        line=dict(width=0),
        fillcolor=EMPTY_SLOT,
        layer="below",
    )


def window_shapes(refs: tuple[str, str], rows: Sequence[int], cols: Sequence[int]) -> list[dict]:
    """Outline of a kernel window on the padded input; dilated windows also mark every tapped cell."""
    shapes = outline(refs, min(rows), max(rows), min(cols), max(cols))
    dilated = len(rows) > 1 and rows[1] - rows[0] > 1 or len(cols) > 1 and cols[1] - cols[0] > 1
    if dilated:
        shapes += [
            rect(refs, r, r, c, c, color=WINDOW, width=2, fill="rgba(230,159,0,0.35)") for r in rows for c in cols
        ]
    return shapes
