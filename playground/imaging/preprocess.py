"""MNIST-style preprocessing of a drawing, upload or scan (numpy + Pillow only).

MNIST digits were made by cropping each handwritten digit to its bounding box, scaling the
longer side to 20 px (keeping the aspect ratio, antialiased) and placing the result in a 28×28
frame so that its centre of mass sits at pixel (14, 14) (row, column; measured on the MNIST
test set: mean centre of mass 13.99, 14.01). A network trained on MNIST only understands digits
framed that way, so every drawing goes through the same steps before prediction. The steps are
kept as ``stages`` so the Draw & Predict page can show them to students.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from playground.errors import PlaygroundError

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FRAME = 28  # output side, px
BOX = 20  # longer side of the digit after scaling, px
CENTRE = 14.0  # centre of mass target (row and column, pixel-index coordinates)
MAX_SIDE = 1024  # larger inputs are shrunk first (keeps uploads fast; the digit ends at 20 px anyway)
MIN_CONTRAST = 0.15  # ink must stand out from the background by this much, else "empty"
NOISE_FLOOR = 0.1  # ink weaker than this (paper texture, JPEG noise) is set to 0
CROP_THRESHOLD = 0.3  # pixels at least this strong define the ink's bounding box
INK_LEVEL = 0.5  # a pixel counts as "ink" for ink_fraction at this level
# Resampling filter: Pillow's antialiased tent (its resize widens the filter when shrinking).
# Its BOX filter weights source pixels 0 or 1, which at scales near 1 moves the centre of mass
# by up to 0.75 px; the tent keeps that within ~0.2 px, and place_by_mass corrects the rest.
RESAMPLE = Image.Resampling.BILINEAR

STAGE_INPUT = "input"
STAGE_CROPPED = "cropped"
STAGE_SCALED = "scaled (20 px)"
STAGE_CENTRED = "centred (28×28)"
STAGES = (STAGE_INPUT, STAGE_CROPPED, STAGE_SCALED, STAGE_CENTRED)

Background = Literal["auto", "dark", "light"]


class PreprocessError(PlaygroundError):
    """An array that cannot be a picture (wrong shape, type or value range); message is for the user."""


@dataclass(frozen=True)
class Preprocessed:
    """Result of :func:`preprocess_digit`. Arrays are read-only float32 in [0, 1], ink white on black."""

    image: np.ndarray  # (28, 28) what the network sees, before normalisation
    stages: dict[str, np.ndarray]  # STAGES in order: input (H, W), cropped, scaled (≤20, ≤20), centred (28, 28)
    ink_fraction: float  # share of input pixels that are ink (for "empty" / "fully covered" notices)
    inverted: bool  # dark ink on light paper was detected and inverted
    empty: bool  # no ink found: image is all zeros


def _as_float(img: np.ndarray) -> np.ndarray:
    """Any supported dtype -> float32 in [0, 1]; raises PreprocessError on bad values."""
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    if img.dtype == np.bool_:
        return img.astype(np.float32)
    if np.issubdtype(img.dtype, np.floating):
        out = img.astype(np.float32)
        if not np.isfinite(out).all():
            raise PreprocessError("The image contains NaN or infinite values.")
        lo, hi = float(out.min()), float(out.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise PreprocessError(f"Float images must have values in [0, 1], got {lo:.3g}..{hi:.3g}.")
        return np.clip(out, 0.0, 1.0)
    raise PreprocessError(f"Unsupported pixel type {img.dtype}: use uint8, uint16 or float in [0, 1].")


def _border(a: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels of a (H, W) array, flattened."""
    if min(a.shape) <= 2:
        return a.ravel()
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W), ITU-R 601 weights as Pillow's "L" mode."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _gray_alpha(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W[, C]) picture -> gray (H, W) float32 in [0, 1] and alpha (None when fully opaque)."""
    if img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] in (3, 4):
        # Fast path for canvas / decoded uploads: Pillow's C luminance, 4x quicker than numpy here.
        rgb = Image.fromarray(np.ascontiguousarray(img), "RGBA" if img.shape[2] == 4 else "RGB")
        gray = np.asarray(rgb.convert("L"), dtype=np.float32) * np.float32(1 / 255)
        alpha = img[..., 3] if img.shape[2] == 4 else None
        if alpha is None or int(alpha.min()) == 255:
            return gray, None
        return gray, alpha.astype(np.float32) * np.float32(1 / 255)
    a = _as_float(img)
    if a.ndim == 2:
        return a, None
    colour = a[..., :-1] if a.shape[2] in (2, 4) else a
    gray = colour[..., 0] if colour.shape[2] == 1 else _luminance(colour)
    alpha = a[..., -1] if a.shape[2] in (2, 4) else None
    if alpha is not None and float(alpha.min()) >= 1.0:
        alpha = None
    return gray, alpha


def to_ink(img: np.ndarray, background: Background = "auto") -> tuple[np.ndarray, bool]:
    """Picture -> (ink (H, W) float32 with the ink bright and the background 0, inverted flag).

    ``background="auto"`` detects the paper from the border: a light border (median > 0.5) means
    dark ink on light paper, which is inverted. Images with a mostly transparent border are
    strokes on a transparent sheet: the ink is the opacity, whatever the stroke colour.
    ``"dark"`` (the drawing canvas: white strokes on black or transparent) and ``"light"`` skip
    the detection, so a fully covered canvas stays fully covered instead of reading as paper.
    """
    if background not in ("auto", "dark", "light"):
        raise PreprocessError(f"background must be 'auto', 'dark' or 'light', not {background!r}.")
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (2, 3, 4)):
        raise PreprocessError(f"Expected a (H, W) gray or (H, W, 3/4) colour image, got shape {img.shape}.")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise PreprocessError("The image has no pixels.")
    gray, alpha = _gray_alpha(img)
    if background == "dark":
        return (gray if alpha is None else gray * alpha), False
    if background == "light":
        return 1.0 - (gray if alpha is None else gray * alpha + (1.0 - alpha)), True
    if alpha is not None:
        if float(np.median(_border(alpha))) < 0.5:  # strokes on a transparent sheet
            return alpha, False
        visible = _border(alpha) >= 0.5  # transparent holes in a picture: paper colour
        paper = float(np.median(_border(gray)[visible]))
        gray = gray * alpha + paper * (1.0 - alpha)
    if float(np.median(_border(gray))) > 0.5:
        return 1.0 - gray, True
    return gray, False


def _shrink(a: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Shrink (H, W) float32 so the longer side is at most max_side (antialiased)."""
    h, w = a.shape
    if max(h, w) <= max_side:
        return a
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(a).resize(size, RESAMPLE))


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass of a non-negative (H, W) array in pixel-index coordinates."""
    m = float(a.sum())
    if m <= 0:
        return (a.shape[0] - 1) / 2, (a.shape[1] - 1) / 2
    rows = a.sum(axis=1, dtype=np.float64) @ np.arange(a.shape[0])
    cols = a.sum(axis=0, dtype=np.float64) @ np.arange(a.shape[1])
    return float(rows / m), float(cols / m)


def ink_bbox(ink: np.ndarray, threshold: float = CROP_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) with exclusive ends of pixels >= threshold, or None if there are none."""
    mask = ink >= threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def scale_to_box(crop: np.ndarray, box: int = BOX) -> np.ndarray:
    """(h, w) crop -> longer side exactly ``box`` px, aspect kept (antialiased): (≤box, ≤box) float32."""
    h, w = crop.shape
    s = box / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    out = np.asarray(Image.fromarray(crop).resize(size, RESAMPLE))
    return np.clip(out, 0.0, 1.0)


def _resample(
    crop: np.ndarray, s: float, com: tuple[float, float], target: tuple[float, float], frame: int
) -> np.ndarray:
    """Scale (h, w) ``crop`` by ``s`` into a (frame, frame) image so that the source point ``com``
    lands on output point ``target`` (pixel-index coordinates), in one resampling."""
    h, w = crop.shape
    span = frame / s  # source pixels covered by the frame
    # Output pixel j covers source [x0 + j/s, x0 + (j+1)/s] in edge coordinates, and pixel-index
    # coordinate c is edge coordinate c + 0.5; solve for com landing on target.
    y0 = com[0] + 0.5 - (target[0] + 0.5) / s
    x0 = com[1] + 0.5 - (target[1] + 0.5) / s
    # Pillow wants the source box inside the image: pad the crop with zeros as far as needed.
    top, left = int(np.ceil(max(0.0, -y0))) + 1, int(np.ceil(max(0.0, -x0))) + 1
    bottom = int(np.ceil(max(0.0, y0 + span - h))) + 1
    right = int(np.ceil(max(0.0, x0 + span - w))) + 1
    padded = np.zeros((h + top + bottom, w + left + right), np.float32)
    padded[top : top + h, left : left + w] = crop
    src = (x0 + left, y0 + top, x0 + left + span, y0 + top + span)
    out = Image.fromarray(padded).resize((frame, frame), RESAMPLE, box=src)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def place_by_mass(
    crop: np.ndarray, *, box: int = BOX, frame: int = FRAME, offset: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Scale a (h, w) crop so its longer side is ``box`` px and place it in a (frame, frame) image
    with its centre of mass at (CENTRE + offset): sub-pixel exact, the digit resampled once.
    Whatever falls outside the frame is clipped (as in MNIST)."""
    s = box / max(crop.shape)
    com = centre_of_mass(crop)
    target = (CENTRE + offset[0], CENTRE + offset[1])
    out = _resample(crop, s, com, target, frame)
    # Resampling moves the centre of mass a little (most at scales near 1): aim off by the error once.
    got = centre_of_mass(out)
    if max(abs(got[0] - target[0]), abs(got[1] - target[1])) > 0.02:
        aim = (2 * target[0] - got[0], 2 * target[1] - got[1])
        out = _resample(crop, s, com, aim, frame)
    return out


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float32)
    a.flags.writeable = False
    return a


def clean_ink(ink: np.ndarray, background: Background = "auto") -> np.ndarray | None:
    """Remove the background level, stretch the strongest ink to 1 and zero weak noise.

    Returns (H, W) float32 or None when nothing stands out from the background (empty picture).
    In "auto" mode the background level is the border median (grey paper, uneven scans).
    """
    bg = float(np.median(_border(ink))) if background == "auto" else 0.0
    peak = float(ink.max())
    if peak - bg < MIN_CONTRAST:
        return None
    out = (ink - bg) * (1.0 / (peak - bg))
    np.clip(out, 0.0, 1.0, out=out)
    out[out < NOISE_FLOOR] = 0.0
    return out


def preprocess_digit(img: np.ndarray, *, background: Background = "auto") -> Preprocessed:
    """Drawing / upload / scan -> the (28, 28) MNIST-style digit the network sees, with the stages.

    ``img``: (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA; uint8, uint16 or float in [0, 1].
    Steps: grayscale with ink white (dark-on-light detected and inverted, see :func:`to_ink`)
    -> crop to the ink's bounding box -> longer side to 20 px, aspect kept, antialiased -> placed
    in 28×28 by centre of mass. No ink gives ``empty=True`` and a blank image (never raises for
    that); bad arrays raise :class:`PreprocessError`.
    """
    raw, inverted = to_ink(img, background)
    raw = _shrink(np.ascontiguousarray(raw, dtype=np.float32))
    ink = clean_ink(raw, background)
    bbox = None if ink is None else ink_bbox(ink)
    if ink is None or bbox is None:
        blank = np.zeros((FRAME, FRAME), np.float32)
        stages = {
            STAGE_INPUT: _frozen(raw),
            STAGE_CROPPED: _frozen(raw),
            STAGE_SCALED: _frozen(np.zeros((BOX, BOX))),
            STAGE_CENTRED: _frozen(blank),
        }
        return Preprocessed(_frozen(blank), stages, 0.0, inverted, True)
    top, bottom, left, right = bbox
    crop = ink[top:bottom, left:right]
    image = _frozen(place_by_mass(crop))
    stages = {
        STAGE_INPUT: _frozen(ink),
        STAGE_CROPPED: _frozen(crop),
        STAGE_SCALED: _frozen(scale_to_box(crop)),
        STAGE_CENTRED: image,
    }
    ink_fraction = float(np.count_nonzero(ink >= INK_LEVEL)) / ink.size
    return Preprocessed(image, stages, ink_fraction, inverted, False)


def normalise(img28: np.ndarray) -> np.ndarray:
    """(28, 28) or (N, 28, 28) image(s) in [0, 1] (or uint8) -> (N, 1, 28, 28) float32, MNIST mean/std."""
    a = np.asarray(img28)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1:] != (FRAME, FRAME):
        raise PreprocessError(f"Expected a 28×28 image (or a stack of them), got shape {np.shape(img28)}.")
    x = _as_float(a)
    return ((x - MNIST_MEAN) / MNIST_STD).astype(np.float32)[:, None]
