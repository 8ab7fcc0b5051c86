"""Digit-like strokes for the load client and the benchmarks: 280×280 canvas PNGs (white on black)
and the matching fabric.js path objects, one more segment per stroke."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Iterable

from PIL import Image, ImageDraw

CANVAS_PX = 280
STROKE_WIDTH = 20

# ----------------------------------------------------------------------------------------------
# Strokes
# ----------------------------------------------------------------------------------------------
# Digit-like polylines on a 280×280 canvas, drawn one segment per stroke.
DIGITS: dict[str, list[tuple[float, float]]] = {
    "0": [(140, 50), (95, 80), (85, 140), (95, 200), (140, 230), (185, 200), (195, 140), (185, 80), (140, 50)],
    "1": [(115, 80), (145, 50), (145, 140), (145, 230)],
    "2": [(90, 90), (130, 55), (180, 75), (180, 120), (95, 225), (195, 225)],
    "3": [(90, 70), (180, 65), (130, 130), (185, 175), (150, 225), (90, 215)],
    "4": [(170, 230), (170, 50), (80, 170), (205, 170)],
    "5": [(190, 55), (100, 55), (95, 125), (170, 130), (180, 195), (130, 230), (85, 210)],
    "6": [(180, 60), (120, 90), (90, 170), (120, 225), (175, 200), (170, 145), (95, 160)],
    "7": [(80, 60), (195, 60), (150, 140), (125, 230)],
    "8": [(140, 135), (95, 95), (140, 50), (185, 95), (140, 135), (90, 185), (140, 230), (190, 185), (140, 135)],
    "9": [(185, 100), (140, 55), (95, 95), (130, 135), (185, 100), (175, 230)],
}


def stroke_png(
    segments: Iterable[list[tuple[float, float]]], size: int = CANVAS_PX, width: int = STROKE_WIDTH
) -> bytes:
    """A size×size RGBA PNG like the canvas sends: opaque black, white round-capped strokes."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    draw = ImageDraw.Draw(img)
    r = width / 2
    for seg in segments:
        pts = [(float(x), float(y)) for x, y in seg]
        if len(pts) > 1:
            draw.line(pts, fill=(255, 255, 255, 255), width=width, joint="curve")
        for x, y in pts:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def fabric_path(points: list[tuple[float, float]], width: int = STROKE_WIDTH) -> dict:
    """One freehand stroke as the canvas's Fabric.js JSON describes it (the fields it sends)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    path = [["M", *points[0]]] + [["L", *p] for p in points[1:]]
    return {
        "type": "Path",
        "version": "7.4.0",
        "originX": "center",
        "originY": "center",
        "left": (min(xs) + max(xs)) / 2,
        "top": (min(ys) + max(ys)) / 2,
        "width": max(xs) - min(xs),
        "height": max(ys) - min(ys),
        "fill": None,
        "stroke": "#ffffff",
        "strokeWidth": width,
        "strokeLineCap": "round",
        "strokeLineJoin": "round",
        "scaleX": 1,
        "scaleY": 1,
        "angle": 0,
        "opacity": 1,
        "visible": True,
        "path": path,
    }


class Scribbler:
    """Digit-like drawings one stroke at a time: each ``next()`` adds one segment of the current
    digit (so every rerun sends a different image); a finished digit is cleared and the next
    begins. ``seed`` picks the digit order and a small per-user jitter; ``size`` is the canvas's side
    (280 on the Draw page, 236 in the Convolution and Pooling sidebars), the digits scaled to it."""

    def __init__(self, seed: int = 0, width: int = STROKE_WIDTH, size: int = CANVAS_PX):
        self.rng = random.Random(seed)
        self.size = size
        self.width = max(1, round(width * size / CANVAS_PX))
        self.order = list(DIGITS)
        self.rng.shuffle(self.order)
        self.digit_index = -1
        self.segments: list[list[tuple[float, float]]] = []
        self._points: list[tuple[float, float]] = []
        self._start_digit()

    def _start_digit(self) -> None:
        self.digit_index = (self.digit_index + 1) % len(self.order)
        dx, dy, scale = self.rng.uniform(-15, 15), self.rng.uniform(-15, 15), self.rng.uniform(0.85, 1.05)
        f = self.size / CANVAS_PX
        self._points = [
            (f * (140 + (x - 140) * scale + dx), f * (140 + (y - 140) * scale + dy))
            for x, y in DIGITS[self.order[self.digit_index]]
        ]
        self.segments = []

    @property
    def digit(self) -> str:
        return self.order[self.digit_index]

    def next(self) -> tuple[bytes, list[dict]]:
        """(PNG bytes of the whole canvas, Fabric objects) after one more stroke."""
        if len(self.segments) >= len(self._points) - 1:
            self._start_digit()
        i = len(self.segments)
        a, b = self._points[i], self._points[i + 1]
        steps = max(2, int(math.dist(a, b) // 12))  # a hand stroke is many short moves
        seg = [
            (round(a[0] + (b[0] - a[0]) * t / steps, 2), round(a[1] + (b[1] - a[1]) * t / steps, 2))
            for t in range(steps + 1)
        ]
        self.segments.append(seg)
        png = stroke_png(self.segments, size=self.size, width=self.width)
        return png, [fabric_path(s, self.width) for s in self.segments]
