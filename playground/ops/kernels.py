"""Preset kernels and the validation of kernels and matrices typed by users (numpy only).

Every preset is written as cross-correlation (what PyTorch and Keras compute): the description says what
its output shows when slid over an image without flipping.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.errors import PlaygroundError
from playground.untrusted import check_text, load_json

MAX_KERNEL = 7  # largest kernel side a user may type
MAX_ABS_VALUE = 1e6  # larger values are refused so no result can overflow
MAX_CHANNELS = 16


class KernelError(PlaygroundError):
    """str(e): one sentence naming the cell/row at fault."""


@dataclass(frozen=True)
class PresetKernel:
    """A named kernel with one sentence on what it detects."""

    name: str  # "Sobel x"
    values: tuple[tuple[float, ...], ...]  # rows of the kernel
    description: str  # one sentence on what it detects

    @property
    def array(self) -> np.ndarray:
        """The kernel as a (KH, KW) float64 array (a fresh copy each time)."""
        return np.array(self.values, dtype=np.float64)


def _scaled(rows: list[list[int]], divisor: int = 1) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(v / divisor for v in row) for row in rows)


_BINOMIAL_5 = [1, 4, 6, 4, 1]

PRESETS: dict[str, PresetKernel] = {
    p.name: p
    for p in (
        PresetKernel(
            "Identity",
            _scaled([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
            "Copies each pixel unchanged, a baseline to compare the other kernels against.",
        ),
        PresetKernel(
            "Box blur",
            _scaled([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 9),
            "Replaces each pixel by the plain average of its 3×3 neighbourhood, smoothing noise and detail.",
        ),
        PresetKernel(
            "Gaussian 3×3",
            _scaled([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16),
            "Blurs with weights that fall off from the centre, a softer smoothing than the box blur.",
        ),
        PresetKernel(
            "Gaussian 5×5",
            _scaled([[a * b for b in _BINOMIAL_5] for a in _BINOMIAL_5], 256),
            "Blurs more strongly over a 5×5 neighbourhood, keeping only coarse shapes.",
        ),
        PresetKernel(
            "Sharpen",
            _scaled([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
            "Boosts each pixel against its four neighbours, making edges and fine detail crisper.",
        ),
        PresetKernel(
            "Sobel x",
            _scaled([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
            "Detects vertical edges: positive where brightness rises from left to right, negative where it falls.",
        ),
        PresetKernel(
            "Sobel y",
            _scaled([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
            "Detects horizontal edges: positive where brightness rises from top to bottom, negative where it falls.",
        ),
        PresetKernel(
            "Prewitt x",
            _scaled([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
            "Detects vertical edges like Sobel x, with equal weight on all three rows.",
        ),
        PresetKernel(
            "Prewitt y",
            _scaled([[-1, -1, -1], [0, 0, 0], [1, 1, 1]]),
            "Detects horizontal edges like Sobel y, with equal weight on all three columns.",
        ),
        PresetKernel(
            "Scharr x",
            _scaled([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]),
            "Detects vertical edges with weights tuned to respond equally to edges at every angle.",
        ),
        PresetKernel(
            "Scharr y",
            _scaled([[-3, -10, -3], [0, 0, 0], [3, 10, 3]]),
            "Detects horizontal edges with weights tuned to respond equally to edges at every angle.",
        ),
        PresetKernel(
            "Laplacian (4-neighbour)",
            _scaled([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
            "Detects edges in every direction by comparing each pixel with its four direct neighbours; flat areas give 0.",
        ),
        PresetKernel(
            "Laplacian (8-neighbour)",
            _scaled([[1, 1, 1], [1, -8, 1], [1, 1, 1]]),
            "Detects edges in every direction, diagonals included, by comparing each pixel with all eight neighbours.",
        ),
        PresetKernel(
            "Emboss",
            _scaled([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
            "Makes the image look raised, lit from the top left, by stressing diagonal brightness changes.",
        ),
        PresetKernel(
            "Outline",
            _scaled([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
            "Keeps only the outlines of shapes: bright where a pixel differs from its surroundings, dark on flat areas.",
        ),
    )
}


def _split_text(text: str) -> list[list[str]]:
    """ "1 2; 3 4" or "1, 2\n3, 4" -> [["1", "2"], ["3", "4"]] (blank lines skipped)."""
    lines = [line for line in re.split(r"[\n;]", text) if line.strip()]
    return [[cell for cell in re.split(r"[,\s]+", line.strip()) if cell] for line in lines]


def _load_json(text: str, what: str) -> Any:
    return load_json(text, what, error=KernelError, hint="write it like [[1, 2], [3, 4]]")


def _to_rows(cells: Any, what: str) -> list[Any]:
    """Any accepted form of a matrix (text, JSON text, nested lists, numpy array, data frame) as a list of rows."""
    if hasattr(cells, "to_numpy") and not isinstance(cells, np.ndarray):  # a data frame from an editable grid
        cells = cells.to_numpy().tolist()
    if isinstance(cells, np.ndarray):
        cells = cells.tolist()
    if isinstance(cells, str):
        text = check_text(cells, what, error=KernelError).strip()
        cells = _load_json(text, what) if text.startswith("[") else _split_text(text)
    if not isinstance(cells, (list, tuple)):
        raise KernelError(f"The {what} must be rows of numbers, like [[1, 2], [3, 4]]; got a single value.")
    rows = []
    for i, row in enumerate(cells, start=1):
        if isinstance(row, str):
            row = _split_text(row)[0] if row.strip() else []
        elif isinstance(row, np.ndarray):
            row = row.tolist()
        elif not isinstance(row, (list, tuple)):
            raise KernelError(
                f"Row {i} of the {what} is a single value, not a row; write the {what} as rows like [[1, 2], [3, 4]]."
            )
        rows.append(list(row))
    return rows


def _cell_value(v: Any, r: int, c: int, what: str) -> float:
    """One cell as a finite float within ±MAX_ABS_VALUE, or KernelError naming row r, column c (1-based)."""
    where = f"Row {r}, column {c} of the {what}"
    if v is None or (isinstance(v, str) and not v.strip()):
        raise KernelError(f"{where} is empty; type a number.")
    if isinstance(v, (list, tuple, dict)):
        raise KernelError(f"{where} holds a list, not a number; give a 2-D matrix of numbers.")
    if isinstance(v, bool) or not isinstance(v, (numbers.Real, str)):
        raise KernelError(f"{where} ({v!r}) is not a number; type a number such as 1, -0.5 or 1/9.")
    if isinstance(v, str):
        text = check_text(v, f"{what} (row {r}, column {c})", max_chars=1000, error=KernelError).strip()
        try:
            if "/" in text:
                num, den = text.split("/", 1)
                value = float(num) / float(den)
            else:
                value = float(text)
        except ZeroDivisionError:
            raise KernelError(f"{where} ({v!r}) divides by zero; use a non-zero denominator.") from None
        except ValueError:
            raise KernelError(f"{where} ({v!r}) is not a number; type a number such as 1, -0.5 or 1/9.") from None
    else:
        try:
            value = float(v)
        except OverflowError:  # an int beyond float range
            raise KernelError(
                f"{where} is too large; use values between -{MAX_ABS_VALUE:.0f} and {MAX_ABS_VALUE:.0f}."
            ) from None
    if np.isnan(value):
        raise KernelError(f"{where} is NaN (empty or not a number); type a finite number.")
    if np.isinf(value):
        raise KernelError(f"{where} is infinite; use a finite number.")
    if abs(value) > MAX_ABS_VALUE:
        raise KernelError(
            f"{where} ({v}) is too large; use values between -{MAX_ABS_VALUE:.0f} and {MAX_ABS_VALUE:.0f}."
        )
    return value


def parse_matrix(cells: Any, *, max_size: int = 64, what: str = "input") -> np.ndarray:
    """A user-typed 2-D matrix as a (rows, cols) float64 array, or KernelError naming the row/cell at fault.

    ``cells``: list of rows (numbers or strings such as "1/9"), a numpy array, a data frame, a text block
    ("1 2\\n3 4", commas or spaces, ";" between rows) or JSON text. Rejects empty, ragged, non-numeric,
    NaN/inf and values beyond ±MAX_ABS_VALUE, and more than ``max_size`` rows or columns.
    """
    rows = _to_rows(cells, what)
    if not rows or all(len(row) == 0 for row in rows):
        raise KernelError(f"The {what} is empty; enter at least one number.")
    width = len(rows[0])
    for i, row in enumerate(rows, start=1):
        if len(row) != width:
            raise KernelError(
                f"Row {i} of the {what} has {len(row)} value(s) but row 1 has {width}; every row needs the same number of values."
            )
    if len(rows) > max_size or width > max_size:
        raise KernelError(f"The {what} is {len(rows)}×{width}; the largest allowed is {max_size}×{max_size}.")
    return np.array(
        [[_cell_value(v, r, c, what) for c, v in enumerate(row, start=1)] for r, row in enumerate(rows, start=1)],
        dtype=np.float64,
    )


def parse_kernel(cells: Any) -> np.ndarray:
    """A user-typed kernel as a (KH, KW) float64 array, 1×1 up to 7×7 (rectangular allowed); see parse_matrix."""
    return parse_matrix(cells, max_size=MAX_KERNEL, what="kernel")


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, (list, tuple)) and len(value) > 0:
        depth, value = depth + 1, value[0]
    return depth


def parse_channels(
    cells: Any, *, max_size: int = 64, what: str = "input", max_channels: int = MAX_CHANNELS
) -> np.ndarray:
    """A 2-D matrix or a 3-D channels-first list as a (C, rows, cols) float64 array (C = 1 for 2-D).

    Every channel is checked like :func:`parse_matrix`, and all channels must have the same size.
    """
    if isinstance(cells, np.ndarray):
        cells = cells.tolist()
    if isinstance(cells, str) and cells.strip().startswith("["):
        cells = _load_json(cells.strip(), what)
    if _depth(cells) < 3:
        return parse_matrix(cells, max_size=max_size, what=what)[None]
    if len(cells) > max_channels:
        raise KernelError(f"The {what} has {len(cells)} channels; the most allowed is {max_channels}.")
    channels = [
        parse_matrix(ch, max_size=max_size, what=f"{what} (channel {i})") for i, ch in enumerate(cells, start=1)
    ]
    for i, ch in enumerate(channels[1:], start=2):
        if ch.shape != channels[0].shape:
            raise KernelError(
                f"Channel {i} of the {what} is {ch.shape[0]}×{ch.shape[1]} but channel 1 is "
                f"{channels[0].shape[0]}×{channels[0].shape[1]}; every channel needs the same size."
            )
    return np.stack(channels)
