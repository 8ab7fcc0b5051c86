"""2-D convolution three ways: the direct sliding window, im2col, and im2col as one matrix product (GEMM).

Like PyTorch and Keras, "convolution" here is cross-correlation unless ``flip`` is set, which rotates
the kernel by 180° first (the true convolution of signal processing).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.ops._common import OpError, as_float_array, as_pair, check_finite_result
from playground.ops.padding import (
    PADDING_MODES,
    Pads,
    check_work,
    output_size,
    output_size_formula,
    pad,
    resolve_padding,
)


@dataclass(frozen=True)
class ConvSettings:
    """How the kernel slides over the input; every field has a default like PyTorch's nn.Conv2d.

    Ints given for stride/dilation are stored as (n, n); the settings are checked when used (``check``),
    so building one never raises.
    """

    stride: tuple[int, int] = (1, 1)  # (sh, sw), each >= 1
    padding: int | tuple[int, int] | tuple[int, int, int, int] | str = 0  # p, (ph, pw), (t, b, l, r), "valid", "same"
    padding_mode: str = "zeros"  # "zeros" | "reflect" | "replicate"
    dilation: tuple[int, int] = (1, 1)  # (dh, dw), each >= 1; gaps of d-1 pixels between kernel taps
    flip: bool = False  # True: true convolution (kernel rotated 180°); False: cross-correlation (PyTorch/Keras)

    def __post_init__(self) -> None:
        for name in ("stride", "dilation"):
            value = getattr(self, name)
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                object.__setattr__(self, name, (int(value), int(value)))
            elif isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        if isinstance(self.padding, list):
            object.__setattr__(self, "padding", tuple(self.padding))

    def check(self) -> None:
        """Raise OpError for a stride or dilation below 1 or an unknown padding mode."""
        sh, sw = as_pair(self.stride, "Stride")
        if min(sh, sw) < 1:
            raise OpError(f"Stride must be 1 or more along both axes (got {sh}, {sw}); use a stride of at least 1.")
        dh, dw = as_pair(self.dilation, "Dilation")
        if min(dh, dw) < 1:
            raise OpError(f"Dilation must be 1 or more along both axes (got {dh}, {dw}); 1 means no gaps.")
        if self.padding_mode not in PADDING_MODES:
            raise OpError(f"Padding mode {self.padding_mode!r} is not known; choose one of {', '.join(PADDING_MODES)}.")

    def pads(self, kernel_hw: tuple[int, int]) -> Pads:
        """The (top, bottom, left, right) padding these settings give for a kernel of ``kernel_hw``."""
        self.check()
        return resolve_padding(self.padding, kernel_hw, self.stride, self.dilation)


def conv_output_shape(
    input_hw: tuple[int, int], kernel_hw: tuple[int, int], settings: ConvSettings = ConvSettings()
) -> tuple[int, int]:
    """(OH, OW) for an (H, W) input; OpError when the kernel does not fit in the padded input."""
    top, bottom, left, right = settings.pads(kernel_hw)
    (sh, sw), (dh, dw) = as_pair(settings.stride, "Stride"), as_pair(settings.dilation, "Dilation")
    oh = output_size(input_hw[0], kernel_hw[0], sh, top, bottom, dh, unit="row")
    ow = output_size(input_hw[1], kernel_hw[1], sw, left, right, dw, unit="column")
    check_work((input_hw[0] + top + bottom, input_hw[1] + left + right), (oh, ow), kernel_hw)
    return oh, ow


def conv_output_formulas(
    input_hw: tuple[int, int], kernel_hw: tuple[int, int], settings: ConvSettings = ConvSettings()
) -> tuple[str, str]:
    """The output-size formula for the rows and for the columns, with these numbers plugged in
    (the value can be 0 or below when the kernel does not fit: the formula shows why)."""
    top, bottom, left, right = settings.pads(kernel_hw)
    (sh, sw), (dh, dw) = as_pair(settings.stride, "Stride"), as_pair(settings.dilation, "Dilation")
    return (
        output_size_formula(input_hw[0], kernel_hw[0], sh, top, bottom, dh),
        output_size_formula(input_hw[1], kernel_hw[1], sw, left, right, dw),
    )


def check_conv_inputs(x: Any, w: Any, b: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """x (N, C, H, W), w (F, C, KH, KW), b (F,) or None as float64 arrays, or OpError saying what is wrong."""
    x, w = as_float_array(x, "input"), as_float_array(w, "kernel")
    if x.ndim != 4:
        raise OpError(f"The input must have 4 dimensions (images, channels, rows, columns); got {x.ndim}.")
    if w.ndim != 4:
        raise OpError(f"The kernel must have 4 dimensions (filters, channels, rows, columns); got {w.ndim}.")
    if x.size == 0:
        raise OpError("The input is empty; give it at least one row and one column.")
    if w.size == 0:
        raise OpError("The kernel is empty; give it at least one value.")
    if x.shape[1] != w.shape[1]:
        raise OpError(
            f"The input has {x.shape[1]} channel(s) but the kernel has {w.shape[1]}; give the kernel {x.shape[1]} channel(s)."
        )
    if b is not None:
        b = as_float_array(b, "bias").reshape(-1)
        if b.shape != (w.shape[0],):
            raise OpError(f"The bias needs one value per filter ({w.shape[0]}); got {b.size}.")
    return x, w, b


def conv2d(x: Any, w: Any, b: Any = None, settings: ConvSettings = ConvSettings()) -> np.ndarray:
    """Direct (sliding-window) 2-D convolution: x (N, C, H, W), w (F, C, KH, KW), b (F,) -> (N, F, OH, OW).

    Each output cell is the sum over channels and kernel taps of window × kernel, plus the filter's bias.
    """
    x, w, b = check_conv_inputs(x, w, b)
    kh, kw = w.shape[2:]
    oh, ow = conv_output_shape(x.shape[2:], (kh, kw), settings)
    (sh, sw), (dh, dw) = as_pair(settings.stride, "Stride"), as_pair(settings.dilation, "Dilation")
    if settings.flip:
        w = w[:, :, ::-1, ::-1]  # true convolution: rotate the kernel by 180°
    xp = pad(x, settings.pads((kh, kw)), settings.padding_mode)
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))  # sum over C, KH, KW
    if b is not None:
        out += b[None, :, None, None]
    return check_finite_result(out)


def im2col(x_padded: Any, kernel_hw: tuple[int, int], stride: Any = (1, 1), dilation: Any = (1, 1)) -> np.ndarray:
    """Unfold every window of an already padded image into a column: (C, Hp, Wp) -> (C·KH·KW, OH·OW).

    Row order is channel-major, then kernel row, then kernel column, the order of ``w.reshape(F, -1)``,
    so the convolution becomes one matrix product. A 2-D (Hp, Wp) image counts as one channel; a batch
    (N, C, Hp, Wp) gives one such matrix per image, (N, C·KH·KW, OH·OW).
    """
    xp = as_float_array(x_padded, "input")
    if xp.ndim == 2:
        xp = xp[None]
    if xp.ndim not in (3, 4):
        raise OpError(f"im2col needs one image of shape (channels, rows, columns); got {xp.ndim} dimensions.")
    kh, kw = as_pair(kernel_hw, "Kernel size")
    (sh, sw), (dh, dw) = as_pair(stride, "Stride"), as_pair(dilation, "Dilation")
    oh = output_size(xp.shape[-2], kh, sh, 0, 0, dh, unit="row")
    ow = output_size(xp.shape[-1], kw, sw, 0, 0, dw, unit="column")
    lead, channels = xp.shape[:-3], xp.shape[-3]
    cols = np.empty((*lead, channels, kh, kw, oh, ow))
    for r in range(kh):
        for c in range(kw):
            # every output position's value under kernel tap (r, c)
            cols[..., r, c, :, :] = xp[
                ..., r * dh : r * dh + sh * (oh - 1) + 1 : sh, c * dw : c * dw + sw * (ow - 1) + 1 : sw
            ]
    return cols.reshape(*lead, channels * kh * kw, oh * ow)


def conv2d_gemm(x: Any, w: Any, b: Any = None, settings: ConvSettings = ConvSettings()) -> np.ndarray:
    """The same result as :func:`conv2d`, as one matrix product per image:
    W (F, C·KH·KW) @ im2col (C·KH·KW, OH·OW) -> (F, OH·OW), reshaped to (N, F, OH, OW)."""
    x, w, b = check_conv_inputs(x, w, b)
    kh, kw = w.shape[2:]
    oh, ow = conv_output_shape(x.shape[2:], (kh, kw), settings)
    if settings.flip:
        w = w[:, :, ::-1, ::-1]
    xp = pad(x, settings.pads((kh, kw)), settings.padding_mode)
    w_rows = w.reshape(w.shape[0], -1)  # (F, C·KH·KW)
    stride, dilation = as_pair(settings.stride, "Stride"), as_pair(settings.dilation, "Dilation")
    out = w_rows @ im2col(xp, (kh, kw), stride, dilation)  # (F, K) @ (N, K, OH·OW): one product per image
    out = out.reshape(x.shape[0], w.shape[0], oh, ow)
    if b is not None:
        out += b[None, :, None, None]
    return check_finite_result(out)


@dataclass(frozen=True, eq=False)
class Im2colComparison:
    """One filter over one image computed both ways, for the im2col view."""

    cols: np.ndarray  # (C*KH*KW, OH*OW) the unfolded padded input
    gemm: np.ndarray  # (OH, OW) kernel row @ cols (+ bias), reshaped
    direct: np.ndarray  # (OH, OW) the sliding-window result
    max_abs_diff: float  # largest |gemm − direct|
    size_ratio: float  # numbers in cols per number in the input: every pixel copied into each window covering it


def im2col_comparison(
    x: np.ndarray, w: np.ndarray, b: float = 0.0, settings: ConvSettings = ConvSettings()
) -> Im2colComparison:
    """x (H, W) with kernel w (KH, KW): the unfolded matrix, the GEMM result, the direct result and their gap."""
    x4, w4, bias = np.asarray(x, float)[None, None], np.asarray(w, float)[None, None], np.array([float(b)])
    gemm = conv2d_gemm(x4, w4, bias, settings)[0, 0]
    direct = conv2d(x4, w4, bias, settings)[0, 0]
    padded = pad(x4[0], settings.pads(w4.shape[-2:]), settings.padding_mode)
    cols = im2col(padded, w4.shape[-2:], settings.stride, settings.dilation)
    return Im2colComparison(cols, gemm, direct, float(np.max(np.abs(gemm - direct))), cols.size / x4.size)
