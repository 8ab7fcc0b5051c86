"""Built-in inputs the playground generates itself (numpy + Pillow, no files, no internet).

Every image is a (H, W) float64 array in [0, 1] with 0 = black and 1 = white (MNIST's convention:
a bright stroke on a dark ground), rounded to two decimals so the arithmetic written out for a
cell stays readable. The RGB sample is (3, H, W), channels first like the engine's input. The two
worked-example matrices are the ones lecture notes get wrong; the app shows their right answers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORKED_3X3 = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=np.float64)
WORKED_KERNEL_2X2 = np.array([[1, 2], [3, 4]], dtype=np.float64)
WORKED_4X4 = np.arange(1, 17, dtype=np.float64).reshape(4, 4)

MIN_SIZE, MAX_SIZE = 4, 28
SIZES = (8, 10, 12, 14, 16, 20, 28)  # grids small enough to step through cell by cell

SHAPES = ("checkerboard", "circle", "gradient", "vertical edge", "horizontal edge")
DESCRIPTIONS = {
    "digit": "A digit rendered with Pillow's built-in font, centred like an MNIST digit.",
    "checkerboard": "Alternating 2×2 squares: every kernel that sees edges lights up everywhere.",
    "circle": "A filled disc: edges in every direction, so Sobel x and y pick out different arcs.",
    "gradient": "Brightness rising left to right: a smooth ramp that edge kernels barely notice.",
    "vertical edge": "Dark left half, bright right half: one vertical step for Sobel x to find.",
    "horizontal edge": "Dark top half, bright bottom half: one horizontal step for Sobel y to find.",
    "random": "Uniform random values (the seed makes it repeatable).",
}


def _check_size(size: int) -> int:
    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise ValueError(f"Sample size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}.")
    return int(size)


def _finish(arr: np.ndarray) -> np.ndarray:
    """Clip to [0, 1], round to two decimals, hand out a read-only float64 copy."""
    out = np.round(np.clip(np.asarray(arr, dtype=np.float64), 0.0, 1.0), 2)
    out.flags.writeable = False
    return out


def area_downsample(img: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Shrink an (H, W) or (H, W, C) float image in [0, 1] to ``size`` by averaging pixel areas.

    Used for canvas drawings (280×280 -> 28×28) and uploads; never enlarges (a smaller image is
    returned unchanged), and keeps the aspect ratio when ``size`` is one number (the longer side).
    """
    arr = np.asarray(img, dtype=np.float64)
    h, w = arr.shape[:2]
    if isinstance(size, (tuple, list)):
        th, tw = int(size[0]), int(size[1])
    else:
        scale = min(1.0, int(size) / max(h, w))
        th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    if (th, tw) == (h, w):
        return arr.copy()
    channels = [arr] if arr.ndim == 2 else [arr[..., c] for c in range(arr.shape[2])]
    shrunk = [
        np.asarray(
            Image.fromarray(ch.astype(np.float32), mode="F").resize((tw, th), Image.Resampling.BOX), dtype=np.float64
        )
        for ch in channels
    ]
    return shrunk[0] if arr.ndim == 2 else np.stack(shrunk, axis=-1)


@lru_cache(maxsize=16)
def _digit_glyph(digit: int) -> np.ndarray:
    """A tightly cropped, high-resolution (h, w) rendering of ``digit`` in [0, 1]."""
    font = ImageFont.load_default(size=96)
    canvas = Image.new("L", (160, 160), 0)
    ImageDraw.Draw(canvas).text((30, 10), str(digit), fill=255, font=font, stroke_width=4, stroke_fill=255)
    box = canvas.getbbox()
    if box is None:  # pragma: no cover - a font without digits
        raise RuntimeError("Pillow's default font rendered an empty digit.")
    glyph = np.asarray(canvas.crop(box), dtype=np.float64) / 255.0
    glyph.flags.writeable = False
    return glyph


def digit(d: int, size: int = 28) -> np.ndarray:
    """The digit ``d`` (0-9) as a (size, size) image, fitted into the central 20/28 like MNIST."""
    if not 0 <= int(d) <= 9:
        raise ValueError(f"A digit is 0-9, got {d}.")
    size = _check_size(size)
    glyph = _digit_glyph(int(d))
    box = max(1, round(size * 20 / 28))
    gh, gw = glyph.shape
    scale = box / max(gh, gw)
    small = area_downsample(glyph, (max(1, round(gh * scale)), max(1, round(gw * scale))))
    out = np.zeros((size, size))
    top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    out[top : top + small.shape[0], left : left + small.shape[1]] = small
    return _finish(out)


def checkerboard(size: int = 8, cell: int = 2) -> np.ndarray:
    """Alternating black and white squares of ``cell`` pixels, white in the top-left corner."""
    size = _check_size(size)
    idx = np.arange(size) // max(1, int(cell))
    return _finish(((idx[:, None] + idx[None, :]) % 2 == 0).astype(float))


def circle(size: int = 12) -> np.ndarray:
    """A filled white disc of radius ~0.35·size on black, anti-aliased by 4× supersampling."""
    size = _check_size(size)
    n = size * 4
    yy, xx = np.mgrid[0:n, 0:n] + 0.5
    c, r = n / 2, 0.35 * n
    disc = ((yy - c) ** 2 + (xx - c) ** 2 <= r * r).astype(float)
    return _finish(disc.reshape(size, 4, size, 4).mean(axis=(1, 3)))


def gradient(size: int = 8) -> np.ndarray:
    """Brightness rising linearly from 0 (left column) to 1 (right column)."""
    size = _check_size(size)
    return _finish(np.tile(np.linspace(0.0, 1.0, size), (size, 1)))


def vertical_edge(size: int = 8) -> np.ndarray:
    """Left half 0, right half 1: a single vertical step edge."""
    size = _check_size(size)
    out = np.zeros((size, size))
    out[:, size // 2 :] = 1.0
    return _finish(out)


def horizontal_edge(size: int = 8) -> np.ndarray:
    """Top half 0, bottom half 1: a single horizontal step edge."""
    return _finish(vertical_edge(size).T)


def random_image(size: int = 8, seed: int = 0) -> np.ndarray:
    """Uniform random values in [0, 1] (two decimals) from ``numpy.random.default_rng(seed)``."""
    size = _check_size(size)
    return _finish(np.random.default_rng(int(seed)).random((size, size)))


def random_integers(size: int = 5, seed: int = 0, high: int = 9) -> np.ndarray:
    """Random integers 0..high as float64: easy numbers for hand-checking a convolution."""
    if not 1 <= int(size) <= MAX_SIZE:
        raise ValueError(f"Random matrix size must be between 1 and {MAX_SIZE}, got {size}.")
    out = np.random.default_rng(int(seed)).integers(0, int(high) + 1, size=(int(size), int(size))).astype(np.float64)
    out.flags.writeable = False
    return out


def shape(name: str, size: int = 8) -> np.ndarray:
    """One of :data:`SHAPES` by name at ``size``×``size``."""
    makers = {
        "checkerboard": checkerboard,
        "circle": circle,
        "gradient": gradient,
        "vertical edge": vertical_edge,
        "horizontal edge": horizontal_edge,
    }
    if name not in makers:
        raise ValueError(f"Unknown sample {name!r}: choose one of {', '.join(SHAPES)}.")
    return makers[name](size)


def rgb_sample(size: int = 8) -> np.ndarray:
    """A (3, size, size) colour image: a red disc, a green vertical bar and a blue horizontal bar.

    Each channel holds a different shape, so a 3-channel filter's per-channel partial sums are
    visibly different (the red sum sees the disc, the green one the bar, ...).
    """
    size = _check_size(size)
    red = circle(size)
    green = np.zeros((size, size))
    green[:, size // 4 : size // 4 + max(1, size // 4)] = 1.0
    blue = np.zeros((size, size))
    blue[size - size // 4 - max(1, size // 4) : size - size // 4, :] = 1.0
    out = np.stack([red, _finish(green), _finish(blue)])
    out.flags.writeable = False
    return out
