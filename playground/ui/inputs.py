"""The input chooser: worked examples, a digit drawn on a canvas, built-in samples, an upload,
random numbers or a typed matrix, all as one (H, W) float64 array for the engine.

Every problem (an unreadable upload, a bad cell in a typed matrix, a broken drawing) is shown as
one sentence right under the control at fault, and the last valid input stays in use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from playground.imaging import images
from playground.imaging.strokes import render_strokes
from playground.ops import kernels, samples
from playground.ui import handoff, state, widgets

WORKED_3X3 = "Worked example 3×3"
WORKED_4X4 = "Worked example 4×4 (1 … 16)"
DRAW = "Draw a digit"
SAMPLE = "Sample image"
UPLOAD = "Upload an image"
RANDOM = "Random numbers"
TYPED = "Type a matrix"
SOURCES = (WORKED_3X3, WORKED_4X4, DRAW, SAMPLE, UPLOAD, RANDOM, TYPED)
SAMPLE_NAMES = tuple(f"digit {d}" for d in range(10)) + samples.SHAPES + ("random",)
log = logging.getLogger(__name__)

UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]
MAX_TYPED = 28
CANVAS_PX = 280  # the Draw page's canvas, as MNIST's 28 px × 10
SIDEBAR_CANVAS_PX = 236  # Convolution and Pooling draw in the sidebar, whose content is 240 px wide


@dataclass(frozen=True)
class InputChoice:
    """What the engine gets: ``array`` (H, W) float64; ``rgb`` (3, H, W) for colour uploads."""

    array: np.ndarray
    label: str
    rgb: np.ndarray | None = None


def load_upload(data: bytes, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """An uploaded file's bytes -> (grey (H, W), rgb (3, H, W)), shrunk so the longer side is at most
    ``size`` and rounded to 2 decimals. Raises ``images.ImageError`` with the user's message."""
    img = images.open_image(data)
    grey = np.round(samples.area_downsample(images.to_gray(img), size), 2)
    rgb = np.round(samples.area_downsample(images.to_rgb(img), size), 2).transpose(2, 0, 1)
    return grey, np.ascontiguousarray(rgb)


def drawing_to_grid(png: bytes, size: int, px: int = SIDEBAR_CANVAS_PX) -> np.ndarray:
    """The sidebar canvas's PNG (px×px, white strokes) -> (size, size) grey grid in [0, 1] (area averages).
    Raises ``images.ImageError`` for anything but a px×px PNG."""
    return _grid(images.decode_canvas(png, (px, px)), size)


def _grid(rgba: np.ndarray, size: int) -> np.ndarray:
    grey = images.to_gray(Image.fromarray(rgba, mode="RGBA"))
    return np.round(samples.area_downsample(grey, (size, size)), 2)


def _size(page: str, label: str = "Grid size (pixels per side)", value: int = 14) -> int:
    return int(
        st.select_slider(
            label,
            options=samples.SIZES,
            value=value,
            **state.keep(page, "size"),
            help="Smaller grids show their numbers; 28 is MNIST's size.",
        )
    )


def _reset_canvas(page: str, message: str) -> None:
    """Throw the drawing away and mount a fresh canvas (a new key), keeping ``message`` for the next run."""
    state.put(page, "canvas_gen", state.get(page, "canvas_gen", 0) + 1)
    state.drop(page, "drawing")
    state.drop(page, "image")
    state.put(page, "canvas_error", message)


MAX_STROKES = 2_000  # strokes kept to redraw the canvas after a page switch; a drawing has a few dozen


def canvas_drawing(raw: Any) -> dict | None:
    """The canvas's Fabric.js JSON, kept to redraw the strokes after a page switch: a dict whose "objects"
    is a list of at most MAX_STROKES dicts, or None (not kept) for anything else."""
    if not isinstance(raw, dict) or not isinstance(raw.get("objects"), list):
        return None
    objects = raw["objects"]
    if len(objects) > MAX_STROKES or not all(isinstance(o, dict) for o in objects):
        return None
    return raw


def drawing_canvas(page: str, *, stroke_width: int = 26, px: int = CANVAS_PX) -> np.ndarray | None:
    """The px×px canvas (white strokes on black, mouse or finger): the drawing as (px, px, 4) uint8,
    or None before anything was drawn.

    The drawing survives page switches: its strokes are kept here and handed back as ``initial_drawing``
    only after a remount. Data that is not a px×px PNG (checked from the header before decoding)
    resets the canvas and the message is shown under it.
    """
    from streamlit_drawable_canvas import st_canvas  # registers a component: only inside a running app

    state.put(page, "canvas_px", px)  # Undo redraws the strokes at this size
    name = f"canvas.{state.get(page, 'canvas_gen', 0)}"
    remounted = not state.has(page, name)  # the canvas left the page (e.g. page switch) and is back
    st.space("medium")  # the canvas toolbar (undo, redo, clear) floats above the canvas
    try:
        result = st_canvas(
            stroke_width=stroke_width,
            stroke_color="#ffffff",
            background_color="#000000",
            width=px,
            height=px,
            drawing_mode="freedraw",
            return_image_data=True,
            initial_drawing=state.get(page, "drawing", None) if remounted else None,
            key=state.key(page, name),
        )
        png = images.canvas_png(result._image_data_url)  # the URL as sent; image_bytes trusts its shape
        rgba = images.decode_canvas(png, (px, px)) if png else None
        drawing = canvas_drawing(result.json_data)
    except images.ImageError as e:
        _reset_canvas(page, str(e))
        st.rerun()
    except (AttributeError, KeyError, TypeError, ValueError) as e:  # widget state not shaped like the canvas's
        log.warning("canvas state refused: %s: %s", type(e).__name__, e)
        _reset_canvas(page, "The drawing data was not what the canvas sends: the canvas was reset, draw again.")
        st.rerun()
    message = state.get(page, "canvas_error", "")
    if message:
        state.drop(page, "canvas_error")
        st.error(message)
    if drawing is not None:
        state.put(page, "drawing", drawing)
    if rgba is not None:
        state.put(page, "image", rgba)
    _undo_and_clear(page)
    return state.get(page, "image", None)  # a remounted canvas shows the strokes but sends no image


def _undo_and_clear(page: str) -> None:
    """Always-visible Undo and Clear under the canvas: its own toolbar only appears on hover, so on a
    touch screen it never does."""
    strokes_drawn = len((state.get(page, "drawing", None) or {}).get("objects", []))
    row = st.container(horizontal=True, key=f"{page}-canvas-buttons")
    row.button(
        "↶ Undo",
        key=state.key(page, "undo_stroke"),
        on_click=_undo_stroke,
        args=(page,),
        disabled=strokes_drawn == 0,
        width="stretch",
        help="Take back the last stroke",
    )
    row.button(
        "✕ Clear",
        key=state.key(page, "clear_canvas"),
        on_click=clear_canvas,
        args=(page,),
        disabled=strokes_drawn == 0 and not state.has(page, "image"),
        width="stretch",
        help="Start again on an empty canvas",
    )


def clear_canvas(page: str) -> None:
    state.put(page, "canvas_gen", state.get(page, "canvas_gen", 0) + 1)  # a fresh, empty canvas
    state.drop(page, "drawing")
    state.drop(page, "image")


def _undo_stroke(page: str) -> None:
    """Drop the last stroke: the canvas is mounted again with the others, and the picture the page
    predicts from is drawn from them here (a remounted canvas sends no picture until the next stroke)."""
    drawing = state.get(page, "drawing", None) or {}
    rest = list(drawing.get("objects", []))[:-1]
    clear_canvas(page)
    if rest:
        state.put(page, "drawing", {**drawing, "objects": rest})
        px = state.get(page, "canvas_px", CANVAS_PX)
        state.put(page, "image", render_strokes(rest, (px, px)))


def _drawn(page: str, start: int) -> InputChoice:
    size = _size(page, value=start)
    st.caption("Draw with the mouse or a finger; the input panel shows the grid the convolution sees.")
    rgba = drawing_canvas(page, stroke_width=22, px=SIDEBAR_CANVAS_PX)  # 26 px on 280, to scale
    if rgba is not None:
        state.put(page, "drawn", _grid(rgba, size))
    grid = state.get(page, "drawn", None)
    if grid is None or grid.shape != (size, size):
        grid = np.zeros((size, size))
    return InputChoice(grid, f"your drawing ({size}×{size})")


def _sample(page: str, start: int) -> InputChoice:
    name = st.selectbox("Sample", SAMPLE_NAMES, index=3, **state.keep(page, "sample"))
    size = _size(page, value=start)
    if name.startswith("digit"):
        arr, about = samples.digit(int(name.split()[1]), size), samples.DESCRIPTIONS["digit"]
    elif name == "random":
        seed = int(
            st.number_input(
                "Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, **state.keep(page, "sample_seed")
            )
        )
        arr, about = samples.random_image(size, seed), samples.DESCRIPTIONS["random"]
    else:
        arr, about = samples.shape(name, size), samples.DESCRIPTIONS[name]
    st.caption(about)
    return InputChoice(arr, f"the {name} sample ({size}×{size})")


def _uploaded(page: str, start: int) -> InputChoice:
    size = _size(page, "Shrink to at most (pixels on the longer side)", start)
    last = widgets.kept_upload(
        page,
        "upload",
        "Image file (PNG, JPEG, GIF, BMP, WebP, TIFF)",
        UPLOAD_TYPES,
        lambda data: load_upload(data, size),
        salt=str(size),
    )
    if last is None:
        st.info("No image yet: until you upload one, the digit 3 sample is shown.")
        return InputChoice(samples.digit(3, size), "the digit 3 sample (no upload yet)")
    (grey, rgb), name = last
    return InputChoice(grey, f"{name} ({grey.shape[0]}×{grey.shape[1]})", rgb)


def _random(page: str) -> InputChoice:
    a, b = st.columns(2)
    size = int(
        a.number_input(
            "Size", min_value=1, max_value=samples.MAX_SIZE, value=6, step=1, **state.keep(page, "random_size")
        )
    )
    seed = int(
        b.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, **state.keep(page, "random_seed"))
    )
    return InputChoice(samples.random_integers(size, seed), f"random integers 0–9 ({size}×{size}, seed {seed})")


def _typed(page: str) -> InputChoice:
    text = st.text_area(
        "Matrix: one row per line, numbers separated by spaces or commas",
        value="1 2 3 4\n5 6 7 8\n9 10 11 12\n13 14 15 16",
        **state.keep(page, "typed"),
    )
    try:
        arr = kernels.parse_matrix(text, max_size=MAX_TYPED, what="input")
        state.put(page, "typed_last", arr)
    except kernels.KernelError as e:
        st.error(f"{e} Showing the last valid matrix.")
    arr = state.get(page, "typed_last", None)
    if arr is None:
        arr = samples.WORKED_4X4
    return InputChoice(arr, f"your matrix ({arr.shape[0]}×{arr.shape[1]})")


def input_chooser(page: str, default: str = WORKED_3X3, size: int = 14) -> InputChoice:
    """Pick the input image; returns the array the engine will use (the last valid one on errors).
    ``size``: the grid size a drawing, sample or upload starts at (one of ``samples.SIZES``)."""
    given = handoff.held() if page == handoff.PAGE else None
    options = ((handoff.FROM_DRAW,) if given is not None else ()) + SOURCES
    source = st.selectbox("Input", options, index=options.index(default), **state.keep(page, "source"))
    if given is not None and source == handoff.FROM_DRAW:
        st.caption(f"The input of {given.label}, as the network computed it for your drawing.")
        return InputChoice(
            given.image, f"the input of {given.label} ({given.image.shape[0]}×{given.image.shape[1]})", given.channels
        )
    if source == WORKED_3X3:
        return InputChoice(samples.WORKED_3X3, "the worked example [[1, 2, 3], [4, 5, 6], [7, 8, 9]]")
    if source == WORKED_4X4:
        return InputChoice(samples.WORKED_4X4, "the 4×4 worked example 1 … 16")
    if source == DRAW:
        return _drawn(page, size)
    if source == SAMPLE:
        return _sample(page, size)
    if source == UPLOAD:
        return _uploaded(page, size)
    if source == RANDOM:
        return _random(page)
    return _typed(page)
