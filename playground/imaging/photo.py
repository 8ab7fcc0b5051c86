"""A photo brought to a colour model's input (numpy + Pillow only).

A colour network such as one trained on CIFAR-10 reads a small square picture (32 × 32 × 3). Any photo,
whatever its size, shape or mode, is made into one in two steps that the Predict panel shows: the largest
centred square is cut out (nothing is squashed), then it is shrunk to the model's side with Pillow's
antialiased filter. The network's input is then normalised channel by channel with the CIFAR-10 training
set's mean and standard deviation (``COLOUR_MEAN``/``COLOUR_STD``), which every colour data set here uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# CIFAR-10 training images, per channel (red, green, blue), pixel values scaled to [0, 1]
COLOUR_MEAN = (0.4914, 0.4822, 0.4465)
COLOUR_STD = (0.2470, 0.2435, 0.2616)

STAGE_PHOTO = "photo"
STAGE_SQUARE = "centre square"
STAGE_RESIZED = "resized"
PHOTO_STAGES = (STAGE_PHOTO, STAGE_SQUARE, STAGE_RESIZED)
SHOWN_SIDE = 160  # the photo and its square are kept at most this many pixels on a side for display


@dataclass(frozen=True)
class FittedPhoto:
    """A photo fitted to a model's input: ``image`` (3, H, W) uint8 channels first, as the network reads it,
    and the ``stages`` (H, W, 3) uint8 for display, in PHOTO_STAGES order."""

    image: np.ndarray
    stages: dict[str, np.ndarray]
    crop: tuple[int, int, int, int]  # (left, top, right, bottom) of the square in the photo's pixels
    size: tuple[int, int]  # the photo's (width, height)


def _shown(img: Image.Image) -> np.ndarray:
    small = img.copy()
    small.thumbnail((SHOWN_SIDE, SHOWN_SIDE), Image.Resampling.BILINEAR)
    return np.asarray(small.convert("RGB"), dtype=np.uint8)


def fit_photo(img: Image.Image, side: tuple[int, int]) -> FittedPhoto:
    """Cut the photo's largest centred square (or the model's aspect, for a non-square input) and resize it
    to ``side`` = (height, width) with antialiasing. Transparent pixels are laid on white."""
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, rgba).convert("RGB")
    w, h = rgb.size
    out_h, out_w = side
    scale = min(w / out_w, h / out_h)  # the largest box of the model's aspect inside the photo
    cw, ch = max(1, round(out_w * scale)), max(1, round(out_h * scale))
    left, top = (w - cw) // 2, (h - ch) // 2
    crop = (left, top, left + cw, top + ch)
    square = rgb.crop(crop)
    resized = square.resize((out_w, out_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    pixels = np.asarray(resized, dtype=np.uint8)
    return FittedPhoto(
        np.ascontiguousarray(pixels.transpose(2, 0, 1)),
        {STAGE_PHOTO: _shown(rgb), STAGE_SQUARE: _shown(square), STAGE_RESIZED: pixels},
        crop,
        (w, h),
    )


def channels_last(image: np.ndarray) -> np.ndarray:
    """(3, H, W) -> (H, W, 3): a network's colour input as a picture."""
    return np.ascontiguousarray(np.asarray(image).transpose(1, 2, 0))
