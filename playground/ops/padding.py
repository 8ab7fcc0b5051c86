"""Padding and output size: how many rows and columns a sliding window adds to and produces from an image.

Pads are always (top, bottom, left, right), in pixels of the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playground.ops._common import MINUS, OpError, as_int, as_pair, plural

Pads = tuple[int, int, int, int]  # (top, bottom, left, right)

PADDING_MODES = ("zeros", "reflect", "replicate")
MAX_PADDING = 256  # per side; more only allocates memory without teaching anything
# Work one request may cost, so one student cannot stall a shared server (one Python process serves every
# session's script runs in turn): 10,000 steps are built in about 0.2 s here, 51,076 took 0.9 s.
MAX_STEPS = 10_000  # output cells (window positions) one operation may compute or list step by step
MAX_CELLS = 1_000_000  # numbers one operation may lay out: the padded input, or all its windows together


def effective_kernel_size(k: int, dilation: int = 1) -> int:
    """Span of a k-tap kernel with gaps of ``dilation - 1`` pixels: d·(k−1) + 1."""
    return dilation * (k - 1) + 1


def resolve_padding(padding: Any, kernel_hw: tuple[int, int], stride: Any = (1, 1), dilation: Any = (1, 1)) -> Pads:
    """Turn any accepted padding setting into explicit (top, bottom, left, right) pixel counts.

    ``padding``: int p (all sides), (ph, pw), (top, bottom, left, right), "valid" (no padding) or
    "same" (output as large as the input; stride 1 only, as in PyTorch; an even effective kernel puts
    the extra row at the bottom and the extra column on the right, like PyTorch and TF/Keras).
    """
    if isinstance(padding, str):
        word = padding.strip().lower()
        if word == "valid":
            return (0, 0, 0, 0)
        if word == "same":
            if as_pair(stride, "Stride") != (1, 1):
                raise OpError(
                    "'same' padding needs stride 1 (PyTorch's rule); set the stride to 1 or choose a number of padding pixels."
                )
            kh, kw = as_pair(kernel_hw, "Kernel size")
            dh, dw = as_pair(dilation, "Dilation")
            total_h = effective_kernel_size(kh, dh) - 1
            total_w = effective_kernel_size(kw, dw) - 1
            return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
        raise OpError(f"Padding {padding!r} is not understood; use a whole number, 'valid' or 'same'.")
    if isinstance(padding, (tuple, list, np.ndarray)) and len(padding) == 4:
        pads = tuple(as_int(p, "Padding") for p in padding)
    elif isinstance(padding, (tuple, list, np.ndarray)) and len(padding) != 2:
        raise OpError(
            f"Padding must be one number, a pair (rows, columns) or four numbers (top, bottom, left, right); got {len(padding)} numbers."
        )
    else:
        ph, pw = as_pair(padding, "Padding")
        pads = (ph, ph, pw, pw)
    if min(pads) < 0:
        raise OpError(f"Padding cannot be negative (got {min(pads)}); use 0 or more pixels.")
    if max(pads) > MAX_PADDING:
        raise OpError(
            f"Padding of {max(pads)} pixels is more than this playground supports; use at most {MAX_PADDING}."
        )
    return pads  # type: ignore[return-value]


def check_work(
    padded_hw: tuple[int, int], out_hw: tuple[int, int], window_hw: tuple[int, int], channels: int = 1
) -> None:
    """Refuse, before anything is allocated, settings whose work would hold a shared server: more than
    MAX_STEPS window positions, or more than MAX_CELLS numbers in the padded input or in all windows
    together (channels × rows × columns each). Every convolution and pooling entry point calls this."""
    padded = channels * padded_hw[0] * padded_hw[1]
    steps = out_hw[0] * out_hw[1]
    windows = steps * channels * window_hw[0] * window_hw[1]
    fix = "use a smaller input, window or kernel, less padding or a larger stride"
    if padded > MAX_CELLS:
        raise OpError(
            f"The padded input would hold {padded:,} numbers; this playground handles at most {MAX_CELLS:,}: {fix}."
        )
    if steps > MAX_STEPS:
        raise OpError(
            f"These settings give {steps:,} output cells ({out_hw[0]:,}×{out_hw[1]:,}); this playground computes "
            f"at most {MAX_STEPS:,} at a time: {fix}."
        )
    if windows > MAX_CELLS:
        raise OpError(
            f"These settings read {windows:,} numbers ({steps:,} windows of {channels * window_hw[0] * window_hw[1]:,}); "
            f"this playground handles at most {MAX_CELLS:,} at a time: {fix}."
        )


def same_padding_note(kernel_hw: tuple[int, int], dilation: Any = (1, 1)) -> str:
    """One sentence saying exactly where 'same' puts its padding, e.g. for an even kernel:
    "Kernel 2×2: 'same' pads 0 rows on top, 1 at the bottom, 0 columns left, 1 right."
    """
    kh, kw = as_pair(kernel_hw, "Kernel size")
    dh, dw = as_pair(dilation, "Dilation")
    top, bottom, left, right = resolve_padding("same", (kh, kw), (1, 1), (dh, dw))
    name = f"Kernel {kh}×{kw}"
    if (dh, dw) != (1, 1):
        name += f" at dilation {dh}×{dw} (spans {effective_kernel_size(kh, dh)}×{effective_kernel_size(kw, dw)})"
    return f"{name}: 'same' pads {plural(top, 'row')} on top, {bottom} at the bottom, {plural(left, 'column')} left, {right} right."


def output_size(
    n: int,
    k: int,
    stride: int = 1,
    pad_before: int = 0,
    pad_after: int = 0,
    dilation: int = 1,
    *,
    what: str = "kernel",
    unit: str = "pixel",
) -> int:
    """Number of window positions along one axis: ⌊(n + p_before + p_after − d·(k−1) − 1) / s⌋ + 1.

    Raises OpError when it would be below 1, i.e. the (dilated) window does not fit in the padded input.
    ``what`` and ``unit`` only word the message ("kernel"/"pooling window", "row"/"column").
    """
    n, k = as_int(n, "Input size"), as_int(k, "Kernel size")
    stride, dilation = as_int(stride, "Stride"), as_int(dilation, "Dilation")
    pad_before, pad_after = as_int(pad_before, "Padding"), as_int(pad_after, "Padding")
    if n < 1:
        raise OpError(f"The input has no {unit}s; give it at least one.")
    if k < 1:
        raise OpError(f"The {what} has no {unit}s; give it at least one.")
    if stride < 1:
        raise OpError(f"Stride must be 1 or more (got {stride}); use a stride of at least 1.")
    if dilation < 1:
        raise OpError(f"Dilation must be 1 or more (got {dilation}); 1 means no gaps.")
    if min(pad_before, pad_after) < 0:
        raise OpError(f"Padding cannot be negative (got {min(pad_before, pad_after)}); use 0 or more pixels.")
    span = effective_kernel_size(k, dilation)
    padded = n + pad_before + pad_after
    if span > padded:
        at = f" at dilation {dilation}" if dilation > 1 else ""
        fix = (
            f"use a smaller {what}"
            + (", less dilation" if dilation > 1 else "")
            + (" or more padding" if what == "kernel" else "")
        )
        raise OpError(
            f"The {what} spans {plural(span, unit)}{at} but the padded input has only {plural(padded, unit)}; {fix}."
        )
    return (padded - span) // stride + 1


def output_size_formula(
    n: int, k: int, stride: int = 1, pad_before: int = 0, pad_after: int = 0, dilation: int = 1
) -> str:
    """The output-size formula with the user's numbers plugged in, e.g.
    "⌊(5 + 1 + 1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 3". The value after "=" is the raw formula, so it can be
    0 or negative when the kernel does not fit (``output_size`` raises for those)."""
    n, k = as_int(n, "Input size"), as_int(k, "Kernel size")
    stride, dilation = as_int(stride, "Stride"), as_int(dilation, "Dilation")
    pad_before, pad_after = as_int(pad_before, "Padding"), as_int(pad_after, "Padding")
    if stride < 1:
        raise OpError(f"Stride must be 1 or more (got {stride}); use a stride of at least 1.")
    value = (n + pad_before + pad_after - dilation * (k - 1) - 1) // stride + 1
    text = f"⌊({n} + {pad_before} + {pad_after} {MINUS} {dilation}·({k} {MINUS} 1) {MINUS} 1) / {stride}⌋ + 1 = {value}"
    return text.replace("= -", "= " + MINUS)


def pad(x: np.ndarray, pads: Pads, mode: str = "zeros") -> np.ndarray:
    """Pad the last two axes of ``x`` (…, H, W) -> (…, H+top+bottom, W+left+right), as float64.

    "zeros" adds zeros, "replicate" repeats the edge pixel, "reflect" mirrors the image without repeating
    the edge (PyTorch's reflect), which needs each pad to be smaller than the image on that axis.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise OpError(f"Only arrays with at least 2 dimensions (rows, columns) can be padded; got {x.ndim}.")
    if len(pads) != 4:
        raise OpError(f"Pads must be four numbers (top, bottom, left, right); got {len(pads)}.")
    top, bottom, left, right = (as_int(p, "Padding") for p in pads)
    if min(top, bottom, left, right) < 0:
        raise OpError(f"Padding cannot be negative (got {min(top, bottom, left, right)}); use 0 or more pixels.")
    if mode not in PADDING_MODES:
        raise OpError(f"Padding mode {mode!r} is not known; choose one of {', '.join(PADDING_MODES)}.")
    h, w = x.shape[-2:]
    if h == 0 or w == 0:
        raise OpError("The input is empty; give it at least one row and one column.")
    if mode == "reflect":
        for p, size, unit in ((max(top, bottom), h, "row"), (max(left, right), w, "column")):
            if p >= size:
                raise OpError(
                    f"Reflect padding of {p} needs an input with at least {plural(p + 1, unit)}, but it has "
                    f"{size}; use less padding or the 'replicate' mode."
                )
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}[mode]
    return np.pad(x, widths, mode=np_mode)
