"""Synthetic digits: a data set the project renders itself, so training works on a fresh offline machine.

Each image is a digit 0–9 either typed in a font found on the machine (Pillow's built-in scalable
font when there are none) or drawn with a pen along hand-written centre lines (the shapes fonts
miss: an open 4, a straight-stemmed 9, a crossed 7), with a random pen or outline width, then
randomly slanted, rotated, stretched and elastically bent, and finally framed exactly as MNIST and
the drawing page are (20 px box, centre of mass at (14, 14), a random sub-pixel shift). It is *not*
MNIST and is always labelled as synthetic. numpy + Pillow only.
Image i depends only on (seed, i) and the fonts installed, so any slice can be generated alone.
"""

from __future__ import annotations

import glob
import math
import os
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from playground.imaging.preprocess import CROP_THRESHOLD, FRAME, ink_bbox, place_by_mass

FONT_GLOBS = (
    "/usr/share/fonts/**/*.[ot]tf",
    "/usr/local/share/fonts/**/*.[ot]tf",
    "~/.fonts/**/*.[ot]tf",
    "~/.local/share/fonts/**/*.[ot]tf",
    "/Library/Fonts/*.[ot]tf",
    "/System/Library/Fonts/**/*.[ot]tf",
    "C:/Windows/Fonts/*.ttf",
)
MAX_FONTS = 48  # fonts checked and used at most (evenly spread over the sorted list)
RENDER = 48  # side of the intermediate rendering, px
GLYPH_HEIGHT = 30  # digit height in the intermediate rendering before distortion, px
FONT_SIZES = (40, 48, 56)  # the text size changes hinting and the relative stroke width
STROKES = (0, 0, 0, 1, 1, 2)  # extra outline width in px (thicker pen)
GRID = 4  # elastic distortion: GRID×GRID cells with randomly moved corners
PEN_SHARE = 0.5  # share of pen-drawn digits; the others are typed in a font

Stroke = tuple[tuple[float, float], ...]


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float = -1.6, n: int = 13) -> Stroke:
    """A closed loop as a stroke (first point repeated), starting at angle ``start``."""
    t = start + np.linspace(0, 2 * np.pi, n)
    return tuple(zip((cx + rx * np.cos(t)).tolist(), (cy + ry * np.sin(t)).tolist()))


# Centre lines of handwritten digits in a unit box (x right, y down): variants, each a tuple of strokes.
PEN_DIGITS: dict[int, tuple[tuple[Stroke, ...], ...]] = {
    0: ((_ellipse(0.35, 0.5, 0.3, 0.5),), (_ellipse(0.35, 0.5, 0.22, 0.5, start=-2.2),)),
    1: (
        (((0.4, 0.0), (0.38, 1.0)),),
        (((0.15, 0.22), (0.42, 0.0), (0.4, 1.0)),),
        (((0.15, 0.2), (0.4, 0.0), (0.4, 1.0)), ((0.15, 1.0), (0.65, 1.0))),
    ),
    2: (
        (((0.05, 0.25), (0.2, 0.05), (0.45, 0.0), (0.62, 0.15), (0.6, 0.35), (0.35, 0.65), (0.0, 1.0), (0.7, 0.98)),),
        (((0.08, 0.2), (0.35, 0.0), (0.6, 0.15), (0.5, 0.45), (0.05, 0.95), (0.25, 0.85), (0.45, 0.95), (0.7, 1.0)),),
    ),
    3: (
        (
            (
                (0.05, 0.1),
                (0.3, 0.0),
                (0.55, 0.08),
                (0.58, 0.25),
                (0.3, 0.45),
                (0.6, 0.6),
                (0.62, 0.82),
                (0.4, 1.0),
                (0.05, 0.92),
            ),
        ),
        (((0.05, 0.0), (0.6, 0.0), (0.25, 0.42), (0.55, 0.55), (0.62, 0.8), (0.35, 1.0), (0.05, 0.9)),),
    ),
    4: (
        (((0.35, 0.0), (0.0, 0.65), (0.7, 0.65)), ((0.55, 0.3), (0.55, 1.0))),
        (((0.5, 0.0), (0.0, 0.68), (0.7, 0.68)), ((0.5, 0.0), (0.5, 1.0))),
        (((0.1, 0.0), (0.05, 0.5), (0.65, 0.5)), ((0.55, 0.0), (0.6, 1.0))),
    ),
    5: (
        (((0.65, 0.0), (0.15, 0.0), (0.1, 0.42), (0.4, 0.38), (0.62, 0.55), (0.6, 0.85), (0.35, 1.0), (0.05, 0.9)),),
        (
            ((0.15, 0.0), (0.1, 0.42), (0.4, 0.38), (0.62, 0.55), (0.6, 0.85), (0.35, 1.0), (0.05, 0.9)),
            ((0.15, 0.0), (0.65, 0.02)),
        ),
    ),
    6: (
        (
            (
                (0.55, 0.0),
                (0.25, 0.25),
                (0.05, 0.6),
                (0.1, 0.9),
                (0.35, 1.0),
                (0.6, 0.85),
                (0.55, 0.6),
                (0.3, 0.55),
                (0.08, 0.7),
            ),
        ),
        (((0.45, 0.0), (0.15, 0.4), (0.1, 0.8), (0.3, 1.0), (0.55, 0.85), (0.45, 0.6), (0.12, 0.7)),),
    ),
    7: (
        (((0.0, 0.0), (0.7, 0.0), (0.25, 1.0)),),
        (((0.0, 0.05), (0.7, 0.0), (0.3, 1.0)), ((0.2, 0.5), (0.6, 0.5))),
        (((0.0, 0.15), (0.05, 0.0), (0.7, 0.0), (0.45, 0.5), (0.35, 1.0)),),
    ),
    8: (
        (
            (
                (0.55, 0.1),
                (0.35, 0.0),
                (0.1, 0.1),
                (0.15, 0.35),
                (0.5, 0.6),
                (0.6, 0.85),
                (0.35, 1.0),
                (0.05, 0.85),
                (0.15, 0.6),
                (0.5, 0.35),
                (0.55, 0.1),
            ),
        ),
        (_ellipse(0.35, 0.25, 0.22, 0.24), _ellipse(0.35, 0.74, 0.28, 0.26)),
    ),
    9: (
        (_ellipse(0.35, 0.25, 0.27, 0.25, start=0.0), ((0.62, 0.25), (0.58, 1.0))),
        (_ellipse(0.35, 0.25, 0.27, 0.25, start=0.0), ((0.62, 0.25), (0.55, 0.75), (0.35, 1.0))),
        (((0.6, 0.1), (0.35, 0.0), (0.1, 0.15), (0.15, 0.42), (0.45, 0.42), (0.62, 0.2), (0.62, 0.6), (0.6, 1.0)),),
    ),
}


def _smooth(points: np.ndarray, steps: int = 6) -> np.ndarray:
    """Catmull-Rom curve through (n, 2) points -> (m, 2) points (a pen does not draw corners sharp)."""
    if len(points) < 3:
        return points
    p = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, steps, endpoint=False)[:, None, None]
    p0, p1, p2, p3 = p[:-3], p[1:-2], p[2:-1], p[3:]
    curve = 0.5 * (
        2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3
    )  # (steps, n-1, 2)
    return np.vstack([curve.transpose(1, 0, 2).reshape(-1, 2), points[-1:]])


def _pen_glyph(digit: int, rng: np.random.Generator, height: int = 48) -> Image.Image:
    """A digit drawn with a round pen along a jittered hand-written centre line, white on black."""
    variants = PEN_DIGITS[digit]
    strokes = variants[int(rng.integers(len(variants)))]
    pen = float(rng.uniform(5.0, 10.0))
    pad = int(pen) + 4
    img = Image.new("L", (int(0.75 * height) + 2 * pad, height + 2 * pad), 0)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        pts = np.asarray(stroke) + rng.normal(0.0, 0.03, (len(stroke), 2))
        xy = [tuple(q) for q in (_smooth(pts) * height + pad).tolist()]
        draw.line(xy, fill=255, width=round(pen))  # smooth enough that joints need no rounding
        for x, y in (xy[0], xy[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return img


def _render_glyph(font: ImageFont.ImageFont | ImageFont.FreeTypeFont, digit: int, stroke: int = 0) -> Image.Image:
    """A digit drawn white on black on an 'L' image just large enough for it (no anchor needed,
    so Pillow's bitmap fallback font works too)."""
    text = str(digit)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font, stroke_width=stroke)
    pad = 4
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    return img


def _signature(img: Image.Image) -> np.ndarray:
    """A glyph framed to 28×28 and unit-normalised, for comparing digit shapes between fonts."""
    ink = np.asarray(img, dtype=np.float32) / 255.0
    top, bottom, left, right = ink_bbox(ink) or (0, ink.shape[0], 0, ink.shape[1])
    a = place_by_mass(ink[top:bottom, left:right]).ravel()
    a = a - a.mean()
    return a / (np.linalg.norm(a) + 1e-9)


@lru_cache(maxsize=1)
def _reference() -> np.ndarray:
    """(10, 784) signatures of Pillow's built-in font: what ordinary digits look like."""
    font = ImageFont.load_default(size=48)
    return np.stack([_signature(_render_glyph(font, d)) for d in range(10)])


def _looks_like_digits(font: ImageFont.FreeTypeFont) -> bool:
    """True when each of the font's 10 digit glyphs is nearest to the same digit of the reference
    font (rejects symbol, dingbat and emoji fonts and fonts without digits)."""
    try:
        sig = np.stack([_signature(_render_glyph(font, d)) for d in range(10)])
    except (OSError, ValueError):
        return False
    if not np.isfinite(sig).all() or (np.abs(sig).sum(axis=1) == 0).any():
        return False
    return bool((np.argmax(sig @ _reference().T, axis=1) == np.arange(10)).all())


@lru_cache(maxsize=1)
def find_fonts() -> tuple[str, ...]:
    """Sorted paths of TrueType/OpenType fonts on this machine whose digits look like digits.
    Empty on a machine with no fonts (the built-in font is used then)."""
    found: set[str] = set()
    for pattern in FONT_GLOBS:
        found.update(glob.glob(os.path.expanduser(pattern), recursive=True))
    paths = sorted(found)
    if len(paths) > MAX_FONTS:
        paths = [paths[int(i)] for i in np.linspace(0, len(paths) - 1, MAX_FONTS)]
    usable = []
    for path in paths:
        try:
            font = ImageFont.truetype(path, 48)
        except (OSError, ValueError):
            continue
        if _looks_like_digits(font):
            usable.append(path)
    return tuple(usable)


@lru_cache(maxsize=256)
def _font(path: str | None, size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size) if path is None else ImageFont.truetype(path, size)


@lru_cache(maxsize=8192)
def _glyph(path: str | None, size: int, digit: int, stroke: int) -> np.ndarray:
    """Cached typed digit, (h, w) float32 in [0, 1], read-only (the random bending comes afterwards)."""
    a = np.asarray(_render_glyph(_font(path, size), digit, stroke), dtype=np.float32) * np.float32(1 / 255)
    a.flags.writeable = False
    return a


def balanced_labels(n: int, seed: int, start: int) -> np.ndarray:
    """Labels for images start..start+n-1: each aligned block of 10 holds every digit once, shuffled."""
    first, last = start // 10, (start + n - 1) // 10
    blocks = [np.random.default_rng([seed, 1, b]).permutation(10) for b in range(first, last + 1)]
    return np.concatenate(blocks)[start - first * 10 : start - first * 10 + n].astype(np.int64)


def _interp_weights(n_out: int, n_knots: int) -> np.ndarray:
    """(n_out, n_knots) linear-interpolation weights from evenly spaced knots to pixel centres."""
    pos = (np.arange(n_out) + 0.5) / n_out * (n_knots - 1)
    lo = np.minimum(pos.astype(int), n_knots - 2)
    w = np.zeros((n_out, n_knots))
    w[np.arange(n_out), lo] = 1 - (pos - lo)
    w[np.arange(n_out), lo + 1] = pos - lo
    return w


_KNOTS = _interp_weights(RENDER, GRID + 1)
_CENTRES = np.arange(RENDER) + 0.5 - RENDER / 2  # output pixel centres about the middle


def warp(glyph: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random slant, rotation, stretch and elastic bend of a (h, w) glyph -> (RENDER, RENDER) float32.

    Each output pixel samples the glyph (bilinear, zero outside) at an affine map of its position
    plus a smooth random displacement (random offsets on a (GRID+1)² grid, interpolated linearly).
    """
    gh, gw = glyph.shape
    k = GLYPH_HEIGHT / max(gh - 8, 1) * rng.uniform(0.85, 1.1)  # glyph px -> output px
    angle = math.radians(rng.uniform(-15, 15))
    shear = rng.uniform(-0.3, 0.3)
    sx, sy = rng.uniform(0.75, 1.2), rng.uniform(0.9, 1.1)
    # forward map (glyph -> output, about the centres) k·R(angle)·Shear·diag(sx, sy), and its inverse
    ca, sa = math.cos(angle), math.sin(angle)
    a, b = k * ca * sx, k * (ca * shear - sa) * sy
    c, d = k * sa * sx, k * (sa * shear + ca) * sy
    det = a * d - b * c
    inv = np.array([[d, -b], [-c, a]], np.float32) / np.float32(det)
    bend = rng.normal(0.0, rng.uniform(0.0, 2.0), size=(2, GRID + 1, GRID + 1))  # output px
    px = (_CENTRES[None, :] + _KNOTS @ bend[0] @ _KNOTS.T).astype(np.float32)
    py = (_CENTRES[:, None] + _KNOTS @ bend[1] @ _KNOTS.T).astype(np.float32)
    # Source position in pixel-index coordinates of the glyph padded by one zero pixel all round;
    # clipping into the padding makes everything outside the glyph read as 0.
    sx_ = np.clip(inv[0, 0] * px + inv[0, 1] * py + np.float32(gw / 2 + 0.5), 0, gw + 0.999)
    sy_ = np.clip(inv[1, 0] * px + inv[1, 1] * py + np.float32(gh / 2 + 0.5), 0, gh + 0.999)
    x0, y0 = sx_.astype(np.intp), sy_.astype(np.intp)  # floor (non-negative)
    fx, fy = sx_ - x0, sy_ - y0
    padded = np.zeros((gh + 2, gw + 2), np.float32)
    padded[1:-1, 1:-1] = glyph
    flat, idx = padded.ravel(), y0 * (gw + 2) + x0
    top = flat.take(idx) * (1 - fx) + flat.take(idx + 1) * fx
    bottom = flat.take(idx + gw + 2) * (1 - fx) + flat.take(idx + gw + 3) * fx
    return top * (1 - fy) + bottom * fy


def render_digit(digit: int, rng: np.random.Generator, fonts: tuple[str | None, ...]) -> np.ndarray:
    """One randomly styled digit -> (28, 28) float32 in [0, 1], framed like MNIST."""
    if rng.random() < PEN_SHARE:
        plain = np.asarray(_pen_glyph(digit, rng), dtype=np.float32) * np.float32(1 / 255)
    else:
        path = fonts[int(rng.integers(len(fonts)))]
        plain = _glyph(path, int(rng.choice(FONT_SIZES)), digit, int(rng.choice(STROKES)))
    ink = warp(plain, rng)
    bbox = ink_bbox(ink, CROP_THRESHOLD)
    offset = (float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.5, 0.5)))  # MNIST's ±0.5 px spread
    if bbox is None:  # bent out of view: use plain
        ink, bbox = plain, ink_bbox(plain, CROP_THRESHOLD)
    top, bottom, left, right = bbox
    return place_by_mass(ink[top:bottom, left:right], offset=offset)


def synthetic_digits(n: int, seed: int = 0, *, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Render images start..start+n-1 of the synthetic sequence for ``seed``.

    Returns images (n, 28, 28) uint8 (white digit on black) and labels (n,) int64. Deterministic
    per (seed, index) on a given machine (the fonts found are part of the recipe).
    """
    if n < 0 or start < 0:
        raise ValueError("n and start must be >= 0.")
    fonts: tuple[str | None, ...] = find_fonts() or (None,)
    labels = balanced_labels(n, seed, start) if n else np.zeros(0, np.int64)
    images = np.zeros((n, FRAME, FRAME), np.uint8)
    for k in range(n):
        rng = np.random.default_rng([seed, 0, start + k])
        img = render_digit(int(labels[k]), rng, fonts)
        images[k] = np.rint(img * 255.0).astype(np.uint8)
    return images, labels
