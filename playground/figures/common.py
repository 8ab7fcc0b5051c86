"""Shared pieces of the Plotly builders: colours, fonts, sizes, number labels and value ranges. A figure
under construction and its panels are in ``figures.canvas``, outline shapes in ``figures.shapes``.

Conventions: a grid panel shows row 0 at the top (reversed y), cells are square, axis ranges are
fixed, and cells carry their numbers when the grid is small enough
to read on a projector (:data:`MAX_LABELLED`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

CONTAINER_PX = 1000  # typical main-column width in the wide layout (940 px at 1400 px), for sizing
GRID_MARGIN = 0.1  # cells of room around a grid panel for the highlight outlines
MAX_LABELLED = 14  # grids up to 14×14 (a 12×12 input with padding 1) show their numbers
FONT = dict(family="Inter, Arial, sans-serif", size=16, color="#1f2937")
# every figure's look: the house font on transparent paper, no Plotly template (the page's theme shows through)
PLAIN = dict(font=FONT, template={}, paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")

# Colour-blind-safe choices: ColorBrewer RdBu (blue = negative, red = positive) for signed values,
# plain black-to-white for images (0 = black like MNIST), Okabe-Ito orange / sky blue for highlights.
DIVERGING = [
    [0.0, "#053061"],
    [0.1, "#2166ac"],
    [0.2, "#4393c3"],
    [0.3, "#92c5de"],
    [0.4, "#d1e5f0"],
    [0.5, "#f7f7f7"],
    [0.6, "#fddbc7"],
    [0.7, "#f4a582"],
    [0.8, "#d6604d"],
    [0.9, "#b2182b"],
    [1.0, "#67001f"],
]
GREYS = [[0.0, "#000000"], [1.0, "#ffffff"]]
BLUES = [[0.0, "#f7fbff"], [0.25, "#c6dbef"], [0.5, "#6baed6"], [0.75, "#2171b5"], [1.0, "#08306b"]]  # counts
PADDING_FILL = "#f5deb3"  # wheat: padding cells never look like image pixels
PADDING_BORDER = "#b45309"  # dashed line around the real input
WINDOW = "#E69F00"  # Okabe-Ito orange: the kernel window and the current output cell
WINDOW_UNDER = "#000000"  # drawn under the orange so it shows on white, grey and red cells
CHOSEN = "#56B4E9"  # Okabe-Ito sky blue: the maximum a max-pool picked
EMPTY_SLOT = "#e5e7eb"  # output cells not computed yet
CHANGED = "#CC79A7"  # Okabe-Ito reddish purple: pooled cells a shift changed


class WindowLike(Protocol):
    """What the builders need from an engine step record (``ops.ConvStep`` / ``ops.PoolStep``)."""

    index: int
    out_pos: tuple[int, int]
    rows: tuple[int, ...]
    cols: tuple[int, ...]


def scale_rgb(t: np.ndarray, scale: Sequence[Sequence]) -> np.ndarray:
    """(..., 3) float RGB of positions ``t`` in [0, 1] on a Plotly-style ``scale`` ([[position, '#rrggbb'], ...]),
    interpolated in RGB between stops as Plotly does."""
    stops = np.array([float(p) for p, _ in scale])
    rgbs = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for _, c in scale], dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    return np.stack([np.interp(t, stops, rgbs[:, k]) for k in range(3)], axis=-1)


def fmt(v: float) -> str:
    """A cell label: integers without '.0', else up to 2 decimals, big numbers in e-notation."""
    if v is None or not np.isfinite(v):
        return "" if v is None or np.isnan(v) else ("∞" if v > 0 else "−∞")
    if abs(v) >= 1e5:
        s = f"{v:.1e}"
    elif float(v).is_integer():
        s = str(int(v))
    else:  # ~3 significant digits: a cell label, the exact value is in the hover and the arithmetic
        s = f"{v:.{0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2}f}"
        s = s.rstrip("0").rstrip(".") if "." in s else s
        if s in ("-0", "0"):
            s = "0" if abs(v) < 0.005 else s
    return s.replace("-", "−")


def labels(z: np.ndarray) -> list[list[str]]:
    """Cell labels for a 2-D array (empty strings for NaN, i.e. not yet computed)."""
    return [[fmt(v) for v in row] for row in np.asarray(z, dtype=np.float64)]


def show_numbers(shape: Sequence[int]) -> bool:
    """Whether a grid of ``shape`` (rows, cols) is small enough to print its numbers."""
    return max(shape[0], shape[1]) <= MAX_LABELLED


def symmetric_range(*arrays: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest finite |value| (1 when there is none), for a diverging scale."""
    m = 0.0
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        finite = a[np.isfinite(a)]
        if finite.size:
            m = max(m, float(np.abs(finite).max()))
    m = m or 1.0
    return -m, m


def value_range(*arrays: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values, widened when flat so a colour scale still works."""
    finite = [np.asarray(a, dtype=np.float64) for a in arrays]
    finite = [a[np.isfinite(a)] for a in finite]
    finite = [a for a in finite if a.size]
    if not finite:
        return 0.0, 1.0
    lo = min(float(a.min()) for a in finite)
    hi = max(float(a.max()) for a in finite)
    if hi <= lo:
        return (lo - 1.0, hi + 1.0) if lo != 0 else (0.0, 1.0)
    return lo, hi


def numbers_fit(rows: int, cols: int, panel_px: float, min_cell_px: float = 30.0) -> bool:
    """Whether cell numbers are readable: a small grid (:func:`show_numbers`) with cells ≥ ``min_cell_px``."""
    return show_numbers((rows, cols)) and panel_px / max(rows, cols, 1) >= min_cell_px


def label_font_size(rows: int, cols: int, panel_px: float) -> int:
    """Font size for cell numbers so ~5 characters ('−1.75') fit a cell of a panel ``panel_px`` across."""
    cell = panel_px / max(rows, cols, 1)
    return int(np.clip(cell / 2.7, 9, 24))
