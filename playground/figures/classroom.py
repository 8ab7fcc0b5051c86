"""The lecturer's live screen of a class room: the drawings grouped by the model's answer, and the drawings the
model is least sure of. Each is one picture of thumbnails at one pixel per value (a palette PNG that Plotly
enlarges with hard edges: a few hundred drawings cost one small image, not hundreds of traces), framed by
whether the model answered what the student meant, with an invisible marker on each thumbnail so that a
click (or a tap) picks that drawing. The confusion matrix is ``figures.training.confusion_figure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from playground.figures.canvas import PrebuiltFigure
from playground.figures.common import FONT
from playground.figures.draw import picture_layout, png_data_url
from playground.figures.shapes import outline

SIDE = 28  # a drawing's side in values
FRAME = 2  # frame width around each thumbnail: right / wrong / not said
PITCH = SIDE + 2 * FRAME + 2  # one thumbnail and the gap after it
MAX_ACROSS = 3  # thumbnails side by side under each answer, at most (fewer while the groups are short)
MAX_ROWS = 8  # rows of thumbnails per answer; more are counted in the header ("+12")
WIDTH_PX = 900  # the main column at 1366 px with the sidebar: thumbnails are sized to fill it
MAX_CELL_PX = 2.5  # screen pixels per value at most (a 28×28 drawing at 70 px)
HEADER = 22  # values above the columns for the answers' headers
# palette indexes (the picture's bytes 0..255 are the drawing's grey levels from 4 up)
WHITE, RIGHT, WRONG, UNSAID = 0, 1, 2, 3
COLOURS = {WHITE: "#ffffff", RIGHT: "#009E73", WRONG: "#D55E00", UNSAID: "#9ca3af"}  # Okabe-Ito green, vermillion
LEVELS = 252  # grey levels of the drawings


@dataclass(frozen=True)
class Thumb:
    """One drawing on the screen: its picture, number, the digit meant (-1: not said) and the model's answer."""

    image: np.ndarray  # (28, 28) uint8
    id: int
    meant: int
    predicted: int
    confidence: float


def _lut() -> np.ndarray:
    lut = np.zeros((256, 3), np.uint8)
    for index, colour in COLOURS.items():
        lut[index] = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    lut[4:] = np.linspace(0, 255, LEVELS).round().astype(np.uint8)[:, None]  # black .. white ink
    return lut


LUT = _lut()


def verdict(meant: int, predicted: int) -> int:
    return UNSAID if meant < 0 else RIGHT if meant == predicted else WRONG


def _paint(canvas: np.ndarray, top: int, left: int, t: Thumb) -> None:
    canvas[top : top + SIDE + 2 * FRAME, left : left + SIDE + 2 * FRAME] = verdict(t.meant, t.predicted)
    levels = 4 + (np.asarray(t.image, np.uint16) * (LEVELS - 1) // 255).astype(np.uint8)
    canvas[top + FRAME : top + FRAME + SIDE, left + FRAME : left + FRAME + SIDE] = levels


def _hover(t: Thumb, classes: Sequence[str]) -> str:
    said = f"meant {classes[t.meant]}" if t.meant >= 0 else "digit not said"
    return f"drawing {t.id}: answer {classes[t.predicted]} ({t.confidence:.0%}), {said}"


def _figure(
    canvas: np.ndarray,
    places: list[tuple[int, int, Thumb]],
    classes: Sequence[str],
    annotations: list[dict],
    selected: int | None,
    width_px: float = WIDTH_PX,
) -> go.Figure:
    rows, width = canvas.shape
    cell_px = min(MAX_CELL_PX, width_px / width)
    half = (SIDE + 2 * FRAME - 1) / 2
    shapes = []
    for top, left, t in places:
        if t.id == selected:
            shapes += outline(("x", "y"), top - 1, top + SIDE + 2 * FRAME, left - 1, left + SIDE + 2 * FRAME, width=3)
    targets = dict(
        type="scatter",
        mode="markers",
        x=[left + half for _, left, _ in places],
        y=[top + half for top, _, _ in places],
        customdata=[t.id for _, _, t in places],
        text=[_hover(t, classes) for _, _, t in places],
        hovertemplate="%{text}<br>click: open it<extra></extra>",
        name="drawings",
        marker=dict(size=max(10.0, (SIDE + 2 * FRAME) * cell_px * 0.9), symbol="square", opacity=0.0),
    )
    picture = dict(
        type="image", source=png_data_url(canvas, LUT), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip", name="drawings"
    )
    layout = picture_layout(width, rows, int(rows * cell_px) + 12, annotations, shapes)
    return PrebuiltFigure({"data": [picture, targets] if places else [picture], "layout": layout})


def _sure(confidence: float) -> str:
    """A confidence for a caption: one decimal, and "> 99.9%" where rounding would print a certain 100.0%."""
    return "> 99.9%" if confidence >= 0.9995 else f"{confidence:.1%}"


def _label(text: str, x: float, y: float, anchor: str, size: int) -> dict:
    """Text placed on the picture's own coordinates (a column's header, a drawing's caption)."""
    return dict(
        text=text,
        x=x,
        y=y,
        xref="x",
        yref="y",
        yanchor=anchor,
        showarrow=False,
        font=dict(size=size, color=FONT["color"]),
    )


def grouped_figure(groups: Sequence[Sequence[Thumb]], classes: Sequence[str], selected: int | None = None) -> go.Figure:
    """One column per answer (0 to 9), its drawings most confident first, headed "7 · 12"; frames say
    right (green), wrong (vermillion) or not said (grey). Each answer gets one to MAX_ACROSS thumbnails side by
    side, as few as the largest group needs; past MAX_ROWS rows a header says how many more there are."""
    biggest = max([1, *(len(g) for g in groups)])
    across = min(MAX_ACROSS, -(-biggest // MAX_ROWS))
    col_w = across * PITCH + 8
    rows = max([1, *(min(MAX_ROWS, -(-len(g) // across)) for g in groups)])
    canvas = np.full((HEADER + rows * PITCH, len(groups) * col_w), WHITE, np.uint8)
    places, annotations = [], []
    for k, group in enumerate(groups):
        shown = list(group)[: MAX_ROWS * across]
        for i, t in enumerate(shown):
            r, q = divmod(i, across)
            top, left = HEADER + r * PITCH, k * col_w + q * PITCH
            _paint(canvas, top, left, t)
            places.append((top, left, t))
        more = f" <span style='font-size:12px'>+{len(group) - len(shown)}</span>" if len(group) > len(shown) else ""
        annotations.append(
            _label(
                f"<b>{classes[k]}</b> · {len(group)}{more}",
                k * col_w + (across * PITCH) / 2 - 1,
                HEADER - 4,
                "bottom",
                16,
            )
        )
    return _figure(canvas, places, classes, annotations, selected)


def strip_figure(
    thumbs: Sequence[Thumb], classes: Sequence[str], selected: int | None = None, per_row: int = 12
) -> go.Figure:
    """Drawings in a row (wrapping after ``per_row``), each with "answer · confidence" under it: the least
    confident drawings, least sure first."""
    label = 16
    n_rows = max(1, -(-len(thumbs) // per_row))
    canvas = np.full((n_rows * (PITCH + label), min(per_row, max(1, len(thumbs))) * (PITCH + 4)), WHITE, np.uint8)
    places, annotations = [], []
    for i, t in enumerate(thumbs):
        r, q = divmod(i, per_row)
        top, left = r * (PITCH + label), q * (PITCH + 4)
        _paint(canvas, top, left, t)
        places.append((top, left, t))
        annotations.append(
            _label(
                f"{classes[t.predicted]} · {_sure(t.confidence)}",
                left + (SIDE + 2 * FRAME) / 2,
                top + SIDE + 2 * FRAME + 1,
                "top",
                13,
            )
        )
    return _figure(canvas, places, classes, annotations, selected)


def clicked_drawing(event: object) -> int | None:
    """The drawing number a click or tap on these figures picked (its marker's customdata), or None."""
    try:
        points = event["selection"]["points"]  # type: ignore[index]
        value = points[0]["customdata"]
    except (KeyError, IndexError, TypeError):
        return None
    value = value[0] if isinstance(value, list) and value else value
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
