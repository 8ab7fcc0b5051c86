"""MNIST digits re-drawn the way people draw on the 280×280 drawing canvas.

MNIST digits are grey, antialiased pen strokes of one typical width, scanned and centred. A drawing on
the canvas is a solid stroke of the browser pen's width, drawn at any size and anywhere, and reaches the
network through the Draw page's preprocessing (crop → 20 px → centre of mass). `redraw` turns one MNIST
digit into such a canvas; `canvas_style_digits` runs many through the Draw page's preprocessing.

Used twice: the trainer adds canvas-style copies of the training digits (``TrainConfig.canvas_copies``,
with small elastic distortions as well), so the shipped model reads drawings as well as scans; and
``benchmarks/canvas_robustness.py`` measures that on the held-out digits. numpy and Pillow only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from playground.imaging.preprocess import preprocess_digit

CANVAS = 280
PAD = 5  # px of margin around the upscaled digit, so thickening and softening are not clipped
HEIGHT_RANGE = (0.35, 0.90)  # digit height as a share of the canvas
STROKES = ("thin", "normal", "thick")  # MinFilter / none / MaxFilter
FILTER_SIZES = (3, 5)  # pen width change at canvas scale, px


@dataclass(frozen=True)
class Redrawn:
    """One canvas drawing made from an MNIST digit, and how it was drawn."""

    rgba: np.ndarray  # (280, 280, 4) uint8, white on black, alpha 255
    height: float  # digit height as a share of the canvas
    stroke: str  # one of STROKES
    filter_size: int  # 3 or 5 for thin/thick, 0 for normal


def _smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    """A separable Gaussian blur of a (H, W) float field (edges reflected)."""
    radius = max(1, int(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(field, radius, mode="reflect")
    rows = np.apply_along_axis(lambda r: np.convolve(r, taps, mode="valid"), 1, padded)
    return np.apply_along_axis(lambda c: np.convolve(c, taps, mode="valid"), 0, rows)


def elastic(img: np.ndarray, rng: np.random.Generator, alpha: float, sigma: float = 4.0) -> np.ndarray:
    """Simard et al.'s elastic distortion of a (H, W) uint8 image: every pixel moves along a smooth random
    field whose largest shift is about ``alpha`` pixels; bilinear resampling."""
    h, w = img.shape
    dy, dx = (_smooth(rng.uniform(-1, 1, (h, w)), sigma) for _ in range(2))
    scale = alpha / max(np.abs(dy).max(), np.abs(dx).max(), 1e-9)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    y = np.clip(yy + dy * scale, 0, h - 1)
    x = np.clip(xx + dx * scale, 0, w - 1)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = y - y0, x - x0
    a = img.astype(np.float64)
    out = (a[y0, x0] * (1 - fy) * (1 - fx) + a[y0, x1] * (1 - fy) * fx + a[y1, x0] * fy * (1 - fx)
           + a[y1, x1] * fy * fx)  # fmt: skip
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def redraw(img28: np.ndarray, rng: np.random.Generator, *, elastic_px: float = 0.0) -> Redrawn:
    """One MNIST digit (28, 28) uint8 -> a canvas drawing: cropped, scaled to 35-90 % of the canvas height,
    binarised (a solid pen), thinned or thickened by a 3 or 5 px Min/MaxFilter (or left as is), its edges
    softened like an antialiased pen, placed off-centre; ``elastic_px`` > 0 first bends it a little."""
    if elastic_px > 0:
        img28 = elastic(img28, rng, elastic_px)
    ys, xs = np.nonzero(img28 > 30)
    if ys.size == 0:  # nothing left to draw: an empty canvas
        return Redrawn(_rgba(np.zeros((CANVAS, CANVAS), np.uint8)), 0.0, "normal", 0)
    crop = img28[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    frac = float(rng.uniform(*HEIGHT_RANGE))
    h = max(1, round(frac * CANVAS))
    w = max(1, min(CANVAS - 2 * PAD, round(crop.shape[1] * h / crop.shape[0])))
    big = Image.fromarray(crop).resize((w, h), Image.Resampling.BICUBIC)
    padded = Image.new("L", (w + 2 * PAD, h + 2 * PAD), 0)
    padded.paste(big, (PAD, PAD))
    big, w, h = padded, w + 2 * PAD, h + 2 * PAD
    big = big.point(lambda v: 255 if v >= 128 else 0)  # a canvas pen draws solid strokes
    stroke = STROKES[int(rng.integers(len(STROKES)))]
    size = int(rng.choice(FILTER_SIZES))
    if stroke == "thin":
        big = big.filter(ImageFilter.MinFilter(size))
    elif stroke == "thick":
        big = big.filter(ImageFilter.MaxFilter(size))
    else:
        size = 0
    big = big.filter(ImageFilter.GaussianBlur(1.0))  # the pen's antialiased edge
    x = int(rng.integers(0, CANVAS - w + 1))
    y = int(rng.integers(0, CANVAS - h + 1))
    gray = np.zeros((CANVAS, CANVAS), np.uint8)
    gray[y : y + h, x : x + w] = np.asarray(big)
    return Redrawn(_rgba(gray), frac, stroke, size)


def _rgba(gray: np.ndarray) -> np.ndarray:
    rgba = np.empty((*gray.shape, 4), np.uint8)
    rgba[..., :3] = gray[..., None]
    rgba[..., 3] = 255
    return rgba


def canvas_style_digits(images: np.ndarray, seed: int, *, elastic_px: float = 0.0) -> np.ndarray:
    """(N, 28, 28) uint8 MNIST digits -> (N, 28, 28) uint8: each redrawn on the canvas (seeded) and
    brought back through the Draw page's preprocessing, i.e. what the network sees of such a drawing."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(images), 28, 28), np.uint8)
    for i, img in enumerate(images):
        seen = preprocess_digit(redraw(img, rng, elastic_px=elastic_px).rgba, background="dark").image
        out[i] = np.rint(seen * 255)
    return out
