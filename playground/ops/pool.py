"""Pooling: max and average over sliding windows, global average pooling, and a shift-invariance measure."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.ops._common import OpError, as_float_array, as_int, as_pair, check_finite_result
from playground.ops.padding import check_work, output_size, output_size_formula

POOL_KINDS = ("max", "avg")


@dataclass(frozen=True)
class PoolSettings:
    """How the pooling window slides; defaults follow PyTorch's MaxPool2d / AvgPool2d.

    Ints given for size/stride/padding are stored as (n, n); the settings are checked when used.
    """

    kind: str = "max"  # "max" | "avg"
    size: tuple[int, int] = (2, 2)  # (KH, KW) window
    stride: tuple[int, int] | None = None  # None -> same as size (PyTorch default: windows do not overlap)
    padding: int | tuple[int, int] = 0  # symmetric per axis, at most half the window (PyTorch rule)
    count_include_pad: bool = True  # avg only: padding zeros count in the divisor, as in PyTorch; max pads with −inf

    def __post_init__(self) -> None:
        for name in ("size", "stride", "padding"):
            value = getattr(self, name)
            if isinstance(value, numbers.Integral) and not isinstance(value, bool) and name != "padding":
                object.__setattr__(self, name, (int(value), int(value)))
            elif isinstance(value, list):
                object.__setattr__(self, name, tuple(value))

    def resolved(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        """((KH, KW), (SH, SW), (PH, PW)) after checking every field; OpError names the one at fault."""
        if self.kind not in POOL_KINDS:
            raise OpError(f"Pooling kind {self.kind!r} is not known; choose 'max' or 'avg'.")
        kh, kw = as_pair(self.size, "Pooling size")
        if min(kh, kw) < 1:
            raise OpError(
                f"Pooling size must be 1 or more along both axes (got {kh}, {kw}); use a window of at least 1×1."
            )
        sh, sw = (kh, kw) if self.stride is None else as_pair(self.stride, "Pooling stride")
        if min(sh, sw) < 1:
            raise OpError(
                f"Pooling stride must be 1 or more along both axes (got {sh}, {sw}); use a stride of at least 1."
            )
        ph, pw = as_pair(self.padding, "Pooling padding")
        if min(ph, pw) < 0:
            raise OpError(f"Pooling padding cannot be negative (got {min(ph, pw)}); use 0 or more pixels.")
        for p, k in ((ph, kh), (pw, kw)):
            if 2 * p > k:
                raise OpError(
                    f"Pooling padding {p} is more than half the window size {k}; use at most {k // 2} (PyTorch's rule)."
                )
        return (kh, kw), (sh, sw), (ph, pw)


def pool_output_shape(input_hw: tuple[int, int], settings: PoolSettings = PoolSettings()) -> tuple[int, int]:
    """(OH, OW) for an (H, W) input; OpError when the window does not fit in the padded input."""
    (kh, kw), (sh, sw), (ph, pw) = settings.resolved()
    oh = output_size(input_hw[0], kh, sh, ph, ph, what="pooling window", unit="row")
    ow = output_size(input_hw[1], kw, sw, pw, pw, what="pooling window", unit="column")
    check_work((input_hw[0] + 2 * ph, input_hw[1] + 2 * pw), (oh, ow), (kh, kw))
    return oh, ow


def pool_output_formulas(input_hw: tuple[int, int], settings: PoolSettings = PoolSettings()) -> tuple[str, str]:
    """The output-size formula for the rows and for the columns, with these numbers plugged in."""
    (kh, kw), (sh, sw), (ph, pw) = settings.resolved()
    return output_size_formula(input_hw[0], kh, sh, ph, ph), output_size_formula(input_hw[1], kw, sw, pw, pw)


def pool2d(x: Any, settings: PoolSettings = PoolSettings()) -> np.ndarray:
    """Max or average pooling of each channel on its own: (N, C, H, W) -> (N, C, OH, OW).

    Max pooling pads with −inf so padding never wins; average pooling pads with zeros and divides by the
    window size (count_include_pad) or by the number of real pixels under the window.
    """
    x = as_float_array(x, "input")
    if x.ndim != 4:
        raise OpError(f"The input must have 4 dimensions (images, channels, rows, columns); got {x.ndim}.")
    if x.size == 0:
        raise OpError("The input is empty; give it at least one row and one column.")
    (kh, kw), (sh, sw), (ph, pw) = settings.resolved()
    oh, ow = pool_output_shape(x.shape[2:], settings)
    fill = -np.inf if settings.kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    taps = window_taps(xp, (kh, kw), (sh, sw), (oh, ow))
    if settings.kind == "max":
        out = np.maximum.reduce(taps)
    elif settings.count_include_pad:
        out = np.add.reduce(taps) / (kh * kw)
    else:
        real = np.pad(np.ones(x.shape[2:]), ((ph, ph), (pw, pw)))[None, None]  # 1 on input pixels, 0 on padding
        out = np.add.reduce(taps) / np.add.reduce(window_taps(real, (kh, kw), (sh, sw), (oh, ow)))
    return check_finite_result(out)


def window_taps(xp: np.ndarray, size: tuple[int, int], stride: tuple[int, int], out_hw: tuple[int, int]):
    """The windows of a padded (…, Hp, Wp) input, one (…, OH, OW) view per tap in row-major order.

    KH·KW strided views rather than one slice per output cell: window (i, j)'s tap t is views[t][..., i, j].
    """
    (kh, kw), (sh, sw), (oh, ow) = size, stride, out_hw
    return [
        xp[..., r : r + sh * (oh - 1) + 1 : sh, c : c + sw * (ow - 1) + 1 : sw] for r in range(kh) for c in range(kw)
    ]


def global_avg_pool(x: Any) -> np.ndarray:
    """Average of each whole feature map: (N, C, H, W) -> (N, C), what a CNN does before its last layer."""
    x = as_float_array(x, "input")
    if x.ndim != 4:
        raise OpError(f"The input must have 4 dimensions (images, channels, rows, columns); got {x.ndim}.")
    if x.size == 0:
        raise OpError("The input is empty; give it at least one row and one column.")
    return check_finite_result(x.mean(axis=(2, 3)))


def shift_image(x: Any, shift: tuple[int, int] = (0, 1)) -> np.ndarray:
    """Move an (H, W) image by (rows down, columns right); the edge pixels are repeated into the gap."""
    x = as_float_array(x, "input")
    if x.ndim != 2 or x.size == 0:
        raise OpError("Shifting needs one non-empty image of shape (rows, columns).")
    dy, dx = (as_int(s, "Shift") for s in shift)
    rows = np.clip(np.arange(x.shape[0]) - dy, 0, x.shape[0] - 1)
    cols = np.clip(np.arange(x.shape[1]) - dx, 0, x.shape[1] - 1)
    return x[rows[:, None], cols[None, :]]


@dataclass(frozen=True, eq=False)
class ShiftComparison:
    """The pooled map of an image and of the same image moved by ``shift``, and how much stayed the same."""

    shifted: np.ndarray  # (H, W) the moved input (edge pixels repeated into the gap)
    pooled: np.ndarray  # (OH, OW)
    pooled_shifted: np.ndarray  # (OH, OW)
    unchanged: float  # fraction (0..1) of pooled cells with the same value
    input_change: float  # sum |shifted − input| / sum |input|: how much the move changed the image itself
    pooled_change: float  # the same for the pooled maps: below input_change when pooling absorbed the move


def shift_comparison(x: Any, settings: PoolSettings, shift: tuple[int, int] = (0, 1)) -> ShiftComparison:
    """Pool the (H, W) input and the input shifted by ``shift``; compare the two pooled maps cell by cell."""
    x = as_float_array(x, "input")
    if x.ndim != 2:
        raise OpError(f"The input must be one image of shape (rows, columns); got {x.ndim} dimensions.")
    shifted = shift_image(x, shift)
    before = pool2d(x[None, None], settings)[0, 0]
    after = pool2d(shifted[None, None], settings)[0, 0]
    unchanged = float(np.mean(np.isclose(before, after, rtol=1e-12, atol=1e-12)))
    return ShiftComparison(shifted, before, after, unchanged, _change(x, shifted), _change(before, after))


def _change(a: np.ndarray, b: np.ndarray) -> float:
    """sum |b − a| / sum |a| (0 for an all-zero a that stayed zero)."""
    total = float(np.abs(a).sum())
    diff = float(np.abs(b - a).sum())
    return diff / total if total > 0 else (0.0 if diff == 0 else float("inf"))


def pooled_overlap(x: Any, settings: PoolSettings, shift: tuple[int, int] = (0, 1)) -> float:
    """Fraction (0..1) of pooled cells that keep their value when the (H, W) input is shifted by ``shift``.

    Shows the small translation invariance pooling buys: 1.0 means the pooled map did not change at all.
    """
    return shift_comparison(x, settings, shift).unchanged
