"""Reusable controls that return config objects: kernel chooser/editor, convolution and pooling
settings, step controls (first / previous / next / last, keyboard shortcuts, a position slider).

A control whose value cannot be used shows one sentence right under itself and the last valid
value stays in use; the engine's own checks (``ops.OpError``) are shown by the caller in the
``problems`` slot that sits under the settings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from playground import ops
from playground.errors import PlaygroundError
from playground.ops import kernels, samples
from playground.ui import handoff, state

WORKED_KERNEL = "Worked example [[1, 2], [3, 4]]"
CUSTOM_GRID = "Custom: edit a grid"
CUSTOM_TEXT = "Custom: type rows"
KERNEL_OPTIONS = (WORKED_KERNEL, *kernels.PRESETS, CUSTOM_GRID, CUSTOM_TEXT)
PADDING_KINDS = ("number", "valid", "same", "per side")
SHORTCUTS = {"first": "home", "previous": "left", "next": "right", "last": "end"}
# Page Down / Page Up (a presentation clicker) come from ui/page_helpers.py, which presses the buttons
KEYS_LEGEND = "Keys: → or Page Down next · ← or Page Up previous · Home / End first / last"


@dataclass(frozen=True)
class KernelChoice:
    """The kernel as typed or chosen (KH, KW), before any flip; ``name`` and ``description`` for captions."""

    array: np.ndarray
    name: str
    description: str = ""


@dataclass(frozen=True)
class ConvControls:
    """Everything the convolution controls set, validated by the engine when used."""

    settings: ops.ConvSettings = ops.ConvSettings()
    bias: float = 0.0  # added to every output cell
    activation: str = "none"  # a key of ops.ACTIVATIONS, applied after the convolution


def _grid_base(page: str, rows: int, cols: int) -> list[list[str]]:
    """Starting cells for a custom grid of this size: the last preset if it fits, else a centred 1."""
    last = state.get(page, "last_preset", None)
    if last is not None and last.shape == (rows, cols):
        values = last
    else:
        values = np.zeros((rows, cols))
        values[rows // 2, cols // 2] = 1.0
    return [[f"{v:.6g}" for v in row] for row in values]


def _custom_grid(page: str) -> np.ndarray:
    """A rows×cols grid of text cells (1×1 .. 7×7); raises KernelError for a bad cell."""
    a, b = st.columns(2)
    rows = int(
        a.number_input(
            "Rows", min_value=1, max_value=kernels.MAX_KERNEL, value=3, step=1, **state.keep(page, "kernel_rows")
        )
    )
    cols = int(
        b.number_input(
            "Columns", min_value=1, max_value=kernels.MAX_KERNEL, value=3, step=1, **state.keep(page, "kernel_cols")
        )
    )
    base = state.get(page, f"kernel_base.{rows}x{cols}", _grid_base(page, rows, cols))
    frame = pd.DataFrame(base, columns=[str(c + 1) for c in range(cols)], dtype=object)
    config = {str(c + 1): st.column_config.TextColumn(str(c + 1), width="small") for c in range(cols)}
    edited = st.data_editor(
        frame,
        hide_index=True,
        num_rows="fixed",
        column_config=config,
        key=state.key(page, f"kernel_grid.{rows}x{cols}"),
    )
    arr = kernels.parse_kernel(edited)
    # the grid's own edits are lost on a page switch; its base keeps the last valid kernel instead
    state.put(page, f"kernel_base.{rows}x{cols}", [[str(v) for v in row] for row in edited.to_numpy().tolist()])
    return arr


def kernel_chooser(page: str) -> KernelChoice:
    """A preset (with its one-sentence description), the worked example, or a custom 1×1..7×7 kernel."""
    given = handoff.held() if page == handoff.PAGE else None
    options = ((handoff.FROM_DRAW,) if given is not None else ()) + KERNEL_OPTIONS
    choice = st.selectbox("Kernel", options, **state.keep(page, "kernel"))
    if given is not None and choice == handoff.FROM_DRAW:
        st.caption(f"The learned kernel of {given.label}; bias {given.bias:.4g}.")
        return KernelChoice(given.kernel, f"the learned kernel of {given.label}", "A kernel the network learned.")
    if choice == WORKED_KERNEL:
        return KernelChoice(samples.WORKED_KERNEL_2X2, "worked example", "The 2×2 kernel of the worked example.")
    if choice in kernels.PRESETS:
        preset = kernels.PRESETS[choice]
        state.put(page, "last_preset", preset.array)
        st.caption(preset.description)
        return KernelChoice(preset.array, preset.name, preset.description)
    try:
        if choice == CUSTOM_GRID:
            arr = _custom_grid(page)
        else:
            text = st.text_area(
                "Kernel rows (one row per line; fractions like 1/9 work)",
                value="0 -1 0\n-1 5 -1\n0 -1 0",
                **state.keep(page, "kernel_text"),
            )
            arr = kernels.parse_kernel(text)
        state.put(page, "kernel_last", arr)
    except kernels.KernelError as e:
        st.error(f"{e} The last valid kernel is still in use.")
    arr = state.get(page, "kernel_last", None)
    if arr is None:
        arr = kernels.PRESETS["Identity"].array
    return KernelChoice(arr, "custom", "Your own kernel.")


def _pair(page: str, name: str, label: str, value: int = 1) -> tuple[int, int]:
    a, b = st.columns(2)
    rows = a.number_input(f"{label} (rows)", value=value, step=1, **state.keep(page, f"{name}_rows"))
    cols = b.number_input(f"{label} (columns)", value=value, step=1, **state.keep(page, f"{name}_cols"))
    return int(rows), int(cols)


def _padding(page: str) -> int | str | tuple[int, int, int, int]:
    kind = st.radio("Padding", PADDING_KINDS, horizontal=True, **state.keep(page, "padding_kind"))
    if kind == "number":
        return int(st.number_input("Padding pixels on every side", value=0, step=1, **state.keep(page, "padding")))
    if kind == "per side":
        cells = st.columns(4)
        return tuple(
            int(c.number_input(side, value=0, step=1, **state.keep(page, f"pad_{side}")))
            for c, side in zip(cells, ("top", "bottom", "left", "right"))
        )
    return kind


def conv_controls(page: str) -> ConvControls:
    """Stride per axis, padding (number / valid / same / per side) and its mode, dilation, bias,
    the flip switch and the activation. Values are checked by the engine, not here."""
    stride = _pair(page, "stride", "Stride")
    padding = _padding(page)
    mode = st.selectbox(
        "Padding mode",
        ops.PADDING_MODES,
        **state.keep(page, "padding_mode"),
        help="zeros: pad with 0; reflect: mirror the image without repeating the edge; "
        "replicate: repeat the edge pixel.",
    )
    dilation = int(
        st.number_input("Dilation (gap + 1 between kernel taps)", value=1, step=1, **state.keep(page, "dilation"))
    )
    bias = float(
        st.number_input("Bias", min_value=-1e6, max_value=1e6, value=0.0, step=0.5, **state.keep(page, "bias"))
    )
    flip = st.toggle(
        "True convolution (flip the kernel 180°)",
        **state.keep(page, "flip"),
        help="Off: cross-correlation, what PyTorch and Keras compute. On: the kernel is rotated first.",
    )
    activation = st.selectbox(
        "Activation after the convolution",
        list(ops.ACTIVATIONS),
        format_func=ops.ACTIVATION_LABELS.get,
        **state.keep(page, "activation"),
    )
    settings = ops.ConvSettings(
        stride=stride, padding=padding, padding_mode=mode, dilation=(dilation, dilation), flip=flip
    )
    return ConvControls(settings, bias, activation)


def pool_controls(page: str) -> ops.PoolSettings:
    """Max or average, window size, stride, padding, and count_include_pad for the average."""
    kind = st.radio(
        "Pooling",
        ops.POOL_KINDS,
        horizontal=True,
        **state.keep(page, "kind"),
        format_func={"max": "Max", "avg": "Average"}.get,
    )
    size = int(st.number_input("Window size", value=2, step=1, **state.keep(page, "size_px")))
    stride = int(st.number_input("Stride", value=2, step=1, **state.keep(page, "stride")))
    padding = int(st.number_input("Padding (at most half the window)", value=0, step=1, **state.keep(page, "padding")))
    include = True
    if kind == "avg":
        include = st.toggle(
            "Padding counts in the average (count_include_pad)",
            value=True,
            **state.keep(page, "count_include_pad"),
            help="On, like PyTorch's default: padding zeros count in the divisor. "
            "Off: divide by the number of real pixels under the window.",
        )
    return ops.PoolSettings(
        kind=kind, size=(size, size), stride=(stride, stride), padding=padding, count_include_pad=include
    )


def _shift(page: str, delta: int, n_steps: int) -> None:
    state.set_step_index(page, state.step_index(page, n_steps) + delta, n_steps)


def _jump(page: str, index: int, n_steps: int) -> None:
    state.set_step_index(page, index, n_steps)


def _from_slider(page: str, n_steps: int) -> None:
    state.set_step_index(page, int(state.get(page, "step_slider", 1)) - 1, n_steps)


def step_controls(page: str, n_steps: int) -> int:
    """First / previous / next / last (keys Home, ←, →, End) and a position slider; returns the
    current 0-based step, clamped into range so a settings change never leaves it dangling."""
    index = state.step_index(page, n_steps)
    # a row that wraps rather than columns that squeeze: each label stays whole beside its key hint
    # (in five columns they read "‹ P…" and "N…" at 1024 px), and on a phone the four stay together
    row = st.container(horizontal=True, wrap=True, gap="small", vertical_alignment="bottom", key=f"{page}-step-buttons")
    row.button(
        "« First",
        key=state.key(page, "first"),
        shortcut=SHORTCUTS["first"],
        on_click=_jump,
        args=(page, 0, n_steps),
        help="Shortcut: Home",
    )
    row.button(
        "‹ Previous",
        key=state.key(page, "previous"),
        shortcut=SHORTCUTS["previous"],
        on_click=_shift,
        args=(page, -1, n_steps),
        help="Shortcut: ← (left arrow)",
    )
    row.button(
        "Next ›",
        key=state.key(page, "next"),
        shortcut=SHORTCUTS["next"],
        on_click=_shift,
        args=(page, 1, n_steps),
        help="Shortcut: → (right arrow)",
    )
    row.button(
        "Last »",
        key=state.key(page, "last"),
        shortcut=SHORTCUTS["last"],
        on_click=_jump,
        args=(page, n_steps - 1, n_steps),
        help="Shortcut: End",
    )
    if n_steps > 1:
        state.seed_widget(page, "step_slider", index + 1)
        with row.container(width="stretch", key=f"{page}-step-slider-cell"):  # the rest of the row, or one of its own
            st.slider(
                "Step",
                label_visibility="collapsed",  # the figure's title says "Step k of n"; the row stays one button high
                min_value=1,
                max_value=n_steps,
                **state.keep(page, "step_slider"),
                on_change=_from_slider,
                args=(page, n_steps),
            )
    else:
        row.caption("There is only one output cell, so there is one step.")
    st.container(key=f"{page}-keys-legend").caption(KEYS_LEGEND)  # presenter mode: in its popover instead
    return state.step_index(page, n_steps)


def view_chooser(page: str, views: tuple[str, ...]) -> str:
    """Which part of the page to show; only the chosen one is computed and drawn."""
    return st.radio("Show", views, horizontal=True, **state.keep(page, "view"), label_visibility="collapsed")


UPLOAD_MB = 5  # an image or a design; the server allows 32 MB (server.maxUploadSize) for models on Train

# MIME types sent along with the extensions (see file_upload)
MIME_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "json": "application/json",
    "safetensors": "application/octet-stream",
}


def file_upload(page: str, name: str, label: str, types: list[str], **kwargs):
    """``st.file_uploader`` (key ``page.name``) for files whose contents the page checks itself.

    Given only extensions, Streamlit refuses a file with any other name (an ``.svg``, a renamed file, one
    sent by a script) by raising before the page runs: the error box, and the session's callbacks fail
    with it. With the MIME types beside the extensions it leaves the choice to the browser, which still
    offers only these files; whatever arrives anyway meets the page's own check of its contents (the
    image decoder, the model and design readers), which says in one sentence what is wrong and keeps
    the last good file. ``kwargs`` go to st.file_uploader (help, on_change, max_upload_size).
    """
    accept = list(types) + sorted({MIME_TYPES[t] for t in types})
    kwargs.setdefault("max_upload_size", UPLOAD_MB)
    return st.file_uploader(label, type=accept, key=state.key(page, name), **kwargs)


def kept_upload(
    page: str, name: str, label: str, types: list[str], read, *, what: str = "image", salt: str = "", **kwargs
):
    """An upload read once per file by ``read(bytes)``; a file it refuses (a PlaygroundError) gets its one
    sentence and the last good one stays, with a caption naming it. Returns (value, file name) of the file in
    use, or None before any could be read. ``salt`` joins the file's hash where ``read`` depends on more
    than the bytes (a photo fitted to a model's input size)."""
    file = file_upload(page, name, label, types, **kwargs)
    if file is not None:
        data = file.getvalue()
        try:
            value = state.memo(page, name, f"{hashlib.sha256(data).hexdigest()}|{salt}", lambda: read(data))
            state.put(page, f"{name}_last", (value, file.name, salt))
        except PlaygroundError as e:
            st.error(str(e))
    last = state.get(page, f"{name}_last", None)
    if last is None or last[2] != salt:
        return None
    if file is None or file.name != last[1]:
        st.caption(f"Showing the last {what} that could be read: {last[1]}.")
    return last[0], last[1]


def engine_run(page: str, fingerprint: str, compute, fallback, problems, kept: str = "configuration"):
    """``compute()`` once per ``fingerprint`` (a rerun with the same inputs reuses it); when the engine refuses
    the inputs, its message goes in ``problems`` (the slot under the settings) and the last valid run (or
    ``fallback()`` in a fresh session) stays on screen, with a warning saying so."""
    try:
        run = state.memo(page, "run", fingerprint, compute)
        state.put(page, "last_run", run)
        return run
    except ops.OpError as e:
        message = str(e)
        problems.error(message)
    last = state.get(page, "last_run", None)
    if last is None:
        last = fallback()
    st.warning(f"These settings cannot be used: {message} The last valid {kept} is shown.")
    return last
