"""An animated GIF of a stepping run, for a slide: the window moving, the output filling in and each
cell's arithmetic under it, one frame per output cell plus a final frame.

It paints the data of ``figures.player`` (``conv_player_data`` / ``pool_player_data``) with Pillow, so
every label, colour and line is the engine's, as on the page. Pure: arrays and text in, bytes out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from playground.errors import PlaygroundError

WIDTH = 1280  # px: readable on a slide
MAX_FRAMES = 400  # cells per GIF from the command line (a 28×28 hand-over has 784: choose a range)
WEB_MAX_FRAMES = 120  # on the shared server: ~3.5 s of its CPU (400 frames of 28×28 took 12 s)
MAX_CELL, GAP, TITLE, MARGIN = 56, 64, 34, 24
TEXT_PX, NUMBER_PX = 24, 18
MIN_MS = 20  # GIF delays are stored in 1/100 s and viewers slow down shorter ones
# a Unicode font where the system has one (Debian and Ubuntu ship DejaVu): ×, −, ∗ and → need it
FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
ASCII = str.maketrans({"×": "x", "−": "-", "∗": "*", "→": "->", "∞": "inf", "⌊": "floor(", "⌋": ")"})


class GifError(PlaygroundError):
    """A GIF that cannot be made as asked (``field``: "cells" or "fps"); the message says why."""


@dataclass(frozen=True)
class Panel:
    x: float
    y: float
    rows: int
    cols: int
    cell: float

    def centre(self, r: int, c: int) -> tuple[int, int]:
        return int(self.x + (c + 0.5) * self.cell), int(self.y + (r + 0.5) * self.cell)


@dataclass(frozen=True)
class Layout:
    """Where each panel of a frame sits (pixels), and the top of the arithmetic text."""

    input: Panel
    kernel: Panel | None
    output: Panel
    signs: tuple[tuple[str, float, float], ...]
    text_top: int
    width: int


def layout(data: dict, width: int = WIDTH) -> Layout:
    """Input, kernel (convolution only) and output side by side at one cell size, signs between them."""
    grids = [
        data["input"]["labels"],
        *([data["kernel"]["labels"]] if "kernel" in data else []),
        data["output"]["labels"],
    ]
    rows = [len(g) for g in grids]
    cols = [len(g[0]) for g in grids]
    gaps = GAP * (len(grids) - 1)
    cell = max(1, int(min(MAX_CELL, (width - 2 * MARGIN - gaps) / sum(cols))))  # whole pixels: even gaps between cells
    tall = max(rows) * cell
    top = MARGIN + TITLE
    x, panels, signs = float(MARGIN), [], []
    for i, (r, c) in enumerate(zip(rows, cols)):
        panels.append(Panel(x, top + (tall - r * cell) / 2, r, c, cell))
        x += c * cell
        if i < len(grids) - 1:
            sign = "∗" if i == 0 and "kernel" in data else ("→" if "kernel" not in data else "=")
            signs.append((sign, x + GAP / 2, top + tall / 2))
            x += GAP
    kernel = panels[1] if "kernel" in data else None
    return Layout(panels[0], kernel, panels[-1], tuple(signs), int(top + tall + MARGIN), width)


@lru_cache(maxsize=16)
def _font(size: int, unicode: bool) -> tuple[ImageFont.FreeTypeFont, bool]:
    """(font, whether it draws ×, − and ∗); Pillow's own font otherwise, with ASCII stand-ins."""
    if unicode:
        for path in FONT_FILES:
            if Path(path).is_file():
                return ImageFont.truetype(path, size), True
    return ImageFont.load_default(size=size), False


def _text(s: str, full: bool) -> str:
    return s if full else s.translate(ASCII)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: float) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}".strip()
        if line and draw.textlength(trial, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line]


def _box(draw, panel: Panel, rows: list[int], cols: list[int], style: dict) -> None:
    width = max(2, min(4, int(panel.cell / 6)))
    contiguous = rows == list(range(rows[0], rows[-1] + 1)) and cols == list(range(cols[0], cols[-1] + 1))
    cells = [(rows[0], rows[-1], cols[0], cols[-1])] if contiguous else [(r, r, c, c) for r in rows for c in cols]
    for r0, r1, c0, c1 in cells:
        rect = [
            panel.x + c0 * panel.cell,
            panel.y + r0 * panel.cell,
            panel.x + (c1 + 1) * panel.cell,
            panel.y + (r1 + 1) * panel.cell,
        ]
        draw.rectangle(rect, outline=style["under"], width=width + 2)
        draw.rectangle(rect, outline=style["window"], width=width)


class _Painter:
    """Draws the frames of one run: the still parts once, then each step's changes on a copy."""

    def __init__(self, data: dict, width: int, unicode: bool):
        self.data, self.width = data, width
        self.lay = layout(data, width)
        self.small, self.full = _font(NUMBER_PX, unicode)
        self.big, _ = _font(TEXT_PX, unicode)
        self.n = len(data["steps"])
        scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        texts = [self._caption(k) for k in range(self.n)] + [self._caption(None, self.n - 1)]
        lines = max(len(_wrap(scratch, t, self.big, width - 2 * MARGIN)) for t in texts)
        self.height = self.lay.text_top + lines * int(TEXT_PX * 1.4) + MARGIN  # one size for every frame
        self.base = self._still()
        self.output_numbers = self._fits(self.data["output"]["labels"], self.lay.output)

    def _caption(self, index: int | None, revealed: int = 0) -> str:
        if index is None:
            return _text(f"{revealed + 1} of {self.n} output cells computed.", self.full)
        return _text(f"Step {index + 1} of {self.n}: {self.data['steps'][index]['text']}", self.full)

    def _fits(self, labels: list[list[str]], panel: Panel) -> bool:
        scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        widest = max(
            (scratch.textlength(_text(t, self.full), font=self.small) for row in labels for t in row), default=0
        )
        return widest <= panel.cell - 6 and self.small.size <= panel.cell - 4  # numbers only where they fit

    def _cell(self, draw, panel: Panel, grid: dict, r: int, c: int, visible: bool, numbers: bool) -> None:
        x0, y0 = panel.x + c * panel.cell, panel.y + r * panel.cell
        fill = grid["fills"][r][c] if visible else self.data["style"]["empty"]
        draw.rectangle([x0 + 0.5, y0 + 0.5, x0 + panel.cell - 1, y0 + panel.cell - 1], fill=fill)
        if visible and numbers:
            label = _text(grid["labels"][r][c], self.full)
            draw.text(panel.centre(r, c), label, fill=grid["inks"][r][c], font=self.small, anchor="mm")

    def _still(self) -> Image.Image:
        data, lay, style = self.data, self.lay, self.data["style"]
        img = Image.new("RGB", (self.width, self.height), "#ffffff")
        draw = ImageDraw.Draw(img)
        panels = [(lay.input, data["input"], True), (lay.output, data["output"], False)]
        if lay.kernel is not None:
            panels.insert(1, (lay.kernel, data["kernel"], True))
        for panel, grid, visible in panels:
            numbers = self._fits(grid["labels"], panel)
            for r in range(panel.rows):
                for c in range(panel.cols):
                    self._cell(draw, panel, grid, r, c, visible, numbers)
            title = _text(grid["title"], self.full)
            draw.text(
                (panel.x + panel.cols * panel.cell / 2, panel.y - 8),
                title,
                fill=style["ink"],
                font=self.big,
                anchor="ms",
            )
        top, bottom, left, right = data["input"]["padding"]
        if any((top, bottom, left, right)):
            p = lay.input
            draw.rectangle(
                [
                    p.x + left * p.cell,
                    p.y + top * p.cell,
                    p.x + (p.cols - right) * p.cell,
                    p.y + (p.rows - bottom) * p.cell,
                ],
                outline=style["padding"],
                width=2,
            )
        signs, _ = _font(40, self.full)
        for sign, x, y in lay.signs:
            draw.text((x, y), _text(sign, self.full), fill=style["ink"], font=signs, anchor="mm")
        return img

    def reveal(self, img: Image.Image, k: int) -> None:
        """Fill in step ``k``'s output cell on ``img`` (the running picture)."""
        r, c = self.data["steps"][k]["pos"]
        self._cell(ImageDraw.Draw(img), self.lay.output, self.data["output"], r, c, True, self.output_numbers)

    def frame(self, running: Image.Image, index: int | None, revealed: int) -> Image.Image:
        img = running.copy()
        draw = ImageDraw.Draw(img)
        if index is not None:
            step = self.data["steps"][index]
            _box(draw, self.lay.input, step["rows"], step["cols"], self.data["style"])
            _box(draw, self.lay.output, [step["pos"][0]], [step["pos"][1]], self.data["style"])
        lines = _wrap(draw, self._caption(index, revealed), self.big, self.width - 2 * MARGIN)
        for i, line in enumerate(lines):
            draw.text(
                (MARGIN, self.lay.text_top + i * int(TEXT_PX * 1.4)),
                line,
                fill=self.data["style"]["ink"],
                font=self.big,
            )
        return img


def frames(
    data: dict,
    first: int = 0,
    last: int | None = None,
    *,
    width: int = WIDTH,
    unicode: bool = True,
    max_frames: int = MAX_FRAMES,
) -> list[Image.Image]:
    """One frame per step ``first``..``last`` (0-based, inclusive): cells of steps 0..k filled in, the
    window and arithmetic of step k; then a final frame without the window."""
    n = len(data["steps"])
    last = n - 1 if last is None else last
    if not 0 <= first <= last < n:
        raise GifError(
            f"Choose cells between 1 and {n}, the first no later than the last (got {first + 1} to {last + 1}).",
            "cells",
        )
    if last - first + 1 > max_frames:
        raise GifError(
            f"A GIF holds at most {max_frames} cells; cells {first + 1} to {last + 1} are {last - first + 1}. "
            "Choose a shorter range.",
            "cells",
        )
    painter = _Painter(data, width, unicode)
    running = painter.base.copy()
    for k in range(first):  # the cells before the range are already computed
        painter.reveal(running, k)
    shots = []
    for k in range(first, last + 1):
        painter.reveal(running, k)
        shots.append(painter.frame(running, k, k))
    shots.append(painter.frame(running, None, last))
    return shots


def gif_bytes(shots: list[Image.Image], fps: float) -> bytes:
    """The frames as a looping GIF at ``fps`` frames a second; the final frame stays 2 s."""
    if not 0.2 <= fps <= 50:
        raise GifError(f"Choose a frame rate between 0.2 and 50 frames a second (got {fps:g}).", "fps")
    ms = max(MIN_MS, int(round(1000 / fps / 10)) * 10)
    durations = [ms] * (len(shots) - 1) + [max(ms, 2000)]
    # one palette for all frames (from the final one, which holds every colour but the window's), so
    # consecutive frames differ only where the window, the new cell and the text moved: small deltas
    palette = _with_window(shots[-1], shots[0]).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    indexed = [s.quantize(palette=palette, dither=Image.Dither.NONE) for s in shots]
    out = io.BytesIO()
    indexed[0].save(out, format="GIF", save_all=True, append_images=indexed[1:], duration=durations, loop=0)
    return out.getvalue()


def _with_window(final: Image.Image, first: Image.Image) -> Image.Image:
    """The final frame with the first frame beside it: the palette then has the window's colours too."""
    both = Image.new("RGB", (final.width * 2, final.height), "#ffffff")
    both.paste(final, (0, 0))
    both.paste(first, (final.width, 0))
    return both
