"""Safe image decoding for uploads, the drawing canvas and the CLI (Pillow + numpy only).

Every image a user hands us goes through :func:`open_image`: the size is read from the header and
checked before any pixel is decoded (a tiny file can declare 10,000 × 10,000 pixels), EXIF rotation
is applied, only the first frame of an animation is kept, and every mode (palette, CMYK, 16-bit,
grey + alpha, ...) becomes 8-bit RGBA. Problems become one :class:`ImageError` sentence.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from playground.errors import PlaygroundError

MAX_PIXELS = 4_000_000  # 2000 × 2000: far above any photo of a digit, far below a decompression bomb
PHOTO_MAX_PIXELS = 13_000_000  # a 12-megapixel phone photo (4032 × 3024) that is not a JPEG; about 50 MB decoded
PHOTO_SIDE = 512  # a JPEG photo is decoded at the smallest scale keeping this many pixels on its shorter side
CANVAS_SIZE = (280, 280)
PNG_URL = "data:image/png;base64,"
MAX_CANVAS_URL = 4_000_000  # a 280×280 RGBA PNG in base64 is under 420,000 characters even uncompressed
NOT_AN_IMAGE = "This file is not an image Pillow can read: upload a PNG, JPEG, GIF, BMP or WebP."
TOO_MANY_PIXELS = "The image declares too many pixels to decode safely: scale it down."


class ImageError(PlaygroundError):
    """A file the user supplied cannot be used; ``str(e)`` says why in one sentence."""


def _open(data: bytes) -> Image.Image:
    """Pillow's lazy image (header read, no pixels decoded). Our own size limits are far below Pillow's
    warning threshold, so its warning is silenced; sizes beyond its error threshold raise
    Image.DecompressionBombError here, before any caller could look at them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data))


def declared_size(data: bytes) -> tuple[str | None, tuple[int, int]]:
    """(format, (width, height)) as the file's header declares them, without decoding a pixel.
    ImageError when Pillow cannot identify the data as an image."""
    try:
        with _open(data) as probe:
            return probe.format, probe.size
    except Image.DecompressionBombError:
        raise ImageError(TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ImageError(NOT_AN_IMAGE) from None


def open_photo(data: bytes) -> Image.Image:
    """A photo for a colour model: a JPEG is decoded at the smallest of 1/1, 1/2, 1/4 or 1/8 scale that keeps
    it at least PHOTO_SIDE pixels on its shorter side (a 12-megapixel phone photo arrives as 1008×756, in a
    fifteenth of the memory); other formats up to PHOTO_MAX_PIXELS. The model reads 32×32 in the end."""
    return open_image(data, max_pixels=PHOTO_MAX_PIXELS, draft_side=PHOTO_SIDE)


def open_image(data: bytes, *, max_pixels: int = MAX_PIXELS, draft_side: int | None = None) -> Image.Image:
    """Decode ``data`` into an 8-bit RGBA image after checking its declared size (a JPEG's size once it is
    set to decode at a reduced scale, when ``draft_side`` asks for that)."""
    if not data:
        raise ImageError("The file is empty: choose an image file (PNG, JPEG, GIF, BMP or WebP).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = _open(data)
            if draft_side and img.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that is enough
                img.draft("RGB", (draft_side, draft_side))
            width, height = img.size
            if width < 1 or height < 1:
                raise ImageError("The image has no pixels.")
            if width * height > max_pixels:
                raise ImageError(
                    f"The image is {width}×{height} pixels, more than the {max_pixels:,} allowed: "
                    "scale it down and upload it again."
                )
            img.seek(0)  # first frame of an animated GIF/PNG/WebP
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgba8(img)
    except ImageError:
        raise
    except UnidentifiedImageError:
        if b"<svg" in data[:4096].lower():
            raise ImageError(
                "This is an SVG drawing, which cannot be read here: export it as a PNG and upload that."
            ) from None
        raise ImageError(NOT_AN_IMAGE) from None
    except Image.DecompressionBombError:
        raise ImageError(TOO_MANY_PIXELS) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError):
        raise ImageError("The image file is truncated or corrupt: save it again and re-upload it.") from None


def _to_rgba8(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGBA (16-bit and float greys are rescaled, not clipped)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo) * 255.0
        img = Image.fromarray(scaled.round().astype(np.uint8), mode="L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode == "CMYK":
        img = img.convert("RGB")
    return img.convert("RGBA")


def to_gray(img: Image.Image) -> np.ndarray:
    """RGBA image -> (H, W) float64 in [0, 1]; transparent pixels count as black."""
    rgba = np.asarray(img.convert("RGBA"), dtype=np.float64) / 255.0
    gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
    return gray * rgba[..., 3]


def to_rgb(img: Image.Image) -> np.ndarray:
    """RGBA image -> (H, W, 3) float64 in [0, 1]; transparent pixels count as black."""
    rgba = np.asarray(img.convert("RGBA"), dtype=np.float64) / 255.0
    return rgba[..., :3] * rgba[..., 3:4]


def canvas_png(data_url: object, max_chars: int = MAX_CANVAS_URL) -> bytes | None:
    """The PNG bytes inside the canvas's ``data:image/png;base64,...`` URL (None when nothing was drawn),
    or ImageError when the value is anything else: not text, another type, too long, not base64."""
    if data_url is None:
        return None
    if not isinstance(data_url, str) or not data_url.startswith(PNG_URL):
        raise ImageError("The drawing data is not a PNG image: the canvas was reset, draw again.")
    if len(data_url) > max_chars:
        raise ImageError(
            f"The drawing data is {len(data_url):,} characters, more than a canvas makes: the canvas was reset, "
            "draw again."
        )
    try:
        return base64.b64decode(data_url[len(PNG_URL) :], validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("The drawing data is not valid base64: the canvas was reset, draw again.") from None


def decode_canvas(data: bytes, size: tuple[int, int] = CANVAS_SIZE) -> np.ndarray:
    """A drawing canvas's PNG -> (H, W, 4) uint8, refused unless it is exactly ``size`` (width, height)."""
    if not data:
        raise ImageError("The drawing arrived empty: draw again.")
    try:
        fmt, declared = declared_size(data)
    except ImageError as e:
        if str(e) == TOO_MANY_PIXELS:
            raise ImageError(
                f"The drawing declares far more pixels than the {size[0]}×{size[1]} canvas makes: the canvas was "
                "reset, draw again."
            ) from None
        raise ImageError("The drawing data is not a PNG image: the canvas was reset, draw again.") from None
    if fmt != "PNG" or declared != tuple(size):
        raise ImageError(
            f"The drawing is {declared[0]}×{declared[1]} {fmt or 'data'}, not the {size[0]}×{size[1]} PNG "
            "the canvas makes: the canvas was reset, draw again."
        )
    try:
        return np.asarray(open_image(data, max_pixels=size[0] * size[1]))
    except ImageError:
        raise ImageError(
            "The drawing data is damaged (truncated or corrupt): the canvas was reset, draw again."
        ) from None
