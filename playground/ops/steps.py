"""Steps as data: one frozen record per output cell, holding every number the animation shows.

A page animates by indexing these records; it never redoes the arithmetic. The arithmetic is done once, for
every cell at once, and a record is made when its cell is asked for, from read-only views into those
arrays: stepping through a 9,604-cell convolution makes one record per click, not 9,604 at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import numpy as np

from playground.ops._common import OpError, as_float_array, as_pair, check_finite_result, format_number, format_operand
from playground.ops.conv import ConvSettings, conv_output_shape
from playground.ops.padding import check_work, pad
from playground.ops.pool import PoolSettings, pool_output_shape


@dataclass(frozen=True, eq=False)
class ConvStep:
    """One output cell of a convolution of one image by one filter, with the numbers that made it."""

    index: int  # 0 .. OH*OW-1, row-major
    out_pos: tuple[int, int]  # (row, col) in the output
    rows: tuple[int, ...]  # padded-input row index of each kernel row (dilation-aware)
    cols: tuple[int, ...]  # padded-input column index of each kernel column
    window: np.ndarray  # (C, KH, KW) values under the kernel
    kernel: np.ndarray  # (C, KH, KW) the kernel as applied (already flipped if settings.flip)
    products: np.ndarray  # (C, KH, KW) window * kernel
    channel_sums: np.ndarray  # (C,) sum of products per input channel
    total: float  # sum of all products
    bias: float
    result: float  # total + bias (before any activation)
    pad_mask: np.ndarray | None = None  # (KH, KW) True where the window lies on padding

    def channel_arithmetic(self, channel: int = 0) -> str:
        """Products of one channel and their sum: "1×1 + 2×2 + 4×3 + 5×4 = 37"."""
        return f"{self._products_text(channel)} = {format_number(self.channel_sums[channel])}"

    def arithmetic(self) -> str:
        """The whole cell: products (one channel) or per-channel sums (several), the bias, the result."""
        if self.window.shape[0] == 1:
            terms = self._products_text(0)
            if self.bias != 0:
                terms += f" + bias {format_operand(self.bias)}"
        else:
            terms = " + ".join(format_operand(s) for s in self.channel_sums) + f" + bias {format_operand(self.bias)}"
        return f"{terms} = {format_number(self.result)}"

    def _products_text(self, channel: int) -> str:
        pairs = zip(self.window[channel].ravel(), self.kernel[channel].ravel())
        return " + ".join(f"{format_operand(v)}×{format_operand(k)}" for v, k in pairs)


T = TypeVar("T")


class Steps(Sequence[T], Generic[T]):
    """Every output cell's record in row-major order, made when asked for by ``make(row, col)``;
    ``results`` is the (OH, OW) output the records' results come from."""

    def __init__(self, results: np.ndarray, make: Callable[[int, int], T]) -> None:
        self.results = _readonly(results)
        self._make = make

    def __len__(self) -> int:
        return self.results.size

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = int(index) + (len(self) if index < 0 else 0)
        if not 0 <= i < len(self):
            raise IndexError(f"step {index} of {len(self)}")
        return self._make(*divmod(i, self.results.shape[1]))


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _as_image(x: Any, what: str) -> np.ndarray:
    arr = as_float_array(x, what)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise OpError(f"The {what} must be (rows, columns) or (channels, rows, columns); got {arr.ndim} dimensions.")
    if arr.size == 0:
        fix = "at least one value" if what == "kernel" else "at least one row and one column"
        raise OpError(f"The {what} is empty; give it {fix}.")
    return arr


def conv_steps(x: Any, w: Any, b: float = 0.0, settings: ConvSettings = ConvSettings()) -> Steps[ConvStep]:
    """Every output cell of one image convolved with one filter, in row-major order.

    x (H, W) or (C, H, W); w (KH, KW) or (C, KH, KW); b one bias. Same numbers as :func:`conv2d`.
    """
    x, w = _as_image(x, "input"), _as_image(w, "kernel")
    if x.shape[0] != w.shape[0]:
        raise OpError(
            f"The input has {x.shape[0]} channel(s) but the kernel has {w.shape[0]}; give the kernel {x.shape[0]} channel(s)."
        )
    bias_arr = as_float_array(b, "bias")
    if bias_arr.size != 1:
        raise OpError(f"One filter takes one bias value; got {bias_arr.size}.")
    bias = float(bias_arr.reshape(-1)[0])
    _, kh, kw = w.shape
    oh, ow = conv_output_shape(x.shape[1:], (kh, kw), settings)
    pads = settings.pads((kh, kw))
    check_work((x.shape[1] + pads[0] + pads[1], x.shape[2] + pads[2] + pads[3]), (oh, ow), (kh, kw), x.shape[0])
    (sh, sw), (dh, dw) = as_pair(settings.stride, "Stride"), as_pair(settings.dilation, "Dilation")
    kernel = _readonly(np.ascontiguousarray(w[:, ::-1, ::-1] if settings.flip else w))
    xp = pad(x, pads, settings.padding_mode)  # (C, Hp, Wp)
    on_pad = np.ones(xp.shape[1:], bool)  # True on padding
    on_pad[pads[0] : pads[0] + x.shape[1], pads[2] : pads[2] + x.shape[2]] = False
    row_idx = (np.arange(oh) * sh)[:, None] + np.arange(kh) * dh  # (OH, KH)
    col_idx = (np.arange(ow) * sw)[:, None] + np.arange(kw) * dw  # (OW, KW)
    r, c = row_idx[:, None, :, None], col_idx[None, :, None, :]
    windows = _readonly(np.moveaxis(xp[:, r, c], 0, 2))  # (OH, OW, C, KH, KW)
    masks = _readonly(on_pad[r, c])  # (OH, OW, KH, KW)
    products = _readonly(windows * kernel)
    channel_sums = _readonly(products.sum(axis=(3, 4)))  # (OH, OW, C)
    totals = channel_sums.sum(axis=2)
    results = totals + bias
    check_finite_result(results)

    def step(i: int, j: int) -> ConvStep:
        return ConvStep(
            index=i * ow + j,
            out_pos=(i, j),
            rows=tuple(int(v) for v in row_idx[i]),
            cols=tuple(int(v) for v in col_idx[j]),
            window=windows[i, j],
            kernel=kernel,
            products=products[i, j],
            channel_sums=channel_sums[i, j],
            total=float(totals[i, j]),
            bias=bias,
            result=float(results[i, j]),
            pad_mask=masks[i, j],
        )

    return Steps(results, step)


def conv_output_from_steps(steps: Sequence[ConvStep] | Sequence[PoolStep], out_shape: tuple[int, int]) -> np.ndarray:
    """(OH, OW) output filled from each step's result; cells without a step yet stay NaN (not computed). A
    whole run's output is its ``Steps.results``."""
    out = np.full(tuple(out_shape), np.nan)
    for step in steps:
        out[step.out_pos] = step.result
    return out


@dataclass(frozen=True, eq=False)
class PoolStep:
    """One output cell of pooling one (H, W) image."""

    index: int  # 0 .. OH*OW-1, row-major
    out_pos: tuple[int, int]  # (row, col) in the output
    rows: tuple[int, ...]  # padded-input row of each window row
    cols: tuple[int, ...]  # padded-input column of each window column
    window: np.ndarray  # (KH, KW); padding cells are nan for max / 0 for avg
    argmax: tuple[int, int] | None  # (row, col) in the padded input of the chosen maximum (first in row-major order)
    result: float
    kind: str = "max"  # "max" | "avg"
    pad_mask: np.ndarray | None = None  # (KH, KW) True where the window lies on padding
    divisor: int = 0  # avg: number of cells the sum was divided by; 0 for max

    def arithmetic(self) -> str:
        """ "max(1, 2, 5, 6) = 6" or "(1 + 2 + 5 + 6) / 4 = 3.5"; padding cells are listed only when they count."""
        mask = np.zeros(self.window.shape, bool) if self.pad_mask is None else self.pad_mask
        if self.kind == "max":
            values = self.window[~mask]
            return f"max({', '.join(format_number(v) for v in values)}) = {format_number(self.result)}"
        counted = self.window.ravel() if self.divisor == self.window.size else self.window[~mask]
        return f"({' + '.join(format_operand(v) for v in counted)}) / {self.divisor} = {format_number(self.result)}"


def pool_steps(x: Any, settings: PoolSettings = PoolSettings()) -> Steps[PoolStep]:
    """Every output cell of pooling one (H, W) image, row-major, with the window and (max) the argmax."""
    x = as_float_array(x, "input")
    if x.ndim != 2:
        raise OpError(f"Pooling steps need one image of shape (rows, columns); got {x.ndim} dimensions.")
    if x.size == 0:
        raise OpError("The input is empty; give it at least one row and one column.")
    (kh, kw), (sh, sw), (ph, pw) = settings.resolved()
    oh, ow = pool_output_shape(x.shape, settings)
    xp = np.pad(x, ((ph, ph), (pw, pw)))
    on_pad = np.pad(np.zeros(x.shape, bool), ((ph, ph), (pw, pw)), constant_values=True)
    row_idx = (np.arange(oh) * sh)[:, None] + np.arange(kh)  # (OH, KH)
    col_idx = (np.arange(ow) * sw)[:, None] + np.arange(kw)  # (OW, KW)
    r, c = row_idx[:, None, :, None], col_idx[None, :, None, :]
    masks = _readonly(on_pad[r, c])  # (OH, OW, KH, KW)
    raw = _readonly(xp[r, c])  # (OH, OW, KH, KW)
    cells = (oh, ow, kh * kw)
    if settings.kind == "max":  # the first maximum in row-major order, padding never chosen
        firsts = np.argmax(np.where(masks, -np.inf, raw).reshape(cells), axis=2)
        results = np.take_along_axis(raw.reshape(cells), firsts[..., None], axis=2)[..., 0]
        divisors = np.zeros((oh, ow), int)
    else:
        divisors = np.full((oh, ow), kh * kw) if settings.count_include_pad else (~masks).sum(axis=(2, 3))
        results = raw.sum(axis=(2, 3)) / divisors

    def step(i: int, j: int) -> PoolStep:
        mask, argmax = masks[i, j], None
        if settings.kind == "max":
            window = _readonly(np.where(mask, np.nan, raw[i, j]))
            a, b = divmod(int(firsts[i, j]), kw)
            argmax = (int(row_idx[i, a]), int(col_idx[j, b]))
        else:
            window = raw[i, j]
        return PoolStep(
            index=i * ow + j,
            out_pos=(i, j),
            rows=tuple(int(v) for v in row_idx[i]),
            cols=tuple(int(v) for v in col_idx[j]),
            window=window,
            argmax=argmax,
            result=float(results[i, j]),
            kind=settings.kind,
            pad_mask=mask,
            divisor=int(divisors[i, j]),
        )

    return Steps(results, step)
