"""Colour shapes: a 32×32 colour data set the project renders itself, so colour training works offline.

Ten classes, five shapes and five textures: disc, ring, square, triangle, plus, stripes, checks, dots,
zigzag, grid. Each image is one shape or patch of texture, of random size, position and turn, in a random
colour on a background of another random colour with a soft gradient and noise. Colour carries no
information about the class: every class is drawn from the same colour distribution, so a network must
learn shapes and edges.

The **shortcut** variant draws the very same shapes in the same places, except that each class always has its
own ink hue (class k: hue k/10, jittered a little, at least 0.7 saturated and bright). A network trained on it reaches near-perfect validation accuracy by
reading the colour alone, and falls to near chance on the ordinary set: the lecture's lesson that a network
learns whatever separates the training data, not what we meant it to learn.

Not CIFAR-10 and always labelled as synthetic. numpy + Pillow only. Image i depends only on (seed, i), so
any slice can be generated alone; the shortcut variant of image i has the same shape in the same place.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw

from playground.data.synthetic import balanced_labels

CLASSES = ("disc", "ring", "square", "triangle", "plus", "stripes", "checks", "dots", "zigzag", "grid")
SIDE = 32  # pixels of the image
SCALE = 4  # drawn at 4× and averaged down: antialiased edges
MIN_CONTRAST = 0.3  # least difference in luma between ink and background (0–1)
NOISE = 0.04  # standard deviation of the background's pixel noise (0–1)
SHORTCUT_JITTER = 0.02  # how far the shortcut variant's hue strays from its class's hue


def _polygon(cx: float, cy: float, r: float, n: int, turn: float) -> list[tuple[float, float]]:
    return [
        (cx + r * math.cos(turn + 2 * math.pi * k / n), cy + r * math.sin(turn + 2 * math.pi * k / n)) for k in range(n)
    ]


def _bars(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, turn: float, width: float) -> None:
    """Two bars crossing at (cx, cy), turned by ``turn``: a plus."""
    for a in (turn, turn + math.pi / 2):
        dx, dy = r * math.cos(a), r * math.sin(a)
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=255, width=max(1, round(width)))


def _texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A (size, size) boolean pattern filling a square: the five texture classes."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    turn = float(rng.uniform(0, math.pi))
    u = xx * math.cos(turn) + yy * math.sin(turn)
    v = -xx * math.sin(turn) + yy * math.cos(turn)
    period = float(rng.uniform(0.22, 0.32)) * size
    if kind == "stripes":  # parallel bands
        return (u / period) % 1.0 < 0.5
    if kind == "checks":  # a chequerboard
        return ((np.floor(u / period) + np.floor(v / period)) % 2) == 0
    if kind == "dots":  # round dots on a square lattice
        du, dv = (u / period) % 1.0 - 0.5, (v / period) % 1.0 - 0.5
        return du * du + dv * dv < 0.09
    if kind == "zigzag":  # bands bent into a sawtooth
        tooth = np.abs((v / period) % 1.0 - 0.5) * period
        return ((u + tooth) / period) % 1.0 < 0.45
    if kind == "grid":  # thin lines both ways
        return ((u / period) % 1.0 < 0.25) | ((v / period) % 1.0 < 0.25)
    raise ValueError(kind)


def shape_mask(label: int, rng: np.random.Generator) -> np.ndarray:
    """Where the ink of class ``label`` goes: (SIDE, SIDE) float in [0, 1], antialiased."""
    big = SIDE * SCALE
    r = float(rng.uniform(0.24, 0.42)) * big  # the shape's radius: half of 48–84 % of the side
    cx = float(rng.uniform(r + 0.04 * big, big - r - 0.04 * big))
    cy = float(rng.uniform(r + 0.04 * big, big - r - 0.04 * big))
    turn = float(rng.uniform(0, 2 * math.pi))
    name = CLASSES[label]
    if name in ("stripes", "checks", "dots", "zigzag", "grid"):
        side = round(2 * r)
        patch = _texture(name, side, rng).astype(np.uint8) * 255
        pic = Image.new("L", (big, big))
        corner = (round(cx - side / 2), round(cy - side / 2))
        pic.paste(Image.fromarray(patch), corner)
    else:
        pic = Image.new("L", (big, big))
        draw = ImageDraw.Draw(pic)
        if name == "disc":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        elif name == "ring":
            width = float(rng.uniform(0.22, 0.34)) * r
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
            draw.ellipse([cx - r + width, cy - r + width, cx + r - width, cy + r - width], fill=0)
        elif name == "square":
            draw.polygon(_polygon(cx, cy, r * 1.2, 4, turn), fill=255)
        elif name == "triangle":
            draw.polygon(_polygon(cx, cy, r * 1.15, 3, turn), fill=255)
        elif name == "plus":
            _bars(draw, cx, cy, r, turn, float(rng.uniform(0.35, 0.5)) * r)
    small = pic.resize((SIDE, SIDE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float64) / 255.0


def _luma(rgb: np.ndarray) -> float:
    return float(rgb @ np.array([0.299, 0.587, 0.114]))


def _colours(label: int, rng: np.random.Generator, shortcut: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ink and background colours (each (3,) in [0, 1]) at least MIN_CONTRAST apart in luma. With ``shortcut``
    the ink takes its class's hue (jittered by the hue drawn, so ``rng`` gives the same draws either way), at
    least 0.7 saturated and bright; the background is drawn the same way, though a different ink may need
    another of its tries for contrast."""
    hue, sat, val = (float(x) for x in rng.uniform((0, 0.35, 0.35), (1, 1, 1)))
    if shortcut:
        hue = (label / len(CLASSES) + (2 * hue - 1) * SHORTCUT_JITTER) % 1.0
        sat, val = max(sat, 0.7), max(val, 0.7)  # a clear hue: grey ink would hide the shortcut
    ink = np.array(colorsys.hsv_to_rgb(hue, sat, val))
    for _ in range(20):
        back = rng.uniform(0, 1, 3)
        if abs(_luma(back) - _luma(ink)) >= MIN_CONTRAST:
            return ink, back
    # pale ink on a dark ground, or dark ink on a pale one
    return ink, np.full(3, 0.05 if _luma(ink) > 0.5 else 0.95)


def render(label: int, rng: np.random.Generator, shortcut: bool = False) -> np.ndarray:
    """One image of class ``label``: (3, SIDE, SIDE) uint8, channels first like CIFAR-10."""
    mask = shape_mask(label, rng)
    ink, back = _colours(label, rng, shortcut)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / (SIDE - 1)
    direction = float(rng.uniform(0, 2 * math.pi))
    ramp = (xx * math.cos(direction) + yy * math.sin(direction)) - 0.5  # a soft light across the image
    ground = back[:, None, None] * (1 + float(rng.uniform(0.1, 0.3)) * ramp)[None]
    ground = ground + rng.normal(0, NOISE, (3, SIDE, SIDE))
    picture = ground * (1 - mask)[None] + ink[:, None, None] * mask[None]
    return np.rint(np.clip(picture, 0, 1) * 255).astype(np.uint8)


def colour_shapes(n: int, seed: int = 0, *, start: int = 0, shortcut: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Images start..start+n-1 of the colour-shapes sequence for ``seed``: (n, 3, 32, 32) uint8 and
    labels (n,) int64 (each aligned block of ten holds every class once)."""
    if n < 0 or start < 0:
        raise ValueError("n and start must be >= 0.")
    labels = balanced_labels(n, seed, start) if n else np.zeros(0, np.int64)
    images = np.zeros((n, 3, SIDE, SIDE), np.uint8)
    for k in range(n):
        images[k] = render(int(labels[k]), np.random.default_rng([seed, 2, start + k]), shortcut)
    return images, labels
