"""The backward pass of the teaching engine: gradients of convolution, pooling and activations.

Each function takes what its forward op took plus ``grad_out`` = dL/d(output) and returns dL/d(inputs),
with the same shapes as those inputs. Convolution goes through im2col and its adjoint col2im, the way the
course derives it; PyTorch's autograd is the oracle in the tests (float64, 1e-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.ops._common import OpError, as_float_array, as_pair, check_finite_result
from playground.ops.activations import ACTIVATIONS, LEAKY_SLOPE, sigmoid
from playground.ops.conv import ConvSettings, check_conv_inputs, conv_output_shape, im2col
from playground.ops.padding import Pads, output_size, pad
from playground.ops.pool import PoolSettings, pool_output_shape, window_taps


@dataclass(frozen=True, eq=False)
class ConvGrads:
    """dL/dx (N, C, H, W), dL/dw (F, C, KH, KW) and dL/db (F,) of one convolution."""

    grad_input: np.ndarray
    grad_kernel: np.ndarray
    grad_bias: np.ndarray


def col2im(cols: Any, padded_hw: tuple[int, int], kernel_hw: tuple[int, int], stride: Any = 1, dilation: Any = 1):
    """The adjoint of :func:`im2col`: (C·KH·KW, OH·OW) columns -> a (C, Hp, Wp) padded image (a batch
    (N, C·KH·KW, OH·OW) -> (N, C, Hp, Wp)).

    Every column entry is added back to the pixel it was copied from, so a pixel under several windows
    collects the sum of their gradients.
    """
    kh, kw = as_pair(kernel_hw, "Kernel size")
    (sh, sw), (dh, dw) = as_pair(stride, "Stride"), as_pair(dilation, "Dilation")
    hp, wp = padded_hw
    oh = output_size(hp, kh, sh, 0, 0, dh, unit="row")
    ow = output_size(wp, kw, sw, 0, 0, dw, unit="column")
    cols = np.asarray(cols, dtype=np.float64)
    channels = cols.shape[-2] // (kh * kw)
    if cols.ndim not in (2, 3) or cols.shape[-2:] != (channels * kh * kw, oh * ow) or channels < 1:
        raise OpError(f"col2im needs a ({kh * kw}·C, {oh * ow}) matrix for these sizes; got {cols.shape}.")
    lead = cols.shape[:-2]
    cols = cols.reshape(*lead, channels, kh, kw, oh, ow)
    image = np.zeros((*lead, channels, hp, wp))
    for r in range(kh):
        for c in range(kw):
            image[..., r * dh : r * dh + sh * (oh - 1) + 1 : sh, c * dw : c * dw + sw * (ow - 1) + 1 : sw] += cols[
                ..., r, c, :, :
            ]
    return image


def unpad(grad_padded: np.ndarray, input_hw: tuple[int, int], pads: Pads, mode: str = "zeros") -> np.ndarray:
    """The adjoint of :func:`pad`: (…, Hp, Wp) -> (…, H, W), each padded cell's gradient added to the pixel
    it copies ("reflect", "replicate") or dropped (a zero does not depend on the input)."""
    h, w = input_hw
    index = np.arange(h * w, dtype=np.int64).reshape(h, w)
    if mode == "zeros":
        source = np.pad(index, ((pads[0], pads[1]), (pads[2], pads[3])), constant_values=-1)
    else:
        source = pad(index, pads, mode).astype(np.int64)  # the pixel each padded cell was copied from
    lead = grad_padded.shape[:-2]
    flat = grad_padded.reshape(-1, source.size)
    keep = source.ravel() >= 0
    out = np.zeros((flat.shape[0], h * w))
    for row in range(flat.shape[0]):
        out[row] = np.bincount(source.ravel()[keep], weights=flat[row, keep], minlength=h * w)
    return out.reshape(*lead, h, w)


def conv2d_backward(x: Any, w: Any, grad_out: Any, settings: ConvSettings = ConvSettings()) -> ConvGrads:
    """Gradients of :func:`conv2d` for x (N, C, H, W), w (F, C, KH, KW), grad_out (N, F, OH, OW).

    With cols = im2col(x) and out = W·cols + b: dL/dW = g·colsᵀ (the input cross-correlated with g),
    dL/db = the sum of g over images and cells, dL/dcols = Wᵀ·g, folded back by col2im and the padding's
    adjoint (dL/dx, a full convolution of g with the flipped kernel when the stride is 1).
    """
    x, w, _ = check_conv_inputs(x, w)
    kh, kw = w.shape[2:]
    oh, ow = conv_output_shape(x.shape[2:], (kh, kw), settings)
    g = _grad_like(grad_out, (x.shape[0], w.shape[0], oh, ow))
    stride, dilation = as_pair(settings.stride, "Stride"), as_pair(settings.dilation, "Dilation")
    pads = settings.pads((kh, kw))
    applied = w[:, :, ::-1, ::-1] if settings.flip else w
    rows = applied.reshape(w.shape[0], -1)  # (F, C·KH·KW)
    xp = pad(x, pads, settings.padding_mode)
    cols = im2col(xp, (kh, kw), stride, dilation)  # (N, C·KH·KW, OH·OW)
    g_rows = g.reshape(x.shape[0], w.shape[0], -1)  # (N, F, OH·OW)
    # Σ over images of g · colsᵀ, as one matrix product: (F, N·OH·OW) @ (N·OH·OW, C·KH·KW)
    grad_rows = g_rows.transpose(1, 0, 2).reshape(w.shape[0], -1) @ cols.transpose(0, 2, 1).reshape(-1, rows.shape[1])
    grad_xp = col2im(rows.T @ g_rows, xp.shape[2:], (kh, kw), stride, dilation)  # (N, C, Hp, Wp)
    grad_kernel = grad_rows.reshape(w.shape)
    if settings.flip:
        grad_kernel = grad_kernel[:, :, ::-1, ::-1]
    grad_input = unpad(grad_xp, x.shape[2:], pads, settings.padding_mode)
    return ConvGrads(
        check_finite_result(grad_input),
        check_finite_result(np.ascontiguousarray(grad_kernel)),
        check_finite_result(g.sum(axis=(0, 2, 3))),
    )


def pool2d_backward(x: Any, grad_out: Any, settings: PoolSettings = PoolSettings()) -> np.ndarray:
    """dL/dx of :func:`pool2d` for x (N, C, H, W) and grad_out (N, C, OH, OW).

    Max pooling routes each cell's gradient to the one input that won its window (the first maximum in
    row-major order, as PyTorch does); average pooling spreads it evenly, 1/divisor to every cell counted.
    Overlapping windows add up.
    """
    x = as_float_array(x, "input")
    if x.ndim != 4:
        raise OpError(f"The input must have 4 dimensions (images, channels, rows, columns); got {x.ndim}.")
    (kh, kw), (sh, sw), (ph, pw) = settings.resolved()
    oh, ow = pool_output_shape(x.shape[2:], settings)
    g = _grad_like(grad_out, (*x.shape[:2], oh, ow))
    fill = -np.inf if settings.kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    if settings.kind == "max":
        winner = _first_max_tap(xp, (kh, kw), (sh, sw), (oh, ow))
        shares = [g * (winner == t) for t in range(kh * kw)]  # each tap's cells get g where that tap won
    else:
        real = np.pad(np.ones(x.shape[2:]), ((ph, ph), (pw, pw)))[None, None]  # 1 on input pixels, 0 on padding
        counted = (
            kh * kw if settings.count_include_pad else np.add.reduce(window_taps(real, (kh, kw), (sh, sw), (oh, ow)))
        )
        shares = [g / counted] * (kh * kw)  # every cell of the window its equal share
    grad_xp = np.zeros_like(xp)
    for view, share in zip(window_taps(grad_xp, (kh, kw), (sh, sw), (oh, ow)), shares):
        view += share  # one strided add per tap (views of grad_xp); overlapping windows add up
    return check_finite_result(grad_xp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]].copy())


def _first_max_tap(xp: np.ndarray, size: tuple[int, int], stride: tuple[int, int], out_hw: tuple[int, int]):
    """(N, C, OH, OW): which tap (r·KW + c) holds each window's first maximum in row-major order."""
    taps = window_taps(xp, size, stride, out_hw)
    best, winner = taps[0].copy(), np.zeros(taps[0].shape, dtype=np.int64)
    for t, tap in enumerate(taps[1:], start=1):
        better = tap > best  # strictly: a tie keeps the earlier tap
        np.copyto(winner, t, where=better)
        np.maximum(best, tap, out=best)
    return winner


def activation_backward(name: str, x: Any, grad_out: Any) -> np.ndarray:
    """dL/dx of the activation ``name`` at its input x, given dL/d(output) of the same shape.

    ReLU passes the gradient where x > 0 (0 at x = 0, like PyTorch); leaky ReLU scales it by 0.01 where
    x ≤ 0; sigmoid multiplies by σ(x)(1 − σ(x)); tanh by 1 − tanh²(x).
    """
    if name not in ACTIVATIONS:
        raise OpError(f"Activation {name!r} is not known; choose one of {', '.join(ACTIVATIONS)}.")
    x = as_float_array(x, "input")
    g = _grad_like(grad_out, x.shape)
    if name == "relu":
        return g * (x > 0)
    if name == "leaky_relu":
        return np.where(x > 0, g, LEAKY_SLOPE * g)
    if name == "sigmoid":
        s = sigmoid(x)
        return g * s * (1.0 - s)
    if name == "tanh":
        return g * (1.0 - np.tanh(x) ** 2)
    return g.copy()


def _grad_like(grad_out: Any, shape: tuple[int, ...]) -> np.ndarray:
    """grad_out as float64 of exactly ``shape`` (the forward output's), or OpError saying which it needs."""
    g = as_float_array(grad_out, "output gradient")
    if g.shape != tuple(shape):
        want = "×".join(str(s) for s in shape)
        got = "×".join(str(s) for s in g.shape) or "one number"
        raise OpError(f"The output gradient must have the forward output's shape {want}; got {got}.")
    return g
