"""What the Play view's in-browser player and the GIF export draw: every cell's colour and label,
and every step's window and arithmetic, as plain JSON-ready data.

The player (``playground/ui/web/player.js``) and ``figures.gif`` only paint these; they compute and
format no number. Inputs
are the engine's arrays and step records (``ops.ConvStep``); colours follow the stepping figure's
conventions (greys for the input, wheat for padding, the diverging scale for kernel and output).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from playground.figures.common import (
    EMPTY_SLOT,
    FONT,
    PADDING_BORDER,
    PADDING_FILL,
    WINDOW,
    WINDOW_UNDER,
    fmt,
    scale_rgb,
    symmetric_range,
    value_range,
)
from playground.figures.style import STANDARD, Palette

DARK_TEXT, LIGHT_TEXT = FONT["color"], "#ffffff"


def _hex(rgb: np.ndarray) -> str:
    r, g, b = (int(round(float(v))) for v in np.clip(rgb, 0, 255))
    return f"#{r:02x}{g:02x}{b:02x}"


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def colours(values: np.ndarray, scale: Sequence[Sequence], lo: float, hi: float) -> list[list[str]]:
    """Each value's colour on a Plotly-style ``scale`` ([[position, '#rrggbb'], ...]) over [lo, hi],
    interpolated in RGB as Plotly does; non-finite values take the scale's end they lie towards."""
    values = np.asarray(values, dtype=np.float64)
    span = hi - lo if hi > lo else 1.0
    t = np.clip(np.nan_to_num((values - lo) / span, nan=0.5, posinf=1.0, neginf=0.0), 0.0, 1.0)
    return [[_hex(px) for px in row] for row in scale_rgb(t, scale)]


def _text_colour(fill: str) -> str:
    r, g, b = _rgb(fill) / 255.0
    return LIGHT_TEXT if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 else DARK_TEXT


def _panel(title: str, values: np.ndarray, fills: list[list[str]]) -> dict:
    return dict(
        title=title,
        labels=[[fmt(float(v)) for v in row] for row in np.asarray(values, dtype=np.float64)],
        fills=fills,
        inks=[[_text_colour(f) for f in row] for row in fills],
    )


def stepping_data(
    padded: np.ndarray,
    pads: Sequence[int],
    output: np.ndarray,
    steps: Sequence,
    *,
    kernel: np.ndarray | None = None,
    output_title: str | None = None,
    pad_text: str | None = None,
    start: int = 0,
    palette: Palette = STANDARD,
) -> dict:
    """Padded input (Hp, Wp), the kernel (KH, KW) as applied (None for pooling) and output (OH, OW),
    with one record per engine step: the output cell, the window's rows and columns in the padded
    input, and the cell's arithmetic exactly as the stepping view writes it. ``pad_text`` replaces
    the padding cells' labels (max pooling's −∞); ``start`` is the step shown first; ``palette`` colours
    the input (its magnitude scale) and kernel and output (its signed scale)."""
    if not steps:
        raise ValueError("A run with no steps has nothing to play.")
    padded = np.asarray(padded, dtype=np.float64)
    output = np.asarray(output, dtype=np.float64)
    hp, wp = padded.shape
    top, bottom, left, right = (int(p) for p in pads)
    inner = np.zeros(padded.shape, dtype=bool)
    inner[top : hp - bottom, left : wp - right] = True
    lo, hi = value_range(np.where(inner, padded, np.nan))
    fills = colours(padded, palette.magnitude, lo, hi)
    for r, c in zip(*np.nonzero(~inner)):
        fills[r][c] = PADDING_FILL
    padded_title = f"Padded input {hp}×{wp}" if any(pads) else f"Input {hp}×{wp}"
    first = _panel(padded_title, padded, fills)
    if pad_text is not None:
        for r, c in zip(*np.nonzero(~inner)):
            first["labels"][r][c] = pad_text
    oh, ow = output.shape
    data = dict(
        input=dict(first, padding=[top, bottom, left, right]),
        output=_panel(
            output_title or f"Output {oh}×{ow}", output, colours(output, palette.signed, *symmetric_range(output))
        ),
        steps=[
            dict(
                pos=[int(s.out_pos[0]), int(s.out_pos[1])],
                rows=[int(r) for r in s.rows],
                cols=[int(c) for c in s.cols],
                text=f"Output ({s.out_pos[0]}, {s.out_pos[1]}) = {s.arithmetic()}",
            )
            for s in steps
        ],
        start=int(np.clip(start, 0, len(steps) - 1)),
        style=dict(
            empty=EMPTY_SLOT,
            window=WINDOW,
            under=WINDOW_UNDER,
            padding=PADDING_BORDER,
            ink=DARK_TEXT,
            font=FONT["family"],
        ),
    )
    if kernel is not None:
        kernel = np.asarray(kernel, dtype=np.float64)
        data["kernel"] = _panel(
            f"Kernel {kernel.shape[0]}×{kernel.shape[1]}",
            kernel,
            colours(kernel, palette.signed, *symmetric_range(kernel)),
        )
    return data


def conv_player_data(
    padded: np.ndarray,
    pads: Sequence[int],
    kernel: np.ndarray,
    output: np.ndarray,
    steps: Sequence,
    *,
    start: int = 0,
    palette: Palette = STANDARD,
) -> dict:
    """A convolution's stepping data (``ops.ConvStep`` records): padded input ∗ kernel = output."""
    return stepping_data(padded, pads, output, steps, kernel=kernel, start=start, palette=palette)


def pool_player_data(
    padded: np.ndarray, pads: Sequence[int], output: np.ndarray, steps: Sequence, kind: str, palette: Palette = STANDARD
) -> dict:
    """A pooling run's stepping data (``ops.PoolStep`` records): padded input → pooled output; max
    pooling's padding reads −∞ (it never wins)."""
    oh, ow = np.shape(output)
    title = f"{'Max' if kind == 'max' else 'Average'} pooled {oh}×{ow}"
    return stepping_data(
        padded, pads, output, steps, output_title=title, pad_text="−∞" if kind == "max" else None, palette=palette
    )
