"""The drawing canvas's strokes (its Fabric.js JSON) drawn again as the canvas would draw them: what the
page predicts from after Undo, when the canvas shows the remaining strokes but sends no new picture."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

CURVE_POINTS = 8  # points per quadratic or cubic segment


def _points(path: list[Any]) -> list[tuple[float, float]]:
    """The polyline through a path's commands (M, L, Q, C; others ignored), curves sampled."""
    pts: list[tuple[float, float]] = []
    for cmd in path:
        if not isinstance(cmd, (list, tuple)) or not cmd or not isinstance(cmd[0], str):
            continue
        op, args = cmd[0].upper(), [float(v) for v in cmd[1:] if isinstance(v, (int, float))]
        if op in ("M", "L") and len(args) >= 2:
            pts.append((args[0], args[1]))
        elif op == "Q" and len(args) >= 4 and pts:
            (x0, y0), (cx, cy), (x1, y1) = pts[-1], args[:2], args[2:4]
            for i in range(1, CURVE_POINTS + 1):
                t = i / CURVE_POINTS
                pts.append(
                    (
                        (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t * t * x1,
                        (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t * t * y1,
                    )
                )
        elif op == "C" and len(args) >= 6 and pts:
            (x0, y0), (ax, ay), (bx, by), (x1, y1) = pts[-1], args[:2], args[2:4], args[4:6]
            for i in range(1, CURVE_POINTS + 1):
                t = i / CURVE_POINTS
                u = 1 - t
                pts.append(
                    (
                        u**3 * x0 + 3 * u * u * t * ax + 3 * u * t * t * bx + t**3 * x1,
                        u**3 * y0 + 3 * u * u * t * ay + 3 * u * t * t * by + t**3 * y1,
                    )
                )
    return [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)]


def _placed(obj: dict, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points in canvas pixels: Fabric draws a path about its centre, so a stroke that was moved, scaled or
    turned (the canvas's edit mode) is moved, scaled and turned the same way; a fresh stroke is unchanged."""
    sx, sy = float(obj.get("scaleX", 1) or 1), float(obj.get("scaleY", 1) or 1)
    angle = math.radians(float(obj.get("angle", 0) or 0))
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    ox, oy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2  # the path's own centre (its pathOffset)
    centred = obj.get("originX") == "center" and obj.get("originY") == "center"
    cx, cy = (float(obj.get("left", ox)), float(obj.get("top", oy))) if centred else (ox, oy)
    cos, sin = math.cos(angle), math.sin(angle)
    return [
        (cx + (x - ox) * sx * cos - (y - oy) * sy * sin, cy + (x - ox) * sx * sin + (y - oy) * sy * cos) for x, y in pts
    ]


def render_strokes(objects: list[Any], size: tuple[int, int] = (280, 280)) -> np.ndarray:
    """(H, W, 4) uint8: the canvas's freehand strokes, white with round caps and joins on opaque black,
    as the canvas sends its picture. Objects that are not paths are skipped."""
    img = Image.new("RGBA", size, (0, 0, 0, 255))
    draw = ImageDraw.Draw(img)
    for obj in objects:
        if not isinstance(obj, dict) or str(obj.get("type", "")).lower() != "path":
            continue
        pts = _points(obj.get("path") or [])
        if not pts:
            continue
        pts = _placed(obj, pts)
        width = float(obj.get("strokeWidth", 20) or 20) * float(obj.get("scaleX", 1) or 1)
        r = width / 2
        if len(pts) > 1:
            draw.line(pts, fill=(255, 255, 255, 255), width=max(1, round(width)), joint="curve")
        for x, y in (pts[0], pts[-1]) if len(pts) > 1 else pts:  # round caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 255))
    return np.asarray(img)
